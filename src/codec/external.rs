//! Codecs that are external commands, declared in TOML (`[[external]]` in a sweep file, or a
//! file of definitions given with `--external`): a [`Definition`] checked at start, and the
//! [`External`] codec that runs it.
//!
//! Each encode and decode call runs its command without a shell, in a fresh temporary folder
//! (removed afterwards), in its own process group (killed as a whole on timeout, so no
//! orphans), and reaps it with `wait4` to learn its CPU time and peak RSS. Only `{input}`,
//! `{output}`, `{time_file}` and parameter values are substituted into arguments; image ids and
//! file names never are.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Cursor;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Codec, CodecError, Decoded, Encoded, Kind, Param, Params, Value};
use crate::corpus::from_dynamic;
use crate::pixels::{Image, Layout, Samples};

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
    fn extension(self, gray: bool) -> &'static str {
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
    time_file: Option<String>,
    depth: Option<u8>,
    alpha: Option<bool>,
    gray: Option<bool>,
    #[serde(default)]
    params: Vec<toml::Table>,
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
struct DefinitionFile {
    #[serde(default)]
    external: Vec<toml::Value>,
}

const RESERVED: &[&str] = &["input", "output", "time_file", "defdir"];
/// Default seconds per command.
pub const DEFAULT_TIMEOUT_S: f64 = 300.0;

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// Reads a file holding only `[[external]]` tables.
pub fn read_definitions_file(path: &Path) -> Result<Vec<Definition>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read ({e})", path.display()))?;
    let file: DefinitionFile =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_definitions(path, &file.external)
}

/// Checks the `[[external]]` tables of `path`; the first problem is reported with the file
/// and the field.
pub fn parse_definitions(path: &Path, tables: &[toml::Value]) -> Result<Vec<Definition>, String> {
    tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let origin = format!("{}: external[{i}]", path.display());
            let mut d = parse_definition(t, &origin).map_err(|e| format!("{origin}.{e}"))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            d.defdir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            Ok(d)
        })
        .collect()
}

fn parse_definition(value: &toml::Value, origin: &str) -> Result<Definition, String> {
    let raw: RawDefinition = value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| e.message().replace('\n', " "))
        .map_err(|e| format!("(table): {e}"))?;
    let name = raw
        .name
        .ok_or("name: missing; give the name used in specs")?;
    if !valid_name(&name) {
        return Err(format!(
            "name: \"{name}\" is not a valid codec name (letters, digits, - _ .)"
        ));
    }
    let format = |field: &str, v: Option<String>, default: &str| -> Result<Format, String> {
        let v = v.unwrap_or_else(|| default.to_string());
        Format::parse(&v).ok_or(format!(
            "{field}: unknown format \"{v}\" (ppm, pgm, png or pam)"
        ))
    };
    let input = format("input", raw.input, "ppm")?;
    let output = format("output", raw.output, "ppm")?;
    let mut params = Vec::new();
    for (j, t) in raw.params.iter().enumerate() {
        let p = parse_param(t).map_err(|e| format!("params[{j}].{e}"))?;
        if params.iter().any(|q: &Param| q.key == p.key) {
            return Err(format!("params[{j}].key: \"{}\" is declared twice", p.key));
        }
        params.push(p);
    }
    let keys: Vec<&str> = params.iter().map(|p| p.key.as_str()).collect();
    let time_file = raw.time_file;
    let command = |field: &str, v: Option<Vec<String>>, allow_params: bool| {
        let v = v.ok_or(format!(
            "{field}: missing command; give an argument list such as [\"tool\", \"{{input}}\", \"{{output}}\"]"
        ))?;
        if v.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(format!("{field}: missing command (the list is empty)"));
        }
        let mut seen = BTreeSet::new();
        for arg in &v {
            for piece in parse_arg(arg).map_err(|e| format!("{field}: {e} in \"{arg}\""))? {
                let key = match piece {
                    Piece::Text(_) => continue,
                    Piece::Var(k) => k,
                    Piece::Flag(k, _) => {
                        if !matches!(params.iter().find(|p| p.key == k), Some(p) if p.kind == Kind::Bool)
                        {
                            return Err(format!(
                                "{field}: {{{k}?...}} needs a bool parameter named {k}"
                            ));
                        }
                        k
                    }
                };
                if key == "time_file" && time_file.is_none() {
                    return Err(format!(
                        "{field}: {{time_file}} is used but no time_file is declared"
                    ));
                }
                if !RESERVED.contains(&key.as_str()) {
                    if !keys.contains(&key.as_str()) {
                        return Err(format!(
                            "{field}: {{{key}}} is not a parameter (params: {}; also input, output, time_file, defdir)",
                            if keys.is_empty() { "none".to_string() } else { keys.join(", ") }
                        ));
                    }
                    if !allow_params {
                        return Err(format!(
                            "{field}: {{{key}}}: the decoder is given no parameters (the encoded file must say all it needs)"
                        ));
                    }
                }
                seen.insert(key);
            }
        }
        for needed in ["input", "output"] {
            if !seen.contains(needed) {
                return Err(format!(
                    "{field}: no {{{needed}}} argument; the command must read {{input}} and write {{output}}"
                ));
            }
        }
        Ok(v)
    };
    let encode = command("encode", raw.encode, true)?;
    let decode = command("decode", raw.decode, false)?;
    if let Some(v) = &raw.version {
        if v.first().is_none_or(|p| p.trim().is_empty()) {
            return Err("version: missing command (the list is empty)".into());
        }
    }
    let extension = raw.extension.unwrap_or_else(|| "bin".into());
    if !valid_name(&extension) {
        return Err(format!(
            "extension: \"{extension}\" is not a file extension"
        ));
    }
    if let Some(t) = &time_file {
        if !valid_name(t) {
            return Err(format!(
                "time_file: \"{t}\" must be a plain file name (it is made inside the cell folder)"
            ));
        }
    }
    let timeout = raw.timeout.unwrap_or(DEFAULT_TIMEOUT_S);
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(format!(
            "timeout: {timeout} is not a positive number of seconds"
        ));
    }
    let depth = raw.depth.unwrap_or(16);
    if depth != 8 && depth != 16 {
        return Err(format!("depth: {depth} (give 8 or 16)"));
    }
    let alpha = raw.alpha.unwrap_or(input != Format::Ppm);
    if alpha && input == Format::Ppm {
        return Err("alpha: ppm/pgm input cannot carry alpha; use pam or png".into());
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
        params,
        time_file,
        depth,
        alpha,
        gray: raw.gray.unwrap_or(true),
        origin: origin.to_string(),
        defdir: PathBuf::new(),
    })
}

fn parse_param(t: &toml::Table) -> Result<Param, String> {
    let raw: RawParam = toml::Value::Table(t.clone())
        .try_into()
        .map_err(|e: toml::de::Error| format!("(table): {}", e.message().replace('\n', " ")))?;
    let key = raw.key.ok_or("key: missing")?;
    if !valid_name(&key) || RESERVED.contains(&key.as_str()) {
        return Err(format!(
            "key: \"{key}\" is not usable (letters, digits, - _ .; not input, output, time_file or defdir)"
        ));
    }
    let kind = raw
        .kind
        .ok_or("kind: missing (int, float, choice or bool)")?;
    let default = raw
        .default
        .ok_or("default: missing; every parameter needs one")?;
    let int = |field: &str, v: Option<toml::Value>| match v {
        Some(toml::Value::Integer(i)) => Ok(i),
        Some(other) => Err(format!("{field}: {other} is not an integer")),
        None => Err(format!("{field}: missing")),
    };
    let float = |field: &str, v: Option<toml::Value>| match v {
        Some(toml::Value::Float(f)) if f.is_finite() => Ok(f),
        Some(toml::Value::Integer(i)) => Ok(i as f64),
        Some(other) => Err(format!("{field}: {other} is not a number")),
        None => Err(format!("{field}: missing")),
    };
    let (kind, default) = match kind.as_str() {
        "int" => {
            let (min, max) = (int("min", raw.min)?, int("max", raw.max)?);
            let d = int("default", Some(default))?;
            if min > max || !(min..=max).contains(&d) {
                return Err(format!("default: {d} is not in min..max ({min}..{max})"));
            }
            (Kind::Int { min, max }, Value::Int(d))
        }
        "float" => {
            let (min, max) = (float("min", raw.min)?, float("max", raw.max)?);
            let d = float("default", Some(default))?;
            if min > max || d < min || d > max {
                return Err(format!("default: {d} is not in min..max ({min}..{max})"));
            }
            (Kind::Float { min, max }, Value::Float(d))
        }
        "bool" => match default {
            toml::Value::Boolean(b) => (Kind::Bool, Value::Bool(b)),
            other => return Err(format!("default: {other} is not true or false")),
        },
        "choice" => {
            let values = raw
                .values
                .ok_or("values: missing; a choice lists its values")?;
            if values.is_empty() || values.iter().any(|v| !valid_name(v)) {
                return Err("values: give one or more plain words (letters, digits, - _ .)".into());
            }
            let d = match default {
                toml::Value::String(s) if values.contains(&s) => s,
                other => {
                    return Err(format!(
                        "default: {other} is not one of the values ({})",
                        values.join(", ")
                    ))
                }
            };
            (Kind::Choice(values), Value::Choice(d))
        }
        other => {
            return Err(format!(
                "kind: unknown kind \"{other}\" (int, float, choice or bool)"
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
enum Piece {
    Text(String),
    /// `{KEY}`.
    Var(String),
    /// `{KEY?TEXT}`: TEXT when the bool KEY is true, nothing otherwise.
    Flag(String, String),
}

/// Splits an argument into text and `{...}` placeholders (`{{` and `}}` are literal braces).
fn parse_arg(arg: &str) -> Result<Vec<Piece>, String> {
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
                        None => return Err("unclosed '{' (write {{ for a literal brace)".into()),
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
            '}' => return Err("stray '}' (write }} for a literal brace)".into()),
            c => text.push(c),
        }
    }
    if !text.is_empty() || out.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Builds the argument list; an argument that is only a false `{KEY?TEXT}` is left out.
fn substitute(
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

/// What the child process of one call used, for the row's `*_cpu_ms` and `*_peak_rss`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChildUsage {
    /// User + system CPU time of the child and the descendants it waited for.
    pub cpu: Duration,
    /// Peak resident set size of the command's process (not its children), bytes, as last
    /// sampled from /proc (every [`RSS_SAMPLE`]): a lower bound, `None` for a process that
    /// exited before the first sample.
    pub peak_rss: Option<u64>,
    /// Whether the call's time came from the tool's `time_file` (else it is the child's wall
    /// time, spawn to exit, start-up included).
    pub reported: bool,
}

thread_local! {
    static LAST_USAGE: Cell<Option<ChildUsage>> = const { Cell::new(None) };
}

/// The usage of the last external command run on this thread, taken (the cell records it
/// right after the codec call that ran it).
pub fn take_child_usage() -> Option<ChildUsage> {
    LAST_USAGE.with(|c| c.take())
}

/// Process groups and cell folders alive now, so that a forced exit (second Ctrl-C) can
/// kill and remove them.
static LIVE_GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());
static LIVE_DIRS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Kills every running external command's process group and removes every cell folder; for
/// an immediate exit.
pub fn abort_all() {
    for pg in LIVE_GROUPS.lock().map(|g| g.clone()).unwrap_or_default() {
        // SAFETY: killpg has no memory-safety preconditions.
        unsafe { libc::killpg(pg, libc::SIGKILL) };
    }
    for d in LIVE_DIRS.lock().map(|g| g.clone()).unwrap_or_default() {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A cell's temporary folder, removed on drop.
struct CellDir(tempfile::TempDir);

impl CellDir {
    fn new() -> Result<CellDir, String> {
        let d = tempfile::Builder::new()
            .prefix("codecbench-external-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
        if let Ok(mut g) = LIVE_DIRS.lock() {
            g.insert(d.path().to_path_buf());
        }
        Ok(CellDir(d))
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

impl Drop for CellDir {
    fn drop(&mut self) {
        if let Ok(mut g) = LIVE_DIRS.lock() {
            g.remove(self.0.path());
        }
    }
}

/// How often a running command's peak RSS is read.
pub const RSS_SAMPLE: Duration = Duration::from_millis(2);

/// The process's peak resident set size so far (VmHWM), bytes.
fn vm_hwm(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// How a finished command went.
struct Finished {
    wall: Duration,
    usage: ChildUsage,
}

/// The last lines of a tool's stderr, for an error message.
fn stderr_tail(path: &Path) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(4)..].join(" | ");
    if tail.is_empty() {
        "(stderr empty)".into()
    } else {
        let cut: String = tail
            .chars()
            .rev()
            .take(400)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("stderr: {cut}")
    }
}

/// Runs `argv` in `dir` (stdin empty, stdout and stderr to files there) in its own process
/// group; kills the group after `timeout`. Wall time runs from spawn to exit.
fn run(argv: &[String], dir: &Path, timeout: Duration) -> Result<Finished, String> {
    let err_path = dir.join("stderr.txt");
    let file = |p: PathBuf| std::fs::File::create(p).map_err(|e| format!("cannot create {e}"));
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(file(dir.join("stdout.txt"))?)
        .stderr(file(err_path.clone())?)
        .process_group(0);
    let start = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    let pid = child.id() as i32;
    if let Ok(mut g) = LIVE_GROUPS.lock() {
        g.insert(pid);
    }
    let (tx, rx) = mpsc::channel::<()>();
    // The watchdog kills the group on timeout and samples the leader's peak RSS (VmHWM).
    // wait4's ru_maxrss cannot be used: Linux carries the spawning process's RSS into the
    // child's at exec, so it reports codecbench's own size for any small tool.
    let watchdog = std::thread::spawn(move || {
        let deadline = Instant::now() + timeout;
        let mut hwm = vm_hwm(pid);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // SAFETY: killpg has no memory-safety preconditions; the group leader is not
                // yet reaped (waitid below does not reap), so the group id cannot be reused.
                unsafe { libc::killpg(pid, libc::SIGKILL) };
                return (true, hwm);
            }
            match rx.recv_timeout(left.min(RSS_SAMPLE)) {
                Err(mpsc::RecvTimeoutError::Timeout) => hwm = vm_hwm(pid).or(hwm),
                _ => return (false, hwm),
            }
        }
    });
    // Wait for exit without reaping, so the group id stays ours while the watchdog may act.
    loop {
        // SAFETY: siginfo is plain data that waitid fills in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break;
        }
    }
    let wall = start.elapsed();
    drop(tx);
    let (timed_out, peak_rss) = watchdog.join().unwrap_or((false, None));
    // Whatever the leader left running in its group goes too (no orphans).
    // SAFETY: as above.
    unsafe { libc::killpg(pid, libc::SIGKILL) };
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if let Ok(mut g) = LIVE_GROUPS.lock() {
        g.remove(&pid);
    }
    drop(child);
    if r != pid {
        return Err(format!(
            "{}: cannot collect its exit status: {}",
            argv[0],
            std::io::Error::last_os_error()
        ));
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let usage = ChildUsage {
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        peak_rss,
        reported: false,
    };
    LAST_USAGE.with(|c| c.set(Some(usage)));
    if timed_out {
        return Err(format!(
            "{} timed out after {} s (process group killed); {}",
            argv[0],
            timeout.as_secs_f64(),
            stderr_tail(&err_path)
        ));
    }
    if libc::WIFSIGNALED(status) {
        return Err(format!(
            "{} killed by signal {}; {}",
            argv[0],
            libc::WTERMSIG(status),
            stderr_tail(&err_path)
        ));
    }
    let code = libc::WEXITSTATUS(status);
    if code != 0 {
        return Err(format!(
            "{} exited with status {code}; {}",
            argv[0],
            stderr_tail(&err_path)
        ));
    }
    Ok(Finished { wall, usage })
}

/// Writes `img` in `format` (the layout was already chosen by `input_layout`).
pub fn write_image(img: &Image, format: Format) -> Result<Vec<u8>, String> {
    let maxval = img.layout().peak();
    let (w, h) = (img.width, img.height);
    let mut out = match format {
        Format::Ppm => {
            let magic = match img.channels {
                1 => "P5",
                3 => "P6",
                c => return Err(format!("ppm/pgm cannot hold {c} channels")),
            };
            format!("{magic}\n{w} {h}\n{maxval}\n").into_bytes()
        }
        Format::Pam => {
            let tupl =
                ["GRAYSCALE", "GRAYSCALE_ALPHA", "RGB", "RGB_ALPHA"][img.channels as usize - 1];
            format!(
                "P7\nWIDTH {w}\nHEIGHT {h}\nDEPTH {}\nMAXVAL {maxval}\nTUPLTYPE {tupl}\nENDHDR\n",
                img.channels
            )
            .into_bytes()
        }
        Format::Png => {
            let dynamic = to_dynamic(img)?;
            let mut buf = Cursor::new(Vec::new());
            dynamic
                .write_to(&mut buf, image::ImageFormat::Png)
                .map_err(|e| format!("cannot write PNG input: {e}"))?;
            return Ok(buf.into_inner());
        }
    };
    out.extend(img.to_bytes(true));
    Ok(out)
}

fn to_dynamic(img: &Image) -> Result<image::DynamicImage, String> {
    use image::{DynamicImage as D, ImageBuffer as B};
    let (w, h) = (img.width, img.height);
    let bad = || "image buffer size mismatch".to_string();
    Ok(match (&img.samples, img.channels) {
        (Samples::U8(v), 1) => D::ImageLuma8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U8(v), 2) => D::ImageLumaA8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U8(v), 3) => D::ImageRgb8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U8(v), _) => D::ImageRgba8(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U16(v), 1) => D::ImageLuma16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U16(v), 2) => D::ImageLumaA16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U16(v), 3) => D::ImageRgb16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
        (Samples::U16(v), _) => D::ImageRgba16(B::from_raw(w, h, v.clone()).ok_or_else(bad)?),
    })
}

/// Reads a decoder's output file.
pub fn read_image(bytes: &[u8], format: Format) -> Result<Image, String> {
    let (fmt, name) = match format {
        Format::Png => (image::ImageFormat::Png, "PNG"),
        Format::Ppm => (image::ImageFormat::Pnm, "PPM/PGM"),
        Format::Pam => (image::ImageFormat::Pnm, "PAM"),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), fmt);
    reader.no_limits();
    let d = reader
        .decode()
        .map_err(|e| format!("decoder output is not a valid {name} file: {e}"))?;
    from_dynamic(d).map_err(|e| format!("decoder output: {e}"))
}

/// An external codec.
pub struct External {
    def: Definition,
    version: OnceLock<String>,
}

impl External {
    pub fn new(def: Definition) -> External {
        External {
            def,
            version: OnceLock::new(),
        }
    }

    pub fn definition(&self) -> &Definition {
        &self.def
    }

    /// Runs the version command (once); its trimmed output, lines joined by " / ".
    fn version_text(&self) -> String {
        self.version
            .get_or_init(|| match &self.def.version {
                None => "unversioned external".into(),
                Some(argv) => match Command::new(&argv[0])
                    .args(&argv[1..])
                    .stdin(Stdio::null())
                    .output()
                {
                    Ok(o) => {
                        let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
                        text.push('\n');
                        text.push_str(&String::from_utf8_lossy(&o.stderr));
                        let lines: Vec<&str> = text
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .collect();
                        if lines.is_empty() {
                            format!("{} (version command printed nothing)", argv[0])
                        } else {
                            lines.join(" / ")
                        }
                    }
                    Err(e) => format!("unknown ({}: {e})", argv[0]),
                },
            })
            .clone()
    }

    /// Runs one command for a cell and returns its output file and timing.
    fn call(
        &self,
        what: &str,
        template: &[String],
        dir: &CellDir,
        input: &Path,
        output: &Path,
        params: &Params,
    ) -> Result<(Vec<u8>, Option<Duration>), CodecError> {
        let time_path = self.def.time_file.as_ref().map(|t| dir.join(t));
        let vars = |k: &str| -> Option<String> {
            match k {
                "input" => Some(input.display().to_string()),
                "output" => Some(output.display().to_string()),
                "time_file" => time_path.as_ref().map(|p| p.display().to_string()),
                "defdir" => Some(self.def.defdir.display().to_string()),
                _ => None,
            }
        };
        let argv = substitute(template, &vars, params);
        let fin = run(&argv, dir.0.path(), self.def.timeout)
            .map_err(|e| CodecError(format!("{what} command {e}")))?;
        let bytes = std::fs::read(output).map_err(|_| {
            CodecError(format!(
                "{what} command {} wrote no output file ({{output}}); {}",
                argv[0],
                stderr_tail(&dir.join("stderr.txt"))
            ))
        })?;
        if bytes.is_empty() {
            return Err(CodecError(format!(
                "{what} command {} wrote an empty output file; {}",
                argv[0],
                stderr_tail(&dir.join("stderr.txt"))
            )));
        }
        let reported = match &time_path {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                let secs: f64 = text
                    .split_whitespace()
                    .next()
                    .and_then(|t| t.parse().ok())
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| {
                        CodecError(format!(
                            "{what} command {}: time_file holds \"{}\", not a number of seconds",
                            argv[0],
                            text.trim()
                        ))
                    })?;
                let _ = std::fs::remove_file(p);
                Some(Duration::from_secs_f64(secs))
            }
            _ => None,
        };
        LAST_USAGE.with(|c| {
            c.set(Some(ChildUsage {
                reported: reported.is_some(),
                ..fin.usage
            }))
        });
        // Without a report, the child's wall time (spawn to exit) is the time: writing its
        // input and reading its output are the harness's work, not the codec's.
        Ok((bytes, Some(reported.unwrap_or(fin.wall))))
    }
}

impl Codec for External {
    fn name(&self) -> &str {
        &self.def.name
    }
    fn version(&self) -> String {
        self.version_text()
    }
    fn decoder(&self) -> String {
        format!("external: {}", self.def.decode[0])
    }
    fn extension(&self) -> &str {
        &self.def.extension
    }
    fn lossless(&self, _: &Params) -> bool {
        self.def.lossless
    }
    fn params(&self) -> &[Param] {
        &self.def.params
    }
    fn input_layout(&self, src: Layout) -> Layout {
        let alpha = src.has_alpha() && self.def.alpha;
        let gray = src.is_gray() && self.def.gray;
        let channels = match (gray, alpha) {
            (true, false) => 1,
            (true, true) => 2,
            (false, false) => 3,
            (false, true) => 4,
        };
        Layout::new(channels, src.depth.min(self.def.depth))
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        let dir = CellDir::new()?;
        let input = dir.join(&format!(
            "input.{}",
            self.def.input.extension(img.channels == 1)
        ));
        std::fs::write(&input, write_image(img, self.def.input)?)
            .map_err(|e| format!("cannot write the encoder's input: {e}"))?;
        let output = dir.join(&format!("encoded.{}", self.def.extension));
        let (bytes, reported_time) =
            self.call("encode", &self.def.encode, &dir, &input, &output, params)?;
        Ok(Encoded {
            bytes,
            reported_time,
        })
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        let dir = CellDir::new()?;
        let input = dir.join(&format!("encoded.{}", self.def.extension));
        std::fs::write(&input, data).map_err(|e| format!("cannot write the encoded file: {e}"))?;
        let output = dir.join(&format!("decoded.{}", self.def.output.extension(false)));
        let (bytes, reported_time) = self.call(
            "decode",
            &self.def.decode,
            &dir,
            &input,
            &output,
            &Params::default(),
        )?;
        let image = read_image(&bytes, self.def.output)?;
        Ok(Decoded {
            image,
            reported_time,
        })
    }
    fn definition(&self) -> String {
        let d = &self.def;
        format!(
            "external\nencode {:?}\ndecode {:?}\nversion-command {:?}\nversion {}\nlossless {}\ninput {:?} output {:?} depth {} alpha {} gray {}\ntime_file {:?}\ntimeout {:?}\nparams {:?}\n",
            d.encode, d.decode, d.version, self.version_text(), d.lossless, d.input, d.output,
            d.depth, d.alpha, d.gray, d.time_file, d.timeout, d.params
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Definition>, String> {
        let file: DefinitionFile = toml::from_str(text).unwrap();
        parse_definitions(Path::new("defs.toml"), &file.external)
    }

    const GOOD: &str = r#"
[[external]]
name = "t"
encode = ["enc", "-q", "{q}", "{fast?--fast}", "{input}", "-o", "{output}"]
decode = ["dec", "{input}", "{output}"]
params = [{ key = "q", kind = "int", min = 1, max = 100, default = 75 },
          { key = "fast", kind = "bool", default = false }]
"#;

    #[test]
    fn substitution_keeps_arguments_whole_and_drops_false_flags() {
        let d = &parse(GOOD).unwrap()[0];
        let mut p = Params::defaults(&d.params);
        let vars = |k: &str| (k == "input" || k == "output").then(|| format!("/t/{k} x"));
        assert_eq!(
            substitute(&d.encode, &vars, &p),
            ["enc", "-q", "75", "/t/input x", "-o", "/t/output x"]
        );
        p.set("fast", Value::Bool(true));
        assert_eq!(substitute(&d.encode, &vars, &p)[3], "--fast");
        assert_eq!(parse_arg("a{{b}}c").unwrap(), [Piece::Text("a{b}c".into())]);
    }

    #[test]
    fn invalid_definitions_name_the_field() {
        let cases = [
            (
                GOOD.replace("\"int\"", "\"integer\""),
                "external[0].params[0].kind: unknown kind \"integer\"",
            ),
            (
                GOOD.replace("decode = [\"dec\", \"{input}\", \"{output}\"]\n", ""),
                "external[0].decode: missing command",
            ),
            (
                GOOD.replace("{q}", "{quality}"),
                "external[0].encode: {quality} is not a parameter",
            ),
            (
                GOOD.replace("default = 75", "default = 175"),
                "external[0].params[0].default: 175 is not in min..max",
            ),
            (
                GOOD.replace("\"dec\", \"{input}\"", "\"dec\", \"{q}\", \"{input}\""),
                "external[0].decode: {q}: the decoder is given no parameters",
            ),
            (
                GOOD.replace("name = \"t\"", "name = \"a:b\""),
                "external[0].name",
            ),
            (
                GOOD.replace("\"{input}\", \"-o\"", "\"-o\""),
                "external[0].encode: no {input} argument",
            ),
            (
                GOOD.replace("name = \"t\"", "name = \"t\"\ncolour = 1"),
                "unknown field `colour`",
            ),
        ];
        for (text, want) in cases {
            let e = parse(&text).unwrap_err();
            assert!(e.starts_with("defs.toml: external[0]"), "{e}");
            assert!(e.contains(want), "{e} lacks {want}");
        }
    }

    #[test]
    fn netpbm_round_trips_through_the_image_crate() {
        let rgb16 = Image::new_u16(3, 2, 3, (0..18).map(|i| i * 3000).collect()).unwrap();
        let gray8 = Image::new_u8(3, 2, 1, (0..6).map(|i| i * 40).collect()).unwrap();
        let rgba8 = Image::new_u8(2, 2, 4, (0..16).map(|i| i * 15).collect()).unwrap();
        for (img, f) in [
            (&rgb16, Format::Ppm),
            (&gray8, Format::Ppm),
            (&rgba8, Format::Pam),
            (&rgb16, Format::Pam),
            (&rgba8, Format::Png),
            (&rgb16, Format::Png),
        ] {
            let bytes = write_image(img, f).unwrap();
            assert_eq!(&read_image(&bytes, f).unwrap(), img, "{f:?}");
        }
        assert!(read_image(b"garbage", Format::Ppm)
            .unwrap_err()
            .contains("not a valid PPM/PGM"));
    }
}
