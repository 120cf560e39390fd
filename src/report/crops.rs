//! The crops a report shows, read back from the run folder (`crops/crops.json` and its files,
//! cut during the run by [`crate::crops`]). Nothing is decoded or encoded here; a crop is
//! matched to its row by key (image, spec) and byte count, never by a float. Files are
//! checked and measured here and read only when the page embeds them.

use std::path::Path;

use crate::analysis::series::{images, Curve};
use crate::metrics::Metric;
use crate::record::CellRecord;

pub use crate::crops::{
    read_crop, read_manifest, CellEntry, CropError, ImageEntry, Manifest, ManifestError,
    QualityRule, Rect, Role, Source, DIR, MANIFEST,
};

/// One crop as the report shows it.
pub struct CropCell {
    pub spec: String,
    /// The configuration (curve) of the cell.
    pub curve: String,
    pub setting: Option<f64>,
    pub color: usize,
    pub bpp: f64,
    pub psnr: Option<f64>,
    /// Encoded size, as measured.
    pub bytes: Option<u64>,
    /// Every metric measured in the run, (label, value as text), for the caption.
    pub metrics: Vec<(String, String)>,
    /// The same metrics as numbers, by metric (the page's priority order uses them).
    pub scores: Vec<(Metric, Option<f64>)>,
    /// The crop file (lossless WebP, or PNG from older runs), relative to crops/, and its size.
    pub file: CropFile,
    /// The error map (`None`: none, or unreadable with a note).
    pub heatmap: Option<CropFile>,
    pub role: Role,
    pub source: Source,
    /// Why this cell was chosen.
    pub chosen: String,
}

/// A crop file that exists in the run folder's crops/.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CropFile {
    /// Its name relative to crops/ (checked to stay inside it).
    pub name: String,
    pub bytes: u64,
}

impl CropFile {
    /// Checks that `name` is a readable file inside `<run_dir>/crops/` and measures it.
    pub fn find(run_dir: &Path, name: &str) -> Result<CropFile, CropError> {
        let path = run_dir.join(DIR).join(name);
        if !crate::crops::inside(name) {
            return Err(CropError::Outside { name: name.into() });
        }
        let meta = std::fs::metadata(&path).and_then(|m| {
            if m.is_file() {
                Ok(m)
            } else {
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a file",
                ))
            }
        });
        match meta {
            Ok(m) => Ok(CropFile {
                name: name.into(),
                bytes: m.len(),
            }),
            Err(source) => Err(CropError::Read { path, source }),
        }
    }

    /// The file's bytes.
    pub fn read(&self, run_dir: &Path) -> Result<Vec<u8>, CropError> {
        read_crop(run_dir, &self.name)
    }
}

/// The crops of one image, as the report shows them.
pub struct CropSet {
    pub image: String,
    pub rect: (u32, u32, u32, u32),
    /// The original's crop (`None`: unreadable, with a note).
    pub original: Option<CropFile>,
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
            original: None,
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
        match CropFile::find(run_dir, &entry.original) {
            Ok(f) => set.original = Some(f),
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
            let heatmap = match &cell.heatmap {
                Some(h) => match CropFile::find(run_dir, h) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        set.notes.push(format!("{} error map: {e}", cell.spec));
                        None
                    }
                },
                None => None,
            };
            match CropFile::find(run_dir, &cell.file) {
                Ok(file) => set.cells.push(CropCell {
                    spec: cell.spec.clone(),
                    curve: rec.curve.clone(),
                    setting: cell.setting.or(rec.setting),
                    file,
                    heatmap,
                    role: cell.role,
                    color: curves
                        .iter()
                        .find(|c| c.name == rec.curve)
                        .map_or(0, |c| c.color),
                    bpp: cell.bpp,
                    psnr: cell.psnr,
                    bytes: cell.bytes,
                    metrics: measured
                        .iter()
                        .map(|m| (m.axis_label(), super::markup::num((m.get)(rec), m.decimals)))
                        .collect(),
                    scores: measured.iter().map(|&m| (m, (m.get)(rec))).collect(),
                    source: cell.source,
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
                    source: Source::SavedFile,
                    chosen: String::new(),
                    role: Role::Level,
                    setting: None,
                    heatmap: None,
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
}
