//! Source images in AVIF, JPEG XL and GIF, recognised by their content: AVIF through the avif
//! codec's decoder (avif-parse + rav1d, to 8-bit RGB(A)), JPEG XL through jxl-oxide at the
//! file's bit depth, GIF's first frame through the `image` crate's GIF decoder. What reading
//! did beyond decoding is returned as the source note (results.csv `conversion`).

use std::io::Cursor;

use image::AnimationDecoder;

use super::LoadError;
use crate::pixels::Image;

/// The formats read here.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Avif,
    Jxl,
    Gif,
}

fn sniff(bytes: &[u8]) -> Option<Kind> {
    let ftyp = bytes.get(4..8) == Some(b"ftyp");
    if ftyp {
        // The major brand, or any compatible brand, says AVIF.
        let size = u32::from_be_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
        let brands = bytes.get(8..size.min(bytes.len()).max(8))?;
        if brands.chunks(4).any(|b| b == b"avif" || b == b"avis") {
            return Some(Kind::Avif);
        }
    }
    if bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(b"\0\0\0\x0CJXL \r\n\x87\n") {
        return Some(Kind::Jxl);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some(Kind::Gif);
    }
    None
}

/// Decodes `bytes` when they are AVIF, JPEG XL or GIF (`None` for any other content).
pub fn decode(bytes: &[u8], max_pixels: u64) -> Option<Result<(Image, String), LoadError>> {
    let kind = sniff(bytes)?;
    let corrupt = |format: &str, detail: String| LoadError::Corrupt {
        format: format.into(),
        detail,
    };
    let result = match kind {
        Kind::Avif => crate::codec::avif::decode(bytes)
            .map(|img| {
                let note = "AVIF: decoded by rav1d to 8-bit RGB(A) (BT.601/709/2020 matrix as \
                            signalled; deeper files reduced to 8 bits)";
                (img, note.to_string())
            })
            .map_err(|e| corrupt("AVIF", e.to_string())),
        Kind::Jxl => crate::codec::jxl::decode(bytes)
            .map(|img| {
                let v = crate::codec::versions::JXL_OXIDE;
                (
                    img,
                    format!("JPEG XL: rendered by jxl-oxide {v} at the file's bit depth"),
                )
            })
            .map_err(|e| corrupt("JPEG XL", e.to_string())),
        Kind::Gif => gif_first_frame(bytes),
    };
    Some(result.and_then(|(img, note)| {
        if img.width == 0 || img.height == 0 {
            return Err(LoadError::ZeroSize {
                width: img.width,
                height: img.height,
            });
        }
        if img.width as u64 * img.height as u64 > max_pixels {
            return Err(LoadError::TooLarge {
                width: img.width,
                height: img.height,
                limit: max_pixels,
            });
        }
        Ok((img, note))
    }))
}

/// GIF's first frame as RGB (RGBA when any pixel of it is transparent), with a note saying
/// how many frames the file has when it is animated.
fn gif_first_frame(bytes: &[u8]) -> Result<(Image, String), LoadError> {
    let corrupt = |e: image::ImageError| LoadError::Corrupt {
        format: "GIF".into(),
        detail: e.to_string(),
    };
    let decoder = image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(corrupt)?;
    let mut frames = decoder.into_frames();
    let first = frames
        .next()
        .ok_or_else(|| LoadError::Corrupt {
            format: "GIF".into(),
            detail: "no frame".into(),
        })?
        .map_err(corrupt)?;
    let more = frames.count();
    let rgba = first.into_buffer();
    let (w, h) = rgba.dimensions();
    let data = rgba.into_raw();
    let opaque = data.chunks_exact(4).all(|p| p[3] == 255);
    let image = if opaque {
        let rgb = data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Image::new_u8(w, h, 3, rgb)
    } else {
        Image::new_u8(w, h, 4, data)
    }
    .map_err(|e| LoadError::Corrupt {
        format: "GIF".into(),
        detail: e.to_string(),
    })?;
    let mut note = format!(
        "GIF: palette image decoded to {}",
        if opaque { "RGB" } else { "RGBA" }
    );
    if more > 0 {
        note.push_str(&format!(
            "; animated GIF ({} frames): frame 0 measured",
            more + 1
        ));
    }
    Ok((image, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_format_by_content() {
        assert_eq!(
            sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1"),
            Some(Kind::Avif)
        );
        assert_eq!(
            sniff(b"\0\0\0\x1cftypmif1\0\0\0\0mif1avif"),
            Some(Kind::Avif)
        );
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), None);
        assert_eq!(sniff(&[0xFF, 0x0A, 1, 2]), Some(Kind::Jxl));
        assert_eq!(sniff(b"GIF89a...."), Some(Kind::Gif));
        assert_eq!(sniff(b"\x89PNG\r\n"), None);
    }

    #[test]
    fn a_broken_file_is_named_corrupt_not_unsupported() {
        let e = decode(b"GIF89a\x01", u64::MAX).unwrap().unwrap_err();
        assert!(e.to_string().contains("corrupt or truncated GIF"), "{e}");
        let e = decode(&[0xFF, 0x0A, 0, 0, 0], u64::MAX)
            .unwrap()
            .unwrap_err();
        assert!(e.to_string().contains("JPEG XL"), "{e}");
    }
}
