//! Gzip sniffing, size bounds, decoding and encoding of whole messages.

use std::io::{Read, Write};

use prost::Message;

use super::proto;
use crate::error::ProfileError;

/// The default bound on the decompressed size of one profile: 512 MiB.
///
/// Real heap profiles of large services decompress to tens of MB; CPU
/// profiles of busy machines to a few hundred MB at most.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 512 << 20;

/// How to read a profile.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Upper bound on the decompressed (or raw) size of the protobuf message.
    /// Default: [`DEFAULT_MAX_DECOMPRESSED_BYTES`].
    pub max_decompressed_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }
}

/// True when `data` starts with the gzip magic bytes.
pub fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

/// Returns the protobuf bytes of a profile: gunzipped when `data` is gzip,
/// else `data` itself, in both cases bounded by `opts`.
pub fn uncompressed<'a>(
    data: &'a [u8],
    opts: &ReadOptions,
) -> Result<std::borrow::Cow<'a, [u8]>, ProfileError> {
    let limit = opts.max_decompressed_bytes;
    if !is_gzip(data) {
        if data.len() as u64 > limit {
            return Err(ProfileError::TooLarge { limit });
        }
        return Ok(std::borrow::Cow::Borrowed(data));
    }
    // A gzip member ends with its uncompressed size modulo 2^32 (ISIZE):
    // a good first guess for the buffer, never trusted beyond the limit.
    let isize_hint = gzip_size_hint(data);
    let guess = if isize_hint >= data.len() {
        isize_hint.saturating_add(1)
    } else {
        data.len().saturating_mul(4)
    };
    let mut out = Vec::with_capacity(guess.min(limit as usize).min(1 << 30));
    let decoder = flate2::read::MultiGzDecoder::new(data);
    decoder
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| ProfileError::Gzip(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(ProfileError::TooLarge { limit });
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// The protobuf bytes of a profile file, checked for what is plainly not a
/// profile: empty input, corrupt or oversized gzip, legacy text formats.
pub fn checked_raw<'a>(
    data: &'a [u8],
    opts: &ReadOptions,
) -> Result<std::borrow::Cow<'a, [u8]>, ProfileError> {
    if data.is_empty() {
        return Err(ProfileError::Empty);
    }
    let raw = uncompressed(data, opts)?;
    check_decompressed(&raw)?;
    Ok(raw)
}

/// The checks of [`checked_raw`] that look at the decompressed bytes.
pub fn check_decompressed(raw: &[u8]) -> Result<(), ProfileError> {
    if raw.is_empty() {
        return Err(ProfileError::Empty);
    }
    if looks_like_legacy_text(raw) {
        return Err(ProfileError::LegacyText);
    }
    Ok(())
}

/// The decompressed size from which [`gunzip_streamed`] decompresses on a
/// second thread: below it the thread costs more than it saves.
pub const STREAM_FROM_BYTES: usize = 4 << 20;

/// How much [`gunzip_streamed`] decompresses per read.
const STREAM_CHUNK: usize = 256 << 10;

/// The least [`gunzip_streamed`] leaves unread when decompression ends
/// for its second thread to read half of it: below it, handing work over
/// costs more than it saves.
const HELP_FROM_BYTES: usize = 1 << 20;

/// The uncompressed size a gzip member's trailer gives (ISIZE, modulo
/// 2^32): a hint only, since a file may hold several members or lie.
fn gzip_size_hint(data: &[u8]) -> usize {
    data.len()
        .checked_sub(4)
        .map(|i| u32::from_le_bytes(data[i..].try_into().expect("4 bytes")) as usize)
        .unwrap_or(0)
}

/// The decompressed pieces waiting for the reader of the first part.
#[derive(Default)]
struct Queue<'s> {
    state: std::sync::Mutex<QueueState<'s>>,
    ready: std::sync::Condvar,
}

#[derive(Default)]
struct QueueState<'s> {
    pieces: std::collections::VecDeque<&'s [u8]>,
    /// No piece will be added.
    done: bool,
    /// The reader stopped: add nothing more.
    closed: bool,
}

/// Says on drop that no piece will be added, so that the reader never
/// waits for a decompressing thread that stopped, even by a panic.
struct Ending<'q, 's>(&'q Queue<'s>);

impl Drop for Ending<'_, '_> {
    fn drop(&mut self) {
        self.0.end(|_| ());
    }
}

impl<'s> Queue<'s> {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState<'s>> {
        // A reader that panicked leaves nothing half-changed here.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a piece; false when the reader has stopped.
    fn push(&self, piece: &'s [u8]) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        state.pieces.push_back(piece);
        drop(state);
        self.ready.notify_one();
        true
    }

    /// Says that no piece will be added, and returns what `take` takes
    /// from the pieces at that moment.
    fn end<R>(&self, take: impl FnOnce(&mut QueueState<'s>) -> R) -> R {
        let mut state = self.lock();
        state.done = true;
        let taken = take(&mut state);
        drop(state);
        self.ready.notify_all();
        taken
    }

    /// Says that no piece will be added, and takes the later half (in
    /// bytes) of what the reader has not read yet when that is worth
    /// reading on another thread.
    fn finish(&self) -> Vec<&'s [u8]> {
        self.end(|state| {
            let waiting: usize = state.pieces.iter().map(|p| p.len()).sum();
            if state.closed || waiting < HELP_FROM_BYTES || state.pieces.len() < 2 {
                return Vec::new();
            }
            let (mut from, mut later) = (state.pieces.len(), 0);
            while from > 1 && later < waiting / 2 {
                from -= 1;
                later += state.pieces[from].len();
            }
            state.pieces.split_off(from).into()
        })
    }
}

/// The pieces of a profile [`gunzip_streamed`] hands to a reader, in
/// order, as they are decompressed; each piece ends where a top-level field
/// ends, except perhaps the last. The reader of the first part gets the
/// pieces from the start of the profile; the reader of the later part, when
/// there is one, the pieces after those ([`Pieces::is_first`]).
pub struct Pieces<'s> {
    from: Source<'s>,
    size: usize,
}

enum Source<'s> {
    /// The first part: from the queue the decompressing thread fills.
    Queue(&'s Queue<'s>),
    /// The later part: pieces taken from the end of the queue.
    Taken(std::vec::IntoIter<&'s [u8]>),
}

impl Pieces<'_> {
    /// The decompressed size the gzip trailer gives (the pieces of both
    /// parts add up to at most this much).
    pub fn size_hint_bytes(&self) -> usize {
        self.size
    }

    /// Whether these pieces start where the profile starts (otherwise they
    /// continue where the first part's pieces end).
    pub fn is_first(&self) -> bool {
        matches!(self.from, Source::Queue(_))
    }

    /// Waits until decompression has ended (and the later half of the
    /// pieces has been taken by the other thread), so that tests read in
    /// two parts whatever the timing.
    #[cfg(test)]
    pub(crate) fn wait_for_the_end(&self) {
        if let Source::Queue(queue) = self.from {
            let mut state = queue.lock();
            while !state.done {
                state = queue.ready.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

impl<'s> Iterator for Pieces<'s> {
    type Item = &'s [u8];

    fn next(&mut self) -> Option<&'s [u8]> {
        match &mut self.from {
            Source::Taken(pieces) => pieces.next(),
            Source::Queue(queue) => {
                let mut state = queue.lock();
                loop {
                    if let Some(piece) = state.pieces.pop_front() {
                        return Some(piece);
                    }
                    if state.done {
                        return None;
                    }
                    state = queue.ready.wait(state).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }
}

impl Drop for Pieces<'_> {
    fn drop(&mut self) {
        if let Source::Queue(queue) = self.from {
            queue.lock().closed = true;
        }
    }
}

/// What [`gunzip_streamed`] made of a profile: all its decompressed bytes
/// and what the reader made of its pieces, in two parts when the
/// decompressing thread read the later pieces itself.
pub struct Streamed<T> {
    /// The decompressed bytes.
    pub raw: Vec<u8>,
    /// What the reader made of the first part.
    pub first: T,
    /// What it made of the later part, when there was one.
    pub later: Option<T>,
}

/// Decompresses the gzip profile `data` on a second thread while `read`
/// reads the decompressed bytes on this one, in [`Pieces`] that hold whole
/// top-level fields (the samples, which Go writes first, can be read while
/// the rest is still being decompressed). When decompression ends with much
/// left to read, the second thread reads the later half of it with `read`
/// too, so that both threads read until the end.
///
/// `None` when the data is not streamed and should be read the usual way
/// ([`checked_raw`]), which also says what is wrong with it: not gzip,
/// smaller than [`STREAM_FROM_BYTES`], a trailer size over the bound of
/// `opts`, bad compressed data, or more bytes than the trailer said (the
/// buffer is sized from the trailer and never grows). A `read` that stops
/// early loses nothing: decompression goes on to the end.
pub fn gunzip_streamed<T: Send>(
    data: &[u8],
    opts: &ReadOptions,
    read: impl for<'s> Fn(Pieces<'s>) -> T + Sync,
) -> Option<Streamed<T>> {
    if !is_gzip(data) {
        return None;
    }
    let hint = gzip_size_hint(data);
    if hint < STREAM_FROM_BYTES || hint as u64 > opts.max_decompressed_bytes {
        return None;
    }
    // One byte more than the trailer says: filling it means the trailer
    // was wrong.
    let mut buf = vec![0u8; hint + 1];
    let queue = Queue::default();
    let ((total, later), first) = std::thread::scope(|s| {
        let (queue, read) = (&queue, &read);
        let out = &mut buf[..];
        let inflater = s.spawn(move || {
            let _ending = Ending(queue);
            let total = inflate_in_pieces(data, out, queue);
            let taken = queue.finish();
            let later = (!taken.is_empty()).then(|| {
                read(Pieces {
                    from: Source::Taken(taken.into_iter()),
                    size: hint,
                })
            });
            (total, later)
        });
        let first = read(Pieces {
            from: Source::Queue(queue),
            size: hint,
        });
        let done = inflater.join().unwrap_or((None, None));
        (done, first)
    });
    let total = total.filter(|&n| n <= hint)?;
    buf.truncate(total);
    Some(Streamed {
        raw: buf,
        first,
        later,
    })
}

/// Decompresses `data` into `out`, adding each stretch of whole top-level
/// fields to `queue` as soon as it is complete. The total size, or `None`
/// for bad data or a stream longer than `out`.
fn inflate_in_pieces<'s>(data: &[u8], mut out: &'s mut [u8], queue: &Queue<'s>) -> Option<usize> {
    let mut decoder = flate2::read::MultiGzDecoder::new(data);
    // `out[..filled]` is decompressed and not handed over yet; its first
    // `whole` bytes are whole fields.
    let (mut filled, mut whole, mut total) = (0usize, 0usize, 0usize);
    let mut reading = true;
    loop {
        if filled == out.len() {
            return None;
        }
        let end = (filled + STREAM_CHUNK).min(out.len());
        let n = match decoder.read(&mut out[filled..end]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        filled += n;
        total += n;
        if !reading {
            continue;
        }
        whole = super::wire::whole_fields_end(&out[..filled], whole);
        if whole >= STREAM_CHUNK / 4 {
            let (piece, rest) = std::mem::take(&mut out).split_at_mut(whole);
            out = rest;
            filled -= whole;
            whole = 0;
            reading = queue.push(piece);
        }
    }
    if filled > 0 && reading {
        queue.push(&out[..filled]);
    }
    Some(total)
}

/// Decodes a profile from gzip-compressed or raw protobuf bytes into the
/// wire message. ([`crate::Profile::from_bytes`] reads samples directly,
/// without this intermediate message.)
pub fn decode(data: &[u8], opts: &ReadOptions) -> Result<proto::Profile, ProfileError> {
    decode_raw(&checked_raw(data, opts)?)
}

/// Decodes the protobuf bytes of a profile (already decompressed and
/// checked by [`checked_raw`]) with prost.
pub fn decode_raw(raw: &[u8]) -> Result<proto::Profile, ProfileError> {
    if count_top_level_field(raw, 9)? > 1 {
        return Err(ProfileError::Concatenated);
    }
    proto::Profile::decode(raw).map_err(|e| ProfileError::Decode(e.to_string()))
}

/// Reads all of `reader`, refusing more than the bound of `opts`.
pub fn read_bounded<R: Read>(reader: R, opts: &ReadOptions) -> Result<Vec<u8>, ProfileError> {
    let mut data = Vec::new();
    reader
        .take(opts.max_decompressed_bytes.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(ProfileError::Io)?;
    if data.len() as u64 > opts.max_decompressed_bytes {
        return Err(ProfileError::TooLarge {
            limit: opts.max_decompressed_bytes,
        });
    }
    Ok(data)
}

/// Reads all of `reader` (bounded by `opts`) and decodes it.
pub fn decode_reader<R: Read>(
    reader: R,
    opts: &ReadOptions,
) -> Result<proto::Profile, ProfileError> {
    decode(&read_bounded(reader, opts)?, opts)
}

/// Encodes a profile as gzip-compressed protobuf, the format Go serves.
pub fn encode_gzip(profile: &proto::Profile) -> Vec<u8> {
    let raw = profile.encode_to_vec();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&raw).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// Legacy pprof text formats (`?debug=1`), which carry no symbol names.
fn looks_like_legacy_text(raw: &[u8]) -> bool {
    const PREFIXES: [&[u8]; 7] = [
        b"heap profile:",
        b"goroutine profile:",
        b"threadcreate profile:",
        b"--- contention",
        b"--- mutex",
        b"--- heap",
        b"--- thread",
    ];
    PREFIXES.iter().any(|p| raw.starts_with(p))
}

/// Counts occurrences of a top-level field, walking the wire format without
/// decoding nested messages. Errors are left to the full decode, except a
/// truncated length which is reported here.
fn count_top_level_field(mut buf: &[u8], field: u64) -> Result<usize, ProfileError> {
    let mut count = 0;
    while !buf.is_empty() {
        let Some((key, rest)) = read_varint(buf) else {
            return Ok(count); // let prost report the exact problem
        };
        buf = rest;
        if key >> 3 == field {
            count += 1;
        }
        match key & 7 {
            0 => match read_varint(buf) {
                Some((_, rest)) => buf = rest,
                None => return Ok(count),
            },
            1 => buf = buf.get(8..).unwrap_or(&[]),
            2 => {
                let Some((len, rest)) = read_varint(buf) else {
                    return Ok(count);
                };
                if len > rest.len() as u64 {
                    return Err(ProfileError::Decode(format!(
                        "truncated input: a field of {len} bytes is cut short after {} bytes",
                        rest.len()
                    )));
                }
                buf = &rest[len as usize..];
            }
            5 => buf = buf.get(4..).unwrap_or(&[]),
            _ => return Ok(count),
        }
    }
    Ok(count)
}

fn read_varint(buf: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &buf[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trip_and_sniffing() {
        let p = proto::Profile {
            string_table: vec![b"".to_vec(), b"x".to_vec()],
            time_nanos: 5,
            ..Default::default()
        };
        let gz = encode_gzip(&p);
        assert!(is_gzip(&gz));
        assert_eq!(decode(&gz, &ReadOptions::default()).unwrap(), p);
        let raw = p.encode_to_vec();
        assert_eq!(decode(&raw, &ReadOptions::default()).unwrap(), p);
    }

    #[test]
    fn bomb_is_bounded() {
        let p = proto::Profile {
            string_table: vec![vec![b'a'; 10_000]],
            ..Default::default()
        };
        let gz = encode_gzip(&p);
        let opts = ReadOptions {
            max_decompressed_bytes: 1000,
        };
        assert!(matches!(
            decode(&gz, &opts),
            Err(ProfileError::TooLarge { limit: 1000 })
        ));
    }

    #[test]
    fn concatenated_profiles_are_rejected() {
        let p = proto::Profile {
            time_nanos: 7,
            ..Default::default()
        };
        let mut raw = p.encode_to_vec();
        raw.extend(p.encode_to_vec());
        assert!(matches!(
            decode(&raw, &ReadOptions::default()),
            Err(ProfileError::Concatenated)
        ));
    }
}
