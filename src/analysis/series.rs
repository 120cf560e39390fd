//! Rate-distortion series from result rows: which quality metrics a run has, which curves
//! (codec configurations) it has, and their points per image or averaged over the corpus.

use std::collections::HashSet;

use crate::analysis::bdrate::RdPoint;
use crate::metrics::{MetricDef, METRICS};
use crate::record::CellRecord;

/// The metrics of the table with at least one finite value among successful rows, in table
/// order.
pub fn metrics_present(records: &[CellRecord]) -> Vec<&'static MetricDef> {
    METRICS
        .iter()
        .filter(|m| {
            records
                .iter()
                .any(|r| r.is_ok() && (m.get)(r).is_some_and(f64::is_finite))
        })
        .collect()
}

/// The distinct settings of `rows`, ascending (no setting first). Settings are numbers, so
/// `total_cmp` orders them and `==` makes them equal (0.0 and -0.0 are one setting).
fn distinct_settings<'a>(rows: impl Iterator<Item = &'a CellRecord>) -> Vec<Option<f64>> {
    let mut settings: Vec<Option<f64>> = rows.map(|r| r.setting).collect();
    settings.sort_by(|a, b| match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(y),
        _ => a.is_some().cmp(&b.is_some()),
    });
    settings.dedup_by(|a, b| a == b);
    settings
}

/// A setting as a hash key: f64 is not `Hash`, its bits are (-0.0 is folded into 0.0, as `==`
/// makes them one setting).
fn setting_key(s: Option<f64>) -> Option<u64> {
    s.map(|v| if v == 0.0 { 0.0f64 } else { v }.to_bits())
}

/// One codec configuration (all settings of one codec with fixed options).
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub name: String,
    pub codec: String,
    pub lossless: bool,
    /// Colour index, the same in every plot and table.
    pub color: usize,
}

/// Curves in order of first appearance. Colours go first to the curves with lossy cells (the
/// ones rate-distortion plots draw), in that order, then to the lossless ones, so that the RD
/// plots' few curves never share a colour with each other.
pub fn curves(records: &[CellRecord]) -> Vec<Curve> {
    let mut out: Vec<Curve> = Vec::new();
    let mut has_lossy: Vec<bool> = Vec::new();
    for r in records {
        match out.iter().position(|c| c.name == r.curve) {
            Some(i) => has_lossy[i] |= !r.lossless,
            None => {
                out.push(Curve {
                    name: r.curve.clone(),
                    codec: r.codec.clone(),
                    lossless: r.lossless,
                    color: 0,
                });
                has_lossy.push(!r.lossless);
            }
        }
    }
    let lossy = has_lossy.iter().filter(|&&l| l).count();
    let (mut next_lossy, mut next_lossless) = (0, lossy);
    for (c, &l) in out.iter_mut().zip(&has_lossy) {
        // A curve is lossless when all of its cells are (`jxl:d=0,1,2` is a lossy curve).
        c.lossless = !l;
        let next = if l {
            &mut next_lossy
        } else {
            &mut next_lossless
        };
        c.color = *next;
        *next += 1;
    }
    out
}

/// Image ids in order of first appearance.
pub fn images(records: &[CellRecord]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        if !out.contains(&r.image) {
            out.push(r.image.clone());
        }
    }
    out
}

/// One point of a curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub setting: Option<f64>,
    pub bpp: f64,
    pub quality: f64,
}

/// The points of `curve` on `image`, ordered by bpp, skipping failed cells and non-finite
/// quality, and lossless cells (they have no place on a rate-distortion curve, even where a
/// metric gives them a finite score: SSIM 1, SSIMULACRA2 100; `jxl:d=0` shares its curve with
/// the lossy distances).
pub fn image_points(
    records: &[CellRecord],
    image: &str,
    curve: &str,
    metric: &MetricDef,
) -> Vec<Point> {
    let mut pts: Vec<Point> = records
        .iter()
        .filter(|r| r.image == image && r.curve == curve && r.is_ok() && !r.lossless)
        .filter_map(|r| {
            let q = (metric.get)(r)?;
            (q.is_finite() && r.bpp.is_some()).then(|| Point {
                setting: r.setting,
                bpp: r.bpp.unwrap_or(f64::NAN),
                quality: q,
            })
        })
        .collect();
    pts.sort_by(|a, b| a.bpp.total_cmp(&b.bpp));
    pts
}

/// Corpus curve: at each setting, the mean of per-image bpp and of per-image quality, over the
/// images that have a finite value at every setting of this curve (so every point averages the
/// same images). Returns the points (ordered by setting) and how many images they average.
pub fn corpus_points(
    records: &[CellRecord],
    curve: &str,
    metric: &MetricDef,
) -> (Vec<Point>, usize) {
    // Lossless cells are not points (see `image_points`), nor settings every image must have:
    // `jxl:d=0` would otherwise leave the jxl curve with no complete image.
    let rows: Vec<&CellRecord> = records
        .iter()
        .filter(|r| r.curve == curve && !r.lossless)
        .collect();
    let settings = distinct_settings(rows.iter().copied());
    let usable = |r: &CellRecord| {
        r.is_ok() && !r.lossless && r.bpp.is_some() && (metric.get)(r).is_some_and(f64::is_finite)
    };
    // (image, setting) pairs with a usable value, looked up rather than searched for: a large
    // corpus has many rows per curve.
    let have: HashSet<(&str, Option<u64>)> = rows
        .iter()
        .filter(|r| usable(r))
        .map(|r| (r.image.as_str(), setting_key(r.setting)))
        .collect();
    let complete: HashSet<String> = images(records)
        .into_iter()
        .filter(|img| {
            settings
                .iter()
                .all(|s| have.contains(&(img.as_str(), setting_key(*s))))
        })
        .collect();
    if complete.is_empty() {
        return (Vec::new(), 0);
    }
    let points = settings
        .iter()
        .map(|s| {
            let at: Vec<&&CellRecord> = rows
                .iter()
                .filter(|r| r.setting == *s && complete.contains(&r.image) && usable(r))
                .collect();
            let n = at.len() as f64;
            Point {
                setting: *s,
                bpp: at.iter().filter_map(|r| r.bpp).sum::<f64>() / n,
                quality: at.iter().filter_map(|r| (metric.get)(r)).sum::<f64>() / n,
            }
        })
        .collect();
    (points, complete.len())
}

/// Rate-distortion points of `metric` for BD computations: `(bpp, value)` pairs turned so that
/// quality is higher-is-better ([`crate::metrics::Direction::oriented`]), which
/// `crate::analysis::bdrate` assumes. Lower-is-better metrics come out negated.
pub fn oriented_points(
    points: impl IntoIterator<Item = (f64, f64)>,
    metric: &MetricDef,
) -> Vec<RdPoint> {
    points
        .into_iter()
        .map(|(bpp, q)| RdPoint::new(bpp, metric.direction.oriented(q)))
        .collect()
}

/// Mean encode time per megapixel (ms/MP) against mean bpp, per setting of `curve`.
pub fn speed_points(records: &[CellRecord], curve: &str) -> Vec<(f64, f64)> {
    let rows: Vec<&CellRecord> = records
        .iter()
        .filter(|r| r.curve == curve && r.is_ok() && r.encode_ms.is_some() && r.bpp.is_some())
        .collect();
    distinct_settings(rows.iter().copied())
        .iter()
        .map(|s| {
            let at: Vec<&&CellRecord> = rows.iter().filter(|r| r.setting == *s).collect();
            let n = at.len() as f64;
            let bpp = at.iter().filter_map(|r| r.bpp).sum::<f64>() / n;
            let ms_per_mp = at
                .iter()
                .map(|r| r.encode_ms.unwrap_or(0.0) / (r.width as f64 * r.height as f64 / 1e6))
                .sum::<f64>()
                / n;
            (bpp, ms_per_mp)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(image: &str, curve: &str, setting: f64, bpp: f64, psnr: f64) -> CellRecord {
        CellRecord {
            image: image.into(),
            curve: curve.into(),
            codec: curve.into(),
            setting: Some(setting),
            status: crate::record::Status::Ok,
            bpp: Some(bpp),
            psnr: Some(psnr),
            width: 1000,
            height: 1000,
            encode_ms: Some(10.0),
            ..Default::default()
        }
    }

    #[test]
    fn corpus_points_average_only_images_complete_on_the_curve() {
        let mut failed = rec("c", "jpeg", 20.0, 0.4, 31.0);
        failed.status = crate::record::Status::Error;
        let rows = vec![
            rec("a", "jpeg", 10.0, 0.2, 30.0),
            rec("a", "jpeg", 20.0, 0.4, 34.0),
            rec("b", "jpeg", 10.0, 0.4, 32.0),
            rec("b", "jpeg", 20.0, 0.8, 36.0),
            rec("c", "jpeg", 10.0, 9.0, 99.0),
            failed,
            rec("a", "png", 2.0, 9.0, f64::INFINITY),
        ];
        let m = &METRICS[0];
        let (pts, n) = corpus_points(&rows, "jpeg", m);
        assert_eq!(n, 2);
        assert_eq!(
            pts[0],
            Point {
                setting: Some(10.0),
                bpp: 0.30000000000000004,
                quality: 31.0
            }
        );
        assert_eq!(pts[1].quality, 35.0);
        assert!(
            corpus_points(&rows, "png", m).0.is_empty(),
            "lossless has no RD points"
        );
        assert_eq!(image_points(&rows, "b", "jpeg", m).len(), 2);
        assert_eq!(
            curves(&rows).iter().map(|c| c.color).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(speed_points(&rows, "jpeg")[0].1, 10.0);
    }

    #[test]
    fn a_lossless_setting_on_a_lossy_curve_is_not_required_of_the_corpus_curve() {
        let mut exact = rec("a", "jxl", 0.0, 9.0, 100.0);
        exact.lossless = true;
        let rows = vec![
            exact,
            rec("a", "jxl", 1.0, 1.0, 80.0),
            rec("a", "jxl", 3.0, 0.5, 60.0),
        ];
        let m = METRICS.iter().find(|m| m.key == "psnr").unwrap();
        let (pts, n) = corpus_points(&rows, "jxl", m);
        assert_eq!((pts.len(), n), (2, 1), "{pts:?}");
        assert_eq!(image_points(&rows, "a", "jxl", m).len(), 2);
    }

    #[test]
    fn lossy_curves_take_the_first_colours() {
        let mut png = rec("a", "png", 2.0, 9.0, f64::INFINITY);
        png.lossless = true;
        let rows = vec![
            png,
            rec("a", "jpeg", 10.0, 0.2, 30.0),
            rec("a", "webp", 10.0, 0.2, 30.0),
        ];
        let c = curves(&rows);
        let names: Vec<(&str, usize)> = c.iter().map(|c| (c.name.as_str(), c.color)).collect();
        assert_eq!(names, [("png", 2), ("jpeg", 0), ("webp", 1)]);
        // A curve whose first cell is lossless but not all of them is a lossy curve.
        let mut d0 = rec("a", "jxl", 0.0, 9.0, f64::INFINITY);
        d0.lossless = true;
        let c = curves(&[d0, rec("a", "jxl", 1.0, 1.0, 40.0)]);
        assert!(!c[0].lossless);
    }
}
