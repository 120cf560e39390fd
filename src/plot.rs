//! Charts drawn with plotters as plain functions: a figure is one or more panels of lines with
//! markers and a legend column of its own (so it never covers a curve), rendered to SVG and PNG.
//! Text uses the bundled DejaVu Sans, so headless machines render the same as desktops.

use plotters::coord::Shift;
use plotters::prelude::*;

/// Why a figure could not be drawn. plotters' drawing errors are generic over the backend, so
/// their text is kept as the message.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("drawing the plot: {0}")]
    Draw(String),
    #[error("plotters wrote an SVG without </svg>")]
    NoSvgEnd,
    #[error("encoding the plot as PNG: {0}")]
    Png(#[source] image::ImageError),
}

/// DejaVu Sans (Bitstream Vera license, see assets/DejaVuSans-LICENSE.txt).
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Colour-blind-friendly categorical palette (Tableau 10), then darker variants.
const PALETTE: &[(u8, u8, u8)] = &[
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (15, 60, 90),
    (128, 64, 7),
    (22, 80, 22),
    (107, 20, 20),
];

/// The colour of series `i` (stable: callers index by the curve's place in the whole run).
pub fn color(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// CSS hex of [`color`], for HTML tables that match the plots.
pub fn color_hex(i: usize) -> String {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// One line with markers.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub label: String,
    pub color: usize,
    pub points: Vec<(f64, f64)>,
    /// Tooltip of each point (the SVG's `<title>`); a point without one gets its label and
    /// coordinates.
    pub tips: Vec<String>,
    /// Points drawn with a ring (e.g. the recommended settings): indices into `points`.
    pub marked: Vec<usize>,
}

/// One set of axes.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Logarithmic y axis (x is logarithmic whenever its range spans more than a decade).
    pub log_y: bool,
    /// Show only this y range (a quality band): points outside it are left out, and the x
    /// axis spans the points inside it. `None`: every point.
    pub y_range: Option<(f64, f64)>,
}

/// A whole picture: a title, panels in a grid, and a legend.
#[derive(Clone, Debug, Default)]
pub struct Figure {
    pub title: String,
    pub panels: Vec<Panel>,
    pub columns: usize,
    pub panel_size: (u32, u32),
    /// (label, colour index), in order.
    pub legend: Vec<(String, usize)>,
    /// What a ringed point means, shown under the legend when some point is ringed.
    pub mark_note: Option<String>,
}

/// A point's place in the picture and its tooltip, for the SVG's hover targets.
struct Hover {
    x: i32,
    y: i32,
    tip: String,
}

/// Wide enough for 60 characters of curve name (jpeg curves are 54 since `arithmetic` joined).
const LEGEND_W: u32 = 480;
const TITLE_H: u32 = 40;

impl Figure {
    fn size(&self) -> (u32, u32) {
        let cols = self.columns.max(1).min(self.panels.len().max(1)) as u32;
        let rows = self.panels.len().div_ceil(cols as usize).max(1) as u32;
        (
            cols * self.panel_size.0 + LEGEND_W,
            rows * self.panel_size.1 + TITLE_H,
        )
    }

    /// The figure as an SVG document.
    pub fn svg(&self) -> Result<String, PlotError> {
        // Text is measured with the font even when the SVG only names it.
        register_font();
        let mut s = String::new();
        let hovers;
        {
            let root = SVGBackend::with_string(&mut s, self.size()).into_drawing_area();
            hovers = self.draw(&root)?;
            root.present().map_err(|e| PlotError::Draw(e.to_string()))?;
        }
        // plotters' SVG has no tooltips: every point gets an invisible hover target with a
        // <title>, drawn last so it is on top.
        let mut g = String::from("<g class=\"points\">");
        for h in &hovers {
            g.push_str(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"6\" fill=\"#000\" fill-opacity=\"0\" pointer-events=\"all\"><title>{}</title></circle>",
                h.x,
                h.y,
                xml_escape(&h.tip)
            ));
        }
        g.push_str("</g>\n");
        match s.rfind("</svg>") {
            Some(i) => s.insert_str(i, &g),
            None => return Err(PlotError::NoSvgEnd),
        }
        Ok(s)
    }

    /// The figure as PNG bytes.
    pub fn png(&self) -> Result<Vec<u8>, PlotError> {
        register_font();
        let (w, h) = self.size();
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(|e| PlotError::Draw(e.to_string()))?;
        }
        let mut out = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut out),
            &buf,
            w,
            h,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(PlotError::Png)?;
        Ok(out)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<Vec<Hover>, PlotError> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| PlotError::Draw(e.to_string());
        root.fill(&WHITE).map_err(err)?;
        let (w, _) = self.size();
        let (top, body) = root.split_vertically(TITLE_H);
        top.draw(&Text::new(
            self.title.clone(),
            (12, 10),
            (FAMILY, 22).into_font().color(&BLACK),
        ))
        .map_err(err)?;
        let (grid, legend) = body.split_horizontally(w - LEGEND_W);
        let cols = self.columns.max(1).min(self.panels.len().max(1));
        let rows = self.panels.len().div_ceil(cols).max(1);
        let mut hovers = Vec::new();
        for (panel, area) in self.panels.iter().zip(grid.split_evenly((rows, cols))) {
            hovers.extend(draw_panel(&area, panel)?);
        }
        for (i, (label, c)) in self.legend.iter().enumerate() {
            let y = 20 + 24 * i as i32;
            let col = color(*c);
            legend
                .draw(&PathElement::new(
                    vec![(10, y), (40, y)],
                    col.stroke_width(3),
                ))
                .map_err(err)?;
            legend
                .draw(&Circle::new((25, y), 4, col.filled()))
                .map_err(err)?;
            legend
                .draw(&Text::new(
                    ellipsize(label, 60),
                    (48, y - 8),
                    (FAMILY, 14).into_font().color(&BLACK),
                ))
                .map_err(err)?;
        }
        let ringed = self
            .panels
            .iter()
            .any(|p| p.series.iter().any(|s| !s.marked.is_empty()));
        if let (Some(note), true) = (&self.mark_note, ringed) {
            let y = 20 + 24 * self.legend.len() as i32 + 8;
            legend
                .draw(&Circle::new((25, y), 7, BLACK.stroke_width(2)))
                .map_err(err)?;
            for (k, line) in wrap(note, 52).iter().enumerate() {
                legend
                    .draw(&Text::new(
                        line.clone(),
                        (48, y - 8 + 18 * k as i32),
                        (FAMILY, 13).into_font().color(&BLACK),
                    ))
                    .map_err(err)?;
            }
        }
        Ok(hovers)
    }
}

/// Splits `s` into lines of at most about `n` characters at spaces.
fn wrap(s: &str, n: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in s.split_whitespace() {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= n => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Escapes text for an SVG element's content.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn ellipsize(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n - 3).collect::<String>())
    }
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Only fails for a corrupt font file, which include_bytes! rules out.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Data range of the finite values, padded; positive-only for log axes.
fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let v: Vec<f64> = values
        .filter(|x| x.is_finite() && (!log || *x > 0.0))
        .collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let (lo, hi) = if hi / lo < 1.01 {
            (lo / 1.5, hi * 1.5)
        } else {
            (lo, hi)
        };
        (lo / 1.15, hi * 1.15)
    } else {
        let pad = if hi > lo {
            (hi - lo) * 0.06
        } else {
            lo.abs().max(1.0) * 0.05
        };
        (lo - pad, hi + pad)
    }
}

/// Tick positions in axis coordinates (log10 of the value on a log axis): 1-2-5 steps on a
/// linear axis, 1-2-5 (or finer, on a short span) multiples of powers of ten on a log axis.
/// plotters' own log axis leaves the part below the first power of ten unlabelled, so log
/// axes are drawn as linear axes over log10 values with these ticks.
fn ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    if log {
        let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
        let within = |ms: &[f64]| -> Vec<f64> {
            let mut v = Vec::new();
            for k in (lo.floor() as i32 - 1)..=(hi.ceil() as i32) {
                for m in ms {
                    let x = m * 10f64.powi(k);
                    if x >= a && x <= b {
                        v.push(x.log10());
                    }
                }
            }
            v
        };
        let coarse = within(&[1.0, 2.0, 5.0]);
        if coarse.len() >= 4 {
            coarse
        } else {
            within(&[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0])
        }
    } else {
        let raw = (hi - lo) / 8.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        let mut v = Vec::new();
        let mut t = (lo / step).ceil() * step;
        while t <= hi + step * 1e-9 {
            v.push(t);
            t += step;
        }
        v
    }
}

/// A tick label with at most three significant digits and no trailing zeros.
fn tick_label(v: f64, log: bool) -> String {
    let x = if log { 10f64.powf(v) } else { v };
    if x == 0.0 || !x.is_finite() {
        return "0".into();
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A linear axis over axis coordinates with our own ticks (see [`ticks`]).
#[derive(Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Axis {
    fn new(lo: f64, hi: f64, log: bool) -> Self {
        Axis {
            lo,
            hi,
            ticks: ticks(lo, hi, log),
        }
    }
}

impl Ranged for Axis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        limit.0 + ((limit.1 - limit.0) as f64 * t).round() as i32
    }
    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, _: H) -> Vec<f64> {
        self.ticks.clone()
    }
    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
) -> Result<Vec<Hover>, PlotError> {
    let keep = |y: f64| p.y_range.is_none_or(|(lo, hi)| y >= lo && y <= hi);
    let all = || {
        p.series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|q| keep(q.1))
    };
    let (xlo, xhi) = range(all().map(|q| q.0), true);
    let log_x = xhi / xlo > 10.0;
    let to_axis = |v: f64, log: bool| if log { v.log10() } else { v };
    let (xlo, xhi) = if log_x {
        (xlo.log10(), xhi.log10())
    } else {
        range(all().map(|q| q.0), false)
    };
    let (ylo, yhi) = match p.y_range {
        Some((lo, hi)) if !p.log_y && hi > lo => (lo - (hi - lo) * 0.03, hi + (hi - lo) * 0.03),
        _ => range(all().map(|q| q.1), p.log_y),
    };
    let (ylo, yhi) = if p.log_y {
        (ylo.log10(), yhi.log10())
    } else {
        (ylo, yhi)
    };
    let x_label = if log_x {
        format!("{} (log scale)", p.x_label)
    } else {
        p.x_label.clone()
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FAMILY, 17))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(Axis::new(xlo, xhi, log_x), Axis::new(ylo, yhi, p.log_y))
        .map_err(|e| PlotError::Draw(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_label_formatter(&|v| tick_label(*v, log_x))
        .y_label_formatter(&|v| tick_label(*v, p.log_y))
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(|e| PlotError::Draw(e.to_string()))?;
    let mut hovers = Vec::new();
    for s in &p.series {
        // (index, axis point) of the points that can be drawn.
        let pts: Vec<(usize, (f64, f64))> = s
            .points
            .iter()
            .enumerate()
            .filter(|(_, (x, y))| {
                x.is_finite()
                    && y.is_finite()
                    && keep(*y)
                    && (!log_x || *x > 0.0)
                    && (!p.log_y || *y > 0.0)
            })
            .map(|(i, &(x, y))| (i, (to_axis(x, log_x), to_axis(y, p.log_y))))
            .collect();
        let col = color(s.color);
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|q| q.1).collect::<Vec<_>>(),
                col.stroke_width(2),
            ))
            .map_err(|e| PlotError::Draw(e.to_string()))?;
        chart
            .draw_series(pts.iter().map(|&(_, q)| Circle::new(q, 3, col.filled())))
            .map_err(|e| PlotError::Draw(e.to_string()))?;
        chart
            .draw_series(
                pts.iter()
                    .filter(|(i, _)| s.marked.contains(i))
                    .map(|&(_, q)| Circle::new(q, 8, col.stroke_width(3))),
            )
            .map_err(|e| PlotError::Draw(e.to_string()))?;
        for &(i, q) in &pts {
            let (x, y) = chart.backend_coord(&q);
            let tip = s.tips.get(i).cloned().unwrap_or_else(|| {
                format!(
                    "{}: x {:.4}, y {:.4}",
                    s.label, s.points[i].0, s.points[i].1
                )
            });
            let tip = if s.marked.contains(&i) {
                format!("{tip}\n(recommended)")
            } else {
                tip
            };
            hovers.push(Hover { x, y, tip });
        }
    }
    Ok(hovers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(panels: usize) -> Figure {
        let s = |c: usize, k: f64| Series {
            label: format!("codec {c}"),
            color: c,
            points: (1..=5)
                .map(|i| (0.05 * 3f64.powi(i), 25.0 + k * i as f64))
                .collect(),
            tips: (1..=5).map(|i| format!("codec {c} point {i}")).collect(),
            marked: vec![2],
        };
        Figure {
            title: "Rate-distortion".into(),
            panels: (0..panels)
                .map(|i| Panel {
                    title: format!("image {i}"),
                    x_label: "bits per pixel".into(),
                    y_label: "PSNR (dB)".into(),
                    series: vec![s(0, 2.0), s(1, 2.5)],
                    log_y: false,
                    y_range: None,
                })
                .collect(),
            columns: 2,
            panel_size: (400, 300),
            legend: vec![("codec 0".into(), 0), ("codec 1".into(), 1)],
            mark_note: Some("ringed: recommended".into()),
        }
    }

    #[test]
    fn a_y_range_leaves_out_the_points_outside_it() {
        let mut f = figure(1);
        // Codec 0's y: 27, 29, 31, 33, 35; codec 1's: 27.5 .. 37.5. Band 28..33.
        f.panels[0].y_range = Some((28.0, 33.0));
        let svg = f.svg().unwrap();
        assert_eq!(svg.matches("<title>").count(), 3 + 2, "{svg}");
        assert!(svg.contains("<title>codec 0 point 2</title>"));
        assert!(!svg.contains("<title>codec 0 point 1</title>"));
    }

    #[test]
    fn every_svg_point_has_a_tooltip_and_marked_points_a_ring() {
        let svg = figure(2).svg().unwrap();
        // 2 panels x 2 series x 5 points, each with its own <title>.
        assert_eq!(svg.matches("<title>").count(), 20);
        assert!(svg.contains("<title>codec 1 point 3\n(recommended)</title>"));
        assert!(svg.contains("ringed: recommended"));
        // Rings: radius-8 circles, one per series and panel.
        assert_eq!(svg.matches("r=\"8\"").count(), 4, "{svg}");
    }

    #[test]
    fn svg_has_title_axes_labels_and_both_curves() {
        let svg = figure(1).svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        for text in [
            "Rate-distortion",
            "bits per pixel (log scale)",
            "PSNR (dB)",
            "codec 1",
        ] {
            assert!(svg.contains(text), "missing {text}");
        }
        assert!(svg.contains(&color_hex(0).to_uppercase()) || svg.contains(&color_hex(0)));
    }

    #[test]
    fn ticks_cover_the_range_with_readable_labels() {
        let t: Vec<String> = ticks(0.13f64.log10(), 1.9f64.log10(), true)
            .iter()
            .map(|v| tick_label(*v, true))
            .collect();
        // Less than two decades: the finer 1-1.5-2-3-4-5-6-8 set, so every part is labelled.
        assert_eq!(
            t,
            ["0.15", "0.2", "0.3", "0.4", "0.5", "0.6", "0.8", "1", "1.5"]
        );
        let wide: Vec<String> = ticks(0.01f64.log10(), 30f64.log10(), true)
            .iter()
            .map(|v| tick_label(*v, true))
            .collect();
        assert_eq!(wide.first().map(String::as_str), Some("0.01"));
        assert!(wide.contains(&"20".to_string()), "{wide:?}");
        let lin: Vec<String> = ticks(27.3, 42.1, false)
            .iter()
            .map(|v| tick_label(*v, false))
            .collect();
        assert_eq!(lin, ["28", "30", "32", "34", "36", "38", "40", "42"]);
    }

    #[test]
    fn png_renders_text_with_the_bundled_font() {
        let png = figure(3).png().unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (2 * 400 + LEGEND_W, 2 * 300 + TITLE_H));
        // The title band holds dark text pixels (glyphs were drawn).
        let dark = (0..TITLE_H)
            .flat_map(|y| (0..400).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100)
            .count();
        assert!(dark > 50, "{dark} dark pixels in the title band");
    }
}
