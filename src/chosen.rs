//! After `run`: the answer card on the console, and `--write-chosen DIR`: the recommended
//! files, one per image and target, encoded again at the recommended uniform spec from the
//! corpus files run.json names, checked against the claim (bytes and target), with
//! `manifest.csv`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::answer::Recommendation;
use crate::codec::Registry;
use crate::corpus::SourceImage;
use crate::run::{pool, run_plan, Engine};

/// One written file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ManifestRow {
    /// `ssimulacra2=80`.
    pub target: String,
    pub image: String,
    pub spec: String,
    /// Relative to the folder.
    pub file: String,
    pub bytes: u64,
    /// The target metric measured again on the written file.
    pub achieved: Option<f64>,
    pub met: bool,
    /// The bytes and target agree with recommendation.json.
    pub as_claimed: bool,
}

/// A cause from another module, whatever its type.
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why the chosen files could not be written. The cause is quoted in the message (it is
/// printed as one line after the folder).
#[derive(Debug, thiserror::Error)]
pub enum ChosenError {
    /// run.json, the metric list, the thread pool or a spec could not be set up.
    #[error("{0}")]
    Setup(Cause),
    #[error("cannot make a temporary folder: {0}")]
    TempDir(std::io::Error),
    #[error("run.json does not list image {0}")]
    NotInRun(String),
    #[error("{}: {cause}", path.display())]
    Source { path: PathBuf, cause: Cause },
    #[error("cannot create {}: {cause}", path.display())]
    CreateDir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{image} {spec}: {message}")]
    Cell {
        image: String,
        spec: String,
        message: String,
    },
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{0}")]
    Manifest(Cause),
}

fn setup(e: impl Into<Cause>) -> ChosenError {
    ChosenError::Setup(e.into())
}

/// What [`after_run`] has to say, in order; the binary shows it. Data (the card, the files
/// written) goes to stdout, warnings and errors to stderr (see [`Said::kind`]). Displayed
/// without the program's name, the "warning:"/"error:" word or the flag, which the binary
/// adds to stderr lines.
#[derive(Debug)]
pub enum Said {
    /// The answer card (several lines, each ending in a newline).
    Card(String),
    /// The chosen files were written (one line, ending in a newline).
    Wrote { files: usize, dir: PathBuf },
    /// recommendation.json could not be read: no card.
    NoCard(String),
    /// Written files whose bytes or target differ from the claim.
    Differ(usize),
    /// The chosen files could not be written.
    NotWritten { dir: PathBuf, error: ChosenError },
}

/// Where a [`Said`] goes and how it is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaidKind {
    /// Stdout, as it is.
    Data,
    /// Stderr, a warning about the answer card.
    CardWarning,
    /// Stderr, a warning about the chosen files.
    ChosenWarning,
    /// Stderr, the chosen files could not be written.
    ChosenError,
}

impl Said {
    pub fn kind(&self) -> SaidKind {
        match self {
            Said::Card(_) | Said::Wrote { .. } => SaidKind::Data,
            Said::NoCard(_) => SaidKind::CardWarning,
            Said::Differ(_) => SaidKind::ChosenWarning,
            Said::NotWritten { .. } => SaidKind::ChosenError,
        }
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Said::Card(text) => f.write_str(text),
            Said::Wrote { files, dir } => writeln!(
                f,
                "wrote {files} file(s) and manifest.csv into {}",
                dir.display()
            ),
            Said::NoCard(e) => write!(f, "no answer card: {e}"),
            Said::Differ(bad) => write!(
                f,
                "{bad} file(s) differ from the claim (see as_claimed in manifest.csv)"
            ),
            Said::NotWritten { dir, error } => write!(f, "{}: {error}", dir.display()),
        }
    }
}

/// Gives `say` the card of the run folder's recommendation.json and writes the chosen files
/// when asked; returns the exit code (`code`, or 1 when the files could not be written).
pub fn after_run(
    registry: &Registry,
    sweep: &crate::sweep::Sweep,
    write_chosen: Option<&Path>,
    code: i32,
    mut say: impl FnMut(Said),
) -> i32 {
    let rec = match crate::report::answer::read(&sweep.out) {
        Ok(r) => r,
        Err(e) => {
            say(Said::NoCard(e.to_string()));
            return code;
        }
    };
    say(Said::Card(crate::report::answer::console(&rec)));
    let Some(dir) = write_chosen else {
        return code;
    };
    match write(registry, &sweep.out, &rec, dir, sweep.jobs) {
        Ok(rows) => {
            let bad = rows.iter().filter(|r| !r.as_claimed).count();
            say(Said::Wrote {
                files: rows.len(),
                dir: dir.to_path_buf(),
            });
            if bad > 0 {
                say(Said::Differ(bad));
                return code.max(1);
            }
            code
        }
        Err(error) => {
            say(Said::NotWritten {
                dir: dir.to_path_buf(),
                error,
            });
            code.max(1)
        }
    }
}

/// Encodes every image at each target's recommended uniform spec into `dir/<metric>-<level>/`
/// and writes `dir/manifest.csv`.
pub fn write(
    registry: &Registry,
    run_dir: &Path,
    rec: &Recommendation,
    dir: &Path,
    jobs: usize,
) -> Result<Vec<ManifestRow>, ChosenError> {
    let meta = crate::run_meta::read_run(run_dir).map_err(setup)?;
    let metric = rec.metric;
    let metrics = crate::metrics::parse_metrics(&format!("psnr,{}", metric.key)).map_err(setup)?;
    let work = tempfile::tempdir().map_err(ChosenError::TempDir)?;
    let pool = pool(jobs).map_err(setup)?;
    let mut rows = Vec::new();
    for t in &rec.targets {
        let Some(c) = t.configs.iter().find(|c| c.recommended) else {
            continue;
        };
        let configs = registry.parse_spec(&c.spec).map_err(setup)?;
        let sources: Vec<SourceImage> = c
            .uniform_cells
            .iter()
            .map(|cell| {
                let m = meta
                    .corpus
                    .iter()
                    .find(|m| m.id == cell.image)
                    .ok_or_else(|| ChosenError::NotInRun(cell.image.clone()))?;
                SourceImage::open(&m.id, &m.path, u64::MAX).map_err(|e| ChosenError::Source {
                    path: m.path.clone(),
                    cause: e.into(),
                })
            })
            .collect::<Result<_, ChosenError>>()?;
        let engine = Engine {
            repeat: 1,
            save_encoded: Some(work.path().to_path_buf()),
            cancel: Arc::new(AtomicBool::new(false)),
            cache: None,
            metrics: metrics.clone(),
            max_memory: None,
        };
        let records = run_plan(&pool, &sources, &configs, &engine);
        let sub = format!("{}-{}", t.metric.key, t.target);
        std::fs::create_dir_all(dir.join(&sub)).map_err(|cause| ChosenError::CreateDir {
            path: dir.join(&sub),
            cause,
        })?;
        for r in records {
            if !r.is_ok() {
                return Err(ChosenError::Cell {
                    image: r.image.clone(),
                    spec: r.spec.clone(),
                    message: r.message.clone(),
                });
            }
            let from: PathBuf = work.path().join(&r.encoded_file);
            let ext = from
                .extension()
                .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
            let file = format!("{sub}/{}{ext}", r.image.replace('/', "_"));
            std::fs::copy(&from, dir.join(&file)).map_err(|cause| ChosenError::Write {
                path: dir.join(&file),
                cause,
            })?;
            let achieved = (metric.get)(&r);
            let met = achieved.is_some_and(|v| {
                metric.direction.oriented(v) >= metric.direction.oriented(t.target)
            });
            let claim = c.uniform_cells.iter().find(|x| x.image == r.image);
            rows.push(ManifestRow {
                target: format!("{}={}", t.metric.key, t.target),
                image: r.image.clone(),
                spec: r.spec.clone(),
                file,
                bytes: r.bytes.unwrap_or(0),
                achieved,
                met,
                as_claimed: claim.is_some_and(|x| Some(x.bytes) == r.bytes && x.met == met),
            });
        }
    }
    crate::export::write_csv(&dir.join("manifest.csv"), &rows)
        .map_err(|e| ChosenError::Manifest(e.into()))?;
    Ok(rows)
}
