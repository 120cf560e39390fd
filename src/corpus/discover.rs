//! Finds a sweep's image files: walks the corpus roots, gives each file its id, and reports
//! what cannot be read (skipped) and what is not an image (ignored).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File extensions read when walking a directory (case-insensitive).
pub const EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp", "pnm", "pbm", "pgm", "ppm", "pam", "avif",
    "jxl", "gif",
];

/// A file that could not be used, and why.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
    /// What the user can change to measure it, if anything (not in run.json: the caller
    /// says it in its own terms when the file is skipped).
    #[serde(skip)]
    pub fix: Option<SkipFix>,
}

/// What would let a skipped file be measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipFix {
    /// A higher limit on the pixels of one image.
    RaisePixelLimit,
    /// A larger memory budget, or fewer metrics (each needs its own view of the image).
    RaiseMemoryOrFewerMetrics,
    /// A corpus path that exists and can be read.
    CheckCorpusPath,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; skipped", self.path.display(), self.reason)
    }
}

/// Lists image files under the given roots (directories recursively, sorted), with their ids.
/// Missing roots, unreadable entries and paths too long to open are reported as skipped; files
/// in directories whose extension is not an image extension are ignored: counted and the first
/// few named ([`Ignored`]).
///
/// Ids: a file's path relative to its root (its file name when the root is a file), so a
/// single root's ids never change. When several roots hold the same id (`a/img.png` and
/// `b/img.png` both `img.png`), each of those files is prefixed with its root's folder name
/// (`a/img.png`, `b/img.png`), or with as many trailing folder names as make them distinct;
/// ids that do not collide stay as they are. The same file reached through two roots is
/// listed once.
pub fn discover(roots: &[PathBuf]) -> (Vec<(String, PathBuf)>, Vec<Skipped>, Ignored) {
    // (root index, id relative to its root, path)
    let mut all: Vec<(usize, String, PathBuf)> = Vec::new();
    // Per root: the folder whose trailing names label its files when ids collide.
    let mut labels: Vec<Vec<String>> = Vec::new();
    let mut skipped = Vec::new();
    let mut ignored = Ignored::default();
    for (r, root) in roots.iter().enumerate() {
        let meta = match fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                skipped.push(Skipped {
                    path: root.clone(),
                    reason: format!("cannot read corpus path ({e})"),
                    fix: Some(SkipFix::CheckCorpusPath),
                });
                labels.push(Vec::new());
                continue;
            }
        };
        let folder = if meta.is_dir() {
            root.clone()
        } else {
            root.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        labels.push(folder_names(&folder));
        let mut here = Vec::new();
        if meta.is_dir() {
            let mut seen = std::collections::HashSet::new();
            walk(root, &mut here, &mut ignored, &mut skipped, &mut seen);
            here.sort();
        } else {
            here.push(root.clone());
        }
        for path in here {
            let id = if meta.is_dir() {
                path.strip_prefix(root).unwrap_or(&path).to_path_buf()
            } else {
                PathBuf::from(path.file_name().unwrap_or(path.as_os_str()))
            };
            all.push((r, id.to_string_lossy().replace('\\', "/"), path));
        }
    }
    let found = unique_ids(all, &labels, &mut skipped);
    (found, skipped, ignored)
}

/// The names of a folder's components, outermost first, from its canonical path (so `.` and
/// `../x` have names too).
fn folder_names(folder: &Path) -> Vec<String> {
    let dir = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let canon = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    canon
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

/// Makes ids unique across roots (see [`discover`]): colliding ids get their root's trailing
/// folder names as a prefix; the same file found twice is kept once.
fn unique_ids(
    all: Vec<(usize, String, PathBuf)>,
    labels: &[Vec<String>],
    skipped: &mut Vec<Skipped>,
) -> Vec<(String, PathBuf)> {
    use std::collections::BTreeMap;
    let canon = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut by_id: BTreeMap<String, Vec<(usize, PathBuf)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (r, id, path) in all {
        let group = by_id.entry(id.clone()).or_default();
        if group.is_empty() {
            order.push(id);
        }
        if let Some((_, first)) = group.iter().find(|(_, p)| canon(p) == canon(&path)) {
            skipped.push(Skipped {
                reason: format!(
                    "the same file as {} (given twice in the corpus paths); measured once",
                    first.display()
                ),
                path,
                fix: None,
            });
            continue;
        }
        group.push((r, path));
    }
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for id in order {
        let group = &by_id[&id];
        if group.len() == 1 {
            found.push((id, group[0].1.clone()));
            continue;
        }
        // The fewest trailing folder names that tell the roots apart.
        let suffix = |r: usize, k: usize| {
            let l = &labels[r];
            l[l.len().saturating_sub(k)..].join("/")
        };
        let longest = group
            .iter()
            .map(|(r, _)| labels[*r].len())
            .max()
            .unwrap_or(0);
        let k = (1..=longest.max(1))
            .find(|&k| {
                let mut names: Vec<String> = group.iter().map(|(r, _)| suffix(*r, k)).collect();
                names.sort();
                names.dedup();
                names.len() == group.len()
            })
            .unwrap_or(longest.max(1));
        for (r, path) in group {
            let label = suffix(*r, k);
            let id = if label.is_empty() {
                id.clone()
            } else {
                format!("{label}/{id}")
            };
            found.push((id, path.clone()));
        }
    }
    // A prefixed id can still meet another root's plain one (root `a` holding `b/img.png`):
    // the later file is reported rather than measured under a shared id.
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    found.retain(|(id, path)| match seen.get(id) {
        Some(first) => {
            skipped.push(Skipped {
                path: path.clone(),
                reason: format!(
                    "image id \"{id}\" is already taken by {}; give distinct file names",
                    first.display()
                ),
                fix: None,
            });
            false
        }
        None => {
            seen.insert(id.clone(), path.clone());
            true
        }
    });
    found
}

/// Files in a corpus folder that codecbench does not read (no image extension): how many, and
/// the first [`Ignored::NAMED`] paths in walking order, so the message can name them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ignored {
    pub count: usize,
    pub first: Vec<PathBuf>,
}

impl Ignored {
    /// How many paths the message names.
    pub const NAMED: usize = 5;

    fn add(&mut self, path: PathBuf) {
        self.count += 1;
        if self.first.len() < Self::NAMED {
            self.first.push(path);
        }
    }
}

/// Compares the count, so `ignored == 0` and `ignored > 0` read as before.
impl PartialEq<usize> for Ignored {
    fn eq(&self, n: &usize) -> bool {
        self.count == *n
    }
}

impl PartialOrd<usize> for Ignored {
    fn partial_cmp(&self, n: &usize) -> Option<std::cmp::Ordering> {
        self.count.partial_cmp(n)
    }
}

/// "ignored 7 file(s) without an image extension (read: .png .jpg ...): corpus/logo.svg,
/// corpus/notes.txt, ... and 5 more".
impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ignored {} file(s) without an image extension ({}): ",
            self.count,
            EXTENSIONS
                .iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join(" ")
        )?;
        let names: Vec<String> = self.first.iter().map(|p| p.display().to_string()).collect();
        write!(f, "{}", names.join(", "))?;
        if self.count > names.len() {
            write!(f, " and {} more", self.count - names.len())?;
        }
        Ok(())
    }
}

/// `seen` holds the canonical path of every directory entered under this root, so a symlink
/// loop (`ln -s . c/a`) or a second link to a folder is followed once, not forever.
fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    ignored: &mut Ignored,
    skipped: &mut Vec<Skipped>,
    seen: &mut std::collections::HashSet<PathBuf>,
) {
    if let Ok(canon) = fs::canonicalize(dir) {
        if !seen.insert(canon) {
            return;
        }
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            skipped.push(Skipped {
                path: dir.to_path_buf(),
                reason: unreadable("cannot list directory", dir, &e),
                fix: None,
            });
            return;
        }
    };
    // Sorted, so which of two links to one folder is followed (and names its images) does
    // not depend on the order the file system lists them.
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => paths.push(e.path()),
            Err(e) => skipped.push(Skipped {
                path: dir.to_path_buf(),
                reason: unreadable("an entry cannot be listed", dir, &e),
                fix: None,
            }),
        }
    }
    paths.sort();
    for path in paths {
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, out, ignored, skipped, seen),
            // A path the system refuses to resolve (longer than PATH_MAX) may be an image or a
            // folder of images: name it rather than count it as an ignored file.
            Err(e) if is_too_long(&e) => skipped.push(Skipped {
                reason: unreadable("cannot read", &path, &e),
                path,
                fix: None,
            }),
            _ if has_image_extension(&path) => out.push(path),
            _ => ignored.add(path),
        }
    }
}

fn is_too_long(e: &std::io::Error) -> bool {
    // ENAMETOOLONG.
    e.kind() == std::io::ErrorKind::InvalidFilename
}

/// A reason for an entry that cannot be read; for an over-long path, what to do about it.
fn unreadable(what: &str, path: &Path, e: &std::io::Error) -> String {
    if is_too_long(e) {
        format!(
            "{what}: the path is {} bytes, longer than the system can open ({e}); move or \
             rename it to a shorter path",
            path.as_os_str().len()
        )
    } else {
        format!("{what} ({e})")
    }
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files codecbench does not read are named (the first few, in walking order) with a
    /// count, not only counted: "ignored 7 file(s)" left the user guessing which.
    #[test]
    fn ignored_files_are_named_first_few_with_a_count() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c");
        fs::create_dir_all(c.join("sub")).unwrap();
        fs::write(c.join("a.png"), b"not decoded by discover").unwrap();
        for name in [
            "logo.svg",
            "notes.txt",
            "b.heic",
            "c.psd",
            "sub/d.svg",
            "sub/e.svg",
            "z.md",
        ] {
            fs::write(c.join(name), b"x").unwrap();
        }
        let (found, skipped, ignored) = discover(std::slice::from_ref(&c));
        assert_eq!(found.len(), 1);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(ignored.count, 7);
        assert!(ignored == 7 && ignored > 0);
        // Sorted walk: b.heic, c.psd, logo.svg, notes.txt, sub/d.svg, (sub/e.svg, z.md).
        let named: Vec<PathBuf> = ["b.heic", "c.psd", "logo.svg", "notes.txt", "sub/d.svg"]
            .iter()
            .map(|n| c.join(n))
            .collect();
        assert_eq!(ignored.first, named);
        let msg = ignored.to_string();
        assert!(
            msg.starts_with("ignored 7 file(s) without an image extension (.png "),
            "{msg}"
        );
        let logo = c.join("logo.svg").display().to_string();
        assert!(msg.contains(&logo), "names the file: {msg}");
        assert!(msg.ends_with("sub/d.svg and 2 more"), "{msg}");
        assert!(
            !msg.contains("e.svg"),
            "names at most {}: {msg}",
            Ignored::NAMED
        );

        // Fewer than the limit: every one named, no "more".
        let few = Ignored {
            count: 1,
            first: vec![PathBuf::from("corpus/x.svg")],
        };
        assert!(few.to_string().ends_with("): corpus/x.svg"), "{few}");
    }
}
