//! The cell cache: an unchanged re-run takes every cell from it, a changed option re-measures
//! only that codec's cells, corrupt entries are reported and re-measured, and two processes
//! can share one cache.

mod common;

use std::path::Path;
use std::process::{Command as Process, Stdio};

use assert_cmd::Command;
use codecbench::record::CellRecord;

fn run(
    corpus: &Path,
    cache: &Path,
    out: &Path,
    specs: &[&str],
) -> (Vec<CellRecord>, serde_json::Value, String) {
    let mut cmd = Command::cargo_bin("codecbench").unwrap();
    cmd.args(["run", "--quiet", "--no-report", "--jobs", "2", "--corpus"])
        .arg(corpus)
        .arg("--cache")
        .arg(cache)
        .arg("--out")
        .arg(out);
    for s in specs {
        cmd.args(["--codec", s]);
    }
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = codecbench::export::read_csv(&out.join("results.csv")).unwrap();
    let meta = serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    (rows, meta, String::from_utf8(output.stderr).unwrap())
}

const SPECS: &[&str] = &["jpeg:q=40,80", "webp:q=40,80", "png:preset=0"];

#[test]
fn unchanged_rerun_is_served_from_the_cache() {
    let (dir, corpus) = common::small_corpus();
    let cache = dir.path().join("cache");
    let (first, meta1, _) = run(&corpus, &cache, &dir.path().join("a"), SPECS);
    assert_eq!(meta1["cells_cached"], 0);
    assert!(first.iter().all(|r| !r.cached));
    let (second, meta2, _) = run(&corpus, &cache, &dir.path().join("b"), SPECS);
    assert_eq!(meta2["cells_cached"], 20);
    assert!(second.iter().all(|r| r.cached));
    // Same rows, timings included (kept from the run that measured them); only `cached` differs.
    for (a, b) in first.iter().zip(&second) {
        let b = CellRecord {
            cached: false,
            ..b.clone()
        };
        assert_eq!(*a, b);
    }
    assert_eq!(meta2["timing"]["measured_s"], 0.0);
}

#[test]
fn a_changed_option_remeasures_only_that_codec() {
    let (dir, corpus) = common::small_corpus();
    let cache = dir.path().join("cache");
    run(&corpus, &cache, &dir.path().join("a"), SPECS);
    let changed = ["jpeg:q=40,80", "webp:q=40,80,method=6", "png:preset=0"];
    let (rows, meta, _) = run(&corpus, &cache, &dir.path().join("b"), &changed);
    assert_eq!(meta["cells_cached"], 12);
    for r in &rows {
        assert_eq!(r.cached, r.codec != "webp", "{} {}", r.image, r.spec);
    }
}

#[test]
fn corrupt_entries_are_reported_and_measured_again() {
    let (dir, corpus) = common::small_corpus();
    let cache = dir.path().join("cache");
    let (first, _, _) = run(&corpus, &cache, &dir.path().join("a"), &["jpeg:q=50"]);
    // Damage every entry: truncate one, fill another with garbage, and so on.
    let mut entries = Vec::new();
    for shard in std::fs::read_dir(cache.join("cells")).unwrap() {
        for e in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            entries.push(e.unwrap().path());
        }
    }
    assert_eq!(entries.len(), 4);
    std::fs::write(&entries[0], b"").unwrap();
    std::fs::write(&entries[1], b"\x00\xffnot json").unwrap();
    let text = std::fs::read_to_string(&entries[2]).unwrap();
    std::fs::write(&entries[2], &text[..text.len() / 2]).unwrap();
    let (rows, meta, stderr) = run(&corpus, &cache, &dir.path().join("b"), &["jpeg:q=50"]);
    assert_eq!(meta["cells_cached"], 1);
    assert_eq!(
        stderr.matches("ignored a corrupt cache entry").count(),
        3,
        "{stderr}"
    );
    for (a, b) in first.iter().zip(&rows) {
        assert_eq!((a.bytes, a.psnr), (b.bytes, b.psnr));
    }
    // Repaired: everything is cached now.
    let (_, meta, stderr) = run(&corpus, &cache, &dir.path().join("c"), &["jpeg:q=50"]);
    assert_eq!(meta["cells_cached"], 4);
    assert!(!stderr.contains("corrupt"), "{stderr}");
}

#[test]
fn two_processes_share_one_cache() {
    let (dir, corpus) = common::small_corpus();
    let cache = dir.path().join("cache");
    let spawn = |out: &str| {
        Process::new(env!("CARGO_BIN_EXE_codecbench"))
            .args([
                "run",
                "--quiet",
                "--no-report",
                "--jobs",
                "2",
                "--codec",
                "jpeg:q=10..90:10",
                "--codec",
                "webp:q=30,60,90",
            ])
            .arg("--corpus")
            .arg(&corpus)
            .arg("--cache")
            .arg(&cache)
            .arg("--out")
            .arg(dir.path().join(out))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("a"), spawn("b"));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert!(!String::from_utf8_lossy(&out.stderr).contains("corrupt"));
    }
    let (rows, meta, stderr) = run(
        &corpus,
        &cache,
        &dir.path().join("c"),
        &["jpeg:q=10..90:10", "webp:q=30,60,90"],
    );
    assert_eq!(meta["cells_cached"], 48, "{stderr}");
    let a: Vec<CellRecord> =
        codecbench::export::read_csv(&dir.path().join("a/results.csv")).unwrap();
    for (x, y) in a.iter().zip(&rows) {
        assert_eq!((x.bytes, x.psnr), (y.bytes, y.psnr));
    }
}
