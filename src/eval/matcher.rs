//! Value tests: string patterns, numbers, booleans, networks and time parts.
//!
//! Case-insensitive matching folds both sides with [`fold_into`]: ASCII letters are lowered
//! directly, anything else through its Unicode lowercase mapping, character by character,
//! except the few characters whose simple case folding differs from their lowercase (`ſ` → `s`,
//! `ς` → `σ`, …), which take their folding. The
//! fold works per character, so `fold(a + b) == fold(a) + fold(b)`: a folded value contains the
//! folded form of every literal piece it matched, which is what the prefilter relies on.

use std::cmp::Ordering;
use std::net::IpAddr;

use super::event::Val;
use ipnet::IpNet;
use memchr::memmem;

use crate::ir::{CmpOp, Number, Piece, Shape, TimePart};

/// Appends the case fold of `s` to `out`.
pub fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        for c in s.chars() {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else if let Some(f) = simple_fold_extra(c) {
                out.push(f);
            } else {
                out.extend(c.to_lowercase());
            }
        }
    }
}

/// Characters whose Unicode simple case folding differs from their lowercase mapping (the
/// lowercase of `ſ` is itself, but it folds to `s`, as `(?i)` regexes treat it).
fn simple_fold_extra(c: char) -> Option<char> {
    Some(match c {
        'ſ' => 's',
        'ς' => 'σ',
        'ϐ' => 'β',
        'ϑ' => 'θ',
        'ϕ' => 'φ',
        'ϖ' => 'π',
        'ϰ' => 'κ',
        'ϱ' => 'ρ',
        'ϵ' => 'ε',
        'ẛ' => 'ṡ',
        '\u{1fbe}' => 'ι',
        'ͅ' => 'ι',
        _ => return None,
    })
}

/// The case fold of `s`.
#[must_use]
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// Whether `s` is unchanged by [`fold`] (no allocation needed).
#[must_use]
pub fn is_folded(s: &str) -> bool {
    if s.is_ascii() {
        !s.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        s.chars().all(|c| {
            let mut l = c.to_lowercase();
            simple_fold_extra(c).is_none() && l.next() == Some(c) && l.next().is_none()
        })
    }
}

/// The JSON text a number or boolean is tested through (`4688`, `true`). `None` for other kinds.
#[must_use]
pub fn scalar_text(v: &Val<'_>) -> Option<String> {
    match v {
        Val::Num(n) => Some(n.to_string()),
        Val::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Calls `f` on [`scalar_text`] of `v` without allocating (the text is formatted on the
/// stack when it fits, as numbers and booleans do); `None` for strings, arrays, objects and
/// `null`.
pub fn with_scalar_text<R>(v: &Val<'_>, f: impl FnOnce(&str) -> R) -> Option<R> {
    use std::fmt::Write;
    /// A fixed buffer; fails when full.
    struct Buf {
        b: [u8; 40],
        n: usize,
    }
    impl Write for Buf {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = self.n + s.len();
            if end > self.b.len() {
                return Err(std::fmt::Error);
            }
            self.b[self.n..end].copy_from_slice(s.as_bytes());
            self.n = end;
            Ok(())
        }
    }
    let mut buf = Buf { b: [0; 40], n: 0 };
    let fits = match v {
        Val::Num(n) => write!(buf, "{n}").is_ok(),
        Val::Bool(b) => write!(buf, "{b}").is_ok(),
        _ => return None,
    };
    if fits {
        Some(f(
            std::str::from_utf8(&buf.b[..buf.n]).expect("formatted text is UTF-8")
        ))
    } else {
        scalar_text(v).map(|t| f(&t))
    }
}

/// A compiled string pattern: the pattern's shape with its literal text pre-folded.
#[derive(Debug, Clone)]
pub enum StrMatcher {
    /// Equal to the text.
    Exact(String),
    /// Starts with the text.
    Prefix(String),
    /// Ends with the text.
    Suffix(String),
    /// Contains the text.
    Contains(Box<memmem::Finder<'static>>),
    /// Any string at all.
    Any,
    /// Inner wildcards or `?`.
    Glob(Glob),
}

impl StrMatcher {
    /// Compiles `pieces` (placeholders must have been rejected already). Literals are folded
    /// unless `cased`.
    #[must_use]
    pub fn new(pattern: &crate::ir::Pattern, cased: bool) -> StrMatcher {
        let f = |s: &str| if cased { s.to_string() } else { fold(s) };
        match pattern.shape() {
            Shape::Exact(s) => StrMatcher::Exact(f(s)),
            Shape::Prefix(s) => StrMatcher::Prefix(f(s)),
            Shape::Suffix(s) => StrMatcher::Suffix(f(s)),
            Shape::Contains(s) => {
                StrMatcher::Contains(Box::new(memmem::Finder::new(f(s).as_bytes()).into_owned()))
            }
            Shape::Any => StrMatcher::Any,
            Shape::Glob => StrMatcher::Glob(Glob::new(pattern.pieces(), cased)),
        }
    }

    /// Whether `s` (already folded when the pattern is not cased) matches.
    #[must_use]
    pub fn is_match(&self, s: &str) -> bool {
        match self {
            StrMatcher::Exact(t) => s == t,
            StrMatcher::Prefix(t) => s.starts_with(t.as_str()),
            StrMatcher::Suffix(t) => s.ends_with(t.as_str()),
            StrMatcher::Contains(f) => f.find(s.as_bytes()).is_some(),
            StrMatcher::Any => true,
            StrMatcher::Glob(g) => g.is_match(s),
        }
    }
}

/// One element of a glob group: literal text or `?`.
#[derive(Debug, Clone, PartialEq)]
enum GlobItem {
    Lit(String),
    One,
}

/// A wildcard pattern: an anchored head group, `*`-separated middle groups, an anchored tail
/// group. Each group is a fixed-width run of literals and `?`. Matching takes each middle group
/// at its leftmost place, which is optimal for `*`-separated groups.
#[derive(Debug, Clone)]
pub struct Glob {
    /// Groups in order. `head_anchored`: the first group must start at 0; `tail_anchored`: the
    /// last must end at the end of the value.
    groups: Vec<Vec<GlobItem>>,
    head_anchored: bool,
    tail_anchored: bool,
}

impl Glob {
    fn new(pieces: &[Piece], cased: bool) -> Glob {
        let mut groups: Vec<Vec<GlobItem>> = vec![Vec::new()];
        for p in pieces {
            match p {
                Piece::Lit(s) => groups
                    .last_mut()
                    .expect("non-empty")
                    .push(GlobItem::Lit(if cased { s.clone() } else { fold(s) })),
                Piece::AnyOne => groups.last_mut().expect("non-empty").push(GlobItem::One),
                Piece::AnyMany => groups.push(Vec::new()),
                // Rejected by the compiler before a matcher is built.
                Piece::Placeholder(_) => groups
                    .last_mut()
                    .expect("non-empty")
                    .push(GlobItem::Lit(String::from("\u{0}placeholder\u{0}"))),
            }
        }
        let head_anchored = !matches!(pieces.first(), Some(Piece::AnyMany));
        let tail_anchored = !matches!(pieces.last(), Some(Piece::AnyMany));
        // Drop empty groups produced by a leading or trailing `*`.
        groups.retain(|g| !g.is_empty());
        Glob {
            groups,
            head_anchored,
            tail_anchored,
        }
    }

    /// Matches the group at byte offset `at` of `s`; returns the end offset.
    fn group_at(group: &[GlobItem], s: &str, mut at: usize) -> Option<usize> {
        for it in group {
            match it {
                GlobItem::Lit(l) => {
                    if s.as_bytes().get(at..at + l.len())? != l.as_bytes() {
                        return None;
                    }
                    at += l.len();
                }
                GlobItem::One => {
                    let c = s.get(at..)?.chars().next()?;
                    at += c.len_utf8();
                }
            }
        }
        Some(at)
    }

    /// Leftmost position at or after `from` where `group` matches: (start, end).
    fn find_group(group: &[GlobItem], s: &str, from: usize) -> Option<(usize, usize)> {
        let mut start = from;
        loop {
            if start > s.len() {
                return None;
            }
            // Jump to the next occurrence of a leading literal.
            if let Some(GlobItem::Lit(l)) = group.first() {
                let off = memmem::find(&s.as_bytes()[start..], l.as_bytes())?;
                start += off;
            }
            if s.is_char_boundary(start) {
                if let Some(end) = Self::group_at(group, s, start) {
                    return Some((start, end));
                }
            }
            start += 1;
            while start < s.len() && !s.is_char_boundary(start) {
                start += 1;
            }
        }
    }

    /// Whether the whole of `s` matches.
    #[must_use]
    pub fn is_match(&self, s: &str) -> bool {
        let n = self.groups.len();
        if n == 0 {
            // Only `*` pieces (Any) or empty pattern.
            return !(self.head_anchored && self.tail_anchored) || s.is_empty();
        }
        let mut pos = 0;
        let mut first = 0;
        let mut last = n;
        if self.head_anchored {
            match Self::group_at(&self.groups[0], s, 0) {
                Some(e) => pos = e,
                None => return false,
            }
            first = 1;
            if n == 1 && self.tail_anchored {
                return pos == s.len();
            }
        }
        // The tail group must match at the end; find where it has to start.
        let mut tail_start = s.len();
        if self.tail_anchored {
            let g = &self.groups[n - 1];
            last = n - 1;
            let Some(start) = Self::tail_start(g, s) else {
                return false;
            };
            if start < pos {
                return false;
            }
            tail_start = start;
        }
        for g in &self.groups[first..last] {
            match Self::find_group(g, &s[..tail_start], pos) {
                Some((_, e)) => pos = e,
                None => return false,
            }
        }
        pos <= tail_start
    }

    /// Where a group anchored at the end of `s` starts, if it matches there.
    fn tail_start(group: &[GlobItem], s: &str) -> Option<usize> {
        let mut at = s.len();
        for it in group.iter().rev() {
            match it {
                GlobItem::Lit(l) => {
                    let b = at.checked_sub(l.len())?;
                    if &s.as_bytes()[b..at] != l.as_bytes() {
                        return None;
                    }
                    at = b;
                }
                GlobItem::One => {
                    let c = s.get(..at)?.chars().next_back()?;
                    at -= c.len_utf8();
                }
            }
        }
        s.is_char_boundary(at).then_some(at)
    }
}

/// A compiled numeric right-hand side.
#[derive(Debug, Clone, Copy)]
pub struct NumCmp {
    op: CmpOp,
    int: Option<i64>,
    float: f64,
}

impl NumCmp {
    /// From the IR operator and number.
    #[must_use]
    pub fn new(op: CmpOp, n: &Number) -> NumCmp {
        NumCmp {
            op,
            int: n.as_i64(),
            float: n.as_f64(),
        }
    }

    /// Whether a JSON number, or a string holding a number, compares as required.
    #[must_use]
    pub fn holds(&self, v: &Val<'_>) -> bool {
        match v {
            Val::Num(n) => {
                if let (Some(a), Some(b)) = (n.as_i64(), self.int) {
                    return self.op.holds(a.cmp(&b));
                }
                n.as_f64().is_some_and(|a| self.cmp_f64(a))
            }
            Val::Str(s) => {
                let t = s.trim();
                if let (Ok(a), Some(b)) = (t.parse::<i64>(), self.int) {
                    return self.op.holds(a.cmp(&b));
                }
                t.parse::<f64>()
                    .is_ok_and(|a| a.is_finite() && self.cmp_f64(a))
            }
            _ => false,
        }
    }

    /// Compares an already extracted integer (time parts).
    #[must_use]
    pub fn holds_int(&self, a: i64) -> bool {
        match self.int {
            Some(b) => self.op.holds(a.cmp(&b)),
            None => self.cmp_f64(a as f64),
        }
    }

    fn cmp_f64(&self, a: f64) -> bool {
        a.partial_cmp(&self.float)
            .is_some_and(|o: Ordering| self.op.holds(o))
    }
}

/// Numbers below this magnitude convert between `i64` and `f64` exactly.
const EXACT: i64 = 1 << 53;

/// The integer a value equals numerically, as [`NumCmp`] reads values (a JSON number, or a
/// string holding a number), when that value is an integer of magnitude below 2^53; `None`
/// otherwise. Two such values are equal under [`CmpOp::Eq`] exactly when their keys are equal,
/// which lets the prefilter look numeric equalities up in a map.
#[must_use]
pub fn num_key(v: &Val<'_>) -> Option<i64> {
    let from_f64 =
        |f: f64| (f.is_finite() && f.fract() == 0.0 && f.abs() < EXACT as f64).then_some(f as i64);
    match v {
        Val::Num(n) => n.as_i64().or_else(|| n.as_f64().and_then(from_f64)),
        Val::Str(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().and_then(from_f64))
        }
        _ => None,
    }
}

/// The key of a rule's number for [`num_key`] lookups: only integers below 2^53.
#[must_use]
pub fn rule_num_key(n: &Number) -> Option<i64> {
    n.as_i64().filter(|i| i.abs() < EXACT).or_else(|| {
        let f = n.as_f64();
        (f.is_finite() && f.fract() == 0.0 && f.abs() < EXACT as f64).then_some(f as i64)
    })
}

/// Whether a JSON value is the boolean `want` (JSON bool, or `true`/`false` in any case).
#[must_use]
pub fn bool_holds(v: &Val<'_>, want: bool) -> bool {
    match v {
        Val::Bool(b) => *b == want,
        Val::Str(s) => s.eq_ignore_ascii_case(if want { "true" } else { "false" }),
        _ => false,
    }
}

/// Parses a CIDR network; a bare address is a /32 or /128. Host bits are cleared.
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n.trunc());
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|e| format!("`{s}`: {e}"))
}

/// Whether a string holds an address inside `net` (IPv4-mapped IPv6 counts as IPv4).
#[must_use]
pub fn cidr_holds(net: &IpNet, v: &Val<'_>) -> bool {
    let Val::Str(s) = v else { return false };
    let Ok(ip) = s.trim().parse::<IpAddr>() else {
        return false;
    };
    if net.contains(&ip) {
        return true;
    }
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .is_some_and(|v4| net.contains(&IpAddr::V4(v4))),
        IpAddr::V4(_) => false,
    }
}

/// The requested part of a timestamp string (RFC 3339 or `YYYY-MM-DD HH:MM:SS[.fff]`), taken
/// as written (no time-zone conversion).
#[must_use]
pub fn time_part(s: &str, part: TimePart) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        if d.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(d).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let time = |r| -> Option<i64> {
        if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
            return None;
        }
        num(r)
    };
    match part {
        TimePart::Year => Some(y),
        TimePart::Month => Some(mo),
        TimePart::Day => Some(d),
        TimePart::Hour => time(11..13),
        TimePart::Minute => time(14..16),
        TimePart::Week => Some(iso_week(y, mo, d)),
    }
}

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

/// ISO 8601 week number (1-53).
fn iso_week(y: i64, m: i64, d: i64) -> i64 {
    let days = days_from_civil(y, m, d);
    // 1970-01-01 was a Thursday; ISO weekday 1 = Monday.
    let wd = (days + 3).rem_euclid(7) + 1;
    let thursday = days - wd + 4;
    let ty = {
        // Year of that Thursday.
        let mut yy = y + 1;
        while days_from_civil(yy, 1, 1) > thursday {
            yy -= 1;
        }
        yy
    };
    (thursday - days_from_civil(ty, 1, 1)) / 7 + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Pattern;
    use serde_json::json;

    fn j(x: serde_json::Value) -> Val<'static> {
        Val::from_value(&x).into_owned()
    }

    fn m(p: &str, cased: bool, v: &str) -> bool {
        let pat = Pattern::parse_canonical(p).unwrap();
        let sm = StrMatcher::new(&pat, cased);
        let v = if cased { v.to_string() } else { fold(v) };
        let got = sm.is_match(&v);
        // Cross-check with the regex the IR defines.
        let re = regex::Regex::new(&pat.to_regex(cased).unwrap()).unwrap();
        if v.is_ascii() {
            assert_eq!(got, re.is_match(&v), "pattern {p:?} on {v:?}");
        }
        got
    }

    #[test]
    fn shapes_and_case() {
        assert!(m("cmd.exe", false, "CMD.EXE"));
        assert!(!m("cmd.exe", true, "CMD.EXE"));
        assert!(m("*\\\\cmd.exe", false, "C:\\Windows\\CMD.exe"));
        assert!(!m("*\\\\cmd.exe", false, "C:\\Windows\\xcmd.exe"));
        assert!(m("c:\\\\*", false, "C:\\x"));
        assert!(m("a\\*", false, "A*"));
        assert!(!m("a\\*", false, "Ab"));
        assert!(m("*whoami*", false, "x WhoAmI y"));
        assert!(!m("*whoami*", false, "x who ami y"));
        assert!(m("*", false, ""));
        assert!(m("", false, ""));
        assert!(!m("", false, "a"));
    }

    #[test]
    fn globs() {
        for (p, v, want) in [
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "acb", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "abbc", false),
            ("*a?c*", "xxabcxx", true),
            ("*a?c", "xxabcxabc", true),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("?", "é", true),
            ("*b?d*f", "abcdeeg", false),
            ("*b?d*f", "abcdef", true),
            ("ab*?", "ab", false),
            ("ab*?", "abc", true),
            ("*.exe*-e?c *", "x.exe -enc 1", true),
            ("?*", "", false),
            ("x*y*", "xay", true),
            ("*x*y", "xyxy", true),
        ] {
            assert_eq!(m(p, false, v), want, "{p} on {v}");
        }
    }

    #[test]
    fn unicode_fold() {
        assert_eq!(fold("ÄbC"), "äbc");
        assert_eq!(fold("ſ\u{212a}ΣΣς"), "skσσσ");
        assert!(m("*straße*", false, "STRAßE"));
        assert!(is_folded("abc é"));
        assert!(!is_folded("abC"));
    }

    #[test]
    fn numbers() {
        let eq = NumCmp::new(CmpOp::Eq, &Number::new("4688"));
        assert!(eq.holds(&j(json!(4688))));
        assert!(eq.holds(&j(json!("4688"))));
        assert!(eq.holds(&j(json!(4688.0))));
        assert!(!eq.holds(&j(json!("x4688"))));
        assert!(!eq.holds(&j(json!(true))));
        let gt = NumCmp::new(CmpOp::Gt, &Number::new("0.5"));
        assert!(gt.holds(&j(json!(1))));
        assert!(!gt.holds(&j(json!("0.25"))));
    }

    #[test]
    fn num_keys_agree_with_equality() {
        let values = [
            json!(4688),
            json!(4688.0),
            json!("4688"),
            json!(" 4688 "),
            json!("4688.0"),
            json!("4.688e3"),
            json!("04688"),
            json!(4688.5),
            json!("x"),
            json!(9_007_199_254_740_993_i64),
            json!(u64::MAX),
            json!(true),
        ];
        let values: Vec<Val<'_>> = values.iter().map(Val::from_value).collect();
        for rule in ["4688", "4688.0", "4.688e3", "9007199254740993", "-1"] {
            let n = Number::new(rule);
            let eq = NumCmp::new(CmpOp::Eq, &n);
            for v in &values {
                if eq.holds(v) {
                    let k = rule_num_key(&n);
                    assert!(k.is_none() || num_key(v) == k, "{rule} vs {v}");
                }
            }
        }
        assert_eq!(num_key(&j(json!("4.688e3"))), Some(4688));
        assert_eq!(rule_num_key(&Number::new("9007199254740993")), None);
    }

    #[test]
    fn bools_and_cidr() {
        assert!(bool_holds(&j(json!(true)), true));
        assert!(bool_holds(&j(json!("TRUE")), true));
        assert!(!bool_holds(&j(json!("1")), true));
        let n = parse_net("10.0.0.0/8").unwrap();
        assert!(cidr_holds(&n, &j(json!("10.1.2.3"))));
        assert!(cidr_holds(&n, &j(json!("::ffff:10.1.2.3"))));
        assert!(!cidr_holds(&n, &j(json!("11.1.2.3"))));
        assert!(!cidr_holds(&n, &j(json!(10))));
        let n6 = parse_net("fe80::/10").unwrap();
        assert!(cidr_holds(&n6, &j(json!("fe80::1"))));
        assert!(parse_net("nope").is_err());
    }

    #[test]
    fn time_parts() {
        let t = "2024-12-30T13:45:10.123Z";
        assert_eq!(time_part(t, TimePart::Year), Some(2024));
        assert_eq!(time_part(t, TimePart::Month), Some(12));
        assert_eq!(time_part(t, TimePart::Day), Some(30));
        assert_eq!(time_part(t, TimePart::Hour), Some(13));
        assert_eq!(time_part(t, TimePart::Minute), Some(45));
        assert_eq!(time_part(t, TimePart::Week), Some(1)); // ISO week 1 of 2025
        assert_eq!(time_part("2021-01-03 00:00:00", TimePart::Week), Some(53));
        assert_eq!(time_part("2026-11-23", TimePart::Week), Some(48));
        assert_eq!(time_part("2026-11-23", TimePart::Hour), None);
        assert_eq!(time_part("yesterday", TimePart::Year), None);
    }
}
