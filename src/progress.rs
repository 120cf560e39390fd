//! What a sweep tells its caller while it runs: the notices (a file skipped, a cell failed, a
//! warning, a resumed run) and the progress (cells done of the total, with an ETA). The
//! library prints nothing: the caller implements [`Observer`] (the binary draws a bar on a
//! terminal and plain lines in logs; a library user may ignore it all with [`Silent`]).
//!
//! The ETA weighs cells by the plan's cost estimate (pixels x the codec's relative cost), not
//! by their count: expensive cells start first, so a count-based ETA swings by an order of
//! magnitude. The target search's expected probe cells are counted up front.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::corpus::{Ignored, Skipped};

/// Receives what a running sweep has to say. Called from the thread that called
/// [`crate::sweep::execute`], in order.
pub trait Observer {
    /// Something the user should know about, as it happens.
    fn notice(&self, notice: &Notice);
    /// The cells are about to run: `total` is the first estimate (it grows when the target
    /// search adds probes).
    fn started(&self, total: usize) {
        let _ = total;
    }
    /// A cell finished.
    fn advanced(&self, tick: &Tick) {
        let _ = tick;
    }
    /// Every cell has run (or the run was interrupted).
    fn finished(&self, tick: &Tick) {
        let _ = tick;
    }
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn notice(&self, _: &Notice) {}
}

/// How much a notice matters, so a display can hide the routine ones (`--quiet`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// What the run is doing (files ignored, writing the results): may be hidden.
    Info,
    /// Something was measured with a caveat, or an output could not be written as asked.
    Warning,
    /// A file or cell could not be measured; it is in the results as a failure or skip.
    Problem,
}

/// One thing the sweep reports while it runs. `Display` gives the text without a prefix.
#[derive(Debug)]
pub enum Notice {
    /// A file that cannot be used (unreadable, too large, over the memory budget).
    Skipped(Skipped),
    /// Files under the corpus paths that are not images.
    Ignored(Ignored),
    /// The run folder holds an unfinished run with the same settings: its cells are kept.
    Resuming {
        dir: PathBuf,
        kept: usize,
        to_run: usize,
    },
    /// A cell failed (its row is in results.csv with status `error`).
    CellFailed {
        image: String,
        spec: String,
        message: String,
    },
    /// A caveat about one image or output, with what it concerns first.
    Warning(String),
    /// The run has moved on to writing what it measured.
    Writing(&'static str),
}

impl Notice {
    pub fn level(&self) -> Level {
        match self {
            Notice::Ignored(_) | Notice::Writing(_) => Level::Info,
            Notice::Warning(_) => Level::Warning,
            Notice::Skipped(_) | Notice::Resuming { .. } | Notice::CellFailed { .. } => {
                Level::Problem
            }
        }
    }
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::Skipped(s) => write!(f, "{s}"),
            Notice::Ignored(i) => write!(f, "{i}"),
            Notice::Resuming { dir, kept, to_run } => write!(
                f,
                "resuming the unfinished run in {}: {kept} finished cell(s) kept, {to_run} to run",
                dir.display()
            ),
            Notice::CellFailed {
                image,
                spec,
                message,
            } => write!(f, "{image} {spec}: {message}"),
            Notice::Warning(w) => write!(f, "{w}"),
            Notice::Writing(what) => write!(f, "{what}"),
        }
    }
}

/// Where the sweep stands after a cell.
#[derive(Clone, Debug)]
pub struct Tick {
    pub done: usize,
    pub total: usize,
    /// The finished share of the expected cost, 0 to 1.
    pub fraction: f64,
    pub elapsed: Duration,
    /// Time left at the rate so far, by expected cost; `None` before the first cell.
    pub eta: Option<Duration>,
    /// The cell that finished: "image spec" (empty in the tick of [`Observer::finished`]).
    pub label: String,
}

/// Counts the cells and their expected cost, and tells the observer.
pub struct Progress<'a> {
    observer: &'a dyn Observer,
    total: usize,
    done: usize,
    start: Instant,
    /// Expected cost of every cell (done or not), and of the finished ones.
    cost_total: f64,
    cost_done: f64,
    /// Probe cells counted up front and not arrived yet, and the cost assumed for each.
    expected: usize,
    expected_cost: f64,
}

impl<'a> Progress<'a> {
    pub fn new(total: usize, observer: &'a dyn Observer) -> Self {
        Progress {
            observer,
            total,
            done: 0,
            start: Instant::now(),
            cost_total: 0.0,
            cost_done: 0.0,
            expected: 0,
            expected_cost: 0.0,
        }
    }

    /// Tells the observer the cells are about to run.
    pub fn start(&self) {
        self.observer.started(self.total);
    }

    /// The expected cost of each cell given so far (the plan's estimate).
    pub fn set_costs(&mut self, costs: &[f64]) {
        self.cost_total = costs.iter().sum::<f64>() + self.expected_cost;
        if self.expected > 0 && !costs.is_empty() {
            let mean = costs.iter().sum::<f64>() / costs.len() as f64;
            self.cost_total += mean * self.expected as f64 - self.expected_cost;
            self.expected_cost = mean * self.expected as f64;
        }
    }

    /// `n` probe cells expected later (the target search's estimate), counted in the total now.
    pub fn expect(&mut self, n: usize) {
        self.expected = n;
        self.total += n;
    }

    /// Probe cells the target search just added, by expected cost: they take the place of
    /// expected ones first.
    pub fn add_probes(&mut self, costs: &[f64]) {
        for &cost in costs {
            if self.expected > 0 {
                let each = self.expected_cost / self.expected as f64;
                self.expected -= 1;
                self.expected_cost -= each;
                self.cost_total += cost - each;
            } else {
                self.total += 1;
                self.cost_total += cost;
            }
        }
    }

    /// A cell of expected cost `cost`, named `label`, finished.
    pub fn done(&mut self, cost: f64, label: String) {
        self.cost_done += cost;
        self.done += 1;
        self.observer.advanced(&self.tick(label));
    }

    /// Seconds left: the time so far scaled by the cost left over the cost done.
    fn eta(&self, elapsed: Duration) -> Option<Duration> {
        if self.cost_done <= 0.0 || self.cost_total <= 0.0 {
            return None;
        }
        let left = (self.cost_total - self.cost_done).max(0.0);
        Some(elapsed.mul_f64(left / self.cost_done))
    }

    fn tick(&self, label: String) -> Tick {
        let elapsed = self.start.elapsed();
        Tick {
            done: self.done,
            total: self.total,
            fraction: (self.cost_done / self.cost_total.max(f64::MIN_POSITIVE)).min(1.0),
            elapsed,
            eta: self.eta(elapsed),
            label,
        }
    }

    /// Passes a notice on.
    pub fn notice(&self, notice: Notice) {
        self.observer.notice(&notice);
    }

    /// Every cell has run: fewer probes than expected shrink the total to what ran.
    pub fn finish(&mut self) {
        if self.expected > 0 {
            self.total -= self.expected.min(self.total);
            self.expected = 0;
        }
        self.observer.finished(&self.tick(String::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[derive(Default)]
    struct Record {
        ticks: RefCell<Vec<Tick>>,
        finished: RefCell<Option<Tick>>,
    }

    impl Observer for Record {
        fn notice(&self, _: &Notice) {}
        fn advanced(&self, t: &Tick) {
            self.ticks.borrow_mut().push(t.clone());
        }
        fn finished(&self, t: &Tick) {
            *self.finished.borrow_mut() = Some(t.clone());
        }
    }

    #[test]
    fn the_fraction_follows_cost_and_unused_expected_probes_leave_the_total() {
        let seen = Record::default();
        let mut p = Progress::new(2, &seen);
        p.expect(2);
        p.set_costs(&[3.0, 1.0]);
        // Two expected probes at the mean cost (2 each): 8 in all.
        p.done(3.0, "a jpeg:q=80".into());
        let t = seen.ticks.borrow()[0].clone();
        assert_eq!((t.done, t.total), (1, 4));
        assert!((t.fraction - 3.0 / 8.0).abs() < 1e-12, "{}", t.fraction);
        assert_eq!(t.label, "a jpeg:q=80");
        assert!(t.eta.is_some());
        // One probe arrives (cost 4 instead of the assumed 2); the other never does.
        p.add_probes(&[4.0]);
        p.done(1.0, "b".into());
        p.done(4.0, "c".into());
        p.finish();
        let f = seen.finished.borrow().clone().unwrap();
        assert_eq!((f.done, f.total), (3, 3));
    }
}
