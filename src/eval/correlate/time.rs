//! Timestamps: parsing event times and formatting alert times.

use super::NS;
use crate::eval::event::Val;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Reads a timestamp value: an ISO-8601 / RFC 3339 string (`T` or space, fractions to the
/// nanosecond, `Z`, `±HH:MM`, `±HHMM` or `±HH`; no zone = UTC), or a JSON number of epoch
/// seconds (milliseconds above 1e12). Nanoseconds since the epoch.
#[must_use]
pub fn parse_time(v: &Val<'_>) -> Option<i64> {
    match v {
        Val::Str(s) => parse_iso(s),
        Val::Num(n) => {
            if let Some(i) = n.as_i64() {
                if i.unsigned_abs() > 1_000_000_000_000 {
                    i.checked_mul(1_000_000)
                } else {
                    i.checked_mul(NS as i64)
                }
            } else {
                let f = n.as_f64()?;
                let ns = if f.abs() > 1e12 { f * 1e6 } else { f * 1e9 };
                (ns.is_finite() && ns.abs() < 9.2e18).then(|| ns.round() as i64)
            }
        }
        Val::Null | Val::Bool(_) | Val::Arr(_) | Val::Obj(_) => None,
    }
}

/// An ISO-8601 date and time (see [`parse_time`]).
#[must_use]
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        if d.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(d).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return None;
    }
    let mut i = 19;
    let mut frac: i64 = 0;
    if i < b.len() && matches!(b[i], b'.' | b',') {
        i += 1;
        let start = i;
        let mut digits = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            if digits < 9 {
                frac = frac * 10 + i64::from(b[i] - b'0');
                digits += 1;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in digits..9 {
            frac *= 10;
        }
    }
    let offset: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &b[i + 1..];
            let (oh, om) = match rest.len() {
                2 => (num(i + 1..i + 3)?, 0),
                4 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                5 if rest[2] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let o = (oh * 60 + om) * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        Some(_) => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
    secs.checked_mul(NS as i64)?.checked_add(frac)
}

/// RFC 3339 UTC text of nanoseconds since the epoch, with the fraction only when not zero
/// (trailing zeros cut).
#[must_use]
pub fn format_time(ns: i64) -> String {
    let secs = ns.div_euclid(NS as i64);
    let frac = ns.rem_euclid(NS as i64);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if frac != 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}
