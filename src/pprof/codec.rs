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
    let isize_hint = data
        .len()
        .checked_sub(4)
        .map(|i| u32::from_le_bytes(data[i..].try_into().expect("4 bytes")) as usize)
        .unwrap_or(0);
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
    if raw.is_empty() {
        return Err(ProfileError::Empty);
    }
    if looks_like_legacy_text(&raw) {
        return Err(ProfileError::LegacyText);
    }
    Ok(raw)
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
