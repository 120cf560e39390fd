//! The regression gate: a baseline, then a NEW run where the codec is made worse on purpose;
//! the gate must catch it, and an identical re-run must pass.

use crate::common;

use std::path::Path;
use std::sync::Arc;

use assert_cmd::Command;
use codecbench::baseline::retime::{CellKey, Retimed, Round, Sample};
use codecbench::baseline::{compare, compare_retimed, Thresholds, Verdict};
use codecbench::codec::{Codec, CodecConfig, CodecError, Decoded, Encoded, Param, Params, Value};
use codecbench::corpus::SourceImage;
use codecbench::pixels::{Image, Layout};
use codecbench::record::CellRecord;
use codecbench::run::{pool, run_plan};
use common::codec as find;

/// The real mozjpeg codec, made worse on purpose: `q_shift` lowers the quality behind the
/// same setting name; `pad` appends junk bytes after the image (bigger files, same pixels).
struct WorseJpeg {
    q_shift: i64,
    pad: usize,
}

impl Codec for WorseJpeg {
    fn name(&self) -> &str {
        "jpeg"
    }
    fn version(&self) -> String {
        find("jpeg").version()
    }
    fn decoder(&self) -> String {
        find("jpeg").decoder()
    }
    fn extension(&self) -> &str {
        "jpg"
    }
    fn lossless(&self, _: &Params) -> bool {
        false
    }
    fn params(&self) -> &[Param] {
        // The same keys as the real codec, so the specs (and cell keys) are identical.
        Box::leak(find("jpeg").params().to_vec().into_boxed_slice())
    }
    fn input_layout(&self, src: Layout) -> Layout {
        find("jpeg").input_layout(src)
    }
    fn encode(&self, img: &Image, params: &Params) -> Result<Encoded, CodecError> {
        let mut p = params.clone();
        let q = (p.int("q") - self.q_shift).max(1);
        p.set("q", Value::Int(q));
        let mut bytes = find("jpeg").encode(img, &p)?.bytes;
        let n = bytes.len() * self.pad / 100;
        bytes.extend(std::iter::repeat_n(0u8, n));
        Ok(bytes.into())
    }
    fn decode(&self, data: &[u8]) -> Result<Decoded, CodecError> {
        find("jpeg").decode(data)
    }
}

fn sources() -> Vec<SourceImage> {
    vec![
        common::source("a.png", common::textured_u8(96, 64, 3, 11)),
        common::source("b.png", common::textured_u8(64, 64, 1, 12)),
        common::source("c.png", common::textured_u8(80, 48, 3, 13)),
    ]
}

fn sweep(codec: Arc<dyn Codec>) -> Vec<CellRecord> {
    let configs: Vec<CodecConfig> = common::parse_spec("jpeg:q=30..90:15")
        .into_iter()
        .map(|c| CodecConfig {
            codec: codec.clone(),
            params: c.params,
            label: String::new(),
        })
        .collect();
    let src = sources();
    let engine = common::engine();
    run_plan(&pool(2).unwrap(), &src, &configs, &engine)
}

/// The rows as if timed five times each (time is judged only from repeated measurements).
fn repeated(mut rows: Vec<CellRecord>) -> Vec<CellRecord> {
    for r in &mut rows {
        r.repeat = 5;
    }
    rows
}

fn gate() -> Thresholds {
    Thresholds {
        max_quality_drop: vec![(codecbench::metrics::find("psnr").unwrap(), 0.05)],
        ..Thresholds::default()
    }
}

#[test]
fn identical_rerun_passes() {
    let base = sweep(find("jpeg"));
    let again = sweep(find("jpeg"));
    let c = compare(&base, &again, &gate());
    assert!(!c.regressed(), "{c:?}");
    assert_eq!(c.curves.len(), 1);
    let x = &c.curves[0];
    assert_eq!(x.verdict, Verdict::Unchanged);
    assert_eq!(x.cells, 15);
    assert_eq!(x.bd_rate, Some(0.0));
    assert_eq!(x.bytes.as_ref().unwrap().worst, 0.0);
    assert!(c.only_baseline.is_empty() && c.only_new.is_empty());
}

#[test]
fn lower_quality_behind_the_same_setting_is_caught() {
    let base = sweep(find("jpeg"));
    let worse = sweep(Arc::new(WorseJpeg {
        q_shift: 10,
        pad: 0,
    }));
    let c = compare(&base, &worse, &gate());
    let x = &c.curves[0];
    assert_eq!(x.verdict, Verdict::Regressed, "{x:?}");
    assert!(
        x.reasons.iter().any(|r| r.starts_with("psnr -")),
        "{:?}",
        x.reasons
    );
    // Smaller files at lower quality: sizes alone would not have caught it.
    assert!(x.bytes.as_ref().unwrap().median < 0.0);
}

#[test]
fn bigger_files_at_the_same_quality_are_caught_by_bd_rate_and_size() {
    let base = sweep(find("jpeg"));
    let padded = sweep(Arc::new(WorseJpeg { q_shift: 0, pad: 5 }));
    let c = compare(&base, &padded, &gate());
    let x = &c.curves[0];
    assert_eq!(x.verdict, Verdict::Regressed);
    let bd = x.bd_rate.unwrap();
    // 5% more bytes at identical quality everywhere: BD-rate is 5% up to integer truncation of
    // the padding (bytes * 5 / 100).
    assert!((bd - 5.0).abs() < 0.2, "BD-rate {bd}");
    assert!(
        x.reasons.iter().any(|r| r.starts_with("BD-rate +")),
        "{:?}",
        x.reasons
    );
    assert!(
        x.reasons.iter().any(|r| r.starts_with("size +")),
        "{:?}",
        x.reasons
    );
    // The reverse direction is an improvement.
    let back = compare(&padded, &base, &gate());
    assert_eq!(
        back.curves[0].verdict,
        Verdict::Improved,
        "{:?}",
        back.curves[0]
    );
}

/// Re-timed samples for every matched pair of `base` (as a `compare --retime` would give):
/// BASELINE 10 ms encode / 5 ms decode CPU, NEW `factor` x that on encode; wall = CPU x `wall`.
fn retimed(base: &[CellRecord], factor: f64, wall: f64) -> Retimed {
    let s = |ms: f64, w: f64| Sample {
        wall_ms: ms * w,
        cpu_ms: Some(ms),
    };
    let mut rt = Retimed {
        rounds: 5,
        ..Retimed::default()
    };
    for b in base.iter().filter(|r| r.is_ok()) {
        let round = Round {
            encode: [s(10.0, 1.0), s(10.0 * factor, wall)],
            decode: [s(5.0, 1.0), s(5.0, wall)],
        };
        rt.cells.insert(CellKey::of(b, b), vec![round; 5]);
    }
    rt
}

#[test]
fn time_changes_inside_the_noise_band_are_not_judged() {
    let base = sweep(find("jpeg"));
    let th = Thresholds {
        max_slowdown: Some(5.0),
        noise: 10.0,
        ..gate()
    };
    let c = compare_retimed(&base, &base, &th, Some(&retimed(&base, 1.08, 1.0)));
    assert_eq!(c.curves[0].verdict, Verdict::Unchanged);
    assert_eq!(c.curves[0].encode_time.map(|t| t.round()), Some(8.0));
    let c = compare_retimed(&base, &base, &th, Some(&retimed(&base, 1.5, 1.0)));
    assert_eq!(c.curves[0].verdict, Verdict::Regressed);
    assert!(
        c.curves[0].reasons[0].starts_with("encode CPU time +50.0% (wall +50.0%;"),
        "{:?}",
        c.curves[0].reasons
    );
    // The headline and the exit code come from the same fold.
    assert!(
        c.headline.contains("encode CPU time +50.0%"),
        "{}",
        c.headline
    );
    assert_eq!(c.exit_code(), 1);
    assert!(c
        .time
        .as_deref()
        .unwrap()
        .starts_with("time judged on 1 of 1"));
}

/// Issue 13 case 9: a busy machine stretches wall time, not CPU time. Re-timed cells whose NEW
/// wall time doubled (CPU time unchanged) are not a regression: CPU time is judged, wall shown.
#[test]
fn time_is_judged_on_cpu_time_wall_beside_it() {
    let base = sweep(find("jpeg"));
    let th = Thresholds {
        max_slowdown: Some(5.0),
        ..gate()
    };
    let c = compare_retimed(&base, &base, &th, Some(&retimed(&base, 1.0, 2.0)));
    assert_eq!(c.curves[0].verdict, Verdict::Unchanged, "{c:?}");
    let t = c.curves[0].time.as_ref().unwrap();
    let enc = t.encode.as_ref().unwrap();
    assert_eq!((enc.clock, enc.change), ("cpu", 0.0));
    assert!((enc.wall_change - 100.0).abs() < 1e-9, "{enc:?}");
}

/// Issue 22 case 7: two runs' own times are never judged, however far apart and however often
/// repeated (measured: they flap, docs/gate.md). The headline says time was not judged.
#[test]
fn two_runs_times_are_never_judged() {
    let base = repeated(sweep(find("jpeg")));
    let mut slow = base.clone();
    for r in &mut slow {
        r.encode_cpu_ms = r.encode_cpu_ms.map(|t| t * 3.0);
        r.encode_ms = r.encode_ms.map(|t| t * 3.0);
    }
    let th = Thresholds {
        max_slowdown: Some(10.0),
        ..gate()
    };
    let c = compare(&base, &slow, &th);
    assert_eq!(c.verdict, Verdict::Unchanged);
    assert_eq!(c.exit_code(), 0);
    assert_eq!(c.curves[0].encode_time, None);
    assert!(
        c.headline
            .contains("; not enough repeats to judge time: add --retime"),
        "{}",
        c.headline
    );
    // Without --max-slowdown the time gate is off and says nothing.
    let c = compare(&base, &slow, &gate());
    assert_eq!(c.time, None);
    assert!(!c.headline.contains("time"), "{}", c.headline);
}

/// The time result reaches the terminal table, --markdown and --json.
#[test]
fn the_time_result_is_in_every_output() {
    let base = sweep(find("jpeg"));
    let th = Thresholds {
        max_slowdown: Some(10.0),
        ..gate()
    };
    let c = compare_retimed(&base, &base, &th, Some(&retimed(&base, 1.3, 1.0)));
    let text = codecbench::baseline::text(&c);
    assert!(text.contains("+30.0% / +0.0%"), "{text}");
    assert!(text.contains("time judged on 1 of 1 pipeline(s)"), "{text}");
    let md = codecbench::baseline::markdown(&c);
    assert!(md.contains("encode CPU time +30.0%"), "{md}");
    assert!(md.contains("**verdict: REGRESSED"), "{md}");
    let json: serde_json::Value = serde_json::to_value(&c).unwrap();
    assert_eq!(json["verdict"], "regressed");
    assert_eq!(json["curves"][0]["time"]["rounds"], 5);
    assert_eq!(json["curves"][0]["time"]["encode"]["clock"], "cpu");
    assert!(json["curves"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "time" && f["verdict"] == "regressed"));
}

fn codecbench() -> Command {
    Command::cargo_bin("codecbench").unwrap()
}

fn run(corpus: &Path, out: &Path, spec: &str) {
    codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--codec",
            spec,
            "--corpus",
        ])
        .arg(corpus)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

#[test]
fn cli_gate_exit_codes_and_markdown() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    run(&corpus, &d.join("base"), "jpeg:q=40..80:10");
    run(&corpus, &d.join("same"), "jpeg:q=40..80:10");
    codecbench()
        .arg("compare")
        .arg(d.join("base"))
        .arg(d.join("same/results.csv"))
        .args(["--max-quality-drop", "psnr=0.05"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("verdict: no regression"));

    // An external change: q=30..70 relabelled as q=40..80, i.e. lower quality behind the
    // same setting names.
    run(&corpus, &d.join("worse"), "jpeg:q=30..70:10");
    let csv = std::fs::read_to_string(d.join("worse/results.csv")).unwrap();
    let mut relabelled = csv.clone();
    for q in [70, 60, 50, 40, 30] {
        relabelled = relabelled
            .replace(&format!("jpeg:q={q},"), &format!("jpeg:q={},", q + 10))
            .replace(&format!(",q,{q},"), &format!(",q,{},", q + 10));
    }
    assert_ne!(csv, relabelled);
    std::fs::write(d.join("worse/results.csv"), relabelled).unwrap();
    let md = d.join("gate.md");
    let sweep = d.join("gate.toml");
    std::fs::write(&sweep, "[gate]\nmax_quality_drop = { psnr = 0.05 }\n").unwrap();
    codecbench()
        .arg("compare")
        .arg(d.join("base"))
        .arg(d.join("worse"))
        .arg("--sweep")
        .arg(&sweep)
        .arg("--markdown")
        .arg(&md)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("regressed"));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.contains("**regressed**")
            && text.contains("| `jpeg:subsampling=420,progressive=true,arithmetic=false` |"),
        "{text}"
    );

    // A cell that only one side has is listed, not compared.
    run(&corpus, &d.join("more"), "jpeg:q=40..90:10");
    codecbench()
        .arg("compare")
        .arg(d.join("base"))
        .arg(d.join("more"))
        .assert()
        .code(0)
        .stdout(predicates::str::contains("4 cell(s) only in NEW"));

    codecbench()
        .arg("compare")
        .arg(d.join("base"))
        .arg(d.join("same"))
        .args(["--max-quality-drop", "sharpness=1"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown metric sharpness"));
    codecbench()
        .args(["compare", "/nonexistent/a.csv"])
        .arg(d.join("same"))
        .assert()
        .code(2);
}

/// Rewrites column `col` of a results.csv with `f(old value)`, or drops it (`f` = None).
fn edit_column(src: &Path, dst: &Path, col: &str, f: Option<&dyn Fn(&str) -> String>) {
    let mut r = csv::Reader::from_path(src).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let i = header.iter().position(|h| h == col).unwrap();
    let mut w = csv::Writer::from_path(dst).unwrap();
    let keep = |row: Vec<String>, is_header: bool| -> Vec<String> {
        row.into_iter()
            .enumerate()
            .filter_map(|(j, v)| match (j == i, f) {
                (false, _) => Some(v),
                (true, Some(_)) if is_header => Some(v),
                (true, Some(f)) => Some(f(&v)),
                (true, None) => None,
            })
            .collect()
    };
    w.write_record(keep(header.clone(), true)).unwrap();
    for row in r.records() {
        w.write_record(keep(row.unwrap().iter().map(String::from).collect(), false))
            .unwrap();
    }
    w.flush().unwrap();
}

/// Issue 13 case 7: `[gate]` values are checked like the flags. Before: `max_bd_rate = nan`
/// let a +5% BD-rate pass, a misspelt metric was accepted, a negative limit failed identical
/// runs; all exit 0/1. After: exit 2 naming the file and the key.
#[test]
fn gate_file_values_are_checked_like_flags() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    run(&corpus, &d.join("base"), "jpeg:q=40..80:20");
    for (gate, says) in [
        ("max_bd_rate = nan", "[gate] max_bd_rate = NaN"),
        ("max_size_increase = -1", "[gate] max_size_increase = -1"),
        ("noise = inf", "[gate] noise = inf"),
        (
            "max_quality_drop = { psnrr = 0.1 }",
            "max_quality_drop.psnrr: unknown metric psnrr",
        ),
        (
            "max_quality_drop = { psnr = -0.1 }",
            "[gate] max_quality_drop.psnr = -0.1",
        ),
    ] {
        let sweep = d.join("gate.toml");
        std::fs::write(&sweep, format!("[gate]\n{gate}\n")).unwrap();
        codecbench()
            .arg("compare")
            .arg(d.join("base"))
            .arg(d.join("base"))
            .arg("--sweep")
            .arg(&sweep)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(says));
    }
    codecbench()
        .arg("compare")
        .arg(d.join("base"))
        .arg(d.join("base"))
        .arg("--noise=-5")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--noise = -5"));
}

/// Issue 13 case 8: a NEW results.csv without a required column, or with it empty/NaN, is
/// exit 2 naming the column. Before: judged "no regression", exit 0.
#[test]
fn new_results_without_required_columns_are_refused() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    run(&corpus, &d.join("base"), "jpeg:q=40..80:20");
    let base = d.join("base/results.csv");
    let new = d.join("new.csv");
    let nan: &dyn Fn(&str) -> String = &|_| "NaN".to_string();
    let empty: &dyn Fn(&str) -> String = &|_| String::new();
    for (col, f, says) in [
        ("psnr", None, "NEW has no psnr column"),
        ("bpp", None, "NEW has no bpp column"),
        ("psnr_y", None, "NEW has no psnr_y column"),
        ("psnr", Some(nan), "NEW: column psnr is empty or NaN"),
        ("bpp", Some(empty), "NEW: column bpp is empty or NaN"),
    ] {
        edit_column(&base, &new, col, f);
        codecbench()
            .arg("compare")
            .arg(d.join("base"))
            .arg(&new)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(says));
    }
    // One cell that lost its SSIM while the others kept it regresses.
    let text = std::fs::read_to_string(&base).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let i = header.iter().position(|h| h == "ssim").unwrap();
    let mut w = csv::Writer::from_path(&new).unwrap();
    w.write_record(&header).unwrap();
    for (n, row) in r.records().enumerate() {
        let mut row: Vec<String> = row.unwrap().iter().map(String::from).collect();
        if n == 0 {
            row[i] = "NaN".into();
        }
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    codecbench()
        .arg("compare")
        .arg(d.join("base"))
        .arg(&new)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("have no ssim value"));
    // Another tool's CSV: `report` and `compare` say what it is not.
    let other = d.join("other.csv");
    std::fs::write(&other, "file,size,score\na.png,100,3.5\n").unwrap();
    for cmd in [vec!["report"], vec!["compare"]] {
        let mut c = codecbench();
        c.args(&cmd).arg(&other);
        if cmd[0] == "compare" {
            c.arg(d.join("base"));
        }
        c.assert()
            .code(2)
            .stderr(predicates::str::contains("not a codecbench results file"));
    }
}

/// Issue 13 case 16: image ids reach `compare --markdown` escaped. Before: an id with HTML,
/// an external image link or `|` went raw into the pull-request comment.
#[test]
fn image_ids_are_escaped_in_markdown() {
    let base = sweep(find("jpeg"));
    let mut worse = sweep(Arc::new(WorseJpeg {
        q_shift: 10,
        pad: 0,
    }));
    let evil = "![x](https://evil.example/p.png)<img src=x>|col.png";
    let mut base = base;
    for r in base.iter_mut().chain(worse.iter_mut()) {
        r.image = evil.into();
    }
    worse.pop(); // one cell only in BASELINE: listed in the footer
    let md = codecbench::baseline::markdown(&compare(&base, &worse, &gate()));
    assert!(!md.contains("![x]("), "{md}");
    assert!(!md.contains("<img"), "{md}");
    assert!(md.contains("\\!\\[x\\]\\(https://evil.example/p.png\\)&lt;img src=x&gt;\\|col.png"));
    // Every table row still has exactly the header's cells.
    for line in md.lines().filter(|l| l.starts_with('|')) {
        let unescaped = line.replace("\\|", "");
        assert_eq!(unescaped.matches('|').count(), 9, "{line}");
    }
}

/// A targets.csv row that met `target` at `bytes`.
fn met(image: &str, curve: &str, target: f64, bytes: u64) -> codecbench::target::TargetRow {
    codecbench::target::TargetRow {
        image: image.into(),
        curve: curve.into(),
        goal: codecbench::target::Goal::parse("ssimulacra2").unwrap(),
        target,
        setting: Some(50.0),
        bytes: Some(bytes),
        bpp: Some(1.0),
        achieved: Some(target + 0.5),
        probes: 5,
        status: codecbench::target::TargetStatus::Met,
        message: String::new(),
    }
}

/// Issue 12 gate: bytes at equal quality from targets.csv. Identical rows pass; +10% bytes
/// over the images met in both is a regression at a 5% limit and not at 15%; a target met in
/// BASELINE but unreachable in NEW is a regression whatever the bytes; one side without
/// targets.csv is "not checked", never a pass.
#[test]
fn bytes_at_equal_quality_from_targets_csv_are_gated() {
    use codecbench::baseline::{compare_targets, TargetGate};
    use codecbench::target::TargetStatus;
    let base = vec![
        met("a.png", "jpeg", 80.0, 1000),
        met("b.png", "jpeg", 80.0, 3000),
    ];
    let same = compare_targets(Some(&base), Some(&base), Some(5.0));
    let TargetGate::Judged(v) = &same else {
        panic!("{same:?}")
    };
    assert_eq!((v.len(), v[0].images), (1, 2));
    assert_eq!(v[0].change, Some(0.0));
    assert!(!same.regressed());
    // 1000 -> 1100 and 3000 -> 3300: total 4000 -> 4400, exactly +10 %.
    let bigger = vec![
        met("a.png", "jpeg", 80.0, 1100),
        met("b.png", "jpeg", 80.0, 3300),
    ];
    let g = compare_targets(Some(&base), Some(&bigger), Some(5.0));
    assert!(g.regressed(), "{g:?}");
    let TargetGate::Judged(v) = &g else { panic!() };
    assert!((v[0].change.unwrap() - 10.0).abs() < 1e-9, "{v:?}");
    assert!(v[0].reasons[0].contains("+10.00%"), "{:?}", v[0].reasons);
    assert!(!compare_targets(Some(&base), Some(&bigger), Some(15.0)).regressed());
    // Unreachable in NEW: a regression even though the other image got cheaper.
    let mut lost = vec![
        met("a.png", "jpeg", 80.0, 500),
        met("b.png", "jpeg", 80.0, 3000),
    ];
    lost[0].status = TargetStatus::Unreachable;
    lost[0].achieved = Some(71.0);
    let g = compare_targets(Some(&base), Some(&lost), Some(5.0));
    assert!(g.regressed(), "{g:?}");
    let TargetGate::Judged(v) = &g else { panic!() };
    assert_eq!(v[0].lost.len(), 1);
    assert!(v[0]
        .reasons
        .iter()
        .any(|r| r.contains("met in BASELINE, not in NEW: a.png")));
    // Only NEW searched: said, not passed silently; off without the limit.
    let g = compare_targets(None, Some(&base), Some(5.0));
    let TargetGate::NotPossible(why) = &g else {
        panic!("{g:?}")
    };
    assert!(why.contains("NOT CHECKED"), "{why}");
    assert_eq!(compare_targets(Some(&base), None, None), TargetGate::Off);
    // Issue 22 case 5: a target BASELINE searched and NEW did not is a regression.
    let g = compare_targets(Some(&base), None, Some(5.0));
    assert!(g.regressed(), "{g:?}");
    let other = vec![met("a.png", "jpeg", 90.0, 1000)];
    let g = compare_targets(Some(&base), Some(&other), Some(5.0));
    assert!(g.regressed(), "{g:?}");
    let TargetGate::Judged(v) = &g else { panic!() };
    assert!(
        v[0].reasons[0].contains("searched in BASELINE, not in NEW"),
        "{v:?}"
    );
}

/// The flag end to end: a --target run against itself passes; its targets.csv with every
/// byte count raised 10% fails at --max-target-bytes-increase 5 (exit 1); without targets.csv
/// on one side the output says the check was not possible; the [gate] key is checked.
#[test]
fn cli_max_target_bytes_increase() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let base = d.join("base");
    codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--codec",
            "jpeg:q=20..90:35",
            "--metrics",
            "psnr",
            "--target",
            "psnr=30",
            "--corpus",
        ])
        .arg(&corpus)
        .arg("--out")
        .arg(&base)
        .assert()
        .success();
    assert!(base.join("targets.csv").is_file());
    codecbench()
        .arg("compare")
        .arg(&base)
        .arg(&base)
        .args(["--max-target-bytes-increase", "5"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains(
            "bytes at equal quality (targets.csv)",
        ))
        .stdout(predicates::str::contains("+0.00% bytes"));
    let new = d.join("new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::copy(base.join("results.csv"), new.join("results.csv")).unwrap();
    edit_column(
        &base.join("targets.csv"),
        &new.join("targets.csv"),
        "bytes",
        Some(&|v: &str| {
            v.parse::<u64>().map_or(v.to_string(), |b| {
                ((b as f64 * 1.1).round() as u64).to_string()
            })
        }),
    );
    codecbench()
        .arg("compare")
        .arg(&base)
        .arg(&new)
        .args(["--max-target-bytes-increase", "5"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("regressed"));
    std::fs::remove_file(new.join("targets.csv")).unwrap();
    codecbench()
        .arg("compare")
        .arg(&base)
        .arg(&new)
        .args(["--max-target-bytes-increase", "5"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "searched in BASELINE, not in NEW",
        ));
    let sweep = d.join("gate.toml");
    std::fs::write(&sweep, "[gate]\nmax_target_bytes_increase = -1\n").unwrap();
    codecbench()
        .arg("compare")
        .arg(&base)
        .arg(&base)
        .arg("--sweep")
        .arg(&sweep)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "[gate] max_target_bytes_increase = -1",
        ));
}

// ---- Issue 22: a gate that fails when the images got worse --------------------------------

/// `codecbench run --quiet --no-report --corpus CORPUS --out OUT ARGS` (add --no-cache or
/// --cache yourself).
fn run_args(corpus: &Path, out: &Path, args: &[&str]) {
    codecbench()
        .args(["run", "--quiet", "--no-report", "--jobs", "2", "--corpus"])
        .arg(corpus)
        .arg("--out")
        .arg(out)
        .args(args)
        .assert()
        .success();
}

/// `codecbench compare BASELINE NEW ARGS`, its output and exit code.
fn gate_of(base: &Path, new: &Path, args: &[&str]) -> (i32, String) {
    let out = codecbench()
        .arg("compare")
        .arg(base)
        .arg(new)
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap(), text)
}

/// The last line of the output: the headline.
fn headline(text: &str) -> &str {
    text.lines()
        .rfind(|l| l.starts_with("verdict:"))
        .unwrap_or_else(|| panic!("no headline in:\n{text}"))
}

/// Identical runs pass with the default flags, with and without a target search.
#[test]
fn issue22_identical_runs_pass_with_the_defaults_with_and_without_targets() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let plain = [
        "--no-cache",
        "--codec",
        "site=jpeg:q=60,80",
        "--codec",
        "webp:q=70",
    ];
    run_args(&corpus, &d.join("a"), &plain);
    run_args(&corpus, &d.join("b"), &plain);
    let (code, text) = gate_of(&d.join("a"), &d.join("b"), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        headline(&text).starts_with("verdict: no regression"),
        "{text}"
    );
    let targeted = [
        "--no-cache",
        "--codec",
        "site=jpeg:q=80",
        "--metrics",
        "psnr,ssimulacra2",
        "--target",
        "ssimulacra2=60",
    ];
    run_args(&corpus, &d.join("ta"), &targeted);
    run_args(&corpus, &d.join("tb"), &targeted);
    assert!(d.join("ta/targets.csv").is_file());
    let (code, text) = gate_of(&d.join("ta"), &d.join("tb"), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("bytes at equal quality (targets.csv)"),
        "{text}"
    );
    assert!(
        headline(&text).starts_with("verdict: no regression"),
        "{text}"
    );
}

/// Case 1: BASELINE `site=jpeg:q=80`, `thumbs=webp:q=80`; NEW `site=jpeg:q=70`,
/// `thumbs=webp:q=80,method=0`. Before: the changed cells were "only in BASELINE / only in NEW
/// (not compared)" and the verdict "no regression", exit 0. After: the labelled pipelines are
/// matched whatever the spec and judged: exit 1, the headline names the pipeline and both specs.
#[test]
fn issue22_case1_changed_settings_under_a_label_fail_the_default_gate() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let m = ["--no-cache", "--metrics", "psnr,ssimulacra2"];
    let with = |args: &[&'static str]| -> Vec<&'static str> { [&m[..], args].concat() };
    run_args(
        &corpus,
        &d.join("base"),
        &with(&["--codec", "site=jpeg:q=80", "--codec", "thumbs=webp:q=80"]),
    );
    run_args(
        &corpus,
        &d.join("new"),
        &with(&[
            "--codec",
            "site=jpeg:q=70",
            "--codec",
            "thumbs=webp:q=80,method=0",
        ]),
    );
    let rows = common::csv_rows(&d.join("new/results.csv"));
    assert!(rows
        .iter()
        .all(|r| r["label"] == "site" || r["label"] == "thumbs"));
    let (code, text) = gate_of(&d.join("base"), &d.join("new"), &[]);
    assert_eq!(code, 1, "{text}");
    let h = headline(&text);
    assert!(
        h.starts_with("verdict: REGRESSED (2 of 2 pipeline(s))"),
        "{text}"
    );
    assert!(h.contains("site (jpeg q=80 -> q=70)"), "{h}");
    assert!(
        text.contains("regressed thumbs (webp method=4 -> method=0)"),
        "{text}"
    );
    // The old and new spec side by side in the table.
    assert!(
        text.contains("jpeg:q=80,subsampling=420,progressive=true,arithmetic=false -> jpeg:q=70,"),
        "{text}"
    );
    // Unlabelled, the same change is no longer a silent pass either: the BASELINE cells are
    // missing from NEW.
    run_args(&corpus, &d.join("ubase"), &with(&["--codec", "jpeg:q=80"]));
    run_args(&corpus, &d.join("unew"), &with(&["--codec", "jpeg:q=70"]));
    let (code, text) = gate_of(&d.join("ubase"), &d.join("unew"), &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        headline(&text).contains("BASELINE cell(s) missing from NEW"),
        "{text}"
    );
}

/// An external JPEG pipeline (libjpeg-turbo's cjpeg behind a script) whose quality is
/// `percent` of the setting; the definition lists the script in `files`.
pub fn site_pipeline(dir: &Path, percent: u32) -> std::path::PathBuf {
    std::fs::write(
        dir.join("encode.sh"),
        format!(
            "#!/bin/sh\n# encode.sh Q INPUT OUTPUT: the site's JPEG pipeline\nexec cjpeg -quality $(( $1 * {percent} / 100 )) -outfile \"$3\" \"$2\"\n"
        ),
    )
    .unwrap();
    let defs = dir.join("site.toml");
    std::fs::write(
        &defs,
        r#"[[external]]
name = "sitejpeg"
extension = "jpg"
input = "ppm"
output = "ppm"
depth = 8
encode = ["sh", "{defdir}/encode.sh", "{q}", "{input}", "{output}"]
decode = ["djpeg", "-outfile", "{output}", "{input}"]
version = ["echo", "site pipeline 1"]
files = ["encode.sh"]
params = [{ key = "q", kind = "int", min = 1, max = 100, default = 80 }]
"#,
    )
    .unwrap();
    defs
}

/// Case 2: the external pipeline edited to encode at 85% of its quality: smaller files, lower
/// SSIMULACRA2 and PSNR on every image. Before: "no regression", exit 0 with the default flags.
/// After: exit 1, the headline names the pipeline and the quality drop; a user who raises the
/// tolerance accepts it (the bytes fell, and BASELINE had no curve to say they did not pay).
#[test]
fn issue22_case2_a_quality_drop_with_smaller_files_fails_by_default() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let pipe = d.join("pipeline");
    std::fs::create_dir_all(&pipe).unwrap();
    let defs = site_pipeline(&pipe, 100);
    let args = |out: &str| {
        vec![
            "--no-cache".to_string(),
            "--metrics".into(),
            "psnr,ssimulacra2".into(),
            "--external".into(),
            defs.display().to_string(),
            "--codec".into(),
            "site=sitejpeg:q=80".into(),
            "--out".into(),
            d.join(out).display().to_string(),
        ]
    };
    let run_pipeline = |out: &str| {
        codecbench()
            .args(["run", "--quiet", "--no-report", "--corpus"])
            .arg(&corpus)
            .args(args(out))
            .assert()
            .success();
    };
    run_pipeline("base");
    site_pipeline(&pipe, 85);
    run_pipeline("new");
    let (b, n) = (
        common::csv_rows(&d.join("base/results.csv")),
        common::csv_rows(&d.join("new/results.csv")),
    );
    let total = |rows: &[common::Row]| {
        rows.iter()
            .map(|r| common::num(r, "bytes").unwrap())
            .sum::<f64>()
    };
    assert!(total(&n) < total(&b), "the edit makes smaller files");
    let (code, text) = gate_of(&d.join("base"), &d.join("new"), &[]);
    assert_eq!(code, 1, "{text}");
    let h = headline(&text);
    assert!(
        h.starts_with("verdict: REGRESSED (1 of 1 pipeline(s)): site:"),
        "{h}"
    );
    assert!(h.contains("(allowed drop"), "{h}");
    let (code, text) = gate_of(
        &d.join("base"),
        &d.join("new"),
        &["--max-quality-drop", "ssimulacra2=50,psnr=20"],
    );
    assert_eq!(code, 0, "{text}");
}

/// Case 4: when only bytes at equal quality regress, the headline, the Markdown and the JSON
/// say regressed, as the exit code does. Before: "verdict: no regression" and exit 1.
#[test]
fn issue22_case4_headline_markdown_json_and_exit_code_agree() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let base = d.join("base");
    run_args(
        &corpus,
        &base,
        &[
            "--no-cache",
            "--codec",
            "jpeg:q=20..90:35",
            "--metrics",
            "psnr",
            "--target",
            "psnr=30",
        ],
    );
    let new = d.join("new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::copy(base.join("results.csv"), new.join("results.csv")).unwrap();
    edit_column(
        &base.join("targets.csv"),
        &new.join("targets.csv"),
        "bytes",
        Some(&|v: &str| {
            v.parse::<u64>().map_or(v.to_string(), |b| {
                ((b as f64 * 1.1).round() as u64).to_string()
            })
        }),
    );
    let (md, json) = (d.join("gate.md"), d.join("gate.json"));
    let (code, text) = gate_of(
        &base,
        &new,
        &[
            "--markdown",
            md.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{text}");
    let h = headline(&text);
    assert!(h.starts_with("verdict: REGRESSED"), "{text}");
    assert!(h.contains("bytes at PSNR 30 +"), "{h}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.lines().any(|l| l.starts_with("**verdict: REGRESSED")),
        "{md}"
    );
    assert!(!md.contains("no regression"), "{md}");
    assert!(
        md.contains("\n- regressed "),
        "findings are a Markdown list: {md}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["verdict"], "regressed");
    assert_eq!(v["headline"].as_str().unwrap(), h);
    assert_eq!(v["targets"]["state"], "judged");
}

/// Case 5: broken inputs never pass silently. Duplicated rows and a BASELINE without the
/// lossless columns exit 2 naming them; BASELINE cells missing from NEW regress (listed) unless
/// --allow-missing.
#[test]
fn issue22_case5_broken_inputs_exit_2_or_regress() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    run_args(
        &corpus,
        &d.join("base"),
        &[
            "--no-cache",
            "--codec",
            "png",
            "--codec",
            "jpeg:q=50,80",
            "--metrics",
            "psnr",
        ],
    );
    let csv = std::fs::read_to_string(d.join("base/results.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    // A duplicated row (concatenated files): exit 2 naming the first duplicate.
    let dup = d.join("dup.csv");
    std::fs::write(&dup, format!("{csv}{}\n", lines[2])).unwrap();
    let (code, text) = gate_of(&d.join("base"), &dup, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("NEW has the same cell twice:"), "{text}");
    assert!(
        text.contains(&format!("(rows 2 and {})", lines.len() + 1)) || text.contains("rows 3 and"),
        "{text}"
    );
    // BASELINE without the columns the lossless check needs.
    for col in ["lossless", "roundtrip_exact"] {
        let cut = d.join(format!("no_{col}.csv"));
        edit_column(&d.join("base/results.csv"), &cut, col, None);
        let (code, text) = gate_of(&cut, &d.join("base"), &[]);
        assert_eq!(code, 2, "{text}");
        assert!(
            text.contains(&format!("BASELINE has no {col} column")),
            "{text}"
        );
    }
    // NEW lost its png cells (a crashed codec): a regression, listed; allowed on request.
    let lost = d.join("lost.csv");
    let kept: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.contains(",png,"))
        .collect();
    assert!(kept.len() < lines.len());
    std::fs::write(&lost, kept.join("\n") + "\n").unwrap();
    let (code, text) = gate_of(&d.join("base"), &lost, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        headline(&text).contains("BASELINE cell(s) missing from NEW (first: "),
        "{text}"
    );
    assert!(text.contains("missing from NEW (a regression):"), "{text}");
    let (code, text) = gate_of(&d.join("base"), &lost, &["--allow-missing"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("missing from NEW (allowed):"), "{text}");
}

/// Case 7 through the binary: `--retime` re-measures BASELINE's and NEW's cells in one process
/// and judges time; without it, `--max-slowdown` says time was not judged. Only outputs and
/// exit codes are checked here, never a measured speed (the statistics are tested on
/// synthetic numbers above and in src/baseline/rules/time.rs).
#[test]
fn issue22_case7_time_is_judged_by_interleaved_remeasurement() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let spec = [
        "--no-cache",
        "--codec",
        "site=jpeg:q=30..90:20",
        "--metrics",
        "psnr",
    ];
    run_args(&corpus, &d.join("a"), &spec);
    run_args(&corpus, &d.join("b"), &spec);
    let (a, b) = (d.join("a"), d.join("b"));
    // Two runs' own times: not judged, said in the headline.
    let (code, text) = gate_of(&a, &b, &["--max-slowdown", "10"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        headline(&text).contains("not enough repeats to judge time"),
        "{text}"
    );
    // --retime: 16 cells re-timed over 3 rounds; the JSON carries the time result. (The
    // verdict of identical runs is not asserted: that would be a timing test.)
    let json = d.join("v.json");
    let md = d.join("gate.md");
    let (code, text) = gate_of(
        &a,
        &b,
        &[
            "--retime",
            "3",
            "--json",
            json.to_str().unwrap(),
            "--markdown",
            md.to_str().unwrap(),
        ],
    );
    assert!(code == 0 || code == 1, "{text}");
    assert!(text.contains("re-timed 16 cell(s) of 4 image(s)"), "{text}");
    assert!(text.contains("time judged on 1 of 1 pipeline(s)"), "{text}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let t = &v["curves"][0]["time"];
    assert_eq!(
        (t["cells"].as_u64(), t["rounds"].as_u64()),
        (Some(16), Some(3))
    );
    assert!(
        t["encode"]["change"].is_f64() && t["decode"]["p_slower"].is_f64(),
        "{t}"
    );
    assert_eq!(code == 1, v["verdict"] == "regressed");
    assert_eq!(code == 1, headline(&text).starts_with("verdict: REGRESSED"));
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("time judged on 1 of 1 pipeline"), "{md}");
    // Too few rounds: said, exit 0.
    let (code, text) = gate_of(&a, &b, &["--retime", "2"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        headline(&text).contains("not enough repeats to judge time"),
        "{text}"
    );
}

/// --retime finds the images again by run.json's paths or --retime-corpus, checks their pixel
/// hashes, and finds each side's codecs; what it cannot find is an error (exit 2) naming the
/// flag that fixes it.
#[test]
fn issue22_retime_names_a_missing_or_changed_image_and_an_unknown_codec() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let spec = [
        "--no-cache",
        "--codec",
        "site=jpeg:q=30..90:20",
        "--metrics",
        "psnr",
    ];
    run_args(&corpus, &d.join("a"), &spec);
    run_args(&corpus, &d.join("b"), &spec);
    let (a, b) = (d.join("a"), d.join("b"));
    // The corpus moved: run.json's paths are gone; --retime-corpus finds it by image id.
    let moved = d.join("moved");
    std::fs::rename(&corpus, &moved).unwrap();
    let (code, text) = gate_of(&a, &b, &["--retime", "3"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("is missing: not found at"), "{text}");
    assert!(text.contains("pass --retime-corpus DIR"), "{text}");
    let (code, text) = gate_of(
        &a,
        &b,
        &["--retime", "3", "--retime-corpus", moved.to_str().unwrap()],
    );
    assert!(code == 0 || code == 1, "{text}");
    assert!(text.contains("re-timed 16 cell(s)"), "{text}");
    // An image that changed since the runs is named, not re-timed.
    let img = moved.join("rgb.png");
    let mut px = image::open(&img).unwrap().to_rgb8();
    px.put_pixel(0, 0, image::Rgb([1, 2, 3]));
    px.save(&img).unwrap();
    let (code, text) = gate_of(
        &a,
        &b,
        &["--retime", "3", "--retime-corpus", moved.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("image rgb.png changed since the runs"),
        "{text}"
    );
    // BASELINE's pipeline ran a codec this build does not have (an external one defined
    // elsewhere): the flag to point at its definition is named.
    std::fs::rename(&moved, &corpus).unwrap();
    write_png_back(&corpus);
    let other = d.join("other.csv");
    edit_column(
        &a.join("results.csv"),
        &other,
        "spec",
        Some(&|v: &str| v.replace("jpeg:", "site-im:")),
    );
    std::fs::copy(a.join("run.json"), d.join("run.json")).unwrap();
    let (code, text) = gate_of(&other, &b, &["--retime", "3"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("BASELINE's codec `site-im`")
            && text.contains("point --baseline-external at"),
        "{text}"
    );
}

/// Restores small_corpus's rgb.png (the test above edits one pixel).
fn write_png_back(corpus: &Path) {
    let (_d, fresh) = common::small_corpus();
    std::fs::copy(fresh.join("rgb.png"), corpus.join("rgb.png")).unwrap();
}

/// Case 8: with --target, probe cells are not judged one by one: the headline names the
/// setting the pipeline ships, never a probe at the end of the range.
#[test]
fn issue22_case8_the_headline_names_the_shipped_setting_not_a_probe() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let t = [
        "--no-cache",
        "--metrics",
        "psnr,ssimulacra2",
        "--target",
        "ssimulacra2=50",
    ];
    run_args(
        &corpus,
        &d.join("base"),
        &[&t[..], &["--codec", "site=jpeg:q=80"]].concat(),
    );
    run_args(
        &corpus,
        &d.join("new"),
        &[&t[..], &["--codec", "site=jpeg:q=60"]].concat(),
    );
    let rows = common::csv_rows(&d.join("new/results.csv"));
    assert!(
        rows.iter().any(|r| r["probe"] == "true"),
        "the search added probes"
    );
    let (code, text) = gate_of(&d.join("base"), &d.join("new"), &[]);
    assert_eq!(code, 1, "{text}");
    let h = headline(&text);
    assert!(h.contains("site (jpeg q=80 -> q=60)"), "{h}");
    assert!(
        !text.contains("only in NEW"),
        "probes are not cells to list: {text}"
    );
    // The reasons name swept cells only.
    for l in text.lines().filter(|l| l.starts_with("  regressed")) {
        assert!(!l.contains("q=1,") && !l.contains("q=100,"), "{l}");
    }
}

/// Labels in a sweep file's spec strings name the pipeline as `--codec` does.
#[test]
fn issue22_labels_in_sweep_files() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let sweep = d.join("sweep.toml");
    std::fs::write(&sweep, "codec = [\"site=jpeg:q=80\", \"png\"]\n").unwrap();
    run_args(
        &corpus,
        &d.join("run"),
        &[
            "--no-cache",
            "--metrics",
            "psnr",
            "--sweep",
            sweep.to_str().unwrap(),
        ],
    );
    let rows = common::csv_rows(&d.join("run/results.csv"));
    assert!(rows
        .iter()
        .any(|r| r["codec"] == "jpeg" && r["label"] == "site"));
    assert!(rows
        .iter()
        .any(|r| r["codec"] == "png" && r["label"].is_empty()));
}

/// An external pipeline (cjpeg behind a script) whose script was edited between BASELINE and
/// NEW: --retime takes each side's definition from its run.json (BASELINE's old copy, NEW's
/// new one); when BASELINE's copy is gone it names --baseline-external, and with that flag it
/// re-times again. Outputs and exit codes only, not speeds.
#[test]
fn issue22_retime_finds_each_sides_external_definition() {
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let pipeline = |sub: &str, percent: u32| {
        let dir = d.join(sub);
        std::fs::create_dir_all(&dir).unwrap();
        site_pipeline(&dir, percent)
    };
    let (old, new) = (pipeline("old", 100), pipeline("new", 85));
    for (defs, out) in [(&old, "a"), (&new, "b")] {
        run_args(
            &corpus,
            &d.join(out),
            &[
                "--no-cache",
                "--external",
                defs.to_str().unwrap(),
                "--codec",
                "site=sitejpeg:q=60,80",
                "--metrics",
                "psnr",
            ],
        );
    }
    let (a, b) = (d.join("a"), d.join("b"));
    let (code, text) = gate_of(&a, &b, &["--retime", "3"]);
    assert_eq!(
        code, 1,
        "the quality drop regresses whatever the time: {text}"
    );
    assert!(text.contains("re-timed 8 cell(s) of 4 image(s)"), "{text}");
    assert!(text.contains("time judged on 1 of 1 pipeline(s)"), "{text}");
    // BASELINE's definition moved away: named, exit 2; pointed at, re-timed.
    let moved = d.join("moved");
    std::fs::rename(d.join("old"), &moved).unwrap();
    let (code, text) = gate_of(&a, &b, &["--retime", "3"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("point --baseline-external at"), "{text}");
    let defs = moved.join("site.toml");
    let (code, text) = gate_of(
        &a,
        &b,
        &[
            "--retime",
            "3",
            "--baseline-external",
            defs.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("re-timed 8 cell(s)"), "{text}");
}
