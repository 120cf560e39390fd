//! Progress on stderr: a bar with cells done/total and an ETA on a terminal, a plain line every
//! few seconds otherwise (logs, CI), nothing with --quiet. Messages go through here so they do
//! not tear the bar.
//!
//! The ETA weighs cells by the plan's cost estimate (pixels x the codec's relative cost), not
//! by their count: expensive cells start first, so a count-based ETA swings by an order of
//! magnitude. The target search's expected probe cells are counted up front.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Quiet,
}

impl Mode {
    /// A bar when stderr is a terminal, plain lines otherwise; `quiet` wins.
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

pub struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
    start: Instant,
    last_line: Instant,
    every: Duration,
    /// Expected cost of every cell (done or not), and of the finished ones.
    cost_total: f64,
    cost_done: f64,
    /// Probe cells counted up front and not arrived yet, and the cost assumed for each.
    expected: usize,
    expected_cost: f64,
}

impl Progress {
    pub fn new(total: usize, mode: Mode) -> Self {
        let bar = (mode == Mode::Bar).then(|| {
            let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:40.cyan/blue} {pos}/{len} cells  {elapsed_precise}  ETA {prefix}  {msg}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            b
        });
        let now = Instant::now();
        Progress {
            mode,
            bar,
            total,
            done: 0,
            start: now,
            last_line: now,
            every: Duration::from_secs(5),
            cost_total: 0.0,
            cost_done: 0.0,
            expected: 0,
            expected_cost: 0.0,
        }
    }

    /// The expected cost of the cells given so far (the plan's estimate).
    pub fn set_costs(&mut self, jobs: &[crate::plan::Job]) {
        self.cost_total = jobs.iter().map(|j| j.cost).sum::<f64>() + self.expected_cost;
        if self.expected > 0 && !jobs.is_empty() {
            let mean = jobs.iter().map(|j| j.cost).sum::<f64>() / jobs.len() as f64;
            self.cost_total += mean * self.expected as f64 - self.expected_cost;
            self.expected_cost = mean * self.expected as f64;
        }
    }

    /// `n` probe cells expected later (the target search's estimate), counted in the total now.
    pub fn expect(&mut self, n: usize) {
        self.expected = n;
        self.add_total(n);
    }

    /// Probe cells the target search just added: they take the place of expected ones first.
    pub fn add_probes(&mut self, jobs: &[crate::plan::Job]) {
        for j in jobs {
            if self.expected > 0 {
                let each = self.expected_cost / self.expected as f64;
                self.expected -= 1;
                self.expected_cost -= each;
                self.cost_total += j.cost - each;
            } else {
                self.add_total(1);
                self.cost_total += j.cost;
            }
        }
    }

    /// A cell of expected cost `cost` finished.
    pub fn done_cost(&mut self, cost: f64) {
        self.cost_done += cost;
    }

    /// Seconds left: the time so far scaled by the cost left over the cost done.
    fn eta(&self) -> Option<f64> {
        let elapsed = self.start.elapsed().as_secs_f64();
        if self.cost_done <= 0.0 || self.cost_total <= 0.0 {
            return None;
        }
        let left = (self.cost_total - self.cost_done).max(0.0);
        Some(elapsed * left / self.cost_done)
    }

    fn eta_text(&self) -> String {
        match self.eta() {
            None => "-".into(),
            Some(s) if s < 60.0 => format!("{s:.0} s"),
            Some(s) => format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64),
        }
    }

    /// A visible line while the answer and report are made after the last cell.
    pub fn writing(&self, what: &str) {
        if self.mode != Mode::Quiet {
            self.message(&format!("codecbench: {what}"));
        }
    }

    /// `n` more cells to run (probes added by the target search).
    pub fn add_total(&mut self, n: usize) {
        self.total += n;
        if let Some(b) = &self.bar {
            b.inc_length(n as u64);
        }
    }

    /// One more cell finished; `label` names it.
    pub fn inc(&mut self, label: &str) {
        self.done += 1;
        match self.mode {
            Mode::Bar => {
                if let Some(b) = &self.bar {
                    b.set_message(label.to_string());
                    b.set_prefix(self.eta_text());
                    b.inc(1);
                }
            }
            Mode::Lines => {
                if self.last_line.elapsed() >= self.every || self.done == self.total {
                    self.last_line = Instant::now();
                    eprintln!("{}", self.line());
                }
            }
            Mode::Quiet => {}
        }
    }

    fn line(&self) -> String {
        let elapsed = self.start.elapsed().as_secs_f64();
        format!(
            "codecbench: {}/{} cells ({:.0}%), {:.0} s elapsed, ETA {} (from the expected cost)",
            self.done,
            self.total,
            100.0 * self.cost_done / self.cost_total.max(f64::MIN_POSITIVE),
            elapsed,
            self.eta_text()
        )
    }

    /// Prints a message line (an error or warning) without tearing the bar. Shown in every
    /// mode: --quiet silences progress, not problems.
    pub fn message(&self, text: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    pub fn finish(&mut self) {
        // Fewer probes than expected: the total shrinks to what ran.
        if self.expected > 0 {
            self.total -= self.expected.min(self.total);
            self.expected = 0;
        }
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
