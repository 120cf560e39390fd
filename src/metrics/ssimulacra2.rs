//! SSIMULACRA 2.1 through the `ssimulacra2` crate (rust-av), fed the way the C++ reference tool
//! (cloudinary/ssimulacra2, `ssimulacra2_main.cc`) feeds its metric.
//!
//! Input: 8- or 16-bit samples are sRGB-encoded values `v / (2^depth-1)`; gray is replicated to
//! RGB (16-bit gray too: CT/MR values become near-black, as in the reference). Images with alpha
//! are blended over a dark (0.1) and a light (0.9) grey and the lower (worse) score is kept.
//! The reference blends `a * c + (1 - a) * bg` on the decoded values before converting them to
//! linear light (its `AlphaBlend` runs on the image as loaded, i.e. sRGB-encoded, and only then
//! `TransformTo(LinearSRGB)`), so the backgrounds are sRGB-encoded greys 0.1 and 0.9. The
//! reference values agree: on the RGBA rows of tests/data/reference this blend is within 0.041
//! points of the C++ tool, while blending in linear light is off by up to 1.13 points.

use ::ssimulacra2::{
    compute_frame_ssimulacra2, ColorPrimaries, LinearRgb, Rgb, TransferCharacteristic,
};

use super::ssim::same_shape;
use crate::pixels::{Image, Layout};

/// Backgrounds for images with alpha, as in the C++ reference.
const BACKGROUNDS: [f32; 2] = [0.1, 0.9];
/// Below this size in either dimension the reference refuses to score.
const MIN_SIDE: u32 = 8;

/// The original converted to linear-light RGB once (one image, or one per background when it
/// has alpha), reused for every distorted image.
///
/// The crate's `compute_frame_ssimulacra2` takes both images and recomputes the original's
/// XYB planes, blurred means and variances at every scale on each call; it has no API to keep
/// them, so only the decode-and-linearise step of the original is saved here.
pub struct Ssimulacra2Reference {
    width: u32,
    height: u32,
    layout: Layout,
    /// Empty when the image is smaller than 8x8.
    linear: Vec<LinearRgb>,
}

impl Ssimulacra2Reference {
    pub fn new(original: &Image) -> Ssimulacra2Reference {
        let big_enough = original.width >= MIN_SIDE && original.height >= MIN_SIDE;
        Ssimulacra2Reference {
            width: original.width,
            height: original.height,
            layout: original.layout(),
            linear: if big_enough {
                to_linear(original)
            } else {
                Vec::new()
            },
        }
    }

    /// SSIMULACRA 2.1 score (100 = identical, lower is worse, can go negative).
    /// Err("image smaller than 8x8 ...") below 8x8, like the C++ reference.
    pub fn score(&self, distorted: &Image) -> Result<f64, String> {
        same_shape(self.width, self.height, self.layout, distorted)?;
        if self.linear.is_empty() {
            return Err(format!(
                "image smaller than 8x8 ({}x{}): SSIMULACRA2 needs at least 8x8 pixels",
                self.width, self.height
            ));
        }
        let mut worst = f64::INFINITY;
        for (orig, dist) in self.linear.iter().zip(to_linear(distorted)) {
            let s = compute_frame_ssimulacra2(orig.clone(), dist)
                .map_err(|e| format!("ssimulacra2: {e}"))?;
            worst = worst.min(s);
        }
        Ok(worst)
    }
}

/// sRGB-encoded RGB in 0..1 (gray replicated), alpha-blended over each background when the
/// image has alpha, converted to linear light by the crate's sRGB transfer function.
fn to_linear(img: &Image) -> Vec<LinearRgb> {
    let layout = img.layout();
    let c = img.channels as usize;
    let scale = 1.0 / layout.peak() as f32;
    let px = |p: usize| -> ([f32; 3], f32) {
        let v = |k: usize| img.sample(p * c + k) as f32 * scale;
        let rgb = if c >= 3 {
            [v(0), v(1), v(2)]
        } else {
            [v(0); 3]
        };
        let alpha = if layout.has_alpha() { v(c - 1) } else { 1.0 };
        (rgb, alpha)
    };
    let pixels: Vec<([f32; 3], f32)> = (0..img.pixel_count()).map(px).collect();
    let backgrounds: &[f32] = if layout.has_alpha() {
        &BACKGROUNDS
    } else {
        &[0.0]
    };
    backgrounds
        .iter()
        .map(|&bg| {
            let data = pixels
                .iter()
                .map(|&(rgb, a)| rgb.map(|v| a * v + (1.0 - a) * bg))
                .collect();
            let (w, h) = (img.width as usize, img.height as usize);
            let rgb = Rgb::new(
                data,
                w,
                h,
                TransferCharacteristic::SRGB,
                ColorPrimaries::BT709,
            )
            .expect("buffer length matches the image size");
            LinearRgb::try_from(rgb).expect("sRGB/BT.709 always converts to linear RGB")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            .contains("7x8"));
        let b = Image::new_u8(8, 8, 1, vec![0; 64]).unwrap();
        let e = Ssimulacra2Reference::new(&b)
            .score(&Image::new_u8(8, 9, 1, vec![0; 72]).unwrap())
            .unwrap_err();
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
