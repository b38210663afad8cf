//! An append-only, Hive-partitioned Parquet dataset of many services'
//! snapshots and metrics (feature `dataset`), which DuckDB, Spark or polars
//! read as is. `heapframe export` writes it.
//!
//! ```text
//! DATASET/
//!   snapshots/service=S/date=YYYY-MM-DD/<content hash>.parquet   one row per profile
//!   samples/service=S/kind=K/date=YYYY-MM-DD/<content hash>.parquet
//!   stacks/<content hash>.parquet     the stacks first seen in that snapshot
//!   metrics/service=S/date=YYYY-MM-DD/<rows hash>.parquet
//! ```
//!
//! - `snapshots`: `snapshot_id` (i64: the first 8 bytes of the SHA-256 of
//!   the profile file), `content_hash` (that SHA-256 in hex), `instance`,
//!   `kind`, `time_ms` (Unix milliseconds), `sample_types` (a JSON array
//!   of `{"name", "unit"}`), `default_sample_type`, `duration_ns`,
//!   `period`, `period_type`, `period_unit`, `binary` and `build_id` (the
//!   main mapping's), `source` (the file's name),
//!   `samples` (row count in `samples`).
//! - `samples`: `snapshot_id`, `stack_id`, one i64 column per sample type
//!   of the kind (`inuse_space`, ...), `object_size` (Go's `bytes` label,
//!   null without one), `labels` (the other labels as a JSON object, null
//!   without any).
//! - `stacks`: `stack_id`, `depth` (0 = the innermost frame), `function`,
//!   `file`, `line`, `inlined`, `start_line` (the function's). A stack's id is a hash of its frames, the
//!   same in every file, instance and service, and a stack is written once,
//!   with the first snapshot that has it. Locations without symbols have no
//!   frames: stacks that differ only there share an id.
//! - `metrics`: `instance`, `time_ms`, `metric`, `labels` (JSON object),
//!   `value`.
//!
//! Partition values (`service`, `kind`, `date`) are in the folder names
//! only, percent-encoded outside `A-Z a-z 0-9 . _ -` (and a leading `.`).
//! Exporting the same snapshot again adds nothing (its content hash is
//! already there), metric rows already in their partition are skipped, and
//! every file is written under a hidden temporary name, then renamed: a
//! crash leaves no partial `.parquet` visible. A snapshot's row in
//! `snapshots` is written last, after its stacks and samples.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::evidence::bundle::{Bundle, SnapshotKind};
use crate::evidence::metrics::{MetricSample, MetricSeries};
use crate::profile::{LabelValue, Profile, Snapshot};
use crate::tables::{TableFormat, Tables, encode};

/// Who the snapshots of an export belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The service (the `service=` partition).
    pub service: String,
    /// The replica (e.g. `10.0.3.7:6060` or a pod name).
    pub instance: String,
}

impl Origin {
    /// The origin of a bundle: `service` and `instance` when given, else
    /// the manifest's service and its instance, or its target's
    /// `host:port` (`unknown` when the target is not a URL). Without a service either way, an error
    /// naming `input`.
    pub fn of(
        bundle: &Bundle,
        input: &str,
        service: Option<&str>,
        instance: Option<&str>,
    ) -> Result<Origin> {
        let m = &bundle.manifest;
        let service = match service {
            Some(s) => s.to_string(),
            None if !m.service.trim().is_empty() => m.service.trim().to_string(),
            None => {
                return Err(Error::Option(format!(
                    "{input}: no service: its manifest names none; give --service"
                )));
            }
        };
        let instance = match instance {
            Some(i) => i.to_string(),
            None => Some(bundle.instance_name())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "unknown".to_string()),
        };
        Ok(Origin { service, instance })
    }
}

/// One service's line of [`Dataset::growth_by_service`].
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceGrowth {
    /// The service.
    pub service: String,
    /// The sample type ranked.
    pub sample_type: crate::profile::ValueType,
    /// Its snapshots.
    pub snapshots: usize,
    /// The first and last snapshot's times (Unix ms).
    pub times_ms: (i64, i64),
    /// The total at the first and at the last snapshot.
    pub totals: (i64, i64),
    /// The best-ranked growth rows.
    pub rows: Vec<crate::growth::GrowthRow>,
}

/// What an export wrote and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Snapshots written.
    pub snapshots: usize,
    /// Snapshots already in the dataset (same content hash).
    pub snapshots_present: usize,
    /// Sample rows written.
    pub samples: usize,
    /// Stacks new to the dataset.
    pub stacks: usize,
    /// Metric rows written.
    pub metric_rows: usize,
    /// Metric rows already in their partition.
    pub metric_rows_present: usize,
}

impl std::ops::AddAssign for ExportSummary {
    fn add_assign(&mut self, s: ExportSummary) {
        self.snapshots += s.snapshots;
        self.snapshots_present += s.snapshots_present;
        self.samples += s.samples;
        self.stacks += s.stacks;
        self.metric_rows += s.metric_rows;
        self.metric_rows_present += s.metric_rows_present;
    }
}

impl std::fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} snapshots written ({} already present), {} sample rows, {} new stacks, {} metric rows ({} already present)",
            self.snapshots,
            self.snapshots_present,
            self.samples,
            self.stacks,
            self.metric_rows,
            self.metric_rows_present
        )
    }
}

/// A dataset folder opened for appending: what it already holds.
#[derive(Debug)]
pub struct Dataset {
    root: PathBuf,
    snapshots: HashSet<String>,
    stacks: HashSet<i64>,
    /// Opened by [`Dataset::open`] (its snapshots and stacks known), so
    /// [`Dataset::export`] may append.
    appendable: bool,
    /// Which `stacks` file holds each stack, once [`Dataset::index_stacks`]
    /// has read it: reads of many selections then open only the files
    /// they need.
    stack_files: Option<(Vec<PathBuf>, foldhash::HashMap<i64, u32>)>,
}

/// The columns of `samples` that are not sample types.
const RESERVED: [&str; 4] = ["snapshot_id", "stack_id", "object_size", "labels"];

/// The deepest folder level the dataset's layout has under its root.
const MAX_DEPTH: usize = 4;

fn dataset_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Dataset {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn polars_err(path: &Path) -> impl Fn(PolarsError) -> Error + '_ {
    move |e| dataset_err(path, format!("not a table heapframe wrote: {e}"))
}

impl Dataset {
    /// Opens the dataset at `root`, creating the folder when it does not
    /// exist, and reads which snapshots and stacks it already holds.
    pub fn open(root: impl AsRef<Path>) -> Result<Dataset> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root)
            .map_err(|e| dataset_err(&root, format!("cannot create the folder: {e}")))?;
        let mut snapshots = HashSet::new();
        for p in parquet_files(&root.join("snapshots"))? {
            if let Some(stem) = p.file_stem() {
                snapshots.insert(stem.to_string_lossy().into_owned());
            }
        }
        let mut stacks = HashSet::new();
        for p in parquet_files(&root.join("stacks"))? {
            stacks.extend(stack_ids_in(&p)?.into_no_null_iter());
        }
        Ok(Dataset {
            root,
            snapshots,
            stacks,
            appendable: true,
            stack_files: None,
        })
    }

    /// Opens an existing dataset for reading ([`Dataset::snapshots`],
    /// [`Dataset::metrics`]); an error naming `root` when it is not a folder.
    pub fn read(root: impl AsRef<Path>) -> Result<Dataset> {
        let root = root.as_ref().to_path_buf();
        if !root.is_dir() {
            return Err(dataset_err(
                &root,
                "not a folder (write one with heapframe export)",
            ));
        }
        Ok(Dataset {
            root,
            snapshots: HashSet::new(),
            stacks: HashSet::new(),
            appendable: false,
            stack_files: None,
        })
    }

    /// The dataset's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Appends a bundle's snapshots (every kind) and metrics.
    pub fn export(&mut self, bundle: &Bundle, origin: &Origin) -> Result<ExportSummary> {
        if !self.appendable {
            return Err(dataset_err(
                &self.root,
                "opened for reading: open it with Dataset::open to append",
            ));
        }
        // A service that cannot be a folder name is refused before anything
        // is written.
        partition_value("service", &origin.service)?;
        let service = origin.service.as_str();
        let mut sum = ExportSummary::default();
        for kind in SnapshotKind::ALL {
            for s in bundle.snapshots(kind) {
                let limit = crate::pprof::ReadOptions::default().max_decompressed_bytes;
                let bytes = crate::files::read_regular(&s.path, limit, "a profile")?;
                let hash = hex(&Sha256::digest(&bytes));
                if self.snapshots.contains(&hash) {
                    sum.snapshots_present += 1;
                    continue;
                }
                let source = s
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let snap = SnapshotRow {
                    hash: &hash,
                    kind,
                    time_ms: s.time_ms,
                    instance: &origin.instance,
                    source: &source,
                };
                self.export_snapshot(service, &snap, &s.profile, &mut sum)?;
            }
        }
        self.export_metrics(service, &origin.instance, &bundle.metrics.samples, &mut sum)?;
        Ok(sum)
    }

    fn export_snapshot(
        &mut self,
        service: &str,
        snap: &SnapshotRow,
        p: &Profile,
        sum: &mut ExportSummary,
    ) -> Result<()> {
        let snapshot_id = id_of(snap.hash);
        let t = Tables::from_profile(p)?;
        let frames = t.frames()?;
        let out = |p: &Path| dataset_err(p, "cannot build a table");
        // Each stack of the tables, by its stable id.
        let starts: foldhash::HashMap<(&str, &str), i64> = p
            .functions
            .iter()
            .map(|f| ((&*f.name, &*f.filename), f.start_line))
            .collect();
        let (ids, new_rows) =
            stable_ids(&frames, &self.stacks, &starts).map_err(|_| out(&self.root))?;
        let stack_col = t.samples.column("stack_id").map_err(|_| out(&self.root))?;
        let stack_col = stack_col.u32().map_err(|_| out(&self.root))?;
        let empty = id_of_frames(&[]);
        let stable: Vec<i64> = stack_col
            .iter()
            .map(|id| id.and_then(|id| ids.get(&id).copied()).unwrap_or(empty))
            .collect();

        // 1. stacks new to the dataset.
        if !new_rows.stack_id.is_empty() {
            let path = self
                .root
                .join("stacks")
                .join(format!("{}.parquet", snap.hash));
            let n = new_rows.stack_id.len();
            let mut df = DataFrame::new(
                n,
                vec![
                    Column::new("stack_id".into(), &new_rows.stack_id),
                    Column::new("depth".into(), &new_rows.depth),
                    Column::new("function".into(), &new_rows.function),
                    Column::new("file".into(), &new_rows.file),
                    Column::new("line".into(), &new_rows.line),
                    Column::new("inlined".into(), &new_rows.inlined),
                    Column::new("start_line".into(), &new_rows.start_line),
                ],
            )
            .map_err(polars_err(&path))?;
            write_table(&path, &mut df)?;
            let before = self.stacks.len();
            self.stacks.extend(new_rows.stack_id.iter().copied());
            sum.stacks += self.stacks.len() - before;
        }

        // 2. samples.
        let n = p.samples.len();
        let mut cols = vec![
            Column::new("snapshot_id".into(), vec![snapshot_id; n]),
            Column::new("stack_id".into(), stable),
        ];
        for (i, st) in p.sample_types.iter().enumerate() {
            if RESERVED.contains(&&*st.name) || cols.iter().any(|c| c.name().as_str() == &*st.name)
            {
                return Err(dataset_err(
                    Path::new(&p.source),
                    format!(
                        "sample type {:?} is named twice or like a column of the samples table",
                        crate::escape::terminal(&st.name)
                    ),
                ));
            }
            let v: Vec<i64> = p.samples.iter().map(|s| s.values[i]).collect();
            cols.push(Column::new((&*st.name).into(), v));
        }
        let mut object_size: Vec<Option<i64>> = Vec::with_capacity(n);
        let mut labels: Vec<Option<String>> = Vec::with_capacity(n);
        for s in &p.samples {
            let mut size = None;
            let mut other = serde_json::Map::new();
            for l in s.labels {
                match &l.value {
                    LabelValue::Num { value, .. } if &*l.key == "bytes" && size.is_none() => {
                        size = Some(*value);
                    }
                    LabelValue::Num { value, .. } => {
                        other
                            .entry(l.key.to_string())
                            .or_insert_with(|| (*value).into());
                    }
                    LabelValue::Str(v) => {
                        other
                            .entry(l.key.to_string())
                            .or_insert_with(|| v.to_string().into());
                    }
                }
            }
            object_size.push(size);
            labels.push((!other.is_empty()).then(|| serde_json::Value::Object(other).to_string()));
        }
        cols.push(Column::new("object_size".into(), object_size));
        cols.push(Column::new("labels".into(), labels));
        let path = self.samples_file(service, snap.kind, snap.time_ms, snap.hash)?;
        let mut df = DataFrame::new(n, cols).map_err(polars_err(&path))?;
        write_table(&path, &mut df)?;
        sum.samples += n;

        // 3. the snapshot's row, last: it marks the snapshot as exported.
        let types = serde_json::Value::Array(
            p.sample_types
                .iter()
                .map(|t| serde_json::json!({"name": &*t.name, "unit": &*t.unit}))
                .collect(),
        )
        .to_string();
        let path = self.snapshot_file(service, snap.time_ms, snap.hash)?;
        let mut df = DataFrame::new(
            1,
            vec![
                Column::new("snapshot_id".into(), [snapshot_id]),
                Column::new("content_hash".into(), [snap.hash]),
                Column::new("instance".into(), [snap.instance]),
                Column::new("kind".into(), [snap.kind.dir()]),
                Column::new("time_ms".into(), [snap.time_ms]),
                Column::new("sample_types".into(), [types]),
                Column::new(
                    "default_sample_type".into(),
                    [p.default_sample_type.to_string()],
                ),
                Column::new("duration_ns".into(), [p.duration_nanos]),
                Column::new("period".into(), [p.period]),
                Column::new("period_type".into(), [p.period_type.name.to_string()]),
                Column::new("period_unit".into(), [p.period_type.unit.to_string()]),
                Column::new(
                    "binary".into(),
                    [p.main_binary()
                        .map_or(String::new(), |m| m.filename.to_string())],
                ),
                Column::new(
                    "build_id".into(),
                    [p.main_binary()
                        .map_or(String::new(), |m| m.build_id.to_string())],
                ),
                Column::new("source".into(), [snap.source]),
                Column::new("samples".into(), [n as i64]),
            ],
        )
        .map_err(polars_err(&path))?;
        write_table(&path, &mut df)?;
        self.snapshots.insert(snap.hash.to_string());
        sum.snapshots += 1;
        Ok(())
    }

    fn export_metrics(
        &mut self,
        service: &str,
        instance: &str,
        samples: &[MetricSample],
        sum: &mut ExportSummary,
    ) -> Result<()> {
        let mut by_date: BTreeMap<String, Vec<&MetricSample>> = BTreeMap::new();
        for s in samples {
            by_date
                .entry(crate::units::date_utc(s.time_ms))
                .or_default()
                .push(s);
        }
        for (date, rows) in by_date {
            let dir = self
                .service_dir("metrics", service)?
                .join(format!("date={date}"));
            // What the partition already holds, by (instance, time, metric,
            // labels).
            let mut present: HashSet<(String, i64, String, String)> = HashSet::new();
            for p in parquet_files(&dir)? {
                let df = read_columns(&p, &["instance", "time_ms", "metric", "labels"])?;
                let e = polars_err(&p);
                let inst = column_of(&df, "instance", |c| c.str().cloned(), &e)?;
                let time = column_of(&df, "time_ms", |c| c.i64().cloned(), &e)?;
                let metric = column_of(&df, "metric", |c| c.str().cloned(), &e)?;
                let labels = column_of(&df, "labels", |c| c.str().cloned(), &e)?;
                for i in 0..df.height() {
                    present.insert((
                        inst.get(i).unwrap_or_default().to_string(),
                        time.get(i).unwrap_or_default(),
                        metric.get(i).unwrap_or_default().to_string(),
                        labels.get(i).unwrap_or_default().to_string(),
                    ));
                }
            }
            let mut hasher = Sha256::new();
            let (mut inst, mut time, mut metric, mut labels, mut value) =
                (vec![], vec![], vec![], vec![], vec![]);
            for s in rows {
                let l: serde_json::Map<String, serde_json::Value> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into()))
                    .collect();
                let l = serde_json::Value::Object(l).to_string();
                let key = (instance.to_string(), s.time_ms, s.metric.clone(), l);
                if !present.insert(key.clone()) {
                    sum.metric_rows_present += 1;
                    continue;
                }
                for part in [key.0.as_bytes(), key.2.as_bytes(), key.3.as_bytes()] {
                    hasher.update((part.len() as u64).to_le_bytes());
                    hasher.update(part);
                }
                hasher.update(s.time_ms.to_le_bytes());
                hasher.update(s.value.to_bits().to_le_bytes());
                inst.push(key.0);
                time.push(s.time_ms);
                metric.push(key.2);
                labels.push(key.3);
                value.push(s.value);
            }
            if inst.is_empty() {
                continue;
            }
            let path = dir.join(format!("{}.parquet", hex(&hasher.finalize())));
            let n = inst.len();
            let mut df = DataFrame::new(
                n,
                vec![
                    Column::new("instance".into(), inst),
                    Column::new("time_ms".into(), time),
                    Column::new("metric".into(), metric),
                    Column::new("labels".into(), labels),
                    Column::new("value".into(), value),
                ],
            )
            .map_err(polars_err(&path))?;
            write_table(&path, &mut df)?;
            sum.metric_rows += n;
        }
        Ok(())
    }
}

struct SnapshotRow<'a> {
    hash: &'a str,
    kind: SnapshotKind,
    time_ms: i64,
    instance: &'a str,
    source: &'a str,
}

#[derive(Default)]
struct StackRows {
    stack_id: Vec<i64>,
    depth: Vec<u32>,
    function: Vec<String>,
    file: Vec<String>,
    line: Vec<i64>,
    inlined: Vec<bool>,
    start_line: Vec<i64>,
}

/// The stable id of each stack of `frames` (a [`Tables::frames`] table:
/// rows grouped by `stack_id`, innermost first), and the rows of the stacks
/// not in `known`.
fn stable_ids(
    frames: &DataFrame,
    known: &HashSet<i64>,
    starts: &foldhash::HashMap<(&str, &str), i64>,
) -> PolarsResult<(std::collections::HashMap<u32, i64>, StackRows)> {
    let stack = frames.column("stack_id")?.u32()?;
    let function = frames.column("function")?.str()?;
    let file = frames.column("file")?.str()?;
    let line = frames.column("line")?.i64()?;
    let inlined = frames.column("inlined")?.bool()?;
    let mut ids = std::collections::HashMap::new();
    let mut rows = StackRows::default();
    let mut seen: HashSet<i64> = HashSet::new();
    let mut start = 0;
    let h = frames.height();
    while start < h {
        let id = stack.get(start).unwrap_or_default();
        let mut end = start;
        while end < h && stack.get(end) == Some(id) {
            end += 1;
        }
        let fr: Vec<Frame> = (start..end)
            .map(|i| Frame {
                function: function.get(i).unwrap_or_default(),
                file: file.get(i).unwrap_or_default(),
                line: line.get(i).unwrap_or_default(),
                inlined: inlined.get(i).unwrap_or_default(),
            })
            .collect();
        let stable = id_of_frames(&fr);
        if !known.contains(&stable) && seen.insert(stable) {
            for (d, f) in fr.iter().enumerate() {
                rows.stack_id.push(stable);
                rows.depth.push(d as u32);
                rows.function.push(f.function.to_string());
                rows.file.push(f.file.to_string());
                rows.line.push(f.line);
                rows.inlined.push(f.inlined);
                rows.start_line
                    .push(starts.get(&(f.function, f.file)).copied().unwrap_or(0));
            }
        }
        ids.insert(id, stable);
        start = end;
    }
    Ok((ids, rows))
}

/// One frame of a stack, as its id hashes it.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Function name.
    pub function: &'a str,
    /// Source file.
    pub file: &'a str,
    /// Line.
    pub line: i64,
    /// Whether the frame was inlined into its caller.
    pub inlined: bool,
}

/// The dataset's id of a stack whose frames are `frames`, innermost first:
/// the first 8 bytes of a SHA-256 over each frame's function and file
/// (length-prefixed), line and inlined flag. Equal frames give equal ids
/// in every profile, instance and service.
///
/// ```
/// use heapframe::dataset::{Frame, id_of_frames};
/// let f = Frame { function: "main.leak", file: "m.go", line: 9, inlined: false };
/// let g = Frame { line: 10, ..f };
/// assert_eq!(id_of_frames(&[f]), id_of_frames(&[f]));
/// assert_ne!(id_of_frames(&[f]), id_of_frames(&[g]));
/// assert_ne!(id_of_frames(&[f, g]), id_of_frames(&[g, f]));
/// ```
pub fn id_of_frames(frames: &[Frame]) -> i64 {
    let mut h = Sha256::new();
    for f in frames {
        for s in [f.function, f.file] {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        h.update(f.line.to_le_bytes());
        h.update([f.inlined as u8]);
    }
    let d = h.finalize();
    i64::from_be_bytes(d[..8].try_into().expect("a SHA-256 has 32 bytes"))
}

/// The `snapshot_id` of a content hash (hex): its first 8 bytes.
fn id_of(hash_hex: &str) -> i64 {
    u64::from_str_radix(&hash_hex[..16], 16).unwrap_or_default() as i64
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A partition value as a folder name's part: bytes outside
/// `A-Z a-z 0-9 . _ -`, and a leading `.`, percent-encoded. Empty values
/// and values longer than 200 bytes are refused.
///
/// ```
/// use heapframe::dataset::partition_value;
/// assert_eq!(partition_value("service", "checkout-api").unwrap(), "checkout-api");
/// assert_eq!(partition_value("service", "../a/b c").unwrap(), "%2E.%2Fa%2Fb%20c");
/// assert!(partition_value("service", "").is_err());
/// ```
pub fn partition_value(what: &str, value: &str) -> Result<String> {
    if value.is_empty() || value.len() > 200 {
        return Err(Error::Option(format!(
            "{what}: must be 1 to 200 bytes long (got {})",
            value.len()
        )));
    }
    Ok(crate::escape::folder_name(value))
}

/// The `.parquet` files under `dir` (missing folder: none), at most
/// [`MAX_DEPTH`] levels down; links are not followed, hidden names (the
/// writers' temporaries) skipped.
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = todo.pop() {
        for e in entries(&d)? {
            if e.is_dir && depth < MAX_DEPTH {
                todo.push((e.path, depth + 1));
            } else if e.is_file && e.name.ends_with(".parquet") {
                out.push(e.path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// An entry of a dataset folder.
struct Entry {
    name: String,
    path: PathBuf,
    is_dir: bool,
    is_file: bool,
}

/// The entries of `dir` whose names are not hidden (the writers'
/// temporaries are), sorted by name; a missing folder has none. Links are
/// neither files nor folders here: they are not followed.
fn entries(dir: &Path) -> Result<Vec<Entry>> {
    let list = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(dataset_err(dir, format!("cannot list the folder: {e}"))),
    };
    let mut out = Vec::new();
    for e in list {
        let e = e.map_err(|e| dataset_err(dir, format!("cannot list the folder: {e}")))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(t) = e.file_type() else { continue };
        if !name.starts_with('.') {
            out.push(Entry {
                name,
                path: e.path(),
                is_dir: t.is_dir(),
                is_file: t.is_file(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Column `name` of `df` as the typed array `typed` gives, or the error `e`
/// makes of polars' (which names the file).
fn column_of<T>(
    df: &DataFrame,
    name: &str,
    typed: impl Fn(&Column) -> PolarsResult<T>,
    e: &impl Fn(PolarsError) -> Error,
) -> Result<T> {
    df.column(name).and_then(typed).map_err(e)
}

/// The `stack_id` column of a `stacks` or `samples` file.
fn stack_ids_in(path: &Path) -> Result<Int64Chunked> {
    let df = read_columns(path, &["stack_id"])?;
    column_of(&df, "stack_id", |c| c.i64().cloned(), &polars_err(path))
}

/// Reads the columns `names` of a Parquet file of the dataset.
fn read_columns(path: &Path, names: &[&str]) -> Result<DataFrame> {
    read_table(path, Some(names))
}

/// The largest `.parquet` file of a dataset heapframe reads (a day of one
/// service's snapshots is far smaller): 1 GiB.
pub const MAX_TABLE_BYTES: u64 = 1 << 30;

/// Reads a Parquet file of the dataset, the columns `names` or all; a file
/// over [`MAX_TABLE_BYTES`] is refused before it is read.
fn read_table(path: &Path, names: Option<&[&str]>) -> Result<DataFrame> {
    let file = crate::files::open_regular_file(path)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_TABLE_BYTES {
        return Err(Error::File {
            path: path.display().to_string(),
            error: crate::error::FileError::TooLarge {
                what: "a dataset table",
                limit: MAX_TABLE_BYTES,
            },
        });
    }
    ParquetReader::new(file)
        .with_columns(names.map(|n| n.iter().map(|s| s.to_string()).collect()))
        .finish()
        .map_err(polars_err(path))
}

fn write_table(path: &Path, df: &mut DataFrame) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| dataset_err(dir, format!("cannot create the folder: {e}")))?;
    }
    let bytes = encode(df, TableFormat::Parquet)?;
    crate::files::replace_file(path, &bytes)
}

/// Which snapshots (or metric samples) of a dataset to read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The service.
    pub service: String,
    /// Only this instance's (all when `None`).
    pub instance: Option<String>,
    /// Only from this time on (Unix milliseconds, inclusive).
    pub since_ms: Option<i64>,
    /// Only up to this time (Unix milliseconds, inclusive).
    pub until_ms: Option<i64>,
}

impl Selection {
    /// Everything of `service`.
    pub fn service(service: impl Into<String>) -> Selection {
        Selection {
            service: service.into(),
            instance: None,
            since_ms: None,
            until_ms: None,
        }
    }

    fn keeps(&self, instance: &str, time_ms: i64) -> bool {
        self.instance.as_deref().is_none_or(|i| i == instance)
            && self.since_ms.is_none_or(|t| time_ms >= t)
            && self.until_ms.is_none_or(|t| time_ms <= t)
    }

    /// Whether the day partition `date=YYYY-MM-DD` can hold selected rows.
    fn keeps_day(&self, folder: &str) -> bool {
        let Some(day) = folder.strip_prefix("date=").and_then(day_of) else {
            return false;
        };
        let (start, end) = (day * 86_400_000, (day + 1) * 86_400_000 - 1);
        self.since_ms.is_none_or(|t| end >= t) && self.until_ms.is_none_or(|t| start <= t)
    }
}

/// `DIR/date=YYYY-MM-DD/NAME.parquet` for a time in Unix milliseconds.
fn day_file(dir: &Path, time_ms: i64, name: &str) -> PathBuf {
    dir.join(format!("date={}", crate::units::date_utc(time_ms)))
        .join(format!("{name}.parquet"))
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
fn day_of(date: &str) -> Option<i64> {
    let mut it = date.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(crate::units::days_from_civil(y, m, d))
}

/// A row of `snapshots`, as read back.
struct SnapshotMeta {
    hash: String,
    id: i64,
    time_ms: i64,
    sample_types: Vec<(String, String)>,
    default_sample_type: String,
    duration_ns: i64,
    period: i64,
    period_type: (String, String),
    binary: String,
    build_id: String,
}

/// A string table and the ids of a profile being rebuilt.
#[derive(Default)]
struct ProtoBuilder {
    strings: foldhash::HashMap<String, i64>,
    table: Vec<Vec<u8>>,
    functions: foldhash::HashMap<(i64, i64), u64>,
    locations: foldhash::HashMap<Vec<u32>, u64>,
    message: crate::pprof::proto::Profile,
}

impl ProtoBuilder {
    fn new() -> ProtoBuilder {
        let mut b = ProtoBuilder::default();
        b.string("");
        b
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.as_bytes().to_vec());
        self.strings.insert(s.to_string(), i);
        i
    }

    /// The location of `frames` (indices into `keys`, innermost first, the
    /// last one not inlined).
    fn location(&mut self, frames: &[u32], keys: &[FrameRow]) -> u64 {
        if let Some(&id) = self.locations.get(frames) {
            return id;
        }
        let mut lines = Vec::with_capacity(frames.len());
        for &f in frames {
            let k = &keys[f as usize];
            let name = self.string(&k.function);
            let file = self.string(&k.file);
            let next = self.functions.len() as u64 + 1;
            let fid = *self.functions.entry((name, file)).or_insert(next);
            if fid == next {
                self.message.function.push(crate::pprof::proto::Function {
                    id: fid,
                    name,
                    system_name: name,
                    filename: file,
                    start_line: k.start_line,
                });
            }
            lines.push(crate::pprof::proto::Line {
                function_id: fid,
                line: k.line,
                column: 0,
            });
        }
        let id = self.locations.len() as u64 + 1;
        self.message.location.push(crate::pprof::proto::Location {
            id,
            mapping_id: self.message.mapping.first().map_or(0, |m| m.id),
            address: 0,
            line: lines,
            is_folded: false,
        });
        self.locations.insert(frames.to_vec(), id);
        id
    }
}

/// A distinct frame of the stacks read back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FrameRow {
    function: String,
    file: String,
    line: i64,
    inlined: bool,
    start_line: i64,
}

impl Dataset {
    /// `TABLE/service=S` (S as [`partition_value`] writes it).
    fn service_dir(&self, table: &str, service: &str) -> Result<PathBuf> {
        Ok(self
            .root
            .join(table)
            .join(format!("service={}", partition_value("service", service)?)))
    }

    /// A snapshot's `samples` file.
    fn samples_file(
        &self,
        service: &str,
        kind: SnapshotKind,
        time_ms: i64,
        hash: &str,
    ) -> Result<PathBuf> {
        let dir = self
            .service_dir("samples", service)?
            .join(format!("kind={}", kind.dir()));
        Ok(day_file(&dir, time_ms, hash))
    }

    /// A snapshot's row file in `snapshots`.
    fn snapshot_file(&self, service: &str, time_ms: i64, hash: &str) -> Result<PathBuf> {
        Ok(day_file(
            &self.service_dir("snapshots", service)?,
            time_ms,
            hash,
        ))
    }

    /// The `date=` folders of a service's table that `sel` can use.
    fn day_folders(&self, dir: &Path, sel: &Selection) -> Result<Vec<PathBuf>> {
        Ok(entries(dir)?
            .into_iter()
            .filter(|e| e.is_dir && sel.keeps_day(&e.name))
            .map(|e| e.path)
            .collect())
    }

    /// The snapshots of `kind` that `sel` picks, in time order, rebuilt as
    /// profiles from `samples` and `stacks`: what growth, top and the
    /// flame graphs read. Only the selected days' partitions are read, and
    /// of `stacks` only the rows of the stacks these snapshots use.
    /// A rebuilt profile has one location per distinct frame chain, no
    /// addresses and no mappings; its path is its `samples` file.
    pub fn snapshots(&self, kind: SnapshotKind, sel: &Selection) -> Result<Vec<Snapshot>> {
        let snap_dir = self.service_dir("snapshots", &sel.service)?;
        let mut metas = Vec::new();
        for day in self.day_folders(&snap_dir, sel)? {
            for f in parquet_files(&day)? {
                metas.extend(read_snapshot_rows(&f, kind, sel)?);
            }
        }
        metas.sort_by(|a, b| (a.time_ms, &a.hash).cmp(&(b.time_ms, &b.hash)));
        let paths = metas
            .iter()
            .map(|m| self.samples_file(&sel.service, kind, m.time_ms, &m.hash))
            .collect::<Result<Vec<_>>>()?;
        let workers = crate::defaults::worker_threads().min(metas.len()).max(1);
        // The stacks these snapshots use.
        let parts = crate::defaults::on_ranges(metas.len(), workers, |r| {
            let mut needed: HashSet<i64> = HashSet::new();
            for p in &paths[r] {
                needed.extend(stack_ids_in(p)?.into_no_null_iter());
            }
            Ok(needed)
        });
        let mut needed: HashSet<i64> = HashSet::new();
        for part in parts {
            needed.extend(part?);
        }
        let (frames_of, keys) = self.read_stacks(&needed)?;
        drop(needed);
        let template = template(&self.root, &frames_of, &keys)?;
        drop((frames_of, keys));
        // The profiles, rebuilt on the worker threads.
        let parts = crate::defaults::on_ranges(metas.len(), workers, |r| {
            metas[r.clone()]
                .iter()
                .zip(&paths[r])
                .map(|(m, p)| {
                    Ok(Snapshot {
                        profile: rebuild(p, m, &template)?,
                        path: p.clone(),
                        time_ms: m.time_ms,
                    })
                })
                .collect::<Result<Vec<_>>>()
        });
        let mut out = Vec::with_capacity(metas.len());
        for part in parts {
            out.extend(part?);
        }
        Ok(out)
    }

    /// The frames of the stacks `needed`, read file by file keeping only
    /// their rows: stack id -> frame indices (innermost first), and the
    /// distinct frames.
    #[allow(clippy::type_complexity)]
    fn read_stacks(
        &self,
        needed: &HashSet<i64>,
    ) -> Result<(foldhash::HashMap<i64, Vec<u32>>, Vec<FrameRow>)> {
        let mut frames_of: foldhash::HashMap<i64, Vec<(u32, u32)>> = Default::default();
        let mut ids: foldhash::HashMap<FrameRow, u32> = Default::default();
        let mut keys: Vec<FrameRow> = Vec::new();
        let files = match &self.stack_files {
            Some((files, at)) => {
                let mut wanted: Vec<u32> =
                    needed.iter().filter_map(|id| at.get(id).copied()).collect();
                wanted.sort_unstable();
                wanted.dedup();
                wanted
                    .into_iter()
                    .map(|i| files[i as usize].clone())
                    .collect()
            }
            None => parquet_files(&self.root.join("stacks"))?,
        };
        for p in files {
            // The ids first: a file without any of the stacks is passed over.
            if self.stack_files.is_none()
                && !stack_ids_in(&p)?
                    .into_no_null_iter()
                    .any(|id| needed.contains(&id))
            {
                continue;
            }
            let df = read_columns(
                &p,
                &[
                    "stack_id",
                    "depth",
                    "function",
                    "file",
                    "line",
                    "inlined",
                    "start_line",
                ],
            )?;
            let e = polars_err(&p);
            let stack = column_of(&df, "stack_id", |c| c.i64().cloned(), &e)?;
            let depth = column_of(&df, "depth", |c| c.u32().cloned(), &e)?;
            let function = column_of(&df, "function", |c| c.str().cloned(), &e)?;
            let file = column_of(&df, "file", |c| c.str().cloned(), &e)?;
            let line = column_of(&df, "line", |c| c.i64().cloned(), &e)?;
            let inlined = column_of(&df, "inlined", |c| c.bool().cloned(), &e)?;
            let start = column_of(&df, "start_line", |c| c.i64().cloned(), &e)?;
            for i in 0..df.height() {
                let Some(id) = stack.get(i) else { continue };
                if !needed.contains(&id) {
                    continue;
                }
                let k = FrameRow {
                    function: function.get(i).unwrap_or_default().to_string(),
                    file: file.get(i).unwrap_or_default().to_string(),
                    line: line.get(i).unwrap_or_default(),
                    inlined: inlined.get(i).unwrap_or_default(),
                    start_line: start.get(i).unwrap_or_default(),
                };
                let f = *ids.entry(k).or_insert_with_key(|k| {
                    keys.push(k.clone());
                    keys.len() as u32 - 1
                });
                frames_of
                    .entry(id)
                    .or_default()
                    .push((depth.get(i).unwrap_or_default(), f));
            }
        }
        let frames_of = frames_of
            .into_iter()
            .map(|(id, mut v)| {
                v.sort_unstable();
                v.dedup_by_key(|x| x.0);
                (id, v.into_iter().map(|x| x.1).collect())
            })
            .collect();
        Ok((frames_of, keys))
    }

    /// Reads which `stacks` file holds each stack (the `stack_id` column of
    /// every file, once), so that later reads open only the files they
    /// need: for reading many selections, e.g. [`Dataset::growth_by_service`].
    pub fn index_stacks(&mut self) -> Result<()> {
        let files = parquet_files(&self.root.join("stacks"))?;
        let mut at: foldhash::HashMap<i64, u32> = Default::default();
        for (i, p) in files.iter().enumerate() {
            for id in stack_ids_in(p)?.into_no_null_iter() {
                at.entry(id).or_insert(i as u32);
            }
        }
        self.stack_files = Some((files, at));
        Ok(())
    }

    /// The growth of every service, one service at a time (memory: one
    /// service's snapshots): the `limit` best-ranked rows of each, for the
    /// snapshots of `kind` in `sel`'s instance and time range (its
    /// `service` is ignored). Services with fewer than two snapshots are
    /// listed with no rows.
    pub fn growth_by_service(
        &mut self,
        kind: SnapshotKind,
        sel: &Selection,
        opts: &crate::growth::GrowthOptions,
        limit: usize,
    ) -> Result<Vec<ServiceGrowth>> {
        if self.stack_files.is_none() {
            self.index_stacks()?;
        }
        let mut out = Vec::new();
        for service in self.services()? {
            let sel = Selection {
                service: service.clone(),
                ..sel.clone()
            };
            let snaps = self.snapshots(kind, &sel)?;
            if snaps.is_empty() {
                continue;
            }
            let table = crate::growth::growth(&snaps, opts)?;
            let n = snaps.len();
            drop(snaps);
            let mut rows = table.rows;
            if n < 2 {
                rows.clear();
            }
            rows.truncate(limit);
            out.push(ServiceGrowth {
                service,
                sample_type: table.sample_type,
                times_ms: (table.times_ms[0], table.times_ms[n - 1]),
                snapshots: n,
                totals: (table.totals[0], table.totals[n - 1]),
                rows,
            });
        }
        Ok(out)
    }

    /// The metric samples `sel` picks (non-finite values are not exported).
    pub fn metrics(&self, sel: &Selection) -> Result<MetricSeries> {
        let dir = self.service_dir("metrics", &sel.service)?;
        let mut samples = Vec::new();
        for day in self.day_folders(&dir, sel)? {
            for p in parquet_files(&day)? {
                let df = read_columns(&p, &["instance", "time_ms", "metric", "labels", "value"])?;
                let e = polars_err(&p);
                let inst = column_of(&df, "instance", |c| c.str().cloned(), &e)?;
                let time = column_of(&df, "time_ms", |c| c.i64().cloned(), &e)?;
                let metric = column_of(&df, "metric", |c| c.str().cloned(), &e)?;
                let labels = column_of(&df, "labels", |c| c.str().cloned(), &e)?;
                let value = column_of(&df, "value", |c| c.f64().cloned(), &e)?;
                for i in 0..df.height() {
                    let (Some(t), Some(v)) = (time.get(i), value.get(i)) else {
                        continue;
                    };
                    if !sel.keeps(inst.get(i).unwrap_or_default(), t) {
                        continue;
                    }
                    let labels = json_object(labels.get(i).unwrap_or("{}"))
                        .map_err(|r| dataset_err(&p, format!("row {}: labels: {r}", i + 1)))?
                        .into_iter()
                        .map(|(k, v)| match v {
                            serde_json::Value::String(s) => (k, s),
                            other => (k, other.to_string()),
                        })
                        .collect();
                    samples.push(MetricSample {
                        time_ms: t,
                        metric: metric.get(i).unwrap_or_default().to_string(),
                        labels,
                        value: v,
                    });
                }
            }
        }
        Ok(MetricSeries::new(samples))
    }

    /// What `sel` holds as a bundle: the snapshots of `kinds` and, when
    /// `metrics`, the metric samples; its manifest names the service.
    pub fn bundle(&self, sel: &Selection, kinds: &[SnapshotKind], metrics: bool) -> Result<Bundle> {
        let mut b = Bundle::default();
        b.manifest.service = sel.service.clone();
        for &k in kinds {
            *b.snapshots_mut(k) = self.snapshots(k, sel)?;
        }
        if metrics {
            b.metrics = self.metrics(sel)?;
        }
        Ok(b)
    }

    /// Each instance of `sel.service` (only `sel.instance` when given), in
    /// name order, as a bundle of its `kinds` snapshots (and metrics when
    /// `metrics`) within `sel`'s times, handed to `f` one at a time (the
    /// bundle is dropped before the next is read). The first error ends it.
    pub fn for_each_instance(
        &self,
        sel: &Selection,
        kinds: &[SnapshotKind],
        metrics: bool,
        mut f: impl FnMut(String, Bundle) -> Result<()>,
    ) -> Result<()> {
        for instance in self.instances(&sel.service)? {
            if sel.instance.as_ref().is_some_and(|i| *i != instance) {
                continue;
            }
            let one = Selection {
                instance: Some(instance.clone()),
                ..sel.clone()
            };
            let b = self.bundle(&one, kinds, metrics)?;
            f(instance, b)?;
        }
        Ok(())
    }

    /// The instances of `service` that have snapshots or metrics, sorted.
    pub fn instances(&self, service: &str) -> Result<Vec<String>> {
        let mut out: std::collections::BTreeSet<String> = Default::default();
        for table in ["snapshots", "metrics"] {
            for p in parquet_files(&self.service_dir(table, service)?)? {
                let df = read_columns(&p, &["instance"])?;
                let inst = column_of(&df, "instance", |c| c.str().cloned(), &polars_err(&p))?;
                out.extend(inst.iter().flatten().map(str::to_string));
            }
        }
        Ok(out.into_iter().collect())
    }

    /// The services the dataset holds snapshots of.
    pub fn services(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = entries(&self.root.join("snapshots"))?
            .iter()
            .filter_map(|e| e.name.strip_prefix("service=").and_then(partition_decode))
            .collect();
        out.sort();
        Ok(out)
    }
}

/// The JSON object of a `labels` cell.
fn json_object(
    text: &str,
) -> std::result::Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The value a partition folder name encodes ([`partition_value`]
/// reversed); `None` when it is not one heapframe writes.
fn partition_decode(folder: &str) -> Option<String> {
    let b = folder.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    (partition_value("service", &s).ok()? == folder).then_some(s)
}

/// The rows of a `snapshots` file of `kind` that `sel` keeps.
fn read_snapshot_rows(
    path: &Path,
    kind: SnapshotKind,
    sel: &Selection,
) -> Result<Vec<SnapshotMeta>> {
    let df = read_table(path, None)?;
    let e = polars_err(path);
    let str_col = |n: &str| column_of(&df, n, |c| c.str().cloned(), &e);
    let i64_col = |n: &str| column_of(&df, n, |c| c.i64().cloned(), &e);
    let (binary, build_id) = (str_col("binary")?, str_col("build_id")?);
    let (hash, inst, kinds, types, default, pt, pu) = (
        str_col("content_hash")?,
        str_col("instance")?,
        str_col("kind")?,
        str_col("sample_types")?,
        str_col("default_sample_type")?,
        str_col("period_type")?,
        str_col("period_unit")?,
    );
    let (id, time, duration, period) = (
        i64_col("snapshot_id")?,
        i64_col("time_ms")?,
        i64_col("duration_ns")?,
        i64_col("period")?,
    );
    let mut out = Vec::new();
    for i in 0..df.height() {
        let time_ms = time.get(i).unwrap_or_default();
        if kinds.get(i) != Some(kind.dir()) || !sel.keeps(inst.get(i).unwrap_or_default(), time_ms)
        {
            continue;
        }
        let h = hash.get(i).unwrap_or_default();
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(dataset_err(
                path,
                format!("row {}: content_hash is not a SHA-256", i + 1),
            ));
        }
        let types: Vec<serde_json::Value> = serde_json::from_str(types.get(i).unwrap_or("[]"))
            .map_err(|r| dataset_err(path, format!("row {}: sample_types: {r}", i + 1)))?;
        let sample_types = types
            .iter()
            .map(|t| {
                let s = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
                s("name").zip(s("unit")).ok_or_else(|| {
                    dataset_err(
                        path,
                        format!("row {}: sample_types: not {{name, unit}} objects", i + 1),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(SnapshotMeta {
            hash: h.to_ascii_lowercase(),
            id: id.get(i).unwrap_or_default(),
            time_ms,
            sample_types,
            default_sample_type: default.get(i).unwrap_or_default().to_string(),
            duration_ns: duration.get(i).unwrap_or_default(),
            period: period.get(i).unwrap_or_default(),
            period_type: (
                pt.get(i).unwrap_or_default().to_string(),
                pu.get(i).unwrap_or_default().to_string(),
            ),
            binary: binary.get(i).unwrap_or_default().to_string(),
            build_id: build_id.get(i).unwrap_or_default().to_string(),
        });
    }
    Ok(out)
}

/// What every rebuilt profile of a selection shares: the functions and
/// locations of the stacks they use, and those stacks in a stack tree.
struct Template {
    profile: Profile,
    stack_of: foldhash::HashMap<i64, crate::profile::StackId>,
    /// The id of the stack without frames.
    empty: i64,
}

/// The template of the stacks `frames_of` (frame indices into `keys`).
fn template(
    root: &Path,
    frames_of: &foldhash::HashMap<i64, Vec<u32>>,
    keys: &[FrameRow],
) -> Result<Template> {
    let mut b = ProtoBuilder::new();
    // One mapping, so that locations point to it; each snapshot names it
    // (or drops it) from its own row.
    b.message.mapping.push(crate::pprof::proto::Mapping {
        id: 1,
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        has_inline_frames: true,
        ..Default::default()
    });
    // A sample type, as a profile must have one; each snapshot sets its own.
    let (name, unit) = (b.string("template"), b.string("count"));
    b.message
        .sample_type
        .push(crate::pprof::proto::ValueType { r#type: name, unit });
    let mut stacks: Vec<(i64, Vec<u64>)> = Vec::with_capacity(frames_of.len());
    for (&id, frames) in frames_of {
        // A location per chain of inlined frames ended by one that is not
        // inlined (pprof's lines of a location).
        let mut locs = Vec::new();
        let mut start = 0;
        for (j, &f) in frames.iter().enumerate() {
            if !keys[f as usize].inlined || j + 1 == frames.len() {
                locs.push(b.location(&frames[start..=j], keys));
                start = j + 1;
            }
        }
        stacks.push((id, locs));
    }
    b.message.string_table = std::mem::take(&mut b.table);
    let source = root.display().to_string();
    let mut profile =
        Profile::from_proto(&b.message).map_err(|e| Error::profile(source.clone(), e))?;
    let index: foldhash::HashMap<u64, u32> = profile
        .locations
        .iter()
        .enumerate()
        .map(|(i, l)| (l.id, i as u32))
        .collect();
    let mut samples = crate::profile::Samples::default();
    let mut stack_of: foldhash::HashMap<i64, crate::profile::StackId> = Default::default();
    let mut locs: Vec<u32> = Vec::new();
    for (id, ids) in stacks {
        locs.clear();
        locs.extend(ids.iter().map(|l| index[l]));
        stack_of.insert(id, samples.intern_stack(&locs));
    }
    samples.shrink();
    profile.samples = samples;
    Ok(Template {
        profile,
        stack_of,
        empty: id_of_frames(&[]),
    })
}

/// A profile rebuilt from a `samples` file on the template's stacks.
fn rebuild(path: &Path, m: &SnapshotMeta, t: &Template) -> Result<Profile> {
    use crate::profile::{Label, Mapping, ValueType};
    let df = read_table(path, None)?;
    let e = polars_err(path);
    let column = |n: &str| -> Result<Vec<Option<i64>>> {
        Ok(column_of(&df, n, |c| c.i64().cloned(), &e)?
            .iter()
            .collect())
    };
    let sid = column("snapshot_id")?;
    let stack = column("stack_id")?;
    let size = column("object_size")?;
    let labels = column_of(&df, "labels", |c| c.str().cloned(), &e)?;
    let values = m
        .sample_types
        .iter()
        .map(|(n, _)| column(n))
        .collect::<Result<Vec<_>>>()?;

    let mut p = t.profile.clone();
    let text = |s: &str| -> crate::profile::Str { s.into() };
    p.source = path.display().to_string();
    p.sample_types = m
        .sample_types
        .iter()
        .map(|(n, u)| ValueType {
            name: text(n),
            unit: text(u),
        })
        .collect();
    p.default_sample_type = text(&m.default_sample_type);
    p.period_type = ValueType {
        name: text(&m.period_type.0),
        unit: text(&m.period_type.1),
    };
    p.period = m.period;
    p.time_nanos = m.time_ms.saturating_mul(1_000_000);
    p.duration_nanos = m.duration_ns;
    if m.binary.is_empty() && m.build_id.is_empty() {
        p.mappings.clear();
        for l in &mut p.locations {
            l.mapping = None;
        }
    } else if let Some(map) = p.mappings.first_mut() {
        *map = Mapping {
            filename: text(&m.binary),
            build_id: text(&m.build_id),
            ..map.clone()
        };
    }
    let bytes: crate::profile::Str = "bytes".into();
    let mut row_values = vec![0i64; values.len()];
    let mut set: Vec<Label> = Vec::new();
    let mut last_set: Option<(Option<i64>, Option<String>, u32)> = None;
    let samples = &mut p.samples;
    for i in 0..df.height() {
        if sid[i] != Some(m.id) {
            return Err(dataset_err(
                path,
                format!("row {}: snapshot_id is not this snapshot's", i + 1),
            ));
        }
        let id = stack[i].unwrap_or_default();
        let st = match t.stack_of.get(&id) {
            Some(&st) => st,
            // Not in `stacks`: only the stack without symbolized frames.
            None if id == t.empty => crate::profile::StackId::EMPTY,
            None => {
                return Err(dataset_err(
                    path,
                    format!("row {}: stack {id} is not in the dataset's stacks", i + 1),
                ));
            }
        };
        for (v, c) in row_values.iter_mut().zip(&values) {
            *v = c[i].unwrap_or_default();
        }
        // Consecutive samples with the same labels share one label set.
        let label_text = labels.get(i);
        let set_id = match &last_set {
            Some((s, l, k)) if *s == size[i] && l.as_deref() == label_text => *k,
            _ => {
                set.clear();
                if let Some(s) = size[i] {
                    set.push(Label {
                        key: bytes.clone(),
                        value: LabelValue::Num {
                            value: s,
                            unit: None,
                        },
                    });
                }
                if let Some(text) = label_text {
                    let obj = json_object(text)
                        .map_err(|r| dataset_err(path, format!("row {}: labels: {r}", i + 1)))?;
                    for (k, v) in obj {
                        let value = match v {
                            serde_json::Value::Number(n) => LabelValue::Num {
                                value: n.as_i64().unwrap_or_default(),
                                unit: None,
                            },
                            serde_json::Value::String(s) => LabelValue::Str(s.as_str().into()),
                            other => LabelValue::Str(other.to_string().as_str().into()),
                        };
                        set.push(Label {
                            key: k.as_str().into(),
                            value,
                        });
                    }
                }
                let k = samples.new_label_set(&set);
                last_set = Some((size[i], label_text.map(str::to_string), k));
                k
            }
        };
        samples.push_with_set(st, &row_values, set_id);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(crate::units::date_utc(0), "1970-01-01");
        assert_eq!(crate::units::date_utc(-1), "1969-12-31");
        assert_eq!(crate::units::date_utc(1_764_806_400_000), "2025-12-04");
    }

    #[test]
    fn snapshot_ids_are_the_hash_prefix() {
        let h = hex(&Sha256::digest(b"x"));
        assert_eq!(h.len(), 64);
        assert_eq!(id_of(&h) as u64, u64::from_str_radix(&h[..16], 16).unwrap());
    }
}
