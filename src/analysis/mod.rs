//! Rate-distortion analysis of measured results: Bjøntegaard delta rate and quality between two
//! codecs' curves, per image and averaged over a corpus.

pub mod answer;
pub mod bdrate;
pub mod crop_cells;
pub mod delivery;
pub mod equal_quality;
pub mod metric_key;
pub mod pairs;
pub mod series;
pub mod summary;

pub use bdrate::{
    bd_quality, bd_rate, corpus_bd_quality, corpus_bd_rate, BdOutcome, CorpusBd, Interp, RdPoint,
};
