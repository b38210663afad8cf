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
//! inferno draws the SVG (layout, text, zoom/search script); heapframe then
//! sets each frame's tooltip and, for differential graphs, its colour, by
//! matching each drawn rectangle to its node of the call tree.
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
use std::path::Path;

use inferno::flamegraph::{self, Direction, color};

use crate::error::{Error, Result};
use crate::profile::{Profile, Str, ValueType};
use crate::units::thousands;
use crate::views::html::escape_html;
use crate::views::notebook::{NotebookDisplay, print_evcxr};

/// Frame height in pixels.
const FRAME_HEIGHT: usize = 16;

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
    /// value ≤ 0 are left out.
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
    /// Image width in pixels (`None`: 1200).
    pub width: Option<usize>,
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
}

impl FlameGraph {
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

    /// Writes the SVG to `path` (atomically).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
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
        // inferno's script records zoom and search in the URL; a data: or
        // sandboxed document may not change its URL, so that step is made
        // best-effort (zoom and search themselves do not depend on it).
        const SHIM: &str = "(function(){var r=history.replaceState;history.replaceState=function(){try{return r.apply(history,arguments)}catch(e){}}})();\n";
        let svg = match self.svg.find("<![CDATA[") {
            Some(i) => {
                let at = i + "<![CDATA[".len();
                format!("{}{SHIM}{}", &self.svg[..at], &self.svg[at..])
            }
            None => self.svg.clone(),
        };
        InteractiveFlame {
            html: format!(
                "<iframe class=\"hf-flame\" title=\"{}\" sandbox=\"allow-scripts allow-modals\" style=\"width:100%;height:{}px;border:0\" src=\"data:image/svg+xml;base64,{}\"></iframe>",
                escape_html(&self.title),
                self.height + 8,
                base64(svg.as_bytes())
            ),
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
    flame_stacks(
        &Stacks::from_profile(p, opts.sample_index.as_deref())?,
        opts,
    )
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

/// [`diff_flame`] with options.
pub fn diff_flame_with(
    before: &Profile,
    after: &Profile,
    opts: &FlameOptions,
) -> Result<FlameGraph> {
    let a = Stacks::from_profile(after, opts.sample_index.as_deref())?;
    let name = a.sample_type.name.to_string();
    let b = Stacks::from_profile(before, Some(&name)).map_err(|_| {
        Error::Incompatible(format!("{}: has no sample type {name}", before.source))
    })?;
    diff_flame_stacks(&b, &a, opts)
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

/// A node of the merged call tree.
struct Node {
    name: String,
    depth: usize,
    children: Vec<usize>,
    self_before: i64,
    self_after: i64,
    cum_before: i64,
    cum_after: i64,
}

/// The call tree of one or two stack sets; node 0 is the root (`all`).
struct Tree {
    nodes: Vec<Node>,
}

/// inferno splits frames on `;` and lines on newlines: such characters in a
/// name become `:` and a space.
fn frame_name(s: &str) -> Cow<'_, str> {
    if s.is_empty() {
        Cow::Borrowed("?")
    } else if s.contains([';', '\n', '\r']) {
        Cow::Owned(s.replace(';', ":").replace(['\n', '\r'], " "))
    } else {
        Cow::Borrowed(s)
    }
}

impl Tree {
    fn new() -> Tree {
        Tree {
            nodes: vec![Node {
                name: String::new(),
                depth: 0,
                children: Vec::new(),
                self_before: 0,
                self_after: 0,
                cum_before: 0,
                cum_after: 0,
            }],
        }
    }

    fn add<'a>(
        &mut self,
        index: &mut HashMap<(usize, Cow<'a, str>), usize>,
        s: &'a Stacks,
        after: bool,
    ) {
        for (frames, v) in s.stacks.iter().filter(|(_, v)| *v > 0) {
            let mut cur = 0;
            self.bump(0, *v, after, false);
            for f in frames {
                let key = (cur, frame_name(f));
                let next = match index.get(&key) {
                    Some(&n) => n,
                    None => {
                        let n = self.nodes.len();
                        self.nodes.push(Node {
                            name: key.1.to_string(),
                            depth: self.nodes[cur].depth + 1,
                            children: Vec::new(),
                            self_before: 0,
                            self_after: 0,
                            cum_before: 0,
                            cum_after: 0,
                        });
                        self.nodes[cur].children.push(n);
                        index.insert(key, n);
                        n
                    }
                };
                self.bump(next, *v, after, false);
                cur = next;
            }
            self.bump(cur, *v, after, true);
        }
    }

    fn bump(&mut self, n: usize, v: i64, after: bool, own: bool) {
        let node = &mut self.nodes[n];
        match (after, own) {
            (true, false) => node.cum_after += v,
            (false, false) => node.cum_before += v,
            (true, true) => node.self_after += v,
            (false, true) => node.self_before += v,
        }
    }

    /// Folded lines in depth-first order (children by name) with each
    /// path's own width, and every node's `(depth, start)` in that layout.
    fn fold(&mut self, width: impl Fn(&Node) -> i64) -> (String, HashMap<(usize, i64), usize>) {
        for n in 0..self.nodes.len() {
            let mut ch = std::mem::take(&mut self.nodes[n].children);
            ch.sort_by(|&a, &b| self.nodes[a].name.cmp(&self.nodes[b].name));
            self.nodes[n].children = ch;
        }
        let mut out = String::new();
        let mut at = HashMap::new();
        let mut path: Vec<usize> = Vec::new();
        let mut x = 0i64;
        // (node, entering?)
        let mut todo = vec![(0usize, true)];
        while let Some((n, enter)) = todo.pop() {
            if !enter {
                path.pop();
                continue;
            }
            at.insert((self.nodes[n].depth, x), n);
            if n != 0 {
                path.push(n);
            }
            let w = width(&self.nodes[n]);
            if w > 0 && n != 0 {
                let names: Vec<&str> = path.iter().map(|&i| self.nodes[i].name.as_str()).collect();
                out.push_str(&names.join(";"));
                out.push(' ');
                out.push_str(&w.to_string());
                out.push('\n');
                x += w;
            }
            if n != 0 {
                todo.push((n, false));
            }
            for &c in self.nodes[n].children.iter().rev() {
                todo.push((c, true));
            }
        }
        (out, at)
    }
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
    // heapframe lays the frames out itself (children by name, a node's own
    // value before its children) and feeds inferno the lines in that order.
    // inferno's unsorted mode still insists on byte order of whole lines,
    // which a tree order cannot always meet (`f;g` sorts after `f.func1`);
    // flame-chart mode takes lines in the order given (it reverses them
    // first, so `draw` hands them over reversed).
    o.flame_chart = true;
    o.frame_height = FRAME_HEIGHT;
    o.image_width = Some(opts.width.unwrap_or(1200));
    o.direction = match opts.layout {
        Layout::Flame => Direction::Straight,
        Layout::Icicle => Direction::Inverted,
    };
    o
}

/// Draws `folded` with inferno and rewrites each frame's tooltip and
/// (when `fill` gives one) colour; `at` maps `(depth, start)` to the
/// call-tree node drawn there.
fn draw(
    mut o: flamegraph::Options<'_>,
    folded: &str,
    at: &HashMap<(usize, i64), usize>,
    layout: Layout,
    tooltip: &dyn Fn(usize) -> String,
    fill: &dyn Fn(usize) -> Option<String>,
) -> Result<FlameGraph> {
    let title = o.title.clone();
    let mut svg = Vec::new();
    flamegraph::from_lines(&mut o, folded.lines().rev(), &mut svg)
        .map_err(|e| Error::Output(format!("drawing the flame graph failed: {e}")))?;
    let svg = String::from_utf8(svg)
        .map_err(|e| Error::Output(format!("the flame graph is not UTF-8: {e}")))?;
    let height = regex::Regex::new(r#"<svg [^>]*height="(\d+)""#)
        .expect("valid pattern")
        .captures(&svg)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or(0);
    let frame = regex::Regex::new(
        r#"<g><title>[^<]*</title><rect x="([^"]*)" y="(\d+)" width="([^"]*)" height="(\d+)" fill="[^"]*" fg:x="(\d+)" fg:w="(\d+)"/>"#,
    )
    .expect("valid pattern");
    // The root frame (inferno's `all`) fixes depth 0's y.
    let root_y: i64 = frame
        .captures_iter(&svg)
        .find(|c| c[0].starts_with("<g><title>all (") && &c[5] == "0")
        .and_then(|c| c[2].parse().ok())
        .ok_or_else(|| Error::Output("the flame graph has no root frame".into()))?;
    let mut missing = None;
    let svg = frame.replace_all(&svg, |c: &regex::Captures| {
        let y: i64 = c[2].parse().unwrap_or(0);
        let x: i64 = c[5].parse().unwrap_or(0);
        let dy = match layout {
            Layout::Flame => root_y - y,
            Layout::Icicle => y - root_y,
        };
        let depth = (dy / FRAME_HEIGHT as i64) as usize;
        match at.get(&(depth, x)) {
            Some(&n) => {
                let f = fill(n).unwrap_or_else(|| {
                    let m = c.get(0).expect("whole match").as_str();
                    let i = m.find("fill=\"").expect("fill") + 6;
                    m[i..i + m[i..].find('"').expect("quote")].to_string()
                });
                format!(
                    r#"<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="{}" fg:x="{}" fg:w="{}"/>"#,
                    escape_html(&tooltip(n)),
                    &c[1],
                    &c[2],
                    &c[3],
                    &c[4],
                    f,
                    &c[5],
                    &c[6]
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
    Ok(FlameGraph {
        svg: svg.into_owned(),
        title,
        height,
    })
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
    let t = &stacks.sample_type;
    let mut tree = Tree::new();
    tree.add(&mut HashMap::new(), stacks, true);
    let total = tree.nodes[0].cum_after;
    if total <= 0 {
        return Err(Error::Output(format!(
            "{}: no positive {} values to draw",
            stacks.source, t.name
        )));
    }
    let (folded, at) = tree.fold(|n| n.self_after);
    let title = opts.title.clone().unwrap_or_else(|| {
        format!(
            "{} of {}: {} ({})",
            match opts.layout {
                Layout::Flame => "Flame graph",
                Layout::Icicle => "Icicle graph",
            },
            t.name,
            format_value(total, t),
            file_name(&stacks.source)
        )
    });
    let subtitle = format!(
        "width: {} including callees; {} stacks; click to zoom, Ctrl-F to search",
        count_name(t),
        thousands(stacks.stacks.len() as i64)
    );
    let nodes = &tree.nodes;
    let tooltip = |n: usize| {
        let node = &nodes[n];
        let name = if n == 0 { "all" } else { node.name.as_str() };
        format!(
            "{name} ({}, {:.2}%)",
            format_value(node.cum_after, t),
            100.0 * node.cum_after as f64 / total as f64
        )
    };
    draw(
        inferno_options(&title, &subtitle, t, opts),
        &folded,
        &at,
        opts.layout,
        &tooltip,
        &|_| None,
    )
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
    let t = &after.sample_type;
    if before.sample_type.name != t.name {
        return Err(Error::Incompatible(format!(
            "{} measures {} but {} measures {}",
            before.source, before.sample_type.name, after.source, t.name
        )));
    }
    let mut tree = Tree::new();
    let mut index = HashMap::new();
    tree.add(&mut index, before, false);
    tree.add(&mut index, after, true);
    if tree.nodes[0].cum_after.max(tree.nodes[0].cum_before) <= 0 {
        return Err(Error::Output(format!(
            "{} and {}: no positive {} values to draw",
            before.source, after.source, t.name
        )));
    }
    let (folded, at) = tree.fold(|n| n.self_after.max(n.self_before));
    let nodes = &tree.nodes;
    let growth = |n: &Node| n.cum_after - n.cum_before;
    let scale = nodes
        .iter()
        .skip(1)
        .map(|n| growth(n).abs())
        .max()
        .unwrap_or(0);
    let (mut vanished, mut vanished_v) = (0usize, 0i64);
    for n in nodes.iter().skip(1) {
        if n.cum_after == 0 && n.cum_before > 0 && n.self_before > 0 {
            vanished += 1;
            vanished_v += n.self_before;
        }
    }
    let root = &nodes[0];
    let title = opts.title.clone().unwrap_or_else(|| {
        let g = growth(root);
        if is_count(t) {
            format!(
                "Growth of {}: {} → {} {} ({}{})",
                t.name,
                thousands(root.cum_before),
                thousands(root.cum_after),
                count_name(t),
                if g > 0 { "+" } else { "" },
                thousands(g)
            )
        } else {
            format!(
                "Growth of {}: {} → {} ({})",
                t.name,
                format_value(root.cum_before, t),
                format_value(root.cum_after, t),
                signed(g, t),
            )
        }
    });
    let subtitle = format!(
        "{} → {}; colour: growth of the subtree (red grows, blue shrinks); width: larger of before/after; {} vanished path{} ({}) in blue",
        file_name(&before.source),
        file_name(&after.source),
        vanished,
        if vanished == 1 { "" } else { "s" },
        format_value(vanished_v, t)
    );
    let tooltip = |i: usize| {
        let n = &nodes[i];
        let name = if i == 0 { "all" } else { n.name.as_str() };
        let state = if n.cum_after == 0 && n.cum_before > 0 {
            "vanished: "
        } else if n.cum_before == 0 && n.cum_after > 0 {
            "new: "
        } else {
            ""
        };
        format!(
            "{name} ({state}before {}, after {}, growth {}, own growth {})",
            format_value(n.cum_before, t),
            format_value(n.cum_after, t),
            signed(growth(n), t),
            signed(n.self_after - n.self_before, t)
        )
    };
    let fill = |i: usize| Some(growth_color(growth(&nodes[i]), scale));
    let mut o = inferno_options(&title, &subtitle, t, opts);
    o.bgcolors = Some(color::BackgroundColor::Grey);
    draw(o, &folded, &at, opts.layout, &tooltip, &fill)
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
    fn growth_colors() {
        assert_eq!(growth_color(0, 10), "rgb(221,221,221)");
        assert_eq!(growth_color(10, 10), "rgb(255,40,40)");
        assert_eq!(growth_color(-10, 10), "rgb(40,40,255)");
    }
}
