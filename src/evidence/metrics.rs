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
/// let s = heapframe::evidence::metrics::parse_expvar(page, 1_000, "vars").unwrap();
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
/// let s = heapframe::evidence::metrics::parse_query_range(answer, "unused", "prometheus").unwrap();
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
                None => crate::files::mtime_ms(&p).unwrap_or(0),
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
