//! Every kind of bad input gives one clear line naming the file and the reason, the file is
//! skipped, every other cell is still measured, and the exit code is 1.

mod common;

use std::path::Path;
use std::sync::Arc;

use assert_cmd::Command;
use codecbench::codec::{Codec, CodecConfig, CodecError, Decoded, Encoded, Param, Params};
use codecbench::pixels::{Image, Layout};
use codecbench::plan::Plan;
use codecbench::record::{CellRecord, Status};
use codecbench::run::{pool, run_jobs};

fn codecbench() -> Command {
    Command::cargo_bin("codecbench").unwrap()
}

/// Runs a quick sweep on `corpus`; returns (exit code, stderr, rows).
fn sweep(corpus: &Path, out: &Path, extra: &[&str]) -> (i32, String, Vec<CellRecord>) {
    let output = codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--codec",
            "png:preset=0",
            "--codec",
            "jpeg:q=80",
            "--codec",
            "webp:q=80",
        ])
        .arg("--corpus")
        .arg(corpus)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let rows = codecbench::export::read_csv(&out.join("results.csv")).unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        rows,
    )
}

#[test]
fn bad_files_are_skipped_with_a_reason_and_the_rest_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    let good = common::textured_u8(32, 32, 3, 9);
    common::write_png(&good, &c.join("good.png"));
    let png = std::fs::read(c.join("good.png")).unwrap();
    std::fs::write(c.join("truncated.png"), &png[..png.len() / 2]).unwrap();
    let mut corrupt = png.clone();
    for b in &mut corrupt[40..png.len() - 20] {
        *b = !*b;
    }
    std::fs::write(c.join("corrupt.png"), &corrupt).unwrap();
    std::fs::write(c.join("empty.png"), b"").unwrap();
    std::fs::write(
        c.join("notes.jpg"),
        b"these are not the pixels you are looking for\n",
    )
    .unwrap();
    // 32-bit float samples: a real image format, but not one codecbench measures.
    image::DynamicImage::ImageRgb32F(image::Rgb32FImage::new(4, 4))
        .save(c.join("float.tiff"))
        .unwrap();
    // A PNM header that declares a 0x7 image.
    std::fs::write(c.join("zero.pgm"), b"P5\n0 7\n255\n").unwrap();
    common::write_png(&common::textured_u8(300, 200, 1, 2), &c.join("big.png"));

    let (code, stderr, rows) = sweep(&c, &dir.path().join("run"), &["--max-pixels", "10000"]);
    assert_eq!(code, 1, "{stderr}");
    for (file, why) in [
        ("truncated.png", "corrupt or truncated PNG"),
        ("corrupt.png", "corrupt or truncated PNG"),
        ("empty.png", "empty file (0 bytes)"),
        ("notes.jpg", "not a recognised image"),
        ("float.tiff", "unsupported pixel format"),
        ("zero.pgm", "zero-size image (0x7)"),
        (
            "big.png",
            "300x200 is 0.1 MP, above the limit of 0.0 MP; raise --max-pixels",
        ),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("{file}:")))
            .unwrap_or_else(|| panic!("no line for {file} in:\n{stderr}"));
        assert!(line.contains(why), "{file}: {line}");
        assert!(line.ends_with("skipped"), "{line}");
    }
    // Only the good image was measured, fully.
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.image == "good.png" && r.is_ok()));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run/run.json")).unwrap()).unwrap();
    assert_eq!(meta["skipped"].as_array().unwrap().len(), 7);
}

#[test]
fn a_missing_corpus_is_a_setup_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = codecbench()
        .args(["run", "--corpus", "/nonexistent/images", "--out"])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("/nonexistent/images: cannot read corpus path"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no images found in /nonexistent/images"),
        "{stderr}"
    );
}

#[test]
fn codec_limits_give_error_rows_for_those_cells_only() {
    // WebP stores at most 16383 pixels a side, JPEG 65500: real codec failures.
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    common::write_png(&common::textured_u8(70000, 1, 3, 5), &c.join("wide.png"));
    common::write_png(&common::textured_u8(16, 16, 3, 6), &c.join("small.png"));
    let (code, stderr, rows) = sweep(&c, &dir.path().join("run"), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(rows.len(), 6);
    let row = |img: &str, codec: &str| {
        rows.iter()
            .find(|r| r.image == img && r.codec == codec)
            .unwrap()
    };
    let webp = row("wide.png", "webp");
    assert_eq!(webp.status, Status::Error);
    assert!(
        webp.message.contains("at most 16383 pixels a side"),
        "{}",
        webp.message
    );
    let jpeg = row("wide.png", "jpeg");
    assert_eq!(jpeg.status, Status::Error);
    assert!(
        jpeg.message.starts_with("jpeg: encode failed:"),
        "{}",
        jpeg.message
    );
    assert!(jpeg.mse.is_none() && jpeg.psnr.is_none());
    assert!(row("wide.png", "png").is_ok());
    assert!(rows
        .iter()
        .filter(|r| r.image == "small.png")
        .all(|r| r.is_ok()));
    assert!(stderr.contains("wide.png jpeg:q=80"), "{stderr}");
}

/// A codec that misbehaves on purpose: panics, or claims to be lossless and is not.
struct Broken {
    panic: bool,
}

impl Codec for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn version(&self) -> String {
        "test".into()
    }
    fn decoder(&self) -> String {
        "test".into()
    }
    fn extension(&self) -> &str {
        "raw"
    }
    fn lossless(&self, _: &Params) -> bool {
        true
    }
    fn params(&self) -> &[Param] {
        &[]
    }
    fn input_layout(&self, src: Layout) -> Layout {
        src
    }
    fn encode(&self, img: &Image, _: &Params) -> Result<Encoded, CodecError> {
        if self.panic && img.width == 20 {
            panic!("deliberate panic in encode");
        }
        Ok(img.as_u8().unwrap().to_vec().into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        let mut v = data.to_vec();
        if !self.panic {
            v[5] ^= 1; // one wrong sample
        }
        let n = (v.len() / 3) as f64;
        let side = n.sqrt() as u32;
        Ok(Image::new_u8(side, side, 3, v)?.into())
    }
}

#[test]
fn panicking_and_lying_codecs_become_error_rows() {
    let sources = vec![
        common::source("a", common::textured_u8(20, 20, 3, 1)),
        common::source("b", common::textured_u8(10, 10, 3, 2)),
    ];
    let configs = vec![
        CodecConfig {
            codec: Arc::new(Broken { panic: true }),
            params: Params::default(),
        },
        CodecConfig {
            codec: Arc::new(Broken { panic: false }),
            params: Params::default(),
        },
        common::parse_spec("png:preset=0").remove(0),
    ];
    let engine = common::engine();
    let mut rows = vec![None; 6];
    let plan = Plan::new(&sources, &configs);
    let times = run_jobs(
        &pool(2).unwrap(),
        &sources,
        &engine,
        plan.jobs(),
        |job, out| {
            rows[job.key.image * 3 + job.key.config] = Some(out.record);
            Vec::new()
        },
    );
    assert_eq!(times.cells_done, 6);
    let rows: Vec<CellRecord> = rows.into_iter().map(Option::unwrap).collect();
    // Image a (20x20): the panicking codec fails, with the panic text.
    assert_eq!(rows[0].status, Status::Error);
    assert_eq!(
        rows[0].message,
        "broken: encode failed: deliberate panic in encode"
    );
    // The same codec on image b works.
    assert!(rows[3].is_ok(), "{:?}", rows[3]);
    // The lying "lossless" codec never gets a PSNR, only an error naming the first difference.
    for r in [&rows[1], &rows[4]] {
        assert_eq!(r.status, Status::Error);
        assert!(r.message.contains("lossless codec did not round-trip exactly: first difference at pixel (1, 0) channel 2"), "{}", r.message);
        assert_eq!(r.roundtrip_exact, Some(false));
        assert!(r.psnr.is_none());
        assert!(
            r.bytes.is_some(),
            "what was measured before the failure is kept"
        );
    }
    assert!(rows[2].is_ok() && rows[5].is_ok());
}

/// A baseline JPEG of `img` by the jpeg codec (mozjpeg).
fn jpeg_bytes(img: &Image) -> Vec<u8> {
    let c = &common::parse_spec("jpeg:q=80,progressive=false")[0];
    c.codec.encode(img, &c.params).unwrap().bytes
}

/// Issue 13 cases 1 and 5: a truncated JPEG and a CMYK JPEG are refused with their reason.
/// Before: cuts at 10-99% decoded without a word (the rest filled in) and were measured; a
/// CMYK JPEG was measured as RGB with `conversion = none`.
#[test]
fn truncated_and_cmyk_jpeg_sources_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    let img = common::textured_u8(64, 48, 3, 5);
    let full = jpeg_bytes(&img);
    std::fs::write(c.join("full.jpg"), &full).unwrap();
    for cut in [10, 50, 90, 99] {
        std::fs::write(
            c.join(format!("cut{cut}.jpg")),
            &full[..full.len() * cut / 100],
        )
        .unwrap();
    }
    let mut comp = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_CMYK);
    comp.set_size(16, 16);
    let mut started = comp.start_compress(Vec::new()).unwrap();
    started
        .write_scanlines(&common::noise(16 * 16 * 4, 3))
        .unwrap();
    std::fs::write(c.join("cmyk.jpg"), started.finish().unwrap()).unwrap();

    let (code, stderr, rows) = sweep(&c, &dir.path().join("run"), &[]);
    assert_eq!(code, 1, "{stderr}");
    for cut in [10, 50, 90, 99] {
        let file = format!("cut{cut}.jpg:");
        let line = stderr
            .lines()
            .find(|l| l.contains(&file))
            .unwrap_or_else(|| panic!("no line for {file} in:\n{stderr}"));
        assert!(line.contains("corrupt or truncated JPEG"), "{line}");
        assert!(line.ends_with("skipped"), "{line}");
    }
    let line = stderr.lines().find(|l| l.contains("cmyk.jpg:")).unwrap();
    assert!(
        line.contains("CMYK JPEG") && line.contains("convert it to RGB"),
        "{line}"
    );
    assert_eq!(rows.len(), 3, "only full.jpg is measured");
    assert!(rows.iter().all(|r| r.image == "full.jpg" && r.is_ok()));
    // `score` refuses a truncated distorted file too (before: 12.2 dB, exit 0).
    let src = c.join("src.png");
    common::write_png(&img, &src);
    codecbench()
        .arg("score")
        .arg(&src)
        .arg(c.join("cut50.jpg"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "cut50.jpg: corrupt or truncated JPEG",
        ));
}

/// Issue 13 case 2: a JPEG is decoded by the same decoder everywhere. `score` on a saved
/// q=80 file gives exactly the MSE of its results.csv row (before: +1.5%, another decoder),
/// and a JPEG source is the jpeg codec's decode of it; run.json names the decoder.
#[test]
fn jpeg_sources_and_score_use_the_cells_decoder() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    let img = common::textured_u8(64, 48, 3, 6);
    let jpg = jpeg_bytes(&img);
    std::fs::write(c.join("src.jpg"), &jpg).unwrap();
    let run = dir.path().join("run");
    let out = codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--save-encoded",
        ])
        .args(["--codec", "jpeg:q=80", "--corpus"])
        .arg(&c)
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<CellRecord> = codecbench::export::read_csv(&run.join("results.csv")).unwrap();
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    assert!(
        meta["jpeg_source_decoder"]
            .as_str()
            .unwrap()
            .starts_with("mozjpeg-sys"),
        "{meta}"
    );
    // The source's hash is the hash of the jpeg codec's decode of the file.
    let decoded = common::codec("jpeg").decode(&jpg).unwrap().image;
    assert_eq!(rows[0].image_hash, codecbench::corpus::pixel_hash(&decoded));
    // score ORIGINAL(the source, decoded by mozjpeg) DISTORTED(the saved cell).
    let out = codecbench()
        .arg("score")
        .arg(c.join("src.jpg"))
        .arg(run.join(&rows[0].encoded_file))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let scored: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mse = scored[0]["mse"].as_f64().unwrap();
    // Same decoder, same pixels, same MSE code: equal up to the CSV's float text (shortest
    // round-trip representation, exact).
    assert_eq!(mse, rows[0].mse.unwrap());
}

/// Issue 13 case 3: a symlink loop in the corpus is followed once. Before: `ln -s . c/a;
/// ln -s . c/b` hung discovery forever, and one self-link measured the image 41 times.
#[cfg(unix)]
#[test]
fn symlink_loops_in_the_corpus_are_followed_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    common::write_png(&common::textured_u8(16, 16, 3, 1), &c.join("img.png"));
    std::os::unix::fs::symlink(".", c.join("a")).unwrap();
    std::os::unix::fs::symlink(".", c.join("b")).unwrap();
    let (found, skipped, _) = codecbench::corpus::discover(std::slice::from_ref(&c));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "img.png");
    assert!(skipped.is_empty(), "{skipped:?}");
}
