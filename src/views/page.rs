//! The standalone incident report: one self-contained HTML page with the
//! whole evidence chain of a bundle, for people who do not run notebooks.
//!
//! The page follows the order of an investigation: the verdict from the
//! metrics (with the trend charts), what grows across the heap snapshots
//! (table, chart and the widening call path), growth by allocation kind,
//! a differential flame graph from the first to the last snapshot and a
//! flame graph of the last one, goroutines, the regression check against
//! an after-fix bundle when there is one, and the on-call checklist.
//!
//! Self-contained: charts are inline SVG, flame graphs are `data:` URLs in
//! sandboxed frames (so each keeps its zoom and search without touching
//! the others), there is no script on the page itself, and a
//! Content-Security-Policy forbids loading anything from elsewhere. All
//! text taken from profiles, metrics and the manifest is escaped.
//!
//! ```
//! use heapframe::{evidence::Bundle, views::page::{incident_report, ReportOptions}};
//! let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
//! let report = incident_report(&b, &ReportOptions::default())?;
//! assert!(report.html.contains("bytes.Clone"));
//! assert!(report.evidence[0].starts_with("Metrics: leak"));
//! # Ok::<(), heapframe::Error>(())
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::error::Result;
use crate::evidence::bundle::Bundle;
use crate::evidence::checklist::{Status, checklist};
use crate::evidence::goroutines::goroutine_check;
use crate::evidence::metrics::names;
use crate::evidence::verdict;
use crate::growth::{GrowthKey, GrowthOptions, growth, widening};
use crate::profile::Snapshot;
use crate::views::flame;
use crate::views::html::{badge, escape_html};
use crate::views::notebook::NotebookDisplay;
use crate::views::plot;

/// Options of [`incident_report`].
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The after-fix bundle to validate against (`None`: the manifest's
    /// `after_fix`, if any).
    pub after: Option<PathBuf>,
    /// The request counter that measures load.
    pub counter: String,
    /// Rows per table.
    pub rows: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            after: None,
            counter: names::REQUESTS.to_string(),
            rows: 12,
        }
    }
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f4f5f7;color:#222}
main{max-width:1240px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:26px;margin:8px 0 4px}
h2{font-size:20px;margin:28px 0 8px;border-bottom:2px solid #ccd;padding-bottom:4px}
section{background:#fff;border-radius:6px;padding:4px 16px 14px;margin:14px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.meta{color:#555;font-size:14px}
.chain li{margin:3px 0}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;background:#f0f0f3;padding:0 3px;border-radius:3px}
.hf-plot svg{max-width:100%;height:auto;display:block;margin:6px 0}
.hf-flame{display:block;margin:6px 0;background:#fff}
.note{color:#555;font-size:13px}
nav a{margin-right:12px;color:#1f5fa8}
";

fn section(out: &mut String, id: &str, title: &str, body: &str) {
    let _ = writeln!(
        out,
        "<section id=\"{id}\"><h2>{}</h2>{body}</section>",
        escape_html(title)
    );
}

fn snapshot_name(s: &Snapshot) -> String {
    let p = &s.path;
    match (p.parent().and_then(|d| d.file_name()), p.file_name()) {
        (Some(d), Some(f)) => format!("{}/{}", d.to_string_lossy(), f.to_string_lossy()),
        _ => p.display().to_string(),
    }
}

/// The result of [`incident_report`].
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentReport {
    /// The page.
    pub html: String,
    /// The evidence chain at the top of the page, one plain-text line per
    /// step (metrics verdict, what grows, call path, code to read first,
    /// goroutines, regression check, checklist).
    pub evidence: Vec<String>,
}

/// Plain text of an HTML fragment made here: tags dropped, the entities
/// of [`escape_html`] decoded.
fn html_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The report of `bundle`: one HTML page and its evidence chain as text.
pub fn incident_report(bundle: &Bundle, opts: &ReportOptions) -> Result<IncidentReport> {
    let m = &bundle.manifest;
    let title = if m.service.is_empty() {
        bundle.name()
    } else {
        m.service.clone()
    };
    let mut body = String::new();
    let mut chain: Vec<String> = Vec::new();

    // 1. Metrics verdict and trends.
    let verdict = verdict::verdict(&bundle.metrics, Some(&opts.counter), &Default::default());
    chain.push(format!(
        "Metrics: {} — {}",
        badge(verdict.verdict.as_str()),
        escape_html(verdict.reasons.first().map(String::as_str).unwrap_or(""))
    ));
    let mut s = verdict.to_html();
    if bundle.metrics.samples.is_empty() {
        s.push_str(
            "<p class=\"note\">The bundle has no metric scrapes (<code>metrics/</code>).</p>",
        );
    } else {
        s.push_str(&plot::metrics_plot(&bundle.metrics)?.to_html());
        s.push_str("<p class=\"note\">Grey lines: scrapes by which another GC cycle had run. A leak shows as floors after GC that keep rising.</p>");
    }
    section(&mut body, "verdict", "1. Verdict from the metrics", &s);

    // 2. Growth across heap snapshots.
    let heap = &bundle.heap;
    let mut s = String::new();
    if heap.len() >= 2 {
        let table = growth(heap, &GrowthOptions::default())?;
        let w = widening(&heap[0].profile, &heap[heap.len() - 1].profile, None, 0.5)?;
        if let Some(top) = table.top_grower() {
            chain.push(format!(
                "Heap: <code>{}</code> grew most ({}, {:.0}% of the growth, R² {:.2})",
                escape_html(&top.key),
                escape_html(&table.format(top.delta)),
                top.share * 100.0,
                top.r2
            ));
        }
        s.push_str(&table.to_table(opts.rows).to_html());
        s.push_str(&plot::growth_plot(&table)?.to_html());
        if let Some(c) = w.concentration_node() {
            s.push_str("<h3>Widening call path (first → last snapshot)</h3>");
            s.push_str(&w.to_html());
            chain.push(format!(
                "Call path: growth concentrates in <code>{}</code> ({} of {} total)",
                escape_html(&c.function),
                escape_html(&table.format(c.growth)),
                escape_html(&table.format(w.total_growth))
            ));
            if let Some(u) = w.user_frame() {
                let _ = write!(
                    s,
                    "<p>Deepest application code on that path: <code>{}</code> ({}). Read it first.</p>",
                    escape_html(&u.function),
                    escape_html(&table.format(u.growth))
                );
                chain.push(format!(
                    "Code to read first: <code>{}</code>",
                    escape_html(&u.function)
                ));
            }
        }
    } else {
        let _ = write!(
            s,
            "<p class=\"note\">{} heap snapshot(s): growth needs at least two.</p>",
            heap.len()
        );
    }
    section(
        &mut body,
        "growth",
        "2. What grows across the heap snapshots",
        &s,
    );

    // 3. Allocation kinds.
    if heap.len() >= 2 {
        let kinds = growth(
            heap,
            &GrowthOptions {
                key: GrowthKey::Kind,
                ..Default::default()
            },
        )?;
        let mut s = plot::growth_bars(&kinds, opts.rows)?.to_html();
        s.push_str(&kinds.to_table(opts.rows).to_html());
        section(&mut body, "kinds", "3. Growth by allocation kind", &s);
    }

    // 4. Flame graphs.
    if let Some(last) = heap.last() {
        let mut s = String::new();
        if heap.len() >= 2 {
            let d = flame::diff_flame(&heap[0].profile, &last.profile)?;
            let _ = write!(
                s,
                "<h3>Differential flame graph, {} → {}</h3><p class=\"note\">Colour: growth of each frame's whole subtree (red grows, blue shrinks); paths that vanished stay, in blue. Click a frame to zoom, Search (or Ctrl-F inside the graph) to highlight.</p>{}",
                escape_html(&snapshot_name(&heap[0])),
                escape_html(&snapshot_name(last)),
                d.interactive().to_html()
            );
        }
        let f = flame::flame(&last.profile)?;
        let _ = write!(
            s,
            "<h3>Flame graph of {}</h3>{}",
            escape_html(&snapshot_name(last)),
            f.interactive().to_html()
        );
        section(&mut body, "flame", "4. Flame graphs", &s);
    }

    // 5. Goroutines.
    let g = goroutine_check(bundle)?;
    if let (Some(first), Some(last)) = (g.counts.first(), g.counts.last()) {
        let mut s = g.to_html();
        let gs = &bundle.goroutine;
        if gs.len() >= 2 && last.1 > first.1 {
            let d = flame::diff_flame(&gs[0].profile, &gs[gs.len() - 1].profile)?;
            let _ = write!(
                s,
                "<h3>Goroutine growth, {} → {}</h3>{}",
                escape_html(&snapshot_name(&gs[0])),
                escape_html(&snapshot_name(&gs[gs.len() - 1])),
                d.interactive().to_html()
            );
        }
        chain.push(format!("Goroutines: {} → {}", first.1, last.1));
        section(&mut body, "goroutines", "5. Goroutines", &s);
    }

    // 6. Regression check: the bundle asked for, else the manifest's
    // after_fix, which is checked to be evidence (the manifest is input).
    let after = match &opts.after {
        Some(dir) => Ok(Some(Bundle::open(dir)?)),
        None => bundle.after_fix(),
    };
    let mut s = String::new();
    match after {
        Ok(Some(after)) => {
            let v = verdict::validate(
                &bundle.metrics,
                &after.metrics,
                Some(&opts.counter),
                &Default::default(),
            );
            chain.push(format!("After the fix: {}", badge(v.outcome.as_str())));
            let _ = write!(
                s,
                "<p class=\"meta\">After-fix bundle: <code>{}</code></p>",
                escape_html(&after.name())
            );
            s.push_str(&v.to_html());
            s.push_str(&plot::before_after_plot(&bundle.metrics, &after.metrics)?.to_html());
        }
        Ok(None) => s.push_str(
            "<p class=\"note\">No after-fix bundle yet: capture one under the same load and run <code>heapframe report BUNDLE --after AFTER</code> (or set <code>after_fix</code> in the manifest).</p>",
        ),
        Err(e) => {
            chain.push("After the fix: not checked (the manifest's after_fix is not evidence)".into());
            let _ = write!(
                s,
                "<p class=\"note\">The manifest's after-fix bundle cannot be used: {}</p>",
                escape_html(&e.to_string())
            );
        }
    }
    section(&mut body, "regression", "6. Regression check", &s);

    // 7. Checklist.
    let items = checklist(bundle);
    let open = items.iter().filter(|i| i.status != Status::Passed).count();
    chain.push(format!(
        "Checklist: {} of {} passed",
        items.len() - open,
        items.len()
    ));
    section(
        &mut body,
        "checklist",
        "7. On-call checklist",
        &items.to_html(),
    );

    // Page.
    let mut page = String::with_capacity(body.len() + 4096);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src data:; script-src 'unsafe-inline'\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>heapframe report: {t}</title><style>{STYLE}</style></head><body><main>\
<h1>Memory investigation: {t}</h1>",
        t = escape_html(&title)
    );
    let _ = write!(
        page,
        "<p class=\"meta\">bundle <code>{}</code>; {} heap, {} goroutine snapshots, {} metric scrapes{}{}</p>",
        escape_html(&bundle.name()),
        heap.len(),
        bundle.goroutine.len(),
        bundle.metrics.points(names::HEAP_INUSE).len(),
        if m.captured_at.is_empty() {
            String::new()
        } else {
            format!("; captured {}", escape_html(&m.captured_at))
        },
        if m.target.is_empty() {
            String::new()
        } else {
            format!(" from <code>{}</code>", escape_html(&m.target))
        },
    );
    if !m.notes.is_empty() {
        let _ = write!(page, "<p class=\"meta\">{}</p>", escape_html(&m.notes));
    }
    page.push_str("<nav><a href=\"#verdict\">verdict</a><a href=\"#growth\">growth</a><a href=\"#kinds\">kinds</a><a href=\"#flame\">flame graphs</a><a href=\"#goroutines\">goroutines</a><a href=\"#regression\">regression</a><a href=\"#checklist\">checklist</a></nav>");
    page.push_str("<section id=\"summary\"><h2>Evidence chain</h2><ol class=\"chain\">");
    for c in &chain {
        let _ = write!(page, "<li>{c}</li>");
    }
    page.push_str("</ol></section>\n");
    page.push_str(&body);
    let _ = writeln!(
        page,
        "<p class=\"note\">Made by heapframe {} (<code>heapframe report</code>).</p></main></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    Ok(IncidentReport {
        html: page,
        evidence: chain.iter().map(|c| html_text(c)).collect(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_text_undoes_escaping() {
        let name = "main.<T>&\"'";
        let html = format!(
            "<code>{}</code> <span a=\"b\">x</span>",
            super::escape_html(name)
        );
        assert_eq!(super::html_text(&html), format!("{name} x"));
    }
}
