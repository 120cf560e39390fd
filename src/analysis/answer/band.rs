//! The headline BD-rate: each lossy configuration against the anchor over the preset's quality
//! band, beside the same over each image's full common range, and why the two differ.

use crate::analysis::answer::bootstrap::bootstrap;
use crate::analysis::answer::{Ask, BandBd};
use crate::analysis::equal_quality::cost_at;
use crate::analysis::pairs::exclusion;
use crate::analysis::series::curves;
use crate::metrics::MetricDef;
use crate::record::CellRecord;

/// Mean over the band of ln(bytes_test / bytes_anchor) on one image, and the same over the
/// full common range; levels every 0.5 of the metric where both curves reach them.
fn log_ratio(
    records: &[CellRecord],
    image: &str,
    test: &str,
    anchor: &str,
    metric: &MetricDef,
    lo: f64,
    hi: f64,
) -> Option<f64> {
    let mut sum = 0.0;
    let mut n = 0;
    let mut q = lo;
    while q <= hi + 1e-9 {
        if let (Ok(t), Ok(a)) = (
            cost_at(records, image, test, metric, q),
            cost_at(records, image, anchor, metric, q),
        ) {
            sum += (t.bytes / a.bytes).ln();
            n += 1;
        }
        q += 0.5;
    }
    // Fewer than a fifth of the band's levels: no figure for this image.
    let levels = ((hi - lo) / 0.5).floor() as usize + 1;
    (n * 5 >= levels && n > 0).then(|| sum / n as f64)
}

fn quality_range(records: &[CellRecord], image: &str, curve: &str, m: &MetricDef) -> (f64, f64) {
    let v: Vec<f64> = crate::analysis::series::image_points(records, image, curve, m)
        .iter()
        .map(|p| p.quality)
        .collect();
    (
        v.iter().copied().fold(f64::INFINITY, f64::min),
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// Band and full-range BD-rate of each lossy curve against the anchor (per pair of curves:
/// the images both reach and compare the same channels on).
pub(super) fn band_bd(records: &[CellRecord], ask: &Ask, imgs: &[String]) -> Vec<BandBd> {
    let m = ask.metric;
    let lossy: Vec<_> = curves(records)
        .into_iter()
        .filter(|c| !c.lossless)
        .collect();
    let mut out = Vec::new();
    for c in lossy.iter().filter(|c| c.name != ask.anchor) {
        let mut band: Vec<f64> = Vec::new();
        let mut full: Vec<f64> = Vec::new();
        for i in imgs {
            if exclusion(records, i, &c.name, ask.anchor).is_some() {
                continue;
            }
            if let Some(v) = log_ratio(records, i, &c.name, ask.anchor, m, ask.band.0, ask.band.1) {
                band.push(v);
            }
            let (a0, a1) = quality_range(records, i, ask.anchor, m);
            let (t0, t1) = quality_range(records, i, &c.name, m);
            let (lo, hi) = (a0.max(t0), a1.min(t1));
            if lo < hi {
                if let Some(v) = log_ratio(records, i, &c.name, ask.anchor, m, lo, hi) {
                    full.push(v);
                }
            }
        }
        let pct = |v: &[f64], idx: &[usize]| -> Option<f64> {
            (!idx.is_empty()).then(|| {
                ((idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len() as f64).exp() - 1.0) * 100.0
            })
        };
        let all: Vec<usize> = (0..band.len()).collect();
        let all_full: Vec<usize> = (0..full.len()).collect();
        let band_pct = pct(&band, &all);
        let full_pct = pct(&full, &all_full);
        let why =
            match (band_pct, full_pct) {
                (Some(b), Some(f)) if (b - f).abs() >= 1.0 => {
                    format!(
                "The full-range figure ({f:+.1}%) also averages qualities outside {} {}-{}, \
                 where {} {} the anchor by {}; the band is what such images ship at.",
                m.name,
                ask.band.0,
                ask.band.1,
                c.name,
                if f < b { "beats" } else { "trails" },
                if (f - b).abs() > 10.0 { "far more" } else { "more" }
            )
                }
                (Some(_), Some(_)) => "The band and full-range figures agree within 1%.".into(),
                (None, _) => format!(
                    "No image has both curves over a fifth of {} {}-{}.",
                    m.name, ask.band.0, ask.band.1
                ),
                _ => String::new(),
            };
        out.push(BandBd {
            curve: c.name.clone(),
            band_pct,
            band_ci95_pct: bootstrap(band.len(), |idx| pct(&band, idx)),
            full_pct,
            images: band.len(),
            why,
        });
    }
    out
}
