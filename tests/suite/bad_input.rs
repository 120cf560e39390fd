//! Every kind of bad input gives one clear line naming the file and the reason, the file is
//! skipped, every other cell is still measured, and the exit code is 1.

use crate::common;

use std::path::{Path, PathBuf};
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
        ("float.tiff", "unsupported (32-bit float samples)"),
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
            label: String::new(),
        },
        CodecConfig {
            codec: Arc::new(Broken { panic: false }),
            params: Params::default(),
            label: String::new(),
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

/// Issue 13 case 4: the same file name under two corpus roots. Before: `--corpus dup/a dup/b`
/// with `img.png` in each refused the second ("image id "img.png" is already taken").
#[test]
fn same_file_names_in_different_roots_get_their_roots_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (sub, seed) in [("dup/a", 1), ("dup/b", 2), ("x/photos", 3), ("y/photos", 4)] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
        common::write_png(
            &common::textured_u8(8, 8, 3, seed),
            &d.join(sub).join("img.png"),
        );
    }
    common::write_png(&common::textured_u8(8, 8, 3, 5), &d.join("dup/a/only.png"));
    let ids = |roots: &[&str]| {
        let roots: Vec<_> = roots.iter().map(|r| d.join(r)).collect();
        let (found, skipped, _) = codecbench::corpus::discover(&roots);
        let ids: Vec<String> = found.into_iter().map(|(id, _)| id).collect();
        (ids, skipped)
    };
    // One root: ids as before (relative paths), so caches and baselines stay valid.
    assert_eq!(ids(&["dup"]).0, ["a/img.png", "a/only.png", "b/img.png"]);
    assert_eq!(ids(&["dup/a"]).0, ["img.png", "only.png"]);
    // Two roots: only the colliding ids get the root's folder name.
    let (got, skipped) = ids(&["dup/a", "dup/b"]);
    assert_eq!(got, ["a/img.png", "b/img.png", "only.png"]);
    assert!(skipped.is_empty(), "{skipped:?}");
    // Roots with the same folder name: as many trailing names as tell them apart.
    assert_eq!(
        ids(&["x/photos", "y/photos"]).0,
        ["x/photos/img.png", "y/photos/img.png"]
    );
    // Files given directly are labelled by their folder.
    assert_eq!(
        ids(&["dup/a/img.png", "dup/b/img.png"]).0,
        ["a/img.png", "b/img.png"]
    );
    // The same root twice: each file once, the repeat reported.
    let (got, skipped) = ids(&["dup/a", "dup/a"]);
    assert_eq!(got, ["img.png", "only.png"]);
    assert_eq!(skipped.len(), 2);
    assert!(skipped[0].reason.contains("given twice"), "{skipped:?}");

    // Through `run`: both images measured, exit 0.
    let out = d.join("run");
    let output = codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--codec",
            "png",
        ])
        .arg("--corpus")
        .arg(d.join("dup/a"))
        .arg(d.join("dup/b"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let rows = codecbench::export::read_csv::<CellRecord>(&out.join("results.csv")).unwrap();
    let mut images: Vec<&str> = rows.iter().map(|r| r.image.as_str()).collect();
    images.sort();
    assert_eq!(images, ["a/img.png", "b/img.png", "only.png"]);
    assert_ne!(rows[0].image_hash, rows[1].image_hash);
}

/// A binary PGM/PPM with the given maxval and big-endian (maxval > 255) or byte samples.
fn pnm(magic: &str, w: u32, h: u32, maxval: u32, samples: &[u32]) -> Vec<u8> {
    let mut out = format!("{magic}\n# a comment\n{w} {h}\n{maxval}\n").into_bytes();
    for &v in samples {
        if maxval > 255 {
            out.extend_from_slice(&(v as u16).to_be_bytes());
        } else {
            out.push(v as u8);
        }
    }
    out
}

/// Issue 13 case 5: a PNM whose maxval is not 255 or 65535. Before: a 10-bit (maxval 1023) PPM
/// was measured as 16-bit with `conversion = none`; its samples had been scaled by the `image`
/// decoder without a word. Now the scaling is recorded, and checked to be the exact
/// `round(v * full / maxval)` on every value (so it is invertible: nothing is lost).
#[test]
fn pnm_maxval_scaling_is_recorded_and_exact() {
    for (maxval, depth) in [
        (1023u32, 16u8),
        (4095, 16),
        (300, 16),
        (16383, 16),
        (100, 8),
        (1, 8),
    ] {
        let all: Vec<u32> = (0..=maxval).collect();
        let bytes = pnm("P5", all.len() as u32, 1, maxval, &all);
        let (img, note) = codecbench::corpus::decode_source(&bytes, u64::MAX).unwrap();
        assert_eq!(img.depth(), depth, "maxval {maxval}");
        let full = if depth == 16 { 65535u64 } else { 255 };
        for v in 0..=maxval {
            // Exact integer rounding of v * full / maxval (the note's formula).
            let want = (v as u64 * full * 2 + maxval as u64) / (2 * maxval as u64);
            assert_eq!(
                img.sample(v as usize) as u64,
                want,
                "maxval {maxval}, v {v}"
            );
        }
        let bits = if (maxval + 1).is_power_of_two() {
            format!(" ({}-bit)", (maxval + 1).trailing_zeros())
        } else {
            String::new()
        };
        assert_eq!(
            note,
            format!("PNM maxval {maxval}{bits} scaled to {depth} bit: round(v*{full}/{maxval})")
        );
    }
    // Full-range files are kept as stored, with no note.
    for (maxval, depth) in [(255, 8), (65535, 16)] {
        let bytes = pnm("P6", 2, 1, maxval, &[0, 1, 2, 3, 4, maxval]);
        let (img, note) = codecbench::corpus::decode_source(&bytes, u64::MAX).unwrap();
        assert_eq!(
            (img.depth(), img.sample(5), note.as_str()),
            (depth, maxval, "")
        );
    }
    // ASCII PGM: the same policy.
    let (_, note) =
        codecbench::corpus::decode_source(b"P2\n2 1\n1023\n0 1023\n", u64::MAX).unwrap();
    assert!(note.starts_with("PNM maxval 1023 (10-bit)"), "{note}");
    // A sample above the maxval (which the decoder would clamp) refuses the file.
    let e = codecbench::corpus::decode_source(&pnm("P5", 2, 1, 1023, &[5, 2000]), u64::MAX)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sample value 2000 is above the header's maxval 1023"),
        "{e}"
    );

    // Through `run`: a warning line, the note in `conversion` and in run.json.
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    let samples: Vec<u32> = (0..16 * 16 * 3).map(|i| (i * 7) % 1024).collect();
    std::fs::write(c.join("ten.ppm"), pnm("P6", 16, 16, 1023, &samples)).unwrap();
    let (code, stderr, rows) = sweep(&c, &dir.path().join("run"), &["--no-report"]);
    assert_eq!(code, 0, "{stderr}");
    let note = "PNM maxval 1023 (10-bit) scaled to 16 bit: round(v*65535/1023)";
    assert!(stderr.contains(&format!("ten.ppm: {note}")), "{stderr}");
    // png keeps 16 bits; jpeg and webp take 8 (the harness's own 16->8 step follows).
    for r in &rows {
        assert!(
            r.conversion.starts_with(note),
            "{}: {}",
            r.spec,
            r.conversion
        );
        assert_eq!(r.bit_depth, 16);
    }
    assert!(rows.iter().any(|r| r.conversion == note));
    assert!(rows
        .iter()
        .any(|r| r.conversion.ends_with("; 16->8 bit (round(v*255/65535))")));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run/run.json")).unwrap()).unwrap();
    assert_eq!(meta["corpus"][0]["source_note"], note);
}

/// Issue 13 case 6: a corpus where image files exist but none can be read. Before: the run
/// went ahead with no cells, exit 1, "every cell came from the cache".
#[test]
fn a_corpus_with_no_readable_image_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(c.join("x.png"), b"not an image").unwrap();
    std::fs::write(c.join("y.jpg"), b"").unwrap();
    let out = dir.path().join("run");
    let output = codecbench()
        .args(["run", "--quiet", "--no-cache", "--codec", "png", "--corpus"])
        .arg(&c)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("x.png: not a recognised image"), "{stderr}");
    assert!(stderr.contains("y.jpg: empty file"), "{stderr}");
    assert!(
        stderr.contains("none of the 2 image file(s) found in") && stderr.contains("could be read"),
        "{stderr}"
    );
    assert!(!stderr.contains("from the cache"), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains("from the cache"), "{stdout}");
    assert!(!out.exists(), "the run folder it created is removed again");
}

/// CRC-32 (ISO-HDLC, as PNG uses), bitwise: test files need a handful of chunks.
fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

fn png_bytes(img: &Image) -> Vec<u8> {
    let f = tempfile::NamedTempFile::new().unwrap();
    common::write_png(img, f.path());
    std::fs::read(f.path()).unwrap()
}

/// `png` with an acTL chunk (3 frames) after IHDR: an APNG whose default image is `png`'s.
fn apng(png: &[u8]) -> Vec<u8> {
    let ihdr_end = 8 + 8 + 13 + 4;
    let mut actl = 3u32.to_be_bytes().to_vec();
    actl.extend_from_slice(&0u32.to_be_bytes());
    let mut out = png[..ihdr_end].to_vec();
    out.extend(png_chunk(b"acTL", &actl));
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

/// An animated WebP of two frames (each `frame`'s lossless bitstream), built by hand: RIFF,
/// VP8X with the animation flag, ANIM, two ANMF chunks.
fn animated_webp(frame: &Image) -> Vec<u8> {
    let mut lossless = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut lossless)
        .encode(
            frame.as_u8().unwrap(),
            frame.width,
            frame.height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    assert_eq!(&lossless[12..16], b"VP8L");
    let vp8l = &lossless[12..];
    let u24 = |v: u32| v.to_le_bytes()[..3].to_vec();
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut out = kind.to_vec();
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
        out
    };
    let mut vp8x = vec![0x02, 0, 0, 0];
    vp8x.extend(u24(frame.width - 1));
    vp8x.extend(u24(frame.height - 1));
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(b"VP8X", &vp8x));
    body.extend(chunk(b"ANIM", &[0, 0, 0, 0, 0, 0]));
    for _ in 0..2 {
        let mut anmf = [
            u24(0),
            u24(0),
            u24(frame.width - 1),
            u24(frame.height - 1),
            u24(100),
        ]
        .concat();
        anmf.push(0b10); // no blending, no disposal
        anmf.extend_from_slice(vp8l);
        body.extend(chunk(b"ANMF", &anmf));
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// A little-endian, uncompressed gray TIFF of 4x4 samples of `bits` bits and SampleFormat
/// `format` (3 = IEEE float).
fn tiff(bits: u16, format: u16) -> Vec<u8> {
    let data = vec![0u8; 16 * bits as usize / 8];
    let entries: [(u16, u16, u32); 10] = [
        (256, 3, 4),
        (257, 3, 4),
        (258, 3, bits as u32),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 0), // strip offset, filled below
        (277, 3, 1),
        (278, 3, 4),
        (279, 4, data.len() as u32),
        (339, 3, format as u32),
    ];
    let data_at = 8 + 2 + 12 * entries.len() as u32 + 4;
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        let value = if tag == 273 { data_at } else { value };
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend(data);
    out
}

/// Issue 13 case 6, the rest. Before: animated PNG/WebP measured frame 0 without a note; a
/// gray float TIFF was "corrupt or truncated TIFF: ... color type `Unknown(32)`"; a
/// 2^31-wide PNG header was "corrupt or truncated PNG: Memory limit exceeded".
#[test]
fn animations_float_tiffs_and_huge_headers_say_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    let frame = common::textured_u8(16, 12, 3, 7);
    let png = png_bytes(&frame);
    std::fs::write(c.join("anim.png"), apng(&png)).unwrap();
    std::fs::write(c.join("anim.webp"), animated_webp(&frame)).unwrap();
    for (bits, name) in [(32, "f32.tif"), (16, "f16.tif"), (64, "f64.tif")] {
        std::fs::write(c.join(name), tiff(bits, 3)).unwrap();
    }
    let mut huge = png.clone();
    huge[16..20].copy_from_slice(&(1u32 << 31).to_be_bytes());
    std::fs::write(c.join("huge.png"), huge).unwrap();

    // The frames decode to the frame's pixels, with a note.
    let (img, note) =
        codecbench::corpus::decode_source(&std::fs::read(c.join("anim.webp")).unwrap(), u64::MAX)
            .unwrap();
    assert_eq!(note, "animated WebP (2 frames): frame 0 measured");
    assert_eq!(img, frame);

    let (code, stderr, rows) = sweep(&c, &dir.path().join("run"), &["--no-report"]);
    assert_eq!(code, 1, "{stderr}");
    for (file, says) in [
        ("anim.png", "warning: "),
        (
            "anim.png",
            "animated PNG (3 frames): the default image measured",
        ),
        ("anim.webp", "animated WebP (2 frames): frame 0 measured"),
        (
            "f32.tif",
            "unsupported (32-bit float samples); convert it to 8- or 16-bit",
        ),
        ("f16.tif", "unsupported (16-bit float samples)"),
        ("f64.tif", "unsupported (64-bit float samples)"),
        (
            "huge.png",
            "2147483648x12 is 25769.8 MP, above the limit of 100.0 MP; raise --max-pixels",
        ),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("{file}:")) && l.contains(says))
            .unwrap_or_else(|| panic!("no \"{says}\" for {file} in:\n{stderr}"));
        assert!(!line.contains("corrupt"), "{line}");
    }
    let anim: Vec<&CellRecord> = rows
        .iter()
        .filter(|r| r.image.starts_with("anim"))
        .collect();
    assert_eq!(
        anim.len(),
        6,
        "both animations measured by all three codecs"
    );
    assert!(anim
        .iter()
        .all(|r| r.is_ok() && r.conversion.starts_with("animated ")));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run/run.json")).unwrap()).unwrap();
    let notes: Vec<&str> = meta["corpus"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["source_note"].as_str())
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(meta["skipped"].as_array().unwrap().len(), 4);
}

/// Issue 13 case 6: files too deep to open. Before: a folder whose path exceeded PATH_MAX was
/// counted as an "ignored file without an image extension" and its images vanished, exit 0.
#[cfg(unix)]
#[test]
fn over_long_paths_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    common::write_png(&common::textured_u8(8, 8, 3, 1), &c.join("ok.png"));
    // A path longer than PATH_MAX (4096) cannot be created in one go: make two chains of
    // about 2200 bytes each, then move the one holding the image to the bottom of the other
    // (rename does not mind how long the paths inside the moved folder become).
    let name = "d".repeat(200);
    let chain = |top: &str| {
        let mut p = c.join(top);
        for _ in 0..11 {
            p.push(&name);
        }
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    let lower = chain("lower");
    common::write_png(&common::textured_u8(8, 8, 3, 2), &lower.join("deep.png"));
    let upper = chain(&name);
    std::fs::rename(c.join("lower"), upper.join("lower")).unwrap();
    let (found, skipped, ignored) = codecbench::corpus::discover(std::slice::from_ref(&c));
    assert_eq!(found.len(), 1);
    assert_eq!(ignored, 0, "the deep folder is not an ignored file");
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    let s = skipped[0].to_string();
    assert!(skipped[0].path.as_os_str().len() > 4096, "{s}");
    assert!(s.contains(&name), "names the folder: {s}");
    assert!(
        s.contains("longer than the system can open") && s.contains("shorter path"),
        "{s}"
    );
}

/// Issue 26 case 8: a PNG whose iCCP profile inflates to 256 MiB (a 256 KB file) is one
/// skipped file naming the chunk; the image beside it is measured. Before: the profile was
/// inflated whole (3 GiB under a 2.5 GB limit aborted the run, exit 134).
#[test]
fn a_colour_profile_bomb_is_one_skipped_file() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let png = png_bytes(&common::textured_u8(16, 16, 3, 1));
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        z.write_all(&zeros).unwrap();
    }
    let mut iccp = b"p\0\0".to_vec();
    iccp.extend(z.finish().unwrap());
    let ihdr_end = 8 + 8 + 13 + 4;
    let mut bomb = png[..ihdr_end].to_vec();
    bomb.extend(png_chunk(b"iCCP", &iccp));
    bomb.extend_from_slice(&png[ihdr_end..]);
    std::fs::write(corpus.join("bomb.png"), &bomb).unwrap();
    common::write_png(&common::textured_u8(20, 10, 3, 2), &corpus.join("fine.png"));
    let out = dir.path().join("run");
    let (code, stderr, rows) = sweep(&corpus, &out, &["--no-report", "--metrics", "psnr"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("bomb.png") && stderr.contains("iCCP chunk holds more than 8 MiB"),
        "{stderr}"
    );
    assert_eq!(rows.len(), 3, "fine.png measured by each codec");
    assert!(rows.iter().all(|r| r.image == "fine.png" && r.is_ok()));
}

/// Mounts a tmpfs of `size` at `at` (root and mount(8) needed); unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Issue 26 case 10: `--save-encoded` onto a full disk gives error rows and exit 1, never a
/// truncated file; a codec name of 300 characters is saved under a shortened name. Before: a
/// truncated PNG, exit 0 and nothing said; the long name could not be saved, silently. The
/// full disk is a 48 KiB tmpfs when mount works here; otherwise a folder in the way of
/// `encoded/<image>` stands in for it (the test says which on stderr).
#[test]
fn save_encoded_on_a_full_disk_fails_the_cells_and_leaves_no_truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    common::write_png(&common::textured_u8(256, 192, 3, 1), &corpus.join("a.png"));
    let out = dir.path().join("run");
    let encoded = out.join("encoded");
    let tmpfs = Tmpfs::mount(&encoded, "48k");
    if tmpfs.is_none() {
        eprintln!("mount failed: simulating a full disk with a file where encoded/a.png/ goes");
        std::fs::create_dir_all(&encoded).unwrap();
        std::fs::write(encoded.join("a.png"), b"in the way").unwrap();
    }
    // The PNG of 147 KB of noisy pixels cannot fit; jpeg q=10 (a few KB) can.
    let o = codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--save-encoded",
            "--jobs",
            "1",
        ])
        .args([
            "--metrics",
            "psnr",
            "--codec",
            "jpeg:q=10",
            "--codec",
            "png:preset=0",
        ])
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let rows: Vec<CellRecord> = codecbench::export::read_csv(&out.join("results.csv")).unwrap();
    let png = rows.iter().find(|r| r.codec == "png").unwrap();
    assert!(
        !png.is_ok() && png.message.contains("could not save"),
        "{}",
        png.message
    );
    assert!(stderr.contains("could not save"), "{stderr}");
    // Every file left in encoded/ is whole: the saved rows' files decode, nothing else is there.
    let mut left = Vec::new();
    for e in walkdir(&encoded) {
        left.push(e.strip_prefix(&out).unwrap().display().to_string());
    }
    let saved: Vec<String> = rows
        .iter()
        .filter(|r| !r.encoded_file.is_empty())
        .map(|r| r.encoded_file.clone())
        .collect();
    left.retain(|f| f != "encoded/a.png");
    assert_eq!(left, saved, "only whole files of measured cells");
    for f in &saved {
        let bytes = std::fs::read(out.join(f)).unwrap();
        assert!(image::load_from_memory(&bytes).is_ok(), "{f} is not whole");
    }
    drop(tmpfs);

    // A 300-character external codec name: saved under a shortened, unique name.
    let name = "n".repeat(300);
    let defs = dir.path().join("defs.toml");
    std::fs::write(
        &defs,
        format!(
            "[[external]]\nname = \"{name}\"\nextension = \"ppm\"\ndepth = 8\n\
             encode = [\"cp\", \"{{input}}\", \"{{output}}\"]\n\
             decode = [\"cp\", \"{{input}}\", \"{{output}}\"]\n"
        ),
    )
    .unwrap();
    let out2 = dir.path().join("run2");
    let o = codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--save-encoded",
        ])
        .args(["--metrics", "psnr", "--codec", &name, "--external"])
        .arg(&defs)
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rows: Vec<CellRecord> = codecbench::export::read_csv(&out2.join("results.csv")).unwrap();
    let file = &rows[0].encoded_file;
    let base = Path::new(file).file_name().unwrap().to_str().unwrap();
    assert!(base.len() <= 110 && base.starts_with("nnnn"), "{file}");
    assert!(out2.join(file).is_file());
}

/// Every file under `dir`, sorted.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                todo.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}
