//! What heapframe writes stays well-formed and bounded whatever the input
//! names contain, and never replaces evidence: flame graphs and the report
//! page with control characters in names (checked by real XML and HTML5
//! parsers), terminal text and error lines without raw escape sequences or
//! forged rows, CSV without live formulas, bounded drawings of hostile
//! stacks, and `-o` paths that would overwrite an input or a bundle's
//! evidence.
#![cfg(feature = "views")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use heapframe::Profile;
use heapframe::evidence::bundle::Bundle;
use heapframe::pprof::proto;
use heapframe::profile::ValueType;
use heapframe::views::flame::{self, FlameOptions, Layout, Stacks};
use heapframe::views::notebook::NotebookDisplay;
use heapframe::views::page::{ReportOptions, incident_report};

/// Names no output may carry raw: ESC sequences (colour, title, clear
/// screen), NUL, BEL, a C1 control, a noncharacter XML forbids, a bidi
/// override, and a newline that would forge a row.
const HOSTILE: &[&str] = &[
    "main.esc\x1b[31mred\x1b]0;pwned\x07",
    "main.nul\0byte",
    "main.c1\u{85}next\u{9b}31m",
    "main.nonchar\u{fffe}\u{ffff}",
    "main.bidi\u{202e}txt.exe",
    "main.forge\n     999MB 99.99% 99.99%      999MB 99.99%  main.forged",
    "main.tab\there\rcr",
];

fn hf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heapframe"))
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    hf().args(args).output().unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("output")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A heap profile (`inuse_objects`, `inuse_space`) of `stacks` (function
/// names root first, bytes), one location per function, taken at `secs`.
fn heap_profile(stacks: &[(Vec<String>, i64)], secs: i64) -> Vec<u8> {
    let mut strings: Vec<Vec<u8>> = ["", "inuse_objects", "count", "inuse_space", "bytes"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let mut ids: std::collections::HashMap<String, u64> = Default::default();
    let mut p = proto::Profile {
        sample_type: vec![
            proto::ValueType { r#type: 1, unit: 2 },
            proto::ValueType { r#type: 3, unit: 4 },
        ],
        time_nanos: secs * 1_000_000_000,
        ..Default::default()
    };
    for (frames, v) in stacks {
        let mut locs = Vec::new();
        for f in frames.iter().rev() {
            let n = ids.len() as u64 + 1;
            let id = *ids.entry(f.clone()).or_insert_with(|| {
                strings.push(f.as_bytes().to_vec());
                p.function.push(proto::Function {
                    id: n,
                    name: strings.len() as i64 - 1,
                    ..Default::default()
                });
                p.location.push(proto::Location {
                    id: n,
                    line: vec![proto::Line {
                        function_id: n,
                        line: 1,
                        column: 0,
                    }],
                    ..Default::default()
                });
                n
            });
            locs.push(id);
        }
        p.sample.push(proto::Sample {
            location_id: locs,
            value: vec![(*v >> 10).max(1), *v],
            label: vec![],
        });
    }
    p.string_table = strings;
    heapframe::pprof::encode_gzip(&p)
}

/// Root-first stacks: `main.main` calling each name, with growing values.
fn hostile_stacks(scale: i64) -> Vec<(Vec<String>, i64)> {
    HOSTILE
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                vec!["main.main".to_string(), n.to_string()],
                (scale * (i as i64 + 1)) << 16,
            )
        })
        .collect()
}

/// A bundle of two heap snapshots of `stacks` (the second `grow` times the
/// first) with a manifest whose texts hold control characters too.
fn bundle(dir: &Path, first: &[(Vec<String>, i64)], second: &[(Vec<String>, i64)]) {
    std::fs::create_dir_all(dir.join("heap")).unwrap();
    std::fs::write(
        dir.join("heap/001.pb.gz"),
        heap_profile(first, 1_700_000_000),
    )
    .unwrap();
    std::fs::write(
        dir.join("heap/002.pb.gz"),
        heap_profile(second, 1_700_000_600),
    )
    .unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::json!({
            "service": "svc\u{1b}[2J\u{0}",
            "notes": "note\u{7}\u{85}",
            "target": "http://127.0.0.1:6060/\u{1b}]0;x\u{7}",
        })
        .to_string(),
    )
    .unwrap();
}

/// Parses `svg` as XML 1.0 (roxmltree refuses what XML cannot carry).
fn assert_xml(svg: &str, what: &str) {
    if let Err(e) = roxmltree::Document::parse_with_options(
        svg,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    ) {
        panic!("{what} is not well-formed XML: {e}");
    }
}

/// Parses `html` as HTML5 with exact errors: parse errors, control
/// characters included, are listed.
fn html_errors(html: &str) -> Vec<String> {
    use html5ever::tendril::TendrilSink;
    let opts = html5ever::ParseOpts {
        tokenizer: html5ever::tokenizer::TokenizerOpts {
            exact_errors: true,
            ..Default::default()
        },
        tree_builder: html5ever::tree_builder::TreeBuilderOpts {
            exact_errors: true,
            ..Default::default()
        },
    };
    let dom = html5ever::parse_document(markup5ever_rcdom::RcDom::default(), opts).one(html);
    dom.errors.borrow().iter().map(|e| e.to_string()).collect()
}

/// The SVG documents of the page's flame graphs (base64 `data:` URLs).
fn framed_svgs(html: &str) -> Vec<String> {
    let re = regex::Regex::new(r#"src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]*)""#).unwrap();
    re.captures_iter(html)
        .map(|c| String::from_utf8(base64_decode(&c[1])).unwrap())
        .collect()
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let n = chunk.iter().filter(|&&c| c != b'=').count();
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= (if c == b'=' { 0 } else { val(c) as u32 }) << (18 - 6 * i);
        }
        out.extend_from_slice(&acc.to_be_bytes()[1..n]);
    }
    out
}

fn stacks(v: Vec<(Vec<String>, i64)>) -> Stacks {
    Stacks {
        sample_type: ValueType {
            name: "inuse_space".into(),
            unit: "bytes".into(),
        },
        stacks: v
            .into_iter()
            .map(|(f, n)| (f.into_iter().map(Into::into).collect(), n))
            .collect(),
        source: "synthetic".into(),
    }
}

/// Whether `s` holds a control character other than newline (C0, DEL, C1,
/// bidi controls, the noncharacters XML forbids).
fn has_control(s: &str) -> bool {
    s.chars().any(|c| {
        c != '\n'
            && (c.is_control()
                || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffe}' | '\u{ffff}'))
    })
}

// ---- defect 8: control characters in flame graphs and the page ----

#[test]
fn flame_graphs_with_control_characters_in_names_are_well_formed_xml() {
    let s = stacks(hostile_stacks(1));
    let titled = FlameOptions {
        title: Some("title\u{1b}[1m\u{0}".into()),
        layout: Layout::Icicle,
        ..Default::default()
    };
    for (what, g) in [
        ("flame", flame::flame_stacks(&s, &FlameOptions::default())),
        (
            "icicle with a hostile title",
            flame::flame_stacks(&s, &titled),
        ),
        (
            "diff",
            flame::diff_flame_stacks(&s, &stacks(hostile_stacks(2)), &FlameOptions::default()),
        ),
    ] {
        let svg = g.unwrap().svg().to_string();
        assert_xml(&svg, what);
        assert!(
            svg.contains("main.esc\\x1b[31mred\\x1b]0;pwned\\x07 ("),
            "{what}: visible escape"
        );
        assert!(svg.contains("main.nul\\x00byte ("), "{what}");
    }
    let p =
        Profile::from_bytes(&heap_profile(&hostile_stacks(1), 1_700_000_000), "hostile").unwrap();
    assert_xml(flame::flame(&p).unwrap().svg(), "flame of a profile");
}

#[test]
fn report_with_control_characters_is_well_formed_html_and_its_graphs_xml() {
    let dir = tmp("report-controls");
    bundle(&dir, &hostile_stacks(1), &hostile_stacks(3));
    let b = Bundle::open(&dir).unwrap();
    let html = incident_report(&b, &ReportOptions::default()).unwrap().html;
    let errors = html_errors(&html);
    assert!(errors.is_empty(), "HTML5 parse errors: {errors:?}");
    let svgs = framed_svgs(&html);
    // The diff, the ranked owner's own diff (its name is hostile too) and
    // the last snapshot's flame graph.
    assert_eq!(svgs.len(), 3, "diff, owner and last flame graphs");
    for svg in &svgs {
        assert_xml(svg, "a flame graph of the page");
    }
    assert!(
        html.contains("svc\\x1b[2J\\x00"),
        "the manifest's service, visible"
    );
}

// ---- defect 10: terminal output ----

#[test]
fn top_growth_and_report_print_no_raw_escapes_or_forged_rows() {
    let dir = tmp("terminal");
    bundle(&dir, &hostile_stacks(1), &hostile_stacks(3));
    let heap = dir.join("heap/002.pb.gz");
    let top = run(&["top".as_ref(), heap.as_os_str()]);
    assert!(
        top.status.success(),
        "{}",
        String::from_utf8_lossy(&top.stderr)
    );
    let text = String::from_utf8(top.stdout).unwrap();
    assert!(!has_control(&text), "{text:?}");
    // One row per function after the column header, no forged row.
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("flat  flat%"))
        .skip(1)
        .collect();
    assert_eq!(rows.len(), HOSTILE.len() + 1, "{text}");
    assert!(
        rows.iter().all(|r| !r.trim_start().starts_with("999MB")),
        "{text}"
    );
    assert!(
        text.contains("main.esc\\x1b[31mred\\x1b]0;pwned\\x07\n"),
        "{text}"
    );
    assert!(text.contains("main.forge\\x0a     999MB"), "{text}");

    let growth = run(&["growth".as_ref(), dir.as_os_str()]);
    assert!(
        growth.status.success(),
        "{}",
        String::from_utf8_lossy(&growth.stderr)
    );
    let text = String::from_utf8(growth.stdout).unwrap();
    assert!(!has_control(&text), "{text:?}");
    assert!(text.contains("main.forge\\x0a"), "{text}");

    let out = dir.join("report.html");
    let report = run(&[
        "report".as_ref(),
        dir.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let text = String::from_utf8(report.stdout).unwrap();
    assert!(!has_control(&text), "{text:?}");
}

#[test]
fn error_lines_print_names_escaped() {
    let dir = tmp("error-line");
    let missing = dir.join("evil\x1b[31m\x07\nname.pb.gz");
    let out = run(&["top".as_ref(), missing.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(!has_control(&err), "{err:?}");
    assert!(err.contains("evil\\x1b[31m\\x07 name.pb.gz"), "{err:?}");
}

#[test]
fn notebook_plain_text_escapes_names() {
    let p =
        Profile::from_bytes(&heap_profile(&hostile_stacks(1), 1_700_000_000), "hostile").unwrap();
    let top = heapframe::report::top(&p, &Default::default()).unwrap();
    let text = top.to_plain_text();
    assert!(!has_control(&text), "{text:?}");
    assert!(text.contains("main.bidi\\u{202e}txt.exe"), "{text}");
}

#[test]
fn csv_shown_on_a_terminal_has_no_raw_escapes() {
    // `script` runs the command on a pseudo-terminal (util-linux).
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "script (util-linux) is missing"
        );
        println!("SKIPPED: no `script` to make a terminal");
        return;
    }
    let dir = tmp("csv-terminal");
    bundle(&dir, &hostile_stacks(1), &hostile_stacks(3));
    let cmd = format!(
        "{} growth {} --format csv",
        env!("CARGO_BIN_EXE_heapframe"),
        dir.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert!(text.contains("main.esc\\x1b[31mred"), "{text:?}");
    assert!(!has_control(&text.replace('\t', " ")), "{text:?}");
    // Into a pipe the CSV stays data, byte for byte.
    let piped = run(&[
        "growth".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert!(String::from_utf8_lossy(&piped.stdout).contains("main.esc\x1b[31mred"));
}

// ---- defect 11: CSV formula injection ----

#[test]
fn csv_neutralises_formulas_and_keeps_numbers_numeric() {
    let dir = tmp("csv");
    let names = [
        "=HYPERLINK(\"http://x\",\"y\")",
        "+SUM(1)",
        "-2+3+cmd|' /C calc'!A0",
        "@A1",
        "main.ok",
    ];
    let first: Vec<(Vec<String>, i64)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                vec!["main.main".to_string(), n.to_string()],
                (i as i64 + 1) << 20,
            )
        })
        .collect();
    let second: Vec<_> = first.iter().map(|(f, v)| (f.clone(), v * 3)).collect();
    bundle(&dir, &first, &second);
    let heap = dir.join("heap/002.pb.gz");
    for args in [
        vec![
            "top".as_ref(),
            heap.as_os_str(),
            "--format".as_ref(),
            "csv".as_ref(),
        ],
        vec![
            "growth".as_ref(),
            dir.as_os_str(),
            "--format".as_ref(),
            "csv".as_ref(),
        ],
    ] {
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let csv = String::from_utf8(out.stdout).unwrap();
        for n in &names[..4] {
            let quoted = n.replace('"', "\"\"");
            assert!(
                csv.contains(&format!("'{quoted}")) || csv.contains(&format!("'{n}")),
                "{n} is neutralised: {csv}"
            );
        }
        for line in csv.lines().skip(1) {
            for cell in line.split(',') {
                let cell = cell.trim_matches('"');
                assert!(
                    !(cell.starts_with(['=', '+', '@'])
                        || cell.starts_with('-') && cell.parse::<f64>().is_err()),
                    "live formula {cell:?} in {line}"
                );
            }
        }
    }
    // Numbers stay numbers: the top CSV's flat column parses.
    let out = run(&[
        "top".as_ref(),
        heap.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    let csv = String::from_utf8(out.stdout).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let flat = header
        .iter()
        .position(|c| *c == "flat")
        .expect("flat column");
    for line in csv.lines().skip(1) {
        let cell = line.split(',').nth(flat).unwrap();
        assert!(cell.parse::<i64>().is_ok(), "flat {cell:?} in {line}");
    }
}

// ---- defect 12: output amplification ----

/// One stack of `depth` frames: `main.main` then `main.recurse` repeated.
fn deep(depth: usize) -> Vec<String> {
    let mut v = vec!["main.main".to_string()];
    v.extend(std::iter::repeat_n("main.recurse".to_string(), depth - 1));
    v
}

fn drawn_frames(svg: &str) -> usize {
    svg.matches("<g><title>").count()
}

#[test]
fn deep_stacks_are_drawn_to_a_bounded_depth_with_a_note() {
    let s = stacks(vec![(deep(20_000), 1 << 20)]);
    let g = flame::flame_stacks(&s, &FlameOptions::default()).unwrap();
    assert!(
        drawn_frames(g.svg()) <= 513,
        "{} frames",
        drawn_frames(g.svg())
    );
    assert!(
        g.svg()
            .contains("19,488 frames of 1 stack deeper than 512 frames not drawn"),
        "note in the SVG"
    );
    let p = Profile::from_bytes(
        &heap_profile(&[(deep(20_000), 1 << 20)], 1_700_000_000),
        "deep",
    )
    .unwrap();
    let g = flame::flame(&p).unwrap();
    assert!(drawn_frames(g.svg()) <= 513);
    let d = flame::diff_flame(&p, &p).unwrap();
    assert!(drawn_frames(d.svg()) <= 513);
}

#[test]
fn wide_trees_draw_a_bounded_number_of_frames_with_a_note() {
    // 100 chains of 300 frames, each 1% of the total: 30,000 frames wide
    // enough to see, more than a graph draws.
    let v: Vec<(Vec<String>, i64)> = (0..100)
        .map(|i| {
            let chain = (0..300).map(|d| format!("main.c{i}_{d}")).collect();
            (chain, 1000 + i)
        })
        .collect();
    let g = flame::flame_stacks(&stacks(v), &FlameOptions::default()).unwrap();
    let n = drawn_frames(g.svg());
    assert!(n <= 20_001, "{n} frames drawn");
    assert!(n >= 10_000, "the widest frames are drawn: {n}");
    assert!(g.svg().contains("frames of "), "note of what was not drawn");
    assert!(g.svg().len() <= 4 << 20, "{} bytes", g.svg().len());
}

#[test]
fn long_names_are_shortened_and_the_svg_stays_bounded() {
    let long = "x".repeat(1_000_000);
    let v: Vec<(Vec<String>, i64)> = (0..200)
        .map(|i| (vec![format!("{long}{i}"), format!("{i}{long}")], 100))
        .collect();
    let g = flame::flame_stacks(&stacks(v), &FlameOptions::default()).unwrap();
    assert!(g.svg().len() <= 4 << 20, "{} bytes", g.svg().len());
    assert!(g.svg().contains('…'));
}

#[test]
fn report_of_a_deep_recursive_bundle_stays_small() {
    let dir = tmp("deep-report");
    bundle(&dir, &[(deep(10_000), 1 << 20)], &[(deep(10_000), 3 << 20)]);
    let b = Bundle::open(&dir).unwrap();
    let html = incident_report(&b, &ReportOptions::default()).unwrap().html;
    assert!(html.len() < 1 << 20, "{} bytes", html.len());
    assert!(
        html.contains("deeper than 512 frames not drawn"),
        "the page says what was left out"
    );
    assert!(
        html.contains("frames not shown"),
        "the widening table says what it left out"
    );
}

// ---- defect 15: -o never replaces an input or evidence ----

fn refused(out: &Output, names: &[&Path]) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    for n in names {
        let n = n.file_name().unwrap().to_string_lossy();
        assert!(err.contains(&*n), "the error names {n}: {err}");
    }
}

#[test]
fn output_over_an_input_is_refused() {
    let dir = tmp("over-input");
    let p = dir.join("p.pb.gz");
    let q = dir.join("q.pb.gz");
    let bytes = heap_profile(&hostile_stacks(1), 1_700_000_000);
    std::fs::write(&p, &bytes).unwrap();
    std::fs::write(&q, &bytes).unwrap();
    let o = |s: &Path| s.as_os_str().to_owned();
    // The same path, a hard link and a symbolic link to the input.
    let hard = dir.join("hard.svg");
    std::fs::hard_link(&p, &hard).unwrap();
    let soft = dir.join("soft.svg");
    std::os::unix::fs::symlink(&p, &soft).unwrap();
    for target in [&p, &hard, &soft] {
        let out = hf()
            .arg("flame")
            .arg(&p)
            .arg("-o")
            .arg(o(target))
            .output()
            .unwrap();
        refused(&out, &[target]);
        let out = hf()
            .arg("top")
            .arg(&p)
            .arg("-o")
            .arg(o(target))
            .output()
            .unwrap();
        refused(&out, &[target]);
    }
    let out = hf()
        .args(["top", "--base"])
        .arg(&q)
        .arg(&p)
        .arg("-o")
        .arg(&q)
        .output()
        .unwrap();
    refused(&out, &[&q]);
    let out = hf()
        .arg("flame")
        .arg(&p)
        .arg("--base")
        .arg(&q)
        .arg("-o")
        .arg(&q)
        .output()
        .unwrap();
    refused(&out, &[&q]);
    let via_dot = dir.join(".").join("p.pb.gz");
    let out = hf()
        .arg("flame")
        .arg(&p)
        .arg("-o")
        .arg(&via_dot)
        .output()
        .unwrap();
    refused(&out, &[&p]);
    assert_eq!(std::fs::read(&p).unwrap(), bytes, "the input is intact");
    assert_eq!(std::fs::read(&q).unwrap(), bytes);
    assert!(
        std::fs::symlink_metadata(&soft)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // A new file beside the inputs is fine.
    let out = hf()
        .arg("flame")
        .arg(&p)
        .arg("-o")
        .arg(dir.join("new.svg"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn output_into_a_bundles_evidence_is_refused() {
    let dir = tmp("into-evidence");
    let b = dir.join("b");
    bundle(&b, &hostile_stacks(1), &hostile_stacks(2));
    std::fs::create_dir_all(b.join("metrics")).unwrap();
    std::fs::create_dir_all(b.join("goroutine")).unwrap();
    let snapshot = b.join("heap/001.pb.gz");
    let before = std::fs::read(&snapshot).unwrap();
    let manifest = std::fs::read(b.join("manifest.json")).unwrap();
    for target in [
        snapshot.clone(),
        b.join("heap/report.html"),
        b.join("metrics/1700000000000.prom"),
        b.join("goroutine/new.svg"),
        b.join("manifest.json"),
        b.join("gaps.jsonl"),
    ] {
        let out = hf()
            .arg("report")
            .arg(&b)
            .arg("-o")
            .arg(&target)
            .output()
            .unwrap();
        refused(&out, &[&target]);
        let out = hf()
            .arg("flame")
            .arg(&snapshot)
            .arg("-o")
            .arg(&target)
            .output()
            .unwrap();
        refused(&out, &[&target]);
        let out = hf()
            .arg("top")
            .arg(&snapshot)
            .arg("-o")
            .arg(&target)
            .output()
            .unwrap();
        refused(&out, &[&target]);
    }
    assert_eq!(
        std::fs::read(&snapshot).unwrap(),
        before,
        "the snapshot is intact"
    );
    assert_eq!(std::fs::read(b.join("manifest.json")).unwrap(), manifest);
    assert!(!b.join("heap/report.html").exists() && !b.join("gaps.jsonl").exists());
    // Beside the evidence, in the bundle folder, is fine.
    let out = hf()
        .arg("report")
        .arg(&b)
        .arg("-o")
        .arg(b.join("report.html"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(Bundle::open(&b).unwrap().heap.len(), 2);
}

#[test]
fn library_saves_refuse_evidence_folders() {
    let dir = tmp("save-evidence");
    let b = dir.join("b");
    bundle(&b, &hostile_stacks(1), &hostile_stacks(2));
    let bundle = Bundle::open(&b).unwrap();
    let g = flame::flame(&bundle.heap[1].profile).unwrap();
    let err = g.save(b.join("heap/003.pb.gz")).unwrap_err().to_string();
    assert!(
        err.contains("003.pb.gz") && err.contains("evidence"),
        "{err}"
    );
    assert_eq!(Bundle::open(&b).unwrap().heap.len(), 2);
    let chart = heapframe::views::plot::growth_plot(
        &heapframe::growth::growth(&bundle.heap, &Default::default()).unwrap(),
    )
    .unwrap();
    assert!(chart.save(b.join("heap/chart.svg")).is_err());
    assert!(chart.to_html().contains("<svg"));
}
