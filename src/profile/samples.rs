//! The columnar sample store of a [`Profile`](super::Profile).

use super::{Label, Sample, SampleRef};

/// The samples of a profile, stored by column: all stacks in one array, all
/// values in another, with offsets per sample; labels as a table of
/// distinct label sets, one set id per sample (heap samples of one object
/// size share one set). A profile of half a million samples is a handful of
/// allocations, not millions.
///
/// Every sample has the same number of values (the profile's sample types);
/// the first sample pushed sets it. Two stores are equal when they hold the
/// same samples in the same order, however their label sets are laid out.
///
/// ```
/// use heapframe::profile::{Sample, Samples};
/// let mut s = Samples::default();
/// s.push(&Sample { locations: vec![0, 1], values: vec![5, 6], labels: vec![] }.as_ref());
/// assert_eq!(s.len(), 1);
/// assert_eq!(s.get(0).values, [5, 6]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub(super) width: usize,
    /// End of each sample's stack in `locations`.
    pub(super) loc_end: Vec<usize>,
    pub(super) locations: Vec<u32>,
    pub(super) values: Vec<i64>,
    /// Label set of each sample (index into `set_start`).
    pub(super) label_set: Vec<u32>,
    /// Set `k` is `set_labels[set_start[k]..set_start[k + 1]]`; set 0 is
    /// empty (`set_start` starts `[0, 0]` once a sample is held).
    pub(super) set_start: Vec<usize>,
    pub(super) set_labels: Vec<Label>,
}

impl PartialEq for Samples {
    fn eq(&self, other: &Samples) -> bool {
        self.len() == other.len()
            && (self.is_empty() || self.width == other.width)
            && self.locations == other.locations
            && self.loc_end == other.loc_end
            && self.values == other.values
            && (0..self.len()).all(|i| self.labels_of(i) == other.labels_of(i))
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
        self.loc_end.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.loc_end.is_empty()
    }

    /// Number of values per sample.
    pub fn width(&self) -> usize {
        self.width
    }

    fn labels_of(&self, i: usize) -> &[Label] {
        self.label_set(self.label_set[i])
    }

    /// Sample `i`.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn get(&self, i: usize) -> SampleRef<'_> {
        let l0 = if i == 0 { 0 } else { self.loc_end[i - 1] };
        SampleRef {
            locations: &self.locations[l0..self.loc_end[i]],
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
    pub fn push(&mut self, s: &SampleRef<'_>) {
        self.push_parts(s.locations, s.values, s.labels);
    }

    /// Appends a sample from its parts.
    ///
    /// # Panics
    /// When the number of values differs from the samples already held.
    pub fn push_parts(&mut self, locations: &[u32], values: &[i64], labels: &[Label]) {
        self.check_width(values.len());
        let set = self.label_set_for(labels);
        self.push_resolved(locations, values, set);
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

    fn push_resolved(&mut self, locations: &[u32], values: &[i64], set: u32) {
        self.locations.extend_from_slice(locations);
        self.loc_end.push(self.locations.len());
        self.values.extend_from_slice(values);
        self.label_set.push(set);
    }

    /// The values of sample `i`, to change them.
    pub fn values_mut(&mut self, i: usize) -> &mut [i64] {
        &mut self.values[i * self.width..(i + 1) * self.width]
    }

    /// Keeps the samples for which `keep` returns true; `keep` may change
    /// the values first. In place: nothing is reallocated.
    pub fn retain_values(&mut self, mut keep: impl FnMut(&mut [i64]) -> bool) {
        let w = self.width;
        let (mut kept, mut loc_w, mut start) = (0, 0, 0);
        for i in 0..self.len() {
            let end = self.loc_end[i];
            if keep(&mut self.values[i * w..(i + 1) * w]) {
                self.locations.copy_within(start..end, loc_w);
                loc_w += end - start;
                self.loc_end[kept] = loc_w;
                self.values.copy_within(i * w..(i + 1) * w, kept * w);
                self.label_set[kept] = self.label_set[i];
                kept += 1;
            }
            start = end;
        }
        self.locations.truncate(loc_w);
        self.loc_end.truncate(kept);
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

    /// Adds a label set for [`Samples::push_with_set`] and returns its id.
    pub fn new_label_set(&mut self, labels: &[Label]) -> u32 {
        if labels.is_empty() {
            return 0;
        }
        self.add_label_set(labels.iter().cloned())
    }

    /// Appends a sample whose labels are set `set` of this store.
    ///
    /// # Panics
    /// When the number of values differs, or `set` does not exist.
    pub fn push_with_set(&mut self, locations: &[u32], values: &[i64], set: u32) {
        self.check_width(values.len());
        assert!(
            (set as usize) < self.label_set_count(),
            "no label set {set}"
        );
        self.push_resolved(locations, values, set);
    }

    /// Appends all samples of `other`.
    ///
    /// # Panics
    /// When the widths differ and neither store is empty.
    pub fn append(&mut self, other: Samples) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = other;
            return;
        }
        assert_eq!(
            self.width, other.width,
            "appending samples of another width"
        );
        let l = self.locations.len();
        self.loc_end.extend(other.loc_end.iter().map(|e| e + l));
        self.locations.extend_from_slice(&other.locations);
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

    /// Reserves room for `samples` more samples with `frames` frames in all.
    pub fn reserve(&mut self, samples: usize, frames: usize) {
        self.loc_end.reserve(samples);
        self.label_set.reserve(samples);
        self.values.reserve(samples * self.width);
        self.locations.reserve(frames);
    }
}

impl FromIterator<Sample> for Samples {
    fn from_iter<I: IntoIterator<Item = Sample>>(iter: I) -> Self {
        let mut out = Samples::default();
        for s in iter {
            out.push(&s.as_ref());
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
