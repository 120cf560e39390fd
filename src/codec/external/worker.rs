//! Persistent codec workers: a process started once per worker thread (and per command) that
//! answers encode and decode requests for many cells, timing the library call itself. The
//! built-in `avif` (encoder=aom), `jxl`, `jpegli` and `htj2k` codecs use one (the bundled
//! Python worker), and so can any `[[external]]` definition with `worker = [...]`: a codec
//! behind a library, or a learned codec that loads its model once.
//!
//! The protocol (docs/worker-protocol.md): one JSON object per line each way. codecbench
//! writes a request on the worker's stdin and reads one reply line from its stdout; the
//! worker's stderr goes to a file whose tail is quoted when a call fails.
//!
//! ```text
//! -> {"op":"version","codec":"NAME"}
//! <- {"ok":true,"version":"libfoo 1.2 (build, SIMD)"}
//! -> {"op":"encode","codec":"NAME","input":"/tmp/.../input.raw","width":W,"height":H,
//!     "channels":C,"depth":8|16,"output":"/tmp/.../encoded.bin","params":{"q":80,...}}
//! <- {"ok":true,"ns":ENCODE_NS,"cpu_ns":CPU_NS}
//! -> {"op":"decode","codec":"NAME","input":"/tmp/.../encoded.bin","output":"/tmp/.../decoded.raw"}
//! <- {"ok":true,"width":W,"height":H,"channels":C,"depth":8|16,"ns":NS,"cpu_ns":CPU_NS}
//! <- {"ok":false,"error":"message for the cell's error row"}
//! ```
//!
//! Raw files hold interleaved samples row by row, 8-bit or 16-bit little-endian. `ns` is the
//! library call's wall time and becomes the row's encode/decode time (`timing` = reported);
//! `cpu_ns` its CPU time. A worker that does not answer within the timeout is killed and a
//! new one is started for the next cell; one that exits is started again the same way.
//! Workers run in their own process group (a terminal's Ctrl-C reaches codecbench, which then
//! finishes the cells under way) and exit when their stdin closes, that is with codecbench.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Map, Value as Json};

use super::process::{set_child_usage, stderr_tail, CellDir, ProcessError};
use super::ChildUsage;
use crate::codec::{Decoded, Encoded, Params, Value};
use crate::pixels::{Image, Samples};

/// Why a worker call failed. The text says what to do where there is something to do.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WorkerError {
    /// The worker, its script or its files could not be set up or started.
    #[error("{0}")]
    Start(String),
    /// The worker stopped answering (did not read, exited, timed out, broke the protocol);
    /// `stderr` is the tail of its stderr. It is killed; a new one starts for the next call.
    #[error("{problem}; {stderr}")]
    Lost { problem: String, stderr: String },
    /// The worker's own error message (a reply with `ok: false`).
    #[error("{0}")]
    Refused(String),
    /// A reply or a file that does not say what the protocol promises.
    #[error("{0}")]
    Reply(String),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("worker thread panicked")]
    Panicked,
    /// The bundled worker cannot run here: what it needs.
    #[error(
        "{0}; the built-in avif (encoder=aom), jxl, jpegli and htj2k codecs need Python 3 with \
         `{BUNDLED_INSTALL}` (set CODECBENCH_PYTHON to choose the interpreter)"
    )]
    NeedsPython(Box<WorkerError>),
}

/// The largest reply line read from a worker (a reply is a few hundred bytes).
const MAX_LINE: usize = 1 << 20;

/// One running worker process.
struct Proc {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<std::io::Result<String>>,
    stderr: tempfile::NamedTempFile,
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SAFETY: killpg has no memory-safety preconditions; the group is the worker's own.
        unsafe { libc::killpg(self.child.id() as i32, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

thread_local! {
    /// This thread's workers, by command line.
    static WORKERS: RefCell<HashMap<Vec<String>, Proc>> = RefCell::new(HashMap::new());
}

fn spawn(argv: &[String]) -> Result<Proc, WorkerError> {
    let start = WorkerError::Start;
    let stderr = tempfile::Builder::new()
        .prefix("codecbench-worker-stderr-")
        .tempfile()
        .map_err(|e| start(format!("cannot create a file for the worker's stderr: {e}")))?;
    let err_file = stderr
        .reopen()
        .map_err(|e| start(format!("cannot open the worker's stderr file: {e}")))?;
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(err_file)
        .process_group(0)
        .spawn()
        .map_err(|e| start(format!("cannot start worker {}: {e}", argv[0])))?;
    let stdin = (child.stdin.take()).ok_or_else(|| start("worker without stdin".into()))?;
    let stdout = (child.stdout.take()).ok_or_else(|| start("worker without stdout".into()))?;
    let (tx, rx) = mpsc::channel();
    // A reader thread per worker, so that a reply can be waited for with a timeout.
    std::thread::Builder::new()
        .name("codecbench-worker-reader".into())
        .spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match Read::take(&mut reader, MAX_LINE as u64).read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        if tx.send(Ok(line)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        })
        .map_err(|e| start(format!("cannot start a thread: {e}")))?;
    Ok(Proc {
        child,
        stdin,
        lines: rx,
        stderr,
    })
}

/// What one call returned, with the worker's peak RSS during it.
struct Reply {
    body: Map<String, Json>,
    peak_rss: Option<u64>,
}

/// Sends `request` to this thread's worker for `argv` (starting it if needed) and waits up to
/// `timeout` for its reply.
fn call(argv: &[String], timeout: Duration, request: &Json) -> Result<Reply, WorkerError> {
    WORKERS.with(|w| {
        let mut map = w.borrow_mut();
        if !map.contains_key(argv) {
            map.insert(argv.to_vec(), spawn(argv)?);
        }
        let proc = map.get_mut(argv).expect("inserted above");
        let pid = proc.child.id();
        // Reset the worker's peak RSS so that VmHWM after the call is this call's peak
        // (Linux: writing 5 to clear_refs); without it the peak is not reported.
        let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
        let mut line = request.to_string();
        line.push('\n');
        let sent = proc
            .stdin
            .write_all(line.as_bytes())
            .and_then(|_| proc.stdin.flush());
        let answer = match sent {
            Err(e) => Err(format!("worker {} is not reading requests ({e})", argv[0])),
            Ok(()) => match proc.lines.recv_timeout(timeout) {
                Ok(Ok(l)) => Ok(l),
                Ok(Err(e)) => Err(format!("reading worker {}'s reply: {e}", argv[0])),
                Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                    "worker {} did not answer within {} s; killed (a new one starts for the next cell)",
                    argv[0],
                    timeout.as_secs_f64()
                )),
                Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!(
                    "worker {} exited{}",
                    argv[0],
                    exit_status(&mut proc.child)
                )),
            },
        };
        let peak_rss = reset.then(|| vm_hwm(pid)).flatten();
        let line = match answer {
            Ok(l) => l,
            Err(e) => {
                let tail = stderr_tail(proc.stderr.path());
                map.remove(argv);
                return Err(WorkerError::Lost {
                    problem: e,
                    stderr: tail,
                });
            }
        };
        let body = match serde_json::from_str::<Json>(&line) {
            Ok(Json::Object(m)) => m,
            _ => {
                let tail = stderr_tail(proc.stderr.path());
                map.remove(argv);
                let shown: String = line.trim().chars().take(200).collect();
                return Err(WorkerError::Lost {
                    problem: format!(
                        "worker {} broke the protocol (a reply must be one JSON object per \
                         line; print logs to stderr): got \"{shown}\"",
                        argv[0]
                    ),
                    stderr: tail,
                });
            }
        };
        if body.get("ok") != Some(&Json::Bool(true)) {
            let msg = body
                .get("error")
                .and_then(Json::as_str)
                .unwrap_or("the worker replied ok=false without an error message");
            return Err(WorkerError::Refused(msg.to_string()));
        }
        Ok(Reply { body, peak_rss })
    })
}

/// ", status N" or ", killed by signal N" when the worker has exited.
fn exit_status(child: &mut Child) -> String {
    for _ in 0..50 {
        if let Ok(Some(s)) = child.try_wait() {
            return format!(" ({s})");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    String::new()
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Asks a worker for its version of `codec` (a worker started for this question only, so
/// that no cell's worker is started on the main thread).
pub fn version(argv: &[String], timeout: Duration, codec: &str) -> Result<String, WorkerError> {
    let request = json!({"op": "version", "codec": codec});
    let reply = std::thread::scope(|s| {
        s.spawn(|| call(argv, timeout, &request))
            .join()
            .unwrap_or(Err(WorkerError::Panicked))
    })?;
    reply
        .body
        .get("version")
        .and_then(Json::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            WorkerError::Reply(format!("worker {} replied without a \"version\"", argv[0]))
        })
}

fn param_json(params: &Params) -> Json {
    let mut m = Map::new();
    for (k, v) in &params.0 {
        let j = match v {
            Value::Int(i) => json!(i),
            Value::Float(f) => json!(f),
            Value::Bool(b) => json!(b),
            Value::Choice(s) => json!(s),
        };
        m.insert(k.clone(), j);
    }
    Json::Object(m)
}

fn number(body: &Map<String, Json>, key: &str) -> Result<u64, WorkerError> {
    body.get(key).and_then(Json::as_u64).ok_or_else(|| {
        WorkerError::Reply(format!(
            "the worker's reply lacks \"{key}\" (a whole number)"
        ))
    })
}

/// Records the call's times: `ns` is the codec's time, `cpu_ns` the child's CPU time.
fn note(reply: &Reply) -> Result<Duration, WorkerError> {
    let ns = number(&reply.body, "ns")?;
    let cpu = reply.body.get("cpu_ns").and_then(Json::as_u64);
    set_child_usage(ChildUsage {
        cpu: Duration::from_nanos(cpu.unwrap_or(0)),
        peak_rss: reply.peak_rss,
        reported: true,
    });
    Ok(Duration::from_nanos(ns))
}

/// Reads a file the worker wrote, refusing one larger than `limit` bytes.
fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, WorkerError> {
    let len = std::fs::metadata(path)
        .map_err(|_| WorkerError::Reply(format!("the worker wrote no {what} file")))?
        .len();
    if len > limit {
        return Err(WorkerError::Reply(format!(
            "the worker's {what} file is {len} bytes, more than the {limit} expected"
        )));
    }
    std::fs::read(path)
        .map_err(|e| WorkerError::Reply(format!("cannot read the worker's {what} file: {e}")))
}

/// Encodes `img` with `codec` of the worker `argv`; extra keys are added to the parameters.
pub fn encode(
    argv: &[String],
    timeout: Duration,
    codec: &str,
    img: &Image,
    params: &Params,
    extra: &[(&str, Json)],
) -> Result<Encoded, WorkerError> {
    let dir = CellDir::new()?;
    let input = dir.join("input.raw");
    let output = dir.join("encoded.bin");
    std::fs::write(&input, img.to_bytes(false))
        .map_err(|e| WorkerError::Start(format!("cannot write the worker's input: {e}")))?;
    let mut p = param_json(params);
    for (k, v) in extra {
        p[*k] = v.clone();
    }
    let request = json!({
        "op": "encode", "codec": codec, "input": path_str(&input),
        "width": img.width, "height": img.height, "channels": img.channels,
        "depth": img.depth(), "output": path_str(&output), "params": p,
    });
    let reply = call(argv, timeout, &request)?;
    let time = note(&reply)?;
    // No encoder makes a file 4x (plus headers) the raw size of its input.
    let limit = 4 * img.to_bytes(false).len() as u64 + (1 << 20);
    let bytes = read_bounded(&output, limit, "encoded")?;
    if bytes.is_empty() {
        return Err(WorkerError::Reply(
            "the worker wrote an empty encoded file".into(),
        ));
    }
    Ok(Encoded {
        bytes,
        reported_time: Some(time),
    })
}

/// Decodes `data` with `codec` of the worker `argv`.
pub fn decode(
    argv: &[String],
    timeout: Duration,
    codec: &str,
    data: &[u8],
) -> Result<Decoded, WorkerError> {
    let dir = CellDir::new()?;
    let input = dir.join("encoded.bin");
    let output = dir.join("decoded.raw");
    std::fs::write(&input, data)
        .map_err(|e| WorkerError::Start(format!("cannot write the encoded file: {e}")))?;
    let request = json!({
        "op": "decode", "codec": codec, "input": path_str(&input), "output": path_str(&output),
    });
    let reply = call(argv, timeout, &request)?;
    let time = note(&reply)?;
    let b = &reply.body;
    let (w, h, c, depth) = (
        number(b, "width")?,
        number(b, "height")?,
        number(b, "channels")?,
        number(b, "depth")?,
    );
    if !(1..=4).contains(&c) || !(depth == 8 || depth == 16) || w == 0 || h == 0 {
        return Err(WorkerError::Reply(format!(
            "the worker decoded {w}x{h} with {c} channels of {depth} bits (want 1-4 channels of 8 or 16 bits)"
        )));
    }
    let want = w * h * c * (depth / 8);
    let raw = read_bounded(&output, want, "decoded")?;
    if raw.len() as u64 != want {
        return Err(WorkerError::Reply(format!(
            "the worker's decoded file holds {} bytes, not {want} ({w}x{h}x{c}, {depth}-bit)",
            raw.len()
        )));
    }
    let samples = if depth == 8 {
        Samples::U8(raw)
    } else {
        Samples::U16(
            raw.chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect(),
        )
    };
    let image = Image {
        width: w as u32,
        height: h as u32,
        channels: c as u8,
        samples,
    };
    Ok(Decoded {
        image,
        reported_time: Some(time),
    })
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// The bundled Python worker (scripts/codecs/codecbench_worker.py, embedded in the binary):
/// its command line, `$CODECBENCH_PYTHON` (default `python3`) running a copy of the script
/// written once per process to the temporary folder.
pub fn bundled() -> Result<Vec<String>, WorkerError> {
    use std::sync::OnceLock;
    static ARGV: OnceLock<Result<Vec<String>, WorkerError>> = OnceLock::new();
    ARGV.get_or_init(|| {
        let python = std::env::var("CODECBENCH_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = write_script()?;
        Ok(vec![python, path_str(&script)])
    })
    .clone()
}

/// The script's text.
pub const BUNDLED_SCRIPT: &str = include_str!("../../../scripts/codecs/codecbench_worker.py");

fn write_script() -> Result<PathBuf, WorkerError> {
    let failed = WorkerError::Start;
    let hash = blake3::hash(BUNDLED_SCRIPT.as_bytes()).to_hex();
    let path = std::env::temp_dir().join(format!("codecbench-worker-{}.py", &hash[..16]));
    if std::fs::read(&path).ok().as_deref() == Some(BUNDLED_SCRIPT.as_bytes()) {
        return Ok(path);
    }
    // Written whole under a private name, then renamed: parallel runs never see half a file.
    let mut tmp = tempfile::NamedTempFile::new_in(std::env::temp_dir())
        .map_err(|e| failed(format!("cannot write the bundled worker script: {e}")))?;
    tmp.write_all(BUNDLED_SCRIPT.as_bytes())
        .map_err(|e| failed(format!("cannot write the bundled worker script: {e}")))?;
    tmp.persist(&path)
        .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// How to install what the bundled worker needs.
pub const BUNDLED_INSTALL: &str = "pip install imagecodecs pyjpegli";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_become_typed_json() {
        let mut p = Params::default();
        p.set("q", Value::Int(80));
        p.set("d", Value::Float(1.5));
        p.set("fast", Value::Bool(true));
        p.set("tune", Value::Choice("iq".into()));
        assert_eq!(
            param_json(&p),
            json!({"q": 80, "d": 1.5, "fast": true, "tune": "iq"})
        );
    }

    #[test]
    fn a_missing_worker_program_is_a_clear_error() {
        let argv = vec!["/nonexistent/codecbench-worker".to_string()];
        let e = version(&argv, Duration::from_secs(5), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot start worker /nonexistent"), "{e}");
    }
}
