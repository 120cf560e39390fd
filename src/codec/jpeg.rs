//! Lossy JPEG by mozjpeg (its default profile: trellis quantisation, optimised Huffman tables),
//! decoded by mozjpeg's own libjpeg-turbo-derived decoder (islow IDCT, fancy upsampling, as
//! `djpeg`). Gray sources become 1-component JPEGs. `arithmetic=true` swaps the Huffman
//! entropy coder for the arithmetic coder of the JPEG standard (ITU T.81 Annex D) through
//! mozjpeg's raw C API (see [`super::jpeg_arith`]).

use mozjpeg::{ColorSpace, Compress, Decompress};

use std::sync::LazyLock;

use super::{versions, Codec, CodecError, Decoded, Encoded, Param, Params};
use crate::pixels::{Image, Layout};

pub struct Jpeg;

extern "C" {
    /// libjpeg-turbo's SIMD dispatcher (jsimd.c; jsimd_none.c when mozjpeg-sys was built
    /// without nasm): nonzero when the forward DCT runs SIMD code on this CPU.
    fn jsimd_can_fdct_islow() -> std::ffi::c_int;
}

/// "SIMD" or "no SIMD": whether the linked mozjpeg runs its SIMD code. mozjpeg-sys compiles
/// its x86 SIMD only when nasm is on PATH at build time and otherwise builds silently slower,
/// so the version string says which build measured a row (a slow build must never be cached
/// or compared as the fast one). Asked of the linked library itself, not guessed from PATH.
pub fn simd() -> &'static str {
    // SAFETY: a query without arguments; it initialises libjpeg-turbo's CPU detection once.
    if unsafe { jsimd_can_fdct_islow() } != 0 {
        "SIMD"
    } else {
        "no SIMD"
    }
}

static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::int(
            "q",
            1,
            100,
            75,
            "quality (mozjpeg's tables: not comparable by number with libjpeg's)",
        ),
        Param::choice(
            "subsampling",
            &["420", "422", "444"],
            "420",
            "chroma subsampling (ignored for gray sources)",
        ),
        Param::bool(
            "progressive",
            true,
            "progressive with mozjpeg's scan optimisation; false = baseline sequential",
        ),
        Param::bool(
            "arithmetic",
            false,
            "arithmetic instead of Huffman entropy coding (as cjpeg -arithmetic)",
        ),
    ]
});

impl Codec for Jpeg {
    fn name(&self) -> &str {
        "jpeg"
    }
    fn version(&self) -> String {
        // mozjpeg-sys bundles the mozjpeg v4 C sources and records no finer version.
        format!(
            "mozjpeg v4 (mozjpeg-sys {}, mozjpeg crate {}, {})",
            versions::MOZJPEG_SYS,
            versions::MOZJPEG,
            simd()
        )
    }
    fn decoder(&self) -> String {
        format!("mozjpeg-sys {} libjpeg decoder", versions::MOZJPEG_SYS)
    }
    fn extension(&self) -> &str {
        "jpg"
    }
    fn lossless(&self, _: &Params) -> bool {
        false
    }
    fn params(&self) -> &[Param] {
        &PARAMS
    }
    fn input_layout(&self, src: Layout) -> Layout {
        Layout::new(if src.is_gray() { 1 } else { 3 }, 8)
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        if params.bool("arithmetic") {
            let bytes = super::jpeg_arith::encode(
                img,
                params.int("q"),
                params.choice("subsampling"),
                params.bool("progressive"),
                true,
                true,
            )?;
            return Ok(bytes.into());
        }
        let data = img.as_u8().ok_or("jpeg: input must be 8-bit")?;
        let gray = img.channels == 1;
        let mut c = Compress::new(if gray {
            ColorSpace::JCS_GRAYSCALE
        } else {
            ColorSpace::JCS_RGB
        });
        c.set_size(img.width as usize, img.height as usize);
        c.set_quality(params.int("q") as f32);
        if !params.bool("progressive") {
            // Drops mozjpeg's progressive scan script: a baseline sequential file.
            c.set_optimize_scans(false);
        }
        if !gray {
            let px = match params.choice("subsampling") {
                "444" => (1, 1),
                "422" => (2, 1),
                _ => (2, 2),
            };
            c.set_chroma_sampling_pixel_sizes(px, px);
        }
        let mut started = c
            .start_compress(Vec::new())
            .map_err(|e| format!("mozjpeg: {e}"))?;
        started
            .write_scanlines(data)
            .map_err(|e| format!("mozjpeg: {e}"))?;
        let bytes = started.finish().map_err(|e| format!("mozjpeg: {e}"))?;
        Ok(bytes.into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        let d = Decompress::new_mem(data).map_err(|e| format!("JPEG decode failed: {e}"))?;
        let gray = d.components().len() == 1;
        let mut started = if gray { d.grayscale() } else { d.rgb() }
            .map_err(|e| format!("JPEG decode failed: {e}"))?;
        let (w, h) = (started.width() as u32, started.height() as u32);
        let pixels: Vec<u8> = started
            .read_scanlines()
            .map_err(|e| format!("JPEG decode failed: {e}"))?;
        started
            .finish()
            .map_err(|e| format!("JPEG decode failed: {e}"))?;
        let image = Image::new_u8(w, h, if gray { 1 } else { 3 }, pixels)
            .map_err(|e| format!("JPEG decode returned a short image: {e}"))?;
        Ok(image.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Registry;

    /// (SOF marker, per-component (H, V) sampling factors) of a JPEG file.
    fn frame(jpeg: &[u8]) -> (u8, Vec<(u8, u8)>) {
        let mut i = 2;
        while i + 4 < jpeg.len() {
            assert_eq!(jpeg[i], 0xFF);
            let marker = jpeg[i + 1];
            let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
            if [0xC0, 0xC1, 0xC2, 0xC9, 0xCA].contains(&marker) {
                let n = jpeg[i + 9] as usize;
                let comps = (0..n)
                    .map(|k| {
                        let hv = jpeg[i + 11 + 3 * k];
                        (hv >> 4, hv & 15)
                    })
                    .collect();
                return (marker, comps);
            }
            i += 2 + len;
        }
        panic!("no SOF marker");
    }

    fn encode(spec: &str, img: &Image) -> Vec<u8> {
        let c = &Registry::builtin().parse_spec(spec).unwrap()[0];
        c.codec.encode(img, &c.params).unwrap().bytes
    }

    fn rgb() -> Image {
        let data = (0..32 * 32 * 3).map(|i| (i * 7 % 251) as u8).collect();
        Image::new_u8(32, 32, 3, data).unwrap()
    }

    #[test]
    fn progressive_and_baseline_are_what_they_say() {
        assert_eq!(frame(&encode("jpeg:q=80", &rgb())).0, 0xC2);
        assert_eq!(
            frame(&encode("jpeg:q=80,progressive=false", &rgb())).0,
            0xC0
        );
    }

    #[test]
    fn subsampling_sets_the_sampling_factors() {
        for (s, luma) in [("420", (2, 2)), ("422", (2, 1)), ("444", (1, 1))] {
            let comps = frame(&encode(&format!("jpeg:subsampling={s}"), &rgb())).1;
            assert_eq!(comps, vec![luma, (1, 1), (1, 1)], "{s}");
        }
    }

    /// The raw-API path is the crate's path: with Huffman coding it writes the same bytes,
    /// so `arithmetic=true` differs from `arithmetic=false` only where it sets `arith_code`.
    #[test]
    fn raw_api_path_equals_the_crate_path_with_huffman_coding() {
        let gray = Image::new_u8(24, 16, 1, (0..384).map(|i| (i * 5 % 253) as u8).collect());
        for img in [rgb(), gray.unwrap()] {
            for (sub, prog) in [("420", true), ("444", false), ("422", true)] {
                let spec = format!("jpeg:q=70,subsampling={sub},progressive={prog}");
                let raw =
                    crate::codec::jpeg_arith::encode(&img, 70, sub, prog, false, true).unwrap();
                assert_eq!(raw, encode(&spec, &img), "{spec}");
            }
        }
    }

    #[test]
    fn arithmetic_files_carry_an_arithmetic_frame_and_decode() {
        for (prog, sof) in [(false, 0xC9), (true, 0xCA)] {
            let bytes = encode(
                &format!("jpeg:q=80,arithmetic=true,progressive={prog}"),
                &rgb(),
            );
            assert_eq!(frame(&bytes).0, sof);
            let back = Jpeg.decode(&bytes).unwrap().image;
            assert_eq!((back.width, back.height, back.channels), (32, 32, 3));
        }
    }

    /// Without trellis quantisation (the one step that looks at the entropy coder's rates),
    /// the arithmetic file holds exactly the Huffman file's coefficients: same pixels.
    #[test]
    fn without_trellis_arithmetic_and_huffman_decode_identically() {
        for prog in [false, true] {
            let enc =
                |arith| crate::codec::jpeg_arith::encode(&rgb(), 75, "420", prog, arith, false);
            let (h, a) = (enc(false).unwrap(), enc(true).unwrap());
            assert_ne!(h, a);
            assert_eq!(
                Jpeg.decode(&h).unwrap().image,
                Jpeg.decode(&a).unwrap().image
            );
        }
    }

    #[test]
    fn gray_is_one_component_and_decodes_as_gray() {
        let gray = Image::new_u8(16, 8, 1, (0..128).map(|i| i as u8 * 2).collect()).unwrap();
        let bytes = encode("jpeg:q=90", &gray);
        assert_eq!(frame(&bytes).1.len(), 1);
        let back = Jpeg.decode(&bytes).unwrap().image;
        assert_eq!((back.channels, back.width, back.height), (1, 16, 8));
    }

    #[test]
    fn version_says_whether_simd_is_compiled_in() {
        let v = Jpeg.version();
        assert!(v.ends_with(", SIMD)") || v.ends_with(", no SIMD)"), "{v}");
        // This machine and CI install nasm (.ci/run), so the SIMD build is what they measure.
        if std::env::var_os("CI").is_some() {
            assert_eq!(simd(), "SIMD");
        }
    }

    #[test]
    fn corrupt_data_is_an_error_not_a_crash() {
        let mut bytes = encode("jpeg:q=50", &rgb());
        bytes.truncate(20);
        let r = crate::codec::catch(|| Jpeg.decode(&bytes));
        assert!(r.is_err());
    }
}
