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

/// Issue 26 case 9: results.csv is a journal. While an external codec sleeps in one cell, the
/// cells that finished are already in results.csv; after `kill -9` (at a random moment) they
/// are all still there, whole; the killed run's tool dies with it and its temp folder and
/// stray processes are removed by the next run, which (same --out, --no-cache) keeps the
/// finished cells and measures only the rest. Before: no results.csv while the slow cell ran,
/// an empty folder after kill -9.
#[test]
fn kill_9_loses_only_the_cells_in_flight_and_a_rerun_completes_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let corpus = d.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    common::write_png(&common::textured_u8(64, 48, 3, 1), &corpus.join("one.png"));
    let flag = d.join("slow");
    std::fs::write(&flag, b"").unwrap();
    let leader = d.join("leader.pid");
    std::fs::write(
        d.join("defs.toml"),
        format!(
            r#"[[external]]
name = "t"
extension = "ppm"
depth = 8
encode = ["sh", "-c", "echo $$ > {}; if [ -e {} ]; then sleep 1011; fi; cp \"$0\" \"$1\"", "{{input}}", "{{output}}"]
decode = ["cp", "{{input}}", "{{output}}"]
"#,
            leader.display(),
            flag.display()
        ),
    )
    .unwrap();
    let tmp = d.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = d.join("run");
    let run = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_codecbench"));
        c.env("TMPDIR", &tmp)
            .args(["run", "--quiet", "--no-cache", "--no-report", "--jobs", "2"])
            .args(["--metrics", "psnr", "--external"])
            .arg(d.join("defs.toml"))
            .args([
                "--codec",
                "t",
                "--codec",
                "jpeg:q=10..90:10",
                "--codec",
                "png",
            ])
            .arg("--corpus")
            .arg(&corpus)
            .arg("--out")
            .arg(&out);
        c
    };
    let mut child = run()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let results = out.join("results.csv");
    let fast = 10;
    let start = Instant::now();
    loop {
        let rows: Vec<CellRecord> = codecbench::export::read_csv(&results).unwrap_or_default();
        if rows.len() == fast {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the {fast} fast cells are not in results.csv while the slow one runs ({} rows)",
            rows.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A random moment while the slow cell runs.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    std::thread::sleep(Duration::from_millis(nanos as u64 % 700));
    child.kill().unwrap();
    child.wait().unwrap();
    let before = std::fs::read_to_string(&results).unwrap();
    let rows: Vec<CellRecord> = codecbench::export::read_csv(&results).unwrap();
    assert_eq!(rows.len(), fast);
    assert!(rows
        .iter()
        .all(|r| r.is_ok() && r.codec != "t" && r.psnr.is_some()));
    // The tool died with codecbench (PR_SET_PDEATHSIG); its sleep is orphaned for now.
    std::thread::sleep(Duration::from_millis(200));
    let pid = std::fs::read_to_string(&leader).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    assert!(
        stat.as_deref().map_or(true, |s| s.contains(") Z ")),
        "the tool outlived codecbench: {stat:?}"
    );

    // Again, the slow cell now quick: the finished cells are kept as they were.
    std::fs::remove_file(&flag).unwrap();
    let o = run().output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("resuming the unfinished run")
            && stderr.contains("10 finished cell(s) kept, 1 to run"),
        "{stderr}"
    );
    let after = std::fs::read_to_string(&results).unwrap();
    let rows: Vec<CellRecord> = codecbench::export::read_csv(&results).unwrap();
    assert_eq!(rows.len(), fast + 1);
    assert!(rows.iter().all(|r| r.is_ok()));
    // Rows in plan order at the end (the external codec's first), the kept ones unchanged,
    // timing columns included.
    assert_eq!(rows[0].codec, "t");
    for line in before.lines().skip(1) {
        assert!(
            after.lines().any(|l| l == line),
            "row changed or lost: {line}"
        );
    }
    // The killed run's stray sleep and temp folder are gone.
    assert!(
        common::processes(&["sleep", "1011"]).is_empty(),
        "the killed run's sleep lives on"
    );
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    // A finished run is not resumed: the next run in the folder measures again.
    let o = run().output().unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("resuming"));
}
