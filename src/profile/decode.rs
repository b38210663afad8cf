//! Validation and resolution: wire data into the model.

use std::collections::HashMap;

use super::*;
use crate::error::ProfileError;
use crate::pprof::{self, ReadOptions, proto};

impl Profile {
    /// Decodes raw (decompressed) protobuf bytes with the direct sample
    /// reader ([`pprof::wire`]); what that reader leaves to prost is decoded
    /// with prost.
    pub(super) fn from_wire(data: &[u8], opts: &ReadOptions) -> Result<Profile, ProfileError> {
        // Large gzip profiles: their samples are read while the rest is
        // still being decompressed.
        if let Some(mut streamed) = pprof::gunzip_streamed(data, opts, StreamedSamples::read) {
            let samples = StreamedSamples::joined(&mut streamed);
            return Self::from_raw(&streamed.raw, samples);
        }
        // `from_raw` makes the checks of `checked_raw` on the bytes.
        Self::from_raw(&pprof::uncompressed(data, opts)?, None)
    }

    /// Decodes decompressed bytes; `streamed` holds their samples when they
    /// were read while decompressing (used only when they agree with the
    /// whole bytes, which are read again otherwise).
    fn from_raw(raw: &[u8], streamed: Option<StreamedSamples>) -> Result<Profile, ProfileError> {
        // `?debug=1` heap text, pasted from a ticket: read as pprof does.
        if super::legacy::is_heap_text(raw) {
            return super::legacy::parse_heap(raw);
        }
        // Goroutine text: `?debug=1` counts, or a dump (debug=2, a crash,
        // SIGQUIT; inside a log too).
        if super::goroutine_text::is_count_text(raw) {
            return super::goroutine_text::parse_count(raw);
        }
        if super::goroutine_text::is_dump_text(raw) {
            return super::goroutine_text::parse_dump_profile(raw);
        }
        pprof::check_decompressed(raw)?;
        // Samples read already need only be counted.
        let split = match streamed {
            Some(_) => pprof::wire::split_counting(raw),
            None => pprof::wire::split(raw),
        };
        let Some(split) = split else {
            return Self::from_proto(&pprof::decode_raw(raw)?);
        };
        if split.time_fields > 1 {
            return Err(ProfileError::Concatenated);
        }
        let mut result = match streamed {
            Some(s) if s.count == split.sample_count => Self::from_parts(
                &split.rest,
                &split.strings,
                SampleInput::Streamed(Box::new(s)),
            ),
            _ => Err(Stop::Redo),
        };
        if let Err(Stop::Redo) = result {
            // Read the samples from the whole bytes (listed this time).
            let listed;
            let samples = if split.samples.len() == split.sample_count {
                &split.samples
            } else {
                listed = pprof::wire::split(raw)
                    .map(|s| s.samples)
                    .unwrap_or_default();
                &listed
            };
            result = Self::from_parts(&split.rest, &split.strings, SampleInput::Encoded(samples));
        }
        match result {
            Ok(p) => Ok(p),
            Err(Stop::Invalid(e)) => Err(e),
            Err(Stop::Prost | Stop::Redo) => Self::from_proto(&pprof::decode_raw(raw)?),
        }
    }

    pub(super) fn from_parts(
        m: &proto::Profile,
        string_table: &[&[u8]],
        input: SampleInput<'_>,
    ) -> Result<Profile, Stop> {
        let strings = Strings::new(string_table)?;
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
            SampleInput::Encoded(list) => resolver.encoded(list)?,
            SampleInput::Streamed(streamed) => resolver.streamed(*streamed)?,
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
            runtime_stats: Vec::new(),
        })
    }
}

/// Why the direct reader stopped: the profile is invalid, or its bytes are
/// something the direct reader leaves to prost.
pub(super) enum Stop {
    Invalid(ProfileError),
    Prost,
    /// Samples read while decompressing did not resolve: read them again
    /// from the whole bytes (which then say what is wrong).
    Redo,
}

impl From<ProfileError> for Stop {
    fn from(e: ProfileError) -> Stop {
        Stop::Invalid(e)
    }
}

impl Stop {
    /// The error, for paths that never leave anything to prost.
    pub(super) fn into_error(self) -> ProfileError {
        match self {
            Stop::Invalid(e) => e,
            Stop::Prost | Stop::Redo => {
                ProfileError::Decode("the direct reader stopped on decoded input".into())
            }
        }
    }
}

/// Where the samples of a profile come from.
pub(super) enum SampleInput<'a> {
    /// Already decoded by prost.
    Decoded(&'a [proto::Sample]),
    /// Encoded `Sample` messages, read directly.
    Encoded(&'a [&'a [u8]]),
    /// Samples read while the profile was being decompressed, their ids
    /// and labels not resolved yet.
    Streamed(Box<StreamedSamples>),
}

/// Samples read from the pieces of a profile while it is decompressed
/// ([`pprof::gunzip_streamed`]), before the locations and strings they
/// refer to, which come after them: their stacks hold location ids, their
/// label sets are numbered wire label lists. [`SampleResolver::streamed`]
/// resolves them into what [`SampleResolver::encoded`] makes of the same
/// bytes.
pub(super) struct StreamedSamples {
    /// Stacks of location ids, values, and label sets numbered from 1 in
    /// `label_lists` (0: no labels).
    samples: Samples,
    label_lists: Vec<Vec<proto::Label>>,
    /// How many samples and sample types were read.
    count: usize,
    sample_types: usize,
}

impl StreamedSamples {
    /// Reads the samples of `pieces`; `None` when they are not what this
    /// reader reads in one pass (a sample type after a sample, bad bytes,
    /// an id over 32 bits...): the whole bytes are read the usual way.
    ///
    /// Pieces that do not start the profile ([`pprof::Pieces::is_first`])
    /// hold no sample types: their samples' width is that of the first one.
    fn read<'s>(pieces: pprof::Pieces<'s>) -> Option<StreamedSamples> {
        let first = pieces.is_first();
        let mut out = Samples::default();
        let mut tree = StackTree::default();
        // Room for what profiles of this size usually hold (a node per few
        // bytes of samples, a sample per few dozen), so that the columns are
        // not copied as they grow; untouched room costs no memory.
        let size = pieces.size_hint_bytes();
        tree.reserve(size / 8);
        out.stack.reserve(size / 48);
        out.label_set.reserve(size / 48);
        let mut sink = StackSink::new(&RawIds);
        let mut reader = pprof::wire::SampleReader::default();
        // Each distinct wire label list, numbered from 1 in order of first
        // use.
        let mut lists = LabelSets::default();
        let (mut count, mut sample_types) = (0usize, 0usize);
        for piece in pieces {
            for field in pprof::wire::top_fields(piece) {
                let field = field?;
                match (field.field, field.bytes) {
                    (1, Some(_)) if count == 0 && first => sample_types += 1,
                    (1 | 2, None) | (1, Some(_)) => return None,
                    (2, Some(buf)) => {
                        let stack = sink.read_sample(&mut reader, buf, &mut tree)?;
                        if count == 0 {
                            if !first {
                                sample_types = reader.values.len();
                            }
                            out.values.reserve(size / 48 * sample_types);
                        }
                        if sink.dangling.is_some() || reader.values.len() != sample_types {
                            return None;
                        }
                        out.stack.push(stack);
                        out.values.extend_from_slice(&reader.values);
                        let set = if reader.labels.is_empty() {
                            0
                        } else if let Some(&k) = lists.get(&reader.labels[..]) {
                            k
                        } else {
                            let k = u32::try_from(lists.len() + 1).ok()?;
                            lists.insert(reader.labels.clone(), k);
                            k
                        };
                        out.label_set.push(set);
                        count += 1;
                    }
                    _ => {}
                }
            }
        }
        // A sink makes each new node under the path of the sample before.
        tree.set_depth_first();
        out.tree = tree;
        let mut label_lists = vec![Vec::new(); lists.len()];
        for (list, k) in lists {
            label_lists[k as usize - 1] = list;
        }
        Some(StreamedSamples {
            samples: out,
            label_lists,
            count,
            sample_types,
        })
    }

    /// The samples of both parts of a streamed profile, as one, their
    /// columns shrunk to fit (the reader reserves room for a whole
    /// profile); `None` when a part was not read (then the whole bytes are
    /// read the usual way).
    fn joined(streamed: &mut pprof::Streamed<Option<StreamedSamples>>) -> Option<StreamedSamples> {
        let mut first = streamed.first.take()?;
        if let Some(later) = streamed.later.take() {
            first.append(later?)?;
        }
        let out = &mut first.samples;
        out.tree.shrink();
        out.stack.shrink_to_fit();
        out.values.shrink_to_fit();
        out.label_set.shrink_to_fit();
        Some(first)
    }

    /// Adds the samples read after these ones; `None` when they do not have
    /// as many values as these have sample types.
    fn append(&mut self, later: StreamedSamples) -> Option<()> {
        if later.count == 0 {
            return Some(());
        }
        if later.sample_types != self.sample_types {
            return None;
        }
        // The later part's label lists, numbered after these.
        let mut numbers: LabelSets = self
            .label_lists
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), i as u32 + 1))
            .collect();
        let mut renumber = vec![0u32; later.label_lists.len() + 1];
        for (i, list) in later.label_lists.into_iter().enumerate() {
            renumber[i + 1] = match numbers.get(&list) {
                Some(&k) => k,
                None => {
                    let k = u32::try_from(self.label_lists.len() + 1).ok()?;
                    numbers.insert(list.clone(), k);
                    self.label_lists.push(list);
                    k
                }
            };
        }
        let StreamedSamples {
            samples: mut more, ..
        } = later;
        let offset = self.samples.tree.append_tree(&more.tree)?;
        let shift = |s: StackId| match s.index() {
            Some(i) => StackId::from_index(i + offset),
            None => s,
        };
        let out = &mut self.samples;
        out.stack.extend(more.stack.iter().map(|&s| shift(s)));
        out.values.append(&mut more.values);
        out.label_set
            .extend(more.label_set.iter().map(|&k| renumber[k as usize]));
        self.count += later.count;
        Some(())
    }
}

/// Resolves location ids to location indices for a [`StackSink`].
trait Resolve {
    fn get(&self, id: u64) -> Option<u32>;
}

impl Resolve for IdIndex {
    #[inline(always)]
    fn get(&self, id: u64) -> Option<u32> {
        IdIndex::get(self, id)
    }
}

/// Keeps ids less one, for stacks read before the locations
/// ([`StreamedSamples`]): what they resolve to when the locations have
/// ids 1, 2, 3... in order, as Go writes them. 0 and ids over 32 bits
/// resolve to nothing.
struct RawIds;

impl Resolve for RawIds {
    #[inline(always)]
    fn get(&self, id: u64) -> Option<u32> {
        u32::try_from(id).ok()?.checked_sub(1)
    }
}

/// The string table, as shared text: each string is converted once, when
/// something first refers to it.
struct Strings<'a> {
    raw: &'a [&'a [u8]],
    table: Vec<std::cell::OnceCell<Str>>,
    empty: Str,
}

impl<'a> Strings<'a> {
    fn new(raw: &'a [&'a [u8]]) -> Result<Strings<'a>, ProfileError> {
        if let Some(first) = raw.first()
            && !first.is_empty()
        {
            return Err(ProfileError::StringTableStart(
                String::from_utf8_lossy(first).into_owned(),
            ));
        }
        Ok(Strings {
            raw,
            table: (0..raw.len()).map(|_| std::cell::OnceCell::new()).collect(),
            empty: Str::from(""),
        })
    }

    /// String `index`; `field` names the referring field in the error.
    fn get(&self, field: &dyn Fn() -> String, index: i64) -> Result<Str, ProfileError> {
        if index == 0 {
            return Ok(self.empty.clone());
        }
        match usize::try_from(index).ok().filter(|&i| i < self.raw.len()) {
            Some(i) => Ok(self.table[i]
                .get_or_init(|| Str::from(String::from_utf8_lossy(self.raw[i])))
                .clone()),
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

/// Reads the location ids of one sample after another into a
/// [`StackTree`], resolving each id as it is read; the tail a packed run
/// shares with the previous sample's (see [`RunTail`]) is not read again but
/// found on the previous sample's path. A sample's new frames become new
/// nodes under that tail (no lookup), so the tree comes out in depth-first
/// order.
struct StackSink<'a, 'b, R: Resolve> {
    tail: RunTail<'b>,
    ix: &'a R,
    /// The locations read for the sample, leaf first, before `shared`.
    head: Vec<u32>,
    /// How many frames at the root end the sample shares with the previous
    /// one (they are `path[..shared]`).
    shared: Option<usize>,
    /// The nodes of the previous sample's stack, root first.
    path: Vec<StackId>,
    /// The first id that resolved to no location.
    dangling: Option<u64>,
}

impl<'a, 'b, R: Resolve> StackSink<'a, 'b, R> {
    fn new(ix: &'a R) -> Self {
        StackSink {
            tail: RunTail::default(),
            ix,
            head: Vec::new(),
            shared: None,
            path: Vec::new(),
            dangling: None,
        }
    }

    fn next_sample(&mut self) {
        self.tail.next_sample();
        self.head.clear();
        self.shared = None;
    }

    /// Ids after a shared tail: the tail's frames become explicit (rare:
    /// writers put a sample's ids in one packed run).
    fn unshare(&mut self, tree: &StackTree) {
        if let Some(n) = self.shared.take() {
            let tail = n.checked_sub(1).map_or(StackId::EMPTY, |i| self.path[i]);
            self.head.extend(tree.stack(tail).iter());
        }
    }

    #[inline(always)]
    fn resolve(&mut self, id: u64) {
        match self.ix.get(id) {
            Some(l) => self.head.push(l),
            None => {
                self.dangling.get_or_insert(id);
            }
        }
    }

    /// Reads the encoded sample `buf` with `reader`, its stack into `tree`;
    /// `None` when the bytes are not a sample this reader reads. The first
    /// id that resolved to nothing is left in `dangling`.
    fn read_sample(
        &mut self,
        reader: &mut pprof::wire::SampleReader,
        buf: &'b [u8],
        tree: &mut StackTree,
    ) -> Option<StackId> {
        self.next_sample();
        reader.read_with(buf, &mut SampleStack { sink: self, tree })?;
        Some(self.finish(tree))
    }

    /// The sample's stack in `tree`, made from what was read.
    fn finish(&mut self, tree: &mut StackTree) -> StackId {
        self.path.truncate(self.shared.take().unwrap_or(0));
        let mut id = self.path.last().copied().unwrap_or(StackId::EMPTY);
        for &l in self.head.iter().rev() {
            id = tree.push_new(id, l);
            self.path.push(id);
        }
        id
    }
}

/// A [`StackSink`] with the tree it reads into, for one sample.
struct SampleStack<'s, 'a, 'b, R: Resolve> {
    sink: &'s mut StackSink<'a, 'b, R>,
    tree: &'s StackTree,
}

impl<'b, R: Resolve> pprof::wire::LocationSink<'b> for SampleStack<'_, '_, 'b, R> {
    #[inline(always)]
    fn push(&mut self, id: u64) {
        self.sink.tail.loose();
        self.sink.unshare(self.tree);
        self.sink.resolve(id);
    }

    /// The hot loop of reading stacks.
    #[inline]
    fn push_packed(&mut self, packed: &'b [u8]) -> Option<()> {
        let sink = &mut *self.sink;
        let first = sink.head.is_empty() && sink.shared.is_none() && sink.dangling.is_none();
        sink.unshare(self.tree);
        let (ix, head, dangling) = (sink.ix, &mut sink.head, &mut sink.dangling);
        let tail_ids = sink.tail.read_run(packed, first, |id| match ix.get(id) {
            Some(l) => head.push(l),
            None => {
                dangling.get_or_insert(id);
            }
        })?;
        if tail_ids > 0 {
            if tail_ids > sink.path.len() {
                return None;
            }
            sink.shared = Some(tail_ids);
        }
        Some(())
    }
}

/// Which label set of a [`Samples`] each wire label list became.
type LabelSets = InputMap<Vec<proto::Label>, u32>;

/// Turns wire samples into model samples.
struct SampleResolver<'a> {
    strings: &'a Strings<'a>,
    locations: IdIndex,
    want: usize,
}

impl SampleResolver<'_> {
    fn check_values(&self, si: usize, got: usize) -> Result<(), ProfileError> {
        if got != self.want {
            return Err(ProfileError::ValueCount {
                sample: si,
                got,
                want: self.want,
            });
        }
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
        out.reserve(list.len());
        let mut locs = Vec::new();
        for (si, sm) in list.iter().enumerate() {
            self.check_values(si, sm.value.len())?;
            locs.clear();
            for &id in &sm.location_id {
                match self.locations.get(id) {
                    Some(l) => locs.push(l),
                    None => return Err(ProfileError::DanglingLocation { sample: si, id }),
                }
            }
            let stack = out.tree.intern(&locs);
            let set = self.label_set(&mut out, &mut sets, si, &sm.label)?;
            out.stack.push(stack);
            out.label_set.push(set);
            out.values.extend_from_slice(&sm.value);
        }
        out.tree.shrink();
        Ok(out)
    }

    /// Reads encoded samples, their stacks straight into the tree.
    fn encoded(&self, list: &[&[u8]]) -> Result<Samples, Stop> {
        let mut out = Samples::with_width(self.want);
        out.reserve(list.len());
        let mut reader = pprof::wire::SampleReader::default();
        let mut cache = LabelSets::default();
        let mut sink = StackSink::new(&self.locations);
        let mut tree = std::mem::take(&mut out.tree);
        for (si, buf) in list.iter().enumerate() {
            let stack = sink
                .read_sample(&mut reader, buf, &mut tree)
                .ok_or(Stop::Prost)?;
            if let Some(id) = sink.dangling {
                return Err(Stop::Invalid(ProfileError::DanglingLocation {
                    sample: si,
                    id,
                }));
            }
            self.check_values(si, reader.values.len())?;
            out.stack.push(stack);
            out.values.extend_from_slice(&reader.values);
            let set = self.label_set(&mut out, &mut cache, si, &reader.labels)?;
            out.label_set.push(set);
        }
        tree.shrink();
        // A sink makes each new node under the path of the sample before.
        tree.set_depth_first();
        out.tree = tree;
        Ok(out)
    }
}

impl SampleResolver<'_> {
    /// Resolves samples read while decompressing: their stacks' location
    /// ids and their label lists. [`Stop::Redo`] for anything that does not
    /// resolve, so that the whole bytes are read again and the error names
    /// the sample.
    fn streamed(&self, streamed: StreamedSamples) -> Result<Samples, Stop> {
        let StreamedSamples {
            mut samples,
            label_lists,
            sample_types,
            ..
        } = streamed;
        if sample_types != self.want {
            return Err(Stop::Redo);
        }
        samples.width = self.want;
        let tree = &mut samples.tree;
        if let Some(n) = self.locations.in_order() {
            // Ids 1..=n in order: each stack node holds its index already.
            if tree.locations().iter().any(|&l| l as usize >= n) {
                return Err(Stop::Redo);
            }
        } else {
            tree.map_locations(|id| self.locations.get(u64::from(id) + 1))
                .ok_or(Stop::Redo)?;
        }
        let mut sets = Vec::with_capacity(label_lists.len() + 1);
        sets.push(0);
        let mut store = Samples::default();
        for list in &label_lists {
            let resolved = self.labels(0, list).map_err(|_| Stop::Redo)?;
            sets.push(if resolved.is_empty() {
                0
            } else {
                store.add_label_set(resolved)
            });
        }
        for k in &mut samples.label_set {
            *k = sets[*k as usize];
        }
        samples.set_start = store.set_start;
        samples.set_labels = store.set_labels;
        Ok(samples)
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

    /// `Some(n)` when the ids are 1, 2, ..., n in order (each id is its
    /// index plus one).
    fn in_order(&self) -> Option<usize> {
        let n = self.dense.len() - 1;
        (self.sparse.is_empty() && self.dense.iter().enumerate().all(|(i, &v)| v as usize == i))
            .then_some(n)
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
        let mut sink = StackSink::new(&ix);
        let mut tree = StackTree::default();
        for (st, msg) in stacks.iter().zip(&encoded) {
            sink.next_sample();
            let mut stack = SampleStack {
                sink: &mut sink,
                tree: &tree,
            };
            reader.read_with(msg, &mut stack).unwrap();
            assert_eq!(sink.dangling, None);
            let id = sink.finish(&mut tree);
            let want: Vec<u32> = st.iter().map(|&id| ix.get(id).unwrap()).collect();
            assert_eq!(tree.stack(id).to_vec(), want);
        }
        // The model's reader makes the same stacks.
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
        let p = Profile::from_bytes(&bytes, "stacks").unwrap();
        assert_eq!(p.samples.len(), stacks.len());
        for (i, st) in stacks.iter().enumerate() {
            let got: Vec<u64> = p
                .samples
                .get(i)
                .stack
                .iter()
                .map(|l| p.locations[l as usize].id)
                .collect();
            assert_eq!(&got, st, "sample {i}");
        }
        // A dangling id is reported, whatever came before.
        let mut bad = vec![0x0a, 2];
        prost::encoding::encode_varint(401, &mut bad);
        sink.next_sample();
        let _ = SampleStack {
            sink: &mut sink,
            tree: &tree,
        }
        .push_packed(&bad[2..]);
        assert_eq!(sink.dangling, Some(401));
    }

    /// A profile of `n` samples with stacks sharing tails, labels from a
    /// few lists, and a comment that pads it past the size from which
    /// profiles are streamed.
    fn streamable(n: usize) -> proto::Profile {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let mut strings: Vec<Vec<u8>> = ["", "alloc_space", "bytes", "f", "kind", "map", "slice"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        strings.push(vec![b'x'; pprof::STREAM_FROM_BYTES]);
        let locations = 3000u64;
        let mut samples = Vec::with_capacity(n);
        let mut prev: Vec<u64> = Vec::new();
        for _ in 0..n {
            let keep = next(prev.len() as u64 + 1) as usize;
            let mut st = prev[prev.len() - keep..].to_vec();
            for _ in 0..1 + next(5) {
                st.insert(0, 1 + next(locations));
            }
            let label = match next(4) {
                0 => vec![],
                1 => vec![proto::Label {
                    key: 2,
                    num: 64,
                    ..Default::default()
                }],
                2 => vec![proto::Label {
                    key: 4,
                    str: 5,
                    ..Default::default()
                }],
                _ => vec![proto::Label {
                    key: 4,
                    str: 6,
                    ..Default::default()
                }],
            };
            samples.push(proto::Sample {
                location_id: st.clone(),
                value: vec![next(1000) as i64, next(1 << 20) as i64 - 4],
                label,
            });
            prev = st;
        }
        proto::Profile {
            sample_type: vec![
                proto::ValueType { r#type: 1, unit: 2 },
                proto::ValueType { r#type: 1, unit: 2 },
            ],
            sample: samples,
            location: (1..=locations)
                .map(|id| proto::Location {
                    id,
                    line: vec![proto::Line {
                        function_id: 1 + id % 7,
                        line: id as i64,
                        column: 0,
                    }],
                    ..Default::default()
                })
                .collect(),
            function: (1..=7)
                .map(|id| proto::Function {
                    id,
                    name: 3,
                    ..Default::default()
                })
                .collect(),
            string_table: strings,
            comment: vec![7],
            ..Default::default()
        }
    }

    /// Decodes `m` gzipped, streamed, and checks it against the whole-bytes
    /// reader; returns whether the streamed samples were used.
    fn decode_both(m: &proto::Profile, what: &str) -> (Result<Profile, ProfileError>, bool) {
        use prost::Message;
        let raw = m.encode_to_vec();
        let gz = gzip(&raw);
        let opts = ReadOptions::default();
        // Read in one part (the first reader waits for nothing: most of
        // the time it reads everything) and in two (it waits until
        // decompression has ended, so that the other thread takes half).
        let mut one = pprof::gunzip_streamed(&gz, &opts, StreamedSamples::read).expect(what);
        let mut two = pprof::gunzip_streamed(&gz, &opts, |pieces| {
            pieces.wait_for_the_end();
            StreamedSamples::read(pieces)
        })
        .expect(what);
        assert_eq!(one.raw, raw, "{what}: the streamed bytes");
        assert_eq!(two.raw, raw, "{what}: the streamed bytes");
        assert!(two.later.is_some(), "{what}: read in two parts");
        // However the reads were split, the samples are used only when
        // every part was read.
        let used = StreamedSamples::joined(&mut one).is_some_and(|s| s.count == m.sample.len());
        let want = Profile::from_raw(&raw, None);
        let got = Profile::from_wire(&gz, &opts);
        let joined = StreamedSamples::joined(&mut two);
        let used_two = joined.as_ref().is_some_and(|s| s.count == m.sample.len());
        assert_eq!(
            used, used_two,
            "{what}: the samples read in one part and in two"
        );
        let got_two = Profile::from_raw(&raw, joined);
        for got in [&got, &got_two] {
            match (got, &want) {
                (Ok(a), Ok(b)) => {
                    // Equal stacks, frame by frame (a part read on its
                    // own makes its own nodes for the stacks it shares with
                    // the part before).
                    assert_eq!(a.samples, b.samples, "{what}");
                    assert!(a.samples.tree().preorder().is_none(), "{what}: depth-first");
                    assert_eq!(a.locations, b.locations, "{what}");
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
                _ => panic!("{what}: streamed {got:?}, whole {want:?}"),
            }
        }
        (got, used)
    }

    #[test]
    fn streamed_samples_are_the_samples_of_the_whole_bytes() {
        let m = streamable(60_000);
        let (p, used) = decode_both(&m, "plain");
        assert!(used, "the samples were read while decompressing");
        let p = p.unwrap();
        assert_eq!(p.samples.len(), 60_000);
        // Spot checks against the wire message itself.
        for i in [0, 1, 17, 59_999] {
            let s = p.samples.get(i);
            let ids: Vec<u64> = s.stack.iter().map(|l| p.locations[l as usize].id).collect();
            assert_eq!(ids, m.sample[i].location_id, "sample {i}");
            assert_eq!(s.values, &m.sample[i].value[..], "sample {i}");
        }

        // Locations listed in another order than their ids: still resolved.
        let mut shuffled = m.clone();
        shuffled.location.reverse();
        assert!(decode_both(&shuffled, "shuffled locations").1);

        // A sample type after the first sample: not streamed, same profile.
        let mut late = m.clone();
        late.sample_type
            .push(proto::ValueType { r#type: 1, unit: 2 });
        for s in &mut late.sample {
            s.value.push(1);
        }
        let raw = {
            use prost::Message;
            let mut head = proto::Profile {
                sample_type: late.sample_type[..2].to_vec(),
                ..Default::default()
            }
            .encode_to_vec();
            let rest = proto::Profile {
                sample_type: late.sample_type[2..].to_vec(),
                ..late.clone()
            };
            let mut tail = rest.encode_to_vec();
            // Move the third sample type after the samples: drop it from
            // the front of `tail` and append it.
            let t = proto::Profile {
                sample_type: late.sample_type[2..].to_vec(),
                ..Default::default()
            }
            .encode_to_vec();
            assert!(tail.starts_with(&t));
            tail.drain(..t.len());
            head.extend_from_slice(&tail);
            head.extend_from_slice(&t);
            head
        };
        let gz = gzip(&raw);
        let mut streamed =
            pprof::gunzip_streamed(&gz, &ReadOptions::default(), StreamedSamples::read).unwrap();
        assert!(
            StreamedSamples::joined(&mut streamed).is_none(),
            "a sample type after the samples stops streaming"
        );
        let p = Profile::from_wire(&gz, &ReadOptions::default()).unwrap();
        assert_eq!(p.sample_types.len(), 3);
        assert_eq!(p.samples.len(), 60_000);
    }

    #[test]
    fn streamed_samples_that_do_not_resolve_get_the_errors_of_the_whole_bytes() {
        let m = streamable(40_000);
        // A location id no location has, deep in the samples.
        let mut dangling = m.clone();
        dangling.sample[31_000].location_id.push(99_999);
        let (got, _) = decode_both(&dangling, "dangling");
        assert!(
            matches!(
                got,
                Err(ProfileError::DanglingLocation {
                    sample: 31_000,
                    id: 99_999
                })
            ),
            "{got:?}"
        );
        // A label string index past the table.
        let mut bad_label = m.clone();
        bad_label.sample[20_000].label = vec![proto::Label {
            key: 4,
            str: 500,
            ..Default::default()
        }];
        let (got, _) = decode_both(&bad_label, "bad label");
        assert!(
            got.unwrap_err()
                .to_string()
                .contains("sample[20000].label[0].str")
        );
        // Too many values.
        let mut wide = m.clone();
        wide.sample[39_999].value.push(3);
        let (got, _) = decode_both(&wide, "wide");
        assert!(
            matches!(got, Err(ProfileError::ValueCount { sample: 39_999, .. })),
            "{got:?}"
        );
        // A location id over 32 bits.
        let mut big = m.clone();
        big.location[5].id = 1 << 40;
        for s in &mut big.sample {
            for id in &mut s.location_id {
                if *id == 6 {
                    *id = 1 << 40;
                }
            }
        }
        assert!(decode_both(&big, "big ids").0.is_ok());
    }

    fn gzip(raw: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(raw).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn trailers_that_do_not_give_the_size_are_read_the_usual_way() {
        use prost::Message;
        let raw = streamable(20_000).encode_to_vec();
        let opts = ReadOptions::default();
        let want = Profile::from_raw(&raw, None).unwrap();
        // Two gzip members: the trailer gives the second one's size only,
        // the buffer is too small, and the profile is decompressed again.
        let mut two = gzip(&raw[..1000]);
        two.extend_from_slice(&gzip(&raw[1000..]));
        assert!(pprof::gunzip_streamed(&two, &opts, StreamedSamples::read).is_none());
        assert_eq!(
            Profile::from_wire(&two, &opts).unwrap().samples,
            want.samples
        );
        // A trailer that lies is bad data, whatever size it gives.
        let gz = gzip(&raw);
        let n = gz.len();
        for size in [
            raw.len() - 1,
            pprof::STREAM_FROM_BYTES,
            raw.len() + 1000,
            600 << 20,
        ] {
            let mut lie = gz.clone();
            lie[n - 4..].copy_from_slice(&(size as u32).to_le_bytes());
            assert!(pprof::gunzip_streamed(&lie, &opts, StreamedSamples::read).is_none());
            let got = Profile::from_wire(&lie, &opts);
            assert!(
                matches!(got, Err(ProfileError::Gzip(_))),
                "size {size}: {got:?}"
            );
        }
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
        assert_eq!(s.get(0).to_sample(), a);
        assert_eq!(s.get(1).to_sample(), b);
        assert_eq!(s.get(2).to_sample(), c);
        // a and c share a label set; b has none.
        assert_eq!(s.label_set_id(1), 0);
        assert_eq!(s.label_set_id(0), s.label_set_id(2));

        let mut t: Samples = [d.clone()].into_iter().collect();
        t.push(&a);
        s.append(t);
        let want = [&a, &b, &c, &d, &a];
        assert_eq!(s.len(), want.len());
        for (i, w) in want.iter().enumerate() {
            assert_eq!(&s.get(i).to_sample(), *w, "sample {i}");
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
        let st = u.intern_stack(&[1, 2, 3]);
        u.push_with_set(st, &[5, -5], k);
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
