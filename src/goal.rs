//! What a target search aims at (a quality target or a bpp/bytes budget, parsed from
//! `METRIC=V[,V...]`) and what it found: [`TargetRow`], one row of targets.csv. The goal is
//! held as [`Goal`] and written as its key (`ssimulacra2`, `bpp`, `bytes`), so the files keep
//! their text and the code compares types; reading an unknown key is an error naming it and
//! the known ones. This sits just above the metric table and below everything that reads or
//! writes targets.csv (search, analysis, report, baseline, merge, export).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::metrics::Metric;
use crate::record::{CellRecord, TargetStatus};

/// What a target constrains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl Goal {
    /// The key as written on the command line and in targets.csv: `bpp`, `bytes` or the
    /// metric's key.
    pub fn key(self) -> &'static str {
        match self {
            Goal::Quality(m) => m.key,
            Goal::Bpp => "bpp",
            Goal::Bytes => "bytes",
        }
    }

    /// The goal `key` names (`bpp`, `bytes`, a metric key or results.csv column), or an
    /// error naming it and the known keys.
    pub fn parse(key: &str) -> Result<Goal, TargetError> {
        match key {
            "bpp" => Ok(Goal::Bpp),
            "bytes" => Ok(Goal::Bytes),
            _ => crate::metrics::find(key).map(Goal::Quality).ok_or_else(|| {
                TargetError::UnknownKey {
                    key: key.to_string(),
                    known: known_keys(),
                }
            }),
        }
    }

    /// The quality metric, for a quality goal.
    pub fn metric(self) -> Option<Metric> {
        match self {
            Goal::Quality(m) => Some(m),
            Goal::Bpp | Goal::Bytes => None,
        }
    }
}

impl fmt::Display for Goal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Goal {
    type Err = TargetError;

    fn from_str(key: &str) -> Result<Goal, TargetError> {
        Goal::parse(key)
    }
}

impl Serialize for Goal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

impl<'de> Deserialize<'de> for Goal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Goal, D::Error> {
        let key = String::deserialize(d)?;
        Goal::parse(&key).map_err(serde::de::Error::custom)
    }
}

impl Target {
    /// A target of `goal` at `value`: a finite number, and positive for a bpp or bytes budget.
    pub fn new(goal: Goal, value: f64) -> Result<Target, TargetError> {
        if !value.is_finite() {
            return Err(TargetError::NotANumber(value.to_string()));
        }
        if matches!(goal, Goal::Bpp | Goal::Bytes) && value <= 0.0 {
            return Err(TargetError::NotPositive {
                key: goal.key().to_string(),
                value: value.to_string(),
            });
        }
        Ok(Target { goal, value })
    }

    /// The goal's key as written on the command line and in targets.csv.
    pub fn key(&self) -> &'static str {
        self.goal.key()
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
    let goal = Goal::parse(key)?;
    values
        .split(',')
        .map(str::trim)
        .map(|v| {
            let value = v.parse::<f64>().ok().filter(|x| x.is_finite());
            Target::new(
                goal,
                value.ok_or_else(|| TargetError::NotANumber(v.to_string()))?,
            )
        })
        .collect()
}

/// One row of targets.csv: one (image, curve, target).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    pub image: String,
    pub curve: String,
    /// What the search aimed at: the `metric` column (`bpp`, `bytes` or a metric key).
    #[serde(rename = "metric")]
    pub goal: Goal,
    pub target: f64,
    /// The chosen setting (for `unreachable`: the setting of the best achieved).
    #[serde(default)]
    pub setting: Option<f64>,
    #[serde(default)]
    pub bytes: Option<u64>,
    #[serde(default)]
    pub bpp: Option<f64>,
    /// The target's metric (or bpp/bytes) at that setting.
    #[serde(default)]
    pub achieved: Option<f64>,
    /// Cells this search evaluated (probes and reused swept cells).
    #[serde(default)]
    pub probes: usize,
    #[serde(default)]
    pub status: TargetStatus,
    #[serde(default)]
    pub message: String,
}

impl TargetRow {
    /// A row for `target` on `image` and `curve`, nothing found yet (`unfinished`).
    pub fn new(image: String, curve: String, target: &Target) -> TargetRow {
        TargetRow {
            image,
            curve,
            goal: target.goal,
            target: target.value,
            setting: None,
            bytes: None,
            bpp: None,
            achieved: None,
            probes: 0,
            status: TargetStatus::default(),
            message: String::new(),
        }
    }

    /// The target this row searched for.
    pub fn target(&self) -> Target {
        Target {
            goal: self.goal,
            value: self.target,
        }
    }
}

/// An empty `bytes` row: the CSV header of a run with no rows is written from it. Rows are
/// made with [`TargetRow::new`]; every column but the goal and the target may be missing
/// from a file (they read as empty), those two never are.
impl Default for TargetRow {
    fn default() -> TargetRow {
        TargetRow::new(
            String::new(),
            String::new(),
            &Target {
                goal: Goal::Bytes,
                value: 0.0,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_goal_key_round_trips() {
        let mut goals = vec![Goal::Bpp, Goal::Bytes];
        goals.extend(crate::metrics::METRICS.iter().map(Goal::Quality));
        for g in goals {
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(json, format!("\"{}\"", g.key()));
            assert_eq!(serde_json::from_str::<Goal>(&json).unwrap(), g);
            assert_eq!(g.to_string().parse::<Goal>(), Ok(g));
        }
        assert_eq!(
            "psnr_y".parse::<Goal>().unwrap().key(),
            "psnr-y",
            "a results.csv column name reads as its metric"
        );
    }

    /// targets.csv written and read back gives the same rows and the same text; the
    /// `metric` column keeps its name and values.
    #[test]
    fn targets_csv_round_trips() {
        let row = |goal: &str, value| TargetRow {
            status: TargetStatus::Met,
            setting: Some(50.0),
            ..TargetRow::new(
                "a.png".into(),
                "jpeg".into(),
                &Target {
                    goal: Goal::parse(goal).unwrap(),
                    value,
                },
            )
        };
        let rows = vec![
            row("ssimulacra2", 80.0),
            row("bpp", 1.5),
            row("bytes", 2000.0),
        ];
        let bytes = crate::export::csv_bytes(&rows).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("image,curve,metric,target,"), "{text}");
        assert!(text.contains("\na.png,jpeg,ssimulacra2,80.0,"), "{text}");
        assert!(text.contains("\na.png,jpeg,bpp,1.5,50.0,"), "{text}");
        assert!(text.contains("\na.png,jpeg,bytes,2000.0,"), "{text}");
        let back: Vec<TargetRow> = csv::Reader::from_reader(bytes.as_slice())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, rows);
        let empty = crate::export::csv_bytes::<TargetRow>(&[]).unwrap();
        assert_eq!(
            String::from_utf8(empty).unwrap(),
            "image,curve,metric,target,setting,bytes,bpp,achieved,probes,status,message\n"
        );
    }

    /// A targets.csv naming an unknown metric fails to read with the key and the known
    /// keys named (the caller names the file: see tests/suite/target.rs).
    #[test]
    fn an_unknown_key_is_named_with_the_known_ones() {
        let csv = "image,curve,metric,target,setting,bytes,bpp,achieved,probes,status,message\n\
                   a.png,jpeg,sharpness,80,50,100,1,81,3,met,\n";
        let e = csv::Reader::from_reader(csv.as_bytes())
            .deserialize::<TargetRow>()
            .next()
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown metric \"sharpness\" (known: bpp, bytes, psnr"),
            "{e}"
        );
        assert_eq!(
            Goal::parse("sharpness"),
            Err(TargetError::UnknownKey {
                key: "sharpness".into(),
                known: known_keys()
            })
        );
    }
}
