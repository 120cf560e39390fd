//! JPEG 2000 (JP2 files) by OpenJPEG, bundled and built by openjpeg-sys, through a thin FFI of
//! our own with in-memory streams (the `jpeg2k` wrapper has no lossy rate control). Two codecs:
//! `jpeg2000` (irreversible 9/7 wavelet, rate set as a compression ratio against the raw size)
//! and `jpeg2000-lossless` (reversible 5/3, exact). Both code 8- and 16-bit gray, gray+alpha,
//! RGB and RGBA at their native depth; alpha is a plain component marked as opacity in the JP2
//! `cdef` box, and the colour transform (RCT/ICT) applies to RGB only, as `opj_compress` does.

use openjpeg_sys as opj;

use std::ffi::{c_char, c_void, CStr};
use std::sync::LazyLock;

use super::{versions, Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout, Samples};

/// OpenJPEG's runtime version, e.g. "2.5.3".
fn openjpeg_version() -> String {
    // SAFETY: opj_version returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(opj::opj_version()) }
        .to_string_lossy()
        .into_owned()
}

fn version() -> String {
    format!(
        "OpenJPEG {} (openjpeg-sys {})",
        openjpeg_version(),
        versions::OPENJPEG_SYS
    )
}

fn decoder() -> String {
    format!("OpenJPEG {} opj_decode (JP2)", openjpeg_version())
}

/// Collects OpenJPEG's error messages for the cell's error row.
// SAFETY (callers): OpenJPEG calls this only with valid arguments: `msg` is a NUL-terminated
// string and `data` the `String` registered with opj_set_error_handler, both live for the call.
unsafe extern "C" fn on_error(msg: *const c_char, data: *mut c_void) {
    let errors = &mut *(data as *mut String);
    let text = CStr::from_ptr(msg).to_string_lossy();
    errors.push_str(text.trim_end());
    errors.push_str("; ");
}

/// The growing output of an encode; a cursor because the JP2 writer seeks back to fill in box
/// lengths.
struct Sink {
    bytes: Vec<u8>,
    pos: usize,
}

// SAFETY (callers): OpenJPEG calls this only with valid arguments: `data` is the Sink
// registered as the stream's user data, which outlives the codec calls; OpenJPEG passes a
// buffer of at least `n` bytes.
unsafe extern "C" fn sink_write(buf: *mut c_void, n: usize, data: *mut c_void) -> usize {
    let sink = &mut *(data as *mut Sink);
    let end = sink.pos + n;
    if sink.bytes.len() < end {
        sink.bytes.resize(end, 0);
    }
    sink.bytes[sink.pos..end].copy_from_slice(std::slice::from_raw_parts(buf as *const u8, n));
    sink.pos = end;
    n
}

// SAFETY (callers): OpenJPEG calls this only with valid arguments: `data` is the Sink
// registered as the stream's user data, which outlives the codec calls and is used by one
// thread.
unsafe extern "C" fn sink_skip(n: i64, data: *mut c_void) -> i64 {
    let sink = &mut *(data as *mut Sink);
    match usize::try_from(sink.pos as i64 + n) {
        Ok(p) => {
            sink.pos = p;
            n
        }
        Err(_) => -1,
    }
}

// SAFETY (callers): OpenJPEG calls this only with valid arguments: `data` is the Sink
// registered as the stream's user data, which outlives the codec calls and is used by one
// thread.
unsafe extern "C" fn sink_seek(to: i64, data: *mut c_void) -> i32 {
    let sink = &mut *(data as *mut Sink);
    match usize::try_from(to) {
        Ok(p) => {
            sink.pos = p;
            1
        }
        Err(_) => 0,
    }
}

/// The bytes being decoded, with a read position.
struct Source<'a> {
    bytes: &'a [u8],
    pos: usize,
}

// SAFETY (callers): OpenJPEG calls this only with valid arguments: `data` is the Source
// registered as the stream's user data, which outlives the codec calls; OpenJPEG passes a
// buffer of at least `n` bytes.
unsafe extern "C" fn source_read(buf: *mut c_void, n: usize, data: *mut c_void) -> usize {
    let src = &mut *(data as *mut Source);
    let left = src.bytes.len() - src.pos;
    if left == 0 {
        return usize::MAX; // OpenJPEG's end-of-stream value, (OPJ_SIZE_T)-1
    }
    let n = n.min(left);
    std::ptr::copy_nonoverlapping(src.bytes[src.pos..].as_ptr(), buf as *mut u8, n);
    src.pos += n;
    n
}

// SAFETY (callers): OpenJPEG calls this only with valid arguments: `data` is the Source
// registered as the stream's user data, which outlives the codec calls and is used by one
// thread.
unsafe extern "C" fn source_skip(n: i64, data: *mut c_void) -> i64 {
    let src = &mut *(data as *mut Source);
    let to = (src.pos as i64 + n).clamp(0, src.bytes.len() as i64);
    let skipped = to - src.pos as i64;
    src.pos = to as usize;
    skipped
}

// SAFETY (callers): OpenJPEG calls this only with valid arguments: `data` is the Source
// registered as the stream's user data, which outlives the codec calls and is used by one
// thread.
unsafe extern "C" fn source_seek(to: i64, data: *mut c_void) -> i32 {
    let src = &mut *(data as *mut Source);
    if to < 0 || to as usize > src.bytes.len() {
        return 0;
    }
    src.pos = to as usize;
    1
}

/// Owns an OpenJPEG codec, stream and image, and frees them on every path.
struct Handles {
    codec: *mut opj::opj_codec_t,
    stream: *mut opj::opj_stream_t,
    image: *mut opj::opj_image_t,
}

impl Drop for Handles {
    fn drop(&mut self) {
        // SAFETY: each pointer is null or was returned by its OpenJPEG constructor.
        unsafe {
            if !self.stream.is_null() {
                opj::opj_stream_destroy(self.stream);
            }
            if !self.codec.is_null() {
                opj::opj_destroy_codec(self.codec);
            }
            if !self.image.is_null() {
                opj::opj_image_destroy(self.image);
            }
        }
    }
}

/// How to code: the wavelet and rate, resolution levels and code-block side.
struct Coding {
    /// Compression ratio against the raw samples; `None` = reversible 5/3, lossless.
    ratio: Option<f64>,
    levels: u32,
    codeblock: i32,
}

/// Decomposition levels the image allows: OpenJPEG refuses a level count whose lowest
/// resolution would be less than one pixel on the shorter side.
pub fn max_levels(width: u32, height: u32) -> u32 {
    31 - width.min(height).max(1).leading_zeros()
}

fn encode(img: &Image, coding: &Coding) -> Result<Vec<u8>, String> {
    let (w, h, n) = (img.width, img.height, img.channels as usize);
    let prec = img.depth() as u32;
    let mut comps: Vec<opj::opj_image_cmptparm_t> = (0..n)
        .map(|_| opj::opj_image_cmptparm_t {
            dx: 1,
            dy: 1,
            w,
            h,
            x0: 0,
            y0: 0,
            prec,
            bpp: prec,
            sgnd: 0,
        })
        .collect();
    let space = if n >= 3 {
        opj::COLOR_SPACE::OPJ_CLRSPC_SRGB
    } else {
        opj::COLOR_SPACE::OPJ_CLRSPC_GRAY
    };
    let mut errors = String::new();
    let mut sink = Sink {
        bytes: Vec::new(),
        pos: 0,
    };
    // SAFETY: every OpenJPEG object is owned by `handles` and freed on return; component data
    // buffers are allocated by opj_image_create with w*h samples, which the loop fills; the
    // stream's user data (`sink`) and the error text outlive the codec calls that use them.
    unsafe {
        let mut handles = Handles {
            codec: std::ptr::null_mut(),
            stream: std::ptr::null_mut(),
            image: opj::opj_image_create(n as u32, comps.as_mut_ptr(), space),
        };
        if handles.image.is_null() {
            return Err(format!("OpenJPEG: cannot allocate a {w}x{h} image"));
        }
        let image = &mut *handles.image;
        (image.x0, image.y0, image.x1, image.y1) = (0, 0, w, h);
        let comps = std::slice::from_raw_parts_mut(image.comps, n);
        for (c, comp) in comps.iter_mut().enumerate() {
            let data = std::slice::from_raw_parts_mut(comp.data, w as usize * h as usize);
            match &img.samples {
                Samples::U8(v) => {
                    for (d, s) in data.iter_mut().zip(v[c..].iter().step_by(n)) {
                        *d = *s as i32;
                    }
                }
                Samples::U16(v) => {
                    for (d, s) in data.iter_mut().zip(v[c..].iter().step_by(n)) {
                        *d = *s as i32;
                    }
                }
            }
            // Marks opacity in the cdef box, so decoders know the last component is alpha.
            comp.alpha = u16::from(n % 2 == 0 && c == n - 1);
        }

        let mut params: opj::opj_cparameters_t = std::mem::zeroed();
        opj::opj_set_default_encoder_parameters(&mut params);
        params.tcp_numlayers = 1;
        params.cp_disto_alloc = 1;
        match coding.ratio {
            Some(r) => {
                params.irreversible = 1;
                params.tcp_rates[0] = r as f32;
            }
            None => {
                params.irreversible = 0;
                params.tcp_rates[0] = 0.0; // 0 = keep every bit: lossless
            }
        }
        params.numresolution = coding.levels.min(max_levels(w, h)) as i32 + 1;
        params.cblockw_init = coding.codeblock;
        params.cblockh_init = coding.codeblock;
        params.tcp_mct = u8::from(n >= 3) as c_char;

        handles.codec = opj::opj_create_compress(opj::CODEC_FORMAT::OPJ_CODEC_JP2);
        if handles.codec.is_null() {
            return Err("OpenJPEG: opj_create_compress failed".into());
        }
        let err_ptr = &mut errors as *mut String as *mut c_void;
        opj::opj_set_error_handler(handles.codec, Some(on_error), err_ptr);
        if opj::opj_setup_encoder(handles.codec, &mut params, handles.image) == 0 {
            return Err(format!("OpenJPEG encoder setup failed: {errors}"));
        }
        handles.stream = opj::opj_stream_create(1 << 20, 0);
        if handles.stream.is_null() {
            return Err("OpenJPEG: opj_stream_create failed".into());
        }
        opj::opj_stream_set_user_data(handles.stream, &mut sink as *mut Sink as *mut c_void, None);
        opj::opj_stream_set_write_function(handles.stream, Some(sink_write));
        opj::opj_stream_set_skip_function(handles.stream, Some(sink_skip));
        opj::opj_stream_set_seek_function(handles.stream, Some(sink_seek));
        let ok = opj::opj_start_compress(handles.codec, handles.image, handles.stream) != 0
            && opj::opj_encode(handles.codec, handles.stream) != 0
            && opj::opj_end_compress(handles.codec, handles.stream) != 0;
        // opj_end_compress has flushed everything into the sink; release the stream now.
        opj::opj_stream_destroy(handles.stream);
        handles.stream = std::ptr::null_mut();
        if !ok {
            return Err(format!("OpenJPEG encode failed: {errors}"));
        }
    }
    Ok(sink.bytes)
}

fn decode(data: &[u8]) -> Result<Image, String> {
    let mut errors = String::new();
    let mut source = Source {
        bytes: data,
        pos: 0,
    };
    // SAFETY: as in `encode`; component data is read only within the w*h samples OpenJPEG
    // reports for each component, after checking that all components share one size.
    unsafe {
        let mut handles = Handles {
            codec: opj::opj_create_decompress(opj::CODEC_FORMAT::OPJ_CODEC_JP2),
            stream: opj::opj_stream_create(1 << 20, 1),
            image: std::ptr::null_mut(),
        };
        if handles.codec.is_null() || handles.stream.is_null() {
            return Err("OpenJPEG: cannot create a decoder".into());
        }
        let err_ptr = &mut errors as *mut String as *mut c_void;
        opj::opj_set_error_handler(handles.codec, Some(on_error), err_ptr);
        let mut params: opj::opj_dparameters_t = std::mem::zeroed();
        opj::opj_set_default_decoder_parameters(&mut params);
        if opj::opj_setup_decoder(handles.codec, &mut params) == 0 {
            return Err(format!("OpenJPEG decoder setup failed: {errors}"));
        }
        opj::opj_stream_set_user_data(
            handles.stream,
            &mut source as *mut Source as *mut c_void,
            None,
        );
        opj::opj_stream_set_user_data_length(handles.stream, data.len() as u64);
        opj::opj_stream_set_read_function(handles.stream, Some(source_read));
        opj::opj_stream_set_skip_function(handles.stream, Some(source_skip));
        opj::opj_stream_set_seek_function(handles.stream, Some(source_seek));
        let ok = opj::opj_read_header(handles.stream, handles.codec, &mut handles.image) != 0
            && opj::opj_decode(handles.codec, handles.stream, handles.image) != 0
            && opj::opj_end_decompress(handles.codec, handles.stream) != 0;
        if !ok || handles.image.is_null() {
            return Err(format!("JPEG 2000 decode failed: {errors}"));
        }
        let image = &*handles.image;
        let n = image.numcomps as usize;
        if !(1..=4).contains(&n) {
            return Err(format!(
                "JPEG 2000 decode: {n} components (expected 1 to 4)"
            ));
        }
        let comps = std::slice::from_raw_parts(image.comps, n);
        let (w, h, prec) = (comps[0].w, comps[0].h, comps[0].prec);
        if comps
            .iter()
            .any(|c| c.w != w || c.h != h || c.prec != prec || c.sgnd != 0 || c.data.is_null())
            || prec == 0
            || prec > 16
        {
            return Err(
                "JPEG 2000 decode: components differ in size or precision, are signed, \
                 or deeper than 16 bits (not an image codecbench wrote)"
                    .into(),
            );
        }
        let count = w as usize * h as usize;
        let peak = (1i32 << prec) - 1;
        let mut out = vec![0i32; count * n];
        for (c, comp) in comps.iter().enumerate() {
            let src = std::slice::from_raw_parts(comp.data, count);
            for (d, s) in out[c..].iter_mut().step_by(n).zip(src) {
                *d = (*s).clamp(0, peak);
            }
        }
        if prec <= 8 {
            Ok(Image::new_u8(
                w,
                h,
                n as u8,
                out.into_iter().map(|v| v as u8).collect(),
            )?)
        } else {
            Ok(Image::new_u16(
                w,
                h,
                n as u8,
                out.into_iter().map(|v| v as u16).collect(),
            )?)
        }
    }
}

/// Gray, gray+alpha, RGB and RGBA all kept, at the source's depth (8 or 16).
fn input_layout(src: Layout) -> Layout {
    src
}

static LOSSY_PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::float(
            "ratio",
            2.0,
            400.0,
            20.0,
            "compression ratio against the raw samples (opj_compress -r); 24/ratio bpp for 8-bit RGB",
        ),
        levels_param(),
        codeblock_param(),
    ]
});

static LOSSLESS_PARAMS: LazyLock<Vec<Param>> =
    LazyLock::new(|| vec![levels_param(), codeblock_param()]);

fn levels_param() -> Param {
    Param::int(
        "levels",
        0,
        10,
        5,
        "wavelet decomposition levels (opj_compress -n minus 1); capped per image at log2 of its shorter side",
    )
}

fn codeblock_param() -> Param {
    Param::choice(
        "codeblock",
        &["64", "32", "16"],
        "64",
        "code-block side in pixels (opj_compress -b)",
    )
}

fn coding(params: &Params, ratio: Option<f64>) -> Coding {
    Coding {
        ratio,
        levels: params.int("levels") as u32,
        codeblock: params.choice("codeblock").parse().unwrap_or(64),
    }
}

/// OpenJPEG in one of its two modes: lossy (irreversible 9/7 wavelet, one quality layer at
/// the requested ratio; `jpeg2000`) or lossless (reversible 5/3 wavelet and colour transform;
/// `jpeg2000-lossless`).
pub struct Jpeg2000 {
    pub lossless: bool,
}

impl Codec for Jpeg2000 {
    fn name(&self) -> &str {
        if self.lossless {
            "jpeg2000-lossless"
        } else {
            "jpeg2000"
        }
    }
    fn version(&self) -> String {
        version()
    }
    fn decoder(&self) -> String {
        decoder()
    }
    fn extension(&self) -> &str {
        "jp2"
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
        let ratio = (!self.lossless).then(|| params.float("ratio"));
        Ok(encode(img, &coding(params, ratio))?.into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        Ok(decode(data)?.into())
    }
    fn relative_cost(&self, _: &Params) -> f64 {
        4.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Registry;

    const LOSSY: Jpeg2000 = Jpeg2000 { lossless: false };
    const LOSSLESS: Jpeg2000 = Jpeg2000 { lossless: true };

    fn params(spec: &str) -> Params {
        Registry::builtin().parse_spec(spec).unwrap()[0]
            .params
            .clone()
    }

    fn textured(w: u32, h: u32, channels: u8) -> Vec<u32> {
        (0..w * h * channels as u32)
            .map(|i| (i * 7 + (i / w) * 3) % 251 + (i.wrapping_mul(2654435761) >> 28) % 5)
            .collect()
    }

    #[test]
    fn lossless_is_exact_for_every_layout_and_depth() {
        for channels in 1..=4u8 {
            let v = textured(37, 21, channels);
            let img8 = Image::new_u8(37, 21, channels, v.iter().map(|&s| s as u8).collect());
            let img16 = Image::new_u16(
                37,
                21,
                channels,
                v.iter().map(|&s| s as u16 * 251).collect(),
            );
            for img in [img8.unwrap(), img16.unwrap()] {
                let p = params("jpeg2000-lossless");
                let bytes = LOSSLESS.encode(&img, &p).unwrap().bytes;
                assert_eq!(&bytes[4..8], b"jP  ", "a JP2 file");
                let back = LOSSLESS.decode(&bytes).unwrap().image;
                assert_eq!(back, img, "{}", img.layout());
            }
        }
    }

    #[test]
    fn lossy_keeps_layout_and_meets_the_ratio() {
        let v = textured(128, 96, 3);
        let img = Image::new_u8(128, 96, 3, v.iter().map(|&s| s as u8).collect()).unwrap();
        let bytes = LOSSY
            .encode(&img, &params("jpeg2000:ratio=20"))
            .unwrap()
            .bytes;
        // OpenJPEG sizes the codestream to raw/ratio; the JP2 boxes add about 100 bytes.
        let target = img.raw_bytes() as f64 / 20.0;
        assert!((bytes.len() as f64) < target + 200.0, "{}", bytes.len());
        assert!((bytes.len() as f64) > target * 0.8, "{}", bytes.len());
        let back = LOSSY.decode(&bytes).unwrap().image;
        assert_eq!(back.layout(), img.layout());
    }

    #[test]
    fn levels_are_capped_by_the_shorter_side() {
        assert_eq!(max_levels(24, 500), 4);
        assert_eq!(max_levels(1, 1), 0);
        let img = Image::new_u8(5, 3, 1, vec![9; 15]).unwrap();
        let bytes = LOSSLESS
            .encode(&img, &params("jpeg2000-lossless:levels=10"))
            .unwrap()
            .bytes;
        assert_eq!(LOSSLESS.decode(&bytes).unwrap().image, img);
    }

    #[test]
    fn corrupt_data_is_an_error_not_a_crash() {
        let img = Image::new_u8(16, 16, 1, vec![3; 256]).unwrap();
        let mut bytes = LOSSLESS
            .encode(&img, &params("jpeg2000-lossless"))
            .unwrap()
            .bytes;
        bytes.truncate(bytes.len() / 2);
        assert!(LOSSLESS.decode(&bytes).is_err());
        assert!(LOSSLESS.decode(b"not a jp2 file").is_err());
    }

    #[test]
    fn version_names_openjpeg() {
        assert!(
            LOSSY.version().starts_with("OpenJPEG 2.5."),
            "{}",
            LOSSY.version()
        );
    }
}
