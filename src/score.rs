//! `codecbench score ORIGINAL DISTORTED...`: every selected metric for each distorted image
//! against one original, without a sweep (like the dssim and ssimulacra2 tools), so a single
//! file or a decoder can be checked directly.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::corpus::decode_bytes;
use crate::measure::{Metric, Reference};
use crate::metrics::distortion;
use crate::pixels::{conform, Image, Layout, Prep};

/// Scores of one distorted file. JSON has no infinity: `psnr` is null when `identical`.
#[derive(Clone, Debug, Serialize)]
pub struct ScoreRow {
    pub file: String,
    pub channels_compared: String,
    pub identical: bool,
    pub mse: f64,
    pub psnr: Option<f64>,
    pub psnr_y: Option<f64>,
    pub ssim: Option<f64>,
    pub ms_ssim: Option<f64>,
    pub ssimulacra2: Option<f64>,
    pub notes: String,
}

fn load(path: &Path) -> Result<Image, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("{}: cannot read ({e})", path.display()))?;
    if bytes.is_empty() {
        return Err(format!("{}: empty file (0 bytes)", path.display()));
    }
    decode_bytes(&bytes, u64::MAX).map_err(|e| format!("{}: {e}", path.display()))
}

/// Pairs the distorted image's channels with the original's: the distorted layout plays the
/// role of the codec's layout (gray replicated, alpha dropped, depth reduced as in a sweep).
fn pair(orig: &Image, dist: Image, o: &Path, d: &Path) -> Result<(Prep, Image), String> {
    if (orig.width, orig.height) != (dist.width, dist.height) {
        return Err(format!(
            "{}: {}x{} does not match the original {} ({}x{})",
            d.display(),
            dist.width,
            dist.height,
            o.display(),
            orig.width,
            orig.height
        ));
    }
    let depth = dist.depth().min(orig.depth());
    let target = Layout::new(dist.channels, depth);
    let prep = Prep::plan(orig.layout(), target).map_err(|e| {
        format!(
            "{}: {} cannot be compared with the original's {} ({e})",
            d.display(),
            dist.layout(),
            orig.layout()
        )
    })?;
    let dist = conform(dist, target).map_err(|e| format!("{}: {e}", d.display()))?;
    Ok((prep, dist))
}

/// Scores every distorted file; a file that cannot be scored gives an `Err` naming it.
pub fn score_files(
    original: &Path,
    distorted: &[PathBuf],
    metrics: &[Metric],
) -> Result<Vec<Result<ScoreRow, String>>, String> {
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
            Ok(ScoreRow {
                file: d.display().to_string(),
                channels_compared: prep.channels_compared(),
                identical: dd.mse == 0.0,
                mse: dd.mse,
                psnr: dd.psnr.is_finite().then_some(dd.psnr),
                psnr_y: s.psnr_y.filter(|v| v.is_finite()),
                ssim: s.ssim,
                ms_ssim: s.ms_ssim,
                ssimulacra2: s.ssimulacra2,
                notes: s.notes.join("; "),
            })
        })
        .collect())
}

/// A plain table: one line per file.
pub fn text(rows: &[ScoreRow], metrics: &[Metric]) -> String {
    let f = |v: Option<f64>, d: usize, identical: bool| match v {
        Some(x) => format!("{x:.d$}"),
        None if identical => "inf".into(),
        None => "-".into(),
    };
    let mut head = vec!["file", "compared", "MSE", "PSNR"];
    let labels = [
        (Metric::PsnrY, "PSNR-Y"),
        (Metric::Ssim, "SSIM"),
        (Metric::MsSsim, "MS-SSIM"),
        (Metric::Ssimulacra2, "SSIMULACRA2"),
    ];
    head.extend(
        labels
            .iter()
            .filter(|(m, _)| metrics.contains(m))
            .map(|(_, l)| *l),
    );
    let mut out = head.join("\t") + "\n";
    for r in rows {
        let mut cells = vec![
            r.file.clone(),
            r.channels_compared.clone(),
            format!("{:.6}", r.mse),
            f(r.psnr, 4, r.identical),
        ];
        for (m, _) in labels.iter().filter(|(m, _)| metrics.contains(m)) {
            cells.push(match m {
                Metric::PsnrY => f(r.psnr_y, 4, r.identical),
                Metric::Ssim => f(r.ssim, 6, false),
                Metric::MsSsim => f(r.ms_ssim, 6, false),
                _ => f(r.ssimulacra2, 4, false),
            });
        }
        out += &cells.join("\t");
        if !r.notes.is_empty() {
            out += &format!("\t({})", r.notes);
        }
        out.push('\n');
    }
    out
}
