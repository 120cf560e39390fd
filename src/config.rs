//! Sweep definitions: codec specs from the command line and from a TOML sweep file, checked
//! and expanded before any work starts.
//!
//! A sweep file lists codecs as spec strings or as tables:
//!
//! ```toml
//! codec = ["png", "jpeg:q=10..95:5", { name = "webp", q = "50..90:10", method = [4, 6] }]
//! ```
//!
//! A configuration may carry a label, the pipeline's name for `compare` (`site=jpeg:q=80` as a
//! string, `label = "site"` in a table).
//!
//! or, as TOML forbids mixing the two forms of one key, with `[[codec]]` tables only:
//!
//! ```toml
//! [[codec]]
//! name = "webp"
//! q = "50..90:10"
//! method = [4, 6]
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::codec::{CodecConfig, Registry, SpecError};

/// A sweep file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read ({source})", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// The sweep run when neither --codec nor --sweep is given: the image codecs' curves, then the
/// lossless baselines at their CLIs' default levels and two palette sizes. Timing: README,
/// "Speed".
pub const DEFAULT_SWEEP: &[&str] = &[
    "png",
    "jpeg:q=10..95:5",
    "webp:q=10..95:5",
    "webp-lossless",
    // 24/ratio bpp on 8-bit RGB: 2 to 0.15 bpp, the span of the jpeg and webp curves.
    "jpeg2000:ratio=12,20,32,48,80,120,160",
    "jpeg2000-lossless",
    // Five points each across the same ~0.15-2 bpp span as the JPEG/WebP curves, at speeds that
    // keep the default run near two minutes on two cores (README, "Speed").
    "avif:q=35,55,70,85,95,speed=8",
    "jxl:d=0.4,0.7,1.5,3,6,effort=5",
    // JPEG XL's lossless mode beside png, webp-lossless and jpeg2000-lossless (16-bit kept).
    "jxl:d=0,effort=5",
    "qoi",
    "rle",
    "huffman",
    "gzip",
    "zstd",
    "brotli",
    "xz",
    "png-gzip",
    "palette:colors=16,256",
];

/// Where the images go: the codecs and settings a run sweeps, the metrics it measures and the
/// quality levels its answer is given at (`--preset NAME`). A codec added later joins a preset
/// by one spec line here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preset {
    pub name: &'static str,
    /// One line for --help and the README.
    pub about: &'static str,
    /// The sweep: spec strings as `--codec` takes them.
    pub codecs: &'static [&'static str],
    /// `--metrics` when not given.
    pub metrics: &'static str,
    /// The metric (a key of the METRICS table) and levels the answer is given at.
    pub metric: &'static str,
    pub levels: &'static [f64],
    /// The quality band the headline BD-rate is computed over (the levels' neighbourhood, what
    /// such images ship at); the settings of every lossy configuration, the anchor's too,
    /// cover it.
    pub band: (f64, f64),
    /// Only configurations every major browser decodes are recommended (others are shown
    /// with where they serve).
    pub web: bool,
}

/// The web preset: formats browsers decode, settings covering SSIMULACRA 2 60-90 (JPEG up to
/// q=100 so the anchor reaches 90), no general-purpose compressor. Settings lie on the target
/// search's grid (integers; JPEG XL distance in steps of 0.25) so a search starts from them.
pub const WEB: Preset = Preset {
    name: "web",
    about: "formats browsers decode (JPEG anchor, WebP, AVIF; JPEG XL shown with where it serves), answer at SSIMULACRA 2 70/80/90",
    codecs: &[
        "jpeg:q=50..100:5",
        // Full-resolution chroma at the top: text and charts reach SSIMULACRA 2 80-90 only so.
        "jpeg:q=90,95,100,subsampling=444",
        "webp:q=50..100:5",
        // AVIF encoding is the costly part of the answer: rav1e at speed 9 takes 2.3x less
        // CPU than at speed 8 for 1-6% more bytes (flower_large and coffee at q=75 and 90).
        // Seven settings, denser where SSIMULACRA 2 70-90 lies on photographs.
        "avif:q=55,65,75,80,85,90,95,speed=9",
        "jxl:d=0.5,0.75,1,1.5,2,3,effort=5",
    ],
    metrics: "psnr,ssimulacra2",
    metric: "ssimulacra2",
    levels: &[70.0, 80.0, 90.0],
    band: (60.0, 90.0),
    web: true,
};

/// Every preset; the first is the default when no --codec, --sweep or --preset is given.
pub const PRESETS: &[Preset] = &[
    WEB,
    Preset {
        name: "photo-archive",
        about: "high-quality masters: JPEG XL, AVIF, JPEG 2000 and JPEG at SSIMULACRA 2 85/90, plus the lossless formats",
        codecs: &[
            "jpeg:q=80..100:2",
            "jxl:d=0.25,0.5,0.75,1,1.25,1.5,effort=5",
            "avif:q=70..100:3,speed=6",
            "jpeg2000:ratio=4,6,8,10,12,16,20",
            "png",
            "jxl:d=0,effort=5",
            "webp-lossless",
        ],
        metrics: "psnr,ssimulacra2",
        metric: "ssimulacra2",
        levels: &[85.0, 90.0],
        band: (80.0, 95.0),
        web: false,
    },
    Preset {
        name: "lossless",
        about: "every exact codec (16-bit kept where the format can): the smallest file",
        codecs: &[
            "png",
            "webp-lossless",
            "jpeg2000-lossless",
            "htj2k:qstep=0",
            "jxl:d=0,effort=5",
            "qoi",
            "png-gzip",
            "gzip",
            "zstd",
            "brotli",
            "xz",
        ],
        metrics: "psnr",
        metric: "psnr",
        levels: &[],
        band: (0.0, 0.0),
        web: false,
    },
    Preset {
        name: "medical",
        about: "16-bit grey kept: lossless first, then near-lossless by PSNR (JPEG 2000, HTJ2K, JPEG XL)",
        codecs: &[
            "png",
            "jpeg2000-lossless",
            "jxl:d=0,effort=5",
            "jpeg2000:ratio=2,3,4,6,8,12,16",
            "jxl:d=0.25,0.5,0.75,1,1.5,2,effort=5",
            // HTJ2K (OpenJPH): the faster JPEG 2000 route, lossless and near-lossless.
            "htj2k:qstep=0",
            "htj2k:qstep=0.0005,0.001,0.002,0.004",
        ],
        metrics: "psnr",
        metric: "psnr",
        levels: &[45.0, 50.0, 55.0],
        band: (40.0, 60.0),
        web: false,
    },
    Preset {
        name: "satellite",
        about: "large rasters: the JPEG 2000 family (with HTJ2K) beside JPEG XL, AVIF and lossless",
        codecs: &[
            "jpeg2000:ratio=4,6,8,12,16,24,32,48",
            "jpeg2000-lossless",
            "htj2k:qstep=0",
            "htj2k:qstep=0.005,0.01,0.02,0.04",
            "jxl:d=0.5,1,1.5,2,3,effort=5",
            "avif:q=50..95:5,speed=8",
            "jxl:d=0,effort=5",
            "png",
        ],
        metrics: "psnr,ssimulacra2",
        metric: "ssimulacra2",
        levels: &[70.0, 80.0, 90.0],
        band: (60.0, 90.0),
        web: false,
    },
    Preset {
        name: "textbook",
        about: "the classic techniques side by side: RLE, Huffman, arithmetic-coded and Huffman-coded JPEG, vector quantisation (palette), gzip of PNG",
        codecs: &[
            "rle",
            "huffman",
            "gzip",
            "png",
            "png-gzip",
            "palette:colors=16,256",
            "jpeg:q=10..95:5",
            "jpeg:q=10..95:5,arithmetic=true",
        ],
        metrics: "psnr,ssimulacra2",
        metric: "psnr",
        levels: &[30.0, 35.0, 40.0],
        band: (28.0, 45.0),
        web: false,
    },
    Preset {
        name: "all",
        about: "today's full sweep (every built-in codec family, general-purpose compressors too)",
        codecs: DEFAULT_SWEEP,
        metrics: "psnr,psnr-y,ssim,ssimulacra2",
        metric: "ssimulacra2",
        levels: &[70.0, 80.0, 90.0],
        band: (60.0, 90.0),
        web: true,
    },
];

/// The preset called `name`, or an error listing the known ones.
pub fn preset(name: &str) -> Result<&'static Preset, String> {
    PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
        format!(
            "unknown preset \"{name}\" (known: {})",
            PRESETS
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    #[serde(default)]
    codec: Vec<toml::Value>,
    #[serde(default)]
    gate: Option<GateFile>,
    /// External codec definitions (see [`crate::codec::external`]).
    #[serde(default)]
    external: Vec<toml::Value>,
    /// `[target]`: metric = value or [values], as `--target METRIC=V[,V...]`.
    #[serde(default)]
    target: toml::Table,
}

/// The `[gate]` table of a sweep file: regression thresholds for `codecbench compare`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateFile {
    pub max_bd_rate: Option<f64>,
    pub max_size_increase: Option<f64>,
    #[serde(default)]
    pub max_quality_drop: std::collections::BTreeMap<String, f64>,
    pub max_slowdown: Option<f64>,
    pub noise: Option<f64>,
    pub max_target_bytes_increase: Option<f64>,
}

fn read_file(path: &Path) -> Result<SweepFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Reads the `[target]` table of a sweep file as `--target` texts (`ssimulacra2=70,80`), in
/// key order; empty if it has none.
pub fn read_targets(path: &Path) -> Result<Vec<String>, ConfigError> {
    read_file(path)?
        .target
        .iter()
        .map(|(k, v)| {
            let items = match v {
                toml::Value::Array(a) => a.iter().map(scalar).collect::<Result<Vec<_>, _>>(),
                other => scalar(other).map(|s| vec![s]),
            };
            items
                .map(|items| format!("{k}={}", items.join(",")))
                .map_err(|e| ConfigError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!("target.{k}: {e}"),
                })
        })
        .collect()
}

/// Reads the `[gate]` table of a sweep file (empty if it has none).
pub fn read_gate(path: &Path) -> Result<GateFile, ConfigError> {
    Ok(read_file(path)?.gate.unwrap_or_default())
}

/// Reads and checks the `[[external]]` codec definitions of a sweep file; the message names
/// the file and the field.
pub fn read_sweep_externals(
    path: &Path,
) -> Result<Vec<crate::codec::external::Definition>, String> {
    let file = read_file(path).map_err(|e| e.to_string())?;
    crate::codec::external::parse_definitions(path, &file.external).map_err(|e| e.to_string())
}

/// Reads a sweep file into spec strings (not yet validated).
pub fn read_sweep_file(path: &Path) -> Result<Vec<String>, ConfigError> {
    let file = read_file(path)?;
    file.codec
        .iter()
        .enumerate()
        .map(|(i, v)| {
            spec_of(v).map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                reason: format!("codec[{i}]: {e}"),
            })
        })
        .collect()
}

fn spec_of(v: &toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Table(t) => {
            let name = t
                .get("name")
                .and_then(|n| n.as_str())
                .ok_or("a codec table needs name = \"...\"")?;
            // `label = "site"`: the pipeline's name, as `site=` before a spec string.
            let label = match t.get("label") {
                None => String::new(),
                Some(toml::Value::String(l)) => format!("{l}="),
                Some(other) => return Err(format!("label must be a string, found {other}")),
            };
            let name = format!("{label}{name}");
            let mut parts = Vec::new();
            for (k, v) in t.iter().filter(|(k, _)| *k != "name" && *k != "label") {
                let items = match v {
                    toml::Value::Array(a) => a.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                    other => vec![scalar(other)?],
                };
                parts.push(format!("{k}={}", items.join(",")));
            }
            Ok(if parts.is_empty() {
                name.to_string()
            } else {
                format!("{name}:{}", parts.join(","))
            })
        }
        other => Err(format!(
            "expected a spec string or a table, found {}",
            other.type_str()
        )),
    }
}

fn scalar(v: &toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(format!(
            "unsupported value {other} (use strings, numbers or booleans)"
        )),
    }
}

/// Expands spec strings into configurations, in order, dropping exact duplicates. Every spec
/// is checked; all errors are returned together.
pub fn expand(registry: &Registry, specs: &[String]) -> Result<Vec<CodecConfig>, Vec<SpecError>> {
    let mut out: Vec<CodecConfig> = Vec::new();
    let mut errors = Vec::new();
    for s in specs {
        match registry.parse_spec(s) {
            Ok(cs) => {
                for c in cs {
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(specs: &[String]) -> Result<Vec<CodecConfig>, Vec<SpecError>> {
        super::expand(&Registry::builtin(), specs)
    }

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sweep.toml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn tables_and_strings_give_the_same_specs() {
        let (_d, p) = write(
            "[[codec]]\nname = \"webp\"\nq = \"50..90:20\"\nmethod = [4, 6]\n\
             [[codec]]\nname = \"png\"\nzopfli = true\n",
        );
        let specs = read_sweep_file(&p).unwrap();
        assert_eq!(specs, ["webp:method=4,6,q=50..90:20", "png:zopfli=true"]);
        let configs = expand(&specs).unwrap();
        assert_eq!(configs.len(), 7);
        let (_d, p) = write("codec = [\"png\", \"jpeg:q=10..95:5\"]\n");
        assert_eq!(expand(&read_sweep_file(&p).unwrap()).unwrap().len(), 19);
    }

    #[test]
    fn a_codec_table_takes_a_label() {
        // The table form names its pipeline like the string form (`site=jpeg:q=80`).
        let (_d, p) = write(
            "[[codec]]\nlabel = \"site\"\nname = \"jpeg\"\nq = [70, 80]\n\
             [[codec]]\nname = \"png\"\n",
        );
        let specs = read_sweep_file(&p).unwrap();
        assert_eq!(specs, ["site=jpeg:q=70,80", "png"]);
        let configs = expand(&specs).unwrap();
        let labels: Vec<(&str, String)> = configs
            .iter()
            .map(|c| (c.label.as_str(), c.spec()))
            .collect();
        assert_eq!(labels[0].0, "site");
        assert_eq!(labels[1].0, "site");
        assert_eq!(labels[2].0, "");
        assert!(labels[2].1.starts_with("png:"), "{labels:?}");
        // Inline tables and strings of one list agree.
        let (_d, p) = write(
            "codec = [{ name = \"webp\", label = \"thumbs\", q = 60 }, \"hero=jpeg:q=90\"]\n",
        );
        assert_eq!(
            read_sweep_file(&p).unwrap(),
            ["thumbs=webp:q=60", "hero=jpeg:q=90"]
        );
        // A label that is not a string is named.
        let (_d, p) = write("[[codec]]\nname = \"png\"\nlabel = 3\n");
        let e = read_sweep_file(&p).unwrap_err().to_string();
        assert!(e.contains("codec[0]: label must be a string"), "{e}");
    }

    #[test]
    fn gate_table_is_read() {
        let (_d, p) = write(
            "codec = [\"png\"]\n[gate]\nmax_bd_rate = 1.5\nmax_quality_drop = { psnr = 0.1 }\n",
        );
        let g = read_gate(&p).unwrap();
        assert_eq!(g.max_bd_rate, Some(1.5));
        assert_eq!(g.max_quality_drop["psnr"], 0.1);
        let (_d, p) = write("[gate]\nmax_bd = 1\n");
        assert!(read_gate(&p)
            .unwrap_err()
            .to_string()
            .contains("unknown field `max_bd`"));
    }

    #[test]
    fn bad_files_are_rejected_with_the_path() {
        let (_d, p) = write("codecs = [\"png\"]\n");
        let e = read_sweep_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("sweep.toml") && e.contains("unknown field `codecs`"),
            "{e}"
        );
        let (_d, p) = write("[[codec]]\nq = 5\n");
        let e = read_sweep_file(&p).unwrap_err().to_string();
        assert!(e.contains("codec[0]: a codec table needs name"), "{e}");
        let e = read_sweep_file(Path::new("/nonexistent/s.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/s.toml: cannot read"), "{e}");
    }

    #[test]
    fn expand_reports_every_bad_spec_and_dedups() {
        let errs = expand(&["jpeg:q=0".into(), "png".into(), "nope".into()]).unwrap_err();
        assert_eq!(errs.len(), 2);
        let ok = expand(&["png".into(), "png:preset=2".into()]).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(
            expand(
                &DEFAULT_SWEEP
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
            )
            .unwrap()
            .len(),
            // 38 (png, jpeg x18, webp x18, webp-lossless) + jpeg2000 x7, jpeg2000-lossless, qoi
            // + avif x5, jxl x5, jxl lossless + rle, huffman, gzip, zstd, brotli, xz, png-gzip, palette x2.
            67
        );
    }

    #[test]
    fn every_preset_expands_and_web_is_the_default() {
        assert_eq!(PRESETS[0].name, "web");
        for p in PRESETS {
            let specs: Vec<String> = p.codecs.iter().map(|s| s.to_string()).collect();
            let configs = expand(&specs).unwrap_or_else(|e| panic!("{}: {e:?}", p.name));
            assert!(!configs.is_empty());
            assert!(
                crate::metrics::parse_metrics(p.metrics).is_ok(),
                "{}",
                p.name
            );
            assert!(crate::metrics::find(p.metric).is_some(), "{}", p.name);
        }
        // The web preset has no general-purpose compressor and only browser formats.
        let web: Vec<String> = WEB.codecs.iter().map(|s| s.to_string()).collect();
        for c in expand(&web).unwrap() {
            assert!(
                crate::analysis::delivery::format_of(c.codec.name(), &c.options()).is_some(),
                "{}",
                c.spec()
            );
        }
        assert!(preset("nope").unwrap_err().contains("web, photo-archive"));
    }
}
