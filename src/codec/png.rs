//! Lossless PNG: encoded from raw pixels by oxipng (preset 0-6, optional zopfli), decoded by
//! the `png` crate through `image`. 16-bit samples and alpha are kept.

use std::io::Cursor;

use super::{versions, Codec, Kind, Param, Params, Value};
use crate::corpus::from_dynamic;
use crate::pixels::{Image, Layout};

pub struct Png;

const PARAMS: &[Param] = &[
    Param {
        key: "preset",
        kind: Kind::Int { min: 0, max: 6 },
        default: Value::Int(2),
        help: "oxipng optimisation preset (oxipng -o)",
    },
    Param {
        key: "zopfli",
        kind: Kind::Bool,
        default: Value::Bool(false),
        help: "deflate with zopfli (much slower, a little smaller)",
    },
];

impl Codec for Png {
    fn name(&self) -> &'static str {
        "png"
    }
    fn version(&self) -> String {
        format!("oxipng {}", versions::OXIPNG)
    }
    fn decoder(&self) -> String {
        format!("png {} (via image)", versions::PNG)
    }
    fn extension(&self) -> &'static str {
        "png"
    }
    fn lossless(&self) -> bool {
        true
    }
    fn params(&self) -> &[Param] {
        PARAMS
    }
    fn input_layout(&self, src: Layout) -> Layout {
        src
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Vec<u8>, String> {
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
        raw.create_optimized_png(&opts)
            .map_err(|e| format!("oxipng failed: {e}"))
    }
    fn relative_cost(&self, params: &Params) -> f64 {
        let preset = 1.0 + params.int("preset") as f64;
        if params.bool("zopfli") {
            preset * 20.0
        } else {
            preset
        }
    }
    fn decode(&self, data: &[u8]) -> Result<Image, String> {
        let reader = image::ImageReader::with_format(Cursor::new(data), image::ImageFormat::Png);
        let dynamic = reader
            .decode()
            .map_err(|e| format!("PNG decode failed: {e}"))?;
        from_dynamic(dynamic)
    }
}
