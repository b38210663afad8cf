//! Allocation kinds: what sort of memory a heap sample is.
//!
//! Go heap profiles name no types, and Go hides the runtime's own frames
//! (`runtime.mapassign`, `runtime.growslice`, ...) from the top of each stack,
//! so the kind is read from the innermost frames that remain and from the
//! object size (Go's `bytes` label). The rules are data: a [`Classifier`] is
//! an ordered list of [`KindRule`]s, the first rule that matches wins, and a
//! sample no rule matches is `other`. A notebook can print the rules as a
//! table, edit them, and build a classifier from the edited table.
//!
//! ```
//! use heapframe::growth::classify::Classifier;
//! let c = Classifier::go_default();
//! assert_eq!(c.classify(&["bytes.Clone", "encoding/json.Marshal"], Some(1024)), "encoding output");
//! assert_eq!(c.classify(&["bufio.NewReaderSize", "net/http.newBufioReader"], Some(4096)), "bufio buffers");
//! assert_eq!(c.classify(&["main.(*cache).Put"], Some(49152)), "arrays (slice/map backing)");
//! assert_eq!(c.classify(&["main.newEvent"], Some(48)), "objects");
//! ```

use regex::Regex;

use crate::error::{Error, Result};

/// One rule: samples whose innermost `within` frames include a function
/// matching `pattern`, and whose object size is within bounds, are `kind`.
#[derive(Debug, Clone)]
pub struct KindRule {
    /// The kind this rule assigns.
    pub kind: String,
    /// Matched against function names (unanchored; anchor with `^`).
    pub pattern: Regex,
    /// How many frames from the leaf to look at (1 = the leaf only).
    pub within: usize,
    /// Smallest object size in bytes (inclusive), when set.
    pub min_size: Option<i64>,
    /// Largest object size in bytes (inclusive), when set.
    pub max_size: Option<i64>,
}

impl KindRule {
    /// A rule; `pattern` is a regular expression.
    pub fn new(kind: &str, pattern: &str, within: usize) -> Result<KindRule> {
        Ok(KindRule {
            kind: kind.to_string(),
            pattern: Regex::new(pattern).map_err(|e| {
                Error::Option(format!(
                    "kind rule {kind:?}: invalid pattern {pattern:?}: {e}"
                ))
            })?,
            within: within.max(1),
            min_size: None,
            max_size: None,
        })
    }

    /// The same rule limited to object sizes in `min..=max`.
    pub fn sizes(mut self, min: Option<i64>, max: Option<i64>) -> KindRule {
        self.min_size = min;
        self.max_size = max;
        self
    }

    fn size_fits(&self, size: Option<i64>) -> bool {
        if let Some(min) = self.min_size
            && size.is_none_or(|s| s < min)
        {
            return false;
        }
        if let Some(max) = self.max_size
            && size.is_none_or(|s| s > max)
        {
            return false;
        }
        true
    }

    fn matches(&self, frames: &[&str], size: Option<i64>) -> bool {
        if !self.size_fits(size) {
            return false;
        }
        frames
            .iter()
            .take(self.within)
            .any(|f| self.pattern.is_match(f))
    }
}

/// Ordered kind rules; the first match wins, `other` when none does.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// The rules, in the order they are tried.
    pub rules: Vec<KindRule>,
}

/// The kind of a sample no rule matches.
pub const OTHER: &str = "other";

/// Functions of code outside the standard library: `main.*`, or a module
/// path whose first element has a dot (`github.com/...`).
pub const USER_CODE: &str = r"^(main\.|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+/)";

impl Classifier {
    /// Rules for Go heap profiles (see the module docs).
    pub fn go_default() -> Classifier {
        let r = |k: &str, p: &str, w: usize| KindRule::new(k, p, w).expect("built-in rule");
        Classifier {
            rules: vec![
                r(
                    "goroutine stacks",
                    r"^runtime\.(malg|newproc1?|allocm|newm)$",
                    3,
                ),
                r("profiler", r"^runtime/pprof\.", 4),
                r(
                    "encoding output",
                    r"^(encoding/(json|gob|xml|csv|binary)|google\.golang\.org/protobuf|github\.com/golang/protobuf)",
                    3,
                ),
                r("bufio buffers", r"^bufio\.", 2),
                r("bytes.Buffer", r"^bytes\.(\(\*Buffer\)|growSlice)", 2),
                r("channels", r"^runtime\.(makechan|chansend|chanrecv)", 2),
                r(
                    "maps",
                    r"^(runtime\.(makemap|mapassign|growWork|evacuate)|internal/runtime/maps\.)",
                    2,
                ),
                r("slices", r"^runtime\.(growslice|makeslice)", 2),
                r(
                    "strings",
                    r"^(strings\.|fmt\.(Sprint|Sprintf|Sprintln|Errorf)$|strconv\.|internal/bytealg\.MakeNoZero$|runtime\.(concatstring|rawstring|slicebytetostring))",
                    2,
                ),
                r("byte slices", r"^bytes\.", 1),
                r(
                    "network buffers",
                    r"^(net|net/http|net/textproto|net/url|crypto/tls)\.",
                    1,
                ),
                r("arrays (slice/map backing)", USER_CODE, 1).sizes(Some(1025), None),
                r("objects", USER_CODE, 1).sizes(None, Some(1024)),
            ],
        }
    }

    /// The frames rules look at: the largest `within` of the rules.
    pub(crate) fn depth(&self) -> usize {
        self.rules.iter().map(|r| r.within).max().unwrap_or(0)
    }

    /// Which rules' patterns match `name`, one bit per rule (rule `i` is
    /// bit `i`); `None` with more than 64 rules.
    pub(crate) fn name_mask(&self, name: &str) -> Option<u64> {
        if self.rules.len() > 64 {
            return None;
        }
        Some(
            self.rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.pattern.is_match(name))
                .fold(0, |m, (i, _)| m | 1 << i),
        )
    }

    /// The index of the rule [`Classifier::classify`] picks, from the
    /// [`Classifier::name_mask`] of each frame (leaf first); `None`:
    /// `other`.
    pub(crate) fn classify_masks(&self, masks: &[u64], size: Option<i64>) -> Option<usize> {
        self.rules.iter().enumerate().position(|(i, r)| {
            r.size_fits(size) && masks.iter().take(r.within).any(|m| m & (1 << i) != 0)
        })
    }

    /// The kind of a sample given its function names (leaf first) and
    /// object size.
    pub fn classify(&self, frames: &[&str], size: Option<i64>) -> &str {
        self.rules
            .iter()
            .find(|r| r.matches(frames, size))
            .map_or(OTHER, |r| r.kind.as_str())
    }

    /// The rules as a table: `kind`, `pattern`, `within`, `min_size`, `max_size`.
    #[cfg(feature = "tables")]
    pub fn to_dataframe(&self) -> Result<polars::prelude::DataFrame> {
        use polars::prelude::*;
        let n = self.rules.len();
        DataFrame::new(
            n,
            vec![
                Column::new(
                    "kind".into(),
                    self.rules
                        .iter()
                        .map(|r| r.kind.as_str())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "pattern".into(),
                    self.rules
                        .iter()
                        .map(|r| r.pattern.as_str())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "within".into(),
                    self.rules
                        .iter()
                        .map(|r| r.within as u32)
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "min_size".into(),
                    self.rules.iter().map(|r| r.min_size).collect::<Vec<_>>(),
                ),
                Column::new(
                    "max_size".into(),
                    self.rules.iter().map(|r| r.max_size).collect::<Vec<_>>(),
                ),
            ],
        )
        .map_err(|e| Error::Output(format!("building the rules table failed: {e}")))
    }

    /// A classifier from a rules table (as [`Classifier::to_dataframe`] writes it).
    #[cfg(feature = "tables")]
    pub fn from_dataframe(df: &polars::prelude::DataFrame) -> Result<Classifier> {
        use polars::prelude::*;
        let err = |e: PolarsError| Error::Option(format!("kind rules table: {e}"));
        let kind = df.column("kind").map_err(err)?.str().map_err(err)?;
        let pattern = df.column("pattern").map_err(err)?.str().map_err(err)?;
        let within = df
            .column("within")
            .map_err(err)?
            .cast(&DataType::UInt32)
            .map_err(err)?;
        let within = within.u32().map_err(err)?;
        let opt_i64 = |name: &str| -> Result<Vec<Option<i64>>> {
            match df.column(name) {
                Ok(c) => Ok(c
                    .cast(&DataType::Int64)
                    .map_err(err)?
                    .i64()
                    .map_err(err)?
                    .iter()
                    .collect()),
                Err(_) => Ok(vec![None; df.height()]),
            }
        };
        let (mins, maxs) = (opt_i64("min_size")?, opt_i64("max_size")?);
        let mut rules = Vec::with_capacity(df.height());
        for i in 0..df.height() {
            let k = kind
                .get(i)
                .ok_or_else(|| Error::Option(format!("kind rules table: row {i} has no kind")))?;
            let p = pattern.get(i).ok_or_else(|| {
                Error::Option(format!("kind rules table: row {i} has no pattern"))
            })?;
            rules.push(
                KindRule::new(k, p, within.get(i).unwrap_or(1) as usize)?.sizes(mins[i], maxs[i]),
            );
        }
        Ok(Classifier { rules })
    }
}

/// Go's size classes, as labels: the smallest class that holds `size`
/// (`8B`, `16B`, ... `32kB`), or `>32kB` for large objects.
pub fn size_class(size: Option<i64>) -> String {
    const CLASSES: [i64; 68] = [
        8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
        352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
        2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472,
        9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264,
        28672, 32768, 32768,
    ];
    let Some(s) = size else {
        return "unknown".to_string();
    };
    match CLASSES.iter().find(|&&c| s <= c) {
        Some(&c) if c < 1024 => format!("{c}B"),
        Some(&c) if c % 1024 == 0 => format!("{}kB", c / 1024),
        Some(&c) => format!("{:.1}kB", c as f64 / 1024.0),
        None => ">32kB".to_string(),
    }
}

#[cfg(feature = "tables")]
impl Classifier {
    /// Adds the `kind` column (this classifier's kind of every sample) to
    /// the `samples` table of `tables`, from each sample's stack and object
    /// size.
    ///
    /// ```
    /// use heapframe::{Profile, tables::Tables, growth::classify::Classifier};
    /// let p = Profile::from_path("tests/data/conformance/profiles/svc.heap.2.pb.gz").unwrap();
    /// let mut t = Tables::from_profile(&p).unwrap();
    /// Classifier::go_default().add_kind_column(&mut t).unwrap();
    /// assert!(t.samples.column("kind").is_ok());
    /// ```
    pub fn add_kind_column(&self, tables: &mut crate::tables::Tables) -> Result<()> {
        use polars::prelude::*;
        use std::collections::HashMap;
        let err = |e: PolarsError| Error::Output(format!("adding the kind column failed: {e}"));
        let samples = &tables.samples;
        let ids = samples
            .column("stack_id")
            .map_err(err)?
            .u32()
            .map_err(err)?;
        let sizes = samples
            .column("object_size")
            .map_err(err)?
            .i64()
            .map_err(err)?;
        // One classification per distinct stack and size.
        let mut memo: HashMap<(u32, Option<i64>), &str> = HashMap::new();
        let kinds: Vec<&str> = ids
            .iter()
            .zip(sizes.iter())
            .map(|(id, size)| {
                let id = id.unwrap_or(crate::tables::EMPTY_STACK);
                *memo
                    .entry((id, size))
                    .or_insert_with(|| self.classify(&tables.stack_functions(id), size))
            })
            .collect();
        let column = Column::new("kind".into(), kinds);
        if tables.samples.column("kind").is_ok() {
            tables.samples.drop_in_place("kind").map_err(err)?;
        }
        tables.samples.with_column(column).map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bit-mask path growth uses picks the rule `classify` picks, for
    /// every stack of up to four frames of names each rule matches and
    /// names none does, at sizes on both sides of every bound.
    #[test]
    fn masks_classify_as_the_patterns_do() {
        let c = Classifier::go_default();
        let names = [
            "runtime.malg",
            "runtime/pprof.writeHeap",
            "encoding/json.Marshal",
            "bufio.NewReaderSize",
            "bytes.(*Buffer).grow",
            "runtime.makechan",
            "internal/runtime/maps.newarray",
            "runtime.growslice",
            "fmt.Sprintf",
            "bytes.Clone",
            "net/http.(*conn).serve",
            "main.(*cache).Put",
            "github.com/acme/svc.Handle",
            "sync.(*Pool).Get",
        ];
        let sizes = [None, Some(8), Some(1024), Some(1025), Some(1 << 20)];
        let mask: Vec<u64> = names.iter().map(|n| c.name_mask(n).unwrap()).collect();
        // Every stack of one to four of these frames (14^4 + ... stacks).
        let n = names.len();
        for depth in 1..=4u32 {
            for code in 0..n.pow(depth) {
                let picks: Vec<usize> = (0..depth).map(|d| code / n.pow(d) % n).collect();
                let frames: Vec<&str> = picks.iter().map(|&i| names[i]).collect();
                let masks: Vec<u64> = picks.iter().take(c.depth()).map(|&i| mask[i]).collect();
                for size in sizes {
                    let by_mask = c
                        .classify_masks(&masks, size)
                        .map_or(OTHER, |i| c.rules[i].kind.as_str());
                    assert_eq!(by_mask, c.classify(&frames, size), "{frames:?} {size:?}");
                }
            }
        }
        // More rules than bits: no masks, the patterns decide.
        let many = Classifier {
            rules: (0..65)
                .map(|i| KindRule::new(&format!("k{i}"), "^x", 1).unwrap())
                .collect(),
        };
        assert_eq!(many.name_mask("x"), None);
    }
}
