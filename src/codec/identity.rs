//! The `identity` codec: raw samples in, the same samples out. Its cells cost almost nothing,
//! so a sweep of it measures the harness's own overhead (libjxl benchmark_xl's `none`).

use super::{Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout, Samples};

pub struct Identity;

impl Codec for Identity {
    fn name(&self) -> &str {
        "identity"
    }
    fn version(&self) -> String {
        format!("codecbench {}", env!("CARGO_PKG_VERSION"))
    }
    fn decoder(&self) -> String {
        "identity".into()
    }
    fn extension(&self) -> &str {
        "raw"
    }
    fn lossless(&self, _: &Params) -> bool {
        true
    }
    fn params(&self) -> &[Param] {
        &[]
    }
    fn input_layout(&self, src: Layout) -> Layout {
        src
    }
    /// Header (width, height, channels, depth; little-endian) then samples.
    fn encode(&self, img: &Image, _: &Params) -> Result<Encoded, CodecError> {
        let mut out = Vec::with_capacity(10 + img.raw_bytes() as usize);
        out.extend_from_slice(&img.width.to_le_bytes());
        out.extend_from_slice(&img.height.to_le_bytes());
        out.push(img.channels);
        out.push(img.depth());
        out.extend_from_slice(&img.to_bytes(false));
        Ok(out.into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        if data.len() < 10 {
            return Err("identity: header truncated".into());
        }
        let w = u32::from_le_bytes(data[0..4].try_into().unwrap());
        let h = u32::from_le_bytes(data[4..8].try_into().unwrap());
        let (c, depth) = (data[8], data[9]);
        let body = &data[10..];
        let samples = match depth {
            8 => Samples::U8(body.to_vec()),
            16 => Samples::U16(
                body.chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect(),
            ),
            d => return Err(format!("identity: bad depth {d}").into()),
        };
        let image = match samples {
            Samples::U8(v) => Image::new_u8(w, h, c, v),
            Samples::U16(v) => Image::new_u16(w, h, c, v),
        }?;
        Ok(image.into())
    }
}
