//! The integration tests as one binary (one link of every codec's C libraries instead of one
//! per file): each former tests/X.rs is the module `X`. tests/interrupt.rs and tests/slurm.rs
//! stay binaries of their own: they signal and time child runs (interrupt) or drive a real
//! scheduler (slurm), and must not share their timing with every other test running at once.
//! A new test file goes here as tests/suite/NAME.rs plus its `mod NAME;` line below.

#[path = "../common/mod.rs"]
mod common;

mod answer;
mod avif;
mod bad_input;
mod baselines;
mod bdrate;
mod browser;
mod butteraugli;
mod cache;
mod cli;
mod compare;
mod current_codecs;
mod docs;
mod engine;
mod external;
mod golden;
mod jpeg2000;
mod jxl;
mod layers;
mod lossless;
mod memory;
mod metrics_ssim;
mod perceptual;
mod qoi;
mod reference;
mod report;
mod score;
mod shard;
mod target;
mod worker;
