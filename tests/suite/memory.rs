//! Memory and CPU accounting: the counting allocator's per-thread peak, and the per-cell CPU
//! and heap-peak columns of a real run. This test binary installs the counting allocator, as
//! the `codecbench` binary does.

use crate::common;

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

/// Rows with the machine-dependent columns (times, heap peaks) blanked.
fn comparable(rows: &[codecbench::record::CellRecord]) -> Vec<codecbench::record::CellRecord> {
    rows.iter()
        .map(|r| codecbench::record::CellRecord {
            encode_ms: None,
            decode_ms: None,
            metric_ms: None,
            encode_cpu_ms: None,
            decode_cpu_ms: None,
            metric_cpu_ms: None,
            encode_peak_bytes: None,
            decode_peak_bytes: None,
            metric_peak_bytes: None,
            ..r.clone()
        })
        .collect()
}

#[test]
fn images_stream_through_the_pool_and_are_dropped_after_their_last_cell() {
    use codecbench::corpus::SourceImage;
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..40u32 {
        let path = dir.path().join(format!("img{i:02}.png"));
        common::write_png(&common::textured_u8(24 + i, 20, 3, i as u64), &path);
        files.push(path);
    }
    let open = || -> Vec<SourceImage> {
        files
            .iter()
            .map(|p| {
                let id = p.file_name().unwrap().to_str().unwrap();
                SourceImage::open(id, p, u64::MAX).unwrap()
            })
            .collect()
    };
    let mut configs = common::parse_spec("jpeg:q=40,80");
    configs.extend(common::parse_spec("png"));
    // The same images decoded up front and kept in memory: the reference rows.
    let eager: Vec<SourceImage> = files
        .iter()
        .map(|p| {
            let id = p.file_name().unwrap().to_str().unwrap();
            codecbench::corpus::load(id, p, u64::MAX).unwrap()
        })
        .collect();
    let want = run_plan(&pool(2).unwrap(), &eager, &configs, &common::engine());
    assert_eq!(want.len(), 120);
    assert!(want.iter().all(|r| r.is_ok() && r.image_hash.len() == 32));

    for budget in [None, Some(1u64)] {
        let sources = open();
        // Opening reads headers only.
        assert!(sources
            .iter()
            .all(|s| !s.is_loaded() && s.hash().is_empty()));
        let mut engine = common::engine();
        engine.max_memory = budget;
        let plan = codecbench::plan::Plan::new(&sources, &configs);
        let mut rows = std::collections::BTreeMap::new();
        let times = codecbench::run::run_jobs(
            &pool(2).unwrap(),
            &sources,
            &engine,
            plan.jobs(),
            |job, out| {
                rows.insert(job.key, out.record);
                Vec::new()
            },
        );
        let rows: Vec<_> = rows.into_values().collect();
        assert_eq!(comparable(&rows), comparable(&want), "budget {budget:?}");
        // The window: an image is admitted only when every admitted image's jobs are taken,
        // so no more images are in work (and in memory) than workers; a budget below one
        // image's estimate allows one.
        let most = if budget.is_some() { 1 } else { 2 };
        assert!(
            (1..=most).contains(&times.max_images_in_flight),
            "budget {budget:?}: {} images in flight",
            times.max_images_in_flight
        );
        // Every image was decoded exactly once, and nothing is left in memory.
        for s in &sources {
            assert_eq!(s.decodes(), 1, "{}", s.id);
            assert!(!s.is_loaded(), "{} still holds its pixels", s.id);
            assert_eq!(
                s.hash(),
                rows.iter().find(|r| r.image == s.id).unwrap().image_hash
            );
        }
    }
}

#[test]
fn an_image_whose_pixels_cannot_be_decoded_is_skipped_and_the_rest_measured() {
    use codecbench::corpus::SourceImage;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.png");
    let bad = dir.path().join("bad.png");
    common::write_png(&common::textured_u8(30, 20, 3, 1), &good);
    common::write_png(&common::textured_u8(64, 64, 3, 2), &bad);
    // The header stays whole, the pixel data is cut: opening succeeds, decoding fails.
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let sources = vec![
        SourceImage::open("bad.png", &bad, u64::MAX).unwrap(),
        SourceImage::open("good.png", &good, u64::MAX).unwrap(),
    ];
    let configs = common::parse_spec("jpeg:q=40,80");
    let plan = codecbench::plan::Plan::new(&sources, &configs);
    let mut rows = Vec::new();
    let times = codecbench::run::run_jobs(
        &pool(2).unwrap(),
        &sources,
        &common::engine(),
        plan.jobs(),
        |_, out| {
            rows.push(out.record);
            Vec::new()
        },
    );
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.image == "good.png" && r.is_ok()));
    assert_eq!(times.failed_images.len(), 1);
    assert_eq!(times.failed_images[0].0, 0);
    assert!(
        times.failed_images[0].1.contains("PNG"),
        "{}",
        times.failed_images[0].1
    );
    assert_eq!(times.dropped, 2);
    assert!(!times.cancelled);
}

#[test]
fn max_pixels_reads_integers_exponents_and_suffixes() {
    use codecbench::options::parse_pixels;
    for (text, want) in [
        ("100000000", 100_000_000),
        ("4e8", 400_000_000),
        ("4E8", 400_000_000),
        ("1.5e7", 15_000_000),
        ("400M", 400_000_000),
        ("400MP", 400_000_000),
        ("2.5k", 2_500),
        ("1G", 1_000_000_000),
        (" 12 ", 12),
    ] {
        assert_eq!(parse_pixels(text), Ok(want), "{text}");
    }
    for bad in ["", "lots", "0", "-5", "0.5", "nan", "inf", "4e8x"] {
        assert!(parse_pixels(bad).is_err(), "{bad} accepted");
    }
    // Through the command line: the flag is named in the message, exit code 2.
    let assert = assert_cmd::Command::cargo_bin("codecbench")
        .unwrap()
        .args(["run", "--max-pixels", "many", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("--max-pixels many"), "{stderr}");
}

/// Issue 26 case 7: the default budget honours the process's address-space limit (and a
/// cgroup's), and the budget printed is the one used. Under a 500 MB `ulimit -v`, a 3000x3000
/// image (about 800 MiB to measure) is skipped naming the budget; the small one is measured.
/// Before: the budget was half of MemAvailable, the large image was admitted and the run
/// aborted (exit 134) with nothing written.
#[test]
fn the_default_budget_follows_the_address_space_limit() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    common::write_png(
        &common::textured_u8(3000, 3000, 3, 1),
        &corpus.join("big.png"),
    );
    common::write_png(
        &common::textured_u8(64, 48, 3, 2),
        &corpus.join("small.png"),
    );
    let out = dir.path().join("run");
    let o = std::process::Command::new("prlimit")
        .arg("--as=500000000")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_codecbench"))
        .args(["run", "--quiet", "--no-cache", "--no-report", "--jobs", "1"])
        .args(["--codec", "jpeg:q=75", "--corpus"])
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let printed: f64 = stderr
        .split("above the memory budget of ")
        .nth(1)
        .and_then(|t| t.split(" MiB").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no budget printed: {stderr}"));
    assert!(
        stderr.contains("big.png: 3000x3000 needs about"),
        "{stderr}"
    );
    assert!(printed < 500e6 / 1048576.0, "budget {printed} MiB");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    let used = meta["max_memory_bytes"].as_u64().unwrap() as f64 / 1048576.0;
    assert!(
        (used - printed).abs() <= 0.5,
        "printed {printed} MiB, used {used} MiB"
    );
    let rows = common::without_timing(&out.join("results.csv"));
    assert_eq!(rows.len(), 1, "small.png measured");
}

/// Issue 26 case 7, the cell's side: with a budget given by hand (so the large image is
/// admitted) under a 500 MB `ulimit -v`, the cell whose buffers and metric planes (about
/// 800 MiB) cannot be allocated is an error row saying so; the small image is measured.
/// Before: the allocation failed inside the cell and the run aborted (exit 134).
#[test]
fn a_cell_whose_memory_cannot_be_had_is_an_error_row() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    common::write_png(
        &common::textured_u8(3000, 3000, 3, 3),
        &corpus.join("big.png"),
    );
    common::write_png(
        &common::textured_u8(64, 48, 3, 4),
        &corpus.join("small.png"),
    );
    let out = dir.path().join("run");
    let o = std::process::Command::new("prlimit")
        .arg("--as=500000000")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_codecbench"))
        .args(["run", "--quiet", "--no-cache", "--no-report", "--jobs", "1"])
        .args(["--max-memory", "8G", "--codec", "jpeg:q=75", "--corpus"])
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let rows: Vec<codecbench::record::CellRecord> =
        codecbench::export::read_csv(&out.join("results.csv")).unwrap();
    assert_eq!(rows.len(), 2, "{stderr}");
    let big = rows.iter().find(|r| r.image.starts_with("big")).unwrap();
    assert!(
        !big.is_ok() && big.message.contains("cannot allocate the"),
        "{}",
        big.message
    );
    assert!(rows
        .iter()
        .any(|r| r.image.starts_with("small") && r.is_ok()));
}
