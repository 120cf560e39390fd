//! codecbench: sweep an image corpus across codecs and settings, measure every cell (size,
//! distortion, time) and write tidy tables.
//!
//! The pipeline: [`config`] turns specs into checked [`codec::CodecConfig`]s (against a
//! [`codec::Registry`]), [`corpus`] loads images, [`plan`] expands images x configurations into
//! jobs, [`run`] schedules them in parallel, [`cell`] measures one job and builds its row, and
//! [`sweep`] writes the run folder.

// Every unsafe block says why it is sound (`// SAFETY:`); CI's clippy -D warnings enforces it.
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod alloc;
pub mod analysis;
pub mod baseline;
pub mod cache;
pub mod cell;
pub mod chosen;
#[cfg(feature = "cli")]
pub mod cli;
pub mod codec;
pub mod config;
pub mod corpus;
pub mod crops;
pub mod export;
pub mod goal;
pub mod journal;
pub mod measure;
pub mod merge;
pub mod metrics;
#[cfg(feature = "cli")]
pub mod options;
pub mod pixels;
pub mod plan;
pub mod plot;
pub mod progress;
pub mod record;
pub mod report;
pub mod run;
pub mod run_dir;
pub mod run_meta;
pub mod score;
pub mod shard;
pub mod sweep;
pub mod target;
pub mod versions;
