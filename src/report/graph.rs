//! The call graph of a report: nodes at a granularity, edges, flat and cum
//! sums, built on several threads.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

use super::filter::View;
use crate::pprof;
use crate::profile::{IdIndex, Profile, Resolve};

/// How frames are grouped into report nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Granularity {
    /// One node per function (pprof's default, `-functions`).
    #[default]
    Functions,
    /// One node per function and file (`-filefunctions`).
    FileFunctions,
    /// One node per source file (`-files`).
    Files,
    /// One node per source line (`-lines`).
    Lines,
    /// One node per instruction address (`-addresses`).
    Addresses,
}

impl std::str::FromStr for Granularity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "functions" => Granularity::Functions,
            "filefunctions" => Granularity::FileFunctions,
            "files" => Granularity::Files,
            "lines" => Granularity::Lines,
            "addresses" => Granularity::Addresses,
            _ => {
                return Err(format!(
                    "unknown granularity {s:?}: expected functions, filefunctions, files, lines or addresses"
                ));
            }
        })
    }
}

/// Go's `filepath.Base`.
pub(crate) fn go_base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Go's `filepath.Clean` (lexical, Unix).
pub(crate) fn go_clean(path: &str) -> Cow<'_, str> {
    if path.is_empty() {
        return Cow::Borrowed(".");
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    let out = match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    };
    if out == path {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(out)
    }
}

/// pprof's `trimPath` without a configured trim or search path.
pub(crate) fn trim_path(path: &str) -> &str {
    for prefix in ["/proc/self/cwd/./", "/proc/self/cwd/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return rest;
        }
    }
    path
}

/// Texts (function names, file names, mapping files) interned by content:
/// equal texts get one id, id 0 is the empty text.
pub(crate) struct TextPool<'a> {
    pub(super) texts: Vec<Cow<'a, str>>,
    pub(super) ids: HashMap<Cow<'a, str>, u32, BuildHasherDefault<crate::profile::FastHasher>>,
}

impl<'a> TextPool<'a> {
    pub(super) fn with_capacity(n: usize) -> Self {
        let mut pool = TextPool {
            texts: Vec::with_capacity(n),
            ids: HashMap::with_capacity_and_hasher(n, Default::default()),
        };
        pool.intern(Cow::Borrowed(""));
        pool
    }

    pub(super) fn intern(&mut self, text: Cow<'a, str>) -> u32 {
        match self.ids.entry(text) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let id = self.texts.len() as u32;
                self.texts.push(e.key().clone());
                e.insert(id);
                id
            }
        }
    }
}

/// A function's texts, as pool ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FuncText {
    pub(super) name: u32,
    pub(super) file: u32,
    pub(super) start_line: i64,
}

/// A frame: one line of a location.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameLine {
    /// Index of the function in [`Frames::funcs`].
    pub(super) func: u32,
    pub(super) line: i64,
    pub(super) column: i64,
}

/// The functions and locations of a profile in the shape the node table
/// reads: texts interned, lines in one list. Made from a decoded profile
/// seen through a [`View`], or straight from the wire.
pub(crate) struct Frames<'a> {
    pub(super) pool: TextPool<'a>,
    pub(super) funcs: Vec<FuncText>,
    /// Per location: address, mapping file (pool id, 0 when none) and the
    /// end of its lines in `lines` (innermost first).
    pub(super) loc_address: Vec<u64>,
    pub(super) loc_objfile: Vec<u32>,
    pub(super) loc_end: Vec<u32>,
    pub(super) lines: Vec<FrameLine>,
}

impl<'a> Frames<'a> {
    pub(super) fn with_capacity(locations: usize, functions: usize) -> Self {
        Frames {
            // Names, and files a tenth as many.
            pool: TextPool::with_capacity(functions + functions / 8 + 1),
            funcs: Vec::with_capacity(functions),
            loc_address: Vec::with_capacity(locations),
            loc_objfile: Vec::with_capacity(locations),
            loc_end: Vec::with_capacity(locations),
            lines: Vec::with_capacity(locations + locations / 4),
        }
    }

    /// The frames of a view of a decoded profile (hidden lines left out).
    pub(super) fn of_view(view: &View<'a>) -> Self {
        let p: &'a Profile = view.profile;
        let mut f = Frames::with_capacity(p.locations.len(), p.functions.len());
        // Names repeat rarely, file names often: remember each file's id
        // by its shared allocation.
        let mut file_ids: HashMap<*const u8, u32> = HashMap::new();
        for func in &p.functions {
            let name = f.pool.intern(Cow::Borrowed(&*func.name));
            let file = match file_ids.get(&func.filename.as_ptr()) {
                Some(&id) => id,
                None => {
                    let id = f.pool.intern(Cow::Borrowed(&*func.filename));
                    file_ids.insert(func.filename.as_ptr(), id);
                    id
                }
            };
            f.funcs.push(FuncText {
                name,
                file,
                start_line: func.start_line,
            });
        }
        let mut objfiles = vec![u32::MAX; p.mappings.len()];
        for (li, loc) in p.locations.iter().enumerate() {
            let objfile = match loc.mapping {
                Some(m) => {
                    let m = m as usize;
                    if objfiles[m] == u32::MAX {
                        objfiles[m] = f.pool.intern(Cow::Borrowed(&*p.mappings[m].filename));
                    }
                    objfiles[m]
                }
                None => 0,
            };
            f.loc_address.push(loc.address);
            f.loc_objfile.push(objfile);
            f.lines.extend(view.lines[li].iter().map(|l| FrameLine {
                func: l.function,
                line: l.line,
                column: l.column,
            }));
            f.loc_end.push(f.lines.len() as u32);
        }
        f
    }

    /// The frames read straight from a split profile whose locations and
    /// functions were left encoded ([`pprof::wire::split_frames`]), with
    /// the header decoded from the rest, and the location ids in file
    /// order. `None` for anything the model would refuse (dangling ids,
    /// string indices out of range, bad bytes): the caller then decodes in
    /// full, which reports it.
    pub(super) fn of_wire(
        split: &pprof::wire::Split<'a>,
        header: &'a Profile,
    ) -> Option<(Self, Vec<u64>)> {
        // Functions and locations are independent until a line names its
        // function: read them side by side when that pays.
        const PARALLEL_FROM: usize = 4096;
        let (functions, locations) =
            if split.locations.len() >= PARALLEL_FROM && crate::profile::worker_threads() > 1 {
                std::thread::scope(|scope| {
                    let locations = scope.spawn(|| RawLocations::read(&split.locations));
                    let functions = read_functions(split);
                    (functions, locations.join().ok().flatten())
                })
            } else {
                (read_functions(split), RawLocations::read(&split.locations))
            };
        let ((pool, funcs, function_ix), locs) = (functions?, locations?);
        let mut f = Frames {
            pool,
            funcs,
            loc_address: locs.address,
            loc_objfile: Vec::with_capacity(locs.ids.len()),
            loc_end: locs.line_end,
            lines: Vec::with_capacity(locs.lines.len()),
        };
        let mappings = IdIndex::new("mapping", header.mappings.iter().map(|m| m.id)).ok()?;
        let mut objfiles = vec![u32::MAX; header.mappings.len()];
        for &id in &locs.mapping_ids {
            let objfile = if id == 0 {
                0
            } else {
                let m = mappings.get(id)? as usize;
                if objfiles[m] == u32::MAX {
                    objfiles[m] = f.pool.intern(Cow::Borrowed(&*header.mappings[m].filename));
                }
                objfiles[m]
            };
            f.loc_objfile.push(objfile);
        }
        for l in &locs.lines {
            f.lines.push(FrameLine {
                func: function_ix.get(l.function_id)?,
                line: l.line,
                column: l.column,
            });
        }
        Some((f, locs.ids))
    }
}

/// Reads the encoded functions of a split profile: their texts interned,
/// and the index of their ids.
fn read_functions<'a>(
    split: &pprof::wire::Split<'a>,
) -> Option<(TextPool<'a>, Vec<FuncText>, IdIndex)> {
    let strings = &split.strings;
    let n = split.functions.len();
    // Names, and files a tenth as many.
    let mut pool = TextPool::with_capacity(n + n / 8 + 1);
    let mut text_of = vec![u32::MAX; strings.len()];
    let mut text = |pool: &mut TextPool<'a>, index: i64| -> Option<u32> {
        let i = usize::try_from(index).ok().filter(|&i| i < strings.len())?;
        if i == 0 {
            return Some(0);
        }
        if text_of[i] == u32::MAX {
            text_of[i] = pool.intern(String::from_utf8_lossy(strings[i]));
        }
        Some(text_of[i])
    };
    let mut funcs = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    for buf in &split.functions {
        let rf = pprof::wire::read_function(buf)?;
        // Never shown, but the model refuses it out of range.
        usize::try_from(rf.system_name)
            .ok()
            .filter(|&i| i < strings.len())?;
        funcs.push(FuncText {
            name: text(&mut pool, rf.name)?,
            file: text(&mut pool, rf.filename)?,
            start_line: rf.start_line,
        });
        ids.push(rf.id);
    }
    let index = IdIndex::new("function", ids.into_iter()).ok()?;
    Some((pool, funcs, index))
}

/// Encoded locations read, with their ids unresolved.
pub(crate) struct RawLocations {
    pub(super) ids: Vec<u64>,
    pub(super) address: Vec<u64>,
    pub(super) mapping_ids: Vec<u64>,
    pub(super) line_end: Vec<u32>,
    pub(super) lines: Vec<pprof::wire::RawLine>,
}

impl RawLocations {
    pub(super) fn read(encoded: &[&[u8]]) -> Option<RawLocations> {
        let n = encoded.len();
        let mut out = RawLocations {
            ids: Vec::with_capacity(n),
            address: Vec::with_capacity(n),
            mapping_ids: Vec::with_capacity(n),
            line_end: Vec::with_capacity(n),
            lines: Vec::with_capacity(n + n / 4),
        };
        for buf in encoded {
            let rl = pprof::wire::read_location(buf, &mut out.lines)?;
            out.ids.push(rl.id);
            out.address.push(rl.address);
            out.mapping_ids.push(rl.mapping_id);
            out.line_end.push(out.lines.len() as u32);
        }
        Some(out)
    }
}

/// pprof's `NodeInfo`: what makes two frames the same node (texts as pool
/// ids of the node table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct NodeKey {
    pub(super) name: u32,
    pub(super) address: u64,
    pub(super) file: u32,
    pub(super) start_line: i64,
    pub(super) lineno: i64,
    pub(super) column: i64,
    pub(super) objfile: u32,
}

/// Interned nodes and, per location, the nodes of its lines.
pub(crate) struct NodeTable<'a> {
    pub(super) texts: Vec<Cow<'a, str>>,
    pub(super) keys: Vec<NodeKey>,
    pub(super) names: Vec<String>,
    /// Per location, its nodes innermost line first:
    /// `loc_nodes[loc_start[l]..loc_start[l + 1]]`.
    pub(super) loc_start: Vec<u32>,
    pub(super) loc_nodes: Vec<u32>,
}

impl<'a> NodeTable<'a> {
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(super) fn build(frames: Frames<'a>, gran: Granularity, noinlines: bool) -> NodeTable<'a> {
        let (function, filename, linenumber, address) = match gran {
            Granularity::Functions => (true, false, false, false),
            Granularity::FileFunctions => (true, true, false, false),
            Granularity::Files => (false, true, false, false),
            Granularity::Lines => (true, true, true, false),
            Granularity::Addresses => (true, true, true, true),
        };
        let keep_columns = gran == Granularity::Addresses && !noinlines;
        let Frames {
            mut pool,
            funcs,
            loc_address,
            loc_objfile,
            loc_end,
            lines,
        } = frames;

        // The node texts of each function: its name, its cleaned file.
        let mut clean = vec![u32::MAX; pool.texts.len()];
        let func_key: Vec<FuncText> = funcs
            .iter()
            .map(|f| {
                let file = if filename && f.file != 0 {
                    let raw = f.file as usize;
                    if clean[raw] == u32::MAX {
                        let cleaned = match go_clean(trim_path(&pool.texts[raw])) {
                            Cow::Borrowed(b) if b.len() == pool.texts[raw].len() => raw as u32,
                            c => pool.intern(Cow::Owned(c.into_owned())),
                        };
                        clean[raw] = cleaned;
                    }
                    clean[raw]
                } else {
                    0
                };
                FuncText {
                    name: if function { f.name } else { 0 },
                    file,
                    start_line: f.start_line,
                }
            })
            .collect();

        let mut map: HashMap<NodeKey, u32, BuildHasherDefault<crate::profile::FastHasher>> =
            HashMap::with_capacity_and_hasher(funcs.len() + 1, Default::default());
        let mut keys = Vec::with_capacity(funcs.len() + 1);
        let mut intern = |key: NodeKey| -> u32 {
            *map.entry(key).or_insert_with(|| {
                keys.push(key);
                keys.len() as u32 - 1
            })
        };
        // A named function's node does not depend on the location when
        // neither addresses nor lines are part of it: it is one per name
        // (and file), found without hashing the whole key.
        let by_function = function && !address && !linenumber;
        let mut node_of_text = vec![u32::MAX; if by_function { pool.texts.len() } else { 0 }];
        let mut node_of_pair: HashMap<u64, u32, BuildHasherDefault<crate::profile::FastHasher>> =
            HashMap::default();
        let mut loc_start = Vec::with_capacity(loc_end.len() + 1);
        let mut loc_nodes = Vec::with_capacity(lines.len());
        loc_start.push(0);
        let mut start = 0usize;
        for (li, &end) in loc_end.iter().enumerate() {
            let end = end as usize;
            let mut ls = &lines[start..end];
            start = end;
            if noinlines && ls.len() > 1 {
                ls = &ls[ls.len() - 1..];
            }
            let addr = if address { loc_address[li] } else { 0 };
            if ls.is_empty() {
                loc_nodes.push(intern(NodeKey {
                    address: addr,
                    objfile: loc_objfile[li],
                    ..Default::default()
                }));
            }
            for ln in ls {
                let fk = func_key[ln.func as usize];
                if by_function && fk.name != 0 {
                    let key = NodeKey {
                        name: fk.name,
                        file: fk.file,
                        ..Default::default()
                    };
                    let node = if fk.file == 0 {
                        let slot = &mut node_of_text[fk.name as usize];
                        if *slot == u32::MAX {
                            *slot = intern(key);
                        }
                        *slot
                    } else {
                        *node_of_pair
                            .entry(u64::from(fk.name) << 32 | u64::from(fk.file))
                            .or_insert_with(|| intern(key))
                    };
                    loc_nodes.push(node);
                    continue;
                }
                let no_name = fk.name == 0;
                loc_nodes.push(intern(NodeKey {
                    name: fk.name,
                    address: addr,
                    file: fk.file,
                    start_line: if no_name { fk.start_line } else { 0 },
                    lineno: if linenumber { ln.line } else { 0 },
                    column: if keep_columns { ln.column } else { 0 },
                    objfile: if no_name { loc_objfile[li] } else { 0 },
                }));
            }
            loc_start.push(loc_nodes.len() as u32);
        }
        // Printable names are made for the nodes a report shows
        // (`NodeTable::name_nodes`), not for every node of the profile.
        let names = vec![String::new(); keys.len()];
        NodeTable {
            texts: pool.texts,
            keys,
            names,
            loc_start,
            loc_nodes,
        }
    }

    /// The nodes of location `l`, innermost line first.
    pub(super) fn of_location(&self, l: usize) -> &[u32] {
        &self.loc_nodes[self.loc_start[l] as usize..self.loc_start[l + 1] as usize]
    }

    pub(super) fn text(&self, id: u32) -> &str {
        &self.texts[id as usize]
    }

    /// pprof's printable name of node `n`.
    pub(super) fn printable_name(&self, n: usize) -> String {
        let k = &self.keys[n];
        let mut parts: Vec<String> = Vec::new();
        if k.address != 0 {
            parts.push(format!("{:016x}", k.address));
        }
        if k.name != 0 {
            parts.push(self.text(k.name).to_string());
        }
        if k.lineno != 0 {
            let mut s = format!("{}:{}", self.text(k.file), k.lineno);
            if k.column != 0 {
                s.push_str(&format!(":{}", k.column));
            }
            parts.push(s);
        } else if k.file != 0 {
            parts.push(self.text(k.file).to_string());
        } else if k.name != 0 {
        } else if k.objfile != 0 {
            parts.push(format!("[{}]", go_base(self.text(k.objfile))));
        } else {
            parts.push("<unknown>".to_string());
        }
        parts.join(" ")
    }

    /// Go's `fmt.Sprint(info)` of node `n`, pprof's last-resort ordering
    /// key.
    pub(super) fn go_sprint(&self, n: usize) -> String {
        let k = &self.keys[n];
        format!(
            "{{{}  {} {} {} {} {} {}}}",
            self.text(k.name),
            k.address,
            self.text(k.file),
            k.start_line,
            k.lineno,
            k.column,
            self.text(k.objfile)
        )
    }

    /// Makes the printable names of `which`.
    pub(super) fn name_nodes(&mut self, which: &[u32]) {
        for &n in which {
            let i = n as usize;
            if self.names[i].is_empty() {
                self.names[i] = self.printable_name(i);
            }
        }
    }

    /// pprof's node order (`FlatNameOrder` or `CumNameOrder`); the names
    /// of `a` and `b` must have been made.
    pub(super) fn compare(&self, g: &Graph, a: u32, b: u32, cum: bool) -> Ordering {
        let (ai, bi) = (a as usize, b as usize);
        let (first_a, first_b, second_a, second_b) = if cum {
            (g.cum[ai], g.cum[bi], g.flat[ai], g.flat[bi])
        } else {
            (g.flat[ai], g.flat[bi], g.cum[ai], g.cum[bi])
        };
        first_b
            .abs()
            .cmp(&first_a.abs())
            .then_with(|| self.compare_names(ai, bi))
            .then_with(|| second_b.abs().cmp(&second_a.abs()))
            .then_with(|| self.go_sprint(ai).cmp(&self.go_sprint(bi)))
    }

    /// Compares printable names (addresses numerically when both are set).
    /// pprof treats nodes with equal printable names as equivalent here and
    /// its output order between them is random; heapframe goes on to the
    /// next key so its order is deterministic.
    pub(super) fn compare_names(&self, a: usize, b: usize) -> Ordering {
        let (x, y) = (&self.keys[a], &self.keys[b]);
        if x.address != 0 && y.address != 0 && x.address != y.address {
            return x.address.cmp(&y.address);
        }
        self.names[a].cmp(&self.names[b])
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub(super) weight: i64,
    pub(super) inline: bool,
    /// The last sample that added to this edge: a recursive stack adds
    /// its weight to an edge once.
    pub(super) last_sample: u32,
}

/// A fast hasher for the packed `(src, dst)` edge keys.
#[derive(Default)]
pub(crate) struct PairHasher(u64);

impl Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        // splitmix64's finaliser: every input bit reaches every output bit.
        let mut x = self.0 ^ v;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = x ^ (x >> 31);
    }
}

type EdgeMap = HashMap<u64, Edge, BuildHasherDefault<PairHasher>>;

pub(crate) struct Graph {
    pub(super) flat: Vec<i64>,
    pub(super) cum: Vec<i64>,
    /// Edges into nodes that some location holds as an inlined frame (the
    /// only edges the inline tags depend on); empty unless asked for.
    pub(super) edges: EdgeMap,
    /// Nodes with a non-zero flat or cum value.
    pub(super) present: Vec<u32>,
    /// Encoded samples only: the report total (sum of |value|) and the
    /// part of it from `-diff_base` base samples.
    pub(super) total: i64,
    pub(super) diff_total: i64,
    /// Encoded samples only: a sample was not well-formed.
    pub(super) bad: bool,
}

/// Where the graph builder reads stacks from.
pub(crate) enum Stacks<'a> {
    /// Decoded stacks (leaf first) with their non-zero weights.
    Decoded(&'a [(&'a [u32], i64)]),
    /// Encoded samples, read as the graph is built.
    Encoded(&'a WireStacks<'a>),
}

/// Encoded samples of a profile and what reading them needs.
pub(crate) struct WireStacks<'a> {
    pub(super) samples: &'a [&'a [u8]],
    pub(super) locations: &'a IdIndex,
    /// The value that weighs a sample, and how many values a sample has.
    pub(super) value: usize,
    pub(super) width: usize,
    /// Size of the string table (labels are checked against it).
    pub(super) strings: usize,
    /// String indices of `pprof::base` and of `true`.
    pub(super) base_keys: Vec<i64>,
    pub(super) true_values: Vec<i64>,
}

pub(crate) struct GraphBuilder<'a> {
    /// Per location, its nodes outermost first: `loc_nodes[loc_start[l]..loc_start[l + 1]]`,
    /// with [`INLINED`] set on a node that is an inlined frame of the location.
    pub(super) loc_start: Vec<u32>,
    pub(super) loc_nodes: Vec<u32>,
    /// Nodes that are an inlined frame somewhere.
    pub(super) inline_target: Vec<bool>,
    pub(super) n_nodes: usize,
    pub(super) stacks: Stacks<'a>,
}

/// Marks a node of `GraphBuilder::loc_nodes` reached by an inlined call.
const INLINED: u32 = 1 << 31;

/// Frames a thread must have before the graph is built in parallel.
const FRAMES_PER_THREAD: usize = 1 << 17;

/// The report totals a thread sums while reading encoded samples.
#[derive(Default)]
pub(crate) struct Sums {
    pub(super) total: i64,
    pub(super) diff_total: i64,
    /// A sample was not well-formed.
    pub(super) bad: bool,
}

/// Per-thread sums of a graph being built.
pub(crate) struct Acc {
    pub(super) flat: Vec<i64>,
    pub(super) cum: Vec<i64>,
    pub(super) seen: Vec<u32>,
    pub(super) edges: EdgeMap,
}

/// What the previous stack of a thread left for the next: samples of one
/// process often come in call-tree order, so consecutive stacks share a
/// long path from the root, whose nodes need not be walked again.
#[derive(Default)]
pub(crate) struct Shared {
    /// The previous stack, leaf first.
    pub(super) prev: Vec<u32>,
    /// Its nodes in the order of their first visit from the root, with the
    /// position (from the root) of the location where that happened.
    pub(super) firsts: Vec<(u32, u32)>,
}

impl<'a> GraphBuilder<'a> {
    pub(super) fn new(nodes: &NodeTable, stacks: Stacks<'a>) -> Self {
        let n_locs = nodes.loc_start.len() - 1;
        let mut loc_start = Vec::with_capacity(n_locs + 1);
        let mut loc_nodes = Vec::with_capacity(nodes.loc_nodes.len());
        let mut inline_target = vec![false; nodes.len()];
        loc_start.push(0);
        for l in 0..n_locs {
            let ln = nodes.of_location(l);
            // Outermost (the function the others were inlined into) first.
            for (i, &n) in ln.iter().enumerate().rev() {
                if i + 1 == ln.len() {
                    loc_nodes.push(n);
                } else {
                    inline_target[n as usize] = true;
                    loc_nodes.push(n | INLINED);
                }
            }
            loc_start.push(loc_nodes.len() as u32);
        }
        GraphBuilder {
            loc_start,
            loc_nodes,
            inline_target,
            n_nodes: nodes.len(),
            stacks,
        }
    }

    /// pprof's `newGraph`, restricted to `kept` nodes when given: frames of
    /// other nodes are skipped, and a sample whose innermost frame is not
    /// kept adds no flat value anywhere. Edges are collected only when
    /// `with_edges` is set.
    pub(super) fn build(&self, kept: Option<&[bool]>, with_edges: bool) -> Graph {
        let work: usize = match &self.stacks {
            Stacks::Decoded(st) => st.iter().map(|(l, _)| l.len()).sum(),
            // About a byte per frame.
            Stacks::Encoded(w) => w.samples.iter().map(|b| b.len()).sum(),
        };
        let threads = crate::profile::worker_threads()
            .min(work / FRAMES_PER_THREAD)
            .max(1);
        self.build_threads(kept, with_edges, threads)
    }

    pub(super) fn build_threads(
        &self,
        kept: Option<&[bool]>,
        with_edges: bool,
        threads: usize,
    ) -> Graph {
        let len = match &self.stacks {
            Stacks::Decoded(st) => st.len(),
            Stacks::Encoded(w) => w.samples.len(),
        };
        // Threads take chunks as they come free, so a thread that starts
        // late (or a core taken by something else) does not hold the
        // others up; each sums into its own accumulator.
        let chunks = if threads <= 1 { 1 } else { threads * 8 };
        let chunk = len.div_ceil(chunks).max(1);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || -> Graph {
            let mut acc = self.acc();
            let mut sums = Sums::default();
            loop {
                let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let first = c.saturating_mul(chunk);
                if first >= len || sums.bad {
                    break;
                }
                let end = (first + chunk).min(len);
                match &self.stacks {
                    Stacks::Decoded(st) => {
                        self.add_range(&mut acc, first, &st[first..end], kept, with_edges)
                    }
                    Stacks::Encoded(w) => {
                        self.add_wire(&mut acc, &mut sums, first, w, end, kept, with_edges)
                    }
                }
            }
            let mut g = Self::into_graph(acc);
            g.total = sums.total;
            g.diff_total = sums.diff_total;
            g.bad = sums.bad;
            g
        };
        let mut g = if threads <= 1 {
            work()
        } else {
            let parts: Vec<Graph> = std::thread::scope(|scope| {
                let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
                let mut parts = vec![work()];
                parts.extend(
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
                );
                parts
            });
            let mut parts = parts.into_iter();
            let mut g = parts.next().unwrap_or_else(|| Self::into_graph(self.acc()));
            for part in parts {
                for (a, b) in g.flat.iter_mut().zip(&part.flat) {
                    *a += b;
                }
                for (a, b) in g.cum.iter_mut().zip(&part.cum) {
                    *a += b;
                }
                for (k, e) in part.edges {
                    g.edges
                        .entry(k)
                        .and_modify(|x| {
                            x.weight += e.weight;
                            x.inline &= e.inline;
                        })
                        .or_insert(e);
                }
                g.total = g.total.wrapping_add(part.total);
                g.diff_total = g.diff_total.wrapping_add(part.diff_total);
                g.bad |= part.bad;
            }
            g
        };
        g.present = (0..self.n_nodes as u32)
            .filter(|&i| g.flat[i as usize] != 0 || g.cum[i as usize] != 0)
            .collect();
        g
    }

    pub(super) fn acc(&self) -> Acc {
        Acc {
            flat: vec![0; self.n_nodes],
            cum: vec![0; self.n_nodes],
            seen: vec![u32::MAX; self.n_nodes],
            edges: EdgeMap::default(),
        }
    }

    pub(super) fn into_graph(acc: Acc) -> Graph {
        Graph {
            flat: acc.flat,
            cum: acc.cum,
            edges: acc.edges,
            present: Vec::new(),
            total: 0,
            diff_total: 0,
            bad: false,
        }
    }

    /// Adds decoded stacks, the first of which is sample `first`.
    pub(super) fn add_range(
        &self,
        acc: &mut Acc,
        first: usize,
        stacks: &[(&[u32], i64)],
        kept: Option<&[bool]>,
        with_edges: bool,
    ) {
        let mut shared = Shared::default();
        for (i, &(locs, w)) in stacks.iter().enumerate() {
            let stamp = (first + i) as u32;
            self.add(acc, &mut shared, stamp, locs, w, kept, with_edges);
        }
    }

    /// Reads encoded samples `first..end` and adds their stacks; also sums
    /// the report totals. A sample that is not well-formed (bad bytes, a
    /// dangling location, a wrong number of values, a label string out of
    /// range) marks the graph bad.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_wire(
        &self,
        acc: &mut Acc,
        sums: &mut Sums,
        first: usize,
        w: &WireStacks<'_>,
        end: usize,
        kept: Option<&[bool]>,
        with_edges: bool,
    ) {
        let mut reader = pprof::wire::SampleReader::default();
        let mut shared = Shared::default();
        let in_range = |i: i64| i >= 0 && (i as usize) < w.strings;
        let mut sink = Resolve::new(w.locations);
        for (si, buf) in w.samples[first..end].iter().enumerate() {
            sink.next_sample();
            if reader.read_with(buf, &mut sink).is_none()
                || sink.dangling.is_some()
                || reader.values.len() != w.width
                || !reader.labels.iter().all(|l| {
                    in_range(l.key)
                        && (l.str == 0 || in_range(l.str))
                        && (l.str != 0 || l.num_unit == 0 || in_range(l.num_unit))
                })
            {
                sums.bad = true;
                break;
            }
            let v = reader.values[w.value];
            sums.total = sums.total.wrapping_add(v.wrapping_abs());
            if reader
                .labels
                .iter()
                .any(|l| w.base_keys.contains(&l.key) && w.true_values.contains(&l.str))
            {
                sums.diff_total = sums.diff_total.wrapping_add(v.wrapping_abs());
            }
            if v != 0 {
                let stamp = (first + si) as u32;
                self.add(acc, &mut shared, stamp, &sink.locs, v, kept, with_edges);
            }
        }
    }

    /// Adds one stack (leaf first) of weight `w`, sharing work with the
    /// previous stack where the graph allows it.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add(
        &self,
        acc: &mut Acc,
        shared: &mut Shared,
        stamp: u32,
        locs: &[u32],
        w: i64,
        kept: Option<&[bool]>,
        with_edges: bool,
    ) {
        if kept.is_none() && !with_edges {
            self.add_stack_shared(acc, shared, stamp, locs, w);
        } else {
            self.add_stack(acc, stamp, locs, w, kept, with_edges);
        }
    }

    /// [`GraphBuilder::add_stack`] for the unrestricted graph without
    /// edges, reusing what the previous stack of this thread had in common
    /// with this one from the root: the same locations give the same first
    /// visits, so only the rest of the stack is walked, and cum is added
    /// once per distinct node.
    #[inline]
    pub(super) fn add_stack_shared(
        &self,
        acc: &mut Acc,
        sh: &mut Shared,
        stamp: u32,
        locs: &[u32],
        w: i64,
    ) {
        let Some(&leaf) = locs.first() else {
            sh.prev.clear();
            sh.firsts.clear();
            return;
        };
        // Locations in common from the root.
        let common = locs
            .iter()
            .rev()
            .zip(sh.prev.iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let keep = sh
            .firsts
            .partition_point(|&(pos, _)| (pos as usize) < common);
        sh.firsts.truncate(keep);
        for &(_, n) in &sh.firsts {
            acc.seen[n as usize] = stamp;
        }
        let depth = locs.len();
        for pos in common..depth {
            let loc = locs[depth - 1 - pos] as usize;
            let (a, b) = (
                self.loc_start[loc] as usize,
                self.loc_start[loc + 1] as usize,
            );
            for &tagged in &self.loc_nodes[a..b] {
                let ni = (tagged & !INLINED) as usize;
                if acc.seen[ni] != stamp {
                    acc.seen[ni] = stamp;
                    sh.firsts.push((pos as u32, ni as u32));
                }
            }
        }
        for &(_, n) in &sh.firsts {
            acc.cum[n as usize] += w;
        }
        // Flat goes to the innermost frame: the last node of the leaf.
        let last = self.loc_start[leaf as usize + 1] as usize;
        if last > self.loc_start[leaf as usize] as usize {
            acc.flat[(self.loc_nodes[last - 1] & !INLINED) as usize] += w;
        }
        sh.prev.clear();
        sh.prev.extend_from_slice(locs);
    }

    /// Adds one stack (leaf first) of weight `w`; `stamp` is unique to the
    /// sample.
    #[inline]
    pub(super) fn add_stack(
        &self,
        acc: &mut Acc,
        stamp: u32,
        locs: &[u32],
        w: i64,
        kept: Option<&[bool]>,
        with_edges: bool,
    ) {
        let mut parent = u32::MAX;
        let mut residual = false;
        for &loc in locs.iter().rev() {
            let (a, b) = (
                self.loc_start[loc as usize] as usize,
                self.loc_start[loc as usize + 1] as usize,
            );
            for &tagged in &self.loc_nodes[a..b] {
                let node = tagged & !INLINED;
                let ni = node as usize;
                if kept.is_some_and(|k| !k[ni]) {
                    residual = true;
                    continue;
                }
                if acc.seen[ni] != stamp {
                    acc.seen[ni] = stamp;
                    acc.cum[ni] += w;
                }
                if with_edges && self.inline_target[ni] && parent != u32::MAX && parent != node {
                    let key = (u64::from(parent) << 32) | u64::from(node);
                    let e = acc.edges.entry(key).or_insert(Edge {
                        weight: 0,
                        inline: true,
                        last_sample: u32::MAX,
                    });
                    if e.last_sample != stamp {
                        e.last_sample = stamp;
                        e.weight += w;
                        e.inline &= tagged & INLINED != 0;
                    }
                }
                parent = node;
                residual = false;
            }
        }
        if parent != u32::MAX && !residual {
            acc.flat[parent as usize] += w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn graph_read_from_the_bytes_is_the_graph_of_the_decoded_profile() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in ["pprof.large.cpu.pb.gz", "bigtree.heap.pb.gz"] {
            let bytes =
                std::fs::read(root.join("tests/data/conformance/profiles").join(name)).unwrap();
            let p = Profile::from_bytes(&bytes, name).unwrap();
            let raw = pprof::checked_raw(&bytes, &pprof::ReadOptions::default()).unwrap();
            let split = pprof::wire::split(&raw).unwrap();
            let ix = IdIndex::new("location", p.locations.iter().map(|l| l.id)).unwrap();
            let si = p.default_sample_index();
            let wire = WireStacks {
                samples: &split.samples,
                locations: &ix,
                value: si,
                width: p.sample_types.len(),
                strings: split.strings.len(),
                base_keys: Vec::new(),
                true_values: Vec::new(),
            };
            let view = View::new(&p);
            let nodes = NodeTable::build(Frames::of_view(&view), Granularity::Lines, false);
            let stacks: Vec<(&[u32], i64)> = view
                .samples
                .iter()
                .map(|s| (&*s.locations, p.samples.get(s.index).values[si]))
                .filter(|&(_, w)| w != 0)
                .collect();
            let decoded = GraphBuilder::new(&nodes, Stacks::Decoded(&stacks));
            let direct = GraphBuilder::new(&nodes, Stacks::Encoded(&wire));
            let kept: Vec<bool> = (0..nodes.len()).map(|i| i % 4 != 1).collect();
            for (k, edges) in [(None, true), (None, false), (Some(&kept[..]), true)] {
                let want = decoded.build_threads(k, edges, 1);
                let mut acc = decoded.acc();
                decoded.add_range(&mut acc, 0, &stacks, k, true);
                let plain = GraphBuilder::into_graph(acc);
                assert_eq!((&want.flat, &want.cum), (&plain.flat, &plain.cum));
                for t in [1, 2, 3] {
                    let got = direct.build_threads(k, edges, t);
                    assert!(!got.bad);
                    assert_eq!(want.flat, got.flat, "{name} {t}");
                    assert_eq!(want.cum, got.cum);
                    assert_eq!(want.present, got.present);
                    let total: i64 = p.samples.iter().map(|s| s.values[si].abs()).sum();
                    assert_eq!(got.total, total);
                    assert_eq!(want.edges.len(), got.edges.len());
                    for (key, e) in &want.edges {
                        let g = got.edges[key];
                        assert_eq!((e.weight, e.inline), (g.weight, g.inline));
                    }
                }
            }
        }
    }

    #[test]
    pub(super) fn graph_built_on_several_threads_is_the_same() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let p =
            Profile::from_path(root.join("tests/data/conformance/profiles/pprof.large.cpu.pb.gz"))
                .unwrap();
        for gran in [Granularity::Functions, Granularity::Lines] {
            let view = View::new(&p);
            let nodes = NodeTable::build(Frames::of_view(&view), gran, false);
            let stacks: Vec<(&[u32], i64)> = view
                .samples
                .iter()
                .map(|s| (&*s.locations, p.samples.get(s.index).values[1]))
                .collect();
            let b = GraphBuilder::new(&nodes, Stacks::Decoded(&stacks));
            let kept: Vec<bool> = (0..nodes.len()).map(|i| i % 3 != 0).collect();
            for k in [None, Some(&kept[..])] {
                let one = b.build_threads(k, true, 1);
                for t in [2, 3, 5] {
                    let many = b.build_threads(k, true, t);
                    assert_eq!(one.flat, many.flat);
                    assert_eq!(one.cum, many.cum);
                    assert_eq!(one.present, many.present);
                    assert_eq!(one.edges.len(), many.edges.len());
                    for (key, e) in &one.edges {
                        let m = many.edges[key];
                        assert_eq!((e.weight, e.inline), (m.weight, m.inline));
                    }
                }
            }
        }
    }
}
