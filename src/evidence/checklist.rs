//! The on-call checklist, evaluated on a bundle.
//!
//! What heapframe can judge from the bundle is marked passed or failed with
//! the evidence; what only a person can answer (does the cache have a size
//! limit and a TTL?) stays an open question, whatever the manifest says.

use crate::address::{AddressClass, Host, TargetUrl, classify, classify_name};
use crate::evidence::bundle::Bundle;
use crate::evidence::metrics::names;
use crate::evidence::verdict::Outcome;

/// The state of a checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Satisfied, with evidence.
    Passed,
    /// Not satisfied.
    Failed,
    /// Needs a person (or data the bundle lacks).
    Open,
}

impl Status {
    /// `passed`, `FAILED` or `open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "FAILED",
            Status::Open => "open",
        }
    }
}

/// One item of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What is checked.
    pub item: &'static str,
    /// Its state.
    pub status: Status,
    /// The evidence, or what to do.
    pub detail: String,
}

/// The minimum time between the first and last heap snapshot.
pub const MIN_SNAPSHOT_SPAN_SECS: i64 = 300;

/// Judges whether a target such as `http://10.0.3.7:6060/debug/pprof` is
/// internal-only, reading it exactly as the collector does
/// ([`TargetUrl::parse`]): loopback, private and link-local addresses pass,
/// public and cloud-metadata addresses fail, a host name other than
/// `localhost` stays open (only its resolution can tell).
pub fn internal_target(target: &str) -> (Status, String) {
    if target.trim().is_empty() {
        return (
            Status::Open,
            "the manifest names no target: say where the profiles came from".into(),
        );
    }
    let url = match TargetUrl::parse(target) {
        Ok(u) => u,
        Err(e) => {
            return (
                Status::Open,
                format!("the manifest's target cannot be judged: {e}"),
            );
        }
    };
    let (host, class) = match url.host() {
        Host::Ip(ip) => (ip.to_string(), Some(classify(*ip))),
        Host::Name(name) => (name.clone(), classify_name(name)),
    };
    match class {
        Some(AddressClass::Loopback | AddressClass::Private) => {
            (Status::Passed, format!("{host} is an internal address"))
        }
        Some(AddressClass::LinkLocal) => (
            Status::Passed,
            format!("{host} is a link-local address, not routed beyond its network segment"),
        ),
        Some(AddressClass::Metadata) => (
            Status::Failed,
            format!("{host} is a cloud metadata service address, not a service's pprof endpoint"),
        ),
        Some(AddressClass::Public) => (
            Status::Failed,
            format!("{host} is a public address: the pprof endpoint must not be exposed"),
        ),
        None => (
            Status::Open,
            format!("{host:?} is a host name: confirm it resolves to an internal address only"),
        ),
    }
}

/// What became of the regression check, as the caller already knows it.
#[derive(Debug, Clone, Copy)]
pub enum AfterFix<'a> {
    /// It ran against an after-fix bundle.
    Checked {
        /// Where the after-fix bundle was read from.
        path: &'a std::path::Path,
        /// The outcome of the check.
        outcome: Outcome,
    },
    /// The manifest's `after_fix` was refused ([`Bundle::after_fix`]'s
    /// error), so no check ran.
    Refused(&'a str),
}

/// Evaluates the checklist on `bundle`; `after` is what became of the
/// regression check, when the caller knows (without it, the manifest's
/// `after_fix` is opened and judged by [`Bundle::after_fix`], but no check
/// is run). Evidence must be what it claims: heap snapshot
/// times must be plausible ([`EARLIEST_PLAUSIBLE_MS`], [`FUTURE_SLACK_MS`],
/// [`MAX_SNAPSHOT_SPAN_SECS`]).
pub fn checklist(bundle: &Bundle, after: Option<AfterFix<'_>>) -> Vec<Item> {
    let mut items = Vec::new();
    let (status, detail) = internal_target(&bundle.manifest.target);
    items.push(Item {
        item: "pprof endpoint is internal-only",
        status,
        detail,
    });

    let heap = &bundle.heap;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let (status, detail) = match snapshot_span(heap, now_ms) {
        Ok(span) => (
            if heap.len() >= 2 && span >= MIN_SNAPSHOT_SPAN_SECS {
                Status::Passed
            } else {
                Status::Failed
            },
            format!(
                "{} heap snapshots, {} s between the first and the last (need ≥ 2 and ≥ {} s)",
                heap.len(),
                span,
                MIN_SNAPSHOT_SPAN_SECS
            ),
        ),
        Err(why) => (Status::Failed, why),
    };
    items.push(Item {
        item: "two or more heap snapshots at least 5 minutes apart",
        status,
        detail,
    });

    let comparable = heap.len() >= 2
        && heap
            .windows(2)
            .all(|w| w[0].profile.sample_types == w[1].profile.sample_types);
    items.push(Item {
        item: "base delta done",
        status: if comparable {
            Status::Passed
        } else {
            Status::Failed
        },
        detail: if comparable {
            format!(
                "{} per-pair deltas (pprof -base semantics) by `heapframe growth`",
                heap.len() - 1
            )
        } else {
            "needs two comparable heap snapshots".into()
        },
    });

    let g = bundle.metrics.points(names::GOROUTINES);
    let counts: Vec<i64> = bundle
        .goroutine
        .iter()
        .map(|s| s.profile.samples.iter().map(|x| x.values[0]).sum())
        .collect();
    let (status, detail) = if !counts.is_empty() {
        (
            Status::Passed,
            format!(
                "{} goroutine profiles: {} -> {} goroutines",
                counts.len(),
                counts[0],
                counts[counts.len() - 1]
            ),
        )
    } else if let (Some(a), Some(b)) = (g.first(), g.last()) {
        (
            Status::Passed,
            format!("{}: {} -> {}", names::GOROUTINES, a.1, b.1),
        )
    } else {
        (
            Status::Failed,
            "no goroutine profile and no go_goroutines metric".into(),
        )
    };
    items.push(Item {
        item: "goroutine count checked",
        status,
        detail,
    });

    const CACHE: &str = "cache has a size limit and a TTL";
    items.push(Item {
        item: CACHE,
        status: Status::Open,
        detail: match bundle.manifest.answers.get(CACHE) {
            Some(a) => format!("answered in the manifest: {a:?} (a person confirms this; heapframe cannot)"),
            None => "a question for the code owner: which caches does the growing path fill, and what bounds them?".into(),
        },
    });

    if let Some(AfterFix::Checked { path, outcome }) = after {
        let (status, what) = match outcome {
            Outcome::Fixed => (Status::Passed, "the fix holds"),
            Outcome::Improved => (
                Status::Open,
                "better, but not yet a plateau: check again later",
            ),
            Outcome::NotFixed => (Status::Failed, "memory still grows after the fix"),
            Outcome::NotEnoughData => (Status::Open, "the after-fix window is too short to judge"),
        };
        items.push(Item {
            item: "post-fix regression done",
            status,
            detail: format!(
                "regression check against {}: {} ({what})",
                path.display(),
                outcome.as_str()
            ),
        });
        return items;
    }
    // A refusal the caller already has is not judged again.
    let judged = match after {
        Some(AfterFix::Refused(why)) => Err(why.to_string()),
        _ => bundle.after_fix().map_err(|e| e.to_string()),
    };
    let (status, detail) = match judged {
        Ok(Some(after)) => (
            Status::Passed,
            format!(
                "after-fix bundle {}: run `heapframe validate` on the pair",
                after.name()
            ),
        ),
        Ok(None) => (
            Status::Open,
            "not yet: capture a bundle after the fix under the same load, run `heapframe validate BEFORE AFTER`, and set after_fix in the manifest".into(),
        ),
        Err(why) => (
            Status::Failed,
            format!("the after-fix bundle is not evidence: {why}"),
        ),
    };
    items.push(Item {
        item: "post-fix regression done",
        status,
        detail,
    });
    items
}

/// The checklist as text, one item per line (the evidence, which quotes
/// the manifest, printed through [`crate::escape::terminal`]).
pub fn to_text(items: &[Item]) -> String {
    items
        .iter()
        .map(|i| {
            format!(
                "[{:>6}] {}: {}\n",
                i.status.as_str(),
                i.item,
                crate::escape::terminal(&i.detail)
            )
        })
        .collect()
}

/// The earliest plausible capture time of a snapshot, Unix milliseconds
/// (2000-01-01T00:00:00Z: no Go heap profile is older).
pub const EARLIEST_PLAUSIBLE_MS: i64 = 946_684_800_000;

/// How far past the clock of the machine judging a capture time may be
/// (one day: clocks of two machines disagree, never by more).
pub const FUTURE_SLACK_MS: i64 = 86_400_000;

/// The longest plausible time between the first and last heap snapshot of
/// one incident (366 days).
pub const MAX_SNAPSHOT_SPAN_SECS: i64 = 366 * 86_400;

/// Judges the heap snapshots' capture times: `Err` names the first whose
/// time cannot be a capture time (before [`EARLIEST_PLAUSIBLE_MS`], or
/// more than [`FUTURE_SLACK_MS`] after `now_ms`), or a span longer than
/// [`MAX_SNAPSHOT_SPAN_SECS`]; `Ok` holds the span in seconds.
fn snapshot_span(heap: &[crate::profile::Snapshot], now_ms: i64) -> Result<i64, String> {
    let utc = |ms: i64| crate::units::format_time_utc(ms.saturating_mul(1_000_000));
    for s in heap {
        if s.time_ms < EARLIEST_PLAUSIBLE_MS || s.time_ms > now_ms.saturating_add(FUTURE_SLACK_MS) {
            return Err(format!(
                "{}: its capture time {} is not plausible (before 2000 or in the future): \
                 the snapshot's times cannot be trusted",
                s.path.display(),
                utc(s.time_ms)
            ));
        }
    }
    let span = match (heap.first(), heap.last()) {
        (Some(a), Some(b)) => (b.time_ms - a.time_ms) / 1000,
        _ => 0,
    };
    if span > MAX_SNAPSHOT_SPAN_SECS {
        return Err(format!(
            "{} s between {} and {} is longer than one incident (at most {} days)",
            span,
            heap[0].path.display(),
            heap[heap.len() - 1].path.display(),
            MAX_SNAPSHOT_SPAN_SECS / 86_400
        ));
    }
    Ok(span)
}
