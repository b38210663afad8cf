//! The timeline: events recorded with `heapframe note` (the manifest kept
//! whole), checked when read, restarts detected from the data, and the
//! timeline shown by `heapframe timeline`, the page and the charts.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use heapframe::evidence::Bundle;
use heapframe::evidence::metrics::{MetricSample, MetricSeries};
use heapframe::evidence::timeline::{EventKind, Source};

fn heapframe(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_heapframe"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A copy of a bundled incident in a fresh folder.
fn copy_bundle(name: &str, tag: &str) -> PathBuf {
    let dst = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("timeline-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    common::copy_dir(&Path::new("tests/fixtures/bundles").join(name), &dst);
    dst
}

#[test]
fn note_records_events_and_keeps_the_rest_of_the_manifest() {
    let dir = copy_bundle("fixed", "note");
    let manifest = dir.join("manifest.json");
    // A field heapframe does not know survives, and the order stays.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    v["x-team"] = "payments".into();
    std::fs::write(&manifest, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let d = dir.to_str().unwrap();
    let (rc, out, err) = heapframe(&[
        "note",
        d,
        "--at",
        "2026-11-24T04:31:10+01:00",
        "--kind",
        "deploy",
        "v1.4.3",
        "(LRU)",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("deploy v1.4.3 (LRU)"), "{out}");
    let (rc, _, err) = heapframe(&["note", d, "--kind", "fix", "bounded the cache"]);
    assert_eq!(rc, 0, "{err}");
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert_eq!(after["x-team"], "payments");
    assert_eq!(after["service"], v["service"]);
    let keys: Vec<&String> = after.as_object().unwrap().keys().collect();
    assert_eq!(
        keys.first().map(|k| k.as_str()),
        Some("service"),
        "{keys:?}"
    );
    assert_eq!(after["events"].as_array().unwrap().len(), 2);

    let b = Bundle::open(&dir).unwrap();
    let t = b.timeline().unwrap();
    let deploy = t.iter().find(|e| e.kind == EventKind::Deploy).unwrap();
    assert_eq!(deploy.source, Source::Manifest);
    assert_eq!(
        deploy.time_ms,
        heapframe::units::parse_rfc3339("2026-11-24T03:31:10Z").unwrap()
    );
    assert!(t.iter().any(|e| e.kind == EventKind::Fix));

    let (rc, out, _) = heapframe(&["timeline", d]);
    assert_eq!(rc, 0);
    assert!(
        out.contains("2026-11-24T03:31:10Z  deploy    recorded  v1.4.3 (LRU)"),
        "{out}"
    );
    assert!(out.contains("first of 7 heap snapshots"), "{out}");

    // Bad input is refused and the manifest is left as it was.
    let before = std::fs::read(&manifest).unwrap();
    for args in [
        vec!["note", d, "--at", "yesterday", "x"],
        vec!["note", d, "--at", "2026-02-30T00:00:00Z", "x"],
        vec!["note", d, "--kind", "outage", "x"],
    ] {
        let (rc, _, err) = heapframe(&args);
        assert_ne!(rc, 0, "{args:?}");
        assert!(!err.is_empty());
    }
    let long = "x".repeat(3000);
    let (rc, _, err) = heapframe(&["note", d, &long]);
    assert_ne!(rc, 0);
    assert!(err.contains("at most 2000"), "{err}");
    assert_eq!(std::fs::read(&manifest).unwrap(), before);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn note_from_a_notebook_updates_the_bundle_and_its_file() {
    let dir = copy_bundle("fixed", "api");
    let mut b = Bundle::open(&dir).unwrap();
    b.note("2026-11-24T04:32:05Z", EventKind::Incident, "paged")
        .unwrap();
    assert_eq!(b.manifest.events.len(), 1);
    assert_eq!(
        Bundle::open(&dir).unwrap().manifest.events,
        b.manifest.events
    );
    assert!(b.note("soon", EventKind::Note, "x").is_err());
    assert_eq!(b.manifest.events.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_event_in_the_manifest_is_named() {
    let dir = copy_bundle("fixed", "bad");
    let manifest = dir.join("manifest.json");
    for (events, want) in [
        (
            r#"[{"time": "24/11/2026", "kind": "deploy", "text": "v1"}]"#,
            "events[0]",
        ),
        (
            r#"[{"time": "2026-11-24T04:32:05Z", "kind": "outage"}]"#,
            "unknown variant",
        ),
        (r#"{"time": "2026-11-24T04:32:05Z"}"#, "invalid type"),
    ] {
        std::fs::write(
            &manifest,
            format!(r#"{{"service": "s", "events": {events}}}"#),
        )
        .unwrap();
        let e = Bundle::open(&dir).unwrap_err().to_string();
        assert!(e.contains("manifest.json") && e.contains(want), "{e}");
        // `note` refuses to add to a manifest that is already invalid.
        let (rc, _, err) = heapframe(&["note", dir.to_str().unwrap(), "x"]);
        assert_ne!(rc, 0, "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn restarts_are_detected_from_the_data() {
    let b = Bundle::open("tests/fixtures/bundles/restart").unwrap();
    let t = b.timeline().unwrap();
    let r: Vec<_> = t
        .iter()
        .filter(|e| e.kind == EventKind::Restart && e.source == Source::Detected)
        .collect();
    assert_eq!(r.len(), 1, "{t:?}");
    assert!(r[0].text.contains("process_start_time_seconds"));

    // Without process_start_time_seconds, a GC counter that falls is a
    // new process.
    let gc = |t: i64, v: f64| MetricSample {
        time_ms: t,
        metric: "go_gc_duration_seconds_count".into(),
        labels: Vec::new(),
        value: v,
    };
    let s = MetricSeries {
        samples: vec![gc(1000, 10.0), gc(2000, 14.0), gc(3000, 2.0), gc(4000, 5.0)],
        ..Default::default()
    };
    assert_eq!(s.restarts(), vec![3000]);
    assert!(s.restart_signal().contains("GC cycle counter"));
}

#[cfg(feature = "views")]
#[test]
fn the_page_and_the_markdown_have_the_timeline() {
    let b = Bundle::open("tests/fixtures/bundles/mapcache").unwrap();
    let html = heapframe::views::page::incident_report(&b, &Default::default())
        .unwrap()
        .html;
    let section = common::page_section(&html, "timeline");
    for want in [
        "<td>2026-11-24T04:26:30Z</td><td>incident</td><td>recorded</td><td>alert: heap objects rising under flat load</td>",
        "first of 7 heap snapshots",
        "<td>fix</td>",
    ] {
        assert!(section.contains(want), "{want:?} not in {section}");
    }
    // In time order.
    let times: Vec<&str> = section
        .match_indices("<td>2026-")
        .map(|(j, _)| &section[j + 4..j + 24])
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);

    let f = heapframe::findings::Findings::of(&b, &Default::default()).unwrap();
    let (md, _) = heapframe::views::markdown::markdown_report(&b, &f, 12).unwrap();
    assert!(md.contains("## Timeline"));
    assert!(md.contains("| 2026-11-24T04:26:30Z | incident | recorded | alert: heap objects rising under flat load |"), "{md}");
}

/// Eight `heapframe note` processes at once on one bundle: every event
/// lands (each waits for the manifest's lock instead of overwriting the
/// others' change with its own stale copy), and no lock is left.
#[test]
fn concurrent_notes_all_land() {
    let dir = copy_bundle("fixed", "concurrent");
    let before = Bundle::open(&dir).unwrap().manifest.events.len();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let d = dir.clone();
            std::thread::spawn(move || {
                Command::new(env!("CARGO_BIN_EXE_heapframe"))
                    .args([
                        "note",
                        d.to_str().unwrap(),
                        "--at",
                        &format!("2026-11-24T05:01:0{i}Z"),
                        "--kind",
                        "note",
                        &format!("parallel writer {i}"),
                    ])
                    .output()
                    .unwrap()
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let events = Bundle::open(&dir).unwrap().manifest.events;
    assert_eq!(events.len(), before + 8, "{events:?}");
    for i in 0..8 {
        assert!(
            events
                .iter()
                .any(|e| e.text == format!("parallel writer {i}"))
        );
    }
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("heapframe-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A lock left by a writer that was killed (its process is gone) is taken
/// over; a lock that is not a file is refused by name and the manifest is
/// left as it was.
#[test]
fn a_stale_lock_is_taken_over_and_an_odd_one_refused() {
    let dir = copy_bundle("fixed", "stale-lock");
    let lock = dir.join(".manifest.json.heapframe-lock");
    // A process id that is not running: a finished child's.
    let mut dead = Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    std::fs::write(&lock, pid.to_string()).unwrap();
    let note = |text: &str| {
        heapframe(&[
            "note",
            dir.to_str().unwrap(),
            "--at",
            "2026-11-24T05:00:00Z",
            "--kind",
            "note",
            text,
        ])
    };
    let (code, _, err) = note("after a crash");
    assert_eq!(code, 0, "{err}");
    assert!(!lock.exists());

    std::fs::create_dir(&lock).unwrap();
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
    let (code, _, err) = note("blocked");
    assert_ne!(code, 0);
    assert!(
        err.contains(".manifest.json.heapframe-lock") && err.contains("folder"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("manifest.json")).unwrap(), manifest);
    std::fs::remove_dir_all(&dir).unwrap();
}
