//! # heapframe
//!
//! Go memory-leak investigations as data. heapframe reads pprof profiles
//! (heap, allocs, goroutine, CPU, mutex/block, or any other pprof file),
//! turns them into polars tables, and computes what `go tool pprof`
//! computes — `top`, `-base`/`-diff_base` deltas, focus/ignore/hide/show —
//! with the same numbers and, for text output, the same bytes.
//!
//! The modules, in layers: each uses only those above it (and the leaves
//! [`error`], [`defaults`], [`units`], [`files`], [`address`], [`escape`],
//! which serve everyone; `tests/layers.rs` checks it):
//! - [`pprof`]: the wire format (prost messages, gzip sniffing, size bounds);
//! - [`profile`]: the validated model ([`Profile`]: a stack tree and
//!   columnar samples);
//! - [`report`]: pprof's analyses ([`report::top()`],
//!   [`report::compare::subtract`], filters);
//! - `tables` (feature `tables`): the `samples` and `stacks` DataFrames;
//! - [`growth`]: growth ranking across snapshots, the widening call path,
//!   allocation kinds;
//! - [`evidence`]: incident bundles, metrics, the leak verdict and
//!   regression check, the goroutine check, the on-call checklist;
//! - `dataset` (feature `dataset`, on by default): the append-only,
//!   Hive-partitioned Parquet dataset that `heapframe export` writes;
//! - `live` (feature `live`, on by default): fetching profiles and metrics
//!   from running services, the incident collector, Prometheus history;
//! - [`findings`]: the evidence chain computed once, as data;
//! - `views` (feature `views`, on by default): flame graphs, SVG charts,
//!   notebook displays and the standalone report page, all rendering
//!   [`findings`]. In a notebook, `use heapframe::prelude::*;` brings the
//!   display trait into scope.
//!
//! ```
//! use heapframe::{Profile, report::{top, TopOptions}};
//! let p = Profile::from_path("tests/data/conformance/profiles/svc.heap.2.pb.gz")?;
//! let report = top(&p, &TopOptions { node_count: 3, ..Default::default() })?;
//! assert_eq!(report.rows[0].name, "bytes.Clone");
//! print!("{}", report.to_text());
//! # Ok::<(), heapframe::Error>(())
//! ```

#![warn(missing_docs)]

pub mod address;
pub mod defaults;
pub mod error;
pub mod escape;
pub mod files;
pub mod units;

#[cfg(feature = "dataset")]
pub mod dataset;
pub mod evidence;
pub mod findings;
pub mod growth;
#[cfg(feature = "live")]
pub mod live;
pub mod pprof;
pub mod profile;
pub mod report;
#[cfg(feature = "tables")]
pub mod tables;
#[cfg(feature = "views")]
pub mod views;

pub use error::{Error, FetchError, ProfileError, Result};
/// The polars heapframe's tables are made with, for queries in notebooks
/// (`use heapframe::polars::prelude::*;`) without a second `:dep` whose
/// version and features would have to match. The `notebook` feature adds
/// polars' lazy API and string expressions.
#[cfg(feature = "tables")]
pub use polars;
pub use profile::Profile;

/// What a notebook's first cell imports: `use heapframe::prelude::*;`.
///
/// It brings [`NotebookDisplay`](crate::views::notebook::NotebookDisplay) into scope, so every result
/// (and polars `DataFrame`s) renders as an HTML table in evcxr, plus what
/// the notebooks call: the bundle and its findings, the verdict and the
/// fix's validation, growth, top and deltas, tables, flame graphs and
/// plots. polars' own names come with `use heapframe::polars::prelude::*;`.
/// Each line below is a notebook cell whose value renders itself
/// (`evcxr_display`):
///
/// ```
/// use heapframe::prelude::*;
/// let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
/// let _ = b.findings()?.verdict.to_html();             // the verdict from all the evidence
/// let t = growth(&b.heap, &Default::default())?;
/// let _ = t.to_html();                                   // cell `t`: the growth table
/// let _ = growth_plot(&t)?;                              // the growth chart
/// let _ = metrics_plot(&b.metrics)?;                     // metric trends with GC marks
/// let _ = flame(b.last_heap()?)?;                        // static SVG
/// let _ = diff_flame(b.first_heap()?, b.last_heap()?)?.interactive(); // zoom + search
/// let _ = t.to_dataframe()?.to_html();                   // any DataFrame as an HTML table
/// # Ok::<(), heapframe::Error>(())
/// ```
#[cfg(feature = "views")]
pub mod prelude {
    pub use crate::evidence::bundle::Bundle;
    pub use crate::evidence::bundle::timeline_entries as timeline;
    pub use crate::evidence::checklist::checklist;
    pub use crate::evidence::goroutines::goroutine_check;
    pub use crate::evidence::timeline::EventKind;
    pub use crate::evidence::verdict::{
        VerdictOptions, validate, validate_with, verdict, verdict_with,
    };
    pub use crate::findings::{Findings, FindingsOptions};
    pub use crate::findings::{InstanceGrowth, InstanceVerdict, growth_by_instance, verdicts_of};
    pub use crate::growth::classify::Classifier;
    pub use crate::growth::{GrowthKey, GrowthOptions, SnapshotSeries, growth};
    pub use crate::profile::Profile;
    pub use crate::report::{BaseOptions, TopOptions, delta, subtract, top};
    pub use crate::tables::Tables;
    pub use crate::views::chart::Chart;
    pub use crate::views::flame::{FlameOptions, diff_flame, diff_flames, flame, icicle};
    pub use crate::views::notebook::{NotebookDisplay, ShowErr};
    pub use crate::views::plot::{
        before_after_plot, bundle_before_after_plot, bundle_growth_plot, bundle_metrics_plot,
        growth_bars, growth_plot, metrics_plot,
    };
    #[cfg(feature = "dataset")]
    pub use crate::{
        dataset::{Dataset, Origin, Selection},
        findings::verdicts_by_instance,
    };
}
