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
    /// Encode and decode every corpus image with every codec setting and measure each cell.
    Run(RunArgs),
    /// List the built-in codecs with their versions, decoders and keys.
    Codecs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Image files or folders (searched recursively).
    #[arg(long, value_name = "PATH", num_args = 1.., default_value = "corpus")]
    pub corpus: Vec<PathBuf>,

    /// Codec spec, repeatable: NAME[:KEY=VALUES,...], e.g. jpeg:q=10..95:5,subsampling=444
    /// or webp:q=50,75,90. `codecbench codecs` lists the keys. Default: png,
    /// jpeg:q=10..95:5, webp:q=10..95:5 and webp-lossless.
    #[arg(long = "codec", value_name = "SPEC")]
    pub codecs: Vec<String>,

    /// TOML sweep file with a `codec` list (spec strings or tables); combined with --codec.
    #[arg(long, value_name = "FILE")]
    pub sweep: Option<PathBuf>,

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

    /// Skip images with more pixels than this.
    #[arg(long, value_name = "PIXELS", default_value_t = 100_000_000)]
    pub max_pixels: u64,

    /// No progress output (errors are still printed).
    #[arg(long, short = 'q')]
    pub quiet: bool,
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
