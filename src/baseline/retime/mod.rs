//! Interleaved re-measurement of time (`compare --retime`). Two runs minutes apart differ by up
//! to 1.4x in CPU time on a shared machine (cache and frequency contention), far more than a
//! slowdown worth catching, and repeats inside each run do not remove a shift between runs. So
//! the gate times BASELINE's and NEW's configuration of every matched cell again, in this one
//! process and on one thread, alternating them (A B, B A, A B, ...) over a few rounds: whatever
//! the machine does then falls on both sides alike. The time rule ([`super::rules::time`])
//! judges the paired per-cell ratios.
//!
//! This module schedules and times the calls ([`order`], [`rounds_of`], [`retime`]); finding
//! the images and codecs again is [`resolve`].

pub mod resolve;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::alloc::thread_cpu;
use crate::codec::external::take_child_usage;
use crate::codec::{catch, CodecConfig, CodecError};
use crate::pixels::{Image, Prep};
use crate::record::CellRecord;
use crate::run_meta::RunMeta;

pub use resolve::{Cause, Fix, ResolveError};

/// Why `compare --retime` stopped: something could not be found again, or a timed call failed.
#[derive(Debug, thiserror::Error)]
pub enum RetimeError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// An image could not be converted to what a codec takes.
    #[error("{0}")]
    Prepare(Cause),
    /// A timed call failed on one image.
    #[error("{image} {spec}: {stage} failed")]
    Call {
        image: String,
        spec: String,
        /// "encode" or "decode".
        stage: &'static str,
        #[source]
        source: Cause,
    },
}

/// One side's timed call that failed (the image is added by [`retime`]).
#[derive(Debug)]
struct CallFailed {
    spec: String,
    stage: &'static str,
    source: Cause,
}

/// What `compare --retime` is doing, for whoever shows progress (the binary prints it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetimeProgress {
    Starting {
        cells: usize,
        rounds: u32,
    },
    Done {
        cells: usize,
        images: usize,
        rounds: u32,
    },
}

impl std::fmt::Display for RetimeProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetimeProgress::Starting { cells, rounds } => write!(
                f,
                "re-timing {cells} matched cell(s), BASELINE and NEW interleaved over {rounds} round(s) ..."
            ),
            RetimeProgress::Done {
                cells,
                images,
                rounds,
            } => write!(
                f,
                "re-timed {cells} cell(s) of {images} image(s), BASELINE and NEW interleaved over {rounds} round(s)"
            ),
        }
    }
}

/// Rounds when `--retime` is given without a number.
pub const DEFAULT_ROUNDS: u32 = 5;

/// A matched cell to re-time: its image and the spec each side ran.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub image_hash: String,
    pub image: String,
    pub base_spec: String,
    pub new_spec: String,
}

impl CellKey {
    pub fn of(b: &CellRecord, n: &CellRecord) -> CellKey {
        CellKey {
            image_hash: n.image_hash.clone(),
            image: n.image.clone(),
            base_spec: b.spec.clone(),
            new_spec: n.spec.clone(),
        }
    }
}

/// Which side a call times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Baseline,
    New,
}

/// "BASELINE" or "NEW", as the messages name the two runs.
impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Baseline => "BASELINE",
            Side::New => "NEW",
        })
    }
}

/// One timed call, milliseconds: wall clock, and CPU time where a clock sees it (the calling
/// thread's, plus a child process's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Sample {
    pub wall_ms: f64,
    pub cpu_ms: Option<f64>,
}

/// One round of one cell: `[BASELINE, NEW]` encode and decode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Round {
    pub encode: [Sample; 2],
    pub decode: [Sample; 2],
}

/// Everything re-timed by one `compare --retime`.
#[derive(Clone, Debug, Default)]
pub struct Retimed {
    pub rounds: u32,
    pub cells: HashMap<CellKey, Vec<Round>>,
    /// Said once (a codec build that differs from the one a side was measured with).
    pub notes: Vec<String>,
}

/// The order of the timed calls over `rounds` rounds: A B, then B A, then A B... (ABBA), so
/// neither side always runs first (a warm cache, a clock ramping up) and a drift during the
/// rounds falls on both alike.
pub fn order(rounds: u32) -> Vec<Side> {
    (0..rounds)
        .flat_map(|r| {
            if r % 2 == 0 {
                [Side::Baseline, Side::New]
            } else {
                [Side::New, Side::Baseline]
            }
        })
        .collect()
}

/// Runs `call` (one side's encode and decode, returning their samples) once per side untimed
/// (warm-up: code and buffers paged in), then in [`order`], and pairs the samples by round.
pub fn rounds_of<E>(
    rounds: u32,
    mut call: impl FnMut(Side) -> Result<(Sample, Sample), E>,
) -> Result<Vec<Round>, E> {
    call(Side::Baseline)?;
    call(Side::New)?;
    let mut out = vec![Round::default(); rounds as usize];
    for (i, side) in order(rounds).into_iter().enumerate() {
        let (enc, dec) = call(side)?;
        let k = usize::from(side == Side::New);
        out[i / 2].encode[k] = enc;
        out[i / 2].decode[k] = dec;
    }
    Ok(out)
}

/// Times `f` on this thread: wall clock, and CPU time (this thread's, plus the child process
/// the call waited for; `None` when the work ran where no clock here sees it).
fn timed<T>(
    cpu_on_thread: bool,
    f: impl FnOnce() -> Result<T, CodecError>,
) -> Result<(T, Sample), CodecError> {
    let _ = take_child_usage();
    let c = thread_cpu();
    let t = Instant::now();
    let out = catch(f);
    let wall = t.elapsed();
    let cpu = thread_cpu().saturating_sub(c);
    let child = take_child_usage();
    let value = out?;
    let cpu_ms = match child {
        Some(u) => Some((cpu + u.cpu).as_secs_f64() * 1e3),
        None if cpu_on_thread => Some(cpu.as_secs_f64() * 1e3),
        None => None,
    };
    Ok((
        value,
        Sample {
            wall_ms: wall.as_secs_f64() * 1e3,
            cpu_ms,
        },
    ))
}

/// One side of a cell: its configuration and its input converted once.
struct Prepared {
    config: CodecConfig,
    input: Arc<Image>,
}

impl Prepared {
    fn new(config: CodecConfig, source: &Arc<Image>) -> Result<Prepared, RetimeError> {
        let want = config.codec.input_layout(source.layout());
        let input = if want == source.layout() {
            source.clone()
        } else {
            let prep =
                Prep::plan(source.layout(), want).map_err(|e| RetimeError::Prepare(e.into()))?;
            Arc::new(prep.apply(source))
        };
        Ok(Prepared { config, input })
    }

    /// Encode then decode, each timed.
    fn call(&self) -> Result<(Sample, Sample), CallFailed> {
        let codec = &self.config.codec;
        let failed = |stage: &'static str, e: CodecError| CallFailed {
            spec: self.config.spec(),
            stage,
            source: e.into(),
        };
        let (enc, es) = timed(codec.encode_cpu_on_thread(), || {
            codec.encode(&self.input, &self.config.params)
        })
        .map_err(|e| failed("encode", e))?;
        let (_, ds) = timed(true, || codec.decode(&enc.bytes)).map_err(|e| failed("decode", e))?;
        Ok((es, ds))
    }
}

/// Where to find what BASELINE and NEW ran.
#[derive(Clone, Debug, Default)]
pub struct RetimeOptions {
    pub rounds: u32,
    /// Folder to find the images in by their ids, instead of the paths run.json recorded.
    pub corpus: Option<PathBuf>,
    pub base_meta: Option<RunMeta>,
    pub new_meta: Option<RunMeta>,
    /// External codec definitions of each side (empty: those the side's run.json names).
    pub base_external: Vec<PathBuf>,
    pub new_external: Vec<PathBuf>,
    /// Report progress (to the `progress` callback of [`retime`]).
    pub progress: bool,
}

/// The matched cells to re-time: the ok pairs of every pipeline, grouped by image.
pub fn plan(base: &[CellRecord], new: &[CellRecord]) -> Vec<(CellKey, CellRecord, CellRecord)> {
    let m = super::pipelines(base, new);
    let mut v: Vec<(CellKey, CellRecord, CellRecord)> = m
        .pipelines
        .iter()
        .flat_map(|p| super::pipeline::both_ok(p))
        .map(|(b, n)| (CellKey::of(b, n), b.clone(), n.clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

/// Re-times every matched cell of BASELINE and NEW ([`plan`]) over `opts.rounds` interleaved
/// rounds. Fails (naming the flag that fixes it) when an image or a codec cannot be found, an
/// image changed since the runs, or a call fails. When `opts.progress` is set, `progress`
/// hears when the timing starts and ends.
pub fn retime(
    base: &[CellRecord],
    new: &[CellRecord],
    opts: &RetimeOptions,
    mut progress: impl FnMut(&RetimeProgress),
) -> Result<Retimed, RetimeError> {
    let cells = plan(base, new);
    let codecs = resolve::Codecs::new(opts)?;
    let mut out = Retimed {
        rounds: opts.rounds,
        notes: codecs.note.iter().cloned().collect(),
        ..Retimed::default()
    };
    // Every configuration and image path first: nothing is timed when one is missing.
    let mut configs = Vec::new();
    for (k, b, n) in &cells {
        let bc = codecs.config(Side::Baseline, &k.base_spec)?;
        let nc = codecs.config(Side::New, &k.new_spec)?;
        for (what, rec, c) in [("BASELINE", b, &bc), ("NEW", n, &nc)] {
            let now = c.codec.version();
            let note = format!(
                "{what}'s `{}` cells were measured with {}; re-timed with {now} (the build this compare resolves): time compares the settings, not those two builds",
                rec.codec, rec.codec_version
            );
            if now != rec.codec_version && !out.notes.contains(&note) {
                out.notes.push(note);
            }
        }
        configs.push((bc, nc));
    }
    let mut paths = HashMap::new();
    for (k, _, _) in &cells {
        if !paths.contains_key(&k.image) {
            paths.insert(k.image.clone(), resolve::image_path(&k.image, opts)?);
        }
    }
    if opts.progress {
        progress(&RetimeProgress::Starting {
            cells: cells.len(),
            rounds: opts.rounds,
        });
    }
    let mut images = 0;
    let mut i = 0;
    while i < cells.len() {
        let key = &cells[i].0;
        let source = Arc::new(resolve::load_image(
            &key.image,
            &key.image_hash,
            &paths[&key.image],
            opts.corpus.is_some(),
        )?);
        images += 1;
        while i < cells.len() && cells[i].0.image_hash == key.image_hash {
            let k = &cells[i].0;
            let (bc, nc) = &configs[i];
            let sides = [
                Prepared::new(bc.clone(), &source)?,
                Prepared::new(nc.clone(), &source)?,
            ];
            let rounds = rounds_of(opts.rounds, |side| {
                sides[usize::from(side == Side::New)].call()
            })
            .map_err(|e| RetimeError::Call {
                image: k.image.clone(),
                spec: e.spec,
                stage: e.stage,
                source: e.source,
            })?;
            out.cells.insert(k.clone(), rounds);
            i += 1;
        }
    }
    if opts.progress {
        progress(&RetimeProgress::Done {
            cells: out.cells.len(),
            images,
            rounds: opts.rounds,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_alternates_abba() {
        use Side::*;
        assert_eq!(order(3), vec![Baseline, New, New, Baseline, Baseline, New]);
        assert!(order(0).is_empty());
    }

    #[test]
    fn rounds_pair_each_sides_samples_after_a_warm_up() {
        // A fake call that counts its calls per side and returns that count as its time: the
        // pairing and the order are checked, not a clock.
        let mut calls: Vec<Side> = Vec::new();
        let rounds = rounds_of(4, |side| {
            calls.push(side);
            let n = calls.iter().filter(|s| **s == side).count() as f64;
            let base = if side == Side::New { 100.0 } else { 0.0 };
            let s = Sample {
                wall_ms: base + n,
                cpu_ms: Some(base + n),
            };
            Ok::<_, String>((s, s))
        })
        .unwrap();
        assert_eq!(calls.len(), 2 + 8, "one warm-up per side, then 4 rounds");
        assert_eq!(&calls[..2], &[Side::Baseline, Side::New]);
        assert_eq!(rounds.len(), 4);
        for (r, round) in rounds.iter().enumerate() {
            // Side call number r+2 (after the warm-up) is round r's.
            assert_eq!(round.encode[0].wall_ms, (r + 2) as f64);
            assert_eq!(round.encode[1].wall_ms, 100.0 + (r + 2) as f64);
            assert_eq!(round.decode, round.encode);
        }
        // A failing call stops the cell with its message.
        let e = rounds_of(2, |side| match side {
            Side::New => Err(String::from("boom")),
            Side::Baseline => Ok((Sample::default(), Sample::default())),
        })
        .unwrap_err();
        assert_eq!(e, "boom");
    }

    #[test]
    fn the_plan_pairs_matched_ok_cells_once() {
        use crate::baseline::tests::cell;
        let base = vec![cell("a", 1.0, 1.0, 30.0), cell("b", 1.0, 1.0, 30.0)];
        let mut new = base.clone();
        new[1].status = crate::record::Status::Error;
        let p = plan(&base, &new);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0.image, "a");
        assert_eq!(p[0].0.base_spec, "jpeg:q=1");
    }
}
