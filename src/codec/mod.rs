//! The `Codec` trait, the parameter tables codecs declare, and the [`Registry`] of codecs a run
//! can use (the built-ins plus any added at run time).
//!
//! A codec declares its keys (the first one is the "setting", the main knob that
//! rate-distortion curves sweep); the spec parser in [`spec`] validates user input against that
//! table, so no codec sees an unchecked value. Names, keys and choices are owned strings, so a
//! codec defined at run time (an external command declared in a file) is as good as a
//! built-in.
//!
//! Adding a built-in codec: a file here implementing [`Codec`], and its `mod` line and
//! [`Registry::builtin`] entry below.

pub(crate) mod avif;
mod bundled;
pub mod external;
mod general;
mod htj2k;
mod identity;
mod jpeg;
mod jpeg2000;
mod jpeg_arith;
mod jpegli;
pub(crate) mod jxl;
mod palette;
mod png;
mod png_gzip;
mod qoi;
pub mod raw;
mod rle;
pub mod spec;
mod webp;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use crate::pixels::{Image, Layout, PixelError};

pub use spec::{CodecConfig, SpecError};

/// A value of a codec parameter.
#[derive(Clone, Debug)]
pub enum Value {
    Int(i64),
    /// A real number (e.g. a JPEG XL distance); compared and hashed by its bits.
    Float(f64),
    Bool(bool),
    Choice(String),
}

impl Value {
    /// The value as a number, for the `setting` column: integers and floats; `None` otherwise.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Int(_) => 0,
            Value::Float(_) => 1,
            Value::Bool(_) => 2,
            Value::Choice(_) => 3,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Choice(a), Value::Choice(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Value::Int(v) => v.hash(state),
            Value::Float(v) => v.to_bits().hash(state),
            Value::Bool(v) => v.hash(state),
            Value::Choice(v) => v.hash(state),
        }
    }
}

impl fmt::Display for Value {
    /// Floats print in their shortest exact form (`0.5`, `1`, `2.25`), so a spec written with
    /// a float reads back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Choice(v) => write!(f, "{v}"),
        }
    }
}

/// What values a parameter takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Int { min: i64, max: i64 },
    Float { min: f64, max: f64 },
    Bool,
    Choice(Vec<String>),
}

/// One parameter a codec understands.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub key: String,
    pub kind: Kind,
    pub default: Value,
    pub help: String,
}

impl Param {
    /// An integer parameter in `min..=max`.
    pub fn int(key: &str, min: i64, max: i64, default: i64, help: &str) -> Param {
        Param {
            key: key.into(),
            kind: Kind::Int { min, max },
            default: Value::Int(default),
            help: help.into(),
        }
    }

    /// A real-valued parameter in `min..=max`.
    pub fn float(key: &str, min: f64, max: f64, default: f64, help: &str) -> Param {
        Param {
            key: key.into(),
            kind: Kind::Float { min, max },
            default: Value::Float(default),
            help: help.into(),
        }
    }

    /// A true/false parameter.
    pub fn bool(key: &str, default: bool, help: &str) -> Param {
        Param {
            key: key.into(),
            kind: Kind::Bool,
            default: Value::Bool(default),
            help: help.into(),
        }
    }

    /// A parameter taking one of `choices`.
    pub fn choice(key: &str, choices: &[&str], default: &str, help: &str) -> Param {
        Param {
            key: key.into(),
            kind: Kind::Choice(choices.iter().map(|c| c.to_string()).collect()),
            default: Value::Choice(default.into()),
            help: help.into(),
        }
    }

    /// "q 1..100 (default 75)".
    pub fn describe(&self) -> String {
        let range = match &self.kind {
            Kind::Int { min, max } => format!("{min}..{max}"),
            Kind::Float { min, max } => format!("{min}..{max} (real)"),
            Kind::Bool => "true|false".into(),
            Kind::Choice(c) => c.join("|"),
        };
        format!("{} {} (default {})", self.key, range, self.default)
    }
}

/// Validated parameter values of one cell, every key of the codec present.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Params(pub BTreeMap<String, Value>);

impl Params {
    /// Every key of `params` at its default: what a spec naming only the codec gives.
    pub fn defaults(params: &[Param]) -> Params {
        Params(
            params
                .iter()
                .map(|p| (p.key.clone(), p.default.clone()))
                .collect(),
        )
    }
    pub fn int(&self, key: &str) -> i64 {
        match self.0.get(key) {
            Some(Value::Int(v)) => *v,
            other => panic!("codec parameter {key} is not an integer: {other:?}"),
        }
    }
    /// A real-valued parameter (an integer parameter reads as its value).
    pub fn float(&self, key: &str) -> f64 {
        match self.0.get(key) {
            Some(Value::Float(v)) => *v,
            Some(Value::Int(v)) => *v as f64,
            other => panic!("codec parameter {key} is not a number: {other:?}"),
        }
    }
    pub fn bool(&self, key: &str) -> bool {
        match self.0.get(key) {
            Some(Value::Bool(v)) => *v,
            other => panic!("codec parameter {key} is not a boolean: {other:?}"),
        }
    }
    pub fn choice(&self, key: &str) -> &str {
        match self.0.get(key) {
            Some(Value::Choice(v)) => v,
            other => panic!("codec parameter {key} is not a choice: {other:?}"),
        }
    }
    /// Sets one value (used by codecs and tests that derive one configuration from another).
    pub fn set(&mut self, key: &str, value: Value) {
        self.0.insert(key.to_string(), value);
    }
}

/// Why a codec call failed; its text is the message of the cell's error row.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CodecError {
    /// The codec library's own account (a C library's error text, a malformed stream): the
    /// kernel's message is all there is.
    #[error("{0}")]
    Library(String),
    /// The decoded pixels do not make an image of the promised shape.
    #[error(transparent)]
    Pixels(#[from] PixelError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Raw(#[from] raw::RawError),
    #[error(transparent)]
    Rle(#[from] rle::RleError),
    /// An external codec's command or worker failed.
    #[error(transparent)]
    External(#[from] external::ExternalError),
}

/// Why a built-in decoder could not read a file (also when it reads a source image).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The decoding library's account of the failure.
    #[error("{format} decode failed: {detail}")]
    Failed {
        format: &'static str,
        detail: String,
    },
    /// A valid file holding something the harness does not take.
    #[error("{format} decode: {detail} not supported")]
    Unsupported {
        format: &'static str,
        detail: String,
    },
    #[error(transparent)]
    Pixels(#[from] PixelError),
}

impl From<String> for CodecError {
    fn from(s: String) -> Self {
        CodecError::Library(s)
    }
}

impl From<&str> for CodecError {
    fn from(s: &str) -> Self {
        CodecError::Library(s.to_string())
    }
}

/// What `encode` produced: the bytes, and the codec's own account of its time when it has one
/// (an external tool that reports its encode time, excluding process start-up).
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    /// Used instead of the harness's clock when present.
    pub reported_time: Option<Duration>,
}

impl From<Vec<u8>> for Encoded {
    fn from(bytes: Vec<u8>) -> Self {
        Encoded {
            bytes,
            reported_time: None,
        }
    }
}

/// What `decode` produced: the pixels, and the codec's own account of its time if it has one.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub image: Image,
    /// Used instead of the harness's clock when present.
    pub reported_time: Option<Duration>,
}

impl From<Image> for Decoded {
    fn from(image: Image) -> Self {
        Decoded {
            image,
            reported_time: None,
        }
    }
}

/// An image codec under test: encodes pixels to bytes and decodes its own bytes back with a
/// real decoder. Implementations must be deterministic for identical input and parameters.
pub trait Codec: Send + Sync {
    /// Short name used in specs, e.g. "jpeg".
    fn name(&self) -> &str;
    /// Version string including the underlying library versions; part of every result's key.
    fn version(&self) -> String;
    /// Which decoder reads the encoded bytes back.
    fn decoder(&self) -> String;
    /// File extension for saved encoded files.
    fn extension(&self) -> &str;
    /// True when this configuration promises an exact round trip of its input (a lossless
    /// codec, or a lossless mode of a lossy one); such a cell must decode exactly.
    fn lossless(&self, params: &Params) -> bool;
    /// Parameters; the first one is the setting (the swept knob), if the codec has any.
    fn params(&self) -> &[Param];
    /// The layout this codec is given for a source of layout `src` (the harness converts).
    fn input_layout(&self, src: Layout) -> Layout;
    /// Encodes `img` (already in `input_layout`).
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError>;
    /// Decodes bytes produced by `encode`.
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError>;
    /// Rough cost of one cell per pixel relative to a default JPEG encode, used only to start
    /// expensive cells first so that the last cells of a sweep do not run alone.
    fn relative_cost(&self, _params: &Params) -> f64 {
        1.0
    }
    /// Everything besides name, version, decoder and spec that determines this codec's output,
    /// as text for the cache key: an external codec's commands, parameters and version output.
    /// Empty for built-ins (their version covers it).
    fn definition(&self) -> String {
        String::new()
    }
    /// Whether the encoder does its work on the calling thread, so that the thread's CPU clock
    /// is its CPU time (`encode_cpu_ms`). `false` for encoders that hand the work to threads
    /// or processes of their own (rav1e's thread pool; the `cjxl` process of the built-in jxl,
    /// whose CPU time comes from wait4 instead): the calling thread's near-zero wait is then
    /// not reported as the encode's CPU time.
    fn encode_cpu_on_thread(&self) -> bool {
        true
    }
}

/// The codecs a run can use, by name: the built-ins, plus codecs added at run time. Spec
/// parsing, the CLI and the report look codecs up here, never in a global list.
#[derive(Clone, Default)]
pub struct Registry {
    codecs: Vec<Arc<dyn Codec>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// A codec name that is already taken.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("a codec named \"{0}\" is already defined; choose another name")]
pub struct DuplicateCodec(pub String);

impl Registry {
    /// All built-in codecs, in the order `codecbench codecs` lists them.
    pub fn builtin() -> Registry {
        Registry {
            codecs: vec![
                Arc::new(png::Png),
                Arc::new(jpeg::Jpeg),
                Arc::new(webp::Webp { lossless: false }),
                Arc::new(webp::Webp { lossless: true }),
                Arc::new(qoi::Qoi),
                Arc::new(jpeg2000::Jpeg2000 { lossless: false }),
                Arc::new(jpeg2000::Jpeg2000 { lossless: true }),
                Arc::new(avif::Avif),
                Arc::new(jxl::Jxl),
                Arc::new(jpegli::Jpegli),
                Arc::new(htj2k::Htj2k),
                Arc::new(identity::Identity),
                Arc::new(rle::Rle),
                Arc::new(general::General::Huffman),
                Arc::new(general::General::Gzip),
                Arc::new(general::General::Zstd),
                Arc::new(general::General::Brotli),
                Arc::new(general::General::Xz),
                Arc::new(png_gzip::PngGzip),
                Arc::new(palette::Palette),
            ],
        }
    }

    /// Adds a codec; its name must be new.
    pub fn add(&mut self, codec: Arc<dyn Codec>) -> Result<(), DuplicateCodec> {
        if self.find(codec.name()).is_some() {
            return Err(DuplicateCodec(codec.name().to_string()));
        }
        self.codecs.push(codec);
        Ok(())
    }

    /// The codec called `name`.
    pub fn find(&self, name: &str) -> Option<Arc<dyn Codec>> {
        self.codecs.iter().find(|c| c.name() == name).cloned()
    }

    /// Every codec, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Codec>> {
        self.codecs.iter()
    }

    /// Every codec's name, in registration order.
    pub fn names(&self) -> Vec<&str> {
        self.codecs.iter().map(|c| c.name()).collect()
    }

    /// Parses and expands one spec string against these codecs (see [`spec`]).
    pub fn parse_spec(&self, text: &str) -> Result<Vec<CodecConfig>, SpecError> {
        spec::parse_spec(self, text)
    }
}

/// Runs `f`, turning a panic (mozjpeg reports errors by unwinding) into an error.
pub fn catch<T, E: From<String>>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(E::from(panic_message(payload.as_ref()))),
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "panic with a non-text payload".into()
    }
}

/// Crate versions read from Cargo.lock at build time (in their own module, [`crate::versions`],
/// because the corpus reports decoder versions too).
pub(crate) use crate::versions;
