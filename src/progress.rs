//! Progress on stderr: a bar with cells done/total and an ETA on a terminal, a plain line every
//! few seconds otherwise (logs, CI), nothing with --quiet. Messages go through here so they do
//! not tear the bar.

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
}

impl Progress {
    pub fn new(total: usize, mode: Mode) -> Self {
        let bar = (mode == Mode::Bar).then(|| {
            let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:40.cyan/blue} {pos}/{len} cells  {elapsed_precise}  ETA {eta}  {msg}",
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
        let eta = if self.done > 0 {
            elapsed / self.done as f64 * (self.total - self.done) as f64
        } else {
            f64::NAN
        };
        format!(
            "codecbench: {}/{} cells ({:.0}%), {:.0} s elapsed, ETA {:.0} s",
            self.done,
            self.total,
            100.0 * self.done as f64 / self.total.max(1) as f64,
            elapsed,
            eta
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

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
