//! report.html: one self-contained file (inline SVG, CSS, crops as data URIs, the
//! JavaScript of the two interactive views; no network, no CDN), laid out by the
//! `report.html.j2` template: the answer, the visual comparison, the rate-distortion view,
//! then the details collapsed.

use std::fmt::Write;

use super::Report;
use crate::analysis::series::{images, metrics_present};
use crate::analysis::summary::SummaryRow;
use crate::metrics::MetricDef;

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");
const VIEWER_JS: &str = include_str!("viewer.js");
const RD_JS: &str = include_str!("rd.js");
const TEMPLATE: &str = include_str!("report.html.j2");

pub use super::markup::{esc, num, swatch};

fn color_of(r: &Report, curve: &str) -> usize {
    r.curves
        .iter()
        .find(|c| c.name == curve)
        .map_or(0, |c| c.color)
}

/// Adds a viewBox so the inline SVG scales down with the page.
fn scalable(svg: &str) -> String {
    let grab = |attr: &str| -> Option<String> {
        let start = svg.find(&format!("{attr}=\""))? + attr.len() + 2;
        let end = svg[start..].find('"')? + start;
        Some(svg[start..end].to_string())
    };
    match (grab("width"), grab("height")) {
        (Some(w), Some(h)) if !svg.contains("viewBox") => {
            svg.replacen("<svg ", &format!("<svg viewBox=\"0 0 {w} {h}\" "), 1)
        }
        _ => svg.to_string(),
    }
}

fn meta_section(r: &Report, out: &mut String) {
    out.push_str("<section id=\"run\"><h2>Run</h2><table class=\"kv\">");
    let mut kv = |k: &str, v: String| {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), v);
    };
    let images = images(r.records);
    let failed = r.records.iter().filter(|x| !x.is_ok()).count();
    kv(
        "cells",
        format!(
            "{} ({} failed) over {} images",
            r.records.len(),
            failed,
            images.len()
        ),
    );
    if let Some(m) = &r.opts.meta {
        kv("tool", format!("codecbench {}", esc(&m.tool_version)));
        kv(
            "started / finished",
            format!("{} / {}", esc(&m.started), esc(&m.finished)),
        );
        kv(
            "machine",
            format!(
                "{} ({} cores), {}",
                esc(&m.cpu_model),
                m.cpu_count,
                esc(&m.os)
            ),
        );
        kv("jobs / repeat", format!("{} / {}", m.jobs, m.repeat));
        let t = &m.timing;
        kv(
            "time",
            format!(
                "wall {:.1} s; codec+metric {:.1} s; parallel efficiency {:.3}",
                t.wall_s, t.measured_s, t.efficiency
            ),
        );
        if m.interrupted {
            kv(
                "interrupted",
                "yes: this run holds only the cells finished before Ctrl-C".into(),
            );
        }
        if !m.merged_from.is_empty() {
            let from: Vec<String> = m
                .merged_from
                .iter()
                .map(|d| format!("<code>{}</code>", esc(&d.display().to_string())))
                .collect();
            kv("merged from", from.join(", "));
        }
        let cmd: Vec<String> = m.command.iter().map(|x| esc(x)).collect();
        kv("command", format!("<code>{}</code>", cmd.join(" ")));
    }
    let mut versions: Vec<(String, String, String)> = Vec::new();
    for rec in r.records {
        let v = (
            rec.codec.clone(),
            rec.codec_version.clone(),
            rec.decoder.clone(),
        );
        if !versions.contains(&v) {
            versions.push(v);
        }
    }
    let list: Vec<String> = versions
        .iter()
        .map(|(c, v, d)| format!("<b>{}</b> {} (decoder: {})", esc(c), esc(v), esc(d)))
        .collect();
    kv("codecs", list.join("<br>"));
    out.push_str("</table></section>\n");
}

/// Mean columns of the summary for the perceptual metrics present in the run (PSNR has its
/// own mean and pooled columns).
fn extra_means(r: &Report) -> Vec<&'static MetricDef> {
    metrics_present(r.records)
        .into_iter()
        .filter(|m| !m.is_core())
        .collect()
}

fn summary_section(r: &Report, summary: &[SummaryRow], out: &mut String) {
    let extra = extra_means(r);
    out.push_str(
        "<section id=\"summary\"><h2>Summary per codec and setting</h2>\
         <p>Over the corpus. <i>bpp of totals</i> = 8 &times; total bytes / total pixels; \
         <i>mean PSNR</i> = mean of per-image PSNR; <i>pooled PSNR</i> = PSNR of the pooled \
         MSE (each image's MSE / peak&sup2;, weighted by samples). Click a header to sort.</p>\
         <table class=\"data sortable\"><thead><tr><th>codec configuration</th><th>setting</th>\
         <th>images</th><th>errors</th><th>total bytes</th><th>bpp of totals</th><th>mean bpp</th>\
         <th>mean PSNR (dB)</th><th>pooled PSNR (dB)</th>",
    );
    for m in &extra {
        let _ = write!(out, "<th>mean {}</th>", esc(&m.header()));
    }
    out.push_str("<th>mean ratio</th><th>encode ms</th><th>decode ms</th></tr></thead><tbody>");
    for s in summary {
        let setting = match s.setting {
            Some(v) => format!("{}={v}", s.setting_key),
            None => "-".into(),
        };
        let _ = write!(
            out,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td>",
            swatch(color_of(r, &s.curve)),
            esc(&s.curve),
            esc(&setting),
            s.images,
            if s.errors > 0 { " class=\"bad\"" } else { "" },
            s.errors,
            s.total_bytes,
            num(s.bpp_of_totals, 4),
            num(s.mean_bpp, 4),
            num(s.mean_psnr, 2),
            num(s.psnr_of_pooled_mse, 2),
        );
        for m in &extra {
            let _ = write!(out, "<td>{}</td>", num((m.get_mean)(s), m.decimals));
        }
        let _ = write!(
            out,
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            num(s.mean_compression_ratio, 2),
            num(Some(s.encode_ms_total), 1),
            num(Some(s.decode_ms_total), 1),
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn bd_section(r: &Report, out: &mut String) {
    let method = match r.opts.interp {
        crate::analysis::bdrate::Interp::Pchip => "piecewise cubic monotone (PCHIP) interpolation",
        crate::analysis::bdrate::Interp::Cubic => "cubic polynomial fit (VCEG-M33)",
    };
    let _ = write!(
        out,
        "<section id=\"bdrate\"><h2>BD-rate</h2><p>Bj&oslash;ntegaard delta rate of each row's \
         codec against each column's, on bits per pixel, with {method}; computed per image and \
         aggregated as the geometric mean of the per-image rate ratios over the images where it \
         is defined (the count is in brackets). This headline is symmetric: row-vs-column and \
         column-vs-row give ratios whose product is 1. The median, the range and the arithmetic \
         mean (AWCY's figure, not symmetric) are beside it in the anchor table. Images whose two \
         codecs measured different channels (one dropped alpha) are left out of that pair and \
         named; images of different bit depths are never averaged together. Every value is in \
         <code>bd.csv</code>. Negative: the \
         row needs fewer bits for the same quality. BD-quality is the mean quality difference \
         (row minus anchor) at equal rate, in the metric's own units. Hover a cell with &#9888; \
         for its warnings. Lossless codecs have no rate-distortion curve and are left out.</p>"
    );
    for m in &r.bd {
        if m.curves.is_empty() {
            continue;
        }
        if m.rate.iter().flatten().all(|c| c.per_image.is_empty()) {
            continue;
        }
        let depth = crate::analysis::pairs::depth_label(m.bit_depth);
        let _ = write!(
            out,
            "<h3>BD-rate on {}, {depth} images</h3>",
            esc(&m.metric.axis_label())
        );
        matrix_table(r, m.metric, &m.curves, &m.rate, "%", out);
        let anchor = &m.curves[r.anchor.min(m.curves.len() - 1)];
        let better = m.metric.direction.better_sign();
        let _ = write!(
            out,
            "<h3>BD-{} against {}, {depth} images</h3><p>BD-quality in {} ({}): {better} means the row is better.</p>",
            esc(m.metric.key),
            esc(&anchor.name),
            esc(&m.metric.header()),
            m.metric.direction.describe()
        );
        out.push_str("<table class=\"data\"><thead><tr><th>codec configuration</th><th>BD-rate (geomean)</th><th>median</th><th>range</th><th>arithmetic mean</th><th>BD-quality</th><th>images</th><th>left out</th><th>warnings</th></tr></thead><tbody>");
        let a = r.anchor.min(m.curves.len() - 1);
        for (t, c) in m.curves.iter().enumerate() {
            if t == a {
                let _ = write!(
                    out,
                    "<tr><td>{}{}</td><td colspan=\"8\">anchor</td></tr>",
                    swatch(c.color),
                    esc(&c.name)
                );
                continue;
            }
            let (br, bq) = (&m.rate[t][a], &m.quality[t][a]);
            let mut warnings = br.warnings.clone();
            for w in &bq.warnings {
                if !warnings.contains(w) {
                    warnings.push(w.clone());
                }
            }
            let _ = write!(
                out,
                "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"warn\">{}</td></tr>",
                swatch(c.color),
                esc(&c.name),
                super::bd::pct(br.headline),
                super::bd::pct(br.median),
                super::bd::pct_range(br),
                super::bd::pct(br.mean),
                num(bq.headline, m.metric.decimals + 1),
                br.images_used,
                esc(&super::bd::excluded_note(br)),
                warning_list(&warnings)
            );
        }
        out.push_str("</tbody></table>");
        per_image_bd(m, a, out);
    }
    out.push_str("</section>\n");
}

/// Per-image BD-rate of every curve against the anchor (rows images, columns curves); a
/// left-out image says so, with the reason in its tooltip.
fn per_image_bd(m: &super::bd::BdMatrix, a: usize, out: &mut String) {
    let others: Vec<usize> = (0..m.curves.len()).filter(|&t| t != a).collect();
    let mut imgs: Vec<&str> = Vec::new();
    for &t in &others {
        let c = &m.rate[t][a];
        for i in c
            .per_image
            .iter()
            .map(|p| &p.0)
            .chain(c.excluded.iter().map(|p| &p.0))
        {
            if !imgs.contains(&i.as_str()) {
                imgs.push(i);
            }
        }
    }
    if imgs.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<details open><summary>Per image: BD-rate against {}</summary><table class=\"data\"><thead><tr><th>image</th>",
        esc(&m.curves[a].name)
    );
    for &t in &others {
        let _ = write!(
            out,
            "<th>{}{}</th>",
            swatch(m.curves[t].color),
            esc(&m.curves[t].name)
        );
    }
    out.push_str("</tr></thead><tbody>");
    for img in imgs {
        let _ = write!(out, "<tr><td>{}</td>", esc(img));
        for &t in &others {
            let c = &m.rate[t][a];
            match c.excluded.iter().find(|(i, _)| i == img) {
                Some((_, why)) => {
                    let _ = write!(
                        out,
                        "<td class=\"warn\" title=\"{}\">left out</td>",
                        esc(why)
                    );
                }
                None => {
                    let v = c.per_image.iter().find(|(i, _)| i == img).and_then(|p| p.1);
                    let _ = write!(out, "<td>{}</td>", super::bd::pct(v));
                }
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></details>");
}

/// Rows whose source had more bits than the codec was given, so a medical user sees which
/// numbers describe a depth-reduced image.
fn depth_reduced_section(r: &Report, out: &mut String) {
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for rec in r.records {
        if let Some(what) = crate::analysis::pairs::depth_reduction(rec) {
            let key = (rec.image.clone(), rec.curve.clone(), what);
            if !seen.contains(&key) {
                seen.push(key);
            }
        }
    }
    if seen.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"depth\"><h2>Depth-reduced rows</h2><p>These codec configurations were given \
         fewer bits per sample than the source has: their scores are against the full-depth \
         original, but the codec never saw the lower bits. Compare them only with other \
         configurations of the same image, never with 8-bit images.</p><table class=\"data\"><thead>\
         <tr><th>image</th><th>codec configuration</th><th>depth</th></tr></thead><tbody>",
    );
    for (img, curve, what) in seen {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"warn\">depth-reduced: {}</td></tr>",
            esc(&img),
            esc(&curve),
            esc(&what)
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// Warnings folded away behind their count.
fn warning_list(w: &[String]) -> String {
    if w.is_empty() {
        return String::new();
    }
    let items: String = w.iter().map(|x| format!("<li>{}</li>", esc(x))).collect();
    format!(
        "<details><summary>{} warning(s)</summary><ul>{items}</ul></details>",
        w.len()
    )
}

fn matrix_table(
    r: &Report,
    metric: &MetricDef,
    curves: &[super::Curve],
    cells: &[Vec<crate::analysis::bdrate::CorpusBd>],
    unit: &str,
    out: &mut String,
) {
    let _ = metric;
    out.push_str("<table class=\"data matrix\"><thead><tr><th>row vs column</th>");
    for (i, c) in curves.iter().enumerate() {
        let _ = write!(
            out,
            "<th{}>{}{}</th>",
            if i == r.anchor {
                " class=\"anchor\""
            } else {
                ""
            },
            swatch(c.color),
            esc(&c.name)
        );
    }
    out.push_str("</tr></thead><tbody>");
    for (t, c) in curves.iter().enumerate() {
        let _ = write!(out, "<tr><th>{}{}</th>", swatch(c.color), esc(&c.name));
        for (a, cell) in cells[t].iter().enumerate() {
            let class = if a == r.anchor {
                " class=\"anchor\""
            } else {
                ""
            };
            if t == a {
                let _ = write!(out, "<td{class}>-</td>");
                continue;
            }
            let warn = if cell.warnings.is_empty() {
                String::new()
            } else {
                " &#9888;".to_string()
            };
            let _ = write!(
                out,
                "<td{class} title=\"{}\">{}{} ({}){warn}</td>",
                esc(&cell.warnings.join("\n")),
                num(cell.headline, 2),
                if cell.headline.is_some() { unit } else { "" },
                cell.images_used
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn plots_section(r: &Report, out: &mut String) {
    out.push_str(
        "<section id=\"plots\"><h2>Plots</h2><p>Also in <code>plots/</code> as SVG and PNG. \
         Colours are the same in every plot and table. Plots of the preset's metric show its \
         quality band only; <code>plots/&lt;name&gt;-full.svg</code> (and .png) show every \
         point.</p>",
    );
    for p in &r.plots {
        // The SVG carries its own title: no caption repeats it.
        let _ = write!(
            out,
            "<figure id=\"plot-{}\" title=\"{}\">{}</figure>",
            esc(&p.id),
            esc(&p.title),
            scalable(&p.svg)
        );
    }
    out.push_str("</section>\n");
}

fn per_image_section(r: &Report, out: &mut String) {
    out.push_str("<section id=\"images\"><h2>Per image</h2>");
    let metrics = metrics_present(r.records);
    let heads: String = metrics
        .iter()
        .map(|m| format!("<th>{}</th>", esc(&m.axis_label())))
        .collect();
    for img in images(r.records) {
        let rows: Vec<_> = r.records.iter().filter(|x| x.image == img).collect();
        let first = rows[0];
        let _ = write!(
            out,
            "<details><summary><b>{}</b> {}&times;{}, {} channel(s), {}-bit, {} cells</summary>\
             <table class=\"data sortable\"><thead><tr><th>spec</th><th>status</th><th>bytes</th>\
             <th>bpp</th>{}<th>compared</th><th>encode ms</th><th>decode ms</th>\
             </tr></thead><tbody>",
            esc(&img),
            first.width,
            first.height,
            first.channels,
            first.bit_depth,
            rows.len(),
            heads
        );
        for x in rows {
            let status = if x.is_ok() {
                "ok".to_string()
            } else {
                format!(
                    "<span class=\"bad\" title=\"{}\">error</span>",
                    esc(&x.message)
                )
            };
            let scores: String = metrics
                .iter()
                .map(|m| format!("<td>{}</td>", num((m.get)(x), m.decimals)))
                .collect();
            let _ = write!(
                out,
                "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td><td>{}</td><td>{}</td></tr>",
                swatch(color_of(r, &x.curve)),
                esc(&x.spec),
                status,
                x.bytes.map_or("-".into(), |b| b.to_string()),
                num(x.bpp, 4),
                scores,
                esc(&x.channels_compared),
                num(x.encode_ms, 2),
                num(x.decode_ms, 2)
            );
        }
        out.push_str("</tbody></table></details>");
    }
    out.push_str("</section>\n");
}

/// One collapsed part of the details.
#[derive(serde::Serialize)]
struct Part {
    id: &'static str,
    /// Its link in the navigation bar.
    nav: &'static str,
    title: &'static str,
    html: String,
}

/// The page: the answer, the visual comparison, the rate-distortion view, then the details
/// collapsed, rendered with minijinja (auto-escaping `.html` templates) from
/// `report.html.j2`. The details' tables are still built as escaped markup strings.
pub fn render(r: &Report, summary: &[SummaryRow]) -> String {
    let mut answer = String::new();
    super::answer::html(r, &mut answer);
    let part = |(id, nav, title): (&'static str, &'static str, &'static str),
                f: &dyn Fn(&mut String)| {
        let mut html = String::new();
        f(&mut html);
        (!html.trim().is_empty()).then_some(Part {
            id,
            nav,
            title,
            html,
        })
    };
    let details: Vec<Part> = [
        part(
            (
                "d-recommendation",
                "Recommendation",
                "Recommendation per image",
            ),
            &|o| super::recommend::html(r, o),
        ),
        part(
            (
                "d-bdrate",
                "BD-rate",
                "BD-rate matrices and per-image tables",
            ),
            &|o| {
                bd_section(r, o);
                depth_reduced_section(r, o);
            },
        ),
        part(
            (
                "d-summary",
                "Summary",
                "Summary per configuration and setting",
            ),
            &|o| summary_section(r, summary, o),
        ),
        part(("d-images", "Cells", "Every cell, per image"), &|o| {
            per_image_section(r, o)
        }),
        part(
            ("d-plots", "Plots", "Static plots (SVG and PNG in plots/)"),
            &|o| plots_section(r, o),
        ),
        part(("d-lossless", "Lossless", "Lossless"), &|o| {
            super::lossless::html(r.records, o)
        }),
        part(
            ("d-run", "Run", "Run: machine, command, codec versions"),
            &|o| meta_section(r, o),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut nav: Vec<(&str, &str, bool)> = vec![
        ("answer", "Answer", false),
        ("visual", "Visual comparison", false),
        ("rd", "Rate-distortion", false),
        ("details", "Details:", false),
    ];
    nav.extend(details.iter().map(|d| (d.id, d.nav, true)));
    let mut crop_notes = r.crops.notes.clone();
    crop_notes.extend(
        r.crops
            .sets
            .iter()
            .filter(|s| s.cells.is_empty())
            .map(|s| format!("{}: no crops ({})", s.image, s.notes.join("; "))),
    );
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .expect("the embedded template parses (tested)");
    let js = [JS, VIEWER_JS, RD_JS].join("\n");
    let max_mb = r.opts.max_report_mb;
    let page = |bare: Option<usize>| {
        env.get_template("report.html").and_then(|t| {
            t.render(minijinja::context! {
                css => CSS,
                js => js,
                nav => nav,
                answer => answer,
                viewer => super::viewer::viewer(r, max_mb, bare),
                rd => super::viewer::rd(r),
                crop_notes => crop_notes,
                details => details,
            })
        })
    };
    // The page without crops, then with as many as fit under the size limit.
    page(None)
        .and_then(|bare| page(Some(bare.len())))
        .unwrap_or_else(|e| {
            format!(
                "<!DOCTYPE html><title>codecbench report</title><p>report template failed: {}</p>",
                esc(&e.to_string())
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_escapes_text_and_keeps_json_inside_its_script() {
        let mut env = minijinja::Environment::new();
        env.add_template("report.html", TEMPLATE).unwrap();
        let evil = "<img src=x onerror=alert(1)>.png";
        let viewer = serde_json::json!({
            "level": "SSIMULACRA2 80", "anchor": "jpeg", "default_curve": "jpeg",
            "files": [], "crops_url": "crops/", "max_mb": 20.0, "all_mb": 30.5, "all_mb_whole": 31,
            "images": [{"id": evil, "rect": [0, 0, 8, 8], "original": null, "notes": [], "cells": [],
                        "embedded": false, "rank": 0}],
            "linked": [evil],
        });
        let html = env
            .get_template("report.html")
            .unwrap()
            .render(minijinja::context! {
                css => "", js => "", answer => "", crop_notes => vec![evil],
                nav => vec![("answer", "Answer", false)],
                viewer => viewer, rd => serde_json::json!({}),
                details => vec![Part { id: "d-run", nav: "Run", title: "Run", html: "<table></table>".into() }],
            })
            .unwrap();
        assert!(!html.contains("<img src=x"), "text is escaped");
        assert!(html.contains("--max-report-mb 31"), "the flag that embeds every crop");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;.png"));
        // In the JSON the tag's brackets are escaped too: no `</script>` can end it early.
        let data = &html[html.find("id=\"viewer-data\">").unwrap()..];
        assert!(data.contains("\\u003cimg"), "{data:.300}");
        // Markup built by the details' writers is inserted as is.
        assert!(html.contains(
            "<details id=\"d-run\"><summary>Run</summary><div class=\"inner\"><table></table>"
        ));
    }
}
