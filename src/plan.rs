//! The sweep expanded up front into jobs, as hyperfine expands its parameter scans: every
//! (image, codec configuration) pair becomes a [`Job`] with a stable [`JobKey`] before anything
//! runs. Row order, shards, merge and the cache all go through the key; no other module does
//! index arithmetic. Jobs can be added while a sweep runs (the target search adds probes):
//! [`Plan::add_config`] appends a configuration and [`Plan::job`] makes its jobs.

use std::collections::HashMap;
use std::sync::Arc;

use crate::codec::CodecConfig;
use crate::corpus::SourceImage;

/// Which cell a job measures: indices into the plan's images and configurations. Ordered
/// image-major, configuration-minor: the row order of results.csv.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobKey {
    pub image: usize,
    pub config: usize,
}

/// One cell to measure.
#[derive(Clone, Debug)]
pub struct Job {
    pub key: JobKey,
    pub config: Arc<CodecConfig>,
    /// Expected cost (pixels x the codec's relative cost): expensive jobs start first, and
    /// shards are balanced by it.
    pub cost: f64,
}

/// An image of the plan, as jobs know it: from its header, before its pixels are decoded
/// (so the plan knows no pixel hash; rows and cache keys get it when the image is decoded).
#[derive(Clone, Debug, PartialEq)]
pub struct PlanImage {
    pub id: String,
    pub pixels: u64,
}

/// Images x configurations.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    images: Vec<PlanImage>,
    configs: Vec<Arc<CodecConfig>>,
    /// Configuration index by canonical spec.
    by_spec: HashMap<String, usize>,
}

impl Plan {
    /// Every image with every configuration, as given (`config::expand` already dropped
    /// duplicate specs; a spec given twice maps to its first configuration in [`Plan::key_of`]).
    pub fn new(sources: &[SourceImage], configs: &[CodecConfig]) -> Plan {
        let images = sources
            .iter()
            .map(|s| PlanImage {
                id: s.id.clone(),
                pixels: s.pixel_count(),
            })
            .collect();
        let mut plan = Plan {
            images,
            ..Plan::default()
        };
        for c in configs {
            plan.by_spec.entry(c.spec()).or_insert(plan.configs.len());
            plan.configs.push(Arc::new(c.clone()));
        }
        plan
    }

    pub fn images(&self) -> &[PlanImage] {
        &self.images
    }

    pub fn configs(&self) -> &[Arc<CodecConfig>] {
        &self.configs
    }

    /// Adds a configuration (or finds the one with the same spec); returns its index.
    pub fn add_config(&mut self, config: CodecConfig) -> usize {
        let spec = config.spec();
        if let Some(&i) = self.by_spec.get(&spec) {
            return i;
        }
        self.configs.push(Arc::new(config));
        self.by_spec.insert(spec, self.configs.len() - 1);
        self.configs.len() - 1
    }

    /// Number of cells of the whole plan.
    pub fn len(&self) -> usize {
        self.images.len() * self.configs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every key in row order.
    pub fn keys(&self) -> impl Iterator<Item = JobKey> + '_ {
        (0..self.images.len()).flat_map(move |image| {
            (0..self.configs.len()).map(move |config| JobKey { image, config })
        })
    }

    /// The job of `key`.
    pub fn job(&self, key: JobKey) -> Job {
        let config = self.configs[key.config].clone();
        Job {
            key,
            cost: self.images[key.image].pixels as f64 * config.codec.relative_cost(&config.params),
            config,
        }
    }

    /// Every job, in row order.
    pub fn jobs(&self) -> Vec<Job> {
        self.keys().map(|k| self.job(k)).collect()
    }

    /// The jobs of shard `k` of `n` (1-based), balanced by cost; a pure function of the plan,
    /// so every machine computes the same split.
    pub fn shard(&self, k: usize, n: usize) -> Vec<Job> {
        let jobs = self.jobs();
        let costs: Vec<f64> = jobs.iter().map(|j| j.cost).collect();
        let owner = crate::shard::assign(&costs, n);
        jobs.into_iter()
            .zip(owner)
            .filter(|(_, o)| *o == k - 1)
            .map(|(j, _)| j)
            .collect()
    }

    /// Like [`Plan::shard`], but a whole curve of an image (its cells of one codec
    /// configuration apart from the setting) goes to one shard: what a target search needs,
    /// since it searches a curve from all its swept cells and adds probes to it. The groups
    /// are balanced by their summed cost.
    pub fn shard_curves(&self, k: usize, n: usize) -> Vec<Job> {
        let jobs = self.jobs();
        let curves: Vec<String> = self.configs.iter().map(|c| c.curve()).collect();
        let mut groups: Vec<(usize, &str)> = Vec::new();
        let mut index: HashMap<(usize, &str), usize> = HashMap::new();
        let mut costs: Vec<f64> = Vec::new();
        let group_of: Vec<usize> = jobs
            .iter()
            .map(|j| {
                let g = (j.key.image, curves[j.key.config].as_str());
                let i = *index.entry(g).or_insert_with(|| {
                    groups.push(g);
                    costs.push(0.0);
                    groups.len() - 1
                });
                costs[i] += j.cost;
                i
            })
            .collect();
        let owner = crate::shard::assign(&costs, n);
        jobs.into_iter()
            .zip(group_of)
            .filter(|(_, g)| owner[*g] == k - 1)
            .map(|(j, _)| j)
            .collect()
    }

    /// The key of the cell of image `id` and configuration `spec`.
    pub fn key_of(&self, id: &str, spec: &str) -> Option<JobKey> {
        let image = self.images.iter().position(|i| i.id == id)?;
        let config = *self.by_spec.get(spec)?;
        Some(JobKey { image, config })
    }
}

/// A plan over images known only by id, hash and size, and configurations known only by spec
/// (a run folder's run.json): enough to put rows from several runs in one order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowOrder {
    images: Vec<(String, String)>,
    specs: HashMap<String, usize>,
    n_specs: usize,
}

impl RowOrder {
    /// `images` as (id, hash) and `specs` in run order.
    pub fn new(images: Vec<(String, String)>, specs: &[String]) -> RowOrder {
        let mut map = HashMap::new();
        for s in specs {
            let n = map.len();
            map.entry(s.clone()).or_insert(n);
        }
        RowOrder {
            images,
            n_specs: map.len(),
            specs: map,
        }
    }

    /// Cells of the plan.
    pub fn len(&self) -> usize {
        self.images.len() * self.n_specs
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The position of image `id` in the plan.
    pub fn image_index(&self, id: &str) -> Option<usize> {
        self.images.iter().position(|(i, _)| i == id)
    }

    /// The key of a row, if the row belongs to this plan.
    pub fn key_of(&self, id: &str, hash: &str, spec: &str) -> Option<JobKey> {
        let image = self.images.iter().position(|(i, h)| i == id && h == hash)?;
        Some(JobKey {
            image,
            config: *self.specs.get(spec)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Registry;
    use crate::pixels::Image;

    fn source(id: &str, w: u32) -> SourceImage {
        let image = Image::new_u8(w, 2, 1, vec![0; 2 * w as usize]).unwrap();
        SourceImage::from_image(id, std::path::Path::new(id), image, 0)
    }

    #[test]
    fn keys_are_row_order_and_added_configs_join_the_plan() {
        let reg = Registry::builtin();
        let configs = reg.parse_spec("jpeg:q=50,60").unwrap();
        let mut plan = Plan::new(&[source("a", 4), source("b", 8)], &configs);
        let keys: Vec<(usize, usize)> = plan.keys().map(|k| (k.image, k.config)).collect();
        assert_eq!(keys, [(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(
            plan.job(JobKey {
                image: 1,
                config: 0
            })
            .cost,
            16.0
        );
        // The same spec again is the same configuration; a new one is appended.
        assert_eq!(plan.add_config(configs[1].clone()), 1);
        let probe = configs[0]
            .with_setting(crate::codec::Value::Int(55))
            .unwrap();
        assert_eq!(plan.add_config(probe), 2);
        assert_eq!(plan.len(), 6);
        assert_eq!(
            plan.key_of(
                "b",
                "jpeg:q=55,subsampling=420,progressive=true,arithmetic=false"
            ),
            Some(JobKey {
                image: 1,
                config: 2
            })
        );
        assert_eq!(plan.key_of("c", "jpeg:q=55"), None);
    }

    #[test]
    fn shards_partition_the_plan() {
        let reg = Registry::builtin();
        let configs = reg.parse_spec("jpeg:q=10..90:10").unwrap();
        let plan = Plan::new(&[source("a", 4), source("b", 8), source("c", 3)], &configs);
        let mut all: Vec<JobKey> = (1..=3)
            .flat_map(|k| plan.shard(k, 3).into_iter().map(|j| j.key))
            .collect();
        all.sort();
        assert_eq!(all, plan.keys().collect::<Vec<_>>());
    }

    #[test]
    fn curve_shards_partition_the_plan_and_keep_each_curve_whole() {
        let reg = Registry::builtin();
        let mut configs = reg.parse_spec("jpeg:q=10..90:10").unwrap();
        configs.extend(reg.parse_spec("webp:q=50,80").unwrap());
        let images = [source("a", 4), source("b", 8), source("c", 3)];
        let plan = Plan::new(&images, &configs);
        let shards: Vec<Vec<JobKey>> = (1..=3)
            .map(|k| plan.shard_curves(k, 3).into_iter().map(|j| j.key).collect())
            .collect();
        let mut all: Vec<JobKey> = shards.concat();
        all.sort();
        assert_eq!(all, plan.keys().collect::<Vec<_>>());
        // Six (image, curve) groups over three shards: every shard has work, and every
        // group's cells are in one shard.
        assert!(shards.iter().all(|s| !s.is_empty()));
        for image in 0..images.len() {
            for curve in [0..9, 9..11] {
                let owners: std::collections::BTreeSet<usize> = curve
                    .map(|config| {
                        let key = JobKey { image, config };
                        shards.iter().position(|s| s.contains(&key)).unwrap()
                    })
                    .collect();
                assert_eq!(owners.len(), 1, "image {image}");
            }
        }
    }
}
