use super::*;

fn ts(s: &str) -> i64 {
    parse_iso(s).unwrap_or_else(|| panic!("{s}"))
}

#[test]
fn iso_forms() {
    assert_eq!(ts("1970-01-01T00:00:00Z"), 0);
    assert_eq!(ts("1970-01-01 00:00:01"), 1_000_000_000);
    assert_eq!(ts("1970-01-01T01:00:00+01:00"), 0);
    assert_eq!(ts("1970-01-01T00:00:00-0130"), 5_400_000_000_000);
    assert_eq!(ts("1970-01-01T00:00:00.5Z"), 500_000_000);
    assert_eq!(ts("2025-12-25T14:30:27.369114Z") % NS as i64, 369_114_000);
    assert_eq!(ts("2024-02-29T00:00:00Z"), 1_709_164_800 * NS as i64);
    assert!(parse_iso("2023-02-29T00:00:00Z").is_none());
    assert!(parse_iso("2024-01-01").is_none());
    assert!(parse_iso("2024-01-01T00:00:00Q").is_none());
    assert!(parse_iso("2024-01-01T00:00:00.Z").is_none());
    assert_eq!(
        format_time(ts("2024-03-01T10:11:12.250+02:00")),
        "2024-03-01T08:11:12.25Z"
    );
    assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_time(-1), "1969-12-31T23:59:59.999999999Z");
}

#[test]
fn epoch_numbers() {
    let n = |t: &str| parse_time(&Val::parse(t).unwrap());
    assert_eq!(n("1700000000"), Some(1_700_000_000 * NS as i64));
    assert_eq!(n("1700000000123"), Some(1_700_000_000_123_000_000));
    assert_eq!(n("1.5"), Some(1_500_000_000));
    assert_eq!(n("true"), None);
}

#[test]
fn keys_round_trip() {
    let mut k = String::new();
    push_part(&mut k, "a:b");
    push_part(&mut k, "");
    push_part(&mut k, "7:x");
    assert_eq!(key_parts(&k), ["a:b", "", "7:x"]);
}

#[test]
fn percentiles() {
    assert_eq!(interpolate(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
    assert_eq!(interpolate(&[1.0, 2.0, 3.0, 4.0], 100.0), 4.0);
    assert_eq!(interpolate(&[5.0], 90.0), 5.0);
}
