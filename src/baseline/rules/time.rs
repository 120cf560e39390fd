//! Rule: time, judged only from an interleaved re-measurement (`compare --retime`, see
//! [`crate::baseline::retime`]). Two runs' own times are never judged: on a shared machine runs
//! minutes apart differ by up to 1.4x in CPU time, and repeats inside each run do not remove
//! that (measured: 2 false alarms in 20 identical pairs with `--repeat 5`, docs/gate.md).
//!
//! Per matched cell, BASELINE and NEW were timed alternately over a few rounds on one thread;
//! the cell's ratio is the median over rounds of NEW/BASELINE in the same round. Per pipeline,
//! for encode and decode apart, the change is the median of the cells' ratios; it regressed when
//! it is above both `max_slowdown` and the noise floor (`noise`) AND a one-sided sign test says
//! more cells got slower than chance would make (p < [`P_VALUE`]). CPU time is judged where
//! every sample has it, wall time otherwise; the other clock is shown beside. With fewer than
//! [`MIN_CELLS`] re-timed cells or [`MIN_ROUNDS`] rounds the output says time was not judged.

use super::both_ok;
use crate::baseline::retime::{CellKey, Retimed, Round, Sample};
use crate::baseline::{median, CurveComparison, Finding, Pipeline, Rule, Thresholds};
use serde::Serialize;

/// Rounds (timed calls per side and cell) before time is judged.
pub const MIN_ROUNDS: u32 = 3;
/// Re-timed cells per pipeline before time is judged.
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

/// The measured change of one clock over a pipeline's cells.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClockChange {
    /// "cpu" or "wall": the clock judged.
    pub clock: &'static str,
    /// Median over cells of the per-cell NEW/BASELINE ratio, as a percent change.
    pub change: f64,
    /// The same on the wall clock (shown beside CPU time).
    pub wall_change: f64,
    /// Sign test: the chance of this many slower (faster) cells if nothing changed.
    pub p_slower: f64,
    pub p_faster: f64,
}

/// What the time rule measured of one pipeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeResult {
    pub cells: usize,
    pub rounds: u32,
    pub encode: Option<ClockChange>,
    pub decode: Option<ClockChange>,
}

/// Picks one step's `[BASELINE, NEW]` samples (encode or decode) out of a round.
pub type Step = fn(&Round) -> [Sample; 2];

/// One cell's ratio NEW/BASELINE: the median over rounds of the same round's ratio.
pub fn cell_ratio(rounds: &[Round], step: Step, cpu: bool) -> Option<f64> {
    let mut r: Vec<f64> = rounds
        .iter()
        .map(|x| {
            let [b, n] = step(x);
            if cpu {
                Some(n.cpu_ms? / b.cpu_ms?)
            } else {
                Some(n.wall_ms / b.wall_ms)
            }
        })
        .collect::<Option<Vec<f64>>>()?
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    (!r.is_empty()).then(|| median(&mut r))
}

/// The median change (percent) over cells' ratios and the sign test's p-values.
pub fn judge_ratios(ratios: &[f64]) -> (f64, f64, f64) {
    let n = ratios.len();
    let slower = ratios.iter().filter(|r| **r > 1.0).count();
    let faster = ratios.iter().filter(|r| **r < 1.0).count();
    let mut v = ratios.to_vec();
    let m = median(&mut v);
    (
        (m - 1.0) * 100.0,
        sign_test(slower, n),
        sign_test(faster, n),
    )
}

/// The pipeline's change on one step (encode or decode), or `None` without usable samples.
fn step_change(cells: &[&Vec<Round>], step: Step) -> Option<ClockChange> {
    let all = |cpu: bool| {
        cells
            .iter()
            .map(|c| cell_ratio(c, step, cpu))
            .collect::<Option<Vec<f64>>>()
    };
    let wall = all(false)?;
    let (clock, ratios) = match all(true) {
        Some(cpu) => ("cpu", cpu),
        None => ("wall", wall.clone()),
    };
    let (change, p_slower, p_faster) = judge_ratios(&ratios);
    Some(ClockChange {
        clock,
        change,
        wall_change: judge_ratios(&wall).0,
        p_slower,
        p_faster,
    })
}

/// Why time was not judged when no re-measurement was made.
pub const NOT_RETIMED: &str = "not enough repeats to judge time: time is judged only from BASELINE and NEW re-measured interleaved in one process (add --retime); two runs' own times, repeated or not, differ by up to 1.4x on a shared machine";

pub fn check(p: &Pipeline, th: &Thresholds, retimed: Option<&Retimed>, out: &mut CurveComparison) {
    let Some(max) = th.max_slowdown else {
        return;
    };
    let Some(rt) = retimed else {
        out.notes.push(NOT_RETIMED.to_string());
        return;
    };
    let cells: Vec<&Vec<Round>> = both_ok(p)
        .into_iter()
        .filter_map(|(b, n)| rt.cells.get(&CellKey::of(b, n)))
        .collect();
    if cells.len() < MIN_CELLS || rt.rounds < MIN_ROUNDS {
        out.notes.push(format!(
            "not enough repeats to judge time: {} cell(s) re-timed over {} round(s); {MIN_CELLS} cells and {MIN_ROUNDS} rounds needed (more images or settings, or --retime N)",
            cells.len(),
            rt.rounds
        ));
        return;
    }
    let floor = max.max(th.noise);
    let mut result = TimeResult {
        cells: cells.len(),
        rounds: rt.rounds,
        encode: None,
        decode: None,
    };
    let steps: [(&str, Step); 2] = [("encode", |r| r.encode), ("decode", |r| r.decode)];
    for (what, step) in steps {
        let Some(c) = step_change(&cells, step) else {
            continue;
        };
        let name = if c.clock == "cpu" { "CPU time" } else { "time" };
        let beside = if c.clock == "cpu" {
            format!("wall {:+.1}%; ", c.wall_change)
        } else {
            String::new()
        };
        let text = |p: f64| {
            let p = if p < 0.001 {
                "p<0.001".to_string()
            } else {
                format!("p={p:.3}")
            };
            format!(
                "{what} {name} {:+.1}% ({beside}median of {} cells x {} interleaved rounds, sign test {p}; allowed +{max}%, noise floor {}%)",
                c.change,
                cells.len(),
                rt.rounds,
                th.noise
            )
        };
        if c.change > floor && c.p_slower < P_VALUE {
            out.findings
                .push(Finding::regressed(Rule::Time, text(c.p_slower)));
        } else if c.change < -floor && c.p_faster < P_VALUE {
            out.findings
                .push(Finding::improved(Rule::Time, text(c.p_faster)));
        }
        if what == "encode" {
            out.encode_time = Some(c.change);
            result.encode = Some(c);
        } else {
            out.decode_time = Some(c.change);
            result.decode = Some(c);
        }
    }
    out.time = Some(result);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::rules::testing::pipeline;
    use crate::baseline::tests::{cell, empty_comparison};
    use crate::baseline::Verdict;
    use crate::record::CellRecord;

    #[test]
    fn sign_test_values() {
        // All of 5 slower by chance: 1/32; 8 of 10: 56/1024 (binomial tables).
        assert!((sign_test(5, 5) - 1.0 / 32.0).abs() < 1e-12);
        assert!((sign_test(8, 10) - 56.0 / 1024.0).abs() < 1e-12);
        assert_eq!(sign_test(0, 7), 1.0);
    }

    fn s(ms: f64) -> Sample {
        Sample {
            wall_ms: ms,
            cpu_ms: Some(ms),
        }
    }

    /// `n` cells re-timed over `rounds` rounds: BASELINE 10 ms, NEW `factor(cell, round)` x
    /// that (CPU); wall time `wall` x the CPU ratio.
    fn retimed(
        n: usize,
        rounds: u32,
        factor: impl Fn(usize, usize) -> f64,
    ) -> (Vec<CellRecord>, Retimed) {
        let base: Vec<CellRecord> = (0..n).map(|i| cell("a", i as f64, 1.0, 30.0)).collect();
        let mut rt = Retimed {
            rounds,
            ..Retimed::default()
        };
        for (i, b) in base.iter().enumerate() {
            let v = (0..rounds as usize)
                .map(|r| Round {
                    encode: [s(10.0), s(10.0 * factor(i, r))],
                    decode: [s(5.0), s(5.0)],
                })
                .collect();
            rt.cells.insert(CellKey::of(b, b), v);
        }
        (base, rt)
    }

    fn th(max: f64) -> Thresholds {
        Thresholds {
            max_slowdown: Some(max),
            ..Thresholds::default()
        }
    }

    fn judge(base: &[CellRecord], rt: &Retimed, th: &Thresholds) -> CurveComparison {
        let mut out = empty_comparison();
        check(&pipeline(base, base), th, Some(rt), &mut out);
        out
    }

    #[test]
    fn a_cell_ratio_is_the_median_of_same_round_ratios() {
        // Round 2 is disturbed on both sides alike (the machine got busy): its ratio is still
        // 1.2; round 3's NEW call alone was hit (an outlier), which the median ignores.
        let r = |b: f64, n: f64| Round {
            encode: [s(b), s(n)],
            decode: [s(1.0), s(1.0)],
        };
        let rounds = [r(10.0, 12.0), r(30.0, 36.0), r(10.0, 50.0)];
        let x = cell_ratio(&rounds, |r| r.encode, true).unwrap();
        assert!((x - 1.2).abs() < 1e-12, "{x}");
        // Without CPU time on a sample, there is no CPU ratio (wall is judged instead).
        let mut no_cpu = rounds;
        no_cpu[0].encode[1].cpu_ms = None;
        assert_eq!(cell_ratio(&no_cpu, |r| r.encode, true), None);
        assert!(cell_ratio(&no_cpu, |r| r.encode, false).is_some());
    }

    #[test]
    fn a_consistent_slowdown_beyond_the_floor_regresses() {
        let (b, rt) = retimed(8, 5, |_, _| 1.25);
        let out = judge(&b, &rt, &th(10.0));
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        assert_eq!(out.findings[0].verdict, Verdict::Regressed);
        assert!(
            out.findings[0]
                .text
                .starts_with("encode CPU time +25.0% (wall +25.0%; median of 8 cells x 5"),
            "{}",
            out.findings[0].text
        );
        assert!(
            out.findings[0].text.contains("sign test p=0.004;"),
            "8 of 8 slower: 1/256 = 0.0039; {}",
            out.findings[0].text
        );
        assert_eq!(out.decode_time, Some(0.0));
        let t = out.time.unwrap();
        assert_eq!((t.cells, t.rounds), (8, 5));
        // Faster by as much: an improvement.
        let (b, rt) = retimed(8, 5, |_, _| 0.75);
        let out = judge(&b, &rt, &th(10.0));
        assert_eq!(out.findings[0].verdict, Verdict::Improved);
    }

    #[test]
    fn noise_outliers_and_too_few_cells_or_rounds_are_not_judged() {
        // Inside the noise floor (which is above --max-slowdown 5).
        let (b, rt) = retimed(8, 5, |_, _| 1.08);
        assert!(judge(&b, &rt, &th(5.0)).findings.is_empty());
        // One cell much slower, the rest faster: the median does not move.
        let (b, rt) = retimed(8, 5, |i, _| if i == 0 { 3.0 } else { 0.97 });
        assert!(judge(&b, &rt, &th(10.0)).findings.is_empty());
        // Large but split: half the cells 30% slower, half 30% faster (median between them).
        let (b, rt) = retimed(8, 5, |i, _| if i % 2 == 0 { 1.3 } else { 0.7 });
        assert!(judge(&b, &rt, &th(10.0)).findings.is_empty());
        // Slower in only 5 of 9 cells, by 40%: median +40% but the sign test cannot tell it
        // from chance (p = 0.5).
        let (b, rt) = retimed(9, 5, |i, _| if i < 5 { 1.4 } else { 0.999 });
        let out = judge(&b, &rt, &th(10.0));
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        assert!(out.encode_time.unwrap() > 10.0);
        // Too few cells or rounds: said, not judged.
        for (n, rounds) in [(4, 5), (8, 2)] {
            let (b, rt) = retimed(n, rounds, |_, _| 2.0);
            let out = judge(&b, &rt, &th(10.0));
            assert!(out.findings.is_empty());
            assert!(
                out.notes[0].starts_with("not enough repeats to judge time"),
                "{:?}",
                out.notes
            );
        }
        // Without a re-measurement (two runs' own times): said, not judged.
        let (b, _) = retimed(8, 5, |_, _| 2.0);
        let mut out = empty_comparison();
        check(&pipeline(&b, &b), &th(10.0), None, &mut out);
        assert!(out.findings.is_empty());
        assert_eq!(out.notes, vec![NOT_RETIMED.to_string()]);
        // Without --max-slowdown, nothing at all.
        let (b, rt) = retimed(8, 5, |_, _| 2.0);
        let out = judge(&b, &rt, &Thresholds::default());
        assert!(out.findings.is_empty() && out.notes.is_empty());
    }

    #[test]
    fn wall_time_is_judged_when_a_cpu_clock_is_missing() {
        let (b, mut rt) = retimed(8, 5, |_, _| 1.5);
        for rounds in rt.cells.values_mut() {
            for r in rounds {
                r.encode[1].cpu_ms = None;
            }
        }
        let out = judge(&b, &rt, &th(10.0));
        assert!(
            out.findings[0]
                .text
                .starts_with("encode time +50.0% (median"),
            "{}",
            out.findings[0].text
        );
    }
}
