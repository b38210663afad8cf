//! The model: one place that turns wire data into trusted data.
//!
//! [`Profile`] holds a decoded profile with every string resolved and every
//! id checked: samples refer to locations by index into
//! [`Profile::locations`], lines to functions by index into
//! [`Profile::functions`], locations to mappings by index into
//! [`Profile::mappings`]. Code above this layer never sees a dangling id.
//!
//! ```
//! use heapframe::Profile;
//! # let bytes = std::fs::read("tests/data/conformance/profiles/svc.heap.2.pb.gz").unwrap();
//! let p = Profile::from_bytes(&bytes, "svc.heap.2.pb.gz").unwrap();
//! assert_eq!(p.sample_types[3].name.as_ref(), "inuse_space");
//! assert_eq!(p.default_sample_index(), 3);
//! ```

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, ProfileError, Result};
use crate::pprof::{self, ReadOptions, proto};

/// Shared, immutable text (cheap to clone).
pub type Str = Arc<str>;

/// A measured quantity, e.g. `inuse_space` in `bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValueType {
    /// The pprof "type" (`inuse_space`, `alloc_objects`, `cpu`, `goroutine`...).
    pub name: Str,
    /// The unit (`bytes`, `count`, `nanoseconds`...).
    pub unit: Str,
}

impl ValueType {
    /// `v` in this type's unit, scaled to a readable size as pprof does
    /// with `-unit=auto` (`9.57MB`, `1.50s`, `1234`).
    pub fn format(&self, v: i64) -> String {
        crate::report::units::scaled_label(v, &self.unit, "auto")
    }
}

/// The value of a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelValue {
    /// A string label (Go pprof labels, goroutine labels).
    Str(Str),
    /// A numeric label, e.g. Go's `bytes` (object size) on heap samples.
    Num {
        /// The number.
        value: i64,
        /// The unit when the profile states one (`num_unit`).
        unit: Option<Str>,
    },
}

/// A label of a sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The key.
    pub key: Str,
    /// The value.
    pub value: LabelValue,
}

/// One sample, owned: a stack and one value per sample type. Profiles store
/// samples by column ([`Samples`]); this is the form to build one with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sample {
    /// Indices into [`Profile::locations`], leaf first.
    pub locations: Vec<u32>,
    /// One value per entry of [`Profile::sample_types`].
    pub values: Vec<i64>,
    /// Labels, in file order.
    pub labels: Vec<Label>,
}

impl Sample {
    /// This sample as a borrowed view.
    pub fn as_ref(&self) -> SampleRef<'_> {
        SampleRef {
            locations: &self.locations,
            values: &self.values,
            labels: &self.labels,
        }
    }
}

/// One sample of a [`Samples`] store, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleRef<'a> {
    /// Indices into [`Profile::locations`], leaf first.
    pub locations: &'a [u32],
    /// One value per entry of [`Profile::sample_types`].
    pub values: &'a [i64],
    /// Labels, in file order.
    pub labels: &'a [Label],
}

impl<'a> SampleRef<'a> {
    /// The numeric label `key`, if present (first occurrence).
    pub fn num_label(&self, key: &str) -> Option<i64> {
        self.labels.iter().find_map(|l| match &l.value {
            LabelValue::Num { value, .. } if &*l.key == key => Some(*value),
            _ => None,
        })
    }

    /// The string label `key`, if present (first occurrence).
    pub fn str_label(&self, key: &str) -> Option<&'a Str> {
        self.labels.iter().find_map(|l| match &l.value {
            LabelValue::Str(s) if &*l.key == key => Some(s),
            _ => None,
        })
    }

    /// An owned copy.
    pub fn to_sample(&self) -> Sample {
        Sample {
            locations: self.locations.to_vec(),
            values: self.values.to_vec(),
            labels: self.labels.to_vec(),
        }
    }
}

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
    width: usize,
    /// End of each sample's stack in `locations`.
    loc_end: Vec<usize>,
    locations: Vec<u32>,
    values: Vec<i64>,
    /// Label set of each sample (index into `set_start`).
    label_set: Vec<u32>,
    /// Set `k` is `set_labels[set_start[k]..set_start[k + 1]]`; set 0 is
    /// empty (`set_start` starts `[0, 0]` once a sample is held).
    set_start: Vec<usize>,
    set_labels: Vec<Label>,
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
    fn add_label_set(&mut self, labels: impl IntoIterator<Item = Label>) -> u32 {
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
    fn take_label_sets(&mut self, other: Samples, range: std::ops::Range<usize>) {
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

/// A memory mapping of the profiled process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapping {
    /// Id as written in the profile.
    pub id: u64,
    /// Start address.
    pub memory_start: u64,
    /// End address (exclusive).
    pub memory_limit: u64,
    /// Offset in the file.
    pub file_offset: u64,
    /// The mapped file (the binary for `mappings[0]`).
    pub filename: Str,
    /// Build id of the file.
    pub build_id: Str,
    /// Locations of this mapping carry function names.
    pub has_functions: bool,
    /// Locations of this mapping carry file names.
    pub has_filenames: bool,
    /// Locations of this mapping carry line numbers.
    pub has_line_numbers: bool,
    /// Locations of this mapping carry inlined frames.
    pub has_inline_frames: bool,
}

/// A source line within a location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Line {
    /// Index into [`Profile::functions`].
    pub function: u32,
    /// Line number (0 when unknown).
    pub line: i64,
    /// Column (0 when unknown).
    pub column: i64,
}

/// A program location (one PC). Several lines mean inlining: `lines[0]` is
/// the innermost inlined callee, the last line is the function it was
/// inlined into.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// Id as written in the profile.
    pub id: u64,
    /// Index into [`Profile::mappings`].
    pub mapping: Option<u32>,
    /// Instruction address.
    pub address: u64,
    /// Source lines, innermost first.
    pub lines: Vec<Line>,
    /// The frames were folded (e.g. by a symbolizer).
    pub is_folded: bool,
}

/// A function.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Function {
    /// Id as written in the profile.
    pub id: u64,
    /// Name as shown (Go: full import path, e.g. `main.(*cache).Put`).
    pub name: Str,
    /// Name as in the symbol table.
    pub system_name: Str,
    /// Source file.
    pub filename: Str,
    /// First line of the function (Go ≥ 1.20 writes it).
    pub start_line: i64,
}

/// A decoded, validated profile. See the module documentation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// Where the profile came from (file name, URL or label), for messages.
    pub source: String,
    /// What each sample value measures.
    pub sample_types: Vec<ValueType>,
    /// The preferred sample type name ("" when unset).
    pub default_sample_type: Str,
    /// The samples.
    pub samples: Samples,
    /// Mappings; `mappings[0]` is the main binary.
    pub mappings: Vec<Mapping>,
    /// Locations.
    pub locations: Vec<Location>,
    /// Functions.
    pub functions: Vec<Function>,
    /// Regexp of frames pprof drops on load ("" when unset).
    pub drop_frames: Str,
    /// Regexp of frames kept despite `drop_frames` ("" when unset).
    pub keep_frames: Str,
    /// Collection time in nanoseconds since the epoch (0 when unset).
    pub time_nanos: i64,
    /// Collection duration in nanoseconds (0 when unset).
    pub duration_nanos: i64,
    /// The kind of events between samples.
    pub period_type: ValueType,
    /// Events between samples.
    pub period: i64,
    /// Free-form comments.
    pub comments: Vec<Str>,
    /// Documentation URL ("" when unset).
    pub doc_url: Str,
}

impl Profile {
    /// Reads a profile file (gzip or raw protobuf).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Profile> {
        Self::from_path_with(path, &ReadOptions::default())
    }

    /// Reads a profile file with explicit options.
    pub fn from_path_with(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Profile> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|e| Error::profile(&source, ProfileError::Io(e)))?;
        Self::from_reader_with(file, source, opts)
    }

    /// Decodes a profile from bytes; `source` names it in error messages.
    pub fn from_bytes(data: &[u8], source: impl Into<String>) -> Result<Profile> {
        Self::from_bytes_with(data, source, &ReadOptions::default())
    }

    /// Decodes a profile from bytes with explicit options.
    pub fn from_bytes_with(
        data: &[u8],
        source: impl Into<String>,
        opts: &ReadOptions,
    ) -> Result<Profile> {
        let source = source.into();
        match Self::from_wire(data, opts, None) {
            Ok(mut p) => {
                p.source = source;
                Ok(p)
            }
            Err(e) => Err(Error::profile(source, e)),
        }
    }

    /// Reads a profile from any reader; `source` names it in error messages.
    pub fn from_reader<R: Read>(reader: R, source: impl Into<String>) -> Result<Profile> {
        Self::from_reader_with(reader, source, &ReadOptions::default())
    }

    /// Reads a profile from any reader with explicit options.
    pub fn from_reader_with<R: Read>(
        reader: R,
        source: impl Into<String>,
        opts: &ReadOptions,
    ) -> Result<Profile> {
        let source = source.into();
        match pprof::read_bounded(reader, opts).and_then(|d| Self::from_wire(&d, opts, None)) {
            Ok(mut p) => {
                p.source = source;
                Ok(p)
            }
            Err(e) => Err(Error::profile(source, e)),
        }
    }

    /// Validates a wire message and resolves its strings and ids.
    pub fn from_proto(m: &proto::Profile) -> Result<Profile, ProfileError> {
        let strings: Vec<&[u8]> = m.string_table.iter().map(|v| &v[..]).collect();
        Self::from_parts(m, &strings, SampleInput::Decoded(&m.sample), true)
            .map_err(Stop::into_error)
    }

    /// The profile without its samples, from a split wire message: what a
    /// report that reads samples straight from the bytes needs.
    pub(crate) fn header_of(split: &pprof::wire::Split<'_>) -> Result<Profile, ProfileError> {
        let input = SampleInput::Encoded {
            samples: &[],
            threads: None,
        };
        Self::from_parts(&split.rest, &split.strings, input, false).map_err(Stop::into_error)
    }

    /// Decodes with the samples read by exactly `threads` threads (tests).
    #[doc(hidden)]
    pub fn from_bytes_threads(data: &[u8], threads: usize) -> Result<Profile, ProfileError> {
        Self::from_wire(data, &ReadOptions::default(), Some(threads))
    }

    /// Decodes raw (decompressed) protobuf bytes with the direct sample
    /// reader ([`pprof::wire`]), reading samples on `threads` threads (by
    /// default as many as pay off); what that reader leaves to prost is
    /// decoded with prost.
    fn from_wire(
        data: &[u8],
        opts: &ReadOptions,
        threads: Option<usize>,
    ) -> Result<Profile, ProfileError> {
        let raw = pprof::checked_raw(data, opts)?;
        let Some(split) = pprof::wire::split(&raw) else {
            return Self::from_proto(&pprof::decode_raw(&raw)?);
        };
        if split.time_fields > 1 {
            return Err(ProfileError::Concatenated);
        }
        let input = SampleInput::Encoded {
            samples: &split.samples,
            threads,
        };
        match Self::from_parts(&split.rest, &split.strings, input, true) {
            Ok(p) => Ok(p),
            Err(Stop::Invalid(e)) => Err(e),
            Err(Stop::Prost) => Self::from_proto(&pprof::decode_raw(&raw)?),
        }
    }

    fn from_parts(
        m: &proto::Profile,
        string_table: &[&[u8]],
        input: SampleInput<'_>,
        eager_strings: bool,
    ) -> Result<Profile, Stop> {
        let strings = Strings::new(string_table, eager_strings)?;
        let s = |field: &dyn Fn() -> String, index: i64| strings.get(field, index);
        let vt = |what: &str, v: &proto::ValueType| -> Result<ValueType, ProfileError> {
            Ok(ValueType {
                name: s(&|| format!("{what}.type"), v.r#type)?,
                unit: s(&|| format!("{what}.unit"), v.unit)?,
            })
        };

        let sample_types = m
            .sample_type
            .iter()
            .enumerate()
            .map(|(i, v)| vt(&format!("sample_type[{i}]"), v))
            .collect::<Result<Vec<_>, _>>()?;
        if sample_types.is_empty() {
            return Err(ProfileError::NoSampleTypes.into());
        }

        let mappings = m
            .mapping
            .iter()
            .enumerate()
            .map(|(i, mp)| {
                Ok(Mapping {
                    id: mp.id,
                    memory_start: mp.memory_start,
                    memory_limit: mp.memory_limit,
                    file_offset: mp.file_offset,
                    filename: s(&|| format!("mapping[{i}].filename"), mp.filename)?,
                    build_id: s(&|| format!("mapping[{i}].build_id"), mp.build_id)?,
                    has_functions: mp.has_functions,
                    has_filenames: mp.has_filenames,
                    has_line_numbers: mp.has_line_numbers,
                    has_inline_frames: mp.has_inline_frames,
                })
            })
            .collect::<Result<Vec<_>, ProfileError>>()?;
        let mapping_ix = IdIndex::new("mapping", mappings.iter().map(|m| m.id))?;

        let functions = m
            .function
            .iter()
            .enumerate()
            .map(|(i, f)| {
                Ok(Function {
                    id: f.id,
                    name: s(&|| format!("function[{i}].name"), f.name)?,
                    system_name: s(&|| format!("function[{i}].system_name"), f.system_name)?,
                    filename: s(&|| format!("function[{i}].filename"), f.filename)?,
                    start_line: f.start_line,
                })
            })
            .collect::<Result<Vec<_>, ProfileError>>()?;
        let function_ix = IdIndex::new("function", functions.iter().map(|f| f.id))?;

        let mut locations = Vec::with_capacity(m.location.len());
        for l in &m.location {
            let mapping = if l.mapping_id == 0 {
                None
            } else {
                Some(
                    mapping_ix
                        .get(l.mapping_id)
                        .ok_or(ProfileError::DanglingMapping {
                            location: l.id,
                            id: l.mapping_id,
                        })?,
                )
            };
            let lines = l
                .line
                .iter()
                .map(|ln| {
                    Ok(Line {
                        function: function_ix.get(ln.function_id).ok_or(
                            ProfileError::DanglingFunction {
                                location: l.id,
                                id: ln.function_id,
                            },
                        )?,
                        line: ln.line,
                        column: ln.column,
                    })
                })
                .collect::<Result<Vec<_>, ProfileError>>()?;
            locations.push(Location {
                id: l.id,
                mapping,
                address: l.address,
                lines,
                is_folded: l.is_folded,
            });
        }
        let resolver = SampleResolver {
            strings: &strings,
            locations: IdIndex::new("location", locations.iter().map(|l| l.id))?,
            want: sample_types.len(),
        };
        let samples = match input {
            SampleInput::Decoded(list) => resolver.decoded(list)?,
            SampleInput::Encoded { samples, threads } => {
                // A thread pays off from some ten thousand samples on.
                const PER_THREAD: usize = 16 * 1024;
                let threads = threads
                    .unwrap_or_else(|| worker_threads().min(samples.len() / PER_THREAD))
                    .max(1);
                resolver.read_all(samples, threads)?
            }
        };

        let period_type = match &m.period_type {
            Some(v) => vt("period_type", v)?,
            None => ValueType::default(),
        };
        let comments = m
            .comment
            .iter()
            .enumerate()
            .map(|(i, &c)| s(&|| format!("comment[{i}]"), c))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Profile {
            source: String::new(),
            sample_types,
            default_sample_type: s(&|| "default_sample_type".into(), m.default_sample_type)?,
            samples,
            mappings,
            locations,
            functions,
            drop_frames: s(&|| "drop_frames".into(), m.drop_frames)?,
            keep_frames: s(&|| "keep_frames".into(), m.keep_frames)?,
            time_nanos: m.time_nanos,
            duration_nanos: m.duration_nanos,
            period_type,
            period: m.period,
            comments,
            doc_url: s(&|| "doc_url".into(), m.doc_url)?,
        })
    }

    /// Encodes the profile back into a wire message (a fresh string table).
    pub fn to_proto(&self) -> proto::Profile {
        let mut t = StringTable::default();
        let sample_type = self
            .sample_types
            .iter()
            .map(|v| proto::ValueType {
                r#type: t.index(&v.name),
                unit: t.index(&v.unit),
            })
            .collect();
        let period_type = Some(proto::ValueType {
            r#type: t.index(&self.period_type.name),
            unit: t.index(&self.period_type.unit),
        });
        let sample = self
            .samples
            .iter()
            .map(|sm| proto::Sample {
                location_id: sm
                    .locations
                    .iter()
                    .map(|&l| self.locations[l as usize].id)
                    .collect(),
                value: sm.values.to_vec(),
                label: sm
                    .labels
                    .iter()
                    .map(|l| match &l.value {
                        LabelValue::Str(v) => proto::Label {
                            key: t.index(&l.key),
                            str: t.index_set(v),
                            ..Default::default()
                        },
                        LabelValue::Num { value, unit } => proto::Label {
                            key: t.index(&l.key),
                            num: *value,
                            num_unit: unit.as_ref().map_or(0, |u| t.index_set(u)),
                            ..Default::default()
                        },
                    })
                    .collect(),
            })
            .collect();
        let mapping = self
            .mappings
            .iter()
            .map(|m| proto::Mapping {
                id: m.id,
                memory_start: m.memory_start,
                memory_limit: m.memory_limit,
                file_offset: m.file_offset,
                filename: t.index(&m.filename),
                build_id: t.index(&m.build_id),
                has_functions: m.has_functions,
                has_filenames: m.has_filenames,
                has_line_numbers: m.has_line_numbers,
                has_inline_frames: m.has_inline_frames,
            })
            .collect();
        let location = self
            .locations
            .iter()
            .map(|l| proto::Location {
                id: l.id,
                mapping_id: l.mapping.map_or(0, |m| self.mappings[m as usize].id),
                address: l.address,
                line: l
                    .lines
                    .iter()
                    .map(|ln| proto::Line {
                        function_id: self.functions[ln.function as usize].id,
                        line: ln.line,
                        column: ln.column,
                    })
                    .collect(),
                is_folded: l.is_folded,
            })
            .collect();
        let function = self
            .functions
            .iter()
            .map(|f| proto::Function {
                id: f.id,
                name: t.index(&f.name),
                system_name: t.index(&f.system_name),
                filename: t.index(&f.filename),
                start_line: f.start_line,
            })
            .collect();
        let comment = self.comments.iter().map(|c| t.index_set(c)).collect();
        proto::Profile {
            sample_type,
            sample,
            mapping,
            location,
            function,
            drop_frames: t.index(&self.drop_frames),
            keep_frames: t.index(&self.keep_frames),
            time_nanos: self.time_nanos,
            duration_nanos: self.duration_nanos,
            period_type,
            period: self.period,
            comment,
            default_sample_type: t.index(&self.default_sample_type),
            doc_url: t.index(&self.doc_url),
            string_table: t.strings,
        }
    }

    /// The sample type pprof shows when none is asked for: the one named by
    /// `default_sample_type` if it exists, else the last one.
    pub fn default_sample_index(&self) -> usize {
        if !self.default_sample_type.is_empty()
            && let Some(i) = self
                .sample_types
                .iter()
                .position(|t| t.name == self.default_sample_type)
        {
            return i;
        }
        self.sample_types.len() - 1
    }

    /// Resolves a sample index as `go tool pprof -sample_index` does: `None`
    /// or "" for the default, a number for a position, else a type name
    /// (`inuse_space` also matches a type named `space`).
    pub fn sample_index(&self, spec: Option<&str>) -> Result<usize> {
        let spec = match spec {
            None | Some("") => return Ok(self.default_sample_index()),
            Some(s) => s,
        };
        let names = || {
            self.sample_types
                .iter()
                .map(|t| t.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Ok(i) = spec.parse::<i64>() {
            if i < 0 || i as usize >= self.sample_types.len() {
                return Err(Error::Option(format!(
                    "{}: sample index {spec} is outside the range 0..={} ({})",
                    self.source,
                    self.sample_types.len() - 1,
                    names()
                )));
            }
            return Ok(i as usize);
        }
        let no_inuse = spec.strip_prefix("inuse_").unwrap_or(spec);
        self.sample_types
            .iter()
            .position(|t| &*t.name == spec || &*t.name == no_inuse)
            .ok_or_else(|| {
                Error::Option(format!(
                    "{}: no sample type {spec:?}; this profile has: {}",
                    self.source,
                    names()
                ))
            })
    }

    /// The name of the file this profile describes: `mappings[0]`'s file.
    pub fn main_binary(&self) -> Option<&Mapping> {
        self.mappings.first()
    }
}

/// Why the direct reader stopped: the profile is invalid, or its bytes are
/// something the direct reader leaves to prost.
enum Stop {
    Invalid(ProfileError),
    Prost,
}

impl From<ProfileError> for Stop {
    fn from(e: ProfileError) -> Stop {
        Stop::Invalid(e)
    }
}

impl Stop {
    /// The error, for paths that never leave anything to prost.
    fn into_error(self) -> ProfileError {
        match self {
            Stop::Invalid(e) => e,
            Stop::Prost => {
                ProfileError::Decode("the direct reader stopped on decoded input".into())
            }
        }
    }
}

/// Where the samples of a profile come from.
enum SampleInput<'a> {
    /// Already decoded by prost.
    Decoded(&'a [proto::Sample]),
    /// Encoded `Sample` messages, read directly on `threads` threads
    /// (`None`: as many as pay off).
    Encoded {
        samples: &'a [&'a [u8]],
        threads: Option<usize>,
    },
}

/// The string table, as shared text.
struct Strings<'a> {
    raw: &'a [&'a [u8]],
    /// Every string, converted once; empty when the strings are converted
    /// as they are asked for (a header needs only a few of them).
    table: Vec<Str>,
    empty: Str,
}

impl<'a> Strings<'a> {
    fn new(raw: &'a [&'a [u8]], eager: bool) -> Result<Strings<'a>, ProfileError> {
        if let Some(first) = raw.first()
            && !first.is_empty()
        {
            return Err(ProfileError::StringTableStart(
                String::from_utf8_lossy(first).into_owned(),
            ));
        }
        let table = if eager {
            raw.iter()
                .map(|b| Str::from(String::from_utf8_lossy(b)))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Strings {
            raw,
            table,
            empty: Str::from(""),
        })
    }

    /// String `index`; `field` names the referring field in the error.
    fn get(&self, field: &dyn Fn() -> String, index: i64) -> Result<Str, ProfileError> {
        if index == 0 {
            return Ok(self.empty.clone());
        }
        match usize::try_from(index).ok().filter(|&i| i < self.raw.len()) {
            Some(i) if self.table.is_empty() => Ok(Str::from(String::from_utf8_lossy(self.raw[i]))),
            Some(i) => Ok(self.table[i].clone()),
            None => Err(ProfileError::StringIndex {
                field: field(),
                index,
                len: self.raw.len(),
            }),
        }
    }
}

/// What a location sink remembers of the previous sample to skip decoding
/// again what it shares with the next. Consecutive stacks of one process
/// often share a long path from the root, which the encoding puts last:
/// when a sample's ids are one packed run, as every writer makes them, the
/// bytes its run has in common at the end with the previous sample's run
/// need not be decoded, their locations are copied.
#[derive(Default)]
struct RunTail<'b> {
    /// The previous sample's ids when they were exactly one packed run
    /// (empty otherwise).
    prev_run: &'b [u8],
    /// This sample's packed run, while it is its only source of ids.
    run: Option<&'b [u8]>,
}

impl<'b> RunTail<'b> {
    fn next_sample(&mut self) {
        self.prev_run = self.run.take().unwrap_or_default();
    }

    /// An id outside a packed run: this sample's stack is not one run.
    fn loose(&mut self) {
        self.run = None;
    }

    /// A packed run begins; `first` when the sample has no id yet. Returns
    /// how many bytes at its end, holding how many ids, repeat the end of
    /// the previous sample's stack.
    #[inline]
    fn begin(&mut self, packed: &'b [u8], first: bool) -> (usize, usize) {
        let prev = std::mem::take(&mut self.prev_run);
        self.run = if first { Some(packed) } else { None };
        if !first || prev.is_empty() {
            return (0, 0);
        }
        let max = packed.len().min(prev.len());
        let mut n = common_suffix(&packed[packed.len() - max..], &prev[prev.len() - max..]);
        // The shared bytes must start a varint in both runs.
        while n > 0 {
            let (j, pj) = (packed.len() - n, prev.len() - n);
            if (j == 0 || packed[j - 1] < 0x80) && (pj == 0 || prev[pj - 1] < 0x80) {
                break;
            }
            n -= 1;
        }
        let ids = packed[packed.len() - n..]
            .iter()
            .filter(|&&b| b < 0x80)
            .count();
        (n, ids)
    }

    /// Reads a packed run: hands the ids it does not share with the
    /// previous run to `resolve`, and returns how many ids at its end
    /// repeat the last ids of the previous sample's stack (the caller
    /// copies those); `None` for a bad varint.
    #[inline]
    fn read_run(
        &mut self,
        packed: &'b [u8],
        first: bool,
        mut resolve: impl FnMut(u64),
    ) -> Option<usize> {
        let (tail, tail_ids) = self.begin(packed, first);
        let head = &packed[..packed.len() - tail];
        let mut i = 0;
        while i < head.len() {
            let (id, n) = pprof::wire::varint_at(head, i)?;
            i += n;
            resolve(id);
        }
        Some(tail_ids)
    }
}

/// How many bytes at the end of `a` and `b` (of equal length) are equal;
/// eight at a time.
#[inline]
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let (a, b) = (&a[a.len() - len..], &b[b.len() - len..]);
    let mut n = 0;
    while n + 8 <= len {
        let word = |s: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&s[len - n - 8..len - n]);
            u64::from_le_bytes(w)
        };
        let diff = word(a) ^ word(b);
        if diff != 0 {
            // The highest differing byte is the last one in memory.
            return n + (diff.leading_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < len && a[len - 1 - n] == b[len - 1 - n] {
        n += 1;
    }
    n
}

/// Resolves location ids into indices as they are read, sample after
/// sample, into a list per sample (see [`RunTail`]).
pub(crate) struct Resolve<'a, 'b> {
    /// The locations of the sample being read, leaf first.
    pub(crate) locs: Vec<u32>,
    /// Those of the previous sample.
    prev: Vec<u32>,
    tail: RunTail<'b>,
    ix: &'a IdIndex,
    /// The first id that resolved to no location.
    pub(crate) dangling: Option<u64>,
}

impl<'a, 'b> Resolve<'a, 'b> {
    pub(crate) fn new(ix: &'a IdIndex) -> Self {
        Resolve {
            locs: Vec::new(),
            prev: Vec::new(),
            tail: RunTail::default(),
            ix,
            dangling: None,
        }
    }

    /// Starts the next sample.
    pub(crate) fn next_sample(&mut self) {
        self.tail.next_sample();
        std::mem::swap(&mut self.locs, &mut self.prev);
        self.locs.clear();
    }

    #[inline(always)]
    fn resolve(&mut self, id: u64) {
        match self.ix.get(id) {
            Some(l) => self.locs.push(l),
            None => {
                self.dangling.get_or_insert(id);
            }
        }
    }
}

impl<'b> pprof::wire::LocationSink<'b> for Resolve<'_, 'b> {
    #[inline(always)]
    fn push(&mut self, id: u64) {
        self.tail.loose();
        self.resolve(id);
    }
    /// The hot loop of reading stacks.
    #[inline]
    fn push_packed(&mut self, packed: &'b [u8]) -> Option<()> {
        let first = self.locs.is_empty() && self.dangling.is_none();
        let (ix, locs, dangling) = (self.ix, &mut self.locs, &mut self.dangling);
        let tail_ids = self.tail.read_run(packed, first, |id| match ix.get(id) {
            Some(l) => locs.push(l),
            None => {
                dangling.get_or_insert(id);
            }
        })?;
        let from = self.prev.len().checked_sub(tail_ids)?;
        self.locs.extend_from_slice(&self.prev[from..]);
        Some(())
    }
}

/// Which label set of a [`Samples`] each wire label list became.
type LabelSets = HashMap<Vec<proto::Label>, u32, std::hash::BuildHasherDefault<FastHasher>>;

/// FxHash-style hasher for small integer keys (not for untrusted
/// adversarial keys in a long-lived map; here it lives for one read).
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut w = [0u8; 8];
            w[..tail.len()].copy_from_slice(tail);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// Turns wire samples into model samples.
struct SampleResolver<'a> {
    strings: &'a Strings<'a>,
    locations: IdIndex,
    want: usize,
}

impl SampleResolver<'_> {
    /// Resolves one wire sample and appends it to `out`. `sets` remembers
    /// which label set of `out` each wire label list became.
    fn sample(
        &self,
        out: &mut Samples,
        sets: &mut LabelSets,
        si: usize,
        location_ids: &[u64],
        values: &[i64],
        labels: &[proto::Label],
    ) -> Result<(), ProfileError> {
        if values.len() != self.want {
            return Err(ProfileError::ValueCount {
                sample: si,
                got: values.len(),
                want: self.want,
            });
        }
        out.locations.reserve(location_ids.len());
        for &id in location_ids {
            match self.locations.get(id) {
                Some(l) => out.locations.push(l),
                None => return Err(ProfileError::DanglingLocation { sample: si, id }),
            }
        }
        let set = self.label_set(out, sets, si, labels)?;
        out.loc_end.push(out.locations.len());
        out.label_set.push(set);
        out.values.extend_from_slice(values);
        Ok(())
    }

    /// The label set of `store` for the wire labels of sample `si`.
    fn label_set(
        &self,
        store: &mut Samples,
        cache: &mut LabelSets,
        si: usize,
        labels: &[proto::Label],
    ) -> Result<u32, ProfileError> {
        if labels.is_empty() {
            return Ok(0);
        }
        if let Some(&k) = cache.get(labels) {
            return Ok(k);
        }
        let resolved = self.labels(si, labels)?;
        let k = if resolved.is_empty() {
            0
        } else {
            store.add_label_set(resolved)
        };
        cache.insert(labels.to_vec(), k);
        Ok(k)
    }

    /// Resolves the labels of sample `si`.
    fn labels(&self, si: usize, labels: &[proto::Label]) -> Result<Vec<Label>, ProfileError> {
        let s = |field: &dyn Fn() -> String, index: i64| self.strings.get(field, index);
        let mut out = Vec::with_capacity(labels.len());
        for (li, l) in labels.iter().enumerate() {
            let key = s(&|| format!("sample[{si}].label[{li}].key"), l.key)?;
            let value = if l.str != 0 {
                LabelValue::Str(s(&|| format!("sample[{si}].label[{li}].str"), l.str)?)
            } else if l.num != 0 || l.num_unit != 0 {
                let unit = if l.num_unit != 0 {
                    Some(s(
                        &|| format!("sample[{si}].label[{li}].num_unit"),
                        l.num_unit,
                    )?)
                } else {
                    None
                };
                LabelValue::Num { value: l.num, unit }
            } else {
                // pprof drops a label with neither a string nor a number.
                continue;
            };
            out.push(Label { key, value });
        }
        Ok(out)
    }

    /// Resolves decoded samples.
    fn decoded(&self, list: &[proto::Sample]) -> Result<Samples, ProfileError> {
        let mut out = Samples::with_width(self.want);
        let mut sets = LabelSets::default();
        out.reserve(list.len(), list.iter().map(|s| s.location_id.len()).sum());
        for (si, sm) in list.iter().enumerate() {
            self.sample(
                &mut out,
                &mut sets,
                si,
                &sm.location_id,
                &sm.value,
                &sm.label,
            )?;
        }
        Ok(out)
    }

    /// Reads all encoded samples, on several threads when there are many.
    ///
    /// A first pass counts the frames of each share of the samples, so that
    /// every column is allocated once at its final size and each thread
    /// writes its own part of it: nothing is copied afterwards.
    fn read_all(&self, list: &[&[u8]], threads: usize) -> Result<Samples, Stop> {
        let chunk = list.len().div_ceil(threads.max(1)).max(1);
        let shares: Vec<&[&[u8]]> = list.chunks(chunk).collect();
        let count = |part: &[&[u8]]| -> Option<usize> {
            part.iter()
                .try_fold(0usize, |n, b| Some(n + pprof::wire::count_locations(b)?))
        };
        let counts: Vec<Option<usize>> = if shares.len() == 1 {
            shares.iter().map(|p| count(p)).collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = shares
                    .iter()
                    .map(|&p| scope.spawn(move || count(p)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        let Some(counts) = counts.into_iter().collect::<Option<Vec<usize>>>() else {
            // A sample this reader does not read: prost decides.
            return Err(Stop::Prost);
        };
        let total: usize = counts.iter().sum();
        let (n, w) = (list.len(), self.want);
        let mut out = Samples::with_width(w);
        out.locations = vec![0; total];
        out.loc_end = vec![0; n];
        out.values = vec![0; n * w];
        out.label_set = vec![0; n];

        let mut jobs = Vec::with_capacity(shares.len());
        {
            let (mut locs, mut ends, mut vals, mut sets) = (
                &mut out.locations[..],
                &mut out.loc_end[..],
                &mut out.values[..],
                &mut out.label_set[..],
            );
            let (mut first, mut loc_base) = (0, 0);
            for (part, &c) in shares.iter().zip(&counts) {
                let k = part.len();
                let (l, lr) = std::mem::take(&mut locs).split_at_mut(c);
                let (e, er) = std::mem::take(&mut ends).split_at_mut(k);
                let (v, vr) = std::mem::take(&mut vals).split_at_mut(k * w);
                let (s, sr) = std::mem::take(&mut sets).split_at_mut(k);
                (locs, ends, vals, sets) = (lr, er, vr, sr);
                jobs.push(Share {
                    first,
                    list: part,
                    loc_base,
                    locs: l,
                    loc_end: e,
                    values: v,
                    label_set: s,
                });
                first += k;
                loc_base += c;
            }
        }
        let results: Vec<Result<Samples, Stop>> = if jobs.len() == 1 {
            jobs.into_iter().map(|j| self.read_share(j)).collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = jobs
                    .into_iter()
                    .map(|j| scope.spawn(move || self.read_share(j)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        // The first error in sample order wins, as in a sequential read.
        // Each share numbered its own label sets: they follow one another.
        let mut first = 0;
        for (r, part) in results.into_iter().zip(&shares) {
            out.take_label_sets(r?, first..first + part.len());
            first += part.len();
        }
        Ok(out)
    }

    /// Reads one share of the samples into its parts of the columns;
    /// returns its label sets (numbered from 1, in a store of no samples).
    fn read_share(&self, sh: Share<'_>) -> Result<Samples, Stop> {
        let mut reader = pprof::wire::SampleReader::default();
        let mut cache = LabelSets::default();
        let mut sets = Samples::default();
        let w = self.want;
        let mut sink = FillResolve {
            locs: sh.locs,
            pos: 0,
            start: 0,
            prev_start: 0,
            tail: RunTail::default(),
            ix: &self.locations,
            dangling: None,
        };
        for (i, buf) in sh.list.iter().enumerate() {
            let si = sh.first + i;
            sink.next_sample();
            reader.read_with(buf, &mut sink).ok_or(Stop::Prost)?;
            if let Some(id) = sink.dangling {
                return Err(Stop::Invalid(ProfileError::DanglingLocation {
                    sample: si,
                    id,
                }));
            }
            let pos = sink.pos;
            if reader.values.len() != w {
                return Err(Stop::Invalid(ProfileError::ValueCount {
                    sample: si,
                    got: reader.values.len(),
                    want: w,
                }));
            }
            sh.values[i * w..(i + 1) * w].copy_from_slice(&reader.values);
            sh.loc_end[i] = sh.loc_base + pos;
            sh.label_set[i] = self.label_set(&mut sets, &mut cache, si, &reader.labels)?;
        }
        if sink.pos != sink.locs.len() {
            // The counting pass and the read disagree: leave it to prost.
            return Err(Stop::Prost);
        }
        Ok(sets)
    }
}

/// One thread's share of the samples and of the columns they fill.
struct Share<'s> {
    first: usize,
    list: &'s [&'s [u8]],
    loc_base: usize,
    locs: &'s mut [u32],
    loc_end: &'s mut [usize],
    values: &'s mut [i64],
    label_set: &'s mut [u32],
}

/// Resolves location ids into a slice sized by
/// [`pprof::wire::count_locations`], sample after sample (see [`RunTail`]).
struct FillResolve<'a, 'b> {
    locs: &'a mut [u32],
    pos: usize,
    /// Where the current and the previous sample's locations start.
    start: usize,
    prev_start: usize,
    tail: RunTail<'b>,
    ix: &'a IdIndex,
    dangling: Option<u64>,
}

impl FillResolve<'_, '_> {
    fn next_sample(&mut self) {
        self.tail.next_sample();
        self.prev_start = self.start;
        self.start = self.pos;
    }

    #[inline(always)]
    fn resolve(&mut self, id: u64) {
        fill(self.ix, self.locs, &mut self.pos, &mut self.dangling, id);
    }
}

/// Puts the location of `id` at `locs[*pos]`, or notes it as dangling.
#[inline(always)]
fn fill(ix: &IdIndex, locs: &mut [u32], pos: &mut usize, dangling: &mut Option<u64>, id: u64) {
    match ix.get(id) {
        // The count pass and the read walk the same bytes, so the slice has
        // room; a mismatch would only drop ids of a bad sample.
        Some(l) => {
            if let Some(slot) = locs.get_mut(*pos) {
                *slot = l;
                *pos += 1;
            }
        }
        None => {
            dangling.get_or_insert(id);
        }
    }
}

impl<'b> pprof::wire::LocationSink<'b> for FillResolve<'_, 'b> {
    #[inline(always)]
    fn push(&mut self, id: u64) {
        self.tail.loose();
        self.resolve(id);
    }
    #[inline]
    fn push_packed(&mut self, packed: &'b [u8]) -> Option<()> {
        let first = self.pos == self.start && self.dangling.is_none();
        let (ix, locs, pos, dangling) =
            (self.ix, &mut *self.locs, &mut self.pos, &mut self.dangling);
        let tail_ids = self
            .tail
            .read_run(packed, first, |id| fill(ix, locs, pos, dangling, id))?;
        // The previous sample's stack ends where this one started.
        let prev_end = self.start;
        if tail_ids > 0 {
            // The previous stack holds the ids, and the slice has room,
            // unless the sample is bad: then leave it to prost.
            if tail_ids > prev_end - self.prev_start || self.pos + tail_ids > self.locs.len() {
                return None;
            }
            self.locs
                .copy_within(prev_end - tail_ids..prev_end, self.pos);
            self.pos += tail_ids;
        }
        Some(())
    }
}

/// Threads worth using for one job on this machine: the available cores, at
/// most 8, or `HEAPFRAME_THREADS` when set (1 turns parallelism off).
pub(crate) fn worker_threads() -> usize {
    if let Some(n) = std::env::var("HEAPFRAME_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return n.max(1);
    }
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

/// Builds a string table for encoding.
struct StringTable {
    strings: Vec<Vec<u8>>,
    index: HashMap<Str, i64>,
    /// A second "" entry, for fields where index 0 would mean "unset".
    empty_set: Option<i64>,
}

impl Default for StringTable {
    fn default() -> Self {
        StringTable {
            strings: vec![Vec::new()],
            index: HashMap::new(),
            empty_set: None,
        }
    }
}

impl StringTable {
    fn index(&mut self, v: &Str) -> i64 {
        if v.is_empty() {
            return 0;
        }
        if let Some(&i) = self.index.get(v) {
            return i;
        }
        self.strings.push(v.as_bytes().to_vec());
        let i = self.strings.len() as i64 - 1;
        self.index.insert(v.clone(), i);
        i
    }

    /// Like `index`, but never 0: the field is set even when the text is empty.
    fn index_set(&mut self, v: &Str) -> i64 {
        if !v.is_empty() {
            return self.index(v);
        }
        if let Some(i) = self.empty_set {
            return i;
        }
        self.strings.push(Vec::new());
        let i = self.strings.len() as i64 - 1;
        self.empty_set = Some(i);
        i
    }
}

/// Maps ids to dense indices, rejecting id 0 and duplicates.
pub(crate) struct IdIndex {
    dense: Vec<u32>, // id -> index + 1 (0 = absent), used when ids are small
    sparse: HashMap<u64, u32>,
}

impl IdIndex {
    pub(crate) fn new(
        what: &'static str,
        ids: impl ExactSizeIterator<Item = u64>,
    ) -> Result<Self, ProfileError> {
        let n = ids.len();
        let mut ix = IdIndex {
            dense: vec![0; n + 1],
            sparse: HashMap::new(),
        };
        for (i, id) in ids.enumerate() {
            if id == 0 {
                return Err(ProfileError::ZeroId { what });
            }
            let dup = if id <= n as u64 {
                std::mem::replace(&mut ix.dense[id as usize], i as u32 + 1) != 0
            } else {
                ix.sparse.insert(id, i as u32).is_some()
            };
            if dup {
                return Err(ProfileError::DuplicateId { what, id });
            }
        }
        Ok(ix)
    }

    #[inline(always)]
    pub(crate) fn get(&self, id: u64) -> Option<u32> {
        if id < self.dense.len() as u64 {
            match self.dense[id as usize] {
                0 => None,
                v => Some(v - 1),
            }
        } else {
            self.sparse.get(&id).copied()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_suffix_counts_equal_bytes_from_the_end() {
        let a: Vec<u8> = (0..40).collect();
        for len in 0..=40 {
            for differ in 0..len {
                let mut b = a[40 - len..].to_vec();
                b[differ] ^= 0x55;
                assert_eq!(common_suffix(&a[40 - len..], &b), len - 1 - differ);
            }
            assert_eq!(common_suffix(&a[40 - len..], &a[40 - len..]), len);
        }
    }

    #[test]
    fn resolve_takes_over_shared_tails_exactly() {
        use pprof::wire::{LocationSink, SampleReader};
        use prost::Message;
        // Ids of one to three bytes, dense and sparse, and stacks that share
        // tails of every length with the stack before, including tails whose
        // first byte is the end of a longer varint.
        let ids: Vec<u64> = (1..=400)
            .chain([70_000, 2_000_000, u64::MAX >> 1])
            .collect();
        let ix = IdIndex::new("location", ids.iter().copied()).unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut stacks: Vec<Vec<u64>> = Vec::new();
        for _ in 0..3000 {
            let mut st: Vec<u64> = match stacks.last() {
                Some(prev) if next(4) != 0 => {
                    let keep = next(prev.len() as u64 + 1) as usize;
                    prev[prev.len() - keep..].to_vec()
                }
                _ => Vec::new(),
            };
            for _ in 0..next(6) {
                st.insert(0, ids[next(ids.len() as u64) as usize]);
            }
            stacks.push(st);
        }
        // Mostly one packed run per sample; now and then unpacked ids, two
        // runs, or an id that resolves to nothing.
        let mut encoded: Vec<Vec<u8>> = Vec::new();
        for (i, st) in stacks.iter().enumerate() {
            let mut run = Vec::new();
            for &id in st {
                prost::encoding::encode_varint(id, &mut run);
            }
            let mut msg = Vec::new();
            match i % 37 {
                5 => {
                    for &id in st {
                        msg.push(0x08);
                        prost::encoding::encode_varint(id, &mut msg);
                    }
                }
                11 if !st.is_empty() => {
                    let mut a = Vec::new();
                    prost::encoding::encode_varint(st[0], &mut a);
                    for part in [&a[..], &run[a.len()..]] {
                        msg.push(0x0a);
                        prost::encoding::encode_varint(part.len() as u64, &mut msg);
                        msg.extend_from_slice(part);
                    }
                }
                _ => {
                    msg.push(0x0a);
                    prost::encoding::encode_varint(run.len() as u64, &mut msg);
                    msg.extend_from_slice(&run);
                }
            }
            encoded.push(msg);
        }
        let mut reader = SampleReader::default();
        let mut sink = Resolve::new(&ix);
        for (st, msg) in stacks.iter().zip(&encoded) {
            sink.next_sample();
            reader.read_with(msg, &mut sink).unwrap();
            let want: Vec<u32> = st.iter().map(|&id| ix.get(id).unwrap()).collect();
            assert_eq!(sink.locs, want);
            assert_eq!(sink.dangling, None);
        }
        // The model's reader, on one thread or several, fills its columns
        // the same way.
        let mut bytes = proto::Profile {
            sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
            location: ids
                .iter()
                .map(|&id| proto::Location {
                    id,
                    ..Default::default()
                })
                .collect(),
            string_table: vec![b"".to_vec(), b"a".to_vec(), b"b".to_vec()],
            ..Default::default()
        }
        .encode_to_vec();
        for msg in &encoded {
            let mut m = msg.clone();
            m.extend_from_slice(&[0x10, 0x01]);
            bytes.push(0x12);
            prost::encoding::encode_varint(m.len() as u64, &mut bytes);
            bytes.extend_from_slice(&m);
        }
        for threads in [1, 2, 3] {
            let p = Profile::from_bytes_threads(&bytes, threads).unwrap();
            assert_eq!(p.samples.len(), stacks.len());
            for (i, st) in stacks.iter().enumerate() {
                let got: Vec<u64> = p
                    .samples
                    .get(i)
                    .locations
                    .iter()
                    .map(|&l| p.locations[l as usize].id)
                    .collect();
                assert_eq!(&got, st, "sample {i}, {threads} threads");
            }
        }
        // A dangling id is reported, whatever came before.
        let mut bad = vec![0x0a, 2];
        prost::encoding::encode_varint(401, &mut bad);
        sink.next_sample();
        let _ = sink.push_packed(&bad[2..]);
        assert_eq!(sink.dangling, Some(401));
    }

    fn label(k: &str, v: i64) -> Label {
        Label {
            key: Str::from(k),
            value: LabelValue::Num {
                value: v,
                unit: None,
            },
        }
    }

    fn sample(locs: &[u32], v: i64, labels: Vec<Label>) -> Sample {
        Sample {
            locations: locs.to_vec(),
            values: vec![v, -v],
            labels,
        }
    }

    #[test]
    fn samples_store_push_get_retain_append() {
        let a = sample(&[1, 2, 3], 5, vec![label("bytes", 8)]);
        let b = sample(&[], 0, vec![]);
        let c = sample(&[4], 7, vec![label("bytes", 8)]);
        let d = sample(&[5, 6], 9, vec![label("bytes", 16), label("x", 1)]);
        let mut s: Samples = [a.clone(), b.clone(), c.clone()].into_iter().collect();
        assert_eq!(s.len(), 3);
        assert_eq!(s.width(), 2);
        assert_eq!(s.get(0), a.as_ref());
        assert_eq!(s.get(1), b.as_ref());
        assert_eq!(s.get(2), c.as_ref());
        // a and c share a label set; b has none.
        assert_eq!(s.label_set_id(1), 0);
        assert_eq!(s.label_set_id(0), s.label_set_id(2));

        let mut t: Samples = [d.clone()].into_iter().collect();
        t.push(&a.as_ref());
        s.append(t);
        let want = [&a, &b, &c, &d, &a];
        assert_eq!(s.len(), want.len());
        for (i, w) in want.iter().enumerate() {
            assert_eq!(s.get(i), w.as_ref(), "sample {i}");
        }

        s.retain_values(|v| {
            v[0] *= 2;
            v[0] != 0
        });
        let kept: Vec<Sample> = s.iter().map(|x| x.to_sample()).collect();
        assert_eq!(kept.len(), 4);
        assert_eq!(kept[0].values, [10, -5]);
        assert_eq!(kept[1].locations, [4]);
        assert_eq!(kept[2].labels, d.labels);
        assert_eq!(kept[3].locations, a.locations);

        // Equality looks at contents, not at how label sets are numbered.
        let mut u = Samples::default();
        let k = u.new_label_set(&[label("bytes", 8)]);
        u.push_with_set(&[1, 2, 3], &[5, -5], k);
        let v: Samples = [a.clone()].into_iter().collect();
        assert_eq!(u, v);
        assert_ne!(u, Samples::default());
    }

    #[test]
    #[should_panic(expected = "values pushed among samples")]
    fn a_sample_of_another_width_is_refused() {
        let mut s: Samples = [sample(&[1], 1, vec![])].into_iter().collect();
        s.push_parts(&[1], &[1, 2, 3], &[]);
    }
}
