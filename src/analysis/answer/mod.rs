//! The answer a team can ship: for each quality target and lossy configuration, the cheapest
//! *single* setting that meets the target on every image (or on `coverage` percent of them),
//! its total bytes, the images it meets, and its saving against the anchor with a seeded 95%
//! bootstrap interval over images; which configuration to use (the cheapest one that can be
//! delivered where the images go) and what to fall back to; and, beside it, what tuning the
//! setting per image would save. Also the BD-rate of each configuration against the anchor
//! over the preset's quality band. Everything is computed from measured cells (nothing
//! interpolated except the band BD-rate) and is written to `recommendation.json`.
//!
//! The work is split by job: [`level`] chooses each configuration's settings at one target,
//! [`bootstrap`] gives the seeded intervals and verdicts, [`band`] the band BD-rate, and
//! [`card`] puts the answer into words.

mod band;
mod bootstrap;
mod card;
mod level;

use serde::{Deserialize, Serialize};

use crate::analysis::delivery::Delivery;
use crate::analysis::series::images;
use crate::metrics::{Metric, MetricDef};
use crate::record::CellRecord;

pub use bootstrap::{bootstrap, BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED};
pub use card::{card_text, distinguishing_options, named, size};
pub use level::NoUniformSetting;

pub const FEW_IMAGES: usize = 5;

/// What the answer is asked for.
#[derive(Clone, Debug)]
pub struct Ask<'a> {
    /// Preset name (recorded in the JSON).
    pub preset: String,
    pub metric: &'static MetricDef,
    pub levels: Vec<f64>,
    /// Percent of the images a uniform setting must meet the target on (default 100).
    pub coverage: f64,
    /// The anchor's curve.
    pub anchor: &'a str,
    /// Recommend only configurations every major browser decodes.
    pub web: bool,
    /// The quality band of the headline BD-rate.
    pub band: (f64, f64),
}

/// One image at one setting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageCell {
    pub image: String,
    pub spec: String,
    pub setting: Option<f64>,
    pub bytes: u64,
    /// The target metric's value there.
    pub achieved: Option<f64>,
    pub met: bool,
}

/// One configuration at one target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigAnswer {
    /// Codec and options without the setting.
    pub curve: String,
    pub codec: String,
    pub setting_key: String,
    /// The uniform setting: the cheapest measured on every image that meets the target on
    /// enough of them (`None`: no swept setting does).
    pub setting: Option<f64>,
    /// A full `--codec` spec at the uniform setting, runnable as is.
    pub spec: String,
    /// Bytes of every image at the uniform setting.
    pub total_bytes: u64,
    /// Images the uniform setting meets the target on, of `images`.
    pub images_met: usize,
    pub images: usize,
    /// Total bytes against the anchor's uniform answer, percent, over the images both compare
    /// the same channels on (`compared`).
    pub vs_anchor_pct: Option<f64>,
    /// 95% bootstrap interval of `vs_anchor_pct` over images, [lo, hi].
    pub ci95_pct: Option<[f64; 2]>,
    /// "smaller", "larger", "too few images to tell", or empty for the anchor.
    pub verdict: String,
    pub compared: usize,
    pub delivery: Delivery,
    /// Per image: the cheapest measured cell meeting the target (per-image tuning).
    pub per_image: Vec<ImageCell>,
    /// Bytes of the per-image cells, over the images each meets; `None` when some image has
    /// no cell meeting the target.
    pub per_image_total_bytes: Option<u64>,
    /// What per-image tuning saves against the uniform setting, percent.
    pub per_image_vs_uniform_pct: Option<f64>,
    /// The uniform setting's cells, one per image (what `--write-chosen` writes).
    pub uniform_cells: Vec<ImageCell>,
    /// Why there is no uniform setting.
    pub note: String,
    pub anchor: bool,
    pub recommended: bool,
}

/// Everything at one quality target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetAnswer {
    /// Written as its key.
    #[serde(with = "crate::analysis::metric_key")]
    pub metric: Metric,
    pub metric_name: String,
    pub target: f64,
    pub coverage_pct: f64,
    pub anchor: String,
    /// The recommended configuration's curve (empty: none can be recommended).
    pub recommended: String,
    /// The cheapest configuration whatever its delivery, when it is not the recommended one.
    pub cheapest_any: String,
    /// The fallback: the anchor's uniform spec (every browser decodes JPEG).
    pub fallback: String,
    pub configs: Vec<ConfigAnswer>,
    /// The answer in one line, then the per-image tuning line.
    pub card: Vec<String>,
}

/// BD-rate over the quality band and over the full range, per configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BandBd {
    pub curve: String,
    /// Mean log-rate difference against the anchor over the band, percent (images averaged
    /// geometrically), and its 95% bootstrap interval.
    pub band_pct: Option<f64>,
    pub band_ci95_pct: Option<[f64; 2]>,
    /// The same over each image's whole common quality range.
    pub full_pct: Option<f64>,
    pub images: usize,
    /// Why the two differ, in one sentence.
    pub why: String,
}

/// recommendation.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub tool_version: String,
    pub preset: String,
    /// Written as its key; reading an unknown key is an error naming it.
    #[serde(with = "crate::analysis::metric_key")]
    pub metric: Metric,
    pub coverage_pct: f64,
    pub bootstrap_samples: usize,
    pub bootstrap_seed: u64,
    pub images: usize,
    pub band: [f64; 2],
    pub targets: Vec<TargetAnswer>,
    pub band_bd: Vec<BandBd>,
    pub notes: Vec<String>,
}

/// The whole answer from a run's rows (probes included: per-image tuning uses them; uniform
/// settings need a cell on every image, which only swept settings have).
pub fn answer(records: &[CellRecord], ask: &Ask) -> Recommendation {
    let imgs: Vec<String> = images(records)
        .into_iter()
        .filter(|i| records.iter().any(|r| &r.image == i && r.is_ok()))
        .collect();
    let mut notes = Vec::new();
    if imgs.len() < FEW_IMAGES {
        notes.push(format!(
            "{} image(s): intervals over so few images are wide; add images for a firmer answer.",
            imgs.len()
        ));
    }
    if !records.iter().any(|r| (ask.metric.get)(r).is_some()) {
        notes.push(format!(
            "{} was not measured: no answer at {} levels (add it to --metrics).",
            ask.metric.name, ask.metric.name
        ));
    }
    Recommendation {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        preset: ask.preset.clone(),
        metric: ask.metric,
        coverage_pct: ask.coverage,
        bootstrap_samples: BOOTSTRAP_SAMPLES,
        bootstrap_seed: BOOTSTRAP_SEED,
        images: imgs.len(),
        band: [ask.band.0, ask.band.1],
        targets: ask
            .levels
            .iter()
            .map(|&l| level::at_level(records, ask, l, &imgs))
            .collect(),
        band_bd: if ask.band.1 > ask.band.0 {
            band::band_bd(records, ask, &imgs)
        } else {
            Vec::new()
        },
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(image: &str, curve: &str, s: f64, bytes: u64, q: f64) -> CellRecord {
        let codec = curve.split(':').next().unwrap().to_string();
        CellRecord {
            image: image.into(),
            codec: codec.clone(),
            curve: curve.into(),
            spec: format!("{codec}:q={s}"),
            setting_key: "q".into(),
            setting: Some(s),
            bytes: Some(bytes),
            bpp: Some(bytes as f64 * 8.0 / 10000.0),
            width: 100,
            height: 100,
            ssimulacra2: Some(q),
            channels_compared: "RGB".into(),
            ..CellRecord::default()
        }
    }

    fn ask(anchor: &str) -> Ask<'_> {
        Ask {
            preset: "web".into(),
            metric: crate::metrics::find("ssimulacra2").unwrap(),
            levels: vec![80.0],
            coverage: 100.0,
            anchor,
            web: true,
            band: (60.0, 90.0),
        }
    }

    /// recommendation.json keeps the metric's key as text (`"metric":"ssimulacra2"`, at the
    /// top and per target) and reads back to the same answer; an unknown key is refused with
    /// the key and the known ones named.
    #[test]
    fn recommendation_json_writes_metric_keys_and_refuses_unknown_ones() {
        let rs = vec![
            row("a", "jpeg", 80.0, 1000, 85.0),
            row("a", "avif", 50.0, 500, 84.0),
        ];
        let r = answer(&rs, &ask("jpeg"));
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json.matches(r#""metric":"ssimulacra2""#).count(),
            2,
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Recommendation>(&json).unwrap(), r);
        let bad = json.replacen(r#""metric":"ssimulacra2""#, r#""metric":"sharpness""#, 1);
        let e = serde_json::from_str::<Recommendation>(&bad)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown metric \"sharpness\" (known: psnr,"),
            "{e}"
        );
    }

    #[test]
    fn the_uniform_setting_is_the_cheapest_meeting_every_image() {
        // jpeg q=80 meets 80 on both images (1000 + 1200 B); q=70 misses one.
        // avif q=50 meets both (500 + 900 B); q=40 misses one.
        let mut rs = Vec::new();
        for (img, extra) in [("a", 0u64), ("b", 200)] {
            rs.push(row(
                img,
                "jpeg",
                70.0,
                800 + extra,
                if img == "a" { 81.0 } else { 78.0 },
            ));
            rs.push(row(img, "jpeg", 80.0, 1000 + extra, 85.0));
            rs.push(row(
                img,
                "avif",
                40.0,
                400 + extra,
                if img == "a" { 82.0 } else { 70.0 },
            ));
            rs.push(row(img, "avif", 50.0, 500 + extra * 2, 84.0));
        }
        let r = answer(&rs, &ask("jpeg"));
        let t = &r.targets[0];
        let avif = t.configs.iter().find(|c| c.curve == "avif").unwrap();
        assert_eq!(
            (avif.setting, avif.total_bytes, avif.images_met),
            (Some(50.0), 1400, 2)
        );
        assert_eq!(avif.spec, "avif:q=50");
        let jpeg = t.configs.iter().find(|c| c.curve == "jpeg").unwrap();
        assert_eq!((jpeg.setting, jpeg.total_bytes), (Some(80.0), 2200));
        // 1400 / 2200 - 1 = -36.4 %.
        assert!((avif.vs_anchor_pct.unwrap() + 36.36).abs() < 0.01);
        assert_eq!(t.recommended, "avif");
        // Per image: avif a at q=40 (400 B) and b at q=50 (900 B).
        assert_eq!(avif.per_image_total_bytes, Some(1300));
        assert!(
            t.card[0].starts_with("Use AVIF q=50 (meets SSIMULACRA2 80 on 2 of 2 images)"),
            "{}",
            t.card[0]
        );
        assert!(
            t.card[0].contains("fall back to JPEG q=80"),
            "{}",
            t.card[0]
        );
        // Coverage 50%: one image is enough, so the cheaper q=40 qualifies.
        let half = Ask {
            coverage: 50.0,
            ..ask("jpeg")
        };
        let r = answer(&rs, &half);
        let avif = r.targets[0]
            .configs
            .iter()
            .find(|c| c.curve == "avif")
            .unwrap();
        assert_eq!((avif.setting, avif.images_met), (Some(40.0), 1));
    }

    #[test]
    fn an_undeliverable_configuration_is_not_recommended_for_the_web() {
        let mut rs = Vec::new();
        for img in ["a", "b"] {
            rs.push(row(img, "jpeg", 80.0, 1000, 85.0));
            rs.push(row(img, "jxl", 1.0, 500, 85.0));
            rs.push(row(img, "webp", 80.0, 900, 85.0));
        }
        let r = answer(&rs, &ask("jpeg"));
        let t = &r.targets[0];
        assert_eq!(t.recommended, "webp");
        assert_eq!(t.cheapest_any, "jxl");
        assert!(t.card[1].contains("JXL q=1 would be"), "{}", t.card[1]);
    }
}
