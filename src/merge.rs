//! `codecbench merge`: joins the run folders of a sharded sweep (or any runs of the same plan)
//! into one run folder whose results.csv has the rows of the unsharded run, in the same order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::analysis::summary::summarize;
use crate::export::{read_csv, OutputError, RunResults};
use crate::plan::{JobKey, RowOrder};
use crate::record::CellRecord;
use crate::run_dir::RunDir;
use crate::run_meta::{Provenance, RunMeta, RunMetaError, TimingMeta};
use crate::target::TargetRow;

/// What a merge produced.
pub struct Merged {
    pub records: Vec<CellRecord>,
    /// The merged run.json: the first input's, with the counts and times of all inputs.
    pub meta: RunMeta,
    pub files: Vec<PathBuf>,
    /// Cells of the plan that no input had.
    pub missing: usize,
    pub warnings: Vec<String>,
    /// The inputs of another provenance merged anyway (`allow_mixed`): how each differs.
    pub mixed: Vec<MergeError>,
}

/// The plan of a run: image ids with hashes, and the sweep's own specs, in run order (the
/// specs a target search added come after them, and differ from shard to shard).
fn plan(meta: &RunMeta) -> (Vec<(String, String)>, &[String]) {
    let images = meta
        .corpus
        .iter()
        .map(|i| (i.id.clone(), i.hash.clone()))
        .collect();
    let swept = match meta.swept_specs {
        0 => meta.specs.len(),
        n => n.min(meta.specs.len()),
    };
    (images, &meta.specs[..swept])
}

/// Every input's specs: the sweep's own, then each input's probe specs in order of first
/// appearance.
fn all_specs(metas: &[RunMeta]) -> Vec<String> {
    let mut specs: Vec<String> = plan(&metas[0]).1.to_vec();
    let mut seen: std::collections::HashSet<String> = specs.iter().cloned().collect();
    for m in metas {
        for s in &m.specs {
            if seen.insert(s.clone()) {
                specs.push(s.clone());
            }
        }
    }
    specs
}

/// targets.csv of the merged run: every input's rows (a shard searched the curves it ran), in
/// image, curve and target order. `None` when no input has one; a warning when only some do.
fn merged_targets(
    dirs: &[PathBuf],
    order: &RowOrder,
    specs: &[String],
    warnings: &mut Vec<String>,
) -> Result<Option<Vec<TargetRow>>, OutputError> {
    let mut rows: Vec<TargetRow> = Vec::new();
    let mut without = Vec::new();
    for d in dirs {
        let Some(found) = RunDir::new(d).read_targets()? else {
            without.push(d.display().to_string());
            continue;
        };
        for r in found {
            if !rows.iter().any(|o| {
                (&o.image, &o.curve, o.goal, o.target.to_bits())
                    == (&r.image, &r.curve, r.goal, r.target.to_bits())
            }) {
                rows.push(r);
            }
        }
    }
    if without.len() == dirs.len() {
        return Ok(None);
    }
    if !without.is_empty() {
        warnings.push(format!(
            "{} had no targets.csv (run without --target?): the merged targets.csv has only the \
             other inputs' searches",
            without.join(", ")
        ));
    }
    // Each input wrote its rows in (image, curve, target) order; put the curves of one image
    // in the plan's order (a curve is a spec without its first parameter, the setting), keeping
    // each curve's targets in the order they were given.
    let curve_rank = |curve: &str| {
        specs.iter().position(|s| {
            let (codec, rest) = s.split_once(':').unwrap_or((s, ""));
            let rest = rest.split_once(',').map_or("", |(_, r)| r);
            curve == codec || curve == format!("{codec}:{rest}")
        })
    };
    rows.sort_by_key(|r| {
        (
            order.image_index(&r.image).unwrap_or(usize::MAX),
            curve_rank(&r.curve).unwrap_or(usize::MAX),
        )
    });
    Ok(Some(rows))
}

/// The run.json of the merged run: the first input's, with the counts and times of all.
fn merged_meta(metas: &[RunMeta], dirs: &[PathBuf], records: &[CellRecord], n: usize) -> RunMeta {
    let sum = |f: fn(&TimingMeta) -> f64| -> f64 { metas.iter().map(|m| f(&m.timing)).sum() };
    let capacity: f64 = metas
        .iter()
        .map(|m| m.timing.wall_s * m.jobs.max(1) as f64)
        .sum();
    let measured = sum(|t| t.measured_s);
    let busy = sum(|t| t.cells_busy_s);
    RunMeta {
        shard: None,
        merged_from: dirs.to_vec(),
        cells_planned: n,
        cells_done: records.len(),
        cells_failed: records.iter().filter(|r| !r.is_ok()).count(),
        cells_cached: metas.iter().map(|m| m.cells_cached).sum(),
        interrupted: metas.iter().any(|m| m.interrupted),
        timing: TimingMeta {
            wall_s: metas.iter().map(|m| m.timing.wall_s).fold(0.0, f64::max),
            load_s: sum(|t| t.load_s),
            prepare_s: sum(|t| t.prepare_s),
            measured_s: measured,
            codecs_s: sum(|t| t.codecs_s),
            metrics_s: sum(|t| t.metrics_s),
            cells_busy_s: busy,
            cpu_s: sum(|t| t.cpu_s),
            measured_cpu_s: sum(|t| t.measured_cpu_s),
            unclocked_s: sum(|t| t.unclocked_s),
            ..TimingMeta::default()
        }
        .with_shares(capacity),
        peak_rss_bytes: metas.iter().map(|m| m.peak_rss_bytes).max().unwrap_or(0),
        ..metas[0].clone()
    }
}

/// Why runs cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// An input that is neither a folder nor a file.
    #[error("{}: no such run folder or results.csv", path.display())]
    NoInput { path: PathBuf },
    #[error("{0} (merge needs each run's run.json)")]
    RunMeta(#[from] RunMetaError),
    #[error("{} was made from another corpus or sweep than {}; merge only runs of one plan", dir.display(), first.display())]
    OtherPlan { dir: PathBuf, first: PathBuf },
    #[error("{} was run with {what} {theirs} but {} with {what} {first_value}; merge only shards run with the same settings", dir.display(), first.display())]
    OtherSettings {
        dir: PathBuf,
        first: PathBuf,
        what: &'static str,
        theirs: String,
        first_value: String,
    },
    /// An input of another provenance (codecbench build, codec build, machine); a caller may
    /// choose to merge it anyway.
    #[error("{} comes from another {what} than {}: {theirs} against {first_value}; its numbers are not the same run's", dir.display(), first.display())]
    MixedProvenance {
        dir: PathBuf,
        first: PathBuf,
        what: &'static str,
        theirs: String,
        first_value: String,
    },
    #[error("{}: cell {image} {spec} is not in the plan of its run.json", dir.display())]
    Foreign {
        dir: PathBuf,
        image: String,
        spec: String,
    },
    #[error("cannot create the output folder {}: {source}", path.display())]
    OutDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Merges `inputs` (run folders or their results.csv) into `out`, refusing inputs of mixed
/// provenance.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<Merged, MergeError> {
    merge_with(inputs, out, false)
}

/// Merges `inputs` into `out`; with `allow_mixed`, inputs from another codecbench build, codec
/// build or machine are merged (listed in [`Merged::mixed`]) instead of refused. Either way the
/// merged run.json lists each input's provenance.
pub fn merge_with(inputs: &[PathBuf], out: &Path, allow_mixed: bool) -> Result<Merged, MergeError> {
    if let Some(gone) = inputs.iter().find(|p| !p.exists()) {
        return Err(MergeError::NoInput { path: gone.clone() });
    }
    let dirs: Vec<PathBuf> = inputs
        .iter()
        .map(|p| RunDir::of(p).path().to_path_buf())
        .collect();
    let metas: Vec<RunMeta> = dirs
        .iter()
        .map(|d| RunDir::new(d).read_meta())
        .collect::<Result<_, _>>()?;
    let provenance: Vec<Provenance> = metas
        .iter()
        .zip(&dirs)
        .map(|(m, d)| Provenance::of(m, d))
        .collect();
    let mut mixed = Vec::new();
    for (d, p) in dirs.iter().zip(&provenance).skip(1) {
        if let Some((what, first_value, theirs)) = provenance[0].differs(p) {
            let e = MergeError::MixedProvenance {
                dir: d.clone(),
                first: dirs[0].clone(),
                what,
                theirs,
                first_value,
            };
            if !allow_mixed {
                return Err(e);
            }
            mixed.push(e);
        }
    }
    let (images, _) = plan(&metas[0]);
    for (d, m) in dirs.iter().zip(&metas).skip(1) {
        if plan(m) != plan(&metas[0]) {
            return Err(MergeError::OtherPlan {
                dir: d.clone(),
                first: dirs[0].clone(),
            });
        }
    }
    // Shards measured with other metrics or another repeat count are not one run: their
    // rows would carry different columns or differently timed medians.
    for (d, m) in dirs.iter().zip(&metas).skip(1) {
        for (what, a, b) in [
            ("metrics", &metas[0].metrics, &m.metrics),
            (
                "repeat count",
                &metas[0].repeat.to_string(),
                &m.repeat.to_string(),
            ),
        ] {
            if a != b {
                return Err(MergeError::OtherSettings {
                    dir: d.clone(),
                    first: dirs[0].clone(),
                    what,
                    theirs: b.clone(),
                    first_value: a.clone(),
                });
            }
        }
    }
    let specs = all_specs(&metas);
    // Cells of the sweep (probes are extra: each shard adds its own).
    let n = images.len() * plan(&metas[0]).1.len();
    let order = RowOrder::new(images, &specs);
    let mut rows: BTreeMap<JobKey, CellRecord> = BTreeMap::new();
    let mut warnings: Vec<String> = Vec::new();
    for d in &dirs {
        let found: Vec<CellRecord> = read_csv(&RunDir::new(d).results())?;
        let mut dup = 0;
        for r in found {
            let Some(key) = order.key_of(&r.image, &r.image_hash, &r.spec) else {
                return Err(MergeError::Foreign {
                    dir: d.clone(),
                    image: r.image,
                    spec: r.spec,
                });
            };
            match rows.entry(key) {
                std::collections::btree_map::Entry::Occupied(_) => dup += 1,
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(r);
                }
            }
        }
        if dup > 0 {
            warnings.push(format!(
                "{}: {dup} cell(s) already merged from an earlier input; kept the first",
                d.display()
            ));
        }
    }
    let records: Vec<CellRecord> = rows.into_values().collect();
    let missing = n.saturating_sub(records.iter().filter(|r| !r.probe).count());
    let targets = merged_targets(&dirs, &order, &specs, &mut warnings)?;

    let mut meta = merged_meta(&metas, &dirs, &records, n);
    meta.swept_specs = plan(&metas[0]).1.len();
    meta.shards = provenance;
    meta.specs = specs;

    std::fs::create_dir_all(out).map_err(|source| MergeError::OutDir {
        path: out.to_path_buf(),
        source,
    })?;
    let summary = summarize(&crate::target::swept(&records));
    let mut files = RunDir::new(out).write(&RunResults {
        records: &records,
        summary: &summary,
        targets: targets.as_deref(),
        meta: &meta,
    })?;
    let crops = crate::crops::merge(&dirs, out, &records, &meta.command);
    files.extend(crops.files);
    warnings.extend(crops.warnings);
    Ok(Merged {
        records,
        meta,
        files,
        missing,
        warnings,
        mixed,
    })
}
