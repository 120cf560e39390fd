//! Visual comparison crops: for each image, a 1:1 crop of the original and of each lossy codec
//! configuration at equal quality: the setting each curve needs for the middle quality target
//! ([`QualityRule`]: SSIMULACRA 2 80 when it was measured, or the middle `--target` of a
//! target search). On a `--target` run the searched setting is shown; otherwise the cheapest
//! swept cell that meets the level. Only when no quality metric was measured is the cell
//! whose bpp is nearest `--crop-bpp` shown instead, and the report says so.
//!
//! `run` makes them ([`save`]) while it still has the originals and the codecs: decoded pixels
//! come from the saved encoded files (`--save-encoded`), or from encoding the original again
//! (checked against the measured byte count). It writes the crop PNGs and a manifest,
//! `crops/crops.json`, into the run folder. `merge` joins the manifests of the runs it merges
//! ([`merge`]); `report` only reads them back ([`load`]), so making a report touches no codec
//! and no corpus file.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::codec::CodecConfig;
use crate::corpus::SourceImage;
use crate::export::{json_bytes, write_atomic};
use crate::pixels::{conform, Image, Prep};
use crate::record::CellRecord;
use crate::target::TargetRow;

use crate::analysis::series::{curves, images, Curve};

/// Side of the square crop, in pixels (smaller for smaller images).
pub const CROP: u32 = 192;

/// Folder of the crops inside a run folder.
pub const DIR: &str = "crops";

/// File name of the manifest inside [`DIR`].
pub const MANIFEST: &str = "crops.json";

/// The equal-quality level crops are taken at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityRule {
    /// Metric key (METRICS table).
    pub metric: String,
    pub level: f64,
    /// Whether the level is a target of the run's target search (targets.csv).
    pub searched: bool,
}

impl QualityRule {
    /// E.g. "SSIMULACRA2 80".
    pub fn describe(&self) -> String {
        let name = crate::metrics::find(&self.metric).map_or(self.metric.as_str(), |m| m.name);
        format!("{name} {}", self.level)
    }
}

/// `crops/crops.json`: which crops a run saved, and for which cells.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The bpp the cells were chosen for when no quality metric was measured (the run's
    /// `--crop-bpp`).
    pub target_bpp: f64,
    /// The equal-quality level the cells were chosen for; absent: chosen by bpp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<QualityRule>,
    /// Notes on the crops as a whole (e.g. merged runs that had none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub images: Vec<ImageEntry>,
}

/// The crops of one image in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageEntry {
    /// Image id, as in results.csv.
    pub image: String,
    /// Hash of the image's decoded pixels, as in results.csv.
    pub image_hash: String,
    pub rect: Rect,
    /// Why some crops are missing, and how 16-bit data is shown.
    #[serde(default)]
    pub notes: Vec<String>,
    /// PNG of the original's crop, relative to `crops/`.
    pub original: String,
    pub cells: Vec<CellEntry>,
}

/// The crop's place in the image, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// One cell's crop in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellEntry {
    pub spec: String,
    pub bpp: f64,
    pub psnr: Option<f64>,
    /// Encoded size of the cell, as measured.
    pub bytes: Option<u64>,
    /// PNG of the crop, relative to `crops/`.
    pub file: String,
    /// "saved file" or "re-encoded": where the decoded pixels came from.
    pub source: String,
    /// Why this cell was chosen (e.g. "searched: meets SSIMULACRA2 80").
    #[serde(default)]
    pub chosen: String,
}

/// Files written by [`save`] or [`merge`], and what went wrong on the way.
#[derive(Debug, Default)]
pub struct Saved {
    pub files: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file exists but cannot be read.
    #[error(
        "cannot read {}: {source}; check its permissions, or run `codecbench run` again to remake the crops",
        path.display()
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a crops manifest.
    #[error(
        "cannot parse {}: {source}; the file is damaged: run `codecbench run` again to remake the crops",
        path.display()
    )]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Reads `<run_dir>/crops/crops.json`; `Ok(None)` when there is none.
pub fn read_manifest(run_dir: &Path) -> Result<Option<Manifest>, ManifestError> {
    let path = run_dir.join(DIR).join(MANIFEST);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ManifestError::Read { path, source }),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| ManifestError::Parse { path, source })
}

/// A file name part for `text`: safe characters kept, the rest `_`, then a short hash of the
/// whole text so that different texts never share a name.
fn slug(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    s.push('-');
    s.push_str(&blake3::hash(text.as_bytes()).to_hex()[..8]);
    s
}

/// Distance of a cell's bpp from the target, on a log scale.
fn distance(bpp: f64, target_bpp: f64) -> f64 {
    (bpp / target_bpp).ln().abs()
}

/// The level crops are taken at: the middle quality target of the search's rows when there
/// are any, else SSIMULACRA 2 80, else PSNR 40 dB, else the median of the first measured
/// metric over the lossy cells; `None` when no quality metric was measured.
pub fn quality_rule(records: &[CellRecord], targets: Option<&[TargetRow]>) -> Option<QualityRule> {
    if let Some((m, levels)) = targets.and_then(super::recommend::searched_targets) {
        if !levels.is_empty() {
            return Some(QualityRule {
                metric: m.key.into(),
                level: levels[levels.len() / 2],
                searched: true,
            });
        }
    }
    let present = crate::analysis::series::metrics_present(records);
    for (key, level) in [("ssimulacra2", 80.0), ("psnr", 40.0)] {
        if present.iter().any(|m| m.key == key) {
            return Some(QualityRule {
                metric: key.into(),
                level,
                searched: false,
            });
        }
    }
    let m = present.first()?;
    let mut v: Vec<f64> = records
        .iter()
        .filter(|r| r.is_ok() && !r.lossless)
        .filter_map(|r| (m.get)(r))
        .filter(|v| v.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    let level = *v.get(v.len() / 2)?;
    Some(QualityRule {
        metric: m.key.into(),
        level: (level * 1000.0).round() / 1000.0,
        searched: false,
    })
}

/// The cell of `curve` on image (`id`, `hash`) to show, and why: by `rule` when there is one
/// (the searched setting, else the cheapest swept cell meeting the level, else the best swept
/// one, said so), else the cell whose bpp is nearest `target_bpp`.
pub fn choose<'a>(
    records: &'a [CellRecord],
    targets: Option<&[TargetRow]>,
    (id, hash): (&str, &str),
    curve: &str,
    rule: Option<&QualityRule>,
    target_bpp: f64,
) -> Option<(&'a CellRecord, String)> {
    let cells: Vec<&CellRecord> = records
        .iter()
        .filter(|r| {
            r.image == id
                && r.image_hash == hash
                && r.curve == curve
                && r.is_ok()
                && r.bpp.is_some()
        })
        .collect();
    let Some(rule) = rule else {
        let d = |r: &CellRecord| distance(r.bpp.unwrap_or(0.0), target_bpp);
        let r = cells.into_iter().min_by(|a, b| d(a).total_cmp(&d(b)))?;
        return Some((
            r,
            format!("nearest {target_bpp} bpp (no quality metric measured)"),
        ));
    };
    let m = crate::metrics::find(&rule.metric)?;
    let what = rule.describe();
    let mut note = String::new();
    if let (true, Some(rows)) = (rule.searched, targets) {
        if let Some(row) = rows.iter().find(|t| {
            t.image == id
                && t.curve == curve
                && t.metric == rule.metric
                && (t.target - rule.level).abs() <= 1e-9 * rule.level.abs().max(1.0)
        }) {
            let found =
                crate::analysis::equal_quality::searched_cost(rows, id, curve, m, rule.level);
            match found {
                Ok(_) => {
                    if let Some(r) = cells
                        .iter()
                        .find(|r| r.setting == row.setting && r.bytes == row.bytes)
                    {
                        return Some((r, format!("searched: meets {what}")));
                    }
                    note = "searched cell not found; ".into();
                }
                Err(e) => note = format!("search: {e}; "),
            }
        }
    }
    let swept: Vec<&CellRecord> = cells
        .into_iter()
        .filter(|r| !r.probe && !r.lossless && (m.get)(r).is_some_and(f64::is_finite))
        .collect();
    let o = |r: &CellRecord| m.direction.oriented((m.get)(r).unwrap_or(f64::NAN));
    let goal = m.direction.oriented(rule.level);
    let bytes = |r: &CellRecord| r.bytes.unwrap_or(u64::MAX);
    if let Some(r) = swept
        .iter()
        .filter(|r| o(r) >= goal)
        .min_by_key(|r| bytes(r))
    {
        return Some((r, format!("{note}cheapest swept setting meeting {what}")));
    }
    let r = swept.into_iter().max_by(|a, b| o(a).total_cmp(&o(b)))?;
    Some((
        r,
        format!("{note}never reaches {what}: its best swept setting shown"),
    ))
}

/// The pixels of a source image (the one place crops touch them).
/// The configuration of a cell: one of the sweep's, or (a target-search probe) the sweep's
/// configuration of the same curve at the cell's setting.
fn config_of(
    rec: &CellRecord,
    by_spec: &HashMap<String, &CodecConfig>,
) -> Result<CodecConfig, String> {
    if let Some(c) = by_spec.get(&rec.spec) {
        return Ok((*c).clone());
    }
    let base = by_spec
        .values()
        .find(|c| c.curve() == rec.curve)
        .ok_or_else(|| format!("{} is not a configuration of this sweep", rec.spec))?;
    let v = rec
        .setting
        .ok_or_else(|| format!("{} has no setting", rec.spec))?;
    let value = match base.codec.params().first().map(|p| &p.kind) {
        Some(crate::codec::Kind::Int { .. }) => crate::codec::Value::Int(v.round() as i64),
        _ => crate::codec::Value::Float(v),
    };
    let c = base.with_setting(value).map_err(|e| e.to_string())?;
    if c.spec() != rec.spec {
        return Err(format!(
            "{}: cannot rebuild its configuration (got {})",
            rec.spec,
            c.spec()
        ));
    }
    Ok(c)
}

/// Saves the crops of every measured image into `<run_dir>/crops/` (PNGs and the manifest).
/// For each image and lossy curve, the cell [`choose`] picks is shown (at equal quality; by
/// `target_bpp` only when no quality metric was measured); the target search's rows are read
/// from `<run_dir>/targets.csv` when the run wrote one. `records` are all rows, probes too.
/// Pixels come from the saved encoded file when there is one, else from encoding the source
/// again with the matching configuration.
pub fn save(
    run_dir: &Path,
    records: &[CellRecord],
    sources: &[SourceImage],
    configs: &[CodecConfig],
    target_bpp: f64,
) -> Saved {
    use rayon::prelude::*;
    let mut saved = Saved::default();
    if !(target_bpp.is_finite() && target_bpp > 0.0) {
        saved.warnings.push(format!(
            "--crop-bpp {target_bpp}: not a positive number of bits per pixel; no crops saved"
        ));
        return saved;
    }
    let curves = curves(records);
    let by_id: HashMap<&str, &SourceImage> = sources.iter().map(|s| (s.id.as_str(), s)).collect();
    let by_spec: HashMap<String, &CodecConfig> = configs.iter().map(|c| (c.spec(), c)).collect();
    let (targets, note) = super::read_targets(run_dir);
    saved.warnings.extend(note);
    let swept = crate::target::swept(records);
    let rule = quality_rule(&swept, targets.as_deref());
    let pick = Pick {
        records,
        targets: targets.as_deref(),
        rule: rule.as_ref(),
        target_bpp,
    };
    let ids = images(records);
    let made: Vec<(Option<ImageEntry>, Saved)> = ids
        .par_iter()
        .filter_map(|id| by_id.get(id.as_str()))
        // The sweep dropped the pixels after the image's last cell: the file is read again.
        .map(|src| match src.pixels() {
            Ok(px) => {
                let (entry, s) = image_crops(run_dir, &pick, &curves, &by_spec, src, &px);
                src.release();
                (Some(entry), s)
            }
            Err(e) => {
                let mut s = Saved::default();
                s.warnings.push(format!(
                    "{}: cannot read the source again for its crops ({e}); none saved",
                    src.path.display()
                ));
                (None, s)
            }
        })
        .collect();
    let mut manifest = Manifest {
        target_bpp,
        quality: rule.clone(),
        notes: Vec::new(),
        images: Vec::new(),
    };
    for (entry, s) in made {
        manifest.images.extend(entry);
        saved.files.extend(s.files);
        saved.warnings.extend(s.warnings);
    }
    write_manifest(run_dir, &manifest, &mut saved);
    saved
}

fn write_manifest(run_dir: &Path, manifest: &Manifest, saved: &mut Saved) {
    let path = run_dir.join(DIR).join(MANIFEST);
    let written = std::fs::create_dir_all(run_dir.join(DIR))
        .and_then(|()| write_atomic(&path, &json_bytes(manifest)?));
    match written {
        Ok(()) => saved.files.push(path),
        Err(e) => saved.warnings.push(format!(
            "cannot write {}: {e}; the report will have no crops",
            path.display()
        )),
    }
}

/// Writes `png` as `<run_dir>/crops/<name>`.
fn write_png(run_dir: &Path, name: &str, png: &[u8], saved: &mut Saved) -> bool {
    let path = run_dir.join(DIR).join(name);
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| write_atomic(&path, png));
    match written {
        Ok(()) => {
            saved.files.push(path);
            true
        }
        Err(e) => {
            saved
                .warnings
                .push(format!("cannot write crop {}: {e}", path.display()));
            false
        }
    }
}

/// What [`choose`] needs, shared by every image.
struct Pick<'a> {
    records: &'a [CellRecord],
    targets: Option<&'a [TargetRow]>,
    rule: Option<&'a QualityRule>,
    target_bpp: f64,
}

/// The crops of one source image, written as files.
fn image_crops(
    run_dir: &Path,
    pick: &Pick,
    curves: &[Curve],
    by_spec: &HashMap<String, &CodecConfig>,
    src: &SourceImage,
    original: &Image,
) -> (ImageEntry, Saved) {
    let mut saved = Saved::default();
    let rect = busiest_region(original);
    let window = (original.depth() == 16).then(|| sample_window(original, rect));
    let mut notes = Vec::new();
    if let Some((lo, hi)) = window {
        notes.push(format!(
            "16-bit samples shown with a display window {lo}..{hi} stretched to 0..255 (same window for every crop)"
        ));
    }
    let folder = slug(&src.id);
    let original_file = format!("{folder}/original.png");
    let png = display_png(original, rect, window, original.depth());
    write_png(run_dir, &original_file, &png, &mut saved);
    let mut cells = Vec::new();
    for curve in curves.iter().filter(|c| !c.lossless) {
        let chosen = choose(
            pick.records,
            pick.targets,
            (&src.id, src.hash()),
            &curve.name,
            pick.rule,
            pick.target_bpp,
        );
        let Some((rec, why)) = chosen else { continue };
        match cell_pixels(rec, run_dir, by_spec, original) {
            Ok((img, source)) => {
                let file = format!("{folder}/{}.png", slug(&rec.spec));
                let png = display_png(&img, rect, window, original.depth());
                if write_png(run_dir, &file, &png, &mut saved) {
                    cells.push(CellEntry {
                        spec: rec.spec.clone(),
                        bpp: rec.bpp.unwrap_or(f64::NAN),
                        psnr: rec.psnr,
                        bytes: rec.bytes,
                        file,
                        source: source.into(),
                        chosen: why,
                    });
                }
            }
            Err(e) => {
                saved
                    .warnings
                    .push(format!("crop of {} {}: {e}", src.id, rec.spec));
                notes.push(format!("{}: {e}", rec.spec));
            }
        }
    }
    let (x, y, width, height) = rect;
    let entry = ImageEntry {
        image: src.id.clone(),
        image_hash: src.hash().to_string(),
        rect: Rect {
            x,
            y,
            width,
            height,
        },
        notes,
        original: original_file,
        cells,
    };
    (entry, saved)
}

/// The decoded pixels of a cell, and where they came from: the saved encoded file when the
/// run kept it, else the source encoded again.
fn cell_pixels(
    rec: &CellRecord,
    run_dir: &Path,
    by_spec: &HashMap<String, &CodecConfig>,
    original: &Image,
) -> Result<(Image, &'static str), String> {
    let config = &config_of(rec, by_spec)?;
    let path = run_dir.join(&rec.encoded_file);
    if !rec.encoded_file.is_empty() && path.is_file() {
        let kept = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if Some(kept.len() as u64) != rec.bytes {
            return Err(format!(
                "{} has {} bytes, the run measured {:?}; not shown",
                path.display(),
                kept.len(),
                rec.bytes
            ));
        }
        Ok((
            codec_pixels(config, original, Some(&kept), rec.bytes)?,
            "saved file",
        ))
    } else {
        Ok((
            codec_pixels(config, original, None, rec.bytes)?,
            "re-encoded",
        ))
    }
}

/// Every call into the codec: plans the codec's input layout, encodes `original` again unless
/// `kept` holds the encoded bytes (a new encoding must have `measured_bytes` bytes), decodes,
/// and brings the decoded image to the codec's input layout.
fn codec_pixels(
    config: &CodecConfig,
    original: &Image,
    kept: Option<&[u8]>,
    measured_bytes: Option<u64>,
) -> Result<Image, String> {
    let codec = &config.codec;
    let prep = Prep::plan(original.layout(), codec.input_layout(original.layout()))?;
    let encoded;
    let bytes = match kept {
        Some(b) => b,
        None => {
            let input = prep.apply(original);
            encoded = crate::codec::catch(|| codec.encode(&input, &config.params))
                .map_err(|e| e.to_string())?
                .bytes;
            if Some(encoded.len() as u64) != measured_bytes {
                return Err(format!(
                    "re-encoding gave {} bytes, the run measured {:?}; not shown (rerun with --save-encoded)",
                    encoded.len(),
                    measured_bytes
                ));
            }
            &encoded
        }
    };
    let img = crate::codec::catch(|| codec.decode(bytes))
        .map_err(|e| e.to_string())?
        .image;
    conform(img, prep.to)
}

/// One crop as the report shows it.
pub struct CropCell {
    pub spec: String,
    pub color: usize,
    pub bpp: f64,
    pub psnr: Option<f64>,
    /// Encoded size, as measured.
    pub bytes: Option<u64>,
    /// Every metric measured in the run, (label, value as text), for the caption.
    pub metrics: Vec<(String, String)>,
    pub png: Vec<u8>,
    /// "saved file" or "re-encoded".
    pub source: String,
    /// Why this cell was chosen.
    pub chosen: String,
}

/// The crops of one image, as the report shows them.
pub struct CropSet {
    pub image: String,
    pub rect: (u32, u32, u32, u32),
    pub original_png: Vec<u8>,
    pub cells: Vec<CropCell>,
    /// Why some or all crops are missing, and how 16-bit data is shown.
    pub notes: Vec<String>,
}

/// The crops read for a report.
pub struct Crops {
    pub sets: Vec<CropSet>,
    /// Notes on the crops as a whole: absent, made at another bpp, unreadable.
    pub notes: Vec<String>,
    /// The bpp the crops were made at, when there is a manifest.
    pub made_at: Option<f64>,
    /// The equal-quality level the crops were chosen at (`None`: by bpp).
    pub quality: Option<QualityRule>,
}

/// The message of a report whose run folder has no crops.
fn absent(run_dir: &Path) -> String {
    format!(
        "Crops are absent: {} does not exist. Crops are made by `codecbench run` and saved in \
         the run folder's crops/; a run with --no-report saves none, and a results.csv copied \
         alone leaves them behind. To get them, re-run `codecbench run` without --no-report \
         (add --save-encoded to cut them from the kept encoded files instead of encoding \
         again), or copy the run's crops/ folder beside results.csv.",
        run_dir.join(DIR).join(MANIFEST).display()
    )
}

/// A manifest file name that stays inside `crops/`.
fn inside(name: &str) -> bool {
    let p = Path::new(name);
    !name.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Reads a crop PNG named in the manifest.
fn read_png(run_dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    if !inside(name) {
        return Err(format!(
            "{name}: not a file inside crops/; the manifest is damaged"
        ));
    }
    let path = run_dir.join(DIR).join(name);
    std::fs::read(&path).map_err(|e| {
        format!(
            "cannot read {}: {e}; run `codecbench run` again to remake the crops",
            path.display()
        )
    })
}

/// Reads the crops saved in `run_dir` for the images and cells of `records`. Nothing is
/// decoded or encoded: a crop whose cell is not in `records` (or has another size) is left out
/// with a note.
pub fn load(run_dir: &Path, records: &[CellRecord], curves: &[Curve], target_bpp: f64) -> Crops {
    let manifest = match read_manifest(run_dir) {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Crops {
                sets: Vec::new(),
                notes: vec![absent(run_dir)],
                made_at: None,
                quality: None,
            }
        }
        Err(e) => {
            return Crops {
                sets: Vec::new(),
                notes: vec![e.to_string()],
                made_at: None,
                quality: None,
            }
        }
    };
    let mut notes = manifest.notes.clone();
    let measured = crate::analysis::series::metrics_present(records);
    if manifest.quality.is_none()
        && (manifest.target_bpp - target_bpp).abs() > 1e-9 * target_bpp.abs().max(1.0)
    {
        notes.push(format!(
            "The crops were made at {} bpp (the --crop-bpp of the run), not at the {} bpp asked \
             for: a report shows the crops saved in the run folder. To get crops at {} bpp, run \
             `codecbench run --crop-bpp {}` again.",
            manifest.target_bpp, target_bpp, target_bpp, target_bpp
        ));
    }
    let manifest_path = run_dir.join(DIR).join(MANIFEST);
    let mut sets = Vec::new();
    for id in images(records) {
        let hash = records
            .iter()
            .find(|r| r.image == id)
            .map(|r| r.image_hash.as_str());
        let Some(entry) = manifest.images.iter().find(|e| e.image == id) else {
            notes.push(format!(
                "{id}: no crops in {} (measured in another run?)",
                manifest_path.display()
            ));
            continue;
        };
        let Rect {
            x,
            y,
            width,
            height,
        } = entry.rect;
        let mut set = CropSet {
            image: id.clone(),
            rect: (x, y, width, height),
            original_png: Vec::new(),
            cells: Vec::new(),
            notes: entry.notes.clone(),
        };
        if hash != Some(entry.image_hash.as_str()) {
            set.notes.push(format!(
                "the crops in {} were made from other pixels than results.csv measured \
                 (crops/ of another run?); not shown",
                manifest_path.display()
            ));
            sets.push(set);
            continue;
        }
        match read_png(run_dir, &entry.original) {
            Ok(png) => set.original_png = png,
            Err(e) => set.notes.push(format!("original: {e}")),
        }
        for cell in &entry.cells {
            let rec = records
                .iter()
                .find(|r| r.image == id && r.spec == cell.spec);
            // Matched by key (image, spec) and the integer byte count, never by a float: a
            // bpp read back from JSON may differ from the CSV's in the last place.
            let Some(rec) = rec.filter(|r| r.bytes == cell.bytes) else {
                set.notes.push(format!(
                    "{}: the crop in {} is of a cell that results.csv does not have (crops/ of \
                     another run?); not shown",
                    cell.spec,
                    manifest_path.display()
                ));
                continue;
            };
            match read_png(run_dir, &cell.file) {
                Ok(png) => set.cells.push(CropCell {
                    spec: cell.spec.clone(),
                    color: curves
                        .iter()
                        .find(|c| c.name == rec.curve)
                        .map_or(0, |c| c.color),
                    bpp: cell.bpp,
                    psnr: cell.psnr,
                    bytes: cell.bytes,
                    metrics: measured
                        .iter()
                        .map(|m| (m.axis_label(), super::html::num((m.get)(rec), m.decimals)))
                        .collect(),
                    png,
                    source: cell.source.clone(),
                    chosen: cell.chosen.clone(),
                }),
                Err(e) => set.notes.push(format!("{}: {e}", cell.spec)),
            }
        }
        sets.push(set);
    }
    Crops {
        sets,
        notes,
        made_at: Some(manifest.target_bpp),
        quality: manifest.quality.clone(),
    }
}

/// Copies `<from>/crops/<name>` to `<out>/crops/<name>` (nothing to do when they are one file).
fn copy_png(from: &Path, out: &Path, name: &str, saved: &mut Saved) -> bool {
    let dst = out.join(DIR).join(name);
    let src = from.join(DIR).join(name);
    if let (Ok(a), Ok(b)) = (src.canonicalize(), dst.canonicalize()) {
        if a == b {
            saved.files.push(dst);
            return true;
        }
    }
    match read_png(from, name) {
        Ok(png) => write_png(out, name, &png, saved),
        Err(e) => {
            saved.warnings.push(format!("crop not merged: {e}"));
            false
        }
    }
}

/// Merges the crops of the run folders `inputs` into `<out>/crops/` for the merged `records`
/// (in plan order): for each image and lossy curve, the crop nearest the target bpp among the
/// inputs' crops (the one the unsharded run would have chosen, when every input has crops).
/// Inputs without crops are named in the warnings and the manifest's notes; with none at all,
/// no manifest is written and the report says crops are absent.
pub fn merge(inputs: &[PathBuf], out: &Path, records: &[CellRecord]) -> Saved {
    let mut saved = Saved::default();
    let mut found: Vec<(&PathBuf, Manifest)> = Vec::new();
    let mut absent_in: Vec<String> = Vec::new();
    for d in inputs {
        match read_manifest(d) {
            Ok(Some(m)) => found.push((d, m)),
            Ok(None) => absent_in.push(format!(
                "{}: no crops ({} is absent; was it run with --no-report?)",
                d.display(),
                d.join(DIR).join(MANIFEST).display()
            )),
            Err(e) => absent_in.push(format!("{}: crops left out: {e}", d.display())),
        }
    }
    if found.is_empty() {
        saved.warnings.push(format!(
            "crops are absent: no input has {DIR}/{MANIFEST} (runs made with --no-report have \
             none), so the merged report has no crops; run the shards without --no-report to \
             get them"
        ));
        return saved;
    }
    let target = found[0].1.target_bpp;
    let first = found[0].0.clone();
    let quality = found[0].1.quality.clone();
    found.retain(|(d, m)| {
        if m.quality != quality {
            absent_in.push(format!(
                "{}: crops chosen {}, those of {} {}; left out (run every shard with the same metrics and --target)",
                d.display(),
                m.quality.as_ref().map_or("by bpp".into(), |q| format!("at {}", q.describe())),
                first.display(),
                quality.as_ref().map_or("by bpp".into(), |q| format!("at {}", q.describe())),
            ));
            return false;
        }
        let same = (m.target_bpp - target).abs() <= 1e-9 * target.abs().max(1.0);
        if !same {
            absent_in.push(format!(
                "{}: crops made at {} bpp, those of {} at {target} bpp; left out (run every shard with the same --crop-bpp)",
                d.display(),
                m.target_bpp,
                first.display()
            ));
        }
        same
    });
    let mut manifest = Manifest {
        target_bpp: target,
        quality: quality.clone(),
        notes: Vec::new(),
        images: Vec::new(),
    };
    for n in absent_in {
        saved.warnings.push(n.clone());
        manifest.notes.push(format!(
            "{n}: crops of the cells measured only there may be missing"
        ));
    }
    for (_, m) in &found {
        manifest.notes.extend(m.notes.iter().cloned());
    }
    let curves = curves(records);
    let index: HashMap<(&str, &str), (usize, &CellRecord)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.image.as_str(), r.spec.as_str()), (i, r)))
        .collect();
    for id in images(records) {
        let Some(hash) = records
            .iter()
            .find(|r| r.image == id)
            .map(|r| &r.image_hash)
        else {
            continue;
        };
        let entries: Vec<(&Path, &ImageEntry)> = found
            .iter()
            .flat_map(|(d, m)| {
                m.images
                    .iter()
                    .filter(|e| e.image == id && &e.image_hash == hash)
                    .map(move |e| (d.as_path(), e))
            })
            .collect();
        let Some(&(dir0, e0)) = entries.first() else {
            continue;
        };
        let mut notes: Vec<String> = Vec::new();
        for (_, e) in &entries {
            for n in &e.notes {
                if !notes.contains(n) {
                    notes.push(n.clone());
                }
            }
        }
        let mut entry = ImageEntry {
            image: id.clone(),
            image_hash: hash.clone(),
            rect: e0.rect,
            notes,
            original: e0.original.clone(),
            cells: Vec::new(),
        };
        if !copy_png(dir0, out, &e0.original, &mut saved) {
            continue;
        }
        for curve in curves.iter().filter(|c| !c.lossless) {
            let cands: Vec<(usize, &Path, &CellEntry, &CellRecord)> = entries
                .iter()
                .flat_map(|&(d, e)| e.cells.iter().map(move |c| (d, c)))
                .filter_map(|(d, c)| {
                    let &(i, r) = index.get(&(id.as_str(), c.spec.as_str()))?;
                    (r.curve == curve.name).then_some((i, d, c, r))
                })
                .collect();
            let best = merge_pick(&cands, quality.as_ref(), target).map(|(i, d, c, _)| (i, d, c));
            if let Some((_, d, c)) = best {
                if copy_png(d, out, &c.file, &mut saved) {
                    entry.cells.push(c.clone());
                }
            }
        }
        manifest.images.push(entry);
    }
    write_manifest(out, &manifest, &mut saved);
    saved
}

/// The crop among `cands` (row index, input folder, entry, merged row) that the unsharded run
/// would have shown under the same rule as [`choose`]: a searched cell, else the cheapest
/// meeting the level, else the best; by bpp when there is no rule. Ties: plan order.
fn merge_pick<'a>(
    cands: &[(usize, &'a Path, &'a CellEntry, &'a CellRecord)],
    rule: Option<&QualityRule>,
    target_bpp: f64,
) -> Option<(usize, &'a Path, &'a CellEntry, &'a CellRecord)> {
    let m = rule.and_then(|q| crate::metrics::find(&q.metric).map(|m| (q, m)));
    let Some((q, m)) = m else {
        return cands.iter().copied().min_by(|a, b| {
            distance(a.2.bpp, target_bpp)
                .total_cmp(&distance(b.2.bpp, target_bpp))
                .then(a.0.cmp(&b.0))
        });
    };
    if let Some(c) = cands.iter().find(|c| c.2.chosen.starts_with("searched")) {
        return Some(*c);
    }
    let o = |r: &CellRecord| m.direction.oriented((m.get)(r).unwrap_or(f64::NAN));
    let goal = m.direction.oriented(q.level);
    cands
        .iter()
        .copied()
        .filter(|c| o(c.3) >= goal)
        .min_by_key(|c| (c.3.bytes.unwrap_or(u64::MAX), c.0))
        .or_else(|| {
            cands
                .iter()
                .copied()
                .filter(|c| o(c.3).is_finite())
                .max_by(|a, b| o(a.3).total_cmp(&o(b.3)).then(b.0.cmp(&a.0)))
        })
}

/// Top-left corner and size of the crop with the most detail: gradient energy (absolute
/// horizontal plus vertical differences of the first channel) summed per 16x16 block once,
/// then the best window of blocks found with a 2-D prefix sum, so large images stay cheap.
fn busiest_region(img: &Image) -> (u32, u32, u32, u32) {
    const B: usize = 16;
    let (w, h) = (img.width as usize, img.height as usize);
    let (cw, ch) = (CROP.min(img.width), CROP.min(img.height));
    let (bw, bh) = (w / B, h / B);
    let (kw, kh) = (cw as usize / B, ch as usize / B);
    if bw == 0 || bh == 0 || kw == 0 || kh == 0 {
        return (0, 0, cw, ch);
    }
    let c = img.channels as usize;
    let at = |x: usize, y: usize| img.sample((y * w + x) * c) as i64;
    // prefix[(by)(bw+1) + bx]: energy of blocks above and left of (bx, by).
    let mut prefix = vec![0i64; (bw + 1) * (bh + 1)];
    for by in 0..bh {
        for bx in 0..bw {
            let mut e = 0i64;
            for y in by * B..((by + 1) * B).min(h - 1) {
                for x in bx * B..((bx + 1) * B).min(w - 1) {
                    e += (at(x + 1, y) - at(x, y)).abs() + (at(x, y + 1) - at(x, y)).abs();
                }
            }
            let i = (by + 1) * (bw + 1) + bx + 1;
            prefix[i] = e + prefix[i - 1] + prefix[i - bw - 1] - prefix[i - bw - 2];
        }
    }
    let sum = |x0: usize, y0: usize| {
        let (x1, y1) = (x0 + kw, y0 + kh);
        let p = |x: usize, y: usize| prefix[y * (bw + 1) + x];
        p(x1, y1) - p(x0, y1) - p(x1, y0) + p(x0, y0)
    };
    let mut best = (0, 0, -1i64);
    for y0 in 0..=bh - kh {
        for x0 in 0..=bw - kw {
            let e = sum(x0, y0);
            if e > best.2 {
                best = (x0, y0, e);
            }
        }
    }
    let x = ((best.0 * B) as u32).min(img.width - cw);
    let y = ((best.1 * B) as u32).min(img.height - ch);
    (x, y, cw, ch)
}

/// Min and max sample of the crop (16-bit display window).
fn sample_window(img: &Image, (x0, y0, w, h): (u32, u32, u32, u32)) -> (u32, u32) {
    let c = img.channels as usize;
    let colour = if img.layout().has_alpha() { c - 1 } else { c };
    let (mut lo, mut hi) = (u32::MAX, 0);
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            for k in 0..colour {
                let v = img.sample((y as usize * img.width as usize + x as usize) * c + k);
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    (lo, hi.max(lo + 1))
}

/// An RGBA8 PNG of the crop; samples are first brought to `source_depth` (8-bit decodes of a
/// 16-bit source are multiplied by 257), then windowed if a window is given.
fn display_png(
    img: &Image,
    (x0, y0, w, h): (u32, u32, u32, u32),
    window: Option<(u32, u32)>,
    source_depth: u8,
) -> Vec<u8> {
    let c = img.channels as usize;
    let scale = if source_depth == 16 && img.depth() == 8 {
        257
    } else {
        1
    };
    let peak = img.layout().peak() * scale;
    let to8 = |v: u32| -> u8 {
        let v = v * scale;
        match window {
            Some((lo, hi)) => ((v.clamp(lo, hi) - lo) as u64 * 255 / (hi - lo) as u64) as u8,
            None => (v as u64 * 255 / peak as u64) as u8,
        }
    };
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            let p = (y as usize * img.width as usize + x as usize) * c;
            let s = |k: usize| img.sample(p + k);
            let (r, g, b, a) = match c {
                1 => (s(0), s(0), s(0), None),
                2 => (s(0), s(0), s(0), Some(s(1))),
                3 => (s(0), s(1), s(2), None),
                _ => (s(0), s(1), s(2), Some(s(3))),
            };
            let alpha = a.map_or(255, |a| (a as u64 * 255 / img.layout().peak() as u64) as u8);
            out.extend_from_slice(&[to8(r), to8(g), to8(b), alpha]);
        }
    }
    let mut png = Vec::new();
    let _ = image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &out,
        w,
        h,
        image::ExtendedColorType::Rgba8,
    );
    png
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crop_is_matched_by_key_not_by_a_bpp_one_ulp_off() {
        // A bpp read back from crops.json can differ from results.csv's in the last place
        // (serde_json without float_roundtrip); the crop must still be shown.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(DIR)).unwrap();
        let png = vec![0x89, b'P', b'N', b'G'];
        std::fs::write(dir.path().join(DIR).join("o.png"), &png).unwrap();
        std::fs::write(dir.path().join(DIR).join("c.png"), &png).unwrap();
        let bpp = 0.1 + 0.2;
        let rec = CellRecord {
            image: "a.png".into(),
            image_hash: "h".into(),
            spec: "jpeg:q=80".into(),
            curve: "jpeg".into(),
            bpp: Some(bpp),
            bytes: Some(1234),
            ..Default::default()
        };
        let manifest = Manifest {
            target_bpp: 0.5,
            quality: None,
            notes: Vec::new(),
            images: vec![ImageEntry {
                image: "a.png".into(),
                image_hash: "h".into(),
                rect: Rect {
                    x: 0,
                    y: 0,
                    width: 1,
                    height: 1,
                },
                notes: Vec::new(),
                original: "o.png".into(),
                cells: vec![CellEntry {
                    spec: "jpeg:q=80".into(),
                    bpp: f64::from_bits(bpp.to_bits() + 1),
                    psnr: None,
                    bytes: Some(1234),
                    file: "c.png".into(),
                    source: "saved file".into(),
                    chosen: String::new(),
                }],
            }],
        };
        std::fs::write(
            dir.path().join(DIR).join(MANIFEST),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        let crops = load(dir.path(), std::slice::from_ref(&rec), &[], 0.5);
        assert_eq!(crops.sets.len(), 1);
        assert_eq!(crops.sets[0].cells.len(), 1, "{:?}", crops.sets[0].notes);
        // Another byte count is another cell: left out with a note.
        let other = CellRecord {
            bytes: Some(999),
            ..rec
        };
        let crops = load(dir.path(), &[other], &[], 0.5);
        assert_eq!(crops.sets[0].cells.len(), 0);
        assert_eq!(crops.sets[0].notes.len(), 1);
    }

    #[test]
    fn busiest_region_finds_the_detail() {
        // Flat 400x300 gray with a noisy square at (256, 96).
        let mut data = vec![100u8; 400 * 300];
        for y in 96..96 + 64 {
            for x in 256..256 + 64 {
                data[y * 400 + x] = ((x * 31 + y * 17) % 256) as u8;
            }
        }
        let img = Image::new_u8(400, 300, 1, data).unwrap();
        let (x, y, w, h) = busiest_region(&img);
        assert_eq!((w, h), (CROP, CROP));
        assert!(
            x <= 256 && x + w >= 320 && y <= 96 && y + h >= 160,
            "{x},{y}"
        );
    }

    #[test]
    fn sixteen_bit_crops_are_windowed() {
        let img = Image::new_u16(2, 1, 1, vec![1000, 2000]).unwrap();
        let png = display_png(&img, (0, 0, 2, 1), Some((1000, 2000)), 16);
        let back = image::load_from_memory(&png).unwrap().to_rgba8();
        assert_eq!(back.get_pixel(0, 0).0, [0, 0, 0, 255]);
        assert_eq!(back.get_pixel(1, 0).0, [255, 255, 255, 255]);
    }
}
