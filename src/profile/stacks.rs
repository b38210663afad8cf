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
//! rely on), and equal stacks of one tree have equal ids.
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
    /// Per node: its number of frames.
    depth: Vec<u32>,
    /// `(parent, location)` → node, while the tree grows; made again when
    /// needed after a clone.
    index: Option<InputMap<(u32, u32), u32>>,
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

    /// The number of frames of `id`.
    pub fn depth(&self, id: StackId) -> usize {
        id.index().map_or(0, |i| self.depth[i] as usize)
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
        let depth = self.depth(parent) as u32 + 1;
        let next = self.location.len() as u32;
        let id = *self.index().entry((parent.0, location)).or_insert(next);
        if id == next {
            assert!(next < u32::MAX, "more than 2^32 - 1 distinct stacks");
            self.location.push(location);
            self.parent.push(parent);
            self.depth.push(depth);
        }
        StackId(id)
    }

    /// The stack of `locations`, leaf first.
    pub fn intern(&mut self, locations: &[u32]) -> StackId {
        locations
            .iter()
            .rev()
            .fold(StackId::EMPTY, |parent, &l| self.push(parent, l))
    }

    /// The ancestor of `id` with `depth` frames (`id` itself when it has no
    /// more than that).
    pub fn ancestor(&self, mut id: StackId, depth: usize) -> StackId {
        while self.depth(id) > depth {
            id = self.parent(id);
        }
        id
    }

    /// Drops the lookup index (the tree stays readable; a later
    /// [`StackTree::push`] makes it again).
    pub fn shrink(&mut self) {
        self.index = None;
        self.location.shrink_to_fit();
        self.parent.shrink_to_fit();
        self.depth.shrink_to_fit();
    }

    fn index(&mut self) -> &mut InputMap<(u32, u32), u32> {
        let (location, parent) = (&self.location, &self.parent);
        self.index.get_or_insert_with(|| {
            let mut m = InputMap::with_capacity_and_hasher(location.len(), Default::default());
            for (i, (&l, &p)) in location.iter().zip(parent).enumerate() {
                m.insert((p.0, l), i as u32);
            }
            m
        })
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
        if std::ptr::eq(self.tree, other.tree) {
            return self.id == other.id;
        }
        self.len() == other.len() && self.iter().eq(other.iter())
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
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.tree.depth(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for StackIter<'_> {}

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
        assert_eq!(t.ancestor(b, 1), t.intern(&[3]));
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
