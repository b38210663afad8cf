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

/// A regression check that was run: the after-fix bundle and what it
/// concluded.
#[derive(Debug, Clone, Copy)]
pub struct AfterFix<'a> {
    /// Where the after-fix bundle was read from.
    pub path: &'a std::path::Path,
    /// The outcome of the check.
    pub outcome: Outcome,
}

/// Evaluates the checklist on `bundle`; `after` is the regression check run
/// against an after-fix bundle, when there was one (without it, the
/// manifest's `after_fix` is looked at, but no check was run).
pub fn checklist(bundle: &Bundle, after: Option<AfterFix<'_>>) -> Vec<Item> {
    let mut items = Vec::new();
    let (status, detail) = internal_target(&bundle.manifest.target);
    items.push(Item {
        item: "pprof endpoint is internal-only",
        status,
        detail,
    });

    let heap = &bundle.heap;
    let span = match (heap.first(), heap.last()) {
        (Some(a), Some(b)) => (b.time_ms - a.time_ms) / 1000,
        _ => 0,
    };
    items.push(Item {
        item: "two or more heap snapshots at least 5 minutes apart",
        status: if heap.len() >= 2 && span >= MIN_SNAPSHOT_SPAN_SECS {
            Status::Passed
        } else {
            Status::Failed
        },
        detail: format!(
            "{} heap snapshots, {} s between the first and the last (need ≥ 2 and ≥ {} s)",
            heap.len(),
            span,
            MIN_SNAPSHOT_SPAN_SECS
        ),
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

    if let Some(a) = after {
        let (status, what) = match a.outcome {
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
                a.path.display(),
                a.outcome.as_str()
            ),
        });
        return items;
    }
    let after = bundle
        .manifest
        .after_fix
        .as_ref()
        .map(|a| match &bundle.root {
            Some(r) => r.join(a),
            None => a.into(),
        });
    items.push(Item {
        item: "post-fix regression done",
        status: match &after {
            Some(p) if p.is_dir() => Status::Passed,
            Some(_) => Status::Failed,
            None => Status::Open,
        },
        detail: match &after {
            Some(p) if p.is_dir() => format!("after-fix bundle {}: run `heapframe validate` on the pair", p.display()),
            Some(p) => format!("the manifest names {} as the after-fix bundle, but it does not exist", p.display()),
            None => "not yet: capture a bundle after the fix under the same load, run `heapframe validate BEFORE AFTER`, and set after_fix in the manifest".into(),
        },
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
