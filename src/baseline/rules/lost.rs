//! Rule: BASELINE cells that NEW does not have (a crashed codec, a shrunk corpus, a spec
//! changed without a label) are a regression unless `--allow-missing` says the loss is meant;
//! they are listed either way.

use crate::baseline::{Finding, Rule, Thresholds};
use crate::record::CellRecord;

pub fn check(only_baseline: &[&CellRecord], th: &Thresholds) -> Option<Finding> {
    let first = only_baseline.first()?;
    let text = format!(
        "{} BASELINE cell(s) missing from NEW (first: {} {}){}",
        only_baseline.len(),
        first.image,
        first.spec,
        if th.allow_missing {
            "; allowed by --allow-missing"
        } else {
            "; label a changed pipeline (LABEL=SPEC) to judge it, or pass --allow-missing if the loss is meant"
        }
    );
    Some(if th.allow_missing {
        Finding {
            rule: Rule::LostCells,
            verdict: crate::baseline::Verdict::Unchanged,
            text,
        }
    } else {
        Finding::regressed(Rule::LostCells, text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::tests::cell;
    use crate::baseline::Verdict;

    #[test]
    fn lost_cells_regress_unless_allowed() {
        assert_eq!(check(&[], &Thresholds::default()), None);
        let a = cell("a", 1.0, 1.0, 30.0);
        let f = check(&[&a], &Thresholds::default()).unwrap();
        assert_eq!(f.verdict, Verdict::Regressed);
        assert!(f
            .text
            .starts_with("1 BASELINE cell(s) missing from NEW (first: a jpeg:q=1)"));
        let allowed = Thresholds {
            allow_missing: true,
            ..Thresholds::default()
        };
        assert_eq!(check(&[&a], &allowed).unwrap().verdict, Verdict::Unchanged);
    }
}
