//! Visual comparison crops, cut during the run: for each image, a crop of the original and
//! of the cells [`crate::analysis::crop_cells`] chooses (each lossy configuration at the
//! answer's uniform setting, and at the per-image setting when it differs), each with an error
//! map. `run` cuts them ([`save`]) while it still has the originals and the codecs; `merge`
//! joins the crops of the runs it merges ([`merge()`]); `report` only reads them back
//! (`report::crops`), so making a report touches no codec and no corpus file.
//!
//! On disk: `crops/crops.json` (the [`Manifest`]) and one folder per image with lossless WebP
//! files (decoded pixels exactly, smaller than PNG).

mod cut;
mod merge;

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::export::{json_bytes, write_atomic};

pub use crate::analysis::crop_cells::{QualityRule, Role};
pub use cut::{
    busiest_region, error_map, save, CutError, ErrorMap, ERROR_MAP_BLOCK, ERROR_MAP_SCALE,
    ERROR_MAP_STEP,
};
pub use merge::merge;

/// Side of the square crop, in pixels (smaller for smaller images).
pub const CROP: u32 = 384;

/// Folder of the crops inside a run folder.
pub const DIR: &str = "crops";

/// File name of the manifest inside [`DIR`].
pub const MANIFEST: &str = "crops.json";

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
    /// The original's crop (lossless WebP, or PNG in older runs), relative to `crops/`.
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
    /// The crop (lossless WebP, or PNG in older runs), relative to `crops/`.
    pub file: String,
    /// Where the decoded pixels came from.
    pub source: Source,
    /// Why this cell was chosen (e.g. "searched: meets SSIMULACRA2 80").
    #[serde(default)]
    pub chosen: String,
    /// Which of the image's crops this is: the answer's uniform setting, the per-image
    /// setting at the target, or (no answer) the cell at equal quality.
    #[serde(default)]
    pub role: Role,
    /// The cell's setting (the codec's quality knob), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<f64>,
    /// Error map of the crop against the original's (see [`error_map`]), relative to
    /// `crops/`; absent when it could not be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heatmap: Option<String>,
}

/// Where a crop's decoded pixels came from; written as `"saved file"` or `"re-encoded"` in
/// crops.json (the values older runs wrote).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// Decoded from the encoded file the run kept (`--save-encoded`).
    #[serde(rename = "saved file")]
    SavedFile,
    /// The source encoded again with the cell's configuration (same byte count checked).
    #[serde(rename = "re-encoded")]
    ReEncoded,
}

impl Source {
    /// The text crops.json and the page show.
    pub fn label(self) -> &'static str {
        match self {
            Source::SavedFile => "saved file",
            Source::ReEncoded => "re-encoded",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
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
pub(crate) fn slug(text: &str) -> String {
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

/// Writes the manifest into `<run_dir>/crops/`.
pub(crate) fn write_manifest(run_dir: &Path, manifest: &Manifest, saved: &mut Saved) {
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

/// Writes `bytes` as `<run_dir>/crops/<name>`.
pub(crate) fn write_crop(run_dir: &Path, name: &str, bytes: &[u8], saved: &mut Saved) -> bool {
    let path = run_dir.join(DIR).join(name);
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| write_atomic(&path, bytes));
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

/// A manifest file name that stays inside `crops/`.
pub(crate) fn inside(name: &str) -> bool {
    let p = Path::new(name);
    !name.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Why a crop file named in the manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CropError {
    #[error("{name}: not a file inside crops/; the manifest is damaged")]
    Outside { name: String },
    #[error(
        "cannot read {}: {source}; run `codecbench run` again to remake the crops",
        path.display()
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads a crop file named in the manifest.
pub fn read_crop(run_dir: &Path, name: &str) -> Result<Vec<u8>, CropError> {
    if !inside(name) {
        return Err(CropError::Outside { name: name.into() });
    }
    let path = run_dir.join(DIR).join(name);
    std::fs::read(&path).map_err(|source| CropError::Read { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_sources_keep_their_names_in_crops_json() {
        let json = serde_json::to_string(&[Source::SavedFile, Source::ReEncoded]).unwrap();
        assert_eq!(json, r#"["saved file","re-encoded"]"#);
        let back: Vec<Source> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, [Source::SavedFile, Source::ReEncoded]);
    }

    #[test]
    fn a_crop_name_that_leaves_crops_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_crop(dir.path(), "../results.csv"),
            Err(CropError::Outside { .. })
        ));
        assert!(matches!(
            read_crop(dir.path(), "a/missing.webp"),
            Err(CropError::Read { .. })
        ));
    }
}
