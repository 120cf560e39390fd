//! Layers go one way: no import cycle among the modules of `src/`, at any level (top-level
//! modules, and the submodules of each folder). Reads every `crate::`, `super::` and `self::`
//! path in the library's sources (test modules excluded), maps it to the module it names and
//! looks for strongly connected components among siblings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Parents whose children may still form a cycle (none: the report's markup helpers moved to
/// `report/markup.rs`, which ended the last one).
const KNOWN_CYCLES_UNDER: &[&str] = &[];

type Module = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` -> [a, b]; the crate roots -> [].
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// The code of a file without comments and without its test modules (`#[cfg(test)] mod`),
/// plus the names of child modules it declares test-only (`#[cfg(test)] mod x;`).
fn code_of(text: &str) -> (String, Vec<String>) {
    let mut code = String::new();
    let mut test_children = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            let next = lines.peek().map(|l| l.trim()).unwrap_or("");
            if let Some(name) = next.strip_prefix("mod ").and_then(|n| n.strip_suffix(';')) {
                test_children.push(name.trim().to_string());
                lines.next();
                continue;
            }
            if next.starts_with("mod ") {
                break; // the test module runs to the end of the file (house style)
            }
            lines.next(); // a single test-only item
            continue;
        }
        code.push_str(line.split("//").next().unwrap_or(""));
        code.push('\n');
    }
    (code, test_children)
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every path a file names, as (anchor, segments): `crate::a::b` -> ("crate", [a, b]);
/// `use crate::{a, b::c}` -> ("crate", [a]) and ("crate", [b, c]).
fn paths_in(code: &str) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    for anchor in ["crate", "super", "self"] {
        let pat = format!("{anchor}::");
        let mut from = 0;
        while let Some(i) = code[from..].find(&pat) {
            let at = from + i;
            from = at + pat.len();
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue; // `$crate::`, `foo::self::` or a longer identifier
            }
            let anchor: &'static str = anchor;
            let rest = &code[from..];
            if let Some(group) = rest.strip_prefix('{') {
                let body = &group[..group.find('}').unwrap_or(group.len())];
                for item in body.split(',') {
                    let segs = item.trim().split("::").map(|s| ident(s.trim()).to_string());
                    let segs: Vec<String> = segs.take_while(|s| !s.is_empty()).collect();
                    if !segs.is_empty() {
                        out.push((anchor, segs));
                    }
                }
            } else {
                let mut segs = Vec::new();
                let mut r = rest;
                loop {
                    let id = ident(r);
                    if id.is_empty() {
                        break;
                    }
                    segs.push(id.to_string());
                    match r[id.len()..].strip_prefix("::") {
                        Some(more) => r = more,
                        None => break,
                    }
                }
                if !segs.is_empty() {
                    out.push((anchor, segs));
                }
            }
        }
    }
    out
}

/// Sibling edges per parent: parent -> (child -> children it imports).
type Edges = BTreeMap<Module, BTreeMap<String, BTreeSet<String>>>;

fn edges(src: &Path) -> Edges {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut code = BTreeMap::new();
    let mut test_only = BTreeSet::new();
    for f in &files {
        let m = module_of(src, f);
        let (c, tests) = code_of(&std::fs::read_to_string(f).unwrap());
        for t in tests {
            let mut child = m.clone();
            child.push(t);
            test_only.insert(child);
        }
        code.insert(m, c);
    }
    let is_test = |m: &Module| (1..=m.len()).any(|k| test_only.contains(&m[..k]));
    let modules: BTreeSet<Module> = code.keys().cloned().collect();
    let mut out = Edges::new();
    for (from, c) in &code {
        if from.is_empty() || is_test(from) {
            continue;
        }
        for (anchor, segs) in paths_in(c) {
            let base: Module = match anchor {
                "crate" => vec![],
                "self" => from.clone(),
                _ => from[..from.len() - 1].to_vec(),
            };
            // The longest prefix of the path that is a module of the crate.
            let mut to = None;
            for k in (1..=segs.len()).rev() {
                let mut m = base.clone();
                m.extend(segs[..k].iter().cloned());
                if modules.contains(&m) {
                    to = Some(m);
                    break;
                }
            }
            let Some(to) = to else { continue };
            let k = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if k < from.len() && k < to.len() {
                out.entry(from[..k].to_vec())
                    .or_default()
                    .entry(from[k].clone())
                    .or_default()
                    .insert(to[k].clone());
            }
        }
    }
    out
}

/// The strongly connected components of more than one node (Tarjan).
fn cycles(adj: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct St<'a> {
        adj: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut St<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        if let Some(next) = s.adj.get(v) {
            for w in next {
                if !s.index.contains_key(w.as_str()) {
                    visit(s, w);
                    let lw = s.low[w.as_str()];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on.contains(w.as_str()) {
                    let iw = s.index[w.as_str()];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = St {
        adj,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in adj.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn no_import_cycle_among_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for (parent, adj) in edges(&src) {
        let known = parent.len() == 1 && KNOWN_CYCLES_UNDER.contains(&parent[0].as_str());
        for c in cycles(&adj) {
            let where_ = if parent.is_empty() {
                "crate".to_string()
            } else {
                format!("crate::{}", parent.join("::"))
            };
            if known {
                eprintln!("known cycle under {where_}: {}", c.join(" <-> "));
            } else {
                found.push(format!("under {where_}: {}", c.join(", ")));
            }
        }
    }
    assert!(
        found.is_empty(),
        "import cycles (move the shared type down a layer):\n{}",
        found.join("\n")
    );
}

/// The checker itself finds a cycle, a grouped import and a `super::` path.
#[test]
fn the_checker_sees_cycles() {
    let paths = paths_in("use crate::{a::X, b};\nlet y = super::c::f();");
    assert_eq!(
        paths,
        vec![
            ("crate", vec!["a".to_string(), "X".to_string()]),
            ("crate", vec!["b".to_string()]),
            ("super", vec!["c".to_string(), "f".to_string()]),
        ]
    );
    let mut adj = BTreeMap::new();
    for (a, b) in [("x", "y"), ("y", "z"), ("z", "x"), ("z", "w")] {
        adj.entry(a.to_string())
            .or_insert_with(BTreeSet::new)
            .insert(b.to_string());
    }
    assert_eq!(cycles(&adj), vec![vec!["x", "y", "z"]]);
    let (code, tests) = code_of(
        "use a; // crate::b\n#[cfg(test)]\nmod t;\n#[cfg(test)]\nmod tests {\nuse crate::c;\n}\n",
    );
    assert_eq!((code.as_str(), tests), ("use a; \n", vec!["t".to_string()]));
}

/// The modules of the binary: main.rs and the files it declares (`mod console;`). The rest of
/// `src/` is the library.
fn binary_files(src: &Path) -> Vec<PathBuf> {
    let main = std::fs::read_to_string(src.join("main.rs")).unwrap();
    let mut files = vec![src.join("main.rs")];
    for line in main.lines() {
        if let Some(name) = line
            .trim()
            .strip_prefix("mod ")
            .and_then(|n| n.strip_suffix(';'))
        {
            files.push(src.join(format!("{}.rs", name.trim())));
        }
    }
    files
}

/// What in `code` writes to the terminal: a print macro or a handle on stdout/stderr.
fn prints(code: &str) -> Vec<&'static str> {
    [
        "println!",
        "eprintln!",
        "print!",
        "eprint!",
        "dbg!",
        "io::stdout",
        "io::stderr",
    ]
    .into_iter()
    .filter(|p| {
        code.match_indices(p).any(|(i, _)| {
            // `eprintln!` is not also a `println!`, nor `std::io::stdout` an `io::stdout`
            // twice (both count once: the filter names each kind).
            let before = code[..i].chars().last();
            !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    })
    .collect()
}

/// The library prints nothing (issue 27): it returns warnings and reports progress through
/// `progress::Observer`; the binary's modules print.
#[test]
fn the_library_prints_nothing() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let binary = binary_files(&src);
    assert!(binary.len() >= 3, "{binary:?}");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !binary.contains(f)) {
        let (code, _) = code_of(&std::fs::read_to_string(f).unwrap());
        for p in prints(&code) {
            found.push(format!("{}: {p}", f.strip_prefix(&src).unwrap().display()));
        }
    }
    assert!(
        found.is_empty(),
        "library code that prints:\n{}",
        found.join("\n")
    );
}

/// The print check sees a print and a stderr handle, and passes a piped child's stderr.
#[test]
fn the_print_check_sees_prints() {
    assert_eq!(prints("eprintln!(\"x\");"), vec!["eprintln!"]);
    assert_eq!(prints("let o = std::io::stdout();"), vec!["io::stdout"]);
    assert_eq!(prints("print!(\"{x}\")"), vec!["print!"]);
    // A child's piped stderr, a closure named stderr, a method that merely looks alike.
    assert!(prints("cmd.stderr(Stdio::piped()); stderr(); x.my_println!();").is_empty());
}

/// The library without the `cli` feature has none of the command line's crates (issue 27): each
/// is an optional dependency that only the `cli` feature turns on, and no library module
/// outside the feature-gated ones names them. (`cargo tree -e normal --no-default-features`
/// then lists none of them; checked by hand, too slow for every test run.)
#[test]
fn the_command_line_crates_are_only_in_the_cli_feature() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let deps = manifest["dependencies"].as_table().unwrap();
    let features = manifest["features"].as_table().unwrap();
    let gated = ["clap", "indicatif", "ctrlc", "anyhow"];
    for name in gated {
        let optional = deps[name]
            .as_table()
            .and_then(|t| t.get("optional"))
            .and_then(|v| v.as_bool());
        assert_eq!(optional, Some(true), "{name} must be optional");
        for (feature, list) in features {
            let on = list
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v.as_str() == Some(&format!("dep:{name}")));
            assert_eq!(on, feature == "cli", "{name} in feature {feature}");
        }
    }
    // Library files other than the feature-gated cli.rs and options.rs do not use them.
    let src = root.join("src");
    let binary = binary_files(&src);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for f in files.iter().filter(|f| !binary.contains(f)) {
        let name = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        if name == "cli.rs" || name == "options.rs" {
            continue;
        }
        let (code, _) = code_of(&std::fs::read_to_string(f).unwrap());
        for c in gated {
            assert!(!code.contains(&format!("{c}::")), "{name} uses {c}");
        }
    }
}
