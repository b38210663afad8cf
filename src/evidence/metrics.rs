//! Metric samples over time (Prometheus text scrapes) and the leak verdict.
//!
//! A [`MetricSeries`] is a list of `(time, metric, labels, value)` samples,
//! read from Prometheus text-format scrapes (one file per scrape, named by
//! the scrape time in Unix milliseconds, as `curl -o metrics/$(date +%s%3N).prom`
//! writes them) or from a CSV with the columns `time_ms,metric,labels,value`.
//!
//! Values that are not finite numbers (`NaN`, `+Inf`, `-Inf`, which
//! Prometheus text and its API may carry) are decided on when a series is
//! made: they are kept apart from [`MetricSeries::samples`], so no trend fit
//! and no chart ever sees them, counted per metric and file, and written
//! back by [`MetricSeries::to_csv`], so nothing is lost.
//!
//! The leak verdict (`evidence::verdict`) decides whether the series shows a leak, conservatively:
//! memory must keep rising *after* garbage collection (the floor of
//! `go_memstats_heap_inuse_bytes` between GC cycles rises), objects must keep
//! rising, growth must not flatten out (a cache warming up plateaus), and
//! load must not explain it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::files::{MAX_METRICS_TABLE_BYTES, MAX_SCRAPE_BYTES, read_regular};

/// The latest time a metric sample may carry, in Unix milliseconds
/// (9999-12-31T23:59:59.999Z); the earliest is 0 (1970). A time outside
/// this range is refused where it is read, with the file and line.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// One metric sample.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// Unix time in milliseconds.
    pub time_ms: i64,
    /// Metric name, e.g. `go_memstats_heap_inuse_bytes`.
    pub metric: String,
    /// Labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// A sample whose value is not a finite number, kept apart from a
/// series's samples.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFiniteSample {
    /// The file (or input) it was read from; empty when not known.
    pub source: String,
    /// The sample, its value `NaN`, `+Inf` or `-Inf`.
    pub sample: MetricSample,
}

/// Metric samples of one service over time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSeries {
    /// All samples with a finite value, sorted by time.
    pub samples: Vec<MetricSample>,
    /// Samples whose value is `NaN` or infinite, sorted by time: never
    /// fitted or drawn, but counted ([`MetricSeries::non_finite_notes`])
    /// and written back ([`MetricSeries::to_csv`]).
    pub non_finite: Vec<NonFiniteSample>,
    /// What reading the inputs left out or assumed, one sentence each
    /// (e.g. the cycles of a gctrace log that could not be placed in
    /// time): the verdict repeats them.
    pub notes: Vec<String>,
}

/// Well-known metric names.
pub mod names {
    /// Resident set size of the process.
    pub const RSS: &str = "process_resident_memory_bytes";
    /// Heap bytes in spans with objects.
    pub const HEAP_INUSE: &str = "go_memstats_heap_inuse_bytes";
    /// Live (and not yet swept) heap objects.
    pub const HEAP_OBJECTS: &str = "go_memstats_heap_objects";
    /// Number of goroutines.
    pub const GOROUTINES: &str = "go_goroutines";
    /// Completed GC cycles (a summary's count).
    pub const GC_COUNT: &str = "go_gc_duration_seconds_count";
    /// A request counter (the default; any counter can be chosen).
    pub const REQUESTS: &str = "http_requests_total";
    /// When the process started, in Unix seconds (changes at a restart).
    pub const PROCESS_START: &str = "process_start_time_seconds";
    /// Bytes the Go runtime obtained from the system (heap, stacks and its
    /// own structures; not cgo or foreign mmap).
    pub const SYS: &str = "go_memstats_sys_bytes";
    /// All memory mapped by the Go runtime, from `runtime/metrics`
    /// (`/memory/classes/total:bytes`; client_golang exports it when its
    /// Go collector reads runtime/metrics).
    pub const MEMORY_TOTAL: &str = "go_memory_classes_total_bytes";
    /// Bytes of goroutine stacks.
    pub const STACK_INUSE: &str = "go_memstats_stack_inuse_bytes";
    /// Heap bytes in idle spans.
    pub const HEAP_IDLE: &str = "go_memstats_heap_idle_bytes";
    /// Idle heap bytes returned to the system.
    pub const HEAP_RELEASED: &str = "go_memstats_heap_released_bytes";
    /// Heap marked live by a GC cycle, from a `GODEBUG=gctrace=1` log
    /// (whole MiB): the heap's floor after GC, one point per cycle.
    pub const GCTRACE_HEAP_LIVE: &str = "gctrace_heap_live_bytes";
    /// Completed GC cycles, from a gctrace log.
    pub const GCTRACE_CYCLES: &str = "gctrace_gc_cycles";
}

/// `Some(t)` when `t` (Unix milliseconds) is within `0..=`[`MAX_TIME_MS`].
fn time_in_range(t: i64) -> Option<i64> {
    (0..=MAX_TIME_MS).contains(&t).then_some(t)
}

/// Parses one Prometheus text-format scrape taken at `time_ms`. Samples
/// that carry their own timestamp keep it. `source` names the input in
/// errors. Values are returned as written, `NaN` and `±Inf` included
/// ([`MetricSeries::new`] keeps those apart).
///
/// ```
/// use heapframe::evidence::metrics::parse_prometheus;
/// let s = parse_prometheus("# TYPE up gauge\nup{job=\"a\\nb\"} 1\n", 1_000, "scrape")?;
/// assert_eq!(s[0].labels, vec![("job".to_string(), "a\nb".to_string())]);
/// let e = parse_prometheus("up one\n", 1_000, "scrape").unwrap_err();
/// assert_eq!(e.to_string(), "scrape: line 1: invalid Prometheus text: invalid value: \"up one\"");
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn parse_prometheus(text: &str, time_ms: i64, source: &str) -> Result<Vec<MetricSample>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| Error::PrometheusText {
            source: source.to_string(),
            line: n + 1,
            reason: format!("{what}: {line:?}"),
        };
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .ok_or_else(|| bad("a sample needs a value"))?;
        let metric = &line[..name_end];
        if metric.is_empty()
            || !metric
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return Err(bad("invalid metric name"));
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(r) = rest.strip_prefix('{') {
            let (ls, after) = parse_labels(r).ok_or_else(|| bad("malformed labels"))?;
            labels = ls;
            rest = after;
        }
        let mut parts = rest.split_whitespace();
        let value = parts.next().ok_or_else(|| bad("missing value"))?;
        let value = parse_value(value).ok_or_else(|| bad("invalid value"))?;
        let time_ms = match parts.next() {
            Some(t) => t
                .parse::<i64>()
                .ok()
                .and_then(time_in_range)
                .ok_or_else(|| bad("invalid timestamp (Unix milliseconds from 1970 to 9999)"))?,
            None => time_ms,
        };
        labels.sort();
        out.push(MetricSample {
            time_ms,
            metric: metric.to_string(),
            labels,
            value,
        });
    }
    Ok(out)
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// A value as Prometheus writes it: `NaN`, `+Inf`, `-Inf`, or the
/// shortest decimal that reads back to the same number.
fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}

/// Parses `name="value",...}` and returns the labels and the rest.
fn parse_labels(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(r) = s.strip_prefix('}') {
            return Some((labels, r));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim().to_string();
        s = s[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        labels.push((key, value));
        s = s[end + 1..].trim_start();
        if let Some(r) = s.strip_prefix(',') {
            s = r;
        }
    }
}

/// What Go's `expvar` `memstats` fields are called as Prometheus metrics
/// (the names client_golang uses), for [`parse_expvar`].
pub const EXPVAR_MEMSTATS: [(&str, &str); 9] = [
    ("HeapInuse", names::HEAP_INUSE),
    ("HeapObjects", names::HEAP_OBJECTS),
    ("HeapAlloc", "go_memstats_heap_alloc_bytes"),
    ("Alloc", "go_memstats_alloc_bytes"),
    ("Sys", names::SYS),
    ("StackInuse", names::STACK_INUSE),
    ("HeapIdle", names::HEAP_IDLE),
    ("HeapReleased", names::HEAP_RELEASED),
    ("NumGC", names::GC_COUNT),
];

/// Reads a Go `expvar` page (`/debug/vars`, JSON) taken at `time_ms` as
/// metric samples: the `memstats` fields of [`EXPVAR_MEMSTATS`] under their
/// Prometheus names, and every other top-level number as `expvar_<name>`
/// (e.g. a service's `cache_entries`). `expvar` has no RSS and no goroutine
/// count; prefer `/metrics` where the service has it.
///
/// ```
/// let page = r#"{"cmdline": ["svc"], "cache_entries": 12,
///   "memstats": {"HeapInuse": 8192, "HeapObjects": 40, "NumGC": 3}}"#;
/// let s = heapframe::evidence::metrics::parse_expvar(page, 1_000, "vars").unwrap();
/// assert!(s.iter().any(|m| m.metric == "go_memstats_heap_inuse_bytes" && m.value == 8192.0));
/// assert!(s.iter().any(|m| m.metric == "expvar_cache_entries" && m.value == 12.0));
/// ```
pub fn parse_expvar(json: &str, time_ms: i64, source: &str) -> Result<Vec<MetricSample>> {
    let bad = |reason: String| Error::Expvar {
        source: source.to_string(),
        reason,
    };
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| bad("an expvar page is a JSON object".into()))?;
    let memstats = obj
        .get("memstats")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("no \"memstats\" object: is this Go's /debug/vars (expvar)?".into()))?;
    let sample = |metric: String, value: f64| MetricSample {
        time_ms,
        metric,
        labels: Vec::new(),
        value,
    };
    let mut out = Vec::new();
    for (field, metric) in EXPVAR_MEMSTATS {
        if let Some(x) = memstats.get(field).and_then(|x| x.as_f64()) {
            out.push(sample(metric.to_string(), x));
        }
    }
    for (name, value) in obj {
        if let Some(x) = value.as_f64() {
            let clean: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            out.push(sample(format!("expvar_{clean}"), x));
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ApiAnswer {
    status: String,
    #[serde(default)]
    error: String,
    #[serde(default, rename = "errorType")]
    error_type: String,
    data: Option<ApiData>,
}

#[derive(Deserialize)]
struct ApiData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<ApiSeries>,
}

#[derive(Deserialize)]
struct ApiSeries {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// Reads the JSON answer of a Prometheus `/api/v1/query_range` call (a
/// matrix) as metric samples: the metric name from `__name__` (or `name`
/// when the query's result has none, e.g. an aggregation), the other labels
/// kept, times in Unix milliseconds. An error answer (`"status":"error"`)
/// becomes an error carrying Prometheus's message.
///
/// ```
/// let answer = r#"{"status":"success","data":{"resultType":"matrix","result":[
///   {"metric":{"__name__":"go_goroutines","job":"svc"},"values":[[1700000000,"12"],[1700000015.5,"13"]]}]}}"#;
/// let s = heapframe::evidence::metrics::parse_query_range(answer, "unused", "prometheus").unwrap();
/// assert_eq!(s.len(), 2);
/// assert_eq!((s[1].time_ms, s[1].value), (1_700_000_015_500, 13.0));
/// assert_eq!(s[0].labels, vec![("job".to_string(), "svc".to_string())]);
/// ```
pub fn parse_query_range(json: &str, name: &str, source: &str) -> Result<Vec<MetricSample>> {
    let bad = |reason: String| Error::PrometheusApi {
        source: source.to_string(),
        reason,
    };
    let a: ApiAnswer = serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
    if a.status != "success" {
        return Err(bad(format!(
            "the server answered {} ({}): {}",
            a.status, a.error_type, a.error
        )));
    }
    let data = a
        .data
        .ok_or_else(|| bad("a successful answer without \"data\"".into()))?;
    if data.result_type != "matrix" {
        return Err(bad(format!(
            "expected a matrix (range query), got {:?}",
            data.result_type
        )));
    }
    let mut out = Vec::new();
    for series in data.result {
        let mut labels = series.metric;
        let metric = labels
            .remove("__name__")
            .unwrap_or_else(|| name.to_string());
        let labels: Vec<(String, String)> = labels.into_iter().collect();
        for (t, v) in series.values {
            let value = parse_value(&v).ok_or_else(|| bad(format!("invalid value {v:?}")))?;
            let ms = t * 1000.0;
            let time_ms = (ms.is_finite() && ms >= 0.0 && ms <= MAX_TIME_MS as f64)
                .then(|| ms.round() as i64)
                .ok_or_else(|| bad(format!("invalid time {t} (Unix seconds from 1970 to 9999)")))?;
            out.push(MetricSample {
                time_ms,
                metric: metric.clone(),
                labels: labels.clone(),
                value,
            });
        }
    }
    Ok(out)
}

/// How far the clocks of a scraper and its target may disagree, in
/// milliseconds, when a new start time is judged ([`MetricSeries::restarts`]).
const CLOCK_SLACK_MS: i64 = 5_000;

/// The header of a metrics table.
const CSV_HEADER: &str = "time_ms,metric,labels,value";

impl MetricSeries {
    /// Reads every `*.prom` scrape in `dir` (file stem = Unix milliseconds,
    /// else the file's modification time) and `*.csv` tables
    /// (`time_ms,metric,labels,value`); hidden files (temporaries of a
    /// write in progress) are skipped. Each must be a regular file within
    /// its limit ([`MAX_SCRAPE_BYTES`], [`MAX_METRICS_TABLE_BYTES`]).
    pub fn from_dir(dir: &Path) -> Result<MetricSeries> {
        let mut series = MetricSeries::default();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::File {
            path: dir.display().to_string(),
            error: crate::error::FileError::Io(e),
        })?;
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if name.starts_with('.') || (ext != "prom" && ext != "csv") {
                continue;
            }
            let source = p.display().to_string();
            let (limit, what) = if ext == "csv" {
                (MAX_METRICS_TABLE_BYTES, "a metrics table")
            } else {
                (MAX_SCRAPE_BYTES, "a metrics scrape")
            };
            let bytes = read_regular(&p, limit, what)?;
            let text = String::from_utf8(bytes).map_err(|e| {
                let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                let reason = "not UTF-8 text".to_string();
                if ext == "csv" {
                    Error::MetricsTable {
                        source: source.clone(),
                        line,
                        reason,
                    }
                } else {
                    Error::PrometheusText {
                        source: source.clone(),
                        line,
                        reason,
                    }
                }
            })?;
            let samples = if ext == "csv" {
                parse_csv(&text, &source)?
            } else {
                let time_ms = p
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse().ok())
                    .and_then(time_in_range)
                    .or_else(|| crate::files::mtime_ms(&p))
                    .unwrap_or(0);
                parse_prometheus(&text, time_ms, &source)?
            };
            series.add(samples, &source);
        }
        series.sort();
        Ok(series)
    }

    /// A series from samples (sorted by time); those with a value that is
    /// not finite are kept apart in [`MetricSeries::non_finite`].
    ///
    /// ```
    /// use heapframe::evidence::metrics::{MetricSeries, parse_prometheus};
    /// let s = MetricSeries::new(parse_prometheus("up 1\nup NaN 2000\n", 1_000, "x")?);
    /// assert_eq!(s.points("up"), vec![(1_000, 1.0)]);
    /// assert_eq!(s.non_finite_notes(&["up"]), vec!["1 non-finite value ignored in up"]);
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn new(samples: Vec<MetricSample>) -> MetricSeries {
        let mut series = MetricSeries::default();
        series.add(samples, "");
        series.sort();
        series
    }

    /// Adds samples read from `source`, keeping those that are not finite
    /// apart; call [`MetricSeries::sort`] after the last.
    fn add(&mut self, samples: Vec<MetricSample>, source: &str) {
        for s in samples {
            if s.value.is_finite() {
                self.samples.push(s);
            } else {
                self.non_finite.push(NonFiniteSample {
                    source: source.to_string(),
                    sample: s,
                });
            }
        }
    }

    fn sort(&mut self) {
        self.samples.sort_by_key(|s| s.time_ms);
        self.non_finite.sort_by_key(|s| s.sample.time_ms);
    }

    /// This series and `other` as one.
    pub fn merged(mut self, other: MetricSeries) -> MetricSeries {
        self.samples.extend(other.samples);
        self.non_finite.extend(other.non_finite);
        self.notes.extend(other.notes);
        self.sort();
        self
    }

    /// Points `(time_ms, value)` of `metric`, summed over label sets at
    /// each time (so `http_requests_total` over all handlers is one line).
    /// Only finite values count; a time whose sum overflows is left out.
    pub fn points(&self, metric: &str) -> Vec<(i64, f64)> {
        let mut by_time: BTreeMap<i64, f64> = BTreeMap::new();
        for s in self.samples.iter().filter(|s| s.metric == metric) {
            *by_time.entry(s.time_ms).or_default() += s.value;
        }
        by_time.into_iter().filter(|p| p.1.is_finite()).collect()
    }

    /// The samples (finite or not) taken at or after `time_ms`.
    pub fn since(&self, time_ms: i64) -> MetricSeries {
        MetricSeries {
            samples: self
                .samples
                .iter()
                .filter(|s| s.time_ms >= time_ms)
                .cloned()
                .collect(),
            non_finite: self
                .non_finite
                .iter()
                .filter(|s| s.sample.time_ms >= time_ms)
                .cloned()
                .collect(),
            notes: self.notes.clone(),
        }
    }

    /// When the service restarted: the times (Unix milliseconds) of the
    /// first point of each new `process_start_time_seconds` (a change of
    /// more than a second); without that metric, the points at which the
    /// GC cycle counter (`go_gc_duration_seconds_count`) fell, as a
    /// counter only does in a new process. None when neither is there.
    ///
    /// A start time that moves but stays well before the previous point is
    /// the same process under a stepped wall clock (the kernel's boot
    /// time, from which the start time is computed, moves with the
    /// clock), not a restart, unless the GC counter fell there too.
    pub fn restarts(&self) -> Vec<i64> {
        let gc = self.points(names::GC_COUNT);
        let gc_fell = |from: i64, to: i64| {
            gc.windows(2)
                .any(|w| w[0].0 >= from && w[1].0 <= to && w[1].1 < w[0].1)
        };
        let start = self.points(names::PROCESS_START);
        if start.len() >= 2 {
            return start
                .windows(2)
                .filter(|w| {
                    let moved = (w[1].1 - w[0].1).abs() > 1.0;
                    let new_process = w[1].1 * 1000.0 >= (w[0].0 - CLOCK_SLACK_MS) as f64;
                    moved && (new_process || gc_fell(w[0].0, w[1].0))
                })
                .map(|w| w[1].0)
                .collect();
        }
        gc.windows(2)
            .filter(|w| w[1].1 < w[0].1)
            .map(|w| w[1].0)
            .collect()
    }

    /// The points since the last restart (all of them when there was
    /// none): what the verdict judges.
    pub fn since_last_restart(&self) -> MetricSeries {
        match self.restarts().last() {
            Some(&start) => self.since(start),
            None => self.clone(),
        }
    }

    /// What [`MetricSeries::restarts`] read a restart from, for a sentence.
    pub fn restart_signal(&self) -> &'static str {
        if self.points(names::PROCESS_START).len() >= 2 {
            "process_start_time_seconds changed"
        } else {
            "the GC cycle counter (go_gc_duration_seconds_count) fell"
        }
    }

    /// Names of the metrics present (with at least one finite value).
    pub fn metric_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.samples.iter().map(|s| s.metric.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// One sentence per metric of `metrics` and file that had values that
    /// are not finite: `3 non-finite values ignored in METRIC (FILE)`.
    pub fn non_finite_notes(&self, metrics: &[&str]) -> Vec<String> {
        let mut counts: BTreeMap<(usize, &str), usize> = BTreeMap::new();
        for s in &self.non_finite {
            if let Some(i) = metrics.iter().position(|m| *m == s.sample.metric) {
                *counts.entry((i, s.source.as_str())).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .map(|((i, source), n)| {
                format!(
                    "{n} non-finite value{} ignored in {}{}",
                    if n == 1 { "" } else { "s" },
                    metrics[i],
                    if source.is_empty() {
                        String::new()
                    } else {
                        format!(" ({source})")
                    }
                )
            })
            .collect()
    }

    /// Writes the series as CSV (`time_ms,metric,labels,value`), the
    /// samples that are not finite included, so that [`MetricSeries::from_dir`]
    /// reads back exactly what was written, whatever the names and values
    /// hold: fields with a comma, a quote or a line break are quoted (RFC
    /// 4180), labels are `name=value` pairs joined by `;` with `\`, `;`
    /// and `=` escaped by a backslash, values are numbers, `NaN`, `+Inf`
    /// or `-Inf`.
    ///
    /// ```
    /// use heapframe::evidence::metrics::{MetricSample, MetricSeries};
    /// let s = MetricSeries::new(vec![MetricSample {
    ///     time_ms: 1_000,
    ///     metric: "up".into(),
    ///     labels: vec![("job".into(), "a;b\n\"c\"".into())],
    ///     value: f64::INFINITY,
    /// }]);
    /// assert_eq!(s.to_csv(), "time_ms,metric,labels,value\n1000,up,\"job=a\\;b\n\"\"c\"\"\",+Inf\n");
    /// ```
    pub fn to_csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        out.push('\n');
        let mut finite = self.samples.iter().peekable();
        let mut other = self.non_finite.iter().map(|n| &n.sample).peekable();
        loop {
            let s = match (finite.peek(), other.peek()) {
                (Some(a), Some(b)) if b.time_ms < a.time_ms => other.next(),
                (Some(_), _) => finite.next(),
                (None, _) => other.next(),
            };
            let Some(s) = s else { break };
            let labels: Vec<String> = s
                .labels
                .iter()
                .map(|(k, v)| format!("{}={}", escape_label(k), escape_label(v)))
                .collect();
            out.push_str(&format!(
                "{},{},{},{}\n",
                s.time_ms,
                csv_field(&s.metric),
                csv_field(&labels.join(";")),
                format_value(s.value)
            ));
        }
        out
    }
}

/// A CSV field, quoted when it holds a comma, a quote, a line break or
/// leading or trailing white space.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.trim() != s {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A label name or value in a table's labels field: `\`, `;` and `=`
/// escaped by a backslash.
fn escape_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The labels of a table's labels field (see [`escape_label`]). A
/// backslash before any other character stands for itself.
fn parse_label_field(field: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut labels = Vec::new();
    if field.is_empty() {
        return Ok(labels);
    }
    let mut key: Option<String> = None;
    let mut cur = String::new();
    let mut chars = field.chars().peekable();
    let mut finish = |key: &mut Option<String>, cur: &mut String| match key.take() {
        Some(k) => {
            labels.push((k, std::mem::take(cur)));
            Ok(())
        }
        None => Err(format!("label {cur:?} has no '='")),
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('\\' | ';' | '=')) => {
                    cur.push(n);
                    chars.next();
                }
                _ => cur.push('\\'),
            },
            '=' if key.is_none() => key = Some(std::mem::take(&mut cur)),
            ';' => finish(&mut key, &mut cur)?,
            c => cur.push(c),
        }
    }
    finish(&mut key, &mut cur)?;
    labels.sort();
    Ok(labels)
}

/// A CSV record: the line it starts on, and its fields.
type CsvRecord = (usize, Vec<String>);

/// The records of a CSV text (RFC 4180) one at a time, each with the line
/// it starts on; blank lines are skipped.
struct CsvRecords<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> CsvRecords<'a> {
    fn new(text: &'a str) -> Self {
        CsvRecords {
            rest: text,
            line: 1,
        }
    }

    /// The next record: `Ok(None)` at the end, `Err((line, reason))` for a
    /// quoted field that is not closed or not followed by a separator.
    fn next_record(&mut self) -> std::result::Result<Option<CsvRecord>, (usize, String)> {
        loop {
            if self.rest.is_empty() {
                return Ok(None);
            }
            let start = self.line;
            let mut fields = Vec::new();
            let mut bytes = self.rest.char_indices().peekable();
            let mut field = String::new();
            let mut quoted_field = false;
            let mut end = self.rest.len();
            'record: while let Some((i, c)) = bytes.next() {
                match c {
                    '"' if field.is_empty() && !quoted_field => {
                        quoted_field = true;
                        loop {
                            match bytes.next() {
                                Some((_, '"')) => match bytes.peek() {
                                    Some((_, '"')) => {
                                        field.push('"');
                                        bytes.next();
                                    }
                                    Some((_, ',' | '\n' | '\r')) | None => break,
                                    Some(_) => {
                                        return Err((
                                            self.line,
                                            "a quote inside a quoted field must be doubled".into(),
                                        ));
                                    }
                                },
                                Some((_, c)) => {
                                    if c == '\n' {
                                        self.line += 1;
                                    }
                                    field.push(c);
                                }
                                None => {
                                    return Err((start, "a quoted field is not closed".into()));
                                }
                            }
                        }
                    }
                    ',' => {
                        fields.push(finish_field(&mut field, quoted_field));
                        quoted_field = false;
                    }
                    '\n' => {
                        end = i + 1;
                        self.line += 1;
                        break 'record;
                    }
                    '\r' if matches!(bytes.peek(), Some((_, '\n')) | None) => {}
                    c => {
                        if quoted_field {
                            return Err((
                                self.line,
                                "text after a quoted field, before the next comma".into(),
                            ));
                        }
                        field.push(c);
                    }
                }
            }
            fields.push(finish_field(&mut field, quoted_field));
            self.rest = &self.rest[end..];
            if fields.len() == 1 && fields[0].is_empty() && !quoted_field {
                continue;
            }
            return Ok(Some((start, fields)));
        }
    }
}

/// A field as read: unquoted fields lose surrounding white space (old
/// tables were written with it), quoted ones keep every character.
fn finish_field(field: &mut String, quoted: bool) -> String {
    let f = std::mem::take(field);
    if quoted { f } else { f.trim().to_string() }
}

/// Parses a metrics table (`time_ms,metric,labels,value`, as
/// [`MetricSeries::to_csv`] writes it); `source` names the input in
/// errors, which give the line a bad record starts on. Values are
/// returned as written, `NaN` and `±Inf` included.
///
/// ```
/// use heapframe::evidence::metrics::{MetricSeries, parse_csv};
/// let text = "time_ms,metric,labels,value\n1000,up,job=a\\;b,NaN\n";
/// let s = parse_csv(text, "m.csv")?;
/// assert_eq!(s[0].labels, vec![("job".to_string(), "a;b".to_string())]);
/// assert_eq!(MetricSeries::new(s).to_csv(), text);
/// let e = parse_csv("time_ms,metric,labels,value\n1,up,,x\n", "m.csv").unwrap_err();
/// assert_eq!(e.to_string(), "m.csv: line 2: invalid metrics table: invalid value \"x\"");
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn parse_csv(text: &str, source: &str) -> Result<Vec<MetricSample>> {
    let bad = |line: usize, reason: String| Error::MetricsTable {
        source: source.to_string(),
        line,
        reason,
    };
    let mut records = CsvRecords::new(text);
    let mut next = || records.next_record().map_err(|(line, r)| bad(line, r));
    match next()? {
        Some((_, header)) if header.join(",") == CSV_HEADER => {}
        Some((line, header)) => {
            return Err(bad(
                line,
                format!(
                    "expected the header {CSV_HEADER}, found {:?}",
                    header.join(",")
                ),
            ));
        }
        None => return Ok(Vec::new()),
    }
    let mut out = Vec::new();
    while let Some((line, fields)) = next()? {
        let [time, metric, labels, value] = <[String; 4]>::try_from(fields).map_err(|f| {
            bad(
                line,
                format!("expected 4 fields ({CSV_HEADER}), found {}", f.len()),
            )
        })?;
        let time_ms = time
            .parse::<i64>()
            .ok()
            .and_then(time_in_range)
            .ok_or_else(|| {
                bad(
                    line,
                    format!("invalid time_ms {time:?} (Unix milliseconds from 1970 to 9999)"),
                )
            })?;
        let labels = parse_label_field(&labels).map_err(|r| bad(line, r))?;
        let value =
            parse_value(&value).ok_or_else(|| bad(line, format!("invalid value {value:?}")))?;
        out.push(MetricSample {
            time_ms,
            metric,
            labels,
            value,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stepped clock moves a process's start time; a restart moves it to
    /// after the previous scrape (or the GC counter falls with it).
    #[test]
    fn a_clock_step_is_not_a_restart() {
        let series = |starts: &[(i64, f64)], gc: &[(i64, f64)]| {
            let mut v = Vec::new();
            for &(t, s) in starts {
                v.push(MetricSample {
                    time_ms: t,
                    metric: names::PROCESS_START.into(),
                    labels: vec![],
                    value: s,
                });
            }
            for &(t, n) in gc {
                v.push(MetricSample {
                    time_ms: t,
                    metric: names::GC_COUNT.into(),
                    labels: vec![],
                    value: n,
                });
            }
            MetricSeries::new(v)
        };
        // Started at 1000 s; scraped at 1060..1090 s; the clock steps 2 s.
        let step = series(
            &[
                (1_060_000, 1000.0),
                (1_070_000, 1000.0),
                (1_080_000, 1002.0),
                (1_090_000, 1002.0),
            ],
            &[
                (1_060_000, 5.0),
                (1_070_000, 6.0),
                (1_080_000, 7.0),
                (1_090_000, 8.0),
            ],
        );
        assert!(step.restarts().is_empty());
        // A new process started at 1075 s, between two scrapes.
        let restart = series(
            &[
                (1_060_000, 1000.0),
                (1_070_000, 1000.0),
                (1_080_000, 1075.0),
                (1_090_000, 1075.0),
            ],
            &[],
        );
        assert_eq!(restart.restarts(), vec![1_080_000]);
        // Its clock 30 s behind the scraper's, but the GC counter fell.
        let skewed = series(
            &[
                (1_060_000, 1000.0),
                (1_070_000, 1000.0),
                (1_080_000, 1040.0),
                (1_090_000, 1040.0),
            ],
            &[
                (1_060_000, 5.0),
                (1_070_000, 6.0),
                (1_080_000, 1.0),
                (1_090_000, 2.0),
            ],
        );
        assert_eq!(skewed.restarts(), vec![1_080_000]);
    }
    #[test]
    fn range_query_errors_carry_prometheus_message() {
        let e = parse_query_range(
            r#"{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"}"#,
            "x",
            "prom",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("prom: ") && e.contains("11,000 points"),
            "{e}"
        );
        let e = parse_query_range(
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
            "x",
            "prom",
        )
        .unwrap_err();
        assert!(e.to_string().contains("matrix"), "{e}");
        assert!(parse_query_range("<html>", "x", "prom").is_err());
    }

    #[test]
    fn aggregations_take_the_given_name() {
        let s = parse_query_range(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
              {"metric":{"job":"a"},"values":[[10,"NaN"],[11,"+Inf"]]}]}}"#,
            "sum_rss",
            "prom",
        )
        .unwrap();
        assert_eq!(s[0].metric, "sum_rss");
        assert!(s[0].value.is_nan() && s[1].value.is_infinite());
    }

    #[test]
    fn expvar_needs_memstats() {
        let e = parse_expvar(r#"{"cmdline":["x"]}"#, 0, "vars").unwrap_err();
        assert!(e.to_string().contains("memstats"), "{e}");
        assert!(parse_expvar("[1,2]", 0, "vars").is_err());
    }
}
