//! What every cell measures beyond MSE/PSNR: each original prepared once per codec input
//! layout for the selected metrics (the scorers of `crate::metrics::METRICS`), and the scoring
//! of a decoded image.
//!
//! Perceptual metrics see the compared channels only (`channels_compared`): the original with
//! the codec's channel mapping applied at its own bit depth, and the decoded image with 8-bit
//! samples of a 16-bit source expanded by 257, so every metric judges the same pixels PSNR does.

use crate::metrics::{distortion_and_luma, Distortion, MetricDef, Prepared, METRICS};
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
    /// The decoded view equalled the original's bit for bit, so the values are the known
    /// scores of identical images, not computed (results.csv `metrics_source` = `exact`).
    pub exact: bool,
}

impl Default for Scores {
    fn default() -> Self {
        Scores {
            values: vec![None; METRICS.len()],
            notes: Vec::new(),
            exact: false,
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
    /// order they were selected (the order of the notes). Metrics sharing a prepared original
    /// are scored by one call. A decoded view identical to the original's, bit for bit, gets
    /// the values known for identical images without computing them (`Scores::exact`).
    pub fn score(&self, decoded: &Image, prep: &Prep) -> Scores {
        self.score_given(decoded, prep, None)
    }

    /// MSE/PSNR of `decoded` against `source` ([`crate::metrics::distortion`]) and its
    /// [`Self::score`]s, with PSNR-Y (when selected) taken from the same pass over the pixels as
    /// PSNR: bit for bit the value of the separate PSNR-Y pass, which this saves.
    pub fn measure(&self, source: &Image, decoded: &Image, prep: &Prep) -> (Distortion, Scores) {
        let luma = self.metrics.iter().any(|m| m.key == "psnr-y");
        let d = distortion_and_luma(source, decoded, prep, luma);
        let scores = self.score_given(decoded, prep, d.psnr_y);
        (d, scores)
    }

    /// [`Self::score`], with PSNR-Y's value already known when `psnr_y` is given.
    fn score_given(&self, decoded: &Image, prep: &Prep, psnr_y: Option<f64>) -> Scores {
        let dist = decoded_view(decoded, prep, self.depth);
        let mut s = Scores {
            exact: dist == self.view,
            ..Scores::default()
        };
        // One call per prepared original, for all of its selected metrics (in table order).
        let mut results: Vec<(Metric, Result<f64, crate::metrics::ScoreError>)> = Vec::new();
        for (key, p) in &self.prepared {
            let group: Vec<Metric> = METRICS
                .iter()
                .filter(|m| self.metrics.contains(m))
                .filter(|m| m.scorer.as_ref().is_some_and(|sc| sc.prepare_key == *key))
                .collect();
            let Some(scorer) = group.first().and_then(|m| m.scorer.as_ref()) else {
                continue;
            };
            if let (Some(v), "psnr-y", false) = (psnr_y, *key, s.exact) {
                results.extend(group.into_iter().map(|m| (m, Ok(v))));
            } else if s.exact {
                for m in group {
                    let exact = m.scorer.as_ref().map_or(scorer.exact, |sc| sc.exact);
                    results.push((m, exact(p.as_ref(), &self.view)));
                }
            } else {
                let keys: Vec<&str> = group.iter().map(|m| m.key).collect();
                let values = (scorer.score)(p.as_ref(), &self.view, &dist, &keys);
                results.extend(group.into_iter().zip(values));
            }
        }
        for m in &self.metrics {
            let (Some(i), Some(at)) = (index(m), results.iter().position(|(r, _)| r == m)) else {
                continue;
            };
            match results.swap_remove(at).1 {
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
        assert_eq!(
            keys,
            [
                "psnr-y",
                "ssim",
                "ms-ssim",
                "ssimulacra2",
                "butteraugli",
                "butteraugli-3norm"
            ]
        );
        assert!(s.exact, "identical views take the shortcut");
    }

    #[test]
    fn exact_cells_get_the_known_scores_and_computed_cells_match_them() {
        // 176x168: large enough for every metric, MS-SSIM included.
        let n = 176 * 168 * 3;
        let src =
            Image::new_u8(176, 168, 3, (0..n).map(|i| (i * 7 % 251) as u8).collect()).unwrap();
        let prep = Prep::plan(src.layout(), src.layout()).unwrap();
        let all =
            crate::metrics::parse_metrics("psnr-y,ssim,ms-ssim,ssimulacra2,butteraugli").unwrap();
        let r = Reference::new(&src, &prep, &all);
        let exact = r.score(&src, &prep);
        assert!(exact.exact && exact.notes.is_empty(), "{:?}", exact.notes);
        // The computed scores of an identical image (one pixel changed and back: the
        // shortcut compares values, so make a view it cannot take) equal the known ones.
        let mut other = src.clone();
        if let crate::pixels::Samples::U8(v) = &mut other.samples {
            v[0] ^= 1;
        }
        let near = r.score(&other, &prep);
        assert!(!near.exact);
        let find = |k| crate::metrics::find(k).unwrap();
        let want = [
            ("psnr-y", f64::INFINITY),
            ("ssim", 1.0),
            ("ms-ssim", 1.0),
            ("ssimulacra2", 100.0),
            ("butteraugli", 0.0),
            ("butteraugli-3norm", 0.0),
        ];
        for (k, v) in want {
            assert_eq!(exact.get(find(k)), Some(v), "{k}");
            let computed = near.get(find(k)).unwrap();
            assert!(
                computed != v,
                "{k}: one changed sample must show ({computed})"
            );
        }
        // Too small for some metrics: the shortcut keeps their notes.
        let tiny = Image::new_u8(9, 9, 1, vec![7; 81]).unwrap();
        let prep = Prep::plan(tiny.layout(), tiny.layout()).unwrap();
        let s = Reference::new(&tiny, &prep, &all).score(&tiny, &prep);
        assert!(s.exact);
        assert_eq!(s.get(find("psnr-y")), Some(f64::INFINITY));
        assert_eq!(s.get(find("butteraugli")), Some(0.0));
        assert_eq!(s.get(find("ssim")), None);
        assert!(
            s.notes.iter().any(|n| n.starts_with("ssim: image smaller")),
            "{:?}",
            s.notes
        );
        assert!(
            s.notes.iter().any(|n| n.starts_with("ms-ssim: ")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn psnr_y_fused_with_psnr_is_bit_identical_to_its_own_pass() {
        use crate::metrics::{distortion, luma::psnr_y};
        // Pseudo-random samples of any depth (a fixed LCG).
        let noise = |n: usize, seed: u32, peak: u32| -> Vec<u32> {
            let mut s = seed;
            (0..n)
                .map(|_| {
                    s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (s >> 8) % (peak + 1)
                })
                .collect()
        };
        let image = |c: u8, depth: u8, seed: u32| {
            let v = noise(
                37 * 23 * c as usize,
                seed,
                if depth == 8 { 255 } else { 65535 },
            );
            if depth == 8 {
                Image::new_u8(37, 23, c, v.iter().map(|&s| s as u8).collect()).unwrap()
            } else {
                Image::new_u16(37, 23, c, v.iter().map(|&s| s as u16).collect()).unwrap()
            }
        };
        let metrics = crate::metrics::parse_metrics("psnr-y").unwrap();
        let psnr_y_metric = crate::metrics::find("psnr-y").unwrap();
        // (source channels, depth; codec layout): same layout, alpha dropped, gray to RGB,
        // 16-bit source through an 8-bit codec, gray, gray+alpha.
        let cases = [
            (3, 8, Layout::new(3, 8)),
            (4, 8, Layout::new(3, 8)),
            (1, 8, Layout::new(3, 8)),
            (3, 16, Layout::new(3, 8)),
            (4, 16, Layout::new(4, 16)),
            (1, 16, Layout::new(1, 16)),
            (2, 8, Layout::new(2, 8)),
        ];
        for (i, (c, depth, to)) in cases.into_iter().enumerate() {
            let src = image(c, depth, i as u32);
            let prep = Prep::plan(src.layout(), to).unwrap();
            let decoded = image(to.channels, to.depth, 100 + i as u32);
            let r = Reference::new(&src, &prep, &metrics);
            let (d, scores) = r.measure(&src, &decoded, &prep);
            let what = format!("{} -> {to}", src.layout());
            let separate = psnr_y(
                &original_view(&src, &prep),
                &decoded_view(&decoded, &prep, src.depth()),
            )
            .unwrap();
            assert!(separate.is_finite() && separate > 0.0, "{what}: {separate}");
            assert_eq!(
                d.psnr_y.map(f64::to_bits),
                Some(separate.to_bits()),
                "{what}"
            );
            let got = scores.get(psnr_y_metric).unwrap();
            assert_eq!(got.to_bits(), separate.to_bits(), "{what}");
            // PSNR and MSE are those of the plain pass, bit for bit.
            let plain = distortion(&src, &decoded, &prep);
            assert_eq!(
                (d.mse.to_bits(), d.psnr.to_bits()),
                (plain.mse.to_bits(), plain.psnr.to_bits()),
                "{what}"
            );
            assert_eq!(d.channels, plain.channels, "{what}");
            assert_eq!(scores, r.score(&decoded, &prep), "{what}");
        }
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
