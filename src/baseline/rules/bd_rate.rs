//! Rule: BD-rate on PSNR of NEW against BASELINE over the images both measured (lossy
//! pipelines with a swept curve): above `max_bd_rate` percent it regressed, below minus that
//! it improved. Points are oriented first, so "fewer bits for the same quality" is negative
//! for either direction of metric.

use crate::analysis::bdrate::{corpus_bd_rate, Interp, RdPoint};
use crate::analysis::series::oriented_points;
use crate::baseline::{CurveComparison, Finding, Pipeline, Rule, Thresholds};
use crate::metrics::MetricDef;
use crate::record::CellRecord;

fn rd(records: &[&CellRecord], image: &str, metric: &MetricDef) -> Vec<RdPoint> {
    let mut v = oriented_points(
        records
            .iter()
            .filter(|r| r.image == image && r.is_ok())
            .filter_map(|r| {
                let (q, bpp) = ((metric.get)(r)?, r.bpp?);
                q.is_finite().then_some((bpp, q))
            }),
        metric,
    );
    v.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    v
}

/// Mean BD-rate of NEW against BASELINE on `metric` over the images both sides measured,
/// with its warnings.
pub fn bd_rate_on(
    base: &[&CellRecord],
    new: &[&CellRecord],
    metric: &MetricDef,
) -> (Option<f64>, Vec<String>) {
    let mut images: Vec<&str> = base
        .iter()
        .filter(|b| new.iter().any(|n| n.image == b.image))
        .map(|r| r.image.as_str())
        .collect();
    images.dedup();
    let data: Vec<(String, Vec<RdPoint>, Vec<RdPoint>)> = images
        .iter()
        .map(|i| (i.to_string(), rd(base, i, metric), rd(new, i, metric)))
        .collect();
    let r = corpus_bd_rate(&data, Interp::Pchip);
    (r.mean, r.warnings)
}

pub fn check(
    p: &Pipeline,
    metrics: &[&'static MetricDef],
    th: &Thresholds,
    out: &mut CurveComparison,
) {
    let lossless = p.base.iter().any(|r| r.lossless);
    let Some(psnr) = metrics.iter().find(|m| m.key == "psnr") else {
        return;
    };
    // A curve needs two settings or more on each side; a single shipped setting has none.
    let settings = |cells: &[&CellRecord]| {
        let mut v: Vec<&str> = cells.iter().map(|r| r.spec.as_str()).collect();
        v.sort();
        v.dedup();
        v.len()
    };
    if lossless || settings(&p.base) < 2 || settings(&p.new) < 2 {
        return;
    }
    let (bd, warnings) = bd_rate_on(&p.base, &p.new, psnr);
    out.bd_rate = bd;
    out.bd_warnings = warnings;
    if let (Some(bd), Some(max)) = (bd, th.max_bd_rate) {
        if bd > max {
            out.findings.push(Finding::regressed(
                Rule::BdRate,
                format!("BD-rate {bd:+.2}% > {max}%"),
            ));
        } else if bd < -max {
            out.findings.push(Finding::improved(
                Rule::BdRate,
                format!("BD-rate {bd:+.2}%"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::tests::runs;
    use crate::metrics::{find, TEST_MSE as MSE};

    #[test]
    fn bd_rate_sign_is_the_same_for_a_lower_is_better_metric() {
        let psnr = find("psnr").unwrap();
        for (shift, better) in [(1.0, true), (-1.0, false)] {
            let (b, n) = runs(shift);
            let (b, n): (Vec<_>, Vec<_>) = (b.iter().collect(), n.iter().collect());
            let on_psnr = bd_rate_on(&b, &n, psnr).0.unwrap();
            let on_mse = bd_rate_on(&b, &n, &MSE).0.unwrap();
            // Higher PSNR at the same bits is lower MSE: fewer bits at equal quality either way.
            assert_eq!(on_psnr < 0.0, better, "psnr {shift}: {on_psnr}");
            assert_eq!(on_mse < 0.0, better, "mse {shift}: {on_mse}");
        }
    }
}
