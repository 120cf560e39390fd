//! Reads the versions of the codec crates from Cargo.lock so that every result row names the
//! exact library version that produced it (a new libwebp must never pass for the old one).

use std::{env, fs, path::Path};

fn main() {
    let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock_path = Path::new(&dir).join("Cargo.lock");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = fs::read_to_string(&lock_path).unwrap_or_default();
    for (krate, var) in [
        ("oxipng", "OXIPNG"),
        ("png", "PNG"),
        ("mozjpeg", "MOZJPEG"),
        ("mozjpeg-sys", "MOZJPEG_SYS"),
        ("libwebp-sys", "LIBWEBP_SYS"),
        ("qoi", "QOI"),
        ("openjpeg-sys", "OPENJPEG_SYS"),
        ("flate2", "FLATE2"),
        ("miniz_oxide", "MINIZ_OXIDE"),
        ("zstd", "ZSTD"),
        ("zstd-sys", "ZSTD_SYS"),
        ("brotli", "BROTLI"),
        ("liblzma", "LIBLZMA"),
        ("liblzma-sys", "LIBLZMA_SYS"),
        ("color_quant", "COLOR_QUANT"),
        ("ravif", "RAVIF"),
        ("rav1e", "RAV1E"),
        ("rav1d", "RAV1D"),
        ("avif-parse", "AVIF_PARSE"),
        ("jxl-oxide", "JXL_OXIDE"),
    ] {
        let version = find_version(&lock, krate).unwrap_or_else(|| "unknown".into());
        println!("cargo:rustc-env=CB_VERSION_{var}={version}");
    }
}

/// The version of the first `[[package]]` named `krate` in a Cargo.lock.
fn find_version(lock: &str, krate: &str) -> Option<String> {
    let needle = format!("name = \"{krate}\"\n");
    let start = lock.find(&needle)? + needle.len();
    let line = lock[start..].lines().next()?;
    let v = line.strip_prefix("version = \"")?.strip_suffix('"')?;
    Some(v.to_string())
}
