//! SSIM, MS-SSIM, SSIMULACRA2 and PSNR-Y against values computed by other people's tools:
//! scikit-image and the C++ SSIMULACRA 2.1 (tests/data/reference/reference.csv, see its README),
//! pytorch_msssim (tests/data/msssim_reference.csv, made by
//! scripts/reference/msssim_reference.py) and numpy (PSNR-Y, values pinned below).
//! Rows map to images exactly as in tests/reference.rs: encoded files are decoded with
//! codecbench's own decoders, then both images are brought to the compared channels.

use crate::common;
#[path = "../oracle/ssimulacra2_libjxl32.rs"]
mod ssimulacra2_libjxl32;

use std::collections::HashMap;

use codecbench::metrics::luma::psnr_y;
use codecbench::metrics::ssim::SsimReference;
use codecbench::metrics::ssimulacra2::Ssimulacra2Reference;
use codecbench::pixels::{conform, Image, Layout, Prep, Samples};

use common::{csv_rows as rows, load_any as load, num as f, reference_files, root, Row};
use ssimulacra2_libjxl32::{score_of, ssimulacra2_libjxl32};

/// Both images in the compared layout: "L->RGB" replicates the gray original, "RGB" of an RGBA
/// source drops alpha from both; otherwise the decode is conformed to the original's layout.
fn compared_pair(original: Image, decoded: Image, compared: &str) -> (Image, Image) {
    let src = original.layout();
    let rgb = Layout::new(3, src.depth);
    match (compared, src.channels) {
        ("L->RGB", 1) | ("RGB", 4) => {
            let orig = Prep::plan(src, rgb).unwrap().apply(&original);
            let dec = if decoded.channels == 4 {
                Prep::plan(decoded.layout(), rgb).unwrap().apply(&decoded)
            } else {
                conform(decoded, rgb).unwrap()
            };
            (orig, dec)
        }
        _ => (original, conform(decoded, src).unwrap()),
    }
}

/// The (original, distorted) pair of a reference.csv row, in the compared layout.
fn reference_pair(row: &Row) -> (Image, Image) {
    let (original, other) = reference_files(row);
    compared_pair(load(&original), load(&other), &row["channels_compared"])
}

fn what(row: &Row) -> String {
    let (image, codec, setting) = (&row["image"], &row["codec"], &row["setting"]);
    format!(
        "{image} {codec} {setting} {} R={}",
        row["channels_compared"], row["data_range"]
    )
}

/// Keeps the largest absolute error seen and the row it came from, and every comparison
/// outside its tolerance (reported together by [`Worst::assert_ok`]).
#[derive(Default)]
struct Worst(f64, String, Vec<String>);

impl Worst {
    fn check(&mut self, what: &str, ours: f64, theirs: f64, tol: f64) {
        let err = (ours - theirs).abs();
        if err.is_nan() || err > tol {
            let msg = format!(
                "{what}: ours {ours:.12} vs reference {theirs:.12} (|err| {err:.3e} > {tol})"
            );
            self.2.push(msg);
        }
        if err >= self.0 {
            (self.0, self.1) = (err, what.to_string());
        }
    }

    fn assert_ok(&self, metric: &str) {
        println!("{metric}: worst |error| {:.3e} at {}", self.0, self.1);
        assert!(
            self.2.is_empty(),
            "{metric}: {} outside tolerance:\n{}",
            self.2.len(),
            self.2.join("\n")
        );
    }
}

#[test]
fn ssim_matches_scikit_image_on_every_reference_row() {
    // 1e-6 absolute: the promised agreement. Our kernels run in f32 (centred samples, the
    // loss 1 - SSIM built from exact differences, f64 means: src/metrics/ssim.rs); the worst
    // error measured on these rows is 3.8e-7 (the f64 kernels before them: ~1e-12).
    const TOL: f64 = 1e-6;
    let mut refs: HashMap<String, SsimReference> = HashMap::new();
    let (mut joint, mut per_channel, mut undefined) = (0, 0, 0);
    let mut worst = Worst::default();
    for row in rows(&root().join("tests/data/reference/reference.csv")) {
        let (orig, dist) = reference_pair(&row);
        let key = format!("{} {}", row["image"], row["channels_compared"]);
        let reference = refs.entry(key).or_insert_with(|| SsimReference::new(&orig));
        let what = what(&row);
        let Some(want) = f(&row, "sk_ssim") else {
            // scikit-image raises ValueError (window larger than the image): so must we.
            let e = reference.ssim(&dist).unwrap_err().to_string();
            assert!(
                e.contains("smaller than the 11x11 SSIM window"),
                "{what}: {e}"
            );
            undefined += 1;
            continue;
        };
        let range = f(&row, "data_range").unwrap();
        let got = if range == orig.layout().peak() as f64 {
            reference.ssim(&dist).unwrap()
        } else {
            // 16-bit rows repeated with data_range = max - min of the original.
            reference.ssim_with_range(&dist, range).unwrap()
        };
        worst.check(&format!("{what} ssim"), got.mean, want, TOL);
        joint += 1;
        for (k, &ours) in got.channels.iter().enumerate() {
            let theirs = f(&row, &format!("sk_ssim_c{k}")).expect("a reference per channel");
            worst.check(&format!("{what} ssim_c{k}"), ours, theirs, TOL);
            per_channel += 1;
        }
    }
    worst.assert_ok("SSIM");
    assert_eq!(
        (joint, per_channel, undefined),
        (78, 203, 2),
        "every row checked"
    );
}

/// Rows where we differ from the C++ tool by more than 0.25, with the bound measured (0.4847
/// and 0.2757; each appears twice, once per data_range). Cause, shown by
/// `ssimulacra2_cpp_deviation_on_16bit_gray_is_the_tools_float32_rounding` below: the tool's
/// own float32 rounding, not a difference in the formula. For a gray image the X and B planes
/// are constant in exact arithmetic (X = 0.42, B = 0.55) and their terms are zero; in float32,
/// libjxl's approximate cube root (6 ulp) and fused multiply-adds make B differ by an ulp or
/// two between the original and the distorted image, and the variances blur(B^2) - blur(B)^2
/// (of numbers near 0.30, ulp 3e-8) then carry rounding residue of ~1e-7 against C2 = 9e-4,
/// an SSIM "error" of ~2e-4 that the clamp at 0 keeps positive. It only counts when a large
/// weight lands on it: the tool takes its 108 weights in order over the scales present, and a
/// 64 px image has 5 scales, which puts weight 34.78 on B's full-scale 4-norm SSIM (0 in a
/// 6-scale image). That adds 0.0077 and 0.0066 to the weighted sum of the MR pairs, and near
/// 100 the score's x^0.628 turns that into 0.28 and 0.49 points. The 128 px CT image has 6
/// scales, so the same noise costs it nothing. Our kernel (like the `ssimulacra2` crate) uses
/// yuvxyb's cube root and a scalar filter, so its B plane stays bit-constant and adds nothing;
/// a float64 evaluation (no noise at all) gives 98.006 and 99.618, next to ours. Any gray image
/// under 128 px scored close to lossless is exposed the same way (with 4 scales, 32-63 px, the
/// weights 225 and 176 land on B's mean SSIM at scales 0 and 1).
const KNOWN_DEVIATIONS: [(&str, &str, f64); 2] = [
    ("mr_small_16bit.png", "gaussian_noise_sigma16_seed42", 0.50),
    ("mr_small_16bit.png", "blur_binomial5x5", 0.29),
];

#[test]
fn ssimulacra2_matches_the_cpp_reference_on_every_reference_row() {
    // 0.25 points: the crate reimplements the C++ code in f32 with its own recursive Gaussian
    // and sRGB conversion, and the C++ tool picks SIMD paths at run time, so last digits
    // differ; 0.25 is the crate's own test tolerance against the C++ tool and far below the
    // ~1-point steps between the JPEG qualities of the reference set.
    const TOL: f64 = 0.25;
    let mut refs: HashMap<String, Ssimulacra2Reference> = HashMap::new();
    let (mut checked, mut undefined, mut deviations) = (0, 0, 0);
    let mut worst = Worst::default();
    for row in rows(&root().join("tests/data/reference/reference.csv")) {
        let (orig, dist) = reference_pair(&row);
        let key = format!("{} {}", row["image"], row["channels_compared"]);
        let reference = refs
            .entry(key)
            .or_insert_with(|| Ssimulacra2Reference::new(&orig));
        let what = what(&row);
        let got = reference.score(&dist);
        let Some(want) = f(&row, "ssimulacra2_cpp") else {
            let e = got.unwrap_err().to_string();
            assert!(e.contains("smaller than 8x8"), "{what}: {e}");
            undefined += 1;
            continue;
        };
        let got = got.unwrap_or_else(|e| panic!("{what}: {e}"));
        println!(
            "{what}: ours {got:.6} C++ {want:.6} diff {:+.4}",
            got - want
        );
        let known = KNOWN_DEVIATIONS
            .iter()
            .find(|(image, setting, _)| row["image"] == *image && row["setting"] == *setting);
        if let Some((_, _, bound)) = known {
            // Pinned: still outside 0.25 (else drop it from the list) and no worse than measured.
            let err = (got - want).abs();
            assert!(
                err > TOL && err <= *bound,
                "{what}: known deviation now {err:.4}"
            );
            deviations += 1;
        } else {
            worst.check(&what, got, want, TOL);
        }
        checked += 1;
    }
    worst.assert_ok("SSIMULACRA2");
    assert_eq!(
        (checked, undefined, deviations),
        (79, 1, 4),
        "every row checked"
    );
}

/// The cause of [`KNOWN_DEVIATIONS`], on the 16-bit gray pair rows (the rows that repeat them
/// with data_range = max - min have the same SSIMULACRA2 and are skipped).
/// tests/oracle/ssimulacra2_libjxl32.rs computes SSIMULACRA 2.1 with libjxl's float32
/// arithmetic (its cube root, fused multiply-adds, four-at-a-time recursive Gaussian): it gives
/// the C++ tool's printed values to the last of their 8 decimals (largest difference measured
/// 4.3e-9; held to 1e-6, room for a libm that rounds the filter's f64 coefficients differently).
/// Keeping only its Y terms, the only ones a gray image has in exact arithmetic, gives our
/// value: measured 0.0100, 0.0243, 0.0298, 0.0476 apart (our own f32 rounding in X, weights 1.1
/// and 1.8 on the 4-norm SSIM of scales 1-2); held to 0.06. On the MR pairs the X and B terms
/// the tool adds are 0.0082 and 0.0071 of the weighted sum (held: above 0.006), on the CT
/// pairs 0.0008 and 0.0006 (held: below 0.0015).
#[test]
fn ssimulacra2_cpp_deviation_on_16bit_gray_is_the_tools_float32_rounding() {
    let mut worst_model = Worst::default();
    let mut worst_y = Worst::default();
    let mut seen = Vec::new();
    for row in rows(&root().join("tests/data/reference/reference.csv")) {
        if row["row_type"] != "pair" || row["bit_depth"] != "16" || row["data_range"] != "65535.0" {
            continue;
        }
        let what = what(&row);
        let (orig, dist) = reference_pair(&row);
        let cpp = f(&row, "ssimulacra2_cpp").expect("a C++ value");
        let model = ssimulacra2_libjxl32(&orig, &dist);
        worst_model.check(&format!("{what} libjxl f32 model"), model.score, cpp, 1e-6);
        let y_only = score_of(model.weighted[1]);
        let ours = Ssimulacra2Reference::new(&orig).score(&dist).unwrap();
        worst_y.check(
            &format!("{what} ours vs the model's Y terms"),
            ours,
            y_only,
            0.06,
        );
        let x_and_b = model.weighted[0] + model.weighted[2];
        println!(
            "{what}: C++ {cpp:.8} model {:.8} model Y only {y_only:.4} ours {ours:.4}, \
             X+B part of the weighted sum {x_and_b:.5}",
            model.score
        );
        if row["image"] == "mr_small_16bit.png" {
            assert!(x_and_b > 0.006, "{what}: X+B part {x_and_b}");
            assert!((cpp - ours).abs() > 0.25, "{what}: the deviation is gone");
        } else {
            assert!(x_and_b < 0.0015, "{what}: X+B part {x_and_b}");
        }
        seen.push(format!("{} {}", row["image"], row["setting"]));
    }
    worst_model.assert_ok("libjxl f32 model vs C++");
    worst_y.assert_ok("ours vs the model without X and B");
    seen.sort();
    assert_eq!(
        seen,
        [
            "ct_small_16bit.png blur_binomial5x5",
            "ct_small_16bit.png gaussian_noise_sigma16_seed42",
            "ct_small_16bit.png identical",
            "mr_small_16bit.png blur_binomial5x5",
            "mr_small_16bit.png gaussian_noise_sigma16_seed42",
        ]
    );
}

/// The top-left `n` x `n` of a one-channel 16-bit image.
fn crop_gray16(img: &Image, n: u32) -> Image {
    let Samples::U16(v) = &img.samples else {
        panic!("a 16-bit image")
    };
    let (w, n) = (img.width as usize, n as usize);
    let px = (0..n).flat_map(|y| v[y * w..y * w + n].to_vec()).collect();
    Image::new_u16(n as u32, n as u32, 1, px).unwrap()
}

/// What the cause above predicts for other sizes, which the README states (no C++ binary here
/// to confirm it on these crops): the libjxl float32 model against ours on top-left crops of
/// the 16-bit gray pairs. With 4 scales (32, 48 px) or 5 (64, 96 px) large weights sit on B's
/// SSIM terms and the model is lower than ours by 0.276 to 1.144 (measured, 14
/// crops; held: 0.25 to 1.25, i.e. the noise term is there and of this size); with 6 scales
/// (the whole 128 px CT image) the two stay within 0.05 (above).
#[test]
fn ssimulacra2_libjxl_model_is_lower_than_ours_on_small_gray_crops() {
    let mut checked = 0;
    for row in rows(&root().join("tests/data/reference/reference.csv")) {
        if row["row_type"] != "pair"
            || row["bit_depth"] != "16"
            || row["data_range"] != "65535.0"
            || row["setting"] == "identical"
        {
            continue;
        }
        let (orig, dist) = reference_pair(&row);
        for n in [32, 48, 64, 96].into_iter().filter(|&n| n <= orig.width) {
            let (o, d) = (crop_gray16(&orig, n), crop_gray16(&dist, n));
            let model = ssimulacra2_libjxl32(&o, &d).score;
            let ours = Ssimulacra2Reference::new(&o).score(&d).unwrap();
            let what = format!("{} {} {n} px", row["image"], row["setting"]);
            println!(
                "{what}: model {model:.4} ours {ours:.4} diff {:+.4}",
                model - ours
            );
            assert!(
                (-1.25..=-0.25).contains(&(model - ours)),
                "{what}: {model} vs {ours}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 14, "4 CT crops and 3 MR crops per distortion");
}

/// `to16` of msssim_reference.csv: "x257" is the harness's 8->16-bit expansion; the
/// distorted image of "x257+pattern" also gets (31x + 17y + 7c) % 256 added (capped).
fn widen(img: &Image, pattern: bool) -> Image {
    let wide = Prep::plan(img.layout(), Layout::new(img.channels, 16))
        .unwrap()
        .apply(img);
    let Samples::U16(mut v) = wide.samples else {
        unreachable!()
    };
    if pattern {
        let (c, w) = (img.channels as usize, img.width as usize);
        for (i, s) in v.iter_mut().enumerate() {
            let (p, ch) = (i / c, i % c);
            let add = (31 * (p % w) + 17 * (p / w) + 7 * ch) % 256;
            *s = (*s as usize + add).min(65535) as u16;
        }
    }
    Image::new_u16(img.width, img.height, img.channels, v).unwrap()
}

#[test]
fn ms_ssim_matches_pytorch_msssim() {
    // Against `ms_ssim_f64_window` (pytorch_msssim given the same Gaussian in f64): 1e-6, the
    // agreement promised for SSIM; our kernels run in f32 (src/metrics/ssim.rs), worst error
    // measured 1.1e-7 (the f64 kernels before them held 1e-9). Against the
    // tool's default call, whose window is built in float32 (weights sum to 1 only to ~6e-8,
    // which biases every variance by ~1e-7 * mu^2): 5e-6, twice the largest difference between
    // the two columns (2.5e-6, measured by the script's output).
    let mut refs: HashMap<String, SsimReference> = HashMap::new();
    let (mut checked, mut worst_exact, mut worst_default) = (0, Worst::default(), Worst::default());
    for row in rows(&root().join("tests/data/msssim_reference.csv")) {
        let (orig, dist) = compared_pair(
            load(&root().join(&row["original"])),
            load(&root().join(&row["distorted"])),
            &row["channels_compared"],
        );
        let (orig, dist) = match row["to16"].as_str() {
            "" => (orig, dist),
            "x257" => (widen(&orig, false), widen(&dist, false)),
            "x257+pattern" => (widen(&orig, false), widen(&dist, true)),
            other => panic!("unknown to16 {other}"),
        };
        assert_eq!(f(&row, "data_range").unwrap(), orig.layout().peak() as f64);
        let key = format!(
            "{} {} {}",
            row["original"], row["channels_compared"], row["to16"]
        );
        let reference = refs.entry(key).or_insert_with(|| SsimReference::new(&orig));
        let what = format!(
            "{} {} {}",
            row["distorted"], row["channels_compared"], row["to16"]
        );
        let got = reference
            .ms_ssim(&dist)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        worst_exact.check(&what, got, f(&row, "ms_ssim_f64_window").unwrap(), 1e-6);
        worst_default.check(&what, got, f(&row, "ms_ssim").unwrap(), 5e-6);
        checked += 1;
    }
    worst_exact.assert_ok("MS-SSIM vs pytorch_msssim with f64 window");
    worst_default.assert_ok("MS-SSIM vs pytorch_msssim default");
    assert_eq!(checked, 38, "every row of msssim_reference.csv is checked");
}

#[test]
fn too_small_images_are_refused_where_the_references_refuse() {
    let pairs = root().join("tests/data/reference/pairs");
    let one = (
        load(&pairs.join("tiny_1x1_ref.png")),
        load(&pairs.join("tiny_1x1_dist.png")),
    );
    let eight = (
        load(&pairs.join("tiny_8x8_ref.png")),
        load(&pairs.join("tiny_8x8_dist.png")),
    );
    for (a, b) in [&one, &eight] {
        let e = SsimReference::new(a).ssim(b).unwrap_err().to_string();
        assert!(e.contains(&format!("({}x{})", a.width, a.height)), "{e}");
        assert!(SsimReference::new(a).ms_ssim(b).is_err());
    }
    assert!(Ssimulacra2Reference::new(&one.0)
        .score(&one.1)
        .unwrap_err()
        .to_string()
        .contains("1x1"));
    // C++ reference: 99.0415957 for this pair (reference.csv).
    let s = Ssimulacra2Reference::new(&eight.0).score(&eight.1).unwrap();
    assert!((s - 99.0415957).abs() < 0.25, "{s}");
    // PSNR-Y has no minimum size: 1x1 RGB, R + 10 -> dY = 2.99.
    let want = 10.0 * (255.0f64.powi(2) / 2.99f64.powi(2)).log10();
    assert!((psnr_y(&one.0, &one.1).unwrap() - want).abs() < 1e-9);
}

#[test]
fn mismatched_sizes_and_layouts_are_errors_naming_both() {
    let a = load(&root().join("corpus/chelsea.png"));
    let b = load(&root().join("corpus/astronaut.png"));
    let errors = [
        SsimReference::new(&a).ssim(&b).unwrap_err(),
        SsimReference::new(&a).ms_ssim(&b).unwrap_err(),
        Ssimulacra2Reference::new(&a).score(&b).unwrap_err(),
        psnr_y(&a, &b).unwrap_err(),
    ];
    for e in errors.map(|e| e.to_string()) {
        assert!(e.contains("451x300") && e.contains("512x512"), "{e}");
    }
    let rgba = Prep::plan(a.layout(), Layout::new(4, 8)).unwrap().apply(&a);
    let e = SsimReference::new(&a).ssim(&rgba).unwrap_err().to_string();
    assert!(e.contains("RGB8") && e.contains("RGBA8"), "{e}");
}

#[test]
fn psnr_y_matches_numpy() {
    // Pinned from numpy 2.4 (float64), Pillow for decoding:
    //   y = lambda a: a[..., 0] if a.shape[2] < 3 else \
    //       0.299*a[..., 0] + 0.587*a[..., 1] + 0.114*a[..., 2]
    //   psnr = 10 * np.log10(peak**2 / np.mean((y(orig) - y(dist))**2))
    // with a = np.array(Image.open(path)).astype(np.float64) (gray gets a channel axis), peak
    // 255 or 65535. Tolerance 1e-9 dB: only the rounding of the float sums differs.
    let cases = [
        (
            "corpus/astronaut.png",
            "pairs/astronaut__gaussian_noise_sigma10_seed42.png",
            31.923416920860966,
        ),
        (
            "corpus/ria_alpha.png",
            "pairs/ria_alpha__blur_binomial5x5.png",
            41.84100126413405,
        ),
        (
            "corpus/ct_small_16bit.png",
            "pairs/ct_small_16bit__gaussian_noise_sigma16_seed42.png",
            72.21778169840191,
        ),
        (
            "corpus/astronaut.png",
            "encoded/astronaut__jpeg_q50.jpg",
            34.786499515102605,
        ),
    ];
    for (orig, dist, want) in cases {
        let a = load(&root().join(orig));
        let b = load(&root().join("tests/data/reference").join(dist));
        let got = psnr_y(&a, &b).unwrap();
        assert!((got - want).abs() < 1e-9, "{dist}: {got} vs numpy {want}");
    }
    let a = load(&root().join("corpus/camera.png"));
    assert_eq!(psnr_y(&a, &a), Ok(f64::INFINITY));
}
