//! The run folder: the one place that knows its file names, turns a path given by the user into
//! a run folder, and reads and writes the folder's tables. `run` (src/sweep.rs), `merge`, the
//! journal and `compare` in the binary go through it; the formats themselves are the exporters
//! of [`crate::export`], and [`RunDir::write`] is the one place that decides where their bytes
//! go.

use std::path::{Path, PathBuf};

use crate::export::{
    read_csv, write_file, Exporter, OutputError, ResultsCsv, RunJson, RunResults, SummaryCsv,
    TargetsCsv,
};
use crate::goal::TargetRow;
use crate::record::CellRecord;
use crate::run_meta::{read_run, RunMeta, RunMetaError};

/// Every measured cell, one row each (a journal while the run is under way).
pub const RESULTS_CSV: &str = "results.csv";
/// One row per codec configuration over the corpus.
pub const SUMMARY_CSV: &str = "summary.csv";
/// The target search's rows (`--target`).
pub const TARGETS_CSV: &str = "targets.csv";
/// The run's metadata ([`RunMeta`]).
pub use crate::run_meta::RUN_JSON;
/// Present while a run is unfinished: the settings its journal rows were taken with
/// (see [`crate::journal`]).
pub const JOURNAL_MARK: &str = ".journal";

/// Every format a run writes, by file name, in the order written (run.json last: a folder with
/// a run.json has its tables). A new output format adds its line here.
pub const OUTPUTS: &[(&str, &dyn Exporter)] = &[
    (RESULTS_CSV, &ResultsCsv),
    (SUMMARY_CSV, &SummaryCsv),
    (TARGETS_CSV, &TargetsCsv),
    (RUN_JSON, &RunJson),
];

/// A default run folder name: the UTC start time.
pub fn default_run_name() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H-%M-%SZ").to_string()
}

/// Creates a new, empty run folder `parent/<name>` (or `<name>-2`, `-3`... if taken): the
/// creation is atomic, so two runs started in the same second get two folders.
pub fn claim_run_dir(parent: &Path, name: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(parent)?;
    for n in 1.. {
        let dir = if n == 1 {
            parent.join(name)
        } else {
            parent.join(format!("{name}-{n}"))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("an unbounded range ends")
}

/// A run folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    dir: PathBuf,
}

impl RunDir {
    /// The run folder `dir` (it need not exist yet).
    pub fn new(dir: impl Into<PathBuf>) -> RunDir {
        RunDir { dir: dir.into() }
    }

    /// The run folder a user's path names, by the one rule every command uses: a folder is the
    /// run folder; a file (a results.csv, perhaps copied elsewhere) lies in one, its parent
    /// (`.` for a bare file name).
    pub fn of(path: &Path) -> RunDir {
        if path.is_dir() {
            return RunDir::new(path);
        }
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        RunDir::new(parent.map_or_else(|| PathBuf::from("."), Path::to_path_buf))
    }

    /// The results file a user's path names: a folder's results.csv, or the file itself.
    pub fn results_file(path: &Path) -> PathBuf {
        if path.is_dir() {
            path.join(RESULTS_CSV)
        } else {
            path.to_path_buf()
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/<name>`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn results(&self) -> PathBuf {
        self.file(RESULTS_CSV)
    }

    pub fn summary(&self) -> PathBuf {
        self.file(SUMMARY_CSV)
    }

    pub fn targets(&self) -> PathBuf {
        self.file(TARGETS_CSV)
    }

    pub fn run_json(&self) -> PathBuf {
        self.file(RUN_JSON)
    }

    pub fn journal_mark(&self) -> PathBuf {
        self.file(JOURNAL_MARK)
    }

    /// The files of a finished run the folder already holds (results.csv, run.json,
    /// summary.csv), by name: a new run in it replaces them.
    pub fn held_run_files(&self) -> Vec<&'static str> {
        [RESULTS_CSV, RUN_JSON, SUMMARY_CSV]
            .into_iter()
            .filter(|f| self.file(f).exists())
            .collect()
    }

    /// A note when this folder already holds a run whose files a new run replaces.
    pub fn replaced_note(&self) -> Option<String> {
        let held = self.held_run_files();
        (!held.is_empty()).then(|| {
            format!(
                "{} already holds a run ({}); its files are replaced",
                self.dir.display(),
                held.join(", ")
            )
        })
    }

    /// Removes the temporary files a killed run left here (best effort).
    pub fn remove_temporaries(&self) {
        if let Ok(files) = std::fs::read_dir(&self.dir) {
            for f in files.flatten() {
                if f.file_name().to_string_lossy().starts_with(".tmp") && f.path().is_file() {
                    let _ = std::fs::remove_file(f.path());
                }
            }
        }
    }

    /// Every row of the results file a user's path names ([`RunDir::results_file`]), as
    /// written (nothing dropped); refuses a CSV that is not a codecbench results file.
    pub fn read_results_at(path: &Path) -> Result<Vec<CellRecord>, OutputError> {
        let csv = Self::results_file(path);
        crate::export::check_results_header(&csv)?;
        read_csv(&csv)
    }

    /// This folder's results.csv, as [`RunDir::read_results_at`] reads it.
    pub fn read_results(&self) -> Result<Vec<CellRecord>, OutputError> {
        Self::read_results_at(&self.results())
    }

    /// targets.csv: `Ok(None)` when the run has none (no `--target`).
    pub fn read_targets(&self) -> Result<Option<Vec<TargetRow>>, OutputError> {
        let path = self.targets();
        if !path.is_file() {
            return Ok(None);
        }
        read_csv(&path).map(Some)
    }

    /// run.json.
    pub fn read_meta(&self) -> Result<RunMeta, RunMetaError> {
        read_run(&self.dir)
    }

    /// Writes every output format of a run ([`OUTPUTS`]) into the folder, each atomically, in
    /// order; returns the paths written.
    pub fn write(&self, run: &RunResults) -> Result<Vec<PathBuf>, OutputError> {
        let mut files = Vec::new();
        for (name, exporter) in OUTPUTS {
            let path = self.file(name);
            let encode = |e: Box<dyn std::error::Error + Send + Sync>| OutputError::Encode {
                path: path.clone(),
                reason: e.to_string(),
            };
            if let Some(bytes) = exporter.export(run).map_err(encode)? {
                write_file(&path, &bytes)?;
                files.push(path);
            }
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_names_its_folder_and_a_folder_its_results() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(RunDir::of(d).path(), d);
        assert_eq!(RunDir::of(&d.join("results.csv")).path(), d);
        assert_eq!(RunDir::of(Path::new("results.csv")).path(), Path::new("."));
        assert_eq!(RunDir::results_file(d), d.join(RESULTS_CSV));
        let copied = d.join("old.csv");
        assert_eq!(RunDir::results_file(&copied), copied);
    }

    #[test]
    fn writes_every_format_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        assert!(run.held_run_files().is_empty());
        assert_eq!(run.read_targets().unwrap(), None);
        let records = vec![CellRecord {
            image: "a.png".into(),
            image_hash: "h".into(),
            codec: "png".into(),
            spec: "png".into(),
            ..CellRecord::default()
        }];
        let meta = RunMeta::default();
        let targets = vec![TargetRow::default()];
        let files = run
            .write(&RunResults {
                records: &records,
                summary: &[],
                targets: Some(&targets),
                meta: &meta,
            })
            .unwrap();
        let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap()).collect();
        assert_eq!(
            names,
            [RESULTS_CSV, SUMMARY_CSV, TARGETS_CSV, RUN_JSON].map(std::ffi::OsStr::new)
        );
        assert_eq!(run.held_run_files(), [RESULTS_CSV, RUN_JSON, SUMMARY_CSV]);
        assert_eq!(run.read_results().unwrap(), records);
        assert_eq!(run.read_targets().unwrap(), Some(targets));
        assert_eq!(run.read_meta().unwrap().tool, meta.tool);
    }
}
