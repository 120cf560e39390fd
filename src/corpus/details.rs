//! What the `image` decoders do not tell: a PNG's size before its decoder applies memory
//! limits, whether a PNG or WebP is animated, a TIFF's sample type, and a PNM's maxval (which
//! the decoder silently rescales to 8 or 16 bits). Each reads only headers or, for PNM, checks
//! the samples against the maxval; none decodes pixels.

use super::LoadError;
use crate::pixels::Image;

/// Width and height from a PNG's IHDR (the first chunk), so a huge header is judged by
/// `--max-pixels` rather than by the decoder's allocation limit.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    Some((be(16), be(20)))
}

/// Frame count of an animated PNG (its `acTL` chunk before the image data); `None` when it
/// is not animated.
pub fn png_frames(bytes: &[u8]) -> Option<u32> {
    let mut i = 8;
    while i + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        let kind = &bytes[i + 4..i + 8];
        if kind == b"IDAT" {
            return None;
        }
        if kind == b"acTL" && i + 12 <= bytes.len() {
            return Some(u32::from_be_bytes(bytes[i + 8..i + 12].try_into().unwrap()));
        }
        i = i.checked_add(12 + len)?;
    }
    None
}

/// Largest metadata a PNG chunk may hold, inflated (iCCP, zTXt, iTXt) or as it is (eXIf): 8 MiB.
/// Real colour profiles and text are kilobytes; Pillow refuses compressed text above 1 MiB.
pub const MAX_PNG_METADATA: u64 = 8 << 20;

/// Why a PNG's metadata is refused: a compressed chunk that inflates (or an eXIf chunk that
/// is) above `cap` bytes, a decompression bomb the decoder would allocate whole; `None` when
/// every chunk is within it.
pub fn png_metadata_over(bytes: &[u8], cap: u64) -> Option<String> {
    use std::io::Read;
    let inflated = |data: &[u8]| -> u64 {
        let mut z = flate2::read::ZlibDecoder::new(data).take(cap + 1);
        std::io::copy(&mut z, &mut std::io::sink()).unwrap_or(0)
    };
    // After the keyword and its NUL separator.
    let after_keyword =
        |data: &[u8]| -> Option<usize> { data.iter().position(|&b| b == 0).map(|p| p + 1) };
    let mut i = 8;
    while i + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = bytes[i + 4..i + 8].try_into().unwrap();
        let data = &bytes[(i + 8).min(bytes.len())..(i + 8).saturating_add(len).min(bytes.len())];
        let size = match &kind {
            // keyword, NUL, compression method, zlib stream
            b"iCCP" | b"zTXt" => after_keyword(data)
                .and_then(|k| data.get(k + 1..))
                .map(inflated),
            // keyword, NUL, compression flag, method, language, NUL, translated keyword, NUL, text
            b"iTXt" => after_keyword(data).and_then(|k| {
                let flag = *data.get(k)?;
                let rest = data.get(k + 2..)?;
                let lang = rest.iter().position(|&b| b == 0)? + 1;
                let key = rest[lang..].iter().position(|&b| b == 0)? + 1;
                let text = &rest[lang + key..];
                Some(if flag == 1 {
                    inflated(text)
                } else {
                    text.len() as u64
                })
            }),
            b"eXIf" => Some(data.len() as u64),
            b"IEND" => break,
            _ => None,
        };
        if let Some(n) = size.filter(|&n| n > cap) {
            let name = String::from_utf8_lossy(&kind);
            return Some(format!(
                "its {name} chunk holds more than {} MiB of metadata (a decompression bomb?); \
                 codecbench reads at most {} MiB per metadata chunk",
                n.min(cap) >> 20,
                cap >> 20
            ));
        }
        i = i.checked_add(12 + len)?;
    }
    None
}

/// Frame count of an animated WebP (the VP8X animation flag; frames are `ANMF` chunks);
/// `None` when it is not animated.
pub fn webp_frames(bytes: &[u8]) -> Option<u32> {
    if bytes.len() < 21 || &bytes[12..16] != b"VP8X" || bytes[20] & 0x02 == 0 {
        return None;
    }
    let mut frames = 0;
    let mut i = 12;
    while i + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[i + 4..i + 8].try_into().unwrap()) as usize;
        if &bytes[i..i + 4] == b"ANMF" {
            frames += 1;
        }
        i = i.checked_add(8 + len + (len & 1))?;
    }
    Some(frames)
}

/// The first IFD's BitsPerSample and SampleFormat (1 unsigned, 2 signed, 3 float) of a TIFF.
pub fn tiff_samples(bytes: &[u8]) -> Option<(u16, u16)> {
    let le = match bytes.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |i: usize| -> Option<u16> {
        let b: [u8; 2] = bytes.get(i..i + 2)?.try_into().ok()?;
        Some(if le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    };
    let u32_at = |i: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(i..i + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let ifd = u32_at(4)? as usize;
    let n = u16_at(ifd)? as usize;
    let (mut bits, mut format) = (1, 1);
    for e in 0..n {
        let at = ifd + 2 + 12 * e;
        let (tag, count) = (u16_at(at)?, u32_at(at + 4)?);
        // SHORT values: inline when they fit in 4 bytes, else at the offset; the first is
        // enough (TIFF readers require every channel to have the same type).
        let value = if count <= 2 {
            u16_at(at + 8)
        } else {
            u16_at(u32_at(at + 8)? as usize)
        };
        match tag {
            258 => bits = value?,
            339 => format = value?,
            _ => {}
        }
    }
    Some((bits, format))
}

/// A TIFF sample type codecbench does not measure, as "32-bit float samples".
pub fn tiff_unsupported(bytes: &[u8]) -> Option<String> {
    let (bits, format) = tiff_samples(bytes)?;
    let kind = match format {
        3 => "float",
        2 => "signed integer",
        _ if bits != 8 && bits != 16 => "integer",
        _ => return None,
    };
    Some(format!("{bits}-bit {kind} samples"))
}

/// A PNM header: magic, size, channels, maxval (1 for PBM) and where the samples start.
struct PnmHeader {
    magic: u8,
    width: u32,
    height: u32,
    channels: u8,
    maxval: u32,
    data: usize,
}

fn pnm_header(bytes: &[u8]) -> Option<PnmHeader> {
    if bytes.len() < 2 || bytes[0] != b'P' || !(b'1'..=b'7').contains(&bytes[1]) {
        return None;
    }
    let magic = bytes[1] - b'0';
    if magic == 7 {
        // PAM: "KEY value" lines up to ENDHDR.
        let end = find(bytes, b"ENDHDR")?;
        let text = std::str::from_utf8(&bytes[..end]).ok()?;
        let field = |key: &str| -> Option<u32> {
            text.lines().find_map(|l| {
                let mut it = l.split_ascii_whitespace();
                (it.next() == Some(key)).then(|| it.next()?.parse().ok())?
            })
        };
        let data = end + 6 + usize::from(bytes.get(end + 6) == Some(&b'\n'));
        return Some(PnmHeader {
            magic,
            width: field("WIDTH")?,
            height: field("HEIGHT")?,
            channels: u8::try_from(field("DEPTH")?).ok()?,
            maxval: field("MAXVAL")?,
            data,
        });
    }
    // P1..P6: whitespace-separated numbers, `#` comments to the end of the line.
    let fields = if matches!(magic, 1 | 4) { 2 } else { 3 };
    let mut numbers: Vec<u32> = Vec::new();
    let mut i = 2;
    while numbers.len() < fields {
        match bytes.get(i)? {
            b'#' => {
                while bytes.get(i).is_some_and(|&b| b != b'\n') {
                    i += 1;
                }
            }
            b if b.is_ascii_whitespace() => i += 1,
            b if b.is_ascii_digit() => {
                let start = i;
                while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                numbers.push(std::str::from_utf8(&bytes[start..i]).ok()?.parse().ok()?);
            }
            _ => return None,
        }
    }
    Some(PnmHeader {
        magic,
        width: numbers[0],
        height: numbers[1],
        channels: if matches!(magic, 3 | 6) { 3 } else { 1 },
        maxval: if fields == 2 { 1 } else { numbers[2] },
        // One whitespace byte ends the header of the binary formats.
        data: i + 1,
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A PNM whose maxval is not 255 or 65535, decoded here rather than by `image` (whose decoder
/// rescales such samples in f32, off by one from exact rounding for some values, e.g. 820 of
/// 1023): every sample becomes `round(v * 255 / maxval)` (maxval < 256) or
/// `round(v * 65535 / maxval)` in exact integer arithmetic, which is invertible since the
/// factor exceeds 1. Returns the image and a note saying so; `None` for full-range files and
/// bitmaps (decoded as stored by `image`). A sample above the maxval, which `image` clamps
/// without a word, refuses the file.
pub fn pnm_rescaled(bytes: &[u8]) -> Result<Option<(Image, String)>, LoadError> {
    let Some(h) = pnm_header(bytes) else {
        return Ok(None);
    };
    let wide = h.maxval > 255;
    let full: u32 = if wide { 65535 } else { 255 };
    if matches!(h.magic, 1 | 4) || h.maxval == 0 || h.maxval > 65535 || h.maxval == full {
        // Bitmaps are 0/1 by definition; a zero or too-large maxval is the decoder's error.
        return Ok(None);
    }
    let corrupt = |detail: String| LoadError::Corrupt {
        format: "PNM".into(),
        detail,
    };
    let data = bytes.get(h.data..).unwrap_or_default();
    let samples: Vec<u32> = match h.magic {
        2 | 3 => data
            .split(|b| b.is_ascii_whitespace())
            .filter(|t| !t.is_empty())
            .map(|t| {
                std::str::from_utf8(t)
                    .ok()
                    .and_then(|t| t.parse::<u32>().ok())
                    .ok_or_else(|| {
                        corrupt(format!("\"{}\" is not a sample value", t.escape_ascii()))
                    })
            })
            .collect::<Result<_, _>>()?,
        _ if wide => data
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
            .collect(),
        _ => data.iter().map(|&v| v as u32).collect(),
    };
    let need = h.width as usize * h.height as usize * h.channels as usize;
    if samples.len() < need {
        return Err(corrupt(format!(
            "truncated: {} of {need} samples present",
            samples.len()
        )));
    }
    if let Some(v) = samples[..need].iter().find(|&&v| v > h.maxval) {
        return Err(corrupt(format!(
            "sample value {v} is above the header's maxval {}; fix the header or the samples",
            h.maxval
        )));
    }
    let (m, f) = (h.maxval as u64, full as u64);
    let scale = |v: &u32| (*v as u64 * f * 2 + m) / (2 * m);
    let image = if wide {
        let v = samples[..need].iter().map(|v| scale(v) as u16).collect();
        Image::new_u16(h.width, h.height, h.channels, v)
    } else {
        let v = samples[..need].iter().map(|v| scale(v) as u8).collect();
        Image::new_u8(h.width, h.height, h.channels, v)
    }
    .map_err(|e| LoadError::Unsupported(format!("unsupported PNM layout: {e}")))?;
    let bits = if (h.maxval + 1).is_power_of_two() {
        format!(" ({}-bit)", (h.maxval + 1).trailing_zeros())
    } else {
        String::new()
    };
    let depth = if wide { 16 } else { 8 };
    let note = format!(
        "PNM maxval {}{bits} scaled to {depth} bit: round(v*{full}/{})",
        h.maxval, h.maxval
    );
    Ok(Some((image, note)))
}
