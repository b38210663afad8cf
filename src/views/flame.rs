//! Flame graphs, icicle graphs and differential flame graphs, drawn by
//! inferno.
//!
//! A flame graph stacks call paths from the root (bottom) to the leaf
//! (top); a frame's width is the value of every sample whose stack passes
//! through it (its cumulative value). An icicle graph is the same picture
//! with the root on top.
//!
//! A **differential** flame graph ([`diff_flame`]) compares two snapshots
//! of the same program. Its layout is the union of both: a path's width is
//! the larger of its two values, so a path that shrank or vanished keeps
//! its place instead of being dropped. A frame's colour is the growth of its
//! whole subtree (cumulative value after minus before), not only of the
//! path's leaf: red grows, blue shrinks, grey did not change, and the
//! intensity is relative to the largest change. Each frame's tooltip gives
//! the values before and after, the cumulative and the frame's own growth,
//! and marks paths that are `new` or `vanished`.
//!
//! heapframe builds the call tree and lays it out; inferno draws the SVG
//! (rectangles, zoom/search script) from that layout, with frames named by
//! number only, and heapframe then writes each frame's tooltip, label and,
//! for differential graphs, colour, by matching each drawn rectangle to its
//! node of the call tree. So every name in the SVG is written by
//! [`escape_html`], whatever it contains.
//!
//! **Bounds.** Whatever the profile, a graph draws at most [`MAX_DEPTH`]
//! frames of a stack (the values of deeper frames stay in the frame at that
//! depth), at most [`MAX_FRAMES`] frames (the widest; frames narrower than
//! [`MIN_WIDTH_PERCENT`] of the total are never drawn) and at most
//! [`MAX_SVG_BYTES`] bytes; names longer than
//! [`MAX_NAME_CHARS`](crate::views::html::MAX_NAME_CHARS) characters are
//! shortened around `…`. What was left out is said in a line at the bottom
//! of the graph ([`FlameGraph::note`]).
//!
//! ```
//! use heapframe::{Profile, views::flame};
//! let p = Profile::from_path("tests/fixtures/bundles/mapcache/heap/007.pb.gz")?;
//! let g = flame::flame(&p)?;
//! assert!(g.svg().contains("main.(*profileCache).Put"));
//! # Ok::<(), heapframe::Error>(())
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use inferno::flamegraph::{self, Direction, color};

use crate::error::{Error, Result};
use crate::profile::{CodeRef, Profile, StackId, Str, ValueType};
use crate::units::thousands;
use crate::views::html::{escape_html, shorten, xml_safe};
use crate::views::notebook::{NotebookDisplay, print_evcxr};

/// Frames of one stack a graph draws, from the root. The values of deeper
/// frames stay in the frame at this depth (it is drawn as wide as the
/// whole stack), and the graph's note counts what was not drawn. Go
/// records at most 128 frames per stack (inlined frames add some); deeper
/// stacks come from unbounded recursion or a hostile profile.
pub const MAX_DEPTH: usize = 512;

/// Frames a graph draws at most: the widest ones (a frame is never drawn
/// without its caller). The largest conformance profile draws about 15,000.
pub const MAX_FRAMES: usize = 20_000;

/// Largest SVG a graph writes; narrower frames are left out to stay under
/// it (a frame with a 1000-character name takes about 2.5 kB).
pub const MAX_SVG_BYTES: usize = 4 << 20;

/// Frames narrower than this share of the total (in percent) are not drawn:
/// 0.12 pixels of a 1200-pixel graph (inferno's default).
pub const MIN_WIDTH_PERCENT: f64 = 0.01;

/// Call-tree nodes a graph collects at most, which bounds its memory on
/// profiles with millions of distinct call paths; frames of stacks that
/// would need more nodes are not drawn (and counted in the note).
pub const MAX_TREE_NODES: usize = 2_000_000;

/// Frame height in pixels.
const FRAME_HEIGHT: usize = 16;

/// Bytes of one drawn frame besides its name (in the tooltip and, as far as
/// it fits, the label): the group, the tooltip's numbers, the rectangle and
/// the label's place (about 176 in the largest conformance profile's
/// graph). A differential frame's tooltip has four values: 60 more.
const FRAME_BYTES: usize = 220;
const DIFF_FRAME_BYTES: usize = FRAME_BYTES + 60;

/// Bytes of a graph besides its frames: inferno's script and style, the
/// title, subtitle and note (each at most `MAX_NAME_CHARS` characters).
const DOCUMENT_BYTES: usize = 64 << 10;

/// Bytes of the folded text inferno reads (frame numbers joined by `;`),
/// which is not part of the SVG but must stay bounded too.
const MAX_FOLDED_BYTES: usize = 16 << 20;

/// Font metrics inferno lays labels out with: size in pixels and average
/// character width as a share of it.
const FONT_SIZE: f64 = 12.0;
const FONT_WIDTH: f64 = 0.59;

/// Call stacks with a value each: what a flame graph draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Stacks {
    /// The sample type the values measure.
    pub sample_type: ValueType,
    /// `(frames root first, value)`; equal stacks may repeat (they add up);
    /// values ≤ 0 are not drawn.
    pub stacks: Vec<(Vec<Str>, i64)>,
    /// Where the stacks come from (a file name), for titles.
    pub source: String,
}

impl Stacks {
    /// The stacks of `p` for one sample type (`None`: the profile's
    /// default, `inuse_space` for heap profiles). Each sample becomes its
    /// function names root first, inlined frames included; samples with a
    /// value ≤ 0 are left out. (The graphs of a profile, [`flame_with`]
    /// and [`diff_flame_with`], read its samples directly instead of
    /// making these.)
    ///
    /// ```
    /// let p = heapframe::Profile::from_path("tests/fixtures/bundles/mapcache/heap/007.pb.gz")?;
    /// let s = heapframe::views::flame::Stacks::from_profile(&p, None)?;
    /// assert_eq!(&*s.sample_type.name, "inuse_space");
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn from_profile(p: &Profile, sample_index: Option<&str>) -> Result<Stacks> {
        let si = p.sample_index(sample_index)?;
        let mut names: Vec<Option<Vec<Str>>> = vec![None; p.locations.len()];
        let mut stacks = Vec::new();
        for s in p.samples.iter() {
            let v = s.values[si];
            if v <= 0 {
                continue;
            }
            let mut frames = Vec::new();
            for l in s.stack.to_vec().into_iter().rev() {
                let ns = names[l as usize].get_or_insert_with(|| {
                    p.locations[l as usize]
                        .lines
                        .iter()
                        .rev()
                        .map(|ln| p.functions[ln.function as usize].name.clone())
                        .collect()
                });
                frames.extend(ns.iter().cloned());
            }
            stacks.push((frames, v));
        }
        Ok(Stacks {
            sample_type: p.sample_types[si].clone(),
            stacks,
            source: p.source.clone(),
        })
    }

    /// The sum of all values.
    pub fn total(&self) -> i64 {
        self.stacks.iter().map(|(_, v)| v).sum()
    }
}

/// Which way the graph grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Root at the bottom (a flame graph).
    #[default]
    Flame,
    /// Root at the top (an icicle graph).
    Icicle,
}

/// Options of the flame graph functions; `Default` draws a 1200-pixel
/// flame graph of the default sample type with a title made from the
/// profile.
#[derive(Debug, Clone, Default)]
pub struct FlameOptions {
    /// Sample type by name or position (`None`: the profile's default).
    pub sample_index: Option<String>,
    /// Flame (root at the bottom) or icicle (root on top).
    pub layout: Layout,
    /// The title; `None` makes one from the sample type, total and file.
    pub title: Option<String>,
    /// Image width in pixels (`None`: 1200; kept within 200–10,000).
    pub width: Option<usize>,
    /// Differential graphs: the change drawn in full red (or blue), so
    /// that graphs drawn on one scale compare by colour (`None`: the
    /// graph's own largest change; see [`diff_flames`]).
    pub color_scale: Option<i64>,
    /// Draw only part of the graph, re-rooted, so that its names get the
    /// whole width (see [`Focus`]).
    pub focus: Option<Focus>,
}

/// Which part of a flame graph to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Focus {
    /// Every frame whose name contains this text, with what it calls (the
    /// outermost such frames, merged by name under the root); the rest
    /// is left out and the subtitle says how much.
    Name(String),
    /// Down from the root while one child carries at least 80% of its
    /// parent's growth (of its width, in a plain flame graph), stopping
    /// where the growth splits or before a leaf, then two callers up for
    /// context: the growing subtree when the root is mostly unchanged.
    /// Nothing changes when the growth splits near the root.
    Auto,
}

impl std::str::FromStr for Focus {
    type Err = std::convert::Infallible;
    /// `auto`, or a name to match.
    fn from_str(s: &str) -> std::result::Result<Focus, Self::Err> {
        Ok(if s == "auto" {
            Focus::Auto
        } else {
            Focus::Name(s.to_string())
        })
    }
}

impl FlameOptions {
    fn image_width(&self) -> usize {
        self.width.unwrap_or(1200).clamp(200, 10_000)
    }
}

/// A drawn flame graph: a standalone SVG document with inferno's zoom and
/// search script.
///
/// In a notebook, the value itself shows as a static SVG image (which
/// JupyterLab always shows); [`FlameGraph::interactive`] shows it with zoom
/// and search in its own frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FlameGraph {
    svg: String,
    title: String,
    height: usize,
    note: Option<String>,
    color_scale: Option<i64>,
    focused: Option<String>,
}

impl FlameGraph {
    /// What a focused graph ([`FlameOptions::focus`]) shows and how much
    /// of the whole that is, as its subtitle says it: `focused on X (+1.70MB
    /// of +1.80MB, 95%); the rest is left out`; `None` when the graph is
    /// whole.
    pub fn focused(&self) -> Option<&str> {
        self.focused.as_deref()
    }

    /// The SVG document.
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// The graph's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The image height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// A differential graph's colour scale: the change drawn in full
    /// colour (`None` for other graphs). Pass it as
    /// [`FlameOptions::color_scale`] to draw another graph comparably.
    pub fn color_scale(&self) -> Option<i64> {
        self.color_scale
    }

    /// What the graph left out to stay within its bounds (see the module
    /// docs), as written at its bottom: `None` when it draws everything.
    ///
    /// ```
    /// use heapframe::views::flame::{Stacks, flame_stacks};
    /// use heapframe::profile::ValueType;
    /// let deep: Vec<heapframe::profile::Str> = (0..600).map(|i| format!("f{i}").into()).collect();
    /// let s = Stacks {
    ///     sample_type: ValueType { name: "inuse_space".into(), unit: "bytes".into() },
    ///     stacks: vec![(deep, 100)],
    ///     source: "example".into(),
    /// };
    /// let g = flame_stacks(&s, &Default::default())?;
    /// assert_eq!(g.note(), Some("88 frames of 1 stack deeper than 512 frames not drawn (their values stay at depth 512)"));
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Writes the SVG to `path` (atomically); a path inside a bundle's
    /// evidence folders is refused
    /// ([`check_output_path`](crate::evidence::bundle::check_output_path)).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::evidence::bundle::check_output_path(path.as_ref(), &[])?;
        crate::files::replace_file(path.as_ref(), self.svg.as_bytes())
    }

    /// The graph for an HTML page or a notebook's HTML output: an `iframe`
    /// holding the SVG as a `data:` URL, so its script (zoom on click,
    /// search with Ctrl-F or the Search button) runs in a document of its
    /// own and several graphs on one page do not interfere. The frame is
    /// sandboxed: scripts and the search prompt only.
    ///
    /// ```
    /// use heapframe::{Profile, views::flame, views::notebook::NotebookDisplay};
    /// let p = Profile::from_path("tests/fixtures/bundles/mapcache/heap/007.pb.gz")?;
    /// let html = flame::flame(&p)?.interactive().to_html();
    /// assert!(html.starts_with("<iframe class=\"hf-flame\""));
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn interactive(&self) -> InteractiveFlame {
        let svg = self.live_svg();
        InteractiveFlame {
            html: format!(
                "<iframe class=\"hf-flame\" title=\"{}\" sandbox=\"allow-scripts allow-modals\" style=\"width:100%;height:{}px;border:0\" src=\"data:image/svg+xml;base64,{}\"></iframe>",
                escape_html(&self.title),
                self.height + 8,
                base64(svg.as_bytes())
            ),
        }
    }

    /// The SVG the interactive form shows: the controls and the
    /// interaction hint, which the static image leaves out (it cannot be
    /// clicked or searched), and the script made to run sandboxed.
    fn live_svg(&self) -> String {
        // inferno's script records zoom and search in the URL; a data: or
        // sandboxed document may not change its URL, so that step is made
        // best-effort (zoom and search themselves do not depend on it).
        const SHIM: &str = "(function(){var r=history.replaceState;history.replaceState=function(){try{return r.apply(history,arguments)}catch(e){}}})();\n";
        let live = regex::Regex::new(r#"(<text [^>]*id="subtitle"[^>]*>[^<]*)</text>"#)
            .expect("valid pattern")
            .replacen(
                &self.svg.replacen(STATIC_STYLE, "", 1),
                1,
                |c: &regex::Captures| format!("{}; {INTERACTION_HINT}</text>", &c[1]),
            )
            .into_owned();
        match live.find("<![CDATA[") {
            Some(i) => {
                let at = i + "<![CDATA[".len();
                format!("{}{SHIM}{}", &live[..at], &live[at..])
            }
            None => live,
        }
    }

    /// Prints the graph for evcxr as a static SVG image.
    pub fn evcxr_display(&self) {
        print_evcxr(&[
            ("text/plain", &format!("flame graph: {}", self.title)),
            (
                "image/svg+xml",
                &crate::views::notebook::fit_width(&self.svg),
            ),
        ]);
    }
}

impl NotebookDisplay for FlameGraph {
    /// The SVG, inline.
    fn to_html(&self) -> String {
        format!("<div class=\"hf-flame\">{}</div>", self.svg)
    }
    fn to_plain_text(&self) -> String {
        format!("flame graph: {}", self.title)
    }
    /// Shows the graph as an SVG image.
    fn evcxr_display(&self) {
        FlameGraph::evcxr_display(self)
    }
}

/// The interactive form of a [`FlameGraph`] (see
/// [`FlameGraph::interactive`]); shows as HTML in a notebook.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractiveFlame {
    html: String,
}

impl InteractiveFlame {
    /// Shows the graph in evcxr as HTML (also without the prelude in
    /// scope); JupyterLab runs its script only in a trusted notebook.
    pub fn evcxr_display(&self) {
        print_evcxr(&[
            ("text/plain", &self.to_plain_text()),
            ("text/html", &self.html),
        ]);
    }
}

impl NotebookDisplay for InteractiveFlame {
    fn to_html(&self) -> String {
        self.html.clone()
    }
    fn to_plain_text(&self) -> String {
        "interactive flame graph (needs a trusted notebook for HTML output)".to_string()
    }
}

/// Hides inferno's Search and Reset Zoom controls in the static image
/// (an image cannot be clicked); [`FlameGraph::interactive`] removes it.
const STATIC_STYLE: &str = "<style id=\"hf-static\">#search,#unzoom,#matched{display:none}</style>";

/// What the interactive graph's subtitle adds.
pub const INTERACTION_HINT: &str = "click a frame to zoom, Ctrl-F or Search to find";

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A flame graph of `p`'s default sample type.
pub fn flame(p: &Profile) -> Result<FlameGraph> {
    flame_with(p, &FlameOptions::default())
}

/// An icicle graph (root on top) of `p`'s default sample type.
///
/// ```
/// let p = heapframe::Profile::from_path("tests/fixtures/bundles/mapcache/heap/007.pb.gz")?;
/// let g = heapframe::views::flame::icicle(&p)?;
/// assert!(g.title().starts_with("Icicle graph of inuse_space"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn icicle(p: &Profile) -> Result<FlameGraph> {
    flame_with(
        p,
        &FlameOptions {
            layout: Layout::Icicle,
            ..Default::default()
        },
    )
}

/// A flame or icicle graph of `p` with options.
pub fn flame_with(p: &Profile, opts: &FlameOptions) -> Result<FlameGraph> {
    let si = p.sample_index(opts.sample_index.as_deref())?;
    draw_flame(&StackSource::Profile { p, si }, opts)
}

/// A differential flame graph from `before` to `after` (see the module
/// docs), of `after`'s default sample type (or `opts.sample_index`),
/// matched by name in `before`.
///
/// ```
/// use heapframe::{Profile, views::flame};
/// let a = Profile::from_path("tests/fixtures/bundles/mapcache/heap/001.pb.gz")?;
/// let b = Profile::from_path("tests/fixtures/bundles/mapcache/heap/007.pb.gz")?;
/// let g = flame::diff_flame(&a, &b)?;
/// assert!(g.title().starts_with("Growth of inuse_space"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn diff_flame(before: &Profile, after: &Profile) -> Result<FlameGraph> {
    diff_flame_with(before, after, &FlameOptions::default())
}

/// The root of a differential graph counts as mostly unchanged when its
/// net change is under this share of the larger of its two widths.
pub const MOSTLY_UNCHANGED: f64 = 0.25;

/// The focus a differential graph from `before` to `after` is given on the
/// page: [`Focus::Auto`] when the root is mostly unchanged (its net change
/// in the default sample type under [`MOSTLY_UNCHANGED`] of its larger
/// width), so that the names of the subtree that grows get the width;
/// `None` when the growth is a large part of the graph already.
///
/// ```
/// use heapframe::{Profile, views::flame};
/// let a = Profile::from_path("tests/fixtures/bundles/mapcache/heap/001.pb.gz")?;
/// let b = Profile::from_path("tests/fixtures/bundles/mapcache/heap/007.pb.gz")?;
/// assert_eq!(flame::auto_focus(&a, &b)?, None); // the leak is most of the heap
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn auto_focus(before: &Profile, after: &Profile) -> Result<Option<Focus>> {
    let si_after = after.sample_index(None)?;
    let name = &after.sample_types[si_after].name;
    let Some(si_before) = before.sample_types.iter().position(|t| t.name == *name) else {
        return Ok(None);
    };
    let total = |p: &Profile, si: usize| -> i128 {
        let w = p.samples.width().max(1);
        p.samples
            .all_values()
            .iter()
            .skip(si)
            .step_by(w)
            .map(|&v| v as i128)
            .sum()
    };
    let (b, a) = (total(before, si_before), total(after, si_after));
    let larger = b.abs().max(a.abs());
    Ok(
        if larger > 0 && ((a - b).abs() as f64) < MOSTLY_UNCHANGED * larger as f64 {
            Some(Focus::Auto)
        } else {
            None
        },
    )
}

/// [`diff_flame`] with options.
pub fn diff_flame_with(
    before: &Profile,
    after: &Profile,
    opts: &FlameOptions,
) -> Result<FlameGraph> {
    let si_after = after.sample_index(opts.sample_index.as_deref())?;
    let name = &after.sample_types[si_after].name;
    let si_before = before
        .sample_types
        .iter()
        .position(|t| t.name == *name)
        .ok_or_else(|| {
            Error::Incompatible(format!("{}: has no sample type {name}", before.source))
        })?;
    draw_diff(
        &StackSource::Profile {
            p: before,
            si: si_before,
        },
        &StackSource::Profile {
            p: after,
            si: si_after,
        },
        opts,
    )
}

/// Differential flame graphs of several `(before, after)` pairs drawn on
/// one colour scale, the largest change of any of them (or
/// `opts.color_scale` when set), so that the same red means the same
/// growth in each: an after-fix graph whose largest change is small next
/// to the leak's is drawn pale, not as red as the leak. Each graph's
/// legend says the scale is shared and gives its own largest change.
///
/// ```
/// use heapframe::{Profile, views::flame};
/// let leak = (Profile::from_path("tests/fixtures/bundles/mapcache/heap/001.pb.gz")?,
///             Profile::from_path("tests/fixtures/bundles/mapcache/heap/007.pb.gz")?);
/// let fixed = (Profile::from_path("tests/fixtures/bundles/fixed/heap/001.pb.gz")?,
///              Profile::from_path("tests/fixtures/bundles/fixed/heap/007.pb.gz")?);
/// let g = flame::diff_flames(&[(&leak.0, &leak.1), (&fixed.0, &fixed.1)], &Default::default())?;
/// assert_eq!(g[0].color_scale(), g[1].color_scale());
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn diff_flames(pairs: &[(&Profile, &Profile)], opts: &FlameOptions) -> Result<Vec<FlameGraph>> {
    let draw_all = |o: &FlameOptions| -> Result<Vec<FlameGraph>> {
        pairs
            .iter()
            .map(|(before, after)| diff_flame_with(before, after, o))
            .collect()
    };
    let graphs = draw_all(opts)?;
    if opts.color_scale.is_some() || graphs.len() < 2 {
        return Ok(graphs);
    }
    let scale = graphs
        .iter()
        .filter_map(|g| g.color_scale)
        .max()
        .unwrap_or(0);
    draw_all(&FlameOptions {
        color_scale: Some(scale),
        ..opts.clone()
    })
}

/// What a sample type counts, for labels: `bytes`, `objects`,
/// `goroutines`, or the unit.
pub fn count_name(t: &ValueType) -> String {
    if &*t.unit == "bytes" {
        "bytes".into()
    } else if t.name.contains("goroutine") {
        "goroutines".into()
    } else if t.name.ends_with("objects") {
        "objects".into()
    } else if &*t.unit == "count" || t.unit.is_empty() {
        t.name.to_string()
    } else {
        t.unit.to_string()
    }
}

/// Whether a sample type counts things (no unit to scale).
fn is_count(t: &ValueType) -> bool {
    &*t.unit == "count" || t.unit.is_empty()
}

/// A value in a sample type's unit for people: `1.50MB`, `2.5s`,
/// `1,234 objects`.
pub fn format_value(v: i64, t: &ValueType) -> String {
    if is_count(t) {
        format!("{} {}", thousands(v), count_name(t))
    } else {
        t.format(v)
    }
}

fn signed(v: i64, t: &ValueType) -> String {
    let s = format_value(v, t);
    if v > 0 { format!("+{s}") } else { s }
}

/// Where a graph's stacks come from: a profile's samples, read without
/// making a list of names per stack, or stacks made by hand.
enum StackSource<'a> {
    /// Sample type `si` of `p`.
    Profile { p: &'a Profile, si: usize },
    /// Ready-made stacks.
    Stacks(&'a Stacks),
}

impl<'a> StackSource<'a> {
    /// Where each function is defined, by name (none for ready-made
    /// stacks).
    fn codes(&self) -> HashMap<&'a str, CodeRef> {
        match self {
            StackSource::Profile { p, .. } => p.code_of_functions(),
            StackSource::Stacks(_) => HashMap::new(),
        }
    }

    fn sample_type(&self) -> &ValueType {
        match self {
            StackSource::Profile { p, si } => &p.sample_types[*si],
            StackSource::Stacks(s) => &s.sample_type,
        }
    }

    fn source(&self) -> &str {
        match self {
            StackSource::Profile { p, .. } => &p.source,
            StackSource::Stacks(s) => &s.source,
        }
    }

    /// How many stacks the subtitle counts.
    fn stack_count(&self) -> usize {
        match self {
            StackSource::Profile { p, si } => {
                p.samples.iter().filter(|s| s.values[*si] > 0).count()
            }
            StackSource::Stacks(s) => s.stacks.len(),
        }
    }
}

/// A node of the merged call tree.
struct Node {
    /// Index into [`Tree::names`].
    name: u32,
    parent: u32,
    depth: u32,
    children: Vec<u32>,
    self_before: i64,
    self_after: i64,
    cum_before: i64,
    cum_after: i64,
}

impl Node {
    /// A tree's root, named `name`, with nothing under it yet.
    fn root(name: u32) -> Node {
        Node {
            name,
            parent: 0,
            depth: 0,
            children: Vec::new(),
            self_before: 0,
            self_after: 0,
            cum_before: 0,
            cum_after: 0,
        }
    }
}

/// Stacks cut short: how many, and how many frames they lost.
#[derive(Debug, Clone, Copy, Default)]
struct Cut {
    stacks: u64,
    frames: u64,
}

impl Cut {
    /// Counts `stacks` stacks that lost `frames` frames each.
    fn add(&mut self, stacks: u64, frames: u64) {
        self.stacks = self.stacks.saturating_add(stacks);
        self.frames = self.frames.saturating_add(stacks.saturating_mul(frames));
    }
}

/// Why a stack was cut short.
#[derive(Debug, Clone, Copy)]
enum CutBy {
    /// Deeper than [`MAX_DEPTH`].
    Depth,
    /// The tree holds [`MAX_TREE_NODES`] nodes.
    TreeSize,
}

/// The call tree of one or two stack sets; node 0 is the root (`all`).
struct Tree<'a> {
    nodes: Vec<Node>,
    /// Names as drawn (shortened, `?` for none), each once.
    names: Vec<Cow<'a, str>>,
    name_ids: HashMap<Cow<'a, str>, u32>,
    /// `(parent, name)` → child.
    index: HashMap<(u32, u32), u32>,
    by_depth: Cut,
    by_size: Cut,
}

impl<'a> Tree<'a> {
    /// Bytes [`at`] adds to the tooltip of each name, by name id.
    fn code_bytes(&self, codes: &HashMap<&str, CodeRef>) -> Vec<usize> {
        self.names
            .iter()
            .map(|n| escape_html(&at(codes, n)).len())
            .collect()
    }

    fn new() -> Tree<'a> {
        let mut t = Tree {
            nodes: Vec::new(),
            names: Vec::new(),
            name_ids: HashMap::new(),
            index: HashMap::new(),
            by_depth: Cut::default(),
            by_size: Cut::default(),
        };
        let root = t.name_id("all");
        t.nodes.push(Node::root(root));
        t
    }

    /// The id of a frame's name as drawn.
    fn name_id(&mut self, name: &'a str) -> u32 {
        let shown = if name.is_empty() {
            Cow::Borrowed("?")
        } else {
            shorten(name)
        };
        if let Some(&id) = self.name_ids.get(&shown) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(shown.clone());
        self.name_ids.insert(shown, id);
        id
    }

    /// The child of `node` named `name`, made if needed; `None` when the
    /// stack must stop here (too deep, or the tree is full).
    fn child(&mut self, node: u32, name: u32) -> Result<u32, CutBy> {
        if self.nodes[node as usize].depth as usize >= MAX_DEPTH {
            return Err(CutBy::Depth);
        }
        if let Some(&c) = self.index.get(&(node, name)) {
            return Ok(c);
        }
        if self.nodes.len() >= MAX_TREE_NODES {
            return Err(CutBy::TreeSize);
        }
        let c = self.nodes.len() as u32;
        let depth = self.nodes[node as usize].depth + 1;
        self.nodes.push(Node {
            name,
            parent: node,
            depth,
            children: Vec::new(),
            self_before: 0,
            self_after: 0,
            cum_before: 0,
            cum_after: 0,
        });
        self.nodes[node as usize].children.push(c);
        self.index.insert((node, name), c);
        Ok(c)
    }

    /// Ends stacks of total value `v` at `node`; `cut` says, when frames
    /// were left out, why, for how many stacks, and how many frames each.
    fn end(&mut self, node: u32, v: i64, after: bool, cut: Option<(CutBy, u64, u64)>) {
        let n = &mut self.nodes[node as usize];
        if after {
            n.self_after = n.self_after.saturating_add(v);
        } else {
            n.self_before = n.self_before.saturating_add(v);
        }
        match cut {
            Some((CutBy::Depth, stacks, frames)) => self.by_depth.add(stacks, frames),
            Some((CutBy::TreeSize, stacks, frames)) => self.by_size.add(stacks, frames),
            None => {}
        }
    }

    /// Adds the stacks of `source` (as the "after" side, or "before").
    fn add(&mut self, source: &StackSource<'a>, after: bool) {
        match source {
            StackSource::Profile { p, si } => self.add_profile(p, *si, after),
            StackSource::Stacks(s) => self.add_stacks(s, after),
        }
    }

    fn add_stacks(&mut self, s: &'a Stacks, after: bool) {
        for (frames, v) in s.stacks.iter().filter(|(_, v)| *v > 0) {
            let mut cur = 0;
            let mut cut = None;
            for (i, f) in frames.iter().enumerate() {
                let name = self.name_id(f);
                match self.child(cur, name) {
                    Ok(c) => cur = c,
                    Err(by) => {
                        cut = Some((by, 1, (frames.len() - i) as u64));
                        break;
                    }
                }
            }
            self.end(cur, *v, after, cut);
        }
    }

    /// Adds the samples of `p` by walking its stack tree once, callers
    /// first: each stack node (a location below its caller's stack) leads
    /// to a node of this tree, and each sample ends at its stack's node.
    /// Where a location has several lines (inlining), the node it leads to
    /// from a given node is remembered, so the work is bounded by the
    /// profile's stacks, not by how many frames they expand to.
    fn add_profile(&mut self, p: &'a Profile, si: usize, after: bool) {
        let stacks = p.samples.tree();
        let width = p.samples.width();
        let values = p.samples.all_values();
        // Per stack node: the positive values ending there, and how many.
        let mut own = vec![0i64; stacks.len()];
        let mut count = vec![0u64; stacks.len()];
        let (mut root_own, mut root_count) = (0i64, 0u64);
        for (i, id) in p.samples.stack_ids().iter().enumerate() {
            let v = values[i * width + si];
            if v <= 0 {
                continue;
            }
            match id.index() {
                Some(k) => {
                    own[k] = own[k].saturating_add(v);
                    count[k] += 1;
                }
                None => {
                    root_own = root_own.saturating_add(v);
                    root_count += 1;
                }
            }
        }
        if root_count > 0 {
            self.end(0, root_own, after, None);
        }
        // Only stacks with a positive value at or below them are walked.
        let wanted = stacks.sums(
            own.iter()
                .enumerate()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| (StackId::from_index(k), *v)),
        );
        let mut function_name: Vec<Option<u32>> = vec![None; p.functions.len()];
        let mut through: HashMap<(u32, u32), u32> = HashMap::new();
        // Per stack node: the node of this tree it leads to, and the frames
        // of its stack left out (with why).
        let mut node = vec![0u32; stacks.len()];
        let mut cut: Vec<Option<(CutBy, u64)>> = vec![None; stacks.len()];
        for (k, (&l, parent)) in stacks.locations().iter().zip(stacks.parents()).enumerate() {
            if !wanted.through_any[k] {
                continue;
            }
            let (start, inherited) = match parent.index() {
                Some(pk) => (node[pk], cut[pk]),
                None => (0, None),
            };
            let lines = &p.locations[l as usize].lines;
            node[k] = start;
            if let Some((by, frames)) = inherited {
                cut[k] = Some((by, frames.saturating_add(lines.len() as u64)));
                continue;
            }
            let remembered = lines.len() > 1;
            if remembered && let Some(&end) = through.get(&(start, l)) {
                node[k] = end;
                continue;
            }
            let mut cur = start;
            for (i, ln) in lines.iter().rev().enumerate() {
                let f = ln.function as usize;
                let name = match function_name[f] {
                    Some(id) => id,
                    None => {
                        let id = self.name_id(&p.functions[f].name);
                        function_name[f] = Some(id);
                        id
                    }
                };
                match self.child(cur, name) {
                    Ok(c) => cur = c,
                    Err(by) => {
                        cut[k] = Some((by, (lines.len() - i) as u64));
                        break;
                    }
                }
            }
            node[k] = cur;
            if remembered && cut[k].is_none() {
                through.insert((start, l), cur);
            }
        }
        for k in 0..stacks.len() {
            if count[k] > 0 {
                self.end(
                    node[k],
                    own[k],
                    after,
                    cut[k].map(|(by, f)| (by, count[k], f)),
                );
            }
        }
    }

    /// Sets every node's cumulative values from the own values below it
    /// (children always come after their parent).
    fn sum_up(&mut self) {
        for n in &mut self.nodes {
            n.cum_before = n.self_before;
            n.cum_after = n.self_after;
        }
        for i in (1..self.nodes.len()).rev() {
            let (b, a, p) = {
                let n = &self.nodes[i];
                (n.cum_before, n.cum_after, n.parent as usize)
            };
            let parent = &mut self.nodes[p];
            parent.cum_before = parent.cum_before.saturating_add(b);
            parent.cum_after = parent.cum_after.saturating_add(a);
        }
    }

    /// The nodes to focus on: for a name, the outermost nodes whose name
    /// contains it; for `Auto`, the one node the descent ends at (by
    /// `weight`, growth or width). Empty: nothing to focus on (no match,
    /// or the descent stays at the root).
    fn focus_nodes(&self, focus: &Focus, weight: &dyn Fn(&Node) -> i64) -> Vec<u32> {
        match focus {
            Focus::Name(text) => {
                let mut out = Vec::new();
                let mut todo = vec![0u32];
                while let Some(i) = todo.pop() {
                    let n = &self.nodes[i as usize];
                    if i != 0 && self.names[n.name as usize].contains(text.as_str()) {
                        out.push(i);
                    } else {
                        todo.extend(n.children.iter().rev());
                    }
                }
                out
            }
            Focus::Auto => {
                let mut cur = 0u32;
                loop {
                    let n = &self.nodes[cur as usize];
                    let w = weight(n);
                    let next = n
                        .children
                        .iter()
                        .copied()
                        .max_by_key(|&c| weight(&self.nodes[c as usize]));
                    match next {
                        Some(c)
                            if w > 0
                                && weight(&self.nodes[c as usize]) as f64 >= 0.8 * w as f64
                                && !self.nodes[c as usize].children.is_empty() =>
                        {
                            cur = c
                        }
                        _ => break,
                    }
                }
                // Two callers above where the growth splits, for context
                // (the application code that called into a library).
                for _ in 0..2 {
                    let p = self.nodes[cur as usize].parent;
                    if p != 0 {
                        cur = p;
                    }
                }
                if cur == 0 { Vec::new() } else { vec![cur] }
            }
        }
    }

    /// A tree of just the subtrees of `at` under a new root, merged by
    /// name; values and cuts are kept, sums are redone.
    fn refocus(&self, at: &[u32]) -> Tree<'a> {
        let mut t = Tree {
            nodes: Vec::new(),
            names: self.names.clone(),
            name_ids: self.name_ids.clone(),
            index: HashMap::new(),
            by_depth: self.by_depth,
            by_size: self.by_size,
        };
        t.nodes.push(Node::root(self.nodes[0].name));
        // Depth first with an explicit stack: (old node, new parent).
        let mut todo: Vec<(u32, u32)> = at.iter().rev().map(|&i| (i, 0)).collect();
        while let Some((old, parent)) = todo.pop() {
            let n = &self.nodes[old as usize];
            // Depth only shrinks, so a child can always be made.
            let Ok(new) = t.child(parent, n.name) else {
                continue;
            };
            let m = &mut t.nodes[new as usize];
            m.self_before = m.self_before.saturating_add(n.self_before);
            m.self_after = m.self_after.saturating_add(n.self_after);
            todo.extend(n.children.iter().rev().map(|&c| (c, new)));
        }
        t.sum_up();
        t
    }

    /// Each node's drawn width: `own` of itself plus its subtree's.
    fn widths(&self, own: impl Fn(&Node) -> i64) -> Vec<i64> {
        let mut w: Vec<i64> = self.nodes.iter().map(&own).collect();
        for i in (1..self.nodes.len()).rev() {
            let p = self.nodes[i].parent as usize;
            w[p] = w[p].saturating_add(w[i]);
        }
        w
    }

    /// The frames to draw: the widest first (a caller before its callees),
    /// while they are at least [`MIN_WIDTH_PERCENT`] of the total and fit
    /// [`MAX_FRAMES`], `svg_budget` bytes of SVG and [`MAX_FOLDED_BYTES`]
    /// of folded text. Returns which nodes are drawn, and how many frames
    /// were left out and the widest of them.
    fn select(&self, d: &Drawing<'_, '_>, svg_budget: usize) -> (Vec<bool>, usize, i64) {
        let (width, image_width, frame_bytes) = (&d.width, d.image_width, d.frame_bytes);
        let total = width[0].max(1) as f64;
        let mut order: Vec<u32> = (1..self.nodes.len() as u32)
            .filter(|&i| width[i as usize] > 0)
            .collect();
        order.sort_unstable_by(|&a, &b| {
            width[b as usize]
                .cmp(&width[a as usize])
                .then(
                    self.nodes[a as usize]
                        .depth
                        .cmp(&self.nodes[b as usize].depth),
                )
                .then(a.cmp(&b))
        });
        let name_bytes: Vec<usize> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| escape_html(n).len() + d.name_extra.get(i).copied().unwrap_or(0))
            .collect();
        // A label holds what fits of the name: at most `fit` characters of
        // at most 6 bytes (`&quot;`) in a frame `w` wide.
        let fit = |w: i64| {
            w as f64 * 100.0 / total / (100.0 * FONT_SIZE * FONT_WIDTH / image_width as f64)
        };
        let mut drawn = vec![false; self.nodes.len()];
        drawn[0] = true;
        // Length of each drawn node's folded path (`12;345;6`).
        let mut path = vec![0usize; self.nodes.len()];
        let (mut svg, mut folded) = (0usize, 0usize);
        for (k, &i) in order.iter().enumerate() {
            let n = &self.nodes[i as usize];
            let w = width[i as usize];
            let own_path = path[n.parent as usize] + digits(n.name) + 1;
            let name = name_bytes[n.name as usize];
            let frame = frame_bytes + name + name.min(6 * fit(w) as usize);
            if (w as f64) * 100.0 / total < MIN_WIDTH_PERCENT
                || k >= MAX_FRAMES
                || svg + frame > svg_budget
                || folded + own_path + 24 > MAX_FOLDED_BYTES
            {
                return (drawn, order.len() - k, w);
            }
            drawn[i as usize] = true;
            path[i as usize] = own_path;
            svg += frame;
            folded += own_path + 24;
        }
        (drawn, 0, 0)
    }

    /// Folded lines of the drawn nodes, in depth-first order (children by
    /// name), each frame named by its name's number; a node's line carries
    /// its width less its drawn callees'. Also every drawn node's
    /// `(depth, start)` in that layout.
    fn fold(&self, width: &[i64], drawn: &[bool]) -> (String, HashMap<(usize, i64), u32>) {
        let mut out = String::new();
        let mut at = HashMap::new();
        let mut path: Vec<u32> = Vec::new();
        let mut x = 0i64;
        // (node, entering?)
        let mut todo = vec![(0u32, true)];
        while let Some((n, enter)) = todo.pop() {
            if !enter {
                path.pop();
                continue;
            }
            let node = &self.nodes[n as usize];
            at.insert((node.depth as usize, x), n);
            let mut children: Vec<u32> = node
                .children
                .iter()
                .copied()
                .filter(|&c| drawn[c as usize])
                .collect();
            children.sort_by(|&a, &b| {
                self.names[self.nodes[a as usize].name as usize]
                    .cmp(&self.names[self.nodes[b as usize].name as usize])
            });
            if n != 0 {
                path.push(node.name);
                let own = children.iter().fold(width[n as usize], |w, &c| {
                    w.saturating_sub(width[c as usize])
                });
                if own > 0 {
                    for (i, id) in path.iter().enumerate() {
                        if i > 0 {
                            out.push(';');
                        }
                        let _ = write!(out, "{id}");
                    }
                    let _ = writeln!(out, " {own}");
                    x = x.saturating_add(own);
                }
                todo.push((n, false));
            }
            for &c in children.iter().rev() {
                todo.push((c, true));
            }
        }
        (out, at)
    }

    /// The note of what was not drawn, if anything was not.
    fn note(&self, left_out: usize, widest_left_out: i64, t: &ValueType) -> Option<String> {
        let mut parts = Vec::new();
        let stacks = |n: u64| {
            format!(
                "{} stack{}",
                thousands(n as i64),
                if n == 1 { "" } else { "s" }
            )
        };
        if self.by_depth.stacks > 0 {
            parts.push(format!(
                "{} frames of {} deeper than {MAX_DEPTH} frames not drawn (their values stay at depth {MAX_DEPTH})",
                thousands(self.by_depth.frames.min(i64::MAX as u64) as i64),
                stacks(self.by_depth.stacks)
            ));
        }
        if self.by_size.stacks > 0 {
            parts.push(format!(
                "{} frames of {} past the graph's {} call paths not drawn",
                thousands(self.by_size.frames.min(i64::MAX as u64) as i64),
                stacks(self.by_size.stacks),
                thousands(MAX_TREE_NODES as i64)
            ));
        }
        if left_out > 0 {
            parts.push(format!(
                "{} frames of {} or less not drawn",
                thousands(left_out as i64),
                format_value(widest_left_out, t)
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Decimal digits of `n`.
fn digits(n: u32) -> usize {
    n.checked_ilog10().unwrap_or(0) as usize + 1
}

/// inferno's options for a graph of sample type `t`.
fn inferno_options(
    title: &str,
    subtitle: &str,
    t: &ValueType,
    opts: &FlameOptions,
) -> flamegraph::Options<'static> {
    let mut o = flamegraph::Options::default();
    o.title = title.to_string();
    o.subtitle = Some(subtitle.to_string());
    o.count_name = count_name(t);
    o.colors = palette(t);
    o.hash = true;
    o.deterministic = true;
    // heapframe leaves out narrow frames itself (and counts them).
    o.min_width = 0.0;
    // heapframe lays the frames out itself (children by name, a node's own
    // value before its children) and feeds inferno the lines in that order.
    // inferno's unsorted mode still insists on byte order of whole lines,
    // which a tree order cannot always meet (`f;g` sorts after `f.func1`);
    // flame-chart mode takes lines in the order given (it reverses them
    // first, so `draw` hands them over reversed).
    o.flame_chart = true;
    o.frame_height = FRAME_HEIGHT;
    o.image_width = Some(opts.image_width());
    o.direction = match opts.layout {
        Layout::Flame => Direction::Straight,
        Layout::Icicle => Direction::Inverted,
    };
    o
}

/// The label of a frame `width_percent` wide, for a name: whole when it
/// fits; else without its package path (`json.Marshal`), then without its
/// package (`(*profileCache).Put`), since a Go name's end says most; else
/// `..` and its end; nothing when not even three characters fit. The
/// tooltip always has the whole name.
fn label(name: &str, width_percent: f64, image_width: usize) -> Cow<'_, str> {
    let fits = (width_percent / (100.0 * FONT_SIZE * FONT_WIDTH / image_width as f64)) as usize;
    if fits < 3 {
        return Cow::Borrowed("");
    }
    let short = name.rsplit_once('/').map_or(name, |(_, s)| s);
    let shorter = short
        .split_once('.')
        .map(|(_, s)| s)
        .filter(|s| !s.is_empty())
        .unwrap_or(short);
    for candidate in [name, short, shorter] {
        if candidate.chars().count() < fits {
            return Cow::Borrowed(candidate);
        }
    }
    let n = shorter.chars().count();
    let mut s = String::from("..");
    s.extend(shorter.chars().skip(n + 2 - fits));
    Cow::Owned(s)
}

/// How a graph draws its frames: the tree, each node's drawn width, its
/// tooltip and (for differential graphs) its colour.
struct Drawing<'t, 'a> {
    tree: &'t Tree<'a>,
    width: Vec<i64>,
    tooltip: &'t dyn Fn(u32) -> String,
    fill: &'t dyn Fn(u32) -> Option<String>,
    image_width: usize,
    /// Bytes of a frame besides its name: [`FRAME_BYTES`] or
    /// [`DIFF_FRAME_BYTES`].
    frame_bytes: usize,
    /// A differential graph's colour legend.
    legend: Option<Legend>,
    /// Bytes each name's tooltip adds besides the name (its code place),
    /// by name id.
    name_extra: Vec<usize>,
}

/// The colour legend of a differential graph: swatches from full blue
/// through grey to full red, and what full colour means.
struct Legend {
    /// The change drawn in full colour.
    scale: i64,
    /// The graph's own largest change.
    own: i64,
    /// `scale` was given (shared with other graphs).
    shared: bool,
    t: ValueType,
}

impl Legend {
    const STEPS: [f64; 9] = [-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0];

    /// The legend as SVG elements on the line whose text baseline is `y`.
    fn svg(&self, y: usize) -> String {
        let mut out = String::from("<g id=\"hf-legend\">");
        for (i, f) in Self::STEPS.iter().enumerate() {
            let v = (self.scale as f64 * f).round() as i64;
            let _ = write!(
                out,
                r#"<rect x="{}" y="{}" width="14" height="12" fill="{}"><title>{}</title></rect>"#,
                10 + 16 * i,
                y.saturating_sub(11),
                growth_color(v, self.scale),
                escape_html(&signed(v, &self.t))
            );
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{y}" fill="rgb(90,90,90)">{}</text></g>"#,
            10 + 16 * Self::STEPS.len() + 6,
            escape_html(&self.text())
        );
        out
    }

    /// What the legend says in words.
    fn text(&self) -> String {
        let full = format_value(self.scale, &self.t);
        if self.shared {
            format!(
                "full blue −{full} … grey 0 … full red +{full}: a scale shared with the graphs this one is compared with (its own largest change: {})",
                format_value(self.own, &self.t)
            )
        } else {
            format!("full blue −{full} … grey 0 … full red +{full}: this graph's largest change")
        }
    }
}

/// Draws the tree with inferno within the bounds of the module docs, then
/// writes each frame's tooltip, label and (when `fill` gives one) colour,
/// and the note of what was not drawn.
fn draw(
    options: &dyn Fn() -> flamegraph::Options<'static>,
    frames: &Drawing<'_, '_>,
    layout: Layout,
    t: &ValueType,
) -> Result<FlameGraph> {
    let mut budget = MAX_SVG_BYTES - DOCUMENT_BYTES;
    loop {
        let (drawn, left_out, widest) = frames.tree.select(frames, budget);
        let note = frames.tree.note(left_out, widest, t);
        let g = draw_once(options(), frames, &drawn, layout, note)?;
        if g.svg.len() <= MAX_SVG_BYTES {
            return Ok(g);
        }
        // Estimates fell short (they should not): draw fewer frames.
        if budget < frames.frame_bytes {
            return Err(Error::Output(format!(
                "the flame graph exceeds {MAX_SVG_BYTES} bytes even without frames"
            )));
        }
        budget /= 2;
    }
}

fn draw_once(
    mut o: flamegraph::Options<'_>,
    frames: &Drawing<'_, '_>,
    drawn: &[bool],
    layout: Layout,
    note: Option<String>,
) -> Result<FlameGraph> {
    let title = o.title.clone();
    let image_width = o.image_width.unwrap_or(1200);
    let tree = frames.tree;
    let (folded, at) = tree.fold(&frames.width, drawn);
    let mut svg = Vec::new();
    flamegraph::from_lines(&mut o, folded.lines().rev(), &mut svg)
        .map_err(|e| Error::Output(format!("drawing the flame graph failed: {e}")))?;
    let svg = String::from_utf8(svg)
        .map_err(|e| Error::Output(format!("the flame graph is not UTF-8: {e}")))?;
    let frame = regex::Regex::new(
        r#"<g><title>[^<]*</title><rect x="([^"]*)" y="(\d+)" width="([^"]*)%" height="(\d+)" fill="([^"]*)" fg:x="(\d+)" fg:w="(\d+)"/><text x="([^"]*)" y="([^"]*)">[^<]*</text></g>"#,
    )
    .expect("valid pattern");
    // The root frame (inferno's `all`) fixes depth 0's y.
    let root_y: i64 = frame
        .captures_iter(&svg)
        .find(|c| c[0].starts_with("<g><title>all (") && &c[6] == "0")
        .and_then(|c| c[2].parse().ok())
        .ok_or_else(|| Error::Output("the flame graph has no root frame".into()))?;
    let mut missing = None;
    let svg = frame.replace_all(&svg, |c: &regex::Captures| {
        let y: i64 = c[2].parse().unwrap_or(0);
        let x: i64 = c[6].parse().unwrap_or(0);
        let dy = match layout {
            Layout::Flame => root_y - y,
            Layout::Icicle => y - root_y,
        };
        let depth = (dy / FRAME_HEIGHT as i64) as usize;
        match at.get(&(depth, x)) {
            Some(&n) => {
                let fill = (frames.fill)(n).unwrap_or_else(|| c[5].to_string());
                let name = if n == 0 {
                    ""
                } else {
                    &*tree.names[tree.nodes[n as usize].name as usize]
                };
                let shown = label(name, c[3].parse().unwrap_or(0.0), image_width);
                format!(
                    r#"<g><title>{}</title><rect x="{}" y="{}" width="{}%" height="{}" fill="{}" fg:x="{}" fg:w="{}"/><text x="{}" y="{}">{}</text></g>"#,
                    escape_html(&(frames.tooltip)(n)),
                    &c[1],
                    &c[2],
                    &c[3],
                    &c[4],
                    fill,
                    &c[6],
                    &c[7],
                    &c[8],
                    &c[9],
                    escape_html(&shown)
                )
            }
            None => {
                missing.get_or_insert((depth, x));
                c[0].to_string()
            }
        }
    });
    if let Some((d, x)) = missing {
        return Err(Error::Output(format!(
            "flame graph layout mismatch: no call-tree node at depth {d}, offset {x}"
        )));
    }
    // Title and subtitle went through inferno, which passes control
    // characters through.
    let mut svg = xml_safe(svg.into_owned());
    let mut height = svg_height(&svg);
    if let Some(n) = &note {
        let n = escape_html(n);
        (svg, height) = add_line(svg, height, |y| {
            format!(r#"<text id="hf-note" x="10" y="{y}" fill="rgb(90,90,90)">{n}</text>"#)
        })?;
    }
    if let Some(l) = &frames.legend {
        (svg, height) = add_line(svg, height, |y| l.svg(y))?;
    }
    // The static image shows no controls it cannot serve.
    if let Some(i) = svg
        .find("<svg ")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
    {
        svg.insert_str(i, STATIC_STYLE);
    }
    Ok(FlameGraph {
        svg,
        title,
        height,
        note,
        color_scale: None,
        focused: None,
    })
}

/// The height of the outer `<svg>` element.
fn svg_height(svg: &str) -> usize {
    regex::Regex::new(r#"<svg [^>]*height="(\d+)""#)
        .expect("valid pattern")
        .captures(svg)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or(0)
}

/// `svg` one line taller, with the elements `line` makes for the text
/// baseline it is given on that line at the bottom (below inferno's
/// details line).
fn add_line(svg: String, height: usize, line: impl Fn(usize) -> String) -> Result<(String, usize)> {
    const LINE: usize = 18;
    let taller = height + LINE;
    let head = regex::Regex::new(
        r#"^(?s)(.*?<svg [^>]*?)height="(\d+)"([^>]*?)viewBox="0 0 (\d+) (\d+)""#,
    )
    .expect("valid pattern");
    let svg = head
        .replacen(&svg, 1, |c: &regex::Captures| {
            format!(
                r#"{}height="{taller}"{}viewBox="0 0 {} {taller}""#,
                &c[1], &c[3], &c[4]
            )
        })
        .into_owned();
    let end = svg
        .rfind("</svg>")
        .ok_or_else(|| Error::Output("the flame graph has no end".into()))?;
    Ok((
        format!("{}{}{}", &svg[..end], line(taller - 6), &svg[end..]),
        taller,
    ))
}

fn file_name(source: &str) -> String {
    let p = Path::new(source);
    match (p.parent().and_then(|d| d.file_name()), p.file_name()) {
        (Some(d), Some(f)) => format!("{}/{}", d.to_string_lossy(), f.to_string_lossy()),
        (None, Some(f)) => f.to_string_lossy().into_owned(),
        _ => source.to_string(),
    }
}

fn palette(t: &ValueType) -> color::Palette {
    if t.name.contains("goroutine") {
        color::Palette::Basic(color::BasicPalette::Aqua)
    } else if &*t.unit == "bytes" || t.name.ends_with("objects") {
        color::Palette::Basic(color::BasicPalette::Mem)
    } else {
        color::Palette::Basic(color::BasicPalette::Hot)
    }
}

/// A flame or icicle graph of `stacks`.
///
/// ```
/// use heapframe::views::flame::{Stacks, flame_stacks};
/// use heapframe::profile::ValueType;
/// let s = Stacks {
///     sample_type: ValueType { name: "inuse_space".into(), unit: "bytes".into() },
///     stacks: vec![(vec!["main".into(), "grow".into()], 3 << 20)],
///     source: "example".into(),
/// };
/// let g = flame_stacks(&s, &Default::default())?;
/// assert!(g.svg().contains("grow (3MB, 100.00%)"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn flame_stacks(stacks: &Stacks, opts: &FlameOptions) -> Result<FlameGraph> {
    draw_flame(&StackSource::Stacks(stacks), opts)
}

fn draw_flame(source: &StackSource<'_>, opts: &FlameOptions) -> Result<FlameGraph> {
    let t = source.sample_type();
    let mut tree = Tree::new();
    tree.add(source, true);
    tree.sum_up();
    let whole = tree.nodes[0].cum_after;
    if whole <= 0 {
        return Err(Error::Output(format!(
            "{}: no positive {} values to draw",
            source.source(),
            t.name
        )));
    }
    let focused = match &opts.focus {
        Some(f) => focus(&mut tree, f, &|n: &Node| n.cum_after, &|v| {
            format_value(v, t)
        })?,
        None => String::new(),
    };
    let total = tree.nodes[0].cum_after;
    let title = shorten(&opts.title.clone().unwrap_or_else(|| {
        format!(
            "{} of {}: {} ({})",
            match opts.layout {
                Layout::Flame => "Flame graph",
                Layout::Icicle => "Icicle graph",
            },
            t.name,
            format_value(whole, t),
            file_name(source.source())
        )
    }))
    .into_owned();
    let subtitle = format!(
        "width: {} including callees; {} stacks{focused}",
        count_name(t),
        thousands(source.stack_count() as i64)
    );
    let nodes = &tree.nodes;
    let names = &tree.names;
    let codes = source.codes();
    let tooltip = |n: u32| {
        let node = &nodes[n as usize];
        let name = &names[node.name as usize];
        format!(
            "{} ({}, {:.2}%){}",
            name,
            format_value(node.cum_after, t),
            100.0 * node.cum_after as f64 / total as f64,
            at(&codes, name)
        )
    };
    let frames = Drawing {
        tree: &tree,
        width: tree.widths(|n| n.self_after),
        tooltip: &tooltip,
        fill: &|_| None,
        image_width: opts.image_width(),
        frame_bytes: FRAME_BYTES,
        legend: None,
        name_extra: tree.code_bytes(&codes),
    };
    let mut g = draw(
        &|| inferno_options(&title, &subtitle, t, opts),
        &frames,
        opts.layout,
        t,
    )?;
    g.focused = focused_text(&focused);
    Ok(g)
}

/// The subtitle's focus clause as [`FlameGraph::focused`] gives it.
fn focused_text(clause: &str) -> Option<String> {
    let t = clause.trim_start_matches("; ");
    (!t.is_empty()).then(|| t.to_string())
}

/// Re-roots `tree` on what `f` picks (see [`Focus`]) and says what was
/// kept, for the subtitle (`weight`: what the focus is measured by,
/// `show`: how a value of it reads). A name that matches no frame is an
/// error; `Auto` with nothing to focus on leaves the tree as it is.
fn focus(
    tree: &mut Tree<'_>,
    f: &Focus,
    weight: &dyn Fn(&Node) -> i64,
    show: &dyn Fn(i64) -> String,
) -> Result<String> {
    let at = tree.focus_nodes(f, weight);
    if at.is_empty() {
        return match f {
            Focus::Name(x) => Err(Error::Option(format!(
                "focus {:?}: no frame's name contains it",
                crate::escape::terminal(x)
            ))),
            Focus::Auto => Ok(String::new()),
        };
    }
    let whole = weight(&tree.nodes[0]);
    let kept: i64 = at.iter().map(|&i| weight(&tree.nodes[i as usize])).sum();
    let mut names: Vec<&str> = at
        .iter()
        .map(|&i| &*tree.names[tree.nodes[i as usize].name as usize])
        .collect();
    names.sort_unstable();
    names.dedup();
    let shown = if names.len() > 3 {
        format!("{} and {} more", names[..3].join(", "), names.len() - 3)
    } else {
        names.join(", ")
    };
    let note = format!(
        "; focused on {shown} ({} of {}{}); the rest is left out",
        show(kept),
        show(whole),
        if whole > 0 {
            format!(", {:.0}%", 100.0 * kept as f64 / whole as f64)
        } else {
            String::new()
        }
    );
    *tree = tree.refocus(&at);
    Ok(note)
}

/// ` at file:line` for a frame's tooltip, when its function's definition
/// is known.
fn at(codes: &HashMap<&str, CodeRef>, name: &str) -> String {
    match codes.get(name) {
        Some(c) => format!(" at {c}"),
        None => String::new(),
    }
}

/// The colour of a frame whose subtree grew by `g`, the largest change
/// being `scale`: red for growth, blue for shrinking, light grey for none.
pub fn growth_color(g: i64, scale: i64) -> String {
    if g == 0 || scale <= 0 {
        return "rgb(221,221,221)".into();
    }
    let t = ((g.unsigned_abs() as f64) / scale as f64)
        .clamp(0.0, 1.0)
        .sqrt();
    let c = (225.0 - 185.0 * t).round() as u8;
    if g > 0 {
        format!("rgb(255,{c},{c})")
    } else {
        format!("rgb({c},{c},255)")
    }
}

/// A differential flame graph of two stack sets (see the module docs).
///
/// ```
/// use heapframe::views::flame::{Stacks, diff_flame_stacks};
/// use heapframe::profile::ValueType;
/// let st = ValueType { name: "inuse_space".into(), unit: "bytes".into() };
/// let mk = |v: Vec<(&str, i64)>| Stacks {
///     sample_type: st.clone(),
///     stacks: v.into_iter().map(|(f, n)| (vec!["main".into(), f.into()], n)).collect(),
///     source: "x".into(),
/// };
/// let g = diff_flame_stacks(&mk(vec![("old", 100)]), &mk(vec![("cache", 400)]), &Default::default())?;
/// assert!(g.svg().contains("old (vanished: before 100B"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn diff_flame_stacks(
    before: &Stacks,
    after: &Stacks,
    opts: &FlameOptions,
) -> Result<FlameGraph> {
    if before.sample_type.name != after.sample_type.name {
        return Err(Error::Incompatible(format!(
            "{} measures {} but {} measures {}",
            before.source, before.sample_type.name, after.source, after.sample_type.name
        )));
    }
    draw_diff(
        &StackSource::Stacks(before),
        &StackSource::Stacks(after),
        opts,
    )
}

fn draw_diff(
    before: &StackSource<'_>,
    after: &StackSource<'_>,
    opts: &FlameOptions,
) -> Result<FlameGraph> {
    let t = after.sample_type();
    let mut tree = Tree::new();
    tree.add(before, false);
    tree.add(after, true);
    tree.sum_up();
    if tree.nodes[0].cum_after.max(tree.nodes[0].cum_before) <= 0 {
        return Err(Error::Output(format!(
            "{} and {}: no positive {} values to draw",
            before.source(),
            after.source(),
            t.name
        )));
    }
    let (whole_before, whole_after) = (tree.nodes[0].cum_before, tree.nodes[0].cum_after);
    let growth = |n: &Node| n.cum_after.saturating_sub(n.cum_before);
    let focused = match &opts.focus {
        Some(f) => focus(&mut tree, f, &|n: &Node| growth(n).max(0), &|v| {
            signed(v, t)
        })?,
        None => String::new(),
    };
    let nodes = &tree.nodes;
    let names = &tree.names;
    let own_scale = nodes
        .iter()
        .skip(1)
        .map(|n| growth(n).saturating_abs())
        .max()
        .unwrap_or(0);
    let scale = opts.color_scale.filter(|&s| s > 0).unwrap_or(own_scale);
    let (mut vanished, mut vanished_v) = (0usize, 0i64);
    for n in nodes.iter().skip(1) {
        if n.cum_after == 0 && n.cum_before > 0 && n.self_before > 0 {
            vanished += 1;
            vanished_v = vanished_v.saturating_add(n.self_before);
        }
    }
    let title = shorten(&opts.title.clone().unwrap_or_else(|| {
        let g = whole_after.saturating_sub(whole_before);
        if is_count(t) {
            format!(
                "Growth of {}: {} → {} {} ({}{})",
                t.name,
                thousands(whole_before),
                thousands(whole_after),
                count_name(t),
                if g > 0 { "+" } else { "" },
                thousands(g)
            )
        } else {
            format!(
                "Growth of {}: {} → {} ({})",
                t.name,
                format_value(whole_before, t),
                format_value(whole_after, t),
                signed(g, t),
            )
        }
    }))
    .into_owned();
    let subtitle = format!(
        "{} → {}; colour: growth of the subtree (red grows, blue shrinks); width: larger of before/after; {} vanished path{} ({}) in blue{focused}",
        shorten(&file_name(before.source())),
        shorten(&file_name(after.source())),
        vanished,
        if vanished == 1 { "" } else { "s" },
        format_value(vanished_v, t)
    );
    let mut codes = after.codes();
    for (name, c) in before.codes() {
        codes.entry(name).or_insert(c);
    }
    let tooltip = |i: u32| {
        let n = &nodes[i as usize];
        let state = if n.cum_after == 0 && n.cum_before > 0 {
            "vanished: "
        } else if n.cum_before == 0 && n.cum_after > 0 {
            "new: "
        } else {
            ""
        };
        let name = &names[n.name as usize];
        format!(
            "{} ({state}before {}, after {}, growth {}, own growth {}){}",
            name,
            format_value(n.cum_before, t),
            format_value(n.cum_after, t),
            signed(growth(n), t),
            signed(n.self_after.saturating_sub(n.self_before), t),
            at(&codes, name)
        )
    };
    let fill = |i: u32| Some(growth_color(growth(&nodes[i as usize]), scale));
    let options = || {
        let mut o = inferno_options(&title, &subtitle, t, opts);
        o.bgcolors = Some(color::BackgroundColor::Grey);
        o
    };
    let frames = Drawing {
        tree: &tree,
        width: tree.widths(|n| n.self_after.max(n.self_before)),
        tooltip: &tooltip,
        fill: &fill,
        image_width: opts.image_width(),
        frame_bytes: DIFF_FRAME_BYTES,
        legend: Some(Legend {
            scale,
            own: own_scale,
            shared: opts.color_scale.is_some_and(|s| s > 0),
            t: t.clone(),
        }),
        name_extra: tree.code_bytes(&codes),
    };
    let mut g = draw(&options, &frames, opts.layout, t)?;
    g.color_scale = Some(scale);
    g.focused = focused_text(&focused);
    Ok(g)
}

/// Flame graphs of a slice of a [`Tables`](crate::tables::Tables)'
/// `samples`: any filter, join or selection of its rows that keeps the
/// `stack_id` column draws the stacks of just those rows.
impl crate::tables::Tables {
    /// The stacks of the rows of `samples` (these tables' `samples`, or
    /// rows of it), each valued by the column `value` (`inuse_space`...);
    /// rows with a null value are left out. Fails, naming the column or
    /// the id, when `samples` has no `stack_id` or `value` column, or
    /// holds a `stack_id` these tables do not have.
    ///
    /// ```
    /// use heapframe::{Profile, tables::Tables};
    /// use heapframe::polars::prelude::*;
    /// let p = Profile::from_path("tests/fixtures/bundles/mapcache/heap/007.pb.gz")?;
    /// let t = Tables::from_profile(&p)?;
    /// let big = t.samples.column("inuse_space").unwrap().i64().unwrap().gt(1i64 << 20);
    /// let g = t.flame(&t.samples.filter(&big).unwrap(), "inuse_space")?;
    /// assert!(g.svg().contains("bytes.Clone"));
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn stacks_of(&self, samples: &polars::prelude::DataFrame, value: &str) -> Result<Stacks> {
        use polars::prelude::DataType;
        let find = |name: &str| {
            samples
                .columns()
                .iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| {
                    Error::Option(format!(
                        "no column \"{name}\" in the samples slice (a flame graph needs stack_id and the value column)"
                    ))
                })
        };
        let ids = find("stack_id")?;
        let values = find(value)?;
        if !values.dtype().is_integer() {
            return Err(Error::Option(format!(
                "column \"{value}\" holds {}, and a flame graph needs integer values",
                values.dtype()
            )));
        }
        let cast_err = |e: polars::prelude::PolarsError| {
            Error::Option(format!("reading the samples slice: {e}"))
        };
        let ids = ids
            .as_materialized_series()
            .cast(&DataType::UInt32)
            .map_err(cast_err)?;
        let ids = ids.u32().map_err(cast_err)?;
        let values = values
            .as_materialized_series()
            .cast(&DataType::Int64)
            .map_err(cast_err)?;
        let values = values.i64().map_err(cast_err)?;
        let mut sums: HashMap<u32, i64> = HashMap::new();
        for (id, v) in ids.iter().zip(values.iter()) {
            let (Some(id), Some(v)) = (id, v) else {
                continue;
            };
            if !self.is_stack(id) {
                return Err(Error::Option(format!(
                    "stack_id {id} is not a stack of these tables: slice the samples of the same Tables"
                )));
            }
            let e = sums.entry(id).or_default();
            *e = e.saturating_add(v);
        }
        let mut ids: Vec<u32> = sums.keys().copied().collect();
        ids.sort_unstable();
        let stacks = ids
            .into_iter()
            .map(|id| {
                let names: Vec<Str> = self
                    .stack_functions(id)
                    .into_iter()
                    .rev()
                    .map(Str::from)
                    .collect();
                (names, sums[&id])
            })
            .collect();
        let unit = self
            .unit(value)
            .unwrap_or(if crate::views::chart::is_bytes_name(value) {
                "bytes"
            } else {
                "count"
            });
        Ok(Stacks {
            sample_type: ValueType {
                name: value.into(),
                unit: unit.into(),
            },
            stacks,
            source: "samples slice".to_string(),
        })
    }

    /// A flame graph of the rows of `samples` by `value` (see
    /// [`Tables::stacks_of`](crate::tables::Tables::stacks_of)).
    pub fn flame(&self, samples: &polars::prelude::DataFrame, value: &str) -> Result<FlameGraph> {
        flame_stacks(&self.stacks_of(samples, value)?, &FlameOptions::default())
    }

    /// A differential flame graph from the rows `before` to the rows
    /// `after` (two slices of these tables' samples, e.g. the first and
    /// the last snapshot), by `value`: red where the stacks grew.
    ///
    /// ```
    /// use heapframe::prelude::*;
    /// use heapframe::polars::prelude::*;
    /// let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
    /// let t = b.heap_series().tables()?;
    /// let snap = |n: u32| {
    ///     let mask = t.samples.column("snapshot").unwrap().u32().unwrap().equal(n);
    ///     t.samples.filter(&mask).unwrap()
    /// };
    /// let g = t.diff_flame(&snap(0), &snap(6), "inuse_space")?;
    /// assert!(g.svg().contains("bytes.Clone"));
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn diff_flame(
        &self,
        before: &polars::prelude::DataFrame,
        after: &polars::prelude::DataFrame,
        value: &str,
    ) -> Result<FlameGraph> {
        let mut b = self.stacks_of(before, value)?;
        b.source = "the first slice".to_string();
        let mut a = self.stacks_of(after, value)?;
        a.source = "the second slice".to_string();
        diff_flame_stacks(&b, &a, &FlameOptions::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn controls_and_hint_show_only_in_the_interactive_graph() {
        let st = ValueType {
            name: "inuse_space".into(),
            unit: "bytes".into(),
        };
        let mk = |v: i64| Stacks {
            sample_type: st.clone(),
            stacks: vec![(vec!["main".into(), "grow".into()], v)],
            source: "x".into(),
        };
        let sub = regex::Regex::new(r#"<text [^>]*id="subtitle"[^>]*>([^<]*)</text>"#).unwrap();
        for g in [
            flame_stacks(&mk(100), &FlameOptions::default()).unwrap(),
            diff_flame_stacks(&mk(100), &mk(300), &FlameOptions::default()).unwrap(),
        ] {
            let still = g.svg();
            assert_eq!(still.matches(STATIC_STYLE).count(), 1);
            assert!(!still.contains(INTERACTION_HINT));
            assert!(!sub.captures(still).unwrap()[1].contains("click"));
            let live = g.live_svg();
            assert!(!live.contains(STATIC_STYLE));
            assert_eq!(live.matches(INTERACTION_HINT).count(), 1);
            assert!(sub.captures(&live).unwrap()[1].ends_with(INTERACTION_HINT));
        }
    }

    #[test]
    fn growth_colors() {
        assert_eq!(growth_color(0, 10), "rgb(221,221,221)");
        assert_eq!(growth_color(10, 10), "rgb(255,40,40)");
        assert_eq!(growth_color(-10, 10), "rgb(40,40,255)");
    }

    #[test]
    fn labels_fit_their_frame_as_inferno_lays_them_out() {
        // 1200 px: 7.08 px per character, so 1% (12 px) fits one.
        assert_eq!(label("main.main", 100.0, 1200), "main.main");
        assert_eq!(label("main.main", 1.0, 1200), "");
        // Too long: the end of a Go name says most.
        let put = "main.(*profileCache).Put";
        assert_eq!(label(put, 15.0, 1200), put);
        assert_eq!(label(put, 12.0, 1200), "(*profileCache).Put");
        assert_eq!(label(put, 10.0, 1200), "..fileCache).Put");
        assert_eq!(label("encoding/json.Marshal", 12.0, 1200), "json.Marshal");
        assert_eq!(label("ü€日本語", 3.0, 1200), "..日本語");
    }

    #[test]
    fn digits_count_decimal_places() {
        assert_eq!(digits(0), 1);
        assert_eq!(digits(9), 1);
        assert_eq!(digits(10), 2);
        assert_eq!(digits(u32::MAX), 10);
    }

    #[test]
    fn slices_of_samples_draw_their_stacks_and_refuse_foreign_ids() {
        use polars::prelude::*;
        let p = Profile::from_path(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/bundles/mapcache/heap/007.pb.gz"
        ))
        .unwrap();
        let t = crate::tables::Tables::from_profile(&p).unwrap();
        let all = t.stacks_of(&t.samples, "inuse_space").unwrap();
        let total: i64 = all.stacks.iter().map(|s| s.1).sum();
        let i = p.sample_index(Some("inuse_space")).unwrap();
        let expected: i64 = p.samples.iter().map(|s| s.values[i]).sum();
        assert_eq!(
            total, expected,
            "every sample's inuse_space, summed per stack"
        );
        assert_eq!(&*all.sample_type.unit, "bytes");
        let held = t
            .samples
            .column("inuse_space")
            .unwrap()
            .i64()
            .unwrap()
            .gt(0);
        let one = t.samples.filter(&held).unwrap().head(Some(1));
        let g = t.flame(&one, "inuse_space").unwrap();
        assert!(g.svg().contains("<svg"));
        let foreign = df!("stack_id" => [u32::MAX - 1], "inuse_space" => [5i64]).unwrap();
        let e = t
            .stacks_of(&foreign, "inuse_space")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a stack of these tables"), "{e}");
        let e = t.stacks_of(&t.samples, "nope").unwrap_err().to_string();
        assert!(e.contains("no column \"nope\""), "{e}");
        let e = t.stacks_of(&t.samples, "leaf").unwrap_err().to_string();
        assert!(e.contains("needs integer values"), "{e}");
    }
}
