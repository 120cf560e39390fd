//! A metric held as the metric type and written as its key (`ssimulacra2`), for the serde
//! derives of rows and reports: the files keep their text, the code keeps the type. Reading
//! an unknown key is an error naming it and the known ones.

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serializer};

use crate::metrics::{find, known_keys, Metric};

/// `#[serde(with = "metric_key")]` on a [`Metric`] field.
pub fn serialize<S: Serializer>(m: &Metric, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.key)
}

/// See [`serialize`]; a key or a results.csv column name is accepted.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Metric, D::Error> {
    let key = String::deserialize(d)?;
    parse(&key).map_err(serde::de::Error::custom)
}

/// The metric `key` names (a key or a results.csv column name), or an error naming it.
pub fn parse(key: &str) -> Result<Metric, UnknownMetricKey> {
    find(key).ok_or_else(|| UnknownMetricKey {
        key: key.to_string(),
        known: known_keys(),
    })
}

/// A metric key that names no metric.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric \"{key}\" (known: {known})")]
pub struct UnknownMetricKey {
    pub key: String,
    pub known: String,
}

/// `#[serde(serialize_with = "metric_key::pairs")]` on a `Vec<(Metric, f64)>`: a list of
/// `[key, value]` pairs.
pub fn pairs<S: Serializer>(v: &[(Metric, f64)], s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for (m, x) in v {
        seq.serialize_element(&(m.key, x))?;
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_an_unknown_key_is_named() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Row {
            #[serde(with = "super")]
            metric: Metric,
        }
        let r: Row = serde_json::from_str(r#"{"metric":"ssimulacra2"}"#).unwrap();
        assert_eq!(r.metric.key, "ssimulacra2");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"metric":"ssimulacra2"}"#
        );
        let e = serde_json::from_str::<Row>(r#"{"metric":"sharpness"}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("unknown metric \"sharpness\" (known: "), "{e}");
    }
}
