//! The evidence of an incident beyond one profile: the bundle folder, metric
//! series and their parsers, the leak verdict and regression check, the
//! goroutine check and the on-call checklist.

pub mod bundle;
pub mod checklist;
pub mod gctrace;
pub mod goroutines;
pub mod metrics;
pub mod timeline;
pub mod verdict;

pub use bundle::{Bundle, Manifest, SnapshotKind};
pub use goroutines::{GoroutineCheck, goroutine_check};
pub use metrics::{MetricSample, MetricSeries};
pub use verdict::{LeakVerdict, Validation, Verdict, validate, verdict};
