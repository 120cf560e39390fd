//! AVIF (ravif/rav1e encode, rav1d decode): every corpus image through the cell engine; saved
//! files read back by an independent decoder (Debian's `avifdec`, libavif on libaom/dav1d)
//! agree with ours; invalid settings and images AV1 cannot hold are rejected clearly.

use crate::common;

use std::path::Path;
use std::process::Command;

use codecbench::codec::Registry;
use codecbench::config::expand;
use codecbench::corpus::{discover, load};
use codecbench::pixels::Image;
use codecbench::run::{pool, run_plan};

fn corpus() -> Vec<codecbench::corpus::SourceImage> {
    let (found, skipped, _) = discover(&[common::root().join("corpus")]);
    assert!(skipped.is_empty(), "{skipped:?}");
    found
        .iter()
        .map(|(id, p)| load(id, p, u64::MAX).unwrap())
        .collect()
}

#[test]
fn every_corpus_image_round_trips_through_the_engine() {
    let sources = corpus();
    assert_eq!(sources.len(), 11);
    // Fastest preset: the test checks plumbing and colour handling, not rav1e's best.
    let configs = expand(&Registry::builtin(), &["avif:q=70,speed=10".into()]).unwrap();
    let rows = run_plan(&pool(2).unwrap(), &sources, &configs, &common::engine());
    assert_eq!(rows.len(), 11);
    for r in &rows {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        assert!(!r.lossless);
        assert!(r.codec_version.starts_with("ravif ") && r.codec_version.contains("(rav1e "));
        // rav1e encodes and rav1d decodes on the worker's own thread: both CPU times are there.
        assert!(r.encode_cpu_ms.is_some_and(|c| c > 0.0), "{}", r.image);
        assert!(r.decode_cpu_ms.is_some_and(|c| c >= 0.0), "{}", r.image);
        // q=70 on 8-bit content: a broken matrix or range would give ~10-20 dB.
        let psnr = r.psnr.unwrap();
        assert!(psnr > 30.0, "{} psnr {psnr}", r.image);
    }
    let alpha = rows.iter().find(|r| r.image == "ria_alpha.png").unwrap();
    assert_eq!(alpha.codec_input, "RGBA8", "alpha is kept");
    assert_eq!(alpha.channels_compared, "RGBA");
    let gray = rows.iter().find(|r| r.image == "camera.png").unwrap();
    assert_eq!(gray.channels_compared, "L->RGB");
}

/// `avifdec` or nothing (then the comparison is skipped, except in CI where .ci/run installs it).
fn avifdec() -> Option<&'static str> {
    let found = Command::new("avifdec").arg("--version").output().is_ok();
    if !found && std::env::var_os("CI").is_some() {
        panic!("avifdec is missing: .ci/run installs libavif-bin");
    }
    found.then_some("avifdec")
}

fn read_png(path: &Path) -> Image {
    let img = image::open(path).unwrap();
    match img.color().channel_count() {
        4 => {
            let v = img.to_rgba8();
            Image::new_u8(v.width(), v.height(), 4, v.into_raw()).unwrap()
        }
        _ => {
            let v = img.to_rgb8();
            Image::new_u8(v.width(), v.height(), 3, v.into_raw()).unwrap()
        }
    }
}

/// (mean squared difference, largest absolute difference) of two same-layout 8-bit images.
fn difference(a: &Image, b: &Image) -> (f64, u8) {
    let (a, b) = (a.as_u8().unwrap(), b.as_u8().unwrap());
    assert_eq!(a.len(), b.len());
    let mut sum = 0.0;
    let mut max = 0u8;
    for (x, y) in a.iter().zip(b) {
        let d = x.abs_diff(*y);
        sum += (d as f64).powi(2);
        max = max.max(d);
    }
    (sum / a.len() as f64, max)
}

#[test]
fn saved_files_decode_the_same_in_avifdec() {
    let Some(avifdec) = avifdec() else {
        eprintln!("avifdec not installed: skipped");
        return;
    };
    // A real photo and the RGBA image besides the synthetic small corpus.
    let (_dir, out, rows) = common::saved_run(
        "avif:q=30,90,speed=10,depth=8,10",
        &["chelsea.png", "ria_alpha.png"],
    );
    assert_eq!(rows.len(), 6 * 4);
    let codec = common::codec("avif");
    for r in &rows {
        assert!(r.is_ok(), "{r:?}");
        let file = out.join(&r.encoded_file);
        let ours = codec.decode(&std::fs::read(&file).unwrap()).unwrap().image;
        let png = file.with_extension("avifdec.png");
        let o = Command::new(avifdec)
            .args(["--depth", "8"])
            .arg(&file)
            .arg(&png)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}: {o:?}", file.display());
        let theirs = read_png(&png);
        assert_eq!(
            (theirs.width, theirs.height, theirs.channels),
            (ours.width, ours.height, ours.channels),
            "{}",
            file.display()
        );
        // Both decoders are exact AV1 decoders, so Y, U, V (and alpha) are identical; only the
        // YUV->RGB step differs. Ours is float arithmetic rounded once; libavif 0.11 rounds
        // 10-bit samples in its own integer path and, for RGBA output (images with alpha),
        // hands 4:4:4 to libyuv's fixed-point (6-bit coefficient) converters, which are off by
        // up to 2 levels. So: at most 2 levels anywhere, and an MSE below 1 (most samples equal
        // or one apart; measured at most 0.45, on the RGBA image at q=30, 10-bit).
        let (mse, max) = difference(&ours, &theirs);
        assert!(
            max <= 2 && mse < 1.0,
            "{} {}: avifdec differs: mse {mse}, max {max}",
            r.image,
            r.spec
        );
    }
}

#[test]
fn invalid_settings_are_rejected_with_key_and_range() {
    let reg = Registry::builtin();
    for (spec, want) in [
        ("avif:q=101", "1..100"),
        ("avif:q=0", "1..100"),
        ("avif:speed=11", "1..10"),
        ("avif:depth=12", "8|10"),
    ] {
        let err = reg.parse_spec(spec).unwrap_err().to_string();
        let key = spec.split([':', '=']).nth(1).unwrap();
        assert!(err.contains(key) && err.contains(want), "{spec}: {err}");
    }
}

#[test]
fn images_av1_cannot_hold_give_error_rows() {
    // 70000 pixels wide: beyond AV1's 65536-pixel frame side.
    let wide = Image::new_u8(70_000, 1, 3, vec![128; 70_000 * 3]).unwrap();
    let sources = vec![
        common::source("wide", wide),
        common::source("ok", common::textured_u8(16, 16, 3, 5)),
    ];
    let configs = expand(&Registry::builtin(), &["avif:speed=10".into()]).unwrap();
    let rows = run_plan(&pool(1).unwrap(), &sources, &configs, &common::engine());
    let wide = rows.iter().find(|r| r.image == "wide").unwrap();
    assert!(!wide.is_ok());
    assert!(wide.message.contains("65536"), "{}", wide.message);
    assert!(rows.iter().find(|r| r.image == "ok").unwrap().is_ok());
}

/// rav1e encodes on the worker that runs the cell (no thread pool of its own), so its CPU time
/// is the worker's and is reported (`encode_cpu_ms`, none of it `unclocked_s`), and the bytes
/// do not depend on `--jobs` (rav1e's tile count follows the threads rayon offers it) or on
/// whether the encode runs inside the harness at all.
#[test]
fn avif_encode_cpu_time_is_measured_and_its_bytes_do_not_depend_on_jobs() {
    let (dir, corpus) = common::small_corpus();
    let run = |jobs: &str| {
        let out = dir.path().join(format!("avif-{jobs}"));
        let args = [
            "--no-cache",
            "--no-report",
            "--jobs",
            jobs,
            "--codec",
            "avif:q=50,speed=10",
        ];
        let rows = common::run_rows(&corpus, &out, &args);
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
        (meta["timing"]["unclocked_s"].as_f64().unwrap(), rows)
    };
    let (unclocked, rows) = run("2");
    assert_eq!(unclocked, 0.0);
    assert_eq!(rows.len(), 4);
    let (mut cpu, mut wall) = (0.0, 0.0);
    for r in &rows {
        assert!(r.is_ok(), "{r:?}");
        cpu += r.encode_cpu_ms.expect("encode_cpu_ms");
        wall += r.encode_ms.unwrap();
    }
    // Encoded elsewhere, the worker's clock would show only its wait (well under 1% of the
    // wall time); a tenth leaves room for a machine several times oversubscribed.
    assert!(cpu > 0.1 * wall, "encode CPU {cpu} ms of {wall} ms wall");
    let (_, one) = run("1");
    let bytes = |rows: &[codecbench::record::CellRecord]| -> Vec<(String, Option<u64>)> {
        rows.iter().map(|r| (r.image.clone(), r.bytes)).collect()
    };
    assert_eq!(bytes(&one), bytes(&rows));
    // Outside the harness (a plain thread, and a 2-thread pool): the same file.
    let img = common::textured_u8(64, 48, 3, 1);
    let cfg = &common::parse_spec("avif:q=50,speed=10")[0];
    let direct = cfg.codec.encode(&img, &cfg.params).unwrap().bytes;
    let pooled = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| cfg.codec.encode(&img, &cfg.params).unwrap().bytes);
    assert_eq!(direct, pooled);
    let rgb = rows.iter().find(|r| r.image == "rgb.png").unwrap();
    assert_eq!(rgb.bytes, Some(direct.len() as u64));
}
