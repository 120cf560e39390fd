//! What every cell measures beyond MSE/PSNR: each original prepared once per codec input
//! layout for the selected metrics (the scorers of `crate::metrics::METRICS`), and the scoring
//! of a decoded image.
//!
//! Perceptual metrics see the compared channels only (`channels_compared`): the original with
//! the codec's channel mapping applied at its own bit depth, and the decoded image with 8-bit
//! samples of a 16-bit source expanded by 257, so every metric judges the same pixels PSNR does.

use crate::metrics::{MetricDef, Prepared, METRICS};
use crate::pixels::{Image, Layout, Prep};

// The engine and the sweep name the selected metric set through this module; the table that
// defines it lives in `crate::metrics`.
pub use crate::metrics::{set_id, Metric};

/// Scores of one decoded image: one value per entry of [`METRICS`], in table order (`None`
/// where not selected, not defined, or for the core metric, which `distortion` measures).
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    values: Vec<Option<f64>>,
    /// Why a selected metric has no value, e.g. "ssim: image smaller than the 11x11 window".
    pub notes: Vec<String>,
}

impl Default for Scores {
    fn default() -> Self {
        Scores {
            values: vec![None; METRICS.len()],
            notes: Vec::new(),
        }
    }
}

impl Scores {
    /// The value of `metric`, if it was scored.
    pub fn get(&self, metric: &MetricDef) -> Option<f64> {
        index(metric).and_then(|i| self.values[i])
    }

    /// Every scored metric of the table (all but the core one) with its value, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (Metric, Option<f64>)> + '_ {
        METRICS
            .iter()
            .zip(&self.values)
            .filter(|(m, _)| !m.is_core())
            .map(|(m, v)| (m, *v))
    }
}

fn index(metric: &MetricDef) -> Option<usize> {
    METRICS.iter().position(|m| m == metric)
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
    /// One prepared original per distinct `prepare_key` of the selected metrics.
    prepared: Vec<(&'static str, Prepared)>,
}

impl Reference {
    /// Prepares `source`'s compared channels (per `prep`) for every selected metric.
    pub fn new(source: &Image, prep: &Prep, metrics: &[Metric]) -> Reference {
        let view = original_view(source, prep);
        let mut prepared: Vec<(&'static str, Prepared)> = Vec::new();
        for s in metrics.iter().filter_map(|m| m.scorer.as_ref()) {
            if !prepared.iter().any(|(k, _)| *k == s.prepare_key) {
                prepared.push((s.prepare_key, (s.prepare)(&view)));
            }
        }
        Reference {
            metrics: metrics.to_vec(),
            depth: source.depth(),
            view,
            prepared,
        }
    }

    /// Scores `decoded` (in the codec's layout, `prep.to`) on every selected metric, in the
    /// order they were selected (the order of the notes).
    pub fn score(&self, decoded: &Image, prep: &Prep) -> Scores {
        let dist = decoded_view(decoded, prep, self.depth);
        let mut s = Scores::default();
        for m in &self.metrics {
            let (Some(scorer), Some(i)) = (m.scorer.as_ref(), index(m)) else {
                continue;
            };
            let Some((_, p)) = self.prepared.iter().find(|(k, _)| *k == scorer.prepare_key) else {
                continue;
            };
            match (scorer.score)(p.as_ref(), &self.view, &dist) {
                Ok(v) => s.values[i] = Some(v),
                Err(e) => s.notes.push(format!("{}: {e}", m.key)),
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_selection_and_share_prepared_originals() {
        let src =
            Image::new_u8(12, 12, 1, (0..144).map(|i| (i * 7 % 256) as u8).collect()).unwrap();
        let prep = Prep::plan(src.layout(), src.layout()).unwrap();
        let metrics = crate::metrics::parse_metrics("ms-ssim,ssim,psnr-y").unwrap();
        let r = Reference::new(&src, &prep, &metrics);
        // SSIM and MS-SSIM share one prepared original; PSNR (core) has none.
        assert_eq!(r.prepared.len(), 2);
        let s = r.score(&src, &prep);
        let find = |k| crate::metrics::find(k).unwrap();
        assert_eq!(s.get(find("ssim")), Some(1.0));
        assert_eq!(s.get(find("psnr-y")), Some(f64::INFINITY));
        assert_eq!(
            s.get(find("ms-ssim")),
            None,
            "12x12 is too small for MS-SSIM"
        );
        assert_eq!(s.get(find("ssimulacra2")), None, "not selected");
        assert_eq!(s.notes.len(), 1);
        assert!(s.notes[0].starts_with("ms-ssim: "), "{:?}", s.notes);
        let keys: Vec<&str> = s.iter().map(|(m, _)| m.key).collect();
        assert_eq!(keys, ["psnr-y", "ssim", "ms-ssim", "ssimulacra2"]);
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
