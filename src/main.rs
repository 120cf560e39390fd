//! The `codecbench` binary: parse the command line, call the library, turn the outcome into an
//! exit code (0 all measured, 1 some files or cells failed, 2 usage or setup error,
//! 130 interrupted).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;

use codecbench::cli::{Cli, Command, RunArgs};
use codecbench::codec::{builtin, spec::describe_keys};
use codecbench::config::{expand, read_sweep_file, DEFAULT_SWEEP};
use codecbench::progress::Mode;
use codecbench::sweep::{default_run_name, execute, Outcome, Sweep};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Codecs => {
            list_codecs();
            0
        }
        Command::Run(args) => match run(args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("codecbench: error: {e}");
                2
            }
        },
    };
    ExitCode::from(code as u8)
}

fn list_codecs() {
    for c in builtin() {
        println!(
            "{:<14} {}{}",
            c.name(),
            c.version(),
            if c.lossless() { " [lossless]" } else { "" }
        );
        println!("{:<14} decoder: {}", "", c.decoder());
        println!("{:<14} {}", "", describe_keys(c.as_ref()));
    }
}

fn run(args: RunArgs) -> Result<i32, String> {
    let mut specs = Vec::new();
    if let Some(path) = &args.sweep {
        specs.extend(read_sweep_file(path)?);
    }
    specs.extend(args.codecs.iter().cloned());
    if specs.is_empty() {
        specs = DEFAULT_SWEEP.iter().map(|s| s.to_string()).collect();
    }
    let configs = expand(&specs).map_err(|errs| errs.join("\n"))?;
    let jobs = match args.jobs {
        Some(j) => j as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let sweep = Sweep {
        corpus: args.corpus,
        configs,
        out: args
            .out
            .unwrap_or_else(|| PathBuf::from("reports").join(default_run_name())),
        jobs,
        repeat: args.repeat,
        save_encoded: args.save_encoded,
        max_pixels: args.max_pixels,
        progress: Mode::detect(args.quiet),
        command: std::env::args().collect(),
    };

    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    // First Ctrl-C: stop taking cells, write what finished. Second: leave at once (the last
    // periodic results.csv is complete, it was written atomically).
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("codecbench: interrupted; finishing the cells under way and writing results (Ctrl-C again to quit now)");
    });

    let outcome = execute(&sweep, cancel)?;
    print_summary(&outcome);
    Ok(outcome.exit_code())
}

fn fmt_range(v: &[f64], digits: usize) -> String {
    let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let any_inf = v.iter().any(|x| x.is_infinite());
    match (finite.is_empty(), any_inf) {
        (true, true) => "inf".into(),
        (true, false) => "-".into(),
        _ if (hi - lo).abs() < 1e-12 => {
            format!("{lo:.digits$}{}", if any_inf { "..inf" } else { "" })
        }
        _ => format!(
            "{lo:.digits$}..{hi:.digits$}{}",
            if any_inf { "..inf" } else { "" }
        ),
    }
}

/// One line per rate-distortion curve on stdout; details are in summary.csv.
fn print_summary(o: &Outcome) {
    let mut out = std::io::stdout().lock();
    let mut curves: Vec<&str> = Vec::new();
    for r in &o.summary {
        if !curves.contains(&r.curve.as_str()) {
            curves.push(&r.curve);
        }
    }
    let _ = writeln!(
        out,
        "{:<40} {:>5} {:>6} {:>14} {:>20} {:>9} {:>9}",
        "codec (options)",
        "cells",
        "failed",
        "bpp (totals)",
        "PSNR dB (pooled)",
        "encode s",
        "decode s"
    );
    for curve in curves {
        let rows: Vec<_> = o.summary.iter().filter(|r| r.curve == curve).collect();
        let cells: usize = rows.iter().map(|r| r.images + r.errors).sum();
        let failed: usize = rows.iter().map(|r| r.errors).sum();
        let bpp: Vec<f64> = rows.iter().filter_map(|r| r.bpp_of_totals).collect();
        let psnr: Vec<f64> = rows.iter().filter_map(|r| r.psnr_of_pooled_mse).collect();
        let enc: f64 = rows.iter().map(|r| r.encode_ms_total).sum::<f64>() / 1e3;
        let dec: f64 = rows.iter().map(|r| r.decode_ms_total).sum::<f64>() / 1e3;
        let _ = writeln!(
            out,
            "{:<40} {:>5} {:>6} {:>14} {:>20} {:>9.2} {:>9.2}",
            curve,
            cells,
            failed,
            fmt_range(&bpp, 3),
            fmt_range(&psnr, 2),
            enc,
            dec
        );
    }
    let t = &o.meta.timing;
    let _ = writeln!(
        out,
        "\n{} images, {} of {} cells measured, {} failed, {} files skipped; wall {:.1} s on {} jobs",
        o.meta.corpus.len(),
        o.meta.cells_done,
        o.meta.cells_total,
        o.meta.cells_failed,
        o.skipped.len(),
        t.wall_s,
        o.meta.jobs
    );
    let _ = writeln!(
        out,
        "parallel efficiency {:.3} (codec+metric time {:.1} s / (wall {:.1} s x {} jobs)); \
         harness overhead {:.1}% of codec+metric time ({:.2}% inside cells)",
        t.efficiency,
        t.measured_s,
        t.wall_s,
        o.meta.jobs,
        100.0 * t.overhead_share,
        100.0 * t.in_cell_overhead_share
    );
    if o.meta.interrupted {
        let _ = writeln!(out, "interrupted: the files hold the cells finished so far");
    }
    for f in &o.files {
        let _ = writeln!(out, "wrote {}", f.display());
    }
}
