//! `heapframe export` and the Parquet dataset: what it holds, read back with
//! polars; exporting twice; stable stack ids; hostile names; a damaged
//! dataset.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use heapframe::dataset::{Dataset, Origin, Selection};
use heapframe::evidence::bundle::{Bundle, SnapshotKind};
use polars::prelude::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heapframe"))
}

fn bundle(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bundles")
        .join(name)
}

/// A fresh folder, removed when dropped.
struct Scratch(PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("heapframe-dataset-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// All `.parquet` files under `dir/table`, stacked (columns in common).
fn read_table(dir: &Path, table: &str) -> DataFrame {
    let mut frames: Vec<DataFrame> = files(&dir.join(table))
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
        .map(|f| {
            let file = std::fs::File::open(dir.join(table).join(&f)).unwrap();
            ParquetReader::new(file).finish().unwrap()
        })
        .collect();
    let mut all = frames.remove(0);
    for f in frames {
        let cols: Vec<String> = all
            .get_column_names()
            .iter()
            .filter(|c| f.column(c.as_str()).is_ok())
            .map(|c| c.to_string())
            .collect();
        all = all.select(cols.clone()).unwrap();
        all.vstack_mut(&f.select(cols).unwrap()).unwrap();
    }
    all
}

fn export(out: &Path, args: &[&str]) -> String {
    let o = bin()
        .arg("export")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn a_bundle_exports_to_tables_that_hold_its_profiles() {
    let s = scratch("holds");
    let ds = s.0.join("ds");
    let dir = bundle("mapcache");
    let said = export(&ds, &[dir.to_str().unwrap(), "--service", "leakysvc"]);
    let b = Bundle::open(&dir).unwrap();
    let n_snap: usize = SnapshotKind::ALL
        .iter()
        .map(|&k| b.snapshots(k).len())
        .sum();
    assert!(
        said.contains(&format!("{n_snap} snapshots written")),
        "{said}"
    );

    let snaps = read_table(&ds, "snapshots");
    assert_eq!(snaps.height(), n_snap);
    for c in [
        "snapshot_id",
        "content_hash",
        "instance",
        "kind",
        "time_ms",
        "sample_types",
        "period",
        "period_type",
        "source",
        "samples",
    ] {
        assert!(snaps.column(c).is_ok(), "snapshots lacks {c}");
    }
    // The instance is the manifest target's host:port.
    let inst = snaps
        .column("instance")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap()
        .to_string();
    assert!(inst.starts_with("127.0.0.1:"), "{inst}");
    // Hive partitions: service, then date (and kind for samples).
    for f in files(&ds.join("snapshots")) {
        assert!(f.starts_with("service=leakysvc/date=20"), "{f}");
    }
    for f in files(&ds.join("samples")) {
        assert!(f.starts_with("service=leakysvc/kind="), "{f}");
    }

    // Each heap snapshot's inuse_space in the dataset is the profile's.
    for k in SnapshotKind::ALL {
        let want: usize = b.snapshots(k).iter().map(|s| s.profile.samples.len()).sum();
        let part = format!("samples/service=leakysvc/kind={}", k.dir());
        let got = if want == 0 {
            0
        } else {
            read_table(&ds, &part).height()
        };
        assert_eq!(got, want, "{part}");
    }
    let samples = read_table(&ds, "samples/service=leakysvc/kind=heap");
    let ids = snaps.column("snapshot_id").unwrap().i64().unwrap();
    let times = snaps.column("time_ms").unwrap().i64().unwrap();
    let kinds = snaps.column("kind").unwrap().str().unwrap();
    let mut by_time: BTreeMap<i64, i64> = BTreeMap::new();
    for i in 0..snaps.height() {
        if kinds.get(i) == Some("heap") {
            by_time.insert(times.get(i).unwrap(), ids.get(i).unwrap());
        }
    }
    assert_eq!(by_time.len(), b.heap.len());
    let sid = samples.column("snapshot_id").unwrap().i64().unwrap();
    let inuse = samples.column("inuse_space").unwrap().i64().unwrap();
    for s in &b.heap {
        let id = by_time[&s.time_ms];
        let got: i64 = (0..samples.height())
            .filter(|&i| sid.get(i) == Some(id))
            .map(|i| inuse.get(i).unwrap_or(0))
            .sum();
        let i = s
            .profile
            .sample_types
            .iter()
            .position(|t| &*t.name == "inuse_space")
            .unwrap();
        let want: i64 = s.profile.samples.iter().map(|x| x.values[i]).sum();
        assert_eq!(got, want, "{}", s.path.display());
    }
    // Heap samples carry Go's object size.
    let sizes = samples.column("object_size").unwrap().i64().unwrap();
    assert!(sizes.iter().flatten().any(|v| v > 0));

    // Every stack a sample names is in `stacks`, once, with depth 0..n.
    let stacks = read_table(&ds, "stacks");
    let st_id = stacks.column("stack_id").unwrap().i64().unwrap();
    let depth = stacks.column("depth").unwrap().u32().unwrap();
    let mut seen: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
    for i in 0..stacks.height() {
        seen.entry(st_id.get(i).unwrap())
            .or_default()
            .push(depth.get(i).unwrap());
    }
    for (id, d) in &seen {
        let want: Vec<u32> = (0..d.len() as u32).collect();
        assert_eq!(d, &want, "stack {id} written more than once or with gaps");
    }
    let stack_of = samples.column("stack_id").unwrap().i64().unwrap();
    let missing = stack_of
        .iter()
        .flatten()
        .filter(|id| !seen.contains_key(id))
        .collect::<HashSet<_>>();
    // Only the empty stack (no symbolized frames) may be absent.
    assert!(missing.len() <= 1, "{missing:?}");

    // Metrics: one row per sample of the bundle.
    let metrics = read_table(&ds, "metrics");
    assert_eq!(metrics.height(), b.metrics.samples.len());
}

#[test]
fn exporting_again_adds_nothing_and_stacks_keep_their_ids() {
    let s = scratch("again");
    let ds = s.0.join("ds");
    let a = bundle("mapcache");
    export(&ds, &[a.to_str().unwrap(), "--service", "svc-a"]);
    let before = files(&ds);
    let said = export(&ds, &[a.to_str().unwrap(), "--service", "svc-a"]);
    assert!(said.contains(": 0 snapshots written"), "{said}");
    assert!(said.contains("0 metric rows"), "{said}");
    assert_eq!(files(&ds), before);

    // The same profiles under another service: new snapshot rows? No, the
    // content hash is the same file; a different bundle of the same program
    // shares most stacks, which are not written again.
    let stacks_before = read_table(&ds, "stacks").height();
    let said = export(
        &ds,
        &[bundle("fixed").to_str().unwrap(), "--service", "svc-b"],
    );
    assert!(!said.contains(": 0 snapshots written"), "{said}");
    let stacks = read_table(&ds, "stacks");
    let ids = stacks.column("stack_id").unwrap().i64().unwrap();
    let depth = stacks.column("depth").unwrap().u32().unwrap();
    let roots: Vec<i64> = (0..stacks.height())
        .filter(|&i| depth.get(i) == Some(0))
        .map(|i| ids.get(i).unwrap())
        .collect();
    let distinct: HashSet<i64> = roots.iter().copied().collect();
    assert_eq!(roots.len(), distinct.len(), "a stack was written twice");
    assert!(stacks.height() > stacks_before);

    // Both services' samples name shared stacks by the same ids.
    let samples = read_table(&ds, "samples");
    let sid = samples.column("stack_id").unwrap().i64().unwrap();
    let snaps = read_table(&ds, "snapshots");
    assert_eq!(
        snaps.height(),
        files(&ds.join("snapshots")).len(),
        "one row per snapshot file"
    );
    let used: HashSet<i64> = sid.iter().flatten().collect();
    let shared = used.iter().filter(|id| distinct.contains(id)).count();
    assert!(shared > 10, "{shared}");
}

#[test]
fn the_library_skips_what_it_holds_and_ids_are_stable_across_services() {
    let s = scratch("lib");
    let b = Bundle::open(bundle("lru")).unwrap();
    let mut d = Dataset::open(s.0.join("ds")).unwrap();
    let one = Origin {
        service: "one".into(),
        instance: "a".into(),
    };
    let first = d.export(&b, &one).unwrap();
    assert!(first.snapshots > 0 && first.stacks > 0);
    // Reopened: it knows its snapshots and stacks.
    let mut d = Dataset::open(s.0.join("ds")).unwrap();
    let again = d.export(&b, &one).unwrap();
    assert_eq!(again.snapshots, 0);
    assert_eq!(again.snapshots_present, first.snapshots);
    assert_eq!(again.stacks, 0);
    assert_eq!(again.metric_rows, 0);
}

#[test]
fn hostile_service_names_stay_inside_their_partition() {
    let s = scratch("hostile");
    let ds = s.0.join("ds");
    let evil = "../../escape/\u{202e}svc\n<x>";
    export(
        &ds,
        &[
            bundle("lru").to_str().unwrap(),
            "--service",
            evil,
            "--instance",
            "i\n1",
        ],
    );
    // Nothing outside the dataset, every path one folder per level.
    assert!(!s.0.join("escape").exists());
    for f in files(&ds) {
        let parts: Vec<&str> = f.split('/').collect();
        assert!(parts.iter().all(|p| !p.starts_with("..")), "{f}");
        assert!(f.is_ascii(), "{f:?}");
        if parts[0] != "stacks" {
            assert!(parts[1].starts_with("service=%2E.%2F"), "{f}");
        }
    }
    // An empty service is refused, naming the input.
    let o = bin()
        .args(["export", bundle("lru").to_str().unwrap(), "--service", ""])
        .arg("--out")
        .arg(&ds)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("service"), "{err}");
}

#[test]
fn loose_files_need_a_service_and_a_damaged_dataset_is_named() {
    let s = scratch("loose");
    let ds = s.0.join("ds");
    let heap = bundle("lru").join("heap");
    let one = std::fs::read_dir(&heap)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let o = bin()
        .arg("export")
        .arg(&one)
        .arg("--out")
        .arg(&ds)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--service"), "{err}");
    export(&ds, &[one.to_str().unwrap(), "--service", "svc"]);
    let snaps = read_table(&ds, "snapshots");
    assert_eq!(
        snaps.column("instance").unwrap().str().unwrap().get(0),
        Some("unknown")
    );

    // A leftover temporary file is not part of the dataset.
    std::fs::write(ds.join("stacks/.x.parquet.heapframe-tmp-1-00"), b"partial").unwrap();
    Dataset::open(&ds).unwrap();
    // A damaged stacks file is named.
    let bad = ds.join("stacks/bad.parquet");
    std::fs::write(&bad, b"PAR1 not really").unwrap();
    let e = Dataset::open(&ds).unwrap_err().to_string();
    assert!(e.contains("bad.parquet"), "{e}");
}

fn run(args: &[&str]) -> (bool, String, String) {
    let o = bin().args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn growth_top_and_verdict_read_the_dataset_as_they_read_the_bundle() {
    let s = scratch("roundtrip");
    let ds = s.0.join("ds");
    let ds = ds.to_str().unwrap();
    for (name, service) in [("mapcache", "leakysvc"), ("goroutines", "gsvc")] {
        let dir = bundle(name);
        let dir = dir.to_str().unwrap();
        export(Path::new(ds), &[dir, "--service", service]);
        let from = ["--dataset", ds, "--service", service];
        for kind in ["heap", "goroutine"] {
            let a = run(&[&["growth", "--kind", kind][..], &from[..]].concat());
            let b = run(&["growth", dir, "--kind", kind]);
            assert!(a.0 && b.0, "{name} {kind}: {} / {}", a.2, b.2);
            assert_eq!(a.1, b.1, "{name} {kind}: growth differs");
        }
        let csv = run(&[&["growth", "--format", "csv"][..], &from[..]].concat());
        assert_eq!(csv.1, run(&["growth", dir, "--format", "csv"]).1);
        let v = run(&[&["verdict"][..], &from[..]].concat());
        assert!(v.0, "{}", v.2);
        assert_eq!(v.1, run(&["verdict", dir]).1, "{name}: verdict differs");
        // top: the latest heap snapshot, and -base of the first.
        let heap = Bundle::open(bundle(name)).unwrap().heap;
        let (first, last) = (heap[0].path.clone(), heap[heap.len() - 1].path.clone());
        let t = run(&[&["top"][..], &from[..]].concat());
        assert!(t.0, "{}", t.2);
        assert_eq!(
            t.1,
            run(&["top", last.to_str().unwrap()]).1,
            "{name}: top differs"
        );
        let t = run(&[&["top", "--base-first"][..], &from[..]].concat());
        let want = run(&[
            "top",
            last.to_str().unwrap(),
            "--base",
            first.to_str().unwrap(),
        ]);
        assert_eq!(t.1, want.1, "{name}: top --base-first differs");
    }
}

#[test]
fn selections_narrow_by_instance_and_time_and_say_what_is_missing() {
    let s = scratch("select");
    let ds = s.0.join("ds");
    let dir = bundle("mapcache");
    export(
        &ds,
        &[
            dir.to_str().unwrap(),
            "--service",
            "leakysvc",
            "--instance",
            "pod-1",
        ],
    );
    let d = Dataset::read(&ds).unwrap();
    let all = d
        .snapshots(SnapshotKind::Heap, &Selection::service("leakysvc"))
        .unwrap();
    let b = Bundle::open(&dir).unwrap();
    assert_eq!(all.len(), b.heap.len());
    let mid = all[all.len() / 2].time_ms;
    let later = Selection {
        since_ms: Some(mid),
        ..Selection::service("leakysvc")
    };
    let got = d.snapshots(SnapshotKind::Heap, &later).unwrap();
    assert_eq!(got.len(), all.iter().filter(|s| s.time_ms >= mid).count());
    assert!(got.iter().all(|s| s.time_ms >= mid));
    let other = Selection {
        instance: Some("pod-2".into()),
        ..Selection::service("leakysvc")
    };
    assert!(d.snapshots(SnapshotKind::Heap, &other).unwrap().is_empty());
    assert!(d.metrics(&other).unwrap().samples.is_empty());
    assert_eq!(
        d.metrics(&Selection::service("leakysvc"))
            .unwrap()
            .samples
            .len(),
        b.metrics.samples.len()
    );
    assert_eq!(d.services().unwrap(), vec!["leakysvc".to_string()]);

    // The command says what it looked for and what the dataset holds.
    let growth_of = |flag: &str, value: &str| {
        let dataset = ds.to_str().unwrap();
        run(&[
            "growth",
            "--dataset",
            dataset,
            "--service",
            "leakysvc",
            flag,
            value,
        ])
    };
    let (ok, _, err) = growth_of("--instance", "pod-2");
    assert!(!ok);
    assert!(
        err.contains("no heap snapshots of service leakysvc (instance pod-2)"),
        "{err}"
    );
    assert!(err.contains("it holds leakysvc"), "{err}");
    let (ok, _, err) = growth_of("--since", "yesterday");
    assert!(!ok);
    assert!(err.contains("--since"), "{err}");
    // A dataset that is not there is named; a read-only one refuses appends.
    let missing = s.0.join("nothing");
    let e = Dataset::read(&missing).unwrap_err().to_string();
    assert!(e.contains("nothing"), "{e}");
    let mut ro = Dataset::read(&ds).unwrap();
    let origin = Origin {
        service: "x".into(),
        instance: "y".into(),
    };
    assert!(ro.export(&b, &origin).is_err());
}

#[test]
fn fleet_ranks_every_service_as_growth_ranks_each() {
    let s = scratch("fleet");
    let ds = s.0.join("ds");
    let names = ["mapcache", "lru", "goroutines"];
    for n in names {
        export(&ds, &[bundle(n).to_str().unwrap(), "--service", n]);
    }
    let (ok, out, err) = run(&[
        "fleet",
        ds.to_str().unwrap(),
        "--format",
        "csv",
        "--limit",
        "3",
    ]);
    assert!(ok, "{err}");
    let df = CsvReader::new(std::io::Cursor::new(out.into_bytes()))
        .finish()
        .unwrap();
    assert_eq!(df.height(), 3 * names.len());
    let service = df.column("service").unwrap().str().unwrap().clone();
    let key = df.column("key").unwrap().str().unwrap().clone();
    let delta = df.column("delta").unwrap().i64().unwrap().clone();
    for n in names {
        let (ok, want, _) = run(&["growth", bundle(n).to_str().unwrap(), "--format", "csv"]);
        assert!(ok);
        let want = CsvReader::new(std::io::Cursor::new(want.into_bytes()))
            .finish()
            .unwrap();
        let wk = want.column("key").unwrap().str().unwrap();
        let wd = want.column("delta").unwrap().i64().unwrap();
        let rows: Vec<usize> = (0..df.height())
            .filter(|&i| service.get(i) == Some(n))
            .collect();
        assert_eq!(rows.len(), 3, "{n}");
        for (rank, &i) in rows.iter().enumerate() {
            assert_eq!(key.get(i), wk.get(rank), "{n} rank {rank}");
            assert_eq!(delta.get(i), wd.get(rank), "{n} rank {rank}");
        }
    }
    // Text names each service; a selection with nothing in it is an error.
    let (ok, text, _) = run(&["fleet", ds.to_str().unwrap()]);
    assert!(ok);
    for n in names {
        assert!(text.contains(&format!("{n}: 7 snapshots")), "{text}");
    }
    let (ok, _, err) = run(&["fleet", ds.to_str().unwrap(), "--instance", "nowhere:1"]);
    assert!(!ok);
    assert!(err.contains("no heap snapshots in the selection"), "{err}");
}

/// Exports the four replicas of tests/fixtures/replicas (one bundle of
/// four instances) to `ds`; returns the bundle's folder.
fn export_replicas(ds: &Path) -> PathBuf {
    let replicas = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replicas");
    export(ds, &[replicas.to_str().unwrap()]);
    replicas
}

/// The replica demo: four replicas of the leaky service captured at the
/// same time (tests/fixtures/capture-replicas.sh), two of them leaking.
#[test]
fn verdict_by_instance_names_the_replicas_that_leak() {
    let s = scratch("replicas");
    let ds = s.0.join("ds");
    let replicas = export_replicas(&ds);

    let chart = s.0.join("replicas.svg");
    let (ok, out, err) = run(&[
        "verdict",
        "--dataset",
        ds.to_str().unwrap(),
        "--service",
        "leakysvc",
        "--by-instance",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("leakysvc: 4 instances"), "{out}");
    for (i, word) in [
        (1, "leak"),
        (2, "not a leak"),
        (3, "leak"),
        (4, "not a leak"),
    ] {
        assert!(
            out.contains(&format!("  replica-{i}: {word} (confidence")),
            "replica-{i} should be {word}:\n{out}"
        );
    }
    assert!(out.contains("leak: replica-1, replica-3 (2 of 4)"), "{out}");
    assert!(out.contains("not a leak: replica-2, replica-4"), "{out}");
    // Each leaking replica names what grows in it.
    assert!(out.contains("grows most: bytes.Clone (steadily)"), "{out}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    roxmltree::Document::parse(&svg).expect("the chart is XML");
    for i in 1..=4 {
        assert!(
            svg.contains(&format!("replica-{i}")),
            "legend lacks replica-{i}"
        );
    }
    // One instance: the same verdict as that replica's bundle.
    let (ok, one, _) = run(&[
        "verdict",
        "--dataset",
        ds.to_str().unwrap(),
        "--service",
        "leakysvc",
        "--instance",
        "replica-2",
    ]);
    assert!(ok);
    let (_, direct, _) = run(&[
        "verdict",
        replicas.to_str().unwrap(),
        "--instance",
        "replica-2",
    ]);
    assert_eq!(one, direct);
    // The bundle itself, compared without a dataset: the same verdicts.
    let (ok, from_bundle, err) = run(&["verdict", replicas.to_str().unwrap(), "--by", "instance"]);
    assert!(ok, "{err}");
    let judged = |t: &str| t.lines().take(6).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(judged(&from_bundle), judged(&out));
}

#[test]
fn the_page_shows_the_replicas_side_by_side_and_escapes_their_names() {
    let s = scratch("page");
    let ds = s.0.join("ds");
    let replicas = export_replicas(&ds);
    // A fifth instance with a hostile name.
    export(
        &ds,
        &[
            bundle("lru").to_str().unwrap(),
            "--service",
            "leakysvc",
            "--instance",
            "<script>alert(1)</script>",
        ],
    );
    let page = s.0.join("page.html");
    let (ok, out, err) = run(&[
        "report",
        replicas.to_str().unwrap(),
        "--instance",
        "replica-1",
        "--replicas",
        ds.to_str().unwrap(),
        "-o",
        page.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Replicas: 2 of 5 instances leak: replica-1, replica-3"),
        "{out}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let section = common::page_section(&html, "replicas");
    assert_eq!(
        section.matches("<tr class=\"hf-verdict-leak\">").count(),
        2,
        "{section}"
    );
    assert_eq!(
        section
            .matches("<tr class=\"hf-verdict-not-a-leak\">")
            .count(),
        3,
        "{section}"
    );
    assert!(section.contains("<svg"), "no chart");
    assert!(
        !html.contains("<script>alert(1)"),
        "an instance name was not escaped"
    );
    assert!(section.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Markdown has no replicas section: refused, not ignored.
    let (ok, _, err) = run(&[
        "report",
        replicas.to_str().unwrap(),
        "--instance",
        "replica-1",
        "--replicas",
        ds.to_str().unwrap(),
        "--format",
        "md",
        "-o",
        s.0.join("md").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("--replicas"), "{err}");
}

#[test]
fn a_damaged_dataset_gives_errors_that_name_the_file() {
    let s = scratch("damaged");
    let ds = s.0.join("ds");
    export(&ds, &[bundle("lru").to_str().unwrap(), "--service", "svc"]);
    let growth = || {
        run(&[
            "growth",
            "--dataset",
            ds.to_str().unwrap(),
            "--service",
            "svc",
        ])
    };
    assert!(growth().0);
    let heap: Vec<String> = files(&ds.join("samples/service=svc/kind=heap"));
    let (a, b) = (
        ds.join("samples/service=svc/kind=heap").join(&heap[0]),
        ds.join("samples/service=svc/kind=heap").join(&heap[1]),
    );
    // Another snapshot's samples under this snapshot's name.
    let kept = std::fs::read(&a).unwrap();
    std::fs::copy(&b, &a).unwrap();
    let (ok, _, err) = growth();
    assert!(!ok);
    assert!(
        err.contains(&heap[0]) && err.contains("snapshot_id"),
        "{err}"
    );
    // Not Parquet at all.
    std::fs::write(&a, b"PAR1 garbage PAR1").unwrap();
    let (ok, _, err) = growth();
    assert!(!ok);
    assert!(err.contains(&heap[0]), "{err}");
    // A stack the samples name is gone from `stacks`.
    std::fs::write(&a, kept).unwrap();
    assert!(growth().0);
    for f in files(&ds.join("stacks")) {
        std::fs::remove_file(ds.join("stacks").join(f)).unwrap();
    }
    let (ok, _, err) = growth();
    assert!(!ok);
    assert!(err.contains("is not in the dataset's stacks"), "{err}");
}
