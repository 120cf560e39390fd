//! The answer checked the way a user would: run the web preset on a small corpus of real
//! photographs (the repository's corpus), then encode every image again at each recommended
//! uniform spec with `codecbench run --codec SPEC` and compare with the claim in
//! recommendation.json: the total bytes exactly, and the target met on the claimed images.

use crate::common;

use std::path::Path;

use serde_json::Value;

fn codecbench() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("codecbench").unwrap()
}

/// Three photographs of the bundled corpus (grey and colour), in a folder of their own.
fn corpus(dir: &Path) -> std::path::PathBuf {
    let c = dir.join("photos");
    std::fs::create_dir_all(&c).unwrap();
    for f in ["camera.png", "chelsea.png", "coffee.png"] {
        std::fs::copy(common::root().join("corpus").join(f), c.join(f)).unwrap();
    }
    c
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn the_recommended_uniform_spec_reproduces_its_bytes_and_meets_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let photos = corpus(dir.path());
    let run = dir.path().join("run");
    let chosen = dir.path().join("chosen");
    let out = codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--jobs",
            "2",
            "--preset",
            "web",
        ])
        .arg("--corpus")
        .arg(&photos)
        .arg("--out")
        .arg(&run)
        .arg("--write-chosen")
        .arg(&chosen)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The card is printed on the console and heads summary.md and report.html.
    assert!(stdout.contains("Answer:\nUse "), "{stdout}");
    let md = std::fs::read_to_string(run.join("summary.md")).unwrap();
    let first_section = md.find("## ").unwrap();
    assert!(md[first_section..].starts_with("## Answer"), "{md}");
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.find("id=\"answer\"").unwrap() < html.find("id=\"run\"").unwrap());

    let rec = read_json(&run.join("recommendation.json"));
    // The documented fields (README, "recommendation.json").
    for k in [
        "preset",
        "metric",
        "coverage_pct",
        "bootstrap_seed",
        "images",
        "targets",
    ] {
        assert!(rec.get(k).is_some(), "{k} missing");
    }
    assert_eq!(rec["preset"], "web");
    assert_eq!(rec["images"], 3);
    let targets = rec["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3);
    let mut checked = 0;
    for t in targets {
        let level = t["target"].as_f64().unwrap();
        let configs = t["configs"].as_array().unwrap();
        for c in configs {
            for k in [
                "spec",
                "total_bytes",
                "images_met",
                "images",
                "vs_anchor_pct",
                "ci95_pct",
                "delivery",
                "per_image",
                "recommended",
            ] {
                assert!(c.get(k).is_some(), "{k} missing in {c}");
            }
        }
        let Some(r) = configs.iter().find(|c| c["recommended"] == true) else {
            continue;
        };
        // Only a configuration every major browser decodes is recommended for the web.
        assert_eq!(r["delivery"]["all_major"], true, "{r}");
        let spec = r["spec"].as_str().unwrap();
        let again = dir.path().join(format!("again-{level}"));
        codecbench()
            .args(["run", "--quiet", "--no-cache", "--no-report", "--jobs", "2"])
            .args(["--metrics", "psnr,ssimulacra2", "--codec", spec])
            .arg("--corpus")
            .arg(&photos)
            .arg("--out")
            .arg(&again)
            .assert()
            .success();
        let mut rows = csv::Reader::from_path(again.join("results.csv")).unwrap();
        let headers = rows.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (bytes_col, q_col) = (col("bytes"), col("ssimulacra2"));
        let (mut total, mut met, mut n) = (0u64, 0, 0);
        for row in rows.records() {
            let row = row.unwrap();
            total += row[bytes_col].parse::<u64>().unwrap();
            met += (row[q_col].parse::<f64>().unwrap() >= level) as u64;
            n += 1;
        }
        assert_eq!(n, 3);
        assert_eq!(
            total,
            r["total_bytes"].as_u64().unwrap(),
            "{spec} at {level}"
        );
        assert_eq!(met, r["images_met"].as_u64().unwrap(), "{spec} at {level}");
        // The coverage default is every image.
        assert_eq!(met, 3);
        checked += 1;
    }
    assert!(checked >= 2, "fewer than two targets had a recommendation");

    // --write-chosen: one file per image and target, as claimed.
    let manifest = std::fs::read_to_string(chosen.join("manifest.csv")).unwrap();
    let lines: Vec<&str> = manifest.lines().skip(1).collect();
    assert_eq!(lines.len(), 3 * checked, "{manifest}");
    assert!(
        lines.iter().all(|l| l.ends_with(",true,true")),
        "{manifest}"
    );

    // Remaking the report gives the same answer (the bootstrap is seeded).
    let before = std::fs::read_to_string(run.join("recommendation.json")).unwrap();
    codecbench().arg("report").arg(&run).assert().success();
    let after = std::fs::read_to_string(run.join("recommendation.json")).unwrap();
    assert_eq!(before, after);
}
