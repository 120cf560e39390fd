//! What a spec or a sweep file's codec table can get wrong: typed, with the texts the user
//! reads (the spec, the key, the value and the codec's keys and ranges).

/// A spec that cannot be used: the message names the spec, says what is wrong and lists the
/// codec's valid keys and ranges (or the known codecs).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("invalid codec spec \"{spec}\": {problem}")]
pub struct SpecError {
    pub spec: String,
    pub problem: SpecProblem,
}

/// What is wrong with a spec.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpecProblem {
    #[error("label \"{0}\" before the codec name: write LABEL=CODEC[:KEY=VALUES], the label of letters, digits, - _ .")]
    Label(String),
    #[error("unknown codec \"{name}\" (known: {known})")]
    UnknownCodec { name: String, known: String },
    /// The codec has no setting to vary (a target search's probe).
    #[error("{0} has no setting")]
    NoSetting(String),
    /// A setting's value out of its range (a target search's probe).
    #[error(transparent)]
    Setting(Box<ValueError>),
    /// A key or value of the spec, followed by the codec's keys and ranges.
    #[error("{problem}. {keys}")]
    Key { problem: KeyProblem, keys: String },
}

/// A key or value of a spec that cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum KeyProblem {
    #[error("empty value (two commas in a row?)")]
    EmptyValue,
    #[error("key {0} given twice")]
    GivenTwice(String),
    #[error("\"{0}\" has no key (write key=value)")]
    NoKey(String),
    #[error("unknown key \"{0}\"")]
    UnknownKey(String),
    #[error(transparent)]
    Value(Box<ValueError>),
}

/// A value a key refuses: out of its range, not one of its choices, not of its kind, or a
/// range that expands to nothing.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("{key}={value} is outside {min}..{max}")]
    OutOfRange {
        key: String,
        value: String,
        min: String,
        max: String,
    },
    #[error("{key}=\"{value}\" is not one of {choices}")]
    NotAChoice {
        key: String,
        value: String,
        choices: String,
    },
    #[error("{key}={value} is not a value of this key")]
    WrongKind { key: String, value: String },
    #[error("{key}=\"{text}\" is not a whole number")]
    NotAWholeNumber { key: String, text: String },
    #[error("{key}=\"{text}\" is not a number")]
    NotANumber { key: String, text: String },
    #[error("{key}=\"{text}\" is not true or false")]
    NotABool { key: String, text: String },
    #[error("{key}: range step must be positive")]
    Step { key: String },
    #[error("{key}: range {from}..{to} is empty")]
    EmptyRange {
        key: String,
        from: String,
        to: String,
    },
    #[error("{key}: a range of real values needs a step, e.g. {key}={from}..{to}:0.5")]
    NoStep {
        key: String,
        from: String,
        to: String,
    },
    #[error("{key}: range {from}..{to}:{step} has too many values")]
    TooMany {
        key: String,
        from: String,
        to: String,
        step: String,
    },
}

/// A key of a codec table that cannot be used: which key or value, and why. The caller adds
/// the file and the table.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TableError {
    #[error("unknown codec \"{name}\" (known: {known})")]
    UnknownCodec { name: String, known: String },
    #[error("label \"{0}\": a label is letters, digits, - _ .")]
    Label(String),
    #[error("unknown key \"{key}\". {keys}")]
    UnknownKey { key: String, keys: String },
    #[error("{key} = {value}: expected {expected}. {keys}")]
    WrongType {
        key: String,
        value: String,
        expected: &'static str,
        keys: String,
    },
    #[error("{key} = {value}: {reason}. {keys}")]
    BadValue {
        key: String,
        value: String,
        reason: Box<ValueError>,
        keys: String,
    },
}
