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
    /// Malformed legacy text heap profile (`?debug=1`): the line and what
    /// is wrong.
    #[error("legacy heap profile (?debug=1 text), {0}")]
    HeapText(String),
    /// Malformed goroutine text (`?debug=1` counts, or a `?debug=2` /
    /// crash / SIGQUIT dump): the line and what is wrong.
    #[error("goroutine text (?debug=1 or a dump), {0}")]
    GoroutineText(String),
    /// A legacy text profile (`?debug=1`) other than heap text, which
    /// heapframe does not read yet.
    #[error(
        "this is a legacy text profile (?debug=1 output) other than heap or goroutine text, \
         which heapframe does not read yet; fetch the endpoint without ?debug to get profile.proto"
    )]
    LegacyText,
    /// A profile in a bundle folder of another kind (a CPU profile in
    /// `heap/`).
    #[error(
        "not a {folder} profile (its sample types: {sample_types}); {folder}/ holds snapshots of \
         /debug/pprof/{folder}"
    )]
    WrongKind {
        /// The folder: `heap`, `allocs`, `goroutine`, `goroutineleak`.
        folder: &'static str,
        /// The profile's sample types, `name/unit, ...`.
        sample_types: String,
    },
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

/// What went wrong talking to a live source: a service's `/debug/pprof`,
/// `/metrics` or `/debug/vars` endpoint, or a Prometheus server.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The address is of a class the [`crate::address::AddressPolicy`]
    /// refuses (public, link-local, cloud metadata). Nothing was sent to
    /// it. The message says which switch would allow it.
    #[error("refused: {0}")]
    NotInternal(String),
    /// The URL cannot be used.
    #[error("invalid URL: {0}")]
    BadUrl(String),
    /// No connection could be made.
    #[error("cannot connect: {0} (is the service running, and is this its address?)")]
    Connect(String),
    /// The server did not answer completely within the timeout.
    #[error(
        "no complete answer within {secs:.1} s (raise the timeout if the service is just slow)"
    )]
    Timeout {
        /// The timeout in seconds.
        secs: f64,
    },
    /// The server answered with a status other than 200.
    #[error("HTTP {status}{}{hint}: {body:?}", content_type_note(.content_type))]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The `Content-Type` header (empty when absent).
        content_type: String,
        /// The start of the body.
        body: String,
        /// What to try.
        hint: String,
    },
    /// The answer is larger than the configured limit.
    #[error(
        "the answer exceeds the limit of {limit} bytes (raise FetchOptions::max_bytes / --max-bytes if it is genuine)"
    )]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The server answered 200, but not with what was asked for.
    #[error("answered HTTP 200 but not with {expected}{}: {reason}; the body starts with {start:?}", content_type_note(.content_type))]
    Unexpected {
        /// What was expected: "a pprof profile", "Prometheus text", ...
        expected: &'static str,
        /// The `Content-Type` header (empty when absent).
        content_type: String,
        /// Why the body was rejected.
        reason: String,
        /// The first bytes of the body, printable.
        start: String,
    },
    /// The connection broke while reading, or another transport error.
    #[error("transfer failed: {0}")]
    Transport(String),
}

fn content_type_note(content_type: &str) -> String {
    if content_type.is_empty() {
        String::new()
    } else {
        format!(" ({content_type})")
    }
}

impl FetchError {
    /// True when trying again later may succeed (connection refused, a
    /// timeout, a 5xx or 429 answer, a body cut short); false for answers
    /// that will not change by themselves (404, 401, an HTML login page).
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Connect(_) | FetchError::Timeout { .. } | FetchError::Transport(_) => true,
            FetchError::Status { status, .. } => *status >= 500 || *status == 429,
            FetchError::Unexpected { reason, .. } => reason.starts_with("truncated"),
            FetchError::NotInternal(_) | FetchError::BadUrl(_) | FetchError::TooLarge { .. } => {
                false
            }
        }
    }
}

/// Why a file a bundle names was not read (see [`crate::files::read_regular`]).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be opened or read.
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    /// A FIFO, a device, a socket or a folder where a file was expected.
    #[error(
        "not a regular file ({kind}): a bundle holds only regular files, so nothing waits \
         on a pipe or reads a device without end"
    )]
    NotRegular {
        /// What it is instead: `a FIFO`, `a character device`, ...
        kind: &'static str,
    },
    /// Larger than the limit for its kind of file.
    #[error(
        "larger than the limit of {limit} bytes for {what} (see \"Limits\" in the README); \
         the file is not read"
    )]
    TooLarge {
        /// The kind of file: `a manifest`, `a metrics scrape`, ...
        what: &'static str,
        /// The limit in bytes.
        limit: u64,
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
    /// A file a bundle names was refused before its contents were read:
    /// not a regular file, too large, or unreadable.
    File {
        /// The file.
        path: String,
        /// Why.
        error: FileError,
    },
    /// `manifest.json` is not a manifest.
    Manifest {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A line of Prometheus text format (`metrics/*.prom`, `/metrics`) is
    /// not valid.
    PrometheusText {
        /// The file or URL.
        source: String,
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A Parquet dataset (`heapframe export`) cannot be read or written.
    Dataset {
        /// The file or folder.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A record of a metrics table (`metrics/*.csv`) is not valid.
    MetricsTable {
        /// The file.
        source: String,
        /// The line the record starts on, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A `GODEBUG=gctrace=1` log cannot be read or placed in time.
    GcTrace {
        /// The file.
        source: String,
        /// The line, from 1; 0 when the error is about the whole log.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// An expvar page (`/debug/vars`) is not what Go's expvar serves.
    Expvar {
        /// The file or URL.
        source: String,
        /// What is wrong.
        reason: String,
    },
    /// An answer of the Prometheus HTTP API cannot be used.
    PrometheusApi {
        /// The URL asked.
        source: String,
        /// What is wrong.
        reason: String,
    },
    /// An option is invalid (bad regular expression, unknown sample index...).
    Option(String),
    /// Two profiles cannot be compared or merged.
    Incompatible(String),
    /// Writing output failed.
    Output(String),
    /// A live source could not be read; `url` names it.
    Fetch {
        /// The URL asked, as [`crate::address::TargetUrl`] shows it:
        /// credentials and secret query values replaced by `***`.
        url: String,
        /// What went wrong.
        error: FetchError,
    },
}

impl Error {
    /// An error about the live source at `url` (shown without its secrets).
    pub fn fetch(url: &crate::address::TargetUrl, error: FetchError) -> Self {
        Error::Fetch {
            url: url.to_string(),
            error,
        }
    }

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
            Error::File { path, error } => write!(f, "{path}: {error}"),
            Error::Manifest { path, reason } => write!(f, "{path}: invalid manifest: {reason}"),
            Error::Dataset { path, reason } => write!(f, "{path}: dataset: {reason}"),
            Error::PrometheusText {
                source,
                line,
                reason,
            } => write!(
                f,
                "{source}: line {line}: invalid Prometheus text: {reason}"
            ),
            Error::MetricsTable {
                source,
                line,
                reason,
            } => write!(f, "{source}: line {line}: invalid metrics table: {reason}"),
            Error::GcTrace {
                source,
                line,
                reason,
            } if *line > 0 => write!(f, "{source}: line {line}: {reason}"),
            Error::GcTrace { source, reason, .. } => write!(f, "{source}: {reason}"),
            Error::Expvar { source, reason } => {
                write!(f, "{source}: invalid expvar page: {reason}")
            }
            Error::PrometheusApi { source, reason } => {
                write!(f, "{source}: Prometheus API answer: {reason}")
            }
            Error::Option(m) | Error::Incompatible(m) | Error::Output(m) => f.write_str(m),
            Error::Fetch { url, error } => write!(f, "{url}: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Profile { error, .. } => Some(error),
            Error::File { error, .. } => Some(error),
            Error::Fetch { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
