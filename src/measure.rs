//! What every cell measures beyond MSE/PSNR: the selectable metric set, the expensive view of
//! each original prepared once per codec input layout, and the scoring of a decoded image.
//!
//! Perceptual metrics see the compared channels only (`channels_compared`): the original with
//! the codec's channel mapping applied at its own bit depth, and the decoded image with 8-bit
//! samples of a 16-bit source expanded by 257, so every metric judges the same pixels PSNR does.

use crate::metrics::luma::psnr_y;
use crate::metrics::ssim::SsimReference;
use crate::metrics::ssimulacra2::Ssimulacra2Reference;
use crate::pixels::{Image, Layout, Prep};

/// A quality metric a sweep can measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// MSE and PSNR over all compared channels (always measured).
    Psnr,
    /// PSNR on full-range BT.601 luma.
    PsnrY,
    /// SSIM with scikit-image's settings.
    Ssim,
    /// 5-scale MS-SSIM.
    MsSsim,
    /// SSIMULACRA 2.1.
    Ssimulacra2,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Psnr,
        Metric::PsnrY,
        Metric::Ssim,
        Metric::MsSsim,
        Metric::Ssimulacra2,
    ];

    /// Name on the command line and in run.json.
    pub fn key(self) -> &'static str {
        match self {
            Metric::Psnr => "psnr",
            Metric::PsnrY => "psnr-y",
            Metric::Ssim => "ssim",
            Metric::MsSsim => "ms-ssim",
            Metric::Ssimulacra2 => "ssimulacra2",
        }
    }
}

/// The default metric set.
pub const DEFAULT_METRICS: &[Metric] = &[
    Metric::Psnr,
    Metric::PsnrY,
    Metric::Ssim,
    Metric::Ssimulacra2,
];

/// Parses `psnr,ssim,...`; PSNR is always included (MSE/PSNR are core columns).
pub fn parse_metrics(text: &str) -> Result<Vec<Metric>, String> {
    let mut out = vec![Metric::Psnr];
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let m = Metric::ALL
            .iter()
            .find(|m| m.key() == item)
            .ok_or_else(|| {
                let keys: Vec<&str> = Metric::ALL.iter().map(|m| m.key()).collect();
                format!(
                    "--metrics {text}: unknown metric \"{item}\" (known: {})",
                    keys.join(", ")
                )
            })?;
        if !out.contains(m) {
            out.push(*m);
        }
    }
    Ok(out)
}

/// The metric set as recorded in run.json and in cache keys, e.g. "psnr,psnr-y,ssim".
pub fn set_id(metrics: &[Metric]) -> String {
    metrics
        .iter()
        .map(|m| m.key())
        .collect::<Vec<_>>()
        .join(",")
}

/// Scores of one decoded image; `None` where not measured or not defined (see `notes`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scores {
    pub psnr_y: Option<f64>,
    pub ssim: Option<f64>,
    pub ms_ssim: Option<f64>,
    pub ssimulacra2: Option<f64>,
    /// Why a selected metric has no value, e.g. "ssim: image smaller than the 11x11 window".
    pub notes: Vec<String>,
}

/// The original's compared channels (per `prep`), at the source depth.
fn original_view(source: &Image, prep: &Prep) -> Image {
    let map: Vec<Option<u8>> = prep.map.iter().copied().filter(Option::is_some).collect();
    Prep {
        from: source.layout(),
        to: Layout::new(map.len() as u8, source.depth()),
        map,
    }
    .apply(source)
}

/// The decoded image's compared channels, at the source depth.
fn decoded_view(decoded: &Image, prep: &Prep, source_depth: u8) -> Image {
    let map: Vec<Option<u8>> = prep
        .map
        .iter()
        .enumerate()
        .filter(|(_, m)| m.is_some())
        .map(|(c, _)| Some(c as u8))
        .collect();
    Prep {
        from: decoded.layout(),
        to: Layout::new(map.len() as u8, source_depth),
        map,
    }
    .apply(decoded)
}

/// What the metrics need from one original for one codec input layout, built once.
pub struct Reference {
    metrics: Vec<Metric>,
    depth: u8,
    view: Image,
    ssim: Option<SsimReference>,
    ssimulacra2: Option<Ssimulacra2Reference>,
}

impl Reference {
    pub fn new(source: &Image, prep: &Prep, metrics: &[Metric]) -> Reference {
        let view = original_view(source, prep);
        let wants = |m: Metric| metrics.contains(&m);
        Reference {
            metrics: metrics.to_vec(),
            depth: source.depth(),
            ssim: (wants(Metric::Ssim) || wants(Metric::MsSsim)).then(|| SsimReference::new(&view)),
            ssimulacra2: wants(Metric::Ssimulacra2).then(|| Ssimulacra2Reference::new(&view)),
            view,
        }
    }

    /// Scores `decoded` (in the codec's layout, `prep.to`).
    pub fn score(&self, decoded: &Image, prep: &Prep) -> Scores {
        let dist = decoded_view(decoded, prep, self.depth);
        let mut s = Scores::default();
        let mut note = |m: Metric, e: String| s.notes.push(format!("{}: {e}", m.key()));
        for m in &self.metrics {
            match m {
                Metric::Psnr => {}
                Metric::PsnrY => match psnr_y(&self.view, &dist) {
                    Ok(v) => s.psnr_y = Some(v),
                    Err(e) => note(*m, e),
                },
                Metric::Ssim => match self.ssim.as_ref().map(|r| r.ssim(&dist)) {
                    Some(Ok(v)) => s.ssim = Some(v.mean),
                    Some(Err(e)) => note(*m, e),
                    None => {}
                },
                Metric::MsSsim => match self.ssim.as_ref().map(|r| r.ms_ssim(&dist)) {
                    Some(Ok(v)) => s.ms_ssim = Some(v),
                    Some(Err(e)) => note(*m, e),
                    None => {}
                },
                Metric::Ssimulacra2 => match self.ssimulacra2.as_ref().map(|r| r.score(&dist)) {
                    Some(Ok(v)) => s.ssimulacra2 = Some(v),
                    Some(Err(e)) => note(*m, e),
                    None => {}
                },
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_psnr_and_rejects_unknown_names() {
        assert_eq!(parse_metrics("ssim").unwrap(), [Metric::Psnr, Metric::Ssim]);
        assert_eq!(set_id(DEFAULT_METRICS), "psnr,psnr-y,ssim,ssimulacra2");
        let e = parse_metrics("ssim,vmaf").unwrap_err();
        assert!(
            e.contains("unknown metric \"vmaf\"") && e.contains("ms-ssim"),
            "{e}"
        );
    }

    #[test]
    fn views_pair_the_compared_channels_at_source_depth() {
        // RGBA 16-bit source, codec saw RGB8 (alpha dropped, depth reduced).
        let src = Image::new_u16(1, 1, 4, vec![257 * 3, 0, 65535, 1000]).unwrap();
        let prep = Prep::plan(src.layout(), Layout::new(3, 8)).unwrap();
        let view = original_view(&src, &prep);
        assert_eq!(view.layout(), Layout::new(3, 16));
        let dec = Image::new_u8(1, 1, 3, vec![3, 0, 255]).unwrap();
        let dview = decoded_view(&dec, &prep, 16);
        assert_eq!(dview, view, "exact decode gives identical views");
        // Gray source, codec saw RGB: both views are RGB.
        let g = Image::new_u8(1, 1, 1, vec![9]).unwrap();
        let prep = Prep::plan(g.layout(), Layout::new(3, 8)).unwrap();
        assert_eq!(original_view(&g, &prep).channels, 3);
    }
}
