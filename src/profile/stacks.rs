//! Stacks as a tree: every distinct stack of a profile is a node whose
//! parent is the same stack without its innermost frame.
//!
//! Deep profiles repeat themselves: half a million heap samples forty
//! frames deep share almost all of those frames with their neighbours,
//! since they hang off the same few call paths from `main`. Stored one
//! location list per sample they are tens of millions of numbers; stored as
//! a tree, each distinct (caller stack, location) pair is one node, and a
//! sample holds one [`StackId`].
//!
//! A node's id is larger than its parent's, so walking the nodes in id order
//! visits callers before callees (what the call-graph and growth passes
//! rely on). Stacks made with [`StackTree::push`] and [`StackTree::intern`]
//! are found again: equal stacks get equal ids. A tree read from a file is
//! built faster, without that lookup: there the same stack can be two
//! nodes (compare stacks with [`Stack`]'s `==`, which compares frames), and
//! the nodes come in depth-first order, each right after its caller's
//! subtree so far ([`StackTree::preorder`]).
//!
//! ```
//! use heapframe::profile::StackTree;
//! let mut t = StackTree::default();
//! let a = t.intern(&[2, 1, 0]); // leaf first: 2 called by 1 called by 0
//! let b = t.intern(&[3, 1, 0]);
//! assert_eq!(t.stack(a).iter().collect::<Vec<_>>(), [2, 1, 0]);
//! assert_eq!(t.parent(a), t.parent(b)); // both hang off [1, 0]
//! assert_eq!(t.len(), 4); // [0], [1, 0], [2, 1, 0], [3, 1, 0]
//! assert_eq!(t.intern(&[2, 1, 0]), a);
//! ```

use std::collections::HashMap;

/// A stack of one [`StackTree`]: the node of its innermost frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackId(u32);

impl StackId {
    /// The stack with no frames.
    pub const EMPTY: StackId = StackId(u32::MAX);

    /// The node's position in its tree (`None` for the empty stack).
    pub fn index(self) -> Option<usize> {
        (self != Self::EMPTY).then_some(self.0 as usize)
    }

    /// The stack of node `i`.
    pub(crate) fn from_index(i: usize) -> StackId {
        StackId(i as u32)
    }

    /// The id as a number (`u32::MAX` for the empty stack), for tables.
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

/// The hash map of inputs read from files: a seeded hash with full
/// avalanche, so that crafted keys cannot make lookups quadratic.
pub(crate) type InputMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The distinct stacks of a profile (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct StackTree {
    /// Per node: the location (index into `Profile::locations`) of its
    /// innermost frame.
    location: Vec<u32>,
    /// Per node: the node of the stack without that frame (`EMPTY` at the
    /// outermost frame).
    parent: Vec<StackId>,
    /// Finds a node by `(parent, location)` while the tree grows; made
    /// again when needed after a clone or [`StackTree::shrink`].
    index: Option<ChildIndex>,
    /// Known to be in depth-first id order (see [`StackTree::preorder`]):
    /// set by a reader that builds it so, cleared by any new node.
    depth_first: bool,
}

/// Children lists to find a node by `(parent, location)`: a short list per
/// parent (most nodes have one or two children), and a hash table for the
/// children of parents with many, so no lookup costs more than a few
/// comparisons or one probe, whatever a file's stacks look like.
#[derive(Debug, Clone, Default)]
struct ChildIndex {
    /// Per node: its newest child and its next older sibling (`NONE`).
    first_child: Vec<u32>,
    next_sibling: Vec<u32>,
    /// Per node: how many children it has.
    children: Vec<u32>,
    /// The same for the one-frame stacks.
    root_first: u32,
    roots: u32,
    /// `(parent, location)` → node, for the children of parents with more
    /// than [`ChildIndex::LIST`] children.
    many: InputMap<(u32, u32), u32>,
}

const NONE: u32 = u32::MAX;

impl ChildIndex {
    /// Children a parent has before they go into the hash table.
    const LIST: u32 = 8;

    fn slots(&mut self, parent: StackId) -> (&mut u32, &mut u32) {
        match parent.index() {
            Some(p) => (&mut self.first_child[p], &mut self.children[p]),
            None => (&mut self.root_first, &mut self.roots),
        }
    }

    /// The child of `parent` at `location`.
    fn find(&self, location: &[u32], parent: StackId, loc: u32) -> Option<u32> {
        let (first, count) = match parent.index() {
            Some(p) => (self.first_child[p], self.children[p]),
            None => (self.root_first, self.roots),
        };
        if count > Self::LIST {
            return self.many.get(&(parent.0, loc)).copied();
        }
        let mut c = first;
        while c != NONE {
            if location[c as usize] == loc {
                return Some(c);
            }
            c = self.next_sibling[c as usize];
        }
        None
    }

    /// Files node `id` (at `loc`) as the newest child of `parent`.
    fn add(&mut self, location: &[u32], parent: StackId, loc: u32, id: u32) {
        self.first_child.push(NONE);
        self.next_sibling.push(NONE);
        self.children.push(0);
        let (first, count) = self.slots(parent);
        let older = std::mem::replace(first, id);
        *count += 1;
        let count = *count;
        self.next_sibling[id as usize] = older;
        if count == Self::LIST + 1 {
            let mut c = id;
            while c != NONE {
                self.many.insert((parent.0, location[c as usize]), c);
                c = self.next_sibling[c as usize];
            }
        } else if count > Self::LIST + 1 {
            self.many.insert((parent.0, loc), id);
        }
    }
}

impl PartialEq for StackTree {
    fn eq(&self, other: &StackTree) -> bool {
        self.location == other.location && self.parent == other.parent
    }
}

impl Eq for StackTree {}

impl StackTree {
    /// Number of nodes (distinct non-empty stacks, and their tails).
    pub fn len(&self) -> usize {
        self.location.len()
    }

    /// True when the tree has no node.
    pub fn is_empty(&self) -> bool {
        self.location.is_empty()
    }

    /// The stack `id` of this tree.
    pub fn stack(&self, id: StackId) -> Stack<'_> {
        Stack { tree: self, id }
    }

    /// The innermost location of `id` (`None` for the empty stack).
    pub fn location(&self, id: StackId) -> Option<u32> {
        id.index().map(|i| self.location[i])
    }

    /// The stack without its innermost frame (`EMPTY` for a one-frame or
    /// the empty stack).
    pub fn parent(&self, id: StackId) -> StackId {
        id.index().map_or(StackId::EMPTY, |i| self.parent[i])
    }

    /// The number of frames of `id` (a walk to the root).
    pub fn depth(&self, id: StackId) -> usize {
        self.stack(id).iter().count()
    }

    /// Per node, in id order: its innermost location.
    pub fn locations(&self) -> &[u32] {
        &self.location
    }

    /// Per node, in id order: its parent.
    pub fn parents(&self) -> &[StackId] {
        &self.parent
    }

    /// The stack `parent` with `location` called from its innermost frame
    /// (the node is made when it is new).
    pub fn push(&mut self, parent: StackId, location: u32) -> StackId {
        self.ensure_index();
        let index = self.index.as_mut().unwrap_or_else(|| unreachable!());
        if let Some(id) = index.find(&self.location, parent, location) {
            return StackId(id);
        }
        let id = self.append(parent, location);
        let index = self.index.as_mut().unwrap_or_else(|| unreachable!());
        index.add(&self.location, parent, location, id.0);
        id
    }

    fn append(&mut self, parent: StackId, location: u32) -> StackId {
        self.depth_first = false;
        let id = self.location.len() as u32;
        assert!(id < NONE, "more than 2^32 - 1 stack nodes");
        self.location.push(location);
        self.parent.push(parent);
        StackId(id)
    }

    /// A new node for `location` under `parent`, without looking for an
    /// equal one (for readers that know the stack is new, or do not need
    /// equal stacks to share a node). Drops the lookup index.
    pub(crate) fn push_new(&mut self, parent: StackId, location: u32) -> StackId {
        self.index = None;
        self.append(parent, location)
    }

    /// Replaces each node's location by `map` of it; `None` (and the tree
    /// half mapped) when `map` gives `None` for one. Drops the lookup index.
    pub(crate) fn map_locations(&mut self, mut map: impl FnMut(u32) -> Option<u32>) -> Option<()> {
        self.index = None;
        for l in &mut self.location {
            *l = map(*l)?;
        }
        Some(())
    }

    /// Records that the nodes are in depth-first id order, for a reader
    /// that built the tree so (each new node's parent on the path from the
    /// root to the node made before it), so that [`StackTree::preorder`]
    /// need not check it.
    pub(crate) fn set_depth_first(&mut self) {
        debug_assert!(self.ids_depth_first());
        self.depth_first = true;
    }

    /// Adds the nodes of `other` after these, each under its parent there:
    /// the node `i` of `other` becomes `offset + i`, where `offset` (the
    /// number of nodes before) is returned; `None`, and nothing added, when
    /// the ids would not fit. Equal stacks of the two trees stay two nodes;
    /// two depth-first trees make a depth-first one.
    pub(crate) fn append_tree(&mut self, other: &StackTree) -> Option<usize> {
        let offset = self.len();
        let total = offset.checked_add(other.len())?;
        if total > NONE as usize {
            return None;
        }
        let depth_first = (self.depth_first || self.is_empty()) && other.depth_first;
        self.index = None;
        self.location.extend_from_slice(&other.location);
        self.parent
            .extend(other.parent.iter().map(|p| match p.index() {
                Some(i) => StackId((i + offset) as u32),
                None => StackId::EMPTY,
            }));
        self.depth_first = depth_first;
        Some(offset)
    }

    /// Reserves room for `n` more nodes.
    pub fn reserve(&mut self, n: usize) {
        self.location.reserve(n);
        self.parent.reserve(n);
    }

    /// The stack of `locations`, leaf first.
    pub fn intern(&mut self, locations: &[u32]) -> StackId {
        locations
            .iter()
            .rev()
            .fold(StackId::EMPTY, |parent, &l| self.push(parent, l))
    }

    /// Drops the lookup index (the tree stays readable; a later
    /// [`StackTree::push`] makes it again).
    pub fn shrink(&mut self) {
        self.index = None;
        self.location.shrink_to_fit();
        self.parent.shrink_to_fit();
    }

    fn ensure_index(&mut self) {
        if self.index.is_some() {
            return;
        }
        let mut index = ChildIndex {
            root_first: NONE,
            ..Default::default()
        };
        for (i, (&l, &p)) in self.location.iter().zip(&self.parent).enumerate() {
            index.add(&self.location, p, l, i as u32);
        }
        self.index = Some(index);
    }

    /// Makes the stacks of `other` in this tree: the returned vector maps
    /// each node of `other` to its node here, with `location` applied to
    /// the locations on the way (to merge profiles whose location tables
    /// differ).
    pub fn import(
        &mut self,
        other: &StackTree,
        mut location: impl FnMut(u32) -> u32,
    ) -> Vec<StackId> {
        let mut map = Vec::with_capacity(other.len());
        for (i, &l) in other.location.iter().enumerate() {
            let parent = match other.parent[i].index() {
                Some(p) => map[p],
                None => StackId::EMPTY,
            };
            map.push(self.push(parent, location(l)));
        }
        map
    }

    /// Sums weights over the tree: per node, the weights of the stacks that
    /// are exactly that node, and of those at or below it (with whether a
    /// non-zero weight is among them, since weights of both signs can
    /// cancel). Zero weights are skipped.
    pub fn sums(&self, weights: impl IntoIterator<Item = (StackId, i64)>) -> TreeSums {
        let n = self.len();
        let (mut own, mut own_any) = (vec![0i64; n], vec![false; n]);
        for (stack, w) in weights {
            if let Some(i) = stack.index()
                && w != 0
            {
                own[i] = own[i].wrapping_add(w);
                own_any[i] = true;
            }
        }
        // Children have larger ids than their parents: sum from the end.
        let (mut through, mut through_any) = (own.clone(), own_any.clone());
        for (i, parent) in self.parent.iter().enumerate().rev() {
            if let Some(p) = parent.index() {
                through[p] = through[p].wrapping_add(through[i]);
                through_any[p] |= through_any[i];
            }
        }
        TreeSums {
            own,
            through,
            own_any,
            through_any,
        }
    }

    /// The nodes in a depth-first order (each node after its caller, and
    /// all of a node's subtree before the next node that is not in it).
    /// `None` when id order is already one, as in trees read from files;
    /// otherwise the order, computed from the children lists.
    pub fn preorder(&self) -> Option<Vec<StackId>> {
        if self.depth_first || self.ids_depth_first() {
            return None;
        }
        let children = self.children();
        let mut order = Vec::with_capacity(self.len());
        let mut stack: Vec<StackId> = children.roots.iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            order.push(n);
            stack.extend(children.of(n).iter().rev());
        }
        Some(order)
    }

    /// Whether id order is depth-first: every node's parent is on the path
    /// from the root to the node before it.
    fn ids_depth_first(&self) -> bool {
        let mut path: Vec<u32> = Vec::new();
        for (i, p) in self.parent.iter().enumerate() {
            match p.index() {
                None => path.clear(),
                Some(p) => {
                    while path.last().is_some_and(|&top| top as usize != p) {
                        path.pop();
                    }
                    if path.is_empty() {
                        return false;
                    }
                }
            }
            path.push(i as u32);
        }
        true
    }

    /// The nodes' children, for walks from the outermost frames down: the
    /// children of node `i` are `children[start[i]..start[i + 1]]`, and the
    /// roots (one-frame stacks) are `roots`. Each list is in id order.
    pub fn children(&self) -> Children {
        let n = self.len();
        let mut start = vec![0u32; n + 1];
        let mut roots = Vec::new();
        for (i, p) in self.parent.iter().enumerate() {
            match p.index() {
                Some(p) => start[p + 1] += 1,
                None => roots.push(StackId(i as u32)),
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut children = vec![StackId::EMPTY; start[n] as usize];
        for (i, p) in self.parent.iter().enumerate() {
            if let Some(p) = p.index() {
                children[fill[p] as usize] = StackId(i as u32);
                fill[p] += 1;
            }
        }
        Children {
            roots,
            start,
            children,
        }
    }
}

/// Weights summed over a [`StackTree`] (see [`StackTree::sums`]), by node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeSums {
    /// The weights of the stacks that are exactly this node.
    pub own: Vec<i64>,
    /// The weights of the stacks at or below this node.
    pub through: Vec<i64>,
    /// A non-zero weight is exactly at this node.
    pub own_any: Vec<bool>,
    /// A non-zero weight is at or below this node.
    pub through_any: Vec<bool>,
}

/// The children of every node of a [`StackTree`] (see
/// [`StackTree::children`]).
#[derive(Debug, Clone)]
pub struct Children {
    /// The one-frame stacks.
    pub roots: Vec<StackId>,
    start: Vec<u32>,
    children: Vec<StackId>,
}

impl Children {
    /// The children of `id` (the roots for the empty stack).
    pub fn of(&self, id: StackId) -> &[StackId] {
        match id.index() {
            Some(i) => &self.children[self.start[i] as usize..self.start[i + 1] as usize],
            None => &self.roots,
        }
    }
}

/// One stack of a [`StackTree`], read leaf first.
#[derive(Debug, Clone, Copy)]
pub struct Stack<'a> {
    tree: &'a StackTree,
    id: StackId,
}

impl<'a> Stack<'a> {
    /// Its id in its tree.
    pub fn id(&self) -> StackId {
        self.id
    }

    /// The tree it belongs to.
    pub fn tree(&self) -> &'a StackTree {
        self.tree
    }

    /// Number of frames (locations).
    pub fn len(&self) -> usize {
        self.tree.depth(self.id)
    }

    /// True for the empty stack.
    pub fn is_empty(&self) -> bool {
        self.id == StackId::EMPTY
    }

    /// The innermost location.
    pub fn leaf(&self) -> Option<u32> {
        self.tree.location(self.id)
    }

    /// The locations, innermost first.
    pub fn iter(&self) -> StackIter<'a> {
        StackIter {
            tree: self.tree,
            next: self.id,
        }
    }

    /// The locations, innermost first, as a vector.
    pub fn to_vec(&self) -> Vec<u32> {
        let mut v = Vec::with_capacity(self.len());
        v.extend(self.iter());
        v
    }
}

impl PartialEq for Stack<'_> {
    fn eq(&self, other: &Stack<'_>) -> bool {
        (std::ptr::eq(self.tree, other.tree) && self.id == other.id) || self.iter().eq(other.iter())
    }
}

impl Eq for Stack<'_> {}

impl<'a> IntoIterator for Stack<'a> {
    type Item = u32;
    type IntoIter = StackIter<'a>;
    fn into_iter(self) -> StackIter<'a> {
        self.iter()
    }
}

/// The locations of a [`Stack`], innermost first.
#[derive(Debug, Clone)]
pub struct StackIter<'a> {
    tree: &'a StackTree,
    next: StackId,
}

impl Iterator for StackIter<'_> {
    type Item = u32;
    #[inline]
    fn next(&mut self) -> Option<u32> {
        let i = self.next.index()?;
        self.next = self.tree.parent[i];
        Some(self.tree.location[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_stacks_share_a_node_and_parents_come_first() {
        let mut t = StackTree::default();
        let a = t.intern(&[5, 4, 3]);
        let b = t.intern(&[6, 4, 3]);
        let c = t.intern(&[5, 4, 3]);
        assert_eq!(a, c);
        assert_ne!(a, b);
        for (i, p) in t.parents().iter().enumerate() {
            if let Some(p) = p.index() {
                assert!(p < i);
            }
        }
        assert_eq!(t.stack(b).to_vec(), [6, 4, 3]);
        assert_eq!(t.depth(b), 3);
        assert_eq!(t.parent(t.parent(b)), t.intern(&[3]));
        assert_eq!(t.intern(&[]), StackId::EMPTY);
        assert!(t.stack(StackId::EMPTY).iter().next().is_none());
    }

    #[test]
    fn import_maps_every_node_and_children_list_them() {
        let mut a = StackTree::default();
        let x = a.intern(&[1, 0]);
        let y = a.intern(&[2, 0]);
        let mut b = StackTree::default();
        b.intern(&[9]);
        let map = b.import(&a, |l| l + 10);
        assert_eq!(b.stack(map[x.index().unwrap()]).to_vec(), [11, 10]);
        assert_eq!(b.stack(map[y.index().unwrap()]).to_vec(), [12, 10]);
        let ch = b.children();
        assert_eq!(ch.roots.len(), 2);
        let root10 = b.intern(&[10]);
        assert_eq!(ch.of(root10).len(), 2);
        // Equal stacks of different trees compare equal.
        let mut c = StackTree::default();
        c.intern(&[7]);
        let same = c.import(&a, |l| l);
        assert_eq!(a.stack(x), c.stack(same[x.index().unwrap()]));
        assert_ne!(a.stack(x), b.stack(map[x.index().unwrap()]));
    }

    #[test]
    fn a_clone_makes_its_index_again() {
        let mut t = StackTree::default();
        let a = t.intern(&[1, 2]);
        t.shrink();
        let mut u = t.clone();
        assert_eq!(u.intern(&[1, 2]), a);
        assert_eq!(u.len(), 2);
    }
}
