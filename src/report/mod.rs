//! Analysis of one profile (or a comparison of two) that `go tool pprof`
//! also computes, with the same numbers and, for text, the same bytes.
//!
//! - [`top`](top::top): flat/cum table ([`TopReport`]), as text or a DataFrame;
//! - [`compare`]: `-base`, `-diff_base`, `-normalize`;
//! - [`filter`]: `focus`, `ignore`, `hide`, `show`, `drop_frames`;
//! - [`graph`]: the call graph a report is built from.

pub mod compare;
pub mod filter;
pub mod graph;
pub mod top;

pub use compare::{BaseMode, BaseOptions, delta, subtract};
pub use graph::Granularity;
pub use top::{InlineTag, TopOptions, TopReport, TopRow, top, top_bytes};
