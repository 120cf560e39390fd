//! Throughput of each quality metric on one core: corpus/astronaut.png (512x512 RGB) against its
//! mozjpeg q50 round trip, in pixels per second. References (SSIM, SSIMULACRA2) are built once,
//! outside the timed loop, as a sweep does for the many decodes of one original.
//!
//! `ssimulacra2_crate` is the `ssimulacra2` crate (the oracle our SSIMULACRA2 is tested
//! against), fed sRGB f32 pixels, timed the same way side by side (it has no reusable
//! reference, so its time includes the original's half). `ssim_and_ms_ssim` is both metrics
//! from one full-scale pass, as a sweep selecting both computes them; `psnr+psnr_y fused` is
//! MSE/PSNR and PSNR-Y from one pass over the pixels, as a sweep selecting PSNR-Y computes them
//! (`psnr` and `psnr_y` are each pass alone). `butteraugli` gives both
//! norms from one comparison.
//!
//! Before criterion runs, a table gives each metric's throughput per second of this thread's
//! CPU time (robust to a shared machine, where criterion's wall-clock figures are not) and its
//! working memory in heap bytes per pixel (the counting allocator's peak for this thread):
//! `prepare` builds the reference from the original, `first score` is the first comparison
//! (which may finish the reference: MS-SSIM's coarser scales), `score` any later one (what
//! every other cell pays). `METRICS_TABLE_ONLY=1` stops after the table.
//!
//! Run: `cargo bench --bench metrics` (add `-- ssimulacra2` to run one group). The metrics are
//! single-threaded; keep the machine otherwise idle for stable numbers.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use codecbench::alloc::{thread_cpu, Counting, HeapScope};

use codecbench::codec::Registry;
use codecbench::corpus::decode_bytes;
use codecbench::metrics::butteraugli::ButteraugliOriginal;
use codecbench::metrics::luma::psnr_y;
use codecbench::metrics::ssim::SsimReference;
use codecbench::metrics::ssimulacra2::Ssimulacra2Reference;
use codecbench::metrics::{distortion, distortion_and_luma};
use codecbench::pixels::{Image, Prep};

/// The original and its JPEG q50 decode.
fn pair() -> (Image, Image) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/astronaut.png");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let original = decode_bytes(&bytes, u64::MAX).expect("astronaut.png decodes");
    let registry = Registry::builtin();
    let config = &registry.parse_spec("jpeg:q=50").expect("valid spec")[0];
    let jpeg = &config.codec;
    assert_eq!(jpeg.input_layout(original.layout()), original.layout());
    let encoded = jpeg
        .encode(&original, &config.params)
        .expect("encodes")
        .bytes;
    let decoded = jpeg.decode(&encoded).expect("decodes").image;
    (original, decoded)
}

/// An 8-bit RGB image as the `ssimulacra2` crate takes it: sRGB-encoded f32 in [0, 1].
fn crate_rgb(img: &Image) -> ssimulacra2::Rgb {
    use ssimulacra2::{ColorPrimaries, Rgb, TransferCharacteristic};
    assert_eq!(img.channels, 3);
    let data = (0..img.pixel_count())
        .map(|p| [0, 1, 2].map(|k| img.sample(p * 3 + k) as f32 / 255.0))
        .collect();
    Rgb::new(
        data,
        img.width as usize,
        img.height as usize,
        TransferCharacteristic::SRGB,
        ColorPrimaries::BT709,
    )
    .expect("valid image")
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Prints MP per CPU-second and heap B/px of `prepare` and `score` for one metric: `score` is
/// repeated for at least 2 s of CPU time.
fn row<R, T>(name: &str, pixels: usize, prepare: impl Fn() -> R, score: impl Fn(&R) -> T) {
    let scope = HeapScope::start();
    let reference = prepare();
    let prepare_peak = scope.peak().unwrap_or(0);
    // The first score may finish the reference (MS-SSIM's coarser scales): counted apart.
    let scope = HeapScope::start();
    black_box(score(&reference));
    let first_peak = scope.peak().unwrap_or(0);
    let scope = HeapScope::start();
    black_box(score(&reference));
    let score_peak = scope.peak().unwrap_or(0);
    let (start, mut n) = (thread_cpu(), 0u32);
    while (thread_cpu() - start).as_secs_f64() < 2.0 {
        black_box(score(&reference));
        n += 1;
    }
    let cpu = (thread_cpu() - start).as_secs_f64() / n as f64;
    println!(
        "{name:<18} {:>7.1} MP/s CPU {:>7.1} B/px prepare {:>7.1} B/px first score {:>7.1} B/px score",
        pixels as f64 / cpu / 1e6,
        prepare_peak as f64 / pixels as f64,
        first_peak as f64 / pixels as f64,
        score_peak as f64 / pixels as f64,
    );
}

/// The CPU-time and memory table (see the module comment).
fn table(original: &Image, decoded: &Image) {
    let n = original.pixel_count();
    let layout = original.layout();
    let prep = Prep::plan(layout, layout).expect("same layout");
    println!("one core, {}x{} {layout}:", original.width, original.height);
    row("psnr", n, || (), |_| distortion(original, decoded, &prep));
    row("psnr_y", n, || (), |_| psnr_y(original, decoded).unwrap());
    row(
        "psnr+psnr_y fused",
        n,
        || (),
        |_| distortion_and_luma(original, decoded, &prep, true),
    );
    let ssim = || SsimReference::new(original);
    row("ssim", n, ssim, |r| r.ssim(decoded).unwrap());
    row("ms_ssim", n, ssim, |r| r.ms_ssim(decoded).unwrap());
    row("ssim_and_ms_ssim", n, ssim, |r| {
        r.ssim_and_ms_ssim(decoded, true).unwrap()
    });
    row(
        "ssimulacra2",
        n,
        || Ssimulacra2Reference::new(original),
        |r| r.score(decoded).unwrap(),
    );
    let (a, b) = (crate_rgb(original), crate_rgb(decoded));
    row(
        "ssimulacra2_crate",
        n,
        || (),
        |_| ssimulacra2::compute_frame_ssimulacra2(a.clone(), b.clone()).unwrap(),
    );
    row(
        "butteraugli",
        n,
        || ButteraugliOriginal::new(original),
        |r| r.score(decoded).unwrap(),
    );
}

fn metrics(c: &mut Criterion) {
    let (original, decoded) = pair();
    table(&original, &decoded);
    if std::env::var_os("METRICS_TABLE_ONLY").is_some() {
        return;
    }
    let layout = original.layout();
    let prep = Prep::plan(layout, layout).expect("same layout");
    let ssim = SsimReference::new(&original);
    let ssimulacra2 = Ssimulacra2Reference::new(&original);
    let butteraugli = ButteraugliOriginal::new(&original);
    let (crate_original, crate_decoded) = (crate_rgb(&original), crate_rgb(&decoded));

    let mut group = c.benchmark_group("metrics");
    group.throughput(Throughput::Elements(original.pixel_count() as u64));
    group.bench_function("psnr", |b| {
        b.iter(|| distortion(black_box(&original), black_box(&decoded), &prep))
    });
    group.bench_function("psnr_y", |b| {
        b.iter(|| psnr_y(black_box(&original), black_box(&decoded)).unwrap())
    });
    group.bench_function("psnr_and_psnr_y", |b| {
        b.iter(|| distortion_and_luma(black_box(&original), black_box(&decoded), &prep, true))
    });
    group.bench_function("ssim", |b| {
        b.iter(|| ssim.ssim(black_box(&decoded)).unwrap())
    });
    group.bench_function("ms_ssim", |b| {
        b.iter(|| ssim.ms_ssim(black_box(&decoded)).unwrap())
    });
    group.bench_function("ssim_and_ms_ssim", |b| {
        b.iter(|| ssim.ssim_and_ms_ssim(black_box(&decoded), true).unwrap())
    });
    group.bench_function("ssimulacra2", |b| {
        b.iter(|| ssimulacra2.score(black_box(&decoded)).unwrap())
    });
    group.bench_function("ssimulacra2_crate", |b| {
        b.iter(|| {
            ssimulacra2::compute_frame_ssimulacra2(
                black_box(crate_original.clone()),
                black_box(crate_decoded.clone()),
            )
            .unwrap()
        })
    });
    group.sample_size(10);
    group.bench_function("butteraugli", |b| {
        b.iter(|| butteraugli.score(black_box(&decoded)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, metrics);
criterion_main!(benches);
