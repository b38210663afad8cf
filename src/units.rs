//! pprof's unit handling: scaling values between units and formatting them
//! exactly as `go tool pprof` prints them (`512.02kB`, `1.50MB`, `240.29s`,
//! bare counts, percentages such as ` 0.89%` or `1.3e-06%`).
//!
//! ```
//! use heapframe::units::{scaled_label, percentage};
//! assert_eq!(scaled_label(1_572_864, "bytes", "MB"), "1.50MB");
//! assert_eq!(scaled_label(0, "bytes", "MB"), "0");
//! assert_eq!(percentage(9, 1000), "  0.9%");
//! ```

struct Unit {
    name: &'static str,
    aliases: &'static [&'static str],
    factor: f64,
}

struct UnitType {
    default_name: &'static str,
    default_factor: f64,
    units: &'static [Unit],
}

const UNIT_TYPES: &[UnitType] = &[
    UnitType {
        default_name: "B",
        default_factor: 1.0,
        units: &[
            Unit {
                name: "B",
                aliases: &["b", "byte"],
                factor: 1.0,
            },
            Unit {
                name: "kB",
                aliases: &["kb", "kbyte", "kilobyte"],
                factor: (1u64 << 10) as f64,
            },
            Unit {
                name: "MB",
                aliases: &["mb", "mbyte", "megabyte"],
                factor: (1u64 << 20) as f64,
            },
            Unit {
                name: "GB",
                aliases: &["gb", "gbyte", "gigabyte"],
                factor: (1u64 << 30) as f64,
            },
            Unit {
                name: "TB",
                aliases: &["tb", "tbyte", "terabyte"],
                factor: (1u64 << 40) as f64,
            },
            Unit {
                name: "PB",
                aliases: &["pb", "pbyte", "petabyte"],
                factor: (1u64 << 50) as f64,
            },
        ],
    },
    UnitType {
        default_name: "s",
        default_factor: 1e9,
        units: &[
            Unit {
                name: "ns",
                aliases: &["ns", "nanosecond"],
                factor: 1.0,
            },
            Unit {
                name: "us",
                aliases: &["μs", "us", "microsecond"],
                factor: 1e3,
            },
            Unit {
                name: "ms",
                aliases: &["ms", "millisecond"],
                factor: 1e6,
            },
            Unit {
                name: "s",
                aliases: &["s", "sec", "second"],
                factor: 1e9,
            },
            Unit {
                name: "hrs",
                aliases: &["hour", "hr"],
                factor: 3600e9,
            },
        ],
    },
    UnitType {
        default_name: "GCU",
        default_factor: 1.0,
        units: &[
            Unit {
                name: "n*GCU",
                aliases: &["nanogcu"],
                factor: 1e-9,
            },
            Unit {
                name: "u*GCU",
                aliases: &["microgcu"],
                factor: 1e-6,
            },
            Unit {
                name: "m*GCU",
                aliases: &["milligcu"],
                factor: 1e-3,
            },
            Unit {
                name: "GCU",
                aliases: &["gcu"],
                factor: 1.0,
            },
            Unit {
                name: "k*GCU",
                aliases: &["kilogcu"],
                factor: 1e3,
            },
            Unit {
                name: "M*GCU",
                aliases: &["megagcu"],
                factor: 1e6,
            },
            Unit {
                name: "G*GCU",
                aliases: &["gigagcu"],
                factor: 1e9,
            },
            Unit {
                name: "T*GCU",
                aliases: &["teragcu"],
                factor: 1e12,
            },
            Unit {
                name: "P*GCU",
                aliases: &["petagcu"],
                factor: 1e15,
            },
        ],
    },
];

impl UnitType {
    /// pprof's unit sniffing: lower-cased, one trailing `s` dropped when the
    /// name is longer than two bytes (`bytes` → `byte`, `nanoseconds`).
    fn sniff(&self, unit: &str) -> Option<&Unit> {
        let lower = unit.to_lowercase();
        let u = if lower.len() > 2 {
            lower.strip_suffix('s').unwrap_or(&lower)
        } else {
            &lower
        };
        self.units.iter().find(|x| x.aliases.contains(&u))
    }

    fn auto_scale(&self, value: f64) -> Option<(f64, &'static str)> {
        let mut f = 0.0;
        let mut name = "";
        for u in self.units {
            if u.factor >= f && value / u.factor >= 1.0 {
                f = u.factor;
                name = u.name;
            }
        }
        (f != 0.0).then(|| (value / f, name))
    }

    fn convert(&self, value: i64, from: &str, to: &str) -> Option<(f64, String)> {
        let from = self.sniff(from)?;
        let v = value as f64 * from.factor;
        if to == "minimum" || to == "auto" {
            if let Some((v, u)) = self.auto_scale(v) {
                return Some((v, u.to_string()));
            }
            return Some((v / self.default_factor, self.default_name.to_string()));
        }
        Some(match self.sniff(to) {
            Some(t) => (v / t.factor, t.name.to_string()),
            None => (v / self.default_factor, self.default_name.to_string()),
        })
    }
}

/// Converts `value` from unit `from` to unit `to` (`"minimum"` or `"auto"`
/// choose the largest unit that keeps the value ≥ 1). Returns the value and
/// the canonical unit name, "" for counts.
pub fn scale(value: i64, from: &str, to: &str) -> (f64, String) {
    if value < 0 && value != i64::MIN {
        let (v, u) = scale(-value, from, to);
        return (-v, u);
    }
    for ut in UNIT_TYPES {
        if let Some(r) = ut.convert(value, from, to) {
            return r;
        }
    }
    match to {
        "count" | "sample" | "unit" | "minimum" | "auto" => (value as f64, String::new()),
        _ => (value as f64, to.to_string()),
    }
}

/// Formats `value` (in unit `from`) in unit `to`, two decimals with `.00`
/// dropped, and `0` for anything that rounds to zero.
pub fn scaled_label(value: i64, from: &str, to: &str) -> String {
    let (v, u) = scale(value, from, to);
    let s = format!("{v:.2}");
    let s = s.strip_suffix(".00").unwrap_or(&s);
    if s == "0" || s == "-0" {
        return "0".to_string();
    }
    format!("{s}{u}")
}

/// Formats `value` in the unit that suits it best (`Duration:` header).
pub fn label(value: i64, unit: &str) -> String {
    scaled_label(value, unit, "auto")
}

/// `value` as a percentage of `total`, as pprof prints it: never negative,
/// `  100%` near 100, `%5.2f%%` from 1 up, Go's `%5.2g%%` below.
pub fn percentage(value: i64, total: i64) -> String {
    let ratio = if total != 0 {
        (value as f64 / total as f64).abs() * 100.0
    } else {
        0.0
    };
    if (99.95..=100.05).contains(&ratio) {
        "  100%".to_string()
    } else if ratio >= 1.0 {
        format!("{ratio:5.2}%")
    } else {
        format!("{:>5}%", go_g(ratio, 2))
    }
}

/// Go's `%.{prec}g` for a finite, non-negative `x`: `prec` significant
/// digits, trailing zeros removed, exponent form when the exponent is below
/// -4 or at least the precision.
pub fn go_g(x: f64, prec: usize) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    // Rust's `{:.Ne}` rounds correctly to N+1 significant digits.
    let e = format!("{:.*e}", prec.saturating_sub(1), x);
    let (mant, exp) = e.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("integer exponent");
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let nd = digits.len() as i32;
    let dp = exp + 1; // position of the decimal point relative to the digits
    let mut eprec = prec as i32;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if exp < -4 || exp >= eprec {
        let mut s = digits[..1].to_string();
        if nd > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{s}e{sign}{:02}", exp.abs());
    }
    if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp >= nd {
        format!("{}{}", digits, "0".repeat((dp - nd) as usize))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    }
}

/// Groups an integer's digits by thousands: `1234567` → `1,234,567`.
pub fn thousands(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_pprof() {
        assert_eq!(scaled_label(6 * 1024 * 1024, "bytes", "MB"), "6MB");
        assert_eq!(scaled_label(524_288, "bytes", "MB"), "0.50MB");
        assert_eq!(scaled_label(-87_654, "bytes", "kB"), "-85.60kB");
        assert_eq!(scaled_label(4722, "count", "count"), "4722");
        assert_eq!(scaled_label(1_760_000_000, "nanoseconds", "s"), "1.76s");
        assert_eq!(label(2_000_000_000, "nanoseconds"), "2s");
        assert_eq!(label(501_300_000, "nanoseconds"), "501.30ms");
        assert_eq!(scaled_label(42, "widgets", "widgets"), "42widgets");
    }

    #[test]
    fn percentages_match_go_formatting() {
        assert_eq!(percentage(4722, 4724), "  100%");
        assert_eq!(percentage(4939, 10000), "49.39%");
        assert_eq!(percentage(-392, 10000), " 3.92%");
        assert_eq!(percentage(9, 1000), "  0.9%");
        assert_eq!(percentage(89, 10000), " 0.89%");
        assert_eq!(percentage(16, 100_000), "0.016%");
        assert_eq!(percentage(0, 100), "    0%");
        assert_eq!(percentage(13, 1_000_000_000), "1.3e-06%");
        assert_eq!(percentage(12, 10_000_000), "0.00012%");
        assert_eq!(percentage(997, 100_000), "    1%");
        assert_eq!(percentage(1, 0), "    0%");
    }
}

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

/// A signed rate per minute for people: bytes in pprof's units
/// (`+13.63MB/min`; MB = 2^20 bytes, as pprof prints it), other units as a
/// whole count with separators and the unit's name (`+29,875 objects/min`).
///
/// ```
/// use heapframe::units::per_min;
/// assert_eq!(per_min(14_289_608.0, "bytes"), "+13.63MB/min");
/// assert_eq!(per_min(-1_500.0, "bytes"), "-1.46kB/min");
/// assert_eq!(per_min(29_874.6, "objects"), "+29,875 objects/min");
/// assert_eq!(per_min(0.0, "objects"), "0 objects/min");
/// ```
pub fn per_min(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return format!("{v} {unit}/min");
    }
    let r = v.round() as i64;
    let sign = if r > 0 { "+" } else { "" };
    if unit == "bytes" {
        let mag = scaled_label(r.saturating_abs(), "bytes", "auto");
        format!("{}{mag}/min", if r < 0 { "-" } else { sign })
    } else {
        format!("{sign}{} {unit}/min", thousands(r))
    }
}

/// A proleptic Gregorian date to days since 1970-01-01 (the inverse of
/// [`civil_from_days`]).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 (`2026-11-24T04:27:30Z`, `2026-11-24T06:27:30.250+02:00`; a
/// space for the `T`, a lower-case `t` or `z` accepted) to Unix
/// milliseconds. Years 1970 to 9999.
///
/// ```
/// use heapframe::units::parse_rfc3339;
/// assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Ok(951_782_400_000));
/// assert_eq!(parse_rfc3339("2000-02-29T02:00:00.5+02:00"), Ok(951_782_400_500));
/// assert!(parse_rfc3339("2001-02-29T00:00:00Z").is_err());
/// ```
pub fn parse_rfc3339(s: &str) -> std::result::Result<i64, String> {
    let bad =
        |why: &str| format!("{s:?} is not an RFC 3339 time ({why}; e.g. 2026-11-24T04:27:30Z)");
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() < 20 || b.len() > 40 {
        return Err(bad("expected YYYY-MM-DDTHH:MM:SS and a zone"));
    }
    let num = |from: usize, to: usize| -> std::result::Result<i64, String> {
        let t = &s[from..to];
        if t.bytes().all(|c| c.is_ascii_digit()) {
            Ok(t.parse::<i64>().unwrap_or(0))
        } else {
            Err(bad("expected digits"))
        }
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad("expected YYYY-MM-DDTHH:MM:SS"));
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) {
        return Err(bad("year or month out of range"));
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d < 1 || d > days_in[mo as usize - 1] || h > 23 || mi > 59 || sec > 60 {
        return Err(bad("day or time out of range"));
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad("expected digits after the decimal point"));
        }
        let frac = &s[start..i.min(start + 3)];
        ms = frac.parse::<i64>().unwrap_or(0) * 10i64.pow(3 - frac.len() as u32);
    }
    let offset_min = match &s[i..] {
        "Z" | "z" => 0,
        z if z.len() == 6 && matches!(z.as_bytes()[0], b'+' | b'-') && z.as_bytes()[3] == b':' => {
            let (oh, om) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if oh > 23 || om > 59 {
                return Err(bad("zone offset out of range"));
            }
            let m = oh * 60 + om;
            if z.starts_with('-') { -m } else { m }
        }
        _ => return Err(bad("expected a zone: Z or +HH:MM")),
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    Ok(((days * 86_400 + h * 3600 + mi * 60 + sec.min(59)) - offset_min * 60) * 1000 + ms)
}

/// RFC 3339 (UTC, whole seconds, `Z`) of a time in Unix milliseconds.
pub fn format_rfc3339(ms: i64) -> String {
    format!("{}T{}Z", date_utc(ms), clock_utc(ms))
}

/// The UTC date (`YYYY-MM-DD`) of a time in Unix milliseconds.
pub fn date_utc(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn time_header() {
        assert_eq!(super::format_time_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            super::format_time_utc(1_487_351_731_000_000_000),
            "2017-02-17 17:15:31 UTC"
        );
        assert_eq!(super::format_time_utc(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn rfc3339_round_trips_and_refuses_what_is_not_a_time() {
        use super::{format_rfc3339, parse_rfc3339};
        for ms in [0, 951_782_400_000, 1_764_097_205_000, 253_402_300_799_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Ok(ms));
        }
        assert_eq!(
            parse_rfc3339("2026-11-24 04:27:30-01:30"),
            parse_rfc3339("2026-11-24T05:57:30Z")
        );
        assert_eq!(
            parse_rfc3339("2026-11-24T04:27:30.123456Z"),
            Ok(parse_rfc3339("2026-11-24T04:27:30Z").unwrap() + 123)
        );
        for bad in [
            "",
            "yesterday",
            "2026-11-24",
            "2026-11-24T04:27:30",
            "2026-13-01T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T04:27:30+2:00",
            "2026-11-24T04:27:30.Z",
            "１９７０-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-11-24T04:27:30Z trailing",
        ] {
            let e = parse_rfc3339(bad).unwrap_err();
            assert!(e.contains("RFC 3339"), "{bad:?}: {e}");
        }
    }
}
