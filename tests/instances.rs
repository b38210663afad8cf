//! Bundles of several instances (`instances/NAME/`, what `collect` writes
//! when given several targets): every command reads one instance with
//! `--instance`, `growth` and `verdict` compare them with `--by instance`,
//! the page shows them side by side, and a damaged or hostile layout gets
//! an error that names the folder. The collection itself is tested live
//! in tests/live.rs.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::{copy_dir, scratch};

fn replicas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replicas")
}

fn run(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_heapframe"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A copy of the replicas fixture to change.
fn replicas_copy(s: &Path) -> PathBuf {
    let to = s.join("replicas");
    copy_dir(&replicas(), &to);
    to
}

#[test]
fn growth_by_instance_puts_each_replicas_slope_side_by_side() {
    let r = replicas();
    let (ok, out, err) = run(&["growth", r.to_str().unwrap(), "--by", "instance"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("leakysvc: heap inuse_space by instance"),
        "{out}"
    );
    for i in 1..=4 {
        assert!(out.contains(&format!("\nreplica-{i} ")), "{out}");
    }
    let (ok, json, err) = run(&[
        "growth",
        r.to_str().unwrap(),
        "--by",
        "instance",
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.len(), 4);
    let slope = |i: usize| rows[i]["slope_per_min"].as_f64().unwrap();
    // The two leaking replicas grow several times faster than the others.
    for leaking in [0, 2] {
        for bounded in [1, 3] {
            assert!(slope(leaking) > 4.0 * slope(bounded), "{json}");
        }
    }
    assert_eq!(rows[0]["top_grower"], "bytes.Clone");
    assert_eq!(rows[0]["snapshots"], 7);
    // --instance keeps one; that instance's own ranking is the one its
    // folder gives.
    let (ok, one, _) = run(&[
        "growth",
        r.to_str().unwrap(),
        "--by",
        "instance",
        "--instance",
        "replica-3",
    ]);
    assert!(ok);
    assert_eq!(one.lines().filter(|l| l.starts_with("replica-")).count(), 1);
    let (_, by_name, _) = run(&["growth", r.to_str().unwrap(), "--instance", "replica-3"]);
    let (_, by_folder, _) = run(&["growth", r.join("instances/replica-3").to_str().unwrap()]);
    assert_eq!(by_name, by_folder);
    assert!(by_name.contains("bytes.Clone"));
}

#[test]
fn verdict_by_instance_on_the_bundle_names_the_leaking_replicas_and_draws_them() {
    let (_cleanup, s) = scratch("instances-verdict");
    let chart = s.join("r.svg");
    let (ok, out, err) = run(&[
        "verdict",
        replicas().to_str().unwrap(),
        "--by",
        "instance",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("leak: replica-1, replica-3 (2 of 4)"), "{out}");
    // The numbers the verdict rests on: heap change and slope.
    assert!(
        out.contains("  replica-1: leak (confidence") && out.contains(", slope +"),
        "{out}"
    );
    let svg = std::fs::read_to_string(&chart).unwrap();
    roxmltree::Document::parse(&svg).expect("the chart is XML");
    // --by-instance says the same.
    let (_, again, _) = run(&["verdict", replicas().to_str().unwrap(), "--by-instance"]);
    assert_eq!(again, out);
    // Several bundles of one compare too, each named by its manifest.
    let dirs: Vec<String> = (1..=4)
        .map(|i| {
            replicas()
                .join(format!("instances/replica-{i}"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["verdict", "--by", "instance"];
    args.extend(dirs.iter().map(String::as_str));
    let (ok, separate, err) = run(&args);
    assert!(ok, "{err}");
    assert_eq!(
        separate.lines().skip(1).take(5).collect::<Vec<_>>(),
        out.lines().skip(1).take(5).collect::<Vec<_>>()
    );
    // --chart alone is refused: it draws instances side by side.
    let (ok, _, err) = run(&[
        "verdict",
        dirs[0].as_str(),
        "--chart",
        chart.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("--by instance"), "{err}");
}

#[test]
fn every_command_reads_one_instance_and_says_which_there_are() {
    let r = replicas();
    let r = r.to_str().unwrap();
    for cmd in [
        vec!["growth", r],
        vec!["verdict", r],
        vec!["checklist", r],
        vec!["timeline", r],
        vec!["report", r, "-o", "/dev/null"],
    ] {
        let (ok, _, err) = run(&cmd);
        assert!(!ok, "{cmd:?}");
        assert!(
            err.contains("holds 4 instances (replica-1, replica-2, replica-3, replica-4)")
                && err.contains("--instance NAME"),
            "{cmd:?}: {err}"
        );
    }
    for cmd in [
        vec!["verdict", r, "--instance", "replica-1"],
        vec!["checklist", r, "--instance", "replica-1"],
        vec!["timeline", r, "--instance", "replica-1"],
    ] {
        let (ok, out, err) = run(&cmd);
        assert!(ok, "{cmd:?}: {err}");
        assert!(!out.is_empty());
    }
    let (ok, _, err) = run(&["verdict", r, "--instance", "replica-9"]);
    assert!(!ok && err.contains("no instance \"replica-9\""), "{err}");
    // A bundle of one answers only to its own name.
    let one = replicas().join("instances/replica-2");
    let (ok, _, _) = run(&["verdict", one.to_str().unwrap(), "--instance", "replica-2"]);
    assert!(ok);
    let (ok, _, err) = run(&["verdict", one.to_str().unwrap(), "--instance", "replica-1"]);
    assert!(
        !ok && err.contains("a bundle of one instance, replica-2"),
        "{err}"
    );
}

#[test]
fn the_page_of_one_instance_shows_its_replicas_beside_it() {
    let (_cleanup, s) = scratch("instances-page");
    let page = s.join("page.html");
    let (ok, out, err) = run(&[
        "report",
        replicas().to_str().unwrap(),
        "--instance",
        "replica-3",
        "-o",
        page.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Replicas: 2 of 4 instances leak: replica-1, replica-3"),
        "{out}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let section = common::page_section(&html, "replicas");
    assert_eq!(section.matches("<tr class=\"hf-verdict-leak\">").count(), 2);
    assert!(section.contains("<th>slope</th>") && section.contains("<svg"));
}

#[test]
fn notes_go_to_the_holder_or_one_instance_and_timelines_show_both() {
    let (_cleanup, s) = scratch("instances-notes");
    let r = replicas_copy(&s);
    let r = r.to_str().unwrap();
    let (ok, _, err) = run(&[
        "note",
        r,
        "--at",
        "2026-12-04T12:00:00Z",
        "--kind",
        "deploy",
        "v2 to every replica",
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&[
        "note",
        r,
        "--instance",
        "replica-3",
        "--at",
        "2026-12-04T12:01:00Z",
        "--kind",
        "restart",
        "pod rescheduled",
    ]);
    assert!(ok, "{err}");
    let (_, three, _) = run(&["timeline", r, "--instance", "replica-3"]);
    assert!(
        three.contains("v2 to every replica") && three.contains("pod rescheduled"),
        "{three}"
    );
    let (_, one, _) = run(&["timeline", r, "--instance", "replica-1"]);
    assert!(
        one.contains("v2 to every replica") && !one.contains("pod rescheduled"),
        "{one}"
    );
    let (ok, _, err) = run(&["note", r, "--instance", "nope", "x"]);
    assert!(!ok && err.contains("no instance \"nope\""), "{err}");
}

#[test]
fn a_damaged_or_hostile_instances_folder_gets_an_error_naming_it() {
    let (_cleanup, s) = scratch("instances-damaged");
    let r = replicas_copy(&s);
    let rs = r.to_str().unwrap();
    // Two folders claiming one name.
    let m2 = r.join("instances/replica-2/manifest.json");
    let text = std::fs::read_to_string(&m2).unwrap();
    std::fs::write(&m2, text.replace("\"replica-2\"", "\"replica-1\"")).unwrap();
    let (ok, _, err) = run(&["verdict", rs, "--by", "instance"]);
    assert!(
        !ok && err.contains("are both instance \"replica-1\"") && err.contains("instances"),
        "{err}"
    );
    // A hostile name: escaped on the terminal, and still the instance's.
    std::fs::write(&m2, text.replace("\"replica-2\"", "\"pod\\u001b[31m-2\"")).unwrap();
    let (ok, out, err) = run(&["verdict", rs, "--by", "instance"]);
    assert!(ok, "{err}");
    assert!(!out.contains('\u{1b}'), "{out:?}");
    // A file where an instance folder should be.
    std::fs::write(r.join("instances/stray.txt"), b"x").unwrap();
    let (ok, _, err) = run(&["verdict", rs, "--by", "instance"]);
    assert!(
        !ok && err.contains("stray.txt is not a folder") && err.contains(&*r.display().to_string()),
        "{err}"
    );
    std::fs::remove_file(r.join("instances/stray.txt")).unwrap();
    // An instance's damaged manifest is named.
    std::fs::write(&m2, b"{not json").unwrap();
    let (ok, _, err) = run(&["growth", rs, "--instance", "replica-1"]);
    assert!(!ok && err.contains("replica-2/manifest.json"), "{err}");
    // profile files are not instances.
    let (ok, _, err) = run(&[
        "growth",
        "--by",
        "instance",
        replicas()
            .join("instances/replica-1/heap/")
            .join(
                std::fs::read_dir(replicas().join("instances/replica-1/heap"))
                    .unwrap()
                    .next()
                    .unwrap()
                    .unwrap()
                    .file_name(),
            )
            .to_str()
            .unwrap(),
    ]);
    assert!(!ok && err.contains("compares bundle folders"), "{err}");
}

#[test]
fn export_files_each_instance_under_its_name() {
    let (_cleanup, s) = scratch("instances-export");
    let ds = s.join("ds");
    let (ok, _, err) = run(&[
        "export",
        replicas().to_str().unwrap(),
        "--out",
        ds.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    for i in 1..=4 {
        assert!(
            err.contains(&format!("service leakysvc, instance replica-{i}:")),
            "{err}"
        );
    }
    // --instance keeps one instance of a bundle of several.
    let ds2 = s.join("ds2");
    let (ok, _, err) = run(&[
        "export",
        replicas().to_str().unwrap(),
        "--instance",
        "replica-4",
        "--out",
        ds2.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("instance replica-4:") && !err.contains("instance replica-1:"));
}

#[test]
fn evidence_beside_the_instances_and_instance_of_files_are_refused() {
    let (_cleanup, s) = scratch("instances-beside");
    let r = replicas_copy(&s);
    std::fs::create_dir_all(r.join("heap")).unwrap();
    let one = r.join("instances/replica-1/heap");
    let first = std::fs::read_dir(&one).unwrap().next().unwrap().unwrap();
    std::fs::copy(first.path(), r.join("heap/1.pb.gz")).unwrap();
    let (ok, _, err) = run(&["verdict", r.to_str().unwrap(), "--by", "instance"]);
    assert!(
        !ok && err.contains("also evidence of its own in heap/"),
        "{err}"
    );
    let (ok, _, err) = run(&[
        "growth",
        first.path().to_str().unwrap(),
        "--instance",
        "replica-1",
    ]);
    assert!(
        !ok && err.contains("a profile file, not a bundle folder"),
        "{err}"
    );
}
