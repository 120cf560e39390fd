//! MSE and PSNR, jointly over all compared channels and per channel, exactly as
//! scikit-image's `mean_squared_error` and `peak_signal_noise_ratio` define them
//! (MSE = sum of squared sample differences / number of samples; PSNR = 10 log10(peak^2 / MSE)).
//! Sums are exact integers, so the only rounding is the final division and logarithm.
//!
//! [`distortion_and_luma`] also gives PSNR-Y (src/metrics/luma.rs) from the same pass over the
//! pixels, with the same per-pixel arithmetic and summation order as [`super::luma::psnr_y`],
//! so its value is bit for bit that of the separate pass.

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
    /// PSNR-Y of the compared channels when [`distortion_and_luma`] was asked for it and could
    /// give it (`None` otherwise: then `luma::psnr_y` on the compared views gives it).
    pub psnr_y: Option<f64>,
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
    distortion_and_luma(source, decoded, prep, false)
}

/// [`distortion`], and with `luma` set also PSNR-Y of the compared channels
/// ([`Distortion::psnr_y`]) from the same pass: the value `luma::psnr_y` gives on the compared
/// views (the original's mapped channels, the decoded ones expanded to the source depth), bit
/// for bit. Not fused (`psnr_y` None) for an 8-bit source decoded at 16 bits, whose view is
/// rounded back to 8 bits, for images without pixels and for more than 4 compared channels.
pub fn distortion_and_luma(source: &Image, decoded: &Image, prep: &Prep, luma: bool) -> Distortion {
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
    // (source channel, decoded channel) of each compared channel, in the codec's order.
    let pairs: Vec<(usize, usize)> = prep
        .map
        .iter()
        .enumerate()
        .filter_map(|(c, m)| m.map(|s| (s as usize, c)))
        .collect();
    let luma =
        luma && n > 0 && !pairs.is_empty() && (source.depth() == decoded.depth() || scale == 257);
    let (sses, luma_sse) = match (&source.samples, &decoded.samples) {
        (Samples::U8(a), Samples::U8(b)) => sums(a, sc, b, dc, &pairs, scale, luma),
        (Samples::U16(a), Samples::U16(b)) => sums(a, sc, b, dc, &pairs, scale, luma),
        (Samples::U16(a), Samples::U8(b)) => sums(a, sc, b, dc, &pairs, scale, luma),
        (Samples::U8(a), Samples::U16(b)) => sums(a, sc, b, dc, &pairs, scale, luma),
    };
    let mut channels = vec![None; prep.map.len()];
    let (mut total, mut count) = (0u64, 0u64);
    for (&(_, c), &sse) in pairs.iter().zip(&sses) {
        total += sse;
        count += n;
        let mse = sse as f64 / n as f64;
        channels[c] = Some((mse, psnr_from_mse(mse, peak as f64)));
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
        psnr_y: luma_sse.map(|sse| psnr_from_mse(sse / n as f64, peak as f64)),
    }
}

/// Sum of squared differences of each compared channel (`pairs`: source channel of `a`,
/// stride `sa`; decoded channel of `b`, stride `sb`, samples multiplied by `scale`), and with
/// `luma` the sum over pixels of the squared BT.601 luma difference, from the same pass. Without
/// `luma`, one pass per channel (the fastest for the integer sums alone).
fn sums<A: Copy + Into<i64>, B: Copy + Into<i64>>(
    a: &[A],
    sa: usize,
    b: &[B],
    sb: usize,
    pairs: &[(usize, usize)],
    scale: i64,
    luma: bool,
) -> (Vec<u64>, Option<f64>) {
    /// The fused pass over `K` compared channels; `I` when channel j of the source is compared
    /// with channel j of the decoded image (the usual case: same channels, or alpha dropped),
    /// which lets each pixel be read as a fixed-size array.
    #[inline(always)]
    fn fused<A: Copy + Into<i64>, B: Copy + Into<i64>, const K: usize, const I: bool>(
        a: &[A],
        sa: usize,
        b: &[B],
        sb: usize,
        pairs: &[(usize, usize)],
        scale: i64,
    ) -> (Vec<u64>, Option<f64>) {
        let pairs: [(usize, usize); K] = pairs.try_into().expect("K compared channels");
        let mut sse = [0u64; K];
        let mut luma_sse = 0.0f64;
        for (p, q) in a.chunks_exact(sa).zip(b.chunks_exact(sb)) {
            let d: [i64; K] = if I {
                let (p, q): (&[A; K], &[B; K]) =
                    (p[..K].try_into().unwrap(), q[..K].try_into().unwrap());
                std::array::from_fn(|j| p[j].into() - q[j].into() * scale)
            } else {
                pairs.map(|(s, c)| p[s].into() - q[c].into() * scale)
            };
            for (acc, &d) in sse.iter_mut().zip(&d) {
                *acc += (d * d) as u64;
            }
            luma_sse += super::luma::luma_diff_sq(&d.map(|d| d as f64));
        }
        (sse.to_vec(), Some(luma_sse))
    }
    let identity = pairs
        .iter()
        .enumerate()
        .all(|(j, &(s, c))| s == j && c == j);
    match (luma, pairs.len(), identity) {
        (true, 1, true) => fused::<A, B, 1, true>(a, sa, b, sb, pairs, scale),
        (true, 1, false) => fused::<A, B, 1, false>(a, sa, b, sb, pairs, scale),
        (true, 3, true) => fused::<A, B, 3, true>(a, sa, b, sb, pairs, scale),
        (true, 4, true) => fused::<A, B, 4, true>(a, sa, b, sb, pairs, scale),
        (true, 2, _) => fused::<A, B, 2, false>(a, sa, b, sb, pairs, scale),
        (true, 3, false) => fused::<A, B, 3, false>(a, sa, b, sb, pairs, scale),
        (true, 4, false) => fused::<A, B, 4, false>(a, sa, b, sb, pairs, scale),
        _ => {
            let sse = pairs
                .iter()
                .map(|&(s, c)| sse(a, s, sa, b, c, sb, scale))
                .collect();
            (sse, None)
        }
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
    fn one_compared_channel_other_than_the_first_is_read_from_its_own_channels() {
        // A hand-made map comparing decoded channel 0 with source channel 1 (gray + alpha
        // source): the pass fused with PSNR-Y must read those channels, like the plain pass.
        let src = Image::new_u8(2, 1, 2, vec![10, 200, 20, 100]).unwrap();
        let dec = Image::new_u8(2, 1, 1, vec![190, 103]).unwrap();
        let prep = Prep {
            from: src.layout(),
            to: dec.layout(),
            map: vec![Some(1)],
        };
        let plain = distortion(&src, &dec, &prep);
        assert_eq!(plain.mse, (100.0 + 9.0) / 2.0);
        let fused = distortion_and_luma(&src, &dec, &prep, true);
        assert_eq!(fused.mse.to_bits(), plain.mse.to_bits());
        assert_eq!(fused.channels, plain.channels);
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
