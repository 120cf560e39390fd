//! The gate's rules, one file each. A rule looks at one pipeline (its cells and matched pairs)
//! and adds findings (regressions, improvements) and figures to its comparison; the pipeline's
//! verdict is the fold of the findings. A new rule is a new file and one line in [`judge`].

pub mod bd_rate;
pub mod equal_quality;
pub mod failed;
pub mod lossless;
pub mod lost;
pub mod quality;
pub mod size;
pub mod time;

use super::{CurveComparison, Pipeline, Thresholds, Verdict};
use crate::metrics::MetricDef;

/// Runs every rule on `p`, in the order their findings are reported.
pub fn judge(
    p: &Pipeline,
    metrics: &[&'static MetricDef],
    th: &Thresholds,
    retimed: Option<&super::retime::Retimed>,
) -> CurveComparison {
    let version = |cells: &[&crate::record::CellRecord]| {
        cells
            .first()
            .map_or(String::new(), |r| r.codec_version.clone())
    };
    let mut out = CurveComparison {
        curve: p.name.clone(),
        labelled: p.labelled,
        baseline_spec: Pipeline::specs(&p.base),
        new_spec: Pipeline::specs(&p.new),
        baseline_version: version(&p.base),
        new_version: version(&p.new),
        cells: p.pairs.len(),
        ..CurveComparison::default()
    };
    failed::check(p, metrics, &mut out);
    lossless::check(p, &mut out);
    quality::check(p, metrics, th, &mut out);
    equal_quality::check(p, metrics, th, &mut out);
    size::check(p, th, &mut out);
    bd_rate::check(p, metrics, th, &mut out);
    time::check(p, th, retimed, &mut out);
    out.verdict = Verdict::fold(out.findings.iter().map(|f| f.verdict));
    out.reasons = out
        .findings
        .iter()
        .filter(|f| f.verdict == out.verdict)
        .map(|f| f.text.clone())
        .collect();
    out
}

pub(crate) use super::pipeline::both_ok;

#[cfg(test)]
pub(crate) mod testing {
    //! Hand-made pipelines for the rules' unit tests.
    use crate::baseline::Pipeline;
    use crate::record::CellRecord;

    /// A pipeline over `base` and `new`, pairing cells by index.
    pub fn pipeline<'a>(base: &'a [CellRecord], new: &'a [CellRecord]) -> Pipeline<'a> {
        Pipeline {
            name: "jpeg".into(),
            labelled: false,
            base: base.iter().collect(),
            new: new.iter().collect(),
            pairs: base.iter().zip(new).collect(),
        }
    }
}
