//! Throughput of each quality metric on one core: corpus/astronaut.png (512x512 RGB) against its
//! mozjpeg q50 round trip, in pixels per second. References (SSIM, SSIMULACRA2) are built once,
//! outside the timed loop, as a sweep does for the many decodes of one original.
//!
//! Run: `cargo bench --bench metrics` (add `-- ssimulacra2` to run one group). The metrics are
//! single-threaded; keep the machine otherwise idle for stable numbers.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use codecbench::codec::Registry;
use codecbench::corpus::decode_bytes;
use codecbench::metrics::distortion;
use codecbench::metrics::luma::psnr_y;
use codecbench::metrics::ssim::SsimReference;
use codecbench::metrics::ssimulacra2::Ssimulacra2Reference;
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

fn metrics(c: &mut Criterion) {
    let (original, decoded) = pair();
    let layout = original.layout();
    let prep = Prep::plan(layout, layout).expect("same layout");
    let ssim = SsimReference::new(&original);
    let ssimulacra2 = Ssimulacra2Reference::new(&original);

    let mut group = c.benchmark_group("metrics");
    group.throughput(Throughput::Elements(original.pixel_count() as u64));
    group.bench_function("psnr", |b| {
        b.iter(|| distortion(black_box(&original), black_box(&decoded), &prep))
    });
    group.bench_function("psnr_y", |b| {
        b.iter(|| psnr_y(black_box(&original), black_box(&decoded)).unwrap())
    });
    group.bench_function("ssim", |b| {
        b.iter(|| ssim.ssim(black_box(&decoded)).unwrap())
    });
    group.bench_function("ms_ssim", |b| {
        b.iter(|| ssim.ms_ssim(black_box(&decoded)).unwrap())
    });
    group.bench_function("ssimulacra2", |b| {
        b.iter(|| ssimulacra2.score(black_box(&decoded)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, metrics);
criterion_main!(benches);
