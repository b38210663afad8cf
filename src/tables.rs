//! Profiles as polars tables: `samples` and `frames`.
//!
//! Long, tidy tables, so that slicing a heap is one `group_by` away:
//!
//! **`samples`**: one row per sample per snapshot.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `snapshot` | u32 | position of the profile in the list given (0 for a single profile) |
//! | `time` | datetime\[ns\] | the profile's `time_nanos` (UTC); null when the profile has none |
//! | `stack_id` | u32 | the call stack; equal stacks (same functions, files, lines) share an id across snapshots |
//! | one per sample type | i64 | raw values as in the profile (`inuse_space`, `inuse_objects`, `alloc_space`, `alloc_objects`, or `cpu`, `samples`, `goroutine`, ...); null in snapshots without that type |
//! | `object_size` | i64 | Go's `bytes` numeric label: the size of each object of a heap sample; null when absent |
//! | `label.KEY` | str | one column per string label key (Go pprof labels), null when absent |
//! | `num.KEY` | i64 | one column per other numeric label key, null when absent |
//! | `leaf` | str | function of the innermost frame ("" for a stack without symbols) |
//! | `path` | str | the call path from root to leaf, functions joined by ` -> ` |
//! | `kind` | str | allocation kind, added by the growth layer (`Classifier::add_kind_column`) |
//!
//! **`frames`**: one row per frame per distinct stack.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `stack_id` | u32 | as in `samples` |
//! | `depth` | u32 | 0 for the leaf (innermost frame), growing towards the root |
//! | `function` | str | function name |
//! | `file` | str | source file |
//! | `line` | i64 | line number (0 when unknown) |
//! | `inlined` | bool | the frame was inlined into its caller (same location) |
//!
//! Values are never scaled: units come from the sample type (see
//! [`Profile::sample_types`]).
//!
//! ```
//! use heapframe::{Profile, tables::Tables};
//! let p = Profile::from_path("tests/data/conformance/profiles/svc.heap.2.pb.gz").unwrap();
//! let t = Tables::from_profile(&p).unwrap();
//! assert_eq!(t.samples.height(), p.samples.len());
//! assert!(t.samples.column("inuse_space").is_ok());
//! assert!(t.frames.column("function").is_ok());
//! ```

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::profile::{InputMap, LabelValue, Profile, Str};

/// The `samples` and `frames` tables of one or more snapshots.
#[derive(Debug, Clone)]
pub struct Tables {
    /// One row per sample per snapshot (see the module docs).
    pub samples: DataFrame,
    /// One row per frame per distinct stack (see the module docs).
    pub frames: DataFrame,
}

fn polars_err(e: PolarsError) -> Error {
    Error::Output(format!("building a table failed: {e}"))
}

#[derive(Hash, PartialEq, Eq, Clone)]
struct FrameKey {
    function: Str,
    file: Str,
    line: i64,
    inlined: bool,
}

/// A `LazyFrame` over `df`'s columns whose column index (schema) is built
/// afresh by the calling code: where a query in a notebook starts from a
/// DataFrame kept from an earlier cell (feature `notebook`).
///
/// The evcxr kernel compiles every cell into a library of its own that
/// links its own copy of polars. A DataFrame keeps the column index it
/// built, hashed with the seed of the copy that built it, and a later
/// cell's copy hashes with another seed: its lookups miss, and polars says
/// `unable to find column "depth"` and then `Did you mean "depth"?`. This
/// function, and so the index it makes, runs in the caller's copy. The
/// columns themselves are shared, not copied.
///
/// ```
/// use heapframe::{Profile, tables::{self, Tables}};
/// use heapframe::polars::prelude::*;
/// let p = Profile::from_path("tests/data/conformance/profiles/svc.heap.2.pb.gz")?;
/// let t = Tables::from_profile(&p)?;
/// let leaves = tables::lazy(&t.frames).filter(col("depth").eq(lit(0u32))).collect().unwrap();
/// assert_eq!(leaves.height(), t.samples.column("stack_id").unwrap().n_unique().unwrap());
/// # Ok::<(), heapframe::Error>(())
/// ```
#[cfg(feature = "notebook")]
pub fn lazy(df: &DataFrame) -> LazyFrame {
    // Cannot fail for the columns of a valid DataFrame (same length,
    // distinct names); fall back to the DataFrame as it is all the same.
    DataFrame::new(df.height(), df.columns().to_vec())
        .unwrap_or_else(|_| df.clone())
        .lazy()
}

impl Tables {
    /// `samples` as a [`lazy`] frame, ready for a query in a notebook cell.
    #[cfg(feature = "notebook")]
    pub fn samples_lazy(&self) -> LazyFrame {
        lazy(&self.samples)
    }

    /// `frames` as a [`lazy`] frame, ready for a query in a notebook cell.
    #[cfg(feature = "notebook")]
    pub fn frames_lazy(&self) -> LazyFrame {
        lazy(&self.frames)
    }

    /// Tables of a single profile (`snapshot` = 0).
    pub fn from_profile(p: &Profile) -> Result<Tables> {
        Self::from_snapshots(&[p])
    }

    /// Tables of many snapshots, stacked in the order given.
    pub fn from_snapshots(profiles: &[&Profile]) -> Result<Tables> {
        let rows: usize = profiles.iter().map(|p| p.samples.len()).sum();
        let mut snapshot = Vec::with_capacity(rows);
        let mut time: Vec<Option<i64>> = Vec::with_capacity(rows);
        let mut stack_id = Vec::with_capacity(rows);
        let mut object_size: Vec<Option<i64>> = Vec::with_capacity(rows);
        let mut value_cols: BTreeMap<Str, Vec<Option<i64>>> = BTreeMap::new();
        let mut value_order: Vec<Str> = Vec::new();
        let mut str_labels: BTreeMap<Str, Vec<Option<Str>>> = BTreeMap::new();
        let mut num_labels: BTreeMap<Str, Vec<Option<i64>>> = BTreeMap::new();

        let mut frame_ids: InputMap<FrameKey, u32> = InputMap::default();
        let mut frame_keys: Vec<FrameKey> = Vec::new();
        let mut stacks: InputMap<Vec<u32>, u32> = InputMap::default();
        let mut stack_frames: Vec<Vec<u32>> = Vec::new();
        let mut stack_leaf: Vec<Str> = Vec::new();
        let empty: Str = Str::from("");

        for (si, p) in profiles.iter().enumerate() {
            for t in &p.sample_types {
                if !value_cols.contains_key(&t.name) {
                    value_cols.insert(t.name.clone(), vec![None; snapshot.len()]);
                    value_order.push(t.name.clone());
                }
            }
            let t = (p.time_nanos != 0).then_some(p.time_nanos);
            // Per-profile cache: location index -> its frame ids, innermost first.
            let mut loc_frames: Vec<Option<Vec<u32>>> = vec![None; p.locations.len()];
            let mut key: Vec<u32> = Vec::new();
            for s in &p.samples {
                let row = snapshot.len();
                snapshot.push(si as u32);
                time.push(t);
                key.clear();
                for l in s.stack.iter() {
                    let fr = loc_frames[l as usize].get_or_insert_with(|| {
                        let loc = &p.locations[l as usize];
                        let n = loc.lines.len();
                        loc.lines
                            .iter()
                            .enumerate()
                            .map(|(i, ln)| {
                                let f = &p.functions[ln.function as usize];
                                let k = FrameKey {
                                    function: f.name.clone(),
                                    file: f.filename.clone(),
                                    line: ln.line,
                                    inlined: i + 1 < n,
                                };
                                *frame_ids.entry(k).or_insert_with_key(|k| {
                                    frame_keys.push(k.clone());
                                    frame_keys.len() as u32 - 1
                                })
                            })
                            .collect()
                    });
                    key.extend_from_slice(fr);
                }
                let id = match stacks.get(&key[..]) {
                    Some(&id) => id,
                    None => {
                        let id = stack_frames.len() as u32;
                        stacks.insert(key.clone(), id);
                        stack_frames.push(key.clone());
                        stack_leaf.push(
                            key.first()
                                .map(|&f| frame_keys[f as usize].function.clone())
                                .unwrap_or_else(|| empty.clone()),
                        );
                        id
                    }
                };
                stack_id.push(id);
                for (i, t) in p.sample_types.iter().enumerate() {
                    value_cols
                        .get_mut(&t.name)
                        .expect("declared above")
                        .push(Some(s.values[i]));
                }
                let mut size = None;
                for l in s.labels {
                    match &l.value {
                        LabelValue::Num { value, .. } if &*l.key == "bytes" => {
                            size.get_or_insert(*value);
                        }
                        LabelValue::Num { value, .. } => {
                            let col = num_labels
                                .entry(l.key.clone())
                                .or_insert_with(|| vec![None; row]);
                            if col.len() == row {
                                col.push(Some(*value));
                            }
                        }
                        LabelValue::Str(v) => {
                            let col = str_labels
                                .entry(l.key.clone())
                                .or_insert_with(|| vec![None; row]);
                            if col.len() == row {
                                col.push(Some(v.clone()));
                            }
                        }
                    }
                }
                object_size.push(size);
                let n = row + 1;
                for c in value_cols.values_mut() {
                    c.resize(n, None);
                }
                for c in str_labels.values_mut() {
                    c.resize(n, None);
                }
                for c in num_labels.values_mut() {
                    c.resize(n, None);
                }
            }
        }

        let paths: Vec<String> = stack_frames
            .iter()
            .map(|fr| {
                let names: Vec<&str> = fr
                    .iter()
                    .rev()
                    .map(|&f| &*frame_keys[f as usize].function)
                    .collect();
                names.join(" -> ")
            })
            .collect();

        let n = snapshot.len();
        let time_col = Column::new("time".into(), time)
            .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
            .map_err(polars_err)?;
        let mut cols = vec![
            Column::new("snapshot".into(), snapshot),
            time_col,
            Column::new("stack_id".into(), &stack_id),
        ];
        for name in &value_order {
            cols.push(Column::new(name.as_ref().into(), &value_cols[name]));
        }
        cols.push(Column::new("object_size".into(), object_size));
        for (k, v) in &str_labels {
            let v: Vec<Option<&str>> = v.iter().map(|x| x.as_deref()).collect();
            cols.push(Column::new(format!("label.{k}").into(), v));
        }
        for (k, v) in &num_labels {
            cols.push(Column::new(format!("num.{k}").into(), v));
        }
        let leaves: Vec<&str> = stack_leaf.iter().map(|s| &**s).collect();
        cols.push(taken("leaf", &leaves, &stack_id)?);
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        cols.push(taken("path", &paths, &stack_id)?);
        let samples = DataFrame::new(n, cols).map_err(polars_err)?;

        let total: usize = stack_frames.iter().map(Vec::len).sum();
        let mut f_stack = Vec::with_capacity(total);
        let mut f_depth = Vec::with_capacity(total);
        let mut f_frame: Vec<u32> = Vec::with_capacity(total);
        let mut f_line = Vec::with_capacity(total);
        let mut f_inlined = Vec::with_capacity(total);
        for (sid, fr) in stack_frames.iter().enumerate() {
            for (d, &f) in fr.iter().enumerate() {
                let k = &frame_keys[f as usize];
                f_stack.push(sid as u32);
                f_depth.push(d as u32);
                f_frame.push(f);
                f_line.push(k.line);
                f_inlined.push(k.inlined);
            }
        }
        let functions: Vec<&str> = frame_keys.iter().map(|k| &*k.function).collect();
        let files: Vec<&str> = frame_keys.iter().map(|k| &*k.file).collect();
        let frames = DataFrame::new(
            total,
            vec![
                Column::new("stack_id".into(), f_stack),
                Column::new("depth".into(), f_depth),
                taken("function", &functions, &f_frame)?,
                taken("file", &files, &f_frame)?,
                Column::new("line".into(), f_line),
                Column::new("inlined".into(), f_inlined),
            ],
        )
        .map_err(polars_err)?;
        Ok(Tables { samples, frames })
    }
}

/// A string column whose row `i` is `distinct[index[i]]`. Built by taking
/// from a column of the distinct strings, so rows share their text instead
/// of each holding a copy (a deep profile repeats a few hundred function
/// and file names millions of times).
fn taken(name: &str, distinct: &[&str], index: &[u32]) -> Result<Column> {
    let values = StringChunked::from_iter_values(name.into(), distinct.iter().copied());
    let idx = IdxCa::from_vec("".into(), index.iter().map(|&i| i as IdxSize).collect());
    Ok(values.take(&idx).map_err(polars_err)?.into_column())
}

/// File formats a table can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Comma-separated values with a header row, safe to open in a
    /// spreadsheet: text cells and column names that would run as a
    /// formula get a leading `'` ([`crate::escape::csv_cell`]); numeric
    /// columns are written as they are.
    Csv,
    /// A JSON array of row objects.
    Json,
    /// Apache Parquet.
    Parquet,
}

/// `df` with every text cell and column name through
/// [`crate::escape::csv_cell`]; other columns unchanged.
fn spreadsheet_safe(df: &DataFrame) -> Result<DataFrame> {
    use crate::escape::csv_cell;
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            let name = PlSmallStr::from(csv_cell(c.name().as_str()).as_ref());
            Ok(match c.dtype() {
                DataType::String => {
                    let text = c.str().map_err(polars_err)?;
                    let safe: StringChunked = text.iter().map(|v| v.map(csv_cell)).collect();
                    safe.with_name(name).into_column()
                }
                _ => c.clone().with_name(name),
            })
        })
        .collect::<Result<Vec<Column>>>()?;
    DataFrame::new(df.height(), columns).map_err(polars_err)
}

/// Encodes a DataFrame in `format` (CSV is made safe for spreadsheets, see
/// [`TableFormat::Csv`]; JSON and Parquet hold the values as they are).
///
/// ```
/// use heapframe::tables::{encode, TableFormat};
/// use polars::prelude::*;
/// let mut df = df!("name" => ["=1+1", "main.f"], "flat" => [-5i64, 7])?;
/// let csv = String::from_utf8(encode(&mut df, TableFormat::Csv)?).unwrap();
/// assert_eq!(csv, "name,flat\n'=1+1,-5\nmain.f,7\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode(df: &mut DataFrame, format: TableFormat) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    match format {
        TableFormat::Csv => CsvWriter::new(&mut buf)
            .finish(&mut spreadsheet_safe(df)?)
            .map_err(polars_err)?,
        TableFormat::Json => JsonWriter::new(&mut buf)
            .with_json_format(JsonFormat::Json)
            .finish(df)
            .map_err(polars_err)?,
        TableFormat::Parquet => {
            ParquetWriter::new(&mut buf)
                .finish(df)
                .map_err(polars_err)?;
        }
    }
    Ok(buf)
}
