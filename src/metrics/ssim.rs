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
//! The kernels run in f32 (separable Gaussian over strips of 128 columns; AVX-512, AVX2+FMA
//! or portable code chosen at run time, see [`Kernel`]), arranged so that f32 still holds
//! 1e-6. The original's windowed mean is computed once, in the reference, so a comparison
//! filters three quantities (`x - y`, `(x - y)^2`, `x^2 + y^2`): each input row is filtered
//! horizontally once into a ring of 12 rows that stays in L1, and each pair of output rows is
//! filtered vertically from the ring (the 10 rows both windows share loaded once) and turned
//! into SSIM in registers (see [`channel_sums_impl`]); the distorted image is read in place,
//! without a planar copy. The accuracy rests on:
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
//! Every step is an IEEE f32 add, multiply or fused multiply-add in a fixed order, whichever
//! kernel runs and whether the mean comes from the reference or (as before it was kept there)
//! from the comparison's own pass: every kernel gives the portable code's bits (`f32::mul_add`
//! is exact in software where the CPU has no FMA). Measured against the old f64 kernel (kept
//! as the test oracle `tests/oracle/ssim_f64.rs`): see `tests/metrics_ssim.rs`.
//!
//! Memory: the reference keeps a copy of the original's samples (1 or 2 bytes each) and their
//! windowed means (4 bytes per sample of the valid region: 12 B/px for RGB), and once MS-SSIM
//! is asked for, the same at its four coarser scales as f32 (a third of that again). A
//! comparison needs only a fixed 23 KiB (the ring and rows of one strip, one channel at a
//! time), plus the distorted image's coarser scales for MS-SSIM.
//!
//! MS-SSIM follows pytorch_msssim 1.0.0 `ms_ssim` (see [`SsimReference::ms_ssim`]).

use std::sync::OnceLock;

use super::ScoreError;
use crate::pixels::{Image, Layout, Samples};

const K1: f64 = 0.01;
const K2: f64 = 0.03;
/// Gaussian window radius: int(3.5 * 1.5 + 0.5) as scikit-image and scipy.ndimage compute it.
const RADIUS: usize = 5;
const WIN: usize = 2 * RADIUS + 1;
/// Wang, Simoncelli, Bovik 2003 weights for scales 1 (finest) to 5.
const MS_WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
/// Quantities filtered per comparison: x - y, (x - y)^2, x^2 + y^2 (x, y centred). The
/// fourth, x, depends on the original only: its windowed mean is kept in the reference.
const Q: usize = 3;

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

    /// Asks the CPU to fetch columns `x0..x0 + n` of row `r` into cache ahead of use: the
    /// strips read each row in short pieces a row apart, which the hardware prefetchers do
    /// not foresee once an image outgrows the L2 cache. A hint only (no effect on results).
    #[inline(always)]
    fn prefetch(&self, r: usize, w: usize, x0: usize, n: usize) {
        fn lines<T>(p: &[T], from: usize, to: usize) {
            let to = to.min(p.len());
            let size = std::mem::size_of::<T>();
            let mut at = from * size;
            while at < to * size {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: a prefetch never faults; the address is inside `p` anyway.
                #[allow(unused_unsafe)]
                unsafe {
                    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                    _mm_prefetch::<_MM_HINT_T0>(p.as_ptr().cast::<i8>().add(at));
                }
                at += 64;
            }
        }
        let at = r * w + x0;
        match *self {
            Src::U8(p, ch, _) => lines(p, at * ch, (at + n) * ch),
            Src::U16(p, ch, _) => lines(p, at * ch, (at + n) * ch),
            Src::F32(p) => lines(p, at, at + n),
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

/// Output columns per strip. A strip's ring of horizontally filtered rows ([`RING`] rows x 3
/// quantities) takes 12 x 3 x OUT f32: 18 KiB at 128, in a 32 KiB L1 data cache.
const OUT: usize = 128;
/// Input columns per strip.
const SPAN: usize = OUT + 2 * RADIUS;
/// [`SPAN`] rounded up to a multiple of 16 (the widest vector).
const LANES: usize = SPAN.next_multiple_of(16);
/// Rows ahead of the one being read whose pieces are prefetched ([`Src::prefetch`]).
const AHEAD: usize = 2;
/// f32 per ring slot: the filtered quantities of one row of a strip.
const SLOT: usize = Q * OUT;

/// The Gaussian-windowed mean of `x - off` over the valid region ((w - 10) x (h - 10)), in
/// the order [`channel_sums_impl`] reads it: strip after strip of [`OUT`] columns, each strip
/// row major (strip `x0..x0 + on` starts at `x0 * (h - 10)`), so a comparison reads it
/// sequentially. Each row is filtered horizontally into a ring of the last 11 rows, each
/// output row vertically, with the operations and in the order [`channel_sums_impl`] used
/// when it filtered x itself: the values are its bits.
#[inline(always)]
fn windowed_mean_impl(x: Src, w: usize, h: usize, off: f32) -> Vec<f32> {
    let wt = half_window();
    let (ow, oh) = (w - 2 * RADIUS, h - 2 * RADIUS);
    let mut out = vec![0.0f32; ow * oh];
    let mut ring = vec![vec![0.0f32; ow]; WIN];
    let mut row = vec![0.0f32; w];
    let mut line = vec![0.0f32; ow];
    for r in 0..h {
        x.row(r, w, 0, off, &mut row);
        for (i, o) in ring[r % WIN].iter_mut().enumerate() {
            let s = &row[i..i + WIN];
            *o = tap(|k| s[k], &wt);
        }
        if r + 1 < WIN {
            continue;
        }
        let top = r + 1 - WIN;
        let rows: [&[f32]; WIN] = std::array::from_fn(|k| &ring[(top + k) % WIN][..ow]);
        for (i, o) in line.iter_mut().enumerate() {
            *o = tap(|k| rows[k][i], &wt);
        }
        for (s, chunk) in line.chunks(OUT).enumerate() {
            let x0 = s * OUT;
            out[x0 * oh + top * chunk.len()..][..chunk.len()].copy_from_slice(chunk);
        }
    }
    out
}

/// The windowed mean of each channel, centred on its own `offs`.
fn windowed_means(x: &[Src], w: usize, h: usize, offs: &[f32]) -> Vec<Vec<f32>> {
    x.iter()
        .zip(offs)
        .map(|(&x, &off)| windowed_mean(Kernel::best(), x, w, h, off))
        .collect()
}

/// Sums over the valid region of one channel pair: (sum of 1 - SSIM, sum of 1 - CS), with
/// `x` and `y` centred on `off` and `mean` the windowed mean of `x` ([`windowed_mean`]). See
/// the module comment for the arithmetic.
///
/// Works in vertical strips of [`SPAN`] input columns (overlapping by 10), row by row: each
/// input row's three quantities are filtered horizontally once, into a ring of the last 12
/// rows (the rows [`AHEAD`] further down are prefetched meanwhile); each pair of output rows
/// then filters the ring vertically and turns the window sums into SSIM at once, in
/// registers ([`finish_pair`]). The map is summed row by row, top to bottom, in every kernel.
#[inline(always)]
fn channel_sums_impl(
    (x, mean): (Src, &[f32]),
    y: Src,
    w: usize,
    h: usize,
    off: f32,
    c: (f32, f32),
) -> (f64, f64) {
    let wt = half_window();
    let mut ring = vec![[0.0f32; SLOT]; RING];
    // Whole buffers are computed and filtered, whatever the strip's width: fixed trip counts
    // that are a multiple of the vector width; columns past the strip are never read.
    let mut qs = [[0.0f32; LANES]; Q];
    let (mut xr, mut yr) = ([0.0f32; LANES], [0.0f32; LANES]);
    let mut out = [[0.0f32; OUT]; 4];
    let (mut sum_loss, mut sum_b) = (0.0f64, 0.0f64);
    let oh = h - 2 * RADIUS;
    let mut x0 = 0;
    while x0 + 2 * RADIUS < w {
        // Input columns x0..x0 + n, output columns x0..x0 + on.
        let n = SPAN.min(w - x0);
        let on = n - 2 * RADIUS;
        for r in 0..h {
            if r + AHEAD < h {
                x.prefetch(r + AHEAD, w, x0, n);
                y.prefetch(r + AHEAD, w, x0, n);
            }
            x.row(r, w, x0, off, &mut xr[..n]);
            y.row(r, w, x0, off, &mut yr[..n]);
            {
                let [qd, qdd, qss] = &mut qs;
                for i in 0..LANES {
                    let (a, b) = (xr[i], yr[i]);
                    let e = a - b;
                    qd[i] = e;
                    qdd[i] = e * e;
                    qss[i] = a * a + b * b;
                }
            }
            let slot = &mut ring[r % RING];
            for (src, dst) in qs.iter().zip(slot.chunks_exact_mut(OUT)) {
                for (i, o) in dst.iter_mut().enumerate() {
                    let s = &src[i..i + WIN];
                    *o = tap(|k| s[k], &wt);
                }
            }
            // Output rows top and top + 1 once input row top + 11 is in; a last odd row
            // alone (its pair's second half is computed on a repeated row and dropped).
            let (top, pair) = if r >= RING - 1 && (r + 1 - RING).is_multiple_of(2) {
                (r + 1 - RING, true)
            } else if r + 1 == h && oh % 2 == 1 {
                (oh - 1, false)
            } else {
                continue;
            };
            let rows: [&[f32; SLOT]; RING] =
                std::array::from_fn(|k| &ring[(top + k.min(WIN - 1 + pair as usize)) % RING]);
            let strip = &mean[x0 * oh..];
            let ex = [
                &strip[top * on..][..on],
                &strip[(top + pair as usize) * on..][..on],
            ];
            finish_pair(&rows, ex, &wt, off, c, &mut out);
            for o in out[..if pair { 4 } else { 2 }].chunks_exact(2) {
                sum_loss += sum64(&o[0][..on]);
                sum_b += sum64(&o[1][..on]);
            }
        }
        x0 += on;
    }
    (sum_loss, sum_b)
}

/// Input rows in the ring: the 12 that two consecutive output rows read.
const RING: usize = WIN + 1;

/// Two output rows, `top` and `top + 1`: the vertical pass over `rows` (the 12 horizontally
/// filtered rows `top..top + 12` of a strip, each row's window at `rows[p..p + 11]`), then
/// `1 - SSIM` and `1 - CS` of row `top + p` into `out[2p]` and `out[2p + 1]` (the strip's
/// columns, at most [`OUT`]), `ex[p]` holding the original's windowed means of the row. The
/// rows shared by both windows are loaded once.
#[inline(always)]
fn finish_pair(
    rows: &[&[f32; SLOT]; RING],
    ex: [&[f32]; 2],
    wt: &[f32; RADIUS + 1],
    off: f32,
    (c1, c2): (f32, f32),
    out: &mut [[f32; OUT]; 4],
) {
    let [l0, b0, l1, b1] = out;
    let (ex0, ex1) = (ex[0], ex[1]);
    let ssim = |ed: f32, edd: f32, es: f32, ex: f32| {
        let mux = ex + off;
        let muy = mux - ed;
        let a = ed * ed / (mux * mux + muy * muy + c1);
        let ey = ex - ed;
        let b = (edd - ed * ed) / (es - ex * ex - ey * ey + c2);
        (a + b - a * b, b)
    };
    let on = ex0.len().min(ex1.len()).min(OUT);
    for i in 0..on {
        let v0 = |q: usize| tap(|k| rows[k][q * OUT + i], wt);
        let v1 = |q: usize| tap(|k| rows[k + 1][q * OUT + i], wt);
        let first = ssim(v0(0), v0(1), v0(2), ex0[i]);
        let second = ssim(v1(0), v1(1), v1(2), ex1[i]);
        (l0[i], b0[i]) = first;
        (l1[i], b1[i]) = second;
    }
}

/// The instruction sets the kernels are compiled for, widest first. Every variant does the
/// same IEEE f32 operations in the same order (each lane on its own, `mul_add` a fused
/// multiply-add everywhere), so all give the same bits; only their speed differs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kernel {
    /// AVX-512F and VL: 16 lanes and 32 vector registers (the two-row vertical pass keeps its
    /// 12 rows in registers instead of spilling them).
    Avx512,
    /// AVX2 and FMA: 8 lanes, 16 registers.
    Avx2,
    /// Whatever the build targets (`f32::mul_add` exact in software without FMA).
    Portable,
}

impl Kernel {
    /// The kernels this CPU can run, widest first.
    fn available() -> Vec<Kernel> {
        let mut out = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            if avx2 && is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl") {
                out.push(Kernel::Avx512);
            }
            if avx2 {
                out.push(Kernel::Avx2);
            }
        }
        out.push(Kernel::Portable);
        out
    }

    /// The widest kernel this CPU runs (detected once).
    fn best() -> Kernel {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| Kernel::available()[0])
    }
}

/// Defines `$name(kernel, args..)`, which runs `$body` compiled for the given [`Kernel`].
macro_rules! kernels {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $body:ident) => {
        $(#[$doc])*
        fn $name(kernel: Kernel, $($arg: $ty),*) -> $ret {
            // SAFETY (callers): call only on a CPU with AVX-512F/VL, AVX2 and FMA; the body is
            // safe Rust, so the features are the whole contract.
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
            unsafe fn avx512($($arg: $ty),*) -> $ret {
                $body($($arg),*)
            }
            // SAFETY (callers): call only on a CPU with AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) -> $ret {
                $body($($arg),*)
            }
            match kernel {
                // SAFETY: `Kernel::available` lists these only when the CPU has the features.
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx512 => unsafe { avx512($($arg),*) },
                // SAFETY: as above, listed only when the CPU has AVX2 and FMA.
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx2 => unsafe { avx2($($arg),*) },
                _ => $body($($arg),*),
            }
        }
    };
}

kernels! {
    /// [`windowed_mean_impl`] compiled for `kernel`.
    fn windowed_mean(x: Src, w: usize, h: usize, off: f32) -> Vec<f32> = windowed_mean_impl
}

kernels! {
    /// [`channel_sums_impl`] compiled for `kernel`.
    fn channel_sums(
        x: (Src, &[f32]),
        y: Src,
        w: usize,
        h: usize,
        off: f32,
        c: (f32, f32)
    ) -> (f64, f64) = channel_sums_impl
}

/// Mean SSIM and mean contrast-structure term of each channel of `y` against `x` (same size
/// `w` x `h`, at least 11x11), centred on `offs`, `means` the windowed means of `x`, with
/// constants for `data_range`.
fn compare(
    x: &[Src],
    means: &[Vec<f32>],
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
        .zip(means)
        .zip(y)
        .zip(offs)
        .map(|(((&x, mean), &y), &off)| {
            let (loss, b) = channel_sums(Kernel::best(), (x, mean), y, w, h, off, (c1, c2));
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
    // An odd width's samples sit between two zero columns, so output `ox` adds the pair
    // `2 ox, 2 ox + 1` of this row either way.
    let mut row = vec![0.0f32; w + 2 * pw];
    for (oy, o) in out.chunks_exact_mut(ow).enumerate() {
        for iy in (2 * oy).saturating_sub(ph)..(2 * oy + 2 - ph).min(h) {
            src.row(iy, w, 0, 0.0, &mut row[pw..pw + w]);
            for (o, pair) in o.iter_mut().zip(row.chunks_exact(2)) {
                *o += pair[0] + pair[1];
            }
        }
    }
    out.iter_mut().for_each(|v| *v *= 0.25);
    (out, ow, oh)
}

/// One coarser MS-SSIM scale: its channel planes, the centre of each and their windowed
/// means.
struct Level {
    width: usize,
    height: usize,
    planes: Vec<Vec<f32>>,
    offs: Vec<f32>,
    means: Vec<Vec<f32>>,
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
        let srcs: Vec<Src> = planes.iter().map(|p| Src::F32(p)).collect();
        let offs: Vec<f32> = srcs.iter().map(|p| p.centre(w, h)).collect();
        let means = windowed_means(&srcs, w, h, &offs);
        levels.push(Level {
            width: w,
            height: h,
            planes,
            offs,
            means,
        });
    }
    levels
}

/// The original at full scale: its channels as planes, the centre of each and their
/// windowed means.
struct Full {
    planes: Planar,
    offs: Vec<f32>,
    means: Vec<Vec<f32>>,
}

/// Everything SSIM/MS-SSIM need from the original, kept once and reused for many distorted
/// images: a copy of its samples and the centre of each channel (eagerly), and the four
/// coarser MS-SSIM scales (on first use of [`SsimReference::ms_ssim`]).
pub struct SsimReference {
    width: u32,
    height: u32,
    layout: Layout,
    /// `None` when the image is smaller than the window.
    full: Option<Full>,
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
                let srcs = planes.srcs();
                let offs: Vec<f32> = srcs.iter().map(|s| s.centre(w, h)).collect();
                let means = windowed_means(&srcs, w, h, &offs);
                Full {
                    planes,
                    offs,
                    means,
                }
            }),
            coarse: OnceLock::new(),
        }
    }

    /// Err when `distorted` cannot be scored: a size or layout other than the original's, or
    /// an image smaller than the window.
    pub(crate) fn check_ssim(&self, distorted: &Image) -> Result<(), ScoreError> {
        self.check(distorted).map(|_| ())
    }

    fn check(&self, distorted: &Image) -> Result<&Full, ScoreError> {
        same_shape(self.width, self.height, self.layout, distorted)?;
        self.full.as_ref().ok_or(ScoreError::SsimWindow {
            width: self.width,
            height: self.height,
        })
    }

    /// (SSIM, CS) of each channel at full scale. The distorted image is read in place.
    fn first(&self, distorted: &Image, data_range: f64) -> Result<Vec<(f64, f64)>, ScoreError> {
        let full = self.check(distorted)?;
        let (w, h) = (self.width as usize, self.height as usize);
        let dist = Src::channels(distorted);
        let x = full.planes.srcs();
        Ok(compare(
            &x,
            &full.means,
            &dist,
            w,
            h,
            &full.offs,
            data_range,
        ))
    }

    /// Mean SSIM over channels, and per-channel SSIM (index = channel of the image).
    /// Err("image smaller than the 11x11 SSIM window (WxH)") when width or height < 11.
    pub fn ssim(&self, distorted: &Image) -> Result<SsimScore, ScoreError> {
        self.ssim_with_range(distorted, self.layout.peak() as f64)
    }

    /// [`Self::ssim`] with an explicit `data_range` instead of 2^depth-1 (scikit-image's
    /// `data_range` argument; e.g. max-min of a 16-bit medical image).
    pub fn ssim_with_range(
        &self,
        distorted: &Image,
        data_range: f64,
    ) -> Result<SsimScore, ScoreError> {
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
    pub fn ms_ssim(&self, distorted: &Image) -> Result<f64, ScoreError> {
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
    ) -> Result<(SsimScore, Option<Result<f64, ScoreError>>), ScoreError> {
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
    pub(crate) fn check_ms(&self) -> Result<(), ScoreError> {
        if self.width.min(self.height) <= 160 {
            return Err(ScoreError::MsSsimScales {
                width: self.width,
                height: self.height,
            });
        }
        Ok(())
    }

    /// MS-SSIM given the distorted image and the full-scale (SSIM, CS) of each channel.
    fn ms_from_first(&self, distorted: &Image, first: &[(f64, f64)]) -> Result<f64, ScoreError> {
        let range = self.layout.peak() as f64;
        let Some(full) = &self.full else {
            return Err(ScoreError::SsimWindow {
                width: self.width,
                height: self.height,
            });
        };
        let (w, h) = (self.width as usize, self.height as usize);
        let coarse = self.coarse.get_or_init(|| pyramid(&full.planes, w, h));
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
            let x = level.srcs();
            let scores = compare(&x, &level.means, &srcs, w, h, &level.offs, range);
            for (f, (ssim, cs)) in factors.iter_mut().zip(scores) {
                let term = if s == last { ssim } else { cs };
                *f *= term.max(0.0).powf(MS_WEIGHTS[s]);
            }
        }
        Ok(factors.iter().sum::<f64>() / factors.len() as f64)
    }
}

/// Err naming both sizes/layouts when `distorted` does not match the original.
pub(crate) fn same_shape(
    w: u32,
    h: u32,
    layout: Layout,
    distorted: &Image,
) -> Result<(), ScoreError> {
    if (w, h) != (distorted.width, distorted.height) {
        return Err(ScoreError::Sizes {
            original: (w, h),
            distorted: (distorted.width, distorted.height),
        });
    }
    if layout != distorted.layout() {
        return Err(ScoreError::Layouts {
            original: layout,
            distorted: distorted.layout(),
        });
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
    fn every_kernel_gives_the_portable_bits() {
        // 301 wide: three strips, the last one 35 output columns (not a multiple of 8);
        // 23 and 24 rows: 13 output rows (the last one without a pair) and 14.
        for h in [23, 24] {
            let (a, b) = (noisy(301, h, 1, 1), noisy(301, h, 1, 2));
            let (x, y) = (Src::channels(&a)[0], Src::channels(&b)[0]);
            let h = h as usize;
            let off = x.centre(301, h);
            let mean = windowed_mean_impl(x, 301, h, off);
            let c = ((K1 * 255.0).powi(2) as f32, (K2 * 255.0).powi(2) as f32);
            let portable = channel_sums_impl((x, &mean), y, 301, h, off, c);
            assert!(portable.0 > 0.0 && portable.1 > 0.0, "{portable:?}");
            for kernel in Kernel::available() {
                assert_eq!(windowed_mean(kernel, x, 301, h, off), mean, "{kernel:?}");
                let sums = channel_sums(kernel, (x, &mean), y, 301, h, off, c);
                assert_eq!(sums, portable, "{kernel:?}, {h} rows");
            }
        }
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
            .to_string()
            .contains("10x20"));
        let b = ramp(20, 20, 1);
        let e = (SsimReference::new(&b).ssim(&ramp(20, 21, 1)).unwrap_err()).to_string();
        assert!(e.contains("20x20") && e.contains("20x21"), "{e}");
        assert!(SsimReference::new(&b).ms_ssim(&b).is_err());
    }
}
