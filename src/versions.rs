//! Versions of the linked codec crates, read from Cargo.lock at build time (see build.rs): part
//! of every codec's version string and of the corpus's decoder notes.

pub const OXIPNG: &str = env!("CB_VERSION_OXIPNG");
pub const PNG: &str = env!("CB_VERSION_PNG");
pub const MOZJPEG: &str = env!("CB_VERSION_MOZJPEG");
pub const MOZJPEG_SYS: &str = env!("CB_VERSION_MOZJPEG_SYS");
pub const LIBWEBP_SYS: &str = env!("CB_VERSION_LIBWEBP_SYS");
pub const QOI: &str = env!("CB_VERSION_QOI");
pub const OPENJPEG_SYS: &str = env!("CB_VERSION_OPENJPEG_SYS");
pub const FLATE2: &str = env!("CB_VERSION_FLATE2");
pub const MINIZ_OXIDE: &str = env!("CB_VERSION_MINIZ_OXIDE");
pub const ZSTD: &str = env!("CB_VERSION_ZSTD");
pub const ZSTD_SYS: &str = env!("CB_VERSION_ZSTD_SYS");
pub const BROTLI: &str = env!("CB_VERSION_BROTLI");
pub const LIBLZMA: &str = env!("CB_VERSION_LIBLZMA");
pub const LIBLZMA_SYS: &str = env!("CB_VERSION_LIBLZMA_SYS");
pub const COLOR_QUANT: &str = env!("CB_VERSION_COLOR_QUANT");
pub const RAVIF: &str = env!("CB_VERSION_RAVIF");
pub const RAV1E: &str = env!("CB_VERSION_RAV1E");
pub const RAV1D: &str = env!("CB_VERSION_RAV1D");
pub const AVIF_PARSE: &str = env!("CB_VERSION_AVIF_PARSE");
pub const JXL_OXIDE: &str = env!("CB_VERSION_JXL_OXIDE");
