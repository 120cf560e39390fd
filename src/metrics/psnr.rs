//! MSE and PSNR, jointly over all compared channels and per channel, exactly as
//! scikit-image's `mean_squared_error` and `peak_signal_noise_ratio` define them
//! (MSE = sum of squared sample differences / number of samples; PSNR = 10 log10(peak^2 / MSE)).
//! Sums are exact integers, so the only rounding is the final division and logarithm.

use crate::pixels::{Image, Prep, Samples};

/// Distortion of one decoded image against its source.
#[derive(Clone, Debug, PartialEq)]
pub struct Distortion {
    /// Number of samples compared (pixels x compared channels).
    pub samples: u64,
    /// Peak sample value used for PSNR: 2^depth - 1 of the source.
    pub peak: u32,
    pub mse: f64,
    /// `f64::INFINITY` when the images are identical.
    pub psnr: f64,
    /// Per channel of the codec's layout: (MSE, PSNR); `None` for channels not compared.
    pub channels: Vec<Option<(f64, f64)>>,
}

/// PSNR in dB from an MSE and a peak; infinite for MSE 0.
pub fn psnr_from_mse(mse: f64, peak: f64) -> f64 {
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (peak * peak / mse).log10()
    }
}

/// Compares `decoded` (in the codec's layout, `prep.to`) with `source` (in `prep.from`).
/// Decoded 8-bit samples of a 16-bit source are expanded by 257 first, so the loss from the
/// depth reduction counts as distortion, measured with the source's peak.
pub fn distortion(source: &Image, decoded: &Image, prep: &Prep) -> Distortion {
    assert_eq!(
        (source.width, source.height),
        (decoded.width, decoded.height),
        "distortion: sizes differ"
    );
    let peak = source.layout().peak();
    let scale: i64 = if source.depth() == 16 && decoded.depth() == 8 {
        257
    } else {
        1
    };
    let (sc, dc) = (source.channels as usize, decoded.channels as usize);
    let n = source.pixel_count() as u64;
    let mut channels = Vec::with_capacity(dc);
    let (mut total, mut count) = (0u64, 0u64);
    for (c, m) in prep.map.iter().enumerate() {
        let Some(s) = *m else {
            channels.push(None);
            continue;
        };
        let sse = match (&source.samples, &decoded.samples) {
            (Samples::U8(a), Samples::U8(b)) => sse(a, s as usize, sc, b, c, dc, scale),
            (Samples::U16(a), Samples::U16(b)) => sse(a, s as usize, sc, b, c, dc, scale),
            (Samples::U16(a), Samples::U8(b)) => sse(a, s as usize, sc, b, c, dc, scale),
            (Samples::U8(a), Samples::U16(b)) => sse(a, s as usize, sc, b, c, dc, scale),
        };
        total += sse;
        count += n;
        let mse = sse as f64 / n as f64;
        channels.push(Some((mse, psnr_from_mse(mse, peak as f64))));
    }
    let mse = if count == 0 {
        0.0
    } else {
        total as f64 / count as f64
    };
    Distortion {
        samples: count,
        peak,
        mse,
        psnr: psnr_from_mse(mse, peak as f64),
        channels,
    }
}

/// Sum of squared differences between channel `s` of `a` (stride `sa`) and channel `c` of `b`
/// (stride `sb`, samples multiplied by `scale`).
fn sse<A: Copy + Into<i64>, B: Copy + Into<i64>>(
    a: &[A],
    s: usize,
    sa: usize,
    b: &[B],
    c: usize,
    sb: usize,
    scale: i64,
) -> u64 {
    a.iter()
        .skip(s)
        .step_by(sa)
        .zip(b.iter().skip(c).step_by(sb))
        .map(|(&x, &y)| {
            let d = x.into() - y.into() * scale;
            (d * d) as u64
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::Layout;

    #[test]
    fn one_pixel_red_plus_ten_matches_reference() {
        // ../shared/reference pair 1x1_red_plus10: MSE 33.333..., PSNR 32.902 dB.
        let a = Image::new_u8(1, 1, 3, vec![100, 50, 25]).unwrap();
        let b = Image::new_u8(1, 1, 3, vec![110, 50, 25]).unwrap();
        let prep = Prep::plan(a.layout(), a.layout()).unwrap();
        let d = distortion(&a, &b, &prep);
        assert_eq!(d.mse, 100.0 / 3.0);
        assert!((d.psnr - 32.90196).abs() < 1e-4, "{}", d.psnr);
        assert_eq!(d.channels[1], Some((0.0, f64::INFINITY)));
    }

    #[test]
    fn identical_images_give_infinite_psnr() {
        let a = Image::new_u16(2, 1, 1, vec![1000, 2000]).unwrap();
        let prep = Prep::plan(a.layout(), a.layout()).unwrap();
        let d = distortion(&a, &a.clone(), &prep);
        assert_eq!(d.mse, 0.0);
        assert!(d.psnr.is_infinite());
        assert_eq!(d.peak, 65535);
    }

    #[test]
    fn gray_replicated_and_depth_reduced_compare_at_source_depth() {
        // 16-bit gray source; codec saw RGB8; decoded RGB8 exact -> only rounding error.
        let src = Image::new_u16(1, 1, 1, vec![300]).unwrap();
        let prep = Prep::plan(src.layout(), Layout::new(3, 8)).unwrap();
        let dec = prep.apply(&src); // 300 -> round(300/257) = 1 -> 257
        let d = distortion(&src, &dec, &prep);
        assert_eq!(d.samples, 3);
        assert_eq!(d.mse, (43.0f64 * 43.0));
        assert_eq!(d.peak, 65535);
    }

    #[test]
    fn dropped_alpha_is_not_measured() {
        let src = Image::new_u8(1, 1, 4, vec![10, 20, 30, 0]).unwrap();
        let prep = Prep::plan(src.layout(), Layout::new(3, 8)).unwrap();
        let dec = Image::new_u8(1, 1, 3, vec![10, 20, 33]).unwrap();
        let d = distortion(&src, &dec, &prep);
        assert_eq!(d.samples, 3);
        assert_eq!(d.mse, 3.0);
    }
}
