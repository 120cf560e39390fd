//! report.html in a real browser: Debian's chromium driven through chromium-driver
//! (WebDriver: plain HTTP and JSON, spoken here over std::net). On a run of the small test
//! corpus it checks what a reader sees at 1400x900: the answer card in the first viewport; the
//! split slider moves and changes the pixels shown; a configuration's toggle hides its curve;
//! no element sticks out to the right; every crop the page lists decodes. Under CI=true a
//! missing browser or driver is a failure; elsewhere the test says so and passes.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{json, Value};

/// The W3C WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// One HTTP/1.1 request to the driver; the JSON body of the answer.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    // The driver keeps the connection open: read the head, then Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the answer".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no Content-Length in {head}"))?;
    while raw.len() < head_end + length {
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed inside the answer".into());
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&raw[head_end..head_end + length]).to_string();
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    if v["value"]["error"].is_string() {
        return Err(format!("{method} {path}: {}", v["value"]));
    }
    Ok(v)
}

/// A chromium-driver process and one browser session, ended on drop.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Browser {
    fn start(driver: &Path, chromium: &Path) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Process::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium-driver");
        // Built first, so that a failure below still ends the driver (Drop).
        let mut b = Browser {
            driver,
            port,
            session: String::new(),
        };
        let t0 = Instant::now();
        while http(port, "GET", "/status", None).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(20), "driver not ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = std::env::temp_dir().join(format!("codecbench-chromium-{port}"));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1400,900"]
            }
        }}});
        let v = b.call("POST", "/session", Some(&caps));
        b.session = v["value"]["sessionId"].as_str().unwrap().to_string();
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        http(self.port, method, path, body).unwrap_or_else(|e| panic!("{e}"))
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let p = format!("/session/{}{path}", self.session);
        self.call(method, &p, Some(&body))["value"].clone()
    }

    fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    fn element(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        v[ELEMENT].as_str().unwrap().to_string()
    }

    /// The element's pixels as the page shows them (RGBA).
    fn shot(&self, css: &str) -> image::RgbaImage {
        let id = self.element(css);
        let p = format!("/session/{}/element/{id}/screenshot", self.session);
        let b64 = self.call("GET", &p, None)["value"]
            .as_str()
            .unwrap()
            .to_string();
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        image::load_from_memory(&png).unwrap().to_rgba8()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A run of the small corpus (JPEG and WebP swept, the default metrics) with its report.
fn report(dir: &Path) -> PathBuf {
    let (corpus, _) = common::small_corpus();
    let out = dir.join("run");
    Command::cargo_bin("codecbench")
        .unwrap()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--jobs",
            "2",
            "--codec",
            "jpeg:q=20..95:5",
            "--codec",
            "webp:q=20..95:5",
        ])
        .arg("--corpus")
        .arg(corpus.path())
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    out.join("report.html")
}

fn differing(a: &image::RgbaImage, b: &image::RgbaImage) -> usize {
    assert_eq!(a.dimensions(), b.dimensions());
    a.pixels().zip(b.pixels()).filter(|(x, y)| x != y).count()
}

#[test]
fn the_report_reads_and_works_in_chromium() {
    let (Some(chromium), Some(driver)) = (
        find(&["chromium", "chromium-browser"]),
        find(&["chromedriver", "chromium-driver"]),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have chromium and chromium-driver installed (.ci/run installs them)"
        );
        eprintln!(
            "chromium or chromium-driver not installed: the report was not checked in a browser"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let html = report(dir.path());
    let b = Browser::start(&driver, &chromium);
    let url = format!("file://{}", html.display());
    b.cmd("POST", "/url", json!({ "url": url }));
    // A 1400x900 viewport: the window is made larger by what the browser's frame takes.
    let size = |b: &Browser| -> [f64; 2] {
        serde_json::from_value(b.js("return [window.innerWidth, window.innerHeight];")).unwrap()
    };
    b.cmd(
        "POST",
        "/window/rect",
        json!({"width": 1400, "height": 900}),
    );
    let [w, h] = size(&b);
    b.cmd(
        "POST",
        "/window/rect",
        json!({"width": 2800.0 - w, "height": 1800.0 - h}),
    );
    let [w, h] = size(&b);
    assert_eq!([w, h], [1400.0, 900.0], "the viewport");

    // The answer card is in the first viewport, whole.
    let card = b.js(
        "var c = document.querySelector('#answer ul.card'); if (!c) { return null; } \
         var r = c.getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight];",
    );
    let c: Vec<f64> = serde_json::from_value(card).expect("an answer card");
    assert!(c[0] >= 0.0 && c[1] <= c[2], "answer card at {c:?}");

    // No crop is missing: every image file the viewer lists (crops and error maps) decodes.
    let decoded = b.cmd(
        "POST",
        "/execute/async",
        json!({"args": [], "script": "var done = arguments[0]; \
            var d = JSON.parse(document.getElementById('viewer-data').textContent); \
            Promise.all(d.files.map(function (s) { return new Promise(function (ok) { \
              var i = new Image(); i.onload = function () { ok(i.naturalWidth > 0 ? 1 : 0); }; \
              i.onerror = function () { ok(0); }; i.src = s; }); })) \
            .then(function (r) { done([d.files.length, r.reduce(function (a, b) { return a + b; }, 0), \
              d.images.filter(function (im) { return im.embedded; }).length, d.linked.length]); });"}),
    );
    let [listed, ok, embedded, linked]: [u64; 4] = serde_json::from_value(decoded).unwrap();
    assert_eq!(embedded, 4, "crops of the 4 test images in the page");
    assert_eq!(linked, 0);
    assert_eq!(
        ok,
        listed,
        "{} of {listed} crop images do not decode",
        listed - ok
    );
    let manifest = codecbench::report::crops::read_manifest(html.parent().unwrap())
        .unwrap()
        .unwrap();
    let mut names: Vec<&String> = Vec::new();
    for im in &manifest.images {
        names.push(&im.original);
        for c in &im.cells {
            names.push(&c.file);
            names.extend(&c.heatmap);
        }
    }
    let cells: usize = manifest.images.iter().map(|i| i.cells.len()).sum();
    names.sort();
    names.dedup();
    // Original, crops and error maps, each file once.
    assert_eq!(listed as usize, names.len());
    assert!(cells > 0, "no crop in the page");

    // The slider: with the error map on the right, dragging the line left shows more of the
    // right side, so the stage's pixels change.
    b.js("document.getElementById('visual').scrollIntoView(); \
          var h = document.getElementById('v-heat'); h.checked = true; \
          h.dispatchEvent(new Event('change'));");
    std::thread::sleep(Duration::from_millis(300));
    let before = b.shot("#v-stage");
    let stage = b.element("#v-stage");
    let pos0 = b.js("return +document.getElementById('v-pos').value;");
    b.cmd(
        "POST",
        "/actions",
        json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "origin": {ELEMENT: stage}, "x": 0, "y": 0},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerMove", "origin": "pointer", "x": -250, "y": 0, "duration": 100},
                {"type": "pointerUp", "button": 0}
            ]}]}),
    );
    b.cmd("DELETE", "/actions", json!({}));
    std::thread::sleep(Duration::from_millis(300));
    let pos1 = b.js("return +document.getElementById('v-pos').value;");
    assert!(
        pos1.as_f64().unwrap() < pos0.as_f64().unwrap() - 100.0,
        "split {pos0} -> {pos1}"
    );
    let after = b.shot("#v-stage");
    let changed = differing(&before, &after);
    let area = (before.width() * before.height()) as usize;
    assert!(
        changed * 50 > area,
        "only {changed} of {area} pixels changed when the slider moved"
    );

    // A configuration's toggle hides its curve, the other stays.
    let curves = "return [document.querySelectorAll('#rd-plot g.curve[data-curve=\"0\"]').length, \
                  document.querySelectorAll('#rd-plot g.curve[data-curve=\"1\"]').length];";
    assert_eq!(b.js(curves), json!([1, 1]));
    let toggle = b.element("#rd-toggles button[data-curve=\"0\"]");
    b.js("document.getElementById('rd').scrollIntoView();");
    b.cmd("POST", &format!("/element/{toggle}/click"), json!({}));
    assert_eq!(b.js(curves), json!([0, 1]));

    // Nothing sticks out to the right at 1400 px, details opened too: an element wider than
    // the page is a fault unless a scrolling box of its own holds it.
    let over = b.js(
        "document.querySelectorAll('details').forEach(function (d) { d.open = true; }); \
         var W = document.documentElement.clientWidth, bad = []; \
         var clipped = function (e) { for (var p = e.parentElement; p; p = p.parentElement) { \
           var o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') { return true; } } \
           return false; }; \
         document.querySelectorAll('main *').forEach(function (e) { var r = e.getBoundingClientRect(); \
           if (r.width > 0 && r.right > W + 1 && !clipped(e)) { bad.push(e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(r.right)); } }); \
         return [document.documentElement.scrollWidth, W, bad.slice(0, 10)];",
    );
    assert!(
        over[0].as_f64() <= over[1].as_f64() && over[2].as_array().unwrap().is_empty(),
        "horizontal overflow at 1400 px: {over}"
    );
}
