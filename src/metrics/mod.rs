//! Quality metrics: how far a decoded image is from its source. Each metric family lives in its
//! own file (the kernels below); this module owns the one table, [`METRICS`], that every other
//! part of the program iterates: CLI name, results.csv and summary.csv columns, labels, display
//! precision, which direction is better, and how the metric is scored.
//!
//! Adding a metric: its kernel file, a `mod` line and one [`MetricDef`] entry here, plus its
//! columns in `CellRecord` (src/record.rs) and `SummaryRow` (both in src/record.rs), which
//! serde needs as named fields.

pub mod butteraugli;
pub mod luma;
mod psnr;
pub mod ssim;
pub mod ssimulacra2;

pub use psnr::distortion_and_luma;
pub use psnr::{distortion, psnr_from_mse, Distortion};

use std::any::Any;
use std::fmt;

use crate::pixels::{Image, Layout};
use crate::record::{CellRecord, SummaryRow};

use self::butteraugli::ButteraugliOriginal;
use self::ssim::SsimReference;
use self::ssimulacra2::Ssimulacra2Reference;

/// Which way a metric improves. Rate-distortion analysis and the regression gate orient every
/// value with it, so a distortion measure (lower is better) is never read as a quality.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// A quality score: PSNR, SSIM, SSIMULACRA2.
    HigherIsBetter,
    /// A distortion: MSE, Butteraugli, DSSIM.
    LowerIsBetter,
}

impl Direction {
    /// +1 for higher-is-better, -1 for lower-is-better.
    pub fn sign(self) -> f64 {
        match self {
            Direction::HigherIsBetter => 1.0,
            Direction::LowerIsBetter => -1.0,
        }
    }

    /// `v` turned so that higher is always better (negated for lower-is-better). Oriented
    /// values are for comparing and integrating only; show the metric's own values to people.
    /// The map is its own inverse, so it also turns an oriented value back.
    pub fn oriented(self, v: f64) -> f64 {
        self.sign() * v
    }

    /// Whether `a` is strictly better than `b`.
    pub fn is_better(self, a: f64, b: f64) -> bool {
        self.oriented(a) > self.oriented(b)
    }

    /// How much worse `new` is than `old`, in the metric's units: positive when it got worse,
    /// negative when it improved, whatever the direction.
    pub fn worsening(self, old: f64, new: f64) -> f64 {
        self.oriented(old) - self.oriented(new)
    }

    /// The sign of a difference (new - old) that means better: "positive" or "negative".
    pub fn better_sign(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "positive",
            Direction::LowerIsBetter => "negative",
        }
    }

    /// "higher is better" or "lower is better", for documentation and reports.
    pub fn describe(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "higher is better",
            Direction::LowerIsBetter => "lower is better",
        }
    }
}

/// What an original is turned into before scoring, shared by every metric with the same
/// `prepare_key` (SSIM and MS-SSIM share one [`SsimReference`]).
pub type Prepared = Box<dyn Any + Send + Sync>;

/// How a perceptual metric is computed from the compared channels (see `crate::measure`).
pub struct Scorer {
    /// Metrics with equal keys share one prepared original and are scored by one call.
    pub prepare_key: &'static str,
    /// The expensive part that depends on the original only, built once per original view.
    pub prepare: fn(&Image) -> Prepared,
    /// `score(prepared, original view, distorted view, keys)` scores every selected metric of
    /// the group at once (`keys`: their CLI keys, in table order) and returns one result per
    /// key, in that order, so metrics that share work (SSIM and MS-SSIM's full-scale pass,
    /// butteraugli's two norms) compute it once. `Err` says why there is no value (e.g. image
    /// too small), which becomes a note in the row.
    pub score: ScoreFn,
    /// The value for a distorted view identical to the original, known without computing
    /// (PSNR-Y inf, SSIM 1, SSIMULACRA2 100, butteraugli 0), or the error the metric would
    /// give (e.g. image too small): `exact(prepared, original view)`.
    pub exact: fn(&(dyn Any + Send + Sync), &Image) -> Result<f64, ScoreError>,
}

/// See [`Scorer::score`].
pub type ScoreFn =
    fn(&(dyn Any + Send + Sync), &Image, &Image, &[&str]) -> Vec<Result<f64, ScoreError>>;

/// Why a metric has no value for a pair of images: the text becomes the row's metric note.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("image sizes differ: original {}x{}, distorted {}x{}", .original.0, .original.1, .distorted.0, .distorted.1)]
    Sizes {
        original: (u32, u32),
        distorted: (u32, u32),
    },
    #[error("layouts differ: original {original}, distorted {distorted}")]
    Layouts { original: Layout, distorted: Layout },
    #[error("empty image (0 pixels): {metric} is not defined")]
    Empty { metric: &'static str },
    #[error("image smaller than the 11x11 SSIM window ({width}x{height})")]
    SsimWindow { width: u32, height: u32 },
    #[error("image too small for 5-scale MS-SSIM ({width}x{height}; both sides must exceed 160)")]
    MsSsimScales { width: u32, height: u32 },
    #[error("image smaller than 8x8 ({width}x{height}): SSIMULACRA2 needs at least 8x8 pixels")]
    Ssimulacra2Size { width: u32, height: u32 },
    #[error("image smaller than butteraugli's 8x8 minimum ({width}x{height})")]
    ButteraugliSize { width: usize, height: usize },
    /// The butteraugli crate's own message.
    #[error("butteraugli: {0}")]
    Butteraugli(String),
    /// A mismatch in the metric table (a bug), reported as a note rather than a crash.
    #[error("internal error: {0}")]
    Internal(String),
}

/// One result per key from a scorer that computes a single metric.
fn single(keys: &[&str], value: Result<f64, ScoreError>) -> Vec<Result<f64, ScoreError>> {
    vec![value; keys.len()]
}

/// SSIM and MS-SSIM from one full-scale pass when both are selected.
fn score_ssim(
    p: &(dyn Any + Send + Sync),
    _: &Image,
    distorted: &Image,
    keys: &[&str],
) -> Vec<Result<f64, ScoreError>> {
    let reference = match prepared::<SsimReference>(p) {
        Ok(r) => r,
        Err(e) => return single(keys, Err(e)),
    };
    let want_ms = keys.contains(&"ms-ssim");
    let scored = if keys.contains(&"ssim") {
        reference.ssim_and_ms_ssim(distorted, want_ms)
    } else {
        reference
            .ms_ssim(distorted)
            .map(|ms| (ssim::SsimScore::default(), Some(Ok(ms))))
    };
    keys.iter()
        .map(|k| match (&scored, *k) {
            (Err(e), _) => Err(e.clone()),
            (Ok((s, _)), "ssim") => Ok(s.mean),
            (Ok((_, Some(ms))), "ms-ssim") => ms.clone(),
            _ => Err(ScoreError::Internal(format!("SSIM scorer asked for {k}"))),
        })
        .collect()
}

/// Both butteraugli norms from one comparison.
fn score_butteraugli(
    p: &(dyn Any + Send + Sync),
    _: &Image,
    distorted: &Image,
    keys: &[&str],
) -> Vec<Result<f64, ScoreError>> {
    let scored = prepared::<ButteraugliOriginal>(p).and_then(|r| r.score(distorted));
    keys.iter()
        .map(|k| match (&scored, *k) {
            (Err(e), _) => Err(e.clone()),
            (Ok(s), "butteraugli") => Ok(s.max_norm),
            (Ok(s), "butteraugli-3norm") => Ok(s.pnorm_3),
            _ => Err(ScoreError::Internal(format!(
                "butteraugli scorer asked for {k}"
            ))),
        })
        .collect()
}

/// One quality metric: everything the program knows about it, in one place.
pub struct MetricDef {
    /// Name on the command line, in run.json, cache keys and metric notes ("psnr-y").
    pub key: &'static str,
    /// Column of results.csv ("psnr_y"); JSON key of `codecbench score`; plot file names.
    pub column: &'static str,
    /// Column of summary.csv holding the mean over images ("mean_psnr_y").
    pub mean_column: &'static str,
    /// Short name for table headers ("PSNR-Y").
    pub name: &'static str,
    /// Descriptive name for plot axes and section titles ("PSNR-Y, BT.601 luma").
    pub label: &'static str,
    /// Unit of the value ("dB"), empty for unitless scores.
    pub unit: &'static str,
    /// Decimals shown in reports; `codecbench score` shows two more.
    pub decimals: usize,
    pub direction: Direction,
    /// The value in a result row.
    pub get: fn(&CellRecord) -> Option<f64>,
    pub set: fn(&mut CellRecord, Option<f64>),
    /// The mean over images in a summary row.
    pub get_mean: fn(&SummaryRow) -> Option<f64>,
    pub set_mean: fn(&mut SummaryRow, Option<f64>),
    /// `None` for the core metric (PSNR): MSE/PSNR are always measured, with per-channel
    /// columns, by [`distortion`], not by a scorer.
    pub scorer: Option<Scorer>,
}

impl MetricDef {
    /// Whether this is the core metric (MSE/PSNR, always measured, no scorer).
    pub fn is_core(&self) -> bool {
        self.scorer.is_none()
    }

    /// Label with unit, for plot axes: "PSNR-Y, BT.601 luma (dB)".
    pub fn axis_label(&self) -> String {
        with_unit(self.label, self.unit)
    }

    /// Short name with unit, for table headers: "PSNR-Y (dB)".
    pub fn header(&self) -> String {
        with_unit(self.name, self.unit)
    }

    /// The value formatted with the report's decimals ("-" when missing, "inf" when infinite).
    pub fn format(&self, v: Option<f64>) -> String {
        match v {
            Some(x) if x.is_infinite() => if x > 0.0 { "inf" } else { "-inf" }.into(),
            Some(x) if x.is_finite() => format!("{x:.d$}", d = self.decimals),
            _ => "-".into(),
        }
    }
}

fn with_unit(text: &str, unit: &str) -> String {
    if unit.is_empty() {
        text.to_string()
    } else {
        format!("{text} ({unit})")
    }
}

// Entries are compared by key: the table is the only source of entries in the program, and
// function pointers have no meaningful equality.
impl PartialEq for MetricDef {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for MetricDef {}

impl fmt::Debug for MetricDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricDef")
            .field("key", &self.key)
            .field("direction", &self.direction)
            .finish_non_exhaustive()
    }
}

/// A selected metric: an entry of [`METRICS`].
pub type Metric = &'static MetricDef;

/// The prepared original of `prepare`, or an error naming what was expected (a mismatch is a
/// bug in the table, reported as a note rather than a crash of the whole sweep).
fn prepared<T: 'static>(p: &(dyn Any + Send + Sync)) -> Result<&T, ScoreError> {
    p.downcast_ref::<T>().ok_or_else(|| {
        ScoreError::Internal(format!(
            "prepared reference is not a {}",
            std::any::type_name::<T>()
        ))
    })
}

/// Every metric the harness can measure, in display order. The first is the core metric.
pub static METRICS: &[MetricDef] = &[
    MetricDef {
        key: "psnr",
        column: "psnr",
        mean_column: "mean_psnr",
        name: "PSNR",
        label: "PSNR",
        unit: "dB",
        decimals: 2,
        direction: Direction::HigherIsBetter,
        get: |r| r.psnr,
        set: |r, v| r.psnr = v,
        get_mean: |s| s.mean_psnr,
        set_mean: |s, v| s.mean_psnr = v,
        scorer: None,
    },
    MetricDef {
        key: "psnr-y",
        column: "psnr_y",
        mean_column: "mean_psnr_y",
        name: "PSNR-Y",
        label: "PSNR-Y, BT.601 luma",
        unit: "dB",
        decimals: 2,
        direction: Direction::HigherIsBetter,
        get: |r| r.psnr_y,
        set: |r, v| r.psnr_y = v,
        get_mean: |s| s.mean_psnr_y,
        set_mean: |s, v| s.mean_psnr_y = v,
        scorer: Some(Scorer {
            // Nothing to precompute: the luma is cheap next to reading the pixels.
            prepare_key: "psnr-y",
            prepare: |_| Box::new(()),
            score: |_, original, distorted, keys| single(keys, luma::psnr_y(original, distorted)),
            exact: |_, original| luma::psnr_y(original, original),
        }),
    },
    MetricDef {
        key: "ssim",
        column: "ssim",
        mean_column: "mean_ssim",
        name: "SSIM",
        label: "SSIM",
        unit: "",
        decimals: 4,
        direction: Direction::HigherIsBetter,
        get: |r| r.ssim,
        set: |r, v| r.ssim = v,
        get_mean: |s| s.mean_ssim,
        set_mean: |s, v| s.mean_ssim = v,
        scorer: Some(Scorer {
            prepare_key: "ssim",
            prepare: |original| Box::new(SsimReference::new(original)),
            score: score_ssim,
            exact: |p, original| {
                prepared::<SsimReference>(p)?
                    .check_ssim(original)
                    .map(|_| 1.0)
            },
        }),
    },
    MetricDef {
        key: "ms-ssim",
        column: "ms_ssim",
        mean_column: "mean_ms_ssim",
        name: "MS-SSIM",
        label: "MS-SSIM",
        unit: "",
        decimals: 4,
        direction: Direction::HigherIsBetter,
        get: |r| r.ms_ssim,
        set: |r, v| r.ms_ssim = v,
        get_mean: |s| s.mean_ms_ssim,
        set_mean: |s, v| s.mean_ms_ssim = v,
        scorer: Some(Scorer {
            // Same key as SSIM: MS-SSIM's first scale is SSIM's window statistics.
            prepare_key: "ssim",
            prepare: |original| Box::new(SsimReference::new(original)),
            score: score_ssim,
            exact: |p, original| {
                let r = prepared::<SsimReference>(p)?;
                r.check_ssim(original)?;
                r.check_ms().map(|_| 1.0)
            },
        }),
    },
    MetricDef {
        key: "ssimulacra2",
        column: "ssimulacra2",
        mean_column: "mean_ssimulacra2",
        name: "SSIMULACRA2",
        label: "SSIMULACRA2",
        unit: "",
        decimals: 2,
        direction: Direction::HigherIsBetter,
        get: |r| r.ssimulacra2,
        set: |r, v| r.ssimulacra2 = v,
        get_mean: |s| s.mean_ssimulacra2,
        set_mean: |s, v| s.mean_ssimulacra2 = v,
        scorer: Some(Scorer {
            prepare_key: "ssimulacra2",
            prepare: |original| Box::new(Ssimulacra2Reference::new(original)),
            score: |p, _, distorted, keys| {
                single(
                    keys,
                    prepared::<Ssimulacra2Reference>(p).and_then(|r| r.score(distorted)),
                )
            },
            exact: |p, original| {
                prepared::<Ssimulacra2Reference>(p)?
                    .check(original)
                    .map(|_| 100.0)
            },
        }),
    },
    MetricDef {
        key: "butteraugli",
        column: "butteraugli",
        mean_column: "mean_butteraugli",
        name: "Butteraugli",
        label: "Butteraugli max norm, 80 nits",
        unit: "",
        decimals: 3,
        direction: Direction::LowerIsBetter,
        get: |r| r.butteraugli,
        set: |r, v| r.butteraugli = v,
        get_mean: |s| s.mean_butteraugli,
        set_mean: |s, v| s.mean_butteraugli = v,
        scorer: Some(Scorer {
            prepare_key: "butteraugli",
            prepare: |original| Box::new(ButteraugliOriginal::new(original)),
            score: score_butteraugli,
            exact: |p, original| {
                prepared::<ButteraugliOriginal>(p)?
                    .check(original)
                    .map(|_| 0.0)
            },
        }),
    },
    MetricDef {
        key: "butteraugli-3norm",
        column: "butteraugli_3norm",
        mean_column: "mean_butteraugli_3norm",
        name: "Butteraugli 3-norm",
        label: "Butteraugli 3-norm, 80 nits",
        unit: "",
        decimals: 3,
        direction: Direction::LowerIsBetter,
        get: |r| r.butteraugli_3norm,
        set: |r, v| r.butteraugli_3norm = v,
        get_mean: |s| s.mean_butteraugli_3norm,
        set_mean: |s, v| s.mean_butteraugli_3norm = v,
        scorer: Some(Scorer {
            // Same key as the max norm: one comparison gives both.
            prepare_key: "butteraugli",
            prepare: |original| Box::new(ButteraugliOriginal::new(original)),
            score: score_butteraugli,
            exact: |p, original| {
                prepared::<ButteraugliOriginal>(p)?
                    .check(original)
                    .map(|_| 0.0)
            },
        }),
    },
];

/// Metrics that a key selects along with itself: `butteraugli` brings its 3-norm.
fn companions(m: Metric) -> &'static [&'static str] {
    match m.key {
        "butteraugli" => &["butteraugli-3norm"],
        _ => &[],
    }
}

/// The core metric (MSE/PSNR), always measured.
pub fn core() -> Metric {
    &METRICS[0]
}

/// The metric whose CLI key ("psnr-y") or column ("psnr_y") is `key_or_column`.
pub fn find(key_or_column: &str) -> Option<Metric> {
    METRICS
        .iter()
        .find(|m| m.key == key_or_column || m.column == key_or_column)
}

/// Every known CLI key, comma-separated, for messages.
pub fn known_keys() -> String {
    METRICS.iter().map(|m| m.key).collect::<Vec<_>>().join(", ")
}

/// A metric list that cannot be parsed. The caller names the option or file it came from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    #[error("unknown metric \"{name}\" (known: {known})")]
    Unknown { name: String, known: String },
}

/// Parses `psnr,ssim,...` (keys or column names) in the order given, without repeats; the
/// core metric (PSNR) is always first, as MSE/PSNR are core columns.
pub fn parse_metrics(text: &str) -> Result<Vec<Metric>, MetricError> {
    let mut out = vec![core()];
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let m = find(item).ok_or_else(|| MetricError::Unknown {
            name: item.to_string(),
            known: known_keys(),
        })?;
        for m in std::iter::once(m).chain(companions(m).iter().filter_map(|k| find(k))) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// The metric set as recorded in run.json and in cache keys, e.g. "psnr,psnr-y,ssim". Part of
/// every cache key: its text must never change for the same selection.
pub fn set_id(metrics: &[Metric]) -> String {
    metrics.iter().map(|m| m.key).collect::<Vec<_>>().join(",")
}

/// A lower-is-better metric for tests of direction handling: MSE read from the row.
#[cfg(test)]
pub(crate) static TEST_MSE: MetricDef = MetricDef {
    key: "mse",
    column: "mse",
    mean_column: "mean_mse",
    name: "MSE",
    label: "MSE",
    unit: "",
    decimals: 3,
    direction: Direction::LowerIsBetter,
    get: |r| r.mse,
    set: |r, v| r.mse = v,
    get_mean: |_| None,
    set_mean: |_, _| {},
    scorer: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_psnr_and_the_order_and_rejects_unknown_names() {
        let keys = |v: Vec<Metric>| v.iter().map(|m| m.key).collect::<Vec<_>>();
        assert_eq!(keys(parse_metrics("ssim").unwrap()), ["psnr", "ssim"]);
        assert_eq!(
            keys(parse_metrics("ssimulacra2, ms_ssim,ssimulacra2,psnr").unwrap()),
            ["psnr", "ssimulacra2", "ms-ssim"]
        );
        let default = parse_metrics("psnr,psnr-y,ssim,ssimulacra2").unwrap();
        assert_eq!(set_id(&default), "psnr,psnr-y,ssim,ssimulacra2");
        let e = parse_metrics("ssim,vmaf").unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown metric \"vmaf\" (known: psnr, psnr-y, ssim, ms-ssim, ssimulacra2, \
             butteraugli, butteraugli-3norm)"
        );
        assert!(!e.contains("--"), "the CLI layer names the flag: {e}");
    }

    #[test]
    fn table_is_consistent() {
        assert_eq!(
            METRICS.iter().map(|m| m.key).collect::<Vec<_>>(),
            [
                "psnr",
                "psnr-y",
                "ssim",
                "ms-ssim",
                "ssimulacra2",
                "butteraugli",
                "butteraugli-3norm"
            ]
        );
        assert_eq!(METRICS.iter().filter(|m| m.is_core()).count(), 1);
        assert!(core().is_core() && core().key == "psnr");
        let mut r = CellRecord::default();
        let mut s = SummaryRow::default();
        for (i, m) in METRICS.iter().enumerate() {
            assert_eq!(m.column, m.key.replace('-', "_"));
            assert_eq!(m.mean_column, format!("mean_{}", m.column));
            assert_eq!(find(m.key), Some(m));
            assert_eq!(find(m.column), Some(m));
            // Each entry reads and writes its own field and no other.
            (m.set)(&mut r, Some(i as f64));
            (m.set_mean)(&mut s, Some(i as f64));
        }
        for (i, m) in METRICS.iter().enumerate() {
            assert_eq!((m.get)(&r), Some(i as f64), "{}", m.key);
            assert_eq!((m.get_mean)(&s), Some(i as f64), "{}", m.key);
        }
        // The setters wrote the columns the serde field names say.
        let json = serde_json::to_value(&r).unwrap();
        let means = serde_json::to_value(&s).unwrap();
        for (i, m) in METRICS.iter().enumerate() {
            assert_eq!(json[m.column], i as f64, "{}", m.column);
            assert_eq!(means[m.mean_column], i as f64, "{}", m.mean_column);
        }
        assert_eq!(find("vmaf"), None);
    }

    #[test]
    fn butteraugli_brings_its_three_norm_and_is_lower_is_better() {
        let keys = |v: Vec<Metric>| v.iter().map(|m| m.key).collect::<Vec<_>>();
        assert_eq!(
            keys(parse_metrics("butteraugli,ssim").unwrap()),
            ["psnr", "butteraugli", "butteraugli-3norm", "ssim"]
        );
        assert_eq!(
            keys(parse_metrics("butteraugli_3norm").unwrap()),
            ["psnr", "butteraugli-3norm"]
        );
        for k in ["butteraugli", "butteraugli-3norm"] {
            assert_eq!(find(k).unwrap().direction, Direction::LowerIsBetter);
        }
    }

    #[test]
    fn direction_orients_values() {
        let (hi, lo) = (Direction::HigherIsBetter, Direction::LowerIsBetter);
        assert_eq!(hi.oriented(3.0), 3.0);
        assert_eq!(lo.oriented(3.0), -3.0);
        assert!(hi.is_better(2.0, 1.0) && !hi.is_better(1.0, 2.0));
        assert!(lo.is_better(1.0, 2.0) && !lo.is_better(2.0, 1.0));
        assert!(!lo.is_better(1.0, 1.0));
        assert_eq!(hi.worsening(30.0, 29.5), 0.5);
        assert_eq!(lo.worsening(1.0, 3.0), 2.0);
        assert_eq!(lo.worsening(3.0, 1.0), -2.0);
    }

    #[test]
    fn labels_carry_their_unit() {
        assert_eq!(core().axis_label(), "PSNR (dB)");
        assert_eq!(
            find("psnr-y").unwrap().axis_label(),
            "PSNR-Y, BT.601 luma (dB)"
        );
        assert_eq!(find("ssim").unwrap().axis_label(), "SSIM");
        assert_eq!(find("ssim").unwrap().format(Some(0.123456)), "0.1235");
        assert_eq!(core().format(Some(f64::INFINITY)), "inf");
    }
}
