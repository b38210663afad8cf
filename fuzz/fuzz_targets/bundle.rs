//! A bundle folder built from fuzz bytes (profiles, scrapes, metric tables,
//! a manifest, files that are not regular files): it opens, or the error
//! names a file of the bundle in one line; an opened bundle's metrics keep
//! every property of `common::check_series`, and the checklist, goroutine
//! check and growth ranking run on it.
//!
//! The input is a list of entries separated by `\0HF\0`; an entry's first
//! byte picks its place in the bundle ([`SLOTS`]), the rest is its content.
#![no_main]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use heapframe::evidence::bundle::Bundle;
use libfuzzer_sys::fuzz_target;

/// Where an entry goes. `@null` is a link to `/dev/null` (not a regular
/// file), `@dir` a folder with a profile's name.
const SLOTS: &[&str] = &[
    "manifest.json",
    "heap/001.pb.gz",
    "heap/002.pb.gz",
    "heap/003.pb",
    "allocs/001.pb.gz",
    "goroutine/001.pb.gz",
    "goroutine/002.pb.gz",
    "goroutineleak/001.pb.gz",
    "metrics/1700000000000.prom",
    "metrics/1700000060000.prom",
    "metrics/1700000120000.prom",
    "metrics/scrape.prom",
    "metrics/history.csv",
    "metrics/more.csv",
    "gaps.jsonl",
    "heap/.001.pb.gz.tmp-1",
    "@null:heap/004.pb.gz",
    "@null:metrics/1700000180000.prom",
    "@dir:heap/005.pb.gz",
];

const SEPARATOR: &[u8] = b"\0HF\0";

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        out.push(&rest[..i]);
        rest = &rest[i + SEPARATOR.len()..];
    }
    out.push(rest);
    out
}

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        base.join(format!("heapframe-fuzz-bundle-{}", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    for entry in split(data) {
        let Some((&slot, content)) = entry.split_first() else {
            continue;
        };
        let slot = SLOTS[slot as usize % SLOTS.len()];
        let (special, name) = match slot.split_once(':') {
            Some((s, n)) => (Some(s), n),
            None => (None, slot),
        };
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        match special {
            #[cfg(unix)]
            Some("@null") => {
                let _ = std::os::unix::fs::symlink("/dev/null", &path);
            }
            Some(_) => {
                let _ = std::fs::create_dir_all(&path);
            }
            None => {
                if !path.is_dir() {
                    std::fs::write(&path, content).unwrap();
                }
            }
        }
    }
    let bundle = match Bundle::open(dir) {
        Ok(b) => b,
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "error is not one line: {msg:?}");
            let named = SLOTS.iter().any(|s| {
                let name = s.split_once(':').map_or(*s, |(_, n)| n);
                msg.starts_with(&format!("{}: ", dir.join(name).display()))
            });
            assert!(named, "the error names no file of the bundle: {msg}");
            return;
        }
    };
    common::check_series(&bundle.metrics);
    for s in &bundle.metrics.samples {
        assert!((0..=heapframe::evidence::metrics::MAX_TIME_MS).contains(&s.time_ms));
    }
    let _ = heapframe::evidence::checklist::checklist(&bundle, None);
    let _ = heapframe::evidence::goroutines::goroutine_check(&bundle);
    if !bundle.heap.is_empty() {
        let _ = heapframe::growth::growth(&bundle.heap, &Default::default());
    }
});
