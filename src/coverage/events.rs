//! Events built from rules' conditions, meant to match them: the samples of one rule and
//! the events meant to match two at once that a catalog comparison gives the decision as
//! events at hand ([`crate::analysis::decide_seeded`]). Each is only a candidate: the native
//! evaluator says where it really falls, so a value built imperfectly costs a search, never
//! a wrong answer.
//!
//! A term is the positive predicates of one conjunction of the condition in disjunctive
//! form ([`dnf`]); a field's value meets every test of the term on it that a value can be
//! built for: literals and wildcard patterns joined by spaces (prefix first, suffix last),
//! a number meeting the comparison, an address of a network, and for a regular expression
//! a string of its language read off its syntax ([`regex_sample`]).

use std::collections::BTreeMap;

use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{Map, Value};

use crate::ir::{CmpOp, Expr, Piece, Predicate, Shape, Test};

/// The positive predicates of up to `cap` terms of `e` in disjunctive normal form (negated
/// parts left out: the evaluator checks them on the event built).
pub(super) fn dnf(e: &Expr, cap: usize) -> Vec<Vec<&Predicate>> {
    match e {
        Expr::Pred(p) => vec![vec![p]],
        Expr::Not(_) => vec![Vec::new()],
        Expr::Or(xs) => {
            let mut out = Vec::new();
            for x in xs {
                out.extend(dnf(x, cap));
                if out.len() >= cap {
                    break;
                }
            }
            out.truncate(cap);
            out
        }
        Expr::And(xs) => {
            let mut acc: Vec<Vec<&Predicate>> = vec![Vec::new()];
            for x in xs {
                let sub = dnf(x, cap);
                let mut next = Vec::new();
                'outer: for a in &acc {
                    for s in &sub {
                        let mut t = a.clone();
                        t.extend(s.iter().copied());
                        next.push(t);
                        if next.len() >= cap {
                            break 'outer;
                        }
                    }
                }
                acc = next;
            }
            acc
        }
    }
}

/// A string satisfying a pattern on its own: literals kept, `*` empty, `?` one `x`.
fn sample(pieces: &[Piece]) -> String {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Lit(t) => s.push_str(t),
            Piece::AnyOne => s.push('x'),
            Piece::AnyMany | Piece::Placeholder(_) => {}
        }
    }
    s
}

/// The value of one field meeting every test of `tests` that a value can be built for.
fn field_value(tests: &[&Test]) -> Option<Value> {
    let (mut exact, mut pre, mut mid, mut suf) = (None, Vec::new(), Vec::new(), Vec::new());
    let mut other: Option<Value> = None;
    for t in tests {
        match t {
            Test::Str { pattern, .. } => match pattern.shape() {
                Shape::Exact(s) => exact = Some(s.to_string()),
                Shape::Prefix(s) => pre.push(s.to_string()),
                Shape::Suffix(s) => suf.push(s.to_string()),
                Shape::Contains(s) => mid.push(s.to_string()),
                Shape::Any => mid.push(String::new()),
                Shape::Glob => mid.push(sample(pattern.pieces())),
            },
            Test::Num { op, value } => {
                let n = value.as_f64();
                let v = match op {
                    CmpOp::Eq | CmpOp::Gte | CmpOp::Lte => n,
                    CmpOp::Gt | CmpOp::Neq => n + 1.0,
                    CmpOp::Lt => n - 1.0,
                };
                other = serde_json::Number::from_f64(v).map(Value::Number);
                if let (CmpOp::Eq, Some(i)) = (op, value.as_i64()) {
                    other = Some(Value::from(i));
                }
            }
            Test::Bool(b) => other = Some(Value::Bool(*b)),
            Test::Exists(true) => mid.push("x".into()),
            Test::Cidr(net) => {
                other = Some(Value::String(
                    net.split('/').next().unwrap_or(net).to_string(),
                ));
            }
            Test::Regex { pattern, .. } => {
                if let Some(s) = regex_sample(pattern) {
                    mid.push(s);
                }
            }
            Test::Null | Test::Exists(false) | Test::FieldRef { .. } | Test::TimePart { .. } => {}
        }
    }
    if let Some(e) = exact {
        return Some(Value::String(e));
    }
    if other.is_some() && pre.is_empty() && mid.is_empty() && suf.is_empty() {
        return other;
    }
    if pre.is_empty() && mid.is_empty() && suf.is_empty() {
        return None;
    }
    let mut parts = pre;
    parts.extend(mid);
    parts.extend(suf);
    Some(Value::String(parts.join(" ")))
}

/// An event meant to satisfy the predicates of two terms at once.
pub(super) fn build_event(preds: &[&Predicate]) -> Value {
    let mut by_field: BTreeMap<&str, Vec<&Test>> = BTreeMap::new();
    for p in preds {
        by_field
            .entry(p.field.as_deref().unwrap_or("sigmat.keywords"))
            .or_default()
            .push(&p.test);
    }
    let mut m = Map::new();
    for (field, tests) in by_field {
        if let Some(v) = field_value(&tests) {
            m.insert(field.to_string(), v);
        }
    }
    Value::Object(m)
}

/// Events meant to match both rules, built from the pairs of terms of their conditions
/// that test a field in common, most shared fields first (two rules on disjoint fields
/// "overlap" on any event holding both sets of fields, which says nothing); the reason when
/// no pair of terms shares a field.
pub(super) fn joint_events(
    a: &[Vec<Predicate>],
    b: &[Vec<Predicate>],
) -> Result<Vec<Value>, String> {
    let fields = |t: &[Predicate]| -> std::collections::BTreeSet<String> {
        t.iter().filter_map(|p| p.field.clone()).collect()
    };
    let mut order: Vec<(usize, &Vec<Predicate>, &Vec<Predicate>)> = Vec::new();
    for ta in a {
        let fa = fields(ta);
        for tb in b {
            let common = fields(tb).intersection(&fa).count();
            if common > 0 {
                order.push((common, ta, tb));
            }
        }
    }
    if order.is_empty() {
        return Err(
            "the rules test no field in common (after the field mappings) in the terms tried"
                .into(),
        );
    }
    order.sort_by_key(|x| std::cmp::Reverse(x.0));
    Ok(order
        .into_iter()
        .map(|(_, ta, tb)| {
            let preds: Vec<&Predicate> = ta.iter().chain(tb.iter()).collect();
            build_event(&preds)
        })
        .collect())
}

/// A string of the language of regular expression `re`, read off its syntax (an empty
/// string for a look-around, the first branch of an alternation that is not one, the fewest
/// repetitions allowed, a space or a letter from a class when it holds one); `None` when
/// `re` does not parse or the string would be long.
pub(super) fn regex_sample(re: &str) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new().build().parse(re).ok()?;
    let mut out = String::new();
    write_sample(&hir, &mut out).then_some(out)
}

/// Appends a string of `h`'s language to `out`; false when it would pass 4 KiB.
fn write_sample(h: &Hir, out: &mut String) -> bool {
    const MAX: usize = 4096;
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(l) => out.push_str(&String::from_utf8_lossy(&l.0)),
        HirKind::Class(c) => match class_char(c) {
            Some(ch) => out.push(ch),
            None => return false,
        },
        HirKind::Repetition(r) => {
            for _ in 0..r.min {
                if !write_sample(&r.sub, out) || out.len() > MAX {
                    return false;
                }
            }
        }
        HirKind::Capture(c) => return write_sample(&c.sub, out),
        HirKind::Concat(xs) => {
            for x in xs {
                if !write_sample(x, out) {
                    return false;
                }
            }
        }
        HirKind::Alternation(xs) => {
            let pick = xs
                .iter()
                .find(|x| !matches!(x.kind(), HirKind::Look(_) | HirKind::Empty))
                .or(xs.first());
            if let Some(x) = pick {
                return write_sample(x, out);
            }
        }
    }
    out.len() <= MAX
}

/// A character of class `c`: a space, a letter or a digit when it holds one, else its first.
fn class_char(c: &Class) -> Option<char> {
    const PREFERRED: [char; 5] = [' ', 'a', 'A', '0', '_'];
    match c {
        Class::Unicode(u) => {
            let has = |ch: char| u.ranges().iter().any(|r| r.start() <= ch && ch <= r.end());
            PREFERRED
                .into_iter()
                .find(|&ch| has(ch))
                .or_else(|| u.ranges().first().map(|r| r.start()))
        }
        Class::Bytes(b) => {
            let has = |ch: u8| b.ranges().iter().any(|r| r.start() <= ch && ch <= r.end());
            PREFERRED.into_iter().find(|&ch| has(ch as u8)).or_else(|| {
                b.ranges()
                    .first()
                    .map(|r| r.start())
                    .filter(u8::is_ascii)
                    .map(char::from)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::regex_sample;

    #[test]
    fn regex_samples_are_in_their_language() {
        for re in [
            "abc",
            "a+b*c?d{3}",
            "(?:^|[^\\w.:'’]|(?:^|\\P{Alphabetic})[.:'’])get(?:\\W{2,}|[^\\w.:'’])addomain(?:$|[^\\w.:'’]|[.:'’](?:$|\\P{Alphabetic}))",
            "\\bcmd\\.exe\\b",
            "^(?:foo|bar)[0-9]{2}\\.dll$",
            "(?i)invoke-(?:expression|webrequest)",
            "[[:alpha:]]+\\s+\\d+",
            "x(?:y|z)*",
        ] {
            let s = regex_sample(re).unwrap_or_else(|| panic!("{re}: no sample"));
            let r = regex::Regex::new(re).expect("valid");
            assert!(r.is_match(&s), "{re}: {s:?}");
        }
    }

    #[test]
    fn no_sample_for_what_does_not_parse_or_is_too_long() {
        assert_eq!(regex_sample("a("), None);
        assert_eq!(regex_sample("a{5000}"), None);
    }
}
