//! Incident bundles: one investigation in one folder.
//!
//! ```text
//! incident/
//!   manifest.json         optional: service, target, who, when, notes
//!   heap/*.pb.gz          /debug/pprof/heap snapshots (or *.txt: ?debug=1 text)
//!   allocs/*.pb.gz        /debug/pprof/allocs
//!   goroutine/*.pb.gz     /debug/pprof/goroutine
//!   goroutineleak/*.pb.gz /debug/pprof/goroutineleak (Go 1.27)
//!   metrics/*.prom        raw /metrics scrapes, named by Unix milliseconds
//!   metrics/*.csv         or metric tables: time_ms,metric,labels,value
//!   logs/*.log            GODEBUG=gctrace=1 logs (or *.log.gz): one metrics point per GC cycle
//! ```
//!
//! It is easy to make by hand:
//!
//! ```sh
//! mkdir -p incident/heap incident/metrics
//! curl -so incident/heap/$(date +%s).pb.gz http://127.0.0.1:6060/debug/pprof/heap
//! curl -so incident/metrics/$(date +%s%3N).prom http://127.0.0.1:6060/metrics
//! ```
//!
//! `heapframe collect` (the collector of the `live` feature) writes exactly this layout, with
//! files named by their capture time in Unix milliseconds, and records
//! failed captures in `gaps.jsonl` (one JSON object per line), which
//! loading ignores.
//!
//! A snapshot's capture time is its profile's `time_nanos`, or the file's
//! modification time when the profile has none. Snapshots are kept in time
//! order. Loose files and glob patterns load too ([`Bundle::from_paths`]):
//! each profile is sorted into heap, allocs or goroutine by its sample types.
//!
//! A bundle of several replicas (`heapframe collect` given several
//! targets) holds one bundle per instance:
//!
//! ```text
//! incident/
//!   manifest.json              the service, notes, events shared by all
//!   instances/replica-1/       a bundle as above; its manifest names the
//!   instances/replica-2/       instance and its target
//! ```
//!
//! Reading it asks which instance ([`Load::instance`]; `--instance` on
//! the command line): mixing the snapshots of several processes into one
//! series would make a growth out of their differences.
//! [`Bundle::open_each`] opens every instance, for comparing them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, FileError, ProfileError, Result};
use crate::evidence::metrics::{EXPVAR_MEMSTATS, MetricSample, MetricSeries};
use crate::files::{MAX_MANIFEST_BYTES, mtime_ms, read_regular};
use crate::growth::SnapshotSeries;
use crate::profile::{Profile, Snapshot};

/// What a bundle says about itself (`manifest.json`); every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Manifest {
    /// The service investigated.
    pub service: String,
    /// Where the profiles were fetched from (e.g. `http://10.0.3.7:6060`).
    pub target: String,
    /// Which replica of the service this is (e.g. a pod name), when the
    /// target's `host:port` does not say it well; `heapframe export` files
    /// the snapshots under it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance: String,
    /// Who captured it.
    pub captured_by: String,
    /// When (free text, RFC 3339 suggested).
    pub captured_at: String,
    /// Free-form notes.
    pub notes: String,
    /// The bundle captured after the fix, relative to this one, once the
    /// regression check was run.
    pub after_fix: Option<String>,
    /// Answers to the checklist questions a tool cannot judge
    /// (e.g. `"cache has a limit and a TTL": "yes, LRU 10k, 10 min"`).
    pub answers: std::collections::BTreeMap<String, String>,
    /// A source browser's URL template for code links, with `{file}`,
    /// `{line}` and `{rev}` (e.g.
    /// `https://git.example/org/svc/blob/{rev}/{file}#L{line}`); see
    /// [`SourceLinks`](crate::profile::SourceLinks).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The revision the profiled binary was built from (`{rev}`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_rev: String,
    /// The prefix of the profile's file names that is the repository's
    /// root (removed for `{file}`; only files under it get links).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_root: String,
    /// Postmortem: the incident's title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Postmortem: who or what was affected, how badly, for how long.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub impact: String,
    /// Postmortem: why memory grew (what the evidence could not say:
    /// which code kept the memory).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub root_cause: String,
    /// Postmortem: the fix (a link to the change).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
    /// Postmortem: who owns the follow-up.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub owner: String,
    /// Postmortem: what is to be done so that it does not happen again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub action_items: Vec<String>,
    /// The timeline: deploys, restarts, the incident, the fix, notes (see
    /// [`crate::evidence::timeline`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<crate::evidence::timeline::ManifestEvent>,
}

impl Manifest {
    /// Fills what this manifest (an instance's) leaves empty from the
    /// manifest of the bundle that holds it: the service, the postmortem
    /// and code-link fields, the checklist answers; the holder's events
    /// come first in the timeline. The target, the instance and
    /// `after_fix` (relative to each folder) stay the instance's own.
    pub fn inherit(&mut self, holder: &Manifest) {
        for (mine, theirs) in [
            (&mut self.service, &holder.service),
            (&mut self.title, &holder.title),
            (&mut self.impact, &holder.impact),
            (&mut self.root_cause, &holder.root_cause),
            (&mut self.fix, &holder.fix),
            (&mut self.owner, &holder.owner),
            (&mut self.source, &holder.source),
            (&mut self.source_rev, &holder.source_rev),
            (&mut self.source_root, &holder.source_root),
        ] {
            if mine.trim().is_empty() {
                mine.clone_from(theirs);
            }
        }
        if self.action_items.is_empty() {
            self.action_items.clone_from(&holder.action_items);
        }
        for (q, a) in &holder.answers {
            self.answers.entry(q.clone()).or_insert_with(|| a.clone());
        }
        let own = std::mem::take(&mut self.events);
        self.events = holder.events.iter().cloned().chain(own).collect();
    }

    /// The postmortem fields that are set, as `(label, text)`: title,
    /// impact, root cause, fix, owner (action items are a list apart).
    pub fn postmortem_fields(&self) -> Vec<(&'static str, &str)> {
        [
            ("Title", &self.title),
            ("Impact", &self.impact),
            ("Root cause", &self.root_cause),
            ("Fix", &self.fix),
            ("Owner", &self.owner),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(l, v)| (l, v.as_str()))
        .collect()
    }

    /// The code links the manifest asks for (`None` without `source`), or
    /// what is wrong with its template.
    pub fn source_links(&self) -> std::result::Result<Option<crate::profile::SourceLinks>, String> {
        if self.source.is_empty() {
            return Ok(None);
        }
        crate::profile::SourceLinks::new(&self.source, &self.source_rev, &self.source_root)
            .map(Some)
    }
}

/// The kind of a profile in a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SnapshotKind {
    /// In-use heap (`/debug/pprof/heap`).
    Heap,
    /// Allocations (`/debug/pprof/allocs`).
    Allocs,
    /// Goroutines (`/debug/pprof/goroutine`).
    Goroutine,
    /// Leaked goroutines (`/debug/pprof/goroutineleak`, Go 1.27).
    GoroutineLeak,
}

impl SnapshotKind {
    /// The folder name in a bundle.
    pub fn dir(self) -> &'static str {
        match self {
            SnapshotKind::Heap => "heap",
            SnapshotKind::Allocs => "allocs",
            SnapshotKind::Goroutine => "goroutine",
            SnapshotKind::GoroutineLeak => "goroutineleak",
        }
    }

    /// All kinds.
    pub const ALL: [SnapshotKind; 4] = [
        SnapshotKind::Heap,
        SnapshotKind::Allocs,
        SnapshotKind::Goroutine,
        SnapshotKind::GoroutineLeak,
    ];

    /// Guesses the kind from a profile's sample types.
    pub fn of(p: &Profile) -> Option<SnapshotKind> {
        let has = |n: &str| p.sample_types.iter().any(|t| &*t.name == n);
        if has("inuse_space") {
            Some(if &*p.default_sample_type == "alloc_space" {
                SnapshotKind::Allocs
            } else {
                SnapshotKind::Heap
            })
        } else if has("goroutineleak") {
            Some(SnapshotKind::GoroutineLeak)
        } else if has("goroutine") {
            Some(SnapshotKind::Goroutine)
        } else {
            None
        }
    }
}

/// An investigation: snapshots of each kind in time order, and metrics.
#[derive(Debug, Clone, Default)]
pub struct Bundle {
    /// The folder, when loaded from one.
    pub root: Option<PathBuf>,
    /// The manifest (defaults when the bundle has none).
    pub manifest: Manifest,
    /// `/debug/pprof/heap` snapshots.
    pub heap: Vec<Snapshot>,
    /// `/debug/pprof/allocs` snapshots.
    pub allocs: Vec<Snapshot>,
    /// `/debug/pprof/goroutine` snapshots.
    pub goroutine: Vec<Snapshot>,
    /// `/debug/pprof/goroutineleak` snapshots.
    pub goroutineleak: Vec<Snapshot>,
    /// Metric samples.
    pub metrics: MetricSeries,
}

fn snapshot(path: &Path, profile: Profile) -> Snapshot {
    let time_ms = if profile.time_nanos != 0 {
        profile.time_nanos / 1_000_000
    } else {
        mtime_ms(path).unwrap_or(0)
    };
    Snapshot {
        path: path.to_path_buf(),
        time_ms,
        profile,
    }
}

/// Reads a profile the user named (a pipe such as `<(curl ...)` works too).
/// What [`Bundle::open_only`] and [`Bundle::from_paths_only`] read: the
/// snapshot kinds a command needs, and whether it needs the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    /// The snapshot kinds to read; the folders of the others are not read.
    pub kinds: Vec<SnapshotKind>,
    /// Whether to read `metrics/` and `logs/`.
    pub metrics: bool,
    /// When the process of gctrace logs whose lines carry no time started
    /// (Unix milliseconds; it places the log's last process), for logs no
    /// text heap snapshot places.
    pub log_start_ms: Option<i64>,
    /// Of a bundle that holds several instances, the one to read (by
    /// name); of a bundle of one, the name it must have. `None`: a bundle
    /// of several instances is refused, naming them.
    pub instance: Option<String>,
}

impl Load {
    /// This load, of instance `instance` (`None`: as it was).
    pub fn of_instance(self, instance: Option<&str>) -> Load {
        Load {
            instance: instance.map(str::to_string).or(self.instance),
            ..self
        }
    }

    /// Everything: every snapshot kind and the metrics.
    pub fn all() -> Load {
        Load {
            kinds: SnapshotKind::ALL.to_vec(),
            metrics: true,
            log_start_ms: None,
            instance: None,
        }
    }

    /// One snapshot kind and no metrics (what `growth` needs).
    pub fn only(kind: SnapshotKind) -> Load {
        Load {
            kinds: vec![kind],
            metrics: false,
            log_start_ms: None,
            instance: None,
        }
    }

    fn wants(&self, kind: SnapshotKind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// `read` applied to every path, on [`crate::defaults::worker_threads`]
/// threads (at most one per path), results in the order of `paths`; the first error in
/// that order wins. Profiles are read and decoded independently, so a
/// bundle of many snapshots loads in about 1/cores of the time.
fn read_parallel<T: Send>(
    paths: &[PathBuf],
    read: impl Fn(&Path) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let workers = crate::defaults::worker_threads().min(paths.len());
    if workers <= 1 {
        return paths.iter().map(|p| read(p)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slots: Vec<Option<Result<T>>> = Vec::new();
    slots.resize_with(paths.len(), || None);
    let done = std::sync::Mutex::new(slots);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(p) = paths.get(i) else { break };
                    let r = read(p);
                    let failed = r.is_err();
                    if let Ok(mut slots) = done.lock() {
                        slots[i] = Some(r);
                    }
                    if failed {
                        // Later files are not needed: the first error in
                        // path order is at or before this one.
                        next.fetch_max(paths.len(), std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let slots = done.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::with_capacity(paths.len());
    for (slot, path) in slots.into_iter().zip(paths) {
        match slot {
            Some(r) => out.push(r?),
            // Skipped after an error at an earlier index cannot happen
            // without that error being returned above, but say so anyway.
            None => {
                return Err(Error::File {
                    path: path.display().to_string(),
                    error: FileError::Io(std::io::Error::other("not read")),
                });
            }
        }
    }
    Ok(out)
}

fn read_snapshot(path: &Path) -> Result<Snapshot> {
    Ok(snapshot(path, Profile::from_path(path)?))
}

/// Reads a profile file inside a bundle's `kind` folder: a regular file no
/// larger than the decompression bound of profiles, whose sample types are
/// those of `kind`.
fn read_bundle_snapshot(path: &Path, kind: SnapshotKind) -> Result<Snapshot> {
    let source = path.display().to_string();
    let limit = crate::pprof::ReadOptions::default().max_decompressed_bytes;
    let bytes = read_regular(path, limit, "a profile")?;
    let profile = Profile::from_bytes(&bytes, &source)?;
    let found = SnapshotKind::of(&profile);
    let fits = match kind {
        SnapshotKind::Heap | SnapshotKind::Allocs => {
            matches!(found, Some(SnapshotKind::Heap | SnapshotKind::Allocs))
        }
        _ => found == Some(kind),
    };
    if !fits {
        return Err(Error::profile(
            source,
            ProfileError::WrongKind {
                folder: kind.dir(),
                sample_types: sample_type_names(&profile),
            },
        ));
    }
    Ok(snapshot(path, profile))
}

fn sample_type_names(p: &Profile) -> String {
    p.sample_types
        .iter()
        .map(|t| format!("{}/{}", t.name, t.unit))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A profile file by its name: `.pb.gz`, `.pb` or `.pprof`, or `.txt`
/// (`?debug=1` text, as pasted from a ticket), not hidden (temporary files
/// of a write in progress are hidden).
/// The files of the folder `dir` that `keep` takes, sorted by name.
fn files_in(dir: &Path, keep: fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::File {
            path: dir.display().to_string(),
            error: FileError::Io(e),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    files.sort();
    Ok(files)
}

/// A gctrace log in a bundle's `logs/` folder: `*.log` or `*.log.gz`.
fn is_log_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.') && (name.ends_with(".log") || name.ends_with(".log.gz"))
}

fn is_profile_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.')
        && [".pb.gz", ".pb", ".pprof", ".txt", ".txt.gz"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// Reads `manifest.json`: a regular file of at most
/// [`MAX_MANIFEST_BYTES`], UTF-8 JSON.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let bytes = read_regular(path, MAX_MANIFEST_BYTES, "a manifest")?;
    let bad = |reason: String| Error::Manifest {
        path: path.display().to_string(),
        reason,
    };
    let text = String::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8 text: {e}")))?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    m.source_links().map_err(bad)?;
    crate::evidence::timeline::check(&m.events).map_err(bad)?;
    Ok(m)
}

/// The timeline of `bundle` with the spans of its evidence
/// ([`Bundle::timeline_entries`]); in a notebook, `timeline(&bundle)?`
/// shows it as a table.
pub fn timeline_entries(bundle: &Bundle) -> Result<Vec<crate::evidence::timeline::Entry>> {
    bundle.timeline_entries()
}

impl Bundle {
    /// The timeline: the manifest's events and the restarts and new
    /// binaries read from the data, in time order.
    pub fn timeline(&self) -> Result<Vec<crate::evidence::timeline::Event>> {
        let mut out = Vec::new();
        for (i, e) in self.manifest.events.iter().enumerate() {
            out.push(e.resolve().map_err(|why| Error::Manifest {
                path: self.manifest_path(),
                reason: format!("events[{i}]: {why}"),
            })?);
        }
        out.extend(crate::evidence::timeline::detected(
            &self.metrics,
            &self.heap,
        ));
        out.sort_by_key(|e| e.time_ms);
        Ok(out)
    }

    /// The timeline with the spans of the evidence (first and last heap
    /// snapshot and metrics scrape), as the page and `heapframe timeline`
    /// show it.
    pub fn timeline_entries(&self) -> Result<Vec<crate::evidence::timeline::Entry>> {
        let heap: Vec<i64> = self.heap.iter().map(|s| s.time_ms).collect();
        Ok(crate::evidence::timeline::with_spans(
            self.timeline()?,
            &heap,
            &self.metrics,
        ))
    }

    /// Records an event in the bundle's `manifest.json` (see
    /// [`crate::evidence::timeline::record`]) and in `self.manifest`:
    /// `at` is RFC 3339 or `now`.
    ///
    /// ```no_run
    /// # let mut bundle = heapframe::evidence::Bundle::open("incident")?;
    /// use heapframe::evidence::timeline::EventKind;
    /// bundle.note("2026-11-24T04:20:00Z", EventKind::Deploy, "v1.4.2")?;
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn note(
        &mut self,
        at: &str,
        kind: crate::evidence::timeline::EventKind,
        text: &str,
    ) -> Result<()> {
        let e =
            crate::evidence::timeline::event(at, kind, text).map_err(|reason| Error::Manifest {
                path: self.manifest_path(),
                reason,
            })?;
        let Some(root) = &self.root else {
            return Err(Error::Output(
                "this bundle was not opened from a folder: nowhere to record the event".into(),
            ));
        };
        crate::evidence::timeline::record(root, &e)?;
        self.manifest.events.push(e);
        Ok(())
    }

    fn manifest_path(&self) -> String {
        match &self.root {
            Some(r) => r.join("manifest.json").display().to_string(),
            None => "manifest".into(),
        }
    }

    /// The manifest's code links (checked when the manifest was read).
    pub fn source_links(&self) -> Option<crate::profile::SourceLinks> {
        self.manifest.source_links().ok().flatten()
    }

    /// Opens a bundle folder. Every file it names must be a regular file
    /// within the limits of [`crate::files`], and every profile must be of
    /// its folder's kind (a CPU profile in `heap/` is refused, by name).
    pub fn open(dir: impl AsRef<Path>) -> Result<Bundle> {
        Bundle::open_only(dir, &Load::all())
    }

    /// [`Bundle::open`], reading only what `load` asks for (the manifest is
    /// always read). Snapshots are read on all cores.
    pub fn open_only(dir: impl AsRef<Path>, load: &Load) -> Result<Bundle> {
        let dir = dir.as_ref();
        let name = dir.display().to_string();
        if !dir.is_dir() {
            return Err(Error::profile(
                name,
                ProfileError::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a bundle folder (expected heap/, goroutine/, metrics/ ...)",
                )),
            ));
        }
        if let Some(all) = instances_in(dir)? {
            let one = pick_instance(
                dir,
                all,
                load.instance.as_deref(),
                "read one with --instance NAME, or compare them with --by instance",
            )?;
            return open_instance(one, holder_manifest(dir)?.as_ref(), load);
        }
        let mut b = Bundle {
            root: Some(dir.to_path_buf()),
            ..Default::default()
        };
        let manifest = dir.join("manifest.json");
        if manifest.symlink_metadata().is_ok() {
            b.manifest = read_manifest(&manifest)?;
        }
        if let Some(want) = &load.instance {
            let have = b.instance_name();
            if have != *want {
                return Err(Error::Option(format!(
                    "{name}: no instance {:?}; it is a bundle of one instance{}",
                    crate::escape::terminal(want),
                    if have.is_empty() {
                        ", unnamed (its manifest names no instance and no target)".to_string()
                    } else {
                        format!(", {}", crate::escape::terminal(&have))
                    }
                )));
            }
        }
        for kind in SnapshotKind::ALL {
            let sub = dir.join(kind.dir());
            if !load.wants(kind) || !sub.is_dir() {
                continue;
            }
            let files = files_in(&sub, is_profile_file)?;
            let read = read_parallel(&files, |f| read_bundle_snapshot(f, kind))?;
            b.snapshots_mut(kind).extend(read);
        }
        let metrics = dir.join("metrics");
        if load.metrics && metrics.is_dir() {
            b.metrics = MetricSeries::from_dir(&metrics)?;
        }
        if load.metrics {
            b.sort();
            b.add_runtime_stats();
            let logs = dir.join("logs");
            if logs.is_dir() {
                b.add_gctrace_logs(&files_in(&logs, is_log_file)?, load.log_start_ms)?;
            }
        }
        b.sort();
        Ok(b)
    }

    /// Reads `GODEBUG=gctrace=1` logs ([`crate::evidence::gctrace`]) into
    /// the metrics: one set of points per GC cycle, placed by the lines'
    /// own times, else by the `runtime.MemStats` trailer of a text heap
    /// snapshot of the same process (which says when GC cycle `NumGC`
    /// ended), else by `start` (when the log's last process started, Unix
    /// milliseconds). The GC cycle count joins the series as
    /// [`names::GC_COUNT`] when nothing else gave it. What could not be
    /// placed is said in [`MetricSeries::notes`]; a log none of whose
    /// lines can be placed is an error naming the file.
    pub fn add_gctrace_logs(&mut self, files: &[PathBuf], start: Option<i64>) -> Result<()> {
        use crate::evidence::gctrace::read_gctrace_file;
        use crate::evidence::metrics::names;
        if files.is_empty() {
            return Ok(());
        }
        let had_gc_count = !self.metrics.points(names::GC_COUNT).is_empty();
        let mut added = MetricSeries::default();
        for f in files {
            let trace = read_gctrace_file(f)?;
            added = added.merged(self.gctrace_series(&trace, start, !had_gc_count)?);
        }
        self.metrics = std::mem::take(&mut self.metrics).merged(added);
        Ok(())
    }

    /// The points of `trace` placed as [`Bundle::add_gctrace_logs`] places
    /// them ([`Bundle::gctrace_anchor`]), with its notes; with
    /// `with_gc_count`, the cycle count also as [`names::GC_COUNT`].
    fn gctrace_series(
        &self,
        trace: &crate::evidence::gctrace::GcTrace,
        start: Option<i64>,
        with_gc_count: bool,
    ) -> Result<MetricSeries> {
        use crate::evidence::metrics::names;
        let (mut samples, notes) = trace.samples(self.gctrace_anchor(trace, start))?;
        if with_gc_count {
            let counts: Vec<MetricSample> = samples
                .iter()
                .filter(|s| s.metric == names::GCTRACE_CYCLES)
                .map(|s| MetricSample {
                    metric: names::GC_COUNT.to_string(),
                    ..s.clone()
                })
                .collect();
            samples.extend(counts);
        }
        let mut series = MetricSeries::new(samples);
        series.notes = notes;
        Ok(series)
    }

    /// How the lines of `trace` without a time of their own are placed:
    /// by the `runtime.MemStats` trailer (`NumGC`, `LastGC`) of a text
    /// snapshot of the log's last process (the latest such), else by
    /// `start` (Unix milliseconds), else not at all.
    pub fn gctrace_anchor(
        &self,
        trace: &crate::evidence::gctrace::GcTrace,
        start: Option<i64>,
    ) -> crate::evidence::gctrace::Anchor {
        use crate::evidence::gctrace::Anchor;
        if trace.all_logged() {
            return Anchor::None;
        }
        let procs = trace.processes();
        let last = procs.last().map_or(&[][..], |p| *p);
        let mut snapshots: Vec<&Snapshot> = self.heap.iter().chain(&self.allocs).collect();
        snapshots.sort_by_key(|s| std::cmp::Reverse(s.time_ms));
        snapshots
            .into_iter()
            .filter_map(|s| {
                let get = |k: &str| {
                    s.profile
                        .runtime_stats
                        .iter()
                        .find(|(f, _)| &**f == k)
                        .map(|(_, v)| *v)
                };
                let number = u64::try_from(get("NumGC")?).ok()?;
                let last_ns = get("LastGC")?;
                (number > 0 && last_ns > 0).then_some(Anchor::LastGc {
                    number,
                    at_ms: last_ns / 1_000_000,
                })
            })
            .find(|a| matches!(a, Anchor::LastGc { number, .. } if last.iter().any(|c| c.number == *number)))
            .or(start.map(Anchor::Start))
            .unwrap_or(Anchor::None)
    }

    /// Metric points from the `runtime.MemStats` trailers of text heap
    /// snapshots ([`Profile::runtime_stats`]), at each snapshot's time,
    /// under their Prometheus names ([`EXPVAR_MEMSTATS`]: heap in use, heap
    /// objects, GC count...), for the metrics the bundle's scrapes lack: a
    /// folder of pasted `?debug=1` files alone gives the verdict its heap
    /// series (one point per snapshot).
    fn add_runtime_stats(&mut self) {
        let have: std::collections::HashSet<String> =
            self.metrics.metric_names().into_iter().collect();
        let mut points = Vec::new();
        for s in self.heap.iter().chain(&self.allocs) {
            for (field, value) in &s.profile.runtime_stats {
                let Some((_, metric)) = EXPVAR_MEMSTATS.iter().find(|(f, _)| **f == **field) else {
                    continue;
                };
                if !have.contains(*metric) {
                    points.push(MetricSample {
                        time_ms: s.time_ms,
                        metric: metric.to_string(),
                        labels: Vec::new(),
                        value: *value as f64,
                    });
                }
            }
        }
        if !points.is_empty() {
            // The same trailer read twice (a heap and an allocs snapshot of
            // one moment) counts once.
            points.sort_by(|a, b| (a.time_ms, &a.metric).cmp(&(b.time_ms, &b.metric)));
            points.dedup_by(|a, b| a.time_ms == b.time_ms && a.metric == b.metric);
            self.metrics = std::mem::take(&mut self.metrics).merged(MetricSeries::new(points));
        }
    }

    /// The after-fix bundle the manifest names (`after_fix`), opened:
    /// `Ok(None)` when it names none. The manifest is evidence too, and
    /// untrusted: `after_fix` must be a relative path to another bundle in
    /// this bundle's folder or the folder that holds it (`../after-fix`,
    /// or `after-fix` inside it), not this bundle, not a folder that holds
    /// it, nowhere else (symbolic links are followed before judging), and
    /// that bundle must hold heap snapshots or metrics.
    pub fn after_fix(&self) -> Result<Option<Bundle>> {
        let Some(after) = &self.manifest.after_fix else {
            return Ok(None);
        };
        let root = self.root.as_deref().unwrap_or(Path::new("."));
        let bad = |reason: String| Error::Manifest {
            path: root.join("manifest.json").display().to_string(),
            reason: format!("after_fix {after:?} {reason}"),
        };
        let rel = Path::new(after);
        if after.is_empty() || rel.has_root() || rel.is_absolute() {
            return Err(bad(
                "must be a path relative to this bundle (such as ../after-fix)".into(),
            ));
        }
        let canonical_root = root
            .canonicalize()
            .map_err(|e| bad(format!("cannot be resolved: {}: {e}", root.display())))?;
        let holder = canonical_root
            .parent()
            .ok_or_else(|| bad("cannot be judged: this bundle is the root folder".into()))?
            .to_path_buf();
        // Where it leads by its text, then where it leads on disk.
        let mut lexical = canonical_root.clone();
        for c in rel.components() {
            let escapes = match c {
                std::path::Component::ParentDir => !lexical.pop(),
                std::path::Component::Normal(n) => {
                    lexical.push(n);
                    false
                }
                _ => false,
            };
            if escapes {
                return Err(bad("leads outside the folder that holds this bundle".into()));
            }
        }
        let judge = |p: &Path| {
            if !p.starts_with(&holder) {
                Err(bad("leads outside the folder that holds this bundle".into()))
            } else if *p == canonical_root {
                Err(bad(
                    "is this bundle itself, not a bundle captured after the fix".into(),
                ))
            } else if canonical_root.starts_with(p) {
                Err(bad(
                    "is a folder that holds this bundle, not a bundle".into()
                ))
            } else {
                Ok(())
            }
        };
        judge(&lexical)?;
        let target = canonical_root.join(rel);
        let resolved = target
            .canonicalize()
            .map_err(|e| bad(format!("cannot be opened: {e}")))?;
        judge(&resolved)?;
        let b = Bundle::open(&target)?;
        if b.heap.is_empty() && b.metrics.samples.is_empty() && b.metrics.non_finite.is_empty() {
            return Err(bad(
                "has no heap snapshots and no metrics: not a bundle".into()
            ));
        }
        Ok(Some(b))
    }

    /// Loads bundle folders, profile files and glob patterns (`heap/*.pb.gz`)
    /// into one bundle; profiles are sorted into kinds by their sample types.
    pub fn from_paths<S: AsRef<str>>(inputs: &[S]) -> Result<Bundle> {
        Bundle::from_paths_only(inputs, &Load::all())
    }

    /// [`Bundle::from_paths`], keeping only what `load` asks for (bundle
    /// folders skip the rest; loose profiles of other kinds are read, to
    /// learn their kind, and dropped). Files are read on all cores.
    pub fn from_paths_only<S: AsRef<str>>(inputs: &[S], load: &Load) -> Result<Bundle> {
        if let [one] = inputs
            && Path::new(one.as_ref()).is_dir()
        {
            return Bundle::open_only(one.as_ref(), load);
        }
        let mut b = Bundle::default();
        let mut files = Vec::new();
        for input in inputs {
            let input = input.as_ref();
            let paths: Vec<PathBuf> = if Path::new(input).exists() {
                vec![PathBuf::from(input)]
            } else {
                let found: Vec<PathBuf> = glob::glob(input)
                    .map_err(|e| Error::Option(format!("invalid pattern {input:?}: {e}")))?
                    .filter_map(|r| r.ok())
                    .collect();
                if found.is_empty() {
                    return Err(Error::profile(
                        input,
                        ProfileError::Io(std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "no such file, and no file matches it as a pattern",
                        )),
                    ));
                }
                found
            };
            for p in paths {
                if p.is_dir() {
                    let other = Bundle::open_only(&p, load)?;
                    b.merge(other);
                } else {
                    files.push(p);
                }
            }
        }
        if let (Some(want), Some(f)) = (&load.instance, files.first()) {
            return Err(Error::Option(format!(
                "{}: a profile file, not a bundle folder: instance {:?} can only be picked \
                 from a bundle",
                f.display(),
                crate::escape::terminal(want)
            )));
        }
        let (logs, files): (Vec<PathBuf>, Vec<PathBuf>) =
            files.into_iter().partition(|p| is_log_file(p));
        for s in read_parallel(&files, read_snapshot)? {
            let p = &s.path;
            let kind = SnapshotKind::of(&s.profile).ok_or_else(|| {
                Error::Option(format!(
                    "{}: not a heap, allocs or goroutine profile (sample types: {})",
                    p.display(),
                    s.profile
                        .sample_types
                        .iter()
                        .map(|t| t.name.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            if load.wants(kind) {
                b.snapshots_mut(kind).push(s);
            }
        }
        if load.metrics {
            b.sort();
            b.add_runtime_stats();
            b.add_gctrace_logs(&logs, load.log_start_ms)?;
        }
        b.sort();
        Ok(b)
    }

    /// The one kind of snapshot these profiles are, read from their
    /// sample types (what `heapframe growth FILES` ranks without
    /// `--kind`); an error when they hold none, or several kinds, listing
    /// which file is which.
    ///
    /// ```
    /// use heapframe::evidence::bundle::{Bundle, SnapshotKind};
    /// let b = Bundle::from_paths(&["tests/fixtures/bundles/mapcache/goroutine/*.pb.gz"])?;
    /// assert_eq!(b.only_kind()?, SnapshotKind::Goroutine);
    /// let mixed = Bundle::from_paths(&[
    ///     "tests/fixtures/bundles/mapcache/goroutine/001.pb.gz",
    ///     "tests/fixtures/bundles/mapcache/heap/001.pb.gz",
    /// ])?;
    /// assert!(mixed.only_kind().unwrap_err().to_string().contains("heap: tests/fixtures"));
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn only_kind(&self) -> Result<SnapshotKind> {
        let present: Vec<SnapshotKind> = SnapshotKind::ALL
            .into_iter()
            .filter(|&k| !self.snapshots(k).is_empty())
            .collect();
        match present[..] {
            [one] => Ok(one),
            [] => Err(Error::Option(format!(
                "{}: no heap, allocs or goroutine profiles",
                self.name()
            ))),
            _ => {
                let list = |k: SnapshotKind| {
                    let files = self.snapshots(k);
                    let names: Vec<String> = files
                        .iter()
                        .take(4)
                        .map(|s| {
                            crate::escape::terminal(&s.path.display().to_string()).into_owned()
                        })
                        .collect();
                    let more = files.len().saturating_sub(names.len());
                    format!(
                        "{}: {}{}",
                        k.dir(),
                        names.join(", "),
                        if more > 0 {
                            format!(" and {more} more")
                        } else {
                            String::new()
                        }
                    )
                };
                Err(Error::Option(format!(
                    "{} are of several kinds ({}); give the files of one kind, or say which with --kind",
                    self.name(),
                    present
                        .iter()
                        .map(|&k| list(k))
                        .collect::<Vec<_>>()
                        .join("; ")
                )))
            }
        }
    }

    fn merge(&mut self, other: Bundle) {
        for kind in SnapshotKind::ALL {
            let v = other.snapshots(kind).to_vec();
            self.snapshots_mut(kind).extend(v);
        }
        self.metrics = std::mem::take(&mut self.metrics).merged(other.metrics);
        if self.root.is_none() {
            self.root = other.root;
            self.manifest = other.manifest;
        }
    }

    fn sort(&mut self) {
        for kind in SnapshotKind::ALL {
            self.snapshots_mut(kind)
                .sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then_with(|| a.path.cmp(&b.path)));
        }
    }

    /// Snapshots of one kind, in time order.
    pub fn snapshots(&self, kind: SnapshotKind) -> &[Snapshot] {
        match kind {
            SnapshotKind::Heap => &self.heap,
            SnapshotKind::Allocs => &self.allocs,
            SnapshotKind::Goroutine => &self.goroutine,
            SnapshotKind::GoroutineLeak => &self.goroutineleak,
        }
    }

    /// The snapshots of `kind`, to fill or change.
    pub fn snapshots_mut(&mut self, kind: SnapshotKind) -> &mut Vec<Snapshot> {
        match kind {
            SnapshotKind::Heap => &mut self.heap,
            SnapshotKind::Allocs => &mut self.allocs,
            SnapshotKind::Goroutine => &mut self.goroutine,
            SnapshotKind::GoroutineLeak => &mut self.goroutineleak,
        }
    }

    /// The first heap snapshot's profile; an error naming the bundle when
    /// it has none.
    pub fn first_heap(&self) -> Result<&Profile> {
        self.heap
            .first()
            .map(|s| &s.profile)
            .ok_or_else(|| self.no_heap())
    }

    /// The last heap snapshot's profile; an error naming the bundle when
    /// it has none.
    ///
    /// ```
    /// use heapframe::evidence::bundle::Bundle;
    /// let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
    /// assert!(b.last_heap()?.time_nanos > b.first_heap()?.time_nanos);
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn last_heap(&self) -> Result<&Profile> {
        self.heap
            .last()
            .map(|s| &s.profile)
            .ok_or_else(|| self.no_heap())
    }

    /// The heap snapshots as a series: growth, widening, the total delta
    /// and tables across them.
    pub fn heap_series(&self) -> SnapshotSeries<'_> {
        SnapshotSeries::new(&self.heap)
    }

    fn no_heap(&self) -> Error {
        Error::Option(format!("{} holds no heap snapshot", self.name()))
    }

    /// Which instance of its service this bundle is: the manifest's
    /// `instance`, else its target's `host:port`, else empty.
    pub fn instance_name(&self) -> String {
        let m = &self.manifest;
        if !m.instance.trim().is_empty() {
            return m.instance.trim().to_string();
        }
        crate::address::TargetUrl::parse(m.target.trim())
            .map(|u| format!("{}:{}", u.host(), u.port()))
            .unwrap_or_default()
    }

    /// Every instance of the bundle folder `dir`, each opened on its own
    /// with `load` (its `instance` ignored), in name order: the instances of
    /// a bundle of several, or the bundle itself (named by
    /// [`Bundle::instance_name`], else by its folder).
    ///
    /// ```
    /// use heapframe::evidence::bundle::{Bundle, Load};
    /// let all = Bundle::open_each("tests/fixtures/replicas", &Load::all())?;
    /// let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    /// assert_eq!(names, ["replica-1", "replica-2", "replica-3", "replica-4"]);
    /// assert!(all.iter().all(|(_, b)| b.manifest.service == "leakysvc"));
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn open_each(dir: impl AsRef<Path>, load: &Load) -> Result<Vec<(String, Bundle)>> {
        let mut all = Vec::new();
        Bundle::for_each_instance(dir, load, |name, b| {
            all.push((name, b));
            Ok(())
        })?;
        Ok(all)
    }

    /// [`Bundle::open_each`], one instance at a time: `f` gets each
    /// instance's name and bundle, and the bundle is dropped before the
    /// next is opened (memory is one instance's, however many there are).
    /// The first error, of opening or of `f`, ends it.
    pub fn for_each_instance(
        dir: impl AsRef<Path>,
        load: &Load,
        mut f: impl FnMut(String, Bundle) -> Result<()>,
    ) -> Result<()> {
        let dir = dir.as_ref();
        match instances_in(dir)? {
            Some(all) => {
                // The list and the holder's manifest read once, not again
                // for each instance.
                let holder = holder_manifest(dir)?;
                for i in all {
                    let name = i.name.clone();
                    f(name, open_instance(i, holder.as_ref(), load)?)?;
                }
                Ok(())
            }
            None => {
                let one = Load {
                    instance: None,
                    ..load.clone()
                };
                let b = Bundle::open_only(dir, &one)?;
                let mut name = b.instance_name();
                if name.is_empty() {
                    name = dir.file_name().map_or_else(
                        || dir.display().to_string(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                }
                f(name, b)
            }
        }
    }

    /// A name for messages: the folder, or "these files".
    pub fn name(&self) -> String {
        self.root.as_ref().map_or_else(
            || "the given files".to_string(),
            |r| r.display().to_string(),
        )
    }
}

/// What a bundle folder holds as evidence: the profile folders (`mutex/`
/// and `block/` too, which other tools put there), the metric scrapes, the
/// manifest and the collector's gaps log. Nothing heapframe writes on
/// request (`-o`, `save`) goes into them.
pub const EVIDENCE: &[&str] = &[
    "heap",
    "allocs",
    "goroutine",
    "goroutineleak",
    "mutex",
    "block",
    "metrics",
    "manifest.json",
    "gaps.jsonl",
    INSTANCES,
];

/// The folder of a bundle of several instances that holds them, one
/// bundle folder each.
pub const INSTANCES: &str = "instances";

/// The most instances one bundle may hold.
pub const MAX_INSTANCES: usize = 4096;

/// One instance of a bundle of several: `instances/<folder>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceFolder {
    /// Its name: its manifest's `instance`, else the folder's name.
    pub name: String,
    /// Its bundle folder.
    pub dir: PathBuf,
}

/// The folder, under `instances/`, of an instance called `name`
/// ([`crate::escape::folder_name`]); an error when the name is empty,
/// longer than 200 bytes or holds control characters.
///
/// ```
/// use heapframe::evidence::bundle::instance_folder;
/// assert_eq!(instance_folder("pod/7")?, "pod%2F7");
/// assert!(instance_folder("").is_err());
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn instance_folder(name: &str) -> Result<String> {
    if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(Error::Option(format!(
            "instance name {:?}: must be 1 to 200 bytes of printable text",
            crate::escape::terminal(name)
        )));
    }
    Ok(crate::escape::folder_name(name))
}

fn names_of(all: &[InstanceFolder]) -> String {
    let shown: Vec<String> = all
        .iter()
        .take(8)
        .map(|i| crate::escape::terminal(&i.name).into_owned())
        .collect();
    let more = all.len() - shown.len();
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// The instances of the bundle `dir` when it holds several (its
/// `instances/` folder), in name order; `None` for a bundle of one. Hidden
/// names (temporaries) are passed over; anything else in `instances/` that
/// is not a folder, more than [`MAX_INSTANCES`] folders, or two folders
/// claiming one name are errors naming the folder.
pub fn instances_in(dir: &Path) -> Result<Option<Vec<InstanceFolder>>> {
    let holder = dir.join(INSTANCES);
    let io = |e: std::io::Error| Error::profile(holder.display().to_string(), ProfileError::Io(e));
    let bad =
        |reason: String| Error::profile(holder.display().to_string(), ProfileError::Decode(reason));
    let entries = match std::fs::read_dir(&holder) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    // Snapshots of its own beside the instances would be passed over.
    if let Some(e) = own_evidence(dir) {
        return Err(bad(format!(
            "{} has instances/ and also evidence of its own in {e}/: move that into an \
             instance's folder (instances/NAME/{e}/), so that nothing is passed over",
            dir.display()
        )));
    }
    let mut all: Vec<InstanceFolder> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with('.') {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            return Err(bad(format!(
                "{} is not a folder (links are not followed): instances/ holds one bundle \
                 folder per instance",
                crate::escape::terminal(&file)
            )));
        }
        if all.len() == MAX_INSTANCES {
            return Err(bad(format!("more than {MAX_INSTANCES} instances")));
        }
        let dir = entry.path();
        let manifest = dir.join("manifest.json");
        let named = if manifest.symlink_metadata().is_ok() {
            read_manifest(&manifest)?.instance.trim().to_string()
        } else {
            String::new()
        };
        let name = if named.is_empty() { file } else { named };
        all.push(InstanceFolder { name, dir });
    }
    all.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.dir.cmp(&b.dir)));
    if let Some(w) = all.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(bad(format!(
            "{} and {} are both instance {:?}",
            w[0].dir.display(),
            w[1].dir.display(),
            crate::escape::terminal(&w[0].name)
        )));
    }
    if all.is_empty() {
        return Err(bad("holds no instance folder".into()));
    }
    Ok(Some(all))
}

/// The folder that holds instance `instance`'s own files: under a bundle
/// of several instances, that instance's folder (an error listing them
/// when it is not one of them, or when `instance` is `None`); a bundle of
/// one (or a folder not made yet) is its own folder, whatever `instance`
/// says. What writes into a bundle (`note`, `import-log`,
/// `import-prometheus`) writes there.
pub fn instance_dir(dir: &Path, instance: Option<&str>) -> Result<PathBuf> {
    match instances_in(dir)? {
        Some(all) => Ok(pick_instance(dir, all, instance, "say which with --instance NAME")?.dir),
        None => Ok(dir.to_path_buf()),
    }
}

/// The manifest of the bundle `dir` (that holds instances), if it has one.
fn holder_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join("manifest.json");
    if path.symlink_metadata().is_ok() {
        read_manifest(&path).map(Some)
    } else {
        Ok(None)
    }
}

/// Opens the instance `one` of a bundle of several with `load` (its
/// `instance` ignored): its own folder, its manifest filling in what it
/// leaves empty from the `holder`'s, named as listed.
fn open_instance(one: InstanceFolder, holder: Option<&Manifest>, load: &Load) -> Result<Bundle> {
    let mut b = Bundle::open_only(
        &one.dir,
        &Load {
            instance: None,
            ..load.clone()
        },
    )?;
    if let Some(h) = holder {
        b.manifest.inherit(h);
    }
    b.manifest.instance = one.name;
    Ok(b)
}

/// Instance `want` of `all`, the instances of the bundle `dir`: without a
/// name, an error listing them and saying `what_to_do`; with a name none
/// has, an error listing them.
fn pick_instance(
    dir: &Path,
    mut all: Vec<InstanceFolder>,
    want: Option<&str>,
    what_to_do: &str,
) -> Result<InstanceFolder> {
    let name = dir.display();
    let Some(want) = want else {
        return Err(Error::Option(format!(
            "{name}: holds {} instances ({}): {what_to_do}",
            all.len(),
            names_of(&all)
        )));
    };
    match all.iter().position(|i| i.name == want) {
        Some(i) => Ok(all.swap_remove(i)),
        None => Err(Error::Option(format!(
            "{name}: no instance {:?}; it holds {}",
            crate::escape::terminal(want),
            names_of(&all)
        ))),
    }
}

/// Whether `dir` is a bundle folder: it has a manifest or gaps log, or an
/// evidence folder holding a file heapframe reads (a profile, or metrics
/// as `.prom` or `.csv`).
pub(crate) fn is_bundle_folder(dir: &Path) -> bool {
    EVIDENCE
        .iter()
        .any(|e| e.contains('.') && dir.join(e).is_file())
        || own_evidence(dir).is_some()
}

/// The first evidence folder of `dir` (profiles or metrics, not
/// `instances/`) that holds a file heapframe reads.
fn own_evidence(dir: &Path) -> Option<&'static str> {
    EVIDENCE.iter().copied().find(|e| {
        if e.contains('.') || *e == INSTANCES {
            return false;
        }
        let Ok(entries) = std::fs::read_dir(dir.join(e)) else {
            return false;
        };
        entries.flatten().any(|f| {
            let f = f.path();
            if *e == "metrics" {
                f.extension().is_some_and(|x| x == "prom" || x == "csv")
            } else {
                is_profile_file(&f)
            }
        })
    })
}

/// Whether two paths name the same file (same device and inode, so hard
/// and symbolic links count as the same).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Refuses an output path that would destroy evidence: one that is the
/// same file as one of `inputs` (by path, or through a hard or symbolic
/// link), or that lies in a bundle's evidence (a folder or file named in
/// [`EVIDENCE`] of a bundle folder, at any depth below such a folder).
/// The error names the output and the input or folder it would replace.
///
/// ```
/// use heapframe::evidence::bundle::check_output_path;
/// use std::path::Path;
/// let b = Path::new("tests/fixtures/bundles/mapcache");
/// assert!(check_output_path(&b.join("heap/001.pb.gz"), &[b]).is_err());
/// assert!(check_output_path(&b.join("heap/flame.svg"), &[]).is_err());
/// assert!(check_output_path(&b.join("manifest.json"), &[]).is_err());
/// let p = b.join("heap/007.pb.gz");
/// assert!(check_output_path(Path::new("report.html"), &[&p]).is_ok());
/// ```
pub fn check_output_path(output: &Path, inputs: &[&Path]) -> Result<()> {
    let refuse = |why: String| {
        Err(Error::Option(format!(
            "refusing to write {}: {why}",
            output.display()
        )))
    };
    let Some(name) = output.file_name() else {
        return refuse("not a file name".into());
    };
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // A folder that does not exist fails when written; nothing to guard.
    let Ok(dir) = parent.canonicalize() else {
        return Ok(());
    };
    let target = dir.join(name);
    for input in inputs {
        let same_path = input
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .and_then(|p| p.canonicalize().ok())
            .zip(input.file_name())
            .is_some_and(|(d, n)| d.join(n) == target);
        if same_path || same_file(&target, input) {
            return refuse(format!(
                "it is the input {} (the same file); choose another output path",
                input.display()
            ));
        }
    }
    let evidence = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| EVIDENCE.contains(&n))
    };
    for at in target.ancestors() {
        let Some(bundle) = at.parent() else { break };
        if evidence(at) && is_bundle_folder(bundle) {
            return refuse(format!(
                "it is or lies in {}, evidence of the bundle {}; heapframe never writes into a bundle's evidence, choose a path outside it",
                at.display(),
                bundle.display()
            ));
        }
    }
    Ok(())
}

/// What [`import_log`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedLog {
    /// The metrics table written (`BUNDLE/metrics/<first ms>.csv`).
    pub path: std::path::PathBuf,
    /// GC cycles placed and written.
    pub cycles: usize,
    /// When the first and the last of them ended, in Unix milliseconds.
    pub span_ms: (i64, i64),
    /// How the lines were placed in time, as a sentence.
    pub placed_by: String,
    /// What was left out or assumed ([`crate::evidence::gctrace::GcTrace::samples`]).
    pub notes: Vec<String>,
}

/// Imports the gctrace log at `log` into the bundle folder `bundle`
/// (created if missing) as a metrics table `metrics/<ms>.csv` (never over
/// an existing file): one set of points per GC cycle, placed by the lines'
/// own times, else by a `?debug=1` heap snapshot of the same process in the
/// bundle, else by `start` (Unix milliseconds). The GC cycle count is also
/// written as `go_gc_duration_seconds_count` when the bundle has no such
/// metric. A log whose cycles the bundle already holds (a second import)
/// is refused, as summing both would double every value.
pub fn import_log(
    log: &std::path::Path,
    bundle: &std::path::Path,
    start: Option<i64>,
) -> Result<ImportedLog> {
    use crate::evidence::gctrace::{Anchor, read_gctrace_file};
    use crate::evidence::metrics::names;
    let trace = read_gctrace_file(log)?;
    let existing = if bundle.is_dir() {
        Bundle::open_only(
            bundle,
            &Load {
                kinds: vec![SnapshotKind::Heap, SnapshotKind::Allocs],
                metrics: true,
                log_start_ms: None,
                instance: None,
            },
        )?
    } else {
        Bundle::default()
    };
    // Placed the way a bundle places a log in logs/: by this log's own
    // times, the snapshots' trailers or `start`.
    let series = existing.gctrace_series(
        &trace,
        start,
        existing.metrics.points(names::GC_COUNT).is_empty(),
    )?;
    let placed_by = match existing.gctrace_anchor(&trace, start) {
        _ if trace.all_logged() => "the time in front of each line".to_string(),
        Anchor::LastGc { number, at_ms } => format!(
            "a ?debug=1 heap snapshot of the same process (its runtime.MemStats trailer: GC cycle {number} ended at {})",
            crate::units::format_rfc3339(at_ms)
        ),
        Anchor::Start(ms) => format!(
            "the process start given ({})",
            crate::units::format_rfc3339(ms)
        ),
        Anchor::None => "the time in front of some lines".to_string(),
    };
    let live: Vec<i64> = series
        .samples
        .iter()
        .filter(|s| s.metric == names::GCTRACE_HEAP_LIVE)
        .map(|s| s.time_ms)
        .collect();
    let (Some(&first), Some(&last)) = (live.iter().min(), live.iter().max()) else {
        return Err(Error::GcTrace {
            source: trace.source.clone(),
            line: 0,
            reason: "no GC cycle could be placed in time".into(),
        });
    };
    let held = existing.metrics.points(names::GCTRACE_HEAP_LIVE);
    if let (Some(a), Some(b)) = (held.first(), held.last())
        && a.0 <= last
        && first <= b.0
    {
        return Err(Error::GcTrace {
            source: trace.source.clone(),
            line: 0,
            reason: format!(
                "{} already holds gctrace points from {} to {}, which this log's cycles overlap ({} to {}): imported before? Importing again would double them",
                bundle.display(),
                crate::units::format_rfc3339(a.0),
                crate::units::format_rfc3339(b.0),
                crate::units::format_rfc3339(first),
                crate::units::format_rfc3339(last)
            ),
        });
    }
    let dir = bundle.join("metrics");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::Output(format!("{}: cannot create: {e}", dir.display())))?;
    let path = crate::files::write_new(&dir, first, "csv", series.to_csv().as_bytes())?;
    Ok(ImportedLog {
        path,
        cycles: live.len(),
        span_ms: (first, last),
        placed_by,
        notes: series.notes,
    })
}
