//! Reads the versions of the codec crates from Cargo.lock so that every result row names the
//! exact library version that produced it (a new libwebp must never pass for the old one).

use std::{env, fs, path::Path};

fn main() {
    let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock_path = Path::new(&dir).join("Cargo.lock");
    println!("cargo:rerun-if-changed=Cargo.lock");
    nasm_warning();
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

/// mozjpeg-sys builds its x86 SIMD code only with nasm on PATH and otherwise silently builds a
/// several times slower JPEG codec; say so where the build shows it (the jpeg codec's version
/// string says "no SIMD" too).
fn nasm_warning() {
    println!("cargo:rerun-if-env-changed=PATH");
    let x86 = matches!(
        env::var("CARGO_CFG_TARGET_ARCH").as_deref(),
        Ok("x86_64") | Ok("x86")
    );
    let nasm = env::var_os("PATH").is_some_and(|paths| {
        env::split_paths(&paths).any(|d| d.join("nasm").is_file() || d.join("nasm.exe").is_file())
    });
    if x86 && !nasm {
        println!(
            "cargo:warning=nasm not found on PATH: mozjpeg is built without SIMD (JPEG encode/decode several times slower, timings not comparable). Install nasm (apt-get install nasm) and rebuild."
        );
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
