//! The leak verdict from metric trends, and the before/after regression check.

use crate::evidence::metrics::{MetricSeries, names};
use crate::growth::linear_fit;

/// The trend of one metric over the observation window.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// The metric.
    pub metric: String,
    /// Number of points.
    pub points: usize,
    /// First and last value.
    pub first: f64,
    /// Last value.
    pub last: f64,
    /// Least-squares slope over all points, per minute.
    pub slope_per_min: f64,
    /// R² of that fit.
    pub r2: f64,
    /// Post-GC floors: the minimum of each of several equal time windows.
    /// A leak raises the floor; churn and caches that settle do not.
    pub floors: Vec<(i64, f64)>,
    /// Slope of the floors, per minute.
    pub floor_slope_per_min: f64,
    /// R² of the floors' fit.
    pub floor_r2: f64,
    /// Floor growth from the first to the last window, in percent of the first.
    pub floor_growth_pct: f64,
    /// Floor growth rate in the second half relative to the first half
    /// (1 = steady, near 0 = flattening out, negative = falling).
    pub late_to_early: f64,
}

impl Trend {
    /// Computes the trend of `points` (`(time_ms, value)`), with `windows`
    /// floor windows.
    pub fn of(metric: &str, points: &[(i64, f64)], windows: usize) -> Option<Trend> {
        if points.len() < 2 {
            return None;
        }
        let t0 = points[0].0;
        let xy: Vec<(f64, f64)> = points
            .iter()
            .map(|&(t, v)| ((t - t0) as f64 / 60_000.0, v))
            .collect();
        let (slope, r2) = linear_fit(&xy);
        let span = (points[points.len() - 1].0 - t0).max(1);
        let windows = windows.clamp(2, points.len());
        let mut floors: Vec<(i64, f64)> = Vec::with_capacity(windows);
        for w in 0..windows {
            let lo = t0 + span * w as i64 / windows as i64;
            let hi = t0 + span * (w as i64 + 1) / windows as i64;
            let min = points
                .iter()
                .filter(|p| p.0 >= lo && (p.0 < hi || (w + 1 == windows && p.0 <= hi)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some(&m) = min {
                floors.push(m);
            }
        }
        let fxy: Vec<(f64, f64)> = floors
            .iter()
            .map(|&(t, v)| ((t - t0) as f64 / 60_000.0, v))
            .collect();
        let (floor_slope, floor_r2) = linear_fit(&fxy);
        let f_first = floors.first().map_or(0.0, |f| f.1);
        let f_last = floors.last().map_or(0.0, |f| f.1);
        let floor_growth_pct = if f_first > 0.0 {
            (f_last - f_first) / f_first * 100.0
        } else {
            0.0
        };
        let mid = floors.len() / 2;
        let rate = |a: (i64, f64), b: (i64, f64)| (b.1 - a.1) / ((b.0 - a.0).max(1) as f64);
        let late_to_early = if floors.len() >= 3 {
            let early = rate(floors[0], floors[mid]);
            let late = rate(floors[mid], floors[floors.len() - 1]);
            if early > 0.0 { late / early } else { 0.0 }
        } else {
            1.0
        };
        Some(Trend {
            metric: metric.to_string(),
            points: points.len(),
            first: points[0].1,
            last: points[points.len() - 1].1,
            slope_per_min: slope,
            r2,
            floors,
            floor_slope_per_min: floor_slope,
            floor_r2,
            floor_growth_pct,
            late_to_early,
        })
    }

    /// Keeps rising after GC: the floor grows steadily and does not flatten.
    pub fn keeps_rising(&self, t: &VerdictThresholds) -> bool {
        self.floor_growth_pct >= t.min_floor_growth_pct
            && self.floor_r2 >= t.min_floor_r2
            && self.late_to_early >= t.plateau_ratio
    }

    /// Rises slowly but steadily after GC: less floor growth than
    /// [`Trend::keeps_rising`] asks for, on a close fit that does not
    /// flatten (a slow leak: a few percent over the window).
    pub fn rises_slowly(&self, t: &VerdictThresholds) -> bool {
        self.floor_growth_pct >= t.min_slow_growth_pct
            && self.floor_r2 >= t.min_slow_r2
            && self.late_to_early >= 0.5
    }

    /// Rose, then flattened out (a cache warming up).
    pub fn plateaued(&self, t: &VerdictThresholds) -> bool {
        self.floor_growth_pct >= t.min_floor_growth_pct && self.late_to_early < t.plateau_ratio
    }
}

/// The outcome of the metrics trend check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Memory and objects keep rising after GC under flat or falling load.
    Leak,
    /// Some but not all of the signs of a leak.
    Suspect,
    /// Flat after GC, a plateau (warm-up), or growth that follows load.
    NotALeak,
    /// Too few points or too short a window to say.
    NotEnoughData,
}

impl Verdict {
    /// `leak`, `suspect`, `not a leak` or `not enough data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Leak => "leak",
            Verdict::Suspect => "suspect",
            Verdict::NotALeak => "not a leak",
            Verdict::NotEnoughData => "not enough data",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The thresholds of [`verdict`]; the defaults are deliberately conservative.
#[derive(Debug, Clone)]
pub struct VerdictThresholds {
    /// Fewest metric points needed (default 6).
    pub min_points: usize,
    /// Shortest observation window in seconds (default 30).
    pub min_span_secs: f64,
    /// Floor windows (default 6).
    pub windows: usize,
    /// Floor growth, in percent, that counts as growth (default 10).
    pub min_floor_growth_pct: f64,
    /// R² the floors must reach to count as steady (default 0.7).
    pub min_floor_r2: f64,
    /// Late-to-early floor growth ratio below which growth has flattened
    /// out (default 0.3).
    pub plateau_ratio: f64,
    /// Load growth, in percent, above which load explains memory (default 20).
    pub load_growth_pct: f64,
    /// Floor growth, in percent, that counts as slow but steady growth when
    /// its fit is close (default 2).
    pub min_slow_growth_pct: f64,
    /// R² the floors of slow growth must reach (default 0.95).
    pub min_slow_r2: f64,
    /// Late-to-early floor growth ratio, of heap in use and of heap objects
    /// both, at or above which a flattening is still growth underneath
    /// (default 0.1: a cache that has filled is below it on one of them).
    pub still_rising_ratio: f64,
    /// R² the floors of RSS must reach for memory outside the Go heap to
    /// count as growing steadily (default 0.9; a warming cache's RSS
    /// rises on a looser fit and flattens).
    pub min_outside_r2: f64,
}

impl Default for VerdictThresholds {
    fn default() -> Self {
        VerdictThresholds {
            min_points: 6,
            min_span_secs: crate::defaults::MIN_SPAN.as_secs_f64(),
            windows: 6,
            min_floor_growth_pct: 10.0,
            min_floor_r2: 0.7,
            plateau_ratio: 0.3,
            load_growth_pct: 20.0,
            min_slow_growth_pct: 2.0,
            min_slow_r2: 0.95,
            min_outside_r2: 0.9,
            still_rising_ratio: 0.1,
        }
    }
}

/// Request load over the window: the counter's rate early and late.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// The counter used.
    pub metric: String,
    /// Requests per second in the first third of the window.
    pub early_rate: f64,
    /// Requests per second in the last third.
    pub late_rate: f64,
    /// Change from early to late, in percent.
    pub change_pct: f64,
}

/// A leak verdict with the numbers behind it.
#[derive(Debug, Clone)]
pub struct LeakVerdict {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, one sentence per finding.
    pub reasons: Vec<String>,
    /// Window length in seconds.
    pub span_secs: f64,
    /// `process_resident_memory_bytes`.
    pub rss: Option<Trend>,
    /// `go_memstats_heap_inuse_bytes`.
    pub heap_inuse: Option<Trend>,
    /// `go_memstats_heap_objects`.
    pub heap_objects: Option<Trend>,
    /// `go_goroutines`.
    pub goroutines: Option<Trend>,
    /// GC cycles completed during the window, when known.
    pub gc_cycles: Option<f64>,
    /// Request load, when a counter is present.
    pub load: Option<Load>,
}

/// Computes the load from a counter: its rate early and late in the window
/// (`None` with fewer than four points, or rates too large for an `f64`).
pub fn load(series: &MetricSeries, counter: &str) -> Option<Load> {
    let p = series.points(counter);
    if p.len() < 4 {
        return None;
    }
    let n = p.len();
    let third = (n / 3).max(1);
    let rate = |a: (i64, f64), b: (i64, f64)| {
        let dt = (b.0 - a.0) as f64 / 1000.0;
        if dt > 0.0 {
            (b.1 - a.1).max(0.0) / dt
        } else {
            0.0
        }
    };
    let early = rate(p[0], p[third]);
    let late = rate(p[n - 1 - third], p[n - 1]);
    let change_pct = if early > 0.0 {
        (late - early) / early * 100.0
    } else {
        0.0
    };
    // A counter near the largest f64 overflows the rates: no load figure.
    [early, late, change_pct]
        .iter()
        .all(|x| x.is_finite())
        .then(|| Load {
            metric: counter.to_string(),
            early_rate: early,
            late_rate: late,
            change_pct,
        })
}

/// The metrics trend check: `leak`, `suspect`, `not a leak` or `not enough
/// data`, conservatively (see the module docs). `counter` names the request
/// counter used to judge load ([`names::REQUESTS`] by default). Values that
/// are not finite numbers are not judged: the reasons end with how many of
/// each metric read were ignored, and in which file.
pub fn verdict(series: &MetricSeries, counter: Option<&str>, t: &VerdictThresholds) -> LeakVerdict {
    let counter = counter.unwrap_or(crate::defaults::REQUEST_COUNTER);
    // A restart drops memory to its start: a series across it would read
    // as memory that comes down. Only the points since the last start are
    // judged, and the verdict says so.
    let restarts = series.restarts();
    let since_start;
    let judged = match restarts.last() {
        Some(&start) => {
            since_start = series.since(start);
            &since_start
        }
        None => series,
    };
    let mut v = judge(judged, counter, t);
    if let Some(&start) = restarts.last() {
        v.reasons.insert(
            0,
            format!(
                "the service restarted {} time{} in the window ({} changed; first point after the last start: {}): only the {} points since then are judged; memory that drops at a restart is not a fix",
                restarts.len(),
                if restarts.len() == 1 { "" } else { "s" },
                names::PROCESS_START,
                crate::units::format_time_utc(start.saturating_mul(1_000_000)),
                judged.points(names::HEAP_INUSE).len()
            ),
        );
    }
    v.reasons.extend(series.non_finite_notes(&[
        names::HEAP_INUSE,
        names::HEAP_OBJECTS,
        names::RSS,
        names::GOROUTINES,
        names::GC_COUNT,
        counter,
    ]));
    v
}

impl Trend {
    /// True when every figure of the trend is a finite number (values near
    /// the largest `f64` overflow the fit).
    fn is_finite(&self) -> bool {
        [
            self.slope_per_min,
            self.r2,
            self.floor_slope_per_min,
            self.floor_r2,
            self.floor_growth_pct,
            self.late_to_early,
        ]
        .iter()
        .all(|x| x.is_finite())
    }
}

fn judge(series: &MetricSeries, counter: &str, t: &VerdictThresholds) -> LeakVerdict {
    let trend = |m: &str| Trend::of(m, &series.points(m), t.windows);
    let heap_inuse = trend(names::HEAP_INUSE);
    let heap_objects = trend(names::HEAP_OBJECTS);
    let rss = trend(names::RSS);
    let goroutines = trend(names::GOROUTINES);
    let gc = series.points(names::GC_COUNT);
    let gc_cycles = (gc.len() >= 2)
        .then(|| gc[gc.len() - 1].1 - gc[0].1)
        .filter(|n| n.is_finite());
    let load = load(series, counter);
    let heap_points = series.points(names::HEAP_INUSE);
    let span_secs = match (heap_points.first(), heap_points.last()) {
        (Some(a), Some(b)) => (b.0 - a.0) as f64 / 1000.0,
        _ => 0.0,
    };
    let mut v = LeakVerdict {
        verdict: Verdict::NotEnoughData,
        reasons: Vec::new(),
        span_secs,
        rss,
        heap_inuse,
        heap_objects,
        goroutines,
        gc_cycles,
        load,
    };
    let (Some(inuse), Some(objects)) = (&v.heap_inuse, &v.heap_objects) else {
        v.reasons.push(format!(
            "need {} and {} over time; the series has: {}",
            names::HEAP_INUSE,
            names::HEAP_OBJECTS,
            series.metric_names().join(", ")
        ));
        return v;
    };
    if inuse.points < t.min_points || span_secs < t.min_span_secs {
        v.reasons.push(format!(
            "{} points over {:.0} s; need at least {} points over {:.0} s",
            inuse.points, span_secs, t.min_points, t.min_span_secs
        ));
        return v;
    }
    let overflow = [inuse, objects]
        .into_iter()
        .find(|tr| !tr.is_finite())
        .map(|tr| {
            format!(
                "{}: values too large to fit a trend (from {:e} to {:e})",
                tr.metric, tr.first, tr.last
            )
        });
    if let Some(why) = overflow {
        v.reasons.push(why);
        return v;
    }
    if let Some(gc) = v.gc_cycles
        && gc < 2.0
    {
        v.reasons.push(format!(
            "only {gc:.0} GC cycles in the window: memory after GC cannot be judged yet"
        ));
        return v;
    }
    let describe = |tr: &Trend| {
        format!(
            "{}: floor after GC {:+.1}% (R² {:.2}), late/early growth {:.2}",
            tr.metric, tr.floor_growth_pct, tr.floor_r2, tr.late_to_early
        )
    };
    v.reasons.push(describe(inuse));
    v.reasons.push(describe(objects));
    let load_rising = v
        .load
        .as_ref()
        .is_some_and(|l| l.change_pct > t.load_growth_pct);
    if let Some(l) = &v.load {
        v.reasons.push(format!(
            "load ({}): {:.1}/s early, {:.1}/s late ({:+.0}%)",
            l.metric, l.early_rate, l.late_rate, l.change_pct
        ));
    }
    // Memory outside the Go heap: RSS, else what the runtime took from the
    // system (which misses cgo and foreign mmap).
    let outside = v
        .rss
        .clone()
        .or_else(|| trend(names::SYS))
        .filter(|r| r.is_finite() && r.points >= t.min_points);
    if let Some(r) = &outside {
        v.reasons.push(describe(r));
    }
    let slow = |tr: &Trend| !tr.keeps_rising(t) && tr.rises_slowly(t);
    let inuse_rising = inuse.keeps_rising(t) || inuse.rises_slowly(t);
    let objects_rising = objects.keeps_rising(t) || objects.rises_slowly(t);
    if slow(inuse) || slow(objects) {
        v.reasons.push(format!(
            "slow, steady growth counts too: a floor that rises at least {:.0}% on a fit of R² {:.2} or better without flattening",
            t.min_slow_growth_pct, t.min_slow_r2
        ));
    }
    let rss_rising = v
        .rss
        .as_ref()
        .is_none_or(|r| r.keeps_rising(t) || r.floor_growth_pct > 0.0);
    v.verdict = if inuse_rising && objects_rising && !load_rising && rss_rising {
        v.reasons
            .push("heap in use and heap objects keep rising after GC under steady load".into());
        Verdict::Leak
    } else if (inuse_rising || objects_rising) && !load_rising {
        v.reasons.push(
            "one of heap in use / heap objects keeps rising after GC, the other does not: watch longer"
                .into(),
        );
        Verdict::Suspect
    } else if (inuse_rising || objects_rising) && load_rising {
        v.reasons
            .push("memory rises, but so does load: growth follows load".into());
        Verdict::NotALeak
    } else if (inuse.plateaued(t) || objects.plateaued(t))
        && inuse.late_to_early >= t.still_rising_ratio
        && objects.late_to_early >= t.still_rising_ratio
        && !load_rising
    {
        v.reasons.push(format!(
            "memory rose fast, then kept rising more slowly (late/early growth {:.2} and {:.2}, both at least {:.2}): a warm-up, or a leak underneath it; rank growth by owner (`heapframe growth`) to tell",
            inuse.late_to_early, objects.late_to_early, t.still_rising_ratio
        ));
        Verdict::Suspect
    } else if inuse.plateaued(t) || objects.plateaued(t) {
        v.reasons
            .push("memory rose, then flattened out: a warm-up that plateaus".into());
        Verdict::NotALeak
    } else {
        v.reasons
            .push("memory comes back down after GC: no lasting growth".into());
        Verdict::NotALeak
    };
    // RSS that keeps rising steadily is what pages people: it is never
    // waved away because the Go heap is flat.
    if !inuse_rising
        && !objects_rising
        && let Some(r) = &outside
        && r.keeps_rising(t)
        && r.floor_r2 >= t.min_outside_r2
        && r.late_to_early >= 0.5
    {
        v.reasons.push(format!(
            "but {} keeps rising after GC while the Go heap does not: memory grows outside the Go heap (cgo, mmap, goroutine stacks, or fragmentation); check next: goroutines and {}, {} minus {}, and the process's /proc/PID/smaps",
            r.metric,
            names::STACK_INUSE,
            names::HEAP_IDLE,
            names::HEAP_RELEASED
        ));
        v.verdict = Verdict::Suspect;
    }
    v
}

/// The outcome of a before/after regression check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// After the fix, memory no longer keeps rising after GC.
    Fixed,
    /// Growth slowed down markedly but did not stop.
    Improved,
    /// Growth continues much as before.
    NotFixed,
    /// One of the two windows has too little data.
    NotEnoughData,
}

impl Outcome {
    /// `fixed`, `improved`, `not fixed` or `not enough data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fixed => "fixed",
            Outcome::Improved => "improved",
            Outcome::NotFixed => "not fixed",
            Outcome::NotEnoughData => "not enough data",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A before/after comparison under (supposedly) the same load.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The outcome.
    pub outcome: Outcome,
    /// The verdict on the window before the fix.
    pub before: LeakVerdict,
    /// The verdict on the window after the fix.
    pub after: LeakVerdict,
    /// Heap-object floor slope per minute, before and after.
    pub objects_slope: (f64, f64),
    /// Heap-in-use floor slope per minute (bytes), before and after.
    pub inuse_slope: (f64, f64),
    /// After the fix, the object count flattened out or stayed flat.
    pub objects_plateau: bool,
    /// After the fix, heap in use comes back down after GC (no floor growth).
    pub inuse_falls_after_gc: bool,
    /// After the fix, RSS no longer only goes up.
    pub rss_not_one_way: Option<bool>,
    /// Findings, one sentence each (including a warning when load differs).
    pub reasons: Vec<String>,
}

/// Compares the metrics of a window before a fix with one after it.
pub fn validate(
    before: &MetricSeries,
    after: &MetricSeries,
    counter: Option<&str>,
    t: &VerdictThresholds,
) -> Validation {
    let b = verdict(before, counter, t);
    let a = verdict(after, counter, t);
    let slope = |v: &LeakVerdict, f: fn(&LeakVerdict) -> &Option<Trend>| {
        f(v).as_ref().map_or(0.0, |tr| tr.floor_slope_per_min)
    };
    let objects_slope = (
        slope(&b, |v| &v.heap_objects),
        slope(&a, |v| &v.heap_objects),
    );
    let inuse_slope = (slope(&b, |v| &v.heap_inuse), slope(&a, |v| &v.heap_inuse));
    let objects_plateau = a
        .heap_objects
        .as_ref()
        .is_some_and(|tr| !tr.keeps_rising(t));
    let inuse_falls_after_gc = a.heap_inuse.as_ref().is_some_and(|tr| !tr.keeps_rising(t));
    let rss_not_one_way = a.rss.as_ref().map(|tr| !tr.keeps_rising(t));
    let mut reasons = vec![
        format!(
            "heap objects after GC: {:+.0}/min before, {:+.0}/min after",
            objects_slope.0, objects_slope.1
        ),
        format!(
            "heap in use after GC: {}/min before, {}/min after",
            crate::units::scaled_label(inuse_slope.0 as i64, "bytes", "auto"),
            crate::units::scaled_label(inuse_slope.1 as i64, "bytes", "auto"),
        ),
    ];
    if let (Some(lb), Some(la)) = (&b.load, &a.load) {
        let avg = |l: &Load| (l.early_rate + l.late_rate) / 2.0;
        let (x, y) = (avg(lb), avg(la));
        if x > 0.0 && ((y - x) / x).abs() > 0.3 {
            reasons.push(format!(
                "warning: load differs ({x:.1}/s before, {y:.1}/s after): compare under the same load"
            ));
        }
    }
    let outcome = if b.verdict == Verdict::NotEnoughData || a.verdict == Verdict::NotEnoughData {
        Outcome::NotEnoughData
    } else if a.verdict == Verdict::NotALeak && inuse_falls_after_gc && objects_plateau {
        Outcome::Fixed
    } else if objects_slope.0 > 0.0 && objects_slope.1 < 0.5 * objects_slope.0 {
        Outcome::Improved
    } else {
        Outcome::NotFixed
    };
    reasons.push(format!("before: {}; after: {}", b.verdict, a.verdict));
    Validation {
        outcome,
        before: b,
        after: a,
        objects_slope,
        inuse_slope,
        objects_plateau,
        inuse_falls_after_gc,
        rss_not_one_way,
        reasons,
    }
}
