//! Target search (`--target METRIC=V[,V...]`): for every image and every lossy curve of the
//! sweep, the cheapest setting that meets a quality target, or, for a `bpp`/`bytes` budget,
//! the best quality within it. Probes are ordinary cells: the [`Searcher`] answers each
//! finished cell with the next probes, which the engine runs like swept cells (cached, in the
//! shard that owns the search, written to results.csv with `probe = true`). A probe whose
//! configuration was already swept or probed reuses that cell.
//!
//! The search never assumes a monotonic curve. Orientation (does a higher setting cost more
//! bytes?) is read from the two ends of the setting's range, then the boundary is bisected on
//! a grid (integers: every value; floats: at most 100 steps, none finer than 0.01), which
//! leaves both neighbours of the boundary measured. Every measured point of the image's curve
//! (swept cells too) is then checked against monotonic order; a contradiction makes the row
//! `non-monotonic` and reports the best point actually measured.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::codec::{CodecConfig, Kind, Value};
use crate::plan::{Job, JobKey, Plan};
use crate::record::CellRecord;

pub use crate::goal::{known_keys, parse_target, Goal, Target, TargetError, TargetRow};
pub use crate::record::TargetStatus;

/// The setting values a search moves over: index 0..=n, increasing with the index.
#[derive(Clone, Copy, Debug)]
enum Grid {
    Int { min: i64, n: usize },
    Float { min: f64, max: f64, n: usize },
}

impl Grid {
    fn of(config: &CodecConfig) -> Option<Grid> {
        let p = config.codec.params().first()?;
        match p.kind {
            Kind::Int { min, max } if max >= min => Some(Grid::Int {
                min,
                n: (max - min) as usize,
            }),
            Kind::Float { min, max } if max >= min => {
                let range = max - min;
                let n = if range / 100.0 >= 0.01 {
                    100
                } else {
                    (range / 0.01).ceil() as usize
                };
                Some(Grid::Float { min, max, n })
            }
            _ => None,
        }
    }

    fn n(&self) -> usize {
        match *self {
            Grid::Int { n, .. } | Grid::Float { n, .. } => n,
        }
    }

    /// The grid index of setting `v`, when `v` lies on the grid.
    fn index_of(&self, v: f64) -> Option<usize> {
        (0..=self.n()).find(|&i| self.value(i).as_f64() == Some(v))
    }

    fn value(&self, i: usize) -> Value {
        match *self {
            Grid::Int { min, .. } => Value::Int(min + i as i64),
            Grid::Float { min, max, n } => {
                let v = if n == 0 {
                    min
                } else {
                    min + (max - min) * i as f64 / n as f64
                };
                Value::Float(((v * 1e6).round() / 1e6).clamp(min, max))
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    Ends,
    /// In u coordinates (0 = the end expected to fail, n = the end expected to pass).
    Bisect {
        lo: usize,
        hi: usize,
    },
}

/// Why a measured cell gives the search no value of its target.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
enum Unusable {
    #[error("{spec} failed: {message}")]
    Failed { spec: String, message: String },
    #[error("{spec} has no {key} value ({notes})")]
    NoValue {
        spec: String,
        key: String,
        notes: String,
    },
}

#[derive(Clone)]
enum Answer {
    Met(usize),
    Unreachable,
    Failed(String),
}

enum Step {
    Need(Vec<usize>),
    Done(Answer),
}

struct Search {
    image: usize,
    curve: String,
    base: Arc<CodecConfig>,
    target: Target,
    grid: Grid,
    /// Grid index -> cell, for every index this search asked for.
    asked: BTreeMap<usize, JobKey>,
    /// Grid index -> finished cell.
    seen: BTreeMap<usize, CellRecord>,
    phase: Phase,
    /// u = n - index when true (the pass side is at low settings).
    flip: bool,
    /// Swept cells of this curve on this image not finished yet: the search starts from the
    /// swept cells (they bracket the boundary), so it waits for them.
    pending: HashSet<JobKey>,
    /// Swept cells of this curve on this image, by grid index.
    swept: Vec<(usize, JobKey)>,
    /// How the search ended; its row is made at the end of the run, from every cell of the
    /// curve measured by then (another search's probes too).
    answer: Option<Answer>,
}

impl Search {
    fn idx(&self, u: usize) -> usize {
        if self.flip {
            self.grid.n() - u
        } else {
            u
        }
    }

    /// The target's value of a finished cell, or why there is none.
    fn value(&self, r: &CellRecord) -> Result<f64, Unusable> {
        if !r.is_ok() {
            return Err(Unusable::Failed {
                spec: r.spec.clone(),
                message: r.message.clone(),
            });
        }
        self.target.value_of(r).ok_or_else(|| Unusable::NoValue {
            spec: r.spec.clone(),
            key: self.target.key().to_string(),
            notes: r.metric_notes.clone(),
        })
    }

    fn pass(&self, idx: usize) -> Result<bool, Unusable> {
        let v = self.value(&self.seen[&idx])?;
        Ok(self.target.meets(v))
    }

    /// Whether the cells of grid indices `a` and `b` say that a higher setting costs more
    /// bytes, when both are measured and usable.
    fn ascending(&self, a: usize, b: usize) -> Option<bool> {
        let (ra, rb) = (self.seen.get(&a)?, self.seen.get(&b)?);
        if self.value(ra).is_err() || self.value(rb).is_err() {
            return None;
        }
        Some(rb.bytes? >= ra.bytes?)
    }

    fn step(&mut self) -> Step {
        let n = self.grid.n();
        if let Phase::Ends = self.phase {
            // Orientation (does a higher setting cost more bytes?) from the lowest and highest
            // swept settings when there are two, else from the ends of the range.
            let usable: Vec<usize> = self
                .seen
                .iter()
                .filter(|(_, r)| self.value(r).is_ok() && r.bytes.is_some())
                .map(|(i, _)| *i)
                .collect();
            let ascending = match (usable.first(), usable.last()) {
                (Some(&a), Some(&b)) if a < b => self.ascending(a, b),
                _ => None,
            };
            let ascending = match ascending {
                Some(a) => a,
                None => {
                    let missing: Vec<usize> = [0, n]
                        .into_iter()
                        .filter(|i| !self.seen.contains_key(i))
                        .collect();
                    if !missing.is_empty() {
                        return Step::Need(missing);
                    }
                    for i in [0, n] {
                        if let Err(e) = self.value(&self.seen[&i]) {
                            return Step::Done(Answer::Failed(e.to_string()));
                        }
                    }
                    self.ascending(0, n).unwrap_or(true)
                }
            };
            self.flip = ascending == self.target.is_budget();
            // The bracket from what is measured: the passing point nearest the failing end,
            // and the failing point just below it (in u coordinates).
            let u = |i: usize| if self.flip { n - i } else { i };
            let mut pass: Option<usize> = None;
            for (&i, r) in &self.seen {
                if matches!(self.value(r), Ok(v) if self.target.meets(v)) {
                    pass = Some(pass.map_or(u(i), |p: usize| p.min(u(i))));
                }
            }
            let Some(hi) = pass else {
                // Nothing passes: the passing end decides.
                let top = self.idx(n);
                if !self.seen.contains_key(&top) {
                    return Step::Need(vec![top]);
                }
                return match self.value(&self.seen[&top]) {
                    Err(e) => Step::Done(Answer::Failed(e.to_string())),
                    Ok(_) => Step::Done(Answer::Unreachable),
                };
            };
            let lo = self
                .seen
                .iter()
                .filter(|(&i, r)| {
                    u(i) < hi && matches!(self.value(r), Ok(v) if !self.target.meets(v))
                })
                .map(|(&i, _)| u(i))
                .max();
            match lo {
                None if hi == 0 => return Step::Done(Answer::Met(self.idx(0))),
                None => {
                    let bottom = self.idx(0);
                    if !self.seen.contains_key(&bottom) {
                        return Step::Need(vec![bottom]);
                    }
                    return match self.value(&self.seen[&bottom]) {
                        Err(e) => Step::Done(Answer::Failed(e.to_string())),
                        // A pass would have set hi = 0 above.
                        Ok(_) => Step::Done(Answer::Met(self.idx(hi))),
                    };
                }
                Some(lo) => self.phase = Phase::Bisect { lo, hi },
            }
        }
        let Phase::Bisect { mut lo, mut hi } = self.phase else {
            unreachable!("phase set above")
        };
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let i = self.idx(mid);
            if !self.seen.contains_key(&i) {
                self.phase = Phase::Bisect { lo, hi };
                return Step::Need(vec![i]);
            }
            match self.pass(i) {
                Err(e) => return Step::Done(Answer::Failed(e.to_string())),
                Ok(true) => hi = mid,
                Ok(false) => lo = mid,
            }
        }
        self.phase = Phase::Bisect { lo, hi };
        Step::Done(Answer::Met(self.idx(hi)))
    }

    /// The row for `answer`, checked against every measured point of the curve.
    fn row(&self, answer: Answer, curve_points: &[&CellRecord]) -> TargetRow {
        let mut row = TargetRow {
            probes: self.seen.len(),
            ..TargetRow::new(String::new(), self.curve.clone(), &self.target)
        };
        let fill = |row: &mut TargetRow, r: &CellRecord| {
            row.image = r.image.clone();
            row.setting = r.setting;
            row.bytes = r.bytes;
            row.bpp = r.bpp;
            row.achieved = self.target.value_of(r);
        };
        if let Some(r) = self.seen.values().next() {
            row.image = r.image.clone();
        }
        // Measured points with a value, by setting.
        let points: Vec<(&CellRecord, f64, f64)> = curve_points
            .iter()
            .filter_map(|r| Some((*r, r.setting?, self.value(r).ok()?)))
            .collect();
        let passing = || points.iter().filter(|p| self.target.meets(p.2));
        // The point a non-monotonic curve is best served by: the cheapest passing one for a
        // quality target, the largest within a budget.
        let best_passing = || {
            let bytes = |p: &&(&CellRecord, f64, f64)| p.0.bytes.unwrap_or(u64::MAX);
            if self.target.is_budget() {
                passing().max_by_key(bytes)
            } else {
                passing().min_by_key(bytes)
            }
        };
        // Increasing the setting moves towards the passing side.
        let up = !self.flip;
        match answer {
            Answer::Failed(e) => {
                row.status = TargetStatus::Failed;
                row.message = e;
            }
            Answer::Unreachable => {
                if let Some(p) = passing().next() {
                    row.status = TargetStatus::NonMonotonic;
                    row.message = format!(
                        "the {} end of the range misses the target but setting {} meets it",
                        if up { "top" } else { "bottom" },
                        p.1
                    );
                    fill(&mut row, best_passing().expect("one passes").0);
                } else {
                    row.status = TargetStatus::Unreachable;
                    let best = if self.target.is_budget() {
                        points.iter().min_by(|a, b| a.2.total_cmp(&b.2))
                    } else {
                        let d = match self.target.goal {
                            Goal::Quality(m) => m.direction,
                            _ => unreachable!("quality target"),
                        };
                        points
                            .iter()
                            .max_by(|a, b| d.oriented(a.2).total_cmp(&d.oriented(b.2)))
                    };
                    if let Some(p) = best {
                        fill(&mut row, p.0);
                    }
                    row.message = "best achieved".into();
                }
            }
            Answer::Met(i) => {
                let chosen = &self.seen[&i];
                let s = chosen.setting.unwrap_or(f64::NAN);
                let contradiction = points.iter().find(|p| {
                    let towards_pass = if up { p.1 > s } else { p.1 < s };
                    let towards_fail = if up { p.1 < s } else { p.1 > s };
                    (towards_fail && self.target.meets(p.2))
                        || (towards_pass && !self.target.meets(p.2))
                });
                match contradiction {
                    None => {
                        row.status = TargetStatus::Met;
                        // The cheapest measured cell meeting the target, by bytes: a codec
                        // whose bytes are not monotonic in the setting (JPEG on a 16-bit
                        // source) can meet it for fewer bytes away from the boundary.
                        let best = best_passing().map_or(chosen, |p| p.0);
                        if best.setting != chosen.setting && best.bytes < chosen.bytes {
                            row.message = format!(
                                "boundary at setting {s}, but setting {} meets the target for \
                                 fewer bytes (bytes not monotonic in the setting)",
                                best.setting.unwrap_or(f64::NAN)
                            );
                            fill(&mut row, best);
                        } else {
                            fill(&mut row, chosen);
                        }
                    }
                    Some(p) => {
                        row.status = TargetStatus::NonMonotonic;
                        row.message = format!(
                            "boundary at setting {s}, but setting {} {} the target ({} = {})",
                            p.1,
                            if self.target.meets(p.2) {
                                "meets"
                            } else {
                                "misses"
                            },
                            self.target.key(),
                            p.2
                        );
                        fill(&mut row, best_passing().map_or(chosen, |p| p.0));
                    }
                }
            }
        }
        row
    }
}

/// Drives every search of a sweep from the engine's sink: [`Searcher::start`] gives the first
/// probes, [`Searcher::finished`] takes each finished cell (swept or probe) and gives the next.
pub struct Searcher {
    searches: Vec<Search>,
    /// Every finished cell.
    points: HashMap<JobKey, CellRecord>,
    /// Cells given to the engine (swept and probes).
    queued: HashSet<JobKey>,
    /// Cells added by the search (not swept).
    probes: HashSet<JobKey>,
    /// Searches waiting for a cell.
    waiting: HashMap<JobKey, Vec<usize>>,
}

impl Searcher {
    /// A search per image x lossy curve with a numeric setting x target, for the images and
    /// curves whose first lossy configuration is among `jobs` (so a search runs in exactly
    /// one shard).
    pub fn new(plan: &Plan, jobs: &[Job], targets: &[Target]) -> Searcher {
        let queued: HashSet<JobKey> = jobs.iter().map(|j| j.key).collect();
        let mut curves: Vec<(String, usize)> = Vec::new();
        for (i, c) in plan.configs().iter().enumerate() {
            let curve = c.curve();
            if c.lossless() || Grid::of(c).is_none() || curves.iter().any(|(k, _)| *k == curve) {
                continue;
            }
            curves.push((curve, i));
        }
        let mut searches = Vec::new();
        for image in 0..plan.images().len() {
            for (curve, config) in &curves {
                let key = JobKey {
                    image,
                    config: *config,
                };
                if !queued.contains(&key) {
                    continue;
                }
                let base = plan.configs()[*config].clone();
                let grid = Grid::of(&base).expect("checked above");
                // The swept cells of this curve on this image, on the search's grid.
                let swept: Vec<(usize, JobKey)> = plan
                    .configs()
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.curve() == *curve && !c.lossless())
                    .filter_map(|(config, c)| {
                        let key = JobKey { image, config };
                        let i = grid.index_of(c.setting_value()?)?;
                        queued.contains(&key).then_some((i, key))
                    })
                    .collect();
                for t in targets {
                    searches.push(Search {
                        image,
                        curve: curve.clone(),
                        grid,
                        base: base.clone(),
                        target: *t,
                        asked: BTreeMap::new(),
                        seen: BTreeMap::new(),
                        phase: Phase::Ends,
                        flip: false,
                        pending: swept.iter().map(|(_, k)| *k).collect(),
                        swept: swept.clone(),
                        answer: None,
                    });
                }
            }
        }
        Searcher {
            searches,
            points: HashMap::new(),
            queued,
            probes: HashSet::new(),
            waiting: HashMap::new(),
        }
    }

    /// Probe cells the searches are expected to add, counted before anything runs (for the
    /// progress total and ETA): per search, the bisection of the widest gap between its swept
    /// settings, or of the whole range (plus its two ends) when fewer than two are swept.
    pub fn expected_probes(&self) -> usize {
        let log2 = |w: usize| (w.max(1) as f64).log2().ceil() as usize;
        self.searches
            .iter()
            .map(|s| {
                let mut idx: Vec<usize> = s.swept.iter().map(|(i, _)| *i).collect();
                idx.sort_unstable();
                idx.dedup();
                if idx.len() < 2 {
                    2 + log2(s.grid.n())
                } else {
                    // The boundary lies in one gap; the typical gap is the median one.
                    let mut gaps: Vec<usize> = idx.windows(2).map(|w| w[1] - w[0]).collect();
                    gaps.sort_unstable();
                    log2(gaps[gaps.len() / 2])
                }
            })
            .sum()
    }

    /// The first probes of every search whose swept cells are all finished (none swept:
    /// the range's ends); the others start when their last swept cell finishes.
    pub fn start(&mut self, plan: &mut Plan) -> Vec<Job> {
        let mut jobs = Vec::new();
        for s in 0..self.searches.len() {
            if self.searches[s].pending.is_empty() {
                self.advance(s, plan, &mut jobs);
            } else {
                for key in self.searches[s].pending.clone() {
                    self.waiting.entry(key).or_default().push(s);
                }
            }
        }
        jobs
    }

    /// Takes a finished cell; returns the probes to run next.
    pub fn finished(&mut self, plan: &mut Plan, key: JobKey, record: &CellRecord) -> Vec<Job> {
        self.points.insert(key, record.clone());
        let mut jobs = Vec::new();
        for s in self.waiting.remove(&key).unwrap_or_default() {
            let search = &mut self.searches[s];
            if search.pending.remove(&key) && !search.pending.is_empty() {
                continue;
            }
            self.advance(s, plan, &mut jobs);
        }
        jobs
    }

    /// Whether the cell was added by the search (the `probe` column).
    pub fn is_probe(&self, key: JobKey) -> bool {
        self.probes.contains(&key)
    }

    /// Number of probe cells added so far.
    pub fn probe_count(&self) -> usize {
        self.probes.len()
    }

    /// One row per search in (image, curve, target) order; unfinished searches are marked so.
    /// Each row is made from every cell of its curve measured by the end of the run, so a
    /// point another search measured (a non-monotonic curve) is never left out.
    pub fn rows(&self, plan: &Plan) -> Vec<TargetRow> {
        let mut by_curve: HashMap<(usize, String), Vec<&CellRecord>> = HashMap::new();
        for (k, r) in &self.points {
            by_curve
                .entry((k.image, plan.configs()[k.config].curve()))
                .or_default()
                .push(r);
        }
        self.searches
            .iter()
            .map(|s| match &s.answer {
                Some(answer) => {
                    let mut points = by_curve
                        .get(&(s.image, s.curve.clone()))
                        .cloned()
                        .unwrap_or_default();
                    // Setting order, so the row does not depend on the order cells finished.
                    points.sort_by(|a, b| {
                        a.setting
                            .unwrap_or(f64::NAN)
                            .total_cmp(&b.setting.unwrap_or(f64::NAN))
                    });
                    let mut row = s.row(answer.clone(), &points);
                    if row.image.is_empty() {
                        row.image = plan.images()[s.image].id.clone();
                    }
                    row
                }
                None => TargetRow {
                    probes: s.seen.len(),
                    status: TargetStatus::Unfinished,
                    message: "the run ended before the search did".into(),
                    ..TargetRow::new(
                        plan.images()[s.image].id.clone(),
                        s.curve.clone(),
                        &s.target,
                    )
                },
            })
            .collect()
    }

    /// Fills a search's known cells with its curve's swept cells once they are all finished.
    fn seed(&mut self, s: usize) {
        let search = &mut self.searches[s];
        if !search.pending.is_empty() {
            return;
        }
        for (i, key) in &search.swept {
            if let Some(r) = self.points.get(key) {
                search.asked.entry(*i).or_insert(*key);
                search.seen.entry(*i).or_insert_with(|| r.clone());
            }
        }
    }

    fn advance(&mut self, s: usize, plan: &mut Plan, jobs: &mut Vec<Job>) {
        self.seed(s);
        loop {
            match self.searches[s].step() {
                Step::Done(answer) => {
                    self.searches[s].answer = Some(answer);
                    return;
                }
                Step::Need(indices) => {
                    let mut missing = false;
                    for i in indices {
                        let search = &mut self.searches[s];
                        let key = match search.asked.get(&i) {
                            Some(k) => *k,
                            None => match search.base.with_setting(search.grid.value(i)) {
                                Ok(c) => {
                                    let key = JobKey {
                                        image: search.image,
                                        config: plan.add_config(c),
                                    };
                                    search.asked.insert(i, key);
                                    key
                                }
                                Err(e) => {
                                    search.answer = Some(Answer::Failed(e.to_string()));
                                    return;
                                }
                            },
                        };
                        if let Some(r) = self.points.get(&key) {
                            search.seen.insert(i, r.clone());
                            continue;
                        }
                        missing = true;
                        let waiters = self.waiting.entry(key).or_default();
                        if !waiters.contains(&s) {
                            waiters.push(s);
                        }
                        if self.queued.insert(key) {
                            self.probes.insert(key);
                            jobs.push(plan.job(key));
                        }
                    }
                    if missing {
                        return;
                    }
                }
            }
        }
    }
}

/// The sort key that puts cells in row order whatever order they finished in: image, then
/// the plan order of the curve's first swept configuration, then swept cells in plan order,
/// then the target search's probes of that curve in setting order. `swept` is the number of
/// configurations the plan had before the search added any.
pub fn row_order(plan: &Plan, swept: usize) -> impl Fn(&JobKey) -> (usize, usize, usize, u64) {
    let mut first: HashMap<String, usize> = HashMap::new();
    let curves: Vec<String> = plan.configs().iter().map(|c| c.curve()).collect();
    for (i, c) in curves.iter().enumerate() {
        first.entry(c.clone()).or_insert(i);
    }
    let settings: Vec<u64> = plan
        .configs()
        .iter()
        .map(|c| {
            let x = c.setting_value().unwrap_or(0.0);
            // Ordered bits: the total order of f64.
            let b = x.to_bits();
            if x.is_sign_negative() {
                !b
            } else {
                b | (1 << 63)
            }
        })
        .collect();
    move |k: &JobKey| {
        let c = k.config;
        if c < swept {
            (k.image, first[&curves[c]], c, 0)
        } else {
            (k.image, first[&curves[c]], usize::MAX, settings[c])
        }
    }
}

/// The plan's specs in row order (swept in plan order, then probes by curve and setting), for
/// run.json: the same for identical runs whatever order their cells finished in.
pub fn specs_in_order(plan: &Plan, swept: usize) -> Vec<String> {
    let order = row_order(plan, swept);
    let mut idx: Vec<usize> = (0..plan.configs().len()).collect();
    idx.sort_by_key(|&c| {
        order(&JobKey {
            image: 0,
            config: c,
        })
    });
    idx.iter().map(|&c| plan.configs()[c].spec()).collect()
}

/// Runs `configs` on `sources` with the target search (for tests and library users): every
/// row (swept and probes, `probe` set) in row order, and the targets.csv rows.
pub fn run(
    pool: &rayon::ThreadPool,
    sources: &[crate::corpus::SourceImage],
    configs: &[CodecConfig],
    engine: &crate::run::Engine,
    targets: &[Target],
) -> (Vec<CellRecord>, Vec<TargetRow>) {
    let mut plan = Plan::new(sources, configs);
    let swept = plan.configs().len();
    let mut jobs = plan.jobs();
    let mut searcher = Searcher::new(&plan, &jobs, targets);
    jobs.extend(searcher.start(&mut plan));
    let mut rows = BTreeMap::new();
    crate::run::run_jobs(pool, sources, engine, jobs, |job, out| {
        let mut rec = out.record;
        rec.probe = searcher.is_probe(job.key);
        let more = searcher.finished(&mut plan, job.key, &rec);
        rows.insert(job.key, rec);
        more
    });
    let order = row_order(&plan, swept);
    let mut rows: Vec<(JobKey, CellRecord)> = rows.into_iter().collect();
    rows.sort_by_key(|(k, _)| order(k));
    (
        rows.into_iter().map(|(_, r)| r).collect(),
        searcher.rows(&plan),
    )
}

/// `records` without the search's probe cells: summaries, corpus curves and BD tables are made
/// from swept cells only, because probes sit at settings chosen per image and would mix images
/// unevenly into per-setting means. Borrowed when there is no probe.
pub fn swept(records: &[CellRecord]) -> std::borrow::Cow<'_, [CellRecord]> {
    if records.iter().any(|r| r.probe) {
        std::borrow::Cow::Owned(records.iter().filter(|r| !r.probe).cloned().collect())
    } else {
        std::borrow::Cow::Borrowed(records)
    }
}
