//! Butteraugli (libjxl's psychovisual distance), through the `butteraugli` crate (BSD-3, a
//! pure Rust port of libjxl's). Two values per comparison: the max norm (the classic
//! butteraugli score) and libjxl's 3-norm (the mean of the 3-, 6- and 12-norms of the
//! per-pixel difference map), both lower is better, 0 for identical images.
//!
//! Conventions follow libjxl's `butteraugli_main` (libjxl 0.7) so its numbers can check ours:
//! - intensity target 80 nits (`butteraugli_main`'s default and the crate's; libjxl's encoder
//!   API uses 255, see libjxl #2548, so values from other tools may differ by that choice);
//! - samples are sRGB-encoded (8-bit or 16-bit, divided by 2^depth-1) and turned into linear
//!   sRGB with the exact sRGB transfer function; gray is the same value in R, G and B;
//! - with alpha, both images are blended on black and on white in the sRGB-encoded domain,
//!   each pair is scored, and the max norm is the larger of the two scores while the 3-norm is
//!   taken over the per-pixel maximum of the two difference maps.
//!
//! Both sides must be at least 8 pixels.

use butteraugli::{ButteraugliParams, ButteraugliReference};

use super::ssim::same_shape;
use super::ScoreError;
use crate::pixels::{Image, Layout, Samples};

/// Display brightness assumed for the images, in nits (cd/m^2).
pub const INTENSITY_TARGET: f32 = 80.0;

/// Max norm and 3-norm of one comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ButteraugliScore {
    pub max_norm: f64,
    pub pnorm_3: f64,
}

/// An original prepared once for many comparisons: one crate reference per background
/// (one when there is no alpha, black and white when there is).
pub struct ButteraugliOriginal {
    width: u32,
    height: u32,
    layout: Layout,
    refs: Result<Vec<(Option<f32>, ButteraugliReference)>, ScoreError>,
}

fn params(diffmap: bool) -> ButteraugliParams {
    ButteraugliParams::new()
        .with_intensity_target(INTENSITY_TARGET)
        .with_compute_diffmap(diffmap)
}

fn has_alpha(layout: Layout) -> bool {
    layout.channels == 2 || layout.channels == 4
}

/// Backgrounds to blend on: none without alpha; black and white (sRGB-encoded 0 and 1) with.
fn backgrounds(layout: Layout) -> Vec<Option<f32>> {
    if has_alpha(layout) {
        vec![Some(0.0), Some(1.0)]
    } else {
        vec![None]
    }
}

/// sRGB-encoded value in [0, 1] to linear light.
fn srgb_to_linear(v: f64) -> f32 {
    if v <= 0.04045 {
        (v / 12.92) as f32
    } else {
        ((v + 0.055) / 1.055).powf(2.4) as f32
    }
}

/// Interleaved linear RGB (3 f32 per pixel) of `img`, blended on `background` if given.
fn linear_rgb(img: &Image, background: Option<f32>) -> Vec<f32> {
    let c = img.channels as usize;
    let scale = 1.0 / img.layout().peak() as f64;
    let mut out = Vec::with_capacity(img.pixel_count() * 3);
    let mut push = |px: &[f64]| {
        let (rgb, alpha) = match c {
            1 => ([px[0]; 3], None),
            2 => ([px[0]; 3], Some(px[1])),
            3 => ([px[0], px[1], px[2]], None),
            _ => ([px[0], px[1], px[2]], Some(px[3])),
        };
        for v in rgb {
            let v = v * scale;
            let v = match (alpha, background) {
                (Some(a), Some(bg)) => {
                    let a = a * scale;
                    if a <= 0.0 {
                        bg as f64
                    } else if a >= 1.0 {
                        v
                    } else {
                        a * v + (1.0 - a) * bg as f64
                    }
                }
                _ => v,
            };
            out.push(srgb_to_linear(v));
        }
    };
    let mut px = [0.0f64; 4];
    match &img.samples {
        Samples::U8(s) => {
            for p in s.chunks_exact(c) {
                p.iter().zip(&mut px).for_each(|(&v, o)| *o = v as f64);
                push(&px[..c]);
            }
        }
        Samples::U16(s) => {
            for p in s.chunks_exact(c) {
                p.iter().zip(&mut px).for_each(|(&v, o)| *o = v as f64);
                push(&px[..c]);
            }
        }
    }
    out
}

/// The libjxl p-norm of a difference map: the mean of its p-, 2p- and 4p-norms.
fn pnorm(diffmap: &[f32], p: f64) -> f64 {
    let mut sums = [0.0f64; 3];
    for &d in diffmap {
        let mut v = (d as f64).powf(p);
        for s in &mut sums {
            *s += v;
            v *= v;
        }
    }
    let n = diffmap.len() as f64;
    sums.iter()
        .enumerate()
        .map(|(i, s)| (s / n).powf(1.0 / (p * (1u32 << i) as f64)))
        .sum::<f64>()
        / 3.0
}

impl ButteraugliOriginal {
    /// Prepares `original` (any layout of 1-4 channels, 8 or 16 bits). An image smaller than
    /// 8x8 is kept as an error that every comparison reports.
    pub fn new(original: &Image) -> ButteraugliOriginal {
        let (w, h) = (original.width as usize, original.height as usize);
        let refs = if w < 8 || h < 8 {
            Err(ScoreError::ButteraugliSize {
                width: w,
                height: h,
            })
        } else {
            let alpha = has_alpha(original.layout());
            backgrounds(original.layout())
                .into_iter()
                .map(|bg| {
                    ButteraugliReference::new_linear(&linear_rgb(original, bg), w, h, params(alpha))
                        .map(|r| (bg, r))
                        .map_err(|e| ScoreError::Butteraugli(e.to_string()))
                })
                .collect()
        };
        ButteraugliOriginal {
            width: original.width,
            height: original.height,
            layout: original.layout(),
            refs,
        }
    }

    /// Err when `distorted` cannot be scored: a size or layout other than the original's, or
    /// an original smaller than 8x8.
    pub fn check(
        &self,
        distorted: &Image,
    ) -> Result<&[(Option<f32>, ButteraugliReference)], ScoreError> {
        same_shape(self.width, self.height, self.layout, distorted)?;
        self.refs.as_deref().map_err(Clone::clone)
    }

    /// Max norm and 3-norm of `distorted` (same size and layout) against the original.
    pub fn score(&self, distorted: &Image) -> Result<ButteraugliScore, ScoreError> {
        let refs = self.check(distorted)?;
        let mut results = Vec::with_capacity(refs.len());
        for (bg, r) in refs {
            let res = r
                .compare_linear(&linear_rgb(distorted, *bg))
                .map_err(|e| ScoreError::Butteraugli(e.to_string()))?;
            results.push(res);
        }
        if let [one] = results.as_slice() {
            return Ok(ButteraugliScore {
                max_norm: one.score,
                pnorm_3: one.pnorm_3,
            });
        }
        // Blended on black and white: the larger score, the 3-norm of the per-pixel maximum.
        let max_norm = results.iter().map(|r| r.score).fold(0.0, f64::max);
        let maps: Vec<&[f32]> = results
            .iter()
            .map(|r| r.diffmap.as_ref().map(|m| m.buf().as_slice()))
            .collect::<Option<_>>()
            .ok_or_else(|| ScoreError::Butteraugli("difference map missing".into()))?;
        let merged: Vec<f32> = maps[0]
            .iter()
            .zip(maps[1])
            .map(|(a, b)| a.max(*b))
            .collect();
        Ok(ButteraugliScore {
            max_norm,
            pnorm_3: pnorm(&merged, 3.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(w: u32, h: u32, c: u8) -> Image {
        let n = (w * h) as usize * c as usize;
        Image::new_u8(w, h, c, (0..n).map(|i| (i * 37 % 251) as u8).collect()).unwrap()
    }

    #[test]
    fn identical_images_score_zero_and_distortion_scores_more() {
        for c in 1..=4 {
            let a = textured(16, 12, c);
            let r = ButteraugliOriginal::new(&a);
            let s = r.score(&a).unwrap();
            assert_eq!((s.max_norm, s.pnorm_3), (0.0, 0.0), "{c} channels");
            let mut b = a.clone();
            if let Samples::U8(v) = &mut b.samples {
                v[40] = v[40].wrapping_add(60);
            }
            let d = r.score(&b).unwrap();
            assert!(d.max_norm > 0.1 && d.pnorm_3 > 0.0, "{c}: {d:?}");
            assert!(d.pnorm_3 <= d.max_norm, "{c}: {d:?}");
        }
    }

    #[test]
    fn small_and_mismatched_images_are_errors() {
        let a = textured(7, 20, 3);
        let e = ButteraugliOriginal::new(&a)
            .score(&a)
            .unwrap_err()
            .to_string();
        assert!(e.contains("7x20") && e.contains("8x8"), "{e}");
        let b = textured(20, 20, 3);
        let e = ButteraugliOriginal::new(&b)
            .score(&textured(20, 21, 3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("20x21"), "{e}");
    }

    #[test]
    fn transfer_and_pnorm_follow_their_definitions() {
        // sRGB: linear below 0.04045, 1 at 1.
        assert_eq!(srgb_to_linear(0.0), 0.0);
        assert!((srgb_to_linear(1.0) - 1.0).abs() < 1e-7);
        assert!((srgb_to_linear(0.5) - 0.214_041_14).abs() < 1e-7);
        // The 8-bit values agree with the crate's own table.
        for v in [0u8, 10, 128, 255] {
            let ours = srgb_to_linear(v as f64 / 255.0);
            assert!((ours - butteraugli::srgb_to_linear(v)).abs() < 1e-6, "{v}");
        }
        // A constant map: every norm equals the constant.
        assert!((pnorm(&[2.0; 10], 3.0) - 2.0).abs() < 1e-12);
        // Transparent pixels blend to the background only.
        let t = Image::new_u8(1, 1, 4, vec![200, 10, 30, 0]).unwrap();
        assert_eq!(linear_rgb(&t, Some(1.0)), vec![1.0; 3]);
        assert_eq!(linear_rgb(&t, Some(0.0)), vec![0.0; 3]);
    }
}
