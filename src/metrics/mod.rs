//! Quality metrics: how far a decoded image is from its source. Each metric family lives in its
//! own file; this module chooses the channel pairing every metric shares (see [`Prep`]).

pub mod luma;
mod psnr;
pub mod ssim;
pub mod ssimulacra2;

pub use psnr::{distortion, psnr_from_mse, Distortion};
