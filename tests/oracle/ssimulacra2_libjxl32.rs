//! A float32 model of the arithmetic of the C++ SSIMULACRA 2.1 tool (cloudinary/ssimulacra2
//! src/ssimulacra2.cc on libjxl), written for tests/perceptual.rs to explain why that tool and
//! codecbench disagree on the 64x64 16-bit gray reference image. It computes the same formula
//! as src/metrics/ssimulacra2.rs but rounds where libjxl rounds:
//!
//! * XYB: opsin mix as nested fused multiply-adds (`fma(m0, r, fma(m1, g, fma(m2, b, bias)))`,
//!   Highway `MulAdd` on an FMA target) and libjxl's `CubeRootAndAdd`: an exponent bit trick
//!   then three Newton steps on x^(-1/3), a final step, and `r^2 * x + add` fused (6 ulp),
//!   where the Rust code uses `cbrtf`.
//! * Recursive Gaussian (Charalampidis 2016, radius 5 for sigma 1.5, zero outside the image):
//!   rows as libjxl's `FastGaussian1D`, scalar until n = 8, then four outputs at a time from
//!   the coefficients pre-multiplied for four steps (`mul_in`, `mul_prev`, `mul_prev2`, powers
//!   of d1 computed in f64 and rounded to f32), scalar for the remainder; columns as
//!   `VerticalBlock`: `fma(n2, sum, -d1 * y[n-1] - y[n-2])`; the three cosine terms summed as
//!   `y1 + (y3 + y5)`.
//! * Everything else (downsampling in linear light, MakePositiveXYB, the SSIM and edge maps with
//!   double accumulators, the weights taken in order over the scales present) as the C++ code.
//!
//! Samples are divided by 255 or 65535 in f32 and linearised with the sRGB curve; libjxl uses a
//! rational approximation above 0.04045, this model the exact power law, so 8-bit photos agree
//! with the tool only to ~0.01 points, while the near-black 16-bit rows (every sample below
//! 0.04045, the linear segment) reproduce its printed 8 decimals. No alpha.

use codecbench::pixels::{Image, Samples};

/// Per-channel (X, Y, B) parts of the weighted sum, and the score.
pub struct Libjxl32 {
    pub score: f64,
    pub weighted: [f64; 3],
}

/// The score a weighted sum maps to (the tool's final polynomial and power).
pub fn score_of(sum: f64) -> f64 {
    let x = sum * 0.956_238_261_683_484_4;
    let x = 2.326_765_642_916_932 * x - 0.020_884_521_182_843_837 * x * x
        + 6.248_496_625_763_138e-5 * x * x * x;
    if x > 0.0 {
        100.0 - 10.0 * x.powf(0.627_633_646_783_138_7)
    } else {
        100.0
    }
}

pub fn ssimulacra2_libjxl32(original: &Image, distorted: &Image) -> Libjxl32 {
    let rg = Coefficients::new();
    let (mut a, mut b) = (linear(original), linear(distorted));
    let mut weighted = [0.0f64; 3];
    let mut scales: Vec<[[f64; 6]; 3]> = Vec::new();
    for scale in 0..6 {
        if a.w < 8 || a.h < 8 {
            break;
        }
        if scale > 0 {
            a = a.half();
            b = b.half();
        }
        let (xa, xb) = (xyb(&a), xyb(&b));
        scales.push(std::array::from_fn(|c| {
            maps(&rg, &xa.p[c], &xb.p[c], a.w, a.h)
        }));
    }
    // The tool walks its 108 weights in order over the scales it has: with fewer than six
    // scales, later weights land on other channels' terms than in a 6-scale image.
    let mut i = 0;
    for (c, part) in weighted.iter_mut().enumerate() {
        for s in &scales {
            for n in 0..2 {
                for term in [s[c][n], s[c][2 + n], s[c][4 + n]] {
                    *part += WEIGHT[i] * term.abs();
                    i += 1;
                }
            }
        }
    }
    Libjxl32 {
        score: score_of(weighted.iter().sum()),
        weighted,
    }
}

struct Planes {
    w: usize,
    h: usize,
    p: [Vec<f32>; 3],
}

fn linear(img: &Image) -> Planes {
    let (w, h, ch) = (
        img.width as usize,
        img.height as usize,
        img.channels as usize,
    );
    assert!(ch == 1 || ch == 3, "the model has no alpha");
    let sample = |i: usize| -> f32 {
        match &img.samples {
            Samples::U8(v) => v[i] as f32 * (1.0 / 255.0),
            Samples::U16(v) => v[i] as f32 * (1.0 / 65535.0),
        }
    };
    let mut p = [vec![0f32; w * h], vec![0f32; w * h], vec![0f32; w * h]];
    for i in 0..w * h {
        for (c, plane) in p.iter_mut().enumerate() {
            let e = sample(i * ch + if ch == 3 { c } else { 0 });
            plane[i] = if e <= 0.04045 {
                e * (1.0 / 12.92)
            } else {
                ((e as f64 + 0.055) / 1.055).powf(2.4) as f32
            };
        }
    }
    Planes { w, h, p }
}

impl Planes {
    /// 2x2 box average, the last row/column repeated for odd sizes.
    fn half(&self) -> Planes {
        let (ow, oh) = (self.w.div_ceil(2), self.h.div_ceil(2));
        let mut p = [
            vec![0f32; ow * oh],
            vec![0f32; ow * oh],
            vec![0f32; ow * oh],
        ];
        for (c, plane) in p.iter_mut().enumerate() {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut sum = 0f32;
                    for iy in 0..2 {
                        for ix in 0..2 {
                            let x = (ox * 2 + ix).min(self.w - 1);
                            let y = (oy * 2 + iy).min(self.h - 1);
                            sum += self.p[c][y * self.w + x];
                        }
                    }
                    plane[oy * ow + ox] = sum * 0.25;
                }
            }
        }
        Planes { w: ow, h: oh, p }
    }
}

/// libjxl's cube root: cbrt(x) + add.
fn cube_root_and_add(x: f32, add: f32) -> f32 {
    let bits = x.to_bits() as i32;
    let guess = if bits == 0 {
        0
    } else {
        0x5480_0000i32.wrapping_sub((bits >> 23).wrapping_mul(0x002A_AAAA))
    };
    let (third, four_thirds) = (1.0f32 / 3.0, 4.0f32 / 3.0);
    let x_3 = third * x;
    let mut r = f32::from_bits(guess as u32);
    for _ in 0..3 {
        let r2 = r * r;
        r = (-x_3).mul_add(r2 * r2, four_thirds * r);
    }
    let r2 = r * r;
    r = third.mul_add((-x).mul_add(r2 * r2, r), r);
    (r * r).mul_add(x, add)
}

/// Linear sRGB to XYB, then MakePositiveXYB (X*14+0.42, Y+0.01, B-Y+0.55).
fn xyb(lin: &Planes) -> Planes {
    let m = [
        0.30f32,
        1.0 - 0.078 - 0.30,
        0.078,
        0.23,
        1.0 - 0.078 - 0.23,
        0.078,
        0.243_422_69,
        0.204_767_45,
        1.0 - 0.243_422_69 - 0.204_767_45,
    ];
    let bias = 0.003_793_073_4f32;
    let neg_cbrt_bias = -bias.cbrt();
    let n = lin.w * lin.h;
    let mut p = [vec![0f32; n], vec![0f32; n], vec![0f32; n]];
    #[allow(clippy::needless_range_loop)] // i indexes six planes
    for i in 0..n {
        let (r, g, b) = (lin.p[0][i], lin.p[1][i], lin.p[2][i]);
        let mut mixed = [0f32; 3];
        for (k, v) in mixed.iter_mut().enumerate() {
            let row = &m[3 * k..3 * k + 3];
            let sum = row[0].mul_add(r, row[1].mul_add(g, row[2].mul_add(b, bias)));
            *v = cube_root_and_add(sum.max(0.0), neg_cbrt_bias);
        }
        let x = 0.5 * (mixed[0] - mixed[1]);
        let y = 0.5 * (mixed[0] + mixed[1]);
        p[0][i] = x * 14.0 + 0.42;
        p[1][i] = y + 0.01;
        p[2][i] = (mixed[2] - y) + 0.55;
    }
    Planes {
        w: lin.w,
        h: lin.h,
        p,
    }
}

/// The recursive Gaussian's coefficients, built in f64 as libjxl's CreateRecursiveGaussian
/// (Charalampidis 2016, equations 33-57) and rounded to f32.
struct Coefficients {
    radius: isize,
    n2: [f32; 3],
    d1: [f32; 3],
    mul_in: [[f32; 4]; 3],
    mul_prev: [[f32; 4]; 3],
    mul_prev2: [[f32; 4]; 3],
}

impl Coefficients {
    fn new() -> Coefficients {
        let sigma = 1.5f64;
        let radius = (3.2795 * sigma + 0.2546).round();
        let base = std::f64::consts::PI / (2.0 * radius);
        let omega = [base, 3.0 * base, 5.0 * base];
        let p = [
            1.0 / (0.5 * omega[0]).tan(),
            -1.0 / (0.5 * omega[1]).tan(),
            1.0 / (0.5 * omega[2]).tan(),
        ];
        let r = [
            p[0] * p[0] / omega[0].sin(),
            -p[1] * p[1] / omega[1].sin(),
            p[2] * p[2] / omega[2].sin(),
        ];
        let rho: Vec<f64> = omega
            .iter()
            .map(|w| (-0.5 * sigma * sigma * w * w).exp() / radius)
            .collect();
        let d13 = p[0] * r[1] - r[0] * p[1];
        let zeta15 = (p[1] * r[2] - r[1] * p[2]) / d13;
        let zeta35 = (p[2] * r[0] - r[2] * p[0]) / d13;
        let a = [p[0], p[1], p[2], r[0], r[1], r[2], zeta15, zeta35, 1.0];
        let gamma = [
            1.0,
            radius * radius - sigma * sigma,
            zeta15 * rho[0] + zeta35 * rho[1] + rho[2],
        ];
        let beta = solve3(a, gamma);
        let mut k = Coefficients {
            radius: radius as isize,
            n2: [0.0; 3],
            d1: [0.0; 3],
            mul_in: [[0.0; 4]; 3],
            mul_prev: [[0.0; 4]; 3],
            mul_prev2: [[0.0; 4]; 3],
        };
        for i in 0..3 {
            let n2 = -beta[i] * (omega[i] * (radius + 1.0)).cos();
            let d1 = -2.0 * omega[i].cos();
            let d2 = d1 * d1;
            k.n2[i] = n2 as f32;
            k.d1[i] = d1 as f32;
            // Four steps of y[n] = n2*in[n] - d1*y[n-1] - y[n-2], expanded.
            k.mul_prev[i] =
                [-d1, d2 - 1.0, -d2 * d1 + 2.0 * d1, d2 * d2 - 3.0 * d2 + 1.0].map(|v| v as f32);
            k.mul_prev2[i] = [-1.0, d1, -d2 + 1.0, d2 * d1 - 2.0 * d1].map(|v| v as f32);
            k.mul_in[i] =
                [n2, -d1 * n2, d2 * n2 - n2, -d2 * d1 * n2 + 2.0 * d1 * n2].map(|v| v as f32);
        }
        k
    }

    /// One row, as FastGaussian1D.
    fn row(&self, input: &[f32], out: &mut [f32]) {
        let (w, big_n) = (input.len() as isize, self.radius);
        let at = |i: isize| {
            if (0..w).contains(&i) {
                input[i as usize]
            } else {
                0.0
            }
        };
        let (mut prev, mut prev2) = ([0f32; 3], [0f32; 3]);
        let step = |n: isize, prev: &mut [f32; 3], prev2: &mut [f32; 3]| {
            let sum = at(n - big_n - 1) + at(n + big_n - 1);
            let mut o = [0f32; 3];
            for k in 0..3 {
                o[k] = self.mul_prev2[k][0].mul_add(prev2[k], sum * self.mul_in[k][0]);
            }
            *prev2 = *prev;
            for k in 0..3 {
                o[k] = self.mul_prev[k][0].mul_add(prev[k], o[k]);
            }
            *prev = o;
            o[0] + (o[1] + o[2])
        };
        let mut n = -big_n + 1;
        let first_aligned = (big_n + 1 + 3) / 4 * 4;
        while n < first_aligned.min(w) {
            let v = step(n, &mut prev, &mut prev2);
            if n >= 0 {
                out[n as usize] = v;
            }
            n += 1;
        }
        while n < w - big_n + 1 - 3 {
            let sum: [f32; 4] = std::array::from_fn(|j| {
                input[(n - big_n - 1) as usize + j] + input[(n + big_n - 1) as usize + j]
            });
            let mut o = [[0f32; 4]; 3];
            for k in 0..3 {
                for (lane, v) in o[k].iter_mut().enumerate() {
                    let mul_in = |s: usize| {
                        if lane >= s {
                            self.mul_in[k][lane - s]
                        } else {
                            0.0
                        }
                    };
                    let mut acc = sum[0] * mul_in(0);
                    for (s, &x) in sum.iter().enumerate().skip(1) {
                        acc = mul_in(s).mul_add(x, acc);
                    }
                    acc = self.mul_prev2[k][lane].mul_add(prev2[k], acc);
                    *v = self.mul_prev[k][lane].mul_add(prev[k], acc);
                }
                prev2[k] = o[k][2];
                prev[k] = o[k][3];
            }
            for lane in 0..4 {
                out[n as usize + lane] = o[0][lane] + (o[1][lane] + o[2][lane]);
            }
            n += 4;
        }
        while n < w {
            out[n as usize] = step(n, &mut prev, &mut prev2);
            n += 1;
        }
    }

    /// One column, as VerticalBlock.
    fn column(&self, input: &[f32], out: &mut [f32]) {
        let (h, big_n) = (input.len() as isize, self.radius);
        let (mut y1, mut y2) = ([0f32; 3], [0f32; 3]);
        for n in -big_n + 1..h {
            let (top, bottom) = (n - big_n - 1, n + big_n - 1);
            let below = if bottom < h {
                input[bottom as usize]
            } else {
                0.0
            };
            let sum = if top >= 0 {
                input[top as usize] + below
            } else {
                below
            };
            let y: [f32; 3] = std::array::from_fn(|k| {
                self.n2[k].mul_add(sum, (-self.d1[k]).mul_add(y1[k], -y2[k]))
            });
            y2 = y1;
            y1 = y;
            if n >= 0 {
                out[n as usize] = y[0] + (y[1] + y[2]);
            }
        }
    }

    fn blur(&self, p: &[f32], w: usize, h: usize) -> Vec<f32> {
        let mut rows = vec![0f32; w * h];
        for (src, dst) in p.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
            self.row(src, dst);
        }
        let (mut col, mut blurred, mut out) = (vec![0f32; h], vec![0f32; h], vec![0f32; w * h]);
        for x in 0..w {
            for y in 0..h {
                col[y] = rows[y * w + x];
            }
            self.column(&col, &mut blurred);
            for y in 0..h {
                out[y * w + x] = blurred[y];
            }
        }
        out
    }
}

fn solve3(a: [f64; 9], g: [f64; 3]) -> [f64; 3] {
    let det = |m: [f64; 9]| {
        m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
            + m[2] * (m[3] * m[7] - m[4] * m[6])
    };
    let d = det(a);
    std::array::from_fn(|col| {
        let mut m = a;
        for row in 0..3 {
            m[row * 3 + col] = g[row];
        }
        det(m) / d
    })
}

/// One scale of one channel: [ssim 1-norm, ssim 4-norm, ringing 1, ringing 4, blur 1, blur 4].
fn maps(rg: &Coefficients, a: &[f32], b: &[f32], w: usize, h: usize) -> [f64; 6] {
    let product =
        |x: &[f32], y: &[f32]| -> Vec<f32> { x.iter().zip(y).map(|(p, q)| p * q).collect() };
    let s11 = rg.blur(&product(a, a), w, h);
    let s22 = rg.blur(&product(b, b), w, h);
    let s12 = rg.blur(&product(a, b), w, h);
    let (mu1, mu2) = (rg.blur(a, w, h), rg.blur(b, w, h));
    const C2: f32 = 0.0009;
    let mut sums = [0.0f64; 6];
    for i in 0..w * h {
        let (m1, m2) = (mu1[i], mu2[i]);
        let num_m = (1.0 - ((m1 - m2) * (m1 - m2)) as f64) as f32;
        let num_s = 2.0 * (s12[i] - m1 * m2) + C2;
        let den_s = (s11[i] - m1 * m1) + (s22[i] - m2 * m2) + C2;
        let d = (1.0 - (num_m * num_s / den_s) as f64).max(0.0);
        let edge = (1.0 + (b[i] - m2).abs() as f64) / (1.0 + (a[i] - m1).abs() as f64) - 1.0;
        for (k, v) in [d, edge.max(0.0), (-edge).max(0.0)].into_iter().enumerate() {
            sums[2 * k] += v;
            sums[2 * k + 1] += (v * v) * (v * v);
        }
    }
    let per_pixel = 1.0 / (w * h) as f64;
    std::array::from_fn(|k| {
        if k % 2 == 0 {
            per_pixel * sums[k]
        } else {
            (per_pixel * sums[k]).sqrt().sqrt()
        }
    })
}

// SSIMULACRA 2.1's published weights: the table the metric itself uses (data from the C++
// source, not part of the arithmetic this model reproduces).
use codecbench::metrics::ssimulacra2::WEIGHT;
