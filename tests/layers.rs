//! The house of `DESIGN.md`: data flows down the list below. A module may use
//! only modules above it (the leaves `error`, `units`, `files`, `address`
//! and `escape` serve everyone); inside a folder, a file may use only the files above it in
//! its folder's list (a folder's `mod.rs` declares and re-exports its
//! children and is not ranked). References are found in the source text,
//! doc links included: `crate::a::b`, `super::b` and, in the command,
//! `heapframe::a::b`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules, in order; `bin` is the command.
const HOUSE: &[&str] = &[
    "error", "defaults", "units", "files", "address", "escape", "pprof", "profile", "report",
    "tables", "growth", "evidence", "dataset", "live", "findings", "views", "bin",
];

/// Modules every other module may use.
const LEAVES: &[&str] = &["error", "defaults", "units", "files", "address", "escape"];

/// The files of each folder, in order.
const FOLDERS: &[(&str, &[&str])] = &[
    ("pprof", &["proto", "wire", "codec"]),
    (
        "profile",
        &[
            "stacks",
            "samples",
            "legacy",
            "goroutine_text",
            "decode",
            "encode",
        ],
    ),
    ("report", &["filter", "compare", "graph", "top"]),
    ("growth", &["classify", "widening"]),
    (
        "evidence",
        &[
            "metrics",
            "gctrace",
            "timeline",
            "bundle",
            "verdict",
            "goroutines",
            "checklist",
        ],
    ),
    ("live", &["http", "service", "collect", "prometheus"]),
    (
        "views",
        &[
            "html", "notebook", "plot", "chart", "flame", "page", "markdown",
        ],
    ),
];

fn rank(top: &str) -> Option<usize> {
    HOUSE.iter().position(|m| *m == top)
}

fn sub_rank(folder: &str, file: &str) -> Option<usize> {
    FOLDERS
        .iter()
        .find(|(f, _)| *f == folder)
        .and_then(|(_, files)| files.iter().position(|x| *x == file))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `(folder or top-level module, file inside the folder)` of a source file.
fn module_of(src: &Path, file: &Path) -> (String, Option<String>) {
    let rel = file.strip_prefix(src).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [one] => (one.clone(), None),
        [dir, f] if f == "mod" => (dir.clone(), None),
        [dir, f] => (dir.clone(), Some(f.clone())),
        _ => panic!("unexpected nesting: {}", rel.display()),
    }
}

/// Identifiers after each occurrence of `prefix` (`crate::`, `super::`...):
/// up to two path segments.
fn paths_after<'a>(text: &'a str, prefix: &str) -> Vec<(&'a str, Option<&'a str>)> {
    let ident = |s: &'a str| -> &'a str {
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        &s[..end]
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let first = ident(rest);
        if first.is_empty() {
            continue;
        }
        let after = &rest[first.len()..];
        let second = after
            .strip_prefix("::")
            .map(ident)
            .filter(|s| !s.is_empty());
        out.push((first, second));
    }
    out
}

/// Every reference that breaks the house, as `file: what`.
fn violations(root: &Path) -> Vec<String> {
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for file in &files {
        let (me, my_file) = module_of(&src, file);
        if me == "lib" {
            continue;
        }
        let Some(my_rank) = rank(&me) else {
            bad.push(format!("{}: not a module of the house", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(root).unwrap().display().to_string();
        let mut refs: BTreeSet<(String, Option<String>)> = BTreeSet::new();
        let prefix = if me == "bin" {
            "heapframe::"
        } else {
            "crate::"
        };
        for (a, b) in paths_after(&text, prefix) {
            refs.insert((a.to_string(), b.map(str::to_string)));
        }
        if my_file.is_some() {
            for (a, _) in paths_after(&text, "super::") {
                refs.insert((me.clone(), Some(a.to_string())));
            }
        }
        for (top, sub) in refs {
            let Some(r) = rank(&top) else { continue };
            if top != me {
                if !LEAVES.contains(&top.as_str()) && r > my_rank {
                    bad.push(format!("{name}: uses {top}, below it in the house"));
                }
                continue;
            }
            // Inside one folder: compare the files' places in its list.
            let (Some(mine), Some(theirs)) = (my_file.as_deref(), sub.as_deref()) else {
                continue;
            };
            if let (Some(a), Some(b)) = (sub_rank(&me, mine), sub_rank(&me, theirs)) {
                if b > a {
                    bad.push(format!("{name}: uses {me}::{theirs}, below it in {me}/"));
                }
            } else if sub_rank(&me, mine).is_none() {
                bad.push(format!("{name}: not in the list of {me}/"));
            }
        }
    }
    bad
}

#[test]
fn every_module_uses_only_modules_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bad = violations(root);
    assert!(
        bad.is_empty(),
        "imports that run back up the house:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_check_finds_a_back_edge() {
    // A copy of a small tree where `units` (a leaf) is used by `error` (fine)
    // and `profile` uses `views` (a back edge), and `live/http.rs` uses
    // `live/collect.rs` (a back edge inside a folder).
    let dir = std::env::temp_dir().join(format!("heapframe-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("live")).unwrap();
    std::fs::create_dir_all(src.join("profile")).unwrap();
    std::fs::write(src.join("error.rs"), "use crate::units::label;\n").unwrap();
    std::fs::write(src.join("units.rs"), "").unwrap();
    std::fs::write(
        src.join("profile/mod.rs"),
        "/// See [`crate::views::flame`].\n",
    )
    .unwrap();
    std::fs::write(src.join("live/http.rs"), "use super::collect::Collector;\n").unwrap();
    std::fs::write(src.join("live/collect.rs"), "use super::http::Http;\n").unwrap();
    let bad = violations(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        bad,
        [
            "src/live/http.rs: uses live::collect, below it in live/",
            "src/profile/mod.rs: uses views, below it in the house",
        ]
    );
}
