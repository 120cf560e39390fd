//! Bjøntegaard delta rate (BD-rate) and delta quality (BD-PSNR when quality is PSNR): the
//! average gap between two rate-distortion curves, as pure functions of the measured points.
//!
//! Definitions (VCEG-M33; JCTVC-L1100 and JVET-T2010 for PCHIP), matched against the PyPI
//! package `bjontegaard` 1.3.0 in `tests/bdrate.rs`:
//! - BD-rate interpolates log10(rate) as a function of quality, averages test minus anchor over
//!   the overlap of the two quality ranges and reports `(10^avg - 1) * 100` percent. The base of
//!   the logarithm and of the power are the same, so the result does not depend on the base.
//!   Negative means the test codec needs fewer bits for the same quality.
//! - BD-quality interpolates quality as a function of log10(rate) and reports the plain average
//!   difference (test minus anchor) over the overlap of the two log-rate ranges.
//! - [`Interp::Pchip`] (the default, used by the JCT-VC/JVET sheets, AOM CTC and VMAF) is
//!   Fritsch–Carlson monotone cubic Hermite interpolation with the end-point rule of scipy's
//!   `PchipInterpolator` (Moler's `pchip`), integrated exactly piece by piece. The `bjontegaard`
//!   package integrates exactly too (`PchipInterpolator.integrate`); AWCY (5000 samples) and
//!   the newer VMAF `calculate_bd_rate` (100 samples, trapezoid) sample instead: on the test
//!   reference cases that moves BD-rate by up to 0.003 percentage points.
//! - [`Interp::Cubic`] is the classic VCEG-M33 least-squares cubic (numpy `polyfit` degree 3),
//!   integrated analytically. It is fitted in a centred and scaled variable, which gives the
//!   same polynomial as `polyfit` with fewer rounding errors.
//!
//! Nothing is computed silently from doubtful data: every outcome carries warnings, and a value
//! that cannot be defined is `None` with at least one warning saying why: no overlap, too few
//! points (PCHIP needs 2, the cubic fit 4; below 4 PCHIP warns), a rate that is not positive and
//! finite, or a quality that is not finite. Lossless codecs (infinite PSNR) therefore have no
//! BD value; callers leave them out. Non-monotonic curves, duplicate points and an overlap below
//! [`MIN_OVERLAP`] only warn, as the reference implementations compute those too.

/// How the rate-distortion curves are interpolated before integrating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Interp {
    /// Piecewise cubic Hermite (monotone); needs 2 points, 4 or more recommended.
    #[default]
    Pchip,
    /// One least-squares cubic polynomial per curve (VCEG-M33); needs 4 points.
    Cubic,
}

impl Interp {
    /// Lower-case name as used by the `bjontegaard` package: `pchip` or `cubic`.
    pub fn name(self) -> &'static str {
        match self {
            Interp::Pchip => "pchip",
            Interp::Cubic => "cubic",
        }
    }
}

/// One encoded setting: its rate and the quality it reached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RdPoint {
    /// Rate in any positive unit (bytes, bits per pixel); only ratios matter.
    pub rate: f64,
    /// Quality, higher is better (PSNR in dB, SSIMULACRA 2 score...).
    pub quality: f64,
}

impl RdPoint {
    /// A point from its rate and quality.
    pub fn new(rate: f64, quality: f64) -> Self {
        RdPoint { rate, quality }
    }
}

/// The result of one BD computation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BdOutcome {
    /// BD-rate in percent (negative = test needs fewer bits), or BD-quality in quality units;
    /// `None` if it cannot be computed (then `warnings` says why).
    pub value: Option<f64>,
    /// Human-readable doubts about the value, or why there is none.
    pub warnings: Vec<String>,
}

/// Averaged BD values over a corpus.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CorpusBd {
    /// The headline figure. For BD-rate: the geometric mean of the per-image rate ratios,
    /// `(exp(mean ln(1 + v/100)) - 1) * 100`, which is symmetric: `(1 + BD(A,B)/100) *
    /// (1 + BD(B,A)/100) = 1` when both are over the same images. For BD-quality (a
    /// difference, already antisymmetric) it is the arithmetic mean. `None` if no image has a
    /// value.
    pub headline: Option<f64>,
    /// Arithmetic mean of the per-image values that are defined (AWCY's figure; for BD-rate not
    /// symmetric, so only a labelled secondary); `None` if none is.
    pub mean: Option<f64>,
    /// Median of the defined per-image values (mean of the middle two for an even count).
    pub median: Option<f64>,
    /// Smallest and largest defined per-image value.
    pub range: Option<(f64, f64)>,
    /// Images left out of this pair before any BD computation, with the reason (e.g. the two
    /// curves compared different channels); not counted in `per_image`.
    pub excluded: Vec<(String, String)>,
    /// Each image's name and value, in input order.
    pub per_image: Vec<(String, Option<f64>)>,
    /// How many images the mean is over.
    pub images_used: usize,
    /// Every image's warnings prefixed by its name, then corpus-level ones.
    pub warnings: Vec<String>,
}

/// Below this share of the combined range (intersection over union of the two curves' ranges
/// on the integration axis) the result leans on too little common ground; the `bjontegaard`
/// package and its Matlab twin warn at the same point, with the same ratio.
pub const MIN_OVERLAP: f64 = 0.75;

/// Fewer points than this get a warning: the classic BD setups use four rate points.
pub const RECOMMENDED_POINTS: usize = 4;

/// BD-rate of `test` against `anchor`, in percent. Infinite quality (lossless) has no BD-rate:
/// such curves give `None` with a warning, so leave lossless points out.
pub fn bd_rate(anchor: &[RdPoint], test: &[RdPoint], interp: Interp) -> BdOutcome {
    bd(anchor, test, interp, Target::Rate)
}

/// BD-quality (BD-PSNR for PSNR) of `test` against `anchor`, in quality units.
pub fn bd_quality(anchor: &[RdPoint], test: &[RdPoint], interp: Interp) -> BdOutcome {
    bd(anchor, test, interp, Target::Quality)
}

/// Per image `(name, anchor, test)`: [`bd_rate`] for each, then the arithmetic mean of the
/// defined percentages, as AWCY does.
pub fn corpus_bd_rate(
    per_image: &[(String, Vec<RdPoint>, Vec<RdPoint>)],
    interp: Interp,
) -> CorpusBd {
    let mut c = corpus(per_image, |a, t| bd_rate(a, t, interp));
    c.headline = geomean_percent(c.per_image.iter().filter_map(|(_, v)| *v));
    c
}

/// Geometric mean of rate ratios given as percentages (`v` percent means a ratio of
/// `1 + v/100`), back as a percentage. A ratio that is not positive (v <= -100, which BD-rate
/// never gives) makes it `None`.
pub fn geomean_percent(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values {
        let ratio = 1.0 + v / 100.0;
        if !(ratio > 0.0 && ratio.is_finite()) {
            return None;
        }
        sum += ratio.ln();
        n += 1;
    }
    (n > 0).then(|| ((sum / n as f64).exp() - 1.0) * 100.0)
}

/// Median of `values` (mean of the middle two for an even count); `None` if empty.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Per image `(name, anchor, test)`: [`bd_quality`] for each, then the arithmetic mean of the
/// defined values.
pub fn corpus_bd_quality(
    per_image: &[(String, Vec<RdPoint>, Vec<RdPoint>)],
    interp: Interp,
) -> CorpusBd {
    let mut c = corpus(per_image, |a, t| bd_quality(a, t, interp));
    c.headline = c.mean;
    c
}

fn corpus(
    per_image: &[(String, Vec<RdPoint>, Vec<RdPoint>)],
    one: impl Fn(&[RdPoint], &[RdPoint]) -> BdOutcome,
) -> CorpusBd {
    let mut out = CorpusBd::default();
    let mut sum = 0.0;
    for (name, anchor, test) in per_image {
        let r = one(anchor, test);
        out.warnings
            .extend(r.warnings.iter().map(|w| format!("{name}: {w}")));
        if let Some(v) = r.value {
            sum += v;
            out.images_used += 1;
        }
        out.per_image.push((name.clone(), r.value));
    }
    let skipped = per_image.len() - out.images_used;
    if out.images_used == 0 {
        out.warnings.push(format!(
            "no BD value for any of the {} images",
            per_image.len()
        ));
    } else {
        out.mean = Some(sum / out.images_used as f64);
        let defined = || out.per_image.iter().filter_map(|(_, v)| *v);
        out.median = median(defined());
        out.range = Some((
            defined().fold(f64::INFINITY, f64::min),
            defined().fold(f64::NEG_INFINITY, f64::max),
        ));
        if skipped > 0 {
            out.warnings.push(format!(
                "mean is over {} of {} images; {skipped} had no BD value",
                out.images_used,
                per_image.len()
            ));
        }
    }
    out
}

/// Which difference is averaged: rate at equal quality, or quality at equal rate.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Rate,
    Quality,
}

impl Target {
    /// Name of the integration axis, for messages.
    fn axis(self) -> &'static str {
        match self {
            Target::Rate => "quality",
            Target::Quality => "log10(rate)",
        }
    }
}

/// A curve ready to integrate: `y(x)` with strictly increasing `x`.
struct Curve {
    x: Vec<f64>,
    y: Vec<f64>,
}

fn bd(anchor: &[RdPoint], test: &[RdPoint], interp: Interp, target: Target) -> BdOutcome {
    let mut warnings = Vec::new();
    let a = prepare("anchor", anchor, interp, target, &mut warnings);
    let t = prepare("test", test, interp, target, &mut warnings);
    let value = match (a, t) {
        (Some(a), Some(t)) => mean_gap(&a, &t, interp, target, &mut warnings),
        _ => None,
    };
    let value = value.map(|avg| match target {
        Target::Rate => (10f64.powf(avg) - 1.0) * 100.0,
        Target::Quality => avg,
    });
    let value = match value {
        Some(v) if !v.is_finite() => {
            warnings.push(format!("result {v} is not finite"));
            None
        }
        v => v,
    };
    BdOutcome { value, warnings }
}

/// Checks one curve's points and turns them into `y(x)` on the integration axis, or `None`
/// (with a warning) if no honest curve can be made from them.
fn prepare(
    label: &str,
    points: &[RdPoint],
    interp: Interp,
    target: Target,
    warnings: &mut Vec<String>,
) -> Option<Curve> {
    if let Some(p) = points
        .iter()
        .find(|p| !(p.rate.is_finite() && p.rate > 0.0))
    {
        warnings.push(format!(
            "{label}: rate {} (quality {}) is not a positive finite number; no BD value",
            p.rate, p.quality
        ));
        return None;
    }
    if let Some(p) = points.iter().find(|p| !p.quality.is_finite()) {
        warnings.push(format!(
            "{label}: quality {} at rate {} is not finite (lossless?); BD values are only defined \
             for lossy points, leave this one out",
            p.quality, p.rate
        ));
        return None;
    }
    check_monotonic(label, points, warnings);

    let mut xy: Vec<(f64, f64)> = points
        .iter()
        .map(|p| match target {
            Target::Rate => (p.quality, p.rate.log10()),
            Target::Quality => (p.rate.log10(), p.quality),
        })
        .collect();
    xy.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    xy.dedup();
    // Points sharing an x (same quality, or same rate) cannot both lie on a function y(x). The
    // better one dominates: the lower rate at a quality, the higher quality at a rate.
    let before = xy.len();
    xy.dedup_by(|later, kept| {
        if later.0 != kept.0 {
            return false;
        }
        if target == Target::Quality {
            kept.1 = later.1; // sorted ascending: the later one has the higher quality
        }
        true
    });
    if xy.len() < before {
        let kept = match target {
            Target::Rate => "the lower rate",
            Target::Quality => "the higher quality",
        };
        warnings.push(format!(
            "{label}: {} point(s) share their {} with another point and were dropped, keeping {kept}",
            before - xy.len(),
            target.axis()
        ));
    }

    let n = xy.len();
    let needed = match interp {
        Interp::Pchip => 2,
        Interp::Cubic => RECOMMENDED_POINTS,
    };
    if n < needed {
        warnings.push(format!(
            "{label}: {n} distinct point(s), {} interpolation needs at least {needed}; no BD value",
            interp.name()
        ));
        return None;
    }
    if n < RECOMMENDED_POINTS {
        warnings.push(format!(
            "{label}: only {n} distinct points ({RECOMMENDED_POINTS} or more recommended); the value rests on few points"
        ));
    }
    let (x, y) = xy.into_iter().unzip();
    Some(Curve { x, y })
}

/// Warns if rate does not strictly rise with quality: such a curve has a setting that another
/// one beats on both counts, and the BD value then describes a bent curve.
fn check_monotonic(label: &str, points: &[RdPoint], warnings: &mut Vec<String>) {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| {
        a.quality
            .total_cmp(&b.quality)
            .then(a.rate.total_cmp(&b.rate))
    });
    let (mut duplicates, mut first_bad) = (0, None);
    for w in sorted.windows(2) {
        if w[0] == w[1] {
            duplicates += 1;
        } else if w[1].quality == w[0].quality || w[1].rate <= w[0].rate {
            first_bad.get_or_insert((w[0], w[1]));
        }
    }
    if duplicates > 0 {
        warnings.push(format!(
            "{label}: {duplicates} duplicate point(s) counted once"
        ));
    }
    if let Some((p, q)) = first_bad {
        warnings.push(format!(
            "{label}: curve is not monotonic (rate should rise with quality): rate {} at quality {}, \
             then rate {} at quality {}",
            p.rate, p.quality, q.rate, q.quality
        ));
    }
}

/// Average of `test - anchor` over the overlap of the two x ranges, or `None` without overlap.
fn mean_gap(
    anchor: &Curve,
    test: &Curve,
    interp: Interp,
    target: Target,
    warnings: &mut Vec<String>,
) -> Option<f64> {
    let (a0, a1) = (anchor.x[0], anchor.x[anchor.x.len() - 1]);
    let (t0, t1) = (test.x[0], test.x[test.x.len() - 1]);
    let (lo, hi) = (a0.max(t0), a1.min(t1));
    let range = format!("anchor {a0}..{a1}, test {t0}..{t1}");
    if hi <= lo {
        warnings.push(format!(
            "curves do not overlap in {} ({range}); no BD value",
            target.axis()
        ));
        return None;
    }
    let overlap = (hi - lo) / (a1.max(t1) - a0.min(t0));
    if overlap < MIN_OVERLAP {
        warnings.push(format!(
            "curves overlap on only {:.1}% of their combined {} range ({range}); below {:.0}% the \
             value may mislead",
            overlap * 100.0,
            target.axis(),
            MIN_OVERLAP * 100.0
        ));
    }
    let integral = |c: &Curve| match interp {
        Interp::Pchip => pchip::integral(&c.x, &c.y, lo, hi),
        Interp::Cubic => cubic::integral(&c.x, &c.y, lo, hi),
    };
    Some((integral(test) - integral(anchor)) / (hi - lo))
}

/// Monotone piecewise cubic Hermite interpolation, as scipy's `PchipInterpolator`.
mod pchip {
    /// -1, 0 or 1 (unlike `f64::signum`, zero maps to zero, as numpy's `sign`).
    fn sign(v: f64) -> i8 {
        (v > 0.0) as i8 - (v < 0.0) as i8
    }

    /// Derivative at an end point: the one-sided three-point estimate, kept shape-preserving.
    fn end_slope(h0: f64, h1: f64, m0: f64, m1: f64) -> f64 {
        let d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
        if sign(d) != sign(m0) {
            0.0
        } else if sign(m0) != sign(m1) && d.abs() > 3.0 * m0.abs() {
            3.0 * m0
        } else {
            d
        }
    }

    /// Derivatives at every knot (Fritsch–Carlson: weighted harmonic mean of the neighbouring
    /// slopes, zero at local extrema). Two points give the straight line.
    pub(super) fn slopes(x: &[f64], y: &[f64]) -> Vec<f64> {
        let n = x.len();
        let h: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
        let m: Vec<f64> = (0..n - 1).map(|k| (y[k + 1] - y[k]) / h[k]).collect();
        if n == 2 {
            return vec![m[0], m[0]];
        }
        let mut d = vec![0.0; n];
        for k in 1..n - 1 {
            let (ml, mr) = (m[k - 1], m[k]);
            if sign(ml) != sign(mr) || ml == 0.0 || mr == 0.0 {
                continue;
            }
            let w1 = 2.0 * h[k] + h[k - 1];
            let w2 = h[k] + 2.0 * h[k - 1];
            d[k] = (w1 + w2) / (w1 / ml + w2 / mr);
        }
        d[0] = end_slope(h[0], h[1], m[0], m[1]);
        d[n - 1] = end_slope(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
        d
    }

    /// Exact integral over `[lo, hi]` (inside the knots' range) of the interpolant, piece by
    /// piece in local power form `y0 + d0 u + c2 u^2 + c3 u^3`, `u = x - x_k`.
    pub(super) fn integral(x: &[f64], y: &[f64], lo: f64, hi: f64) -> f64 {
        let d = slopes(x, y);
        let mut total = 0.0;
        for k in 0..x.len() - 1 {
            let (u0, u1) = (lo.max(x[k]) - x[k], hi.min(x[k + 1]) - x[k]);
            if u1 <= u0 {
                continue;
            }
            let h = x[k + 1] - x[k];
            let m = (y[k + 1] - y[k]) / h;
            let c2 = (3.0 * m - 2.0 * d[k] - d[k + 1]) / h;
            let c3 = (d[k] + d[k + 1] - 2.0 * m) / (h * h);
            let prim = |u: f64| u * (y[k] + u * (d[k] / 2.0 + u * (c2 / 3.0 + u * c3 / 4.0)));
            total += prim(u1) - prim(u0);
        }
        total
    }
}

/// Least-squares cubic polynomial (VCEG-M33), as numpy's `polyfit(x, y, 3)`.
mod cubic {
    /// Exact integral over `[lo, hi]` of the least-squares cubic through `(x, y)`.
    ///
    /// The fit is done in `t = (x - c) / s`, which maps the points onto [-1, 1]: the space of
    /// cubics is the same, so is the fitted polynomial, but the Vandermonde matrix is far
    /// better conditioned than in raw PSNR values around 40 (where `x^3` is ~64000 times `x`).
    pub(super) fn integral(x: &[f64], y: &[f64], lo: f64, hi: f64) -> f64 {
        let (first, last) = (x[0], x[x.len() - 1]);
        let (c, s) = ((first + last) / 2.0, (last - first) / 2.0);
        let t: Vec<f64> = x.iter().map(|v| (v - c) / s).collect();
        let a = fit(&t, y);
        let prim = |t: f64| t * (a[0] + t * (a[1] / 2.0 + t * (a[2] / 3.0 + t * a[3] / 4.0)));
        s * (prim((hi - c) / s) - prim((lo - c) / s))
    }

    /// Coefficients `[a0, a1, a2, a3]` of `a0 + a1 t + a2 t^2 + a3 t^3` minimising the squared
    /// error, by Householder QR (stable without forming the normal equations). Needs at least
    /// four distinct `t`, which the caller guarantees.
    pub(super) fn fit(t: &[f64], y: &[f64]) -> [f64; 4] {
        let n = t.len();
        // Augmented rows [1, t, t^2, t^3 | y]: each reflection is applied to all five columns.
        let mut a: Vec<[f64; 5]> = t
            .iter()
            .zip(y)
            .map(|(&t, &y)| [1.0, t, t * t, t * t * t, y])
            .collect();
        for k in 0..4 {
            let norm = (k..n).map(|i| a[i][k] * a[i][k]).sum::<f64>().sqrt();
            let alpha = if a[k][k] > 0.0 { -norm } else { norm };
            let mut v: Vec<f64> = (k..n).map(|i| a[i][k]).collect();
            v[0] -= alpha;
            let vv: f64 = v.iter().map(|e| e * e).sum();
            // H = I - 2 v v^T / (v^T v), applied to rows k.. of columns k..5.
            let mut dots = [0.0; 5];
            for (row, vi) in a[k..].iter().zip(&v) {
                for j in k..5 {
                    dots[j] += vi * row[j];
                }
            }
            for (row, vi) in a[k..].iter_mut().zip(&v) {
                for j in k..5 {
                    row[j] -= 2.0 * dots[j] / vv * vi;
                }
            }
        }
        let mut coef = [0.0; 4];
        for k in (0..4).rev() {
            let rest: f64 = (k + 1..4).map(|j| a[k][j] * coef[j]).sum();
            coef[k] = (a[k][4] - rest) / a[k][k];
        }
        coef
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(rates: &[f64], qualities: &[f64]) -> Vec<RdPoint> {
        rates
            .iter()
            .zip(qualities)
            .map(|(&r, &q)| RdPoint::new(r, q))
            .collect()
    }

    fn jpeg() -> Vec<RdPoint> {
        curve(
            &[32410.0, 44870.0, 67320.0, 128950.0],
            &[31.92, 33.41, 35.37, 39.08],
        )
    }

    fn scaled(points: &[RdPoint], s: f64) -> Vec<RdPoint> {
        points
            .iter()
            .map(|p| RdPoint::new(p.rate * s, p.quality))
            .collect()
    }

    #[test]
    fn identical_curves_give_zero() {
        for interp in [Interp::Pchip, Interp::Cubic] {
            let r = bd_rate(&jpeg(), &jpeg(), interp);
            assert_eq!(r.value, Some(0.0), "{interp:?}");
            assert!(r.warnings.is_empty(), "{:?}", r.warnings);
            assert_eq!(bd_quality(&jpeg(), &jpeg(), interp).value, Some(0.0));
        }
    }

    #[test]
    fn uniform_scale_gives_exactly_that_percentage() {
        // log10(s r) = log10(s) + log10(r): the curves differ by a constant, whatever the
        // interpolation, so BD-rate = (s - 1) * 100 up to rounding.
        for s in [0.5, 0.9, 1.0, 1.25, 3.0] {
            for interp in [Interp::Pchip, Interp::Cubic] {
                let v = bd_rate(&jpeg(), &scaled(&jpeg(), s), interp).value.unwrap();
                assert!(
                    (v - (s - 1.0) * 100.0).abs() < 1e-9,
                    "{interp:?} s={s}: {v}"
                );
            }
        }
    }

    #[test]
    fn uniform_quality_shift_gives_that_shift() {
        let shifted: Vec<RdPoint> = jpeg()
            .iter()
            .map(|p| RdPoint::new(p.rate, p.quality + 0.5))
            .collect();
        for interp in [Interp::Pchip, Interp::Cubic] {
            let v = bd_quality(&jpeg(), &shifted, interp).value.unwrap();
            assert!((v - 0.5).abs() < 1e-12, "{interp:?}: {v}");
        }
    }

    #[test]
    fn two_point_pchip_is_the_straight_line() {
        // log10 rate 4 -> 5 over quality 30 -> 40 (anchor) and 3.9 -> 4.9 (test): a constant
        // gap of -0.1 decades, so 10^-0.1 - 1.
        let a = curve(&[1e4, 1e5], &[30.0, 40.0]);
        let t = curve(
            &[1e4 / 10f64.powf(0.1), 1e5 / 10f64.powf(0.1)],
            &[30.0, 40.0],
        );
        let v = bd_rate(&a, &t, Interp::Pchip).value.unwrap();
        assert!((v - (10f64.powf(-0.1) - 1.0) * 100.0).abs() < 1e-12, "{v}");
    }

    #[test]
    fn pchip_on_collinear_points_is_the_line() {
        // Every derivative equals the slope, so the integral of 1 + 2x over [0.5, 3.5] is
        // [x + x^2] = 15.75 - 0.75.
        let x = [0.0, 1.0, 3.0, 4.0];
        let y = [1.0, 3.0, 7.0, 9.0];
        assert_eq!(pchip::slopes(&x, &y), vec![2.0; 4]);
        assert!((pchip::integral(&x, &y, 0.5, 3.5) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn cubic_fit_recovers_a_cubic() {
        let t = [-1.0, -0.4, 0.1, 0.7, 1.0];
        let y: Vec<f64> = t
            .iter()
            .map(|t| 1.0 - 2.0 * t + 0.5 * t * t + 3.0 * t * t * t)
            .collect();
        let c = cubic::fit(&t, &y);
        for (got, want) in c.iter().zip([1.0, -2.0, 0.5, 3.0]) {
            assert!((got - want).abs() < 1e-12, "{c:?}");
        }
    }

    #[test]
    fn point_order_does_not_matter() {
        let mut shuffled = jpeg();
        shuffled.swap(0, 3);
        shuffled.swap(1, 2);
        let t = scaled(&jpeg(), 0.8);
        assert_eq!(
            bd_rate(&jpeg(), &t, Interp::Pchip),
            bd_rate(&shuffled, &t, Interp::Pchip)
        );
    }

    #[test]
    fn dominated_point_at_same_quality_is_dropped() {
        let mut a = jpeg();
        a.push(RdPoint::new(50000.0, 33.41)); // same quality as 44870, more bytes
        let t = scaled(&jpeg(), 0.8);
        let with = bd_rate(&a, &t, Interp::Pchip);
        assert_eq!(with.value, bd_rate(&jpeg(), &t, Interp::Pchip).value);
        assert!(
            with.warnings.iter().any(|w| w.contains("dropped")),
            "{:?}",
            with.warnings
        );
        assert!(
            with.warnings.iter().any(|w| w.contains("not monotonic")),
            "{:?}",
            with.warnings
        );
    }

    #[test]
    fn corpus_mean_skips_undefined_images() {
        let images = vec![
            ("a.png".to_string(), jpeg(), scaled(&jpeg(), 0.9)),
            ("b.png".to_string(), jpeg(), scaled(&jpeg(), 0.7)),
            (
                "lossless.png".to_string(),
                jpeg(),
                curve(&[1e6; 4], &[f64::INFINITY; 4]),
            ),
        ];
        let c = corpus_bd_rate(&images, Interp::Pchip);
        assert_eq!(c.images_used, 2);
        assert!((c.mean.unwrap() - -20.0).abs() < 1e-9, "{:?}", c.mean);
        assert_eq!(c.per_image[2], ("lossless.png".to_string(), None));
        assert!(c
            .warnings
            .iter()
            .any(|w| w.starts_with("lossless.png: test: quality inf")));
        assert!(c.warnings.iter().any(|w| w.contains("2 of 3 images")));
    }
}
