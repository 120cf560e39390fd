//! End to end through the binary: a small corpus in, every output file parsed and checked.

use crate::common;

use std::path::Path;

use assert_cmd::Command;
use codecbench::analysis::summary::SummaryRow;
use codecbench::record::CellRecord;

fn codecbench() -> Command {
    Command::cargo_bin("codecbench").unwrap()
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    codecbench::export::read_csv(path).unwrap()
}

const SPECS: &[&str] = &[
    "png",
    "jpeg:q=50,90",
    "webp:q=60",
    "webp-lossless",
    "identity",
];

fn run_small(corpus: &Path, out: &Path, jobs: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = codecbench();
    cmd.args(["run", "--quiet", "--no-cache", "--jobs", jobs, "--corpus"])
        .arg(corpus)
        .arg("--out")
        .arg(out);
    for s in SPECS {
        cmd.args(["--codec", s]);
    }
    cmd.args(extra).assert()
}

#[test]
fn small_corpus_end_to_end() {
    let (dir, corpus) = common::small_corpus();
    let out = dir.path().join("run");
    let assert = run_small(&corpus, &out, "2", &["--save-encoded"]).success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("parallel efficiency"), "{stdout}");
    assert!(
        stdout.contains("jpeg:subsampling=420,progressive=true,arithmetic=false"),
        "{stdout}"
    );
    for f in ["results.csv", "summary.csv", "run.json"] {
        assert!(
            stdout.contains(&format!("wrote {}", out.join(f).display())),
            "{stdout}"
        );
    }

    // results.csv: 4 images x 6 configurations, image-major in sorted id order.
    let rows: Vec<CellRecord> = read(&out.join("results.csv"));
    assert_eq!(rows.len(), 4 * 6);
    let ids: Vec<&str> = rows.iter().step_by(6).map(|r| r.image.as_str()).collect();
    assert_eq!(ids, ["gray16.png", "gray8.png", "rgb.png", "sub/alpha.png"]);
    let header = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let header = header.lines().next().unwrap();
    for col in [
        "image",
        "image_hash",
        "codec_version",
        "setting",
        "options",
        "status",
        "bytes",
        "raw_bytes",
        "compression_ratio",
        "bpp",
        "mse",
        "psnr",
        "psnr_c0",
        "encode_ms",
        "decode_ms",
    ] {
        assert!(header.split(',').any(|c| c == col), "missing column {col}");
    }
    for r in &rows {
        assert_eq!(r.status.as_str(), "ok", "{r:?}");
        let bytes = r.bytes.unwrap();
        let pixels = (r.width * r.height) as f64;
        assert_eq!(r.bpp.unwrap(), 8.0 * bytes as f64 / pixels);
        assert_eq!(
            r.raw_bytes,
            (r.width * r.height) as u64 * r.channels as u64 * (r.bit_depth as u64 / 8)
        );
        assert_eq!(
            r.compression_ratio.unwrap(),
            r.raw_bytes as f64 / bytes as f64
        );
        assert!(r.encode_ms.unwrap() >= 0.0 && r.decode_ms.unwrap() >= 0.0);
        assert_eq!(r.peak, (1u32 << r.bit_depth) - 1);
        // The saved file is the measured one.
        let saved = out.join(&r.encoded_file);
        assert_eq!(
            std::fs::metadata(&saved).unwrap().len(),
            bytes,
            "{}",
            saved.display()
        );
        if r.lossless {
            assert_eq!(r.roundtrip_exact, Some(true));
        }
    }
    let cell = |image: &str, codec: &str| {
        rows.iter()
            .find(|r| r.image == image && r.codec == codec)
            .unwrap()
    };
    // Policies visible in the rows.
    let g = cell("gray16.png", "webp");
    assert_eq!(
        (g.codec_input.as_str(), g.channels_compared.as_str()),
        ("RGB8", "L->RGB")
    );
    assert!(g.conversion.contains("16->8 bit"), "{}", g.conversion);
    assert_eq!(g.peak, 65535);
    let g = cell("gray16.png", "webp-lossless");
    assert!(
        g.psnr.unwrap().is_finite(),
        "16->8 bit reduction is distortion"
    );
    let g = cell("gray16.png", "png");
    assert_eq!(
        (g.psnr, g.conversion.as_str()),
        (Some(f64::INFINITY), "none")
    );
    let a = cell("sub/alpha.png", "jpeg");
    assert_eq!(
        (a.channels_compared.as_str(), a.conversion.as_str()),
        ("RGB", "alpha dropped")
    );
    assert!(a.psnr_c3.is_none());
    let a = cell("sub/alpha.png", "webp");
    assert_eq!(a.channels_compared, "RGBA");
    assert!(a.psnr_c3.is_some());
    let j = cell("gray8.png", "jpeg");
    assert_eq!(
        (j.codec_input.as_str(), j.channels_compared.as_str()),
        ("L8", "L")
    );
    // Per-channel MSEs average to the joint MSE.
    let r = cell("rgb.png", "jpeg");
    let mean = (r.mse_c0.unwrap() + r.mse_c1.unwrap() + r.mse_c2.unwrap()) / 3.0;
    assert!((mean - r.mse.unwrap()).abs() < 1e-9);

    // summary.csv: one row per configuration.
    let summary: Vec<SummaryRow> = read(&out.join("summary.csv"));
    assert_eq!(summary.len(), 6);
    let q50 = summary
        .iter()
        .find(|s| s.spec.starts_with("jpeg:q=50"))
        .unwrap();
    assert_eq!((q50.images, q50.errors), (4, 0));
    let jpeg50: Vec<&CellRecord> = rows.iter().filter(|r| r.spec == q50.spec).collect();
    assert_eq!(
        q50.total_bytes,
        jpeg50.iter().map(|r| r.bytes.unwrap()).sum::<u64>()
    );

    // run.json: metadata a reader needs to trust the numbers.
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(meta["jobs"], 2);
    assert_eq!(meta["cells_total"], 24);
    assert_eq!(meta["corpus"].as_array().unwrap().len(), 4);
    assert_eq!(meta["corpus"][0]["hash"].as_str().unwrap().len(), 32);
    let codecs = meta["codecs"].as_array().unwrap();
    assert!(codecs
        .iter()
        .any(|c| c["version"].as_str().unwrap().starts_with("libwebp 1.")));
    assert!(codecs.iter().any(
        |c| c["version"].as_str().unwrap().starts_with("mozjpeg v4 (")
            && c["version"].as_str().unwrap().contains("SIMD)")
    ));
    assert!(meta["timing"]["efficiency"].as_f64().unwrap() > 0.0);
    assert!(meta["cpu_model"].as_str().is_some());
    assert!(meta["started"].as_str().unwrap() <= meta["finished"].as_str().unwrap());
}

#[test]
fn results_are_identical_for_one_and_two_jobs() {
    let (dir, corpus) = common::small_corpus();
    let (a, b) = (dir.path().join("j1"), dir.path().join("j2"));
    run_small(&corpus, &a, "1", &[]).success();
    run_small(&corpus, &b, "2", &["--repeat", "3"]).success();
    let (ra, rb) = (
        common::without_timing(&a.join("results.csv")),
        common::without_timing(&b.join("results.csv")),
    );
    assert_eq!(ra.len(), 24);
    // Only timing columns (and `repeat`) may differ.
    let repeat_col = {
        let mut r = csv::Reader::from_path(a.join("results.csv")).unwrap();
        r.headers()
            .unwrap()
            .iter()
            .position(|h| h == "repeat")
            .unwrap()
    };
    for (x, y) in ra.iter().zip(&rb) {
        for (i, (u, v)) in x.iter().zip(y).enumerate() {
            if i != repeat_col {
                assert_eq!(u, v, "column {i} differs between --jobs 1 and --jobs 2");
            }
        }
    }
}

#[test]
fn invalid_specs_are_rejected_before_any_work() {
    let (dir, corpus) = common::small_corpus();
    let out = dir.path().join("never");
    let assert = codecbench()
        .args(["run", "--corpus"])
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .args([
            "--codec",
            "png",
            "--codec",
            "jpeg:q=0",
            "--codec",
            "webp:speed=3",
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("invalid codec spec \"jpeg:q=0\": q=0 is outside 1..100"),
        "{stderr}"
    );
    assert!(
        stderr.contains("jpeg keys: q 1..100 (setting, default 75)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("invalid codec spec \"webp:speed=3\": unknown key \"speed\""),
        "{stderr}"
    );
    assert!(!out.exists(), "no run folder for a rejected sweep");

    let sweep = dir.path().join("bad.toml");
    std::fs::write(&sweep, "[[codec]]\nname = \"jpeg\"\nq = 500\n").unwrap();
    let assert = codecbench()
        .args(["run", "--corpus"])
        .arg(&corpus)
        .arg("--sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("q=500 is outside 1..100"), "{stderr}");
    // The message names the flag, the file and the table, as one chain.
    assert!(
        stderr.contains(&format!(
            "--sweep: {}: codec[0] (name = \"jpeg\"): q = 500: q=500 is outside 1..100",
            sweep.display()
        )),
        "{stderr}"
    );

    codecbench().args(["run", "--jobs", "0"]).assert().code(2);
    codecbench().args(["run", "--repeat", "0"]).assert().code(2);
}

#[test]
fn sweep_file_drives_the_run() {
    let (dir, corpus) = common::small_corpus();
    let sweep = dir.path().join("sweep.toml");
    std::fs::write(
        &sweep,
        "codec = [\"jpeg:q=40..60:20,subsampling=444\", { name = \"png\", preset = [0, 1] }]\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    codecbench()
        .args(["run", "--quiet", "--no-cache", "--corpus"])
        .arg(&corpus)
        .arg("--sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let summary: Vec<SummaryRow> = read(&out.join("summary.csv"));
    let specs: Vec<&str> = summary.iter().map(|s| s.spec.as_str()).collect();
    assert_eq!(
        specs,
        [
            "jpeg:q=40,subsampling=444,progressive=true,arithmetic=false",
            "jpeg:q=60,subsampling=444,progressive=true,arithmetic=false",
            "png:preset=0,zopfli=false",
            "png:preset=1,zopfli=false"
        ]
    );
}

#[test]
fn progress_lines_when_not_a_terminal_and_codecs_listing() {
    let (dir, corpus) = common::small_corpus();
    let assert = codecbench()
        .args(["run", "--no-cache", "--codec", "identity", "--corpus"])
        .arg(&corpus)
        .arg("--out")
        .arg(dir.path().join("run"))
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("codecbench: 4/4 cells (100%)"), "{stderr}");
    assert!(stderr.contains("all cells measured; writing"), "{stderr}");

    // --quiet: no progress and no routine notices (a file without an image extension
    // ignored), but a file that cannot be measured is still named, with the flag that fixes it.
    std::fs::write(corpus.join("notes.txt"), "not an image").unwrap();
    common::write_png(
        &common::textured_u8(300, 200, 1, 2),
        &corpus.join("big.png"),
    );
    let assert = codecbench()
        .args(["run", "--quiet", "--no-cache", "--codec", "identity"])
        .args(["--max-pixels", "10000", "--corpus"])
        .arg(&corpus)
        .arg("--out")
        .arg(dir.path().join("quiet"))
        .assert()
        .code(1);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    for routine in ["cells (", "ignored", "writing"] {
        assert!(!stderr.contains(routine), "{routine}: {stderr}");
    }
    let big = stderr
        .lines()
        .find(|l| l.contains("big.png: 300x200 is 0.1 MP, above"));
    assert!(
        big.is_some_and(|l| l.ends_with("; raise --max-pixels to include it; skipped")),
        "{stderr}"
    );

    let assert = codecbench().arg("codecs").assert().success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for name in ["png", "jpeg", "webp", "webp-lossless", "identity"] {
        assert!(stdout.lines().any(|l| l.starts_with(name)), "{stdout}");
    }
    assert!(stdout.contains("decoder: mozjpeg-sys"), "{stdout}");
}

#[test]
fn flags_are_named_in_errors_that_a_flag_fixes() {
    let (dir, corpus) = common::small_corpus();
    let out = dir.path().join("run");
    run_small(&corpus, &out, "2", &["--no-report"]).success();
    let assert = codecbench()
        .args(["report", "--anchor", "nope"])
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("--anchor: no lossy codec configuration named \"nope\" (have: jpeg:"),
        "{stderr}"
    );
    let assert = codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--metrics",
            "ssim,vmaf",
            "--corpus",
        ])
        .arg(&corpus)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("--metrics ssim,vmaf: unknown metric \"vmaf\""),
        "{stderr}"
    );
}

/// Issue 13 case 13: default run folders are unique, a failed run leaves no empty folder, and
/// replacing an existing run says so. Before: two runs in the same second shared
/// `reports/<timestamp>/`, a failed run left an empty folder, replacing was silent.
#[test]
fn run_folders_are_unique_and_failed_runs_leave_none() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_codecbench"))
            .current_dir(d)
            .args(["run", "--quiet", "--no-cache", "--no-report"])
            .args(["--codec", "png:preset=0", "--corpus"])
            .arg(&corpus)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let (a, b, c) = (spawn(), spawn(), spawn());
    for child in [a, b, c] {
        assert_eq!(child.wait_with_output().unwrap().status.code(), Some(0));
    }
    let folders: Vec<_> = std::fs::read_dir(d.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 3, "{folders:?}");
    for f in &folders {
        let rows: Vec<CellRecord> = read(&f.join("results.csv"));
        assert_eq!(rows.len(), 4, "{}: one run's rows only", f.display());
    }
    // A run that cannot start leaves no empty folder behind.
    codecbench()
        .current_dir(d)
        .args(["run", "--quiet", "--no-cache", "--corpus", "/nonexistent/x"])
        .assert()
        .code(2);
    assert_eq!(std::fs::read_dir(d.join("reports")).unwrap().count(), 3);
    // An explicit --out holding a run: replaced, with a warning.
    run_small(&corpus, &folders[0], "1", &["--no-report"])
        .success()
        .stderr(predicates::str::contains("already holds a run"));
}

/// Issue 13 case 15: a report that cannot be written (full disk, or here a folder where
/// report.html goes) is an error and exit 1. Before: a warning and exit 0.
#[test]
fn a_report_that_cannot_be_written_fails_the_run() {
    let (dir, corpus) = common::small_corpus();
    let out = dir.path().join("run");
    std::fs::create_dir_all(out.join("report.html/x")).unwrap();
    run_small(&corpus, &out, "1", &[])
        .code(1)
        .stderr(predicates::str::contains("report not written"));
    // The measurements are on disk all the same.
    let rows: Vec<CellRecord> = read(&out.join("results.csv"));
    assert!(!rows.is_empty());
}

/// Issue 13 cases 18-20: the README's test command is the one CI runs and reuses the release
/// build; CI installs a C compiler and `kill` and shows apt's output when it fails; the build
/// script warns when nasm is missing. Before: README and CI ran `cargo test` (a second full
/// profile), apt's output went to /dev/null, build-essential/procps were assumed, and a build
/// without nasm was silent.
#[test]
fn readme_test_command_is_what_ci_runs_on_a_fresh_machine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let readme_cmd = readme
        .lines()
        .find(|l| l.starts_with("cargo test"))
        .and_then(|l| l.split('#').next())
        .unwrap()
        .trim();
    assert_eq!(readme_cmd, "cargo test --release");
    let ci_cmd = ci
        .lines()
        .rfind(|l| l.starts_with("cargo test"))
        .unwrap()
        .trim();
    assert_eq!(ci_cmd, readme_cmd, "CI runs the README's command");
    for pkg in ["need+=(build-essential)", "need+=(procps)", "need+=(nasm)"] {
        assert!(ci.contains(pkg), "{pkg} missing from .ci/run");
    }
    let install = ci.lines().find(|l| l.contains("apt-get install")).unwrap();
    assert!(
        !install.contains("/dev/null"),
        "apt output hidden: {install}"
    );
    assert!(
        ci.contains("cat \"$apt_log\""),
        "apt's log is shown on failure"
    );
    let build = std::fs::read_to_string(root.join("build.rs")).unwrap();
    assert!(build.contains("cargo:warning=nasm not found on PATH"));
}
