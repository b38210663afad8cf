//! Legacy text heap profiles: what `/debug/pprof/heap?debug=1` (and
//! `allocs?debug=1`) answer, often pasted into a ticket.
//!
//! The format, as Go writes it (`runtime/pprof` `writeHeapInternal`):
//!
//! ```text
//! heap profile: 38: 182408 [312: 442152] @ heap/131072
//! 0: 0 [15: 4800] @ 0x48a145 0x422045 0x6af6d9 0x6a3a45
//! #    0x6af6d8    net/http.NewRequestWithContext+0x278    net/http/request.go:922
//! #    0x6a3a44    net/http.NewRequest+0x44        net/http/request.go:873
//!
//! # runtime.MemStats
//! # HeapInuse = 5046272
//! ```
//!
//! The header gives the totals in use and allocated and `heap/R` with R
//! twice the sampling rate; each record `inuse objects: inuse bytes [alloc
//! objects: alloc bytes] @ addresses` holds raw (sampled) counts, and the
//! `#` lines under it (tab separated) name each address (less one: the call, not the
//! return address) with its function and file:line, inlined calls as
//! several lines of one address.
//!
//! Values are read as `go tool pprof` reads them (`legacy_profile.go`
//! `parseHeap`): sample types `alloc_objects`, `alloc_space`,
//! `inuse_objects`, `inuse_space` (only `objects`, `space` when the
//! allocated totals equal those in use), period R/2, and each record's
//! pair un-sampled with the Poisson estimate `1 / (1 - exp(-avg / period))`
//! (avg: bytes per object), truncated, so totals and every sample's
//! values equal pprof's. Each sample carries pprof's numeric label
//! `bytes` (the object size), but for records with no objects, where pprof
//! shows `bytes:[0]` and profile.proto cannot hold it.
//!
//! Unlike pprof without the binary (which shows every frame as
//! `<unknown>`), the `#` lines name the frames. Addresses that have no `#`
//! line are frames Go chose not to print (the runtime's own allocation
//! frames at the leaf, `runtime.goexit` at the root) and are left out of
//! the stacks, so that stacks read like those of a `.pb.gz` profile; values
//! are not changed by it.
//!
//! The text has no capture time; the profile's time is the trailer's
//! `# LastGC` (`runtime.MemStats`, nanoseconds since the epoch): the
//! in-use figures of a heap profile are those of the last completed GC, so
//! that is the moment they describe (pprof, which skips the trailer, has no
//! time). Without it (no GC yet) the time is left unset, and a bundle
//! falls back to the file's modification time. The trailer's numeric
//! fields are kept as [`Profile::runtime_stats`]; a bundle turns them into
//! metric points (`HeapInuse` as `go_memstats_heap_inuse_bytes`...) at the
//! snapshot's time.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ProfileError;

use super::{Function, Label, LabelValue, Line, Location, Profile, Samples, Str, ValueType};

/// Whether `raw` (decompressed) is a legacy text heap profile.
pub(crate) fn is_heap_text(raw: &[u8]) -> bool {
    raw.starts_with(b"heap profile:")
}

/// The most `runtime.MemStats` fields kept from a trailer (Go writes
/// about thirty).
const MAX_RUNTIME_STATS: usize = 64;

/// An error at line `n` (1-based) of the text.
fn bad(n: usize, what: impl std::fmt::Display) -> ProfileError {
    ProfileError::HeapText(format!("line {n}: {what}"))
}

/// The four numbers of `a: b [c: d]` and what follows it.
fn four(s: &str, n: usize) -> Result<([i64; 4], &str), ProfileError> {
    let (nums, rest) = s
        .split_once('@')
        .ok_or_else(|| bad(n, "no `@` after the counts"))?;
    let nums = nums.trim();
    let (inuse, alloc) = nums
        .split_once('[')
        .ok_or_else(|| bad(n, "expected `objects: bytes [objects: bytes]`"))?;
    let alloc = alloc
        .trim()
        .strip_suffix(']')
        .ok_or_else(|| bad(n, "no `]` after the allocated counts"))?;
    let pair = |p: &str| -> Result<(i64, i64), ProfileError> {
        let (a, b) = p.split_once(':').ok_or_else(|| {
            bad(
                n,
                format!("expected `objects: bytes`, found {:?}", short(p)),
            )
        })?;
        let num = |x: &str| {
            x.trim()
                .parse::<i64>()
                .map_err(|e| bad(n, format!("{:?}: {e}", short(x.trim()))))
        };
        Ok((num(a)?, num(b)?))
    };
    let (a, b) = pair(inuse)?;
    let (c, d) = pair(alloc)?;
    Ok(([a, b, c, d], rest))
}

/// At most 60 characters of `s`, for messages.
fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

/// pprof's un-sampling of one `(count, size)` pair at `rate`.
fn unsample(count: i64, size: i64, rate: i64) -> (i64, i64) {
    if count == 0 || size == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        return (count, size);
    }
    let avg = size as f64 / count as f64;
    let scale = 1.0 / (1.0 - (-avg / rate as f64).exp());
    // `as` saturates, as Go's conversion of a too-large float does not,
    // but no real profile comes near.
    ((count as f64 * scale) as i64, (size as f64 * scale) as i64)
}

/// Reads a legacy text heap profile (see the module docs).
pub(crate) fn parse_heap(raw: &[u8]) -> Result<Profile, ProfileError> {
    let text = std::str::from_utf8(raw)
        .map_err(|e| ProfileError::HeapText(format!("not UTF-8 text: {e}")))?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (_, header) = lines.next().ok_or(ProfileError::Empty)?;
    let rest = header
        .strip_prefix("heap profile:")
        .ok_or_else(|| bad(1, "expected `heap profile:`"))?;
    let (totals, kind) = four(rest, 1)?;
    let kind = kind.trim();
    let (name, rate) = match kind.split_once('/') {
        Some((name, r)) => (
            name,
            r.trim()
                .parse::<i64>()
                .map_err(|e| bad(1, format!("sampling rate {:?}: {e}", short(r))))?,
        ),
        None => (kind, 0),
    };
    // pprof: `heap/R` samples at R/2 (R is twice MemProfileRate);
    // `heap_v2/R` at R; `heapprofile` records every allocation.
    let (v2, period) = match name {
        "heap" => (true, rate / 2),
        "heap_v2" | "heapz_v2" => (true, rate),
        "heapprofile" => (false, 1),
        _ => {
            return Err(bad(
                1,
                format!("unknown heap profile kind {:?}", short(name)),
            ));
        }
    };
    // The same rule as pprof's (on the header's text): allocated totals
    // that differ from those in use and are not zero.
    let has_alloc =
        (totals[2] != totals[0] && totals[2] != 0) || (totals[3] != totals[1] && totals[3] != 0);
    let vt = |name: &str, unit: &str| ValueType {
        name: Arc::from(name),
        unit: Arc::from(unit),
    };
    let sample_types = if has_alloc {
        vec![
            vt("alloc_objects", "count"),
            vt("alloc_space", "bytes"),
            vt("inuse_objects", "count"),
            vt("inuse_space", "bytes"),
        ]
    } else {
        vec![vt("objects", "count"), vt("space", "bytes")]
    };

    struct Record {
        values: Vec<i64>,
        block: i64,
        addrs: Vec<u64>,
    }
    let mut records: Vec<Record> = Vec::new();
    let mut frames = NamedFrames::default();
    let mut in_memstats = false;
    let mut last_gc = 0i64;
    let mut runtime_stats: Vec<(Str, i64)> = Vec::new();
    for (n, line) in lines {
        let t = line.trim();
        if t.is_empty() {
            frames.end_run();
            continue;
        }
        if let Some(c) = t.strip_prefix('#') {
            let c = c.trim();
            if c == "runtime.MemStats" {
                in_memstats = true;
            } else if in_memstats {
                // `Name = value` (`Stack = inuse / sys`: the first);
                // the long lists (`PauseNs = [...]`) are not numbers.
                if let Some((k, v)) = c.split_once(" = ") {
                    let v = v.split(" / ").next().unwrap_or(v).trim();
                    if let Ok(v) = v.parse::<i64>()
                        && runtime_stats.len() < MAX_RUNTIME_STATS
                    {
                        let k = if k.trim() == "Stack" {
                            "StackInuse"
                        } else {
                            k.trim()
                        };
                        if k == "LastGC" {
                            last_gc = v.max(0);
                        }
                        runtime_stats.push((Arc::from(k), v));
                    }
                }
            } else if c.starts_with("0x") {
                frames.read(c, n)?;
            }
            continue;
        }
        if t.starts_with("---") {
            // pprof stops at a memory map; Go does not write one.
            break;
        }
        frames.end_run();
        in_memstats = false;
        let (counts, addrs) = four(t, n)?;
        let mut values = Vec::with_capacity(4);
        let mut block = 0;
        let mut add = |count: i64, size: i64, what: &str| -> Result<(), ProfileError> {
            if count == 0 && size != 0 {
                return Err(bad(
                    n,
                    format!("{what} count was 0 but {what} bytes was {size}"),
                ));
            }
            let (c, s) = if count != 0 {
                block = size / count;
                if v2 {
                    unsample(count, size, period)
                } else {
                    (count, size)
                }
            } else {
                (count, size)
            };
            values.push(c);
            values.push(s);
            Ok(())
        };
        if has_alloc {
            add(counts[2], counts[3], "allocation")?;
        }
        add(counts[0], counts[1], "inuse")?;
        let mut list = Vec::new();
        for a in addrs.split_whitespace() {
            let hex = a
                .strip_prefix("0x")
                .ok_or_else(|| bad(n, format!("address {:?}: not 0x hex", short(a))))?;
            let v = u64::from_str_radix(hex, 16)
                .map_err(|e| bad(n, format!("address {:?}: {e}", short(a))))?;
            // The call, not the return address (as pprof and the `#`
            // lines have it).
            list.push(v.wrapping_sub(1));
        }
        records.push(Record {
            values,
            block,
            addrs: list,
        });
    }

    // Locations in order of first use, functions by name and file.
    let mut p = Profile {
        sample_types,
        period_type: vt("space", "bytes"),
        period,
        time_nanos: last_gc,
        runtime_stats,
        ..Default::default()
    };
    let width = p.sample_types.len();
    p.samples = Samples::with_width(width);
    let mut stacks = Locations::default();
    let bytes_key: Str = Arc::from("bytes");
    let mut stack: Vec<u32> = Vec::new();
    for r in &records {
        stacks.stack(&mut p, &frames, &r.addrs, &mut stack);
        // A record with no objects has no size: no label (as profile.proto
        // cannot hold a numeric label of 0; pprof shows `bytes:[0]`).
        let label = Label {
            key: bytes_key.clone(),
            value: LabelValue::Num {
                value: r.block,
                unit: None,
            },
        };
        let labels: &[Label] = if r.block != 0 {
            std::slice::from_ref(&label)
        } else {
            &[]
        };
        p.samples.push_parts(&stack, &r.values, labels);
    }
    Ok(p)
}

/// The frames `#` lines name: address -> lines, innermost first (a run of
/// lines of one address is one location: inlined calls; a later record
/// through the same address repeats the run, and the first is kept).
#[derive(Default)]
pub(super) struct NamedFrames {
    named: HashMap<u64, Vec<(Str, Str, i64)>>,
    strings: HashMap<String, Str>,
    /// The address whose lines are being read, and whether they are kept.
    run: Option<(u64, bool)>,
}

impl NamedFrames {
    /// Reads `0xPC  func+0xOFF  file:line` (tab separated, after the `#`)
    /// at line `n`.
    pub(super) fn read(&mut self, c: &str, n: usize) -> Result<(), ProfileError> {
        let frame = c.trim_start_matches("0x");
        let mut parts = frame.split('\t').filter(|p| !p.is_empty());
        let (Some(pc), Some(func)) = (parts.next(), parts.next()) else {
            return Ok(());
        };
        let Ok(pc) = u64::from_str_radix(pc.trim(), 16) else {
            return Err(bad(n, format!("address 0x{:?}", short(pc))));
        };
        let func = func.trim();
        let func = func.rfind("+0x").map_or(func, |i| &func[..i]);
        let (file, lineno) = match parts.next().map(str::trim) {
            Some(fl) => match fl.rsplit_once(':') {
                Some((f, l)) => (f, l.parse::<i64>().unwrap_or(0)),
                None => (fl, 0),
            },
            None => ("", 0),
        };
        let keep = match self.run {
            Some((a, keep)) if a == pc => keep,
            _ => !self.named.contains_key(&pc),
        };
        self.run = Some((pc, keep));
        if keep {
            let mut intern = |s: &str| -> Str {
                self.strings
                    .entry(s.to_string())
                    .or_insert_with(|| Arc::from(s))
                    .clone()
            };
            let entry = (intern(func), intern(file), lineno);
            self.named.entry(pc).or_default().push(entry);
        }
        Ok(())
    }

    /// Ends the run of `#` lines of one address.
    pub(super) fn end_run(&mut self) {
        self.run = None;
    }
}

/// Locations (by address) and functions (by name and file) of a text
/// profile, in order of first use.
#[derive(Default)]
pub(super) struct Locations {
    loc_of: HashMap<u64, u32>,
    fn_of: HashMap<(Str, Str), u32>,
}

impl Locations {
    /// The stack of `addrs` in `out`: a location per named address (made
    /// in `p` at first use); addresses no `#` line names are frames Go did
    /// not print, and are left out.
    pub(super) fn stack(
        &mut self,
        p: &mut Profile,
        frames: &NamedFrames,
        addrs: &[u64],
        out: &mut Vec<u32>,
    ) {
        out.clear();
        for a in addrs {
            let Some(named) = frames.named.get(a) else {
                continue;
            };
            let next = p.locations.len() as u32;
            let id = *self.loc_of.entry(*a).or_insert(next);
            if id == next {
                let mut lines = Vec::with_capacity(named.len());
                for (func, file, line) in named {
                    let fnext = p.functions.len() as u32;
                    let f = *self
                        .fn_of
                        .entry((func.clone(), file.clone()))
                        .or_insert(fnext);
                    if f == fnext {
                        p.functions.push(Function {
                            id: fnext as u64 + 1,
                            name: func.clone(),
                            system_name: func.clone(),
                            filename: file.clone(),
                            start_line: 0,
                        });
                    }
                    lines.push(Line {
                        function: f,
                        line: *line,
                        column: 0,
                    });
                }
                p.locations.push(Location {
                    id: next as u64 + 1,
                    mapping: None,
                    address: *a,
                    lines,
                    is_folded: false,
                });
            }
            out.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "heap profile: 2: 2048 [5: 4096] @ heap/1048576\n\
        1: 1024 [3: 3072] @ 0x10 0x21 0x31\n\
        #\t0x20\tmain.leaf+0x4\t/src/main.go:10\n\
        #\t0x30\tmain.main+0x8\t/src/main.go:20\n\
        \n\
        1: 1024 [2: 1024] @ 0x21 0x41\n\
        #\t0x20\tmain.leaf+0x4\t/src/main.go:10\n\
        #\t0x40\tmain.inlined+0x1\t/src/a.go:5\n\
        #\t0x40\tmain.caller+0x9\t/src/a.go:9\n\
        \n\
        # runtime.MemStats\n\
        # HeapInuse = 8192\n\
        # HeapObjects = 12\n\
        # LastGC = 1796361183955784699\n";

    #[test]
    fn values_are_unsampled_as_pprof_does() {
        let p = parse_heap(TEXT.as_bytes()).unwrap();
        let names: Vec<&str> = p.sample_types.iter().map(|t| &*t.name).collect();
        assert_eq!(
            names,
            [
                "alloc_objects",
                "alloc_space",
                "inuse_objects",
                "inuse_space"
            ]
        );
        assert_eq!(p.period, 524288);
        // 3 objects of 1024 B at 524288: scale 1/(1-exp(-1024/524288)).
        let s = 1.0 / (1.0 - (-1024.0f64 / 524288.0).exp());
        let v = p.samples.get(0).values.to_vec();
        assert_eq!(
            v,
            [
                (3.0 * s) as i64,
                (3072.0 * s) as i64,
                (1.0 * s) as i64,
                (1024.0 * s) as i64
            ]
        );
        assert!(p.comments.is_empty());
        assert_eq!(p.time_nanos, 1796361183955784699);
        let stats: Vec<(&str, i64)> = p.runtime_stats.iter().map(|(k, v)| (&**k, *v)).collect();
        assert_eq!(
            stats,
            [
                ("HeapInuse", 8192),
                ("HeapObjects", 12),
                ("LastGC", 1796361183955784699)
            ]
        );
    }

    #[test]
    fn frames_are_named_and_unprinted_ones_left_out() {
        let p = parse_heap(TEXT.as_bytes()).unwrap();
        // 0x10 - 1 has no `#` line: left out.
        assert_eq!(p.samples.get(0).stack.to_vec(), [0, 1]);
        let leaf = &p.locations[0];
        assert_eq!(leaf.address, 0x20);
        assert_eq!(
            &*p.functions[leaf.lines[0].function as usize].name,
            "main.leaf"
        );
        assert_eq!(leaf.lines[0].line, 10);
        // Two `#` lines of one address: one location, innermost first.
        let inl = &p.locations[2];
        assert_eq!(inl.lines.len(), 2);
        assert_eq!(
            &*p.functions[inl.lines[0].function as usize].name,
            "main.inlined"
        );
        assert_eq!(
            &*p.functions[inl.lines[1].function as usize].name,
            "main.caller"
        );
    }

    #[test]
    fn malformed_text_is_named_by_line() {
        for (text, want) in [
            (
                "heap profile: 1: 2 [3: 4] @ cpu/100\n",
                "line 1: unknown heap profile kind",
            ),
            ("heap profile: x: 2 [3: 4] @ heap/2\n", "line 1: \"x\""),
            (
                "heap profile: 1: 2 [3: 4] @ heap/2\n1: 2 [3: 4] @ 0xzz\n",
                "line 2: address",
            ),
            (
                "heap profile: 1: 2 [3: 4] @ heap/2\n0: 2 [3: 4] @ 0x1\n",
                "line 2: inuse count was 0",
            ),
            (
                "heap profile: 1: 2 [3: 4] @ heap/2\n1 2 3 4 @ 0x1\n",
                "line 2: expected",
            ),
            ("heap profile: 1: 2 [3: 4] heap/2\n", "line 1: no `@`"),
        ] {
            let e = parse_heap(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
