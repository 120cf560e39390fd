//! The cell engine: schedules [`Job`]s on a rayon pool and hands each finished cell to the
//! caller. It only schedules: measuring is [`crate::cell::measure`], the row is
//! [`crate::cell::record`].
//!
//! Jobs wait in a shared queue, most expensive first (longest-processing-time scheduling), and
//! are taken by one worker per pool thread. Each finished cell is sent to the caller's sink on
//! the calling thread, which owns ordering, progress and files, and may answer with more jobs
//! (the target search adds probes this way). Each source is converted for a codec's input
//! layout by the first cell that needs it; the conversion and the metrics' view of the original
//! are dropped when the last cell using them is done. A failing or panicking codec becomes an
//! error row for that cell only.

use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::cache::{Cache, Lookup};
use crate::cell::{measure, record, CellInput, Measurement};
use crate::codec::CodecConfig;
use crate::corpus::SourceImage;
use crate::measure::Reference;
use crate::metrics::{set_id, Metric};
use crate::pixels::{Image, Layout, Prep};
use crate::plan::{Job, Plan};
use crate::record::CellRecord;

/// How cells are run.
#[derive(Clone, Debug)]
pub struct Engine {
    /// Timed runs per encode and decode; the median is reported (default 1).
    pub repeat: u32,
    /// Run folder under which `encoded/` is written, when encoded files are kept.
    pub save_encoded: Option<PathBuf>,
    /// Set to stop taking new cells (Ctrl-C); cells under way finish.
    pub cancel: Arc<AtomicBool>,
    /// Cell cache (default: none). Read unless encoded files are being saved; always written.
    pub cache: Option<Arc<Cache>>,
    /// Metrics measured in every cell (MSE/PSNR always); part of every cache key.
    pub metrics: Vec<Metric>,
    /// Memory budget for images in flight, bytes (`None`: no limit). Each image in work holds
    /// about [`bytes_per_pixel`] x its pixels (converted inputs, metric references, a cell's
    /// buffers); a new image starts only while the sum fits, or when nothing else is in
    /// flight.
    pub max_memory: Option<u64>,
}

/// Working memory per pixel of an image in flight with `metrics`, bytes: the harness's own
/// copies (source, converted input, decoded output, codec buffers) and each metric's view of
/// the original plus its scoring buffers. Calibrated on a generated 16 MP RGB image, one jpeg,
/// webp or png cell at `--jobs 1`, peak RSS over pixels (scripts/bench_memory.sh, README
/// "Memory"): PSNR alone 16 B/px, + SSIM 111, + MS-SSIM 141, + SSIMULACRA2 131, the default
/// set 203 (248 at `--jobs 2`, two cells scoring at once). An estimate for scheduling, not a
/// measurement.
pub fn bytes_per_pixel(metrics: &[Metric]) -> u64 {
    20 + metrics
        .iter()
        .map(|m| match m.key {
            "ssim" => 96,
            "ms-ssim" => 125,
            "ssimulacra2" => 115,
            _ => 0,
        })
        .sum::<u64>()
}

/// One finished cell.
#[derive(Clone, Debug)]
pub struct CellOutcome {
    pub record: CellRecord,
    /// Time spent in codec calls (every repeat) and metrics.
    pub measured: Duration,
    /// Worker-thread CPU time of the same calls.
    pub measured_cpu: Duration,
    /// Wall time of the whole cell on its worker.
    pub busy: Duration,
    /// Something the user should hear about that did not fail the cell (cache trouble).
    pub warning: Option<String>,
}

/// Timing of a whole engine run.
#[derive(Clone, Debug, Default)]
pub struct EngineTimes {
    /// Converting sources to codec inputs (summed over the workers that did it).
    pub prepare: Duration,
    /// Sum over cells of codec and metric time.
    pub measured: Duration,
    /// Sum over cells of the worker threads' CPU time in codec calls and metrics.
    pub measured_cpu: Duration,
    /// Sum over cells of their wall time on a worker.
    pub busy: Duration,
    pub cells_done: usize,
    /// Cells taken from the cache.
    pub cached: usize,
    /// Jobs given (initially and by the sink).
    pub jobs: usize,
    pub cancelled: bool,
    /// Most images in work at once (under `max_memory`).
    pub max_images_in_flight: usize,
}

/// A source converted for one codec input layout, with the metrics' view of the original:
/// both built by the first cell that needs them (a sweep served from the cache never pays for
/// them) and dropped when the last cell using them is done (references of large images are
/// big, and a large corpus must not keep them all).
struct Input {
    prep: Prep,
    image: Mutex<Option<Arc<Image>>>,
    reference: Mutex<Option<Arc<Reference>>>,
    /// Cells still to use this input.
    remaining: AtomicUsize,
}

impl Input {
    fn image(&self, source: &Image, prepare_ns: &AtomicU64) -> Arc<Image> {
        let mut slot = self.image.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| {
            let t = Instant::now();
            let img = if self.prep.to == source.layout() {
                source.clone()
            } else {
                self.prep.apply(source)
            };
            prepare_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            Arc::new(img)
        })
        .clone()
    }

    fn reference(&self, source: &Image, metrics: &[Metric]) -> Arc<Reference> {
        let mut slot = self.reference.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| Arc::new(Reference::new(source, &self.prep, metrics)))
            .clone()
    }

    fn cell_done(&self) {
        if self.remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
            *self.reference.lock().unwrap_or_else(|p| p.into_inner()) = None;
            *self.image.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

/// Converted inputs by (image, layout), made as jobs arrive.
#[derive(Default)]
struct Inputs(Mutex<HashMap<(usize, Layout), Arc<Input>>>);

impl Inputs {
    /// The input of `job`, counting one more cell that will use it.
    fn register(&self, sources: &[SourceImage], job: &Job) -> Arc<Input> {
        let src = sources[job.key.image].image.layout();
        let want = job.config.codec.input_layout(src);
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let input = map
            .entry((job.key.image, want))
            .or_insert_with(|| {
                let prep = Prep::plan(src, want).unwrap_or_else(|e| {
                    panic!("codec {} asks for {want}: {e}", job.config.codec.name())
                });
                Arc::new(Input {
                    prep,
                    image: Mutex::new(None),
                    reference: Mutex::new(None),
                    remaining: AtomicUsize::new(0),
                })
            })
            .clone();
        input.remaining.fetch_add(1, Ordering::SeqCst);
        input
    }
}

/// A job in the queue: most expensive first, then in row order.
struct Queued {
    job: Job,
    input: Arc<Input>,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.job
            .cost
            .total_cmp(&other.job.cost)
            .then(other.job.key.cmp(&self.job.key))
    }
}

/// The shared queue. `pending` counts jobs queued, running, or finished but not yet seen by
/// the sink (which may add more): workers stop when it reaches zero. Jobs wait per image; an
/// image is admitted (its memory estimate reserved) when its first job starts and released
/// when it has no job queued or running, so at most `budget` bytes of images are in work.
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
    budget: u64,
}

#[derive(Default)]
struct QueueState {
    /// Queued jobs of each image that has any.
    waiting: HashMap<usize, BinaryHeap<Queued>>,
    /// Admitted images: (reserved bytes, jobs running).
    active: HashMap<usize, (u64, usize)>,
    reserved: u64,
    pending: usize,
    max_active: usize,
}

impl QueueState {
    /// The image whose best queued job comes first, among admitted images or the others.
    fn best(&self, admitted: bool) -> Option<usize> {
        self.waiting
            .iter()
            .filter(|(i, _)| self.active.contains_key(i) == admitted)
            .filter_map(|(i, h)| h.peek().map(|q| (i, q)))
            .max_by(|a, b| a.1.cmp(b.1))
            .map(|(i, _)| *i)
    }

    fn take(&mut self, image: usize) -> Queued {
        let heap = self.waiting.get_mut(&image).expect("image has queued jobs");
        let q = heap.pop().expect("image has queued jobs");
        if heap.is_empty() {
            self.waiting.remove(&image);
        }
        self.active.get_mut(&image).expect("admitted").1 += 1;
        q
    }
}

impl Queue {
    fn new(budget: Option<u64>) -> Queue {
        Queue {
            state: Mutex::default(),
            ready: Condvar::new(),
            budget: budget.unwrap_or(u64::MAX),
        }
    }

    fn push(&self, items: Vec<Queued>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.pending += items.len();
        for q in items {
            s.waiting.entry(q.job.key.image).or_default().push(q);
        }
        self.ready.notify_all();
    }

    /// The next job, or `None` when there is no more work (or `cancel` is set). `estimate`
    /// gives an image's memory estimate.
    fn pop(&self, cancel: &AtomicBool, estimate: impl Fn(usize) -> u64) -> Option<Queued> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if cancel.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(image) = s.best(true) {
                return Some(s.take(image));
            }
            if let Some(image) = s.best(false) {
                let need = estimate(image);
                if s.active.is_empty() || s.reserved.saturating_add(need) <= self.budget {
                    s.reserved = s.reserved.saturating_add(need);
                    s.active.insert(image, (need, 0));
                    s.max_active = s.max_active.max(s.active.len());
                    return Some(s.take(image));
                }
            } else if s.pending == 0 {
                return None;
            }
            s = self
                .ready
                .wait_timeout(s, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// A job of `image` finished on its worker: the image leaves the window when it has no
    /// other job queued or running.
    fn finished(&self, image: usize) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let idle = match s.active.get_mut(&image) {
            Some(a) => {
                a.1 -= 1;
                a.1 == 0 && !s.waiting.contains_key(&image)
            }
            None => false,
        };
        if idle {
            let (need, _) = s.active.remove(&image).expect("admitted");
            s.reserved -= need;
        }
        self.ready.notify_all();
    }

    /// One job fully handled (its outcome seen by the sink).
    fn done(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.pending -= 1;
        self.ready.notify_all();
    }
}

/// Runs `jobs` (and any the sink adds); `sink(job, outcome)` is called on the calling thread in
/// completion order and returns jobs to add.
pub fn run_jobs(
    pool: &rayon::ThreadPool,
    sources: &[SourceImage],
    engine: &Engine,
    jobs: Vec<Job>,
    mut sink: impl FnMut(&Job, CellOutcome) -> Vec<Job>,
) -> EngineTimes {
    let mut times = EngineTimes::default();
    let inputs = Inputs::default();
    let queue = Queue::new(engine.max_memory);
    let per_pixel = bytes_per_pixel(&engine.metrics);
    let estimate =
        |image: usize| (sources[image].image.pixel_count() as u64).saturating_mul(per_pixel);
    let prepare_ns = AtomicU64::new(0);
    let enqueue = |jobs: Vec<Job>| -> usize {
        let n = jobs.len();
        let items = jobs
            .into_iter()
            .map(|job| Queued {
                input: inputs.register(sources, &job),
                job,
            })
            .collect();
        queue.push(items);
        n
    };
    times.jobs = enqueue(jobs);

    let (tx, rx) = mpsc::channel::<(Job, CellOutcome)>();
    std::thread::scope(|scope| {
        let (queue, prepare_ns, estimate) = (&queue, &prepare_ns, &estimate);
        scope.spawn(move || {
            pool.scope(|ps| {
                for _ in 0..pool.current_num_threads() {
                    let tx = tx.clone();
                    ps.spawn(move |_| {
                        while let Some(Queued { job, input }) = queue.pop(&engine.cancel, estimate)
                        {
                            let src = &sources[job.key.image];
                            let out =
                                cached_or_measured(src, &input, &job.config, engine, prepare_ns);
                            input.cell_done();
                            queue.finished(job.key.image);
                            if tx.send((job, out)).is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            drop(tx);
        });
        for (job, out) in rx {
            times.measured += out.measured;
            times.measured_cpu += out.measured_cpu;
            times.busy += out.busy;
            times.cells_done += 1;
            times.cached += out.record.cached as usize;
            let more = sink(&job, out);
            times.jobs += enqueue(more);
            queue.done();
        }
    });
    times.prepare = Duration::from_nanos(prepare_ns.load(Ordering::Relaxed));
    times.max_images_in_flight = queue
        .state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .max_active;
    times.cancelled = times.cells_done < times.jobs;
    times
}

/// Every cell of `configs` on `sources`, in row order (for tests and library users that need
/// no progress, shards or probes).
pub fn run_plan(
    pool: &rayon::ThreadPool,
    sources: &[SourceImage],
    configs: &[CodecConfig],
    engine: &Engine,
) -> Vec<CellRecord> {
    let plan = Plan::new(sources, configs);
    let mut rows = std::collections::BTreeMap::new();
    run_jobs(pool, sources, engine, plan.jobs(), |job, out| {
        rows.insert(job.key, out.record);
        Vec::new()
    });
    rows.into_values().collect()
}

/// A pool of `jobs` named worker threads.
pub fn pool(jobs: usize) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .thread_name(|i| format!("codecbench-{i}"))
        .build()
}

/// Takes the cell from the cache when it can, else measures it (and stores it if it succeeded).
fn cached_or_measured(
    src: &SourceImage,
    input: &Input,
    config: &CodecConfig,
    engine: &Engine,
    prepare_ns: &AtomicU64,
) -> CellOutcome {
    let started = Instant::now();
    let Some(cache) = &engine.cache else {
        return measure_cell(src, input, config, engine, prepare_ns);
    };
    let key_text = Cache::key_text(
        &src.hash,
        config,
        &set_id(&engine.metrics),
        engine.repeat.max(1),
    );
    let key = Cache::hash_key(&key_text);
    let mut warning = None;
    if engine.save_encoded.is_none() {
        match cache.get(&key) {
            Lookup::Hit(rec, _) => {
                let mut record = *rec;
                record.image = src.id.clone();
                crate::cell::set_source_bytes(&mut record, src.file_bytes);
                record.encoded_file.clear();
                record.cached = true;
                return CellOutcome {
                    record,
                    measured: Duration::ZERO,
                    measured_cpu: Duration::ZERO,
                    busy: started.elapsed(),
                    warning: None,
                };
            }
            Lookup::Corrupt(why) => {
                warning = Some(format!(
                    "ignored a corrupt cache entry ({why}); measured again"
                ))
            }
            Lookup::Miss => {}
        }
    }
    let mut out = measure_cell(src, input, config, engine, prepare_ns);
    if out.record.is_ok() {
        let mut stored = out.record.clone();
        stored.encoded_file.clear();
        if let Err(e) = cache.put(&key_text, &stored, out.measured.as_secs_f64()) {
            warning.get_or_insert(format!("could not write the cache: {e}"));
        }
    }
    out.warning = warning;
    out
}

fn measure_cell(
    src: &SourceImage,
    input: &Input,
    config: &CodecConfig,
    engine: &Engine,
    prepare_ns: &AtomicU64,
) -> CellOutcome {
    let started = Instant::now();
    let image = input.image(&src.image, prepare_ns);
    let cell = CellInput {
        source: &src.image,
        prep: &input.prep,
        image: &image,
    };
    let result = measure(&cell, config, engine.repeat, || {
        input.reference(&src.image, &engine.metrics)
    });
    let mut rec = record(src, config, &input.prep, engine.repeat, &result);
    let m: &Measurement = match &result {
        Ok(m) => m,
        Err(e) => &e.partial,
    };
    if let (Some(dir), Some(encoded)) = (&engine.save_encoded, &m.encoded) {
        let rel = format!(
            "encoded/{}/{}.{}",
            src.id,
            config.file_stem(),
            config.codec.extension()
        );
        let path = dir.join(&rel);
        let saved = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&path, encoded));
        match saved {
            Ok(()) => rec.encoded_file = rel,
            Err(e) if rec.is_ok() => {
                rec.message = format!("could not save {}: {e}", path.display())
            }
            Err(_) => {}
        }
    }
    CellOutcome {
        record: rec,
        measured: m.measured,
        measured_cpu: m.measured_cpu,
        busy: started.elapsed(),
        warning: None,
    }
}
