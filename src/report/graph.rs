//! The call graph of a report: nodes at a granularity, edges, flat and cum
//! sums, built on several threads.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::filter::View;
use crate::profile::{InputMap, Profile, StackId, StackTree};

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
    pub(super) ids: InputMap<Cow<'a, str>, u32>,
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
/// reads: texts interned, lines in one list. Made from a profile seen
/// through a [`View`].
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

        let mut map: InputMap<NodeKey, u32> =
            InputMap::with_capacity_and_hasher(funcs.len() + 1, Default::default());
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
        let mut node_of_pair: InputMap<u64, u32> = HashMap::default();
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
}

type EdgeMap = HashMap<u64, Edge, foldhash::fast::RandomState>;

pub(crate) struct Graph {
    pub(super) flat: Vec<i64>,
    pub(super) cum: Vec<i64>,
    /// Edges into nodes that some location holds as an inlined frame (the
    /// only edges the inline tags depend on); empty unless asked for.
    pub(super) edges: EdgeMap,
    /// Nodes with a non-zero flat or cum value.
    pub(super) present: Vec<u32>,
}

/// Builds pprof's call graph from the stacks of a profile's samples.
///
/// pprof walks every sample's stack from the root: each distinct node of a
/// stack gets the sample's weight as cum once (recursion counts once), the
/// innermost frame gets it as flat, each distinct (caller, callee) pair as
/// edge weight. Here the samples' stacks are a [`StackTree`], and the same
/// sums come from one depth-first walk of the tree: a stack node's frames
/// are visited once, and when the walk leaves the node, the weight of all
/// samples at or below it goes to the graph nodes (and edges) that first
/// occur there on the path from the root. Work is proportional to the stack
/// nodes, not to the frames of all samples, and memory to the depth.
pub(crate) struct GraphBuilder<'a> {
    /// Per location, its nodes outermost first: `loc_nodes[loc_start[l]..loc_start[l + 1]]`,
    /// with [`INLINED`] set on a node that is an inlined frame of the location.
    pub(super) loc_start: Vec<u32>,
    pub(super) loc_nodes: Vec<u32>,
    /// Nodes that are an inlined frame somewhere.
    pub(super) inline_target: Vec<bool>,
    pub(super) n_nodes: usize,
    tree: &'a StackTree,
    /// The walk's order (`None`: id order).
    order: Option<Vec<StackId>>,
    /// The samples' non-zero weights summed per stack node, as
    /// `(position in the walk, weight)`, by position.
    weights: Vec<(u32, i64)>,
}

/// Marks a node of `GraphBuilder::loc_nodes` reached by an inlined call.
const INLINED: u32 = 1 << 31;

/// No graph node (the state before the outermost frame).
const NO_NODE: u32 = u32::MAX;

/// One stack node on the path of the walk.
struct Level {
    stack: StackId,
    /// The innermost kept graph node so far, and whether frames were
    /// skipped after it.
    last: u32,
    residual: bool,
    /// The weight of the samples at or below this stack node, and whether
    /// one of them is not zero.
    weight: i64,
    any: bool,
    /// Where this level's graph nodes and edges start in the walk's lists.
    nodes_from: usize,
    edges_from: usize,
}

impl<'a> GraphBuilder<'a> {
    /// A builder for the stacks `stacks` of `tree` with their weights
    /// (samples of weight 0 may be left out: they add nothing).
    pub(super) fn new(nodes: &NodeTable, tree: &'a StackTree, stacks: &[(StackId, i64)]) -> Self {
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
        let order = tree.preorder();
        let position: Option<Vec<u32>> = order.as_ref().map(|o| {
            let mut pos = vec![0u32; tree.len()];
            for (i, s) in o.iter().enumerate() {
                if let Some(n) = s.index() {
                    pos[n] = i as u32;
                }
            }
            pos
        });
        let mut weights: Vec<(u32, i64)> = stacks
            .iter()
            .filter(|&&(s, w)| w != 0 && s != StackId::EMPTY)
            .filter_map(|&(s, w)| {
                let n = s.index()?;
                Some((position.as_ref().map_or(n as u32, |p| p[n]), w))
            })
            .collect();
        weights.sort_unstable_by_key(|&(pos, _)| pos);
        GraphBuilder {
            loc_start,
            loc_nodes,
            inline_target,
            n_nodes: nodes.len(),
            tree,
            order,
            weights,
        }
    }

    /// pprof's `newGraph`, restricted to `kept` nodes when given: frames of
    /// other nodes are skipped (the edge over them is residual), and a
    /// sample whose innermost frame is not kept adds no flat value anywhere.
    /// Edges are collected only when `with_edges` is set, and only into
    /// nodes that are an inlined frame somewhere (what the inline tags
    /// read).
    pub(super) fn build(&self, kept: Option<&[bool]>, with_edges: bool) -> Graph {
        if kept.is_none() && !with_edges {
            return self.sums();
        }
        self.build_in(self.parts(), kept, with_edges)
    }

    /// How many threads walk the tree: one per [`MIN_NODES_PER_PART`]
    /// nodes, at most one per core.
    fn parts(&self) -> usize {
        if self.tree.len() < MIN_NODES_PER_PART * 2 {
            1
        } else {
            crate::defaults::worker_threads().min(self.tree.len() / MIN_NODES_PER_PART)
        }
    }

    /// [`GraphBuilder::build`] as `parts` walks of consecutive ranges of
    /// the walk's positions, on threads, summed. A walk that starts inside
    /// a subtree first enters the stack nodes above its start without
    /// their own samples (the walk before it counts those), so that each
    /// node and edge still counts a sample once; flat, cum and edge weights
    /// of the parts add up to those of one walk.
    fn build_in(&self, parts: usize, kept: Option<&[bool]>, with_edges: bool) -> Graph {
        let n = self.tree.len();
        let parts = parts.clamp(1, n.max(1));
        let mut walks: Vec<Walk> =
            crate::defaults::on_ranges(n, parts, |range| self.walk(range, kept, with_edges));
        let mut total = walks.swap_remove(0);
        for w in walks {
            add_into(&mut total.flat, &w.flat);
            add_into(&mut total.cum, &w.cum);
            for (key, e) in w.edges {
                let t = total.edges.entry(key).or_insert(Edge {
                    weight: 0,
                    inline: true,
                });
                t.weight = t.weight.wrapping_add(e.weight);
                t.inline &= e.inline;
            }
        }
        let Walk { flat, cum, edges } = total;
        Graph::of_sums(flat, cum, edges)
    }

    /// [`GraphBuilder::build`] of all nodes without edges: the walk of
    /// [`GraphBuilder::walk`] without what only kept nodes and edges need,
    /// on ranges of positions on threads, summed (see
    /// [`GraphBuilder::build_in`]).
    fn sums(&self) -> Graph {
        let n = self.tree.len();
        let parts = self.parts();
        let mut all = crate::defaults::on_ranges(n, parts, |range| self.sums_in(range));
        let (mut flat, mut cum) = all.swap_remove(0);
        for (f, c) in all {
            add_into(&mut flat, &f);
            add_into(&mut cum, &c);
        }
        Graph::of_sums(flat, cum, EdgeMap::default())
    }

    /// Flat and cum of the samples at the positions `range`, in one pass:
    /// each stack node on the path keeps the weight at or below it and the
    /// graph nodes that first occur there; leaving it adds that weight to
    /// their cum. A range that starts inside a subtree first enters the
    /// stack nodes above its start, without their samples.
    fn sums_in(&self, range: std::ops::Range<usize>) -> (Vec<i64>, Vec<i64>) {
        type Level = (StackId, i64, u32, u32);
        fn leave(path: &mut Vec<Level>, firsts: &mut Vec<u32>, cum: &mut [i64], on: &mut [bool]) {
            let Some((_, w, from, _)) = path.pop() else {
                return;
            };
            for g in firsts.drain(from as usize..) {
                cum[g as usize] = cum[g as usize].wrapping_add(w);
                on[g as usize] = false;
            }
            if let Some(up) = path.last_mut() {
                up.1 = up.1.wrapping_add(w);
            }
        }
        let (parents, locations) = (self.tree.parents(), self.tree.locations());
        let mut flat = vec![0i64; self.n_nodes];
        let mut cum = vec![0i64; self.n_nodes];
        let mut on_path = vec![false; self.n_nodes];
        // The graph nodes that first occur on the path, level by level.
        let mut firsts: Vec<u32> = Vec::new();
        // Per stack node on the path: the node, the weight at or below it,
        // where its first occurrences start in `firsts`, and its innermost
        // graph node.
        let mut path: Vec<Level> = Vec::new();
        let mut weights = self.weights_from(range.start);
        for (stack, at) in self.entered(range) {
            let t = stack.index().unwrap_or_else(|| unreachable!());
            while path.last().is_some_and(|l| l.0 != parents[t]) {
                leave(&mut path, &mut firsts, &mut cum, &mut on_path);
            }
            let mut inner = path.last().map_or(NO_NODE, |l| l.3);
            let from = firsts.len() as u32;
            let loc = locations[t] as usize;
            let (a, b) = (
                self.loc_start[loc] as usize,
                self.loc_start[loc + 1] as usize,
            );
            for &tagged in &self.loc_nodes[a..b] {
                let node = tagged & !INLINED;
                if !std::mem::replace(&mut on_path[node as usize], true) {
                    firsts.push(node);
                }
                inner = node;
            }
            let (w, _) = weights.at(at);
            if inner != NO_NODE {
                flat[inner as usize] = flat[inner as usize].wrapping_add(w);
            }
            path.push((stack, w, from, inner));
        }
        while !path.is_empty() {
            leave(&mut path, &mut firsts, &mut cum, &mut on_path);
        }
        (flat, cum)
    }

    /// The stack nodes a walk of the positions `range` enters, in order:
    /// the nodes above its first position, from the root, without their
    /// samples (`None`: the walk before counts those), then the node at
    /// each position.
    fn entered(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (StackId, Option<usize>)> + '_ {
        let parents = self.tree.parents();
        let mut context = Vec::new();
        if range.start < range.end {
            let mut up = parents[self.stack_at(range.start).index().unwrap_or(0)];
            while let Some(u) = up.index() {
                context.push(up);
                up = parents[u];
            }
        }
        context
            .into_iter()
            .rev()
            .map(|s| (s, None))
            .chain(range.map(|pos| (self.stack_at(pos), Some(pos))))
    }

    /// The samples' weights from position `start` on, for a walk that
    /// takes them position by position.
    fn weights_from(&self, start: usize) -> WeightsFrom<'_> {
        let first = self.weights.partition_point(|&(p, _)| (p as usize) < start);
        WeightsFrom {
            rest: &self.weights[first..],
        }
    }

    /// The stack node at position `pos` of the walk.
    fn stack_at(&self, pos: usize) -> StackId {
        match &self.order {
            Some(o) => o[pos],
            None => StackId::from_index(pos),
        }
    }

    /// One walk over the positions `range` (see [`GraphBuilder::build_in`]).
    fn walk(&self, range: std::ops::Range<usize>, kept: Option<&[bool]>, with_edges: bool) -> Walk {
        let mut flat = vec![0i64; self.n_nodes];
        let mut cum = vec![0i64; self.n_nodes];
        let mut edges = EdgeMap::default();
        // How often each graph node and edge is on the path of the walk;
        // the graph nodes and edges that first occur at each level, with
        // the inline flag of each edge.
        let mut on_path = vec![0u32; self.n_nodes];
        let mut edges_on_path: HashMap<u64, u32, foldhash::fast::RandomState> = HashMap::default();
        let mut level_nodes: Vec<(u32, bool)> = Vec::new();
        let mut level_edges: Vec<(u64, bool, bool)> = Vec::new();
        let mut path: Vec<Level> = Vec::new();
        let mut weights = self.weights_from(range.start);

        // Leaving a level: its weight goes to what first occurred there,
        // then to its caller's level.
        let leave = |path: &mut Vec<Level>,
                     level_nodes: &mut Vec<(u32, bool)>,
                     level_edges: &mut Vec<(u64, bool, bool)>,
                     on_path: &mut Vec<u32>,
                     edges_on_path: &mut HashMap<u64, u32, foldhash::fast::RandomState>,
                     cum: &mut Vec<i64>,
                     edges: &mut EdgeMap| {
            let Some(v) = path.pop() else { return };
            for (n, first) in level_nodes.drain(v.nodes_from..) {
                if first {
                    cum[n as usize] = cum[n as usize].wrapping_add(v.weight);
                }
                on_path[n as usize] -= 1;
            }
            for (key, first, inline) in level_edges.drain(v.edges_from..) {
                if first && v.any {
                    let e = edges.entry(key).or_insert(Edge {
                        weight: 0,
                        inline: true,
                    });
                    e.weight = e.weight.wrapping_add(v.weight);
                    e.inline &= inline;
                }
                if let Some(c) = edges_on_path.get_mut(&key) {
                    *c -= 1;
                }
            }
            if let Some(up) = path.last_mut() {
                up.weight = up.weight.wrapping_add(v.weight);
                up.any |= v.any;
            }
        };

        for (stack, at) in self.entered(range) {
            let t = stack.index().unwrap_or_else(|| unreachable!());
            let parent = self.tree.parents()[t];
            while path.last().is_some_and(|v| v.stack != parent) {
                leave(
                    &mut path,
                    &mut level_nodes,
                    &mut level_edges,
                    &mut on_path,
                    &mut edges_on_path,
                    &mut cum,
                    &mut edges,
                );
            }
            let (mut last, mut residual) = match path.last() {
                Some(v) => (v.last, v.residual),
                None => (NO_NODE, false),
            };
            let (nodes_from, edges_from) = (level_nodes.len(), level_edges.len());
            let loc = self.tree.locations()[t] as usize;
            let (a, b) = (
                self.loc_start[loc] as usize,
                self.loc_start[loc + 1] as usize,
            );
            for &tagged in &self.loc_nodes[a..b] {
                let node = tagged & !INLINED;
                let ni = node as usize;
                if kept.is_some_and(|k| !k[ni]) {
                    residual = true;
                    continue;
                }
                level_nodes.push((node, on_path[ni] == 0));
                on_path[ni] += 1;
                if with_edges && self.inline_target[ni] && last != NO_NODE && last != node {
                    let key = (u64::from(last) << 32) | u64::from(node);
                    let count = edges_on_path.entry(key).or_insert(0);
                    level_edges.push((key, *count == 0, tagged & INLINED != 0));
                    *count += 1;
                }
                last = node;
                residual = false;
            }
            // The samples at exactly this stack: their flat goes to the
            // innermost frame, if kept.
            let (weight, any) = weights.at(at);
            if any && last != NO_NODE && !residual {
                flat[last as usize] = flat[last as usize].wrapping_add(weight);
            }
            path.push(Level {
                stack,
                last,
                residual,
                weight,
                any,
                nodes_from,
                edges_from,
            });
        }
        while !path.is_empty() {
            leave(
                &mut path,
                &mut level_nodes,
                &mut level_edges,
                &mut on_path,
                &mut edges_on_path,
                &mut cum,
                &mut edges,
            );
        }
        Walk { flat, cum, edges }
    }
}

/// The samples' weights a walk has not reached yet, by position.
struct WeightsFrom<'w> {
    rest: &'w [(u32, i64)],
}

impl WeightsFrom<'_> {
    /// The summed weight of the samples at position `at` (none for
    /// `None`), and whether there are any; the walk then moves past them.
    fn at(&mut self, at: Option<usize>) -> (i64, bool) {
        let Some(pos) = at else {
            return (0, false);
        };
        let n = self
            .rest
            .iter()
            .take_while(|&&(p, _)| p as usize == pos)
            .count();
        let (here, rest) = self.rest.split_at(n);
        self.rest = rest;
        let weight = here.iter().fold(0i64, |a, &(_, w)| a.wrapping_add(w));
        (weight, n > 0)
    }
}

/// Adds `b` to `a`, element by element (wrapping, as pprof's sums do).
fn add_into(a: &mut [i64], b: &[i64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x = x.wrapping_add(*y);
    }
}

impl Graph {
    /// The graph of these sums: its present nodes are those with a flat
    /// or cum value.
    fn of_sums(flat: Vec<i64>, cum: Vec<i64>, edges: EdgeMap) -> Graph {
        let present = (0..flat.len() as u32)
            .filter(|&i| flat[i as usize] != 0 || cum[i as usize] != 0)
            .collect();
        Graph {
            flat,
            cum,
            edges,
            present,
        }
    }
}

/// The sums of one walk of [`GraphBuilder::build_in`].
struct Walk {
    flat: Vec<i64>,
    cum: Vec<i64>,
    edges: EdgeMap,
}

/// Stack nodes below which the graph is built on one thread (threads cost
/// more than they save on small profiles).
const MIN_NODES_PER_PART: usize = 200_000;

#[cfg(test)]
mod tests {
    use super::*;

    /// Flat and cum per node, and edges by `(src, dst)` with their weight
    /// and inline flag.
    type Sums = (Vec<i64>, Vec<i64>, HashMap<u64, (i64, bool)>);

    /// pprof's graph, sample by sample, as `graph.New` walks it: the
    /// reference the tree walk must equal.
    fn per_sample(
        b: &GraphBuilder<'_>,
        tree: &StackTree,
        stacks: &[(StackId, i64)],
        kept: Option<&[bool]>,
    ) -> Sums {
        let mut flat = vec![0i64; b.n_nodes];
        let mut cum = vec![0i64; b.n_nodes];
        let mut edges: HashMap<u64, (i64, bool)> = HashMap::new();
        for &(stack, w) in stacks {
            if w == 0 {
                continue;
            }
            let locs = tree.stack(stack).to_vec();
            let mut seen = std::collections::HashSet::new();
            let mut seen_edges = std::collections::HashSet::new();
            let (mut parent, mut residual) = (NO_NODE, false);
            for &loc in locs.iter().rev() {
                let (a, z) = (
                    b.loc_start[loc as usize] as usize,
                    b.loc_start[loc as usize + 1] as usize,
                );
                for &tagged in &b.loc_nodes[a..z] {
                    let node = tagged & !INLINED;
                    if kept.is_some_and(|k| !k[node as usize]) {
                        residual = true;
                        continue;
                    }
                    if seen.insert(node) {
                        cum[node as usize] += w;
                    }
                    if b.inline_target[node as usize] && parent != NO_NODE && parent != node {
                        let key = (u64::from(parent) << 32) | u64::from(node);
                        if seen_edges.insert(key) {
                            let e = edges.entry(key).or_insert((0, true));
                            e.0 += w;
                            e.1 &= tagged & INLINED != 0;
                        }
                    }
                    parent = node;
                    residual = false;
                }
            }
            if parent != NO_NODE && !residual {
                flat[parent as usize] += w;
            }
        }
        (flat, cum, edges)
    }

    fn check(name: &str, p: &Profile, tree: &StackTree, stacks: &[(StackId, i64)]) {
        let view = View::new(p);
        for gran in [
            Granularity::Functions,
            Granularity::Lines,
            Granularity::Addresses,
        ] {
            let nodes = NodeTable::build(Frames::of_view(&view), gran, false);
            let b = GraphBuilder::new(&nodes, tree, stacks);
            let kept: Vec<bool> = (0..nodes.len()).map(|i| i % 3 != 1).collect();
            for k in [None, Some(&kept[..])] {
                let (flat, cum, edges) = per_sample(&b, tree, stacks, k);
                if k.is_none() {
                    let got = b.build(None, false);
                    assert_eq!(got.flat, flat, "{name} {gran:?} flat, without edges");
                    assert_eq!(got.cum, cum, "{name} {gran:?} cum, without edges");
                    assert!(got.edges.is_empty());
                    for parts in [2, 3, 7] {
                        let n = tree.len();
                        let (mut f, mut c) = (vec![0; nodes.len()], vec![0; nodes.len()]);
                        for k in 0..parts {
                            let (pf, pc) = b.sums_in(k * n / parts..(k + 1) * n / parts);
                            f.iter_mut().zip(pf).for_each(|(a, x)| *a += x);
                            c.iter_mut().zip(pc).for_each(|(a, x)| *a += x);
                        }
                        assert_eq!((&f, &c), (&flat, &cum), "{name} {gran:?}, {parts} parts");
                    }
                }
                // One walk, and walks of ranges that start inside subtrees.
                for parts in [1, 2, 3, 7] {
                    let got = b.build_in(parts, k, true);
                    assert_eq!(got.flat, flat, "{name} {gran:?} flat, {parts} parts");
                    assert_eq!(got.cum, cum, "{name} {gran:?} cum, {parts} parts");
                    assert_eq!(
                        got.edges.len(),
                        edges.len(),
                        "{name} {gran:?} edges, {parts} parts"
                    );
                    for (key, e) in &got.edges {
                        assert_eq!(
                            (e.weight, e.inline),
                            edges[key],
                            "{name} {gran:?} edge, {parts} parts"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_tree_walk_is_the_per_sample_graph() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in [
            "pprof.large.cpu.pb.gz",
            "bigtree.heap.pb.gz",
            "svc.heap.2.pb.gz",
        ] {
            let p = Profile::from_path(root.join("tests/data/conformance/profiles").join(name))
                .unwrap();
            let si = p.default_sample_index();
            let stacks: Vec<(StackId, i64)> = p
                .samples
                .iter()
                .map(|s| (s.stack.id(), s.values[si]))
                .collect();
            check(name, &p, p.samples.tree(), &stacks);
        }
    }

    #[test]
    fn recursion_and_cancelling_weights_match_the_per_sample_graph() {
        // Recursive stacks over a few locations with inlined frames, and
        // weights of both signs (a -base comparison) that cancel out.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let p =
            Profile::from_path(root.join("tests/data/conformance/profiles/pprof.large.cpu.pb.gz"))
                .unwrap();
        let inlined: Vec<u32> = (0..p.locations.len() as u32)
            .filter(|&l| p.locations[l as usize].lines.len() > 1)
            .take(4)
            .collect();
        let plain: Vec<u32> = (0..p.locations.len() as u32)
            .filter(|&l| p.locations[l as usize].lines.len() == 1)
            .take(4)
            .collect();
        let pick: Vec<u32> = inlined.into_iter().chain(plain).collect();
        let mut tree = StackTree::default();
        let mut stacks = Vec::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..2000 {
            let depth = 1 + next(12) as usize;
            let locs: Vec<u32> = (0..depth)
                .map(|_| pick[next(pick.len() as u64) as usize])
                .collect();
            let w = next(7) as i64 - 3;
            stacks.push((tree.intern(&locs), w));
            stacks.push((tree.intern(&locs), -w));
            stacks.push((tree.intern(&locs), w * 2));
        }
        check("random", &p, &tree, &stacks);
    }
}
