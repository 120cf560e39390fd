//! `rle`: run-length encoding of the raw samples, PackBits per row and per channel plane (our
//! own implementation). It shows what the oldest trick gets on each kind of image: much on
//! flat synthetic images, nothing (a little growth) on photographs and noisy scans.
//!
//! File: the 12-byte layout header of [`super::raw`], then for each channel plane (0, 1, ...)
//! and each row top to bottom, that row's samples of that channel in PackBits: a control
//! byte n; n in 0..=127 is followed by n+1 literal samples; n in 129..=255 (-127..=-1 as i8)
//! by one sample repeated 257-n times; 128 is never written. Runs never cross a row. A sample
//! is 1 byte at 8 bits and 2 bytes big-endian at 16 bits (runs are of whole 16-bit samples).
//! Runs of 3 or more samples become repeat packets; shorter ones stay literal.

use super::raw;
use super::{Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout, Samples};

pub struct Rle;

/// Appends one row of samples (each `u32` holding an 8- or 16-bit value) in PackBits.
fn pack_row(row: &[u32], wide: bool, out: &mut Vec<u8>) {
    let put = |v: u32, out: &mut Vec<u8>| {
        if wide {
            out.extend_from_slice(&(v as u16).to_be_bytes());
        } else {
            out.push(v as u8);
        }
    };
    let mut i = 0;
    let mut literal_start = 0;
    let flush = |from: usize, to: usize, out: &mut Vec<u8>| {
        for chunk in row[from..to].chunks(128) {
            out.push((chunk.len() - 1) as u8);
            for &v in chunk {
                put(v, out);
            }
        }
    };
    while i < row.len() {
        let mut run = 1;
        while i + run < row.len() && row[i + run] == row[i] && run < 128 {
            run += 1;
        }
        if run >= 3 {
            flush(literal_start, i, out);
            out.push((257 - run) as u8);
            put(row[i], out);
            i += run;
            literal_start = i;
        } else {
            i += run;
        }
    }
    flush(literal_start, row.len(), out);
}

/// Why an RLE stream cannot be decoded.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RleError {
    #[error("rle: stream ends inside a row")]
    Short,
    #[error("rle: a packet runs past the end of a row")]
    PastRow,
    #[error("rle: bytes left after the last row")]
    Trailing,
}

/// Reads one row of `width` samples from `data` at `*pos`.
fn unpack_row(
    data: &[u8],
    pos: &mut usize,
    width: usize,
    wide: bool,
    out: &mut Vec<u32>,
) -> Result<(), RleError> {
    let size = if wide { 2 } else { 1 };
    let get = |pos: &mut usize| -> Result<u32, RleError> {
        let b = data.get(*pos..*pos + size).ok_or(RleError::Short)?;
        *pos += size;
        Ok(if wide {
            u16::from_be_bytes([b[0], b[1]]) as u32
        } else {
            b[0] as u32
        })
    };
    let mut n = 0;
    while n < width {
        let c = *data.get(*pos).ok_or(RleError::Short)?;
        *pos += 1;
        let (count, repeat) = match c {
            0..=127 => (c as usize + 1, false),
            128 => continue,
            _ => (257 - c as usize, true),
        };
        if n + count > width {
            return Err(RleError::PastRow);
        }
        if repeat {
            let v = get(pos)?;
            out.extend(std::iter::repeat_n(v, count));
        } else {
            for _ in 0..count {
                out.push(get(pos)?);
            }
        }
        n += count;
    }
    Ok(())
}

impl Codec for Rle {
    fn name(&self) -> &str {
        "rle"
    }
    fn version(&self) -> String {
        format!(
            "codecbench {} PackBits per row and per channel plane",
            env!("CARGO_PKG_VERSION")
        )
    }
    fn decoder(&self) -> String {
        "codecbench PackBits".into()
    }
    fn extension(&self) -> &str {
        "rle"
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
    fn encode(&self, img: &Image, _: &Params) -> Result<Encoded, CodecError> {
        let (w, h, c) = (
            img.width as usize,
            img.height as usize,
            img.channels as usize,
        );
        let wide = img.depth() == 16;
        let mut out = raw::header(img).to_vec();
        let mut row = Vec::with_capacity(w);
        for ch in 0..c {
            for y in 0..h {
                row.clear();
                row.extend((0..w).map(|x| img.sample((y * w + x) * c + ch)));
                pack_row(&row, wide, &mut out);
            }
        }
        Ok(out.into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        let p = raw::parse("rle", data)?;
        p.raw_len()?;
        let (w, h, c) = (
            p.width as usize,
            p.height as usize,
            p.layout.channels as usize,
        );
        let wide = p.layout.depth == 16;
        let mut planes = Vec::with_capacity(w * h * c);
        let mut pos = 0;
        for _ in 0..c * h {
            unpack_row(p.stream, &mut pos, w, wide, &mut planes)?;
        }
        if pos != p.stream.len() {
            return Err(RleError::Trailing.into());
        }
        let interleaved = |i: usize| planes[(i % c) * w * h + i / c];
        let n = w * h * c;
        let samples = if wide {
            Samples::U16((0..n).map(|i| interleaved(i) as u16).collect())
        } else {
            Samples::U8((0..n).map(|i| interleaved(i) as u8).collect())
        };
        let img = match samples {
            Samples::U8(v) => Image::new_u8(p.width, p.height, p.layout.channels, v),
            Samples::U16(v) => Image::new_u16(p.width, p.height, p.layout.channels, v),
        }?;
        Ok(img.into())
    }
    fn relative_cost(&self, _: &Params) -> f64 {
        0.2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_layout_is_as_documented() {
        // One gray row: a run of 4, then 2 literals.
        let img = Image::new_u8(6, 1, 1, vec![7, 7, 7, 7, 1, 2]).unwrap();
        let bytes = Rle.encode(&img, &Params::default()).unwrap().bytes;
        assert_eq!(&bytes[12..], &[253, 7, 1, 1, 2]);
        assert_eq!(Rle.decode(&bytes).unwrap().image, img);
        // 16-bit: whole big-endian samples; planes: channel 0 rows, then channel 1 rows.
        let img = Image::new_u16(3, 1, 2, vec![258, 1, 258, 1, 258, 1]).unwrap();
        let bytes = Rle.encode(&img, &Params::default()).unwrap().bytes;
        assert_eq!(&bytes[12..], &[254, 1, 2, 254, 0, 1]);
        assert_eq!(Rle.decode(&bytes).unwrap().image, img);
    }

    #[test]
    fn long_rows_split_into_128_sample_packets() {
        let data: Vec<u8> = (0..300)
            .map(|i| if i < 200 { 5 } else { i as u8 })
            .collect();
        let img = Image::new_u8(300, 1, 1, data).unwrap();
        let bytes = Rle.encode(&img, &Params::default()).unwrap().bytes;
        assert_eq!(Rle.decode(&bytes).unwrap().image, img);
        let mut bad = bytes.clone();
        bad.pop();
        assert!(Rle.decode(&bad).is_err());
    }
}
