//! `GODEBUG=gctrace=1` logs (issue 16, item 3), on one run of the leaky
//! service captured twice over by tests/fixtures/capture-ticket.sh: as a
//! bundle (`.pb.gz` heap profiles and Prometheus scrapes) and as what a
//! ticket holds (`?debug=1` heap text and the service's gctrace log).

mod common;

use std::path::{Path, PathBuf};

use heapframe::evidence::bundle::Bundle;
use heapframe::evidence::gctrace::{Anchor, GcTrace, read_gctrace, read_gctrace_file};
use heapframe::evidence::metrics::names;
use heapframe::evidence::verdict::{Shape, Verdict};

const DIR: &str = "tests/fixtures/tickets";

fn fixture(scenario: &str, rest: &str) -> PathBuf {
    Path::new(DIR).join(scenario).join(rest)
}

fn combined(b: &Bundle) -> heapframe::evidence::verdict::CombinedVerdict {
    let g = heapframe::evidence::goroutines::goroutine_check(b).unwrap();
    heapframe::findings::verdict_of(b, None, &g, &Default::default()).unwrap()
}

fn parse(text: &str) -> heapframe::Result<GcTrace> {
    read_gctrace(text.as_bytes(), "t.log")
}

const LINE: &str = "gc 7 @8.537s 2%: 0.22+0.97+0.004 ms clock, 0.45+0.008/0.45/0.41+0.009 ms cpu, 3->4->2 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P";

#[test]
fn the_runtime_s_lines_read_as_cycles() {
    for (s, cycles) in [("mapcache", 27), ("lru", 56)] {
        let raw = read_gctrace_file(&fixture(s, "ticket/logs/gctrace.log")).unwrap();
        let stamped = read_gctrace_file(&fixture(s, "gctrace-timestamped.log")).unwrap();
        assert_eq!(raw.cycles.len(), cycles, "{s}");
        assert_eq!(stamped.cycles.len(), cycles, "{s}");
        assert!(!raw.all_logged() && stamped.all_logged(), "{s}");
        assert_eq!(raw.broken + stamped.broken, 0, "{s}");
        // The same cycles either way, numbered 1, 2, 3... in one process.
        for (a, b) in raw.cycles.iter().zip(&stamped.cycles) {
            assert_eq!(
                (a.number, a.heap_live, a.goal),
                (b.number, b.heap_live, b.goal)
            );
        }
        assert_eq!(raw.processes().len(), 1);
        assert!(
            raw.cycles
                .iter()
                .enumerate()
                .all(|(i, c)| c.number == i as u64 + 1)
        );
    }
    // mapcache's last line: `gc 27 @63.372s 0%: ... 24->24->13 MB, 25 MB goal`.
    let t = read_gctrace_file(&fixture("mapcache", "ticket/logs/gctrace.log")).unwrap();
    let last = t.cycles.last().unwrap();
    assert_eq!(last.number, 27);
    assert_eq!(last.began_ms, 63_372.0);
    assert_eq!(
        (last.heap_start, last.heap_end, last.heap_live, last.goal),
        (24 << 20, 24 << 20, 13 << 20, 25 << 20)
    );
}

/// A `?debug=1` snapshot's trailer (`NumGC`, `LastGC`) places an unstamped
/// log where the log pipeline's own time stamps put it, to within a few
/// milliseconds (the time stamps are when the line was read).
#[test]
fn a_heap_snapshot_places_the_log_where_its_time_stamps_do() {
    for s in ["mapcache", "lru"] {
        let ticket = Bundle::open(fixture(s, "ticket")).unwrap();
        let raw = read_gctrace_file(&fixture(s, "ticket/logs/gctrace.log")).unwrap();
        let anchor = ticket.gctrace_anchor(&raw, None);
        assert!(matches!(anchor, Anchor::LastGc { .. }), "{s}: {anchor:?}");
        let (placed, notes) = raw.samples(anchor).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        let stamped = read_gctrace_file(&fixture(s, "gctrace-timestamped.log")).unwrap();
        let (logged, _) = stamped.samples(Anchor::None).unwrap();
        let times = |v: &[heapframe::evidence::MetricSample]| -> Vec<i64> {
            v.iter()
                .filter(|x| x.metric == names::GCTRACE_HEAP_LIVE)
                .map(|x| x.time_ms)
                .collect()
        };
        let (a, b) = (times(&placed), times(&logged));
        assert_eq!(a.len(), b.len());
        let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).max().unwrap();
        assert!(
            worst <= 50,
            "{s}: placed up to {worst} ms from the log's time stamps"
        );
    }
}

/// The test: the ticket (only `?debug=1` heap text and the gctrace
/// log) gives the verdict the bundle of the same run gives.
#[test]
fn a_ticket_gives_the_verdict_of_the_bundle_of_the_same_run() {
    for (s, want) in [("mapcache", Verdict::Leak), ("lru", Verdict::NotALeak)] {
        let bundle = Bundle::open(fixture(s, "bundle")).unwrap();
        let ticket = Bundle::open(fixture(s, "ticket")).unwrap();
        assert!(
            ticket
                .heap
                .iter()
                .all(|h| h.path.to_string_lossy().ends_with(".txt.gz"))
        );
        // The log was read: one point per GC cycle, and the cycle count.
        assert!(
            ticket.metrics.points(names::GCTRACE_HEAP_LIVE).len() >= 20,
            "{s}"
        );
        let (b, t) = (combined(&bundle), combined(&ticket));
        assert_eq!(b.verdict, want, "{s} bundle: {:#?}", b.reasons);
        assert_eq!(t.verdict, want, "{s} ticket: {:#?}", t.reasons);
        assert_eq!(b.owner.map(|o| o.key), t.owner.map(|o| o.key), "{s}");
    }
}

/// A log alone counts bytes, not objects: a rising live heap is `suspect`
/// (never `leak`) and says what is missing; a flat one is not a leak.
#[test]
fn a_log_alone_judges_bytes_and_never_says_leak() {
    let leak = Bundle::from_paths(&[fixture("mapcache", "gctrace-timestamped.log")
        .to_str()
        .unwrap()])
    .unwrap();
    let v = combined(&leak);
    assert_eq!(
        (v.verdict, v.metrics.shape),
        (Verdict::Suspect, Shape::BytesRising),
        "{:#?}",
        v.reasons
    );
    let text = v.reasons.join("\n");
    assert!(
        text.contains("gctrace_heap_live_bytes: floor after GC +"),
        "{text}"
    );
    assert!(text.contains("heap objects were not measured"), "{text}");
    // Its metric chart draws the live heap it judged, with its floors.
    let plot =
        heapframe::views::plot::metrics_plot_with(&leak.metrics, &Default::default()).unwrap();
    assert!(
        plot.svg()
            .contains("live heap after GC (gctrace_heap_live_bytes)")
    );
    assert!(plot.svg().contains("floor trend"));
    let plateau =
        Bundle::from_paths(&[fixture("lru", "gctrace-timestamped.log").to_str().unwrap()]).unwrap();
    let v = combined(&plateau);
    assert_eq!(v.verdict, Verdict::NotALeak, "{:#?}", v.reasons);
}

#[test]
fn every_shape_of_the_line_go_prints() {
    // Go 1.27, with log prefixes of several kinds in front.
    let t = parse(&format!(
        "svc-7f9c | {LINE}\n2026/12/04 07:24:57.629480 {LINE}\n[pid 12] 2026-12-04T08:24:57+01:00 stderr F {LINE}\n"
    ))
    .unwrap();
    assert_eq!(t.cycles.len(), 3);
    assert_eq!(t.cycles[0].logged_ms, None);
    assert_eq!(t.cycles[1].logged_ms, Some(1_796_369_097_629));
    assert_eq!(t.cycles[2].logged_ms, Some(1_796_369_097_000));
    assert!(t.zone_assumed);
    let c = &t.cycles[0];
    assert_eq!((c.number, c.cpu_pct, c.forced), (7, 2.0, false));
    assert!((c.clock_ms - 1.194).abs() < 1e-9);
    assert_eq!(c.ended_ms(), 8_537.0 + c.clock_ms);
    // Go before 1.18 (no stacks or globals), a forced cycle, and Go 1.26's
    // goroutine leak check.
    let t = parse(
        "gc 3 @0.011s 1%: 0.010+0.25+0.003 ms clock, 0.040+0.10/0.20/0+0.013 ms cpu, 4->4->0 MB, 5 MB goal, 4 P\n\
         gc 4 @0.512s 1%: 0.010+0.25+0.003 ms clock, 0.040+0.10/0.20/0+0.013 ms cpu, 4->4->1 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 4 P (forced)\n\
         gc 5 @1.1s 1% (checking for goroutine leaks): 0.010+0.25+0.003 ms clock, 0.040+0.10/0.20/0+0.013 ms cpu, 6->6->2 MB, 7 MB goal, 0 MB stacks, 0 MB globals, 4 P\n",
    )
    .unwrap();
    assert_eq!(t.cycles.len(), 3);
    assert!(!t.cycles[0].forced && t.cycles[1].forced);
    assert_eq!(t.cycles[2].heap_live, 2 << 20);
    // Other lines that mention gc are passed over.
    let t = parse(&format!(
        "scav 0 KiB work (bg), 0 KiB work (eager)\nmygc 1 @2s\ngc: done\n{LINE}\n"
    ))
    .unwrap();
    assert_eq!((t.cycles.len(), t.broken), (1, 0));
}

/// Cut, garbled and hostile logs: a named error or a counted note, never a
/// panic.
#[test]
fn malformed_logs_get_named_errors() {
    let err = |text: &str| parse(text).unwrap_err().to_string();
    assert_eq!(
        err("hello\nworld\n"),
        "t.log: no gctrace line (`gc N @T s P%: ... A->B->C MB, G MB goal, ...`) in the log: was the service run with GODEBUG=gctrace=1?"
    );
    assert_eq!(err(""), err("\n").replace("\n", ""));
    // Every gc line cut short: the first is named.
    let e = err("x\ngc 1 @0.5s 0%: 0.1+0.2+0.3 ms clock, 0.1+0.1/0.1/0.1+0.1 ms cpu, 4->4\n");
    assert!(
        e.starts_with("t.log: line 2: not a gctrace line: no heap sizes"),
        "{e}"
    );
    for (bad, why) in [
        ("gc 99999999999999999999 @1s 0%: ", "cycle number"),
        ("gc 1 @-1s 0%: ", "start time"),
        ("gc 1 @NaNs 0%: ", "start time"),
        ("gc 1 @1s x%: ", "CPU share"),
        (
            "gc 1 @1s 0%: 1+x+1 ms clock, 1 ms cpu, 1->1->1 MB, 1 MB goal",
            "clock time",
        ),
        (
            "gc 1 @1s 0%: 1+1+1 ms clock, 1 ms cpu, 1->1 MB, 1 MB goal",
            "are not A->B->C",
        ),
        (
            "gc 1 @1s 0%: 1+1+1 ms clock, 1 ms cpu, 1->1->99999999999999999 MB, 1 MB goal",
            "live heap",
        ),
    ] {
        let e = err(bad);
        assert!(e.contains(why), "{bad:?}: {e}");
    }
    // One cut line among good ones: read, and said.
    let t = parse(&format!("{LINE}\ngc 8 @9.0s 2%: 0.2+0.9\n{LINE}\n")).unwrap();
    assert_eq!((t.cycles.len(), t.broken), (2, 1));
    let (_, notes) = t.samples(Anchor::Start(1_000)).unwrap();
    assert!(
        notes.iter().any(
            |n| n.contains("1 line that began like gctrace did not read as one (first: line 2")
        ),
        "{notes:?}"
    );
    // Bytes that are not UTF-8, NULs, and a line of 1 MB around good lines.
    let mut bytes = b"\xff\xfe\x00garbage\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 1 << 20));
    bytes.extend(format!("{LINE}\n{LINE}").as_bytes());
    let t = read_gctrace(&bytes[..], "t.log").unwrap();
    assert_eq!(
        t.cycles.len(),
        1,
        "the long line swallowed the first LINE; the last is read"
    );
    // Unstamped lines with nothing to place them: an error that says how.
    let e = parse(LINE)
        .unwrap()
        .samples(Anchor::None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.log: line 1: gctrace lines carry no wall-clock time"),
        "{e}"
    );
    assert!(e.contains("--start"), "{e}");
    // A trailer of another process: refused, not misplaced.
    let e = parse(LINE)
        .unwrap()
        .samples(Anchor::LastGc {
            number: 900,
            at_ms: 5_000,
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("not the same process"), "{e}");
    // A time far outside 1970..9999 cannot be placed.
    let e = parse(LINE)
        .unwrap()
        .samples(Anchor::Start(i64::MAX - 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no wall-clock time"), "{e}");
}

/// A restart in a log: with time stamps, both processes are kept and the
/// verdict judges the last; without, the earlier process is left out and
/// said so.
#[test]
fn a_restart_in_a_log() {
    let line = |ts: &str, n: u32, at: f64, live: u32| {
        format!(
            "{ts}gc {n} @{at:.3}s 1%: 0.1+0.2+0.1 ms clock, 0.1+0.1/0.1/0.1+0.1 ms cpu, {a}->{a}->{live} MB, {g} MB goal, 0 MB stacks, 0 MB globals, 2 P\n",
            a = live + 4,
            g = live + 8
        )
    };
    let mut stamped = String::new();
    let mut plain = String::new();
    for p in 0..2u32 {
        for i in 1..=40u32 {
            let at = i as f64 * 2.0;
            let t = 1_800_000_000 + p as i64 * 200 + (at as i64);
            let ts = heapframe::units::format_rfc3339(t * 1000);
            stamped.push_str(&line(&format!("{ts} "), i, at, 10 + i));
            plain.push_str(&line("", i, at, 10 + i));
        }
    }
    let t = parse(&stamped).unwrap();
    assert_eq!(t.processes().len(), 2);
    let (samples, notes) = t.samples(Anchor::None).unwrap();
    assert!(notes.is_empty());
    let counts = samples
        .iter()
        .filter(|s| s.metric == names::GCTRACE_CYCLES)
        .count();
    assert_eq!(counts, 80);
    let (_, notes) = parse(&plain)
        .unwrap()
        .samples(Anchor::Start(1_000_000))
        .unwrap();
    assert_eq!(
        notes,
        [
            "t.log: 40 GC cycles of 1 earlier process left out: their lines carry no time, and only the last process can be placed"
        ]
    );
    // Read as a bundle's log, the cycle count marks the restart.
    let (_c, dir) = common::scratch("gctrace-restart");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::write(dir.join("logs/svc.log"), &stamped).unwrap();
    let b = Bundle::open(&dir).unwrap();
    assert_eq!(b.metrics.restarts().len(), 1);
    let v = heapframe::evidence::verdict::verdict(&b.metrics);
    assert_eq!(v.restarts, 1, "{:#?}", v.reasons);
    assert_eq!(v.verdict, Verdict::Suspect, "{:#?}", v.reasons);
}

/// `heapframe import-log` writes a metrics table once; a second import of
/// the same log is refused; the bundle's verdict then reads it; a log in
/// `logs/` that nothing places names the file and the way out.
#[test]
fn import_log_adds_the_log_once() {
    let (_c, dir) = common::scratch("gctrace-import");
    let bin = env!("CARGO_BIN_EXE_heapframe");
    let ticket = dir.join("ticket");
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    };
    copy(&fixture("mapcache", "ticket/heap"), &ticket.join("heap"));
    let log = fixture("mapcache", "ticket/logs/gctrace.log");
    let run = |args: &[&str]| std::process::Command::new(bin).args(args).output().unwrap();
    let out = run(&[
        "import-log",
        log.to_str().unwrap(),
        "--out",
        ticket.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(": 27 GC cycles, 2026-12-04T07:24:52Z to 2026-12-04T07:25:54Z, placed by a ?debug=1 heap snapshot of the same process"), "{stdout}");
    let tables: Vec<_> = std::fs::read_dir(ticket.join("metrics")).unwrap().collect();
    assert_eq!(tables.len(), 1);
    let again = run(&[
        "import-log",
        log.to_str().unwrap(),
        "--out",
        ticket.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    let e = String::from_utf8_lossy(&again.stderr);
    assert!(
        e.contains("already holds gctrace points") && e.contains("would double them"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_dir(ticket.join("metrics")).unwrap().count(),
        1
    );
    let v = run(&["verdict", ticket.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("verdict: leak\n"));
    // No snapshot, no time stamps: --start places it; without, a named error.
    let bare = dir.join("bare");
    let out = run(&[
        "import-log",
        log.to_str().unwrap(),
        "--out",
        bare.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && e.contains("gctrace.log: line 1: gctrace lines carry no wall-clock time"),
        "{e}"
    );
    assert!(
        !bare.join("metrics").exists()
            || std::fs::read_dir(bare.join("metrics")).unwrap().count() == 0
    );
    let out = run(&[
        "import-log",
        log.to_str().unwrap(),
        "--out",
        bare.to_str().unwrap(),
        "--start",
        "2026-12-04T07:24:51Z",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "import-log",
        log.to_str().unwrap(),
        "--out",
        bare.to_str().unwrap(),
        "--start",
        "yesterday",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--start: \"yesterday\" is not an RFC 3339 time")
    );
    // A bundle's logs/ with an unplaceable log: the bundle does not open,
    // and says which file and why.
    let lonely = dir.join("lonely");
    std::fs::create_dir_all(lonely.join("logs")).unwrap();
    std::fs::copy(&log, lonely.join("logs/svc.log")).unwrap();
    let e = Bundle::open(&lonely).unwrap_err().to_string();
    assert!(
        e.contains("logs/svc.log: line 1: gctrace lines carry no wall-clock time"),
        "{e}"
    );
    // gzip-compressed logs read the same; a FIFO is refused unread.
    let gz = dir.join("svc.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &std::fs::read(&log).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    assert_eq!(read_gctrace_file(&gz).unwrap().cycles.len(), 27);
    #[cfg(unix)]
    {
        let fifo = dir.join("fifo.log");
        let ok = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            let e = read_gctrace_file(&fifo).unwrap_err().to_string();
            assert!(e.contains("not a regular file"), "{e}");
        }
    }
}
