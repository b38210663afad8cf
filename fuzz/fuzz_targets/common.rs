//! What every fuzz target of metric input checks on the samples a parser
//! returned: times in range, labels sorted, non-finite values kept apart
//! by `MetricSeries`, a metrics table that reads back exactly what was
//! written, and a verdict that is only confident on finite figures.
#![allow(dead_code)]

use heapframe::evidence::metrics::{MAX_TIME_MS, MetricSample, MetricSeries, parse_csv};
use heapframe::evidence::verdict::{Trend, Verdict, validate, verdict};

/// A sample as a comparable key: NaN equals NaN, other values by bits.
fn key(s: &MetricSample) -> (i64, String, Vec<(String, String)>, u64) {
    let bits = if s.value.is_nan() {
        f64::NAN.to_bits()
    } else {
        s.value.to_bits()
    };
    (s.time_ms, s.metric.clone(), s.labels.clone(), bits)
}

/// Asserts the properties of parsed samples (see the module docs).
pub fn check_samples(samples: &[MetricSample]) {
    for s in samples {
        assert!(
            (0..=MAX_TIME_MS).contains(&s.time_ms),
            "time out of range: {s:?}"
        );
        assert!(
            s.labels.windows(2).all(|w| w[0] <= w[1]),
            "labels not sorted: {s:?}"
        );
    }
    let series = MetricSeries::new(samples.to_vec());
    assert_eq!(
        series.samples.len() + series.non_finite.len(),
        samples.len()
    );
    assert!(series.samples.iter().all(|s| s.value.is_finite()));
    assert!(
        series
            .non_finite
            .iter()
            .all(|s| !s.sample.value.is_finite())
    );
    let csv = series.to_csv();
    let back = parse_csv(&csv, "roundtrip.csv")
        .unwrap_or_else(|e| panic!("to_csv wrote what parse_csv refuses: {e}\n{csv:?}"));
    let mut want: Vec<_> = samples.iter().map(key).collect();
    let mut got: Vec<_> = back.iter().map(key).collect();
    want.sort();
    got.sort();
    assert_eq!(want, got, "the metrics table does not round-trip");
    check_series(&series);
}

fn finite(t: &Trend) -> bool {
    [
        t.first,
        t.last,
        t.slope_per_min,
        t.r2,
        t.floor_slope_per_min,
        t.floor_r2,
        t.floor_growth_pct,
        t.late_to_early,
    ]
    .iter()
    .all(|x| x.is_finite())
        && t.floors.iter().all(|f| f.1.is_finite())
}

/// Asserts that nothing but finite points reach a fit, and that a
/// confident verdict rests on finite figures.
pub fn check_series(series: &MetricSeries) {
    for m in series.metric_names() {
        assert!(series.points(&m).iter().all(|p| p.1.is_finite()));
    }
    let v = verdict(series);
    if v.verdict != Verdict::NotEnoughData {
        let Some(a) = &v.heap_inuse else {
            panic!("a {} verdict without a heap trend", v.verdict);
        };
        assert!(
            finite(a) && v.heap_objects.as_ref().is_none_or(finite),
            "a {} verdict on figures that are not finite: {v:?}",
            v.verdict
        );
        // Heap bytes alone (a gctrace log) never make a leak.
        assert!(
            v.heap_objects.is_some() || v.verdict != Verdict::Leak,
            "a leak verdict without heap objects: {v:?}"
        );
    }
    assert!(v.span_secs.is_finite());
    assert!(v.gc_cycles.is_none_or(f64::is_finite), "{v:?}");
    if let Some(l) = &v.load {
        assert!(
            [l.early_rate, l.late_rate, l.change_pct]
                .iter()
                .all(|x| x.is_finite()),
            "{l:?}"
        );
    }
    let _ = validate(series, series);
}

/// Asserts that an error is one line and starts with `prefix` (the input's
/// name and what kind of input it is).
pub fn check_error(e: &heapframe::Error, prefix: &str) {
    let msg = e.to_string();
    assert!(
        msg.starts_with(prefix),
        "error does not start with {prefix:?}: {msg}"
    );
    assert!(!msg.contains('\n'), "error is not one line: {msg:?}");
}
