//! Errors. Every error that concerns an input names that input.

use std::fmt;

/// What is wrong with a profile's bytes or contents.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The input could not be read.
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    /// The input has no bytes.
    #[error("empty input: a profile has at least one byte")]
    Empty,
    /// The input starts like gzip but does not decompress.
    #[error("corrupt gzip data: {0}")]
    Gzip(String),
    /// The decompressed profile is larger than the configured bound.
    #[error(
        "decompressed size exceeds the limit of {limit} bytes (a gzip bomb, or a profile far larger \
         than any real one; raise ReadOptions::max_decompressed_bytes if it is genuine)"
    )]
    TooLarge {
        /// The bound in bytes.
        limit: u64,
    },
    /// The bytes are not a profile.proto message (truncated or corrupted).
    #[error("not a valid profile.proto message: {0}")]
    Decode(String),
    /// Several profiles were concatenated into one file.
    #[error(
        "concatenated profiles detected (time_nanos is set more than once); save each profile to its own file"
    )]
    Concatenated,
    /// A legacy text profile (`?debug=1`), which names no functions.
    #[error(
        "this is a legacy text profile (?debug=1 output), which carries no function names; \
         fetch the endpoint without ?debug to get profile.proto"
    )]
    LegacyText,
    /// The string table does not start with the empty string.
    #[error("string_table[0] must be the empty string, found {0:?}")]
    StringTableStart(String),
    /// A string index is outside the string table.
    #[error("{field} refers to string {index}, but the string table has {len} entries")]
    StringIndex {
        /// Which field holds the bad index.
        field: String,
        /// The bad index.
        index: i64,
        /// Size of the string table.
        len: usize,
    },
    /// No sample types: the values of samples mean nothing.
    #[error("profile declares no sample types")]
    NoSampleTypes,
    /// A sample has a different number of values than there are sample types.
    #[error("sample {sample} has {got} values, but the profile declares {want} sample types")]
    ValueCount {
        /// Index of the sample.
        sample: usize,
        /// Number of values found.
        got: usize,
        /// Number of sample types.
        want: usize,
    },
    /// A mapping, location or function has id 0, which is reserved.
    #[error("found a {what} with the reserved id 0")]
    ZeroId {
        /// `mapping`, `location` or `function`.
        what: &'static str,
    },
    /// Two entries of one table share an id.
    #[error("two {what}s have the same id {id}")]
    DuplicateId {
        /// `mapping`, `location` or `function`.
        what: &'static str,
        /// The duplicated id.
        id: u64,
    },
    /// A sample refers to a location that does not exist.
    #[error("sample {sample} refers to location id {id}, which does not exist")]
    DanglingLocation {
        /// Index of the sample.
        sample: usize,
        /// The missing location id.
        id: u64,
    },
    /// A location line refers to a function that does not exist.
    #[error("location {location} refers to function id {id}, which does not exist")]
    DanglingFunction {
        /// Id of the location.
        location: u64,
        /// The missing function id.
        id: u64,
    },
    /// A location refers to a mapping that does not exist.
    #[error("location {location} refers to mapping id {id}, which does not exist")]
    DanglingMapping {
        /// Id of the location.
        location: u64,
        /// The missing mapping id.
        id: u64,
    },
}

/// heapframe's error type.
#[derive(Debug)]
pub enum Error {
    /// A profile could not be read; `source` names the file (or input).
    Profile {
        /// The file name, URL or label of the input.
        source: String,
        /// What is wrong.
        error: ProfileError,
    },
    /// An option is invalid (bad regular expression, unknown sample index...).
    Option(String),
    /// Two profiles cannot be compared or merged.
    Incompatible(String),
    /// Writing output failed.
    Output(String),
}

impl Error {
    /// An error about the input named `source`.
    pub fn profile(source: impl Into<String>, error: ProfileError) -> Self {
        Error::Profile {
            source: source.into(),
            error,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Profile { source, error } => write!(f, "{source}: {error}"),
            Error::Option(m) | Error::Incompatible(m) | Error::Output(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Profile { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
