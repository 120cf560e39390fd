//! The regression gate's thresholds, assembled from the defaults, a sweep file's `[gate]` table
//! and the command-line flags (which win). Messages name the flag at fault.

use crate::baseline::Thresholds;
use crate::cli::CompareArgs;
use crate::config::read_gate;

/// A percentage limit from the command line: a number, or "off".
fn limit(flag: &str, v: &str) -> Result<Option<f64>, String> {
    if v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(Some)
        .ok_or_else(|| format!("{flag} {v}: give a non-negative number or \"off\""))
}

/// The thresholds of `compare`: defaults, then the sweep file's `[gate]` table, then flags.
pub fn thresholds(args: &CompareArgs) -> Result<Thresholds, String> {
    let mut th = Thresholds::default();
    if let Some(path) = &args.sweep {
        let g = read_gate(path).map_err(|e| format!("--sweep {e}"))?;
        th.max_bd_rate = g.max_bd_rate.or(th.max_bd_rate);
        th.max_size_increase = g.max_size_increase.or(th.max_size_increase);
        th.max_slowdown = g.max_slowdown.or(th.max_slowdown);
        th.noise = g.noise.unwrap_or(th.noise);
        th.max_quality_drop = g.max_quality_drop.into_iter().collect();
    }
    if let Some(v) = &args.max_bd_rate {
        th.max_bd_rate = limit("--max-bd-rate", v)?;
    }
    if let Some(v) = &args.max_size_increase {
        th.max_size_increase = limit("--max-size-increase", v)?;
    }
    if let Some(v) = &args.max_slowdown {
        th.max_slowdown = limit("--max-slowdown", v)?;
    }
    if let Some(n) = args.noise {
        th.noise = n;
    }
    if let Some(list) = &args.max_quality_drop {
        th.max_quality_drop.clear();
        for item in list.split(',') {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                format!("--max-quality-drop {item}: write METRIC=DROP, e.g. psnr=0.05")
            })?;
            if crate::metrics::find(k.trim()).is_none() {
                return Err(format!(
                    "--max-quality-drop {item}: unknown metric {k} (known: {})",
                    crate::metrics::known_keys()
                ));
            }
            let v = limit("--max-quality-drop", v.trim())?.unwrap_or(f64::INFINITY);
            th.max_quality_drop.push((k.trim().to_string(), v));
        }
    }
    Ok(th)
}
