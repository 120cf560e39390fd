//! WebP lossy and lossless, both by libwebp (bundled by libwebp-sys, called directly) with cwebp's defaults
//! where not set, and decoded by libwebp's own decoder (as `dwebp`, no dithering). WebP stores
//! colour only, so gray sources are given as RGB with R=G=B.

use libwebp_sys as sys;

use std::sync::LazyLock;

use super::{versions, Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout};

/// libwebp's runtime version as "a.b.c".
fn libwebp_version() -> String {
    // SAFETY: a pure function of the linked library.
    let v = unsafe { sys::WebPGetEncoderVersion() };
    format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
}

fn version() -> String {
    format!(
        "libwebp {} (libwebp-sys {})",
        libwebp_version(),
        versions::LIBWEBP_SYS
    )
}

fn decoder() -> String {
    format!("libwebp {} WebPDecodeRGB(A)", libwebp_version())
}

fn input_layout(src: Layout) -> Layout {
    Layout::new(if src.has_alpha() { 4 } else { 3 }, 8)
}

/// Encodes with a fully specified libwebp configuration, as cwebp does: the picture is imported
/// as ARGB (`use_argb`), libwebp converts to YUV itself for lossy, and the bitstream goes to a
/// memory writer.
fn encode(img: &Image, config: &sys::WebPConfig) -> Result<Vec<u8>, String> {
    let data = img.as_u8().ok_or("webp: input must be 8-bit")?;
    if img.width > 16383 || img.height > 16383 {
        return Err(format!(
            "WebP cannot store {}x{} (at most 16383 pixels a side)",
            img.width, img.height
        ));
    }
    // SAFETY: a plain-data check of the configuration.
    if unsafe { sys::WebPValidateConfig(config) } == 0 {
        return Err("libwebp: invalid encoder configuration".into());
    }
    let mut picture = sys::WebPPicture::new()
        .map_err(|_| "libwebp: WebPPictureInit failed (ABI mismatch)".to_string())?;
    picture.use_argb = 1;
    picture.width = img.width as i32;
    picture.height = img.height as i32;
    let (w, c) = (img.width as i32, img.channels as i32);
    // SAFETY: `data` holds width x height x channels bytes (checked by `Image`); libwebp copies
    // it into the picture's own buffers, freed by WebPPictureFree below on every path.
    let imported = unsafe {
        if c == 4 {
            sys::WebPPictureImportRGBA(&mut picture, data.as_ptr(), w * 4)
        } else {
            sys::WebPPictureImportRGB(&mut picture, data.as_ptr(), w * 3)
        }
    };
    if imported == 0 {
        // SAFETY: the picture was initialised above; freeing a picture whose import failed
        // releases whatever it allocated and is allowed once.
        unsafe { sys::WebPPictureFree(&mut picture) };
        return Err("libwebp: out of memory importing the picture".into());
    }
    // SAFETY: the writer outlives the WebPEncode call that appends to it through custom_ptr;
    // its buffer is copied out and released with WebPMemoryWriterClear.
    unsafe {
        let mut writer: sys::WebPMemoryWriter = std::mem::zeroed();
        sys::WebPMemoryWriterInit(&mut writer);
        picture.writer = Some(sys::WebPMemoryWrite);
        picture.custom_ptr = (&mut writer as *mut sys::WebPMemoryWriter).cast();
        let ok = sys::WebPEncode(config, &mut picture);
        let result = if ok != 0 {
            Ok(std::slice::from_raw_parts(writer.mem, writer.size).to_vec())
        } else {
            Err(format!("libwebp encode failed: {:?}", picture.error_code))
        };
        sys::WebPMemoryWriterClear(&mut writer);
        sys::WebPPictureFree(&mut picture);
        result
    }
}

/// Decodes any still WebP to RGB or RGBA (RGBA exactly when the bitstream has alpha).
fn decode(data: &[u8]) -> Result<Image, String> {
    // SAFETY: `features` is plain data filled by libwebp; pointers and lengths come from a slice.
    let mut features: sys::WebPBitstreamFeatures = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer and length come from one live slice; `features` outlives the call.
    let status = unsafe { sys::WebPGetFeatures(data.as_ptr(), data.len(), &mut features) };
    if status != sys::VP8StatusCode::VP8_STATUS_OK {
        return Err(format!("WebP decode failed: {status:?}"));
    }
    if features.has_animation != 0 {
        return Err("WebP decode failed: animated WebP is not a still image".into());
    }
    let alpha = features.has_alpha != 0;
    let (mut w, mut h) = (0i32, 0i32);
    // SAFETY: libwebp returns a buffer of w*h*channels bytes or null; we copy it and free it.
    let ptr = unsafe {
        if alpha {
            sys::WebPDecodeRGBA(data.as_ptr(), data.len(), &mut w, &mut h)
        } else {
            sys::WebPDecodeRGB(data.as_ptr(), data.len(), &mut w, &mut h)
        }
    };
    if ptr.is_null() {
        return Err("WebP decode failed: corrupt or truncated bitstream".into());
    }
    let channels: u8 = if alpha { 4 } else { 3 };
    let len = w as usize * h as usize * channels as usize;
    // SAFETY: `ptr` is non-null (checked above) and libwebp allocated w x h x channels bytes
    // for the decoded picture, which we copy before freeing.
    let pixels = unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec();
    // SAFETY: `ptr` came from WebPDecodeRGB(A) and is freed once, after the copy.
    unsafe { sys::WebPFree(ptr.cast()) };
    Ok(Image::new_u8(w as u32, h as u32, channels, pixels)?)
}

fn base_config() -> Result<sys::WebPConfig, String> {
    sys::WebPConfig::new().map_err(|_| "libwebp: WebPConfigInit failed (ABI mismatch)".to_string())
}

/// libwebp in one of its two modes: lossy (VP8, alpha if any stored losslessly as cwebp does
/// by default; `webp`) or lossless (VP8L with `exact` set, so RGB under transparent pixels is
/// kept; `webp-lossless`).
pub struct Webp {
    pub lossless: bool,
}

static LOSSY_PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::int("q", 0, 100, 75, "quality (cwebp -q)"),
        Param::int("method", 0, 6, 4, "speed/size trade-off (cwebp -m)"),
    ]
});

static LOSSLESS_PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::int(
            "effort",
            0,
            100,
            75,
            "compression effort (cwebp -lossless -q)",
        ),
        Param::int("method", 0, 6, 4, "speed/size trade-off (cwebp -m)"),
    ]
});

impl Codec for Webp {
    fn name(&self) -> &str {
        if self.lossless {
            "webp-lossless"
        } else {
            "webp"
        }
    }
    fn version(&self) -> String {
        version()
    }
    fn decoder(&self) -> String {
        decoder()
    }
    fn extension(&self) -> &str {
        "webp"
    }
    fn lossless(&self, _: &Params) -> bool {
        self.lossless
    }
    fn params(&self) -> &[Param] {
        if self.lossless {
            &LOSSLESS_PARAMS
        } else {
            &LOSSY_PARAMS
        }
    }
    fn input_layout(&self, src: Layout) -> Layout {
        input_layout(src)
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        let mut config = base_config()?;
        config.method = params.int("method") as i32;
        if self.lossless {
            config.lossless = 1;
            config.exact = 1;
            config.quality = params.int("effort") as f32;
        } else {
            config.lossless = 0;
            config.quality = params.int("q") as f32;
        }
        Ok(encode(img, &config)?.into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        Ok(decode(data)?.into())
    }
    fn relative_cost(&self, params: &Params) -> f64 {
        let method = params.int("method") as f64;
        if self.lossless {
            2.0 + method * 2.0
        } else {
            1.0 + method * 0.5
        }
    }
}
