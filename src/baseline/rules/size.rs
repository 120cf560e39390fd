//! Rule: a matched cell whose file grew by more than `max_size_increase` percent regressed
//! (sizes are deterministic: no noise band). A lossless configuration whose median size fell
//! by more than that improved (for lossy ones, BD-rate says whether smaller is better).

use super::both_ok;
use crate::baseline::{change, pct, CurveComparison, Finding, Pipeline, Rule, Thresholds};

pub fn check(p: &Pipeline, th: &Thresholds, out: &mut CurveComparison) {
    let ok = both_ok(p);
    let bytes = change(
        &ok,
        |b, n| Some(pct(n.bytes? as f64, b.bytes? as f64)),
        true,
    );
    if let (Some(c), Some(max)) = (&bytes, th.max_size_increase) {
        let lossless = ok.first().is_some_and(|(b, _)| b.lossless);
        if c.worst > max {
            let beyond = ok
                .iter()
                .filter_map(|(b, n)| Some(pct(n.bytes? as f64, b.bytes? as f64)))
                .filter(|x| *x > max)
                .count();
            out.findings.push(Finding::regressed(
                Rule::Size,
                format!(
                    "size {:+.2}% on {} > {max}% ({beyond} of {} cell(s) beyond it)",
                    c.worst,
                    c.worst_cell,
                    ok.len()
                ),
            ));
        } else if lossless && c.median < -max {
            out.findings.push(Finding::improved(
                Rule::Size,
                format!("median size {:+.2}%", c.median),
            ));
        }
    }
    out.bytes = bytes;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::rules::testing::pipeline;
    use crate::baseline::tests::{cell, empty_comparison};
    use crate::baseline::Verdict;

    #[test]
    fn a_bigger_cell_regresses_and_a_smaller_lossless_one_improves() {
        let base = vec![cell("a", 1.0, 1.0, 30.0), cell("b", 1.0, 2.0, 30.0)];
        let mut new = base.clone();
        let mut out = empty_comparison();
        check(&pipeline(&base, &new), &Thresholds::default(), &mut out);
        assert!(out.findings.is_empty());
        assert_eq!(out.bytes.as_ref().unwrap().worst, 0.0);
        new[1].bytes = Some(2100);
        check(&pipeline(&base, &new), &Thresholds::default(), &mut out);
        assert_eq!(
            out.findings[0].text,
            "size +5.00% on b jpeg:q=1 > 1% (1 of 2 cell(s) beyond it)"
        );
        let (mut lb, mut ln) = (base.clone(), base.clone());
        for (b, n) in lb.iter_mut().zip(ln.iter_mut()) {
            b.lossless = true;
            n.bytes = n.bytes.map(|x| x * 9 / 10);
        }
        let mut out = empty_comparison();
        check(&pipeline(&lb, &ln), &Thresholds::default(), &mut out);
        assert_eq!(out.findings[0].verdict, Verdict::Improved);
    }
}
