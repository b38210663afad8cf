//! Noise is not presented as findings: the profiler's own allocations are
//! left out of growth rankings (and said so), rows whose change rests on
//! one or two samples are marked below the sampling resolution and rank
//! last, and a table whose every row is below it concludes "not enough
//! data" rather than naming a grower.

use std::path::PathBuf;

use heapframe::evidence::verdict::{OwnerGrowth, VerdictThresholds};
use heapframe::findings::growth_sentences;
use heapframe::growth::{GrowthKey, GrowthOptions, GrowthTable, growth};
use heapframe::profile::Snapshot;
use heapframe::profile::{Function, Line, Location, Profile, Sample, ValueType};
use heapframe::views::notebook::NotebookDisplay;

const RATE: i64 = 512 * 1024;

/// A heap profile at `minute`: one sample per stack (leaf first) with
/// `(objects, bytes)` in use, sampled at one sample per 512 KiB.
fn heap(stacks: &[(&[&str], i64, i64)], minute: i64) -> Snapshot {
    let vt = |name: &str, unit: &str| ValueType {
        name: name.into(),
        unit: unit.into(),
    };
    let mut p = Profile {
        source: format!("heap-{minute}"),
        sample_types: vec![vt("inuse_objects", "count"), vt("inuse_space", "bytes")],
        period_type: vt("space", "bytes"),
        period: RATE,
        time_nanos: minute * 60_000_000_000,
        ..Default::default()
    };
    for (frames, objects, bytes) in stacks {
        let mut locs = Vec::new();
        for name in frames.iter() {
            let f = match p.functions.iter().position(|f| &*f.name == *name) {
                Some(i) => i,
                None => {
                    p.functions.push(Function {
                        id: p.functions.len() as u64 + 1,
                        name: (*name).into(),
                        ..Default::default()
                    });
                    p.locations.push(Location {
                        id: p.locations.len() as u64 + 1,
                        lines: vec![Line {
                            function: p.functions.len() as u32 - 1,
                            line: 1,
                            column: 0,
                        }],
                        ..Default::default()
                    });
                    p.functions.len() - 1
                }
            };
            locs.push(f as u32);
        }
        p.samples.push(&Sample {
            locations: locs,
            values: vec![*objects, *bytes],
            labels: vec![],
        });
    }
    Snapshot {
        path: PathBuf::from(format!("heap-{minute}.pb.gz")),
        time_ms: minute * 60_000,
        profile: p,
    }
}

const LEAK: &[&str] = &["main.leak", "main.handler"];
const TINY: &[&str] = &["main.tiny", "main.handler"];
const PROFILER: &[&str] = &[
    "compress/flate.NewWriter",
    "runtime/pprof.(*profileBuilder).build",
    "net/http/pprof.handler.ServeHTTP",
];

/// Five snapshots a minute apart: `main.leak` grows 8 MiB a minute, the
/// profiler's buffers grow faster still, and `main.tiny` gains one sample's
/// worth (many small objects) once.
fn series() -> Vec<Snapshot> {
    (0..5)
        .map(|m| {
            heap(
                &[
                    (LEAK, 1000 * (m + 1), 8 * RATE * 2 * (m + 1)),
                    (
                        TINY,
                        if m >= 3 { 40_000 } else { 8 },
                        if m >= 3 { RATE } else { 128 },
                    ),
                    (PROFILER, 10 * (m + 1), 40 * RATE * (m + 1)),
                ],
                m,
            )
        })
        .collect()
}

fn keys(t: &GrowthTable) -> Vec<&str> {
    t.rows.iter().map(|r| r.key.as_str()).collect()
}

#[test]
fn the_profilers_own_allocations_are_left_out_and_said_so() {
    let snaps = series();
    let t = growth(&snaps, &GrowthOptions::default()).unwrap();
    assert_eq!(keys(&t), ["main.leak", "main.tiny"]);
    assert_eq!(
        t.profiler,
        (1..=5).map(|m| 40 * RATE * m).collect::<Vec<_>>()
    );
    // Totals stay the profiles' own (as pprof shows them).
    assert_eq!(t.totals[0], 16 * RATE + 128 + 40 * RATE);
    let notes = t.notes(10);
    let left = notes.iter().find(|n| n.starts_with("left out:")).unwrap();
    assert!(left.contains("100MB at the last snapshot (+80MB"), "{left}");
    assert!(t.to_text(10).contains(left.as_str()));
    assert!(t.to_plain_text().contains(left.as_str()));
    // By kind too: no "profiler" row; kept on request, it is there.
    let kinds = growth(
        &snaps,
        &GrowthOptions {
            key: GrowthKey::Kind,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!keys(&kinds).contains(&"profiler"), "{:?}", keys(&kinds));
    let kept = growth(
        &snaps,
        &GrowthOptions {
            keep_profiler: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(kept.rows[0].key, "compress/flate.NewWriter");
    assert!(kept.profiler.iter().all(|&v| v == 0));
    assert!(!kept.notes(10).iter().any(|n| n.starts_with("left out:")));
}

#[test]
fn one_samples_worth_of_change_is_below_the_resolution() {
    let snaps = series();
    let t = growth(&snaps, &GrowthOptions::default()).unwrap();
    let tiny = t.rows.iter().find(|r| r.key == "main.tiny").unwrap();
    let leak = t.rows.iter().find(|r| r.key == "main.leak").unwrap();
    assert!(tiny.below_resolution && !leak.below_resolution);
    let r = t.resolution.as_ref().unwrap();
    assert_eq!((r.period, r.threshold()), (RATE, 2 * RATE));
    assert_eq!(r.compared, "inuse_space");
    let text = t.to_text(10);
    assert!(text.contains(" ~main.tiny"), "{text}");
    assert!(
        text.contains("~ 1 of these rows: below the sampling resolution: inuse_space changed by less than two sampling periods (1MB; the profile records one sample per 512kB allocated)"),
        "{text}"
    );
    let html = t.to_html();
    assert!(
        html.contains("~ main.tiny") && html.contains("class=\"hf-note\""),
        "{html}"
    );
    // Counted in objects, main.tiny grew most (+39,992 against +4,000),
    // yet its bytes changed by one sample's worth: still marked, and
    // ranked after the row the samples support.
    let objects = growth(
        &snaps,
        &GrowthOptions {
            sample_index: Some("inuse_objects".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(objects.resolution.as_ref().unwrap().compared, "inuse_space");
    assert_eq!(keys(&objects), ["main.leak", "main.tiny"]);
    assert_eq!(objects.rows[1].delta, 39_992);
    assert!(objects.rows[1].below_resolution && !objects.rows[0].below_resolution);
    let df = objects.to_dataframe().unwrap();
    let below = df.column("below_resolution").unwrap().bool().unwrap();
    assert_eq!(below.iter().collect::<Vec<_>>(), [Some(false), Some(true)]);
}

#[test]
fn nothing_but_noise_is_not_enough_data() {
    // Only main.tiny changes, by one sample: no grower is named.
    let snaps: Vec<Snapshot> = (0..5)
        .map(|m| {
            heap(
                &[
                    (LEAK, 1000, 16 * RATE),
                    (TINY, 8 + 8 * m, 128 + RATE * m / 4),
                ],
                m * 3,
            )
        })
        .collect();
    let t = growth(&snaps, &GrowthOptions::default()).unwrap();
    let top = t.top_grower().unwrap();
    assert_eq!(top.key, "main.tiny");
    assert!(top.below_resolution);
    let said: Vec<String> = growth_sentences(&t).iter().map(|s| s.to_text()).collect();
    assert_eq!(said.len(), 1);
    assert!(
        said[0].starts_with("Heap: main.tiny changed most (512kB, 100% of the growth"),
        "{}",
        said[0]
    );
    assert!(
        said[0].contains("but not enough data: below the sampling resolution"),
        "{}",
        said[0]
    );
    let owner = OwnerGrowth::of(&t, &VerdictThresholds::default()).unwrap();
    assert!(!owner.steady);
    assert!(
        owner
            .why_not
            .as_deref()
            .unwrap()
            .starts_with("its change is below the sampling resolution"),
        "{:?}",
        owner.why_not
    );
}

#[test]
fn odd_numbers_are_explained() {
    // main.a grows while main.b shrinks more: a's share is over 100% of a
    // net change that is negative; main.c rises and falls back below its
    // start, so its slope is positive while its delta is negative.
    let a = [0, 20, 40, 60, 80];
    let b = [200, 150, 100, 50, 0];
    let c = [50, 100, 150, 200, 40];
    let snaps: Vec<Snapshot> = (0..5)
        .map(|i| {
            heap(
                &[
                    (&["main.a"][..], 1, a[i] * RATE),
                    (&["main.b"], 1, b[i] * RATE),
                    (&["main.c"], 1, c[i] * RATE),
                ],
                i as i64,
            )
        })
        .collect();
    let t = growth(&snaps, &GrowthOptions::default()).unwrap();
    let notes = t.notes(10);
    assert!(
        notes
            .iter()
            .any(|n| n
                .starts_with("share: delta as a part of the net change of all samples (-65MB)")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("per min: the least-squares slope")),
        "{notes:?}"
    );
    assert!(
        !notes
            .iter()
            .any(|n| n.starts_with("~") || n.starts_with("left out"))
    );
    // Rows without such numbers get no such notes.
    let plain: Vec<Snapshot> = (0..4)
        .map(|i| heap(&[(&["main.a"][..], 1, a[i] * RATE)], i as i64))
        .collect();
    let plain = growth(&plain, &GrowthOptions::default()).unwrap();
    assert!(plain.notes(10).is_empty(), "{:?}", plain.notes(10));
}

/// Rows rank by what they did before by score: growth the samples support,
/// then growth below the resolution, then shrinkage (supported, then
/// not), then rows that did not change. A large unsteady grower still
/// ranks before a shrinker, and an unchanged row never ranks before one
/// that moved.
#[test]
fn rows_rank_grew_then_shrank_then_unchanged() {
    const SHRINK: &[&str] = &["main.shrink", "main.handler"];
    const SHRINK_TINY: &[&str] = &["main.shrinkTiny", "main.handler"];
    const STILL: &[&str] = &["main.still", "main.handler"];
    const JUMPY: &[&str] = &["main.jumpy", "main.handler"];
    let snaps: Vec<Snapshot> = (0..5)
        .map(|m| {
            heap(
                &[
                    (LEAK, 1000 * (m + 1), 8 * RATE * (m + 1)),
                    (TINY, 8, 128 + if m == 4 { RATE } else { 0 }),
                    (SHRINK, 100, 40 * RATE - 4 * RATE * m),
                    (SHRINK_TINY, 8, 3 * RATE - if m == 4 { RATE } else { 0 }),
                    (STILL, 50, 20 * RATE),
                    // Up, down, up: grows overall but not steadily.
                    (JUMPY, 10, RATE * [4, 12, 4, 12, 9][m as usize]),
                ],
                m,
            )
        })
        .collect();
    let t = growth(&snaps, &GrowthOptions::default()).unwrap();
    assert_eq!(
        keys(&t),
        [
            "main.leak",
            "main.jumpy",
            "main.tiny",
            "main.shrink",
            "main.shrinkTiny",
            "main.still",
        ]
    );
    let classes: Vec<u8> = t.rows.iter().map(|r| r.rank_class()).collect();
    assert!(classes.windows(2).all(|w| w[0] <= w[1]), "{classes:?}");
    assert_eq!(classes.first(), Some(&0));
    assert_eq!(classes.last(), Some(&4));
    assert!(classes.contains(&1) && classes.contains(&2) && classes.contains(&3));
    for r in &t.rows {
        assert!(r.score.is_finite() && r.score >= 0.0, "{r:?}");
    }
}
