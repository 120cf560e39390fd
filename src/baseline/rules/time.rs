//! Rule: time, judged only where it can be told from noise. On a shared machine identical runs
//! differ by a third in summed CPU time, so one measurement per cell is never judged: both runs
//! must time each cell at least [`MIN_REPEAT`] times (`run --repeat N`, median per cell) and
//! share at least [`MIN_CELLS`] such cells. Then, per pipeline and for encode and decode apart,
//! the median over cells of NEW/BASELINE CPU time is the change; it regressed when that change
//! is above both `max_slowdown` and the noise floor (`noise`) AND a one-sided sign test says
//! more cells got slower than chance would make (p < [`P_VALUE`]). Otherwise the output says
//! why time was not judged.

use super::both_ok;
use crate::baseline::{median, CurveComparison, Finding, Pipeline, Rule, Thresholds};
use crate::record::CellRecord;

/// Timed runs per cell, on both sides, before time is judged.
pub const MIN_REPEAT: u32 = 3;
/// Cells with repeated times on both sides, per pipeline, before time is judged.
pub const MIN_CELLS: usize = 5;
/// Significance of the sign test.
pub const P_VALUE: f64 = 0.05;

/// P(X >= k) for X ~ Binomial(n, 1/2): the chance that `k` or more of `n` cells got slower
/// when nothing changed.
pub fn sign_test(k: usize, n: usize) -> f64 {
    let mut c = 1.0f64; // C(n, 0)
    let mut total = 0.0;
    for i in 0..=n {
        if i >= k {
            total += c;
        }
        c = c * (n - i) as f64 / (i + 1) as f64;
    }
    total / 2f64.powi(n as i32)
}

type Clock = fn(&CellRecord) -> Option<f64>;

/// The median change (percent) and the sign test's p-values (slower, faster) over `pairs`.
pub fn time_change(pairs: &[(&CellRecord, &CellRecord)], clock: Clock) -> Option<(f64, f64, f64)> {
    let mut ratios: Vec<f64> = pairs
        .iter()
        .filter_map(|(b, n)| Some((clock(b)?, clock(n)?)))
        .filter(|(b, n)| *b > 0.0 && n.is_finite())
        .map(|(b, n)| n / b)
        .collect();
    if ratios.len() < MIN_CELLS {
        return None;
    }
    let slower = ratios.iter().filter(|r| **r > 1.0).count();
    let faster = ratios.iter().filter(|r| **r < 1.0).count();
    let n = ratios.len();
    let m = median(&mut ratios);
    Some((
        (m - 1.0) * 100.0,
        sign_test(slower, n),
        sign_test(faster, n),
    ))
}

pub fn check(p: &Pipeline, th: &Thresholds, out: &mut CurveComparison) {
    let Some(max) = th.max_slowdown else {
        return;
    };
    if let Some(why) = &th.time_refused {
        out.notes.push(why.clone());
        return;
    }
    let timed: Vec<(&CellRecord, &CellRecord)> = both_ok(p)
        .into_iter()
        .filter(|(b, n)| {
            crate::cache::timing_is_local(&b.timing_source)
                && crate::cache::timing_is_local(&n.timing_source)
                && b.repeat >= MIN_REPEAT
                && n.repeat >= MIN_REPEAT
        })
        .collect();
    if timed.len() < MIN_CELLS {
        out.notes.push(format!(
            "not enough repeats to judge time: {} cell(s) timed {MIN_REPEAT}+ times on both sides, {MIN_CELLS} needed (run both with --repeat {MIN_REPEAT} or more, without the cache or on one machine and build)",
            timed.len()
        ));
        return;
    }
    // CPU time where every timed cell has it (a busy machine stretches wall time more).
    let all_cpu = |f: Clock| timed.iter().all(|(b, n)| f(b).is_some() && f(n).is_some());
    let floor = max.max(th.noise);
    for (what, cpu, wall) in [
        (
            "encode",
            (|r| r.encode_cpu_ms) as Clock,
            (|r| r.encode_ms) as Clock,
        ),
        (
            "decode",
            (|r| r.decode_cpu_ms) as Clock,
            (|r| r.decode_ms) as Clock,
        ),
    ] {
        let (clock, name) = if all_cpu(cpu) {
            (cpu, "CPU time")
        } else {
            (wall, "time")
        };
        let Some((change, p_slow, p_fast)) = time_change(&timed, clock) else {
            continue;
        };
        if what == "encode" {
            out.encode_time = Some(change);
        } else {
            out.decode_time = Some(change);
        }
        let detail = format!(
            "median of {} cells, sign test p={:.3}; allowed +{max}%, noise floor {}%",
            timed.len(),
            if change > 0.0 { p_slow } else { p_fast },
            th.noise
        );
        if change > floor && p_slow < P_VALUE {
            out.findings.push(Finding::regressed(
                Rule::Time,
                format!("{what} {name} {change:+.1}% ({detail})"),
            ));
        } else if change < -floor && p_fast < P_VALUE {
            out.findings.push(Finding::improved(
                Rule::Time,
                format!("{what} {name} {change:+.1}% ({detail})"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::rules::testing::pipeline;
    use crate::baseline::tests::{cell, empty_comparison};
    use crate::baseline::Verdict;

    #[test]
    fn sign_test_values() {
        // All of 5 slower by chance: 1/32; 8 of 10: 56/1024 (binomial tables).
        assert!((sign_test(5, 5) - 1.0 / 32.0).abs() < 1e-12);
        assert!((sign_test(8, 10) - 56.0 / 1024.0).abs() < 1e-12);
        assert_eq!(sign_test(0, 7), 1.0);
    }

    fn timed(
        n: usize,
        repeat: u32,
        factor: impl Fn(usize) -> f64,
    ) -> (Vec<CellRecord>, Vec<CellRecord>) {
        let base: Vec<CellRecord> = (0..n)
            .map(|i| {
                let mut r = cell("a", i as f64, 1.0, 30.0);
                r.repeat = repeat;
                (r.encode_cpu_ms, r.decode_cpu_ms) = (Some(10.0 + i as f64), Some(5.0));
                r
            })
            .collect();
        let new = base
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut r = r.clone();
                r.encode_cpu_ms = r.encode_cpu_ms.map(|t| t * factor(i));
                r
            })
            .collect();
        (base, new)
    }

    fn th(max: f64) -> Thresholds {
        Thresholds {
            max_slowdown: Some(max),
            ..Thresholds::default()
        }
    }

    #[test]
    fn a_consistent_slowdown_beyond_the_floor_regresses() {
        let (b, n) = timed(8, 5, |_| 1.25);
        let mut out = empty_comparison();
        check(&pipeline(&b, &n), &th(10.0), &mut out);
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        assert_eq!(out.findings[0].verdict, Verdict::Regressed);
        assert!(
            out.findings[0].text.starts_with("encode CPU time +25.0%"),
            "{}",
            out.findings[0].text
        );
        assert_eq!(out.decode_time, Some(0.0));
    }

    #[test]
    fn noise_single_measurements_and_few_cells_are_not_judged() {
        // Inside the noise floor.
        let (b, n) = timed(8, 5, |_| 1.08);
        let mut out = empty_comparison();
        check(&pipeline(&b, &n), &th(5.0), &mut out);
        assert!(out.findings.is_empty());
        // One cell much slower, the rest faster: the median does not move, nothing regresses.
        let (b, n) = timed(8, 5, |i| if i == 0 { 3.0 } else { 0.97 });
        let mut out = empty_comparison();
        check(&pipeline(&b, &n), &th(10.0), &mut out);
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        // Without repeats: said, not judged.
        let (b, n) = timed(8, 1, |_| 2.0);
        let mut out = empty_comparison();
        check(&pipeline(&b, &n), &th(10.0), &mut out);
        assert!(out.findings.is_empty());
        assert!(
            out.notes[0].starts_with("not enough repeats to judge time"),
            "{:?}",
            out.notes
        );
        // Refused across machines.
        let (b, n) = timed(8, 5, |_| 2.0);
        let mut out = empty_comparison();
        let refused = Thresholds {
            time_refused: Some("different machines".into()),
            ..th(10.0)
        };
        check(&pipeline(&b, &n), &refused, &mut out);
        assert!(out.findings.is_empty());
    }
}
