//! Cutting the crops during the run: the cells chosen by [`crate::analysis::crop_cells`] are
//! decoded again (from the saved file, or by encoding the source again and checking the byte
//! count), cut at the original's most detailed region and written as lossless WebP, each with
//! a butteraugli error map ([`error_map`]).

use std::collections::HashMap;
use std::path::Path;

use crate::analysis::answer::TargetAnswer;
use crate::analysis::crop_cells::{self, choose, quality_rule, QualityRule, Role};
use crate::analysis::series::{curves, images, Curve};
use crate::codec::CodecConfig;
use crate::corpus::SourceImage;
use crate::pixels::{conform, Image, Prep};
use crate::record::CellRecord;
use crate::target::TargetRow;

use super::{
    slug, write_crop, write_manifest, CellEntry, ImageEntry, Manifest, Rect, Saved, Source, CROP,
};

/// Why one cell's crop could not be cut (the rest of the image's crops are still cut).
#[derive(Debug, thiserror::Error)]
pub enum CutError {
    #[error("{spec} is not a configuration of this sweep")]
    NotInSweep { spec: String },
    #[error("{spec} has no setting")]
    NoSetting { spec: String },
    #[error("{spec}: cannot rebuild its configuration ({message})")]
    Setting { spec: String, message: String },
    #[error("{spec}: cannot rebuild its configuration (got {got})")]
    Rebuilt { spec: String, got: String },
    #[error("cannot read {}: {source}", path.display())]
    ReadEncoded {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{} has {have} bytes, the run measured {measured:?}; not shown", path.display())]
    KeptSize {
        path: std::path::PathBuf,
        have: usize,
        measured: Option<u64>,
    },
    #[error(
        "re-encoding gave {got} bytes, the run measured {measured:?}; not shown (rerun with --save-encoded)"
    )]
    ReEncodedSize { got: usize, measured: Option<u64> },
    /// A codec's or the pixel layer's own message (encode, decode, layout).
    #[error("{0}")]
    Kernel(String),
}

/// The configuration of a cell: one of the sweep's, or (a target-search probe) the sweep's
/// configuration of the same curve at the cell's setting.
fn config_of(
    rec: &CellRecord,
    by_spec: &HashMap<String, &CodecConfig>,
) -> Result<CodecConfig, CutError> {
    if let Some(c) = by_spec.get(&rec.spec) {
        return Ok((*c).clone());
    }
    let spec = || rec.spec.clone();
    let base = by_spec
        .values()
        .find(|c| c.curve() == rec.curve)
        .ok_or_else(|| CutError::NotInSweep { spec: spec() })?;
    let v = rec
        .setting
        .ok_or_else(|| CutError::NoSetting { spec: spec() })?;
    let value = match base.codec.params().first().map(|p| &p.kind) {
        Some(crate::codec::Kind::Int { .. }) => crate::codec::Value::Int(v.round() as i64),
        _ => crate::codec::Value::Float(v),
    };
    let c = base.with_setting(value).map_err(|e| CutError::Setting {
        spec: spec(),
        message: e.to_string(),
    })?;
    if c.spec() != rec.spec {
        return Err(CutError::Rebuilt {
            spec: spec(),
            got: c.spec(),
        });
    }
    Ok(c)
}

/// Saves the crops of every measured image into `<run_dir>/crops/` (PNGs and the manifest).
/// For each image and lossy curve, the cell [`choose`] picks is shown (at equal quality; by
/// `target_bpp` only when no quality metric was measured; `command`, the run's command line,
/// names the preset and coverage of the answer); the target search's rows are read
/// from `<run_dir>/targets.csv` when the run wrote one. `records` are all rows, probes too.
/// Pixels come from the saved encoded file when there is one, else from encoding the source
/// again with the matching configuration.
pub fn save(
    run_dir: &Path,
    records: &[CellRecord],
    sources: &[SourceImage],
    configs: &[CodecConfig],
    target_bpp: f64,
    command: &[String],
) -> Saved {
    use rayon::prelude::*;
    let mut saved = Saved::default();
    if !(target_bpp.is_finite() && target_bpp > 0.0) {
        saved.warnings.push(format!(
            "crop target {target_bpp} bpp is not a positive number of bits per pixel; no crops saved"
        ));
        return saved;
    }
    let curves = curves(records);
    let by_id: HashMap<&str, &SourceImage> = sources.iter().map(|s| (s.id.as_str(), s)).collect();
    let by_spec: HashMap<String, &CodecConfig> = configs.iter().map(|c| (c.spec(), c)).collect();
    let targets = match crate::run_dir::RunDir::new(run_dir).read_targets() {
        Ok(rows) => rows,
        Err(e) => {
            saved.warnings.push(format!(
                "{e}; the target search's results are not used for the crops"
            ));
            None
        }
    };
    let swept = crate::target::swept(records);
    // The answer card's middle target: crops at its uniform settings (and per-image ones).
    let answer = crop_cells::middle_target(records, command);
    let rule = match &answer {
        Some(t) => Some(crop_cells::rule_of(t, targets.as_deref())),
        None => quality_rule(&swept, targets.as_deref()),
    };
    let pick = Pick {
        records,
        targets: targets.as_deref(),
        rule: rule.as_ref(),
        target_bpp,
        answer: answer.as_ref(),
    };
    let ids = images(records);
    let made: Vec<(Option<ImageEntry>, Saved)> = ids
        .par_iter()
        .filter_map(|id| by_id.get(id.as_str()))
        // The sweep dropped the pixels after the image's last cell: the file is read again.
        .map(|src| match src.pixels() {
            Ok(px) => {
                let (entry, s) = image_crops(run_dir, &pick, &curves, &by_spec, src, &px);
                src.release();
                (Some(entry), s)
            }
            Err(e) => {
                let mut s = Saved::default();
                s.warnings.push(format!(
                    "{}: cannot read the source again for its crops ({e}); none saved",
                    src.path.display()
                ));
                (None, s)
            }
        })
        .collect();
    let mut manifest = Manifest {
        target_bpp,
        quality: rule.clone(),
        notes: Vec::new(),
        images: Vec::new(),
    };
    for (entry, s) in made {
        manifest.images.extend(entry);
        saved.files.extend(s.files);
        saved.warnings.extend(s.warnings);
    }
    write_manifest(run_dir, &manifest, &mut saved);
    saved
}

/// What [`choose`] needs, shared by every image.
struct Pick<'a> {
    records: &'a [CellRecord],
    targets: Option<&'a [TargetRow]>,
    rule: Option<&'a QualityRule>,
    target_bpp: f64,
    answer: Option<&'a TargetAnswer>,
}

/// The cells to crop for one image: the answer's (uniform and per-image) when there is an
/// answer, else the one [`choose`] picks, per lossy curve.
fn wanted<'a>(
    pick: &Pick<'a>,
    curves: &[Curve],
    src: &SourceImage,
) -> Vec<(&'a CellRecord, Role, String)> {
    let mut out = Vec::new();
    for curve in curves.iter().filter(|c| !c.lossless) {
        let key = (src.id.as_str(), src.hash());
        match pick.answer {
            // No uniform setting and no cell meeting the target on this image: the best
            // swept cell, said so (as without an answer).
            Some(t) => match crop_cells::answer_cells(pick.records, t, key, &curve.name) {
                cells if cells.is_empty() => out.extend(
                    choose(
                        pick.records,
                        pick.targets,
                        key,
                        &curve.name,
                        pick.rule,
                        pick.target_bpp,
                    )
                    .map(|(r, why)| (r, Role::Level, why)),
                ),
                cells => out.extend(cells),
            },
            None => out.extend(
                choose(
                    pick.records,
                    pick.targets,
                    key,
                    &curve.name,
                    pick.rule,
                    pick.target_bpp,
                )
                .map(|(r, why)| (r, Role::Level, why)),
            ),
        }
    }
    out
}

/// The crops of one source image, written as files.
fn image_crops(
    run_dir: &Path,
    pick: &Pick,
    curves: &[Curve],
    by_spec: &HashMap<String, &CodecConfig>,
    src: &SourceImage,
    original: &Image,
) -> (ImageEntry, Saved) {
    let mut saved = Saved::default();
    let rect = busiest_region(original);
    let window = (original.depth() == 16).then(|| sample_window(original, rect));
    let mut notes = Vec::new();
    if let Some((lo, hi)) = window {
        notes.push(format!(
            "16-bit samples shown with a display window {lo}..{hi} stretched to 0..255 (same window for every crop)"
        ));
    }
    let folder = slug(&src.id);
    let original_file = format!("{folder}/original.webp");
    let (w, h) = (rect.2, rect.3);
    let orig_rgba = display_rgba(original, rect, window, original.depth());
    write_crop(
        run_dir,
        &original_file,
        &webp_lossless(&orig_rgba, w, h),
        &mut saved,
    );
    let reference = heat_reference(&orig_rgba, w, h);
    let mut cells = Vec::new();
    for (rec, role, why) in wanted(pick, curves, src) {
        match cell_pixels(rec, run_dir, by_spec, original) {
            Ok((img, source)) => {
                let name = slug(&rec.spec);
                let file = format!("{folder}/{name}.webp");
                let rgba = display_rgba(&img, rect, window, original.depth());
                if !write_crop(run_dir, &file, &webp_lossless(&rgba, w, h), &mut saved) {
                    continue;
                }
                let heat = reference.as_ref().and_then(|r| error_map(r, &rgba, w, h));
                let heat_file = format!("{folder}/{name}.heat.webp");
                let heatmap = heat
                    .filter(|m| {
                        let webp = webp_lossless(&m.rgba, m.width, m.height);
                        write_crop(run_dir, &heat_file, &webp, &mut saved)
                    })
                    .map(|_| heat_file);
                cells.push(CellEntry {
                    spec: rec.spec.clone(),
                    bpp: rec.bpp.unwrap_or(f64::NAN),
                    psnr: rec.psnr,
                    bytes: rec.bytes,
                    file,
                    source,
                    chosen: why,
                    role,
                    setting: rec.setting,
                    heatmap,
                });
            }
            Err(e) => {
                saved
                    .warnings
                    .push(format!("crop of {} {}: {e}", src.id, rec.spec));
                notes.push(format!("{}: {e}", rec.spec));
            }
        }
    }
    let (x, y, width, height) = rect;
    let entry = ImageEntry {
        image: src.id.clone(),
        image_hash: src.hash().to_string(),
        rect: Rect {
            x,
            y,
            width,
            height,
        },
        notes,
        original: original_file,
        cells,
    };
    (entry, saved)
}

/// The decoded pixels of a cell, and where they came from: the saved encoded file when the
/// run kept it, else the source encoded again.
fn cell_pixels(
    rec: &CellRecord,
    run_dir: &Path,
    by_spec: &HashMap<String, &CodecConfig>,
    original: &Image,
) -> Result<(Image, Source), CutError> {
    let config = &config_of(rec, by_spec)?;
    let path = run_dir.join(&rec.encoded_file);
    if !rec.encoded_file.is_empty() && path.is_file() {
        let kept = std::fs::read(&path).map_err(|source| CutError::ReadEncoded {
            path: path.clone(),
            source,
        })?;
        if Some(kept.len() as u64) != rec.bytes {
            return Err(CutError::KeptSize {
                path,
                have: kept.len(),
                measured: rec.bytes,
            });
        }
        Ok((
            codec_pixels(config, original, Some(&kept), rec.bytes)?,
            Source::SavedFile,
        ))
    } else {
        Ok((
            codec_pixels(config, original, None, rec.bytes)?,
            Source::ReEncoded,
        ))
    }
}

/// Every call into the codec: plans the codec's input layout, encodes `original` again unless
/// `kept` holds the encoded bytes (a new encoding must have `measured_bytes` bytes), decodes,
/// and brings the decoded image to the codec's input layout.
fn codec_pixels(
    config: &CodecConfig,
    original: &Image,
    kept: Option<&[u8]>,
    measured_bytes: Option<u64>,
) -> Result<Image, CutError> {
    let kernel = |e: &dyn std::fmt::Display| CutError::Kernel(e.to_string());
    let codec = &config.codec;
    let prep = Prep::plan(original.layout(), codec.input_layout(original.layout()))
        .map_err(|e| kernel(&e))?;
    let encoded;
    let bytes = match kept {
        Some(b) => b,
        None => {
            let input = prep.apply(original);
            encoded = crate::codec::catch(|| codec.encode(&input, &config.params))
                .map_err(|e| kernel(&e))?
                .bytes;
            if Some(encoded.len() as u64) != measured_bytes {
                return Err(CutError::ReEncodedSize {
                    got: encoded.len(),
                    measured: measured_bytes,
                });
            }
            &encoded
        }
    };
    let img = crate::codec::catch(|| codec.decode(bytes))
        .map_err(|e| kernel(&e))?
        .image;
    conform(img, prep.to).map_err(|e| kernel(&e))
}

/// Top-left corner and size of the crop with the most detail: gradient energy (absolute
/// horizontal plus vertical differences of the first channel) summed per 16x16 block once,
/// then the best window of blocks found with a 2-D prefix sum, so large images stay cheap.
pub fn busiest_region(img: &Image) -> (u32, u32, u32, u32) {
    const B: usize = 16;
    let (w, h) = (img.width as usize, img.height as usize);
    let (cw, ch) = (CROP.min(img.width), CROP.min(img.height));
    let (bw, bh) = (w / B, h / B);
    let (kw, kh) = (cw as usize / B, ch as usize / B);
    if bw == 0 || bh == 0 || kw == 0 || kh == 0 {
        return (0, 0, cw, ch);
    }
    let c = img.channels as usize;
    let at = |x: usize, y: usize| img.sample((y * w + x) * c) as i64;
    // prefix[(by)(bw+1) + bx]: energy of blocks above and left of (bx, by).
    let mut prefix = vec![0i64; (bw + 1) * (bh + 1)];
    for by in 0..bh {
        for bx in 0..bw {
            let mut e = 0i64;
            for y in by * B..((by + 1) * B).min(h - 1) {
                for x in bx * B..((bx + 1) * B).min(w - 1) {
                    e += (at(x + 1, y) - at(x, y)).abs() + (at(x, y + 1) - at(x, y)).abs();
                }
            }
            let i = (by + 1) * (bw + 1) + bx + 1;
            prefix[i] = e + prefix[i - 1] + prefix[i - bw - 1] - prefix[i - bw - 2];
        }
    }
    let sum = |x0: usize, y0: usize| {
        let (x1, y1) = (x0 + kw, y0 + kh);
        let p = |x: usize, y: usize| prefix[y * (bw + 1) + x];
        p(x1, y1) - p(x0, y1) - p(x1, y0) + p(x0, y0)
    };
    let mut best = (0, 0, -1i64);
    for y0 in 0..=bh - kh {
        for x0 in 0..=bw - kw {
            let e = sum(x0, y0);
            if e > best.2 {
                best = (x0, y0, e);
            }
        }
    }
    let x = ((best.0 * B) as u32).min(img.width - cw);
    let y = ((best.1 * B) as u32).min(img.height - ch);
    (x, y, cw, ch)
}

/// Min and max sample of the crop (16-bit display window).
fn sample_window(img: &Image, (x0, y0, w, h): (u32, u32, u32, u32)) -> (u32, u32) {
    let c = img.channels as usize;
    let colour = if img.layout().has_alpha() { c - 1 } else { c };
    let (mut lo, mut hi) = (u32::MAX, 0);
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            for k in 0..colour {
                let v = img.sample((y as usize * img.width as usize + x as usize) * c + k);
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    (lo, hi.max(lo + 1))
}

/// The crop as RGBA8 for display; samples are first brought to `source_depth` (8-bit decodes of a
/// 16-bit source are multiplied by 257), then windowed if a window is given.
fn display_rgba(
    img: &Image,
    (x0, y0, w, h): (u32, u32, u32, u32),
    window: Option<(u32, u32)>,
    source_depth: u8,
) -> Vec<u8> {
    let c = img.channels as usize;
    let scale = if source_depth == 16 && img.depth() == 8 {
        257
    } else {
        1
    };
    let peak = img.layout().peak() * scale;
    let to8 = |v: u32| -> u8 {
        let v = v * scale;
        match window {
            Some((lo, hi)) => ((v.clamp(lo, hi) - lo) as u64 * 255 / (hi - lo) as u64) as u8,
            None => (v as u64 * 255 / peak as u64) as u8,
        }
    };
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            let p = (y as usize * img.width as usize + x as usize) * c;
            let s = |k: usize| img.sample(p + k);
            let (r, g, b, a) = match c {
                1 => (s(0), s(0), s(0), None),
                2 => (s(0), s(0), s(0), Some(s(1))),
                3 => (s(0), s(1), s(2), None),
                _ => (s(0), s(1), s(2), Some(s(3))),
            };
            let alpha = a.map_or(255, |a| (a as u64 * 255 / img.layout().peak() as u64) as u8);
            out.extend_from_slice(&[to8(r), to8(g), to8(b), alpha]);
        }
    }
    out
}

/// Lossless WebP of RGBA8 pixels (libwebp's simple lossless encoder): the decoded pixels
/// exactly, in about two thirds of a PNG's bytes on photographs.
fn webp_lossless(rgba: &[u8], w: u32, h: u32) -> Vec<u8> {
    assert_eq!(rgba.len(), (w * h * 4) as usize);
    let mut out: *mut u8 = std::ptr::null_mut();
    // SAFETY: `rgba` holds w*h RGBA pixels with stride 4*w (asserted above); libwebp writes a
    // buffer it allocates into `out` and returns its length (0 on failure); it is copied and
    // released with WebPFree exactly once.
    unsafe {
        let len = libwebp_sys::WebPEncodeLosslessRGBA(
            rgba.as_ptr(),
            w as i32,
            h as i32,
            (w * 4) as i32,
            &mut out,
        );
        if out.is_null() {
            return Vec::new();
        }
        let bytes = std::slice::from_raw_parts(out, len).to_vec();
        libwebp_sys::WebPFree(out.cast());
        bytes
    }
}

/// sRGB 8-bit to linear light 0..1.
fn linear(v: u8) -> f32 {
    let c = v as f32 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear RGB of RGBA8 pixels (alpha ignored: the crops show colour as stored).
fn linear_rgb(rgba: &[u8]) -> Vec<f32> {
    rgba.chunks_exact(4)
        .flat_map(|p| [linear(p[0]), linear(p[1]), linear(p[2])])
        .collect()
}

/// Butteraugli's prepared view of the original crop (needs at least 8x8 pixels).
fn heat_reference(rgba: &[u8], w: u32, h: u32) -> Option<butteraugli::ButteraugliReference> {
    let params = butteraugli::ButteraugliParams::new().with_compute_diffmap(true);
    butteraugli::ButteraugliReference::new_linear(&linear_rgb(rgba), w as usize, h as usize, params)
        .ok()
}

/// Butteraugli distance per step of an error map's 8-bit value: 64 steps per unit, so the
/// map saturates at 4 (far beyond "clearly visible", 3).
pub const ERROR_MAP_SCALE: f32 = 64.0;

/// Steps of an error map's value kept: 8 (1/8 of a butteraugli unit). The page's colour map
/// changes over half a unit, so finer steps are not seen; coarser values compress better.
pub const ERROR_MAP_STEP: u8 = 8;

/// Each error map pixel covers this many crop pixels a side (the largest distance among
/// them, so a small artefact is not averaged away); butteraugli's map is smooth at this scale.
pub const ERROR_MAP_BLOCK: u32 = 2;

/// An error map: gray RGBA pixels and its size.
pub struct ErrorMap {
    pub rgba: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// The error map of a crop: butteraugli's per-pixel difference map of the displayed crop
/// against the original's displayed crop (both 8-bit sRGB, computed on the crop alone, so
/// the borders lack context), reduced to one value per [`ERROR_MAP_BLOCK`]-pixel block (the
/// block's largest distance) and stored as gray RGBA with value `64 * distance` rounded to a
/// multiple of [`ERROR_MAP_STEP`], at most 248. The page stretches it over the crop and
/// colours it (blue about 1, just noticeable; yellow 2; red 3 and above) over the original:
/// a guide to where to look, a quarter of the bytes of a full-size map. `None` for crops
/// smaller than 8x8.
pub fn error_map(
    reference: &butteraugli::ButteraugliReference,
    distorted: &[u8],
    w: u32,
    h: u32,
) -> Option<ErrorMap> {
    let res = reference.compare_linear(&linear_rgb(distorted)).ok()?;
    let map = res.diffmap?;
    let diff = map.buf();
    if diff.len() != (w * h) as usize {
        return None;
    }
    let b = ERROR_MAP_BLOCK;
    let (mw, mh) = (w.div_ceil(b), h.div_ceil(b));
    let mut rgba = Vec::with_capacity((mw * mh * 4) as usize);
    for my in 0..mh {
        for mx in 0..mw {
            let mut d = 0f32;
            for y in my * b..((my + 1) * b).min(h) {
                for x in mx * b..((mx + 1) * b).min(w) {
                    d = d.max(diff[(y * w + x) as usize]);
                }
            }
            let step = ERROR_MAP_STEP as f32;
            // The top step is the last multiple of the step below 256 (distance 3.9).
            let top = (255 / ERROR_MAP_STEP) as f32;
            let v = ((d * ERROR_MAP_SCALE / step).round().clamp(0.0, top) * step) as u8;
            rgba.extend_from_slice(&[v, v, v, 255]);
        }
    }
    Some(ErrorMap {
        rgba,
        width: mw,
        height: mh,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busiest_region_finds_the_detail() {
        // Flat 1000x700 gray with a noisy square at (800, 500).
        let (w0, h0) = (1000, 700);
        let mut data = vec![100u8; w0 * h0];
        for y in 500..500 + 64 {
            for x in 800..800 + 64 {
                data[y * w0 + x] = ((x * 31 + y * 17) % 256) as u8;
            }
        }
        let img = Image::new_u8(w0 as u32, h0 as u32, 1, data).unwrap();
        let (x, y, w, h) = busiest_region(&img);
        assert_eq!((w, h), (CROP, CROP));
        assert!(
            x <= 800 && x + w >= 864 && y <= 500 && y + h >= 564,
            "{x},{y}"
        );
    }

    #[test]
    fn sixteen_bit_crops_are_windowed() {
        let img = Image::new_u16(2, 1, 1, vec![1000, 2000]).unwrap();
        let rgba = display_rgba(&img, (0, 0, 2, 1), Some((1000, 2000)), 16);
        assert_eq!(rgba, vec![0, 0, 0, 255, 255, 255, 255, 255]);
    }

    #[test]
    fn webp_crops_are_lossless() {
        // Opaque pixels (libwebp may change the colour of fully transparent ones, unseen).
        let rgba: Vec<u8> = (0..16 * 8 * 4)
            .map(|i| {
                if i % 4 == 3 {
                    255
                } else {
                    (i * 37 % 251) as u8
                }
            })
            .collect();
        let webp = webp_lossless(&rgba, 16, 8);
        let back = image::load_from_memory(&webp).unwrap().to_rgba8();
        assert_eq!(back.into_raw(), rgba);
    }

    #[test]
    fn error_map_is_zero_where_equal_and_high_where_very_different() {
        let (w, h) = (32u32, 32u32);
        let orig: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let v = ((i % w) * 8) as u8;
                [v, v, v, 255]
            })
            .collect();
        let reference = heat_reference(&orig, w, h).unwrap();
        let same = error_map(&reference, &orig, w, h).unwrap();
        assert_eq!(
            (same.width, same.height),
            (w / 2, h / 2),
            "one value per 2x2 block"
        );
        assert!(
            same.rgba.chunks_exact(4).all(|p| p[0] == 0),
            "no difference: zero"
        );
        let mut bad = orig.clone();
        for p in bad.chunks_exact_mut(4).take((w * h / 2) as usize) {
            p[0] = 255;
            p[1] = 0;
        }
        let map = error_map(&reference, &bad, w, h).unwrap();
        assert!(map.rgba.chunks_exact(4).all(|p| p[0] % ERROR_MAP_STEP == 0));
        // Distance 3 (clearly visible) and more over much of the changed half (a quarter of
        // the map's 16x16 values is 64).
        let hot = map
            .rgba
            .chunks_exact(4)
            .filter(|p| p[0] as f32 >= 3.0 * ERROR_MAP_SCALE)
            .count();
        assert!(hot > 25, "{hot} values at distance 3 or more");
    }
}
