//! What a target search aims at: a quality target or a bpp/bytes budget, parsed from
//! `METRIC=V[,V...]`.

use crate::metrics::Metric;
use crate::record::CellRecord;

/// What a target constrains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// A quality metric of the METRICS table must reach the value (at most the value for a
    /// lower-is-better metric).
    Quality(Metric),
    /// Bits per pixel at most the value: the best quality within this budget.
    Bpp,
    /// Encoded bytes at most the value.
    Bytes,
}

/// One target value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    pub goal: Goal,
    pub value: f64,
}

impl Target {
    /// The metric key as written on the command line and in targets.csv.
    pub fn key(&self) -> &'static str {
        match self.goal {
            Goal::Quality(m) => m.key,
            Goal::Bpp => "bpp",
            Goal::Bytes => "bytes",
        }
    }

    pub(super) fn is_budget(&self) -> bool {
        !matches!(self.goal, Goal::Quality(_))
    }

    /// The constrained value of a cell: the metric, bpp or bytes; `None` when missing.
    pub fn value_of(&self, r: &CellRecord) -> Option<f64> {
        match self.goal {
            Goal::Quality(m) => (m.get)(r),
            Goal::Bpp => r.bpp,
            Goal::Bytes => r.bytes.map(|b| b as f64),
        }
    }

    /// Whether a value satisfies the target.
    pub fn meets(&self, v: f64) -> bool {
        match self.goal {
            Goal::Quality(m) => m.direction.oriented(v) >= m.direction.oriented(self.value),
            Goal::Bpp | Goal::Bytes => v <= self.value,
        }
    }
}

/// Every key a target may name: bpp, bytes and the METRICS table's keys.
pub fn known_keys() -> String {
    format!("bpp, bytes, {}", crate::metrics::known_keys())
}

/// A target that cannot be parsed. The message says what is wrong; the caller names the flag
/// or file it came from.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("expected METRIC=VALUE[,VALUE...], e.g. ssimulacra2=70,80,90")]
    Syntax,
    #[error("unknown metric \"{key}\" (known: {known})")]
    UnknownKey { key: String, known: String },
    #[error("\"{0}\" is not a number")]
    NotANumber(String),
    #[error("a {key} budget must be positive, not {value}")]
    NotPositive { key: String, value: String },
}

/// Parses `METRIC=V[,V...]` (e.g. `ssimulacra2=70,80,90`, `psnr=40`, `bpp=1.0`) into one
/// target per value. The error says what is wrong; the caller names the flag or file.
pub fn parse_target(text: &str) -> Result<Vec<Target>, TargetError> {
    let (key, values) = text.split_once('=').ok_or(TargetError::Syntax)?;
    let key = key.trim();
    let goal = match key {
        "bpp" => Goal::Bpp,
        "bytes" => Goal::Bytes,
        _ => Goal::Quality(
            crate::metrics::find(key).ok_or_else(|| TargetError::UnknownKey {
                key: key.to_string(),
                known: known_keys(),
            })?,
        ),
    };
    let mut out = Vec::new();
    for v in values.split(',').map(str::trim) {
        let value: f64 = v
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| TargetError::NotANumber(v.to_string()))?;
        if matches!(goal, Goal::Bpp | Goal::Bytes) && value <= 0.0 {
            return Err(TargetError::NotPositive {
                key: key.to_string(),
                value: v.to_string(),
            });
        }
        out.push(Target { goal, value });
    }
    Ok(out)
}
