//! External codec definitions: the `[[external]]` TOML tables, checked when read, and the
//! argument templates they hold (`{input}`, `{output}`, `{time_file}`, `{defdir}`, `{KEY}`,
//! `{KEY?TEXT}`).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::codec::{Kind, Param, Params, Value};

/// The image file formats an external tool reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Netpbm P5 (gray) / P6 (RGB), 8 or 16 bits (big-endian); no alpha.
    Ppm,
    Png,
    /// Netpbm P7 with TUPLTYPE GRAYSCALE, GRAYSCALE_ALPHA, RGB or RGB_ALPHA.
    Pam,
}

impl Format {
    fn parse(s: &str) -> Option<Format> {
        match s {
            "ppm" | "pgm" | "pnm" => Some(Format::Ppm),
            "png" => Some(Format::Png),
            "pam" => Some(Format::Pam),
            _ => None,
        }
    }
    pub(super) fn extension(self, gray: bool) -> &'static str {
        match self {
            Format::Ppm if gray => "pgm",
            Format::Ppm => "ppm",
            Format::Png => "png",
            Format::Pam => "pam",
        }
    }
}

/// A checked external codec definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub name: String,
    pub extension: String,
    pub input: Format,
    pub output: Format,
    pub encode: Vec<String>,
    pub decode: Vec<String>,
    /// Run once; its trimmed output is the codec version.
    pub version: Option<Vec<String>>,
    pub lossless: bool,
    pub timeout: Duration,
    /// Largest output file accepted from a command, bytes (default: 4 x the image's raw size
    /// + 1 MiB); a larger file fails the cell by its size, before it is read.
    pub max_output: Option<u64>,
    pub params: Vec<Param>,
    /// File name (in the cell folder, passed as `{time_file}`) where the tool writes the
    /// seconds its encode or decode took.
    pub time_file: Option<String>,
    /// Largest bit depth the tool reads (8 or 16; default 16): deeper sources are converted.
    pub depth: u8,
    /// Whether the tool is given alpha (default: yes for png and pam input).
    pub alpha: bool,
    /// Whether the tool is given gray images as gray (default yes); else as RGB.
    pub gray: bool,
    /// Where it was declared, for messages.
    pub origin: String,
    /// The folder of the file that declared it, substituted for `{defdir}` (so a definition
    /// can name a script next to it); commands run in the cell's temporary folder.
    pub defdir: PathBuf,
    /// A persistent worker's command (`worker = [...]`, see [`super::worker`]); then
    /// `encode` and `decode` hold the same command and are not run per cell.
    pub worker: Option<Vec<String>>,
    /// Files the commands depend on (`files = ["encode.sh"]`, relative to the definition's
    /// file), resolved: their contents are part of every cell's cache key.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    name: Option<String>,
    extension: Option<String>,
    input: Option<String>,
    output: Option<String>,
    encode: Option<Vec<String>>,
    decode: Option<Vec<String>>,
    version: Option<Vec<String>>,
    lossless: Option<bool>,
    timeout: Option<f64>,
    max_output: Option<u64>,
    time_file: Option<String>,
    depth: Option<u8>,
    alpha: Option<bool>,
    gray: Option<bool>,
    #[serde(default)]
    params: Vec<toml::Table>,
    worker: Option<Vec<String>>,
    #[serde(default)]
    files: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    key: Option<String>,
    kind: Option<String>,
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    default: Option<toml::Value>,
    values: Option<Vec<String>>,
    help: Option<String>,
}

/// A file of definitions only (`--external FILE`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DefinitionFile {
    #[serde(default)]
    pub(super) external: Vec<toml::Value>,
}

/// One field of a definition that is wrong: where it is inside the `[[external]]` table
/// (`params[0].min`) and what is wrong with it, saying what to give instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

fn bad(field: impl Into<String>, problem: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        problem: problem.into(),
    }
}

impl FieldError {
    /// The same problem, its field seen from the table around it (`params[0].` + `min`).
    fn within(self, outer: &str) -> FieldError {
        FieldError {
            field: format!("{outer}.{}", self.field),
            problem: self.problem,
        }
    }
}

/// Why a file of definitions, or a sweep file's `[[external]]` tables, cannot be used. The
/// text names the file and, for a bad field, the table and the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error("{}: cannot read ({error})", .path.display())]
    Read { path: PathBuf, error: String },
    /// Not TOML, or not tables of the expected shape (the parser's message).
    #[error("{}: {message}", .path.display())]
    Toml { path: PathBuf, message: String },
    /// `origin`: the file and the table (`defs.toml: external[0]`).
    #[error("{origin}.{error}")]
    Field { origin: String, error: FieldError },
}

/// A `{...}` placeholder that is not well formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum ArgError {
    #[error("unclosed '{{' (write {{{{ for a literal brace)")]
    Unclosed,
    #[error("stray '}}' (write }}}} for a literal brace)")]
    Stray,
}

const RESERVED: &[&str] = &["input", "output", "time_file", "defdir"];
/// Default seconds per command.
pub const DEFAULT_TIMEOUT_S: f64 = 300.0;
/// Longest timeout a definition may give: a day (a larger one is a typo, and would not fit
/// the clocks it is added to).
pub const MAX_TIMEOUT_S: f64 = 86_400.0;

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// Reads a file holding only `[[external]]` tables.
pub fn read_definitions_file(path: &Path) -> Result<Vec<Definition>, DefinitionError> {
    let text = std::fs::read_to_string(path).map_err(|e| DefinitionError::Read {
        path: path.to_path_buf(),
        error: e.to_string(),
    })?;
    let file: DefinitionFile = toml::from_str(&text).map_err(|e| DefinitionError::Toml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    parse_definitions(path, &file.external)
}

/// Checks the `[[external]]` tables of `path`; the first problem is reported with the file
/// and the field.
pub fn parse_definitions(
    path: &Path,
    tables: &[toml::Value],
) -> Result<Vec<Definition>, DefinitionError> {
    tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let origin = format!("{}: external[{i}]", path.display());
            let field = |error| DefinitionError::Field {
                origin: origin.clone(),
                error,
            };
            let mut d = parse_definition(t).map_err(field)?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            d.defdir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            for (j, f) in d.files.iter_mut().enumerate() {
                *f = d.defdir.join(&*f);
                if !f.is_file() {
                    return Err(field(bad(
                        format!("files[{j}]"),
                        format!(
                            "{} is not a file (files are relative to the definition's file)",
                            f.display()
                        ),
                    )));
                }
            }
            d.origin = origin;
            Ok(d)
        })
        .collect()
}

fn parse_definition(value: &toml::Value) -> Result<Definition, FieldError> {
    let raw: RawDefinition = value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| bad("(table)", e.message().replace('\n', " ")))?;
    let name = raw
        .name
        .ok_or_else(|| bad("name", "missing; give the name used in specs"))?;
    if !valid_name(&name) {
        return Err(bad(
            "name",
            format!("\"{name}\" is not a valid codec name (letters, digits, - _ .)"),
        ));
    }
    let format = |field: &str, v: Option<String>, default: &str| -> Result<Format, FieldError> {
        let v = v.unwrap_or_else(|| default.to_string());
        Format::parse(&v).ok_or(bad(
            field,
            format!("unknown format \"{v}\" (ppm, pgm, png or pam)"),
        ))
    };
    let input = format("input", raw.input, "ppm")?;
    let output = format("output", raw.output, "ppm")?;
    let mut params = Vec::new();
    for (j, t) in raw.params.iter().enumerate() {
        let p = parse_param(t).map_err(|e| e.within(&format!("params[{j}]")))?;
        if params.iter().any(|q: &Param| q.key == p.key) {
            return Err(bad(
                format!("params[{j}].key"),
                format!("\"{}\" is declared twice", p.key),
            ));
        }
        params.push(p);
    }
    let keys: Vec<&str> = params.iter().map(|p| p.key.as_str()).collect();
    let time_file = raw.time_file;
    let command = |field: &str, v: Option<Vec<String>>, allow_params: bool| {
        let v = v.ok_or_else(|| {
            bad(
                field,
                "missing command; give an argument list such as [\"tool\", \"{input}\", \"{output}\"]",
            )
        })?;
        if v.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(bad(field, "missing command (the list is empty)"));
        }
        let mut seen = BTreeSet::new();
        for arg in &v {
            for piece in parse_arg(arg).map_err(|e| bad(field, format!("{e} in \"{arg}\"")))? {
                let key = match piece {
                    Piece::Text(_) => continue,
                    Piece::Var(k) => k,
                    Piece::Flag(k, _) => {
                        if !matches!(params.iter().find(|p| p.key == k), Some(p) if p.kind == Kind::Bool)
                        {
                            return Err(bad(
                                field,
                                format!("{{{k}?...}} needs a bool parameter named {k}"),
                            ));
                        }
                        k
                    }
                };
                if key == "time_file" && time_file.is_none() {
                    return Err(bad(
                        field,
                        "{time_file} is used but no time_file is declared",
                    ));
                }
                if !RESERVED.contains(&key.as_str()) {
                    if !keys.contains(&key.as_str()) {
                        return Err(bad(field, format!(
                            "{{{key}}} is not a parameter (params: {}; also input, output, time_file, defdir)",
                            if keys.is_empty() { "none".to_string() } else { keys.join(", ") }
                        )));
                    }
                    if !allow_params {
                        return Err(bad(field, format!(
                            "{{{key}}}: the decoder is given no parameters (the encoded file must say all it needs)"
                        )));
                    }
                }
                seen.insert(key);
            }
        }
        for needed in ["input", "output"] {
            if !seen.contains(needed) {
                return Err(bad(
                    field,
                    format!(
                    "no {{{needed}}} argument; the command must read {{input}} and write {{output}}"
                ),
                ));
            }
        }
        Ok(v)
    };
    let worker = match raw.worker {
        None => None,
        Some(w) => Some(worker_command(
            w,
            raw.encode.is_some() || raw.decode.is_some(),
        )?),
    };
    let (encode, decode) = match &worker {
        Some(w) => (w.clone(), w.clone()),
        None => (
            command("encode", raw.encode, true)?,
            command("decode", raw.decode, false)?,
        ),
    };
    if let Some(v) = &raw.version {
        if v.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(bad("version", "missing command (the list is empty)"));
        }
    }
    let extension = raw.extension.unwrap_or_else(|| "bin".into());
    if !valid_name(&extension) {
        return Err(bad(
            "extension",
            format!("\"{extension}\" is not a file extension"),
        ));
    }
    if let Some(t) = &time_file {
        if !valid_name(t) {
            return Err(bad(
                "time_file",
                format!("\"{t}\" must be a plain file name (it is made inside the cell folder)"),
            ));
        }
    }
    let timeout = raw.timeout.unwrap_or(DEFAULT_TIMEOUT_S);
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(bad(
            "timeout",
            format!("{timeout} is not a positive number of seconds"),
        ));
    }
    if timeout > MAX_TIMEOUT_S {
        return Err(bad(
            "timeout",
            format!(
                "{timeout} s is more than a day ({MAX_TIMEOUT_S} s); give at most {MAX_TIMEOUT_S}"
            ),
        ));
    }
    if raw.max_output == Some(0) {
        return Err(bad(
            "max_output",
            "0; give the largest output file in bytes",
        ));
    }
    let depth = raw.depth.unwrap_or(16);
    if depth != 8 && depth != 16 {
        return Err(bad("depth", format!("{depth} (give 8 or 16)")));
    }
    let alpha = raw.alpha.unwrap_or(input != Format::Ppm);
    if alpha && input == Format::Ppm {
        return Err(bad(
            "alpha",
            "ppm/pgm input cannot carry alpha; use pam or png",
        ));
    }
    Ok(Definition {
        name,
        extension,
        input,
        output,
        encode,
        decode,
        version: raw.version,
        lossless: raw.lossless.unwrap_or(false),
        timeout: Duration::from_secs_f64(timeout),
        max_output: raw.max_output,
        params,
        time_file,
        depth,
        alpha,
        gray: raw.gray.unwrap_or(true),
        origin: String::new(),
        defdir: PathBuf::new(),
        worker,
        files: raw.files.into_iter().map(PathBuf::from).collect(),
    })
}

/// Checks a `worker = [...]` command: a program, and no placeholder but `{defdir}`.
fn worker_command(argv: Vec<String>, with_commands: bool) -> Result<Vec<String>, FieldError> {
    if with_commands {
        return Err(bad(
            "worker",
            "give either a worker or encode/decode commands, not both (a worker answers \
             encode and decode requests itself)",
        ));
    }
    if argv.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(bad("worker", "missing command (the list is empty)"));
    }
    for arg in &argv {
        for piece in parse_arg(arg).map_err(|e| bad("worker", format!("{e} in \"{arg}\"")))? {
            match piece {
                Piece::Text(_) => {}
                Piece::Var(k) if k == "defdir" => {}
                Piece::Var(k) | Piece::Flag(k, _) => {
                    return Err(bad(
                        "worker",
                        format!(
                            "{{{k}}}: a worker's command takes only {{defdir}}; files and \
                         parameters travel in each request (docs/worker-protocol.md)"
                        ),
                    ))
                }
            }
        }
    }
    Ok(argv)
}

fn parse_param(t: &toml::Table) -> Result<Param, FieldError> {
    let raw: RawParam = toml::Value::Table(t.clone())
        .try_into()
        .map_err(|e: toml::de::Error| bad("(table)", e.message().replace('\n', " ")))?;
    let key = raw.key.ok_or_else(|| bad("key", "missing"))?;
    if !valid_name(&key) || RESERVED.contains(&key.as_str()) {
        return Err(bad("key", format!(
            "\"{key}\" is not usable (letters, digits, - _ .; not input, output, time_file or defdir)"
        )));
    }
    let kind = raw
        .kind
        .ok_or_else(|| bad("kind", "missing (int, float, choice or bool)"))?;
    let default = raw
        .default
        .ok_or_else(|| bad("default", "missing; every parameter needs one"))?;
    let int = |field: &str, v: Option<toml::Value>| match v {
        Some(toml::Value::Integer(i)) => Ok(i),
        Some(other) => Err(bad(field, format!("{other} is not an integer"))),
        None => Err(bad(field, "missing")),
    };
    let float = |field: &str, v: Option<toml::Value>| match v {
        Some(toml::Value::Float(f)) if f.is_finite() => Ok(f),
        Some(toml::Value::Integer(i)) => Ok(i as f64),
        Some(other) => Err(bad(field, format!("{other} is not a number"))),
        None => Err(bad(field, "missing")),
    };
    let (kind, default) = match kind.as_str() {
        "int" => {
            let (min, max) = (int("min", raw.min)?, int("max", raw.max)?);
            let d = int("default", Some(default))?;
            if min > max || !(min..=max).contains(&d) {
                return Err(bad(
                    "default",
                    format!("{d} is not in min..max ({min}..{max})"),
                ));
            }
            (Kind::Int { min, max }, Value::Int(d))
        }
        "float" => {
            let (min, max) = (float("min", raw.min)?, float("max", raw.max)?);
            let d = float("default", Some(default))?;
            if min > max || d < min || d > max {
                return Err(bad(
                    "default",
                    format!("{d} is not in min..max ({min}..{max})"),
                ));
            }
            (Kind::Float { min, max }, Value::Float(d))
        }
        "bool" => match default {
            toml::Value::Boolean(b) => (Kind::Bool, Value::Bool(b)),
            other => return Err(bad("default", format!("{other} is not true or false"))),
        },
        "choice" => {
            let values = raw
                .values
                .ok_or_else(|| bad("values", "missing; a choice lists its values"))?;
            if values.is_empty() || values.iter().any(|v| !valid_name(v)) {
                return Err(bad(
                    "values",
                    "give one or more plain words (letters, digits, - _ .)",
                ));
            }
            let d = match default {
                toml::Value::String(s) if values.contains(&s) => s,
                other => {
                    return Err(bad(
                        "default",
                        format!("{other} is not one of the values ({})", values.join(", ")),
                    ))
                }
            };
            (Kind::Choice(values), Value::Choice(d))
        }
        other => {
            return Err(bad(
                "kind",
                format!("unknown kind \"{other}\" (int, float, choice or bool)"),
            ))
        }
    };
    Ok(Param {
        key,
        kind,
        default,
        help: raw.help.unwrap_or_default(),
    })
}

/// One piece of an argument template.
#[derive(Debug, PartialEq)]
pub(super) enum Piece {
    Text(String),
    /// `{KEY}`.
    Var(String),
    /// `{KEY?TEXT}`: TEXT when the bool KEY is true, nothing otherwise.
    Flag(String, String),
}

/// Splits an argument into text and `{...}` placeholders (`{{` and `}}` are literal braces).
pub(super) fn parse_arg(arg: &str) -> Result<Vec<Piece>, ArgError> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = arg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => inner.push(c),
                        None => return Err(ArgError::Unclosed),
                    }
                }
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(match inner.split_once('?') {
                    Some((k, t)) => Piece::Flag(k.to_string(), t.to_string()),
                    None => Piece::Var(inner),
                });
            }
            '}' => return Err(ArgError::Stray),
            c => text.push(c),
        }
    }
    if !text.is_empty() || out.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Builds the argument list; an argument that is only a false `{KEY?TEXT}` is left out.
pub(super) fn substitute(
    template: &[String],
    vars: &dyn Fn(&str) -> Option<String>,
    params: &Params,
) -> Vec<String> {
    let mut argv = Vec::with_capacity(template.len());
    for arg in template {
        let pieces = parse_arg(arg).expect("checked when the definition was read");
        let mut s = String::new();
        let mut dropped = false;
        for p in &pieces {
            match p {
                Piece::Text(t) => s.push_str(t),
                Piece::Var(k) => match vars(k) {
                    Some(v) => s.push_str(&v),
                    None => {
                        let _ = write!(s, "{}", params.0.get(k).expect("checked key"));
                    }
                },
                Piece::Flag(k, t) => {
                    if params.bool(k) {
                        s.push_str(t);
                    } else if pieces.len() == 1 {
                        dropped = true;
                    }
                }
            }
        }
        if !dropped {
            argv.push(s);
        }
    }
    argv
}
