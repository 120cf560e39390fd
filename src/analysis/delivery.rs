//! Where a codec configuration's files can be served: browser support per format, from the
//! table `data/delivery.csv` that `scripts/browser_support.mjs` generates from caniuse data
//! (caniuse-lite, CC BY 4.0; the package version and date are in the table's `source` column).
//! The answer recommends for the web only configurations every major browser decodes.

use serde::{Deserialize, Serialize};

/// The committed table (regenerate with scripts/browser_support.mjs).
const TABLE: &str = include_str!("../../data/delivery.csv");

/// The browsers the table covers, in its column order.
pub const BROWSERS: [&str; 4] = ["Chrome", "Edge", "Firefox", "Safari"];

/// Which format a codec writes, by codec name: a codec added later adds one line here (a
/// codec not listed writes no format a browser decodes).
const FORMAT_OF_CODEC: &[(&str, &str)] = &[
    ("jpeg", "jpeg"),
    ("jpegli", "jpeg"),
    ("webp", "webp"),
    ("webp-lossless", "webp"),
    ("avif", "avif"),
    ("avif-aom", "avif"),
    ("jxl", "jxl"),
    ("libjxl", "jxl"),
    ("jpeg2000", "jpeg2000"),
    ("jpeg2000-lossless", "jpeg2000"),
    ("htj2k", "jpeg2000"),
    ("png", "png"),
];

#[derive(Clone, Debug, Deserialize)]
struct Row {
    format: String,
    chrome: String,
    edge: String,
    firefox: String,
    safari: String,
    source: String,
}

/// Where one configuration can be served.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The format (`jpeg`, `webp`, `avif`, `jxl`, `jpeg2000`, `png`), empty for none.
    pub format: String,
    /// Per browser: the version support starts at ("16.4", "17.0 (partial)") or "no".
    pub browsers: Vec<(String, String)>,
    /// Every major browser decodes it.
    pub all_major: bool,
    /// In words: "serves in all major browsers", "Safari only", "no browser".
    pub label: String,
    /// Where the table comes from (package, version, date).
    pub source: String,
}

fn rows() -> Vec<Row> {
    csv::Reader::from_reader(TABLE.as_bytes())
        .deserialize()
        .collect::<Result<Vec<Row>, _>>()
        .expect("data/delivery.csv is valid (checked by a test)")
}

/// The format a configuration writes: its codec's, except arithmetic-coded JPEG, which no
/// browser decodes.
pub fn format_of(codec: &str, options: &str) -> Option<&'static str> {
    if codec == "jpeg" && options.contains("arithmetic=true") {
        return None;
    }
    FORMAT_OF_CODEC
        .iter()
        .find(|(c, _)| *c == codec)
        .map(|(_, f)| *f)
}

/// Where files of `codec` with `options` (a result row's columns) can be served.
pub fn of(codec: &str, options: &str) -> Delivery {
    let Some(format) = format_of(codec, options) else {
        return Delivery {
            label: "no browser".into(),
            ..Delivery::default()
        };
    };
    let Some(row) = rows().into_iter().find(|r| r.format == format) else {
        return Delivery {
            format: format.into(),
            label: "no browser".into(),
            ..Delivery::default()
        };
    };
    let versions = [&row.chrome, &row.edge, &row.firefox, &row.safari];
    let browsers: Vec<(String, String)> = BROWSERS
        .iter()
        .zip(versions)
        .map(|(b, v)| (b.to_string(), v.clone()))
        .collect();
    let serving: Vec<&str> = browsers
        .iter()
        .filter(|(_, v)| v != "no")
        .map(|(b, _)| b.as_str())
        .collect();
    let all_major = serving.len() == BROWSERS.len();
    let label = match serving.len() {
        0 => "no browser".to_string(),
        n if n == BROWSERS.len() => "serves in all major browsers".to_string(),
        _ => format!("{} only", serving.join(", ")),
    };
    Delivery {
        format: format.into(),
        browsers,
        all_major,
        label,
        source: row.source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_table_reads_and_names_its_source() {
        let rows = rows();
        for f in ["jpeg", "webp", "avif", "jxl", "jpeg2000", "png"] {
            assert!(rows.iter().any(|r| r.format == f), "{f} missing");
        }
        assert!(rows
            .iter()
            .filter(|r| r.format != "jpeg")
            .all(|r| r.source.contains("caniuse-lite")));
    }

    #[test]
    fn formats_are_labelled_from_the_table() {
        assert!(of("jpeg", "subsampling=420").all_major);
        assert!(of("avif", "speed=8").all_major);
        assert!(of("webp", "method=4").all_major);
        // The table (caniuse-lite 1.0.30001830) has JPEG 2000 in no current browser.
        assert_eq!(of("jpeg2000-lossless", "").label, "no browser");
        assert_eq!(of("qoi", "").label, "no browser");
        assert_eq!(of("jpeg", "arithmetic=true").label, "no browser");
        let jxl = of("jxl", "effort=5");
        assert!(!jxl.all_major && jxl.label.ends_with(" only"), "{jxl:?}");
    }
}
