//! The cell engine: images x configurations -> measured rows, in parallel on a rayon pool.
//!
//! Each source is converted once per codec input layout before any cell runs. Cells are taken
//! from a shared queue, most expensive first (longest-processing-time scheduling), by one
//! worker per pool thread; each finished cell is sent to the caller, who owns ordering,
//! progress and files. A failing or panicking codec becomes an error row for that cell only.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::cache::{Cache, Lookup};
use crate::codec::{catch, CodecConfig};
use crate::corpus::SourceImage;
use crate::measure::{set_id, Metric, Reference};
use crate::metrics::distortion;
use crate::pixels::{conform, Image, Layout, Prep};
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
}

/// One finished cell.
#[derive(Clone, Debug)]
pub struct CellOutcome {
    pub record: CellRecord,
    /// Time spent in codec calls (every repeat) and metrics.
    pub measured: Duration,
    /// Wall time of the whole cell on its worker.
    pub busy: Duration,
    /// Something the user should hear about that did not fail the cell (cache trouble).
    pub warning: Option<String>,
}

/// Timing of a whole engine run.
#[derive(Clone, Debug, Default)]
pub struct EngineTimes {
    /// Converting sources to codec inputs.
    pub prepare: Duration,
    /// Sum over cells of codec and metric time.
    pub measured: Duration,
    /// Sum over cells of their wall time on a worker.
    pub busy: Duration,
    pub cells_done: usize,
    /// Cells taken from the cache.
    pub cached: usize,
    pub cancelled: bool,
}

/// A source converted for one codec input layout, with the metrics' view of the original:
/// built by the first cell that needs it (a sweep served from the cache never pays for it) and
/// dropped when the last cell using it is done (references of large images are big, and a
/// large corpus must not keep them all).
struct Input {
    prep: Prep,
    image: Image,
    reference: Mutex<Option<Arc<Reference>>>,
    /// Cells of this run still to use this input.
    remaining: AtomicUsize,
}

impl Input {
    fn reference(&self, source: &Image, metrics: &[Metric]) -> Arc<Reference> {
        let mut slot = self.reference.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| Arc::new(Reference::new(source, &self.prep, metrics)))
            .clone()
    }

    fn cell_done(&self) {
        if self.remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
            *self.reference.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

/// Runs the cells listed in `cells` (each `image * configs.len() + config`, the row order; all
/// cells when `None`); `sink(index, outcome)` is called on the calling thread in completion
/// order.
pub fn run_cells(
    pool: &rayon::ThreadPool,
    sources: &[SourceImage],
    configs: &[CodecConfig],
    engine: &Engine,
    cells: Option<&[usize]>,
    mut sink: impl FnMut(usize, CellOutcome),
) -> EngineTimes {
    let mut times = EngineTimes::default();

    let t = Instant::now();
    let inputs: Vec<HashMap<Layout, Input>> = pool.install(|| {
        sources
            .par_iter()
            .map(|s| prepare_inputs(&s.image, configs))
            .collect()
    });
    times.prepare = t.elapsed();

    let mut order: Vec<usize> = match cells {
        Some(c) => c.to_vec(),
        None => (0..sources.len() * configs.len()).collect(),
    };
    let n = order.len();
    let input_of = |i: usize| {
        let (si, ci) = (i / configs.len(), i % configs.len());
        &inputs[si][&configs[ci].codec.input_layout(sources[si].image.layout())]
    };
    for &i in &order {
        input_of(i).remaining.fetch_add(1, Ordering::SeqCst);
    }
    let cost = |i: usize| {
        let (s, c) = (&sources[i / configs.len()], &configs[i % configs.len()]);
        s.image.pixel_count() as f64 * c.codec.relative_cost(&c.params)
    };
    order.sort_by(|&a, &b| cost(b).total_cmp(&cost(a)).then(a.cmp(&b)));

    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, CellOutcome)>();
    std::thread::scope(|scope| {
        let (next, order, input_of) = (&next, &order, &input_of);
        scope.spawn(move || {
            pool.scope(|ps| {
                for _ in 0..pool.current_num_threads() {
                    let tx = tx.clone();
                    ps.spawn(move |_| loop {
                        if engine.cancel.load(Ordering::SeqCst) {
                            break;
                        }
                        let k = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&i) = order.get(k) else { break };
                        let (si, ci) = (i / configs.len(), i % configs.len());
                        let input = input_of(i);
                        let out = cached_or_measured(&sources[si], input, &configs[ci], engine);
                        input.cell_done();
                        if tx.send((i, out)).is_err() {
                            break;
                        }
                    });
                }
            });
            drop(tx);
        });
        for (i, out) in rx {
            times.measured += out.measured;
            times.busy += out.busy;
            times.cells_done += 1;
            times.cached += out.record.cached as usize;
            sink(i, out);
        }
    });
    times.cancelled = times.cells_done < n;
    times
}

/// A pool of `jobs` named worker threads.
pub fn pool(jobs: usize) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .thread_name(|i| format!("codecbench-{i}"))
        .build()
        .map_err(|e| format!("cannot start {jobs} worker threads: {e}"))
}

/// Takes the cell from the cache when it can, else measures it (and stores it if it succeeded).
fn cached_or_measured(
    src: &SourceImage,
    input: &Input,
    config: &CodecConfig,
    engine: &Engine,
) -> CellOutcome {
    let started = Instant::now();
    let Some(cache) = &engine.cache else {
        return measure_cell(src, input, config, engine);
    };
    let key = Cache::key(
        &src.hash,
        config,
        &set_id(&engine.metrics),
        engine.repeat.max(1),
    );
    let mut warning = None;
    if engine.save_encoded.is_none() {
        match cache.get(&key) {
            Lookup::Hit(rec, _) => {
                let mut record = *rec;
                record.image = src.id.clone();
                record.encoded_file.clear();
                record.cached = true;
                return CellOutcome {
                    record,
                    measured: Duration::ZERO,
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
    let mut out = measure_cell(src, input, config, engine);
    if out.record.is_ok() {
        let mut stored = out.record.clone();
        stored.encoded_file.clear();
        if let Err(e) = cache.put(&key, &stored, out.measured.as_secs_f64()) {
            warning.get_or_insert(format!("could not write the cache: {e}"));
        }
    }
    out.warning = warning;
    out
}

fn prepare_inputs(image: &Image, configs: &[CodecConfig]) -> HashMap<Layout, Input> {
    let mut map = HashMap::new();
    for c in configs {
        let want = c.codec.input_layout(image.layout());
        map.entry(want).or_insert_with(|| {
            let prep = Prep::plan(image.layout(), want)
                .unwrap_or_else(|e| panic!("codec {} asks for {want}: {e}", c.codec.name()));
            let image = if want == image.layout() {
                image.clone()
            } else {
                prep.apply(image)
            };
            Input {
                prep,
                image,
                reference: Mutex::new(None),
                remaining: AtomicUsize::new(0),
            }
        });
    }
    map
}

/// The row fields known before anything is measured.
fn base_record(src: &SourceImage, config: &CodecConfig, prep: &Prep, repeat: u32) -> CellRecord {
    let (setting_key, setting) = match config.setting() {
        Some((k, crate::codec::Value::Int(v))) => (k.to_string(), Some(*v as f64)),
        Some((k, _)) => (k.to_string(), None),
        None => (String::new(), None),
    };
    CellRecord {
        image: src.id.clone(),
        image_hash: src.hash.clone(),
        width: src.image.width,
        height: src.image.height,
        channels: src.image.channels,
        bit_depth: src.image.depth(),
        codec: config.codec.name().to_string(),
        codec_version: config.codec.version(),
        decoder: config.codec.decoder(),
        curve: config.curve(),
        spec: config.spec(),
        setting_key,
        setting,
        options: config.options(),
        status: "ok".into(),
        codec_input: prep.to.to_string(),
        conversion: prep.describe(),
        channels_compared: prep.channels_compared(),
        peak: src.image.layout().peak(),
        lossless: config.codec.lossless(),
        raw_bytes: src.image.raw_bytes(),
        repeat,
        ..CellRecord::default()
    }
}

/// Median of measured durations in milliseconds.
fn median_ms(mut d: Vec<Duration>) -> f64 {
    d.sort();
    let m = d.len() / 2;
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    if d.len() % 2 == 1 {
        ms(d[m])
    } else {
        (ms(d[m - 1]) + ms(d[m])) / 2.0
    }
}

/// Runs `f` `repeat` times, each call timed alone (monotonic clock, panics caught); adds every
/// call's time to `measured` and returns the first call's result with the median time in ms.
/// A failure (error or panic) is reported as "`what` failed: ...".
fn timed<T>(
    repeat: u32,
    measured: &mut Duration,
    what: &str,
    f: impl Fn() -> Result<T, String>,
) -> Result<(T, f64), String> {
    let mut first = None;
    let mut times = Vec::with_capacity(repeat as usize);
    for _ in 0..repeat {
        let t = Instant::now();
        let out = catch(&f);
        let dt = t.elapsed();
        *measured += dt;
        times.push(dt);
        let out = out.map_err(|e| format!("{what} failed: {e}"))?;
        first.get_or_insert(out);
    }
    Ok((first.expect("repeat >= 1"), median_ms(times)))
}

fn measure_cell(
    src: &SourceImage,
    input: &Input,
    config: &CodecConfig,
    engine: &Engine,
) -> CellOutcome {
    let started = Instant::now();
    let repeat = engine.repeat.max(1);
    let mut rec = base_record(src, config, &input.prep, repeat);
    let mut measured = Duration::ZERO;
    let result = catch(|| fill(&mut rec, &mut measured, src, input, config, engine));
    if let Err(e) = result {
        rec.status = "error".into();
        rec.message = format!("{}: {e}", config.codec.name());
    }
    CellOutcome {
        record: rec,
        measured,
        busy: started.elapsed(),
        warning: None,
    }
}

/// Encodes, decodes, verifies and measures one cell, filling `rec` as it goes so that a late
/// failure keeps what was already measured.
fn fill(
    rec: &mut CellRecord,
    measured: &mut Duration,
    src: &SourceImage,
    input: &Input,
    config: &CodecConfig,
    engine: &Engine,
) -> Result<(), String> {
    let codec = &config.codec;
    let repeat = engine.repeat.max(1);

    let (encoded, encode_ms) = timed(repeat, measured, "encode", || {
        codec.encode(&input.image, &config.params)
    })?;
    rec.encode_ms = Some(encode_ms);
    let pixels = src.image.pixel_count() as f64;
    rec.bytes = Some(encoded.len() as u64);
    rec.compression_ratio = Some(rec.raw_bytes as f64 / encoded.len() as f64);
    rec.bpp = Some(8.0 * encoded.len() as f64 / pixels);

    if let Some(dir) = &engine.save_encoded {
        let rel = format!(
            "encoded/{}/{}.{}",
            src.id,
            config.file_stem(),
            codec.extension()
        );
        let path = dir.join(&rel);
        let saved = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&path, &encoded));
        match saved {
            Ok(()) => rec.encoded_file = rel,
            Err(e) => rec.message = format!("could not save {}: {e}", path.display()),
        }
    }

    let (decoded, decode_ms) = timed(repeat, measured, "decode", || codec.decode(&encoded))?;
    rec.decode_ms = Some(decode_ms);

    if (decoded.width, decoded.height) != (input.image.width, input.image.height) {
        return Err(format!(
            "decoded size {}x{} differs from the input's {}x{}",
            decoded.width, decoded.height, input.image.width, input.image.height
        ));
    }
    let decoded = conform(decoded, input.prep.to)?;
    let exact = decoded == input.image;
    rec.roundtrip_exact = Some(exact);
    if codec.lossless() && !exact {
        let (x, y, c, a, b) = input
            .image
            .first_difference(&decoded)
            .unwrap_or((0, 0, 0, 0, 0));
        return Err(format!(
            "lossless codec did not round-trip exactly: first difference at pixel ({x}, {y}) \
             channel {c}: input {a}, decoded {b}"
        ));
    }

    let t = Instant::now();
    let d = distortion(&src.image, &decoded, &input.prep);
    rec.mse = Some(d.mse);
    rec.psnr = Some(d.psnr);
    let ch = |k: usize| d.channels.get(k).copied().flatten();
    (rec.mse_c0, rec.psnr_c0) = (ch(0).map(|c| c.0), ch(0).map(|c| c.1));
    (rec.mse_c1, rec.psnr_c1) = (ch(1).map(|c| c.0), ch(1).map(|c| c.1));
    (rec.mse_c2, rec.psnr_c2) = (ch(2).map(|c| c.0), ch(2).map(|c| c.1));
    (rec.mse_c3, rec.psnr_c3) = (ch(3).map(|c| c.0), ch(3).map(|c| c.1));
    let scores = input
        .reference(&src.image, &engine.metrics)
        .score(&decoded, &input.prep);
    let dt = t.elapsed();
    *measured += dt;
    rec.metric_ms = Some(dt.as_secs_f64() * 1e3);
    for (metric, value) in scores.iter() {
        (metric.set)(rec, value);
    }
    rec.metric_notes = scores.notes.join("; ");
    Ok(())
}
