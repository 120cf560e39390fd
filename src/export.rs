//! Turns records into bytes (CSV, JSON) and writes files atomically: a temporary file in the
//! same folder, then a rename, so a reader (or an interrupted run) never sees half a file.
//!
//! A run's output formats are [`Exporter`]s, small types that turn a run's results into bytes
//! and say nothing about where they go; [`crate::run_dir::OUTPUTS`] names the file of each, and
//! [`crate::run_dir::RunDir::write`] writes them into the run folder. A new format is one
//! exporter type (here or in a file of its own) plus its line in `OUTPUTS`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::goal::TargetRow;
use crate::record::{CellRecord, SummaryRow};
use crate::run_meta::RunMeta;

/// What a finished (or interrupted) run hands to its exporters.
#[derive(Clone, Copy, Debug)]
pub struct RunResults<'a> {
    /// Every cell, in plan order (probes of a target search included).
    pub records: &'a [CellRecord],
    /// One row per swept configuration.
    pub summary: &'a [SummaryRow],
    /// The target search's rows; `None` when the run had no `--target`.
    pub targets: Option<&'a [TargetRow]>,
    pub meta: &'a RunMeta,
}

/// One output format of a run: results in, bytes out.
pub trait Exporter: Sync {
    /// The file's bytes, or `None` when this run has nothing for it (no file is written).
    fn export(&self, run: &RunResults) -> Exported;
}

/// An exporter's bytes (`None`: nothing to write), or why it could not encode them.
pub type Exported = Result<Option<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>>;

/// results.csv: every cell.
pub struct ResultsCsv;
/// summary.csv: one row per swept configuration.
pub struct SummaryCsv;
/// targets.csv: the target search, when there was one.
pub struct TargetsCsv;
/// run.json: the run's metadata.
pub struct RunJson;

impl Exporter for ResultsCsv {
    fn export(&self, run: &RunResults) -> Exported {
        Ok(Some(csv_bytes(run.records)?))
    }
}

impl Exporter for SummaryCsv {
    fn export(&self, run: &RunResults) -> Exported {
        Ok(Some(csv_bytes(run.summary)?))
    }
}

impl Exporter for TargetsCsv {
    fn export(&self, run: &RunResults) -> Exported {
        Ok(run.targets.map(csv_bytes).transpose()?)
    }
}

impl Exporter for RunJson {
    fn export(&self, run: &RunResults) -> Exported {
        Ok(Some(json_bytes(run.meta)?))
    }
}

/// A file that could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {}: {reason}", path.display())]
    Encode { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
}

/// [`write_atomic`], with the path in the error.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_atomic(path, bytes).map_err(|source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes rows as CSV (see [`csv_bytes`]), atomically.
pub fn write_csv<'a, T: Serialize + Default + 'a>(
    path: &Path,
    rows: impl IntoIterator<Item = &'a T>,
) -> Result<(), OutputError> {
    let bytes = csv_bytes(rows).map_err(|e| OutputError::Encode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_file(path, &bytes)
}

/// Writes a value as pretty JSON (see [`json_bytes`]), atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), OutputError> {
    let bytes = json_bytes(value).map_err(|e| OutputError::Encode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_file(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    // Temporary files are private (0600); results are ordinary files others may read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// CSV with a header row, even when there are no rows (the header then comes from `T::default()`).
pub fn csv_bytes<'a, T: Serialize + Default + 'a>(
    rows: impl IntoIterator<Item = &'a T>,
) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut any = false;
    for r in rows {
        w.serialize(r)?;
        any = true;
    }
    if !any {
        let mut h = csv::Writer::from_writer(Vec::new());
        h.serialize(T::default())?;
        let full = h.into_inner().map_err(|e| e.into_error())?;
        let header_end = full
            .iter()
            .position(|&b| b == b'\n')
            .map_or(full.len(), |p| p + 1);
        return Ok(full[..header_end].to_vec());
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// Reads rows of a CSV written by [`csv_bytes`].
pub fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, OutputError> {
    let fail = |e: csv::Error| OutputError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut r = csv::Reader::from_path(path).map_err(fail)?;
    r.deserialize().collect::<Result<Vec<T>, _>>().map_err(fail)
}

/// The header row of a CSV file.
pub fn csv_header(path: &Path) -> Result<Vec<String>, OutputError> {
    let fail = |e: csv::Error| OutputError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut r = csv::Reader::from_path(path).map_err(fail)?;
    Ok(r.headers()
        .map_err(fail)?
        .iter()
        .map(str::to_string)
        .collect())
}

/// Columns by which a results.csv is recognised as one codecbench wrote.
const RESULTS_IDENTITY: [&str; 5] = ["image", "image_hash", "codec", "spec", "status"];

/// Refuses a CSV that is not a codecbench results file (another tool's CSV would otherwise be
/// read as rows of empty cells, since every column has a default).
pub fn check_results_header(path: &Path) -> Result<(), OutputError> {
    let header = csv_header(path)?;
    let missing: Vec<&str> = RESULTS_IDENTITY
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(OutputError::Read {
        path: path.to_path_buf(),
        reason: format!(
            "not a codecbench results file (no {} column); give the results.csv of a codecbench run",
            missing.join(", ")
        ),
    })
}

/// Pretty JSON; infinite floats become `null` (JSON has no infinity).
pub fn json_bytes<T: Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(value)?;
    v.push(b'\n');
    Ok(v)
}

pub use crate::record::setting_number;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::CellRecord;

    #[test]
    fn empty_csv_still_has_the_header() {
        let bytes = csv_bytes::<CellRecord>([]).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("image,image_hash,width,height,"), "{text}");
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn infinite_psnr_is_written_as_inf_and_read_back() {
        let rec = CellRecord {
            psnr: Some(f64::INFINITY),
            ..Default::default()
        };
        let text = String::from_utf8(csv_bytes([&rec]).unwrap()).unwrap();
        assert!(text.lines().nth(1).unwrap().contains(",inf,"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.csv");
        write_atomic(&p, text.as_bytes()).unwrap();
        let back: Vec<CellRecord> = read_csv(&p).unwrap();
        assert_eq!(back[0].psnr, Some(f64::INFINITY));
        assert_eq!(back[0].mse, None);
    }

    #[test]
    fn integer_settings_are_written_without_a_decimal_point() {
        let cell = |setting: Option<f64>| {
            let rec = CellRecord {
                setting,
                ..Default::default()
            };
            let text = String::from_utf8(csv_bytes([&rec]).unwrap()).unwrap();
            let col = text
                .lines()
                .next()
                .unwrap()
                .split(',')
                .position(|h| h == "setting")
                .unwrap();
            let back: CellRecord = csv::Reader::from_reader(text.as_bytes())
                .deserialize()
                .next()
                .unwrap()
                .unwrap();
            assert_eq!(back.setting, setting, "read back");
            text.lines()
                .nth(1)
                .unwrap()
                .split(',')
                .nth(col)
                .unwrap()
                .to_string()
        };
        assert_eq!(cell(Some(75.0)), "75");
        assert_eq!(cell(Some(-3.0)), "-3");
        assert_eq!(cell(Some(0.5)), "0.5");
        assert_eq!(cell(None), "");
    }
}
