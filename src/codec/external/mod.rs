//! Codecs that are external commands, declared in TOML (`[[external]]` in a sweep file, or a
//! file of definitions given with `--external`): a [`Definition`] checked at start, and the
//! [`External`] codec that runs it.
//!
//! Each encode and decode call runs its command without a shell, in a fresh temporary folder
//! (removed afterwards), in its own process group (killed as a whole on timeout, so no
//! orphans), and reaps it with `wait4` to learn its CPU time and peak RSS. Only `{input}`,
//! `{output}`, `{time_file}` and parameter values are substituted into arguments; image ids and
//! file names never are.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use super::{Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout};

mod definition;
mod formats;
pub mod process;
pub mod worker;

use definition::substitute;
pub use definition::{
    parse_definitions, read_definitions_file, Definition, DefinitionError, FieldError, Format,
    DEFAULT_TIMEOUT_S,
};

pub use formats::{read_image, write_image, FormatError};
pub use process::{abort_all, take_child_usage, ChildUsage, ProcessError, RSS_SAMPLE};
pub use worker::WorkerError;

/// Why an external codec's call failed: the text of the cell's error row, naming the command
/// and ending with the tail of its stderr where that helps.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ExternalError {
    /// The encode or decode command did not end well.
    #[error("{what} command {error}")]
    Command {
        what: &'static str,
        error: ProcessError,
    },
    /// The command ended but its output file or time file cannot be used.
    #[error("{0}")]
    Output(String),
    /// The command's input file could not be written.
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// A built-in codec run in the bundled worker.
    #[error("{codec}: {error}")]
    Bundled { codec: String, error: WorkerError },
}

impl From<WorkerError> for CodecError {
    fn from(e: WorkerError) -> Self {
        CodecError::External(e.into())
    }
}

impl From<ProcessError> for CodecError {
    fn from(e: ProcessError) -> Self {
        CodecError::External(e.into())
    }
}

impl From<FormatError> for CodecError {
    fn from(e: FormatError) -> Self {
        CodecError::External(e.into())
    }
}
use process::{run, run_version, set_child_usage, tail_text, CellDir};

/// An external codec.
pub struct External {
    def: Definition,
    version: OnceLock<String>,
    identity: OnceLock<String>,
}

impl External {
    pub fn new(def: Definition) -> External {
        External {
            def,
            version: OnceLock::new(),
            identity: OnceLock::new(),
        }
    }

    pub fn definition(&self) -> &Definition {
        &self.def
    }

    /// The programs its encode, decode and version commands start, each with where it was
    /// found (`None`: not on PATH, or not an executable file), so that a missing tool is named
    /// once before a run rather than in every cell's error.
    pub fn commands(&self) -> Vec<(&'static str, String, Option<PathBuf>)> {
        let d = &self.def;
        let mut out = vec![("encode", &d.encode[0]), ("decode", &d.decode[0])];
        if let Some(v) = &d.version {
            out.push(("version", &v[0]));
        }
        out.into_iter()
            .map(|(what, program)| {
                let program = program.replace("{defdir}", &d.defdir.display().to_string());
                let found = find_program(&program);
                (what, program, found)
            })
            .collect()
    }

    /// A worker definition's command with `{defdir}` filled in.
    fn worker_argv(&self) -> Option<Vec<String>> {
        let dir = self.def.defdir.display().to_string();
        let w = self.def.worker.as_ref()?;
        Some(w.iter().map(|a| a.replace("{defdir}", &dir)).collect())
    }

    /// Runs the version command (once, with the definition's timeout, in its own process
    /// group, its output capped): its trimmed output, lines joined by " / ". A worker without
    /// a version command is asked for its version.
    fn version_text(&self) -> String {
        self.version
            .get_or_init(|| match &self.def.version {
                None => match self.worker_argv() {
                    Some(argv) => worker::version(&argv, self.def.timeout, &self.def.name)
                        .unwrap_or_else(|e| format!("unknown (worker: {e})")),
                    None => "unversioned external".into(),
                },
                Some(argv) => {
                    let text = CellDir::new()
                        .and_then(|dir| run_version(argv, dir.path(), self.def.timeout));
                    match text {
                        Ok(text) => {
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
                        Err(e) => format!("unknown ({e})"),
                    }
                }
            })
            .clone()
    }

    /// Runs one command for a cell and returns its output file and timing.
    fn call(
        &self,
        what: &'static str,
        template: &[String],
        dir: &CellDir,
        input: &Path,
        output: &Path,
        params: &Params,
    ) -> Result<(Vec<u8>, Option<Duration>), ExternalError> {
        let raw_bytes = LAST_RAW.with(|r| r.get());
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
        let fin = run(&argv, dir.path(), self.def.timeout)
            .map_err(|error| ExternalError::Command { what, error })?;
        let stderr = || tail_text(&fin.stderr);
        let Ok(meta) = std::fs::metadata(output) else {
            return Err(ExternalError::Output(format!(
                "{what} command {} wrote no output file ({{output}}); {}",
                argv[0],
                stderr()
            )));
        };
        // Judged by its size before it is read: a tool cannot make us read gigabytes.
        let (bound, why) = match (self.def.max_output, raw_bytes) {
            (Some(max), _) => (max, "the definition's max_output".to_string()),
            (None, Some(raw)) => (
                raw.saturating_mul(4).saturating_add(1 << 20),
                "4 x the image's raw size + 1 MiB; set max_output in the definition to allow more"
                    .to_string(),
            ),
            (None, None) => (
                DEFAULT_MAX_OUTPUT,
                "set max_output in the definition to allow more".to_string(),
            ),
        };
        if meta.len() > bound {
            return Err(ExternalError::Output(format!(
                "{what} command {} wrote a {} output file, larger than the {} allowed ({why}); \
                 not read",
                argv[0],
                mib(meta.len()),
                mib(bound)
            )));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(output)
            .and_then(|f| f.take(bound + 1).read_to_end(&mut bytes))
            .map_err(|e| {
                ExternalError::Output(format!(
                    "{what} command {}: cannot read its output file: {e}",
                    argv[0]
                ))
            })?;
        if bytes.len() as u64 > bound {
            return Err(ExternalError::Output(format!(
                "{what} command {} wrote more than the {} allowed ({why}); not read",
                argv[0],
                mib(bound)
            )));
        }
        if bytes.is_empty() {
            return Err(ExternalError::Output(format!(
                "{what} command {} wrote an empty output file; {}",
                argv[0],
                stderr()
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
                        ExternalError::Output(format!(
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
        set_child_usage(ChildUsage {
            reported: reported.is_some(),
            ..fin.usage
        });
        // Without a report, the child's wall time (spawn to exit) is the time: writing its
        // input and reading its output are the harness's work, not the codec's.
        Ok((bytes, Some(reported.unwrap_or(fin.wall))))
    }
}

/// Largest output file read when no bound can be derived from the image (a decode call that
/// did not follow an encode call on its thread): 4 GiB.
const DEFAULT_MAX_OUTPUT: u64 = 4 << 30;

thread_local! {
    /// Raw size of the image last encoded on this thread: it bounds the output of that encode
    /// call and of the decode call that follows (a cell decodes what it encoded, on its thread).
    static LAST_RAW: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// `bytes` as MiB for a message.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// Where `program` would be started from, as `Command` finds it: a name with a `/` as it is
/// (relative to the current folder), else the first executable file of that name on PATH.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

impl Codec for External {
    fn name(&self) -> &str {
        &self.def.name
    }
    fn version(&self) -> String {
        self.version_text()
    }
    fn decoder(&self) -> String {
        match &self.def.worker {
            Some(w) => format!("external worker: {}", w.join(" ")),
            None => format!("external: {}", self.def.decode[0]),
        }
    }
    fn encode_cpu_on_thread(&self) -> bool {
        // A worker's CPU time is the one it reports.
        self.def.worker.is_none()
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
        if let Some(argv) = self.worker_argv() {
            return Ok(worker::encode(
                &argv,
                self.def.timeout,
                &self.def.name,
                img,
                params,
                &[],
            )?);
        }
        let dir = CellDir::new()?;
        let input = dir.join(&format!(
            "input.{}",
            self.def.input.extension(img.channels == 1)
        ));
        std::fs::write(&input, write_image(img, self.def.input)?)
            .map_err(|e| ExternalError::Input(format!("cannot write the encoder's input: {e}")))?;
        let output = dir.join(&format!("encoded.{}", self.def.extension));
        let raw = img.raw_bytes();
        LAST_RAW.with(|r| r.set(Some(raw)));
        let (bytes, reported_time) =
            self.call("encode", &self.def.encode, &dir, &input, &output, params)?;
        Ok(Encoded {
            bytes,
            reported_time,
        })
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        if let Some(argv) = self.worker_argv() {
            return Ok(worker::decode(
                &argv,
                self.def.timeout,
                &self.def.name,
                data,
            )?);
        }
        let dir = CellDir::new()?;
        let input = dir.join(&format!("encoded.{}", self.def.extension));
        std::fs::write(&input, data)
            .map_err(|e| ExternalError::Input(format!("cannot write the encoded file: {e}")))?;
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
        let identity = self.identity.get_or_init(|| pipeline_identity(d));
        format!("{identity}{}", self.definition_text(d))
    }
}

/// What the cell cache must see of an external pipeline besides its definition: the content
/// of every declared file (`files = [...]`) and of every `{defdir}/...` argument that names a
/// file, and each command's program as it resolves now (path, size, modification time), so an
/// edited script or a rebuilt tool on PATH is measured again rather than served.
fn pipeline_identity(d: &Definition) -> String {
    let defdir = d.defdir.display().to_string();
    let mut out = String::new();
    let content = |p: &Path| match std::fs::read(p) {
        Ok(b) => blake3::hash(&b).to_hex().to_string(),
        Err(e) => format!("unreadable ({e})"),
    };
    for f in &d.files {
        out.push_str(&format!("file {} {}\n", f.display(), content(f)));
    }
    for argv in [
        Some(&d.encode),
        Some(&d.decode),
        d.version.as_ref(),
        d.worker.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        for (i, arg) in argv.iter().enumerate() {
            let a = arg.replace("{defdir}", &defdir);
            let p = Path::new(&a);
            if arg.contains("{defdir}") && p.is_file() {
                out.push_str(&format!("file {a} {}\n", content(p)));
            } else if i == 0 {
                let found = find_program(&a).and_then(|p| Some((std::fs::metadata(&p).ok()?, p)));
                match found {
                    Some((m, p)) => {
                        let mtime = m
                            .modified()
                            .ok()
                            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                            .map_or(0, |t| t.as_nanos());
                        out.push_str(&format!(
                            "program {} {} bytes, modified {mtime}\n",
                            p.display(),
                            m.len()
                        ));
                    }
                    None => out.push_str(&format!("program {a} not found\n")),
                }
            }
        }
    }
    out
}

impl External {
    fn definition_text(&self, d: &Definition) -> String {
        format!(
            "external\nencode {:?}\ndecode {:?}\nversion-command {:?}\nversion {}\nlossless {}\ninput {:?} output {:?} depth {} alpha {} gray {}\ntime_file {:?}\ntimeout {:?}\nparams {:?}\n",
            d.encode, d.decode, d.version, self.version_text(), d.lossless, d.input, d.output,
            d.depth, d.alpha, d.gray, d.time_file, d.timeout, d.params
        )
    }
}

#[cfg(test)]
mod tests {
    use super::definition::{parse_arg, DefinitionFile, Piece};
    use super::*;
    use crate::codec::Value;

    fn parse(text: &str) -> Result<Vec<Definition>, DefinitionError> {
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
            let e = parse(&text).unwrap_err().to_string();
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
            .to_string()
            .contains("not a valid PPM/PGM"));
    }
}
