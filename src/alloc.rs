//! Memory and CPU accounting: a counting global allocator that keeps per-thread current and
//! peak heap bytes (for the encode/decode/metric peaks of a cell), the calling thread's CPU
//! time, and the process's CPU time and peak RSS from `getrusage`.
//!
//! The allocator counts only when a binary installs it (`codecbench` does, in `main.rs`):
//! `#[global_allocator] static A: codecbench::alloc::Counting = codecbench::alloc::Counting;`.
//! Without it [`installed`] is false and peaks are not reported (never reported as 0).
//!
//! Counts are per thread: memory allocated on one thread and freed on another lowers the
//! second thread's count, so a thread's "current" can go below its start; a [`HeapScope`]
//! reports the peak above the level at its start, which is what a call on this thread needed.
//! Work a codec hands to other threads (oxipng's rayon tasks, an external process) is not in
//! this thread's figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The system allocator, counting bytes per thread.
pub struct Counting;

static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static CURRENT: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

#[inline]
fn add(n: usize) {
    // `try_with`: the thread-locals may be gone while a thread exits.
    let _ = CURRENT.try_with(|c| {
        let now = c.get() + n as i64;
        c.set(now);
        let _ = PEAK.try_with(|p| {
            if now > p.get() {
                p.set(now)
            }
        });
    });
}

#[inline]
fn sub(n: usize) {
    let _ = CURRENT.try_with(|c| c.set(c.get() - n as i64));
}

#[inline]
fn mark_installed() {
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping touches only
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    // SAFETY (callers): GlobalAlloc's contract, passed on unchanged to `System`.
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            mark_installed();
            add(layout.size());
        }
        p
    }

    // SAFETY (callers): GlobalAlloc's contract, passed on unchanged to `System`.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            mark_installed();
            add(layout.size());
        }
        p
    }

    // SAFETY (callers): GlobalAlloc's contract, passed on unchanged to `System`.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        sub(layout.size());
    }

    // SAFETY (callers): GlobalAlloc's contract, passed on unchanged to `System`.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            // Counted as the new block arriving before the old one leaves: the worst case
            // of a moving realloc.
            add(new_size);
            sub(layout.size());
        }
        p
    }
}

/// True when [`Counting`] is this program's global allocator (it has counted an allocation).
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Heap bytes this thread has allocated and not freed (may be negative, see the module doc).
pub fn thread_current() -> i64 {
    CURRENT.with(|c| c.get())
}

/// Measures the peak heap of this thread from now on (one scope at a time per thread: a new
/// scope resets the peak).
pub struct HeapScope {
    start: i64,
}

impl HeapScope {
    pub fn start() -> HeapScope {
        let start = thread_current();
        PEAK.with(|p| p.set(start));
        HeapScope { start }
    }

    /// Largest number of bytes this thread held above the start since then, or `None` when
    /// the counting allocator is not installed.
    pub fn peak(&self) -> Option<u64> {
        installed().then(|| (PEAK.with(|p| p.get()) - self.start).max(0) as u64)
    }
}

fn timespec(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; both clocks exist on every Linux since 2.6.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time (user + system) used by the calling thread so far.
pub fn thread_cpu() -> Duration {
    timespec(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Resource use of the process so far, from `getrusage`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// User + system CPU of this process (all its threads).
    pub cpu: Duration,
    /// User + system CPU of its children that have been waited for (external codecs).
    pub children_cpu: Duration,
    /// Peak resident set size of this process, bytes.
    pub peak_rss: u64,
}

fn rusage(who: libc::c_int) -> libc::rusage {
    // SAFETY: getrusage fills the zeroed struct; RUSAGE_SELF/CHILDREN are always valid.
    unsafe {
        let mut r: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut r);
        r
    }
}

fn tv(t: libc::timeval) -> Duration {
    Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000)
}

/// The process's CPU time and peak RSS so far.
pub fn usage() -> Usage {
    let me = rusage(libc::RUSAGE_SELF);
    let kids = rusage(libc::RUSAGE_CHILDREN);
    Usage {
        cpu: tv(me.ru_utime) + tv(me.ru_stime),
        children_cpu: tv(kids.ru_utime) + tv(kids.ru_stime),
        // Linux reports ru_maxrss in KiB.
        peak_rss: me.ru_maxrss.max(0) as u64 * 1024,
    }
}

/// The default memory budget: the smallest of half of `MemAvailable` (4 GiB where it cannot be
/// read), the address space left under `RLIMIT_AS`, and what the cgroup's `memory.max` leaves.
pub fn default_max_memory() -> u64 {
    let half = available_memory().map_or(4 << 30, |m| m / 2);
    [Some(half), address_space_left(), cgroup_memory_left()]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(half)
        .max(1)
}

/// `MemAvailable` from /proc/meminfo in bytes, if it can be read.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Address space this process may still map under `RLIMIT_AS` (the limit less `VmSize`), bytes;
/// `None` when there is no limit.
pub fn address_space_left() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0
        || lim.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmSize:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(lim.rlim_cur.saturating_sub(kib * 1024))
}

/// Memory this process's cgroup (v2) may still use: `memory.max` less `memory.current`, for
/// the process's own cgroup and each parent that sets a limit, the smallest; `None` when no
/// limit is set (or cgroups cannot be read).
pub fn cgroup_memory_left() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let mut dir = std::path::Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/'));
    let mut left: Option<u64> = None;
    loop {
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
        if let (Some(max), Some(cur)) = (read("memory.max"), read("memory.current")) {
            if let (Ok(max), Ok(cur)) = (max.trim().parse::<u64>(), cur.trim().parse::<u64>()) {
                let here = max.saturating_sub(cur);
                left = Some(left.map_or(here, |l| l.min(here)));
            }
        }
        if dir == std::path::Path::new("/sys/fs/cgroup") || !dir.pop() {
            break;
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_advances_with_work_and_usage_reports_rss() {
        let t0 = thread_cpu();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(thread_cpu() > t0, "thread CPU time did not advance");
        let u = usage();
        assert!(u.peak_rss > 0 && u.cpu > Duration::ZERO, "{u:?}");
    }
}
