//! The 12-byte layout header shared by every raw-sample codec (`rle`, `huffman`, `gzip`,
//! `zstd`, `brotli`, `xz`), and the raw sample layout they compress.
//!
//! A decoder is given only bytes, and xz and brotli have no metadata field for a layout, so
//! every raw-sample file is this header followed by one standard stream of its format
//! (`tail -c +13 file | gunzip` gives the raw samples back). One header for all of them keeps
//! the files comparable: each pays the same 12 bytes.
//!
//! Header (all big-endian): bytes 0-1 `CB` (magic), byte 2 channels (1-4), byte 3 bit depth
//! (8 or 16), bytes 4-7 width, bytes 8-11 height. Raw samples: row-major, channels
//! interleaved, 16-bit samples big-endian (as in PNG).

use crate::pixels::{Image, Layout, PixelError};

/// Why a raw-sample file cannot be read back.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RawError {
    #[error("{codec}: not a codecbench raw-sample file (no 12-byte \"CB\" layout header)")]
    NoHeader { codec: String },
    #[error("{codec}: bad layout header ({channels} channels, {depth}-bit)")]
    BadHeader {
        codec: String,
        channels: u8,
        depth: u8,
    },
    #[error("{width}x{height}: image too large")]
    TooLarge { width: u32, height: u32 },
    #[error(
        "decompressed {got} bytes, the header promises {want} ({width}x{height}, {channels} \
         channels, {depth}-bit)"
    )]
    Length {
        got: usize,
        want: usize,
        width: u32,
        height: u32,
        channels: u8,
        depth: u8,
    },
    #[error(transparent)]
    Pixels(#[from] PixelError),
}

/// Length of the layout header in bytes.
pub const HEADER_LEN: usize = 12;

/// The header for `img`.
pub fn header(img: &Image) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..2].copy_from_slice(b"CB");
    h[2] = img.channels;
    h[3] = img.depth();
    h[4..8].copy_from_slice(&img.width.to_be_bytes());
    h[8..12].copy_from_slice(&img.height.to_be_bytes());
    h
}

/// Width, height and layout read from a header, and the stream after it.
pub struct Parsed<'a> {
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    pub stream: &'a [u8],
}

impl Parsed<'_> {
    /// Bytes of raw samples the header promises.
    pub fn raw_len(&self) -> Result<usize, RawError> {
        (self.width as usize)
            .checked_mul(self.height as usize)
            .and_then(|n| n.checked_mul(self.layout.channels as usize))
            .and_then(|n| n.checked_mul(self.layout.depth as usize / 8))
            .ok_or(RawError::TooLarge {
                width: self.width,
                height: self.height,
            })
    }

    /// The image made of `raw` samples (the decompressed stream), which must be exactly the
    /// promised length.
    pub fn image(&self, raw: Vec<u8>) -> Result<Image, RawError> {
        let want = self.raw_len()?;
        if raw.len() != want {
            return Err(RawError::Length {
                got: raw.len(),
                want,
                width: self.width,
                height: self.height,
                channels: self.layout.channels,
                depth: self.layout.depth,
            });
        }
        let (w, h, c) = (self.width, self.height, self.layout.channels);
        if self.layout.depth == 16 {
            let v = raw
                .chunks_exact(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect();
            Ok(Image::new_u16(w, h, c, v)?)
        } else {
            Ok(Image::new_u8(w, h, c, raw)?)
        }
    }
}

/// Splits a raw-sample file into its header and stream; `codec` names the codec in errors.
pub fn parse<'a>(codec: &str, data: &'a [u8]) -> Result<Parsed<'a>, RawError> {
    if data.len() < HEADER_LEN || &data[0..2] != b"CB" {
        return Err(RawError::NoHeader {
            codec: codec.to_string(),
        });
    }
    let (channels, depth) = (data[2], data[3]);
    if !(1..=4).contains(&channels) || !(depth == 8 || depth == 16) {
        return Err(RawError::BadHeader {
            codec: codec.to_string(),
            channels,
            depth,
        });
    }
    let be = |i: usize| u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    Ok(Parsed {
        width: be(4),
        height: be(8),
        layout: Layout::new(channels, depth),
        stream: &data[HEADER_LEN..],
    })
}

/// `img`'s samples in the documented raw layout (16-bit big-endian).
pub fn samples(img: &Image) -> Vec<u8> {
    img.to_bytes(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_garbage() {
        let img = Image::new_u16(3, 2, 1, vec![1, 2, 3, 4, 5, 256]).unwrap();
        let mut file = header(&img).to_vec();
        file.extend(samples(&img));
        let p = parse("t", &file).unwrap();
        assert_eq!((p.width, p.height, p.layout), (3, 2, Layout::new(1, 16)));
        assert_eq!(p.image(p.stream.to_vec()).unwrap(), img);
        assert!(parse("t", b"XX").is_err());
        assert!(p
            .image(vec![0; 3])
            .unwrap_err()
            .to_string()
            .contains("promises 12"));
    }
}
