//! The comparison for people: a terminal table and a Markdown pull-request comment, built from
//! one table model (rows and lists), both ending in the same headline as the exit code.

use std::fmt::Write;

use super::{target_text, Comparison, TargetGate, Verdict};

fn opt(v: Option<f64>, d: usize, unit: &str) -> String {
    v.map_or("-".into(), |x| format!("{x:+.d$}{unit}"))
}

const HEAD: [&str; 8] = [
    "pipeline",
    "spec BASELINE -> NEW",
    "cells",
    "BD-rate",
    "size median/worst",
    "quality median/worst",
    "enc/dec time",
    "verdict",
];

/// Rows of the comparison table: one per pipeline.
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
            let specs = if x.baseline_spec == x.new_spec {
                x.new_spec.clone()
            } else {
                format!("{} -> {}", x.baseline_spec, x.new_spec)
            };
            [
                x.curve.clone(),
                specs,
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
            ]
        })
        .collect()
}

/// The lists under the table: (title, items), empty lists left out.
fn lists(c: &Comparison) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let reasons: Vec<String> = c
        .findings()
        .iter()
        .filter(|(_, f)| f.verdict != Verdict::Unchanged)
        .map(|(who, f)| format!("{} {who}: {}", f.verdict.as_str(), f.text))
        .collect();
    out.push(("findings".to_string(), reasons));
    let cap = |v: &[String]| {
        let mut l: Vec<String> = v.iter().take(20).cloned().collect();
        if v.len() > 20 {
            l.push(format!("... and {} more", v.len() - 20));
        }
        l
    };
    out.push((
        format!(
            "{} BASELINE cell(s) missing from NEW{}",
            c.only_baseline.len(),
            if c.thresholds.allow_missing {
                " (allowed)"
            } else {
                " (a regression)"
            }
        ),
        cap(&c.only_baseline),
    ));
    out.push((
        format!("{} cell(s) only in NEW (not judged)", c.only_new.len()),
        cap(&c.only_new),
    ));
    let mut notes: Vec<String> = c.time.iter().cloned().collect();
    notes.extend(c.notes.iter().cloned());
    for x in &c.curves {
        for n in &x.notes {
            notes.push(format!("{}: {n}", x.curve));
        }
        for w in &x.bd_warnings {
            notes.push(format!("{}: BD-rate: {w}", x.curve));
        }
    }
    notes.dedup();
    out.push(("notes".to_string(), notes));
    out.retain(|(_, l)| !l.is_empty());
    out
}

/// Plain-text table for a terminal; the last line is the headline.
pub fn text(c: &Comparison) -> String {
    let rows = rows(c);
    let mut widths: Vec<usize> = HEAD.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, v) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(v.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let l: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v:<w$}", w = widths[i]))
            .collect();
        let _ = writeln!(out, "{}", l.join("  ").trim_end());
    };
    line(HEAD.to_vec(), &mut out);
    for r in &rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    for (title, items) in lists(c) {
        let _ = writeln!(out, "\n{title}:");
        for x in items {
            let _ = writeln!(out, "  {x}");
        }
    }
    if c.targets != TargetGate::Off {
        let _ = write!(out, "\n{}", target_text(&c.targets));
    }
    let _ = writeln!(out, "\n{}", c.headline);
    out
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

/// A code span for a spec or pipeline name: nothing inside is markup; GFM still splits a table
/// on an unescaped `|`.
fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'").replace('|', "\\|"))
}

/// Markdown for a pull-request comment: the headline first, the table, then every list as a
/// Markdown list.
pub fn markdown(c: &Comparison) -> String {
    let mut out = String::from("## codecbench: NEW against BASELINE\n\n");
    let _ = writeln!(out, "**{}**\n", escape_markdown(&c.headline));
    let _ = writeln!(out, "| {} |", HEAD.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(HEAD.len()));
    for r in rows(c) {
        let mut cells: Vec<String> = r.iter().map(|x| escape_markdown(x)).collect();
        cells[0] = code(&r[0]);
        cells[1] = code(&r[1]);
        if r[7] == "regressed" {
            cells[7] = "**regressed**".into();
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push_str("\nSize and quality: median / worst matched cell (quality change = NEW - BASELINE). Times: median change per cell of NEW against BASELINE, both re-measured interleaved in one process (`--retime`); CPU time where measured, wall time in the findings.\n");
    for (title, items) in lists(c) {
        let _ = writeln!(out, "\n### {}\n", escape_markdown(&title));
        for x in items {
            let _ = writeln!(out, "- {}", escape_markdown(&x));
        }
    }
    if c.targets != TargetGate::Off {
        let _ = writeln!(out, "\n### Bytes at equal quality (targets.csv)\n");
        for l in target_text(&c.targets).lines() {
            let l = l.trim();
            if !l.is_empty() && !l.ends_with(':') {
                let _ = writeln!(out, "- {}", escape_markdown(l));
            }
        }
    }
    out
}
