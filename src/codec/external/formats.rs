//! The image files an external command reads and writes: binary PPM/PGM, PAM and PNG.

use std::io::Cursor;

use super::Format;
use crate::pixels::from_dynamic;
use crate::pixels::{Image, PixelError, Samples};

/// Why an image file for or from an external command could not be made or read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FormatError {
    #[error("ppm/pgm cannot hold {0} channels")]
    Channels(u8),
    #[error("cannot write PNG input: {0}")]
    WritePng(String),
    #[error("image buffer size mismatch")]
    BufferSize,
    #[error("decoder output is not a valid {name} file: {error}")]
    NotValid { name: &'static str, error: String },
    #[error("decoder output: {0}")]
    Pixels(PixelError),
}

/// Writes `img` in `format` (the layout was already chosen by `input_layout`).
pub fn write_image(img: &Image, format: Format) -> Result<Vec<u8>, FormatError> {
    let maxval = img.layout().peak();
    let (w, h) = (img.width, img.height);
    let mut out = match format {
        Format::Ppm => {
            let magic = match img.channels {
                1 => "P5",
                3 => "P6",
                c => return Err(FormatError::Channels(c)),
            };
            format!("{magic}\n{w} {h}\n{maxval}\n").into_bytes()
        }
        Format::Pam => {
            let tupl =
                ["GRAYSCALE", "GRAYSCALE_ALPHA", "RGB", "RGB_ALPHA"][img.channels as usize - 1];
            format!(
                "P7\nWIDTH {w}\nHEIGHT {h}\nDEPTH {}\nMAXVAL {maxval}\nTUPLTYPE {tupl}\nENDHDR\n",
                img.channels
            )
            .into_bytes()
        }
        Format::Png => {
            let dynamic = to_dynamic(img)?;
            let mut buf = Cursor::new(Vec::new());
            dynamic
                .write_to(&mut buf, image::ImageFormat::Png)
                .map_err(|e| FormatError::WritePng(e.to_string()))?;
            return Ok(buf.into_inner());
        }
    };
    out.extend(img.to_bytes(true));
    Ok(out)
}

fn to_dynamic(img: &Image) -> Result<image::DynamicImage, FormatError> {
    use image::{DynamicImage as D, ImageBuffer as B};
    let (w, h) = (img.width, img.height);
    let bad = || FormatError::BufferSize;
    Ok(match (&img.samples, img.channels) {
        (Samples::U8(v), 1) => D::ImageLuma8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U8(v), 2) => D::ImageLumaA8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U8(v), 3) => D::ImageRgb8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U8(v), _) => D::ImageRgba8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U16(v), 1) => D::ImageLuma16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U16(v), 2) => D::ImageLumaA16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U16(v), 3) => D::ImageRgb16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U16(v), _) => D::ImageRgba16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
    })
}

/// Reads a decoder's output file.
pub fn read_image(bytes: &[u8], format: Format) -> Result<Image, FormatError> {
    let (fmt, name) = match format {
        Format::Png => (image::ImageFormat::Png, "PNG"),
        Format::Ppm => (image::ImageFormat::Pnm, "PPM/PGM"),
        Format::Pam => (image::ImageFormat::Pnm, "PAM"),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), fmt);
    reader.no_limits();
    let d = reader.decode().map_err(|e| FormatError::NotValid {
        name,
        error: e.to_string(),
    })?;
    from_dynamic(d).map_err(FormatError::Pixels)
}
