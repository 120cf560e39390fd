//! A content-addressed cache of measured cells, so re-running a sweep costs only what changed
//! and an interrupted run resumes where it stopped.
//!
//! The key covers everything that determines a cell's numbers: the image's pixel hash, the
//! codec's name, version and decoder, the full spec (setting and options), the metric set, the
//! repeat count and [`MEASUREMENT_VERSION`]. Each entry is one JSON file written atomically
//! (temporary file + rename), so concurrent runs sharing a cache never see half an entry; a
//! corrupt or mismatched entry is reported and measured again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::codec::CodecConfig;
use crate::export::write_atomic;
use crate::record::CellRecord;

/// Bump whenever a change to codecbench alters any measured value or column meaning; every
/// older cache entry then misses.
pub const MEASUREMENT_VERSION: u32 = 1;

/// A cache folder.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

/// One cache file. The record is kept as a CSV row (header + row) because JSON cannot hold
/// the infinite PSNR of a lossless cell.
#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    record_csv: String,
    /// Codec and metric seconds when it was measured.
    measured_s: f64,
}

fn from_csv(text: &str) -> Result<CellRecord, String> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .next()
        .ok_or("no record")?
        .map_err(|e| e.to_string())
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
    /// Opens (creating) a cache folder.
    pub fn open(dir: &Path) -> Result<Cache, CacheError> {
        std::fs::create_dir_all(dir.join("cells")).map_err(|source| CacheError::Open {
            dir: dir.to_path_buf(),
            source,
        })?;
        Ok(Cache {
            dir: dir.to_path_buf(),
        })
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

    /// The key of one cell, 64 hex digits.
    pub fn key(image_hash: &str, config: &CodecConfig, metrics: &str, repeat: u32) -> String {
        let c = &config.codec;
        let text = format!(
            "codecbench-cell\nmeasurement {MEASUREMENT_VERSION}\nimage {image_hash}\ncodec {}\nversion {}\ndecoder {}\nspec {}\nmetrics {metrics}\nrepeat {repeat}\n",
            c.name(),
            c.version(),
            c.decoder(),
            config.spec()
        );
        // An external codec's definition (commands, params, lossless, version output).
        let def = c.definition();
        let text = if def.is_empty() {
            text
        } else {
            format!(
                "{text}definition {}\n",
                blake3::hash(def.as_bytes()).to_hex()
            )
        };
        blake3::hash(text.as_bytes()).to_hex().to_string()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir
            .join("cells")
            .join(&key[..2])
            .join(format!("{}.json", &key[2..]))
    }

    /// Looks a cell up.
    pub fn get(&self, key: &str) -> Lookup {
        let path = self.path(key);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return Lookup::Corrupt(format!("{}: {e}", path.display())),
        };
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(e) if e.key == key => match from_csv(&e.record_csv) {
                Ok(r) => Lookup::Hit(Box::new(r), e.measured_s),
                Err(err) => Lookup::Corrupt(format!("{}: {err}", path.display())),
            },
            Ok(_) => Lookup::Corrupt(format!("{}: entry for another key", path.display())),
            Err(e) => Lookup::Corrupt(format!("{}: {e}", path.display())),
        }
    }

    /// Stores a successfully measured cell.
    pub fn put(&self, key: &str, record: &CellRecord, measured_s: f64) -> Result<(), CacheError> {
        let path = self.path(key);
        let fail = |reason: String| CacheError::Write {
            path: path.clone(),
            reason,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        }
        let csv = crate::export::csv_bytes([record]).map_err(|e| fail(e.to_string()))?;
        let entry = Entry {
            key: key.to_string(),
            record_csv: String::from_utf8(csv).map_err(|e| fail(e.to_string()))?,
            measured_s,
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

    #[test]
    fn round_trip_and_corrupt_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let key = "ab".repeat(32);
        assert!(matches!(cache.get(&key), Lookup::Miss));
        let rec = CellRecord {
            image: "x.png".into(),
            psnr: Some(f64::INFINITY),
            ..Default::default()
        };
        cache.put(&key, &rec, 0.5).unwrap();
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
}
