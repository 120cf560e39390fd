//! scripts/slurm/shards.sbatch on a real Slurm (issue 26): scripts/slurm/local.sh starts munged,
//! slurmctld and slurmd for a 2-CPU node on localhost, submits the job array of 3 shards (whose
//! first task submits the dependent merge job) and waits; the merged results.csv must equal an
//! unsharded run's, timing columns aside. Needs slurm-wlm and munge (installed by .ci/run) and
//! root; without them the test says so and passes, except under CI, where it fails.

mod common;

use std::path::Path;
use std::process::Command;

use codecbench::record::CellRecord;

fn have(program: &str) -> bool {
    codecbench::codec::external::find_program(program).is_some()
}

#[test]
fn the_sbatch_script_runs_on_a_real_slurm_and_merges_to_the_unsharded_run() {
    let root = unsafe { libc::geteuid() } == 0;
    if !(have("slurmctld") && have("slurmd") && have("munged") && root) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the Slurm test: install slurm-wlm and munge (.ci/run does) and run as root"
        );
        eprintln!("skipped: slurm-wlm, munge or root missing");
        return;
    }
    let (dir, corpus) = common::small_corpus();
    let d = dir.path();
    let sweep = d.join("sweep.toml");
    std::fs::write(
        &sweep,
        "codec = [\"png:preset=0\", \"jpeg:q=30..90:20\", \"webp:q=50,80\"]\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_codecbench");
    let run = d.join("slurm");
    let out = Command::new(common::root().join("scripts/slurm/local.sh"))
        .args([Path::new(bin), &corpus, &run])
        .arg("3")
        .env("SWEEP", &sweep)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "local.sh failed:\n{text}");
    eprintln!("{text}");

    let all = d.join("all");
    let status = Command::new(bin)
        .args(["run", "--quiet", "--no-cache", "--no-report", "--jobs", "2"])
        .arg("--sweep")
        .arg(&sweep)
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&all)
        .status()
        .unwrap();
    assert!(status.success());
    let sizes: Vec<usize> = (1..=3)
        .map(|k| {
            codecbench::export::read_csv::<CellRecord>(&run.join(format!("shard-{k}/results.csv")))
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 4 * 7, "{sizes:?}");
    assert!(
        sizes.iter().all(|&n| n > 0),
        "every shard ran cells: {sizes:?}"
    );
    // The shards measured into a fresh cache, so `cached` is false in both.
    assert_eq!(
        common::without_timing(&run.join("merged/results.csv")),
        common::without_timing(&all.join("results.csv"))
    );
}
