//! Memory and CPU accounting: the counting allocator's per-thread peak, and the per-cell CPU
//! and heap-peak columns of a real run. This test binary installs the counting allocator, as
//! the `codecbench` binary does.

mod common;

use codecbench::alloc::{installed, thread_current, Counting, HeapScope};
use codecbench::run::{pool, run_plan};

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn the_peak_of_a_known_allocation_is_counted() {
    let _warm = std::hint::black_box(Box::new(0u64)); // the allocator has counted something
    assert!(installed());
    const N: usize = 10 << 20;
    let scope = HeapScope::start();
    let before = thread_current();
    let big = vec![1u8; N];
    std::hint::black_box(&big);
    assert_eq!(
        thread_current() - before,
        N as i64,
        "current counts the live block"
    );
    drop(big);
    assert_eq!(
        thread_current(),
        before,
        "freeing returns current to where it was"
    );
    let small = vec![2u8; 1000];
    std::hint::black_box(&small);
    // The peak is the 10 MiB block alone: nothing else of note was allocated on this thread
    // in the scope (a few bytes of slack for the test harness's own bookkeeping).
    let peak = scope.peak().unwrap();
    assert!(
        (N as u64..N as u64 + 4096).contains(&peak),
        "peak {peak} for a block of {N}"
    );
    // A new scope starts from the current level: the freed block is not in it.
    let again = HeapScope::start();
    assert!(again.peak().unwrap() < 4096);
}

#[test]
fn a_block_freed_on_another_thread_leaves_this_threads_peak_alone() {
    let scope = HeapScope::start();
    let v = vec![0u8; 1 << 20];
    std::thread::spawn(move || drop(v)).join().unwrap();
    // This thread still counts the MiB (it allocated it) and its peak saw it.
    assert!(scope.peak().unwrap() >= 1 << 20);
}

#[test]
fn cells_report_non_negative_cpu_times_and_heap_peaks() {
    let sources = vec![
        common::source("rgb", common::textured_u8(64, 48, 3, 1)),
        common::source("gray", common::textured_u8(40, 30, 1, 2)),
    ];
    let configs = common::parse_spec("png");
    let mut configs = configs;
    configs.extend(common::parse_spec("jpeg:q=50"));
    let rows = run_plan(&pool(2).unwrap(), &sources, &configs, &common::engine());
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert!(r.is_ok(), "{}", r.message);
        for (name, v) in [
            ("encode_cpu_ms", r.encode_cpu_ms),
            ("decode_cpu_ms", r.decode_cpu_ms),
            ("metric_cpu_ms", r.metric_cpu_ms),
        ] {
            let v = v.unwrap_or_else(|| panic!("{} {}: no {name}", r.image, r.spec));
            assert!(v >= 0.0 && v.is_finite(), "{name} = {v}");
        }
        // The decode returns an image of width x height x channels bytes, allocated in Rust
        // (the PNG decoder is the `image` crate; mozjpeg's output buffer is a Rust Vec too),
        // so its peak is at least that.
        let decoded = (r.width * r.height * r.channels as u32) as u64;
        let peak = r
            .decode_peak_bytes
            .expect("decode peak with the counting allocator");
        assert!(
            peak >= decoded,
            "{} {}: decode peak {peak} < {decoded}",
            r.image,
            r.spec
        );
        // The encoded bytes are a Rust Vec held at the end of the encode call.
        assert!(r.encode_peak_bytes.unwrap() >= r.bytes.unwrap());
        assert!(r.metric_peak_bytes.is_some());
    }
}

#[test]
fn an_image_over_the_memory_budget_is_skipped_with_a_message_while_others_are_measured() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    // 40x30 px x 20 B/px (PSNR only) = 24 KB fits 1 MiB; 600x500 px needs 6 MB and does not.
    common::write_png(
        &common::textured_u8(40, 30, 3, 1),
        &corpus.join("small.png"),
    );
    common::write_png(
        &common::textured_u8(600, 500, 3, 2),
        &corpus.join("large.png"),
    );
    let out = dir.path().join("run");
    let assert = assert_cmd::Command::cargo_bin("codecbench")
        .unwrap()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--metrics",
            "psnr",
        ])
        .args(["--codec", "jpeg:q=50", "--max-memory", "1M", "--corpus"])
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1); // a skipped file makes the exit code 1
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("large.png: 600x500 needs about")
            && stderr.contains("raise --max-memory")
            && stderr.contains("skipped"),
        "{stderr}"
    );
    let rows = common::without_timing(&out.join("results.csv"));
    assert_eq!(rows.len(), 1, "only small.png measured");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        meta["skipped"][0]["path"],
        corpus.join("large.png").display().to_string()
    );
    assert_eq!(meta["max_memory_bytes"], 1 << 20);
    assert!(meta["peak_rss_bytes"].as_u64().unwrap() > 0);
    assert!(meta["timing"]["cpu_s"].as_f64().unwrap() >= 0.0);
}

#[test]
fn max_memory_that_is_not_a_size_is_a_usage_error_naming_the_flag() {
    let assert = assert_cmd::Command::cargo_bin("codecbench")
        .unwrap()
        .args(["run", "--max-memory", "lots", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("--max-memory lots"), "{stderr}");
}
