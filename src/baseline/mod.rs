//! `codecbench compare`: a NEW run against a BASELINE run, per pipeline, with one verdict
//! (improved / unchanged / regressed) that a CI job can gate on.
//!
//! A pipeline is a labelled configuration (`--codec site=jpeg:q=80`: cells matched by image
//! and label, whatever the spec, so a changed setting is judged rather than left out) or, when
//! unlabelled, one codec configuration (cells matched by image and spec). The gate is a list
//! of small rules ([`rules`]), each judging one thing (failures, losslessness, sizes, quality,
//! bytes at equal quality, BD-rate, time, lost cells, targets); the verdict, the headline and
//! the exit code are one fold of their findings ([`Comparison::verdict`]). Every metric is
//! judged in its own direction (see `crate::metrics::Direction`).

mod inputs;
mod pipeline;
mod render;
pub mod retime;
pub mod rules;
mod targets;
#[cfg(test)]
pub(crate) mod tests;

use serde::Serialize;

use crate::analysis::series::metrics_present;
use crate::metrics::{find, Metric, MetricDef};
use crate::record::CellRecord;

pub use inputs::{check_columns, find_duplicate, read_results, InputError, REQUIRED_COLUMNS};
pub use pipeline::{pipelines, Pipeline};
pub use render::{escape_markdown, markdown, text};
pub use targets::{
    compare_targets, label_targets, read_targets_beside, target_text, TargetComparison, TargetGate,
    TargetsUnreadable,
};

/// Limits beyond which a pipeline has regressed. `None` switches a check off.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// BD-rate (percent, on PSNR) of NEW against BASELINE above which it regressed (default 0.5).
    pub max_bd_rate: Option<f64>,
    /// Largest allowed size increase of any matched cell, and largest allowed excess of bytes
    /// at equal quality over BASELINE's curve, percent (default 1).
    pub max_size_increase: Option<f64>,
    /// Per metric key: how much worse any matched cell may get, in the metric's units and its
    /// direction (default psnr 0.05 dB, ssimulacra2 0.5); also the metrics on which bytes at
    /// equal quality are judged.
    #[serde(serialize_with = "crate::analysis::metric_key::pairs")]
    pub max_quality_drop: Vec<(Metric, f64)>,
    /// Largest allowed slowdown of encode or decode time, percent (default off; the noise
    /// floor with `--retime`); judged only from an interleaved re-measurement ([`retime`],
    /// [`rules::time`]).
    pub max_slowdown: Option<f64>,
    /// Noise floor of time, percent: a median change inside it is never a verdict (default 10).
    pub noise: f64,
    /// Largest allowed increase of total bytes at equal quality (targets.csv of both runs),
    /// percent, per pipeline and quality target (default 1); see [`compare_targets`].
    pub max_target_bytes_increase: Option<f64>,
    /// BASELINE cells missing from NEW are listed but not a regression (default false).
    pub allow_missing: bool,
}

/// Default quality tolerances: about the smallest change each metric shows on real photos
/// between neighbouring encoder settings (one JPEG quality step moves SSIMULACRA2 by ~1 and
/// PSNR by ~0.1-0.2 dB), so identical pipelines (exactly equal numbers) always pass.
pub const DEFAULT_QUALITY_DROP: [(&str, f64); 2] = [("psnr", 0.05), ("ssimulacra2", 0.5)];

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_bd_rate: Some(0.5),
            max_size_increase: Some(1.0),
            max_quality_drop: DEFAULT_QUALITY_DROP
                .iter()
                .map(|(k, v)| (find(k).expect("a metric of the table"), *v))
                .collect(),
            max_slowdown: None,
            noise: 10.0,
            max_target_bytes_increase: Some(1.0),
            allow_missing: false,
        }
    }
}

impl Thresholds {
    /// The allowed drop of `metric` (`None`: not gated).
    pub fn quality_drop(&self, metric: &MetricDef) -> Option<f64> {
        self.max_quality_drop
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|(_, v)| *v)
    }

    /// Sets the allowed drop of the metric `key` names (a key or a results.csv column),
    /// replacing a default; infinity switches it off. The caller checks the key first (and
    /// names the flag or file when it is unknown): an unknown key here changes nothing.
    pub fn set_quality_drop(&mut self, key: &str, max: f64) {
        if let Some(m) = find(key) {
            self.set_metric_drop(m, max);
        }
    }

    /// [`set_quality_drop`](Self::set_quality_drop) for a metric already parsed.
    pub fn set_metric_drop(&mut self, metric: Metric, max: f64) {
        self.max_quality_drop.retain(|(m, _)| *m != metric);
        if max.is_finite() {
            self.max_quality_drop.push((metric, max));
        }
    }
}

/// Three-way verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Improved,
    #[default]
    Unchanged,
    Regressed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Regressed => "regressed",
        }
    }

    /// The fold of many verdicts: any regression wins, then any improvement.
    pub fn fold(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let mut out = Verdict::Unchanged;
        for v in verdicts {
            out = match (out, v) {
                (Verdict::Regressed, _) | (_, Verdict::Regressed) => Verdict::Regressed,
                (Verdict::Improved, _) | (_, Verdict::Improved) => Verdict::Improved,
                _ => Verdict::Unchanged,
            };
        }
        out
    }
}

/// Which rule made a finding (a closed set: one per file of [`rules`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Failed,
    Lossless,
    Size,
    Quality,
    EqualQuality,
    BdRate,
    Time,
    LostCells,
    Targets,
}

/// One judged fact: a regression or an improvement, with its reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub verdict: Verdict,
    pub text: String,
}

impl Finding {
    pub fn regressed(rule: Rule, text: String) -> Finding {
        Finding {
            rule,
            verdict: Verdict::Regressed,
            text,
        }
    }
    pub fn improved(rule: Rule, text: String) -> Finding {
        Finding {
            rule,
            verdict: Verdict::Improved,
            text,
        }
    }
}

/// Median and extreme of a set of per-cell changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub median: f64,
    /// The worst cell: largest increase for sizes; for quality the change in the worse
    /// direction of the metric that is largest (most negative for higher-is-better).
    pub worst: f64,
    pub worst_cell: String,
}

/// The comparison of one pipeline.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CurveComparison {
    /// The label, or the codec configuration (curve) of an unlabelled pipeline.
    pub curve: String,
    pub labelled: bool,
    /// The specs each side ran under this pipeline (one, or a curve with its setting count).
    pub baseline_spec: String,
    pub new_spec: String,
    pub baseline_version: String,
    pub new_version: String,
    /// Matched cell pairs.
    pub cells: usize,
    /// BD-rate of NEW against BASELINE on PSNR, percent (lossy curves only).
    pub bd_rate: Option<f64>,
    pub bd_warnings: Vec<String>,
    /// Per-cell size change, percent.
    pub bytes: Option<Change>,
    /// Per metric key: per-cell change in the metric's units (new - baseline).
    pub quality: Vec<(String, Change)>,
    /// Median encode / decode time change, percent (when time was judged).
    pub encode_time: Option<f64>,
    pub decode_time: Option<f64>,
    /// What the time rule measured (re-timed cells, rounds, both clocks, the sign test).
    pub time: Option<rules::time::TimeResult>,
    pub findings: Vec<Finding>,
    /// Checks that could not be made (e.g. time without repeats).
    pub notes: Vec<String>,
    pub verdict: Verdict,
    /// The findings of the verdict (regressions when regressed, improvements when improved).
    pub reasons: Vec<String>,
}

impl CurveComparison {
    /// The pipeline's name with its old and new spec when they differ.
    pub fn title(&self) -> String {
        if self.baseline_spec == self.new_spec || !self.labelled {
            self.curve.clone()
        } else {
            format!(
                "{} ({})",
                self.curve,
                spec_change(&self.baseline_spec, &self.new_spec)
            )
        }
    }
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub verdict: Verdict,
    pub headline: String,
    pub curves: Vec<CurveComparison>,
    /// Cells of BASELINE missing from NEW, as "image spec" (a regression unless allowed).
    pub only_baseline: Vec<String>,
    pub only_new: Vec<String>,
    /// The lost-cells finding (when BASELINE cells are missing from NEW).
    pub lost: Option<Finding>,
    pub targets: TargetGate,
    /// Said once for the whole comparison (cache, repeats, skipped checks).
    pub notes: Vec<String>,
    /// The time gate in one line: judged how, or why not (`None` without --max-slowdown).
    pub time: Option<String>,
    pub thresholds: Thresholds,
}

impl Comparison {
    /// Every finding, pipelines first, in the order they are reported.
    pub fn findings(&self) -> Vec<(String, &Finding)> {
        let mut v: Vec<(String, &Finding)> = Vec::new();
        for c in &self.curves {
            for f in &c.findings {
                v.push((c.title(), f));
            }
        }
        if let Some(f) = &self.lost {
            v.push(("lost cells".into(), f));
        }
        if let TargetGate::Judged(t) = &self.targets {
            for c in t {
                for f in &c.findings {
                    v.push((format!("{} {}={}", c.curve, c.metric.key, c.target), f));
                }
            }
        }
        v
    }

    /// Recomputes the verdict and headline from every finding (call after changing any).
    pub fn settle(&mut self) {
        let findings: Vec<(String, Finding)> = self
            .findings()
            .into_iter()
            .map(|(w, f)| (w, f.clone()))
            .collect();
        let verdict = Verdict::fold(findings.iter().map(|(_, f)| f.verdict));
        self.verdict = verdict;
        let first = |v: Verdict| findings.iter().find(|(_, f)| f.verdict == v);
        let count = findings
            .iter()
            .filter(|(_, f)| f.verdict == verdict)
            .count();
        let more = if count > 1 {
            format!(" (and {} more)", count - 1)
        } else {
            String::new()
        };
        self.headline = match (verdict, first(verdict)) {
            (Verdict::Regressed, Some((who, f))) => {
                let n = self
                    .curves
                    .iter()
                    .filter(|c| c.verdict == Verdict::Regressed)
                    .count();
                format!(
                    "verdict: REGRESSED ({n} of {} pipeline(s)): {who}: {}{more}",
                    self.curves.len(),
                    f.text
                )
            }
            (Verdict::Improved, Some((who, f))) => {
                format!("verdict: improved, no regression: {who}: {}{more}", f.text)
            }
            _ => format!(
                "verdict: no regression ({} pipeline(s), {} matched cell(s))",
                self.curves.len(),
                self.curves.iter().map(|c| c.cells).sum::<usize>()
            ),
        };
        // A time gate that was asked for and could not run is said in the headline, never
        // left to a note under it.
        if let Some(t) = self
            .time
            .as_deref()
            .filter(|t| t.starts_with("not enough repeats"))
        {
            if verdict != Verdict::Regressed {
                self.headline.push_str(&format!("; {t}"));
            }
        }
    }

    pub fn regressed(&self) -> bool {
        self.verdict == Verdict::Regressed
    }

    /// The exit code of `compare`: 1 when regressed, from the same fold as the headline.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.regressed())
    }

    /// Adds the bytes-at-equal-quality check of targets.csv and settles the verdict again.
    pub fn with_targets(mut self, targets: TargetGate) -> Comparison {
        if let TargetGate::NotPossible(why) = &targets {
            self.notes.push(why.clone());
        }
        self.targets = targets;
        self.settle();
        self
    }
}

pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

pub(crate) fn pct(new: f64, old: f64) -> f64 {
    (new / old - 1.0) * 100.0
}

/// A matched pair as people read it: `image spec`, or `image old -> new` (only what changed)
/// when the spec changed.
pub(crate) fn pair_name(b: &CellRecord, n: &CellRecord) -> String {
    if b.spec == n.spec {
        format!("{} {}", n.image, n.spec)
    } else {
        format!("{} {}", n.image, spec_change(&b.spec, &n.spec))
    }
}

/// `jpeg q=80 -> q=70` for two specs of one codec (only the keys that changed), else both
/// specs in full.
pub fn spec_change(old: &str, new: &str) -> String {
    let split = |s: &str| -> (String, Vec<String>) {
        let (codec, rest) = s.split_once(':').unwrap_or((s, ""));
        let keys = rest
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        (codec.to_string(), keys)
    };
    let ((c0, k0), (c1, k1)) = (split(old), split(new));
    if c0 != c1 || old == new {
        return format!("{old} -> {new}");
    }
    let gone: Vec<&str> = k0
        .iter()
        .filter(|k| !k1.contains(k))
        .map(String::as_str)
        .collect();
    let came: Vec<&str> = k1
        .iter()
        .filter(|k| !k0.contains(k))
        .map(String::as_str)
        .collect();
    format!("{c0} {} -> {}", gone.join(","), came.join(","))
}

/// The per-pair change `f`, its median and its worst pair (largest or smallest).
pub(crate) fn change(
    pairs: &[(&CellRecord, &CellRecord)],
    f: impl Fn(&CellRecord, &CellRecord) -> Option<f64>,
    worst_is_max: bool,
) -> Option<Change> {
    let mut v: Vec<(f64, String)> = pairs
        .iter()
        .filter_map(|(b, n)| f(b, n).map(|x| (x, pair_name(b, n))))
        .filter(|(x, _)| x.is_finite())
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (worst, worst_cell) = if worst_is_max {
        v.last().cloned().unwrap()
    } else {
        v.first().cloned().unwrap()
    };
    let mut xs: Vec<f64> = v.iter().map(|x| x.0).collect();
    Some(Change {
        median: median(&mut xs),
        worst,
        worst_cell,
    })
}

/// Compares NEW against BASELINE: matches pipelines, runs every rule on each, lists lost
/// cells, and settles one verdict. Targets are added with [`Comparison::with_targets`].
pub fn compare(base: &[CellRecord], new: &[CellRecord], th: &Thresholds) -> Comparison {
    compare_retimed(base, new, th, None)
}

/// [`compare`], with time judged from `retimed` (BASELINE and NEW re-measured interleaved,
/// see [`retime`]); without it time is never judged.
pub fn compare_retimed(
    base: &[CellRecord],
    new: &[CellRecord],
    th: &Thresholds,
    retimed: Option<&retime::Retimed>,
) -> Comparison {
    let metrics = metrics_present(base);
    let m = pipelines(base, new);
    let curves: Vec<CurveComparison> = m
        .pipelines
        .iter()
        .map(|p| rules::judge(p, &metrics, th, retimed))
        .collect();
    let lost = rules::lost::check(&m.only_baseline, th);
    let mut notes = Vec::new();
    let swept: Vec<&CellRecord> = new.iter().filter(|r| !r.probe).collect();
    if !swept.is_empty() && swept.iter().all(|r| r.cached) {
        notes.push(format!(
            "every NEW cell ({}) came from the cache, none was measured by this run: a change the cache key does not cover would not show (run NEW with --no-cache to re-measure)",
            swept.len()
        ));
    }
    if let Some(rt) = retimed {
        notes.extend(rt.notes.iter().cloned());
    }
    let time = th.max_slowdown.map(|_| time_summary(&curves, retimed));
    let mut c = Comparison {
        time,
        verdict: Verdict::Unchanged,
        headline: String::new(),
        curves,
        only_baseline: m.only_baseline.iter().map(|r| cell_name(r)).collect(),
        only_new: m.only_new.iter().map(|r| cell_name(r)).collect(),
        lost,
        targets: TargetGate::Off,
        notes,
        thresholds: th.clone(),
    };
    c.settle();
    c
}

/// The time gate in one line: how many pipelines it judged from how many re-timed cells and
/// rounds, or why it judged none.
fn time_summary(curves: &[CurveComparison], retimed: Option<&retime::Retimed>) -> String {
    let judged: Vec<&rules::time::TimeResult> =
        curves.iter().filter_map(|c| c.time.as_ref()).collect();
    match retimed {
        None => "not enough repeats to judge time: add --retime (BASELINE and NEW re-measured interleaved in this process)".to_string(),
        Some(_) if judged.is_empty() => format!(
            "not enough repeats to judge time: {} re-timed cells and {} rounds per pipeline needed (see notes)",
            rules::time::MIN_CELLS,
            rules::time::MIN_ROUNDS
        ),
        Some(rt) => format!(
            "time judged on {} of {} pipeline(s): {} cell(s) re-timed, BASELINE and NEW interleaved over {} round(s){}",
            judged.len(),
            curves.len(),
            judged.iter().map(|t| t.cells).sum::<usize>(),
            rt.rounds,
            if judged.len() < curves.len() {
                " (the others: not enough repeats, see notes)"
            } else {
                ""
            }
        ),
    }
}

fn cell_name(r: &CellRecord) -> String {
    if r.label.is_empty() {
        format!("{} {}", r.image, r.spec)
    } else {
        format!("{} {}={}", r.image, r.label, r.spec)
    }
}
