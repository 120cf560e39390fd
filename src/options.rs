//! Command-line arguments turned into the checked options the library runs on (a [`Sweep`],
//! [`ReportOptions`], the gate's [`Thresholds`]), as ripgrep turns flags into a checked
//! configuration. This is the only library module whose messages name command-line flags; the
//! library's own errors name files, codecs and keys, and are given their flag here.

use std::path::PathBuf;

use crate::analysis::bdrate::Interp;
use crate::baseline::Thresholds;
use crate::cache::Cache;
use crate::cli::{BdMethod, CompareArgs, ReportFlags, RunArgs};
use crate::codec::Registry;
use crate::config::{expand, expand_entries, read_gate, read_sweep_codecs, PRESETS};
use crate::corpus::SkipFix;

/// `--metrics` when neither it nor a preset is given (a --codec or --sweep run).
pub const DEFAULT_METRICS: &str = "psnr,psnr-y,ssim,ssimulacra2";
use crate::baseline::retime::{Fix, ResolveError, RetimeError, Side};
use crate::merge::MergeError;
use crate::report::{ReportError, ReportOptions};
use crate::run_dir::{claim_run_dir, default_run_name};
use crate::sweep::{Sweep, SweepError};

/// A command line the flag layer refused: the message names the flag (or the sweep file's
/// field) and says what to give instead. A library error it wraps is its source, so the
/// binary's `{:#}` prints the chain (`--sweep: sweep.toml: codec[0] (name = "jpeg"): q = 500:
/// ...`).
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// The flag layer's own check.
    #[error("{0}")]
    Message(String),
    /// A library error under the flag whose value it came from.
    #[error("{flag}")]
    Input {
        flag: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl FlagError {
    /// `source` under `flag`.
    pub fn input(
        flag: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> FlagError {
        FlagError::Input {
            flag: flag.into(),
            source: Box::new(source),
        }
    }
}

/// A library error followed by what to do about it, in flag terms: `{error}; {hint}`. The
/// error's own sources stay its sources, so `{:#}` prints the whole chain.
#[derive(Debug)]
pub struct Hinted {
    error: Box<dyn std::error::Error + Send + Sync + 'static>,
    hint: String,
}

impl Hinted {
    pub fn new(
        error: impl std::error::Error + Send + Sync + 'static,
        hint: impl Into<String>,
    ) -> Hinted {
        Hinted {
            error: Box::new(error),
            hint: hint.into(),
        }
    }
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.error, self.hint)
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl From<String> for FlagError {
    fn from(message: String) -> Self {
        FlagError::Message(message)
    }
}

/// A size (`--max-memory`) that is not a positive byte count.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("expected a positive size such as 4G, 512M or 1000000 (bytes)")]
pub struct BadSize;

/// A pixel count (`--max-pixels`) that is not a count of at least 1.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("expected a pixel count such as 100000000, 4e8 or 400M")]
pub struct BadPixels;

/// The sweep `codecbench run` was asked for: every spec checked (all errors reported together)
/// before anything runs.
pub fn sweep(registry: &Registry, args: &RunArgs) -> Result<Sweep, FlagError> {
    let entries = match &args.sweep {
        Some(path) => read_sweep_codecs(path).map_err(|e| FlagError::input("--sweep", e))?,
        None => Vec::new(),
    };
    let mut specs: Vec<String> = args.codecs.clone();
    let preset = match &args.report.preset {
        Some(name) => {
            Some(crate::config::preset(name).map_err(|e| FlagError::input("--preset", e))?)
        }
        None => None,
    };
    // No codec given: the preset's (the web preset by default).
    let chosen = (entries.is_empty() && specs.is_empty()).then(|| preset.unwrap_or(&PRESETS[0]));
    if let Some(p) = chosen {
        specs = p.codecs.iter().map(|s| s.to_string()).collect();
    }
    if args.write_chosen.is_some() && args.no_report {
        return Err(FlagError::Message(
            "--write-chosen writes the files the answer recommends, which the report \
                    makes: drop --no-report"
                .into(),
        ));
    }
    if !(args.report.coverage > 0.0 && args.report.coverage <= 100.0) {
        return Err(FlagError::Message(format!(
            "--coverage {}: give a percentage of the images above 0 and at most 100",
            args.report.coverage
        )));
    }
    // The file's configurations first, then the flags'; every one checked, all errors
    // reported together, exact duplicates dropped.
    let mut errors: Vec<String> = Vec::new();
    let mut configs: Vec<crate::codec::CodecConfig> = Vec::new();
    let from_file = match &args.sweep {
        Some(path) => expand_entries(registry, path, &entries).unwrap_or_else(|errs| {
            errors.extend(errs.iter().map(|e| format!("--sweep: {}", chain(e))));
            Vec::new()
        }),
        None => Vec::new(),
    };
    let from_flags = expand(registry, &specs).unwrap_or_else(|errs| {
        errors.extend(errs.iter().map(ToString::to_string));
        Vec::new()
    });
    if !errors.is_empty() {
        return Err(FlagError::Message(errors.join("\n")));
    }
    for c in from_file.into_iter().chain(from_flags) {
        if !configs.contains(&c) {
            configs.push(c);
        }
    }
    let metric_list = match (&args.metrics, preset.or(chosen)) {
        (Some(m), _) => m.clone(),
        (None, Some(p)) => p.metrics.to_string(),
        (None, None) => DEFAULT_METRICS.to_string(),
    };
    let metrics = crate::metrics::parse_metrics(&metric_list)
        .map_err(|e| format!("--metrics {metric_list}: {e}"))?;
    // Targets: the sweep file's [target] table, then --target flags; each named by where it
    // came from if it asks for a metric the run does not measure.
    let mut targets: Vec<(String, crate::target::Target)> = Vec::new();
    if let Some(path) = &args.sweep {
        let from_file =
            crate::config::read_targets(path).map_err(|e| FlagError::input("--sweep", e))?;
        for t in from_file {
            let at = format!("--sweep {}: target.{}", path.display(), t.key());
            targets.push((at, t));
        }
    }
    for text in &args.targets {
        let parsed = crate::target::parse_target(text)
            .map_err(|e| FlagError::input(format!("--target {text}"), e))?;
        targets.extend(parsed.into_iter().map(|t| (format!("--target {text}"), t)));
    }
    for (at, t) in &targets {
        if let crate::target::Goal::Quality(m) = t.goal {
            if !metrics.iter().any(|x| x.key == m.key) {
                return Err(FlagError::Message(format!(
                    "{at}: {} is not measured; add it to --metrics",
                    m.key
                )));
            }
        }
    }
    let targets: Vec<crate::target::Target> = targets.into_iter().map(|(_, t)| t).collect();
    Ok(Sweep {
        corpus: args.corpus.clone(),
        configs,
        out: match &args.out {
            Some(out) => out.clone(),
            None => claim_run_dir(std::path::Path::new("reports"), &default_run_name()).map_err(
                |e| format!("cannot create a run folder under reports/ ({e}); give one with --out"),
            )?,
        },
        out_is_default: args.out.is_none(),
        jobs: match args.jobs {
            Some(j) => j as usize,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
        repeat: args.repeat,
        save_encoded: args.save_encoded,
        max_pixels: parse_pixels(&args.max_pixels)
            .map_err(|e| FlagError::input(format!("--max-pixels {}", args.max_pixels), e))?,
        max_memory: match &args.max_memory {
            Some(text) => parse_bytes(text)
                .map_err(|e| FlagError::input(format!("--max-memory {text}"), e))?,
            None => default_max_memory(),
        },
        // Filled in by the binary, which owns the process's arguments.
        command: Vec::new(),
        cache: if args.no_cache {
            None
        } else {
            Some(args.cache.clone().unwrap_or_else(Cache::default_dir))
        },
        shard: args
            .shard
            .as_deref()
            .map(|t| {
                crate::shard::parse(t).map_err(|e| FlagError::input(format!("--shard {t}"), e))
            })
            .transpose()?,
        metrics,
        crop_bpp: (!args.no_report).then_some(args.report.crop_bpp),
        targets,
    })
}

pub use crate::alloc::default_max_memory;

/// Parses a byte count: a number with an optional K, M, G or T suffix (powers of 1024; an
/// optional trailing `B` or `iB` is accepted), e.g. `512M`, `1.5G`, `2000000`.
pub fn parse_bytes(text: &str) -> Result<u64, BadSize> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, scale) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        Some('T') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok((v * scale as f64) as u64),
        _ => Err(BadSize),
    }
}

/// Parses a pixel count: an integer (`100000000`), a decimal or exponent number (`4e8`,
/// `1.5e7`) or one with a K, M or G suffix in powers of 1000 (`400M`; a trailing `P`, as in
/// `400MP`, is accepted). Fractions of a pixel are dropped; the count must be at least 1.
pub fn parse_pixels(text: &str) -> Result<u64, BadPixels> {
    let t = text.trim();
    let t = t
        .strip_suffix(['P', 'p'])
        .filter(|r| r.ends_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or(t);
    let (num, scale) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1e3),
        Some('M') => (&t[..t.len() - 1], 1e6),
        Some('G') => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    let v = num.trim().parse::<f64>().map_err(|_| BadPixels)? * scale;
    if !(v.is_finite() && v >= 1.0) {
        return Err(BadPixels);
    }
    // Above 2^64 every image fits; saturate rather than refuse.
    Ok(if v >= u64::MAX as f64 {
        u64::MAX
    } else {
        v as u64
    })
}

/// Adds the external codecs declared in the sweep file (`[[external]]`) and in every
/// `--external` file to `registry`, before any spec is parsed. Every definition is checked;
/// the message names the file and the field. Returns a warning for each command that is not
/// found (its cells would fail one by one).
pub fn add_externals(registry: &mut Registry, args: &RunArgs) -> Result<Vec<String>, FlagError> {
    add_external_files(registry, args.sweep.as_deref(), &args.external)
}

/// [`add_externals`] for a sweep file (optional) and `--external` files.
pub fn add_external_files(
    registry: &mut Registry,
    sweep: Option<&std::path::Path>,
    files: &[PathBuf],
) -> Result<Vec<String>, FlagError> {
    use crate::codec::external::{read_definitions_file, External};
    let mut defs = Vec::new();
    if let Some(path) = sweep {
        defs.extend(crate::config::read_sweep_externals(path).map_err(|e| format!("--sweep {e}"))?);
    }
    for path in files {
        defs.extend(read_definitions_file(path).map_err(|e| format!("--external {e}"))?);
    }
    let mut warnings = Vec::new();
    for def in defs {
        let origin = def.origin.clone();
        let codec = External::new(def);
        for (what, program, found) in codec.commands() {
            if found.is_none() {
                warnings.push(format!(
                    "{origin}: external codec `{}`: the {what} command `{program}` is not found (not on PATH, or not an executable file); install it or fix `{what}` there, or its cells will fail",
                    codec.definition().name
                ));
            }
        }
        registry
            .add(std::sync::Arc::new(codec))
            .map_err(|e| format!("{origin}.name: {e}"))?;
    }
    Ok(warnings)
}

/// An error and its sources, `outer: inner: ...`, as `{:#}` prints an anyhow chain, but a
/// source whose text an outer message already quotes (`cannot read x ({cause})` with the
/// cause also as its source) is not said twice.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = s.source();
    }
    text
}

/// What to do to measure a skipped file, in flag terms.
pub fn skip_hint(fix: SkipFix) -> &'static str {
    match fix {
        SkipFix::RaisePixelLimit => "raise --max-pixels to include it",
        SkipFix::RaiseMemoryOrFewerMetrics => "raise --max-memory or choose fewer --metrics",
        SkipFix::CheckCorpusPath => "check the --corpus argument",
    }
}

/// A sweep's failure, under the flag it concerns and with the flag that fixes it where there
/// is one.
pub fn sweep_error(e: SweepError) -> FlagError {
    match e {
        SweepError::NoImages { .. } => {
            FlagError::input("--corpus", Hinted::new(e, "pass image files or folders"))
        }
        SweepError::NoReadableImages { .. } => FlagError::input(
            "--corpus",
            Hinted::new(
                e,
                "fix or remove them, or give other image files or folders",
            ),
        ),
        SweepError::OutDir { .. } => FlagError::input("--out", e),
        SweepError::Cache(_) => FlagError::input("--cache", e),
        _ => FlagError::Message(chain(&e)),
    }
}

/// A report's failure, under the flag it concerns where there is one.
pub fn report_error(e: ReportError) -> FlagError {
    match e {
        ReportError::Anchor { .. } => FlagError::input("--anchor", e),
        ReportError::MaxSize { .. } => FlagError::input(
            "--max-report-mb",
            Hinted::new(e, "give a positive number of megabytes"),
        ),
        _ => FlagError::Message(chain(&e)),
    }
}

/// A merge's failure, with the flag that fixes it where there is one.
pub fn merge_error(e: MergeError) -> FlagError {
    match e {
        MergeError::MixedProvenance { .. } => FlagError::Message(chain(&Hinted::new(
            e,
            "re-run that shard, or pass --allow-mixed to merge anyway",
        ))),
        MergeError::OutDir { .. } => FlagError::input("--out", e),
        _ => FlagError::Message(chain(&e)),
    }
}

/// A `compare --retime` failure, under the flag whose input it concerns (`--retime`, the
/// definition files of a side, or `--retime-corpus DIR`), with the flag that fixes it.
pub fn retime_error(e: RetimeError) -> FlagError {
    let RetimeError::Resolve(e) = e else {
        return FlagError::input("--retime", e);
    };
    let definitions = |side: Side| match side {
        Side::Baseline => "--baseline-external",
        Side::New => "--external",
    };
    let flag = match (&e, e.input()) {
        (ResolveError::NotInCorpus { dir, .. }, _) => format!("--retime-corpus {}", dir.display()),
        (_, Some(Fix::Definitions(side))) => definitions(side).to_string(),
        _ => "--retime".to_string(),
    };
    let hint = match e.fix() {
        Some(Fix::Definitions(side)) => Some(match &e {
            ResolveError::RecordedDefinitionsGone { .. } => {
                format!("point {} at {side}'s definition file(s)", definitions(side))
            }
            _ => format!(
                "point {} at the TOML file that defined it when {side} ran",
                definitions(side)
            ),
        }),
        Some(Fix::CorpusDir) => Some(match &e {
            ResolveError::NotInCorpus { .. } => {
                "point --retime-corpus at the folder BASELINE and NEW ran on".to_string()
            }
            ResolveError::ImageChanged { .. } => {
                "point --retime-corpus at the corpus the runs measured".to_string()
            }
            _ => "pass --retime-corpus DIR, the folder the runs' --corpus pointed at".to_string(),
        }),
        Some(Fix::RestoreOrCorpusDir) => Some(
            "restore it, or pass --retime-corpus DIR holding the corpus the runs measured"
                .to_string(),
        ),
        None => None,
    };
    match hint {
        Some(hint) => FlagError::input(flag, Hinted::new(e, hint)),
        None => FlagError::input(flag, e),
    }
}

/// How to make a report, from the report flags.
pub fn report_options(
    flags: &ReportFlags,
    out: PathBuf,
    run_dir: PathBuf,
) -> Result<ReportOptions, FlagError> {
    if !(flags.crop_bpp.is_finite() && flags.crop_bpp > 0.0) {
        return Err(FlagError::Message(format!(
            "--crop-bpp {}: give a positive number of bits per pixel",
            flags.crop_bpp
        )));
    }
    Ok(ReportOptions {
        out,
        run_dir,
        anchor: flags.anchor.clone(),
        interp: match flags.bd_method {
            BdMethod::Pchip => Interp::Pchip,
            BdMethod::Cubic => Interp::Cubic,
        },
        crop_bpp: flags.crop_bpp,
        max_report_mb: flags.max_report_mb,
        meta: None,
        preset: match &flags.preset {
            Some(name) => {
                Some(crate::config::preset(name).map_err(|e| FlagError::input("--preset", e))?)
            }
            None => None,
        },
        coverage: if flags.coverage > 0.0 && flags.coverage <= 100.0 {
            flags.coverage
        } else {
            return Err(FlagError::Message(format!(
                "--coverage {}: give a percentage of the images above 0 and at most 100",
                flags.coverage
            )));
        },
    })
}

/// A percentage limit from the command line: a number, or "off".
fn limit(flag: &str, v: &str) -> Result<Option<f64>, FlagError> {
    if v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(Some)
        .ok_or_else(|| {
            FlagError::Message(format!("{flag} {v}: give a non-negative number or \"off\""))
        })
}

/// `v` if it is a finite number >= 0; otherwise an error naming `what`.
fn non_negative(what: &str, v: f64) -> Result<f64, FlagError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(FlagError::Message(format!(
            "{what} = {v}: give a finite non-negative number"
        )))
    }
}

/// An error naming `what` unless `key` is a metric the gate knows.
fn known_metric(what: &str, key: &str) -> Result<(), FlagError> {
    match crate::metrics::find(key) {
        Some(_) => Ok(()),
        None => Err(FlagError::Message(format!(
            "{what}: unknown metric {key} (known: {})",
            crate::metrics::known_keys()
        ))),
    }
}

/// The thresholds of `compare`: defaults, then the sweep file's `[gate]` table, then flags.
pub fn thresholds(args: &CompareArgs) -> Result<Thresholds, FlagError> {
    let mut th = Thresholds::default();
    if let Some(path) = &args.sweep {
        let g = read_gate(path).map_err(|e| FlagError::input("--sweep", e))?;
        // The file's values are checked like the flags: a NaN, negative or misspelt limit
        // would otherwise switch a check off silently (NaN compares false) or fail every run.
        let at = |key: &str| format!("--sweep {}: [gate] {key}", path.display());
        let file_limit = |key: &str, v: Option<f64>| -> Result<Option<f64>, FlagError> {
            v.map(|x| non_negative(&at(key), x)).transpose()
        };
        th.max_bd_rate = file_limit("max_bd_rate", g.max_bd_rate)?.or(th.max_bd_rate);
        th.max_size_increase =
            file_limit("max_size_increase", g.max_size_increase)?.or(th.max_size_increase);
        th.max_slowdown = file_limit("max_slowdown", g.max_slowdown)?.or(th.max_slowdown);
        th.noise = file_limit("noise", g.noise)?.unwrap_or(th.noise);
        th.max_target_bytes_increase =
            file_limit("max_target_bytes_increase", g.max_target_bytes_increase)?
                .or(th.max_target_bytes_increase);
        for (k, v) in g.max_quality_drop {
            let key = format!("max_quality_drop.{k}");
            known_metric(&at(&key), &k)?;
            th.set_quality_drop(&k, non_negative(&at(&key), v)?);
        }
    }
    if let Some(v) = &args.max_bd_rate {
        th.max_bd_rate = limit("--max-bd-rate", v)?;
    }
    if let Some(v) = &args.max_size_increase {
        th.max_size_increase = limit("--max-size-increase", v)?;
    }
    if let Some(v) = &args.max_slowdown {
        th.max_slowdown = limit("--max-slowdown", v)?;
    }
    if let Some(v) = &args.max_target_bytes_increase {
        th.max_target_bytes_increase = limit("--max-target-bytes-increase", v)?;
    }
    if let Some(n) = args.noise {
        th.noise = non_negative("--noise", n)?;
    }
    th.allow_missing = args.allow_missing;
    if let Some(list) = &args.max_quality_drop {
        for item in list.split(',') {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                format!("--max-quality-drop {item}: write METRIC=DROP, e.g. psnr=0.05")
            })?;
            known_metric(&format!("--max-quality-drop {item}"), k.trim())?;
            let v = limit("--max-quality-drop", v.trim())?.unwrap_or(f64::INFINITY);
            th.set_quality_drop(k.trim(), v);
        }
    }
    Ok(th)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: FlagError) -> String {
        chain(&e)
    }

    /// The library's errors name no flag; here each gets the flag it concerns and the one
    /// that fixes it, and keeps its sources.
    #[test]
    fn library_errors_get_their_flag_and_fix_here() {
        let resolve = |e| text(retime_error(RetimeError::Resolve(e)));
        assert_eq!(
            resolve(ResolveError::ImageNotRecorded { id: "x.png".into() }),
            "--retime: image x.png is not in either run.json (results.csv without its run \
             folder?); pass --retime-corpus DIR, the folder the runs' --corpus pointed at"
        );
        assert_eq!(
            resolve(ResolveError::NotInCorpus {
                dir: "/c".into(),
                id: "x.png".into(),
                path: "/c/x.png".into(),
            }),
            "--retime-corpus /c: image x.png is missing (no file /c/x.png); point \
             --retime-corpus at the folder BASELINE and NEW ran on"
        );
        let unknown = resolve(ResolveError::UnknownCodec {
            side: Side::Baseline,
            name: "site".into(),
            spec: "site:q=80".into(),
            from: "no external definition".into(),
        });
        assert!(
            unknown.starts_with("--retime: BASELINE's codec `site`")
                && unknown.ends_with(
                    "; point --baseline-external at the TOML file that defined it when \
                     BASELINE ran"
                ),
            "{unknown}"
        );
        assert_eq!(
            resolve(ResolveError::Definitions {
                side: Side::New,
                cause: "defs.toml: cannot read".into(),
            }),
            "--external: defs.toml: cannot read"
        );
        assert_eq!(
            resolve(ResolveError::ImageChanged {
                id: "a.png".into(),
                path: "/r/a.png".into(),
                now: "1".into(),
                hash: "2".into(),
                in_corpus_dir: false,
            }),
            "--retime: image a.png changed since the runs: /r/a.png decodes to pixel hash 1, \
             the runs measured 2; restore it, or pass --retime-corpus DIR holding the corpus \
             the runs measured"
        );
        assert_eq!(
            text(sweep_error(SweepError::NoImages {
                roots: "a".into(),
                extensions: "png".into(),
            })),
            "--corpus: no images found in a (looked for png files); pass image files or folders"
        );
        assert_eq!(
            text(sweep_error(SweepError::OutDir {
                path: "/x".into(),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            })),
            "--out: cannot create the run folder /x: permission denied"
        );
        // A cause the message quotes is not repeated.
        assert_eq!(
            text(FlagError::input(
                "--cache",
                crate::cache::CacheError::Open {
                    dir: "/c".into(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                }
            )),
            "--cache: cache folder /c: cannot create (entity not found); choose another \
             folder or run without the cache"
        );
        assert_eq!(
            text(report_error(ReportError::MaxSize { mb: 0.0 })),
            "--max-report-mb: report size limit 0 MB is not a positive size; give a positive \
             number of megabytes"
        );
        for (fix, flag) in [
            (SkipFix::RaisePixelLimit, "--max-pixels"),
            (SkipFix::RaiseMemoryOrFewerMetrics, "--max-memory"),
            (SkipFix::CheckCorpusPath, "--corpus"),
        ] {
            assert!(skip_hint(fix).contains(flag), "{fix:?}");
        }
    }
}
