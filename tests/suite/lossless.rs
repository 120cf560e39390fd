//! Lossless codecs reproduce every corpus image exactly, through the whole cell engine:
//! 16-bit and alpha kept by PNG; WebP lossless exact on its 8-bit input (for 16-bit sources the
//! 16->8 bit reduction is reported as distortion, never hidden).

use crate::common;

use codecbench::codec::Registry;
use codecbench::config::expand;
use codecbench::corpus::{discover, load};
use codecbench::run::{pool, run_plan};

#[test]
fn lossless_codecs_round_trip_every_corpus_image() {
    let (found, skipped, _) = discover(&[common::root().join("corpus")]);
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(found.len(), 11, "the bundled corpus");
    let sources: Vec<_> = found
        .iter()
        .map(|(id, p)| load(id, p, u64::MAX).unwrap())
        .collect();
    let configs = expand(
        &Registry::builtin(),
        &[
            "png:preset=0,2".into(),
            "webp-lossless:effort=75,method=4".into(),
            "identity".into(),
        ],
    )
    .unwrap();
    let engine = common::engine();
    let rows = run_plan(&pool(2).unwrap(), &sources, &configs, &engine);
    assert_eq!(rows.len(), sources.len() * configs.len());
    let mut depths = std::collections::BTreeSet::new();
    for r in rows {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        assert_eq!(r.roundtrip_exact, Some(true), "{} {}", r.image, r.spec);
        depths.insert((r.bit_depth, r.channels));
        let reduced = r.codec == "webp-lossless" && r.bit_depth == 16;
        if reduced {
            // CT/MR samples are far from multiples of 257: depth reduction is real loss.
            assert!(
                r.psnr.unwrap().is_finite() && r.psnr.unwrap() > 40.0,
                "{r:?}"
            );
            assert!(r.conversion.contains("16->8 bit"));
        } else {
            assert_eq!(r.psnr, Some(f64::INFINITY), "{} {}", r.image, r.spec);
            assert_eq!(r.mse, Some(0.0));
        }
    }
    // Gray, RGB, RGBA, 8- and 16-bit sources were all covered.
    assert!(depths.contains(&(16, 1)) && depths.contains(&(8, 4)) && depths.contains(&(8, 1)));
}
