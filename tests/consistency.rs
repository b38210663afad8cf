//! The page never contradicts itself: on every bundled incident, each line
//! of the evidence chain at the top of the page agrees with the section it
//! summarises (verdict, growth table, call path, goroutines, regression
//! check, checklist). The page is parsed as HTML and compared by its text.
#![cfg(feature = "views")]

use std::rc::Rc;

use heapframe::evidence::bundle::Bundle;
use heapframe::findings::FindingsOptions;
use heapframe::views::page::{ReportOptions, incident_report};
use html5ever::tendril::TendrilSink;
use markup5ever_rcdom::{Handle, NodeData, RcDom};

const BUNDLES: &[&str] = &[
    "churn",
    "fixed",
    "goroutinepin",
    "goroutines",
    "loadfollow",
    "lru",
    "mapcache",
    "offheap",
    "queue",
    "restart",
    "slowleak",
    "tinyobjects",
    "warmleak",
];

fn attr(h: &Handle, name: &str) -> Option<String> {
    match &h.data {
        NodeData::Element { attrs, .. } => attrs
            .borrow()
            .iter()
            .find(|a| &*a.name.local == name)
            .map(|a| a.value.to_string()),
        _ => None,
    }
}

fn tag(h: &Handle) -> Option<String> {
    match &h.data {
        NodeData::Element { name, .. } => Some(name.local.to_string()),
        _ => None,
    }
}

fn text(h: &Handle) -> String {
    let mut out = String::new();
    fn walk(h: &Handle, out: &mut String) {
        if let NodeData::Text { contents } = &h.data {
            out.push_str(&contents.borrow());
        }
        for c in h.children.borrow().iter() {
            walk(c, out);
        }
    }
    walk(h, &mut out);
    out
}

/// Every element under `h` (depth first, `h` included) that `pred` accepts.
fn find(h: &Handle, pred: &dyn Fn(&Handle) -> bool) -> Vec<Handle> {
    let mut out = Vec::new();
    fn walk(h: &Handle, pred: &dyn Fn(&Handle) -> bool, out: &mut Vec<Handle>) {
        if pred(h) {
            out.push(Rc::clone(h));
        }
        for c in h.children.borrow().iter() {
            walk(c, pred, out);
        }
    }
    walk(h, pred, &mut out);
    out
}

fn by_tag(h: &Handle, t: &str) -> Vec<Handle> {
    find(h, &|n| tag(n).as_deref() == Some(t))
}

fn has_class(h: &Handle, class: &str) -> bool {
    attr(h, "class").is_some_and(|c| c.split_whitespace().any(|c| c == class))
}

struct Page {
    /// Kept alive: dropping the document node empties every node under it.
    _doc: Handle,
    chain: Vec<Handle>,
    sections: Vec<(String, Handle)>,
}

impl Page {
    fn parse(html: &str) -> Page {
        let dom = html5ever::parse_document(RcDom::default(), Default::default()).one(html);
        let doc = dom.document;
        let chain = find(&doc, &|n| {
            tag(n).as_deref() == Some("ol") && has_class(n, "chain")
        })
        .first()
        .map(|ol| by_tag(ol, "li"))
        .expect("the page has an evidence chain");
        let sections: Vec<(String, Handle)> = by_tag(&doc, "section")
            .into_iter()
            .filter_map(|s| attr(&s, "id").map(|id| (id, s)))
            .collect();
        Page {
            _doc: doc,
            chain,
            sections,
        }
    }

    fn section(&self, id: &str) -> &Handle {
        &self
            .sections
            .iter()
            .find(|(i, _)| i == id)
            .unwrap_or_else(|| panic!("no section {id}"))
            .1
    }

    /// The chain line that starts with `prefix`.
    fn line(&self, prefix: &str) -> Option<&Handle> {
        self.chain.iter().find(|l| text(l).starts_with(prefix))
    }
}

fn badges(h: &Handle) -> Vec<String> {
    find(h, &|n| has_class(n, "hf-badge"))
        .iter()
        .map(text)
        .collect()
}

/// The cells of each body row of `table`, by the header's names.
fn rows(table: &Handle) -> Vec<Vec<(String, String)>> {
    let heads: Vec<String> = by_tag(table, "th").iter().map(text).collect();
    by_tag(table, "tbody")
        .iter()
        .flat_map(|b| by_tag(b, "tr"))
        .map(|tr| {
            by_tag(&tr, "td")
                .iter()
                .enumerate()
                .map(|(i, td)| (heads.get(i).cloned().unwrap_or_default(), text(td)))
                .collect()
        })
        .collect()
}

fn cell<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
    &row.iter()
        .find(|(h, _)| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {row:?}"))
        .1
}

/// The integers of `s`, thousands separators allowed.
fn integers(s: &str) -> Vec<i64> {
    regex::Regex::new(r"-?\d[\d,]*")
        .unwrap()
        .find_iter(s)
        .map(|m| m.as_str().replace(',', "").parse().unwrap())
        .collect()
}

/// Checks every summary line of `html` against its section; returns what
/// disagrees, one line per finding, prefixed with `name`.
fn contradictions(name: &str, html: &str) -> Vec<String> {
    let p = Page::parse(html);
    let mut bad = Vec::new();
    let mut say = |what: String| bad.push(format!("{name}: {what}"));

    // The verdict: the same word, and the same first reason.
    let v = p.line("Verdict: ").unwrap_or_else(|| {
        panic!(
            "no verdict line in {:?}",
            p.chain.iter().map(text).collect::<Vec<_>>()
        )
    });
    let vs = p.section("verdict");
    let verdict_block = find(vs, &|n| has_class(n, "hf-verdict"));
    let block = verdict_block.first().expect("a verdict block");
    if badges(v) != badges(block)[..1] {
        say(format!(
            "chain verdict {:?}, section {:?}",
            badges(v),
            badges(block)
        ));
    }
    let reason = text(v);
    let first_reason = by_tag(block, "li").first().map(text).unwrap_or_default();
    if !reason.contains(&format!("— {first_reason} (")) {
        say(format!(
            "chain verdict line {reason:?} does not carry the section's first reason {first_reason:?}"
        ));
    }

    // What grows: the key and delta of the growth table's first row.
    if let Some(h) = p.line("Heap: ") {
        let key = by_tag(h, "code").first().map(text).expect("a key");
        let table = by_tag(p.section("growth"), "table");
        let first = rows(table.first().expect("a growth table"))
            .into_iter()
            .next()
            .expect("a growth row");
        // `~ `: the row is below the sampling resolution (its note says so).
        let ranked = cell(&first, "key").trim_start_matches("~ ");
        if ranked != key {
            say(format!(
                "chain names {key:?}, the growth table ranks {ranked:?} first"
            ));
        }
        let delta = cell(&first, "delta").trim_start_matches(['+', '~']);
        if !text(h).contains(&format!("({delta},")) {
            say(format!(
                "chain line {:?} does not carry the table's delta {delta}",
                text(h)
            ));
        }
    } else if !text(p.section("growth")).contains("two heap snapshots") {
        say("no Heap line, yet the growth section ranks".into());
    }

    // The call path and holder lines: said again, word for word, in the
    // growth section.
    let paragraphs: Vec<String> = by_tag(p.section("growth"), "p").iter().map(text).collect();
    for l in &p.chain {
        let t = text(l);
        let about_path = [
            "Growth ranked first",
            "Call path",
            "Code to read first",
            "Application code on that path",
            "Holder",
        ]
        .iter()
        .any(|w| t.starts_with(w));
        if about_path && !paragraphs.contains(&t) {
            say(format!("chain line {t:?} is not in the growth section"));
        }
    }

    // Goroutine counts: the chain, the goroutine section, the verdict's
    // reasons and the checklist give the same first and last count.
    if let Some(g) = p.line("Goroutines: ") {
        let counts = integers(&text(g));
        let section = by_tag(p.section("goroutines"), "p")
            .first()
            .map(text)
            .unwrap_or_default();
        let shown = integers(section.split(" across ").next().unwrap_or(""));
        if shown.get(..2) != counts.get(..2) {
            say(format!(
                "chain goroutines {counts:?}, section {:?}",
                shown.get(..2)
            ));
        }
        let checklist = text(p.section("checklist"));
        if let Some(i) = checklist.find("goroutine profiles: ") {
            let c = integers(&checklist[i..]);
            if c.get(..2) != counts.get(..2) {
                say(format!(
                    "chain goroutines {counts:?}, checklist {:?}",
                    c.get(..2)
                ));
            }
        }
        if let Some(i) = text(block).find("goroutine snapshots: ") {
            let c = integers(&text(block)[i..]);
            if c.get(..2) != counts.get(..2) {
                say(format!(
                    "chain goroutines {counts:?}, verdict {:?}",
                    c.get(..2)
                ));
            }
        }
    }

    // Restarts: as many detected from the metrics in the timeline as the
    // verdict says it judged around.
    let restarts_said = regex::Regex::new(r"the service restarted (\d+) times?")
        .unwrap()
        .captures(&text(block))
        .map_or(0, |c| c[1].parse::<usize>().unwrap());
    let restarts_shown = by_tag(p.section("timeline"), "tr")
        .iter()
        .map(text)
        .filter(|t| t.contains("restart detected"))
        .count();
    if restarts_said != restarts_shown {
        say(format!(
            "the verdict judges around {restarts_said} restart(s), the timeline shows {restarts_shown}"
        ));
    }

    // The checklist: the count of passed items, and the post-fix check.
    let items: Vec<(String, String, String)> = by_tag(p.section("checklist"), "tr")
        .iter()
        .map(|tr| {
            let tds: Vec<String> = by_tag(tr, "td").iter().map(text).collect();
            (tds[0].clone(), tds[1].clone(), tds[2].clone())
        })
        .collect();
    let c = p.line("Checklist: ").expect("a checklist line");
    let n = integers(&text(c));
    let passed = items.iter().filter(|i| i.0 == "passed").count() as i64;
    if n != [passed, items.len() as i64] {
        say(format!(
            "chain says {:?}, the checklist has {passed} of {} passed",
            text(c),
            items.len()
        ));
    }
    let post_fix = items
        .iter()
        .find(|i| i.1.contains("post-fix"))
        .expect("a post-fix item");
    let regression = p.section("regression");
    match p.line("After the fix: ") {
        Some(a) => {
            let outcome = badges(a);
            match outcome.first() {
                Some(o) => {
                    if badges(regression).first() != Some(o) {
                        say(format!(
                            "chain after the fix {o:?}, regression section {:?}",
                            badges(regression)
                        ));
                    }
                    if !post_fix.2.contains(&format!(": {o} (")) {
                        say(format!(
                            "chain after the fix {o:?}, checklist {:?}",
                            post_fix.2
                        ));
                    }
                    if (o == "fixed") != (post_fix.0 == "passed") {
                        say(format!(
                            "after the fix {o:?}, yet the post-fix item is {:?}",
                            post_fix.0
                        ));
                    }
                }
                None => {
                    // Not checked: neither section may claim an outcome.
                    if !badges(regression).is_empty() || post_fix.0 == "passed" {
                        say(format!(
                            "chain {:?}, yet regression {:?} / checklist {:?}",
                            text(a),
                            badges(regression),
                            post_fix.0
                        ));
                    }
                }
            }
        }
        None => {
            if !badges(regression).is_empty() || post_fix.0 == "passed" {
                say(format!(
                    "no post-fix line, yet regression {:?} / checklist {:?}",
                    badges(regression),
                    post_fix.0
                ));
            }
        }
    }
    bad
}

fn page_of(bundle: &str, after: Option<&str>) -> String {
    let b = Bundle::open(format!("tests/fixtures/bundles/{bundle}")).unwrap();
    let opts = ReportOptions {
        findings: FindingsOptions {
            after: after.map(|a| format!("tests/fixtures/bundles/{a}").into()),
            ..Default::default()
        },
        ..Default::default()
    };
    incident_report(&b, &opts).unwrap().html
}

#[test]
fn every_bundled_page_agrees_with_itself() {
    let mut bad = Vec::new();
    for b in BUNDLES {
        bad.extend(contradictions(b, &page_of(b, None)));
    }
    bad.extend(contradictions(
        "mapcache --after fixed",
        &page_of("mapcache", Some("fixed")),
    ));
    assert!(
        bad.is_empty(),
        "the page contradicts itself:\n{}",
        bad.join("\n")
    );
}

/// The check is not vacuous: a page whose summary was edited to disagree
/// with its sections is caught, line by line.
#[test]
fn an_edited_summary_is_caught() {
    let html = page_of("mapcache", Some("fixed"));
    assert!(contradictions("ok", &html).is_empty());
    let edits = [
        ("Checklist: 4 of 6 passed", "Checklist: 5 of 6 passed"),
        ("Goroutines: 7 → 7", "Goroutines: 7 → 9"),
        (
            "<li>Heap: <code>bytes.Clone</code>",
            "<li>Heap: <code>main.(*profileCache).Put</code>",
        ),
        (
            "<li>Call path: growth concentrates in",
            "<li>Call path: growth gathers in",
        ),
    ];
    for (from, to) in edits {
        assert!(html.contains(from), "the page no longer says {from:?}");
        let edited = html.replacen(from, to, 1);
        assert!(
            !contradictions("edited", &edited).is_empty(),
            "editing {from:?} to {to:?} went unnoticed"
        );
    }
    // A restart the timeline does not show.
    let restart = page_of("restart", None);
    assert!(contradictions("restart", &restart).is_empty());
    let edited = restart.replacen("restart detected", "restart noticed", 1);
    assert!(!contradictions("edited", &edited).is_empty());
    // The after-fix outcome in the summary, changed to another word.
    let i = html.find("<li>After the fix: ").unwrap();
    let j = i + html[i..].find(">fixed<").unwrap();
    let mut edited = html.clone();
    edited.replace_range(j..j + ">fixed<".len(), ">not fixed<");
    assert!(!contradictions("edited", &edited).is_empty());
}
