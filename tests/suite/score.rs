//! `codecbench score` and the perceptual columns of a sweep, checked against the reference
//! values in tests/data/reference (scikit-image for PSNR/SSIM, C++ SSIMULACRA 2.1).

use crate::common;

use assert_cmd::Command;
use codecbench::record::CellRecord;

fn codecbench() -> Command {
    Command::cargo_bin("codecbench").unwrap()
}

#[test]
fn score_matches_the_reference_values() {
    let root = common::root();
    let pairs = root.join("tests/data/reference/pairs");
    let out = codecbench()
        .arg("score")
        .arg(root.join("corpus/chelsea.png"))
        .arg(pairs.join("chelsea__gaussian_noise_sigma10_seed42.png"))
        .arg(pairs.join("chelsea__blur_binomial5x5.png"))
        .arg(root.join("corpus/chelsea.png"))
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // reference.csv, rows "pair chelsea.png gaussian_noise_sigma10_seed42" and
    // "blur_binomial5x5": sk_psnr, sk_ssim, ssimulacra2_cpp.
    let expect = [(28.137171, 0.6488, 53.411), (33.315014, 0.8927, 61.343)];
    for (row, (psnr, ssim, s2)) in rows.as_array().unwrap().iter().zip(expect) {
        // PSNR printed by the reference to 6 decimals here (the full check is tests/reference.rs).
        assert!((row["psnr"].as_f64().unwrap() - psnr).abs() < 1e-5, "{row}");
        // SSIM quoted to 4 decimals above; tests/perceptual.rs checks 1e-6 on the full values.
        assert!((row["ssim"].as_f64().unwrap() - ssim).abs() < 1e-4, "{row}");
        // The project's SSIMULACRA2 bound against the C++ reference.
        assert!(
            (row["ssimulacra2"].as_f64().unwrap() - s2).abs() < 0.25,
            "{row}"
        );
        assert!(row["ms_ssim"].as_f64().unwrap() > 0.5);
        assert_eq!(row["channels_compared"], "RGB");
    }
    let same = &rows[2];
    assert_eq!(same["identical"], true);
    assert!(same["psnr"].is_null());
    assert_eq!(same["ssim"], 1.0);
    assert_eq!(same["ssimulacra2"], 100.0);
}

#[test]
fn score_rejects_what_it_cannot_compare_and_names_the_file() {
    let root = common::root();
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.png");
    common::write_png(&common::textured_u8(20, 10, 3, 1), &small);
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"not a png").unwrap();
    let out = codecbench()
        .arg("score")
        .arg(root.join("corpus/chelsea.png"))
        .arg(&small)
        .arg(&junk)
        .arg(root.join("tests/data/reference/pairs/chelsea__blur_binomial5x5.png"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("small.png: 20x10 does not match the original"),
        "{stderr}"
    );
    assert!(
        stderr.contains("junk.png: not a recognised image"),
        "{stderr}"
    );
    // The good file is still scored.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("chelsea__blur_binomial5x5.png\tRGB\t"),
        "{stdout}"
    );
    // Same size, but gray against colour: refused rather than mixing colour into gray.
    codecbench()
        .arg("score")
        .arg(root.join("corpus/astronaut.png"))
        .arg(root.join("corpus/camera.png"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "camera.png: L8 cannot be compared with the original's RGB8",
        ));

    // Too small for SSIM: a value for PSNR and SSIMULACRA2, a note for SSIM.
    let tiny = root.join("tests/data/reference/pairs");
    let out = codecbench()
        .arg("score")
        .arg(tiny.join("tiny_8x8_ref.png"))
        .arg(tiny.join("tiny_8x8_dist.png"))
        .arg("--json")
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows[0]["ssim"].is_null());
    assert!(
        rows[0]["notes"].as_str().unwrap().contains("ssim:"),
        "{}",
        rows[0]
    );
    assert!(rows[0]["ssimulacra2"].as_f64().is_some());
    codecbench()
        .args(["score", "a.png", "b.png", "--metrics", "vmaf"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown metric \"vmaf\""));
}

#[test]
fn sweep_rows_carry_the_selected_metrics() {
    let (dir, corpus) = common::small_corpus();
    let tiny = corpus.join("tiny.png");
    common::write_png(&common::textured_u8(9, 9, 3, 7), &tiny);
    let run = |metrics: &str, out: &str| -> Vec<CellRecord> {
        codecbench()
            .args([
                "run",
                "--quiet",
                "--no-cache",
                "--no-report",
                "--codec",
                "jpeg:q=60",
                "--codec",
                "png:preset=0",
            ])
            .args(["--metrics", metrics, "--corpus"])
            .arg(&corpus)
            .arg("--out")
            .arg(dir.path().join(out))
            .assert()
            .success();
        codecbench::export::read_csv(&dir.path().join(out).join("results.csv")).unwrap()
    };
    let rows = run("psnr,psnr-y,ssim,ms-ssim,ssimulacra2", "all");
    for r in &rows {
        if r.image == "tiny.png" {
            assert!(
                r.ssim.is_none() && r.metric_notes.contains("ssim:"),
                "{r:?}"
            );
            assert!(r.ssimulacra2.is_some(), "9x9 is enough for SSIMULACRA2");
            continue;
        }
        let (ssim, s2, y) = (r.ssim.unwrap(), r.ssimulacra2.unwrap(), r.psnr_y.unwrap());
        if r.codec == "png" {
            assert_eq!((ssim, s2), (1.0, 100.0), "{r:?}");
            assert!(y.is_infinite());
        } else {
            assert!(
                ssim > 0.0 && ssim < 1.0 && s2 < 100.0 && y.is_finite(),
                "{r:?}"
            );
        }
        // MS-SSIM needs more than 160 pixels a side: none of these images has it.
        assert!(
            r.ms_ssim.is_none() && r.metric_notes.contains("ms-ssim:"),
            "{r:?}"
        );
    }
    let rows = run("psnr", "psnr-only");
    assert!(rows
        .iter()
        .all(|r| r.ssim.is_none() && r.ssimulacra2.is_none() && r.psnr.is_some()));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("psnr-only/run.json")).unwrap())
            .unwrap();
    assert_eq!(meta["metrics"], "psnr");
}
