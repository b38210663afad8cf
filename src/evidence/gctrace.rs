//! `GODEBUG=gctrace=1` logs: the line the Go runtime prints to standard
//! error at the end of every GC cycle, read as a metric series.
//!
//! ```text
//! gc 12 @4.067s 3%: 0.083+1.2+0.005 ms clock, 0.16+0.15/0.39/0.13+0.010 ms cpu, 14->15->7 MB, 16 MB goal, 0 MB stacks, 0 MB globals, 2 P
//! ```
//!
//! reads as: cycle 12 began 4.067 s after the process started; the GC has
//! used 3% of the CPU since then; its three phases took 0.083, 1.2 and
//! 0.005 ms of wall-clock time; the heap was 14 MiB when it began, 15 MiB
//! when marking ended, and **7 MiB was marked live** (the floor a leak
//! raises); the next cycle is due at 16 MiB (runtime `mgc.go`, `gcMarkTermination`;
//! the sizes are whole MiB, rounded down). Older Go prints no `stacks` and
//! `globals` figures, `(forced)` ends the line of a cycle that
//! `runtime.GC()` asked for, and Go 1.26 and later may print
//! `(checking for goroutine leaks)` after the CPU share.
//!
//! The runtime prints no wall-clock time. A log pipeline often puts one in
//! front (`kubectl logs --timestamps`, `docker logs -t`, journald exports,
//! Go's `log` package): an RFC 3339 time, or Go's `2006/01/02 15:04:05`
//! (read as UTC), anywhere before `gc N @` is the time the line was
//! written, which is when the cycle ended. Lines without one are placed
//! from their process's start: given ([`Anchor::Start`]), or learnt from a
//! heap snapshot of the same process whose `runtime.MemStats` trailer says
//! when GC cycle N ended ([`Anchor::LastGc`], `NumGC` and `LastGC`).
//!
//! Anything else in the log (the service's own lines, `scav` lines, a
//! prefix such as `svc-7f9c | `) is passed over. A new process in the same
//! log shows as a cycle number that falls; each process is placed on its
//! own.

use std::io::BufRead;

use crate::error::{Error, Result};
use crate::evidence::metrics::{MetricSample, names};

/// The largest gctrace log read, in bytes (after decompression).
pub const MAX_LOG_BYTES: u64 = 2 << 30;
/// Lines longer than this are passed over (no gctrace line is near it).
const MAX_LINE_BYTES: usize = 64 << 10;
/// At most this many GC cycles are read from one log.
pub const MAX_CYCLES: usize = 2_000_000;

/// One GC cycle, as one gctrace line tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct GcCycle {
    /// The line it was read from, from 1.
    pub line: usize,
    /// The cycle's number (`gc N`), from 1 in each process.
    pub number: u64,
    /// When the cycle began, in milliseconds since the process started
    /// (`@T s`).
    pub began_ms: f64,
    /// The wall-clock time of its three phases together, in milliseconds.
    pub clock_ms: f64,
    /// The share of CPU the GC has used since the process started, in
    /// percent (`P%`).
    pub cpu_pct: f64,
    /// Heap size when the cycle began, in bytes (whole MiB).
    pub heap_start: u64,
    /// Heap size when marking ended, in bytes (whole MiB).
    pub heap_end: u64,
    /// Heap marked live by the cycle, in bytes (whole MiB): the heap's
    /// floor after GC.
    pub heap_live: u64,
    /// The heap size at which the next cycle starts, in bytes (whole MiB).
    pub goal: u64,
    /// `runtime.GC()` asked for it (`(forced)`).
    pub forced: bool,
    /// The time a log pipeline wrote in front of the line, in Unix
    /// milliseconds: when the cycle ended.
    pub logged_ms: Option<i64>,
}

impl GcCycle {
    /// When the cycle ended, in milliseconds since the process started.
    pub fn ended_ms(&self) -> f64 {
        self.began_ms + self.clock_ms
    }
}

/// A gctrace log, read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcTrace {
    /// The file (or input) it was read from.
    pub source: String,
    /// Every cycle, in the order of the log.
    pub cycles: Vec<GcCycle>,
    /// Lines that begin like a gctrace line (`gc N @`) but do not read as
    /// one (cut short, or two writers interleaved): their count.
    pub broken: usize,
    /// The first broken line: its number and what is wrong.
    pub first_broken: Option<(usize, String)>,
    /// Some line times had no zone and were read as UTC.
    pub zone_assumed: bool,
}

/// Where the wall-clock time of lines without a time of their own comes
/// from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Anchor {
    /// None: such lines cannot be placed.
    None,
    /// The last process in the log started at this Unix millisecond.
    Start(i64),
    /// GC cycle `number` of the last process ended at Unix millisecond
    /// `at_ms` (a heap snapshot's `NumGC` and `LastGC`).
    LastGc {
        /// `NumGC`.
        number: u64,
        /// `LastGC`, in Unix milliseconds.
        at_ms: i64,
    },
}

/// The metric names a gctrace log's points carry.
pub mod metric {
    /// Heap size when a GC cycle began.
    pub const HEAP_START: &str = "gctrace_heap_start_bytes";
    /// Heap size when marking ended.
    pub const HEAP_END: &str = "gctrace_heap_end_bytes";
    /// Heap marked live by a cycle: the floor after GC.
    pub const HEAP_LIVE: &str = super::names::GCTRACE_HEAP_LIVE;
    /// The heap goal of the next cycle.
    pub const GOAL: &str = "gctrace_heap_goal_bytes";
    /// The cycle's number: completed GC cycles of the process.
    pub const CYCLE: &str = super::names::GCTRACE_CYCLES;
    /// The GC's share of CPU since the process started, 0 to 1.
    pub const CPU_FRACTION: &str = "gctrace_gc_cpu_fraction";
}

fn err(source: &str, line: usize, reason: impl Into<String>) -> Error {
    Error::GcTrace {
        source: source.to_string(),
        line,
        reason: reason.into(),
    }
}

/// Reads a gctrace log from `reader` (at most [`MAX_LOG_BYTES`], lines
/// of any encoding; only the gctrace lines need be ASCII). `source` names
/// it in errors. A log with no gctrace line is an error that says what one
/// looks like; lines that start like one but are cut short are counted
/// ([`GcTrace::broken`]), not an error, unless no line reads.
///
/// ```
/// use heapframe::evidence::gctrace::read_gctrace;
/// let log = "starting\n\
///     2026-12-04T07:24:52.665Z gc 1 @1.567s 0%: 0.47+0.79+0.005 ms clock, 0.95+0/0.51/0.42+0.010 ms cpu, 3->3->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n";
/// let t = read_gctrace(log.as_bytes(), "svc.log")?;
/// assert_eq!((t.cycles[0].number, t.cycles[0].heap_live), (1, 1 << 20));
/// assert_eq!(t.cycles[0].logged_ms, Some(1_796_369_092_665));
/// let e = read_gctrace("hello\n".as_bytes(), "svc.log").unwrap_err();
/// assert!(e.to_string().starts_with("svc.log: no gctrace line"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn read_gctrace(reader: impl std::io::Read, source: &str) -> Result<GcTrace> {
    let mut reader = std::io::BufReader::new(reader.take(MAX_LOG_BYTES + 1));
    let mut trace = GcTrace {
        source: source.to_string(),
        ..Default::default()
    };
    let mut buf = Vec::new();
    let mut read: u64 = 0;
    let mut n = 0usize;
    loop {
        buf.clear();
        let got = read_line_capped(&mut reader, &mut buf)
            .map_err(|e| err(source, n + 1, format!("cannot be read: {e}")))?;
        if got == 0 {
            break;
        }
        read += got as u64;
        if read > MAX_LOG_BYTES {
            return Err(err(
                source,
                n + 1,
                format!(
                    "larger than {} MiB: cut the log to the incident's window",
                    MAX_LOG_BYTES >> 20
                ),
            ));
        }
        n += 1;
        if buf.len() > MAX_LINE_BYTES {
            continue;
        }
        let line = String::from_utf8_lossy(&buf);
        let Some(at) = find_gc(&line) else {
            continue;
        };
        match parse_cycle(&line[at..]) {
            Ok(mut c) => {
                c.line = n;
                let (logged, assumed) = line_time(&line[..at]);
                c.logged_ms = logged;
                trace.zone_assumed |= assumed && logged.is_some();
                if trace.cycles.len() >= MAX_CYCLES {
                    return Err(err(
                        source,
                        n,
                        format!(
                            "more than {MAX_CYCLES} GC cycles: cut the log to the incident's window"
                        ),
                    ));
                }
                trace.cycles.push(c);
            }
            Err(why) => {
                trace.broken += 1;
                if trace.first_broken.is_none() {
                    trace.first_broken = Some((n, why));
                }
            }
        }
    }
    if trace.cycles.is_empty() {
        return Err(match &trace.first_broken {
            Some((line, why)) => err(source, *line, format!("not a gctrace line: {why}")),
            None => err(
                source,
                0,
                "no gctrace line (`gc N @T s P%: ... A->B->C MB, G MB goal, ...`) in the log: was the service run with GODEBUG=gctrace=1?",
            ),
        });
    }
    Ok(trace)
}

/// Reads one line into `buf`, keeping at most [`MAX_LINE_BYTES`] + 1 bytes
/// of it (the rest is read and dropped); returns the bytes consumed.
fn read_line_capped(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(consumed);
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take);
        consumed += take;
        if done {
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(consumed);
        }
    }
}

/// Where `gc N @` starts in `line`, at its start or after a character
/// that is not part of a word.
fn find_gc(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let mut from = 0;
    while let Some(i) = line[from..].find("gc ").map(|i| i + from) {
        let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let digits = b[i + 3..].iter().take_while(|c| c.is_ascii_digit()).count();
        if word_start && digits > 0 && b[i + 3 + digits..].starts_with(b" @") {
            return Some(i);
        }
        from = i + 3;
    }
    None
}

/// `text` quoted for an error, cut to 40 characters.
fn q(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{:?}...", &text[..i]),
        None => format!("{text:?}"),
    }
}

/// Reads `gc N @Ts P%...: ...` (from `gc`).
fn parse_cycle(s: &str) -> std::result::Result<GcCycle, String> {
    let cut = |what: &str| format!("no {what} (the line is cut short or garbled)");
    let rest = &s[3..];
    let (num, rest) = rest.split_once(" @").ok_or_else(|| cut("`@`"))?;
    let number: u64 = num
        .parse()
        .map_err(|_| format!("cycle number {} is not a number", q(num)))?;
    let (began, rest) = rest
        .split_once("s ")
        .ok_or_else(|| cut("start time `@T s`"))?;
    let began_s: f64 = began
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("start time {} is not a number of seconds", q(began)))?;
    let (pct, rest) = rest.split_once('%').ok_or_else(|| cut("CPU share `P%`"))?;
    let cpu_pct: f64 = pct
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("CPU share {} is not a percentage", q(pct)))?;
    let (_, rest) = rest
        .split_once(": ")
        .ok_or_else(|| cut("`:` after the CPU share"))?;
    let (clock, rest) = rest
        .split_once(" ms clock, ")
        .ok_or_else(|| cut("`ms clock`"))?;
    let mut clock_ms = 0.0;
    for part in clock.split('+') {
        let v: f64 = part
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("clock time {} is not a number of milliseconds", q(part)))?;
        clock_ms += v;
    }
    let (_, rest) = rest
        .split_once(" ms cpu, ")
        .ok_or_else(|| cut("`ms cpu`"))?;
    let (sizes, rest) = rest
        .split_once(" MB, ")
        .ok_or_else(|| cut("heap sizes `A->B->C MB`"))?;
    let mib = |t: &str, what: &str| -> std::result::Result<u64, String> {
        t.parse::<u64>()
            .ok()
            .and_then(|v| v.checked_mul(1 << 20))
            .ok_or_else(|| format!("{what} {} is not a number of MB", q(t)))
    };
    let parts: Vec<&str> = sizes.split("->").collect();
    let [a, b, c] = parts[..] else {
        return Err(format!("heap sizes {} are not A->B->C", q(sizes)));
    };
    let (goal, rest) = rest
        .split_once(" MB goal")
        .ok_or_else(|| cut("`MB goal`"))?;
    Ok(GcCycle {
        line: 0,
        number,
        began_ms: began_s * 1000.0,
        clock_ms,
        cpu_pct,
        heap_start: mib(a, "heap at start")?,
        heap_end: mib(b, "heap at end")?,
        heap_live: mib(c, "live heap")?,
        goal: mib(goal, "heap goal")?,
        forced: rest.trim_end().ends_with("(forced)"),
        logged_ms: None,
    })
}

/// The time a log pipeline wrote in `prefix` (the text before `gc N @`):
/// the last RFC 3339 time or Go `log` time in it, and whether it had no
/// zone (read as UTC).
fn line_time(prefix: &str) -> (Option<i64>, bool) {
    static TIME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|z|[+-]\d{2}:?\d{2})?",
        )
        .expect("valid time pattern")
    });
    let Some(c) = TIME.captures_iter(prefix).last() else {
        return (None, false);
    };
    let zone = c.get(6).map(|m| m.as_str());
    let zone_text = match zone {
        None => "Z".to_string(),
        Some(z) if z.len() == 5 => format!("{}:{}", &z[..3], &z[3..]),
        Some(z) => z.to_string(),
    };
    let text = format!(
        "{}-{}-{}T{}{}{}",
        &c[1],
        &c[2],
        &c[3],
        &c[4],
        c.get(5).map_or("", |m| m.as_str()),
        zone_text
    );
    (crate::units::parse_rfc3339(&text).ok(), zone.is_none())
}

/// A cycle placed in time.
#[derive(Debug, Clone, PartialEq)]
struct Placed<'a> {
    time_ms: i64,
    cycle: &'a GcCycle,
}

impl GcTrace {
    /// The processes in the log: runs of cycles whose numbers rise (a
    /// number that falls starts a new process).
    pub fn processes(&self) -> Vec<&[GcCycle]> {
        let mut out = Vec::new();
        let mut start = 0;
        for i in 1..self.cycles.len() {
            if self.cycles[i].number <= self.cycles[i - 1].number {
                out.push(&self.cycles[start..i]);
                start = i;
            }
        }
        if start < self.cycles.len() {
            out.push(&self.cycles[start..]);
        }
        out
    }

    /// True when every cycle has a time of its own.
    pub fn all_logged(&self) -> bool {
        self.cycles.iter().all(|c| c.logged_ms.is_some())
    }

    /// The log as metric samples, one set per cycle at the time it ended
    /// (names in [`metric`]), with sentences for what was dropped or
    /// assumed. Lines without a time of their own are placed by `anchor`
    /// (which speaks of the last process); those of earlier processes
    /// with no time are dropped, and said so. An error when no cycle can be
    /// placed, saying what would place them.
    pub fn samples(&self, anchor: Anchor) -> Result<(Vec<MetricSample>, Vec<String>)> {
        let procs = self.processes();
        let mut notes = Vec::new();
        let mut placed: Vec<Placed> = Vec::new();
        let last = procs.len().saturating_sub(1);
        let mut dropped = (0usize, 0usize);
        for (i, p) in procs.iter().enumerate() {
            let start = if i == last {
                match anchor {
                    Anchor::None => None,
                    Anchor::Start(ms) => Some(ms as f64),
                    Anchor::LastGc { number, at_ms } => match p.iter().find(|c| c.number == number)
                    {
                        Some(c) => Some(at_ms as f64 - c.ended_ms()),
                        None => {
                            return Err(err(
                                &self.source,
                                p[0].line,
                                format!(
                                    "the heap snapshot that would place the log says GC cycle {number} ended last, but the log's last process has cycles {} to {}: not the same process",
                                    p[0].number,
                                    p[p.len() - 1].number
                                ),
                            ));
                        }
                    },
                }
            } else {
                None
            };
            let mut unplaced = 0;
            for c in p.iter() {
                let t = c
                    .logged_ms
                    .or_else(|| start.map(|s| (s + c.ended_ms()).round() as i64));
                match t.filter(|t| (0..=crate::evidence::metrics::MAX_TIME_MS).contains(t)) {
                    Some(time_ms) => placed.push(Placed { time_ms, cycle: c }),
                    None => unplaced += 1,
                }
            }
            if unplaced > 0 {
                if i == last {
                    return Err(err(
                        &self.source,
                        p.iter()
                            .find(|c| c.logged_ms.is_none())
                            .map_or(1, |c| c.line),
                        "gctrace lines carry no wall-clock time (the runtime prints only seconds since the process started): give the process's start time (--start), keep the log's time stamps (kubectl logs --timestamps, docker logs -t), or put a ?debug=1 heap snapshot of the same process beside it",
                    ));
                }
                dropped.0 += unplaced;
                dropped.1 += 1;
            }
        }
        if dropped.0 > 0 {
            notes.push(format!(
                "{}: {} GC cycle{} of {} earlier process{} left out: their lines carry no time, and only the last process can be placed",
                self.source,
                dropped.0,
                if dropped.0 == 1 { "" } else { "s" },
                dropped.1,
                if dropped.1 == 1 { "" } else { "es" }
            ));
        }
        if self.broken > 0
            && let Some((line, why)) = &self.first_broken
        {
            notes.push(format!(
                "{}: {} line{} that began like gctrace did not read as one (first: line {line}, {why})",
                self.source,
                self.broken,
                if self.broken == 1 { "" } else { "s" }
            ));
        }
        if self.zone_assumed {
            notes.push(format!(
                "{}: line times without a zone were read as UTC",
                self.source
            ));
        }
        let mut out = Vec::with_capacity(placed.len() * 6);
        for p in &placed {
            let c = p.cycle;
            let mut push = |metric: &str, value: f64| {
                out.push(MetricSample {
                    time_ms: p.time_ms,
                    metric: metric.to_string(),
                    labels: Vec::new(),
                    value,
                })
            };
            push(metric::HEAP_START, c.heap_start as f64);
            push(metric::HEAP_END, c.heap_end as f64);
            push(metric::HEAP_LIVE, c.heap_live as f64);
            push(metric::GOAL, c.goal as f64);
            push(metric::CYCLE, c.number as f64);
            push(metric::CPU_FRACTION, c.cpu_pct / 100.0);
        }
        Ok((out, notes))
    }
}

/// Reads the gctrace log at `path` (gzip-compressed or not; a regular
/// file, at most [`MAX_LOG_BYTES`] once decompressed).
pub fn read_gctrace_file(path: &std::path::Path) -> Result<GcTrace> {
    let source = path.display().to_string();
    let file = crate::files::open_regular_file(path)?;
    let mut r = std::io::BufReader::new(file);
    let gz = r
        .fill_buf()
        .map(|b| b.starts_with(&[0x1f, 0x8b]))
        .map_err(|e| err(&source, 1, format!("cannot be read: {e}")))?;
    if gz {
        read_gctrace(flate2::bufread::MultiGzDecoder::new(r), &source)
    } else {
        read_gctrace(r, &source)
    }
}
