//! Charts of any DataFrame: the slices a user cuts with polars, drawn
//! without writing plotters code.
//!
//! - [`Chart::lines`]: a value over time (or any numeric x), one line per
//!   group with [`Chart::by`];
//! - [`Chart::bars`]: a value per key, largest first;
//! - [`Chart::histogram`]: how a value spreads over power-of-two classes
//!   (size classes for `object_size`), counting rows or summing a
//!   [`Chart::weight`] column;
//! - [`Chart::area`]: each group's share of the total over time, stacked to
//!   100%.
//!
//! Rows with the same x (and group) add up, so a `samples` table can be
//! charted as it is: one line per allocation kind over the snapshots is
//! `Chart::lines(&samples, "time", "inuse_space").by("kind")`. Values are
//! shown in their unit: bytes for the columns heapframe names in bytes
//! (`inuse_space`, `alloc_space`, `object_size`, `*_bytes`), a compact count
//! otherwise; [`Chart::unit`] says it for a column renamed by a query.
//! Columns are found by a plain scan of the names (never through polars'
//! hashed column index), so a DataFrame kept from an earlier notebook cell
//! charts like a fresh one.
//!
//! ```
//! use heapframe::{Profile, tables::Tables, views::chart::Chart};
//! let p = Profile::from_path("tests/fixtures/bundles/mapcache/heap/007.pb.gz")?;
//! let t = Tables::from_profile(&p)?;
//! let sizes = Chart::histogram(&t.samples, "object_size").weight("inuse_objects").plot()?;
//! assert!(sizes.svg().contains("inuse_objects"));
//! let leaves = Chart::bars(&t.samples, "leaf", "inuse_space").top(5).plot()?;
//! assert!(leaves.svg().contains("MB"));
//! # Ok::<(), heapframe::Error>(())
//! ```

use std::collections::HashMap;

use plotters::prelude::*;
use polars::prelude::{Column, DataFrame, DataType, TimeUnit};

use crate::error::{Error, Result};
use crate::views::plot::{
    COLORS, FONT, Line, Panel, Plot, Stroke, Unit, draw_err, draw_legend, draw_panel, hbars,
    render, tail, value_label,
};

/// One row of a chart: `(x, group, y)`.
type Row = (f64, String, f64);
/// A group's points `(x, y)`.
type Points = Vec<(f64, f64)>;

/// What a [`Chart`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lines,
    Bars,
    Histogram,
    Area,
}

/// A chart of a DataFrame, described by its columns; [`Chart::plot`] draws
/// it. See the module docs.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    df: &'a DataFrame,
    kind: Kind,
    x: String,
    y: Option<String>,
    by: Option<String>,
    weight: Option<String>,
    unit: Option<String>,
    title: Option<String>,
    top: usize,
}

impl<'a> Chart<'a> {
    fn new(df: &'a DataFrame, kind: Kind, x: &str, y: Option<&str>, top: usize) -> Self {
        Chart {
            df,
            kind,
            x: x.to_string(),
            y: y.map(str::to_string),
            by: None,
            weight: None,
            unit: None,
            title: None,
            top,
        }
    }

    /// `y` summed per `x` (a datetime column such as `time`, or numbers),
    /// as lines; one line per group with [`Chart::by`] (the 8 largest
    /// groups at the last x by default, see [`Chart::top`]).
    pub fn lines(df: &'a DataFrame, x: &str, y: &str) -> Self {
        Self::new(df, Kind::Lines, x, Some(y), 8)
    }

    /// `value` summed per `key`, as horizontal bars, largest (by size)
    /// first: the 20 largest keys by default. Negative sums (shrinking)
    /// are drawn in blue.
    pub fn bars(df: &'a DataFrame, key: &str, value: &str) -> Self {
        Self::new(df, Kind::Bars, key, Some(value), 20)
    }

    /// How `value` spreads over power-of-two classes (`≤ 16B`, `17B–32B`,
    /// ...): the number of rows in each class, or the sum of a
    /// [`Chart::weight`] column. Values ≤ 0 form a class of their own; nulls
    /// are left out.
    pub fn histogram(df: &'a DataFrame, value: &str) -> Self {
        Self::new(df, Kind::Histogram, value, None, usize::MAX)
    }

    /// Each group's ([`Chart::by`], required) share of the sum of `y` at
    /// each `x`, stacked to 100%: the 7 largest groups by default, the rest
    /// as "other".
    pub fn area(df: &'a DataFrame, x: &str, y: &str) -> Self {
        Self::new(df, Kind::Area, x, Some(y), 7)
    }

    /// One line (or band) per distinct value of column `group`.
    pub fn by(mut self, group: &str) -> Self {
        self.by = Some(group.to_string());
        self
    }

    /// For [`Chart::histogram`]: sum this column per class instead of
    /// counting rows.
    pub fn weight(mut self, column: &str) -> Self {
        self.weight = Some(column.to_string());
        self
    }

    /// The unit of the values: `"bytes"`, or anything else for counts.
    /// By default taken from the column's name.
    pub fn unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.to_string());
        self
    }

    /// The chart's title (by default it says what is drawn).
    pub fn title(mut self, title: &str) -> Self {
        self.title = Some(title.to_string());
        self
    }

    /// How many groups (lines, bands) or keys (bars) to draw at most.
    pub fn top(mut self, n: usize) -> Self {
        self.top = n.max(1);
        self
    }

    /// Draws the chart. Fails, naming the column, when a column is missing
    /// or of the wrong type, or when [`Chart::area`] has no group.
    pub fn plot(&self) -> Result<Plot> {
        match self.kind {
            Kind::Lines => self.plot_lines(),
            Kind::Bars => self.plot_bars(),
            Kind::Histogram => self.plot_histogram(),
            Kind::Area => self.plot_area(),
        }
    }

    /// The column whose values the chart measures.
    fn measured(&self) -> &str {
        match self.kind {
            Kind::Histogram => self.weight.as_deref().unwrap_or(""),
            _ => self.y.as_deref().unwrap_or(""),
        }
    }

    fn value_unit(&self, column: &str) -> Unit {
        match &self.unit {
            Some(u) => Unit::of(u),
            None if is_bytes_name(column) => Unit::Bytes,
            None => Unit::Count,
        }
    }

    /// `(x, group, y)` per row with all three present, x as f64 (ms since
    /// the epoch for datetimes), plus whether x is a time.
    fn xy_rows(&self) -> Result<(Vec<Row>, bool)> {
        let y = self.y.as_deref().unwrap_or_default();
        let (xs, is_time) = x_values(self.df, &self.x)?;
        let ys = numbers(self.df, y)?;
        let groups = match &self.by {
            Some(g) => Some(texts(self.df, g)?),
            None => None,
        };
        let mut rows = Vec::with_capacity(xs.len());
        for (i, (x, y)) in xs.into_iter().zip(ys).enumerate() {
            let (Some(x), Some(y)) = (x, y) else { continue };
            let g = match &groups {
                Some(g) => match &g[i] {
                    Some(s) => s.clone(),
                    None => "(null)".to_string(),
                },
                None => y_name(self).to_string(),
            };
            rows.push((x, g, y));
        }
        Ok((rows, is_time))
    }

    fn plot_lines(&self) -> Result<Plot> {
        let y = self.y.as_deref().unwrap_or_default();
        let (rows, is_time) = self.xy_rows()?;
        let sums = sum_by_group_and_x(&rows);
        let total_groups = sums.len();
        let mut groups: Vec<(String, Vec<(f64, f64)>)> = sums.into_iter().collect();
        // Largest at the last x first, then by name, for a stable legend.
        groups.sort_by(|a, b| {
            let last = |g: &Vec<(f64, f64)>| g.last().map_or(0.0, |p| p.1.abs());
            last(&b.1)
                .total_cmp(&last(&a.1))
                .then_with(|| a.0.cmp(&b.0))
        });
        groups.truncate(self.top);
        let t0 = rows.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
        let t0 = if t0.is_finite() { t0 } else { 0.0 };
        let labels: Vec<String> = groups.iter().map(|(g, _)| tail(g, 60)).collect();
        let lines = groups
            .iter()
            .zip(&labels)
            .enumerate()
            .map(|(i, ((_, points), label))| Line {
                label: label.as_str(),
                points: points
                    .iter()
                    .map(|&(x, v)| (if is_time { (x - t0) / 1000.0 } else { x }, v))
                    .collect(),
                color: COLORS[i % COLORS.len()],
                stroke: Stroke::Solid,
            })
            .collect();
        let title = self.title.clone().unwrap_or_else(|| {
            let mut t = format!("{y} by {}", self.x);
            if let Some(g) = &self.by {
                t.push_str(&format!(", per {g}"));
                if total_groups > labels.len() {
                    t.push_str(&format!(" (top {} of {total_groups})", labels.len()));
                }
            }
            t
        });
        let (x_label, x_desc) = self.x_axis(is_time, t0);
        render(1200, 520, &title, |root| {
            draw_panel(
                root,
                &Panel {
                    title: String::new(),
                    unit: self.value_unit(y),
                    x_desc: &x_desc,
                    x_label: &x_label,
                    lines,
                    marks: &[],
                    marks_label: "",
                    legend: true,
                    events: &[],
                    snapshots: &[],
                    snapshots_label: "",
                },
            )
        })
    }

    fn plot_bars(&self) -> Result<Plot> {
        let y = self.y.as_deref().unwrap_or_default();
        let keys = texts(self.df, &self.x)?;
        let values = numbers(self.df, y)?;
        let mut sums: HashMap<String, f64> = HashMap::new();
        for (k, v) in keys.into_iter().zip(values) {
            let Some(v) = v else { continue };
            let e = sums
                .entry(k.unwrap_or_else(|| "(null)".to_string()))
                .or_default();
            *e = bounded(*e + v);
        }
        let total = sums.len();
        let mut rows: Vec<(String, f64)> = sums.into_iter().collect();
        rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then_with(|| a.0.cmp(&b.0)));
        rows.truncate(self.top);
        let title = self.title.clone().unwrap_or_else(|| {
            let mut t = format!("{y} per {}", self.x);
            if total > rows.len() {
                t.push_str(&format!(" (top {} of {total})", rows.len()));
            }
            t
        });
        hbars(&title, &rows, self.value_unit(y), y, false)
    }

    fn plot_histogram(&self) -> Result<Plot> {
        let values = numbers(self.df, &self.x)?;
        let weights = match &self.weight {
            Some(w) => Some(numbers(self.df, w)?),
            None => None,
        };
        // Class 0: values <= 0; class k >= 1: values in (2^(k+3), 2^(k+4)]
        // with class 1 holding everything up to 16.
        let mut classes = [0.0f64; 66];
        let mut used = [false; 66];
        for (i, v) in values.iter().enumerate() {
            let Some(v) = *v else { continue };
            let w = match &weights {
                Some(w) => match w[i] {
                    Some(w) => w,
                    None => continue,
                },
                None => 1.0,
            };
            let c = size_class(v);
            classes[c] = bounded(classes[c] + w);
            used[c] = true;
        }
        let x_unit = self.value_unit_of_x();
        let (Some(first), Some(last)) =
            (used.iter().position(|&u| u), used.iter().rposition(|&u| u))
        else {
            return hbars(
                self.title
                    .as_deref()
                    .unwrap_or(&format!("{} classes", self.x)),
                &[],
                Unit::Count,
                "",
                false,
            );
        };
        let rows: Vec<(String, f64)> = (first..=last)
            .map(|c| (class_label(c, x_unit), classes[c]))
            .collect();
        let measured = self.measured();
        let (what, unit) = if measured.is_empty() {
            ("rows".to_string(), Unit::Count)
        } else {
            (measured.to_string(), self.value_unit(measured))
        };
        let title = self
            .title
            .clone()
            .unwrap_or_else(|| format!("{what} per class of {}", self.x));
        hbars(&title, &rows, unit, &what, false)
    }

    fn value_unit_of_x(&self) -> Unit {
        if self.kind == Kind::Histogram && self.unit.is_some() && self.weight.is_none() {
            return self.value_unit(&self.x);
        }
        if is_bytes_name(&self.x) {
            Unit::Bytes
        } else {
            Unit::Count
        }
    }

    fn plot_area(&self) -> Result<Plot> {
        let y = self.y.as_deref().unwrap_or_default();
        if self.by.is_none() {
            return Err(Error::Option(format!(
                "a stacked area of shares needs groups: add .by(column) to Chart::area(_, \"{}\", \"{y}\")",
                self.x
            )));
        }
        let (rows, is_time) = self.xy_rows()?;
        let sums = sum_by_group_and_x(&rows);
        let mut xs: Vec<f64> = rows.iter().map(|r| r.0).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        // Group totals over all x decide which groups get a band.
        let mut groups: Vec<(String, Points, f64)> = sums
            .into_iter()
            .map(|(g, p)| {
                let t = p.iter().map(|q| q.1.max(0.0)).sum();
                (g, p, t)
            })
            .collect();
        groups.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        let total_groups = groups.len();
        let mut bands: Vec<(String, Vec<f64>)> = Vec::new();
        let at = |points: &[(f64, f64)]| -> Vec<f64> {
            let mut v = vec![0.0; xs.len()];
            for &(x, s) in points {
                if let Ok(i) = xs.binary_search_by(|p| p.total_cmp(&x)) {
                    v[i] += s.max(0.0);
                }
            }
            v
        };
        let keep = if total_groups > self.top {
            self.top
        } else {
            total_groups
        };
        let mut other = vec![0.0; xs.len()];
        for (i, (g, points, _)) in groups.iter().enumerate() {
            let v = at(points);
            if i < keep {
                bands.push((tail(g, 60), v));
            } else {
                for (o, s) in other.iter_mut().zip(v) {
                    *o += s;
                }
            }
        }
        if total_groups > keep {
            bands.push((format!("other ({} groups)", total_groups - keep), other));
        }
        // Shares in percent, stacked.
        let totals: Vec<f64> = (0..xs.len())
            .map(|i| bands.iter().map(|b| b.1[i]).sum())
            .collect();
        let t0 = xs.first().copied().unwrap_or(0.0);
        let px = |x: f64| if is_time { (x - t0) / 1000.0 } else { x };
        let mut cumulative = vec![0.0; xs.len()];
        let mut tops: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for (g, v) in &bands {
            for i in 0..xs.len() {
                if totals[i] > 0.0 {
                    cumulative[i] += 100.0 * v[i] / totals[i];
                }
            }
            tops.push((
                g.clone(),
                xs.iter()
                    .zip(&cumulative)
                    .map(|(&x, &c)| (px(x), c))
                    .collect(),
            ));
        }
        let title = self.title.clone().unwrap_or_else(|| {
            format!(
                "share of {y} per {} by {}",
                self.by.as_deref().unwrap_or_default(),
                self.x
            )
        });
        let (x_label, x_desc) = self.x_axis(is_time, t0);
        render(1200, 520, &title, |root| {
            let (x0, x1) = match (tops.first(), tops.first().and_then(|t| t.1.last())) {
                (Some(t), Some(&(x1, _))) => (t.1[0].0, x1),
                _ => {
                    root.draw(&Text::new("no rows", (20, 30), (FONT, 16).into_font()))
                        .map_err(draw_err)?;
                    return Ok(());
                }
            };
            let x1 = if x1 <= x0 { x0 + 1.0 } else { x1 };
            let mut chart = ChartBuilder::on(root)
                .margin(8)
                .margin_right(30)
                .x_label_area_size(36)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, 0.0..100.0)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_labels(6)
                .y_labels(6)
                .x_label_formatter(&|x| x_label(*x))
                .y_label_formatter(&|y| format!("{y:.0}%"))
                .x_desc(x_desc.as_str())
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 15))
                .light_line_style(RGBColor(238, 238, 238))
                .draw()
                .map_err(draw_err)?;
            // Each band lies between its group's cumulative line and the
            // one below it (the x axis for the first group).
            for (i, (g, points)) in tops.iter().enumerate() {
                let color = COLORS[i % COLORS.len()];
                let mut outline: Vec<(f64, f64)> = points.clone();
                match i.checked_sub(1) {
                    Some(below) => outline.extend(tops[below].1.iter().rev().copied()),
                    None => outline.extend(points.iter().rev().map(|&(x, _)| (x, 0.0))),
                }
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        outline,
                        color.mix(0.75).filled(),
                    )))
                    .map_err(draw_err)?
                    .label(g.as_str())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.mix(0.75).filled())
                    });
            }
            draw_legend(&mut chart)
        })
    }
}

impl Chart<'_> {
    /// The x axis's tick labels and title: for times (x plotted as seconds
    /// from `t0`, ms since the epoch) the clock in UTC, else numbers.
    fn x_axis(&self, is_time: bool, t0: f64) -> (impl Fn(f64) -> String + use<>, String) {
        let t0_ms = t0 as i64;
        let label = move |x: f64| {
            if is_time {
                crate::units::clock_utc(t0_ms + (x * 1000.0) as i64)
            } else {
                crate::views::plot::short_count(x)
            }
        };
        let desc = if is_time {
            format!("{} (UTC)", self.x)
        } else {
            self.x.clone()
        };
        (label, desc)
    }
}

fn y_name<'c>(c: &'c Chart<'_>) -> &'c str {
    c.y.as_deref().unwrap_or_default()
}

/// Per group, `(x, sum of y)` sorted by x.
fn sum_by_group_and_x(rows: &[Row]) -> HashMap<String, Points> {
    let mut sums: HashMap<&str, HashMap<u64, (f64, f64)>> = HashMap::new();
    for (x, g, y) in rows {
        let e = sums
            .entry(g.as_str())
            .or_default()
            .entry(x.to_bits())
            .or_insert((*x, 0.0));
        e.1 = bounded(e.1 + y);
    }
    sums.into_iter()
        .map(|(g, by_x)| {
            let mut points: Vec<(f64, f64)> = by_x.into_values().collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            (g.to_string(), points)
        })
        .collect()
}

/// `v` kept within a quarter of the largest `f64` (0 for NaN), so that sums
/// of hostile values never reach infinity: plotters looks for round ticks
/// without end in an infinite range.
fn bounded(v: f64) -> f64 {
    const LIMIT: f64 = f64::MAX / 4.0;
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-LIMIT, LIMIT)
    }
}

/// Whether a column holds bytes by its name (as in notebook tables).
pub(crate) fn is_bytes_name(name: &str) -> bool {
    name.ends_with("_space") || name.ends_with("bytes") || name == "object_size"
}

/// The power-of-two class of `v`: 0 for v <= 0, 1 for (0, 16], then
/// k for (2^(k+2), 2^(k+3)].
fn size_class(v: f64) -> usize {
    if v <= 0.0 {
        return 0;
    }
    if v <= 16.0 {
        return 1;
    }
    let bits = v.log2().ceil() as i64; // v <= 2^bits
    (bits - 3).clamp(2, 65) as usize
}

fn class_label(c: usize, unit: Unit) -> String {
    let show = |v: f64| value_label(unit, v as i64);
    match c {
        0 => "≤ 0".to_string(),
        1 => format!("≤ {}", show(16.0)),
        k => {
            let hi = 2f64.powi(k as i32 + 3);
            let lo = hi / 2.0 + 1.0;
            format!("{}–{}", show(lo), show(hi))
        }
    }
}

/// Finds `name` by a scan of the column names.
fn column<'d>(df: &'d DataFrame, name: &str) -> Result<&'d Column> {
    df.columns()
        .iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = df.columns().iter().map(|c| c.name().as_str()).collect();
            Error::Option(format!(
                "no column \"{name}\" in this DataFrame (its columns: {})",
                names.join(", ")
            ))
        })
}

fn type_err(name: &str, dtype: &DataType, want: &str) -> Error {
    Error::Option(format!(
        "column \"{name}\" holds {dtype}, and a chart needs {want} there"
    ))
}

/// The values of a numeric column as f64 (nulls and NaN as `None`).
fn numbers(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let c = column(df, name)?;
    if !c.dtype().is_primitive_numeric() && !c.dtype().is_bool() {
        return Err(type_err(name, c.dtype(), "numbers"));
    }
    let s = c
        .as_materialized_series()
        .cast(&DataType::Float64)
        .map_err(|e| type_err(name, c.dtype(), &format!("numbers ({e})")))?;
    let f = s
        .f64()
        .map_err(|e| type_err(name, c.dtype(), &format!("numbers ({e})")))?;
    Ok(f.iter()
        .map(|v| v.filter(|x| x.is_finite()).map(bounded))
        .collect())
}

/// The values of an x column: datetimes as ms since the epoch (and
/// `true`), numbers as they are.
fn x_values(df: &DataFrame, name: &str) -> Result<(Vec<Option<f64>>, bool)> {
    let c = column(df, name)?;
    let per_ms = match c.dtype() {
        DataType::Datetime(TimeUnit::Nanoseconds, _) => 1e6,
        DataType::Datetime(TimeUnit::Microseconds, _) => 1e3,
        DataType::Datetime(TimeUnit::Milliseconds, _) => 1.0,
        _ => return Ok((numbers(df, name)?, false)),
    };
    let s = c
        .as_materialized_series()
        .cast(&DataType::Int64)
        .map_err(|e| type_err(name, c.dtype(), &format!("times ({e})")))?;
    let i = s
        .i64()
        .map_err(|e| type_err(name, c.dtype(), &format!("times ({e})")))?;
    Ok((
        i.iter().map(|v| v.map(|t| t as f64 / per_ms)).collect(),
        true,
    ))
}

/// The values of a key or group column as text (numbers printed).
fn texts(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let c = column(df, name)?;
    let s = c
        .as_materialized_series()
        .cast(&DataType::String)
        .map_err(|e| type_err(name, c.dtype(), &format!("text or numbers ({e})")))?;
    let t = s
        .str()
        .map_err(|e| type_err(name, c.dtype(), &format!("text or numbers ({e})")))?;
    Ok(t.iter().map(|v| v.map(str::to_string)).collect())
}

/// Each instance's heap in use over time, one line per instance
/// ([`crate::findings::InstanceVerdict::heap_frame`]), titled `title`;
/// `None` when no instance has heap-in-use samples.
pub fn instances_chart(
    instances: &[crate::findings::InstanceVerdict],
    title: &str,
) -> Result<Option<Plot>> {
    let df = crate::findings::InstanceVerdict::heap_frame(instances)?;
    if df.height() == 0 {
        return Ok(None);
    }
    Chart::lines(&df, "time", "heap_inuse_bytes")
        .by("instance")
        .unit("bytes")
        .title(title)
        .plot()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    fn samples() -> DataFrame {
        let t0 = 1_700_000_000_000_000_000i64;
        let min = 60_000_000_000i64;
        let mut df = df!(
            "time" => [t0, t0, t0 + min, t0 + min, t0 + 2 * min, t0 + 2 * min],
            "kind" => ["map", "string<&>", "map", "string<&>", "map", "string<&>"],
            "inuse_space" => [1i64 << 20, 1 << 10, 3 << 20, 1 << 10, 6 << 20, 2 << 10],
            "object_size" => [48i64, 16, 48, 16, 4096, 0],
        )
        .unwrap();
        let time = df
            .column("time")
            .unwrap()
            .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
            .unwrap();
        df.with_column(time).unwrap();
        df
    }

    #[test]
    fn lines_sum_per_group_and_time_and_escape_names() {
        let df = samples();
        let p = Chart::lines(&df, "time", "inuse_space")
            .by("kind")
            .plot()
            .unwrap();
        let svg = p.svg();
        assert!(
            svg.contains("string&lt;&amp;&gt;"),
            "group names are escaped"
        );
        assert!(svg.contains("MB"), "a byte axis");
        assert!(
            svg.contains("22:13:20"),
            "clock labels from the time column"
        );
        assert!(p.title().contains("per kind"));
    }

    #[test]
    fn bars_rank_by_size_and_keep_the_top() {
        let df = samples();
        let p = Chart::bars(&df, "kind", "inuse_space")
            .top(1)
            .plot()
            .unwrap();
        assert!(p.title().contains("top 1 of 2"), "{}", p.title());
        assert!(p.svg().contains(">\nmap\n<"));
        assert!(p.svg().contains("10MB"), "1+3+6 MB summed");
    }

    #[test]
    fn size_classes_are_powers_of_two() {
        assert_eq!(size_class(-1.0), 0);
        assert_eq!(size_class(0.0), 0);
        assert_eq!(size_class(1.0), 1);
        assert_eq!(size_class(16.0), 1);
        assert_eq!(size_class(17.0), 2);
        assert_eq!(size_class(32.0), 2);
        assert_eq!(size_class(33.0), 3);
        assert_eq!(size_class(f64::MAX), 65);
        assert_eq!(class_label(2, Unit::Bytes), "17B–32B");
        assert_eq!(class_label(3, Unit::Bytes), "33B–64B");
    }

    #[test]
    fn histogram_counts_rows_or_sums_weights() {
        let df = samples();
        let p = Chart::histogram(&df, "object_size").plot().unwrap();
        assert!(p.svg().contains("33B–64B"));
        assert!(p.svg().contains("≤ 0"));
        let w = Chart::histogram(&df, "object_size")
            .weight("inuse_space")
            .plot()
            .unwrap();
        assert!(w.title().starts_with("inuse_space per class"));
        assert!(w.svg().contains("4MB"), "the 6MB row sits in 2049B–4kB");
    }

    #[test]
    fn area_needs_groups_and_stacks_shares() {
        let df = samples();
        let e = Chart::area(&df, "time", "inuse_space").plot().unwrap_err();
        assert!(e.to_string().contains(".by(column)"), "{e}");
        let p = Chart::area(&df, "time", "inuse_space")
            .by("kind")
            .top(1)
            .plot()
            .unwrap();
        assert!(p.svg().contains("other (1 groups)"));
        assert!(p.svg().contains("100%"));
    }

    #[test]
    fn bad_columns_are_named() {
        let df = samples();
        let e = Chart::bars(&df, "kind", "nope")
            .plot()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no column \"nope\"") && e.contains("inuse_space"),
            "{e}"
        );
        let e = Chart::lines(&df, "time", "kind")
            .plot()
            .unwrap_err()
            .to_string();
        assert!(e.contains("column \"kind\" holds str"), "{e}");
    }

    #[test]
    fn huge_values_draw_in_finite_ranges() {
        let big = f64::MAX;
        let df = df!(
            "k" => ["a", "a", "b"],
            "x" => [-big, big, 0.0],
            "v" => [big, big, -big],
        )
        .unwrap();
        Chart::bars(&df, "k", "v").plot().unwrap();
        Chart::lines(&df, "x", "v").by("k").plot().unwrap();
        Chart::area(&df, "x", "v").by("k").plot().unwrap();
        Chart::histogram(&df, "v").weight("v").plot().unwrap();
        Chart::histogram(&df, "x").plot().unwrap();
    }

    #[test]
    fn empty_and_null_inputs_draw_without_panicking() {
        let df = df!("k" => [None::<&str>, None], "v" => [None::<i64>, Some(3)]).unwrap();
        Chart::bars(&df, "k", "v").plot().unwrap();
        Chart::histogram(&df, "v").plot().unwrap();
        Chart::lines(&df, "v", "v").plot().unwrap();
        let empty = df.head(Some(0));
        Chart::histogram(&empty, "v").plot().unwrap();
        Chart::lines(&empty, "v", "v").by("k").plot().unwrap();
        Chart::area(&empty, "v", "v").by("k").plot().unwrap();
        Chart::bars(&empty, "k", "v").plot().unwrap();
    }
}
