//! Shared helpers for the gate's unit tests, and tests of the fold (verdict, headline).

use super::*;

/// A cell at `bpp` (bytes = bpp x 1000) with PSNR `psnr` and the MSE (peak 255) that goes with it.
pub fn cell(image: &str, setting: f64, bpp: f64, psnr: f64) -> CellRecord {
    CellRecord {
        image: image.into(),
        image_hash: image.into(),
        spec: format!("jpeg:q={setting}"),
        curve: "jpeg".into(),
        setting: Some(setting),
        status: crate::record::Status::Ok,
        bytes: Some((bpp * 1000.0) as u64),
        bpp: Some(bpp),
        psnr: Some(psnr),
        mse: Some(255.0 * 255.0 / 10f64.powf(psnr / 10.0)),
        roundtrip_exact: Some(false),
        repeat: 1,
        ..Default::default()
    }
}

/// Four settings per image; `shift` dB added to NEW's quality at the same bits.
pub fn runs(shift: f64) -> (Vec<CellRecord>, Vec<CellRecord>) {
    let (mut base, mut new) = (Vec::new(), Vec::new());
    for img in ["a", "b"] {
        for (i, q) in [30.0, 33.0, 36.0, 39.0].into_iter().enumerate() {
            let bpp = 0.25 * 2f64.powi(i as i32);
            base.push(cell(img, i as f64, bpp, q));
            new.push(cell(img, i as f64, bpp, q + shift));
        }
    }
    (base, new)
}

pub fn pairs<'a>(
    b: &'a [CellRecord],
    n: &'a [CellRecord],
) -> Vec<(&'a CellRecord, &'a CellRecord)> {
    b.iter().zip(n).collect()
}

pub fn empty_comparison() -> CurveComparison {
    CurveComparison {
        curve: "jpeg".into(),
        ..CurveComparison::default()
    }
}

#[test]
fn the_fold_puts_regressions_before_improvements() {
    use Verdict::*;
    assert_eq!(Verdict::fold([]), Unchanged);
    assert_eq!(Verdict::fold([Unchanged, Improved]), Improved);
    assert_eq!(Verdict::fold([Improved, Regressed, Unchanged]), Regressed);
}

#[test]
fn identical_runs_pass_with_the_defaults() {
    let (b, _) = runs(0.0);
    let c = compare(&b, &b, &Thresholds::default());
    assert_eq!(c.verdict, Verdict::Unchanged, "{:?}", c.findings());
    assert_eq!(c.exit_code(), 0);
    assert!(
        c.headline.starts_with("verdict: no regression"),
        "{}",
        c.headline
    );
}

/// Issue 22 case 4: the headline and the exit code come from one fold; a regression found only
/// by the targets check makes both say so.
#[test]
fn a_regression_only_in_targets_heads_the_verdict() {
    let (b, _) = runs(0.0);
    let c = compare(&b, &b, &Thresholds::default());
    let row = |bytes| crate::target::TargetRow {
        image: "a".into(),
        curve: "jpeg".into(),
        goal: crate::target::Goal::Quality(crate::metrics::core()),
        target: 35.0,
        setting: Some(2.0),
        bytes: Some(bytes),
        achieved: Some(35.5),
        status: crate::target::TargetStatus::Met,
        ..Default::default()
    };
    let c = c.with_targets(compare_targets(
        Some(&[row(1000)]),
        Some(&[row(1100)]),
        Some(1.0),
    ));
    assert_eq!(c.exit_code(), 1);
    assert!(
        c.headline.starts_with("verdict: REGRESSED"),
        "{}",
        c.headline
    );
    assert!(
        c.headline.contains("bytes at PSNR 35 +10.00%"),
        "{}",
        c.headline
    );
    assert!(text(&c).trim_end().ends_with(&c.headline));
    assert!(markdown(&c).contains("REGRESSED"));
}

/// Quality tolerances given by the user replace the default of that metric only.
#[test]
fn a_raised_tolerance_keeps_the_other_defaults() {
    let mut th = Thresholds::default();
    th.set_quality_drop("ssimulacra2", 3.0);
    assert_eq!(th.quality_drop(find("ssimulacra2").unwrap()), Some(3.0));
    assert_eq!(th.quality_drop(find("psnr").unwrap()), Some(0.05));
    th.set_quality_drop("psnr", f64::INFINITY);
    assert_eq!(th.quality_drop(find("psnr").unwrap()), None);
}

#[test]
fn a_spec_change_shows_only_what_changed() {
    assert_eq!(
        spec_change("jpeg:q=80,subsampling=420", "jpeg:q=70,subsampling=420"),
        "jpeg q=80 -> q=70"
    );
    assert_eq!(
        spec_change("jpeg:q=80", "webp:q=80"),
        "jpeg:q=80 -> webp:q=80"
    );
}
