//! BD-rate and BD-quality against an independent implementation: every row of
//! tests/data/bdrate_reference.csv, written by scripts/reference/bdrate_reference.py with the
//! PyPI package `bjontegaard` 1.3.0 (scipy 1.17.1, numpy 2.4.6), plus the JCTVC-E137 example
//! values quoted in Netflix vmaf's tests, analytic values, and every warning and `None` case.
//!
//! Tolerances, all `|ours - theirs| <= tol * max(1, |theirs|)` (percent for BD-rate, quality
//! units for BD-quality):
//! - 1e-9 against the package. Both integrate exactly in f64, so they differ only by rounding;
//!   the script measured the package itself at up to 2e-10 from the exact value (its cubic uses
//!   `numpy.polyfit` on a raw Vandermonde matrix in PSNR ~40; its PCHIP stays within 2e-13).
//! - 1e-11 against `exact`, the same definition evaluated by the script in rational arithmetic
//!   from the same doubles: what is left is our own f64 rounding, a few 1e-13 at worst.
//! - 1e-9 against published and analytic values (given to 15-17 digits).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use codecbench::analysis::{bd_quality, bd_rate, BdOutcome, Interp, RdPoint};

fn parse_list(s: &str) -> Vec<f64> {
    s.split(';')
        .map(|v| v.parse().unwrap_or_else(|_| panic!("bad number {v:?}")))
        .collect()
}

fn points(rates: &str, qualities: &str) -> Vec<RdPoint> {
    let (r, q) = (parse_list(rates), parse_list(qualities));
    assert_eq!(r.len(), q.len());
    r.into_iter()
        .zip(q)
        .map(|(r, q)| RdPoint::new(r, q))
        .collect()
}

fn rows() -> Vec<HashMap<String, String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bdrate_reference.csv");
    let mut reader =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn deviation(ours: f64, theirs: f64) -> f64 {
    (ours - theirs).abs() / theirs.abs().max(1.0)
}

#[test]
fn matches_bjontegaard_package_on_every_reference_row() {
    let rows = rows();
    assert!(
        rows.len() >= 60,
        "reference CSV looks truncated: {} rows",
        rows.len()
    );
    let mut worst: BTreeMap<String, (f64, String)> = BTreeMap::new();
    for row in &rows {
        let what = format!("{} {} {}", row["case"], row["metric"], row["method"]);
        let anchor = points(&row["anchor_rate"], &row["anchor_quality"]);
        let test = points(&row["test_rate"], &row["test_quality"]);
        let interp = match row["method"].as_str() {
            "pchip" => Interp::Pchip,
            "cubic" => Interp::Cubic,
            m => panic!("{what}: unknown method {m}"),
        };
        let out = match row["metric"].as_str() {
            "bd_rate" => bd_rate(&anchor, &test, interp),
            "bd_quality" => bd_quality(&anchor, &test, interp),
            m => panic!("{what}: unknown metric {m}"),
        };
        let overlap_warned = out.warnings.iter().any(|w| w.contains("overlap"));
        assert_eq!(
            overlap_warned,
            row["overlap_warning"] == "1",
            "{what}: {:?}",
            out.warnings
        );

        let reference: f64 = row["reference"].parse().unwrap();
        if reference.is_nan() {
            assert_eq!(out.value, None, "{what}: the package has no value here");
            assert!(!out.warnings.is_empty(), "{what}");
            continue;
        }
        let ours = out
            .value
            .unwrap_or_else(|| panic!("{what}: no value; {:?}", out.warnings));
        let exact: f64 = row["exact"].parse().unwrap();
        let checks = [("package", reference, 1e-9), ("exact", exact, 1e-11)];
        let expected = row["expected"]
            .parse::<f64>()
            .ok()
            .map(|e| ("expected", e, 1e-9));
        for (name, theirs, tol) in checks.into_iter().chain(expected) {
            let dev = deviation(ours, theirs);
            assert!(
                dev <= tol,
                "{what}: ours {ours:.17} vs {name} {theirs:.17} (deviation {dev:.3e} > {tol:e}) {}",
                row["expected_source"]
            );
            let key = format!("{} {} vs {name}", row["metric"], row["method"]);
            let entry = worst.entry(key).or_insert((0.0, String::new()));
            if dev >= entry.0 {
                *entry = (dev, row["case"].clone());
            }
        }
    }
    for (key, (dev, case)) in worst {
        eprintln!("worst deviation {key}: {dev:.3e} ({case})");
    }
}

fn jpeg() -> Vec<RdPoint> {
    [
        (32410.0, 31.92),
        (44870.0, 33.41),
        (67320.0, 35.37),
        (128950.0, 39.08),
    ]
    .into_iter()
    .map(|(r, q)| RdPoint::new(r, q))
    .collect()
}

fn webp() -> Vec<RdPoint> {
    [
        (24180.0, 32.05),
        (32950.0, 33.38),
        (49760.0, 35.12),
        (97410.0, 38.41),
    ]
    .into_iter()
    .map(|(r, q)| RdPoint::new(r, q))
    .collect()
}

fn has(out: &BdOutcome, needle: &str) -> bool {
    out.warnings.iter().any(|w| w.contains(needle))
}

#[test]
fn clean_curves_give_no_warnings() {
    for interp in [Interp::Pchip, Interp::Cubic] {
        let out = bd_rate(&jpeg(), &webp(), interp);
        assert!(out.value.is_some() && out.warnings.is_empty(), "{out:?}");
    }
}

#[test]
fn fewer_than_four_points_warns_for_pchip_and_gives_none_for_cubic() {
    let three = &jpeg()[..3];
    let pchip = bd_rate(three, &webp(), Interp::Pchip);
    assert!(pchip.value.is_some(), "{pchip:?}");
    assert!(has(&pchip, "anchor: only 3 distinct points"), "{pchip:?}");

    let cubic = bd_rate(three, &webp(), Interp::Cubic);
    assert_eq!(cubic.value, None);
    assert!(
        has(&cubic, "cubic interpolation needs at least 4"),
        "{cubic:?}"
    );

    let one = bd_rate(&webp(), &jpeg()[..1], Interp::Pchip);
    assert_eq!(one.value, None);
    assert!(
        has(
            &one,
            "test: 1 distinct point(s), pchip interpolation needs at least 2"
        ),
        "{one:?}"
    );

    let empty = bd_quality(&[], &webp(), Interp::Pchip);
    assert_eq!(empty.value, None);
    assert!(has(&empty, "anchor: 0 distinct point(s)"), "{empty:?}");
}

#[test]
fn duplicates_count_once() {
    let mut a = jpeg();
    a.push(a[2]);
    let out = bd_rate(&a, &webp(), Interp::Cubic);
    assert_eq!(out.value, bd_rate(&jpeg(), &webp(), Interp::Cubic).value);
    assert!(
        has(&out, "anchor: 1 duplicate point(s) counted once"),
        "{out:?}"
    );
    assert!(!has(&out, "monotonic"), "{out:?}");
}

#[test]
fn non_monotonic_curve_warns_but_still_computes() {
    let mut t = webp();
    t.push(RdPoint::new(52000.0, 35.0)); // more bytes than 49760 for less quality
    for out in [
        bd_rate(&jpeg(), &t, Interp::Pchip),
        bd_quality(&jpeg(), &t, Interp::Cubic),
    ] {
        assert!(out.value.is_some(), "{out:?}");
        assert!(has(&out, "test: curve is not monotonic"), "{out:?}");
    }
}

#[test]
fn small_overlap_warns_and_names_the_range() {
    let t: Vec<RdPoint> = webp()
        .iter()
        .map(|p| RdPoint::new(p.rate, p.quality + 3.0))
        .collect();
    let out = bd_rate(&jpeg(), &t, Interp::Pchip);
    assert!(out.value.is_some());
    assert!(has(&out, "of their combined quality range"), "{out:?}");
    // JPEG and WebP rates overlap on under 75% of the combined log-rate range.
    let out = bd_quality(&jpeg(), &webp(), Interp::Pchip);
    assert!(has(&out, "of their combined log10(rate) range"), "{out:?}");
}

#[test]
fn no_overlap_gives_none() {
    let t: Vec<RdPoint> = jpeg()
        .iter()
        .map(|p| RdPoint::new(p.rate, p.quality + 20.0))
        .collect();
    for interp in [Interp::Pchip, Interp::Cubic] {
        let out = bd_rate(&jpeg(), &t, interp);
        assert_eq!(out.value, None);
        assert!(has(&out, "curves do not overlap in quality"), "{out:?}");
    }
    let far: Vec<RdPoint> = jpeg()
        .iter()
        .map(|p| RdPoint::new(p.rate * 100.0, p.quality))
        .collect();
    let out = bd_quality(&jpeg(), &far, Interp::Pchip);
    assert_eq!(out.value, None);
    assert!(has(&out, "curves do not overlap in log10(rate)"), "{out:?}");
}

#[test]
fn non_finite_or_non_positive_values_give_none() {
    let bad = [
        (RdPoint::new(0.0, 30.0), "rate 0"),
        (RdPoint::new(-5.0, 30.0), "rate -5"),
        (RdPoint::new(f64::NAN, 30.0), "rate NaN"),
        (RdPoint::new(f64::INFINITY, 30.0), "rate inf"),
        (RdPoint::new(1000.0, f64::INFINITY), "(lossless?)"),
        (RdPoint::new(1000.0, f64::NAN), "quality NaN"),
    ];
    for (point, needle) in bad {
        let mut t = webp();
        t.push(point);
        for interp in [Interp::Pchip, Interp::Cubic] {
            for out in [
                bd_rate(&jpeg(), &t, interp),
                bd_quality(&t, &jpeg(), interp),
            ] {
                assert_eq!(out.value, None, "{point:?}");
                assert!(has(&out, needle), "{point:?}: {out:?}");
            }
        }
    }
}

#[test]
fn corpus_mean_is_the_mean_of_package_values_over_defined_images() {
    let rows = rows();
    let pick = |case: &str| {
        let row = rows
            .iter()
            .find(|r| r["case"] == case && r["metric"] == "bd_rate" && r["method"] == "pchip")
            .unwrap_or_else(|| panic!("{case} missing from the reference CSV"));
        let anchor = points(&row["anchor_rate"], &row["anchor_quality"]);
        let test = points(&row["test_rate"], &row["test_quality"]);
        (
            (case.to_string(), anchor, test),
            row["reference"].parse::<f64>().unwrap(),
        )
    };
    let cases = [
        "fau_readme_x265",
        "jpeg_vs_webp_4pt_bytes",
        "no_overlap",
        "crossing_curves",
    ];
    let (images, refs): (Vec<_>, Vec<f64>) = cases.iter().map(|c| pick(c)).unzip();
    let c = codecbench::analysis::corpus_bd_rate(&images, Interp::Pchip);
    let defined: Vec<f64> = refs.iter().copied().filter(|v| !v.is_nan()).collect();
    let want = defined.iter().sum::<f64>() / defined.len() as f64;
    assert_eq!(c.images_used, 3);
    assert!(
        deviation(c.mean.unwrap(), want) <= 1e-9,
        "{:?} vs {want}",
        c.mean
    );
    assert_eq!(c.per_image[2], ("no_overlap".to_string(), None));
    assert!(c
        .warnings
        .iter()
        .any(|w| w.starts_with("no_overlap: curves do not overlap")));
    assert!(c
        .warnings
        .iter()
        .any(|w| w == "mean is over 3 of 4 images; 1 had no BD value"));

    let none = codecbench::analysis::corpus_bd_quality(&images[2..3], Interp::Cubic);
    assert_eq!((none.mean, none.images_used), (None, 0));
    assert!(none
        .warnings
        .iter()
        .any(|w| w == "no BD value for any of the 1 images"));
}

// ---- Honest aggregates and bd.csv (issue 12) ----

use codecbench::analysis::pairs::{bd_rows, pair_bd};
use codecbench::analysis::series::curves;
use codecbench::metrics::find;
use codecbench::record::{CellRecord, Status};

/// One successful cell of `curve` on `image` at (bpp, PSNR), comparing `channels`.
fn cell(image: &str, curve: &str, bpp: f64, psnr: f64, channels: &str, depth: u8) -> CellRecord {
    CellRecord {
        image: image.into(),
        curve: curve.into(),
        codec: curve.into(),
        status: Status::Ok,
        bpp: Some(bpp),
        psnr: Some(psnr),
        channels_compared: channels.into(),
        bit_depth: depth,
        ..Default::default()
    }
}

/// Cells of `curve` on `image` from a list of points.
fn cells(image: &str, curve: &str, pts: &[RdPoint], channels: &str) -> Vec<CellRecord> {
    pts.iter()
        .map(|p| cell(image, curve, p.rate, p.quality, channels, 8))
        .collect()
}

fn scaled(pts: &[RdPoint], s: f64) -> Vec<RdPoint> {
    pts.iter()
        .map(|p| RdPoint::new(p.rate * s, p.quality))
        .collect()
}

#[test]
fn geomean_headline_is_symmetric_and_the_arithmetic_mean_is_not() {
    // Three images where "b" needs 0.5x, 0.9x and 3.5x the bits of "a" (a uniform scale
    // gives exactly that BD-rate whatever the interpolation, see the unit tests).
    let mut rows = Vec::new();
    for (img, s) in [("x", 0.5), ("y", 0.9), ("z", 3.5)] {
        rows.extend(cells(img, "a", &jpeg(), "RGB"));
        rows.extend(cells(img, "b", &scaled(&jpeg(), s), "RGB"));
    }
    let imgs: Vec<String> = ["x", "y", "z"].map(String::from).to_vec();
    let psnr = find("psnr").unwrap();
    let (ba, _) = pair_bd(&rows, &imgs, psnr, "b", "a", Interp::Pchip);
    let (ab, _) = pair_bd(&rows, &imgs, psnr, "a", "b", Interp::Pchip);
    let (g1, g2) = (ba.headline.unwrap(), ab.headline.unwrap());
    // The identity (1 + BD(A,B)) (1 + BD(B,A)) = 1, to rounding (1e-12: a handful of
    // exp/ln/powf roundings on values near 1).
    assert!(
        ((1.0 + g1 / 100.0) * (1.0 + g2 / 100.0) - 1.0).abs() < 1e-12,
        "{g1} {g2}"
    );
    // Geometric mean of 0.5, 0.9, 3.5 = 1.5749...: b costs 57.5% more.
    let want = ((0.5f64 * 0.9 * 3.5).powf(1.0 / 3.0) - 1.0) * 100.0;
    assert!((g1 - want).abs() < 1e-9, "{g1} vs {want}");
    // The arithmetic means say each is worse than the other: +63.3% and -3.2%... both signs
    // must not be read as a headline, which is why they are only secondary.
    let (m1, m2) = (ba.mean.unwrap(), ab.mean.unwrap());
    assert!(((1.0 + m1 / 100.0) * (1.0 + m2 / 100.0) - 1.0).abs() > 0.1);
    assert!((ba.median.unwrap() - -10.0).abs() < 1e-9, "{:?}", ba.median);
    let (lo, hi) = ba.range.unwrap();
    assert!(
        (lo - -50.0).abs() < 1e-9 && (hi - 250.0).abs() < 1e-9,
        "{lo} {hi}"
    );
}

#[test]
fn alpha_image_is_excluded_from_a_jpeg_vs_webp_pair_and_listed() {
    let mut rows = Vec::new();
    rows.extend(cells("photo.png", "jpeg", &jpeg(), "RGB"));
    rows.extend(cells("photo.png", "webp", &webp(), "RGB"));
    // JPEG drops alpha (compares RGB), WebP keeps it (RGBA) and pays for it.
    rows.extend(cells("ria_alpha.png", "jpeg", &jpeg(), "RGB"));
    rows.extend(cells(
        "ria_alpha.png",
        "webp",
        &scaled(&jpeg(), 3.5),
        "RGBA",
    ));
    // A grey image coded as replicated RGB still measures the grey channel: kept.
    rows.extend(cells("camera.png", "jpeg", &jpeg(), "L"));
    rows.extend(cells("camera.png", "webp", &webp(), "L->RGB"));
    let imgs: Vec<String> = ["photo.png", "ria_alpha.png", "camera.png"]
        .map(String::from)
        .to_vec();
    let psnr = find("psnr").unwrap();
    let (r, q) = pair_bd(&rows, &imgs, psnr, "webp", "jpeg", Interp::Pchip);
    assert_eq!(r.images_used, 2);
    assert_eq!(r.excluded.len(), 1);
    assert_eq!(r.excluded[0].0, "ria_alpha.png");
    assert!(
        r.excluded[0]
            .1
            .contains("webp compares RGBA, jpeg compares RGB"),
        "{}",
        r.excluded[0].1
    );
    assert_eq!(q.excluded, r.excluded);
    // Both remaining images have the package's jpeg-vs-webp value.
    let want = bd_rate(&jpeg(), &webp(), Interp::Pchip).value.unwrap();
    assert!((r.headline.unwrap() - want).abs() < 1e-9);

    let all = bd_rows(&rows, &[psnr], &curves(&rows), Interp::Pchip);
    let alpha = all
        .iter()
        .find(|b| b.image == "ria_alpha.png" && b.curve_a == "webp")
        .expect("excluded image still has its row");
    assert_eq!(alpha.bd_rate, None);
    assert!(alpha
        .warnings
        .starts_with("excluded: channels_compared differ"));
    let head = all
        .iter()
        .find(|b| b.image == "*" && b.curve_a == "webp" && b.aggregate == "geomean")
        .unwrap();
    assert_eq!(head.points_a, Some(2));
    assert!(
        head.warnings.contains("ria_alpha.png excluded"),
        "{}",
        head.warnings
    );
}

#[test]
fn bit_depths_are_never_averaged_together() {
    let mut rows = Vec::new();
    rows.extend(cells("a8.png", "a", &jpeg(), "RGB"));
    rows.extend(cells("a8.png", "b", &scaled(&jpeg(), 0.8), "RGB"));
    for p in jpeg() {
        rows.push(cell("ct16.png", "a", p.rate, p.quality + 20.0, "L", 16));
        rows.push(cell(
            "ct16.png",
            "b",
            p.rate * 2.0,
            p.quality + 20.0,
            "L",
            16,
        ));
    }
    let psnr = find("psnr").unwrap();
    let all = bd_rows(&rows, &[psnr], &curves(&rows), Interp::Pchip);
    let head = |img: &str| {
        all.iter()
            .find(|r| r.image == img && r.curve_a == "b" && r.aggregate == "geomean")
            .unwrap_or_else(|| panic!("{img} missing"))
            .bd_rate
            .unwrap()
    };
    assert!((head("* (8-bit)") - -20.0).abs() < 1e-9);
    assert!((head("* (16-bit)") - 100.0).abs() < 1e-9);
}

#[test]
fn bd_csv_per_image_rows_match_the_bjontegaard_package() {
    // Every PCHIP reference case becomes one image: anchor points as curve "anchor", test as
    // "test", PSNR as the quality. bd.csv's (test vs anchor) per-image rows must give the
    // package's BD-rate and BD-quality (same 1e-9 tolerance as above).
    let reference = rows();
    let mut records = Vec::new();
    let mut want: HashMap<String, (f64, f64)> = HashMap::new();
    for row in reference.iter().filter(|r| r["method"] == "pchip") {
        let case = &row["case"];
        let value: f64 = row["reference"].parse().unwrap_or(f64::NAN);
        let entry = want.entry(case.clone()).or_insert((f64::NAN, f64::NAN));
        match row["metric"].as_str() {
            "bd_rate" => entry.0 = value,
            _ => entry.1 = value,
        }
        if row["metric"] == "bd_rate" {
            let a = points(&row["anchor_rate"], &row["anchor_quality"]);
            let t = points(&row["test_rate"], &row["test_quality"]);
            if a.iter()
                .chain(&t)
                .any(|p| !(p.rate > 0.0 && p.quality.is_finite()))
            {
                want.remove(case);
                continue; // invalid-input cases: image_points drops such points anyway
            }
            records.extend(cells(case, "anchor", &a, "RGB"));
            records.extend(cells(case, "test", &t, "RGB"));
        }
    }
    let psnr = find("psnr").unwrap();
    let all = bd_rows(&records, &[psnr], &curves(&records), Interp::Pchip);
    let mut checked = 0;
    for (case, (rate, quality)) in &want {
        let row = all
            .iter()
            .find(|r| &r.image == case && r.curve_a == "test" && r.curve_b == "anchor")
            .unwrap_or_else(|| panic!("{case}: no bd.csv row"));
        assert!(row.aggregate.is_empty());
        for (ours, theirs, what) in [
            (row.bd_rate, *rate, "bd_rate"),
            (row.bd_quality, *quality, "bd_quality"),
        ] {
            match ours {
                Some(v) => assert!(
                    deviation(v, theirs) <= 1e-9,
                    "{case} {what}: {v} vs {theirs}"
                ),
                None => assert!(theirs.is_nan(), "{case} {what}: none vs {theirs}"),
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} cases checked");
}
