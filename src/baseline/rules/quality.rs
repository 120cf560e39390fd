//! Rule: a matched cell whose quality got worse by more than the metric's tolerance (in the
//! metric's own direction) regressed, even when its file got smaller: "smaller" must not hide
//! "worse". A user who accepts a drop raises the tolerance; bytes at equal quality
//! ([`super::equal_quality`]) then still judge whether the bytes saved paid for it.

use super::both_ok;
use crate::baseline::{change, Change, CurveComparison, Finding, Pipeline, Rule, Thresholds};
use crate::metrics::{Direction, MetricDef};
use crate::record::CellRecord;

/// The per-cell change of `metric` (new - baseline), worst cell by its direction, and the
/// finding when it got worse by more than `max`.
pub fn judge(
    pairs: &[(&CellRecord, &CellRecord)],
    metric: &MetricDef,
    max: Option<f64>,
) -> Option<(Change, Option<Finding>)> {
    let worst_is_max = metric.direction == Direction::LowerIsBetter;
    let c = change(
        pairs,
        |b, n| Some((metric.get)(n)? - (metric.get)(b)?),
        worst_is_max,
    )?;
    let finding = max
        .filter(|max| metric.direction.worsening(0.0, c.worst) > *max)
        .map(|max| {
            let beyond = pairs
                .iter()
                .filter_map(|(b, n)| {
                    Some(
                        metric
                            .direction
                            .worsening((metric.get)(b)?, (metric.get)(n)?),
                    )
                })
                .filter(|w| *w > max)
                .count();
            Finding::regressed(
                Rule::Quality,
                format!(
                    "{} {:+.3} on {} (allowed {} {max}; {}; {beyond} of {} cell(s) beyond it)",
                    metric.key,
                    c.worst,
                    c.worst_cell,
                    match metric.direction {
                        Direction::HigherIsBetter => "drop",
                        Direction::LowerIsBetter => "rise",
                    },
                    metric.direction.describe(),
                    pairs.len()
                ),
            )
        });
    Some((c, finding))
}

pub fn check(
    p: &Pipeline,
    metrics: &[&'static MetricDef],
    th: &Thresholds,
    out: &mut CurveComparison,
) {
    let ok = both_ok(p);
    for m in metrics {
        let Some((c, finding)) = judge(&ok, m, th.quality_drop(m)) else {
            continue;
        };
        out.findings.extend(finding);
        out.quality.push((m.key.to_string(), c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::tests::{pairs, runs};
    use crate::metrics::{find, TEST_MSE as MSE};

    #[test]
    fn quality_is_judged_in_the_metric_direction() {
        let psnr = find("psnr").unwrap();
        // NEW worse by 1 dB: PSNR drops, MSE rises; both regress.
        let (b, n) = runs(-1.0);
        let p = pairs(&b, &n);
        let (c, f) = judge(&p, psnr, Some(0.5)).unwrap();
        assert!(c.worst < 0.0 && f.unwrap().text.starts_with("psnr -"));
        let (c, f) = judge(&p, &MSE, Some(0.5)).unwrap();
        assert!(c.worst > 0.5, "worst cell is the largest rise: {}", c.worst);
        assert!(f.unwrap().text.contains("allowed rise 0.5"));
        // NEW better by 1 dB: no finding either way.
        let (b, n) = runs(1.0);
        let p = pairs(&b, &n);
        assert_eq!(judge(&p, psnr, Some(0.5)).unwrap().1, None);
        let (c, f) = judge(&p, &MSE, Some(0.5)).unwrap();
        assert_eq!(f, None, "an MSE fall is an improvement");
        assert!(c.worst < 0.0, "smallest fall is the worst cell");
    }

    #[test]
    fn the_worst_cell_and_the_count_beyond_the_tolerance_are_named() {
        let (b, mut n) = runs(0.0);
        n[3].psnr = Some(38.0);
        n[5].psnr = Some(33.5);
        let p = pairs(&b, &n);
        let psnr = find("psnr").unwrap();
        let (c, f) = judge(&p, psnr, Some(0.5)).unwrap();
        assert_eq!((c.worst, c.worst_cell.as_str()), (-1.0, "a jpeg:q=3"));
        assert_eq!(
            f.unwrap().text,
            "psnr -1.000 on a jpeg:q=3 (allowed drop 0.5; higher is better; 1 of 8 cell(s) beyond it)"
        );
        assert_eq!(judge(&p, psnr, Some(1.0)).unwrap().1, None);
        // A drop inside the default tolerance (0.05 dB) passes; just beyond it does not.
        let (b, n) = runs(-0.04);
        assert_eq!(judge(&pairs(&b, &n), psnr, Some(0.05)).unwrap().1, None);
        let (b, n) = runs(-0.06);
        assert!(judge(&pairs(&b, &n), psnr, Some(0.05)).unwrap().1.is_some());
    }
}
