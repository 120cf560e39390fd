//! One cell, measured: [`measure`] encodes, decodes, verifies and scores (a pure step: no files,
//! no scheduling), and [`record`] turns a job and its measurement into the flat result row.
//! The engine in [`crate::run`] only schedules these.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::alloc::{thread_cpu, HeapScope};
use crate::codec::external::{take_child_usage, ChildUsage};
use crate::codec::{catch, CodecConfig, CodecError};
use crate::corpus::SourceImage;
use crate::measure::{Reference, Scores};
use crate::metrics::Distortion;
use crate::pixels::{conform, Image, Prep};
use crate::record::{CellRecord, MetricsSource, Status, Timing, TimingKind};

/// What was measured of one cell. Fields are `None` where the cell failed before reaching
/// them, so a late failure keeps what was already measured.
#[derive(Clone, Debug, Default)]
pub struct Measurement {
    /// The encoded file, as the codec wrote it.
    pub encoded: Option<Vec<u8>>,
    /// Median over the timed encode calls, milliseconds (the codec's own time when it
    /// reports one).
    pub encode_ms: Option<f64>,
    pub decode_ms: Option<f64>,
    /// Decoded output equals the codec input exactly.
    pub roundtrip_exact: Option<bool>,
    pub distortion: Option<Distortion>,
    pub scores: Option<Scores>,
    pub metric_ms: Option<f64>,
    /// Median CPU time of the worker thread in the encode and decode calls, and the metrics'
    /// CPU time, ms (work a codec hands to other threads or processes is not included).
    pub encode_cpu_ms: Option<f64>,
    pub decode_cpu_ms: Option<f64>,
    pub metric_cpu_ms: Option<f64>,
    /// Peak heap bytes above the start of one encode call, one decode call and the metrics,
    /// on the worker thread (`None` without the counting allocator, see [`crate::alloc`]).
    pub encode_peak_bytes: Option<u64>,
    pub decode_peak_bytes: Option<u64>,
    pub metric_peak_bytes: Option<u64>,
    /// Time spent in codec calls (every repeat) and metrics.
    pub measured: Duration,
    /// CPU time of the worker thread in codec calls (every repeat) and metrics, plus the CPU
    /// time of the child processes those calls waited for (external codecs, cjxl).
    pub measured_cpu: Duration,
    /// Wall time of codec calls whose CPU time no clock here sees (every repeat): encoders
    /// that work on threads of their own (`Codec::encode_cpu_on_thread` false) without a
    /// child process to reap.
    pub unclocked: Duration,
    /// External codecs (issue 11): how the times were taken, and the child processes' use.
    pub external: ExternalUsage,
}

/// How a cell's codec calls were timed, and what an external codec's child processes used
/// (median CPU time, largest peak RSS over the repeats).
#[derive(Clone, Debug, Default)]
pub struct ExternalUsage {
    pub encode_timing: Option<TimingKind>,
    pub decode_timing: Option<TimingKind>,
    pub encode_cpu_ms: Option<f64>,
    pub decode_cpu_ms: Option<f64>,
    pub encode_peak_rss: Option<u64>,
    pub decode_peak_rss: Option<u64>,
}

/// Child usage of each repeat of one call, as the call returns.
#[derive(Default)]
struct Usages(std::cell::RefCell<Vec<(TimingKind, Option<ChildUsage>)>>);

impl Usages {
    /// Records the call that just returned (with or without a codec-reported time).
    fn note(&self, reported: bool) {
        let child = take_child_usage();
        let how = match child {
            Some(u) if u.reported => TimingKind::Reported,
            Some(_) => TimingKind::Process,
            None if reported => TimingKind::Reported,
            None => TimingKind::InProcess,
        };
        self.0.borrow_mut().push((how, child));
    }
    /// The child processes' CPU time over every repeat, and whether every call had one.
    fn total_cpu(&self) -> (Duration, bool) {
        let v = self.0.borrow();
        let total = v.iter().filter_map(|(_, u)| u.map(|u| u.cpu)).sum();
        (total, !v.is_empty() && v.iter().all(|(_, u)| u.is_some()))
    }
    fn summary(&self) -> (Option<TimingKind>, Option<f64>, Option<u64>) {
        let v = self.0.borrow();
        let how = v.first().map(|(h, _)| *h);
        let cpu: Vec<Duration> = v.iter().filter_map(|(_, u)| u.map(|u| u.cpu)).collect();
        let rss = v
            .iter()
            .filter_map(|(_, u)| u.and_then(|u| u.peak_rss))
            .max();
        let cpu = (!cpu.is_empty()).then(|| median_ms(cpu));
        (how, cpu, rss)
    }
}

/// A cell that failed: why, and what had been measured by then.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct CellError {
    pub message: String,
    pub partial: Box<Measurement>,
}

/// Why a step of a cell failed; its text is the row's `message`.
#[derive(Debug, thiserror::Error)]
enum StepError {
    /// The codec's encode or decode call returned an error.
    #[error("{stage} failed: {error}")]
    Codec {
        stage: &'static str,
        error: CodecError,
    },
    #[error("decoded size {got_width}x{got_height} differs from the input's {width}x{height}")]
    Size {
        got_width: u32,
        got_height: u32,
        width: u32,
        height: u32,
    },
    /// The decoded image cannot be brought to the codec input's layout.
    #[error(transparent)]
    Layout(#[from] crate::pixels::PixelError),
    #[error(
        "lossless codec did not round-trip exactly: first difference at pixel ({x}, {y}) \
         channel {channel}: input {input}, decoded {decoded}"
    )]
    NotExact {
        x: u32,
        y: u32,
        channel: u8,
        input: u32,
        decoded: u32,
    },
    /// A step panicked: the panic's message.
    #[error("{0}")]
    Panic(String),
}

/// [`catch`] turns a panic into this.
impl From<String> for StepError {
    fn from(message: String) -> Self {
        StepError::Panic(message)
    }
}

/// What one cell works on: the source, the codec input made from it, and how.
pub struct CellInput<'a> {
    pub source: &'a Image,
    pub prep: &'a Prep,
    /// The source converted to the codec's input layout (`prep.to`).
    pub image: &'a Image,
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

/// What [`timed`] saw of one step over its repeats.
struct Timed<T> {
    value: T,
    /// Wall time of every call.
    wall: Duration,
    /// Median wall (or codec-reported) time, ms.
    ms: f64,
    /// Median CPU time of the calling thread, ms.
    cpu_ms: f64,
    /// Largest heap peak of one call on this thread (`None` without the counting allocator).
    peak: Option<u64>,
}

/// Runs `f` `repeat` times, each call timed alone (monotonic clock and the thread's CPU
/// clock, panics caught); adds every call's wall and CPU time to `measured`/`measured_cpu` and
/// returns the first call's result with the median times in ms and the largest heap peak.
/// A call that reports its own time (`f` returns `Some`) is timed by that report.
fn timed<T>(
    repeat: u32,
    measured: &mut Duration,
    measured_cpu: &mut Duration,
    stage: &'static str,
    f: impl Fn() -> Result<(T, Option<Duration>), CodecError>,
) -> Result<Timed<T>, StepError> {
    let mut first = None;
    let mut times = Vec::with_capacity(repeat as usize);
    let mut cpu_times = Vec::with_capacity(repeat as usize);
    let mut peak: Option<u64> = None;
    let mut walls = Duration::ZERO;
    for _ in 0..repeat.max(1) {
        let heap = HeapScope::start();
        let c = thread_cpu();
        let t = Instant::now();
        let out = catch(&f);
        let wall = t.elapsed();
        let cpu = thread_cpu().saturating_sub(c);
        let p = heap.peak();
        *measured += wall;
        *measured_cpu += cpu;
        walls += wall;
        let (value, reported) = out.map_err(|error| StepError::Codec { stage, error })?;
        times.push(reported.unwrap_or(wall));
        cpu_times.push(cpu);
        peak = peak.max(p);
        // The first call's output is kept; later ones are dropped before the next call.
        if first.is_none() {
            first = Some(value);
        }
    }
    Ok(Timed {
        value: first.expect("repeat >= 1"),
        wall: walls,
        ms: median_ms(times),
        cpu_ms: median_ms(cpu_times),
        peak,
    })
}

/// Encodes, decodes, verifies and scores one cell. `reference` gives the metrics' prepared
/// view of the original (built on first use, shared by the cells of one image and layout).
pub fn measure(
    input: &CellInput,
    config: &CodecConfig,
    repeat: u32,
    reference: impl FnOnce() -> Arc<Reference>,
) -> Result<Measurement, CellError> {
    let mut m = Measurement::default();
    match catch(|| steps(&mut m, input, config, repeat, reference)) {
        Ok(()) => Ok(m),
        Err(e) => Err(CellError {
            message: e.to_string(),
            partial: Box::new(m),
        }),
    }
}

fn steps(
    m: &mut Measurement,
    input: &CellInput,
    config: &CodecConfig,
    repeat: u32,
    reference: impl FnOnce() -> Arc<Reference>,
) -> Result<(), StepError> {
    let codec = &config.codec;
    let (enc_use, dec_use) = (Usages::default(), Usages::default());
    let enc = timed(
        repeat,
        &mut m.measured,
        &mut m.measured_cpu,
        "encode",
        || {
            let r = codec.encode(input.image, &config.params);
            enc_use.note(matches!(&r, Ok(e) if e.reported_time.is_some()));
            r.map(|e| (e.bytes, e.reported_time))
        },
    );
    let x = &mut m.external;
    (x.encode_timing, x.encode_cpu_ms, x.encode_peak_rss) = enc_use.summary();
    let (child_cpu, all_reaped) = enc_use.total_cpu();
    m.measured_cpu += child_cpu;
    if !codec.encode_cpu_on_thread() && !all_reaped {
        m.unclocked += enc.as_ref().map_or(Duration::ZERO, |e| e.wall);
    }
    let enc = enc?;
    (m.encode_ms, m.encode_cpu_ms, m.encode_peak_bytes) = (
        Some(enc.ms),
        codec.encode_cpu_on_thread().then_some(enc.cpu_ms),
        enc.peak,
    );
    let encoded = &*m.encoded.insert(enc.value);

    let dec = timed(
        repeat,
        &mut m.measured,
        &mut m.measured_cpu,
        "decode",
        || {
            let r = codec.decode(encoded);
            dec_use.note(matches!(&r, Ok(d) if d.reported_time.is_some()));
            r.map(|d| (d.image, d.reported_time))
        },
    );
    let x = &mut m.external;
    (x.decode_timing, x.decode_cpu_ms, x.decode_peak_rss) = dec_use.summary();
    m.measured_cpu += dec_use.total_cpu().0;
    let dec = dec?;
    (m.decode_ms, m.decode_cpu_ms, m.decode_peak_bytes) =
        (Some(dec.ms), Some(dec.cpu_ms), dec.peak);
    let decoded = dec.value;

    let want = input.image;
    if (decoded.width, decoded.height) != (want.width, want.height) {
        return Err(StepError::Size {
            got_width: decoded.width,
            got_height: decoded.height,
            width: want.width,
            height: want.height,
        });
    }
    let decoded = conform(decoded, input.prep.to)?;
    let exact = decoded == *want;
    m.roundtrip_exact = Some(exact);
    if config.lossless() && !exact {
        let (x, y, channel, input, decoded) =
            want.first_difference(&decoded).unwrap_or((0, 0, 0, 0, 0));
        return Err(StepError::NotExact {
            x,
            y,
            channel,
            input,
            decoded,
        });
    }

    let heap = HeapScope::start();
    let c = thread_cpu();
    let t = Instant::now();
    let (d, scores) = reference().measure(input.source, &decoded, input.prep);
    (m.distortion, m.scores) = (Some(d), Some(scores));
    let dt = t.elapsed();
    let cpu = thread_cpu().saturating_sub(c);
    m.measured += dt;
    m.measured_cpu += cpu;
    m.metric_ms = Some(dt.as_secs_f64() * 1e3);
    m.metric_cpu_ms = Some(cpu.as_secs_f64() * 1e3);
    m.metric_peak_bytes = heap.peak();
    Ok(())
}

/// The result row of a cell of `source` and `config` (given `prep`), from its measurement.
pub fn record(
    source: &SourceImage,
    config: &CodecConfig,
    prep: &Prep,
    repeat: u32,
    result: &Result<Measurement, CellError>,
) -> CellRecord {
    // Called once the source was decoded: its hash is known, and `prep.from` is its layout.
    let mut rec = CellRecord {
        image: source.id.clone(),
        image_hash: source.hash().to_string(),
        width: source.width,
        height: source.height,
        channels: prep.from.channels,
        bit_depth: prep.from.depth,
        codec: config.codec.name().to_string(),
        codec_version: config.codec.version(),
        decoder: config.codec.decoder(),
        curve: config.curve(),
        spec: config.spec(),
        setting_key: config
            .setting()
            .map_or(String::new(), |(k, _)| k.to_string()),
        setting: config.setting_value(),
        options: config.options(),
        status: Status::Ok,
        codec_input: prep.to.to_string(),
        conversion: crate::corpus::conversion(source.source_note(), &prep.describe()),
        channels_compared: prep.channels_compared(),
        peak: prep.from.peak(),
        lossless: config.lossless(),
        raw_bytes: source.pixel_count() * prep.from.channels as u64 * (prep.from.depth as u64 / 8),
        repeat: repeat.max(1),
        timing_source: crate::record::TimingSource::Measured,
        label: config.label.clone(),
        ..CellRecord::default()
    };
    let m = match result {
        Ok(m) => m,
        Err(e) => {
            rec.status = Status::Error;
            rec.message = format!("{}: {}", config.codec.name(), e.message);
            &e.partial
        }
    };
    if let Some(encoded) = &m.encoded {
        let n = encoded.len();
        rec.bytes = Some(n as u64);
        rec.compression_ratio = Some(rec.raw_bytes as f64 / n as f64);
        rec.bpp = Some(8.0 * n as f64 / source.pixel_count() as f64);
    }
    set_source_bytes(&mut rec, source.file_bytes);
    rec.encode_ms = m.encode_ms;
    rec.decode_ms = m.decode_ms;
    rec.roundtrip_exact = m.roundtrip_exact;
    if let Some(d) = &m.distortion {
        rec.mse = Some(d.mse);
        rec.psnr = Some(d.psnr);
        let ch = |k: usize| d.channels.get(k).copied().flatten();
        (rec.mse_c0, rec.psnr_c0) = (ch(0).map(|c| c.0), ch(0).map(|c| c.1));
        (rec.mse_c1, rec.psnr_c1) = (ch(1).map(|c| c.0), ch(1).map(|c| c.1));
        (rec.mse_c2, rec.psnr_c2) = (ch(2).map(|c| c.0), ch(2).map(|c| c.1));
        (rec.mse_c3, rec.psnr_c3) = (ch(3).map(|c| c.0), ch(3).map(|c| c.1));
    }
    if let Some(s) = &m.scores {
        apply_scores(&mut rec, s);
    }
    rec.metric_ms = m.metric_ms;
    rec.encode_cpu_ms = m.encode_cpu_ms;
    rec.decode_cpu_ms = m.decode_cpu_ms;
    rec.metric_cpu_ms = m.metric_cpu_ms;
    rec.encode_peak_bytes = m.encode_peak_bytes;
    rec.decode_peak_bytes = m.decode_peak_bytes;
    rec.metric_peak_bytes = m.metric_peak_bytes;
    apply_external(&mut rec, &m.external);
    rec
}

/// The `timing` column and the external codec's child-process columns.
fn apply_external(rec: &mut CellRecord, x: &ExternalUsage) {
    rec.timing = Timing::of(x.encode_timing, x.decode_timing);
    // The child's CPU time adds to the waiting thread's own (next to none).
    let add = |thread: Option<f64>, child: Option<f64>| match (thread, child) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    };
    rec.encode_cpu_ms = add(rec.encode_cpu_ms, x.encode_cpu_ms);
    rec.decode_cpu_ms = add(rec.decode_cpu_ms, x.decode_cpu_ms);
    rec.encode_peak_rss = x.encode_peak_rss;
    rec.decode_peak_rss = x.decode_peak_rss;
}

/// Fills `source_bytes` and `ratio_vs_source` for a source file of `file_bytes` bytes (also
/// applied to cached rows: the cache is keyed by pixels, and the same pixels may come from
/// files of different sizes).
pub fn set_source_bytes(rec: &mut CellRecord, file_bytes: u64) {
    rec.source_bytes = file_bytes;
    rec.ratio_vs_source = match rec.bytes {
        Some(n) if n > 0 && file_bytes > 0 => Some(file_bytes as f64 / n as f64),
        _ => None,
    };
}

/// Copies perceptual scores into the row, through the metric table.
fn apply_scores(rec: &mut CellRecord, s: &Scores) {
    for (metric, value) in s.iter() {
        (metric.set)(rec, value);
    }
    rec.metric_notes = s.notes.join("; ");
    rec.metrics_source = if s.exact {
        MetricsSource::Exact
    } else {
        MetricsSource::Computed
    };
}
