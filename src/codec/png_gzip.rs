//! `png-gzip`: the oxipng PNG (default preset 2), then gzip of that file. It shows what a
//! general compressor adds to an already-compressed image file (almost nothing: a few
//! bytes of gzip framing more). Decoding gunzips, then decodes the PNG.

use std::io::{Read, Write};
use std::sync::LazyLock;

use super::{png::Png, versions, Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout};

pub struct PngGzip;

static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![Param::int(
        "level",
        1,
        9,
        6,
        "gzip level applied to the PNG file (default 6 as gzip)",
    )]
});

impl Codec for PngGzip {
    fn name(&self) -> &str {
        "png-gzip"
    }
    fn version(&self) -> String {
        format!(
            "oxipng {} + flate2 {} gzip",
            versions::OXIPNG,
            versions::FLATE2
        )
    }
    fn decoder(&self) -> String {
        format!("flate2 {} GzDecoder + {}", versions::FLATE2, Png.decoder())
    }
    fn extension(&self) -> &str {
        "png.gz"
    }
    fn lossless(&self, _: &Params) -> bool {
        true
    }
    fn params(&self) -> &[Param] {
        &PARAMS
    }
    fn input_layout(&self, src: Layout) -> Layout {
        src
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        let png = Png.encode(img, &Params::defaults(Png.params()))?.bytes;
        let level = flate2::Compression::new(params.int("level") as u32);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
        e.write_all(&png)
            .and_then(|_| e.finish())
            .map(Encoded::from)
            .map_err(|e| format!("png-gzip: gzip failed: {e}").into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        let mut png = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut png)
            .map_err(|e| format!("png-gzip: gunzip failed: {e}"))?;
        Png.decode(&png)
    }
    fn relative_cost(&self, _: &Params) -> f64 {
        3.0
    }
}
