//! Finding again what BASELINE and NEW ran, for [`super::retime`]: each image (by the path its
//! run.json recorded, or by its id under `--retime-corpus`), checked by its pixel hash; each
//! side's codecs (built-ins by spec; external codecs from their definition files). Whatever
//! cannot be found is an error that names the flag that fixes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{RetimeOptions, Side};
use crate::codec::external::{read_definitions_file, External};
use crate::codec::{CodecConfig, Registry};
use crate::pixels::Image;
use crate::run_meta::RunMeta;

/// A cause from another module, whatever its type.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// What `--retime` cannot find again. The message says what is missing; the caller names
/// the flag that fixes it (see [`ResolveError::fix`]).
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A definition file of `side` that cannot be read (its reader names the file first).
    #[error("{cause}")]
    Definitions { side: Side, cause: Cause },
    #[error("{origin}")]
    DuplicateCodec {
        side: Side,
        origin: String,
        #[source]
        source: Cause,
    },
    #[error("{side}'s run.json names the external definitions {}, which is not there now", path.display())]
    RecordedDefinitionsGone { side: Side, path: PathBuf },
    #[error("{side}'s codec `{name}` (spec {spec}) is not built in and not defined in {from}")]
    UnknownCodec {
        side: Side,
        name: String,
        spec: String,
        from: String,
    },
    #[error("{side}")]
    BadSpec {
        side: Side,
        #[source]
        source: Cause,
    },
    #[error("{side}'s spec {spec} expands to {n} configurations, not one cell's")]
    NotOneCell { side: Side, spec: String, n: usize },
    /// The image is not in the corpus folder given for re-timing.
    #[error("image {id} is missing (no file {})", path.display())]
    NotInCorpus {
        dir: PathBuf,
        id: String,
        path: PathBuf,
    },
    #[error("image {id} is missing: not found at {} (recorded in {side}'s run.json)", path.display())]
    ImageGone {
        id: String,
        path: PathBuf,
        side: Side,
    },
    #[error("image {id} is not in either run.json (results.csv without its run folder?)")]
    ImageNotRecorded { id: String },
    #[error("{}", path.display())]
    ImageUnreadable {
        path: PathBuf,
        #[source]
        source: Cause,
    },
    #[error("image {id} changed since the runs: {} decodes to pixel hash {now}, the runs measured {hash}", path.display())]
    ImageChanged {
        id: String,
        path: PathBuf,
        now: String,
        hash: String,
        /// The image was found in the corpus folder given for re-timing (else where run.json
        /// recorded it).
        in_corpus_dir: bool,
    },
}

/// What the user gives to fix a [`ResolveError`], for the caller to say in its own terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fix {
    /// `side`'s external definition files, as they were when it ran.
    Definitions(Side),
    /// The corpus folder both runs measured (every image by its id under it).
    CorpusDir,
    /// The same, or the image restored where run.json recorded it.
    RestoreOrCorpusDir,
}

impl ResolveError {
    /// What fixes it, if the user can.
    pub fn fix(&self) -> Option<Fix> {
        match self {
            ResolveError::RecordedDefinitionsGone { side, .. }
            | ResolveError::UnknownCodec { side, .. } => Some(Fix::Definitions(*side)),
            ResolveError::NotInCorpus { .. }
            | ResolveError::ImageGone { .. }
            | ResolveError::ImageNotRecorded { .. } => Some(Fix::CorpusDir),
            ResolveError::ImageChanged { in_corpus_dir, .. } => Some(if *in_corpus_dir {
                Fix::CorpusDir
            } else {
                Fix::RestoreOrCorpusDir
            }),
            ResolveError::Definitions { .. }
            | ResolveError::DuplicateCodec { .. }
            | ResolveError::BadSpec { .. }
            | ResolveError::NotOneCell { .. }
            | ResolveError::ImageUnreadable { .. } => None,
        }
    }

    /// The input the error is about: a side's definition files, the corpus folder given for
    /// re-timing, or (`None`) the re-timing as a whole.
    pub fn input(&self) -> Option<Fix> {
        match self {
            ResolveError::Definitions { side, .. } | ResolveError::DuplicateCodec { side, .. } => {
                Some(Fix::Definitions(*side))
            }
            ResolveError::NotInCorpus { .. } => Some(Fix::CorpusDir),
            _ => None,
        }
    }
}

/// The external definition files a run named on its command line (`--external FILE`,
/// `--sweep FILE`, either as `--flag=FILE`), as it recorded them.
pub fn recorded_definitions(meta: &RunMeta) -> Vec<(bool, PathBuf)> {
    let mut out = Vec::new();
    let mut args = meta.command.iter();
    while let Some(a) = args.next() {
        for (flag, sweep) in [("--external", false), ("--sweep", true)] {
            if a == flag {
                if let Some(v) = args.next() {
                    out.push((sweep, PathBuf::from(v)));
                }
            } else if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
                out.push((sweep, PathBuf::from(v)));
            }
        }
    }
    out
}

/// Each side's codecs: the built-ins plus its external definitions.
pub struct Codecs {
    base: Registry,
    new: Registry,
    /// Where each side's external codecs came from (for the error message).
    base_from: String,
    new_from: String,
    /// Said once when BASELINE's codecs were taken from NEW's definitions.
    pub note: Option<String>,
}

/// A registry of the built-ins plus the definitions of `files` (`true`: a sweep file's
/// `[[external]]` tables).
fn registry(files: &[(bool, PathBuf)], side: Side) -> Result<Registry, ResolveError> {
    let mut reg = Registry::builtin();
    for (sweep, path) in files {
        let defs = if *sweep {
            crate::config::read_sweep_externals(path).map_err(|e| e.to_string())
        } else {
            read_definitions_file(path).map_err(|e| e.to_string())
        }
        .map_err(|e| ResolveError::Definitions {
            side,
            cause: e.into(),
        })?;
        for def in defs {
            let origin = def.origin.clone();
            reg.add(Arc::new(External::new(def)))
                .map_err(|e| ResolveError::DuplicateCodec {
                    side,
                    origin,
                    source: e.into(),
                })?;
        }
    }
    Ok(reg)
}

fn describe(files: &[(bool, PathBuf)]) -> String {
    if files.is_empty() {
        "no external definition".into()
    } else {
        files
            .iter()
            .map(|(_, p)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Codecs {
    /// NEW: `--external` files, else those NEW's run.json names. BASELINE:
    /// `--baseline-external` files, else those BASELINE's run.json names (as they are now);
    /// NEW's only when BASELINE has no run.json (then said in `note`). A file a run.json names
    /// that is gone is an error naming the flag: another side's definition is never used in
    /// its place silently.
    pub fn new(opts: &RetimeOptions) -> Result<Codecs, ResolveError> {
        let given = |v: &[PathBuf]| v.iter().map(|p| (false, p.clone())).collect::<Vec<_>>();
        let recorded = |m: &RunMeta, side: Side| {
            let files = recorded_definitions(m);
            match files.iter().find(|(_, p)| !p.is_file()) {
                Some((_, gone)) => Err(ResolveError::RecordedDefinitionsGone {
                    side,
                    path: gone.clone(),
                }),
                None => Ok(files),
            }
        };
        let new_files = match (&opts.new_external[..], &opts.new_meta) {
            ([], Some(m)) => recorded(m, Side::New)?,
            (given_files, _) => given(given_files),
        };
        let mut note = None;
        let base_files = match (&opts.base_external[..], &opts.base_meta) {
            ([], Some(m)) => recorded(m, Side::Baseline)?,
            ([], None) => {
                if !new_files.is_empty() {
                    note = Some(format!(
                        "BASELINE has no run.json: its external codecs were re-timed from NEW's definitions ({}); give --baseline-external if BASELINE ran others",
                        describe(&new_files)
                    ));
                }
                new_files.clone()
            }
            (given_files, _) => given(given_files),
        };
        Ok(Codecs {
            base: registry(&base_files, Side::Baseline)?,
            new: registry(&new_files, Side::New)?,
            base_from: describe(&base_files),
            new_from: describe(&new_files),
            note,
        })
    }

    /// The one configuration `spec` names, for `side`.
    pub fn config(&self, side: Side, spec: &str) -> Result<CodecConfig, ResolveError> {
        let (reg, from) = match side {
            Side::Baseline => (&self.base, &self.base_from),
            Side::New => (&self.new, &self.new_from),
        };
        let name = spec.split(':').next().unwrap_or(spec);
        if reg.find(name).is_none() {
            return Err(ResolveError::UnknownCodec {
                side,
                name: name.to_string(),
                spec: spec.to_string(),
                from: from.clone(),
            });
        }
        let mut v = reg.parse_spec(spec).map_err(|e| ResolveError::BadSpec {
            side,
            source: e.into(),
        })?;
        match v.len() {
            1 => Ok(v.remove(0)),
            n => Err(ResolveError::NotOneCell {
                side,
                spec: spec.to_string(),
                n,
            }),
        }
    }
}

/// Where image `id` is: `<--retime-corpus>/<id>`, else the path NEW's (then BASELINE's)
/// run.json recorded for it.
pub fn image_path(id: &str, opts: &RetimeOptions) -> Result<PathBuf, ResolveError> {
    if let Some(dir) = &opts.corpus {
        let p = dir.join(id);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(ResolveError::NotInCorpus {
                dir: dir.clone(),
                id: id.to_string(),
                path: p,
            })
        };
    }
    let recorded = [
        (Side::New, &opts.new_meta),
        (Side::Baseline, &opts.base_meta),
    ]
    .into_iter()
    .filter_map(|(w, m)| {
        m.as_ref()?
            .corpus
            .iter()
            .find(|i| i.id == id)
            .map(|i| (w, i.path.clone()))
    })
    .collect::<Vec<_>>();
    if let Some((_, p)) = recorded.iter().find(|(_, p)| p.is_file()) {
        return Ok(p.clone());
    }
    Err(match recorded.first() {
        Some((w, p)) => ResolveError::ImageGone {
            id: id.to_string(),
            path: p.clone(),
            side: *w,
        },
        None => ResolveError::ImageNotRecorded { id: id.to_string() },
    })
}

/// Decodes the image at `path` and checks its pixels are the ones the runs measured.
pub fn load_image(
    id: &str,
    hash: &str,
    path: &Path,
    in_corpus_dir: bool,
) -> Result<Image, ResolveError> {
    let unreadable = |e: Cause| ResolveError::ImageUnreadable {
        path: path.to_path_buf(),
        source: e,
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.into()))?;
    let (img, _) =
        crate::corpus::decode_source(&bytes, u64::MAX).map_err(|e| unreadable(e.into()))?;
    let now = crate::corpus::pixel_hash(&img);
    if now != hash {
        return Err(ResolveError::ImageChanged {
            id: id.to_string(),
            path: path.to_path_buf(),
            now,
            hash: hash.to_string(),
            in_corpus_dir,
        });
    }
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_files_are_read_from_the_recorded_command() {
        let meta = RunMeta {
            command: [
                "codecbench",
                "run",
                "--external",
                "a.toml",
                "--codec",
                "x",
                "--sweep=s.toml",
                "--external=b.toml",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            ..RunMeta::default()
        };
        assert_eq!(
            recorded_definitions(&meta),
            vec![
                (false, PathBuf::from("a.toml")),
                (true, PathBuf::from("s.toml")),
                (false, PathBuf::from("b.toml"))
            ]
        );
    }

    #[test]
    fn an_unknown_codec_is_fixed_by_that_sides_definitions() {
        let c = Codecs::new(&RetimeOptions::default()).unwrap();
        let spec = c.config(Side::New, "jpeg:q=80").unwrap().spec();
        assert!(spec.starts_with("jpeg:q=80,"), "{spec}");
        for side in [Side::Baseline, Side::New] {
            let e = c.config(side, "site-im:q=80").unwrap_err();
            assert_eq!(e.fix(), Some(Fix::Definitions(side)));
            let text = e.to_string();
            assert!(
                text.contains(&format!("{side}'s codec `site-im`")) && !text.contains("--"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_recorded_definition_that_is_gone_is_fixed_by_that_sides_definitions() {
        let meta = |file: &str| RunMeta {
            command: vec![
                "codecbench".into(),
                "run".into(),
                "--external".into(),
                file.into(),
            ],
            ..RunMeta::default()
        };
        let opts = RetimeOptions {
            base_meta: Some(meta("/nonexistent/site.toml")),
            new_meta: Some(RunMeta::default()),
            ..RetimeOptions::default()
        };
        let e = Codecs::new(&opts).err().unwrap();
        assert_eq!(e.fix(), Some(Fix::Definitions(Side::Baseline)));
        let e = e.to_string();
        assert!(
            e.contains("BASELINE's run.json names the external definitions /nonexistent/site.toml"),
            "{e}"
        );
        let opts = RetimeOptions {
            new_meta: Some(meta("/nonexistent/site.toml")),
            ..RetimeOptions::default()
        };
        let e = Codecs::new(&opts).err().unwrap();
        assert_eq!(e.fix(), Some(Fix::Definitions(Side::New)));
    }

    #[test]
    fn a_missing_image_is_fixed_by_the_corpus_folder() {
        let opts = RetimeOptions {
            corpus: Some(PathBuf::from("/nonexistent-corpus")),
            ..RetimeOptions::default()
        };
        let e = image_path("x.png", &opts).unwrap_err();
        assert_eq!(
            (e.fix(), e.input()),
            (Some(Fix::CorpusDir), Some(Fix::CorpusDir))
        );
        assert!(e.to_string().contains("image x.png is missing"), "{e}");
        let e = image_path("x.png", &RetimeOptions::default()).unwrap_err();
        assert!(matches!(e, ResolveError::ImageNotRecorded { .. }), "{e}");
        assert_eq!((e.fix(), e.input()), (Some(Fix::CorpusDir), None));
    }
}
