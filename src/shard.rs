//! `--shard K/N`: a deterministic share of a sweep's cells, balanced by expected cost, so N
//! machines (a Slurm job array, a Kubernetes Indexed Job) can split one sweep and `merge` can
//! put the pieces back together.

/// A share that is not "K/N" with 1 <= K <= N.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("write K/N with 1 <= K <= N, e.g. 2/8 (not \"{text}\")")]
pub struct BadShard {
    pub text: String,
}

/// Parses "K/N" (1 <= K <= N).
pub fn parse(text: &str) -> Result<(usize, usize), BadShard> {
    let bad = || BadShard {
        text: text.to_string(),
    };
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// Assigns every cell to one of `n` shards (0-based): cells in order of decreasing cost (ties
/// by index) each go to the shard with the least total cost so far (ties to the lowest shard).
/// A pure function of the costs, so every machine computes the same split.
pub fn assign(costs: &[f64], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let mut load = vec![0.0f64; n];
    let mut shard = vec![0; costs.len()];
    for i in order {
        let (best, _) = load
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1).then(a.0.cmp(&b.0)))
            .expect("n >= 1");
        shard[i] = best;
        load[best] += costs[i];
    }
    shard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_k_of_n_only() {
        assert_eq!(parse("2/8").unwrap(), (2, 8));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("write K/N") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn assignment_covers_every_cell_once_and_balances_cost() {
        let costs: Vec<f64> = (0..100).map(|i| ((i * 37) % 11 + 1) as f64).collect();
        let a = assign(&costs, 4);
        assert_eq!(a, assign(&costs, 4), "deterministic");
        let mut load = [0.0; 4];
        for (i, s) in a.iter().enumerate() {
            load[*s] += costs[i];
        }
        let (lo, hi) = (
            load.iter().cloned().fold(f64::MAX, f64::min),
            load.iter().cloned().fold(0.0, f64::max),
        );
        assert!(hi - lo <= 11.0, "{load:?}");
        assert_eq!(assign(&costs, 1), vec![0; 100]);
    }
}
