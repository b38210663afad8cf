//! Wire format: profile.proto messages, gzip sniffing, size limits, encoding.
//!
//! A pprof file is a `perftools.profiles.Profile` protobuf message, usually
//! gzip-compressed (Go's `/debug/pprof/*` endpoints always compress, without
//! saying so in a `Content-Encoding` header). [`decode`] accepts both: it looks
//! at the first two bytes (`1f 8b`) rather than at a file name.
//!
//! Decompression is bounded by [`ReadOptions::max_decompressed_bytes`] so that a
//! gzip bomb fails with [`ProfileError::TooLarge`](crate::ProfileError::TooLarge) instead of exhausting memory.
//!
//! This layer only checks that the bytes are a well-formed message; the model
//! layer (`Profile`) checks ids and string indices.

mod codec;
pub mod proto;
pub mod wire;

pub use codec::*;
