//! summary.md: a compact version of the report that reads well pasted into a pull-request
//! comment: one line per codec configuration, BD-rate against the anchor, links to the plots.

use std::fmt::Write;

use crate::analysis::series::images;
use crate::analysis::summary::SummaryRow;

use super::html::num;
use super::Report;

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
    let images = images(r.records).len();
    let failed = r.records.iter().filter(|x| !x.is_ok()).count();
    let mut line = format!(
        "{images} images, {} cells ({failed} failed)",
        r.records.len()
    );
    if let Some(m) = &r.opts.meta {
        let _ = write!(
            line,
            "; codecbench {}, started {}, {} jobs on {}",
            m.tool_version, m.started, m.jobs, m.cpu_model
        );
    }
    let _ = writeln!(out, "{line}.\n");
    super::answer::markdown(r, &mut out);
    super::recommend::markdown(r, &mut out);

    out.push_str("| codec configuration | version | settings | bpp (of totals) | PSNR dB (pooled) | encode s | decode s | failed |\n");
    out.push_str("|---|---|---|---|---|---:|---:|---:|\n");
    for c in &r.curves {
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
            "| `{}` | {} | {} | {} | {} | {:.2} | {:.2} | {} |",
            c.name,
            rows.first().map_or("", |s| s.codec_version.as_str()),
            settings,
            range(rows.iter().filter_map(|s| s.bpp_of_totals), 3),
            range(rows.iter().filter_map(|s| s.psnr_of_pooled_mse), 2),
            rows.iter().map(|s| s.encode_ms_total).sum::<f64>() / 1e3,
            rows.iter().map(|s| s.decode_ms_total).sum::<f64>() / 1e3,
            rows.iter().map(|s| s.errors).sum::<usize>()
        );
    }

    for m in &r.bd {
        if m.curves.is_empty() || m.rate.iter().flatten().all(|c| c.per_image.is_empty()) {
            continue;
        }
        let a = r.anchor.min(m.curves.len() - 1);
        let _ = write!(
            out,
            "\n## BD-rate on {}, {} images, against `{}`\n\nPer image, then aggregated: the headline is the geometric mean of the \
             per-image rate ratios (symmetric: A vs B and B vs A agree), with the median and range of the per-image values; the \
             arithmetic mean (AWCY) is a secondary figure. BD-rate: negative = fewer bits for the same quality; \
             BD-{}: difference at equal rate in {} ({}, so {} = better). Images where the two codecs measured different \
             channels (alpha dropped by one) are left out of that pair. Every value: `bd.csv`.\n\n\
             | codec configuration | BD-rate (geomean) | median | range | arithmetic mean | BD-{} | images | left out | warnings |\n\
             |---|---:|---:|---|---:|---:|---:|---|---|\n",
            m.metric.axis_label(),
            crate::analysis::pairs::depth_label(m.bit_depth),
            m.curves[a].name,
            m.metric.key,
            m.metric.header(),
            m.metric.direction.describe(),
            m.metric.direction.better_sign(),
            m.metric.key
        );
        for (t, c) in m.curves.iter().enumerate() {
            if t == a {
                continue;
            }
            let (br, bq) = (&m.rate[t][a], &m.quality[t][a]);
            let warnings = br.warnings.len() + bq.warnings.len();
            let left: Vec<&str> = br.excluded.iter().map(|(i, _)| i.as_str()).collect();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
                c.name,
                super::bd::pct(br.headline),
                super::bd::pct(br.median),
                super::bd::pct_range(br),
                super::bd::pct(br.mean),
                num(bq.headline, m.metric.decimals + 1),
                br.images_used,
                left.join(", "),
                if warnings > 0 {
                    format!("{warnings} (see report.html)")
                } else {
                    String::new()
                }
            );
        }
        per_image_md(m, a, &mut out);
    }

    super::lossless::markdown(r.records, &mut out);

    out.push_str("\n## Plots\n\n");
    for p in &r.plots {
        let _ = writeln!(
            out,
            "- [{}](plots/{}.svg) ([PNG](plots/{}.png))",
            p.title, p.id, p.id
        );
    }
    out.push_str("\nFull tables, per-image results and visual comparisons: `report.html`.\n");
    out
}

/// Per-image BD-rate of every curve against the anchor: rows are images, columns curves.
fn per_image_md(m: &super::bd::BdMatrix, a: usize, out: &mut String) {
    let others: Vec<usize> = (0..m.curves.len()).filter(|&t| t != a).collect();
    let mut imgs: Vec<String> = Vec::new();
    for &t in &others {
        for (i, _) in &m.rate[t][a].per_image {
            if !imgs.contains(i) {
                imgs.push(i.clone());
            }
        }
        for (i, _) in &m.rate[t][a].excluded {
            if !imgs.contains(i) {
                imgs.push(i.clone());
            }
        }
    }
    if imgs.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "\nPer image (BD-rate against `{}`):\n\n| image |",
        m.curves[a].name
    );
    for &t in &others {
        let _ = write!(out, " `{}` |", m.curves[t].name);
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(others.len()));
    out.push('\n');
    for img in &imgs {
        let _ = write!(out, "| {img} |");
        for &t in &others {
            let c = &m.rate[t][a];
            let cell = if c.excluded.iter().any(|(i, _)| i == img) {
                "left out".to_string()
            } else {
                super::bd::pct(c.per_image.iter().find(|(i, _)| i == img).and_then(|p| p.1))
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
}
