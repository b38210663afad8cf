//! Goroutine text (issue 16, item 2), captured from the leaky service's
//! goroutines scenario by tests/fixtures/capture-goroutines.sh (Go 1.27):
//! `?debug=1` counts read as `go tool pprof -raw` reads them; `?debug=2`
//! dumps, a SIGQUIT crash and the same crash inside a log read as
//! goroutines, buckets, a table and a goroutine-count profile.

mod common;

use heapframe::Profile;
use heapframe::evidence::bundle::Bundle;
use heapframe::profile::goroutine_text::{GoroutineDump, parse_dump};

const DIR: &str = "tests/fixtures/goroutine-text";

fn dump(name: &str) -> GoroutineDump {
    parse_dump(&std::fs::read_to_string(format!("{DIR}/{name}")).unwrap()).unwrap()
}

/// Flat count by innermost function, largest first (ties by name).
fn flat(p: &Profile) -> Vec<(String, i64)> {
    let mut by: std::collections::BTreeMap<String, i64> = Default::default();
    for k in 0..p.samples.len() {
        let s = p.samples.get(k);
        let leaf = s.stack.to_vec().first().map_or("<none>".to_string(), |&l| {
            let f = p.locations[l as usize].lines[0].function;
            p.functions[f as usize].name.to_string()
        });
        *by.entry(leaf).or_default() += s.values[0];
    }
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

#[test]
fn debug1_counts_and_stacks_equal_pprofs() {
    for i in 1..=2 {
        let p = Profile::from_path(format!("{DIR}/{i}.debug1.txt")).unwrap();
        let raw = common::read_pprof_raw(
            &std::fs::read_to_string(format!("{DIR}/{i}.debug1.raw.golden")).unwrap(),
        );
        assert_eq!(raw.types, ["goroutine"]);
        assert_eq!(p.sample_types[0].name.as_ref(), "goroutine");
        common::assert_raw_samples(&p, &raw, &format!("{i}.debug1.txt"));
        // The header's total is the sum, as pprof's -top says.
        let total: i64 = raw.samples.iter().map(|s| s.0[0]).sum();
        let head = std::fs::read_to_string(format!("{DIR}/{i}.debug1.txt")).unwrap();
        assert!(head.starts_with(&format!("goroutine profile: total {total}\n")));
    }
}

/// debug=1 and debug=2 of one moment tell the same story: the same total
/// and the same goroutines by function of the service.
#[test]
fn debug1_and_debug2_of_one_moment_agree() {
    for i in 1..=2 {
        let one = Profile::from_path(format!("{DIR}/{i}.debug1.txt")).unwrap();
        let two = Profile::from_path(format!("{DIR}/{i}.debug2.txt")).unwrap();
        let (a, b) = (flat(&one), flat(&two));
        let total = |v: &[(String, i64)]| v.iter().map(|x| x.1).sum::<i64>();
        assert_eq!(total(&a), total(&b), "{i}");
        assert_eq!(a[0], b[0], "{i}");
        // The service's own goroutines; the runtime's and the handler's
        // that wrote each answer may differ between two requests.
        let strip = |v: Vec<(String, i64)>| -> Vec<(String, i64)> {
            v.into_iter().filter(|x| x.0.starts_with("main.")).collect()
        };
        assert_eq!(strip(a), strip(b), "{i}");
    }
}

#[test]
fn a_dump_reads_as_goroutines_buckets_and_a_table() {
    let d = dump("2.debug2.txt");
    assert_eq!(d.goroutines.len(), 268);
    let ids: std::collections::HashSet<u64> = d.goroutines.iter().map(|g| g.id).collect();
    assert_eq!(ids.len(), 268, "ids are unique");
    let watchers: Vec<_> = d
        .goroutines
        .iter()
        .filter(|g| {
            g.frames
                .first()
                .is_some_and(|f| f.function == "main.startWatcher.func1")
        })
        .collect();
    assert_eq!(watchers.len(), 261);
    for g in &watchers {
        assert_eq!(g.state, "chan receive");
        assert_eq!(g.creator.as_deref(), Some("main.startWatcher"));
        assert!(g.creator_goroutine.is_some());
        assert_eq!(g.frames[0].file, "leakysvc/main.go");
        assert_eq!(g.frames[0].line, 218);
    }
    let b = d.buckets();
    assert_eq!((b[0].count, b[0].state.as_str()), (261, "chan receive"));
    assert_eq!(b.iter().map(|b| b.count).sum::<usize>(), 268);
    let said = d.blocked_sentences(10);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("261 of 268 goroutines blocked in chan receive at main.startWatcher.func1 (leakysvc/main.go:218), for under a minute, created by main.startWatcher"),
        "{said:?}"
    );
    let df = heapframe::tables::goroutines_frame(&d).unwrap();
    assert_eq!(df.height(), 268);
    let names: Vec<&str> = df.get_column_names().iter().map(|c| c.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "state",
            "wait_minutes",
            "locked",
            "top",
            "frames",
            "depth",
            "elided",
            "creator",
            "creator_goroutine"
        ]
    );
    // The profile: one sample per bucket, labelled with its state.
    let p = d.to_profile();
    assert_eq!(p.samples.len(), b.len());
    assert_eq!(p.samples.get(0).values, &[261]);
}

/// The SIGQUIT crash, as printed and as a log pipeline keeps it (time
/// stamps, stream names and other lines around it): the same goroutines.
#[test]
fn a_crash_dump_reads_the_same_inside_a_log() {
    let crash = dump("crash.txt");
    let logged = dump("crash-in-log.txt");
    assert_eq!(crash.goroutines.len(), 275);
    assert_eq!(
        crash,
        GoroutineDump {
            goroutines: logged
                .goroutines
                .iter()
                .map(|g| heapframe::profile::goroutine_text::Goroutine {
                    line: crash.goroutines.iter().find(|c| c.id == g.id).unwrap().line,
                    ..g.clone()
                })
                .collect()
        }
    );
    // Runtime headers of a crash: `goroutine 0 gp=.. m=0 mp=.. [idle]:`;
    // frames with `fp= sp= pc=` read as file and line.
    let g0 = &crash.goroutines[0];
    assert_eq!((g0.id, g0.state.as_str()), (0, "idle"));
    assert_eq!(g0.frames[0].function, "runtime.futex");
    assert_eq!(g0.frames[0].file, "runtime/sys_linux_amd64.s");
    assert_eq!(g0.frames[0].line, 575);
    // As a profile, read from the file: a goroutine profile.
    let p = Profile::from_path(format!("{DIR}/crash-in-log.txt")).unwrap();
    assert_eq!(p.sample_types[0].name.as_ref(), "goroutine");
}

/// Two dumps minutes apart: growth by creator and by blocking stack; a
/// bundle's goroutine/ folder takes text dumps.
#[test]
fn two_dumps_show_what_grows() {
    let b = Bundle::from_paths(&[format!("{DIR}/1.debug2.txt"), format!("{DIR}/2.debug2.txt")])
        .unwrap();
    assert_eq!(
        b.only_kind().unwrap(),
        heapframe::evidence::SnapshotKind::Goroutine
    );
    let series = b.snapshots(heapframe::evidence::SnapshotKind::Goroutine);
    assert_eq!(series.len(), 2);
    let first = dump("1.debug2.txt");
    let second = dump("2.debug2.txt");
    let count = |d: &GoroutineDump, creator: &str| {
        d.goroutines
            .iter()
            .filter(|g| g.creator.as_deref() == Some(creator))
            .count()
    };
    assert_eq!(count(&first, "main.startWatcher"), 60);
    assert_eq!(count(&second, "main.startWatcher"), 261);
    // The growth command ranks the watcher first.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_heapframe"))
        .args([
            "growth",
            &format!("{DIR}/1.debug2.txt"),
            &format!("{DIR}/2.debug2.txt"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first_row = text.lines().find(|l| l.contains("main.")).unwrap_or("");
    assert!(first_row.contains("main.startWatcher.func1"), "{text}");
}

#[test]
fn headers_states_and_frames_of_every_shape() {
    let d = parse_dump(
        "panic: boom\n\n\
         goroutine 7 [chan receive, 37 minutes]:\n\
         main.wait(...)\n\
         \t/src/m.go:9\n\
         main.(*pool).run(0xc000010000, {0x1, 0x2})\n\
         \t/src/m.go:20 +0x1d\n\
         created by main.start in goroutine 1\n\
         \t/src/m.go:4 +0x2\n\
         \n\
         goroutine 8 [semacquire, 1 minute, locked to thread]:\n\
         sync.runtime_Semacquire(0x1?)\n\
         \t/go/src/runtime/sema.go:71 +0x25\n\
         ...additional frames elided...\n\
         created by main.old\n\
         \t/src/m.go:30 +0x2\n\
         \n\
         goroutine 9 [select (no cases)]:\n\
         main.F[...](...)\n\
         \t/src/m.go:40\n",
    )
    .unwrap();
    let g = &d.goroutines;
    assert_eq!(g.len(), 3);
    assert_eq!(
        (g[0].state.as_str(), g[0].wait_minutes, g[0].locked),
        ("chan receive", 37, false)
    );
    let names: Vec<&str> = g[0].frames.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(names, ["main.wait", "main.(*pool).run"]);
    assert_eq!(
        (g[0].creator.as_deref(), g[0].creator_goroutine),
        (Some("main.start"), Some(1))
    );
    assert_eq!(
        (
            g[1].state.as_str(),
            g[1].wait_minutes,
            g[1].locked,
            g[1].elided
        ),
        ("semacquire", 1, true, true)
    );
    assert_eq!(
        (g[1].creator.as_deref(), g[1].creator_goroutine),
        (Some("main.old"), None)
    );
    assert_eq!(g[2].state, "select (no cases)");
    assert_eq!(g[2].frames[0].function, "main.F[...]");
}

/// Cut and garbled dumps: a named error, never a panic.
#[test]
fn malformed_goroutine_text_gets_named_errors() {
    let err = |t: &str| {
        Profile::from_bytes(t.as_bytes(), "g.txt")
            .unwrap_err()
            .to_string()
    };
    let e = err("goroutine profile: total x\n");
    assert!(
        e.starts_with("g.txt: goroutine text (?debug=1 or a dump), line 1: total \"x\""),
        "{e}"
    );
    let e = err("goroutine profile: total 3\n3 @ 0x1 0xZZ\n");
    assert!(e.contains("line 2: address \"0xZZ\": not 0x hex"), "{e}");
    let e = err("goroutine profile: total 3\nthree @ 0x1\n");
    assert!(e.contains("line 2: count \"three\" is not a number"), "{e}");
    let e = err("goroutine 1 [running]:\nmain.main()\n\tno line number here\n");
    assert!(
        e.contains("line 3: expected `file:line` under a frame"),
        "{e}"
    );
    // A dump cut mid-frame keeps what it read.
    let d =
        parse_dump("goroutine 1 [running]:\nmain.main()\n\t/m.go:3 +0x1\nmain.caller(").unwrap();
    assert_eq!(d.goroutines[0].frames.len(), 1);
    // Not a dump at all.
    assert!(parse_dump("hello\n").is_err());
    // A protobuf profile that names a goroutine in a string is not a dump.
    let pb = std::fs::read(format!("{DIR}/2.pb.gz")).unwrap();
    let p = Profile::from_bytes(&pb, "2.pb.gz").unwrap();
    assert!(!p.locations.is_empty() && p.locations.iter().all(|l| l.address != 0));
}

/// `heapframe goroutines` on two dumps: the groups, the blocked shape and
/// growth by creator; a crash inside a log reads too; a file that is not
/// a dump is a named error.
#[test]
fn the_goroutines_command_reads_dumps() {
    let run = |args: &[String]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_heapframe"))
            .arg("goroutines")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[format!("{DIR}/1.debug2.txt"), format!("{DIR}/2.debug2.txt")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("2.debug2.txt: 268 goroutines in 8 groups"),
        "{text}"
    );
    assert!(
        text.contains(
            "blocked: 261 of 268 goroutines blocked in chan receive at main.startWatcher.func1"
        ),
        "{text}"
    );
    let growth = text
        .split("growth by creator (first -> later):\n")
        .nth(1)
        .unwrap();
    assert!(
        growth
            .lines()
            .next()
            .unwrap()
            .ends_with("+201      60 -> 261     main.startWatcher"),
        "{growth}"
    );
    let out = run(&[format!("{DIR}/crash-in-log.txt")]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("crash-in-log.txt: 275 goroutines"));
    let out = run(&["Cargo.toml".to_string()]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("Cargo.toml: goroutine text (?debug=1 or a dump), no goroutine in the dump"),
        "{e}"
    );
}
