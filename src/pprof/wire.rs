//! A direct reader for the parts of profile.proto where the bulk of the bytes
//! are: the samples.
//!
//! [`split`] walks the top-level fields once. Everything except the samples
//! (sample types, mappings, locations, functions, strings, scalars) is copied
//! into a small buffer and decoded with prost; each sample stays a borrowed
//! slice of the input, to be read by [`SampleReader`] straight into the model
//! without an intermediate message per sample. [`split_counting`] counts
//! the samples instead, for a reader that has read them already (while the
//! profile was being decompressed: [`crate::pprof::gunzip_streamed`]).
//!
//! This reader handles the wire format as profile.proto writers produce it
//! and is never more lenient than prost: whatever it does not read (bad
//! bytes, or rare encodings such as groups), it leaves to prost, and the
//! model layer then decodes the whole profile with prost, so that both
//! paths accept the same inputs and report bad bytes with prost's words
//! (the fuzz target checks this).

use prost::Message;

use super::proto;
use crate::error::ProfileError;

/// The top-level fields of a profile, with the samples left undecoded.
pub struct Split<'a> {
    /// Every field except `sample`, decoded.
    pub rest: proto::Profile,
    /// The encoded `Sample` messages, in file order (empty after
    /// [`split_counting`]).
    pub samples: Vec<&'a [u8]>,
    /// How many `Sample` messages there are.
    pub sample_count: usize,
    /// The string table, borrowed from the input (`rest.string_table` is
    /// left empty).
    pub strings: Vec<&'a [u8]>,
    /// How many times `time_nanos` occurs (more than once: concatenated
    /// profiles).
    pub time_fields: usize,
}

const SAMPLE_FIELD: u64 = 2;
const STRING_FIELD: u64 = 6;
const TIME_FIELD: u64 = 9;

/// Splits a raw (decompressed) profile into its samples and the rest;
/// `None` when the bytes are not something this reader reads (then decode
/// the whole profile with prost, which either reads it or says what is
/// wrong).
pub fn split(raw: &[u8]) -> Option<Split<'_>> {
    try_split(raw, true)
}

/// [`split`] without the list of samples, only their count.
pub fn split_counting(raw: &[u8]) -> Option<Split<'_>> {
    try_split(raw, false)
}

fn try_split(raw: &[u8], list_samples: bool) -> Option<Split<'_>> {
    let mut r = Cursor { buf: raw, pos: 0 };
    let mut rest = Vec::new();
    let mut out = Split {
        rest: proto::Profile::default(),
        samples: Vec::new(),
        sample_count: 0,
        strings: Vec::new(),
        time_fields: 0,
    };
    while !r.done() {
        let start = r.pos;
        let key = r.key()?;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return None;
        }
        if field == TIME_FIELD {
            out.time_fields += 1;
        }
        if field == SAMPLE_FIELD && wire == 2 {
            let sample = r.bytes()?;
            if list_samples {
                out.samples.push(sample);
            }
            out.sample_count += 1;
            continue;
        }
        if field == STRING_FIELD && wire == 2 {
            out.strings.push(r.bytes()?);
            continue;
        }
        r.skip(wire)?;
        rest.extend_from_slice(&raw[start..r.pos]);
    }
    out.rest = proto::Profile::decode(&rest[..]).ok()?;
    Some(out)
}

/// Where the top-level fields that are whole in `buf[from..]` end: the
/// offset just after the last field that is complete there (`from` when
/// none is). Stops at anything [`split`] would not read (a bad key, a
/// group): what follows is then never whole, and the reader that needs it
/// reads the complete buffer instead.
pub fn whole_fields_end(buf: &[u8], from: usize) -> usize {
    let mut r = Cursor { buf, pos: from };
    let mut end = from;
    while !r.done() && r.top_field().is_some() {
        end = r.pos;
    }
    end
}

/// One top-level field of a profile, as [`top_fields`] yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopField<'a> {
    /// The field number.
    pub field: u64,
    /// Its payload when length-delimited (wire type 2), else `None`.
    pub bytes: Option<&'a [u8]>,
}

/// The top-level fields of `buf`, in order; an item is `None` where the
/// bytes stop being fields [`split`] reads (and nothing follows it).
pub fn top_fields(buf: &[u8]) -> impl Iterator<Item = Option<TopField<'_>>> {
    let mut r = Cursor { buf, pos: 0 };
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || r.done() {
            return None;
        }
        let field = r.top_field();
        failed = field.is_none();
        Some(field)
    })
}

/// The error prost gives for bytes this reader refused; if prost accepts
/// them after all, a generic message.
fn prost_error<M: Message + Default>(bytes: &[u8], what: &str) -> ProfileError {
    match M::decode(bytes) {
        Err(e) => ProfileError::Decode(e.to_string()),
        Ok(_) => ProfileError::Decode(format!(
            "{what} uses an encoding this reader leaves to prost"
        )),
    }
}

/// Reads sample messages into reusable buffers.
#[derive(Default)]
pub struct SampleReader {
    /// `location_id`s of the last sample read.
    pub location_ids: Vec<u64>,
    /// `value`s of the last sample read.
    pub values: Vec<i64>,
    /// Labels of the last sample read.
    pub labels: Vec<proto::Label>,
}

impl SampleReader {
    /// Reads one encoded `Sample`, replacing what the buffers held.
    pub fn read(&mut self, buf: &[u8]) -> Result<(), ProfileError> {
        let mut ids = std::mem::take(&mut self.location_ids);
        ids.clear();
        let r = self.read_with(buf, &mut ids);
        self.location_ids = ids;
        r.ok_or_else(|| prost_error::<proto::Sample>(buf, "a sample"))
    }

    /// Reads one encoded `Sample` like [`SampleReader::read`], but hands
    /// each location id to `sink` instead of keeping it (the caller
    /// resolves ids as they are read); `None` when the bytes are not a
    /// sample this reader reads (leave the profile to prost).
    #[inline]
    pub fn read_with<'b>(&mut self, buf: &'b [u8], sink: &mut impl LocationSink<'b>) -> Option<()> {
        self.values.clear();
        self.labels.clear();
        read_sample(buf, &mut self.values, &mut self.labels, sink)
    }
}

/// Where [`SampleReader::read_with`] puts location ids.
/// `'b` is the lifetime of the encoded samples, which a sink may keep
/// referring to.
pub trait LocationSink<'b> {
    /// One id.
    fn push(&mut self, id: u64);
    /// The ids of a packed run (varints back to back); `None` when a
    /// varint is bad.
    #[inline]
    fn push_packed(&mut self, packed: &'b [u8]) -> Option<()> {
        let mut i = 0;
        while i < packed.len() {
            let (id, n) = varint_at(packed, i)?;
            self.push(id);
            i += n;
        }
        Some(())
    }
}

/// The varint at `buf[i..]` and its length in bytes, by prost's rules (at
/// most 10 bytes, fitting 64 bits); `None` when it is bad or cut short.
#[inline(always)]
pub fn varint_at(buf: &[u8], i: usize) -> Option<(u64, usize)> {
    let b0 = *buf.get(i)?;
    if b0 < 0x80 {
        return Some((u64::from(b0), 1));
    }
    // Ids of large profiles take two or three bytes.
    let low = u64::from(b0 & 0x7f);
    match buf.get(i + 1..i + 3) {
        Some(&[b1, _]) if b1 < 0x80 => Some((low | u64::from(b1) << 7, 2)),
        Some(&[b1, b2]) if b2 < 0x80 => {
            Some((low | u64::from(b1 & 0x7f) << 7 | u64::from(b2) << 14, 3))
        }
        _ => {
            let mut c = Cursor { buf, pos: i };
            let v = c.varint_slow()?;
            Some((v, c.pos - i))
        }
    }
}

impl LocationSink<'_> for Vec<u64> {
    fn push(&mut self, id: u64) {
        Vec::push(self, id);
    }
}

#[inline(always)]
fn read_sample<'b>(
    buf: &'b [u8],
    values: &mut Vec<i64>,
    labels: &mut Vec<proto::Label>,
    sink: &mut impl LocationSink<'b>,
) -> Option<()> {
    let mut r = Cursor { buf, pos: 0 };
    while !r.done() {
        let key = r.key()?;
        match (key >> 3, key & 7) {
            (0, _) => return None,
            (1, 0) => sink.push(r.varint()?),
            (1, 2) => sink.push_packed(r.bytes()?)?,
            (2, 0) => values.push(r.varint()? as i64),
            (2, 2) => read_packed(r.bytes()?, values, |v| v as i64)?,
            (3, 2) => labels.push(read_label(r.bytes()?)?),
            (1..=3, _) => return None,
            (_, wire) => r.skip(wire)?,
        }
    }
    Some(())
}

/// Appends the varints of a packed field to `out`.
#[inline(always)]
fn read_packed<T>(buf: &[u8], out: &mut Vec<T>, conv: impl Fn(u64) -> T) -> Option<()> {
    let mut p = Cursor { buf, pos: 0 };
    out.reserve(p.count_varints());
    while let Some(&b) = p.buf.get(p.pos) {
        if b < 0x80 {
            p.pos += 1;
            out.push(conv(u64::from(b)));
        } else {
            out.push(conv(p.varint_slow()?));
        }
    }
    Some(())
}

fn read_label(buf: &[u8]) -> Option<proto::Label> {
    let mut l = proto::Label::default();
    let mut r = Cursor { buf, pos: 0 };
    while !r.done() {
        let key = r.key()?;
        match (key >> 3, key & 7) {
            (0, _) => return None,
            (1, 0) => l.key = r.varint()? as i64,
            (2, 0) => l.str = r.varint()? as i64,
            (3, 0) => l.num = r.varint()? as i64,
            (4, 0) => l.num_unit = r.varint()? as i64,
            (1..=4, _) => return None,
            (_, wire) => r.skip(wire)?,
        }
    }
    Some(l)
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// A field key: prost refuses keys above `u32::MAX` and wire types 6
    /// and 7.
    #[inline(always)]
    fn key(&mut self) -> Option<u64> {
        let k = self.varint()?;
        (k <= u64::from(u32::MAX) && k & 7 <= 5).then_some(k)
    }

    /// A varint of at most 10 bytes whose value fits 64 bits (prost's rule).
    #[inline(always)]
    fn varint(&mut self) -> Option<u64> {
        let b = *self.buf.get(self.pos)?;
        if b < 0x80 {
            self.pos += 1;
            return Some(u64::from(b));
        }
        self.varint_slow()
    }

    #[inline(never)]
    fn varint_slow(&mut self) -> Option<u64> {
        // With ten bytes left the bytes need no bounds check each.
        if let Some(b) = self.buf.get(self.pos..self.pos + 10) {
            let b: &[u8; 10] = b.try_into().ok()?;
            let mut value = 0u64;
            for (i, &byte) in b.iter().enumerate() {
                if i == 9 && byte > 1 {
                    return None;
                }
                value |= u64::from(byte & 0x7f) << (7 * i);
                if byte < 0x80 {
                    self.pos += i + 1;
                    return Some(value);
                }
            }
            return None;
        }
        let mut value = 0u64;
        for i in 0..10 {
            let b = *self.buf.get(self.pos + i)?;
            if i == 9 && b > 1 {
                return None;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.pos += i + 1;
                return Some(value);
            }
        }
        None
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let end = self.pos.checked_add(len)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// A top-level field of a profile: `None` for a bad key, field 0, or
    /// anything [`Cursor::skip`] leaves to prost.
    fn top_field(&mut self) -> Option<TopField<'a>> {
        let key = self.key()?;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return None;
        }
        let bytes = if wire == 2 {
            Some(self.bytes()?)
        } else {
            self.skip(wire)?;
            None
        };
        Some(TopField { field, bytes })
    }

    fn skip(&mut self, wire: u64) -> Option<()> {
        match wire {
            0 => {
                self.varint()?;
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                let end = self.pos.checked_add(n)?;
                if end > self.buf.len() {
                    return None;
                }
                self.pos = end;
            }
            2 => {
                self.bytes()?;
            }
            // Groups (3, 4) are not used by profile.proto: let prost judge.
            _ => return None,
        }
        Some(())
    }

    /// How many varints end in the rest of the buffer (an upper bound for
    /// reserving, exact for well-formed packed fields).
    fn count_varints(&self) -> usize {
        self.buf[self.pos..].iter().filter(|&&b| b < 0x80).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_matches_prost_on_a_round_trip() {
        let p = proto::Profile {
            sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
            sample: vec![
                proto::Sample {
                    location_id: vec![1, 2, 300],
                    value: vec![-5],
                    label: vec![proto::Label {
                        key: 1,
                        num: 7,
                        num_unit: 2,
                        ..Default::default()
                    }],
                },
                proto::Sample::default(),
            ],
            string_table: vec![b"".to_vec(), b"a".to_vec(), b"b".to_vec()],
            time_nanos: 9,
            ..Default::default()
        };
        let raw = p.encode_to_vec();
        let s = split(&raw).unwrap();
        assert_eq!(s.samples.len(), 2);
        assert_eq!(s.time_fields, 1);
        assert!(s.rest.sample.is_empty());
        assert!(s.rest.string_table.is_empty());
        assert_eq!(s.strings, p.string_table);
        let mut r = SampleReader::default();
        r.read(s.samples[0]).unwrap();
        assert_eq!(r.location_ids, [1, 2, 300]);
        assert_eq!(r.values, [-5]);
        assert_eq!(r.labels, p.sample[0].label);
        r.read(s.samples[1]).unwrap();
        assert!(r.location_ids.is_empty() && r.values.is_empty() && r.labels.is_empty());
    }

    #[test]
    fn unpacked_fields_and_unknown_fields_are_read() {
        // location_id 3 unpacked, value 4 unpacked, unknown field 9 (fixed64).
        let buf = [0x08, 3, 0x10, 4, 0x49, 1, 2, 3, 4, 5, 6, 7, 8, 0x08, 5];
        let mut r = SampleReader::default();
        r.read(&buf).unwrap();
        assert_eq!(r.location_ids, [3, 5]);
        assert_eq!(r.values, [4]);
        assert_eq!(proto::Sample::decode(&buf[..]).unwrap().location_id, [3, 5]);
    }

    #[test]
    fn bad_samples_get_prost_errors() {
        let mut r = SampleReader::default();
        for bad in [
            &[0x0a, 5, 1][..],
            &[0x08][..],
            &[0x08, 0xff][..],
            &[0x0d, 1][..],
        ] {
            let e = r.read(bad).unwrap_err();
            assert!(matches!(e, ProfileError::Decode(_)), "{e}");
            assert!(proto::Sample::decode(bad).is_err());
        }
        assert!(split(&[0x12, 10, 1]).is_none());
        // A key beyond u32 (prost: "invalid key value"), inside a sample.
        let big_key = [0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0];
        assert!(r.read(&big_key).is_err());
        assert!(proto::Sample::decode(&big_key[..]).is_err());
        // An unknown group, which prost skips: left to prost, not refused.
        let group = [0x08, 3, 0x23, 0x24];
        assert!(proto::Sample::decode(&group[..]).is_ok());
        assert!(r.read_with(&group, &mut Vec::new()).is_none());
    }
}
