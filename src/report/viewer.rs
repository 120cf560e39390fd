//! Data of the report's two interactive views, serialised into the page as JSON for
//! `viewer.js` (the split-slider crop comparison) and `rd.js` (the rate-distortion view). The
//! crops are embedded as data URIs that the page assigns to an `<img>` only when that image
//! is shown, so the browser decodes only what is looked at.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::crops::{CropFile, CropSet, Role};
use super::markup::{curve_labels, data_uri, image_mime, setting_text, short};
use super::Report;
use crate::analysis::series::{images, metrics_present};
use crate::plot::color_hex;

/// The default size limit of report.html, in MB (10^6 bytes): crops are embedded while the
/// page stays under it; the other images' crops are loaded from the run folder's crops/.
pub const MAX_PAGE_MB: f64 = 20.0;

/// Room kept free under the limit for what the size estimate does not count.
const SLACK: usize = 64 * 1024;

/// Longest configuration label in the views and tables (the full spec is in a tooltip).
pub const LABEL: usize = 28;

#[derive(Serialize)]
pub struct ViewerData {
    /// "SSIMULACRA2 80" or similar: what the crops are equal in.
    pub level: String,
    pub anchor: String,
    /// The configuration shown on the right by default (the answer's recommendation).
    pub default_curve: String,
    /// Every crop file the page shows, once (a cell shown for two roles shares its file):
    /// a data URI when embedded, else its URL relative to report.html.
    pub files: Vec<String>,
    pub images: Vec<ViewerImage>,
    /// Images whose crops are loaded from the run folder (not embedded), in page order.
    pub linked: Vec<String>,
    /// The run folder's crops/ relative to report.html (a URL ending in `/`).
    pub crops_url: String,
    /// The page's size limit, and the limit that would embed every crop, in MB.
    pub max_mb: f64,
    pub all_mb: f64,
    /// `all_mb` rounded up to a whole MB, for the flag to give.
    pub all_mb_whole: u64,
}

#[derive(Serialize)]
pub struct ViewerImage {
    pub id: String,
    pub rect: [u32; 4],
    /// Index into `files` of the original's crop.
    pub original: Option<usize>,
    pub notes: Vec<String>,
    pub cells: Vec<ViewerCell>,
    /// Whether its crops are in the page (else loaded from `crops_url`).
    pub embedded: bool,
    /// Its place in the embedding order (0: embedded first).
    pub rank: usize,
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
    /// Indices into `files` of the crop and of its error map.
    pub src: usize,
    pub heat: Option<usize>,
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

/// The files of one image's crops (original, crops, error maps), each once.
fn files_of(set: &CropSet) -> Vec<&CropFile> {
    let mut out: Vec<&CropFile> = Vec::new();
    let all = set.original.iter().chain(
        set.cells
            .iter()
            .flat_map(|c| std::iter::once(&c.file).chain(&c.heatmap)),
    );
    for f in all {
        if !out.iter().any(|o| o.name == f.name) {
            out.push(f);
        }
    }
    out
}

/// Bytes a file takes in the page as a base64 data URI.
fn embedded_size(f: &CropFile) -> usize {
    (f.bytes as usize).div_ceil(3) * 4 + "data:image/webp;base64,".len() + 8
}

/// The order in which images' crops are embedded, most useful for the decision first:
/// images where the answer's one setting has the least margin over the target (they decide
/// the setting: what ships at the edge of acceptable), then where the per-image setting saves
/// most against the uniform one; taken in turn from each kind of image (bit depth and
/// channels: 16-bit medical, gray, alpha, RGB...), so every kind is covered early.
pub fn priority(r: &Report) -> Vec<usize> {
    let target = r
        .answer
        .as_ref()
        .and_then(|a| a.targets.get(a.targets.len() / 2))
        .map(|t| (t.metric, t.target));
    let score = |set: &CropSet| -> (f64, f64) {
        let margin = target
            .and_then(|(m, level)| {
                set.cells
                    .iter()
                    .filter(|c| c.role == Role::Uniform)
                    .filter_map(|c| {
                        let v = c.scores.iter().find(|(k, _)| *k == m)?.1?;
                        Some(m.direction.oriented(v) - m.direction.oriented(level))
                    })
                    .reduce(f64::min)
            })
            .unwrap_or(f64::INFINITY);
        let overspend = set
            .cells
            .iter()
            .filter(|c| c.role == Role::Uniform)
            .filter_map(|u| {
                let t = set
                    .cells
                    .iter()
                    .find(|c| c.role == Role::PerImage && c.curve == u.curve)?;
                Some(u.bytes? as f64 / t.bytes?.max(1) as f64)
            })
            .fold(1.0, f64::max);
        (margin, overspend)
    };
    let class = |set: &CropSet| {
        r.records
            .iter()
            .find(|x| x.image == set.image)
            .map_or((0, 0), |x| (x.bit_depth, x.channels))
    };
    let mut ranked: Vec<(usize, (f64, f64))> = r
        .crops
        .sets
        .iter()
        .enumerate()
        .map(|(i, s)| (i, score(s)))
        .collect();
    ranked.sort_by(|(i, a), (j, b)| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)).then(i.cmp(j)));
    // In turn from each class, classes in the order of their first image.
    let mut classes: Vec<((u8, u8), Vec<usize>)> = Vec::new();
    for (i, _) in ranked {
        let k = class(&r.crops.sets[i]);
        match classes.iter_mut().find(|(c, _)| *c == k) {
            Some((_, v)) => v.push(i),
            None => classes.push((k, vec![i])),
        }
    }
    let mut out = Vec::new();
    for round in 0.. {
        let before = out.len();
        out.extend(classes.iter().filter_map(|(_, v)| v.get(round)));
        if out.len() == before {
            break;
        }
    }
    out
}

/// The URL of `to` relative to the folder `from` (both folders), each part percent-encoded;
/// `None` when there is no relative path (e.g. another drive).
fn relative_url(from: &Path, to: &Path) -> Option<String> {
    let from = from.canonicalize().ok()?;
    let to = to.canonicalize().ok()?;
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = vec!["..".into(); a.len() - common];
    for c in &b[common..] {
        let text = c.as_os_str().to_str()?;
        parts.push(
            text.bytes()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || b"-._~".contains(&ch) {
                        (ch as char).to_string()
                    } else {
                        format!("%{ch:02X}")
                    }
                })
                .collect(),
        );
    }
    let mut url = parts.join("/");
    if !url.is_empty() {
        url.push('/');
    }
    Some(url)
}

/// The viewer's data from the crops the report read. Images are embedded in [`priority`]
/// order while their files fit in `room` bytes of the page; the others are referenced by their
/// path relative to report.html. A file that cannot be read is referenced too (with a note).
/// `bare`: the size of the page with no crop embedded (`None`: embed none).
pub fn viewer(r: &Report, max_mb: f64, bare: Option<usize>) -> ViewerData {
    let room = bare.map_or(0, |b| room(max_mb, b));
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
    let run_dir = &r.opts.run_dir;
    let crops_dir = run_dir.join(super::crops::DIR);
    let crops_url = relative_url(&r.opts.out, &crops_dir).unwrap_or_else(|| {
        // No relative path: the folder's absolute file URL.
        format!("file://{}/", crops_dir.display())
    });
    // Which images are embedded: in priority order, while they fit.
    let order = priority(r);
    let mut embed = vec![false; r.crops.sets.len()];
    let mut rank = vec![0; r.crops.sets.len()];
    let mut used = 0;
    let mut all = 0;
    for (k, &i) in order.iter().enumerate() {
        rank[i] = k;
        let size: usize = files_of(&r.crops.sets[i])
            .iter()
            .map(|f| embedded_size(f))
            .sum();
        all += size;
        if used + size <= room {
            used += size;
            embed[i] = true;
        }
    }
    // Rounded up to a tenth, with the page's own size and the slack added.
    let all_mb = ((bare.unwrap_or(0) + all + SLACK) as f64 / 1e5).ceil() / 10.0;
    let mut files: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    let mut linked = Vec::new();
    for (i, set) in r.crops.sets.iter().enumerate() {
        let mut notes = set.notes.clone();
        let mut file = |f: &CropFile| -> usize {
            if let Some(&k) = index.get(&f.name) {
                return k;
            }
            let url = if embed[i] {
                match f.read(run_dir) {
                    Ok(bytes) => data_uri(image_mime(&f.name), &bytes),
                    Err(e) => {
                        notes.push(format!("{e} (referenced instead of embedded)"));
                        format!("{crops_url}{}", f.name)
                    }
                }
            } else {
                format!("{crops_url}{}", f.name)
            };
            files.push(url);
            index.insert(f.name.clone(), files.len() - 1);
            files.len() - 1
        };
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
        let original = set.original.as_ref().map(&mut file);
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
                src: file(&c.file),
                heat: c.heatmap.as_ref().map(&mut file),
                chosen: c.chosen.clone(),
                source: c.source.label().into(),
            })
            .collect();
        if !embed[i] && !set.cells.is_empty() {
            linked.push(set.image.clone());
        }
        let (x, y, w, h) = set.rect;
        out.push(ViewerImage {
            id: set.image.clone(),
            rect: [x, y, w, h],
            original,
            notes,
            cells,
            embedded: embed[i],
            rank: rank[i],
        });
    }
    ViewerData {
        level,
        anchor,
        default_curve,
        files,
        images: out,
        linked,
        crops_url,
        max_mb,
        all_mb,
        all_mb_whole: all_mb.ceil() as u64,
    }
}

/// The room left for crops under `max_mb` MB on a page of `bare` bytes without them.
fn room(max_mb: f64, bare: usize) -> usize {
    ((max_mb * 1e6) as usize).saturating_sub(bare + SLACK)
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
