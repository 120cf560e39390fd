//! `codecbench merge`: joins the run folders of a sharded sweep (or any runs of the same plan)
//! into one run folder whose results.csv has the rows of the unsharded run, in the same order.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::analysis::summary::summarize;
use crate::export::{csv_bytes, json_bytes, read_csv, write_atomic};
use crate::record::CellRecord;

/// What a merge produced.
pub struct Merged {
    pub records: Vec<CellRecord>,
    pub meta: Value,
    pub files: Vec<PathBuf>,
    /// Cells of the plan that no input had.
    pub missing: usize,
    pub warnings: Vec<String>,
}

fn run_dir(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.to_path_buf()
    } else {
        p.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

fn read_meta(dir: &Path) -> Result<Value, String> {
    let path = dir.join("run.json");
    let bytes = std::fs::read(&path).map_err(|e| {
        format!(
            "{}: cannot read ({e}); merge needs each run's run.json",
            path.display()
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The plan of a run: image ids with hashes, and specs, in run order.
fn plan(meta: &Value) -> (Vec<(String, String)>, Vec<String>) {
    let images = meta["corpus"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    (
                        i["id"].as_str().unwrap_or_default().to_string(),
                        i["hash"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let specs = meta["specs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    (images, specs)
}

/// Merges `inputs` (run folders or their results.csv) into `out`.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<Merged, String> {
    let dirs: Vec<PathBuf> = inputs.iter().map(|p| run_dir(p)).collect();
    let metas: Vec<Value> = dirs
        .iter()
        .map(|d| read_meta(d))
        .collect::<Result<_, _>>()?;
    let (images, specs) = plan(&metas[0]);
    for (d, m) in dirs.iter().zip(&metas).skip(1) {
        if plan(m) != (images.clone(), specs.clone()) {
            return Err(format!(
                "{} was made from another corpus or sweep than {}; merge only runs of one plan",
                d.display(),
                dirs[0].display()
            ));
        }
    }
    let n = images.len() * specs.len();
    let mut slots: Vec<Option<CellRecord>> = vec![None; n];
    let mut warnings = Vec::new();
    for d in &dirs {
        let rows: Vec<CellRecord> = read_csv(&d.join("results.csv")).map_err(|e| e.to_string())?;
        let mut dup = 0;
        for r in rows {
            let i = images
                .iter()
                .position(|(id, h)| *id == r.image && *h == r.image_hash);
            let s = specs.iter().position(|x| *x == r.spec);
            let (Some(i), Some(s)) = (i, s) else {
                return Err(format!(
                    "{}: cell {} {} is not in the plan of its run.json",
                    d.display(),
                    r.image,
                    r.spec
                ));
            };
            let slot = &mut slots[i * specs.len() + s];
            if slot.is_some() {
                dup += 1;
            } else {
                *slot = Some(r);
            }
        }
        if dup > 0 {
            warnings.push(format!(
                "{}: {dup} cell(s) already merged from an earlier input; kept the first",
                d.display()
            ));
        }
    }
    let missing = slots.iter().filter(|s| s.is_none()).count();
    let records: Vec<CellRecord> = slots.into_iter().flatten().collect();

    let mut meta = metas[0].clone();
    let sum = |key: &str| -> f64 { metas.iter().filter_map(|m| m["timing"][key].as_f64()).sum() };
    let capacity: f64 = metas
        .iter()
        .map(|m| m["timing"]["wall_s"].as_f64().unwrap_or(0.0) * m["jobs"].as_f64().unwrap_or(1.0))
        .sum();
    let measured = sum("measured_s");
    meta["shard"] = Value::Null;
    meta["merged_from"] = dirs
        .iter()
        .map(|d| Value::from(d.display().to_string()))
        .collect();
    meta["cells_planned"] = n.into();
    meta["cells_done"] = records.len().into();
    meta["cells_failed"] = records.iter().filter(|r| !r.is_ok()).count().into();
    meta["cells_cached"] = metas
        .iter()
        .filter_map(|m| m["cells_cached"].as_u64())
        .sum::<u64>()
        .into();
    meta["interrupted"] = metas
        .iter()
        .any(|m| m["interrupted"].as_bool() == Some(true))
        .into();
    meta["timing"] = serde_json::json!({
        "wall_s": metas.iter().filter_map(|m| m["timing"]["wall_s"].as_f64()).fold(0.0, f64::max),
        "load_s": sum("load_s"),
        "prepare_s": sum("prepare_s"),
        "measured_s": measured,
        "cells_busy_s": sum("cells_busy_s"),
        "efficiency": if capacity > 0.0 { measured / capacity } else { 0.0 },
        "overhead_share": if measured > 0.0 { (capacity - measured) / measured } else { 0.0 },
        "in_cell_overhead_share": if measured > 0.0 { (sum("cells_busy_s") - measured) / measured } else { 0.0 },
    });

    std::fs::create_dir_all(out).map_err(|e| format!("--out {}: {e}", out.display()))?;
    let mut files = Vec::new();
    let write = |name: &str, bytes: Vec<u8>, files: &mut Vec<PathBuf>| -> Result<(), String> {
        let p = out.join(name);
        write_atomic(&p, &bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        files.push(p);
        Ok(())
    };
    write(
        "results.csv",
        csv_bytes(&records).map_err(|e| e.to_string())?,
        &mut files,
    )?;
    write(
        "summary.csv",
        csv_bytes(&summarize(&records)).map_err(|e| e.to_string())?,
        &mut files,
    )?;
    write(
        "run.json",
        json_bytes(&meta).map_err(|e| e.to_string())?,
        &mut files,
    )?;
    Ok(Merged {
        records,
        meta,
        files,
        missing,
        warnings,
    })
}
