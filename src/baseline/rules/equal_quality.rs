//! Rule: a NEW cell that needs more bytes for its quality than BASELINE did regressed (on the
//! rate-distortion plane, per image and gated metric). BASELINE's bytes at NEW's quality come
//! from its curve for that image: the cheapest points that each beat every cheaper one, and
//! between two of them log(bytes) linear in quality (the chord of a concave curve, so it errs
//! on NEW's side). A NEW quality below BASELINE's cheapest point is held against that point (NEW
//! paid more for less); above BASELINE's best it is not judged (no extrapolation). A cell
//! whose own BASELINE cell (same spec) is no smaller and no better is never judged worse here:
//! a pipeline is not blamed for a point its baseline already had.

use super::both_ok;
use crate::baseline::{pct, CurveComparison, Finding, Pipeline, Rule, Thresholds};
use crate::metrics::MetricDef;
use crate::record::CellRecord;

/// The bytes BASELINE needs for (oriented) quality `q`, from its points `(bytes, quality)`.
pub fn bytes_needed(points: &[(f64, f64)], q: f64) -> Option<f64> {
    let mut v: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(b, q)| *b > 0.0 && b.is_finite() && q.is_finite())
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut env: Vec<(f64, f64)> = Vec::new();
    for p in v {
        if env.last().is_none_or(|l| p.1 > l.1) {
            env.push(p);
        }
    }
    let i = env.iter().position(|e| e.1 >= q)?;
    // On a point (or below the cheapest): that point's bytes, exactly.
    if i == 0 || env[i].1 == q {
        return Some(env[i].0);
    }
    let ((b0, q0), (b1, q1)) = (env[i - 1], env[i]);
    let t = (q - q0) / (q1 - q0);
    Some((b0.ln() + t * (b1.ln() - b0.ln())).exp())
}

pub fn check(
    p: &Pipeline,
    metrics: &[&'static MetricDef],
    th: &Thresholds,
    out: &mut CurveComparison,
) {
    let Some(max) = th.max_size_increase else {
        return;
    };
    let pairs = both_ok(p);
    for m in metrics.iter().filter(|m| th.quality_drop(m).is_some()) {
        let q = |r: &CellRecord| {
            (m.get)(r)
                .filter(|v| v.is_finite())
                .map(|v| m.direction.oriented(v))
        };
        let mut judged = 0;
        let mut worse: Vec<(f64, String)> = Vec::new();
        for n in p.new.iter().filter(|r| r.is_ok()) {
            let (Some(qn), Some(bn)) = (q(n), n.bytes.map(|b| b as f64)) else {
                continue;
            };
            let own = pairs
                .iter()
                .find(|(b, x)| std::ptr::eq(*x, *n) && b.spec == n.spec);
            if let Some((b, _)) = own {
                let not_worse = q(b).is_some_and(|qb| qn >= qb)
                    && b.bytes.is_some_and(|bb| pct(bn, bb as f64) <= max);
                if not_worse {
                    judged += 1;
                    continue;
                }
            }
            let points: Vec<(f64, f64)> = p
                .base
                .iter()
                .filter(|b| b.is_ok() && b.image_hash == n.image_hash && b.image == n.image)
                .filter_map(|b| Some((b.bytes? as f64, q(b)?)))
                .collect();
            let Some(need) = bytes_needed(&points, qn) else {
                continue;
            };
            judged += 1;
            let excess = pct(bn, need);
            if excess > max {
                worse.push((
                    excess,
                    format!(
                        "{} {} ({bn:.0} B at {} {:.3}; BASELINE's curve needs {need:.0} B)",
                        n.image,
                        n.spec,
                        m.key,
                        (m.get)(n).unwrap_or(f64::NAN)
                    ),
                ));
            }
        }
        worse.sort_by(|a, b| b.0.total_cmp(&a.0));
        if let Some((e, what)) = worse.first() {
            out.findings.push(Finding::regressed(
                Rule::EqualQuality,
                format!(
                    "bytes at equal {} {e:+.2}% on {what} (allowed +{max}%; {} of {judged} cell(s) beyond it)",
                    m.key,
                    worse.len()
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::rules::testing::pipeline;
    use crate::baseline::tests::{cell, empty_comparison};

    #[test]
    fn bytes_are_interpolated_on_the_baseline_envelope() {
        let pts = [(1000.0, 30.0), (2000.0, 35.0), (4000.0, 40.0)];
        assert_eq!(bytes_needed(&pts, 35.0), Some(2000.0));
        // Halfway in quality between 2000 and 4000 bytes: their geometric mean.
        let mid = bytes_needed(&pts, 37.5).unwrap();
        assert!((mid - 2000.0 * 2f64.sqrt()).abs() < 1e-6, "{mid}");
        // Below the cheapest point: that point; above the best: not judged.
        assert_eq!(bytes_needed(&pts, 20.0), Some(1000.0));
        assert_eq!(bytes_needed(&pts, 41.0), None);
        // A dominated point (more bytes, less quality) is not on the envelope.
        let dom = [(1000.0, 30.0), (1500.0, 29.0), (2000.0, 35.0)];
        assert_eq!(bytes_needed(&dom, 35.0), Some(2000.0));
    }

    fn psnr() -> Vec<&'static MetricDef> {
        vec![crate::metrics::find("psnr").unwrap()]
    }

    #[test]
    fn a_setting_change_that_costs_more_bytes_for_its_quality_regresses() {
        // BASELINE swept q=1..4; NEW (same label) ships one setting whose point lies 20% above
        // BASELINE's curve: more bytes for the same PSNR.
        let base: Vec<_> = (0..4)
            .map(|i| cell("a", i as f64, 0.25 * 2f64.powi(i), 30.0 + 3.0 * i as f64))
            .collect();
        let mut n = cell("a", 9.0, 0.5 * 1.2, 33.0);
        n.spec = "jpeg:q=9".into();
        let new = vec![n];
        let mut p = pipeline(&base, &new);
        p.pairs.clear();
        let mut out = empty_comparison();
        check(
            &p,
            &psnr(),
            &crate::baseline::Thresholds::default(),
            &mut out,
        );
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        assert!(
            out.findings[0]
                .text
                .starts_with("bytes at equal psnr +20.00% on a jpeg:q=9"),
            "{}",
            out.findings[0].text
        );
        // On the curve (or below it) passes.
        let mut on = new.clone();
        on[0].bytes = Some(500);
        let mut p = pipeline(&base, &on);
        p.pairs.clear();
        let mut out = empty_comparison();
        check(
            &p,
            &psnr(),
            &crate::baseline::Thresholds::default(),
            &mut out,
        );
        assert!(out.findings.is_empty(), "{:?}", out.findings);
    }

    #[test]
    fn identical_cells_pass_even_when_baseline_points_are_dominated() {
        let mut base: Vec<_> = (0..3)
            .map(|i| cell("a", i as f64, 0.25 * 2f64.powi(i), 30.0 + 3.0 * i as f64))
            .collect();
        // q=2 is dominated by q=1 (more bytes, less quality).
        base[2].psnr = Some(32.0);
        let new = base.clone();
        let mut out = empty_comparison();
        check(
            &pipeline(&base, &new),
            &psnr(),
            &crate::baseline::Thresholds::default(),
            &mut out,
        );
        assert!(out.findings.is_empty(), "{:?}", out.findings);
    }
}
