//! HTML primitives shared by every view: escaping, tables, badges.

use std::borrow::Cow;
use std::fmt::Write as _;

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
    /// Lines below the table explaining marks and odd numbers in it
    /// (plain text; escaped when rendered).
    pub notes: Vec<String>,
    /// Cells shown as links in HTML: `(row, column, URL)`; the URL is
    /// escaped when rendered and must be `http(s)://`, else the cell stays
    /// text.
    pub links: Vec<(usize, usize, String)>,
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
            notes: Vec::new(),
            links: Vec::new(),
        }
    }

    /// Makes the cell at `row`, `col` a link to `url` in HTML.
    pub fn link(&mut self, row: usize, col: usize, url: String) {
        self.links.push((row, col, url));
    }

    /// The link of a cell, if it has a usable one.
    pub(crate) fn link_of(&self, row: usize, col: usize) -> Option<&str> {
        self.links
            .iter()
            .find(|(r, c, _)| *r == row && *c == col)
            .map(|(_, _, u)| u.as_str())
            .filter(|u| {
                let l = u.to_ascii_lowercase();
                l.starts_with("https://") || l.starts_with("http://")
            })
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

    /// Sets the notes shown below the table.
    pub fn with_notes(mut self, notes: Vec<String>) -> HtmlTable {
        self.notes = notes;
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

/// Markdown primitives: text that stays text.
///
/// ```
/// use heapframe::views::html::{md_text, md_code};
/// assert_eq!(md_text("a|b <i>*x*</i>"), r"a\|b &lt;i&gt;\*x\*&lt;/i&gt;");
/// assert_eq!(md_code("f`g"), "`` f`g ``");
/// assert_eq!(md_text("go_memstats_heap_inuse_bytes"), "go_memstats_heap_inuse_bytes");
/// assert_eq!(md_text("_x_ a_ _b"), r"\_x\_ a\_ \_b");
/// ```
/// `s` as Markdown text that renders as exactly `s` (see the module docs):
/// the characters that are Markdown anywhere are escaped, those that are
/// Markdown only at the start of a block (`#`, `-`, `+`, `=`, `1.`) only
/// there, so that the raw text stays readable.
pub fn md_text(s: &str) -> String {
    let visible = crate::escape::terminal(s);
    let mut out = String::with_capacity(visible.len() + 8);
    let chars: Vec<char> = visible.chars().collect();
    // What opens a block only when a space (or the end) follows it: a
    // heading's `#`, a list's `-`/`+`/`1.`/`1)`; a line of only `-` or `=`
    // is a rule or an underline.
    let spaced = |i: usize| chars.get(i + 1).is_none_or(|c| c.is_whitespace());
    let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    let rule = chars.iter().all(|&c| matches!(c, '-' | '=' | ' '));
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // `_` between letters or digits cannot open or close
            // emphasis (CommonMark's intraword rule): metric and function
            // names stay readable raw.
            '_' if i > 0
                && chars[i - 1].is_alphanumeric()
                && chars.get(i + 1).is_some_and(|c| c.is_alphanumeric()) =>
            {
                out.push('_')
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '-' | '+' if i == 0 && spaced(0) => {
                out.push('\\');
                out.push(c);
            }
            '-' | '=' if i == 0 && rule => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if i == digits && digits > 0 && spaced(i) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `s` as an inline code span (a fence longer than any run of backticks in
/// it; `|` escaped so that it cannot split a table cell).
pub fn md_code(s: &str) -> String {
    let visible = crate::escape::terminal(s).replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in visible.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    if longest > 0 || visible.starts_with(' ') || visible.ends_with(' ') {
        format!("{fence} {visible} {fence}")
    } else {
        format!("{fence}{visible}{fence}")
    }
}

/// A link, or the text alone when the URL is not a plain `http(s)://` one.
fn md_link(text: &str, url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let plain = (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'));
    if plain {
        format!("[{}](<{url}>)", md_text(text))
    } else {
        md_text(text)
    }
}

/// A [`Sentence`] as Markdown: names as code, verdict words in bold.
pub fn sentence_markdown(s: &Sentence) -> String {
    s.0.iter()
        .map(|span| match span {
            Span::Text(t) => md_text(t),
            Span::Code(c) => md_code(c),
            Span::Word(w) => format!("**{}**", md_text(w)),
        })
        .collect()
}

impl HtmlTable {
    /// The table as a GitHub-flavoured Markdown table: the caption in
    /// bold above, numbers right-aligned, links as links, "N more rows"
    /// and the notes below.
    ///
    /// ```
    /// use heapframe::views::html::HtmlTable;
    /// let t = HtmlTable::new(&["name", "bytes"], &[false, true])
    ///     .row(vec!["a|b".into(), "1.50MB".into()])
    ///     .with_total_rows(3);
    /// assert_eq!(t.to_markdown(), "| name | bytes |\n| :--- | ---: |\n| a\\|b | 1.50MB |\n\n*2 more rows*\n");
    /// ```
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        if let Some(c) = &self.caption {
            let _ = writeln!(s, "**{}**\n", md_text(c));
        }
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|c| if c.is_empty() { " ".into() } else { md_text(c) })
            .collect();
        let _ = writeln!(s, "| {} |", header.join(" | "));
        let rule: Vec<&str> = (0..self.columns.len())
            .map(|i| if self.is_numeric(i) { "---:" } else { ":---" })
            .collect();
        let _ = writeln!(s, "| {} |", rule.join(" | "));
        for (ri, row) in self.rows.iter().enumerate() {
            let cells: Vec<String> = (0..self.columns.len())
                .map(|ci| {
                    let cell = row.get(ci).map(String::as_str).unwrap_or("");
                    match self.link_of(ri, ci) {
                        Some(url) => md_link(cell, url),
                        None => md_text(cell),
                    }
                })
                .collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
        let more = self.more();
        if more > 0 {
            let _ = writeln!(s, "\n*{more} more row{}*", if more == 1 { "" } else { "s" });
        }
        if !self.notes.is_empty() {
            s.push('\n');
            for n in &self.notes {
                let _ = writeln!(s, "- {}", md_text(n));
            }
        }
        s
    }
}

/// The reasons of a verdict or check as Markdown: the title and word, then
/// one bullet each.
pub(crate) fn reasons_markdown(title: &str, word: &str, reasons: &[String]) -> String {
    let mut s = format!("{} **{}**\n\n", md_text(title), md_text(word));
    for r in reasons {
        let _ = writeln!(s, "- {}", md_text(r));
    }
    s
}
