//! SSIM and MS-SSIM on the samples as stored (no colour conversion), per channel.
//!
//! SSIM is scikit-image's `structural_similarity(channel_axis=-1, gaussian_weights=True,
//! sigma=1.5, use_sample_covariance=False, data_range=2^depth-1)`: an 11x11 Gaussian window
//! (sigma 1.5, truncate 3.5, weights normalised to sum 1), K1 0.01, K2 0.03, population
//! covariance. scikit-image filters the whole image and then crops a 5-pixel border from the SSIM
//! map; the cropped map only ever reads pixels inside the image, so computing the "valid" region
//! directly gives the same numbers without caring about edge modes. Mean over the map, then
//! mean over channels.
//!
//! The kernels run in f32 (separable Gaussian over strips of columns, 8 lanes at a time; AVX2
//! and FMA chosen at run time), arranged so that f32 still holds 1e-6. Each input row is
//! filtered horizontally once into a ring of 11 rows that stays in cache, and each output row
//! is filtered vertically and turned into SSIM in registers (see [`channel_sums_impl`]); the
//! distorted image is read in place, without a planar copy. The accuracy rests on:
//! - samples are centred on the channel's rounded mean, so the filtered squares are small;
//! - the map is written as `1 - SSIM = a + b - ab` with
//!   `a = (mu_x - mu_y)^2 / (mu_x^2 + mu_y^2 + C1)` and `b = var(x - y) / (var_x + var_y + C2)`
//!   (the same formula as scikit-image's,
//!   rearranged: `2 cov = var_x + var_y - var(x - y)`), where `mu_x - mu_y` and `var(x - y)` are
//!   filtered from the exact differences `x - y`: the small terms that decide SSIM near 1 never
//!   come from a difference of two large, nearly equal numbers, and the f32 error in the large
//!   denominators scales with the (small) loss rather than with the sample values;
//! - each row of the map is summed in f64 (8 lanes), then the rows, then divided.
//!
//! Every step is an IEEE f32 add, multiply or fused multiply-add in a fixed order: the AVX2+FMA
//! path (chosen at run time) and the portable one (`f32::mul_add`, exact in software where the
//! CPU has no FMA) give the same bits. Measured against the old f64 kernel (kept
//! as the test oracle `tests/oracle/ssim_f64.rs`): see `tests/metrics_ssim.rs`.
//!
//! Memory: the reference keeps a copy of the original's samples (and, once MS-SSIM is asked
//! for, its four coarser scales as f32, a third of a plane per channel); a comparison needs
//! only a fixed 50 KiB of rows per channel (the ring of one strip), plus the distorted image's
//! coarser scales for MS-SSIM. Keeping the original's windowed means and second moments in the
//! reference would save one of the four filtered quantities but cost 8 bytes per sample
//! (24 B/px for RGB), three times the memory this metric may add.
//!
//! MS-SSIM follows pytorch_msssim 1.0.0 `ms_ssim` (see [`SsimReference::ms_ssim`]).

use std::sync::OnceLock;

use crate::pixels::{Image, Layout, Samples};

const K1: f64 = 0.01;
const K2: f64 = 0.03;
/// Gaussian window radius: int(3.5 * 1.5 + 0.5) as scikit-image and scipy.ndimage compute it.
const RADIUS: usize = 5;
const WIN: usize = 2 * RADIUS + 1;
/// Wang, Simoncelli, Bovik 2003 weights for scales 1 (finest) to 5.
const MS_WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
/// Filtered quantities per sample: x, x - y, (x - y)^2, x^2 + y^2 (x, y centred).
const Q: usize = 4;

/// Normalised 11-tap Gaussian, sigma 1.5, computed in f64 like scipy's `_gaussian_kernel1d`.
fn window() -> [f64; WIN] {
    let mut w = [0.0; WIN];
    for (k, v) in w.iter_mut().enumerate() {
        let x = k as f64 - RADIUS as f64;
        *v = (-0.5 * x * x / (1.5 * 1.5)).exp();
    }
    let sum: f64 = w.iter().sum();
    w.map(|v| v / sum)
}

/// The window's taps 0..=5 (outermost to centre) in f32; the window is symmetric.
fn half_window() -> [f32; RADIUS + 1] {
    let w = window();
    std::array::from_fn(|k| w[k] as f32)
}

/// Mean SSIM over channels, and SSIM of each channel (index = channel of the image).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SsimScore {
    pub mean: f64,
    pub channels: Vec<f64>,
}

/// Where a channel's rows come from: one channel of an image's interleaved integer samples
/// (`channels` samples a pixel, a plane when 1), or an f32 plane (a coarser MS-SSIM scale).
#[derive(Clone, Copy)]
enum Src<'a> {
    U8(&'a [u8], usize, usize),
    U16(&'a [u16], usize, usize),
    F32(&'a [f32]),
}

impl Src<'_> {
    /// Channel `c` of each of `img`'s channels, read in place.
    fn channels(img: &Image) -> Vec<Src<'_>> {
        let ch = img.channels as usize;
        (0..ch)
            .map(|c| match &img.samples {
                Samples::U8(v) => Src::U8(v, ch, c),
                Samples::U16(v) => Src::U16(v, ch, c),
            })
            .collect()
    }

    /// Columns `x0..x0 + out.len()` of row `r` (of a plane `w` wide) minus `off`, as f32.
    #[inline(always)]
    fn row(&self, r: usize, w: usize, x0: usize, off: f32, out: &mut [f32]) {
        let (at, n) = (r * w + x0, out.len());
        match *self {
            Src::U8(p, ch, c) => strided(p, ch, c, at, off, out),
            Src::U16(p, ch, c) => strided(p, ch, c, at, off, out),
            Src::F32(p) => convert(&p[at..at + n], off, out),
        }
    }

    /// The channel's mean, rounded to an integer: the centre of the f32 sums.
    fn centre(&self, w: usize, h: usize) -> f32 {
        let mut row = vec![0.0f32; w];
        let mut sum = 0.0f64;
        for r in 0..h {
            self.row(r, w, 0, 0.0, &mut row);
            sum += sum64(&row);
        }
        (sum / (w * h).max(1) as f64).round() as f32
    }
}

/// `src - off` as f32.
#[inline(always)]
fn convert<T: Copy + Into<f32>>(src: &[T], off: f32, out: &mut [f32]) {
    for (o, &s) in out.iter_mut().zip(src) {
        *o = s.into() - off;
    }
}

/// Channel `c` of pixels `at..at + out.len()` of interleaved samples (`ch` a pixel), minus
/// `off`, as f32. The common channel counts get their own loops (fixed stride).
#[inline(always)]
fn strided<T: Copy + Into<f32>>(
    p: &[T],
    ch: usize,
    c: usize,
    at: usize,
    off: f32,
    out: &mut [f32],
) {
    #[inline(always)]
    fn fixed<T: Copy + Into<f32>, const N: usize>(p: &[T], c: usize, off: f32, out: &mut [f32]) {
        for (o, px) in out.iter_mut().zip(p.chunks_exact(N)) {
            *o = px[c].into() - off;
        }
    }
    let p = &p[at * ch..(at + out.len()) * ch];
    match ch {
        1 => convert(p, off, out),
        2 => fixed::<T, 2>(p, c, off, out),
        3 => fixed::<T, 3>(p, c, off, out),
        4 => fixed::<T, 4>(p, c, off, out),
        _ => {
            for (o, px) in out.iter_mut().zip(p.chunks_exact(ch)) {
                *o = px[c].into() - off;
            }
        }
    }
}

/// An image's channels as separate planes of its own sample type (1 or 2 bytes a sample), so
/// the kernels read the original's rows with unit stride.
enum Planar {
    U8(Vec<Vec<u8>>),
    U16(Vec<Vec<u16>>),
}

impl Planar {
    fn new(img: &Image) -> Planar {
        fn split<T: Copy + Default>(v: &[T], ch: usize) -> Vec<Vec<T>> {
            let n = v.len() / ch.max(1);
            let mut out = vec![vec![T::default(); n]; ch];
            for (c, plane) in out.iter_mut().enumerate() {
                for (s, px) in plane.iter_mut().zip(v.chunks_exact(ch)) {
                    *s = px[c];
                }
            }
            out
        }
        let ch = img.channels as usize;
        match &img.samples {
            Samples::U8(v) => Planar::U8(split(v, ch)),
            Samples::U16(v) => Planar::U16(split(v, ch)),
        }
    }

    fn srcs(&self) -> Vec<Src<'_>> {
        match self {
            Planar::U8(p) => p.iter().map(|p| Src::U8(p, 1, 0)).collect(),
            Planar::U16(p) => p.iter().map(|p| Src::U16(p, 1, 0)).collect(),
        }
    }
}

/// Sum of `v` in f64, 8 lanes (a fixed order, so every build gives the same bits).
#[inline(always)]
fn sum64(v: &[f32]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x as f64;
        }
    }
    acc.iter().sum::<f64>() + rest.iter().map(|&x| x as f64).sum::<f64>()
}

/// The symmetric 11-tap window over `at(0..11)`, outermost pair first.
#[inline(always)]
fn tap(at: impl Fn(usize) -> f32, wt: &[f32; RADIUS + 1]) -> f32 {
    let mut acc = wt[0] * (at(0) + at(10));
    acc = wt[1].mul_add(at(1) + at(9), acc);
    acc = wt[2].mul_add(at(2) + at(8), acc);
    acc = wt[3].mul_add(at(3) + at(7), acc);
    acc = wt[4].mul_add(at(4) + at(6), acc);
    wt[5].mul_add(at(5), acc)
}

/// Output columns per strip. A strip's horizontally filtered rows (11 rows x 4 quantities,
/// each kept twice, see [`channel_sums_impl`]) take 2 x 11 x 4 x OUT f32: 45 KiB at 128.
const OUT: usize = 128;
/// Input columns per strip.
const SPAN: usize = OUT + 2 * RADIUS;
/// f32 per ring slot: the 4 filtered quantities of one row of a strip.
const SLOT: usize = Q * OUT;

/// Sums over the valid region of one channel pair: (sum of 1 - SSIM, sum of 1 - CS), with
/// `x` and `y` centred on `off`. See the module comment for the arithmetic.
///
/// Works in vertical strips of [`SPAN`] input columns (overlapping by 10), row by row: each
/// input row's four quantities are filtered horizontally once, into a ring of the last 11
/// rows; each output row then filters the ring vertically and turns the four window sums into
/// SSIM at once, in registers. Every ring row is stored in two slots (`s` and `s + 11`), so
/// the 11 rows of any window are consecutive slots at fixed offsets from one pointer.
#[inline(always)]
fn channel_sums_impl(x: Src, y: Src, w: usize, h: usize, off: f32, c: (f32, f32)) -> (f64, f64) {
    let wt = half_window();
    let mut ring = vec![0.0f32; 2 * WIN * SLOT];
    let mut qs = vec![0.0f32; Q * SPAN];
    let mut yr = vec![0.0f32; SPAN];
    let (mut loss, mut bs) = (vec![0.0f32; OUT], vec![0.0f32; OUT]);
    let (mut sum_loss, mut sum_b) = (0.0f64, 0.0f64);
    let mut x0 = 0;
    while x0 + 2 * RADIUS < w {
        // Input columns x0..x0 + n, output columns x0..x0 + on.
        let n = SPAN.min(w - x0);
        let on = n - 2 * RADIUS;
        for r in 0..h {
            {
                let (qx, rest) = qs.split_at_mut(SPAN);
                let (qd, rest) = rest.split_at_mut(SPAN);
                let (qdd, qss) = rest.split_at_mut(SPAN);
                let (qx, qd, qdd, qss) = (&mut qx[..n], &mut qd[..n], &mut qdd[..n], &mut qss[..n]);
                let yr = &mut yr[..n];
                x.row(r, w, x0, off, qx);
                y.row(r, w, x0, off, yr);
                for i in 0..n {
                    let (a, b) = (qx[i], yr[i]);
                    let e = a - b;
                    qd[i] = e;
                    qdd[i] = e * e;
                    qss[i] = a * a + b * b;
                }
            }
            let slot = r % WIN;
            let (lo, hi) = ring.split_at_mut((slot + WIN) * SLOT);
            let (first, second) = (&mut lo[slot * SLOT..][..SLOT], &mut hi[..SLOT]);
            for q in 0..Q {
                let src = &qs[q * SPAN..][..n];
                let one = &mut first[q * OUT..][..on];
                let two = &mut second[q * OUT..][..on];
                for (i, (a, b)) in one.iter_mut().zip(two.iter_mut()).enumerate() {
                    let s = &src[i..i + WIN];
                    *a = tap(|k| s[k], &wt);
                    *b = *a;
                }
            }
            if r + 1 < WIN {
                continue;
            }
            let top = (r + 1 - WIN) % WIN;
            let window: &[f32; WIN * SLOT] = (&ring[top * SLOT..][..WIN * SLOT])
                .try_into()
                .expect("11 slots");
            let (loss, bs) = (&mut loss[..on], &mut bs[..on]);
            finish_row(window, &wt, off, c, loss, bs);
            sum_loss += sum64(loss);
            sum_b += sum64(bs);
        }
        x0 += on;
    }
    (sum_loss, sum_b)
}

/// One output row: the vertical pass over an 11-row window of horizontally filtered
/// quantities, then `1 - SSIM` into `loss` and `1 - CS` into `bs` (at most [`OUT`] columns).
#[inline(always)]
fn finish_row(
    window: &[f32; WIN * SLOT],
    wt: &[f32; RADIUS + 1],
    off: f32,
    (c1, c2): (f32, f32),
    loss: &mut [f32],
    bs: &mut [f32],
) {
    let on = loss.len().min(OUT);
    for i in 0..on {
        let v = |q: usize| tap(|k| window[k * SLOT + q * OUT + i], wt);
        let (ex, ed, edd, es) = (v(0), v(1), v(2), v(3));
        let mux = ex + off;
        let muy = mux - ed;
        let a = ed * ed / (mux * mux + muy * muy + c1);
        let ey = ex - ed;
        let b = (edd - ed * ed) / (es - ex * ex - ey * ey + c2);
        loss[i] = a + b - a * b;
        bs[i] = b;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn channel_sums_avx2(
    x: Src,
    y: Src,
    w: usize,
    h: usize,
    off: f32,
    c: (f32, f32),
) -> (f64, f64) {
    channel_sums_impl(x, y, w, h, off, c)
}

/// [`channel_sums_impl`] with AVX2 and FMA when the CPU has them (same bits either way).
fn channel_sums(x: Src, y: Src, w: usize, h: usize, off: f32, c: (f32, f32)) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { channel_sums_avx2(x, y, w, h, off, c) };
    }
    channel_sums_impl(x, y, w, h, off, c)
}

/// Mean SSIM and mean contrast-structure term of each channel of `y` against `x` (same size
/// `w` x `h`, at least 11x11), centred on `offs`, with constants for `data_range`.
fn compare(
    x: &[Src],
    y: &[Src],
    w: usize,
    h: usize,
    offs: &[f32],
    data_range: f64,
) -> Vec<(f64, f64)> {
    let c1 = (K1 * data_range).powi(2) as f32;
    let c2 = (K2 * data_range).powi(2) as f32;
    let n = ((w - 2 * RADIUS) * (h - 2 * RADIUS)) as f64;
    x.iter()
        .zip(y)
        .zip(offs)
        .map(|((&x, &y), &off)| {
            let (loss, b) = channel_sums(x, y, w, h, off, (c1, c2));
            (1.0 - loss / n, 1.0 - b / n)
        })
        .collect()
}

/// pytorch_msssim's downsampling: `avg_pool2d(kernel_size=2, padding=[h%2, w%2])` with
/// torch's default `count_include_pad=True`, so an odd side gets one zero row/column on both
/// ends and every output is the 2x2 sum divided by 4 (border outputs are darkened). Exact in
/// f32 for 8-bit samples at every scale (at most 8 + 2 x 4 significant bits).
fn downsample(src: Src, w: usize, h: usize) -> (Vec<f32>, usize, usize) {
    let (pw, ph) = (w % 2, h % 2);
    let (ow, oh) = ((w + 2 * pw - 2) / 2 + 1, (h + 2 * ph - 2) / 2 + 1);
    let mut out = vec![0.0f32; ow * oh];
    let mut row = vec![0.0f32; w];
    for oy in 0..oh {
        for iy in (2 * oy).saturating_sub(ph)..(2 * oy + 2 - ph).min(h) {
            src.row(iy, w, 0, 0.0, &mut row);
            for (ox, o) in out[oy * ow..][..ow].iter_mut().enumerate() {
                let x0 = 2 * ox;
                let a = if x0 >= pw { row[x0 - pw] } else { 0.0 };
                let b = if x0 + 1 - pw < w {
                    row[x0 + 1 - pw]
                } else {
                    0.0
                };
                *o += a + b;
            }
        }
    }
    out.iter_mut().for_each(|v| *v *= 0.25);
    (out, ow, oh)
}

/// One coarser MS-SSIM scale: its channel planes and the centre of each.
struct Level {
    width: usize,
    height: usize,
    planes: Vec<Vec<f32>>,
    offs: Vec<f32>,
}

impl Level {
    fn srcs(&self) -> Vec<Src<'_>> {
        self.planes.iter().map(|p| Src::F32(p)).collect()
    }
}

/// The next scale down of `planes` (each `w` x `h`).
fn halve(planes: &[Src], w: usize, h: usize) -> (Vec<Vec<f32>>, usize, usize) {
    let mut size = (0, 0);
    let out = planes
        .iter()
        .map(|&p| {
            let (d, ow, oh) = downsample(p, w, h);
            size = (ow, oh);
            d
        })
        .collect();
    (out, size.0, size.1)
}

/// The four coarser MS-SSIM scales of `img`, each downsampled from the one before.
fn pyramid(img: &Planar, w: usize, h: usize) -> Vec<Level> {
    let mut levels: Vec<Level> = Vec::new();
    let (mut w, mut h) = (w, h);
    for _ in 1..MS_WEIGHTS.len() {
        let (planes, ow, oh) = match levels.last() {
            None => halve(&img.srcs(), w, h),
            Some(prev) => halve(&prev.srcs(), w, h),
        };
        (w, h) = (ow, oh);
        let offs = planes.iter().map(|p| Src::F32(p).centre(w, h)).collect();
        levels.push(Level {
            width: w,
            height: h,
            planes,
            offs,
        });
    }
    levels
}

/// Everything SSIM/MS-SSIM need from the original, kept once and reused for many distorted
/// images: a copy of its samples and the centre of each channel (eagerly), and the four
/// coarser MS-SSIM scales (on first use of [`SsimReference::ms_ssim`]).
pub struct SsimReference {
    width: u32,
    height: u32,
    layout: Layout,
    /// `None` when the image is smaller than the window.
    full: Option<(Planar, Vec<f32>)>,
    coarse: OnceLock<Vec<Level>>,
}

impl SsimReference {
    pub fn new(original: &Image) -> SsimReference {
        let (w, h) = (original.width as usize, original.height as usize);
        SsimReference {
            width: original.width,
            height: original.height,
            layout: original.layout(),
            full: (w >= WIN && h >= WIN).then(|| {
                let planes = Planar::new(original);
                let offs = planes.srcs().iter().map(|s| s.centre(w, h)).collect();
                (planes, offs)
            }),
            coarse: OnceLock::new(),
        }
    }

    /// Err when `distorted` cannot be scored: a size or layout other than the original's, or
    /// an image smaller than the window.
    pub(crate) fn check_ssim(&self, distorted: &Image) -> Result<(), String> {
        self.check(distorted).map(|_| ())
    }

    fn check(&self, distorted: &Image) -> Result<&(Planar, Vec<f32>), String> {
        same_shape(self.width, self.height, self.layout, distorted)?;
        self.full.as_ref().ok_or_else(|| {
            format!(
                "image smaller than the 11x11 SSIM window ({}x{})",
                self.width, self.height
            )
        })
    }

    /// (SSIM, CS) of each channel at full scale. The distorted image is read in place.
    fn first(&self, distorted: &Image, data_range: f64) -> Result<Vec<(f64, f64)>, String> {
        let (original, offs) = self.check(distorted)?;
        let (w, h) = (self.width as usize, self.height as usize);
        let dist = Src::channels(distorted);
        Ok(compare(&original.srcs(), &dist, w, h, offs, data_range))
    }

    /// Mean SSIM over channels, and per-channel SSIM (index = channel of the image).
    /// Err("image smaller than the 11x11 SSIM window (WxH)") when width or height < 11.
    pub fn ssim(&self, distorted: &Image) -> Result<SsimScore, String> {
        self.ssim_with_range(distorted, self.layout.peak() as f64)
    }

    /// [`Self::ssim`] with an explicit `data_range` instead of 2^depth-1 (scikit-image's
    /// `data_range` argument; e.g. max-min of a 16-bit medical image).
    pub fn ssim_with_range(&self, distorted: &Image, data_range: f64) -> Result<SsimScore, String> {
        let channels: Vec<f64> = self
            .first(distorted, data_range)?
            .into_iter()
            .map(|(ssim, _)| ssim)
            .collect();
        let mean = channels.iter().sum::<f64>() / channels.len() as f64;
        Ok(SsimScore { mean, channels })
    }

    /// 5-scale MS-SSIM (Wang, Simoncelli, Bovik 2003; weights 0.0448, 0.2856, 0.3001, 0.2363,
    /// 0.1333), with the conventions of pytorch_msssim 1.0.0 `ms_ssim(X, Y, data_range=2^depth-1)`:
    /// per channel, the same 11x11 Gaussian (sigma 1.5) over the valid region only at every
    /// scale, C1/C2 from the full data range at every scale; the mean contrast-structure term
    /// at scales 1-4 and the mean SSIM at scale 5, each clamped at 0 (`relu`) and raised to its
    /// weight, multiplied; then the mean over channels. Downsampling is 2x2 average pooling with
    /// zero padding of odd sides (see `downsample`). Both sides must exceed 160 pixels, as in
    /// pytorch_msssim (the 5th scale must still hold the window).
    pub fn ms_ssim(&self, distorted: &Image) -> Result<f64, String> {
        self.check(distorted)?;
        self.check_ms()?;
        let first = self.first(distorted, self.layout.peak() as f64)?;
        self.ms_from_first(distorted, &first)
    }

    /// SSIM and, when `with_ms` is set, MS-SSIM from one full-scale pass: MS-SSIM's first
    /// scale is exactly SSIM's window statistics, so both cost little more than MS-SSIM alone.
    /// The values are bit for bit those of [`Self::ssim`] and [`Self::ms_ssim`].
    pub fn ssim_and_ms_ssim(
        &self,
        distorted: &Image,
        with_ms: bool,
    ) -> Result<(SsimScore, Option<Result<f64, String>>), String> {
        let first = self.first(distorted, self.layout.peak() as f64)?;
        let channels: Vec<f64> = first.iter().map(|(ssim, _)| *ssim).collect();
        let mean = channels.iter().sum::<f64>() / channels.len() as f64;
        let ms = with_ms.then(|| {
            self.check_ms()?;
            self.ms_from_first(distorted, &first)
        });
        Ok((SsimScore { mean, channels }, ms))
    }

    /// Err unless both sides exceed 160 pixels (5 scales must each still hold the window).
    pub(crate) fn check_ms(&self) -> Result<(), String> {
        if self.width.min(self.height) <= 160 {
            return Err(format!(
                "image too small for 5-scale MS-SSIM ({}x{}; both sides must exceed 160)",
                self.width, self.height
            ));
        }
        Ok(())
    }

    /// MS-SSIM given the distorted image and the full-scale (SSIM, CS) of each channel.
    fn ms_from_first(&self, distorted: &Image, first: &[(f64, f64)]) -> Result<f64, String> {
        let range = self.layout.peak() as f64;
        let Some((original, _)) = &self.full else {
            return Err("image smaller than the 11x11 SSIM window".into());
        };
        let (w, h) = (self.width as usize, self.height as usize);
        let coarse = self.coarse.get_or_init(|| pyramid(original, w, h));
        let mut factors = vec![1.0; first.len()];
        let last = MS_WEIGHTS.len() - 1;
        for (f, (_, cs)) in factors.iter_mut().zip(first) {
            *f *= cs.max(0.0).powf(MS_WEIGHTS[0]);
        }
        let (mut w, mut h) = (w, h);
        let mut dist = halve(&Src::channels(distorted), w, h).0;
        for (s, level) in coarse.iter().enumerate().map(|(i, l)| (i + 1, l)) {
            if s > 1 {
                let srcs: Vec<Src> = dist.iter().map(|p| Src::F32(p)).collect();
                dist = halve(&srcs, w, h).0;
            }
            (w, h) = (level.width, level.height);
            let srcs: Vec<Src> = dist.iter().map(|p| Src::F32(p)).collect();
            let scores = compare(&level.srcs(), &srcs, w, h, &level.offs, range);
            for (f, (ssim, cs)) in factors.iter_mut().zip(scores) {
                let term = if s == last { ssim } else { cs };
                *f *= term.max(0.0).powf(MS_WEIGHTS[s]);
            }
        }
        Ok(factors.iter().sum::<f64>() / factors.len() as f64)
    }
}

/// Err naming both sizes/layouts when `distorted` does not match the original.
pub(crate) fn same_shape(w: u32, h: u32, layout: Layout, distorted: &Image) -> Result<(), String> {
    if (w, h) != (distorted.width, distorted.height) {
        return Err(format!(
            "image sizes differ: original {w}x{h}, distorted {}x{}",
            distorted.width, distorted.height
        ));
    }
    if layout != distorted.layout() {
        return Err(format!(
            "layouts differ: original {layout}, distorted {}",
            distorted.layout()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: u32, h: u32, c: u8) -> Image {
        let n = (w * h) as usize * c as usize;
        Image::new_u8(w, h, c, (0..n).map(|i| (i * 37 % 251) as u8).collect()).unwrap()
    }

    #[test]
    fn identical_images_score_one() {
        let a = ramp(16, 12, 3);
        let s = SsimReference::new(&a).ssim(&a).unwrap();
        assert_eq!(s.mean, 1.0);
        assert_eq!(s.channels, vec![1.0; 3]);
    }

    #[test]
    fn window_matches_scipy_weights() {
        // scipy.ndimage._filters._gaussian_kernel1d(1.5, 0, 5) (scipy 1.17): centre and
        // outermost taps.
        let w = window();
        assert!((w[5] - 0.266_011_724_861_794_36).abs() < 1e-15, "{}", w[5]);
        assert!((w[0] - 0.001_028_380_084_479_11).abs() < 1e-15, "{}", w[0]);
    }

    #[test]
    fn constant_offset_hits_only_luminance_term() {
        // Flat images: variances are 0, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
        let a = Image::new_u8(11, 11, 1, vec![100; 121]).unwrap();
        let b = Image::new_u8(11, 11, 1, vec![110; 121]).unwrap();
        let c1 = (0.01f64 * 255.0).powi(2);
        let want = (2.0 * 100.0 * 110.0 + c1) / (100.0f64.powi(2) + 110.0f64.powi(2) + c1);
        let got = SsimReference::new(&a).ssim(&b).unwrap().mean;
        // 1e-9: 1 - SSIM (0.0045) is computed in f32, good to ~1e-7 of itself (3e-10 seen).
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }

    #[test]
    fn downsample_pads_odd_sides_with_zeros() {
        // 3x1 -> 2x1: odd width pads a zero column left and right, odd height a zero row
        // above and below; the divisor stays 4: [(0 + 4) / 4, (8 + 12) / 4].
        let (d, w, h) = downsample(Src::F32(&[4.0, 8.0, 12.0]), 3, 1);
        assert_eq!((w, h), (2, 1));
        assert_eq!(d, vec![1.0, 5.0]);
    }

    /// Pseudo-random samples (a fixed LCG), so the strips see texture everywhere.
    fn noisy(w: u32, h: u32, c: u8, seed: u32) -> Image {
        let mut s = seed;
        let n = (w * h) as usize * c as usize;
        let v = (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 24) as u8
            })
            .collect();
        Image::new_u8(w, h, c, v).unwrap()
    }

    #[test]
    fn run_time_kernel_and_portable_kernel_give_the_same_bits() {
        // 301 wide: three strips, the last one 35 output columns (not a multiple of 8).
        let (a, b) = (noisy(301, 23, 1, 1), noisy(301, 23, 1, 2));
        let (x, y) = (Src::channels(&a)[0], Src::channels(&b)[0]);
        let off = x.centre(301, 23);
        let c = ((K1 * 255.0).powi(2) as f32, (K2 * 255.0).powi(2) as f32);
        let portable = channel_sums_impl(x, y, 301, 23, off, c);
        assert_eq!(channel_sums(x, y, 301, 23, off, c), portable);
        assert!(portable.0 > 0.0 && portable.1 > 0.0, "{portable:?}");
    }

    #[test]
    fn interleaved_channels_score_as_their_own_planes() {
        // RGB read in place (stride 3) against each channel as a gray image (stride 1).
        let (a, b) = (noisy(140, 30, 3, 3), noisy(140, 30, 3, 4));
        let rgb = SsimReference::new(&a).ssim(&b).unwrap();
        for c in 0..3 {
            let plane = |img: &Image| {
                let s: Vec<u8> = (0..140 * 30).map(|p| img.sample(p * 3 + c) as u8).collect();
                Image::new_u8(140, 30, 1, s).unwrap()
            };
            let gray = SsimReference::new(&plane(&a)).ssim(&plane(&b)).unwrap();
            assert_eq!(rgb.channels[c], gray.mean, "channel {c}");
        }
    }

    #[test]
    fn small_and_mismatched_images_are_errors() {
        let a = ramp(10, 20, 1);
        assert!(SsimReference::new(&a)
            .ssim(&a)
            .unwrap_err()
            .contains("10x20"));
        let b = ramp(20, 20, 1);
        let e = SsimReference::new(&b).ssim(&ramp(20, 21, 1)).unwrap_err();
        assert!(e.contains("20x20") && e.contains("20x21"), "{e}");
        assert!(SsimReference::new(&b).ms_ssim(&b).is_err());
    }
}
