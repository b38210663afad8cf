//! Shared helpers for the integration tests: running a pprof golden case
//! through heapframe, scratch folders and a seeded generator.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use heapframe::Profile;
use heapframe::report::{self, BaseMode, Granularity, TopOptions};

/// One golden case: an id and `go tool pprof` arguments.
pub struct Case {
    pub id: String,
    pub args: Vec<String>,
}

/// Reads a `cases.tsv` (id TAB pprof arguments; `#` starts a comment line).
pub fn read_cases(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, args) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("bad case line {l:?}"));
            Case {
                id: id.to_string(),
                args: args.split_whitespace().map(str::to_string).collect(),
            }
        })
        .collect()
}

/// Runs pprof-style arguments (`-top -base a b`...) through the library.
pub fn run_pprof_args(args: &[String], dir: &Path) -> heapframe::Result<String> {
    let mut opts = TopOptions::default();
    let mut base: Option<(PathBuf, BaseMode)> = None;
    let mut normalize = false;
    let mut files = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let (flag, value) = match a.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (a, None),
        };
        match flag {
            "-top" | "-text" => {}
            "-cum" => opts.cum = true,
            "-lines" => opts.granularity = Granularity::Lines,
            "-files" => opts.granularity = Granularity::Files,
            "-functions" => opts.granularity = Granularity::Functions,
            "-filefunctions" => opts.granularity = Granularity::FileFunctions,
            "-addresses" => opts.granularity = Granularity::Addresses,
            "-noinlines" => opts.noinlines = true,
            "-normalize" => normalize = true,
            "-sample_index" => opts.sample_index = value,
            "-nodecount" => opts.node_count = value.unwrap().parse().unwrap(),
            "-focus" => opts.focus = value,
            "-ignore" => opts.ignore = value,
            "-hide" => opts.hide = value,
            "-show" => opts.show = value,
            "-show_from" => opts.show_from = value,
            "-prune_from" => opts.prune_from = value,
            "-tagfocus" => opts.tag_focus = value,
            "-tagignore" => opts.tag_ignore = value,
            "-tagshow" => opts.tag_show = value,
            "-taghide" => opts.tag_hide = value,
            "-base" | "-diff_base" => {
                i += 1;
                let mode = if flag == "-base" {
                    BaseMode::Subtract
                } else {
                    BaseMode::DiffBase
                };
                base = Some((dir.join(&args[i]), mode));
            }
            f if f.starts_with('-') => panic!("unsupported pprof flag {f}"),
            f => files.push(dir.join(f)),
        }
        i += 1;
    }
    assert_eq!(files.len(), 1, "one profile per case: {args:?}");
    let p = Profile::from_path(&files[0])?;
    let p = match base {
        Some((b, mode)) => report::subtract(
            &p,
            &Profile::from_path(b)?,
            &report::BaseOptions { mode, normalize },
        )?,
        None => {
            // The direct path (samples read into the graph) must print the
            // same bytes as the report of the decoded profile.
            let decoded = report::top(&p, &opts)?.to_text();
            let bytes = std::fs::read(&files[0]).unwrap();
            let direct = report::top_bytes(&bytes, &p.source, &opts)?.to_text();
            assert_eq!(direct, decoded, "top_bytes differs: {args:?}");
            return Ok(decoded);
        }
    };
    Ok(report::top(&p, &opts)?.to_text())
}

/// Compares heapframe's text with a golden, line for line.
///
/// One tolerance, for a documented pprof nondeterminism: pprof sorts rows
/// with equal |flat| and equal printed name as equivalent, and Go's map
/// order then decides between them (seen with `-files`: six different
/// outputs in eight runs of the same command). Within such a run of rows
/// the lines must be the same, in any order; everything else is exact.
pub fn compare_with_golden(got: &str, want: &str) -> Result<(), String> {
    let g: Vec<&str> = got.lines().collect();
    let w: Vec<&str> = want.lines().collect();
    if got.ends_with('\n') != want.ends_with('\n') || g.len() != w.len() {
        return Err(format!(
            "{} lines, golden has {}\n--- got\n{got}--- want\n{want}",
            g.len(),
            w.len()
        ));
    }
    let header_end = w
        .iter()
        .position(|l| l.trim_start().starts_with("flat  flat%"))
        .unwrap_or(w.len());
    for i in 0..=header_end.min(w.len() - 1) {
        if g[i] != w[i] {
            return Err(format!(
                "line {}: got\n  {:?}\nwant\n  {:?}\n--- got\n{got}",
                i + 1,
                g[i],
                w[i]
            ));
        }
    }
    let key = |l: &str| -> (String, String) {
        let flat = l.split_whitespace().next().unwrap_or("").to_string();
        let name = l
            .get(53..)
            .unwrap_or("")
            .trim_end_matches(" (inline)")
            .trim_end_matches(" (partial-inline)");
        (flat, name.to_string())
    };
    let mut i = header_end + 1;
    while i < w.len() {
        let k = key(w[i]);
        let mut j = i + 1;
        while j < w.len() && key(w[j]) == k {
            j += 1;
        }
        let mut a: Vec<&str> = g[i..j].to_vec();
        let mut b: Vec<&str> = w[i..j].to_vec();
        if a != b {
            a.sort();
            b.sort();
            if a != b || g[i..j].iter().any(|l| key(l) != k) {
                return Err(format!(
                    "rows {}..{} differ: got\n{}\nwant\n{}\n--- got\n{got}",
                    i + 1,
                    j,
                    g[i..j].join("\n"),
                    w[i..j].join("\n")
                ));
            }
        }
        i = j;
    }
    Ok(())
}

/// A scratch folder for one test, removed when the test passes (kept for
/// a look when it fails).
pub struct Cleanup(pub PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A fresh scratch folder `heapframe-NAME-PID` in the system's temporary
/// folder.
pub fn scratch(name: &str) -> (Cleanup, PathBuf) {
    let dir = std::env::temp_dir().join(format!("heapframe-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    (Cleanup(dir.clone()), dir)
}

/// The page's section `id` (`<section id="ID">` to its `</section>`);
/// a panic when the page has none.
pub fn page_section<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("<section id=\"{id}\">");
    let start = html
        .find(&open)
        .unwrap_or_else(|| panic!("no {id} section in the page"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").expect("the section is closed")]
}

/// Copies the folder `from` to `to`, recursively (a fixture bundle to
/// change in a test).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A small deterministic generator (xorshift64*), so a failing case can be
/// replayed from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// pprof's `-raw` listing: the sample type names, each sample's values,
/// location ids and `bytes` label (heap profiles), and each location id's
/// address.
pub struct PprofRaw {
    pub types: Vec<String>,
    pub samples: Vec<(Vec<i64>, Vec<u64>, Option<i64>)>,
    pub address: std::collections::HashMap<u64, u64>,
}

pub fn read_pprof_raw(text: &str) -> PprofRaw {
    let mut lines = text.lines().peekable();
    let mut raw = PprofRaw {
        types: Vec::new(),
        samples: Vec::new(),
        address: std::collections::HashMap::new(),
    };
    while let Some(l) = lines.next() {
        if l == "Samples:" {
            raw.types = lines
                .next()
                .unwrap()
                .split_whitespace()
                .map(|t| t.split('/').next().unwrap().to_string())
                .collect();
            while let Some(l) = lines.next_if(|l| l.starts_with(' ')) {
                let (values, locs) = l.split_once(':').unwrap();
                let values = values
                    .split_whitespace()
                    .map(|v| v.parse().unwrap())
                    .collect();
                let locs = locs
                    .split_whitespace()
                    .map(|v| v.parse().unwrap())
                    .collect();
                // A `bytes:[N]` label line, on heap profiles.
                let bytes = lines.next_if(|l| l.contains(":[")).map(|label| {
                    label
                        .trim()
                        .strip_prefix("bytes:[")
                        .and_then(|b| b.strip_suffix(']'))
                        .unwrap()
                        .parse()
                        .unwrap()
                });
                raw.samples.push((values, locs, bytes));
            }
        }
        if l == "Locations" {
            while let Some(l) = lines.next_if(|l| l.starts_with(' ')) {
                let mut w = l.split_whitespace();
                let id: u64 = w.next().unwrap().trim_end_matches(':').parse().unwrap();
                let addr = w.next().unwrap().trim_start_matches("0x");
                raw.address
                    .insert(id, u64::from_str_radix(addr, 16).unwrap());
            }
        }
    }
    raw
}

/// Asserts that `p` has the samples of pprof's `-raw` listing: the same
/// values and the same stacks by address, less the frames Go did not print
/// (addresses no location of `p` has). Returns each sample's stack.
pub fn assert_raw_samples(p: &heapframe::Profile, raw: &PprofRaw, what: &str) -> Vec<Vec<u64>> {
    assert_eq!(p.samples.len(), raw.samples.len(), "{what}: samples");
    let named: std::collections::HashSet<u64> = p.locations.iter().map(|l| l.address).collect();
    let mut stacks = Vec::new();
    for (k, (values, locs, _)) in raw.samples.iter().enumerate() {
        let s = p.samples.get(k);
        assert_eq!(s.values, &values[..], "{what} sample {k}: values");
        let want: Vec<u64> = locs
            .iter()
            .map(|id| raw.address[id])
            .filter(|a| named.contains(a))
            .collect();
        let got: Vec<u64> = s
            .stack
            .to_vec()
            .iter()
            .map(|&l| p.locations[l as usize].address)
            .collect();
        assert_eq!(got, want, "{what} sample {k}: stack");
        stacks.push(got);
    }
    stacks
}
