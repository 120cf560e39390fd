//! The baseline codecs (rle, huffman, gzip, zstd, brotli, xz, png-gzip, palette,
//! jpeg:arithmetic=true): exact round trips on the whole bundled corpus, saved files that
//! independent tools (Python's gzip and lzma modules, the `zstd`, `brotli` and `djpeg` CLIs, a
//! PackBits decoder written in Python) read back to the documented raw layout or the
//! measured pixels, palette exactness and parameter checking.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use codecbench::codec::Registry;
use codecbench::config::expand;
use codecbench::corpus::{discover, load, SourceImage};
use codecbench::record::CellRecord;
use codecbench::run::{pool, run_plan};

/// Every lossless baseline at its defaults.
const LOSSLESS: &[&str] = &["rle", "huffman", "gzip", "zstd", "brotli", "xz", "png-gzip"];

fn corpus() -> Vec<SourceImage> {
    let (found, skipped, _) = discover(&[common::root().join("corpus")]);
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(found.len(), 11, "the bundled corpus");
    found
        .iter()
        .map(|(id, p)| load(id, p, u64::MAX).unwrap())
        .collect()
}

fn run(sources: &[SourceImage], specs: &[&str], save: Option<&Path>) -> Vec<CellRecord> {
    let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
    let configs = expand(&Registry::builtin(), &specs).unwrap();
    let mut engine = common::engine();
    engine.save_encoded = save.map(Path::to_path_buf);
    let rows = run_plan(&pool(2).unwrap(), sources, &configs, &engine);
    assert_eq!(rows.len(), sources.len() * configs.len());
    rows
}

/// True when `tool` runs; CI must have it (.ci/run installs it), elsewhere its checks skip.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is missing (.ci/run installs it)"
        );
        eprintln!("{tool} not found: its checks are skipped");
    }
    ok
}

/// Runs `cmd` with `input` on stdin and returns stdout, failing the test on a non-zero exit.
fn pipe(cmd: &mut Command, input: &[u8]) -> Vec<u8> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd:?} failed");
    out.stdout
}

/// A PackBits decoder for the documented rle layout, written independently in Python:
/// planes of rows, 1- or 2-byte samples; prints the samples re-interleaved (raw layout).
const PY_PACKBITS: &str = r#"
import sys
d = sys.stdin.buffer.read()
assert d[:2] == b"CB"
c, depth = d[2], d[3]
w, h = int.from_bytes(d[4:8], "big"), int.from_bytes(d[8:12], "big")
s = 2 if depth == 16 else 1
pos, planes = 12, []
for _ in range(c * h):
    n = 0
    while n < w:
        k = d[pos]; pos += 1
        if k < 128:
            planes.append(d[pos:pos + (k + 1) * s]); pos += (k + 1) * s; n += k + 1
        elif k > 128:
            planes.append(d[pos:pos + s] * (257 - k)); pos += s; n += 257 - k
assert pos == len(d)
flat = b"".join(planes)
plane = w * h * s
out = bytearray()
for i in range(w * h):
    for ch in range(c):
        out += flat[ch * plane + i * s: ch * plane + i * s + s]
sys.stdout.buffer.write(bytes(out))
"#;

#[test]
fn lossless_baselines_round_trip_every_corpus_image() {
    let sources = corpus();
    let rows = run(&sources, LOSSLESS, None);
    let mut layouts = std::collections::BTreeSet::new();
    for r in &rows {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        assert_eq!(r.roundtrip_exact, Some(true), "{} {}", r.image, r.spec);
        assert_eq!(r.psnr, Some(f64::INFINITY), "{} {}", r.image, r.spec);
        assert_eq!(r.conversion, "none", "{} {}", r.image, r.spec);
        layouts.insert((r.bit_depth, r.channels));
        assert!(r.source_bytes > 0 && r.ratio_vs_source.is_some());
    }
    assert!(layouts.contains(&(16, 1)) && layouts.contains(&(8, 4)) && layouts.contains(&(8, 1)));
}

#[test]
fn saved_raw_sample_files_decompress_with_independent_tools() {
    let (_dir, root) = common::small_corpus();
    let (found, _, _) = discover(&[root]);
    let sources: Vec<_> = found
        .iter()
        .map(|(id, p)| load(id, p, u64::MAX).unwrap())
        .collect();
    let out = tempfile::tempdir().unwrap();
    let specs = [
        "rle",
        "huffman",
        "gzip:level=1,9",
        "zstd:level=3,19",
        "brotli:level=5,11",
        "xz:level=0,6",
        "png-gzip",
    ];
    let rows = run(&sources, &specs, Some(out.path()));
    let (zstd, brotli, python) = (have("zstd"), have("brotli"), have("python3"));
    let mut checked = 0;
    for r in rows {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        let file: PathBuf = out.path().join(&r.encoded_file);
        let bytes = std::fs::read(&file).unwrap();
        let src = sources.iter().find(|s| s.id == r.image).unwrap();
        let src_image = src.pixels().unwrap();
        let want = src_image.to_bytes(true);
        let py = |code: &str| {
            let mut c = Command::new("python3");
            c.args(["-c", code]);
            c
        };
        let stream = &bytes[12..];
        if r.codec == "png-gzip" {
            // gunzip (Python) gives a PNG that the corpus reader decodes to the same pixels.
            if python {
                let png = pipe(&mut py("import gzip,sys;sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))"), &bytes);
                let img = codecbench::corpus::decode_bytes(&png, u64::MAX).unwrap();
                assert_eq!(img, *src_image, "{}", file.display());
                checked += 1;
            }
            continue;
        }
        // The documented 12-byte header.
        assert_eq!(&bytes[..2], b"CB");
        assert_eq!(
            (bytes[2], bytes[3]),
            (src_image.channels, src_image.depth())
        );
        assert_eq!(&bytes[4..8], &src_image.width.to_be_bytes());
        assert_eq!(&bytes[8..12], &src_image.height.to_be_bytes());
        let raw = match r.codec.as_str() {
            "gzip" | "huffman" if python => pipe(&mut py("import gzip,sys;sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))"), stream),
            "xz" if python => pipe(&mut py("import lzma,sys;sys.stdout.buffer.write(lzma.decompress(sys.stdin.buffer.read(), format=lzma.FORMAT_XZ))"), stream),
            "rle" if python => pipe(&mut py(PY_PACKBITS), &bytes),
            "zstd" if zstd => pipe(Command::new("zstd").args(["-d", "-c", "-q"]), stream),
            "brotli" if brotli => pipe(Command::new("brotli").args(["-d", "-c"]), stream),
            _ => continue,
        };
        assert!(raw == want, "{}: not the raw samples", file.display());
        checked += 1;
    }
    eprintln!("{checked} saved files checked with independent tools");
}

#[test]
fn arithmetic_jpeg_decodes_with_djpeg_to_the_measured_pixels() {
    if !have("djpeg") {
        return;
    }
    let sources: Vec<_> = corpus()
        .into_iter()
        .filter(|s| {
            [
                "camera.png",
                "coffee.png",
                "ria_alpha.png",
                "ct_small_16bit.png",
            ]
            .contains(&s.id.as_str())
        })
        .collect();
    assert_eq!(sources.len(), 4);
    let out = tempfile::tempdir().unwrap();
    let rows = run(
        &sources,
        &[
            "jpeg:q=75,arithmetic=true",
            "jpeg:q=60,subsampling=444,progressive=false,arithmetic=true",
        ],
        Some(out.path()),
    );
    let jpeg = common::codec("jpeg");
    for r in rows {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        let file = out.path().join(&r.encoded_file);
        let bytes = std::fs::read(&file).unwrap();
        // SOF9 (sequential) or SOF10 (progressive): arithmetic-coded frames.
        assert!(bytes
            .windows(2)
            .any(|w| w == [0xFF, 0xC9] || w == [0xFF, 0xCA]));
        let ours = jpeg.decode(&bytes).unwrap().image;
        let pnm = Command::new("djpeg").arg(&file).output().unwrap();
        assert!(pnm.status.success(), "djpeg {}", file.display());
        let theirs = codecbench::corpus::decode_bytes(&pnm.stdout, u64::MAX).unwrap();
        assert!(
            ours == theirs,
            "{}: djpeg and the harness decode differently",
            r.image
        );
    }
}

#[test]
fn arithmetic_coding_saves_bytes_at_nearly_the_same_quality() {
    let sources: Vec<_> = corpus()
        .into_iter()
        .filter(|s| ["camera.png", "coffee.png"].contains(&s.id.as_str()))
        .collect();
    let rows = run(&sources, &["jpeg:q=75", "jpeg:q=75,arithmetic=true"], None);
    for pair in rows.chunks(2) {
        let (huff, arith) = (&pair[0], &pair[1]);
        assert!(huff.is_ok() && arith.is_ok());
        assert!(
            arith.bytes < huff.bytes,
            "{}: {:?} vs {:?}",
            huff.image,
            arith.bytes,
            huff.bytes
        );
        // Not identical: mozjpeg's trellis quantisation weighs each coefficient's rate under
        // the entropy coder in use, so the coefficients differ a little (camera.png q75:
        // 27.71 vs 27.73 dB). 0.2 dB bounds that; a broken coder would be far off. The unit
        // test in src/codec/jpeg.rs shows identical pixels once trellis is off.
        let d = (arith.psnr.unwrap() - huff.psnr.unwrap()).abs();
        assert!(d < 0.2, "{}: PSNR differs by {d} dB", huff.image);
    }
}

#[test]
fn palette_256_is_exact_on_an_image_with_fewer_colours() {
    // camera.png is 8-bit gray: at most 256 distinct values. A synthetic RGBA image with 90
    // colours covers alpha.
    let data: Vec<u8> = (0..40 * 30)
        .flat_map(|i| {
            let k = (i % 90) as u8;
            [k * 2, 255 - k, k / 3, 100 + k]
        })
        .collect();
    let rgba = codecbench::pixels::Image::new_u8(40, 30, 4, data).unwrap();
    let mut sources: Vec<_> = corpus()
        .into_iter()
        .filter(|s| s.id == "camera.png")
        .collect();
    sources.push(common::source("rgba90.png", rgba));
    let rows = run(
        &sources,
        &["palette:colors=256", "palette:colors=16,dither=true"],
        None,
    );
    for r in &rows {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        assert!(!r.lossless);
        let exact = r.spec.starts_with("palette:colors=256");
        assert_eq!(r.roundtrip_exact, Some(exact), "{} {}", r.image, r.spec);
    }
}

#[test]
fn palette_reduces_a_photo_to_its_palette_size() {
    let sources: Vec<_> = corpus()
        .into_iter()
        .filter(|s| s.id == "coffee.png")
        .collect();
    let rows = run(&sources, &["palette:colors=8,64"], None);
    for r in &rows {
        assert!(r.is_ok(), "{}: {}", r.spec, r.message);
        assert_eq!(r.roundtrip_exact, Some(false));
    }
    // More colours, more fidelity (a 64-colour palette beats an 8-colour one on PSNR).
    assert!(
        rows[1].psnr > rows[0].psnr,
        "{:?} {:?}",
        rows[0].psnr,
        rows[1].psnr
    );
}

#[test]
fn invalid_levels_are_rejected_with_keys_and_ranges() {
    let reg = Registry::builtin();
    for (spec, range) in [
        ("gzip:level=10", "1..9"),
        ("zstd:level=23", "1..22"),
        ("brotli:level=12", "0..11"),
        ("xz:level=10", "0..9"),
        ("png-gzip:level=0", "1..9"),
        ("palette:colors=1", "2..256"),
        ("palette:colors=300", "2..256"),
    ] {
        let e = reg.parse_spec(spec).unwrap_err().to_string();
        assert!(
            e.contains(range) && e.contains(spec.split(':').next().unwrap()),
            "{spec}: {e}"
        );
    }
    for spec in ["rle:level=3", "huffman:level=1"] {
        let e = reg.parse_spec(spec).unwrap_err().to_string();
        assert!(e.contains("takes no keys"), "{spec}: {e}");
    }
}
