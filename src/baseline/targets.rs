//! Bytes at equal quality from the target search (targets.csv of both runs): per pipeline and
//! quality target, the total bytes of the chosen settings over the images both runs met. On by
//! default (1%); a target BASELINE searched that NEW did not, or met in BASELINE and not in
//! NEW, is a regression.

use serde::Serialize;

use super::{Finding, Rule, Verdict};
use crate::metrics::Metric;
use crate::record::CellRecord;
use crate::target::{Goal, TargetRow};

/// One curve and quality target judged on bytes at equal quality (targets.csv of both runs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetComparison {
    pub curve: String,
    #[serde(with = "crate::analysis::metric_key")]
    pub metric: Metric,
    pub target: f64,
    /// Images where both runs met the target.
    pub images: usize,
    /// Total bytes over those images.
    pub base_bytes: f64,
    pub new_bytes: f64,
    /// Percent change of the total (`None` without a common image).
    pub change: Option<f64>,
    /// Images where BASELINE met the target and NEW did not, with NEW's reason.
    pub lost: Vec<String>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub findings: Vec<Finding>,
}

/// The bytes-at-equal-quality check of `compare`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "kebab-case")]
pub enum TargetGate {
    /// Off (no limit given).
    Off,
    /// The limit was given but the check could not be made (targets.csv missing on one side
    /// or both, or no common quality target); the text says why. Never a silent pass.
    NotPossible(String),
    Judged(Vec<TargetComparison>),
}

impl TargetGate {
    pub fn regressed(&self) -> bool {
        matches!(self, TargetGate::Judged(v) if v.iter().any(|c| c.verdict == Verdict::Regressed))
    }
}

/// A targets.csv beside a results.csv that cannot be read. The reader's message comes first
/// and the fix after it, so it is part of this message rather than a separate cause.
#[derive(Debug, thiserror::Error)]
#[error("{inner}; fix or remove it to judge bytes at equal quality")]
pub struct TargetsUnreadable {
    inner: crate::export::OutputError,
}

/// Reads targets.csv beside a results.csv (or in a run folder): `Ok(None)` when absent.
pub fn read_targets_beside(
    path: &std::path::Path,
) -> Result<Option<Vec<TargetRow>>, TargetsUnreadable> {
    crate::run_dir::RunDir::of(path)
        .read_targets()
        .map_err(|inner| TargetsUnreadable { inner })
}

/// Judges NEW's bytes at equal quality against BASELINE's: per curve and quality target
/// (`bpp`/`bytes` budgets are not equal-quality targets), the total bytes of the searched
/// settings over the images that met the target in both runs; regressed if the total grows
/// by more than `max` percent, or if an image that met the target in BASELINE does not in NEW
/// (unreachable, non-monotonic short of it, failed). A target only one run searched is named
/// in the reasons of nothing and listed as not judged in [`target_text`].
pub fn compare_targets(
    base: Option<&[TargetRow]>,
    new: Option<&[TargetRow]>,
    max: Option<f64>,
) -> TargetGate {
    let Some(max) = max else {
        return TargetGate::Off;
    };
    let (base, new) = match (base, new) {
        (Some(b), Some(n)) => (b, n),
        // NEW searched nothing that BASELINE searched: every BASELINE target is missing.
        (Some(b), None) => (b, &[][..]),
        (None, Some(_)) => {
            return TargetGate::NotPossible(
                "bytes at equal quality NOT CHECKED: only NEW has targets.csv (run both with the same --target)".into(),
            );
        }
        (None, None) => return TargetGate::Off,
    };
    // Quality targets only: a bpp/bytes budget is not an equal-quality target.
    let mut keys: Vec<(String, Metric, f64)> = Vec::new();
    for r in base {
        let Some(m) = r.goal.metric() else { continue };
        let k = (r.curve.clone(), m, r.target);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut out = Vec::new();
    for (curve, m, target) in keys {
        let goal = Goal::Quality(m);
        if !new
            .iter()
            .any(|r| r.curve == curve && r.goal == goal && r.target == target)
        {
            let why = format!(
                "{} {target} searched in BASELINE, not in NEW (run NEW with the same --target and pipeline)",
                m.name
            );
            out.push(TargetComparison {
                curve: curve.clone(),
                metric: m,
                target,
                images: 0,
                base_bytes: 0.0,
                new_bytes: 0.0,
                change: None,
                lost: Vec::new(),
                verdict: Verdict::Regressed,
                reasons: vec![why.clone()],
                findings: vec![Finding::regressed(Rule::Targets, why)],
            });
            continue;
        }
        let cost = crate::analysis::equal_quality::searched_cost;
        let mut images: Vec<&str> = base
            .iter()
            .filter(|r| r.curve == curve && r.goal == goal && r.target == target)
            .map(|r| r.image.as_str())
            .collect();
        images.dedup();
        let mut c = TargetComparison {
            curve: curve.clone(),
            metric: m,
            target,
            images: 0,
            base_bytes: 0.0,
            new_bytes: 0.0,
            change: None,
            lost: Vec::new(),
            verdict: Verdict::Unchanged,
            reasons: Vec::new(),
            findings: Vec::new(),
        };
        for img in images {
            let Ok(b) = cost(base, img, &curve, m, target) else {
                continue;
            };
            match cost(new, img, &curve, m, target) {
                Ok(n) => {
                    c.images += 1;
                    c.base_bytes += b.bytes;
                    c.new_bytes += n.bytes;
                }
                Err(e) if new.iter().any(|r| r.image == img && r.curve == curve) => {
                    c.lost.push(format!("{img}: {e}"));
                }
                // An image NEW did not search at all is not a verdict on the codec.
                Err(_) => {}
            }
        }
        c.change = (c.images > 0 && c.base_bytes > 0.0)
            .then(|| (c.new_bytes / c.base_bytes - 1.0) * 100.0);
        if let Some(p) = c.change {
            if p > max {
                c.reasons.push(format!(
                    "bytes at {} {target} {p:+.2}% over {} image(s) (allowed +{max}%)",
                    m.name, c.images
                ));
            }
        }
        for l in &c.lost {
            c.reasons.push(format!(
                "{} {target} met in BASELINE, not in NEW: {l}",
                m.name
            ));
        }
        c.verdict = if !c.reasons.is_empty() {
            Verdict::Regressed
        } else if c.change.is_some_and(|p| p < -max) {
            c.findings.push(Finding::improved(
                Rule::Targets,
                format!(
                    "bytes at {} {target} {:+.2}%",
                    m.name,
                    c.change.unwrap_or(0.0)
                ),
            ));
            Verdict::Improved
        } else {
            Verdict::Unchanged
        };
        if c.verdict == Verdict::Regressed {
            c.findings = c
                .reasons
                .iter()
                .map(|r| Finding::regressed(Rule::Targets, r.clone()))
                .collect();
        }
        out.push(c);
    }
    if out.is_empty() && new.is_empty() {
        return TargetGate::Off;
    }
    if out.is_empty() {
        return TargetGate::NotPossible(
            "bytes at equal quality NOT CHECKED: the runs share no curve and quality target in \
             targets.csv"
                .into(),
        );
    }
    TargetGate::Judged(out)
}

/// The check's lines for the console (nothing when it is off).
pub fn target_text(g: &TargetGate) -> String {
    match g {
        TargetGate::Off => String::new(),
        TargetGate::NotPossible(why) => format!("{why}\n"),
        TargetGate::Judged(v) => {
            let mut s = String::from("bytes at equal quality (targets.csv):\n");
            for c in v {
                s.push_str(&format!(
                    "  {} {} {}={}: {} image(s), {}{}\n",
                    c.verdict.as_str(),
                    c.curve,
                    c.metric.key,
                    c.target,
                    c.images,
                    c.change
                        .map_or("no common image".into(), |p| format!("{p:+.2}% bytes")),
                    if c.reasons.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", c.reasons.join("; "))
                    }
                ));
            }
            s
        }
    }
}

/// Names targets.csv rows by pipeline: a curve that all `records` run under one label takes the
/// label, so a labelled pipeline whose options changed keeps matching its targets.
pub fn label_targets(rows: &mut [TargetRow], records: &[CellRecord]) {
    for row in rows {
        let mut labels = records
            .iter()
            .filter(|r| r.curve == row.curve)
            .map(|r| r.label.as_str());
        if let Some(first) = labels.next() {
            if !first.is_empty() && labels.all(|l| l == first) {
                row.curve = first.to_string();
            }
        }
    }
}
