//! AVIF encoded by one of two AV1 encoders, chosen by `encoder`: rav1e through ravif (the
//! default: in process, no Python needed), or libaom through libavif (`encoder=aom`: libavif
//! 1.4 + libaom >= 3.13 from the `imagecodecs` wheel, run in the bundled worker, with libaom's
//! `tune` iq/ssim/psnr and 4:2:0 or 4:4:4 chroma). Both are decoded by rav1d (the Rust port of
//! dav1d) after avif-parse has taken the AV1 items out of the HEIF container, so the two
//! encoders' rows share one decoder. The YUV->RGB step is ours and is described by [`decoder_description`]: a real
//! AVIF reader (libavif) does the same arithmetic, so its output may differ from ours by a
//! rounding step.
//!
//! ravif takes 8-bit RGB(A) and always writes full-range 4:4:4 YCbCr (BT.601 matrix) at 8 or
//! 10 bits inside; libavif is given the same 8-bit RGB(A) and writes full-range YCbCr with the
//! BT.601 matrix (matrix "unspecified" in the file, which AVIF readers take as BT.601), 4:4:4
//! or 4:2:0 (libavif's RGB->YUV, its default chroma downsampling); gray sources are given as RGB with R=G=B, 16-bit sources reduced to 8 bits
//! by the harness. Alpha is kept (a second, monochrome AV1 item) with the colour under
//! transparent pixels left as it is, so the colour channels are measured honestly.

use std::ptr::NonNull;
use std::sync::LazyLock;

use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dSettings};
use rav1d::include::dav1d::headers::{
    DAV1D_MC_BT2020_NCL, DAV1D_MC_BT470BG, DAV1D_MC_BT601, DAV1D_MC_BT709, DAV1D_MC_IDENTITY,
    DAV1D_MC_UNKNOWN, DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420, DAV1D_PIXEL_LAYOUT_I422,
};
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib as dav1d;

use super::{
    bundled, catch, versions, Codec, CodecError, DecodeError, Decoded, Encoded, Param, Params,
};
use crate::pixels::{Image, Layout};

/// AV1 frames are at most 65536 pixels a side; rav1e also needs at least one pixel.
const MAX_SIDE: u32 = 65536;

pub struct Avif;

static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::int(
            "q",
            1,
            100,
            80,
            "quality 1..100 (ravif's, or libavif's for encoder=aom: the scales differ); alpha uses cavif's alpha quality for it",
        ),
        Param::int(
            "speed",
            1,
            10,
            6,
            "speed preset, 1 slowest and smallest .. 10 fastest (rav1e's, or libavif's for libaom's cpu-used)",
        ),
        Param::choice(
            "depth",
            &["8", "10"],
            "10",
            "AV1 bit depth inside the file (ravif's default 10 compresses 8-bit input better)",
        ),
        Param::choice(
            "encoder",
            &["rav1e", "aom"],
            "rav1e",
            "AV1 encoder: rav1e (ravif, in process) or aom (libavif + libaom >= 3.13, bundled worker)",
        ),
        Param::choice(
            "tune",
            &["default", "iq", "ssim", "psnr"],
            "default",
            "libaom tuning (encoder=aom): default = libavif's choice for stills (iq with libaom >= 3.13); rav1e takes only default",
        ),
        Param::choice(
            "yuv",
            &["444", "420"],
            "444",
            "chroma subsampling; 420 needs encoder=aom (ravif writes 4:4:4 only)",
        ),
    ]
});

/// "ravif 0.13.0 (rav1e 0.8.1); aom: libavif 1.4.0 + libaom 3.13.1 (...)": both encoders,
/// since either may have made a row.
fn version() -> String {
    format!(
        "ravif {} (rav1e {}); aom: {}",
        versions::RAVIF,
        versions::RAV1E,
        bundled::version_or_reason("avif", "libavif + libaom")
    )
}

/// What reads the files back and how pixels are made from YUV.
pub fn decoder_description() -> String {
    format!(
        "rav1d {} + avif-parse {}; YUV->RGB by codecbench: matrix from the AV1 sequence header \
         (ravif writes BT.601; BT.709, BT.2020-NCL and identity/GBR also read; unspecified = \
         BT.601), full or limited range as signalled, float arithmetic rounded to nearest 8-bit \
         value; 4:2:0/4:2:2 chroma upsampled by nearest neighbour (as `avifdec --upsampling nearest`; ravif writes 4:4:4 only); \
         alpha item scaled by round(v*255/max), premultiplied alpha undone",
        versions::RAV1D,
        versions::AVIF_PARSE
    )
}

/// cavif's alpha quality for a colour quality (alpha edges need more bits than colour).
fn alpha_quality(q: f32) -> f32 {
    ((q + 100.0) / 2.0).min(q + q / 4.0 + 2.0).min(100.0)
}

/// Runs `f` where rayon sees exactly one thread, so that rav1e's tile count (ravif gives it
/// `rayon::current_num_threads()` tiles when no thread count is set) never depends on
/// `--jobs` or on the machine, and its work stays on one thread.
///
/// The harness's workers are each the only thread of a pool of their own (see
/// [`crate::run::run_jobs`]): there `f` runs on the calling thread, whose CPU clock is then the
/// encode's whole CPU time. Anywhere else (a library caller, a test) `f` runs on a one-thread
/// pool kept per calling thread; the bytes are the same either way.
fn on_one_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() && rayon::current_num_threads() == 1 {
        return f();
    }
    thread_local! {
        static ONE: std::cell::OnceCell<Result<rayon::ThreadPool, rayon::ThreadPoolBuildError>> =
            const { std::cell::OnceCell::new() };
    }
    ONE.with(|one| {
        match one.get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .thread_name(|_| "codecbench-avif".to_string())
                .build()
        }) {
            Ok(pool) => pool.install(f),
            // No thread to be had: run here (rav1e then takes the global pool's threads for
            // its tile count, which only a failing thread spawn can bring about).
            Err(_) => f(),
        }
    })
}

impl Codec for Avif {
    fn name(&self) -> &str {
        "avif"
    }
    fn version(&self) -> String {
        version()
    }
    fn decoder(&self) -> String {
        decoder_description()
    }
    fn extension(&self) -> &str {
        "avif"
    }
    fn lossless(&self, _: &Params) -> bool {
        // ravif has no lossless mode (4:4:4 YCbCr at q=100 still rounds).
        false
    }
    fn params(&self) -> &[Param] {
        &PARAMS
    }
    fn input_layout(&self, src: Layout) -> Layout {
        Layout::new(if src.has_alpha() { 4 } else { 3 }, 8)
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        let data = img.as_u8().ok_or("avif: input must be 8-bit")?;
        if img.width == 0 || img.height == 0 || img.width > MAX_SIDE || img.height > MAX_SIDE {
            return Err(format!(
                "avif: AV1 cannot store {}x{} (1..{MAX_SIDE} pixels a side)",
                img.width, img.height
            )
            .into());
        }
        let q = params.int("q") as f32;
        if params.choice("encoder") == "aom" {
            // Alpha gets cavif's alpha quality for both encoders, so that they differ only in
            // the AV1 encoder.
            let q_alpha = alpha_quality(q).round() as i64;
            return bundled::encode("avif", img, params, &[("q_alpha", q_alpha.into())]);
        }
        for (key, want) in [("tune", "default"), ("yuv", "444")] {
            if params.choice(key) != want {
                return Err(format!(
                    "avif: {key}={} needs encoder=aom (ravif/rav1e offers only {key}={want})",
                    params.choice(key)
                )
                .into());
            }
        }
        let depth = match params.choice("depth") {
            "8" => ravif::BitDepth::Eight,
            _ => ravif::BitDepth::Ten,
        };
        let enc = ravif::Encoder::new()
            .with_quality(q)
            .with_alpha_quality(alpha_quality(q))
            .with_speed(params.int("speed") as u8)
            .with_bit_depth(depth)
            // No thread pool of rav1e's own: the encode runs inside `on_one_thread`, on the
            // calling thread (one tile, like `Some(1)`, which would hand the work to a fresh
            // rav1e thread that no clock of the harness sees).
            .with_num_threads(None)
            .with_alpha_color_mode(ravif::AlphaColorMode::UnassociatedDirty);
        let (w, h) = (img.width as usize, img.height as usize);
        let out = on_one_thread(|| {
            catch(|| {
                if img.channels == 4 {
                    let px: Vec<ravif::RGBA8> = data
                        .chunks_exact(4)
                        .map(|p| ravif::RGBA8::new(p[0], p[1], p[2], p[3]))
                        .collect();
                    enc.encode_rgba(ravif::Img::new(&px[..], w, h))
                        .map_err(|e| format!("ravif: {e}"))
                } else if img.channels == 3 {
                    let px: Vec<ravif::RGB8> = data
                        .chunks_exact(3)
                        .map(|p| ravif::RGB8::new(p[0], p[1], p[2]))
                        .collect();
                    enc.encode_rgb(ravif::Img::new(&px[..], w, h))
                        .map_err(|e| format!("ravif: {e}"))
                } else {
                    Err(format!(
                        "avif: expected RGB or RGBA input, got {}",
                        img.layout()
                    ))
                }
            })
        })?;
        Ok(out.avif_file.into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        Ok(catch(|| decode(data).map_err(CodecError::from))?.into())
    }
    fn relative_cost(&self, params: &Params) -> f64 {
        // rav1e is far slower than mozjpeg; slower presets cost roughly twice per step.
        10.0 * 1.5f64.powi(10 - params.int("speed") as i32)
    }
    /// rav1e runs on the calling thread; a libaom cell's thread only waits for the worker,
    /// whose reported CPU time is added (the wait itself is a few microseconds).
    fn encode_cpu_on_thread(&self) -> bool {
        true
    }
}

/// Decodes an AVIF file (still image, optional alpha) to 8-bit RGB or RGBA.
/// What the dav1d-based decoder says went wrong.
fn failed(detail: impl Into<String>) -> DecodeError {
    DecodeError::Failed {
        format: "AVIF",
        detail: detail.into(),
    }
}

pub fn decode(data: &[u8]) -> Result<Image, DecodeError> {
    let avif =
        avif_parse::read_avif(&mut &data[..]).map_err(|e| failed(format!("container: {e}")))?;
    let color = decode_av1(&avif.primary_item)?;
    let alpha = match &avif.alpha_item {
        Some(a) => Some(decode_av1(a)?),
        None => None,
    };
    let (w, h) = (color.width, color.height);
    let n = w * h;
    let rgb = to_rgb(&color)?;
    let Some(a) = alpha else {
        return Ok(Image::new_u8(w as u32, h as u32, 3, rgb)?);
    };
    if (a.width, a.height) != (w, h) {
        return Err(failed(format!(
            "alpha is {}x{}, colour {w}x{h}",
            a.width, a.height
        )));
    }
    let mut out = Vec::with_capacity(n * 4);
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let av = to8(a.get(0, x, y), a.bpc);
            for c in 0..3 {
                let v = rgb[i * 3 + c];
                out.push(if avif.premultiplied_alpha && av > 0 {
                    ((v as u32 * 255 + av as u32 / 2) / av as u32).min(255) as u8
                } else {
                    v
                });
            }
            out.push(av);
        }
    }
    Ok(Image::new_u8(w as u32, h as u32, 4, out)?)
}

/// One decoded AV1 picture, copied out of rav1d's buffers.
struct Planes {
    width: usize,
    height: usize,
    bpc: u32,
    layout: u32,
    matrix: u32,
    full_range: bool,
    /// Y, U, V samples (U and V empty for monochrome), each at its own resolution.
    planes: [Vec<u16>; 3],
    chroma_width: usize,
}

impl Planes {
    fn get(&self, plane: usize, x: usize, y: usize) -> u16 {
        if plane == 0 {
            self.planes[0][y * self.width + x]
        } else {
            let (cx, cy) = match self.layout {
                DAV1D_PIXEL_LAYOUT_I420 => (x / 2, y / 2),
                DAV1D_PIXEL_LAYOUT_I422 => (x / 2, y),
                _ => (x, y),
            };
            self.planes[plane][cy * self.chroma_width + cx]
        }
    }
}

/// `v` at `bpc` bits scaled to 8 bits, rounded to nearest.
fn to8(v: u16, bpc: u32) -> u8 {
    let max = (1u32 << bpc) - 1;
    ((v as u32 * 255 + max / 2) / max).min(255) as u8
}

/// (Kr, Kb) of a YCbCr matrix.
fn kr_kb(matrix: u32) -> Result<Option<(f32, f32)>, DecodeError> {
    Ok(match matrix {
        DAV1D_MC_IDENTITY => None,
        DAV1D_MC_BT709 => Some((0.2126, 0.0722)),
        DAV1D_MC_BT601 | DAV1D_MC_BT470BG | DAV1D_MC_UNKNOWN => Some((0.299, 0.114)),
        DAV1D_MC_BT2020_NCL => Some((0.2627, 0.0593)),
        m => return Err(failed(format!("matrix coefficients {m} not supported"))),
    })
}

/// YUV (or GBR, or gray) to interleaved 8-bit RGB.
fn to_rgb(p: &Planes) -> Result<Vec<u8>, DecodeError> {
    let max = ((1u32 << p.bpc) - 1) as f32;
    let scale = (1u32 << (p.bpc - 8)) as f32;
    // Normalised luma and centred chroma, per the AV1 spec's range definitions.
    let (y_off, y_div, c_div) = if p.full_range {
        (0.0, max, max)
    } else {
        (16.0 * scale, 219.0 * scale, 224.0 * scale)
    };
    let c_off = (1u32 << (p.bpc - 1)) as f32;
    let mono = p.layout == DAV1D_PIXEL_LAYOUT_I400;
    let kr_kb = if mono { None } else { kr_kb(p.matrix)? };
    let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let mut out = Vec::with_capacity(p.width * p.height * 3);
    for y in 0..p.height {
        for x in 0..p.width {
            let yy = (p.get(0, x, y) as f32 - y_off) / y_div;
            if mono {
                let v = q(yy);
                out.extend_from_slice(&[v, v, v]);
                continue;
            }
            let (u, v) = (p.get(1, x, y) as f32, p.get(2, x, y) as f32);
            match kr_kb {
                None => {
                    // Identity: Y=G, U=B, V=R, each with the luma range.
                    let f = |s: f32| q((s - y_off) / y_div);
                    out.extend_from_slice(&[f(v), f(p.get(0, x, y) as f32), f(u)]);
                }
                Some((kr, kb)) => {
                    let cb = (u - c_off) / c_div;
                    let cr = (v - c_off) / c_div;
                    let r = yy + 2.0 * (1.0 - kr) * cr;
                    let b = yy + 2.0 * (1.0 - kb) * cb;
                    let g = (yy - kr * r - kb * b) / (1.0 - kr - kb);
                    out.extend_from_slice(&[q(r), q(g), q(b)]);
                }
            }
        }
    }
    Ok(out)
}

/// Owns a rav1d context and closes it on drop.
struct Context(Option<Dav1dContext>);

impl Drop for Context {
    fn drop(&mut self) {
        if self.0.is_some() {
            // SAFETY: the context came from dav1d_open and is closed once.
            unsafe { dav1d::dav1d_close(NonNull::new(&mut self.0)) };
        }
    }
}

/// rav1d's EAGAIN ("send more data" / "take a picture first").
const EAGAIN: i32 = -11;

/// Decodes one AV1 bitstream (an AVIF item) to its planes.
fn decode_av1(obus: &[u8]) -> Result<Planes, DecodeError> {
    if obus.is_empty() {
        return Err(failed("empty AV1 item"));
    }
    // SAFETY: every pointer passed below is to a live local; rav1d fills `settings`, `data`
    // and `pic` and we release them with the matching unref/close calls.
    unsafe {
        let mut settings = std::mem::MaybeUninit::<Dav1dSettings>::zeroed();
        dav1d::dav1d_default_settings(NonNull::new(settings.as_mut_ptr()).unwrap());
        let mut settings = settings.assume_init();
        // One thread and no frame delay: a still image, decoded where the harness times it.
        settings.n_threads = 1;
        settings.max_frame_delay = 1;
        let mut ctx = Context(None);
        let r = dav1d::dav1d_open(NonNull::new(&mut ctx.0), NonNull::new(&mut settings));
        if r.0 != 0 || ctx.0.is_none() {
            return Err(failed(format!("dav1d_open returned {}", r.0)));
        }
        let mut data: Dav1dData = std::mem::zeroed();
        let buf = dav1d::dav1d_data_create(NonNull::new(&mut data), obus.len());
        if buf.is_null() {
            return Err(failed("out of memory"));
        }
        std::ptr::copy_nonoverlapping(obus.as_ptr(), buf, obus.len());
        let mut pic: Dav1dPicture = std::mem::zeroed();
        let mut got = false;
        for _ in 0..64 {
            if data.sz > 0 {
                let r = dav1d::dav1d_send_data(ctx.0, NonNull::new(&mut data));
                if r.0 != 0 && r.0 != EAGAIN {
                    dav1d::dav1d_data_unref(NonNull::new(&mut data));
                    return Err(failed(format!("AV1 data rejected ({})", r.0)));
                }
            }
            let r = dav1d::dav1d_get_picture(ctx.0, NonNull::new(&mut pic));
            if r.0 == 0 {
                got = true;
                break;
            }
            if r.0 != EAGAIN {
                dav1d::dav1d_data_unref(NonNull::new(&mut data));
                return Err(failed(format!("AV1 decode error ({})", r.0)));
            }
        }
        dav1d::dav1d_data_unref(NonNull::new(&mut data));
        if !got {
            return Err(failed("the AV1 item holds no picture"));
        }
        let planes = copy_planes(&pic);
        dav1d::dav1d_picture_unref(NonNull::new(&mut pic));
        planes
    }
}

/// Copies a picture's planes (8- or 16-bit storage) into owned vectors.
///
/// # Safety
/// `pic` must be a picture returned by `dav1d_get_picture` and not yet unreferenced.
unsafe fn copy_planes(pic: &Dav1dPicture) -> Result<Planes, DecodeError> {
    let (w, h) = (pic.p.w as usize, pic.p.h as usize);
    let bpc = pic.p.bpc as u32;
    let layout = pic.p.layout;
    let seq = pic
        .seq_hdr
        .ok_or_else(|| failed("picture without a sequence header"))?;
    let seq = seq.as_ref();
    let (cw, ch) = match layout {
        DAV1D_PIXEL_LAYOUT_I400 => (0, 0),
        DAV1D_PIXEL_LAYOUT_I420 => (w.div_ceil(2), h.div_ceil(2)),
        DAV1D_PIXEL_LAYOUT_I422 => (w.div_ceil(2), h),
        _ => (w, h),
    };
    let read = |plane: usize, pw: usize, ph: usize| -> Result<Vec<u16>, DecodeError> {
        if pw == 0 {
            return Ok(Vec::new());
        }
        let base = pic.data[plane]
            .ok_or_else(|| failed("missing plane"))?
            .as_ptr() as *const u8;
        let stride = pic.stride[plane.min(1)];
        let mut v = Vec::with_capacity(pw * ph);
        for y in 0..ph {
            let row = base.offset(y as isize * stride);
            if bpc > 8 {
                let row = row as *const u16;
                v.extend((0..pw).map(|x| row.add(x).read_unaligned()));
            } else {
                v.extend((0..pw).map(|x| *row.add(x) as u16));
            }
        }
        Ok(v)
    };
    Ok(Planes {
        width: w,
        height: h,
        bpc,
        layout,
        matrix: seq.mtrx,
        full_range: seq.color_range != 0,
        planes: [read(0, w, h)?, read(1, cw, ch)?, read(2, cw, ch)?],
        chroma_width: cw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_range_bt601_primaries_come_back() {
        // ravif's own forward transform of pure red at 8 bits, full range BT.601:
        // Y = 0.299*255 = 76.245 -> 76, Cb = 128 - 0.5*0.299/0.886*255 = 84.97 -> 85, Cr = 255.5 -> 255.
        let p = Planes {
            width: 1,
            height: 1,
            bpc: 8,
            layout: 3, // I444
            matrix: DAV1D_MC_BT601,
            full_range: true,
            planes: [vec![76], vec![85], vec![255]],
            chroma_width: 1,
        };
        let rgb = to_rgb(&p).unwrap();
        assert!(rgb[0] >= 253 && rgb[1] <= 1 && rgb[2] <= 1, "{rgb:?}");
    }

    #[test]
    fn ten_bit_alpha_scales_back_exactly() {
        // ravif widens 8-bit alpha to 10 bits as (a << 2) | (a >> 6); we must undo it exactly.
        for a in 0..=255u16 {
            assert_eq!(to8((a << 2) | (a >> 6), 10), a as u8);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        assert!(decode(b"not an avif file").is_err());
    }
}
