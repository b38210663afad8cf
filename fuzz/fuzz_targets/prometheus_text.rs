//! Any bytes as a Prometheus text scrape: an error that names the scrape
//! and the line, or samples with every property of `common::check_samples`.
#![no_main]

mod common;

use heapframe::evidence::metrics::parse_prometheus;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_prometheus(text, 1_700_000_000_000, "fuzz/1700000000000.prom") {
        Ok(samples) => common::check_samples(&samples),
        Err(e) => {
            common::check_error(&e, "fuzz/1700000000000.prom: line ");
            assert!(e.to_string().contains(": invalid Prometheus text: "), "{e}");
        }
    }
});
