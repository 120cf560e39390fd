//! Ctrl-C during a sweep: the cells finished so far are written to a valid results.csv, the
//! run is marked interrupted, and the exit code is 130. Started again with the same cache, the
//! sweep resumes: the cells already done are not measured again.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codecbench::record::CellRecord;

#[test]
fn sigint_leaves_a_valid_partial_results_csv() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for i in 0..3 {
        common::write_png(
            &common::textured_u8(128, 128, 3, i),
            &corpus.join(format!("{i}.png")),
        );
    }
    let out = dir.path().join("run");
    let cache = dir.path().join("cache");
    // Many short cells (each encode repeated), so the sweep cannot finish before the signal
    // but stops soon after it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args(["run", "--quiet", "--jobs", "1", "--repeat", "20"])
        .args(["--no-report", "--codec", "jpeg:q=1..100"])
        .arg("--cache")
        .arg(&cache)
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first periodic write of results.csv (every 2 s), then interrupt.
    let results = out.join("results.csv");
    let start = Instant::now();
    while !results.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "results.csv never appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be interrupted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let rows: Vec<CellRecord> = codecbench::export::read_csv(&results).unwrap();
    let total = 3 * 100;
    assert!(
        !rows.is_empty() && rows.len() < total,
        "{} rows",
        rows.len()
    );
    assert!(rows.iter().all(|r| r.is_ok() && r.psnr.is_some()));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(meta["interrupted"], true);
    assert_eq!(meta["cells_done"].as_u64().unwrap() as usize, rows.len());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("interrupted"), "{stdout}");

    // Resume: a second run with the same cache takes every finished cell from it.
    let again = dir.path().join("again");
    let status = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args([
            "run",
            "--quiet",
            "--jobs",
            "2",
            "--repeat",
            "20",
            "--no-report",
        ])
        .args(["--codec", "jpeg:q=1..100"])
        .arg("--cache")
        .arg(&cache)
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&again)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let resumed: Vec<CellRecord> =
        codecbench::export::read_csv(&again.join("results.csv")).unwrap();
    assert_eq!(resumed.len(), total);
    for r in &rows {
        let same = resumed
            .iter()
            .find(|x| x.image == r.image && x.spec == r.spec)
            .unwrap();
        assert!(same.cached, "{} {} was measured again", r.image, r.spec);
        assert_eq!((same.bytes, same.psnr), (r.bytes, r.psnr));
    }
    let fresh = resumed.iter().filter(|r| !r.cached).count();
    assert_eq!(fresh, total - rows.len());
}

/// Issue 13 case 14: SIGTERM (what CI and schedulers send) is handled like Ctrl-C. Before:
/// results.csv valid but no run.json or summary.csv, killed by the signal.
#[test]
fn sigterm_is_treated_like_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for i in 0..2 {
        common::write_png(
            &common::textured_u8(128, 128, 3, i),
            &corpus.join(format!("{i}.png")),
        );
    }
    let out = dir.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args([
            "run",
            "--quiet",
            "--jobs",
            "1",
            "--repeat",
            "20",
            "--no-cache",
        ])
        .args(["--no-report", "--codec", "jpeg:q=1..100"])
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let results = out.join("results.csv");
    let start = Instant::now();
    while !results.exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "no results.csv");
        assert!(child.try_wait().unwrap().is_none(), "finished too early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<CellRecord> = codecbench::export::read_csv(&results).unwrap();
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(meta["interrupted"], true);
    assert_eq!(meta["cells_done"].as_u64().unwrap() as usize, rows.len());
    assert!(out.join("summary.csv").is_file());
}
