//! run.json, the metadata of a run folder, as a type written by `run` and `merge` and read
//! back by `merge` and `report`. Every struct takes defaults for missing fields, so run.json
//! files written by older versions (without the newer fields) still read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::corpus::Skipped;

/// File name of the metadata in a run folder.
pub const RUN_JSON: &str = "run.json";

/// run.json.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunMeta {
    pub tool: String,
    pub tool_version: String,
    pub command: Vec<String>,
    pub started: String,
    pub finished: String,
    pub interrupted: bool,
    pub jobs: usize,
    pub repeat: u32,
    pub cpu_model: String,
    pub cpu_count: usize,
    pub os: String,
    pub codecs: Vec<CodecMeta>,
    pub specs: Vec<String>,
    /// How many of the first `specs` are the sweep's own; the rest are settings a target
    /// search added (probes). 0 in run.json files written before it was recorded: all swept.
    pub swept_specs: usize,
    /// Metrics measured in every cell (part of the cache key).
    pub metrics: String,
    pub hash_of: String,
    pub corpus: Vec<ImageMeta>,
    pub skipped: Vec<Skipped>,
    /// Cells of the whole sweep (every shard).
    pub cells_total: usize,
    /// Cells this run was to measure (this shard's).
    pub cells_planned: usize,
    pub cells_done: usize,
    pub cells_failed: usize,
    /// Cells taken from the cache.
    pub cells_cached: usize,
    pub cache_dir: Option<PathBuf>,
    /// [K, N] when this run is shard K of N.
    pub shard: Option<[usize; 2]>,
    pub timing: TimingMeta,
    /// Peak resident set size of the process over the run, bytes (getrusage; 0 when unknown,
    /// e.g. a merge).
    pub peak_rss_bytes: u64,
    /// The memory budget the run scheduled images under (`--max-memory`), bytes.
    pub max_memory_bytes: u64,
    /// Most images in work at once under that budget.
    pub max_images_in_flight: usize,
    /// How JPEG sources were decoded (the same decoder as the jpeg codec's cells).
    pub jpeg_source_decoder: String,
    /// Run folders this one was merged from (`codecbench merge`); empty for a plain run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<PathBuf>,
    /// codecbench's build, version and profile ([`this_build`]); empty in older run.json files.
    pub build: String,
    /// A merged run: the provenance of each input, in `merged_from` order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<Provenance>,
}

/// Where a run's numbers come from: the codecbench build, the codecs' versions and builds,
/// and the machine. Shards of one run must share it (`merge` refuses a mix).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    pub run: PathBuf,
    pub tool_version: String,
    pub build: String,
    pub machine: String,
    /// `name version (decoder)` per codec, in the run's order.
    pub codecs: Vec<String>,
}

impl Provenance {
    pub fn of(meta: &RunMeta, run: &Path) -> Provenance {
        Provenance {
            run: run.to_path_buf(),
            tool_version: meta.tool_version.clone(),
            build: meta.build.clone(),
            machine: format!("{} ({} cores, {})", meta.cpu_model, meta.cpu_count, meta.os),
            codecs: meta
                .codecs
                .iter()
                .map(|c| format!("{} {} (decoder: {})", c.name, c.version, c.decoder))
                .collect(),
        }
    }

    /// The first way `other` differs from `self`: (what, self's value, other's value).
    pub fn differs(&self, other: &Provenance) -> Option<(&'static str, String, String)> {
        for (what, a, b) in [
            (
                "codecbench version",
                &self.tool_version,
                &other.tool_version,
            ),
            ("codecbench build", &self.build, &other.build),
            ("machine", &self.machine, &other.machine),
        ] {
            if a != b {
                return Some((what, a.clone(), b.clone()));
            }
        }
        for c in &self.codecs {
            let name = c.split(' ').next().unwrap_or("");
            if let Some(o) = other
                .codecs
                .iter()
                .find(|o| o.split(' ').next() == Some(name) && *o != c)
            {
                return Some(("codec", c.clone(), o.clone()));
            }
        }
        None
    }
}

/// One codec used by the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CodecMeta {
    pub name: String,
    pub version: String,
    pub decoder: String,
    pub lossless: bool,
}

/// The CPU model from /proc/cpuinfo (the architecture where there is none).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// This machine as `compare` tells machines apart (CPU model, cores, OS): the cache records
/// it with each entry, so timings measured elsewhere are marked (`timing_source`).
pub fn this_machine() -> String {
    format!(
        "{} ({} cores, {} {})",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// This build of codecbench (version and profile): timings from another build of the harness
/// are marked too. Codec builds (e.g. mozjpeg with or without SIMD) are in each codec's
/// version, which is part of every cache key.
pub fn this_build() -> String {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!("codecbench {} ({profile})", env!("CARGO_PKG_VERSION"))
}

/// One image of the corpus.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageMeta {
    pub id: String,
    pub path: PathBuf,
    pub hash: String,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub bit_depth: u8,
    pub file_bytes: u64,
    /// What reading the file did beyond decoding it (a PNM maxval scaled to 8/16 bits, the
    /// first frame of an animation taken); absent when nothing.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_note: String,
}

/// Where the time went. `measured_s` is codec calls (all repeats) plus metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimingMeta {
    pub wall_s: f64,
    pub load_s: f64,
    pub prepare_s: f64,
    pub measured_s: f64,
    /// Of `measured_s`: encode and decode calls (all repeats) ...
    pub codecs_s: f64,
    /// ... and metric computation.
    pub metrics_s: f64,
    pub cells_busy_s: f64,
    /// measured / (wall x jobs): 1.0 means every core did codec or metric work all the time.
    pub efficiency: f64,
    /// (wall x jobs - measured) / measured: everything else (loading, scheduling, idle
    /// cores, writing files) as a share of the codec and metric time.
    pub overhead_share: f64,
    /// (cell wall time - measured) / measured: bookkeeping inside cells only.
    pub in_cell_overhead_share: f64,
    /// CPU time (user + system) of the process and its waited-for children over the run.
    pub cpu_s: f64,
    /// Of `cpu_s`: the worker threads' CPU in codec calls and metrics (the sum of the cells'
    /// `*_cpu_ms` over every repeat).
    pub measured_cpu_s: f64,
    /// Wall time of codec calls whose CPU time no clock sees (avif: rav1e encodes on a thread
    /// of its own): their CPU is in `cpu_s` but not in `measured_cpu_s`, so it lowers
    /// `cpu_efficiency` and raises `cpu_overhead_share` without being harness overhead.
    pub unclocked_s: f64,
    /// measured_cpu / cpu: the share of the CPU the run used that went to codecs and metrics
    /// (the CPU-based parallel efficiency: not fooled by a machine busy with other work).
    pub cpu_efficiency: f64,
    /// (cpu - measured_cpu) / measured_cpu: loading, hashing, conversion, scheduling and
    /// writing files, in CPU time, as a share of the codec and metric CPU time.
    pub cpu_overhead_share: f64,
    /// measured_cpu / measured: how much of the cells' wall time their thread was on a CPU.
    /// Well below 1 (under 0.8) means the machine was busy with other work (or codecs waited
    /// on other threads or processes) and wall-clock times are inflated.
    pub cell_cpu_per_wall: f64,
    /// cpu / (wall x jobs): how much of the capacity the process used.
    pub cpu_utilisation: f64,
}

/// `cell_cpu_per_wall` below this: the run says the machine was busy.
pub const BUSY_CPU_PER_WALL: f64 = 0.8;

impl TimingMeta {
    /// Fills the derived shares from `measured_s`, `cells_busy_s` and the capacity (wall time
    /// x jobs, summed over runs for a merge).
    pub fn with_shares(mut self, capacity: f64) -> TimingMeta {
        let measured = self.measured_s;
        let ratio = |x: f64| if measured > 0.0 { x / measured } else { 0.0 };
        self.efficiency = if capacity > 0.0 {
            measured / capacity
        } else {
            0.0
        };
        self.overhead_share = ratio(capacity - measured);
        self.in_cell_overhead_share = ratio(self.cells_busy_s - measured);
        let cpu = self.measured_cpu_s;
        let share = |x: f64, of: f64| if of > 0.0 { x / of } else { 0.0 };
        self.cpu_efficiency = share(cpu, self.cpu_s);
        self.cpu_overhead_share = if cpu > 0.0 && self.cpu_s > 0.0 {
            (self.cpu_s - cpu) / cpu
        } else {
            0.0
        };
        self.cell_cpu_per_wall = share(cpu, measured);
        self.cpu_utilisation = share(self.cpu_s, capacity);
        self
    }

    /// True when the cells' threads got well under a full CPU for their wall time: the
    /// machine was busy, and wall-clock figures are inflated.
    pub fn machine_busy(&self) -> bool {
        self.measured_cpu_s > 0.0 && self.cell_cpu_per_wall < BUSY_CPU_PER_WALL
    }
}

/// Why run.json could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RunMetaError {
    /// The file is missing or unreadable.
    #[error(
        "cannot read {}: {source}; give a run folder written by `codecbench run` or `codecbench merge` (run.json sits beside results.csv)",
        path.display()
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a run.json.
    #[error(
        "cannot parse {}: {source}; the file is damaged or not a codecbench run.json: restore it from the run folder or run `codecbench run` again",
        path.display()
    )]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Reads `<dir>/run.json`.
pub fn read_run(dir: &Path) -> Result<RunMeta, RunMetaError> {
    let path = dir.join(RUN_JSON);
    let bytes = std::fs::read(&path).map_err(|source| RunMetaError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| RunMetaError::Parse { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_run_json_of_an_older_version() {
        // As written before `metrics`, `cells_cached`, `cache_dir`, `shard`, `codecs_s`,
        // `metrics_s` and `merged_from` existed.
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{
          "tool": "codecbench", "tool_version": "0.0.9", "command": ["codecbench", "run"],
          "started": "2024-01-01T00:00:00+00:00", "finished": "2024-01-01T00:01:00+00:00",
          "interrupted": false, "jobs": 2, "repeat": 1, "cpu_model": "x", "cpu_count": 2,
          "os": "linux x86_64",
          "codecs": [{"name": "jpeg", "version": "mozjpeg 0.10", "decoder": "mozjpeg", "lossless": false}],
          "specs": ["jpeg:q=50"], "hash_of": "decoded pixels",
          "corpus": [{"id": "a.png", "path": "corpus/a.png", "hash": "00ff", "width": 4,
                      "height": 3, "channels": 3, "bit_depth": 8, "file_bytes": 99}],
          "skipped": [{"path": "corpus/b.txt.png", "reason": "not an image"}],
          "cells_total": 1, "cells_planned": 1, "cells_done": 1, "cells_failed": 0,
          "timing": {"wall_s": 60.0, "load_s": 0.5, "prepare_s": 0.1, "measured_s": 100.0,
                     "cells_busy_s": 101.0, "efficiency": 0.83, "overhead_share": 0.2,
                     "in_cell_overhead_share": 0.01}
        }"#;
        std::fs::write(dir.path().join("run.json"), old).unwrap();
        let m = read_run(dir.path()).unwrap();
        assert_eq!(m.tool_version, "0.0.9");
        assert_eq!(m.jobs, 2);
        assert_eq!(m.specs, ["jpeg:q=50"]);
        assert_eq!(m.codecs[0].version, "mozjpeg 0.10");
        assert_eq!(m.corpus[0].path, PathBuf::from("corpus/a.png"));
        assert_eq!(m.corpus[0].file_bytes, 99);
        assert_eq!(m.skipped[0].reason, "not an image");
        assert_eq!(m.timing.measured_s, 100.0);
        // The newer fields take their defaults.
        assert_eq!(m.metrics, "");
        assert_eq!(m.cells_cached, 0);
        assert_eq!(m.cache_dir, None);
        assert_eq!(m.shard, None);
        assert_eq!(m.timing.codecs_s, 0.0);
        assert!(m.merged_from.is_empty());
        // Written again, it has no `merged_from` (empty), and reads back the same.
        let text = String::from_utf8(crate::export::json_bytes(&m).unwrap()).unwrap();
        assert!(!text.contains("merged_from"), "{text}");
        assert_eq!(serde_json::from_str::<RunMeta>(&text).unwrap(), m);
    }

    #[test]
    fn a_corrupt_run_json_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        std::fs::write(&path, "{\"tool\": \"codecbench\", \"jobs\": ").unwrap();
        let e = read_run(dir.path()).unwrap_err();
        assert!(matches!(e, RunMetaError::Parse { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("run `codecbench run` again"), "{text}");

        // A field of the wrong type is a parse error too, not a silent default.
        std::fs::write(&path, "{\"jobs\": \"two\"}").unwrap();
        assert!(matches!(
            read_run(dir.path()),
            Err(RunMetaError::Parse { .. })
        ));

        let missing = dir.path().join("none");
        let e = read_run(&missing).unwrap_err();
        assert!(matches!(e, RunMetaError::Read { .. }), "{e:?}");
        assert!(e
            .to_string()
            .contains(&missing.join("run.json").display().to_string()));
    }
}
