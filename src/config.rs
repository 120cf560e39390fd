//! Sweep definitions: codec specs from the command line and from a TOML sweep file, checked
//! and expanded before any work starts.
//!
//! A sweep file lists codecs as spec strings or as tables:
//!
//! ```toml
//! codec = ["png", "jpeg:q=10..95:5", { name = "webp", q = "50..90:10", method = [4, 6] }]
//! ```
//!
//! A configuration may carry a label, the pipeline's name for `compare` (`site=jpeg:q=80` as a
//! string, `label = "site"` in a table).
//!
//! or, as TOML forbids mixing the two forms of one key, with `[[codec]]` tables only:
//!
//! ```toml
//! [[codec]]
//! name = "webp"
//! q = "50..90:10"
//! method = [4, 6]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::codec::spec::{expand_table, TableError, TableValue};
use crate::codec::{CodecConfig, Registry, SpecError};
use crate::goal::{Goal, Target};

mod presets;

pub use presets::{preset, Preset, UnknownPreset, DEFAULT_SWEEP, PRESETS, WEB};

/// A sweep file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read ({source})", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    /// A `codec` table whose codec, key or value the registry refuses.
    #[error("{}: codec[{index}] (name = \"{name}\")", path.display())]
    Table {
        path: PathBuf,
        index: usize,
        name: String,
        #[source]
        source: Box<TableError>,
    },
    /// A spec string of the `codec` list that the registry refuses.
    #[error("{}: codec[{index}]", path.display())]
    Spec {
        path: PathBuf,
        index: usize,
        #[source]
        source: SpecError,
    },
    /// A `[target]` key that names no metric, or a value it cannot take.
    #[error("{}: target.{key}", path.display())]
    Target {
        path: PathBuf,
        key: String,
        #[source]
        source: crate::goal::TargetError,
    },
    /// An `[[external]]` table the definition checks refuse (its message names the file and field).
    #[error(transparent)]
    Externals(Box<crate::codec::external::DefinitionError>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    #[serde(default)]
    codec: Vec<SpecEntry>,
    #[serde(default)]
    gate: Option<GateFile>,
    /// External codec definitions (see [`crate::codec::external`]).
    #[serde(default)]
    external: Vec<toml::Value>,
    /// `[target]`: metric = value or [values], as `--target METRIC=V[,V...]`.
    #[serde(default)]
    target: BTreeMap<String, TargetValues>,
}

/// The value of a `[target]` key: one number or a list of numbers.
#[derive(Debug)]
struct TargetValues(Vec<f64>);

impl<'de> Deserialize<'de> for TargetValues {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Numbers;
        impl<'de> serde::de::Visitor<'de> for Numbers {
            type Value = TargetValues;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a list of numbers, e.g. ssimulacra2 = [70, 80, 90]")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TargetValues, E> {
                Ok(TargetValues(vec![v as f64]))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TargetValues, E> {
                Ok(TargetValues(vec![v as f64]))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<TargetValues, E> {
                Ok(TargetValues(vec![v]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<TargetValues, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element::<f64>()? {
                    v.push(x);
                }
                Ok(TargetValues(v))
            }
        }
        d.deserialize_any(Numbers)
    }
}

/// The `[gate]` table of a sweep file: regression thresholds for `codecbench compare`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateFile {
    pub max_bd_rate: Option<f64>,
    pub max_size_increase: Option<f64>,
    #[serde(default)]
    pub max_quality_drop: std::collections::BTreeMap<String, f64>,
    pub max_slowdown: Option<f64>,
    pub noise: Option<f64>,
    pub max_target_bytes_increase: Option<f64>,
}

fn read_file(path: &Path) -> Result<SweepFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Reads the `[target]` table of a sweep file as checked targets, in key order (each key's
/// values in the order given); empty if it has none.
pub fn read_targets(path: &Path) -> Result<Vec<Target>, ConfigError> {
    let mut out = Vec::new();
    for (key, TargetValues(values)) in read_file(path)?.target {
        let fail = |source| ConfigError::Target {
            path: path.to_path_buf(),
            key: key.clone(),
            source,
        };
        let goal = Goal::parse(&key).map_err(fail)?;
        for v in values {
            out.push(Target::new(goal, v).map_err(fail)?);
        }
    }
    Ok(out)
}

/// Reads the `[gate]` table of a sweep file (empty if it has none).
pub fn read_gate(path: &Path) -> Result<GateFile, ConfigError> {
    Ok(read_file(path)?.gate.unwrap_or_default())
}

/// Reads and checks the `[[external]]` codec definitions of a sweep file; the message names
/// the file and the field.
pub fn read_sweep_externals(
    path: &Path,
) -> Result<Vec<crate::codec::external::Definition>, ConfigError> {
    let file = read_file(path)?;
    crate::codec::external::parse_definitions(path, &file.external)
        .map_err(|e| ConfigError::Externals(Box::new(e)))
}

/// One entry of a sweep file's `codec` list: a spec string, or a table deserialised as
/// written (`name`, optional `label`, every other key a codec key with its TOML-typed values).
#[derive(Clone, Debug, PartialEq)]
pub enum SpecEntry {
    Text(String),
    Table {
        name: String,
        /// Empty when the table has none.
        label: String,
        keys: Vec<(String, Vec<TableValue>)>,
    },
}

impl SpecEntry {
    /// Checks and expands the entry against `registry`; the error names the file and the entry.
    pub fn expand(
        &self,
        registry: &Registry,
        path: &Path,
        index: usize,
    ) -> Result<Vec<CodecConfig>, ConfigError> {
        match self {
            SpecEntry::Text(text) => {
                registry
                    .parse_spec(text)
                    .map_err(|source| ConfigError::Spec {
                        path: path.to_path_buf(),
                        index,
                        source,
                    })
            }
            SpecEntry::Table { name, label, keys } => expand_table(registry, name, label, keys)
                .map_err(|source| ConfigError::Table {
                    path: path.to_path_buf(),
                    index,
                    name: name.clone(),
                    source: Box::new(source),
                }),
        }
    }
}

impl<'de> Deserialize<'de> for SpecEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> serde::de::Visitor<'de> for EntryVisitor {
    type Value = SpecEntry;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a spec string or a codec table")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SpecEntry, E> {
        Ok(SpecEntry::Text(v.to_string()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SpecEntry, A::Error> {
        use serde::de::Error;
        let (mut name, mut label, mut keys) = (None, String::new(), Vec::new());
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = Some(map.next_value::<String>()?),
                // `label = "site"`: the pipeline's name, as `site=` before a spec string.
                "label" => match map.next_value::<toml::Value>()? {
                    toml::Value::String(l) => label = l,
                    other => {
                        return Err(A::Error::custom(format!(
                            "label must be a string, found {other}"
                        )))
                    }
                },
                _ => {
                    let TableValues(values) = map.next_value()?;
                    keys.push((key, values));
                }
            }
        }
        let name = name.ok_or_else(|| A::Error::custom("a codec table needs name = \"...\""))?;
        Ok(SpecEntry::Table { name, label, keys })
    }
}

/// A codec table key's value: one value or a list of them.
struct TableValues(Vec<TableValue>);

impl<'de> Deserialize<'de> for TableValues {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor { list: true })
    }
}

/// One value ([`ValueVisitor::list`] false) or one value or a list of values (true).
struct ValueVisitor {
    list: bool,
}

struct OneValue(TableValue);

impl<'de> Deserialize<'de> for OneValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let TableValues(mut v) = d.deserialize_any(ValueVisitor { list: false })?;
        Ok(OneValue(v.remove(0)))
    }
}

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = TableValues;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(if self.list {
            "a string, number or boolean, or a list of them"
        } else {
            "a string, number or boolean"
        })
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<TableValues, E> {
        Ok(TableValues(vec![TableValue::Bool(v)]))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TableValues, E> {
        Ok(TableValues(vec![TableValue::Int(v)]))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TableValues, E> {
        i64::try_from(v)
            .map(|v| TableValues(vec![TableValue::Int(v)]))
            .map_err(|_| E::custom(format!("{v} is too large")))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<TableValues, E> {
        Ok(TableValues(vec![TableValue::Float(v)]))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TableValues, E> {
        Ok(TableValues(vec![TableValue::Text(v.to_string())]))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<TableValues, A::Error> {
        if !self.list {
            return Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Seq,
                &self,
            ));
        }
        let mut out = Vec::new();
        while let Some(OneValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(TableValues(out))
    }
}

/// Reads a sweep file's `codec` list as written (not yet checked against a registry).
pub fn read_sweep_codecs(path: &Path) -> Result<Vec<SpecEntry>, ConfigError> {
    Ok(read_file(path)?.codec)
}

/// Checks and expands a sweep file's entries against `registry`, in order; every entry is
/// checked and all errors are returned together.
pub fn expand_entries(
    registry: &Registry,
    path: &Path,
    entries: &[SpecEntry],
) -> Result<Vec<CodecConfig>, Vec<ConfigError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        match e.expand(registry, path, i) {
            Ok(cs) => out.extend(cs),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Expands spec strings into configurations, in order, dropping exact duplicates. Every spec
/// is checked; all errors are returned together.
pub fn expand(registry: &Registry, specs: &[String]) -> Result<Vec<CodecConfig>, Vec<SpecError>> {
    let mut out: Vec<CodecConfig> = Vec::new();
    let mut errors = Vec::new();
    for s in specs {
        match registry.parse_spec(s) {
            Ok(cs) => {
                for c in cs {
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(specs: &[String]) -> Result<Vec<CodecConfig>, Vec<SpecError>> {
        super::expand(&Registry::builtin(), specs)
    }

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sweep.toml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    /// The file's configurations as canonical specs (label first when there is one), or
    /// every error with its sources.
    fn configs(p: &Path) -> Result<Vec<String>, String> {
        let entries = read_sweep_codecs(p).map_err(|e| e.to_string())?;
        expand_entries(&Registry::builtin(), p, &entries)
            .map(|cs| {
                cs.iter()
                    .map(|c| match c.label.as_str() {
                        "" => c.spec(),
                        l => format!("{l}={}", c.spec()),
                    })
                    .collect()
            })
            .map_err(|errs| {
                errs.iter()
                    .map(|e| {
                        let mut t = e.to_string();
                        let mut s = std::error::Error::source(e);
                        while let Some(x) = s {
                            t += &format!(": {x}");
                            s = x.source();
                        }
                        t
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
    }

    fn strings(specs: &[&str]) -> Vec<String> {
        expand(&specs.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
            .iter()
            .map(|c| match c.label.as_str() {
                "" => c.spec(),
                l => format!("{l}={}", c.spec()),
            })
            .collect()
    }

    /// The [target] table is read straight into checked targets: a number or a list, integers
    /// as numbers; an unknown key, a budget that is not positive and text are refused, naming
    /// the file and key.
    #[test]
    fn target_tables_are_read_as_targets() {
        let (_d, p) = write("[target]\nssimulacra2 = [70, 80.5]\nbpp = 1\n");
        let t = read_targets(&p).unwrap();
        let got: Vec<(&str, f64)> = t.iter().map(|t| (t.key(), t.value)).collect();
        assert_eq!(
            got,
            [("bpp", 1.0), ("ssimulacra2", 70.0), ("ssimulacra2", 80.5)]
        );
        for (text, says) in [
            (
                "[target]\nsharpness = 3\n",
                "target.sharpness: unknown metric \"sharpness\"",
            ),
            (
                "[target]\nbytes = [1000, 0]\n",
                "target.bytes: a bytes budget must be positive, not 0",
            ),
        ] {
            let (_d, p) = write(text);
            let e = read_targets(&p).unwrap_err();
            let chain = format!("{e}: {}", std::error::Error::source(&e).unwrap());
            assert!(
                chain.contains(&format!("{}: {says}", p.display())),
                "{chain}"
            );
        }
        let (_d, p) = write("[target]\npsnr = \"40\"\n");
        let e = read_targets(&p).unwrap_err().to_string();
        assert!(e.contains("expected a number or a list of numbers"), "{e}");
    }

    #[test]
    fn tables_and_strings_give_the_same_configurations() {
        let (_d, p) = write(
            "[[codec]]\nname = \"webp\"\nq = \"50..90:20\"\nmethod = [4, 6]\n\
             [[codec]]\nname = \"png\"\nzopfli = true\n",
        );
        let entries = read_sweep_codecs(&p).unwrap();
        assert_eq!(
            entries[0],
            SpecEntry::Table {
                name: "webp".into(),
                label: String::new(),
                keys: vec![
                    (
                        "method".into(),
                        vec![TableValue::Int(4), TableValue::Int(6)]
                    ),
                    ("q".into(), vec![TableValue::Text("50..90:20".into())]),
                ],
            }
        );
        let got = configs(&p).unwrap();
        assert_eq!(got.len(), 7);
        assert_eq!(
            got,
            strings(&["webp:method=4,6,q=50..90:20", "png:zopfli=true"])
        );
        let (_d, p) = write("codec = [\"png\", \"jpeg:q=10..95:5\"]\n");
        assert_eq!(configs(&p).unwrap().len(), 19);
        // Typed values are checked as they are: a float key takes an integer, an integer key
        // a whole float, a choice key a number (its name).
        let (_d, p) = write(
            "codec = [{ name = \"jpeg\", q = 80.0, subsampling = 444 }, \
             { name = \"jxl\", d = [1, 1.5] }]\n",
        );
        assert_eq!(
            configs(&p).unwrap(),
            strings(&["jpeg:q=80,subsampling=444", "jxl:d=1,1.5"])
        );
    }

    #[test]
    fn a_codec_table_takes_a_label() {
        // The table form names its pipeline like the string form (`site=jpeg:q=80`).
        let (_d, p) = write(
            "[[codec]]\nlabel = \"site\"\nname = \"jpeg\"\nq = [70, 80]\n\
             [[codec]]\nname = \"png\"\n",
        );
        assert_eq!(configs(&p).unwrap(), strings(&["site=jpeg:q=70,80", "png"]));
        // Inline tables and strings of one list agree.
        let (_d, p) = write(
            "codec = [{ name = \"webp\", label = \"thumbs\", q = 60 }, \"hero=jpeg:q=90\"]\n",
        );
        assert_eq!(
            configs(&p).unwrap(),
            strings(&["thumbs=webp:q=60", "hero=jpeg:q=90"])
        );
        // A label that is not a string, or not a name, is named.
        let (_d, p) = write("[[codec]]\nname = \"png\"\nlabel = 3\n");
        let e = configs(&p).unwrap_err();
        assert!(e.contains("label must be a string, found 3"), "{e}");
        let (_d, p) = write("[[codec]]\nname = \"png\"\nlabel = \"my site\"\n");
        let e = configs(&p).unwrap_err();
        assert!(
            e.contains("codec[0] (name = \"png\"): label \"my site\": a label is letters"),
            "{e}"
        );
    }

    /// Every way a codec table can be wrong names the file, the table and the key or value.
    #[test]
    fn bad_codec_tables_name_the_file_the_table_and_the_key() {
        for (text, want) in [
            (
                "[[codec]]\nname = \"png\"\n[[codec]]\nname = \"jpg\"\nq = 5\n",
                "codec[1] (name = \"jpg\"): unknown codec \"jpg\" (known: png, jpeg,",
            ),
            (
                "[[codec]]\nname = \"jpeg\"\nquality = 50\n",
                "codec[0] (name = \"jpeg\"): unknown key \"quality\". jpeg keys: q 1..100",
            ),
            (
                "[[codec]]\nname = \"jpeg\"\nq = true\n",
                "codec[0] (name = \"jpeg\"): q = true: expected a whole number. jpeg keys:",
            ),
            (
                "[[codec]]\nname = \"png\"\nzopfli = 1\n",
                "codec[0] (name = \"png\"): zopfli = 1: expected true or false. png keys:",
            ),
            (
                "[[codec]]\nname = \"jpeg\"\nq = 80.5\n",
                "q = 80.5: expected a whole number",
            ),
            (
                "[[codec]]\nname = \"jpeg\"\nq = [50, 500]\n",
                "codec[0] (name = \"jpeg\"): q = 500: q=500 is outside 1..100. jpeg keys:",
            ),
            (
                "[[codec]]\nname = \"jpeg\"\nq = \"90..10\"\n",
                "q = \"90..10\": q: range 90..10 is empty",
            ),
            (
                "[[codec]]\nname = \"jpeg\"\nsubsampling = 411\n",
                "subsampling = 411: subsampling=\"411\" is not one of 420|422|444",
            ),
            (
                "codec = [\"png\", \"jpeg:q=0\"]\n",
                "codec[1]: invalid codec spec \"jpeg:q=0\": q=0 is outside 1..100",
            ),
        ] {
            let (_d, p) = write(text);
            let e = configs(&p).unwrap_err();
            assert!(e.starts_with(&p.display().to_string()), "{e}");
            assert!(e.contains(want), "{text}: {e}");
        }
        // Two bad tables: both reported.
        let (_d, p) =
            write("codec = [{ name = \"jpeg\", q = 0 }, { name = \"webp\", speed = 3 }]\n");
        let e = configs(&p).unwrap_err();
        assert!(e.contains("codec[0]") && e.contains("codec[1]"), "{e}");
        // Values TOML can hold but a codec key cannot: named by TOML with the line.
        for text in [
            "[[codec]]\nname = \"jpeg\"\nq = { a = 1 }\n",
            "[[codec]]\nname = \"jpeg\"\nq = [[1, 2]]\n",
        ] {
            let (_d, p) = write(text);
            let e = read_sweep_codecs(&p).unwrap_err().to_string();
            assert!(e.contains("sweep.toml") && e.contains("line 3"), "{e}");
            assert!(e.contains("expected a string, number or boolean"), "{e}");
        }
    }

    #[test]
    fn gate_table_is_read() {
        let (_d, p) = write(
            "codec = [\"png\"]\n[gate]\nmax_bd_rate = 1.5\nmax_quality_drop = { psnr = 0.1 }\n",
        );
        let g = read_gate(&p).unwrap();
        assert_eq!(g.max_bd_rate, Some(1.5));
        assert_eq!(g.max_quality_drop["psnr"], 0.1);
        let (_d, p) = write("[gate]\nmax_bd = 1\n");
        assert!(read_gate(&p)
            .unwrap_err()
            .to_string()
            .contains("unknown field `max_bd`"));
    }

    #[test]
    fn bad_files_are_rejected_with_the_path() {
        let (_d, p) = write("codecs = [\"png\"]\n");
        let e = read_sweep_codecs(&p).unwrap_err().to_string();
        assert!(
            e.contains("sweep.toml") && e.contains("unknown field `codecs`"),
            "{e}"
        );
        let (_d, p) = write("[[codec]]\nq = 5\n");
        let e = read_sweep_codecs(&p).unwrap_err().to_string();
        assert!(
            e.contains("a codec table needs name") && e.contains("line 1"),
            "{e}"
        );
        let e = read_sweep_codecs(Path::new("/nonexistent/s.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/s.toml: cannot read"), "{e}");
    }

    #[test]
    fn expand_reports_every_bad_spec_and_dedups() {
        let errs = expand(&["jpeg:q=0".into(), "png".into(), "nope".into()]).unwrap_err();
        assert_eq!(errs.len(), 2);
        let ok = expand(&["png".into(), "png:preset=2".into()]).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(
            expand(
                &DEFAULT_SWEEP
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
            )
            .unwrap()
            .len(),
            // 38 (png, jpeg x18, webp x18, webp-lossless) + jpeg2000 x7, jpeg2000-lossless, qoi
            // + avif x5, jxl x5, jxl lossless + rle, huffman, gzip, zstd, brotli, xz, png-gzip, palette x2.
            67
        );
    }

    #[test]
    fn every_preset_expands_and_web_is_the_default() {
        assert_eq!(PRESETS[0].name, "web");
        for p in PRESETS {
            let specs: Vec<String> = p.codecs.iter().map(|s| s.to_string()).collect();
            let configs = expand(&specs).unwrap_or_else(|e| panic!("{}: {e:?}", p.name));
            assert!(!configs.is_empty());
            assert!(
                crate::metrics::parse_metrics(p.metrics).is_ok(),
                "{}",
                p.name
            );
            assert!(crate::metrics::find(p.metric).is_some(), "{}", p.name);
        }
        // The web preset has no general-purpose compressor and only browser formats.
        let web: Vec<String> = WEB.codecs.iter().map(|s| s.to_string()).collect();
        for c in expand(&web).unwrap() {
            assert!(
                crate::analysis::delivery::format_of(c.codec.name(), &c.options()).is_some(),
                "{}",
                c.spec()
            );
        }
        assert!(preset("nope")
            .unwrap_err()
            .to_string()
            .contains("web, photo-archive"));
    }
}
