//! A content-addressed cache of measured cells, so re-running a sweep costs only what changed
//! and an interrupted run resumes where it stopped.
//!
//! The key covers everything that determines a cell's numbers: the image's pixel hash, the
//! codec's name, version and decoder, the full spec (setting and options), the metric set, the
//! repeat count and [`MEASUREMENT_VERSION`] (codec builds are in their versions: mozjpeg
//! with and without SIMD are two keys). Timings also depend on the machine and on
//! codecbench's build, which are recorded in each entry rather than keyed: a hit measured
//! elsewhere is served with `timing_source` saying so, and `compare` does not judge its time.
//! Each entry is one JSON file written atomically
//! (temporary file + rename), so concurrent runs sharing a cache never see half an entry; a
//! corrupt or mismatched entry is reported and measured again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::codec::CodecConfig;
use crate::export::write_atomic;
use crate::record::{CellRecord, TimingSource};

/// Bump whenever a change to codecbench alters any measured value or column meaning; every
/// older cache entry then misses. 2: entries carry their key's text and a checksum.
pub const MEASUREMENT_VERSION: u32 = 2;

/// Temporary files (from [`write_atomic`]) older than this in `cells/` were left by a killed
/// run; younger ones may belong to a run writing right now.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(3600);

/// A cache folder, as seen from one machine and build (see [`Cache::with_fingerprint`]).
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
    /// This machine and codecbench build ([`crate::run_meta::this_machine`], `this_build`):
    /// recorded in every entry written, compared on every hit.
    machine: String,
    build: String,
}

/// Whether a row's times can be compared with times measured now on this machine and build
/// (see [`TimingSource::is_local`]).
pub fn timing_is_local(timing_source: &TimingSource) -> bool {
    timing_source.is_local()
}

/// One cache file. The record is kept as a CSV row (header + row) because JSON cannot hold
/// the infinite PSNR of a lossless cell. `key_text` is what `key` hashes, and `checksum`
/// covers the key and the record, so an edited number, an entry copied under another key or
/// a damaged file are recognised rather than served.
#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    key_text: String,
    record_csv: String,
    checksum: String,
    /// Codec and metric seconds when it was measured.
    measured_s: f64,
    /// The machine and codecbench build that measured it (empty in entries written before
    /// they were recorded); covered by the checksum.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    machine: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    build: String,
}

/// Covers the key, the record and (when recorded) the machine and build, so none can be
/// edited unseen; entries from before the machine was recorded keep their checksums.
fn checksum(key: &str, record_csv: &str, machine: &str, build: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"codecbench-cache-entry\n");
    h.update(key.as_bytes());
    h.update(b"\n");
    h.update(record_csv.as_bytes());
    if !machine.is_empty() || !build.is_empty() {
        h.update(b"\nmachine ");
        h.update(machine.as_bytes());
        h.update(b"\nbuild ");
        h.update(build.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// A cached row that cannot be read back (the entry is then measured again).
#[derive(Debug, thiserror::Error)]
enum RowError {
    #[error("no record")]
    Empty,
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

fn from_csv(text: &str) -> Result<CellRecord, RowError> {
    Ok(csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .next()
        .ok_or(RowError::Empty)??)
}

/// The metric set in one canonical order (the metric table's), so `ssim,psnr-y` and
/// `psnr-y,ssim` are one key. Unknown names (none reach here) sort last, by name.
fn normalise_metrics(metrics: &str) -> String {
    let mut v: Vec<&str> = metrics
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    let rank = |m: &str| {
        crate::metrics::METRICS
            .iter()
            .position(|d| d.key == m)
            .unwrap_or(usize::MAX)
    };
    v.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    v.dedup();
    v.join(",")
}

/// The value of the line `name value` of a key text.
fn key_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
}

/// Why `rec` cannot be the cell `key_text` describes (`None` if it can).
fn mismatch(key_text: &str, rec: &CellRecord) -> Option<String> {
    if !rec.is_ok() {
        return Some("an error row (error rows are never cached)".into());
    }
    for (field, value) in [
        ("image", &rec.image_hash),
        ("codec", &rec.codec),
        ("version", &rec.codec_version),
        ("spec", &rec.spec),
    ] {
        if key_field(key_text, field) != Some(value.as_str()) {
            return Some(format!("its row's {field} is not its key's"));
        }
    }
    None
}

/// A cache folder that cannot be used, or an entry that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache folder {}: cannot create ({source}); choose another folder or run without the cache", dir.display())]
    Open {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
}

/// What a lookup found.
pub enum Lookup {
    Hit(Box<CellRecord>, f64),
    Miss,
    /// An entry exists but cannot be used; the message says why.
    Corrupt(String),
}

impl Cache {
    /// Opens (creating) a cache folder, removing temporary files that killed runs left.
    pub fn open(dir: &Path) -> Result<Cache, CacheError> {
        std::fs::create_dir_all(dir.join("cells")).map_err(|source| CacheError::Open {
            dir: dir.to_path_buf(),
            source,
        })?;
        let cache = Cache {
            dir: dir.to_path_buf(),
            machine: crate::run_meta::this_machine(),
            build: crate::run_meta::this_build(),
        };
        cache.remove_stale_temporaries();
        Ok(cache)
    }

    /// The same cache seen as another machine or build would see it (what entries record,
    /// and what hits are compared with); for tests and tools that replay another machine.
    pub fn with_fingerprint(mut self, machine: &str, build: &str) -> Cache {
        self.machine = machine.to_string();
        self.build = build.to_string();
        self
    }

    /// Removes `.tmp*` files older than [`STALE_TMP`] under `cells/` (best effort).
    fn remove_stale_temporaries(&self) {
        let Ok(shards) = std::fs::read_dir(self.dir.join("cells")) else {
            return;
        };
        for shard in shards.flatten() {
            let Ok(files) = std::fs::read_dir(shard.path()) else {
                continue;
            };
            for f in files.flatten() {
                let stale = f.file_name().to_string_lossy().starts_with(".tmp")
                    && f.metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > STALE_TMP);
                if stale {
                    let _ = std::fs::remove_file(f.path());
                }
            }
        }
    }

    /// `$XDG_CACHE_HOME/codecbench`, else `$HOME/.cache/codecbench`, else `.codecbench-cache`.
    pub fn default_dir() -> PathBuf {
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
            return PathBuf::from(x).join("codecbench");
        }
        match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(h) => PathBuf::from(h).join(".cache").join("codecbench"),
            None => PathBuf::from(".codecbench-cache"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The text a cell's key hashes: everything that determines its numbers.
    pub fn key_text(image_hash: &str, config: &CodecConfig, metrics: &str, repeat: u32) -> String {
        let c = &config.codec;
        let text = format!(
            "codecbench-cell\nmeasurement {MEASUREMENT_VERSION}\nimage {image_hash}\ncodec {}\nversion {}\ndecoder {}\nspec {}\nmetrics {}\nrepeat {repeat}\n",
            c.name(),
            c.version(),
            c.decoder(),
            config.spec(),
            normalise_metrics(metrics),
        );
        // An external codec's definition (commands, params, lossless, version output).
        let def = c.definition();
        if def.is_empty() {
            text
        } else {
            format!(
                "{text}definition {}\n",
                blake3::hash(def.as_bytes()).to_hex()
            )
        }
    }

    /// The key of one cell, 64 hex digits.
    pub fn key(image_hash: &str, config: &CodecConfig, metrics: &str, repeat: u32) -> String {
        Self::hash_key(&Self::key_text(image_hash, config, metrics, repeat))
    }

    /// The key of a key text ([`Cache::key_text`]).
    pub fn hash_key(text: &str) -> String {
        blake3::hash(text.as_bytes()).to_hex().to_string()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir
            .join("cells")
            .join(&key[..2])
            .join(format!("{}.json", &key[2..]))
    }

    /// Looks a cell up. An entry is served only if its key text hashes to `key`, its checksum
    /// matches, and its row is an ok row of the image, codec and spec of that key text.
    pub fn get(&self, key: &str) -> Lookup {
        let path = self.path(key);
        if path.is_dir() {
            return Lookup::Corrupt(format!(
                "{}: a folder where a cache entry should be",
                path.display()
            ));
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return Lookup::Corrupt(format!("{}: {e}", path.display())),
        };
        let bad = |why: &str| Lookup::Corrupt(format!("{}: {why}", path.display()));
        let e = match serde_json::from_slice::<Entry>(&bytes) {
            Ok(e) => e,
            Err(err) => return bad(&err.to_string()),
        };
        if e.key != key || Self::hash_key(&e.key_text) != key {
            return bad("entry for another key");
        }
        if checksum(&e.key, &e.record_csv, &e.machine, &e.build) != e.checksum {
            return bad("checksum does not match its content (edited or damaged)");
        }
        match from_csv(&e.record_csv) {
            Ok(mut r) => match mismatch(&e.key_text, &r) {
                Some(why) => bad(&why),
                None => {
                    r.timing_source = self.timing_source(&e);
                    Lookup::Hit(Box::new(r), e.measured_s)
                }
            },
            Err(err) => bad(&err.to_string()),
        }
    }

    /// Where a hit's times come from, relative to this machine and build.
    fn timing_source(&self, e: &Entry) -> TimingSource {
        if e.machine.is_empty() {
            TimingSource::CacheUnknown
        } else if e.machine != self.machine {
            TimingSource::CacheOtherMachine
        } else if e.build != self.build {
            TimingSource::CacheOtherBuild
        } else {
            TimingSource::Cache
        }
    }

    /// Stores a successfully measured cell under `key`, the hash of `key_text`
    /// ([`Cache::key_text`]). Error rows are refused (never cached); a folder in the entry's
    /// place is replaced.
    pub fn put(
        &self,
        key_text: &str,
        record: &CellRecord,
        measured_s: f64,
    ) -> Result<(), CacheError> {
        let key = Self::hash_key(key_text);
        let path = self.path(&key);
        let fail = |reason: String| CacheError::Write {
            path: path.clone(),
            reason,
        };
        if let Some(why) = mismatch(key_text, record) {
            return Err(fail(format!("not cached: {why}")));
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(|e| fail(e.to_string()))?;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        }
        let csv = crate::export::csv_bytes([record]).map_err(|e| fail(e.to_string()))?;
        let record_csv = String::from_utf8(csv).map_err(|e| fail(e.to_string()))?;
        let entry = Entry {
            checksum: checksum(&key, &record_csv, &self.machine, &self.build),
            key,
            key_text: key_text.to_string(),
            record_csv,
            measured_s,
            machine: self.machine.clone(),
            build: self.build.clone(),
        };
        let bytes = serde_json::to_vec(&entry).map_err(|e| fail(e.to_string()))?;
        write_atomic(&path, &bytes).map_err(|e| fail(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Registry;

    fn parse_spec(s: &str) -> Vec<CodecConfig> {
        Registry::builtin().parse_spec(s).unwrap()
    }

    #[test]
    fn key_changes_with_every_input_that_matters() {
        let a = &parse_spec("jpeg:q=50")[0];
        let b = &parse_spec("jpeg:q=51")[0];
        let k = Cache::key("h1", a, "psnr", 1);
        assert_eq!(k, Cache::key("h1", a, "psnr", 1));
        assert_eq!(k.len(), 64);
        for other in [
            Cache::key("h2", a, "psnr", 1),
            Cache::key("h1", b, "psnr", 1),
            Cache::key("h1", a, "psnr,ssim", 1),
            Cache::key("h1", a, "psnr", 3),
        ] {
            assert_ne!(k, other);
        }
    }

    /// An ok row of `config` on image "h1", and its key text.
    fn cell(config: &CodecConfig) -> (String, CellRecord) {
        let text = Cache::key_text("h1", config, "psnr", 1);
        let rec = CellRecord {
            image: "x.png".into(),
            image_hash: "h1".into(),
            codec: config.codec.name().into(),
            codec_version: config.codec.version(),
            spec: config.spec(),
            psnr: Some(f64::INFINITY),
            ..Default::default()
        };
        (text, rec)
    }

    #[test]
    fn round_trip_and_corrupt_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let (text, rec) = cell(&parse_spec("png")[0]);
        let key = Cache::hash_key(&text);
        assert!(matches!(cache.get(&key), Lookup::Miss));
        cache.put(&text, &rec, 0.5).unwrap();
        match cache.get(&key) {
            Lookup::Hit(r, s) => {
                assert_eq!(r.image, "x.png");
                assert_eq!(r.psnr, Some(f64::INFINITY), "inf survives the cache");
                assert_eq!(s, 0.5);
            }
            _ => panic!("expected a hit"),
        }
        std::fs::write(cache.path(&key), b"{\"key\": \"trunc").unwrap();
        assert!(matches!(cache.get(&key), Lookup::Corrupt(m) if m.contains("EOF")));
    }

    #[test]
    fn metric_order_does_not_change_the_key() {
        let a = &parse_spec("jpeg:q=50")[0];
        assert_eq!(
            Cache::key("h", a, "psnr,ssim,psnr-y", 1),
            Cache::key("h", a, "psnr,psnr-y,ssim", 1)
        );
        assert_eq!(normalise_metrics("ssim, psnr,ssim"), "psnr,ssim");
    }
}
