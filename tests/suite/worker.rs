//! Persistent workers (`[[external]]` with `worker = [...]`, docs/worker-protocol.md) and
//! sources in AVIF, JPEG XL and GIF. Needs only python3 (the template worker uses the standard
//! library).

use crate::common;

use std::path::Path;
use std::process::Command;

use codecbench::pixels::Image;

fn codecbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_codecbench"))
}

fn run(corpus: &Path, out: &Path, external: &Path, specs: &[&str]) -> std::process::Output {
    let mut c = codecbench();
    c.args([
        "run",
        "--quiet",
        "--no-cache",
        "--no-report",
        "--metrics",
        "psnr",
    ])
    .arg("--external")
    .arg(external)
    .arg("--corpus")
    .arg(corpus)
    .arg("--out")
    .arg(out);
    for s in specs {
        c.args(["--codec", s]);
    }
    c.output().unwrap()
}

#[test]
fn the_template_worker_measures_with_its_own_clock() {
    let (dir, corpus) = common::small_corpus();
    let out = dir.path().join("run");
    let def = common::root().join("scripts/codecs/worker_template.toml");
    let o = run(&corpus, &out, &def, &["quantised:step=1,8"]);
    assert!(o.status.success(), "{o:?}");
    let rows: Vec<codecbench::record::CellRecord> =
        codecbench::export::read_csv(&out.join("results.csv")).unwrap();
    assert_eq!(rows.len(), 8);
    for r in &rows {
        assert!(r.is_ok(), "{} {}: {}", r.image, r.spec, r.message);
        // The worker's own `ns` for both calls; its CPU time as it reported it.
        assert_eq!(
            r.timing,
            codecbench::record::Timing::Same(codecbench::record::TimingKind::Reported),
            "{}",
            r.image
        );
        assert!(r.encode_cpu_ms.is_some(), "{}", r.image);
        assert!(
            r.codec_version.starts_with("worker_template 1"),
            "{}",
            r.codec_version
        );
        assert!(
            r.decoder.contains("external worker: python3"),
            "{}",
            r.decoder
        );
        if r.spec.ends_with("step=1") {
            // step 1 quantises nothing: the round trip is exact.
            assert_eq!(r.mse, Some(0.0), "{}", r.image);
        } else {
            assert!(r.mse.unwrap() > 0.0, "{}", r.image);
        }
    }
}

/// A worker that misbehaves on some images: garbage on stdout for the 24-pixel-wide one, an
/// exit for the 33-pixel-wide one, an error reply for the 40-pixel-wide one; it stores raw
/// samples for the others.
const BAD_WORKER: &str = r#"
import json, os, sys, time
for line in sys.stdin:
    req = json.loads(line)
    if req["op"] == "version":
        print(json.dumps({"ok": True, "version": "badworker 1"}), flush=True)
        continue
    if req["op"] == "encode":
        w = req["width"]
        if w == 24:
            print("hello from a library", flush=True)
            continue
        if w == 33:
            sys.stderr.write("worker is leaving\n"); sys.stderr.flush()
            sys.exit(3)
        if w == 40:
            print(json.dumps({"ok": False, "error": "cannot code 40 pixels"}), flush=True)
            continue
        head = json.dumps([w, req["height"], req["channels"], req["depth"]]).encode() + b"\n"
        open(req["output"], "wb").write(head + open(req["input"], "rb").read())
        print(json.dumps({"ok": True, "ns": 1000, "cpu_ns": 900}), flush=True)
    else:
        head, raw = open(req["input"], "rb").read().split(b"\n", 1)
        w, h, c, d = json.loads(head)
        open(req["output"], "wb").write(raw)
        print(json.dumps({"ok": True, "width": w, "height": h, "channels": c, "depth": d,
                          "ns": 1000, "cpu_ns": 900}), flush=True)
"#;

#[test]
fn a_misbehaving_worker_fails_its_cells_and_is_started_again() {
    let (dir, corpus) = common::small_corpus();
    std::fs::write(dir.path().join("bad.py"), BAD_WORKER).unwrap();
    let def = dir.path().join("bad.toml");
    std::fs::write(
        &def,
        "[[external]]\nname = \"bad\"\ninput = \"pam\"\nlossless = true\nworker = [\"python3\", \"{defdir}/bad.py\"]\ntimeout = 30\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    let o = run(&corpus, &out, &def, &["bad", "png"]);
    assert_eq!(o.status.code(), Some(1), "failed cells: exit 1; {o:?}");
    let rows: Vec<codecbench::record::CellRecord> =
        codecbench::export::read_csv(&out.join("results.csv")).unwrap();
    assert_eq!(rows.len(), 8);
    for r in rows.iter().filter(|r| r.spec == "bad") {
        let m = &r.message;
        match r.width {
            24 => assert!(
                m.contains("broke the protocol") && m.contains("hello from a library"),
                "{m}"
            ),
            33 => assert!(
                m.contains("exited") && m.contains("worker is leaving"),
                "{m}"
            ),
            40 => assert!(m.contains("cannot code 40 pixels"), "{m}"),
            _ => {
                assert!(r.is_ok(), "{m}");
                assert_eq!(r.roundtrip_exact, Some(true));
                assert_eq!(
                    r.encode_ms,
                    Some(0.001),
                    "the worker's ns: {:?}",
                    r.encode_ms
                );
            }
        }
    }
    assert!(rows.iter().filter(|r| r.spec == "png").all(|r| r.is_ok()));
}

#[test]
fn worker_definitions_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    for (body, want) in [
        (
            "worker = [\"python3\", \"w.py\"]\nencode = [\"x\", \"{input}\", \"{output}\"]",
            "give either a worker or encode/decode commands",
        ),
        (
            "worker = [\"python3\", \"{q}\"]",
            "a worker's command takes only {defdir}",
        ),
        ("worker = []", "worker: missing command"),
    ] {
        let def = dir.path().join("w.toml");
        std::fs::write(&def, format!("[[external]]\nname = \"w\"\n{body}\n")).unwrap();
        let o = codecbench()
            .arg("codecs")
            .arg("--external")
            .arg(&def)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("external[0].worker") && err.contains(want),
            "{err}"
        );
    }
}

#[test]
fn avif_jxl_and_gif_sources_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let data = common::root().join("tests/data/sources");
    // JPEG XL: lossless files of committed PNGs (tests/data/sources/README.md).
    std::fs::copy(data.join("tiny.jxl"), corpus.join("tiny.jxl")).unwrap();
    std::fs::copy(data.join("tiny16.jxl"), corpus.join("tiny16.jxl")).unwrap();
    // AVIF: made here by the avif codec (rav1e); read back by the same decoder.
    let rgb = common::textured_u8(32, 24, 3, 2);
    let avif = common::codec("avif");
    let p = &common::parse_spec("avif:q=70,speed=10")[0].params;
    let bytes = avif.encode(&rgb, p).unwrap().bytes;
    std::fs::write(corpus.join("photo.avif"), &bytes).unwrap();
    let avif_pixels = avif.decode(&bytes).unwrap().image;
    // GIF: two frames of four colours (no palette loss); the first is measured.
    let frame = |c: u8| {
        image::RgbaImage::from_fn(20, 10, |x, y| {
            image::Rgba([if (x + y) % 2 == 0 { 200 } else { c }, 10, 60, 255])
        })
    };
    {
        let f = std::fs::File::create(corpus.join("anim.gif")).unwrap();
        let mut enc = image::codecs::gif::GifEncoder::new(f);
        enc.encode_frames([frame(0), frame(90)].map(image::Frame::new))
            .unwrap();
    }
    let out = dir.path().join("run");
    let o = codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--metrics",
            "psnr",
        ])
        .args(["--codec", "png"])
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let rows: Vec<codecbench::record::CellRecord> =
        codecbench::export::read_csv(&out.join("results.csv")).unwrap();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r.image == id)
            .unwrap_or_else(|| panic!("{id}: {rows:?}"))
    };
    assert!(row("anim.gif")
        .conversion
        .contains("animated GIF (2 frames): frame 0 measured"));
    assert!(row("photo.avif")
        .conversion
        .contains("AVIF: decoded by rav1d"));
    assert!(row("tiny16.jxl").conversion.contains("jxl-oxide"));
    assert_eq!(
        (row("tiny16.jxl").channels, row("tiny16.jxl").bit_depth),
        (1, 16)
    );
    // The pixels: each source read to what its format holds.
    let read = |name: &str| {
        codecbench::corpus::decode_bytes(&std::fs::read(corpus.join(name)).unwrap(), u64::MAX)
            .unwrap()
    };
    assert_eq!(read("photo.avif"), avif_pixels);
    assert_eq!(read("tiny.jxl"), common::load_any(&data.join("tiny.png")));
    assert_eq!(
        read("tiny16.jxl"),
        common::load_any(&data.join("tiny16.png"))
    );
    let first: Vec<u8> = frame(0).pixels().flat_map(|p| [p[0], p[1], p[2]]).collect();
    assert_eq!(read("anim.gif"), Image::new_u8(20, 10, 3, first).unwrap());
}
