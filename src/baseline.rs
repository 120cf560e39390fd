//! `codecbench compare`: a NEW run against a BASELINE run, per codec configuration, with a
//! three-way verdict (improved / unchanged / regressed) that a CI job can gate on.
//!
//! Cells are matched by image content hash, image id and spec (codec, setting and options), so
//! a new codec version is compared with the old one on exactly the same work. Sizes and
//! qualities are deterministic and judged strictly; timings are noisy and a change inside the
//! noise band is "unchanged". Every metric is judged in its own direction (see
//! `crate::metrics::Direction`): a drop of PSNR and a rise of a distortion are both "worse".

use crate::run_meta::RunMeta;
use std::collections::HashMap;
use std::fmt::Write;

use crate::analysis::bdrate::{corpus_bd_rate, Interp, RdPoint};
use crate::analysis::series::{metrics_present, oriented_points};
use crate::metrics::{find, Direction, MetricDef};
use crate::record::CellRecord;
use crate::target::TargetRow;

/// Limits beyond which a configuration has regressed. `None` switches a check off.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// BD-rate (percent, on PSNR) of NEW against BASELINE above which it regressed (default 0.5).
    pub max_bd_rate: Option<f64>,
    /// Largest allowed size increase of any single cell, percent (default 1).
    pub max_size_increase: Option<f64>,
    /// Per metric (CLI key or column name): how much worse any single cell may get, in the
    /// metric's units and its direction (a drop for PSNR, a rise for a lower-is-better metric).
    pub max_quality_drop: Vec<(String, f64)>,
    /// Largest allowed increase of total encode or decode time, percent (default off).
    pub max_slowdown: Option<f64>,
    /// Time changes within +-this percent are noise and never a verdict (default 10).
    pub noise: f64,
    /// Why time cannot be judged at all (the runs come from different machines or builds, see
    /// [`time_comparable`]); `None` when it can.
    pub time_refused: Option<String>,
    /// Largest allowed increase of total bytes at equal quality (targets.csv of both runs),
    /// percent, per curve and quality target (default off); see [`compare_targets`].
    pub max_target_bytes_increase: Option<f64>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_bd_rate: Some(0.5),
            max_size_increase: Some(1.0),
            max_quality_drop: Vec::new(),
            max_slowdown: None,
            noise: 10.0,
            time_refused: None,
            max_target_bytes_increase: None,
        }
    }
}

/// Three-way verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Improved,
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
}

/// Median and extreme of a set of per-cell changes.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub median: f64,
    /// The worst cell: largest increase for sizes; for quality the change in the worse
    /// direction of the metric that is largest (most negative for higher-is-better).
    pub worst: f64,
    pub worst_cell: String,
}

/// The comparison of one codec configuration.
#[derive(Clone, Debug)]
pub struct CurveComparison {
    pub curve: String,
    pub baseline_version: String,
    pub new_version: String,
    pub cells: usize,
    /// BD-rate of NEW against BASELINE on PSNR, percent (lossy curves only).
    pub bd_rate: Option<f64>,
    pub bd_warnings: Vec<String>,
    /// Per-cell size change, percent.
    pub bytes: Option<Change>,
    /// Per metric key: per-cell change in the metric's units (new - baseline), worst cell by
    /// the metric's direction.
    pub quality: Vec<(String, Change)>,
    /// Total encode / decode time change, percent.
    pub encode_time: Option<f64>,
    pub decode_time: Option<f64>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
}

/// The whole comparison.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub curves: Vec<CurveComparison>,
    /// Cells only in BASELINE / only in NEW, as "image spec".
    pub only_baseline: Vec<String>,
    pub only_new: Vec<String>,
}

impl Comparison {
    pub fn regressed(&self) -> bool {
        self.curves.iter().any(|c| c.verdict == Verdict::Regressed)
    }
}

/// Columns every results.csv the gate reads must have: without them cells cannot be matched or
/// judged, and a missing column would read as empty (`serde(default)`) and pass.
pub const REQUIRED_COLUMNS: [&str; 8] = [
    "image",
    "image_hash",
    "spec",
    "curve",
    "status",
    "bytes",
    "bpp",
    "psnr",
];

type Getter = fn(&CellRecord) -> Option<f64>;

/// Checks that BASELINE and NEW can be judged: each has the [`REQUIRED_COLUMNS`] with at least
/// one value among its ok rows, and NEW has every metric column BASELINE has values in (a
/// metric NEW lacks would otherwise never be judged). `header` is the file's header row.
/// Returns the first problem, naming the side and the column.
pub fn check_columns(sides: [(&str, &[String], &[CellRecord]); 2]) -> Result<(), String> {
    let base_metrics = metrics_present(sides[0].2);
    for (i, (what, header, records)) in sides.iter().enumerate() {
        let has = |c: &str| header.iter().any(|h| h == c);
        let mut needed: Vec<&str> = REQUIRED_COLUMNS.to_vec();
        if i == 1 {
            needed.extend(base_metrics.iter().map(|m| m.column));
        }
        for col in needed {
            if !has(col) {
                return Err(format!(
                    "{what} has no {col} column; it cannot be judged (is it a codecbench results.csv, complete and from a run with the same --metrics?)"
                ));
            }
        }
        let ok: Vec<&CellRecord> = records.iter().filter(|r| r.is_ok()).collect();
        if ok.is_empty() {
            continue;
        }
        let mut valued: Vec<(&str, Getter)> = vec![
            ("bytes", |r| r.bytes.map(|b| b as f64)),
            ("bpp", |r| r.bpp),
            ("psnr", |r| r.psnr),
        ];
        if i == 1 {
            valued.extend(base_metrics.iter().map(|m| (m.column, m.get)));
        }
        for (col, get) in valued {
            // inf is a value (a lossless cell's PSNR); NaN and empty are not.
            if !ok.iter().any(|r| get(r).is_some_and(|v| !v.is_nan())) {
                return Err(format!(
                    "{what}: column {col} is empty or NaN in every ok row; it cannot be judged"
                ));
            }
        }
    }
    Ok(())
}

fn key(r: &CellRecord) -> (String, String, String) {
    (r.image_hash.clone(), r.image.clone(), r.spec.clone())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn pct(new: f64, old: f64) -> f64 {
    (new / old - 1.0) * 100.0
}

/// Compares NEW against BASELINE.
/// Whether the times of two runs can be compared at all: only on the same machine (CPU model
/// and count) and the same codecbench build. `Err` says why not; callers without run.json on
/// either side cannot tell, and judge (the results.csv carries no machine).
pub fn time_comparable(base: &RunMeta, new: &RunMeta) -> Result<(), String> {
    let machine = |m: &RunMeta| format!("{} ({} cores, {})", m.cpu_model, m.cpu_count, m.os);
    if machine(base) != machine(new) {
        return Err(format!(
            "the runs come from different machines (BASELINE {}, NEW {}): time is not judged",
            machine(base),
            machine(new)
        ));
    }
    if base.tool_version != new.tool_version {
        return Err(format!(
            "the runs come from different codecbench builds (BASELINE {}, NEW {}): time is not judged",
            base.tool_version, new.tool_version
        ));
    }
    Ok(())
}

pub fn compare(base: &[CellRecord], new: &[CellRecord], th: &Thresholds) -> Comparison {
    let base_by: HashMap<_, &CellRecord> = base.iter().map(|r| (key(r), r)).collect();
    let new_by: HashMap<_, &CellRecord> = new.iter().map(|r| (key(r), r)).collect();
    let only_baseline = base
        .iter()
        .filter(|r| !new_by.contains_key(&key(r)))
        .map(|r| format!("{} {}", r.image, r.spec))
        .collect();
    let only_new = new
        .iter()
        .filter(|r| !base_by.contains_key(&key(r)))
        .map(|r| format!("{} {}", r.image, r.spec))
        .collect();
    let mut curve_names: Vec<&str> = Vec::new();
    for r in base {
        if new_by.contains_key(&key(r)) && !curve_names.contains(&r.curve.as_str()) {
            curve_names.push(&r.curve);
        }
    }
    let metrics = metrics_present(base);
    let curves = curve_names
        .into_iter()
        .map(|c| {
            let pairs: Vec<(&CellRecord, &CellRecord)> = base
                .iter()
                .filter(|r| r.curve == c)
                .filter_map(|b| new_by.get(&key(b)).map(|n| (b, *n)))
                .collect();
            compare_curve(c, &pairs, &metrics, th)
        })
        .collect();
    Comparison {
        curves,
        only_baseline,
        only_new,
    }
}

fn change(
    pairs: &[(&CellRecord, &CellRecord)],
    f: impl Fn(&CellRecord, &CellRecord) -> Option<f64>,
    worst_is_max: bool,
) -> Option<Change> {
    let mut v: Vec<(f64, String)> = pairs
        .iter()
        .filter_map(|(b, n)| f(b, n).map(|x| (x, format!("{} {}", b.image, b.spec))))
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

/// Mean BD-rate of NEW against BASELINE on `metric` over the images of the matched cells,
/// with its warnings. Points are oriented first, so "fewer bits for the same quality" is
/// negative for either direction of metric.
fn bd_rate_on(
    both_ok: &[(&CellRecord, &CellRecord)],
    metric: &MetricDef,
) -> (Option<f64>, Vec<String>) {
    let bs: Vec<&CellRecord> = both_ok.iter().map(|p| p.0).collect();
    let ns: Vec<&CellRecord> = both_ok.iter().map(|p| p.1).collect();
    let mut images: Vec<&str> = bs.iter().map(|r| r.image.as_str()).collect();
    images.dedup();
    let data: Vec<(String, Vec<RdPoint>, Vec<RdPoint>)> = images
        .iter()
        .map(|i| (i.to_string(), rd(&bs, i, metric), rd(&ns, i, metric)))
        .collect();
    let r = corpus_bd_rate(&data, Interp::Pchip);
    (r.mean, r.warnings)
}

/// The per-cell change of `metric` (new - baseline), worst cell by its direction, and whether
/// it got worse by more than the allowed amount `max` (a reason if so).
fn quality_check(
    both_ok: &[(&CellRecord, &CellRecord)],
    metric: &MetricDef,
    max: Option<f64>,
) -> Option<(Change, Option<String>)> {
    let worst_is_max = metric.direction == Direction::LowerIsBetter;
    let c = change(
        both_ok,
        |b, n| Some((metric.get)(n)? - (metric.get)(b)?),
        worst_is_max,
    )?;
    let worse_by = metric.direction.worsening(0.0, c.worst);
    let reason = max.filter(|max| worse_by > *max).map(|max| {
        format!(
            "{} {:+.3} on {} (allowed {} {max}; {})",
            metric.key,
            c.worst,
            c.worst_cell,
            match metric.direction {
                Direction::HigherIsBetter => "drop",
                Direction::LowerIsBetter => "rise",
            },
            metric.direction.describe()
        )
    });
    Some((c, reason))
}

fn compare_curve(
    curve: &str,
    pairs: &[(&CellRecord, &CellRecord)],
    metrics: &[&'static MetricDef],
    th: &Thresholds,
) -> CurveComparison {
    let (b0, n0) = pairs[0];
    let both_ok: Vec<(&CellRecord, &CellRecord)> = pairs
        .iter()
        .copied()
        .filter(|(b, n)| b.is_ok() && n.is_ok())
        .collect();
    let mut reasons = Vec::new();
    let mut regressed = false;
    let mut improved = Vec::new();

    let newly_failed: Vec<String> = pairs
        .iter()
        .filter(|(b, n)| b.is_ok() && !n.is_ok())
        .map(|(_, n)| format!("{}: {}", n.image, n.message))
        .collect();
    if !newly_failed.is_empty() {
        regressed = true;
        reasons.push(format!(
            "{} cell(s) fail that passed in the baseline (first: {})",
            newly_failed.len(),
            newly_failed[0]
        ));
    }
    // A value the baseline measured that NEW lacks (empty or NaN) would silently drop out of
    // every check below.
    for m in metrics {
        let lost: Vec<&str> = both_ok
            .iter()
            .filter(|(b, n)| {
                (m.get)(b).is_some_and(|v| !v.is_nan()) && (m.get)(n).is_none_or(|v| v.is_nan())
            })
            .map(|(_, n)| n.image.as_str())
            .collect();
        if !lost.is_empty() {
            regressed = true;
            reasons.push(format!(
                "{} cell(s) have no {} value that the baseline measured (first: {})",
                lost.len(),
                m.key,
                lost[0]
            ));
        }
    }
    let lost_bpp = both_ok
        .iter()
        .filter(|(b, n)| b.bpp.is_some_and(f64::is_finite) && !n.bpp.is_some_and(f64::is_finite))
        .count();
    if lost_bpp > 0 {
        regressed = true;
        reasons.push(format!("{lost_bpp} cell(s) have no bpp value"));
    }
    let lost_exact = both_ok
        .iter()
        .filter(|(b, n)| b.roundtrip_exact == Some(true) && n.roundtrip_exact != Some(true))
        .count();
    if lost_exact > 0 && b0.lossless {
        regressed = true;
        reasons.push(format!("{lost_exact} cell(s) no longer round-trip exactly"));
    }

    // BD-rate on PSNR over the images both runs measured (lossy curves only).
    let psnr = metrics.iter().find(|m| m.key == "psnr");
    let (mut bd_rate, mut bd_warnings) = (None, Vec::new());
    if let (false, Some(m)) = (b0.lossless, psnr) {
        (bd_rate, bd_warnings) = bd_rate_on(&both_ok, m);
    }
    if let (Some(bd), Some(max)) = (bd_rate, th.max_bd_rate) {
        if bd > max {
            regressed = true;
            reasons.push(format!("BD-rate {bd:+.2}% > {max}%"));
        } else if bd < -max {
            improved.push(format!("BD-rate {bd:+.2}%"));
        }
    }

    let bytes = change(
        &both_ok,
        |b, n| Some(pct(n.bytes? as f64, b.bytes? as f64)),
        true,
    );
    if let (Some(c), Some(max)) = (&bytes, th.max_size_increase) {
        if c.worst > max {
            regressed = true;
            reasons.push(format!(
                "size +{:.2}% on {} > {max}%",
                c.worst, c.worst_cell
            ));
        } else if b0.lossless && c.median < -max {
            improved.push(format!("median size {:+.2}%", c.median));
        }
    }

    let mut quality = Vec::new();
    for m in metrics {
        let max = th
            .max_quality_drop
            .iter()
            .find(|(k, _)| find(k).is_some_and(|d| d == *m))
            .map(|(_, max)| *max);
        let Some((c, reason)) = quality_check(&both_ok, m, max) else {
            continue;
        };
        if let Some(reason) = reason {
            regressed = true;
            reasons.push(reason);
        }
        quality.push((m.key.to_string(), c));
    }

    // Time only on cells whose times were both taken on this machine and build (measured
    // in their run, or served from its cache by the same machine and build): a cell whose
    // times came from another machine's cache entry says nothing about this change.
    let timed: Vec<_> = both_ok
        .iter()
        .filter(|p| {
            crate::cache::timing_is_local(&p.0.timing_source)
                && crate::cache::timing_is_local(&p.1.timing_source)
        })
        .collect();
    let total = |f: fn(&CellRecord) -> Option<f64>, side: usize| -> f64 {
        timed
            .iter()
            .filter_map(|p| f(if side == 0 { p.0 } else { p.1 }))
            .sum()
    };
    let time_change = |f: fn(&CellRecord) -> Option<f64>| -> Option<f64> {
        let (b, n) = (total(f, 0), total(f, 1));
        (b > 0.0).then(|| pct(n, b))
    };
    // CPU time where every compared cell has it on both sides (a busy machine stretches wall
    // time, not CPU time); wall time otherwise (results from before the CPU columns).
    let all_have = |f: fn(&CellRecord) -> Option<f64>| {
        timed.iter().all(|p| f(p.0).is_some() && f(p.1).is_some())
    };
    let clocked = |cpu: fn(&CellRecord) -> Option<f64>, wall: fn(&CellRecord) -> Option<f64>| {
        if all_have(cpu) {
            (time_change(cpu), "CPU time")
        } else {
            (time_change(wall), "time")
        }
    };
    let (encode_time, encode_clock) = clocked(|r| r.encode_cpu_ms, |r| r.encode_ms);
    let (decode_time, decode_clock) = clocked(|r| r.decode_cpu_ms, |r| r.decode_ms);
    for (what, t, clock) in [
        ("encode", encode_time, encode_clock),
        ("decode", decode_time, decode_clock),
    ] {
        let Some(t) = t else { continue };
        if t.abs() <= th.noise || th.time_refused.is_some() {
            continue;
        }
        match th.max_slowdown {
            Some(max) if t > max => {
                regressed = true;
                reasons.push(format!(
                    "{what} {clock} {t:+.1}% > {max}% (noise band {}%)",
                    th.noise
                ));
            }
            Some(_) if t < 0.0 => improved.push(format!("{what} {clock} {t:+.1}%")),
            _ => {}
        }
    }

    let verdict = if regressed {
        Verdict::Regressed
    } else if !improved.is_empty() {
        reasons = improved;
        Verdict::Improved
    } else {
        Verdict::Unchanged
    };
    CurveComparison {
        curve: curve.to_string(),
        baseline_version: b0.codec_version.clone(),
        new_version: n0.codec_version.clone(),
        cells: pairs.len(),
        bd_rate,
        bd_warnings,
        bytes,
        quality,
        encode_time,
        decode_time,
        verdict,
        reasons,
    }
}

fn opt(v: Option<f64>, d: usize, unit: &str) -> String {
    v.map_or("-".into(), |x| format!("{x:+.d$}{unit}"))
}

/// Rows of the comparison table: one per configuration.
fn rows(c: &Comparison) -> Vec<[String; 8]> {
    c.curves
        .iter()
        .map(|x| {
            let q = x
                .quality
                .iter()
                .map(|(k, ch)| format!("{k} {:+.3}/{:+.3}", ch.median, ch.worst))
                .collect::<Vec<_>>()
                .join(" ");
            [
                x.curve.clone(),
                x.cells.to_string(),
                opt(x.bd_rate, 2, "%"),
                x.bytes.as_ref().map_or("-".into(), |b| {
                    format!("{:+.2}%/{:+.2}%", b.median, b.worst)
                }),
                if q.is_empty() { "-".into() } else { q },
                format!(
                    "{} / {}",
                    opt(x.encode_time, 1, "%"),
                    opt(x.decode_time, 1, "%")
                ),
                x.verdict.as_str().to_string(),
                x.reasons.join("; "),
            ]
        })
        .collect()
}

const HEAD: [&str; 8] = [
    "codec configuration",
    "cells",
    "BD-rate",
    "size median/worst",
    "quality median/worst",
    "enc/dec time",
    "verdict",
    "reason",
];

/// Plain-text table for a terminal.
pub fn text(c: &Comparison) -> String {
    let rows = rows(c);
    let mut widths: Vec<usize> = HEAD.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, v) in widths.iter_mut().zip(r.iter()).take(7) {
            *w = (*w).max(v.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        for (i, v) in cells.iter().enumerate() {
            if i < 7 {
                let _ = write!(out, "{v:<w$}  ", w = widths[i]);
            } else {
                out.push_str(v);
            }
        }
        out.push('\n');
    };
    line(HEAD.to_vec(), &mut out);
    for r in &rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    footer(c, &mut out);
    out
}

fn footer(c: &Comparison, out: &mut String) {
    for (what, list) in [
        ("only in BASELINE", &c.only_baseline),
        ("only in NEW", &c.only_new),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "\n{} cell(s) {what} (not compared):", list.len());
            for x in list.iter().take(20) {
                let _ = writeln!(out, "  {x}");
            }
            if list.len() > 20 {
                let _ = writeln!(out, "  ... and {} more", list.len() - 20);
            }
        }
    }
    let n = c
        .curves
        .iter()
        .filter(|x| x.verdict == Verdict::Regressed)
        .count();
    let _ = writeln!(
        out,
        "\n{}",
        if n == 0 {
            "verdict: no regression".to_string()
        } else {
            format!("verdict: {n} codec configuration(s) regressed")
        }
    );
}

/// `text` safe inside a Markdown table cell of a pull-request comment: HTML, links, images,
/// emphasis and `|` are escaped, so an image id cannot inject markup or external images.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '#' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            c => out.push(c),
        }
    }
    out
}

/// Markdown for a pull-request comment.
pub fn markdown(c: &Comparison) -> String {
    let mut out = String::from("## codecbench: NEW against BASELINE\n\n");
    let _ = writeln!(out, "| {} |", HEAD.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(HEAD.len()));
    for r in rows(c) {
        let curve = r[0].replace('`', "'").replace('|', "\\|");
        let mut r: Vec<String> = r.iter().map(|x| escape_markdown(x)).collect();
        // A code span: nothing inside is markup; GFM still splits on an unescaped `|`.
        r[0] = format!("`{curve}`");
        r[6] = match r[6].as_str() {
            "regressed" => "**regressed**".into(),
            v => v.into(),
        };
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push_str("\nSize and quality: median / worst cell (quality change = NEW - BASELINE). Times: total change; inside the noise band it is not judged.\n");
    let mut tail = String::new();
    footer(c, &mut tail);
    for line in tail.lines() {
        let _ = writeln!(out, "{}", escape_markdown(line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::metrics::TEST_MSE as MSE;

    /// A cell at `bpp` with PSNR `psnr` and the MSE (peak 255) that goes with it.
    fn cell(image: &str, setting: f64, bpp: f64, psnr: f64) -> CellRecord {
        CellRecord {
            image: image.into(),
            image_hash: image.into(),
            spec: format!("jpeg:q={setting}"),
            curve: "jpeg".into(),
            setting: Some(setting),
            status: crate::record::Status::Ok,
            bytes: Some((bpp * 1000.0) as u64),
            bpp: Some(bpp),
            psnr: Some(psnr),
            mse: Some(255.0 * 255.0 / 10f64.powf(psnr / 10.0)),
            ..Default::default()
        }
    }

    /// Four settings per image; `shift` dB added to NEW's quality at the same bits.
    fn runs(shift: f64) -> (Vec<CellRecord>, Vec<CellRecord>) {
        let (mut base, mut new) = (Vec::new(), Vec::new());
        for img in ["a", "b"] {
            for (i, q) in [30.0, 33.0, 36.0, 39.0].into_iter().enumerate() {
                let bpp = 0.25 * 2f64.powi(i as i32);
                base.push(cell(img, i as f64, bpp, q));
                new.push(cell(img, i as f64, bpp, q + shift));
            }
        }
        (base, new)
    }

    fn pairs<'a>(
        b: &'a [CellRecord],
        n: &'a [CellRecord],
    ) -> Vec<(&'a CellRecord, &'a CellRecord)> {
        b.iter().zip(n).collect()
    }

    #[test]
    fn bd_rate_sign_is_the_same_for_a_lower_is_better_metric() {
        let psnr = find("psnr").unwrap();
        for (shift, better) in [(1.0, true), (-1.0, false)] {
            let (b, n) = runs(shift);
            let p = pairs(&b, &n);
            let on_psnr = bd_rate_on(&p, psnr).0.unwrap();
            let on_mse = bd_rate_on(&p, &MSE).0.unwrap();
            // Higher PSNR at the same bits is lower MSE: fewer bits at equal quality either way.
            assert_eq!(on_psnr < 0.0, better, "psnr {shift}: {on_psnr}");
            assert_eq!(on_mse < 0.0, better, "mse {shift}: {on_mse}");
        }
    }

    #[test]
    fn quality_gate_judges_in_the_metric_direction() {
        let psnr = find("psnr").unwrap();
        // NEW worse by 1 dB: PSNR drops, MSE rises; both regress.
        let (b, n) = runs(-1.0);
        let p = pairs(&b, &n);
        let (c, reason) = quality_check(&p, psnr, Some(0.5)).unwrap();
        assert!(c.worst < 0.0 && reason.unwrap().starts_with("psnr -"));
        let (c, reason) = quality_check(&p, &MSE, Some(0.5)).unwrap();
        assert!(c.worst > 0.5, "worst cell is the largest rise: {}", c.worst);
        assert!(reason.unwrap().contains("allowed rise 0.5"));
        // NEW better by 1 dB: MSE falls; read as higher-is-better that would be a drop.
        let (b, n) = runs(1.0);
        let p = pairs(&b, &n);
        assert_eq!(quality_check(&p, psnr, Some(0.5)).unwrap().1, None);
        let (c, reason) = quality_check(&p, &MSE, Some(0.5)).unwrap();
        assert_eq!(reason, None, "an MSE fall is an improvement");
        assert!(c.worst < 0.0, "smallest fall is the worst cell");
        // The worst cell is the least improved one (the highest-quality setting of MSE).
        let all: Vec<f64> = p
            .iter()
            .map(|(b, n)| n.mse.unwrap() - b.mse.unwrap())
            .collect();
        assert_eq!(
            c.worst,
            all.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
    }

    #[test]
    fn higher_is_better_gate_is_unchanged() {
        // The rule before directions: worst = most negative change, regressed if -worst > max.
        let (b, mut n) = runs(0.0);
        n[3].psnr = Some(38.0);
        n[5].psnr = Some(33.5);
        let p = pairs(&b, &n);
        for m in crate::metrics::METRICS {
            // Butteraugli (a distance) is the only lower-is-better entry of the table.
            let lower = m.key.starts_with("butteraugli");
            assert_eq!(m.direction == Direction::LowerIsBetter, lower, "{}", m.key);
        }
        let psnr = find("psnr").unwrap();
        let (c, reason) = quality_check(&p, psnr, Some(0.5)).unwrap();
        assert_eq!((c.worst, c.worst_cell.as_str()), (-1.0, "a jpeg:q=3"));
        assert_eq!(
            reason.unwrap(),
            "psnr -1.000 on a jpeg:q=3 (allowed drop 0.5; higher is better)"
        );
        assert_eq!(quality_check(&p, psnr, Some(1.0)).unwrap().1, None);
        let th = Thresholds {
            max_quality_drop: vec![("psnr".into(), 0.5)],
            ..Thresholds::default()
        };
        let c = compare(&b, &n, &th);
        assert_eq!(c.curves[0].verdict, Verdict::Regressed);
        assert_eq!(c.curves[0].quality[0].0, "psnr");
    }
}

/// One curve and quality target judged on bytes at equal quality (targets.csv of both runs).
#[derive(Clone, Debug, PartialEq)]
pub struct TargetComparison {
    pub curve: String,
    pub metric: String,
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
}

/// The bytes-at-equal-quality check of `compare`.
#[derive(Clone, Debug, PartialEq)]
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

/// Reads targets.csv beside a results.csv (or in a run folder): `Ok(None)` when absent.
pub fn read_targets_beside(path: &std::path::Path) -> Result<Option<Vec<TargetRow>>, String> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(|d| d.to_path_buf()).unwrap_or_default()
    };
    let csv = dir.join("targets.csv");
    if !csv.is_file() {
        return Ok(None);
    }
    crate::export::read_csv(&csv)
        .map(Some)
        .map_err(|e| format!("{e}; fix or remove it to judge bytes at equal quality"))
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
        (b, n) => {
            let side = match (b.is_some(), n.is_some()) {
                (true, false) => "only BASELINE has targets.csv",
                (false, true) => "only NEW has targets.csv",
                _ => "neither run has targets.csv",
            };
            return TargetGate::NotPossible(format!(
                "bytes at equal quality NOT CHECKED: {side} (run both with the same --target)"
            ));
        }
    };
    let mut keys: Vec<(String, String, f64)> = Vec::new();
    for r in base {
        let k = (r.curve.clone(), r.metric.clone(), r.target);
        if find(&r.metric).is_some() && !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut out = Vec::new();
    for (curve, metric, target) in keys {
        let m = match find(&metric) {
            Some(m) => m,
            None => continue,
        };
        if !new
            .iter()
            .any(|r| r.curve == curve && r.metric == metric && r.target == target)
        {
            continue;
        }
        let cost = crate::analysis::equal_quality::searched_cost;
        let mut images: Vec<&str> = base
            .iter()
            .filter(|r| r.curve == curve && r.metric == metric && r.target == target)
            .map(|r| r.image.as_str())
            .collect();
        images.dedup();
        let mut c = TargetComparison {
            curve: curve.clone(),
            metric: metric.clone(),
            target,
            images: 0,
            base_bytes: 0.0,
            new_bytes: 0.0,
            change: None,
            lost: Vec::new(),
            verdict: Verdict::Unchanged,
            reasons: Vec::new(),
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
            Verdict::Improved
        } else {
            Verdict::Unchanged
        };
        out.push(c);
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
                    c.metric,
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
