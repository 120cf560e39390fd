//! Which images two curves can honestly be compared on, and the per-image BD rows of every
//! pair of lossy curves (`bd.csv`).
//!
//! Two rules keep aggregates honest:
//! - an image is compared only where both curves measured the same source channels: a codec
//!   that drops alpha (JPEG) scores RGB while one that keeps it (WebP) scores RGBA, so their
//!   bytes buy different things. Such an image is left out of the pair, with the reason.
//!   `channels_compared` is compared on its source side (before `->`): a grey image coded as
//!   replicated RGB (`L->RGB`) still measures the grey channel, like `L`.
//! - images are grouped by source bit depth and never averaged across groups: 8-bit PSNR
//!   (25-45 dB) and 16-bit PSNR (50-60 dB) live on different scales.

use serde::Serialize;

use crate::analysis::bdrate::{
    bd_quality, bd_rate, corpus_bd_quality, corpus_bd_rate, BdOutcome, CorpusBd, Interp, RdPoint,
};
use crate::analysis::series::{image_points, images, oriented_points, Curve};
use crate::metrics::{Metric, MetricDef};
use crate::record::CellRecord;

/// The source channels a curve's successful cells on `image` compared (`channels_compared`
/// up to `->`), or `None` if it has no successful cell there.
pub fn source_channels<'a>(records: &'a [CellRecord], image: &str, curve: &str) -> Option<&'a str> {
    records
        .iter()
        .find(|r| r.image == image && r.curve == curve && r.is_ok())
        .map(|r| {
            r.channels_compared
                .split("->")
                .next()
                .unwrap_or(&r.channels_compared)
        })
}

/// Why `image` cannot be compared between curves `a` and `b`, or `None` if it can.
pub fn exclusion(records: &[CellRecord], image: &str, a: &str, b: &str) -> Option<String> {
    match (
        source_channels(records, image, a),
        source_channels(records, image, b),
    ) {
        (Some(x), Some(y)) if x != y => Some(format!(
            "channels_compared differ: {a} compares {x}, {b} compares {y} (e.g. alpha dropped \
             by one codec); left out of this pair"
        )),
        _ => None,
    }
}

/// The distinct source bit depths of `records`, ascending.
pub fn bit_depths(records: &[CellRecord]) -> Vec<u8> {
    let mut d: Vec<u8> = records.iter().map(|r| r.bit_depth).collect();
    d.sort_unstable();
    d.dedup();
    d
}

/// Label of a bit-depth group, e.g. "8-bit".
pub fn depth_label(depth: u8) -> String {
    format!("{depth}-bit")
}

/// Images of `records` whose source has `depth` bits, in order of first appearance.
pub fn images_of_depth(records: &[CellRecord], depth: u8) -> Vec<String> {
    images(records)
        .into_iter()
        .filter(|i| {
            records
                .iter()
                .find(|r| &r.image == i)
                .is_some_and(|r| r.bit_depth == depth)
        })
        .collect()
}

/// How much the rate was reduced in depth: `Some("8 of 16 bits kept")` when a row's source has
/// more bits than the codec input (`codec_input` ends in its sample depth, e.g. `L8`).
pub fn depth_reduction(r: &CellRecord) -> Option<String> {
    let digits: String = r
        .codec_input
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let kept: u8 = digits.parse().ok()?;
    (kept < r.bit_depth).then(|| {
        format!(
            "{kept} of {} bits kept (at most {} of {} levels per channel)",
            r.bit_depth,
            1u64 << kept,
            1u64 << r.bit_depth
        )
    })
}

/// Oriented (higher-is-better) points of `curve` on `image`, ready for `bdrate`.
pub fn rd_points(
    records: &[CellRecord],
    image: &str,
    curve: &str,
    metric: &MetricDef,
) -> Vec<RdPoint> {
    oriented_points(
        image_points(records, image, curve, metric)
            .into_iter()
            .map(|p| (p.bpp, p.quality)),
        metric,
    )
}

/// Share of the combined quality range the two curves have in common (intersection over
/// union, the axis BD-rate integrates on); `None` if either curve is empty.
pub fn overlap(a: &[RdPoint], b: &[RdPoint]) -> Option<f64> {
    let range = |p: &[RdPoint]| {
        let lo = p.iter().map(|x| x.quality).fold(f64::INFINITY, f64::min);
        let hi = p
            .iter()
            .map(|x| x.quality)
            .fold(f64::NEG_INFINITY, f64::max);
        (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
    };
    let ((a0, a1), (b0, b1)) = (range(a)?, range(b)?);
    let union = a1.max(b1) - a0.min(b0);
    if union <= 0.0 {
        return Some(1.0);
    }
    Some(((a1.min(b1) - a0.max(b0)) / union).max(0.0))
}

/// Per-image BD of curve `a` (test) against curve `b` (anchor) over `imgs`, and the corpus
/// aggregates, with incomparable images excluded and listed. BD-quality is in the metric's own
/// units (test minus anchor at equal rate).
pub fn pair_bd(
    records: &[CellRecord],
    imgs: &[String],
    metric: &MetricDef,
    a: &str,
    b: &str,
    interp: Interp,
) -> (CorpusBd, CorpusBd) {
    let mut excluded = Vec::new();
    let mut data = Vec::new();
    for i in imgs {
        let (pa, pb) = (
            rd_points(records, i, a, metric),
            rd_points(records, i, b, metric),
        );
        if pa.is_empty() || pb.is_empty() {
            continue;
        }
        match exclusion(records, i, a, b) {
            Some(why) => excluded.push((i.clone(), why)),
            None => data.push((i.clone(), pb, pa)),
        }
    }
    let mut rate = corpus_bd_rate(&data, interp);
    let mut quality = corpus_bd_quality(&data, interp);
    let back = |v: Option<f64>| v.map(|x| metric.direction.oriented(x));
    quality.mean = back(quality.mean);
    quality.headline = back(quality.headline);
    quality.median = back(quality.median);
    quality.range = quality.range.map(|(lo, hi)| {
        let (x, y) = (metric.direction.oriented(lo), metric.direction.oriented(hi));
        (x.min(y), x.max(y))
    });
    for (_, v) in &mut quality.per_image {
        *v = back(*v);
    }
    for (img, why) in &excluded {
        rate.warnings.push(format!("{img}: {why}"));
    }
    rate.excluded = excluded.clone();
    quality.excluded = excluded;
    (rate, quality)
}

/// One row of bd.csv: a per-image BD value (`aggregate` empty) or an aggregate over the
/// images of one bit depth (`image` is `*`, or `* (16-bit)` when the run has several depths).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BdRow {
    #[serde(with = "crate::analysis::metric_key")]
    pub metric: Metric,
    pub curve_a: String,
    pub curve_b: String,
    pub image: String,
    /// Empty on per-image rows; `geomean` (the headline), `mean` or `median`.
    pub aggregate: String,
    /// Percent of bits at equal quality; negative = curve_a needs fewer bits than curve_b.
    pub bd_rate: Option<f64>,
    /// curve_a minus curve_b at equal rate, in the metric's units.
    pub bd_quality: Option<f64>,
    /// Points on each curve (per-image rows); images used (aggregate rows).
    pub points_a: Option<usize>,
    pub points_b: Option<usize>,
    /// Shared share of the two quality ranges (per-image rows).
    pub overlap: Option<f64>,
    /// `; `-separated warnings, including why an image was excluded.
    pub warnings: String,
}

/// An empty row (of the core metric), for the CSV writer's header.
impl Default for BdRow {
    fn default() -> Self {
        BdRow {
            metric: crate::metrics::core(),
            curve_a: String::new(),
            curve_b: String::new(),
            image: String::new(),
            aggregate: String::new(),
            bd_rate: None,
            bd_quality: None,
            points_a: None,
            points_b: None,
            overlap: None,
            warnings: String::new(),
        }
    }
}

/// Every bd.csv row: for each metric, each ordered pair of distinct lossy curves and each bit
/// depth, the per-image rows (excluded images included, with no value and the reason) then the
/// three aggregates.
pub fn bd_rows(
    records: &[CellRecord],
    metrics: &[&'static MetricDef],
    curves: &[Curve],
    interp: Interp,
) -> Vec<BdRow> {
    let lossy: Vec<&Curve> = curves.iter().filter(|c| !c.lossless).collect();
    let depths = bit_depths(records);
    let mut out = Vec::new();
    for &m in metrics {
        for a in &lossy {
            for b in &lossy {
                if a.name == b.name {
                    continue;
                }
                for &d in &depths {
                    let imgs = images_of_depth(records, d);
                    pair_rows(records, &imgs, m, &a.name, &b.name, interp, &mut out);
                    let star = if depths.len() > 1 {
                        format!("* ({})", depth_label(d))
                    } else {
                        "*".to_string()
                    };
                    let (r, q) = pair_bd(records, &imgs, m, &a.name, &b.name, interp);
                    if r.per_image.is_empty() && r.excluded.is_empty() {
                        continue;
                    }
                    let mut note = vec![format!(
                        "over {} of {} compared images",
                        r.images_used,
                        r.per_image.len()
                    )];
                    note.extend(
                        r.excluded
                            .iter()
                            .map(|(i, _)| format!("{i} excluded (channels_compared differ)")),
                    );
                    for (agg, rv, qv) in [
                        ("geomean", r.headline, q.headline),
                        ("mean", r.mean, q.mean),
                        ("median", r.median, q.median),
                    ] {
                        out.push(BdRow {
                            metric: m,
                            curve_a: a.name.clone(),
                            curve_b: b.name.clone(),
                            image: star.clone(),
                            aggregate: agg.into(),
                            bd_rate: rv,
                            bd_quality: qv,
                            points_a: Some(r.images_used),
                            points_b: Some(r.images_used),
                            overlap: None,
                            warnings: note.join("; "),
                        });
                    }
                }
            }
        }
    }
    out
}

fn pair_rows(
    records: &[CellRecord],
    imgs: &[String],
    m: Metric,
    a: &str,
    b: &str,
    interp: Interp,
    out: &mut Vec<BdRow>,
) {
    for i in imgs {
        let (pa, pb) = (rd_points(records, i, a, m), rd_points(records, i, b, m));
        if pa.is_empty() || pb.is_empty() {
            continue;
        }
        let mut row = BdRow {
            metric: m,
            curve_a: a.to_string(),
            curve_b: b.to_string(),
            image: i.clone(),
            points_a: Some(pa.len()),
            points_b: Some(pb.len()),
            overlap: overlap(&pa, &pb),
            ..Default::default()
        };
        if let Some(why) = exclusion(records, i, a, b) {
            row.warnings = format!("excluded: {why}");
        } else {
            let r: BdOutcome = bd_rate(&pb, &pa, interp);
            let q: BdOutcome = bd_quality(&pb, &pa, interp);
            row.bd_rate = r.value;
            row.bd_quality = q.value.map(|v| m.direction.oriented(v));
            let mut w = r.warnings;
            w.extend(q.warnings.into_iter().map(|x| format!("BD-quality: {x}")));
            row.warnings = w.join("; ");
        }
        out.push(row);
    }
}
