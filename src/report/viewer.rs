//! Data of the report's two interactive views, serialised into the page as JSON for
//! `viewer.js` (the split-slider crop comparison) and `rd.js` (the rate-distortion view). The
//! crops are embedded as data URIs that the page assigns to an `<img>` only when that image
//! is shown, so the browser decodes only what is looked at.

use serde::Serialize;

use super::crops::{CropSet, Role};
use super::markup::{curve_labels, data_uri, image_mime, setting_text, short};
use super::Report;
use crate::analysis::series::{images, metrics_present};
use crate::plot::color_hex;

/// The largest report.html: crops are embedded (base64, a third more than their bytes) while
/// the page stays under it, whatever the number of images; the images past it are named in
/// the page and their crops stay in the run folder's crops/.
pub const MAX_PAGE: usize = 19 * 1024 * 1024;

/// Longest configuration label in the views and tables (the full spec is in a tooltip).
pub const LABEL: usize = 28;

#[derive(Serialize)]
pub struct ViewerData {
    /// "SSIMULACRA2 80" or similar: what the crops are equal in.
    pub level: String,
    pub anchor: String,
    /// The configuration shown on the right by default (the answer's recommendation).
    pub default_curve: String,
    pub images: Vec<ViewerImage>,
    /// Images whose crops were not embedded (budget), with where their files are.
    pub left_out: Vec<String>,
}

#[derive(Serialize)]
pub struct ViewerImage {
    pub id: String,
    pub rect: [u32; 4],
    pub original: String,
    pub notes: Vec<String>,
    pub cells: Vec<ViewerCell>,
}

#[derive(Serialize)]
pub struct ViewerCell {
    pub spec: String,
    pub curve: String,
    pub label: String,
    pub color: String,
    pub role: String,
    pub bytes: Option<u64>,
    pub bpp: f64,
    /// Bytes against the anchor's crop of the same role on this image, percent.
    pub vs_anchor: Option<f64>,
    pub metrics: Vec<(String, String)>,
    pub src: String,
    pub heat: String,
    pub chosen: String,
    pub source: String,
}

/// A crop's label: the configuration's short label and the setting.
fn label(curve_label: &str, spec: &str) -> String {
    match setting_text(spec) {
        Some(k) => format!("{curve_label} {k}"),
        None => curve_label.to_string(),
    }
}

fn cell_bytes(set: &CropSet) -> usize {
    set.original_png.len()
        + set
            .cells
            .iter()
            .map(|c| c.png.len() + c.heatmap.len())
            .sum::<usize>()
}

/// The viewer's data from the crops the report read, embedding crops of at most `budget`
/// bytes (before base64), image by image in page order.
pub fn viewer(r: &Report, budget: usize) -> ViewerData {
    let lossy: Vec<&super::Curve> = r.curves.iter().filter(|c| !c.lossless).collect();
    let anchor = lossy
        .get(r.anchor)
        .map_or("", |c| c.name.as_str())
        .to_string();
    let level = r
        .crops
        .quality
        .as_ref()
        .map_or_else(|| "nearest bpp".into(), |q| q.describe());
    let default_curve = r
        .answer
        .as_ref()
        .and_then(|a| a.targets.get(a.targets.len() / 2))
        .map(|t| t.recommended.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| anchor.clone());
    let names: Vec<&str> = lossy.iter().map(|c| c.name.as_str()).collect();
    let labels = curve_labels(&names);
    let label_of = |curve: &str| {
        names
            .iter()
            .position(|n| *n == curve)
            .map_or_else(|| short(curve, LABEL), |i| labels[i].clone())
    };
    let mut used = 0;
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    for set in &r.crops.sets {
        let size = cell_bytes(set);
        if used + size > budget {
            left_out.push(set.image.clone());
            continue;
        }
        used += size;
        // The anchor's crop of the same kind, else (no uniform anchor setting meets the
        // target) the anchor's crop tuned for this image.
        let anchor_bytes = |role: Role| {
            let of = |r: Role| {
                set.cells
                    .iter()
                    .find(|c| c.curve == anchor && c.role == r)
                    .and_then(|c| c.bytes)
            };
            of(role).or_else(|| of(Role::PerImage))
        };
        let cells = set
            .cells
            .iter()
            .map(|c| ViewerCell {
                spec: c.spec.clone(),
                curve: c.curve.clone(),
                label: format!(
                    "{}{}",
                    label(&label_of(&c.curve), &c.spec),
                    if c.role == Role::PerImage {
                        " (tuned)"
                    } else {
                        ""
                    }
                ),
                color: color_hex(c.color),
                role: c.role.label().into(),
                bytes: c.bytes,
                bpp: c.bpp,
                vs_anchor: match (c.bytes, anchor_bytes(c.role)) {
                    (Some(b), Some(a)) if a > 0 => Some((b as f64 / a as f64 - 1.0) * 100.0),
                    _ => None,
                },
                metrics: c.metrics.clone(),
                src: data_uri(image_mime(&c.file), &c.png),
                heat: if c.heatmap.is_empty() {
                    String::new()
                } else {
                    data_uri(image_mime(&c.heatmap_file), &c.heatmap)
                },
                chosen: c.chosen.clone(),
                source: c.source.clone(),
            })
            .collect();
        let (x, y, w, h) = set.rect;
        out.push(ViewerImage {
            id: set.image.clone(),
            rect: [x, y, w, h],
            original: if set.original_png.is_empty() {
                String::new()
            } else {
                data_uri(image_mime(&set.original_file), &set.original_png)
            },
            notes: set.notes.clone(),
            cells,
        });
    }
    ViewerData {
        level,
        anchor,
        default_curve,
        images: out,
        left_out,
    }
}

#[derive(Serialize)]
pub struct RdData {
    pub metrics: Vec<RdMetric>,
    /// Index into `metrics` shown first (the preset's).
    pub metric: usize,
    pub curves: Vec<RdCurve>,
    pub images: Vec<String>,
    /// [curve, image, setting, bytes, bpp, metric values (null: not measured), spec index].
    pub cells: Vec<RdCell>,
    pub specs: Vec<String>,
}

/// One cell of the RD view: curve, image, setting, bytes, bpp, the metric values (`None`:
/// not measured), index of its spec.
pub type RdCell = (
    usize,
    usize,
    Option<f64>,
    Option<u64>,
    f64,
    Vec<Option<f64>>,
    usize,
);

#[derive(Serialize)]
pub struct RdMetric {
    pub key: String,
    pub label: String,
    pub decimals: usize,
    pub higher_better: bool,
    /// The preset's quality band on this metric: the default y range.
    pub band: Option<[f64; 2]>,
}

#[derive(Serialize)]
pub struct RdCurve {
    pub name: String,
    pub label: String,
    pub color: String,
}

/// The rate-distortion view's data: every measured lossy cell of the report.
pub fn rd(r: &Report) -> RdData {
    let preset = super::answer::preset_of(r);
    let present = metrics_present(r.records);
    let metrics: Vec<RdMetric> = present
        .iter()
        .map(|m| RdMetric {
            key: m.key.into(),
            label: m.axis_label(),
            decimals: m.decimals,
            higher_better: m.direction.oriented(1.0) > 0.0,
            band: (m.key == preset.metric).then_some([preset.band.0, preset.band.1]),
        })
        .collect();
    let metric = present
        .iter()
        .position(|m| m.key == preset.metric)
        .unwrap_or(0);
    let lossy: Vec<&super::Curve> = r.curves.iter().filter(|c| !c.lossless).collect();
    let imgs = images(r.records);
    let mut specs: Vec<String> = Vec::new();
    let mut cells = Vec::new();
    for rec in r.records.iter().filter(|x| x.is_ok() && !x.lossless) {
        let (Some(c), Some(i), Some(bpp)) = (
            lossy.iter().position(|c| c.name == rec.curve),
            imgs.iter().position(|i| *i == rec.image),
            rec.bpp,
        ) else {
            continue;
        };
        let s = match specs.iter().position(|s| *s == rec.spec) {
            Some(s) => s,
            None => {
                specs.push(rec.spec.clone());
                specs.len() - 1
            }
        };
        let values = present
            .iter()
            .map(|m| (m.get)(rec).filter(|v| v.is_finite()))
            .collect();
        cells.push((c, i, rec.setting, rec.bytes, bpp, values, s));
    }
    let names: Vec<&str> = lossy.iter().map(|c| c.name.as_str()).collect();
    let labels = curve_labels(&names);
    RdData {
        metrics,
        metric,
        curves: lossy
            .iter()
            .zip(labels)
            .map(|(c, label)| RdCurve {
                name: c.name.clone(),
                label,
                color: color_hex(c.color),
            })
            .collect(),
        images: imgs,
        cells,
        specs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_labels_are_the_short_label_and_the_setting() {
        assert_eq!(label("jpeg", "jpeg:q=85,subsampling=420"), "jpeg q=85");
        assert_eq!(label("none", "none"), "none");
    }
}
