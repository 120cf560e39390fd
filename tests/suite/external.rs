//! External codecs declared in TOML, run through the binary: a quantising script whose bytes
//! and PSNR are computed here directly; failing, hanging, garbage-writing and wrong-size
//! decoders each giving one error row while the rest are measured; invalid definitions
//! rejected with exit code 2 naming the file and field; the shipped cjpeg definition matching
//! cjpeg run by hand; the cache key following the definition.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use codecbench::cache::Cache;
use codecbench::codec::external::{parse_definitions, External};
use codecbench::codec::Registry;
use codecbench::record::{CellRecord, Timing, TimingKind};

/// A deterministic "codec": encode writes an 8-byte header (width, height as u32 LE) and
/// channel count, then every sample divided by STEP; decode multiplies back. Reads and
/// writes binary PPM/PGM.
const QUANT_PY: &str = r#"
import re, struct, sys
def read_pnm(p):
    d = open(p, "rb").read()
    m = re.match(rb"(P[56])\s+(\d+)\s+(\d+)\s+(\d+)\s", d)
    assert int(m.group(4)) == 255
    return int(m.group(2)), int(m.group(3)), (3 if m.group(1) == b"P6" else 1), d[m.end():]
mode, src, dst = sys.argv[1:4]
if mode == "encode":
    step = int(sys.argv[4])
    w, h, c, px = read_pnm(src)
    open(dst, "wb").write(struct.pack("<IIBB", w, h, c, step) + bytes(p // step for p in px))
else:
    b = open(src, "rb").read()
    w, h, c, step = struct.unpack("<IIBB", b[:10])
    hdr = b"%s\n%d %d\n255\n" % (b"P6" if c == 3 else b"P5", w, h)
    open(dst, "wb").write(hdr + bytes(q * step for q in b[10:]))
"#;

fn codecbench() -> Command {
    Command::cargo_bin("codecbench").unwrap()
}

/// A definition of the quantiser, named `name`, with decode command `decode` (TOML array
/// text) and `extra` lines.
fn quant_def(script: &Path, name: &str, decode: Option<&str>, extra: &str) -> String {
    let s = script.display();
    let decode = decode
        .map(str::to_string)
        .unwrap_or_else(|| format!(r#"["python3", "{s}", "decode", "{{input}}", "{{output}}"]"#));
    format!(
        r#"
[[external]]
name = "{name}"
extension = "q"
input = "ppm"
output = "ppm"
depth = 8
encode = ["python3", "{s}", "encode", "{{input}}", "{{output}}", "{{step}}"]
decode = {decode}
version = ["echo", "quant 1"]
params = [{{ key = "step", kind = "int", min = 1, max = 128, default = 8 }}]
{extra}
"#
    )
}

struct Setup {
    dir: tempfile::TempDir,
    script: PathBuf,
    corpus: PathBuf,
}

/// A folder with the quantiser script and a corpus of one RGB and one gray 8-bit image.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("quant.py");
    std::fs::write(&script, QUANT_PY).unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    common::write_png(&common::textured_u8(37, 23, 3, 1), &corpus.join("rgb.png"));
    common::write_png(&common::textured_u8(20, 16, 1, 2), &corpus.join("gray.png"));
    Setup {
        dir,
        script,
        corpus,
    }
}

/// Runs `codecbench run` with a private TMPDIR; returns (exit code, stderr, rows, TMPDIR).
fn run(s: &Setup, args: &[&str]) -> (i32, String, Vec<CellRecord>, PathBuf) {
    let tmp = s.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = s.dir.path().join("out");
    let o = codecbench()
        .env("TMPDIR", &tmp)
        .args(["run", "--quiet", "--no-cache", "--no-report", "-j", "2"])
        .arg("--corpus")
        .arg(&s.corpus)
        .arg("--out")
        .arg(&out)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let rows = match csv::Reader::from_path(out.join("results.csv")) {
        Ok(mut r) => r.deserialize().map(Result::unwrap).collect(),
        Err(_) => Vec::new(),
    };
    (o.status.code().unwrap_or(-1), stderr, rows, tmp)
}

fn write(s: &Setup, name: &str, text: &str) -> PathBuf {
    let p = s.dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn quantising_script_gives_the_bytes_and_psnr_computed_directly() {
    let s = setup();
    let defs = write(&s, "defs.toml", &quant_def(&s.script, "quant", None, ""));
    let (code, stderr, rows, tmp) = run(
        &s,
        &[
            "--external",
            defs.to_str().unwrap(),
            "--codec",
            "quant:step=4,16",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(rows.len(), 4);
    for r in &rows {
        let img = common::load_any(&s.corpus.join(&r.image));
        let px = img.as_u8().unwrap();
        let step = r.setting.unwrap() as u32;
        // 10-byte header + one byte per sample: the script's format.
        assert_eq!(r.bytes, Some(10 + px.len() as u64), "{}", r.image);
        let mse = px
            .iter()
            .map(|&p| {
                let d = p as f64 - ((p as u32 / step) * step) as f64;
                d * d
            })
            .sum::<f64>()
            / px.len() as f64;
        let psnr = 10.0 * (255.0f64 * 255.0 / mse).log10();
        // Same formula in f64 on the same samples; 1e-9 allows only summation order.
        assert!((r.mse.unwrap() - mse).abs() < 1e-9 * mse, "{r:?}");
        assert!((r.psnr.unwrap() - psnr).abs() < 1e-9, "{r:?}");
        assert_eq!(r.codec_version, "quant 1");
        assert_eq!(r.timing, Timing::Same(TimingKind::Process));
        assert!(
            r.encode_cpu_ms.is_some() && r.decode_cpu_ms.is_some(),
            "{r:?}"
        );
        assert_eq!(r.status, codecbench::record::Status::Ok);
    }
    // Every cell folder was removed.
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn the_learned_template_reports_its_own_time() {
    let s = setup();
    let defs = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/codecs/learned_template.toml");
    let (code, stderr, rows, _) = run(
        &s,
        &[
            "--external",
            defs.to_str().unwrap(),
            "--codec",
            "learned:step=8",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.timing, Timing::Same(TimingKind::Reported), "{r:?}");
        assert!(r.psnr.unwrap() > 30.0, "{r:?}");
    }
}

#[test]
fn failing_hanging_garbage_and_wrong_size_decoders_each_give_one_error_row() {
    let s = setup();
    std::fs::remove_file(s.corpus.join("gray.png")).unwrap();
    let pidfile = s.dir.path().join("orphan.pid");
    let defs = [
        quant_def(&s.script, "quant", None, ""),
        quant_def(
            &s.script,
            "fails",
            Some(r#"["sh", "-c", "echo boom >&2; exit 3", "sh", "{input}", "{output}"]"#),
            "",
        ),
        quant_def(
            &s.script,
            "hangs",
            Some(&format!(
                r#"["sh", "-c", "sleep 300 & echo $! > {}; sleep 300", "sh", "{{input}}", "{{output}}"]"#,
                pidfile.display()
            )),
            "timeout = 1",
        ),
        quant_def(
            &s.script,
            "garbage",
            Some(r#"["sh", "-c", "echo garbage > \"$2\"", "sh", "{input}", "{output}"]"#),
            "",
        ),
        quant_def(
            &s.script,
            "wrongsize",
            Some(r#"["sh", "-c", "printf 'P5\n1 1\n255\n\\000' > \"$2\"", "sh", "{input}", "{output}"]"#),
            "",
        ),
        quant_def(
            &s.script,
            "silent",
            Some(r#"["sh", "-c", "true", "sh", "{input}", "{output}"]"#),
            "",
        ),
    ]
    .concat();
    let defs = write(&s, "defs.toml", &defs);
    let mut args = vec!["--external", defs.to_str().unwrap()];
    for c in ["quant", "fails", "hangs", "garbage", "wrongsize", "silent"] {
        args.extend(["--codec", c]);
    }
    let (code, stderr, rows, tmp) = run(&s, &args);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(rows.len(), 6);
    let row = |c: &str| rows.iter().find(|r| r.codec == c).unwrap();
    assert!(row("quant").is_ok() && row("quant").psnr.is_some());
    for (codec, want) in [
        ("fails", "exited with status 3; stderr: boom"),
        ("hangs", "timed out after 1 s (process group killed)"),
        ("garbage", "decoder output is not a valid PPM/PGM file"),
        (
            "wrongsize",
            "decoded size 1x1 differs from the input's 37x23",
        ),
        ("silent", "decode command sh wrote no output file"),
    ] {
        let r = row(codec);
        assert!(!r.is_ok(), "{codec}");
        assert!(r.message.contains(want), "{codec}: {}", r.message);
        // What was measured before the failure is kept.
        assert!(r.bytes.is_some() && r.encode_ms.is_some(), "{codec}");
    }
    // The hanging decoder's background child was killed with its group: no orphan.
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    assert!(
        stat.as_deref().map_or(true, |s| s.contains(") Z ")),
        "orphan {pid} still running: {stat:?}"
    );
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn invalid_definitions_exit_2_naming_file_and_field() {
    let s = setup();
    let good = quant_def(&s.script, "quant", None, "");
    let cases = [
        (
            good.replace("\"int\"", "\"integer\""),
            "defs.toml: external[0].params[0].kind: unknown kind \"integer\"",
        ),
        (
            good.replace("name = \"quant\"", "name = \"jpeg\""),
            "defs.toml: external[0].name: a codec named \"jpeg\" is already defined",
        ),
        (
            good.replace("{step}", "{quality}"),
            "defs.toml: external[0].encode: {quality} is not a parameter",
        ),
        (
            good.replace("default = 8", "default = \"high\""),
            "defs.toml: external[0].params[0].default: \"high\" is not an integer",
        ),
        (
            good.replace("encode = [", "encoder = ["),
            "unknown field `encoder`",
        ),
    ];
    for (text, want) in cases {
        let defs = write(&s, "defs.toml", &text);
        let (code, stderr, rows, _) = run(
            &s,
            &["--external", defs.to_str().unwrap(), "--codec", "png"],
        );
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(want), "{stderr} lacks {want}");
        assert!(rows.is_empty());
    }
    // The same checks apply to [[external]] in a sweep file.
    let sweep = write(
        &s,
        "sweep.toml",
        &format!("codec = [\"quant\"]\n{}", good.replace("{step}", "{q}")),
    );
    let (code, stderr, _, _) = run(&s, &["--sweep", sweep.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("sweep.toml: external[0].encode: {q} is not a parameter"),
        "{stderr}"
    );
    // ... and a good one there is usable from the sweep's own codec list.
    let sweep = write(
        &s,
        "sweep.toml",
        &format!("codec = [\"quant:step=2\"]\n{good}"),
    );
    let (code, stderr, rows, _) = run(&s, &["--sweep", sweep.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(rows.len(), 2);
}

#[test]
fn cjpeg_definition_matches_cjpeg_run_by_hand() {
    if std::process::Command::new("cjpeg")
        .arg("-version")
        .output()
        .is_err()
    {
        eprintln!("cjpeg not installed (Debian libjpeg-turbo-progs); skipped");
        return;
    }
    let s = setup();
    std::fs::remove_file(s.corpus.join("gray.png")).unwrap();
    let defs = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/codecs/cjpeg.toml");
    let (code, stderr, rows, _) = run(
        &s,
        &[
            "--external",
            defs.to_str().unwrap(),
            "--codec",
            "cjpeg:q=60,subsampling=1x1",
            "--save-encoded",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let saved = std::fs::read(s.dir.path().join("out").join(&rows[0].encoded_file)).unwrap();
    // By hand: the same pixels as a P6 file, the same arguments.
    let img = common::textured_u8(37, 23, 3, 1);
    let mut ppm = b"P6\n37 23\n255\n".to_vec();
    ppm.extend(img.as_u8().unwrap());
    let input = s.dir.path().join("hand.ppm");
    std::fs::write(&input, ppm).unwrap();
    let o = std::process::Command::new("cjpeg")
        .args(["-quality", "60", "-sample", "1x1", "-outfile"])
        .arg(s.dir.path().join("hand.jpg"))
        .arg(&input)
        .output()
        .unwrap();
    assert!(o.status.success());
    let hand = std::fs::read(s.dir.path().join("hand.jpg")).unwrap();
    assert_eq!(saved, hand, "byte for byte");
}

#[test]
fn cache_key_follows_the_definition() {
    let s = setup();
    let key_of = |text: &str| {
        let table: toml::Table = toml::from_str(text).unwrap();
        let defs =
            parse_definitions(Path::new("d.toml"), table["external"].as_array().unwrap()).unwrap();
        let mut reg = Registry::builtin();
        for d in defs {
            reg.add(Arc::new(External::new(d))).unwrap();
        }
        let config = &reg.parse_spec("quant:step=4").unwrap()[0];
        Cache::key("h", config, "psnr", 1)
    };
    let good = quant_def(&s.script, "quant", None, "");
    let k = key_of(&good);
    assert_eq!(k, key_of(&good));
    for other in [
        good.replace("\"encode\", \"{input}\"", "\"encode\", \"-x\", \"{input}\""),
        good.replace("\"quant 1\"", "\"quant 2\""),
        good.replace("depth = 8", "depth = 8\nlossless = true"),
        good.replace("max = 128", "max = 100"),
    ] {
        assert_ne!(k, key_of(&other), "{other}");
    }
}

#[test]
fn every_shipped_definition_is_valid_and_joins_the_registry() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/codecs");
    let mut reg = Registry::builtin();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let defs = codecbench::codec::external::read_definitions_file(&path)
                .unwrap_or_else(|e| panic!("{e}"));
            for d in defs {
                names.push(d.name.clone());
                reg.add(Arc::new(External::new(d))).unwrap();
            }
        }
    }
    names.sort();
    let want = [
        "avifenc",
        "cjpeg",
        "cjxl",
        "cwebp",
        "heic",
        "learned",
        "opj_compress",
        "pngquant",
        "quantised",
        "x264",
        "x265",
    ];
    assert_eq!(names, want);
    // Each default spec parses: the params table is well formed.
    for n in want {
        assert_eq!(reg.parse_spec(n).unwrap().len(), 1, "{n}");
    }
}

#[test]
fn a_missing_command_is_named_once_before_the_run_and_its_cells_fail_alone() {
    let s = setup();
    let defs = [
        quant_def(&s.script, "quant", None, ""),
        quant_def(
            &s.script,
            "absent",
            Some(r#"["codecbench-no-such-decoder", "{input}", "{output}"]"#),
            "",
        ),
    ]
    .concat();
    let defs = write(&s, "defs.toml", &defs);
    let want =
        "external codec `absent`: the decode command `codecbench-no-such-decoder` is not found";
    // `codecs --external` lists the definitions and names what is missing.
    let o = codecbench()
        .args(["codecs", "--external"])
        .arg(&defs)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("absent") && stdout.contains("[external]"),
        "{stdout}"
    );
    assert!(stderr.contains(want), "{stderr}");
    assert!(stderr.contains("defs.toml"), "names the file: {stderr}");
    assert!(
        !stderr.contains("`quant`"),
        "quant's commands exist: {stderr}"
    );
    // `run` warns once, then measures the rest; the absent decoder's cells are error rows.
    let args = [
        "--external",
        defs.to_str().unwrap(),
        "--codec",
        "quant",
        "--codec",
        "absent",
    ];
    let (code, stderr, rows, _) = run(&s, &args);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.matches(want).count(), 1, "{stderr}");
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(
            r.is_ok(),
            r.codec == "quant",
            "{} {}: {}",
            r.image,
            r.codec,
            r.message
        );
    }
}

/// Runs `codecbench ARGS` under `prlimit --as=LIMIT` (address space, bytes) with a private
/// TMPDIR; returns (exit code, stdout, stderr), killing it after `wait`.
fn limited(
    s: &Setup,
    limit: Option<u64>,
    args: &[&str],
    wait: std::time::Duration,
) -> (i32, String, String) {
    let tmp = s.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = match limit {
        Some(l) => {
            let mut c = std::process::Command::new("prlimit");
            c.arg(format!("--as={l}"))
                .arg("--")
                .arg(env!("CARGO_BIN_EXE_codecbench"));
            c
        }
        None => std::process::Command::new(env!("CARGO_BIN_EXE_codecbench")),
    };
    let mut child = cmd
        .env("TMPDIR", &tmp)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > wait {
            child.kill().unwrap();
            let o = child.wait_with_output().unwrap();
            panic!(
                "codecbench {args:?} still running after {wait:?}; stderr: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A definition `name` whose encode and decode copy the file, with `encode` (a shell script
/// given the input as $0 and the output as $1) in place of the encoder when given.
fn copy_def(name: &str, encode: Option<&str>, extra: &str) -> String {
    let enc = encode
        .unwrap_or(r#"cp "$0" "$1""#)
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        r#"
[[external]]
name = "{name}"
extension = "ppm"
depth = 8
encode = ["sh", "-c", "{enc}", "{{input}}", "{{output}}"]
decode = ["cp", "{{input}}", "{{output}}"]
{extra}
"#
    )
}

/// Issue 26 cases 1 and 2: a tool that floods stderr or writes a huge output file fails its
/// own cell, with a bounded cost: 300 MB of stderr and a 3 GB (sparse) output under a 400 MB
/// address-space limit. Before: the stderr was read whole (abort 134 under a limit, a stderr
/// file left in TMPDIR) and so was the output.
#[test]
fn floods_of_stderr_or_output_fail_their_cell_within_a_memory_limit() {
    let s = setup();
    std::fs::remove_file(s.corpus.join("gray.png")).unwrap();
    let defs = [
        copy_def(
            "noisy",
            Some(
                r#"head -c 300000000 /dev/zero | tr '\0' x >&2; echo; echo last words >&2; exit 3"#,
            ),
            "",
        ),
        copy_def("huge", Some(r#"truncate -s 3G "$1""#), ""),
        copy_def("capped", None, "max_output = 100"),
        copy_def("fine", None, ""),
    ]
    .concat();
    let defs = write(&s, "defs.toml", &defs);
    let out = s.dir.path().join("out");
    let (code, _, stderr) = limited(
        &s,
        Some(400_000_000),
        &[
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "-j",
            "1",
            "--metrics",
            "psnr",
            "--external",
            defs.to_str().unwrap(),
            "--codec",
            "noisy",
            "--codec",
            "huge",
            "--codec",
            "capped",
            "--codec",
            "fine",
            "--codec",
            "jpeg:q=50",
            "--corpus",
            s.corpus.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        std::time::Duration::from_secs(120),
    );
    assert_eq!(code, 1, "{stderr}");
    let rows: Vec<CellRecord> = codecbench::export::read_csv(&out.join("results.csv")).unwrap();
    assert_eq!(rows.len(), 5, "{stderr}");
    let row = |c: &str| rows.iter().find(|r| r.codec == c).unwrap();
    assert!(row("fine").is_ok() && row("jpeg").is_ok());
    let noisy = &row("noisy").message;
    assert!(
        noisy.contains("exited with status 3; stderr: ") && noisy.contains("last words"),
        "{noisy}"
    );
    assert!(noisy.len() < 2000, "{} bytes of message", noisy.len());
    let huge = &row("huge").message;
    assert!(
        huge.contains("wrote a 3072.0 MiB output file, larger than the")
            && huge.contains("4 x the image's raw size + 1 MiB"),
        "{huge}"
    );
    let capped = &row("capped").message;
    assert!(capped.contains("the definition's max_output"), "{capped}");
    let tmp = s.dir.path().join("tmp");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "temp folders left"
    );
}

/// Issue 26 cases 3 and 4: the version command runs with the definition's timeout in its own
/// process group, and only its first 4 KiB are read. Before: `codecs` hung on a version
/// command that sleeps, and 50 MB of version text went into every row.
#[test]
fn a_hanging_or_flooding_version_command_is_cut_short() {
    let s = setup();
    let defs = [
        copy_def(
            "slow",
            None,
            "timeout = 1\nversion = [\"sh\", \"-c\", \"sleep 1021 & sleep 1021\"]",
        ),
        copy_def(
            "chatty",
            None,
            "version = [\"sh\", \"-c\", \"head -c 50000000 /dev/zero | tr '\\\\0' v\"]",
        ),
    ]
    .concat();
    let defs = write(&s, "defs.toml", &defs);
    let (code, stdout, stderr) = limited(
        &s,
        None,
        &["codecs", "--external", defs.to_str().unwrap()],
        std::time::Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("unknown (sh timed out after 1 s (process group killed))"),
        "{stdout}"
    );
    assert!(
        common::processes(&["sleep", "1021"]).is_empty(),
        "the version command's sleep lives on"
    );
    let chatty = stdout.lines().find(|l| l.starts_with("chatty")).unwrap();
    assert!(
        chatty.len() < 4200 && chatty.contains("vvvv"),
        "{} bytes",
        chatty.len()
    );

    let out = s.dir.path().join("out");
    let (code, _, stderr) = limited(
        &s,
        None,
        &[
            "run",
            "--quiet",
            "--no-cache",
            "--no-report",
            "--metrics",
            "psnr",
            "--external",
            defs.to_str().unwrap(),
            "--codec",
            "chatty",
            "--corpus",
            s.corpus.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        std::time::Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{stderr}");
    let csv = std::fs::metadata(out.join("results.csv")).unwrap().len();
    assert!(csv < 20_000, "results.csv is {csv} bytes");
}

/// Issue 26 case 5: a timeout above a day is a definition error (exit 2 naming the field).
/// Before: 1e20 panicked (exit 101) and 9.2e18 passed the check, then threads panicked.
#[test]
fn timeouts_above_a_day_are_definition_errors() {
    let s = setup();
    for t in ["1e20", "9.2e18", "86401"] {
        let defs = write(
            &s,
            "defs.toml",
            &copy_def("t", None, &format!("timeout = {t}")),
        );
        let (code, _, stderr) = limited(
            &s,
            None,
            &["codecs", "--external", defs.to_str().unwrap()],
            std::time::Duration::from_secs(30),
        );
        assert_eq!(code, 2, "{t}: {stderr}");
        assert!(
            stderr.contains("external[0].timeout:") && stderr.contains("more than a day"),
            "{t}: {stderr}"
        );
    }
}

/// Issue 26 case 6: processes a tool detaches with `setsid` die with its cell (on exit and on
/// timeout), and cell folders are private. Before: the setsid child outlived the run.
#[test]
fn detached_children_die_with_their_cell_and_cell_folders_are_private() {
    let s = setup();
    std::fs::remove_file(s.corpus.join("gray.png")).unwrap();
    let mode = s.dir.path().join("mode.txt");
    let defs = [
        copy_def(
            "detaches",
            Some(&format!(
                r#"stat -c %a . > {}; setsid sh -c "sleep 1007" & cp "$0" "$1""#,
                mode.display()
            )),
            "",
        ),
        copy_def(
            "hangs",
            Some(r#"setsid sh -c "sleep 1008" & sleep 1009"#),
            "timeout = 1",
        ),
    ]
    .concat();
    let defs = write(&s, "defs.toml", &defs);
    let (code, stderr, rows, tmp) = run(
        &s,
        &[
            "--external",
            defs.to_str().unwrap(),
            "--codec",
            "detaches",
            "--codec",
            "hangs",
            "--metrics",
            "psnr",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let row = |c: &str| rows.iter().find(|r| r.codec == c).unwrap();
    assert!(row("detaches").is_ok(), "{}", row("detaches").message);
    assert!(row("hangs").message.contains("timed out after 1 s"));
    for n in ["1007", "1008", "1009"] {
        assert!(
            common::processes(&["sleep", n]).is_empty(),
            "sleep {n} outlived its cell"
        );
    }
    assert_eq!(std::fs::read_to_string(&mode).unwrap().trim(), "700");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}
