//! The standalone incident report: its content, that it is self-contained
//! and escaped, and that it opens in headless Chromium without console
//! errors, with charts and flame graphs on the screenshot.
#![cfg(feature = "views")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use heapframe::evidence::bundle::Bundle;
use heapframe::views::notebook::NotebookDisplay;
use heapframe::views::page::{ReportOptions, incident_report};

const MAPCACHE: &str = "tests/fixtures/bundles/mapcache";
const FIXED: &str = "tests/fixtures/bundles/fixed";

fn report() -> String {
    let b = Bundle::open(MAPCACHE).unwrap();
    incident_report(
        &b,
        &ReportOptions {
            findings: heapframe::findings::FindingsOptions {
                after: Some(FIXED.into()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap()
    .html
}

#[test]
fn report_tells_the_whole_evidence_chain() {
    let html = report();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // verdict, culprit, call path, kinds, regression, checklist
    assert!(html.contains("Verdict: <span class=\"hf-badge\""));
    assert!(html.contains(">leak</span>"));
    assert!(html.contains("Heap: <code>bytes.Clone</code> grew most"));
    assert!(html.contains("growth concentrates here"));
    assert!(html.contains("Code to read first: <code>main.BuildResponse</code>"));
    assert!(html.contains("main.(*profileCache).Put"));
    assert!(html.contains("Growth by allocation kind"));
    assert!(html.contains("After the fix: <span class=\"hf-badge\""));
    assert!(html.contains(">fixed</span>"), "the fixed bundle validates");
    assert!(html.contains("On-call checklist"));
    // four charts inline, two flame graphs in frames
    assert_eq!(html.matches("<div class=\"hf-plot\"><svg ").count(), 4);
    assert!(html.contains("Metric trends"));
    assert!(html.contains("Before and after the fix"));
    // The incident's diff, the last snapshot's flame graph, and the
    // after-fix diff on the incident's colour scale.
    assert_eq!(html.matches("<iframe class=\"hf-flame\"").count(), 3);
    assert!(html.contains("Differential flame graph, heap/001.pb.gz → heap/007.pb.gz"));
    assert!(
        html.contains("After the fix: differential flame graph, heap/001.pb.gz → heap/007.pb.gz")
    );
}

#[test]
fn report_is_self_contained() {
    let report = report();
    // Code links (the demo manifest has a source template) are links a
    // reader follows, not loads: http(s), in a new tab without referrer.
    let links =
        regex::Regex::new(r#"<a href="https://[^"]*" target="_blank" rel="noopener noreferrer">"#)
            .unwrap();
    assert!(links.find_iter(&report).count() >= 2, "code links");
    let html = links.replace_all(&report, "<a>");
    let re =
        regex::Regex::new(r#"(?i)\b(src|href|xlink:href|action)\s*=\s*["']?([^"'\s>]*)"#).unwrap();
    let mut n = 0;
    for c in re.captures_iter(&html) {
        let url = &c[2];
        n += 1;
        assert!(
            url.starts_with("data:") || url.starts_with('#'),
            "external reference {}={url}",
            &c[1]
        );
    }
    assert!(n >= 2, "the flame graphs are data: URLs");
    assert!(!html.contains("<script"), "no script on the page itself");
    assert!(!html.contains("@import") && !html.contains("url("));
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none';"));
}

#[test]
fn report_escapes_what_the_bundle_names() {
    let mut b = Bundle::open(MAPCACHE).unwrap();
    b.manifest.service = "svc<script>alert(1)</script>&".into();
    b.manifest.notes = "<img src=x onerror=alert(2)>".into();
    let html = incident_report(&b, &ReportOptions::default()).unwrap().html;
    assert!(html.contains("svc&lt;script&gt;alert(1)&lt;/script&gt;&amp;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(!html.contains("<script") && !html.contains("<img"));
    assert!(
        html.contains("No after-fix bundle yet"),
        "no after-fix bundle given or named in the manifest"
    );
}

#[test]
fn cli_writes_the_report() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-report");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("report.html");
    let _ = std::fs::remove_file(&out);
    let st = Command::new(env!("CARGO_BIN_EXE_heapframe"))
        .args(["report", MAPCACHE, "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("bytes.Clone"));
    let stdout = String::from_utf8_lossy(&st.stdout);
    assert!(
        stdout.starts_with("1. Verdict: leak — decided by "),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n2. Heap: bytes.Clone grew most ("),
        "{stdout}"
    );
    assert!(
        stdout.contains("Code to read first: main.BuildResponse (the deepest application code"),
        "{stdout}"
    );
    assert!(stdout.contains("report: "), "{stdout}");

    let svg = dir.join("diff.svg");
    let st = Command::new(env!("CARGO_BIN_EXE_heapframe"))
        .args(["flame", &format!("{MAPCACHE}/heap/007.pb.gz"), "--base"])
        .arg(format!("{MAPCACHE}/heap/001.pb.gz"))
        .arg("-o")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("Growth of inuse_space"));
    assert!(svg.contains("bytes.Clone ("));
}

// ---- headless Chromium ----

/// The Chromium binary: `$HEAPFRAME_CHROMIUM`, else `chromium` or
/// `chromium-browser` on PATH. `None` when there is none.
fn chromium() -> Option<String> {
    let candidates: Vec<String> = match std::env::var("HEAPFRAME_CHROMIUM") {
        Ok(c) => vec![c],
        Err(_) => vec!["chromium".into(), "chromium-browser".into()],
    };
    candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })
}

/// Opens `page` in headless Chromium, takes a `width`×`height` screenshot
/// and returns the console messages it logged (`:CONSOLE` lines of its
/// stderr log: errors, uncaught exceptions, CSP violations, and any
/// `console.*` call, in the page and in its frames).
fn open_in_chromium(bin: &str, page: &Path, shot: &Path, size: (u32, u32)) -> Vec<String> {
    let profile = shot.with_extension("chromium-profile");
    let _ = std::fs::remove_file(shot);
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            // let the frames load and their scripts run before the shot
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={},{}", size.0, size.1))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = reader.join().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        shot.exists(),
        "chromium wrote no screenshot of {}:\n{log}",
        page.display()
    );
    // (messages from data: frames quote the whole URL: keep them short)
    log.lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(|l| l.chars().take(400).collect())
        .collect()
}

/// Pixels of `png` for which `pred(r, g, b)` holds.
fn count_pixels(png: &Path, pred: impl Fn(u8, u8, u8) -> bool) -> usize {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf[..info.buffer_size()]
        .chunks(step)
        .filter(|p| pred(p[0], p[1], p[2]))
        .count()
}

/// The Chromium binary, or `None` (with the reason printed) when the test
/// may be skipped; in CI (`CI=true`) a missing Chromium fails the test.
fn chromium_or_skip(test: &str) -> Option<String> {
    let bin = chromium();
    if bin.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "CI=true but no Chromium: install Debian's `chromium` (apt-get install -y chromium) or set HEAPFRAME_CHROMIUM"
            );
        }
        eprintln!("SKIPPED {test}: no chromium on PATH (apt-get install -y chromium)");
    }
    bin
}

fn base64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        acc = acc << 6 | A.iter().position(|&a| a == c).expect("base64") as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn flame_graphs_zoom_and_search_in_their_own_frames() {
    let Some(bin) = chromium_or_skip("flame_graphs_zoom_and_search_in_their_own_frames") else {
        return;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("flame-chromium-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = heapframe::Profile::from_path(format!("{MAPCACHE}/heap/007.pb.gz")).unwrap();
    let html = heapframe::views::flame::flame(&p)
        .unwrap()
        .interactive()
        .to_html();
    // The embedded SVG, with a script appended that clicks a frame and
    // searches when the frame has loaded (setting the graph up first if
    // inferno has not yet), and logs what it sees. All of it runs inside the
    // frame's load event, which the page's load (and so the screenshot)
    // waits for: no timer races Chromium's exit.
    // (inferno's search records the term in the URL, which a sandboxed
    // data: document may not do: without heapframe's guard the search
    // stops there and "Matched:" never shows.)
    let b64 = html
        .split("base64,")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    let svg = String::from_utf8(base64_decode(b64)).unwrap();
    let driver = r##"<script type="text/ecmascript"><![CDATA[
window.addEventListener("load", function () {
  if (!details) init();
  var gs = document.querySelectorAll("#frames g"), target = null;
  for (var i = 0; i < gs.length; i++)
    if (gs[i].querySelector("title").textContent.indexOf("bytes.Clone (") == 0) target = gs[i];
  target.querySelector("rect").dispatchEvent(new MouseEvent("click", {bubbles: true}));
  var zoomed = !document.getElementById("unzoom").classList.contains("hide")
    && parseFloat(target.querySelector("rect").getAttribute("width")) > 99.9
    && document.querySelectorAll("#frames g.hide").length > 0;
  search("bytes\.Clone");
  console.warn("hf-interactive zoomed=" + zoomed + " " + document.getElementById("matched").textContent);
});
]]></script></svg>"##;
    let i = svg.rfind("</svg>").unwrap();
    let driven = format!("{}{driver}{}", &svg[..i], &svg[i + "</svg>".len()..]);
    let frame = html.replace(b64, &encode(&driven));
    let page = dir.join("two-flames.html");
    std::fs::write(
        &page,
        format!("<!DOCTYPE html><html><body>{frame}{frame}</body></html>"),
    )
    .unwrap();
    let msgs = open_in_chromium(&bin, &page, &dir.join("two-flames.png"), (1280, 1000));
    let ok: Vec<_> = msgs
        .iter()
        .filter(|m| m.contains("hf-interactive zoomed=true Matched: "))
        .collect();
    assert_eq!(ok.len(), 2, "both graphs zoom and search: {msgs:?}");
    assert_eq!(msgs.len(), 2, "and nothing else is logged: {msgs:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn encode(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[test]
fn report_opens_in_headless_chromium_without_console_errors() {
    let Some(bin) = chromium_or_skip("report_opens_in_headless_chromium_without_console_errors")
    else {
        return;
    };
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join(format!("report-chromium-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // The check itself must be able to fail: a page with an error in a
    // sandboxed data: frame, as the flame graphs are, is caught.
    let probe = dir.join("probe.html");
    std::fs::write(
        &probe,
        "<!DOCTYPE html><html><body><p>probe</p><iframe sandbox=\"allow-scripts\" src=\"data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciPjxzY3JpcHQ+bm9TdWNoRnVuY3Rpb24oKTs8L3NjcmlwdD48L3N2Zz4=\"></iframe></body></html>",
    )
    .unwrap();
    let msgs = open_in_chromium(&bin, &probe, &dir.join("probe.png"), (400, 300));
    assert!(
        msgs.iter().any(|m| m.contains("noSuchFunction")),
        "the console check must see an error inside a frame; got {msgs:?}"
    );

    let page = dir.join("report.html");
    let t = Instant::now();
    let html = report();
    let made = t.elapsed();
    std::fs::write(&page, &html).unwrap();
    // The sections issue 15 added are on the page Chromium opens: the
    // postmortem's own words, code links, the diff flames' colour legend
    // (inside their data: frames) and the after-fix diff.
    assert!(html.contains("<section id=\"postmortem\">"));
    assert!(html.contains("<section id=\"timeline\">"));
    assert!(html.contains("<td>alert: heap objects rising under flat load</td>"));
    assert!(html.contains("rel=\"noopener noreferrer\">leakysvc/main.go:"));
    assert!(html.contains("After the fix: differential flame graph"));
    let legends = regex::Regex::new(r#"src="data:image/svg\+xml;base64,([^"]+)""#)
        .unwrap()
        .captures_iter(&html)
        .filter(|c| String::from_utf8_lossy(&base64_decode(&c[1])).contains("<g id=\"hf-legend\">"))
        .count();
    assert_eq!(legends, 2, "the two diff flames carry a colour legend");
    let shot = dir.join("report.png");
    let msgs = open_in_chromium(&bin, &page, &shot, (1280, 6400));
    assert!(msgs.is_empty(), "console messages:\n{}", msgs.join("\n"));

    // The screenshot shows the charts and the flame graphs: the metric
    // lines' blue, the diff flame graph's deep red (growth), the
    // before/after chart's green.
    let blue = count_pixels(&shot, |r, g, b| r == 31 && g == 119 && b == 180);
    let red = count_pixels(&shot, |r, g, b| r == 255 && g == b && g < 120);
    let green = count_pixels(&shot, |r, g, b| r == 44 && g == 160 && b == 44);
    eprintln!(
        "report: {} bytes, made in {made:?}; screenshot target/tmp/report-chromium.png (metric-line blue {blue}, growth red {red}, after-fix green {green} pixels)",
        html.len()
    );
    assert!(blue > 1000, "metric charts drawn: {blue} blue pixels");
    // The floors after GC (red dots, dashed trend) and the incident's
    // event line (orange) on the metric charts.
    let floor = count_pixels(&shot, |r, g, b| r == 214 && g == 39 && b == 40);
    let incident = count_pixels(&shot, |r, g, b| r == 230 && g == 120 && b == 0);
    eprintln!("floor red {floor}, incident orange {incident} pixels");
    assert!(floor > 300, "floors after GC drawn: {floor} pixels");
    assert!(
        incident > 100,
        "the incident's event drawn: {incident} pixels"
    );
    assert!(red > 10_000, "diff flame graph drawn: {red} red pixels");
    assert!(
        green > 200,
        "before/after chart drawn: {green} green pixels"
    );
    // Keep the screenshot for people to look at; a failed run keeps its
    // whole folder instead.
    let keep = tmp.join(format!("report-chromium.png.{}", std::process::id()));
    std::fs::copy(&shot, &keep).unwrap();
    std::fs::rename(&keep, tmp.join("report-chromium.png")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn goroutine_leak_report_draws_the_goroutine_growth() {
    let b = Bundle::open("tests/fixtures/bundles/goroutines").unwrap();
    let r = incident_report(&b, &ReportOptions::default()).unwrap();
    assert!(
        r.html
            .contains("<h3>Goroutine growth, goroutine/001.pb.gz → goroutine/007.pb.gz</h3>")
    );
    assert_eq!(r.html.matches("<iframe class=\"hf-flame\"").count(), 3);
    assert!(
        r.evidence.contains(&"Goroutines: 419 → 12,427".to_string()),
        "{:?}",
        r.evidence
    );
    // no goroutine growth, no goroutine graph
    let m = Bundle::open(MAPCACHE).unwrap();
    let r = incident_report(&m, &ReportOptions::default()).unwrap();
    assert!(!r.html.contains("Goroutine growth"));
}

#[test]
fn the_checklist_judges_the_regression_check_the_page_shows() {
    use heapframe::evidence::checklist::Status;
    use heapframe::findings::{Findings, FindingsOptions};
    let b = Bundle::open(MAPCACHE).unwrap();
    // Without an after-fix bundle: no check, and the checklist says so.
    let f = Findings::of(&b, &FindingsOptions::default()).unwrap();
    assert!(f.regression.is_none());
    let post = |f: &Findings| {
        f.checklist
            .iter()
            .find(|i| i.item == "post-fix regression done")
            .cloned()
            .unwrap()
    };
    assert_eq!(post(&f).status, Status::Open);
    // With one (as `report --after` gives it): the check the page shows is
    // the one the checklist judges, with the same outcome.
    let f = Findings::of(
        &b,
        &FindingsOptions {
            after: Some(FIXED.into()),
            ..Default::default()
        },
    )
    .unwrap();
    let outcome = f.regression.as_ref().unwrap().validation.outcome;
    assert_eq!(outcome.as_str(), "fixed");
    assert_eq!(post(&f).status, Status::Passed);
    assert!(post(&f).detail.contains("fixed"), "{}", post(&f).detail);
    let chain = f.to_text();
    assert!(chain.contains("After the fix: fixed"), "{chain}");
    let passed = f
        .checklist
        .iter()
        .filter(|i| i.status == Status::Passed)
        .count();
    assert!(
        chain.contains(&format!(
            "Checklist: {passed} of {} passed",
            f.checklist.len()
        )),
        "{chain}"
    );
    // The page renders these same findings.
    let page = heapframe::views::page::page(&b, &f, 12).unwrap().html;
    assert!(
        page.contains("regression check against"),
        "checklist row on the page"
    );
}

/// The metric chart alone, as people see it: kept as
/// target/tmp/metrics-chart.png, with its floors, fit, events and
/// snapshot marks drawn.
#[test]
fn metric_chart_screenshot_shows_floors_events_and_snapshots() {
    let Some(bin) = chromium_or_skip("metric_chart_screenshot_shows_floors_events_and_snapshots")
    else {
        return;
    };
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join(format!("chart-chromium-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let b = Bundle::open(MAPCACHE).unwrap();
    let chart = heapframe::views::plot::bundle_metrics_plot(&b).unwrap();
    let svg = chart.svg();
    for label in [
        "floor after GC",
        "floor trend",
        "snapshot",
        "GC ran",
        "incident: alert",
    ] {
        assert!(svg.contains(label), "the chart lacks {label:?}");
    }
    let page = dir.join("chart.html");
    std::fs::write(
        &page,
        format!("<!DOCTYPE html><html><body style=\"margin:0\">{svg}</body></html>"),
    )
    .unwrap();
    let shot = dir.join("chart.png");
    let msgs = open_in_chromium(&bin, &page, &shot, (1200, 800));
    assert!(msgs.is_empty(), "console messages:\n{}", msgs.join("\n"));
    let floor = count_pixels(&shot, |r, g, b| r == 214 && g == 39 && b == 40);
    let incident = count_pixels(&shot, |r, g, b| r == 230 && g == 120 && b == 0);
    let snapshots = count_pixels(&shot, |r, g, b| r == 90 && g == 90 && b == 90);
    eprintln!(
        "chart screenshot target/tmp/metrics-chart.png: floor red {floor}, incident orange {incident}, snapshot grey {snapshots} pixels"
    );
    assert!(floor > 300 && incident > 100 && snapshots > 100);
    let keep = tmp.join(format!("metrics-chart.png.{}", std::process::id()));
    std::fs::copy(&shot, &keep).unwrap();
    std::fs::rename(&keep, tmp.join("metrics-chart.png")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The demo page's four chart panels as they were before issue 15
/// (tests/fixtures/charts-before, drawn by commit e90fe1b) and as they are
/// now, each screenshot as one tall picture kept for people to compare:
/// target/tmp/charts-before.png and target/tmp/charts-after.png. Today's
/// mark events and snapshots on every time chart; the old ones did not.
#[test]
fn chart_panels_before_and_after_screenshots() {
    let Some(bin) = chromium_or_skip("chart_panels_before_and_after_screenshots") else {
        return;
    };
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join(format!("charts-chromium-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let b = Bundle::open(MAPCACHE).unwrap();
    let fixed = Bundle::open(FIXED).unwrap();
    let f = heapframe::findings::Findings::of(&b, &Default::default()).unwrap();
    let h = f.heap.as_ref().unwrap();
    let kinds = heapframe::growth::growth(
        &b.heap,
        &heapframe::growth::GrowthOptions {
            key: heapframe::growth::GrowthKey::Kind,
            ..Default::default()
        },
    )
    .unwrap();
    use heapframe::views::plot;
    let after = [
        plot::bundle_metrics_plot(&b).unwrap(),
        plot::bundle_growth_plot(&b, &h.table).unwrap(),
        plot::growth_bars(&kinds, 8).unwrap(),
        plot::bundle_before_after_plot(&b, &fixed).unwrap(),
    ];
    // Every time chart marks the snapshots and the events inside its span.
    let marks: [&[&str]; 4] = [
        &["snapshot", "incident: alert", "floor trend"],
        &["heap snapshot", "incident: alert"],
        &[],
        &["heap snapshots", "before: incident", "floors after GC"],
    ];
    for (chart, want) in after.iter().zip(marks) {
        for w in want {
            assert!(chart.svg().contains(w), "{} lacks {w:?}", chart.title());
        }
    }
    let before: Vec<String> = ["metrics", "growth", "kinds", "before-after"]
        .iter()
        .map(|n| std::fs::read_to_string(format!("tests/fixtures/charts-before/{n}.svg")).unwrap())
        .collect();
    let shoot = |name: &str, svgs: &[&str]| -> PathBuf {
        let page = dir.join(format!("{name}.html"));
        let body: String = svgs.iter().map(|s| format!("<div>{s}</div>")).collect();
        std::fs::write(
            &page,
            format!("<!DOCTYPE html><html><body style=\"margin:0\">{body}</body></html>"),
        )
        .unwrap();
        let shot = dir.join(format!("{name}.png"));
        let height: u32 = svgs
            .iter()
            .map(|s| {
                let h = s.split("height=\"").nth(1).unwrap();
                h[..h.find('"').unwrap()].parse::<u32>().unwrap() + 4
            })
            .sum();
        let msgs = open_in_chromium(&bin, &page, &shot, (1200, height));
        assert!(msgs.is_empty(), "console messages:\n{}", msgs.join("\n"));
        let keep = tmp.join(format!("{name}.png.{}", std::process::id()));
        std::fs::copy(&shot, &keep).unwrap();
        std::fs::rename(&keep, tmp.join(format!("{name}.png"))).unwrap();
        tmp.join(format!("{name}.png"))
    };
    let old = shoot(
        "charts-before",
        &before.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    );
    let new = shoot(
        "charts-after",
        &after.iter().map(|p| p.svg()).collect::<Vec<_>>(),
    );
    // The incident's orange line, and the floors' red dots' and fit's red
    // are drawn today and were not before.
    let orange = |png: &Path| count_pixels(png, |r, g, b| r == 230 && g == 120 && b == 0);
    let (o_old, o_new) = (orange(&old), orange(&new));
    eprintln!(
        "charts before issue 15: target/tmp/charts-before.png (incident orange {o_old} px); after: target/tmp/charts-after.png (incident orange {o_new} px)"
    );
    assert_eq!(o_old, 0);
    assert!(o_new > 300, "{o_new}");
    std::fs::remove_dir_all(&dir).unwrap();
}
