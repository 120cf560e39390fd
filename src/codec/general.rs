//! General-purpose compressors over the raw samples (`gzip`, `zstd`, `brotli`, `xz`) and
//! `huffman` (deflate with the Huffman-only strategy: no LZ77 matching, so it isolates entropy
//! coding). They show how far a compressor that knows nothing about images gets, beside the
//! image codecs. Every file is the 12-byte layout header of [`super::raw`] followed by one
//! standard stream: a real .gz member (gzip, huffman), a zstd frame, a raw brotli stream, a
//! real .xz file.

use std::io::{Read, Write};
use std::sync::LazyLock;

use super::raw;
use super::{versions, Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout};

/// Which compressor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum General {
    Huffman,
    Gzip,
    Zstd,
    Brotli,
    Xz,
}

static GZIP: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![Param::int(
        "level",
        1,
        9,
        6,
        "deflate level (gzip -1..-9; default 6 as gzip)",
    )]
});
static ZSTD: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![Param::int(
        "level",
        1,
        22,
        3,
        "zstd level (zstd -1..-22, 20+ are --ultra; default 3 as zstd)",
    )]
});
static BROTLI: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![Param::int(
        "level",
        0,
        11,
        11,
        "brotli quality (brotli -q 0..11; default 11 as brotli)",
    )]
});
static XZ: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![Param::int(
        "level",
        0,
        9,
        6,
        "xz preset (xz -0..-9; default 6 as xz)",
    )]
});

/// Largest LZ77 window of the brotli CLI (`--lgwin`, default 24).
const BROTLI_MAX_LGWIN: i32 = 24;

impl General {
    /// Compresses raw samples into one standard stream of this format.
    fn compress(self, data: &[u8], level: i64) -> std::io::Result<Vec<u8>> {
        match self {
            General::Gzip => {
                let mut e = flate2::write::GzEncoder::new(
                    Vec::new(),
                    flate2::Compression::new(level as u32),
                );
                e.write_all(data)?;
                e.finish()
            }
            General::Huffman => Ok(huffman_gzip(data)),
            General::Zstd => zstd::bulk::compress(data, level as i32),
            General::Brotli => {
                let mut p = brotli::enc::BrotliEncoderParams {
                    quality: level as i32,
                    ..Default::default()
                };
                // As the brotli CLI: window 24, shrunk to the smallest that holds the input.
                p.lgwin = (10..BROTLI_MAX_LGWIN)
                    .find(|&w| (1usize << w) - 16 >= data.len())
                    .unwrap_or(BROTLI_MAX_LGWIN);
                p.size_hint = data.len();
                let mut out = Vec::new();
                brotli::BrotliCompress(&mut &data[..], &mut out, &p)?;
                Ok(out)
            }
            General::Xz => {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), level as u32);
                e.write_all(data)?;
                e.finish()
            }
        }
    }

    /// Decompresses one stream, reading at most `limit + 1` bytes so that a corrupt or
    /// hostile stream cannot exhaust memory.
    fn decompress(self, stream: &[u8], limit: usize) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(limit);
        let cap = limit as u64 + 1;
        match self {
            General::Gzip | General::Huffman => flate2::read::GzDecoder::new(stream)
                .take(cap)
                .read_to_end(&mut out),
            General::Zstd => zstd::stream::read::Decoder::new(stream)?
                .take(cap)
                .read_to_end(&mut out),
            General::Brotli => brotli::Decompressor::new(stream, 1 << 16)
                .take(cap)
                .read_to_end(&mut out),
            General::Xz => liblzma::read::XzDecoder::new(stream)
                .take(cap)
                .read_to_end(&mut out),
        }?;
        Ok(out)
    }
}

/// A gzip member (RFC 1952: no name, mtime 0, OS unknown) whose deflate stream is
/// miniz_oxide's Huffman-only strategy at level 6 (the level only sets match probes, which
/// Huffman-only never uses).
fn huffman_gzip(data: &[u8]) -> Vec<u8> {
    use miniz_oxide::deflate::core::{
        compress_to_output, create_comp_flags_from_zip_params, CompressionStrategy,
        CompressorOxide, TDEFLFlush,
    };
    let flags = create_comp_flags_from_zip_params(6, -15, CompressionStrategy::HuffmanOnly as i32);
    let mut d = CompressorOxide::new(flags);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let (status, _) = compress_to_output(&mut d, data, TDEFLFlush::Finish, |chunk| {
        out.extend_from_slice(chunk);
        true
    });
    debug_assert_eq!(status, miniz_oxide::deflate::core::TDEFLStatus::Done);
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

impl Codec for General {
    fn name(&self) -> &str {
        match self {
            General::Huffman => "huffman",
            General::Gzip => "gzip",
            General::Zstd => "zstd",
            General::Brotli => "brotli",
            General::Xz => "xz",
        }
    }
    fn version(&self) -> String {
        match self {
            General::Huffman => format!(
                "miniz_oxide {} deflate, Huffman-only strategy, gzip wrapper",
                versions::MINIZ_OXIDE
            ),
            General::Gzip => format!("flate2 {} (miniz_oxide backend)", versions::FLATE2),
            General::Zstd => format!("zstd {} (zstd-sys {})", versions::ZSTD, versions::ZSTD_SYS),
            General::Brotli => format!("brotli {} (Rust port of Google brotli)", versions::BROTLI),
            General::Xz => format!(
                "liblzma {} (liblzma-sys {}, bundled xz 5.8)",
                versions::LIBLZMA,
                versions::LIBLZMA_SYS
            ),
        }
    }
    fn decoder(&self) -> String {
        match self {
            General::Huffman | General::Gzip => format!("flate2 {} GzDecoder", versions::FLATE2),
            _ => format!("{} (same library)", self.version()),
        }
    }
    fn extension(&self) -> &str {
        match self {
            General::Huffman | General::Gzip => "raw.gz",
            General::Zstd => "raw.zst",
            General::Brotli => "raw.br",
            General::Xz => "raw.xz",
        }
    }
    fn lossless(&self, _: &Params) -> bool {
        true
    }
    fn params(&self) -> &[Param] {
        match self {
            General::Huffman => &[],
            General::Gzip => &GZIP,
            General::Zstd => &ZSTD,
            General::Brotli => &BROTLI,
            General::Xz => &XZ,
        }
    }
    fn input_layout(&self, src: Layout) -> Layout {
        src
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        let level = if *self == General::Huffman {
            0
        } else {
            params.int("level")
        };
        let stream = self
            .compress(&raw::samples(img), level)
            .map_err(|e| format!("{}: {e}", self.name()))?;
        let mut out = raw::header(img).to_vec();
        out.extend_from_slice(&stream);
        Ok(out.into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        let p = raw::parse(self.name(), data)?;
        let raw = self
            .decompress(p.stream, p.raw_len()?)
            .map_err(|e| format!("{}: {e}", self.name()))?;
        Ok(p.image(raw)?.into())
    }
    fn relative_cost(&self, params: &Params) -> f64 {
        match self {
            General::Huffman => 0.3,
            General::Gzip => 0.5,
            General::Zstd if params.int("level") >= 16 => 8.0,
            General::Zstd => 0.3,
            General::Brotli if params.int("level") >= 10 => 15.0,
            General::Brotli => 1.0,
            General::Xz => 4.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compressor_round_trips_16_bit_samples() {
        let img = Image::new_u16(5, 3, 1, (0..15).map(|i| i * 4099).collect()).unwrap();
        for g in [
            General::Huffman,
            General::Gzip,
            General::Zstd,
            General::Brotli,
            General::Xz,
        ] {
            let mut p = Params::default();
            if let Some(first) = g.params().first() {
                p.set("level", first.default.clone());
            }
            let bytes = g.encode(&img, &p).unwrap().bytes;
            assert_eq!(g.decode(&bytes).unwrap().image, img, "{g:?}");
            let mut bad = bytes.clone();
            bad.truncate(bytes.len() - 3);
            assert!(g.decode(&bad).is_err(), "{g:?} accepted a truncated file");
        }
    }
}
