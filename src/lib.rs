//! # heapframe
//!
//! Go memory-leak investigations as data. heapframe reads pprof profiles
//! (heap, allocs, goroutine, CPU, mutex/block, or any other pprof file),
//! turns them into polars tables, and computes what `go tool pprof`
//! computes — `top`, `-base`/`-diff_base` deltas, focus/ignore/hide/show —
//! with the same numbers and, for text output, the same bytes.
//!
//! Layers (each only uses those above it in this list):
//! - [`pprof`]: the wire format (prost messages, gzip sniffing, size bounds);
//! - [`profile`]: the validated model ([`Profile`]);
//! - [`frames`]: `samples` and `frames` DataFrames ([`frames::Tables`]);
//! - [`report`]: pprof's analyses ([`report::top()`], [`report::subtract`]);
//! - evidence: [`bundle`] (incident folders), [`metrics`] (scrapes, leak
//!   verdict) and, with the `live` feature (on by default), `fetch`
//!   (profiles and metrics from running services), `collect` (the incident
//!   collector) and `prometheus` (metric history from a Prometheus server).
//!
//! ```
//! use heapframe::{Profile, report::{top, TopOptions}};
//! let p = Profile::from_path("tests/data/conformance/profiles/svc.heap.2.pb.gz")?;
//! let report = top(&p, &TopOptions { node_count: 3, ..Default::default() })?;
//! assert_eq!(report.rows[0].name, "bytes.Clone");
//! print!("{}", report.to_text());
//! # Ok::<(), heapframe::Error>(())
//! ```

pub mod bundle;
pub mod checklist;
pub mod classify;
#[cfg(feature = "live")]
pub mod collect;
pub mod error;
#[cfg(feature = "live")]
pub mod fetch;
#[cfg(feature = "tables")]
pub mod frames;
pub mod metrics;
pub mod pprof;
pub mod profile;
#[cfg(feature = "live")]
pub mod prometheus;
pub mod report;
pub mod series;

pub use error::{Error, FetchError, ProfileError, Result};
pub use profile::Profile;
