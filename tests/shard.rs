//! Sharding: `--shard K/N` runs a deterministic, cost-balanced share of the cells, and `merge`
//! of all shards gives exactly the unsharded results.csv (timing columns aside).

mod common;

use std::path::Path;

use assert_cmd::Command;
use codecbench::record::CellRecord;

fn run(corpus: &Path, out: &Path, extra: &[&str]) {
    Command::cargo_bin("codecbench")
        .unwrap()
        .args(["run", "--quiet", "--no-cache", "--no-report", "--jobs", "2"])
        .args([
            "--codec",
            "png:preset=0",
            "--codec",
            "jpeg:q=30..90:20",
            "--codec",
            "webp:q=50,80",
        ])
        .arg("--corpus")
        .arg(corpus)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    run(&corpus, &d.join("all"), &[]);
    for k in 1..=3 {
        run(
            &corpus,
            &d.join(format!("s{k}")),
            &["--shard", &format!("{k}/3")],
        );
    }
    let sizes: Vec<usize> = (1..=3)
        .map(|k| {
            codecbench::export::read_csv::<CellRecord>(&d.join(format!("s{k}/results.csv")))
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(
        sizes.iter().sum::<usize>(),
        4 * 7,
        "every cell in exactly one shard: {sizes:?}"
    );
    assert!(sizes.iter().all(|&n| n >= 4), "balanced: {sizes:?}");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("s2/run.json")).unwrap()).unwrap();
    assert_eq!(meta["shard"], serde_json::json!([2, 3]));
    assert_eq!(meta["cells_total"], 28);

    // Shards given in any order merge to the same thing.
    let out = d.join("merged");
    Command::cargo_bin("codecbench")
        .unwrap()
        .arg("merge")
        .args([d.join("s3"), d.join("s1/results.csv"), d.join("s2")])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        common::without_timing(&out.join("results.csv")),
        common::without_timing(&d.join("all/results.csv"))
    );
    assert!(out.join("report.html").exists());
    let summary_all: Vec<codecbench::analysis::summary::SummaryRow> =
        codecbench::export::read_csv(&d.join("all/summary.csv")).unwrap();
    let summary_merged: Vec<codecbench::analysis::summary::SummaryRow> =
        codecbench::export::read_csv(&out.join("summary.csv")).unwrap();
    assert_eq!(
        summary_all
            .iter()
            .map(|s| (&s.spec, s.total_bytes, s.psnr_of_pooled_mse))
            .collect::<Vec<_>>(),
        summary_merged
            .iter()
            .map(|s| (&s.spec, s.total_bytes, s.psnr_of_pooled_mse))
            .collect::<Vec<_>>()
    );

    // The same shard twice gives the same cells (deterministic split).
    run(&corpus, &d.join("s1again"), &["--shard", "1/3"]);
    assert_eq!(
        common::without_timing(&d.join("s1/results.csv")),
        common::without_timing(&d.join("s1again/results.csv"))
    );

    // A missing shard: merged what there is, said what is missing, exit 1.
    Command::cargo_bin("codecbench")
        .unwrap()
        .args(["merge", "--no-report"])
        .args([d.join("s1"), d.join("s2")])
        .arg("--out")
        .arg(d.join("partial"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!(
            "{} cell(s) of the plan are in none of the inputs",
            sizes[2]
        )));

    // Runs of different plans are refused.
    run(&corpus, &d.join("other"), &["--codec", "identity"]);
    Command::cargo_bin("codecbench")
        .unwrap()
        .arg("merge")
        .args([d.join("s1"), d.join("other")])
        .arg("--out")
        .arg(d.join("bad"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("another corpus or sweep"));
    Command::cargo_bin("codecbench")
        .unwrap()
        .args(["run", "--shard", "4/3"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--shard 4/3"));
}
