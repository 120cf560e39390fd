//! Which cells of BASELINE and NEW are the same pipeline, and which cells pair up.
//!
//! A labelled cell (`site=jpeg:q=80`) belongs to the pipeline of its label: its cells pair up
//! by image and setting value, and an image that has a single cell on each side pairs those
//! (a changed setting is the change to judge). An unlabelled cell belongs to its curve (codec
//! and options) and pairs by image and exact spec, as before labels. Probe cells of a target
//! search are never judged one by one: they are left out here and judged through targets.csv.

use std::collections::HashMap;

use crate::record::CellRecord;

/// One pipeline present in both runs.
#[derive(Clone, Debug)]
pub struct Pipeline<'a> {
    /// The label, or the curve of an unlabelled pipeline.
    pub name: String,
    pub labelled: bool,
    /// Every (non-probe) cell of the pipeline, per side.
    pub base: Vec<&'a CellRecord>,
    pub new: Vec<&'a CellRecord>,
    /// Matched cells, BASELINE first.
    pub pairs: Vec<(&'a CellRecord, &'a CellRecord)>,
}

impl Pipeline<'_> {
    /// The specs one side ran: the spec when there is one, else the curve and the count.
    pub fn specs(cells: &[&CellRecord]) -> String {
        let mut specs: Vec<&str> = cells.iter().map(|r| r.spec.as_str()).collect();
        specs.sort();
        specs.dedup();
        match specs.as_slice() {
            [] => "-".into(),
            [one] => one.to_string(),
            _ => {
                let mut curves: Vec<&str> = cells.iter().map(|r| r.curve.as_str()).collect();
                curves.sort();
                curves.dedup();
                format!("{} ({} settings)", curves.join(" + "), specs.len())
            }
        }
    }
}

/// The pipelines of two runs, and the cells that match nothing.
pub struct Matching<'a> {
    pub pipelines: Vec<Pipeline<'a>>,
    /// BASELINE cells (ok, not probes) with nothing to be judged against in NEW.
    pub only_baseline: Vec<&'a CellRecord>,
    pub only_new: Vec<&'a CellRecord>,
}

fn pipeline_of(r: &CellRecord) -> (bool, &str) {
    if r.label.is_empty() {
        (false, r.curve.as_str())
    } else {
        (true, r.label.as_str())
    }
}

type ImageKey<'a> = (&'a str, &'a str);

fn image_of(r: &CellRecord) -> ImageKey<'_> {
    (r.image_hash.as_str(), r.image.as_str())
}

/// Groups both runs into pipelines (in BASELINE's order) and pairs their cells.
pub fn pipelines<'a>(base: &'a [CellRecord], new: &'a [CellRecord]) -> Matching<'a> {
    let swept = |rs: &'a [CellRecord]| rs.iter().filter(|r| !r.probe).collect::<Vec<_>>();
    let (base, new) = (swept(base), swept(new));
    let mut names: Vec<(bool, &str)> = Vec::new();
    for r in &base {
        let k = pipeline_of(r);
        if !names.contains(&k) && new.iter().any(|n| pipeline_of(n) == k) {
            names.push(k);
        }
    }
    let mut out = Vec::new();
    for (labelled, name) in names {
        let b: Vec<&CellRecord> = base
            .iter()
            .copied()
            .filter(|r| pipeline_of(r) == (labelled, name))
            .collect();
        let n: Vec<&CellRecord> = new
            .iter()
            .copied()
            .filter(|r| pipeline_of(r) == (labelled, name))
            .collect();
        let pairs = if labelled {
            pair_labelled(&b, &n)
        } else {
            pair_by_spec(&b, &n)
        };
        out.push(Pipeline {
            name: name.to_string(),
            labelled,
            base: b,
            new: n,
            pairs,
        });
    }
    // A BASELINE cell is lost when NEW has nothing to judge it against: no cell of its spec
    // (unlabelled), or no cell of its label on its image (labelled).
    let judged = |r: &CellRecord, other: &[&CellRecord]| {
        other.iter().any(|o| {
            pipeline_of(o) == pipeline_of(r)
                && image_of(o) == image_of(r)
                && (!r.label.is_empty() || o.spec == r.spec)
        })
    };
    let only_baseline = base
        .iter()
        .copied()
        .filter(|r| r.is_ok() && !judged(r, &new))
        .collect();
    let only_new = new.iter().copied().filter(|r| !judged(r, &base)).collect();
    Matching {
        pipelines: out,
        only_baseline,
        only_new,
    }
}

fn pair_by_spec<'a>(
    b: &[&'a CellRecord],
    n: &[&'a CellRecord],
) -> Vec<(&'a CellRecord, &'a CellRecord)> {
    let by: HashMap<(ImageKey, &str), &CellRecord> = n
        .iter()
        .map(|r| ((image_of(r), r.spec.as_str()), *r))
        .collect();
    b.iter()
        .filter_map(|r| by.get(&(image_of(r), r.spec.as_str())).map(|m| (*r, *m)))
        .collect()
}

/// Labelled cells: by image and setting value; an image with one cell on each side that did
/// not pair so pairs those two.
fn pair_labelled<'a>(
    b: &[&'a CellRecord],
    n: &[&'a CellRecord],
) -> Vec<(&'a CellRecord, &'a CellRecord)> {
    let mut pairs = Vec::new();
    let mut images: Vec<ImageKey> = b.iter().map(|r| image_of(r)).collect();
    images.dedup();
    let mut seen = Vec::new();
    for img in images {
        if seen.contains(&img) {
            continue;
        }
        seen.push(img);
        let bi: Vec<&CellRecord> = b.iter().copied().filter(|r| image_of(r) == img).collect();
        let ni: Vec<&CellRecord> = n.iter().copied().filter(|r| image_of(r) == img).collect();
        let mut found = Vec::new();
        for r in &bi {
            let same = |m: &&&CellRecord| match (r.setting, m.setting) {
                (Some(x), Some(y)) => x == y,
                (None, None) => true,
                _ => false,
            };
            if let Some(m) = ni.iter().find(same) {
                found.push((*r, *m));
            }
        }
        if found.is_empty() && bi.len() == 1 && ni.len() == 1 {
            found.push((bi[0], ni[0]));
        }
        pairs.extend(found);
    }
    pairs
}

/// The ok pairs of a pipeline (both cells measured without error): what the rules and the
/// interleaved re-measurement judge.
pub(crate) fn both_ok<'a>(p: &Pipeline<'a>) -> Vec<(&'a CellRecord, &'a CellRecord)> {
    p.pairs
        .iter()
        .copied()
        .filter(|(b, n)| b.is_ok() && n.is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::tests::cell;

    fn labelled(image: &str, label: &str, spec: &str, setting: f64) -> CellRecord {
        let mut r = cell(image, setting, 1.0, 40.0);
        r.label = label.into();
        r.spec = spec.into();
        r.curve = spec.split(':').next().unwrap().into();
        r
    }

    #[test]
    fn labelled_cells_pair_whatever_the_spec() {
        let base = vec![labelled("a", "site", "jpeg:q=80", 80.0)];
        let new = vec![labelled("a", "site", "jpeg:q=70", 70.0)];
        let m = pipelines(&base, &new);
        assert_eq!(m.pipelines.len(), 1);
        assert_eq!(m.pipelines[0].pairs.len(), 1);
        assert!(m.only_baseline.is_empty() && m.only_new.is_empty());
        // Unlabelled, the same change leaves the BASELINE cell unmatched: lost.
        let (mut b, mut n) = (base.clone(), new.clone());
        b[0].label.clear();
        n[0].label.clear();
        let m = pipelines(&b, &n);
        assert_eq!(m.pipelines[0].pairs.len(), 0);
        assert_eq!(m.only_baseline.len(), 1);
    }

    #[test]
    fn sweeps_pair_by_setting_and_probes_are_left_out() {
        let base: Vec<CellRecord> = [50.0, 70.0, 90.0]
            .iter()
            .map(|q| labelled("a", "site", &format!("webp:q={q},method=4"), *q))
            .collect();
        let mut new: Vec<CellRecord> = [50.0, 70.0, 90.0]
            .iter()
            .map(|q| labelled("a", "site", &format!("webp:q={q},method=0"), *q))
            .collect();
        let mut probe = labelled("a", "site", "webp:q=1,method=0", 1.0);
        probe.probe = true;
        new.push(probe);
        let m = pipelines(&base, &new);
        let p = &m.pipelines[0];
        assert_eq!(p.pairs.len(), 3);
        assert!(p.pairs.iter().all(|(b, n)| b.setting == n.setting));
        assert_eq!(p.new.len(), 3, "the probe is not a cell of the pipeline");
        assert!(m.only_new.is_empty());
        // An image NEW lost entirely is listed.
        let m = pipelines(&base, &new[..0]);
        assert_eq!(m.only_baseline.len(), 3);
    }
}
