//! The presets (`--preset NAME`): where the images go, as the codecs and settings a run sweeps,
//! the metrics it measures and the quality levels its answer is given at; and the full sweep.

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

/// A preset name that is not one of [`PRESETS`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("unknown preset \"{name}\" (known: {})", PRESETS.iter().map(|p| p.name).collect::<Vec<_>>().join(", "))]
pub struct UnknownPreset {
    pub name: String,
}

/// The preset called `name`, or an error listing the known ones.
pub fn preset(name: &str) -> Result<&'static Preset, UnknownPreset> {
    PRESETS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| UnknownPreset {
            name: name.to_string(),
        })
}
