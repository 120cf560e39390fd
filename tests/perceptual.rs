//! SSIM, MS-SSIM, SSIMULACRA2 and PSNR-Y against values computed by other people's tools:
//! scikit-image and the C++ SSIMULACRA 2.1 (tests/data/reference/reference.csv, see its README),
//! pytorch_msssim (tests/data/msssim_reference.csv, made by
//! scripts/reference/msssim_reference.py) and numpy (PSNR-Y, values pinned below).
//! Rows map to images exactly as in tests/reference.rs: encoded files are decoded with
//! codecbench's own decoders, then both images are brought to the compared channels.

mod common;

use std::collections::HashMap;

use codecbench::metrics::luma::psnr_y;
use codecbench::metrics::ssim::SsimReference;
use codecbench::metrics::ssimulacra2::Ssimulacra2Reference;
use codecbench::pixels::{conform, Image, Layout, Prep, Samples};

use common::{csv_rows as rows, load_any as load, num as f, reference_files, root, Row};

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
            let e = reference.ssim(&dist).unwrap_err();
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

/// Rows where the crate differs from the C++ tool by more than 0.25, with the bound measured
/// (0.4847 and 0.2757; each appears twice, once per data_range). Both are the 64x64 16-bit
/// near-black MR image, whose 64 px side gives 5 scales instead of 6, which moves the large
/// weights (225, 176) onto the Y-channel SSIM of the 8x8 and 4x4 scales. The crate's value is
/// confirmed by an independent float64 re-implementation of the C++ source (cloudinary/ssimulacra2
/// src/ssimulacra2.cc, libjxl recursive Gaussian): 99.618 and 98.006 (crate 99.594, 97.997,
/// C++ 99.110, 97.721), and that re-implementation matches the C++ tool to 1e-6 on the 8x8 pair
/// and within 0.04 on the 128x128 CT image; the C++ tool's raw weighted error sum is larger by a
/// near-constant 0.007-0.008 on both MR pairs, a cause we could not reproduce without the binary.
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
            let e = got.unwrap_err();
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
        let e = SsimReference::new(a).ssim(b).unwrap_err();
        assert!(e.contains(&format!("({}x{})", a.width, a.height)), "{e}");
        assert!(SsimReference::new(a).ms_ssim(b).is_err());
    }
    assert!(Ssimulacra2Reference::new(&one.0)
        .score(&one.1)
        .unwrap_err()
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
    for e in errors {
        assert!(e.contains("451x300") && e.contains("512x512"), "{e}");
    }
    let rgba = Prep::plan(a.layout(), Layout::new(4, 8)).unwrap().apply(&a);
    let e = SsimReference::new(&a).ssim(&rgba).unwrap_err();
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
