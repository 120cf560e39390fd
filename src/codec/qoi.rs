//! QOI ("Quite OK Image"), lossless, by the pure-Rust `qoi` crate for both directions. QOI stores
//! 8-bit RGB or RGBA only: gray sources are given as RGB with R=G=B and 16-bit sources are reduced
//! to 8 bits (both recorded in each row's `conversion`, and the reduction measured as distortion).

use super::{versions, Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout};

pub struct Qoi;

impl Codec for Qoi {
    fn name(&self) -> &str {
        "qoi"
    }
    fn version(&self) -> String {
        format!("qoi {} (pure Rust, QOI 1.0 spec)", versions::QOI)
    }
    fn decoder(&self) -> String {
        format!("qoi {} decoder", versions::QOI)
    }
    fn extension(&self) -> &str {
        "qoi"
    }
    fn lossless(&self, _: &Params) -> bool {
        true
    }
    fn params(&self) -> &[Param] {
        &[]
    }
    fn input_layout(&self, src: Layout) -> Layout {
        Layout::new(if src.has_alpha() { 4 } else { 3 }, 8)
    }
    fn encode(&self, img: &Image, _: &Params) -> Result<Encoded, CodecError> {
        let data = img.as_u8().ok_or("qoi: input must be 8-bit")?;
        if img.channels != 3 && img.channels != 4 {
            return Err(format!("qoi: input must be RGB or RGBA, got {}", img.layout()).into());
        }
        let bytes = qoi::encode_to_vec(data, img.width, img.height)
            .map_err(|e| format!("qoi encode failed for {}x{}: {e}", img.width, img.height))?;
        Ok(bytes.into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        let (header, pixels) =
            qoi::decode_to_vec(data).map_err(|e| format!("QOI decode failed: {e}"))?;
        let image = Image::new_u8(header.width, header.height, header.channels.as_u8(), pixels)
            .map_err(|e| format!("QOI decode returned a short image: {e}"))?;
        Ok(image.into())
    }
    fn relative_cost(&self, _: &Params) -> f64 {
        0.2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_and_rgba_round_trip_and_keep_their_channel_count() {
        for channels in [3u8, 4] {
            let data = (0..20 * 10 * channels as usize)
                .map(|i| (i * 13 % 256) as u8)
                .collect();
            let img = Image::new_u8(20, 10, channels, data).unwrap();
            let bytes = Qoi.encode(&img, &Params::default()).unwrap().bytes;
            assert_eq!(&bytes[..4], b"qoif");
            assert_eq!(bytes[12], channels, "header channel byte");
            assert_eq!(Qoi.decode(&bytes).unwrap().image, img);
        }
    }

    #[test]
    fn gray_and_16_bit_sources_become_8_bit_colour() {
        assert_eq!(Qoi.input_layout(Layout::new(1, 16)), Layout::new(3, 8));
        assert_eq!(Qoi.input_layout(Layout::new(2, 8)), Layout::new(4, 8));
    }

    #[test]
    fn corrupt_data_is_an_error() {
        assert!(Qoi.decode(b"qoif\0\0").is_err());
    }
}
