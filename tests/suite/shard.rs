//! Sharding: `--shard K/N` runs a deterministic, cost-balanced share of the cells, and `merge`
//! of all shards gives exactly the unsharded results.csv (timing columns aside), a typed
//! run.json, and the crops the unsharded run would have saved.

use crate::common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use codecbench::record::CellRecord;
use codecbench::report::crops::{read_manifest, Manifest};
use codecbench::run_meta::read_run;

fn run(corpus: &Path, out: &Path, extra: &[&str]) {
    Command::cargo_bin("codecbench")
        .unwrap()
        .args(["run", "--quiet", "--no-cache", "--jobs", "2"])
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

/// `codecbench merge INPUTS --out OUT`, its outcome left to the caller to assert.
fn merge(inputs: &[PathBuf], out: &Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("codecbench")
        .unwrap()
        .arg("merge")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .assert()
}

/// The crops manifest of a run folder, and the bytes of every PNG it names.
fn crops(dir: &Path) -> (Manifest, Vec<Vec<u8>>) {
    let m = read_manifest(dir).unwrap().expect("crops/crops.json");
    let mut pngs = Vec::new();
    for img in &m.images {
        pngs.push(std::fs::read(dir.join("crops").join(&img.original)).unwrap());
        for c in &img.cells {
            pngs.push(std::fs::read(dir.join("crops").join(&c.file)).unwrap());
        }
    }
    (m, pngs)
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
    merge(
        &[d.join("s3"), d.join("s1/results.csv"), d.join("s2")],
        &out,
    )
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

    // run.json of the merge is a typed run.json: the plan of the shards, every cell counted.
    let merged = read_run(&out).unwrap();
    let s1 = read_run(&d.join("s1")).unwrap();
    assert_eq!(merged.shard, None);
    assert_eq!(s1.shard, Some([1, 3]));
    assert_eq!(
        merged.merged_from,
        [d.join("s3"), d.join("s1"), d.join("s2")]
    );
    assert_eq!((merged.cells_planned, merged.cells_done), (28, 28));
    assert_eq!(merged.cells_failed, 0);
    assert_eq!(merged.specs, s1.specs);
    assert_eq!(merged.corpus, s1.corpus);
    assert!(merged.timing.measured_s > 0.0);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("merged from"),
        "meta section names the shards"
    );

    // The shards' crops merged: the crops the unsharded run saved, PNGs copied alongside.
    let (m_all, png_all) = crops(&d.join("all"));
    let (m_merged, png_merged) = crops(&out);
    assert_eq!(m_all.images.len(), 4);
    assert!(m_all.images.iter().all(|i| i.cells.len() == 2));
    assert_eq!(m_merged, m_all);
    assert_eq!(png_merged, png_all);
    // Embedded in the viewer's data: each image's original, its two crops and their error maps.
    let embedded = |h: &str| h.matches("\"data:image/webp;base64,").count();
    let heat = m_all
        .images
        .iter()
        .flat_map(|i| &i.cells)
        .filter(|c| c.heatmap.is_some())
        .count();
    assert_eq!(
        embedded(&html),
        4 * 3 + heat,
        "original and two lossy crops per image"
    );
    let html_all = std::fs::read_to_string(d.join("all/report.html")).unwrap();
    assert_eq!(embedded(&html), embedded(&html_all));

    // The same shard twice gives the same cells (deterministic split).
    run(
        &corpus,
        &d.join("s1again"),
        &["--shard", "1/3", "--no-report"],
    );
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

    // A shard without crops (--no-report): merged with a warning naming it, the merged
    // manifest says so; with no crops anywhere the merge says the crops are absent.
    let assert = Command::cargo_bin("codecbench")
        .unwrap()
        .args(["merge", "--no-report"])
        .args([d.join("s1again"), d.join("s2"), d.join("s3")])
        .arg("--out")
        .arg(d.join("some-crops"))
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains(&format!("{}: no crops", d.join("s1again").display())),
        "{stderr}"
    );
    let (m, _) = crops(&d.join("some-crops"));
    assert!(
        m.notes.iter().any(|n| n.contains("s1again")),
        "{:?}",
        m.notes
    );
    merge(&[d.join("s1again"), d.join("s1again")], &d.join("no-crops"))
        .stderr(predicates::str::contains("crops are absent"));
    assert!(read_manifest(&d.join("no-crops")).unwrap().is_none());
    let html = std::fs::read_to_string(d.join("no-crops/report.html")).unwrap();
    assert!(html.contains("Crops are absent:"));

    // Runs of different plans are refused.
    run(
        &corpus,
        &d.join("other"),
        &["--codec", "identity", "--no-report"],
    );
    merge(&[d.join("s1"), d.join("other")], &d.join("bad"))
        .code(2)
        .stderr(predicates::str::contains("another corpus or sweep"));
    // An input that does not exist is named as it was given (not as its parent's run.json).
    let gone = d.join("no-such-shard");
    merge(&[d.join("s1"), gone.clone()], &d.join("bad"))
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{}: no such run folder or results.csv",
            gone.display()
        )));
    Command::cargo_bin("codecbench")
        .unwrap()
        .args(["run", "--shard", "4/3"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--shard 4/3"));
}

/// Issue 13 case 17: shards run with other `--metrics` or `--repeat` are not merged. Before:
/// merged into one results.csv without a word.
#[test]
fn shards_with_other_settings_are_not_merged() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    run(&corpus, &d.join("s1"), &["--shard", "1/2", "--no-report"]);
    for (name, extra, says) in [
        ("m2", &["--metrics", "ssim"][..], "with metrics psnr,ssim"),
        ("r2", &["--repeat", "2"][..], "with repeat count 2"),
    ] {
        let mut args = vec!["--shard", "2/2", "--no-report"];
        args.extend_from_slice(extra);
        run(&corpus, &d.join(name), &args);
        merge(
            &[d.join("s1"), d.join(name)],
            &d.join(format!("merged-{name}")),
        )
        .code(2)
        .stderr(predicates::str::contains(says));
    }
}

/// A sharded `--target` run: each shard gets whole curves (a search needs all of a curve's
/// swept cells), searches them and adds its own probes; `merge` takes every shard's probe rows
/// and targets.csv. The merge equals the unsharded run: the same rows (probes included, each
/// with the same bytes and scores) and the same targets.csv. Before: shards split curves, and
/// `merge` refused them ("made from another corpus or sweep": their probe specs differ). An
/// input that lost its targets.csv is merged with a warning naming it.
#[test]
fn merged_target_shards_equal_the_unsharded_search() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let target = ["--no-report", "--metrics", "psnr", "--target", "psnr=30,38"];
    run(&corpus, &d.join("all"), &target);
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let mut args = target.to_vec();
        args.extend(["--shard", &shard]);
        run(&corpus, &d.join(format!("s{k}")), &args);
    }
    let out = d.join("merged");
    let shards = [d.join("s1"), d.join("s2")];
    merge(&shards, &out).success();
    // Probe rows come in the order the searches found them: compare as sets.
    let sorted = |p: &Path| {
        let mut rows = common::without_timing(p);
        rows.sort();
        rows
    };
    let all = sorted(&d.join("all/results.csv"));
    assert!(
        all.len() > 4 * 7,
        "the search added probes: {} rows",
        all.len()
    );
    assert_eq!(sorted(&out.join("results.csv")), all);
    let targets = |p: &Path| std::fs::read_to_string(p.join("targets.csv")).unwrap();
    let expected = targets(&d.join("all"));
    assert!(expected.lines().count() > 1 + 4, "{expected}");
    assert_eq!(targets(&out), expected);
    // Each shard searched only the curves it ran, and together they searched them all.
    let searched = |k: usize| targets(&d.join(format!("s{k}"))).lines().count() - 1;
    assert!(searched(1) > 0 && searched(2) > 0);
    assert_eq!(searched(1) + searched(2), expected.lines().count() - 1);
    let merged = read_run(&out).unwrap();
    let s1 = read_run(&d.join("s1")).unwrap();
    assert_eq!(merged.swept_specs, 7);
    assert_eq!(merged.specs[..7], s1.specs[..7]);
    // An input without targets.csv (its file lost): the merge goes on with the others'
    // searches, and says which input had none.
    std::fs::remove_file(d.join("s2/targets.csv")).unwrap();
    let partial = d.join("merged-partial");
    let assert = merge(&shards, &partial).success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let s2 = d.join("s2").display().to_string();
    assert!(
        stderr.contains(&format!("{s2} had no targets.csv")),
        "{stderr}"
    );
    assert_eq!(targets(&partial), targets(&d.join("s1")));
    assert_eq!(sorted(&partial.join("results.csv")), all);
}

/// Issue 22 case 6: shards of another codecbench version, another machine or another codec
/// build are not merged silently: exit 2 naming the input and what differs, unless
/// --allow-mixed (then a warning); the merged run.json lists each input's provenance. Before:
/// merged, and run.json showed only the first shard's.
#[test]
fn shards_of_mixed_provenance_are_refused() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    run(&corpus, &d.join("s1"), &["--shard", "1/2", "--no-report"]);
    run(&corpus, &d.join("s2"), &["--shard", "2/2", "--no-report"]);
    let edit = |name: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let src = d.join("s2");
        let dst = d.join(name);
        std::fs::create_dir_all(&dst).unwrap();
        for e in std::fs::read_dir(&src).unwrap().flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
            }
        }
        let p = dst.join("run.json");
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
        dst
    };
    let other_version = edit("v", &|v| v["tool_version"] = "9.9.9".into());
    let other_machine = edit("m", &|v| v["cpu_model"] = "Other CPU".into());
    let other_codec = edit("c", &|v| {
        let codecs = v["codecs"].as_array_mut().unwrap();
        let jpeg = codecs.iter_mut().find(|c| c["name"] == "jpeg").unwrap();
        jpeg["version"] = "mozjpeg 4.1.5 (no SIMD)".into();
    });
    for (input, says) in [
        (&other_version, "another codecbench version"),
        (&other_machine, "another machine"),
        (&other_codec, "another codec"),
    ] {
        merge(&[d.join("s1"), input.clone()], &d.join("bad"))
            .code(2)
            .stderr(predicates::str::contains(input.display().to_string()))
            .stderr(predicates::str::contains(says))
            .stderr(predicates::str::contains("--allow-mixed"));
    }
    // Allowed on request, with a warning; run.json records both inputs' provenance.
    Command::cargo_bin("codecbench")
        .unwrap()
        .args(["merge", "--no-report", "--allow-mixed"])
        .arg(d.join("s1"))
        .arg(&other_machine)
        .arg("--out")
        .arg(d.join("mixed"))
        .assert()
        .success()
        .stderr(predicates::str::contains("merged with --allow-mixed"));
    let meta = read_run(&d.join("mixed")).unwrap();
    assert_eq!(meta.shards.len(), 2);
    assert!(
        meta.shards[1].machine.starts_with("Other CPU"),
        "{:?}",
        meta.shards
    );
    // Same provenance merges as before, and records it.
    merge(&[d.join("s1"), d.join("s2")], &d.join("ok")).success();
    let meta = read_run(&d.join("ok")).unwrap();
    assert_eq!(meta.shards.len(), 2);
    assert_eq!(meta.shards[0].codecs, meta.shards[1].codecs);
    assert!(!meta.build.is_empty());
}
