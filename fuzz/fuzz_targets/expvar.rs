//! Any bytes as a Go expvar page: an error that names the page, or samples
//! with every property of `common::check_samples`.
#![no_main]

mod common;

use heapframe::evidence::metrics::parse_expvar;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_expvar(text, 1_700_000_000_000, "fuzz/debug/vars") {
        Ok(samples) => common::check_samples(&samples),
        Err(e) => common::check_error(&e, "fuzz/debug/vars: invalid expvar page: "),
    }
});
