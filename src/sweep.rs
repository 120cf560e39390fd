//! `codecbench run`: load the corpus, run every cell, and write results.csv, summary.csv and
//! run.json into the run folder. results.csv is a journal while the sweep runs (every finished
//! cell appended and flushed, see [`crate::journal`]), so an interrupted or killed run still
//! leaves every finished cell on disk, and a run started again with the same `--out` keeps them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::analysis::summary::{summarize, SummaryRow};
use crate::cache::{Cache, CacheError};
use crate::codec::CodecConfig;
use crate::corpus::{self, SkipFix, Skipped, SourceImage};
use crate::export::{OutputError, RunResults};
use crate::metrics::{set_id, Metric};
use crate::plan::{Job, JobKey, Plan};
use crate::progress::{Notice, Observer, Progress};
use crate::record::CellRecord;
use crate::run::{pool, run_jobs, CellOutcome, Engine, EngineTimes};
use crate::run_dir::RunDir;
use crate::run_meta::{CodecMeta, ImageMeta, RunMeta, TimingMeta};

/// Why a sweep could not run (or could not write what it measured).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("cannot create the run folder {}: {source}", path.display())]
    OutDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start {jobs} worker threads: {source}")]
    Pool {
        jobs: usize,
        source: rayon::ThreadPoolBuildError,
    },
    #[error("no images found in {roots} (looked for {extensions} files)")]
    NoImages { roots: String, extensions: String },
    /// Image files were found but none could be read (issue 13 case 6).
    #[error(
        "none of the {files} image file(s) found in {roots} could be read (each reason is above)"
    )]
    NoReadableImages { files: usize, roots: String },
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Everything `run` needs, already checked.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Files and directories (recursive) to read images from (default `corpus/`).
    pub corpus: Vec<PathBuf>,
    pub configs: Vec<CodecConfig>,
    /// Run folder (default `reports/<UTC timestamp>`, made unique by [`crate::run_dir::claim_run_dir`]).
    pub out: PathBuf,
    /// `out` is the default folder claimed for this run (removed again if the run fails
    /// before writing anything).
    pub out_is_default: bool,
    /// Worker threads (default: all cores).
    pub jobs: usize,
    /// Timed runs per encode/decode, median reported (default 1).
    pub repeat: u32,
    /// Keep encoded files under `<out>/encoded/` (default off).
    pub save_encoded: bool,
    /// Largest image accepted, in pixels (default 100 MP).
    pub max_pixels: u64,
    /// Memory budget for images in flight, bytes (default: a fraction of the available
    /// memory, see [`crate::alloc::default_max_memory`]).
    pub max_memory: u64,
    /// The command line, recorded in run.json.
    pub command: Vec<String>,
    /// Cell cache folder (default: the user's cache folder; `None` = no cache).
    pub cache: Option<PathBuf>,
    /// Run only shard K of N (1-based), balanced by expected cost.
    pub shard: Option<(usize, usize)>,
    /// Metrics measured in every cell (default: psnr, psnr-y, ssim, ssimulacra2).
    pub metrics: Vec<Metric>,
    /// Save the report's visual comparison crops under `<out>/crops/`, at the setting whose
    /// bpp is nearest this (`None`: no crops, e.g. `--no-report`).
    pub crop_bpp: Option<f64>,
    /// Target search (`--target`): one search per image x lossy curve x target, written to
    /// `<out>/targets.csv` (empty: no search).
    pub targets: Vec<crate::target::Target>,
}

/// What a finished (or interrupted) sweep produced.
#[derive(Debug)]
pub struct Outcome {
    pub records: Vec<CellRecord>,
    pub summary: Vec<SummaryRow>,
    pub skipped: Vec<Skipped>,
    pub meta: RunMeta,
    pub files: Vec<PathBuf>,
}

impl Outcome {
    /// 0 when every file was read and every cell measured, 1 otherwise, 130 if interrupted.
    pub fn exit_code(&self) -> i32 {
        if self.meta.interrupted {
            130
        } else if !self.skipped.is_empty() || self.meta.cells_failed > 0 {
            1
        } else {
            0
        }
    }
}

fn cpu_model() -> String {
    crate::run_meta::cpu_model()
}

/// An image file found in the corpus: (image id, path).
type Found = (String, PathBuf);

/// Stage 1, discover: the image files under the corpus paths (nothing opened yet). Files that
/// cannot be listed become skip lines, printed as they are found.
fn discover(sweep: &Sweep, progress: &Progress) -> Result<(Vec<Found>, Vec<Skipped>), SweepError> {
    let (found, skipped, ignored) = corpus::discover(&sweep.corpus);
    for s in &skipped {
        progress.notice(Notice::Skipped(s.clone()));
    }
    if found.is_empty() {
        let roots: Vec<String> = sweep
            .corpus
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(SweepError::NoImages {
            roots: roots.join(", "),
            extensions: corpus::EXTENSIONS.join("/"),
        });
    }
    if ignored > 0 {
        progress.notice(Notice::Ignored(ignored));
    }
    Ok((found, skipped))
}

/// Stage 2, admit: opens every image by its header (size checks, nothing decoded: the pool
/// decodes each image when its first cell starts) and keeps those within `--max-pixels` and
/// the memory budget; the others become skip lines.
fn admit(
    sweep: &Sweep,
    pool: &rayon::ThreadPool,
    progress: &Progress,
    found: &[Found],
    skipped: &mut Vec<Skipped>,
) -> Vec<SourceImage> {
    let loaded: Vec<Result<SourceImage, Skipped>> = pool.install(|| {
        found
            .par_iter()
            .map(|(id, path)| {
                let skip = |reason: String, fix: Option<SkipFix>| Skipped {
                    path: path.clone(),
                    reason,
                    fix,
                };
                // The header alone says whether the image can fit the memory budget: an
                // image that cannot is skipped before its pixels are allocated.
                if let Ok((w, h)) = corpus::dimensions(path) {
                    // (--max-pixels is judged first, by `open`.)
                    let within = w as u64 * h as u64 <= sweep.max_pixels;
                    if let Some(reason) = over_budget(w, h, sweep).filter(|_| within) {
                        return Err(skip(reason, Some(SkipFix::RaiseMemoryOrFewerMetrics)));
                    }
                }
                SourceImage::open(id, path, sweep.max_pixels).map_err(|e| {
                    let fix = matches!(e, corpus::LoadError::TooLarge { .. })
                        .then_some(SkipFix::RaisePixelLimit);
                    skip(e.to_string(), fix)
                })
            })
            .collect()
    });
    let mut sources = Vec::new();
    for r in loaded {
        match r {
            Ok(s) => sources.push(s),
            Err(s) => {
                progress.notice(Notice::Skipped(s.clone()));
                skipped.push(s);
            }
        }
    }
    sources
}

/// The error of a corpus none of whose files could be read (`skipped` says why, file by file).
fn no_readable_image(sweep: &Sweep, skipped: &[Skipped]) -> SweepError {
    let roots: Vec<String> = sweep
        .corpus
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    SweepError::NoReadableImages {
        files: skipped.len(),
        roots: roots.join(", "),
    }
}

/// Why a `w` x `h` image cannot be measured within `--max-memory`, if it cannot.
fn over_budget(w: u32, h: u32, sweep: &Sweep) -> Option<String> {
    let pixels = w as u64 * h as u64;
    let per_pixel = crate::run::bytes_per_pixel(&sweep.metrics, pixels);
    let need = pixels.saturating_mul(per_pixel);
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    (need > sweep.max_memory).then(|| {
        format!(
            "{w}x{h} needs about {:.0} MiB to measure ({per_pixel} B/px with metrics {}), above \
             the memory budget of {:.0} MiB (by default the least of half the available memory, \
             the address space left under ulimit -v and the cgroup's memory.max)",
            mib(need),
            set_id(&sweep.metrics),
            mib(sweep.max_memory)
        )
    })
}

/// The warning to show before the sweep starts: `--out` holds a finished run whose files it
/// replaces (not when the folder is the default one, or an unfinished run it resumes). The
/// library does not print; the caller shows it.
pub fn replaces_note(sweep: &Sweep) -> Option<String> {
    let resuming = crate::journal::can_resume(&sweep.out, &journal_identity(sweep));
    if sweep.out_is_default || resuming {
        return None;
    }
    RunDir::new(&sweep.out).replaced_note()
}

/// Runs the sweep. `cancel` stops it early (Ctrl-C); what finished is still written.
/// `observer` hears of skipped files, failed cells, warnings and progress as they happen.
pub fn execute(
    sweep: &Sweep,
    cancel: Arc<AtomicBool>,
    observer: &dyn Observer,
) -> Result<Outcome, SweepError> {
    let existed = sweep.out.exists();
    RunDir::new(&sweep.out).remove_temporaries();
    let result = execute_in(sweep, cancel, observer);
    // A run that failed before writing anything leaves no empty folder behind.
    if result.is_err() && (!existed || sweep.out_is_default) {
        crate::journal::discard_empty(&sweep.out);
        let _ = std::fs::remove_dir(&sweep.out);
    }
    result
}

/// The settings an earlier run's journal rows must share to be kept (see [`crate::journal`]).
fn journal_identity(sweep: &Sweep) -> String {
    crate::journal::identity(&set_id(&sweep.metrics), sweep.repeat, sweep.save_encoded)
}

/// The sweep as its stages, each a function with one job: discover the files, admit the
/// images, plan the cells, schedule them on the pool with a sink that journals every finished
/// cell, settle the images, write the run folder.
fn execute_in(
    sweep: &Sweep,
    cancel: Arc<AtomicBool>,
    observer: &dyn Observer,
) -> Result<Outcome, SweepError> {
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    let usage0 = crate::alloc::usage();
    let out = RunDir::new(&sweep.out);
    std::fs::create_dir_all(out.path()).map_err(|source| SweepError::OutDir {
        path: sweep.out.clone(),
        source,
    })?;
    let pool = pool(sweep.jobs).map_err(|source| SweepError::Pool {
        jobs: sweep.jobs,
        source,
    })?;
    let pre = Progress::new(0, observer);
    let (found, mut skipped) = discover(sweep, &pre)?;
    let sources = admit(sweep, &pool, &pre, &found, &mut skipped);
    if sources.is_empty() {
        return Err(no_readable_image(sweep, &skipped));
    }
    let load_s = t0.elapsed().as_secs_f64();

    let mut planned = plan(sweep, &pool, &sources, &pre);
    let mut sink = Sink::start(sweep, &out, &mut planned, observer)?;
    let times = schedule(sweep, &pool, &sources, &cancel, &mut planned, &mut sink)?;
    let Sink {
        progress,
        rows,
        flush_error,
        ..
    } = sink;
    if let Some(e) = flush_error {
        progress.notice(Notice::Warning(e.to_string()));
    }
    let failed = settle_images(&pool, &sources, &times, &cancel, &progress, &mut skipped);
    if !sources.is_empty() && failed.len() == sources.len() {
        return Err(no_readable_image(sweep, &skipped));
    }

    // Write: the rows in plan order, then every format of the run folder.
    let start = Start {
        at: started_at,
        t0,
        usage: usage0,
        load_s,
    };
    let measured = Measured {
        sources: &sources,
        skipped,
        failed,
        planned,
        rows,
        times,
    };
    write(sweep, &pool, &out, &cancel, &progress, start, measured)
}

/// When the run started and what the process had used by then.
struct Start {
    at: chrono::DateTime<chrono::Utc>,
    t0: Instant,
    usage: crate::alloc::Usage,
    /// Seconds spent finding and admitting the images.
    load_s: f64,
}

/// What the schedule left: every cell's row, the images that failed, the engine's times.
struct Measured<'a> {
    sources: &'a [SourceImage],
    skipped: Vec<Skipped>,
    /// Indices into `sources` of the images that could not be used.
    failed: Vec<usize>,
    planned: Planned,
    rows: BTreeMap<JobKey, CellRecord>,
    times: EngineTimes,
}

/// The write stage: the rows in plan order, the summary, the targets and run.json through
/// the run folder, then the crops the report shows.
fn write(
    sweep: &Sweep,
    pool: &rayon::ThreadPool,
    out: &RunDir,
    cancel: &AtomicBool,
    progress: &Progress,
    start: Start,
    measured: Measured,
) -> Result<Outcome, SweepError> {
    let Measured {
        sources,
        skipped,
        failed,
        planned,
        rows,
        times,
    } = measured;
    let (started_at, t0, usage0, load_s) = (start.at, start.t0, start.usage, start.load_s);
    let Planned {
        plan,
        searcher,
        swept_total,
        swept_configs,
        planned,
        ..
    } = planned;
    let order = crate::target::row_order(&plan, swept_configs);
    let mut rows: Vec<(JobKey, CellRecord)> = rows.into_iter().collect();
    rows.sort_by_key(|(k, _)| order(k));
    let records: Vec<CellRecord> = rows.into_iter().map(|(_, r)| r).collect();
    let summary = summarize(&crate::target::swept(&records));
    // Probes beyond the first ones were not known when the run started.
    let probes = searcher.as_ref().map_or(0, |s| s.probe_count());
    let planned = times.jobs.max(planned).saturating_sub(times.dropped);
    let targets = searcher.as_ref().map(|s| {
        let mut rows = s.rows(&plan);
        rows.retain(|r| !failed.iter().any(|&i| sources[i].id == r.image));
        rows
    });

    let wall = t0.elapsed().as_secs_f64();
    let usage = crate::alloc::usage();
    let cpu = (usage.cpu + usage.children_cpu)
        .saturating_sub(usage0.cpu + usage0.children_cpu)
        .as_secs_f64();
    let kept: Vec<&SourceImage> = (0..sources.len())
        .filter(|i| !failed.contains(i))
        .map(|i| &sources[i])
        .collect();
    let mut meta = run_meta(
        sweep, &plan, &kept, &skipped, &records, &times, started_at, wall, load_s, cancel, planned,
        cpu,
    );
    meta.cells_total = (swept_total + probes).saturating_sub(times.dropped);
    meta.specs = crate::target::specs_in_order(&plan, swept_configs);
    meta.peak_rss_bytes = usage.peak_rss;
    meta.max_memory_bytes = sweep.max_memory;
    meta.max_images_in_flight = times.max_images_in_flight;
    let mut files = out.write(&RunResults {
        records: &records,
        summary: &summary,
        targets: targets.as_deref(),
        meta: &meta,
    })?;
    if !meta.interrupted {
        crate::journal::finish(out.path());
    }
    if let Some(bpp) = sweep.crop_bpp {
        let saved = pool.install(|| {
            crate::crops::save(
                &sweep.out,
                // All rows: a crop may show the setting the target search found (a probe).
                &records,
                sources,
                &sweep.configs,
                bpp,
                &sweep.command,
            )
        });
        for w in saved.warnings {
            progress.notice(Notice::Warning(w));
        }
        files.extend(saved.files);
    }
    Ok(Outcome {
        records,
        summary,
        skipped,
        meta,
        files,
    })
}

/// The cells of a sweep, before any runs.
struct Planned {
    plan: Plan,
    /// This shard's jobs (and a target search's first probes).
    jobs: Vec<Job>,
    searcher: Option<crate::target::Searcher>,
    /// Cells of the whole sweep (every shard).
    swept_total: usize,
    swept_configs: usize,
    /// Probes expected beyond the first ones, counted up front for the progress total.
    expected_probes: usize,
    /// Jobs planned for this run, before an unfinished run's cells are taken out.
    planned: usize,
    /// Cells an unfinished run in the folder already measured, kept.
    kept: BTreeMap<JobKey, CellRecord>,
}

/// Stage 3, plan: images x configurations as jobs (this shard's), the target search's first
/// probes, and the cells an unfinished run in this folder already measured taken out (not with
/// `--target`: its search must see every cell of a curve).
fn plan(
    sweep: &Sweep,
    pool: &rayon::ThreadPool,
    sources: &[SourceImage],
    progress: &Progress,
) -> Planned {
    let mut plan = Plan::new(sources, &sweep.configs);
    let mut jobs = match sweep.shard {
        // A target search needs each curve's swept cells in one place: shard whole curves.
        Some((k, n)) if !sweep.targets.is_empty() => plan.shard_curves(k, n),
        Some((k, n)) => plan.shard(k, n),
        None => plan.jobs(),
    };
    let swept_total = plan.len();
    let mut searcher = (!sweep.targets.is_empty())
        .then(|| crate::target::Searcher::new(&plan, &jobs, &sweep.targets));
    let swept_configs = plan.configs().len();
    let mut expected_probes = 0;
    if let Some(s) = &mut searcher {
        let first = s.start(&mut plan);
        expected_probes = s.expected_probes().saturating_sub(first.len());
        jobs.extend(first);
    }
    let planned = jobs.len();
    let mut kept = BTreeMap::new();
    if sweep.targets.is_empty() {
        let previous = crate::journal::previous_rows(&sweep.out, &journal_identity(sweep));
        let seen = previous.len();
        let encoded = sweep.save_encoded.then_some(sweep.out.as_path());
        kept.extend(crate::journal::keep_finished(
            pool, sources, &mut jobs, previous, encoded,
        ));
        if seen > 0 {
            progress.notice(Notice::Resuming {
                dir: sweep.out.clone(),
                kept: kept.len(),
                to_run: jobs.len(),
            });
        }
    }
    Planned {
        plan,
        jobs,
        searcher,
        swept_total,
        swept_configs,
        expected_probes,
        planned,
        kept,
    }
}

/// Stage 5, sink: takes every finished cell as the pool hands it over: progress, the target
/// search's next probes, and the journal (results.csv appended and flushed), so a killed run
/// loses only the cells under way.
struct Sink<'o> {
    progress: Progress<'o>,
    journal: crate::journal::Journal,
    rows: BTreeMap<JobKey, CellRecord>,
    /// The first failure to append to the journal (the run goes on; results.csv is written
    /// whole at the end).
    flush_error: Option<OutputError>,
}

impl<'o> Sink<'o> {
    /// Starts the journal with the kept cells and the progress display with the jobs to run.
    fn start(
        sweep: &Sweep,
        out: &RunDir,
        planned: &mut Planned,
        observer: &'o dyn Observer,
    ) -> Result<Sink<'o>, SweepError> {
        let rows = std::mem::take(&mut planned.kept);
        let journal =
            crate::journal::Journal::start(out.path(), &journal_identity(sweep), rows.values())?;
        let mut progress = Progress::new(planned.jobs.len(), observer);
        progress.expect(planned.expected_probes);
        progress.set_costs(&costs(&planned.jobs));
        progress.start();
        Ok(Sink {
            progress,
            journal,
            rows,
            flush_error: None,
        })
    }

    /// One finished cell; returns the probes it calls for.
    fn take(
        &mut self,
        plan: &mut Plan,
        searcher: Option<&mut crate::target::Searcher>,
        job: &Job,
        out: CellOutcome,
    ) -> Vec<Job> {
        let progress = &mut self.progress;
        if let Some(w) = &out.warning {
            progress.notice(Notice::Warning(format!("{}: {w}", out.record.image)));
        }
        let mut rec = out.record;
        if !rec.is_ok() {
            progress.notice(Notice::CellFailed {
                image: rec.image.clone(),
                spec: rec.spec.clone(),
                message: rec.message.clone(),
            });
        }
        progress.done(job.cost, format!("{} {}", rec.image, rec.spec));
        let more = match searcher {
            Some(s) => {
                rec.probe = s.is_probe(job.key);
                s.finished(plan, job.key, &rec)
            }
            None => Vec::new(),
        };
        progress.add_probes(&costs(&more));
        if let Err(e) = self.journal.append(&rec) {
            self.flush_error.get_or_insert(e);
        }
        self.rows.insert(job.key, rec);
        more
    }
}

/// The expected cost of each job, for the progress.
fn costs(jobs: &[Job]) -> Vec<f64> {
    jobs.iter().map(|j| j.cost).collect()
}

/// Stage 4, schedule: runs the planned jobs (and the probes they call for) on the pool, each
/// finished cell handed to the sink.
fn schedule(
    sweep: &Sweep,
    pool: &rayon::ThreadPool,
    sources: &[SourceImage],
    cancel: &Arc<AtomicBool>,
    planned: &mut Planned,
    sink: &mut Sink<'_>,
) -> Result<EngineTimes, SweepError> {
    let cache = match &sweep.cache {
        Some(dir) => Some(Arc::new(Cache::open(dir)?)),
        None => None,
    };
    let engine = Engine {
        repeat: sweep.repeat,
        save_encoded: sweep.save_encoded.then(|| sweep.out.clone()),
        cancel: cancel.clone(),
        cache,
        metrics: sweep.metrics.clone(),
        max_memory: Some(sweep.max_memory),
    };
    let jobs = std::mem::take(&mut planned.jobs);
    let (plan, searcher) = (&mut planned.plan, &mut planned.searcher);
    let times = run_jobs(pool, sources, &engine, jobs, |job, out| {
        sink.take(plan, searcher.as_mut(), job, out)
    });
    sink.progress.finish();
    sink.progress.notice(Notice::Writing(
        "all cells measured; writing results.csv, run.json and the crops",
    ));
    Ok(times)
}

/// After the cells: images whose header read but whose pixels did not are skipped like any
/// unreadable file (returned by index); every other image's hash is known for run.json
/// (merging shards matches images by it; an image with no cell here, another shard's, is
/// decoded once for it); what reading a file did beyond decoding it is reported.
fn settle_images(
    pool: &rayon::ThreadPool,
    sources: &[SourceImage],
    times: &EngineTimes,
    cancel: &AtomicBool,
    progress: &Progress,
    skipped: &mut Vec<Skipped>,
) -> Vec<usize> {
    let failed: Vec<usize> = times.failed_images.iter().map(|(i, _)| *i).collect();
    for (i, why) in &times.failed_images {
        let s = Skipped {
            path: sources[*i].path.clone(),
            reason: why.clone(),
            fix: None,
        };
        progress.notice(Notice::Skipped(s.clone()));
        skipped.push(s);
    }
    if !cancel.load(Ordering::SeqCst) {
        pool.install(|| {
            sources
                .par_iter()
                .enumerate()
                .filter(|(i, s)| s.hash().is_empty() && !failed.contains(i))
                .for_each(|(_, s)| {
                    if s.pixels().is_ok() {
                        s.release();
                    }
                })
        });
    }
    // (A PNM maxval scaled, an animation's first frame taken: known once decoded.)
    for s in sources {
        if !s.source_note().is_empty() {
            progress.notice(Notice::Warning(format!(
                "{}: {}",
                s.path.display(),
                s.source_note()
            )));
        }
    }
    failed
}

#[allow(clippy::too_many_arguments)]
fn run_meta(
    sweep: &Sweep,
    plan: &Plan,
    sources: &[&SourceImage],
    skipped: &[Skipped],
    records: &[CellRecord],
    times: &EngineTimes,
    started_at: chrono::DateTime<chrono::Utc>,
    wall: f64,
    load_s: f64,
    cancel: &AtomicBool,
    planned: usize,
    cpu_s: f64,
) -> RunMeta {
    let mut codecs: Vec<CodecMeta> = Vec::new();
    for c in plan.configs() {
        if !codecs.iter().any(|m| m.name == c.codec.name()) {
            codecs.push(CodecMeta {
                name: c.codec.name().into(),
                version: c.codec.version(),
                decoder: c.codec.decoder(),
                lossless: c.lossless(),
            });
        }
    }
    let measured = times.measured.as_secs_f64();
    let busy = times.busy.as_secs_f64();
    // Metric time of the cells measured in this run (cached cells cost nothing here).
    let metrics_s = records
        .iter()
        .filter(|r| !r.cached)
        .filter_map(|r| r.metric_ms)
        .sum::<f64>()
        / 1e3;
    let capacity = wall * sweep.jobs as f64;
    RunMeta {
        tool: "codecbench".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        command: sweep.command.clone(),
        started: started_at.to_rfc3339(),
        finished: chrono::Utc::now().to_rfc3339(),
        interrupted: cancel.load(Ordering::SeqCst) && times.cancelled,
        jobs: sweep.jobs,
        repeat: sweep.repeat,
        cpu_model: cpu_model(),
        cpu_count: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        codecs,
        specs: plan.configs().iter().map(|c| c.spec()).collect(),
        swept_specs: sweep.configs.len(),
        metrics: set_id(&sweep.metrics),
        jpeg_source_decoder: corpus::jpeg_source_decoder(),
        hash_of: "decoded pixels: BLAKE3 of layout + little-endian samples, 128 bits".into(),
        corpus: sources
            .iter()
            .map(|s| ImageMeta {
                id: s.id.clone(),
                path: s.path.clone(),
                hash: s.hash().to_string(),
                width: s.width,
                height: s.height,
                // Known once decoded (0 only for an image an interrupted run never reached).
                channels: s.layout().map_or(0, |l| l.channels),
                bit_depth: s.layout().map_or(0, |l| l.depth),
                file_bytes: s.file_bytes,
                source_note: s.source_note().to_string(),
            })
            .collect(),
        skipped: skipped.to_vec(),
        cells_total: plan.len(),
        cells_planned: planned,
        cells_done: records.len(),
        cells_failed: records.iter().filter(|r| !r.is_ok()).count(),
        cells_cached: times.cached,
        cache_dir: sweep.cache.clone(),
        shard: sweep.shard.map(|(k, n)| [k, n]),
        timing: TimingMeta {
            wall_s: wall,
            load_s,
            prepare_s: times.prepare.as_secs_f64(),
            measured_s: measured,
            codecs_s: measured - metrics_s,
            metrics_s,
            cells_busy_s: busy,
            cpu_s,
            measured_cpu_s: times.measured_cpu.as_secs_f64(),
            unclocked_s: times.unclocked.as_secs_f64(),
            ..TimingMeta::default()
        }
        .with_shares(capacity),
        merged_from: Vec::new(),
        build: crate::run_meta::this_build(),
        shards: Vec::new(),
        peak_rss_bytes: 0,
        max_memory_bytes: 0,
        max_images_in_flight: 0,
    }
}
