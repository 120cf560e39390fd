//! Which cells the visual comparison shows: for each image and lossy configuration, the cell
//! at the answer's uniform setting (the one setting per configuration that meets the middle
//! target of the preset on every image, as the answer card says) and, when it differs, the
//! cheapest cell meeting the target on that image alone (per-image tuning). Without an answer
//! (the preset's metric was not measured) the older rule applies: the searched or cheapest
//! swept cell meeting a [`QualityRule`], else the cell nearest a bpp. Cells are always picked
//! and found again by key (image, spec), never by a float read back from text.

use serde::{Deserialize, Serialize};

use crate::analysis::answer::{answer, Ask, TargetAnswer};
use crate::config::{Preset, PRESETS};
use crate::goal::Goal;
use crate::metrics::{Metric, MetricDef};
use crate::record::CellRecord;
use crate::target::TargetRow;

/// The equal-quality level crops are taken at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityRule {
    /// Written as its key (METRICS table).
    #[serde(with = "crate::analysis::metric_key")]
    pub metric: Metric,
    pub level: f64,
    /// Whether the level is a target of the run's target search (targets.csv).
    pub searched: bool,
}

impl QualityRule {
    /// E.g. "SSIMULACRA2 80".
    pub fn describe(&self) -> String {
        format!("{} {}", self.metric.name, self.level)
    }
}

/// The quality metric and levels of a target search's rows: SSIMULACRA 2 when it was a
/// target, else the first quality metric targeted; levels ascending. `None` when the search
/// had only bpp/bytes budgets.
pub fn searched_targets(rows: &[TargetRow]) -> Option<(&'static MetricDef, Vec<f64>)> {
    let quality: Vec<Metric> = rows.iter().filter_map(|r| r.goal.metric()).collect();
    let metric = *quality
        .iter()
        .find(|m| m.key == "ssimulacra2")
        .or_else(|| quality.first())?;
    let mut v: Vec<f64> = rows
        .iter()
        .filter(|r| r.goal == Goal::Quality(metric))
        .map(|r| r.target)
        .collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    Some((metric, v))
}

/// Distance of a cell's bpp from the target, on a log scale.
fn distance(bpp: f64, target_bpp: f64) -> f64 {
    (bpp / target_bpp).ln().abs()
}

/// The level crops are taken at: the middle quality target of the search's rows when there
/// are any, else SSIMULACRA 2 80, else PSNR 40 dB, else the median of the first measured
/// metric over the lossy cells; `None` when no quality metric was measured.
pub fn quality_rule(records: &[CellRecord], targets: Option<&[TargetRow]>) -> Option<QualityRule> {
    if let Some((m, levels)) = targets.and_then(searched_targets) {
        if !levels.is_empty() {
            return Some(QualityRule {
                metric: m,
                level: levels[levels.len() / 2],
                searched: true,
            });
        }
    }
    let present = crate::analysis::series::metrics_present(records);
    for (key, level) in [("ssimulacra2", 80.0), ("psnr", 40.0)] {
        if let Some(&m) = present.iter().find(|m| m.key == key) {
            return Some(QualityRule {
                metric: m,
                level,
                searched: false,
            });
        }
    }
    let m = *present.first()?;
    let mut v: Vec<f64> = records
        .iter()
        .filter(|r| r.is_ok() && !r.lossless)
        .filter_map(|r| (m.get)(r))
        .filter(|v| v.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    let level = *v.get(v.len() / 2)?;
    Some(QualityRule {
        metric: m,
        level: (level * 1000.0).round() / 1000.0,
        searched: false,
    })
}

/// The cell of `curve` on image (`id`, `hash`) to show, and why: by `rule` when there is one
/// (the searched setting, else the cheapest swept cell meeting the level, else the best swept
/// one, said so), else the cell whose bpp is nearest `target_bpp`.
pub fn choose<'a>(
    records: &'a [CellRecord],
    targets: Option<&[TargetRow]>,
    (id, hash): (&str, &str),
    curve: &str,
    rule: Option<&QualityRule>,
    target_bpp: f64,
) -> Option<(&'a CellRecord, String)> {
    let cells: Vec<&CellRecord> = records
        .iter()
        .filter(|r| {
            r.image == id
                && r.image_hash == hash
                && r.curve == curve
                && r.is_ok()
                && r.bpp.is_some()
        })
        .collect();
    let Some(rule) = rule else {
        let d = |r: &CellRecord| distance(r.bpp.unwrap_or(0.0), target_bpp);
        let r = cells.into_iter().min_by(|a, b| d(a).total_cmp(&d(b)))?;
        return Some((
            r,
            format!("nearest {target_bpp} bpp (no quality metric measured)"),
        ));
    };
    let m = rule.metric;
    let what = rule.describe();
    let mut note = String::new();
    if let (true, Some(rows)) = (rule.searched, targets) {
        if let Some(row) = rows.iter().find(|t| {
            t.image == id
                && t.curve == curve
                && t.goal == Goal::Quality(rule.metric)
                && (t.target - rule.level).abs() <= 1e-9 * rule.level.abs().max(1.0)
        }) {
            let found =
                crate::analysis::equal_quality::searched_cost(rows, id, curve, m, rule.level);
            match found {
                Ok(_) => {
                    if let Some(r) = cells
                        .iter()
                        .find(|r| r.setting == row.setting && r.bytes == row.bytes)
                    {
                        return Some((r, format!("searched: meets {what}")));
                    }
                    note = "searched cell not found; ".into();
                }
                Err(e) => note = format!("search: {e}; "),
            }
        }
    }
    let swept: Vec<&CellRecord> = cells
        .into_iter()
        .filter(|r| !r.probe && !r.lossless && (m.get)(r).is_some_and(f64::is_finite))
        .collect();
    let o = |r: &CellRecord| m.direction.oriented((m.get)(r).unwrap_or(f64::NAN));
    let goal = m.direction.oriented(rule.level);
    let bytes = |r: &CellRecord| r.bytes.unwrap_or(u64::MAX);
    if let Some(r) = swept
        .iter()
        .filter(|r| o(r) >= goal)
        .min_by_key(|r| bytes(r))
    {
        return Some((r, format!("{note}cheapest swept setting meeting {what}")));
    }
    let r = swept.into_iter().max_by(|a, b| o(a).total_cmp(&o(b)))?;
    Some((
        r,
        format!("{note}never reaches {what}: its best swept setting shown"),
    ))
}

/// The candidate among `cands` (row index, where it is, its bpp, whether it was chosen as the
/// searched or uniform cell, the merged row) that the unsharded run would have shown under the
/// same rule as [`choose`]: a preferred (searched or uniform) cell, else the cheapest meeting
/// the level, else the best; by bpp when there is no rule. Ties: plan order.
pub fn merge_pick<'a, D: Copy>(
    cands: &[(usize, D, f64, bool, &'a CellRecord)],
    rule: Option<&QualityRule>,
    target_bpp: f64,
) -> Option<(usize, D, f64, bool, &'a CellRecord)> {
    let m = rule.map(|q| (q, q.metric));
    let Some((q, m)) = m else {
        return cands.iter().copied().min_by(|a, b| {
            distance(a.2, target_bpp)
                .total_cmp(&distance(b.2, target_bpp))
                .then(a.0.cmp(&b.0))
        });
    };
    if let Some(c) = cands.iter().find(|c| c.3) {
        return Some(*c);
    }
    let o = |r: &CellRecord| m.direction.oriented((m.get)(r).unwrap_or(f64::NAN));
    let goal = m.direction.oriented(q.level);
    cands
        .iter()
        .copied()
        .filter(|c| o(c.4) >= goal)
        .min_by_key(|c| (c.4.bytes.unwrap_or(u64::MAX), c.0))
        .or_else(|| {
            cands
                .iter()
                .copied()
                .filter(|c| o(c.4).is_finite())
                .max_by(|a, b| o(a.4).total_cmp(&o(b.4)).then(b.0.cmp(&a.0)))
        })
}

/// Why a crop's cell was chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The answer's uniform setting of the configuration at the target.
    Uniform,
    /// The cheapest cell meeting the target on this image alone.
    PerImage,
    /// Chosen by a [`QualityRule`] or by bpp (no answer: the preset's metric not measured).
    #[default]
    Level,
}

impl Role {
    /// The viewer's short name of the role.
    pub fn label(self) -> &'static str {
        match self {
            Role::Uniform => "uniform setting",
            Role::PerImage => "tuned for this image",
            Role::Level => "equal quality",
        }
    }
}

/// The preset named by `--preset` on a run's command line, else the web preset.
pub fn preset_of_command(command: &[String]) -> &'static Preset {
    let named = command
        .iter()
        .position(|a| a == "--preset")
        .and_then(|i| command.get(i + 1))
        .and_then(|name| crate::config::preset(name).ok());
    named.unwrap_or(&PRESETS[0])
}

/// `--coverage` on a run's command line, else 100.
fn coverage_of_command(command: &[String]) -> f64 {
    command
        .iter()
        .position(|a| a == "--coverage")
        .and_then(|i| command.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(100.0)
}

/// The answer at the preset's middle target, computed as the report's answer card does (the
/// uniform settings do not depend on the anchor; the first lossy curve is taken as it).
/// `None` when the preset's metric was not measured or no lossy configuration was run.
pub fn middle_target(records: &[CellRecord], command: &[String]) -> Option<TargetAnswer> {
    let p = preset_of_command(command);
    let metric = crate::metrics::find(p.metric)?;
    let swept = crate::target::swept(records);
    if !crate::analysis::series::metrics_present(&swept)
        .iter()
        .any(|m| m.key == metric.key)
    {
        return None;
    }
    let curves = crate::analysis::series::curves(&swept);
    let anchor = curves.iter().find(|c| !c.lossless)?.name.clone();
    let level = *p.levels.get(p.levels.len() / 2)?;
    let rec = answer(
        records,
        &Ask {
            preset: p.name.into(),
            metric,
            levels: vec![level],
            coverage: coverage_of_command(command),
            anchor: &anchor,
            web: p.web,
            band: p.band,
        },
    );
    rec.targets.into_iter().next()
}

/// The rule crops follow when they follow the answer: its metric and target, searched when
/// the run's target search had that target.
pub fn rule_of(t: &TargetAnswer, targets: Option<&[TargetRow]>) -> QualityRule {
    QualityRule {
        metric: t.metric,
        level: t.target,
        searched: targets.is_some_and(|rows| {
            rows.iter()
                .any(|r| r.goal == Goal::Quality(t.metric) && (r.target - t.target).abs() <= 1e-9)
        }),
    }
}

/// The cells of `curve` on image (`id`, `hash`) that the answer `t` shows: the uniform
/// setting's cell, and the per-image cell when it is another one. Found by key (image, spec).
pub fn answer_cells<'a>(
    records: &'a [CellRecord],
    t: &TargetAnswer,
    (id, hash): (&str, &str),
    curve: &str,
) -> Vec<(&'a CellRecord, Role, String)> {
    let Some(config) = t.configs.iter().find(|c| c.curve == curve) else {
        return Vec::new();
    };
    let find = |spec: &str| {
        records
            .iter()
            .find(|r| r.image == id && r.image_hash == hash && r.spec == spec && r.is_ok())
    };
    let what = format!("{} {}", t.metric_name, t.target);
    let mut out = Vec::new();
    let uniform = config.uniform_cells.iter().find(|c| c.image == id);
    if let Some(u) = uniform {
        if let Some(r) = find(&u.spec) {
            let met = if u.met { "meets" } else { "misses" };
            out.push((
                r,
                Role::Uniform,
                format!(
                    "the answer's one setting for every image ({} of {} images meet {what}); here it {met} it",
                    config.images_met, config.images
                ),
            ));
        }
    }
    let tuned = config.per_image.iter().find(|c| c.image == id && c.met);
    if let Some(c) = tuned {
        if uniform.is_none_or(|u| u.spec != c.spec) {
            if let Some(r) = find(&c.spec) {
                let why = if r.probe {
                    format!("searched: meets {what} (the target search's setting for this image)")
                } else {
                    format!("the cheapest measured setting meeting {what} on this image")
                };
                out.push((r, Role::PerImage, why));
            }
        }
    }
    out
}
