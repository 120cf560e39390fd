//! JPEG by jpegli (google/jpegli, BSD-3), the encoder web teams now weigh against mozjpeg,
//! run in the bundled worker through jpegli's libjpeg-style C API (quality or butteraugli
//! distance, 4:2:0 or 4:4:4, gray kept gray). Decoded in process by the same mozjpeg
//! (libjpeg-turbo) decoder as the `jpeg` codec, the decoder browsers use, so jpegli and
//! mozjpeg rows are measured alike; `djpeg` reads the files to the same pixels.

use std::sync::LazyLock;

use super::{bundled, Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout};

pub struct Jpegli;

static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::int(
            "q",
            1,
            100,
            90,
            "jpegli quality (libjpeg-like scale; used when d=0)",
        ),
        Param::float(
            "d",
            0.0,
            25.0,
            0.0,
            "butteraugli distance (jpegli_set_distance, as cjpegli -d); 0 = use q",
        ),
        Param::choice(
            "yuv",
            &["420", "444"],
            "420",
            "chroma subsampling (ignored for gray sources)",
        ),
    ]
});

impl Codec for Jpegli {
    fn name(&self) -> &str {
        "jpegli"
    }
    fn version(&self) -> String {
        bundled::version_or_reason("jpegli", "jpegli")
    }
    fn decoder(&self) -> String {
        super::jpeg::Jpeg.decoder()
    }
    fn extension(&self) -> &str {
        "jpg"
    }
    fn lossless(&self, _: &Params) -> bool {
        false
    }
    fn params(&self) -> &[Param] {
        &PARAMS
    }
    fn input_layout(&self, src: Layout) -> Layout {
        Layout::new(if src.is_gray() { 1 } else { 3 }, 8)
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        bundled::encode("jpegli", img, params, &[])
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        super::catch(|| super::jpeg::Jpeg.decode(data))
    }
    fn encode_cpu_on_thread(&self) -> bool {
        false
    }
    fn relative_cost(&self, _: &Params) -> f64 {
        2.0
    }
}
