//! QOI through the whole cell engine on every corpus image: exact on its 8-bit RGB/RGBA input
//! (gray replicated to RGB and 16-bit reduced to 8 bits, both stated in `conversion`), and every
//! saved file decoded by an independent decoder written here from the QOI 1.0 specification
//! (qoiformat.org/qoi-specification.pdf) gives the same pixels as the `qoi` crate.

use crate::common;

use codecbench::codec::Registry;
use codecbench::config::expand;
use codecbench::corpus::{discover, load};
use codecbench::pixels::Image;
use codecbench::run::{pool, run_plan};

/// A QOI decoder straight from the specification: 14-byte header, then the six chunk kinds
/// (RGB, RGBA, INDEX, DIFF, LUMA, RUN) against a running previous pixel and a 64-entry table of
/// seen pixels hashed by (r*3 + g*5 + b*7 + a*11) % 64, then the 8-byte end marker.
fn spec_decode(data: &[u8]) -> Image {
    assert_eq!(&data[..4], b"qoif", "magic");
    let w = u32::from_be_bytes(data[4..8].try_into().unwrap());
    let h = u32::from_be_bytes(data[8..12].try_into().unwrap());
    let channels = data[12];
    assert!(channels == 3 || channels == 4, "channels {channels}");
    assert!(data[13] <= 1, "colorspace {}", data[13]);
    assert_eq!(
        &data[data.len() - 8..],
        &[0, 0, 0, 0, 0, 0, 0, 1],
        "end marker"
    );
    let n = w as usize * h as usize;
    let mut out = Vec::with_capacity(n * channels as usize);
    let mut seen = [[0u8; 4]; 64];
    let mut px = [0u8, 0, 0, 255];
    let (mut p, mut run) = (14usize, 0u32);
    let hash = |q: [u8; 4]| {
        (q[0] as usize * 3 + q[1] as usize * 5 + q[2] as usize * 7 + q[3] as usize * 11) % 64
    };
    for _ in 0..n {
        if run > 0 {
            run -= 1;
        } else {
            let b = data[p];
            p += 1;
            match b {
                0xFE => {
                    px[..3].copy_from_slice(&data[p..p + 3]);
                    p += 3;
                }
                0xFF => {
                    px.copy_from_slice(&data[p..p + 4]);
                    p += 4;
                }
                _ => match b >> 6 {
                    0 => px = seen[(b & 63) as usize],
                    1 => {
                        px[0] = px[0].wrapping_add(((b >> 4) & 3).wrapping_sub(2));
                        px[1] = px[1].wrapping_add(((b >> 2) & 3).wrapping_sub(2));
                        px[2] = px[2].wrapping_add((b & 3).wrapping_sub(2));
                    }
                    2 => {
                        let dg = (b & 63).wrapping_sub(32);
                        let next = data[p];
                        p += 1;
                        px[0] = px[0].wrapping_add(dg.wrapping_sub(8).wrapping_add(next >> 4));
                        px[1] = px[1].wrapping_add(dg);
                        px[2] = px[2].wrapping_add(dg.wrapping_sub(8).wrapping_add(next & 15));
                    }
                    _ => run = (b & 63) as u32, // this pixel plus `run` more repeat it
                },
            }
            seen[hash(px)] = px;
        }
        out.extend_from_slice(&px[..channels as usize]);
    }
    assert_eq!(
        p,
        data.len() - 8,
        "every chunk consumed, then the end marker"
    );
    Image::new_u8(w, h, channels, out).unwrap()
}

#[test]
fn qoi_round_trips_every_corpus_image_and_an_independent_decoder_agrees() {
    let (found, skipped, _) = discover(&[common::root().join("corpus")]);
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(found.len(), 11, "the bundled corpus");
    let sources: Vec<_> = found
        .iter()
        .map(|(id, p)| load(id, p, u64::MAX).unwrap())
        .collect();
    let configs = expand(&Registry::builtin(), &["qoi".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = common::engine();
    engine.save_encoded = Some(dir.path().to_path_buf());
    let rows = run_plan(&pool(2).unwrap(), &sources, &configs, &engine);
    assert_eq!(rows.len(), sources.len());
    let qoi = common::codec("qoi");
    for (r, src) in rows.iter().zip(&sources) {
        assert!(r.is_ok(), "{}: {}", r.image, r.message);
        // Exact on what QOI was given (the engine checks the round trip of lossless codecs).
        assert_eq!(r.roundtrip_exact, Some(true), "{}", r.image);
        let layout = src.pixels().unwrap().layout();
        let expect_input = if layout.has_alpha() { "RGBA8" } else { "RGB8" };
        assert_eq!(r.codec_input, expect_input, "{}", r.image);
        if layout.depth == 16 {
            assert!(r.conversion.contains("16->8 bit"), "{}", r.conversion);
        }
        if layout.is_gray() {
            assert!(
                r.conversion.contains("gray"),
                "{}: {}",
                r.image,
                r.conversion
            );
        }
        if layout.depth == 8 {
            assert_eq!(r.psnr, Some(f64::INFINITY), "{}", r.image);
        }
        let bytes = std::fs::read(dir.path().join(&r.encoded_file)).unwrap();
        let ours = qoi.decode(&bytes).unwrap().image;
        assert_eq!(spec_decode(&bytes), ours, "{}", r.image);
    }
}

#[test]
fn qoi_takes_no_settings() {
    let err = Registry::builtin()
        .parse_spec("qoi:q=5")
        .unwrap_err()
        .to_string();
    assert!(err.contains("qoi"), "{err}");
}
