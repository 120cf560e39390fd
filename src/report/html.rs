//! report.html: one self-contained file (inline SVG, CSS, crops as data URIs, the
//! JavaScript of the two interactive views; no network, no CDN), laid out by the
//! `report.html.j2` template: the answer, the visual comparison, the rate-distortion view,
//! then the details collapsed.

use super::details;
use super::Report;
use crate::analysis::summary::SummaryRow;

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");
const VIEWER_JS: &str = include_str!("viewer.js");
const RD_JS: &str = include_str!("rd.js");
const TEMPLATE: &str = include_str!("report.html.j2");

pub use super::markup::esc;

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
/// `report.html.j2`; the details' tables come from `details` (templates too), except the
/// recommendation, lossless and answer-card tables, still escaped markup strings.
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
    // A details template that fails to render says so in its place.
    let templated = |t: Result<String, minijinja::Error>, o: &mut String| match t {
        Ok(h) => o.push_str(&h),
        Err(e) => o.push_str(&format!(
            "<p class=\"bad\">this part could not be rendered: {}</p>",
            esc(&e.to_string())
        )),
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
            &|o| templated(details::bd(r), o),
        ),
        part(
            (
                "d-summary",
                "Summary",
                "Summary per configuration and setting",
            ),
            &|o| templated(details::summary(r, summary), o),
        ),
        part(("d-images", "Cells", "Every cell, per image"), &|o| {
            templated(details::cells(r), o)
        }),
        part(
            ("d-plots", "Plots", "Static plots (SVG and PNG in plots/)"),
            &|o| templated(details::plots(r), o),
        ),
        part(("d-lossless", "Lossless", "Lossless"), &|o| {
            super::lossless::html(r.records, o)
        }),
        part(
            ("d-run", "Run", "Run: machine, command, codec versions"),
            &|o| templated(details::run(r), o),
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
        assert!(
            html.contains("--max-report-mb 31"),
            "the flag that embeds every crop"
        );
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
