//! The model: one place that turns wire data into trusted data.
//!
//! [`Profile`] holds a decoded profile with every string resolved and every
//! id checked: samples refer to locations by index into
//! [`Profile::locations`], lines to functions by index into
//! [`Profile::functions`], locations to mappings by index into
//! [`Profile::mappings`]. Code above this layer never sees a dangling id.
//!
//! ```
//! use heapframe::Profile;
//! # let bytes = std::fs::read("tests/data/conformance/profiles/svc.heap.2.pb.gz").unwrap();
//! let p = Profile::from_bytes(&bytes, "svc.heap.2.pb.gz").unwrap();
//! assert_eq!(p.sample_types[3].name.as_ref(), "inuse_space");
//! assert_eq!(p.default_sample_index(), 3);
//! ```

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, ProfileError, Result};
use crate::pprof::{self, ReadOptions, proto};

/// Shared, immutable text (cheap to clone).
pub type Str = Arc<str>;

/// A measured quantity, e.g. `inuse_space` in `bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValueType {
    /// The pprof "type" (`inuse_space`, `alloc_objects`, `cpu`, `goroutine`...).
    pub name: Str,
    /// The unit (`bytes`, `count`, `nanoseconds`...).
    pub unit: Str,
}

/// The value of a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelValue {
    /// A string label (Go pprof labels, goroutine labels).
    Str(Str),
    /// A numeric label, e.g. Go's `bytes` (object size) on heap samples.
    Num {
        /// The number.
        value: i64,
        /// The unit when the profile states one (`num_unit`).
        unit: Option<Str>,
    },
}

/// A label of a sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The key.
    pub key: Str,
    /// The value.
    pub value: LabelValue,
}

/// One sample: a stack and one value per sample type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sample {
    /// Indices into [`Profile::locations`], leaf first.
    pub locations: Vec<u32>,
    /// One value per entry of [`Profile::sample_types`].
    pub values: Vec<i64>,
    /// Labels, in file order.
    pub labels: Vec<Label>,
}

impl Sample {
    /// The numeric label `key`, if present (first occurrence).
    pub fn num_label(&self, key: &str) -> Option<i64> {
        self.labels.iter().find_map(|l| match &l.value {
            LabelValue::Num { value, .. } if &*l.key == key => Some(*value),
            _ => None,
        })
    }

    /// The string label `key`, if present (first occurrence).
    pub fn str_label(&self, key: &str) -> Option<&Str> {
        self.labels.iter().find_map(|l| match &l.value {
            LabelValue::Str(s) if &*l.key == key => Some(s),
            _ => None,
        })
    }
}

/// A memory mapping of the profiled process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapping {
    /// Id as written in the profile.
    pub id: u64,
    /// Start address.
    pub memory_start: u64,
    /// End address (exclusive).
    pub memory_limit: u64,
    /// Offset in the file.
    pub file_offset: u64,
    /// The mapped file (the binary for `mappings[0]`).
    pub filename: Str,
    /// Build id of the file.
    pub build_id: Str,
    /// Locations of this mapping carry function names.
    pub has_functions: bool,
    /// Locations of this mapping carry file names.
    pub has_filenames: bool,
    /// Locations of this mapping carry line numbers.
    pub has_line_numbers: bool,
    /// Locations of this mapping carry inlined frames.
    pub has_inline_frames: bool,
}

/// A source line within a location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Line {
    /// Index into [`Profile::functions`].
    pub function: u32,
    /// Line number (0 when unknown).
    pub line: i64,
    /// Column (0 when unknown).
    pub column: i64,
}

/// A program location (one PC). Several lines mean inlining: `lines[0]` is
/// the innermost inlined callee, the last line is the function it was
/// inlined into.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// Id as written in the profile.
    pub id: u64,
    /// Index into [`Profile::mappings`].
    pub mapping: Option<u32>,
    /// Instruction address.
    pub address: u64,
    /// Source lines, innermost first.
    pub lines: Vec<Line>,
    /// The frames were folded (e.g. by a symbolizer).
    pub is_folded: bool,
}

/// A function.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Function {
    /// Id as written in the profile.
    pub id: u64,
    /// Name as shown (Go: full import path, e.g. `main.(*cache).Put`).
    pub name: Str,
    /// Name as in the symbol table.
    pub system_name: Str,
    /// Source file.
    pub filename: Str,
    /// First line of the function (Go ≥ 1.20 writes it).
    pub start_line: i64,
}

/// A decoded, validated profile. See the module documentation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// Where the profile came from (file name, URL or label), for messages.
    pub source: String,
    /// What each sample value measures.
    pub sample_types: Vec<ValueType>,
    /// The preferred sample type name ("" when unset).
    pub default_sample_type: Str,
    /// The samples.
    pub samples: Vec<Sample>,
    /// Mappings; `mappings[0]` is the main binary.
    pub mappings: Vec<Mapping>,
    /// Locations.
    pub locations: Vec<Location>,
    /// Functions.
    pub functions: Vec<Function>,
    /// Regexp of frames pprof drops on load ("" when unset).
    pub drop_frames: Str,
    /// Regexp of frames kept despite `drop_frames` ("" when unset).
    pub keep_frames: Str,
    /// Collection time in nanoseconds since the epoch (0 when unset).
    pub time_nanos: i64,
    /// Collection duration in nanoseconds (0 when unset).
    pub duration_nanos: i64,
    /// The kind of events between samples.
    pub period_type: ValueType,
    /// Events between samples.
    pub period: i64,
    /// Free-form comments.
    pub comments: Vec<Str>,
    /// Documentation URL ("" when unset).
    pub doc_url: Str,
}

impl Profile {
    /// Reads a profile file (gzip or raw protobuf).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Profile> {
        Self::from_path_with(path, &ReadOptions::default())
    }

    /// Reads a profile file with explicit options.
    pub fn from_path_with(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Profile> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|e| Error::profile(&source, ProfileError::Io(e)))?;
        Self::from_reader_with(file, source, opts)
    }

    /// Decodes a profile from bytes; `source` names it in error messages.
    pub fn from_bytes(data: &[u8], source: impl Into<String>) -> Result<Profile> {
        Self::from_bytes_with(data, source, &ReadOptions::default())
    }

    /// Decodes a profile from bytes with explicit options.
    pub fn from_bytes_with(
        data: &[u8],
        source: impl Into<String>,
        opts: &ReadOptions,
    ) -> Result<Profile> {
        let source = source.into();
        match pprof::decode(data, opts).and_then(|p| Self::from_proto(&p)) {
            Ok(mut p) => {
                p.source = source;
                Ok(p)
            }
            Err(e) => Err(Error::profile(source, e)),
        }
    }

    /// Reads a profile from any reader; `source` names it in error messages.
    pub fn from_reader<R: Read>(reader: R, source: impl Into<String>) -> Result<Profile> {
        Self::from_reader_with(reader, source, &ReadOptions::default())
    }

    /// Reads a profile from any reader with explicit options.
    pub fn from_reader_with<R: Read>(
        reader: R,
        source: impl Into<String>,
        opts: &ReadOptions,
    ) -> Result<Profile> {
        let source = source.into();
        match pprof::decode_reader(reader, opts).and_then(|p| Self::from_proto(&p)) {
            Ok(mut p) => {
                p.source = source;
                Ok(p)
            }
            Err(e) => Err(Error::profile(source, e)),
        }
    }

    /// Validates a wire message and resolves its strings and ids.
    pub fn from_proto(m: &proto::Profile) -> Result<Profile, ProfileError> {
        let strings: Vec<Str> = m
            .string_table
            .iter()
            .map(|b| Str::from(String::from_utf8_lossy(b)))
            .collect();
        if let Some(first) = strings.first()
            && !first.is_empty()
        {
            return Err(ProfileError::StringTableStart(first.to_string()));
        }
        let empty: Str = Str::from("");
        let s = |field: &dyn Fn() -> String, index: i64| -> Result<Str, ProfileError> {
            if index == 0 {
                return Ok(empty.clone());
            }
            usize::try_from(index)
                .ok()
                .and_then(|i| strings.get(i))
                .cloned()
                .ok_or_else(|| ProfileError::StringIndex {
                    field: field(),
                    index,
                    len: strings.len(),
                })
        };
        let vt = |what: &str, v: &proto::ValueType| -> Result<ValueType, ProfileError> {
            Ok(ValueType {
                name: s(&|| format!("{what}.type"), v.r#type)?,
                unit: s(&|| format!("{what}.unit"), v.unit)?,
            })
        };

        let sample_types = m
            .sample_type
            .iter()
            .enumerate()
            .map(|(i, v)| vt(&format!("sample_type[{i}]"), v))
            .collect::<Result<Vec<_>, _>>()?;
        if sample_types.is_empty() {
            return Err(ProfileError::NoSampleTypes);
        }

        let mappings = m
            .mapping
            .iter()
            .enumerate()
            .map(|(i, mp)| {
                Ok(Mapping {
                    id: mp.id,
                    memory_start: mp.memory_start,
                    memory_limit: mp.memory_limit,
                    file_offset: mp.file_offset,
                    filename: s(&|| format!("mapping[{i}].filename"), mp.filename)?,
                    build_id: s(&|| format!("mapping[{i}].build_id"), mp.build_id)?,
                    has_functions: mp.has_functions,
                    has_filenames: mp.has_filenames,
                    has_line_numbers: mp.has_line_numbers,
                    has_inline_frames: mp.has_inline_frames,
                })
            })
            .collect::<Result<Vec<_>, ProfileError>>()?;
        let mapping_ix = IdIndex::new("mapping", mappings.iter().map(|m| m.id))?;

        let functions = m
            .function
            .iter()
            .enumerate()
            .map(|(i, f)| {
                Ok(Function {
                    id: f.id,
                    name: s(&|| format!("function[{i}].name"), f.name)?,
                    system_name: s(&|| format!("function[{i}].system_name"), f.system_name)?,
                    filename: s(&|| format!("function[{i}].filename"), f.filename)?,
                    start_line: f.start_line,
                })
            })
            .collect::<Result<Vec<_>, ProfileError>>()?;
        let function_ix = IdIndex::new("function", functions.iter().map(|f| f.id))?;

        let mut locations = Vec::with_capacity(m.location.len());
        for l in &m.location {
            let mapping = if l.mapping_id == 0 {
                None
            } else {
                Some(
                    mapping_ix
                        .get(l.mapping_id)
                        .ok_or(ProfileError::DanglingMapping {
                            location: l.id,
                            id: l.mapping_id,
                        })?,
                )
            };
            let lines = l
                .line
                .iter()
                .map(|ln| {
                    Ok(Line {
                        function: function_ix.get(ln.function_id).ok_or(
                            ProfileError::DanglingFunction {
                                location: l.id,
                                id: ln.function_id,
                            },
                        )?,
                        line: ln.line,
                        column: ln.column,
                    })
                })
                .collect::<Result<Vec<_>, ProfileError>>()?;
            locations.push(Location {
                id: l.id,
                mapping,
                address: l.address,
                lines,
                is_folded: l.is_folded,
            });
        }
        let location_ix = IdIndex::new("location", locations.iter().map(|l| l.id))?;

        let want = sample_types.len();
        let mut samples = Vec::with_capacity(m.sample.len());
        for (si, sm) in m.sample.iter().enumerate() {
            if sm.value.len() != want {
                return Err(ProfileError::ValueCount {
                    sample: si,
                    got: sm.value.len(),
                    want,
                });
            }
            let locs = sm
                .location_id
                .iter()
                .map(|&id| {
                    location_ix
                        .get(id)
                        .ok_or(ProfileError::DanglingLocation { sample: si, id })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut labels = Vec::with_capacity(sm.label.len());
            for (li, l) in sm.label.iter().enumerate() {
                let key = s(&|| format!("sample[{si}].label[{li}].key"), l.key)?;
                let value = if l.str != 0 {
                    LabelValue::Str(s(&|| format!("sample[{si}].label[{li}].str"), l.str)?)
                } else if l.num != 0 || l.num_unit != 0 {
                    let unit = if l.num_unit != 0 {
                        Some(s(
                            &|| format!("sample[{si}].label[{li}].num_unit"),
                            l.num_unit,
                        )?)
                    } else {
                        None
                    };
                    LabelValue::Num { value: l.num, unit }
                } else {
                    // pprof drops a label with neither a string nor a number.
                    continue;
                };
                labels.push(Label { key, value });
            }
            samples.push(Sample {
                locations: locs,
                values: sm.value.clone(),
                labels,
            });
        }

        let period_type = match &m.period_type {
            Some(v) => vt("period_type", v)?,
            None => ValueType::default(),
        };
        let comments = m
            .comment
            .iter()
            .enumerate()
            .map(|(i, &c)| s(&|| format!("comment[{i}]"), c))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Profile {
            source: String::new(),
            sample_types,
            default_sample_type: s(&|| "default_sample_type".into(), m.default_sample_type)?,
            samples,
            mappings,
            locations,
            functions,
            drop_frames: s(&|| "drop_frames".into(), m.drop_frames)?,
            keep_frames: s(&|| "keep_frames".into(), m.keep_frames)?,
            time_nanos: m.time_nanos,
            duration_nanos: m.duration_nanos,
            period_type,
            period: m.period,
            comments,
            doc_url: s(&|| "doc_url".into(), m.doc_url)?,
        })
    }

    /// Encodes the profile back into a wire message (a fresh string table).
    pub fn to_proto(&self) -> proto::Profile {
        let mut t = StringTable::default();
        let sample_type = self
            .sample_types
            .iter()
            .map(|v| proto::ValueType {
                r#type: t.index(&v.name),
                unit: t.index(&v.unit),
            })
            .collect();
        let period_type = Some(proto::ValueType {
            r#type: t.index(&self.period_type.name),
            unit: t.index(&self.period_type.unit),
        });
        let sample = self
            .samples
            .iter()
            .map(|sm| proto::Sample {
                location_id: sm
                    .locations
                    .iter()
                    .map(|&l| self.locations[l as usize].id)
                    .collect(),
                value: sm.values.clone(),
                label: sm
                    .labels
                    .iter()
                    .map(|l| match &l.value {
                        LabelValue::Str(v) => proto::Label {
                            key: t.index(&l.key),
                            str: t.index_set(v),
                            ..Default::default()
                        },
                        LabelValue::Num { value, unit } => proto::Label {
                            key: t.index(&l.key),
                            num: *value,
                            num_unit: unit.as_ref().map_or(0, |u| t.index_set(u)),
                            ..Default::default()
                        },
                    })
                    .collect(),
            })
            .collect();
        let mapping = self
            .mappings
            .iter()
            .map(|m| proto::Mapping {
                id: m.id,
                memory_start: m.memory_start,
                memory_limit: m.memory_limit,
                file_offset: m.file_offset,
                filename: t.index(&m.filename),
                build_id: t.index(&m.build_id),
                has_functions: m.has_functions,
                has_filenames: m.has_filenames,
                has_line_numbers: m.has_line_numbers,
                has_inline_frames: m.has_inline_frames,
            })
            .collect();
        let location = self
            .locations
            .iter()
            .map(|l| proto::Location {
                id: l.id,
                mapping_id: l.mapping.map_or(0, |m| self.mappings[m as usize].id),
                address: l.address,
                line: l
                    .lines
                    .iter()
                    .map(|ln| proto::Line {
                        function_id: self.functions[ln.function as usize].id,
                        line: ln.line,
                        column: ln.column,
                    })
                    .collect(),
                is_folded: l.is_folded,
            })
            .collect();
        let function = self
            .functions
            .iter()
            .map(|f| proto::Function {
                id: f.id,
                name: t.index(&f.name),
                system_name: t.index(&f.system_name),
                filename: t.index(&f.filename),
                start_line: f.start_line,
            })
            .collect();
        let comment = self.comments.iter().map(|c| t.index_set(c)).collect();
        proto::Profile {
            sample_type,
            sample,
            mapping,
            location,
            function,
            drop_frames: t.index(&self.drop_frames),
            keep_frames: t.index(&self.keep_frames),
            time_nanos: self.time_nanos,
            duration_nanos: self.duration_nanos,
            period_type,
            period: self.period,
            comment,
            default_sample_type: t.index(&self.default_sample_type),
            doc_url: t.index(&self.doc_url),
            string_table: t.strings,
        }
    }

    /// The sample type pprof shows when none is asked for: the one named by
    /// `default_sample_type` if it exists, else the last one.
    pub fn default_sample_index(&self) -> usize {
        if !self.default_sample_type.is_empty()
            && let Some(i) = self
                .sample_types
                .iter()
                .position(|t| t.name == self.default_sample_type)
        {
            return i;
        }
        self.sample_types.len() - 1
    }

    /// Resolves a sample index as `go tool pprof -sample_index` does: `None`
    /// or "" for the default, a number for a position, else a type name
    /// (`inuse_space` also matches a type named `space`).
    pub fn sample_index(&self, spec: Option<&str>) -> Result<usize> {
        let spec = match spec {
            None | Some("") => return Ok(self.default_sample_index()),
            Some(s) => s,
        };
        let names = || {
            self.sample_types
                .iter()
                .map(|t| t.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Ok(i) = spec.parse::<i64>() {
            if i < 0 || i as usize >= self.sample_types.len() {
                return Err(Error::Option(format!(
                    "{}: sample index {spec} is outside the range 0..={} ({})",
                    self.source,
                    self.sample_types.len() - 1,
                    names()
                )));
            }
            return Ok(i as usize);
        }
        let no_inuse = spec.strip_prefix("inuse_").unwrap_or(spec);
        self.sample_types
            .iter()
            .position(|t| &*t.name == spec || &*t.name == no_inuse)
            .ok_or_else(|| {
                Error::Option(format!(
                    "{}: no sample type {spec:?}; this profile has: {}",
                    self.source,
                    names()
                ))
            })
    }

    /// The name of the file this profile describes: `mappings[0]`'s file.
    pub fn main_binary(&self) -> Option<&Mapping> {
        self.mappings.first()
    }
}

/// Builds a string table for encoding.
struct StringTable {
    strings: Vec<Vec<u8>>,
    index: HashMap<Str, i64>,
    /// A second "" entry, for fields where index 0 would mean "unset".
    empty_set: Option<i64>,
}

impl Default for StringTable {
    fn default() -> Self {
        StringTable {
            strings: vec![Vec::new()],
            index: HashMap::new(),
            empty_set: None,
        }
    }
}

impl StringTable {
    fn index(&mut self, v: &Str) -> i64 {
        if v.is_empty() {
            return 0;
        }
        if let Some(&i) = self.index.get(v) {
            return i;
        }
        self.strings.push(v.as_bytes().to_vec());
        let i = self.strings.len() as i64 - 1;
        self.index.insert(v.clone(), i);
        i
    }

    /// Like `index`, but never 0: the field is set even when the text is empty.
    fn index_set(&mut self, v: &Str) -> i64 {
        if !v.is_empty() {
            return self.index(v);
        }
        if let Some(i) = self.empty_set {
            return i;
        }
        self.strings.push(Vec::new());
        let i = self.strings.len() as i64 - 1;
        self.empty_set = Some(i);
        i
    }
}

/// Maps ids to dense indices, rejecting id 0 and duplicates.
struct IdIndex {
    dense: Vec<u32>, // id -> index + 1 (0 = absent), used when ids are small
    sparse: HashMap<u64, u32>,
}

impl IdIndex {
    fn new(
        what: &'static str,
        ids: impl ExactSizeIterator<Item = u64>,
    ) -> Result<Self, ProfileError> {
        let n = ids.len();
        let mut ix = IdIndex {
            dense: vec![0; n + 1],
            sparse: HashMap::new(),
        };
        for (i, id) in ids.enumerate() {
            if id == 0 {
                return Err(ProfileError::ZeroId { what });
            }
            let dup = if id <= n as u64 {
                std::mem::replace(&mut ix.dense[id as usize], i as u32 + 1) != 0
            } else {
                ix.sparse.insert(id, i as u32).is_some()
            };
            if dup {
                return Err(ProfileError::DuplicateId { what, id });
            }
        }
        Ok(ix)
    }

    fn get(&self, id: u64) -> Option<u32> {
        if id < self.dense.len() as u64 {
            match self.dense[id as usize] {
                0 => None,
                v => Some(v - 1),
            }
        } else {
            self.sparse.get(&id).copied()
        }
    }
}
