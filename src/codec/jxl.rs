//! JPEG XL encoded by libjxl's reference encoder as Debian ships it (`cjxl` from libjxl-tools,
//! run as an external command without a shell, on temporary files), decoded in-process by
//! jxl-oxide (MIT/Apache) at the file's native bit depth.
//!
//! Why an external command: the only Rust bindings to libjxl (jpegxl-rs/jpegxl-sys) are
//! GPL-3, and building libjxl's C++ from the jpegxl-src source crate for our own FFI took more
//! than 15 minutes of this 2-core machine per build profile (README, "JPEG XL"), which CI cannot
//! afford twice. The encode time is the one cjxl reports for its encoder (from its MP/s line),
//! so PNG reading and process start-up are not counted; cjxl runs single-threaded. The
//! process runs as external codecs do (process group, timeout, wait4), so `encode_cpu_ms` is
//! the cjxl process's CPU time (its PNG read and start-up included) and `encode_peak_rss` its
//! peak RSS.
//!
//! Input is the source's own layout (gray, gray+alpha, RGB, RGBA; 8 or 16 bits), handed to
//! cjxl as a PNG without colour chunks (cjxl then assumes sRGB). `d=0` is cjxl's lossless mode
//! and is held to an exact round trip by the engine.

use std::path::Path;
use std::process::Command;
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use super::external::process::{run, set_child_usage, CellDir};
use super::external::{ChildUsage, DEFAULT_TIMEOUT_S};
use super::{Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout, Samples};

/// The external encoder; found on PATH.
const CJXL: &str = "cjxl";

pub struct Jxl;

static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::float(
            "d",
            0.0,
            25.0,
            1.0,
            "butteraugli distance (cjxl -d): 0 = lossless, 1 = visually lossless, higher = smaller",
        ),
        Param::int(
            "effort",
            1,
            9,
            7,
            "encoder effort (cjxl -e): higher is slower and usually smaller",
        ),
    ]
});

/// "v0.7.0" from `cjxl --version`, or `None` when cjxl cannot be run.
fn cjxl_version() -> Option<&'static str> {
    static V: OnceLock<Option<String>> = OnceLock::new();
    V.get_or_init(|| {
        let out = Command::new(CJXL).arg("--version").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        text.split_whitespace()
            .find(|w| w.starts_with('v') && w[1..].starts_with(|c: char| c.is_ascii_digit()))
            .map(|w| w.trim_start_matches('v').to_string())
    })
    .as_deref()
}

fn not_installed() -> CodecError {
    format!(
        "jxl: `{CJXL}` not found or not runnable; install it with `apt-get install libjxl-tools`"
    )
    .into()
}

impl Codec for Jxl {
    /// The calling thread only waits: the CPU time is the cjxl process's, from wait4.
    fn encode_cpu_on_thread(&self) -> bool {
        false
    }
    fn name(&self) -> &str {
        "jxl"
    }
    fn version(&self) -> String {
        match cjxl_version() {
            Some(v) => format!("cjxl {v} (libjxl {v}, Debian libjxl-tools, external command)"),
            None => "cjxl (not installed)".into(),
        }
    }
    fn decoder(&self) -> String {
        format!(
            "jxl-oxide {} (f32 render written to u8/u16 at the file's bit depth, rounded)",
            super::versions::JXL_OXIDE
        )
    }
    fn extension(&self) -> &str {
        "jxl"
    }
    fn lossless(&self, params: &Params) -> bool {
        // Read gently: the `codecs` listing asks with empty parameters.
        params.0.get("d").and_then(|v| v.as_f64()) == Some(0.0)
    }
    fn params(&self) -> &[Param] {
        &PARAMS
    }
    fn input_layout(&self, src: Layout) -> Layout {
        // Native: JPEG XL stores gray, alpha and 16-bit samples as they are.
        src
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        cjxl_version().ok_or_else(not_installed)?;
        // Run like any external command (issue 11): its own process group and temp folder,
        // killed on timeout or a forced exit, reaped with its CPU time and peak RSS.
        let dir = CellDir::new().map_err(|e| format!("jxl: {e}"))?;
        let input = dir.join("in.png");
        let output = dir.join("out.jxl");
        write_png(img, &input)?;
        let argv = vec![
            CJXL.to_string(),
            input.display().to_string(),
            output.display().to_string(),
            format!("--distance={}", params.float("d")),
            format!("--effort={}", params.int("effort")),
            "--num_threads=1".to_string(),
        ];
        let timeout = Duration::from_secs_f64(DEFAULT_TIMEOUT_S);
        let fin = run(&argv, dir.path(), timeout).map_err(|e| format!("jxl: {e}"))?;
        let log = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default()
            + &std::fs::read_to_string(dir.join("stdout.txt")).unwrap_or_default();
        let bytes = std::fs::read(&output).map_err(|e| format!("jxl: cjxl wrote no file: {e}"))?;
        let reported_time = reported_time(&log, img.pixel_count());
        set_child_usage(ChildUsage {
            reported: reported_time.is_some(),
            ..fin.usage
        });
        Ok(Encoded {
            bytes,
            reported_time,
        })
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        Ok(super::catch(|| decode(data))?.into())
    }
    fn relative_cost(&self, params: &Params) -> f64 {
        // cjxl -e7 is about 20x slower than mozjpeg per pixel; each effort step about 1.5x.
        20.0 * 1.5f64.powi(params.int("effort") as i32 - 7)
    }
}

/// The encode time cjxl reports: "512 x 512, 0.49 MP/s [0.49, 0.49], 1 reps, 1 threads."
fn reported_time(log: &str, pixels: usize) -> Option<Duration> {
    let line = log
        .lines()
        .find(|l| l.contains(" MP/s [") && l.contains(" reps"))?;
    let before = line.split(" MP/s").next()?;
    let mps: f64 = before.rsplit([' ', ',']).next()?.parse().ok()?;
    (mps > 0.0).then(|| Duration::from_secs_f64(pixels as f64 / (mps * 1e6)))
}

/// Writes `img` as a plain PNG (no gamma or colour chunks) for cjxl.
fn write_png(img: &Image, path: &Path) -> Result<(), String> {
    use image::{ExtendedColorType as C, ImageEncoder};
    let color = match (img.channels, img.depth()) {
        (1, 8) => C::L8,
        (2, 8) => C::La8,
        (3, 8) => C::Rgb8,
        (4, 8) => C::Rgba8,
        (1, 16) => C::L16,
        (2, 16) => C::La16,
        (3, 16) => C::Rgb16,
        (4, 16) => C::Rgba16,
        (c, d) => return Err(format!("jxl: cannot store {c} channels of {d} bits")),
    };
    let f = std::fs::File::create(path).map_err(|e| format!("jxl: {}: {e}", path.display()))?;
    image::codecs::png::PngEncoder::new(std::io::BufWriter::new(f))
        // image's PNG encoder takes 16-bit samples in native byte order.
        .write_image(
            &img.to_bytes(cfg!(target_endian = "big")),
            img.width,
            img.height,
            color,
        )
        .map_err(|e| format!("jxl: writing the PNG for cjxl: {e}"))
}

/// Decodes a JPEG XL file with jxl-oxide: 8-bit samples for files of at most 8 bits per
/// sample, 16-bit otherwise; gray stays gray; alpha is kept.
pub fn decode(data: &[u8]) -> Result<Image, String> {
    let image = jxl_oxide::JxlImage::builder()
        // Single-threaded, like the encoder: the harness runs cells in parallel.
        .pool(jxl_oxide::JxlThreadPool::none())
        .read(data)
        .map_err(|e| format!("JPEG XL decode failed: {e}"))?;
    let bits = image.image_header().metadata.bit_depth.bits_per_sample();
    let render = image
        .render_frame(0)
        .map_err(|e| format!("JPEG XL decode failed: {e}"))?;
    let mut stream = render.stream();
    let (w, h, c) = (stream.width(), stream.height(), stream.channels());
    if !(1..=4).contains(&c) {
        return Err(format!(
            "JPEG XL decode: {c} channels (CMYK?) not supported"
        ));
    }
    let n = w as usize * h as usize * c as usize;
    let samples = if bits > 8 {
        let mut buf = vec![0u16; n];
        stream.write_to_buffer(&mut buf);
        Samples::U16(buf)
    } else {
        let mut buf = vec![0u8; n];
        stream.write_to_buffer(&mut buf);
        Samples::U8(buf)
    };
    Ok(Image {
        width: w,
        height: h,
        channels: c as u8,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_time_reads_cjxl_speed_line() {
        let log = "Compressed to 44538 bytes (1.359 bpp).\n512 x 512, 0.49 MP/s [0.49, 0.49], 1 reps, 1 threads.\n";
        let t = reported_time(log, 512 * 512).unwrap();
        assert!((t.as_secs_f64() - 0.262144 / 0.49).abs() < 1e-9);
        assert_eq!(reported_time("nothing", 10), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        assert!(decode(b"not a jxl file").is_err());
    }
}
