//! MSE and PSNR against scikit-image on every reference row whose files we have
//! (tests/data/reference, see its README). The reference encoded files are decoded with
//! codecbench's own decoders (mozjpeg's libjpeg for JPEG, libwebp for WebP), so a decoder that
//! differed from djpeg/dwebp by a single sample would fail here too.
//!
//! Tolerance: 1e-9 relative. Our sums are exact integers and scikit-image sums exact
//! integer-valued float64 squares, so the two should differ only by the final division and
//! log10 rounding (about 1e-15); 1e-9 is the bound the project promises.

use crate::common;

use codecbench::metrics::{distortion, psnr_from_mse};
use codecbench::pixels::{conform, Layout, Prep};
use common::{load_any, num as f, reference_files, reference_rows};

fn assert_close(what: &str, ours: f64, theirs: f64) {
    if theirs.is_infinite() || ours.is_infinite() {
        assert_eq!(ours, theirs, "{what}");
        return;
    }
    let tol = 1e-9 * theirs.abs().max(1e-300);
    assert!(
        (ours - theirs).abs() <= tol,
        "{what}: ours {ours:.17} vs scikit-image {theirs:.17} (rel {:.3e})",
        ((ours - theirs) / theirs).abs()
    );
}

#[test]
fn mse_and_psnr_match_scikit_image_on_every_reference_row() {
    let (mut checked, mut missing) = (0, Vec::new());
    for row in reference_rows() {
        let image = &row["image"];
        let (original_path, other_path) = reference_files(&row);
        if !original_path.exists() || !other_path.exists() {
            missing.push(format!("{image} {}", row["setting"]));
            continue;
        }
        let original = load_any(&original_path);
        // JPEG and WebP files are decoded by the codecs' own decoders.
        let decoded = load_any(&other_path);
        let compared = row["channels_compared"].as_str();
        let src = original.layout();
        let prep = match (compared, src.channels, decoded.channels) {
            // WebP of an RGBA source, colour channels only: same decode, alpha not measured.
            ("RGB", 4, 4) => Prep {
                from: src,
                to: src,
                map: vec![Some(0), Some(1), Some(2), None],
            },
            ("L->RGB", 1, _) => Prep::plan(src, Layout::new(3, 8)).unwrap(),
            ("RGB", 4, 3) => Prep::plan(src, Layout::new(3, 8)).unwrap(),
            _ => Prep::plan(src, src).unwrap(),
        };
        let decoded = conform(decoded, prep.to).unwrap();
        assert_eq!(prep.channels_compared(), compared, "{image}");
        let d = distortion(&original, &decoded, &prep);
        let what = format!("{image} {} {} {compared}", row["codec"], row["setting"]);
        assert_close(&format!("{what} mse"), d.mse, f(&row, "sk_mse").unwrap());
        let range = f(&row, "data_range").unwrap();
        let psnr = if range == d.peak as f64 {
            d.psnr
        } else {
            // 16-bit rows repeated with data_range = max - min of the original.
            psnr_from_mse(d.mse, range)
        };
        assert_close(&format!("{what} psnr"), psnr, f(&row, "sk_psnr").unwrap());
        for (k, ch) in d.channels.iter().enumerate() {
            let (Some((mse, psnr)), Some(ref_mse)) = (ch, f(&row, &format!("sk_mse_c{k}"))) else {
                continue;
            };
            assert_close(&format!("{what} mse_c{k}"), *mse, ref_mse);
            if range == d.peak as f64 {
                assert_close(
                    &format!("{what} psnr_c{k}"),
                    *psnr,
                    f(&row, &format!("sk_psnr_c{k}")).unwrap(),
                );
            }
        }
        checked += 1;
    }
    assert!(missing.is_empty(), "reference files missing: {missing:?}");
    assert_eq!(checked, 80, "every row of reference.csv is checked");
}
