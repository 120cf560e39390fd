//! The answer a team can ship: for each quality target and lossy configuration, the cheapest
//! *single* setting that meets the target on every image (or on `coverage` percent of them),
//! its total bytes, the images it meets, and its saving against the anchor with a seeded 95%
//! bootstrap interval over images; which configuration to use (the cheapest one that can be
//! delivered where the images go) and what to fall back to; and, beside it, what tuning the
//! setting per image would save. Also the BD-rate of each configuration against the anchor
//! over the preset's quality band. Everything is computed from measured cells (nothing
//! interpolated except the band BD-rate) and is written to `recommendation.json`.

use serde::{Deserialize, Serialize};

use crate::analysis::delivery::{self, Delivery};
use crate::analysis::equal_quality::cost_at;
use crate::analysis::pairs::exclusion;
use crate::analysis::series::{curves, images};
use crate::metrics::MetricDef;
use crate::record::CellRecord;

/// Bootstrap resamples per interval.
pub const BOOTSTRAP_SAMPLES: usize = 2000;
/// The bootstrap's seed: intervals are identical across reruns of the same results.
pub const BOOTSTRAP_SEED: u64 = 0x00C0_DECB_E1C4;
/// Fewer images than this: the answer says so beside every interval.
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetAnswer {
    pub metric: String,
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub tool_version: String,
    pub preset: String,
    pub metric: String,
    pub coverage_pct: f64,
    pub bootstrap_samples: usize,
    pub bootstrap_seed: u64,
    pub images: usize,
    pub band: [f64; 2],
    pub targets: Vec<TargetAnswer>,
    pub band_bd: Vec<BandBd>,
    pub notes: Vec<String>,
}

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
fn saving(pairs: &[(u64, u64)], idx: &[usize]) -> Option<f64> {
    let (c, a) = idx
        .iter()
        .fold((0u64, 0u64), |(c, a), &i| (c + pairs[i].0, a + pairs[i].1));
    (a > 0).then(|| (c as f64 / a as f64 - 1.0) * 100.0)
}

/// "smaller" / "larger" / "too few images to tell" from an interval.
fn verdict(ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, _]) if lo > 0.0 => "larger".into(),
        Some([_, hi]) if hi < 0.0 => "smaller".into(),
        _ => "too few images to tell".into(),
    }
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
) -> Result<Vec<ImageCell>, String> {
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
    best.map(|(_, c)| c).ok_or_else(|| {
        format!(
            "no single measured setting meets {} {level} on {need} of {} images (at best {most_met})",
            metric.name,
            imgs.len()
        )
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
fn at_level(records: &[CellRecord], ask: &Ask, level: f64, imgs: &[String]) -> TargetAnswer {
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
            Err(e) => a.note = e,
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
        metric: metric.key.into(),
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

/// Bytes for people: KiB or MiB.
pub fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

/// The options of `c`'s curve that tell it from the other configurations of `all` with the
/// same codec ("subsampling=444"); none when it is the codec's only configuration.
pub fn distinguishing_options(c: &ConfigAnswer, all: &[ConfigAnswer]) -> Vec<String> {
    let opts = |x: &ConfigAnswer| -> Vec<String> {
        x.curve.split_once(':').map_or(Vec::new(), |(_, o)| {
            o.split(',').map(str::to_string).collect()
        })
    };
    let twins: Vec<Vec<String>> = all
        .iter()
        .filter(|x| x.codec == c.codec && x.curve != c.curve)
        .map(opts)
        .collect();
    opts(c)
        .into_iter()
        .filter(|o| twins.iter().any(|t| !t.contains(o)))
        .collect()
}

/// A configuration at its uniform setting in words: "AVIF q=85", with its options when
/// another configuration of `all` has the same codec ("JPEG q=95 (subsampling=444,...)").
pub fn named(c: &ConfigAnswer, all: &[ConfigAnswer]) -> String {
    // Only the options that tell it from its twins: "JPEG q=95 (subsampling=444)".
    let differ = distinguishing_options(c, all);
    let options = if differ.is_empty() {
        String::new()
    } else {
        format!(" ({})", differ.join(","))
    };
    match c.setting {
        Some(s) => format!("{} {}={s}{options}", c.codec.to_uppercase(), c.setting_key),
        None => format!("{}{options}", c.codec.to_uppercase()),
    }
}

fn ci_text(c: &ConfigAnswer) -> String {
    match c.ci95_pct {
        Some([lo, hi]) => format!(" [95% CI {lo:+.0}..{hi:+.0}]"),
        None => String::new(),
    }
}

/// The answer card's lines for one level.
fn card(t: &TargetAnswer, n: usize) -> Vec<String> {
    let anchor = t.configs.iter().find(|c| c.anchor);
    let at = format!("{} {}", t.metric_name, t.target);
    let Some(r) = t.configs.iter().find(|c| c.recommended) else {
        return vec![format!(
            "At {at}: no configuration that can be delivered meets it with one setting on {}% \
             of the {n} images (see the table; lower the target or widen the sweep).",
            t.coverage_pct
        )];
    };
    let mut line = format!(
        "Use {} (meets {at} on {} of {} images): {}",
        named(r, &t.configs),
        r.images_met,
        r.images,
        size(r.total_bytes)
    );
    match (anchor, r.anchor) {
        (_, true) => line.push_str(" (the anchor: nothing measured beats it here)"),
        (Some(a), false) if !a.uniform_cells.is_empty() => {
            line.push_str(&format!(
                ", {:+.0}%{} against {}",
                r.vs_anchor_pct.unwrap_or(f64::NAN),
                ci_text(r),
                named(a, &t.configs)
            ));
            if r.verdict == "too few images to tell" {
                line.push_str(" (too few images to tell)");
            }
            if r.compared < r.images {
                line.push_str(&format!(
                    " over the {} of {} images both compare alike",
                    r.compared, r.images
                ));
            }
        }
        (Some(a), false) => line.push_str(&format!(
            "; no single {} setting meets it on {} of the images ({}), so there is no saving \
             against it to give",
            a.codec.to_uppercase(),
            if t.coverage_pct >= 100.0 {
                "all".to_string()
            } else {
                format!("{}%", t.coverage_pct)
            },
            a.note
                .split_once('(')
                .map_or("", |(_, n)| n.trim_end_matches(')'))
        )),
        (None, _) => {}
    }
    let fallback = t
        .configs
        .iter()
        .find(|c| c.spec == t.fallback && !c.spec.is_empty());
    match fallback {
        Some(f) if !f.recommended => {
            line.push_str(&format!("; fall back to {}.", named(f, &t.configs)))
        }
        _ => line.push('.'),
    }
    let mut second = format!("{}.", capitalise(&r.delivery.label));
    if let Some(p) = r.per_image_vs_uniform_pct {
        let v: Vec<f64> = r.per_image.iter().filter_map(|c| c.setting).collect();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if p <= -0.5 {
            second.push_str(&format!(
                " Tuning the setting per image ({}={lo}..{hi}) saves a further {:.0}% ({}).",
                r.setting_key,
                -p,
                size(r.per_image_total_bytes.unwrap_or(0))
            ));
        } else {
            second.push_str(" Tuning the setting per image saves nothing more here.");
        }
    }
    if let Some(c) = t.configs.iter().find(|c| c.curve == t.cheapest_any) {
        second.push_str(&format!(
            " {} would be {:.0}% smaller than it, but {}.",
            named(c, &t.configs),
            (1.0 - c.total_bytes as f64 / r.total_bytes.max(1) as f64) * 100.0,
            if c.delivery.label == "no browser" {
                "no browser decodes it".to_string()
            } else {
                format!("it serves in {}", c.delivery.label)
            }
        ));
    }
    if n < FEW_IMAGES {
        second.push_str(&format!(" Only {n} image(s): treat the saving as a hint."));
    }
    vec![line, second]
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

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
fn band_bd(records: &[CellRecord], ask: &Ask, imgs: &[String]) -> Vec<BandBd> {
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
        metric: ask.metric.key.into(),
        coverage_pct: ask.coverage,
        bootstrap_samples: BOOTSTRAP_SAMPLES,
        bootstrap_seed: BOOTSTRAP_SEED,
        images: imgs.len(),
        band: [ask.band.0, ask.band.1],
        targets: ask
            .levels
            .iter()
            .map(|&l| at_level(records, ask, l, &imgs))
            .collect(),
        band_bd: if ask.band.1 > ask.band.0 {
            band_bd(records, ask, &imgs)
        } else {
            Vec::new()
        },
        notes,
    }
}

/// The answer card: one line per target, its second line indented.
pub fn card_text(r: &Recommendation) -> String {
    let mut out = String::new();
    for t in &r.targets {
        for (i, l) in t.card.iter().enumerate() {
            out.push_str(if i == 0 { "" } else { "  " });
            out.push_str(l);
            out.push('\n');
        }
    }
    for n in &r.notes {
        out.push_str(n);
        out.push('\n');
    }
    out
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
