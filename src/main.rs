//! The `codecbench` binary: parse the command line, call the library, turn the outcome into an
//! exit code (0 all measured, 1 some files or cells failed or a regression, 2 usage or setup
//! error, 130 interrupted). Only this layer names command-line flags in its messages.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Parser;

use codecbench::chosen::SaidKind;
use codecbench::cli::{Cli, Command, CompareArgs, MergeArgs, ReportArgs, RunArgs, ScoreArgs};
use codecbench::codec::{spec::describe_keys, Registry};
use codecbench::options;
use codecbench::report::{load_results, write_report, ReportOptions};
use codecbench::run_dir::RunDir;
use codecbench::sweep::execute;

mod console;
mod terminal;

use console::{print_summary, print_written};

/// Counts heap bytes per thread, for the per-cell peak columns (see `codecbench::alloc`).
#[global_allocator]
static ALLOC: codecbench::alloc::Counting = codecbench::alloc::Counting;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let registry = Registry::builtin();
    let result = match cli.command {
        Command::Codecs(args) => {
            let mut registry = registry;
            options::add_external_files(&mut registry, None, &args.external)
                .map_err(anyhow::Error::from)
                .map(|warnings| {
                    list_codecs(&registry);
                    warn_all(&warnings);
                    0
                })
        }
        Command::Run(args) => {
            let mut registry = registry;
            options::add_externals(&mut registry, &args)
                .map_err(anyhow::Error::from)
                .and_then(|warnings| {
                    warn_all(&warnings);
                    run(&registry, args)
                })
        }
        Command::Compare(args) => compare(args),
        Command::Score(args) => score(args),
        Command::Merge(args) => merge(args),
        Command::Report(args) => report(args),
    };
    let code = result.unwrap_or_else(|e| {
        eprintln!("codecbench: error: {}", options::chain(e.as_ref()));
        2
    });
    ExitCode::from(code as u8)
}

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("codecbench: warning: {w}");
    }
}

fn list_codecs(registry: &Registry) {
    for c in registry.iter() {
        let lossless = c.lossless(&codecbench::codec::Params::defaults(c.params()));
        println!(
            "{:<14} {}{}{}",
            c.name(),
            c.version(),
            if lossless { " [lossless]" } else { "" },
            if c.definition().is_empty() {
                ""
            } else {
                " [external]"
            }
        );
        println!("{:<14} decoder: {}", "", c.decoder());
        println!("{:<14} {}", "", describe_keys(c.as_ref()));
    }
}

fn run(registry: &Registry, args: RunArgs) -> Result<i32> {
    let mut sweep = options::sweep(registry, &args)?;
    sweep.command = std::env::args().collect();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    // SIGTERM and SIGHUP (what CI and schedulers send) are handled like Ctrl-C (ctrlc's
    // "termination" feature).
    // First Ctrl-C: stop taking cells, write what finished. Second: leave at once (results.csv,
    // the journal, already holds every finished cell; a run with the same --out resumes).
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            codecbench::codec::external::abort_all();
            std::process::exit(130);
        }
        eprintln!("codecbench: interrupted; finishing the cells under way and writing results (Ctrl-C again to quit now)");
    });

    if let Some(note) = codecbench::sweep::replaces_note(&sweep) {
        eprintln!("codecbench: warning: {note} (give a new --out to keep it)");
    }
    let display = terminal::Terminal::new(args.quiet);
    let outcome = execute(&sweep, cancel, &display).map_err(options::sweep_error)?;
    print_summary(&outcome);
    if !args.no_report && !outcome.records.is_empty() {
        let opts = options::report_options(&args.report, sweep.out.clone(), sweep.out.clone())?;
        let opts = ReportOptions {
            meta: Some(outcome.meta.clone()),
            ..opts
        };
        if !args.quiet {
            eprintln!("codecbench: writing the answer and the report (plots, tables)...");
        }
        // A report failure does not stop the run (the measurements are already on disk), but
        // the exit code says that something the user asked for is missing (e.g. a full disk).
        match write_report(&outcome.records, &opts) {
            Ok(files) => {
                print_written(&files);
                return Ok(codecbench::chosen::after_run(
                    registry,
                    &sweep,
                    args.write_chosen.as_deref(),
                    outcome.exit_code(),
                    |said| match said.kind() {
                        SaidKind::Data => print!("{said}"),
                        SaidKind::CardWarning => eprintln!("codecbench: warning: {said}"),
                        SaidKind::ChosenWarning => {
                            eprintln!("codecbench: warning: --write-chosen: {said}")
                        }
                        SaidKind::ChosenError => {
                            eprintln!("codecbench: error: --write-chosen {said}")
                        }
                    },
                ));
            }
            Err(e) => {
                eprintln!(
                    "codecbench: error: report not written: {}",
                    options::chain(&options::report_error(e))
                );
                return Ok(outcome.exit_code().max(1));
            }
        }
    }
    Ok(outcome.exit_code())
}

fn report(args: ReportArgs) -> Result<i32> {
    let loaded = load_results(&args.results)?;
    for w in &loaded.warnings {
        eprintln!("codecbench: warning: {w}");
    }
    if loaded.records.is_empty() {
        bail!("{}: no result rows to report on", args.results[0].display());
    }
    let out = args.out.clone().unwrap_or_else(|| loaded.run_dir.clone());
    std::fs::create_dir_all(&out)
        .with_context(|| format!("--out {}: cannot create folder", out.display()))?;
    let opts = ReportOptions {
        meta: loaded.meta.clone(),
        ..options::report_options(&args.report, out, loaded.run_dir.clone())?
    };
    let files = write_report(&loaded.records, &opts).map_err(options::report_error)?;
    print_written(&files);
    Ok(0)
}

fn compare(args: CompareArgs) -> Result<i32> {
    let mut th = options::thresholds(&args)?;
    if args.retime.is_some() && args.max_slowdown.is_none() && th.max_slowdown.is_none() {
        // --retime asks for the time gate: any slowdown beyond the noise floor.
        th.max_slowdown = Some(th.noise);
    }
    // Every row as written (a duplicate must be seen, not dropped).
    struct Rows {
        records: Vec<codecbench::record::CellRecord>,
    }
    let read = |p: &std::path::Path| RunDir::read_results_at(p).map(|records| Rows { records });
    let (base, new) = (read(&args.baseline)?, read(&args.new)?);
    for (what, l) in [("BASELINE", &base), ("NEW", &new)] {
        if l.records.is_empty() {
            bail!("{what} has no result rows");
        }
    }
    let header = |p: &std::path::Path| codecbench::export::csv_header(&RunDir::results_file(p));
    let (base_header, new_header) = (header(&args.baseline)?, header(&args.new)?);
    codecbench::baseline::check_columns([
        ("BASELINE", &base_header, &base.records),
        ("NEW", &new_header, &new.records),
    ])?;
    // One row per cell: a duplicate would be judged by whichever copy came first.
    for (what, l) in [("BASELINE", &base), ("NEW", &new)] {
        if let Some(d) = codecbench::baseline::find_duplicate(&l.records) {
            bail!("{what} has the same cell twice: {d}; a results.csv has one row per cell (concatenated files? use codecbench merge)");
        }
    }
    let retimed = match args.retime {
        Some(rounds) if th.max_slowdown.is_some() => {
            let meta = |p: &std::path::Path| RunDir::of(p).read_meta().ok();
            let opts = codecbench::baseline::retime::RetimeOptions {
                rounds,
                corpus: args.retime_corpus.clone(),
                base_meta: meta(&args.baseline),
                new_meta: meta(&args.new),
                base_external: args.baseline_external.clone(),
                new_external: args.external.clone(),
                progress: true,
            };
            Some(
                codecbench::baseline::retime::retime(&base.records, &new.records, &opts, |p| {
                    eprintln!("codecbench: {p}")
                })
                .map_err(options::retime_error)?,
            )
        }
        _ => None,
    };
    let c =
        codecbench::baseline::compare_retimed(&base.records, &new.records, &th, retimed.as_ref());
    if c.curves.is_empty() && c.only_baseline.is_empty() {
        bail!("BASELINE and NEW have no cell in common (same images and specs?)");
    }
    // Bytes at equal quality from both runs' targets.csv, named by pipeline.
    let targets = |p: &std::path::Path, records: &[codecbench::record::CellRecord]| {
        codecbench::baseline::read_targets_beside(p).map(|t| {
            t.map(|mut rows| {
                codecbench::baseline::label_targets(&mut rows, records);
                rows
            })
        })
    };
    let tg = codecbench::baseline::compare_targets(
        targets(&args.baseline, &base.records)?.as_deref(),
        targets(&args.new, &new.records)?.as_deref(),
        th.max_target_bytes_increase,
    );
    let c = c.with_targets(tg);
    print!("{}", codecbench::baseline::text(&c));
    if let Some(path) = &args.markdown {
        let md = codecbench::baseline::markdown(&c);
        codecbench::export::write_atomic(path, md.as_bytes())
            .with_context(|| format!("--markdown {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_vec_pretty(&c)?;
        codecbench::export::write_atomic(path, &json)
            .with_context(|| format!("--json {}", path.display()))?;
    }
    Ok(c.exit_code())
}

fn merge(args: MergeArgs) -> Result<i32> {
    let m = codecbench::merge::merge_with(&args.runs, &args.out, args.allow_mixed)
        .map_err(options::merge_error)?;
    for e in &m.mixed {
        eprintln!("codecbench: warning: merged with --allow-mixed: {e}");
    }
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
            ..options::report_options(&args.report, args.out.clone(), args.out.clone())?
        };
        match write_report(&m.records, &opts) {
            Ok(files) => print_written(&files),
            Err(e) => eprintln!(
                "codecbench: warning: report not written: {}",
                options::chain(&options::report_error(e))
            ),
        }
    }
    let failed = m.records.iter().any(|r| !r.is_ok());
    Ok(if m.missing > 0 || failed { 1 } else { 0 })
}

fn score(args: ScoreArgs) -> Result<i32> {
    let metrics = codecbench::metrics::parse_metrics(&args.metrics)
        .with_context(|| format!("--metrics {}", args.metrics))?;
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
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", codecbench::score::text(&rows, &metrics));
    }
    Ok(if failed { 1 } else { 0 })
}
