//! Live evidence against real servers on loopback: the fixture Go service
//! (tests/leaky-svc, built with `go build`), a real Prometheus server
//! scraping it, and a scripted HTTP server for answers no real service
//! gives on purpose (HTML login pages, 404s, truncated and slow bodies).
//!
//! Needs `go` and `prometheus` on PATH. Locally a test without them says
//! so and returns; under CI (`CI=true`) a missing tool fails the test.
//! All traffic stays on 127.0.0.1.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::Rng;
use heapframe::evidence::bundle::{Bundle, SnapshotKind};
use heapframe::evidence::metrics::names;
use heapframe::evidence::verdict::{Basis, Verdict, VerdictOptions, VerdictThresholds};
use heapframe::findings::{Findings, FindingsOptions};
use heapframe::growth::{GrowthOptions, growth, widening};
use heapframe::live::collect::{CollectOptions, Collector, MetricsSource};
use heapframe::live::{FetchOptions, ProfileQuery, Service};
use heapframe::{Error, FetchError};

// ---------------------------------------------------------------- helpers

/// Finds `tool` on PATH; `None` (with the reason printed) when it is
/// missing locally, a panic when it is missing under CI.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{name} is not on PATH, and CI=true: .ci/run must install it");
        }
        eprintln!("SKIPPED: {name} is not on PATH (install it to run this test)");
    }
    found
}

/// A fresh folder under the target's temporary folder, removed when the
/// test passes (kept for a look when it fails).
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn scratch(name: &str) -> Scratch {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

/// Builds tests/leaky-svc once per test process.
fn leakysvc() -> Option<PathBuf> {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    let go = tool("go")?;
    Some(
        BIN.get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("live-gobuild");
            std::fs::create_dir_all(&dir).unwrap();
            let out = dir.join("leakysvc");
            // Built under a private name and renamed: test processes running
            // side by side never run a half-written binary.
            let part = dir.join(format!("leakysvc.{}", std::process::id()));
            let st = Command::new(go)
                .args(["build", "-trimpath", "-o"])
                .arg(&part)
                .arg(".")
                .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/leaky-svc"))
                .env("GOTOOLCHAIN", "local")
                .env("GOPROXY", "off")
                .env("GOFLAGS", "-mod=mod")
                .status()
                .expect("run go build");
            assert!(st.success(), "go build of tests/leaky-svc failed");
            std::fs::rename(&part, &out).unwrap();
            out
        })
        .clone(),
    )
}

/// A running fixture service; killed when dropped.
struct Svc {
    child: Child,
    addr: String,
}

impl Svc {
    fn start(bin: &Path, addr: &str, scenario: &str, rps: u32) -> Svc {
        let mut child = Command::new(bin)
            .args([
                "-addr",
                addr,
                "-scenario",
                scenario,
                "-memprofilerate",
                "4096",
            ])
            .args(["-rps", &rps.to_string()])
            // More frequent collections: the floors after GC the verdict
            // reads then follow the growth even in a few seconds of metrics.
            .env("GOGC", "50")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start leakysvc");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("leakysvc said {line:?}"))
            .to_string();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Svc { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Svc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills a child process on drop (a collector or a Prometheus server).
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn heapframe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heapframe"))
}

/// Waits (up to `limit`) until `cond` holds; panics with `what` if not.
fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for a child with a time limit, returning its output.
fn finish(mut child: Child, limit: Duration) -> (std::process::ExitStatus, String, String) {
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut out = String::new();
            let mut err = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (st, out, err);
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("the command did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Files of `dir` except hidden temporaries (which may be mid-write).
fn complete_files(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|f| !f.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect()
}

fn snapshot_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    for sub in ["heap", "allocs", "goroutine", "goroutineleak", "metrics"] {
        for f in complete_files(&dir.join(sub)) {
            let bytes = std::fs::read(&f).unwrap();
            all.push((f, bytes));
        }
    }
    all
}

fn no_temporaries(dir: &Path) {
    for sub in [
        "",
        "heap",
        "allocs",
        "goroutine",
        "goroutineleak",
        "metrics",
    ] {
        for f in files(&dir.join(sub)) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !name.contains(heapframe::files::TEMP_MARKER),
                "left behind: {}",
                f.display()
            );
        }
    }
}

fn gaps(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("gaps.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn fast() -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_secs(5),
        retries: 0,
        ..Default::default()
    }
}

// ------------------------------------------- a scripted server on loopback

/// One canned answer.
#[derive(Clone)]
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    /// Bytes of the body actually sent before closing (Content-Length
    /// still announces the whole body): a connection that breaks off.
    cut_at: Option<usize>,
    /// Wait this long before answering.
    delay: Duration,
    /// A `Location` header (for redirects).
    location: Option<String>,
    /// A `Content-Encoding` header.
    encoding: Option<&'static str>,
}

impl Answer {
    fn ok(content_type: &'static str, body: &[u8]) -> Answer {
        Answer {
            status: 200,
            content_type,
            body: body.to_vec(),
            cut_at: None,
            delay: Duration::ZERO,
            location: None,
            encoding: None,
        }
    }
}

type Script = dyn Fn(&str, usize) -> Answer + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 that answers each request with
/// `script(path, n)` (n counts requests from 0) and counts requests.
struct Scripted {
    addr: String,
    hits: Arc<AtomicUsize>,
}

impl Scripted {
    fn start(script: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let hits = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let h = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let n = h.fetch_add(1, Ordering::SeqCst);
                let script = Arc::clone(&script);
                std::thread::spawn(move || serve(stream, n, &*script));
            }
        });
        Scripted { addr, hits }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn serve(mut stream: TcpStream, n: usize, script: &Script) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
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
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    let a = script(&path, n);
    std::thread::sleep(a.delay);
    let location = a
        .location
        .as_ref()
        .map_or(String::new(), |l| format!("Location: {l}\r\n"))
        + &a.encoding
            .map_or(String::new(), |e| format!("Content-Encoding: {e}\r\n"));
    let head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\n{location}Connection: close\r\n\r\n",
        a.status,
        a.content_type,
        a.body.len()
    );
    let body = &a.body[..a.cut_at.unwrap_or(a.body.len())];
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn fixture_heap() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/conformance/profiles/svc.heap.2.pb.gz"),
    )
    .unwrap()
}

const LOGIN_PAGE: &[u8] =
    b"<!DOCTYPE html>\n<html><head><title>Sign in - corp proxy</title></head><body>...</body></html>";

// ------------------------------------------------------------------ tests

/// `heapframe collect` of ten snapshots a second apart from `svc`
/// (metrics every 200 ms) into `out`, as `service`: its exit status, stdout
/// and stderr (a minute at most).
fn collect_ten(svc: &Svc, service: &str, out: &Path) -> (std::process::ExitStatus, String, String) {
    let child = heapframe()
        .args(["collect", &svc.url(), "--every", "1s", "--count", "10"])
        .args(["--metrics-every", "200ms", "--service", service])
        .arg("--out")
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child, Duration::from_secs(60))
}

#[test]
fn collect_cli_against_the_fixture_service_gives_a_bundle_that_growth_and_verdict_read() {
    let Some(bin) = leakysvc() else { return };
    let svc = Svc::start(&bin, "127.0.0.1:0", "mapcache", 1000);
    let tmp = scratch("collect");
    let out = tmp.join("incident");
    let (st, stdout, stderr) = collect_ten(&svc, "leakysvc", &out);
    assert!(st.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("10 heap snapshots written"), "{stdout}");
    assert!(stderr.contains("capture 10/10"), "{stderr}");
    no_temporaries(&out);

    let b = Bundle::open(&out).unwrap();
    assert_eq!(b.manifest.target, svc.url());
    assert_eq!(b.manifest.service, "leakysvc");
    for kind in SnapshotKind::ALL {
        assert_eq!(b.snapshots(kind).len(), 10, "{kind:?}");
    }
    assert!(b.heap.windows(2).all(|w| w[0].time_ms < w[1].time_ms));
    // The culprit of the map-cache scenario, as in tests/growth.rs.
    let g = growth(&b.heap, &GrowthOptions::default()).unwrap();
    assert_eq!(g.rows[0].key, "bytes.Clone");
    let w = widening(&b.heap[0].profile, &b.heap[9].profile, None, 0.5).unwrap();
    assert!(
        w.path()
            .contains("main.GetUserProfile -> main.BuildResponse"),
        "{}",
        w.path()
    );
    assert_eq!(w.user_frame().unwrap().function, "main.BuildResponse");
    // Metrics: every scrape parsed, and a leak under steady load once the
    // window thresholds fit a ten-second test.
    assert!(b.metrics.points(names::HEAP_INUSE).len() >= 20);
    let t = VerdictThresholds {
        min_span_secs: 4.0,
        ..Default::default()
    };
    // Ten seconds on a loaded 2-core machine: the metrics alone have said
    // `suspect` (an object floor that fit loosely, a heap floor that
    // seemed to flatten); the owner that grows steadily across the ten
    // snapshots decides it.
    let opts = FindingsOptions {
        verdict: VerdictOptions {
            thresholds: t.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    let f = Findings::of(&b, &opts).unwrap();
    let v = &f.verdict;
    // The load generator shares the cores with the service and the
    // collector: when its rate drifts up (load +25% has been seen in CI),
    // memory that rises far faster than load is `suspect`, never `not a
    // leak`, and the same steady owner is named.
    let outpaced = v.metrics.shape == heapframe::evidence::verdict::Shape::OutpacesLoad;
    let want = if outpaced {
        Verdict::Suspect
    } else {
        Verdict::Leak
    };
    assert_eq!(v.verdict, want, "{:#?}", v.reasons);
    let owner = v.owner.as_ref().unwrap();
    assert!(owner.steady && owner.key == "bytes.Clone", "{owner:?}");

    // The same shortest span as the verdict above.
    let out2 = heapframe()
        .args(["growth", "--min-span", "4s"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out2.stdout);
    assert!(out2.status.success(), "{text}");
    assert!(text.contains("10 snapshots"), "{text}");
    assert!(
        text.contains("Code to read first: main.BuildResponse (the deepest application code"),
        "{text}"
    );
    let out3 = heapframe().arg("verdict").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&out3.stdout);
    assert!(out3.status.success(), "{text}");
    // Ten seconds are below the CLI's default 30 s window: it says so.
    assert!(text.contains("verdict: not enough data"), "{text}");
    assert!(
        text.contains("Goroutines: ") && text.contains(" goroutine profiles over "),
        "{text}"
    );
    let out4 = heapframe()
        .args(["verdict", "--min-span", "4s"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out4.stdout);
    // The CLI says what the library said.
    assert!(
        text.starts_with(&format!("verdict: {}\n", v.verdict.as_str())),
        "{text}"
    );
}

/// A few scenarios of the matrix (`tests/fixtures/scenarios.tsv`) run
/// live under `collect`, one after the other, and get their verdict and
/// culprit from the chain: a bounded cache that is already full is not a
/// leak, and a leak under a cache that is still warming up is never waved
/// away and names its owner. Ten seconds on a loaded 2-core machine are
/// less than the fixture bundles' minute: the leak under the warming cache
/// may show only in the snapshots (`suspect`, the metrics and the
/// snapshots disagreeing) or in both (`leak`); its owner and the code to
/// read first are the same either way.
#[test]
fn scenarios_under_collect_get_their_verdict_and_culprit() {
    let Some(bin) = leakysvc() else { return };
    let tmp = scratch("scenarios");
    let t = VerdictThresholds {
        min_span_secs: 4.0,
        ..Default::default()
    };
    let opts = FindingsOptions {
        verdict: VerdictOptions {
            thresholds: t,
            ..Default::default()
        },
        ..Default::default()
    };
    let run = |scenario: &str, rps: u32, settle: Settle| {
        let svc = Svc::start(&bin, "127.0.0.1:0", scenario, rps);
        match settle {
            Settle::For(d) => std::thread::sleep(d),
            Settle::CacheFull(n) => {
                // A loaded machine serves fewer requests a second than
                // asked: wait for the cache itself, then a second more.
                wait_for("the cache to fill", Duration::from_secs(120), || {
                    cache_entries(&svc.addr).is_some_and(|e| e >= n)
                });
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        let out = tmp.join(scenario);
        let (st, _, stderr) = collect_ten(&svc, scenario, &out);
        assert!(st.success(), "{scenario}: {stderr}");
        let b = Bundle::open(&out).unwrap();
        let f = Findings::of(&b, &opts).unwrap();
        (b, f)
    };

    // lru: 2000 entries with a TTL, full after about two seconds at 1000
    // requests a second; collected once it is full (as the service's
    // expvar `cache_entries` says), however slow the machine.
    let (_, f) = run("lru", 1000, Settle::CacheFull(2000));
    let v = &f.verdict;
    assert_eq!(v.verdict, Verdict::NotALeak, "lru: {:#?}", v.reasons);
    assert!(
        v.owner.as_ref().is_none_or(|o| !o.steady),
        "lru: {:?}",
        v.owner
    );

    // warmleak: a bounded cache warming up and a session per fourth
    // request that is never freed. Collected from two seconds in, so that
    // the cache fills in the first snapshots and flattens in the rest
    // even on a slow machine: the cache grew more, the sessions steadily.
    let (b, f) = run("warmleak", 1000, Settle::For(Duration::from_secs(2)));
    let v = &f.verdict;
    assert!(
        v.verdict == Verdict::Leak
            || (v.verdict == Verdict::Suspect && v.decided_by == Basis::Snapshots),
        "warmleak: {:?}: {:#?}",
        v.verdict,
        v.reasons
    );
    let owner = v.owner.as_ref().unwrap();
    assert!(
        owner.steady && owner.key == "main.(*sessionStore).Add",
        "{owner:?}"
    );
    let h = f.heap.as_ref().unwrap();
    assert_eq!(
        h.widening.user_frame().unwrap().function,
        "main.(*sessionStore).Add"
    );
    // The page says the same.
    let page = heapframe::views::page::page(&b, &f, 10).unwrap();
    assert!(page.evidence[0].starts_with(&format!("Verdict: {} — decided by ", v.verdict)));
    assert!(
        page.evidence
            .iter()
            .any(|l| l.starts_with("Code to read first: main.(*sessionStore).Add")),
        "{:?}",
        page.evidence
    );
}

#[test]
fn library_fetch_of_each_endpoint() {
    let Some(bin) = leakysvc() else { return };
    let svc = Svc::start(&bin, "127.0.0.1:0", "goroutines", 200);
    let s = Service::new(&svc.url(), fast()).unwrap();
    for kind in SnapshotKind::ALL {
        let p = s
            .profile(kind, &ProfileQuery::default())
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(SnapshotKind::of(&p.profile), Some(kind), "{}", p.url);
        assert!(heapframe::pprof::is_gzip(&p.gzip));
    }
    let gc = s
        .profile(
            SnapshotKind::Heap,
            &ProfileQuery {
                gc: true,
                seconds: None,
            },
        )
        .unwrap();
    assert!(gc.url.ends_with("/debug/pprof/heap?gc=1"));
    // A delta profile over one second.
    let delta = s
        .profile(
            SnapshotKind::Allocs,
            &ProfileQuery {
                gc: false,
                seconds: Some(1),
            },
        )
        .unwrap();
    assert!(delta.url.ends_with("seconds=1"));
    assert!(
        delta.profile.duration_nanos >= 900_000_000,
        "{}",
        delta.profile.duration_nanos
    );

    let m = s.metrics().unwrap();
    for name in [
        names::RSS,
        names::HEAP_INUSE,
        names::HEAP_OBJECTS,
        names::GOROUTINES,
    ] {
        assert!(
            m.samples.iter().any(|x| x.metric == name && x.value > 0.0),
            "{name}"
        );
    }
    assert!(m.samples.iter().any(|x| {
        x.metric == "http_requests_total"
            && x.labels
                .contains(&("handler".to_string(), "/watch".to_string()))
    }));
    let e = s.expvar().unwrap();
    assert!(
        e.samples
            .iter()
            .any(|x| x.metric == names::HEAP_INUSE && x.value > 0.0)
    );
    assert!(e.samples.iter().any(|x| x.metric == "expvar_cache_entries"));
}

/// `collect --seconds N`: delta heap and allocs profiles over N seconds,
/// kept apart in delta/, read by top and growth; the bundle's own
/// snapshots are the cumulative ones only.
#[test]
fn delta_profiles_are_collected_apart() {
    let Some(bin) = leakysvc() else { return };
    let svc = Svc::start(&bin, "127.0.0.1:0", "mapcache", 200);
    let out = scratch("delta");
    let opts = CollectOptions {
        every: Duration::from_millis(2500),
        count: 2,
        metrics: MetricsSource::Off,
        kinds: vec![SnapshotKind::Heap],
        delta_seconds: Some(1),
        ..Default::default()
    };
    let r = Collector::new(Service::new(&svc.url(), fast()).unwrap(), &out, opts)
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(
        (r.heap_snapshots, r.delta_profiles, r.gaps.len()),
        (2, 4, 0),
        "{:?}",
        r.gaps
    );
    for kind in ["heap", "allocs"] {
        let deltas = files(&out.join("delta").join(kind));
        assert_eq!(deltas.len(), 2, "{kind}: {deltas:?}");
        for f in &deltas {
            let p = heapframe::Profile::from_path(f).unwrap();
            // A delta profile covers its second (Go sets its duration,
            // measured: a little more).
            assert!(
                (1_000_000_000..1_500_000_000).contains(&p.duration_nanos),
                "{}: {}",
                f.display(),
                p.duration_nanos
            );
            let alloc = p.sample_index(Some("alloc_space")).unwrap();
            let total: i64 = (0..p.samples.len())
                .map(|k| p.samples.get(k).values[alloc])
                .sum();
            assert!(
                total > 0,
                "{}: nothing allocated in a second at 200 rps",
                f.display()
            );
        }
    }
    let b = Bundle::open(&out).unwrap();
    assert_eq!(b.heap.len(), 2);
    // A folder of delta profiles is not a bundle: the files are given.
    let files: Vec<String> = files(&out.join("delta/allocs"))
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let g2 = heapframe()
        .args(["growth", "--sample-index", "alloc_space"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        g2.status.success(),
        "{}",
        String::from_utf8_lossy(&g2.stderr)
    );
    assert!(String::from_utf8_lossy(&g2.stdout).starts_with("2 snapshots over"));
    // N must fit between captures.
    let e = Collector::new(
        Service::new(&svc.url(), fast()).unwrap(),
        scratch("delta-bad"),
        CollectOptions {
            every: Duration::from_secs(2),
            delta_seconds: Some(2),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--seconds 2: a delta profile must cover"), "{e}");
}

#[test]
fn expvar_as_the_metrics_source() {
    let Some(bin) = leakysvc() else { return };
    let svc = Svc::start(&bin, "127.0.0.1:0", "mapcache", 200);
    let out = scratch("expvar");
    let opts = CollectOptions {
        every: Duration::from_millis(500),
        count: 2,
        metrics_every: Duration::from_millis(200),
        metrics: MetricsSource::Expvar,
        kinds: vec![SnapshotKind::Heap],
        ..Default::default()
    };
    let r = Collector::new(Service::new(&svc.url(), fast()).unwrap(), &out, opts)
        .unwrap()
        .run()
        .unwrap();
    assert_eq!((r.heap_snapshots, r.gaps.len()), (2, 0), "{:?}", r.gaps);
    let b = Bundle::open(&out).unwrap();
    assert!(b.metrics.points(names::HEAP_OBJECTS).len() >= 2);
    assert!(
        files(&out.join("metrics"))
            .iter()
            .all(|f| f.extension().unwrap() == "csv")
    );
}

#[test]
fn answers_that_are_not_profiles_fail_clearly_and_only_transient_ones_are_retried() {
    let heap = fixture_heap();
    let cut = heap[..heap.len() / 2].to_vec();
    let server = Scripted::start(move |path, _| match path {
        "/login/debug/pprof/heap" => Answer::ok("text/html; charset=utf-8", LOGIN_PAGE),
        "/short/debug/pprof/heap" => Answer::ok("application/octet-stream", &cut),
        "/broken/debug/pprof/heap" => Answer {
            cut_at: Some(100),
            ..Answer::ok("application/octet-stream", &heap)
        },
        "/slow/debug/pprof/heap" => Answer {
            delay: Duration::from_secs(3),
            ..Answer::ok("application/octet-stream", &heap)
        },
        "/busy/debug/pprof/heap" => Answer {
            status: 503,
            ..Answer::ok("text/plain", b"restarting")
        },
        // A redirect to a public address (TEST-NET-3: never contacted).
        "/moved/debug/pprof/heap" => Answer {
            status: 302,
            location: Some("http://203.0.113.9:6060/debug/pprof/heap".into()),
            ..Answer::ok("text/plain", b"")
        },
        // A redirect inside loopback is followed.
        "/here/debug/pprof/heap" => Answer {
            status: 307,
            location: Some("/debug/pprof/heap".into()),
            ..Answer::ok("text/plain", b"")
        },
        "/debug/pprof/heap" => Answer::ok("application/octet-stream", &heap),
        // A proxy that compresses Go's gzip once more, and says so.
        "/twice/debug/pprof/heap" => Answer {
            encoding: Some("gzip"),
            ..Answer::ok("application/octet-stream", &gzip(&heap))
        },
        "/denied/debug/pprof/heap" => Answer {
            status: 401,
            ..Answer::ok("text/plain", b"who are you")
        },
        _ => Answer {
            status: 404,
            ..Answer::ok("text/plain; charset=utf-8", b"404 page not found\n")
        },
    });
    let opts = FetchOptions {
        timeout: Duration::from_millis(700),
        retries: 2,
        backoff: Duration::from_millis(10),
        ..Default::default()
    };
    let fetch = |prefix: &str| -> (Error, usize) {
        let before = server.hits();
        let s = Service::new(&format!("{}/{prefix}", server.url()), opts.clone()).unwrap();
        let e = s
            .profile(SnapshotKind::Heap, &ProfileQuery::default())
            .unwrap_err();
        (e, server.hits() - before)
    };
    let url = |prefix: &str| format!("{}/{prefix}/debug/pprof/heap", server.url());

    let (e, hits) = fetch("login");
    let msg = e.to_string();
    assert!(msg.starts_with(&url("login")), "{msg}");
    assert!(
        msg.contains("HTML page") && msg.contains("Sign in - corp proxy"),
        "{msg}"
    );
    assert!(msg.contains("text/html"), "{msg}");
    assert_eq!(hits, 1, "an HTML page is not retried");

    let (e, hits) = fetch("nothing");
    let msg = e.to_string();
    assert!(matches!(
        e,
        Error::Fetch {
            error: FetchError::Status { status: 404, .. },
            ..
        }
    ));
    assert!(
        msg.contains("HTTP 404") && msg.contains("404 page not found"),
        "{msg}"
    );
    assert!(msg.contains("net/http/pprof"), "{msg}");
    assert_eq!(hits, 1, "a 404 is not retried");

    let (e, hits) = fetch("moved");
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            Error::Fetch {
                error: FetchError::NotInternal(_),
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("redirect refused: http://203.0.113.9:6060"),
        "{msg}"
    );
    assert_eq!(hits, 1, "a refused redirect is not retried");
    let s = Service::new(&format!("{}/here", server.url()), opts.clone()).unwrap();
    let p = s
        .profile(SnapshotKind::Heap, &ProfileQuery::default())
        .unwrap();
    assert_eq!(p.gzip, fixture_heap());

    let s = Service::new(&format!("{}/twice", server.url()), opts.clone()).unwrap();
    let p = s
        .profile(SnapshotKind::Heap, &ProfileQuery::default())
        .unwrap();
    assert_eq!(p.gzip, fixture_heap());

    let (e, hits) = fetch("denied");
    assert!(e.to_string().contains("--bearer"), "{e}");
    assert_eq!(hits, 1);

    let (e, hits) = fetch("short");
    let msg = e.to_string();
    assert!(msg.contains("truncated or corrupt gzip"), "{msg}");
    assert_eq!(hits, 3, "a truncated body is retried");

    let (e, hits) = fetch("broken");
    assert!(
        matches!(
            e,
            Error::Fetch {
                error: FetchError::Transport(_),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().starts_with(&url("broken")), "{e}");
    assert_eq!(hits, 3);

    let (e, hits) = fetch("busy");
    assert!(e.to_string().contains("HTTP 503"), "{e}");
    assert_eq!(hits, 3);

    let (e, _) = fetch("slow");
    assert!(
        matches!(
            e,
            Error::Fetch {
                error: FetchError::Timeout { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("no complete answer within 0.7 s"),
        "{e}"
    );
}

#[test]
fn size_limit_headers_and_credentials() {
    let heap = fixture_heap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    // A listener that records each request's head and answers a profile.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let rec = Arc::clone(&seen);
    let body = heap.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(3) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            rec.lock().unwrap().push(head);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(resp.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    let base = format!("http://{addr}");
    let with = |auth, max_bytes| FetchOptions {
        headers: vec![("X-Scope-OrgID".into(), "ops".into())],
        auth: Some(auth),
        max_bytes,
        retries: 0,
        ..Default::default()
    };
    let s = Service::new(
        &base,
        with(
            heapframe::live::http::Auth::Bearer("s3cret".into()),
            1 << 20,
        ),
    )
    .unwrap();
    s.profile(SnapshotKind::Heap, &ProfileQuery::default())
        .unwrap();
    let basic = heapframe::live::http::Auth::Basic {
        user: "ops".into(),
        password: Some("pw".into()),
    };
    let s = Service::new(&base, with(basic.clone(), 1 << 20)).unwrap();
    s.profile(SnapshotKind::Heap, &ProfileQuery::default())
        .unwrap();
    let s = Service::new(&base, with(basic, 100)).unwrap();
    let e = s
        .profile(SnapshotKind::Heap, &ProfileQuery::default())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Fetch {
                error: FetchError::TooLarge { limit: 100 },
                ..
            }
        ),
        "{e}"
    );
    let heads = seen.lock().unwrap().join("\n").to_lowercase();
    assert!(heads.contains("authorization: bearer s3cret"), "{heads}");
    // "ops:pw" in base64 is b3BzOnB3 (lower-cased with the rest).
    assert!(heads.contains("authorization: basic b3bzonb3"), "{heads}");
    assert!(heads.contains("x-scope-orgid: ops"), "{heads}");
}

#[test]
fn garbage_and_slow_answers_become_gaps_and_the_run_goes_on() {
    let heap = fixture_heap();
    let metrics =
        b"# TYPE go_goroutines gauge\ngo_goroutines 7\ngo_memstats_heap_inuse_bytes 1000\n";
    // heap: garbage, then slow (beyond the timeout), then good answers.
    let heap_calls = Arc::new(AtomicUsize::new(0));
    let hc = Arc::clone(&heap_calls);
    let server = Scripted::start(move |path, _| match path {
        "/debug/pprof/heap" => match hc.fetch_add(1, Ordering::SeqCst) {
            0 => Answer::ok("application/octet-stream", b"\x1f\x8b\x08\x00garbage"),
            1 => Answer {
                delay: Duration::from_secs(2),
                ..Answer::ok("application/octet-stream", &heap)
            },
            _ => Answer::ok("application/octet-stream", &heap),
        },
        "/metrics" => Answer::ok("text/plain", metrics),
        _ => Answer {
            status: 404,
            ..Answer::ok("text/plain", b"404 page not found\n")
        },
    });
    let out = scratch("garbage");
    let opts = CollectOptions {
        every: Duration::from_millis(300),
        count: 4,
        metrics_every: Duration::from_millis(300),
        kinds: vec![SnapshotKind::Heap, SnapshotKind::GoroutineLeak],
        ..Default::default()
    };
    let fetch = FetchOptions {
        timeout: Duration::from_millis(500),
        retries: 0,
        ..Default::default()
    };
    let r = Collector::new(Service::new(&server.url(), fetch).unwrap(), &out, opts)
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(r.heap_ticks, 4);
    assert_eq!(r.heap_snapshots, 2, "{:?}", r.gaps);
    let heap_gaps: Vec<_> = r.gaps.iter().filter(|g| g.what == "heap").collect();
    assert_eq!(heap_gaps.len(), 2, "{:?}", r.gaps);
    assert!(
        heap_gaps[0].error.contains("corrupt gzip"),
        "{}",
        heap_gaps[0].error
    );
    assert!(
        heap_gaps[1].error.contains("no complete answer"),
        "{}",
        heap_gaps[1].error
    );
    assert!(
        heap_gaps
            .iter()
            .all(|g| g.error.contains("/debug/pprof/heap"))
    );
    // goroutineleak answered 404: dropped for the run with a note, no gap.
    assert!(r.notes.iter().any(|n| n.contains("goroutineleak")));
    assert!(r.gaps.iter().all(|g| g.what != "goroutineleak"));
    // The gap log on disk says the same.
    let logged = gaps(&out);
    assert_eq!(logged.len(), r.gaps.len());
    assert_eq!(logged[0]["what"], "heap");
    assert_eq!(logged[0]["stage"], "fetch");
    // The same profile twice: two files, neither overwritten.
    let heaps = complete_files(&out.join("heap"));
    assert_eq!(heaps.len(), 2);
    for f in &heaps {
        assert_eq!(std::fs::read(f).unwrap(), fixture_heap());
    }
    assert_eq!(Bundle::open(&out).unwrap().heap.len(), 2);
}

#[test]
fn service_restart_mid_collection_is_survived_and_nothing_is_lost() {
    let Some(bin) = leakysvc() else { return };
    let svc = Svc::start(&bin, "127.0.0.1:0", "mapcache", 200);
    let addr = svc.addr.clone();
    let tmp = scratch("restart");
    let out = tmp.join("b");
    let collector = heapframe()
        .args(["collect", &svc.url(), "--every", "300ms", "--count", "14"])
        .args([
            "--metrics-every",
            "300ms",
            "--retries",
            "0",
            "--timeout",
            "2s",
        ])
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let heap_dir = out.join("heap");
    wait_for("two heap snapshots", Duration::from_secs(30), || {
        files(&heap_dir)
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "gz"))
            .count()
            >= 2
    });
    drop(svc); // the service goes away
    let before_restart = snapshot_of(&out);
    wait_for(
        "a gap while the service is down",
        Duration::from_secs(30),
        || gaps(&out).iter().any(|g| g["what"] == "heap"),
    );
    let svc2 = Svc::start(&bin, &addr, "mapcache", 200);
    let (st, stdout, stderr) = finish(collector, Duration::from_secs(60));
    assert!(st.success(), "{stdout}\n{stderr}");
    drop(svc2);
    // Everything written before the restart is still there, unchanged.
    for (path, bytes) in &before_restart {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    let g = gaps(&out);
    assert!(
        g.iter().any(|g| {
            let msg = g["error"].as_str().unwrap();
            g["what"] == "heap" && msg.contains(&addr) && msg.contains("cannot connect")
        }),
        "{g:?}"
    );
    let b = Bundle::open(&out).unwrap();
    assert!(
        b.heap.len()
            > before_restart
                .iter()
                .filter(|(p, _)| p.starts_with(&heap_dir))
                .count()
    );
    assert!(stdout.contains("gaps"), "{stdout}");
    no_temporaries(&out);
}

#[test]
fn ctrl_c_leaves_a_valid_bundle_and_a_restart_appends() {
    let Some(bin) = leakysvc() else { return };
    let svc = Svc::start(&bin, "127.0.0.1:0", "mapcache", 200);
    let tmp = scratch("ctrlc");
    let out = tmp.join("b");
    let run = |count: &str| {
        heapframe()
            .args(["collect", &svc.url(), "--every", "200ms", "--count", count])
            .args(["--metrics-every", "100ms"])
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Until stopped: interrupt once three heap snapshots are in.
    let child = run("0");
    wait_for("three heap snapshots", Duration::from_secs(30), || {
        complete_files(&out.join("heap")).len() >= 3
    });
    let (st, stdout, stderr) = interrupt(child);
    assert!(st.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("stopped early"), "{stdout}");
    assert!(
        stderr.contains("stopping after the current capture"),
        "{stderr}"
    );
    no_temporaries(&out);
    let first = Bundle::open(&out).unwrap();
    let first_files = snapshot_of(&out);
    assert!(first.heap.len() >= 3);

    // A second run appends; nothing of the first is replaced.
    let (st, stdout, stderr) = finish(run("2"), Duration::from_secs(30));
    assert!(st.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("appending to a bundle"), "{stderr}");
    for (path, bytes) in &first_files {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    let both = Bundle::open(&out).unwrap();
    assert_eq!(both.heap.len(), first.heap.len() + 2);
    assert!(both.heap.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
}

fn is_root() -> bool {
    let uid = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&uid.stdout).trim() == "0"
}

/// Runs the collector as an unprivileged user when the tests run as root,
/// so that permission bits apply (root writes into read-only folders).
/// The binary is copied to `dir`, because the unprivileged user may not be
/// able to reach the build folder (a clone under /root).
fn unprivileged_heapframe(dir: &Path) -> Command {
    if !is_root() {
        return heapframe();
    }
    let copy = dir.join("heapframe");
    if !copy.exists() {
        std::fs::copy(env!("CARGO_BIN_EXE_heapframe"), &copy).unwrap();
    }
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(copy);
    c
}

#[test]
fn read_only_bundle_folder_is_reported_before_and_during_a_run() {
    use std::os::unix::fs::PermissionsExt;
    let Some(bin) = leakysvc() else { return };
    if is_root() && tool("setpriv").is_none() {
        return;
    }
    let svc = Svc::start(&bin, "127.0.0.1:0", "mapcache", 200);
    // Under the system's temporary folder (world-passable), not the build
    // folder: the unprivileged user must reach it.
    let root =
        Scratch(std::env::temp_dir().join(format!("heapframe-live-ro-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&root.0);
    std::fs::create_dir_all(&root.0).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();

    // Read-only from the start: refused before fetching, exit 2, one line.
    let ro = root.join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = unprivileged_heapframe(&root)
        .args(["collect", &svc.url(), "--count", "1", "--out"])
        .arg(ro.join("b"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nothing was fetched") && err.contains("ro/b"),
        "{err}"
    );

    // Read-only mid-run: captures that cannot be written are gaps, the run
    // goes on, and writing resumes when the folder is writable again.
    let rw = root.join("rw");
    std::fs::create_dir(&rw).unwrap();
    if is_root() {
        std::os::unix::fs::chown(&rw, Some(65534), Some(65534)).unwrap();
    }
    let b = rw.join("b");
    // Bounded: twelve captures 300 ms apart, even if an assertion fails.
    let child = unprivileged_heapframe(&root)
        .args(["collect", &svc.url(), "--every", "300ms", "--count", "12"])
        .args(["--metrics", "off", "--heap-only", "--out"])
        .arg(&b)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let heap = b.join("heap");
    wait_for("a heap snapshot", Duration::from_secs(30), || {
        complete_files(&heap).len() >= 2
    });
    std::fs::set_permissions(&heap, std::fs::Permissions::from_mode(0o555)).unwrap();
    let written = complete_files(&heap);
    wait_for("a write gap", Duration::from_secs(30), || {
        gaps(&b).iter().any(|g| g["stage"] == "write")
    });
    std::fs::set_permissions(&heap, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (st, stdout, stderr) = finish(child, Duration::from_secs(60));
    assert!(st.success(), "{stdout}\n{stderr}");
    let g = gaps(&b);
    let w = g.iter().find(|g| g["stage"] == "write").unwrap();
    let msg = w["error"].as_str().unwrap();
    assert!(
        msg.contains("heap") && msg.contains("ermission denied"),
        "{msg}"
    );
    for f in &written {
        assert!(f.exists());
    }
    let after = complete_files(&heap);
    assert!(after.len() > written.len(), "writing resumed");
    no_temporaries(&b);
    assert!(Bundle::open(&b).unwrap().heap.len() == after.len());
}

#[test]
fn public_target_is_refused_by_the_cli_before_any_connection() {
    let out = scratch("public");
    // 203.0.113.7 (TEST-NET-3, documentation range) is never contacted:
    // the refusal comes from the address check, before a client exists.
    let r = heapframe()
        .args([
            "collect",
            "http://203.0.113.7:6060",
            "--every",
            "1s",
            "--count",
            "1",
            "--out",
        ])
        .arg(out.join("b"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refused") && err.contains("203.0.113.7") && err.contains("--allow-public"),
        "{err}"
    );
    assert!(
        !out.join("b").exists(),
        "nothing is created for a refused target"
    );
    let r = heapframe()
        .args([
            "import-prometheus",
            "http://198.51.100.1:9090",
            "--selector",
            "job=\"x\"",
            "--out",
        ])
        .arg(out.join("c"))
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("refused"));
}

// ------------------------------------------------------- Prometheus server

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How long a scenario runs before `collect` starts.
enum Settle {
    For(Duration),
    /// Until the service's cache holds this many entries.
    CacheFull(u64),
}

/// The service's `cache_entries` (expvar), if it answers.
fn cache_entries(addr: &str) -> Option<u64> {
    let text = http_get(addr, "/debug/vars")?;
    let body = &text[text.find("\r\n\r\n")? + 4..];
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get("cache_entries")?.as_u64()
}

fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(text)
}

#[test]
fn prometheus_range_query_against_a_real_server() {
    let Some(bin) = leakysvc() else { return };
    let Some(prom) = tool("prometheus") else {
        return;
    };
    let svc = Svc::start(&bin, "127.0.0.1:0", "mapcache", 200);
    let dir = scratch("prometheus");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: leaky\n    scrape_interval: 1s\n    \
             static_configs:\n      - targets: ['{}']\n",
            svc.addr
        ),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Command::new(prom)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={listen}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("prometheus.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let _server = Reaper(server);
    wait_for("Prometheus to be ready", Duration::from_secs(60), || {
        http_get(&listen, "/-/ready")
            .is_some_and(|r| r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200"))
    });
    let base = format!("http://{listen}");
    let prom = heapframe::live::prometheus::Server::new(&base, fast()).unwrap();
    let q = |end_ms: i64| heapframe::live::prometheus::HistoryQuery {
        selector: "job=\"leaky\"".into(),
        start_ms: end_ms - 120_000,
        end_ms,
        step: Duration::from_secs(1),
        ..Default::default()
    };
    wait_for(
        "four scrapes in Prometheus",
        Duration::from_secs(60),
        || {
            prom.history(&q(heapframe::live::http::now_ms()))
                .is_ok_and(|h| h.series.points(names::HEAP_INUSE).len() >= 4)
        },
    );
    let h = prom.history(&q(heapframe::live::http::now_ms())).unwrap();
    for name in [
        names::RSS,
        names::HEAP_INUSE,
        names::HEAP_OBJECTS,
        names::GOROUTINES,
        names::GC_COUNT,
        names::SYS,
        names::STACK_INUSE,
        names::HEAP_IDLE,
        names::HEAP_RELEASED,
        names::PROCESS_START,
    ] {
        let p = h.series.points(name);
        assert!(p.len() >= 3, "{name}: {p:?}");
        assert!(p.iter().all(|x| x.1 >= 0.0));
    }
    let s = h
        .series
        .samples
        .iter()
        .find(|s| s.metric == names::HEAP_INUSE)
        .unwrap();
    assert!(
        s.labels.contains(&("job".to_string(), "leaky".to_string())),
        "{:?}",
        s.labels
    );
    assert_eq!(h.step, Duration::from_secs(1));
    // Requests counted by the service, one series per handler.
    assert!(
        h.queries
            .iter()
            .any(|(q, n)| q.starts_with("http_requests_total") && *n >= 1)
    );
    // 30 days at the 1 s step asked for is 2.6 million points: this server
    // refuses that as such, and accepts the query with the widened step.
    let now = heapframe::live::http::now_ms();
    let month_ms = 30 * 86_400_000;
    let raw = http_get(
        &listen,
        &format!(
            "/api/v1/query_range?query=go_goroutines&start={}&end={}&step=1",
            (now - month_ms) / 1000,
            now / 1000
        ),
    )
    .unwrap();
    assert!(raw.contains("11,000 points"), "{raw}");
    prom.query_range(
        "go_goroutines{job=\"leaky\"}",
        "go_goroutines",
        now - month_ms,
        now,
        Duration::from_secs(1),
    )
    .unwrap();
    // A query Prometheus rejects comes back with its message.
    let e = prom
        .query_range("rate(", "x", 0, 60_000, Duration::from_secs(1))
        .unwrap_err();
    assert!(
        e.to_string().contains("HTTP 400") && e.to_string().contains("parse error"),
        "{e}"
    );

    // The CLI writes the history into a bundle that `verdict` reads.
    let bundle = dir.join("incident");
    let out = heapframe()
        .args([
            "import-prometheus",
            &base,
            "--selector",
            "job=\"leaky\"",
            "--since",
            "5m",
            "--step",
            "1s",
            "--out",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("at a 1 s step"), "{text}");
    let csvs = files(&bundle.join("metrics"));
    assert_eq!(csvs.len(), 1);
    let b = Bundle::open(&bundle).unwrap();
    assert!(b.metrics.points(names::HEAP_OBJECTS).len() >= 3);
    let v = heapframe().arg("verdict").arg(&bundle).output().unwrap();
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("verdict: "));
}

// ------------------------------------------ hostile networks and targets

/// Counts the connections a listener on loopback receives, answering none.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let n = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&n);
    std::thread::spawn(move || {
        for s in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(s);
        }
    });
    (addr, n)
}

fn redirect_to(location: &str) -> Answer {
    Answer {
        status: 302,
        location: Some(location.into()),
        ..Answer::ok("text/plain", b"")
    }
}

#[test]
fn redirects_to_cloud_metadata_and_link_local_are_refused_before_connecting() {
    // Each redirect target is refused by the address check: nothing is
    // ever sent to it (the test asserts the refusal, which comes before a
    // connection is attempted; a connection attempt would end in another
    // error).
    let server = Scripted::start(|path, _| match path {
        "/aws/debug/pprof/heap" => {
            redirect_to("http://169.254.169.254/latest/meta-data/iam/security-credentials/")
        }
        "/ecs/debug/pprof/heap" => redirect_to("http://169.254.170.2/v2/credentials/x"),
        "/v6/debug/pprof/heap" => redirect_to("http://[fd00:ec2::254]/latest/meta-data/"),
        "/mapped/debug/pprof/heap" => redirect_to("http://[::ffff:169.254.169.254]/"),
        "/octal/debug/pprof/heap" => redirect_to("http://0251.0376.0251.0376/latest/"),
        "/gcp/debug/pprof/heap" => {
            redirect_to("http://metadata.google.internal/computeMetadata/v1/")
        }
        "/alibaba/debug/pprof/heap" => redirect_to("http://100.100.100.200/latest/meta-data/"),
        "/linklocal/debug/pprof/heap" => redirect_to("http://169.254.10.20:6060/debug/pprof/heap"),
        "/linklocal6/debug/pprof/heap" => redirect_to("http://[fe80::1]:6060/debug/pprof/heap"),
        _ => Answer {
            status: 404,
            ..Answer::ok("text/plain", b"404 page not found\n")
        },
    });
    let opts = FetchOptions {
        connect_timeout: Duration::from_millis(300),
        timeout: Duration::from_secs(2),
        retries: 0,
        ..Default::default()
    };
    for (prefix, shown) in [
        ("aws", "169.254.169.254"),
        ("ecs", "169.254.170.2"),
        ("v6", "fd00:ec2::254"),
        ("mapped", "169.254.169.254"),
        ("octal", "169.254.169.254"),
        ("gcp", "metadata.google.internal"),
        ("alibaba", "100.100.100.200"),
        ("linklocal", "169.254.10.20"),
        ("linklocal6", "fe80::1"),
    ] {
        let before = server.hits();
        let s = Service::new(&format!("{}/{prefix}", server.url()), opts.clone()).unwrap();
        let e = s
            .profile(SnapshotKind::Heap, &ProfileQuery::default())
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(
                e,
                Error::Fetch {
                    error: FetchError::NotInternal(_),
                    ..
                }
            ),
            "{prefix}: {msg}"
        );
        assert!(
            msg.contains("redirect refused") && msg.contains(shown),
            "{prefix}: {msg}"
        );
        assert_eq!(server.hits() - before, 1, "{prefix}: one request, no retry");
    }
}

#[test]
fn metadata_and_link_local_targets_are_refused_even_with_allow_public() {
    let out = scratch("metadata");
    for target in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]:6060",
        "http://metadata.google.internal",
        "http://[fd00:ec2::254]",
    ] {
        let r = heapframe()
            .args(["collect", target, "--count", "1", "--allow-public"])
            .args(["--timeout", "1s", "--retries", "0", "--out"])
            .arg(out.join("b"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{target}: {err}");
        assert!(err.contains("refused"), "{target}: {err}");
        assert!(!out.join("b").exists(), "{target}: nothing is created");
    }
}

#[test]
fn failed_fetch_bodies_are_quoted_short_and_sanitised() {
    const KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY0";
    let secret_json = format!(
        "{{\"Code\":\"Success\",\"AccessKeyId\":\"ASIA5EXAMPLE7KEYID42\",\"SecretAccessKey\":\"{KEY}\",\"Token\":\"{}\"}}",
        "IQoJb3JpZ2luX2VjEXAMPLE".repeat(40)
    );
    let body = secret_json.clone().into_bytes();
    let server = Scripted::start(move |path, _| match path {
        "/debug/pprof/heap" => Answer {
            status: 500,
            ..Answer::ok("application/json", &body)
        },
        "/metrics" => Answer::ok("text/plain", &body),
        _ => Answer {
            status: 404,
            ..Answer::ok("text/plain", b"404 page not found\n")
        },
    });
    let out = scratch("sanitised");
    let opts = CollectOptions {
        every: Duration::from_millis(100),
        count: 1,
        kinds: vec![SnapshotKind::Heap],
        ..Default::default()
    };
    let r = Collector::new(Service::new(&server.url(), fast()).unwrap(), &out, opts)
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(r.gaps.len(), 2, "{:?}", r.gaps);
    let log = std::fs::read_to_string(out.join("gaps.jsonl")).unwrap();
    for secret in [KEY, "ASIA5EXAMPLE7KEYID42", "IQoJb3JpZ2luX2VjEXAMPLE"] {
        assert!(!log.contains(secret), "{secret} in {log}");
    }
    for g in &r.gaps {
        // Still says what came back, in a few words.
        assert!(g.error.contains("AccessKeyId"), "{}", g.error);
        assert!(g.error.len() < 600, "{} bytes: {}", g.error.len(), g.error);
    }
}

/// A PID no process can have (above Linux's largest pid_max).
const DEAD_PID: u32 = 999_999_999;

#[test]
fn a_refused_collect_removes_and_creates_nothing() {
    let tmp = scratch("refused");
    let (addr, _) = counting_listener();
    let foreign = [".draft.tmp-999999999", ".1.pb.gz.tmp-999999999"];
    let ours = format!(".1.pb.gz.heapframe-tmp-{DEAD_PID}-00ff");
    for (name, manifest) in [
        (
            "other",
            r#"{"target": "http://127.0.0.1:7777"}"#.to_string(),
        ),
        ("broken", "{not json".to_string()),
    ] {
        let dir = tmp.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("manifest.json"), &manifest).unwrap();
        for f in foreign.iter().map(|s| s.to_string()).chain([ours.clone()]) {
            std::fs::write(dir.join(f), b"keep me").unwrap();
        }
        let before = files(&dir);
        let r = heapframe()
            .args([
                "collect",
                &format!("http://{addr}"),
                "--count",
                "1",
                "--out",
            ])
            .arg(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{name}: {err}");
        assert_eq!(files(&dir), before, "{name}: the folder is untouched");
        assert_eq!(
            std::fs::read_to_string(dir.join("manifest.json")).unwrap(),
            manifest
        );
    }
}

#[test]
fn only_heapframe_temporaries_of_dead_runs_are_removed() {
    let heap = fixture_heap();
    let server = Scripted::start(move |path, _| match path {
        "/debug/pprof/heap" => Answer::ok("application/octet-stream", &heap),
        _ => Answer {
            status: 404,
            ..Answer::ok("text/plain", b"404 page not found\n")
        },
    });
    let out = scratch("temporaries");
    std::fs::create_dir_all(out.join("heap")).unwrap();
    std::fs::write(
        out.join("manifest.json"),
        format!(r#"{{"target": "{}"}}"#, server.url()),
    )
    .unwrap();
    let foreign = [".draft.tmp-999999999", ".notes.swp", "notes.tmp-1"];
    for f in foreign {
        std::fs::write(out.join(f), b"not heapframe's").unwrap();
        std::fs::write(out.join("heap").join(f), b"not heapframe's").unwrap();
    }
    let dead = format!(".1.pb.gz.heapframe-tmp-{DEAD_PID}-00ff");
    // A run that is still going (this test process) keeps its temporary.
    let alive = format!(".2.pb.gz.heapframe-tmp-{}-00ff", std::process::id());
    for f in [&dead, &alive] {
        std::fs::write(out.join("heap").join(f), b"partial").unwrap();
    }
    let opts = CollectOptions {
        every: Duration::from_millis(100),
        count: 1,
        kinds: vec![SnapshotKind::Heap],
        metrics: MetricsSource::Off,
        ..Default::default()
    };
    let r = Collector::new(Service::new(&server.url(), fast()).unwrap(), &*out, opts)
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(r.heap_snapshots, 1, "{:?}", r.gaps);
    for f in foreign {
        assert!(out.join(f).exists(), "{f} was removed");
        assert!(out.join("heap").join(f).exists(), "heap/{f} was removed");
    }
    assert!(!out.join("heap").join(&dead).exists());
    assert!(out.join("heap").join(&alive).exists());
}

#[test]
fn gaps_history_is_appended_never_rewritten() {
    let out = scratch("gaps-history");
    // Port 1 on loopback: nothing listens, every fetch is a gap.
    let target = "http://127.0.0.1:1";
    std::fs::write(
        out.join("manifest.json"),
        format!(r#"{{"target": "{target}"}}"#),
    )
    .unwrap();
    let mut history = Vec::new();
    history.extend_from_slice(br#"{"time_ms":1,"what":"heap","stage":"fetch","error":"first"}"#);
    history.extend_from_slice(b"\n{\"time_ms\":2,\"what\":\"heap\",\"error\":\"caf\xe9\"}\n");
    history.extend_from_slice(br#"{"time_ms":3,"what":"heap","stage":"fetch","error":"third"}"#);
    history.push(b'\n');
    // The last line was cut short by a crash: no newline.
    history.extend_from_slice(br#"{"time_ms":4,"wha"#);
    std::fs::write(out.join("gaps.jsonl"), &history).unwrap();
    let opts = CollectOptions {
        every: Duration::from_millis(100),
        count: 2,
        kinds: vec![SnapshotKind::Heap],
        metrics: MetricsSource::Off,
        ..Default::default()
    };
    let r = Collector::new(Service::new(target, fast()).unwrap(), &*out, opts)
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(r.gaps.len(), 2);
    let now = std::fs::read(out.join("gaps.jsonl")).unwrap();
    assert!(now.starts_with(&history), "history was rewritten");
    let added = String::from_utf8(now[history.len()..].to_vec()).unwrap();
    // The cut line stays alone on its line; each new gap is one line.
    assert!(added.starts_with('\n'), "{added:?}");
    let lines: Vec<&str> = added.trim_start_matches('\n').lines().collect();
    assert_eq!(lines.len(), 2, "{added:?}");
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["what"], "heap");
    }
    // The reader keeps every gap it can read and names the lines it cannot.
    let log = heapframe::live::collect::read_gaps(&out.join("gaps.jsonl")).unwrap();
    assert_eq!(log.gaps.len(), 4, "{:?}", log.unreadable);
    assert_eq!(log.gaps[0].error, "first");
    assert_eq!(log.gaps[1].error, "third");
    assert_eq!(log.unreadable.len(), 2, "{:?}", log.unreadable);
    for (note, line) in log.unreadable.iter().zip([2, 4]) {
        assert!(note.contains(&format!("gaps.jsonl:{line}: ")), "{note}");
    }
}

/// A loopback server that records each request's head and answers a heap
/// profile (404 for anything else).
fn recording_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let rec = Arc::clone(&seen);
    let heap = fixture_heap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            let heap_asked = head.starts_with("GET /debug/pprof/heap ");
            rec.lock().unwrap().push(head);
            let (status, body): (&str, &[u8]) = if heap_asked {
                ("200 OK", &heap)
            } else {
                ("404 Not Found", b"404 page not found\n")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    (format!("http://{addr}"), seen)
}

#[test]
fn credentials_from_files_and_the_environment_reach_only_the_server() {
    let tmp = scratch("credential-files");
    let bearer = tmp.join("bearer");
    std::fs::write(&bearer, "b3arer-t0ken\n").unwrap();
    let basic = tmp.join("basic");
    std::fs::write(&basic, "ops:p4ssw0rd\n").unwrap();
    let (url, seen) = recording_server();
    // Base64 of "ops:p4ssw0rd" and of "env:s3cret".
    let cases = [
        (
            "file-bearer",
            Some(("--bearer-file", &bearer)),
            None,
            "bearer b3arer-t0ken",
            "b3arer-t0ken",
        ),
        (
            "file-basic",
            Some(("--basic-file", &basic)),
            None,
            "basic b3bzona0c3n3mhjk",
            "p4ssw0rd",
        ),
        (
            "env-bearer",
            None,
            Some(("HEAPFRAME_BEARER", "3nv-t0ken")),
            "bearer 3nv-t0ken",
            "3nv-t0ken",
        ),
        (
            "env-basic",
            None,
            Some(("HEAPFRAME_BASIC", "env:s3cret")),
            "basic zw52onmzy3jlda==",
            "s3cret",
        ),
    ];
    for (name, flag, env, header, secret) in cases {
        let out = tmp.join(name);
        let mut cmd = heapframe();
        cmd.args([
            "collect",
            &url,
            "--count",
            "1",
            "--heap-only",
            "--metrics",
            "off",
        ])
        .env_remove("HEAPFRAME_BEARER")
        .env_remove("HEAPFRAME_BASIC");
        if let Some((option, file)) = flag {
            cmd.arg(option).arg(file);
        }
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let before = seen.lock().unwrap().len();
        let r = cmd.arg("--out").arg(&out).output().unwrap();
        let stdout = String::from_utf8_lossy(&r.stdout);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(r.status.success(), "{name}: {stdout}{stderr}");
        let heads = seen.lock().unwrap()[before..].join("\n").to_lowercase();
        assert!(
            heads.contains(&format!("authorization: {header}")),
            "{name}: {heads}"
        );
        let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
        for text in [&manifest, &stdout.to_string(), &stderr.to_string()] {
            assert!(!text.contains(secret), "{name}: {text}");
        }
    }
    // Given twice (in the URL and from a file): refused, secret not shown.
    let with_user = url.replace("http://", "http://ops:urlp4ss@");
    let r = heapframe()
        .args(["collect", &with_user, "--count", "1", "--bearer-file"])
        .arg(&bearer)
        .arg("--out")
        .arg(tmp.join("twice"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("both in the URL") && !err.contains("urlp4ss"),
        "{err}"
    );
    // An empty or missing file is named, and nothing is sent.
    std::fs::write(tmp.join("empty"), "\n").unwrap();
    let before = seen.lock().unwrap().len();
    for f in ["empty", "missing"] {
        let r = heapframe()
            .args(["collect", &url, "--count", "1", "--basic-file"])
            .arg(tmp.join(f))
            .arg("--out")
            .arg(tmp.join("none"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{err}");
        assert!(err.contains(f), "{err}");
    }
    assert_eq!(seen.lock().unwrap().len(), before);
}

#[test]
fn credentials_in_the_url_are_never_written_or_printed() {
    let tmp = scratch("url-credentials");
    let out = tmp.join("b");
    let r = heapframe()
        .args([
            "collect",
            "http://ops:s3cretpw@127.0.0.1:1/?token=t0psecret",
            "--count",
            "1",
            "--every",
            "100ms",
            "--retries",
            "0",
            "--heap-only",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&r.stdout);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{stdout}{stderr}");
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    let gaps = std::fs::read_to_string(out.join("gaps.jsonl")).unwrap();
    assert!(gaps.contains("127.0.0.1:1"), "{gaps}");
    for (what, text) in [
        ("manifest.json", &manifest),
        ("gaps.jsonl", &gaps),
        ("stdout", &stdout.to_string()),
        ("stderr", &stderr.to_string()),
    ] {
        for secret in ["s3cretpw", "t0psecret"] {
            assert!(!text.contains(secret), "{secret} in {what}: {text}");
        }
    }
}

#[test]
fn checklist_and_collect_read_a_target_the_same_way() {
    use heapframe::evidence::checklist::{Status, internal_target};
    // Spellings of 127.0.0.1 that URL parsers accept.
    for url in [
        "http://0x7f.1:6060",
        "http://2130706433:6060",
        "http://0177.0.0.1:6060",
        "http://127.1:6060",
    ] {
        let svc = Service::new(url, FetchOptions::default()).unwrap();
        assert_eq!(svc.base().to_string(), "http://127.0.0.1:6060", "{url}");
        let (status, detail) = internal_target(url);
        assert_eq!(status, Status::Passed, "{url}: {detail}");
        assert!(detail.contains("127.0.0.1"), "{url}: {detail}");
    }
    for url in ["file:///etc/passwd", "http://", "http://[::1"] {
        assert!(Service::new(url, FetchOptions::default()).is_err(), "{url}");
        let (status, detail) = internal_target(url);
        assert_ne!(status, Status::Passed, "{url}: {detail}");
        assert!(!detail.contains("\"\""), "{url}: {detail}");
    }
    for url in ["http://169.254.169.254", "http://metadata.google.internal"] {
        assert!(Service::new(url, FetchOptions::default()).is_err(), "{url}");
        assert_eq!(internal_target(url).0, Status::Failed, "{url}");
    }
}

// ------------------- whatever collect writes, every command reads

/// Names no one should give a function, a file, a label or a service, but
/// a hostile or broken service may: markup, quotes, line breaks, terminal
/// escapes, bidi overrides, NUL, CSV formulas, huge and empty names, and
/// (where the format allows bytes) invalid UTF-8.
const HOSTILE: &[&[u8]] = &[
    b"<script>alert(1)</script>",
    b"\"quoted\" 'single' `tick`",
    b"a&amp;b&lt;c&#x3c;",
    b"line\nbreak\r\nthird",
    b"tab\there",
    b"\x1b[31mred\x1b[0m\x1b]0;title\x07",
    "\u{202e}evil\u{202c}".as_bytes(),
    "émoji 🔥 中文 \u{feff}".as_bytes(),
    b"nul\x00byte",
    b"=cmd|' /C calc'!A0,;|\"csv\"",
    b"]]><!-- --> <![CDATA[",
    b"{{template}} ${x} %s %n \\backslash\\",
    b"../../etc/passwd",
    b"",
    b"   ",
    b"main.(*T).Method-fm",
    b"\xff\xfe not utf-8 \xc3",
];

/// Hostile names drawn from a seeded [`Rng`].
trait HostileName {
    fn name(&mut self, utf8_only: bool) -> Vec<u8>;
}

impl HostileName for Rng {
    /// One to three hostile fragments, sometimes a very long name.
    fn name(&mut self, utf8_only: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..1 + self.below(3) {
            let f = HOSTILE[self.below(HOSTILE.len())];
            if utf8_only && std::str::from_utf8(f).is_err() {
                continue;
            }
            out.extend_from_slice(f);
        }
        if self.below(8) == 0 {
            out.extend(std::iter::repeat_n(b'x', 3000));
        }
        out
    }
}

/// What the hostile service answers: profiles whose every string is
/// hostile and whose values grow with each request, and metrics whose
/// label values and help texts are.
struct HostileService {
    names: Vec<Vec<u8>>,
    text_names: Vec<String>,
    stacks: Vec<Vec<u64>>,
}

impl HostileService {
    fn new(seed: u64) -> HostileService {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let names: Vec<Vec<u8>> = (0..12).map(|_| rng.name(false)).collect();
        let text_names = (0..4)
            .map(|_| String::from_utf8(rng.name(true)).unwrap())
            .collect();
        let stacks = (0..8)
            .map(|_| {
                (0..1 + rng.below(4))
                    .map(|_| 1 + rng.below(6) as u64)
                    .collect()
            })
            .collect();
        HostileService {
            names,
            text_names,
            stacks,
        }
    }

    fn profile(&self, kind: &str, n: usize) -> Vec<u8> {
        use heapframe::pprof::proto;
        let mut strings: Vec<Vec<u8>> = vec![b"".to_vec()];
        let mut s = |text: &[u8]| {
            strings.push(text.to_vec());
            strings.len() as i64 - 1
        };
        let (types, default): (Vec<(&str, &str)>, &str) = match kind {
            "goroutine" => (vec![("goroutine", "count")], ""),
            _ => (
                vec![
                    ("alloc_objects", "count"),
                    ("alloc_space", "bytes"),
                    ("inuse_objects", "count"),
                    ("inuse_space", "bytes"),
                ],
                if kind == "allocs" { "alloc_space" } else { "" },
            ),
        };
        let sample_type = types
            .iter()
            .map(|(t, u)| proto::ValueType {
                r#type: s(t.as_bytes()),
                unit: s(u.as_bytes()),
            })
            .collect();
        let default_sample_type = if default.is_empty() {
            0
        } else {
            s(default.as_bytes())
        };
        // Six functions named and filed by hostile strings; a location each.
        let function = (0..6)
            .map(|i| proto::Function {
                id: i as u64 + 1,
                name: s(&self.names[i]),
                system_name: s(&self.names[i]),
                filename: s(&self.names[i + 6]),
                start_line: 1,
            })
            .collect();
        let location = (1..=6)
            .map(|id| proto::Location {
                id,
                mapping_id: 1,
                address: 0x1000 * id,
                line: vec![proto::Line {
                    function_id: id,
                    line: id as i64 * 7,
                    column: 0,
                }],
                ..Default::default()
            })
            .collect();
        let key = s(&self.names[0]);
        let sample = self
            .stacks
            .iter()
            .enumerate()
            .map(|(i, stack)| {
                let v = (i as i64 + 1) * 4096 * (n as i64 + 1);
                proto::Sample {
                    location_id: stack.clone(),
                    value: if types.len() == 1 {
                        vec![i as i64 + n as i64 + 1]
                    } else {
                        vec![v / 64, v, v / 128, v / 2]
                    },
                    label: vec![proto::Label {
                        key,
                        str: s(&self.names[i % self.names.len()]),
                        ..Default::default()
                    }],
                }
            })
            .collect();
        let mapping = vec![proto::Mapping {
            id: 1,
            memory_start: 0x1000,
            memory_limit: 0x100000,
            filename: s(&self.names[11]),
            ..Default::default()
        }];
        let p = proto::Profile {
            sample_type,
            sample,
            mapping,
            location,
            function,
            string_table: strings,
            time_nanos: heapframe::live::now_ms() * 1_000_000,
            default_sample_type,
            ..Default::default()
        };
        heapframe::pprof::encode_gzip(&p)
    }

    fn metrics(&self, n: usize) -> Vec<u8> {
        let label = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let help = |s: &str| s.replace('\\', "\\\\").replace('\n', "\\n");
        let mut text = String::new();
        for (i, (metric, value)) in [
            (names::HEAP_INUSE, 1e6 * (n + 1) as f64),
            (names::HEAP_OBJECTS, 1e4 * (n + 1) as f64),
            (names::RSS, 2e6 * (n + 1) as f64),
            (names::GOROUTINES, 10.0),
            (names::GC_COUNT, n as f64),
            (names::REQUESTS, 100.0 * n as f64),
        ]
        .into_iter()
        .enumerate()
        {
            let t = &self.text_names[i % self.text_names.len()];
            text.push_str(&format!("# HELP {metric} {}\n", help(t)));
            text.push_str(&format!(
                "{metric}{{svc=\"{}\",other=\"{}\"}} {value}\n",
                label(t),
                label(&self.text_names[(i + 1) % self.text_names.len()])
            ));
        }
        text.into_bytes()
    }
}

#[test]
fn whatever_collect_writes_every_command_reads() {
    let tmp = scratch("every-command-reads");
    for seed in 1..=4u64 {
        let svc = Arc::new(HostileService::new(seed));
        let requests = Arc::new(AtomicUsize::new(0));
        let (s, r) = (Arc::clone(&svc), Arc::clone(&requests));
        let server = Scripted::start(move |path, _| {
            let n = r.fetch_add(1, Ordering::SeqCst);
            match path {
                "/debug/pprof/heap" => {
                    Answer::ok("application/octet-stream", &s.profile("heap", n))
                }
                "/debug/pprof/allocs" => {
                    Answer::ok("application/octet-stream", &s.profile("allocs", n))
                }
                "/debug/pprof/goroutine" => {
                    Answer::ok("application/octet-stream", &s.profile("goroutine", n))
                }
                "/metrics" => Answer::ok("text/plain; version=0.0.4", &s.metrics(n)),
                _ => Answer {
                    status: 404,
                    ..Answer::ok("text/plain", b"404 page not found\n")
                },
            }
        });
        let out = tmp.join(format!("case-{seed}"));
        let service = svc.text_names[0].replace('\0', "");
        let run = |args: &[&str]| {
            let r = heapframe().args(args).output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&r.stdout),
                String::from_utf8_lossy(&r.stderr)
            );
            assert!(
                r.status.success(),
                "seed {seed}: heapframe {args:?}:\n{text}"
            );
            text
        };
        let dir = out.to_str().unwrap();
        let said = run(&[
            "collect",
            &server.url(),
            "--every",
            "150ms",
            "--count",
            "4",
            "--metrics-every",
            "100ms",
            "--service",
            &service,
            "--quiet",
            "--out",
            dir,
        ]);
        assert!(
            said.contains("4 heap snapshots written"),
            "seed {seed}: {said}"
        );
        let heaps = complete_files(&out.join("heap"));
        let (first, last) = (
            heaps[0].to_str().unwrap(),
            heaps[heaps.len() - 1].to_str().unwrap(),
        );
        let html = tmp.join(format!("report-{seed}.html"));
        let svg = tmp.join(format!("flame-{seed}.svg"));
        for args in [
            vec!["growth", dir],
            vec!["growth", dir, "--by", "kind"],
            vec!["growth", dir, "--by", "path"],
            vec!["growth", dir, "--by", "file"],
            vec!["growth", dir, "--kind", "goroutine", "--by", "root"],
            vec!["growth", dir, "--kind", "allocs", "--format", "csv"],
            vec!["growth", dir, "--format", "json"],
            vec!["verdict", dir, "--min-span", "100ms"],
            vec!["validate", dir, dir],
            vec!["checklist", dir],
            vec!["top", last],
            vec!["top", "--base", first, last, "--granularity", "lines"],
            vec!["top", last, "--format", "csv"],
            vec!["report", dir, "-o", html.to_str().unwrap()],
            vec!["flame", "--base", first, last, "-o", svg.to_str().unwrap()],
        ] {
            run(&args);
        }
        // The manifest kept the service's name exactly.
        let b = Bundle::open(&out).unwrap();
        assert_eq!(b.manifest.service, service, "seed {seed}");
        assert_eq!(b.heap.len(), 4, "seed {seed}");
        // The hostile names arrived as served (invalid UTF-8 read lossily).
        let got: Vec<String> = b.heap[0]
            .profile
            .functions
            .iter()
            .map(|f| f.name.to_string())
            .collect();
        for n in &svc.names[..6] {
            let want = String::from_utf8_lossy(n).into_owned();
            assert!(got.contains(&want), "seed {seed}: {want:?} not in {got:?}");
        }
        assert!(
            b.metrics.points(names::HEAP_INUSE).len() >= 4,
            "seed {seed}"
        );
    }
}

#[test]
fn a_manifest_target_with_credentials_is_shown_without_them() {
    // A bundle whose manifest was written by hand (or by an older
    // heapframe) with credentials in its target.
    let tmp = scratch("manifest-credentials");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bundles/mapcache");
    let dir = tmp.join("b");
    for sub in ["heap", "goroutine", "metrics"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for f in files(&src.join(sub)) {
            std::fs::copy(&f, dir.join(sub).join(f.file_name().unwrap())).unwrap();
        }
    }
    for target in [
        "http://ops:hunter2@127.0.0.1:6060/?token=s3cr3t",
        "gopher://ops:hunter2@127.0.0.1/?token=s3cr3t",
    ] {
        std::fs::write(
            dir.join("manifest.json"),
            serde_json::json!({ "target": target }).to_string(),
        )
        .unwrap();
        let html = tmp.join("report.html");
        for args in [
            vec![
                "report",
                dir.to_str().unwrap(),
                "-o",
                html.to_str().unwrap(),
            ],
            vec!["checklist", dir.to_str().unwrap()],
        ] {
            let r = heapframe().args(&args).output().unwrap();
            assert!(r.status.success(), "{args:?}: {r:?}");
            let page = std::fs::read_to_string(&html).unwrap();
            for text in [String::from_utf8_lossy(&r.stdout).into_owned(), page] {
                assert!(
                    !text.contains("hunter2") && !text.contains("s3cr3t"),
                    "{target}: {args:?}"
                );
            }
        }
    }
}

/// Ctrl-C (SIGINT) to a collector, then what it did until it ended.
fn interrupt(child: Child) -> (std::process::ExitStatus, String, String) {
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    finish(child, Duration::from_secs(30))
}

/// Runs `cmd` to its end: whether it succeeded, its standard output and
/// its standard error.
fn output(cmd: &mut Command) -> (bool, String, String) {
    let o = cmd.output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `collect` given two replicas (one leaking, one with a bounded cache
/// that is already full): both captured at the same time into one bundle
/// of two instances, each with its own manifest, snapshots and metrics;
/// `--by instance` names the one that leaks; a second run appends to
/// both; a run that would mix targets is refused and changes nothing.
#[test]
fn collect_of_several_replicas_gives_one_bundle_of_instances() {
    let Some(bin) = leakysvc() else { return };
    let leaking = Svc::start(&bin, "127.0.0.1:0", "mapcache", 500);
    let bounded = Svc::start(&bin, "127.0.0.1:0", "lru", 1000);
    wait_for("the cache to fill", Duration::from_secs(120), || {
        cache_entries(&bounded.addr).is_some_and(|e| e >= 2000)
    });
    let tmp = scratch("replicas");
    let out = tmp.join("incident");
    let targets = tmp.join("targets.txt");
    std::fs::write(
        &targets,
        format!("# the replicas\n{} pod-b\n", bounded.url()),
    )
    .unwrap();
    let collect = |count: &str| {
        let child = heapframe()
            .args(["collect", &leaking.url(), "--targets"])
            .arg(&targets)
            .args([
                "--every",
                "1s",
                "--count",
                count,
                "--metrics-every",
                "200ms",
            ])
            .args(["--service", "leakysvc", "--out"])
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        finish(child, Duration::from_secs(90))
    };
    let (st, stdout, stderr) = collect("10");
    assert!(st.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(": 2 instances"), "{stdout}");
    let a_name = leaking.addr.clone();
    assert!(
        stdout.contains(&format!("  {a_name}: 10 heap snapshots written"))
            && stdout.contains("  pod-b: 10 heap snapshots written"),
        "{stdout}"
    );
    // Progress lines name their instance.
    assert!(
        stderr.contains("[pod-b] ") && stderr.contains(&format!("[{a_name}] ")),
        "{stderr}"
    );
    let all = Bundle::open_each(&out, &heapframe::evidence::bundle::Load::all()).unwrap();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [a_name.as_str(), "pod-b"]);
    for (name, b) in &all {
        assert_eq!(b.manifest.service, "leakysvc", "{name}");
        assert_eq!(b.manifest.instance, *name);
        assert_eq!(b.heap.len(), 10, "{name}");
        assert!(b.metrics.points(names::HEAP_INUSE).len() >= 20, "{name}");
        no_temporaries(b.root.as_ref().unwrap());
    }
    assert_eq!(all[0].1.manifest.target, leaking.url());
    assert_eq!(all[1].1.manifest.target, bounded.url());
    // At the same time, not one after the other (that would put ten
    // seconds between their first snapshots).
    let first = |i: usize| all[i].1.heap[0].time_ms;
    let last = |i: usize| all[i].1.heap[9].time_ms;
    assert!(
        (first(0) - first(1)).abs() < 3000,
        "{} vs {}",
        first(0),
        first(1)
    );
    assert!(first(1) < last(0) && first(0) < last(1));

    // Without --instance, a command says which instances there are.
    let (ok, _, err) = output(heapframe().arg("growth").arg(&out));
    assert!(!ok && err.contains("holds 2 instances"), "{err}");
    // Side by side: what grows, and the verdicts.
    let (ok, csv, _) = output(
        heapframe()
            .args(["growth", "--by", "instance", "--format", "csv"])
            .arg(&out),
    );
    assert!(ok, "{csv}");
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert_eq!(rows[0][0], a_name);
    assert_eq!(rows[0][8], "bytes.Clone", "{csv}");
    let slope = |r: &Vec<&str>| r[7].parse::<f64>().unwrap();
    assert!(slope(&rows[0]) > 2.0 * slope(&rows[1]).max(0.0), "{csv}");
    let (ok, text, _) = output(
        heapframe()
            .args(["verdict", "--by", "instance", "--min-span", "4s"])
            .arg(&out),
    );
    assert!(ok, "{text}");
    // The leaking replica: leak, or suspect when load drifted (see the
    // single-target test); the bounded one is never called a leak.
    assert!(
        text.contains(&format!("  {a_name}: leak ("))
            || text.contains(&format!("  {a_name}: suspect (")),
        "{text}"
    );
    assert!(!text.contains("  pod-b: leak ("), "{text}");

    // Again: appended to each instance.
    let (st, stdout, stderr) = collect("2");
    assert!(st.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("  pod-b: 2 heap snapshots written (12 in its bundle)"),
        "{stdout}"
    );

    // pod-b's name on another target is refused before anything changes.
    let before = snapshot_of(&out);
    std::fs::write(&targets, format!("{} pod-b\n", leaking.url())).unwrap();
    let (ok, _, err) = output(
        heapframe()
            .args(["collect", "--targets"])
            .arg(&targets)
            .args(["--count", "1", "--out"])
            .arg(&out),
    );
    assert!(!ok && err.contains("was collected from"), "{err}");
    // One target into a bundle of several: refused too.
    let (ok, _, err) = output(
        heapframe()
            .args(["collect", &bounded.url(), "--count", "1", "--out"])
            .arg(&out),
    );
    assert!(!ok && err.contains("holds several instances"), "{err}");
    assert_eq!(snapshot_of(&out), before);
}

/// Several targets until Ctrl-C: one interrupt stops every instance after
/// its capture in progress, and each bundle is valid. A replica that is
/// down becomes gaps in its own log while the others are collected.
#[test]
fn ctrl_c_stops_every_instance_and_a_dead_replica_only_adds_gaps() {
    let Some(bin) = leakysvc() else { return };
    let svc = Svc::start(&bin, "127.0.0.1:0", "mapcache", 200);
    let dead = format!("http://127.0.0.1:{}", free_port());
    let tmp = scratch("ctrlc-several");
    let out = tmp.join("b");
    let targets = tmp.join("targets.txt");
    std::fs::write(&targets, format!("{} up\n{dead} down\n", svc.url())).unwrap();
    let child = heapframe()
        .args(["collect", "--targets"])
        .arg(&targets)
        .args([
            "--every",
            "300ms",
            "--count",
            "0",
            "--metrics-every",
            "100ms",
        ])
        .args(["--retries", "0", "--timeout", "1s", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let up = out.join("instances/up");
    let down = out.join("instances/down");
    wait_for(
        "three heap snapshots and three gaps",
        Duration::from_secs(60),
        || complete_files(&up.join("heap")).len() >= 3 && gaps(&down).len() >= 3,
    );
    let (st, stdout, stderr) = interrupt(child);
    assert!(st.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("  up: ") && stdout.contains("  down: 0 heap snapshots written"),
        "{stdout}"
    );
    assert_eq!(stdout.matches(", stopped early").count(), 2, "{stdout}");
    assert!(
        stderr.contains("no heap snapshot could be taken from down"),
        "{stderr}"
    );
    no_temporaries(&up);
    no_temporaries(&down);
    let b = Bundle::open_each(&out, &heapframe::evidence::bundle::Load::all()).unwrap();
    assert_eq!(b.len(), 2);
    let (name, up_bundle) = &b[1];
    assert_eq!(name, "up");
    assert!(up_bundle.heap.len() >= 3);
    assert!(b[0].1.heap.is_empty());
    // The dead replica's errors name its own address, not the other's.
    let g = gaps(&down);
    assert!(
        g.iter()
            .all(|g| g["error"].as_str().unwrap().contains(&dead[7..])),
        "{g:?}"
    );
}
