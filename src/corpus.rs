//! Finds ([`discover`]), decodes and hashes the source images of a sweep (decoding lazily: see
//! [`SourceImage`]).
//!
//! An image's id is its path relative to the corpus root it was found under (its file name when
//! named directly); its hash is BLAKE3 over the decoded pixels and their layout, so re-encoding a
//! file losslessly keeps the hash while any pixel change alters it.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageReader};

use crate::pixels::Image;

mod details;
mod discover;
mod jpeg_source;
mod more_formats;

pub use discover::{discover, Ignored, SkipFix, Skipped, EXTENSIONS};

/// A source image of the sweep. Its size comes from the file's header when it is opened; its
/// pixels are decoded on first use ([`SourceImage::pixels`], inside the worker pool) and may be
/// dropped again ([`SourceImage::release`]) once its last cell is done, so a corpus of any
/// size holds only the images in flight. The pixel hash is known from the first decode on.
#[derive(Debug)]
pub struct SourceImage {
    pub id: String,
    pub path: PathBuf,
    pub file_bytes: u64,
    /// From the header (checked against the decoded pixels).
    pub width: u32,
    pub height: u32,
    max_pixels: u64,
    /// BLAKE3 of the decoded pixels (see [`pixel_hash`]), 32 hex digits; set by the first
    /// decode.
    hash: std::sync::OnceLock<String>,
    layout: std::sync::OnceLock<crate::pixels::Layout>,
    pixels: std::sync::Mutex<Option<std::sync::Arc<Image>>>,
    /// Built from pixels in memory (no file to read them again from): never released.
    pinned: bool,
    decodes: std::sync::atomic::AtomicUsize,
    /// What reading the file did beyond decoding it, empty when nothing: a PNM maxval scaled
    /// to 8/16 bits, the first frame taken of an animation (see [`decode_source`]). Set by the
    /// first decode; written to results.csv's `conversion` and run.json.
    source_note: std::sync::OnceLock<String>,
}

impl SourceImage {
    /// An image file known by its header: size checked against `max_pixels`, pixels not yet
    /// decoded. A file whose header cannot be read is decoded at once, so that it is refused
    /// with the decoder's own message (or used, if the decoder can read it after all).
    pub fn open(id: &str, path: &Path, max_pixels: u64) -> Result<SourceImage, LoadError> {
        let file_bytes = fs::metadata(path)?.len();
        if file_bytes == 0 {
            return Err(LoadError::Empty);
        }
        let Ok((width, height)) = dimensions(path) else {
            return load(id, path, max_pixels);
        };
        if width == 0 || height == 0 {
            return Err(LoadError::ZeroSize { width, height });
        }
        if width as u64 * height as u64 > max_pixels {
            return Err(LoadError::TooLarge {
                width,
                height,
                limit: max_pixels,
            });
        }
        Ok(SourceImage {
            id: id.to_string(),
            path: path.to_path_buf(),
            file_bytes,
            width,
            height,
            max_pixels,
            hash: Default::default(),
            layout: Default::default(),
            pixels: Default::default(),
            pinned: false,
            decodes: Default::default(),
            source_note: Default::default(),
        })
    }

    /// A source from pixels already in memory (tests, library users); kept for its lifetime.
    pub fn from_image(id: &str, path: &Path, image: Image, file_bytes: u64) -> SourceImage {
        let s = SourceImage {
            id: id.to_string(),
            path: path.to_path_buf(),
            file_bytes,
            width: image.width,
            height: image.height,
            max_pixels: u64::MAX,
            hash: pixel_hash(&image).into(),
            layout: image.layout().into(),
            pixels: std::sync::Mutex::new(None),
            pinned: true,
            decodes: Default::default(),
            source_note: Default::default(),
        };
        *s.slot() = Some(std::sync::Arc::new(image));
        s
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<std::sync::Arc<Image>>> {
        self.pixels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The decoded pixels: the ones in memory, or decoded from the file again. A file whose
    /// pixels changed since the first decode (a different hash or size) is refused, so that
    /// one image's rows never mix two versions of it.
    pub fn pixels(&self) -> Result<std::sync::Arc<Image>, LoadError> {
        let mut slot = self.slot();
        if let Some(img) = &*slot {
            return Ok(img.clone());
        }
        // Our own buffers must be had (under `ulimit -v` an allocation that fails aborts the
        // process): an image whose pixels cannot be allocated is refused, the run goes on.
        let need = (self.width as u64 * self.height as u64).saturating_mul(8);
        if Vec::<u8>::new()
            .try_reserve_exact(usize::try_from(need).unwrap_or(usize::MAX))
            .is_err()
        {
            return Err(LoadError::Unsupported(format!(
                "cannot allocate {} MiB to decode it (out of memory or address space, see \
                 ulimit -v); give a smaller --max-memory or more memory",
                need >> 20
            )));
        }
        let bytes = fs::read(&self.path)?;
        let (image, note) = decode_source(&bytes, self.max_pixels)?;
        self.decodes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let hash = pixel_hash(&image);
        if (image.width, image.height) != (self.width, self.height)
            || self.hash.get().is_some_and(|h| *h != hash)
        {
            return Err(LoadError::Changed {
                width: image.width,
                height: image.height,
            });
        }
        let _ = self.hash.set(hash);
        let _ = self.layout.set(image.layout());
        let _ = self.source_note.set(note);
        let image = std::sync::Arc::new(image);
        *slot = Some(image.clone());
        Ok(image)
    }

    /// Drops the decoded pixels (unless the source was built from memory); the next
    /// [`SourceImage::pixels`] decodes the file again.
    pub fn release(&self) {
        if !self.pinned {
            *self.slot() = None;
        }
    }

    /// Whether the pixels are in memory now.
    pub fn is_loaded(&self) -> bool {
        self.slot().is_some()
    }

    /// How many times the file was decoded.
    pub fn decodes(&self) -> usize {
        self.decodes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The pixel hash, once the image was decoded (empty before).
    pub fn hash(&self) -> &str {
        self.hash.get().map_or("", String::as_str)
    }

    /// Channels and bit depth, once the image was decoded.
    pub fn layout(&self) -> Option<crate::pixels::Layout> {
        self.layout.get().copied()
    }

    /// What reading the file did beyond decoding it (empty when nothing, or not yet decoded).
    pub fn source_note(&self) -> &str {
        self.source_note.get().map_or("", String::as_str)
    }

    pub fn pixel_count(&self) -> u64 {
        self.width as u64 * self.height as u64
    }
}

/// Why an image file cannot be used. The message says what to do where there is something
/// to do; the caller adds the file's path.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read file ({0})")]
    Read(#[from] std::io::Error),
    #[error("empty file (0 bytes)")]
    Empty,
    #[error(
        "not a recognised image (expected PNG, JPEG, WebP, TIFF, BMP, PNM, AVIF, JPEG XL or GIF content)"
    )]
    NotAnImage,
    #[error("corrupt or truncated {format}: {detail}")]
    Corrupt { format: String, detail: String },
    #[error("zero-size image ({width}x{height})")]
    ZeroSize { width: u32, height: u32 },
    #[error(
        "{width}x{height} is {:.1} MP, above the limit of {:.1} MP",
        *width as f64 * *height as f64 / 1e6,
        *limit as f64 / 1e6
    )]
    TooLarge { width: u32, height: u32, limit: u64 },
    #[error("{0}")]
    Unsupported(String),
    #[error(
        "the file changed while the sweep ran (it now decodes to {width}x{height} pixels that \
         differ from its first reading); run again on a corpus that is not being written to"
    )]
    Changed { width: u32, height: u32 },
}

/// An image file's width and height from its header alone (no pixels decoded), so that the
/// memory an image needs can be judged before it is loaded.
pub fn dimensions(path: &Path) -> Result<(u32, u32), LoadError> {
    // A PNG's size is in its first chunk: the decoder would also read (and inflate) the
    // metadata chunks before the pixels, a colour-profile bomb included.
    let mut head = [0u8; 24];
    if fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && head.starts_with(b"\x89PNG\r\n\x1a\n")
    {
        if let Some(size) = details::png_size(&head) {
            return Ok(size);
        }
    }
    let reader = ImageReader::open(path)?.with_guessed_format()?;
    if reader.format().is_none() {
        return Err(LoadError::NotAnImage);
    }
    reader.into_dimensions().map_err(|e| LoadError::Corrupt {
        format: "image".into(),
        detail: e.to_string(),
    })
}

/// Reads and decodes one source image, refusing images above `max_pixels` before decoding.
/// The pixels stay in memory until [`SourceImage::release`].
pub fn load(id: &str, path: &Path, max_pixels: u64) -> Result<SourceImage, LoadError> {
    let bytes = fs::read(path)?;
    if bytes.is_empty() {
        return Err(LoadError::Empty);
    }
    let (image, source_note) = decode_source(&bytes, max_pixels)?;
    let mut s = SourceImage::from_image(id, path, image, bytes.len() as u64);
    s.pinned = false;
    s.max_pixels = max_pixels;
    s.decodes = 1.into();
    let _ = s.source_note.set(source_note);
    Ok(s)
}

/// The decoder of JPEG sources and `score` inputs, recorded in run.json: the same mozjpeg
/// (libjpeg-turbo) decoder as the jpeg codec's cells and `djpeg` (islow IDCT, fancy
/// upsampling), so a JPEG is read to the same pixels everywhere.
pub fn jpeg_source_decoder() -> String {
    format!(
        "mozjpeg-sys {} libjpeg decoder (islow, fancy upsampling); libjpeg warnings refuse the file",
        crate::versions::MOZJPEG_SYS
    )
}

/// Decodes an image file's bytes into an [`Image`], with the format taken from the content.
pub fn decode_bytes(bytes: &[u8], max_pixels: u64) -> Result<Image, LoadError> {
    decode_source(bytes, max_pixels).map(|(img, _)| img)
}

/// As [`decode_bytes`], with a note of what was done beyond decoding (empty when nothing):
/// a PNM whose maxval is not 255 or 65535 has its samples scaled to the full 8- or 16-bit
/// range (`round(v*65535/maxval)` in exact integers, invertible: the factor exceeds 1), and an
/// animated PNG or WebP is measured on its first frame (the PNG's default image).
pub fn decode_source(bytes: &[u8], max_pixels: u64) -> Result<(Image, String), LoadError> {
    if let Some(decoded) = more_formats::decode(bytes, max_pixels) {
        return decoded;
    }
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let Some(format) = reader.format() else {
        return Err(LoadError::NotAnImage);
    };
    if format == image::ImageFormat::Jpeg {
        return jpeg_source::decode(bytes, max_pixels).map(|img| (img, String::new()));
    }
    let name = format!("{format:?}").to_uppercase();
    let unsupported = |what: String| {
        LoadError::Unsupported(format!(
            "unsupported ({what}); convert it to 8- or 16-bit integer samples first"
        ))
    };
    let corrupt = |e: image::ImageError| match e {
        image::ImageError::Unsupported(u) => match details::tiff_unsupported(bytes) {
            Some(what) if format == image::ImageFormat::Tiff => unsupported(what),
            _ => unsupported(format!("{name}: {u}")),
        },
        e => LoadError::Corrupt {
            format: name.clone(),
            detail: e.to_string(),
        },
    };
    // The PNG decoder refuses a huge header as "Memory limit exceeded": read its size here so
    // that --max-pixels decides, with its own message.
    let (w, h) = match details::png_size(bytes).filter(|_| format == image::ImageFormat::Png) {
        Some(size) => size,
        None => reader.into_dimensions().map_err(corrupt)?,
    };
    if w == 0 || h == 0 {
        return Err(LoadError::ZeroSize {
            width: w,
            height: h,
        });
    }
    let pixels = w as u64 * h as u64;
    if pixels > max_pixels {
        return Err(LoadError::TooLarge {
            width: w,
            height: h,
            limit: max_pixels,
        });
    }
    let mut notes = Vec::new();
    match format {
        image::ImageFormat::Pnm => {
            if let Some(rescaled) = details::pnm_rescaled(bytes)? {
                return Ok(rescaled);
            }
        }
        image::ImageFormat::Png => {
            if let Some(why) = details::png_metadata_over(bytes, details::MAX_PNG_METADATA) {
                return Err(LoadError::Unsupported(format!("refused: {why}")));
            }
            notes.extend(
                details::png_frames(bytes)
                    .map(|n| format!("animated PNG ({n} frames): the default image measured")),
            )
        }
        image::ImageFormat::WebP => notes.extend(
            details::webp_frames(bytes)
                .map(|n| format!("animated WebP ({n} frames): frame 0 measured")),
        ),
        image::ImageFormat::Tiff => {
            if let Some(what) = details::tiff_unsupported(bytes) {
                return Err(unsupported(what));
            }
        }
        _ => {}
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // The pixel limit above is the policy; let the decoder allocate what that implies.
    reader.no_limits();
    let dynamic = reader.decode().map_err(corrupt)?;
    Ok((from_dynamic(dynamic)?, notes.join("; ")))
}

/// Converts a decoded `image` buffer (see [`crate::pixels::from_dynamic`]).
pub fn from_dynamic(d: DynamicImage) -> Result<Image, LoadError> {
    crate::pixels::from_dynamic(d).map_err(|e| LoadError::Unsupported(e.to_string()))
}

/// results.csv's `conversion`: what reading the file did (`source_note`), then what the
/// harness did to make the codec input (`prep`, "none" when nothing).
pub fn conversion(source_note: &str, prep: &str) -> String {
    match (source_note, prep) {
        ("", p) => p.to_string(),
        (s, "none") => s.to_string(),
        (s, p) => format!("{s}; {p}"),
    }
}

/// BLAKE3 over a version tag, the layout and the little-endian samples; 32 hex digits.
pub fn pixel_hash(img: &Image) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"codecbench-pixels-v1");
    h.update(&img.width.to_le_bytes());
    h.update(&img.height.to_le_bytes());
    h.update(&[img.channels, img.depth()]);
    h.update(&img.to_bytes(false));
    h.finalize().to_hex()[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, ImageFormat};

    fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn reads_every_input_format_keeping_depth_and_channels() {
        let rgb = DynamicImage::ImageRgb8(image::RgbImage::from_fn(7, 5, |x, y| {
            image::Rgb([x as u8 * 30, y as u8 * 40, 200])
        }));
        let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(7, 5, |x, y| {
            image::Rgba([x as u8, y as u8, 9, 100 + x as u8])
        }));
        let gray16 = DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(7, 5, |x, y| {
            image::Luma([x as u16 * 1000 + y as u16])
        }));
        let graya = DynamicImage::ImageLumaA8(image::ImageBuffer::from_fn(7, 5, |x, _| {
            image::LumaA([x as u8 * 20, 128])
        }));
        // Lossless formats give back exactly the pixels, depth and channels.
        for (img, formats) in [
            (
                &rgb,
                &[
                    ImageFormat::Png,
                    ImageFormat::Tiff,
                    ImageFormat::Bmp,
                    ImageFormat::Pnm,
                    ImageFormat::WebP,
                ][..],
            ),
            (
                &rgba,
                &[ImageFormat::Png, ImageFormat::Tiff, ImageFormat::WebP][..],
            ),
            (
                &gray16,
                &[ImageFormat::Png, ImageFormat::Tiff, ImageFormat::Pnm][..],
            ),
            (&graya, &[ImageFormat::Png][..]),
        ] {
            let want = from_dynamic(img.clone()).unwrap();
            for f in formats {
                let got = decode_bytes(&encode(img, *f), u64::MAX)
                    .unwrap_or_else(|e| panic!("{f:?} {:?}: {e}", img.color()));
                assert_eq!(got, want, "{f:?} {:?}", img.color());
            }
        }
        // JPEG input is lossy but keeps size and channels.
        let got = decode_bytes(&encode(&rgb, ImageFormat::Jpeg), u64::MAX).unwrap();
        assert_eq!(
            (got.width, got.height, got.channels, got.depth()),
            (7, 5, 3, 8)
        );
    }

    #[test]
    fn pixel_hash_ignores_the_file_format_but_not_the_pixels() {
        let a = Image::new_u8(2, 1, 3, vec![1, 2, 3, 4, 5, 6]).unwrap();
        let b = Image::new_u8(2, 1, 3, vec![1, 2, 3, 4, 5, 7]).unwrap();
        let c = Image::new_u8(1, 2, 3, vec![1, 2, 3, 4, 5, 6]).unwrap();
        assert_ne!(pixel_hash(&a), pixel_hash(&b));
        assert_ne!(pixel_hash(&a), pixel_hash(&c), "layout is part of the hash");
        assert_eq!(pixel_hash(&a), pixel_hash(&a.clone()));
    }
}
