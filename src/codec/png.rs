//! Lossless PNG: encoded from raw pixels by oxipng (preset 0-6, optional zopfli), decoded by
//! the `png` crate through `image`. 16-bit samples and alpha are kept.

use std::io::Cursor;

use std::sync::LazyLock;

use super::{versions, Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::from_dynamic;
use crate::pixels::{Image, Layout};

pub struct Png;

static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::int("preset", 0, 6, 2, "oxipng optimisation preset (oxipng -o)"),
        Param::bool(
            "zopfli",
            false,
            "deflate with zopfli (much slower, a little smaller)",
        ),
    ]
});

impl Codec for Png {
    fn name(&self) -> &str {
        "png"
    }
    fn version(&self) -> String {
        format!("oxipng {}", versions::OXIPNG)
    }
    fn decoder(&self) -> String {
        format!("png {} (via image)", versions::PNG)
    }
    fn extension(&self) -> &str {
        "png"
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
        let color = match img.channels {
            1 => oxipng::ColorType::Grayscale {
                transparent_shade: None,
            },
            2 => oxipng::ColorType::GrayscaleAlpha,
            3 => oxipng::ColorType::RGB {
                transparent_color: None,
            },
            _ => oxipng::ColorType::RGBA,
        };
        let depth = if img.depth() == 16 {
            oxipng::BitDepth::Sixteen
        } else {
            oxipng::BitDepth::Eight
        };
        let raw = oxipng::RawImage::new(img.width, img.height, color, depth, img.to_bytes(true))
            .map_err(|e| format!("oxipng rejected the pixels: {e}"))?;
        let mut opts = oxipng::Options::from_preset(params.int("preset") as u8);
        if params.bool("zopfli") {
            opts.deflater = oxipng::Deflater::Zopfli(oxipng::ZopfliOptions::default());
        }
        let bytes = raw
            .create_optimized_png(&opts)
            .map_err(|e| format!("oxipng failed: {e}"))?;
        Ok(bytes.into())
    }
    fn relative_cost(&self, params: &Params) -> f64 {
        let preset = 1.0 + params.int("preset") as f64;
        if params.bool("zopfli") {
            preset * 20.0
        } else {
            preset
        }
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        let reader = image::ImageReader::with_format(Cursor::new(data), image::ImageFormat::Png);
        let dynamic = reader
            .decode()
            .map_err(|e| format!("PNG decode failed: {e}"))?;
        Ok(from_dynamic(dynamic).map_err(|e| e.to_string())?.into())
    }
}
