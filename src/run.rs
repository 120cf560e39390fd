//! The cell engine: schedules [`Job`]s on a rayon pool and hands each finished cell to the
//! caller. It only schedules: measuring is [`crate::cell::measure`], the row is
//! [`crate::cell::record`].
//!
//! Jobs wait in a shared queue, most expensive first (longest-processing-time scheduling), and
//! are taken by one worker per pool thread. Each finished cell is sent to the caller's sink on
//! the calling thread, which owns ordering, progress and files, and may answer with more jobs
//! (the target search adds probes this way).
//!
//! Images stream through the pool: jobs wait per image, and an image is admitted (a small
//! window: a new one only when every admitted image's jobs are taken, and within
//! `max_memory`) when its first job starts. That job decodes and hashes it on its worker
//! ([`SourceImage::pixels`]); each codec input layout is converted by the first cell that needs
//! it, and the pixels, conversions and the metrics' view of the original are all dropped when
//! the image has no job queued or running. A corpus of any size thus holds only the images in
//! flight. A failing or panicking codec becomes an error row for that cell only; an image that
//! cannot be decoded is reported in [`EngineTimes::failed_images`] and its cells are dropped.

use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::cache::{Cache, Lookup};
use crate::cell::{measure, record, CellError, CellInput, Measurement};
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

/// Working memory per pixel of an image of `pixels` pixels in flight with `metrics`, bytes:
/// the harness's own copies (source, converted input, decoded output, codec buffers) and each
/// metric's view of the original plus its scoring buffers. Calibrated on generated RGB images
/// (scripts/bench_memory.sh, README "Memory"), peak RSS over pixels, jpeg + webp at `--jobs 2`
/// (two cells scoring at once) with the default set: 126 at 1.5 MP, 88 at 4 MP and 84 at
/// 24 MP (above [`LEAN_ABOVE_PIXELS`](crate::metrics::ssimulacra2::LEAN_ABOVE_PIXELS)
/// SSIMULACRA2 keeps only the original's XYB and recomputes its blurred moments; SSIM keeps
/// the original's windowed means, 12 B/px for RGB, which took 114, 76 and 73 before); one
/// jpeg cell at `--jobs 1` on 24 MP: PSNR alone 14, the default set 50 before the means.
/// Butteraugli from the metric bench's heap peaks (reference 102 B/px, about 90 per score in
/// flight). An estimate for scheduling, kept above the measured peaks, not a measurement.
pub fn bytes_per_pixel(metrics: &[Metric], pixels: u64) -> u64 {
    let lean = pixels > crate::metrics::ssimulacra2::LEAN_ABOVE_PIXELS as u64;
    let butteraugli = metrics.iter().any(|m| m.key.starts_with("butteraugli"));
    20 + metrics
        .iter()
        .map(|m| match m.key {
            // SSIM: the original's planes and windowed means (4 B a sample: 16 B/px for RGBA).
            "ssim" => 24,
            "ms-ssim" => 20,
            "ssimulacra2" if lean => 50,
            "ssimulacra2" => 85,
            _ => 0,
        })
        .sum::<u64>()
        // Both butteraugli norms come from one pass.
        + if butteraugli { 290 } else { 0 }
}

/// One finished cell.
#[derive(Clone, Debug)]
pub struct CellOutcome {
    pub record: CellRecord,
    /// Time spent in codec calls (every repeat) and metrics.
    pub measured: Duration,
    /// Worker-thread CPU time of the same calls (and of the child processes they waited for).
    pub measured_cpu: Duration,
    /// Wall time of codec calls whose CPU time no clock here sees (see
    /// [`crate::cell::Measurement::unclocked`]).
    pub unclocked: Duration,
    /// Wall time of the whole cell on its worker.
    pub busy: Duration,
    /// Something the user should hear about that did not fail the cell (cache trouble).
    pub warning: Option<String>,
}

/// Timing of a whole engine run.
#[derive(Clone, Debug, Default)]
pub struct EngineTimes {
    /// Decoding sources (or waiting for another worker to) and converting them to codec
    /// inputs, summed over the workers that did it.
    pub prepare: Duration,
    /// Sum over cells of codec and metric time.
    pub measured: Duration,
    /// Sum over cells of the worker threads' CPU time in codec calls and metrics.
    pub measured_cpu: Duration,
    /// Sum over cells of the wall time of codec calls whose CPU time is not seen.
    pub unclocked: Duration,
    /// Sum over cells of their wall time on a worker.
    pub busy: Duration,
    pub cells_done: usize,
    /// Cells taken from the cache.
    pub cached: usize,
    /// Jobs given (initially and by the sink).
    pub jobs: usize,
    pub cancelled: bool,
    /// Most images in work at once (under `max_memory`); an image's pixels are in memory only
    /// while it is in work.
    pub max_images_in_flight: usize,
    /// Images whose file could not be decoded when their first cell started (a header that
    /// reads but pixels that do not): (image index, reason). Their cells were not run.
    pub failed_images: Vec<(usize, String)>,
    /// Jobs not run because their image could not be decoded.
    pub dropped: usize,
}

/// A source converted for one codec input layout, with the metrics' view of the original:
/// both built by the first cell that needs them (a sweep served from the cache never pays for
/// them) and dropped with the image's pixels when the image has no job left (references of
/// large images are big, and a large corpus must not keep them all).
struct Input {
    prep: Prep,
    image: Mutex<Option<Arc<Image>>>,
    reference: Mutex<Option<Arc<Reference>>>,
}

impl Input {
    /// The codec input: the source itself (shared, not copied) when the codec takes the
    /// source's layout, else a converted copy made once.
    fn image(&self, source: &Arc<Image>, prepare_ns: &AtomicU64) -> Arc<Image> {
        if self.prep.to == source.layout() {
            return source.clone();
        }
        let mut slot = self.image.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| {
            let t = Instant::now();
            let img = self.prep.apply(source);
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
}

/// Converted inputs by (image, layout), made by the first cell of a decoded image that needs
/// them and removed when the image leaves the window.
#[derive(Default)]
struct Inputs(Mutex<HashMap<(usize, Layout), Arc<Input>>>);

impl Inputs {
    /// The input of `job`, whose source `src` is decoded.
    fn get(&self, src: &Image, job: &Job) -> Arc<Input> {
        let want = job.config.codec.input_layout(src.layout());
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((job.key.image, want))
            .or_insert_with(|| {
                let prep = Prep::plan(src.layout(), want).unwrap_or_else(|e| {
                    panic!("codec {} asks for {want}: {e}", job.config.codec.name())
                });
                Arc::new(Input {
                    prep,
                    image: Mutex::new(None),
                    reference: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Drops every input of `image` (cells still running keep theirs until they finish).
    fn remove(&self, image: usize) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|(i, _), _| *i != image);
    }
}

/// A job in the queue: most expensive first, then in row order.
struct Queued {
    job: Job,
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
    /// Images that could not be decoded: their jobs are dropped.
    failed: std::collections::HashSet<usize>,
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

    /// Queues `items`; returns how many were dropped because their image failed to decode.
    fn push(&self, items: Vec<Queued>) -> usize {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut dropped = 0;
        for q in items {
            if s.failed.contains(&q.job.key.image) {
                dropped += 1;
                continue;
            }
            s.pending += 1;
            s.waiting.entry(q.job.key.image).or_default().push(q);
        }
        self.ready.notify_all();
        dropped
    }

    /// `image` cannot be decoded: its queued jobs are dropped (returned for the count) and
    /// jobs given for it later are too.
    fn fail(&self, image: usize) -> usize {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.failed.insert(image);
        let dropped = s.waiting.remove(&image).map_or(0, |h| h.len());
        s.pending -= dropped;
        self.ready.notify_all();
        dropped
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
    /// other job queued or running, and `leave(image)` drops what it held (under the queue's
    /// lock, so that a job given for it meanwhile finds it either in memory or gone).
    fn finished(&self, image: usize, leave: impl FnOnce(usize)) {
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
            leave(image);
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
    let estimate = |image: usize| {
        let pixels = sources[image].pixel_count();
        pixels.saturating_mul(bytes_per_pixel(&engine.metrics, pixels))
    };
    let prepare_ns = AtomicU64::new(0);
    // Returns (jobs given, jobs dropped because their image failed).
    let enqueue = |jobs: Vec<Job>| -> (usize, usize) {
        let n = jobs.len();
        (
            n,
            queue.push(jobs.into_iter().map(|job| Queued { job }).collect()),
        )
    };
    (times.jobs, times.dropped) = enqueue(jobs);

    /// What a worker sends back for a job.
    enum Done {
        Cell(Job, Box<CellOutcome>),
        /// The job's image could not be decoded; `usize` more of its jobs were dropped.
        Failed(Job, String, usize),
    }
    let (tx, rx) = mpsc::channel::<Done>();
    let (queue, prepare_ns, estimate, inputs) = (&queue, &prepare_ns, &estimate, &inputs);
    let work = |tx: mpsc::Sender<Done>| {
        while let Some(Queued { job }) = queue.pop(&engine.cancel, estimate) {
            let image = job.key.image;
            let src = &sources[image];
            let t = Instant::now();
            let pixels = src.pixels();
            prepare_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            let done = match pixels {
                Ok(px) => {
                    let input = inputs.get(&px, &job);
                    let out = cached_or_measured(src, &px, &input, &job.config, engine, prepare_ns);
                    Done::Cell(job, Box::new(out))
                }
                Err(e) => {
                    let dropped = queue.fail(image);
                    Done::Failed(job, e.to_string(), dropped)
                }
            };
            queue.finished(image, |i| {
                inputs.remove(i);
                sources[i].release();
            });
            if tx.send(done).is_err() {
                break;
            }
        }
    };
    let work = &work;
    std::thread::scope(|scope| {
        // One worker per pool thread, each the only thread of a rayon pool of its own: a
        // codec's own rayon work (ravif's join of colour and alpha, rav1e's tiles, oxipng's
        // trials) then stays on the worker that runs the cell, so the worker's CPU clock is the
        // cell's whole CPU time and no cell's work is timed inside another's. (Workers sharing
        // one pool also hung: a worker waiting inside a codec's join could steal the other
        // worker's loop and block in `pop` inside its unfinished cell.)
        for worker in 0..pool.current_num_threads() {
            let tx = tx.clone();
            scope.spawn(move || {
                match rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .thread_name(move |_| format!("codecbench-{worker}"))
                    .build()
                {
                    Ok(own) => own.install(|| work(tx)),
                    // No thread to be had for a pool: work on this one (codecs that need one
                    // rayon thread make their own, see `codec::avif`).
                    Err(_) => work(tx),
                }
            });
        }
        drop(tx);
        for done in rx {
            let (job, out) = match done {
                Done::Cell(job, out) => (job, *out),
                Done::Failed(job, why, dropped) => {
                    times.dropped += 1 + dropped;
                    if !times.failed_images.iter().any(|(i, _)| *i == job.key.image) {
                        times.failed_images.push((job.key.image, why));
                    }
                    queue.done();
                    continue;
                }
            };
            times.measured += out.measured;
            times.measured_cpu += out.measured_cpu;
            times.unclocked += out.unclocked;
            times.busy += out.busy;
            times.cells_done += 1;
            times.cached += out.record.cached as usize;
            let more = sink(&job, out);
            let (given, dropped) = enqueue(more);
            times.jobs += given;
            times.dropped += dropped;
            queue.done();
        }
    });
    times.prepare = Duration::from_nanos(prepare_ns.load(Ordering::Relaxed));
    times.max_images_in_flight = queue
        .state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .max_active;
    times.failed_images.sort();
    times.cancelled = times.cells_done + times.dropped < times.jobs;
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
    px: &Arc<Image>,
    input: &Input,
    config: &CodecConfig,
    engine: &Engine,
    prepare_ns: &AtomicU64,
) -> CellOutcome {
    let started = Instant::now();
    let Some(cache) = &engine.cache else {
        return measure_cell(src, px, input, config, engine, prepare_ns);
    };
    let key_text = Cache::key_text(
        src.hash(),
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
                record.label = config.label.clone();
                return CellOutcome {
                    record,
                    measured: Duration::ZERO,
                    measured_cpu: Duration::ZERO,
                    unclocked: Duration::ZERO,
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
    let mut out = measure_cell(src, px, input, config, engine, prepare_ns);
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

/// A file name part no longer than 100 bytes: a longer `stem` keeps its first 80 characters
/// and gets a hash of the whole (file systems refuse names above 255 bytes).
fn short_name(stem: &str) -> String {
    if stem.len() <= 100 {
        return stem.to_string();
    }
    let mut end = 80;
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}-{}",
        &stem[..end],
        &blake3::hash(stem.as_bytes()).to_hex()[..16]
    )
}

fn measure_cell(
    src: &SourceImage,
    px: &Arc<Image>,
    input: &Input,
    config: &CodecConfig,
    engine: &Engine,
    prepare_ns: &AtomicU64,
) -> CellOutcome {
    let started = Instant::now();
    let image = input.image(px, prepare_ns);
    let cell = CellInput {
        source: px,
        prep: &input.prep,
        image: &image,
    };
    // The cell's own buffers and metric planes must be had: under `ulimit -v` a failed
    // allocation would abort the run, so a cell that cannot get them is an error row.
    let pixels = px.pixel_count() as u64;
    let need = pixels.saturating_mul(bytes_per_pixel(&engine.metrics, pixels));
    let result = if Vec::<u8>::new()
        .try_reserve_exact(usize::try_from(need).unwrap_or(usize::MAX))
        .is_err()
    {
        Err(CellError {
            message: format!(
                "cannot allocate the {} MiB this cell's buffers and metric planes need (out of \
                 memory or address space, see ulimit -v); measure it with fewer --metrics or \
                 more memory",
                need >> 20
            ),
            partial: Box::default(),
        })
    } else {
        measure(&cell, config, engine.repeat, || {
            input.reference(px, &engine.metrics)
        })
    };
    let mut rec = record(src, config, &input.prep, engine.repeat, &result);
    let m: &Measurement = match &result {
        Ok(m) => m,
        Err(e) => &e.partial,
    };
    if let (Some(dir), Some(encoded)) = (&engine.save_encoded, &m.encoded) {
        let rel = format!(
            "encoded/{}/{}.{}",
            src.id,
            short_name(&config.file_stem()),
            config.codec.extension()
        );
        let path = dir.join(&rel);
        // Through a temporary file and a rename: a full disk leaves no truncated file.
        let saved = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| crate::export::write_atomic(&path, encoded));
        match saved {
            Ok(()) => rec.encoded_file = rel,
            Err(e) => {
                let why = format!("could not save the encoded file {}: {e}", path.display());
                rec.message = if rec.message.is_empty() {
                    why
                } else {
                    format!("{}; {why}", rec.message)
                };
                rec.status = crate::record::Status::Error;
            }
        }
    }
    CellOutcome {
        record: rec,
        measured: m.measured,
        measured_cpu: m.measured_cpu,
        unclocked: m.unclocked,
        busy: started.elapsed(),
        warning: None,
    }
}
