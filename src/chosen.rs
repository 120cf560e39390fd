//! After `run`: the answer card on the console, and `--write-chosen DIR`: the recommended
//! files, one per image and target, encoded again at the recommended uniform spec from the
//! corpus files run.json names, checked against the claim (bytes and target), with
//! `manifest.csv`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::answer::Recommendation;
use crate::codec::Registry;
use crate::corpus::SourceImage;
use crate::run::{pool, run_plan, Engine};

/// One written file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ManifestRow {
    /// `ssimulacra2=80`.
    pub target: String,
    pub image: String,
    pub spec: String,
    /// Relative to the folder.
    pub file: String,
    pub bytes: u64,
    /// The target metric measured again on the written file.
    pub achieved: Option<f64>,
    pub met: bool,
    /// The bytes and target agree with recommendation.json.
    pub as_claimed: bool,
}

/// Prints the card of the run folder's recommendation.json and writes the chosen files when
/// asked; returns the exit code (`code`, or 1 when the files could not be written).
pub fn after_run(
    registry: &Registry,
    sweep: &crate::sweep::Sweep,
    write_chosen: Option<&Path>,
    code: i32,
) -> i32 {
    let rec = match crate::report::answer::read(&sweep.out) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("codecbench: warning: no answer card: {e}");
            return code;
        }
    };
    print!("{}", crate::report::answer::console(&rec));
    let Some(dir) = write_chosen else {
        return code;
    };
    match write(registry, &sweep.out, &rec, dir, sweep.jobs) {
        Ok(rows) => {
            let bad = rows.iter().filter(|r| !r.as_claimed).count();
            println!(
                "wrote {} file(s) and manifest.csv into {}",
                rows.len(),
                dir.display()
            );
            if bad > 0 {
                eprintln!(
                    "codecbench: warning: --write-chosen: {bad} file(s) differ from the claim \
                     (see as_claimed in manifest.csv)"
                );
                return code.max(1);
            }
            code
        }
        Err(e) => {
            eprintln!("codecbench: error: --write-chosen {}: {e}", dir.display());
            code.max(1)
        }
    }
}

/// Encodes every image at each target's recommended uniform spec into `dir/<metric>-<level>/`
/// and writes `dir/manifest.csv`.
pub fn write(
    registry: &Registry,
    run_dir: &Path,
    rec: &Recommendation,
    dir: &Path,
    jobs: usize,
) -> Result<Vec<ManifestRow>, String> {
    let meta = crate::run_meta::read_run(run_dir).map_err(|e| e.to_string())?;
    let metric = crate::metrics::find(&rec.metric)
        .ok_or_else(|| format!("unknown metric {} in recommendation.json", rec.metric))?;
    let metrics = crate::metrics::parse_metrics(&format!("psnr,{}", metric.key))
        .map_err(|e| e.to_string())?;
    let work = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let pool = pool(jobs).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for t in &rec.targets {
        let Some(c) = t.configs.iter().find(|c| c.recommended) else {
            continue;
        };
        let configs = registry.parse_spec(&c.spec).map_err(|e| e.to_string())?;
        let sources: Vec<SourceImage> = c
            .uniform_cells
            .iter()
            .map(|cell| {
                let m = meta
                    .corpus
                    .iter()
                    .find(|m| m.id == cell.image)
                    .ok_or_else(|| format!("run.json does not list image {}", cell.image))?;
                SourceImage::open(&m.id, &m.path, u64::MAX)
                    .map_err(|e| format!("{}: {e}", m.path.display()))
            })
            .collect::<Result<_, String>>()?;
        let engine = Engine {
            repeat: 1,
            save_encoded: Some(work.path().to_path_buf()),
            cancel: Arc::new(AtomicBool::new(false)),
            cache: None,
            metrics: metrics.clone(),
            max_memory: None,
        };
        let records = run_plan(&pool, &sources, &configs, &engine);
        let sub = format!("{}-{}", t.metric, t.target);
        std::fs::create_dir_all(dir.join(&sub))
            .map_err(|e| format!("cannot create {}: {e}", dir.join(&sub).display()))?;
        for r in records {
            if !r.is_ok() {
                return Err(format!("{} {}: {}", r.image, r.spec, r.message));
            }
            let from: PathBuf = work.path().join(&r.encoded_file);
            let ext = from
                .extension()
                .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
            let file = format!("{sub}/{}{ext}", r.image.replace('/', "_"));
            std::fs::copy(&from, dir.join(&file))
                .map_err(|e| format!("cannot write {}: {e}", dir.join(&file).display()))?;
            let achieved = (metric.get)(&r);
            let met = achieved.is_some_and(|v| {
                metric.direction.oriented(v) >= metric.direction.oriented(t.target)
            });
            let claim = c.uniform_cells.iter().find(|x| x.image == r.image);
            rows.push(ManifestRow {
                target: format!("{}={}", t.metric, t.target),
                image: r.image.clone(),
                spec: r.spec.clone(),
                file,
                bytes: r.bytes.unwrap_or(0),
                achieved,
                met,
                as_claimed: claim.is_some_and(|x| Some(x.bytes) == r.bytes && x.met == met),
            });
        }
    }
    crate::export::write_csv(&dir.join("manifest.csv"), &rows).map_err(|e| e.to_string())?;
    Ok(rows)
}
