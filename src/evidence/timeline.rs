//! The incident's timeline: what happened when (deploys, restarts, the
//! incident, the fix, notes), from the manifest's `events` and from the
//! data itself (restarts read from the metrics, new binaries from the heap
//! snapshots' build ids).
//!
//! Events are added with `heapframe note BUNDLE --at TIME --kind deploy
//! "v1.4.2"` or [`Bundle::note`](crate::evidence::Bundle::note) in a
//! notebook; both rewrite `manifest.json` atomically and keep every other
//! field, unknown ones included.
//!
//! ```
//! use heapframe::evidence::timeline::{EventKind, Source};
//! let b = heapframe::evidence::Bundle::open("tests/fixtures/bundles/mapcache")?;
//! let t = b.timeline()?;
//! assert!(t.iter().any(|e| e.kind == EventKind::Deploy && e.source == Source::Manifest));
//! # Ok::<(), heapframe::Error>(())
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::evidence::metrics::MetricSeries;
use crate::files::{MAX_MANIFEST_BYTES, read_regular, replace_file};
use crate::profile::Snapshot;
use crate::units::{format_rfc3339, parse_rfc3339};

/// What kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A new version went out.
    Deploy,
    /// The process restarted.
    Restart,
    /// The incident: when it was noticed, paged, declared.
    Incident,
    /// The fix went out.
    Fix,
    /// Anything else worth a mark.
    Note,
}

impl EventKind {
    /// Every kind, in the order they are listed.
    pub const ALL: [EventKind; 5] = [
        EventKind::Deploy,
        EventKind::Restart,
        EventKind::Incident,
        EventKind::Fix,
        EventKind::Note,
    ];

    /// The kind's name, as the manifest writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Deploy => "deploy",
            EventKind::Restart => "restart",
            EventKind::Incident => "incident",
            EventKind::Fix => "fix",
            EventKind::Note => "note",
        }
    }

    /// Parses a kind's name.
    pub fn parse(s: &str) -> std::result::Result<EventKind, String> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "{s:?} is not an event kind (one of: {})",
                    EventKind::ALL.map(|k| k.as_str()).join(", ")
                )
            })
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest text of an event, in characters.
pub const MAX_EVENT_TEXT: usize = 2000;

/// An event as `manifest.json` stores it: `{"time": "2026-11-24T04:27:30Z",
/// "kind": "deploy", "text": "v1.4.2"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEvent {
    /// When, RFC 3339.
    pub time: String,
    /// What kind.
    pub kind: EventKind,
    /// What happened.
    #[serde(default)]
    pub text: String,
}

impl ManifestEvent {
    /// The event, checked: a time in RFC 3339, a text of at most
    /// [`MAX_EVENT_TEXT`] characters.
    pub fn resolve(&self) -> std::result::Result<Event, String> {
        let time_ms = parse_rfc3339(&self.time)?;
        if self.text.chars().count() > MAX_EVENT_TEXT {
            return Err(format!(
                "its text has {} characters; at most {MAX_EVENT_TEXT}",
                self.text.chars().count()
            ));
        }
        Ok(Event {
            time_ms,
            kind: self.kind,
            text: self.text.clone(),
            source: Source::Manifest,
        })
    }
}

/// Where an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Someone recorded it in the manifest.
    Manifest,
    /// heapframe read it from the data (metrics, profiles).
    Detected,
}

/// One event on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When (Unix milliseconds).
    pub time_ms: i64,
    /// What kind.
    pub kind: EventKind,
    /// What happened (for a detected event: how it was detected).
    pub text: String,
    /// Recorded or detected.
    pub source: Source,
}

impl Event {
    /// A short label for a chart: the kind, and the text's start.
    pub fn label(&self) -> String {
        let text: String = self.text.chars().take(24).collect();
        let cut = if self.text.chars().count() > 24 {
            "…"
        } else {
            ""
        };
        if text.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}: {text}{cut}", self.kind)
        }
    }
}

/// Checks the manifest's events; the error names the event.
pub(crate) fn check(events: &[ManifestEvent]) -> std::result::Result<(), String> {
    for (i, e) in events.iter().enumerate() {
        e.resolve().map_err(|why| format!("events[{i}]: {why}"))?;
    }
    Ok(())
}

/// Restarts and new binaries read from a bundle's data: its metrics and
/// its heap snapshots.
pub(crate) fn detected(metrics: &MetricSeries, heap: &[Snapshot]) -> Vec<Event> {
    let mut out: Vec<Event> = metrics
        .restarts()
        .into_iter()
        .map(|t| Event {
            time_ms: t,
            kind: EventKind::Restart,
            text: format!("restart detected: {}", metrics.restart_signal()),
            source: Source::Detected,
        })
        .collect();
    // The main binary's build id (the first mapping) of each heap
    // snapshot: a new one is a new process, and a new build.
    let build_id = |s: &Snapshot| {
        s.profile
            .mappings
            .first()
            .map(|m| m.build_id.to_string())
            .filter(|b| !b.is_empty())
    };
    for w in heap.windows(2) {
        if let (Some(a), Some(b)) = (build_id(&w[0]), build_id(&w[1]))
            && a != b
        {
            let short = |s: &str| s.chars().take(12).collect::<String>();
            out.push(Event {
                time_ms: w[1].time_ms,
                kind: EventKind::Restart,
                text: format!(
                    "new binary detected: build id {} → {} between two heap snapshots",
                    short(&a),
                    short(&b)
                ),
                source: Source::Detected,
            });
        }
    }
    out
}

/// How long recording an event waits for another writer of the manifest.
pub const NOTE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Adds `event` to the `events` of `dir/manifest.json` (created when
/// missing), keeping every other field as it is, unknown ones included;
/// the file is replaced atomically, by one writer at a time
/// ([`FileLock`](crate::files::FileLock): a second `heapframe note` waits
/// up to [`NOTE_WAIT`] rather than losing the first one's event).
pub fn record(dir: &Path, event: &ManifestEvent) -> Result<()> {
    let path = dir.join("manifest.json");
    let bad = |reason: String| Error::Manifest {
        path: path.display().to_string(),
        reason,
    };
    event
        .resolve()
        .map_err(|why| bad(format!("the new event: {why}")))?;
    if !dir.is_dir() {
        return Err(bad("the bundle folder does not exist".into()));
    }
    // One writer at a time: two notes at once both land.
    let _held = crate::files::FileLock::hold(&path, NOTE_WAIT)?;
    let mut v: serde_json::Value = if path.symlink_metadata().is_ok() {
        let bytes = read_regular(&path, MAX_MANIFEST_BYTES, "a manifest")?;
        let text = String::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8 text: {e}")))?;
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?
    } else {
        serde_json::json!({})
    };
    let obj = v
        .as_object_mut()
        .ok_or_else(|| bad("not a JSON object".into()))?;
    let events = obj
        .entry("events")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    let list = events
        .as_array_mut()
        .ok_or_else(|| bad("`events` is not a list".into()))?;
    list.push(serde_json::to_value(event).map_err(|e| bad(e.to_string()))?);
    let mut bytes = serde_json::to_vec_pretty(&v).map_err(|e| bad(e.to_string()))?;
    bytes.push(b'\n');
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(bad(format!(
            "with the new event it would exceed {MAX_MANIFEST_BYTES} bytes"
        )));
    }
    // The events must read back: a list that was already invalid is
    // refused, not made longer.
    #[derive(Deserialize)]
    struct Events {
        events: Vec<ManifestEvent>,
    }
    let m: Events = serde_json::from_slice(&bytes).map_err(|e| bad(format!("events: {e}")))?;
    check(&m.events).map_err(bad)?;
    replace_file(&path, &bytes)
}

/// The event of `heapframe note`: `at` in RFC 3339 or `now`.
pub fn event(at: &str, kind: EventKind, text: &str) -> std::result::Result<ManifestEvent, String> {
    let time = if at == "now" {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        format_rfc3339(ms)
    } else {
        parse_rfc3339(at)?;
        at.to_string()
    };
    let e = ManifestEvent {
        time,
        kind,
        text: text.to_string(),
    };
    e.resolve()?;
    Ok(e)
}

/// One line of the timeline as the page and `heapframe timeline` show it:
/// an event, or where the evidence begins and ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When (Unix milliseconds).
    pub time_ms: i64,
    /// The event's kind, or `evidence` for the data's own marks.
    pub what: String,
    /// What happened.
    pub text: String,
    /// `recorded` (the manifest), `detected` (read from the data) or
    /// `data` (when snapshots and scrapes begin and end).
    pub source: &'static str,
}

/// `events` (in time order) with the spans of the evidence: the first and
/// last heap snapshot (`heap`: their times) and the first and last
/// metrics scrape, in time order.
pub fn with_spans(events: Vec<Event>, heap: &[i64], metrics: &MetricSeries) -> Vec<Entry> {
    let mut out: Vec<Entry> = events
        .into_iter()
        .map(|e| Entry {
            time_ms: e.time_ms,
            what: e.kind.to_string(),
            text: e.text,
            source: match e.source {
                Source::Manifest => "recorded",
                Source::Detected => "detected",
            },
        })
        .collect();
    let mut span = |what: &str, times: &[i64]| {
        if let (Some(&a), Some(&b)) = (times.first(), times.last()) {
            let n = times.len();
            out.push(Entry {
                time_ms: a,
                what: "evidence".into(),
                text: format!("first of {n} {what}"),
                source: "data",
            });
            if n > 1 {
                out.push(Entry {
                    time_ms: b,
                    what: "evidence".into(),
                    text: format!("last of {n} {what}"),
                    source: "data",
                });
            }
        }
    };
    span("heap snapshots", heap);
    let mut scrapes: Vec<i64> = metrics.samples.iter().map(|s| s.time_ms).collect();
    scrapes.sort_unstable();
    scrapes.dedup();
    span("metrics scrapes", &scrapes);
    out.sort_by_key(|e| e.time_ms);
    out
}

/// The timeline as plain text, one entry per line (text escaped for the
/// terminal).
pub fn to_text(entries: &[Entry]) -> String {
    let mut s = String::new();
    for e in entries {
        s.push_str(&format!(
            "{}  {:<9} {:<9} {}\n",
            format_rfc3339(e.time_ms),
            e.what,
            e.source,
            crate::escape::terminal(&e.text)
        ));
    }
    if s.is_empty() {
        s.push_str("no events, snapshots or scrapes\n");
    }
    s
}
