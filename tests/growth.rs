//! Growth across snapshots on bundles captured from the leaky fixture
//! service: the right culprit ranks first in every leak scenario, and the
//! plateau and churn scenarios are not called leaks.

use std::path::{Path, PathBuf};

use heapframe::evidence::bundle::{Bundle, SnapshotKind};
use heapframe::evidence::checklist::{self, Status};
use heapframe::evidence::verdict::{
    self as judge, Outcome, Verdict, VerdictOptions, VerdictThresholds,
};
use heapframe::findings::{Findings, FindingsOptions};
use heapframe::growth::{GrowthKey, GrowthOptions, growth, widening};
use heapframe::profile::Snapshot;
use heapframe::profile::{Function, Line, Location, Profile, Sample, ValueType};

fn bundle_path(s: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bundles")
        .join(s)
}

fn bundle(s: &str) -> Bundle {
    Bundle::open(bundle_path(s)).unwrap()
}

fn verdict(b: &Bundle) -> judge::LeakVerdict {
    judge::verdict(&b.metrics)
}

fn top(snaps: &[Snapshot], key: GrowthKey) -> String {
    let t = growth(
        snaps,
        &GrowthOptions {
            key,
            ..Default::default()
        },
    )
    .unwrap();
    t.rows[0].key.clone()
}

#[test]
fn bundles_load_in_time_order() {
    let b = bundle("mapcache");
    assert_eq!(b.heap.len(), 7);
    assert_eq!(b.allocs.len(), 7);
    assert_eq!(b.goroutine.len(), 7);
    assert!(b.heap.windows(2).all(|w| w[0].time_ms < w[1].time_ms));
    assert!(b.metrics.points("go_memstats_heap_inuse_bytes").len() >= 50);
    assert!(b.manifest.target.starts_with("http://127.0.0.1:"));
}

#[test]
fn map_cache_leak() {
    let b = bundle("mapcache");
    let v = verdict(&b);
    assert_eq!(v.verdict, Verdict::Leak, "{:?}", v.reasons);
    assert_eq!(top(&b.heap, GrowthKey::Function), "bytes.Clone");
    assert_eq!(top(&b.heap, GrowthKey::Kind), "encoding output");
    let w = widening(&b.heap[0].profile, &b.heap[6].profile, None, 0.5).unwrap();
    assert!(
        w.path()
            .contains("main.GetUserProfile -> main.BuildResponse"),
        "{}",
        w.path()
    );
    assert_eq!(w.user_frame().unwrap().function, "main.BuildResponse");
    assert_eq!(w.concentration_node().unwrap().function, "bytes.Clone");
}

#[test]
fn goroutine_leak() {
    let b = bundle("goroutines");
    let v = verdict(&b);
    assert_eq!(v.verdict, Verdict::Leak, "{:?}", v.reasons);
    assert_eq!(
        top(&b.goroutine, GrowthKey::Root),
        "main.startWatcher.func1"
    );
    assert_eq!(top(&b.heap, GrowthKey::Kind), "goroutine stacks");
    let g = growth(&b.heap, &GrowthOptions::default()).unwrap();
    assert!(g.rows.iter().take(3).any(|r| r.key == "main.startWatcher"));
    let w = widening(&b.goroutine[0].profile, &b.goroutine[6].profile, None, 0.5).unwrap();
    assert_eq!(w.user_frame().unwrap().function, "main.startWatcher.func1");
}

#[test]
fn queue_backlog() {
    let b = bundle("queue");
    let v = verdict(&b);
    assert_eq!(v.verdict, Verdict::Leak, "{:?}", v.reasons);
    assert_eq!(top(&b.heap, GrowthKey::Function), "main.newEvent");
    let w = widening(&b.heap[0].profile, &b.heap[6].profile, None, 0.5).unwrap();
    assert_eq!(w.user_frame().unwrap().function, "main.newEvent");
}

#[test]
fn warm_up_plateau_is_not_a_leak() {
    let b = bundle("lru");
    let v = verdict(&b);
    assert_eq!(v.verdict, Verdict::NotALeak, "{:?}", v.reasons);
}

#[test]
fn churn_is_not_a_leak() {
    let b = bundle("churn");
    let v = verdict(&b);
    assert_eq!(v.verdict, Verdict::NotALeak, "{:?}", v.reasons);
}

#[test]
fn fixed_cache_is_not_a_leak_and_validates_as_fixed() {
    let before = bundle("mapcache");
    let after = bundle("fixed");
    assert_eq!(verdict(&after).verdict, Verdict::NotALeak);
    let v = judge::validate(&before.metrics, &after.metrics);
    assert_eq!(v.outcome, Outcome::Fixed, "{:?}", v.reasons);
    let same = judge::validate(&before.metrics, &before.metrics);
    assert_eq!(same.outcome, Outcome::NotFixed, "{:?}", same.reasons);
    let other = judge::validate(&before.metrics, &bundle("queue").metrics);
    assert_eq!(other.outcome, Outcome::NotFixed, "{:?}", other.reasons);
}

#[test]
fn checklist_on_a_fixture_bundle() {
    let b = bundle("mapcache");
    let items = checklist::checklist(&b, None);
    let status = |name: &str| {
        items
            .iter()
            .find(|i| i.item.starts_with(name))
            .unwrap()
            .status
    };
    assert_eq!(status("pprof endpoint"), Status::Passed);
    // The fixtures span one minute: too short for the 5-minute rule.
    assert_eq!(status("two or more heap snapshots"), Status::Failed);
    assert_eq!(status("base delta"), Status::Passed);
    assert_eq!(status("goroutine count"), Status::Passed);
    assert_eq!(status("cache has"), Status::Open);
    assert_eq!(status("post-fix"), Status::Open);
}

#[test]
fn human_questions_stay_open_even_when_answered() {
    let mut b = bundle("fixed");
    b.manifest.answers.insert(
        "cache has a size limit and a TTL".into(),
        "yes: LRU 2000 entries, 30 s".into(),
    );
    let items = checklist::checklist(&b, None);
    let cache = items
        .iter()
        .find(|i| i.item.starts_with("cache has"))
        .unwrap();
    assert_eq!(cache.status, Status::Open);
    assert!(cache.detail.contains("LRU 2000"));
}

#[test]
fn internal_targets() {
    use checklist::internal_target;
    assert_eq!(
        internal_target("http://10.0.3.7:6060/debug/pprof").0,
        Status::Passed
    );
    assert_eq!(internal_target("127.0.0.1:6060").0, Status::Passed);
    assert_eq!(internal_target("http://[::1]:6060").0, Status::Passed);
    assert_eq!(internal_target("http://192.168.1.4").0, Status::Passed);
    assert_eq!(internal_target("https://8.8.8.8:443").0, Status::Failed);
    assert_eq!(
        internal_target("http://pprof.example.com:6060").0,
        Status::Open
    );
    assert_eq!(internal_target("").0, Status::Open);
}

/// A synthetic profile: one sample per (function, value).
fn synthetic(values: &[(&str, i64)], time_s: i64) -> Snapshot {
    let mut p = Profile {
        source: format!("t{time_s}"),
        sample_types: vec![ValueType {
            name: "inuse_space".into(),
            unit: "bytes".into(),
        }],
        time_nanos: time_s * 1_000_000_000,
        ..Default::default()
    };
    for (i, (f, v)) in values.iter().enumerate() {
        p.functions.push(Function {
            id: i as u64 + 1,
            name: (*f).into(),
            ..Default::default()
        });
        p.locations.push(Location {
            id: i as u64 + 1,
            lines: vec![Line {
                function: i as u32,
                line: 1,
                column: 0,
            }],
            ..Default::default()
        });
        p.samples.push(&Sample {
            locations: vec![i as u32],
            values: vec![*v],
            labels: vec![],
        });
    }
    Snapshot {
        path: PathBuf::from(format!("synthetic-{time_s}")),
        time_ms: time_s * 1000,
        profile: p,
    }
}

#[test]
fn steady_growth_outranks_a_one_off_jump() {
    let steady = [10, 20, 30, 40, 50];
    let jump = [0, 0, 0, 0, 60];
    let snaps: Vec<Snapshot> = (0..5)
        .map(|i| {
            synthetic(
                &[("main.steady", steady[i]), ("main.jump", jump[i])],
                60 * i as i64,
            )
        })
        .collect();
    let t = growth(&snaps, &GrowthOptions::default()).unwrap();
    assert_eq!(t.rows[0].key, "main.steady");
    assert!(t.rows[0].monotone && !t.rows[1].monotone);
    assert_eq!(t.rows[1].delta, 60);
    assert!((t.rows[0].slope_per_min - 10.0).abs() < 1e-9);
    assert!((t.rows[0].r2 - 1.0).abs() < 1e-9);
    assert!((t.rows[0].share - 40.0 / 100.0).abs() < 1e-9);
}

#[test]
fn plateau_is_flagged() {
    let warm = [0, 50, 90, 95, 96, 96, 97];
    let snaps: Vec<Snapshot> = (0..7)
        .map(|i| synthetic(&[("main.cache", warm[i])], 60 * i as i64))
        .collect();
    let t = growth(&snaps, &GrowthOptions::default()).unwrap();
    assert!(t.rows[0].plateau);
}

#[test]
fn growth_keys_parse() {
    assert_eq!(
        "path:3".parse::<GrowthKey>().unwrap(),
        GrowthKey::Path(Some(3))
    );
    assert_eq!(
        "label:handler".parse::<GrowthKey>().unwrap(),
        GrowthKey::Label("handler".into())
    );
    assert!("bogus".parse::<GrowthKey>().is_err());
    assert!("path:x".parse::<GrowthKey>().is_err());
}

#[test]
fn loose_files_and_globs_load_like_a_bundle() {
    let dir = bundle_path("queue");
    let pattern = format!("{}/heap/*.pb.gz", dir.display());
    let goroutine = dir.join("goroutine/001.pb.gz").display().to_string();
    let b = Bundle::from_paths(&[pattern, goroutine]).unwrap();
    assert_eq!(b.heap.len(), 7);
    assert_eq!(b.goroutine.len(), 1);
    assert_eq!(b.snapshots(SnapshotKind::Allocs).len(), 0);
    let e = Bundle::from_paths(&["no/such/*.pb.gz"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("no/such/*.pb.gz"), "{e}");
}

#[test]
fn prometheus_text_parsing() {
    let text = "# HELP x y\n# TYPE x counter\nhttp_requests_total{handler=\"/a\",code=\"2\\\"00\"} 12 1700000000123\nup 1\nnan_metric NaN\n";
    let s = heapframe::evidence::metrics::parse_prometheus(text, 5, "scrape.prom").unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].time_ms, 1_700_000_000_123);
    assert_eq!(
        s[0].labels,
        vec![
            ("code".into(), "2\"00".into()),
            ("handler".into(), "/a".into())
        ]
    );
    assert_eq!(s[1].time_ms, 5);
    assert!(s[2].value.is_nan());
    let e = heapframe::evidence::metrics::parse_prometheus("bad{ 1\n", 0, "scrape.prom")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("scrape.prom: ") && e.contains("line 1"),
        "{e}"
    );
}

#[test]
fn too_little_data_says_so() {
    let b = bundle("mapcache");
    let few = heapframe::evidence::metrics::MetricSeries::new(
        b.metrics
            .samples
            .iter()
            .filter(|s| s.time_ms < b.metrics.samples[0].time_ms + 4000)
            .cloned()
            .collect(),
    );
    assert_eq!(judge::verdict(&few).verdict, Verdict::NotEnoughData);
    let none = heapframe::evidence::metrics::MetricSeries::default();
    assert_eq!(judge::verdict(&none).verdict, Verdict::NotEnoughData);
}

#[test]
fn series_deltas_add_up_to_the_total_delta() {
    use heapframe::growth::SnapshotSeries;
    let b = bundle("queue");
    let s = SnapshotSeries::new(&b.heap);
    let si = |p: &Profile| p.sample_index(Some("inuse_space")).unwrap();
    let sum = |p: &Profile| p.samples.iter().map(|x| x.values[si(p)]).sum::<i64>();
    let deltas = s.deltas().unwrap();
    assert_eq!(deltas.len(), 6);
    let total: i64 = deltas.iter().map(sum).sum();
    assert_eq!(total, sum(&s.total_delta().unwrap()));
    assert_eq!(total, sum(&b.heap[6].profile) - sum(&b.heap[0].profile));
    assert!(s.delta(6).is_err());
    let t = s.tables().unwrap();
    assert_eq!(t.samples.column("snapshot").unwrap().n_unique().unwrap(), 7);
}

#[test]
fn growth_tree_holds_cumulative_values() {
    use heapframe::growth::{growth_tree, growth_tree_dataframe};
    let b = bundle("mapcache");
    let nodes = growth_tree(&b.heap[0].profile, &b.heap[6].profile, None).unwrap();
    let roots_last: i64 = nodes
        .iter()
        .filter(|n| n.parent.is_none())
        .map(|n| n.last)
        .sum();
    let si = b.heap[6].profile.sample_index(None).unwrap();
    let total: i64 = b.heap[6].profile.samples.iter().map(|s| s.values[si]).sum();
    assert_eq!(roots_last, total);
    for (i, n) in nodes.iter().enumerate() {
        let children: i64 = nodes
            .iter()
            .filter(|c| c.parent == Some(i))
            .map(|c| c.last)
            .sum();
        assert!(
            children <= n.last,
            "children exceed parent at {}",
            n.function
        );
    }
    let df = growth_tree_dataframe(&nodes).unwrap();
    assert_eq!(df.height(), nodes.len());
}

#[test]
fn kind_rules_are_data() {
    use heapframe::growth::classify::{Classifier, KindRule};
    let c = Classifier::go_default();
    let df = c.to_dataframe().unwrap();
    let again = Classifier::from_dataframe(&df).unwrap();
    assert_eq!(again.rules.len(), c.rules.len());
    let stack = ["main.(*profileCache).Put", "main.GetUserProfile"];
    assert_eq!(
        again.classify(&stack, Some(49152)),
        "arrays (slice/map backing)"
    );
    // A team that knows its code adds a rule in front.
    let mut custom = again;
    custom.rules.insert(
        0,
        KindRule::new("response cache", r"^main\.\(\*profileCache\)", 2).unwrap(),
    );
    assert_eq!(custom.classify(&stack, Some(49152)), "response cache");
    assert_eq!(custom.classify(&["main.unknown"], None), "other");
    let b = bundle("mapcache");
    let t = growth(
        &b.heap,
        &GrowthOptions {
            key: GrowthKey::Kind,
            classifier: Some(custom),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        t.rows
            .iter()
            .any(|r| r.key == "response cache" && r.delta > 0)
    );
}

#[test]
fn goroutine_check_reads_counts_and_the_leak_profile() {
    let b = bundle("goroutines");
    let g = heapframe::evidence::goroutines::goroutine_check(&b).unwrap();
    assert_eq!(g.counts.len(), 7);
    assert!(g.counts[6].1 > g.counts[0].1 * 5);
    assert_eq!(g.by_creator.unwrap().rows[0].key, "main.startWatcher.func1");
    let blocking = g.by_blocking_stack.unwrap();
    assert!(
        blocking.rows[0].key.contains("runtime.gopark"),
        "{}",
        blocking.rows[0].key
    );
    assert_eq!(
        g.leaked.first().map(|l| l.0.as_str()),
        Some("main.startWatcher.func1")
    );
}

#[test]
fn other_keys_group_as_documented() {
    let b = bundle("mapcache");
    let by = |key: GrowthKey| {
        growth(
            &b.heap,
            &GrowthOptions {
                key,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let size = by(GrowthKey::SizeClass);
    assert!(
        size.rows
            .iter()
            .all(|r| r.key.ends_with('B') || r.key == ">32kB" || r.key == "unknown"),
        "{:?}",
        size.rows.iter().map(|r| &r.key).collect::<Vec<_>>()
    );
    let path = by(GrowthKey::Path(Some(3)));
    assert!(
        path.rows[0].key.starts_with("… -> "),
        "{}",
        path.rows[0].key
    );
    assert!(
        path.rows[0]
            .key
            .ends_with("encoding/json/v2.Marshal -> bytes.Clone"),
        "{}",
        path.rows[0].key
    );
    let leaf = by(GrowthKey::Leaf);
    assert!(
        leaf.rows[0].key.starts_with("bytes.Clone bytes/bytes.go:"),
        "{}",
        leaf.rows[0].key
    );
    let cum = by(GrowthKey::FunctionCum);
    let get = |k: &str| cum.rows.iter().find(|r| r.key == k).unwrap().delta;
    assert!(get("main.GetUserProfile") >= get("main.BuildResponse"));
    let file = by(GrowthKey::File);
    assert_eq!(file.rows[0].key, "bytes/bytes.go");
    // Labels: the goroutine profiles of the fixture carry none, so every
    // goroutine falls under the unset value.
    let g = bundle("goroutines");
    let l = growth(
        &g.goroutine,
        &GrowthOptions {
            key: GrowthKey::Label("handler".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(l.rows[0].key, "(handler unset)");
}

#[test]
fn kind_column_matches_growth_by_kind() {
    use heapframe::growth::classify::Classifier;
    let b = bundle("mapcache");
    let last = &b.heap[6].profile;
    let mut t = heapframe::tables::Tables::from_profile(last).unwrap();
    Classifier::go_default().add_kind_column(&mut t).unwrap();
    let s = &t.samples;
    let kinds = s.column("kind").unwrap().str().unwrap();
    let inuse = s.column("inuse_space").unwrap().i64().unwrap();
    let mut sums: std::collections::HashMap<String, i64> = Default::default();
    for (k, v) in kinds.iter().zip(inuse.iter()) {
        *sums.entry(k.unwrap().to_string()).or_default() += v.unwrap();
    }
    // The column classifies every sample; growth leaves the profiler's own
    // out unless asked to keep them.
    let g = growth(
        &b.heap[6..],
        &GrowthOptions {
            key: GrowthKey::Kind,
            keep_profiler: true,
            ..Default::default()
        },
    )
    .unwrap();
    for r in &g.rows {
        assert_eq!(
            sums.get(&r.key).copied().unwrap_or(0),
            r.values[0],
            "{}",
            r.key
        );
    }
    assert!(sums["encoding output"] > 0);
}

/// Issue 18's scenario matrix: every fixture bundle of
/// `tests/fixtures/scenarios.tsv` gets the expected verdict from all the
/// evidence, and its culprit is the code to read first on the widening
/// path toward the owner ranked first (or, for goroutine leaks, the
/// function that started the goroutines that grow). The numbers the verdict
/// rests on are shown, RSS included, with a confidence; the page says the
/// same.
#[test]
fn scenario_matrix_verdicts_and_culprits() {
    let tsv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios.tsv"),
    )
    .unwrap();
    let mut seen = 0;
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (name, want, culprit) = (cols[0], cols[1], cols[2]);
        let b = bundle(name);
        let f = Findings::of(&b, &FindingsOptions::default()).unwrap();
        let v = &f.verdict;
        assert_eq!(v.verdict.as_str(), want, "{name}: {:#?}", v.reasons);
        assert!(
            v.reasons
                .iter()
                .any(|r| r.starts_with("process_resident_memory_bytes: floor after GC")),
            "{name}: {:?}",
            v.reasons
        );
        assert!(
            v.reasons.last().unwrap().starts_with("confidence: "),
            "{name}: {:?}",
            v.reasons
        );
        assert!(v.confidence.score > 0.0 && v.confidence.score <= 1.0);
        let h = f.heap.as_ref().unwrap();
        let read_first = h.widening.user_frame().map(|u| u.function.clone());
        let started = f
            .goroutines
            .by_creator
            .as_ref()
            .and_then(|t| t.top_grower())
            .map(|r| r.key.clone());
        if culprit == "-" {
            // Nothing to name: no steady owner decided the verdict.
            assert!(
                v.owner.as_ref().is_none_or(|o| !o.steady) || v.verdict.as_str() == "not a leak",
                "{name}: {:?}",
                v.owner
            );
        } else {
            assert!(
                read_first.as_deref() == Some(culprit) || started.as_deref() == Some(culprit),
                "{name}: code to read first {read_first:?}, goroutines started by {started:?}, want {culprit}"
            );
        }
        // The page leads with the same verdict and names the same code.
        let page = heapframe::views::page::page(&b, &f, 10).unwrap();
        let html = page.html;
        assert!(html.contains(&format!(">{want}<")), "{name}: verdict badge");
        if culprit != "-" {
            let esc = culprit.replace('&', "&amp;").replace('<', "&lt;");
            assert!(html.contains(&esc), "{name}: page names {culprit}");
        }
        seen += 1;
    }
    assert_eq!(seen, 13);
}

/// Where the verdict of the metrics alone is `suspect` (a slow leak, a
/// leak of small objects, a leak under a warming cache), the owner that
/// grows steadily across the heap snapshots decides, and the verdict says
/// so; a plateau whose owners all flatten stays `not a leak`.
#[test]
fn owners_decide_where_the_metrics_alone_are_unsure() {
    for (name, metrics_alone, owner) in [
        ("warmleak", Verdict::Suspect, "main.(*sessionStore).Add"),
        ("slowleak", Verdict::Suspect, "main.(*auditLog).Record"),
        (
            "tinyobjects",
            Verdict::Suspect,
            "main.(*labelInterner).Intern",
        ),
    ] {
        let b = bundle(name);
        assert_eq!(verdict(&b).verdict, metrics_alone, "{name}");
        let f = Findings::of(&b, &FindingsOptions::default()).unwrap();
        let v = &f.verdict;
        assert_eq!(v.verdict, Verdict::Leak, "{name}: {:?}", v.reasons);
        assert_eq!(v.decided_by, judge::Basis::Both, "{name}");
        let o = v.owner.as_ref().unwrap();
        assert_eq!(o.key, owner, "{name}");
        assert!(o.steady && o.r2 >= 0.9, "{name}: {o:?}");
        assert!(
            v.reasons[0].starts_with("decided by the metrics and the snapshots: "),
            "{name}: {}",
            v.reasons[0]
        );
        assert!(v.reasons[0].contains(owner), "{name}: {}", v.reasons[0]);
        // The metrics' own conclusion is kept, and marked as theirs.
        assert!(
            v.reasons
                .iter()
                .any(|r| r.starts_with("the metrics alone (suspect): ")),
            "{name}: {:?}",
            v.reasons
        );
    }
    for name in ["lru", "fixed", "churn"] {
        let f = Findings::of(&bundle(name), &FindingsOptions::default()).unwrap();
        let v = &f.verdict;
        assert_eq!(v.verdict, Verdict::NotALeak, "{name}: {:?}", v.reasons);
        assert!(!v.owner.as_ref().unwrap().steady, "{name}: {:?}", v.owner);
    }
}

/// The culprit follows the ranking: under a warming cache, the widening
/// path, where growth concentrates and the code to read first lead to the
/// steady owner, not to the cache that grew more; the largest growth's
/// path is kept beside, and the sentences say why.
#[test]
fn culprit_follows_steady_growth_not_the_largest_delta() {
    let b = bundle("warmleak");
    let f = Findings::of(&b, &FindingsOptions::default()).unwrap();
    let h = f.heap.as_ref().unwrap();
    assert_eq!(h.table.rows[0].key, "main.(*sessionStore).Add");
    assert_eq!(
        h.widening.concentration_node().unwrap().function,
        "main.(*sessionStore).Add"
    );
    let largest = h
        .largest
        .as_ref()
        .expect("the largest growth goes elsewhere");
    assert!(
        largest
            .chain
            .iter()
            .all(|n| n.function != "main.(*sessionStore).Add")
    );
    // The cache grew more than the leak.
    assert!(
        largest.concentration_node().unwrap().growth > 3 * h.widening.chain.last().unwrap().growth
    );
    let text = f.to_text();
    assert!(
        text.contains("Growth ranked first: main.(*sessionStore).Add grows steadily"),
        "{text}"
    );
    // Ranked first is not called the largest: the cache grew more.
    assert!(
        text.contains(
            "Heap: main.(*sessionStore).Add grows most steadily (3.17MB, 25% of the growth, R² 0.98); bytes.Clone grew more (4.54MB"
        ),
        "{text}"
    );
    assert!(
        text.contains("Code to read first: main.(*sessionStore).Add"),
        "{text}"
    );
    // Where the owner ranked first is on the largest path, there is one
    // path.
    let f = Findings::of(&bundle("mapcache"), &FindingsOptions::default()).unwrap();
    let h = f.heap.as_ref().unwrap();
    assert!(h.largest.is_none());
    assert_eq!(h.widening.focus.as_deref(), Some("bytes.Clone"));
    assert_eq!(
        h.widening.user_frame().unwrap().function,
        "main.BuildResponse"
    );
    // The page shows the owner's own differential flame graph.
    let page = heapframe::views::page::page(
        &b,
        &Findings::of(&b, &FindingsOptions::default()).unwrap(),
        10,
    )
    .unwrap();
    assert!(
        page.html
            .contains("Differential flame graph of <code>main.(*sessionStore).Add</code> alone")
    );
}

/// Confidence falls with a shorter window and fewer snapshots, and says
/// what lowered it.
#[test]
fn confidence_falls_with_thinner_evidence() {
    let b = bundle("mapcache");
    let full = Findings::of(&b, &FindingsOptions::default())
        .unwrap()
        .verdict;
    let mut thin = bundle("mapcache");
    thin.heap.truncate(4);
    thin.goroutine.truncate(4);
    let cut = thin.heap[3].time_ms;
    thin.metrics.samples.retain(|s| s.time_ms <= cut);
    let opts = FindingsOptions {
        verdict: VerdictOptions {
            thresholds: VerdictThresholds {
                min_span_secs: 20.0,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let thin = Findings::of(&thin, &opts).unwrap().verdict;
    assert!(
        thin.confidence.score < full.confidence.score,
        "{} vs {}",
        thin.confidence.score,
        full.confidence.score
    );
    let why = thin.confidence.lowered_by.join("; ");
    assert!(why.contains("4 heap snapshots (full at 6)"), "{why}");
    assert!(why.contains("a window of 0."), "{why}");
    // The one-minute fixtures are never `high`: the checklist asks for
    // five minutes.
    assert_ne!(full.confidence.word(), "high");
    assert!(full.confidence.lowered_by[0].contains("full at 5 min"));
}

#[test]
fn rss_rising_outside_a_flat_heap_is_suspect_and_says_where_to_look() {
    let v = verdict(&bundle("offheap"));
    assert_eq!(v.verdict, Verdict::Suspect, "{:?}", v.reasons);
    let why = v.reasons.last().unwrap();
    assert!(
        why.contains(
            "memory grows outside the Go heap (cgo, mmap, goroutine stacks, or fragmentation)"
        ),
        "{why}"
    );
    assert!(why.contains("go_memstats_stack_inuse_bytes"), "{why}");
    // A warming cache's RSS rises on a loose fit and flattens: not this.
    let lru = verdict(&bundle("lru"));
    assert_eq!(lru.verdict, Verdict::NotALeak, "{:?}", lru.reasons);
    assert!(
        !lru.reasons
            .iter()
            .any(|r| r.contains("outside the Go heap"))
    );
}

/// Without RSS, the runtime/metrics total stands in for it, else
/// `go_memstats_sys_bytes`, which does not see mmap'd memory: the verdict
/// says which it read.
#[test]
fn memory_outside_the_heap_without_rss_reads_the_runtime_totals() {
    let mut b = bundle("offheap");
    for s in &mut b.metrics.samples {
        if s.metric == "process_resident_memory_bytes" {
            s.metric = "go_memory_classes_total_bytes".into();
        }
    }
    let v = verdict(&b);
    assert_eq!(v.verdict, Verdict::Suspect, "{:?}", v.reasons);
    assert!(v.outside_heap);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.starts_with("but go_memory_classes_total_bytes keeps rising after GC")),
        "{:?}",
        v.reasons
    );
    // Only go_memstats_sys_bytes: it stays flat while the mmap'd arena
    // grows, so the metrics cannot see this leak; they show the line.
    b.metrics
        .samples
        .retain(|s| s.metric != "go_memory_classes_total_bytes");
    let v = verdict(&b);
    assert!(!v.outside_heap, "{:?}", v.reasons);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.starts_with("go_memstats_sys_bytes: floor after GC")),
        "{:?}",
        v.reasons
    );
}

#[test]
fn a_slow_steady_heap_floor_is_not_waved_away() {
    let v = verdict(&bundle("slowleak"));
    assert_eq!(v.verdict, Verdict::Suspect, "{:?}", v.reasons);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.starts_with("slow, steady growth counts too")),
        "{:?}",
        v.reasons
    );
}

#[test]
fn a_leak_under_a_warming_cache_is_suspect_not_a_plateau() {
    let v = verdict(&bundle("warmleak"));
    assert_eq!(v.verdict, Verdict::Suspect, "{:?}", v.reasons);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.starts_with("memory rose fast, then kept rising more slowly")),
        "{:?}",
        v.reasons
    );
}

#[test]
fn a_restart_is_not_read_as_memory_coming_down() {
    let b = bundle("restart");
    assert_eq!(b.metrics.restarts().len(), 1);
    let v = verdict(&b);
    assert_eq!(v.verdict, Verdict::Leak, "{:?}", v.reasons);
    assert!(
        v.reasons[0].starts_with(
            "the service restarted 1 time in the window (process_start_time_seconds changed"
        ),
        "{:?}",
        v.reasons
    );
    // Without the restart split, the same series read as a warm-up.
    assert!(v.span_secs < 60.0, "{}", v.span_secs);
    for other in ["mapcache", "lru", "offheap"] {
        assert!(bundle(other).metrics.restarts().is_empty(), "{other}");
    }
}

/// Issue 15, item 5: next to the code to read first, the application code
/// whose own allocations grow in step with the top grower, with the
/// numbers, and the plain statement that a heap profile shows where memory
/// was allocated, not what keeps it. No candidates when nothing grows
/// steadily.
#[test]
fn holder_candidates_grow_in_step_with_the_owner() {
    use heapframe::findings::holder_sentences;
    let b = bundle("mapcache");
    let f = Findings::of(&b, &FindingsOptions::default()).unwrap();
    let h = f.heap.as_ref().unwrap();
    let holders = h.holders.as_ref().unwrap();
    let keys: Vec<&str> = holders.iter().map(|c| c.key.as_str()).collect();
    assert!(keys.contains(&"main.(*profileCache).Put"), "{keys:?}");
    assert!(keys.contains(&"main.GetUserProfile"), "{keys:?}");
    assert!(
        !keys.contains(&"bytes.Clone"),
        "the owner itself is not its holder"
    );
    for c in holders {
        assert!(
            c.correlation >= 0.8 && c.correlation <= 1.0 && c.delta > 0,
            "{c:?}"
        );
        assert!(c.code.as_ref().unwrap().file.starts_with("leakysvc/"));
    }
    let said: Vec<String> = holder_sentences(h).iter().map(|s| s.to_text()).collect();
    assert_eq!(said.len(), 1);
    assert!(said[0].starts_with(
        "Holder: a heap profile shows where memory was allocated, not what keeps it alive."
    ));
    assert!(
        said[0].contains("main.(*profileCache).Put at leakysvc/main.go:"),
        "{}",
        said[0]
    );
    assert!(f.to_text().contains(&said[0]));
    // A cache that warms up and plateaus has no steady owner: no holder
    // talk at all.
    let lru = bundle("lru");
    let f = Findings::of(&lru, &FindingsOptions::default()).unwrap();
    let h = f.heap.as_ref().unwrap();
    assert_eq!(h.holders, None);
    assert!(holder_sentences(h).is_empty());
    // Standard-library functions are never candidates, however well they
    // correlate, and fewer than four snapshots give none.
    let b = bundle("mapcache");
    let t = growth(&b.heap, &GrowthOptions::default()).unwrap();
    let all = heapframe::growth::holder_candidates(&t, 100);
    assert!(all.iter().all(|c| c.key.starts_with("main.")), "{all:?}");
    let short = growth(&b.heap[..3], &GrowthOptions::default()).unwrap();
    assert!(heapframe::growth::holder_candidates(&short, 100).is_empty());
}
