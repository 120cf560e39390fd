//! The flat rows codecbench writes: one per (image, codec, setting) cell (results.csv) and one
//! per codec configuration over the corpus (summary.csv). serde writes CSV and JSON from these
//! derives; README.md documents every column. A new metric adds its column here (and its mean
//! column in [`SummaryRow`]); everything else about it lives in the metric table.

mod timing;

use serde::{Deserialize, Serialize};

pub use timing::{Timing, TimingKind, UnknownTiming};

/// One measured (or failed) cell. Measurement fields are empty when the cell failed before
/// they could be taken.
/// Columns missing from an older results.csv read as empty (`serde(default)`), so reports can
/// be made from runs of earlier versions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CellRecord {
    pub image: String,
    pub image_hash: String,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub bit_depth: u8,
    pub codec: String,
    pub codec_version: String,
    pub decoder: String,
    /// Codec and options without the setting: one rate-distortion curve.
    pub curve: String,
    /// Canonical full spec, unique per configuration.
    pub spec: String,
    pub setting_key: String,
    /// A number, so fractional settings fit; integers are written without a decimal point.
    #[serde(serialize_with = "setting_number")]
    pub setting: Option<f64>,
    pub options: String,
    /// `ok`, or `error` with the reason in `message`.
    pub status: Status,
    pub message: String,
    /// Layout handed to the codec, e.g. "RGB8".
    pub codec_input: String,
    /// What the harness did to the source to make the codec input ("none", "alpha dropped"...).
    pub conversion: String,
    pub channels_compared: String,
    pub peak: u32,
    pub lossless: bool,
    /// Decoded output equals the codec input exactly.
    pub roundtrip_exact: Option<bool>,
    pub bytes: Option<u64>,
    pub raw_bytes: u64,
    pub compression_ratio: Option<f64>,
    /// Size of the source image file on disk (0 when the source was not read from a file).
    pub source_bytes: u64,
    /// `source_bytes / bytes`: how much smaller than the file the corpus ships (empty when
    /// either is unknown).
    pub ratio_vs_source: Option<f64>,
    pub bpp: Option<f64>,
    pub mse: Option<f64>,
    pub psnr: Option<f64>,
    pub mse_c0: Option<f64>,
    pub mse_c1: Option<f64>,
    pub mse_c2: Option<f64>,
    pub mse_c3: Option<f64>,
    pub psnr_c0: Option<f64>,
    pub psnr_c1: Option<f64>,
    pub psnr_c2: Option<f64>,
    pub psnr_c3: Option<f64>,
    /// PSNR on full-range BT.601 luma (dB).
    pub psnr_y: Option<f64>,
    /// SSIM, scikit-image settings, mean over compared channels.
    pub ssim: Option<f64>,
    /// 5-scale MS-SSIM.
    pub ms_ssim: Option<f64>,
    /// SSIMULACRA 2.1 score (100 = identical).
    pub ssimulacra2: Option<f64>,
    /// Butteraugli max norm (libjxl's distance; 0 = identical, lower is better), at an
    /// intensity target of 80 nits, as libjxl's `butteraugli_main` defaults to.
    pub butteraugli: Option<f64>,
    /// Butteraugli 3-norm (libjxl's p-norm, p = 3; lower is better), 80 nits.
    pub butteraugli_3norm: Option<f64>,
    /// How the perceptual scores were obtained: `computed`, or `exact` when the decoded image
    /// equals the source bit for bit and the scores are those of identical images (PSNR-Y inf,
    /// SSIM/MS-SSIM 1, SSIMULACRA2 100, butteraugli 0) without computing; empty when none.
    pub metrics_source: MetricsSource,
    /// Why a selected metric has no value in this row (e.g. image too small for SSIM).
    pub metric_notes: String,
    /// Median over `repeat` timed encode calls, milliseconds.
    pub encode_ms: Option<f64>,
    /// Median over `repeat` timed decode calls, milliseconds.
    pub decode_ms: Option<f64>,
    pub metric_ms: Option<f64>,
    /// Median over `repeat` encode calls of the CPU time (user + system) they used, ms: the
    /// worker thread's CPU clock for in-process codecs (threads a codec starts itself, e.g.
    /// oxipng's, are not counted); for external codecs, plus the child process's user + system
    /// time from wait4's rusage (the waiting thread itself uses next to none).
    pub encode_cpu_ms: Option<f64>,
    /// As `encode_cpu_ms`, for the decode calls.
    pub decode_cpu_ms: Option<f64>,
    /// CPU time of the metric computation on the worker thread, ms.
    pub metric_cpu_ms: Option<f64>,
    /// Peak heap bytes one encode call held above its start on the worker thread (input
    /// copies, work buffers, the output), from the counting allocator; empty when it is not
    /// installed (library use) or for work outside the thread (external codecs).
    pub encode_peak_bytes: Option<u64>,
    /// As `encode_peak_bytes`, for one decode call (includes the decoded image).
    pub decode_peak_bytes: Option<u64>,
    /// Peak heap bytes of the metric computation of the cell; the first cell of an image and
    /// layout also builds the metrics' view of the original, and includes it.
    pub metric_peak_bytes: Option<u64>,
    pub repeat: u32,
    /// Path of the saved encoded file, relative to the run folder (with --save-encoded).
    pub encoded_file: String,
    /// Taken from the cell cache instead of measured in this run (timings are from the run
    /// that measured it).
    pub cached: bool,
    // --- External codecs (issue 11): how the times were taken, and the child process's
    // peak memory (their CPU time is added to `encode_cpu_ms`/`decode_cpu_ms` above).
    /// How `encode_ms`/`decode_ms` were taken: `in-process` (monotonic clock around the library
    /// call), `process` (an external tool's wall time, spawn to exit: includes process
    /// start-up), `reported` (the codec's own account); `encode=X decode=Y` when they differ.
    pub timing: Timing,
    /// External codecs: the encoder process's peak resident set size (VmHWM sampled every
    /// 2 ms; the leader process only, not its children), bytes, largest over `repeat`; a lower
    /// bound, empty when the process exited before the first sample.
    pub encode_peak_rss: Option<u64>,
    /// External codecs: the decoder process's peak resident set size, bytes.
    pub decode_peak_rss: Option<u64>,
    /// Added by the target search (`--target`), not swept.
    pub probe: bool,
    /// Where the times of this row come from: `measured` (this run), `cache` (the cache, same
    /// machine and codecbench build), `cache-other-machine`, `cache-other-build` or
    /// `cache-unknown` (an entry older than the machine record); `compare` judges time only
    /// on `measured` and `cache` rows (issue 13 case 11).
    pub timing_source: TimingSource,
    /// The pipeline's label (`site` in `--codec site=jpeg:q=80`), empty when unlabelled:
    /// `compare` matches labelled cells by (image, label) whatever the spec. Last column, so
    /// results.csv files written before it read the same.
    pub label: String,
}

/// serde `serialize_with` for a setting: an integer value is written as an integer ("75", not
/// "75.0"), so results of integer settings keep the exact text they had when the column was an
/// integer (cache keys, golden files and diffs of old runs rely on it); others as floats.
pub fn setting_number<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        // Up to 2^53 every integer is exact in both f64 and i64.
        Some(x) if x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_992.0 => {
            s.serialize_some(&(*x as i64))
        }
        Some(x) => s.serialize_some(x),
        None => s.serialize_none(),
    }
}

/// Whether a cell was measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Encoded, decoded, verified and scored.
    #[default]
    Ok,
    /// Failed; `message` says where and why (what was measured before the failure is kept).
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
        }
    }
}

impl CellRecord {
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }
}

/// results.csv's `timing_source`: where a row's times come from. Serialised by the names below
/// (the empty name for rows of results.csv files older than the column).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimingSource {
    /// Not recorded: results.csv written before the column existed.
    #[default]
    #[serde(rename = "")]
    Unrecorded,
    /// Measured in this run.
    #[serde(rename = "measured")]
    Measured,
    /// From the cache, measured on this machine by this build: comparable with this run's.
    #[serde(rename = "cache")]
    Cache,
    /// From the cache, measured on another machine (CPU model, cores or OS differ).
    #[serde(rename = "cache-other-machine")]
    CacheOtherMachine,
    /// From the cache, measured on this machine by another codecbench build.
    #[serde(rename = "cache-other-build")]
    CacheOtherBuild,
    /// From a cache entry written before entries recorded their machine and build.
    #[serde(rename = "cache-unknown")]
    CacheUnknown,
}

impl TimingSource {
    /// The name written in results.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            TimingSource::Unrecorded => "",
            TimingSource::Measured => "measured",
            TimingSource::Cache => "cache",
            TimingSource::CacheOtherMachine => "cache-other-machine",
            TimingSource::CacheOtherBuild => "cache-other-build",
            TimingSource::CacheUnknown => "cache-unknown",
        }
    }

    /// Whether the times can be compared with times measured now on this machine and build
    /// (`measured` or `cache`; also unrecorded, for results.csv files older than the column).
    pub fn is_local(self) -> bool {
        matches!(
            self,
            TimingSource::Unrecorded | TimingSource::Measured | TimingSource::Cache
        )
    }
}

/// results.csv's `metrics_source`: how the perceptual scores were obtained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MetricsSource {
    /// No scores (failed cell, or results.csv older than the column): the empty name.
    #[default]
    #[serde(rename = "")]
    None,
    /// Computed from the decoded image.
    #[serde(rename = "computed")]
    Computed,
    /// The decoded image equals the source bit for bit: the scores of identical images.
    #[serde(rename = "exact")]
    Exact,
}

impl MetricsSource {
    /// The name written in results.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricsSource::None => "",
            MetricsSource::Computed => "computed",
            MetricsSource::Exact => "exact",
        }
    }
}

/// Names of the columns whose values depend on the machine's speed (or, for the heap peaks,
/// on the allocator the program installed); everything else in a row is a pure function of
/// the inputs.
pub const TIMING_COLUMNS: &[&str] = &[
    "encode_ms",
    "decode_ms",
    "metric_ms",
    "encode_cpu_ms",
    "decode_cpu_ms",
    "metric_cpu_ms",
    "encode_peak_bytes",
    "decode_peak_bytes",
    "metric_peak_bytes",
    // External codecs (issue 11).
    "encode_peak_rss",
    "decode_peak_rss",
];

/// One row of summary.csv. Means are over the images whose cell succeeded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub codec: String,
    pub codec_version: String,
    pub curve: String,
    pub spec: String,
    pub setting_key: String,
    /// As in results.csv: integers without a decimal point.
    #[serde(serialize_with = "setting_number")]
    pub setting: Option<f64>,
    pub options: String,
    /// Images whose cell succeeded.
    pub images: usize,
    pub errors: usize,
    pub total_bytes: u64,
    pub total_raw_bytes: u64,
    pub total_pixels: u64,
    /// Arithmetic mean of the per-image bits per pixel.
    pub mean_bpp: Option<f64>,
    /// 8 x total bytes / total pixels: what the corpus costs as a whole.
    pub bpp_of_totals: Option<f64>,
    /// Arithmetic mean of per-image PSNR (inf if any image is reproduced exactly).
    pub mean_psnr: Option<f64>,
    /// PSNR of the pooled MSE: each image's MSE normalised by its peak^2, weighted by the
    /// number of samples compared, then 10 log10(1 / pooled).
    pub psnr_of_pooled_mse: Option<f64>,
    pub mean_compression_ratio: Option<f64>,
    /// Means over images of the perceptual metrics (empty when not measured); one field per
    /// entry of the metric table, filled through its `set_mean`.
    pub mean_psnr_y: Option<f64>,
    pub mean_ssim: Option<f64>,
    pub mean_ms_ssim: Option<f64>,
    pub mean_ssimulacra2: Option<f64>,
    pub mean_butteraugli: Option<f64>,
    pub mean_butteraugli_3norm: Option<f64>,
    pub encode_ms_total: f64,
    pub decode_ms_total: f64,
}

/// How a search ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetStatus {
    /// The setting meets the target and its neighbour on the failing side does not.
    Met,
    /// No setting of the range meets the target; the row holds the best achieved.
    Unreachable,
    /// A measured point contradicts monotonic order; the row holds the best point measured.
    NonMonotonic,
    /// A probe failed (error row or the metric missing): see `message`.
    Failed,
    /// The run was interrupted before the search ended.
    #[default]
    Unfinished,
}
