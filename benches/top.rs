//! Parse and top time for profiles, side by side with `go tool pprof -top`.
//!
//! `cargo bench --bench top` runs it on the largest conformance profile and
//! on a heap pair (`-base`); `cargo bench --bench top -- FILE...` on other
//! files. Set `HEAPFRAME_BENCH_SHORT=1` (CI does) for a quick smoke run;
//! `cargo test --all-targets` also runs it short.
//!
//! For each input it prints the median of several runs of:
//! - `gunzip`: decompressing the bytes only (the floor for any reader);
//! - `decode`: gunzip + protobuf decode + validation into a `Profile`;
//! - `top`: the top report on a decoded profile, rendered to text;
//! - `load+top`: both, which is what `go tool pprof -top FILE` does;
//! - `go tool pprof -top`: the reference, when `go` is on PATH;
//!   (the pprof binary itself, found with `go tool -n pprof`, so the `go`
//!   command's start-up is not counted) and the ratio between the last two.
//!
//! Peak RSS of this process closes the run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use heapframe::Profile;
use heapframe::pprof::{self, ReadOptions};
use heapframe::report::{self, BaseMode, TopOptions};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f());
        v.push(t.elapsed());
    }
    median(v)
}

fn ms(d: Duration) -> String {
    format!("{:9.2} ms", d.as_secs_f64() * 1e3)
}

/// The pprof binary behind `go tool pprof` (`go tool -n pprof`), so that the
/// reference is timed without the `go` command's own start-up.
fn go_pprof_binary() -> Option<PathBuf> {
    let out = Command::new("go")
        .args(["tool", "-n", "pprof"])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    (out.status.success() && path.is_file()).then_some(path)
}

fn go_pprof(bin: &Path, runs: usize, args: &[&Path]) -> Option<Duration> {
    let mut v = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let mut c = Command::new(bin);
        c.arg("-top").env("TZ", "UTC");
        if args.len() == 2 {
            c.arg("-base").arg(args[0]).arg(args[1]);
        } else {
            c.arg(args[0]);
        }
        let out = c.output().ok()?;
        if !out.status.success() {
            return None;
        }
        v.push(t.elapsed());
    }
    Some(median(v))
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn bench_file(path: &Path, runs: usize, go: Option<&Path>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let opts = ReadOptions::default();
    let raw_len = pprof::uncompressed(&bytes, &opts)
        .map(|r| r.len())
        .unwrap_or(0);
    println!(
        "\n{} ({} bytes, {} decompressed)",
        path.display(),
        bytes.len(),
        raw_len
    );
    let gunzip = time(runs, || pprof::uncompressed(&bytes, &opts).unwrap().len());
    let decode = time(runs, || Profile::from_bytes(&bytes, "bench").unwrap());
    let p = Profile::from_bytes(&bytes, "bench").unwrap();
    println!(
        "  {} samples, {} locations, {} functions",
        p.samples.len(),
        p.locations.len(),
        p.functions.len()
    );
    let top = time(runs, || {
        report::top(&p, &TopOptions::default()).unwrap().to_text()
    });
    let both = time(runs, || {
        let p = Profile::from_bytes(&bytes, "bench").unwrap();
        report::top(&p, &TopOptions::default()).unwrap().to_text()
    });
    println!("  gunzip            {}", ms(gunzip));
    println!("  decode            {}", ms(decode));
    println!("  top               {}", ms(top));
    println!(
        "  load+top          {}   ({:.2}x the gunzip floor)",
        ms(both),
        both.as_secs_f64() / gunzip.as_secs_f64()
    );
    if let Some(bin) = go {
        match go_pprof(bin, runs.min(5), &[path]) {
            Some(g) => println!(
                "  go tool pprof -top{}   (heapframe {:.1}x faster)",
                ms(g),
                g.as_secs_f64() / both.as_secs_f64()
            ),
            None => println!("  go tool pprof -top failed"),
        }
    }
}

fn bench_base(base: &Path, src: &Path, runs: usize, go: Option<&Path>) {
    let bb = std::fs::read(base).unwrap();
    let sb = std::fs::read(src).unwrap();
    println!("\n-base {} {}", base.display(), src.display());
    let both = time(runs, || {
        let b = Profile::from_bytes(&bb, "base").unwrap();
        let s = Profile::from_bytes(&sb, "src").unwrap();
        let d = report::subtract(&s, &b, BaseMode::Subtract, false).unwrap();
        report::top(&d, &TopOptions::default()).unwrap().to_text()
    });
    println!("  load+base+top     {}", ms(both));
    if let Some(bin) = go {
        match go_pprof(bin, runs.min(5), &[base, src]) {
            Some(g) => println!(
                "  go tool pprof -top -base{}   (heapframe {:.1}x faster)",
                ms(g),
                g.as_secs_f64() / both.as_secs_f64()
            ),
            None => println!("  go tool pprof -top -base failed"),
        }
    }
}

/// Growth ranking over `n` snapshots: the given profiles repeated in a
/// cycle, five minutes apart (a day is 288).
fn bench_growth(files: &[PathBuf], n: usize, runs: usize) {
    use heapframe::bundle::Snapshot;
    use heapframe::series::{GrowthKey, GrowthOptions, growth};
    let profiles: Vec<Profile> = files
        .iter()
        .map(|f| Profile::from_path(f).unwrap())
        .collect();
    let snaps: Vec<Snapshot> = (0..n)
        .map(|i| Snapshot {
            path: files[i % files.len()].clone(),
            time_ms: i as i64 * 300_000,
            profile: profiles[i % profiles.len()].clone(),
        })
        .collect();
    let samples: usize = snaps.iter().map(|s| s.profile.samples.len()).sum();
    println!(
        "\ngrowth over {n} snapshots ({} files cycled, {samples} samples in all)",
        files.len()
    );
    for (name, key) in [
        ("function", GrowthKey::Function),
        ("path", GrowthKey::Path(None)),
        ("kind", GrowthKey::Kind),
    ] {
        let opts = GrowthOptions {
            key,
            ..Default::default()
        };
        let d = time(runs.min(5), || growth(&snaps, &opts).unwrap().rows.len());
        println!(
            "  by {name:<9}      {}   ({:.3} ms per snapshot)",
            ms(d),
            d.as_secs_f64() * 1e3 / n as f64
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary without it, as a smoke test: keep that run short.
    let short = std::env::var_os("HEAPFRAME_BENCH_SHORT").is_some()
        || !std::env::args().any(|a| a == "--bench");
    let runs = if short { 3 } else { 11 };
    let go_bin = if short { None } else { go_pprof_binary() };
    let go = go_bin.as_deref();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance/profiles");
    let files: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .collect();
    println!("heapframe bench ({runs} runs each, median)");
    if let Some(b) = go {
        println!(
            "reference: {} (the binary `go tool pprof` runs)",
            b.display()
        );
    }
    if files.is_empty() {
        bench_file(&root.join("pprof.large.cpu.pb.gz"), runs, go);
        bench_file(&root.join("bigtree.heap.pb.gz"), runs, go);
        bench_base(
            &root.join("svc.heap.1.pb.gz"),
            &root.join("svc.heap.2.pb.gz"),
            runs,
            go,
        );
        let n = if short { 24 } else { 288 };
        let bundle =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bundles/mapcache/heap");
        let mut heaps: Vec<PathBuf> = std::fs::read_dir(&bundle)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        heaps.sort();
        if !heaps.is_empty() {
            bench_growth(&heaps, n, runs);
        }
        bench_growth(&[root.join("bigtree.heap.pb.gz")], n, runs);
    } else {
        for f in &files {
            bench_file(f, runs, go);
        }
    }
    if let Some(k) = peak_rss_kib() {
        println!("\npeak RSS of this process: {:.1} MiB", k as f64 / 1024.0);
    }
}
