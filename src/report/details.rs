//! The details of report.html (run facts, summary table, BD-rate matrices and tables, every
//! cell per image, static plots), rendered with minijinja from plain rows: the templates in
//! `templates/` escape every value (auto-escaping on `.html` names); only the plots' SVG,
//! drawn by our own plotting code, is inserted as markup.

use serde::Serialize;

use super::Report;
use crate::analysis::series::{images, metrics_present};
use crate::analysis::summary::SummaryRow;
use crate::plot::color_hex;

use super::markup::num;

const RUN: &str = include_str!("templates/run.html.j2");
const SUMMARY: &str = include_str!("templates/summary.html.j2");
const BD: &str = include_str!("templates/bd.html.j2");
const CELLS: &str = include_str!("templates/cells.html.j2");
const PLOTS: &str = include_str!("templates/plots.html.j2");

/// The templates of the details, by name.
fn env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    for (name, text) in [
        ("run.html", RUN),
        ("summary.html", SUMMARY),
        ("bd.html", BD),
        ("cells.html", CELLS),
        ("plots.html", PLOTS),
    ] {
        env.add_template(name, text)
            .expect("the embedded templates parse (tested)");
    }
    env
}

fn render<S: Serialize>(name: &str, ctx: S) -> Result<String, minijinja::Error> {
    env().get_template(name)?.render(ctx)
}

fn color_of(r: &Report, curve: &str) -> String {
    color_hex(
        r.curves
            .iter()
            .find(|c| c.name == curve)
            .map_or(0, |c| c.color),
    )
}

#[derive(Serialize)]
struct Meta {
    tool_version: String,
    started: String,
    finished: String,
    cpu_model: String,
    cpu_count: usize,
    os: String,
    jobs: usize,
    repeat: u32,
    time: String,
    interrupted: bool,
    merged_from: Vec<String>,
    command: Vec<String>,
}

/// Run facts: cells, machine, timing, command, codec versions.
pub fn run(r: &Report) -> Result<String, minijinja::Error> {
    let meta = r.opts.meta.as_ref().map(|m| Meta {
        tool_version: m.tool_version.clone(),
        started: m.started.clone(),
        finished: m.finished.clone(),
        cpu_model: m.cpu_model.clone(),
        cpu_count: m.cpu_count,
        os: m.os.clone(),
        jobs: m.jobs,
        repeat: m.repeat,
        time: format!(
            "wall {:.1} s; codec+metric {:.1} s; parallel efficiency {:.3}",
            m.timing.wall_s, m.timing.measured_s, m.timing.efficiency
        ),
        interrupted: m.interrupted,
        merged_from: m
            .merged_from
            .iter()
            .map(|d| d.display().to_string())
            .collect(),
        command: m.command.clone(),
    });
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
    render(
        "run.html",
        minijinja::context! {
            cells => r.records.len(),
            failed => r.records.iter().filter(|x| !x.is_ok()).count(),
            images => images(r.records).len(),
            meta => meta,
            versions => versions,
        },
    )
}

#[derive(Serialize)]
struct SummaryLine {
    color: String,
    curve: String,
    setting: String,
    images: usize,
    errors: usize,
    /// The numeric columns after `errors`, as shown.
    values: Vec<String>,
}

/// The summary per configuration and setting.
pub fn summary(r: &Report, summary: &[SummaryRow]) -> Result<String, minijinja::Error> {
    let extra: Vec<_> = metrics_present(r.records)
        .into_iter()
        .filter(|m| !m.is_core())
        .collect();
    let rows: Vec<SummaryLine> = summary
        .iter()
        .map(|s| {
            let mut values = vec![
                s.total_bytes.to_string(),
                num(s.bpp_of_totals, 4),
                num(s.mean_bpp, 4),
                num(s.mean_psnr, 2),
                num(s.psnr_of_pooled_mse, 2),
            ];
            values.extend(extra.iter().map(|m| num((m.get_mean)(s), m.decimals)));
            values.extend([
                num(s.mean_compression_ratio, 2),
                num(Some(s.encode_ms_total), 1),
                num(Some(s.decode_ms_total), 1),
            ]);
            SummaryLine {
                color: color_of(r, &s.curve),
                curve: s.curve.clone(),
                setting: match s.setting {
                    Some(v) => format!("{}={v}", s.setting_key),
                    None => "-".into(),
                },
                images: s.images,
                errors: s.errors,
                values,
            }
        })
        .collect();
    render(
        "summary.html",
        minijinja::context! {
            extra => extra.iter().map(|m| m.header()).collect::<Vec<_>>(),
            rows => rows,
        },
    )
}

#[derive(Serialize)]
struct Named {
    name: String,
    color: String,
}

#[derive(Serialize)]
struct MatrixCell {
    text: String,
    title: Option<String>,
    warn: bool,
}

#[derive(Serialize)]
struct MatrixRow {
    name: String,
    color: String,
    cells: Vec<MatrixCell>,
}

#[derive(Serialize)]
struct AnchorRow {
    name: String,
    color: String,
    anchor: bool,
    values: Vec<String>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct PerImageValue {
    text: String,
    /// Why the image is left out of this pair.
    left_out: Option<String>,
}

#[derive(Serialize)]
struct PerImageRow {
    id: String,
    values: Vec<PerImageValue>,
}

#[derive(Serialize)]
struct PerImage {
    curves: Vec<Named>,
    images: Vec<PerImageRow>,
}

#[derive(Serialize)]
struct Matrix {
    metric: String,
    key: String,
    header: String,
    direction: String,
    better: String,
    depth: String,
    anchor: String,
    curves: Vec<Named>,
    rows: Vec<MatrixRow>,
    table: Vec<AnchorRow>,
    per_image: PerImage,
}

/// Per-image BD-rate of every curve against the anchor `a` (rows images, columns curves).
fn per_image(m: &super::bd::BdMatrix, a: usize) -> PerImage {
    let others: Vec<usize> = (0..m.curves.len()).filter(|&t| t != a).collect();
    let mut ids: Vec<&str> = Vec::new();
    for &t in &others {
        let c = &m.rate[t][a];
        for i in c
            .per_image
            .iter()
            .map(|p| &p.0)
            .chain(c.excluded.iter().map(|p| &p.0))
        {
            if !ids.contains(&i.as_str()) {
                ids.push(i);
            }
        }
    }
    PerImage {
        curves: others
            .iter()
            .map(|&t| Named {
                name: m.curves[t].name.clone(),
                color: color_hex(m.curves[t].color),
            })
            .collect(),
        images: ids
            .iter()
            .map(|img| PerImageRow {
                id: img.to_string(),
                values: others
                    .iter()
                    .map(|&t| {
                        let c = &m.rate[t][a];
                        match c.excluded.iter().find(|(i, _)| i == img) {
                            Some((_, why)) => PerImageValue {
                                text: String::new(),
                                left_out: Some(why.clone()),
                            },
                            None => PerImageValue {
                                text: super::bd::pct(
                                    c.per_image.iter().find(|(i, _)| i == img).and_then(|p| p.1),
                                ),
                                left_out: None,
                            },
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn matrix(r: &Report, m: &super::bd::BdMatrix) -> Matrix {
    let a = r.anchor.min(m.curves.len() - 1);
    let named = |c: &super::Curve| Named {
        name: c.name.clone(),
        color: color_hex(c.color),
    };
    let rows = m
        .curves
        .iter()
        .enumerate()
        .map(|(t, c)| MatrixRow {
            name: c.name.clone(),
            color: color_hex(c.color),
            cells: m.rate[t]
                .iter()
                .enumerate()
                .map(|(k, cell)| {
                    if k == t {
                        return MatrixCell {
                            text: "-".into(),
                            title: None,
                            warn: false,
                        };
                    }
                    MatrixCell {
                        text: format!(
                            "{}{} ({})",
                            num(cell.headline, 2),
                            if cell.headline.is_some() { "%" } else { "" },
                            cell.images_used
                        ),
                        title: Some(cell.warnings.join("\n")),
                        warn: !cell.warnings.is_empty(),
                    }
                })
                .collect(),
        })
        .collect();
    let table = m
        .curves
        .iter()
        .enumerate()
        .map(|(t, c)| {
            if t == a {
                return AnchorRow {
                    name: c.name.clone(),
                    color: color_hex(c.color),
                    anchor: true,
                    values: Vec::new(),
                    warnings: Vec::new(),
                };
            }
            let (br, bq) = (&m.rate[t][a], &m.quality[t][a]);
            let mut warnings = br.warnings.clone();
            for w in &bq.warnings {
                if !warnings.contains(w) {
                    warnings.push(w.clone());
                }
            }
            AnchorRow {
                name: c.name.clone(),
                color: color_hex(c.color),
                anchor: false,
                values: vec![
                    super::bd::pct(br.headline),
                    super::bd::pct(br.median),
                    super::bd::pct_range(br),
                    super::bd::pct(br.mean),
                    num(bq.headline, m.metric.decimals + 1),
                    br.images_used.to_string(),
                    super::bd::excluded_note(br),
                ],
                warnings,
            }
        })
        .collect();
    Matrix {
        metric: m.metric.axis_label(),
        key: m.metric.key.into(),
        header: m.metric.header(),
        direction: m.metric.direction.describe().to_string(),
        better: m.metric.direction.better_sign().to_string(),
        depth: crate::analysis::pairs::depth_label(m.bit_depth).to_string(),
        anchor: m.curves[a].name.clone(),
        curves: m.curves.iter().map(named).collect(),
        rows,
        table,
        per_image: per_image(m, a),
    }
}

/// BD-rate matrices, anchor tables and per-image tables, then the depth-reduced rows.
pub fn bd(r: &Report) -> Result<String, minijinja::Error> {
    let method = match r.opts.interp {
        crate::analysis::bdrate::Interp::Pchip => "piecewise cubic monotone (PCHIP) interpolation",
        crate::analysis::bdrate::Interp::Cubic => "cubic polynomial fit (VCEG-M33)",
    };
    let matrices: Vec<Matrix> =
        r.bd.iter()
            .filter(|m| !m.curves.is_empty())
            .filter(|m| m.rate.iter().flatten().any(|c| !c.per_image.is_empty()))
            .map(|m| matrix(r, m))
            .collect();
    let mut depth_reduced: Vec<(String, String, String)> = Vec::new();
    for rec in r.records {
        if let Some(what) = crate::analysis::pairs::depth_reduction(rec) {
            let key = (rec.image.clone(), rec.curve.clone(), what);
            if !depth_reduced.contains(&key) {
                depth_reduced.push(key);
            }
        }
    }
    render(
        "bd.html",
        minijinja::context! {
            method => method,
            anchor => r.anchor,
            matrices => matrices,
            depth_reduced => depth_reduced,
        },
    )
}

#[derive(Serialize)]
struct CellLine {
    color: String,
    spec: String,
    /// The error message of a failed cell.
    error: Option<String>,
    values: Vec<String>,
}

#[derive(Serialize)]
struct ImageCells {
    id: String,
    width: u32,
    height: u32,
    channels: u8,
    depth: u8,
    rows: Vec<CellLine>,
}

/// Every cell, per image, collapsed.
pub fn cells(r: &Report) -> Result<String, minijinja::Error> {
    let metrics = metrics_present(r.records);
    let list: Vec<ImageCells> = images(r.records)
        .into_iter()
        .map(|img| {
            let rows: Vec<_> = r.records.iter().filter(|x| x.image == img).collect();
            let first = rows[0];
            ImageCells {
                width: first.width,
                height: first.height,
                channels: first.channels,
                depth: first.bit_depth,
                rows: rows
                    .iter()
                    .map(|x| {
                        let mut values =
                            vec![x.bytes.map_or("-".into(), |b| b.to_string()), num(x.bpp, 4)];
                        values.extend(metrics.iter().map(|m| num((m.get)(x), m.decimals)));
                        values.extend([
                            x.channels_compared.clone(),
                            num(x.encode_ms, 2),
                            num(x.decode_ms, 2),
                        ]);
                        CellLine {
                            color: color_of(r, &x.curve),
                            spec: x.spec.clone(),
                            error: (!x.is_ok()).then(|| x.message.clone()),
                            values,
                        }
                    })
                    .collect(),
                id: img,
            }
        })
        .collect();
    render(
        "cells.html",
        minijinja::context! {
            metrics => metrics.iter().map(|m| m.axis_label()).collect::<Vec<_>>(),
            images => list,
        },
    )
}

#[derive(Serialize)]
struct PlotItem {
    id: String,
    title: String,
    /// SVG drawn by [`crate::plot`], with a viewBox so it scales: inserted as markup.
    svg: String,
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

/// The static plots, inline.
pub fn plots(r: &Report) -> Result<String, minijinja::Error> {
    let plots: Vec<PlotItem> = r
        .plots
        .iter()
        .map(|p| PlotItem {
            id: p.id.clone(),
            title: p.title.clone(),
            svg: scalable(&p.svg),
        })
        .collect();
    render("plots.html", minijinja::context! { plots => plots })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_details_templates_parse() {
        let env = env();
        for name in [
            "run.html",
            "summary.html",
            "bd.html",
            "cells.html",
            "plots.html",
        ] {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn cell_values_are_escaped_by_the_template() {
        let evil = "<b onmouseover=x>\"q\"</b>";
        let html = render(
            "cells.html",
            minijinja::context! {
                metrics => vec![evil],
                images => vec![ImageCells {
                    id: evil.into(), width: 1, height: 1, channels: 3, depth: 8,
                    rows: vec![CellLine {
                        color: "#123456".into(), spec: evil.into(),
                        error: Some(evil.into()), values: vec![evil.into()],
                    }],
                }],
            },
        )
        .unwrap();
        assert!(!html.contains("<b onmouseover"), "{html}");
        assert!(html.contains("&lt;b onmouseover=x&gt;"));
        // Quotes cannot end the attribute early (minijinja also escapes `/`).
        assert!(
            html.contains("<span class=\"bad\" title=\"&lt;b onmouseover=x&gt;&quot;q&quot;&lt;"),
            "{html}"
        );
    }
}
