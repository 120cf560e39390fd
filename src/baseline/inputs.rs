//! What must hold of BASELINE and NEW before anything is judged: the columns every check
//! needs, and one row per cell. A broken input is an error (exit 2) naming what is wrong,
//! never a silent pass.

use crate::analysis::series::metrics_present;
use crate::record::CellRecord;

/// Columns every results.csv the gate reads must have: without them cells cannot be matched or
/// judged, and a missing column would read as empty (`serde(default)`) and pass.
pub const REQUIRED_COLUMNS: [&str; 11] = [
    "image",
    "image_hash",
    "spec",
    "curve",
    "status",
    "bytes",
    "bpp",
    "psnr",
    "setting",
    "lossless",
    "roundtrip_exact",
];

/// Why BASELINE or NEW cannot be judged (`side` is "BASELINE" or "NEW").
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("{side} has no {column} column; it cannot be judged (is it a codecbench results.csv, complete and from a run with the same metrics?)")]
    MissingColumn { side: String, column: String },
    #[error("{side}: column {column} is empty or NaN in every ok row; it cannot be judged")]
    EmptyColumn { side: String, column: String },
}

type Getter = fn(&CellRecord) -> Option<f64>;

/// Checks that BASELINE and NEW can be judged: each has the [`REQUIRED_COLUMNS`] with at least
/// one value among its ok rows, and NEW has every metric column BASELINE has values in (a
/// metric NEW lacks would otherwise never be judged). `header` is the file's header row.
/// Returns the first problem, naming the side and the column.
pub fn check_columns(sides: [(&str, &[String], &[CellRecord]); 2]) -> Result<(), InputError> {
    let base_metrics = metrics_present(sides[0].2);
    for (i, (what, header, records)) in sides.iter().enumerate() {
        let has = |c: &str| header.iter().any(|h| h == c);
        let mut needed: Vec<&str> = REQUIRED_COLUMNS.to_vec();
        if i == 1 {
            needed.extend(base_metrics.iter().map(|m| m.column));
        }
        for col in needed {
            if !has(col) {
                return Err(InputError::MissingColumn {
                    side: what.to_string(),
                    column: col.to_string(),
                });
            }
        }
        let ok: Vec<&CellRecord> = records.iter().filter(|r| r.is_ok()).collect();
        if ok.is_empty() {
            continue;
        }
        let mut valued: Vec<(&str, Getter)> = vec![
            ("bytes", |r| r.bytes.map(|b| b as f64)),
            ("bpp", |r| r.bpp),
            ("psnr", |r| r.psnr),
        ];
        if i == 1 {
            valued.extend(base_metrics.iter().map(|m| (m.column, m.get)));
        }
        for (col, get) in valued {
            // inf is a value (a lossless cell's PSNR); NaN and empty are not.
            if !ok.iter().any(|r| get(r).is_some_and(|v| !v.is_nan())) {
                return Err(InputError::EmptyColumn {
                    side: what.to_string(),
                    column: col.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Every row of a results.csv (or of a run folder's), as written: unlike the report's loader,
/// nothing is dropped, so [`find_duplicate`] sees duplicates.
pub fn read_results(path: &std::path::Path) -> Result<Vec<CellRecord>, crate::export::OutputError> {
    crate::run_dir::RunDir::read_results_at(path)
}

/// The first cell that appears twice in `records` (same image, label and spec, swept or
/// probe alike), as `image spec (rows i and j)`, row numbers counting the header as row 1.
/// The gate would otherwise judge whichever copy it met first.
pub fn find_duplicate(records: &[CellRecord]) -> Option<String> {
    let mut seen = std::collections::HashMap::new();
    for (i, r) in records.iter().enumerate() {
        let k = (&r.image_hash, &r.image, &r.label, &r.spec);
        if let Some(j) = seen.insert(k, i) {
            let label = if r.label.is_empty() {
                String::new()
            } else {
                format!("{}=", r.label)
            };
            return Some(format!(
                "{} {label}{} (rows {} and {})",
                r.image,
                r.spec,
                j + 2,
                i + 2
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::tests::cell;

    #[test]
    fn the_first_duplicate_is_named_with_its_rows() {
        let mut v = vec![cell("a", 1.0, 1.0, 30.0), cell("a", 2.0, 2.0, 33.0)];
        assert_eq!(find_duplicate(&v), None);
        v.push(cell("a", 1.0, 1.0, 30.0));
        assert_eq!(find_duplicate(&v).unwrap(), "a jpeg:q=1 (rows 2 and 4)");
        // The same spec under two labels is two pipelines, not a duplicate.
        v.pop();
        let mut other = cell("a", 1.0, 1.0, 30.0);
        other.label = "site".into();
        v.push(other);
        assert_eq!(find_duplicate(&v), None);
    }

    #[test]
    fn a_baseline_without_the_lossless_columns_is_refused() {
        let rows = vec![cell("a", 1.0, 1.0, 30.0)];
        let full: Vec<String> = REQUIRED_COLUMNS.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            check_columns([("BASELINE", &full, &rows), ("NEW", &full, &rows)]),
            Ok(())
        );
        for col in ["lossless", "roundtrip_exact"] {
            let cut: Vec<String> = full.iter().filter(|c| *c != col).cloned().collect();
            let e = check_columns([("BASELINE", &cut, &rows), ("NEW", &full, &rows)])
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("BASELINE has no {col} column")),
                "{e}"
            );
        }
    }
}
