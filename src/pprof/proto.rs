//! profile.proto as hand-written prost messages.
//!
//! Field numbers follow `perftools.profiles` (google/pprof `proto/profile.proto`).
//! Every field of the format is declared, so nothing a profile carries is lost
//! on decode and [`prost::Message::encode`] writes it back. String fields of the
//! format are indices into `string_table`; the table itself is declared as
//! `bytes` so that a profile with non-UTF-8 symbol names still decodes (the
//! model layer turns them into text, replacing invalid sequences).

/// The top-level message of a pprof profile.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Profile {
    /// What each value of a sample measures (e.g. `inuse_space`/`bytes`).
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    /// The samples: a stack and one value per sample type.
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    /// Memory mappings; `mapping[0]` is the main binary.
    #[prost(message, repeated, tag = "3")]
    pub mapping: Vec<Mapping>,
    /// Program locations referred to by samples.
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    /// Functions referred to by location lines.
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    /// All strings of the profile; entry 0 must be empty.
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_table: Vec<Vec<u8>>,
    /// Regexp (string index) of frames to drop, applied by pprof on load.
    #[prost(int64, tag = "7")]
    pub drop_frames: i64,
    /// Regexp (string index) of frames to keep despite `drop_frames`.
    #[prost(int64, tag = "8")]
    pub keep_frames: i64,
    /// Collection time, nanoseconds since the Unix epoch.
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    /// Collection duration in nanoseconds.
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    /// The kind of events between sampled occurrences.
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    /// Events between sampled occurrences.
    #[prost(int64, tag = "12")]
    pub period: i64,
    /// Free-form comments (string indices).
    #[prost(int64, repeated, tag = "13")]
    pub comment: Vec<i64>,
    /// Index of the preferred sample type (string index of its type name).
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
    /// Documentation URL (string index).
    #[prost(int64, tag = "15")]
    pub doc_url: i64,
}

/// A measured quantity: type and unit, both string indices.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueType {
    /// Name of the quantity, e.g. `inuse_space` (string index).
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    /// Its unit, e.g. `bytes` (string index).
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// One sample: a call stack (leaf first), its values and labels.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The call stack, leaf first (location ids).
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    /// One value per sample type, in the order of `sample_type`.
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    /// Labels of the sample.
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

/// A sample label: a string (`str`) or a number (`num`, `num_unit`).
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct Label {
    /// Label name (string index).
    #[prost(int64, tag = "1")]
    pub key: i64,
    /// String value (string index), 0 for a numeric label.
    #[prost(int64, tag = "2")]
    pub str: i64,
    /// Numeric value, for a numeric label.
    #[prost(int64, tag = "3")]
    pub num: i64,
    /// Unit of `num` (string index), 0 when none.
    #[prost(int64, tag = "4")]
    pub num_unit: i64,
}

/// A memory mapping of the profiled process.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Mapping {
    /// Unique non-zero id.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Start address of the mapping.
    #[prost(uint64, tag = "2")]
    pub memory_start: u64,
    /// End address (exclusive).
    #[prost(uint64, tag = "3")]
    pub memory_limit: u64,
    /// Offset in the mapped file.
    #[prost(uint64, tag = "4")]
    pub file_offset: u64,
    /// The mapped file (string index).
    #[prost(int64, tag = "5")]
    pub filename: i64,
    /// Its build id (string index).
    #[prost(int64, tag = "6")]
    pub build_id: i64,
    /// Whether its locations have function names.
    #[prost(bool, tag = "7")]
    pub has_functions: bool,
    /// Whether its locations have file names.
    #[prost(bool, tag = "8")]
    pub has_filenames: bool,
    /// Whether its locations have line numbers.
    #[prost(bool, tag = "9")]
    pub has_line_numbers: bool,
    /// Whether its locations have inlined frames.
    #[prost(bool, tag = "10")]
    pub has_inline_frames: bool,
}

/// A program location; several lines mean inlined calls (last = caller).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Location {
    /// Unique non-zero id.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// The mapping it is in (0: none).
    #[prost(uint64, tag = "2")]
    pub mapping_id: u64,
    /// Instruction address.
    #[prost(uint64, tag = "3")]
    pub address: u64,
    /// Source lines: several mean inlined calls, the last is the caller.
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
    /// Whether several functions were folded into this location by the linker.
    #[prost(bool, tag = "5")]
    pub is_folded: bool,
}

/// A source line of a location.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Line {
    /// The function (a `Function` id).
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    /// Line number (0: unknown).
    #[prost(int64, tag = "2")]
    pub line: i64,
    /// Column number (0: unknown).
    #[prost(int64, tag = "3")]
    pub column: i64,
}

/// A function: names, source file and first line.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Function {
    /// Unique non-zero id.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Human-readable name (string index).
    #[prost(int64, tag = "2")]
    pub name: i64,
    /// Name as the system knows it, e.g. mangled (string index).
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    /// Source file (string index).
    #[prost(int64, tag = "4")]
    pub filename: i64,
    /// Line where the function starts (0: unknown).
    #[prost(int64, tag = "5")]
    pub start_line: i64,
}
