//! The engine's seams for what comes next: jobs added while a sweep runs (the target search's
//! probes), codec-reported times (external tools), and losslessness per configuration (JPEG
//! XL `d=0`, a lossy codec's lossless mode) held to an exact round trip.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use codecbench::codec::{
    Codec, CodecConfig, CodecError, Decoded, Encoded, Param, Params, Registry, Value,
};
use codecbench::pixels::{Image, Layout};
use codecbench::plan::{JobKey, Plan};
use codecbench::record::Status;
use codecbench::run::{pool, run_jobs};

/// Quantises samples to multiples of `step` (0 = exact), and reports its own encode time.
struct Step;

static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    vec![
        Param::float("step", 0.0, 64.0, 8.0, "quantiser step; 0 is lossless"),
        Param::bool(
            "cheat",
            false,
            "claim lossless at step 0 but drop one level",
        ),
    ]
});

impl Codec for Step {
    fn name(&self) -> &str {
        "step"
    }
    fn version(&self) -> String {
        "test 1".into()
    }
    fn decoder(&self) -> String {
        "test".into()
    }
    fn extension(&self) -> &str {
        "bin"
    }
    fn lossless(&self, params: &Params) -> bool {
        params.float("step") == 0.0
    }
    fn params(&self) -> &[Param] {
        &PARAMS
    }
    fn input_layout(&self, src: Layout) -> Layout {
        Layout::new(src.channels, 8)
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        let step = params.float("step");
        let mut bytes: Vec<u8> = img
            .as_u8()
            .ok_or("8-bit input only")?
            .iter()
            .map(|&v| {
                if step == 0.0 {
                    v
                } else {
                    ((v as f64 / step).round() * step).min(255.0) as u8
                }
            })
            .collect();
        if params.bool("cheat") {
            bytes[0] ^= 1;
        }
        let mut out = vec![img.channels];
        out.extend_from_slice(&img.width.to_le_bytes());
        out.extend(bytes);
        Ok(Encoded {
            bytes: out,
            reported_time: Some(Duration::from_millis(42)),
        })
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        let c = data[0];
        let w = u32::from_le_bytes(data[1..5].try_into().unwrap());
        let body = data[5..].to_vec();
        let h = body.len() as u32 / (w * c as u32);
        Ok(Image::new_u8(w, h, c, body)?.into())
    }
}

fn registry() -> Registry {
    let mut r = Registry::builtin();
    r.add(Arc::new(Step)).unwrap();
    r
}

#[test]
fn jobs_added_by_the_sink_run_and_take_their_place_in_row_order() {
    let sources = vec![
        common::source("a", common::textured_u8(40, 30, 3, 1)),
        common::source("b", common::textured_u8(24, 24, 1, 2)),
    ];
    let reg = registry();
    let configs = reg.parse_spec("step:step=16,4").unwrap();
    let mut plan = Plan::new(&sources, &configs);
    // A probe between the two settings, as the target search will add one.
    let probe = configs[0].with_setting(Value::Float(8.0)).unwrap();
    let probe_index = plan.add_config(probe);
    let mut rows = BTreeMap::new();
    let mut added = false;
    let times = run_jobs(
        &pool(2).unwrap(),
        &sources,
        &common::engine(),
        plan.jobs()
            .into_iter()
            .filter(|j| j.key.config != probe_index)
            .collect(),
        |job, out| {
            rows.insert(job.key, out.record);
            if added {
                return Vec::new();
            }
            added = true;
            (0..sources.len())
                .map(|image| {
                    plan.job(JobKey {
                        image,
                        config: probe_index,
                    })
                })
                .collect()
        },
    );
    assert_eq!(times.jobs, 6);
    assert_eq!(times.cells_done, 6);
    assert!(!times.cancelled);
    let specs: Vec<(String, String)> = rows
        .values()
        .map(|r| (r.image.clone(), r.spec.clone()))
        .collect();
    assert_eq!(
        specs,
        [
            ("a".into(), "step:step=16,cheat=false".into()),
            ("a".into(), "step:step=4,cheat=false".into()),
            ("a".into(), "step:step=8,cheat=false".into()),
            ("b".into(), "step:step=16,cheat=false".into()),
            ("b".into(), "step:step=4,cheat=false".into()),
            ("b".into(), "step:step=8,cheat=false".into()),
        ]
    );
    // Coarser steps lose more: the probe's PSNR lies between its neighbours'.
    for image in ["a", "b"] {
        let psnr = |step: &str| {
            rows.values()
                .find(|r| r.image == image && r.spec == format!("step:step={step},cheat=false"))
                .and_then(|r| r.psnr)
                .unwrap()
        };
        assert!(psnr("16") < psnr("8") && psnr("8") < psnr("4"), "{image}");
    }
    // The setting column is the number, the codec's own time is the reported one.
    let r = rows.values().next().unwrap();
    assert_eq!((r.setting_key.as_str(), r.setting), ("step", Some(16.0)));
    assert_eq!(r.encode_ms, Some(42.0));
    assert!(!r.lossless);
}

#[test]
fn a_configuration_that_is_lossless_is_held_to_an_exact_round_trip() {
    let sources = vec![common::source("a", common::textured_u8(16, 16, 3, 3))];
    let reg = registry();
    let configs: Vec<CodecConfig> = reg
        .parse_spec("step:step=0,cheat=false,true")
        .unwrap()
        .into_iter()
        .collect();
    let rows = codecbench::run::run_plan(&pool(1).unwrap(), &sources, &configs, &common::engine());
    assert_eq!(rows.len(), 2);
    let (honest, cheat) = (&rows[0], &rows[1]);
    assert!(honest.is_ok() && honest.lossless, "{honest:?}");
    assert_eq!(honest.psnr, Some(f64::INFINITY));
    assert_eq!(cheat.status, Status::Error);
    assert!(
        cheat.message.contains(
            "lossless codec did not round-trip exactly: first difference at pixel (0, 0) channel 0"
        ),
        "{}",
        cheat.message
    );
    assert!(cheat.bytes.is_some(), "what was measured is kept");
}

/// Rows with the machine-dependent columns (times, heap peaks) blanked, for comparing runs.
fn comparable(rows: &[codecbench::record::CellRecord]) -> Vec<codecbench::record::CellRecord> {
    rows.iter()
        .map(|r| codecbench::record::CellRecord {
            encode_ms: None,
            decode_ms: None,
            metric_ms: None,
            encode_cpu_ms: None,
            decode_cpu_ms: None,
            metric_cpu_ms: None,
            encode_peak_bytes: None,
            decode_peak_bytes: None,
            metric_peak_bytes: None,
            ..r.clone()
        })
        .collect()
}

#[test]
fn a_small_memory_budget_runs_one_image_at_a_time_and_gives_the_same_rows() {
    // Many small images, several settings each: without a budget the two workers interleave
    // images; with a budget below one image's estimate only one image is in work at a time
    // (an image that does not fit still runs when nothing else is in flight).
    let sources: Vec<_> = (0..12)
        .map(|i| {
            common::source(
                &format!("img{i:02}"),
                common::textured_u8(32 + i, 24, 3, i as u64),
            )
        })
        .collect();
    let configs = common::parse_spec("jpeg:q=30,60,90");
    let plan = Plan::new(&sources, &configs);
    let run = |max_memory: Option<u64>| {
        let mut engine = common::engine();
        engine.max_memory = max_memory;
        let mut rows = BTreeMap::new();
        let times = run_jobs(
            &pool(2).unwrap(),
            &sources,
            &engine,
            plan.jobs(),
            |job, out| {
                rows.insert(job.key, out.record);
                Vec::new()
            },
        );
        (rows.into_values().collect::<Vec<_>>(), times)
    };
    let (free, _) = run(None);
    let (tight, tight_times) = run(Some(1));
    assert_eq!(free.len(), 36);
    assert!(free.iter().all(|r| r.is_ok()));
    assert_eq!(comparable(&tight), comparable(&free));
    assert_eq!(tight_times.max_images_in_flight, 1);
    assert_eq!(tight_times.cells_done, 36);

    // A budget of two images' estimates never has more than two in work.
    let per_image = 56 * 24 * codecbench::run::bytes_per_pixel(&common::engine().metrics, 56 * 24);
    let (two, two_times) = run(Some(2 * per_image));
    assert_eq!(comparable(&two), comparable(&free));
    assert!(
        two_times.max_images_in_flight <= 2,
        "{}",
        two_times.max_images_in_flight
    );
}

/// Step's codec, with its encode done in a way a real codec might: on a thread of its own
/// (`OffThread`: the CPU is there, and it says so), or with rayon parallelism of its own
/// (`Parallel`: records how many threads rayon offered it).
struct Wrapped {
    name: &'static str,
    off_thread: bool,
}

/// The most threads rayon offered a `Parallel` encode, over every call.
static RAYON_THREADS_SEEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Codec for Wrapped {
    fn name(&self) -> &str {
        self.name
    }
    fn version(&self) -> String {
        Step.version()
    }
    fn decoder(&self) -> String {
        Step.decoder()
    }
    fn extension(&self) -> &str {
        Step.extension()
    }
    fn lossless(&self, params: &Params) -> bool {
        Step.lossless(params)
    }
    fn params(&self) -> &[Param] {
        Step.params()
    }
    fn input_layout(&self, src: Layout) -> Layout {
        Step.input_layout(src)
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        let mut out = if self.off_thread {
            std::thread::scope(|s| {
                s.spawn(|| {
                    std::thread::sleep(Duration::from_millis(20));
                    Step.encode(img, params)
                })
                .join()
                .unwrap()
            })?
        } else {
            let ((a, seen), b) = rayon::join(
                || (Step.encode(img, params), rayon::current_num_threads()),
                rayon::current_num_threads,
            );
            RAYON_THREADS_SEEN.fetch_max(seen.max(b), std::sync::atomic::Ordering::Relaxed);
            a?
        };
        out.reported_time = None;
        Ok(out)
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        Step.decode(data)
    }
    fn encode_cpu_on_thread(&self) -> bool {
        !self.off_thread
    }
}

fn run_wrapped(
    name: &'static str,
    off_thread: bool,
) -> (
    Vec<codecbench::record::CellRecord>,
    codecbench::run::EngineTimes,
) {
    let sources = vec![
        common::source("a", common::textured_u8(40, 30, 3, 1)),
        common::source("b", common::textured_u8(24, 24, 1, 2)),
    ];
    let mut reg = Registry::builtin();
    reg.add(Arc::new(Wrapped { name, off_thread })).unwrap();
    let configs = reg.parse_spec(&format!("{name}:step=16,4")).unwrap();
    let plan = Plan::new(&sources, &configs);
    let mut rows = BTreeMap::new();
    let times = run_jobs(
        &pool(2).unwrap(),
        &sources,
        &common::engine(),
        plan.jobs(),
        |job, out| {
            rows.insert(job.key, out.record);
            Vec::new()
        },
    );
    (rows.into_values().collect(), times)
}

/// Each worker is the only thread of its own rayon pool: a codec's own rayon work runs on the
/// worker that runs the cell (so the worker's CPU clock is the cell's CPU time, and rav1e's
/// tile count, which follows the thread count, never depends on `--jobs`).
#[test]
fn a_codecs_own_rayon_work_stays_on_its_worker() {
    let (rows, times) = run_wrapped("parallel", false);
    assert_eq!(times.cells_done, 4);
    assert!(rows.iter().all(|r| r.is_ok()), "{rows:?}");
    assert_eq!(
        RAYON_THREADS_SEEN.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "a worker of a 2-job run offered its codec more than its own thread"
    );
    assert!(rows.iter().all(|r| r.encode_cpu_ms.is_some()));
    assert_eq!(times.unclocked, Duration::ZERO);
}

/// An encoder that works on a thread of its own (and says so with `encode_cpu_on_thread`):
/// its calls' wall time is counted as `unclocked` instead of passing the waiting worker's
/// near-zero CPU time off as the encode's.
#[test]
fn an_encoder_working_on_its_own_thread_is_counted_unclocked() {
    let (rows, times) = run_wrapped("offthread", true);
    assert_eq!(times.cells_done, 4);
    assert!(
        rows.iter().all(|r| r.is_ok() && r.encode_cpu_ms.is_none()),
        "{rows:?}"
    );
    let encode_wall: f64 = rows.iter().map(|r| r.encode_ms.unwrap() / 1e3).sum();
    // Every call slept 20 ms on its thread (repeat 1).
    assert!(
        times.unclocked >= Duration::from_millis(80),
        "{:?}",
        times.unclocked
    );
    assert!(
        (times.unclocked.as_secs_f64() - encode_wall).abs() < 1e-3 + 1e-3 * encode_wall,
        "{:?} vs {encode_wall}",
        times.unclocked
    );
}
