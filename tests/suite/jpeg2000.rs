//! JPEG 2000 through the whole cell engine on every corpus image: the lossless codec is exact at
//! native depth (16-bit gray, alpha); the lossy files we save are read by Debian's
//! `opj_decompress` (OpenJPEG 2.5.0, a separate build of the same library family as our bundled
//! 2.5.3) to the same pixels as our decoder, and their size meets the requested ratio; bad
//! settings are refused naming the keys and their ranges.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use codecbench::codec::Registry;
use codecbench::config::expand;
use codecbench::corpus::{discover, load, SourceImage};
use codecbench::pixels::Image;
use codecbench::record::CellRecord;
use codecbench::run::{pool, run_plan};

fn corpus() -> Vec<SourceImage> {
    let (found, skipped, _) = discover(&[common::root().join("corpus")]);
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(found.len(), 11, "the bundled corpus");
    found
        .iter()
        .map(|(id, p)| load(id, p, u64::MAX).unwrap())
        .collect()
}

fn run(specs: &[&str], save: Option<&Path>) -> (Vec<SourceImage>, Vec<CellRecord>) {
    let sources = corpus();
    let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
    let configs = expand(&Registry::builtin(), &specs).unwrap();
    let mut engine = common::engine();
    engine.save_encoded = save.map(Path::to_path_buf);
    let rows = run_plan(&pool(2).unwrap(), &sources, &configs, &engine);
    assert_eq!(rows.len(), sources.len() * configs.len());
    (sources, rows)
}

#[test]
fn lossless_round_trips_every_corpus_image_at_native_depth() {
    let (sources, rows) = run(&["jpeg2000-lossless"], None);
    for (r, src) in rows.iter().zip(&sources) {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        assert_eq!(r.roundtrip_exact, Some(true), "{}", r.image);
        assert_eq!(r.psnr, Some(f64::INFINITY), "{}", r.image);
        // Nothing converted: 16-bit stays 16-bit, gray stays gray, alpha is kept.
        assert_eq!(r.conversion, "none", "{}", r.image);
        assert_eq!(
            r.codec_input,
            src.pixels().unwrap().layout().to_string(),
            "{}",
            r.image
        );
    }
    let layouts: Vec<String> = sources
        .iter()
        .map(|s| s.pixels().unwrap().layout().to_string())
        .collect();
    for l in ["L16", "L8", "RGB8", "RGBA8"] {
        assert!(layouts.iter().any(|x| x == l), "corpus covers {l}");
    }
}

/// Debian's opj_decompress, when installed (.ci/run installs libopenjp2-tools).
fn opj_decompress() -> Option<PathBuf> {
    let found = Command::new("opj_decompress").arg("-h").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have opj_decompress installed (apt-get install libopenjp2-tools)"
        );
        eprintln!("opj_decompress not installed: skipping the independent decode");
        return None;
    }
    Some(PathBuf::from("opj_decompress"))
}

/// Decodes with opj_decompress to its `.rawl` output: components one after another, each row by
/// row, one byte per sample up to 8 bits and two bytes little-endian above.
fn decode_with_opj(tool: &Path, file: &Path, like: &Image, dir: &Path) -> Image {
    let out = dir.join(format!(
        "{}.rawl",
        file.file_stem().unwrap().to_string_lossy()
    ));
    let o = Command::new(tool)
        .arg("-i")
        .arg(file)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let raw = std::fs::read(&out).unwrap();
    let (n, count) = (like.channels as usize, like.pixel_count());
    let wide = like.depth() == 16;
    assert_eq!(
        raw.len(),
        count * n * if wide { 2 } else { 1 },
        "{}",
        file.display()
    );
    let sample = |c: usize, i: usize| -> u16 {
        let k = c * count + i;
        if wide {
            u16::from_le_bytes([raw[2 * k], raw[2 * k + 1]])
        } else {
            raw[k] as u16
        }
    };
    let interleaved: Vec<u16> = (0..count)
        .flat_map(|i| (0..n).map(move |c| (c, i)))
        .map(|(c, i)| sample(c, i))
        .collect();
    if wide {
        Image::new_u16(like.width, like.height, like.channels, interleaved).unwrap()
    } else {
        let v = interleaved.into_iter().map(|s| s as u8).collect();
        Image::new_u8(like.width, like.height, like.channels, v).unwrap()
    }
}

#[test]
fn lossy_files_decode_identically_with_opj_decompress_and_meet_the_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let ratios = [12.0, 48.0, 160.0];
    let (sources, rows) = run(&["jpeg2000:ratio=12,48,160"], Some(dir.path()));
    let tool = opj_decompress();
    let ours = common::codec("jpeg2000");
    for (k, r) in rows.iter().enumerate() {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        assert_eq!(r.conversion, "none", "{}", r.image);
        let ratio = ratios[k % ratios.len()];
        let src = &sources[k / ratios.len()];
        // Rate: OpenJPEG sizes the file to raw/ratio bytes. Measured on this corpus at ratios
        // 12, 48 and 160 (OpenJPEG 2.5.3): at most 130 bytes or 3.1% under the target
        // (camera.png at 48: rate allocation stops at a coding-pass boundary under the
        // budget), and over it only by the fixed cost of a file, the JP2 boxes and main
        // header (the smallest file is 263 bytes: mr_small_16bit.png at 160, target 51).
        // Bounds: 4% under, 250 bytes over.
        let target = src.pixels().unwrap().raw_bytes() as f64 / ratio;
        let bytes = r.bytes.unwrap() as f64;
        assert!(
            bytes <= target + 250.0,
            "{} {}: {bytes} > {target}",
            r.image,
            r.spec
        );
        assert!(
            bytes >= target * 0.96,
            "{} {}: {bytes} < {target}",
            r.image,
            r.spec
        );
        if target > 2000.0 {
            // Away from that floor the ratio is met to within 4% (worst measured 3.1%).
            let ratio_got = r.compression_ratio.unwrap();
            assert!(
                (ratio_got / ratio - 1.0).abs() < 0.04,
                "{} {}: {ratio_got}",
                r.image,
                r.spec
            );
        }
        let Some(tool) = &tool else { continue };
        let file = dir.path().join(&r.encoded_file);
        assert!(file.extension().unwrap() == "jp2", "{}", file.display());
        let mine = ours.decode(&std::fs::read(&file).unwrap()).unwrap().image;
        let theirs = decode_with_opj(tool, &file, &mine, dir.path());
        // Same library family, same integer inverse transforms: exact equality expected.
        assert_eq!(
            mine.first_difference(&theirs),
            None,
            "{}: our decoder and opj_decompress differ",
            file.display()
        );
    }
}

#[test]
fn invalid_settings_are_rejected_with_the_keys_and_ranges() {
    for bad in [
        "jpeg2000:ratio=1",
        "jpeg2000:ratio=401",
        "jpeg2000:levels=11",
    ] {
        let err = Registry::builtin().parse_spec(bad).unwrap_err().to_string();
        for key in ["ratio 2..400", "levels 0..10", "codeblock 64|32|16"] {
            assert!(err.contains(key), "{bad}: {err}");
        }
    }
    let err = Registry::builtin()
        .parse_spec("jpeg2000-lossless:ratio=10")
        .unwrap_err()
        .to_string();
    assert!(err.contains("levels 0..10"), "{err}");
}

#[test]
fn edge_sized_images_are_taken_not_crashed_on() {
    // OpenJPEG's only size limits (2^32-1 a side, memory) and QOI's (400 M pixels) lie beyond
    // the harness's default --max-pixels (100 M), so no small image is refused: the edge cases
    // below (one pixel, one row, one column, odd sizes, 16-bit with alpha) must all be ok rows.
    let images = [
        ("one.png", Image::new_u8(1, 1, 3, vec![7, 8, 9]).unwrap()),
        ("row.png", common::textured_u8(70000, 1, 1, 1)),
        ("column.png", common::textured_u8(1, 3000, 3, 2)),
        (
            "la16.png",
            Image::new_u16(5, 3, 2, (0..30).map(|i| i * 2000).collect()).unwrap(),
        ),
    ];
    let sources: Vec<_> = images
        .into_iter()
        .map(|(id, img)| common::source(id, img))
        .collect();
    let specs: Vec<String> = ["jpeg2000:ratio=2,400", "jpeg2000-lossless", "qoi"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let configs = expand(&Registry::builtin(), &specs).unwrap();
    let rows = run_plan(&pool(2).unwrap(), &sources, &configs, &common::engine());
    assert_eq!(rows.len(), 16);
    for r in &rows {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        if r.lossless {
            assert_eq!(r.roundtrip_exact, Some(true), "{} {}", r.image, r.spec);
        }
    }
}
