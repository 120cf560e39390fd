//! Running one external command for a cell: without a shell, in a fresh temporary folder, in
//! its own process group (killed as a whole on timeout, so no orphans), reaped with `wait4` for
//! its CPU time, with its peak RSS sampled from /proc. Used by external codecs from TOML and by
//! built-in codecs whose encoder is a command (jxl's cjxl).

use std::cell::Cell;
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

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
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A cell's temporary folder, removed on drop.
pub struct CellDir(tempfile::TempDir);

impl CellDir {
    pub fn new() -> Result<CellDir, String> {
        let d = tempfile::Builder::new()
            .prefix("codecbench-external-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
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
}

/// The last lines of a tool's stderr, for an error message.
pub fn stderr_tail(path: &Path) -> String {
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
pub fn run(argv: &[String], dir: &Path, timeout: Duration) -> Result<Finished, String> {
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
