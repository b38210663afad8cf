//! Any bytes as a metrics table: an error that names the file and the
//! line, or samples with every property of `common::check_samples` (what
//! is read is written back and read again unchanged).
#![no_main]

mod common;

use heapframe::evidence::metrics::parse_csv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_csv(text, "fuzz/metrics/1.csv") {
        Ok(samples) => common::check_samples(&samples),
        Err(e) => {
            common::check_error(&e, "fuzz/metrics/1.csv: line ");
            assert!(e.to_string().contains(": invalid metrics table: "), "{e}");
        }
    }
});
