//! The model and the tables: every field survives, ids resolve, tables have
//! the documented shape and add up to the profile.

use std::path::{Path, PathBuf};

use heapframe::Profile;
use heapframe::tables::Tables;
use polars::prelude::*;

fn profile(name: &str) -> Profile {
    Profile::from_path(path(name)).unwrap()
}

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/conformance/profiles")
        .join(name)
}

const ALL: [&str; 9] = [
    "svc.heap.1.pb.gz",
    "svc.heap.2.pb.gz",
    "svc.allocs.pb.gz",
    "svc.goroutine.pb.gz",
    "bigtree.heap.pb.gz",
    "pprof.large.cpu.pb.gz",
    "pprof.sample.cpu.pb.gz",
    "pprof.cppbench_no_sample_type.cpu.pb.gz",
    "pprof.nomappings.crash.pb.gz",
];

/// Every profile the repository holds: conformance, captures and bundles.
fn every_fixture() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut out = Vec::new();
    let mut dirs = vec![
        root.join("data/conformance/profiles"),
        root.join("fixtures"),
    ];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.to_string_lossy().ends_with(".pb.gz") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn direct_sample_reader_agrees_with_prost() {
    let files = every_fixture();
    assert!(files.len() > 50, "{} fixture profiles", files.len());
    let opts = heapframe::pprof::ReadOptions::default();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let direct = Profile::from_bytes(&bytes, "x").unwrap();
        let mut via_prost =
            Profile::from_proto(&heapframe::pprof::decode(&bytes, &opts).unwrap()).unwrap();
        via_prost.source = "x".into();
        assert_eq!(direct, via_prost, "{}", f.display());
    }
}

#[test]
fn errors_name_the_first_bad_sample() {
    use heapframe::ProfileError;
    let bytes = std::fs::read(path("pprof.large.cpu.pb.gz")).unwrap();
    let mut m = heapframe::pprof::decode(&bytes, &Default::default()).unwrap();
    let n = m.sample.len();
    m.sample[n - 3].location_id.push(999_999_999);
    m.sample[n / 2 + 1].value.pop();
    let bad = heapframe::pprof::encode_gzip(&m);
    match Profile::from_bytes(&bad, "bad.pb.gz").map_err(|e| match e {
        heapframe::Error::Profile { error, .. } => error,
        e => panic!("{e}"),
    }) {
        Err(ProfileError::ValueCount { sample, .. }) => assert_eq!(sample, n / 2 + 1),
        other => panic!("{other:?}"),
    }
    // The report read straight from the bytes refuses them the same way.
    let same_error = |bad: &[u8]| {
        let direct = heapframe::report::top_bytes(bad, "bad.pb.gz", &Default::default())
            .unwrap_err()
            .to_string();
        let decoded = Profile::from_bytes(bad, "bad.pb.gz")
            .unwrap_err()
            .to_string();
        assert_eq!(direct, decoded);
    };
    same_error(&bad);
    m.sample[n / 2 + 1] = m.sample[0].clone();
    let bad = heapframe::pprof::encode_gzip(&m);
    same_error(&bad);
    match Profile::from_bytes(&bad, "bad.pb.gz").map_err(|e| match e {
        heapframe::Error::Profile { error, .. } => error,
        e => panic!("{e}"),
    }) {
        Err(ProfileError::DanglingLocation { sample, id }) => {
            assert_eq!((sample, id), (n - 3, 999_999_999))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn encode_decode_round_trip_keeps_every_field() {
    for name in ALL {
        let p = profile(name);
        let bytes = heapframe::pprof::encode_gzip(&p.to_proto());
        let mut q = Profile::from_bytes(&bytes, "again").unwrap();
        q.source = p.source.clone();
        assert_eq!(p, q, "{name}");
    }
}

#[test]
fn go_heap_profile_fields() {
    let p = profile("svc.heap.2.pb.gz");
    let types: Vec<String> = p
        .sample_types
        .iter()
        .map(|t| format!("{}/{}", t.name, t.unit))
        .collect();
    assert_eq!(
        types,
        [
            "alloc_objects/count",
            "alloc_space/bytes",
            "inuse_objects/count",
            "inuse_space/bytes"
        ]
    );
    assert_eq!(&*p.period_type.name, "space");
    assert_eq!(p.period, 512 * 1024);
    assert!(p.time_nanos > 0);
    assert_eq!(
        &*p.mappings[0].build_id,
        "167006a7d29db2cddc89b55bb6c998b743cc872f"
    );
    // Inlined frames: several lines in one location, the caller last.
    let inlined = p
        .locations
        .iter()
        .find(|l| l.lines.len() > 1)
        .expect("an inlined location");
    let names: Vec<&str> = inlined
        .lines
        .iter()
        .map(|l| &*p.functions[l.function as usize].name)
        .collect();
    assert!(names.len() >= 2, "{names:?}");
    // Go's numeric `bytes` label (object size) on heap samples.
    assert!(p.samples.iter().any(|s| s.num_label("bytes").is_some()));
    assert_eq!(p.sample_index(Some("inuse_objects")).unwrap(), 2);
    assert_eq!(p.sample_index(Some("1")).unwrap(), 1);
    assert!(p.sample_index(Some("9")).is_err());
    let allocs = profile("svc.allocs.pb.gz");
    assert_eq!(&*allocs.default_sample_type, "alloc_space");
    assert_eq!(allocs.default_sample_index(), 1);
}

#[test]
fn samples_table_matches_the_profile() {
    let p = profile("svc.heap.2.pb.gz");
    let t = Tables::from_profile(&p).unwrap();
    let s = &t.samples;
    assert_eq!(s.height(), p.samples.len());
    let names: Vec<&str> = s.get_column_names().iter().map(|n| n.as_str()).collect();
    for c in [
        "snapshot",
        "time",
        "stack_id",
        "alloc_objects",
        "alloc_space",
        "inuse_objects",
        "inuse_space",
        "object_size",
        "leaf",
    ] {
        assert!(names.contains(&c), "missing column {c} in {names:?}");
    }
    let want: i64 = p.samples.iter().map(|x| x.values[3]).sum();
    let got: i64 = s
        .column("inuse_space")
        .unwrap()
        .i64()
        .unwrap()
        .sum()
        .unwrap();
    assert_eq!(got, want);
    assert!(matches!(
        s.column("time").unwrap().dtype(),
        DataType::Datetime(TimeUnit::Nanoseconds, _)
    ));
    let leaves = s.column("leaf").unwrap().str().unwrap().clone();
    assert!(leaves.iter().any(|l| l == Some("bytes.Clone")));
    // Call paths are made on demand, one per distinct stack.
    let paths = t.paths().unwrap();
    assert_eq!(paths.height(), t.stacks.height());
    let paths = paths.column("path").unwrap().str().unwrap().clone();
    assert!(
        paths
            .iter()
            .flatten()
            .any(|p| p.starts_with("runtime.main -> main.main") && p.ends_with("bytes.Clone"))
    );
    // The samples stay narrow: the stack's text is in `stacks`.
    assert!(s.column("path").is_err());
    assert_eq!(t.unit("inuse_space"), Some("bytes"));
    assert_eq!(t.unit("inuse_objects"), Some("count"));
}

#[test]
fn frames_table_describes_each_stack_once() {
    let p = profile("svc.heap.2.pb.gz");
    let t = Tables::from_profile(&p).unwrap();
    let f = &t.frames().unwrap();
    let stacks = t.samples.column("stack_id").unwrap().n_unique().unwrap();
    assert_eq!(t.stacks.height(), stacks);
    let depth = f.column("depth").unwrap().u32().unwrap();
    let leaves = depth.iter().filter(|d| *d == Some(0)).count();
    assert_eq!(leaves, stacks);
    let total_frames: usize = {
        let mut seen = std::collections::HashSet::new();
        p.samples
            .iter()
            .filter(|s| seen.insert(s.stack.to_vec()))
            .map(|s| {
                s.stack
                    .iter()
                    .map(|l| p.locations[l as usize].lines.len())
                    .sum::<usize>()
            })
            .sum()
    };
    assert!(f.height() <= total_frames);
    let inlined = f.column("inlined").unwrap().bool().unwrap().sum().unwrap();
    assert!(inlined > 0);
}

#[test]
fn stacked_snapshots_share_stack_ids() {
    let a = profile("svc.heap.1.pb.gz");
    let b = profile("svc.heap.2.pb.gz");
    let t = Tables::from_snapshots(&[&a, &b]).unwrap();
    let s = &t.samples;
    assert_eq!(s.height(), a.samples.len() + b.samples.len());
    let snap = s.column("snapshot").unwrap().u32().unwrap().clone();
    let ids = s.column("stack_id").unwrap().u32().unwrap().clone();
    let paths = t.paths().unwrap();
    let path_by_id: std::collections::HashMap<u32, String> = paths
        .column("stack_id")
        .unwrap()
        .u32()
        .unwrap()
        .iter()
        .zip(paths.column("path").unwrap().str().unwrap().iter())
        .map(|(i, p)| (i.unwrap(), p.unwrap().to_string()))
        .collect();
    // The path of each sample, from the profile itself.
    let own_path = |p: &Profile, i: usize| -> String {
        let mut names: Vec<String> = p
            .frames(p.samples.get(i).stack)
            .map(|f| f.function.name.to_string())
            .collect();
        names.reverse();
        names.join(" -> ")
    };
    let mut shared = 0;
    let mut seen_in_first = std::collections::HashSet::new();
    for (row, (sn, id)) in snap.iter().zip(ids.iter()).enumerate() {
        let (sn, id) = (sn.unwrap(), id.unwrap());
        let path = if sn == 0 {
            seen_in_first.insert(id);
            own_path(&a, row)
        } else {
            if seen_in_first.contains(&id) {
                shared += 1;
            }
            own_path(&b, row - a.samples.len())
        };
        // One id, one call path, whichever snapshot it appears in.
        assert_eq!(path_by_id[&id], path);
    }
    assert!(shared > 0, "no stack seen in both snapshots");
}

#[test]
fn other_profile_kinds_have_their_own_value_columns() {
    let g = Tables::from_profile(&profile("svc.goroutine.pb.gz")).unwrap();
    assert!(g.samples.column("goroutine").is_ok());
    let c = Tables::from_profile(&profile("pprof.large.cpu.pb.gz")).unwrap();
    assert!(c.samples.column("samples").is_ok() && c.samples.column("cpu").is_ok());
    let n = Tables::from_profile(&profile("pprof.nomappings.crash.pb.gz")).unwrap();
    assert_eq!(
        n.samples.height(),
        profile("pprof.nomappings.crash.pb.gz").samples.len()
    );
}
