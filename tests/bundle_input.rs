//! Hostile bundles: whatever a bundle folder holds, loading it gives a
//! clear error naming the file and what is wrong, or evidence that is what
//! it claims to be. Never a hang, unbounded memory or a confident verdict
//! built on values that are not numbers.

mod common;

use common::copy_dir;

use std::path::{Path, PathBuf};

use common::{Cleanup, scratch};

use heapframe::evidence::bundle::Bundle;
use heapframe::evidence::checklist::{Status, checklist};
use heapframe::evidence::metrics::{MetricSample, MetricSeries, names};
use heapframe::evidence::verdict::{Verdict, verdict};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bundles")
        .join(name)
}

/// A copy of the `mapcache` fixture bundle (a leak) in a scratch folder.
fn mapcache_copy(test: &str) -> (Cleanup, PathBuf) {
    let (cleanup, dir) = scratch(&format!("input-{test}"));
    let dir = dir.join("b");
    copy_dir(&fixture("mapcache"), &dir);
    (cleanup, dir)
}

fn open_err(dir: &Path) -> String {
    match Bundle::open(dir) {
        Ok(_) => panic!("{} opened, but should be refused", dir.display()),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "message is not one line: {msg}");
            assert!(
                !msg.contains("profile.proto"),
                "a file that is not a profile is called one: {msg}"
            );
            msg
        }
    }
}

fn rewrite_metric(dir: &Path, metric: &str, value: &str) {
    for e in std::fs::read_dir(dir.join("metrics")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let out: String = text
            .lines()
            .map(|l| match l.split_once(' ') {
                Some((m, _)) if m == metric => format!("{m} {value}\n"),
                _ => format!("{l}\n"),
            })
            .collect();
        std::fs::write(&p, out).unwrap();
    }
}

// Defect 1: an infinite value in a scrape made `report` loop forever in
// plotters' tick computation.
#[test]
fn infinite_metric_values_stay_out_of_series_and_are_reported() {
    let (_cleanup, dir) = mapcache_copy("inf");
    let inf_file = dir.join("metrics/1795494390001.prom");
    std::fs::write(&inf_file, "go_memstats_heap_inuse_bytes +Inf\n").unwrap();
    let b = Bundle::open(&dir).unwrap();
    let points = b.metrics.points(names::HEAP_INUSE);
    assert!(!points.is_empty());
    assert!(points.iter().all(|p| p.1.is_finite()), "{points:?}");
    let v = verdict(&b.metrics);
    let note = format!(
        "1 non-finite value ignored in {} ({})",
        names::HEAP_INUSE,
        inf_file.display()
    );
    assert!(v.reasons.contains(&note), "{:?}", v.reasons);
    assert_eq!(
        v.verdict,
        Verdict::Leak,
        "the finite points still show the leak"
    );
    // The page is drawn (no endless tick loop), and says so too.
    let r = heapframe::views::page::incident_report(&b, &Default::default()).unwrap();
    assert!(r.html.contains("non-finite value ignored"));
}

#[test]
fn infinite_values_in_the_after_fix_bundle_never_reach_the_before_after_chart() {
    let (_cleanup, before) = mapcache_copy("inf-after");
    let after = before.parent().unwrap().join("after");
    copy_dir(&fixture("fixed"), &after);
    rewrite_metric(&after, names::HEAP_OBJECTS, "-Inf");
    let b = Bundle::open(&before).unwrap();
    let a = Bundle::open(&after).unwrap();
    assert!(a.metrics.points(names::HEAP_OBJECTS).is_empty());
    let r = heapframe::views::page::incident_report(
        &b,
        &heapframe::views::page::ReportOptions {
            findings: heapframe::findings::FindingsOptions {
                after: Some(after.clone()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        r.evidence
            .iter()
            .any(|l| l == "After the fix: not enough data"),
        "{:?}",
        r.evidence
    );
}

// Defect 16: NaN heap-in-use values gave "not a leak" or "suspect".
#[test]
fn nan_heap_values_are_not_enough_data() {
    let (_cleanup, dir) = mapcache_copy("nan");
    rewrite_metric(&dir, names::HEAP_INUSE, "NaN");
    let b = Bundle::open(&dir).unwrap();
    let v = verdict(&b.metrics);
    assert_eq!(v.verdict, Verdict::NotEnoughData, "{:?}", v.reasons);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.starts_with("1 non-finite value ignored in go_memstats_heap_inuse_bytes (")),
        "{:?}",
        v.reasons
    );
    // Both heap metrics NaN: the same.
    rewrite_metric(&dir, names::HEAP_OBJECTS, "NaN");
    let b = Bundle::open(&dir).unwrap();
    assert_eq!(verdict(&b.metrics).verdict, Verdict::NotEnoughData);
}

#[test]
fn values_too_large_to_fit_are_not_enough_data() {
    let (_cleanup, dir) = mapcache_copy("huge");
    let mut n = 0;
    for e in std::fs::read_dir(dir.join("metrics")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        n += 1;
        let v = if n % 2 == 0 { "1.7e308" } else { "-1.7e308" };
        let text: String = text
            .lines()
            .map(|l| {
                let metric = l.split(' ').next().unwrap_or("");
                if metric == names::HEAP_INUSE || metric == names::HEAP_OBJECTS {
                    format!("{metric} {v}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&p, text).unwrap();
    }
    let b = Bundle::open(&dir).unwrap();
    let v = verdict(&b.metrics);
    assert_eq!(v.verdict, Verdict::NotEnoughData, "{:?}", v.reasons);
    // Charts of such values are drawn (plotters looked for ticks in an
    // infinite range without end).
    heapframe::views::plot::metrics_plot(&b.metrics).unwrap();
    heapframe::views::plot::before_after_plot(&b.metrics, &b.metrics).unwrap();
}

// Defect 7: unbounded reads of files a bundle names, and files that are
// not regular files (a FIFO hung `verdict`).
#[cfg(unix)]
#[test]
fn a_manifest_that_is_not_a_regular_file_is_refused() {
    let (_cleanup, dir) = mapcache_copy("manifest-dev");
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    std::os::unix::fs::symlink("/dev/null", dir.join("manifest.json")).unwrap();
    let msg = open_err(&dir);
    assert!(
        msg.starts_with(&format!("{}: ", dir.join("manifest.json").display()))
            && msg.contains("not a regular file"),
        "{msg}"
    );
}

#[test]
fn an_oversized_metrics_file_is_refused_without_reading_it() {
    let (_cleanup, dir) = mapcache_copy("big-prom");
    let big = dir.join("metrics/1795494390001.prom");
    // Sparse: takes no disk; one byte over the limit.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(heapframe::files::MAX_SCRAPE_BYTES + 1)
        .unwrap();
    let msg = open_err(&dir);
    assert!(
        msg.starts_with(&format!("{}: ", big.display())) && msg.contains("limit"),
        "{msg}"
    );
    let big = dir.join("manifest.json");
    std::fs::remove_file(dir.join("metrics/1795494390001.prom")).unwrap();
    std::fs::File::create(&big)
        .unwrap()
        .set_len(heapframe::files::MAX_MANIFEST_BYTES + 1)
        .unwrap();
    let msg = open_err(&dir);
    assert!(
        msg.starts_with(&format!("{}: ", big.display())) && msg.contains("limit"),
        "{msg}"
    );
    std::fs::remove_file(&big).unwrap();
    let big = dir.join("heap/008.pb.gz");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(heapframe::pprof::DEFAULT_MAX_DECOMPRESSED_BYTES + 1)
        .unwrap();
    let msg = open_err(&dir);
    assert!(
        msg.starts_with(&format!("{}: ", big.display())) && msg.contains("limit"),
        "{msg}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_in_metrics_is_refused_not_waited_on() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let (_cleanup, dir) = mapcache_copy("fifo");
    let fifo = dir.join("metrics/1795494390001.prom");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Should a reader block on the FIFO, this writer lets it go on (it
    // then reads an empty scrape) so the test fails instead of hanging.
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (done, fifo) = (done.clone(), fifo.clone());
        std::thread::spawn(move || {
            use std::os::unix::fs::OpenOptionsExt;
            while !done.load(Ordering::SeqCst) {
                let w = std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc_o_nonblock())
                    .open(&fifo);
                if w.is_ok() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    let result = Bundle::open(&dir);
    done.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let msg = result.map(|_| ()).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{}: ", fifo.display())) && msg.contains("not a regular file"),
        "{msg}"
    );
}

/// `O_NONBLOCK` on Linux (the test avoids a libc dependency).
#[cfg(unix)]
fn libc_o_nonblock() -> i32 {
    0o4000
}

#[cfg(unix)]
#[test]
fn a_profile_that_is_not_a_regular_file_is_refused() {
    let (_cleanup, dir) = mapcache_copy("heap-dev");
    std::os::unix::fs::symlink("/dev/null", dir.join("heap/008.pb.gz")).unwrap();
    let msg = open_err(&dir);
    assert!(
        msg.starts_with(&format!("{}: ", dir.join("heap/008.pb.gz").display()))
            && msg.contains("not a regular file"),
        "{msg}"
    );
}

// Defect 9: a label value with a newline was written into the CSV raw.
#[test]
fn metric_tables_round_trip_any_label_value_and_name() {
    let (_cleanup, dir) = scratch("input-csv-roundtrip");
    let hostile = [
        "a\nb",
        "\r\n",
        "comma, and \"quotes\"",
        "semi;colon=equals",
        "back\\slash\\n",
        "\"",
        "",
        " lead and trail ",
        "ünïcödé ✓",
        "\"\",\"",
    ];
    let mut samples = Vec::new();
    for (i, v) in hostile.iter().enumerate() {
        samples.push(MetricSample {
            time_ms: 1_700_000_000_000 + i as i64 * 1000,
            metric: if i % 2 == 0 {
                names::GOROUTINES.to_string()
            } else {
                format!("odd{v}")
            },
            labels: vec![
                (format!("k{v}"), v.to_string()),
                ("job".into(), v.to_string()),
            ],
            value: i as f64 * 1.5e10 + 0.1,
        });
    }
    let series = MetricSeries::new(samples);
    std::fs::write(dir.join("1.csv"), series.to_csv()).unwrap();
    let back = MetricSeries::from_dir(&dir).unwrap();
    let mut want = series.samples.clone();
    for s in &mut want {
        s.labels.sort();
    }
    assert_eq!(back.samples, want);
}

// Defect 13: the checklist passed on false evidence.
fn after_fix_item(dir: &Path, after_fix: &str) -> (Status, String) {
    let manifest = serde_json::json!({ "after_fix": after_fix });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let b = Bundle::open(dir).unwrap();
    let item = checklist(&b, None)
        .into_iter()
        .find(|i| i.item == "post-fix regression done")
        .unwrap();
    (item.status, item.detail)
}

#[test]
fn after_fix_must_be_another_bundle_beside_this_one() {
    let (_cleanup, dir) = mapcache_copy("after-fix");
    let outside = dir.join("../..").canonicalize().unwrap();
    for bad in [
        "../../..",
        "/proc/self",
        ".",
        "",
        "heap",
        "..",
        "./",
        "../b",
    ] {
        let (status, detail) = after_fix_item(&dir, bad);
        assert_ne!(status, Status::Passed, "after_fix {bad:?} passed: {detail}");
    }
    // An absolute path to a real bundle is still not evidence that travels
    // with this one.
    let (status, _) = after_fix_item(&dir, &fixture("fixed").display().to_string());
    assert_ne!(status, Status::Passed);
    assert!(outside.is_dir());
    // Found by the `manifest` fuzz target: a line break in after_fix came
    // out raw in the message.
    let (status, detail) = after_fix_item(&dir, "i\ner");
    assert_eq!(status, Status::Failed);
    assert!(!detail.contains('\n'), "{detail:?}");
    // A sibling bundle with evidence passes.
    copy_dir(&fixture("fixed"), &dir.parent().unwrap().join("after"));
    let (status, detail) = after_fix_item(&dir, "../after");
    assert_eq!(status, Status::Passed, "{detail}");
    // An empty folder is not a bundle.
    std::fs::create_dir_all(dir.parent().unwrap().join("empty")).unwrap();
    let (status, detail) = after_fix_item(&dir, "../empty");
    assert_eq!(status, Status::Failed, "{detail}");
    assert!(
        detail.contains("no heap snapshots and no metrics"),
        "{detail}"
    );
}

fn rewrite_time(path: &Path, time_nanos: i64) {
    let p = heapframe::Profile::from_path(path).unwrap();
    let mut m = p.to_proto();
    m.time_nanos = time_nanos;
    std::fs::write(path, heapframe::pprof::encode_gzip(&m)).unwrap();
}

#[test]
fn a_cpu_profile_in_heap_is_refused_and_named() {
    let (_cleanup, dir) = mapcache_copy("cpu-in-heap");
    let cpu = dir.join("heap/000.pb.gz");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/conformance/profiles/pprof.large.cpu.pb.gz"),
        &cpu,
    )
    .unwrap();
    let msg = open_err(&dir);
    assert!(
        msg.starts_with(&format!("{}: ", cpu.display())) && msg.contains("not a heap profile"),
        "{msg}"
    );
    assert!(!msg.contains("001.pb.gz"), "{msg}");
}

#[test]
fn growth_errors_name_the_snapshot_that_differs() {
    let (_cleanup, dir) = mapcache_copy("growth-blame");
    let b = Bundle::open(&dir).unwrap();
    let mut snaps = b.heap.clone();
    let mut cpu = snaps[0].clone();
    cpu.path = dir.join("heap/000.pb.gz");
    cpu.profile = heapframe::Profile::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/conformance/profiles/pprof.large.cpu.pb.gz"),
    )
    .unwrap();
    snaps.insert(0, cpu);
    let msg = heapframe::growth::growth(&snaps, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with(&format!("{}: ", dir.join("heap/000.pb.gz").display())),
        "{msg}"
    );
}

/// Heap snapshots that cannot be ranked leave the verdict to the metrics,
/// and the verdict says which snapshot and why.
#[test]
fn a_verdict_survives_snapshots_it_cannot_rank_and_names_them() {
    let (_cleanup, dir) = mapcache_copy("verdict-unranked");
    let mut b = Bundle::open(&dir).unwrap();
    let mut cpu = b.heap[0].clone();
    cpu.path = dir.join("heap/000.pb.gz");
    cpu.profile = heapframe::Profile::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/conformance/profiles/pprof.large.cpu.pb.gz"),
    )
    .unwrap();
    b.heap.insert(0, cpu);
    let g = heapframe::evidence::goroutines::goroutine_check(&b).unwrap();
    let opts = heapframe::findings::FindingsOptions::default();
    let v = heapframe::findings::verdict_of(&b, None, &g, &opts).unwrap();
    assert_eq!(v.verdict, Verdict::Leak, "{:?}", v.reasons);
    assert!(v.owner.is_none());
    let why = v
        .reasons
        .iter()
        .find(|r| r.starts_with("heap snapshots not judged: "))
        .unwrap_or_else(|| panic!("{:?}", v.reasons));
    assert!(why.contains("000.pb.gz"), "{why}");
    assert!(v.reasons.last().unwrap().starts_with("confidence: "));
}

#[test]
fn implausible_snapshot_times_do_not_pass_the_checklist() {
    let (_cleanup, dir) = mapcache_copy("times");
    // 1990: before any Go heap profile.
    rewrite_time(&dir.join("heap/001.pb.gz"), 631_152_000_000_000_000);
    let b = Bundle::open(&dir).unwrap();
    let item = &checklist(&b, None)[1];
    assert_eq!(item.status, Status::Failed, "{}", item.detail);
    assert!(item.detail.contains("001.pb.gz"), "{}", item.detail);
    // Far in the future.
    let (_cleanup, dir) = mapcache_copy("times-future");
    rewrite_time(&dir.join("heap/007.pb.gz"), i64::MAX);
    let b = Bundle::open(&dir).unwrap();
    let item = &checklist(&b, None)[1];
    assert_eq!(item.status, Status::Failed, "{}", item.detail);
    assert!(item.detail.contains("007.pb.gz"), "{}", item.detail);
}

// Defect 14: every input kind got "not a valid profile.proto message:".
#[test]
fn each_input_kind_has_its_own_error_naming_the_file() {
    let (_cleanup, dir) = mapcache_copy("wording");
    std::fs::write(dir.join("manifest.json"), "{").unwrap();
    let msg = open_err(&dir);
    assert!(
        msg.starts_with(&format!(
            "{}: invalid manifest: ",
            dir.join("manifest.json").display()
        )),
        "{msg}"
    );
    std::fs::remove_file(dir.join("manifest.json")).unwrap();

    let prom = dir.join("metrics/1795494390001.prom");
    std::fs::write(&prom, "# HELP x\nx y z\n").unwrap();
    let msg = open_err(&dir);
    assert!(
        msg.starts_with(&format!(
            "{}: line 2: invalid Prometheus text: ",
            prom.display()
        )),
        "{msg}"
    );
    std::fs::remove_file(&prom).unwrap();

    let csv = dir.join("metrics/1795494390001.csv");
    std::fs::write(&csv, "time_ms,metric,labels,value\n1,x,\"\",oops\n").unwrap();
    let msg = open_err(&dir);
    assert!(
        msg.starts_with(&format!(
            "{}: line 2: invalid metrics table: ",
            csv.display()
        )),
        "{msg}"
    );

    let e = heapframe::evidence::metrics::parse_expvar("[1]", 0, "svc/debug/vars")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("svc/debug/vars: invalid expvar page: "),
        "{e}"
    );
    let e = heapframe::evidence::metrics::parse_query_range("<html>", "x", "prom")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("prom: Prometheus API answer: not JSON: "),
        "{e}"
    );
}

#[test]
fn metric_times_out_of_range_are_refused_by_line() {
    let (_cleanup, dir) = mapcache_copy("metric-times");
    let prom = dir.join("metrics/1795494390001.prom");
    std::fs::write(&prom, "up 1 9223372036854775807\n").unwrap();
    let msg = open_err(&dir);
    assert!(
        msg.starts_with(&format!("{}: line 1: ", prom.display())),
        "{msg}"
    );
    assert!(msg.contains("timestamp"), "{msg}");
}

#[test]
fn findings_say_why_the_manifests_after_fix_was_refused_once() {
    let (_cleanup, dir) = mapcache_copy("after-fix-findings");
    let manifest = serde_json::json!({ "after_fix": "../../.." });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let b = Bundle::open(&dir).unwrap();
    let f = heapframe::findings::Findings::of(&b, &Default::default()).unwrap();
    assert!(f.regression.is_none());
    let why = f.after_fix_refused.as_deref().expect("a refusal");
    assert!(why.contains("after_fix \"../../..\""), "{why}");
    // The checklist says the same as the page, from the same judgement.
    let item = f
        .checklist
        .iter()
        .find(|i| i.item == "post-fix regression done")
        .unwrap();
    assert_eq!(item.status, Status::Failed);
    assert_eq!(
        item.detail,
        format!("the after-fix bundle is not evidence: {why}")
    );
    assert!(
        f.chain.iter().any(|s| s.to_text()
            == "After the fix: not checked (the manifest's after_fix is not evidence)"),
        "{:?}",
        f.chain
    );
}
