//! Legacy text heap profiles (`/debug/pprof/heap?debug=1`), captured from
//! the project's leaky service (Go 1.27, tests/fixtures/legacy): every
//! sample's values, its `bytes` label and its stack's addresses equal what
//! `go tool pprof -raw` reads from the same file (goldens beside them),
//! and the frames are named from the text's `#` lines.

mod common;

use heapframe::Profile;

const DIR: &str = "tests/fixtures/legacy";

#[test]
fn values_labels_and_addresses_equal_pprofs() {
    for i in 1..=3 {
        let p = Profile::from_path(format!("{DIR}/heap{i}.txt")).unwrap();
        let raw = common::read_pprof_raw(
            &std::fs::read_to_string(format!("{DIR}/heap{i}.raw.golden")).unwrap(),
        );
        let types: Vec<&str> = p.sample_types.iter().map(|t| &*t.name).collect();
        assert_eq!(types, raw.types, "heap{i}");
        assert_eq!(p.period, 65536, "heap{i}: period");
        let stacks = common::assert_raw_samples(&p, &raw, &format!("heap{i}"));
        for (k, (values, locs, bytes)) in raw.samples.iter().enumerate() {
            let want_bytes = bytes.filter(|&b| b != 0);
            let s = p.samples.get(k);
            assert_eq!(
                s.num_label("bytes"),
                want_bytes,
                "heap{i} sample {k}: bytes"
            );
            assert!(!stacks[k].is_empty() || values.iter().all(|&v| v == 0) || locs.len() < 3);
        }
        // Totals as pprof's `-top` states them (its header line).
        let top = std::fs::read_to_string(format!("{DIR}/heap{i}.top.golden")).unwrap();
        let total: i64 = (0..p.samples.len())
            .map(|k| p.samples.get(k).values[3])
            .sum();
        let mb = format!("{:.2}MB total", total as f64 / (1024.0 * 1024.0));
        assert!(top.contains(&mb), "heap{i}: {mb} not in\n{top}");
    }
}

#[test]
fn frames_are_named_from_the_text() {
    let p = Profile::from_path(format!("{DIR}/heap3.txt")).unwrap();
    let names: std::collections::HashSet<&str> = p.functions.iter().map(|f| &*f.name).collect();
    for want in [
        "main.(*profileCache).Put",
        "bytes.Clone",
        "net/http.(*conn).serve",
    ] {
        assert!(names.contains(want), "{want} missing");
    }
    let clone = p
        .functions
        .iter()
        .find(|f| &*f.name == "bytes.Clone")
        .unwrap();
    assert!(
        clone.filename.ends_with("bytes/bytes.go"),
        "{}",
        clone.filename
    );
    // `top` reads like a .pb.gz profile's: the growing cache is named.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_heapframe"))
        .args(["top", &format!("{DIR}/heap3.txt")])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(text.contains("bytes.Clone"), "{text}");
    assert!(!text.contains("<unknown>"), "{text}");
}

#[test]
fn growth_across_text_snapshots() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_heapframe"))
        .args([
            "growth",
            &format!("{DIR}/heap1.txt"),
            &format!("{DIR}/heap2.txt"),
            &format!("{DIR}/heap3.txt"),
            "--limit",
            "3",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("3 snapshots"), "{text}");
}

/// A text profile written as profile.proto reads back the same: what
/// `heapframe` makes of a pasted profile can be saved and shared as `.pb.gz`.
#[test]
fn a_text_profile_round_trips_through_protobuf() {
    let p = Profile::from_path(format!("{DIR}/heap2.txt")).unwrap();
    let bytes = heapframe::pprof::encode_gzip(&p.to_proto());
    let again = Profile::from_bytes(&bytes, "again").unwrap();
    for k in 0..p.samples.len() {
        let (a, b) = (p.samples.get(k), again.samples.get(k));
        assert_eq!(a.values, b.values, "sample {k}");
        assert_eq!(a.stack.to_vec(), b.stack.to_vec(), "sample {k}");
        assert_eq!(a.labels, b.labels, "sample {k}");
    }
    assert_eq!(again.samples, p.samples);
    assert_eq!(again.sample_types, p.sample_types);
    assert_eq!(again.time_nanos, p.time_nanos);
    assert_eq!(again.period, p.period);
}

/// Malformed text is refused with the file, the line and what is wrong.
#[test]
fn malformed_text_names_file_and_line() {
    let bad = "heap profile: 1: 2 [3: 4] @ heap/131072\n1: 512 [1: 512] @ 0x4g\n";
    let e = Profile::from_bytes(bad.as_bytes(), "pasted.txt")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pasted.txt") && e.contains("line 2") && e.contains("0x4g"),
        "{e}"
    );
    // Other legacy text (thread creation) is still refused plainly.
    let g = "threadcreate profile: total 3\n3 @ 0x1 0x2\n";
    let e = Profile::from_bytes(g.as_bytes(), "g.txt")
        .unwrap_err()
        .to_string();
    assert!(e.contains("g.txt") && e.contains("debug"), "{e}");
}

/// A fresh bundle folder whose heap/ holds the three captures as `names`.
fn text_bundle(tag: &str, names: [&str; 3]) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("legacy-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("heap")).unwrap();
    for (i, name) in names.iter().enumerate() {
        std::fs::copy(
            format!("{DIR}/heap{}.txt", i + 1),
            dir.join("heap").join(name),
        )
        .unwrap();
    }
    dir
}

/// A bundle whose heap/ holds only pasted `?debug=1` text: read, in the
/// order of their times (the trailer's LastGC), and ranked.
#[test]
fn a_bundle_of_text_snapshots() {
    // Names in the reverse of time order: the times decide.
    let dir = text_bundle("bundle", ["c.txt", "b.txt", "a.txt"]);
    let b = heapframe::evidence::Bundle::open(&dir).unwrap();
    let names: Vec<String> = b
        .heap
        .iter()
        .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["c.txt", "b.txt", "a.txt"]);
    assert!(b.heap[0].time_ms < b.heap[2].time_ms);
    let t = heapframe::growth::growth(&b.heap, &Default::default()).unwrap();
    assert_eq!(t.rows[0].key, "bytes.Clone");
    // A stray text file in heap/ is refused by name.
    std::fs::write(dir.join("heap/notes.txt"), "see the ticket\n").unwrap();
    let e = heapframe::evidence::Bundle::open(&dir)
        .unwrap_err()
        .to_string();
    assert!(e.contains("notes.txt"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `runtime.MemStats` trailers of text snapshots become metric points
/// at the snapshots' times (a folder of pasted files has a heap series),
/// and the verdict on three of them says it is not enough.
#[test]
fn trailers_become_metric_points() {
    use heapframe::evidence::metrics::names;
    let dir = text_bundle("metrics", ["1.txt", "2.txt", "3.txt"]);
    let b = heapframe::evidence::Bundle::open(&dir).unwrap();
    let inuse = b.metrics.points(names::HEAP_INUSE);
    let want: Vec<f64> = (1..=3)
        .map(|i| {
            let t = std::fs::read_to_string(format!("{DIR}/heap{i}.txt")).unwrap();
            t.lines()
                .find_map(|l| l.strip_prefix("# HeapInuse = "))
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(inuse.iter().map(|p| p.1).collect::<Vec<_>>(), want);
    assert_eq!(
        inuse.iter().map(|p| p.0).collect::<Vec<_>>(),
        b.heap.iter().map(|s| s.time_ms).collect::<Vec<_>>()
    );
    assert_eq!(b.metrics.points(names::GC_COUNT).len(), 3);
    let v = heapframe::evidence::verdict::verdict(&b.metrics);
    assert_eq!(
        v.verdict,
        heapframe::evidence::verdict::Verdict::NotEnoughData
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
