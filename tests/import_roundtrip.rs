//! Property: whatever `heapframe import-prometheus` writes, every command
//! reads, and the values come back as Prometheus gave them.
//!
//! A fake Prometheus HTTP API on 127.0.0.1 answers each range query with
//! series generated from a seed: metric names and label names and values
//! with line breaks, quotes, commas, semicolons, equals signs, backslashes
//! and non-ASCII text; values that are `NaN`, `±Inf`, the largest and
//! smallest `f64`, negative zero. For each seed the bundle the import wrote
//! is read by `verdict`, `checklist`, `growth`-free `report`, and by
//! `Bundle::open`, which must give back every sample (finite ones among
//! the samples, the others set aside) with its labels and value.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{Rng, scratch};
use heapframe::evidence::bundle::Bundle;
use heapframe::evidence::metrics::{MetricSample, names};

/// What the property test draws from a seeded [`Rng`]: pieces that break
/// naive writers and readers, and metric values.
trait Draw {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str;
    fn hostile(&mut self) -> String;
    fn value(&mut self) -> String;
}

impl Draw for Rng {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    /// Text made of pieces that break naive CSV, JSON or line-based
    /// writers and readers.
    fn hostile(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a", "job", "\n", "\r\n", "\r", ",", "\"", "\"\"", ";", "=", "\\", "\\n", "\\;", " ",
            "\t", "{", "}", "ünï", "✓", "#", "+Inf", "NaN", "le", "0.5", "",
        ];
        let n = self.below(6);
        (0..n).map(|_| self.pick(PIECES)).collect()
    }

    fn value(&mut self) -> String {
        match self.below(12) {
            0 => "NaN".into(),
            1 => "+Inf".into(),
            2 => "-Inf".into(),
            3 => "1.7976931348623157e308".into(),
            4 => "-1.7976931348623157e308".into(),
            5 => "5e-324".into(),
            6 => "-0".into(),
            7 => "0".into(),
            _ => {
                let x = (self.next() % 2_000_000_000) as f64 / 7.0;
                format!("{x}")
            }
        }
    }
}

/// One series of a range-query answer.
#[derive(Clone)]
struct Series {
    name: Option<String>,
    labels: Vec<(String, String)>,
    values: Vec<(f64, String)>,
}

/// Per metric asked, the series of its answer.
type Answers = Vec<(String, Vec<Series>)>;

/// The answers of one seed.
fn generate(seed: u64, counter: &str) -> Answers {
    let mut g = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let metrics = [
        names::RSS,
        names::HEAP_INUSE,
        names::HEAP_OBJECTS,
        names::GOROUTINES,
        names::GC_COUNT,
        counter,
    ];
    metrics
        .iter()
        .map(|&m| {
            let n_series = g.below(3) + usize::from(m == names::HEAP_INUSE);
            let series = (0..n_series)
                .map(|_| {
                    let mut labels: Vec<(String, String)> = Vec::new();
                    for _ in 0..g.below(4) {
                        let k = format!("l{}", g.hostile());
                        if !labels.iter().any(|(x, _)| *x == k) {
                            labels.push((k, g.hostile()));
                        }
                    }
                    let t0 = 1_700_000_000.0 + g.below(1000) as f64;
                    let values = (0..g.below(8) + 1)
                        .map(|i| {
                            (
                                t0 + i as f64 * 15.0 + g.below(1000) as f64 / 1000.0,
                                g.value(),
                            )
                        })
                        .collect();
                    Series {
                        // Aggregations carry no __name__: the import names them.
                        name: (g.below(4) != 0).then(|| m.to_string()),
                        labels,
                        values,
                    }
                })
                .collect();
            (m.to_string(), series)
        })
        .collect()
}

/// The JSON answer Prometheus gives for `series`.
fn answer(series: &[Series]) -> String {
    let result: Vec<serde_json::Value> = series
        .iter()
        .map(|s| {
            let mut metric = serde_json::Map::new();
            if let Some(n) = &s.name {
                metric.insert("__name__".into(), n.clone().into());
            }
            for (k, v) in &s.labels {
                metric.insert(k.clone(), v.clone().into());
            }
            let values: Vec<serde_json::Value> = s
                .values
                .iter()
                .map(|(t, v)| serde_json::json!([t, v]))
                .collect();
            serde_json::json!({ "metric": metric, "values": values })
        })
        .collect();
    serde_json::json!({
        "status": "success",
        "data": { "resultType": "matrix", "result": result }
    })
    .to_string()
}

/// What the bundle must hold afterwards: one sample per value.
fn expected(answers: &Answers) -> Vec<MetricSample> {
    let mut out = Vec::new();
    for (metric, series) in answers {
        for s in series {
            let mut labels = s.labels.clone();
            labels.sort();
            for (t, v) in &s.values {
                out.push(MetricSample {
                    time_ms: (t * 1000.0).round() as i64,
                    metric: s.name.clone().unwrap_or_else(|| metric.clone()),
                    labels: labels.clone(),
                    value: match v.as_str() {
                        "NaN" => f64::NAN,
                        "+Inf" => f64::INFINITY,
                        "-Inf" => f64::NEG_INFINITY,
                        x => x.parse().unwrap(),
                    },
                });
            }
        }
    }
    out
}

fn key(s: &MetricSample) -> (i64, String, Vec<(String, String)>, u64) {
    let bits = if s.value.is_nan() {
        f64::NAN.to_bits()
    } else {
        s.value.to_bits()
    };
    (s.time_ms, s.metric.clone(), s.labels.clone(), bits)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// A fake Prometheus API on 127.0.0.1: `/api/v1/query_range` answers with
/// the series of the metric the query names (its text before `{`).
struct FakePrometheus {
    addr: String,
    answers: Arc<Mutex<Answers>>,
}

impl FakePrometheus {
    fn start() -> FakePrometheus {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let answers: Arc<Mutex<Answers>> = Arc::default();
        let a = Arc::clone(&answers);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                serve(stream, &a);
            }
        });
        FakePrometheus { addr, answers }
    }
}

fn serve(mut stream: TcpStream, answers: &Mutex<Answers>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
    }
    let target = request.split_whitespace().nth(1).unwrap_or("/");
    let query = target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("query="))
        .map(percent_decode)
        .unwrap_or_default();
    let metric = query.split('{').next().unwrap_or("").to_string();
    let body = {
        let answers = answers.lock().unwrap();
        let series = answers
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        answer(&series)
    };
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
    let mut rest = Vec::new();
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(50)));
    let _ = reader.read_to_end(&mut rest);
}

fn heapframe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heapframe"))
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn import(prom: &FakePrometheus, out: &Path, counter: &str) {
    run(
        heapframe()
            .args(["import-prometheus", &format!("http://{}", prom.addr)])
            .args(["--selector", "job=\"svc\"", "--counter", counter, "--out"])
            .arg(out),
        "import-prometheus",
    );
}

#[test]
fn whatever_import_prometheus_writes_every_command_reads_back_unchanged() {
    let prom = FakePrometheus::start();
    let (_cleanup, dir) = scratch("import-rt-hostile");
    const SEEDS: u64 = 24;
    for seed in 1..=SEEDS {
        let counter = if seed % 3 == 0 {
            format!("odd{}", Rng(seed).hostile().replace(['{', '\0'], ""))
        } else {
            names::REQUESTS.to_string()
        };
        let answers = generate(seed, &counter);
        *prom.answers.lock().unwrap() = answers.clone();
        let out = dir.join(format!("seed-{seed}"));
        import(&prom, &out, &counter);

        let b = Bundle::open(&out).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let mut got: Vec<_> = b
            .metrics
            .samples
            .iter()
            .chain(b.metrics.non_finite.iter().map(|n| &n.sample))
            .map(key)
            .collect();
        let mut want: Vec<_> = expected(&answers).iter().map(key).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "seed {seed}: the values do not round-trip");
        assert!(b.metrics.samples.iter().all(|s| s.value.is_finite()));

        let verdict = run(heapframe().arg("verdict").arg(&out), "verdict");
        assert!(verdict.starts_with("verdict: "), "seed {seed}: {verdict}");
        let n_non_finite = b
            .metrics
            .non_finite
            .iter()
            .filter(|n| n.sample.metric == names::HEAP_INUSE)
            .count();
        if n_non_finite > 0 {
            assert!(
                verdict.contains(&format!(
                    "non-finite value{} ignored in {}",
                    if n_non_finite == 1 { "" } else { "s" },
                    names::HEAP_INUSE
                )),
                "seed {seed}: {verdict}"
            );
        }
        run(heapframe().arg("checklist").arg(&out), "checklist");
        let page = out.with_extension("html");
        run(
            heapframe()
                .arg("report")
                .arg(&out)
                .args(["--counter", &counter, "-o"])
                .arg(&page),
            "report",
        );
        assert!(std::fs::metadata(&page).unwrap().len() > 0);
    }
}

#[test]
fn a_second_import_adds_a_file_and_both_are_read() {
    let prom = FakePrometheus::start();
    let (_cleanup, dir) = scratch("import-rt-twice");
    let answers = generate(99, names::REQUESTS);
    *prom.answers.lock().unwrap() = answers.clone();
    import(&prom, &dir, names::REQUESTS);
    import(&prom, &dir, names::REQUESTS);
    let files = std::fs::read_dir(dir.join("metrics")).unwrap().count();
    assert_eq!(files, 2);
    let b = Bundle::open(&dir).unwrap();
    let n = b.metrics.samples.len() + b.metrics.non_finite.len();
    assert_eq!(n, 2 * expected(&answers).len());
}

#[test]
fn an_import_of_values_that_are_not_numbers_is_kept_and_judged_not_enough_data() {
    let prom = FakePrometheus::start();
    let (_cleanup, dir) = scratch("import-rt-nan");
    let series = |m: &str, v: &str| Series {
        name: Some(m.to_string()),
        labels: vec![("job".into(), "svc".into())],
        values: (0..12)
            .map(|i| (1_700_000_000.0 + 15.0 * i as f64, v.to_string()))
            .collect(),
    };
    let answers = vec![
        (
            names::HEAP_INUSE.to_string(),
            vec![series(names::HEAP_INUSE, "NaN")],
        ),
        (
            names::HEAP_OBJECTS.to_string(),
            vec![series(names::HEAP_OBJECTS, "+Inf")],
        ),
    ];
    *prom.answers.lock().unwrap() = answers.clone();
    let said = run(
        heapframe()
            .args(["import-prometheus", &format!("http://{}", prom.addr)])
            .args(["--selector", "job=\"svc\"", "--out"])
            .arg(&dir),
        "import-prometheus",
    );
    assert!(said.contains(": 24 samples over"), "{said}");
    let b = Bundle::open(&dir).unwrap();
    assert!(b.metrics.samples.is_empty());
    assert_eq!(b.metrics.non_finite.len(), 24);
    let verdict = run(heapframe().arg("verdict").arg(&dir), "verdict");
    assert!(verdict.starts_with("verdict: not enough data"), "{verdict}");
    assert!(
        verdict.contains("12 non-finite values ignored in go_memstats_heap_inuse_bytes ("),
        "{verdict}"
    );
}
