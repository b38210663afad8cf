//! HTML primitives shared by every view: escaping, tables, badges.

use std::borrow::Cow;

use crate::escape::{is_control, markup_controls, push_visible};
use crate::findings::{Sentence, Span};

/// Rows a table shows before "N more rows".
pub const DEFAULT_ROW_LIMIT: usize = 20;

/// Characters of a name that a view shows (in a table cell, a tooltip, a
/// chart label); a longer name shows its start and end around `…`.
pub const MAX_NAME_CHARS: usize = 1000;

/// Escapes `s` for HTML and XML text and attribute values (double or single
/// quoted): `& < > " '` become entities, and control characters, which
/// XML 1.0 cannot carry even as character references, their visible form
/// (`\x1b`, see [`crate::escape`]); tab, newline and carriage return
/// stay. Every view writes untrusted text through this function (or, for
/// what inferno and plotters write, [`xml_safe`]).
///
/// ```
/// use heapframe::views::html::escape_html;
/// assert_eq!(escape_html("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
/// assert_eq!(escape_html("esc\x1b[31m\0"), "esc\\x1b[31m\\x00");
/// ```
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if is_control(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// An SVG or HTML document written by another library (inferno, plotters),
/// which escape entities but pass control characters through: every
/// character XML cannot carry gets its visible form, as in
/// [`escape_html`].
///
/// ```
/// let svg = "<svg><text>a\x07b</text></svg>".to_string();
/// assert_eq!(heapframe::views::html::xml_safe(svg), "<svg><text>a\\x07b</text></svg>");
/// ```
pub fn xml_safe(doc: String) -> String {
    match markup_controls(&doc) {
        Cow::Borrowed(_) => doc,
        Cow::Owned(safe) => safe,
    }
}

/// `name` cut to [`MAX_NAME_CHARS`] characters: its start and end around
/// `…` (a long generic instantiation keeps its package and its method).
///
/// ```
/// use heapframe::views::html::{shorten, MAX_NAME_CHARS};
/// assert_eq!(shorten("main.f"), "main.f");
/// let long = format!("pkg.{}.Method", "x".repeat(5000));
/// let short = shorten(&long);
/// assert_eq!(short.chars().count(), MAX_NAME_CHARS);
/// assert!(short.starts_with("pkg.x") && short.ends_with("x.Method") && short.contains('…'));
/// ```
pub fn shorten(name: &str) -> Cow<'_, str> {
    if name.len() <= MAX_NAME_CHARS || name.chars().count() <= MAX_NAME_CHARS {
        return Cow::Borrowed(name);
    }
    let head = MAX_NAME_CHARS / 2;
    let tail = MAX_NAME_CHARS - head - 1;
    let n = name.chars().count();
    let mut out: String = name.chars().take(head).collect();
    out.push('…');
    out.extend(name.chars().skip(n - tail));
    Cow::Owned(out)
}

/// A table ready to show: header, cells as text, which columns are numbers
/// (right-aligned), and how many rows the source had.
///
/// ```
/// use heapframe::views::{html::HtmlTable, notebook::NotebookDisplay};
/// let t = HtmlTable::new(&["function", "bytes"], &[false, true])
///     .row(vec!["main.<init>".into(), "1.50MB".into()])
///     .with_total_rows(30);
/// let html = t.to_html();
/// assert!(html.contains("main.&lt;init&gt;"));
/// assert!(html.contains("29 more rows"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HtmlTable {
    /// A line above the table (plain text; escaped when rendered).
    pub caption: Option<String>,
    /// Column names.
    pub columns: Vec<String>,
    /// Per column: right-align (numbers).
    pub numeric: Vec<bool>,
    /// The rows shown, cells as display text.
    pub rows: Vec<Vec<String>>,
    /// Rows in the source; more than `rows.len()` prints "N more rows".
    pub total_rows: usize,
}

impl HtmlTable {
    /// An empty table with these columns.
    pub fn new(columns: &[&str], numeric: &[bool]) -> HtmlTable {
        HtmlTable {
            caption: None,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            numeric: numeric.to_vec(),
            rows: Vec::new(),
            total_rows: 0,
        }
    }

    /// Adds a row (and counts it in `total_rows`).
    pub fn row(mut self, cells: Vec<String>) -> HtmlTable {
        self.push(cells);
        self
    }

    /// Adds a row in place (and counts it in `total_rows`).
    pub fn push(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
        self.total_rows = self.total_rows.max(self.rows.len());
    }

    /// Sets the number of rows the source had.
    pub fn with_total_rows(mut self, n: usize) -> HtmlTable {
        self.total_rows = n.max(self.rows.len());
        self
    }

    /// Sets the caption.
    pub fn with_caption(mut self, caption: impl Into<String>) -> HtmlTable {
        self.caption = Some(caption.into());
        self
    }

    pub(crate) fn more(&self) -> usize {
        self.total_rows.saturating_sub(self.rows.len())
    }

    pub(crate) fn is_numeric(&self, col: usize) -> bool {
        self.numeric.get(col).copied().unwrap_or(false)
    }
}
/// Background and text colour of a verdict or outcome badge.
fn badge_colors(word: &str) -> (&'static str, &'static str) {
    match word {
        "leak" | "not fixed" | "FAILED" => ("#c62828", "#fff"),
        "suspect" | "improved" | "open" => ("#ef6c00", "#fff"),
        "not a leak" | "fixed" | "passed" => ("#2e7d32", "#fff"),
        _ => ("#757575", "#fff"),
    }
}

/// An HTML badge for a verdict/outcome/status word.
pub fn badge(word: &str) -> String {
    let (bg, fg) = badge_colors(word);
    format!(
        "<span class=\"hf-badge\" style=\"background:{bg};color:{fg};padding:1px 8px;border-radius:10px;font-weight:bold\">{}</span>",
        escape_html(word)
    )
}

/// A [`Sentence`] as HTML: text escaped, names as code, verdict words as
/// badges.
///
/// ```
/// use heapframe::findings::{Sentence, Span};
/// let s = Sentence(vec![
///     Span::Text("Metrics: ".into()),
///     Span::Word("leak".into()),
///     Span::Text(" in ".into()),
///     Span::Code("main.<T>".into()),
/// ]);
/// let html = heapframe::views::html::sentence_html(&s);
/// assert!(html.ends_with(" in <code>main.&lt;T&gt;</code>"));
/// assert!(html.contains(">leak</span>"));
/// ```
pub fn sentence_html(s: &Sentence) -> String {
    s.0.iter()
        .map(|span| match span {
            Span::Text(t) => escape_html(t),
            Span::Code(c) => format!("<code>{}</code>", escape_html(&shorten(c))),
            Span::Word(w) => badge(w),
        })
        .collect()
}
