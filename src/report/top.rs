//! `top`: flat and cumulative values per node, as `go tool pprof -top`.
//!
//! The steps are pprof's (`internal/driver`, `internal/report`,
//! `internal/graph`):
//! 1. prune `drop_frames`, then take the report total (sum of |value| over
//!    all samples, or over the base samples of a `-diff_base` comparison)
//!    *before* any filter, so filtered reports keep the full denominator;
//! 2. apply `focus`/`ignore`/`hide`/`show`;
//! 3. aggregate frames into nodes at the chosen granularity (functions by
//!    default; inlined frames are nodes of their own, reached by "inline"
//!    edges);
//! 4. build the graph: flat goes to the innermost kept frame of a sample,
//!    cum to every distinct node of the stack once (recursion counts once);
//! 5. drop nodes whose |cum| is below `node_fraction` of the graph's flat
//!    sum and rebuild, sort (|flat| or |cum| descending, then by name), keep
//!    the top `node_count` and rebuild again;
//! 6. tag a node `(inline)` when all its incoming edges that survive the
//!    `edge_fraction` cutoff are inline calls, `(partial-inline)` when some are;
//! 7. choose one output unit for the whole table from the smallest value
//!    shown and the total.

use super::graph::*;
use crate::error::Result;
use crate::escape::terminal;
use crate::profile::{Profile, StackId, Str, ValueType};
use crate::report::compare::is_base_sample;
use crate::report::filter::{FilterMatches, TagFilter, View, compile};
use crate::units::{percentage, scale, scaled_label};

/// Options of a top report. Defaults are `go tool pprof -top`'s.
#[derive(Debug, Clone)]
pub struct TopOptions {
    /// Sample type by name or position; `None` for the profile's default.
    pub sample_index: Option<String>,
    /// Node granularity.
    pub granularity: Granularity,
    /// Attribute inlined frames to the function they were inlined into.
    pub noinlines: bool,
    /// Show at most this many nodes; 0 for all.
    pub node_count: usize,
    /// Sort by cumulative instead of flat value.
    pub cum: bool,
    /// Only samples with a frame matching this regexp.
    pub focus: Option<String>,
    /// Drop samples with a frame matching this regexp.
    pub ignore: Option<String>,
    /// Remove frames matching this regexp.
    pub hide: Option<String>,
    /// Keep only frames matching this regexp.
    pub show: Option<String>,
    /// Drop the frames above (callers of) the outermost frame matching
    /// this regexp; samples without one are dropped (`-show_from`).
    pub show_from: Option<String>,
    /// Only samples whose labels match (`-tagfocus`: `[KEY=]REGEX,...` or
    /// a numeric range with units such as `bytes=1mb:`).
    pub tag_focus: Option<String>,
    /// Drop samples whose labels match (`-tagignore`, as `tag_focus`).
    pub tag_ignore: Option<String>,
    /// Label keys to show (`-tagshow`): no effect on the table, named
    /// among the active filters as pprof does.
    pub tag_show: Option<String>,
    /// Label keys to hide (`-taghide`), likewise.
    pub tag_hide: Option<String>,
    /// Drop the frames below (callees of) the innermost frame matching
    /// this regexp (`-prune_from`).
    pub prune_from: Option<String>,
    /// Drop nodes whose |cum| is below this fraction of the total (0.005).
    pub node_fraction: f64,
    /// Ignore call edges below this fraction of the total (0.001).
    pub edge_fraction: f64,
}

impl Default for TopOptions {
    fn default() -> Self {
        TopOptions {
            sample_index: None,
            granularity: Granularity::Functions,
            noinlines: false,
            node_count: 0,
            cum: false,
            focus: None,
            ignore: None,
            hide: None,
            show: None,
            show_from: None,
            tag_focus: None,
            tag_ignore: None,
            tag_show: None,
            tag_hide: None,
            prune_from: None,
            node_fraction: 0.005,
            edge_fraction: 0.001,
        }
    }
}

/// Whether a node was reached through inlined calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlineTag {
    /// Called normally (or a root).
    No,
    /// Every call into it was inlined.
    Inline,
    /// Some calls into it were inlined.
    Partial,
}

impl InlineTag {
    /// pprof's suffix text: "", "(inline)" or "(partial-inline)".
    pub fn as_str(self) -> &'static str {
        match self {
            InlineTag::No => "",
            InlineTag::Inline => "(inline)",
            InlineTag::Partial => "(partial-inline)",
        }
    }
}

/// One row of a top report.
#[derive(Debug, Clone, PartialEq)]
pub struct TopRow {
    /// The name pprof prints (function, `function file:line`, file, ...).
    pub name: String,
    /// Function name ("" at file granularity or without symbols).
    pub function: Str,
    /// Source file ("" at function granularity).
    pub file: Str,
    /// Line number (0 unless at line granularity).
    pub line: i64,
    /// Inline tag.
    pub inline: InlineTag,
    /// Value of samples whose innermost shown frame is this node.
    pub flat: i64,
    /// Value of samples with this node anywhere in the stack.
    pub cum: i64,
}

/// The result of [`top`]: rows plus everything pprof prints around them.
#[derive(Debug, Clone)]
pub struct TopReport {
    /// The sample type shown.
    pub sample_type: ValueType,
    /// Header lines from the profile (`File:`, `Build ID:`, comments,
    /// `Type:`, `Doc:`, `Time:`, `Duration:`).
    pub profile_labels: Vec<String>,
    /// Active filters as `focus=RE` etc.
    pub active_filters: Vec<String>,
    /// The denominator of every percentage: pprof's total, the sum of
    /// absolute values (so a `-base` delta's growth and shrinkage both
    /// count).
    pub total: i64,
    /// The signed sum of the values: a `-base` delta's net change (equal
    /// to `total` when no value is negative).
    pub net: i64,
    /// Rows, in report order.
    pub rows: Vec<TopRow>,
    /// Nodes dropped by the node fraction cutoff.
    pub dropped_nodes: usize,
    /// Nodes left after the cutoff, before `node_count`.
    pub nodes_before_count: usize,
    /// The node fraction used.
    pub node_fraction: f64,
    /// Unit every value is printed in (`MB`, `s`, ...; `count` for counts).
    pub output_unit: String,
    /// Which filters matched anything.
    pub matches: FilterMatches,
}

impl TopReport {
    /// Formats a value in the report's output unit.
    pub fn format_value(&self, v: i64) -> String {
        scaled_label(v, &self.sample_type.unit, &self.output_unit)
    }

    /// Sum of the flat values shown.
    pub fn shown_total(&self) -> i64 {
        self.rows.iter().map(|r| r.flat).sum()
    }

    /// The lines pprof prints above the table.
    pub fn header_lines(&self) -> Vec<String> {
        let mut out = self.profile_labels.clone();
        if !self.active_filters.is_empty() {
            out.push("Active filters:".to_string());
            for f in &self.active_filters {
                let f = if f.len() > 80 {
                    format!("{}…", String::from_utf8_lossy(&f.as_bytes()[..80]))
                } else {
                    f.clone()
                };
                out.push(format!("   {f}"));
            }
        }
        let shown = self.shown_total();
        out.push(format!(
            "Showing nodes accounting for {}, {} of {} total",
            self.format_value(shown),
            percentage(shown, self.total).trim(),
            self.format_value(self.total)
        ));
        if self.total != 0 {
            if self.dropped_nodes > 0 {
                let cut = ((self.total as f64 * self.node_fraction) as i64).abs();
                out.push(format!(
                    "Dropped {} node{} (cum <= {})",
                    self.dropped_nodes,
                    if self.dropped_nodes > 1 { "s" } else { "" },
                    self.format_value(cut)
                ));
            }
            if !self.rows.is_empty() && self.rows.len() < self.nodes_before_count {
                out.push(format!(
                    "Showing top {} nodes out of {}",
                    self.rows.len(),
                    self.nodes_before_count
                ));
            }
        }
        out
    }

    /// The report as `go tool pprof -top` prints it, byte for byte, for
    /// printable names; control characters in names, comments or filters
    /// are printed in their visible form ([`crate::escape::terminal`]).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for l in self.header_lines() {
            s.push_str(&terminal(&l));
            s.push('\n');
        }
        s.push_str(&format!(
            "{:>10} {:>5}% {:>5}% {:>10} {:>5}%\n",
            "flat", "flat", "sum", "cum", "cum"
        ));
        let mut sum = 0i64;
        for r in &self.rows {
            sum += r.flat;
            let inl = match r.inline {
                InlineTag::No => String::new(),
                t => format!(" {}", t.as_str()),
            };
            s.push_str(&format!(
                "{:>10} {} {} {:>10} {}  {}{}\n",
                self.format_value(r.flat),
                percentage(r.flat, self.total),
                percentage(sum, self.total),
                self.format_value(r.cum),
                percentage(r.cum, self.total),
                terminal(&r.name),
                inl
            ));
        }
        s
    }
}

/// Computes a top report of `profile` (which may be the result of
/// [`crate::report::compare::subtract`]).
pub fn top(profile: &Profile, opts: &TopOptions) -> Result<TopReport> {
    let si = profile.sample_index(opts.sample_index.as_deref())?;
    let focus = opts
        .focus
        .as_deref()
        .map(|r| compile("focus", r))
        .transpose()?;
    let ignore = opts
        .ignore
        .as_deref()
        .map(|r| compile("ignore", r))
        .transpose()?;
    let hide = opts
        .hide
        .as_deref()
        .map(|r| compile("hide", r))
        .transpose()?;
    let show = opts
        .show
        .as_deref()
        .map(|r| compile("show", r))
        .transpose()?;
    let regex = |name: &str, v: &Option<String>| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|r| compile(name, r))
            .transpose()
    };
    let show_from = regex("show_from", &opts.show_from)?;
    let prune_from = regex("prune_from", &opts.prune_from)?;
    // Compiled to be checked; they change which labels a listing shows,
    // not the table.
    regex("tagshow", &opts.tag_show)?;
    regex("taghide", &opts.tag_hide)?;
    let tag = |name: &str, v: &Option<String>| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|f| TagFilter::compile(name, f))
            .transpose()
    };
    let tag_focus = tag("tagfocus", &opts.tag_focus)?;
    let tag_ignore = tag("tagignore", &opts.tag_ignore)?;

    let mut view = View::new(profile);
    view.remove_uninteresting()?;

    // The total is taken before filtering.
    let (mut total, mut diff_total, mut net) = (0i64, 0i64, 0i64);
    for s in &view.samples {
        let sm = profile.samples.get(s.index);
        net = net.wrapping_add(sm.values[si]);
        let v = sm.values[si].wrapping_abs();
        total = total.wrapping_add(v);
        if is_base_sample(&sm) {
            diff_total = diff_total.wrapping_add(v);
        }
    }
    if diff_total > 0 {
        total = diff_total;
    }

    let mut matches = view.filter_by_name(
        focus.as_ref(),
        ignore.as_ref(),
        hide.as_ref(),
        show.as_ref(),
    );
    // pprof's order: names, show_from, labels, prune_from.
    if let Some(re) = &show_from {
        matches.show_from = view.show_from(re);
    }
    (matches.tag_focus, matches.tag_ignore) =
        view.filter_by_tag(tag_focus.as_ref(), tag_ignore.as_ref());
    if let Some(re) = &prune_from {
        view.prune_from(re);
    }
    let mut nodes = NodeTable::build(Frames::of_view(&view), opts.granularity, opts.noinlines);
    let (values, width) = (profile.samples.all_values(), profile.samples.width());
    let stacks: Vec<(StackId, i64)> = view
        .samples
        .iter()
        .filter_map(|s| {
            let w = values[s.index * width + si];
            (w != 0).then_some((s.stack, w))
        })
        .collect();

    let builder = GraphBuilder::new(&nodes, &view.tree, &stacks);
    let g = builder.build(None, false);
    let mut report = finish(profile, opts, si, total, matches, &mut nodes, &builder, g)?;
    report.net = if diff_total > 0 { total } else { net };
    Ok(report)
}

/// Computes the top report of the profile file `data` (gzip or raw), what
/// `heapframe top FILE` runs: [`Profile::from_bytes`], then [`top`].
/// `source` names the input in messages.
///
/// ```
/// use heapframe::report::{top_bytes, TopOptions};
/// let bytes = std::fs::read("tests/data/conformance/profiles/svc.heap.2.pb.gz").unwrap();
/// let r = top_bytes(&bytes, "svc.heap.2.pb.gz", &TopOptions::default()).unwrap();
/// assert_eq!(r.rows[0].name, "bytes.Clone");
/// ```
pub fn top_bytes(data: &[u8], source: &str, opts: &TopOptions) -> Result<TopReport> {
    top(&Profile::from_bytes(data, source)?, opts)
}

/// The steps of [`top`] after the first graph: cutoffs, order, node count,
/// inline tags, units and header lines.
#[allow(clippy::too_many_arguments)]
fn finish(
    profile: &Profile,
    opts: &TopOptions,
    si: usize,
    total: i64,
    matches: FilterMatches,
    nodes: &mut NodeTable,
    builder: &GraphBuilder<'_>,
    g: Graph,
) -> Result<TopReport> {
    let total_value: i64 = g.present.iter().map(|&n| g.flat[n as usize]).sum();
    let node_cutoff = ((total_value as f64 * opts.node_fraction) as i64).abs();
    let edge_cutoff = ((total_value as f64 * opts.edge_fraction) as i64).abs();

    let mut g = g;
    // The node set the current graph was built with (None: all).
    let mut last_kept: Option<Vec<bool>> = None;
    let mut dropped_nodes = 0;
    if node_cutoff > 0 {
        let mut kept = vec![false; nodes.len()];
        let mut n_kept = 0;
        for &n in &g.present {
            if g.cum[n as usize].abs() >= node_cutoff {
                kept[n as usize] = true;
                n_kept += 1;
            }
        }
        if n_kept != g.present.len() {
            dropped_nodes = g.present.len() - n_kept;
            // Restricting the graph to `kept` nodes changes no flat or cum
            // value of a kept node: a sample adds cum to each of its nodes
            // whatever else is in the stack, and flat to its innermost
            // node only if that node is kept. Only the edges change, and
            // they are built below, once.
            g.present.retain(|&n| kept[n as usize]);
            last_kept = Some(kept);
        }
    }
    let nodes_before_count = g.present.len();
    let mut order = std::mem::take(&mut g.present);
    nodes.name_nodes(&order);
    order.sort_by(|&a, &b| nodes.compare(&g, a, b, opts.cum));
    g.present = order;
    if opts.node_count > 0 && opts.node_count < g.present.len() {
        let mut kept = vec![false; nodes.len()];
        for &n in &g.present[..opts.node_count] {
            kept[n as usize] = true;
        }
        // As above: the kept nodes keep their values, and their order.
        g.present.truncate(opts.node_count);
        last_kept = Some(kept);
    }
    // Edges, for the inline tags, with the final node set only.
    if g.present.iter().any(|&n| builder.inline_target[n as usize]) {
        // The samples were all read once already, so this read succeeds.
        g.edges = builder.build(last_kept.as_deref(), true).edges;
    }

    // Inline tags from the incoming edges that survive the edge cutoff
    // (only nodes that are an inlined frame somewhere can have inline ones).
    let mut inline_in = vec![false; nodes.len()];
    let mut normal_in = vec![false; nodes.len()];
    for (&key, e) in &g.edges {
        if e.weight.abs() < edge_cutoff {
            continue;
        }
        let dst = (key & 0xffff_ffff) as usize;
        if e.inline {
            inline_in[dst] = true;
        } else {
            normal_in[dst] = true;
        }
    }

    let rows: Vec<TopRow> = g
        .present
        .iter()
        .map(|&n| {
            let i = n as usize;
            let key = &nodes.keys[i];
            TopRow {
                name: nodes.names[i].clone(),
                function: Str::from(nodes.text(key.name)),
                file: Str::from(nodes.text(key.file)),
                line: key.lineno,
                inline: match (inline_in[i], normal_in[i]) {
                    (true, true) => InlineTag::Partial,
                    (true, false) => InlineTag::Inline,
                    _ => InlineTag::No,
                },
                flat: g.flat[i],
                cum: g.cum[i],
            }
        })
        .collect();

    let sample_type = profile.sample_types[si].clone();
    let output_unit = select_output_unit(&rows, total, &sample_type.unit);
    let mut active_filters = Vec::new();
    for (k, v) in [
        ("focus", &opts.focus),
        ("ignore", &opts.ignore),
        ("hide", &opts.hide),
        ("show", &opts.show),
        ("show_from", &opts.show_from),
        ("tagfocus", &opts.tag_focus),
        ("tagignore", &opts.tag_ignore),
        ("tagshow", &opts.tag_show),
        ("taghide", &opts.tag_hide),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            active_filters.push(format!("{k}={v}"));
        }
    }
    let mut report = TopReport {
        sample_type,
        profile_labels: Vec::new(),
        active_filters,
        total,
        net: total,
        rows,
        dropped_nodes,
        nodes_before_count,
        node_fraction: opts.node_fraction,
        output_unit,
        matches,
    };
    report.profile_labels = profile_labels(profile, &report);
    Ok(report)
}

/// pprof's `selectOutputUnit`: one unit for the table, from the smallest
/// non-zero |flat| (else |cum|) shown and the total.
fn select_output_unit(rows: &[TopRow], total: i64, unit: &str) -> String {
    if rows.is_empty() {
        return "minimum".to_string();
    }
    let mut min = 0i64;
    for r in rows {
        let mut v = r.flat.abs();
        if v == 0 {
            v = r.cum.abs();
        }
        if v > 0 && (min == 0 || v < min) {
            min = v;
        }
    }
    let max = total;
    if min == 0 {
        min = max;
    }
    let (_, min_unit) = scale(min, unit, "minimum");
    let (_, max_unit) = scale(max, unit, "minimum");
    let mut u = min_unit.clone();
    if min_unit != max_unit && min.wrapping_mul(100) < max {
        u = scale(min.wrapping_mul(100), unit, "minimum").1;
    }
    if u.is_empty() { unit.to_string() } else { u }
}

/// pprof's `ProfileLabels`.
fn profile_labels(p: &Profile, r: &TopReport) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = p.mappings.first() {
        if !m.filename.is_empty() {
            out.push(format!("File: {}", go_base(&m.filename)));
        }
        if !m.build_id.is_empty() {
            out.push(format!("Build ID: {}", m.build_id));
        }
    }
    for c in &p.comments {
        if !c.starts_with('#') {
            out.push(c.to_string());
        }
    }
    if !r.sample_type.name.is_empty() {
        out.push(format!("Type: {}", r.sample_type.name));
    }
    if !p.doc_url.is_empty() {
        out.push(format!("Doc: {}", p.doc_url));
    }
    if p.time_nanos != 0 {
        out.push(format!(
            "Time: {}",
            crate::units::format_time_utc(p.time_nanos)
        ));
    }
    if p.duration_nanos != 0 {
        let duration = crate::units::label(p.duration_nanos, "nanoseconds");
        let (total_ns, total_unit) = scale(r.total, &r.sample_type.unit, "nanoseconds");
        let ratio = if total_unit == "ns" && total_ns != 0.0 {
            format!("({})", percentage(total_ns as i64, p.duration_nanos))
        } else {
            String::new()
        };
        out.push(format!(
            "Duration: {duration}, Total samples = {} {ratio}",
            r.format_value(r.total)
        ));
    }
    out
}

#[cfg(feature = "tables")]
impl TopReport {
    /// The rows as a DataFrame: `name`, `function`, `file`, `line`,
    /// `inline` ("", "inline" or "partial-inline"), `flat`, `flat_pct`,
    /// `sum_pct`, `cum`, `cum_pct`. Values are raw (in the sample type's
    /// unit); percentages are of [`TopReport::total`] as in the text.
    pub fn to_dataframe(&self) -> Result<polars::prelude::DataFrame> {
        use polars::prelude::*;
        let pct = |v: i64| {
            if self.total == 0 {
                0.0
            } else {
                (v as f64 / self.total as f64 * 100.0).abs()
            }
        };
        let mut sum = 0i64;
        let mut sum_pct = Vec::with_capacity(self.rows.len());
        for r in &self.rows {
            sum += r.flat;
            sum_pct.push(pct(sum));
        }
        let col_str = |name: &str, values: Vec<&str>| Column::new(name.into(), values);
        let inline = |r: &TopRow| -> &'static str {
            match r.inline {
                InlineTag::No => "",
                InlineTag::Inline => "inline",
                InlineTag::Partial => "partial-inline",
            }
        };
        DataFrame::new(
            self.rows.len(),
            vec![
                col_str("name", self.rows.iter().map(|r| r.name.as_str()).collect()),
                col_str("function", self.rows.iter().map(|r| &*r.function).collect()),
                col_str("file", self.rows.iter().map(|r| &*r.file).collect()),
                Column::new(
                    "line".into(),
                    self.rows.iter().map(|r| r.line).collect::<Vec<_>>(),
                ),
                col_str("inline", self.rows.iter().map(inline).collect()),
                Column::new(
                    "flat".into(),
                    self.rows.iter().map(|r| r.flat).collect::<Vec<_>>(),
                ),
                Column::new(
                    "flat_pct".into(),
                    self.rows.iter().map(|r| pct(r.flat)).collect::<Vec<_>>(),
                ),
                Column::new("sum_pct".into(), sum_pct),
                Column::new(
                    "cum".into(),
                    self.rows.iter().map(|r| r.cum).collect::<Vec<_>>(),
                ),
                Column::new(
                    "cum_pct".into(),
                    self.rows.iter().map(|r| pct(r.cum)).collect::<Vec<_>>(),
                ),
            ],
        )
        .map_err(|e| crate::error::Error::Output(format!("building the top table failed: {e}")))
    }
}
