//! The f64 SSIM/MS-SSIM kernels codecbench used before its f32 ones (src/metrics/ssim.rs at
//! c514144, unchanged but for names), kept as the oracle the f32 kernels are measured against.
//! Original module comment follows.
//!
//! SSIM and MS-SSIM on the samples as stored (no colour conversion), per channel.
//!
//! SSIM is scikit-image's `structural_similarity(channel_axis=-1, gaussian_weights=True,
//! sigma=1.5, use_sample_covariance=False, data_range=2^depth-1)`: an 11x11 Gaussian window
//! (sigma 1.5, truncate 3.5, weights normalised to sum 1), K1 0.01, K2 0.03, population
//! covariance. scikit-image filters the whole image and then crops a 5-pixel border from the SSIM
//! map; the cropped map only ever reads pixels inside the image, so computing the "valid" region
//! directly gives the same numbers without caring about edge modes. Mean over the map, then
//! mean over channels. Everything runs in f64: variances are differences of large, nearly equal
//! numbers (E[x^2] - mu^2 is up to 4e9 for 16-bit data), and f32 could not hold 1e-6.
//!
//! MS-SSIM follows pytorch_msssim 1.0.0 `ms_ssim` (see [`SsimF64::ms_ssim`]).

#![allow(dead_code)] // kept whole, as it was: check_ssim, ssim_and_ms_ssim are unused here

use std::sync::OnceLock;

use codecbench::pixels::{Image, Layout, Samples};

const K1: f64 = 0.01;
const K2: f64 = 0.03;
/// Gaussian window radius: int(3.5 * 1.5 + 0.5) as scikit-image and scipy.ndimage compute it.
const RADIUS: usize = 5;
const WIN: usize = 2 * RADIUS + 1;
/// Wang, Simoncelli, Bovik 2003 weights for scales 1 (finest) to 5.
const MS_WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

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

/// Mean SSIM over channels, and SSIM of each channel (index = channel of the image).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SsimScore {
    pub mean: f64,
    pub channels: Vec<f64>,
}

/// One scale of the original: its channel planes and their windowed statistics over the
/// valid region ((w-10) x (h-10)), which SSIM needs again for every distorted image.
struct Level {
    width: usize,
    height: usize,
    planes: Vec<Vec<f64>>,
    mu: Vec<Vec<f64>>,
    sq: Vec<Vec<f64>>,
}

impl Level {
    fn new(width: usize, height: usize, planes: Vec<Vec<f64>>) -> Level {
        let (ow, oh) = (width - 2 * RADIUS, height - 2 * RADIUS);
        let mut rows = Rows::new(width);
        let (mut mu, mut sq) = (Vec::new(), Vec::new());
        for p in &planes {
            let (mut m, mut q) = (Vec::with_capacity(ow * oh), Vec::with_capacity(ow * oh));
            for oy in 0..oh {
                rows.window(p, p, width, oy);
                m.extend_from_slice(&rows.out[0]);
                q.extend_from_slice(&rows.out[1]);
            }
            mu.push(m);
            sq.push(q);
        }
        Level {
            width,
            height,
            planes,
            mu,
            sq,
        }
    }

    /// Mean SSIM and mean contrast-structure term of each channel against `other` (planes of
    /// the same size), with constants for `data_range`. Works row by row so the distorted
    /// image's statistics never need whole planes.
    fn compare(&self, other: &[Vec<f64>], data_range: f64) -> Vec<(f64, f64)> {
        let c1 = (K1 * data_range).powi(2);
        let c2 = (K2 * data_range).powi(2);
        let (ow, oh) = (self.width - 2 * RADIUS, self.height - 2 * RADIUS);
        let mut rows = Rows::new(self.width);
        let mut result = Vec::with_capacity(self.planes.len());
        for (c, y) in other.iter().enumerate() {
            let (mut ssim, mut cs) = (0.0, 0.0);
            for oy in 0..oh {
                rows.window(&self.planes[c], y, self.width, oy);
                let mu_x = &self.mu[c][oy * ow..(oy + 1) * ow];
                let sq_x = &self.sq[c][oy * ow..(oy + 1) * ow];
                let [mu_y, sq_y, xy] = &rows.out;
                let (mu_y, sq_y, xy) = (&mu_y[..ow], &sq_y[..ow], &xy[..ow]);
                for i in 0..ow {
                    let (ux, uy) = (mu_x[i], mu_y[i]);
                    let (vx, vy, vxy) = (sq_x[i] - ux * ux, sq_y[i] - uy * uy, xy[i] - ux * uy);
                    let contrast = (2.0 * vxy + c2) / (vx + vy + c2);
                    ssim += (2.0 * ux * uy + c1) / (ux * ux + uy * uy + c1) * contrast;
                    cs += contrast;
                }
            }
            let n = (ow * oh) as f64;
            result.push((ssim / n, cs / n));
        }
        result
    }
}

/// Scratch rows for the separable Gaussian over the valid region: `window` leaves row `oy` of
/// E[y], E[y^2] and E[xy] in `out` (each w-10 long). A vertical pass sums 11 input rows into
/// `v`, then a horizontal pass, both plain loops over whole rows that the compiler vectorises
/// (and that stay tolerable in unoptimised test builds).
struct Rows {
    win: [f64; WIN],
    v: [Vec<f64>; 3],
    out: [Vec<f64>; 3],
}

impl Rows {
    fn new(w: usize) -> Rows {
        let ow = w - 2 * RADIUS;
        Rows {
            win: window(),
            v: [vec![0.0; w], vec![0.0; w], vec![0.0; w]],
            out: [vec![0.0; ow], vec![0.0; ow], vec![0.0; ow]],
        }
    }

    fn window(&mut self, x: &[f64], y: &[f64], w: usize, oy: usize) {
        let ow = w - 2 * RADIUS;
        let [vm, vyy, vxy] = &mut self.v;
        let (vm, vyy, vxy) = (&mut vm[..w], &mut vyy[..w], &mut vxy[..w]);
        vm.fill(0.0);
        vyy.fill(0.0);
        vxy.fill(0.0);
        for k in 0..WIN {
            let wk = self.win[k];
            let yr = &y[(oy + k) * w..(oy + k + 1) * w];
            let xr = &x[(oy + k) * w..(oy + k + 1) * w];
            for i in 0..w {
                let t = wk * yr[i];
                vm[i] += t;
                vyy[i] += t * yr[i];
                vxy[i] += t * xr[i];
            }
        }
        for (dst, src) in self.out.iter_mut().zip(&self.v) {
            let dst = &mut dst[..ow];
            dst.fill(0.0);
            for k in 0..WIN {
                let (wk, src) = (self.win[k], &src[k..k + ow]);
                for i in 0..ow {
                    dst[i] += wk * src[i];
                }
            }
        }
    }
}

/// Channel planes of an image as f64 sample values (not normalised).
fn planes(img: &Image) -> Vec<Vec<f64>> {
    fn split<T: Copy + Into<f64>>(v: &[T], c: usize) -> Vec<Vec<f64>> {
        let n = v.len() / c;
        let mut out = vec![vec![0.0; n]; c];
        for (ch, plane) in out.iter_mut().enumerate() {
            for i in 0..n {
                plane[i] = v[i * c + ch].into();
            }
        }
        out
    }
    match &img.samples {
        Samples::U8(v) => split(v, img.channels as usize),
        Samples::U16(v) => split(v, img.channels as usize),
    }
}

/// pytorch_msssim's downsampling: `avg_pool2d(kernel_size=2, padding=[h%2, w%2])` with
/// torch's default `count_include_pad=True`, so an odd side gets one zero row/column on both
/// ends and every output is the 2x2 sum divided by 4 (border outputs are darkened).
fn downsample(p: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    let (pw, ph) = (w % 2, h % 2);
    let (ow, oh) = ((w + 2 * pw - 2) / 2 + 1, (h + 2 * ph - 2) / 2 + 1);
    let mut out = vec![0.0; ow * oh];
    for oy in 0..oh {
        for iy in (2 * oy).saturating_sub(ph)..(2 * oy + 2 - ph).min(h) {
            let row = &p[iy * w..][..w];
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

/// The four coarser MS-SSIM scales of the original, each downsampled from the one before.
fn pyramid(first: &Level) -> Vec<Level> {
    let mut levels: Vec<Level> = Vec::new();
    for _ in 1..MS_WEIGHTS.len() {
        let prev = levels.last().unwrap_or(first);
        let next: Vec<_> = prev
            .planes
            .iter()
            .map(|p| downsample(p, prev.width, prev.height))
            .collect();
        let (w, h) = (next[0].1, next[0].2);
        let level = Level::new(w, h, next.into_iter().map(|(p, _, _)| p).collect());
        levels.push(level);
    }
    levels
}

/// Everything SSIM/MS-SSIM need from the original, computed once and reused for many
/// distorted images: the channel planes and windowed means and second moments at full scale
/// (eagerly), and the four coarser MS-SSIM scales (on first use of [`SsimF64::ms_ssim`]).
pub struct SsimF64 {
    width: u32,
    height: u32,
    layout: Layout,
    /// `None` when the image is smaller than the window.
    full: Option<Level>,
    coarse: OnceLock<Vec<Level>>,
}

impl SsimF64 {
    pub fn new(original: &Image) -> SsimF64 {
        let (w, h) = (original.width as usize, original.height as usize);
        SsimF64 {
            width: original.width,
            height: original.height,
            layout: original.layout(),
            full: (w >= WIN && h >= WIN).then(|| Level::new(w, h, planes(original))),
            coarse: OnceLock::new(),
        }
    }

    /// Err when `distorted` cannot be scored: a size or layout other than the original's, or
    /// an image smaller than the window.
    pub fn check_ssim(&self, distorted: &Image) -> Result<(), String> {
        self.check(distorted).map(|_| ())
    }

    fn check(&self, distorted: &Image) -> Result<&Level, String> {
        same_shape(self.width, self.height, self.layout, distorted)?;
        self.full.as_ref().ok_or_else(|| {
            format!(
                "image smaller than the 11x11 SSIM window ({}x{})",
                self.width, self.height
            )
        })
    }

    /// Mean SSIM over channels, and per-channel SSIM (index = channel of the image).
    /// Err("image smaller than the 11x11 SSIM window (WxH)") when width or height < 11.
    pub fn ssim(&self, distorted: &Image) -> Result<SsimScore, String> {
        self.ssim_with_range(distorted, self.layout.peak() as f64)
    }

    /// [`Self::ssim`] with an explicit `data_range` instead of 2^depth-1 (scikit-image's
    /// `data_range` argument; e.g. max-min of a 16-bit medical image).
    pub fn ssim_with_range(&self, distorted: &Image, data_range: f64) -> Result<SsimScore, String> {
        let level = self.check(distorted)?;
        let channels: Vec<f64> = level
            .compare(&planes(distorted), data_range)
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
        let full = self.check(distorted)?;
        self.check_ms()?;
        let dist = planes(distorted);
        let first = full.compare(&dist, self.layout.peak() as f64);
        self.ms_from_first(full, dist, &first)
    }

    /// SSIM and, when `with_ms` is set, MS-SSIM from one full-scale pass: MS-SSIM's first
    /// scale is exactly SSIM's window statistics, so both cost little more than MS-SSIM alone.
    /// The values are bit for bit those of [`Self::ssim`] and [`Self::ms_ssim`].
    pub fn ssim_and_ms_ssim(
        &self,
        distorted: &Image,
        with_ms: bool,
    ) -> Result<(SsimScore, Option<Result<f64, String>>), String> {
        let full = self.check(distorted)?;
        let dist = planes(distorted);
        let first = full.compare(&dist, self.layout.peak() as f64);
        let channels: Vec<f64> = first.iter().map(|(ssim, _)| *ssim).collect();
        let mean = channels.iter().sum::<f64>() / channels.len() as f64;
        let ms = with_ms.then(|| {
            self.check_ms()?;
            self.ms_from_first(full, dist, &first)
        });
        Ok((SsimScore { mean, channels }, ms))
    }

    /// Err unless both sides exceed 160 pixels (5 scales must each still hold the window).
    pub fn check_ms(&self) -> Result<(), String> {
        if self.width.min(self.height) <= 160 {
            return Err(format!(
                "image too small for 5-scale MS-SSIM ({}x{}; both sides must exceed 160)",
                self.width, self.height
            ));
        }
        Ok(())
    }

    /// MS-SSIM given the distorted planes and the full-scale (SSIM, CS) of each channel.
    fn ms_from_first(
        &self,
        full: &Level,
        mut dist: Vec<Vec<f64>>,
        first: &[(f64, f64)],
    ) -> Result<f64, String> {
        let range = self.layout.peak() as f64;
        let coarse = self.coarse.get_or_init(|| pyramid(full));
        let mut factors = vec![1.0; dist.len()];
        let last = MS_WEIGHTS.len() - 1;
        for (f, (_, cs)) in factors.iter_mut().zip(first) {
            *f *= cs.max(0.0).powf(MS_WEIGHTS[0]);
        }
        let (mut w, mut h) = (full.width, full.height);
        for (s, level) in coarse.iter().enumerate().map(|(i, l)| (i + 1, l)) {
            dist = dist.iter().map(|p| downsample(p, w, h).0).collect();
            (w, h) = (level.width, level.height);
            for (f, (ssim, cs)) in factors.iter_mut().zip(level.compare(&dist, range)) {
                let term = if s == last { ssim } else { cs };
                *f *= term.max(0.0).powf(MS_WEIGHTS[s]);
            }
        }
        Ok(factors.iter().sum::<f64>() / factors.len() as f64)
    }
}

/// Err naming both sizes/layouts when `distorted` does not match the original.
pub fn same_shape(w: u32, h: u32, layout: Layout, distorted: &Image) -> Result<(), String> {
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
