//! Where the code is: growth rows, the widening path and flame tooltips
//! name file:line, and a manifest's `source` template turns them into
//! links in the page and the notebook displays. A template that is not an
//! http(s) URL is refused with the manifest's name.

use heapframe::evidence::Bundle;
use heapframe::findings::{Findings, FindingsOptions};
use heapframe::growth::{GrowthKey, GrowthOptions, growth};
use heapframe::profile::CodeRef;
use heapframe::views::flame;
use heapframe::views::notebook::NotebookDisplay;

const MAPCACHE: &str = "tests/fixtures/bundles/mapcache";
const TEMPLATE: &str = "https://git.example/org/leakysvc/blob/{rev}/{file}#L{line}";

fn linked() -> Bundle {
    let mut b = Bundle::open(MAPCACHE).unwrap();
    b.manifest.source = TEMPLATE.into();
    b.manifest.source_rev = "v1.4.2".into();
    b.manifest.source_root = "leakysvc/".into();
    b
}

#[test]
fn growth_rows_and_the_widening_path_name_their_code() {
    let b = Bundle::open(MAPCACHE).unwrap();
    let t = growth(&b.heap, &GrowthOptions::default()).unwrap();
    let put = t
        .rows
        .iter()
        .find(|r| r.key == "main.(*profileCache).Put")
        .unwrap();
    let code = put.code.as_ref().unwrap();
    assert_eq!(code.file, "leakysvc/main.go");
    assert!(code.line > 0);
    let text = t.to_plain_text();
    assert!(
        text.contains(&format!("leakysvc/main.go:{}", code.line)),
        "{text}"
    );
    // Keys that are code themselves are not repeated in a column.
    let leaf = growth(
        &b.heap,
        &GrowthOptions {
            key: GrowthKey::Leaf,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        leaf.rows[0]
            .code
            .as_ref()
            .unwrap()
            .file
            .ends_with("bytes/bytes.go")
    );
    assert!(!leaf.to_table(5).columns.contains(&"code".to_string()));
    let kinds = growth(
        &b.heap,
        &GrowthOptions {
            key: GrowthKey::Kind,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(kinds.rows.iter().all(|r| r.code.is_none()));
    // The widening path and the sentence that names the code to read.
    let f = Findings::of(&b, &FindingsOptions::default()).unwrap();
    let h = f.heap.as_ref().unwrap();
    let user = h.widening.user_frame().unwrap();
    assert_eq!(user.function, "main.BuildResponse");
    let at = user.code.as_ref().unwrap().to_string();
    assert!(at.starts_with("leakysvc/main.go:"), "{at}");
    assert!(h.widening.to_plain_text().contains(&at));
    assert!(
        f.to_text().contains(&format!(
            "Code to read first: main.BuildResponse (the deepest application code on that path, defined at {at}; "
        )),
        "{}",
        f.to_text()
    );
}

#[test]
fn flame_tooltips_name_the_code() {
    let b = Bundle::open(MAPCACHE).unwrap();
    let last = b.last_heap().unwrap();
    let g = flame::flame(last).unwrap();
    let re =
        regex::Regex::new(r"<title>main\.BuildResponse \([^<]*\) at leakysvc/main\.go:\d+</title>")
            .unwrap();
    assert!(re.is_match(g.svg()));
    let d = flame::diff_flame(b.first_heap().unwrap(), last).unwrap();
    let re = regex::Regex::new(
        r"<title>main\.BuildResponse \(before [^<]*\) at leakysvc/main\.go:\d+</title>",
    )
    .unwrap();
    assert!(re.is_match(d.svg()));
}

#[test]
fn a_source_template_makes_links_in_the_page_and_displays() {
    let b = linked();
    let f = Findings::of(&b, &FindingsOptions::default()).unwrap();
    let h = f.heap.as_ref().unwrap();
    let put_line = h
        .table
        .rows
        .iter()
        .find(|r| r.key == "main.(*profileCache).Put")
        .and_then(|r| r.code.as_ref())
        .unwrap()
        .line;
    let url = format!("https://git.example/org/leakysvc/blob/v1.4.2/main.go#L{put_line}");
    let table = h.table.to_html();
    assert!(
        table.contains(&format!(
            "<a href=\"{url}\" target=\"_blank\" rel=\"noopener noreferrer\">leakysvc/main.go:{put_line}</a>"
        )),
        "{table}"
    );
    // Standard-library code is outside the root: no link.
    assert!(!table.contains("blob/v1.4.2/bytes"));
    let user = h.widening.user_frame().unwrap().code.clone().unwrap();
    assert!(h.widening.to_html().contains(&format!(
        "href=\"https://git.example/org/leakysvc/blob/v1.4.2/main.go#L{}\"",
        user.line
    )));
    let page = heapframe::views::page::page(&b, &f, 12).unwrap().html;
    assert!(page.contains(&format!("href=\"{url}\"")));
    // Without a template: no links at all.
    let mut plain = Bundle::open(MAPCACHE).unwrap();
    plain.manifest.source.clear();
    let f = Findings::of(&plain, &FindingsOptions::default()).unwrap();
    let page = heapframe::views::page::page(&plain, &f, 12).unwrap().html;
    assert!(!page.contains("<a href=\"https://git.example"));
}

#[test]
fn hostile_templates_and_paths_make_no_links() {
    use heapframe::profile::SourceLinks;
    for bad in [
        "javascript:alert(1)//{file}",
        "https://git.example/blob/main",
        "https://git.example/\"><script>/{file}",
        "data:text/html,{file}",
        "https://git.example/{file}\u{7}",
    ] {
        assert!(SourceLinks::new(bad, "", "").is_err(), "{bad}");
    }
    let l = SourceLinks::new(TEMPLATE, "a b\"<", "").unwrap();
    let at = |f: &str| CodeRef {
        file: f.into(),
        line: 7,
    };
    // Without a root, only module-relative (-trimpath) files link.
    assert_eq!(l.url(&at("/home/build/main.go")), None);
    assert_eq!(l.url(&at("svc/../../etc/passwd")), None);
    assert_eq!(
        l.url(&at("svc/a \"b\"<c>.go")).unwrap(),
        "https://git.example/org/leakysvc/blob/a%20b%22%3C/svc/a%20%22b%22%3Cc%3E.go#L7"
    );
    // A manifest with a bad template is refused by name.
    let dir = std::env::temp_dir().join(format!("heapframe-links-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        r#"{"source": "javascript:alert(1)//{file}"}"#,
    )
    .unwrap();
    let err = Bundle::open(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.contains("manifest.json"), "{err}");
    assert!(
        err.contains("must be an http:// or https:// URL template"),
        "{err}"
    );
}
