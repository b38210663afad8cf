//! Goroutine dumps in text: what `/debug/pprof/goroutine?debug=1` and
//! `?debug=2` answer, and what a Go program prints when it crashes or gets
//! SIGQUIT, often pasted into a ticket or buried in a log.
//!
//! `debug=1` groups goroutines by stack (`runtime/pprof` `printCountProfile`):
//!
//! ```text
//! goroutine profile: total 12
//! 4 @ 0x43d2ae 0x408f45 0x6a1234 0x46e9a1
//! #    0x6a1233    main.startWatcher.func1+0x53    /src/main.go:123
//! ```
//!
//! read as `go tool pprof` reads it (`legacy_profile.go` `parseCount`): one
//! sample per record, sample type `goroutine`/`count`, its value the
//! record's count, its stack the record's addresses (less one: the call);
//! frames are named from the `#` lines (pprof, without the binary, shows
//! `<unknown>`), and addresses without one (`runtime.goexit`) are left
//! out of the stack, not of the count.
//!
//! `debug=2`, crashes and SIGQUIT print every goroutine (`runtime`
//! `traceback.go`):
//!
//! ```text
//! goroutine 18 [chan receive, 37 minutes]:
//! main.startWatcher.func1()
//!     /src/main.go:123 +0x45
//! created by main.startWatcher in goroutine 7
//!     /src/main.go:120 +0x85
//! ```
//!
//! read as a [`GoroutineDump`]: each goroutine's id, state, minutes
//! blocked, whether it is locked to its thread, frames, creator and
//! creator's goroutine. Newer runtimes' `goroutine 1 gp=0x.. m=0 mp=0x..
//! [running]:` headers, `...additional frames elided...`, `fp= sp= pc=`
//! suffixes and the panic message before the dump are read or passed over.
//! A dump inside a larger log is found by its first `goroutine N [` line;
//! when that line carries a prefix (`2026-12-04T07:24:52Z stderr F `), the
//! same number of space-separated fields is taken off every line of the
//! dump. As a [`Profile`], goroutines with the same stack and state are
//! one sample (sample type `goroutine`/`count`), labelled `state`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ProfileError;

use super::{Function, Label, LabelValue, Line, Location, Profile, Samples, Str, ValueType};

/// At most this many goroutines are read from one dump.
pub const MAX_GOROUTINES: usize = 5_000_000;
/// At most this many frames are kept of one goroutine (Go prints 100).
const MAX_FRAMES: usize = 1_000;

/// Whether `raw` (decompressed) is goroutine text heapframe reads as a
/// profile: `?debug=1` counts or a dump.
pub fn is_goroutine_text(raw: &[u8]) -> bool {
    is_count_text(raw) || is_dump_text(raw)
}

/// Whether `raw` (decompressed) is a `debug=1` goroutine profile.
pub(crate) fn is_count_text(raw: &[u8]) -> bool {
    raw.starts_with(b"goroutine profile:")
}

/// Whether `raw` holds a goroutine dump (`goroutine N [state]:` at the
/// start of a line, after a prefix or not) and reads as text (no control
/// bytes but tab, line breaks and escape in its first 64 KiB, which a
/// protobuf profile always has).
pub(crate) fn is_dump_text(raw: &[u8]) -> bool {
    let textual = raw[..raw.len().min(64 << 10)]
        .iter()
        .all(|&b| b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r' | 0x1b));
    textual
        && raw
            .split(|&b| b == b'\n')
            .filter_map(|l| std::str::from_utf8(l).ok())
            .any(|l| header(l).is_some())
}

fn bad(n: usize, what: impl std::fmt::Display) -> ProfileError {
    ProfileError::GoroutineText(format!("line {n}: {what}"))
}

fn short(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{:?}...", &s[..i]),
        None => format!("{s:?}"),
    }
}

/// One frame: function, file, line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// The function, as Go prints it (`main.(*cache).Put`).
    pub function: String,
    /// The source file.
    pub file: String,
    /// The line.
    pub line: i64,
}

/// One goroutine of a dump.
#[derive(Debug, Clone, PartialEq)]
pub struct Goroutine {
    /// Its id (`goroutine N`).
    pub id: u64,
    /// What it is doing: `running`, `chan receive`, `select`, `IO wait`...
    pub state: String,
    /// How long it has been blocked, in minutes (Go prints it from one
    /// minute on); 0 when not printed.
    pub wait_minutes: u64,
    /// Locked to its OS thread (`locked to thread`).
    pub locked: bool,
    /// Its frames, innermost first.
    pub frames: Vec<Frame>,
    /// Frames Go left out (`...additional frames elided...`).
    pub elided: bool,
    /// The function whose `go` statement started it.
    pub creator: Option<String>,
    /// The goroutine that ran that statement (Go 1.21 and later).
    pub creator_goroutine: Option<u64>,
    /// The line of the dump its header is on, from 1.
    pub line: usize,
}

/// A goroutine dump, read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoroutineDump {
    /// Every goroutine, in the order of the dump.
    pub goroutines: Vec<Goroutine>,
}

/// Goroutines with the same state and stack, as a dump reader groups them.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// The state.
    pub state: String,
    /// The stack, innermost first.
    pub frames: Vec<Frame>,
    /// The creator (of the first goroutine; creators within a bucket are the
    /// same function, from possibly different goroutines).
    pub creator: Option<String>,
    /// How many goroutines.
    pub count: usize,
    /// The least and the most minutes blocked.
    pub wait_minutes: (u64, u64),
    /// Their ids, in the order of the dump.
    pub ids: Vec<u64>,
}

/// `goroutine N [state]:` or `goroutine N gp=.. m=.. [state]:` in `line`:
/// where it starts, the id and what is inside the brackets.
fn header(line: &str) -> Option<(usize, u64, &str)> {
    let line = line.trim_end();
    let start = line.find("goroutine ")?;
    if start > 0 && !line.as_bytes()[start - 1].is_ascii_whitespace() {
        return None;
    }
    let rest = &line[start + "goroutine ".len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let id: u64 = rest[..digits].parse().ok()?;
    let rest = &rest[digits..];
    let open = rest.find(" [")?;
    // Between the id and the bracket, only `gp=.. m=.. mp=..` fields.
    if !rest[..open].split_whitespace().all(|f| {
        f.starts_with("gp=")
            || f.starts_with("m=")
            || f.starts_with("mp=")
            || f.starts_with("goid=")
    }) {
        return None;
    }
    let inner = rest[open + 2..].strip_suffix("]:")?;
    Some((start, id, inner))
}

/// `chan receive, 37 minutes, locked to thread` as (state, minutes, locked).
fn state_of(inner: &str) -> (String, u64, bool) {
    let mut state = Vec::new();
    let (mut minutes, mut locked) = (0, false);
    for part in inner.split(", ") {
        if part == "locked to thread" {
            locked = true;
        } else if let Some(m) = part
            .strip_suffix(" minutes")
            .or(part.strip_suffix(" minute"))
            && let Ok(m) = m.trim().parse::<u64>()
        {
            minutes = m;
        } else {
            state.push(part);
        }
    }
    (state.join(", "), minutes, locked)
}

/// `main.(*T).m(0x1, ...)` as `main.(*T).m`.
fn function_of(line: &str) -> &str {
    let line = line.trim();
    if line.ends_with(')')
        && let Some(i) = line.rfind('(')
        && i > 0
    {
        return &line[..i];
    }
    line
}

/// `\t/src/main.go:123 +0x45 fp=.. sp=..` as (file, line).
fn file_line(line: &str) -> Option<(&str, i64)> {
    let t = line.trim();
    let t = t.split(" +0x").next().unwrap_or(t);
    let t = t.split(" fp=").next().unwrap_or(t).trim();
    let (file, n) = t.rsplit_once(':')?;
    Some((file, n.parse().ok()?))
}

/// Reads every goroutine of a dump in `text` (see the module docs).
pub fn parse_dump(text: &str) -> Result<GoroutineDump, ProfileError> {
    let mut dump = GoroutineDump::default();
    // The number of space-separated fields of the prefix of the current
    // goroutine's header, taken off each of its lines.
    let mut prefix_fields = 0usize;
    let mut current: Option<Goroutine> = None;
    // A function line waiting for its file line.
    let mut pending: Option<String> = None;
    let mut creating = false;
    let strip = |line: &str, fields: usize| -> String {
        let mut rest = line;
        for _ in 0..fields {
            let t = rest.trim_start_matches(' ');
            match t.find(' ') {
                Some(i) => rest = &t[i + 1..],
                None => return String::new(),
            }
        }
        rest.to_string()
    };
    let finish = |g: Option<Goroutine>, dump: &mut GoroutineDump| {
        if let Some(g) = g {
            dump.goroutines.push(g);
        }
    };
    for (i, raw_line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some((start, id, inner)) = header(raw_line) {
            finish(current.take(), &mut dump);
            if dump.goroutines.len() >= MAX_GOROUTINES {
                return Err(bad(n, format!("more than {MAX_GOROUTINES} goroutines")));
            }
            prefix_fields = raw_line[..start].split_whitespace().count();
            let (state, wait_minutes, locked) = state_of(inner);
            current = Some(Goroutine {
                id,
                state,
                wait_minutes,
                locked,
                frames: Vec::new(),
                elided: false,
                creator: None,
                creator_goroutine: None,
                line: n,
            });
            pending = None;
            creating = false;
            continue;
        }
        let Some(g) = current.as_mut() else {
            continue; // before the dump: the panic message, other log lines
        };
        let line = strip(raw_line, prefix_fields);
        if line.trim().is_empty() {
            // A blank line ends the goroutine.
            finish(current.take(), &mut dump);
            continue;
        }
        if line.trim() == "...additional frames elided..." {
            g.elided = true;
            continue;
        }
        if line.starts_with('\t') || line.starts_with("    ") {
            let Some((file, lineno)) = file_line(&line) else {
                return Err(bad(
                    n,
                    format!(
                        "expected `file:line` under a frame, got {}",
                        short(line.trim())
                    ),
                ));
            };
            if let Some(function) = pending.take() {
                let frame = Frame {
                    function,
                    file: file.to_string(),
                    line: lineno,
                };
                if creating {
                    creating = false;
                } else if g.frames.len() < MAX_FRAMES {
                    g.frames.push(frame);
                }
            }
            continue;
        }
        if let Some(c) = line.strip_prefix("created by ") {
            let (func, from) = match c.rsplit_once(" in goroutine ") {
                Some((f, id)) => (f, id.trim().parse::<u64>().ok()),
                None => (c, None),
            };
            g.creator = Some(func.trim().to_string());
            g.creator_goroutine = from;
            pending = Some(func.trim().to_string());
            creating = true;
            continue;
        }
        if pending.is_some() {
            // Two function lines in a row: the dump is not a traceback
            // (or something else was interleaved): end this goroutine.
            finish(current.take(), &mut dump);
            pending = None;
            continue;
        }
        pending = Some(function_of(&line).to_string());
    }
    finish(current.take(), &mut dump);
    if dump.goroutines.is_empty() {
        return Err(ProfileError::GoroutineText(
            "no goroutine in the dump (`goroutine N [state]:` lines)".into(),
        ));
    }
    Ok(dump)
}

impl GoroutineDump {
    /// Goroutines grouped by state and stack, largest group first (ties by
    /// the first goroutine's place in the dump).
    pub fn buckets(&self) -> Vec<Bucket> {
        let mut index: HashMap<(&str, &[Frame]), usize> = HashMap::new();
        let mut out: Vec<Bucket> = Vec::new();
        for g in &self.goroutines {
            let key = (g.state.as_str(), g.frames.as_slice());
            let i = *index.entry(key).or_insert_with(|| {
                out.push(Bucket {
                    state: g.state.clone(),
                    frames: g.frames.clone(),
                    creator: g.creator.clone(),
                    count: 0,
                    wait_minutes: (u64::MAX, 0),
                    ids: Vec::new(),
                });
                out.len() - 1
            });
            let b = &mut out[i];
            b.count += 1;
            b.wait_minutes = (
                b.wait_minutes.0.min(g.wait_minutes),
                b.wait_minutes.1.max(g.wait_minutes),
            );
            b.ids.push(g.id);
        }
        out.sort_by_key(|b| std::cmp::Reverse(b.count));
        out
    }

    /// What leaks look like in a dump: groups of at least `min_count`
    /// goroutines (and at least a twentieth of all) blocked in the same
    /// state on the same stack, started by the same function, largest
    /// first. Running and runnable goroutines are not blocked.
    pub fn blocked_groups(&self, min_count: usize) -> Vec<Bucket> {
        let floor = min_count.max(self.goroutines.len().div_ceil(20));
        self.buckets()
            .into_iter()
            .filter(|b| {
                b.count >= floor
                    && !matches!(
                        b.state.as_str(),
                        "running" | "runnable" | "syscall" | "idle"
                    )
            })
            .collect()
    }

    /// One sentence per group of [`GoroutineDump::blocked_groups`]: how
    /// many, in which state, where, started by whom, blocked how long.
    pub fn blocked_sentences(&self, min_count: usize) -> Vec<String> {
        self.blocked_groups(min_count)
            .iter()
            .map(|b| {
                let at = b
                    .frames
                    .iter()
                    .find(|f| !f.function.starts_with("runtime."))
                    .or(b.frames.first())
                    .map_or("an empty stack".to_string(), |f| {
                        format!("{} ({}:{})", f.function, f.file, f.line)
                    });
                let wait = match b.wait_minutes {
                    (0, 0) => "under a minute".to_string(),
                    (lo, hi) if lo == hi => format!("{hi} minutes"),
                    (lo, hi) => format!("{lo} to {hi} minutes"),
                };
                format!(
                    "{} of {} goroutines blocked in {} at {}, for {}{}",
                    b.count,
                    self.goroutines.len(),
                    b.state,
                    at,
                    wait,
                    b.creator
                        .as_deref()
                        .map_or(String::new(), |c| format!(", created by {c}"))
                )
            })
            .collect()
    }

    /// Goroutines by creator in this dump and in `later` (a dump of the
    /// same process taken later): `(creator, here, later)`, largest growth
    /// first; goroutines Go printed no creator for count under `(none)`.
    pub fn growth_by_creator(&self, later: &GoroutineDump) -> Vec<(String, usize, usize)> {
        let mut by: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
        let key = |g: &Goroutine| g.creator.clone().unwrap_or_else(|| "(none)".into());
        for g in &self.goroutines {
            by.entry(key(g)).or_default().0 += 1;
        }
        for g in &later.goroutines {
            by.entry(key(g)).or_default().1 += 1;
        }
        let mut v: Vec<(String, usize, usize)> =
            by.into_iter().map(|(k, (a, b))| (k, a, b)).collect();
        v.sort_by_key(|(k, a, b)| (std::cmp::Reverse(*b as i64 - *a as i64), k.clone()));
        v
    }

    /// The dump as a goroutine-count profile: one sample per bucket, its
    /// stack the bucket's frames (a frame per file line), labelled `state`.
    pub fn to_profile(&self) -> Profile {
        let mut p = goroutine_profile();
        let mut strings: HashMap<String, Str> = HashMap::new();
        let mut intern = |s: &str| -> Str {
            strings
                .entry(s.to_string())
                .or_insert_with(|| Arc::from(s))
                .clone()
        };
        let mut loc_of: HashMap<&Frame, u32> = HashMap::new();
        let mut fn_of: HashMap<(&str, &str), u32> = HashMap::new();
        let state_key = intern("state");
        let buckets = self.buckets();
        let mut stack = Vec::new();
        for b in &buckets {
            stack.clear();
            for f in &b.frames {
                let next = p.locations.len() as u32;
                let id = *loc_of.entry(f).or_insert(next);
                if id == next {
                    let fnext = p.functions.len() as u32;
                    let fid = *fn_of.entry((&f.function, &f.file)).or_insert(fnext);
                    if fid == fnext {
                        let name = intern(&f.function);
                        p.functions.push(Function {
                            id: fnext as u64 + 1,
                            name: name.clone(),
                            system_name: name,
                            filename: intern(&f.file),
                            start_line: 0,
                        });
                    }
                    p.locations.push(Location {
                        id: next as u64 + 1,
                        mapping: None,
                        address: 0,
                        lines: vec![Line {
                            function: fid,
                            line: f.line,
                            column: 0,
                        }],
                        is_folded: false,
                    });
                }
                stack.push(id);
            }
            let label = Label {
                key: state_key.clone(),
                value: LabelValue::Str(intern(&b.state)),
            };
            p.samples
                .push_parts(&stack, &[b.count as i64], std::slice::from_ref(&label));
        }
        p
    }
}

/// An empty goroutine-count profile, as pprof makes of goroutine text:
/// sample and period type `goroutine`/`count`, period 1.
fn goroutine_profile() -> Profile {
    let vt = || ValueType {
        name: Arc::from("goroutine"),
        unit: Arc::from("count"),
    };
    Profile {
        sample_types: vec![vt()],
        period_type: vt(),
        period: 1,
        samples: Samples::with_width(1),
        ..Default::default()
    }
}

/// Reads a `debug=1` goroutine profile (see the module docs).
pub(crate) fn parse_count(raw: &[u8]) -> Result<Profile, ProfileError> {
    let text = std::str::from_utf8(raw)
        .map_err(|e| ProfileError::GoroutineText(format!("not UTF-8 text: {e}")))?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (_, head) = lines.next().ok_or(ProfileError::Empty)?;
    let rest = head
        .strip_prefix("goroutine profile: total ")
        .ok_or_else(|| bad(1, "expected `goroutine profile: total N`"))?;
    rest.trim()
        .parse::<u64>()
        .map_err(|_| bad(1, format!("total {} is not a number", short(rest))))?;
    let mut records: Vec<(i64, Vec<u64>)> = Vec::new();
    let mut frames = super::legacy::NamedFrames::default();
    for (n, line) in lines {
        let t = line.trim();
        if t.is_empty() {
            frames.end_run();
            continue;
        }
        if let Some(c) = t.strip_prefix('#') {
            let c = c.trim();
            // `# labels: {...}` lines are passed over.
            if c.starts_with("0x") {
                frames
                    .read(c, n)
                    .map_err(|_| bad(n, format!("address in {}", short(c))))?;
            }
            continue;
        }
        frames.end_run();
        let (count, addrs) = t
            .split_once(" @ ")
            .ok_or_else(|| bad(n, format!("expected `N @ addresses`, got {}", short(t))))?;
        let count: i64 = count
            .trim()
            .parse()
            .map_err(|_| bad(n, format!("count {} is not a number", short(count))))?;
        let mut list = Vec::new();
        for a in addrs.split_whitespace() {
            let v = a
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(n, format!("address {}: not 0x hex", short(a))))?;
            list.push(v.wrapping_sub(1));
        }
        records.push((count, list));
    }
    let mut p = goroutine_profile();
    let mut locations = super::legacy::Locations::default();
    let mut stack = Vec::new();
    for (count, addrs) in &records {
        locations.stack(&mut p, &frames, addrs, &mut stack);
        p.samples.push_parts(&stack, &[*count], &[]);
    }
    Ok(p)
}

/// Reads the goroutine dump in the file at `path` (plain or gzip; a
/// regular file within the profile size bound): a `?debug=2` answer, a
/// crash or SIGQUIT traceback, or a log that holds one.
pub fn read_dump(path: &std::path::Path) -> crate::error::Result<GoroutineDump> {
    let source = path.display().to_string();
    let limit = crate::pprof::ReadOptions::default().max_decompressed_bytes;
    let bytes = crate::files::read_regular(path, limit, "a goroutine dump")?;
    let raw = crate::pprof::uncompressed(&bytes, &Default::default())
        .map_err(|e| crate::error::Error::profile(&source, e))?;
    parse_dump(&String::from_utf8_lossy(&raw)).map_err(|e| crate::error::Error::profile(&source, e))
}

/// Reads a goroutine dump (debug=2, a crash, SIGQUIT) as a profile.
pub(crate) fn parse_dump_profile(raw: &[u8]) -> Result<Profile, ProfileError> {
    let text = String::from_utf8_lossy(raw);
    Ok(parse_dump(&text)?.to_profile())
}
