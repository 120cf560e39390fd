//! The answer at one quality target: each lossy configuration's uniform setting (the cheapest
//! meeting the target on enough images), its per-image tuning, its saving against the anchor,
//! and which configuration to recommend and fall back to.

use crate::analysis::answer::bootstrap::{bootstrap, saving, verdict};
use crate::analysis::answer::card::card;
use crate::analysis::answer::{Ask, ConfigAnswer, ImageCell, TargetAnswer};
use crate::analysis::delivery;
use crate::analysis::pairs::exclusion;
use crate::analysis::series::curves;
use crate::metrics::MetricDef;
use crate::record::CellRecord;

/// No single measured setting of a configuration meets the target on enough images (the
/// configuration's `note`; the card quotes the part in brackets).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no single measured setting meets {metric} {level} on {need} of {images} images (at best {most_met})")]
pub struct NoUniformSetting {
    /// The metric's display name.
    pub metric: &'static str,
    pub level: f64,
    /// Images the setting had to meet the target on.
    pub need: usize,
    pub images: usize,
    /// The most images any measured setting met it on.
    pub most_met: usize,
}

fn cell(r: &CellRecord, metric: &MetricDef, level: f64) -> ImageCell {
    let achieved = (metric.get)(r);
    ImageCell {
        image: r.image.clone(),
        spec: r.spec.clone(),
        setting: r.setting,
        bytes: r.bytes.unwrap_or(0),
        achieved,
        met: achieved
            .is_some_and(|v| metric.direction.oriented(v) >= metric.direction.oriented(level)),
    }
}

/// The uniform answer of one curve at one level over `imgs`: the cheapest setting measured on
/// every image that meets the level on at least `need` of them.
fn uniform(
    records: &[CellRecord],
    curve: &str,
    imgs: &[String],
    metric: &MetricDef,
    level: f64,
    need: usize,
) -> Result<Vec<ImageCell>, NoUniformSetting> {
    let mut settings: Vec<f64> = records
        .iter()
        .filter(|r| r.curve == curve && !r.lossless && r.is_ok())
        .filter_map(|r| r.setting)
        .collect();
    settings.sort_by(f64::total_cmp);
    settings.dedup();
    let mut best: Option<(u64, Vec<ImageCell>)> = None;
    let mut most_met = 0;
    for s in settings {
        let cells: Vec<ImageCell> = imgs
            .iter()
            .filter_map(|i| {
                records
                    .iter()
                    .find(|r| {
                        &r.image == i
                            && r.curve == curve
                            && r.setting == Some(s)
                            && !r.lossless
                            && r.is_ok()
                            && r.bytes.is_some()
                    })
                    .map(|r| cell(r, metric, level))
            })
            .collect();
        if cells.len() < imgs.len() {
            continue;
        }
        let met = cells.iter().filter(|c| c.met).count();
        most_met = most_met.max(met);
        if met < need {
            continue;
        }
        let total: u64 = cells.iter().map(|c| c.bytes).sum();
        if best.as_ref().is_none_or(|(b, _)| total < *b) {
            best = Some((total, cells));
        }
    }
    best.map(|(_, c)| c).ok_or(NoUniformSetting {
        metric: metric.name,
        level,
        need,
        images: imgs.len(),
        most_met,
    })
}

/// Per image, the cheapest measured cell of `curve` meeting the level (probes included).
fn per_image(
    records: &[CellRecord],
    curve: &str,
    imgs: &[String],
    metric: &MetricDef,
    level: f64,
) -> Vec<ImageCell> {
    imgs.iter()
        .filter_map(|i| {
            records
                .iter()
                .filter(|r| &r.image == i && r.curve == curve && !r.lossless && r.is_ok())
                .map(|r| cell(r, metric, level))
                .filter(|c| c.met)
                .min_by_key(|c| c.bytes)
        })
        .collect()
}

fn spec_of(records: &[CellRecord], cells: &[ImageCell]) -> String {
    let _ = records;
    cells.first().map_or(String::new(), |c| c.spec.clone())
}

/// The answer at one level.
pub(super) fn at_level(
    records: &[CellRecord],
    ask: &Ask,
    level: f64,
    imgs: &[String],
) -> TargetAnswer {
    let metric = ask.metric;
    let need = ((ask.coverage / 100.0) * imgs.len() as f64 - 1e-9)
        .ceil()
        .max(1.0) as usize;
    let lossy: Vec<_> = curves(records)
        .into_iter()
        .filter(|c| !c.lossless)
        .collect();
    let mut configs: Vec<ConfigAnswer> = Vec::new();
    for c in &lossy {
        let first = records.iter().find(|r| r.curve == c.name && !r.lossless);
        let Some(first) = first else { continue };
        let mut a = ConfigAnswer {
            curve: c.name.clone(),
            codec: c.codec.clone(),
            setting_key: first.setting_key.clone(),
            images: imgs.len(),
            delivery: delivery::of(&first.codec, &first.options),
            anchor: c.name == ask.anchor,
            ..ConfigAnswer::default()
        };
        match uniform(records, &c.name, imgs, metric, level, need) {
            Ok(cells) => {
                a.setting = cells.first().and_then(|x| x.setting);
                a.spec = spec_of(records, &cells);
                a.total_bytes = cells.iter().map(|x| x.bytes).sum();
                a.images_met = cells.iter().filter(|x| x.met).count();
                a.uniform_cells = cells;
            }
            Err(e) => a.note = e.to_string(),
        }
        a.per_image = per_image(records, &c.name, imgs, metric, level);
        if a.per_image.len() == imgs.len() {
            let t: u64 = a.per_image.iter().map(|x| x.bytes).sum();
            a.per_image_total_bytes = Some(t);
            if a.total_bytes > 0 {
                a.per_image_vs_uniform_pct = Some((t as f64 / a.total_bytes as f64 - 1.0) * 100.0);
            }
        }
        configs.push(a);
    }
    // Against the anchor, per pair: the images both compare the same channels on.
    let anchor_cells = configs
        .iter()
        .find(|c| c.anchor)
        .map(|c| c.uniform_cells.clone())
        .unwrap_or_default();
    for a in configs.iter_mut() {
        if a.anchor || a.uniform_cells.is_empty() || anchor_cells.is_empty() {
            continue;
        }
        let pairs: Vec<(u64, u64)> = a
            .uniform_cells
            .iter()
            .zip(&anchor_cells)
            .filter(|(x, _)| exclusion(records, &x.image, &a.curve, ask.anchor).is_none())
            .map(|(x, y)| (x.bytes, y.bytes))
            .collect();
        let all: Vec<usize> = (0..pairs.len()).collect();
        a.compared = pairs.len();
        a.vs_anchor_pct = saving(&pairs, &all);
        a.ci95_pct = bootstrap(pairs.len(), |idx| saving(&pairs, idx));
        a.verdict = verdict(a.ci95_pct);
    }
    // Recommended: the cheapest uniform answer that can be delivered (web) or at all.
    let cheapest = |web: bool| {
        configs
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.uniform_cells.is_empty() && (!web || c.delivery.all_major))
            .min_by_key(|(_, c)| c.total_bytes)
            .map(|(i, _)| i)
    };
    let rec = cheapest(ask.web);
    let any = cheapest(false);
    if let Some(i) = rec {
        configs[i].recommended = true;
    }
    let mut t = TargetAnswer {
        metric,
        metric_name: metric.name.into(),
        target: level,
        coverage_pct: ask.coverage,
        anchor: ask.anchor.into(),
        recommended: rec.map_or(String::new(), |i| configs[i].curve.clone()),
        cheapest_any: match (rec, any) {
            (Some(r), Some(a)) if r != a => configs[a].curve.clone(),
            (None, Some(a)) => configs[a].curve.clone(),
            _ => String::new(),
        },
        // The fallback: the anchor's uniform spec, else the cheapest JPEG one (every browser
        // decodes JPEG).
        fallback: configs
            .iter()
            .find(|c| c.anchor && !c.spec.is_empty())
            .or_else(|| {
                configs
                    .iter()
                    .filter(|c| c.delivery.format == "jpeg" && !c.spec.is_empty())
                    .min_by_key(|c| c.total_bytes)
            })
            .map_or(String::new(), |c| c.spec.clone()),
        configs,
        card: Vec::new(),
    };
    t.card = card(&t, imgs.len());
    t
}
