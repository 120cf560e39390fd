//! The `Codec` trait, the parameter tables codecs declare, and the registry of built-in codecs.
//!
//! A codec declares its keys (one of them the "setting", the main knob that rate-distortion
//! curves sweep); the spec parser in [`spec`] validates user input against that table, so no
//! codec sees an unchecked value.

mod identity;
mod jpeg;
mod png;
pub mod spec;
mod webp;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::pixels::{Image, Layout};

pub use spec::{parse_spec, CodecConfig};

/// A value of a codec parameter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Choice(&'static str),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Choice(v) => write!(f, "{v}"),
        }
    }
}

/// What values a parameter takes.
#[derive(Clone, Debug)]
pub enum Kind {
    Int { min: i64, max: i64 },
    Bool,
    Choice(&'static [&'static str]),
}

/// One parameter a codec understands.
#[derive(Clone, Debug)]
pub struct Param {
    pub key: &'static str,
    pub kind: Kind,
    pub default: Value,
    pub help: &'static str,
}

impl Param {
    /// "q 1..100 (default 75)".
    pub fn describe(&self) -> String {
        let range = match &self.kind {
            Kind::Int { min, max } => format!("{min}..{max}"),
            Kind::Bool => "true|false".into(),
            Kind::Choice(c) => c.join("|"),
        };
        format!("{} {} (default {})", self.key, range, self.default)
    }
}

/// Validated parameter values of one cell, every key of the codec present.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Params(pub BTreeMap<&'static str, Value>);

impl Params {
    pub fn int(&self, key: &str) -> i64 {
        match self.0.get(key) {
            Some(Value::Int(v)) => *v,
            other => panic!("codec parameter {key} is not an integer: {other:?}"),
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
}

/// An image codec under test: encodes pixels to bytes and decodes its own bytes back with a
/// real decoder. Implementations must be deterministic for identical input and parameters.
pub trait Codec: Send + Sync {
    /// Short name used in specs, e.g. "jpeg".
    fn name(&self) -> &'static str;
    /// Version string including the underlying library versions; part of every result's key.
    fn version(&self) -> String;
    /// Which decoder reads the encoded bytes back.
    fn decoder(&self) -> String;
    /// File extension for saved encoded files.
    fn extension(&self) -> &'static str;
    /// True when the codec promises an exact round trip of its input.
    fn lossless(&self) -> bool;
    /// Parameters; the first one is the setting (the swept knob), if the codec has any.
    fn params(&self) -> &[Param];
    /// The layout this codec is given for a source of layout `src` (the harness converts).
    fn input_layout(&self, src: Layout) -> Layout;
    /// Encodes `img` (already in `input_layout`).
    fn encode(&self, img: &Image, params: &Params) -> Result<Vec<u8>, String>;
    /// Decodes bytes produced by `encode`.
    fn decode(&self, data: &[u8]) -> Result<Image, String>;
    /// Rough cost of one cell per pixel relative to a default JPEG encode, used only to start
    /// expensive cells first so that the last cells of a sweep do not run alone.
    fn relative_cost(&self, _params: &Params) -> f64 {
        1.0
    }
}

/// All built-in codecs, in the order `codecbench codecs` lists them.
pub fn builtin() -> Vec<Arc<dyn Codec>> {
    vec![
        Arc::new(png::Png),
        Arc::new(jpeg::Jpeg),
        Arc::new(webp::WebpLossy),
        Arc::new(webp::WebpLossless),
        Arc::new(identity::Identity),
    ]
}

/// Finds a built-in codec by name.
pub fn find(name: &str) -> Option<Arc<dyn Codec>> {
    builtin().into_iter().find(|c| c.name() == name)
}

/// Runs `f`, turning a panic (mozjpeg reports errors by unwinding) into an error string.
pub fn catch<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(panic_message(payload.as_ref())),
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

/// Crate versions read from Cargo.lock at build time (see build.rs).
pub(crate) mod versions {
    pub const OXIPNG: &str = env!("CB_VERSION_OXIPNG");
    pub const PNG: &str = env!("CB_VERSION_PNG");
    pub const MOZJPEG: &str = env!("CB_VERSION_MOZJPEG");
    pub const MOZJPEG_SYS: &str = env!("CB_VERSION_MOZJPEG_SYS");
    pub const WEBP: &str = env!("CB_VERSION_WEBP");
    pub const LIBWEBP_SYS: &str = env!("CB_VERSION_LIBWEBP_SYS");
}
