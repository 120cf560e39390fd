//! The cell cache: an unchanged re-run takes every cell from it, a changed option re-measures
//! only that codec's cells, corrupt entries are reported and re-measured, and two processes
//! can share one cache.

use crate::common;

use std::path::Path;
use std::process::{Command as Process, Stdio};

use assert_cmd::Command;
use codecbench::record::{CellRecord, TimingSource};

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
    // Same rows, timings included (kept from the run that measured them); only `cached` and
    // `timing_source` (measured here, then from this machine's and build's cache) differ.
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(
            (a.timing_source.as_str(), b.timing_source.as_str()),
            ("measured", "cache")
        );
        let b = CellRecord {
            cached: false,
            timing_source: a.timing_source,
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

/// Every entry file under `cache/cells/`, sorted.
fn entries(cache: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for shard in std::fs::read_dir(cache.join("cells")).unwrap() {
        for e in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// Issue 13 case 10: entries are checked against their key and a checksum. Before: an edited
/// number was served as cached, another cell's entry under a rewritten key was served (a
/// duplicate row), an error entry was served, and a folder in an entry's place broke writes.
#[test]
fn tampered_entries_are_not_served() {
    let (dir, corpus) = common::small_corpus();
    let cache = dir.path().join("cache");
    let (first, _, _) = run(&corpus, &cache, &dir.path().join("a"), &["jpeg:q=50"]);
    let files = entries(&cache);
    assert_eq!(files.len(), 4);
    let json = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    // 0: an edited number (the bytes column of the stored row).
    let mut e0 = json(&files[0]);
    let csv = e0["record_csv"].as_str().unwrap().to_string();
    let bytes = first
        .iter()
        .find(|r| csv.contains(&r.image_hash))
        .unwrap()
        .bytes
        .unwrap();
    e0["record_csv"] = csv
        .replace(&format!(",{bytes},"), &format!(",{},", bytes + 1))
        .into();
    std::fs::write(&files[0], e0.to_string()).unwrap();
    // 1: entry 2's content under entry 1's key (key fields rewritten, checksum kept).
    let mut e1 = json(&files[2]);
    e1["key"] = json(&files[1])["key"].clone();
    std::fs::write(&files[1], e1.to_string()).unwrap();
    // 2: an error row with a consistent checksum is still refused.
    let mut e2 = json(&files[2]);
    let csv = e2["record_csv"]
        .as_str()
        .unwrap()
        .replace(",ok,", ",error,");
    assert_ne!(csv, e2["record_csv"].as_str().unwrap());
    let key = e2["key"].as_str().unwrap().to_string();
    let sum = {
        let mut h = blake3::Hasher::new();
        h.update(b"codecbench-cache-entry\n");
        h.update(key.as_bytes());
        h.update(b"\n");
        h.update(csv.as_bytes());
        // Entries record the machine and build that measured them, under the checksum.
        for field in ["machine", "build"] {
            h.update(format!("\n{field} ").as_bytes());
            h.update(e2[field].as_str().unwrap().as_bytes());
        }
        h.finalize().to_hex().to_string()
    };
    e2["record_csv"] = csv.into();
    e2["checksum"] = sum.into();
    std::fs::write(&files[2], e2.to_string()).unwrap();
    // 3: a folder where the entry should be.
    std::fs::remove_file(&files[3]).unwrap();
    std::fs::create_dir_all(files[3].join("x")).unwrap();

    let (rows, meta, stderr) = run(&corpus, &cache, &dir.path().join("b"), &["jpeg:q=50"]);
    assert_eq!(meta["cells_cached"], 0, "{stderr}");
    for why in [
        "checksum does not match",
        "entry for another key",
        "error rows are never cached",
        "a folder where a cache entry should be",
    ] {
        assert!(stderr.contains(why), "{why}: {stderr}");
    }
    assert_eq!(rows.len(), 4);
    for (a, b) in first.iter().zip(&rows) {
        assert_eq!((&a.image, a.bytes, a.psnr), (&b.image, b.bytes, b.psnr));
    }
    // All four were written again, the folder replaced by an entry.
    assert!(files[3].is_file());
    let (_, meta, stderr) = run(&corpus, &cache, &dir.path().join("c"), &["jpeg:q=50"]);
    assert_eq!(meta["cells_cached"], 4, "{stderr}");
}

/// Issue 13 case 12: the metric set is one key in any order, and stale temporary files of
/// killed runs are removed from `cells/`. Before: `ssim,psnr-y` and `psnr-y,ssim` shared no
/// entry; `.tmp*` files stayed forever.
#[test]
fn metric_order_shares_entries_and_stale_temporaries_go() {
    let (dir, corpus) = common::small_corpus();
    let cache = dir.path().join("cache");
    let go = |out: &str, metrics: &str| -> serde_json::Value {
        let out = dir.path().join(out);
        Command::cargo_bin("codecbench")
            .unwrap()
            .args(["run", "--quiet", "--no-report", "--codec", "jpeg:q=50"])
            .args(["--metrics", metrics, "--corpus"])
            .arg(&corpus)
            .arg("--cache")
            .arg(&cache)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap()
    };
    assert_eq!(go("a", "ssim,psnr-y")["cells_cached"], 0);
    let shard = entries(&cache)[0].parent().unwrap().to_path_buf();
    let stale = shard.join(".tmpSTALE1");
    let fresh = shard.join(".tmpFRESH1");
    std::fs::write(&stale, b"").unwrap();
    std::fs::write(&fresh, b"").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(go("b", "psnr-y,ssim")["cells_cached"], 4);
    assert!(!stale.exists(), "a 2-hour-old temporary file is removed");
    assert!(
        fresh.exists(),
        "a new one may be another run's write in progress"
    );
}

/// Issue 13 case 11: the key ignored the build and the machine. Before: after rebuilding
/// mozjpeg with SIMD every cell came back with the old timings, and nothing in a row said its
/// times came from elsewhere. Codec builds are in the codec's version (part of the key: the
/// jpeg codec's says "SIMD" or "no SIMD"); each entry records the machine and codecbench
/// build that measured it, a hit from another one is marked in `timing_source`, and
/// `compare` judges no time on such rows.
#[test]
fn timings_from_another_machine_or_build_are_marked_and_not_judged() {
    use codecbench::baseline::{compare, Thresholds, Verdict};
    use codecbench::cache::{Cache, Lookup};

    let jpeg = common::parse_spec("jpeg:q=80");
    let version = jpeg[0].codec.version();
    assert!(
        version.contains("SIMD"),
        "the codec build is in the key: {version}"
    );
    let dir = tempfile::tempdir().unwrap();
    let here = Cache::open(dir.path()).unwrap();
    let (machine, build) = (
        codecbench::run_meta::this_machine(),
        codecbench::run_meta::this_build(),
    );
    let text = Cache::key_text("h1", &jpeg[0], "psnr", 1);
    let key = Cache::hash_key(&text);
    let rec = CellRecord {
        image: "x.png".into(),
        image_hash: "h1".into(),
        codec: "jpeg".into(),
        codec_version: version,
        spec: jpeg[0].spec(),
        encode_ms: Some(10.0),
        timing_source: TimingSource::Measured,
        ..Default::default()
    };
    let source = |writer: Cache| {
        writer.put(&text, &rec, 0.1).unwrap();
        match here.get(&key) {
            Lookup::Hit(r, _) => r.timing_source.as_str(),
            _ => panic!("expected a hit"),
        }
    };
    let open = || Cache::open(dir.path()).unwrap();
    assert_eq!(source(open()), "cache");
    assert_eq!(
        source(open().with_fingerprint("Other CPU (64 cores, linux x86_64)", &build)),
        "cache-other-machine"
    );
    assert_eq!(
        source(open().with_fingerprint(&machine, "codecbench 0.0.1 (debug)")),
        "cache-other-build"
    );
    // The machine is covered by the checksum: editing it to pass as local is caught.
    open()
        .with_fingerprint("Other CPU (64 cores, linux x86_64)", &build)
        .put(&text, &rec, 0.1)
        .unwrap();
    let path = entries(dir.path()).pop().unwrap();
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("Other CPU (64 cores, linux x86_64)", &machine);
    std::fs::write(&path, edited).unwrap();
    assert!(matches!(here.get(&key), Lookup::Corrupt(m) if m.contains("checksum")));

    // compare: NEW twice as slow in its rows. compare never judges the times rows carry,
    // measured here or served from a cache (issue 22: two runs' times flap); time is judged
    // only by re-measuring both sides interleaved (`compare --retime`, tests/compare.rs).
    let base: Vec<CellRecord> = (0..6)
        .map(|i| CellRecord {
            repeat: 5,
            image: format!("{i}.png"),
            image_hash: format!("h{i}"),
            codec: "jpeg".into(),
            curve: "jpeg".into(),
            spec: format!("jpeg:q={}", 20 + 20 * i),
            setting_key: "q".into(),
            setting: Some(20.0 + 20.0 * i as f64),
            bytes: Some(1000 + 500 * i as u64),
            bpp: Some(1.0 + i as f64),
            psnr: Some(30.0 + i as f64),
            encode_ms: Some(10.0),
            decode_ms: Some(5.0),
            encode_cpu_ms: Some(10.0),
            decode_cpu_ms: Some(5.0),
            timing_source: TimingSource::Measured,
            ..Default::default()
        })
        .collect();
    let slow: Vec<CellRecord> = base
        .iter()
        .map(|r| CellRecord {
            encode_ms: Some(20.0),
            encode_cpu_ms: Some(20.0),
            ..r.clone()
        })
        .collect();
    let th = Thresholds {
        max_slowdown: Some(10.0),
        ..Thresholds::default()
    };
    let c = compare(&base, &slow, &th);
    assert_eq!(c.curves[0].verdict, Verdict::Unchanged, "{c:?}");
    assert_eq!(c.curves[0].encode_time, None);
    for other in [
        TimingSource::CacheOtherMachine,
        TimingSource::CacheOtherBuild,
        TimingSource::CacheUnknown,
    ] {
        let elsewhere: Vec<CellRecord> = slow
            .iter()
            .map(|r| CellRecord {
                timing_source: other,
                cached: true,
                ..r.clone()
            })
            .collect();
        let c = compare(&base, &elsewhere, &th);
        assert_eq!(c.curves[0].verdict, Verdict::Unchanged, "{other:?}: {c:?}");
        assert_eq!(c.curves[0].encode_time, None, "{other:?}");
    }
    let same_machine: Vec<CellRecord> = slow
        .iter()
        .map(|r| CellRecord {
            timing_source: TimingSource::Cache,
            ..r.clone()
        })
        .collect();
    assert_eq!(
        compare(&base, &same_machine, &th).curves[0].verdict,
        Verdict::Unchanged
    );
}

/// The site's JPEG pipeline: cjpeg (libjpeg-turbo) behind `encode.sh`, at `percent` of the
/// setting's quality; `files` lists the script when `listed`.
fn site_pipeline(dir: &Path, percent: u32, listed: bool) -> std::path::PathBuf {
    std::fs::write(
        dir.join("encode.sh"),
        format!(
            "#!/bin/sh\nexec cjpeg -quality $(( $1 * {percent} / 100 )) -outfile \"$3\" \"$2\"\n"
        ),
    )
    .unwrap();
    let defs = dir.join("site.toml");
    std::fs::write(
        &defs,
        format!(
            r#"[[external]]
name = "sitejpeg"
extension = "jpg"
input = "ppm"
output = "ppm"
depth = 8
encode = ["sh", "{{defdir}}/encode.sh", "{{q}}", "{{input}}", "{{output}}"]
decode = ["djpeg", "-outfile", "{{output}}", "{{input}}"]
version = ["echo", "site pipeline 1"]
{}
params = [{{ key = "q", kind = "int", min = 1, max = 100, default = 80 }}]
"#,
            if listed {
                "files = [\"encode.sh\"]"
            } else {
                ""
            }
        ),
    )
    .unwrap();
    defs
}

/// Issue 22 case 3: the cache sees the pipeline. The script an external definition runs is
/// edited (85% of the quality); before, the re-run said "all cells taken from the cache" and
/// the gate passed. After: the script's content is in the cell key (listed in `files`, or named
/// as `{defdir}/...` in a command), NEW is measured again and the default gate fails; a run (and
/// a compare) served wholly from the cache says so.
#[test]
fn issue22_case3_an_edited_pipeline_script_is_measured_again() {
    for listed in [true, false] {
        let (dir, corpus) = common::small_corpus();
        let d = dir.path();
        let cache = d.join("cache");
        let pipe = d.join("pipe");
        std::fs::create_dir_all(&pipe).unwrap();
        let defs = site_pipeline(&pipe, 100, listed);
        let run = |out: &str, quiet: bool| {
            let mut cmd = Command::cargo_bin("codecbench").unwrap();
            cmd.args([
                "run",
                "--no-report",
                "--jobs",
                "2",
                "--metrics",
                "psnr,ssimulacra2",
            ])
            .arg("--corpus")
            .arg(&corpus)
            .arg("--cache")
            .arg(&cache)
            .arg("--external")
            .arg(&defs)
            .args(["--codec", "site=sitejpeg:q=70,85"])
            .arg("--out")
            .arg(d.join(out));
            if quiet {
                cmd.arg("--quiet");
            }
            let o = cmd.output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        };
        run("base", true);
        let again = run("again", false);
        assert!(
            again.contains("every cell (8) came from the cache"),
            "{again}"
        );
        let o = Command::cargo_bin("codecbench")
            .unwrap()
            .arg("compare")
            .arg(d.join("base"))
            .arg(d.join("again"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{text}");
        assert!(
            text.contains("every NEW cell (8) came from the cache"),
            "{text}"
        );

        site_pipeline(&pipe, 85, listed);
        run("new", true);
        let rows = common::csv_rows(&d.join("new/results.csv"));
        assert!(
            rows.iter().all(|r| r["cached"] == "false"),
            "listed {listed}: re-measured"
        );
        let o = Command::cargo_bin("codecbench")
            .unwrap()
            .arg("compare")
            .arg(d.join("base"))
            .arg(d.join("new"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{text}");
        assert!(
            text.lines()
                .last()
                .unwrap()
                .starts_with("verdict: REGRESSED (1 of 1 pipeline(s)): site:"),
            "{text}"
        );
    }
}

/// A listed file that is not there is an error naming the definition and the field.
#[test]
fn issue22_a_missing_listed_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let defs = site_pipeline(dir.path(), 100, true);
    std::fs::remove_file(dir.path().join("encode.sh")).unwrap();
    Command::cargo_bin("codecbench")
        .unwrap()
        .args(["codecs", "--external"])
        .arg(&defs)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("external[0].files[0]:"))
        .stderr(predicates::str::contains("encode.sh is not a file"));
}
