//! Rich display in Jupyter notebooks (the evcxr Rust kernel) and HTML
//! escaping for every view.
//!
//! evcxr renders the last expression of a cell through a method named
//! `evcxr_display` when the value has one: the method prints one block per
//! MIME type,
//!
//! ```text
//! EVCXR_BEGIN_CONTENT text/html
//! <table>...</table>
//! EVCXR_END_CONTENT
//! ```
//!
//! and the notebook picks the richest it can show. [`NotebookDisplay`]
//! gives that method to every result a user looks at — top reports,
//! growth tables, verdicts, validations, checklists, polars `DataFrame`s,
//! flame graphs and plots — with an HTML rendering and a plain-text
//! fallback. Bring it into scope with the prelude:
//!
//! ```
//! use heapframe::prelude::*;
//! let p = heapframe::Profile::from_path("tests/data/conformance/profiles/svc.heap.2.pb.gz")?;
//! let top = heapframe::report::top(&p, &Default::default())?;
//! let html = top.to_html();          // what a notebook cell shows for `top`
//! assert!(html.contains("bytes.Clone"));
//! # Ok::<(), heapframe::Error>(())
//! ```
//!
//! Tables are compact: numbers right-aligned and in human units (`1.50MB`),
//! at most [`DEFAULT_ROW_LIMIT`] rows followed by "N more rows". Everything
//! a profile names (functions, files, labels) is untrusted and goes through
//! [`escape_html`].

use std::fmt::Write as _;

use crate::escape::terminal;
use crate::evidence::checklist::Item;
use crate::evidence::verdict::{CombinedVerdict, LeakVerdict, Validation};
use crate::findings::goroutine_sentences;
use crate::growth::GrowthTable;
use crate::report::TopReport;
use crate::units::thousands;
use crate::units::{percentage, scaled_label};
use crate::views::html::reasons_markdown;
use crate::views::html::{
    DEFAULT_ROW_LIMIT, HtmlTable, badge, escape_html, sentence_html, shorten,
};

/// evcxr's display blocks for `(mime type, content)` pairs: what
/// `evcxr_display` prints.
///
/// ```
/// let out = heapframe::views::notebook::evcxr_blocks(&[("text/plain", "x"), ("text/html", "<b>x</b>")]);
/// assert_eq!(
///     out,
///     "EVCXR_BEGIN_CONTENT text/plain\nx\nEVCXR_END_CONTENT\n\
///      EVCXR_BEGIN_CONTENT text/html\n<b>x</b>\nEVCXR_END_CONTENT\n"
/// );
/// ```
pub fn evcxr_blocks(blocks: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (mime, content) in blocks {
        let _ = write!(
            s,
            "EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT\n"
        );
    }
    s
}

/// `svg` with a style on its root element that lets it shrink to the width
/// of the page (`max-width:100%;height:auto`), for notebook front ends and
/// HTML exports that show SVG output inline at its natural width. The root
/// keeps its `viewBox`, so it scales; an SVG whose root already has a style
/// is returned as it is.
///
/// ```
/// let svg = r#"<svg width="1200" height="400" viewBox="0 0 1200 400"><rect/></svg>"#;
/// assert_eq!(
///     heapframe::views::notebook::fit_width(svg),
///     r#"<svg style="max-width:100%;height:auto" width="1200" height="400" viewBox="0 0 1200 400"><rect/></svg>"#
/// );
/// ```
pub fn fit_width(svg: &str) -> String {
    let Some(start) = svg.find("<svg") else {
        return svg.to_string();
    };
    let end = svg[start..].find('>').map_or(svg.len(), |e| start + e);
    if svg[start..end].contains("style=") {
        return svg.to_string();
    }
    let at = start + "<svg".len();
    format!(
        "{} style=\"max-width:100%;height:auto\"{}",
        &svg[..at],
        &svg[at..]
    )
}

/// Prints [`evcxr_blocks`] to standard output.
pub fn print_evcxr(blocks: &[(&str, &str)]) {
    print!("{}", evcxr_blocks(blocks));
}

/// A value that renders in a notebook as HTML, with plain text as fallback.
///
/// `evcxr_display` is what the evcxr kernel calls on a cell's last value;
/// the two other methods give the same renderings as strings.
pub trait NotebookDisplay {
    /// The HTML rendering (a fragment, no `<html>` wrapper).
    fn to_html(&self) -> String;
    /// The plain-text rendering.
    fn to_plain_text(&self) -> String;
    /// The Markdown rendering, to paste into a document or a ticket
    /// (tables as Markdown tables; by default the plain text in a fenced
    /// block).
    fn to_markdown(&self) -> String {
        let text = self.to_plain_text();
        let fence = "`".repeat(
            text.split(|c| c != '`')
                .map(str::len)
                .max()
                .unwrap_or(0)
                .max(2)
                + 1,
        );
        format!("{fence}text\n{}\n{fence}\n", text.trim_end_matches('\n'))
    }
    /// Prints both renderings in evcxr's display protocol.
    fn evcxr_display(&self) {
        print_evcxr(&[
            ("text/plain", &self.to_plain_text()),
            ("text/html", &self.to_html()),
        ]);
    }
}

impl NotebookDisplay for HtmlTable {
    fn to_html(&self) -> String {
        const CELL: &str = "padding:2px 8px;border-bottom:1px solid #ddd;";
        let mut s = String::from(
            "<div class=\"hf-table\"><table style=\"border-collapse:collapse;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px\">",
        );
        if let Some(c) = &self.caption {
            let _ = write!(
                s,
                "<caption style=\"text-align:left;font-weight:bold;padding:4px 0\">{}</caption>",
                escape_html(c)
            );
        }
        s.push_str("<thead><tr>");
        for (i, c) in self.columns.iter().enumerate() {
            let align = if self.is_numeric(i) { "right" } else { "left" };
            let _ = write!(
                s,
                "<th style=\"text-align:{align};{CELL}border-bottom:2px solid #888\">{}</th>",
                escape_html(c)
            );
        }
        s.push_str("</tr></thead><tbody>");
        for (ri, r) in self.rows.iter().enumerate() {
            s.push_str("<tr>");
            for (i, cell) in r.iter().enumerate() {
                let align = if self.is_numeric(i) { "right" } else { "left" };
                let text = escape_html(&shorten(cell));
                let _ = match self.link_of(ri, i) {
                    Some(url) => write!(
                        s,
                        "<td style=\"text-align:{align};{CELL}white-space:nowrap\"><a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">{text}</a></td>",
                        escape_html(url)
                    ),
                    None => write!(
                        s,
                        "<td style=\"text-align:{align};{CELL}white-space:nowrap\">{text}</td>"
                    ),
                };
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody>");
        let more = self.more();
        if more > 0 {
            let _ = write!(
                s,
                "<tfoot><tr><td colspan=\"{}\" style=\"{CELL}color:#666;font-style:italic\">{more} more row{}</td></tr></tfoot>",
                self.columns.len().max(1),
                if more == 1 { "" } else { "s" }
            );
        }
        s.push_str("</table>");
        for note in &self.notes {
            let _ = write!(
                s,
                "<p class=\"hf-note\" style=\"margin:2px 0;color:#555;font-size:12px\">{}</p>",
                escape_html(note)
            );
        }
        s.push_str("</div>");
        s
    }

    /// The table as aligned text; every cell through
    /// [`crate::escape::terminal`], so a name cannot forge a row.
    fn to_plain_text(&self) -> String {
        let n = self.columns.len();
        let text = |cells: &[String]| -> Vec<String> {
            cells
                .iter()
                .map(|c| terminal(&shorten(c)).into_owned())
                .collect()
        };
        let columns = text(&self.columns);
        let rows: Vec<Vec<String>> = self.rows.iter().map(|r| text(r)).collect();
        let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
        for r in &rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut l = String::new();
            for (i, c) in cells.iter().enumerate().take(n) {
                if i > 0 {
                    l.push_str("  ");
                }
                let pad = widths[i].saturating_sub(c.chars().count());
                if self.is_numeric(i) {
                    l.push_str(&" ".repeat(pad));
                    l.push_str(c);
                } else if i + 1 == n {
                    l.push_str(c);
                } else {
                    l.push_str(c);
                    l.push_str(&" ".repeat(pad));
                }
            }
            l.push('\n');
            l
        };
        let mut s = String::new();
        if let Some(c) = &self.caption {
            s.push_str(&terminal(c));
            s.push('\n');
        }
        s.push_str(&line(&columns));
        for r in &rows {
            s.push_str(&line(r));
        }
        let more = self.more();
        if more > 0 {
            let _ = writeln!(s, "... {more} more row{}", if more == 1 { "" } else { "s" });
        }
        for note in &self.notes {
            s.push_str(&terminal(note));
            s.push('\n');
        }
        s
    }
    fn to_markdown(&self) -> String {
        HtmlTable::to_markdown(self)
    }
}

impl TopReport {
    /// The report as a table: `flat`, `flat%`, `sum%`, `cum`, `cum%`,
    /// `name`, values in the report's unit, at most `limit` rows.
    pub fn to_table(&self, limit: usize) -> HtmlTable {
        let mut t = HtmlTable::new(
            &["flat", "flat%", "sum%", "cum", "cum%", "name"],
            &[true, true, true, true, true, false],
        )
        .with_caption(if self.net != self.total {
            // A `-base` delta: say the net change, and what pprof's total
            // (the percentages' denominator) is.
            format!(
                "{}: net change {}{}; pprof's total {} adds growth and shrinkage as absolute values (percentages are of it); {} nodes",
                self.sample_type.name,
                if self.net > 0 { "+" } else { "" },
                self.format_value(self.net),
                self.format_value(self.total),
                self.rows.len()
            )
        } else {
            format!(
                "{}: {} total, {} nodes",
                self.sample_type.name,
                self.format_value(self.total),
                self.rows.len()
            )
        });
        let mut sum = 0;
        for r in &self.rows {
            sum += r.flat;
            if t.rows.len() < limit {
                t.push(vec![
                    self.format_value(r.flat),
                    percentage(r.flat, self.total).trim().to_string(),
                    percentage(sum, self.total).trim().to_string(),
                    self.format_value(r.cum),
                    percentage(r.cum, self.total).trim().to_string(),
                    r.name.clone(),
                ]);
            }
        }
        t.with_total_rows(self.rows.len())
    }
}

impl NotebookDisplay for TopReport {
    fn to_html(&self) -> String {
        self.to_table(DEFAULT_ROW_LIMIT).to_html()
    }
    fn to_plain_text(&self) -> String {
        self.to_table(DEFAULT_ROW_LIMIT).to_plain_text()
    }
    fn to_markdown(&self) -> String {
        self.to_table(DEFAULT_ROW_LIMIT).to_markdown()
    }
}

impl crate::findings::InstanceGrowth {
    /// The instances side by side for display: `snapshots`, the total at
    /// the `first` and `last` snapshot, its `change` and `slope/min`, and
    /// what grows most in each (its change and slope), captioned `what` (a
    /// service, a kind) and the sample type.
    pub fn to_table(all: &[Self], what: &str) -> HtmlTable {
        let mut t = HtmlTable::new(
            &[
                "instance",
                "snapshots",
                "first",
                "last",
                "change",
                "slope/min",
                "grows most (change, slope/min)",
            ],
            &[false, true, true, true, true, true, false],
        );
        let Some(st) = all.iter().find_map(|g| g.sample_type.as_ref()) else {
            return t.with_caption(format!("{what}: no snapshots"));
        };
        t = t.with_caption(format!(
            "{what} {} by instance, each instance's own snapshots",
            st.name
        ));
        for g in all {
            let fl = g.first_last();
            let cell = |f: &dyn Fn((i64, i64)) -> String| fl.map_or("-".to_string(), f);
            t.push(vec![
                g.instance.clone(),
                g.snapshots.to_string(),
                cell(&|(a, _)| st.format(a)),
                cell(&|(_, b)| st.format(b)),
                cell(&|(a, b)| st.format_signed(b - a)),
                g.slope_per_min
                    .map_or("-".into(), |m| st.format_signed(m.round() as i64)),
                g.top_grower().map_or("-".into(), |r| {
                    format!(
                        "{} ({}, {})",
                        GrowthTable::key_text(&r.key),
                        st.format_signed(r.delta),
                        st.format_signed(r.slope_per_min.round() as i64)
                    )
                }),
            ]);
        }
        t
    }
}

impl NotebookDisplay for [crate::findings::InstanceGrowth] {
    fn to_html(&self) -> String {
        crate::findings::InstanceGrowth::to_table(self, "growth").to_html()
    }
    fn to_plain_text(&self) -> String {
        crate::findings::InstanceGrowth::to_table(self, "growth").to_plain_text()
    }
}

impl GrowthTable {
    /// The table for display: `delta`, `per min`, `share`, `R²`, `monotone`,
    /// `plateau`, `first`, `last`, key (marked [`GrowthTable::BELOW_MARK`]
    /// when [below the resolution](crate::growth::GrowthRow::below_resolution)),
    /// and `code` (where the key's code is, a link with
    /// [`GrowthTable::links`]) when any row has one; at most `limit` rows,
    /// with [`GrowthTable::notes`] below.
    pub fn to_table(&self, limit: usize) -> HtmlTable {
        let n = self.totals.len();
        let total_delta = self.totals[n - 1] - self.totals[0];
        let mut t = HtmlTable::new(
            &[
                "delta", "per min", "share", "R²", "monotone", "plateau", "first", "last", "key",
                "code",
            ],
            &[
                true, true, true, true, false, false, true, true, false, false,
            ],
        )
        .with_caption(format!(
            "{} by {}: {} snapshots over {:.1} min, total {} → {} ({}{})",
            self.sample_type.name,
            self.key,
            n,
            (self.times_ms[n - 1] - self.times_ms[0]) as f64 / 60_000.0,
            self.format(self.totals[0]),
            self.format(self.totals[n - 1]),
            if total_delta >= 0 { "+" } else { "" },
            self.format(total_delta)
        ));
        // Keys that are not code themselves get a `code` column; a leaf or
        // file key links itself.
        use crate::growth::GrowthKey;
        let code_column = matches!(
            self.key,
            GrowthKey::Function | GrowthKey::FunctionCum | GrowthKey::Root | GrowthKey::Path(_)
        ) && self.shown(limit).any(|r| r.code.is_some());
        for (ri, r) in self.shown(limit).enumerate() {
            let mut cells = vec![
                signed(&self.format(r.delta), r.delta),
                self.format(r.slope_per_min.round() as i64),
                format!("{:.1}%", r.share * 100.0),
                format!("{:.2}", r.r2),
                yes_no(r.monotone).into(),
                yes_no(r.plateau).into(),
                self.format(r.values[0]),
                self.format(r.values[r.values.len() - 1]),
                if r.below_resolution {
                    format!("{} {}", Self::BELOW_MARK, Self::key_text(&r.key))
                } else {
                    Self::key_text(&r.key).to_string()
                },
            ];
            if code_column {
                cells.push(r.code.as_ref().map(|c| c.short()).unwrap_or_default());
            }
            t.push(cells);
            let url = match (&self.links, &r.code) {
                (Some(l), Some(c)) => l.url(c),
                _ => None,
            };
            if let Some(url) = url {
                t.link(ri, if code_column { 9 } else { 8 }, url);
            }
        }
        if !code_column {
            t.columns.pop();
            t.numeric.pop();
        }
        let unchanged = self.rows.iter().filter(|r| Self::unchanged(r)).count();
        t.with_total_rows(self.rows.len() - unchanged)
            .with_notes(self.notes(limit))
    }
}

fn signed(s: &str, v: i64) -> String {
    if v > 0 {
        format!("+{s}")
    } else {
        s.to_string()
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl NotebookDisplay for GrowthTable {
    fn to_html(&self) -> String {
        self.to_table(DEFAULT_ROW_LIMIT).to_html()
    }
    fn to_plain_text(&self) -> String {
        self.to_table(DEFAULT_ROW_LIMIT).to_plain_text()
    }
    fn to_markdown(&self) -> String {
        self.to_table(DEFAULT_ROW_LIMIT).to_markdown()
    }
}

/// Rows of the widening chain a table shows from its root; a longer chain
/// (deep recursion) shows these, one row saying how many frames are not
/// shown, and the last [`CHAIN_TAIL_ROWS`] (with the deepest application
/// frame, wherever it is).
pub const CHAIN_HEAD_ROWS: usize = 10;
/// Rows of a long widening chain a table shows at its end, where the
/// growth concentrates.
pub const CHAIN_TAIL_ROWS: usize = 30;

impl crate::growth::Widening {
    /// The chain as a table, root first: each function's cumulative value
    /// in the first and last snapshot, its growth, its own (flat) growth,
    /// and where the growth concentrates. A chain longer than
    /// [`CHAIN_HEAD_ROWS`] + [`CHAIN_TAIL_ROWS`] rows shows its ends and a
    /// row counting the frames in between.
    pub fn to_table(&self) -> HtmlTable {
        let user = self.user_frame();
        let mut t = HtmlTable::new(
            &[
                "depth",
                "first",
                "last",
                "growth",
                "own growth",
                "function",
                "code",
                "",
            ],
            &[true, true, true, true, true, false, false, false],
        )
        .with_caption(format!(
            "Widening call path ({}), first → last snapshot: {} of {} total growth",
            self.sample_type.name,
            self.concentration_node()
                .map_or_else(|| self.format(0), |c| self.format(c.growth)),
            self.format(self.total_growth)
        ));
        let len = self.chain.len();
        let shown = |i: usize| {
            len <= CHAIN_HEAD_ROWS + CHAIN_TAIL_ROWS
                || i < CHAIN_HEAD_ROWS
                || i >= len - CHAIN_TAIL_ROWS
                || i == self.concentration
                || user.is_some_and(|u| std::ptr::eq(u, &self.chain[i]))
        };
        let mut hidden = 0;
        for (i, n) in self.chain.iter().enumerate() {
            if !shown(i) {
                hidden += 1;
                continue;
            }
            if hidden > 0 {
                t.push(vec![
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    format!("… {} frames not shown", thousands(hidden)),
                    String::new(),
                    String::new(),
                ]);
                hidden = 0;
            }
            let mut note = Vec::new();
            if i == self.concentration {
                note.push("← growth concentrates here");
            }
            if user.is_some_and(|u| std::ptr::eq(u, n)) {
                note.push("← deepest application code: read it first");
            }
            t.push(vec![
                i.to_string(),
                self.format(n.first),
                self.format(n.last),
                signed(&self.format(n.growth), n.growth),
                signed(&self.format(n.flat_growth), n.flat_growth),
                n.function.clone(),
                n.code.as_ref().map(|c| c.short()).unwrap_or_default(),
                note.join(" "),
            ]);
            let url = match (&self.links, &n.code) {
                (Some(l), Some(c)) => l.url(c),
                _ => None,
            };
            if let Some(url) = url {
                t.link(t.rows.len() - 1, 6, url);
            }
        }
        t
    }
}

impl NotebookDisplay for crate::growth::Widening {
    fn to_html(&self) -> String {
        if self.chain.is_empty() {
            return "<p>No call path grew from the first to the last snapshot.</p>".into();
        }
        self.to_table().to_html()
    }
    fn to_plain_text(&self) -> String {
        if self.chain.is_empty() {
            return "No call path grew from the first to the last snapshot.\n".into();
        }
        self.to_table().to_plain_text()
    }
    fn to_markdown(&self) -> String {
        if self.chain.is_empty() {
            return "No call path grew from the first to the last snapshot.\n".into();
        }
        self.to_table().to_markdown()
    }
}

impl NotebookDisplay for crate::evidence::goroutines::GoroutineCheck {
    fn to_html(&self) -> String {
        let mut s = String::from("<div class=\"hf-goroutines\">");
        for l in goroutine_sentences(self) {
            let _ = write!(s, "<p>{}</p>", sentence_html(&l));
        }
        if let Some(t) = &self.by_creator {
            s.push_str(
                &t.to_table(10)
                    .with_caption("goroutines by creator")
                    .to_html(),
            );
        }
        if let Some(t) = &self.by_blocking_stack {
            s.push_str(
                &t.to_table(5)
                    .with_caption("goroutines by blocking stack (four innermost frames)")
                    .to_html(),
            );
        }
        s.push_str("</div>");
        s
    }
    fn to_plain_text(&self) -> String {
        let mut s = String::new();
        for l in goroutine_sentences(self) {
            s.push_str(&l.to_text());
            s.push('\n');
        }
        if let Some(t) = &self.by_creator {
            s.push_str(
                &t.to_table(10)
                    .with_caption("goroutines by creator")
                    .to_plain_text(),
            );
        }
        s
    }
    fn to_markdown(&self) -> String {
        use crate::views::html::sentence_markdown;
        let mut s = String::new();
        for l in goroutine_sentences(self) {
            let _ = writeln!(s, "- {}", sentence_markdown(&l));
        }
        if let Some(t) = &self.by_creator {
            s.push('\n');
            s.push_str(
                &t.to_table(10)
                    .with_caption("goroutines by creator")
                    .to_markdown(),
            );
        }
        if let Some(t) = &self.by_blocking_stack {
            s.push('\n');
            s.push_str(
                &t.to_table(5)
                    .with_caption("goroutines by blocking stack (four innermost frames)")
                    .to_markdown(),
            );
        }
        s
    }
}

impl crate::evidence::bundle::Bundle {
    /// What the bundle holds: per kind of snapshot, how many, first and
    /// last capture time (UTC) and the spacing between captures; then the
    /// metric scrapes.
    pub fn to_table(&self) -> HtmlTable {
        use crate::evidence::bundle::SnapshotKind;
        let mut caption = self.name();
        if !self.manifest.service.is_empty() {
            caption = format!("{} ({caption})", self.manifest.service);
        }
        let mut t = HtmlTable::new(
            &[
                "evidence",
                "count",
                "first (UTC)",
                "last (UTC)",
                "span",
                "spacing",
            ],
            &[false, true, false, false, true, true],
        )
        .with_caption(caption);
        let minutes = |ms: i64| format!("{:.1} min", ms as f64 / 60_000.0);
        let time = |ms: i64| crate::units::format_time_utc(ms.saturating_mul(1_000_000));
        for kind in SnapshotKind::ALL {
            let snaps = self.snapshots(kind);
            let (Some(a), Some(b)) = (snaps.first(), snaps.last()) else {
                continue;
            };
            let spacing = if snaps.len() >= 2 {
                let gaps: Vec<i64> = snaps
                    .windows(2)
                    .map(|w| w[1].time_ms - w[0].time_ms)
                    .collect();
                let min = gaps.iter().copied().min().unwrap_or(0);
                let max = gaps.iter().copied().max().unwrap_or(0);
                if max - min < 1000 {
                    format!("{:.0} s", min as f64 / 1000.0)
                } else {
                    format!("{:.0}–{:.0} s", min as f64 / 1000.0, max as f64 / 1000.0)
                }
            } else {
                String::new()
            };
            t.push(vec![
                format!("{} profiles", kind.dir()),
                snaps.len().to_string(),
                time(a.time_ms),
                time(b.time_ms),
                minutes(b.time_ms - a.time_ms),
                spacing,
            ]);
        }
        let times: Vec<i64> = {
            let mut v: Vec<i64> = self.metrics.samples.iter().map(|m| m.time_ms).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        if let (Some(&a), Some(&b)) = (times.first(), times.last()) {
            t.push(vec![
                format!(
                    "metric scrapes ({} metrics)",
                    self.metrics.metric_names().len()
                ),
                times.len().to_string(),
                time(a),
                time(b),
                minutes(b - a),
                if times.len() >= 2 {
                    format!(
                        "{:.0} s",
                        (b - a) as f64 / 1000.0 / (times.len() - 1) as f64
                    )
                } else {
                    String::new()
                },
            ]);
        }
        t
    }
}

impl NotebookDisplay for crate::evidence::bundle::Bundle {
    fn to_html(&self) -> String {
        self.to_table().to_html()
    }
    fn to_plain_text(&self) -> String {
        self.to_table().to_plain_text()
    }
    fn to_markdown(&self) -> String {
        self.to_table().to_markdown()
    }
}

fn reasons_html(title: &str, word: &str, reasons: &[String]) -> String {
    let mut s = format!(
        "<div class=\"hf-verdict\"><p style=\"margin:4px 0\">{} {}</p><ul style=\"margin:4px 0\">",
        escape_html(title),
        badge(word)
    );
    for r in reasons {
        let _ = write!(s, "<li>{}</li>", escape_html(r));
    }
    s.push_str("</ul></div>");
    s
}

/// The plain-text twin of [`reasons_html`]: `title word`, then one
/// `  - reason` line each.
fn reasons_text(title: &str, word: &str, reasons: &[String]) -> String {
    let mut s = format!("{title} {word}\n");
    for r in reasons {
        let _ = writeln!(s, "  - {}", terminal(r));
    }
    s
}

impl NotebookDisplay for LeakVerdict {
    fn to_html(&self) -> String {
        reasons_html("verdict:", self.verdict.as_str(), &self.reasons)
    }
    fn to_plain_text(&self) -> String {
        reasons_text("verdict:", self.verdict.as_str(), &self.reasons)
    }
    fn to_markdown(&self) -> String {
        reasons_markdown("verdict:", self.verdict.as_str(), &self.reasons)
    }
}

impl NotebookDisplay for CombinedVerdict {
    fn to_html(&self) -> String {
        reasons_html("verdict:", self.verdict.as_str(), &self.reasons)
    }
    fn to_plain_text(&self) -> String {
        reasons_text("verdict:", self.verdict.as_str(), &self.reasons)
    }
    fn to_markdown(&self) -> String {
        reasons_markdown("verdict:", self.verdict.as_str(), &self.reasons)
    }
}

impl NotebookDisplay for Validation {
    fn to_html(&self) -> String {
        reasons_html("regression check:", self.outcome.as_str(), &self.reasons)
    }
    fn to_plain_text(&self) -> String {
        reasons_text("regression check:", self.outcome.as_str(), &self.reasons)
    }
    fn to_markdown(&self) -> String {
        reasons_markdown("regression check:", self.outcome.as_str(), &self.reasons)
    }
}

impl NotebookDisplay for [Item] {
    fn to_html(&self) -> String {
        let mut s = String::from(
            "<table class=\"hf-checklist\" style=\"border-collapse:collapse;font-size:13px\"><tbody>",
        );
        for i in self {
            let _ = write!(
                s,
                "<tr><td style=\"padding:3px 8px;text-align:right\">{}</td><td style=\"padding:3px 8px;font-weight:bold\">{}</td><td style=\"padding:3px 8px\">{}</td></tr>",
                badge(i.status.as_str()),
                escape_html(i.item),
                escape_html(&i.detail)
            );
        }
        s.push_str("</tbody></table>");
        s
    }
    fn to_plain_text(&self) -> String {
        crate::evidence::checklist::to_text(self)
    }
    fn to_markdown(&self) -> String {
        let mut t = HtmlTable::new(&["status", "item", "detail"], &[false, false, false]);
        for i in self {
            t.push(vec![
                i.status.as_str().to_string(),
                i.item.to_string(),
                i.detail.clone(),
            ]);
        }
        t.to_markdown()
    }
}

/// A list shows as its slice does (checklists, timelines).
impl<T> NotebookDisplay for Vec<T>
where
    [T]: NotebookDisplay,
{
    fn to_html(&self) -> String {
        self.as_slice().to_html()
    }
    fn to_plain_text(&self) -> String {
        self.as_slice().to_plain_text()
    }
    fn to_markdown(&self) -> String {
        self.as_slice().to_markdown()
    }
}

impl NotebookDisplay for [crate::evidence::timeline::Entry] {
    fn to_html(&self) -> String {
        self.to_table().to_html()
    }
    fn to_plain_text(&self) -> String {
        crate::evidence::timeline::to_text(self)
    }
    fn to_markdown(&self) -> String {
        self.to_table().to_markdown()
    }
}

/// The timeline as a table (time, what, source, text).
trait TimelineTable {
    fn to_table(&self) -> HtmlTable;
}

impl TimelineTable for [crate::evidence::timeline::Entry] {
    fn to_table(&self) -> HtmlTable {
        let mut t = HtmlTable::new(
            &["time (UTC)", "what", "source", "text"],
            &[false, false, false, false],
        )
        .with_caption("Timeline");
        for e in self {
            t.push(vec![
                crate::units::format_rfc3339(e.time_ms),
                e.what.clone(),
                e.source.to_string(),
                e.text.clone(),
            ]);
        }
        t
    }
}

/// The evidence chain, one numbered sentence per step.
impl NotebookDisplay for crate::findings::Findings {
    fn to_html(&self) -> String {
        let mut s = String::from("<ol class=\"hf-chain\">");
        for line in &self.chain {
            let _ = write!(s, "<li>{}</li>", sentence_html(line));
        }
        s.push_str("</ol>");
        s
    }
    fn to_plain_text(&self) -> String {
        self.to_text()
    }
    fn to_markdown(&self) -> String {
        self.chain
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {}\n", i + 1, crate::views::html::sentence_markdown(s)))
            .collect()
    }
}

/// Whether a DataFrame column holds bytes by its name (`inuse_space`,
/// `alloc_space`, `object_size`, anything ending in `bytes`).
fn is_bytes_column(name: &str) -> bool {
    name.ends_with("_space") || name.ends_with("bytes") || name == "object_size"
}

/// Whether a DataFrame column holds numbers that are names rather than
/// quantities (line numbers, ids, positions): shown without thousands
/// separators.
fn is_label_column(name: &str) -> bool {
    matches!(name, "line" | "depth" | "snapshot" | "node" | "parent") || name.ends_with("_id")
}

/// A DataFrame as a display table of at most `limit` rows: numbers
/// right-aligned, integers with thousands separators, byte columns (by
/// name: `*_space`, `*bytes`, `object_size`) in human units, floats to 4
/// significant digits, nulls empty.
///
/// ```
/// use heapframe::views::notebook::{dataframe_table, NotebookDisplay};
/// use polars::prelude::*;
/// let df = df!("function" => ["a<b", "c"], "inuse_space" => [1_572_864i64, 10])?;
/// let t = dataframe_table(&df, 1);
/// assert_eq!(t.rows[0], vec!["a<b".to_string(), "1.50MB".to_string()]);
/// assert!(t.to_html().contains("1 more row"));
/// # Ok::<(), PolarsError>(())
/// ```
pub fn dataframe_table(df: &polars::prelude::DataFrame, limit: usize) -> HtmlTable {
    use polars::prelude::AnyValue;
    let cols = df.columns();
    let names: Vec<String> = cols.iter().map(|c| c.name().to_string()).collect();
    let numeric: Vec<bool> = cols.iter().map(|c| c.dtype().is_numeric()).collect();
    let mut t = HtmlTable {
        notes: Vec::new(),
        links: Vec::new(),
        caption: Some(format!("{} rows × {} columns", df.height(), cols.len())),
        columns: names.clone(),
        numeric,
        rows: Vec::new(),
        total_rows: df.height(),
    };
    for i in 0..df.height().min(limit) {
        let row = cols
            .iter()
            .zip(&names)
            .map(|(c, name)| match c.get(i) {
                Ok(AnyValue::Null) | Err(_) => String::new(),
                Ok(av) => {
                    if let Some(s) = av.get_str() {
                        s.to_string()
                    } else if av.is_integer() {
                        let v: i64 = av.extract().unwrap_or_default();
                        if is_bytes_column(name) {
                            scaled_label(v, "bytes", "auto")
                        } else if is_label_column(name) {
                            v.to_string()
                        } else {
                            thousands(v)
                        }
                    } else if av.is_float() {
                        let v: f64 = av.extract().unwrap_or_default();
                        format_float(v)
                    } else {
                        av.to_string()
                    }
                }
            })
            .collect();
        t.rows.push(row);
    }
    t
}

/// A float with about 4 significant digits, without exponent for ordinary
/// magnitudes.
fn format_float(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-4..1e9).contains(&a) {
        format!("{v:.3e}")
    } else {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.decimals$}")
    }
}

impl NotebookDisplay for polars::prelude::DataFrame {
    fn to_html(&self) -> String {
        dataframe_table(self, DEFAULT_ROW_LIMIT).to_html()
    }
    fn to_plain_text(&self) -> String {
        dataframe_table(self, DEFAULT_ROW_LIMIT).to_plain_text()
    }
    fn to_markdown(&self) -> String {
        dataframe_table(self, DEFAULT_ROW_LIMIT).to_markdown()
    }
}

/// An error as a notebook output: a red box with the message (HTML), and
/// `error: message` (plain text).
fn error_blocks(e: &dyn std::fmt::Display) -> (String, String) {
    let text = e.to_string();
    let html = format!(
        "<div class=\"hf-error\" style=\"border-left:4px solid #d62728;background:#fdecea;color:#611a15;padding:6px 10px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;white-space:pre-wrap\"><b>error</b>: {}</div>",
        escape_html(&text)
    );
    (format!("error: {text}"), html)
}

/// A cell that ends with a `Result` (no `?`) shows the value when it is
/// `Ok` and a red error box when it is `Err`, so a failed step is an output
/// of the cell, not a line on standard error.
///
/// ```
/// use heapframe::prelude::*;
/// let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
/// assert!(metrics_plot(&b.metrics).to_html().contains("<svg"));
/// let missing = Bundle::open("no/such/bundle").map(|b| b.metrics);
/// assert!(missing.map(|m| metrics_plot(&m)).and_then(|p| p).to_html().contains("hf-error"));
/// # Ok::<(), heapframe::Error>(())
/// ```
impl<T: NotebookDisplay, E: std::fmt::Display> NotebookDisplay for std::result::Result<T, E> {
    fn to_html(&self) -> String {
        match self {
            Ok(v) => v.to_html(),
            Err(e) => error_blocks(e).1,
        }
    }
    fn to_plain_text(&self) -> String {
        match self {
            Ok(v) => v.to_plain_text(),
            Err(e) => error_blocks(e).0,
        }
    }
    fn evcxr_display(&self) {
        match self {
            Ok(v) => v.evcxr_display(),
            Err(e) => {
                let (text, html) = error_blocks(e);
                print_evcxr(&[("text/plain", &text), ("text/html", &html)]);
            }
        }
    }
}

/// Makes a failing `?` visible in a notebook: `.show_err()?` prints the
/// error as a red box in the cell's output (see [`NotebookDisplay`] for
/// `Result`) and then lets `?` stop the cell as usual. Without it, evcxr
/// only writes the error to standard error and the cell looks finished.
///
/// ```
/// use heapframe::prelude::*;
/// let opened = Bundle::open("no/such/bundle").show_err(); // prints the box
/// assert!(opened.is_err());
/// ```
pub trait ShowErr: Sized {
    /// Prints the error, if any, as a notebook output; returns `self`.
    fn show_err(self) -> Self;
}

impl<T, E: std::fmt::Display> ShowErr for std::result::Result<T, E> {
    fn show_err(self) -> Self {
        if let Err(e) = &self {
            let (text, html) = error_blocks(e);
            print_evcxr(&[("text/plain", &text), ("text/html", &html)]);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_escaped_in_a_red_box() {
        let r: std::result::Result<HtmlTable, String> = Err("bad <name> & more".into());
        let html = r.to_html();
        assert!(html.contains("hf-error"), "{html}");
        assert!(html.contains("bad &lt;name&gt; &amp; more"), "{html}");
        assert_eq!(r.to_plain_text(), "error: bad <name> & more");
        let ok: std::result::Result<HtmlTable, String> =
            Ok(HtmlTable::new(&["n"], &[true]).row(vec!["1".into()]));
        assert!(!ok.to_html().contains("hf-error"));
    }

    #[test]
    fn thousands_groups() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(-1234567), "-1,234,567");
    }

    #[test]
    fn floats() {
        assert_eq!(format_float(0.98766), "0.9877");
        assert_eq!(format_float(1234.5678), "1235");
        assert_eq!(format_float(12.5), "12.50");
        assert_eq!(format_float(0.0), "0");
    }

    #[test]
    fn plain_text_aligns_numbers_right() {
        let t = HtmlTable::new(&["n", "name"], &[true, false])
            .row(vec!["1".into(), "a".into()])
            .row(vec!["1000".into(), "b".into()])
            .with_total_rows(5);
        assert_eq!(
            t.to_plain_text(),
            "   n  name\n   1  a\n1000  b\n... 3 more rows\n"
        );
    }
}
