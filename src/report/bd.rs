//! BD-rate tables for the report: every lossy curve against every other, per quality metric
//! and per source bit depth, computed per image on (bpp, quality) points; the headline is the
//! geometric mean of the per-image rate ratios (symmetric), with the arithmetic mean (AWCY's
//! figure), median and range beside it. Images the two curves measured differently (alpha
//! dropped by one) are left out of that pair and listed (`crate::analysis::pairs`).
//!
//! `crate::analysis::bdrate` assumes higher quality is better, so points of a lower-is-better
//! metric are oriented (negated) before it sees them, and BD-quality is turned back into the
//! metric's own units afterwards.

use crate::analysis::bdrate::{corpus_bd_quality, corpus_bd_rate, CorpusBd, Interp, RdPoint};
use crate::analysis::pairs::{images_of_depth, pair_bd};
use crate::analysis::series::Curve;
use crate::metrics::MetricDef;
use crate::record::CellRecord;

use super::ReportError;

/// BD values of every (test, anchor) pair of lossy curves for one metric.
pub struct BdMatrix {
    pub metric: &'static MetricDef,
    /// Source bit depth of the images this matrix is over (depths are never mixed).
    pub bit_depth: u8,
    pub curves: Vec<Curve>,
    /// `rate[test][anchor]`: mean BD-rate in percent of bits at equal quality (negative: test
    /// needs fewer bits), whatever the metric's direction.
    pub rate: Vec<Vec<CorpusBd>>,
    /// `quality[test][anchor]`: mean BD-quality, test minus anchor at equal rate, in the
    /// metric's own units: positive means test is better for a higher-is-better metric,
    /// negative means test is better for a lower-is-better one.
    pub quality: Vec<Vec<CorpusBd>>,
}

/// BD-rate and BD-quality of test against anchor for `metric`, from per-image
/// `(name, anchor, test)` points oriented by
/// [`crate::analysis::series::oriented_points`]: BD-rate as `bdrate` gives it
/// (percent of bits at equal quality), BD-quality turned back into the metric's own units
/// (test minus anchor at equal rate).
pub fn directed_bd(
    metric: &MetricDef,
    per_image: &[(String, Vec<RdPoint>, Vec<RdPoint>)],
    interp: Interp,
) -> (CorpusBd, CorpusBd) {
    let rate = corpus_bd_rate(per_image, interp);
    let mut quality = corpus_bd_quality(per_image, interp);
    // Orienting is its own inverse: the oriented gap times the sign is the gap in own units.
    let back = |v: Option<f64>| v.map(|x| metric.direction.oriented(x));
    quality.mean = back(quality.mean);
    quality.headline = back(quality.headline);
    quality.median = back(quality.median);
    for (_, v) in &mut quality.per_image {
        *v = back(*v);
    }
    (rate, quality)
}

/// Computes the matrix over the images whose source has `bit_depth` bits; lossless curves
/// are left out (they have no rate-distortion curve).
pub fn matrix(
    records: &[CellRecord],
    curves: &[Curve],
    metric: &'static MetricDef,
    bit_depth: u8,
    interp: Interp,
) -> BdMatrix {
    let lossy: Vec<Curve> = curves.iter().filter(|c| !c.lossless).cloned().collect();
    let imgs = images_of_depth(records, bit_depth);
    let mut rate = Vec::new();
    let mut quality = Vec::new();
    for t in &lossy {
        let mut r_row = Vec::new();
        let mut q_row = Vec::new();
        for a in &lossy {
            let (r, q) = pair_bd(records, &imgs, metric, &t.name, &a.name, interp);
            r_row.push(r);
            q_row.push(q);
        }
        rate.push(r_row);
        quality.push(q_row);
    }
    BdMatrix {
        metric,
        bit_depth,
        curves: lossy,
        rate,
        quality,
    }
}

/// A signed percentage, `+3.97 %`, or `-` when undefined.
pub fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:+.2} %"))
}

/// The range of per-image values, `-40.10 … +250.20 %`, or `-`.
pub fn pct_range(c: &CorpusBd) -> String {
    c.range
        .map_or_else(|| "-".into(), |(lo, hi)| format!("{lo:+.2} … {hi:+.2} %"))
}

/// One line naming the images left out of a pair, or empty.
pub fn excluded_note(c: &CorpusBd) -> String {
    if c.excluded.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = c.excluded.iter().map(|(i, _)| i.as_str()).collect();
    format!(
        "{} left out (channels_compared differ): {}",
        names.len(),
        names.join(", ")
    )
}

/// Index of the anchor curve: the first lossy curve whose name or codec is `wanted`, else the
/// first lossy curve.
pub fn anchor_index(curves: &[Curve], wanted: Option<&str>) -> Result<usize, ReportError> {
    match wanted {
        None => Ok(0),
        Some(w) => curves
            .iter()
            .position(|c| c.name == w || c.codec == w)
            .ok_or_else(|| {
                let names: Vec<&str> = curves.iter().map(|c| c.name.as_str()).collect();
                ReportError::Anchor {
                    wanted: w.to_string(),
                    have: names.join(", "),
                }
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::series::image_points;
    use crate::metrics::{find, Direction, METRICS};

    use crate::metrics::TEST_MSE as MSE;

    fn rec(curve: &str, bpp: f64, psnr: f64) -> CellRecord {
        CellRecord {
            image: "a".into(),
            curve: curve.into(),
            codec: curve.into(),
            status: crate::record::Status::Ok,
            bpp: Some(bpp),
            psnr: Some(psnr),
            // The same images as distortion: MSE falls as PSNR rises.
            mse: Some(255.0 * 255.0 / 10f64.powf(psnr / 10.0)),
            // Every table metric present, so each is checked below.
            psnr_y: Some(psnr),
            ssim: Some(psnr / 40.0),
            ms_ssim: Some(psnr / 41.0),
            ssimulacra2: Some(2.0 * psnr - 10.0),
            bit_depth: 8,
            ..Default::default()
        }
    }

    /// Two curves: "good" reaches the same quality as "bad" with half the bits.
    fn rows() -> (Vec<CellRecord>, Vec<Curve>) {
        let mut rows = Vec::new();
        for (i, q) in [30.0, 33.0, 36.0, 39.0].into_iter().enumerate() {
            let bpp = 0.25 * 2f64.powi(i as i32);
            rows.push(rec("bad", bpp, q));
            rows.push(rec("good", bpp / 2.0, q));
        }
        let curves = crate::analysis::series::curves(&rows);
        (rows, curves)
    }

    #[test]
    fn lower_is_better_metric_gives_the_same_bd_rate_sign_and_its_own_quality_sign() {
        let (rows, curves) = rows();
        let psnr = find("psnr").unwrap();
        let p = matrix(&rows, &curves, psnr, 8, Interp::Pchip);
        let m = matrix(&rows, &curves, &MSE, 8, Interp::Pchip);
        // curves[0] = "bad", curves[1] = "good"; good against bad.
        let (bd_psnr, bd_mse) = (p.rate[1][0].mean.unwrap(), m.rate[1][0].mean.unwrap());
        assert!((bd_psnr + 50.0).abs() < 1e-6, "{bd_psnr}");
        assert!(bd_mse < -40.0, "half the bits at equal MSE: {bd_mse}");
        assert!(m.rate[0][1].mean.unwrap() > 0.0, "bad needs more bits");
        // At equal rate good has higher PSNR and lower MSE: BD-quality is test - anchor in
        // the metric's units, so positive for PSNR and negative for MSE.
        assert!(p.quality[1][0].mean.unwrap() > 0.0);
        let q = m.quality[1][0].mean.unwrap();
        assert!(q < 0.0, "{q}");
        assert_eq!(m.quality[1][0].per_image[0].1, Some(q));
        // Oriented points of a lower-is-better metric make monotonic curves: no warning.
        assert!(
            m.rate[1][0]
                .warnings
                .iter()
                .all(|w| !w.contains("monotonic")),
            "{:?}",
            m.rate[1][0].warnings
        );
    }

    #[test]
    fn higher_is_better_metrics_are_passed_through_unchanged() {
        let (rows, curves) = rows();
        let higher = || {
            METRICS
                .iter()
                .filter(|m| m.direction == Direction::HigherIsBetter)
        };
        assert_eq!(
            crate::analysis::series::metrics_present(&rows).len(),
            higher().count()
        );
        for metric in higher() {
            let raw = |c: &str| -> Vec<RdPoint> {
                image_points(&rows, "a", c, metric)
                    .into_iter()
                    .map(|p| RdPoint::new(p.bpp, p.quality))
                    .collect()
            };
            assert_eq!(metric.direction, Direction::HigherIsBetter);
            let data = vec![("a".to_string(), raw("bad"), raw("good"))];
            let m = matrix(&rows, &curves, metric, 8, Interp::Pchip);
            assert_eq!(m.rate[1][0], corpus_bd_rate(&data, Interp::Pchip));
            assert_eq!(m.quality[1][0], corpus_bd_quality(&data, Interp::Pchip));
        }
    }
}
