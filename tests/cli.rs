//! The `heapframe` command: output, exit codes and error lines.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heapframe"))
}

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/conformance")
        .join(p)
}

#[test]
fn top_prints_pprof_text() {
    let out = bin()
        .arg("top")
        .arg(data("profiles/svc.heap.2.pb.gz"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let want = std::fs::read_to_string(data("goldens/heap2.top.txt")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
}

#[test]
fn top_with_flags_matches_pprof() {
    let out = bin()
        .args(["top", "--sample-index", "inuse_objects", "--base"])
        .arg(data("profiles/svc.heap.1.pb.gz"))
        .arg(data("profiles/svc.heap.2.pb.gz"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = std::fs::read_to_string(data("goldens/heap.base.objects.txt")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("heapframe-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("truncated.pb.gz");
    let good = std::fs::read(data("profiles/svc.heap.2.pb.gz")).unwrap();
    std::fs::write(&bad, &good[..good.len() / 2]).unwrap();
    let out = bin().arg("top").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("truncated.pb.gz") && err.contains("gzip"),
        "{err}"
    );
    let out = bin()
        .args(["top", "does-not-exist.pb.gz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("does-not-exist.pb.gz: cannot read")
    );
}

#[test]
fn table_formats() {
    let out = bin()
        .args(["top", "--format", "csv", "--nodecount", "2"])
        .arg(data("profiles/svc.heap.2.pb.gz"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "name,function,file,line,inline,flat,flat_pct,sum_pct,cum,cum_pct"
    );
    // With two nodes kept, the inlining caller is gone and so is the tag (as in pprof).
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("bytes.Clone,bytes.Clone,\"\",0,\"\",138614882,")
    );
    assert_eq!(lines.count(), 1);

    let out = bin()
        .args(["top", "--format", "json"])
        .arg(data("profiles/svc.goroutine.pb.gz"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(
        json.starts_with('[') && json.contains("\"name\":\"runtime.gopark\""),
        "{json}"
    );

    let dir = std::env::temp_dir().join(format!("heapframe-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("top.parquet");
    let out = bin()
        .args(["top", "--format", "parquet", "-o"])
        .arg(&file)
        .arg(data("profiles/svc.heap.2.pb.gz"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    std::fs::remove_dir_all(&dir).unwrap();

    let out = bin()
        .args(["top", "--format", "parquet"])
        .arg(data("profiles/svc.heap.2.pb.gz"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn bundle(s: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bundles")
        .join(s)
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn growth_verdict_validate_checklist_commands() {
    let mapcache = bundle("mapcache");
    let fixed = bundle("fixed");
    let m = mapcache.to_str().unwrap();
    let f = fixed.to_str().unwrap();

    let (code, out, err) = run(&["growth", m, "--limit", "3"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.lines().nth(2).unwrap().ends_with("bytes.Clone"),
        "{out}"
    );
    assert!(
        out.contains("Code to read first: main.BuildResponse (the deepest application code"),
        "{out}"
    );

    let (code, out, _) = run(&["growth", m, "--by", "kind", "--format", "csv"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("rank,key,first,last,delta,"));
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with("1,encoding output,"),
        "{out}"
    );

    let (code, out, _) = run(&["verdict", m]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("verdict: leak\n"), "{out}");
    let (_, out, _) = run(&["verdict", f]);
    assert!(out.starts_with("verdict: not a leak\n"), "{out}");

    let (code, out, _) = run(&["validate", m, f]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("regression check: fixed\n"), "{out}");
    let (_, out, _) = run(&["validate", m, m]);
    assert!(out.starts_with("regression check: not fixed\n"), "{out}");

    let (code, out, _) = run(&["checklist", m]);
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().count(), 6);
    assert!(
        out.contains("[passed] pprof endpoint is internal-only"),
        "{out}"
    );
    assert!(
        out.contains("[  open] cache has a size limit and a TTL"),
        "{out}"
    );

    let (code, _, err) = run(&["verdict", "no/such/bundle"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no/such/bundle"), "{err}");
    let (code, _, err) = run(&["growth", m, "--by", "colour"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown growth key"), "{err}");
}

/// `growth FILES` ranks the kind the files are (their sample types say),
/// without `--kind`; files of several kinds are refused with the list of
/// which is which; `--kind` still picks one kind out of them.
#[test]
fn growth_of_files_infers_their_kind() {
    let m = bundle("mapcache");
    let g: Vec<String> = (1..=3)
        .map(|i| {
            m.join(format!("goroutine/00{i}.pb.gz"))
                .display()
                .to_string()
        })
        .collect();
    let h = m.join("heap/001.pb.gz").display().to_string();
    let gs: Vec<&str> = g.iter().map(|s| s.as_str()).collect();

    let (code, out, err) = run(&[&["growth"][..], &gs].concat());
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("3 snapshots over"), "{out}");
    assert!(out.contains("goroutine total 7"), "{out}");

    let (code, out, err) = run(&[&["growth", h.as_str()][..], &gs].concat());
    assert_eq!(code, Some(2), "{out}");
    assert!(
        err.contains("are of several kinds (heap: ")
            && err.contains("heap/001.pb.gz; goroutine: ")
            && err.contains("goroutine/003.pb.gz)")
            && err.contains("--kind"),
        "{err}"
    );

    let (code, out, err) = run(&[&["growth", "--kind", "goroutine", h.as_str()][..], &gs].concat());
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("goroutine total"), "{out}");
}
