//! Markdown: the evidence chain as a document to paste into a postmortem
//! or a ticket, with the charts and flame graphs as SVG files beside it.
//!
//! [`markdown_report`] renders the same [`Findings`] as the HTML page
//! ([`crate::views::page`]), section for section; every table of the
//! notebook displays has [`NotebookDisplay::to_markdown`]. Text from the
//! evidence (function names, labels, manifest fields) is escaped so that
//! it stays text: Markdown punctuation is backslash-escaped, `<`, `>` and
//! `&` become entities (a Markdown renderer passes raw HTML through), `|`
//! cannot split a table cell, and control characters show in their visible
//! form ([`crate::escape::terminal`]).
//!
//! The escaping is [`md_text`] and [`md_code`] in [`crate::views::html`].

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::evidence::bundle::Bundle;
use crate::findings::Findings;
use crate::views::flame;
use crate::views::html::{md_code, md_text, sentence_markdown};
use crate::views::notebook::NotebookDisplay;
use crate::views::plot;

/// Writes the Markdown report of `findings` (of `bundle`) into `dir`:
/// `report.md` and, in `dir/figures/`, each chart and flame graph as an
/// SVG file it shows as an image. Files are written whole (a reader never
/// sees half a file); `dir` may not be inside a bundle's evidence folders.
/// Returns the report's path.
pub fn write_markdown_report(
    bundle: &Bundle,
    findings: &Findings,
    rows: usize,
    dir: &Path,
) -> Result<std::path::PathBuf> {
    crate::evidence::bundle::check_output_path(dir, &[])?;
    if dir.is_dir() && crate::evidence::bundle::is_bundle_folder(dir) {
        return Err(Error::Option(format!(
            "refusing to write {}: it is a bundle; heapframe never writes into a bundle, choose a folder outside it",
            dir.display()
        )));
    }
    let figures = dir.join("figures");
    std::fs::create_dir_all(&figures).map_err(|e| {
        Error::Output(format!(
            "{}: cannot create the folder: {e}",
            figures.display()
        ))
    })?;
    let (md, files) = markdown_report(bundle, findings, rows)?;
    for (name, svg) in &files {
        crate::files::replace_file(&figures.join(name), svg.as_bytes())?;
    }
    let path = dir.join("report.md");
    crate::files::replace_file(&path, md.as_bytes())?;
    Ok(path)
}

/// The Markdown report of `findings` and its figures: `(report, [(file
/// name, SVG)])`, the figures referred to as `figures/NAME`.
pub fn markdown_report(
    bundle: &Bundle,
    findings: &Findings,
    rows: usize,
) -> Result<(String, Vec<(String, String)>)> {
    let m = &bundle.manifest;
    let mut files: Vec<(String, String)> = Vec::new();
    let mut figure = |md: &mut String, name: &str, alt: &str, svg: &str| {
        files.push((name.to_string(), svg.to_string()));
        let _ = writeln!(md, "\n![{}](figures/{name})\n", md_text(alt));
    };
    let mut md = String::new();
    let _ = writeln!(md, "# Memory investigation: {}\n", md_text(&findings.title));
    let _ = writeln!(
        md,
        "Bundle {}; {} heap, {} goroutine snapshots, {} metric scrapes{}.\n",
        md_code(&bundle.name()),
        bundle.heap.len(),
        bundle.goroutine.len(),
        bundle
            .metrics
            .points(crate::evidence::metrics::names::HEAP_INUSE)
            .len(),
        if m.captured_at.is_empty() {
            String::new()
        } else {
            format!("; captured {}", md_text(&m.captured_at))
        }
    );
    if let Some(p) = postmortem_markdown(m) {
        md.push_str(&p);
    }
    let entries = bundle.timeline_entries()?;
    if !entries.is_empty() {
        md.push_str("## Timeline\n\n| time (UTC) | what | source | text |\n|---|---|---|---|\n");
        for e in &entries {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                crate::units::format_rfc3339(e.time_ms),
                md_text(&e.what),
                e.source,
                md_text(&e.text)
            );
        }
        md.push('\n');
    }
    md.push_str("## Findings\n\n");
    for s in &findings.chain {
        let _ = writeln!(md, "- {}", sentence_markdown(s));
    }

    // 1. Verdict.
    md.push_str("\n## 1. Verdict from all the evidence\n\n");
    md.push_str(&findings.verdict.to_markdown());
    if !bundle.metrics.samples.is_empty() {
        let p = plot::bundle_metrics_plot(bundle)?;
        figure(&mut md, "metrics.svg", "Metric trends", p.svg());
    }

    // 2. Growth.
    md.push_str("\n## 2. What grows across the heap snapshots\n\n");
    let heap = &bundle.heap;
    match &findings.heap {
        Some(h) => {
            md.push_str(&h.table.to_table(rows).to_markdown());
            let p = plot::bundle_growth_plot(bundle, &h.table)?;
            figure(&mut md, "growth.svg", "Growth of the top owners", p.svg());
            if !h.widening.chain.is_empty() {
                md.push_str(&h.widening.to_table().to_markdown());
                if let Some(l) = h.largest.as_ref().filter(|l| !l.chain.is_empty()) {
                    md.push_str("\nPath of the largest growth (less steady):\n\n");
                    md.push_str(&l.to_table().to_markdown());
                }
                md.push('\n');
                for line in h.path_sentences() {
                    let _ = writeln!(md, "- {}", sentence_markdown(&line));
                }
            }
        }
        None => {
            let _ = writeln!(
                md,
                "{} heap snapshot(s): growth needs at least two.",
                heap.len()
            );
        }
    }

    // 3. Kinds.
    if let Some(h) = &findings.heap {
        md.push_str("\n## 3. Growth by allocation kind\n");
        let p = plot::growth_bars(&h.kinds, rows)?;
        figure(&mut md, "kinds.svg", "Growth by allocation kind", p.svg());
        md.push_str(&h.kinds.to_table(rows).to_markdown());
    }

    // 4. Flame graphs (static images; the HTML page has the interactive
    // ones), the incident's and the after-fix growth on one colour scale.
    let (incident_diff, after_fix_diff) = crate::views::page::incident_diffs(bundle, findings)?;
    if let Some(last) = heap.last() {
        md.push_str("\n## 4. Flame graphs\n");
        if let Some(d) = incident_diff {
            if let Some(f) = d.focused() {
                let _ = writeln!(
                    md,
                    "The heap as a whole changed little, so the graph is {}: the names there get the width (`heapframe flame --base` draws the whole graph).\n",
                    md_text(f)
                );
            }
            figure(&mut md, "diff-flame.svg", d.title(), d.svg());
        }
        let f = flame::flame(&last.profile)?;
        figure(&mut md, "flame.svg", f.title(), f.svg());
    }

    // 5. Goroutines.
    if !findings.goroutines.counts.is_empty() {
        md.push_str("\n## 5. Goroutines\n\n");
        md.push_str(&findings.goroutines.to_markdown());
    }

    // 6. Regression check.
    md.push_str("\n## 6. Regression check\n\n");
    match (&findings.regression, &findings.after_fix_refused) {
        (Some(r), _) => {
            let _ = writeln!(md, "After-fix bundle: {}\n", md_code(&r.after.name()));
            md.push_str(&r.validation.to_markdown());
            let p = plot::bundle_before_after_plot(bundle, &r.after)?;
            figure(&mut md, "before-after.svg", "Before and after the fix", p.svg());
            if let Some(d) = &after_fix_diff {
                md.push_str("After the fix, on the colour scale of the incident's graph:\n");
                figure(&mut md, "after-fix-diff-flame.svg", d.title(), d.svg());
            }
        }
        (None, Some(why)) => {
            let _ = writeln!(
                md,
                "The manifest's after-fix bundle cannot be used: {}",
                md_text(why)
            );
        }
        (None, None) => md.push_str(
            "No after-fix bundle yet: capture one under the same load and run `heapframe report BUNDLE --after AFTER`.\n",
        ),
    }

    // 7. Checklist.
    md.push_str("\n## 7. On-call checklist\n\n");
    md.push_str(&findings.checklist.to_markdown());
    Ok((md, files))
}

/// The manifest's postmortem fields as a section (`None` when none is
/// set).
pub(crate) fn postmortem_markdown(m: &crate::evidence::bundle::Manifest) -> Option<String> {
    let fields = m.postmortem_fields();
    if fields.is_empty() && m.action_items.is_empty() {
        return None;
    }
    let mut s = String::from("## Postmortem\n\n");
    for (label, value) in fields {
        let _ = writeln!(s, "- **{}**: {}", md_text(label), md_text(value));
    }
    if !m.action_items.is_empty() {
        s.push_str("- **Action items**:\n");
        for a in &m.action_items {
            let _ = writeln!(s, "  - [ ] {}", md_text(a));
        }
    }
    s.push('\n');
    Some(s)
}
