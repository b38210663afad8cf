//! Charts of the evidence, drawn by plotters as SVG.
//!
//! - [`metrics_plot`]: RSS, heap in use, heap objects and goroutines over
//!   time, with the scrapes at which a GC cycle had run marked;
//! - [`growth_plot`]: the top owners of a [`GrowthTable`] across snapshots;
//! - [`growth_bars`]: growth per key (e.g. per allocation kind) as bars;
//! - [`before_after_plot`]: the same metrics before and after a fix, from
//!   the start of each capture, for regression validation.
//!
//! Only plotters' SVG backend is used and no font library: text is written
//! as SVG `<text>` and laid out by whatever shows the SVG (plotters
//! estimates label sizes itself). Byte axes use pprof's units (`kB`, `MB`),
//! time axes the wall clock (UTC) or minutes from the start.
//!
//! ```
//! use heapframe::{evidence::Bundle, views::plot};
//! let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
//! let chart = plot::metrics_plot(&b.metrics)?;
//! assert!(chart.svg().contains("heap in use"));
//! # Ok::<(), heapframe::Error>(())
//! ```

use crate::units::clock_utc as clock;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};
use crate::evidence::Bundle;
use crate::evidence::metrics::{MetricSeries, names};
use crate::evidence::timeline::{Event, EventKind};
use crate::evidence::verdict::Trend;
use crate::growth::GrowthTable;
use crate::units::scaled_label;
use crate::views::html::xml_safe;
use crate::views::notebook::{NotebookDisplay, print_evcxr};

/// A drawn chart: an SVG document.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    svg: String,
    title: String,
}

impl Plot {
    /// The SVG document.
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// The chart's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Writes the SVG to `path` (atomically); a path inside a bundle's
    /// evidence folders is refused
    /// ([`check_output_path`](crate::evidence::bundle::check_output_path)).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::evidence::bundle::check_output_path(path.as_ref(), &[])?;
        crate::files::replace_file(path.as_ref(), self.svg.as_bytes())
    }
}

impl Plot {
    /// Shows the chart in evcxr as an SVG image (also without the prelude
    /// in scope).
    pub fn evcxr_display(&self) {
        print_evcxr(&[
            ("text/plain", &self.to_plain_text()),
            (
                "image/svg+xml",
                &crate::views::notebook::fit_width(&self.svg),
            ),
        ]);
    }
}

impl NotebookDisplay for Plot {
    /// The SVG, inline (it has no script and no ids, so several charts can
    /// share a page).
    fn to_html(&self) -> String {
        format!("<div class=\"hf-plot\">{}</div>", self.svg)
    }
    fn to_plain_text(&self) -> String {
        format!("chart: {}", self.title)
    }
    /// Shows the chart as an SVG image.
    fn evcxr_display(&self) {
        Plot::evcxr_display(self)
    }
}

pub(crate) fn draw_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Output(format!("drawing a chart failed: {e:?}"))
}

/// Line colours, distinguishable and readable on white.
pub(crate) const COLORS: [RGBColor; 8] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];
const GC_COLOR: RGBColor = RGBColor(170, 170, 170);
/// Snapshot markers.
const SNAPSHOT_COLOR: RGBColor = RGBColor(90, 90, 90);
/// Floors after GC and their fit.
const FLOOR_COLOR: RGBColor = RGBColor(214, 39, 40);
pub(crate) const FONT: &str = "sans-serif";

/// A compact count: `950`, `12.3k`, `4.56M`.
pub fn short_count(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        return format!("{}", v.round());
    };
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{suffix}")
}

/// What the values of an axis measure.
#[derive(Clone, Copy)]
pub(crate) enum Unit {
    Bytes,
    Count,
}

impl Unit {
    pub(crate) fn of(unit: &str) -> Unit {
        if unit == "bytes" {
            Unit::Bytes
        } else {
            Unit::Count
        }
    }

    /// The axis for values up to `max_abs`: the factor values are divided
    /// by before plotting (so that ticks fall on round numbers of the
    /// unit: 2MB, 4MB, not 1.91MB) and the unit printed after them.
    pub(crate) fn axis(self, max_abs: f64) -> Axis {
        match self {
            Unit::Count => Axis {
                factor: 1.0,
                suffix: None,
            },
            Unit::Bytes => {
                let (factor, suffix) = [
                    (1u64 << 40, "TB"),
                    (1 << 30, "GB"),
                    (1 << 20, "MB"),
                    (1 << 10, "kB"),
                ]
                .into_iter()
                .find(|&(f, _)| max_abs >= f as f64)
                .unwrap_or((1, "B"));
                Axis {
                    factor: factor as f64,
                    suffix: Some(suffix),
                }
            }
        }
    }
}

/// A value for people: `1.5MB`, `12.3k`.
pub(crate) fn value_label(unit: Unit, v: i64) -> String {
    match unit {
        Unit::Bytes => scaled_label(v, "bytes", "auto"),
        Unit::Count => short_count(v as f64),
    }
}

/// A scaled axis (see [`Unit::axis`]).
#[derive(Clone, Copy)]
pub(crate) struct Axis {
    pub(crate) factor: f64,
    /// `Some(unit)` for bytes; counts print compactly (`12.3k`).
    suffix: Option<&'static str>,
}

impl Axis {
    /// A tick label for the scaled value `v`.
    pub(crate) fn label(self, v: f64) -> String {
        match self.suffix {
            None => short_count(v),
            Some(u) => {
                let s = format!("{v:.2}");
                let s = s.trim_end_matches('0').trim_end_matches('.');
                if s == "0" || s == "-0" {
                    "0".into()
                } else {
                    format!("{s}{u}")
                }
            }
        }
    }
}

/// A y range from `lo` to `hi` with some headroom (never empty). Its
/// bounds and its width are finite whatever the (finite) values: plotters
/// looks for round ticks without end in an infinite range, so values
/// beyond a quarter of the largest `f64` are drawn clipped.
fn y_range(lo: f64, hi: f64, from_zero: bool) -> std::ops::Range<f64> {
    const LIMIT: f64 = f64::MAX / 4.0;
    let (lo, hi) = (lo.clamp(-LIMIT, LIMIT), hi.clamp(-LIMIT, LIMIT));
    let lo = if from_zero { lo.min(0.0) } else { lo };
    let span = (hi - lo).abs().max(hi.abs() * 0.05).max(1.0);
    let lo = if from_zero && lo >= 0.0 {
        0.0
    } else {
        lo - span * 0.05
    };
    lo..hi + span * 0.08
}

pub(crate) struct Line<'a> {
    pub(crate) label: &'a str,
    pub(crate) points: Vec<(f64, f64)>,
    pub(crate) color: RGBColor,
    pub(crate) stroke: Stroke,
}

/// How a line is drawn.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Stroke {
    /// A line, with a dot per point when there are few.
    Solid,
    /// A dashed line (a fit).
    Dashed,
    /// Large dots only (floors after GC).
    Dots,
}

pub(crate) struct Panel<'a> {
    pub(crate) title: String,
    pub(crate) unit: Unit,
    pub(crate) x_desc: &'a str,
    pub(crate) x_label: &'a dyn Fn(f64) -> String,
    pub(crate) lines: Vec<Line<'a>>,
    /// x positions to mark with a thin vertical line.
    pub(crate) marks: &'a [f64],
    pub(crate) marks_label: &'a str,
    pub(crate) legend: bool,
    /// Events: x position, label, colour (a dashed vertical line each).
    pub(crate) events: &'a [(f64, String, RGBColor)],
    /// Snapshots: x position, colour and size (a triangle on the top
    /// edge each; a smaller one drawn later stays visible inside a larger).
    pub(crate) snapshots: &'a [(f64, RGBColor, u32)],
    /// The legend's name for the snapshot triangles.
    pub(crate) snapshots_label: &'a str,
}

/// Height of the legend line under a panel.
const LEGEND_HEIGHT: u32 = 26;

/// Draws a panel; its legend (when asked for) goes on a line under the
/// plot area, so that it never covers data.
pub(crate) fn draw_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, p: &Panel<'_>) -> Result<()> {
    if !p.legend {
        return draw_plot(area, p);
    }
    let (_, h) = area.dim_in_pixel();
    let (plot_area, legend_area) = area.split_vertically(h.saturating_sub(LEGEND_HEIGHT));
    draw_plot(&plot_area, p)?;
    let mut entries: Vec<(Swatch, &str, RGBColor)> = Vec::new();
    if !p.marks.is_empty() {
        entries.push((Swatch::Tick, p.marks_label, GC_COLOR));
    }
    if let Some(&(_, color, _)) = p.snapshots.first() {
        entries.push((Swatch::Triangle, p.snapshots_label, color));
    }
    // One line is named by the panel's title already.
    let solid = p.lines.iter().filter(|l| l.stroke == Stroke::Solid).count();
    for l in &p.lines {
        if !l.label.is_empty() && (l.stroke != Stroke::Solid || solid > 1) {
            let swatch = match l.stroke {
                Stroke::Solid => Swatch::Line,
                Stroke::Dashed => Swatch::Dashed,
                Stroke::Dots => Swatch::Dot,
            };
            entries.push((swatch, l.label, l.color));
        }
    }
    draw_legend_line(&legend_area, &entries)
}

/// A legend on one line: per entry a swatch (a line, or for marks a short
/// tick) and its label, left to right; labels cut to what fits, keeping
/// their end.
/// What a legend entry's sample looks like.
#[derive(Clone, Copy, PartialEq)]
enum Swatch {
    Line,
    Dashed,
    Dot,
    Tick,
    Triangle,
}

fn draw_legend_line(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    entries: &[(Swatch, &str, RGBColor)],
) -> Result<()> {
    const CHAR_PX: i32 = 8;
    let (w, _) = area.dim_in_pixel();
    let width = w as i32;
    let mut x = 88;
    let y = 12;
    // Whole labels when they all fit; else each gets an equal share of
    // what is left.
    let whole: i32 = entries
        .iter()
        .map(|(_, l, _)| 46 + CHAR_PX * l.chars().count() as i32)
        .sum();
    let fits = x + whole <= width;
    for (i, (swatch, label, color)) in entries.iter().enumerate() {
        let left = entries.len() - i;
        let room = (width - x - 34) / CHAR_PX;
        if room < 6 {
            area.draw(&Text::new(
                format!("+{left} more"),
                (x, y - 7),
                (FONT, 14).into_font().color(&RGBColor(90, 90, 90)),
            ))
            .map_err(draw_err)?;
            break;
        }
        match swatch {
            Swatch::Tick => area
                .draw(&PathElement::new(
                    vec![(x + 9, y - 6), (x + 9, y + 6)],
                    color.stroke_width(2),
                ))
                .map_err(draw_err)?,
            Swatch::Line => area
                .draw(&PathElement::new(
                    vec![(x, y), (x + 18, y)],
                    color.stroke_width(3),
                ))
                .map_err(draw_err)?,
            Swatch::Dashed => {
                for k in [0, 8, 16] {
                    area.draw(&PathElement::new(
                        vec![(x + k, y), (x + k + 4, y)],
                        color.stroke_width(2),
                    ))
                    .map_err(draw_err)?;
                }
            }
            Swatch::Dot => area
                .draw(&Circle::new((x + 9, y), 5, color.filled()))
                .map_err(draw_err)?,
            Swatch::Triangle => area
                .draw(&TriangleMarker::new((x + 9, y), 6, color.filled()))
                .map_err(draw_err)?,
        }
        // Long labels share the line with the others.
        let share = if fits {
            room
        } else {
            ((room - 6 * (left as i32 - 1)) / left as i32).max(12)
        };
        let text = tail(label, share.min(room) as usize);
        area.draw(&Text::new(
            text.clone(),
            (x + 24, y - 8),
            (FONT, 15).into_font(),
        ))
        .map_err(draw_err)?;
        x += 24 + CHAR_PX * text.chars().count() as i32 + 22;
    }
    Ok(())
}

fn draw_plot(area: &DrawingArea<SVGBackend<'_>, Shift>, p: &Panel<'_>) -> Result<()> {
    let max_abs = p
        .lines
        .iter()
        .flat_map(|l| l.points.iter())
        .fold(0.0f64, |m, &(_, y)| m.max(y.abs()));
    let axis = p.unit.axis(max_abs);
    let lines: Vec<Vec<(f64, f64)>> = p
        .lines
        .iter()
        .map(|l| {
            l.points
                .iter()
                .map(|&(x, y)| (x, y / axis.factor))
                .collect()
        })
        .collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in lines.iter().flatten() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let mut chart = ChartBuilder::on(area);
    chart
        .caption(&p.title, (FONT, 21))
        .margin(8)
        .margin_right(30)
        .x_label_area_size(36)
        .y_label_area_size(80);
    if x0 > x1 {
        area.draw(&Text::new(
            format!("{}: no data", p.title),
            (20, 30),
            (FONT, 16).into_font(),
        ))
        .map_err(draw_err)?;
        return Ok(());
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let mut chart = chart
        .build_cartesian_2d(x0..x1, y_range(y0, y1, true))
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|x| (p.x_label)(*x))
        .y_label_formatter(&|y| axis.label(*y))
        .x_desc(p.x_desc)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 15))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(draw_err)?;
    let (ylo, yhi) = {
        let r = chart.y_range();
        (r.start, r.end)
    };
    // Marks (GC cycles) are short ticks on the x axis, not a wall of lines
    // over the data.
    let tick = (yhi - ylo) * 0.05;
    chart
        .draw_series(
            p.marks.iter().map(|&m| {
                PathElement::new(vec![(m, ylo), (m, ylo + tick)], GC_COLOR.stroke_width(2))
            }),
        )
        .map_err(draw_err)?;
    // Snapshots: small triangles hanging from the top edge.
    let (x_lo, x_hi) = (x0, x1);
    let inside = |x: f64| x >= x_lo && x <= x_hi;
    chart
        .draw_series(
            p.snapshots
                .iter()
                .copied()
                .filter(|&(x, _, _)| inside(x))
                .map(|(x, color, size)| TriangleMarker::new((x, yhi), size, color.filled())),
        )
        .map_err(draw_err)?;
    // Events: dashed vertical lines, labelled at the top, staggered so
    // that close events stay readable.
    for (i, (x, label, color)) in p.events.iter().filter(|e| inside(e.0)).enumerate() {
        let steps = 24;
        let dashes = (0..steps).step_by(2).map(|k| {
            let a = ylo + (yhi - ylo) * k as f64 / steps as f64;
            let b = ylo + (yhi - ylo) * (k + 1) as f64 / steps as f64;
            PathElement::new(vec![(*x, a), (*x, b)], color.stroke_width(2))
        });
        chart.draw_series(dashes).map_err(draw_err)?;
        let y = yhi - (yhi - ylo) * (0.06 + 0.07 * (i % 3) as f64);
        // Labels right of the line, else left of it, on the side with
        // more room when neither holds them, cut to stay inside the panel.
        let (px, _) = chart.backend_coord(&(*x, y));
        let (range_x, _) = chart.plotting_area().get_pixel_range();
        let (room_right, room_left) = (range_x.end - px - 6, px - range_x.start - 6);
        const LABEL_CHAR_PX: i32 = 7;
        let needed = LABEL_CHAR_PX * label.chars().count() as i32;
        let left = needed > room_right && room_left > room_right;
        let room = if left { room_left } else { room_right };
        let text = tail_front(label, (room / LABEL_CHAR_PX).max(4) as usize);
        let gap = (x_hi - x_lo) * 0.006;
        let (at, h) = if left {
            (*x - gap, HPos::Right)
        } else {
            (*x + gap, HPos::Left)
        };
        chart
            .draw_series(std::iter::once(Text::new(
                text,
                (at, y),
                (FONT, 13)
                    .into_font()
                    .color(color)
                    .pos(Pos::new(h, VPos::Top)),
            )))
            .map_err(draw_err)?;
    }
    for (l, points) in p.lines.iter().zip(&lines) {
        let color = l.color;
        match l.stroke {
            Stroke::Solid => {
                chart
                    .draw_series(LineSeries::new(
                        points.iter().copied(),
                        color.stroke_width(2),
                    ))
                    .map_err(draw_err)?;
                if points.len() <= 40 {
                    chart
                        .draw_series(
                            points
                                .iter()
                                .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
                        )
                        .map_err(draw_err)?;
                }
            }
            Stroke::Dots => {
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|&(x, y)| Circle::new((x, y), 5, color.filled())),
                    )
                    .map_err(draw_err)?;
            }
            Stroke::Dashed => {
                // Straight segments cut into dashes.
                for w in points.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    let n = 30;
                    chart
                        .draw_series((0..n).step_by(2).map(|k| {
                            let at = |k: usize| {
                                let f = k as f64 / n as f64;
                                (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f)
                            };
                            PathElement::new(vec![at(k), at(k + 1)], color.stroke_width(2))
                        }))
                        .map_err(draw_err)?;
                }
            }
        }
    }
    Ok(())
}

/// The series' legend, in the upper left corner on a light box.
pub(crate) fn draw_legend<'a, 'b: 'a>(
    chart: &mut ChartContext<
        'a,
        SVGBackend<'b>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font((FONT, 15))
        .draw()
        .map_err(draw_err)
}

/// Renders `draw` on a `width`×`height` SVG with a title line on top.
pub(crate) fn render(
    width: u32,
    height: u32,
    title: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<Plot> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let root = root
            .titled(title, (FONT, 26).into_font().style(FontStyle::Bold))
            .map_err(draw_err)?;
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    Ok(Plot {
        // plotters escapes entities but passes control characters through.
        svg: xml_safe(svg),
        title: title.to_string(),
    })
}

/// The metrics a trend chart shows: `(metric, panel title, unit)`.
const TREND_METRICS: [(&str, &str, Unit); 4] = [
    (
        names::RSS,
        "RSS (process_resident_memory_bytes)",
        Unit::Bytes,
    ),
    (
        names::HEAP_INUSE,
        "heap in use (go_memstats_heap_inuse_bytes)",
        Unit::Bytes,
    ),
    (
        names::HEAP_OBJECTS,
        "heap objects (go_memstats_heap_objects)",
        Unit::Count,
    ),
    (names::GOROUTINES, "goroutines (go_goroutines)", Unit::Count),
];

/// Scrape times (Unix ms) at which the GC count had gone up since the
/// previous scrape.
pub fn gc_marks(series: &MetricSeries) -> Vec<i64> {
    series
        .points(names::GC_COUNT)
        .windows(2)
        .filter(|w| w[1].1 > w[0].1)
        .map(|w| w[1].0)
        .collect()
}

/// What a time chart marks beside its data: the timeline's events and the
/// heap snapshots' capture times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marks {
    /// Events (deploys, restarts, the incident, the fix, notes).
    pub events: Vec<Event>,
    /// Capture times of the heap snapshots (Unix milliseconds).
    pub snapshots: Vec<i64>,
}

impl Marks {
    /// The timeline and the heap snapshots of `bundle`.
    pub fn of(bundle: &Bundle) -> Result<Marks> {
        Ok(Marks {
            events: bundle.timeline()?,
            snapshots: bundle.heap.iter().map(|s| s.time_ms).collect(),
        })
    }
}

/// The colour of an event's line.
fn event_color(k: EventKind) -> RGBColor {
    match k {
        EventKind::Deploy => RGBColor(31, 95, 168),
        EventKind::Restart => RGBColor(148, 52, 140),
        EventKind::Incident => RGBColor(230, 120, 0),
        EventKind::Fix => RGBColor(46, 125, 50),
        EventKind::Note => RGBColor(110, 110, 110),
    }
}

/// Events as a chart draws them: x (time since `t0` in units of `per` ms),
/// the label (after `prefix`), the colour of their kind.
fn event_marks(events: &[Event], t0: i64, per: f64, prefix: &str) -> Vec<(f64, String, RGBColor)> {
    events
        .iter()
        .map(|e| {
            (
                (e.time_ms - t0) as f64 / per,
                format!("{prefix}{}", e.label()),
                event_color(e.kind),
            )
        })
        .collect()
}

/// The floors after GC of `points` as the verdict computes them
/// ([`Trend`]: the minimum of each of its windows) and their least-squares
/// line from the first floor to the last, in the chart's x (seconds from
/// `t0`); empty when there are too few points.
/// Points of a chart: `(x, y)`.
type Points = Vec<(f64, f64)>;

fn floor_lines(points: &[(i64, f64)], t0: i64) -> (Points, Points) {
    let windows = crate::evidence::verdict::VerdictThresholds::default().windows;
    let Some(trend) = Trend::of("", points, windows) else {
        return (Vec::new(), Vec::new());
    };
    let xs = |t: i64| (t - t0) as f64 / 1000.0;
    let floors: Vec<(f64, f64)> = trend.floors.iter().map(|&(t, v)| (xs(t), v)).collect();
    if floors.len() < 2 {
        return (floors, Vec::new());
    }
    // The fit's slope is per minute over minutes from the first point;
    // its intercept is where the line passes through the floors' mean.
    let n = floors.len() as f64;
    let mx = floors.iter().map(|f| f.0).sum::<f64>() / n;
    let my = floors.iter().map(|f| f.1).sum::<f64>() / n;
    let slope_per_sec = trend.floor_slope_per_min / 60.0;
    let at = |x: f64| my + slope_per_sec * (x - mx);
    let (a, b) = (floors[0].0, floors[floors.len() - 1].0);
    let fit = if slope_per_sec.is_finite() {
        vec![(a, at(a)), (b, at(b))]
    } else {
        Vec::new()
    };
    (floors, fit)
}

/// RSS, heap in use, heap objects and goroutines over time (2×2 panels),
/// with a grey tick on the time axis at each scrape by which a GC cycle had run (from
/// `go_gc_duration_seconds_count`), and for the three memory metrics the
/// floors after GC the verdict judges (red dots: the minimum of each of its
/// windows, since the last restart) with their fitted trend (dashed). A
/// missing metric's panel says so. [`metrics_plot_with`] adds events and
/// snapshot times.
pub fn metrics_plot(series: &MetricSeries) -> Result<Plot> {
    metrics_plot_with(series, &Marks::default())
}

/// The metrics chart of `bundle`: [`metrics_plot_with`] its timeline and
/// heap snapshots.
///
/// ```
/// use heapframe::{evidence::Bundle, views::plot};
/// let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
/// let chart = plot::bundle_metrics_plot(&b)?;
/// assert!(chart.svg().contains("incident: alert"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn bundle_metrics_plot(bundle: &Bundle) -> Result<Plot> {
    metrics_plot_with(&bundle.metrics, &Marks::of(bundle)?)
}

/// [`metrics_plot`] with `marks`: each event as a dashed vertical line
/// labelled with its kind and text, each heap snapshot as a triangle on
/// the top edge.
pub fn metrics_plot_with(series: &MetricSeries, marks: &Marks) -> Result<Plot> {
    let t0 = series.samples.first().map(|s| s.time_ms).unwrap_or(0);
    let gc: Vec<f64> = gc_marks(series)
        .into_iter()
        .map(|t| (t - t0) as f64 / 1000.0)
        .collect();
    let x_label = |x: f64| clock(t0 + (x * 1000.0) as i64);
    let n_gc = gc.len();
    let events = event_marks(&marks.events, t0, 1000.0, "");
    let snapshots: Vec<(f64, RGBColor, u32)> = marks
        .snapshots
        .iter()
        .map(|&t| ((t - t0) as f64 / 1000.0, SNAPSHOT_COLOR, 6))
        .collect();
    // Floors are judged since the last restart, as the verdict does.
    let judged = series.since_last_restart();
    let title = format!(
        "Metric trends{}",
        if series.samples.is_empty() {
            String::new()
        } else {
            format!(
                " from {} ({} scrapes with a new GC cycle)",
                crate::units::format_time_utc(t0 * 1_000_000),
                n_gc
            )
        }
    );
    render(1200, 780, &title, |root| {
        let areas = root.split_evenly((2, 2));
        let heap = crate::evidence::verdict::heap_metric(series, &Default::default());
        for (area, (metric, name, unit)) in areas.iter().zip(TREND_METRICS) {
            // The heap the verdict judges: a gctrace log's live heap when
            // nothing else measured heap in use.
            let (metric, name) = if metric == names::HEAP_INUSE && heap != metric {
                (heap, "live heap after GC (gctrace_heap_live_bytes)")
            } else {
                (metric, name)
            };
            let points: Vec<(f64, f64)> = series
                .points(metric)
                .into_iter()
                .map(|(t, v)| ((t - t0) as f64 / 1000.0, v))
                .collect();
            let mut lines = vec![Line {
                label: metric,
                points,
                color: COLORS[1],
                stroke: Stroke::Solid,
            }];
            if metric != names::GOROUTINES {
                let (floors, fit) = floor_lines(&judged.points(metric), t0);
                if !floors.is_empty() {
                    lines.push(Line {
                        label: "floor after GC",
                        points: floors,
                        color: FLOOR_COLOR,
                        stroke: Stroke::Dots,
                    });
                }
                if !fit.is_empty() {
                    lines.push(Line {
                        label: "floor trend",
                        points: fit,
                        color: FLOOR_COLOR,
                        stroke: Stroke::Dashed,
                    });
                }
            }
            draw_panel(
                area,
                &Panel {
                    title: name.to_string(),
                    unit,
                    x_desc: "time (UTC)",
                    x_label: &x_label,
                    lines,
                    marks: &gc,
                    marks_label: "GC ran",
                    legend: true,
                    events: &events,
                    snapshots: &snapshots,
                    snapshots_label: "snapshot",
                },
            )?;
        }
        Ok(())
    })
}

/// Cuts a label to `n` characters, keeping its start (an event's kind and
/// the beginning of its text), with `…` at the end.
pub(crate) fn tail_front(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{t}…")
    }
}

/// Cuts a label to `n` characters, keeping its end (the innermost frames
/// or the method name), with `…` in front.
pub(crate) fn tail(s: &str, n: usize) -> String {
    let c = s.chars().count();
    if c <= n {
        s.to_string()
    } else {
        let t: String = s.chars().skip(c - n + 1).collect();
        format!("…{t}")
    }
}

/// The growth of the first five rows of `table` across its snapshots.
///
/// ```
/// use heapframe::{evidence::Bundle, views::plot, growth::growth};
/// let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
/// let t = growth(&b.heap, &Default::default())?;
/// let chart = plot::growth_plot(&t)?;          // a notebook cell shows it
/// assert!(chart.svg().contains("bytes.Clone"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn growth_plot(table: &GrowthTable) -> Result<Plot> {
    growth_plot_n(table, 5)
}

/// The growth of the first `n` rows of `table` (its best-ranked owners)
/// across its snapshots, minutes from the first snapshot on the x axis:
/// one panel per owner, each on its own scale (small multiples), so that
/// small growers are not flattened to a line at zero by the largest; each
/// panel's title gives the owner and its growth. Each snapshot is a
/// triangle on the top edge; [`growth_plot_with`] adds events.
pub fn growth_plot_n(table: &GrowthTable, n: usize) -> Result<Plot> {
    growth_plot_with(table, n, &[])
}

/// The growth chart of `bundle`'s table `table` (made from its heap
/// snapshots): [`growth_plot_with`] its five best-ranked owners and its
/// timeline's events.
///
/// ```
/// use heapframe::{evidence::Bundle, views::plot, growth::growth};
/// let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
/// let t = growth(&b.heap, &Default::default())?;
/// let chart = plot::bundle_growth_plot(&b, &t)?;
/// assert!(chart.svg().contains("incident: alert"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn bundle_growth_plot(bundle: &Bundle, table: &GrowthTable) -> Result<Plot> {
    growth_plot_with(table, 5, &bundle.timeline()?)
}

/// [`growth_plot_n`] with `events` drawn on every panel as dashed vertical
/// lines labelled with their kind and text (those inside the snapshots'
/// span).
pub fn growth_plot_with(table: &GrowthTable, n: usize, events: &[Event]) -> Result<Plot> {
    let t0 = table.times_ms.first().copied().unwrap_or(0);
    let xs: Vec<f64> = table
        .times_ms
        .iter()
        .map(|t| (t - t0) as f64 / 60_000.0)
        .collect();
    let snapshots: Vec<(f64, RGBColor, u32)> = xs.iter().map(|&x| (x, SNAPSHOT_COLOR, 6)).collect();
    let events = event_marks(events, t0, 60_000.0, "");
    let rows: Vec<&crate::growth::GrowthRow> = table.shown(n.max(1)).collect();
    let span = xs.last().copied().unwrap_or(0.0);
    let title = format!(
        "Top {} owners by {} ({}), {} snapshots over {:.1} min, own scales",
        rows.len(),
        table.key,
        table.sample_type.name,
        table.times_ms.len(),
        span
    );
    let x_label = |x: f64| format!("{x:.1} min");
    let height = 70 + 170 * rows.len().max(1) as u32 + LEGEND_HEIGHT;
    render(1200, height, &title, |root| {
        if rows.is_empty() {
            return root
                .draw(&Text::new(
                    "no owner changed".to_string(),
                    (20, 30),
                    (FONT, 16).into_font(),
                ))
                .map_err(draw_err);
        }
        // The last panel carries the legend line (snapshots), so it is
        // that much taller.
        let (_, h) = root.dim_in_pixel();
        let each = (h.saturating_sub(LEGEND_HEIGHT) / rows.len() as u32).max(1);
        let breaks: Vec<i32> = (1..rows.len()).map(|i| (each * i as u32) as i32).collect();
        let areas = root.split_by_breakpoints(Vec::<i32>::new(), breaks);
        for (i, (area, r)) in areas.iter().zip(&rows).enumerate() {
            let delta = table.format(r.delta);
            let last = i + 1 == rows.len();
            draw_panel(
                area,
                &Panel {
                    title: format!(
                        "{}: {}{} ({:.0}% of the growth, R² {:.2}){}",
                        tail(&r.key, 80),
                        if r.delta > 0 { "+" } else { "" },
                        delta,
                        r.share * 100.0,
                        r.r2,
                        if r.below_resolution {
                            ", below the sampling resolution"
                        } else {
                            ""
                        }
                    ),
                    unit: Unit::of(&table.sample_type.unit),
                    x_desc: if last {
                        "minutes since the first snapshot"
                    } else {
                        ""
                    },
                    x_label: &x_label,
                    lines: vec![Line {
                        label: "",
                        points: xs
                            .iter()
                            .copied()
                            .zip(r.values.iter().map(|&v| v as f64))
                            .collect(),
                        color: COLORS[i % COLORS.len()],
                        stroke: Stroke::Solid,
                    }],
                    marks: &[],
                    marks_label: "",
                    legend: last,
                    events: &events,
                    snapshots: &snapshots,
                    snapshots_label: "heap snapshot",
                },
            )?;
        }
        Ok(())
    })
}

/// Growth (last minus first) of the first `n` rows of `table` as
/// horizontal bars, red for growth and blue for shrinking: with a table by
/// [`GrowthKey::Kind`](crate::growth::GrowthKey::Kind), growth by
/// allocation kind.
///
/// ```
/// use heapframe::{evidence::Bundle, views::plot, growth::{growth, GrowthKey, GrowthOptions}};
/// let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
/// let kinds = growth(&b.heap, &GrowthOptions { key: GrowthKey::Kind, ..Default::default() })?;
/// let chart = plot::growth_bars(&kinds, 8)?;
/// assert!(chart.svg().contains("encoding output"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn growth_bars(table: &GrowthTable, n: usize) -> Result<Plot> {
    // Bars in the order of the value they show, largest growth on top.
    let mut rows: Vec<(String, f64)> = table
        .shown(n)
        .map(|r| (r.key.clone(), r.delta as f64))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let span = match (table.times_ms.first(), table.times_ms.last()) {
        (Some(a), Some(b)) => (b - a) as f64 / 60_000.0,
        _ => 0.0,
    };
    let title = format!(
        "Growth by {} ({}), first to last of {} snapshots over {:.1} min",
        table.key,
        table.sample_type.name,
        table.times_ms.len(),
        span
    );
    hbars(
        &title,
        &rows,
        Unit::of(&table.sample_type.unit),
        "growth, first to last snapshot",
        true,
    )
}

/// Horizontal bars, one per `(label, value)` in the order given (the first
/// on top), red for values >= 0 and blue below; `signed` puts a `+` before
/// positive value labels.
pub(crate) fn hbars(
    title: &str,
    rows: &[(String, f64)],
    unit: Unit,
    x_desc: &str,
    signed: bool,
) -> Result<Plot> {
    let height = 140 + 34 * rows.len().max(1) as u32;
    render(1200, height, title, |root| {
        if rows.is_empty() {
            root.draw(&Text::new("no rows", (20, 30), (FONT, 16).into_font()))
                .map_err(draw_err)?;
            return Ok(());
        }
        let lo = rows.iter().map(|r| r.1).fold(0.0f64, f64::min);
        let hi = rows.iter().map(|r| r.1).fold(0.0f64, f64::max);
        let axis = unit.axis(lo.abs().max(hi));
        let (lo, hi) = (lo / axis.factor, hi / axis.factor);
        let span = (hi - lo).max(1.0);
        let labels: Vec<String> = rows.iter().map(|r| tail(&r.0, 42)).collect();
        let k = rows.len() as i32;
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(330)
            .build_cartesian_2d(
                (lo - span * 0.05)..(hi + span * 0.1),
                (0..(k - 1).max(1)).into_segmented(),
            )
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows.len())
            .x_labels(8)
            .x_label_formatter(&|x| axis.label(*x))
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => labels
                    .get((k - 1 - *i) as usize)
                    .cloned()
                    .unwrap_or_default(),
                SegmentValue::Last => String::new(),
            })
            .x_desc(x_desc)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 15))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let y = k - 1 - i as i32;
                let color = if r.1 >= 0.0 { COLORS[0] } else { COLORS[1] };
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(y)),
                        (r.1 / axis.factor, SegmentValue::Exact(y + 1)),
                    ],
                    color.mix(0.85).filled(),
                );
                bar.set_margin(5, 5, 0, 0);
                bar
            }))
            .map_err(draw_err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let y = k - 1 - i as i32;
                let sign = if signed && r.1 > 0.0 { "+" } else { "" };
                Text::new(
                    format!("{sign}{}", value_label(unit, r.1.round() as i64)),
                    (
                        r.1.max(0.0) / axis.factor + span * 0.01,
                        SegmentValue::CenterOf(y),
                    ),
                    (FONT, 15).into_font(),
                )
            }))
            .map_err(draw_err)?;
        Ok(())
    })
}

/// Heap in use, heap objects and RSS before and after a fix, each from
/// the start of its capture (minutes), for regression validation: the
/// "after" lines should stay flat where the "before" lines climb. Dots:
/// each capture's floors after GC (since its last restart), the values the
/// regression check judges; dashed: their fitted trend. [`before_after_plot_with`]
/// adds each capture's snapshots and events.
///
/// ```
/// use heapframe::{evidence::Bundle, views::plot};
/// let before = Bundle::open("tests/fixtures/bundles/mapcache")?;
/// let after = Bundle::open("tests/fixtures/bundles/fixed")?;
/// let chart = plot::before_after_plot(&before.metrics, &after.metrics)?;
/// chart.save(std::env::temp_dir().join("before-after.svg"))?;
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn before_after_plot(before: &MetricSeries, after: &MetricSeries) -> Result<Plot> {
    before_after_plot_with(before, &Marks::default(), after, &Marks::default())
}

/// The before/after chart of two bundles: [`before_after_plot_with`] their
/// metrics, heap snapshots and timelines.
///
/// ```
/// use heapframe::{evidence::Bundle, views::plot};
/// let before = Bundle::open("tests/fixtures/bundles/mapcache")?;
/// let after = Bundle::open("tests/fixtures/bundles/fixed")?;
/// let chart = plot::bundle_before_after_plot(&before, &after)?;
/// assert!(chart.svg().contains("before: incident"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn bundle_before_after_plot(before: &Bundle, after: &Bundle) -> Result<Plot> {
    before_after_plot_with(
        &before.metrics,
        &Marks::of(before)?,
        &after.metrics,
        &Marks::of(after)?,
    )
}

/// [`before_after_plot`] with marks: each capture's heap snapshots as
/// triangles in its colour, and its events as dashed vertical lines
/// labelled "before: …" or "after: …", each placed at its time since the
/// start of its own capture.
pub fn before_after_plot_with(
    before: &MetricSeries,
    before_marks: &Marks,
    after: &MetricSeries,
    after_marks: &Marks,
) -> Result<Plot> {
    let start = |s: &MetricSeries| s.samples.first().map(|x| x.time_ms).unwrap_or(0);
    let rel = |s: &MetricSeries, m: &str| -> Vec<(f64, f64)> {
        let t0 = start(s);
        s.points(m)
            .into_iter()
            .map(|(t, v)| ((t - t0) as f64 / 60_000.0, v))
            .collect()
    };
    // Each capture's floors after GC and their fitted trend, judged since
    // its last restart as the regression check does, in minutes from its
    // start.
    let (before_judged, after_judged) = (before.since_last_restart(), after.since_last_restart());
    let floors = |s: &MetricSeries, judged: &MetricSeries, m: &str| -> (Points, Points) {
        let t0 = start(s);
        let (dots, fit) = floor_lines(&judged.points(m), t0);
        let minutes = |v: Points| v.into_iter().map(|(x, y)| (x / 60.0, y)).collect();
        (minutes(dots), minutes(fit))
    };
    let (b0, a0) = (start(before), start(after));
    // The after-fix triangles are smaller, so that both show where the
    // captures' snapshots fall at the same minute.
    let mut snapshots: Vec<(f64, RGBColor, u32)> = Vec::new();
    for (marks, t0, color, size) in [
        (before_marks, b0, COLORS[0], 7),
        (after_marks, a0, COLORS[2], 4),
    ] {
        snapshots.extend(
            marks
                .snapshots
                .iter()
                .map(|&t| ((t - t0) as f64 / 60_000.0, color, size)),
        );
    }
    let mut events = event_marks(&before_marks.events, b0, 60_000.0, "before: ");
    events.extend(event_marks(&after_marks.events, a0, 60_000.0, "after: "));
    let x_label = |x: f64| format!("{x:.1} min");
    render(
        1200,
        466,
        "Before and after the fix, from the start of each capture",
        |root| {
            // One legend line under the three panels, which are too
            // narrow for one each.
            let (_, h) = root.dim_in_pixel();
            let (panels, legend) = root.split_vertically(h.saturating_sub(LEGEND_HEIGHT));
            let mut entries = vec![
                (Swatch::Line, "before the fix", COLORS[0]),
                (Swatch::Line, "after the fix", COLORS[2]),
                (Swatch::Dot, "floors after GC", COLORS[0]),
                (Swatch::Dashed, "their trend", COLORS[0]),
            ];
            if !snapshots.is_empty() {
                entries.push((
                    Swatch::Triangle,
                    "heap snapshots (large: before, small: after)",
                    COLORS[0],
                ));
            }
            draw_legend_line(&legend, &entries)?;
            let areas = panels.split_evenly((1, 3));
            for (area, (metric, name, unit)) in
                areas
                    .iter()
                    .zip([TREND_METRICS[1], TREND_METRICS[2], TREND_METRICS[0]])
            {
                let short = name.split(" (").next().unwrap_or(name);
                let (before_floors, after_floors) = (
                    floors(before, &before_judged, metric),
                    floors(after, &after_judged, metric),
                );
                draw_panel(
                    area,
                    &Panel {
                        title: short.to_string(),
                        unit,
                        x_desc: "minutes since capture start",
                        x_label: &x_label,
                        lines: vec![
                            Line {
                                label: "before",
                                points: rel(before, metric),
                                color: COLORS[0],
                                stroke: Stroke::Solid,
                            },
                            Line {
                                label: "after",
                                points: rel(after, metric),
                                color: COLORS[2],
                                stroke: Stroke::Solid,
                            },
                            Line {
                                label: "",
                                points: before_floors.0,
                                color: COLORS[0],
                                stroke: Stroke::Dots,
                            },
                            Line {
                                label: "",
                                points: after_floors.0,
                                color: COLORS[2],
                                stroke: Stroke::Dots,
                            },
                            Line {
                                label: "",
                                points: before_floors.1,
                                color: COLORS[0],
                                stroke: Stroke::Dashed,
                            },
                            Line {
                                label: "",
                                points: after_floors.1,
                                color: COLORS[2],
                                stroke: Stroke::Dashed,
                            },
                        ],
                        marks: &[],
                        marks_label: "",
                        legend: false,
                        events: &events,
                        snapshots: &snapshots,
                        snapshots_label: "",
                    },
                )?;
            }
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_counts() {
        assert_eq!(short_count(950.0), "950");
        assert_eq!(short_count(12_300.0), "12.3k");
        assert_eq!(short_count(4_560_000.0), "4.56M");
        assert_eq!(short_count(-2000.0), "-2k");
    }

    #[test]
    fn byte_axes_tick_on_round_numbers_of_their_unit() {
        let a = Unit::Bytes.axis(38.0 * (1 << 20) as f64);
        assert_eq!(a.factor, (1 << 20) as f64);
        assert_eq!(a.label(10.0), "10MB");
        assert_eq!(a.label(2.5), "2.5MB");
        assert_eq!(a.label(0.0), "0");
        assert_eq!(Unit::Bytes.axis(900.0).label(200.0), "200B");
        assert_eq!(Unit::Count.axis(1e6).label(50_000.0), "50k");
    }

    #[test]
    fn tails_keep_the_end() {
        assert_eq!(tail("abc", 5), "abc");
        assert_eq!(tail("main.a -> main.b", 7), "…main.b");
    }
}
