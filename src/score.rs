//! `codecbench score ORIGINAL DISTORTED...`: every selected metric for each distorted image
//! against one original, without a sweep (like the dssim and ssimulacra2 tools), so a single
//! file or a decoder can be checked directly.

use std::path::{Path, PathBuf};

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::corpus::decode_bytes;
use crate::measure::Reference;
use crate::metrics::{core, distortion, Metric, MetricDef, METRICS};
use crate::pixels::{conform, Image, Layout, Prep};

/// Scores of one distorted file. JSON has no infinity: serde_json writes an infinite value
/// (PSNR of an identical file) as null, and `identical` says why.
#[derive(Clone, Debug)]
pub struct ScoreRow {
    pub file: String,
    pub channels_compared: String,
    pub identical: bool,
    pub mse: f64,
    /// One value per entry of the metric table, in table order (`None`: not selected or not
    /// defined).
    pub values: Vec<Option<f64>>,
    pub notes: String,
}

impl ScoreRow {
    /// The value of `metric` (`None` if not measured or not defined).
    pub fn get(&self, metric: &MetricDef) -> Option<f64> {
        METRICS
            .iter()
            .position(|m| m == metric)
            .and_then(|i| self.values[i])
    }
}

/// JSON object: `file`, `channels_compared`, `identical`, `mse`, then every metric of the table
/// by its results.csv column (null when not measured), then `notes`.
impl Serialize for ScoreRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(5 + METRICS.len()))?;
        map.serialize_entry("file", &self.file)?;
        map.serialize_entry("channels_compared", &self.channels_compared)?;
        map.serialize_entry("identical", &self.identical)?;
        map.serialize_entry("mse", &self.mse)?;
        for (m, v) in METRICS.iter().zip(&self.values) {
            map.serialize_entry(m.column, v)?;
        }
        map.serialize_entry("notes", &self.notes)?;
        map.end()
    }
}

/// Why a file cannot be scored. Each message starts with the file; the cause is quoted in it
/// (a failed file is one line of output, and the run goes on).
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("{}: cannot read ({cause})", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: empty file (0 bytes)", path.display())]
    Empty { path: PathBuf },
    #[error("{}: {cause}", path.display())]
    Decode { path: PathBuf, cause: Cause },
    /// The distorted image cannot be brought to the layout it is compared in.
    #[error("{}: {cause}", path.display())]
    Convert { path: PathBuf, cause: Cause },
    #[error("{}: {}x{} does not match the original {} ({}x{})", path.display(), size.0, size.1, original.display(), original_size.0, original_size.1)]
    SizeMismatch {
        path: PathBuf,
        size: (u32, u32),
        original: PathBuf,
        original_size: (u32, u32),
    },
    #[error("{}: {layout} cannot be compared with the original's {original_layout} ({cause})", path.display())]
    Incomparable {
        path: PathBuf,
        layout: String,
        original_layout: String,
        cause: Cause,
    },
}

/// A cause from another module, whatever its type.
type Cause = Box<dyn std::error::Error + Send + Sync>;

fn load(path: &Path) -> Result<Image, ScoreError> {
    let bytes = std::fs::read(path).map_err(|cause| ScoreError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    if bytes.is_empty() {
        return Err(ScoreError::Empty {
            path: path.to_path_buf(),
        });
    }
    decode_bytes(&bytes, u64::MAX).map_err(|e| ScoreError::Decode {
        path: path.to_path_buf(),
        cause: e.into(),
    })
}

/// Pairs the distorted image's channels with the original's: the distorted layout plays the
/// role of the codec's layout (gray replicated, alpha dropped, depth reduced as in a sweep).
fn pair(orig: &Image, dist: Image, o: &Path, d: &Path) -> Result<(Prep, Image), ScoreError> {
    if (orig.width, orig.height) != (dist.width, dist.height) {
        return Err(ScoreError::SizeMismatch {
            path: d.to_path_buf(),
            size: (dist.width, dist.height),
            original: o.to_path_buf(),
            original_size: (orig.width, orig.height),
        });
    }
    let depth = dist.depth().min(orig.depth());
    let target = Layout::new(dist.channels, depth);
    let prep = Prep::plan(orig.layout(), target).map_err(|e| ScoreError::Incomparable {
        path: d.to_path_buf(),
        layout: dist.layout().to_string(),
        original_layout: orig.layout().to_string(),
        cause: e.into(),
    })?;
    let dist = conform(dist, target).map_err(|e| ScoreError::Convert {
        path: d.to_path_buf(),
        cause: e.into(),
    })?;
    Ok((prep, dist))
}

/// Scores every distorted file; a file that cannot be scored gives an `Err` naming it.
pub fn score_files(
    original: &Path,
    distorted: &[PathBuf],
    metrics: &[Metric],
) -> Result<Vec<Result<ScoreRow, ScoreError>>, ScoreError> {
    let orig = load(original)?;
    let mut refs: Vec<(Prep, Reference)> = Vec::new();
    Ok(distorted
        .iter()
        .map(|d| {
            let (prep, dist) = pair(&orig, load(d)?, original, d)?;
            if !refs.iter().any(|(p, _)| *p == prep) {
                let r = Reference::new(&orig, &prep, metrics);
                refs.push((prep.clone(), r));
            }
            let reference = &refs.iter().find(|(p, _)| *p == prep).expect("just added").1;
            let dd = distortion(&orig, &dist, &prep);
            let s = reference.score(&dist, &prep);
            let values = METRICS
                .iter()
                .map(|m| if m.is_core() { Some(dd.psnr) } else { s.get(m) })
                .collect();
            Ok(ScoreRow {
                file: d.display().to_string(),
                channels_compared: prep.channels_compared(),
                identical: dd.mse == 0.0,
                mse: dd.mse,
                values,
                notes: s.notes.join("; "),
            })
        })
        .collect())
}

/// A plain table: one line per file; MSE, then each selected metric in the order selected
/// (PSNR first), shown with two decimals more than the report.
pub fn text(rows: &[ScoreRow], metrics: &[Metric]) -> String {
    let f = |m: &MetricDef, v: Option<f64>| match v {
        Some(x) if x.is_infinite() => "inf".into(),
        Some(x) => format!("{x:.d$}", d = m.decimals + 2),
        None => "-".into(),
    };
    // PSNR is always measured, whether or not the list names it.
    let mut shown: Vec<&MetricDef> = vec![core()];
    shown.extend(metrics.iter().copied().filter(|m| !m.is_core()));
    let mut head = vec!["file".to_string(), "compared".into(), "MSE".into()];
    head.extend(shown.iter().map(|m| m.name.to_string()));
    let mut out = head.join("\t") + "\n";
    for r in rows {
        let mut cells = vec![
            r.file.clone(),
            r.channels_compared.clone(),
            format!("{:.6}", r.mse),
        ];
        cells.extend(shown.iter().map(|m| f(m, r.get(m))));
        out += &cells.join("\t");
        if !r.notes.is_empty() {
            out += &format!("\t({})", r.notes);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{find, parse_metrics};

    fn row(values: Vec<Option<f64>>) -> ScoreRow {
        ScoreRow {
            file: "d.png".into(),
            channels_compared: "RGB".into(),
            identical: false,
            mse: 1.5,
            values,
            notes: String::new(),
        }
    }

    #[test]
    fn text_shows_each_selected_metric_under_its_own_name() {
        let r = row(vec![Some(40.0), Some(41.0), Some(0.9), None, Some(80.0)]);
        let t = text(&[r], &parse_metrics("ssimulacra2,ssim").unwrap());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "file\tcompared\tMSE\tPSNR\tSSIMULACRA2\tSSIM");
        assert_eq!(lines[1], "d.png\tRGB\t1.500000\t40.0000\t80.0000\t0.900000");
        let r = row(vec![None; METRICS.len()]);
        let t = text(&[r], &parse_metrics("ms-ssim").unwrap());
        assert!(t.ends_with("\t-\t-\n"), "{t}");
    }

    #[test]
    fn json_has_every_column_and_nulls_for_infinite_values() {
        let mut r = row(vec![
            Some(f64::INFINITY),
            Some(f64::INFINITY),
            Some(1.0),
            None,
            Some(100.0),
        ]);
        r.identical = true;
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["psnr"], serde_json::Value::Null);
        assert_eq!(j["psnr_y"], serde_json::Value::Null);
        assert_eq!(j["ssim"], 1.0);
        assert_eq!(j["ms_ssim"], serde_json::Value::Null);
        assert_eq!(j["ssimulacra2"], 100.0);
        assert_eq!(r.get(find("ssim").unwrap()), Some(1.0));
        let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 10, "{keys:?}");
        let t = text(&[r], &parse_metrics("psnr-y").unwrap());
        assert!(t.contains("\tinf\tinf"), "{t}");
    }
}
