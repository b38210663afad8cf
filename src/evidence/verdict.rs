//! The leak verdict from metric trends, and the before/after regression check.

use crate::evidence::metrics::{MetricSeries, names};
use crate::growth::{GrowthTable, linear_fit};
use crate::profile::ValueType;
use crate::units::per_min;

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
        // Growth from the first floor above zero: a series that starts at
        // 0 (a gctrace log's live heap in whole MiB, early on) still grows.
        let f_first = floors.iter().map(|f| f.1).find(|&v| v > 0.0).unwrap_or(0.0);
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
    /// How many times the load's growth (in percent) memory's floor may
    /// grow and still be said to follow load (default 3: a window of
    /// requests or a per-client cache grows about as load does; a heap
    /// floor up 500% on load up 25% is not explained by it).
    pub load_outpaced_ratio: f64,
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
    /// Fewest heap snapshots for an owner to count as growing steadily
    /// (default 4: three intervals).
    pub owner_min_snapshots: usize,
    /// R² an owner's values over time must reach (default 0.9).
    pub owner_min_r2: f64,
    /// Share of the intervals between snapshots in which an owner must
    /// grow (default 0.8).
    pub owner_min_steadiness: f64,
    /// An owner's growth, in percent of the heap at the last snapshot,
    /// below which it does not count (default 1).
    pub owner_min_heap_pct: f64,
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
            load_outpaced_ratio: 3.0,
            min_slow_growth_pct: 2.0,
            min_slow_r2: 0.95,
            min_outside_r2: 0.9,
            still_rising_ratio: 0.1,
            owner_min_snapshots: 4,
            owner_min_r2: 0.9,
            owner_min_steadiness: 0.8,
            owner_min_heap_pct: 1.0,
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

/// "load (http_requests_total): 412.0/s early, 398.3/s late (-3%)", as
/// the verdict's reasons say it.
impl std::fmt::Display for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "load ({}): {:.1}/s early, {:.1}/s late ({:+.0}%)",
            self.metric, self.early_rate, self.late_rate, self.change_pct
        )
    }
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
    /// What the floors after GC show, as a case (the verdict's reason).
    pub shape: Shape,
    /// RSS (else `go_memstats_sys_bytes`) keeps rising steadily while the
    /// Go heap does not: memory grows outside the Go heap.
    pub outside_heap: bool,
    /// Restarts in the window (only the points since the last are judged).
    pub restarts: usize,
    /// How many of `reasons`, from the first, state numbers (restarts,
    /// trends, load); the rest conclude.
    pub facts: usize,
}

/// What the metrics' floors after GC show: the case [`verdict`] decided
/// on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Too few points, too short a window, too few GC cycles, or a
    /// missing heap metric.
    TooLittle,
    /// Heap in use and heap objects both keep rising (or rise slowly and
    /// steadily).
    BothRising,
    /// One of heap in use / heap objects keeps rising, the other does not.
    OneRising,
    /// The live heap keeps rising after GC, but heap objects were not
    /// measured (a gctrace log alone counts bytes).
    BytesRising,
    /// Memory rises, and so does load, in proportion.
    FollowsLoad,
    /// Memory rises, and so does load, but memory far faster: load alone
    /// does not explain it.
    OutpacesLoad,
    /// Memory rose fast, then kept rising more slowly.
    StillRising,
    /// Memory rose, then flattened out.
    Plateau,
    /// No lasting growth after GC.
    Flat,
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

/// How [`verdict_with`] and [`validate_with`] judge a metric series.
#[derive(Debug, Clone)]
pub struct VerdictOptions {
    /// The request counter that measures load (default
    /// [`names::REQUESTS`]).
    pub counter: String,
    /// The thresholds (conservative by default).
    pub thresholds: VerdictThresholds,
}

impl Default for VerdictOptions {
    fn default() -> Self {
        VerdictOptions {
            counter: crate::defaults::REQUEST_COUNTER.to_string(),
            thresholds: VerdictThresholds::default(),
        }
    }
}

/// The metrics trend check with the default options: `leak`, `suspect`,
/// `not a leak` or `not enough data`, conservatively (see the module docs
/// and [`verdict_with`]).
///
/// ```
/// use heapframe::evidence::{bundle::Bundle, verdict};
/// let b = Bundle::open("tests/fixtures/bundles/mapcache")?;
/// assert_eq!(verdict::verdict(&b.metrics).verdict, verdict::Verdict::Leak);
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn verdict(series: &MetricSeries) -> LeakVerdict {
    verdict_with(series, &VerdictOptions::default())
}

/// The metrics trend check: `leak`, `suspect`, `not a leak` or `not enough
/// data`, conservatively (see the module docs). `opts.counter` names the
/// request counter used to judge load. Values that are not finite numbers
/// are not judged: the reasons end with how many of each metric read were
/// ignored, and in which file.
pub fn verdict_with(series: &MetricSeries, opts: &VerdictOptions) -> LeakVerdict {
    let (counter, t) = (opts.counter.as_str(), &opts.thresholds);
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
    v.restarts = restarts.len();
    if let Some(&start) = restarts.last() {
        v.facts += 1;
        v.reasons.insert(
            0,
            format!(
                "the service restarted {} time{} in the window ({}; first point after the last start: {}): only the {} points since then are judged; memory that drops at a restart is not a fix",
                restarts.len(),
                if restarts.len() == 1 { "" } else { "s" },
                series.restart_signal(),
                crate::units::format_time_utc(start.saturating_mul(1_000_000)),
                judged.points(names::HEAP_INUSE).len()
            ),
        );
    }
    v.reasons.extend(series.notes.iter().cloned());
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

/// The heap series the verdict judges: heap in use (scrapes, expvar or
/// `?debug=1` trailers) when it has enough points, else the live heap a
/// gctrace log prints after every GC cycle when that has.
pub fn heap_metric(series: &MetricSeries, t: &VerdictThresholds) -> &'static str {
    if series.points(names::HEAP_INUSE).len() < t.min_points
        && series.points(names::GCTRACE_HEAP_LIVE).len() >= t.min_points
    {
        names::GCTRACE_HEAP_LIVE
    } else {
        names::HEAP_INUSE
    }
}

fn judge(series: &MetricSeries, counter: &str, t: &VerdictThresholds) -> LeakVerdict {
    let trend = |m: &str| Trend::of(m, &series.points(m), t.windows);
    let heap_metric = heap_metric(series, t);
    let heap_inuse = trend(heap_metric);
    let heap_objects = trend(names::HEAP_OBJECTS);
    let rss = trend(names::RSS);
    let goroutines = trend(names::GOROUTINES);
    let gc = series.points(names::GC_COUNT);
    let gc_cycles = (gc.len() >= 2)
        .then(|| gc[gc.len() - 1].1 - gc[0].1)
        .filter(|n| n.is_finite());
    let load = load(series, counter);
    let heap_points = series.points(heap_metric);
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
        shape: Shape::TooLittle,
        outside_heap: false,
        restarts: 0,
        facts: 0,
    };
    // A gctrace log counts bytes, not objects: its heap alone is judged,
    // and never called a leak (objects must rise too).
    let bytes_only = heap_metric == names::GCTRACE_HEAP_LIVE
        && v.heap_objects
            .as_ref()
            .is_none_or(|o| o.points < t.min_points);
    let objects_or_bytes = if bytes_only {
        v.heap_inuse.clone()
    } else {
        v.heap_objects.clone()
    };
    let (Some(inuse), Some(objects)) = (&v.heap_inuse, &objects_or_bytes) else {
        v.reasons.push(format!(
            "need {} (or a gctrace log) and {} over time; the series has: {}",
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
    if bytes_only {
        v.reasons.push(format!(
            "{}: not in the evidence (a gctrace log counts bytes only): heap bytes alone can say suspect, never leak",
            names::HEAP_OBJECTS
        ));
    } else {
        v.reasons.push(describe(objects));
    }
    let load_rising = v
        .load
        .as_ref()
        .is_some_and(|l| l.change_pct > t.load_growth_pct);
    if let Some(l) = &v.load {
        v.reasons.push(l.to_string());
    }
    // Memory outside the Go heap: RSS, else the runtime/metrics total,
    // else what the runtime took from the system (both miss cgo and
    // foreign mmap).
    let outside = v
        .rss
        .clone()
        .or_else(|| trend(names::MEMORY_TOTAL))
        .or_else(|| trend(names::SYS))
        .filter(|r| r.is_finite() && r.points >= t.min_points);
    if let Some(r) = &outside {
        v.reasons.push(describe(r));
    }
    v.facts = v.reasons.len();
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
        v.shape = Shape::BothRising;
        Verdict::Leak
    } else if (inuse_rising || objects_rising) && !load_rising {
        v.reasons.push(
            "one of heap in use / heap objects keeps rising after GC, the other does not: watch longer"
                .into(),
        );
        v.shape = Shape::OneRising;
        Verdict::Suspect
    } else if (inuse_rising || objects_rising) && load_rising {
        // The growth of the floors that rise, against the load's.
        let memory_pct = [(inuse, inuse_rising), (objects, objects_rising)]
            .iter()
            .filter(|(_, rising)| *rising)
            .map(|(tr, _)| tr.floor_growth_pct)
            .fold(f64::MIN, f64::max);
        let load_pct = v.load.as_ref().map_or(0.0, |l| l.change_pct);
        if memory_pct > t.load_outpaced_ratio * load_pct {
            v.reasons.push(format!(
                "memory rises far faster than load (a heap floor {memory_pct:+.0}% against load {load_pct:+.0}%, more than {:.0} times as much): load does not explain it; compare at the same load",
                t.load_outpaced_ratio
            ));
            v.shape = Shape::OutpacesLoad;
            Verdict::Suspect
        } else {
            v.reasons.push(format!(
                "memory rises, but so does load, about as much (a heap floor {memory_pct:+.0}% against load {load_pct:+.0}%): growth follows load"
            ));
            v.shape = Shape::FollowsLoad;
            Verdict::NotALeak
        }
    } else if (inuse.plateaued(t) || objects.plateaued(t))
        && inuse.late_to_early >= t.still_rising_ratio
        && objects.late_to_early >= t.still_rising_ratio
        && !load_rising
    {
        v.reasons.push(format!(
            "memory rose fast, then kept rising more slowly (late/early growth {:.2} and {:.2}, both at least {:.2}): a warm-up, or a leak underneath it; rank growth by owner (`heapframe growth`) to tell",
            inuse.late_to_early, objects.late_to_early, t.still_rising_ratio
        ));
        v.shape = Shape::StillRising;
        Verdict::Suspect
    } else if inuse.plateaued(t) || objects.plateaued(t) {
        v.reasons
            .push("memory rose, then flattened out: a warm-up that plateaus".into());
        v.shape = Shape::Plateau;
        Verdict::NotALeak
    } else {
        v.reasons
            .push("memory comes back down after GC: no lasting growth".into());
        v.shape = Shape::Flat;
        Verdict::NotALeak
    };
    if bytes_only && v.verdict == Verdict::Leak {
        if let Some(last) = v.reasons.last_mut() {
            *last = format!(
                "the live heap keeps rising after GC{}",
                if v.load.is_some() {
                    " under steady load"
                } else {
                    " (load not measured)"
                }
            );
        }
        v.reasons.push(
            "suspect, not leak: heap objects were not measured; add ?debug=1 heap snapshots or /metrics scrapes of the same window to confirm"
                .into(),
        );
        v.shape = Shape::BytesRising;
        v.verdict = Verdict::Suspect;
    }
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
        let numbers = outside_numbers(series);
        if !numbers.is_empty() {
            if let Some(last) = v.reasons.last_mut() {
                last.push_str(&format!(" (in this window: {})", numbers.join("; ")));
            }
        }
        // The heap's own shape stays, said of the heap: the memory did not
        // flatten out.
        let heap_shape = v.reasons.len() - 2;
        match v.shape {
            Shape::Plateau => {
                v.reasons[heap_shape] = "the Go heap's floors rose, then flattened out".into()
            }
            Shape::Flat => v.reasons[heap_shape] = "the Go heap's floors do not keep rising".into(),
            _ => {}
        }
        v.verdict = Verdict::Suspect;
        v.outside_heap = true;
    }
    v
}

/// What the bundle's metrics say of the usual places memory outside the Go
/// heap goes, first to last scrape: goroutines, goroutine stacks, and heap
/// memory the runtime holds but has not returned (idle minus released).
fn outside_numbers(series: &MetricSeries) -> Vec<String> {
    let ends = |p: &[(i64, f64)]| Some((p.first()?.1, p.last()?.1));
    let bytes = |v: f64| crate::units::scaled_label(v as i64, "bytes", "auto");
    let mut out = Vec::new();
    if let Some((a, b)) = ends(&series.points(names::GOROUTINES)) {
        out.push(format!("{}: {a:.0} → {b:.0}", names::GOROUTINES));
    }
    if let Some((a, b)) = ends(&series.points(names::STACK_INUSE)) {
        out.push(format!(
            "{}: {} → {}",
            names::STACK_INUSE,
            bytes(a),
            bytes(b)
        ));
    }
    let idle = series.points(names::HEAP_IDLE);
    let released = series.points(names::HEAP_RELEASED);
    // Idle minus released at the scrapes that have both.
    let kept: Vec<(i64, f64)> = idle
        .iter()
        .filter_map(|&(t, i)| {
            let r = released.iter().find(|p| p.0 == t)?;
            Some((t, i - r.1))
        })
        .collect();
    if let Some((a, b)) = ends(&kept) {
        out.push(format!(
            "{} minus {}: {} → {}",
            names::HEAP_IDLE,
            names::HEAP_RELEASED,
            bytes(a),
            bytes(b)
        ));
    }
    out
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
    pub objects_slope: BeforeAfter,
    /// Heap-in-use floor slope per minute (bytes), before and after.
    pub inuse_slope: BeforeAfter,
    /// After the fix, the object count flattened out or stayed flat.
    pub objects_plateau: bool,
    /// After the fix, heap in use comes back down after GC (no floor growth).
    pub inuse_falls_after_gc: bool,
    /// After the fix, RSS no longer only goes up.
    pub rss_not_one_way: Option<bool>,
    /// Findings, one sentence each (including a warning when load differs).
    pub reasons: Vec<String>,
}

/// One number measured before a fix and after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeforeAfter {
    /// On the window before the fix.
    pub before: f64,
    /// On the window after the fix.
    pub after: f64,
}

/// Compares the metrics of a window before a fix with one after it, with
/// the default options (see [`validate_with`]).
pub fn validate(before: &MetricSeries, after: &MetricSeries) -> Validation {
    validate_with(before, after, &VerdictOptions::default())
}

/// Compares the metrics of a window before a fix with one after it: the
/// verdict on each, their floor slopes side by side, and whether the
/// objects plateau, heap in use falls after GC and RSS stopped going one
/// way after the fix.
pub fn validate_with(
    before: &MetricSeries,
    after: &MetricSeries,
    opts: &VerdictOptions,
) -> Validation {
    let t = &opts.thresholds;
    let b = verdict_with(before, opts);
    let a = verdict_with(after, opts);
    let slope = |v: &LeakVerdict, f: fn(&LeakVerdict) -> &Option<Trend>| {
        f(v).as_ref().map_or(0.0, |tr| tr.floor_slope_per_min)
    };
    let objects_slope = BeforeAfter {
        before: slope(&b, |v| &v.heap_objects),
        after: slope(&a, |v| &v.heap_objects),
    };
    let inuse_slope = BeforeAfter {
        before: slope(&b, |v| &v.heap_inuse),
        after: slope(&a, |v| &v.heap_inuse),
    };
    let objects_plateau = a
        .heap_objects
        .as_ref()
        .is_some_and(|tr| !tr.keeps_rising(t));
    let inuse_falls_after_gc = a.heap_inuse.as_ref().is_some_and(|tr| !tr.keeps_rising(t));
    let rss_not_one_way = a.rss.as_ref().map(|tr| !tr.keeps_rising(t));
    let mut reasons = vec![
        format!(
            "heap objects after GC: {} before, {} after",
            per_min(objects_slope.before, "objects"),
            per_min(objects_slope.after, "objects")
        ),
        format!(
            "heap in use after GC: {} before, {} after (MB = 2^20 bytes, as in pprof)",
            per_min(inuse_slope.before, "bytes"),
            per_min(inuse_slope.after, "bytes"),
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
    } else if objects_slope.before > 0.0 && objects_slope.after < 0.5 * objects_slope.before {
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

// ------------------------------------------------------ all the evidence

/// The owner a growth table of the heap snapshots ranks first, judged for
/// steady growth: at least [`VerdictThresholds::owner_min_snapshots`]
/// snapshots over at least the verdict's minimum window, an R² of its
/// values over time of at least [`VerdictThresholds::owner_min_r2`], grown
/// in at least [`VerdictThresholds::owner_min_steadiness`] of the
/// intervals, by at least [`VerdictThresholds::owner_min_heap_pct`] of the
/// heap, and not flattened out.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnerGrowth {
    /// The owner (the table's key: a function, a kind...).
    pub key: String,
    /// The sample type measured (`inuse_space`, `inuse_objects`).
    pub sample_type: ValueType,
    /// Snapshots judged.
    pub snapshots: usize,
    /// Seconds they span.
    pub span_secs: f64,
    /// The owner's value at the first snapshot.
    pub first: i64,
    /// Its value at the last.
    pub last: i64,
    /// `last - first` in percent of the whole heap at the last snapshot.
    pub heap_pct: f64,
    /// R² of its values over time.
    pub r2: f64,
    /// Intervals between snapshots in which it grew.
    pub intervals_grown: usize,
    /// It grew, then flattened out.
    pub plateau: bool,
    /// It grows steadily (see the type's docs).
    pub steady: bool,
    /// Why it does not count as steady growth (`None` when it does).
    pub why_not: Option<String>,
}

impl OwnerGrowth {
    /// The top row of `table`, judged; `None` when nothing grew.
    pub fn of(table: &GrowthTable, t: &VerdictThresholds) -> Option<OwnerGrowth> {
        let top = table.top_grower()?;
        let n = top.values.len();
        let span_secs = (table.times_ms[n - 1] - table.times_ms[0]) as f64 / 1000.0;
        let last_total = table.totals[n - 1];
        let heap_pct = if last_total > 0 {
            top.delta as f64 / last_total as f64 * 100.0
        } else {
            0.0
        };
        let intervals = n.saturating_sub(1).max(1);
        let intervals_grown = top.values.windows(2).filter(|w| w[1] > w[0]).count();
        let steadiness = intervals_grown as f64 / intervals as f64;
        let why_not = if n < t.owner_min_snapshots {
            Some(format!(
                "{n} snapshots; steady growth needs at least {}",
                t.owner_min_snapshots
            ))
        } else if span_secs < t.min_span_secs {
            Some(format!(
                "the snapshots span {span_secs:.0} s; steady growth needs at least {:.0} s",
                t.min_span_secs
            ))
        } else if top.below_resolution {
            Some(match &table.resolution {
                Some(r) => format!("its change is {}", r.explain()),
                None => "its change is below the sampling resolution".into(),
            })
        } else if top.plateau {
            Some("it grew, then flattened out".into())
        } else if top.r2.is_nan() || top.r2 < t.owner_min_r2 {
            Some(format!(
                "its values fit a line loosely (R² {:.2}, below {:.2})",
                top.r2, t.owner_min_r2
            ))
        } else if steadiness < t.owner_min_steadiness {
            Some(format!(
                "it grew in only {intervals_grown} of {intervals} intervals"
            ))
        } else if heap_pct < t.owner_min_heap_pct {
            Some(format!(
                "its growth is {heap_pct:.1}% of the heap, below {:.0}%",
                t.owner_min_heap_pct
            ))
        } else {
            None
        };
        Some(OwnerGrowth {
            key: top.key.clone(),
            sample_type: table.sample_type.clone(),
            snapshots: n,
            span_secs,
            first: top.values[0],
            last: top.values[n - 1],
            heap_pct,
            r2: top.r2,
            intervals_grown,
            plateau: top.plateau,
            steady: why_not.is_none(),
            why_not,
        })
    }

    /// The owner's numbers and whether it grows steadily, as one line.
    pub fn describe(&self) -> String {
        format!(
            "heap snapshots: {} ({}) {} → {} over {} snapshots in {:.1} min ({:.1}% of the heap, R² {:.2}, grew in {} of {} intervals): {}",
            self.key,
            self.sample_type.name,
            self.sample_type.format(self.first),
            self.sample_type.format(self.last),
            self.snapshots,
            self.span_secs / 60.0,
            self.heap_pct,
            self.r2,
            self.intervals_grown,
            self.snapshots.saturating_sub(1),
            match &self.why_not {
                None => "grows steadily".to_string(),
                Some(w) => format!("not steady growth ({w})"),
            }
        )
    }
}

/// Goroutine counts across the goroutine snapshots, judged like an owner
/// (at least 10 goroutines and 20% more, besides the owner rules).
#[derive(Debug, Clone, PartialEq)]
pub struct GoroutineGrowth {
    /// Snapshots counted.
    pub snapshots: usize,
    /// The first count.
    pub first: i64,
    /// The last count.
    pub last: i64,
    /// R² of the counts over time.
    pub r2: f64,
    /// Intervals in which the count grew.
    pub intervals_grown: usize,
    /// The count grows steadily.
    pub steady: bool,
}

impl GoroutineGrowth {
    /// Judges `counts` (`(time_ms, goroutines)`); `None` with fewer than
    /// two.
    pub fn of(counts: &[(i64, i64)], t: &VerdictThresholds) -> Option<GoroutineGrowth> {
        if counts.len() < 2 {
            return None;
        }
        let n = counts.len();
        let t0 = counts[0].0;
        let xy: Vec<(f64, f64)> = counts
            .iter()
            .map(|&(tm, c)| ((tm - t0) as f64 / 60_000.0, c as f64))
            .collect();
        let (_, r2) = linear_fit(&xy);
        let (first, last) = (counts[0].1, counts[n - 1].1);
        let grown = last.saturating_sub(first);
        let intervals_grown = counts.windows(2).filter(|w| w[1].1 > w[0].1).count();
        let span_secs = (counts[n - 1].0 - t0) as f64 / 1000.0;
        let steady = n >= t.owner_min_snapshots
            && span_secs >= t.min_span_secs
            && grown >= 10
            && grown as f64 >= 0.2 * first.max(1) as f64
            && r2 >= t.owner_min_r2
            && intervals_grown as f64 >= t.owner_min_steadiness * (n - 1) as f64;
        Some(GoroutineGrowth {
            snapshots: n,
            first,
            last,
            r2,
            intervals_grown,
            steady,
        })
    }

    /// The counts and whether they grow steadily, as one line.
    pub fn describe(&self) -> String {
        format!(
            "goroutine snapshots: {} → {} goroutines over {} snapshots (R² {:.2}, grew in {} of {} intervals): {}",
            self.first,
            self.last,
            self.snapshots,
            self.r2,
            self.intervals_grown,
            self.snapshots.saturating_sub(1),
            if self.steady {
                "grow steadily"
            } else {
                "no steady growth"
            }
        )
    }
}

/// The evidence that decided a [`CombinedVerdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The metrics' floors after GC.
    Metrics,
    /// The profiles: an owner or the goroutine count that grows steadily.
    Snapshots,
    /// Both, agreeing.
    Both,
}

impl Basis {
    /// `the metrics`, `the snapshots` or `the metrics and the snapshots`.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Metrics => "the metrics",
            Basis::Snapshots => "the snapshots",
            Basis::Both => "the metrics and the snapshots",
        }
    }
}

/// How sure a verdict is: a score from 0 to 1, the product of factors
/// that fall with fewer metric points and snapshots, a shorter window,
/// looser fits, evidence that disagrees and restarts, each named with
/// its factor in `lowered_by`.
#[derive(Debug, Clone, PartialEq)]
pub struct Confidence {
    /// The product of the factors.
    pub score: f64,
    /// What lowered it, with the factor.
    pub lowered_by: Vec<String>,
}

/// Metric points for full confidence.
pub const FULL_POINTS: usize = 60;
/// Heap snapshots for full confidence.
pub const FULL_SNAPSHOTS: usize = 6;
/// Window, in seconds, for full confidence (the checklist's five minutes).
pub const FULL_SPAN_SECS: f64 = 300.0;

impl Confidence {
    /// `high` (0.75 and above), `medium` (0.5 and above) or `low`.
    pub fn word(&self) -> &'static str {
        if self.score >= 0.75 {
            "high"
        } else if self.score >= 0.5 {
            "medium"
        } else {
            "low"
        }
    }

    /// `confidence: medium (0.62), lowered by ...`, as one line.
    pub fn describe(&self) -> String {
        let mut s = format!("confidence: {} ({:.2})", self.word(), self.score);
        if !self.lowered_by.is_empty() {
            s.push_str(", lowered by: ");
            s.push_str(&self.lowered_by.join("; "));
        }
        s
    }
}

/// The verdict from all the evidence: the metrics' floors after GC, the
/// owner that grows steadily across the heap snapshots, and the goroutine
/// count. See [`combine`] for the rules.
#[derive(Debug, Clone)]
pub struct CombinedVerdict {
    /// The verdict.
    pub verdict: Verdict,
    /// The evidence that decided it.
    pub decided_by: Basis,
    /// How it decided first, then every number it rests on (the metrics'
    /// lines, the owner's, the goroutines'), then how sure it is.
    pub reasons: Vec<String>,
    /// The verdict of the metrics alone.
    pub metrics: LeakVerdict,
    /// The owner looked at: the first of the tables given whose top owner
    /// grows steadily, else the first table's top owner.
    pub owner: Option<OwnerGrowth>,
    /// The goroutine count.
    pub goroutines: Option<GoroutineGrowth>,
    /// How sure the verdict is.
    pub confidence: Confidence,
}

/// Judges all the evidence together. `owners` are the top owners of the
/// heap snapshots' growth tables (by `inuse_space`, then by
/// `inuse_objects`), `goroutines` the goroutine counts. The rules, on the
/// metrics' [`Shape`]:
///
/// | metrics | an owner (or the goroutines) grows steadily | verdict |
/// |---|---|---|
/// | both heap floors keep rising | any | `leak` |
/// | one keeps rising, or both rise more slowly | yes | `leak` |
/// | one keeps rising, or both rise more slowly | no | `suspect` |
/// | the live heap keeps rising, objects not measured (gctrace alone) | yes | `leak` |
/// | the live heap keeps rising, objects not measured (gctrace alone) | no | `suspect` |
/// | memory follows load | any | `not a leak` (the owner is named) |
/// | memory rises far faster than load | yes | `suspect` (decided by both) |
/// | memory rises far faster than load | no | `suspect` |
/// | plateau or flat | yes | `suspect` (they disagree) |
/// | plateau or flat, memory outside the Go heap rising | no | `suspect` |
/// | plateau or flat | no | `not a leak` |
/// | not enough data | yes | `suspect` |
/// | not enough data | no | `not enough data` |
///
/// Goroutines that grow steadily count like an owner, except that they
/// alone never turn a `suspect` into a `leak`.
pub fn combine(
    metrics: LeakVerdict,
    owners: &[OwnerGrowth],
    goroutines: Option<GoroutineGrowth>,
) -> CombinedVerdict {
    let owner = owners.iter().find(|o| o.steady).or(owners.first()).cloned();
    let steady = owner.as_ref().filter(|o| o.steady);
    let g_steady = goroutines.as_ref().is_some_and(|g| g.steady);
    let name = |o: &OwnerGrowth| format!("{} ({})", o.key, o.sample_type.name);
    let judged_owner = owner.as_ref().is_some_and(|o| o.why_not.is_some());
    use Basis::*;
    use Verdict::*;
    let (verdict, basis, why) = match (metrics.shape, steady) {
        (Shape::BothRising, Some(o)) => (
            Leak,
            Both,
            format!(
                "heap floors keep rising after GC under steady load, and the heap snapshots show {} growing steadily",
                name(o)
            ),
        ),
        (Shape::BothRising, None) => (
            Leak,
            Metrics,
            "heap floors keep rising after GC under steady load (no single owner grows steadily in the heap snapshots)".to_string(),
        ),
        (Shape::OneRising | Shape::StillRising, Some(o)) => (
            Leak,
            Both,
            format!(
                "heap floors still rise after GC, and the heap snapshots show {} growing steadily underneath",
                name(o)
            ),
        ),
        (Shape::OneRising | Shape::StillRising, None) => (
            Suspect,
            Metrics,
            format!(
                "heap floors still rise after GC but not clearly, and {}: watch longer",
                if judged_owner {
                    "no owner grows steadily in the heap snapshots"
                } else {
                    "no heap snapshots confirm it"
                }
            ),
        ),
        (Shape::BytesRising, Some(o)) => (
            Leak,
            Both,
            format!(
                "the live heap keeps rising after GC, and the heap snapshots show {} growing steadily",
                name(o)
            ),
        ),
        (Shape::BytesRising, None) => (
            Suspect,
            Metrics,
            format!(
                "the live heap keeps rising after GC, but heap objects were not measured and {}: watch longer, with ?debug=1 heap snapshots or /metrics scrapes",
                if judged_owner {
                    "no owner grows steadily in the heap snapshots"
                } else {
                    "no heap snapshots confirm it"
                }
            ),
        ),
        (Shape::FollowsLoad, o) => (
            NotALeak,
            Metrics,
            match o {
                Some(o) => format!(
                    "memory follows load; {} grows steadily too, as load rose: compare at the same load before ruling a leak out",
                    name(o)
                ),
                None => "memory follows load".to_string(),
            },
        ),
        (Shape::OutpacesLoad, Some(o)) => (
            Suspect,
            Both,
            format!(
                "memory rises far faster than load, and the heap snapshots show {} growing steadily: a leak is likely, but load rose too; confirm at the same load",
                name(o)
            ),
        ),
        (Shape::OutpacesLoad, None) => (
            Suspect,
            Metrics,
            "memory rises far faster than load, which rose too: confirm at the same load"
                .to_string(),
        ),
        (Shape::Plateau | Shape::Flat, Some(o)) => (
            Suspect,
            Snapshots,
            format!(
                "the heap floors flattened, yet the heap snapshots show {} growing steadily: a leak the rest of the heap hides, or growth that has not settled yet; watch longer",
                name(o)
            ),
        ),
        (Shape::Plateau | Shape::Flat, None) if metrics.outside_heap => (
            Suspect,
            Metrics,
            "memory grows outside the Go heap while the heap floors do not rise".to_string(),
        ),
        (Shape::Plateau | Shape::Flat, None) if g_steady => (
            Suspect,
            Snapshots,
            "the heap floors do not rise, yet the goroutine count grows steadily: a goroutine leak in the making".to_string(),
        ),
        (Shape::Plateau | Shape::Flat, None) => (
            NotALeak,
            if judged_owner { Both } else { Metrics },
            format!(
                "{}{}",
                if metrics.shape == Shape::Plateau {
                    "memory rose, then flattened out"
                } else {
                    "no lasting growth after GC"
                },
                if judged_owner {
                    ", and no owner grows steadily in the heap snapshots"
                } else {
                    ""
                }
            ),
        ),
        (Shape::TooLittle, Some(o)) => (
            Suspect,
            Snapshots,
            format!(
                "the metrics cannot judge yet, but the heap snapshots show {} growing steadily",
                name(o)
            ),
        ),
        (Shape::TooLittle, None) if g_steady => (
            Suspect,
            Snapshots,
            "the metrics cannot judge yet, but the goroutine count grows steadily".to_string(),
        ),
        (Shape::TooLittle, None) => (
            NotEnoughData,
            Metrics,
            "the metrics cannot judge yet and no owner grows steadily in the heap snapshots"
                .to_string(),
        ),
    };
    let confidence = confidence_of(&metrics, owner.as_ref(), verdict, basis);
    let mut reasons = vec![format!("decided by {}: {why}", basis.as_str())];
    // The metrics' own conclusions are marked as theirs: the first line
    // above is the verdict.
    for (i, r) in metrics.reasons.iter().enumerate() {
        if i < metrics.facts || metrics.verdict == verdict {
            reasons.push(r.clone());
        } else {
            reasons.push(format!("the metrics alone ({}): {r}", metrics.verdict));
        }
    }
    if let Some(o) = &owner {
        reasons.push(o.describe());
    }
    if let Some(g) = &goroutines {
        reasons.push(g.describe());
    }
    reasons.push(confidence.describe());
    CombinedVerdict {
        verdict,
        decided_by: basis,
        reasons,
        metrics,
        owner,
        goroutines,
        confidence,
    }
}

/// The confidence of a combined verdict (see [`Confidence`]).
fn confidence_of(
    m: &LeakVerdict,
    owner: Option<&OwnerGrowth>,
    verdict: Verdict,
    basis: Basis,
) -> Confidence {
    let mut score = 1.0;
    let mut lowered_by = Vec::new();
    let mut factor = |f: f64, why: String| {
        if f < 0.995 {
            score *= f;
            lowered_by.push(format!("{why} (×{f:.2})"));
        }
    };
    let ramp = |x: f64| 0.6 + 0.4 * x.clamp(0.0, 1.0);
    let points = m.heap_inuse.as_ref().map_or(0, |t| t.points);
    factor(
        ramp(points as f64 / FULL_POINTS as f64),
        format!("{points} metric points (full at {FULL_POINTS})"),
    );
    factor(
        ramp(m.span_secs / FULL_SPAN_SECS),
        format!(
            "a window of {:.1} min (full at {:.0} min)",
            m.span_secs / 60.0,
            FULL_SPAN_SECS / 60.0
        ),
    );
    match owner {
        Some(o) => factor(
            ramp((o.snapshots as f64 - 2.0) / (FULL_SNAPSHOTS as f64 - 2.0)),
            format!("{} heap snapshots (full at {FULL_SNAPSHOTS})", o.snapshots),
        ),
        None => factor(0.7, "no heap snapshots that show growth".to_string()),
    }
    if matches!(verdict, Verdict::Leak | Verdict::Suspect) {
        // The loosest fit among the evidence that rises.
        let mut fits: Vec<(f64, String)> = Vec::new();
        for tr in [&m.heap_inuse, &m.heap_objects].into_iter().flatten() {
            if tr.floor_growth_pct > 0.0 && basis != Basis::Snapshots {
                fits.push((tr.floor_r2, tr.metric.clone()));
            }
        }
        if let Some(o) = owner.filter(|o| o.steady) {
            fits.push((o.r2, o.key.clone()));
        }
        if let Some((r2, what)) = fits.into_iter().min_by(|a, b| a.0.total_cmp(&b.0)) {
            factor(r2.clamp(0.5, 1.0), format!("a fit of R² {r2:.2} ({what})"));
        }
    }
    if basis == Basis::Snapshots {
        factor(0.75, "the metrics and the snapshots disagree".to_string());
    }
    if m.restarts > 0 {
        factor(
            0.85,
            format!(
                "{} restart{} in the window",
                m.restarts,
                if m.restarts == 1 { "" } else { "s" }
            ),
        );
    }
    Confidence { score, lowered_by }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(verdict: Verdict, shape: Shape) -> LeakVerdict {
        LeakVerdict {
            verdict,
            reasons: vec!["a fact".into(), "a conclusion".into()],
            span_secs: 600.0,
            rss: None,
            heap_inuse: None,
            heap_objects: None,
            goroutines: None,
            gc_cycles: Some(10.0),
            load: None,
            shape,
            outside_heap: false,
            restarts: 0,
            facts: 1,
        }
    }

    fn owner(steady: bool) -> OwnerGrowth {
        OwnerGrowth {
            key: "main.keep".into(),
            sample_type: ValueType {
                name: "inuse_space".into(),
                unit: "bytes".into(),
            },
            snapshots: 8,
            span_secs: 600.0,
            first: 0,
            last: 1 << 20,
            heap_pct: 10.0,
            r2: 0.98,
            intervals_grown: 7,
            plateau: false,
            steady,
            why_not: (!steady).then(|| "it grew, then flattened out".into()),
        }
    }

    fn goroutines(steady: bool) -> GoroutineGrowth {
        GoroutineGrowth {
            snapshots: 8,
            first: 10,
            last: 400,
            r2: 0.99,
            intervals_grown: 7,
            steady,
        }
    }

    /// Ten minutes of a heap that rises steadily after GC (a saw-tooth
    /// whose floor grows `heap_pct` percent), under a load that grows
    /// `load_pct` percent.
    fn rising_heap_under_load(heap_pct: f64, load_pct: f64) -> LeakVerdict {
        use crate::evidence::metrics::{MetricSample, MetricSeries};
        let mut samples = Vec::new();
        let mut requests = 0.0;
        for i in 0..=120 {
            let t = i as f64 / 120.0;
            let time_ms = 1_000_000 + i * 5_000;
            let floor = 10e6 * (1.0 + heap_pct / 100.0 * t);
            let sawtooth = 1.0 + 0.3 * ((i % 4) as f64 / 4.0);
            requests += 500.0 * (1.0 + load_pct / 100.0 * t);
            for (metric, value) in [
                (names::HEAP_INUSE, floor * sawtooth),
                (names::HEAP_OBJECTS, floor / 100.0 * sawtooth),
                (names::RSS, floor * 1.5),
                (crate::defaults::REQUEST_COUNTER, requests),
            ] {
                samples.push(MetricSample {
                    time_ms,
                    metric: metric.to_string(),
                    labels: vec![],
                    value,
                });
            }
        }
        verdict(&MetricSeries::new(samples))
    }

    #[test]
    fn memory_that_outpaces_load_is_not_explained_by_it() {
        // A heap floor that grows ten times as much as load (in percent):
        // suspect, not "follows load".
        let v = rising_heap_under_load(400.0, 50.0);
        assert_eq!(
            (v.verdict, v.shape),
            (Verdict::Suspect, Shape::OutpacesLoad),
            "{:#?}",
            v.reasons
        );
        assert!(
            v.reasons.iter().any(|r| r.contains("far faster than load")),
            "{:#?}",
            v.reasons
        );
        // About as much as load: growth follows load.
        let v = rising_heap_under_load(300.0, 200.0);
        assert_eq!(
            (v.verdict, v.shape),
            (Verdict::NotALeak, Shape::FollowsLoad),
            "{:#?}",
            v.reasons
        );
        // Flat load: a leak.
        let v = rising_heap_under_load(300.0, 0.0);
        assert_eq!(v.verdict, Verdict::Leak, "{:#?}", v.reasons);
    }

    /// Every row of `combine`'s table, including those no fixture bundle
    /// reaches.
    #[test]
    fn combine_follows_its_table() {
        use Shape::*;
        use Verdict::*;
        let rows = [
            (Leak, BothRising, Some(true), false, Leak, Basis::Both),
            (Leak, BothRising, Some(false), false, Leak, Basis::Metrics),
            (Suspect, BytesRising, Some(true), false, Leak, Basis::Both),
            (Suspect, BytesRising, None, false, Suspect, Basis::Metrics),
            (
                Suspect,
                BytesRising,
                Some(false),
                false,
                Suspect,
                Basis::Metrics,
            ),
            (Suspect, OneRising, Some(true), false, Leak, Basis::Both),
            (Suspect, StillRising, Some(true), false, Leak, Basis::Both),
            (
                Suspect,
                OneRising,
                Some(false),
                true,
                Suspect,
                Basis::Metrics,
            ),
            (Suspect, StillRising, None, false, Suspect, Basis::Metrics),
            (
                NotALeak,
                FollowsLoad,
                Some(true),
                true,
                NotALeak,
                Basis::Metrics,
            ),
            (
                NotALeak,
                Plateau,
                Some(true),
                false,
                Suspect,
                Basis::Snapshots,
            ),
            (NotALeak, Flat, Some(true), false, Suspect, Basis::Snapshots),
            (NotALeak, Flat, None, true, Suspect, Basis::Snapshots),
            (NotALeak, Plateau, Some(false), false, NotALeak, Basis::Both),
            (
                Suspect,
                OutpacesLoad,
                Some(true),
                false,
                Suspect,
                Basis::Both,
            ),
            (
                Suspect,
                OutpacesLoad,
                Some(false),
                false,
                Suspect,
                Basis::Metrics,
            ),
            (NotALeak, Flat, None, false, NotALeak, Basis::Metrics),
            (
                NotEnoughData,
                TooLittle,
                Some(true),
                false,
                Suspect,
                Basis::Snapshots,
            ),
            (
                NotEnoughData,
                TooLittle,
                None,
                true,
                Suspect,
                Basis::Snapshots,
            ),
            (
                NotEnoughData,
                TooLittle,
                Some(false),
                false,
                NotEnoughData,
                Basis::Metrics,
            ),
        ];
        for (m, shape, o, g, want, basis) in rows {
            let owners: Vec<OwnerGrowth> = o.map(owner).into_iter().collect();
            let v = combine(metrics(m, shape), &owners, Some(goroutines(g)));
            assert_eq!(
                (v.verdict, v.decided_by),
                (want, basis),
                "{m:?} {shape:?} owner {o:?} goroutines {g}: {:?}",
                v.reasons
            );
            assert!(v.reasons[0].starts_with(&format!("decided by {}: ", basis.as_str())));
            assert!(v.reasons.last().unwrap().starts_with("confidence: "));
            // The metrics' conclusion is marked as theirs when it differs.
            assert_eq!(
                v.reasons.iter().any(|r| r.starts_with("the metrics alone")),
                want != m,
                "{:?}",
                v.reasons
            );
        }
        // Memory outside the heap keeps a flat heap `suspect`.
        let mut outside = metrics(Suspect, Plateau);
        outside.outside_heap = true;
        assert_eq!(combine(outside, &[], None).verdict, Suspect);
    }

    #[test]
    fn confidence_names_what_lowered_it() {
        let full = combine(
            metrics(Verdict::Leak, Shape::BothRising),
            &[owner(true)],
            None,
        );
        // No heap trend: zero metric points.
        assert!(full.confidence.lowered_by[0].starts_with("0 metric points"));
        let mut restarted = metrics(Verdict::Leak, Shape::BothRising);
        restarted.restarts = 2;
        restarted.span_secs = 60.0;
        let thin = combine(restarted, &[], None);
        assert!(thin.confidence.score < full.confidence.score);
        let why = thin.confidence.lowered_by.join("; ");
        assert!(why.contains("a window of 1.0 min (full at 5 min)"), "{why}");
        assert!(why.contains("2 restarts in the window (×0.85)"), "{why}");
        assert!(why.contains("no heap snapshots that show growth"), "{why}");
        let disagree = combine(
            metrics(Verdict::NotALeak, Shape::Plateau),
            &[owner(true)],
            None,
        );
        assert!(
            disagree
                .confidence
                .lowered_by
                .iter()
                .any(|w| w.starts_with("the metrics and the snapshots disagree"))
        );
    }
}
