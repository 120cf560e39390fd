//! The report end to end: a run writes report.html, summary.md, plots and the crops it shows;
//! the HTML is self-contained and has every section filled; `codecbench report` remakes it from
//! the run folder's files alone (no codec, no corpus file), and says plainly when the crops are
//! absent; and, where Chromium is installed (CI installs it), a real browser renders it.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;

fn codecbench() -> Command {
    Command::cargo_bin("codecbench").unwrap()
}

/// A run on the small corpus with two lossy codecs and one lossless.
fn run(dir: &Path, extra: &[&str]) -> PathBuf {
    let corpus = dir.join("corpus");
    let out = dir.join("run");
    codecbench()
        .args([
            "run",
            "--quiet",
            "--no-cache",
            "--jobs",
            "2",
            "--codec",
            "jpeg:q=20..90:10",
            "--codec",
            "webp:q=20..90:10",
            "--codec",
            "png:preset=0",
        ])
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    out
}

fn corpus() -> tempfile::TempDir {
    let (dir, _) = common::small_corpus();
    dir
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The visual comparison section of a report (up to the rate-distortion view).
fn visual(html: &str) -> &str {
    let start = html.find("<section id=\"visual\">").unwrap();
    let end = html.find("<section id=\"rd\">").unwrap();
    &html[start..end]
}

/// A `<section id=...>` of a report, to its end.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("section {id} missing"));
    let end = start + html[start..].find("</section>").unwrap();
    &html[start..end]
}

/// The visual comparison's data (the JSON the page's script reads).
fn viewer(html: &str) -> serde_json::Value {
    let tag = "<script type=\"application/json\" id=\"viewer-data\">";
    let start = html.find(tag).unwrap() + tag.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

/// The file of the viewer's data at `index` (a data URI, or a path relative to the page).
fn file(v: &serde_json::Value, index: &serde_json::Value) -> String {
    v["files"][index.as_u64().expect("a file index") as usize]
        .as_str()
        .unwrap()
        .to_string()
}

/// The crops (data URIs) of a report, in page order: each image's original, then its cells.
fn crop_images(html: &str) -> Vec<String> {
    let v = viewer(html);
    let mut out = Vec::new();
    for im in v["images"].as_array().unwrap() {
        out.push(file(&v, &im["original"]));
        for c in im["cells"].as_array().unwrap() {
            out.push(file(&v, &c["src"]));
        }
    }
    out
}

/// What a report says when its run folder has no crops.
const CROPS_ABSENT: &str = "Crops are absent:";

fn check_html(html: &str, expect_crops: bool) {
    for id in ["run", "summary", "bdrate", "plots", "images", "visual"] {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id} missing"
        );
    }
    // Self-contained: nothing is fetched.
    for bad in ["src=\"http", "href=\"http", "<link ", "@import", "url(http"] {
        assert!(!html.contains(bad), "external resource: {bad}");
    }
    // Per quality metric (default set): a corpus plot per bit depth (the test corpus has 8-
    // and 16-bit images, never averaged together) and the per-image plot; and the speed plot,
    // inline, each with lines.
    let mut ids = vec!["speed".to_string()];
    for m in ["psnr", "psnr_y", "ssim", "ssimulacra2"] {
        ids.push(format!("rd-{m}"));
        ids.push(format!("rd-{m}-16bit"));
        ids.push(format!("rd-{m}-per-image"));
    }
    assert_eq!(count(html, "<figure id=\"plot-"), ids.len());
    for id in &ids {
        let start = html.find(&format!("<figure id=\"plot-{id}\"")).unwrap();
        let end = start + html[start..].find("</figure>").unwrap();
        let fig = &html[start..end];
        assert!(fig.contains("<svg") && fig.contains("viewBox"), "{id}");
        assert!(
            count(fig, "<polyline") + count(fig, "<path") >= 2,
            "{id} has no curves"
        );
        assert!(
            fig.contains("jpeg:subsampling=420,progressive=true,arithmetic=false"),
            "{id} legend"
        );
    }
    // Summary table: 8 jpeg + 8 webp + 1 png settings.
    let summary = section(html, "summary");
    assert_eq!(count(summary, "<tr><td>"), 17);
    // BD-rate matrix between the two lossy curves, with numbers.
    let bd = section(html, "bdrate");
    assert!(bd.contains("BD-rate on PSNR (dB)"));
    assert!(bd.contains("BD-rate on SSIMULACRA2"));
    assert!(bd.contains(" %"), "no BD-rate value: {bd}");
    // Per-image tables for the four images.
    assert_eq!(count(html, "<details><summary><b>"), 4);
    if expect_crops {
        // Original + at least the 2 lossy codecs' uniform settings for each of 4 images, all
        // lossless WebP.
        let crops = crop_images(html);
        // (A configuration with no single setting meeting the target on every image has
        // only per-image crops.)
        assert!(crops.len() > 4, "{} crops", crops.len());
        assert!(crops
            .iter()
            .all(|c| c.starts_with("data:image/webp;base64,")));
        assert!(!visual(html).contains(CROPS_ABSENT));
    } else {
        assert!(crop_images(html).is_empty());
        assert!(visual(html).contains(CROPS_ABSENT), "{}", visual(html));
    }
}

#[test]
fn run_writes_a_self_contained_report_and_markdown() {
    let dir = corpus();
    let out = run(dir.path(), &["--save-encoded"]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    check_html(&html, true);
    assert!(html.contains("saved file"));
    assert!(!html.contains("re-encoded"));
    // The crops shown are the ones the run saved: the manifest and its PNGs.
    let manifest: codecbench::report::crops::Manifest =
        codecbench::report::crops::read_manifest(&out)
            .unwrap()
            .expect("crops/crops.json");
    assert_eq!(manifest.target_bpp, 0.5);
    assert_eq!(manifest.images.len(), 4);
    let mut saved_pngs = Vec::new();
    for img in &manifest.images {
        // Each lossy codec at the answer's uniform setting, and tuned per image where that
        // differs.
        assert!((2..=4).contains(&img.cells.len()), "{}", img.image);
        saved_pngs.push(std::fs::read(out.join("crops").join(&img.original)).unwrap());
        for c in &img.cells {
            assert_eq!(c.source, codecbench::report::crops::Source::SavedFile);
            saved_pngs.push(std::fs::read(out.join("crops").join(&c.file)).unwrap());
        }
    }
    use base64::Engine as _;
    let shown: Vec<Vec<u8>> = crop_images(&html)
        .iter()
        .map(|u| {
            base64::engine::general_purpose::STANDARD
                .decode(u.strip_prefix("data:image/webp;base64,").unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(shown, saved_pngs);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.starts_with("# codecbench summary"));
    // summary.md is the answer card and one table (issue 24, tests/suite/docs.rs); the BD tables
    // and the recommendation's verdicts are in report.html.
    assert!(
        md.lines().count() <= 60 && md.contains("`report.html`"),
        "{md}"
    );
    assert!(html.contains("BD-rate on PSNR (dB), 8-bit images"));
    assert!(html.contains("BD-rate (geomean)"));
    // The recommendation: one verdict per SSIMULACRA 2 level, each either naming the
    // cheapest configuration or saying no image can be compared.
    for level in ["70", "80", "90"] {
        let at = [" (", ": no image can be compared"].map(|t| format!("At SSIMULACRA2 {level}{t}"));
        let found = at.iter().filter_map(|a| html.find(a.as_str())).min();
        let line = &html[found.unwrap_or_else(|| panic!("no verdict at {level}"))..];
        let line = &line[..line.find("</").unwrap_or(line.len())];
        assert!(
            line.contains("needs the fewest bytes") || line.contains("no image can be compared"),
            "{line}"
        );
    }
    assert!(html.contains("<b>Lossless:</b> "));
    // bd.csv beside the report: exactly the documented columns, per-image rows and the three
    // aggregates per bit depth.
    let bd = std::fs::read_to_string(out.join("bd.csv")).unwrap();
    assert_eq!(
        bd.lines().next(),
        Some("metric,curve_a,curve_b,image,aggregate,bd_rate,bd_quality,points_a,points_b,overlap,warnings")
    );
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(bd.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    for agg in ["geomean", "mean", "median"] {
        assert!(
            rows.iter().any(|r| r[3] == "* (8-bit)" && r[4] == agg),
            "no {agg} row in {bd}"
        );
    }
    assert!(rows
        .iter()
        .any(|r| r[3].ends_with(".png") && r[4].is_empty() && !r[5].is_empty()));
    for f in ["rd-psnr", "rd-psnr-per-image", "speed"] {
        let svg = std::fs::read_to_string(out.join(format!("plots/{f}.svg"))).unwrap();
        assert!(svg.contains("<svg"));
        let png = std::fs::read(out.join(format!("plots/{f}.png"))).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert!(img.width() > 800 && img.height() > 400);
    }
}

#[test]
fn report_is_remade_from_the_run_folder_alone() {
    let dir = corpus();
    let out = run(dir.path(), &[]);
    let first = std::fs::read_to_string(out.join("report.html")).unwrap();
    // No saved files: the run made its crops by encoding the originals again.
    check_html(&first, true);
    assert!(first.contains("re-encoded"));

    // The report needs no codec and no corpus file: the corpus is gone.
    std::fs::remove_dir_all(dir.path().join("corpus")).unwrap();
    let again = dir.path().join("again");
    let assert = codecbench()
        .arg("report")
        .arg(out.join("results.csv"))
        .arg("--out")
        .arg(&again)
        .args(["--anchor", "webp", "--bd-method", "cubic"])
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("report.html") && stdout.contains("summary.md"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(again.join("report.html")).unwrap();
    check_html(&html, true);
    assert!(html.contains("re-encoded"));
    assert_eq!(crop_images(&html), crop_images(&first), "the same crops");
    assert!(html.contains("cubic polynomial fit (VCEG-M33)"));
    assert!(
        html.contains(" against webp:method=4, "),
        "the BD tables' anchor"
    );

    // Another --crop-bpp: the crops were chosen at equal quality (SSIMULACRA 2 was measured),
    // so the bpp does not matter and no note says otherwise.
    let other = dir.path().join("other-bpp");
    codecbench()
        .arg("report")
        .arg(&out)
        .args(["--crop-bpp", "1.5"])
        .arg("--out")
        .arg(&other)
        .assert()
        .success();
    let html = std::fs::read_to_string(other.join("report.html")).unwrap();
    check_html(&html, true);
    assert!(
        !visual(&html).contains("The crops were made at 0.5 bpp"),
        "{}",
        visual(&html)
    );
    assert!(visual(&html).contains("Visual comparison at SSIMULACRA2 80"));

    // results.csv copied alone into an empty folder: the report says the crops are absent
    // and how to get them.
    let alone = dir.path().join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::copy(out.join("results.csv"), alone.join("results.csv")).unwrap();
    codecbench()
        .arg("report")
        .arg(alone.join("results.csv"))
        .assert()
        .success();
    let html = std::fs::read_to_string(alone.join("report.html")).unwrap();
    check_html(&html, false);
    // minijinja escapes `/` as `&#x2f;` in text.
    let section = visual(&html).replace("&#x2f;", "/");
    let section = section.as_str();
    assert!(
        section.contains(&format!(
            "Crops are absent: {} does not exist.",
            alone.join("crops/crops.json").display()
        )),
        "{section}"
    );
    assert!(
        section.contains("re-run `codecbench run` without --no-report")
            && section.contains("--save-encoded"),
        "{section}"
    );

    // Two runs merged: the repeated cells are dropped with a warning.
    let assert = codecbench()
        .arg("report")
        .arg(&out)
        .arg(&out)
        .arg("--out")
        .arg(dir.path().join("merged"))
        .assert()
        .success();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("68 cell(s) already present"), "{stderr}");

    codecbench()
        .arg("report")
        .arg(out.join("results.csv"))
        .args(["--anchor", "avif"])
        .arg("--out")
        .arg(dir.path().join("x"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--anchor: no lossy codec configuration named \"avif\"",
        ));
    codecbench()
        .args(["report", "/nonexistent/results.csv"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("/nonexistent/results.csv"));
}

/// Issue 24: a page kept under a size limit embeds the crops of the images that fit, most
/// telling first, and references the others by their path relative to report.html; the page
/// says so and which flag embeds them; every referenced file exists; nothing is dropped.
#[test]
fn a_size_limit_embeds_some_crops_and_links_the_rest_by_relative_path() {
    let dir = corpus();
    let out = run(dir.path(), &[]);
    let first = std::fs::read_to_string(out.join("report.html")).unwrap();
    let all = viewer(&first);
    assert!(all["linked"].as_array().unwrap().is_empty());
    let bare = first.len()
        - all["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().len())
            .sum::<usize>();
    // Room for about two of the four images' crops.
    let image_bytes = (first.len() - bare) / 4;
    let limit = (bare + 64 * 1024 + image_bytes * 5 / 2) as f64 / 1e6;
    // Into another folder: the relative paths lead back to the run folder's crops/.
    let elsewhere = dir.path().join("elsewhere/page");
    codecbench()
        .arg("report")
        .arg(&out)
        .arg("--out")
        .arg(&elsewhere)
        .arg("--max-report-mb")
        .arg(format!("{limit:.6}"))
        .assert()
        .success();
    let html = std::fs::read_to_string(elsewhere.join("report.html")).unwrap();
    assert!(
        html.len() as f64 <= limit * 1e6,
        "{} bytes over {limit} MB",
        html.len()
    );
    let v = viewer(&html);
    let images = v["images"].as_array().unwrap();
    assert_eq!(images.len(), 4, "every image is in the viewer");
    let embedded: Vec<&serde_json::Value> =
        images.iter().filter(|i| i["embedded"] == true).collect();
    let linked = v["linked"].as_array().unwrap();
    assert!(
        !embedded.is_empty() && !linked.is_empty() && embedded.len() + linked.len() == 4,
        "{} embedded, {} linked",
        embedded.len(),
        linked.len()
    );
    assert_eq!(v["crops_url"], "../../run/crops/");
    let mut referenced = 0;
    for im in images {
        let mut names = vec![file(&v, &im["original"])];
        for c in im["cells"].as_array().unwrap() {
            names.push(file(&v, &c["src"]));
            names.push(file(&v, &c["heat"]));
        }
        assert!(names.len() > 2, "{} has crops", im["id"]);
        for n in names {
            if im["embedded"] == true {
                assert!(n.starts_with("data:image/webp;base64,"), "{n:.60}");
            } else {
                // A relative URL (the file names are plain: no escaping to undo) to a file
                // that exists.
                assert!(n.starts_with("../../run/crops/"), "{n}");
                assert!(elsewhere.join(&n).is_file(), "{n} does not exist");
                referenced += 1;
            }
        }
    }
    assert!(referenced > 0);
    // The page says which crops are loaded from where, and the flag that embeds them all.
    let visual = visual(&html);
    assert!(
        visual.contains("are loaded from the run folder&#x27;s crops/")
            || visual.contains("are loaded from the run folder's crops/"),
        "{visual:.2000}"
    );
    assert!(visual.contains("--max-report-mb"), "{visual:.2000}");
    for id in linked {
        assert!(visual.contains(id.as_str().unwrap()));
    }
    // The default limit embeds them all again, without touching the crops.
    codecbench()
        .arg("report")
        .arg(&out)
        .arg("--out")
        .arg(&elsewhere)
        .assert()
        .success();
    let again = viewer(&std::fs::read_to_string(elsewhere.join("report.html")).unwrap());
    assert!(again["linked"].as_array().unwrap().is_empty());
    // A limit that is not a size is refused, naming the flag.
    codecbench()
        .arg("report")
        .arg(&out)
        .arg("--max-report-mb")
        .arg("0")
        .assert()
        .failure()
        .stderr(predicates::str::contains("--max-report-mb"));
}

#[test]
fn a_run_without_report_saves_no_crops_and_its_report_says_so() {
    let dir = corpus();
    let out = run(dir.path(), &["--no-report"]);
    assert!(!out.join("report.html").exists(), "--no-report");
    assert!(!out.join("crops").exists(), "--no-report saves no crops");
    let again = dir.path().join("again");
    codecbench()
        .arg("report")
        .arg(&out)
        .arg("--out")
        .arg(&again)
        .assert()
        .success();
    let html = std::fs::read_to_string(again.join("report.html")).unwrap();
    check_html(&html, false);
    // run.json is there: the meta section is filled from it.
    assert!(html.contains("jobs / repeat"), "meta section");
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Process::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        // CI installs Chromium (.ci/run), so there this test always runs.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium installed"
        );
        eprintln!("chromium not installed: browser rendering not checked here");
        return;
    };
    let dir = corpus();
    let out = run(dir.path(), &["--save-encoded"]);
    let page = format!("file://{}", out.join("report.html").display());
    let profile = tempfile::tempdir().unwrap();
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let dom = Process::new(&browser)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--virtual-time-budget=3000", "--dump-dom"])
        .arg(&page)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("codecbench report") && dom.contains("Visual comparison"),
        "{dom:.500}"
    );
    let shot = out.join("screenshot.png");
    let status = Process::new(&browser)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--window-size=1400,2400", "--hide-scrollbars"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let img = image::open(&shot).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1400, 2400));
    // The header band is the report's dark blue, and the page has many distinct colours
    // (tables, swatches, plots), not a blank or error page.
    assert_eq!(img.get_pixel(5, 5).0, [0x1f, 0x3b, 0x57]);
    let mut colours: Vec<[u8; 3]> = img.pixels().step_by(97).map(|p| p.0).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 20, "{} colours", colours.len());
}

/// Issues 12 and 24: crops at equal quality, SSIMULACRA 2 80 (the web preset's middle
/// target): each configuration at the answer's uniform setting (the spec recommendation.json
/// names for that image) and, where it differs, at the cheapest setting meeting 80 on that
/// image (checked against results.csv); every crop has an error map, a caption with bytes,
/// bpp, every measured metric and the saving against the anchor; the viewer's controls and
/// script are in the page. Every SVG point has a tooltip.
#[test]
fn crops_are_at_equal_quality_with_all_metrics_and_controls_and_points_have_tooltips() {
    let dir = corpus();
    let out = run(dir.path(), &[]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let v = visual(&html);
    assert!(
        v.contains("Visual comparison at SSIMULACRA2 80"),
        "{v:.600}"
    );
    let manifest = codecbench::report::crops::read_manifest(&out)
        .unwrap()
        .unwrap();
    let q = manifest.quality.clone().expect("quality rule");
    assert_eq!(
        (q.metric.key, q.level, q.searched),
        ("ssimulacra2", 80.0, false)
    );
    let rows: Vec<codecbench::record::CellRecord> =
        codecbench::export::read_csv(&out.join("results.csv")).unwrap();
    let answer: codecbench::analysis::answer::Recommendation =
        serde_json::from_slice(&std::fs::read(out.join("recommendation.json")).unwrap()).unwrap();
    let at80 = answer.targets.iter().find(|t| t.target == 80.0).unwrap();
    use codecbench::report::crops::Role;
    let (mut uniform, mut tuned) = (0, 0);
    for img in &manifest.images {
        for c in &img.cells {
            let rec = rows
                .iter()
                .find(|r| r.image == img.image && r.spec == c.spec)
                .unwrap();
            let config = at80.configs.iter().find(|k| k.curve == rec.curve).unwrap();
            let u = config.uniform_cells.iter().find(|u| u.image == img.image);
            assert!(
                c.heatmap.is_some(),
                "{} {}: no error map",
                img.image,
                c.spec
            );
            match c.role {
                Role::Uniform => {
                    uniform += 1;
                    assert_eq!(Some(&c.spec), u.map(|u| &u.spec), "{}", img.image);
                }
                Role::PerImage => {
                    tuned += 1;
                    assert_ne!(Some(&c.spec), u.map(|u| &u.spec));
                    let meets = |r: &codecbench::record::CellRecord| r.ssimulacra2.unwrap() >= 80.0;
                    assert!(meets(rec), "{} {}", img.image, c.spec);
                    let cheapest = rows
                        .iter()
                        .filter(|r| r.image == img.image && r.curve == rec.curve && r.is_ok())
                        .filter(|r| meets(r))
                        .map(|r| r.bytes)
                        .min();
                    assert_eq!(cheapest.unwrap(), rec.bytes, "{} {}", img.image, c.spec);
                }
                Role::Level => assert!(
                    c.chosen.contains("never reaches"),
                    "{}: {}",
                    c.spec,
                    c.chosen
                ),
            }
        }
    }
    assert!(
        uniform + tuned >= 4,
        "{uniform} uniform, {tuned} tuned crops"
    );
    eprintln!("{tuned} per-image crops");
    // The viewer's captions: bytes, bpp, every measured metric, the saving against the anchor.
    let data = viewer(&html);
    let measured = codecbench::analysis::series::metrics_present(&rows);
    assert!(measured.len() >= 4, "the default metrics");
    let cells: Vec<&serde_json::Value> = data["images"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|im| im["cells"].as_array().unwrap())
        .collect();
    let listed: usize = manifest.images.iter().map(|i| i.cells.len()).sum();
    assert_eq!(cells.len(), listed);
    for c in &cells {
        assert!(c["bytes"].as_u64().unwrap() > 0 && c["bpp"].as_f64().unwrap() > 0.0);
        assert_eq!(c["metrics"].as_array().unwrap().len(), measured.len());
        assert!(file(&data, &c["heat"]).starts_with("data:image/webp;base64,"));
        // null only when the anchor has no crop on that image.
        assert!(
            c["vs_anchor"].is_number() || c["vs_anchor"].is_null(),
            "{c}"
        );
    }
    for control in [
        "id=\"v-left\"",
        "id=\"v-right\"",
        "id=\"v-heat\"",
        "data-zoom=\"8\"",
        "id=\"v-pos\"",
    ] {
        assert!(v.contains(control), "no {control}");
    }
    assert!(html.contains("image-rendering: pixelated"));
    // The controls' script is inline.
    assert!(
        html.contains("getElementById(\"viewer-data\")")
            && html.contains("getElementById(\"rd-data\")")
    );
    // Tooltips: every hover target of every plot has a <title>; the per-image PSNR plot has
    // one per successful lossy cell (2 codecs x 8 settings x 4 images).
    for svg in section(&html, "plots").split("<svg").skip(1) {
        let svg = &svg[..svg.find("</svg>").unwrap()];
        let targets = count(svg, "fill-opacity=\"0\" pointer-events=\"all\"><title>");
        // (A plot clipped to the quality band may have no point in it.)
        assert_eq!(targets, count(svg, "<title>"));
    }
    let per_image = std::fs::read_to_string(out.join("plots/rd-psnr-per-image.svg")).unwrap();
    assert_eq!(count(&per_image, "<title>"), 64);
    assert!(
        per_image.contains("<title>gray16.png\n"),
        "tooltip names the image"
    );
    // The recommended points are ringed and the legend says what a ring means (in the plots
    // that show a recommended setting).
    let ringed: Vec<String> = std::fs::read_dir(out.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .filter(|s| s.contains("(recommended)</title>"))
        .collect();
    // (summary.md is the answer card and one table since issue 24: the recommendation's
    // sections are read from report.html.)
    let md = std::fs::read_to_string(out.join("report.html")).unwrap();
    // (Only a level with a cheapest configuration has a recommended setting to ring; the
    // ring drawing itself is checked in plot.rs's unit test.)
    if md.contains("needs the fewest bytes") && md.contains("q≈") {
        assert!(!ringed.is_empty(), "no recommended point ringed");
    }
    for s in &ringed {
        assert!(s.contains("ringed: the recommended setting"));
    }
    assert!(md.contains("Settings: interpolated"), "{md:.800}");
    // The per-image section says how it differs from the answer card above it (issue 23).
    assert!(
        md.contains("Per-image tuning, not the answer:")
            && md.contains("ship the answer's setting"),
        "{md:.800}"
    );
}

/// Issue 12: on a `--target` run the recommendation, its tables and the crops use the
/// searched settings, labelled "searched". Before: always interpolated.
#[test]
fn a_target_run_recommends_from_the_searched_settings() {
    let dir = corpus();
    let out = run(dir.path(), &["--target", "ssimulacra2=70,80"]);
    // summary.md is the answer card and one table since issue 24: the sections are in
    // report.html.
    let md = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(md.contains("Settings: searched"), "{md:.1200}");
    assert!(md.contains("Bytes at equal quality: SSIMULACRA2 80 (searched)"));
    assert!(md.contains("(searched: the target search's settings)"));
    assert!(!md.contains("(interpolated)"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Bytes at equal quality: SSIMULACRA2 80 (searched)"));
    // The table's totals are the searched bytes of targets.csv over the comparable images.
    let targets: Vec<codecbench::target::TargetRow> =
        codecbench::export::read_csv(&out.join("targets.csv")).unwrap();
    let manifest = codecbench::report::crops::read_manifest(&out)
        .unwrap()
        .unwrap();
    let q = manifest.quality.clone().unwrap();
    assert_eq!((q.level, q.searched), (80.0, true));
    let mut searched = 0;
    for img in &manifest.images {
        for c in &img.cells {
            if c.chosen.starts_with("searched: meets SSIMULACRA2 80") {
                searched += 1;
                let t = targets
                    .iter()
                    .find(|t| {
                        t.image == img.image
                            && t.target == 80.0
                            && c.spec.starts_with(&t.curve[..4])
                    })
                    .unwrap();
                // bpp is read back from two CSV files: equal to 1e-12.
                let tb = t.bpp.unwrap();
                assert!((c.bpp - tb).abs() <= 1e-12 * tb, "{} {}", img.image, c.spec);
                assert_eq!(c.bytes, t.bytes);
            }
        }
    }
    let met = targets
        .iter()
        .filter(|t| t.target == 80.0 && t.status == codecbench::target::TargetStatus::Met)
        .count();
    assert!(met > 0, "{searched} searched crops, {met} met");
    assert!(searched > 0);
}
