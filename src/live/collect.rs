//! The incident collector: heap snapshots at an interval, allocs and
//! goroutine profiles alongside, metrics at a finer interval, all into an
//! incident bundle ([`crate::evidence::bundle`]) that `growth` and `verdict` read.
//!
//! Safety rules, each tested:
//! - every file is written atomically under a new name
//!   ([`crate::files::write_new`]): a crash or Ctrl-C leaves complete files
//!   and hidden temporaries marked as heapframe's
//!   ([`crate::files::temp_name`]), which loading ignores and the next run
//!   removes — only those, and only in a bundle whose manifest names this
//!   target;
//! - nothing already in the bundle is replaced: a restarted collector adds
//!   files next to the old ones (a bundle collected from another target is
//!   refused, so two services never mix); the manifest is written when the
//!   bundle has none, and an existing one only gains a `target` when it
//!   names none (its other fields kept as they are);
//! - a refused run (another target, an unreadable manifest) changes
//!   nothing in the folder: the checks come before any folder is created
//!   or any file removed;
//! - a failed fetch (the service restarting, answering slowly, answering
//!   garbage) or a failed write is recorded as a gap in `gaps.jsonl` and the
//!   run goes on; the next tick tries again. The gap log is only ever
//!   appended to, and its errors quote no more than a short, sanitised
//!   excerpt of an answer;
//! - the target's address must be allowed
//!   ([`crate::live::http::FetchOptions::addresses`]), and the target is
//!   stored and printed without credentials;
//! - a bundle folder that cannot be written is reported before anything is
//!   fetched.
//!
//! ```no_run
//! use std::time::Duration;
//! use heapframe::live::collect::{CollectOptions, Collector};
//! use heapframe::live::{FetchOptions, Service};
//! let svc = Service::new("http://127.0.0.1:6060", FetchOptions::default())?;
//! let opts = CollectOptions { every: Duration::from_secs(60), count: 10, ..Default::default() };
//! let report = Collector::new(svc, "incident", opts)?.run()?;
//! println!("{} heap snapshots, {} gaps", report.heap_snapshots, report.gaps.len());
//! # Ok::<(), heapframe::Error>(())
//! ```

use crate::units::clock_utc as clock;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::address::TargetUrl;
use crate::error::{Error, FetchError, ProfileError, Result};
use crate::evidence::bundle::{Manifest, SnapshotKind};
use crate::files::{remove_stale_temp_files, replace_file, temp_name, write_new};
use crate::live::http::now_ms;
use crate::live::service::{ProfileQuery, Service};

/// Where the collector reads metrics from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsSource {
    /// `/metrics`, Prometheus text; stored as `metrics/<ms>.prom`.
    Prometheus,
    /// `/debug/vars`, Go's expvar; stored as `metrics/<ms>.csv`.
    Expvar,
    /// No metrics.
    Off,
}

/// What to collect, and how often.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Time between heap captures (default 5 minutes).
    pub every: Duration,
    /// Heap captures to attempt in this run (default 12; 0 = until stopped).
    pub count: usize,
    /// Time between metric scrapes (default 15 s).
    pub metrics_every: Duration,
    /// Where metrics come from (default `/metrics`).
    pub metrics: MetricsSource,
    /// Profiles taken at each capture (default heap, allocs, goroutine and
    /// goroutineleak; goroutineleak is dropped for the run when the service
    /// does not serve it, as before Go 1.27).
    pub kinds: Vec<SnapshotKind>,
    /// Query of the heap and allocs requests (`gc=1`...).
    pub query: ProfileQuery,
    /// With `Some(N)`, each capture also asks for delta heap and allocs
    /// profiles over N seconds (`?seconds=N`: what changed in them), kept
    /// apart from the cumulative snapshots in `delta/heap/` and
    /// `delta/allocs/`. N must be shorter than `every`.
    pub delta_seconds: Option<u32>,
    /// The service's name for the manifest (default: empty).
    pub service: String,
    /// The instance's name for the manifest (default: empty, when its
    /// target's `host:port` names it well enough).
    pub instance: String,
    /// Show a progress bar on standard error (lines when it is not a
    /// terminal).
    pub progress: bool,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            every: crate::defaults::COLLECT_EVERY,
            count: crate::defaults::COLLECT_COUNT,
            metrics_every: crate::defaults::METRICS_EVERY,
            metrics: MetricsSource::Prometheus,
            kinds: SnapshotKind::ALL.to_vec(),
            query: ProfileQuery::default(),
            delta_seconds: None,
            service: String::new(),
            instance: String::new(),
            progress: false,
        }
    }
}

/// A capture that failed, as recorded in `gaps.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// When, Unix milliseconds.
    pub time_ms: i64,
    /// What: `heap`, `allocs`, `goroutine`, `goroutineleak`, `metrics`.
    pub what: String,
    /// `fetch` or `write`.
    pub stage: String,
    /// The error message (names the URL or the file).
    pub error: String,
}

/// What a bundle's `gaps.jsonl` holds, as far as it can be read.
#[derive(Debug, Clone, Default)]
pub struct GapLog {
    /// The gaps, in the order recorded.
    pub gaps: Vec<Gap>,
    /// One line for each line that is not a gap record, naming the file
    /// and the line number (the line is skipped, and stays in the file).
    pub unreadable: Vec<String>,
}

/// The largest `gaps.jsonl` [`read_gaps`] reads (64 MiB; a gap is a line
/// of a few hundred bytes).
pub const MAX_GAP_LOG_BYTES: u64 = 64 << 20;

/// Reads a `gaps.jsonl` (none: no gaps). A line that is not a gap record —
/// invalid UTF-8 or JSON, a line cut short by a crash — is reported in
/// [`GapLog::unreadable`] and skipped; it is never a reason to lose the
/// others.
pub fn read_gaps(path: &Path) -> Result<GapLog> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(GapLog::default()),
        Err(e) => {
            return Err(Error::profile(
                path.display().to_string(),
                ProfileError::Io(e),
            ));
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_GAP_LOG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::profile(path.display().to_string(), ProfileError::Io(e)))?;
    let mut log = GapLog::default();
    if bytes.len() as u64 > MAX_GAP_LOG_BYTES {
        bytes.truncate(MAX_GAP_LOG_BYTES as usize);
        log.unreadable.push(format!(
            "{}: larger than {MAX_GAP_LOG_BYTES} bytes; only the start was read",
            path.display()
        ));
    }
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Gap>(line) {
            Ok(g) => log.gaps.push(g),
            Err(e) => log.unreadable.push(format!(
                "{}:{}: not a gap record ({e}); skipped, and kept in the file",
                path.display(),
                i + 1
            )),
        }
    }
    Ok(log)
}

/// Appends `gap` to the gap log `path` as one JSON line, in one write with
/// `O_APPEND`: what the file held stays as it is, readable or not.
pub fn append_gap(path: &Path, gap: &Gap) -> std::io::Result<()> {
    let line = serde_json::to_string(gap).map_err(std::io::Error::other)?;
    append_line(path, &line)
}

/// Appends `line` and a newline to `path` (created when missing) in one
/// write with `O_APPEND`: what is in the file stays as it is, whatever it
/// holds. A last line cut short by a crash (no newline) is ended first,
/// so the new line stands alone.
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let mut buf = Vec::with_capacity(line.len() + 2);
    if f.metadata()?.len() > 0 {
        let mut last = [0u8];
        f.seek(SeekFrom::End(-1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            buf.push(b'\n');
        }
    }
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    f.write_all(&buf)?;
    f.sync_data()
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct CollectReport {
    /// Files written by this run.
    pub written: Vec<PathBuf>,
    /// Heap snapshots written by this run.
    pub heap_snapshots: usize,
    /// Heap captures attempted (ticks).
    pub heap_ticks: usize,
    /// Delta profiles written (`delta/heap/`, `delta/allocs/`).
    pub delta_profiles: usize,
    /// Metric scrapes written.
    pub scrapes: usize,
    /// Failed captures, in order.
    pub gaps: Vec<Gap>,
    /// Notes for the user (e.g. an endpoint the service does not serve).
    pub notes: Vec<String>,
    /// True when the run was stopped before it took `count` captures.
    pub stopped: bool,
}

/// Collects an incident from one service into one bundle folder.
#[derive(Debug)]
pub struct Collector {
    service: Service,
    out: PathBuf,
    opts: CollectOptions,
    stop: Arc<AtomicBool>,
    existing_heap: usize,
    /// What to tell the user when the run starts (unreadable gap lines).
    startup_notes: Vec<String>,
    /// One instance of several: progress as lines prefixed with its name
    /// (`opts.instance`), not a bar.
    one_of_several: bool,
}

fn short(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s / 60 % 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s >= 1 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn write_err(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Output(format!("{}: cannot {what}: {e}", path.display()))
}

/// One tick's gaps for a progress line: what failed, and the first error
/// (the others usually say the same of another URL).
fn describe_gaps(gaps: &[Gap]) -> String {
    let Some(first) = gaps.first() else {
        return String::new();
    };
    let what: Vec<String> = gaps
        .iter()
        .map(|g| format!("{} {}", g.what, g.stage))
        .collect();
    format!("; gaps: {}; first error: {}", what.join(", "), first.error)
}

/// The error for the manifest `path` that cannot be used, saying why.
fn invalid_manifest(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::profile(
        path.display().to_string(),
        ProfileError::Decode(format!("invalid manifest: {why}")),
    )
}

/// What the bundle `out` says of itself: its manifest (text and fields)
/// when it has one, and whether it names `service`'s target (its
/// temporaries are then this collector's to remove). An error when it
/// cannot be read, or names another target: a bundle holds one service's
/// instance.
fn existing_manifest(out: &Path, service: &Service) -> Result<(Option<(String, Manifest)>, bool)> {
    let manifest_path = out.join("manifest.json");
    let existing = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => {
            let m: Manifest =
                serde_json::from_str(&text).map_err(|e| invalid_manifest(&manifest_path, e))?;
            Some((text, m))
        }
        // No bundle there yet (creating it reports an unusable path).
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            None
        }
        Err(e) => {
            return Err(Error::profile(
                manifest_path.display().to_string(),
                ProfileError::Io(e),
            ));
        }
    };
    let ours = match &existing {
        Some((_, m)) if !m.target.is_empty() => {
            let same = TargetUrl::parse(&m.target).is_ok_and(|t| t.same_endpoint(service.base()));
            if !same {
                let theirs = crate::address::redact_url(&m.target);
                return Err(Error::Option(format!(
                    "{}: this bundle was collected from {theirs}, not {}: collect into \
                         another folder (one bundle, one service)",
                    out.display(),
                    service.base()
                )));
            }
            true
        }
        _ => false,
    };
    Ok((existing, ours))
}

impl Collector {
    /// Prepares `out` (created when missing) for collection from `service`:
    /// checks that it was not collected from another target and that it
    /// can be written, removes temporaries a killed run left, and writes
    /// the manifest when the bundle has none. Nothing is fetched yet, and
    /// when it refuses, nothing in `out` was created, changed or removed.
    pub fn new(service: Service, out: impl AsRef<Path>, opts: CollectOptions) -> Result<Collector> {
        let out = out.as_ref().to_path_buf();
        if opts.every.is_zero() || opts.metrics_every.is_zero() {
            return Err(Error::Option(
                "collection intervals must be longer than zero".into(),
            ));
        }
        if let Some(n) = opts.delta_seconds
            && (n == 0 || Duration::from_secs(n as u64) >= opts.every)
        {
            return Err(Error::Option(format!(
                "--seconds {n}: a delta profile must cover more than 0 s and less than the time between captures ({})",
                short(opts.every)
            )));
        }
        // First what the folder says about itself: refuse before touching it.
        if out.join(crate::evidence::bundle::INSTANCES).exists() {
            return Err(Error::Option(format!(
                "{}: holds several instances (instances/): collect into it with all its \
                 targets (several URLs or --targets), or into another folder",
                out.display()
            )));
        }
        let manifest_path = out.join("manifest.json");
        let (existing, ours) = existing_manifest(&out, &service)?;
        let manifest_json = match &existing {
            // Add the target and keep every other field as it is,
            // including fields heapframe does not know.
            Some((text, m)) if m.target.is_empty() => {
                let mut v: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| invalid_manifest(&manifest_path, e))?;
                let obj = v
                    .as_object_mut()
                    .ok_or_else(|| invalid_manifest(&manifest_path, "not a JSON object"))?;
                obj.insert("target".into(), service.base().to_string().into());
                Some(v)
            }
            Some(_) => None,
            None => {
                let m = Manifest {
                    service: opts.service.clone(),
                    instance: opts.instance.clone(),
                    target: service.base().to_string(),
                    captured_by: "heapframe collect".into(),
                    captured_at: crate::units::format_rfc3339(now_ms()),
                    notes: format!(
                        "heap every {}, metrics every {}",
                        short(opts.every),
                        short(opts.metrics_every)
                    ),
                    ..Default::default()
                };
                Some(
                    serde_json::to_value(&m)
                        .map_err(|e| Error::Output(format!("manifest: {e}")))?,
                )
            }
        };
        // Then the folders, and a probe in each: a read-only disk is found
        // now, not after the first capture was fetched.
        let mut dirs: Vec<PathBuf> = opts.kinds.iter().map(|k| out.join(k.dir())).collect();
        if opts.metrics != MetricsSource::Off {
            dirs.push(out.join("metrics"));
        }
        for d in &dirs {
            std::fs::create_dir_all(d)
                .map_err(|e| write_err(d, "create the bundle folder (nothing was fetched)", e))?;
        }
        for d in std::iter::once(&out).chain(&dirs) {
            let probe = d.join(temp_name("write-probe"));
            std::fs::write(&probe, b"")
                .map_err(|e| write_err(d, "write into the bundle (nothing was fetched)", e))?;
            let _ = std::fs::remove_file(&probe);
            // Temporaries of a killed run: only heapframe's own, and only in
            // a bundle that was already this target's.
            if ours {
                remove_stale_temp_files(d);
            }
        }
        if let Some(v) = manifest_json {
            let json = serde_json::to_string_pretty(&v)
                .map_err(|e| Error::Output(format!("manifest: {e}")))?;
            replace_file(&manifest_path, format!("{json}\n").as_bytes())?;
        }
        let existing_heap = std::fs::read_dir(out.join("heap"))
            .map(|r| {
                r.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".pb.gz"))
                    .count()
            })
            .unwrap_or(0);
        let startup_notes = match read_gaps(&out.join("gaps.jsonl")) {
            Ok(log) => log.unreadable,
            Err(e) => vec![e.to_string()],
        };
        Ok(Collector {
            service,
            out,
            opts,
            stop: Arc::new(AtomicBool::new(false)),
            existing_heap,
            startup_notes,
            one_of_several: false,
        })
    }

    /// A flag that stops the run when set (between captures; a capture in
    /// progress is finished and written first). Set it from a Ctrl-C
    /// handler or another thread.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Heap snapshots the bundle held before this run.
    pub fn existing_heap_snapshots(&self) -> usize {
        self.existing_heap
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn record_gap(&self, report: &mut CollectReport, what: &str, stage: &str, error: &Error) {
        let gap = Gap {
            time_ms: now_ms(),
            what: what.into(),
            stage: stage.into(),
            error: error.to_string().replace('\n', " "),
        };
        report.gaps.push(gap.clone());
        // Appended, never rewritten; when even this cannot be written, the
        // report still has it.
        let _ = append_gap(&self.out.join("gaps.jsonl"), &gap);
    }

    fn capture_profiles(&self, report: &mut CollectReport, kinds: &mut Vec<SnapshotKind>) {
        let mut dropped = Vec::new();
        for &kind in kinds.iter() {
            if self.stopped() && kind != SnapshotKind::Heap {
                break;
            }
            let q = match kind {
                SnapshotKind::Heap | SnapshotKind::Allocs => self.opts.query,
                _ => ProfileQuery::default(),
            };
            match self.service.profile(kind, &q) {
                Ok(p) => {
                    let t = if p.profile.time_nanos > 0 {
                        p.profile.time_nanos / 1_000_000
                    } else {
                        now_ms()
                    };
                    match write_new(&self.out.join(kind.dir()), t, "pb.gz", &p.gzip) {
                        Ok(path) => {
                            if kind == SnapshotKind::Heap {
                                report.heap_snapshots += 1;
                            }
                            report.written.push(path);
                        }
                        Err(e) => self.record_gap(report, kind.dir(), "write", &e),
                    }
                }
                Err(Error::Fetch {
                    error: FetchError::Status { status: 404, .. },
                    ..
                }) if kind == SnapshotKind::GoroutineLeak => {
                    dropped.push(kind);
                    report.notes.push(
                        "the service does not serve /debug/pprof/goroutineleak (Go 1.27+): \
                         not asked again in this run"
                            .into(),
                    );
                }
                Err(e) => self.record_gap(report, kind.dir(), "fetch", &e),
            }
        }
        kinds.retain(|k| !dropped.contains(k));
        if let Some(n) = self.opts.delta_seconds
            && !self.stopped()
        {
            self.capture_deltas(report, n);
        }
    }

    /// Delta heap and allocs profiles over the next `seconds` (asked for
    /// at once, so both cover the same seconds), into `delta/<kind>/`.
    fn capture_deltas(&self, report: &mut CollectReport, seconds: u32) {
        let q = ProfileQuery {
            seconds: Some(seconds),
            ..self.opts.query
        };
        let kinds = [SnapshotKind::Heap, SnapshotKind::Allocs];
        let fetched: Vec<Result<crate::live::service::FetchedProfile>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = kinds
                    .iter()
                    .map(|&k| scope.spawn(move || self.service.profile(k, &q)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(Error::Option("a delta profile fetch panicked".into()))
                        })
                    })
                    .collect()
            });
        for (kind, result) in kinds.iter().zip(fetched) {
            let what = format!("delta/{}", kind.dir());
            match result {
                Ok(p) => {
                    let dir = self.out.join("delta").join(kind.dir());
                    let t = if p.profile.time_nanos > 0 {
                        p.profile.time_nanos / 1_000_000
                    } else {
                        now_ms()
                    };
                    let written = std::fs::create_dir_all(&dir)
                        .map_err(|e| write_err(&dir, "create", e))
                        .and_then(|_| write_new(&dir, t, "pb.gz", &p.gzip));
                    match written {
                        Ok(path) => {
                            report.delta_profiles += 1;
                            report.written.push(path);
                        }
                        Err(e) => self.record_gap(report, &what, "write", &e),
                    }
                }
                Err(e) => self.record_gap(report, &what, "fetch", &e),
            }
        }
    }

    fn scrape(&self, report: &mut CollectReport) {
        let result = match self.opts.metrics {
            MetricsSource::Prometheus => self
                .service
                .metrics()
                .map(|s| (s.time_ms, "prom", s.text.into_bytes())),
            MetricsSource::Expvar => self.service.expvar().map(|s| {
                let csv = crate::evidence::metrics::MetricSeries::new(s.samples).to_csv();
                (s.time_ms, "csv", csv.into_bytes())
            }),
            MetricsSource::Off => return,
        };
        match result {
            Ok((t, ext, bytes)) => match write_new(&self.out.join("metrics"), t, ext, &bytes) {
                Ok(path) => {
                    report.scrapes += 1;
                    report.written.push(path);
                }
                Err(e) => self.record_gap(report, "metrics", "write", &e),
            },
            Err(e) => self.record_gap(report, "metrics", "fetch", &e),
        }
    }

    /// Runs until `count` heap captures were attempted or the stop flag is
    /// set, then returns what was done. Failed captures do not stop it.
    pub fn run(&mut self) -> Result<CollectReport> {
        let mut report = CollectReport::default();
        let mut kinds = self.opts.kinds.clone();
        let metrics_on = self.opts.metrics != MetricsSource::Off;
        let bar = self.opts.progress.then(|| {
            if self.one_of_several {
                // One of several instances: lines, each naming it.
                return indicatif::ProgressBar::hidden();
            }
            let bar = if self.opts.count > 0 {
                indicatif::ProgressBar::new(self.opts.count as u64)
            } else {
                indicatif::ProgressBar::new_spinner()
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} captures {pos}/{len} [{bar:20}] {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        let prefix = if self.one_of_several {
            format!("[{}] ", crate::escape::terminal(&self.opts.instance))
        } else {
            String::new()
        };
        let say = |line: String| {
            if let Some(b) = &bar {
                if b.is_hidden() {
                    eprintln!("{prefix}{line}");
                } else {
                    b.println(line);
                }
            }
        };
        for n in &self.startup_notes {
            say(format!("note: {n}"));
        }
        if self.existing_heap > 0 {
            say(format!(
                "{}: appending to a bundle that has {} heap snapshots",
                self.out.display(),
                self.existing_heap
            ));
        }
        let start = Instant::now();
        let mut next_heap = start;
        let mut next_metrics = start;
        let advance = |due: Instant, period: Duration| {
            let now = Instant::now();
            let mut next = due + period;
            while next <= now {
                next += period;
            }
            next
        };
        let mut last_heap = String::from("none yet");
        loop {
            if self.stopped() {
                report.stopped = true;
                break;
            }
            let now = Instant::now();
            if now >= next_heap {
                let gaps_before = report.gaps.len();
                let written_before = report.heap_snapshots;
                self.capture_profiles(&mut report, &mut kinds);
                report.heap_ticks += 1;
                let t = now_ms();
                last_heap = clock(t);
                let new_gaps = &report.gaps[gaps_before..];
                say(format!(
                    "{} capture {}{}: {}{}",
                    clock(t),
                    report.heap_ticks,
                    if self.opts.count > 0 {
                        format!("/{}", self.opts.count)
                    } else {
                        String::new()
                    },
                    if report.heap_snapshots > written_before {
                        "heap snapshot written"
                    } else {
                        "NO heap snapshot"
                    },
                    describe_gaps(new_gaps)
                ));
                if let Some(b) = &bar {
                    b.inc(1);
                }
                next_heap = advance(next_heap, self.opts.every);
                if self.opts.count > 0 && report.heap_ticks >= self.opts.count {
                    if metrics_on {
                        self.scrape(&mut report);
                    }
                    break;
                }
            }
            if metrics_on && Instant::now() >= next_metrics && !self.stopped() {
                let gaps_before = report.gaps.len();
                self.scrape(&mut report);
                for g in &report.gaps[gaps_before..] {
                    say(format!(
                        "{} gap: metrics {}: {}",
                        clock(now_ms()),
                        g.stage,
                        g.error
                    ));
                }
                next_metrics = advance(next_metrics, self.opts.metrics_every);
            }
            // Sleep until the next capture is due, a little at a time so
            // that a stop request is seen quickly.
            let due = if metrics_on {
                next_heap.min(next_metrics)
            } else {
                next_heap
            };
            while !self.stopped() {
                let now = Instant::now();
                if now >= due {
                    break;
                }
                if let Some(b) = &bar {
                    b.set_message(format!(
                        "last heap {last_heap}, next in {}, {} scrapes, {} gaps",
                        short(next_heap.saturating_duration_since(now)),
                        report.scrapes,
                        report.gaps.len()
                    ));
                    b.tick();
                }
                std::thread::sleep((due - now).min(Duration::from_millis(100)));
            }
        }
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        // A temporary can stay behind when its folder turned read-only
        // between writing and linking it; remove what can be removed now.
        for kind in &self.opts.kinds {
            remove_stale_temp_files(&self.out.join(kind.dir()));
        }
        remove_stale_temp_files(&self.out.join("metrics"));
        for kind in [SnapshotKind::Heap, SnapshotKind::Allocs] {
            remove_stale_temp_files(&self.out.join("delta").join(kind.dir()));
        }
        remove_stale_temp_files(&self.out);
        for n in &report.notes {
            say(format!("note: {n}"));
        }
        Ok(report)
    }
}

/// The most targets one collection takes.
pub const MAX_TARGETS: usize = 1024;

/// The largest `--targets` file read (1 MiB).
pub const MAX_TARGETS_FILE_BYTES: u64 = 1 << 20;

/// One line of a targets file: a URL and, optionally, the instance's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetLine {
    /// The service's address.
    pub url: String,
    /// The instance's name (`None`: its `host:port`).
    pub instance: Option<String>,
}

/// Reads a targets file: one target per line, `URL [NAME]` (the name is
/// the rest of the line, trimmed); blank lines and lines starting with `#`
/// are passed over. Errors name the file and the line.
///
/// ```
/// use heapframe::live::collect::parse_targets;
/// let t = parse_targets("t.txt", "# pods\nhttp://10.0.3.7:6060 pod-a\n\nhttp://10.0.3.8:6060\n")?;
/// assert_eq!(t[0].instance.as_deref(), Some("pod-a"));
/// assert_eq!(t[1].instance, None);
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn parse_targets(name: &str, text: &str) -> Result<Vec<TargetLine>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (url, rest) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(u, r)| (u, r.trim()));
        if out.len() == MAX_TARGETS {
            return Err(Error::Option(format!(
                "{name}:{}: more than {MAX_TARGETS} targets",
                i + 1
            )));
        }
        if !rest.is_empty() {
            crate::evidence::bundle::instance_folder(rest)
                .map_err(|e| Error::Option(format!("{name}:{}: {e}", i + 1)))?;
        }
        out.push(TargetLine {
            url: url.to_string(),
            instance: (!rest.is_empty()).then(|| rest.to_string()),
        });
    }
    if out.is_empty() {
        return Err(Error::Option(format!(
            "{name}: no targets (one `URL [NAME]` per line)"
        )));
    }
    Ok(out)
}

/// Reads the targets file `path` ([`parse_targets`]): a regular file of
/// at most [`MAX_TARGETS_FILE_BYTES`], UTF-8.
pub fn read_targets(path: &Path) -> Result<Vec<TargetLine>> {
    let bytes = crate::files::read_regular(path, MAX_TARGETS_FILE_BYTES, "a targets file")?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::Option(format!("{}: not UTF-8 text: {e}", path.display())))?;
    parse_targets(&path.display().to_string(), &text)
}

/// What each instance's collector did, in the order of the targets.
#[derive(Debug, Clone, Default)]
pub struct InstancesReport {
    /// `(instance, its folder, what its run did, heap snapshots it held before)`.
    pub instances: Vec<(String, PathBuf, CollectReport, usize)>,
}

/// Collects several instances of one service at the same time into one
/// bundle of several instances (`out/instances/<name>/`, see
/// [`crate::evidence::bundle`]): one [`Collector`] per target, each on its
/// own thread with its own timer, gaps and manifest (naming its instance
/// and target), all stopped by one flag. The holder's manifest names the
/// service. Every target is checked before anything is created: a refused
/// run changes nothing.
#[derive(Debug)]
pub struct InstancesCollector {
    out: PathBuf,
    collectors: Vec<(String, Collector)>,
    stop: Arc<AtomicBool>,
}

impl InstancesCollector {
    /// Prepares `out` for `targets` (`(instance name, service)`): the names
    /// must be distinct and usable ([`crate::evidence::bundle::instance_folder`]),
    /// the endpoints distinct, `out` not a bundle of one, each instance's
    /// folder not collected from another target.
    pub fn new(
        targets: Vec<(String, Service)>,
        out: impl AsRef<Path>,
        opts: CollectOptions,
    ) -> Result<InstancesCollector> {
        use crate::evidence::bundle::{INSTANCES, instance_folder};
        let out = out.as_ref().to_path_buf();
        if targets.is_empty() {
            return Err(Error::Option("no targets to collect".into()));
        }
        if targets.len() > MAX_TARGETS {
            return Err(Error::Option(format!("more than {MAX_TARGETS} targets")));
        }
        let mut folders = Vec::new();
        for (i, (name, svc)) in targets.iter().enumerate() {
            let folder = instance_folder(name)?;
            for (other, osvc) in &targets[..i] {
                if other == name {
                    return Err(Error::Option(format!(
                        "instance {:?} is named twice: give each target its own name",
                        crate::escape::terminal(name)
                    )));
                }
                if osvc.base().same_endpoint(svc.base()) {
                    return Err(Error::Option(format!(
                        "{} is given twice (instances {:?} and {:?})",
                        svc.base(),
                        crate::escape::terminal(other),
                        crate::escape::terminal(name)
                    )));
                }
            }
            folders.push(out.join(INSTANCES).join(folder));
        }
        // A bundle of one here already: its snapshots would be hidden by
        // the instances.
        let holder_manifest = out.join("manifest.json");
        let single = crate::evidence::bundle::EVIDENCE
            .iter()
            .filter(|e| **e != INSTANCES && **e != "manifest.json")
            .any(|e| out.join(e).exists());
        let holder: Option<Manifest> = if holder_manifest.symlink_metadata().is_ok() {
            Some(crate::evidence::bundle::read_manifest(&holder_manifest)?)
        } else {
            None
        };
        if single || holder.as_ref().is_some_and(|m| !m.target.is_empty()) {
            return Err(Error::Option(format!(
                "{}: is a bundle of one instance: collect several targets into another folder",
                out.display()
            )));
        }
        if let Some(m) = &holder
            && !m.service.is_empty()
            && !opts.service.is_empty()
            && m.service != opts.service
        {
            return Err(Error::Option(format!(
                "{}: holds service {:?}, not {:?}: collect into another folder",
                out.display(),
                crate::escape::terminal(&m.service),
                crate::escape::terminal(&opts.service)
            )));
        }
        for ((_, svc), dir) in targets.iter().zip(&folders) {
            existing_manifest(dir, svc)?;
        }
        // Checked: now the holder's manifest, then each instance's folder.
        if holder.is_none() {
            std::fs::create_dir_all(out.join(INSTANCES)).map_err(|e| {
                write_err(&out, "create the bundle folder (nothing was fetched)", e)
            })?;
            let m = Manifest {
                service: opts.service.clone(),
                captured_by: "heapframe collect".into(),
                captured_at: crate::units::format_rfc3339(now_ms()),
                notes: format!(
                    "{} instances collected at the same time, heap every {}, metrics every {}",
                    targets.len(),
                    short(opts.every),
                    short(opts.metrics_every)
                ),
                ..Default::default()
            };
            let json = serde_json::to_string_pretty(&m)
                .map_err(|e| Error::Output(format!("manifest: {e}")))?;
            replace_file(&holder_manifest, format!("{json}\n").as_bytes())?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut collectors = Vec::new();
        for ((name, svc), dir) in targets.into_iter().zip(folders) {
            let mut c = Collector::new(
                svc,
                &dir,
                CollectOptions {
                    instance: name.clone(),
                    ..opts.clone()
                },
            )?;
            c.stop = Arc::clone(&stop);
            c.one_of_several = true;
            collectors.push((name, c));
        }
        Ok(InstancesCollector {
            out,
            collectors,
            stop,
        })
    }

    /// The flag that stops every instance's run (see
    /// [`Collector::stop_handle`]).
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// The bundle folder.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Runs every instance's collector at once, each on its own thread,
    /// until each has attempted its captures or the stop flag is set. One
    /// instance's failures (gaps) do not stop the others.
    pub fn run(&mut self) -> Result<InstancesReport> {
        let results: Vec<Result<CollectReport>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .collectors
                .iter_mut()
                .map(|(_, c)| scope.spawn(move || c.run()))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Option("a collector panicked".into())))
                })
                .collect()
        });
        let mut report = InstancesReport::default();
        for ((name, c), r) in self.collectors.iter().zip(results) {
            report
                .instances
                .push((name.clone(), c.out.clone(), r?, c.existing_heap));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(crate::units::format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            crate::units::format_rfc3339(951_782_400_000),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            crate::units::format_rfc3339(1_764_097_205_000),
            "2025-11-25T19:00:05Z"
        );
        assert_eq!(clock(1_764_097_205_999), "19:00:05");
    }

    #[test]
    fn unwritable_bundle_is_refused_before_fetching() {
        // A bundle path below a regular file cannot be created, whoever
        // runs the test (root ignores permission bits).
        let dir = std::env::temp_dir().join(format!("hf-collect-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a-file");
        std::fs::write(&file, b"x").unwrap();
        // Port 9 (discard) on loopback: never contacted, the check comes first.
        let svc = Service::new("http://127.0.0.1:9", Default::default()).unwrap();
        let err = Collector::new(svc, file.join("bundle"), CollectOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("a-file") && msg.contains("nothing was fetched"),
            "{msg}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_existing_manifest_only_gains_the_target() {
        let dir = std::env::temp_dir().join(format!("hf-collect-unit3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hand = r#"{"service": "checkout", "ticket": "INC-42", "answers": {"q": "a"}}"#;
        std::fs::write(dir.join("manifest.json"), hand).unwrap();
        let svc = Service::new("http://127.0.0.1:9", Default::default()).unwrap();
        Collector::new(svc, &dir, CollectOptions::default()).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(v["target"], "http://127.0.0.1:9");
        assert_eq!(v["service"], "checkout");
        assert_eq!(v["ticket"], "INC-42");
        assert_eq!(v["answers"]["q"], "a");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn targets_files_name_the_line_that_is_wrong() {
        let t = parse_targets(
            "t",
            "http://127.0.0.1:1 a b\n  # c\n\thttp://127.0.0.1:2\t\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].instance.as_deref(), Some("a b"));
        assert_eq!(t[1].url, "http://127.0.0.1:2");
        let err = parse_targets("t", "# nothing\n\n").unwrap_err();
        assert!(err.to_string().contains("t: no targets"), "{err}");
        let err = parse_targets("t", "x\nhttp://127.0.0.1:1 a\u{7}b\n").unwrap_err();
        assert!(err.to_string().starts_with("t:2: instance name"), "{err}");
        let many = "http://127.0.0.1:1\n".repeat(MAX_TARGETS + 1);
        let err = parse_targets("t", &many).unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
    }

    #[test]
    fn several_targets_are_checked_before_anything_is_written() {
        let dir = std::env::temp_dir().join(format!("hf-collect-unit4-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let svc = |port: u16| {
            Service::new(&format!("http://127.0.0.1:{port}"), Default::default()).unwrap()
        };
        let out = dir.join("incident");
        let refuse = |targets: Vec<(String, Service)>, what: &str| {
            let err =
                InstancesCollector::new(targets, &out, CollectOptions::default()).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
            assert!(!out.exists(), "{what}: something was written");
        };
        refuse(
            vec![("a".into(), svc(9)), ("a".into(), svc(10))],
            "named twice",
        );
        refuse(
            vec![("a".into(), svc(9)), ("b".into(), svc(9))],
            "given twice",
        );
        refuse(vec![("".into(), svc(9))], "instance name");
        refuse(vec![], "no targets");
        // A bundle of one in the folder: refused, and left as it was.
        std::fs::create_dir_all(out.join("heap")).unwrap();
        let err = InstancesCollector::new(
            vec![("a".into(), svc(9)), ("b".into(), svc(10))],
            &out,
            CollectOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("bundle of one instance"), "{err}");
        assert!(!out.join("instances").exists() && !out.join("manifest.json").exists());
        std::fs::remove_dir_all(out.join("heap")).unwrap();
        // Accepted: the holder's manifest names the service, each
        // instance's its name and target; a hostile name stays inside.
        let opts = CollectOptions {
            service: "svc".into(),
            ..Default::default()
        };
        let c = InstancesCollector::new(
            vec![("../a".into(), svc(9)), ("b".into(), svc(10))],
            &out,
            opts.clone(),
        )
        .unwrap();
        assert_eq!(c.out(), out);
        let holder = crate::evidence::bundle::read_manifest(&out.join("manifest.json")).unwrap();
        assert_eq!(holder.service, "svc");
        assert!(holder.target.is_empty());
        let a =
            crate::evidence::bundle::read_manifest(&out.join("instances/%2E.%2Fa/manifest.json"))
                .unwrap();
        assert_eq!(
            (a.instance.as_str(), a.target.as_str()),
            ("../a", "http://127.0.0.1:9")
        );
        assert!(!dir.join("a").exists());
        // Another service's holder is refused.
        let err = InstancesCollector::new(
            vec![("b".into(), svc(10))],
            &out,
            CollectOptions {
                service: "other".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("holds service"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bundle_from_another_target_is_refused() {
        let dir = std::env::temp_dir().join(format!("hf-collect-unit2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("manifest.json"),
            r#"{"target": "http://127.0.0.1:7777"}"#,
        )
        .unwrap();
        let svc = Service::new("http://127.0.0.1:9", Default::default()).unwrap();
        let err = Collector::new(svc, &dir, CollectOptions::default()).unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:7777"), "{err}");
        // The manifest is untouched.
        assert_eq!(
            std::fs::read_to_string(dir.join("manifest.json")).unwrap(),
            r#"{"target": "http://127.0.0.1:7777"}"#
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
