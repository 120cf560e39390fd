//! Target search (`--target`) on synthetic codecs whose rate-quality curves are known in
//! closed form, so the right setting is computed here independently of the search.
//!
//! The codecs damage a flat 32x32 gray image (value 100) by adding 16 to the first `m`
//! pixels, so MSE = 16² m / 1024 = m / 4 and PSNR = 10 log10(255² · 4 / m) exactly, and they
//! pad their output with a known number of bytes, so bytes and bpp are known too.

use crate::common;

use std::sync::{Arc, LazyLock};

use codecbench::codec::{Codec, CodecError, Decoded, Encoded, Param, Params, Registry};
use codecbench::pixels::{Image, Layout};
use codecbench::run::pool;
use codecbench::target::{parse_target, run, Goal, TargetRow, TargetStatus};

const N: usize = 32 * 32;
/// Header bytes of the synthetic format: width, height (u32 each), damaged pixels (u16).
const HEADER: usize = 10;

/// How a synthetic codec maps its setting to damaged pixels and padding bytes.
#[derive(Clone, Copy)]
enum Curve {
    /// Integer `s` in 0..=1000: m = max(1000 - s, 1), padding s (higher costs more).
    Up,
    /// Float `d` in 0..=10: m = round(10 d), padding round(100 (10 - d)) (higher is cheaper,
    /// as JPEG XL's distance).
    Down,
    /// As `Up`, but perfect (m = 0) for s in 600..=700: not monotonic.
    Bump,
    /// As `Up` in quality, but with no padding from s = 990 up: the top of the range is the
    /// cheapest way to meet a high target (bytes not monotonic in the setting, as JPEG's on a
    /// 16-bit source).
    CheapTop,
    /// Quality peaks at s = 500 (m = 1) and falls on both sides: m = 501 - s below,
    /// (s - 500) / 10 + 1 above; padding s.
    Peak,
}

struct Synthetic {
    name: &'static str,
    curve: Curve,
    params: Vec<Param>,
}

impl Synthetic {
    fn new(name: &'static str, curve: Curve) -> Synthetic {
        let params = match curve {
            Curve::Down => vec![Param::float("d", 0.0, 10.0, 1.0, "distance")],
            _ => vec![Param::int("s", 0, 1000, 500, "effort")],
        };
        Synthetic {
            name,
            curve,
            params,
        }
    }

    /// (damaged pixels, padding bytes) at these parameters.
    fn shape(&self, p: &Params) -> (usize, usize) {
        match self.curve {
            Curve::Up => {
                let s = p.int("s") as usize;
                ((1000 - s).max(1), s)
            }
            Curve::Bump => {
                let s = p.int("s") as usize;
                let m = if (600..=700).contains(&s) {
                    0
                } else {
                    (1000 - s).max(1)
                };
                (m, s)
            }
            Curve::CheapTop => {
                let s = p.int("s") as usize;
                ((1000 - s).max(1), if s >= 990 { 0 } else { s })
            }
            Curve::Peak => {
                let s = p.int("s") as usize;
                let m = if s <= 500 {
                    501 - s
                } else {
                    (s - 500) / 10 + 1
                };
                (m, s)
            }
            Curve::Down => {
                let d = p.float("d");
                (
                    (d * 10.0).round() as usize,
                    ((10.0 - d) * 100.0).round() as usize,
                )
            }
        }
    }
}

impl Codec for Synthetic {
    fn name(&self) -> &str {
        self.name
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
    fn lossless(&self, _: &Params) -> bool {
        false
    }
    fn params(&self) -> &[Param] {
        &self.params
    }
    fn input_layout(&self, src: Layout) -> Layout {
        Layout::new(src.channels, 8)
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        let (m, pad) = self.shape(params);
        let mut out = Vec::new();
        out.extend_from_slice(&img.width.to_le_bytes());
        out.extend_from_slice(&img.height.to_le_bytes());
        out.extend_from_slice(&(m as u16).to_le_bytes());
        out.extend_from_slice(img.as_u8().ok_or("8-bit input only")?);
        out.extend(std::iter::repeat_n(0u8, pad));
        Ok(Encoded {
            bytes: out,
            reported_time: None,
        })
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        let w = u32::from_le_bytes(data[0..4].try_into().unwrap());
        let h = u32::from_le_bytes(data[4..8].try_into().unwrap());
        let m = u16::from_le_bytes(data[8..10].try_into().unwrap()) as usize;
        let n = (w * h) as usize;
        let mut px = data[HEADER..HEADER + n].to_vec();
        for v in px.iter_mut().take(m) {
            *v = v.saturating_add(16);
        }
        Ok(Image::new_u8(w, h, 1, px)?.into())
    }
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let mut r = Registry::builtin();
    r.add(Arc::new(Synthetic::new("up", Curve::Up))).unwrap();
    r.add(Arc::new(Synthetic::new("down", Curve::Down)))
        .unwrap();
    r.add(Arc::new(Synthetic::new("bump", Curve::Bump)))
        .unwrap();
    r.add(Arc::new(Synthetic::new("cheaptop", Curve::CheapTop)))
        .unwrap();
    r.add(Arc::new(Synthetic::new("peak", Curve::Peak)))
        .unwrap();
    r
});

/// PSNR of `m` damaged pixels, from the closed form above.
fn psnr(m: usize) -> f64 {
    10.0 * (255.0f64 * 255.0 * 4.0 / m as f64).log10()
}

/// Largest m whose PSNR reaches `t`, counted directly from the closed form.
fn max_damage(t: f64) -> usize {
    (0..=N)
        .take_while(|&m| m == 0 || psnr(m) >= t)
        .last()
        .unwrap()
}

fn search(
    specs: &[&str],
    targets: &[&str],
) -> (Vec<codecbench::record::CellRecord>, Vec<TargetRow>) {
    search_with(2, specs, targets)
}

fn search_with(
    jobs: usize,
    specs: &[&str],
    targets: &[&str],
) -> (Vec<codecbench::record::CellRecord>, Vec<TargetRow>) {
    let image = Image::new_u8(32, 32, 1, vec![100; N]).unwrap();
    let sources = vec![common::source("flat", image)];
    let configs: Vec<_> = specs
        .iter()
        .flat_map(|s| REGISTRY.parse_spec(s).unwrap())
        .collect();
    let targets: Vec<_> = targets
        .iter()
        .flat_map(|t| parse_target(t).unwrap())
        .collect();
    run(
        &pool(jobs).unwrap(),
        &sources,
        &configs,
        &common::engine(),
        &targets,
    )
}

#[test]
fn a_monotonic_integer_curve_gives_exactly_the_cheapest_setting_in_logarithmic_probes() {
    let (records, rows) = search(&["up:s=500,974"], &["psnr=40"]);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    // PSNR >= 40 needs m <= 26 (psnr(26) = 40.002, psnr(27) = 39.84): s = 1000 - 26.
    let m = max_damage(40.0);
    assert_eq!(m, 26);
    assert_eq!(
        (r.status, r.setting),
        (TargetStatus::Met, Some(974.0)),
        "{r:?}"
    );
    // Achieved is the measured PSNR: the closed form to float rounding.
    assert!((r.achieved.unwrap() - psnr(m)).abs() < 1e-9, "{r:?}");
    assert_eq!(r.bytes, Some((HEADER + N + 974) as u64));
    // Two ends plus a bisection of 1000 steps: at most 2 + ceil(log2 1000) = 12 cells.
    assert!(r.probes <= 12 && r.probes >= 10, "{} probes", r.probes);
    // The neighbour on the failing side was measured and fails.
    let s973 = records.iter().find(|c| c.setting == Some(973.0)).unwrap();
    assert!(s973.psnr.unwrap() < 40.0);
    // Swept cells are reused, never run twice, and are not marked as probes.
    let mut specs: Vec<&str> = records.iter().map(|c| c.spec.as_str()).collect();
    specs.sort();
    specs.dedup();
    assert_eq!(specs.len(), records.len());
    let swept: Vec<f64> = records
        .iter()
        .filter(|c| !c.probe)
        .map(|c| c.setting.unwrap())
        .collect();
    assert_eq!(swept, [500.0, 974.0]);
    assert_eq!(
        records.len(),
        2 + records.iter().filter(|c| c.probe).count()
    );
}

#[test]
fn a_float_setting_where_higher_is_cheaper_is_oriented_from_the_probes() {
    let (_, rows) = search(&["down:d=1"], &["psnr=40", "psnr=35"]);
    // m = 10 d pixels: PSNR >= 40 needs m <= 26, so the cheapest (largest) d is 2.6 on the
    // 0.1 grid; PSNR >= 35 needs m <= max_damage(35).
    assert_eq!(rows[0].status, TargetStatus::Met, "{:?}", rows[0]);
    assert_eq!(rows[0].setting, Some(2.6));
    assert_eq!(rows[0].bytes, Some((HEADER + N + 740) as u64));
    let m35 = max_damage(35.0);
    assert_eq!(rows[1].status, TargetStatus::Met, "{:?}", rows[1]);
    assert_eq!(m35, 82);
    assert_eq!(rows[1].setting, Some(m35 as f64 / 10.0));
    // The swept d = 1, two ends and a bisection of at most 100 steps: at most 1 + 2 + 7.
    assert!(rows[0].probes <= 10, "{} probes", rows[0].probes);
}

#[test]
fn an_unreachable_target_reports_the_best_achieved() {
    let (_, rows) = search(&["up:s=500"], &["psnr=60"]);
    let r = &rows[0];
    assert_eq!(r.status, TargetStatus::Unreachable, "{r:?}");
    // The best the curve does is m = 1 at s = 999 and 1000 (54.15 dB), measured at s = 1000.
    assert!((r.achieved.unwrap() - psnr(1)).abs() < 1e-9, "{r:?}");
    assert_eq!(r.setting, Some(1000.0));
    // The swept s = 500 and the two ends (the search starts from its swept cells).
    assert_eq!(r.probes, 3);
}

#[test]
fn a_met_row_is_the_cheapest_measured_cell_meeting_the_target_by_bytes() {
    // Quality rises with s (boundary for PSNR 40 at s = 974, 974 padding bytes), but from
    // s = 990 up there is no padding: the measured cells there meet 40 dB for fewer bytes.
    let (records, rows) = search(&["cheaptop:s=500"], &["psnr=40"]);
    let r = &rows[0];
    let cheapest = records
        .iter()
        .filter(|c| c.psnr.unwrap() >= 40.0)
        .min_by_key(|c| c.bytes.unwrap())
        .unwrap();
    assert!(cheapest.setting.unwrap() >= 990.0, "{cheapest:?}");
    assert_eq!(r.status, TargetStatus::Met, "{r:?}");
    assert_eq!(
        (r.setting, r.bytes),
        (cheapest.setting, cheapest.bytes),
        "{r:?}"
    );
    assert_eq!(r.bytes, Some((HEADER + N) as u64));
    assert!(r.message.contains("fewer bytes"), "{}", r.message);
}

#[test]
fn a_target_met_by_a_cell_another_search_measured_is_never_unreachable() {
    // Both ends miss PSNR 50 (27.2 and 37.1 dB), so its search stops at once; the search for
    // 35 then bisects through s = 500 (m = 1, 54.2 dB), which meets 50 too.
    let (records, rows) = search(&["peak:s=0"], &["psnr=35", "psnr=50"]);
    let s500 = records.iter().find(|c| c.setting == Some(500.0)).unwrap();
    assert!(s500.psnr.unwrap() >= 50.0);
    let r = &rows[1];
    assert_ne!(r.status, TargetStatus::Unreachable, "{r:?}");
    assert_eq!(r.status, TargetStatus::NonMonotonic, "{r:?}");
    assert_eq!(r.setting, Some(500.0), "{r:?}");
    assert!(r.achieved.unwrap() >= 50.0);
}

#[test]
fn rows_come_in_plan_order_then_probes_by_setting_whatever_the_thread_count() {
    let order = |jobs| {
        let (records, rows) =
            search_with(jobs, &["peak:s=0", "up:s=500,974"], &["psnr=35", "psnr=50"]);
        let specs: Vec<String> = records.iter().map(|c| c.spec.clone()).collect();
        (specs, rows, records)
    };
    let (one, rows1, records) = order(1);
    for _ in 0..3 {
        let (two, rows2, _) = order(2);
        assert_eq!(one, two);
        assert_eq!(rows1, rows2);
    }
    // Each curve: its swept cells, then its probes in setting order.
    let curves: Vec<&str> = records.iter().map(|c| c.curve.as_str()).collect();
    let first_up = curves.iter().position(|c| *c == "up").unwrap();
    assert!(curves[..first_up].iter().all(|c| *c == "peak"));
    assert!(curves[first_up..].iter().all(|c| *c == "up"));
    for curve in ["peak", "up"] {
        let probes: Vec<f64> = records
            .iter()
            .filter(|c| c.curve == curve && c.probe)
            .map(|c| c.setting.unwrap())
            .collect();
        assert!(
            probes.windows(2).all(|w| w[0] < w[1]),
            "{curve}: {probes:?}"
        );
        let first_probe = records.iter().position(|c| c.curve == curve && c.probe);
        let last_swept = records.iter().rposition(|c| c.curve == curve && !c.probe);
        assert!(first_probe > last_swept);
    }
}

#[test]
fn a_search_starts_from_the_swept_cells_and_needs_few_encodes() {
    // Swept every 10: the boundary (974) lies between the swept 970 (fails) and 980 (meets),
    // so the search bisects 10 steps: at most 4 encodes, and the same answer as from scratch.
    let (records, rows) = search(&["up:s=0..1000:10"], &["psnr=40"]);
    let r = &rows[0];
    assert_eq!(
        (r.status, r.setting),
        (TargetStatus::Met, Some(974.0)),
        "{r:?}"
    );
    let encodes = records.iter().filter(|c| c.probe).count();
    assert!(encodes <= 4, "{encodes} encodes");
}

#[test]
fn a_non_monotonic_curve_is_reported_with_the_cheapest_point_that_meets() {
    // The swept s = 650 (perfect) brackets the boundary with the failing end s = 0, so the
    // search finds s = 600, the cheapest setting that meets 40 dB (the perfect band starts
    // there); the swept s = 800 (m = 200, 31 dB) misses above it: not monotonic.
    let (_, rows) = search(&["bump:s=650,800"], &["psnr=40"]);
    let r = &rows[0];
    assert_eq!(r.status, TargetStatus::NonMonotonic, "{r:?}");
    assert_eq!(r.setting, Some(600.0));
    assert!(r.message.contains("800"), "{}", r.message);
    // Without a measured contradiction the row is met, at the same cheapest setting.
    let (_, rows) = search(&["bump:s=650"], &["psnr=40"]);
    assert_eq!(
        (rows[0].status, rows[0].setting),
        (TargetStatus::Met, Some(600.0))
    );
    // The same search on the monotonic curve with the same swept point is simply met.
    let (_, rows) = search(&["up:s=650"], &["psnr=40"]);
    assert_eq!(rows[0].status, TargetStatus::Met);
}

#[test]
fn a_bpp_budget_gives_the_best_quality_within_it() {
    // bytes = 10 + 1024 + s; 9 bpp is 1152 bytes on 1024 pixels, so s = 118 at most.
    let (_, rows) = search(&["up:s=500"], &["bpp=9", "bytes=1100"]);
    assert_eq!(rows[0].status, TargetStatus::Met, "{:?}", rows[0]);
    assert_eq!(rows[0].setting, Some(118.0));
    assert_eq!(rows[0].achieved, Some(9.0));
    assert_eq!(rows[1].setting, Some((1100 - HEADER - N) as f64));
    assert_eq!(rows[1].achieved, Some(1100.0));
    // A budget below the smallest file cannot be met.
    let (_, rows) = search(&["up:s=500"], &["bytes=100"]);
    assert_eq!(rows[0].status, TargetStatus::Unreachable);
    assert_eq!(rows[0].bytes, Some((HEADER + N) as u64));
}

#[test]
fn targets_parse_and_bad_ones_say_what_is_known() {
    let t = parse_target("ssimulacra2=70,80,90").unwrap();
    assert_eq!(t.len(), 3);
    assert!(matches!(t[1].goal, Goal::Quality(m) if m.key == "ssimulacra2"));
    assert_eq!(t[1].value, 80.0);
    assert_eq!(parse_target("bpp=1.0").unwrap()[0].goal, Goal::Bpp);
    let e = parse_target("sharpness=3").unwrap_err().to_string();
    assert!(
        e.contains("sharpness") && e.contains("bpp, bytes, psnr"),
        "{e}"
    );
    assert!(parse_target("psnr")
        .unwrap_err()
        .to_string()
        .contains("METRIC=VALUE"));
    assert!(parse_target("psnr=forty")
        .unwrap_err()
        .to_string()
        .contains("forty"));
    assert!(parse_target("bpp=-1")
        .unwrap_err()
        .to_string()
        .contains("positive"));
}

fn codecbench() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("codecbench").unwrap()
}

#[test]
fn a_run_with_a_target_in_the_sweep_file_writes_targets_csv_and_marks_probes() {
    let dir = tempfile::tempdir().unwrap();
    // A real photograph (the repository's corpus): PSNR 30 and 35 lie inside JPEG's range.
    let image = common::root().join("corpus/camera.png");
    let sweep = dir.path().join("sweep.toml");
    std::fs::write(
        &sweep,
        "codec = [\"jpeg:q=50\"]\n[target]\npsnr = [30, 35]\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--metrics",
            "psnr",
        ])
        .arg("--corpus")
        .arg(&image)
        .arg("--sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let targets = common::csv_rows(&out.join("targets.csv"));
    let results = common::csv_rows(&out.join("results.csv"));
    assert_eq!(targets.len(), 2);
    let psnr_at = |q: f64| {
        results
            .iter()
            .find(|r| common::num(r, "setting") == Some(q))
            .and_then(|r| common::num(r, "psnr"))
    };
    for (t, want) in targets.iter().zip([30.0, 35.0]) {
        assert_eq!(t["status"], "met", "{t:?}");
        assert_eq!(common::num(t, "target"), Some(want));
        let q = common::num(t, "setting").unwrap();
        // The chosen quality meets the target and the one below it (measured) does not.
        assert!(psnr_at(q).unwrap() >= want, "{t:?}");
        assert!(psnr_at(q - 1.0).unwrap() < want, "{t:?}");
        assert_eq!(common::num(t, "achieved"), psnr_at(q));
    }
    // The swept cell is not a probe; everything else is.
    for r in &results {
        let swept = common::num(r, "setting") == Some(50.0);
        assert_eq!(r["probe"], if swept { "false" } else { "true" }, "{r:?}");
    }
    // summary.csv is made from swept cells only.
    assert_eq!(common::csv_rows(&out.join("summary.csv")).len(), 1);
}

#[test]
fn bad_targets_name_the_flag_and_the_known_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let out = codecbench()
        .args(["run", "--quiet", "--no-cache", "--codec", "jpeg:q=50"])
        .args(["--target", "sharpness=3"])
        .arg("--out")
        .arg(dir.path().join("run"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("--target sharpness=3") && err.contains("known: bpp, bytes, psnr"),
        "{err}"
    );
    let out = codecbench()
        .args(["run", "--quiet", "--no-cache", "--codec", "jpeg:q=50"])
        .args(["--metrics", "psnr", "--target", "ssimulacra2=80"])
        .arg("--out")
        .arg(dir.path().join("run"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("--target ssimulacra2=80") && err.contains("--metrics"),
        "{err}"
    );
}

/// A targets.csv naming a metric codecbench does not know is refused with the file, the key
/// and the known keys named, by the run folder's reader and by `report` (which says it is
/// not used and goes on); rows with known keys read back as their goals.
#[test]
fn a_targets_csv_with_an_unknown_metric_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("targets.csv");
    let header = "image,curve,metric,target,setting,bytes,bpp,achieved,probes,status,message\n";
    std::fs::write(
        &path,
        format!("{header}a.png,jpeg,ssimulacra2,80.0,50,100,1.0,81.0,3,met,\na.png,jpeg,bpp,1.0,40,90,0.9,0.9,3,met,\n"),
    )
    .unwrap();
    let rows = codecbench::run_dir::RunDir::new(dir.path())
        .read_targets()
        .unwrap()
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.goal).collect::<Vec<_>>(),
        vec![Goal::parse("ssimulacra2").unwrap(), Goal::Bpp]
    );
    std::fs::write(
        &path,
        format!("{header}a.png,jpeg,sharpness,80.0,50,100,1.0,81.0,3,met,\n"),
    )
    .unwrap();
    let e = codecbench::run_dir::RunDir::new(dir.path())
        .read_targets()
        .unwrap_err()
        .to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
    assert!(
        e.contains("unknown metric \"sharpness\" (known: bpp, bytes, psnr,"),
        "{e}"
    );
    let (rows, note) = codecbench::report::read_targets(dir.path());
    assert!(rows.is_none());
    let note = note.unwrap();
    assert!(note.contains("unknown metric \"sharpness\""), "{note}");
    assert!(note.contains("results are not used"), "{note}");
}
