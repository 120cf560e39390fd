//! Rule: a cell that failed in NEW but not in BASELINE, or that lost a value BASELINE
//! measured (empty or NaN), is a regression: it would otherwise drop out of every other check.

use super::both_ok;
use crate::baseline::{CurveComparison, Finding, Pipeline, Rule};
use crate::metrics::MetricDef;

pub fn check(p: &Pipeline, metrics: &[&'static MetricDef], out: &mut CurveComparison) {
    let newly_failed: Vec<String> = p
        .pairs
        .iter()
        .filter(|(b, n)| b.is_ok() && !n.is_ok())
        .map(|(_, n)| format!("{}: {}", n.image, n.message))
        .collect();
    if !newly_failed.is_empty() {
        out.findings.push(Finding::regressed(
            Rule::Failed,
            format!(
                "{} cell(s) fail that passed in the baseline (first: {})",
                newly_failed.len(),
                newly_failed[0]
            ),
        ));
    }
    let ok = both_ok(p);
    for m in metrics {
        let lost: Vec<&str> = ok
            .iter()
            .filter(|(b, n)| {
                (m.get)(b).is_some_and(|v| !v.is_nan()) && (m.get)(n).is_none_or(|v| v.is_nan())
            })
            .map(|(_, n)| n.image.as_str())
            .collect();
        if !lost.is_empty() {
            out.findings.push(Finding::regressed(
                Rule::Failed,
                format!(
                    "{} cell(s) have no {} value that the baseline measured (first: {})",
                    lost.len(),
                    m.key,
                    lost[0]
                ),
            ));
        }
    }
    let lost_bpp = ok
        .iter()
        .filter(|(b, n)| b.bpp.is_some_and(f64::is_finite) && !n.bpp.is_some_and(f64::is_finite))
        .count();
    if lost_bpp > 0 {
        out.findings.push(Finding::regressed(
            Rule::Failed,
            format!("{lost_bpp} cell(s) have no bpp value"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::rules::testing::pipeline;
    use crate::baseline::tests::{cell, empty_comparison};
    use crate::record::Status;

    #[test]
    fn new_failures_and_lost_values_regress() {
        let base = vec![cell("a", 1.0, 1.0, 30.0), cell("b", 1.0, 1.0, 30.0)];
        let mut new = base.clone();
        let mut out = empty_comparison();
        check(
            &pipeline(&base, &new),
            &[crate::metrics::find("psnr").unwrap()],
            &mut out,
        );
        assert!(out.findings.is_empty());
        new[0].status = Status::Error;
        new[0].message = "jpeg: crashed".into();
        new[1].psnr = Some(f64::NAN);
        check(
            &pipeline(&base, &new),
            &[crate::metrics::find("psnr").unwrap()],
            &mut out,
        );
        let texts: Vec<&str> = out.findings.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "1 cell(s) fail that passed in the baseline (first: a: jpeg: crashed)",
                "1 cell(s) have no psnr value that the baseline measured (first: b)"
            ]
        );
    }
}
