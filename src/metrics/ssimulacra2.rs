//! SSIMULACRA 2.1, computed the way the `ssimulacra2` crate 0.5.1 (rust-av) computes it, fed the
//! way the C++ reference tool (cloudinary/ssimulacra2, `ssimulacra2_main.cc`) feeds its metric,
//! with the original's half of the work done once in [`Ssimulacra2Reference::new`].
//!
//! Input: 8- or 16-bit samples are sRGB-encoded values `v / (2^depth-1)`; gray is replicated to
//! RGB (16-bit gray too: CT/MR values become near-black, as in the reference). Images with alpha
//! are blended over a dark (0.1) and a light (0.9) grey and the lower (worse) score is kept.
//! The reference blends `a * c + (1 - a) * bg` on the decoded values before converting them to
//! linear light (its `AlphaBlend` runs on the image as loaded, i.e. sRGB-encoded, and only then
//! `TransformTo(LinearSRGB)`), so the backgrounds are sRGB-encoded greys 0.1 and 0.9. The
//! reference values agree: on the RGBA rows of tests/data/reference this blend is within 0.041
//! points of the C++ tool, while blending in linear light is off by up to 1.13 points.
//!
//! The algorithm, step for step as in the crate (whose results tests/perceptual.rs checks
//! against the C++ tool, and against which the unit tests below check this file):
//!
//! 1. sRGB to linear light with the crate's transfer function (yuvxyb's `srgb_eotf` with its
//!    polynomial `powf`), through a lookup table per sample value (and alpha, with alpha).
//! 2. Up to six scales, each a 2x2 box average of the previous one in linear RGB (last row and
//!    column repeated for odd sizes); a scale is computed while the previous one is at least
//!    8x8.
//! 3. Per scale: linear RGB to XYB (opsin absorbance, cube root), then SSIMULACRA2's offsets
//!    (X * 14 + 0.42, Y + 0.01, B - Y + 0.55).
//! 4. Per scale and XYB plane: the recursive Gaussian (sigma 1.5, libjxl's truncated-cosine IIR,
//!    zero outside the image) of img1, img2, img1^2, img2^2 and img1*img2; the SSIM error map
//!    without the luminance denominator and the edge maps (artifact, detail lost), each
//!    averaged as a 1-norm and a 4-norm: 108 numbers, weighted and mapped to the final score.
//!
//! Speed (20 to 28 times the crate's on one core, for 0.25 to 3.4 megapixel images) comes from:
//! * [`Ssimulacra2Reference::new`] keeping, per scale, the original's XYB planes, blurred mean
//!   and variance (sigma11 - mu1^2): a call converts, downsamples and blurs only the distorted
//!   image and the product img1*img2. Above [`LEAN_ABOVE_PIXELS`] the mean and variance are
//!   not kept (two thirds of the reference's memory) but blurred again by every call, in the
//!   same pass as the distorted image's maps: same operations, same bits, 18-27% fewer
//!   pixels per CPU second (measured on 0.26 to 3 MP images).
//! * Planar f32 data processed 8 values at a time in straight loops the compiler vectorises:
//!   the horizontal blur runs on 8 rows at once (XYB planes are stored 8 rows by column, and
//!   read back a block of rows at a time where rows are needed), the vertical blur on 8 columns
//!   at once, streaming through a ring of rows, and the error maps are summed on each blurred
//!   row as it comes out; no blurred plane is stored.
//! * The hot code compiled a second time for AVX2 and FMA and picked at run time; without
//!   those units `f32::mul_add` is a call to the C library's `fmaf` (results are the same:
//!   FMA is exactly rounded either way).
//! * Buffers kept from one call to the next.
//!
//! Every step up to the blurred maps does the crate's f32 operations in the crate's order,
//! fused multiply-adds included, so the XYB planes and blurred maps are bit-identical to the
//! crate's (tested). That matters: the blur's recursions have their poles on the unit circle,
//! so rounding errors do not decay, and the SSIM term is a difference of nearly equal blurred
//! values; a blur with unfused multiply-adds (and its passes swapped) moved astronaut's JPEG q50
//! score by 0.012.
//! Only the error maps' last steps differ (f32 where the crate goes to f64 after the SSIM
//! ratio, the edge ratio as (e2 - e1) / (1 + e1), sums in 8 f64 lanes): scores agree with the
//! crate's within 1e-7 on every row of tests/data/reference.

use std::sync::Mutex;

use super::ssim::same_shape;
use super::ScoreError;
use crate::pixels::{Image, Layout, Samples};

/// Backgrounds for images with alpha, as in the C++ reference.
const BACKGROUNDS: [f32; 2] = [0.1, 0.9];
/// Below this size in either dimension the reference refuses to score.
const MIN_SIDE: u32 = 8;
/// Scales scored: 1:1 to 1:32.
const NUM_SCALES: usize = 6;
/// Columns (or rows) processed together; row-major planes are padded to a multiple of it.
const LANES: usize = 8;
type Lanes = [f32; LANES];

/// The original's precomputed half of the metric: one pyramid (opaque original) or one per
/// background (original with any transparency), reused for every distorted image.
///
/// Memory, per pyramid: the original's XYB at every scale, 12 bytes per pixel at scale 0 and
/// about 16 over all scales; with the blurred moments (the default up to [`LEAN_ABOVE_PIXELS`])
/// also their means and variances, about 48 B/px in all. Each score in flight holds about 16
/// B/px more (the distorted image's XYB at the current scale, 12, and the linear planes of the
/// next two, 3 + 0.75; scale 0 is converted two rows at a time), the buffers of the last call
/// kept for the next one. On a 24 MP image, lean: SSIMULACRA2 added 33 B/px to the peak RSS
/// of a one-cell run (scripts/bench_memory.sh; the crate's call used about 150 while it ran).
pub struct Ssimulacra2Reference {
    width: u32,
    height: u32,
    layout: Layout,
    /// Empty when the image is smaller than 8x8.
    pyramids: Vec<Pyramid>,
    /// sRGB-encoded sample value -> linear light.
    lut: Vec<f32>,
    /// 8-bit with alpha: per background, `(alpha << 8) | value` -> linear light of the blend.
    blend_luts: Vec<Vec<f32>>,
    /// Buffers of the last call, kept for the next one (a call finding it taken by another
    /// thread allocates its own).
    scratch: Mutex<Option<Box<Scratch>>>,
}

/// Originals above this many pixels get a lean reference: their blurred means and variances
/// are recomputed by every score instead of kept (see [`Ssimulacra2Reference`]).
pub const LEAN_ABOVE_PIXELS: usize = 2_000_000;

impl Ssimulacra2Reference {
    /// The reference of `original`: lean above [`LEAN_ABOVE_PIXELS`], else with the blurred
    /// moments kept. Both give the same scores to the bit.
    pub fn new(original: &Image) -> Ssimulacra2Reference {
        Self::with_moments(original, original.pixel_count() <= LEAN_ABOVE_PIXELS)
    }

    /// The reference of `original`, keeping the original's blurred means and variances when
    /// `moments` (faster scores, three times the memory), else recomputing them in every
    /// score (the blur does 5 maps instead of 3).
    pub fn with_moments(original: &Image, moments: bool) -> Ssimulacra2Reference {
        let layout = original.layout();
        let mut reference = Ssimulacra2Reference {
            width: original.width,
            height: original.height,
            layout,
            pyramids: Vec::new(),
            lut: Vec::new(),
            blend_luts: Vec::new(),
            scratch: Mutex::new(None),
        };
        if original.width < MIN_SIDE || original.height < MIN_SIDE {
            return reference;
        }
        let scale = 1.0 / layout.peak() as f32;
        reference.lut = (0..=layout.peak())
            .map(|v| srgb_to_linear(v as f32 * scale))
            .collect();
        if layout.has_alpha() && layout.depth == 8 {
            reference.blend_luts = BACKGROUNDS
                .iter()
                .map(|&bg| {
                    (0..256 * 256)
                        .map(|i| blend_to_linear((i & 255) as f32, (i >> 8) as f32, scale, bg))
                        .collect()
                })
                .collect();
        }
        let mut scratch = Scratch::default();
        let backgrounds = if alpha_is_opaque(original) {
            1
        } else {
            BACKGROUNDS.len()
        };
        reference.pyramids = (0..backgrounds)
            .map(|i| {
                let how = reference.how(i, backgrounds == 1);
                Pyramid::new(original, how, moments, &mut scratch)
            })
            .collect();
        reference.scratch = Mutex::new(Some(Box::new(scratch)));
        reference
    }

    /// Err when `distorted` cannot be scored: a size or layout other than the original's, or
    /// an image smaller than 8x8.
    pub fn check(&self, distorted: &Image) -> Result<(), ScoreError> {
        same_shape(self.width, self.height, self.layout, distorted)?;
        if self.pyramids.is_empty() {
            return Err(ScoreError::Ssimulacra2Size {
                width: self.width,
                height: self.height,
            });
        }
        Ok(())
    }

    /// SSIMULACRA 2.1 score (100 = identical, lower is worse, can go negative).
    /// Err("image smaller than 8x8 ...") below 8x8, like the C++ reference.
    pub fn score(&self, distorted: &Image) -> Result<f64, ScoreError> {
        self.check(distorted)?;
        let mut scratch = self
            .scratch
            .try_lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_default();
        // Opaque everywhere in both images: the blends over both backgrounds are the image
        // itself (a * v + 0 * bg == v exactly), so both scores would be the same.
        let opaque = self.pyramids.len() == 1 && alpha_is_opaque(distorted);
        let backgrounds = if opaque { 1 } else { BACKGROUNDS.len() };
        let mut worst = f64::INFINITY;
        for i in 0..backgrounds {
            let pyramid = &self.pyramids[i.min(self.pyramids.len() - 1)];
            worst = worst.min(pyramid.score(distorted, self.how(i, opaque), &mut scratch));
        }
        if let Ok(mut kept) = self.scratch.try_lock() {
            *kept = Some(scratch);
        }
        Ok(worst)
    }

    /// How samples become linear light: as they are when opaque, else blended over
    /// background `i`.
    fn how(&self, i: usize, opaque: bool) -> Linear<'_> {
        if opaque || !self.layout.has_alpha() {
            Linear::Lut(&self.lut)
        } else if let Some(lut) = self.blend_luts.get(i) {
            Linear::BlendLut(lut)
        } else {
            Linear::Blend(BACKGROUNDS[i], 1.0 / self.layout.peak() as f32)
        }
    }
}

/// True when the image has no alpha or every alpha sample is the peak value.
fn alpha_is_opaque(img: &Image) -> bool {
    let layout = img.layout();
    if !layout.has_alpha() {
        return true;
    }
    let c = img.channels as usize;
    match &img.samples {
        Samples::U8(v) => v[c - 1..].iter().step_by(c).all(|&a| a == u8::MAX),
        Samples::U16(v) => v[c - 1..].iter().step_by(c).all(|&a| a == u16::MAX),
    }
}

// ---------------------------------------------------------------------------------------------
// Planes

/// One f32 plane, row-major, rows padded with zeros to `stride` (a multiple of [`LANES`]).
#[derive(Default)]
struct Plane {
    w: usize,
    h: usize,
    stride: usize,
    data: Vec<f32>,
}

impl Plane {
    fn new(w: usize, h: usize) -> Plane {
        let mut p = Plane::default();
        p.resize(w, h);
        p
    }

    /// Changes the size, keeping the allocation; every row must be written again (padding
    /// included) before it is read.
    fn resize(&mut self, w: usize, h: usize) {
        self.w = w;
        self.h = h;
        self.stride = w.div_ceil(LANES) * LANES;
        self.data.resize(self.stride * h, 0.0);
    }

    fn row(&self, y: usize) -> &[f32] {
        &self.data[y * self.stride..][..self.stride]
    }

    fn row_mut(&mut self, y: usize) -> &mut [f32] {
        &mut self.data[y * self.stride..][..self.stride]
    }
}

/// Zero columns on each side of a block of [`Tiles`] (what the horizontal blur reads there).
const PAD: usize = 2 * RADIUS;

/// One f32 plane in blocks of [`LANES`] rows stored column by column: block `b` holds rows
/// `LANES * b ..` as the lanes of its entries, column x at entry `PAD + x`, with `PAD` zero
/// entries on either side and zero lanes past the last row. The horizontal blur's layout.
#[derive(Default)]
struct Tiles {
    w: usize,
    h: usize,
    data: Vec<Lanes>,
}

impl Tiles {
    fn block_len(&self) -> usize {
        self.w + 2 * PAD
    }

    /// Changes the size and zeroes everything.
    fn resize(&mut self, w: usize, h: usize) {
        self.w = w;
        self.h = h;
        self.data.clear();
        self.data
            .resize(h.div_ceil(LANES) * self.block_len(), [0.0; LANES]);
    }

    fn block(&self, b: usize) -> &[Lanes] {
        let len = self.block_len();
        &self.data[b * len..][..len]
    }

    /// Stores row `y` (its first `w` values).
    fn set_row(&mut self, y: usize, row: &[f32]) {
        let (len, w, l) = (self.block_len(), self.w, y % LANES);
        let block = &mut self.data[y / LANES * len..][PAD..PAD + w];
        for (t, &v) in block.iter_mut().zip(&row[..w]) {
            t[l] = v;
        }
    }
}

/// Reads [`Tiles`] row by row, top to bottom, transposing one block of rows at a time into a
/// buffer of [`LANES`] rows (zero padded to a multiple of [`LANES`]).
struct TileRows<'a> {
    tiles: &'a Tiles,
    stride: usize,
    /// Block held in `buf`.
    block: usize,
    buf: &'a mut Vec<f32>,
}

impl<'a> TileRows<'a> {
    fn new(tiles: &'a Tiles, buf: &'a mut Vec<f32>) -> TileRows<'a> {
        let stride = tiles.w.div_ceil(LANES) * LANES;
        buf.clear();
        buf.resize(LANES * stride, 0.0);
        TileRows {
            tiles,
            stride,
            block: usize::MAX,
            buf,
        }
    }

    #[inline(always)]
    fn row(&mut self, y: usize) -> &[Lanes] {
        let (b, stride, w) = (y / LANES, self.stride, self.tiles.w);
        if b != self.block {
            self.block = b;
            let src = &self.tiles.block(b)[PAD..PAD + w];
            let mut rows = self.buf.chunks_exact_mut(stride);
            let mut dst: [&mut [f32]; LANES] =
                std::array::from_fn(|_| &mut rows.next().expect("LANES rows")[..w]);
            for (x, v) in src.iter().enumerate() {
                for (d, &v) in dst.iter_mut().zip(v) {
                    d[x] = v;
                }
            }
        }
        self.buf[y % LANES * stride..][..stride]
            .as_chunks::<LANES>()
            .0
    }
}

/// Buffers reused across scales, backgrounds and calls. Only `xyb` is the size of the image;
/// the linear planes start at half its size, the rest are rows.
#[derive(Default)]
struct Scratch {
    /// Size of the current scale.
    size: (usize, usize),
    /// Linear RGB of the next scale (scale 0 is converted row by row, never stored).
    lin: [Plane; 3],
    /// Where the scale after the next one is downsampled to.
    half: [Plane; 3],
    /// XYB of the current scale.
    xyb: [Tiles; 3],
    /// Two rows of linear RGB (scale 0), one of XYB.
    lin_rows: [[Vec<f32>; 3]; 2],
    xyb_row: [Vec<f32>; 3],
    /// Row-major views of the original's and the distorted image's XYB (error maps).
    tile_rows: [Vec<f32>; 2],
    /// A row of the original's variance (lean references).
    var_row: Vec<Lanes>,
    blur: BlurBufs,
}

// ---------------------------------------------------------------------------------------------
// sRGB -> linear light: yuvxyb 0.4 `srgb_eotf` with yuvxyb-math's polynomial `powf` (its default
// "fastmath" feature, which the crate uses), reproduced operation for operation.

/// yuvxyb-math's `multiply_add`: fused only when the target has FMA.
#[inline(always)]
fn mad(a: f32, b: f32, c: f32) -> f32 {
    if cfg!(target_feature = "fma") {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `c[0] + x * (c[1] + x * (... + x * c[5]))`, in yuvxyb-math's order.
fn poly5(x: f32, c: [f32; 6]) -> f32 {
    c[..5].iter().rev().fold(c[5], |acc, &k| mad(x, acc, k))
}

#[allow(clippy::excessive_precision)]
fn exp2_approx(x: f32) -> f32 {
    let x = x.clamp(-126.99999, 129.0);
    let ipart = (x - 0.5) as i32;
    let fpart = x - ipart as f32;
    let expi = f32::from_bits(((ipart + 127) << 23) as u32);
    let c = [
        9.999_999_4E-1,
        6.931_531E-1,
        2.401_536_1E-1,
        5.582_631_8E-2,
        8.989_34E-3,
        1.877_576_7E-3,
    ];
    expi * poly5(fpart, c)
}

#[allow(clippy::excessive_precision)]
fn log2_approx(x: f32) -> f32 {
    let bits = x.to_bits() as i32;
    let exp = (((bits & 0x7F80_0000) >> 23) - 127) as f32;
    let mant = f32::from_bits(((bits & 0x007F_FFFF) | 1f32.to_bits() as i32) as u32);
    let c = [
        3.115_79,
        -3.324_199,
        2.598_845_2,
        -1.231_530_3,
        3.182_133_7E-1,
        -3.443_600_6E-2,
    ];
    poly5(mant, c) * (mant - 1.0) + exp
}

/// sRGB-encoded 0..1 to linear light, as yuvxyb computes it.
#[allow(clippy::excessive_precision)]
fn srgb_to_linear(x: f32) -> f32 {
    const ALPHA: f32 = 1.055_010_7;
    const BETA: f32 = 0.003_041_282_5;
    let x = x.max(0.0);
    if x < 12.92 * BETA {
        x / 12.92
    } else {
        exp2_approx(log2_approx((x + (ALPHA - 1.0)) / ALPHA) * 2.4)
    }
}

/// Sample `v` with alpha `a` (both in sample units) blended over `bg`, in linear light.
fn blend_to_linear(v: f32, a: f32, scale: f32, bg: f32) -> f32 {
    let (v, a) = (v * scale, a * scale);
    srgb_to_linear(a * v + (1.0 - a) * bg)
}

#[derive(Clone, Copy)]
enum Linear<'a> {
    /// Colour samples as they are (alpha ignored).
    Lut(&'a [f32]),
    /// 8-bit with alpha: `(alpha << 8) | value`.
    BlendLut(&'a [f32]),
    /// 16-bit with alpha: background and 1 / peak.
    Blend(f32, f32),
}

/// Row `y` of the image in linear-light RGB (gray replicated), zero padded to the end of the
/// rows.
#[inline(always)]
fn linearize_row(img: &Image, how: Linear<'_>, y: usize, out: &mut [Vec<f32>; 3]) {
    match &img.samples {
        Samples::U8(v) => linearize_samples(v, img, how, y, out),
        Samples::U16(v) => linearize_samples(v, img, how, y, out),
    }
}

#[inline(always)]
fn linearize_samples<T: Copy + Into<usize>>(
    samples: &[T],
    img: &Image,
    how: Linear<'_>,
    y: usize,
    out: &mut [Vec<f32>; 3],
) {
    let c = img.channels as usize;
    let w = img.width as usize;
    let [r, g, b] = if c >= 3 { [0, 1, 2] } else { [0, 0, 0] };
    let [pr, pg, pb] = out;
    {
        let src = &samples[y * w * c..][..w * c];
        let rows = [&mut pr[..], &mut pg[..], &mut pb[..]];
        match how {
            Linear::Lut(lut) => fill_row(src, c, rows, |px| {
                [lut[px[r].into()], lut[px[g].into()], lut[px[b].into()]]
            }),
            Linear::BlendLut(lut) => fill_row(src, c, rows, |px| {
                let a = px[c - 1].into() << 8;
                [
                    lut[a | px[r].into()],
                    lut[a | px[g].into()],
                    lut[a | px[b].into()],
                ]
            }),
            Linear::Blend(bg, scale) => fill_row(src, c, rows, |px| {
                let a = px[c - 1].into() as f32;
                let v = |k: usize| blend_to_linear(px[k].into() as f32, a, scale, bg);
                [v(r), v(g), v(b)]
            }),
        }
    }
}

/// One row of pixels (`c` samples each) through `f` into three plane rows, zero padded.
#[inline(always)]
fn fill_row<T>(src: &[T], c: usize, rows: [&mut [f32]; 3], f: impl Fn(&[T]) -> [f32; 3]) {
    let w = src.len() / c;
    let [r, g, b] = rows;
    for (((px, r), g), b) in src
        .chunks_exact(c)
        .zip(&mut r[..w])
        .zip(&mut g[..w])
        .zip(&mut b[..w])
    {
        [*r, *g, *b] = f(px);
    }
    for row in [r, g, b] {
        row[w..].fill(0.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Downsampling and XYB

/// 2x2 box average (the crate's `downscale_by_2`: last row/column repeated for odd sizes, the
/// four samples summed in the same order).
#[inline(always)]
fn downsample(src: &Plane, dst: &mut Plane) {
    let (w, h) = (src.w, src.h);
    dst.resize(w.div_ceil(2), h.div_ceil(2));
    for oy in 0..h.div_ceil(2) {
        let r0 = &src.row(2 * oy)[..w];
        let r1 = &src.row((2 * oy + 1).min(h - 1))[..w];
        downsample_row(r0, r1, dst.row_mut(oy));
    }
}

/// One output row of [`downsample`] from input rows `r0` and `r1` (`r1` is `r0` for the last
/// row of an odd height), zero padded to the end of `out`.
#[inline(always)]
fn downsample_row(r0: &[f32], r1: &[f32], out: &mut [f32]) {
    let w = r0.len();
    let pairs = w / 2;
    for ((o, a), b) in out[..pairs]
        .iter_mut()
        .zip(r0.chunks_exact(2))
        .zip(r1.chunks_exact(2))
    {
        *o = (((a[0] + a[1]) + b[0]) + b[1]) * 0.25;
    }
    if w % 2 == 1 {
        let x = w - 1;
        out[pairs] = (((r0[x] + r0[x]) + r1[x]) + r1[x]) * 0.25;
    }
    out[w.div_ceil(2)..].fill(0.0);
}

/// Cube root exactly as yuvxyb-math's `cbrtf` (FreeBSD's: exponent trick, then two Halley
/// steps in f64, rounded to f32).
#[inline(always)]
const fn cbrt(x: f32) -> f32 {
    const B1: u32 = 709_958_130;
    let bits = x.to_bits();
    let ui = (bits & 0x8000_0000) | ((bits & 0x7FFF_FFFF) / 3 + B1);
    let x = x as f64;
    let mut t = f32::from_bits(ui) as f64;
    let r = t * t * t;
    t = t * (x + x + r) / (x + r + r);
    let r = t * t * t;
    t = t * (x + x + r) / (x + r + r);
    t as f32
}

/// [`cbrt`] of [`LANES`] values with the first Halley step in f32 (one f64 division instead
/// of two). Identical results on [0.0037, 1.02], which holds every value it gets here (the
/// opsin mix of linear RGB in 0..1 plus the bias 0.0038): checked on every f32 of that range.
#[inline(always)]
fn cbrt_lanes(x: &Lanes) -> Lanes {
    const B1: u32 = 709_958_130;
    let mut t = [0.0f32; LANES];
    for l in 0..LANES {
        t[l] = f32::from_bits(x[l].to_bits() / 3 + B1);
    }
    for l in 0..LANES {
        let r = t[l] * t[l] * t[l];
        // Ratio first: t * r would underflow for x = 0.
        t[l] *= (x[l] + x[l] + r) / (x[l] + r + r);
    }
    let mut out = [0.0f32; LANES];
    for l in 0..LANES {
        let (x, t) = (f64::from(x[l]), f64::from(t[l]));
        let r = t * t * t;
        out[l] = (t * (x + x + r) / (x + r + r)) as f32;
    }
    out
}

// Opsin absorbance matrix and bias, as yuvxyb 0.4 (libjxl's values).
const K_M02: f32 = 0.078;
const K_M00: f32 = 0.30;
const K_M01: f32 = 1.0 - K_M02 - K_M00;
const K_M12: f32 = 0.078;
const K_M10: f32 = 0.23;
const K_M11: f32 = 1.0 - K_M12 - K_M10;
const K_M20: f32 = 0.243_422_69;
const K_M21: f32 = 0.204_767_45;
const K_M22: f32 = 1.0 - K_M20 - K_M21;
const K_B: f32 = 0.003_793_073_4;
const NEG_CBRT_B: f32 = -cbrt(K_B);

/// One row of the opsin absorbance matrix, the bias, the cube root (yuvxyb's order).
#[inline(always)]
fn opsin(m: [f32; 3], r: &Lanes, g: &Lanes, b: &Lanes) -> Lanes {
    let mut v = [0.0f32; LANES];
    for l in 0..LANES {
        let x = m[0].mul_add(r[l], m[1].mul_add(g[l], m[2].mul_add(b[l], K_B)));
        v[l] = if x < 0.0 { 0.0 } else { x };
    }
    let mut c = cbrt_lanes(&v);
    for c in &mut c {
        *c += NEG_CBRT_B;
    }
    c
}

/// Linear RGB planes to XYB [`Tiles`] (see [`xyb_row`]), through the row buffers `row`.
#[inline(always)]
fn to_xyb(lin: &[Plane; 3], xyb: &mut [Tiles; 3], row: &mut [Vec<f32>; 3]) {
    let (w, h) = (lin[0].w, lin[0].h);
    for t in xyb.iter_mut() {
        t.resize(w, h);
    }
    for r in row.iter_mut() {
        r.resize(lin[0].stride, 0.0);
    }
    for y in 0..h {
        xyb_row([0, 1, 2].map(|c| lin[c].row(y)), row);
        for (t, r) in xyb.iter_mut().zip(row.iter()) {
            t.set_row(y, r);
        }
    }
}

/// Scale 0 of `img` into `s.xyb`, and its 2x2 downsample into `s.lin`, converting the image to
/// linear light two rows at a time (no full-size linear plane).
#[inline(always)]
fn first_scale(img: &Image, how: Linear<'_>, s: &mut Scratch) {
    let (w, h) = (img.width as usize, img.height as usize);
    let stride = w.div_ceil(LANES) * LANES;
    let Scratch {
        size,
        lin,
        xyb,
        lin_rows: [a, b],
        xyb_row,
        ..
    } = s;
    *size = (w, h);
    for t in xyb.iter_mut() {
        t.resize(w, h);
    }
    for p in lin.iter_mut() {
        p.resize(w.div_ceil(2), h.div_ceil(2));
    }
    for r in a.iter_mut().chain(b.iter_mut()).chain(xyb_row.iter_mut()) {
        r.resize(stride, 0.0);
    }
    for oy in 0..h.div_ceil(2) {
        let (y0, y1) = (2 * oy, 2 * oy + 1);
        linearize_row(img, how, y0, a);
        xyb_row_into(a, xyb_row, xyb, y0);
        let second = if y1 < h {
            linearize_row(img, how, y1, b);
            xyb_row_into(b, xyb_row, xyb, y1);
            &*b
        } else {
            &*a
        };
        for (c, p) in lin.iter_mut().enumerate() {
            downsample_row(&a[c][..w], &second[c][..w], p.row_mut(oy));
        }
    }
}

/// Row `y` of XYB from the linear rows `lin`, stored in `xyb` (through `row`).
#[inline(always)]
fn xyb_row_into(lin: &[Vec<f32>; 3], row: &mut [Vec<f32>; 3], xyb: &mut [Tiles; 3], y: usize) {
    xyb_row([&lin[0][..], &lin[1][..], &lin[2][..]], row);
    for (t, r) in xyb.iter_mut().zip(row.iter()) {
        t.set_row(y, r);
    }
}

/// Linear RGB to XYB with SSIMULACRA2's offsets (yuvxyb's `linear_rgb_to_xyb`, then the
/// crate's `make_positive_xyb`), one row (a multiple of [`LANES`] long).
#[inline(always)]
fn xyb_row(lin: [&[f32]; 3], out: &mut [Vec<f32>; 3]) {
    {
        let [r, g, b] = lin.map(|row| row.as_chunks::<LANES>().0);
        let [ox, oy, ob] = out;
        for (((((r, g), b), ox), oy), ob) in r
            .iter()
            .zip(g)
            .zip(b)
            .zip(ox.as_chunks_mut::<LANES>().0)
            .zip(oy.as_chunks_mut::<LANES>().0)
            .zip(ob.as_chunks_mut::<LANES>().0)
        {
            let c0 = opsin([K_M00, K_M01, K_M02], r, g, b);
            let c1 = opsin([K_M10, K_M11, K_M12], r, g, b);
            let c2 = opsin([K_M20, K_M21, K_M22], r, g, b);
            for l in 0..LANES {
                let yy = 0.5 * (c0[l] + c1[l]);
                ox[l] = (0.5 * (c0[l] - c1[l])).mul_add(14.0, 0.42);
                oy[l] = yy + 0.01;
                ob[l] = (c2[l] - yy) + 0.55;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Recursive Gaussian, sigma 1.5 (Charalampidis 2016, as libjxl and the crate's `blur` module):
// three second-order recursions per direction, `out_k[n] = N2_k * (in[n-N-1] + in[n+N-1])
// - D1_k * out_k[n-1] - out_k[n-2]`, zero outside the image, result `out_1 + out_3 + out_5`.
// The constants are the crate's build.rs output (f64 formulas rounded to f32), and each pass
// uses the crate's expression, fused multiply-adds included (see the module documentation).

/// N, the filter radius.
const RADIUS: usize = 5;
const N2: [f32; 3] = [0.055_295_236, -0.058_836_687, 0.012_955_819];
#[allow(clippy::excessive_precision)]
const D1: [f32; 3] = [
    -1.902_113_1,
    -1.175_570_5,
    -0.000_000_000_000_000_122_464_69,
];
/// Vertical steps done together.
const BATCH: usize = LANES;
/// Rows of the horizontal pass kept for the vertical pass: a batch from step n reads rows
/// n - N - 1 to n + BATCH - 1 + N - 1, and the newest block of rows may end LANES - 1 later.
const RING: usize = 4 * LANES;
const _: () = assert!(RING >= 2 * RADIUS + BATCH + LANES && RING.is_multiple_of(LANES));

/// One horizontal step of the three recursions of [`LANES`] rows (the crate's
/// `horizontal_row`); `st` is (prev, prev2) per recursion.
#[inline(always)]
fn iir_h(st: &mut [Lanes; 6], sum: &Lanes) -> Lanes {
    let mut out = [0.0; LANES];
    for l in 0..LANES {
        let s = sum[l];
        let o1 = (-D1[0]).mul_add(st[0][l], (-1.0f32).mul_add(st[1][l], s * N2[0]));
        let o3 = (-D1[1]).mul_add(st[2][l], (-1.0f32).mul_add(st[3][l], s * N2[1]));
        let o5 = (-D1[2]).mul_add(st[4][l], (-1.0f32).mul_add(st[5][l], s * N2[2]));
        [st[1][l], st[3][l], st[5][l]] = [st[0][l], st[2][l], st[4][l]];
        [st[0][l], st[2][l], st[4][l]] = [o1, o3, o5];
        out[l] = o1 + o3 + o5;
    }
    out
}

/// One vertical step of the three recursions of [`LANES`] columns (the crate's
/// `vertical_pass`).
#[inline(always)]
fn iir_v(st: &mut [Lanes; 6], sum: &Lanes) -> Lanes {
    let mut out = [0.0; LANES];
    for l in 0..LANES {
        let s = sum[l];
        let o1 = s.mul_add(N2[0], -st[0][l].mul_add(D1[0], st[1][l]));
        let o3 = s.mul_add(N2[1], -st[2][l].mul_add(D1[1], st[3][l]));
        let o5 = s.mul_add(N2[2], -st[4][l].mul_add(D1[2], st[5][l]));
        [st[1][l], st[3][l], st[5][l]] = [st[0][l], st[2][l], st[4][l]];
        [st[0][l], st[2][l], st[4][l]] = [o1, o3, o5];
        out[l] = o1 + o3 + o5;
    }
    out
}

/// The maps blurred from `K` source blocks at entry `j`: `[a, a*a]` from `[a]`,
/// `[a, a*a, a*b]` or `[a, a*a, a*b, b, b*b]` from `[a, b]` (products as the crate's
/// `image_multiply`).
#[inline(always)]
fn products<const K: usize, const M: usize>(src: &[&[Lanes]; K], j: usize) -> [Lanes; M] {
    let (a, b) = (&src[0][j], &src[K - 1][j]);
    let mut out = [*a; M];
    for l in 0..LANES {
        out[1][l] = a[l] * a[l];
    }
    if M >= 3 {
        for l in 0..LANES {
            out[2][l] = a[l] * b[l];
        }
    }
    if M == 5 {
        out[3] = *b;
        for l in 0..LANES {
            out[4][l] = b[l] * b[l];
        }
    }
    out
}

/// Receives the blurred rows, top to bottom: `M` rows of [`LANES`]-column chunks, zero past
/// the width.
trait RowSink<const M: usize> {
    fn row(&mut self, y: usize, rows: [&[Lanes]; M]);
}

/// Buffers of [`blur`].
#[derive(Default)]
struct BlurBufs {
    /// Horizontally blurred rows, map-major: row y of map m at `(m * RING + y % RING) * pitch`.
    ring: Vec<f32>,
    /// Vertical recursions' state, map-major by chunk of columns.
    state: Vec<[Lanes; 6]>,
    /// Output rows of a batch of steps, map-major per step.
    out: Vec<Lanes>,
    zeros: Vec<Lanes>,
}

/// Blurs the `M` [`products`] of the `K` source planes (all the same size), handing each
/// blurred row to `sink`.
///
/// The crate blurs a whole plane horizontally, then vertically. Here the horizontal pass runs
/// on blocks of [`LANES`] rows at once (one row per lane) into a ring of rows, and the
/// vertical pass on [`LANES`] columns at a time, [`BATCH`] rows per go, as soon as the ring
/// holds the rows it reads. Same operations, same order for every value.
#[inline(always)]
fn blur<const K: usize, const M: usize>(
    src: [&Tiles; K],
    bufs: &mut BlurBufs,
    sink: &mut impl RowSink<M>,
) {
    let (w, h) = (src[0].w, src[0].h);
    let stride = w.div_ceil(LANES) * LANES;
    let chunks = stride / LANES;
    // Row pitch of the ring: an odd number of 64-byte lines, so that the rows written together
    // do not all land in the same cache sets (as they would with a power-of-two width).
    let pitch = stride.div_ceil(32) * 32 + 16;
    let BlurBufs {
        ring,
        state,
        out,
        zeros,
    } = bufs;
    ring.clear();
    ring.resize(M * RING * pitch, 0.0);
    state.clear();
    state.resize(M * chunks, [[0.0; LANES]; 6]);
    out.clear();
    out.resize(BATCH * M * chunks, [0.0; LANES]);
    zeros.clear();
    zeros.resize(chunks, [0.0; LANES]);
    let mut rows_done = 0;
    // Vertical steps n = -(N-1) .. h-1, BATCH at a time: each column chunk's state stays in
    // registers for the batch (step n reads rows n - N - 1 and n + N - 1, writes row n).
    let mut n = -(RADIUS as isize - 1);
    while n < h as isize {
        let steps = BATCH.min((h as isize - n) as usize);
        let last_bottom = n + steps as isize - 1 + RADIUS as isize - 1;
        while last_bottom >= rows_done as isize && rows_done < h {
            h_block::<K, M>(src, rows_done / LANES, ring, pitch);
            rows_done += LANES;
        }
        for (m, state) in state.chunks_exact_mut(chunks).enumerate() {
            let ring = &ring[m * RING * pitch..][..RING * pitch];
            let mut tops: [&[Lanes]; BATCH] = [&zeros[..]; BATCH];
            let mut bottoms: [&[Lanes]; BATCH] = [&zeros[..]; BATCH];
            for (r, (t, b)) in tops.iter_mut().zip(&mut bottoms).enumerate().take(steps) {
                let y = n + r as isize;
                *t = ring_row(ring, y - RADIUS as isize - 1, h, pitch, stride).unwrap_or(zeros);
                *b = ring_row(ring, y + RADIUS as isize - 1, h, pitch, stride).unwrap_or(zeros);
            }
            for (i, st) in state.iter_mut().enumerate() {
                let mut s = *st;
                for r in 0..steps {
                    let mut sum = [0.0; LANES];
                    for l in 0..LANES {
                        sum[l] = tops[r][i][l] + bottoms[r][i][l];
                    }
                    out[(r * M + m) * chunks + i] = iir_v(&mut s, &sum);
                }
                *st = s;
            }
        }
        for r in 0..steps {
            let y = n + r as isize;
            if y >= 0 {
                let mut rows: [&[Lanes]; M] = [&[]; M];
                for (m, row) in rows.iter_mut().enumerate() {
                    *row = &out[(r * M + m) * chunks..][..chunks];
                }
                sink.row(y as usize, rows);
            }
        }
        n += steps as isize;
    }
}

/// Row `y` of one map's ring, None outside the image.
#[inline(always)]
fn ring_row(ring: &[f32], y: isize, h: usize, pitch: usize, stride: usize) -> Option<&[Lanes]> {
    (0..h as isize).contains(&y).then(|| {
        let start = y as usize % RING * pitch;
        ring[start..start + stride].as_chunks::<LANES>().0
    })
}

/// Horizontal pass over block `b` of the [`products`] of `src`, into the block's rows of
/// `ring` (all [`LANES`] of them: rows past the height land in slots no live row uses).
#[inline(always)]
fn h_block<const K: usize, const M: usize>(
    src: [&Tiles; K],
    b: usize,
    ring: &mut [f32],
    pitch: usize,
) {
    let w = src[0].w;
    let mut blocks: [&[Lanes]; K] = [&[]; K];
    for (blk, s) in blocks.iter_mut().zip(src) {
        *blk = s.block(b);
    }
    let mut st = [[[0.0f32; LANES]; 6]; M];
    for j in 0..RADIUS - 1 {
        h_step(&blocks, j, &mut st);
    }
    // LANES divides RING: the block's rows are consecutive in the ring.
    let first = b * LANES % RING;
    let mut maps = ring.chunks_exact_mut(RING * pitch);
    let mut dst: [[&mut [f32]; LANES]; M] = std::array::from_fn(|_| {
        let map = &mut maps.next().expect("M maps")[first * pitch..(first + LANES) * pitch];
        let mut rows = map.chunks_exact_mut(pitch);
        std::array::from_fn(|_| &mut rows.next().expect("LANES rows")[..w])
    });
    for x in 0..w {
        let out = h_step(&blocks, x + RADIUS - 1, &mut st);
        for (dst, out) in dst.iter_mut().zip(&out) {
            for (d, &v) in dst.iter_mut().zip(out) {
                d[x] = v;
            }
        }
    }
}

/// Step n = j - (N - 1) of the horizontal pass: sums the products at x = n - N - 1 and
/// x = n + N - 1, i.e. block entries j and j + 2N.
#[inline(always)]
fn h_step<const K: usize, const M: usize>(
    src: &[&[Lanes]; K],
    j: usize,
    st: &mut [[Lanes; 6]; M],
) -> [Lanes; M] {
    let left: [Lanes; M] = products(src, j);
    let right: [Lanes; M] = products(src, j + 2 * RADIUS);
    let mut out = [[0.0; LANES]; M];
    for m in 0..M {
        let mut sum = [0.0; LANES];
        for l in 0..LANES {
            sum[l] = left[m][l] + right[m][l];
        }
        out[m] = iir_h(&mut st[m], &sum);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Pyramid of the original and the per-scale scores

/// One scale of the original: XYB planes, blurred means and variances (sigma11 - mu1^2), the
/// last two empty in a lean reference.
struct Level {
    xyb: [Tiles; 3],
    mu: [Plane; 3],
    var: [Plane; 3],
}

struct Pyramid {
    levels: Vec<Level>,
}

/// True when the CPU has the FMA and AVX2 units the fast paths are compiled for.
#[cfg(target_arch = "x86_64")]
fn fast_cpu() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

impl Pyramid {
    /// The pyramid of `img` (at least 8x8) made linear by `how`; with the blurred moments
    /// when `moments`.
    fn new(img: &Image, how: Linear<'_>, moments: bool, scratch: &mut Scratch) -> Pyramid {
        #[cfg(target_arch = "x86_64")]
        if fast_cpu() {
            // SAFETY: the CPU supports the features `new_fast` is compiled for.
            return unsafe { Self::new_fast(img, how, moments, scratch) };
        }
        Self::new_generic(img, how, moments, scratch)
    }

    /// [`Self::new_generic`] compiled for AVX2 and FMA: `mul_add` becomes one instruction
    /// instead of a call to the C library's `fmaf`, and the loops use 8-wide vectors.
    /// Results are identical (FMA is exactly rounded either way).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn new_fast(img: &Image, how: Linear<'_>, moments: bool, scratch: &mut Scratch) -> Pyramid {
        Self::new_generic(img, how, moments, scratch)
    }

    #[inline(always)]
    fn new_generic(img: &Image, how: Linear<'_>, moments: bool, scratch: &mut Scratch) -> Pyramid {
        let mut levels = Vec::new();
        for scale in 0..NUM_SCALES {
            if !next_scale(img, how, scratch, scale) {
                break;
            }
            let xyb = std::mem::take(&mut scratch.xyb);
            let (mut mu, mut var) = <([Plane; 3], [Plane; 3])>::default();
            if moments {
                let (w, h) = scratch.size;
                mu = [Plane::new(w, h), Plane::new(w, h), Plane::new(w, h)];
                var = [Plane::new(w, h), Plane::new(w, h), Plane::new(w, h)];
                for ((tiles, mu), var) in xyb.iter().zip(&mut mu).zip(&mut var) {
                    blur([tiles], &mut scratch.blur, &mut MeanVar { mu, var });
                }
            }
            levels.push(Level { xyb, mu, var });
        }
        Pyramid { levels }
    }

    /// Score of `img` made linear by `how`.
    fn score(&self, img: &Image, how: Linear<'_>, scratch: &mut Scratch) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if fast_cpu() {
            // SAFETY: the CPU supports the features `score_fast` is compiled for.
            return unsafe { self.score_fast(img, how, scratch) };
        }
        self.score_generic(img, how, scratch)
    }

    /// [`Self::score_generic`] compiled for AVX2 and FMA (see [`Self::new_fast`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn score_fast(&self, img: &Image, how: Linear<'_>, scratch: &mut Scratch) -> f64 {
        self.score_generic(img, how, scratch)
    }

    #[inline(always)]
    fn score_generic(&self, img: &Image, how: Linear<'_>, scratch: &mut Scratch) -> f64 {
        let mut scales = Vec::with_capacity(self.levels.len());
        for (scale, level) in self.levels.iter().enumerate() {
            let more = next_scale(img, how, scratch, scale);
            debug_assert!(more, "the pyramid has the scales of the image");
            scales.push(level.compare(scratch));
        }
        final_score(&scales)
    }
}

/// Puts scale `scale` of `img` (called for 0, 1, 2, ... in turn) in `scratch.xyb`, and the
/// next scale's linear planes in `scratch.lin`. False when there is no such scale: as in the
/// crate, a scale is computed while the previous one is at least 8x8 (so the last one can be 4
/// to 7 pixels wide or high).
#[inline(always)]
fn next_scale(img: &Image, how: Linear<'_>, scratch: &mut Scratch, scale: usize) -> bool {
    let (w, h) = if scale == 0 {
        (img.width as usize, img.height as usize)
    } else {
        scratch.size
    };
    if scale >= NUM_SCALES || w < MIN_SIDE as usize || h < MIN_SIDE as usize {
        return false;
    }
    if scale == 0 {
        first_scale(img, how, scratch);
    } else {
        scratch.size = (scratch.lin[0].w, scratch.lin[0].h);
        to_xyb(&scratch.lin, &mut scratch.xyb, &mut scratch.xyb_row);
        for (s, d) in scratch.lin.iter().zip(scratch.half.iter_mut()) {
            downsample(s, d);
        }
        std::mem::swap(&mut scratch.lin, &mut scratch.half);
    }
    true
}

/// Stores the blurred `[a, a*a]` of the original as mean and variance `a*a - mean^2`.
struct MeanVar<'a> {
    mu: &'a mut Plane,
    var: &'a mut Plane,
}

impl RowSink<2> for MeanVar<'_> {
    #[inline(always)]
    fn row(&mut self, y: usize, [mu, sq]: [&[Lanes]; 2]) {
        let (mu_row, var_row) = (self.mu.row_mut(y), self.var.row_mut(y));
        for (((m_out, v_out), m), s) in mu_row
            .as_chunks_mut::<LANES>()
            .0
            .iter_mut()
            .zip(var_row.as_chunks_mut::<LANES>().0)
            .zip(mu)
            .zip(sq)
        {
            *m_out = *m;
            for l in 0..LANES {
                v_out[l] = s[l] - m[l] * m[l];
            }
        }
    }
}

/// Per plane: SSIM error 1-norm and 4-norm, artifact 1-, 4-norm, detail lost 1-, 4-norm.
type ScaleScores = [[f64; 6]; 3];

impl Level {
    /// This scale's scores against the distorted image's XYB in `s.xyb`.
    #[inline(always)]
    fn compare(&self, s: &mut Scratch) -> ScaleScores {
        let Scratch {
            size: (w, h),
            xyb,
            tile_rows: [rows1, rows2],
            var_row,
            blur: bufs,
            ..
        } = s;
        let per_pixel = 1.0 / (*w * *h) as f64;
        let lean = self.mu[0].data.is_empty();
        let mut out = [[0.0; 6]; 3];
        for (c, out) in out.iter_mut().enumerate() {
            let mut errors = Errors {
                img1: TileRows::new(&self.xyb[c], rows1),
                img2: TileRows::new(&xyb[c], rows2),
                mu1: &self.mu[c],
                var1: &self.var[c],
                var_row,
                sums: [[0.0; LANES]; 6],
            };
            let src = [&xyb[c], &self.xyb[c]];
            if lean {
                blur::<2, 5>(src, bufs, &mut errors);
            } else {
                blur::<2, 3>(src, bufs, &mut errors);
            }
            for k in 0..3 {
                let (s1, s4) = (&errors.sums[2 * k], &errors.sums[2 * k + 1]);
                out[2 * k] = per_pixel * s1.iter().sum::<f64>();
                out[2 * k + 1] = (per_pixel * s4.iter().sum::<f64>()).sqrt().sqrt();
            }
        }
        out
    }
}

/// Sums the error maps of one plane row by row: SSIM error, artifact, detail lost and their
/// 4th powers, one f64 accumulator per lane. The original's blurred moments come from `mu1`
/// and `var1` (3 blurred maps: the distorted image's mean and square, the product), or, in a
/// lean reference, from the blur (5 maps: those, then the original's mean and square).
struct Errors<'a> {
    img1: TileRows<'a>,
    img2: TileRows<'a>,
    mu1: &'a Plane,
    var1: &'a Plane,
    var_row: &'a mut Vec<Lanes>,
    sums: [[f64; LANES]; 6],
}

impl RowSink<3> for Errors<'_> {
    #[inline(always)]
    fn row(&mut self, y: usize, [mu2, s22, s12]: [&[Lanes]; 3]) {
        let n = mu2.len();
        let mu1 = &self.mu1.row(y).as_chunks::<LANES>().0[..n];
        let var1 = &self.var1.row(y).as_chunks::<LANES>().0[..n];
        let (img1, img2) = (&self.img1.row(y)[..n], &self.img2.row(y)[..n]);
        error_row(&mut self.sums, [img1, mu1, var1, img2, mu2, s22, s12]);
    }
}

impl RowSink<5> for Errors<'_> {
    #[inline(always)]
    fn row(&mut self, y: usize, [mu2, s22, s12, mu1, s11]: [&[Lanes]; 5]) {
        let n = mu2.len();
        // As [`MeanVar`] computes it.
        self.var_row.clear();
        self.var_row.extend(mu1.iter().zip(s11).map(|(m, s)| {
            let mut v = [0.0; LANES];
            for l in 0..LANES {
                v[l] = s[l] - m[l] * m[l];
            }
            v
        }));
        let (img1, img2) = (&self.img1.row(y)[..n], &self.img2.row(y)[..n]);
        error_row(
            &mut self.sums,
            [img1, mu1, &self.var_row[..], img2, mu2, s22, s12],
        );
    }
}

/// The crate's `ssim_map` and `edge_diff_map` on one row, added to `acc`. Padding columns (all
/// inputs zero) add exactly 0.
#[inline(always)]
fn error_row(acc: &mut [[f64; LANES]; 6], rows: [&[Lanes]; 7]) {
    const C2: f32 = 0.0009;
    let [img1, mu1, var1, img2, mu2, s22, s12] = rows;
    let n = mu2.len();
    let (img1, mu1, var1, img2, s22, s12) = (
        &img1[..n],
        &mu1[..n],
        &var1[..n],
        &img2[..n],
        &s22[..n],
        &s12[..n],
    );
    {
        for i in 0..n {
            for l in 0..LANES {
                let (m1, m2) = (mu1[i][l], mu2[i][l]);
                let diff = m1 - m2;
                // SSIM without the luminance denominator (see the crate's `ssim_map`).
                let num_m = diff.mul_add(-diff, 1.0);
                let num_s = 2.0f32.mul_add(s12[i][l] - m1 * m2, C2);
                let denom_s = (var1[i][l] + (s22[i][l] - m2 * m2)) + C2;
                // Exact in f32 for ratios in [0.5, 2] (the crate subtracts in f64).
                let d = (1.0 - num_m * num_s / denom_s).max(0.0);
                // Edge difference (1 + e2) / (1 + e1) - 1, as (e2 - e1) / (1 + e1): no
                // cancellation, so f32 is as good as the crate's f64 (within 2e-7 relative).
                // > 0 where the distorted image has edges the original lacks.
                let (e1, e2) = ((img1[i][l] - m1).abs(), (img2[i][l] - m2).abs());
                let e = (e2 - e1) / (1.0 + e1);
                let (art, lost) = (e.max(0.0), (-e).max(0.0));
                acc[0][l] += f64::from(d);
                acc[1][l] += f64::from((d * d) * (d * d));
                acc[2][l] += f64::from(art);
                acc[3][l] += f64::from((art * art) * (art * art));
                acc[4][l] += f64::from(lost);
                acc[5][l] += f64::from((lost * lost) * (lost * lost));
            }
        }
    }
}

/// The crate's `Msssim::score`: 108 weights over (plane, scale, norm, map), then the mapping
/// to the 0..100 scale. Scales not computed (small images) are simply absent, as in the crate.
fn final_score(scales: &[ScaleScores]) -> f64 {
    let mut ssim = 0.0f64;
    let mut i = 0;
    for c in 0..3 {
        for scale in scales {
            let s = &scale[c];
            for n in 0..2 {
                for v in [s[n], s[2 + n], s[4 + n]] {
                    ssim = WEIGHT[i].mul_add(v.abs(), ssim);
                    i += 1;
                }
            }
        }
    }
    ssim *= 0.956_238_261_683_484_4_f64;
    ssim = (6.248_496_625_763_138e-5 * ssim * ssim).mul_add(
        ssim,
        2.326_765_642_916_932f64.mul_add(ssim, -0.020_884_521_182_843_837 * ssim * ssim),
    );
    if ssim > 0.0 {
        ssim.powf(0.627_633_646_783_138_7).mul_add(-10.0, 100.0)
    } else {
        100.0
    }
}

/// SSIMULACRA 2.1 weights, in the order of [`final_score`]'s loops (the crate's table).
pub const WEIGHT: [f64; 108] = [
    0.0,
    0.000_737_660_670_740_658_6,
    0.0,
    0.0,
    0.000_779_348_168_286_730_9,
    0.0,
    0.0,
    0.000_437_115_573_010_737_9,
    0.0,
    1.104_172_642_665_734_6,
    0.000_662_848_341_292_71,
    0.000_152_316_327_837_187_52,
    0.0,
    0.001_640_643_745_659_975_4,
    0.0,
    1.842_245_552_053_929_8,
    11.441_172_603_757_666,
    0.0,
    0.000_798_910_943_601_516_3,
    0.000_176_816_438_078_653,
    0.0,
    1.878_759_497_954_638_7,
    10.949_069_906_051_42,
    0.0,
    0.000_728_934_699_150_807_2,
    0.967_793_708_062_683_3,
    0.0,
    0.000_140_034_242_854_358_84,
    0.998_176_697_785_496_7,
    0.000_319_497_559_344_350_53,
    0.000_455_099_211_379_206_3,
    0.0,
    0.0,
    0.001_364_876_616_324_339_8,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    7.466_890_328_078_848,
    0.0,
    17.445_833_984_131_262,
    0.000_623_560_163_404_146_6,
    0.0,
    0.0,
    6.683_678_146_179_332,
    0.000_377_244_079_796_112_96,
    1.027_889_937_768_264,
    225.205_153_008_492_74,
    0.0,
    0.0,
    19.213_238_186_143_016,
    0.001_140_152_458_661_836_1,
    0.001_237_755_635_509_985,
    176.393_175_984_506_94,
    0.0,
    0.0,
    24.433_009_998_704_76,
    0.285_208_026_121_177_57,
    0.000_448_543_692_383_340_8,
    0.0,
    0.0,
    0.0,
    34.779_063_444_837_72,
    44.835_625_328_877_896,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.000_868_055_657_329_169_8,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.000_531_319_187_435_874_7,
    0.0,
    0.000_165_338_141_613_791_12,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.000_417_917_180_325_133_6,
    0.001_729_082_823_472_283_3,
    0.0,
    0.002_082_700_584_663_643_7,
    0.0,
    0.0,
    8.826_982_764_996_862,
    23.192_433_439_989_26,
    0.0,
    95.108_049_881_108_6,
    0.986_397_803_440_068_2,
    0.983_438_279_246_535_3,
    0.001_228_640_504_827_849_3,
    171.266_725_589_730_7,
    0.980_785_887_243_537_9,
    0.0,
    0.0,
    0.0,
    0.000_513_006_458_899_067_9,
    0.0,
    0.000_108_540_578_584_115_37,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random plane in 0..1.
    fn noise(w: usize, h: usize, seed: u32) -> Plane {
        let mut p = Plane::new(w, h);
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        for y in 0..h {
            for v in &mut p.row_mut(y)[..w] {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *v = (state >> 8) as f32 / (1u32 << 24) as f32;
            }
        }
        p
    }

    /// Collects the blurred rows of `[a, a*a]`.
    struct Collect(Vec<[Vec<f32>; 2]>);

    impl RowSink<2> for Collect {
        fn row(&mut self, y: usize, rows: [&[Lanes]; 2]) {
            assert_eq!(y, self.0.len());
            self.0.push(rows.map(|r| r.as_flattened().to_vec()));
        }
    }

    #[test]
    fn blur_is_the_crates_to_the_bit() {
        for (w, h) in [(37, 23), (4, 9), (64, 5), (9, 40)] {
            let p = noise(w, h, 7);
            let flat: Vec<f32> = (0..h).flat_map(|y| p.row(y)[..w].to_vec()).collect();
            let sq: Vec<f32> = flat.iter().map(|v| v * v).collect();
            let want = ::ssimulacra2::Blur::new(w, h).blur(&[flat.clone(), sq, flat]);
            let mut tiles = Tiles::default();
            tiles.resize(w, h);
            for y in 0..h {
                tiles.set_row(y, p.row(y));
            }
            let mut got = Collect(Vec::new());
            blur([&tiles], &mut BlurBufs::default(), &mut got);
            assert_eq!(got.0.len(), h);
            for (y, rows) in got.0.iter().enumerate() {
                for m in 0..2 {
                    assert_eq!(
                        rows[m][..w],
                        want[m][y * w..][..w],
                        "{w}x{h} map {m} row {y}"
                    );
                    assert!(rows[m][w..].iter().all(|&v| v == 0.0));
                }
            }
        }
    }

    #[test]
    fn xyb_is_the_crates_to_the_bit() {
        let (w, h) = (19, 3);
        let lin = [noise(w, h, 1), noise(w, h, 2), noise(w, h, 3)];
        let data: Vec<[f32; 3]> = (0..h)
            .flat_map(|y| (0..w).map(move |x| [0, 1, 2].map(|c| (y, x, c))))
            .map(|px| px.map(|(y, x, c)| lin[c].row(y)[x]))
            .collect();
        let want = ::ssimulacra2::Xyb::from(::ssimulacra2::LinearRgb::new(data, w, h).unwrap());
        let mut xyb: [Tiles; 3] = Default::default();
        to_xyb(&lin, &mut xyb, &mut Default::default());
        for (i, px) in want.data().iter().enumerate() {
            let (y, x) = (i / w, i % w);
            // The crate's `make_positive_xyb`.
            let want = [
                px[0].mul_add(14.0, 0.42),
                px[1] + 0.01,
                (px[2] - px[1]) + 0.55,
            ];
            let tiles = [0, 1, 2].map(|c| xyb[c].block(y / LANES)[PAD + x][y % LANES]);
            assert_eq!(tiles, want, "pixel {i}");
        }
    }

    #[test]
    fn linear_light_is_the_crates_to_the_bit() {
        use ::ssimulacra2::{ColorPrimaries, LinearRgb, Rgb, TransferCharacteristic};
        let crate_linear = |v: &[f32]| -> Vec<f32> {
            let data = v.iter().map(|&x| [x, x, x]).collect();
            let (srgb, bt709) = (TransferCharacteristic::SRGB, ColorPrimaries::BT709);
            let rgb = Rgb::new(data, v.len(), 1, srgb, bt709).unwrap();
            let lin = LinearRgb::try_from(rgb).unwrap();
            lin.data().iter().map(|p| p[0]).collect()
        };
        // Every 8-bit value, every 7th 16-bit one.
        for (peak, step) in [(255u32, 1), (65535, 7)] {
            let scale = 1.0 / peak as f32;
            let encoded: Vec<f32> = (0..=peak).step_by(step).map(|v| v as f32 * scale).collect();
            for (&x, want) in encoded.iter().zip(crate_linear(&encoded)) {
                assert_eq!(srgb_to_linear(x), want, "{x}");
            }
        }
        // 8-bit blends over both backgrounds, every 5th alpha.
        let scale = 1.0 / 255.0;
        for bg in BACKGROUNDS {
            for a in (0..256).step_by(5) {
                let (a_f, values) = (a as f32 * scale, 0..256);
                let blended: Vec<f32> = values
                    .clone()
                    .map(|v| a_f * (v as f32 * scale) + (1.0 - a_f) * bg)
                    .collect();
                for (v, want) in values.zip(crate_linear(&blended)) {
                    assert_eq!(blend_to_linear(v as f32, a as f32, scale, bg), want);
                }
            }
        }
    }

    #[test]
    fn cube_root_is_the_crates_to_the_bit() {
        // Exhaustively equal on every f32 of 0.0037..1.02 (checked once, 68M values); here
        // every 61st, plus zero.
        let mut x = 0.0037f32;
        let mut lanes = [0.0; LANES];
        let mut i = 0;
        while x < 1.02 {
            lanes[i % LANES] = x;
            i += 1;
            if i % LANES == 0 {
                let got = cbrt_lanes(&lanes);
                for (g, &x) in got.iter().zip(&lanes) {
                    assert_eq!(*g, cbrt(x), "{x}");
                }
            }
            x = f32::from_bits(x.to_bits() + 61);
        }
        assert_eq!(cbrt_lanes(&[0.0; LANES])[0], cbrt(0.0));
    }

    /// The score as the crate computes it, fed as this module feeds it (the previous
    /// implementation of this file): the oracle.
    fn crate_score(original: &Image, distorted: &Image) -> f64 {
        use ::ssimulacra2::{
            compute_frame_ssimulacra2, ColorPrimaries, Rgb, TransferCharacteristic,
        };
        let linear = |img: &Image, bg: f32| {
            let c = img.channels as usize;
            let scale = 1.0 / img.layout().peak() as f32;
            let data = (0..img.pixel_count())
                .map(|p| {
                    let v = |k: usize| img.sample(p * c + k) as f32 * scale;
                    let rgb = if c >= 3 {
                        [v(0), v(1), v(2)]
                    } else {
                        [v(0); 3]
                    };
                    let a = if img.layout().has_alpha() {
                        v(c - 1)
                    } else {
                        1.0
                    };
                    rgb.map(|v| a * v + (1.0 - a) * bg)
                })
                .collect();
            let (w, h) = (img.width as usize, img.height as usize);
            Rgb::new(
                data,
                w,
                h,
                TransferCharacteristic::SRGB,
                ColorPrimaries::BT709,
            )
            .unwrap()
        };
        let backgrounds: &[f32] = if original.layout().has_alpha() {
            &BACKGROUNDS
        } else {
            &[0.0]
        };
        backgrounds
            .iter()
            .map(|&bg| {
                compute_frame_ssimulacra2(linear(original, bg), linear(distorted, bg)).unwrap()
            })
            .fold(f64::INFINITY, f64::min)
    }

    fn load(path: &str) -> Image {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match path.extension().and_then(|e| e.to_str()) {
            Some("jpg") => {
                crate::codec::Registry::builtin()
                    .find("jpeg")
                    .unwrap()
                    .decode(&bytes)
                    .unwrap()
                    .image
            }
            Some("webp") => {
                crate::codec::Registry::builtin()
                    .find("webp")
                    .unwrap()
                    .decode(&bytes)
                    .unwrap()
                    .image
            }
            _ => crate::corpus::decode_bytes(&bytes, u64::MAX).unwrap(),
        }
    }

    /// `w` x `h` pixels from (x0, y0), with `f` applied to every sample (channel, value).
    fn crop(img: &Image, x0: u32, y0: u32, w: u32, h: u32, f: impl Fn(usize, u32) -> u32) -> Image {
        let c = img.channels as usize;
        let samples = (y0..y0 + h)
            .flat_map(|y| (x0..x0 + w).flat_map(move |x| (0..c).map(move |k| (y, x, k))));
        let mut values = samples.map(|(y, x, k)| {
            let i = (y as usize * img.width as usize + x as usize) * c + k;
            f(k, img.sample(i))
        });
        match img.samples {
            Samples::U8(_) => Image::new_u8(
                w,
                h,
                img.channels,
                values.by_ref().map(|v| v as u8).collect(),
            ),
            Samples::U16(_) => Image::new_u16(
                w,
                h,
                img.channels,
                values.by_ref().map(|v| v as u16).collect(),
            ),
        }
        .unwrap()
    }

    fn same(img: &Image) -> Image {
        crop(img, 0, 0, img.width, img.height, |_, v| v)
    }

    /// Real pairs of tests/data/reference (cropped where large, to keep debug builds quick)
    /// and a few layouts made from them. Blur, XYB and linearisation are bit-identical with
    /// the crate (tests above), so only the error maps' arithmetic differs: f32 where the crate
    /// uses f64 after the SSIM ratio, the edge ratio as (e2 - e1) / (1 + e1), 4th powers in f32,
    /// sums in 8 f64 lanes instead of one. That moves the 108 sub-scores by ~1e-9 relative and
    /// the score by less than 1e-6 (measured: at most 2e-7 on these pairs, 1e-7 on every row of
    /// reference.csv); 1e-5 leaves a margin.
    /// (what, original, distorted): crops of real pairs in every layout (8- and 16-bit, gray,
    /// gray + alpha, RGB, RGBA with and without transparency), odd sizes, 2 to 6 scales.
    fn real_pairs() -> Vec<(&'static str, Image, Image)> {
        let astronaut = load("corpus/astronaut.png");
        let camera = load("corpus/camera.png");
        let ria = load("corpus/ria_alpha.png");
        let ria_noise =
            load("tests/data/reference/pairs/ria_alpha__gaussian_noise_sigma10_seed42.png");
        // (what, original, distorted)
        let mut cases = vec![
            (
                "astronaut jpeg q50, 8-bit RGB, 120x88 crop",
                crop(&astronaut, 200, 150, 120, 88, |_, v| v),
                crop(
                    &load("tests/data/reference/encoded/astronaut__jpeg_q50.jpg"),
                    200,
                    150,
                    120,
                    88,
                    |_, v| v,
                ),
            ),
            (
                "camera jpeg q30, gray, 101x77 crop",
                crop(&camera, 190, 210, 101, 77, |_, v| v),
                crop(
                    &load("tests/data/reference/encoded/camera__jpeg_q30.jpg"),
                    190,
                    210,
                    101,
                    77,
                    |_, v| v,
                ),
            ),
            (
                "ria_alpha noise, RGBA with transparency, 96x90 crop",
                crop(&ria, 0, 0, 96, 90, |_, v| v),
                crop(&ria_noise, 0, 0, 96, 90, |_, v| v),
            ),
            (
                "ria_alpha noise, as 16-bit RGBA, 40x33 crop",
                crop(&ria, 30, 20, 40, 33, |k, v| v * 257 + (k as u32 * 77) % 200),
                crop(&ria_noise, 30, 20, 40, 33, |_, v| v * 257),
            ),
            (
                "camera noise with a made-up alpha, LA, 64x40 crop",
                crop(&camera, 300, 300, 64, 40, |_, v| v),
                crop(
                    &load("tests/data/reference/pairs/camera__gaussian_noise_sigma10_seed42.png"),
                    300,
                    300,
                    64,
                    40,
                    |_, v| v,
                ),
            ),
            (
                "ct_small blur, 16-bit gray 128x128",
                load("corpus/ct_small_16bit.png"),
                load("tests/data/reference/pairs/ct_small_16bit__blur_binomial5x5.png"),
            ),
            (
                "mr_small noise, 16-bit gray 64x64 (5 scales)",
                load("corpus/mr_small_16bit.png"),
                load(
                    "tests/data/reference/pairs/mr_small_16bit__gaussian_noise_sigma16_seed42.png",
                ),
            ),
            (
                "chelsea webp q75, 451x300",
                load("corpus/chelsea.png"),
                load("tests/data/reference/encoded/chelsea__webp_q75.webp"),
            ),
            (
                "rustdoc_screenshot jpeg q50, 608x275",
                load("corpus/rustdoc_screenshot.png"),
                load("tests/data/reference/encoded/rustdoc_screenshot__jpeg_q50.jpg"),
            ),
            (
                "tiny 8x8 pair (2 scales)",
                load("tests/data/reference/pairs/tiny_8x8_ref.png"),
                load("tests/data/reference/pairs/tiny_8x8_dist.png"),
            ),
        ];
        // LA: alpha made up from the gray values (transparent in the dark parts).
        for case in cases.iter_mut().filter(|c| c.0.contains("LA")) {
            let la = |img: &Image| {
                let v: Vec<u8> = img
                    .as_u8()
                    .unwrap()
                    .iter()
                    .flat_map(|&g| [g, g.saturating_mul(2)])
                    .collect();
                Image::new_u8(img.width, img.height, 2, v).unwrap()
            };
            (case.1, case.2) = (la(&case.1), la(&case.2));
        }
        // Opaque RGBA original; distorted opaque too, then with some transparency.
        let opaque = crop(&ria, 150, 150, 50, 41, |k, v| if k == 3 { 255 } else { v });
        let dist = crop(
            &ria_noise,
            150,
            150,
            50,
            41,
            |k, v| if k == 3 { 255 } else { v },
        );
        let see_through = crop(
            &ria_noise,
            150,
            150,
            50,
            41,
            |k, v| if k == 3 { 128 } else { v },
        );
        cases.push(("ria_alpha noise, opaque RGBA", same(&opaque), dist));
        cases.push((
            "ria_alpha noise, opaque RGBA vs half transparent",
            opaque,
            see_through,
        ));
        cases
    }

    #[test]
    fn matches_the_crate_on_real_pairs() {
        const TOL: f64 = 1e-5;
        let cases = real_pairs();
        let mut worst = 0.0f64;
        for (what, original, distorted) in &cases {
            let ours = Ssimulacra2Reference::new(original)
                .score(distorted)
                .unwrap();
            let theirs = crate_score(original, distorted);
            let err = (ours - theirs).abs();
            println!("BITS {what}: {:016x}", ours.to_bits());
            println!("{what}: ours {ours:.9} crate {theirs:.9} diff {err:.2e}");
            assert!(err <= TOL, "{what}: ours {ours} crate {theirs}");
            assert!(ours < 100.0, "{what}: a real difference");
            worst = worst.max(err);
        }
        println!("worst |difference| from the crate: {worst:.2e}");
    }

    /// A lean reference (moments recomputed by every score) and a full one give the same
    /// bits on every pair; `new` picks the lean one only above [`LEAN_ABOVE_PIXELS`].
    #[test]
    fn lean_reference_gives_the_full_ones_bits() {
        for (what, original, distorted) in &real_pairs() {
            let full = Ssimulacra2Reference::with_moments(original, true);
            let lean = Ssimulacra2Reference::with_moments(original, false);
            assert!(!full.pyramids[0].levels[0].mu[0].data.is_empty());
            assert!(lean.pyramids[0].levels[0].mu[0].data.is_empty());
            for _ in 0..2 {
                // Twice: the second call reuses the first one's buffers.
                let (f, l) = (
                    full.score(distorted).unwrap(),
                    lean.score(distorted).unwrap(),
                );
                assert_eq!(f.to_bits(), l.to_bits(), "{what}: full {f} lean {l}");
            }
            assert!(
                !Ssimulacra2Reference::new(original).pyramids[0].levels[0].mu[0]
                    .data
                    .is_empty()
            );
        }
        let side = (LEAN_ABOVE_PIXELS as f64).sqrt() as u32 + 1;
        let big = Image::new_u8(side, side, 1, vec![128; (side * side) as usize]).unwrap();
        let reference = Ssimulacra2Reference::new(&big);
        assert!(reference.pyramids[0].levels[0].mu[0].data.is_empty());
        assert_eq!(reference.score(&big), Ok(100.0));
    }

    /// The AVX2/FMA build of the hot code and the portable one agree to the bit (same
    /// operations; FMA is exactly rounded either way).
    #[test]
    fn fast_path_gives_the_portable_paths_bits() {
        #[cfg(target_arch = "x86_64")]
        if fast_cpu() {
            let a = crop(&load("corpus/chelsea.png"), 100, 80, 61, 45, |_, v| v);
            let b = crop(
                &load("tests/data/reference/encoded/chelsea__jpeg_q30.jpg"),
                100,
                80,
                61,
                45,
                |_, v| v,
            );
            let reference = Ssimulacra2Reference::new(&a);
            let how = Linear::Lut(&reference.lut);
            let mut scratch = Scratch::default();
            let portable = Pyramid::new_generic(&a, how, true, &mut scratch);
            // SAFETY: fast_cpu() said the CPU has AVX2 and FMA.
            let fast = unsafe { Pyramid::new_fast(&a, how, true, &mut scratch) };
            assert_eq!(portable.levels.len(), fast.levels.len());
            for (p, f) in portable.levels.iter().zip(&fast.levels) {
                for c in 0..3 {
                    assert_eq!(p.mu[c].data, f.mu[c].data);
                    assert_eq!(p.var[c].data, f.var[c].data);
                    assert_eq!(p.xyb[c].data, f.xyb[c].data);
                }
            }
            let s1 = portable.score_generic(&b, how, &mut scratch);
            // SAFETY: as above.
            let s2 = unsafe { portable.score_fast(&b, how, &mut scratch) };
            assert_eq!(s1.to_bits(), s2.to_bits());
            // The lean pyramid (moments recomputed by the 5-map blur), both builds.
            let lean = Pyramid::new_generic(&a, how, false, &mut scratch);
            let s3 = lean.score_generic(&b, how, &mut scratch);
            // SAFETY: as above.
            let s4 = unsafe { lean.score_fast(&b, how, &mut scratch) };
            assert_eq!(s1.to_bits(), s3.to_bits());
            assert_eq!(s1.to_bits(), s4.to_bits());
        }
    }

    #[test]
    fn identical_images_score_100() {
        let n = 16 * 9 * 3;
        let a = Image::new_u8(16, 9, 3, (0..n).map(|i| (i * 7 % 256) as u8).collect()).unwrap();
        assert_eq!(Ssimulacra2Reference::new(&a).score(&a), Ok(100.0));
    }

    #[test]
    fn too_small_and_mismatched_are_errors() {
        let a = Image::new_u8(7, 8, 1, vec![0; 56]).unwrap();
        assert!(Ssimulacra2Reference::new(&a)
            .score(&a)
            .unwrap_err()
            .to_string()
            .contains("7x8"));
        let b = Image::new_u8(8, 8, 1, vec![0; 64]).unwrap();
        let e = Ssimulacra2Reference::new(&b)
            .score(&Image::new_u8(8, 9, 1, vec![0; 72]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("8x8") && e.contains("8x9"), "{e}");
    }

    #[test]
    fn transparent_pixels_show_only_the_background() {
        // Fully transparent everywhere: colour is invisible, so any colour change scores 100.
        let a = Image::new_u8(8, 8, 2, [10, 0].repeat(64)).unwrap();
        let b = Image::new_u8(8, 8, 2, [200, 0].repeat(64)).unwrap();
        assert_eq!(Ssimulacra2Reference::new(&a).score(&b), Ok(100.0));
    }
}
