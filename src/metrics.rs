//! Metric samples over time (Prometheus text scrapes) and the leak verdict.
//!
//! A [`MetricSeries`] is a list of `(time, metric, labels, value)` samples,
//! read from Prometheus text-format scrapes (one file per scrape, named by
//! the scrape time in Unix milliseconds, as `curl -o metrics/$(date +%s%3N).prom`
//! writes them) or from a CSV with the columns `time_ms,metric,labels,value`.
//!
//! [`verdict`] decides whether the series shows a leak, conservatively:
//! memory must keep rising *after* garbage collection (the floor of
//! `go_memstats_heap_inuse_bytes` between GC cycles rises), objects must keep
//! rising, growth must not flatten out (a cache warming up plateaus), and
//! load must not explain it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, ProfileError, Result};

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

/// Metric samples of one service over time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSeries {
    /// All samples, sorted by time.
    pub samples: Vec<MetricSample>,
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
}

/// Parses one Prometheus text-format scrape taken at `time_ms`. Samples
/// that carry their own timestamp keep it. `source` names the input in
/// errors.
pub fn parse_prometheus(text: &str, time_ms: i64, source: &str) -> Result<Vec<MetricSample>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| {
            Error::profile(
                source,
                ProfileError::Decode(format!("line {}: {what}: {line:?}", n + 1)),
            )
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
            Some(t) => t.parse::<i64>().map_err(|_| bad("invalid timestamp"))?,
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
pub const EXPVAR_MEMSTATS: [(&str, &str); 6] = [
    ("HeapInuse", names::HEAP_INUSE),
    ("HeapObjects", names::HEAP_OBJECTS),
    ("HeapAlloc", "go_memstats_heap_alloc_bytes"),
    ("Alloc", "go_memstats_alloc_bytes"),
    ("Sys", "go_memstats_sys_bytes"),
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
/// let s = heapframe::metrics::parse_expvar(page, 1_000, "vars").unwrap();
/// assert!(s.iter().any(|m| m.metric == "go_memstats_heap_inuse_bytes" && m.value == 8192.0));
/// assert!(s.iter().any(|m| m.metric == "expvar_cache_entries" && m.value == 12.0));
/// ```
pub fn parse_expvar(json: &str, time_ms: i64, source: &str) -> Result<Vec<MetricSample>> {
    let bad = |what: String| Error::profile(source, ProfileError::Decode(what));
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| bad(format!("not an expvar JSON page: {e}")))?;
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
/// let s = heapframe::metrics::parse_query_range(answer, "unused", "prometheus").unwrap();
/// assert_eq!(s.len(), 2);
/// assert_eq!((s[1].time_ms, s[1].value), (1_700_000_015_500, 13.0));
/// assert_eq!(s[0].labels, vec![("job".to_string(), "svc".to_string())]);
/// ```
pub fn parse_query_range(json: &str, name: &str, source: &str) -> Result<Vec<MetricSample>> {
    let bad = |what: String| Error::profile(source, ProfileError::Decode(what));
    let a: ApiAnswer =
        serde_json::from_str(json).map_err(|e| bad(format!("not a Prometheus API answer: {e}")))?;
    if a.status != "success" {
        return Err(bad(format!(
            "Prometheus answered {}: {} {}",
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
            out.push(MetricSample {
                time_ms: (t * 1000.0).round() as i64,
                metric: metric.clone(),
                labels: labels.clone(),
                value,
            });
        }
    }
    Ok(out)
}

impl MetricSeries {
    /// Reads every `*.prom` scrape in `dir` (file stem = Unix milliseconds,
    /// else the file's modification time) and `*.csv` tables
    /// (`time_ms,metric,labels,value`).
    pub fn from_dir(dir: &Path) -> Result<MetricSeries> {
        let mut samples = Vec::new();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::profile(dir.display().to_string(), ProfileError::Io(e)))?;
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let source = p.display().to_string();
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext != "prom" && ext != "csv" {
                continue;
            }
            let text = std::fs::read_to_string(&p)
                .map_err(|e| Error::profile(&source, ProfileError::Io(e)))?;
            if ext == "csv" {
                samples.extend(parse_csv(&text, &source)?);
                continue;
            }
            let time_ms = match p
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
            {
                Some(t) => t,
                None => crate::bundle::mtime_ms(&p).unwrap_or(0),
            };
            samples.extend(parse_prometheus(&text, time_ms, &source)?);
        }
        Ok(MetricSeries::new(samples))
    }

    /// A series from samples (sorted by time).
    pub fn new(mut samples: Vec<MetricSample>) -> MetricSeries {
        samples.sort_by_key(|s| s.time_ms);
        MetricSeries { samples }
    }

    /// Points `(time_ms, value)` of `metric`, summed over label sets at
    /// each time (so `http_requests_total` over all handlers is one line).
    pub fn points(&self, metric: &str) -> Vec<(i64, f64)> {
        let mut by_time: BTreeMap<i64, f64> = BTreeMap::new();
        for s in self.samples.iter().filter(|s| s.metric == metric) {
            *by_time.entry(s.time_ms).or_default() += s.value;
        }
        by_time.into_iter().collect()
    }

    /// Names of the metrics present.
    pub fn metric_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.samples.iter().map(|s| s.metric.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Writes the series as CSV (`time_ms,metric,labels,value`).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("time_ms,metric,labels,value\n");
        for s in &self.samples {
            let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!(
                "{},{},\"{}\",{}\n",
                s.time_ms,
                s.metric,
                labels.join(";").replace('"', "\"\""),
                s.value
            ));
        }
        out
    }
}

fn parse_csv(text: &str, source: &str) -> Result<Vec<MetricSample>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            Error::profile(
                source,
                ProfileError::Decode(format!(
                    "line {}: expected time_ms,metric,labels,value: {line:?}",
                    n + 1
                )),
            )
        };
        let (time, rest) = line.split_once(',').ok_or_else(bad)?;
        let (metric, rest) = rest.split_once(',').ok_or_else(bad)?;
        let (labels, value) = rest.rsplit_once(',').ok_or_else(bad)?;
        let labels = labels.trim_matches('"');
        let mut ls: Vec<(String, String)> = labels
            .split(';')
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        ls.sort();
        out.push(MetricSample {
            time_ms: time.trim().parse().map_err(|_| bad())?,
            metric: metric.trim().to_string(),
            labels: ls,
            value: parse_value(value.trim()).ok_or_else(bad)?,
        });
    }
    Ok(out)
}

/// Least-squares fit of `y` over `x`: slope and R² (1 for a perfect line,
/// 0 when the line explains nothing; 0 for fewer than two points or a
/// constant `y`... in which case the slope is 0 too).
pub fn linear_fit(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    if points.len() < 2 {
        return (0.0, 0.0);
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y) in points {
        sxx += (x - mx) * (x - mx);
        sxy += (x - mx) * (y - my);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 {
        return (0.0, 0.0);
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        0.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    (slope, r2)
}

/// The trend of one metric over the observation window.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// The metric.
    pub metric: String,
    /// Number of points.
    pub points: usize,
    /// First and last value.
    pub first: f64,
    /// Last value.
    pub last: f64,
    /// Least-squares slope over all points, per minute.
    pub slope_per_min: f64,
    /// R² of that fit.
    pub r2: f64,
    /// Post-GC floors: the minimum of each of several equal time windows.
    /// A leak raises the floor; churn and caches that settle do not.
    pub floors: Vec<(i64, f64)>,
    /// Slope of the floors, per minute.
    pub floor_slope_per_min: f64,
    /// R² of the floors' fit.
    pub floor_r2: f64,
    /// Floor growth from the first to the last window, in percent of the first.
    pub floor_growth_pct: f64,
    /// Floor growth rate in the second half relative to the first half
    /// (1 = steady, near 0 = flattening out, negative = falling).
    pub late_to_early: f64,
}

impl Trend {
    /// Computes the trend of `points` (`(time_ms, value)`), with `windows`
    /// floor windows.
    pub fn of(metric: &str, points: &[(i64, f64)], windows: usize) -> Option<Trend> {
        if points.len() < 2 {
            return None;
        }
        let t0 = points[0].0;
        let xy: Vec<(f64, f64)> = points
            .iter()
            .map(|&(t, v)| ((t - t0) as f64 / 60_000.0, v))
            .collect();
        let (slope, r2) = linear_fit(&xy);
        let span = (points[points.len() - 1].0 - t0).max(1);
        let windows = windows.clamp(2, points.len());
        let mut floors: Vec<(i64, f64)> = Vec::with_capacity(windows);
        for w in 0..windows {
            let lo = t0 + span * w as i64 / windows as i64;
            let hi = t0 + span * (w as i64 + 1) / windows as i64;
            let min = points
                .iter()
                .filter(|p| p.0 >= lo && (p.0 < hi || (w + 1 == windows && p.0 <= hi)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some(&m) = min {
                floors.push(m);
            }
        }
        let fxy: Vec<(f64, f64)> = floors
            .iter()
            .map(|&(t, v)| ((t - t0) as f64 / 60_000.0, v))
            .collect();
        let (floor_slope, floor_r2) = linear_fit(&fxy);
        let f_first = floors.first().map_or(0.0, |f| f.1);
        let f_last = floors.last().map_or(0.0, |f| f.1);
        let floor_growth_pct = if f_first > 0.0 {
            (f_last - f_first) / f_first * 100.0
        } else {
            0.0
        };
        let mid = floors.len() / 2;
        let rate = |a: (i64, f64), b: (i64, f64)| (b.1 - a.1) / ((b.0 - a.0).max(1) as f64);
        let late_to_early = if floors.len() >= 3 {
            let early = rate(floors[0], floors[mid]);
            let late = rate(floors[mid], floors[floors.len() - 1]);
            if early > 0.0 { late / early } else { 0.0 }
        } else {
            1.0
        };
        Some(Trend {
            metric: metric.to_string(),
            points: points.len(),
            first: points[0].1,
            last: points[points.len() - 1].1,
            slope_per_min: slope,
            r2,
            floors,
            floor_slope_per_min: floor_slope,
            floor_r2,
            floor_growth_pct,
            late_to_early,
        })
    }

    /// Keeps rising after GC: the floor grows steadily and does not flatten.
    pub fn keeps_rising(&self, t: &VerdictThresholds) -> bool {
        self.floor_growth_pct >= t.min_floor_growth_pct
            && self.floor_r2 >= t.min_floor_r2
            && self.late_to_early >= t.plateau_ratio
    }

    /// Rose, then flattened out (a cache warming up).
    pub fn plateaued(&self, t: &VerdictThresholds) -> bool {
        self.floor_growth_pct >= t.min_floor_growth_pct && self.late_to_early < t.plateau_ratio
    }
}

/// The outcome of the metrics trend check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Memory and objects keep rising after GC under flat or falling load.
    Leak,
    /// Some but not all of the signs of a leak.
    Suspect,
    /// Flat after GC, a plateau (warm-up), or growth that follows load.
    NotALeak,
    /// Too few points or too short a window to say.
    NotEnoughData,
}

impl Verdict {
    /// `leak`, `suspect`, `not a leak` or `not enough data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Leak => "leak",
            Verdict::Suspect => "suspect",
            Verdict::NotALeak => "not a leak",
            Verdict::NotEnoughData => "not enough data",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The thresholds of [`verdict`]; the defaults are deliberately conservative.
#[derive(Debug, Clone)]
pub struct VerdictThresholds {
    /// Fewest metric points needed (default 6).
    pub min_points: usize,
    /// Shortest observation window in seconds (default 30).
    pub min_span_secs: f64,
    /// Floor windows (default 6).
    pub windows: usize,
    /// Floor growth, in percent, that counts as growth (default 10).
    pub min_floor_growth_pct: f64,
    /// R² the floors must reach to count as steady (default 0.7).
    pub min_floor_r2: f64,
    /// Late-to-early floor growth ratio below which growth has flattened
    /// out (default 0.3).
    pub plateau_ratio: f64,
    /// Load growth, in percent, above which load explains memory (default 20).
    pub load_growth_pct: f64,
}

impl Default for VerdictThresholds {
    fn default() -> Self {
        VerdictThresholds {
            min_points: 6,
            min_span_secs: 30.0,
            windows: 6,
            min_floor_growth_pct: 10.0,
            min_floor_r2: 0.7,
            plateau_ratio: 0.3,
            load_growth_pct: 20.0,
        }
    }
}

/// Request load over the window: the counter's rate early and late.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// The counter used.
    pub metric: String,
    /// Requests per second in the first third of the window.
    pub early_rate: f64,
    /// Requests per second in the last third.
    pub late_rate: f64,
    /// Change from early to late, in percent.
    pub change_pct: f64,
}

/// A leak verdict with the numbers behind it.
#[derive(Debug, Clone)]
pub struct LeakVerdict {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, one sentence per finding.
    pub reasons: Vec<String>,
    /// Window length in seconds.
    pub span_secs: f64,
    /// `process_resident_memory_bytes`.
    pub rss: Option<Trend>,
    /// `go_memstats_heap_inuse_bytes`.
    pub heap_inuse: Option<Trend>,
    /// `go_memstats_heap_objects`.
    pub heap_objects: Option<Trend>,
    /// `go_goroutines`.
    pub goroutines: Option<Trend>,
    /// GC cycles completed during the window, when known.
    pub gc_cycles: Option<f64>,
    /// Request load, when a counter is present.
    pub load: Option<Load>,
}

/// Computes the load from a counter: its rate early and late in the window.
pub fn load(series: &MetricSeries, counter: &str) -> Option<Load> {
    let p = series.points(counter);
    if p.len() < 4 {
        return None;
    }
    let n = p.len();
    let third = (n / 3).max(1);
    let rate = |a: (i64, f64), b: (i64, f64)| {
        let dt = (b.0 - a.0) as f64 / 1000.0;
        if dt > 0.0 {
            (b.1 - a.1).max(0.0) / dt
        } else {
            0.0
        }
    };
    let early = rate(p[0], p[third]);
    let late = rate(p[n - 1 - third], p[n - 1]);
    Some(Load {
        metric: counter.to_string(),
        early_rate: early,
        late_rate: late,
        change_pct: if early > 0.0 {
            (late - early) / early * 100.0
        } else {
            0.0
        },
    })
}

/// The metrics trend check: `leak`, `suspect`, `not a leak` or `not enough
/// data`, conservatively (see the module docs). `counter` names the request
/// counter used to judge load ([`names::REQUESTS`] by default).
pub fn verdict(series: &MetricSeries, counter: Option<&str>, t: &VerdictThresholds) -> LeakVerdict {
    let trend = |m: &str| Trend::of(m, &series.points(m), t.windows);
    let heap_inuse = trend(names::HEAP_INUSE);
    let heap_objects = trend(names::HEAP_OBJECTS);
    let rss = trend(names::RSS);
    let goroutines = trend(names::GOROUTINES);
    let gc = series.points(names::GC_COUNT);
    let gc_cycles = (gc.len() >= 2).then(|| gc[gc.len() - 1].1 - gc[0].1);
    let load = load(series, counter.unwrap_or(names::REQUESTS));
    let heap_points = series.points(names::HEAP_INUSE);
    let span_secs = match (heap_points.first(), heap_points.last()) {
        (Some(a), Some(b)) => (b.0 - a.0) as f64 / 1000.0,
        _ => 0.0,
    };
    let mut v = LeakVerdict {
        verdict: Verdict::NotEnoughData,
        reasons: Vec::new(),
        span_secs,
        rss,
        heap_inuse,
        heap_objects,
        goroutines,
        gc_cycles,
        load,
    };
    let (Some(inuse), Some(objects)) = (&v.heap_inuse, &v.heap_objects) else {
        v.reasons.push(format!(
            "need {} and {} over time; the series has: {}",
            names::HEAP_INUSE,
            names::HEAP_OBJECTS,
            series.metric_names().join(", ")
        ));
        return v;
    };
    if inuse.points < t.min_points || span_secs < t.min_span_secs {
        v.reasons.push(format!(
            "{} points over {:.0} s; need at least {} points over {:.0} s",
            inuse.points, span_secs, t.min_points, t.min_span_secs
        ));
        return v;
    }
    if let Some(gc) = v.gc_cycles
        && gc < 2.0
    {
        v.reasons.push(format!(
            "only {gc:.0} GC cycles in the window: memory after GC cannot be judged yet"
        ));
        return v;
    }
    let describe = |tr: &Trend| {
        format!(
            "{}: floor after GC {:+.1}% (R² {:.2}), late/early growth {:.2}",
            tr.metric, tr.floor_growth_pct, tr.floor_r2, tr.late_to_early
        )
    };
    v.reasons.push(describe(inuse));
    v.reasons.push(describe(objects));
    let load_rising = v
        .load
        .as_ref()
        .is_some_and(|l| l.change_pct > t.load_growth_pct);
    if let Some(l) = &v.load {
        v.reasons.push(format!(
            "load ({}): {:.1}/s early, {:.1}/s late ({:+.0}%)",
            l.metric, l.early_rate, l.late_rate, l.change_pct
        ));
    }
    let inuse_rising = inuse.keeps_rising(t);
    let objects_rising = objects.keeps_rising(t);
    let rss_rising = v
        .rss
        .as_ref()
        .is_none_or(|r| r.keeps_rising(t) || r.floor_growth_pct > 0.0);
    v.verdict = if inuse_rising && objects_rising && !load_rising && rss_rising {
        v.reasons
            .push("heap in use and heap objects keep rising after GC under steady load".into());
        Verdict::Leak
    } else if (inuse_rising || objects_rising) && !load_rising {
        v.reasons.push(
            "one of heap in use / heap objects keeps rising after GC, the other does not: watch longer"
                .into(),
        );
        Verdict::Suspect
    } else if (inuse_rising || objects_rising) && load_rising {
        v.reasons
            .push("memory rises, but so does load: growth follows load".into());
        Verdict::NotALeak
    } else if inuse.plateaued(t) || objects.plateaued(t) {
        v.reasons
            .push("memory rose, then flattened out: a warm-up that plateaus".into());
        Verdict::NotALeak
    } else {
        v.reasons
            .push("memory comes back down after GC: no lasting growth".into());
        Verdict::NotALeak
    };
    v
}

/// The outcome of a before/after regression check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// After the fix, memory no longer keeps rising after GC.
    Fixed,
    /// Growth slowed down markedly but did not stop.
    Improved,
    /// Growth continues much as before.
    NotFixed,
    /// One of the two windows has too little data.
    NotEnoughData,
}

impl Outcome {
    /// `fixed`, `improved`, `not fixed` or `not enough data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fixed => "fixed",
            Outcome::Improved => "improved",
            Outcome::NotFixed => "not fixed",
            Outcome::NotEnoughData => "not enough data",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A before/after comparison under (supposedly) the same load.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The outcome.
    pub outcome: Outcome,
    /// The verdict on the window before the fix.
    pub before: LeakVerdict,
    /// The verdict on the window after the fix.
    pub after: LeakVerdict,
    /// Heap-object floor slope per minute, before and after.
    pub objects_slope: (f64, f64),
    /// Heap-in-use floor slope per minute (bytes), before and after.
    pub inuse_slope: (f64, f64),
    /// After the fix, the object count flattened out or stayed flat.
    pub objects_plateau: bool,
    /// After the fix, heap in use comes back down after GC (no floor growth).
    pub inuse_falls_after_gc: bool,
    /// After the fix, RSS no longer only goes up.
    pub rss_not_one_way: Option<bool>,
    /// Findings, one sentence each (including a warning when load differs).
    pub reasons: Vec<String>,
}

/// Compares the metrics of a window before a fix with one after it.
pub fn validate(
    before: &MetricSeries,
    after: &MetricSeries,
    counter: Option<&str>,
    t: &VerdictThresholds,
) -> Validation {
    let b = verdict(before, counter, t);
    let a = verdict(after, counter, t);
    let slope = |v: &LeakVerdict, f: fn(&LeakVerdict) -> &Option<Trend>| {
        f(v).as_ref().map_or(0.0, |tr| tr.floor_slope_per_min)
    };
    let objects_slope = (
        slope(&b, |v| &v.heap_objects),
        slope(&a, |v| &v.heap_objects),
    );
    let inuse_slope = (slope(&b, |v| &v.heap_inuse), slope(&a, |v| &v.heap_inuse));
    let objects_plateau = a
        .heap_objects
        .as_ref()
        .is_some_and(|tr| !tr.keeps_rising(t));
    let inuse_falls_after_gc = a.heap_inuse.as_ref().is_some_and(|tr| !tr.keeps_rising(t));
    let rss_not_one_way = a.rss.as_ref().map(|tr| !tr.keeps_rising(t));
    let mut reasons = vec![
        format!(
            "heap objects after GC: {:+.0}/min before, {:+.0}/min after",
            objects_slope.0, objects_slope.1
        ),
        format!(
            "heap in use after GC: {}/min before, {}/min after",
            crate::report::units::scaled_label(inuse_slope.0 as i64, "bytes", "auto"),
            crate::report::units::scaled_label(inuse_slope.1 as i64, "bytes", "auto"),
        ),
    ];
    if let (Some(lb), Some(la)) = (&b.load, &a.load) {
        let avg = |l: &Load| (l.early_rate + l.late_rate) / 2.0;
        let (x, y) = (avg(lb), avg(la));
        if x > 0.0 && ((y - x) / x).abs() > 0.3 {
            reasons.push(format!(
                "warning: load differs ({x:.1}/s before, {y:.1}/s after): compare under the same load"
            ));
        }
    }
    let outcome = if b.verdict == Verdict::NotEnoughData || a.verdict == Verdict::NotEnoughData {
        Outcome::NotEnoughData
    } else if a.verdict == Verdict::NotALeak && inuse_falls_after_gc && objects_plateau {
        Outcome::Fixed
    } else if objects_slope.0 > 0.0 && objects_slope.1 < 0.5 * objects_slope.0 {
        Outcome::Improved
    } else {
        Outcome::NotFixed
    };
    reasons.push(format!("before: {}; after: {}", b.verdict, a.verdict));
    Validation {
        outcome,
        before: b,
        after: a,
        objects_slope,
        inuse_slope,
        objects_plateau,
        inuse_falls_after_gc,
        rss_not_one_way,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
