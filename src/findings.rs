//! The evidence chain of an investigation, computed once, as data.
//!
//! [`Findings::of`] runs every step of the chain on a bundle (the leak
//! verdict from all the evidence ([`verdict_of`]: the metrics, the owner
//! that grows steadily across the heap snapshots, goroutines), growth
//! owners, the widening call path toward the owner ranked first, the regression check against an
//! after-fix bundle, and the on-call checklist) and states what each step
//! concludes as [`Sentence`]s: text with the names and verdict words marked,
//! made here and nowhere else. The command's output, the notebook displays
//! and the HTML page all render these same sentences, so they cannot
//! contradict one another; the checklist judges the regression check that
//! the rest of the page shows.
//!
//! ```
//! use heapframe::evidence::Bundle;
//! use heapframe::findings::{Findings, FindingsOptions};
//! let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
//! let f = Findings::of(&b, &FindingsOptions::default())?;
//! assert_eq!(f.verdict.verdict.as_str(), "leak");
//! assert!(f.to_text().contains("Heap: bytes.Clone grew most"));
//! # Ok::<(), heapframe::Error>(())
//! ```

use std::path::PathBuf;

use crate::error::Result;
use crate::evidence::bundle::Bundle;
use crate::evidence::checklist::{self, AfterFix, Status};
use crate::evidence::goroutines::{GoroutineCheck, goroutine_check};
use crate::evidence::verdict::{
    self, CombinedVerdict, GoroutineGrowth, OwnerGrowth, Validation, VerdictOptions,
};
use crate::growth::{
    GrowthKey, GrowthOptions, GrowthTable, HolderCandidate, Widening, growth, holder_candidates,
    ranked_widening,
};
use crate::units::thousands;

/// The snapshot kinds the leak verdict reads besides the metrics: heap
/// (the owner that grows) and goroutine profiles (goroutine growth, leaked
/// goroutines).
pub const VERDICT_KINDS: [crate::evidence::bundle::SnapshotKind; 3] = [
    crate::evidence::bundle::SnapshotKind::Heap,
    crate::evidence::bundle::SnapshotKind::Goroutine,
    crate::evidence::bundle::SnapshotKind::GoroutineLeak,
];

/// One replica's verdict, beside the others' ([`verdicts_of`],
/// [`verdicts_by_instance`]).
#[derive(Debug, Clone)]
pub struct InstanceVerdict {
    /// The instance.
    pub instance: String,
    /// Its verdict, from its own metrics and snapshots only.
    pub verdict: CombinedVerdict,
    /// Its heap snapshots.
    pub heap_snapshots: usize,
    /// The heap's default sample type (`inuse_space`) summed over the first
    /// and the last heap snapshot, with its unit.
    pub heap_total: Option<(i64, i64, crate::profile::ValueType)>,
    /// The least-squares slope of that sum over the heap snapshots, in its
    /// unit per minute (`None` with fewer than two snapshots or no time
    /// between them).
    pub heap_slope_per_min: Option<f64>,
    /// Its `go_memstats_heap_inuse_bytes` over time (Unix ms, bytes).
    pub heap_inuse: Vec<(i64, f64)>,
}

impl InstanceVerdict {
    /// Judges `bundle`, one instance's evidence, on its own: its verdict
    /// ([`verdict_of`]), heap sums and slope, heap in use.
    pub fn judge(instance: String, bundle: &Bundle, opts: &FindingsOptions) -> Result<Self> {
        let g = goroutine_check(bundle)?;
        let verdict = verdict_of(bundle, None, &g, opts)?;
        let (heap_total, heap_slope_per_min) = match bundle.heap.last() {
            Some(last) => {
                let p = &last.profile;
                let t = p.sample_types[p.default_sample_index()].clone();
                let times: Vec<i64> = bundle.heap.iter().map(|s| s.time_ms).collect();
                let totals: Vec<i64> = bundle
                    .heap
                    .iter()
                    .map(|s| s.profile.total_of(&t.name))
                    .collect();
                (
                    Some((totals[0], totals[totals.len() - 1], t)),
                    crate::growth::slope_per_min(&times, &totals),
                )
            }
            None => (None, None),
        };
        Ok(InstanceVerdict {
            instance,
            verdict,
            heap_snapshots: bundle.heap.len(),
            heap_total,
            heap_slope_per_min,
            heap_inuse: bundle
                .metrics
                .points(crate::evidence::metrics::names::HEAP_INUSE),
        })
    }

    /// The heap's slope as `+1.20MB/min` (`-` without one).
    pub fn slope_text(&self) -> String {
        match (&self.heap_total, self.heap_slope_per_min) {
            (Some((_, _, t)), Some(m)) => format!("{}/min", t.format_signed(m.round() as i64)),
            _ => "-".to_string(),
        }
    }

    /// `instance: leak (confidence medium 0.68); heap 1.52MB -> 11.87MB
    /// (+10.35MB) over 7 snapshots, slope +170.42kB/min; grows most:
    /// bytes.Clone (steadily)`.
    pub fn summary(&self) -> String {
        let v = &self.verdict;
        let mut s = format!(
            "{}: {} (confidence {} {:.2}); {}",
            self.instance,
            v.verdict.as_str(),
            v.confidence.word(),
            v.confidence.score,
            self.heap_change("->")
        );
        if self.heap_slope_per_min.is_some() {
            s.push_str(&format!(", slope {}", self.slope_text()));
        }
        if let Some((key, how)) = self.grows_most() {
            s.push_str(&format!("; grows most: {key} ({how})"));
        }
        s
    }

    /// `heap 1.52MB -> 11.87MB (+10.35MB) over 7 snapshots` (with `arrow`
    /// between the values), or `no heap snapshots`.
    pub fn heap_change(&self, arrow: &str) -> String {
        match &self.heap_total {
            Some((a, b, t)) => format!(
                "heap {} {arrow} {} ({}{}) over {} snapshots",
                t.format(*a),
                t.format(*b),
                if b >= a { "+" } else { "" },
                t.format(b - a),
                self.heap_snapshots
            ),
            None => "no heap snapshots".to_string(),
        }
    }

    /// What grows most in the instance's heap snapshots, and `steadily` or
    /// `not steadily`.
    pub fn grows_most(&self) -> Option<(&str, &'static str)> {
        self.verdict.owner.as_ref().map(|o| {
            (
                o.key.as_str(),
                if o.steady { "steadily" } else { "not steadily" },
            )
        })
    }

    /// The instances of `all` whose verdict is `verdict`, in order.
    pub fn with_verdict(all: &[InstanceVerdict], verdict: verdict::Verdict) -> Vec<&str> {
        all.iter()
            .filter(|v| v.verdict.verdict == verdict)
            .map(|v| v.instance.as_str())
            .collect()
    }

    /// `2 of 4 instances leak: replica-1, replica-3` (without the names
    /// when none leaks).
    pub fn leak_count(all: &[InstanceVerdict]) -> String {
        let leaking = Self::with_verdict(all, verdict::Verdict::Leak);
        let mut s = format!("{} of {} instances leak", leaking.len(), all.len());
        if !leaking.is_empty() {
            s.push_str(": ");
            s.push_str(&leaking.join(", "));
        }
        s
    }

    /// Every instance's heap in use over time as one table: `time`
    /// (datetime, ms), `instance`, `heap_inuse_bytes`: for a chart of the
    /// replicas side by side (`Chart::lines(&df, "time",
    /// "heap_inuse_bytes").by("instance")`).
    #[cfg(feature = "tables")]
    pub fn heap_frame(instances: &[InstanceVerdict]) -> Result<polars::prelude::DataFrame> {
        use polars::prelude::{Column, DataFrame, DataType, TimeUnit};
        let (mut time, mut inst, mut value) = (Vec::new(), Vec::new(), Vec::new());
        for v in instances {
            for &(t, y) in &v.heap_inuse {
                time.push(t);
                inst.push(v.instance.as_str());
                value.push(y);
            }
        }
        let n = time.len();
        let time = Column::new("time".into(), time)
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .map_err(|e| crate::Error::Output(format!("building a table failed: {e}")))?;
        DataFrame::new(
            n,
            vec![
                time,
                Column::new("instance".into(), inst),
                Column::new("heap_inuse_bytes".into(), value),
            ],
        )
        .map_err(|e| crate::Error::Output(format!("building a table failed: {e}")))
    }
}

/// One instance's growth, beside the others' ([`growth_by_instance`]).
#[derive(Debug, Clone)]
pub struct InstanceGrowth {
    /// The instance.
    pub instance: String,
    /// Its snapshots of the kind ranked.
    pub snapshots: usize,
    /// The sample type ranked (`None` without snapshots).
    pub sample_type: Option<crate::profile::ValueType>,
    /// Its snapshots' times (Unix ms) and totals of that sample type.
    pub times_ms: Vec<i64>,
    /// The totals, one per snapshot.
    pub totals: Vec<i64>,
    /// What grows most in it ([`GrowthTable::top_grower`]; its table is
    /// not kept, so that many instances fit in memory).
    pub top: Option<crate::growth::GrowthRow>,
    /// The least-squares slope of its total over its snapshots, per minute
    /// (`None` with fewer than two snapshots or no time between them).
    pub slope_per_min: Option<f64>,
}

impl InstanceGrowth {
    /// The total at the first and the last snapshot.
    pub fn first_last(&self) -> Option<(i64, i64)> {
        Some((*self.totals.first()?, *self.totals.last()?))
    }

    /// What grows most in it.
    pub fn top_grower(&self) -> Option<&crate::growth::GrowthRow> {
        self.top.as_ref()
    }

    /// The instances side by side as a table: `instance`, `snapshots`,
    /// `sample_type`, `unit`, `first`, `last`, `delta`, `slope_per_min`,
    /// `top_grower`, `top_grower_delta`, `top_grower_slope_per_min` (nulls
    /// where an instance has no snapshots or nothing grew).
    #[cfg(feature = "tables")]
    pub fn frame(all: &[InstanceGrowth]) -> Result<polars::prelude::DataFrame> {
        use polars::prelude::{Column, DataFrame};
        let st = all.iter().find_map(|g| g.sample_type.as_ref());
        let n = all.len();
        let fl: Vec<Option<(i64, i64)>> = all.iter().map(InstanceGrowth::first_last).collect();
        let top: Vec<Option<&crate::growth::GrowthRow>> =
            all.iter().map(InstanceGrowth::top_grower).collect();
        DataFrame::new(
            n,
            vec![
                Column::new(
                    "instance".into(),
                    all.iter().map(|g| g.instance.as_str()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "snapshots".into(),
                    all.iter().map(|g| g.snapshots as u64).collect::<Vec<_>>(),
                ),
                Column::new(
                    "sample_type".into(),
                    vec![st.map(|t| t.name.to_string()); n],
                ),
                Column::new("unit".into(), vec![st.map(|t| t.unit.to_string()); n]),
                Column::new(
                    "first".into(),
                    fl.iter().map(|v| v.map(|v| v.0)).collect::<Vec<_>>(),
                ),
                Column::new(
                    "last".into(),
                    fl.iter().map(|v| v.map(|v| v.1)).collect::<Vec<_>>(),
                ),
                Column::new(
                    "delta".into(),
                    fl.iter().map(|v| v.map(|v| v.1 - v.0)).collect::<Vec<_>>(),
                ),
                Column::new(
                    "slope_per_min".into(),
                    all.iter().map(|g| g.slope_per_min).collect::<Vec<_>>(),
                ),
                Column::new(
                    "top_grower".into(),
                    top.iter()
                        .map(|r| r.map(|r| r.key.as_str()))
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "top_grower_delta".into(),
                    top.iter().map(|r| r.map(|r| r.delta)).collect::<Vec<_>>(),
                ),
                Column::new(
                    "top_grower_slope_per_min".into(),
                    top.iter()
                        .map(|r| r.map(|r| r.slope_per_min))
                        .collect::<Vec<_>>(),
                ),
            ],
        )
        .map_err(|e| crate::Error::Output(format!("building a table failed: {e}")))
    }
}

/// Each instance's growth of its `kind` snapshots, on its own: its total's
/// change and slope, and its ranking (`opts`) for what grows most. In the
/// order given.
///
/// ```
/// use heapframe::evidence::bundle::{Bundle, Load, SnapshotKind};
/// use heapframe::findings::growth_by_instance;
/// let all = Bundle::open_each("tests/fixtures/replicas", &Load::only(SnapshotKind::Heap))?;
/// let g = growth_by_instance(&all, SnapshotKind::Heap, &Default::default())?;
/// assert_eq!(g[0].top_grower().unwrap().key, "bytes.Clone");
/// assert!(g[0].slope_per_min > g[1].slope_per_min);
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn growth_by_instance(
    instances: &[(String, Bundle)],
    kind: crate::evidence::bundle::SnapshotKind,
    opts: &GrowthOptions,
) -> Result<Vec<InstanceGrowth>> {
    instances
        .iter()
        .map(|(name, b)| {
            let snaps = b.snapshots(kind);
            let mut g = InstanceGrowth {
                instance: name.clone(),
                snapshots: snaps.len(),
                sample_type: None,
                times_ms: Vec::new(),
                totals: Vec::new(),
                top: None,
                slope_per_min: None,
            };
            if !snaps.is_empty() {
                let mut t = growth(snaps, opts)?;
                g.slope_per_min = crate::growth::slope_per_min(&t.times_ms, &t.totals);
                g.top = t.top_grower().cloned();
                g.sample_type = Some(t.sample_type);
                g.times_ms = std::mem::take(&mut t.times_ms);
                g.totals = std::mem::take(&mut t.totals);
            }
            Ok(g)
        })
        .collect()
}

/// The leak verdict of each instance of `sel.service` in a dataset, each
/// judged on its own metrics and snapshots alone (`sel.instance`, when
/// given, keeps one): which replicas leak. In instance order.
///
/// ```
/// use heapframe::dataset::{Dataset, Origin, Selection};
/// use heapframe::evidence::Bundle;
/// use heapframe::findings::{FindingsOptions, verdicts_by_instance};
/// let dir = std::env::temp_dir().join(format!("hf-doc-instances-{}", std::process::id()));
/// let mut d = Dataset::open(&dir)?;
/// for (bundle, pod) in [("mapcache", "pod-1"), ("fixed", "pod-2")] {
///     let b = Bundle::open(format!("tests/fixtures/bundles/{bundle}"))?;
///     d.export(&b, &Origin { service: "leakysvc".into(), instance: pod.into() })?;
/// }
/// let d = Dataset::read(&dir)?;
/// let v = verdicts_by_instance(&d, &Selection::service("leakysvc"), &FindingsOptions::default())?;
/// assert_eq!(v.len(), 2);
/// assert_eq!(v[0].verdict.verdict.as_str(), "leak");
/// assert_ne!(v[1].verdict.verdict.as_str(), "leak");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), heapframe::Error>(())
/// ```
#[cfg(feature = "dataset")]
pub fn verdicts_by_instance(
    d: &crate::dataset::Dataset,
    sel: &crate::dataset::Selection,
    opts: &FindingsOptions,
) -> Result<Vec<InstanceVerdict>> {
    let mut out = Vec::new();
    d.for_each_instance(sel, &VERDICT_KINDS, true, |instance, b| {
        out.push(InstanceVerdict::judge(instance, &b, opts)?);
        Ok(())
    })?;
    Ok(out)
}

/// The leak verdict of each instance of a bundle of several
/// ([`Bundle::open_each`]; a bundle of one gives one), each judged on its
/// own metrics and snapshots alone: which replicas leak. `only` keeps one
/// instance. In instance order.
///
/// ```
/// use heapframe::findings::{FindingsOptions, InstanceVerdict, verdicts_of};
/// let v = verdicts_of("tests/fixtures/replicas", None, &FindingsOptions::default())?;
/// assert_eq!(InstanceVerdict::leak_count(&v), "2 of 4 instances leak: replica-1, replica-3");
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn verdicts_of(
    dir: impl AsRef<std::path::Path>,
    only: Option<&str>,
    opts: &FindingsOptions,
) -> Result<Vec<InstanceVerdict>> {
    let load = crate::evidence::bundle::Load {
        kinds: VERDICT_KINDS.to_vec(),
        ..crate::evidence::bundle::Load::all()
    };
    let mut out = Vec::new();
    Bundle::for_each_instance(dir, &load, |name, b| {
        if only.is_none_or(|o| o == name) {
            out.push(InstanceVerdict::judge(name, &b, opts)?);
        }
        Ok(())
    })?;
    Ok(out)
}

/// A piece of a [`Sentence`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    /// Plain text.
    Text(String),
    /// A name from the evidence (a function, a call path, a file): shown
    /// as code.
    Code(String),
    /// A verdict or outcome word (`leak`, `fixed`, `passed`...): shown as a
    /// badge.
    Word(String),
}

/// A conclusion, as text with its names and verdict words marked; views
/// render it (plain text, HTML) without rewording it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sentence(pub Vec<Span>);

impl Sentence {
    fn text(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Text(s.into()));
        self
    }

    fn code(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Code(s.into()));
        self
    }

    fn word(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Word(s.into()));
        self
    }

    /// The sentence as plain text, for a terminal: names and words as
    /// they are, control characters in their visible form
    /// ([`crate::escape::terminal`]).
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|s| match s {
                Span::Text(t) | Span::Code(t) | Span::Word(t) => crate::escape::terminal(t),
            })
            .collect()
    }
}

impl std::fmt::Display for Sentence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl Bundle {
    /// The evidence chain of this bundle with the default options
    /// ([`Findings::of`]): the verdict from all the evidence, the growth
    /// owners, the widening path, goroutines, the regression check of the
    /// manifest's after-fix bundle and the checklist.
    pub fn findings(&self) -> Result<Findings> {
        Findings::of(self, &FindingsOptions::default())
    }
}

/// Options of [`Findings::of`].
#[derive(Debug, Clone)]
pub struct FindingsOptions {
    /// The after-fix bundle to check the fix against (`None`: the
    /// manifest's `after_fix`, if any).
    pub after: Option<PathBuf>,
    /// How the metrics are judged: the request counter that measures load
    /// and the thresholds of the leak verdict.
    pub verdict: VerdictOptions,
    /// The widening path follows a child while it carries at least this
    /// share of its parent's growth (default 0.5).
    pub follow: f64,
}

impl Default for FindingsOptions {
    fn default() -> Self {
        FindingsOptions {
            after: None,
            verdict: VerdictOptions::default(),
            follow: 0.5,
        }
    }
}

/// What grows across the heap snapshots of a bundle.
#[derive(Debug, Clone)]
pub struct HeapGrowth {
    /// Growth by function, ranked.
    pub table: GrowthTable,
    /// Growth by allocation kind.
    pub kinds: GrowthTable,
    /// The widening call path from the first to the last snapshot,
    /// toward the owner `table` ranks first (steady growth).
    pub widening: Widening,
    /// The path of the largest growth, when the owner ranked first is not
    /// on it (a cache that grew more, then flattened).
    pub largest: Option<Widening>,
    /// Application functions whose own allocations grow in step with the
    /// owner ranked first: where to look for what holds its memory;
    /// `None` when no owner grows steadily (nothing to hold).
    pub holders: Option<Vec<HolderCandidate>>,
    /// How far the owner ranked first carries a conclusion about its path.
    pub standing: PathStanding,
}

impl HeapGrowth {
    /// The sentences about the growing path and what may hold its memory,
    /// as the chain, the page and the Markdown export all say them.
    pub fn path_sentences(&self) -> Vec<Sentence> {
        let mut out = widening_sentences(&self.widening, self.largest.as_ref(), &self.standing);
        out.extend(holder_sentences(self));
        out
    }
}

/// The regression check against an after-fix bundle.
#[derive(Debug, Clone)]
pub struct Regression {
    /// Where the after-fix bundle was read from.
    pub path: PathBuf,
    /// The after-fix bundle.
    pub after: Bundle,
    /// Its metrics against the bundle's.
    pub validation: Validation,
}

/// The evidence chain of a bundle (see the module documentation).
#[derive(Debug, Clone)]
pub struct Findings {
    /// What the investigation is about: the manifest's service, else the
    /// bundle's name.
    pub title: String,
    /// The leak verdict from all the evidence.
    pub verdict: CombinedVerdict,
    /// Growth across the heap snapshots (`None`: fewer than two).
    pub heap: Option<HeapGrowth>,
    /// Goroutine counts and growth.
    pub goroutines: GoroutineCheck,
    /// The regression check, when there is an after-fix bundle.
    pub regression: Option<Regression>,
    /// Why the manifest's `after_fix` was not used, when it names
    /// something that is not an after-fix bundle.
    pub after_fix_refused: Option<String>,
    /// The on-call checklist, judged with the regression check above.
    pub checklist: Vec<checklist::Item>,
    /// The chain: one sentence per step, in order.
    pub chain: Vec<Sentence>,
}

impl Findings {
    /// Runs the evidence chain on `bundle`.
    pub fn of(bundle: &Bundle, opts: &FindingsOptions) -> Result<Findings> {
        let title = if bundle.manifest.service.is_empty() {
            bundle.name()
        } else {
            bundle.manifest.service.clone()
        };
        let mut chain = Vec::new();
        let mut after_fix_refused = None;

        let heap = if bundle.heap.len() >= 2 {
            let snaps = &bundle.heap;
            let links = bundle.source_links();
            let mut table = growth(snaps, &GrowthOptions::default())?;
            table.links = links.clone();
            let kinds = growth(
                snaps,
                &GrowthOptions {
                    key: GrowthKey::Kind,
                    ..Default::default()
                },
            )?;
            let (mut widening, mut largest) = ranked_widening(
                &snaps[0].profile,
                &snaps[snaps.len() - 1].profile,
                &table,
                opts.follow,
            )?;
            widening.links = links.clone();
            if let Some(l) = &mut largest {
                l.links = links;
            }
            let standing = PathStanding::of(&table, &opts.verdict.thresholds);
            let holders = (standing == PathStanding::Steady).then(|| holder_candidates(&table, 3));
            Some(HeapGrowth {
                table,
                kinds,
                widening,
                largest,
                holders,
                standing,
            })
        } else {
            None
        };
        let goroutines = goroutine_check(bundle)?;
        let verdict = verdict_of(bundle, heap.as_ref().map(|h| &h.table), &goroutines, opts)?;
        chain.push(
            Sentence::default()
                .text("Verdict: ")
                .word(verdict.verdict.as_str())
                .text(" — ")
                .text(verdict.reasons.first().map(String::as_str).unwrap_or(""))
                .text(format!(" ({} confidence)", verdict.confidence.word())),
        );
        if let Some(h) = &heap {
            chain.extend(growth_sentences(&h.table));
            chain.extend(h.path_sentences());
        }

        if let (Some(first), Some(last)) = (goroutines.counts.first(), goroutines.counts.last()) {
            chain.push(Sentence::default().text(format!(
                "Goroutines: {} → {}",
                thousands(first.1),
                thousands(last.1)
            )));
        }

        // The bundle asked for, else the manifest's after_fix, which is
        // input and is checked to be evidence before it is used.
        let after = match &opts.after {
            Some(path) => Some((path.clone(), Bundle::open(path)?)),
            None => match bundle.after_fix() {
                Ok(Some(after)) => Some((after.root.clone().unwrap_or_default(), after)),
                Ok(None) => None,
                Err(e) => {
                    chain.push(Sentence::default().text(
                        "After the fix: not checked (the manifest's after_fix is not evidence)",
                    ));
                    after_fix_refused = Some(e.to_string());
                    None
                }
            },
        };
        let regression = match after {
            Some((path, after)) => {
                let validation =
                    verdict::validate_with(&bundle.metrics, &after.metrics, &opts.verdict);
                chain.push(
                    Sentence::default()
                        .text("After the fix: ")
                        .word(validation.outcome.as_str()),
                );
                Some(Regression {
                    path,
                    after,
                    validation,
                })
            }
            None => None,
        };

        let checklist = checklist::checklist(
            bundle,
            match (&regression, &after_fix_refused) {
                (Some(r), _) => Some(AfterFix::Checked {
                    path: &r.path,
                    outcome: r.validation.outcome,
                }),
                (None, Some(why)) => Some(AfterFix::Refused(why)),
                (None, None) => None,
            },
        );
        let open = checklist
            .iter()
            .filter(|i| i.status != Status::Passed)
            .count();
        chain.push(Sentence::default().text(format!(
            "Checklist: {} of {} passed",
            checklist.len() - open,
            checklist.len()
        )));

        Ok(Findings {
            title,
            verdict,
            heap,
            goroutines,
            regression,
            after_fix_refused,
            checklist,
            chain,
        })
    }

    /// The chain as numbered lines of plain text.
    pub fn to_text(&self) -> String {
        self.chain
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {s}\n", i + 1))
            .collect()
    }
}

/// The verdict from all the evidence of `bundle` (see
/// [`verdict::combine`]): its metrics, the owner that grows steadily across
/// its heap snapshots and its goroutine counts. `table` is the growth of
/// the heap snapshots by function, when the caller has it already. After a
/// restart only the heap snapshots of the last process are judged, as
/// for the metrics; when no owner grows steadily in bytes, growth by
/// `inuse_objects` is looked at too (a leak of small objects).
pub fn verdict_of(
    bundle: &Bundle,
    table: Option<&GrowthTable>,
    goroutines: &GoroutineCheck,
    opts: &FindingsOptions,
) -> Result<CombinedVerdict> {
    let t = &opts.verdict.thresholds;
    let metrics = verdict::verdict_with(&bundle.metrics, &opts.verdict);
    let since = bundle.metrics.restarts().last().copied();
    let alive = |times: &[i64]| match since {
        Some(start) => times
            .iter()
            .position(|&tm| tm >= start)
            .unwrap_or(times.len()),
        None => 0,
    };
    let heap_times: Vec<i64> = bundle.heap.iter().map(|s| s.time_ms).collect();
    let snaps = &bundle.heap[alive(&heap_times)..];
    // Snapshots that cannot be ranked (of another sample type, say) leave
    // the verdict to the rest of the evidence, and it says why.
    let owners = || -> Result<Vec<OwnerGrowth>> {
        let mut owners = Vec::new();
        if snaps.len() < 2 {
            return Ok(owners);
        }
        let computed;
        let bytes = match table {
            Some(t) if snaps.len() == bundle.heap.len() => t,
            _ => {
                computed = growth(snaps, &GrowthOptions::default())?;
                &computed
            }
        };
        owners.extend(OwnerGrowth::of(bytes, t));
        let has_objects = snaps.iter().all(|s| {
            s.profile
                .sample_types
                .iter()
                .any(|v| &*v.name == "inuse_objects")
        });
        if !owners.iter().any(|o| o.steady) && has_objects {
            let objects = growth(
                snaps,
                &GrowthOptions {
                    sample_index: Some("inuse_objects".into()),
                    ..Default::default()
                },
            )?;
            owners.extend(OwnerGrowth::of(&objects, t));
        }
        Ok(owners)
    };
    let (owners, unranked) = match owners() {
        Ok(o) => (o, None),
        Err(e) => (Vec::new(), Some(format!("heap snapshots not judged: {e}"))),
    };
    let counts: Vec<(i64, i64)> = {
        let times: Vec<i64> = goroutines.counts.iter().map(|c| c.0).collect();
        goroutines.counts[alive(&times)..].to_vec()
    };
    let mut v = verdict::combine(metrics, &owners, GoroutineGrowth::of(&counts, t));
    if let Some(why) = unranked {
        let at = v.reasons.len() - 1;
        v.reasons.insert(at, why);
    }
    Ok(v)
}

/// What a growth table concludes: which key grew most, with its numbers.
pub fn growth_sentences(table: &GrowthTable) -> Vec<Sentence> {
    let Some(top) = table.top_grower() else {
        return Vec::new();
    };
    let numbers = format!(
        "{}, {:.0}% of the growth, R² {:.2}",
        table.format(top.delta),
        top.share * 100.0,
        top.r2
    );
    // The table ranks steady growth first: when a less steady key grew
    // more, say both rather than call the first the largest.
    let larger = table
        .rows
        .iter()
        .filter(|r| r.delta > top.delta)
        .max_by_key(|r| r.delta);
    let s = Sentence::default().text("Heap: ").code(top.key.clone());
    if top.below_resolution {
        // Every row is below the resolution (such rows rank last): say
        // so rather than name a grower.
        let why = table
            .resolution
            .as_ref()
            .map(|r| r.explain())
            .unwrap_or_else(|| "below the sampling resolution".into());
        return vec![
            s.text(format!(" changed most ({numbers}), but "))
                .word("not enough data")
                .text(format!(": {why}")),
        ];
    }
    vec![match larger {
        None => s.text(format!(" grew most ({numbers})")),
        Some(l) => s
            .text(format!(" grows most steadily ({numbers}); "))
            .code(l.key.clone())
            .text(format!(
                " grew more ({}, R² {:.2}{}) but less steadily",
                table.format(l.delta),
                l.r2,
                if l.plateau { ", flattening out" } else { "" }
            )),
    }]
}

/// How far the growth ranked first carries a conclusion about its call
/// path: the sentences about the path say no more than this allows.
#[derive(Debug, Clone, PartialEq)]
pub enum PathStanding {
    /// The owner ranked first grows steadily: its path is a finding.
    Steady,
    /// It grew, but not steadily (why): its path is where to look, not a
    /// finding.
    NotSteady(String),
    /// Every change is below the sampling resolution: no code is named.
    BelowResolution(String),
    /// Nothing grew.
    NoGrowth,
}

impl PathStanding {
    /// Judges the owner `table` ranks first with the verdict's thresholds.
    pub fn of(table: &GrowthTable, t: &verdict::VerdictThresholds) -> PathStanding {
        let Some(top) = table.top_grower() else {
            return PathStanding::NoGrowth;
        };
        if top.below_resolution {
            return PathStanding::BelowResolution(
                table
                    .resolution
                    .as_ref()
                    .map(|r| r.explain())
                    .unwrap_or_else(|| "below the sampling resolution".into()),
            );
        }
        match OwnerGrowth::of(table, t) {
            Some(o) if o.steady => PathStanding::Steady,
            Some(o) => PathStanding::NotSteady(o.why_not.unwrap_or_default()),
            None => PathStanding::NoGrowth,
        }
    }
}

/// What a widening path concludes, no more than `standing` allows: where
/// growth concentrates and the application code to read first when the
/// owner ranked first grows steadily; the same code as where to look, not
/// a finding, when it does not; no code at all below the sampling
/// resolution. With `largest`, the path of the largest growth when it does
/// not lead to the owner ranked first, and why the ranked one comes first.
pub fn widening_sentences(
    w: &Widening,
    largest: Option<&Widening>,
    standing: &PathStanding,
) -> Vec<Sentence> {
    let mut out = Vec::new();
    match standing {
        PathStanding::NoGrowth => return out,
        PathStanding::BelowResolution(why) => {
            out.push(
                Sentence::default()
                    .text("Call path: ")
                    .word("not enough data")
                    .text(format!(" to name code: {why}")),
            );
            return out;
        }
        PathStanding::Steady | PathStanding::NotSteady(_) => {}
    }
    let steady = matches!(standing, PathStanding::Steady);
    if let (Some(focus), Some(l)) = (&w.focus, largest) {
        let mut s = Sentence::default()
            .text("Growth ranked first: ")
            .code(focus.clone());
        s = match standing {
            PathStanding::NotSteady(why) => {
                s.text(format!(", though its growth is not steady: {why}. "))
            }
            _ => s.text(" grows steadily. "),
        };
        s = s.text("The path of the largest growth");
        if let Some(c) = l.concentration_node() {
            s = s
                .text(" concentrates in ")
                .code(c.function.clone())
                .text(format!(" ({})", l.format(c.growth)));
            if let Some(u) = l.user_frame().filter(|u| u.function != c.function) {
                s = s
                    .text(", through application code ")
                    .code(u.function.clone());
            }
            s = s.text(", and");
        }
        out.push(
            s.text(" does not lead to ")
                .code(focus.clone())
                .text(": the rest of that growth is less steady (the ranking weighs growth by R² and steadiness, a plateau by ¼), so the ranked owner's path comes first"),
        );
    }
    if let Some(c) = w.concentration_node() {
        out.push(
            Sentence::default()
                .text("Call path: growth concentrates in ")
                .code(c.function.clone())
                .text(if c.growth > w.total_growth {
                    // Other paths shrank: "X of a smaller total" would
                    // read as an error.
                    format!(
                        " (+{}, more than the heap's net growth of {}: other paths shrank)",
                        w.format(c.growth),
                        w.format(w.total_growth)
                    )
                } else {
                    format!(
                        " (+{} of {} net growth)",
                        w.format(c.growth),
                        w.format(w.total_growth)
                    )
                }),
        );
    }
    if let Some(u) = w.user_frame() {
        let mut s = Sentence::default()
            .text(if steady {
                "Code to read first: "
            } else {
                "Application code on that path: "
            })
            .code(u.function.clone())
            .text(" (the deepest application code on that path");
        if let Some(c) = &u.code {
            s = s.text(", defined at ").code(c.to_string());
        }
        s = s.text(format!(
            "; {} of the growth passes through it)",
            w.format(u.growth)
        ));
        if let PathStanding::NotSteady(why) = standing {
            s = s.text(format!(
                "; not a finding by itself, as the growth is not steady: {why}"
            ));
        }
        out.push(s);
    }
    out
}

/// Where to look for what holds the growing memory: the application
/// functions whose own allocations grow in step with the owner ranked
/// first, with their numbers, and what a heap profile cannot show. Nothing
/// when no owner grows steadily.
pub fn holder_sentences(h: &HeapGrowth) -> Vec<Sentence> {
    let (Some(top), Some(holders)) = (h.table.top_grower(), &h.holders) else {
        return Vec::new();
    };
    if !matches!(h.table.key, GrowthKey::Function) {
        return Vec::new();
    }
    let mut s = Sentence::default()
        .text("Holder: a heap profile shows where memory was allocated, not what keeps it alive. ");
    if holders.is_empty() {
        s = s.text(format!(
            "No application function's own allocations grow in step with {} (correlation ≥ {:.1} over ≥ {} snapshots): look for what keeps references to what ",
            top.key, crate::growth::HOLDER_MIN_CORRELATION, crate::growth::HOLDER_MIN_SNAPSHOTS
        ))
        .code(top.key.clone())
        .text(" allocates (a map, a slice, a channel, goroutines) along the call path above");
        return vec![s];
    }
    s = s.text("Application code whose own allocations grow in step with ")
        .code(top.key.clone())
        .text(" (what a holder allocates beside what it keeps: map buckets, keys, slice backing), so read it for the holder: ");
    for (i, c) in holders.iter().enumerate() {
        if i > 0 {
            s = s.text("; ");
        }
        s = s.code(c.key.clone());
        let at = c
            .code
            .as_ref()
            .map(|c| format!(" at {c}"))
            .unwrap_or_default();
        s = s.text(format!(
            "{at} ({}{}, correlation {:.2}, R² {:.2})",
            if c.delta > 0 { "+" } else { "" },
            h.table.format(c.delta),
            c.correlation,
            c.r2
        ));
    }
    vec![s]
}

/// What the goroutine check concludes: counts, who started the growing
/// goroutines and where they block, and the `goroutineleak` profile's
/// count.
pub fn goroutine_sentences(g: &GoroutineCheck) -> Vec<Sentence> {
    let mut out = Vec::new();
    if let (Some(first), Some(last)) = (g.counts.first(), g.counts.last()) {
        let delta = last.1.wrapping_sub(first.1);
        out.push(Sentence::default().text(format!(
            "Goroutines: {} → {} ({}{}) across {} goroutine profiles over {:.1} min.",
            thousands(first.1),
            thousands(last.1),
            if delta >= 0 { "+" } else { "" },
            thousands(delta),
            g.counts.len(),
            (last.0 - first.0) as f64 / 60_000.0
        )));
        if let Some(top) = g.by_creator.as_ref().and_then(|t| t.top_grower()) {
            out.push(
                Sentence::default()
                    .text("Most growth started by ")
                    .code(top.key.clone())
                    .text(format!(" (+{})", top.delta)),
            );
        }
        if let Some(top) = g.by_blocking_stack.as_ref().and_then(|t| t.top_grower()) {
            out.push(
                Sentence::default()
                    .text("Blocked in ")
                    .code(top.key.clone())
                    .text(format!(" (+{})", top.delta)),
            );
        }
    }
    for (creator, n) in g.leaked.iter().take(5) {
        out.push(
            Sentence::default()
                .text(format!(
                    "goroutineleak profile: {n} leaked goroutines started by "
                ))
                .code(creator.clone()),
        );
    }
    out
}
