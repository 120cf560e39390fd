//! Shared helpers for integration tests: small synthetic images with texture (so lossy codecs
//! have something to lose) written as real image files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use codecbench::corpus::SourceImage;
use codecbench::pixels::Image;

/// Deterministic pseudo-random bytes (xorshift), so tests need no RNG crate.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A textured 8-bit image: gradients plus a little noise.
pub fn textured_u8(w: u32, h: u32, channels: u8, seed: u64) -> Image {
    let n = noise((w * h * channels as u32) as usize, seed);
    let mut data = Vec::with_capacity(n.len());
    for y in 0..h {
        for x in 0..w {
            for c in 0..channels as u32 {
                let i = ((y * w + x) * channels as u32 + c) as usize;
                let base = if channels == 4 && c == 3 {
                    128 + (x * 127 / w.max(1)) // a real alpha gradient
                } else {
                    (x * 3 + y * 2 + c * 40) % 256
                };
                data.push((base as u8).wrapping_add(n[i] % 16));
            }
        }
    }
    Image::new_u8(w, h, channels, data).unwrap()
}

/// A textured 16-bit gray image using the low 12 bits, like CT data.
pub fn textured_u16(w: u32, h: u32, seed: u64) -> Image {
    let n = noise((w * h) as usize, seed);
    let data = (0..w * h)
        .map(|i| (((i % w) * 37 + (i / w) * 11) % 4096) as u16 + n[i as usize] as u16)
        .collect();
    Image::new_u16(w, h, 1, data).unwrap()
}

/// Writes `img` as PNG through the `image` crate.
pub fn write_png(img: &Image, path: &Path) {
    use image::{ExtendedColorType, ImageEncoder};
    let f = std::fs::File::create(path).unwrap();
    let enc = image::codecs::png::PngEncoder::new(f);
    let color = match (img.channels, img.depth()) {
        (1, 8) => ExtendedColorType::L8,
        (2, 8) => ExtendedColorType::La8,
        (3, 8) => ExtendedColorType::Rgb8,
        (4, 8) => ExtendedColorType::Rgba8,
        (1, 16) => ExtendedColorType::L16,
        (2, 16) => ExtendedColorType::La16,
        (3, 16) => ExtendedColorType::Rgb16,
        _ => ExtendedColorType::Rgba16,
    };
    enc.write_image(&img.to_bytes(true), img.width, img.height, color)
        .unwrap();
}

/// A small corpus in a temporary folder: RGB photo-like, 16-bit gray, RGBA, 8-bit gray.
pub fn small_corpus() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("corpus");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    write_png(&textured_u8(64, 48, 3, 1), &root.join("rgb.png"));
    write_png(&textured_u16(40, 30, 2), &root.join("gray16.png"));
    write_png(&textured_u8(33, 21, 4, 3), &root.join("sub/alpha.png"));
    write_png(&textured_u8(24, 24, 1, 4), &root.join("gray8.png"));
    (dir, root)
}

/// A [`SourceImage`] for library-level tests.
pub fn source(id: &str, image: Image) -> SourceImage {
    SourceImage::from_image(id, &PathBuf::from(id), image, 0)
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// An engine for library-level tests: one timed run, nothing saved, no cache, PSNR only.
pub fn engine() -> codecbench::run::Engine {
    codecbench::run::Engine {
        repeat: 1,
        save_encoded: None,
        cancel: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        cache: None,
        metrics: vec![codecbench::metrics::core()],
        max_memory: None,
    }
}

/// results.csv as rows of strings with the timing columns blanked (they alone may differ
/// between runs of the same sweep).
pub fn without_timing(path: &Path) -> Vec<Vec<String>> {
    rows_without(path, codecbench::record::TIMING_COLUMNS).1
}

/// A CSV's header and rows as strings, with the named columns blanked.
pub fn rows_without(path: &Path, blank: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            rec.unwrap()
                .iter()
                .zip(&headers)
                .map(|(v, h)| {
                    if blank.contains(&h.as_str()) {
                        String::new()
                    } else {
                        v.to_string()
                    }
                })
                .collect()
        })
        .collect();
    (headers, rows)
}

/// One row of tests/data/reference/reference.csv, by column name.
pub type Row = std::collections::HashMap<String, String>;

/// Every row of tests/data/reference/reference.csv.
pub fn reference_rows() -> Vec<Row> {
    csv_rows(&root().join("tests/data/reference/reference.csv"))
}

/// Every row of a CSV file, by column name.
pub fn csv_rows(path: &Path) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.into(), v.into()))
                .collect()
        })
        .collect()
}

/// A float column of a reference row; `None` when empty.
pub fn num(row: &Row, key: &str) -> Option<f64> {
    let v = row.get(key)?;
    (!v.is_empty()).then(|| v.parse().unwrap_or_else(|_| panic!("{key}={v}")))
}

/// The (original, encoded or distorted) files of a reference row.
pub fn reference_files(row: &Row) -> (PathBuf, PathBuf) {
    let dir = root().join("tests/data/reference");
    let image = &row["image"];
    let original = if image.starts_with("pairs/") {
        dir.join(image)
    } else {
        root().join("corpus").join(image)
    };
    let other = if row["row_type"] == "pair" {
        &row["distorted_file"]
    } else {
        &row["encoded_file"]
    };
    let other = if other.starts_with("corpus/") {
        root().join(other)
    } else {
        dir.join(other)
    };
    (original, other)
}

/// Decodes any reference file: JPEG with mozjpeg's decoder and WebP with libwebp (the
/// codecs' own decoders), anything else through the corpus reader.
pub fn load_any(path: &Path) -> Image {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match path.extension().and_then(|e| e.to_str()) {
        Some("jpg") => codec("jpeg").decode(&bytes).unwrap().image,
        Some("webp") => codec("webp").decode(&bytes).unwrap().image,
        _ => codecbench::corpus::decode_bytes(&bytes, u64::MAX)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    }
}

/// A built-in codec by name.
pub fn codec(name: &str) -> std::sync::Arc<dyn codecbench::codec::Codec> {
    codecbench::codec::Registry::builtin().find(name).unwrap()
}

/// Expands a spec against the built-in codecs.
pub fn parse_spec(spec: &str) -> Vec<codecbench::codec::CodecConfig> {
    codecbench::codec::Registry::builtin()
        .parse_spec(spec)
        .unwrap()
}

/// Runs `codecbench run ARGS --corpus CORPUS --out OUT`, asserts it succeeded, and returns the
/// rows of its results.csv.
pub fn run_rows(corpus: &Path, out: &Path, args: &[&str]) -> Vec<codecbench::record::CellRecord> {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_codecbench"))
        .arg("run")
        .args(args)
        .arg("--corpus")
        .arg(corpus)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    codecbench::export::read_csv(&out.join("results.csv")).unwrap()
}

/// Runs `codecbench run --save-encoded --codec SPEC` on [`small_corpus`] plus the named files of
/// the bundled corpus; the temporary folder (kept alive), the run folder and its rows.
pub fn saved_run(
    spec: &str,
    bundled: &[&str],
) -> (
    tempfile::TempDir,
    PathBuf,
    Vec<codecbench::record::CellRecord>,
) {
    let (dir, corpus) = small_corpus();
    for f in bundled {
        std::fs::copy(root().join("corpus").join(f), corpus.join(f)).unwrap();
    }
    let out = dir.path().join("run");
    let rows = run_rows(
        &corpus,
        &out,
        &[
            "--quiet",
            "--no-cache",
            "--no-report",
            "--save-encoded",
            "--codec",
            spec,
        ],
    );
    (dir, out, rows)
}

/// Processes whose command line is exactly `argv` (a unique `sleep N` a test started) and
/// that are not zombies.
pub fn processes(argv: &[&str]) -> Vec<String> {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            let p = e.path();
            std::fs::read(p.join("cmdline")).is_ok_and(|c| c == want)
                && !std::fs::read_to_string(p.join("stat")).is_ok_and(|s| s.contains(") Z "))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}
