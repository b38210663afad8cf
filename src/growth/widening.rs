//! The widening call path and the growth call tree.

use super::*;

/// A node on the widening chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainNode {
    /// Function name.
    pub function: String,
    /// Cumulative value in the first snapshot.
    pub first: i64,
    /// Cumulative value in the last snapshot.
    pub last: i64,
    /// `last - first`.
    pub growth: i64,
    /// This node's own (flat) growth.
    pub flat_growth: i64,
    /// Where the function is defined.
    pub code: Option<CodeRef>,
}

/// The call path whose cumulative growth widens, root first.
#[derive(Debug, Clone, PartialEq)]
pub struct Widening {
    /// The chain from the root down.
    pub chain: Vec<ChainNode>,
    /// Index in `chain` of the node where the growth concentrates: below it
    /// the growth splits, or it is the node's own allocation.
    pub concentration: usize,
    /// Total growth (all samples).
    pub total_growth: i64,
    /// The sample type measured (its unit formats the growth).
    pub sample_type: ValueType,
    /// The owner the path leads to, for a path found by
    /// [`ranked_widening`] toward the owner a growth table ranks first;
    /// `None` for the path of the largest growth ([`widening`]).
    pub focus: Option<String>,
    /// Links from the chain's [`ChainNode::code`] to a source browser, for
    /// displays (see [`GrowthTable::links`]).
    pub links: Option<SourceLinks>,
}

/// Walks the call tree of the growth from `first` to `last` from the root
/// down: at each node it follows the child that grew most while that child
/// carries at least `follow` (e.g. 0.5) of its parent's growth.
pub fn widening(
    first: &Profile,
    last: &Profile,
    sample_index: Option<&str>,
    follow: f64,
) -> Result<Widening> {
    let nodes = growth_tree(first, last, sample_index)?;
    let growth = |i: usize| nodes[i].last - nodes[i].first;
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut roots = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match n.parent {
            Some(p) => children[p].push(i),
            None => roots.push(i),
        }
    }
    let total_growth: i64 = roots.iter().map(|&r| growth(r)).sum();
    // The most-grown of `candidates`, ties broken by name.
    let best = |candidates: &[usize]| {
        candidates.iter().copied().max_by(|&a, &b| {
            growth(a)
                .cmp(&growth(b))
                .then_with(|| nodes[b].function.cmp(&nodes[a].function))
        })
    };
    let codes = crate::profile::code_of_functions_in(&[last, first]);
    let mut chain = Vec::new();
    let mut cur: Option<usize> = None;
    loop {
        let (candidates, parent_growth) = match cur {
            None => (&roots, total_growth),
            Some(c) => (&children[c], growth(c)),
        };
        let Some(b) = best(candidates) else { break };
        let bg = growth(b);
        if bg <= 0 || (cur.is_some() && (bg as f64) < follow * parent_growth as f64) {
            break;
        }
        let child_growth: i64 = children[b].iter().map(|&c| growth(c)).sum();
        chain.push(ChainNode {
            function: nodes[b].function.clone(),
            first: nodes[b].first,
            last: nodes[b].last,
            growth: bg,
            flat_growth: bg - child_growth,
            code: codes.get(nodes[b].function.as_str()).cloned(),
        });
        cur = Some(b);
    }
    let si = last.sample_index(sample_index)?;
    Ok(Widening {
        concentration: chain.len().saturating_sub(1),
        chain,
        total_growth,
        sample_type: last.sample_types[si].clone(),
        focus: None,
        links: None,
    })
}

/// The widening call paths of a growth table's snapshots `first` and
/// `last`: the path toward the owner `table` ranks first (by steady
/// growth, the table's score), and, when that owner is not on it, the path
/// of the largest growth as well.
///
/// The ranked path walks the growth of the owner's samples only (for a
/// table by [`GrowthKey::Function`] those whose innermost function is the
/// owner, by [`GrowthKey::Root`] those whose outermost is), so the node
/// where growth concentrates and the application code to read first
/// follow the steady owner, not a cache that grew more and then
/// flattened. For other keys, or when nothing grew, the ranked path is the
/// path of the largest growth.
///
/// ```
/// use heapframe::evidence::Bundle;
/// use heapframe::growth::{GrowthOptions, growth, ranked_widening};
/// let b = Bundle::open("tests/fixtures/bundles/warmleak")?;
/// let t = growth(&b.heap, &GrowthOptions::default())?;
/// let (ranked, largest) = ranked_widening(&b.heap[0].profile, &b.heap[6].profile, &t, 0.5)?;
/// assert_eq!(ranked.focus.as_deref(), Some("main.(*sessionStore).Add"));
/// assert_eq!(ranked.user_frame().unwrap().function, "main.(*sessionStore).Add");
/// // The warming cache grew more, and its path is kept beside.
/// let largest = largest.expect("the largest growth goes elsewhere");
/// assert_eq!(largest.concentration_node().unwrap().function, "main.OpenSession");
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn ranked_widening(
    first: &Profile,
    last: &Profile,
    table: &GrowthTable,
    follow: f64,
) -> Result<(Widening, Option<Widening>)> {
    let sample = Some(&*table.sample_type.name);
    let largest = widening(first, last, sample, follow)?;
    let Some(outermost) = owner_side(&table.key) else {
        return Ok((largest, None));
    };
    let Some(top) = table.top_grower() else {
        return Ok((largest, None));
    };
    if largest.chain.iter().any(|n| n.function == top.key) {
        let mut ranked = largest;
        ranked.focus = Some(top.key.clone());
        return Ok((ranked, None));
    }
    let only = |p: &Profile| owner_samples(p, outermost, &top.key);
    let mut ranked = widening(&only(first), &only(last), sample, follow)?;
    ranked.total_growth = largest.total_growth;
    ranked.focus = Some(top.key.clone());
    Ok((ranked, Some(largest)))
}

/// For a growth key that names a function: `Some(true)` when it is the
/// outermost function of a stack ([`GrowthKey::Root`]), `Some(false)` for
/// the innermost ([`GrowthKey::Function`]); `None` for other keys.
pub fn owner_side(key: &GrowthKey) -> Option<bool> {
    match key {
        GrowthKey::Function => Some(false),
        GrowthKey::Root => Some(true),
        _ => None,
    }
}

/// A copy of `p` in which only the samples of `owner` keep their values
/// (those whose outermost function is `owner` when `outermost`, else
/// those whose innermost is); every other sample's values are zero. Its
/// call tree, flame graph or widening path are then the owner's alone.
pub fn owner_samples(p: &Profile, outermost: bool, owner: &str) -> Profile {
    let keys = StackKeys::new(p);
    let mut q = p.clone();
    for (i, &id) in p.samples.stack_ids().iter().enumerate() {
        let name = keys.end_name(id, outermost).unwrap_or("<unknown>");
        if name != owner {
            q.samples.values_mut(i).fill(0);
        }
    }
    q
}

impl Widening {
    /// The deepest node of the chain in code outside the standard library
    /// and the runtime (`main.*` or a module path with a dot): usually the
    /// code to read first.
    pub fn user_frame(&self) -> Option<&ChainNode> {
        let re = regex::Regex::new(crate::growth::classify::USER_CODE).expect("valid pattern");
        self.chain.iter().rev().find(|n| re.is_match(&n.function))
    }

    /// Formats a value in the sample type's unit.
    pub fn format(&self, v: i64) -> String {
        self.sample_type.format(v)
    }

    /// The node where growth concentrates.
    pub fn concentration_node(&self) -> Option<&ChainNode> {
        self.chain.get(self.concentration)
    }

    /// The chain as `a -> b -> c`.
    pub fn path(&self) -> String {
        self.chain
            .iter()
            .map(|n| n.function.as_str())
            .collect::<Vec<_>>()
            .join(" -> ")
    }
}

/// One node of the growth call tree (see [`growth_tree`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    /// Index of the parent node (`None` for children of the root).
    pub parent: Option<usize>,
    /// Depth from the root (0 = outermost frames).
    pub depth: usize,
    /// Function name.
    pub function: String,
    /// Cumulative value in the first snapshot.
    pub first: i64,
    /// Cumulative value in the last snapshot.
    pub last: i64,
}

/// The call tree (root first, functions merged by path) with the
/// cumulative value of every node in the first and last snapshot: growth
/// per call path, for slicing in a notebook or drawing a diff flame graph.
pub fn growth_tree(
    first: &Profile,
    last: &Profile,
    sample_index: Option<&str>,
) -> Result<Vec<TreeNode>> {
    let si_last = last.sample_index(sample_index)?;
    let name = last.sample_types[si_last].name.clone();
    let si_first = first
        .sample_types
        .iter()
        .position(|t| t.name == name)
        .ok_or_else(|| {
            Error::Incompatible(format!("{}: has no sample type {name}", first.source))
        })?;
    let mut nodes: Vec<TreeNode> = Vec::new();
    let mut index: HashMap<(Option<usize>, &str), usize> = HashMap::new();
    for (p, si, is_last) in [(first, si_first, false), (last, si_last, true)] {
        // Each stack node adds its samples' value (those at or below it) to
        // the tree nodes of its frames; the tree nodes of a stack node come
        // from its caller's.
        let tree = p.samples.tree();
        let sums = tree.sums(p.samples.iter().map(|s| (s.stack.id(), s.values[si])));
        let mut below: Vec<Option<usize>> = Vec::with_capacity(tree.len());
        for t in 0..tree.len() {
            let mut parent = tree.parents()[t].index().and_then(|q| below[q]);
            if sums.through_any[t] {
                let v = sums.through[t];
                for f in p.location_frames(tree.locations()[t]).rev() {
                    let name = &*f.function.name;
                    let n = match index.get(&(parent, name)) {
                        Some(&n) => n,
                        None => {
                            nodes.push(TreeNode {
                                parent,
                                depth: parent.map_or(0, |q| nodes[q].depth + 1),
                                function: name.to_string(),
                                first: 0,
                                last: 0,
                            });
                            index.insert((parent, name), nodes.len() - 1);
                            nodes.len() - 1
                        }
                    };
                    let slot = if is_last {
                        &mut nodes[n].last
                    } else {
                        &mut nodes[n].first
                    };
                    *slot = slot.wrapping_add(v);
                    parent = Some(n);
                }
            }
            below.push(parent);
        }
    }
    Ok(nodes)
}

/// The growth tree as a DataFrame: `node`, `parent`, `depth`, `function`,
/// `first`, `last`, `growth`.
#[cfg(feature = "tables")]
pub fn growth_tree_dataframe(nodes: &[TreeNode]) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    DataFrame::new(
        nodes.len(),
        vec![
            Column::new("node".into(), (0..nodes.len() as u32).collect::<Vec<_>>()),
            Column::new(
                "parent".into(),
                nodes
                    .iter()
                    .map(|n| n.parent.map(|p| p as u32))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "depth".into(),
                nodes.iter().map(|n| n.depth as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "function".into(),
                nodes
                    .iter()
                    .map(|n| n.function.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "first".into(),
                nodes.iter().map(|n| n.first).collect::<Vec<_>>(),
            ),
            Column::new(
                "last".into(),
                nodes.iter().map(|n| n.last).collect::<Vec<_>>(),
            ),
            Column::new(
                "growth".into(),
                nodes.iter().map(|n| n.last - n.first).collect::<Vec<_>>(),
            ),
        ],
    )
    .map_err(|e| Error::Output(format!("building the growth tree failed: {e}")))
}
