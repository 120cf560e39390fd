//! `codecbench run`: load the corpus, run every cell, and write results.csv, summary.csv and
//! run.json into the run folder. results.csv is rewritten (atomically) every few seconds while
//! the sweep runs, so an interrupted or killed run still leaves every finished cell on disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::cache::Cache;
use crate::codec::CodecConfig;
use crate::corpus::{self, Skipped, SourceImage};
use crate::export::{csv_bytes, json_bytes, write_atomic};
use crate::measure::{set_id, Metric};
use crate::progress::{Mode, Progress};
use crate::record::CellRecord;
use crate::run::{pool, run_cells, Engine, EngineTimes};
use crate::run_meta::{CodecMeta, ImageMeta, RunMeta, TimingMeta};
use crate::summary::{summarize, SummaryRow};

/// Everything `run` needs, already checked.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Files and directories (recursive) to read images from (default `corpus/`).
    pub corpus: Vec<PathBuf>,
    pub configs: Vec<CodecConfig>,
    /// Run folder (default `reports/<UTC timestamp>`).
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    pub jobs: usize,
    /// Timed runs per encode/decode, median reported (default 1).
    pub repeat: u32,
    /// Keep encoded files under `<out>/encoded/` (default off).
    pub save_encoded: bool,
    /// Largest image accepted, in pixels (default 100 MP).
    pub max_pixels: u64,
    pub progress: Mode,
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

/// The cells of this shard, or `None` (all cells) when the sweep is not sharded.
fn shard_cells(sweep: &Sweep, sources: &[SourceImage]) -> Option<Vec<usize>> {
    let (k, n) = sweep.shard?;
    let nc = sweep.configs.len();
    let costs: Vec<f64> = (0..sources.len() * nc)
        .map(|i| {
            let c = &sweep.configs[i % nc];
            sources[i / nc].image.pixel_count() as f64 * c.codec.relative_cost(&c.params)
        })
        .collect();
    let owner = crate::shard::assign(&costs, n);
    Some((0..costs.len()).filter(|&i| owner[i] == k - 1).collect())
}

/// A default run folder name: the UTC start time.
pub fn default_run_name() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H-%M-%SZ").to_string()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Loads every image in parallel; failures become skip lines printed as they are found.
fn load_corpus(
    sweep: &Sweep,
    pool: &rayon::ThreadPool,
    progress: &Progress,
) -> Result<(Vec<SourceImage>, Vec<Skipped>), String> {
    let (found, mut skipped, ignored) = corpus::discover(&sweep.corpus);
    for s in &skipped {
        progress.message(&format!("codecbench: {s}"));
    }
    if found.is_empty() {
        let roots: Vec<String> = sweep
            .corpus
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(format!(
            "no images found in {} (looked for {} files); pass image files or folders with --corpus",
            roots.join(", "),
            corpus::EXTENSIONS.join("/")
        ));
    }
    if ignored > 0 && sweep.progress != Mode::Quiet {
        progress.message(&format!(
            "codecbench: ignored {ignored} file(s) without an image extension"
        ));
    }
    let loaded: Vec<Result<SourceImage, Skipped>> = pool.install(|| {
        found
            .par_iter()
            .map(|(id, path)| {
                corpus::load(id, path, sweep.max_pixels).map_err(|reason| Skipped {
                    path: path.clone(),
                    reason,
                })
            })
            .collect()
    });
    let mut sources = Vec::new();
    for r in loaded {
        match r {
            Ok(s) => sources.push(s),
            Err(s) => {
                progress.message(&format!("codecbench: {s}"));
                skipped.push(s);
            }
        }
    }
    Ok((sources, skipped))
}

/// Runs the sweep. `cancel` stops it early (Ctrl-C); what finished is still written.
pub fn execute(sweep: &Sweep, cancel: Arc<AtomicBool>) -> Result<Outcome, String> {
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    std::fs::create_dir_all(&sweep.out)
        .map_err(|e| format!("--out {}: cannot create folder ({e})", sweep.out.display()))?;
    let pool = pool(sweep.jobs)?;
    let pre = Progress::new(0, sweep.progress);
    let (sources, skipped) = load_corpus(sweep, &pool, &pre)?;
    let load_s = t0.elapsed().as_secs_f64();

    let nc = sweep.configs.len();
    let total = sources.len() * nc;
    let cells = shard_cells(sweep, &sources);
    let mut slots: Vec<Option<CellRecord>> = vec![None; total];
    let results_path = sweep.out.join("results.csv");
    let mut progress = Progress::new(cells.as_ref().map_or(total, Vec::len), sweep.progress);
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
    };
    let mut last_flush = Instant::now();
    let mut flush_error: Option<String> = None;
    let times: EngineTimes = run_cells(
        &pool,
        &sources,
        &sweep.configs,
        &engine,
        cells.as_deref(),
        |i, out| {
            if let Some(w) = &out.warning {
                progress.message(&format!("codecbench: warning: {}: {w}", out.record.image));
            }
            let rec = out.record;
            if !rec.is_ok() {
                progress.message(&format!(
                    "codecbench: {} {}: {}",
                    rec.image, rec.spec, rec.message
                ));
            }
            progress.inc(&format!("{} {}", rec.image, rec.spec));
            slots[i] = Some(rec);
            if last_flush.elapsed() >= Duration::from_secs(2) {
                last_flush = Instant::now();
                if let Err(e) = write_results(&results_path, slots.iter().flatten()) {
                    flush_error.get_or_insert(e);
                }
            }
        },
    );
    progress.finish();
    if let Some(e) = flush_error {
        progress.message(&format!("codecbench: warning: {e}"));
    }

    let records: Vec<CellRecord> = slots.into_iter().flatten().collect();
    let summary = summarize(&records);
    let mut files = Vec::new();
    write_results(&results_path, &records)?;
    files.push(results_path);
    let summary_path = sweep.out.join("summary.csv");
    write_file(
        &summary_path,
        &csv_bytes(&summary).map_err(|e| e.to_string())?,
    )?;
    files.push(summary_path);

    let wall = t0.elapsed().as_secs_f64();
    let planned = cells.as_ref().map_or(total, Vec::len);
    let meta = run_meta(
        sweep, &sources, &skipped, &records, &times, started_at, wall, load_s, &cancel, planned,
    );
    let meta_path = sweep.out.join("run.json");
    write_file(&meta_path, &json_bytes(&meta).map_err(|e| e.to_string())?)?;
    files.push(meta_path);
    if let Some(bpp) = sweep.crop_bpp {
        let saved = pool.install(|| {
            crate::report::crops::save(&sweep.out, &records, &sources, &sweep.configs, bpp)
        });
        for w in &saved.warnings {
            progress.message(&format!("codecbench: warning: {w}"));
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

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_results<'a>(
    path: &Path,
    rows: impl IntoIterator<Item = &'a CellRecord>,
) -> Result<(), String> {
    let bytes = csv_bytes(rows).map_err(|e| e.to_string())?;
    write_file(path, &bytes)
}

#[allow(clippy::too_many_arguments)]
fn run_meta(
    sweep: &Sweep,
    sources: &[SourceImage],
    skipped: &[Skipped],
    records: &[CellRecord],
    times: &EngineTimes,
    started_at: chrono::DateTime<chrono::Utc>,
    wall: f64,
    load_s: f64,
    cancel: &AtomicBool,
    planned: usize,
) -> RunMeta {
    let mut codecs: Vec<CodecMeta> = Vec::new();
    for c in &sweep.configs {
        if !codecs.iter().any(|m| m.name == c.codec.name()) {
            codecs.push(CodecMeta {
                name: c.codec.name().into(),
                version: c.codec.version(),
                decoder: c.codec.decoder(),
                lossless: c.codec.lossless(),
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
    let ratio = |x: f64| if measured > 0.0 { x / measured } else { 0.0 };
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
        specs: sweep.configs.iter().map(|c| c.spec()).collect(),
        metrics: set_id(&sweep.metrics),
        hash_of: "decoded pixels: BLAKE3 of layout + little-endian samples, 128 bits".into(),
        corpus: sources
            .iter()
            .map(|s| ImageMeta {
                id: s.id.clone(),
                path: s.path.clone(),
                hash: s.hash.clone(),
                width: s.image.width,
                height: s.image.height,
                channels: s.image.channels,
                bit_depth: s.image.depth(),
                file_bytes: s.file_bytes,
            })
            .collect(),
        skipped: skipped.to_vec(),
        cells_total: sources.len() * sweep.configs.len(),
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
            efficiency: if capacity > 0.0 {
                measured / capacity
            } else {
                0.0
            },
            overhead_share: ratio(capacity - measured),
            in_cell_overhead_share: ratio(busy - measured),
        },
        merged_from: Vec::new(),
    }
}
