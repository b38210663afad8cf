//! Profiles as polars tables: `samples`, and `stacks` keyed by `stack_id`.
//!
//! Long, tidy tables, so that slicing a heap is one `group_by` away, and
//! narrow ones, so that half a million samples forty frames deep stay a few
//! tens of megabytes: the text of a stack (its frames, its call path) is in
//! one row per distinct stack, or made on demand.
//!
//! **`samples`**: one row per sample per snapshot.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `snapshot` | u32 | position of the profile in the list given (0 for a single profile) |
//! | `time` | datetime\[ns\] | the profile's `time_nanos` (UTC); null when the profile has none |
//! | `stack_id` | u32 | the call stack; equal stacks (same functions, files, lines) share an id across snapshots |
//! | one per sample type | i64 | raw values as in the profile (`inuse_space`, `inuse_objects`, `alloc_space`, `alloc_objects`, or `cpu`, `samples`, `goroutine`, ...); null in snapshots without that type; units in [`Tables::units`] |
//! | `object_size` | i64 | Go's `bytes` numeric label: the size of each object of a heap sample; null when absent |
//! | `label.KEY` | str | one column per string label key (Go pprof labels), null when absent |
//! | `num.KEY` | i64 | one column per other numeric label key, null when absent |
//! | `leaf` | str | function of the innermost frame ("" for a stack without symbols) |
//! | `kind` | str | allocation kind, added by the growth layer (`Classifier::add_kind_column`) |
//!
//! **`stacks`**: one row per distinct stack of the samples.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `stack_id` | u32 | as in `samples` |
//! | `depth` | u32 | number of frames (inlined frames count) |
//! | `leaf` | str | function of the innermost frame |
//! | `file` | str | its source file |
//! | `line` | i64 | its line (0 when unknown) |
//!
//! Made on demand, since they are as large as the stacks are deep:
//! [`Tables::paths`] (`stack_id`, `path`: functions from the root to the
//! leaf joined by ` -> `) and [`Tables::frames`] (one row per frame per
//! distinct stack: `stack_id`, `depth` (0 for the leaf), `function`,
//! `file`, `line`, `inlined`), or [`Tables::frames_of`] for some stacks.
//!
//! Values are never scaled: units come from the sample type
//! ([`Tables::units`]).
//!
//! ```
//! use heapframe::{Profile, tables::Tables};
//! let p = Profile::from_path("tests/data/conformance/profiles/svc.heap.2.pb.gz").unwrap();
//! let t = Tables::from_profile(&p).unwrap();
//! assert_eq!(t.samples.height(), p.samples.len());
//! assert!(t.samples.column("inuse_space").is_ok());
//! assert_eq!(t.unit("inuse_space"), Some("bytes"));
//! assert!(t.stacks.column("leaf").is_ok());
//! assert!(t.frames().unwrap().column("function").is_ok());
//! ```

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::profile::{InputMap, LabelValue, Profile, StackId, StackTree, Str};

/// The tables of one or more snapshots (see the module docs).
#[derive(Debug, Clone)]
pub struct Tables {
    /// One row per sample per snapshot.
    pub samples: DataFrame,
    /// One row per distinct stack of the samples.
    pub stacks: DataFrame,
    /// The unit of each value column of `samples` (`inuse_space` →
    /// `bytes`), from the profiles' sample types.
    pub units: Vec<(String, String)>,
    /// The stacks of all snapshots, as one tree whose "locations" are
    /// indices into `loc_frames`.
    tree: StackTree,
    /// Per distinct location (by its frames): its frames, innermost first,
    /// as indices into `frame_keys`.
    loc_frames: Vec<Vec<u32>>,
    frame_keys: Vec<FrameKey>,
    /// The distinct stacks of the samples, in `stacks` order.
    stack_ids: Vec<u32>,
}

fn polars_err(e: PolarsError) -> Error {
    Error::Output(format!("building a table failed: {e}"))
}

#[derive(Hash, PartialEq, Eq, Clone, Debug)]
struct FrameKey {
    function: Str,
    file: Str,
    line: i64,
    inlined: bool,
}

/// The id of the stack with no frames in `stack_id` columns.
pub const EMPTY_STACK: u32 = u32::MAX;

/// A `LazyFrame` over `df`'s columns whose column index (schema) is built
/// afresh by the calling code: where a query in a notebook starts from a
/// DataFrame kept from an earlier cell (feature `notebook`). Not needed on
/// the "Rust (heapframe)" kernel that `notebooks/setup` registers, whose
/// cells share one copy of polars; this is for evcxr's default kernel.
///
/// The default evcxr kernel compiles every cell into a library of its own that
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
/// let deep = tables::lazy(&t.stacks).filter(col("depth").gt(lit(3u32))).collect().unwrap();
/// assert!(deep.height() <= t.stacks.height());
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

    /// `stacks` as a [`lazy`] frame, ready for a query in a notebook cell.
    #[cfg(feature = "notebook")]
    pub fn stacks_lazy(&self) -> LazyFrame {
        lazy(&self.stacks)
    }

    /// [`Tables::frames`] as a [`lazy`] frame.
    #[cfg(feature = "notebook")]
    pub fn frames_lazy(&self) -> Result<LazyFrame> {
        Ok(self.frames()?.lazy())
    }

    /// The unit of the value column `column` of `samples`.
    pub fn unit(&self, column: &str) -> Option<&str> {
        self.units
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, u)| u.as_str())
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
        let mut stack_id: Vec<u32> = Vec::with_capacity(rows);
        let mut object_size: Vec<Option<i64>> = Vec::with_capacity(rows);
        let mut value_cols: BTreeMap<Str, Vec<Option<i64>>> = BTreeMap::new();
        let mut value_order: Vec<(Str, Str)> = Vec::new();
        let mut str_labels: BTreeMap<Str, Vec<Option<Str>>> = BTreeMap::new();
        let mut num_labels: BTreeMap<Str, Vec<Option<i64>>> = BTreeMap::new();

        let mut frame_ids: InputMap<FrameKey, u32> = InputMap::default();
        let mut frame_keys: Vec<FrameKey> = Vec::new();
        let mut loc_ids: InputMap<Vec<u32>, u32> = InputMap::default();
        let mut loc_frames: Vec<Vec<u32>> = Vec::new();
        let mut tree = StackTree::default();

        for (si, p) in profiles.iter().enumerate() {
            for t in &p.sample_types {
                if !value_cols.contains_key(&t.name) {
                    value_cols.insert(t.name.clone(), vec![None; snapshot.len()]);
                    value_order.push((t.name.clone(), t.unit.clone()));
                }
            }
            let t = (p.time_nanos != 0).then_some(p.time_nanos);
            // Each location of the profile as a distinct location of the
            // tables (by its frames' functions, files and lines).
            let canon_loc: Vec<u32> = (0..p.locations.len() as u32)
                .map(|l| {
                    let frames: Vec<u32> = p
                        .location_frames(l)
                        .map(|f| {
                            let k = FrameKey {
                                function: f.function.name.clone(),
                                file: f.function.filename.clone(),
                                line: f.line,
                                inlined: f.inlined,
                            };
                            *frame_ids.entry(k).or_insert_with_key(|k| {
                                frame_keys.push(k.clone());
                                frame_keys.len() as u32 - 1
                            })
                        })
                        .collect();
                    *loc_ids.entry(frames).or_insert_with_key(|k| {
                        loc_frames.push(k.clone());
                        loc_frames.len() as u32 - 1
                    })
                })
                .collect();
            // Each stack of the profile as a stack of the tables (callers
            // first: ids grow from the root).
            let pt = p.samples.tree();
            let mut canon: Vec<StackId> = Vec::with_capacity(pt.len());
            for (i, &l) in pt.locations().iter().enumerate() {
                let parent = pt.parents()[i].index().map_or(StackId::EMPTY, |q| canon[q]);
                canon.push(tree.push(parent, canon_loc[l as usize]));
            }
            for s in &p.samples {
                let row = snapshot.len();
                snapshot.push(si as u32);
                time.push(t);
                stack_id.push(
                    s.stack
                        .id()
                        .index()
                        .map_or(EMPTY_STACK, |i| canon[i].as_u32()),
                );
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
        tree.shrink();

        // The distinct stacks of the samples, and their leaf frames.
        let mut stack_ids = stack_id.clone();
        stack_ids.sort_unstable();
        stack_ids.dedup();
        let mut tables = Tables {
            samples: DataFrame::empty(),
            stacks: DataFrame::empty(),
            units: value_order
                .iter()
                .map(|(n, u)| (n.to_string(), u.to_string()))
                .collect(),
            tree,
            loc_frames,
            frame_keys,
            stack_ids,
        };
        let leaf_of: Vec<Option<u32>> = tables
            .stack_ids
            .iter()
            .map(|&id| tables.frames_of_stack(id).next().map(|(f, _)| f))
            .collect();
        let depth: Vec<u32> = tables
            .stack_ids
            .iter()
            .map(|&id| tables.frames_of_stack(id).count() as u32)
            .collect();
        // Row of each stack id in `stacks`, to fill the samples' leaf.
        let position = |id: u32| tables.stack_ids.binary_search(&id).unwrap_or(0) as u32;
        let function_names: Vec<&str> = tables
            .frame_keys
            .iter()
            .map(|k| &*k.function)
            .chain([""])
            .collect();
        let files: Vec<&str> = tables
            .frame_keys
            .iter()
            .map(|k| &*k.file)
            .chain([""])
            .collect();
        let none = tables.frame_keys.len() as u32;
        let leaf_frame: Vec<u32> = leaf_of.iter().map(|f| f.unwrap_or(none)).collect();
        let lines: Vec<i64> = leaf_of
            .iter()
            .map(|f| f.map_or(0, |f| tables.frame_keys[f as usize].line))
            .collect();

        let n = snapshot.len();
        let time_col = Column::new("time".into(), time)
            .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
            .map_err(polars_err)?;
        let sample_leaf: Vec<u32> = stack_id
            .iter()
            .map(|&id| leaf_frame[position(id) as usize])
            .collect();
        let mut cols = vec![
            Column::new("snapshot".into(), snapshot),
            time_col,
            Column::new("stack_id".into(), &stack_id),
        ];
        for (name, _) in &value_order {
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
        cols.push(taken("leaf", &function_names, &sample_leaf)?);
        tables.samples = DataFrame::new(n, cols).map_err(polars_err)?;
        tables.stacks = DataFrame::new(
            tables.stack_ids.len(),
            vec![
                Column::new("stack_id".into(), &tables.stack_ids),
                Column::new("depth".into(), depth),
                taken("leaf", &function_names, &leaf_frame)?,
                taken("file", &files, &leaf_frame)?,
                Column::new("line".into(), lines),
            ],
        )
        .map_err(polars_err)?;
        Ok(tables)
    }

    /// The frames of stack `id`, innermost first, as (frame index, depth
    /// of its location from the leaf).
    /// Frames of an id that is not a stack of these tables: none.
    fn frames_of_stack(&self, id: u32) -> impl Iterator<Item = (u32, usize)> + '_ {
        let stack = if id == EMPTY_STACK || !self.is_stack(id) {
            StackId::EMPTY
        } else {
            StackId::from_index(id as usize)
        };
        self.tree
            .stack(stack)
            .iter()
            .enumerate()
            .flat_map(move |(d, l)| self.loc_frames[l as usize].iter().map(move |&f| (f, d)))
    }

    /// Whether `id` is a `stack_id` of these tables (the empty stack's
    /// [`EMPTY_STACK`] included).
    pub fn is_stack(&self, id: u32) -> bool {
        id == EMPTY_STACK || (id as usize) < self.tree.len()
    }

    /// The function names of stack `id` (a `stack_id` of `samples`),
    /// innermost first.
    pub fn stack_functions(&self, id: u32) -> Vec<&str> {
        self.frames_of_stack(id)
            .map(|(f, _)| &*self.frame_keys[f as usize].function)
            .collect()
    }

    /// The call path of every distinct stack: `stack_id`, `path`
    /// (functions from the root to the leaf, joined by ` -> `). One string
    /// per stack: large for deep profiles.
    pub fn paths(&self) -> Result<DataFrame> {
        let paths: Vec<String> = self
            .stack_ids
            .iter()
            .map(|&id| {
                let mut names = self.stack_functions(id);
                names.reverse();
                names.join(" -> ")
            })
            .collect();
        DataFrame::new(
            paths.len(),
            vec![
                Column::new("stack_id".into(), &self.stack_ids),
                Column::new("path".into(), paths),
            ],
        )
        .map_err(polars_err)
    }

    /// One row per frame per distinct stack (see the module docs): as many
    /// rows as the stacks have frames.
    pub fn frames(&self) -> Result<DataFrame> {
        self.frames_of(&self.stack_ids)
    }

    /// [`Tables::frames`] of the stacks `ids` only.
    pub fn frames_of(&self, ids: &[u32]) -> Result<DataFrame> {
        let mut f_stack = Vec::new();
        let mut f_depth = Vec::new();
        let mut f_frame: Vec<u32> = Vec::new();
        for &id in ids {
            for (d, (f, _)) in self.frames_of_stack(id).enumerate() {
                f_stack.push(id);
                f_depth.push(d as u32);
                f_frame.push(f);
            }
        }
        let functions: Vec<&str> = self.frame_keys.iter().map(|k| &*k.function).collect();
        let files: Vec<&str> = self.frame_keys.iter().map(|k| &*k.file).collect();
        let lines: Vec<i64> = f_frame
            .iter()
            .map(|&f| self.frame_keys[f as usize].line)
            .collect();
        let inlined: Vec<bool> = f_frame
            .iter()
            .map(|&f| self.frame_keys[f as usize].inlined)
            .collect();
        DataFrame::new(
            f_stack.len(),
            vec![
                Column::new("stack_id".into(), f_stack),
                Column::new("depth".into(), f_depth),
                taken("function", &functions, &f_frame)?,
                taken("file", &files, &f_frame)?,
                Column::new("line".into(), lines),
                Column::new("inlined".into(), inlined),
            ],
        )
        .map_err(polars_err)
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

/// A goroutine dump as a table, one row per goroutine: `id`, `state`,
/// `wait_minutes`, `locked` (to its thread), `top` (the innermost frame's
/// function), `frames` (the functions, innermost first, joined by ` <- `),
/// `depth`, `elided` (Go left frames out), `creator` and
/// `creator_goroutine` (null when Go did not print them).
///
/// ```
/// use heapframe::profile::goroutine_text::parse_dump;
/// let d = parse_dump("goroutine 7 [chan receive, 3 minutes]:\nmain.wait()\n\t/src/m.go:9 +0x1\ncreated by main.start in goroutine 1\n\t/src/m.go:4 +0x2\n")?;
/// let df = heapframe::tables::goroutines_frame(&d)?;
/// assert_eq!(df.shape(), (1, 10));
/// assert_eq!(df.column("wait_minutes")?.u64()?.get(0), Some(3));
/// assert_eq!(df.column("creator_goroutine")?.u64()?.get(0), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn goroutines_frame(dump: &crate::profile::goroutine_text::GoroutineDump) -> Result<DataFrame> {
    let g = &dump.goroutines;
    let n = g.len();
    let strs = |f: &dyn Fn(&crate::profile::goroutine_text::Goroutine) -> Option<String>| {
        g.iter().map(f).collect::<Vec<Option<String>>>()
    };
    DataFrame::new(
        n,
        vec![
            Column::new("id".into(), g.iter().map(|x| x.id).collect::<Vec<u64>>()),
            Column::new("state".into(), strs(&|x| Some(x.state.clone()))),
            Column::new(
                "wait_minutes".into(),
                g.iter().map(|x| x.wait_minutes).collect::<Vec<u64>>(),
            ),
            Column::new(
                "locked".into(),
                g.iter().map(|x| x.locked).collect::<Vec<bool>>(),
            ),
            Column::new(
                "top".into(),
                strs(&|x| x.frames.first().map(|f| f.function.clone())),
            ),
            Column::new(
                "frames".into(),
                strs(&|x| {
                    Some(
                        x.frames
                            .iter()
                            .map(|f| f.function.as_str())
                            .collect::<Vec<_>>()
                            .join(" <- "),
                    )
                }),
            ),
            Column::new(
                "depth".into(),
                g.iter()
                    .map(|x| x.frames.len() as u32)
                    .collect::<Vec<u32>>(),
            ),
            Column::new(
                "elided".into(),
                g.iter().map(|x| x.elided).collect::<Vec<bool>>(),
            ),
            Column::new("creator".into(), strs(&|x| x.creator.clone())),
            Column::new(
                "creator_goroutine".into(),
                g.iter()
                    .map(|x| x.creator_goroutine)
                    .collect::<Vec<Option<u64>>>(),
            ),
        ],
    )
    .map_err(polars_err)
}
