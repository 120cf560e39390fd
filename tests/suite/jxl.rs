//! JPEG XL (libjxl >= 0.11 encode and decode in the bundled worker): lossless d=0 exact on
//! every corpus image at its native layout (8- and 16-bit, gray and alpha); saved files read
//! back by Debian's `djxl` 0.7 (an independent build of libjxl's decoder) and by jxl-oxide
//! agree with the pixels measured; invalid settings rejected with key and range.

use crate::common;

use std::process::Command;

use codecbench::codec::Registry;
use codecbench::config::expand;
use codecbench::corpus::{discover, load};
use codecbench::pixels::{Image, Samples};
use codecbench::run::{pool, run_plan};

/// The bundled worker's libjxl and Debian's djxl, or nothing (tests skipped, except in CI
/// where .ci/run installs them).
fn tools() -> bool {
    let found = Command::new("djxl").arg("--version").output().is_ok()
        && !common::codec("jxl").version().contains("not available");
    if !found && std::env::var_os("CI").is_some() {
        panic!(
            "djxl or libjxl missing ({}): .ci/run installs libjxl-tools and `pip install imagecodecs pyjpegli`",
            common::codec("jxl").version()
        );
    }
    if !found {
        eprintln!("djxl or imagecodecs (libjxl) not installed: skipped");
    }
    found
}

#[test]
fn lossless_is_exact_on_every_corpus_image_at_native_depth() {
    if !tools() {
        return;
    }
    let (found, skipped, _) = discover(&[common::root().join("corpus")]);
    assert!(skipped.is_empty(), "{skipped:?}");
    let sources: Vec<_> = found
        .iter()
        .map(|(id, p)| load(id, p, u64::MAX).unwrap())
        .collect();
    assert_eq!(sources.len(), 11);
    let configs = expand(
        &Registry::builtin(),
        &["jxl:d=0,effort=1".into(), "jxl:d=2,effort=3".into()],
    )
    .unwrap();
    let rows = run_plan(&pool(2).unwrap(), &sources, &configs, &common::engine());
    let mut layouts = std::collections::BTreeSet::new();
    for r in &rows {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        assert_eq!(r.conversion, "none", "native layout: {}", r.image);
        // libjxl runs in the worker process: its CPU time is the one the worker measured
        // around the library call, never the waiting thread's near-zero.
        let cpu = r.encode_cpu_ms.expect("the worker's CPU time");
        assert!(cpu > 0.0, "{} encode_cpu_ms {cpu}", r.image);
        assert_eq!(
            r.timing,
            codecbench::record::Timing::Same(codecbench::record::TimingKind::Reported),
            "{}",
            r.image
        );
        assert!(
            r.codec_version.starts_with("libjxl 0."),
            "{}",
            r.codec_version
        );
        if r.lossless {
            assert_eq!(r.roundtrip_exact, Some(true), "{}", r.image);
            assert_eq!(r.mse, Some(0.0));
            layouts.insert((r.channels, r.bit_depth));
        } else {
            // d=2 is well above visually lossless but far from broken colour (~10-20 dB).
            assert!(r.psnr.unwrap() > 28.0, "{} {}", r.image, r.psnr.unwrap());
        }
    }
    for l in [(1, 8), (1, 16), (3, 8), (4, 8)] {
        assert!(layouts.contains(&l), "lossless covered {l:?}: {layouts:?}");
    }
}

#[test]
fn synthetic_gray_alpha_and_16_bit_rgb_round_trip_exactly() {
    if !tools() {
        return;
    }
    let codec = common::codec("jxl");
    let params = &common::parse_spec("jxl:d=0,effort=2")[0].params;
    let la = {
        let rgba = common::textured_u8(19, 13, 4, 7);
        let v = rgba.as_u8().unwrap();
        let data = v.chunks(4).flat_map(|p| [p[0], p[3]]).collect();
        Image::new_u8(19, 13, 2, data).unwrap()
    };
    let rgb16 = {
        let g = common::textured_u16(21, 11, 3);
        let Samples::U16(v) = &g.samples else {
            unreachable!()
        };
        let data = v
            .iter()
            .flat_map(|&s| [s, s.wrapping_mul(7), 65535 - s])
            .collect();
        Image::new_u16(21, 11, 3, data).unwrap()
    };
    for img in [la, rgb16] {
        let bytes = codec.encode(&img, params).unwrap().bytes;
        let back = codec.decode(&bytes).unwrap().image;
        assert_eq!(back, img, "{:?}", img.layout());
    }
}

#[test]
fn saved_files_decode_the_same_in_djxl() {
    if !tools() {
        return;
    }
    let (_dir, out, rows) = common::saved_run(
        "jxl:d=0,1,4,effort=3",
        &["chelsea.png", "ria_alpha.png", "ct_small_16bit.png"],
    );
    assert_eq!(rows.len(), 7 * 3);
    let codec = common::codec("jxl");
    for r in &rows {
        assert!(r.is_ok(), "{r:?}");
        let file = out.join(&r.encoded_file);
        let bytes = std::fs::read(&file).unwrap();
        let ours = codec.decode(&bytes).unwrap().image;
        // jxl-oxide (the reader of JPEG XL sources) agrees too.
        let oxide = codecbench::corpus::decode_bytes(&bytes, u64::MAX).unwrap();
        assert_eq!(oxide.layout(), ours.layout(), "{} {}", r.image, r.spec);
        if r.lossless {
            assert_eq!(oxide, ours, "{} {}", r.image, r.spec);
        }
        let png = file.with_extension("djxl.png");
        let d = Command::new("djxl")
            .arg(&file)
            .arg(&png)
            .arg(format!("--bits_per_sample={}", ours.depth()))
            .output()
            .unwrap();
        assert!(d.status.success(), "{}: {d:?}", file.display());
        let theirs = common::load_any(&png);
        assert_eq!(theirs.layout(), ours.layout(), "{} {}", r.image, r.spec);
        let peak = ours.layout().peak() as f64;
        let (mut sum, mut max) = (0.0f64, 0u32);
        for i in 0..ours.sample_count() {
            let diff = ours.sample(i).abs_diff(theirs.sample(i));
            sum += (diff as f64 / peak * 255.0).powi(2);
            max = max.max(diff);
        }
        let mse = sum / ours.sample_count() as f64;
        if r.lossless {
            assert_eq!(
                max, 0,
                "{} {}: lossless decodes must agree exactly",
                r.image, r.spec
            );
        } else {
            // Lossy: two conforming decoders of the same file differ only by float rounding in
            // the XYB->sRGB step (the spec allows a small per-sample tolerance); on an 8-bit
            // scale that is at most a level or two here and far below the coding error
            // (an MSE of 1 is 48 dB, while d=1..4 is 30-45 dB).
            assert!(
                mse < 1.0,
                "{} {}: djxl differs: mse {mse} (8-bit scale), max {max}",
                r.image,
                r.spec
            );
        }
    }
}

#[test]
fn invalid_settings_are_rejected_with_key_and_range() {
    let reg = Registry::builtin();
    for (spec, key, want) in [
        ("jxl:d=30", "d", "0..25"),
        ("jxl:d=-1", "d", "0..25"),
        ("jxl:effort=11", "effort", "1..10"),
    ] {
        let err = reg.parse_spec(spec).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains(want), "{spec}: {err}");
    }
}
