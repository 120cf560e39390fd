//! The lossless section of report.html and summary.md: per image and over the corpus, the
//! bytes and bits per pixel of every lossless codec configuration, general-purpose
//! compressors (over raw samples) beside image codecs, the smallest of each column marked.

use std::fmt::Write;

use crate::analysis::series::images;
use crate::record::CellRecord;

use super::markup::esc;

/// Codecs that know nothing about images (they compress the raw sample bytes).
const GENERAL_PURPOSE: &[&str] = &["identity", "rle", "huffman", "gzip", "zstd", "brotli", "xz"];

/// One lossless configuration: its spec, kind and (bytes, pixels) per image and in total.
struct Row {
    spec: String,
    general: bool,
    cells: Vec<Option<(u64, u64)>>,
    /// Per image: the decoded image equals the source (false when the harness had to convert
    /// lossily first, e.g. 16->8 bit for WebP: such a cell is shown but never marked smallest).
    exact: Vec<bool>,
    /// Over all images: `None` when this one failed on some image (its total would not be
    /// comparable).
    total: Option<(u64, u64)>,
}

impl Row {
    fn all_exact(&self) -> bool {
        self.exact.iter().all(|&e| e)
    }
}

fn bpp((bytes, pixels): (u64, u64)) -> f64 {
    8.0 * bytes as f64 / pixels as f64
}

/// The table's rows (in row order of results) and image ids; `None` without lossless rows.
fn table(records: &[CellRecord]) -> Option<(Vec<String>, Vec<Row>)> {
    let ids = images(records);
    let mut rows: Vec<Row> = Vec::new();
    for r in records.iter().filter(|r| r.lossless) {
        let i = match rows.iter().position(|x| x.spec == r.spec) {
            Some(i) => i,
            None => {
                rows.push(Row {
                    spec: r.spec.clone(),
                    general: GENERAL_PURPOSE.contains(&r.codec.as_str()),
                    cells: vec![None; ids.len()],
                    exact: vec![true; ids.len()],
                    total: None,
                });
                rows.len() - 1
            }
        };
        if let (true, Some(b), Some(k)) =
            (r.is_ok(), r.bytes, ids.iter().position(|x| *x == r.image))
        {
            rows[i].cells[k] = Some((b, r.width as u64 * r.height as u64));
            rows[i].exact[k] = r.mse == Some(0.0);
        }
    }
    if rows.is_empty() {
        return None;
    }
    for row in &mut rows {
        row.total = row
            .cells
            .iter()
            .try_fold((0, 0), |(b, p), c| c.map(|(cb, cp)| (b + cb, p + cp)));
    }
    Some((ids, rows))
}

/// Smallest byte count of column `k` (`None` = the totals column) among exact cells.
fn smallest(rows: &[Row], k: Option<usize>) -> Option<u64> {
    rows.iter()
        .filter_map(|r| match k {
            Some(k) => r.cells[k].filter(|_| r.exact[k]),
            None => r.total.filter(|_| r.all_exact()),
        })
        .map(|c| c.0)
        .min()
}

fn kind(general: bool) -> &'static str {
    if general {
        "general-purpose"
    } else {
        "image codec"
    }
}

/// The HTML section (nothing when the run has no lossless configuration).
pub fn html(records: &[CellRecord], out: &mut String) {
    let Some((ids, rows)) = table(records) else {
        return;
    };
    out.push_str(
        "<section id=\"lossless\"><h2>Lossless</h2><p>Every lossless configuration: bytes and \
         bits per pixel per image and over the corpus (bpp of totals = 8 &times; total bytes / \
         total pixels). General-purpose compressors work on the raw samples; the smallest of \
         each column is in bold; &dagger; = not exact against the source (the harness \
         converted it lossily first, e.g. 16->8 bit), never marked. Click a header to sort.</p>\
         <table class=\"data sortable\"><thead><tr><th>configuration</th><th>kind</th>\
         <th>corpus bytes</th><th>corpus bpp</th>",
    );
    for id in &ids {
        let _ = write!(out, "<th>{} bpp</th>", esc(id));
    }
    out.push_str("</tr></thead><tbody>");
    let best: Vec<Option<u64>> = (0..ids.len()).map(|k| smallest(&rows, Some(k))).collect();
    let best_total = smallest(&rows, None);
    let mark = |c: Option<(u64, u64)>, exact: bool, best: Option<u64>, text: String| match c {
        Some(_) if !exact => {
            format!("<td><i title=\"not exact: lossy conversion first\">{text}&dagger;</i></td>")
        }
        Some((b, _)) if Some(b) == best => format!("<td><b>{text}</b></td>"),
        _ => format!("<td>{text}</td>"),
    };
    for r in &rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>{}{}",
            esc(&r.spec),
            kind(r.general),
            mark(
                r.total,
                r.all_exact(),
                best_total,
                r.total.map_or("-".into(), |t| t.0.to_string())
            ),
            mark(
                r.total,
                r.all_exact(),
                best_total,
                r.total.map_or("-".into(), |t| format!("{:.3}", bpp(t)))
            ),
        );
        for (k, c) in r.cells.iter().enumerate() {
            let text = c.map_or("-".into(), |c| {
                format!("<span title=\"{} bytes\">{:.3}</span>", c.0, bpp(c))
            });
            out.push_str(&mark(*c, r.exact[k], best[k], text));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></section>\n");
}

/// The Markdown section (nothing when the run has no lossless configuration).
#[allow(dead_code)] // summary.md shows the answer card and one table since issue 24 (markdown.rs)
pub fn markdown(records: &[CellRecord], out: &mut String) {
    let Some((ids, rows)) = table(records) else {
        return;
    };
    out.push_str(
        "\n## Lossless\n\nBytes (bits per pixel) per image and over the corpus (bpp of totals); \
         the smallest of each column in bold; † = not exact against the source (converted \
         lossily first, e.g. 16->8 bit), never marked.\n\n| configuration | kind | corpus |",
    );
    for id in &ids {
        let _ = write!(out, " {id} |");
    }
    out.push_str("\n|---|---|---:|");
    out.push_str(&"---:|".repeat(ids.len()));
    out.push('\n');
    let cell = |c: Option<(u64, u64)>, exact: bool, best: Option<u64>| match c {
        Some(c) if !exact => format!(" {} ({:.3})† |", c.0, bpp(c)),
        Some(c) if Some(c.0) == best => format!(" **{} ({:.3})** |", c.0, bpp(c)),
        Some(c) => format!(" {} ({:.3}) |", c.0, bpp(c)),
        None => " - |".into(),
    };
    let best_total = smallest(&rows, None);
    for r in &rows {
        let _ = write!(
            out,
            "| `{}` | {} |{}",
            r.spec,
            kind(r.general),
            cell(r.total, r.all_exact(), best_total)
        );
        for (k, c) in r.cells.iter().enumerate() {
            out.push_str(&cell(*c, r.exact[k], smallest(&rows, Some(k))));
        }
        out.push('\n');
    }
}

/// The smallest exact configuration over the corpus (spec, bytes), and per image (image, spec,
/// bytes).
pub(super) type Winners = (Option<(String, u64)>, Vec<(String, String, u64)>);

/// The lossless part of the recommendation: the configuration with the smallest exact total
/// over the corpus (with its bytes), and per image the smallest exact configuration.
pub(super) fn winners(records: &[CellRecord]) -> Option<Winners> {
    let (ids, rows) = table(records)?;
    let overall = smallest(&rows, None).and_then(|b| {
        rows.iter()
            .find(|r| r.all_exact() && r.total.map(|t| t.0) == Some(b))
            .map(|r| (r.spec.clone(), b))
    });
    let per_image = ids
        .iter()
        .enumerate()
        .filter_map(|(k, id)| {
            let b = smallest(&rows, Some(k))?;
            let r = rows
                .iter()
                .find(|r| r.exact[k] && r.cells[k].map(|c| c.0) == Some(b))?;
            Some((id.clone(), r.spec.clone(), b))
        })
        .collect();
    Some((overall, per_image))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(image: &str, codec: &str, bytes: u64) -> CellRecord {
        CellRecord {
            image: image.into(),
            codec: codec.into(),
            spec: codec.into(),
            lossless: true,
            bytes: Some(bytes),
            width: 10,
            height: 10,
            mse: Some(0.0),
            ..Default::default()
        }
    }

    #[test]
    fn smallest_per_column_is_marked_and_totals_add_up() {
        let mut lossy_input = rec("a.png", "webp-lossless", 10);
        lossy_input.mse = Some(1.0);
        let recs = vec![
            rec("a.png", "gzip", 50),
            rec("b.png", "gzip", 20),
            rec("a.png", "png", 40),
            rec("b.png", "png", 35),
            lossy_input,
            rec("b.png", "webp-lossless", 10),
        ];
        let mut md = String::new();
        markdown(&recs, &mut md);
        let gzip = "| `gzip` | general-purpose | **70 (2.800)** | 50 (4.000) | 20 (1.600) |";
        let png = "| `png` | image codec | 75 (3.000) | **40 (3.200)** | 35 (2.800) |";
        let webp = "| `webp-lossless` | image codec | 20 (0.800)† | 10 (0.800)† | **10 (0.800)** |";
        for line in [gzip, png, webp] {
            assert!(md.contains(line), "{line}\n{md}");
        }
        let mut page = String::new();
        html(&recs, &mut page);
        assert!(page.contains("id=\"lossless\"") && page.contains("<td><b>70</b></td>"));
    }
}
