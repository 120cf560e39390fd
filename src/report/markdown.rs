//! summary.md: what a pull-request comment needs, in at most [`MAX_LINES`] lines: the run's
//! counts (measured in this run against taken from the cache), the answer card, and one table
//! (each configuration's single setting at every quality level of the answer; without an
//! answer, one line per configuration). Everything else is in report.html, which the last
//! line names.

use std::fmt::Write;

use crate::analysis::answer::{size, ConfigAnswer, Recommendation};
use crate::analysis::series::images;
use crate::analysis::summary::SummaryRow;
use crate::record::CellRecord;
use crate::run_meta::RunMeta;

use super::Report;

/// summary.md never grows past this many lines (a PR comment is read, not scrolled).
pub const MAX_LINES: usize = 60;

/// Table rows kept when a run has more configurations than fit; the rest are counted.
const MAX_ROWS: usize = 30;

/// Answer notes kept (the report has them all).
const MAX_NOTES: usize = 3;

fn range(v: impl Iterator<Item = f64>, d: usize) -> String {
    let v: Vec<f64> = v.collect();
    let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return if v.iter().any(|x| x.is_infinite()) {
            "inf".into()
        } else {
            "-".into()
        };
    }
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if (hi - lo).abs() < 1e-12 {
        format!("{lo:.d$}")
    } else {
        format!("{lo:.d$} – {hi:.d$}")
    }
}

/// The Markdown text.
pub fn render(r: &Report, summary: &[SummaryRow]) -> String {
    let mut out = String::from("# codecbench summary\n\n");
    let _ = writeln!(
        out,
        "{}\n",
        counts_line(r.opts.meta.as_ref(), r.records, images(r.records).len())
    );
    let answered = match &r.answer {
        Some(a) if a.targets.iter().any(|t| !t.configs.is_empty()) => {
            answer(a, &mut out);
            true
        }
        _ => false,
    };
    if !answered {
        if let Some(a) = &r.answer {
            notes(a, &mut out);
        }
        configurations(r, summary, &mut out);
    }
    out.push_str(
        "\nMore in `report.html` beside this file: the visual comparison at equal quality, \
         rate-distortion plots (`plots/`), BD-rate per metric and image (`bd.csv`), lossless \
         sizes, per-image tables and the run's facts. Every cell: `results.csv`.\n",
    );
    debug_assert!(out.lines().count() <= MAX_LINES, "{out}");
    out
}

/// "11 images; 1094 cells: 558 measured in this run, 536 taken from the cache, 0 failed
/// (558 of them target-search probes)." From run.json's counts when there is one (they cover
/// the probes, which `records` leaves out), else from the rows.
pub fn counts_line(meta: Option<&RunMeta>, records: &[CellRecord], images: usize) -> String {
    let swept = records.len();
    let (done, cached, failed) = match meta {
        Some(m) if m.cells_done > 0 => (m.cells_done, m.cells_cached, m.cells_failed),
        _ => (
            swept,
            records.iter().filter(|r| r.cached).count(),
            records.iter().filter(|r| !r.is_ok()).count(),
        ),
    };
    let measured = done.saturating_sub(cached);
    let mut line = format!(
        "{images} images; {done} cells: {measured} measured in this run, {cached} taken from \
         the cache, {failed} failed"
    );
    if done > swept && meta.is_some() {
        let _ = write!(line, " ({} of them target-search probes)", done - swept);
    }
    if let Some(m) = meta {
        if m.cells_planned > m.cells_done {
            let _ = write!(
                line,
                "; {} of {} planned cells done (interrupted)",
                m.cells_done, m.cells_planned
            );
        }
        if let Some([k, n]) = m.shard {
            let _ = write!(line, "; shard {k} of {n}");
        }
        // To the second: "2026-12-07T20:57:21".
        let started = m.started.split('.').next().unwrap_or(&m.started);
        let _ = write!(
            line,
            ". codecbench {}, started {started} UTC, {} jobs on {}",
            m.tool_version, m.jobs, m.cpu_model
        );
    }
    line.push('.');
    line
}

fn notes(a: &Recommendation, out: &mut String) {
    for n in a.notes.iter().take(MAX_NOTES) {
        let _ = writeln!(out, "- {n}");
    }
    if a.notes.len() > MAX_NOTES {
        let _ = writeln!(
            out,
            "- ... {} more note(s) in report.html",
            a.notes.len() - MAX_NOTES
        );
    }
    if !a.notes.is_empty() {
        out.push('\n');
    }
}

/// The answer card (each target's lines as the console prints them) and one table: a row per
/// configuration, a column per quality level, each cell its single setting for all images.
pub fn answer(a: &Recommendation, out: &mut String) {
    out.push_str("## Answer\n\n");
    for t in &a.targets {
        let mut lines = t.card.iter();
        if let Some(first) = lines.next() {
            let _ = writeln!(out, "- **{first}**");
        }
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    }
    out.push('\n');
    notes(a, out);
    let _ = writeln!(
        out,
        "One setting for all {} images (meeting the level on {}% of them), total bytes and change \
         against the anchor with its 95% interval over images; **bold**: recommended. Preset \
         `{}`; full specs and per-image settings: `recommendation.json`.\n",
        a.images, a.coverage_pct, a.preset
    );
    let Some(first) = a.targets.first() else {
        return;
    };
    let mut head = String::from("| configuration |");
    let mut rule = String::from("|---|");
    for t in &a.targets {
        let _ = write!(head, " {} {} |", t.metric_name, t.target);
        rule.push_str("---|");
    }
    let _ = writeln!(out, "{head} delivery |\n{rule}---|");
    for c in first.configs.iter().take(MAX_ROWS) {
        let mut row = format!("| {} |", label(c, &first.configs));
        for t in &a.targets {
            let cell = t
                .configs
                .iter()
                .find(|x| x.curve == c.curve)
                .map_or("-".into(), cell);
            let _ = write!(row, " {cell} |");
        }
        let _ = writeln!(out, "{row} {} |", c.delivery.label);
    }
    if first.configs.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n{} more configuration(s) in report.html.",
            first.configs.len() - MAX_ROWS
        );
    }
}

/// A configuration by its codec and only the options that tell it from another configuration
/// of the same codec: "`jpeg` subsampling=444", "`avif`" (the full curve is in
/// recommendation.json and report.html; here it would fill the table).
fn label(c: &ConfigAnswer, all: &[ConfigAnswer]) -> String {
    let differ = crate::analysis::answer::distinguishing_options(c, all);
    if differ.is_empty() {
        format!("`{}`", c.codec)
    } else {
        format!("`{}` {}", c.codec, differ.join(","))
    }
}

/// One table cell: "`q=80` 189.0 KiB, -32% [-44..-16]"; "no single setting".
fn cell(c: &ConfigAnswer) -> String {
    let Some(s) = c.setting.filter(|_| !c.spec.is_empty()) else {
        return "no single setting".into();
    };
    let mut text = format!("`{}={s}` {}", c.setting_key, size(c.total_bytes));
    if c.images_met < c.images {
        let _ = write!(text, " ({} of {})", c.images_met, c.images);
    }
    if c.anchor {
        text.push_str(", anchor");
    } else {
        match (c.vs_anchor_pct, c.ci95_pct) {
            (Some(p), Some([lo, hi])) => {
                let _ = write!(text, ", {p:+.0}% [{lo:+.0}..{hi:+.0}]");
            }
            (Some(p), None) => {
                let _ = write!(text, ", {p:+.0}%");
            }
            _ => {}
        }
    }
    if c.recommended {
        format!("**{text}**")
    } else {
        text
    }
}

/// Without an answer (no lossy configuration, or a preset without quality levels): one line
/// per configuration.
fn configurations(r: &Report, summary: &[SummaryRow], out: &mut String) {
    out.push_str("| codec configuration | settings | bpp (of totals) | PSNR dB (pooled) | encode s | decode s | failed |\n");
    out.push_str("|---|---|---|---|---:|---:|---:|\n");
    for c in r.curves.iter().take(MAX_ROWS) {
        let rows: Vec<&SummaryRow> = summary.iter().filter(|s| s.curve == c.name).collect();
        let settings: Vec<String> = rows
            .iter()
            .filter_map(|s| s.setting.map(|v| format!("{}={v}", s.setting_key)))
            .collect();
        let settings = match settings.len() {
            0 => "-".to_string(),
            1 => settings[0].clone(),
            n => format!("{} … {} ({n})", settings[0], settings[n - 1]),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {:.2} | {:.2} | {} |",
            c.name,
            settings,
            range(rows.iter().filter_map(|s| s.bpp_of_totals), 3),
            range(rows.iter().filter_map(|s| s.psnr_of_pooled_mse), 2),
            rows.iter().map(|s| s.encode_ms_total).sum::<f64>() / 1e3,
            rows.iter().map(|s| s.decode_ms_total).sum::<f64>() / 1e3,
            rows.iter().map(|s| s.errors).sum::<usize>()
        );
    }
    if r.curves.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n{} more configuration(s) in report.html.",
            r.curves.len() - MAX_ROWS
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::answer::TargetAnswer;

    fn config(curve: &str, setting: Option<f64>, anchor: bool, recommended: bool) -> ConfigAnswer {
        ConfigAnswer {
            curve: curve.into(),
            codec: curve.split(':').next().unwrap().into(),
            setting_key: "q".into(),
            setting,
            spec: setting.map_or(String::new(), |s| format!("{curve},q={s}")),
            total_bytes: 193_536,
            images_met: if setting.is_some() { 6 } else { 2 },
            images: 6,
            vs_anchor_pct: (!anchor).then_some(-32.4),
            ci95_pct: (!anchor).then_some([-44.0, -16.0]),
            anchor,
            recommended,
            ..Default::default()
        }
    }

    fn recommendation(configs: usize) -> Recommendation {
        let targets = [70.0, 80.0, 90.0]
            .iter()
            .map(|&t| TargetAnswer {
                metric: crate::metrics::find("ssimulacra2").unwrap(),
                metric_name: "SSIMULACRA2".into(),
                target: t,
                card: vec![
                    format!("Use AVIF q=80 (meets SSIMULACRA2 {t} on 6 of 6 images): ..."),
                    "  Serves in all major browsers.".into(),
                ],
                configs: (0..configs)
                    .map(|i| {
                        config(
                            &format!("jpeg:opt={i}"),
                            (t < 90.0).then_some(80.0),
                            i == 0,
                            i == 1,
                        )
                    })
                    .collect(),
                coverage_pct: 100.0,
                anchor: String::new(),
                recommended: String::new(),
                cheapest_any: String::new(),
                fallback: String::new(),
            })
            .collect();
        Recommendation {
            tool_version: String::new(),
            preset: "web".into(),
            metric: crate::metrics::find("ssimulacra2").unwrap(),
            images: 6,
            coverage_pct: 100.0,
            bootstrap_samples: 0,
            bootstrap_seed: 0,
            band: [0.0, 0.0],
            targets,
            band_bd: Vec::new(),
            notes: (0..5).map(|i| format!("note {i}")).collect(),
        }
    }

    /// The card, one table with a column per level, bold for the recommended cell, and
    /// within the line budget even with many configurations and notes.
    #[test]
    fn answer_is_the_card_and_one_table_within_the_line_budget() {
        for n in [3, 12, 80] {
            let mut out = String::new();
            answer(&recommendation(n), &mut out);
            let lines = out.lines().count();
            // The title, counts line and the closing paragraph add 6 lines.
            assert!(
                lines + 6 <= MAX_LINES,
                "{n} configurations: {lines} lines\n{out}"
            );
            assert_eq!(out.matches("| configuration |").count(), 1, "{out}");
            assert!(out.contains(
                "| configuration | SSIMULACRA2 70 | SSIMULACRA2 80 | SSIMULACRA2 90 | delivery |"
            ));
            // Each configuration by its codec and the options that tell it from its twins.
            assert!(
                out.contains("| `jpeg` opt=0 | `q=80` 189.0 KiB, anchor |"),
                "{out}"
            );
            assert!(
                out.contains("**`q=80` 189.0 KiB, -32% [-44..-16]**"),
                "recommended in bold: {out}"
            );
            assert!(out.contains("| no single setting |"), "{out}");
            assert!(
                out.contains("- **Use AVIF q=80 (meets SSIMULACRA2 70"),
                "{out}"
            );
            assert!(out.contains("- ... 2 more note(s) in report.html"), "{out}");
            if n > MAX_ROWS {
                assert!(out.contains(&format!("{} more configuration(s)", n - MAX_ROWS)));
            }
        }
    }

    /// The counts say how many cells this run measured and how many came from the cache
    /// (summary.md said "536 cells" where the console said 1094, 536 of them cached).
    #[test]
    fn counts_say_measured_and_cached() {
        let rows: Vec<CellRecord> = (0..536)
            .map(|i| CellRecord {
                cached: i % 2 == 0,
                ..Default::default()
            })
            .collect();
        let meta = RunMeta {
            cells_total: 1094,
            cells_planned: 1094,
            cells_done: 1094,
            cells_cached: 536,
            tool_version: "0.1.0".into(),
            started: "2026-12-07T21:00:00.123456+00:00".into(),
            jobs: 2,
            cpu_model: "cpu".into(),
            ..Default::default()
        };
        let line = counts_line(Some(&meta), &rows, 11);
        assert!(
            line == ("11 images; 1094 cells: 558 measured in this run, 536 taken from the cache, \
                 0 failed (558 of them target-search probes). codecbench 0.1.0, started \
                 2026-12-07T21:00:00 UTC, 2 jobs on cpu."),
            "{line}"
        );
        // Without run.json: from the rows' `cached` and `status` columns.
        let line = counts_line(None, &rows, 11);
        assert_eq!(
            line,
            "11 images; 536 cells: 268 measured in this run, 268 taken from the cache, 0 failed."
        );
        // An interrupted run says so.
        let meta = RunMeta {
            cells_done: 10,
            cells_planned: 40,
            ..meta
        };
        let line = counts_line(Some(&meta), &rows[..10], 1);
        assert!(
            line.contains("10 of 40 planned cells done (interrupted)"),
            "{line}"
        );
    }
}
