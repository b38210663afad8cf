//! One source of defaults: the library's option types take their defaults
//! from here, and the command line shows and uses the same values.

use std::time::Duration;

/// The request counter that measures load (`--counter`).
pub const REQUEST_COUNTER: &str = "http_requests_total";

/// Time allowed for one HTTP request (`--timeout`).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Further attempts after a transient HTTP failure (`--retries`).
pub const HTTP_RETRIES: u32 = 2;
/// Largest HTTP answer accepted, in bytes (`--max-bytes`).
pub const HTTP_MAX_BYTES: u64 = 256 << 20;

/// Time between heap captures of `collect` (`--every`).
pub const COLLECT_EVERY: Duration = Duration::from_secs(300);
/// Heap captures `collect` takes (`--count`).
pub const COLLECT_COUNT: usize = 12;
/// Time between metric scrapes of `collect` (`--metrics-every`).
pub const METRICS_EVERY: Duration = Duration::from_secs(15);

/// How far back `import-prometheus` starts (`--since`).
pub const IMPORT_SINCE: Duration = Duration::from_secs(6 * 3600);
/// Resolution `import-prometheus` asks for (`--step`).
pub const IMPORT_STEP: Duration = Duration::from_secs(15);

/// The shortest metrics window a leak verdict is given on (`--min-span`).
pub const MIN_SPAN: Duration = Duration::from_secs(30);

/// Where `report` writes its page (`-o`).
pub const REPORT_FILE: &str = "report.html";
/// Rows of a growth table `growth` prints (`--limit`).
pub const GROWTH_ROWS: usize = 15;

/// A duration as the command line writes it: whole hours, minutes or
/// seconds (`6h`, `5m`, `15s`), else milliseconds (`500ms`).
///
/// ```
/// use heapframe::defaults::{duration_text, COLLECT_EVERY, IMPORT_SINCE};
/// assert_eq!(duration_text(COLLECT_EVERY), "5m");
/// assert_eq!(duration_text(IMPORT_SINCE), "6h");
/// assert_eq!(duration_text(std::time::Duration::from_millis(1500)), "1500ms");
/// ```
pub fn duration_text(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    if s != 0 && s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s != 0 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Threads heapframe works on: the machine's cores, or fewer when the
/// environment variable `HEAPFRAME_THREADS` says so (`1` turns parallelism
/// off; a value that is not a positive number is ignored).
pub fn worker_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match std::env::var("HEAPFRAME_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        Some(n) if n > 0 => n.min(cores),
        _ => cores,
    }
}

/// `f` on `parts` consecutive ranges of `0..n` (the `k`th is
/// `k*n/parts..(k+1)*n/parts`), one thread each, or on this thread for one
/// part; results in range order, and a part's panic goes on in the caller.
pub(crate) fn on_ranges<T: Send>(
    n: usize,
    parts: usize,
    f: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let parts = parts.max(1);
    if parts == 1 {
        return vec![f(0..n)];
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..parts)
            .map(|k| scope.spawn(move || f(k * n / parts..(k + 1) * n / parts)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
