//! The columnar sample store of a [`Profile`](super::Profile).

use super::stacks::{StackId, StackTree};
use super::{Label, Sample, SampleRef};

/// The samples of a profile, stored by column: one stack id per sample into
/// a shared [`StackTree`] (every distinct stack once, tails shared), the
/// values of all samples in one array, and labels as a table of distinct
/// label sets, one set id per sample (heap samples of one object size share
/// one set). A profile of half a million samples forty frames deep is a
/// handful of allocations, not twenty million numbers.
///
/// Every sample has the same number of values (the profile's sample types);
/// the first sample pushed sets it. Two stores are equal when they hold the
/// same samples in the same order, however their stacks and label sets are
/// laid out.
///
/// ```
/// use heapframe::profile::{Sample, Samples};
/// let mut s = Samples::default();
/// s.push(&Sample { locations: vec![0, 1], values: vec![5, 6], labels: vec![] });
/// assert_eq!(s.len(), 1);
/// assert_eq!(s.get(0).values, [5, 6]);
/// assert_eq!(s.get(0).stack.to_vec(), [0, 1]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub(super) width: usize,
    /// The stacks of the samples.
    pub(super) tree: StackTree,
    /// Per sample: its stack.
    pub(super) stack: Vec<StackId>,
    pub(super) values: Vec<i64>,
    /// Label set of each sample (index into `set_start`).
    pub(super) label_set: Vec<u32>,
    /// Set `k` is `set_labels[set_start[k]..set_start[k + 1]]`; set 0 is
    /// empty (`set_start` starts `[0, 0]` once a set is held).
    pub(super) set_start: Vec<usize>,
    pub(super) set_labels: Vec<Label>,
}

impl PartialEq for Samples {
    fn eq(&self, other: &Samples) -> bool {
        self.len() == other.len()
            && (self.is_empty() || self.width == other.width)
            && self.values == other.values
            && (0..self.len()).all(|i| {
                self.get(i).stack == other.get(i).stack && self.labels_of(i) == other.labels_of(i)
            })
    }
}

impl Eq for Samples {}

impl Samples {
    /// An empty store for samples of `width` values.
    pub fn with_width(width: usize) -> Self {
        Samples {
            width,
            ..Default::default()
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.stack.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }

    /// Number of values per sample.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The stacks the samples refer to.
    pub fn tree(&self) -> &StackTree {
        &self.tree
    }

    /// Per sample: its stack id in [`Samples::tree`].
    pub fn stack_ids(&self) -> &[StackId] {
        &self.stack
    }

    /// All values, sample after sample ([`Samples::width`] each).
    pub fn all_values(&self) -> &[i64] {
        &self.values
    }

    fn labels_of(&self, i: usize) -> &[Label] {
        self.label_set(self.label_set[i])
    }

    /// Sample `i`.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn get(&self, i: usize) -> SampleRef<'_> {
        SampleRef {
            stack: self.tree.stack(self.stack[i]),
            values: &self.values[i * self.width..(i + 1) * self.width],
            labels: self.labels_of(i),
        }
    }

    /// The samples in order.
    pub fn iter(&self) -> SamplesIter<'_> {
        SamplesIter {
            samples: self,
            next: 0,
        }
    }

    /// Appends a sample.
    ///
    /// # Panics
    /// When its number of values differs from the samples already held.
    pub fn push(&mut self, s: &Sample) {
        self.push_parts(&s.locations, &s.values, &s.labels);
    }

    /// Appends a copy of a sample of any store.
    ///
    /// # Panics
    /// When its number of values differs from the samples already held.
    pub fn push_ref(&mut self, s: &SampleRef<'_>) {
        let stack = if std::ptr::eq(s.stack.tree(), &self.tree) {
            s.stack.id()
        } else {
            self.tree.intern(&s.stack.to_vec())
        };
        self.check_width(s.values.len());
        let set = self.label_set_for(s.labels);
        self.push_resolved(stack, s.values, set);
    }

    /// Appends a sample from its parts (`locations` leaf first).
    ///
    /// # Panics
    /// When the number of values differs from the samples already held.
    pub fn push_parts(&mut self, locations: &[u32], values: &[i64], labels: &[Label]) {
        self.check_width(values.len());
        let set = self.label_set_for(labels);
        let stack = self.tree.intern(locations);
        self.push_resolved(stack, values, set);
    }

    /// The id of a label set equal to `labels`: the empty set, the last set
    /// added, or a new one.
    fn label_set_for(&mut self, labels: &[Label]) -> u32 {
        if labels.is_empty() {
            return 0;
        }
        if self.set_start.len() > 2 {
            let last = self.set_start.len() - 2;
            if self.set_labels[self.set_start[last]..] == *labels {
                return last as u32;
            }
        }
        self.add_label_set(labels.iter().cloned())
    }

    /// Adds a label set and returns its id.
    pub(super) fn add_label_set(&mut self, labels: impl IntoIterator<Item = Label>) -> u32 {
        if self.set_start.is_empty() {
            self.set_start.extend([0, 0]);
        }
        self.set_labels.extend(labels);
        self.set_start.push(self.set_labels.len());
        (self.set_start.len() - 2) as u32
    }

    /// Sets the width from the first sample of a store made without one;
    /// refuses a sample of another width.
    fn check_width(&mut self, n: usize) {
        if self.is_empty() && self.width == 0 {
            self.width = n;
        }
        assert_eq!(
            n, self.width,
            "a sample with {n} values pushed among samples of {}",
            self.width
        );
    }

    fn push_resolved(&mut self, stack: StackId, values: &[i64], set: u32) {
        self.stack.push(stack);
        self.values.extend_from_slice(values);
        self.label_set.push(set);
    }

    /// The values of sample `i`, to change them.
    pub fn values_mut(&mut self, i: usize) -> &mut [i64] {
        &mut self.values[i * self.width..(i + 1) * self.width]
    }

    /// Keeps the samples for which `keep` returns true; `keep` may change
    /// the values first. In place: nothing is reallocated (the stack tree
    /// keeps the stacks of dropped samples).
    pub fn retain_values(&mut self, mut keep: impl FnMut(&mut [i64]) -> bool) {
        let w = self.width;
        let mut kept = 0;
        for i in 0..self.len() {
            if keep(&mut self.values[i * w..(i + 1) * w]) {
                self.stack[kept] = self.stack[i];
                self.values.copy_within(i * w..(i + 1) * w, kept * w);
                self.label_set[kept] = self.label_set[i];
                kept += 1;
            }
        }
        self.stack.truncate(kept);
        self.values.truncate(kept * w);
        self.label_set.truncate(kept);
    }

    /// The label set id of sample `i` (0: no labels). Samples with the same
    /// id have the same labels; the converse need not hold.
    pub fn label_set_id(&self, i: usize) -> u32 {
        self.label_set[i]
    }

    /// Number of label set ids in use (ids are `0..n`).
    pub fn label_set_count(&self) -> usize {
        self.set_start.len().max(2) - 1
    }

    /// The labels of set `k`.
    pub fn label_set(&self, k: u32) -> &[Label] {
        let k = k as usize;
        if k == 0 {
            return &[];
        }
        &self.set_labels[self.set_start[k]..self.set_start[k + 1]]
    }

    /// Drops the stack tree's lookup index and spare capacity: the store
    /// stays readable, and a later push builds the index again. For a store
    /// that is done growing, or a template that will be cloned.
    pub fn shrink(&mut self) {
        self.tree.shrink();
        self.stack.shrink_to_fit();
        self.values.shrink_to_fit();
        self.label_set.shrink_to_fit();
    }

    /// Adds a label set for [`Samples::push_with_set`] and returns its id.
    pub fn new_label_set(&mut self, labels: &[Label]) -> u32 {
        if labels.is_empty() {
            return 0;
        }
        self.add_label_set(labels.iter().cloned())
    }

    /// The stack of `locations` (leaf first) in this store's tree, for
    /// [`Samples::push_with_set`].
    pub fn intern_stack(&mut self, locations: &[u32]) -> StackId {
        self.tree.intern(locations)
    }

    /// The stack `parent` with `location` called from its innermost frame,
    /// in this store's tree (see [`StackTree::push`]).
    pub fn push_frame(&mut self, parent: StackId, location: u32) -> StackId {
        self.tree.push(parent, location)
    }

    /// The stacks of `other` in this store's tree (see
    /// [`StackTree::import`]).
    pub fn import_stacks(
        &mut self,
        other: &StackTree,
        location: impl FnMut(u32) -> u32,
    ) -> Vec<StackId> {
        self.tree.import(other, location)
    }

    /// Appends a sample whose stack is `stack` of this store's tree and
    /// whose labels are set `set` of this store.
    ///
    /// # Panics
    /// When the number of values differs, or `set` or `stack` does not
    /// exist.
    pub fn push_with_set(&mut self, stack: StackId, values: &[i64], set: u32) {
        self.check_width(values.len());
        assert!(
            (set as usize) < self.label_set_count(),
            "no label set {set}"
        );
        assert!(
            stack.index().is_none_or(|i| i < self.tree.len()),
            "no stack {stack:?}"
        );
        self.push_resolved(stack, values, set);
    }

    /// Appends all samples of `other`.
    ///
    /// # Panics
    /// When the widths differ and neither store is empty.
    pub fn append(&mut self, other: Samples) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() && self.tree.is_empty() {
            *self = other;
            return;
        }
        assert!(
            self.is_empty() || self.width == other.width,
            "appending samples of another width"
        );
        self.width = other.width;
        let map = self.tree.import(&other.tree, |l| l);
        self.stack.extend(
            other
                .stack
                .iter()
                .map(|s| s.index().map_or(StackId::EMPTY, |i| map[i])),
        );
        self.values.extend_from_slice(&other.values);
        let first = self.label_set.len();
        self.label_set.extend_from_slice(&other.label_set);
        self.take_label_sets(other, first..self.label_set.len());
    }

    /// Moves the label sets of `other` into this store, after its own, and
    /// renumbers the set ids of the samples in `range` (which refer to
    /// `other`'s sets) to match.
    pub(super) fn take_label_sets(&mut self, other: Samples, range: std::ops::Range<usize>) {
        if other.set_start.len() <= 2 {
            return;
        }
        if self.set_start.is_empty() {
            self.set_start.extend([0, 0]);
        }
        let base = self.set_start.len() as u32 - 2;
        let shift = self.set_labels.len();
        self.set_start
            .extend(other.set_start[2..].iter().map(|e| e + shift));
        self.set_labels.extend(other.set_labels);
        for k in &mut self.label_set[range] {
            if *k != 0 {
                *k += base;
            }
        }
    }

    /// Reserves room for `samples` more samples.
    pub fn reserve(&mut self, samples: usize) {
        self.stack.reserve(samples);
        self.label_set.reserve(samples);
        self.values.reserve(samples * self.width);
    }
}

impl FromIterator<Sample> for Samples {
    fn from_iter<I: IntoIterator<Item = Sample>>(iter: I) -> Self {
        let mut out = Samples::default();
        for s in iter {
            out.push(&s);
        }
        out
    }
}

impl<'a> IntoIterator for &'a Samples {
    type Item = SampleRef<'a>;
    type IntoIter = SamplesIter<'a>;
    fn into_iter(self) -> SamplesIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Samples`].
#[derive(Debug, Clone)]
pub struct SamplesIter<'a> {
    samples: &'a Samples,
    next: usize,
}

impl<'a> Iterator for SamplesIter<'a> {
    type Item = SampleRef<'a>;
    fn next(&mut self) -> Option<SampleRef<'a>> {
        if self.next >= self.samples.len() {
            return None;
        }
        self.next += 1;
        Some(self.samples.get(self.next - 1))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.samples.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for SamplesIter<'_> {}
