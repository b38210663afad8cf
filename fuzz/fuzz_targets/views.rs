//! Any bytes that decode to a profile: its flame and icicle graphs, the
//! differential graph against an earlier snapshot made from it (every other
//! sample, values halved), and the report page of a bundle of the two
//! (heap and goroutine snapshots, a manifest quoting the profile's names)
//! must be well-formed and bounded: every SVG parses as XML 1.0 (roxmltree,
//! which refuses the control characters XML cannot carry), the page parses
//! as HTML5 without a single parse error (html5ever with exact errors,
//! control characters included), and nothing exceeds the documented sizes.
//!
//! Run with `RUSTC_BOOTSTRAP=1 cargo fuzz run views --features views`.
#![no_main]

use heapframe::Profile;
use heapframe::evidence::bundle::{Bundle, Manifest};
use heapframe::pprof::ReadOptions;
use heapframe::profile::{Samples, Snapshot};
use heapframe::views::flame::{self, FlameOptions, Layout, MAX_SVG_BYTES};
use heapframe::views::page::{ReportOptions, incident_report};
use libfuzzer_sys::fuzz_target;

/// The page holds at most three flame graphs (base64, a third larger) and
/// tables and charts of bounded rows and names.
const MAX_PAGE_BYTES: usize = 3 * MAX_SVG_BYTES * 4 / 3 + (2 << 20);

fn assert_xml(svg: &str, what: &str) {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    if let Err(e) = roxmltree::Document::parse_with_options(svg, opts) {
        panic!("{what} is not well-formed XML: {e}");
    }
}

fn assert_graph(g: &flame::FlameGraph, what: &str) {
    assert!(
        g.svg().len() <= MAX_SVG_BYTES,
        "{what}: {} bytes",
        g.svg().len()
    );
    assert_xml(g.svg(), what);
}

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

/// An earlier snapshot of `p`: every other sample, values halved.
fn earlier(p: &Profile) -> Profile {
    let mut e = p.clone();
    let mut samples = Samples::with_width(p.samples.width());
    for (i, s) in p.samples.iter().enumerate() {
        if i % 2 == 0 {
            let mut s = s.to_sample();
            for v in &mut s.values {
                *v /= 2;
            }
            samples.push(&s);
        }
    }
    e.samples = samples;
    e
}

fn snapshot(name: &str, time_ms: i64, profile: Profile) -> Snapshot {
    Snapshot {
        path: name.into(),
        time_ms,
        profile,
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = ReadOptions {
        max_decompressed_bytes: 16 << 20,
    };
    let Ok(p) = Profile::from_bytes_with(data, "fuzz", &opts) else {
        return;
    };
    let before = earlier(&p);
    // A name from the profile as the title: what `--title` or a file name
    // could hold.
    let name = p
        .functions
        .first()
        .map(|f| f.name.to_string())
        .unwrap_or_default();
    if let Ok(g) = flame::flame(&p) {
        assert_graph(&g, "flame graph");
    }
    let icicle = FlameOptions {
        layout: Layout::Icicle,
        title: Some(name.clone()),
        ..Default::default()
    };
    if let Ok(g) = flame::flame_with(&p, &icicle) {
        assert_graph(&g, "icicle graph");
    }
    if let Ok(g) = flame::diff_flame(&before, &p) {
        assert_graph(&g, "differential flame graph");
    }
    let bundle = Bundle {
        root: None,
        manifest: Manifest {
            service: name.clone(),
            notes: p
                .comments
                .first()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            target: name,
            ..Default::default()
        },
        heap: vec![
            snapshot("heap/001.pb.gz", 0, before.clone()),
            snapshot("heap/002.pb.gz", 600_000, p.clone()),
        ],
        goroutine: vec![
            snapshot("goroutine/001.pb.gz", 0, before),
            snapshot("goroutine/002.pb.gz", 600_000, p),
        ],
        ..Default::default()
    };
    let Ok(report) = incident_report(&bundle, &ReportOptions::default()) else {
        return;
    };
    let html = report.html;
    assert!(html.len() <= MAX_PAGE_BYTES, "page of {} bytes", html.len());
    let errors = html_errors(&html);
    assert!(errors.is_empty(), "HTML5 parse errors: {errors:?}");
    let framed =
        regex::Regex::new(r#"src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]*)""#).unwrap();
    for c in framed.captures_iter(&html) {
        let svg = String::from_utf8(base64_decode(&c[1])).expect("UTF-8 flame graph");
        assert!(
            svg.len() <= MAX_SVG_BYTES + 4096,
            "framed graph of {} bytes",
            svg.len()
        );
        assert_xml(&svg, "framed flame graph");
    }
    let inline = regex::Regex::new(r#"(?s)<div class="hf-plot">(<svg.*?</svg>)"#).unwrap();
    for c in inline.captures_iter(&html) {
        assert_xml(&c[1], "chart");
    }
});
