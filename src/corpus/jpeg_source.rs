//! JPEG sources (and `score` inputs) decoded by mozjpeg's libjpeg-turbo decoder, the one the
//! jpeg codec's cells and `djpeg` use, so a JPEG file becomes the same pixels wherever it is
//! read. libjpeg reports a truncated or damaged file only as a *warning* ("Premature end of
//! JPEG file") and fills the rest with gray; like `djpeg`'s exit status 2, any warning refuses
//! the file here, with libjpeg's message as the reason. CMYK/YCCK files are refused (the
//! harness measures gray and RGB; a silent conversion would change what is measured).

use std::cell::RefCell;
use std::os::raw::c_int;

use mozjpeg::Decompress;
use mozjpeg_sys as ffi;

use super::LoadError;
use crate::pixels::Image;

thread_local! {
    /// The first libjpeg warning of the decode running on this thread.
    static WARNING: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// libjpeg's text for the message it is about to emit.
fn message(cinfo: &mut ffi::jpeg_common_struct) -> String {
    let mut buf = [0u8; 80];
    // SAFETY: `err` is the error manager libjpeg is calling us from; format_message writes at
    // most JMSG_LENGTH_MAX (80) bytes. The binding declares the buffer `&[u8; 80]` though the
    // C function writes it, hence the cast to the mutable signature.
    unsafe {
        if let Some(fmt) = cinfo.err.as_ref().and_then(|e| e.format_message) {
            let f: unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, &mut [u8; 80]) =
                std::mem::transmute(fmt);
            f(cinfo, &mut buf);
        }
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A fatal libjpeg error: unwind out of the C code (as the mozjpeg crate does) with the text.
extern "C-unwind" fn fatal(cinfo: &mut ffi::jpeg_common_struct) {
    let msg = message(cinfo);
    std::panic::resume_unwind(Box::new(msg));
}

/// Level -1 is a warning (corrupt data, premature end); others are trace messages.
extern "C-unwind" fn emit(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
    if level < 0 {
        let msg = message(cinfo);
        WARNING.with(|w| {
            w.borrow_mut().get_or_insert(msg);
        });
    }
}

/// Decodes a JPEG file, refusing it on any libjpeg warning or error.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<Image, LoadError> {
    WARNING.with(|w| w.borrow_mut().take());
    let corrupt = |detail: String| LoadError::Corrupt {
        format: "JPEG".into(),
        detail,
    };
    let result = std::panic::catch_unwind(|| decode_inner(bytes, max_pixels));
    let warning = WARNING.with(|w| w.borrow_mut().take());
    match result {
        Err(payload) => Err(corrupt(
            payload
                .downcast::<String>()
                .map(|s| *s)
                .unwrap_or_else(|_| "libjpeg failed".into()),
        )),
        Ok(Err(e)) => Err(e),
        Ok(Ok(_)) if warning.is_some() => Err(corrupt(format!(
            "libjpeg warning \"{}\"; re-save the file or remove it from the corpus",
            warning.unwrap_or_default()
        ))),
        Ok(Ok(img)) => Ok(img),
    }
}

fn decode_inner(bytes: &[u8], max_pixels: u64) -> Result<Image, LoadError> {
    // SAFETY: a zeroed error manager is what jpeg_std_error expects to fill in.
    let mut err: ffi::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    // SAFETY: `err` is a live local; jpeg_std_error only fills in its fields.
    unsafe { ffi::jpeg_std_error(&mut err) };
    err.error_exit = Some(fatal);
    err.emit_message = Some(emit);
    let io = |e: std::io::Error| LoadError::Corrupt {
        format: "JPEG".into(),
        detail: e.to_string(),
    };
    let d = Decompress::builder()
        .with_err(err)
        .from_mem(bytes)
        .map_err(io)?;
    let (w, h) = (d.width() as u32, d.height() as u32);
    if w == 0 || h == 0 {
        return Err(LoadError::ZeroSize {
            width: w,
            height: h,
        });
    }
    if w as u64 * h as u64 > max_pixels {
        return Err(LoadError::TooLarge {
            width: w,
            height: h,
            limit: max_pixels,
        });
    }
    use ffi::J_COLOR_SPACE::{JCS_CMYK, JCS_GRAYSCALE, JCS_YCCK};
    let space = d.color_space();
    if matches!(space, JCS_CMYK | JCS_YCCK) {
        return Err(LoadError::Unsupported(
            "CMYK JPEG: codecbench measures gray and RGB sources and does not convert colour \
             spaces; convert it to RGB first (e.g. `convert in.jpg -colorspace sRGB out.png`)"
                .into(),
        ));
    }
    let gray = space == JCS_GRAYSCALE;
    let mut started = if gray { d.grayscale() } else { d.rgb() }.map_err(io)?;
    let pixels: Vec<u8> = started.read_scanlines().map_err(io)?;
    started.finish().map_err(io)?;
    Image::new_u8(w, h, if gray { 1 } else { 3 }, pixels)
        .map_err(|e| LoadError::Unsupported(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let data: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let img = Image::new_u8(w, h, 3, data).unwrap();
        let reg = crate::codec::Registry::builtin();
        let c = &reg.parse_spec("jpeg:q=80,progressive=false").unwrap()[0];
        c.codec.encode(&img, &c.params).unwrap().bytes
    }

    #[test]
    fn same_pixels_as_the_jpeg_codec_decoder() {
        let bytes = jpeg(40, 24);
        let reg = crate::codec::Registry::builtin();
        let codec = reg.find("jpeg").unwrap();
        assert_eq!(
            decode(&bytes, u64::MAX).unwrap(),
            codec.decode(&bytes).unwrap().image
        );
    }

    #[test]
    fn truncated_files_are_refused_with_libjpeg_warning() {
        let bytes = jpeg(64, 64);
        for cut in [10, 50, 90, 99] {
            let n = bytes.len() * cut / 100;
            let e = decode(&bytes[..n], u64::MAX).unwrap_err().to_string();
            assert!(e.starts_with("corrupt or truncated JPEG"), "{cut}%: {e}");
        }
        // The warning of one file does not leak into the next.
        decode(&bytes, u64::MAX).unwrap();
    }
}
