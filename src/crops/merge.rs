//! Joining the crops of merged runs: for each image and lossy configuration, the crop the
//! unsharded run would have shown, copied with its error map.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::analysis::crop_cells::{merge_pick, Role};
use crate::analysis::series::{curves, images};
use crate::record::CellRecord;

/// A crop that may be shown: (row index, (input folder, entry), bpp, preferred, merged row).
type Candidate<'a> = (usize, (&'a Path, &'a CellEntry), f64, bool, &'a CellRecord);

use super::{
    read_crop, read_manifest, write_crop, write_manifest, CellEntry, ImageEntry, Manifest, Saved,
    DIR, MANIFEST,
};

/// Copies `<from>/crops/<name>` to `<out>/crops/<name>` (nothing to do when they are one file).
fn copy_crop(from: &Path, out: &Path, name: &str, saved: &mut Saved) -> bool {
    let dst = out.join(DIR).join(name);
    let src = from.join(DIR).join(name);
    if let (Ok(a), Ok(b)) = (src.canonicalize(), dst.canonicalize()) {
        if a == b {
            saved.files.push(dst);
            return true;
        }
    }
    match read_crop(from, name) {
        Ok(png) => write_crop(out, name, &png, saved),
        Err(e) => {
            saved.warnings.push(format!("crop not merged: {e}"));
            false
        }
    }
}

/// Merges the crops of the run folders `inputs` into `<out>/crops/` for the merged `records`
/// (in plan order): for each image and lossy curve, the crop nearest the target bpp among the
/// inputs' crops (the one the unsharded run would have chosen, when every input has crops).
/// Inputs without crops are named in the warnings and the manifest's notes; with none at all,
/// no manifest is written and the report says crops are absent.
pub fn merge(inputs: &[PathBuf], out: &Path, records: &[CellRecord], command: &[String]) -> Saved {
    let mut saved = Saved::default();
    let mut found: Vec<(&PathBuf, Manifest)> = Vec::new();
    let mut absent_in: Vec<String> = Vec::new();
    for d in inputs {
        match read_manifest(d) {
            Ok(Some(m)) => found.push((d, m)),
            Ok(None) => absent_in.push(format!(
                "{}: no crops ({} is absent; was it run with --no-report?)",
                d.display(),
                d.join(DIR).join(MANIFEST).display()
            )),
            Err(e) => absent_in.push(format!("{}: crops left out: {e}", d.display())),
        }
    }
    if found.is_empty() {
        saved.warnings.push(format!(
            "crops are absent: no input has {DIR}/{MANIFEST} (runs made with --no-report have \
             none), so the merged report has no crops; run the shards without --no-report to \
             get them"
        ));
        return saved;
    }
    let target = found[0].1.target_bpp;
    let first = found[0].0.clone();
    let quality = found[0].1.quality.clone();
    found.retain(|(d, m)| {
        if m.quality != quality {
            absent_in.push(format!(
                "{}: crops chosen {}, those of {} {}; left out (run every shard with the same metrics and --target)",
                d.display(),
                m.quality.as_ref().map_or("by bpp".into(), |q| format!("at {}", q.describe())),
                first.display(),
                quality.as_ref().map_or("by bpp".into(), |q| format!("at {}", q.describe())),
            ));
            return false;
        }
        let same = (m.target_bpp - target).abs() <= 1e-9 * target.abs().max(1.0);
        if !same {
            absent_in.push(format!(
                "{}: crops made at {} bpp, those of {} at {target} bpp; left out (run every shard with the same --crop-bpp)",
                d.display(),
                m.target_bpp,
                first.display()
            ));
        }
        same
    });
    let mut manifest = Manifest {
        target_bpp: target,
        quality: quality.clone(),
        notes: Vec::new(),
        images: Vec::new(),
    };
    for n in absent_in {
        saved.warnings.push(n.clone());
        manifest.notes.push(format!(
            "{n}: crops of the cells measured only there may be missing"
        ));
    }
    for (_, m) in &found {
        manifest.notes.extend(m.notes.iter().cloned());
    }
    let curves = curves(records);
    // The answer on the merged rows: the cells the unsharded run shows (a shard chose its
    // uniform and per-image cells from its own cells only).
    let answer = crate::analysis::crop_cells::middle_target(records, command);
    let index: HashMap<(&str, &str), (usize, &CellRecord)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.image.as_str(), r.spec.as_str()), (i, r)))
        .collect();
    for id in images(records) {
        let Some(hash) = records
            .iter()
            .find(|r| r.image == id)
            .map(|r| &r.image_hash)
        else {
            continue;
        };
        let entries: Vec<(&Path, &ImageEntry)> = found
            .iter()
            .flat_map(|(d, m)| {
                m.images
                    .iter()
                    .filter(|e| e.image == id && &e.image_hash == hash)
                    .map(move |e| (d.as_path(), e))
            })
            .collect();
        let Some(&(dir0, e0)) = entries.first() else {
            continue;
        };
        let mut notes: Vec<String> = Vec::new();
        for (_, e) in &entries {
            for n in &e.notes {
                if !notes.contains(n) {
                    notes.push(n.clone());
                }
            }
        }
        let mut entry = ImageEntry {
            image: id.clone(),
            image_hash: hash.clone(),
            rect: e0.rect,
            notes,
            original: e0.original.clone(),
            cells: Vec::new(),
        };
        if !copy_crop(dir0, out, &e0.original, &mut saved) {
            continue;
        }
        for curve in curves.iter().filter(|c| !c.lossless) {
            let cands: Vec<Candidate> = entries
                .iter()
                .flat_map(|&(d, e)| e.cells.iter().map(move |c| (d, c)))
                .filter_map(|(d, c)| {
                    let &(i, r) = index.get(&(id.as_str(), c.spec.as_str()))?;
                    let preferred = c.chosen.starts_with("searched") || c.role == Role::Uniform;
                    (r.curve == curve.name).then_some((i, (d, c), c.bpp, preferred, r))
                })
                .collect();
            // Crops chosen by the answer (uniform, per-image) are all kept: each shard chose
            // them for its own images. Older manifests: the one the unsharded run would show.
            let answered = answer.as_ref().map(|t| {
                crate::analysis::crop_cells::answer_cells(records, t, (&id, hash), &curve.name)
            });
            let picked: Vec<(&Path, CellEntry)> = if cands
                .iter()
                .any(|c| (c.1).1.role != Role::Level)
            {
                let wanted = answered.unwrap_or_default();
                let mut picked = Vec::new();
                for (r, role, why) in wanted {
                    match cands.iter().find(|c| (c.1).1.spec == r.spec) {
                        Some(c) => {
                            let (d, e) = c.1;
                            let mut e = e.clone();
                            e.role = role;
                            e.chosen = why;
                            picked.push((d, e));
                        }
                        None => {
                            let n = format!(
                                    "{id}: no shard cut the crop of {} (chosen on the merged rows: {why}); run the shards by image (--shard splits cells) or remake the crops with a run of the merged specs",
                                    r.spec
                                );
                            saved.warnings.push(n.clone());
                            entry.notes.push(n);
                        }
                    }
                }
                picked
            } else {
                merge_pick(&cands, quality.as_ref(), target)
                    .map(|(_, (d, c), ..)| (d, c.clone()))
                    .into_iter()
                    .collect()
            };
            for (d, c) in picked {
                if entry.cells.iter().any(|e| e.spec == c.spec) {
                    continue;
                }
                if copy_crop(d, out, &c.file, &mut saved) {
                    if let Some(h) = &c.heatmap {
                        copy_crop(d, out, h, &mut saved);
                    }
                    entry.cells.push(c);
                }
            }
        }
        manifest.images.push(entry);
    }
    write_manifest(out, &manifest, &mut saved);
    saved
}
