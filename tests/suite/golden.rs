//! Golden run: a fixed small sweep (every built-in codec, every metric; RGB, 8-bit gray,
//! 16-bit gray and RGBA sources) must give exactly the results.csv and summary.csv committed in
//! `tests/data/golden/`, timing columns aside. The files were written by the code before the
//! "open the core" refactor (plan, measurement step, metric table, codec registry), so any
//! change to a measured number, a column, a row or the row order shows up here.
//!
//! To accept an intended change of output, run with `CODECBENCH_BLESS=1` and commit the new
//! files together with the reason in the commit message.

use crate::common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const SPECS: &[&str] = &[
    "png:preset=1",
    "jpeg:q=30,80",
    "jpeg:q=60,subsampling=444,progressive=false",
    "webp:q=40,85",
    "webp-lossless:effort=50",
    "identity",
];

/// Columns whose values depend on the machine's speed, in summary.csv.
const SUMMARY_TIMING: &[&str] = &["encode_ms_total", "decode_ms_total"];

fn golden_dir() -> PathBuf {
    common::root().join("tests/data/golden")
}

/// The corpus: committed PNG files (made once by the bless run from the test helpers).
fn corpus() -> PathBuf {
    let dir = golden_dir().join("corpus");
    if std::env::var_os("CODECBENCH_BLESS").is_some() && !dir.is_dir() {
        std::fs::create_dir_all(&dir).unwrap();
        common::write_png(
            &common::textured_u8(176, 168, 3, 11),
            &dir.join("photo.png"),
        );
        common::write_png(&common::textured_u8(40, 36, 1, 12), &dir.join("gray8.png"));
        common::write_png(&common::textured_u16(48, 40, 13), &dir.join("ct16.png"));
        common::write_png(&common::textured_u8(37, 29, 4, 14), &dir.join("alpha.png"));
    }
    dir
}

fn assert_same(expected: &Path, got: &Path, blank: &[&str]) {
    let (eh, er) = common::rows_without(expected, blank);
    let (gh, gr) = common::rows_without(got, blank);
    assert_eq!(
        gh,
        eh,
        "{}: columns differ from the golden file",
        got.display()
    );
    assert_eq!(gr.len(), er.len(), "{}: row count", got.display());
    for (i, (g, e)) in gr.iter().zip(&er).enumerate() {
        for ((gv, ev), h) in g.iter().zip(e).zip(&eh) {
            assert_eq!(
                gv,
                ev,
                "{} row {} ({} {}), column {h}",
                got.display(),
                i + 1,
                e[0],
                e[10]
            );
        }
    }
}

#[test]
fn fixed_sweep_matches_the_committed_results() {
    let corpus = corpus();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut cmd = Command::cargo_bin("codecbench").unwrap();
    cmd.args(["run", "--quiet", "--no-cache", "--no-report", "--jobs", "2"])
        .args(["--metrics", "psnr,psnr-y,ssim,ms-ssim,ssimulacra2"])
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out);
    for s in SPECS {
        cmd.args(["--codec", s]);
    }
    cmd.assert().success();

    let golden = golden_dir();
    if std::env::var_os("CODECBENCH_BLESS").is_some() {
        for f in ["results.csv", "summary.csv"] {
            std::fs::copy(out.join(f), golden.join(f)).unwrap();
        }
        return;
    }
    use codecbench::record::TIMING_COLUMNS;
    assert_same(
        &golden.join("results.csv"),
        &out.join("results.csv"),
        TIMING_COLUMNS,
    );
    assert_same(
        &golden.join("summary.csv"),
        &out.join("summary.csv"),
        SUMMARY_TIMING,
    );
}
