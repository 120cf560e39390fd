//! Running one external command for a cell: without a shell, in a fresh private temporary
//! folder, in its own process group (killed as a whole on timeout, so no orphans), reaped with
//! `wait4` for its CPU time, with its peak RSS sampled from /proc. Used by external codecs from
//! TOML and by built-in codecs whose encoder is a command (jxl's cjxl).
//!
//! Nothing a tool does can take the run down with it: its stdout and stderr are read through
//! pipes keeping only their last [`TAIL_BYTES`] (a tool printing gigabytes costs nothing); every
//! process it starts carries its cell folder in [`CELL_ENV`] and is killed when the call ends,
//! even one that left the process group with `setsid` (codecbench is a child subreaper, so such
//! processes are reaped here); the command dies with the thread that started it
//! (`PR_SET_PDEATHSIG`), so a killed codecbench takes its tools along; and the folders and
//! processes a killed codecbench left behind are removed by the next one that starts a tool.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// Bytes kept of a command's stderr and of its stdout: the last 64 KiB of each.
pub const TAIL_BYTES: usize = 64 << 10;
/// Bytes kept of a version command's output.
pub const VERSION_BYTES: usize = 4 << 10;
/// Set in every command's environment to its cell folder; whatever the command starts inherits
/// it, so that those processes can be found and killed when the call ends.
pub const CELL_ENV: &str = "CODECBENCH_CELL";
/// Prefix of cell folders in the temporary folder, followed by the owner's process id.
const DIR_PREFIX: &str = "codecbench-";

/// Why a command could not be run to a successful end. The text names the program and ends
/// with the tail of its stderr where there is one.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot create a temporary folder: {0}")]
    TempDir(String),
    #[error("cannot start {program}: {error}")]
    Start { program: String, error: String },
    #[error("{program}: cannot collect its exit status: {error}")]
    Collect { program: String, error: String },
    /// `stderr`: the tail of its stderr, `None` for a version command (whose output is kept
    /// from its start instead).
    #[error(
        "{program} timed out after {secs} s (process group killed){}",
        .stderr.as_ref().map(|t| format!("; {t}")).unwrap_or_default()
    )]
    TimedOut {
        program: String,
        secs: f64,
        stderr: Option<String>,
    },
    #[error("{program} killed by signal {signal}; {stderr}")]
    Signal {
        program: String,
        signal: i32,
        stderr: String,
    },
    #[error("{program} exited with status {code}; {stderr}")]
    Status {
        program: String,
        code: i32,
        stderr: String,
    },
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

/// Replaces the usage the last [`run`] on this thread left (a caller that learnt the tool's
/// own time sets `reported`).
pub fn set_child_usage(usage: ChildUsage) {
    LAST_USAGE.with(|c| c.set(Some(usage)));
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
        kill_tagged(&d.display().to_string());
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A cell's temporary folder (mode 0700, named after the owning process), removed on drop.
pub struct CellDir(tempfile::TempDir);

impl CellDir {
    pub fn new() -> Result<CellDir, ProcessError> {
        static CLEANED: Once = Once::new();
        CLEANED.call_once(remove_stale);
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(|e| ProcessError::TempDir(e.to_string()))?;
        if let Ok(mut g) = LIVE_DIRS.lock() {
            g.insert(d.path().to_path_buf());
        }
        Ok(CellDir(d))
    }
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for CellDir {
    fn drop(&mut self) {
        if let Ok(mut g) = LIVE_DIRS.lock() {
            g.remove(self.0.path());
        }
    }
}

/// Removes the cell folders of codecbench processes that are gone (killed, or lost with the
/// machine), killing whatever their tools left running first.
fn remove_stale() {
    // SAFETY: geteuid takes no arguments and cannot fail.
    let me = unsafe { libc::geteuid() };
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        use std::os::unix::fs::MetadataExt;
        let ours = e.metadata().is_ok_and(|m| m.is_dir() && m.uid() == me);
        if !ours || pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        kill_tagged(&e.path().display().to_string());
        let _ = std::fs::remove_dir_all(e.path());
    }
}

/// Processes (other than this one) whose environment holds `CELL_ENV=token`.
fn tagged(token: &str) -> Vec<i32> {
    let needle = format!("{CELL_ENV}={token}\0").into_bytes();
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_slice()))
        })
        .collect()
}

/// Kills every process of a cell (found by its [`CELL_ENV`] tag, wherever it moved) and reaps
/// those that became this process's children.
fn kill_tagged(token: &str) {
    let mut killed = Vec::new();
    // A killed parent's children are found by the next pass (a zombie has no environment).
    for _ in 0..50 {
        let pids = tagged(token);
        if pids.is_empty() {
            break;
        }
        for &pid in &pids {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        killed.extend(pids);
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    while !killed.is_empty() && Instant::now() < deadline {
        killed.retain(|&pid| {
            let mut status = 0;
            // SAFETY: waitpid on one pid; WNOHANG never blocks. 0: not dead yet; -1: not our
            // child (its own parent or init reaps it).
            unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) == 0 }
        });
        if !killed.is_empty() {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Makes this process the reaper of the orphans of its descendants (a tool's `setsid` child
/// whose parent exited comes to us, not to init), once.
fn become_subreaper() {
    static DONE: Once = Once::new();
    DONE.call_once(|| {
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    });
}

/// A pipe read to its end on a thread of its own, keeping `keep` bytes: the last ones, or the
/// first ones with `head`.
struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

fn capture(mut from: impl Read + Send + 'static, keep: usize, head: bool) -> Capture {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let (tx, done) = mpsc::channel();
    let shared = buf.clone();
    let read = move || {
        let mut chunk = vec![0u8; 16 << 10];
        loop {
            match from.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let mut b = shared.lock().unwrap_or_else(|p| p.into_inner());
                    if head {
                        let room = keep.saturating_sub(b.len());
                        b.extend_from_slice(&chunk[..n.min(room)]);
                    } else {
                        b.extend_from_slice(&chunk[..n]);
                        if b.len() > 2 * keep {
                            let cut = b.len() - keep;
                            b.drain(..cut);
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(());
    };
    // Without a thread the pipe is closed, and the tool gets SIGPIPE if it writes.
    let _ = std::thread::Builder::new()
        .name("codecbench-pipe".into())
        .spawn(read);
    Capture { buf, done }
}

impl Capture {
    /// What was kept, once the pipe ended or `wait` passed (a process that escaped may hold
    /// the pipe open).
    fn take(self, wait: Duration, keep: usize) -> Vec<u8> {
        let _ = self.done.recv_timeout(wait);
        let mut b = self.buf.lock().unwrap_or_else(|p| p.into_inner());
        let mut v = std::mem::take(&mut *b);
        if v.len() > keep {
            v.drain(..v.len() - keep);
        }
        v
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
pub struct Finished {
    pub wall: Duration,
    pub usage: ChildUsage,
    /// The last [`TAIL_BYTES`] of its stdout.
    pub stdout: Vec<u8>,
    /// The last [`TAIL_BYTES`] of its stderr.
    pub stderr: Vec<u8>,
}

/// The last lines of a tool's stderr, for an error message.
pub fn tail_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
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

/// The last lines of a stderr file, for an error message (only its last [`TAIL_BYTES`] read).
pub fn stderr_tail(path: &Path) -> String {
    use std::io::{Seek, SeekFrom};
    let mut bytes = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let len = f.metadata().map_or(0, |m| m.len());
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES as u64)));
        let _ = f.take(TAIL_BYTES as u64).read_to_end(&mut bytes);
    }
    tail_text(&bytes)
}

/// How a command ended, before it is judged.
struct Ended {
    fin: Finished,
    timed_out: bool,
    status: i32,
}

/// Runs `argv` in `dir` (stdin empty, stdout and stderr through pipes keeping their last
/// [`TAIL_BYTES`], also left in `stdout.txt` and `stderr.txt` there) in its own process group;
/// kills the group after `timeout`, and every process it started when it ends. Wall time runs
/// from spawn to exit.
pub fn run(argv: &[String], dir: &Path, timeout: Duration) -> Result<Finished, ProcessError> {
    let e = start(argv, dir, dir, timeout, TAIL_BYTES, false)?;
    let _ = std::fs::write(dir.join("stderr.txt"), &e.fin.stderr);
    let _ = std::fs::write(dir.join("stdout.txt"), &e.fin.stdout);
    let stderr = || tail_text(&e.fin.stderr);
    if e.timed_out {
        return Err(ProcessError::TimedOut {
            program: argv[0].clone(),
            secs: timeout.as_secs_f64(),
            stderr: Some(stderr()),
        });
    }
    if libc::WIFSIGNALED(e.status) {
        return Err(ProcessError::Signal {
            program: argv[0].clone(),
            signal: libc::WTERMSIG(e.status),
            stderr: stderr(),
        });
    }
    let code = libc::WEXITSTATUS(e.status);
    if code != 0 {
        return Err(ProcessError::Status {
            program: argv[0].clone(),
            code,
            stderr: stderr(),
        });
    }
    Ok(e.fin)
}

/// Runs a version command (in the current folder, `dir` only naming its processes) like
/// [`run`], keeping the first [`VERSION_BYTES`] of its stdout and of its stderr; their text,
/// stdout first, whatever its exit status.
pub fn run_version(argv: &[String], dir: &Path, timeout: Duration) -> Result<String, ProcessError> {
    let e = start(argv, dir, Path::new("."), timeout, VERSION_BYTES, true)?;
    if e.timed_out {
        return Err(ProcessError::TimedOut {
            program: argv[0].clone(),
            secs: timeout.as_secs_f64(),
            stderr: None,
        });
    }
    let mut text = String::from_utf8_lossy(&e.fin.stdout).into_owned();
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&e.fin.stderr));
    Ok(text.chars().take(VERSION_BYTES).collect())
}

fn start(
    argv: &[String],
    dir: &Path,
    cwd: &Path,
    timeout: Duration,
    keep: usize,
    head: bool,
) -> Result<Ended, ProcessError> {
    become_subreaper();
    let token = dir.display().to_string();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(cwd)
        .env(CELL_ENV, &token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: the closure only calls prctl (async-signal-safe) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // The command dies with the thread that started it (a killed codecbench too).
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| ProcessError::Start {
        program: argv[0].clone(),
        error: e.to_string(),
    })?;
    let pid = child.id() as i32;
    if let Ok(mut g) = LIVE_GROUPS.lock() {
        g.insert(pid);
    }
    let out = child.stdout.take().map(|p| capture(p, keep, head));
    let err = child.stderr.take().map(|p| capture(p, keep, head));
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
        // SAFETY: `info` is a live local that waitid writes; WNOWAIT leaves the child unreaped.
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
    // Whatever the leader left running goes too: its group, and the processes that left the
    // group (setsid) but carry the cell's tag.
    // SAFETY: as above.
    unsafe { libc::killpg(pid, libc::SIGKILL) };
    kill_tagged(&token);
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `ru` are live locals that wait4 writes.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if let Ok(mut g) = LIVE_GROUPS.lock() {
        g.remove(&pid);
    }
    drop(child);
    if r != pid {
        return Err(ProcessError::Collect {
            program: argv[0].clone(),
            error: std::io::Error::last_os_error().to_string(),
        });
    }
    let wait = Duration::from_secs(1);
    let stdout = out.map_or_else(Vec::new, |c| c.take(wait, keep));
    let stderr = err.map_or_else(Vec::new, |c| c.take(wait, keep));
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let usage = ChildUsage {
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        peak_rss,
        reported: false,
    };
    LAST_USAGE.with(|c| c.set(Some(usage)));
    Ok(Ended {
        fin: Finished {
            wall,
            usage,
            stdout,
            stderr,
        },
        timed_out,
        status,
    })
}
