//! Part of the binary (declared in main.rs, not in the library): how a sweep's progress and
//! notices reach the user on stderr. A bar with cells done/total and an ETA on a terminal, a
//! plain line every few seconds otherwise (logs, CI), no progress with --quiet. Notices are
//! printed in every mode except the routine ones under --quiet, above the bar so they do not
//! tear it.

use std::cell::{Cell, RefCell};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use codecbench::options::skip_hint;
use codecbench::progress::{Level, Notice, Observer, Tick};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Bar,
    Lines,
    Quiet,
}

/// The stderr display of a sweep.
pub struct Terminal {
    mode: Mode,
    bar: RefCell<Option<ProgressBar>>,
    /// When the last plain progress line was printed (or the cells started).
    last_line: Cell<Instant>,
    every: Duration,
}

impl Terminal {
    /// A bar when stderr is a terminal, plain lines otherwise; `quiet` wins.
    pub fn new(quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        };
        Terminal {
            mode,
            bar: RefCell::new(None),
            last_line: Cell::new(Instant::now()),
            every: Duration::from_secs(5),
        }
    }

    /// Prints a line without tearing the bar.
    fn print(&self, text: &str) {
        match &*self.bar.borrow() {
            Some(b) => b.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    fn line(tick: &Tick) -> String {
        format!(
            "codecbench: {}/{} cells ({:.0}%), {:.0} s elapsed, ETA {} (from the expected cost)",
            tick.done,
            tick.total,
            100.0 * tick.fraction,
            tick.elapsed.as_secs_f64(),
            eta_text(tick.eta)
        )
    }
}

fn eta_text(eta: Option<Duration>) -> String {
    match eta.map(|d| d.as_secs_f64()) {
        None => "-".into(),
        Some(s) if s < 60.0 => format!("{s:.0} s"),
        Some(s) => format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64),
    }
}

impl Observer for Terminal {
    fn notice(&self, notice: &Notice) {
        if let Notice::Skipped(s) = notice {
            // What to do, in flag terms, before the verdict.
            let hint = s
                .fix
                .map(|f| format!("; {}", skip_hint(f)))
                .unwrap_or_default();
            let (path, reason) = (s.path.display(), &s.reason);
            return self.print(&format!("codecbench: {path}: {reason}{hint}; skipped"));
        }
        match notice.level() {
            Level::Info if self.mode == Mode::Quiet => {}
            Level::Warning => self.print(&format!("codecbench: warning: {notice}")),
            _ => self.print(&format!("codecbench: {notice}")),
        }
    }

    fn started(&self, total: usize) {
        self.last_line.set(Instant::now());
        if self.mode != Mode::Bar {
            return;
        }
        let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{bar:40.cyan/blue} {pos}/{len} cells  {elapsed_precise}  ETA {prefix}  {msg}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        *self.bar.borrow_mut() = Some(b);
    }

    fn advanced(&self, tick: &Tick) {
        match self.mode {
            Mode::Bar => {
                if let Some(b) = &*self.bar.borrow() {
                    b.set_length(tick.total as u64);
                    b.set_message(tick.label.clone());
                    b.set_prefix(eta_text(tick.eta));
                    b.set_position(tick.done as u64);
                }
            }
            Mode::Lines => {
                if self.last_line.get().elapsed() >= self.every || tick.done == tick.total {
                    self.last_line.set(Instant::now());
                    eprintln!("{}", Self::line(tick));
                }
            }
            Mode::Quiet => {}
        }
    }

    fn finished(&self, _: &Tick) {
        if let Some(b) = self.bar.borrow_mut().take() {
            b.finish_and_clear();
        }
    }
}
