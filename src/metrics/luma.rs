//! PSNR on full-range BT.601 luma, Y = 0.299 R + 0.587 G + 0.114 B (float, not rounded), the
//! "PSNR-Y" many codec papers report. Gray images: the gray plane is the luma. Alpha is ignored.

use super::ssim::same_shape;
use super::{psnr_from_mse, ScoreError};
use crate::pixels::{Image, Samples};

/// PSNR in dB between the BT.601 lumas of `original` and `distorted` (same size and layout),
/// with peak 2^depth-1. Returns `f64::INFINITY` for identical lumas.
pub fn psnr_y(original: &Image, distorted: &Image) -> Result<f64, ScoreError> {
    same_shape(
        original.width,
        original.height,
        original.layout(),
        distorted,
    )?;
    if original.pixel_count() == 0 {
        return Err(ScoreError::Empty { metric: "PSNR-Y" });
    }
    let c = original.channels as usize;
    let sse = match (&original.samples, &distorted.samples) {
        (Samples::U8(a), Samples::U8(b)) => luma_sse(a, b, c),
        (Samples::U16(a), Samples::U16(b)) => luma_sse(a, b, c),
        _ => unreachable!("same_shape checked the depths"),
    };
    let mse = sse / original.pixel_count() as f64;
    Ok(psnr_from_mse(mse, original.layout().peak() as f64))
}

/// Sum over pixels of (Y_a - Y_b)^2. The luma difference is taken as the weighted sum of the
/// exact integer sample differences, which equals the difference of the two lumas but does not
/// cancel digits, and is exactly 0 for identical pixels.
fn luma_sse<T: Copy + Into<f64>>(a: &[T], b: &[T], c: usize) -> f64 {
    let diff = |p: &[T], q: &[T], i: usize| p[i].into() - q[i].into();
    a.chunks_exact(c)
        .zip(b.chunks_exact(c))
        .map(|(p, q)| {
            let d: [f64; 3] = std::array::from_fn(|i| if i < c { diff(p, q, i) } else { 0.0 });
            luma_diff_sq(&d[..c.min(3)])
        })
        .sum()
}

/// (Y_a - Y_b)^2 of one pixel from its channel differences `d` (a - b, exact): BT.601 weights
/// on the first three when there are three or more, the first alone otherwise. The one formula
/// both the separate pass and the one fused with PSNR (`psnr::distortion_and_luma`) use.
#[inline(always)]
pub(crate) fn luma_diff_sq(d: &[f64]) -> f64 {
    let y = if d.len() >= 3 {
        0.299 * d[0] + 0.587 * d[1] + 0.114 * d[2]
    } else {
        d[0]
    };
    y * y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_lumas_give_infinity() {
        let a = Image::new_u8(2, 1, 4, vec![1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(psnr_y(&a, &a.clone()), Ok(f64::INFINITY));
        // Alpha differs only: luma identical.
        let b = Image::new_u8(2, 1, 4, vec![1, 2, 3, 0, 5, 6, 7, 0]).unwrap();
        assert_eq!(psnr_y(&a, &b), Ok(f64::INFINITY));
    }

    #[test]
    fn hand_computed_cases() {
        // One RGB pixel, R + 10: dY = 2.99, MSE 8.9401, PSNR = 10 log10(255^2 / 8.9401).
        let a = Image::new_u8(1, 1, 3, vec![100, 50, 25]).unwrap();
        let b = Image::new_u8(1, 1, 3, vec![110, 50, 25]).unwrap();
        let want = 10.0 * (255.0f64 * 255.0 / (2.99 * 2.99)).log10();
        assert!((psnr_y(&a, &b).unwrap() - want).abs() < 1e-12);
        assert!((want - 38.617_379_842).abs() < 1e-9, "{want}");
        // Gray 16-bit, two pixels, one off by 655: MSE 655^2 / 2, peak 65535.
        let a = Image::new_u16(2, 1, 1, vec![1000, 2000]).unwrap();
        let b = Image::new_u16(2, 1, 1, vec![1655, 2000]).unwrap();
        let want = 10.0 * (65535.0f64.powi(2) / (655.0f64.powi(2) / 2.0)).log10();
        assert!((psnr_y(&a, &b).unwrap() - want).abs() < 1e-12);
        // The metric is symmetric.
        assert_eq!(psnr_y(&a, &b), psnr_y(&b, &a));
    }

    #[test]
    fn mismatches_are_errors() {
        let a = Image::new_u8(2, 1, 1, vec![0, 0]).unwrap();
        let b = Image::new_u8(1, 2, 1, vec![0, 0]).unwrap();
        let e = psnr_y(&a, &b).unwrap_err().to_string();
        assert!(e.contains("2x1") && e.contains("1x2"), "{e}");
        let c = Image::new_u16(2, 1, 1, vec![0, 0]).unwrap();
        assert!(psnr_y(&a, &c).unwrap_err().to_string().contains("L16"));
    }
}
