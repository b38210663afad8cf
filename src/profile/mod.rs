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

mod decode;
mod encode;
pub mod goroutine_text;
mod legacy;
mod samples;
mod stacks;

use std::io::Read;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, ProfileError, Result};
use crate::pprof::{self, ReadOptions, proto};
use decode::{SampleInput, Stop};

/// Shared, immutable text (cheap to clone).
pub type Str = Arc<str>;

pub use samples::{Samples, SamplesIter};
pub(crate) use stacks::InputMap;
pub use stacks::{Children, Stack, StackId, StackIter, StackTree, TreeSums};

/// A measured quantity, e.g. `inuse_space` in `bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValueType {
    /// The pprof "type" (`inuse_space`, `alloc_objects`, `cpu`, `goroutine`...).
    pub name: Str,
    /// The unit (`bytes`, `count`, `nanoseconds`...).
    pub unit: Str,
}

impl ValueType {
    /// `v` in this type's unit, scaled to a readable size as pprof does
    /// with `-unit=auto` (`9.57MB`, `1.50s`, `1234`).
    pub fn format(&self, v: i64) -> String {
        crate::units::scaled_label(v, &self.unit, "auto")
    }

    /// [`ValueType::format`] with the sign always written: `+1.20MB`,
    /// `-512kB`, `+0B`.
    pub fn format_signed(&self, v: i64) -> String {
        let sign = if v >= 0 { "+" } else { "-" };
        format!("{sign}{}", self.format(v.saturating_abs()))
    }
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

/// One sample, owned: a stack and one value per sample type. Profiles store
/// samples by column ([`Samples`]); this is the form to build one with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sample {
    /// Indices into [`Profile::locations`], leaf first.
    pub locations: Vec<u32>,
    /// One value per entry of [`Profile::sample_types`].
    pub values: Vec<i64>,
    /// Labels, in file order.
    pub labels: Vec<Label>,
}

/// One sample of a [`Samples`] store, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleRef<'a> {
    /// Its stack: indices into [`Profile::locations`], leaf first.
    pub stack: Stack<'a>,
    /// One value per entry of [`Profile::sample_types`].
    pub values: &'a [i64],
    /// Labels, in file order.
    pub labels: &'a [Label],
}

impl<'a> SampleRef<'a> {
    /// The numeric label `key`, if present (first occurrence).
    pub fn num_label(&self, key: &str) -> Option<i64> {
        self.labels.iter().find_map(|l| match &l.value {
            LabelValue::Num { value, .. } if &*l.key == key => Some(*value),
            _ => None,
        })
    }

    /// The string label `key`, if present (first occurrence).
    pub fn str_label(&self, key: &str) -> Option<&'a Str> {
        self.labels.iter().find_map(|l| match &l.value {
            LabelValue::Str(s) if &*l.key == key => Some(s),
            _ => None,
        })
    }

    /// An owned copy.
    pub fn to_sample(&self) -> Sample {
        Sample {
            locations: self.stack.to_vec(),
            values: self.values.to_vec(),
            labels: self.labels.to_vec(),
        }
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

/// A place in the source code, as a profile names it: a file (a build
/// path such as `/src/app/main.go`, or `module/pkg/file.go` when built
/// with `-trimpath`) and a line (0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodeRef {
    /// The file.
    pub file: String,
    /// The line (0: unknown).
    pub line: i64,
}

impl std::fmt::Display for CodeRef {
    /// `file:line`, or `file` when the line is unknown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file, self.line)
        } else {
            f.write_str(&self.file)
        }
    }
}

impl CodeRef {
    /// The file's last two path elements and the line (`leakysvc/main.go:95`),
    /// for table cells.
    pub fn short(&self) -> String {
        let mut parts = self.file.rsplitn(3, '/');
        let name = parts.next().unwrap_or("");
        let short = match parts.next() {
            Some(dir) => format!("{dir}/{name}"),
            None => name.to_string(),
        };
        CodeRef {
            file: short,
            line: self.line,
        }
        .to_string()
    }
}

/// Links from [`CodeRef`]s to a source browser, from a URL template with
/// `{file}`, `{line}` and `{rev}` (a bundle manifest's `source`,
/// `source_rev` and `source_root`).
///
/// ```
/// use heapframe::profile::{CodeRef, SourceLinks};
/// let l = SourceLinks::new("https://git.example/org/svc/blob/{rev}/{file}#L{line}", "v1.4.2", "leakysvc/")?;
/// let at = |f: &str| CodeRef { file: f.into(), line: 95 };
/// assert_eq!(l.url(&at("leakysvc/main.go")).as_deref(), Some("https://git.example/org/svc/blob/v1.4.2/main.go#L95"));
/// // Files outside the root (the standard library) get no link.
/// assert_eq!(l.url(&at("/usr/local/go/src/bytes/bytes.go")), None);
/// assert!(SourceLinks::new("javascript:alert(1)//{file}", "", "").is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLinks {
    template: String,
    rev: String,
    root: String,
}

impl SourceLinks {
    /// Longest template, revision or root accepted.
    pub const MAX_LEN: usize = 2048;

    /// Links from `template` (an `http://` or `https://` URL naming
    /// `{file}`; `{line}` and `{rev}` optional). Only files under `root`
    /// get links, with `root` removed; with no root, only files named
    /// relative to their module (`-trimpath` builds) do. An error says
    /// what is wrong with the template.
    pub fn new(template: &str, rev: &str, root: &str) -> std::result::Result<SourceLinks, String> {
        for (what, v) in [
            ("source", template),
            ("source_rev", rev),
            ("source_root", root),
        ] {
            if v.len() > Self::MAX_LEN {
                return Err(format!("{what} is longer than {} bytes", Self::MAX_LEN));
            }
            if v.chars().any(|c| c.is_control()) {
                return Err(format!("{what} holds a control character"));
            }
        }
        let lower = template.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return Err(format!(
                "source {template:?} must be an http:// or https:// URL template"
            ));
        }
        if !template.contains("{file}") {
            return Err(format!("source {template:?} must name {{file}}"));
        }
        if template.contains(['"', '<', '>', ' ', '\\']) {
            return Err(format!(
                "source {template:?} holds a character a URL cannot (quote, angle bracket, space, backslash)"
            ));
        }
        Ok(SourceLinks {
            template: template.to_string(),
            rev: rev.to_string(),
            root: root.to_string(),
        })
    }

    /// The link to `code`, or `None` when its file is outside the root
    /// (or, without a root, an absolute path).
    pub fn url(&self, code: &CodeRef) -> Option<String> {
        let rel = if self.root.is_empty() {
            (!code.file.starts_with('/') && !code.file.is_empty()).then_some(code.file.as_str())?
        } else {
            code.file.strip_prefix(&self.root)?
        };
        let rel = rel.trim_start_matches('/');
        if rel.is_empty() || rel.split('/').any(|p| p == "..") {
            return None;
        }
        Some(
            self.template
                .replace("{rev}", &percent(&self.rev, false))
                .replace("{line}", &code.line.max(0).to_string())
                .replace("{file}", &percent(rel, true)),
        )
    }
}

/// `s` with every byte outside the URL-safe set percent-encoded (`/` kept
/// when `keep_slash`).
fn percent(s: &str, keep_slash: bool) -> String {
    crate::escape::percent_encode(s, |_, b| {
        b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/')
    })
}

/// Where each function of `profiles` is defined, by name: its file and
/// first line, from the first profile (and function) that names it with a
/// file.
pub fn code_of_functions_in<'a>(
    profiles: &[&'a Profile],
) -> std::collections::HashMap<&'a str, CodeRef> {
    let mut out = std::collections::HashMap::new();
    for f in profiles.iter().flat_map(|p| &p.functions) {
        if !f.filename.is_empty() {
            out.entry(&*f.name).or_insert_with(|| CodeRef {
                file: f.filename.to_string(),
                line: f.start_line.max(0),
            });
        }
    }
    out
}

/// One frame of a stack: a line of a location, with its function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The location (index into [`Profile::locations`]).
    pub location: u32,
    /// The function.
    pub function: &'a Function,
    /// Line number (0 when unknown).
    pub line: i64,
    /// Column (0 when unknown).
    pub column: i64,
    /// The frame was inlined into the next one of the same location.
    pub inlined: bool,
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
    pub samples: Samples,
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
    /// The `runtime.MemStats` fields a legacy text heap profile ends with
    /// (`("HeapInuse", 5046272)`, in file order); empty for profile.proto,
    /// which has no such trailer (and does not keep it when written).
    pub runtime_stats: Vec<(Str, i64)>,
}

impl Profile {
    /// Where each function is defined, by name: its file and first line
    /// (the first function of a name wins).
    pub fn code_of_functions(&self) -> std::collections::HashMap<&str, CodeRef> {
        code_of_functions_in(&[self])
    }

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
        match Self::from_wire(data, opts) {
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
        match pprof::read_bounded(reader, opts).and_then(|d| Self::from_wire(&d, opts)) {
            Ok(mut p) => {
                p.source = source;
                Ok(p)
            }
            Err(e) => Err(Error::profile(source, e)),
        }
    }

    /// Validates a wire message and resolves its strings and ids.
    pub fn from_proto(m: &proto::Profile) -> Result<Profile, ProfileError> {
        let strings: Vec<&[u8]> = m.string_table.iter().map(|v| &v[..]).collect();
        Self::from_parts(m, &strings, SampleInput::Decoded(&m.sample)).map_err(Stop::into_error)
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

    /// The sum over all samples of sample type `name`'s values (of the
    /// first sample type when the profile has none of that name).
    pub fn total_of(&self, name: &str) -> i64 {
        let i = self
            .sample_types
            .iter()
            .position(|t| &*t.name == name)
            .unwrap_or(0);
        self.samples.iter().map(|x| x.values[i]).sum()
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

    /// The frames of `stack` (a stack of this profile's samples), innermost
    /// first: each location's lines innermost (inlined) first. The one walk
    /// from locations to functions, shared by tables, growth and flame
    /// graphs.
    pub fn frames<'a>(&'a self, stack: Stack<'a>) -> impl Iterator<Item = Frame<'a>> + 'a {
        stack.iter().flat_map(move |l| self.location_frames(l))
    }

    /// The frames of location `l`, innermost (inlined) first.
    pub fn location_frames(&self, l: u32) -> impl DoubleEndedIterator<Item = Frame<'_>> + '_ {
        let lines = &self.locations[l as usize].lines;
        lines.iter().enumerate().map(move |(i, ln)| Frame {
            location: l,
            function: &self.functions[ln.function as usize],
            line: ln.line,
            column: ln.column,
            inlined: i + 1 < lines.len(),
        })
    }

    /// The name of the file this profile describes: `mappings[0]`'s file.
    pub fn main_binary(&self) -> Option<&Mapping> {
        self.mappings.first()
    }
}

/// One profile taken at a known time.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The file it was read from.
    pub path: PathBuf,
    /// Capture time, Unix milliseconds.
    pub time_ms: i64,
    /// The profile.
    pub profile: Profile,
}
