//! Bytes at equal quality, interpolated from the swept curves (no extra cells): for a quality
//! level, each image's cost on each lossy curve, the totals over the images every curve can be
//! compared on, relative to an anchor, and the winner per image and overall. This is what the
//! recommendation at the top of the report is made from when no target search ran.
//!
//! On one image a curve's points are taken in order of rate; the cost of quality `q` is found
//! on the first segment whose quality rises through `q` (the cheapest crossing, so a
//! non-monotonic curve still gives its cheapest way there), interpolating log(bytes) and the
//! setting linearly in quality. A level outside the measured quality range is not
//! extrapolated: the image is then not comparable for that level, and the reason is kept.

use crate::analysis::pairs::source_channels;
use crate::analysis::series::{image_points, images, Curve};
use crate::goal::TargetRow;
use crate::metrics::MetricDef;
use crate::record::CellRecord;
use crate::record::TargetStatus;

/// Why an image has no cost on a curve at a level: the reason the comparison quotes.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NoCost {
    #[error("no measured point")]
    NoPoint,
    /// The curve's cheapest point already exceeds the level (its quality there).
    #[error("its cheapest setting already gives {0:.1}: below the swept range")]
    BelowRange(f64),
    /// The curve never reaches the level (its best quality; `None`: nothing measured).
    #[error("never reaches it (best {})", best_text(.0))]
    NeverReaches(Option<f64>),
    #[error("was not searched")]
    NotSearched,
    /// The target search ended otherwise (its status as written in targets.csv, its message).
    #[error("search ended {status} ({message})")]
    SearchEnded { status: String, message: String },
}

fn best_text(best: &Option<f64>) -> String {
    best.map_or("-".into(), |a| format!("{a:.1}"))
}

/// One curve's interpolated cost of a quality level on one image.
#[derive(Clone, Debug, PartialEq)]
pub struct Cost {
    pub bytes: f64,
    /// The setting interpolated between the two settings around the crossing (`None` if the
    /// curve has no setting).
    pub setting: Option<f64>,
}

/// Where the cheapest crossing of `level` lies on `points` of (bpp, quality, setting), or why
/// there is none. `pixels` turns bpp into bytes. Quality is oriented by `metric`.
pub fn cost_at(
    records: &[CellRecord],
    image: &str,
    curve: &str,
    metric: &MetricDef,
    level: f64,
) -> Result<Cost, NoCost> {
    let pts = image_points(records, image, curve, metric);
    let pixels = records
        .iter()
        .find(|r| r.image == image)
        .map_or(0.0, |r| r.width as f64 * r.height as f64);
    if pts.is_empty() || pixels <= 0.0 {
        return Err(NoCost::NoPoint);
    }
    let o = |q: f64| metric.direction.oriented(q);
    let target = o(level);
    let bytes = |bpp: f64| bpp * pixels / 8.0;
    if o(pts[0].quality) >= target {
        return Err(NoCost::BelowRange(pts[0].quality));
    }
    for w in pts.windows(2) {
        let (q0, q1) = (o(w[0].quality), o(w[1].quality));
        if q0 < target && q1 >= target {
            let t = (target - q0) / (q1 - q0);
            let lb = bytes(w[0].bpp).ln() + t * (bytes(w[1].bpp).ln() - bytes(w[0].bpp).ln());
            let setting = match (w[0].setting, w[1].setting) {
                (Some(a), Some(b)) => Some(a + t * (b - a)),
                _ => None,
            };
            return Ok(Cost {
                bytes: lb.exp(),
                setting,
            });
        }
    }
    let best =
        pts.iter().map(|p| p.quality).fold(
            f64::NAN,
            |a, b| if a.is_nan() || o(b) > o(a) { b } else { a },
        );
    Err(NoCost::NeverReaches(Some(best)))
}

/// The equal-quality comparison at one level.
#[derive(Clone, Debug, Default)]
pub struct Level {
    pub level: f64,
    /// Curves compared (those reaching the level on at least one image), in curve order.
    pub curves: Vec<Curve>,
    /// Index of the anchor among `curves`, if it is one of them.
    pub anchor: Option<usize>,
    /// Images every compared curve reaches the level on, with the same source channels.
    pub images: Vec<String>,
    /// `costs[c][i]`: curve `c` on `images[i]`.
    pub costs: Vec<Vec<Cost>>,
    /// Total bytes per curve over `images`.
    pub totals: Vec<f64>,
    /// Images left out, with the reason.
    pub excluded: Vec<(String, String)>,
    /// Curves left out of this level (they reach it on fewer than half of the images), with
    /// the reason.
    pub dropped: Vec<(String, String)>,
    /// Index of the curve with the smallest total, if any image is comparable.
    pub winner: Option<usize>,
    /// Per image, the index of the cheapest curve.
    pub image_winner: Vec<usize>,
}

/// Where the settings of an equal-quality comparison come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// The target search's settings (targets.csv of a `--target` run).
    Searched,
    /// Interpolated between the swept settings (no extra cells).
    Interpolated,
}

impl Basis {
    /// The label shown in the report and summary.md.
    pub fn label(self) -> &'static str {
        match self {
            Basis::Searched => "searched",
            Basis::Interpolated => "interpolated",
        }
    }
}

/// Bytes at equal `metric` = `level` for the lossy `curves`, `anchor` naming one of them.
pub fn level(
    records: &[CellRecord],
    curves: &[Curve],
    anchor: Option<&str>,
    metric: &MetricDef,
    level: f64,
) -> Level {
    level_with(records, curves, anchor, metric, level, |img, curve| {
        cost_at(records, img, curve, metric, level)
    })
}

/// One image's cost of a target on one curve from the target search: the searched setting
/// and its measured bytes when the search met the target (a `non-monotonic` row counts when
/// its best point meets it), else why not.
pub fn searched_cost(
    rows: &[TargetRow],
    image: &str,
    curve: &str,
    metric: &MetricDef,
    level: f64,
) -> Result<Cost, NoCost> {
    let row = rows
        .iter()
        .find(|r| {
            r.image == image
                && r.curve == curve
                && r.goal.metric() == Some(metric)
                && (r.target - level).abs() <= 1e-9 * level.abs().max(1.0)
        })
        .ok_or(NoCost::NotSearched)?;
    let meets = row
        .achieved
        .is_some_and(|a| metric.direction.oriented(a) >= metric.direction.oriented(level));
    match (row.status, row.bytes) {
        (TargetStatus::Met | TargetStatus::NonMonotonic, Some(b)) if meets => Ok(Cost {
            bytes: b as f64,
            setting: row.setting,
        }),
        (TargetStatus::Unreachable, _) => Err(NoCost::NeverReaches(row.achieved)),
        (s, _) => Err(NoCost::SearchEnded {
            status: serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            message: row.message.clone(),
        }),
    }
}

/// Bytes at equal `metric` = `level` from the target search's rows (`targets.csv`).
pub fn searched_level(
    records: &[CellRecord],
    rows: &[TargetRow],
    curves: &[Curve],
    anchor: Option<&str>,
    metric: &MetricDef,
    level: f64,
) -> Level {
    level_with(records, curves, anchor, metric, level, |img, curve| {
        searched_cost(rows, img, curve, metric, level)
    })
}

/// The comparison at one level, with `cost(image, curve)` giving each image's cost.
fn level_with(
    records: &[CellRecord],
    curves: &[Curve],
    anchor: Option<&str>,
    metric: &MetricDef,
    level: f64,
    cost: impl Fn(&str, &str) -> Result<Cost, NoCost>,
) -> Level {
    let lossy: Vec<&Curve> = curves.iter().filter(|c| !c.lossless).collect();
    let imgs = images(records);
    let all: Vec<Vec<Result<Cost, NoCost>>> = lossy
        .iter()
        .map(|c| imgs.iter().map(|i| cost(i, &c.name)).collect())
        .collect();
    // A curve that reaches the level on few images would shrink the comparable set to those
    // few for everyone: it is left out of the level instead, and named.
    let reached = |c: usize| all[c].iter().filter(|r| r.is_ok()).count();
    let keep: Vec<usize> = (0..lossy.len())
        .filter(|&c| reached(c) > 0 && 2 * reached(c) >= imgs.len())
        .collect();
    let mut out = Level {
        level,
        curves: keep.iter().map(|&c| lossy[c].clone()).collect(),
        ..Default::default()
    };
    for c in (0..lossy.len()).filter(|c| !keep.contains(c)) {
        out.dropped.push((
            lossy[c].name.clone(),
            format!(
                "reaches {} {level} on {} of {} images",
                metric.name,
                reached(c),
                imgs.len()
            ),
        ));
    }
    out.anchor = anchor.and_then(|a| out.curves.iter().position(|c| c.name == a));
    for (i, img) in imgs.iter().enumerate() {
        let mut why = Vec::new();
        let channels: Vec<Option<&str>> = keep
            .iter()
            .map(|&c| source_channels(records, img, &lossy[c].name))
            .collect();
        if channels.iter().flatten().any(|c| Some(*c) != channels[0]) {
            why.push("the codecs compare different channels (alpha dropped by some)".to_string());
        }
        for &c in &keep {
            if let Err(e) = &all[c][i] {
                why.push(format!("{} {e}", lossy[c].name));
            }
        }
        if why.is_empty() {
            out.images.push(img.clone());
        } else {
            out.excluded.push((img.clone(), why.join("; ")));
        }
    }
    out.costs = keep
        .iter()
        .map(|&c| {
            imgs.iter()
                .enumerate()
                .filter(|(_, img)| out.images.contains(img))
                .filter_map(|(i, _)| all[c][i].clone().ok())
                .collect()
        })
        .collect();
    out.totals = out
        .costs
        .iter()
        .map(|v| v.iter().map(|c| c.bytes).sum())
        .collect();
    if !out.images.is_empty() {
        out.winner = (0..out.curves.len()).min_by(|&a, &b| out.totals[a].total_cmp(&out.totals[b]));
        out.image_winner = (0..out.images.len())
            .map(|i| {
                (0..out.curves.len())
                    .min_by(|&a, &b| out.costs[a][i].bytes.total_cmp(&out.costs[b][i].bytes))
                    .unwrap_or(0)
            })
            .collect();
    }
    out
}

/// Mean encode and decode time per megapixel (ms/MP) over a curve's successful cells on
/// `imgs` (all its settings).
pub fn speed(records: &[CellRecord], curve: &str, imgs: &[String]) -> (Option<f64>, Option<f64>) {
    let rows: Vec<&CellRecord> = records
        .iter()
        .filter(|r| r.curve == curve && r.is_ok() && imgs.contains(&r.image))
        .collect();
    let per_mp = |get: fn(&CellRecord) -> Option<f64>| {
        let v: Vec<f64> = rows
            .iter()
            .filter_map(|r| get(r).map(|ms| ms / (r.width as f64 * r.height as f64 / 1e6)))
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    (per_mp(|r| r.encode_ms), per_mp(|r| r.decode_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::series::curves;
    use crate::metrics::find;
    use crate::record::Status;

    /// 100x80 px (8000 px: bytes = bpp * 1000); PSNR stands in for the quality.
    fn rec(image: &str, curve: &str, setting: f64, bpp: f64, q: f64, ch: &str) -> CellRecord {
        CellRecord {
            image: image.into(),
            curve: curve.into(),
            codec: curve.into(),
            setting: Some(setting),
            status: Status::Ok,
            bpp: Some(bpp),
            psnr: Some(q),
            width: 100,
            height: 80,
            channels_compared: ch.into(),
            bit_depth: 8,
            ..Default::default()
        }
    }

    #[test]
    fn interpolates_log_bytes_and_setting_and_says_when_it_depends() {
        let mut rows = Vec::new();
        // "a": 1 bpp at 30, 4 bpp at 40 => at 35, exp(mid of ln 1000, ln 4000) = 2000 bytes,
        // setting 50 (midway between 40 and 60).
        for img in ["p.png", "q.png"] {
            rows.push(rec(img, "a", 40.0, 1.0, 30.0, "RGB"));
            rows.push(rec(img, "a", 60.0, 4.0, 40.0, "RGB"));
        }
        // "b" is half the cost on p.png, double on q.png: the winner depends on the image.
        rows.push(rec("p.png", "b", 1.0, 0.5, 30.0, "RGB"));
        rows.push(rec("p.png", "b", 2.0, 2.0, 40.0, "RGB"));
        rows.push(rec("q.png", "b", 1.0, 2.0, 30.0, "RGB"));
        rows.push(rec("q.png", "b", 2.0, 8.0, 40.0, "RGB"));
        // alpha.png: "b" keeps alpha, "a" drops it: not comparable.
        rows.push(rec("alpha.png", "a", 40.0, 1.0, 30.0, "RGB"));
        rows.push(rec("alpha.png", "a", 60.0, 4.0, 40.0, "RGB"));
        rows.push(rec("alpha.png", "b", 1.0, 0.1, 30.0, "RGBA"));
        rows.push(rec("alpha.png", "b", 2.0, 0.4, 40.0, "RGBA"));
        let m = find("psnr").unwrap();
        let c = cost_at(&rows, "p.png", "a", m, 35.0).unwrap();
        assert!((c.bytes - 2000.0).abs() < 1e-9, "{c:?}");
        assert!((c.setting.unwrap() - 50.0).abs() < 1e-12);
        assert!(cost_at(&rows, "p.png", "a", m, 45.0)
            .unwrap_err()
            .to_string()
            .contains("never reaches"));
        assert!(cost_at(&rows, "p.png", "a", m, 25.0)
            .unwrap_err()
            .to_string()
            .contains("below the swept range"));

        let l = level(&rows, &curves(&rows), Some("a"), m, 35.0);
        assert_eq!(l.images, ["p.png", "q.png"]);
        assert_eq!(l.excluded.len(), 1);
        assert!(l.excluded[0].1.contains("different channels"));
        // Totals: a = 2000 + 2000, b = 1000 + 4000: a wins overall, b on p.png.
        assert!((l.totals[0] - 4000.0).abs() < 1e-9 && (l.totals[1] - 5000.0).abs() < 1e-9);
        assert_eq!(l.winner, Some(0));
        assert_eq!(l.image_winner, [1, 0]);
    }
}
