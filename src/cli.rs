//! Command-line definition (clap derive types only; checking happens in main and config).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "codecbench",
    version,
    about = "Sweep an image corpus across codecs and settings; measure size, distortion and speed"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure a corpus (default corpus/) with a preset's codecs (default web) and print the
    /// answer: which format and setting to use.
    Run(RunArgs),
    /// Make report.html, summary.md and plots from results.csv files (or run folders).
    Report(ReportArgs),
    /// Compare a NEW run with a BASELINE run; exit 1 if a codec configuration regressed.
    Compare(CompareArgs),
    /// Join the run folders of a sharded sweep into one run folder.
    Merge(MergeArgs),
    /// Score distorted images against an original with every selected metric.
    Score(ScoreArgs),
    /// List the codecs (built-in, and external ones from --external files) with their
    /// versions, decoders and keys.
    Codecs(CodecsArgs),
}

#[derive(Debug, Args)]
pub struct CodecsArgs {
    /// TOML file of external codec definitions to list too (`[[external]]` tables), repeatable;
    /// a command that is not found is named.
    #[arg(long = "external", value_name = "FILE")]
    pub external: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The original (reference) image.
    #[arg(value_name = "ORIGINAL")]
    pub original: PathBuf,

    /// Distorted images of the same size.
    #[arg(value_name = "DISTORTED", required = true)]
    pub distorted: Vec<PathBuf>,

    /// Metrics, comma-separated: psnr (always), psnr-y, ssim, ms-ssim, ssimulacra2, butteraugli.
    #[arg(
        long,
        value_name = "LIST",
        default_value = "psnr,psnr-y,ssim,ms-ssim,ssimulacra2"
    )]
    pub metrics: String,

    /// Print JSON (one object per file) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Run folders (or their results.csv) of the shards.
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<PathBuf>,

    /// Folder to write the merged run into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Merge shards of different provenance (codecbench build, codec versions, machine);
    /// refused by default, since their numbers and times are not one run's.
    #[arg(long)]
    pub allow_mixed: bool,

    /// Do not write report.html, summary.md and plots/.
    #[arg(long)]
    pub no_report: bool,

    #[command(flatten)]
    pub report: ReportFlags,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline results.csv or run folder.
    #[arg(value_name = "BASELINE")]
    pub baseline: PathBuf,

    /// New results.csv or run folder.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// Regressed if BD-rate (percent, on PSNR) of NEW against BASELINE exceeds this
    /// (default 0.5; "off" to disable).
    #[arg(long, value_name = "PERCENT")]
    pub max_bd_rate: Option<String>,

    /// Regressed if any matched cell grows by more than this percent, or a NEW cell needs more
    /// than this percent more bytes for its quality than BASELINE's curve (default 1; "off").
    #[arg(long, value_name = "PERCENT")]
    pub max_size_increase: Option<String>,

    /// Regressed if any matched cell's quality drops by more, e.g. ssimulacra2=2 (default
    /// psnr=0.05,ssimulacra2=0.5; each given metric replaces its default; METRIC=off disables).
    #[arg(long, value_name = "METRIC=DROP,...")]
    pub max_quality_drop: Option<String>,

    /// Regressed if encode or decode time grows by more than this percent (default off; the
    /// noise floor with --retime): the median change per cell, beyond the noise floor and with
    /// a sign test. Judged only with --retime; otherwise the output says time was not judged.
    #[arg(long, value_name = "PERCENT")]
    pub max_slowdown: Option<String>,

    /// Judge time: re-encode and decode every matched cell with BASELINE's and NEW's spec in
    /// this process, alternating them (A B, B A, ...) over ROUNDS rounds (default 5) on one
    /// thread, so a busy machine slows both alike. Needs the images (run.json's paths, or
    /// --retime-corpus) and the codecs (built-ins; external ones from --external and
    /// --baseline-external, or the files each run.json names).
    #[arg(long, value_name = "ROUNDS", num_args = 0..=1, default_missing_value = "5",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub retime: Option<u32>,

    /// With --retime: find the images as <DIR>/<image id> (the folder the runs' --corpus
    /// pointed at) instead of the paths run.json recorded; their pixel hashes are checked.
    #[arg(long, value_name = "DIR", requires = "retime")]
    pub retime_corpus: Option<PathBuf>,

    /// With --retime: NEW's external codec definitions (TOML), repeatable (default: the
    /// --external/--sweep files NEW's run.json names).
    #[arg(long = "external", value_name = "FILE", requires = "retime")]
    pub external: Vec<PathBuf>,

    /// With --retime: BASELINE's external codec definitions (TOML), repeatable, when they
    /// differ from NEW's (an edited encode script: point at BASELINE's copy). Default: the
    /// files BASELINE's run.json names, as they are now (an error if gone); NEW's when
    /// BASELINE has no run.json.
    #[arg(long = "baseline-external", value_name = "FILE", requires = "retime")]
    pub baseline_external: Vec<PathBuf>,

    /// Regressed if the bytes at equal quality (targets.csv of both runs, per curve and
    /// quality target) grow by more than this percent, or a target met in BASELINE is not met
    /// in NEW, or searched in BASELINE only (default 1; "off" to disable).
    #[arg(long, value_name = "PERCENT")]
    pub max_target_bytes_increase: Option<String>,

    /// Noise floor of time, percent: a median change within it is never a verdict (default 10).
    #[arg(long, value_name = "PERCENT")]
    pub noise: Option<f64>,

    /// Sweep file whose [gate] table gives thresholds (flags override it).
    #[arg(long, value_name = "FILE")]
    pub sweep: Option<PathBuf>,

    /// Also write the table as Markdown (for a pull-request comment).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Also write the full verdict (every pipeline, finding and list) as JSON, for scripts.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// BASELINE cells missing from NEW are listed but not a regression (a shrunk corpus or a
    /// dropped configuration on purpose).
    #[arg(long)]
    pub allow_missing: bool,
}

/// How the Bjontegaard curves are interpolated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BdMethod {
    /// Piecewise cubic monotone interpolation (AWCY, VMAF, AOM CTC).
    Pchip,
    /// Cubic polynomial fit (VCEG-M33).
    Cubic,
}

/// Report settings shared by `run` and `report`.
#[derive(Debug, Args)]
pub struct ReportFlags {
    /// Anchor for BD tables: a codec name or a full curve (codec:options). Default: the first
    /// lossy codec configuration.
    #[arg(long, value_name = "CODEC")]
    pub anchor: Option<String>,

    /// BD-rate interpolation.
    #[arg(long, value_enum, default_value_t = BdMethod::Pchip)]
    pub bd_method: BdMethod,

    /// Used only when no quality metric was measured: the visual comparison's crops are then
    /// taken at the setting whose bpp is nearest this. Otherwise crops are at equal quality
    /// (the setting each configuration needs for the middle quality level, e.g. SSIMULACRA 2
    /// 80) and this changes nothing.
    #[arg(long, value_name = "BPP", default_value_t = 0.5)]
    pub crop_bpp: f64,

    /// Where the images go: web (default: formats browsers decode), photo-archive, lossless,
    /// medical, satellite, textbook, all (every codec family). Picks the codecs, settings,
    /// metrics and the quality levels of the answer; --codec/--sweep replace its codecs.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,

    /// The answer's single setting per format must meet the target on this percent of the
    /// images (default 100: every image).
    #[arg(long, value_name = "PERCENT", default_value_t = 100.0)]
    pub coverage: f64,
    /// Size limit of report.html in MB: crops are embedded, most telling images first, while
    /// the page stays under it; the rest are loaded from the run folder's crops/ when shown.
    #[arg(long, value_name = "MB", default_value_t = 20.0)]
    pub max_report_mb: f64,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// results.csv files or run folders; several are merged (first wins on duplicate cells).
    #[arg(value_name = "RESULTS", required = true)]
    pub results: Vec<PathBuf>,

    /// Folder to write into (default: the folder of the first results.csv).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub report: ReportFlags,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Image files or folders (searched recursively).
    #[arg(long, value_name = "PATH", num_args = 1.., default_value = "corpus")]
    pub corpus: Vec<PathBuf>,

    /// Codec spec, repeatable: NAME[:KEY=VALUES,...], e.g. jpeg:q=10..95:5,subsampling=444
    /// or webp:q=50,75,90. `codecbench codecs` lists the keys. Default: the preset's codecs;
    /// web's are jpeg:q=50..100:5, jpeg:q=90,95,100,subsampling=444, webp:q=50..100:5,
    /// avif:q=55,65,75,80,85,90,95,speed=9 and jxl:d=0.5,0.75,1,1.5,2,3,effort=5.
    #[arg(long = "codec", value_name = "SPEC")]
    pub codecs: Vec<String>,

    /// TOML sweep file with a `codec` list (spec strings or tables); combined with --codec.
    #[arg(long, value_name = "FILE")]
    pub sweep: Option<PathBuf>,

    /// TOML file of external codec definitions (`[[external]]` tables only), repeatable;
    /// the codecs it declares are used in specs like built-ins. See scripts/codecs/.
    #[arg(long = "external", value_name = "FILE")]
    pub external: Vec<PathBuf>,

    /// Run folder to write (default: reports/<UTC timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,

    /// Timed runs of each encode and decode; the median is reported.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,

    /// Keep every encoded file under <out>/encoded/<image>/<spec>.<ext>.
    #[arg(long)]
    pub save_encoded: bool,

    /// Quality metrics, comma-separated: psnr (always), psnr-y, ssim, ms-ssim, ssimulacra2,
    /// butteraugli (adds butteraugli_3norm; slow, not in the default set). Default: the
    /// preset's (web: psnr,ssimulacra2), or psnr,psnr-y,ssim,ssimulacra2 with --codec/--sweep.
    #[arg(long, value_name = "LIST")]
    pub metrics: Option<String>,

    /// Target search, repeatable: METRIC=V[,V...] (e.g. ssimulacra2=70,80,90, psnr=40,
    /// bpp=1.0, bytes=20000). For every image and lossy curve, finds the cheapest setting
    /// meeting each quality target, or the best quality within a bpp/bytes budget, by
    /// bisection with extra probe cells; writes <out>/targets.csv.
    #[arg(long = "target", value_name = "METRIC=V[,V...]")]
    pub targets: Vec<String>,

    /// Skip images with more pixels than this (checked from the header, before decoding): a
    /// count such as 100000000, 4e8 or 400M (K, M, G are powers of 1000; 400MP also reads).
    #[arg(long, value_name = "PIXELS", default_value = "100000000")]
    pub max_pixels: String,

    /// Memory budget for the images in flight, e.g. 4G, 512M or bytes: caps how many large
    /// images are worked on at once; an image whose estimate exceeds it alone is skipped
    /// before it is decoded. Default: half the available memory (/proc/meminfo).
    #[arg(long, value_name = "BYTES")]
    pub max_memory: Option<String>,

    /// No progress output (errors are still printed).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Cell cache folder (default: $XDG_CACHE_HOME/codecbench or ~/.cache/codecbench).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache: Option<PathBuf>,

    /// Measure every cell; neither read nor write the cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Run only shard K of N of the cells (balanced by expected cost); join shards with
    /// `codecbench merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,

    /// Do not write report.html, summary.md and plots/ at the end.
    #[arg(long)]
    pub no_report: bool,

    /// Write the recommended files (the answer's uniform setting at its first target), one per
    /// image, with manifest.csv, into DIR.
    #[arg(long, value_name = "DIR")]
    pub write_chosen: Option<PathBuf>,

    #[command(flatten)]
    pub report: ReportFlags,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
