//! What a person reads, checked against the code so it cannot go stale (issue 24):
//! - README.md's generated blocks: the codec table against the codec registry, the preset
//!   table against `config::PRESETS`, the flag tables against the CLI definition, and the
//!   pasted `codecbench --help` against the binary's real output. A codec, preset or flag
//!   added, removed or reworded fails here and prints the block to paste;
//!   `CODECBENCH_BLESS=1 cargo test --release --test suite docs` rewrites the blocks in README.md (the
//!   codec table keeps each row's hand-written "what" column; a new codec gets `TODO`, which
//!   fails until it is described).
//! - `run --help` names the web preset's real codecs and metrics and every preset.
//! - summary.md: at most 60 lines, the answer card and one table, and counts that say how
//!   many cells were measured and how many came from the cache.
//! - A corpus folder's ignored files are named, not only counted.

use crate::common;

use std::path::Path;
use std::process::Command;

use clap::CommandFactory;
use codecbench::codec::{Kind, Param, Registry};
use codecbench::config::PRESETS;

fn readme_path() -> std::path::PathBuf {
    common::root().join("README.md")
}

fn bless() -> bool {
    std::env::var_os("CODECBENCH_BLESS").is_some()
}

/// The text between `<!-- generated: NAME -->` and `<!-- end: NAME -->` (without the marker
/// lines), and its byte range in `text`.
fn block(text: &str, name: &str) -> (String, std::ops::Range<usize>) {
    let open = format!("<!-- generated: {name} -->\n");
    let close = format!("<!-- end: {name} -->");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("README.md has no `{}` marker", open.trim()))
        + open.len();
    let end = start
        + text[start..]
            .find(&close)
            .unwrap_or_else(|| panic!("README.md has no `{close}` marker"));
    (text[start..end].to_string(), start..end)
}

/// The tests run in parallel; blessing rewrites README.md, so each check reads and writes it
/// under this lock.
static README: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Compares a generated block with the README's; with `CODECBENCH_BLESS` set, writes it.
fn check_block(name: &str, expected: &str) {
    let _lock = README.lock().unwrap_or_else(|e| e.into_inner());
    let path = readme_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let (actual, range) = block(&text, name);
    if actual == expected {
        return;
    }
    if bless() {
        let mut new = text.clone();
        new.replace_range(range, expected);
        std::fs::write(&path, new).unwrap();
        return;
    }
    let first_diff = actual
        .lines()
        .zip(expected.lines())
        .position(|(a, e)| a != e)
        .map_or(String::new(), |i| {
            format!(
                "first difference at line {}:\n  README: {}\n  code:   {}\n",
                i + 1,
                actual.lines().nth(i).unwrap_or(""),
                expected.lines().nth(i).unwrap_or("")
            )
        });
    panic!(
        "README.md's `{name}` block is stale: {first_diff}run \
         `CODECBENCH_BLESS=1 cargo test --release --test suite docs` or paste:\n{expected}"
    );
}

/// Markdown table cell text: `|` escaped, `<` `>` as entities (else `<out>` vanishes as a tag).
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

/// "`q` 1..100 (default 75)".
fn param(p: &Param) -> String {
    let range = match &p.kind {
        Kind::Int { min, max } => format!("{min}..{max}"),
        Kind::Float { min, max } => format!("{min}..{max}, real"),
        Kind::Bool => "true/false".into(),
        Kind::Choice(c) => c.join("/"),
    };
    format!("`{}` {range} (default {})", p.key, p.default)
}

/// The codec table: name and the hand-written "what" from the README, setting and options
/// from the registry, in the registry's order.
fn codec_table(readme_block: &str) -> String {
    let what = |name: &str| -> String {
        let prefix = format!("| `{name}` | ");
        readme_block
            .lines()
            .find(|l| l.starts_with(&prefix))
            .and_then(|l| l[prefix.len()..].split(" | ").next())
            .map_or("TODO".into(), str::to_string)
    };
    let mut out =
        String::from("| codec | what | setting (the swept knob) | options |\n|---|---|---|---|\n");
    for c in Registry::builtin().iter() {
        let params = c.params();
        let setting = params.first().map_or("-".into(), param);
        let options: Vec<String> = params.iter().skip(1).map(param).collect();
        let options = if options.is_empty() {
            "-".into()
        } else {
            options.join("; ")
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.name(),
            what(c.name()),
            cell(&setting),
            cell(&options)
        ));
    }
    out
}

#[test]
fn readme_codec_table_matches_the_registry() {
    let expected = {
        let _lock = README.lock().unwrap_or_else(|e| e.into_inner());
        let text = std::fs::read_to_string(readme_path()).unwrap();
        codec_table(&block(&text, "codecs").0)
    };
    check_block("codecs", &expected);
    assert!(
        !expected.contains("| TODO |"),
        "a codec has no description in README.md's codec table (the `what` column):\n{expected}"
    );
}

fn preset_table() -> String {
    let mut out = String::from(
        "| `--preset` | for | codecs and settings | metrics | the answer at |\n|---|---|---|---|---|\n",
    );
    for (i, p) in PRESETS.iter().enumerate() {
        let codecs: Vec<String> = p.codecs.iter().map(|c| format!("`{c}`")).collect();
        let levels: Vec<String> = p.levels.iter().map(f64::to_string).collect();
        let answer = if levels.is_empty() {
            "the smallest exact file".to_string()
        } else {
            format!("{} {}", p.metric, levels.join(", "))
        };
        out.push_str(&format!(
            "| `{}`{} | {} | {} | `{}` | {} |\n",
            p.name,
            if i == 0 { " (default)" } else { "" },
            cell(p.about),
            codecs.join(" "),
            p.metrics,
            answer
        ));
    }
    out
}

#[test]
fn readme_preset_table_matches_the_presets() {
    check_block("presets", &preset_table());
}

/// One flag table: every argument of `codecbench SUB`, as `--help` defines it.
fn flag_table(sub: &str) -> String {
    let cmd = codecbench::cli::Cli::command();
    let cmd = cmd
        .find_subcommand(sub)
        .unwrap_or_else(|| panic!("no subcommand {sub}"));
    let mut out = String::from("| flag | default | what |\n|---|---|---|\n");
    for a in cmd.get_arguments() {
        if a.is_hide_set() || a.get_id() == "help" || a.get_id() == "version" {
            continue;
        }
        let switch = matches!(
            a.get_action(),
            clap::ArgAction::SetTrue | clap::ArgAction::SetFalse | clap::ArgAction::Count
        );
        let values: Vec<String> = a
            .get_value_names()
            .filter(|_| !switch)
            .map(|v| v.iter().map(|n| format!("<{n}>")).collect())
            .unwrap_or_else(|| {
                if a.get_action().takes_values() && !switch {
                    vec![format!("<{}>", a.get_id().as_str().to_uppercase())]
                } else {
                    Vec::new()
                }
            });
        let mut flag = match (a.get_short(), a.get_long()) {
            (Some(s), Some(l)) => format!("-{s}, --{l}"),
            (None, Some(l)) => format!("--{l}"),
            _ => values.join(" "),
        };
        if a.get_long().is_some() && !values.is_empty() {
            flag = format!("{flag} {}", values.join(" "));
        }
        if a.get_num_args().is_some_and(|n| n.max_values() > 1) {
            flag.push_str("...");
        }
        let defaults: Vec<String> = a
            .get_default_values()
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        let mut help = a
            .get_long_help()
            .or(a.get_help())
            .map_or(String::new(), |h| h.to_string());
        let possible: Vec<String> = a
            .get_possible_values()
            .iter()
            .filter(|_| a.get_action().takes_values())
            .map(|p| p.get_name().to_string())
            .collect();
        if !possible.is_empty() {
            help = format!("{help} ({})", possible.join(", "));
        }
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            flag,
            if defaults.is_empty() {
                "-".into()
            } else {
                format!("`{}`", defaults.join(","))
            },
            cell(&help)
        ));
    }
    out
}

#[test]
fn readme_flag_tables_match_the_cli() {
    for sub in ["run", "report"] {
        check_block(&format!("flags {sub}"), &flag_table(sub));
    }
}

fn binary(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    String::from_utf8(o.stdout).unwrap()
}

/// The pasted `codecbench --help` is the binary's, word for word.
#[test]
fn readme_help_is_the_binarys() {
    let help = binary(&["--help"]);
    let trimmed: Vec<&str> = help.lines().map(str::trim_end).collect();
    check_block(
        "codecbench --help",
        &format!(
            "```text\n$ codecbench --help\n{}\n```\n",
            trimmed.join("\n")
        ),
    );
}

/// `run --help` names the default preset's real codecs and metrics, and every preset (it once
/// listed the codecs of a default sweep that had changed).
#[test]
fn run_help_names_the_real_defaults() {
    let help = binary(&["run", "--help"]);
    // clap prints each argument's help on lines of its own; join them to search in.
    let flat: String = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let web = &PRESETS[0];
    assert_eq!(web.name, "web");
    let codec_help = &flat[flat.find("--codec <SPEC>").unwrap()..];
    let codec_help = &codec_help[..codec_help.find("--sweep <FILE>").unwrap()];
    for spec in web.codecs {
        assert!(
            codec_help.contains(spec),
            "`run --help` for --codec does not name the default preset's `{spec}`: {codec_help}"
        );
    }
    let metrics_help = &flat[flat.find("--metrics <LIST>").unwrap()..];
    assert!(
        metrics_help[..400.min(metrics_help.len())].contains(&format!("web: {}", web.metrics)),
        "{metrics_help:.400}"
    );
    let preset_help = &flat[flat.find("--preset <NAME>").unwrap()..];
    let preset_help = &preset_help[..preset_help.find("--coverage").unwrap()];
    assert!(preset_help.contains("web (default"), "{preset_help}");
    for p in PRESETS {
        assert!(
            preset_help.contains(p.name),
            "`run --help` for --preset does not name `{}`: {preset_help}",
            p.name
        );
    }
    // --crop-bpp says what it does now: crops are at equal quality; the bpp is a fallback.
    let crop = &flat[flat.find("--crop-bpp <BPP>").unwrap()..];
    assert!(
        crop.contains("only when no quality metric was measured") && crop.contains("equal quality"),
        "{crop:.400}"
    );
}

/// A run on a small corpus, with a cache folder of its own.
fn run(corpus: &Path, out: &Path, cache: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args([
            "run",
            "--quiet",
            "--jobs",
            "2",
            "--metrics",
            "psnr,ssimulacra2",
        ])
        .args([
            "--codec",
            "jpeg:q=50..100:10",
            "--codec",
            "webp:q=50..100:10",
        ])
        .args(["--codec", "png"])
        .arg("--corpus")
        .arg(corpus)
        .arg("--out")
        .arg(out)
        .arg("--cache")
        .arg(cache)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    std::fs::read_to_string(out.join("summary.md")).unwrap()
}

/// summary.md is the answer card and one table, at most 60 lines, and its counts say what this
/// run measured and what came from the cache (it said "536 cells" where the console said
/// 1094, 536 of them from the cache).
#[test]
fn summary_md_is_short_and_counts_measured_and_cached() {
    let (dir, corpus) = common::small_corpus();
    let cache = dir.path().join("cache");
    let md = run(&corpus, &dir.path().join("first"), &cache);
    // 4 images x (6 jpeg + 6 webp + 1 png) = 52 cells.
    assert!(
        md.contains(
            "4 images; 52 cells: 52 measured in this run, 0 taken from the cache, 0 failed."
        ),
        "{md}"
    );
    let lines = md.lines().count();
    assert!(lines <= 60, "summary.md has {lines} lines:\n{md}");
    assert!(
        md.contains("## Answer\n\n- **"),
        "the answer card first: {md}"
    );
    let tables = md.lines().filter(|l| l.starts_with("|---")).count();
    assert_eq!(tables, 1, "one table: {md}");
    assert!(
        md.contains(
            "| configuration | SSIMULACRA2 70 | SSIMULACRA2 80 | SSIMULACRA2 90 | delivery |"
        ),
        "{md}"
    );
    assert!(md.contains("`report.html`"), "says where the rest is: {md}");

    let again = run(&corpus, &dir.path().join("second"), &cache);
    assert!(
        again.contains(
            "4 images; 52 cells: 0 measured in this run, 52 taken from the cache, 0 failed."
        ),
        "{again}"
    );
}

/// Files in a corpus folder that codecbench does not read are named (the first few) with a
/// count; before, the line said only "ignored 2 file(s) without an image extension".
#[test]
fn ignored_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    common::write_png(&common::textured_u8(16, 16, 3, 1), &corpus.join("a.png"));
    std::fs::write(corpus.join("logo.svg"), "<svg/>").unwrap();
    std::fs::write(corpus.join("notes.txt"), "x").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args([
            "run",
            "--no-cache",
            "--no-report",
            "--codec",
            "png",
            "--corpus",
        ])
        .arg(&corpus)
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("ignored 2 file(s) without an image extension"))
        .unwrap_or_else(|| panic!("no ignored-files line: {stderr}"));
    for name in ["logo.svg", "notes.txt"] {
        assert!(
            line.contains(&corpus.join(name).display().to_string()),
            "{name} not named: {line}"
        );
    }
    assert!(line.contains(".png"), "says what is read: {line}");
}
