//! Codec spec strings: `name[:key=values,...]`, expanded into checked configurations.
//!
//! Values are a single value, a comma list (`q=50,75,90`), an integer range with an optional
//! step (`q=10..95:5`, both ends included when the step lands on them) or a range of real
//! values with a step (`d=0.5..3:0.5`, values rounded to 9 decimals so they read back exactly). A token without `=`
//! continues the previous key's list, so `jpeg:q=50,75,subsampling=444` is two keys. Every
//! combination of the listed values becomes one configuration (options outer, setting inner).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::{Codec, Kind, Param, Params, Registry, Value};

mod error;
pub use error::{KeyProblem, SpecError, SpecProblem, TableError, ValueError};

/// One codec with fully resolved parameters: one column of the sweep.
#[derive(Clone)]
pub struct CodecConfig {
    pub codec: Arc<dyn Codec>,
    pub params: Params,
    /// The pipeline's name (`site` in `site=jpeg:q=80`); empty when unlabelled. `compare`
    /// matches labelled cells by (image, label) whatever the spec; not part of the spec, the
    /// cache key or the measurement.
    pub label: String,
}

impl fmt::Debug for CodecConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec())
    }
}

impl PartialEq for CodecConfig {
    fn eq(&self, other: &Self) -> bool {
        self.spec() == other.spec() && self.label == other.label
    }
}

impl CodecConfig {
    /// The setting's key and value, if the codec has a setting.
    pub fn setting(&self) -> Option<(&str, &Value)> {
        let key = self.codec.params().first()?.key.as_str();
        Some((key, &self.params.0[key]))
    }

    /// The setting as a number (the `setting` column), when it is one.
    pub fn setting_value(&self) -> Option<f64> {
        self.setting().and_then(|(_, v)| v.as_f64())
    }

    /// True when this configuration must round-trip exactly.
    pub fn lossless(&self) -> bool {
        self.codec.lossless(&self.params)
    }

    /// The same configuration with another value of the setting, checked against its range
    /// (the target search derives its probes this way).
    pub fn with_setting(&self, value: Value) -> Result<CodecConfig, SpecError> {
        let fail = |problem: SpecProblem| SpecError {
            spec: self.spec(),
            problem,
        };
        let p = self
            .codec
            .params()
            .first()
            .ok_or_else(|| fail(SpecProblem::NoSetting(self.codec.name().to_string())))?;
        let value = check(p, value).map_err(|e| fail(SpecProblem::Setting(Box::new(e))))?;
        let mut params = self.params.clone();
        params.set(&p.key, value);
        Ok(CodecConfig {
            codec: self.codec.clone(),
            params,
            label: self.label.clone(),
        })
    }

    fn joined(&self, params: &[Param], sep: &str) -> String {
        params
            .iter()
            .map(|p| format!("{}={}", p.key, self.params.0[&p.key]))
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// Non-setting parameters as `k=v,k=v` in declaration order; empty when there are none.
    pub fn options(&self) -> String {
        let params = self.codec.params();
        self.joined(params.get(1..).unwrap_or(&[]), ",")
    }

    /// Canonical full spec, e.g. `jpeg:q=75,subsampling=420,progressive=true,arithmetic=false`.
    pub fn spec(&self) -> String {
        self.named(&self.joined(self.codec.params(), ","), ":")
    }

    /// Codec and options without the setting: identifies one rate-distortion curve.
    pub fn curve(&self) -> String {
        self.named(&self.options(), ":")
    }

    /// A file name stem for saved encoded files, e.g. `jpeg-q=75_subsampling=420`.
    pub fn file_stem(&self) -> String {
        self.named(&self.joined(self.codec.params(), "_"), "-")
    }

    fn named(&self, rest: &str, sep: &str) -> String {
        if rest.is_empty() {
            self.codec.name().to_string()
        } else {
            format!("{}{sep}{rest}", self.codec.name())
        }
    }
}

/// Lists a codec's keys for error messages.
pub fn describe_keys(codec: &dyn Codec) -> String {
    let params = codec.params();
    if params.is_empty() {
        return format!("{} takes no keys", codec.name());
    }
    let keys: Vec<String> = params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let d = p.describe();
            if i == 0 {
                d.replacen(" (default", " (setting, default", 1)
            } else {
                d
            }
        })
        .collect();
    format!("{} keys: {}", codec.name(), keys.join(", "))
}

/// Parses and expands one spec string against `registry`. The error names the spec and lists
/// valid keys/ranges.
pub fn parse_spec(registry: &Registry, text: &str) -> Result<Vec<CodecConfig>, SpecError> {
    let fail = |problem: SpecProblem| SpecError {
        spec: text.to_string(),
        problem,
    };
    let (label, text) = split_label(text).map_err(fail)?;
    let (name, rest) = match text.split_once(':') {
        Some((n, r)) => (n.trim(), Some(r)),
        None => (text.trim(), None),
    };
    let codec = registry.find(name).ok_or_else(|| {
        fail(SpecProblem::UnknownCodec {
            name: name.to_string(),
            known: registry.names().join(", "),
        })
    })?;
    let keys_help = describe_keys(codec.as_ref());
    let fail_k = |problem: KeyProblem| {
        fail(SpecProblem::Key {
            problem,
            keys: keys_help.clone(),
        })
    };

    // Raw lists per key, in the order given.
    let mut raw: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(rest) = rest {
        for token in rest.split(',').map(str::trim) {
            if token.is_empty() {
                return Err(fail_k(KeyProblem::EmptyValue));
            }
            match token.split_once('=') {
                Some((k, v)) => {
                    let k = k.trim().to_string();
                    if raw.iter().any(|(seen, _)| *seen == k) {
                        return Err(fail_k(KeyProblem::GivenTwice(k)));
                    }
                    raw.push((k, vec![v.trim().to_string()]));
                }
                None => match raw.last_mut() {
                    Some((_, list)) => list.push(token.to_string()),
                    None => return Err(fail_k(KeyProblem::NoKey(token.to_string()))),
                },
            }
        }
    }

    let params = codec.params();
    let mut values: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (k, list) in &raw {
        let p = params
            .iter()
            .find(|p| p.key == *k)
            .ok_or_else(|| fail_k(KeyProblem::UnknownKey(k.clone())))?;
        let mut vals = Vec::new();
        for item in list {
            vals.extend(parse_values(p, item).map_err(|e| fail_k(KeyProblem::Value(Box::new(e))))?);
        }
        dedup_keep_order(&mut vals);
        values.insert(p.key.as_str(), vals);
    }
    Ok(combine(&codec, &values, &label))
}

/// Every combination of the given values (defaults for keys not given): options in
/// declaration order outermost, the setting innermost.
fn combine(
    codec: &Arc<dyn Codec>,
    values: &BTreeMap<&str, Vec<Value>>,
    label: &str,
) -> Vec<CodecConfig> {
    let params = codec.params();
    let mut order: Vec<&Param> = params.iter().skip(1).collect();
    order.extend(params.first());
    let mut combos: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new()];
    for p in order {
        let vals = values
            .get(p.key.as_str())
            .cloned()
            .unwrap_or_else(|| vec![p.default.clone()]);
        combos = combos
            .into_iter()
            .flat_map(|c| {
                vals.iter().map(move |v| {
                    let mut c = c.clone();
                    c.insert(p.key.clone(), v.clone());
                    c
                })
            })
            .collect();
    }
    combos
        .into_iter()
        .map(|c| CodecConfig {
            codec: codec.clone(),
            params: Params(c),
            label: label.to_string(),
        })
        .collect()
}

/// Splits `label=codec:...` into the label and the spec: the label is the text before an `=`
/// that comes ahead of the codec name (before the first `:`). No `=` there: no label.
fn split_label(text: &str) -> Result<(String, &str), SpecProblem> {
    let head = text.split(':').next().unwrap_or("");
    let Some((label, _)) = head.split_once('=') else {
        return Ok((String::new(), text));
    };
    let label = label.trim();
    if !label_ok(label) {
        return Err(SpecProblem::Label(label.to_string()));
    }
    Ok((label.to_string(), &text[head.find('=').unwrap() + 1..]))
}

/// One value of a codec table in a sweep file, with the type TOML gave it. A string is read in
/// the spec syntax (`"50..90:10"`, `"444"`); numbers and booleans are checked against the key's
/// kind as they are, never through text.
#[derive(Clone, Debug, PartialEq)]
pub enum TableValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl fmt::Display for TableValue {
    /// As written in TOML (`true`, `80`, `1.5`, `"50..90:10"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableValue::Bool(v) => write!(f, "{v}"),
            TableValue::Int(v) => write!(f, "{v}"),
            TableValue::Float(v) => write!(f, "{v:?}"),
            TableValue::Text(v) => write!(f, "{v:?}"),
        }
    }
}

/// Expands a codec table of a sweep file (`name`, optional `label`, then each key with its
/// values as TOML typed them) against `registry`, as [`parse_spec`] expands a spec string.
pub fn expand_table(
    registry: &Registry,
    name: &str,
    label: &str,
    keys: &[(String, Vec<TableValue>)],
) -> Result<Vec<CodecConfig>, TableError> {
    let codec = registry
        .find(name)
        .ok_or_else(|| TableError::UnknownCodec {
            name: name.to_string(),
            known: registry.names().join(", "),
        })?;
    if !label.is_empty() && !label_ok(label) {
        return Err(TableError::Label(label.to_string()));
    }
    let help = || describe_keys(codec.as_ref());
    let params = codec.params();
    let mut values: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (k, list) in keys {
        let p = params
            .iter()
            .find(|p| p.key == *k)
            .ok_or_else(|| TableError::UnknownKey {
                key: k.clone(),
                keys: help(),
            })?;
        let mut vals = Vec::new();
        for v in list {
            vals.extend(table_values(p, v).map_err(|e| match e {
                Refused::Type(expected) => TableError::WrongType {
                    key: k.clone(),
                    value: v.to_string(),
                    expected,
                    keys: help(),
                },
                Refused::Value(reason) => TableError::BadValue {
                    key: k.clone(),
                    value: v.to_string(),
                    reason,
                    keys: help(),
                },
            })?);
        }
        dedup_keep_order(&mut vals);
        values.insert(p.key.as_str(), vals);
    }
    Ok(combine(&codec, &values, label))
}

/// Why a key refused a table value.
enum Refused {
    /// The wrong type: what the key takes.
    Type(&'static str),
    /// The right type, refused (out of range, not a choice, an empty range).
    Value(Box<ValueError>),
}

/// The values one table value stands for.
fn table_values(p: &Param, v: &TableValue) -> Result<Vec<Value>, Refused> {
    let one = |v: Value| {
        check(p, v)
            .map(|v| vec![v])
            .map_err(|e| Refused::Value(Box::new(e)))
    };
    match (&p.kind, v) {
        (_, TableValue::Text(text)) => {
            parse_values(p, text).map_err(|e| Refused::Value(Box::new(e)))
        }
        // Choices are names (`420`, `444`): a number or boolean is its text.
        (Kind::Choice(_), v) => one(Value::Choice(match v {
            TableValue::Float(f) => f.to_string(),
            v => v.to_string(),
        })),
        (Kind::Int { .. }, TableValue::Int(i)) => one(Value::Int(*i)),
        // `q = 80.0` is the whole number 80.
        (Kind::Int { .. }, TableValue::Float(f))
            if f.fract() == 0.0 && f.abs() < i64::MAX as f64 =>
        {
            one(Value::Int(*f as i64))
        }
        (Kind::Float { .. }, TableValue::Int(i)) => one(Value::Float(*i as f64)),
        (Kind::Float { .. }, TableValue::Float(f)) => one(Value::Float(*f)),
        (Kind::Bool, TableValue::Bool(b)) => Ok(vec![Value::Bool(*b)]),
        (Kind::Int { .. }, _) => Err(Refused::Type("a whole number")),
        (Kind::Float { .. }, _) => Err(Refused::Type("a number")),
        (Kind::Bool, _) => Err(Refused::Type("true or false")),
    }
}

/// A pipeline label: letters, digits, `-`, `_` and `.`, not empty.
fn label_ok(label: &str) -> bool {
    !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn dedup_keep_order(vals: &mut Vec<Value>) {
    let mut seen = Vec::new();
    vals.retain(|v| {
        if seen.contains(v) {
            false
        } else {
            seen.push(v.clone());
            true
        }
    });
}

/// Checks one value against a parameter's kind and range.
fn check(p: &Param, value: Value) -> Result<Value, ValueError> {
    let key = || p.key.to_string();
    match (&p.kind, value) {
        (Kind::Int { min, max }, Value::Int(v)) => {
            if (*min..=*max).contains(&v) {
                Ok(Value::Int(v))
            } else {
                Err(ValueError::OutOfRange {
                    key: key(),
                    value: v.to_string(),
                    min: min.to_string(),
                    max: max.to_string(),
                })
            }
        }
        (Kind::Float { min, max }, v @ (Value::Float(_) | Value::Int(_))) => {
            let x = v.as_f64().unwrap_or(f64::NAN);
            if x.is_finite() && (*min..=*max).contains(&x) {
                Ok(Value::Float(x))
            } else {
                Err(ValueError::OutOfRange {
                    key: key(),
                    value: x.to_string(),
                    min: min.to_string(),
                    max: max.to_string(),
                })
            }
        }
        (Kind::Bool, v @ Value::Bool(_)) => Ok(v),
        (Kind::Choice(choices), Value::Choice(c)) => {
            if choices.contains(&c) {
                Ok(Value::Choice(c))
            } else {
                Err(ValueError::NotAChoice {
                    key: key(),
                    value: c,
                    choices: choices.join("|"),
                })
            }
        }
        (_, v) => Err(ValueError::WrongKind {
            key: key(),
            value: v.to_string(),
        }),
    }
}

fn parse_values(p: &Param, item: &str) -> Result<Vec<Value>, ValueError> {
    let key = || p.key.to_string();
    let range =
        |from: &dyn fmt::Display, to: &dyn fmt::Display| (key(), from.to_string(), to.to_string());
    match &p.kind {
        Kind::Int { .. } => {
            let int = |s: &str| {
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| ValueError::NotAWholeNumber {
                        key: key(),
                        text: s.to_string(),
                    })
            };
            let checked = |v: i64| -> Result<i64, ValueError> {
                match check(p, Value::Int(v))? {
                    Value::Int(v) => Ok(v),
                    _ => unreachable!("an integer key checks to an integer"),
                }
            };
            if let Some((a, b)) = item.split_once("..") {
                let (b, step) = match b.split_once(':') {
                    Some((b, s)) => (b, int(s)?),
                    None => (b, 1),
                };
                let (a, b) = (checked(int(a)?)?, checked(int(b)?)?);
                if step <= 0 {
                    return Err(ValueError::Step { key: key() });
                }
                if a > b {
                    let (key, from, to) = range(&a, &b);
                    return Err(ValueError::EmptyRange { key, from, to });
                }
                Ok((a..=b).step_by(step as usize).map(Value::Int).collect())
            } else {
                Ok(vec![Value::Int(checked(int(item)?)?)])
            }
        }
        Kind::Float { .. } => {
            let num = |s: &str| {
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| ValueError::NotANumber {
                        key: key(),
                        text: s.to_string(),
                    })
            };
            let checked = |v: f64| check(p, Value::Float(v));
            if let Some((a, b)) = item.split_once("..") {
                let (b, step) = match b.split_once(':') {
                    Some((b, s)) => (b, Some(num(s)?)),
                    None => (b, None),
                };
                let (a, b) = (num(a)?, num(b)?);
                checked(a)?;
                checked(b)?;
                let step = step.ok_or_else(|| {
                    let (key, from, to) = range(&a, &b);
                    ValueError::NoStep { key, from, to }
                })?;
                if step <= 0.0 {
                    return Err(ValueError::Step { key: key() });
                }
                if a > b {
                    let (key, from, to) = range(&a, &b);
                    return Err(ValueError::EmptyRange { key, from, to });
                }
                // a + i*step (not repeated addition), rounded to 9 decimals so that
                // 0.1..0.3:0.1 gives 0.1, 0.2, 0.3 and not 0.30000000000000004; the end is
                // included when a step lands on it within that rounding.
                let round = |x: f64| (x * 1e9).round() / 1e9;
                let n = ((b - a) / step + 1e-9).floor() as u64;
                if n > 100_000 {
                    let (key, from, to) = range(&a, &b);
                    return Err(ValueError::TooMany {
                        key,
                        from,
                        to,
                        step: step.to_string(),
                    });
                }
                (0..=n)
                    .map(|i| checked(round(a + i as f64 * step)))
                    .collect()
            } else {
                Ok(vec![checked(num(item)?)?])
            }
        }
        Kind::Bool => match item.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(vec![Value::Bool(true)]),
            "false" | "0" | "no" | "off" => Ok(vec![Value::Bool(false)]),
            _ => Err(ValueError::NotABool {
                key: key(),
                text: item.to_string(),
            }),
        },
        Kind::Choice(_) => Ok(vec![check(p, Value::Choice(item.to_string()))?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_spec(text: &str) -> Result<Vec<CodecConfig>, String> {
        Registry::builtin()
            .parse_spec(text)
            .map_err(|e| e.to_string())
    }

    fn specs(text: &str) -> Vec<String> {
        parse_spec(text).unwrap().iter().map(|c| c.spec()).collect()
    }

    #[test]
    fn defaults_fill_missing_keys() {
        assert_eq!(specs("png"), ["png:preset=2,zopfli=false"]);
        assert_eq!(specs("identity"), ["identity"]);
        assert_eq!(specs("webp-lossless"), ["webp-lossless:effort=75,method=4"]);
    }

    #[test]
    fn a_label_before_the_codec_name_names_the_pipeline() {
        let reg = Registry::builtin();
        let c = &reg.parse_spec("site=jpeg:q=80").unwrap()[0];
        assert_eq!(
            (c.label.as_str(), c.spec().as_str()),
            ("site", &*reg.parse_spec("jpeg:q=80").unwrap()[0].spec())
        );
        assert_eq!(reg.parse_spec("jpeg:q=80").unwrap()[0].label, "");
        assert_eq!(reg.parse_spec("site=png").unwrap()[0].label, "site");
        // The label is kept by the target search's probes.
        let probe = c.with_setting(Value::Int(50)).unwrap();
        assert_eq!(probe.label, "site");
        assert_ne!(c, &reg.parse_spec("jpeg:q=80").unwrap()[0]);
        let e = reg.parse_spec("my site=jpeg:q=80").unwrap_err();
        assert_eq!(e.problem, SpecProblem::Label("my site".into()), "{e}");
    }

    #[test]
    fn ranges_lists_and_options_expand() {
        let s = specs("jpeg:q=10..20:5,subsampling=444");
        assert_eq!(
            s,
            [
                "jpeg:q=10,subsampling=444,progressive=true,arithmetic=false",
                "jpeg:q=15,subsampling=444,progressive=true,arithmetic=false",
                "jpeg:q=20,subsampling=444,progressive=true,arithmetic=false"
            ]
        );
        let s = specs("webp:q=50,75,90");
        assert_eq!(s.len(), 3);
        assert!(s[2].starts_with("webp:q=90,"));
        // Options outer, setting inner.
        let s = specs("jpeg:q=50,60,subsampling=420,444");
        assert_eq!(s.len(), 4);
        assert!(s[0].contains("q=50,subsampling=420"));
        assert!(s[1].contains("q=60,subsampling=420"));
        assert!(s[2].contains("q=50,subsampling=444"));
        // A range whose step does not land on the end stops before it.
        assert_eq!(specs("jpeg:q=10..21:5").len(), 3);
    }

    #[test]
    fn curve_and_options_leave_out_the_setting() {
        let c = &parse_spec("jpeg:q=80,progressive=false").unwrap()[0];
        assert_eq!(
            c.curve(),
            "jpeg:subsampling=420,progressive=false,arithmetic=false"
        );
        assert_eq!(
            c.options(),
            "subsampling=420,progressive=false,arithmetic=false"
        );
        assert_eq!(c.setting().unwrap().0, "q");
        assert_eq!(
            c.file_stem(),
            "jpeg-q=80_subsampling=420_progressive=false_arithmetic=false"
        );
    }

    #[test]
    fn rejections_name_the_spec_and_list_keys() {
        for (bad, why) in [
            ("jpg", "unknown codec \"jpg\" (known: png, jpeg, webp"),
            ("jpeg:q=0", "q=0 is outside 1..100"),
            ("jpeg:q=101", "q=101 is outside 1..100"),
            ("jpeg:quality=50", "unknown key \"quality\""),
            ("jpeg:q=abc", "q=\"abc\" is not a whole number"),
            ("jpeg:q=90..10", "range 90..10 is empty"),
            ("jpeg:q=10..90:0", "range step must be positive"),
            ("jpeg:subsampling=411", "is not one of 420|422|444"),
            ("jpeg:q=5,q=6", "key q given twice"),
            ("jpeg:50", "has no key"),
            ("png:preset=7", "preset=7 is outside 0..6"),
            ("png:zopfli=maybe", "is not true or false"),
            ("webp:method=9", "method=9 is outside 0..6"),
            ("webp:q=50,,75", "empty value"),
            ("identity:q=5", "unknown key \"q\""),
        ] {
            let err = parse_spec(bad).unwrap_err();
            assert!(err.contains(&format!("\"{bad}\"")), "{err}");
            assert!(err.contains(why), "{bad}: {err}");
        }
        let err = parse_spec("jpeg:q=0").unwrap_err();
        assert!(
            err.contains("jpeg keys: q 1..100 (setting, default 75)"),
            "{err}"
        );
        assert!(err.contains("subsampling 420|422|444"), "{err}");
    }

    /// A codec with a real-valued setting that is lossless at 0 (as JPEG XL's distance is).
    struct Distance;

    static DISTANCE_PARAMS: std::sync::LazyLock<Vec<Param>> = std::sync::LazyLock::new(|| {
        vec![
            Param::float("d", 0.0, 25.0, 1.0, "distance; 0 is lossless"),
            Param::int("effort", 1, 9, 7, "effort"),
        ]
    });

    impl Codec for Distance {
        fn name(&self) -> &str {
            "dist"
        }
        fn version(&self) -> String {
            "test".into()
        }
        fn decoder(&self) -> String {
            "test".into()
        }
        fn extension(&self) -> &str {
            "bin"
        }
        fn lossless(&self, params: &Params) -> bool {
            params.float("d") == 0.0
        }
        fn params(&self) -> &[Param] {
            &DISTANCE_PARAMS
        }
        fn input_layout(&self, src: crate::pixels::Layout) -> crate::pixels::Layout {
            src
        }
        fn encode(
            &self,
            _: &crate::pixels::Image,
            _: &Params,
        ) -> Result<super::super::Encoded, super::super::CodecError> {
            Err("not used".into())
        }
        fn decode(&self, _: &[u8]) -> Result<super::super::Decoded, super::super::CodecError> {
            Err("not used".into())
        }
    }

    fn with_distance() -> Registry {
        let mut r = Registry::builtin();
        r.add(Arc::new(Distance)).unwrap();
        r
    }

    #[test]
    fn float_settings_expand_exactly_and_losslessness_is_per_configuration() {
        let r = with_distance();
        let c = r.parse_spec("dist:d=0..1.5:0.5,effort=3").unwrap();
        let specs: Vec<String> = c.iter().map(|c| c.spec()).collect();
        assert_eq!(
            specs,
            [
                "dist:d=0,effort=3",
                "dist:d=0.5,effort=3",
                "dist:d=1,effort=3",
                "dist:d=1.5,effort=3"
            ]
        );
        assert_eq!(c[1].setting_value(), Some(0.5));
        assert!(c[0].lossless() && !c[1].lossless());
        // Repeated addition would give 0.30000000000000004; the spec must read back exactly.
        let c = r.parse_spec("dist:d=0.1..0.3:0.1").unwrap();
        let d: Vec<f64> = c.iter().filter_map(|c| c.setting_value()).collect();
        assert_eq!(d, [0.1, 0.2, 0.3]);
        let again = r.parse_spec(&c[2].spec()).unwrap();
        assert_eq!(again[0].spec(), c[2].spec());
        // A probe derived from a configuration is checked against the range.
        let p = c[0].with_setting(Value::Float(2.25)).unwrap();
        assert_eq!(p.spec(), "dist:d=2.25,effort=7");
        let e = c[0]
            .with_setting(Value::Float(30.0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("d=30 is outside 0..25"), "{e}");
    }

    #[test]
    fn float_rejections_name_the_spec_and_keys() {
        let r = with_distance();
        for (bad, why) in [
            ("dist:d=26", "d=26 is outside 0..25"),
            ("dist:d=abc", "d=\"abc\" is not a number"),
            ("dist:d=inf", "d=\"inf\" is not a number"),
            ("dist:d=0..2", "a range of real values needs a step"),
            ("dist:d=2..1:0.5", "range 2..1 is empty"),
            ("dist:d=0..1:0", "range step must be positive"),
        ] {
            let e = r.parse_spec(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("\"{bad}\"")), "{e}");
            assert!(e.contains(why), "{bad}: {e}");
            assert!(
                e.contains("dist keys: d 0..25 (real) (setting, default 1)"),
                "{e}"
            );
        }
        let mut r = with_distance();
        assert!(r
            .add(Arc::new(Distance))
            .unwrap_err()
            .to_string()
            .contains("\"dist\" is already defined"));
    }
}
