//! A Prometheus server as a source of metric history.
//!
//! An incident is usually noticed hours after memory started to climb; the
//! Prometheus server that scrapes the service has that history. [`Server`]
//! asks its HTTP API (`/api/v1/query_range`) for the series the leak
//! verdict reads — RSS, heap in use, heap objects, goroutines, GC cycles and
//! a request counter — and turns them into a [`MetricSeries`], which
//! [`Server::import_into`] writes into a bundle's `metrics/` folder as CSV so
//! that `heapframe verdict BUNDLE` judges history that predates the
//! incident.
//!
//! Prometheus refuses range queries of more than 11,000 points per series;
//! [`choose_step`] widens the step to stay under that.
//!
//! ```no_run
//! use std::time::Duration;
//! use heapframe::live::{FetchOptions, now_ms};
//! use heapframe::live::prometheus::{HistoryQuery, Server};
//! let prom = Server::new("http://127.0.0.1:9090", FetchOptions::default())?;
//! let end = now_ms();
//! let q = HistoryQuery {
//!     selector: r#"job="checkout""#.into(),
//!     start_ms: end - 6 * 3600 * 1000,
//!     end_ms: end,
//!     ..Default::default()
//! };
//! let history = prom.history(&q)?;
//! let v = heapframe::evidence::verdict::verdict(&history.series);
//! println!("{}", v.verdict);
//! # Ok::<(), heapframe::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::address::TargetUrl;
use crate::error::{Error, Result};
use crate::evidence::metrics::{self, MetricSample, MetricSeries, names};
use crate::live::FetchOptions;
use crate::live::http::{Http, credentials_into_options, unexpected};

/// The most points per series Prometheus returns from one range query.
pub const MAX_POINTS: u64 = 11_000;

/// The step to use for a window of `span`: `wanted`, or the smallest whole
/// number of seconds that keeps the query at or under [`MAX_POINTS`] points
/// per series, whichever is larger (and at least one second).
///
/// ```
/// use std::time::Duration;
/// use heapframe::live::prometheus::choose_step;
/// let day = Duration::from_secs(86_400);
/// assert_eq!(choose_step(day, Duration::from_secs(15)), Duration::from_secs(15));
/// // 30 days at 15 s would be 172,800 points: the step grows to 236 s.
/// assert_eq!(choose_step(day * 30, Duration::from_secs(15)), Duration::from_secs(236));
/// ```
pub fn choose_step(span: Duration, wanted: Duration) -> Duration {
    // points = floor(span / step) + 1 <= MAX_POINTS
    let span_s = span.as_secs_f64();
    let min_step = (span_s / (MAX_POINTS - 1) as f64).ceil().max(1.0);
    let wanted_s = wanted.as_secs_f64().ceil().max(1.0);
    Duration::from_secs(min_step.max(wanted_s) as u64)
}

/// What to ask for: a window, a step and the series selector.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    /// Label matchers that pick the service, e.g. `job="checkout",instance="10.0.3.7:6060"`
    /// (braces optional).
    pub selector: String,
    /// Window start, Unix milliseconds.
    pub start_ms: i64,
    /// Window end, Unix milliseconds.
    pub end_ms: i64,
    /// The resolution wanted (default 15 s); widened by [`choose_step`].
    pub step: Duration,
    /// The request counter that measures load (default
    /// [`names::REQUESTS`]).
    pub counter: String,
}

impl Default for HistoryQuery {
    fn default() -> Self {
        HistoryQuery {
            selector: String::new(),
            start_ms: 0,
            end_ms: 0,
            step: crate::defaults::IMPORT_STEP,
            counter: crate::defaults::REQUEST_COUNTER.to_string(),
        }
    }
}

/// The result of [`Server::history`].
#[derive(Debug, Clone)]
pub struct History {
    /// All samples, under the metric names the verdict reads.
    pub series: MetricSeries,
    /// The step used.
    pub step: Duration,
    /// Each query sent and how many series it returned (0 = the server
    /// has no such metric for this selector).
    pub queries: Vec<(String, usize)>,
}

/// A Prometheus server, by its base address (`http://prometheus:9090`).
#[derive(Debug, Clone)]
pub struct Server {
    base: TargetUrl,
    http: Http,
}

impl Server {
    /// A server at `base`. Like [`crate::live::service::Service::new`], refuses
    /// an address that [`FetchOptions::addresses`] does not allow, and sends
    /// credentials in the URL as basic authentication.
    pub fn new(base: &str, opts: FetchOptions) -> Result<Server> {
        let url = TargetUrl::parse(base).map_err(|e| Error::Option(e.to_string()))?;
        let (url, opts) = credentials_into_options(url, opts)?;
        let path = format!("{}/", url.path().trim_end_matches('/'));
        let base = url.with_path(&path);
        let http = Http::new(&base, opts)?;
        Ok(Server { base, http })
    }

    /// `/api/v1/query_range` for one PromQL expression over a window;
    /// `name` names the result when the expression's series carry no
    /// `__name__` (aggregations). The step is widened by [`choose_step`].
    pub fn query_range(
        &self,
        query: &str,
        name: &str,
        start_ms: i64,
        end_ms: i64,
        step: Duration,
    ) -> Result<Vec<MetricSample>> {
        if end_ms <= start_ms {
            return Err(Error::Option(format!(
                "the window ends ({end_ms}) before it starts ({start_ms})"
            )));
        }
        let span = Duration::from_millis((end_ms - start_ms) as u64);
        let step = choose_step(span, step);
        let url = self
            .base
            .with_path(&format!("{}api/v1/query_range", self.base.path()))
            .with_query(&[
                ("query", query),
                ("start", &seconds(start_ms)),
                ("end", &seconds(end_ms)),
                ("step", &format!("{}s", step.as_secs())),
            ]);
        let shown = url.to_string();
        // Prometheus answers errors (a bad query: 400) with a JSON body
        // that says why; the status error carries its start.
        self.http.get(&url, Duration::ZERO, |body| {
            let text = String::from_utf8_lossy(&body.bytes).into_owned();
            metrics::parse_query_range(&text, name, &shown)
                .map_err(|e| unexpected("a Prometheus API answer", &body, e.to_string()))
        })
    }

    /// The memory history of the service picked by `q.selector`: RSS,
    /// heap in use, heap objects, goroutines, GC cycles, the runtime's
    /// total, stack, idle and released bytes, the process start time and
    /// the request counter, each one range query.
    pub fn history(&self, q: &HistoryQuery) -> Result<History> {
        let inner = q
            .selector
            .trim()
            .trim_start_matches('{')
            .trim_end_matches('}')
            .trim();
        let span = Duration::from_millis((q.end_ms - q.start_ms).max(0) as u64);
        let step = choose_step(span, q.step);
        let mut samples = Vec::new();
        let mut queries = Vec::new();
        // The verdict's metrics, the gauges it reads when memory grows
        // outside the Go heap, and the process start time that marks a
        // restart; a metric the server does not have comes back empty.
        for metric in [
            names::RSS,
            names::HEAP_INUSE,
            names::HEAP_OBJECTS,
            names::GOROUTINES,
            names::GC_COUNT,
            names::SYS,
            names::MEMORY_TOTAL,
            names::STACK_INUSE,
            names::HEAP_IDLE,
            names::HEAP_RELEASED,
            names::PROCESS_START,
            q.counter.as_str(),
        ] {
            let query = format!("{metric}{{{inner}}}");
            let got = self.query_range(&query, metric, q.start_ms, q.end_ms, step)?;
            let mut sets: Vec<&Vec<(String, String)>> = got.iter().map(|s| &s.labels).collect();
            sets.sort();
            sets.dedup();
            queries.push((query, sets.len()));
            samples.extend(got);
        }
        Ok(History {
            series: MetricSeries::new(samples),
            step,
            queries,
        })
    }

    /// [`Server::history`], written into the bundle at `bundle` as
    /// `metrics/<unix_millis>.csv` (a new file; nothing is replaced).
    /// Returns the history and the file written.
    pub fn import_into(&self, q: &HistoryQuery, bundle: &Path) -> Result<(History, PathBuf)> {
        let h = self.history(q)?;
        if h.series.samples.is_empty() && h.series.non_finite.is_empty() {
            return Err(Error::Option(format!(
                "{}: no samples for {} between {} and {} (check the selector: the queries were {})",
                self.base,
                q.selector,
                seconds(q.start_ms),
                seconds(q.end_ms),
                h.queries
                    .iter()
                    .map(|(q, _)| q.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let dir = bundle.join("metrics");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Output(format!("{}: cannot create: {e}", dir.display())))?;
        let path = crate::files::write_new(
            &dir,
            crate::live::http::now_ms(),
            "csv",
            h.series.to_csv().as_bytes(),
        )?;
        Ok((h, path))
    }
}

fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_keeps_every_window_under_the_limit() {
        for span_s in [
            1u64,
            59,
            3600,
            6 * 3600,
            7 * 86_400,
            400 * 86_400,
            10_999,
            11_000,
            11_001,
        ] {
            for wanted in [1u64, 15, 60] {
                let step = choose_step(Duration::from_secs(span_s), Duration::from_secs(wanted));
                let points = span_s / step.as_secs() + 1;
                assert!(points <= MAX_POINTS, "{span_s} s at {step:?}: {points}");
                assert!(step.as_secs() >= wanted);
            }
        }
        assert_eq!(
            choose_step(Duration::from_millis(500), Duration::ZERO),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn times_are_sent_as_decimal_seconds() {
        assert_eq!(seconds(1_700_000_000_123), "1700000000.123");
        assert_eq!(seconds(5), "0.005");
    }

    #[test]
    fn public_servers_are_refused() {
        let err = Server::new("http://1.1.1.1:9090", FetchOptions::default()).unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
    }
}
