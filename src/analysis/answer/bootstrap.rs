//! Seeded 95% bootstrap intervals over images, and the verdict an interval gives.

/// Bootstrap resamples per interval.
pub const BOOTSTRAP_SAMPLES: usize = 2000;
/// The bootstrap's seed: intervals are identical across reruns of the same results.
pub const BOOTSTRAP_SEED: u64 = 0x00C0_DECB_E1C4;

/// A small deterministic generator (SplitMix64) for the bootstrap: no dependency, and the
/// same sequence on every platform.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// 95% percentile bootstrap interval of `stat` over resamples of `n` items (by index).
pub fn bootstrap(n: usize, stat: impl Fn(&[usize]) -> Option<f64>) -> Option<[f64; 2]> {
    if n == 0 {
        return None;
    }
    let mut rng = SplitMix(BOOTSTRAP_SEED);
    let mut idx = vec![0; n];
    let mut v: Vec<f64> = Vec::with_capacity(BOOTSTRAP_SAMPLES);
    for _ in 0..BOOTSTRAP_SAMPLES {
        for i in idx.iter_mut() {
            *i = rng.below(n);
        }
        if let Some(x) = stat(&idx) {
            v.push(x);
        }
    }
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    Some([at(0.025), at(0.975)])
}

/// Ratio of sums minus one, percent, over the resampled pairs.
pub(super) fn saving(pairs: &[(u64, u64)], idx: &[usize]) -> Option<f64> {
    let (c, a) = idx
        .iter()
        .fold((0u64, 0u64), |(c, a), &i| (c + pairs[i].0, a + pairs[i].1));
    (a > 0).then(|| (c as f64 / a as f64 - 1.0) * 100.0)
}

/// "smaller" / "larger" / "too few images to tell" from an interval.
pub(super) fn verdict(ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, _]) if lo > 0.0 => "larger".into(),
        Some([_, hi]) if hi < 0.0 => "smaller".into(),
        _ => "too few images to tell".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_seeded_and_span_zero_on_mixed_images() {
        let pairs: Vec<(u64, u64)> = vec![(90, 100), (120, 100), (80, 100), (110, 100)];
        let a = bootstrap(4, |i| saving(&pairs, i)).unwrap();
        let b = bootstrap(4, |i| saving(&pairs, i)).unwrap();
        assert_eq!(a, b);
        assert!(a[0] < 0.0 && a[1] > 0.0, "{a:?}");
        assert_eq!(verdict(Some(a)), "too few images to tell");
        let pairs: Vec<(u64, u64)> = (0..10).map(|i| (70 + i, 100)).collect();
        let c = bootstrap(10, |i| saving(&pairs, i)).unwrap();
        assert!(c[1] < 0.0 && verdict(Some(c)) == "smaller", "{c:?}");
    }
}
