//! Parity with `go tool pprof -top`: every golden produced by the reference
//! implementation is reproduced line for line.

mod common;

use std::path::Path;

fn run_suite(cases: &Path, profiles: &Path, goldens: &Path) -> usize {
    let mut failures = Vec::new();
    let list = common::read_cases(cases);
    assert!(!list.is_empty(), "no cases in {}", cases.display());
    for case in &list {
        let golden = goldens.join(format!("{}.txt", case.id));
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        match common::run_pprof_args(&case.args, profiles) {
            Ok(got) => {
                if let Err(e) = common::compare_with_golden(&got, &want) {
                    failures.push(format!("case {}: {e}", case.id));
                }
            }
            Err(e) => failures.push(format!("case {}: error {e}", case.id)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        list.len(),
        failures.join("\n\n")
    );
    list.len()
}

#[test]
fn shared_conformance_goldens() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance");
    let n = run_suite(
        &root.join("cases.tsv"),
        &root.join("profiles"),
        &root.join("goldens"),
    );
    assert_eq!(n, 25);
}

#[test]
fn extra_flag_combinations_on_conformance_profiles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let n = run_suite(
        &root.join("golden/extra-cases.tsv"),
        &root.join("data/conformance/profiles"),
        &root.join("golden/extra"),
    );
    assert!(n >= 39);
}

#[test]
fn own_fixture_goldens() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let cases = root.join("golden/own-cases.tsv");
    run_suite(
        &cases,
        &root.join("fixtures/captures"),
        &root.join("golden/own"),
    );
}

/// pprof's label and frame-range filters (`-tagfocus`, `-tagignore`,
/// `-tagshow`, `-taghide`, `-show_from`, `-prune_from`).
#[test]
fn tag_and_frame_range_filter_goldens() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let n = run_suite(
        &root.join("golden/tags-cases.tsv"),
        &root,
        &root.join("golden/tags"),
    );
    assert!(n >= 29);
}

#[test]
fn tie_tolerance_is_narrow() {
    let want = "h\n      flat  flat%   sum%        cum   cum%\n         0     0%     0%        1MB   50%  a.go\n         0     0%     0%        2MB   50%  a.go\n";
    let swapped = "h\n      flat  flat%   sum%        cum   cum%\n         0     0%     0%        2MB   50%  a.go\n         0     0%     0%        1MB   50%  a.go\n";
    assert!(common::compare_with_golden(swapped, want).is_ok());
    let different = swapped.replace("2MB", "3MB");
    assert!(common::compare_with_golden(&different, want).is_err());
    assert!(common::compare_with_golden(&want.replace("h\n", "x\n"), want).is_err());
}
