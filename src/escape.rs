//! Escaping of untrusted text for each kind of output heapframe writes.
//!
//! Everything a profile, a metric scrape, a manifest or a server names is
//! untrusted: a function name can hold an escape sequence that recolours
//! or clears a terminal, a newline that forges a table row, a byte that
//! XML cannot carry, or a spreadsheet formula. Each kind of output has one
//! escaping function, used by every writer of that kind:
//!
//! - terminal text (`top`, `growth`, the report's summary, error lines,
//!   notebook plain text): [`terminal`]; a CSV or JSON table printed to a
//!   terminal: [`terminal_lines`];
//! - HTML and SVG text and attributes: `views::html::escape_html`, which
//!   adds the entities to [`push_visible`]'s rule for control characters;
//! - CSV cells meant for spreadsheets: [`csv_cell`], applied by the one CSV
//!   writer (`tables::encode`).
//!
//! A control character becomes visible text rather than disappearing:
//! `\x1b` for C0 controls, DEL and C1 controls (U+0080–U+009F), `\u{202e}`
//! for the invisible bidirectional controls that can make text display in
//! another order than it reads (U+061C, U+200E, U+200F, U+202A–U+202E,
//! U+2066–U+2069) and for U+FFFE and U+FFFF, which XML forbids. Backslashes
//! are left alone, so a printable name is printed byte for byte (what keeps
//! `heapframe top` equal to `go tool pprof -top`); the escaped form is for
//! reading, not for reversing.
//!
//! ```
//! use heapframe::escape::{csv_cell, terminal};
//! assert_eq!(terminal("main.(*T).Get"), "main.(*T).Get");
//! assert_eq!(terminal("evil\x1b[2J\nforged row"), "evil\\x1b[2J\\x0aforged row");
//! assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
//! assert_eq!(csv_cell("-1.5"), "-1.5");
//! ```

use std::borrow::Cow;

/// Whether `c` is written in its visible escaped form (see the module
/// docs) in terminal text; markup keeps tab, newline and carriage return,
/// which XML and HTML carry as white space.
pub fn is_control(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f'
        | '\x7f'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{fffe}'
        | '\u{ffff}')
}

/// Appends the visible form of `c`: `\x1b` up to U+00FF, `\u{202e}` above.
pub fn push_visible(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let n = c as u32;
    if n <= 0xff {
        let _ = write!(out, "\\x{n:02x}");
    } else {
        let _ = write!(out, "\\u{{{n:04x}}}");
    }
}

/// `s` with every character for which `escape` holds in its visible form;
/// borrowed when there is none.
fn visible_where(s: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    let Some(first) = s.find(&escape) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if escape(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for a terminal: every control character (newline and tab
/// included, so a name cannot forge a line or a column) in its visible
/// form. Printable text is returned unchanged.
///
/// ```
/// assert_eq!(heapframe::escape::terminal("a\tb\u{202e}c"), "a\\x09b\\u{202e}c");
/// ```
pub fn terminal(s: &str) -> Cow<'_, str> {
    visible_where(s, is_control)
}

/// Text already laid out in lines for a terminal (a CSV or JSON table
/// printed to one): like [`terminal`], but newlines and tabs stay.
///
/// ```
/// assert_eq!(heapframe::escape::terminal_lines("a,\x1b[2J\r\n\tb\n"), "a,\\x1b[2J\\x0d\n\tb\n");
/// ```
pub fn terminal_lines(s: &str) -> Cow<'_, str> {
    visible_where(s, |c| is_control(c) && !matches!(c, '\n' | '\t'))
}

/// Text for XML or HTML before entity escaping: control characters that
/// XML 1.0 cannot carry (not even as character references) and the
/// invisible ones in their visible form; tab, newline and carriage return
/// stay.
pub fn markup_controls(s: &str) -> Cow<'_, str> {
    visible_where(s, |c| is_control(c) && !matches!(c, '\t' | '\n' | '\r'))
}

/// Whether `s` is a plain decimal number (`12`, `-1.5`, `+3e5`), which a
/// spreadsheet reads as a number and never as a formula.
fn is_plain_number(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    !(int.is_empty() && frac.is_empty())
        && digits(int)
        && digits(frac)
        && exponent.is_none_or(|e| !e.is_empty() && digits(e))
}

/// A text cell for CSV that spreadsheets open: a cell that starts (after
/// any spaces) with `=`, `+`, `-`, `@`, a tab or a carriage return would
/// run as a formula in Excel, LibreOffice or Google Sheets, so it gets a
/// leading `'` (which spreadsheets read as "this is text"; strip it to get
/// the name back). Plain numbers such as `-1.5` stay as they are, and
/// numeric columns are never passed here.
///
/// ```
/// use heapframe::escape::csv_cell;
/// assert_eq!(csv_cell("@SUM(A1:A9)"), "'@SUM(A1:A9)");
/// assert_eq!(csv_cell("  +cmd|' /C calc'!A0"), "'  +cmd|' /C calc'!A0");
/// assert_eq!(csv_cell("main.main"), "main.main");
/// assert_eq!(csv_cell("+12"), "+12");
/// ```
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    let formula = s
        .trim_start_matches(' ')
        .starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && !is_plain_number(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` with every byte that `keep(position, byte)` does not keep written
/// as `%XX` (upper-case hex): URL parts, folder names.
///
/// ```
/// use heapframe::escape::percent_encode;
/// assert_eq!(percent_encode("a b/c", |_, b| b.is_ascii_alphanumeric() || b == b'/'), "a%20b/c");
/// ```
pub fn percent_encode(s: &str, keep: impl Fn(usize, u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        if keep(i, b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `name` as one folder name that stays inside its parent whatever it
/// holds: ASCII letters, digits, `_`, `-` and `.` (not first) kept, every
/// other byte `%XX` (so `/`, `..`, control characters and spaces cannot
/// leave or hide the folder). Dataset partitions and a bundle's instance
/// folders are named this way.
///
/// ```
/// use heapframe::escape::folder_name;
/// assert_eq!(folder_name("../pod 1"), "%2E.%2Fpod%201");
/// assert_eq!(folder_name("replica-1.eu"), "replica-1.eu");
/// ```
pub fn folder_name(name: &str) -> String {
    percent_encode(name, |i, b| {
        b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_is_borrowed_unchanged() {
        for s in ["", "main.main", "C:\\go\\src\\x.go", "é ü 日本", "a b"] {
            assert!(matches!(terminal(s), Cow::Borrowed(_)), "{s}");
            assert!(matches!(markup_controls(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn controls_become_visible() {
        assert_eq!(
            terminal("\0\x07\x1b\x7f\u{85}"),
            "\\x00\\x07\\x1b\\x7f\\x85"
        );
        assert_eq!(terminal("\u{fffe}\u{2066}"), "\\u{fffe}\\u{2066}");
        assert_eq!(markup_controls("a\tb\nc\rd\x1be"), "a\tb\nc\rd\\x1be");
    }

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for f in [
            "=1+1", "+A1", "-A1", "@x", "\tx", "\rx", " =1", "-", "+", "-1-1", "-e5",
        ] {
            assert_eq!(csv_cell(f), format!("'{f}"), "{f:?}");
        }
        for n in ["-1", "+2.5", "-.5", "3.", "-1e9", "1E-3", "x=1", "a-b"] {
            assert_eq!(csv_cell(n), n, "{n:?}");
        }
    }
}
