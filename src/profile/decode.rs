//! Validation and resolution: wire data into the model.

use std::collections::HashMap;

use super::*;
use crate::error::ProfileError;
use crate::pprof::{self, ReadOptions, proto};

impl Profile {
    /// Decodes raw (decompressed) protobuf bytes with the direct sample
    /// reader ([`pprof::wire`]), reading samples on `threads` threads (by
    /// default as many as pay off); what that reader leaves to prost is
    /// decoded with prost.
    pub(super) fn from_wire(
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

    pub(super) fn from_parts(
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
}

/// Why the direct reader stopped: the profile is invalid, or its bytes are
/// something the direct reader leaves to prost.
pub(super) enum Stop {
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
    pub(super) fn into_error(self) -> ProfileError {
        match self {
            Stop::Invalid(e) => e,
            Stop::Prost => {
                ProfileError::Decode("the direct reader stopped on decoded input".into())
            }
        }
    }
}

/// Where the samples of a profile come from.
pub(super) enum SampleInput<'a> {
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
