//! The recommendation at the top of report.html and summary.md: which lossy configuration
//! costs the fewest bytes at equal quality, by how much against the anchor, at which
//! settings, how fast, and on which images another one wins; then the smallest lossless
//! configuration overall and per image. On a `--target` run the settings are the target
//! search's (targets.csv, labelled "searched", at its quality targets, SSIMULACRA 2 first);
//! otherwise SSIMULACRA 2 70, 80 and 90 interpolated on each image's swept curve, no extra
//! cells (labelled "interpolated").

use std::fmt::Write;

use crate::analysis::equal_quality::{level, searched_level, speed, Basis, Level};
use crate::analysis::series::metrics_present;
use crate::metrics::MetricDef;

use super::markup::esc;
use super::Report;
use crate::target::TargetRow;

/// The quality levels recommended at, on SSIMULACRA 2 (70 = medium, 80 = high, 90 = very high
/// quality on its published scale).
pub const LEVELS: [f64; 3] = [70.0, 80.0, 90.0];

pub use crate::analysis::crop_cells::searched_targets;

/// The metric, the equal-quality comparisons and where their settings come from: the target
/// search's when the run folder has targets.csv with a quality target, else interpolated at
/// SSIMULACRA 2 70/80/90; `None` when neither is possible (SSIMULACRA 2 not measured).
pub fn levels(r: &Report) -> Option<(&'static MetricDef, Vec<Level>, Basis)> {
    levels_of(r.records, &r.curves, r.anchor, r.targets.as_deref())
}

/// [`levels`] from its parts: swept `records`, all `curves`, the anchor's index among the
/// lossy curves, and targets.csv's rows if any.
pub fn levels_of(
    records: &[crate::record::CellRecord],
    curves: &[super::Curve],
    anchor: usize,
    targets: Option<&[TargetRow]>,
) -> Option<(&'static MetricDef, Vec<Level>, Basis)> {
    let lossy: Vec<&super::Curve> = curves.iter().filter(|c| !c.lossless).collect();
    let anchor = lossy.get(anchor).map(|c| c.name.as_str());
    if let Some(rows) = targets {
        if let Some((metric, values)) = searched_targets(rows) {
            return Some((
                metric,
                values
                    .iter()
                    .map(|&l| searched_level(records, rows, curves, anchor, metric, l))
                    .collect(),
                Basis::Searched,
            ));
        }
    }
    let metric = metrics_present(records)
        .into_iter()
        .find(|m| m.key == "ssimulacra2")?;
    Some((
        metric,
        LEVELS
            .iter()
            .map(|&l| level(records, curves, anchor, metric, l))
            .collect(),
        Basis::Interpolated,
    ))
}

/// The recommended points to ring in the plots: for each level, the cheapest curve and the
/// swept setting of it nearest the median of its per-image settings there.
pub fn marks(records: &[crate::record::CellRecord], levels: &[Level]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for l in levels {
        let Some(w) = l.winner else { continue };
        let curve = &l.curves[w].name;
        let mut v: Vec<f64> = l.costs[w].iter().filter_map(|c| c.setting).collect();
        if v.is_empty() {
            continue;
        }
        v.sort_by(f64::total_cmp);
        let median = v[v.len() / 2];
        let nearest = records
            .iter()
            .filter(|r| &r.curve == curve && r.is_ok() && !r.lossless)
            .filter_map(|r| r.setting)
            .min_by(|a, b| (a - median).abs().total_cmp(&(b - median).abs()));
        if let Some(s) = nearest {
            if !out.iter().any(|(c, x)| c == curve && *x == s) {
                out.push((curve.clone(), s));
            }
        }
    }
    out
}

/// Why this section's figures can differ from the answer card's (issue 23: one page must not
/// show two unexplained figures for one question).
const PER_IMAGE_NOTE: &str = "Per-image tuning, not the answer: here each image gets its own setting, only the images every configuration reaches are compared, and formats are not filtered by where they can be delivered. The answer above uses one setting per format measured on every image and compares each configuration with the anchor on the images both reach, so its ranking and savings can differ from these; ship the answer's setting, and read this section as what tuning per image could add.";

/// Where the settings come from, after the note on how this section differs from the answer.
fn basis_note(b: Basis, r: &Report) -> String {
    format!("{PER_IMAGE_NOTE} {}", basis_only(b, r))
}

/// One sentence saying where the settings come from.
fn basis_only(b: Basis, r: &Report) -> String {
    match b {
        Basis::Searched => format!(
            "Settings: searched. Each image's setting and bytes are the target search's (targets.csv of this run, `--target`): measured cells, nothing interpolated.{}",
            r.target_note
                .as_deref()
                .map_or(String::new(), |n| format!(" {n}"))
        ),
        Basis::Interpolated => format!(
            "Settings: interpolated between the swept settings (no `--target` search in this run; run with `--target ssimulacra2=70,80,90` for measured settings).{}",
            r.target_note
                .as_deref()
                .map_or(String::new(), |n| format!(" {n}"))
        ),
    }
}

fn kib(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", bytes / 1024.0 / 1024.0)
    } else {
        format!("{:.1} KiB", bytes / 1024.0)
    }
}

fn settings(l: &Level, c: usize, r: &Report) -> String {
    let v: Vec<f64> = l.costs[c].iter().filter_map(|x| x.setting).collect();
    if v.is_empty() {
        return "-".into();
    }
    let key = r
        .records
        .iter()
        .find(|x| x.curve == l.curves[c].name)
        .map_or("", |x| x.setting_key.as_str());
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if (hi - lo).abs() < 0.05 {
        format!("{key}≈{lo:.1}")
    } else {
        format!("{key}≈{lo:.1}–{hi:.1}")
    }
}

fn rel(l: &Level, c: usize) -> Option<f64> {
    let a = l.anchor?;
    (l.totals[a] > 0.0).then(|| (l.totals[c] / l.totals[a] - 1.0) * 100.0)
}

/// The plain-words verdict of one level.
fn verdict(l: &Level, m: &MetricDef, b: Basis, r: &Report) -> String {
    let Some(w) = l.winner else {
        return format!(
            "At {} {}: no image can be compared (every image is out of some configuration's \
             swept range or measured differently).",
            m.name, l.level
        );
    };
    let name = &l.curves[w].name;
    let mut s = format!(
        "At {} {} ({}), over {} comparable image(s), `{name}` needs the fewest bytes: {}",
        m.name,
        l.level,
        match b {
            Basis::Searched => "searched: the target search's settings",
            Basis::Interpolated => "interpolated from the swept settings",
        },
        l.images.len(),
        kib(l.totals[w])
    );
    match (l.anchor, rel(l, w)) {
        (Some(a), Some(p)) if a != w => {
            let _ = write!(s, ", {p:+.1}% against `{}`", l.curves[a].name);
        }
        (Some(_), _) => s.push_str(" (it is the anchor)"),
        _ => {}
    }
    let _ = write!(s, ", at {}.", settings(l, w, r));
    let others: Vec<String> = l
        .images
        .iter()
        .zip(&l.image_winner)
        .filter(|(_, &iw)| iw != w)
        .map(|(i, &iw)| format!("{i} (`{}`)", l.curves[iw].name))
        .collect();
    if others.is_empty() {
        s.push_str(" It is the cheapest on every comparable image.");
    } else {
        let _ = write!(
            s,
            " It depends on the image: another configuration is cheaper on {} of {}: {}.",
            others.len(),
            l.images.len(),
            others.join(", ")
        );
    }
    s
}

/// Markdown: the recommendation section (nothing without SSIMULACRA 2 and lossless rows).
#[allow(dead_code)] // summary.md shows the answer card and one table since issue 24 (markdown.rs)
pub fn markdown(r: &Report, out: &mut String) {
    let lossless = super::lossless::winners(r.records);
    let lv = levels(r);
    if lv.is_none() && lossless.is_none() {
        return;
    }
    out.push_str("## Recommendation\n\n");
    if let Some((m, levels, b)) = &lv {
        let _ = writeln!(out, "{}\n", basis_note(*b, r));
        for l in levels {
            let _ = writeln!(out, "- {}", verdict(l, m, *b, r));
        }
        for l in levels {
            if l.winner.is_none() {
                continue;
            }
            let _ = write!(
                out,
                "\n### Bytes at equal quality: {} {} ({})\n\n\
                 | codec configuration | total bytes | vs anchor | settings | encode ms/MP | decode ms/MP | cheapest on |\n\
                 |---|---:|---:|---|---:|---:|---:|\n",
                m.name,
                l.level,
                b.label()
            );
            for (c, curve) in l.curves.iter().enumerate() {
                let (e, d) = speed(r.records, &curve.name, &l.images);
                let wins = l.image_winner.iter().filter(|&&w| w == c).count();
                let _ = writeln!(
                    out,
                    "| `{}`{} | {} | {} | {} | {} | {} | {wins} of {} |",
                    curve.name,
                    if Some(c) == l.winner {
                        " **(cheapest)**"
                    } else {
                        ""
                    },
                    kib(l.totals[c]),
                    if Some(c) == l.anchor {
                        "anchor".to_string()
                    } else {
                        rel(l, c).map_or("-".into(), |p| format!("{p:+.1} %"))
                    },
                    settings(l, c, r),
                    e.map_or("-".into(), |v| format!("{v:.0}")),
                    d.map_or("-".into(), |v| format!("{v:.0}")),
                    l.images.len()
                );
            }
            if !l.excluded.is_empty() || !l.dropped.is_empty() {
                out.push('\n');
            }
            for (i, why) in &l.excluded {
                let _ = writeln!(out, "- not comparable: {i}: {why}");
            }
            for (c, why) in &l.dropped {
                let _ = writeln!(out, "- left out: `{c}` {why}");
            }
        }
        out.push_str(
            "\nTimes are means over all swept settings of a configuration on the comparable \
             images (encode/decode ms per megapixel).\n",
        );
    }
    if let Some((overall, per_image)) = &lossless {
        out.push_str("\n**Lossless:** ");
        match overall {
            Some((spec, b)) => {
                let _ = write!(
                    out,
                    "smallest over the corpus, among configurations exact on every image, \
                     `{spec}` ({b} bytes)"
                );
            }
            None => out.push_str("no configuration is exact on every image"),
        }
        let list: Vec<String> = per_image
            .iter()
            .map(|(i, s, b)| format!("{i}: `{s}` ({b} B)"))
            .collect();
        let _ = writeln!(out, "; smallest per image: {}.", list.join(", "));
    }
    out.push('\n');
}

/// HTML: the same, as the first section of report.html.
pub fn html(r: &Report, out: &mut String) {
    let lossless = super::lossless::winners(r.records);
    let lv = levels(r);
    if lv.is_none() && lossless.is_none() {
        return;
    }
    out.push_str("<section id=\"recommendation\"><h2>Recommendation</h2>");
    if let Some((m, levels, b)) = &lv {
        let _ = write!(
            out,
            "<p class=\"basis\">{}</p><ul>",
            esc(&basis_note(*b, r)).replace('`', "")
        );
        for l in levels {
            let v = esc(&verdict(l, m, *b, r));
            // `name` in backticks reads as code.
            let v = v
                .split('`')
                .enumerate()
                .map(|(i, s)| {
                    if i % 2 == 1 {
                        format!("<code>{s}</code>")
                    } else {
                        s.to_string()
                    }
                })
                .collect::<String>();
            let _ = write!(out, "<li>{v}</li>");
        }
        out.push_str("</ul>");
        for l in levels {
            if l.winner.is_none() {
                continue;
            }
            let _ = write!(
                out,
                "<h3>Bytes at equal quality: {} {} ({})</h3>\
                 <table class=\"data\"><thead><tr><th>codec configuration</th><th>total bytes</th>\
                 <th>vs anchor</th><th>settings</th><th>encode ms/MP</th><th>decode ms/MP</th>\
                 <th>cheapest on</th></tr></thead><tbody>",
                esc(m.name),
                l.level,
                match b {
                    Basis::Searched => "searched",
                    Basis::Interpolated => "interpolated, no extra encodes",
                }
            );
            for (c, curve) in l.curves.iter().enumerate() {
                let (e, d) = speed(r.records, &curve.name, &l.images);
                let wins = l.image_winner.iter().filter(|&&w| w == c).count();
                let name = if Some(c) == l.winner {
                    format!("<b>{}</b> (cheapest)", esc(&curve.name))
                } else {
                    esc(&curve.name)
                };
                let _ = write!(
                    out,
                    "<tr><td>{}{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{wins} of {}</td></tr>",
                    super::markup::swatch(curve.color),
                    kib(l.totals[c]),
                    if Some(c) == l.anchor {
                        "anchor".to_string()
                    } else {
                        rel(l, c).map_or("-".into(), |p| format!("{p:+.1} %"))
                    },
                    esc(&settings(l, c, r)),
                    e.map_or("-".into(), |v| format!("{v:.0}")),
                    d.map_or("-".into(), |v| format!("{v:.0}")),
                    l.images.len()
                );
            }
            out.push_str("</tbody></table>");
            if !l.excluded.is_empty() || !l.dropped.is_empty() {
                out.push_str("<ul class=\"warn\">");
                for (i, why) in &l.excluded {
                    let _ = write!(out, "<li>not comparable: {}: {}</li>", esc(i), esc(why));
                }
                for (c, why) in &l.dropped {
                    let _ = write!(out, "<li>left out: {} {}</li>", esc(c), esc(why));
                }
                out.push_str("</ul>");
            }
        }
        out.push_str(match b {
            Basis::Interpolated => {
                "<p>Each image's bytes at the level are interpolated between the two swept \
                 settings around it (log bytes linear in quality); no level is extrapolated. \
                 Times are means over all swept settings on the comparable images.</p>"
            }
            Basis::Searched => {
                "<p>Each image's bytes at the level are those of the cheapest setting the target \
                 search found to meet it (a measured cell). Times are means over all swept \
                 settings on the comparable images.</p>"
            }
        });
    }
    if let Some((overall, per_image)) = &lossless {
        out.push_str("<p><b>Lossless:</b> ");
        match overall {
            Some((spec, b)) => {
                let _ = write!(
                    out,
                    "smallest over the corpus <code>{}</code> ({b} bytes)",
                    esc(spec)
                );
            }
            None => out.push_str("no configuration is exact on every image"),
        }
        let list: Vec<String> = per_image
            .iter()
            .map(|(i, s, b)| format!("{}: <code>{}</code> ({b} B)", esc(i), esc(s)))
            .collect();
        let _ = write!(out, "; smallest per image: {}.</p>", list.join(", "));
    }
    out.push_str("</section>\n");
}
