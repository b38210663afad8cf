//! Growth across snapshots: who grows, how steadily, along which call path.
//!
//! [`growth`] ranks owners of memory (or goroutines) by a [`GrowthKey`]
//! across any number of time-ordered snapshots. For every key it gives the
//! value at each snapshot, first/last/delta, the least-squares slope per
//! minute and its R², the share of the total growth, whether it grew in
//! every interval (monotone) and whether its growth flattened out
//! (plateau). Steady, monotone growth outranks one-off jumps:
//! `score = max(delta, 0) × R² × steadiness × (¼ if plateau else 1)`, where
//! steadiness is the fraction of intervals in which the key grew.
//!
//! [`widening`] walks the call tree of the growth from the root down and
//! names the chain that widens and the node where the growth concentrates.

pub mod classify;
mod widening;

use std::collections::HashMap;

#[cfg(feature = "tables")]
pub use widening::growth_tree_dataframe;
pub use widening::{ChainNode, TreeNode, Widening, growth_tree, widening};

use crate::error::{Error, Result};
use crate::growth::classify::{Classifier, size_class};
use crate::profile::Snapshot;
use crate::profile::{LabelValue, Profile, ValueType};

/// What growth is grouped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrowthKey {
    /// The innermost frame's function (flat).
    Function,
    /// Every function on the stack, once per sample (cum).
    FunctionCum,
    /// The innermost frame as `function file:line`.
    Leaf,
    /// The goroutine's (or stack's) outermost frame: for goroutine
    /// profiles, the function the goroutine was started with.
    Root,
    /// The call path, root to leaf; `Some(k)` keeps the `k` innermost frames.
    Path(Option<usize>),
    /// The innermost frame's source file.
    File,
    /// Allocation kind ([`crate::growth::classify`]).
    Kind,
    /// Go size class of the objects (from the `bytes` label).
    SizeClass,
    /// The value of a string label.
    Label(String),
}

/// The key as `--by` spells it (`function`, `kind`, `path:4`,
/// `label:handler`...): what [`str::parse`] reads back.
///
/// ```
/// use heapframe::growth::GrowthKey;
/// for s in ["function", "function-cum", "leaf", "root", "path", "path:4", "file", "kind", "size", "label:handler"] {
///     assert_eq!(s.parse::<GrowthKey>()?.to_string(), s);
/// }
/// # Ok::<(), heapframe::Error>(())
/// ```
impl std::fmt::Display for GrowthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GrowthKey::Function => f.write_str("function"),
            GrowthKey::FunctionCum => f.write_str("function-cum"),
            GrowthKey::Leaf => f.write_str("leaf"),
            GrowthKey::Root => f.write_str("root"),
            GrowthKey::Path(None) => f.write_str("path"),
            GrowthKey::Path(Some(k)) => write!(f, "path:{k}"),
            GrowthKey::File => f.write_str("file"),
            GrowthKey::Kind => f.write_str("kind"),
            GrowthKey::SizeClass => f.write_str("size"),
            GrowthKey::Label(k) => write!(f, "label:{k}"),
        }
    }
}

impl std::str::FromStr for GrowthKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<GrowthKey> {
        Ok(match s {
            "function" | "func" => GrowthKey::Function,
            "function-cum" | "cum" => GrowthKey::FunctionCum,
            "leaf" => GrowthKey::Leaf,
            "root" | "creator" => GrowthKey::Root,
            "path" => GrowthKey::Path(None),
            "file" => GrowthKey::File,
            "kind" => GrowthKey::Kind,
            "size" | "size-class" => GrowthKey::SizeClass,
            _ => {
                if let Some(k) = s.strip_prefix("path:") {
                    GrowthKey::Path(Some(k.parse().map_err(|_| {
                        Error::Option(format!(
                            "--by {s}: expected path:K with K a number of frames"
                        ))
                    })?))
                } else if let Some(k) = s.strip_prefix("label:") {
                    GrowthKey::Label(k.to_string())
                } else {
                    return Err(Error::Option(format!(
                        "unknown growth key {s:?}: expected function, function-cum, leaf, root, path, path:K, file, kind, size or label:KEY"
                    )));
                }
            }
        })
    }
}

/// Options of [`growth`].
#[derive(Debug, Clone)]
pub struct GrowthOptions {
    /// Group by this key.
    pub key: GrowthKey,
    /// Sample type by name (`inuse_space` by default for heap profiles).
    pub sample_index: Option<String>,
    /// Kind rules for [`GrowthKey::Kind`] (Go defaults when `None`).
    pub classifier: Option<Classifier>,
    /// Relative growth in the second half below which a key counts as
    /// plateaued (default 0.2: the second half grew < 20% as much as the first).
    pub plateau_ratio: f64,
}

impl Default for GrowthOptions {
    fn default() -> Self {
        GrowthOptions {
            key: GrowthKey::Function,
            sample_index: None,
            classifier: None,
            plateau_ratio: 0.2,
        }
    }
}

/// Growth of one key across the snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct GrowthRow {
    /// The key (function, path, kind...).
    pub key: String,
    /// Its value at every snapshot.
    pub values: Vec<i64>,
    /// Last minus first.
    pub delta: i64,
    /// Least-squares slope, per minute.
    pub slope_per_min: f64,
    /// R² of the slope.
    pub r2: f64,
    /// `delta` as a fraction of the total growth of all samples.
    pub share: f64,
    /// Grew in every interval.
    pub monotone: bool,
    /// Grew, then flattened out.
    pub plateau: bool,
    /// The ranking score (see the module docs).
    pub score: f64,
}

/// The result of [`growth`].
#[derive(Debug, Clone)]
pub struct GrowthTable {
    /// The key used.
    pub key: GrowthKey,
    /// The sample type measured.
    pub sample_type: ValueType,
    /// Snapshot times, Unix milliseconds.
    pub times_ms: Vec<i64>,
    /// Total value at each snapshot.
    pub totals: Vec<i64>,
    /// Rows, best-ranked first.
    pub rows: Vec<GrowthRow>,
}

/// Per-profile cache: location index → function names (innermost first),
/// and the innermost `function file:line`.
struct Frames<'a> {
    p: &'a Profile,
    names: Vec<Option<Vec<&'a str>>>,
}

impl<'a> Frames<'a> {
    fn new(p: &'a Profile) -> Self {
        Frames {
            p,
            names: vec![None; p.locations.len()],
        }
    }

    fn stack(&mut self, locs: &[u32]) -> Vec<&'a str> {
        let mut out = Vec::new();
        for &l in locs {
            let p = self.p;
            let names = self.names[l as usize].get_or_insert_with(|| {
                p.locations[l as usize]
                    .lines
                    .iter()
                    .map(|ln| &*p.functions[ln.function as usize].name)
                    .collect()
            });
            out.extend_from_slice(names);
        }
        out
    }

    fn leaf(&self, locs: &[u32]) -> (String, String) {
        let Some(&l) = locs.first() else {
            return ("<unknown>".into(), String::new());
        };
        let loc = &self.p.locations[l as usize];
        match loc.lines.first() {
            Some(ln) => {
                let f = &self.p.functions[ln.function as usize];
                (
                    format!("{} {}:{}", f.name, f.filename, ln.line),
                    f.filename.to_string(),
                )
            }
            None => (format!("{:#x}", loc.address), String::new()),
        }
    }
}

/// Key texts interned as ids, across the snapshots of one growth ranking.
#[derive(Default)]
pub(crate) struct KeyInterner {
    /// Keys given as text.
    text: HashMap<String, u32>,
    /// Function names of call paths.
    words: HashMap<crate::profile::Str, u32>,
    word_text: Vec<crate::profile::Str>,
    /// Call paths as word ids, root first (`u32::MAX` first: truncated).
    paths: HashMap<Vec<u32>, u32, std::hash::BuildHasherDefault<crate::profile::FastHasher>>,
    /// What each id stands for.
    keys: Vec<Key>,
    /// A stack's word ids and the path being looked up (reused buffers).
    stack: Vec<u32>,
    scratch: Vec<u32>,
}

enum Key {
    Text(String),
    Path(Vec<u32>),
}

impl KeyInterner {
    fn text_id(&mut self, k: String) -> u32 {
        if let Some(&id) = self.text.get(&k) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.text.insert(k.clone(), id);
        self.keys.push(Key::Text(k));
        id
    }

    fn word(&mut self, w: &crate::profile::Str) -> u32 {
        if let Some(&id) = self.words.get(w) {
            return id;
        }
        let id = self.word_text.len() as u32;
        self.words.insert(w.clone(), id);
        self.word_text.push(w.clone());
        id
    }

    /// Per location of `p`: the word ids of its functions, innermost first.
    fn location_words(&mut self, p: &Profile) -> Vec<Vec<u32>> {
        p.locations
            .iter()
            .map(|l| {
                l.lines
                    .iter()
                    .map(|ln| self.word(&p.functions[ln.function as usize].name))
                    .collect()
            })
            .collect()
    }

    /// The id of the call path of `locs` (the `take` innermost frames when
    /// given), from the word ids of each location.
    fn path_id(&mut self, words: &[Vec<u32>], locs: &[u32], take: Option<usize>) -> u32 {
        let (stack, key) = (&mut self.stack, &mut self.scratch);
        stack.clear();
        for &l in locs {
            stack.extend_from_slice(&words[l as usize]);
        }
        let n = take.unwrap_or(stack.len()).min(stack.len());
        key.clear();
        if n < stack.len() {
            key.push(u32::MAX);
        }
        key.extend(stack[..n].iter().rev());
        if let Some(&id) = self.paths.get(&key[..]) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.paths.insert(key.clone(), id);
        self.keys.push(Key::Path(key.clone()));
        id
    }

    /// The text of every key, by id.
    pub(crate) fn into_names(self) -> Vec<String> {
        let words = self.word_text;
        self.keys
            .into_iter()
            .map(|k| match k {
                Key::Text(t) => t,
                Key::Path(ids) => {
                    let mut text = String::new();
                    for (i, &w) in ids.iter().enumerate() {
                        if i > 0 {
                            text.push_str(" -> ");
                        }
                        if w == u32::MAX {
                            text.push('…');
                        } else {
                            text.push_str(&words[w as usize]);
                        }
                    }
                    if ids == [u32::MAX] {
                        text.push_str(" -> ");
                    }
                    text
                }
            })
            .collect()
    }
}

/// Values per key of one profile, keys interned in `keys`.
pub(crate) fn values_by_key(
    p: &Profile,
    si: usize,
    key: &GrowthKey,
    classifier: &Classifier,
    keys: &mut KeyInterner,
) -> HashMap<u32, i64> {
    let mut out: HashMap<u32, i64> = HashMap::new();
    let mut frames = Frames::new(p);
    let words = match key {
        GrowthKey::Path(_) => keys.location_words(p),
        _ => Vec::new(),
    };
    for s in &p.samples {
        let v = s.values[si];
        if v == 0 {
            continue;
        }
        let mut add = |id: u32| *out.entry(id).or_default() += v;
        match key {
            GrowthKey::Function => add(keys.text_id(
                frames
                    .stack(s.locations)
                    .first()
                    .map_or("<unknown>", |f| f)
                    .to_string(),
            )),
            GrowthKey::Root => add(keys.text_id(
                frames
                    .stack(s.locations)
                    .last()
                    .map_or("<unknown>", |f| f)
                    .to_string(),
            )),
            GrowthKey::FunctionCum => {
                let mut st = frames.stack(s.locations);
                st.sort_unstable();
                st.dedup();
                for f in st {
                    add(keys.text_id(f.to_string()));
                }
            }
            GrowthKey::Leaf => add(keys.text_id(frames.leaf(s.locations).0)),
            GrowthKey::File => add(keys.text_id(frames.leaf(s.locations).1)),
            GrowthKey::Path(take) => add(keys.path_id(&words, s.locations, *take)),
            GrowthKey::Kind => {
                let st = frames.stack(s.locations);
                add(keys.text_id(classifier.classify(&st, s.num_label("bytes")).to_string()))
            }
            GrowthKey::SizeClass => add(keys.text_id(size_class(s.num_label("bytes")))),
            GrowthKey::Label(k) => add(keys.text_id(
                s.labels
                    .iter()
                    .find_map(|l| match &l.value {
                        LabelValue::Str(v) if &*l.key == k => Some(v.to_string()),
                        _ => None,
                    })
                    .unwrap_or_else(|| format!("({k} unset)")),
            )),
        }
    }
    out
}

/// Ranks the growth of `key` across `snapshots` (time order).
pub fn growth(snapshots: &[Snapshot], opts: &GrowthOptions) -> Result<GrowthTable> {
    if snapshots.is_empty() {
        return Err(Error::Option("growth needs at least one snapshot".into()));
    }
    let default_classifier;
    let classifier = match &opts.classifier {
        Some(c) => c,
        None => {
            default_classifier = Classifier::go_default();
            &default_classifier
        }
    };
    // The sample types most snapshots share decide, so that an odd one out
    // (a CPU profile among heap snapshots) is the one an error names,
    // wherever it sorts.
    let reference = {
        fn names_of(s: &Snapshot) -> Vec<&str> {
            s.profile.sample_types.iter().map(|t| &*t.name).collect()
        }
        let mut counts: HashMap<Vec<&str>, usize> = HashMap::new();
        for s in snapshots {
            *counts.entry(names_of(s)).or_default() += 1;
        }
        let most = counts.values().copied().max().unwrap_or(0);
        snapshots
            .iter()
            .find(|s| counts[&names_of(s)] == most)
            .unwrap_or(&snapshots[0])
    };
    let si0 = reference
        .profile
        .sample_index(opts.sample_index.as_deref())?;
    let sample_type = reference.profile.sample_types[si0].clone();
    // Values per key id at each snapshot; keys are interned across
    // snapshots, and a call path is a list of interned function names until
    // its text is needed, once per distinct path.
    let mut keys = KeyInterner::default();
    let mut per: Vec<HashMap<u32, i64>> = Vec::with_capacity(snapshots.len());
    for s in snapshots {
        let p = &s.profile;
        let si = p
            .sample_types
            .iter()
            .position(|t| t.name == sample_type.name)
            .ok_or_else(|| {
                Error::Incompatible(format!(
                    "{}: has no sample type {} (its sample types: {}), which {} has",
                    s.path.display(),
                    sample_type.name,
                    p.sample_types
                        .iter()
                        .map(|t| t.name.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    reference.path.display()
                ))
            })?;
        per.push(values_by_key(p, si, &opts.key, classifier, &mut keys));
    }
    let names = keys.into_names();
    let totals: Vec<i64> = snapshots
        .iter()
        .map(|s| {
            let si = s
                .profile
                .sample_types
                .iter()
                .position(|t| t.name == sample_type.name)
                .unwrap_or(0);
            s.profile.samples.iter().map(|x| x.values[si]).sum()
        })
        .collect();
    let total_growth = totals[totals.len() - 1] - totals[0];
    let times_ms: Vec<i64> = snapshots.iter().map(|s| s.time_ms).collect();
    let t0 = times_ms[0];
    let xs: Vec<f64> = times_ms
        .iter()
        .map(|&t| (t - t0) as f64 / 60_000.0)
        .collect();

    let mut key_ids: Vec<u32> = per.iter().flat_map(|m| m.keys().copied()).collect();
    key_ids.sort_unstable();
    key_ids.dedup();
    key_ids.sort_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
    let n = snapshots.len();
    let mut rows: Vec<GrowthRow> = key_ids
        .into_iter()
        .map(|id| {
            let k = &names[id as usize];
            let values: Vec<i64> = per
                .iter()
                .map(|m| m.get(&id).copied().unwrap_or(0))
                .collect();
            let delta = values[n - 1] - values[0];
            let pts: Vec<(f64, f64)> = xs
                .iter()
                .zip(&values)
                .map(|(&x, &v)| (x, v as f64))
                .collect();
            let (slope, r2) = linear_fit(&pts);
            let intervals = (n - 1).max(1);
            let grew = values.windows(2).filter(|w| w[1] > w[0]).count();
            let monotone = n >= 2 && grew == n - 1;
            let steadiness = grew as f64 / intervals as f64;
            let plateau = n >= 3 && delta > 0 && {
                let mid = n / 2;
                let early = (values[mid] - values[0]) as f64;
                let late = (values[n - 1] - values[mid]) as f64;
                early > 0.0 && late < opts.plateau_ratio * early
            };
            let share = if total_growth != 0 {
                delta as f64 / total_growth as f64
            } else {
                0.0
            };
            let score = (delta.max(0) as f64) * r2 * steadiness * if plateau { 0.25 } else { 1.0 };
            GrowthRow {
                key: k.clone(),
                values,
                delta,
                slope_per_min: slope,
                r2,
                share,
                monotone,
                plateau,
                score,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.delta.cmp(&a.delta))
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(GrowthTable {
        key: opts.key.clone(),
        sample_type,
        times_ms,
        totals,
        rows,
    })
}

impl GrowthTable {
    /// The top row, if it grew.
    pub fn top_grower(&self) -> Option<&GrowthRow> {
        self.rows.first().filter(|r| r.delta > 0)
    }

    /// Formats a value in the sample type's unit.
    pub fn format(&self, v: i64) -> String {
        self.sample_type.format(v)
    }

    /// A plain-text table of the first `limit` rows.
    pub fn to_text(&self, limit: usize) -> String {
        let span_min =
            (self.times_ms[self.times_ms.len() - 1] - self.times_ms[0]) as f64 / 60_000.0;
        let mut s = format!(
            "{} snapshots over {:.1} min; {} total {} -> {} ({}{})\n",
            self.times_ms.len(),
            span_min,
            self.sample_type.name,
            self.format(self.totals[0]),
            self.format(self.totals[self.totals.len() - 1]),
            if self.totals[self.totals.len() - 1] >= self.totals[0] {
                "+"
            } else {
                ""
            },
            self.format(self.totals[self.totals.len() - 1] - self.totals[0]),
        );
        s.push_str(&format!(
            "{:>10} {:>10} {:>7} {:>5} {:>4} {:>8}  {}\n",
            "delta", "per min", "share", "R²", "mono", "plateau", "key"
        ));
        for r in self.rows.iter().take(limit) {
            s.push_str(&format!(
                "{:>10} {:>10} {:>6.1}% {:>5.2} {:>4} {:>8}  {}\n",
                self.format(r.delta),
                self.format(r.slope_per_min.round() as i64),
                r.share * 100.0,
                r.r2,
                if r.monotone { "yes" } else { "no" },
                if r.plateau { "yes" } else { "no" },
                r.key
            ));
        }
        s
    }

    /// The table as a DataFrame: `rank`, `key`, `first`, `last`, `delta`,
    /// `slope_per_min`, `r2`, `share`, `monotone`, `plateau`, `score`, and
    /// one column `v0`, `v1`, ... per snapshot.
    #[cfg(feature = "tables")]
    pub fn to_dataframe(&self) -> Result<polars::prelude::DataFrame> {
        use polars::prelude::*;
        let n = self.rows.len();
        let mut cols = vec![
            Column::new("rank".into(), (1..=n as u32).collect::<Vec<_>>()),
            Column::new(
                "key".into(),
                self.rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "first".into(),
                self.rows.iter().map(|r| r.values[0]).collect::<Vec<_>>(),
            ),
            Column::new(
                "last".into(),
                self.rows
                    .iter()
                    .map(|r| r.values[r.values.len() - 1])
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "delta".into(),
                self.rows.iter().map(|r| r.delta).collect::<Vec<_>>(),
            ),
            Column::new(
                "slope_per_min".into(),
                self.rows
                    .iter()
                    .map(|r| r.slope_per_min)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "r2".into(),
                self.rows.iter().map(|r| r.r2).collect::<Vec<_>>(),
            ),
            Column::new(
                "share".into(),
                self.rows.iter().map(|r| r.share).collect::<Vec<_>>(),
            ),
            Column::new(
                "monotone".into(),
                self.rows.iter().map(|r| r.monotone).collect::<Vec<_>>(),
            ),
            Column::new(
                "plateau".into(),
                self.rows.iter().map(|r| r.plateau).collect::<Vec<_>>(),
            ),
            Column::new(
                "score".into(),
                self.rows.iter().map(|r| r.score).collect::<Vec<_>>(),
            ),
        ];
        for i in 0..self.times_ms.len() {
            cols.push(Column::new(
                format!("v{i}").into(),
                self.rows.iter().map(|r| r.values[i]).collect::<Vec<_>>(),
            ));
        }
        DataFrame::new(n, cols)
            .map_err(|e| Error::Output(format!("building the growth table failed: {e}")))
    }
}

/// Time-ordered snapshots of one service and one kind (heap or goroutine),
/// with per-pair deltas and whole-series views.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotSeries<'a> {
    /// The snapshots, oldest first.
    pub snapshots: &'a [Snapshot],
}

impl<'a> SnapshotSeries<'a> {
    /// A series over `snapshots` (already in time order, as a bundle keeps them).
    pub fn new(snapshots: &'a [Snapshot]) -> Self {
        SnapshotSeries { snapshots }
    }

    /// `snapshots[i + 1]` minus `snapshots[i]`, with `go tool pprof -base`
    /// semantics (equal stacks cancel; what remains is the growth).
    pub fn delta(&self, i: usize) -> Result<Profile> {
        let (a, b) = match (self.snapshots.get(i), self.snapshots.get(i + 1)) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                return Err(Error::Option(format!(
                    "delta {i} needs snapshots {i} and {}; the series has {}",
                    i + 1,
                    self.snapshots.len()
                )));
            }
        };
        crate::report::subtract(
            &b.profile,
            &a.profile,
            crate::report::BaseMode::Subtract,
            false,
        )
    }

    /// Every adjacent delta.
    pub fn deltas(&self) -> Result<Vec<Profile>> {
        (0..self.snapshots.len().saturating_sub(1))
            .map(|i| self.delta(i))
            .collect()
    }

    /// Last minus first.
    pub fn total_delta(&self) -> Result<Profile> {
        match (self.snapshots.first(), self.snapshots.last()) {
            (Some(a), Some(b)) if self.snapshots.len() >= 2 => crate::report::subtract(
                &b.profile,
                &a.profile,
                crate::report::BaseMode::Subtract,
                false,
            ),
            _ => Err(Error::Option("a delta needs at least two snapshots".into())),
        }
    }

    /// Growth ranking over the whole series.
    pub fn growth(&self, opts: &GrowthOptions) -> Result<GrowthTable> {
        growth(self.snapshots, opts)
    }

    /// The widening chain from the first to the last snapshot.
    pub fn widening(&self, sample_index: Option<&str>) -> Result<Widening> {
        match (self.snapshots.first(), self.snapshots.last()) {
            (Some(a), Some(b)) => widening(&a.profile, &b.profile, sample_index, 0.5),
            _ => Err(Error::Option("widening needs snapshots".into())),
        }
    }

    /// The `samples` and `frames` tables of every snapshot, stacked.
    #[cfg(feature = "tables")]
    pub fn tables(&self) -> Result<crate::tables::Tables> {
        let ps: Vec<&Profile> = self.snapshots.iter().map(|s| &s.profile).collect();
        crate::tables::Tables::from_snapshots(&ps)
    }
}

/// Least-squares fit of `y` over `x`: slope and R² (1 for a perfect line,
/// 0 when the line explains nothing; 0 for fewer than two points or a
/// constant `y`... in which case the slope is 0 too).
pub fn linear_fit(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    if points.len() < 2 {
        return (0.0, 0.0);
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y) in points {
        sxx += (x - mx) * (x - mx);
        sxy += (x - mx) * (y - my);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 {
        return (0.0, 0.0);
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        0.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    (slope, r2)
}
