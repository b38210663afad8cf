//! Growth across snapshots: who grows, how steadily, along which call path.
//!
//! [`growth`] ranks owners of memory (or goroutines) by a [`GrowthKey`]
//! across any number of time-ordered snapshots. For every key it gives the
//! value at each snapshot, first/last/delta, the least-squares slope per
//! minute and its R², the share of the total growth, whether it grew in
//! every interval (monotone) and whether its growth flattened out
//! (plateau). Steady, monotone growth outranks one-off jumps:
//! `score = max(delta, 0) × R² × steadiness × (¼ if plateau else 1)`, where
//! steadiness is the fraction of intervals in which the key grew. Rows rank
//! first by class (grew, grew below the sampling resolution, shrank, shrank
//! below it, unchanged; see [`GrowthRow::rank_class`]), then by score.
//!
//! [`widening`] walks the call tree of the growth from the root down and
//! names the chain that widens and the node where the growth concentrates.

pub mod classify;
mod widening;

use std::collections::HashMap;

#[cfg(feature = "tables")]
pub use widening::growth_tree_dataframe;
pub use widening::{
    ChainNode, TreeNode, Widening, growth_tree, owner_samples, owner_side, ranked_widening,
    widening,
};

use crate::error::{Error, Result};
use crate::growth::classify::{Classifier, size_class};
use crate::profile::Snapshot;
use crate::profile::{
    CodeRef, InputMap, LabelValue, Profile, SourceLinks, StackId, Str, ValueType,
};

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
    /// Rank the profiler's own samples ([`PROFILER_CODE`] on the stack:
    /// memory Go allocated to serve a profile) under their keys like any
    /// other; by default they are left out of the rows and summed in
    /// [`GrowthTable::profiler`].
    pub keep_profiler: bool,
}

impl Default for GrowthOptions {
    fn default() -> Self {
        GrowthOptions {
            key: GrowthKey::Function,
            sample_index: None,
            classifier: None,
            plateau_ratio: 0.2,
            keep_profiler: false,
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
    /// Changed (by a non-zero amount) less than the profile's sampling
    /// can tell apart from chance (see [`GrowthTable::resolution`]); such
    /// rows rank after the rows that changed by as much in the same
    /// direction (see [`GrowthRow::rank_class`]).
    pub below_resolution: bool,
    /// Where the key's code is: the function's definition (for a call
    /// path, the innermost function's), the leaf's line, or the file;
    /// `None` for keys that are not code (kinds, sizes, labels).
    pub code: Option<CodeRef>,
}

impl GrowthRow {
    /// Where the row ranks, before its score is looked at: 0 grew, 1 grew
    /// below the resolution, 2 shrank, 3 shrank below the resolution, 4
    /// did not change. Within a class, rows rank by score, then by the
    /// size of the change.
    pub fn rank_class(&self) -> u8 {
        match (self.delta.signum(), self.below_resolution) {
            (1, false) => 0,
            (1, true) => 1,
            (-1, false) => 2,
            (-1, true) => 3,
            _ => 4,
        }
    }
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
    /// The profiler's own samples at each snapshot, left out of the rows
    /// (all 0 with [`GrowthOptions::keep_profiler`] or when there were none).
    pub profiler: Vec<i64>,
    /// The sampling resolution the rows were judged against, when the
    /// profiles are sampled (heap: one sample per `period` bytes
    /// allocated; CPU: per `period` ns).
    pub resolution: Option<Resolution>,
    /// Links from the rows' [`GrowthRow::code`] to a source browser, for
    /// displays (set from a bundle's manifest by the findings of a
    /// bundle, or by hand).
    pub links: Option<SourceLinks>,
}

/// The smallest change a sampled profile can show apart from chance: a
/// row whose change is under two sampling periods (for object counts: whose
/// bytes changed by less) rests on one or two samples, and a second
/// collection could as well show none.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The profile's period (`period_type`'s unit).
    pub period: i64,
    /// What the period counts (`space`/`bytes` for heap profiles).
    pub period_type: ValueType,
    /// The sample type whose change was compared with it (the table's
    /// own, or for object counts the matching `_space` type).
    pub compared: String,
}

impl Resolution {
    /// Changes smaller than this (in `period_type`'s unit) are below the
    /// resolution.
    pub fn threshold(&self) -> i64 {
        self.period.saturating_mul(2)
    }

    /// One line saying what the mark means, with the numbers.
    pub fn explain(&self) -> String {
        format!(
            "below the sampling resolution: {} changed by less than two sampling periods ({}; the profile records one sample per {} {}), too few samples to tell growth from chance",
            self.compared,
            self.period_type.format(self.threshold()),
            self.period_type.format(self.period),
            match &*self.period_type.unit {
                "bytes" => "allocated",
                "nanoseconds" => "of CPU time",
                _ => "events",
            }
        )
    }
}

/// Key texts interned as ids, across the snapshots of one growth ranking.
#[derive(Default)]
pub(crate) struct KeyInterner {
    /// Keys given as text.
    text: HashMap<String, u32>,
    /// Function names of call paths.
    words: InputMap<Str, u32>,
    word_text: Vec<Str>,
    /// Whole call paths by a 128-bit hash of their words (each stack's
    /// from its caller's in a few multiplications, no table per frame);
    /// the key holds the words.
    full_paths: InputMap<(u64, u64), u32>,
    /// The seed of those hashes, random per interner.
    path_seed: (u64, u64),
    /// Truncated call paths (`path:K`) as word ids, root first, after a
    /// `u32::MAX` when frames were left out.
    paths: InputMap<Vec<u32>, u32>,
    /// The kind rules each function name matches ([`Classifier::name_mask`]).
    kind_masks: InputMap<Str, u64>,
    /// What each id stands for.
    keys: Vec<Key>,
}

enum Key {
    Text(String),
    /// Word ids, root first.
    Path(Vec<u32>),
}

/// One word more on a call path's hash `h` (two independent 64-bit
/// lanes, each a multiply-xorshift mix of the lane and the word).
fn path_hash_push(h: (u64, u64), word: u32) -> (u64, u64) {
    let mix = |x: u64, k: u64| {
        let x = (x ^ (word as u64).wrapping_add(k)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^ (x >> 32)
    };
    (
        mix(h.0, 0x632b_e59b_d9b4_e019),
        mix(h.1.rotate_left(17), 0x8cb9_2ba7_2f3d_8dd7),
    )
}

impl KeyInterner {
    fn text_id(&mut self, k: &str) -> u32 {
        if let Some(&id) = self.text.get(k) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.text.insert(k.to_string(), id);
        self.keys.push(Key::Text(k.to_string()));
        id
    }

    fn word(&mut self, w: &Str) -> u32 {
        if let Some(&id) = self.words.get(w) {
            return id;
        }
        let id = self.word_text.len() as u32;
        self.words.insert(w.clone(), id);
        self.word_text.push(w.clone());
        id
    }

    /// The seed of path hashes, drawn on first use.
    fn path_seed(&mut self) -> (u64, u64) {
        if self.path_seed == (0, 0) {
            use std::hash::BuildHasher;
            let r = std::collections::hash_map::RandomState::new();
            self.path_seed = (r.hash_one(1u8) | 1, r.hash_one(2u8) | 1);
        }
        self.path_seed
    }

    /// The key id of the whole call path hashed as `h`; `words` (root
    /// first) gives its words the first time it is seen.
    fn full_path_id(&mut self, h: (u64, u64), words: impl FnOnce() -> Vec<u32>) -> u32 {
        if let Some(&id) = self.full_paths.get(&h) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.full_paths.insert(h, id);
        self.keys.push(Key::Path(words()));
        id
    }

    /// The key id of a truncated path (word ids root first).
    fn path_id(&mut self, key: &[u32]) -> u32 {
        if let Some(&id) = self.paths.get(key) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.paths.insert(key.to_vec(), id);
        self.keys.push(Key::Path(key.to_vec()));
        id
    }

    /// The text of every key, by id.
    pub(crate) fn into_names(self) -> Vec<String> {
        let words = &self.word_text;
        let text_of = |ids: &mut dyn Iterator<Item = u32>| {
            let mut text = String::new();
            let mut only_cut = true;
            for (i, w) in ids.enumerate() {
                if i > 0 {
                    text.push_str(" -> ");
                    only_cut = false;
                }
                if w == u32::MAX {
                    text.push('…');
                } else {
                    only_cut = false;
                    text.push_str(&words[w as usize]);
                }
            }
            if only_cut && text == "…" {
                text.push_str(" -> ");
            }
            text
        };
        self.keys
            .iter()
            .map(|k| match k {
                Key::Text(t) => t.clone(),
                Key::Path(ids) => text_of(&mut ids.iter().copied()),
            })
            .collect()
    }
}

/// What growth keys read of a stack of a profile, found from the stack
/// when asked (only stacks with samples are), without arrays over every
/// stack node.
struct StackKeys<'a> {
    p: &'a Profile,
}

impl<'a> StackKeys<'a> {
    fn new(p: &'a Profile) -> Self {
        StackKeys { p }
    }

    /// The function indices of `stack`'s frames, innermost first (inlined
    /// frames count; locations without lines have none).
    fn function_ids(&self, stack: StackId) -> impl Iterator<Item = u32> + 'a {
        let p = self.p;
        let tree = p.samples.tree();
        std::iter::successors(stack.index(), move |&i| tree.parents()[i].index()).flat_map(
            move |i| {
                p.locations[tree.locations()[i] as usize]
                    .lines
                    .iter()
                    .map(|ln| ln.function)
            },
        )
    }

    /// The index of the innermost function of `stack` (`None`: no named
    /// frame).
    fn innermost_fn(&self, stack: StackId) -> Option<u32> {
        self.function_ids(stack).next()
    }

    /// The index of the outermost function of `stack`.
    fn outermost_fn(&self, stack: StackId) -> Option<u32> {
        self.function_ids(stack).last()
    }

    /// The name of the innermost (else the outermost) function of `stack`.
    fn end_name(&self, stack: StackId, outermost: bool) -> Option<&'a str> {
        let f = if outermost {
            self.outermost_fn(stack)
        } else {
            self.innermost_fn(stack)
        };
        f.map(|f| &*self.p.functions[f as usize].name)
    }

    /// The innermost location's innermost line, `name file:line`, and its
    /// file.
    fn leaf(&self, stack: StackId) -> (String, String) {
        let Some(l) = self.p.samples.tree().location(stack) else {
            return ("<unknown>".into(), String::new());
        };
        match self.p.location_frames(l).next() {
            Some(f) => (
                format!("{} {}:{}", f.function.name, f.function.filename, f.line),
                f.function.filename.to_string(),
            ),
            None => (
                format!("{:#x}", self.p.locations[l as usize].address),
                String::new(),
            ),
        }
    }

    /// Function names of `stack`, innermost first.
    fn names(&self, stack: StackId) -> Vec<&'a str> {
        let p = self.p;
        self.function_ids(stack)
            .map(|f| &*p.functions[f as usize].name)
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
) -> InputMap<u32, i64> {
    values_by_key_apart(p, si, key, classifier, keys, false).0
}

/// Functions of Go's profiler: a sample with one of them on its stack was
/// allocated to serve a profile (`runtime/pprof`, `net/http/pprof`).
pub const PROFILER_CODE: &str = r"^(runtime/pprof|net/http/pprof)\.";

/// Which stack-tree nodes of `p` run the profiler's code
/// ([`PROFILER_CODE`] on the node or a caller); `None` when no function
/// of `p` is the profiler's.
pub(crate) fn profiler_nodes(p: &Profile) -> Option<Vec<bool>> {
    fn is_profiler(name: &str) -> bool {
        name.strip_prefix("runtime/pprof.")
            .or_else(|| name.strip_prefix("net/http/pprof."))
            .is_some()
    }
    let fns: Vec<bool> = p.functions.iter().map(|f| is_profiler(&f.name)).collect();
    if !fns.iter().any(|&b| b) {
        return None;
    }
    let locs: Vec<bool> = p
        .locations
        .iter()
        .map(|l| l.lines.iter().any(|ln| fns[ln.function as usize]))
        .collect();
    let tree = p.samples.tree();
    let mut nodes: Vec<bool> = Vec::with_capacity(tree.len());
    for i in 0..tree.len() {
        let caller = tree.parents()[i].index().is_some_and(|q| nodes[q]);
        nodes.push(caller || locs[tree.locations()[i] as usize]);
    }
    Some(nodes)
}

/// [`values_by_key`], and with `apart`, the profiler's own samples
/// ([`profiler_nodes`]) summed apart instead of under their keys.
pub(crate) fn values_by_key_apart(
    p: &Profile,
    si: usize,
    key: &GrowthKey,
    classifier: &Classifier,
    keys: &mut KeyInterner,
    apart: bool,
) -> (InputMap<u32, i64>, i64) {
    let profiler = if apart { profiler_nodes(p) } else { None };
    let is_profiler = |s: StackId| match &profiler {
        Some(nodes) => s.index().is_some_and(|i| nodes[i]),
        None => false,
    };
    let mut left_out: i64 = 0;
    let mut out: InputMap<u32, i64> = InputMap::default();
    let add = |out: &mut InputMap<u32, i64>, id: u32, v: i64| {
        let e = out.entry(id).or_default();
        *e = e.wrapping_add(v);
    };
    // Keys of labels need no stack.
    match key {
        GrowthKey::SizeClass | GrowthKey::Label(_) => {
            for s in &p.samples {
                let v = s.values[si];
                if v == 0 {
                    continue;
                }
                if is_profiler(s.stack.id()) {
                    left_out = left_out.wrapping_add(v);
                    continue;
                }
                let id = match key {
                    GrowthKey::SizeClass => keys.text_id(&size_class(s.num_label("bytes"))),
                    GrowthKey::Label(k) => match s.labels.iter().find_map(|l| match &l.value {
                        LabelValue::Str(v) if &*l.key == k => Some(v),
                        _ => None,
                    }) {
                        Some(v) => keys.text_id(v),
                        None => keys.text_id(&format!("({k} unset)")),
                    },
                    _ => unreachable!(),
                };
                add(&mut out, id, v);
            }
            return (out, left_out);
        }
        _ => {}
    }
    // The other keys depend on the stack (and the kind also on the object
    // size): sum the samples per stack first, then find each stack's key
    // once.
    let with_size = matches!(key, GrowthKey::Kind);
    let mut per_stack: InputMap<(StackId, Option<i64>), i64> =
        InputMap::with_capacity_and_hasher(p.samples.len(), Default::default());
    for s in &p.samples {
        let v = s.values[si];
        if v == 0 {
            continue;
        }
        if is_profiler(s.stack.id()) {
            left_out = left_out.wrapping_add(v);
            continue;
        }
        let size = if with_size {
            s.num_label("bytes")
        } else {
            None
        };
        let e = per_stack.entry((s.stack.id(), size)).or_default();
        *e = e.wrapping_add(v);
    }
    let names = matches!(key, GrowthKey::Function | GrowthKey::Root);
    let sk = StackKeys::new(p);
    // Each function's key id, found once per function.
    let mut fn_key: Vec<u32> = if names {
        vec![u32::MAX; p.functions.len()]
    } else {
        Vec::new()
    };
    // Whole paths: each stack node's path hash, from its caller's; `None`
    // while the path has no named frame.
    let fword: Vec<u32>;
    let path_hash: Vec<Option<(u64, u64)>> = if matches!(key, GrowthKey::Path(None)) {
        let tree = p.samples.tree();
        // Each function's word once, not once per frame.
        fword = p.functions.iter().map(|f| keys.word(&f.name)).collect();
        let seed = keys.path_seed();
        // Each location's word when it has one line (most do), else
        // `MANY` (its lines are read) or `NONE`.
        const NONE: u32 = u32::MAX;
        const MANY: u32 = u32::MAX - 1;
        let loc_word: Vec<u32> = p
            .locations
            .iter()
            .map(|l| match l.lines.as_slice() {
                [] => NONE,
                [one] => fword[one.function as usize],
                _ => MANY,
            })
            .collect();
        let mut path_hash: Vec<Option<(u64, u64)>> = Vec::with_capacity(tree.len());
        for i in 0..tree.len() {
            let mut h = tree.parents()[i].index().and_then(|q| path_hash[q]);
            let l = tree.locations()[i] as usize;
            match loc_word[l] {
                NONE => {}
                MANY => {
                    for ln in p.locations[l].lines.iter().rev() {
                        h = Some(path_hash_push(
                            h.unwrap_or(seed),
                            fword[ln.function as usize],
                        ));
                    }
                }
                w => h = Some(path_hash_push(h.unwrap_or(seed), w)),
            }
            path_hash.push(h);
        }
        path_hash
    } else {
        fword = Vec::new();
        Vec::new()
    };
    let mut order: Vec<((StackId, Option<i64>), i64)> = per_stack.into_iter().collect();
    // Keys are interned in a stable order, whatever the hash seed.
    order.sort_unstable_by_key(|&(k, _)| k);
    // Kinds: each function's rule matches once (names cached across
    // snapshots), then a stack's kind from its innermost frames' bits.
    let kind_masks: Option<Vec<u64>> = if with_size {
        p.functions
            .iter()
            .map(|f| match keys.kind_masks.get(&f.name) {
                Some(&m) => Some(m),
                None => {
                    let m = classifier.name_mask(&f.name)?;
                    keys.kind_masks.insert(f.name.clone(), m);
                    Some(m)
                }
            })
            .collect()
    } else {
        None
    };
    let kind_ids: Vec<u32> = if kind_masks.is_some() {
        let mut ids: Vec<u32> = classifier
            .rules
            .iter()
            .map(|r| keys.text_id(&r.kind))
            .collect();
        ids.push(keys.text_id(classify::OTHER));
        ids
    } else {
        Vec::new()
    };
    let depth = classifier.depth();
    let mut masks: Vec<u64> = Vec::with_capacity(depth);
    let mut words: Vec<u32> = Vec::new();
    for ((stack, size), v) in order {
        match key {
            GrowthKey::Function | GrowthKey::Root => {
                let f = if matches!(key, GrowthKey::Root) {
                    sk.outermost_fn(stack)
                } else {
                    sk.innermost_fn(stack)
                };
                let id = match f {
                    Some(f) => {
                        let k = &mut fn_key[f as usize];
                        if *k == u32::MAX {
                            *k = keys.text_id(&p.functions[f as usize].name);
                        }
                        *k
                    }
                    None => keys.text_id("<unknown>"),
                };
                add(&mut out, id, v);
            }
            GrowthKey::FunctionCum => {
                let mut st = sk.names(stack);
                st.sort_unstable();
                st.dedup();
                for f in st {
                    add(&mut out, keys.text_id(f), v);
                }
            }
            GrowthKey::Leaf => add(&mut out, keys.text_id(&sk.leaf(stack).0), v),
            GrowthKey::File => add(&mut out, keys.text_id(&sk.leaf(stack).1), v),
            GrowthKey::Path(None) => {
                let id = match stack.index().and_then(|i| path_hash[i]) {
                    Some(h) => keys.full_path_id(h, || {
                        let mut words: Vec<u32> =
                            sk.function_ids(stack).map(|f| fword[f as usize]).collect();
                        words.reverse();
                        words
                    }),
                    None => keys.path_id(&[]),
                };
                add(&mut out, id, v);
            }
            GrowthKey::Path(Some(take)) => {
                let st = p.samples.tree().stack(stack);
                words.clear();
                let mut more = false;
                for (i, f) in p.frames(st).enumerate() {
                    if i == *take {
                        more = true;
                        break;
                    }
                    words.push(keys.word(&f.function.name));
                }
                words.reverse();
                if more {
                    words.insert(0, u32::MAX);
                }
                add(&mut out, keys.path_id(&words), v);
            }
            GrowthKey::Kind => match &kind_masks {
                Some(fm) => {
                    masks.clear();
                    masks.extend(sk.function_ids(stack).take(depth).map(|f| fm[f as usize]));
                    let rule = classifier.classify_masks(&masks, size);
                    add(&mut out, kind_ids[rule.unwrap_or(kind_ids.len() - 1)], v);
                }
                None => {
                    let st = sk.names(stack);
                    add(&mut out, keys.text_id(classifier.classify(&st, size)), v);
                }
            },
            GrowthKey::SizeClass | GrowthKey::Label(_) => unreachable!(),
        }
    }
    (out, left_out)
}

/// One worker's run of [`growth`]: values per key id at each snapshot,
/// and the text of each id.
type RankedRun = (Vec<(InputMap<u32, i64>, i64)>, Vec<String>);

/// Fewest snapshots worth a worker thread of [`growth`].
const MIN_SNAPSHOTS_PER_WORKER: usize = 16;

/// Ranks the growth of `key` across `snapshots` (time order), on
/// [`crate::defaults::worker_threads`] threads for long series.
pub fn growth(snapshots: &[Snapshot], opts: &GrowthOptions) -> Result<GrowthTable> {
    growth_on(snapshots, opts, crate::defaults::worker_threads())
}

/// [`growth`] on at most `threads` threads.
fn growth_on(snapshots: &[Snapshot], opts: &GrowthOptions, threads: usize) -> Result<GrowthTable> {
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
    let mut sis = Vec::with_capacity(snapshots.len());
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
        sis.push(si);
    }
    // Consecutive runs of snapshots on the worker threads, each with its
    // own interner; the ids of the later runs are then mapped to the
    // first's by key text.
    let rank = |range: std::ops::Range<usize>| {
        let mut keys = KeyInterner::default();
        let per: Vec<(InputMap<u32, i64>, i64)> = range
            .map(|i| {
                values_by_key_apart(
                    &snapshots[i].profile,
                    sis[i],
                    &opts.key,
                    classifier,
                    &mut keys,
                    !opts.keep_profiler,
                )
            })
            .collect();
        (per, keys.into_names())
    };
    let workers = threads
        .min(snapshots.len() / MIN_SNAPSHOTS_PER_WORKER)
        .max(1);
    let parts: Vec<RankedRun> = crate::defaults::on_ranges(snapshots.len(), workers, rank);
    // Each key's value at every snapshot, scattered from the runs' maps
    // (a later run's ids mapped to the first's by key text).
    let n = snapshots.len();
    let mut names: Vec<String> = Vec::new();
    let mut global: HashMap<String, u32> = HashMap::new();
    let mut columns: Vec<Option<Vec<i64>>> = Vec::new();
    let mut profiler: Vec<i64> = Vec::with_capacity(n);
    let mut at = 0;
    for (k, (maps, local)) in parts.into_iter().enumerate() {
        let ids: Vec<u32> = if k == 0 {
            names = local;
            if workers > 1 {
                global = names
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.clone(), i as u32))
                    .collect();
            }
            (0..names.len() as u32).collect()
        } else {
            local
                .into_iter()
                .map(|k| {
                    *global.entry(k).or_insert_with_key(|k| {
                        names.push(k.clone());
                        names.len() as u32 - 1
                    })
                })
                .collect()
        };
        columns.resize(names.len(), None);
        for (m, apart) in maps {
            profiler.push(apart);
            for (id, v) in m {
                let col = columns[ids[id as usize] as usize].get_or_insert_with(|| vec![0; n]);
                col[at] = col[at].wrapping_add(v);
            }
            at += 1;
        }
    }
    drop(global);
    let totals: Vec<i64> = snapshots
        .iter()
        .map(|s| s.profile.total_of(&sample_type.name))
        .collect();
    let total_growth = totals[totals.len() - 1] - totals[0];
    let times_ms: Vec<i64> = snapshots.iter().map(|s| s.time_ms).collect();
    let t0 = times_ms[0];
    let xs: Vec<f64> = times_ms
        .iter()
        .map(|&t| (t - t0) as f64 / 60_000.0)
        .collect();

    let mut key_ids: Vec<u32> = (0..columns.len() as u32)
        .filter(|&id| columns[id as usize].is_some())
        .collect();
    key_ids.sort_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
    // The sampling resolution, and for object counts each key's change in
    // the matching bytes (first and last snapshots only).
    let (resolution, companion) = resolution_of(snapshots, &sample_type, opts, classifier);
    let mut rows: Vec<GrowthRow> = key_ids
        .into_iter()
        .map(|id| {
            let k = &names[id as usize];
            let values: Vec<i64> = columns[id as usize].take().unwrap_or_default();
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
            // A fit that overflowed says nothing: it must not rank first.
            let score = if score.is_finite() { score } else { 0.0 };
            let below_resolution = n >= 2
                && resolution.as_ref().is_some_and(|r| {
                    let change = match &companion {
                        Some(c) => c.get(k.as_str()).copied().unwrap_or(0),
                        None => delta,
                    };
                    change != 0 && change.unsigned_abs() < r.threshold().unsigned_abs()
                });
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
                below_resolution,
                code: None,
            }
        })
        .collect();
    // Where each key's code is, from the function names of the last
    // snapshot (then the first).
    if let Some(last) = snapshots.last() {
        let codes = crate::profile::code_of_functions_in(&[&last.profile, &snapshots[0].profile]);
        for r in &mut rows {
            r.code = code_of_key(&opts.key, &r.key, &codes);
        }
    }
    rows.sort_by(|a, b| {
        a.rank_class()
            .cmp(&b.rank_class())
            .then_with(|| b.score.total_cmp(&a.score))
            .then_with(|| b.delta.unsigned_abs().cmp(&a.delta.unsigned_abs()))
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(GrowthTable {
        key: opts.key.clone(),
        sample_type,
        times_ms,
        totals,
        rows,
        profiler,
        resolution,
        links: None,
    })
}

/// An application function that may hold what the top grower allocates:
/// its own allocations grow in step with the top grower's (see
/// [`holder_candidates`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HolderCandidate {
    /// The function (a growth-table key).
    pub key: String,
    /// Where it is defined.
    pub code: Option<CodeRef>,
    /// Its own growth, first to last snapshot.
    pub delta: i64,
    /// Pearson correlation of its values with the top grower's, over the
    /// snapshots.
    pub correlation: f64,
    /// R² of its own values over time.
    pub r2: f64,
}

/// Fewest snapshots for [`holder_candidates`]: a correlation over fewer
/// says nothing.
pub const HOLDER_MIN_SNAPSHOTS: usize = 4;
/// Smallest correlation with the top grower for a [`HolderCandidate`].
pub const HOLDER_MIN_CORRELATION: f64 = 0.8;

/// Application functions (`main.*`, `module.domain/...`) other than the
/// top grower of `table` (a table by function) whose own allocations grew
/// in step with it: over at least [`HOLDER_MIN_SNAPSHOTS`] snapshots, by
/// more than the sampling resolution, with a correlation of at least
/// [`HOLDER_MIN_CORRELATION`]; best first, at most `n`. A heap profile
/// shows where memory was allocated, not what keeps it alive: a cache's
/// `Put` that grows its map (map buckets, slice backing) in step with the
/// bytes it stores is where to look for the holder, not proof of it.
pub fn holder_candidates(table: &GrowthTable, n: usize) -> Vec<HolderCandidate> {
    if !matches!(table.key, GrowthKey::Function) || table.times_ms.len() < HOLDER_MIN_SNAPSHOTS {
        return Vec::new();
    }
    let Some(top) = table.top_grower().filter(|t| !t.below_resolution) else {
        return Vec::new();
    };
    let user = regex::Regex::new(classify::USER_CODE).expect("valid pattern");
    let mut out: Vec<HolderCandidate> = table
        .rows
        .iter()
        .filter(|r| r.key != top.key && r.delta > 0 && !r.below_resolution && user.is_match(&r.key))
        .filter_map(|r| {
            let c = correlation(&top.values, &r.values)?;
            (c >= HOLDER_MIN_CORRELATION).then(|| HolderCandidate {
                key: r.key.clone(),
                code: r.code.clone(),
                delta: r.delta,
                correlation: c,
                r2: r.r2,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.correlation
            .total_cmp(&a.correlation)
            .then_with(|| b.delta.cmp(&a.delta))
            .then_with(|| a.key.cmp(&b.key))
    });
    out.truncate(n);
    out
}

/// Pearson correlation of two series of the same length; `None` when
/// either does not vary.
fn correlation(a: &[i64], b: &[i64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let n = a.len() as f64;
    let ma = a.iter().map(|&v| v as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    let r = sab / (saa.sqrt() * sbb.sqrt());
    (saa > 0.0 && sbb > 0.0 && r.is_finite()).then_some(r)
}

/// Where the code of a growth key is (see [`GrowthRow::code`]).
fn code_of_key(key: &GrowthKey, text: &str, codes: &HashMap<&str, CodeRef>) -> Option<CodeRef> {
    match key {
        GrowthKey::Function | GrowthKey::FunctionCum | GrowthKey::Root => codes.get(text).cloned(),
        GrowthKey::Path(_) => codes.get(text.rsplit(" -> ").next()?).cloned(),
        // `name file:line`
        GrowthKey::Leaf => {
            let (_, at) = text.rsplit_once(' ')?;
            let (file, line) = at.rsplit_once(':')?;
            Some(CodeRef {
                file: file.to_string(),
                line: line.parse().ok()?,
            })
        }
        GrowthKey::File => (!text.is_empty()).then(|| CodeRef {
            file: text.to_string(),
            line: 0,
        }),
        GrowthKey::Kind | GrowthKey::SizeClass | GrowthKey::Label(_) => None,
    }
}

/// The [`Resolution`] the rows of a growth ranking of `sample_type` are
/// judged against, and for an object count, each key's change in the
/// matching `_space` type between the first and last snapshots (by key
/// text); `(None, None)` for unsampled profiles (goroutines) or fewer than
/// two snapshots.
fn resolution_of(
    snapshots: &[Snapshot],
    sample_type: &ValueType,
    opts: &GrowthOptions,
    classifier: &Classifier,
) -> (Option<Resolution>, Option<HashMap<String, i64>>) {
    let (Some(first), Some(last)) = (snapshots.first(), snapshots.last()) else {
        return (None, None);
    };
    let p = &last.profile;
    if snapshots.len() < 2 || p.period <= 1 || p.period_type.unit.is_empty() {
        return (None, None);
    }
    let resolution = |compared: &str| Resolution {
        period: p.period,
        period_type: p.period_type.clone(),
        compared: compared.to_string(),
    };
    if sample_type.unit == p.period_type.unit {
        return (Some(resolution(&sample_type.name)), None);
    }
    let Some(space) = sample_type
        .name
        .strip_suffix("_objects")
        .map(|k| format!("{k}_space"))
    else {
        return (None, None);
    };
    let index = |p: &Profile| {
        p.sample_types
            .iter()
            .position(|t| *t.name == *space && t.unit == p.period_type.unit)
    };
    let (Some(i0), Some(i1)) = (index(&first.profile), index(p)) else {
        return (None, None);
    };
    let mut keys = KeyInterner::default();
    let apart = !opts.keep_profiler;
    let (before, _) =
        values_by_key_apart(&first.profile, i0, &opts.key, classifier, &mut keys, apart);
    let (after, _) = values_by_key_apart(p, i1, &opts.key, classifier, &mut keys, apart);
    let names = keys.into_names();
    let mut change: HashMap<String, i64> = HashMap::new();
    for (id, v) in after {
        let e = change.entry(names[id as usize].clone()).or_default();
        *e = e.wrapping_add(v);
    }
    for (id, v) in before {
        let e = change.entry(names[id as usize].clone()).or_default();
        *e = e.wrapping_sub(v);
    }
    (Some(resolution(&space)), Some(change))
}

impl GrowthTable {
    /// The best-ranked row that grew: the top row, else (when every row
    /// that grew is below the resolution, ranked after the rest) the first
    /// of those.
    pub fn top_grower(&self) -> Option<&GrowthRow> {
        self.rows.iter().find(|r| r.delta > 0)
    }

    /// Formats a value in the sample type's unit.
    pub fn format(&self, v: i64) -> String {
        self.sample_type.format(v)
    }

    /// A plain-text table of the first `limit` rows (keys printed through
    /// [`crate::escape::terminal`]).
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
        for r in self.shown(limit) {
            s.push_str(&format!(
                "{:>10} {:>10} {:>6.1}% {:>5.2} {:>4} {:>8} {}{}\n",
                self.format(r.delta),
                self.format(r.slope_per_min.round() as i64),
                r.share * 100.0,
                r.r2,
                if r.monotone { "yes" } else { "no" },
                if r.plateau { "yes" } else { "no" },
                if r.below_resolution {
                    Self::BELOW_MARK
                } else {
                    " "
                },
                crate::escape::terminal(Self::key_text(&r.key))
            ));
        }
        for note in self.notes(limit) {
            s.push_str(&crate::escape::terminal(&note));
            s.push('\n');
        }
        s
    }

    /// The mark of a row [below the resolution](GrowthRow::below_resolution).
    pub const BELOW_MARK: &'static str = "~";

    /// The rows a display of `limit` rows shows: the first `limit` that
    /// changed at some snapshot (unchanged rows are counted in
    /// [`Self::notes`] instead).
    pub fn shown(&self, limit: usize) -> impl Iterator<Item = &GrowthRow> {
        self.rows.iter().filter(|r| !Self::unchanged(r)).take(limit)
    }

    /// The row has the same value at every snapshot (of two or more).
    pub(crate) fn unchanged(r: &GrowthRow) -> bool {
        r.values.len() >= 2 && r.values.windows(2).all(|w| w[0] == w[1])
    }

    /// A key as displays show it: an empty key as `(empty name)`.
    pub fn key_text(key: &str) -> &str {
        if key.is_empty() { "(empty name)" } else { key }
    }

    /// One line for each thing in the first `limit` rows that would
    /// otherwise read as odd or be missed: rows below the sampling
    /// resolution (marked [`Self::BELOW_MARK`]), shares above 100% or
    /// below 0, a slope whose sign differs from the delta's, and the
    /// profiler's samples left out.
    pub fn notes(&self, limit: usize) -> Vec<String> {
        let shown: Vec<&GrowthRow> = self.shown(limit).collect();
        let mut out = Vec::new();
        let unchanged = self.rows.iter().filter(|r| Self::unchanged(r)).count();
        if unchanged > 0 {
            out.push(format!(
                "{unchanged} unchanged row{} (the same value at every snapshot) not shown",
                if unchanged == 1 { "" } else { "s" }
            ));
        }
        if shown.iter().any(|r| r.key == "<unknown>") {
            out.push(
                "<unknown>: samples whose stack has no function name (the profile carries no symbols for those frames)"
                    .to_string(),
            );
        }
        if shown.iter().any(|r| r.key.is_empty()) {
            out.push(format!(
                "{}: samples whose key is an empty name",
                Self::key_text("")
            ));
        }
        if let Some(r) = &self.resolution {
            let n = shown.iter().filter(|r| r.below_resolution).count();
            if n > 0 {
                out.push(format!(
                    "{} {n} of these rows: {}",
                    Self::BELOW_MARK,
                    r.explain()
                ));
            }
        }
        let n = self.totals.len();
        let net = self.totals[n - 1].wrapping_sub(self.totals[0]);
        if shown.iter().any(|r| {
            r.share > 1.0 || (r.delta > 0 && r.share < 0.0) || (r.delta < 0 && r.share > 0.0)
        }) {
            out.push(format!(
                "share: delta as a part of the net change of all samples ({}{}); over 100% where other keys shrank, of the other sign than delta where the total fell",
                if net >= 0 { "+" } else { "" },
                self.format(net)
            ));
        }
        if shown.iter().any(|r| {
            (r.delta >= 0 && r.slope_per_min <= -0.5) || (r.delta <= 0 && r.slope_per_min >= 0.5)
        }) {
            out.push(
                "per min: the least-squares slope over all snapshots; delta is last minus first, so the two can differ in sign (or a slope show beside a delta of 0) when a key rose and fell in between"
                    .to_string(),
            );
        }
        let (first, last) = (self.profiler[0], self.profiler[self.profiler.len() - 1]);
        if first != 0 || last != 0 {
            let d = last.wrapping_sub(first);
            out.push(format!(
                "left out: the profiler's own samples (runtime/pprof or net/http/pprof on the stack: memory Go used to serve the profiles), {} at the last snapshot ({}{} since the first)",
                self.format(last),
                if d >= 0 { "+" } else { "" },
                self.format(d)
            ));
        }
        out
    }

    /// The table as a DataFrame: `rank`, `key`, `first`, `last`, `delta`,
    /// `slope_per_min`, `r2`, `share`, `monotone`, `plateau`, `score`,
    /// `below_resolution`, and
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
            Column::new(
                "below_resolution".into(),
                self.rows
                    .iter()
                    .map(|r| r.below_resolution)
                    .collect::<Vec<_>>(),
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
        crate::report::delta(&a.profile, &b.profile)
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
            (Some(a), Some(b)) if self.snapshots.len() >= 2 => {
                crate::report::delta(&a.profile, &b.profile)
            }
            _ => Err(Error::Option("a delta needs at least two snapshots".into())),
        }
    }

    /// Growth ranking over the whole series.
    pub fn growth(&self, opts: &GrowthOptions) -> Result<GrowthTable> {
        growth(self.snapshots, opts)
    }

    /// The widening chain from the first to the last snapshot, in the
    /// profiles' default sample type (`inuse_space` for heap profiles).
    pub fn widening(&self) -> Result<Widening> {
        self.widening_in(None)
    }

    /// The widening chain from the first to the last snapshot, in the
    /// sample type `sample_index` (e.g. `inuse_objects`).
    pub fn widening_of(&self, sample_index: &str) -> Result<Widening> {
        self.widening_in(Some(sample_index))
    }

    fn widening_in(&self, sample_index: Option<&str>) -> Result<Widening> {
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

/// The least-squares slope of `values` over `times_ms` (Unix ms), per
/// minute; `None` with fewer than two points or no time between the first
/// and the last.
///
/// ```
/// use heapframe::growth::slope_per_min;
/// assert_eq!(slope_per_min(&[0, 60_000, 120_000], &[10, 20, 30]), Some(10.0));
/// assert_eq!(slope_per_min(&[5, 5], &[1, 2]), None);
/// ```
pub fn slope_per_min(times_ms: &[i64], values: &[i64]) -> Option<f64> {
    let (&t0, &t1) = (times_ms.first()?, times_ms.last()?);
    if times_ms.len() < 2 || t1 <= t0 {
        return None;
    }
    let points: Vec<(f64, f64)> = times_ms
        .iter()
        .zip(values)
        .map(|(&t, &v)| ((t - t0) as f64 / 60_000.0, v as f64))
        .collect();
    Some(linear_fit(&points).0)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranking on several threads (each run of snapshots with its own
    /// interner, merged by key text) gives the table one thread gives, for
    /// every key.
    #[test]
    fn threads_rank_as_one_does() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/bundles/warmleak/heap");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let profiles: Vec<Profile> = files
            .iter()
            .map(|f| Profile::from_path(f).unwrap())
            .collect();
        // 50 snapshots, the seven cycled, a minute apart.
        let snaps: Vec<Snapshot> = (0..50)
            .map(|i| Snapshot {
                path: files[i % files.len()].clone(),
                time_ms: i as i64 * 60_000,
                profile: profiles[i % profiles.len()].clone(),
            })
            .collect();
        for key in [
            GrowthKey::Function,
            GrowthKey::FunctionCum,
            GrowthKey::Leaf,
            GrowthKey::Root,
            GrowthKey::Path(None),
            GrowthKey::Path(Some(3)),
            GrowthKey::File,
            GrowthKey::Kind,
            GrowthKey::SizeClass,
        ] {
            let opts = GrowthOptions {
                key: key.clone(),
                ..Default::default()
            };
            let one = growth_on(&snaps, &opts, 1).unwrap();
            for threads in [2, 3] {
                let many = growth_on(&snaps, &opts, threads).unwrap();
                assert_eq!(many.rows, one.rows, "{key} on {threads} threads");
                assert_eq!(many.totals, one.totals);
            }
            assert!(one.rows.len() > 3, "{key}");
        }
    }
}
