//! BD-rate tables for the report: every lossy curve against every other, per quality metric,
//! computed per image on (bpp, quality) points and averaged over images (as AWCY does).

use crate::analysis::bdrate::{corpus_bd_quality, corpus_bd_rate, CorpusBd, Interp, RdPoint};
use crate::record::CellRecord;

use super::series::{image_points, images, Curve, MetricDef};

/// BD values of every (test, anchor) pair of lossy curves for one metric.
pub struct BdMatrix {
    pub metric: &'static MetricDef,
    pub curves: Vec<Curve>,
    /// `rate[test][anchor]`: mean BD-rate in percent of bits (negative: test is smaller).
    pub rate: Vec<Vec<CorpusBd>>,
    /// `quality[test][anchor]`: mean BD-quality in metric units (positive: test is better).
    pub quality: Vec<Vec<CorpusBd>>,
}

fn points(records: &[CellRecord], image: &str, curve: &str, metric: &MetricDef) -> Vec<RdPoint> {
    image_points(records, image, curve, metric)
        .into_iter()
        .map(|p| RdPoint {
            rate: p.bpp,
            quality: p.quality,
        })
        .collect()
}

/// Computes the matrix; lossless curves are left out (they have no rate-distortion curve).
pub fn matrix(
    records: &[CellRecord],
    curves: &[Curve],
    metric: &'static MetricDef,
    interp: Interp,
) -> BdMatrix {
    let lossy: Vec<Curve> = curves.iter().filter(|c| !c.lossless).cloned().collect();
    let imgs = images(records);
    let per_image = |test: &Curve, anchor: &Curve| -> Vec<(String, Vec<RdPoint>, Vec<RdPoint>)> {
        imgs.iter()
            .map(|i| {
                (
                    i.clone(),
                    points(records, i, &anchor.name, metric),
                    points(records, i, &test.name, metric),
                )
            })
            .filter(|(_, a, t)| !a.is_empty() && !t.is_empty())
            .collect()
    };
    let mut rate = Vec::new();
    let mut quality = Vec::new();
    for t in &lossy {
        let mut r_row = Vec::new();
        let mut q_row = Vec::new();
        for a in &lossy {
            let data = per_image(t, a);
            r_row.push(corpus_bd_rate(&data, interp));
            q_row.push(corpus_bd_quality(&data, interp));
        }
        rate.push(r_row);
        quality.push(q_row);
    }
    BdMatrix {
        metric,
        curves: lossy,
        rate,
        quality,
    }
}

/// Index of the anchor curve: the first lossy curve whose name or codec is `wanted`, else the
/// first lossy curve.
pub fn anchor_index(curves: &[Curve], wanted: Option<&str>) -> Result<usize, String> {
    match wanted {
        None => Ok(0),
        Some(w) => curves
            .iter()
            .position(|c| c.name == w || c.codec == w)
            .ok_or_else(|| {
                let names: Vec<&str> = curves.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "--anchor {w}: no lossy codec configuration of that name (have: {})",
                    names.join(", ")
                )
            }),
    }
}
