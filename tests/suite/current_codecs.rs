//! The current encoders (issue 25): avif encoder=aom (libavif + libaom), jxl (libjxl), jpegli
//! and htj2k (OpenJPH), all run in the bundled Python worker. `codecbench codecs` names the
//! library versions; on the bundled corpus every saved file decodes with an independent Debian
//! tool (avifdec, djxl, djpeg, opj_decompress) to the pixels codecbench measured; `jxl:d=0` is
//! exact on 16-bit RGBA and LA.
//!
//! Needs `pip install imagecodecs pyjpegli` and the Debian tools; without them the tests are
//! skipped, except in CI, where .ci/run installs them.

use crate::common;

use std::path::Path;
use std::process::Command;

use codecbench::pixels::{Image, Samples};
use codecbench::record::{Timing, TimingKind};

/// The bundled worker's packages and the independent decoders, or nothing (tests skipped).
fn ready() -> bool {
    let worker = ["jxl", "jpegli", "htj2k"]
        .iter()
        .all(|c| !common::codec(c).version().contains("not available"));
    let tools = ["avifdec", "djxl", "djpeg", "opj_decompress"]
        .iter()
        .all(|t| codecbench::codec::external::find_program(t).is_some());
    if !(worker && tools) && std::env::var_os("CI").is_some() {
        panic!(
            "worker packages ({}) or decoders ({}) missing: .ci/run installs them",
            common::codec("jxl").version(),
            tools
        );
    }
    if !(worker && tools) {
        eprintln!("imagecodecs/pyjpegli or avifdec/djxl/djpeg/opj_decompress missing: skipped");
    }
    worker && tools
}

/// "3.13.1" after `prefix` in `text`, as (major, minor).
fn version_after(text: &str, prefix: &str) -> Option<(u32, u32)> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[test]
fn codecs_lists_the_current_libraries_with_versions() {
    if !ready() {
        return;
    }
    let o = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .arg("codecs")
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let text = String::from_utf8(o.stdout).unwrap();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
            .to_string()
    };
    let avif = line("avif");
    assert!(avif.contains("rav1e 0."), "{avif}");
    let aom = version_after(&avif, "libaom ").expect(&avif);
    assert!(aom >= (3, 12), "tune=iq needs libaom >= 3.12: {avif}");
    let jxl = line("jxl");
    assert!(
        version_after(&jxl, "libjxl ").expect(&jxl) >= (0, 11),
        "{jxl}"
    );
    assert!(line("jpegli").contains("jpegli"));
    let htj2k = line("htj2k");
    assert!(version_after(&htj2k, "openjph ").is_some(), "{htj2k}");
    assert!(text.contains("tune default|iq|ssim|psnr"), "{avif}");
}

/// Runs the independent decoder on `file`; the pixels it wrote.
fn independent(file: &Path, depth: u8, dir: &Path) -> Image {
    let ext = file.extension().unwrap().to_str().unwrap();
    let stem = file.file_stem().unwrap().to_str().unwrap();
    let (out, mut cmd) = match ext {
        // Nearest-neighbour chroma, as codecbench's AVIF decoder (its `decoder` column).
        "avif" => {
            let out = dir.join(format!("{stem}.avifdec.png"));
            let mut c = Command::new("avifdec");
            c.args(["--upsampling", "nearest", "--depth", "8"])
                .arg(file)
                .arg(&out);
            (out, c)
        }
        "jxl" => {
            let out = dir.join(format!("{stem}.djxl.png"));
            let mut c = Command::new("djxl");
            c.arg(file)
                .arg(&out)
                .arg(format!("--bits_per_sample={depth}"));
            (out, c)
        }
        "jpg" => {
            let out = dir.join(format!("{stem}.djpeg.pnm"));
            let mut c = Command::new("djpeg");
            c.arg("-outfile").arg(&out).arg(file);
            (out, c)
        }
        "j2c" => {
            let out = dir.join(format!("{stem}.opj.pnm"));
            let mut c = Command::new("opj_decompress");
            c.arg("-i").arg(file).arg("-o").arg(&out);
            (out, c)
        }
        other => panic!("unexpected saved file .{other}"),
    };
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}: {o:?}", file.display());
    let bytes = std::fs::read(&out).unwrap();
    codecbench::corpus::decode_bytes(&bytes, u64::MAX).unwrap()
}

/// Largest absolute difference and mean squared error (on an 8-bit scale) of two images.
fn diff(a: &Image, b: &Image) -> (u32, f64) {
    let peak = a.layout().peak() as f64;
    let (mut sum, mut max) = (0.0f64, 0u32);
    for i in 0..a.sample_count() {
        let d = a.sample(i).abs_diff(b.sample(i));
        sum += (d as f64 / peak * 255.0).powi(2);
        max = max.max(d);
    }
    (max, sum / a.sample_count() as f64)
}

#[test]
fn saved_files_decode_with_independent_tools_to_the_measured_pixels() {
    if !ready() {
        return;
    }
    // The bundled corpus without its one 3.4 MP photograph (70% of its pixels, CI time); the
    // other ten cover RGB, RGBA, 8- and 16-bit gray.
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for e in std::fs::read_dir(common::root().join("corpus")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".png") && name != "flower_large.png" {
            std::fs::copy(&p, corpus.join(&name)).unwrap();
        }
    }
    let out = dir.path().join("run");
    let rows = common::run_rows(
        &corpus,
        &out,
        &[
            "--quiet",
            "--no-cache",
            "--no-report",
            "--save-encoded",
            "--metrics",
            "psnr",
            "--codec",
            "avif:q=60,speed=9,encoder=aom,yuv=444,420",
            "--codec",
            "jxl:d=0,2,effort=2",
            "--codec",
            "jpegli:q=80,yuv=420,444",
            "--codec",
            "htj2k:qstep=0,0.02",
        ],
    );
    assert_eq!(rows.len(), 10 * 8);
    let mut lossless = 0;
    for r in &rows {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        assert!(
            matches!(
                r.timing,
                Timing::Same(TimingKind::Reported)
                    | Timing::Split {
                        encode: TimingKind::Reported,
                        ..
                    }
            ),
            "{} {}: timing {}",
            r.image,
            r.spec,
            r.timing
        );
        let codec = common::codec(r.spec.split(':').next().unwrap());
        let file = out.join(&r.encoded_file);
        let ours = codec.decode(&std::fs::read(&file).unwrap()).unwrap().image;
        let theirs = independent(&file, ours.depth(), dir.path());
        assert_eq!(theirs.layout(), ours.layout(), "{} {}", r.image, r.spec);
        let (max, mse) = diff(&ours, &theirs);
        let what = format!("{} {}: max {max}, mse {mse:.4}", r.image, r.spec);
        if r.lossless {
            lossless += 1;
            assert_eq!(r.roundtrip_exact, Some(true), "{what}");
            assert_eq!(max, 0, "lossless decodes must agree exactly: {what}");
        } else if codec.name() == "jpegli" {
            // djpeg and codecbench's decoder are both libjpeg-turbo's islow IDCT with fancy
            // upsampling: the same integer arithmetic.
            assert_eq!(max, 0, "{what}");
        } else if codec.name() == "avif" {
            // The same AV1 samples (AV1 decoding is exact); YUV->RGB in float here and in
            // libavif's (or libyuv's) fixed point there: at most a level or two apart.
            assert!(max <= 2 && mse < 0.5, "{what}");
        } else {
            // JPEG XL's XYB->RGB and JPEG 2000's 9/7 wavelet are float arithmetic in both
            // decoders (the JPEG XL conformance tolerance allows it): a level or two on an
            // 8-bit scale, far below the coding error (an MSE of 1 is 48 dB).
            assert!(mse < 1.0, "{what}");
        }
    }
    assert_eq!(lossless, 2 * 10, "jxl d=0 and htj2k qstep=0 on every image");
}

#[test]
fn jxl_lossless_is_exact_on_16_bit_rgba_and_la() {
    if !ready() {
        return;
    }
    let codec = common::codec("jxl");
    let params = &common::parse_spec("jxl:d=0,effort=2")[0].params;
    let g = common::textured_u16(23, 17, 5);
    let Samples::U16(v) = &g.samples else {
        unreachable!()
    };
    let rgba: Vec<u16> = v
        .iter()
        .flat_map(|&s| [s, s.wrapping_mul(7), 65535 - s, s.wrapping_mul(13) | 1])
        .collect();
    let la: Vec<u16> = v.iter().flat_map(|&s| [s, s.wrapping_mul(11)]).collect();
    let dir = tempfile::tempdir().unwrap();
    for img in [
        Image::new_u16(23, 17, 4, rgba).unwrap(),
        Image::new_u16(23, 17, 2, la).unwrap(),
    ] {
        let bytes = codec.encode(&img, params).unwrap().bytes;
        let back = codec.decode(&bytes).unwrap().image;
        assert_eq!(back, img, "libjxl round trip of {:?}", img.layout());
        let file = dir.path().join(format!("c{}.jxl", img.channels));
        std::fs::write(&file, &bytes).unwrap();
        let theirs = independent(&file, 16, dir.path());
        assert_eq!(theirs, img, "djxl reading {:?}", img.layout());
    }
}

#[test]
fn libaom_tunes_differ_and_rav1e_refuses_aom_only_options() {
    if !ready() {
        return;
    }
    let img = common::textured_u8(64, 48, 3, 9);
    let codec = common::codec("avif");
    let size = |spec: &str| {
        let p = &common::parse_spec(spec)[0].params;
        codec.encode(&img, p).map(|e| e.bytes)
    };
    let iq = size("avif:q=50,speed=9,encoder=aom,tune=iq").unwrap();
    let ssim = size("avif:q=50,speed=9,encoder=aom,tune=ssim").unwrap();
    let default = size("avif:q=50,speed=9,encoder=aom").unwrap();
    assert_ne!(iq, ssim, "tune reaches libaom");
    // libavif 1.4 with libaom >= 3.13 picks tune=iq for still images by itself.
    assert_eq!(default, iq, "libavif's default for stills is tune=iq");
    let e = size("avif:q=50,speed=10,tune=ssim")
        .unwrap_err()
        .to_string();
    assert!(e.contains("tune=ssim needs encoder=aom"), "{e}");
    let e = size("avif:q=50,speed=10,yuv=420").unwrap_err().to_string();
    assert!(e.contains("yuv=420 needs encoder=aom"), "{e}");
}

#[test]
fn without_the_python_packages_cells_fail_naming_the_pip_command() {
    // A Python that ignores site-packages (-S) cannot import imagecodecs or pyjpegli.
    let dir = tempfile::tempdir().unwrap();
    let python = dir.path().join("python-without-packages");
    std::fs::write(&python, "#!/bin/sh\nexec python3 -S \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .arg("codecs")
        .env("CODECBENCH_PYTHON", &python)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let jxl = text.lines().find(|l| l.starts_with("jxl ")).unwrap();
    assert!(
        jxl.contains("not available") && jxl.contains("pip install imagecodecs pyjpegli"),
        "{jxl}"
    );
    let (_d, corpus) = common::small_corpus();
    let out = dir.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--metrics",
            "psnr",
        ])
        .args(["--codec", "jxl:d=1", "--codec", "png"])
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .env("CODECBENCH_PYTHON", &python)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "failed cells: exit 1; {o:?}");
    let rows: Vec<codecbench::record::CellRecord> =
        codecbench::export::read_csv(&out.join("results.csv")).unwrap();
    assert_eq!(rows.len(), 8);
    for r in &rows {
        if r.spec.starts_with("jxl") {
            assert!(!r.is_ok());
            assert!(
                r.message.contains("pip install imagecodecs pyjpegli"),
                "{}",
                r.message
            );
        } else {
            assert!(r.is_ok(), "{}", r.message);
        }
    }
}
