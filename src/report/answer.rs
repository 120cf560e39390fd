//! The answer card at the top of report.html and summary.md, and `recommendation.json` (the
//! same answer for machines): one setting per format, where it serves, with its uncertainty.
//! The numbers come from [`crate::analysis::answer`]; this module picks the preset and the
//! anchor and renders them.

use std::fmt::Write;
use std::path::Path;

use crate::analysis::answer::{answer, named, size, Ask, Recommendation};
use crate::config::{Preset, PRESETS};
use crate::record::CellRecord;

use super::markup::esc;
use super::Report;

/// File name of the answer in a run folder.
pub const RECOMMENDATION_JSON: &str = "recommendation.json";

/// The preset of a report: the one asked for, else the `--preset` of the run's command line
/// (run.json), else the web preset.
pub fn preset_of(r: &Report) -> &'static Preset {
    if let Some(p) = r.opts.preset {
        return p;
    }
    let from_command = r.opts.meta.as_ref().and_then(|m| {
        let pos = m.command.iter().position(|a| a == "--preset")?;
        crate::config::preset(m.command.get(pos + 1)?).ok()
    });
    from_command.unwrap_or(&PRESETS[0])
}

/// The answer of a report's rows (`all`: probes included).
pub fn make(all: &[CellRecord], r: &Report) -> Recommendation {
    let p = preset_of(r);
    let lossy: Vec<&super::Curve> = r.curves.iter().filter(|c| !c.lossless).collect();
    let anchor = lossy.get(r.anchor).map_or("", |c| c.name.as_str());
    let metric = crate::metrics::find(p.metric).expect("presets name known metrics");
    answer(
        all,
        &Ask {
            preset: p.name.into(),
            metric,
            levels: if lossy.is_empty() {
                Vec::new()
            } else {
                p.levels.to_vec()
            },
            coverage: r.opts.coverage,
            anchor,
            web: p.web,
            band: p.band,
        },
    )
}

/// Reads a run folder's recommendation.json (for the console card and `--write-chosen`).
pub fn read(dir: &Path) -> Result<Recommendation, ReadError> {
    let path = dir.join(RECOMMENDATION_JSON);
    let text = std::fs::read_to_string(&path).map_err(|source| ReadError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ReadError::Parse { path, source })
}

/// Why a run folder's recommendation.json could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: cannot read ({source})", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Parse {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
}

/// The table of one target: configuration, uniform setting, bytes, images met, against the
/// anchor, delivery, per-image tuning. Rows shared by Markdown and HTML.
fn table(t: &crate::analysis::answer::TargetAnswer) -> Vec<[String; 7]> {
    t.configs
        .iter()
        .map(|c| {
            let mark = if c.recommended {
                " (use)"
            } else if c.anchor {
                " (anchor)"
            } else {
                ""
            };
            [
                format!("{}{mark}", c.curve),
                if c.spec.is_empty() {
                    "none".into()
                } else {
                    c.spec.clone()
                },
                if c.spec.is_empty() {
                    "-".into()
                } else {
                    size(c.total_bytes)
                },
                format!("{} of {}", c.images_met, c.images),
                match (c.anchor, c.vs_anchor_pct, c.ci95_pct) {
                    (true, ..) => "anchor".into(),
                    (_, Some(p), Some([lo, hi])) => {
                        format!("{p:+.1}% [{lo:+.0}..{hi:+.0}] {}", c.verdict)
                    }
                    (_, Some(p), None) => format!("{p:+.1}%"),
                    _ => "-".into(),
                },
                c.delivery.label.clone(),
                match (c.per_image_total_bytes, c.per_image_vs_uniform_pct) {
                    (Some(b), Some(p)) => format!("{} ({p:+.0}%)", size(b)),
                    (Some(b), None) => size(b),
                    _ => "-".into(),
                },
            ]
        })
        .collect()
}

const HEAD: [&str; 7] = [
    "configuration",
    "one setting for all images",
    "total",
    "meets on",
    "vs anchor [95% CI]",
    "delivery",
    "tuned per image",
];

/// Markdown: the card and the tables, first in summary.md.
#[allow(dead_code)] // summary.md shows the answer card and one table since issue 24 (markdown.rs)
pub fn markdown(r: &Report, out: &mut String) {
    let Some(a) = &r.answer else { return };
    if a.targets.is_empty() && a.notes.is_empty() {
        return;
    }
    out.push_str("## Answer\n\n");
    for t in &a.targets {
        for (i, l) in t.card.iter().enumerate() {
            let _ = writeln!(out, "{}{l}", if i == 0 { "- **" } else { "  " });
            if i == 0 {
                out.pop();
                out.push_str("**\n");
            }
        }
    }
    for n in &a.notes {
        let _ = writeln!(out, "- {n}");
    }
    let _ = writeln!(
        out,
        "\nPreset `{}`; one setting must meet the target on {}% of the {} images; intervals: \
         95% bootstrap over images ({} resamples, seeded). Machine-readable: \
         `recommendation.json`.\n",
        a.preset, a.coverage_pct, a.images, a.bootstrap_samples
    );
    for t in &a.targets {
        let _ = writeln!(out, "### {} {}\n", t.metric_name, t.target);
        let _ = writeln!(out, "| {} |", HEAD.join(" | "));
        let _ = writeln!(out, "|---|---|---:|---:|---:|---|---:|");
        for row in table(t) {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out.push('\n');
    }
    band_markdown(a, out);
}

fn band_markdown(a: &Recommendation, out: &mut String) {
    if a.band_bd.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### BD-rate against the anchor over {} {}-{} (what these images ship at)\n\n\
         | configuration | band BD-rate [95% CI] | full range | images | why they differ |\n\
         |---|---:|---:|---:|---|",
        a.metric.key, a.band[0], a.band[1]
    );
    for b in &a.band_bd {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            b.curve,
            match (b.band_pct, b.band_ci95_pct) {
                (Some(p), Some([lo, hi])) => format!("{p:+.1}% [{lo:+.0}..{hi:+.0}]"),
                (Some(p), None) => format!("{p:+.1}%"),
                _ => "-".into(),
            },
            b.full_pct.map_or("-".into(), |p| format!("{p:+.1}%")),
            b.images,
            b.why
        );
    }
    out.push('\n');
}

/// HTML: the card section at the top of report.html.
pub fn html(r: &Report, out: &mut String) {
    let Some(a) = &r.answer else { return };
    if a.targets.is_empty() && a.notes.is_empty() {
        return;
    }
    out.push_str("<section id=\"answer\" class=\"answer\"><h2>Answer</h2><ul class=\"card\">");
    for t in &a.targets {
        let mut lines = t.card.iter();
        if let Some(first) = lines.next() {
            let _ = write!(out, "<li><b>{}</b>", esc(first));
            for l in lines {
                let _ = write!(out, "<br>{}", esc(l));
            }
            out.push_str("</li>");
        }
    }
    for n in &a.notes {
        let _ = write!(out, "<li>{}</li>", esc(n));
    }
    let _ = write!(
        out,
        "</ul><p>Preset <code>{}</code>; one setting must meet the target on {}% of the {} \
         images; intervals: 95% bootstrap over images ({} resamples, seeded). \
         Machine-readable: <code>recommendation.json</code>.</p>",
        esc(&a.preset),
        a.coverage_pct,
        a.images,
        a.bootstrap_samples
    );
    for t in &a.targets {
        let _ = write!(
            out,
            "<details><summary>{} {}: every configuration</summary><table class=\"data\"><thead><tr>",
            esc(&t.metric_name),
            t.target
        );
        for h in HEAD {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr></thead><tbody>");
        for row in table(t) {
            out.push_str("<tr>");
            for c in row {
                let _ = write!(out, "<td>{}</td>", esc(&c));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></details>");
    }
    if !a.band_bd.is_empty() {
        let _ = write!(
            out,
            "<details><summary>BD-rate against the anchor over {} {}-{}, beside the full \
             range</summary><table class=\"data\"><thead><tr><th>configuration</th>\
             <th>band BD-rate [95% CI]</th><th>full range</th><th>images</th><th>why they \
             differ</th></tr></thead><tbody>",
            esc(a.metric.key),
            a.band[0],
            a.band[1]
        );
        for b in &a.band_bd {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&b.curve),
                match (b.band_pct, b.band_ci95_pct) {
                    (Some(p), Some([lo, hi])) => format!("{p:+.1}% [{lo:+.0}..{hi:+.0}]"),
                    (Some(p), None) => format!("{p:+.1}%"),
                    _ => "-".into(),
                },
                b.full_pct.map_or("-".into(), |p| format!("{p:+.1}%")),
                b.images,
                esc(&b.why)
            );
        }
        out.push_str("</tbody></table></details>");
    }
    out.push_str("</section>\n");
}

/// The card for the console: one line per target (second line indented).
pub fn console(a: &Recommendation) -> String {
    let mut out = String::from("Answer:\n");
    out.push_str(&crate::analysis::answer::card_text(a));
    let _ = named;
    out
}
