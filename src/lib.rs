//! codecbench: sweep an image corpus across codecs and settings, measure every cell (size,
//! distortion, time) and write tidy tables.
//!
//! The pipeline: [`config`] turns specs into checked [`codec::CodecConfig`]s, [`corpus`] loads
//! images, [`run`] measures cells in parallel, [`sweep`] writes the run folder.

pub mod analysis;
pub mod baseline;
pub mod cache;
pub mod cli;
pub mod codec;
pub mod config;
pub mod corpus;
pub mod export;
pub mod measure;
pub mod merge;
pub mod metrics;
pub mod pixels;
pub mod plot;
pub mod progress;
pub mod record;
pub mod report;
pub mod run;
pub mod run_meta;
pub mod score;
pub mod shard;
pub mod summary;
pub mod sweep;
