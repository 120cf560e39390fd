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

/// What `--retime` cannot find again. Each message names the flag that fixes it.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A definition file that cannot be read (its reader names the file first).
    #[error("{flag} {cause}")]
    Definitions { flag: &'static str, cause: Cause },
    #[error("{flag} {origin}")]
    DuplicateCodec {
        flag: &'static str,
        origin: String,
        #[source]
        source: Cause,
    },
    #[error("--retime: {side}'s run.json names the external definitions {}, which is not there now; point {flag} at {side}'s definition file(s)", path.display())]
    RecordedDefinitionsGone {
        side: &'static str,
        flag: &'static str,
        path: PathBuf,
    },
    #[error("--retime: {side}'s codec `{name}` (spec {spec}) is not built in and not defined in {from}; point {flag} at the TOML file that defined it when {side} ran")]
    UnknownCodec {
        side: &'static str,
        flag: &'static str,
        name: String,
        spec: String,
        from: String,
    },
    #[error("--retime: {side}")]
    BadSpec {
        side: &'static str,
        #[source]
        source: Cause,
    },
    #[error("--retime: {side}'s spec {spec} expands to {n} configurations, not one cell's")]
    NotOneCell {
        side: &'static str,
        spec: String,
        n: usize,
    },
    #[error("--retime-corpus {}: image {id} is missing (no file {}); point --retime-corpus at the folder BASELINE and NEW ran on", dir.display(), path.display())]
    NotInCorpus {
        dir: PathBuf,
        id: String,
        path: PathBuf,
    },
    #[error("--retime: image {id} is missing: not found at {} (recorded in {side}'s run.json); pass --retime-corpus DIR, the folder the runs' --corpus pointed at", path.display())]
    ImageGone {
        id: String,
        path: PathBuf,
        side: &'static str,
    },
    #[error("--retime: image {id} is not in either run.json (results.csv without its run folder?); pass --retime-corpus DIR, the folder the runs' --corpus pointed at")]
    ImageNotRecorded { id: String },
    #[error("--retime: {}", path.display())]
    ImageUnreadable {
        path: PathBuf,
        #[source]
        source: Cause,
    },
    #[error("--retime: image {id} changed since the runs: {} decodes to pixel hash {now}, the runs measured {hash}; {}", path.display(), if *from_flag { "point --retime-corpus at the corpus the runs measured" } else { "restore it, or pass --retime-corpus DIR holding the corpus the runs measured" })]
    ImageChanged {
        id: String,
        path: PathBuf,
        now: String,
        hash: String,
        /// The image was found under `--retime-corpus` (else where run.json recorded it).
        from_flag: bool,
    },
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
fn registry(files: &[(bool, PathBuf)], flag: &'static str) -> Result<Registry, ResolveError> {
    let mut reg = Registry::builtin();
    for (sweep, path) in files {
        let defs = if *sweep {
            crate::config::read_sweep_externals(path).map_err(|e| e.to_string())
        } else {
            read_definitions_file(path).map_err(|e| e.to_string())
        }
        .map_err(|e| ResolveError::Definitions {
            flag,
            cause: e.into(),
        })?;
        for def in defs {
            let origin = def.origin.clone();
            reg.add(Arc::new(External::new(def)))
                .map_err(|e| ResolveError::DuplicateCodec {
                    flag,
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
        let recorded = |m: &RunMeta, side: &'static str, flag: &'static str| {
            let files = recorded_definitions(m);
            match files.iter().find(|(_, p)| !p.is_file()) {
                Some((_, gone)) => Err(ResolveError::RecordedDefinitionsGone {
                    side,
                    flag,
                    path: gone.clone(),
                }),
                None => Ok(files),
            }
        };
        let new_files = match (&opts.new_external[..], &opts.new_meta) {
            ([], Some(m)) => recorded(m, "NEW", "--external")?,
            (given_files, _) => given(given_files),
        };
        let mut note = None;
        let base_files = match (&opts.base_external[..], &opts.base_meta) {
            ([], Some(m)) => recorded(m, "BASELINE", "--baseline-external")?,
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
            base: registry(&base_files, "--baseline-external")?,
            new: registry(&new_files, "--external")?,
            base_from: describe(&base_files),
            new_from: describe(&new_files),
            note,
        })
    }

    /// The one configuration `spec` names, for `side`.
    pub fn config(&self, side: Side, spec: &str) -> Result<CodecConfig, ResolveError> {
        let (reg, from, what, flag) = match side {
            Side::Baseline => (
                &self.base,
                &self.base_from,
                "BASELINE",
                "--baseline-external",
            ),
            Side::New => (&self.new, &self.new_from, "NEW", "--external"),
        };
        let name = spec.split(':').next().unwrap_or(spec);
        if reg.find(name).is_none() {
            return Err(ResolveError::UnknownCodec {
                side: what,
                flag,
                name: name.to_string(),
                spec: spec.to_string(),
                from: from.clone(),
            });
        }
        let mut v = reg.parse_spec(spec).map_err(|e| ResolveError::BadSpec {
            side: what,
            source: e.into(),
        })?;
        match v.len() {
            1 => Ok(v.remove(0)),
            n => Err(ResolveError::NotOneCell {
                side: what,
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
    let recorded = [("NEW", &opts.new_meta), ("BASELINE", &opts.base_meta)]
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
            side: w,
        },
        None => ResolveError::ImageNotRecorded { id: id.to_string() },
    })
}

/// Decodes the image at `path` and checks its pixels are the ones the runs measured.
pub fn load_image(
    id: &str,
    hash: &str,
    path: &Path,
    from_flag: bool,
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
            from_flag,
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
    fn an_unknown_codec_names_the_flag() {
        let c = Codecs::new(&RetimeOptions::default()).unwrap();
        let spec = c.config(Side::New, "jpeg:q=80").unwrap().spec();
        assert!(spec.starts_with("jpeg:q=80,"), "{spec}");
        let e = c
            .config(Side::Baseline, "site-im:q=80")
            .unwrap_err()
            .to_string();
        assert!(e.contains("point --baseline-external at"), "{e}");
        let e = c.config(Side::New, "site-im:q=80").unwrap_err().to_string();
        assert!(e.contains("point --external at"), "{e}");
    }

    #[test]
    fn a_recorded_definition_that_is_gone_names_the_flag() {
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
        let e = Codecs::new(&opts).err().unwrap().to_string();
        assert!(
            e.contains("BASELINE's run.json names the external definitions /nonexistent/site.toml")
                && e.contains("point --baseline-external at"),
            "{e}"
        );
        let opts = RetimeOptions {
            new_meta: Some(meta("/nonexistent/site.toml")),
            ..RetimeOptions::default()
        };
        let e = Codecs::new(&opts).err().unwrap().to_string();
        assert!(e.contains("point --external at NEW's"), "{e}");
    }

    #[test]
    fn a_missing_image_names_the_flag() {
        let opts = RetimeOptions {
            corpus: Some(PathBuf::from("/nonexistent-corpus")),
            ..RetimeOptions::default()
        };
        let e = image_path("x.png", &opts).unwrap_err().to_string();
        assert!(e.contains("image x.png is missing"), "{e}");
        let e = image_path("x.png", &RetimeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("pass --retime-corpus DIR"), "{e}");
    }
}
