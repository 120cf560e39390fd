//! Rule: a lossless configuration whose NEW cells no longer round-trip exactly regressed,
//! whatever its sizes (a lossless codec that turned lossy must never pass on smaller files).

use super::both_ok;
use crate::baseline::{CurveComparison, Finding, Pipeline, Rule};

pub fn check(p: &Pipeline, out: &mut CurveComparison) {
    let lost: Vec<String> = both_ok(p)
        .iter()
        .filter(|(b, n)| {
            b.lossless && b.roundtrip_exact == Some(true) && n.roundtrip_exact != Some(true)
        })
        .map(|(b, n)| crate::baseline::pair_name(b, n))
        .collect();
    if !lost.is_empty() {
        out.findings.push(Finding::regressed(
            Rule::Lossless,
            format!(
                "{} cell(s) no longer round-trip exactly (first: {})",
                lost.len(),
                lost[0]
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::rules::testing::pipeline;
    use crate::baseline::tests::{cell, empty_comparison};

    #[test]
    fn a_lossless_cell_that_turned_lossy_regresses() {
        let mut base = vec![cell("a", 1.0, 1.0, f64::INFINITY)];
        base[0].lossless = true;
        base[0].roundtrip_exact = Some(true);
        let mut new = base.clone();
        let mut out = empty_comparison();
        check(&pipeline(&base, &new), &mut out);
        assert!(out.findings.is_empty());
        new[0].roundtrip_exact = Some(false);
        new[0].bytes = Some(10);
        check(&pipeline(&base, &new), &mut out);
        assert_eq!(out.findings.len(), 1);
        assert!(out.findings[0]
            .text
            .starts_with("1 cell(s) no longer round-trip exactly"));
    }
}
