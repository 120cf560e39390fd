//! The run folder's journal: results.csv is appended to, one flushed row per finished cell in
//! finishing order, so a killed run (even `kill -9`) loses only the cells under way; the
//! finished run rewrites it atomically in plan order. A `.journal` file beside it says which
//! measurement settings its rows were taken with and stays until the run finishes, so that a
//! later run with the same `--out` and settings keeps those rows instead of measuring them
//! again (with or without the cell cache).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::corpus::SourceImage;
use crate::export::{csv_bytes, write_file, OutputError};
use crate::plan::{Job, JobKey};
use crate::record::CellRecord;
use crate::run_dir::RunDir;

/// The mark of an unfinished run: holds [`identity`].
pub use crate::run_dir::JOURNAL_MARK as MARK;

/// What must be equal for a row of an earlier run to stand for a cell of this one (beyond the
/// image's pixels, the spec and the codec version, which each row holds).
pub fn identity(metrics: &str, repeat: u32, save_encoded: bool) -> String {
    format!(
        "codecbench {} journal\nmetrics {metrics}\nrepeat {}\nsave-encoded {save_encoded}\n",
        env!("CARGO_PKG_VERSION"),
        repeat.max(1)
    )
}

/// Whether `out` holds an unfinished run taken with the same settings.
pub fn can_resume(out: &Path, identity: &str) -> bool {
    std::fs::read_to_string(out.join(MARK)).is_ok_and(|t| t == identity)
        && RunDir::new(out).results().is_file()
}

/// The measured rows of the unfinished run in `out` (empty when there is none to resume). A
/// last row cut short by a crash is ignored.
pub fn previous_rows(out: &Path, identity: &str) -> Vec<CellRecord> {
    if !can_resume(out, identity) {
        return Vec::new();
    }
    let path = RunDir::new(out).results();
    if crate::export::check_results_header(&path).is_err() {
        return Vec::new();
    }
    let Ok(mut r) = csv::Reader::from_path(&path) else {
        return Vec::new();
    };
    r.deserialize::<CellRecord>()
        .map_while(Result::ok)
        .filter(|rec| rec.is_ok())
        .collect()
}

/// Takes out of `jobs` the cells that `previous` already holds (same image pixels, spec and
/// codec version; with `encoded`, a saved file that still exists) and returns their rows.
/// Images with a candidate row are decoded once here to compare their pixel hash.
pub fn keep_finished(
    pool: &rayon::ThreadPool,
    sources: &[SourceImage],
    jobs: &mut Vec<Job>,
    previous: Vec<CellRecord>,
    encoded: Option<&Path>,
) -> Vec<(JobKey, CellRecord)> {
    if previous.is_empty() {
        return Vec::new();
    }
    let mut by_cell: HashMap<(String, String), CellRecord> = HashMap::new();
    for rec in previous {
        by_cell.insert((rec.image.clone(), rec.spec.clone()), rec);
    }
    let lookup = |job: &Job| by_cell.get(&(sources[job.key.image].id.clone(), job.config.spec()));
    let mut images: Vec<usize> = jobs
        .iter()
        .filter(|j| lookup(j).is_some())
        .map(|j| j.key.image)
        .collect();
    images.sort_unstable();
    images.dedup();
    pool.install(|| {
        images.par_iter().for_each(|&i| {
            if sources[i].hash().is_empty() && sources[i].pixels().is_ok() {
                sources[i].release();
            }
        })
    });
    let mut kept = Vec::new();
    jobs.retain(|job| {
        let Some(rec) = lookup(job) else {
            return true;
        };
        let src = &sources[job.key.image];
        let same = !src.hash().is_empty()
            && rec.image_hash == src.hash()
            && rec.codec_version == job.config.codec.version()
            && encoded.is_none_or(|dir| {
                !rec.encoded_file.is_empty() && dir.join(&rec.encoded_file).is_file()
            });
        if same {
            kept.push((job.key, rec.clone()));
        }
        !same
    });
    kept
}

/// results.csv open for appending.
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Writes the mark and results.csv holding `rows` (those kept from an earlier run), both
    /// atomically, then opens results.csv for appending.
    pub fn start<'a>(
        out: &Path,
        identity: &str,
        rows: impl IntoIterator<Item = &'a CellRecord>,
    ) -> Result<Journal, OutputError> {
        let path = RunDir::new(out).results();
        write_file(&out.join(MARK), identity.as_bytes())?;
        let bytes = csv_bytes(rows).map_err(|e| OutputError::Encode {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_file(&path, &bytes)?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|source| OutputError::Write {
                path: path.clone(),
                source,
            })?;
        Ok(Journal { path, file })
    }

    /// Appends one finished cell's row and flushes it to the file (one write, so a killed run
    /// leaves whole rows).
    pub fn append(&mut self, rec: &CellRecord) -> Result<(), OutputError> {
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        let fail = |reason: String| OutputError::Encode {
            path: self.path.clone(),
            reason,
        };
        w.serialize(rec).map_err(|e| fail(e.to_string()))?;
        let bytes = w.into_inner().map_err(|e| fail(e.to_string()))?;
        self.file
            .write_all(&bytes)
            .and_then(|_| self.file.flush())
            .map_err(|source| OutputError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

/// A run that failed before any cell finished leaves no journal behind.
pub fn discard_empty(out: &Path) {
    let path = RunDir::new(out).results();
    let rows = std::fs::read(&path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    if rows <= 1 {
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_file(out.join(MARK));
    }
}

/// The run finished: its rows are final, nothing is left to resume.
pub fn finish(out: &Path) {
    let _ = std::fs::remove_file(out.join(MARK));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_rows_read_back_and_a_torn_last_row_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let id = identity("psnr", 1, false);
        let row = |spec: &str| CellRecord {
            image: "a".into(),
            spec: spec.into(),
            ..Default::default()
        };
        let mut j = Journal::start(dir.path(), &id, [&row("x:q=1")]).unwrap();
        j.append(&row("x:q=2")).unwrap();
        j.append(&row("x:q=3")).unwrap();
        let rows = previous_rows(dir.path(), &id);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].spec, "x:q=3");
        // A crash in the middle of a row: the rows before it are kept.
        let path = dir.path().join("results.csv");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("a,\"unfinished");
        std::fs::write(&path, text).unwrap();
        assert_eq!(previous_rows(dir.path(), &id).len(), 3);
        // Other settings, or a finished run: nothing to resume.
        assert!(previous_rows(dir.path(), &identity("ssim", 1, false)).is_empty());
        finish(dir.path());
        assert!(previous_rows(dir.path(), &id).is_empty());
    }
}
