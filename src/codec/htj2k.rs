//! High-throughput JPEG 2000 (HTJ2K, ITU-T T.814) by OpenJPH (BSD-2), run in the bundled
//! worker: `qstep=0` is the reversible (lossless) 5/3 path, any other value the irreversible
//! 9/7 path with that quantisation step (OpenJPH's `qstep`, relative to the sample range).
//! Gray and RGB at their native depth (8 or 16 bits); alpha is not coded. The files are raw
//! J2K codestreams (.j2c), which OpenJPEG >= 2.5 (`opj_decompress`) also reads. The harness
//! decodes them with OpenJPEG in the same worker, not OpenJPH: OpenJPH's decoder as imagecodecs
//! exposes it wraps samples that the 9/7 wavelet pushes past the range (a 255 comes back as 0)
//! instead of clamping them (seen on the bundled corpus: MSE 37 against OpenJPEG's 6.3 for
//! the same astronaut.png file at qstep=0.02), so decode times are OpenJPEG's.

use std::sync::LazyLock;

use super::{bundled, Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout};

pub struct Htj2k;

static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![Param::float(
        "qstep",
        0.0,
        1.0,
        0.0,
        "quantisation step of the irreversible path (e.g. 0.001 fine .. 0.1 coarse); 0 = lossless",
    )]
});

impl Codec for Htj2k {
    fn name(&self) -> &str {
        "htj2k"
    }
    fn version(&self) -> String {
        bundled::version_or_reason("htj2k", "OpenJPH")
    }
    fn decoder(&self) -> String {
        format!(
            "OpenJPEG in the bundled worker, clamped to the sample range ({})",
            bundled::version_or_reason("htj2k", "OpenJPH")
        )
    }
    fn extension(&self) -> &str {
        "j2c"
    }
    fn lossless(&self, params: &Params) -> bool {
        params.0.get("qstep").and_then(|v| v.as_f64()) == Some(0.0)
    }
    fn params(&self) -> &[Param] {
        &PARAMS
    }
    fn input_layout(&self, src: Layout) -> Layout {
        Layout::new(if src.is_gray() { 1 } else { 3 }, src.depth)
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        bundled::encode("htj2k", img, params, &[])
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        bundled::decode("htj2k", data)
    }
    fn encode_cpu_on_thread(&self) -> bool {
        false
    }
    fn relative_cost(&self, _: &Params) -> f64 {
        1.0
    }
}
