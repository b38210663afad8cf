//! Views: flame graphs, charts and notebook tables, checked structurally.
#![cfg(feature = "views")]

use heapframe::Profile;
use heapframe::evidence::bundle::Bundle;
use heapframe::growth::{GrowthKey, GrowthOptions, growth};
use heapframe::profile::ValueType;
use heapframe::views::flame::{self, FlameOptions, Layout, Stacks};
use heapframe::views::notebook::{NotebookDisplay, dataframe_table};
use heapframe::views::plot;

const MAPCACHE: &str = "tests/fixtures/bundles/mapcache";
/// Where the leaked bytes are allocated (the cache's values, cloned in
/// `main.BuildResponse`) and the cache that keeps them.
const CULPRIT: &str = "bytes.Clone";
const CACHE: &str = "main.(*profileCache).Put";

/// One drawn frame: tooltip, fill, x and width in samples, y.
#[derive(Debug, Clone)]
struct Frame {
    title: String,
    fill: (u8, u8, u8),
    x: i64,
    w: i64,
    y: i64,
}

fn frames(svg: &str) -> Vec<Frame> {
    let re = regex::Regex::new(
        r#"<g><title>([^<]*)</title><rect x="[^"]*" y="(\d+)" width="[^"]*" height="\d+" fill="rgb\((\d+),(\d+),(\d+)\)" fg:x="(\d+)" fg:w="(\d+)"/>"#,
    )
    .unwrap();
    re.captures_iter(svg)
        .map(|c| Frame {
            title: c[1].to_string(),
            fill: (
                c[3].parse().unwrap(),
                c[4].parse().unwrap(),
                c[5].parse().unwrap(),
            ),
            x: c[6].parse().unwrap(),
            w: c[7].parse().unwrap(),
            y: c[2].parse().unwrap(),
        })
        .collect()
}

/// The text of every `<text>` element of a plotters SVG.
fn texts(svg: &str) -> Vec<String> {
    regex::Regex::new(r"<text[^>]*>\s*([^<]*?)\s*</text>")
        .unwrap()
        .captures_iter(svg)
        .map(|c| c[1].to_string())
        .collect()
}

fn frame<'a>(fs: &'a [Frame], name: &str) -> &'a Frame {
    fs.iter()
        .filter(|f| f.title.starts_with(&format!("{name} (")))
        .max_by_key(|f| f.w)
        .unwrap_or_else(|| panic!("no frame {name}"))
}

fn bytes() -> ValueType {
    ValueType {
        name: "inuse_space".into(),
        unit: "bytes".into(),
    }
}

fn stacks(v: &[(&[&str], i64)]) -> Stacks {
    Stacks {
        sample_type: bytes(),
        stacks: v
            .iter()
            .map(|(f, n)| (f.iter().map(|&s| s.into()).collect(), *n))
            .collect(),
        source: "synthetic".into(),
    }
}

#[test]
fn flame_graph_of_the_leak_puts_the_culprit_under_its_caller_with_units_in_the_title() {
    let p = Profile::from_path(format!("{MAPCACHE}/heap/007.pb.gz")).unwrap();
    let g = flame::flame(&p).unwrap();
    let total: i64 = Stacks::from_profile(&p, None).unwrap().total();
    assert!(
        g.title().starts_with("Flame graph of inuse_space: "),
        "{}",
        g.title()
    );
    assert!(g.title().contains("heap/007.pb.gz"));
    let fs = frames(g.svg());
    let all = frame(&fs, "all");
    assert_eq!(all.w, total, "the root spans every sample");
    let put = frame(&fs, CULPRIT);
    let build = frame(&fs, "main.BuildResponse");
    assert!(put.w <= build.w, "Put is called from BuildResponse");
    assert!(put.x >= build.x && put.x + put.w <= build.x + build.w);
    assert!(put.y < build.y, "flame graphs grow upwards");
    assert!(
        put.w * 2 > all.w,
        "the leak holds most of the heap: {} of {}",
        put.w,
        all.w
    );
    assert!(g.svg().contains(CACHE));
    // Tooltips carry human units and the share.
    assert!(
        put.title.contains("MB, ") || put.title.contains("kB, "),
        "{}",
        put.title
    );
    // ... and where the function is defined.
    assert!(
        regex::Regex::new(r"%\) at [^ ]+\.go:\d+$")
            .unwrap()
            .is_match(&put.title),
        "{}",
        put.title
    );
    // inferno's zoom/search script is there.
    assert!(g.svg().contains("function zoom("));
}

#[test]
fn icicle_graph_hangs_from_the_top() {
    let p = Profile::from_path(format!("{MAPCACHE}/heap/007.pb.gz")).unwrap();
    let g = flame::icicle(&p).unwrap();
    assert!(g.title().starts_with("Icicle graph"));
    let fs = frames(g.svg());
    assert!(frame(&fs, CULPRIT).y > frame(&fs, "main.BuildResponse").y);
    assert!(frame(&fs, "all").y < frame(&fs, "main.BuildResponse").y);
}

#[test]
fn object_and_goroutine_graphs_count_in_their_own_units() {
    let p = Profile::from_path(format!("{MAPCACHE}/heap/007.pb.gz")).unwrap();
    let g = flame::flame_with(
        &p,
        &FlameOptions {
            sample_index: Some("inuse_objects".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(g.title().contains("inuse_objects: "), "{}", g.title());
    assert!(g.title().contains(" objects ("), "{}", g.title());
    let g = Profile::from_path(format!("{MAPCACHE}/goroutine/007.pb.gz")).unwrap();
    let g = flame::flame(&g).unwrap();
    assert!(g.title().contains(" goroutines ("), "{}", g.title());
    assert!(frames(g.svg())[0].title.contains(" goroutines, "));
    let goroutines = "tests/fixtures/bundles/goroutines/goroutine";
    let d = flame::diff_flame(
        &Profile::from_path(format!("{goroutines}/001.pb.gz")).unwrap(),
        &Profile::from_path(format!("{goroutines}/007.pb.gz")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        d.title(),
        "Growth of goroutine: 419 → 12,427 goroutines (+12,008)"
    );
    let leak = frame(&frames(d.svg()), "main.startWatcher.func1").clone();
    assert!(leak.title.contains("growth +12,"), "{}", leak.title);
}

#[test]
fn diff_flame_colours_by_subtree_growth_and_keeps_shrinking_and_vanished_paths() {
    // main -> serve -> {cache grows 100 -> 900, buf shrinks 400 -> 100},
    // main -> old vanishes (300 -> 0). serve's own leaves mix growth and
    // shrinkage; its subtree grew by +500, so serve is red even though one
    // of its leaves is blue.
    let before = stacks(&[
        (&["main", "serve", "cache"], 100),
        (&["main", "serve", "buf"], 400),
        (&["main", "old"], 300),
    ]);
    let after = stacks(&[
        (&["main", "serve", "cache"], 900),
        (&["main", "serve", "buf"], 100),
    ]);
    let g = flame::diff_flame_stacks(&before, &after, &FlameOptions::default()).unwrap();
    let fs = frames(g.svg());
    let red = |f: &Frame| f.fill.0 == 255 && f.fill.2 < 200;
    let blue = |f: &Frame| f.fill.2 == 255 && f.fill.0 < 200;
    let serve = frame(&fs, "serve");
    assert!(red(serve), "serve's subtree grew: {:?}", serve.fill);
    assert!(red(frame(&fs, "cache")));
    assert!(blue(frame(&fs, "buf")), "buf shrank");
    let old = frame(&fs, "old");
    assert!(blue(old), "old vanished: {:?}", old.fill);
    assert_eq!(old.w, 300, "a vanished path keeps its before width");
    assert!(old.title.starts_with("old (vanished: before 300B, after 0"));
    assert!(frame(&fs, "cache").title.contains("growth +800B"));
    // width: larger of before/after per path
    assert_eq!(frame(&fs, "all").w, 900 + 400 + 300);
    // the strongest growth is the reddest
    assert!(frame(&fs, "cache").fill.1 < serve.fill.1);
    assert!(g.title().contains("800B → 1000B (+200B)"), "{}", g.title());
    assert!(g.svg().contains("1 vanished path (300B)"));
}

#[test]
fn diff_flame_of_the_incident_shows_the_leak_in_red() {
    let a = Profile::from_path(format!("{MAPCACHE}/heap/001.pb.gz")).unwrap();
    let b = Profile::from_path(format!("{MAPCACHE}/heap/007.pb.gz")).unwrap();
    let g = flame::diff_flame(&a, &b).unwrap();
    let fs = frames(g.svg());
    let put = frame(&fs, CULPRIT);
    assert_eq!(put.fill.0, 255, "{:?}", put.fill);
    assert!(
        put.fill.1 < 120,
        "the biggest grower is deep red: {:?}",
        put.fill
    );
    assert!(put.title.contains("growth +"), "{}", put.title);
}

/// Issue 15: the after-fix diff no longer looks like a leak. Drawn on the
/// leak's scale, what still grows after the fix is pale; drawn alone (its
/// own scale), it would be as red as the leak. The legend says which.
#[test]
fn diff_flames_share_one_colour_scale() {
    let p = |b: &str, n: &str| {
        Profile::from_path(format!("tests/fixtures/bundles/{b}/heap/{n}.pb.gz")).unwrap()
    };
    let (l0, l1, f0, f1) = (
        p("mapcache", "001"),
        p("mapcache", "007"),
        p("fixed", "001"),
        p("fixed", "007"),
    );
    let alone = flame::diff_flame(&f0, &f1).unwrap();
    let both = flame::diff_flames(&[(&l0, &l1), (&f0, &f1)], &FlameOptions::default()).unwrap();
    let (leak, fixed) = (&both[0], &both[1]);
    let scale = leak.color_scale().unwrap();
    assert_eq!(fixed.color_scale(), Some(scale));
    assert!(
        alone.color_scale().unwrap() * 3 < scale,
        "{alone:?}",
        alone = alone.color_scale()
    );
    let reddest = |g: &flame::FlameGraph| {
        frames(g.svg())
            .iter()
            .filter(|f| f.fill.0 == 255 && f.fill.1 == f.fill.2 && !f.title.starts_with("all ("))
            .map(|f| f.fill.1)
            .min()
            .unwrap()
    };
    // Full red is rgb(255,40,40); on the shared scale the after-fix
    // growth stays light.
    assert_eq!(reddest(leak), 40);
    assert_eq!(reddest(&alone), 40);
    assert!(reddest(fixed) > 120, "{}", reddest(fixed));
    // The legend: nine swatches and what full colour means.
    for (g, shared) in [(leak, true), (fixed, true), (&alone, false)] {
        let svg = g.svg();
        assert_eq!(svg.matches("<g id=\"hf-legend\">").count(), 1);
        let full =
            heapframe::views::flame::format_value(g.color_scale().unwrap(), &l1.sample_types[3]);
        assert!(svg.contains(&format!("full red +{full}")), "{full}");
        assert_eq!(svg.contains("a scale shared with the graphs"), shared);
    }
}

#[test]
fn profile_text_is_escaped_in_flame_graphs() {
    let evil = "main.<script>alert(1)</script>&x";
    let s = stacks(&[(&["main", evil], 10), (&["main", "ok"], 5)]);
    let g = flame::flame_stacks(&s, &FlameOptions::default()).unwrap();
    assert!(!g.svg().contains("<script>alert"));
    assert!(
        g.svg()
            .contains("main.&lt;script&gt;alert(1)&lt;/script&gt;&amp;x (")
    );
    let d = flame::diff_flame_stacks(&s, &s, &FlameOptions::default()).unwrap();
    assert!(!d.svg().contains("<script>alert"));
    let html = g.interactive().to_html();
    assert!(!html.contains("<script>"), "the SVG is inside a data: URL");
    let titled = flame::flame_stacks(
        &s,
        &FlameOptions {
            title: Some("a <b> & c".into()),
            layout: Layout::Icicle,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(titled.svg().contains("a &lt;b&gt; &amp; c"));
    assert!(
        titled
            .interactive()
            .to_html()
            .contains("title=\"a &lt;b&gt; &amp; c\"")
    );
}

#[test]
fn several_interactive_graphs_are_isolated_frames() {
    let s = stacks(&[(&["main", "a"], 10)]);
    let g = flame::flame_stacks(&s, &FlameOptions::default()).unwrap();
    let html = format!("{}{}", g.interactive().to_html(), g.interactive().to_html());
    assert_eq!(html.matches("<iframe").count(), 2);
    assert_eq!(
        html.matches("sandbox=\"allow-scripts allow-modals\"")
            .count(),
        2
    );
    assert!(html.contains("src=\"data:image/svg+xml;base64,"));
}

#[test]
fn flame_graphs_save_as_svg_files() {
    let dir = std::env::temp_dir().join(format!("heapframe-flame-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = stacks(&[(&["main", "a"], 10)]);
    let g = flame::flame_stacks(&s, &FlameOptions::default()).unwrap();
    let path = dir.join("f.svg");
    g.save(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), g.svg());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn charts_have_titles_units_legends_and_gc_marks() {
    let b = Bundle::open(MAPCACHE).unwrap();
    let m = plot::metrics_plot(&b.metrics).unwrap();
    let svg = m.svg();
    for want in [
        "RSS (process_resident_memory_bytes)",
        "heap in use",
        "heap objects",
        "goroutines",
        "GC ran",
        "floor after GC",
        "floor trend",
        "time (UTC)",
    ] {
        assert!(svg.contains(want), "missing {want}");
    }
    let labels = texts(svg);
    assert!(
        labels.iter().any(|t| t == "10MB") && labels.iter().any(|t| t == "20MB"),
        "byte axes in human units on round ticks: {labels:?}"
    );
    assert!(
        labels
            .iter()
            .any(|t| t.len() == 8 && t.as_bytes()[2] == b':'),
        "clock times"
    );
    assert!(!plot::gc_marks(&b.metrics).is_empty());

    let t = growth(&b.heap, &GrowthOptions::default()).unwrap();
    let g = plot::growth_plot(&t).unwrap();
    assert!(
        g.title()
            .starts_with("Top 5 owners by function (inuse_space), 7 snapshots over 1.0 min")
    );
    assert!(g.svg().contains(CULPRIT));
    assert!(g.svg().contains(CACHE));
    assert!(g.svg().contains("minutes since the first snapshot"));

    let kinds = growth(
        &b.heap,
        &GrowthOptions {
            key: GrowthKey::Kind,
            ..Default::default()
        },
    )
    .unwrap();
    let bars = plot::growth_bars(&kinds, 8).unwrap();
    assert!(bars.title().contains("Growth by kind"));
    assert!(bars.svg().contains(&kinds.rows[0].key));

    let fixed = Bundle::open("tests/fixtures/bundles/fixed").unwrap();
    let ba = plot::before_after_plot(&b.metrics, &fixed.metrics).unwrap();
    let labels = texts(ba.svg());
    assert!(
        labels.iter().any(|t| t == "before the fix") && labels.iter().any(|t| t == "after the fix")
    );
    assert!(labels.iter().any(|t| t == "heap objects"));
}

#[test]
fn chart_text_from_profiles_is_escaped() {
    let b = Bundle::open(MAPCACHE).unwrap();
    let mut t = growth(&b.heap, &GrowthOptions::default()).unwrap();
    t.rows[0].key = "main.<script>x</script>&y".into();
    let g = plot::growth_plot(&t).unwrap();
    assert!(!g.svg().contains("<script>"));
    assert!(
        g.svg()
            .contains("main.&lt;script&gt;x&lt;/script&gt;&amp;y")
    );
}

#[test]
fn html_tables_escape_align_numbers_right_and_count_hidden_rows() {
    let b = Bundle::open(MAPCACHE).unwrap();
    let mut t = growth(&b.heap, &GrowthOptions::default()).unwrap();
    t.rows[1].key = "main.<script>x</script>&y".into();
    let html = t.to_table(1).to_html();
    assert!(html.contains(CULPRIT));
    assert!(!html.contains("<script>"));
    // Rows unchanged at every snapshot are counted in a note, not as
    // rows left out.
    let unchanged = t
        .rows
        .iter()
        .filter(|r| r.values.windows(2).all(|w| w[0] == w[1]))
        .count();
    assert!(unchanged > 0);
    let rest = t.rows.len() - 1 - unchanged;
    assert!(html.contains(&format!("{rest} more rows")), "{html}");
    assert!(html.contains(&format!(
        "{unchanged} unchanged rows (the same value at every snapshot) not shown"
    )));
    assert!(html.contains("<td style=\"text-align:right;"));
    let full = t.to_table(10).to_html();
    assert!(full.contains("main.&lt;script&gt;x&lt;/script&gt;&amp;y"));
    // the first cell (delta) is right-aligned and in human units
    let first_td = full.split("<td ").nth(1).unwrap();
    assert!(first_td.starts_with("style=\"text-align:right;"));
    assert!(
        first_td.contains("MB<") || first_td.contains("kB<"),
        "{first_td}"
    );
    assert!(t.to_plain_text().contains(CULPRIT));

    let p = Profile::from_path(format!("{MAPCACHE}/heap/007.pb.gz")).unwrap();
    let top = heapframe::report::top(&p, &Default::default()).unwrap();
    let html = top.to_html();
    assert!(html.contains("<th style=\"text-align:right;"));
    assert!(html.contains(CULPRIT));

    let df = top.to_dataframe().unwrap();
    let dt = dataframe_table(&df, 3);
    assert_eq!(dt.rows.len(), 3);
    assert!(
        dt.to_html()
            .contains(&format!("{} more rows", df.height() - 3))
    );
    assert!(df.to_html().contains("text-align:right"));

    // DataFrame cells: bytes in human units, counts with thousands
    // separators, line numbers and ids as they are
    let t = heapframe::tables::Tables::from_profile(&p).unwrap();
    let leaves = dataframe_table(&t.frames().unwrap(), usize::MAX);
    let line = leaves.columns.iter().position(|c| c == "line").unwrap();
    assert!(
        leaves.rows.iter().any(|r| r[line] == "1395"),
        "bytes.Clone's line 1395 is shown as a line number"
    );
    let samples = dataframe_table(&t.samples, usize::MAX);
    let col = |name: &str| samples.columns.iter().position(|c| c == name).unwrap();
    assert!(
        samples
            .rows
            .iter()
            .any(|r| r[col("inuse_space")].ends_with("kB"))
    );
    assert!(
        samples
            .rows
            .iter()
            .any(|r| r[col("alloc_objects")].contains(','))
    );
}

#[test]
fn verdicts_and_checklists_render_with_escaped_evidence() {
    let b = Bundle::open(MAPCACHE).unwrap();
    let v = heapframe::evidence::verdict::verdict(&b.metrics);
    assert!(v.to_html().contains(">leak</span>"), "{}", v.to_html());
    assert!(v.to_plain_text().starts_with("verdict: leak\n"));
    let mut items = heapframe::evidence::checklist::checklist(&b, None);
    items[0].detail = "<img src=x onerror=alert(1)>".into();
    let html = items.to_html();
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<img"));
}

#[test]
fn values_at_or_below_zero_are_not_drawn() {
    let s = stacks(&[
        (&["main", "a"], 10),
        (&["main", "b"], -5),
        (&["main", "c"], 0),
    ]);
    let g = flame::flame_stacks(&s, &FlameOptions::default()).unwrap();
    let fs = frames(g.svg());
    assert_eq!(frame(&fs, "all").w, 10);
    assert!(
        fs.iter()
            .all(|f| !f.title.starts_with("b (") && !f.title.starts_with("c ("))
    );
    let none = stacks(&[(&["main"], -1)]);
    assert!(flame::flame_stacks(&none, &FlameOptions::default()).is_err());
}

#[test]
fn names_that_sort_apart_from_their_paths_keep_one_frame_each() {
    // Byte order of whole lines puts `f.func1` between `f`'s own line and
    // `f;g` (and `f-x` before both): the layout must still give `f` one
    // frame with both callees inside it.
    let s = stacks(&[
        (&["main", "f"], 5),
        (&["main", "f", "g"], 3),
        (&["main", "f.func1"], 2),
        (&["main", "f-x", "h"], 1),
        (&["main", "f", "g.x"], 4),
    ]);
    for layout in [Layout::Flame, Layout::Icicle] {
        let opts = FlameOptions {
            layout,
            ..Default::default()
        };
        let fs = frames(flame::flame_stacks(&s, &opts).unwrap().svg());
        let f: Vec<_> = fs.iter().filter(|x| x.title.starts_with("f (")).collect();
        assert_eq!(f.len(), 1, "{fs:?}");
        assert_eq!(f[0].w, 12);
        for (name, w) in [("g", 3), ("g.x", 4)] {
            let c = frame(&fs, name);
            assert_eq!(c.w, w);
            assert!(c.x >= f[0].x && c.x + c.w <= f[0].x + f[0].w);
        }
        assert_eq!(frame(&fs, "f.func1").w, 2);
        assert_eq!(frame(&fs, "h").w, 1);
        let d = flame::diff_flame_stacks(&s, &s, &opts).unwrap();
        assert_eq!(
            frames(d.svg())
                .iter()
                .filter(|x| x.title.starts_with("f ("))
                .count(),
            1
        );
    }
}

#[test]
fn large_cpu_profile_draws() {
    let p = Profile::from_path("tests/data/conformance/profiles/pprof.large.cpu.pb.gz").unwrap();
    let g = flame::flame(&p).unwrap();
    assert!(g.title().starts_with("Flame graph of "), "{}", g.title());
    assert!(frames(g.svg()).len() > 100);
}

#[test]
fn widening_goroutines_and_bundle_render_for_notebooks() {
    let b = Bundle::open(MAPCACHE).unwrap();
    // the widening chain: root first, the culprit where growth concentrates,
    // the deepest application frame marked, values in the sample's unit
    let w = heapframe::growth::SnapshotSeries::new(&b.heap)
        .widening()
        .unwrap();
    let t = w.to_table();
    assert_eq!(t.rows.len(), w.chain.len());
    let last = t.rows.last().unwrap();
    assert_eq!(last[5], CULPRIT);
    assert!(last[6].starts_with("bytes/bytes.go:"), "{last:?}");
    assert!(last[7].contains("growth concentrates here"), "{last:?}");
    let user = t
        .rows
        .iter()
        .find(|r| r[7].contains("read it first"))
        .expect("the deepest application frame is marked");
    assert_eq!(user[5], "main.BuildResponse");
    assert!(
        last[3].starts_with('+') && last[3].ends_with("MB"),
        "{last:?}"
    );
    assert!(w.to_html().contains("inuse_space"));
    assert!(w.to_plain_text().contains("main.BuildResponse"));

    // goroutine check: counts, creators
    let g = heapframe::evidence::goroutines::goroutine_check(&b).unwrap();
    let html = g.to_html();
    assert!(
        html.starts_with(
            "<div class=\"hf-goroutines\"><p>Goroutines: 7 → 7 (+0) across 7 goroutine profiles"
        ),
        "{html}"
    );
    assert!(html.contains("goroutines by creator"));
    assert!(g.to_plain_text().starts_with("Goroutines: 7 → 7"));
    let leaky = Bundle::open("tests/fixtures/bundles/goroutines").unwrap();
    let g = heapframe::evidence::goroutines::goroutine_check(&leaky).unwrap();
    let text = g.to_plain_text();
    assert!(
        text.contains("leaked goroutines started by main.startWatcher"),
        "{text}"
    );

    // the bundle: one row per kind of snapshot, then the metric scrapes
    let t = b.to_table();
    let kinds: Vec<&str> = t.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        kinds[..3],
        ["heap profiles", "allocs profiles", "goroutine profiles"]
    );
    assert!(kinds[3].starts_with("metric scrapes ("), "{kinds:?}");
    assert_eq!(t.rows[0][1], "7");
    assert_eq!(t.rows[0][5], "10 s", "{:?}", t.rows[0]);
    assert!(t.rows[0][2].ends_with(" UTC"));
    assert!(
        t.caption
            .as_deref()
            .unwrap()
            .starts_with("leakysvc (mapcache scenario) (")
    );
    assert_eq!(t.rows[3][1], "60");
}

/// Issue 15, item 2: bars in the order of the value they show, and the
/// growth of the top owners as small multiples (a panel each, titled with
/// its growth, on its own scale), so small growers are not flattened by the
/// largest.
#[test]
fn charts_order_bars_by_value_and_give_each_owner_a_panel() {
    let b = Bundle::open(MAPCACHE).unwrap();
    let kinds = growth(
        &b.heap,
        &GrowthOptions {
            key: heapframe::growth::GrowthKey::Kind,
            ..Default::default()
        },
    )
    .unwrap();
    let svg = plot::growth_bars(&kinds, 8).unwrap().svg().to_string();
    let mut shown: Vec<&heapframe::growth::GrowthRow> = kinds.shown(8).collect();
    shown.sort_by(|a, b| b.delta.cmp(&a.delta).then_with(|| a.key.cmp(&b.key)));
    // Each label's height on the chart: the largest growth on top.
    let label_y =
        regex::Regex::new(r#"<text[^>]* y="([0-9.]+)"[^>]*>\s*([^<]*?)\s*</text>"#).unwrap();
    let ys: Vec<(String, f64)> = label_y
        .captures_iter(&svg)
        .map(|c| (c[2].to_string(), c[1].parse().unwrap()))
        .collect();
    let at: Vec<f64> = shown
        .iter()
        .map(|r| {
            ys.iter()
                .find(|(k, _)| *k == r.key)
                .unwrap_or_else(|| panic!("{} not in {ys:?}", r.key))
                .1
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "bars follow the values shown: {at:?}"
    );
    let t = growth(&b.heap, &GrowthOptions::default()).unwrap();
    let svg = plot::growth_plot(&t).unwrap().svg().to_string();
    let words = texts(&svg);
    for r in t.shown(5) {
        let title = format!(
            "{}: {}{}",
            r.key,
            if r.delta > 0 { "+" } else { "" },
            t.format(r.delta)
        );
        assert!(
            words.iter().any(|w| w.starts_with(&title)),
            "{title} not in {words:?}"
        );
    }
    assert!(words.iter().any(|w| w.ends_with("own scales")));
}

#[test]
fn focus_redraws_the_growing_subtree_across_the_whole_width() {
    use heapframe::views::flame::Focus;
    let first = Profile::from_path(format!("{MAPCACHE}/heap/001.pb.gz")).unwrap();
    let last = Profile::from_path(format!("{MAPCACHE}/heap/007.pb.gz")).unwrap();
    let whole = flame::diff_flame(&first, &last).unwrap();
    let auto = flame::diff_flame_with(
        &first,
        &last,
        &FlameOptions {
            focus: Some(Focus::Auto),
            ..Default::default()
        },
    )
    .unwrap();
    // The growth splits below the JSON encoder; two callers up is the
    // application code that called it, now the graph's only child of
    // the root, with the net/http frames above it left out.
    let fs = frames(auto.svg());
    let all = frame(&fs, "all");
    let build = frame(&fs, "main.BuildResponse");
    assert_eq!(build.w, all.w, "the focused frame spans the graph");
    assert!(!auto.svg().contains("net/http.(*conn).serve"));
    assert!(whole.svg().contains("net/http.(*conn).serve"));
    assert!(
        auto.svg().contains(
            "focused on main.BuildResponse (+9.57MB of +10.35MB, 92%); the rest is left out"
        ),
        "the subtitle says what was kept"
    );
    // The title still gives the whole graph's numbers.
    assert_eq!(auto.title(), whole.title());
    // Names are drawn wider than in the whole graph.
    let drawn = |g: &flame::FlameGraph| {
        texts(g.svg())
            .into_iter()
            .filter(|t| t.starts_with("main.BuildRe"))
            .map(|t| t.len())
            .max()
            .unwrap_or(0)
    };
    assert!(drawn(&auto) >= "main.BuildResponse".len());
    assert!(drawn(&auto) > drawn(&whole) || drawn(&whole) == "main.BuildResponse".len());

    // By name: every frame that matches, merged under the root.
    let cache = flame::flame_with(
        &last,
        &FlameOptions {
            focus: Some(Focus::Name("profileCache".into())),
            ..Default::default()
        },
    )
    .unwrap();
    let fs = frames(cache.svg());
    assert_eq!(frame(&fs, CACHE).w, frame(&fs, "all").w);
    assert!(!cache.svg().contains("main.BuildResponse ("));
    // A name that matches nothing is an error that says so, escaped.
    let e = flame::flame_with(
        &last,
        &FlameOptions {
            focus: Some(Focus::Name("no\u{1b}[2Jsuch".into())),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("no frame's name contains it") && !e.contains('\u{1b}'),
        "{e}"
    );
    // Auto on a graph whose width splits at the root changes nothing.
    let flat = flame::flame_stacks(
        &stacks(&[(&["a", "x"], 50), (&["b", "y"], 50)]),
        &FlameOptions {
            focus: Some(Focus::Auto),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!flat.svg().contains("focused on"));
}

/// The page focuses the incident's differential graph on the subtree that
/// grows when the root is mostly unchanged (slowleak: +1.80MB on 28MB),
/// and leaves it whole when the growth is most of the graph (mapcache).
#[test]
fn page_focuses_the_diff_when_the_root_is_mostly_unchanged() {
    let open = |b: &str| {
        let b = Bundle::open(format!("tests/fixtures/bundles/{b}")).unwrap();
        let (a, z) = (
            b.heap[0].profile.clone(),
            b.heap[b.heap.len() - 1].profile.clone(),
        );
        (b, a, z)
    };
    let (slow, a, z) = open("slowleak");
    assert_eq!(flame::auto_focus(&a, &z).unwrap(), Some(flame::Focus::Auto));
    let f = heapframe::findings::Findings::of(&slow, &Default::default()).unwrap();
    let html = heapframe::views::page::page(&slow, &f, 10).unwrap().html;
    assert!(
        html.contains("focused on net/http.HandlerFunc.ServeHTTP"),
        "the slowleak page's diff is not focused"
    );
    let (leak, a, z) = open("mapcache");
    assert_eq!(flame::auto_focus(&a, &z).unwrap(), None);
    let f = heapframe::findings::Findings::of(&leak, &Default::default()).unwrap();
    let html = heapframe::views::page::page(&leak, &f, 10).unwrap().html;
    assert!(!html.contains("focused on"));
}
