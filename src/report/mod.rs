//! The report: plots (SVG and PNG), BD-rate tables, `report.html` (one self-contained file) and
//! `summary.md`, made from the files of a run folder alone (result rows, run.json and the crops
//! `run` saved), so a report can be remade, or made from merged runs, without any codec or
//! corpus file.

pub mod answer;
pub mod bd;
pub mod crops;
mod details;
mod html;
mod lossless;
mod markdown;
pub mod markup;
mod recommend;
mod viewer;

use std::path::{Path, PathBuf};

use crate::analysis::bdrate::Interp;
use crate::analysis::summary::summarize;
use crate::export::write_file;
use crate::plot::{Figure, Panel, Series};
use crate::record::CellRecord;
use crate::run_dir::RunDir;
use crate::run_meta::RunMeta;

use crate::analysis::series::{
    corpus_points, curves, image_points, images, metrics_present, speed_points, Curve,
};

/// Per-image and aggregate BD values of every pair of lossy curves, written beside the report.
pub const BD_CSV: &str = "bd.csv";

/// How to make a report.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Folder to write into.
    pub out: PathBuf,
    /// The run folder: its `crops/` holds the visual comparison crops the run saved.
    pub run_dir: PathBuf,
    /// Anchor codec (name or curve) for BD tables; default: the first lossy curve.
    pub anchor: Option<String>,
    /// BD interpolation (default PCHIP).
    pub interp: Interp,
    /// Target bits per pixel of the visual comparison crops (default 0.5); the report shows
    /// the crops the run saved and says so when they were made at another bpp.
    pub crop_bpp: f64,
    /// run.json of the run, if there is one.
    pub meta: Option<RunMeta>,
    /// The preset the answer is given for (`None`: the run's `--preset` from run.json's
    /// command, else the web preset).
    pub preset: Option<&'static crate::config::Preset>,
    /// Percent of the images the answer's single setting must meet the target on (100).
    pub coverage: f64,
    /// Size limit of report.html in MB (10^6 bytes; default [`MAX_REPORT_MB`]): crops are
    /// embedded, most useful first, while the page stays under it; the others are loaded
    /// from the run folder's crops/ when shown.
    pub max_report_mb: f64,
}

pub use viewer::MAX_PAGE_MB as MAX_REPORT_MB;

/// One plot, kept as SVG text and as files.
pub struct Plot {
    pub id: String,
    pub title: String,
    pub svg: String,
}

/// Everything the HTML and Markdown writers show.
pub struct Report<'a> {
    pub records: &'a [CellRecord],
    pub opts: &'a ReportOptions,
    pub curves: Vec<Curve>,
    pub anchor: usize,
    pub bd: Vec<bd::BdMatrix>,
    pub plots: Vec<Plot>,
    /// The crops saved in the run folder (never made here).
    pub crops: crops::Crops,
    /// The run folder's targets.csv (a `--target` run), if it has one that could be read.
    pub targets: Option<Vec<crate::target::TargetRow>>,
    /// Why targets.csv was not used, when it exists but cannot be read.
    pub target_note: Option<String>,
    /// The answer (recommendation.json).
    pub answer: Option<crate::analysis::answer::Recommendation>,
}

pub use crate::run_dir::TARGETS_CSV;

/// Reads `<run_dir>/targets.csv`: `(None, None)` when absent, `(None, Some(why))` when it
/// cannot be read (the report then interpolates and says so).
pub fn read_targets(run_dir: &Path) -> (Option<Vec<crate::target::TargetRow>>, Option<String>) {
    match RunDir::new(run_dir).read_targets() {
        Ok(rows) => (rows, None),
        Err(e) => (
            None,
            Some(format!(
                "{e}; the target search's results are not used (settings interpolated instead)"
            )),
        ),
    }
}

const PANEL: (u32, u32) = (620, 430);
const SMALL: (u32, u32) = (400, 300);

fn legend(curves: &[Curve]) -> Vec<(String, usize)> {
    curves.iter().map(|c| (c.name.clone(), c.color)).collect()
}

/// The tooltip of a plotted point: where it comes from, the spec, bpp and every metric of the
/// cell (per image), or the plotted mean (corpus).
fn tip(
    records: &[CellRecord],
    image: Option<&str>,
    curve: &str,
    setting: Option<f64>,
    (bpp, q): (f64, f64),
    m: &crate::metrics::MetricDef,
    n_images: usize,
) -> String {
    let rec = records.iter().find(|r| {
        r.curve == curve
            && r.setting == setting
            && !r.lossless
            && image.is_none_or(|i| r.image == i)
    });
    let spec = rec.map_or(curve, |r| r.spec.as_str());
    match (image, rec) {
        (Some(img), Some(r)) => {
            let scores: Vec<String> = metrics_present(records)
                .iter()
                .filter_map(|m| {
                    (m.get)(r).map(|v| format!("{} {v:.prec$}", m.axis_label(), prec = m.decimals))
                })
                .collect();
            format!(
                "{img}\n{spec}\nbpp {bpp:.4}, {} bytes\n{}",
                r.bytes.map_or("-".into(), |b| b.to_string()),
                scores.join("\n")
            )
        }
        _ => format!(
            "corpus (mean over {n_images} images)\n{spec}\nbpp {bpp:.4}\n{} {q:.prec$}",
            m.axis_label(),
            prec = m.decimals
        ),
    }
}

/// The plotted series of `curve`: its points, their tooltips (`image` `None`: corpus means
/// over `n_images`) and the points `marks` rings.
fn series(
    records: &[CellRecord],
    image: Option<&str>,
    curve: &Curve,
    pts: &[crate::analysis::series::Point],
    m: &crate::metrics::MetricDef,
    n_images: usize,
    marks: &[(String, f64)],
) -> Series {
    let settings: Vec<Option<f64>> = pts.iter().map(|p| p.setting).collect();
    Series {
        label: curve.name.clone(),
        color: curve.color,
        points: pts.iter().map(|p| (p.bpp, p.quality)).collect(),
        tips: pts
            .iter()
            .map(|p| {
                let at = (p.bpp, p.quality);
                tip(records, image, &curve.name, p.setting, at, m, n_images)
            })
            .collect(),
        marked: marked(marks, &curve.name, &settings),
    }
}

/// Indices of `points` (with settings `settings`) that `marks` names for `curve`.
fn marked(marks: &[(String, f64)], curve: &str, settings: &[Option<f64>]) -> Vec<usize> {
    settings
        .iter()
        .enumerate()
        .filter(|(_, s)| marks.iter().any(|(c, m)| c == curve && Some(*m) == **s))
        .map(|(i, _)| i)
        .collect()
}

/// Builds every figure: corpus RD per metric, per-image small multiples per metric, speed.
/// `marks` (curve, setting) are the recommended points, ringed in the rate-distortion plots.
fn figures(
    records: &[CellRecord],
    curves: &[Curve],
    marks: &[(String, f64)],
    mark_note: Option<String>,
    band: (&str, (f64, f64)),
) -> Vec<(String, Figure)> {
    // The preset's quality band, on its metric: what such images ship at, so the curves
    // are not squeezed by a few very low-quality points.
    let band_of = |m: &crate::metrics::MetricDef| (m.key == band.0).then_some(band.1);
    let lossy: Vec<&Curve> = curves.iter().filter(|c| !c.lossless).collect();
    let lossy_owned: Vec<Curve> = lossy.iter().map(|c| (*c).clone()).collect();
    let mut out = Vec::new();
    let depths = crate::analysis::pairs::bit_depths(records);
    for m in metrics_present(records) {
        // Corpus curves average images of one bit depth only: 8-bit and 16-bit scores live on
        // different scales. The lowest depth keeps the plain id.
        for (k, &d) in depths.iter().enumerate() {
            let group: Vec<CellRecord> = records
                .iter()
                .filter(|r| r.bit_depth == d)
                .cloned()
                .collect();
            let mut n_images = 0;
            let series: Vec<Series> = lossy
                .iter()
                .map(|c| {
                    let (pts, n) = corpus_points(&group, &c.name, m);
                    n_images = n_images.max(n);
                    series(&group, None, c, &pts, m, n, marks)
                })
                .collect();
            if n_images == 0 && k > 0 {
                continue;
            }
            let depth = crate::analysis::pairs::depth_label(d);
            out.push((
                if k == 0 {
                    format!("rd-{}", m.column)
                } else {
                    format!("rd-{}-{d}bit", m.column)
                },
                Figure {
                    title: format!(
                        "Rate-distortion over the {depth} images: {}",
                        m.axis_label()
                    ),
                    panels: vec![Panel {
                        title: format!("mean over {n_images} {depth} images at each setting"),
                        x_label: "bits per pixel, mean over images".into(),
                        y_label: format!("{}, mean over images", m.axis_label()),
                        series,
                        log_y: false,
                        y_range: band_of(m),
                    }],
                    columns: 1,
                    panel_size: PANEL,
                    legend: legend(&lossy_owned),
                    mark_note: mark_note.clone(),
                },
            ));
        }
        let panels = images(records)
            .iter()
            .map(|img| Panel {
                title: img.clone(),
                x_label: "bits per pixel".into(),
                y_label: m.axis_label(),
                series: lossy
                    .iter()
                    .map(|c| {
                        let pts = image_points(records, img, &c.name, m);
                        series(records, Some(img), c, &pts, m, 1, marks)
                    })
                    .collect(),
                log_y: false,
                y_range: band_of(m),
            })
            .collect();
        out.push((
            format!("rd-{}-per-image", m.column),
            Figure {
                title: format!("Rate-distortion per image: {}", m.axis_label()),
                panels,
                columns: 3,
                panel_size: SMALL,
                legend: legend(&lossy_owned),
                mark_note: mark_note.clone(),
            },
        ));
    }
    out.push((
        "speed".into(),
        Figure {
            title: "Encode speed against size (mean over images at each setting)".into(),
            panels: vec![Panel {
                title: "encode time per megapixel".into(),
                x_label: "bits per pixel, mean over images".into(),
                y_label: "encode ms per megapixel (log scale)".into(),
                series: curves
                    .iter()
                    .map(|c| {
                        let points = speed_points(records, &c.name);
                        Series {
                            label: c.name.clone(),
                            color: c.color,
                            tips: points
                                .iter()
                                .map(|(bpp, ms)| {
                                    format!(
                                        "corpus (mean over images)\n{}\nbpp {bpp:.4}\nencode {ms:.1} ms/MP",
                                        c.name
                                    )
                                })
                                .collect(),
                            points,
                            marked: Vec::new(),
                        }
                    })
                    .collect(),
                log_y: true,
                y_range: None,
            }],
            columns: 1,
            panel_size: PANEL,
            legend: legend(curves),
            mark_note: None,
        },
    ));
    out
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no lossy codec configuration named \"{wanted}\" (have: {have})")]
    Anchor { wanted: String, have: String },
    #[error("cannot create {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot draw a plot")]
    Plot(#[source] crate::plot::PlotError),
    #[error("report size limit {mb} MB is not a positive size")]
    MaxSize { mb: f64 },
    #[error(transparent)]
    Output(#[from] crate::export::OutputError),
}

/// Writes report.html, summary.md and plots/ into `opts.out`; returns the files written.
pub fn write_report(
    records: &[CellRecord],
    opts: &ReportOptions,
) -> Result<Vec<PathBuf>, ReportError> {
    // The target search's probe cells are left out (see `target::swept`).
    let all = records;
    let swept = crate::target::swept(records);
    let records: &[CellRecord] = &swept;
    let curves = curves(records);
    let lossy: Vec<Curve> = curves.iter().filter(|c| !c.lossless).cloned().collect();
    let anchor = bd::anchor_index(&lossy, opts.anchor.as_deref())?;
    if !(opts.max_report_mb.is_finite() && opts.max_report_mb > 0.0) {
        return Err(ReportError::MaxSize {
            mb: opts.max_report_mb,
        });
    }
    let plots_dir = opts.out.join("plots");
    std::fs::create_dir_all(&plots_dir).map_err(|source| ReportError::Folder {
        path: plots_dir.clone(),
        source,
    })?;
    let mut files = Vec::new();
    let mut plots = Vec::new();
    // Rendering is independent per figure: use every core.
    use rayon::prelude::*;
    let (targets, target_note) = read_targets(&opts.run_dir);
    let levels = recommend::levels_of(records, &curves, anchor, targets.as_deref());
    let marks = levels
        .as_ref()
        .map_or_else(Vec::new, |(_, l, _)| recommend::marks(records, l));
    let mark_note = levels.as_ref().map(|(m, l, b)| {
        format!(
            "ringed: the recommended setting ({}) of the cheapest configuration at {} {}: the \
             swept setting nearest the median of its per-image settings",
            b.label(),
            m.name,
            l.iter()
                .map(|x| x.level.to_string())
                .collect::<Vec<_>>()
                .join("/")
        )
    });
    let preset = opts.preset.unwrap_or_else(|| {
        opts.meta.as_ref().map_or(&crate::config::PRESETS[0], |m| {
            crate::analysis::crop_cells::preset_of_command(&m.command)
        })
    });
    let mut figs = figures(
        records,
        &curves,
        &marks,
        mark_note,
        (preset.metric, preset.band),
    );
    // The full range on request: beside each plot clipped to the band, `<id>-full`.
    let full: Vec<(String, Figure)> = figs
        .iter()
        .filter(|(_, f)| f.panels.iter().any(|p| p.y_range.is_some()))
        .map(|(id, f)| {
            let mut f = f.clone();
            f.panels.iter_mut().for_each(|p| p.y_range = None);
            f.title = format!("{} (full range)", f.title);
            (format!("{id}-full"), f)
        })
        .collect();
    let n_shown = figs.len();
    figs.extend(full);
    let rendered: Vec<(String, Figure, String, Vec<u8>)> = figs
        .into_par_iter()
        .map(|(id, fig)| {
            let svg = fig.svg().map_err(ReportError::Plot)?;
            let png = fig.png().map_err(ReportError::Plot)?;
            Ok((id, fig, svg, png))
        })
        .collect::<Result<_, ReportError>>()?;
    for (k, (id, fig, svg, png)) in rendered.into_iter().enumerate() {
        for (ext, bytes) in [("svg", svg.as_bytes()), ("png", png.as_slice())] {
            let p = plots_dir.join(format!("{id}.{ext}"));
            write_file(&p, bytes)?;
            files.push(p);
        }
        if k >= n_shown {
            continue;
        }
        plots.push(Plot {
            id,
            title: fig.title.clone(),
            svg,
        });
    }
    let metrics = metrics_present(records);
    let depths = crate::analysis::pairs::bit_depths(records);
    let bd = metrics
        .iter()
        .flat_map(|m| depths.iter().map(move |d| (*m, *d)))
        .map(|(m, d)| bd::matrix(records, &curves, m, d, opts.interp))
        .collect();
    let bd_csv = opts.out.join(BD_CSV);
    crate::export::write_csv(
        &bd_csv,
        &crate::analysis::pairs::bd_rows(records, &metrics, &curves, opts.interp),
    )?;
    files.push(bd_csv);
    // Crops may show probe cells (the setting the target search found): they are looked up
    // among all rows.
    let crops = crops::load(&opts.run_dir, all, &curves, opts.crop_bpp);
    let report = Report {
        records,
        opts,
        curves,
        anchor,
        bd,
        plots,
        crops,
        targets,
        target_note,
        answer: None,
    };
    let summary = summarize(records);
    let answer = answer::make(all, &report);
    let rec_path = opts.out.join(answer::RECOMMENDATION_JSON);
    crate::export::write_json(&rec_path, &answer)?;
    files.push(rec_path);
    let report = Report {
        answer: Some(answer),
        ..report
    };
    let html_path = opts.out.join("report.html");
    write_file(&html_path, html::render(&report, &summary).as_bytes())?;
    files.push(html_path);
    let md_path = opts.out.join("summary.md");
    write_file(&md_path, markdown::render(&report, &summary).as_bytes())?;
    files.push(md_path);
    Ok(files)
}

/// Results read for a report: the rows, the first run's run.json, the first run's folder
/// (where the crops are read from), and warnings about dropped duplicates and unreadable
/// run.json files.
pub struct Loaded {
    pub records: Vec<CellRecord>,
    pub meta: Option<RunMeta>,
    pub run_dir: PathBuf,
    pub warnings: Vec<String>,
}

/// Reads results.csv files (or run folders holding one) and merges them; a cell (image hash
/// and spec) that appears again is dropped with a warning. A run.json that is absent is no
/// error (results.csv may have been copied alone); one that cannot be read is a warning.
pub fn load_results(inputs: &[PathBuf]) -> Result<Loaded, crate::export::OutputError> {
    let mut records: Vec<CellRecord> = Vec::new();
    // Cells already taken, by (image hash, image id, spec): merged runs can be large.
    let mut seen = std::collections::HashSet::new();
    let mut meta: Option<RunMeta> = None;
    let mut run_dir = None;
    let mut warnings = Vec::new();
    for input in inputs {
        let csv = RunDir::results_file(input);
        let dir = RunDir::of(&csv).path().to_path_buf();
        let rows: Vec<CellRecord> = RunDir::read_results_at(&csv)?;
        let mut dropped = 0;
        for r in rows {
            let key = (r.image_hash.clone(), r.image.clone(), r.spec.clone());
            if seen.insert((key, r.label.clone())) {
                records.push(r);
            } else {
                dropped += 1;
            }
        }
        if dropped > 0 {
            warnings.push(format!(
                "{}: {dropped} cell(s) already present in an earlier input; kept the first",
                csv.display()
            ));
        }
        if meta.is_none() && run_dir.is_none() && RunDir::new(&dir).run_json().exists() {
            match RunDir::new(&dir).read_meta() {
                Ok(m) => meta = Some(m),
                Err(e) => warnings.push(format!("{e}; the report leaves the run's details out")),
            }
        }
        run_dir.get_or_insert(dir);
    }
    Ok(Loaded {
        records,
        meta,
        run_dir: run_dir.unwrap_or_else(|| PathBuf::from(".")),
        warnings,
    })
}
