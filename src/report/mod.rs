//! Analysis of one profile (or a comparison of two) that `go tool pprof`
//! also computes, with the same numbers and, for text, the same bytes.
//!
//! - [`top`](top::top): flat/cum table ([`TopReport`]), as text or a DataFrame;
//! - [`compare`]: `-base`, `-diff_base`, `-normalize`;
//! - [`filter`]: `focus`, `ignore`, `hide`, `show`, `drop_frames`;
//! - [`units`]: unit scaling and pprof's number formatting.

pub mod compare;
pub mod filter;
pub mod top;
pub mod units;

pub use compare::{BaseMode, subtract};
pub use top::{
    Granularity, InlineTag, TopOptions, TopReport, TopRow, top, top_bytes, top_bytes_direct,
};

/// Formats nanoseconds since the epoch as pprof's `Time:` header does
/// (`2006-01-02 15:04:05 MST`), in UTC.
pub fn format_time_utc(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// `HH:MM:SS` (UTC) of a time in Unix milliseconds.
pub(crate) fn clock_utc(ms: i64) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_header() {
        assert_eq!(super::format_time_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            super::format_time_utc(1_487_351_731_000_000_000),
            "2017-02-17 17:15:31 UTC"
        );
        assert_eq!(super::format_time_utc(-1), "1969-12-31 23:59:59 UTC");
    }
}
