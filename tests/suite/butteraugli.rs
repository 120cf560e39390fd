//! Butteraugli against libjxl's own tool, `butteraugli_main` (Debian libjxl-devtools, libjxl
//! 0.7, default intensity target 80 nits), on the reference pairs and on encoded files:
//! tests/data/butteraugli/reference.csv, made by scripts/reference/butteraugli_reference.sh
//! (see tests/data/README.md). The encoded files are decoded here by codecbench's decoders,
//! which give djpeg's and dwebp's samples exactly (tests/reference.rs).
//!
//! Tolerance: ours / butteraugli_main within [0.999, 1.07] for both norms (the 3-norm also
//! allows 1e-6 absolute: the tool prints 6 decimals). Why so wide, and one-sided: the crate
//! ports a newer libjxl (its README reports < 0.001% against that version's butteraugli_main),
//! while Debian's tool is libjxl 0.7. On these 24 pairs ours is always the higher, by 0.07% to
//! 6.5%, most on blurred images (high-frequency loss) and least on added noise, the pattern of
//! a change in the model between the versions rather than of a conversion error (a wrong
//! transfer function or channel order would not raise every pair, and not by less than 7%).
//! The bound is the measured worst case (6.46%) rounded up; the test prints the differences.

use crate::common;

use codecbench::metrics::butteraugli::ButteraugliOriginal;
use codecbench::pixels::conform;
use common::{csv_rows, load_any, num, root};

#[test]
fn max_norm_and_3_norm_match_butteraugli_main() {
    let rows = csv_rows(&root().join("tests/data/butteraugli/reference.csv"));
    assert_eq!(rows.len(), 24, "every reference row");
    let (mut worst_max, mut worst_p3) = (0.0f64, 0.0f64);
    let mut failures = Vec::new();
    for row in &rows {
        let original = load_any(&root().join(&row["original"]));
        let distorted = load_any(&root().join(&row["distorted"]));
        let distorted = conform(distorted, original.layout()).unwrap();
        let ours = ButteraugliOriginal::new(&original)
            .score(&distorted)
            .unwrap_or_else(|e| panic!("{}: {e}", row["distorted"]));
        let (max, p3) = (num(row, "max_norm").unwrap(), num(row, "pnorm_3").unwrap());
        let rel_max = (ours.max_norm - max).abs() / max;
        let rel_p3 = (ours.pnorm_3 - p3).abs() / p3;
        eprintln!(
            "{}: max {:.6} vs {max:.6} ({rel_max:.2e}), 3-norm {:.6} vs {p3:.6} ({rel_p3:.2e})",
            row["distorted"], ours.max_norm, ours.pnorm_3
        );
        let ok = |ours: f64, theirs: f64, slack: f64| {
            ours >= 0.999 * theirs - slack && ours <= 1.07 * theirs + slack
        };
        if !ok(ours.max_norm, max, 0.0) {
            failures.push(format!(
                "{} max norm: ours {} vs butteraugli_main {max}",
                row["distorted"], ours.max_norm
            ));
        }
        if !ok(ours.pnorm_3, p3, 1e-6) {
            failures.push(format!(
                "{} 3-norm: ours {} vs butteraugli_main {p3}",
                row["distorted"], ours.pnorm_3
            ));
        }
        worst_max = worst_max.max(rel_max);
        worst_p3 = worst_p3.max(rel_p3);
    }
    eprintln!("largest relative differences: max norm {worst_max:.2e}, 3-norm {worst_p3:.2e}");
    assert!(failures.is_empty(), "{failures:#?}");
}
