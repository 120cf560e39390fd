//! The recommendation at the top of report.html and summary.md: which lossy configuration
//! costs the fewest bytes at equal quality (SSIMULACRA 2 at 70, 80 and 90, interpolated on
//! each image's swept curve, no extra cells), by how much against the anchor, at which
//! settings, how fast, and on which images another one wins; then the smallest lossless
//! configuration overall and per image.

use std::fmt::Write;

use crate::analysis::equal_quality::{level, speed, Level};
use crate::analysis::series::metrics_present;
use crate::metrics::MetricDef;

use super::html::esc;
use super::Report;

/// The quality levels recommended at, on SSIMULACRA 2 (70 = medium, 80 = high, 90 = very high
/// quality on its published scale).
pub const LEVELS: [f64; 3] = [70.0, 80.0, 90.0];

/// The metric and the equal-quality comparisons, or `None` when SSIMULACRA 2 was not measured.
pub fn levels(r: &Report) -> Option<(&'static MetricDef, Vec<Level>)> {
    let metric = metrics_present(r.records)
        .into_iter()
        .find(|m| m.key == "ssimulacra2")?;
    let lossy: Vec<&super::Curve> = r.curves.iter().filter(|c| !c.lossless).collect();
    let anchor = lossy.get(r.anchor).map(|c| c.name.as_str());
    Some((
        metric,
        LEVELS
            .iter()
            .map(|&l| level(r.records, &r.curves, anchor, metric, l))
            .collect(),
    ))
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
fn verdict(l: &Level, m: &MetricDef, r: &Report) -> String {
    let Some(w) = l.winner else {
        return format!(
            "At {} {}: no image can be compared (every image is out of some configuration's \
             swept range or measured differently).",
            m.name, l.level
        );
    };
    let name = &l.curves[w].name;
    let mut s = format!(
        "At {} {} (interpolated from the swept settings), over {} comparable image(s), `{name}` \
         needs the fewest bytes: {}",
        m.name,
        l.level,
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
pub fn markdown(r: &Report, out: &mut String) {
    let lossless = super::lossless::winners(r.records);
    let lv = levels(r);
    if lv.is_none() && lossless.is_none() {
        return;
    }
    out.push_str("## Recommendation\n\n");
    if let Some((m, levels)) = &lv {
        for l in levels {
            let _ = writeln!(out, "- {}", verdict(l, m, r));
        }
        for l in levels {
            if l.winner.is_none() {
                continue;
            }
            let _ = write!(
                out,
                "\n### Bytes at equal quality: {} {} (interpolated)\n\n\
                 | codec configuration | total bytes | vs anchor | settings | encode ms/MP | decode ms/MP | cheapest on |\n\
                 |---|---:|---:|---|---:|---:|---:|\n",
                m.name, l.level
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
    if let Some((m, levels)) = &lv {
        out.push_str("<ul>");
        for l in levels {
            let v = esc(&verdict(l, m, r));
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
                "<h3>Bytes at equal quality: {} {} (interpolated, no extra encodes)</h3>\
                 <table class=\"data\"><thead><tr><th>codec configuration</th><th>total bytes</th>\
                 <th>vs anchor</th><th>settings</th><th>encode ms/MP</th><th>decode ms/MP</th>\
                 <th>cheapest on</th></tr></thead><tbody>",
                esc(m.name),
                l.level
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
                    super::html::swatch(curve.color),
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
        out.push_str(
            "<p>Each image's bytes at the level are interpolated between the two swept settings \
             around it (log bytes linear in quality); no level is extrapolated. Times are means \
             over all swept settings on the comparable images.</p>",
        );
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
