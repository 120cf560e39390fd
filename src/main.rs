//! The `codecbench` binary: parse the command line, call the library, turn the outcome into an
//! exit code (0 all measured, 1 some files or cells failed, 2 usage or setup error,
//! 130 interrupted).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;

use codecbench::analysis::bdrate::Interp;
use codecbench::baseline::{self, Thresholds};
use codecbench::cache::Cache;
use codecbench::cli::{
    BdMethod, Cli, Command, CompareArgs, MergeArgs, ReportArgs, ReportFlags, RunArgs, ScoreArgs,
};
use codecbench::codec::{builtin, spec::describe_keys};
use codecbench::config::{expand, read_gate, read_sweep_file, DEFAULT_SWEEP};
use codecbench::progress::Mode;
use codecbench::report::{load_results, write_report, ReportOptions};
use codecbench::sweep::{default_run_name, execute, Outcome, Sweep};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Codecs => {
            list_codecs();
            0
        }
        Command::Run(args) => run(args).unwrap_or_else(|e| {
            eprintln!("codecbench: error: {e}");
            2
        }),
        Command::Compare(args) => compare(args).unwrap_or_else(|e| {
            eprintln!("codecbench: error: {e}");
            2
        }),
        Command::Score(args) => score(args).unwrap_or_else(|e| {
            eprintln!("codecbench: error: {e}");
            2
        }),
        Command::Merge(args) => merge(args).unwrap_or_else(|e| {
            eprintln!("codecbench: error: {e}");
            2
        }),
        Command::Report(args) => report(args).unwrap_or_else(|e| {
            eprintln!("codecbench: error: {e}");
            2
        }),
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
        cache: if args.no_cache {
            None
        } else {
            Some(args.cache.clone().unwrap_or_else(Cache::default_dir))
        },
        shard: args
            .shard
            .as_deref()
            .map(codecbench::shard::parse)
            .transpose()?,
        metrics: codecbench::measure::parse_metrics(&args.metrics)?,
        crop_bpp: (!args.no_report).then_some(args.report.crop_bpp),
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
    if !args.no_report && !outcome.records.is_empty() {
        let opts = report_options(&args.report, sweep.out.clone(), sweep.out.clone())?;
        let opts = ReportOptions {
            meta: Some(outcome.meta.clone()),
            ..opts
        };
        // A report failure is reported, not fatal: the measurements are already on disk.
        match write_report(&outcome.records, &opts) {
            Ok(files) => print_written(&files),
            Err(e) => eprintln!("codecbench: warning: report not written: {e}"),
        }
    }
    Ok(outcome.exit_code())
}

fn report_options(
    flags: &ReportFlags,
    out: PathBuf,
    run_dir: PathBuf,
) -> Result<ReportOptions, String> {
    if !(flags.crop_bpp.is_finite() && flags.crop_bpp > 0.0) {
        return Err(format!(
            "--crop-bpp {}: give a positive number of bits per pixel",
            flags.crop_bpp
        ));
    }
    Ok(ReportOptions {
        out,
        run_dir,
        anchor: flags.anchor.clone(),
        interp: match flags.bd_method {
            BdMethod::Pchip => Interp::Pchip,
            BdMethod::Cubic => Interp::Cubic,
        },
        crop_bpp: flags.crop_bpp,
        meta: None,
    })
}

fn print_written(files: &[PathBuf]) {
    let mut out = std::io::stdout().lock();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e != "png" && e != "svg"))
    {
        let _ = writeln!(out, "wrote {}", f.display());
    }
    let plots = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png" || e == "svg"))
        .count();
    if let Some(dir) = files
        .iter()
        .find_map(|f| f.parent().filter(|p| p.ends_with("plots")))
    {
        let _ = writeln!(out, "wrote {plots} plot files in {}", dir.display());
    }
}

fn report(args: ReportArgs) -> Result<i32, String> {
    let loaded = load_results(&args.results)?;
    for w in &loaded.warnings {
        eprintln!("codecbench: warning: {w}");
    }
    if loaded.records.is_empty() {
        return Err(format!(
            "{}: no result rows to report on",
            args.results[0].display()
        ));
    }
    let out = args.out.clone().unwrap_or_else(|| loaded.run_dir.clone());
    std::fs::create_dir_all(&out)
        .map_err(|e| format!("--out {}: cannot create folder ({e})", out.display()))?;
    let opts = ReportOptions {
        meta: loaded.meta.clone(),
        ..report_options(&args.report, out, loaded.run_dir.clone())?
    };
    let files = write_report(&loaded.records, &opts)?;
    print_written(&files);
    Ok(0)
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
    if t.measured_s > 0.0 {
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
    } else {
        let _ = writeln!(
            out,
            "no codec or metric ran in this run: every cell came from the cache"
        );
    }
    if t.measured_s > 0.0 {
        let _ = writeln!(
            out,
            "codec calls {:.1} s, metrics {:.1} s ({:.0}% of codec+metric time; metrics: {})",
            t.codecs_s,
            t.metrics_s,
            100.0 * t.metrics_s / t.measured_s,
            o.meta.metrics
        );
    }
    if o.meta.cells_cached > 0 {
        let _ = writeln!(
            out,
            "{} of {} cells taken from the cache ({})",
            o.meta.cells_cached,
            o.meta.cells_done,
            o.meta
                .cache_dir
                .as_ref()
                .map_or(String::new(), |d| d.display().to_string())
        );
    }
    if o.meta.interrupted {
        let _ = writeln!(out, "interrupted: the files hold the cells finished so far");
    }
    for f in &o.files {
        let _ = writeln!(out, "wrote {}", f.display());
    }
}

/// A percentage limit from the command line: a number, or "off".
fn limit(flag: &str, v: &str) -> Result<Option<f64>, String> {
    if v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(Some)
        .ok_or_else(|| format!("{flag} {v}: give a non-negative number or \"off\""))
}

fn thresholds(args: &CompareArgs) -> Result<Thresholds, String> {
    let mut th = Thresholds::default();
    if let Some(path) = &args.sweep {
        let g = read_gate(path)?;
        th.max_bd_rate = g.max_bd_rate.or(th.max_bd_rate);
        th.max_size_increase = g.max_size_increase.or(th.max_size_increase);
        th.max_slowdown = g.max_slowdown.or(th.max_slowdown);
        th.noise = g.noise.unwrap_or(th.noise);
        th.max_quality_drop = g.max_quality_drop.into_iter().collect();
    }
    if let Some(v) = &args.max_bd_rate {
        th.max_bd_rate = limit("--max-bd-rate", v)?;
    }
    if let Some(v) = &args.max_size_increase {
        th.max_size_increase = limit("--max-size-increase", v)?;
    }
    if let Some(v) = &args.max_slowdown {
        th.max_slowdown = limit("--max-slowdown", v)?;
    }
    if let Some(n) = args.noise {
        th.noise = n;
    }
    if let Some(list) = &args.max_quality_drop {
        th.max_quality_drop.clear();
        for item in list.split(',') {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                format!("--max-quality-drop {item}: write METRIC=DROP, e.g. psnr=0.05")
            })?;
            let known: Vec<&str> = codecbench::report::series::METRICS
                .iter()
                .map(|m| m.key)
                .collect();
            if !known.contains(&k.trim()) {
                return Err(format!(
                    "--max-quality-drop {item}: unknown metric {k} (known: {})",
                    known.join(", ")
                ));
            }
            let v = limit("--max-quality-drop", v.trim())?.unwrap_or(f64::INFINITY);
            th.max_quality_drop.push((k.trim().to_string(), v));
        }
    }
    Ok(th)
}

fn compare(args: CompareArgs) -> Result<i32, String> {
    let th = thresholds(&args)?;
    let base = load_results(std::slice::from_ref(&args.baseline))?;
    let new = load_results(std::slice::from_ref(&args.new))?;
    for (what, l) in [("BASELINE", &base), ("NEW", &new)] {
        if l.records.is_empty() {
            return Err(format!("{what} has no result rows"));
        }
    }
    let c = baseline::compare(&base.records, &new.records, &th);
    if c.curves.is_empty() {
        return Err("BASELINE and NEW have no cell in common (same images and specs?)".into());
    }
    print!("{}", baseline::text(&c));
    if let Some(path) = &args.markdown {
        codecbench::export::write_atomic(path, baseline::markdown(&c).as_bytes())
            .map_err(|e| format!("--markdown {}: {e}", path.display()))?;
    }
    Ok(if c.regressed() { 1 } else { 0 })
}

fn merge(args: MergeArgs) -> Result<i32, String> {
    let m = codecbench::merge::merge(&args.runs, &args.out)?;
    for w in &m.warnings {
        eprintln!("codecbench: warning: {w}");
    }
    if m.missing > 0 {
        eprintln!(
            "codecbench: {} cell(s) of the plan are in none of the inputs (a shard missing or interrupted?)",
            m.missing
        );
    }
    print_written(&m.files);
    if !args.no_report && !m.records.is_empty() {
        let opts = ReportOptions {
            meta: Some(m.meta.clone()),
            ..report_options(&args.report, args.out.clone(), args.out.clone())?
        };
        match write_report(&m.records, &opts) {
            Ok(files) => print_written(&files),
            Err(e) => eprintln!("codecbench: warning: report not written: {e}"),
        }
    }
    let failed = m.records.iter().any(|r| !r.is_ok());
    Ok(if m.missing > 0 || failed { 1 } else { 0 })
}

fn score(args: ScoreArgs) -> Result<i32, String> {
    let metrics = codecbench::measure::parse_metrics(&args.metrics)?;
    let results = codecbench::score::score_files(&args.original, &args.distorted, &metrics)?;
    let mut rows = Vec::new();
    let mut failed = false;
    for r in results {
        match r {
            Ok(row) => rows.push(row),
            Err(e) => {
                eprintln!("codecbench: {e}");
                failed = true;
            }
        }
    }
    if args.json {
        let text = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", codecbench::score::text(&rows, &metrics));
    }
    Ok(if failed { 1 } else { 0 })
}
