//! Dates for `[metadata]`: Sigma's `date` / `modified` as detection-rules' `YYYY/MM/DD`, with
//! today's date (UTC) where a rule has none.

use crate::error::Warning;
use crate::ir::Meta;

use super::model::{warn, Options};

/// Today's date in UTC as `YYYY/MM/DD`.
#[must_use]
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}/{m:02}/{d:02}")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Converts a Sigma date (`YYYY-MM-DD`, or the legacy `YYYY/MM/DD`) to `YYYY/MM/DD`.
fn elastic_date(d: &str) -> Option<String> {
    let d = d.trim().replace('-', "/");
    let b = d.as_bytes();
    let ok = b.len() == 10
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'/',
            _ => c.is_ascii_digit(),
        });
    ok.then_some(d)
}

/// `(creation_date, updated_date)`: from `date` (else today) and `modified` (else, or when
/// earlier, the creation date), with a warning for each value filled in.
pub(super) fn creation_and_update(
    m: &Meta,
    opts: &Options,
    warnings: &mut Vec<Warning>,
) -> (String, String) {
    let creation_date = match m.date.as_deref().map(|d| (d, elastic_date(d))) {
        Some((_, Some(d))) => d,
        Some((d, None)) => {
            warn(
                warnings,
                format!(
                    "date `{d}` is not YYYY-MM-DD; creation_date set to {}",
                    opts.today
                ),
                "date",
            );
            opts.today.clone()
        }
        None => {
            warn(
                warnings,
                format!("rule has no date; creation_date set to {}", opts.today),
                "date",
            );
            opts.today.clone()
        }
    };
    let mut updated_date = match m.modified.as_deref() {
        Some(d) => elastic_date(d).unwrap_or_else(|| {
            warn(
                warnings,
                format!("modified `{d}` is not YYYY-MM-DD; updated_date set to creation_date"),
                "modified",
            );
            creation_date.clone()
        }),
        None => creation_date.clone(),
    };
    if updated_date < creation_date {
        warn(
            warnings,
            format!("modified {updated_date} is before date {creation_date}; updated_date set to creation_date"),
            "modified",
        );
        updated_date.clone_from(&creation_date);
    }
    (creation_date, updated_date)
}

/// The defaults: Elastic's own look-back and interval, SigmaHQ's licence, today (UTC).
impl Default for Options {
    fn default() -> Self {
        Options {
            from: "now-9m".into(),
            interval: "5m".into(),
            license: "DRL-1.1".into(),
            timestamp_override: Some("event.ingested".into()),
            today: today_utc(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_670), (2026, 8, 5));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn sigma_dates_become_slashed() {
        assert_eq!(elastic_date("2026-01-02").as_deref(), Some("2026/01/02"));
        assert_eq!(elastic_date(" 2026/01/02 ").as_deref(), Some("2026/01/02"));
        assert_eq!(elastic_date("2026-1-2"), None);
        assert_eq!(elastic_date("2026-01-0x"), None);
    }
}
