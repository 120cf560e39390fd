//! The f32 SSIM/MS-SSIM kernels (src/metrics/ssim.rs) against the f64 kernels they replaced
//! (tests/oracle/ssim_f64.rs, the code of c514144, which matched scikit-image to ~1e-12 and
//! pytorch_msssim to 1e-9), on every corpus image: JPEG decodes at three qualities, a
//! near-lossless copy (every 7th sample +-1) and a heavy one (+-64 noise), at the source depth.
//!
//! Tolerance: 1e-6 absolute, the agreement codecbench promises with scikit-image; the f32
//! kernels were built to stay within it (see the module comment of src/metrics/ssim.rs).

#[path = "../oracle/ssim_f64.rs"]
mod ssim_f64;

use crate::common;

use codecbench::metrics::ssim::SsimReference;
use codecbench::pixels::{Image, Prep, Samples};
use ssim_f64::SsimF64;

/// `img` with `f(index, sample, peak)` applied to every sample.
fn perturbed(img: &Image, f: impl Fn(usize, i64, i64) -> i64) -> Image {
    let peak = img.layout().peak() as i64;
    let mut out = img.clone();
    match &mut out.samples {
        Samples::U8(v) => v
            .iter_mut()
            .enumerate()
            .for_each(|(i, s)| *s = f(i, *s as i64, peak).clamp(0, peak) as u8),
        Samples::U16(v) => v
            .iter_mut()
            .enumerate()
            .for_each(|(i, s)| *s = f(i, *s as i64, peak).clamp(0, peak) as u16),
    }
    out
}

/// The distorted versions of `img` (in its own layout) and their names.
fn distortions(img: &Image) -> Vec<(String, Image)> {
    let noise = common::noise(img.sample_count(), 7);
    let mut out = vec![
        (
            "near-lossless".to_string(),
            perturbed(img, |i, s, _| {
                if i % 7 == 0 {
                    s + 1 - 2 * (i as i64 % 2)
                } else {
                    s
                }
            }),
        ),
        (
            "noise64".to_string(),
            perturbed(img, |i, s, peak| {
                s + (noise[i] as i64 - 128) * (peak / 255) / 2
            }),
        ),
    ];
    let jpeg = common::codec("jpeg");
    let layout = jpeg.input_layout(img.layout());
    let prep = Prep::plan(img.layout(), layout).unwrap();
    let input = prep.apply(img);
    for q in [20, 60, 95] {
        let config = &common::parse_spec(&format!("jpeg:q={q}"))[0];
        let bytes = jpeg.encode(&input, &config.params).unwrap().bytes;
        let decoded = jpeg.decode(&bytes).unwrap().image;
        // Back to the source's layout and depth, as the sweep compares (x257 for 16-bit).
        let back = Prep::plan(decoded.layout(), img.layout()).unwrap();
        if img.channels == layout.channels {
            out.push((format!("jpeg q={q}"), back.apply(&decoded)));
        }
    }
    out
}

#[test]
fn f32_kernels_match_the_f64_kernels_on_the_corpus() {
    const TOL: f64 = 1e-6;
    let (mut worst_ssim, mut worst_ms) = ((0.0f64, String::new()), (0.0f64, String::new()));
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(common::root().join("corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for path in files {
        let img = common::load_any(&path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (new, old) = (SsimReference::new(&img), SsimF64::new(&img));
        for (what, dist) in distortions(&img) {
            let what = format!("{name} {} {what}", img.layout());
            let (ours, theirs) = (new.ssim(&dist).unwrap(), old.ssim(&dist).unwrap());
            for (k, (a, b)) in ours.channels.iter().zip(&theirs.channels).enumerate() {
                let err = (a - b).abs();
                if err > TOL {
                    failures.push(format!("{what} ssim_c{k}: f32 {a:.12} f64 {b:.12}"));
                }
                if err >= worst_ssim.0 {
                    worst_ssim = (err, format!("{what} c{k} ({b:.6})"));
                }
            }
            if let (Ok(a), Ok(b)) = (new.ms_ssim(&dist), old.ms_ssim(&dist)) {
                let err = (a - b).abs();
                if err > TOL {
                    failures.push(format!("{what} ms-ssim: f32 {a:.12} f64 {b:.12}"));
                }
                if err >= worst_ms.0 {
                    worst_ms = (err, format!("{what} ({b:.6})"));
                }
            }
            checked += 1;
        }
    }
    println!(
        "SSIM f32 vs f64: worst |diff| {:.3e} at {}",
        worst_ssim.0, worst_ssim.1
    );
    println!(
        "MS-SSIM f32 vs f64: worst |diff| {:.3e} at {}",
        worst_ms.0, worst_ms.1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 40, "{checked} pairs");
}
