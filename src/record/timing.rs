//! results.csv's `timing` column: how a cell's encode and decode times were taken. A closed
//! set written as today's text (`in-process`, `process`, `reported`, `encode=X decode=Y` when
//! the two calls differ, empty when no call returned); unknown text is an error naming it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How one codec call was timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimingKind {
    /// Monotonic clock around the library call.
    InProcess,
    /// An external tool's wall time, spawn to exit (includes process start-up).
    Process,
    /// The codec's own account of the call.
    Reported,
}

impl TimingKind {
    pub const ALL: [TimingKind; 3] = [
        TimingKind::InProcess,
        TimingKind::Process,
        TimingKind::Reported,
    ];

    /// The name written in results.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            TimingKind::InProcess => "in-process",
            TimingKind::Process => "process",
            TimingKind::Reported => "reported",
        }
    }

    fn parse(text: &str) -> Option<TimingKind> {
        TimingKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for TimingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cell's `timing`: how `encode_ms` and `decode_ms` were taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Timing {
    /// No codec call returned (the cell failed before its encode): the empty text.
    #[default]
    Untimed,
    /// Both calls (or the encode alone, when the decode never returned) were timed this way.
    Same(TimingKind),
    /// The calls were timed differently: `encode=X decode=Y`.
    Split {
        encode: TimingKind,
        decode: TimingKind,
    },
}

impl Timing {
    /// The column's value from how each call was timed (`None`: the call did not return).
    pub fn of(encode: Option<TimingKind>, decode: Option<TimingKind>) -> Timing {
        match (encode, decode) {
            (Some(e), Some(d)) if e != d => Timing::Split {
                encode: e,
                decode: d,
            },
            (Some(e), _) => Timing::Same(e),
            (None, _) => Timing::Untimed,
        }
    }
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timing::Untimed => Ok(()),
            Timing::Same(k) => write!(f, "{k}"),
            Timing::Split { encode, decode } => write!(f, "encode={encode} decode={decode}"),
        }
    }
}

/// A `timing` value that is none of the known texts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown timing \"{0}\" (known: in-process, process, reported, \"encode=X decode=Y\" of those, or empty)")]
pub struct UnknownTiming(pub String);

impl FromStr for Timing {
    type Err = UnknownTiming;

    fn from_str(text: &str) -> Result<Timing, UnknownTiming> {
        if text.is_empty() {
            return Ok(Timing::Untimed);
        }
        if let Some(k) = TimingKind::parse(text) {
            return Ok(Timing::Same(k));
        }
        let split = text
            .strip_prefix("encode=")
            .and_then(|rest| rest.split_once(" decode="))
            .and_then(|(e, d)| Some((TimingKind::parse(e)?, TimingKind::parse(d)?)))
            .filter(|(e, d)| e != d);
        match split {
            Some((encode, decode)) => Ok(Timing::Split { encode, decode }),
            None => Err(UnknownTiming(text.to_string())),
        }
    }
}

impl Serialize for Timing {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timing {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timing, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_round_trips() {
        use TimingKind::*;
        let cases = [
            ("", Timing::Untimed),
            ("in-process", Timing::Same(InProcess)),
            ("process", Timing::Same(Process)),
            ("reported", Timing::Same(Reported)),
            (
                "encode=reported decode=in-process",
                Timing::Split {
                    encode: Reported,
                    decode: InProcess,
                },
            ),
            (
                "encode=process decode=reported",
                Timing::Split {
                    encode: Process,
                    decode: Reported,
                },
            ),
        ];
        for (text, t) in cases {
            assert_eq!(t.to_string(), text);
            assert_eq!(text.parse::<Timing>(), Ok(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<Timing>(&json).unwrap(), t);
        }
        for e in TimingKind::ALL {
            for d in TimingKind::ALL {
                let t = Timing::of(Some(e), Some(d));
                assert_eq!(t.to_string().parse::<Timing>(), Ok(t));
            }
        }
        assert_eq!(Timing::of(Some(Process), None), Timing::Same(Process));
        assert_eq!(Timing::of(None, Some(Process)), Timing::Untimed);
    }

    #[test]
    fn unknown_text_is_an_error_naming_it() {
        for bad in [
            "wallclock",
            "encode=process",
            "encode=process decode=gpu",
            "encode=process decode=process",
            " process",
        ] {
            let e = bad.parse::<Timing>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("unknown timing \"{bad}\"")), "{e}");
            assert!(e.contains("in-process, process, reported"), "{e}");
        }
    }

    /// A results.csv row with an unknown timing fails to read with the text named; today's
    /// texts read back as written.
    #[test]
    fn results_csv_reads_the_column() {
        #[derive(Serialize, Deserialize)]
        struct Row {
            image: String,
            timing: Timing,
        }
        let read = |csv: &str| {
            csv::Reader::from_reader(csv.as_bytes())
                .deserialize::<Row>()
                .map(|r| r.map(|r| r.timing))
                .collect::<Result<Vec<_>, _>>()
        };
        assert_eq!(
            read(
                "image,timing\na.png,\nb.png,in-process\nc.png,encode=process decode=in-process\n"
            )
            .unwrap(),
            vec![
                Timing::Untimed,
                Timing::Same(TimingKind::InProcess),
                Timing::Split {
                    encode: TimingKind::Process,
                    decode: TimingKind::InProcess
                }
            ]
        );
        let e = read("image,timing\na.png,sometimes\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown timing \"sometimes\""), "{e}");
    }
}
