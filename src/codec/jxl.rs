//! JPEG XL by libjxl (>= 0.11, from the `imagecodecs` wheel) for encode and decode, run in the
//! bundled worker (see [`super::bundled`]): `d` is the butteraugli distance (0 = lossless),
//! `effort` 1-10. Input is the source's own layout (gray, gray+alpha, RGB, RGBA; 8 or 16 bits,
//! alpha at its own depth), so `d=0` is held to an exact round trip by the engine on 16-bit
//! RGBA and LA images too.
//!
//! Debian's `cjxl` 0.7 (2022), which this codec ran before, stays available as the external
//! definition `scripts/codecs/cjxl.toml`. [`decode`] (jxl-oxide, in process) reads JPEG XL
//! source images.

use std::sync::LazyLock;

use super::{bundled, Codec, CodecError, DecodeError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout, Samples};

pub struct Jxl;

static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::float(
            "d",
            0.0,
            25.0,
            1.0,
            "butteraugli distance: 0 = lossless, 1 = visually lossless, higher = smaller",
        ),
        Param::int(
            "effort",
            1,
            10,
            7,
            "encoder effort (libjxl 1..10): higher is slower and usually smaller",
        ),
    ]
});

impl Codec for Jxl {
    /// The calling thread only waits: the CPU time is the worker's, as it reports it.
    fn encode_cpu_on_thread(&self) -> bool {
        false
    }
    fn name(&self) -> &str {
        "jxl"
    }
    fn version(&self) -> String {
        bundled::version_or_reason("jxl", "libjxl")
    }
    fn decoder(&self) -> String {
        format!(
            "{} (the bundled worker; samples at the file's bit depth)",
            bundled::version_or_reason("jxl", "libjxl")
        )
    }
    fn extension(&self) -> &str {
        "jxl"
    }
    fn lossless(&self, params: &Params) -> bool {
        // Read gently: the `codecs` listing asks with empty parameters.
        params.0.get("d").and_then(|v| v.as_f64()) == Some(0.0)
    }
    fn params(&self) -> &[Param] {
        &PARAMS
    }
    fn input_layout(&self, src: Layout) -> Layout {
        // Native: JPEG XL stores gray, alpha and 16-bit samples as they are.
        src
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        bundled::encode("jxl", img, params, &[])
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        bundled::decode("jxl", data)
    }
    fn relative_cost(&self, params: &Params) -> f64 {
        // libjxl e7 is about 10x slower than mozjpeg per pixel; each effort step about 1.5x.
        10.0 * 1.5f64.powi(params.int("effort") as i32 - 7)
    }
}

/// Decodes a JPEG XL file with jxl-oxide: 8-bit samples for files of at most 8 bits per
/// sample, 16-bit otherwise; gray stays gray; alpha is kept.
pub fn decode(data: &[u8]) -> Result<Image, DecodeError> {
    fn failed(e: impl std::fmt::Display) -> DecodeError {
        DecodeError::Failed {
            format: "JPEG XL",
            detail: e.to_string(),
        }
    }
    let image = jxl_oxide::JxlImage::builder()
        // Single-threaded, like the encoder: the harness runs cells in parallel.
        .pool(jxl_oxide::JxlThreadPool::none())
        .read(data)
        .map_err(failed)?;
    let bits = image.image_header().metadata.bit_depth.bits_per_sample();
    let render = image.render_frame(0).map_err(failed)?;
    let mut stream = render.stream();
    let (w, h, c) = (stream.width(), stream.height(), stream.channels());
    if !(1..=4).contains(&c) {
        return Err(DecodeError::Unsupported {
            format: "JPEG XL",
            detail: format!("{c} channels (CMYK?)"),
        });
    }
    let n = w as usize * h as usize * c as usize;
    let samples = if bits > 8 {
        let mut buf = vec![0u16; n];
        stream.write_to_buffer(&mut buf);
        Samples::U16(buf)
    } else {
        let mut buf = vec![0u8; n];
        stream.write_to_buffer(&mut buf);
        Samples::U8(buf)
    };
    Ok(Image {
        width: w,
        height: h,
        channels: c as u8,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        assert!(decode(b"not a jxl file").is_err());
    }
}
