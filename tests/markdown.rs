//! The Markdown export renders with a real Markdown renderer
//! (pulldown-cmark, CommonMark with GitHub tables): every section of the
//! page, its tables as tables, its figures as SVG files beside it; names
//! from the evidence stay text, whatever they hold.

use std::path::{Path, PathBuf};

use heapframe::evidence::Bundle;
use heapframe::findings::{Findings, FindingsOptions};
use heapframe::views::markdown::{markdown_report, write_markdown_report};
use heapframe::views::notebook::NotebookDisplay;

const MAPCACHE: &str = "tests/fixtures/bundles/mapcache";

fn render(md: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(md, Options::ENABLE_TABLES));
    out
}

fn findings(b: &Bundle) -> Findings {
    Findings::of(
        b,
        &FindingsOptions {
            after: Some(PathBuf::from("tests/fixtures/bundles/fixed")),
            ..Default::default()
        },
    )
    .unwrap()
}

struct Scratch(PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_markdown_report_renders_every_section_with_its_figures() {
    let b = Bundle::open(MAPCACHE).unwrap();
    let f = findings(&b);
    let dir = Scratch(std::env::temp_dir().join(format!("heapframe-md-{}", std::process::id())));
    let path = write_markdown_report(&b, &f, 12, &dir.0).unwrap();
    assert_eq!(path, dir.0.join("report.md"));
    let md = std::fs::read_to_string(&path).unwrap();
    let html = render(&md);
    for h in [
        "<h1>Memory investigation: leakysvc (mapcache scenario)</h1>",
        "<h2>Findings</h2>",
        "<h2>1. Verdict from all the evidence</h2>",
        "<h2>2. What grows across the heap snapshots</h2>",
        "<h2>3. Growth by allocation kind</h2>",
        "<h2>4. Flame graphs</h2>",
        "<h2>5. Goroutines</h2>",
        "<h2>6. Regression check</h2>",
        "<h2>7. On-call checklist</h2>",
    ] {
        assert!(html.contains(h), "{h}\n{md}");
    }
    // Growth, widening, kinds, goroutines (two), checklist.
    assert!(html.matches("<table>").count() >= 6, "{html}");
    assert!(
        regex::Regex::new(r"<td[^>]*>bytes\.Clone</td>")
            .unwrap()
            .is_match(&html),
        "{html}"
    );
    assert!(html.contains("<strong>leak</strong>"));
    assert!(html.contains("<code>main.BuildResponse</code>"));
    // Code links from the demo manifest's source template.
    assert!(
        html.contains(
            "<a href=\"https://git.example/heapframe/blob/main/tests/leaky-svc/main.go#L"
        )
    );
    // Every figure is a file beside the report, and SVG that parses.
    let img = regex::Regex::new(r#"<img src="([^"]+)" alt="([^"]*)""#).unwrap();
    let figures: Vec<String> = img.captures_iter(&html).map(|c| c[1].to_string()).collect();
    assert_eq!(
        figures,
        [
            "figures/metrics.svg",
            "figures/growth.svg",
            "figures/kinds.svg",
            "figures/diff-flame.svg",
            "figures/flame.svg",
            "figures/before-after.svg",
            "figures/after-fix-diff-flame.svg",
        ]
    );
    for name in &figures {
        let svg = std::fs::read_to_string(dir.0.join(name)).unwrap();
        roxmltree::Document::parse_with_options(
            &svg,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // The after-fix diff is drawn on the incident's colour scale.
    let legend = |name: &str| {
        let svg = std::fs::read_to_string(dir.0.join("figures").join(name)).unwrap();
        let re = regex::Regex::new(r"full red \+([^ :]+)").unwrap();
        re.captures(&svg).unwrap()[1].to_string()
    };
    assert_eq!(legend("diff-flame.svg"), legend("after-fix-diff-flame.svg"));
    // Written again: replaced, not appended to.
    write_markdown_report(&b, &f, 12, &dir.0).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), md);
}

#[test]
fn names_stay_text_and_tables_keep_their_shape() {
    let mut b = Bundle::open(MAPCACHE).unwrap();
    let evil = "main.<script>alert(1)</script>|# *x* `y` [z](javascript:1)\n- item";
    b.manifest.title = evil.into();
    b.manifest.impact = "1. not a list".into();
    b.manifest.action_items = vec![evil.into(), "add a TTL".into()];
    b.manifest
        .events
        .push(heapframe::evidence::timeline::ManifestEvent {
            time: "2026-11-24T04:26:40Z".into(),
            kind: heapframe::evidence::timeline::EventKind::Note,
            text: evil.into(),
        });
    let mut f = findings(&b);
    let h = f.heap.as_mut().unwrap();
    h.table.rows[0].key = evil.into();
    let (md, _) = markdown_report(&b, &f, 12).unwrap();
    let html = render(&md);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("javascript:1\""), "{html}");
    assert!(
        html.contains(
            "main.&lt;script&gt;alert(1)&lt;/script&gt;|# *x* `y` [z](javascript:1)\\x0a- item"
        ),
        "{html}"
    );
    assert!(html.contains("<h2>Postmortem</h2>"));
    assert!(
        html.contains("<strong>Impact</strong>: 1. not a list"),
        "{html}"
    );
    // The timeline (first table, with the hostile event) and the growth
    // table: every row has as many cells as the header.
    // The first table after `from` in `html`.
    let table_after = |from: &str| {
        html.split(from)
            .nth(1)
            .unwrap()
            .split("<table>")
            .nth(1)
            .unwrap()
            .split("</table>")
            .next()
            .unwrap()
            .to_string()
    };
    let timeline = table_after("<h2>Timeline</h2>");
    assert!(timeline.contains("<th>text</th>"), "{timeline}");
    for row in timeline.split("<tr>").skip(2) {
        assert_eq!(row.matches("<td").count(), 4, "{row}");
    }
    assert!(timeline.contains("main.&lt;script&gt;"), "{timeline}");
    let table = table_after("What grows across the heap snapshots");
    let table = table.as_str();
    let cell = |tag: &str, s: &str| {
        regex::Regex::new(&format!("<{tag}[ >]"))
            .unwrap()
            .find_iter(s)
            .count()
    };
    let header = cell("th", table);
    assert!(header >= 9);
    for row in table.split("<tr>").skip(2) {
        assert_eq!(cell("td", row), header, "{row}");
    }
}

#[test]
fn every_table_display_has_markdown() {
    let b = Bundle::open(MAPCACHE).unwrap();
    let f = findings(&b);
    let h = f.heap.as_ref().unwrap();
    for (what, md) in [
        ("growth", h.table.to_markdown()),
        ("widening", h.widening.to_markdown()),
        ("bundle", b.to_markdown()),
        ("checklist", f.checklist.to_markdown()),
        ("goroutines", f.goroutines.to_markdown()),
        (
            "top",
            heapframe::report::top(b.last_heap().unwrap(), &Default::default())
                .unwrap()
                .to_markdown(),
        ),
        (
            "dataframe",
            heapframe::tables::Tables::from_profile(b.last_heap().unwrap())
                .unwrap()
                .samples
                .to_markdown(),
        ),
    ] {
        assert!(render(&md).contains("<table>"), "{what}: {md}");
    }
    let v = render(&f.verdict.to_markdown());
    assert!(
        v.contains("<strong>leak</strong>") && v.contains("<li>"),
        "{v}"
    );
}

#[test]
fn the_markdown_report_is_not_written_into_a_bundle() {
    let b = Bundle::open(MAPCACHE).unwrap();
    let f = findings(&b);
    for dir in [Path::new(MAPCACHE), &Path::new(MAPCACHE).join("heap")] {
        let err = write_markdown_report(&b, &f, 12, dir)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("refusing to write"), "{err}");
    }
    assert!(!Path::new(MAPCACHE).join("report.md").exists());
    assert!(!Path::new(MAPCACHE).join("figures").exists());
}

/// Underscores inside names stay raw (readable when pasted), and any text
/// with underscores anywhere still renders as exactly itself.
#[test]
fn underscores_render_as_themselves() {
    use heapframe::views::html::md_text;
    for s in [
        "go_memstats_heap_inuse_bytes",
        "_private_ and __dunder__",
        "a_*b*_c",
        "x_ _y",
        "é_ü_1",
        "__init__",
        "a__b__c",
        "_a_b_",
        "*_a_*",
    ] {
        let html = render(&md_text(s));
        let want = format!("<p>{}</p>\n", s.replace('&', "&amp;"));
        assert_eq!(html, want, "{s:?} as {:?}", md_text(s));
    }
    assert_eq!(
        md_text("go_gc_duration_seconds_count"),
        "go_gc_duration_seconds_count"
    );
}
