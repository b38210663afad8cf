//! Any bytes as a `GODEBUG=gctrace=1` log: an error that names the log, or
//! cycles whose figures are sane; placed in time from any start, their
//! samples keep every property of `common::check_samples`.
#![no_main]

mod common;

use heapframe::evidence::gctrace::{Anchor, read_gctrace};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let trace = match read_gctrace(data, "fuzz/gctrace.log") {
        Ok(t) => t,
        Err(e) => return common::check_error(&e, "fuzz/gctrace.log: "),
    };
    assert!(!trace.cycles.is_empty());
    for c in &trace.cycles {
        assert!(c.began_ms.is_finite() && c.began_ms >= 0.0, "{c:?}");
        assert!(c.clock_ms.is_finite() && c.clock_ms >= 0.0, "{c:?}");
        assert!(c.line >= 1, "{c:?}");
    }
    let n = trace.cycles.len();
    for anchor in [
        Anchor::None,
        Anchor::Start(1_700_000_000_000),
        Anchor::LastGc {
            number: trace.cycles[n - 1].number,
            at_ms: 1_700_000_000_000,
        },
    ] {
        match trace.samples(anchor) {
            Ok((samples, _notes)) => common::check_samples(&samples),
            Err(e) => common::check_error(&e, "fuzz/gctrace.log: "),
        }
    }
});
