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
//! assert!(report.evidence[0].starts_with("Verdict: leak"));
//! # Ok::<(), heapframe::Error>(())
//! ```

use std::fmt::Write as _;

use crate::error::Result;
use crate::evidence::bundle::Bundle;
use crate::evidence::metrics::names;
use crate::findings::{Findings, FindingsOptions};
use crate::profile::Snapshot;
use crate::views::flame;
use crate::views::html::{escape_html, sentence_html};
use crate::views::notebook::NotebookDisplay;
use crate::views::plot;

/// Options of [`incident_report`].
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// What the evidence chain is computed with (the after-fix bundle, the
    /// request counter, the verdict's thresholds).
    pub findings: FindingsOptions,
    /// Rows per table.
    pub rows: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            findings: FindingsOptions::default(),
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
.postmortem dt{font-weight:bold;margin-top:6px}
.postmortem dd{margin:2px 0 0 16px}
.hf-timeline{border-collapse:collapse;font-size:14px}
.hf-timeline td,.hf-timeline th{text-align:left;padding:2px 10px;border-bottom:1px solid #e3e3e8;vertical-align:top}
.hf-timeline td:first-child{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
nav a{margin-right:12px;color:#1f5fa8}
";

fn section(out: &mut String, id: &str, title: &str, body: &str) {
    let _ = writeln!(
        out,
        "<section id=\"{id}\"><h2>{}</h2>{body}</section>",
        escape_html(title)
    );
}

/// What a flame graph left out to stay within its bounds (too deep, too
/// narrow to see, too many frames), as a note above it; empty when it draws
/// everything.
fn left_out(g: &flame::FlameGraph) -> String {
    g.note().map_or_else(String::new, |n| {
        format!("<p class=\"note\">{}.</p>", escape_html(n))
    })
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

/// The report of `bundle`: its evidence chain ([`Findings::of`]) as one
/// HTML page and as text.
pub fn incident_report(bundle: &Bundle, opts: &ReportOptions) -> Result<IncidentReport> {
    let findings = Findings::of(bundle, &opts.findings)?;
    page(bundle, &findings, opts.rows)
}

/// The differential flame graphs of the incident (first → last heap
/// snapshot) and, with a regression check, of the after-fix bundle, drawn
/// on one colour scale; `None` for a graph with fewer than two snapshots.
pub(crate) fn incident_diffs(
    bundle: &Bundle,
    findings: &Findings,
) -> Result<(Option<flame::FlameGraph>, Option<flame::FlameGraph>)> {
    let heap = &bundle.heap;
    if heap.len() < 2 {
        return Ok((None, None));
    }
    let incident = (&heap[0].profile, &heap[heap.len() - 1].profile);
    let after = findings
        .regression
        .as_ref()
        .map(|r| &r.after.heap)
        .filter(|h| h.len() >= 2);
    let (first, after) = match after {
        Some(ah) => {
            let mut both = flame::diff_flames(
                &[incident, (&ah[0].profile, &ah[ah.len() - 1].profile)],
                &Default::default(),
            )?;
            let after = both.pop();
            (both.pop(), after)
        }
        None => (Some(flame::diff_flame(incident.0, incident.1)?), None),
    };
    // When the incident's root is mostly unchanged, its graph is focused
    // on the subtree that grows (on the same colour scale), so that the
    // names there are readable; the after-fix graph stays whole, as its
    // point is how little changes.
    let first = match (first, flame::auto_focus(incident.0, incident.1)?) {
        (Some(g), Some(focus)) => Some(flame::diff_flame_with(
            incident.0,
            incident.1,
            &flame::FlameOptions {
                focus: Some(focus),
                color_scale: g.color_scale(),
                ..Default::default()
            },
        )?),
        (g, _) => g,
    };
    Ok((first, after))
}

/// The page of `findings` (the findings of `bundle`).
pub fn page(bundle: &Bundle, findings: &Findings, rows: usize) -> Result<IncidentReport> {
    page_inner(bundle, findings, rows, None)
}

/// [`page`] with a section on the service's replicas after the verdict:
/// each instance's verdict side by side and their heap in use over time
/// (from [`crate::findings::verdicts_of`] or
/// [`crate::findings::verdicts_by_instance`]).
pub fn page_with_replicas(
    bundle: &Bundle,
    findings: &Findings,
    rows: usize,
    replicas: &[crate::findings::InstanceVerdict],
) -> Result<IncidentReport> {
    page_inner(bundle, findings, rows, Some(&replicas_html(replicas)?))
}

/// The replicas section's body: a table of the instances' verdicts and a
/// chart of their heap in use.
fn replicas_html(replicas: &[crate::findings::InstanceVerdict]) -> Result<String> {
    let mut s = String::from(
        "<table class=\"hf-replicas\"><thead><tr><th>instance</th><th>verdict</th><th>confidence</th><th>heap in use (first → last snapshot)</th><th>slope</th><th>grows most</th></tr></thead><tbody>",
    );
    for r in replicas {
        let v = &r.verdict;
        let heap = r.heap_change("→");
        let owner = r.grows_most().map_or(String::new(), |(key, how)| {
            format!("<code>{}</code> ({how})", escape_html(key))
        });
        let _ = write!(
            s,
            "<tr class=\"hf-verdict-{}\"><td>{}</td><td><strong>{}</strong></td><td>{} ({:.2})</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            v.verdict.as_str().replace(' ', "-"),
            escape_html(&r.instance),
            escape_html(v.verdict.as_str()),
            v.confidence.word(),
            v.confidence.score,
            escape_html(&heap),
            escape_html(&r.slope_text()),
            owner
        );
    }
    s.push_str("</tbody></table>");
    let _ = write!(
        s,
        "<p>{}. Each is judged on its own metrics and snapshots only; the slope is a least-squares fit of the heap over its snapshots (<code>--instance NAME</code> on any command gives one instance's evidence).</p>",
        escape_html(&crate::findings::InstanceVerdict::leak_count(replicas))
    );
    if let Some(plot) = crate::views::chart::instances_chart(replicas, "heap in use by instance")? {
        s.push_str(&plot.to_html());
    }
    Ok(s)
}

fn page_inner(
    bundle: &Bundle,
    findings: &Findings,
    rows: usize,
    replicas: Option<&str>,
) -> Result<IncidentReport> {
    let m = &bundle.manifest;
    let mut body = String::new();

    // 0. The postmortem's own words, from the manifest.
    let fields = m.postmortem_fields();
    if !fields.is_empty() || !m.action_items.is_empty() {
        let mut s = String::from("<dl class=\"postmortem\">");
        for (label, value) in fields {
            let _ = write!(
                s,
                "<dt>{}</dt><dd>{}</dd>",
                escape_html(label),
                escape_html(value)
            );
        }
        if !m.action_items.is_empty() {
            s.push_str("<dt>Action items</dt><dd><ul>");
            for a in &m.action_items {
                let _ = write!(s, "<li>{}</li>", escape_html(a));
            }
            s.push_str("</ul></dd>");
        }
        s.push_str("</dl>");
        section(&mut body, "postmortem", "Postmortem", &s);
    }

    // The timeline: recorded events, detected restarts, the evidence's span.
    let entries = bundle.timeline_entries()?;
    if entries.is_empty() {
        section(
            &mut body,
            "timeline",
            "Timeline",
            "<p class=\"note\">No events, snapshots or scrapes to place in time.</p>",
        );
    } else {
        let mut s = String::from(
            "<table class=\"hf-timeline\"><thead><tr><th>time (UTC)</th><th>what</th><th>source</th><th>text</th></tr></thead><tbody>",
        );
        for e in &entries {
            let _ = write!(
                s,
                "<tr class=\"hf-event-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape_html(&e.what),
                escape_html(&crate::units::format_rfc3339(e.time_ms)),
                escape_html(&e.what),
                escape_html(e.source),
                escape_html(&e.text)
            );
        }
        s.push_str("</tbody></table><p class=\"note\">recorded: in the manifest (<code>heapframe note</code>); detected: read from the metrics or the profiles; data: when the evidence begins and ends. Events are drawn on the metric charts as dashed lines, heap snapshots as triangles.</p>");
        section(&mut body, "timeline", "Timeline", &s);
    }

    // 1. Metrics verdict and trends.
    let mut s = findings.verdict.to_html();
    if bundle.metrics.samples.is_empty() {
        s.push_str(
            "<p class=\"note\">The bundle has no metric scrapes (<code>metrics/</code>).</p>",
        );
    } else {
        s.push_str(&plot::bundle_metrics_plot(bundle)?.to_html());
        s.push_str("<p class=\"note\">Grey ticks on the time axis: scrapes by which another GC cycle had run. Red dots: the floor after GC in each of the verdict's windows (since the last restart), the dashed red line their least-squares trend; a leak shows as floors that keep rising. Triangles on the top edge: heap snapshots; dashed vertical lines: the timeline's events.</p>");
    }
    section(&mut body, "verdict", "1. Verdict from all the evidence", &s);
    if let Some(r) = replicas {
        section(&mut body, "replicas", "Which replicas leak", r);
    }

    // 2. Growth across heap snapshots.
    let heap = &bundle.heap;
    let mut s = String::new();
    match &findings.heap {
        Some(h) => {
            s.push_str(&h.table.to_table(rows).to_html());
            s.push_str(&plot::bundle_growth_plot(bundle, &h.table)?.to_html());
            if !h.widening.chain.is_empty() {
                match &h.widening.focus {
                    Some(f) => {
                        let _ = write!(
                            s,
                            "<h3>Widening call path toward <code>{}</code>, the owner ranked first (first → last snapshot)</h3>",
                            escape_html(f)
                        );
                    }
                    None => s.push_str("<h3>Widening call path (first → last snapshot)</h3>"),
                }
                s.push_str(&h.widening.to_html());
                if let Some(l) = h.largest.as_ref().filter(|l| !l.chain.is_empty()) {
                    s.push_str("<h3>Path of the largest growth (less steady)</h3>");
                    s.push_str(&l.to_html());
                }
                for line in h.path_sentences() {
                    let _ = write!(s, "<p>{}</p>", sentence_html(&line));
                }
            }
        }
        None => {
            let _ = write!(
                s,
                "<p class=\"note\">{} heap snapshot(s): growth needs at least two.</p>",
                heap.len()
            );
        }
    }
    section(
        &mut body,
        "growth",
        "2. What grows across the heap snapshots",
        &s,
    );

    // 3. Allocation kinds.
    if let Some(h) = &findings.heap {
        let mut s = plot::growth_bars(&h.kinds, rows)?.to_html();
        s.push_str(&h.kinds.to_table(rows).to_html());
        section(&mut body, "kinds", "3. Growth by allocation kind", &s);
    }

    // 4. Flame graphs. The incident's growth and the after-fix growth
    // (shown in section 6) share one colour scale, so that the same red
    // means the same growth in both.
    let (incident_diff, after_fix_diff) = incident_diffs(bundle, findings)?;
    if let Some(last) = heap.last() {
        let mut s = String::new();
        if let Some(d) = incident_diff {
            let _ = write!(
                s,
                "<h3>Differential flame graph, {} → {}</h3><p class=\"note\">Colour: growth of each frame's whole subtree (red grows, blue shrinks; the scale is below the graph); paths that vanished stay, in blue. Click a frame to zoom, Search (or Ctrl-F inside the graph) to highlight.{}</p>{}{}",
                escape_html(&snapshot_name(&heap[0])),
                escape_html(&snapshot_name(last)),
                match d.focused() {
                    Some(f) => format!(
                        " The heap as a whole changed little, so the graph is {}: the names there get the width (<code>heapframe flame --base</code> draws the whole graph).",
                        escape_html(f)
                    ),
                    None => String::new(),
                },
                left_out(&d),
                d.interactive().to_html()
            );
        }
        // The steady owner's own growth, when the largest growth is
        // elsewhere: the emphasis follows the ranking.
        if let Some(h) = findings.heap.as_ref().filter(|h| h.largest.is_some())
            && let Some(focus) = &h.widening.focus
            && let Some(outermost) = crate::growth::owner_side(&h.table.key)
        {
            let only = |p| crate::growth::owner_samples(p, outermost, focus);
            let d = flame::diff_flame(&only(&heap[0].profile), &only(&last.profile))?;
            let _ = write!(
                s,
                "<h3>Differential flame graph of <code>{}</code> alone, the owner ranked first</h3><p class=\"note\">Only the samples allocated by it: where its steady growth widens. The graph above is dominated by larger growth that is less steady.</p>{}{}",
                escape_html(focus),
                left_out(&d),
                d.interactive().to_html()
            );
        }
        let f = flame::flame(&last.profile)?;
        let _ = write!(
            s,
            "<h3>Flame graph of {}</h3>{}{}",
            escape_html(&snapshot_name(last)),
            left_out(&f),
            f.interactive().to_html()
        );
        section(&mut body, "flame", "4. Flame graphs", &s);
    }

    // 5. Goroutines.
    let g = &findings.goroutines;
    if let (Some(first), Some(last)) = (g.counts.first(), g.counts.last()) {
        let mut s = g.to_html();
        let gs = &bundle.goroutine;
        if gs.len() >= 2 && last.1 > first.1 {
            let d = flame::diff_flame(&gs[0].profile, &gs[gs.len() - 1].profile)?;
            let _ = write!(
                s,
                "<h3>Goroutine growth, {} → {}</h3>{}{}",
                escape_html(&snapshot_name(&gs[0])),
                escape_html(&snapshot_name(&gs[gs.len() - 1])),
                left_out(&d),
                d.interactive().to_html()
            );
        }
        section(&mut body, "goroutines", "5. Goroutines", &s);
    }

    // 6. Regression check: the bundle asked for, else the manifest's
    // after_fix, which Findings checked to be evidence (the manifest is input).
    let mut s = String::new();
    match (&findings.regression, &findings.after_fix_refused) {
        (Some(r), _) => {
            let _ = write!(
                s,
                "<p class=\"meta\">After-fix bundle: <code>{}</code></p>",
                escape_html(&r.after.name())
            );
            s.push_str(&r.validation.to_html());
            s.push_str(&plot::bundle_before_after_plot(bundle, &r.after)?.to_html());
            if let Some(d) = &after_fix_diff {
                let ah = &r.after.heap;
                let _ = write!(
                    s,
                    "<h3>After the fix: differential flame graph, {} → {}</h3><p class=\"note\">On the colour scale of the incident's graph in section 4: what still grows after the fix is as red as its growth is large next to the leak's.</p>{}{}",
                    escape_html(&snapshot_name(&ah[0])),
                    escape_html(&snapshot_name(&ah[ah.len() - 1])),
                    left_out(d),
                    d.interactive().to_html()
                );
            }
        }
        (None, Some(why)) => {
            let _ = write!(
                s,
                "<p class=\"note\">The manifest's after-fix bundle cannot be used: {}</p>",
                escape_html(why)
            );
        }
        (None, None) => s.push_str(
            "<p class=\"note\">No after-fix bundle yet: capture one under the same load and run <code>heapframe report BUNDLE --after AFTER</code> (or set <code>after_fix</code> in the manifest).</p>",
        ),
    }
    section(&mut body, "regression", "6. Regression check", &s);

    // 7. Checklist.
    section(
        &mut body,
        "checklist",
        "7. On-call checklist",
        &findings.checklist.to_html(),
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
        t = escape_html(&findings.title)
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
            format!(
                " from <code>{}</code>",
                escape_html(&crate::address::redact_url(&m.target))
            )
        },
    );
    if !m.notes.is_empty() {
        let _ = write!(page, "<p class=\"meta\">{}</p>", escape_html(&m.notes));
    }
    page.push_str("<nav><a href=\"#timeline\">timeline</a><a href=\"#verdict\">verdict</a><a href=\"#growth\">growth</a><a href=\"#kinds\">kinds</a><a href=\"#flame\">flame graphs</a><a href=\"#goroutines\">goroutines</a><a href=\"#regression\">regression</a><a href=\"#checklist\">checklist</a></nav>");
    page.push_str("<section id=\"summary\"><h2>Evidence chain</h2><ol class=\"chain\">");
    for c in &findings.chain {
        let _ = write!(page, "<li>{}</li>", sentence_html(c));
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
        evidence: findings.chain.iter().map(|c| c.to_text()).collect(),
    })
}
