//! A reference evaluator written straight from the IR docs, independent of `sigmat::eval`:
//! string patterns go through `Pattern::to_regex` (the regex the IR defines), numbers through
//! `f64`, case folding through the regex crate's `(?i)` or `str::to_lowercase`. Slow and simple
//! on purpose. Used by the differential tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::Value;
use sigmat::ir::{CmpOp, Expr, Predicate, RefMatch, Rule, Test};

thread_local! {
    static REGEX: RefCell<HashMap<(String, bool, bool, bool), regex::Regex>> = RefCell::new(HashMap::new());
}

fn regex(src: &str, i: bool, m: bool, s: bool) -> regex::Regex {
    REGEX.with(|c| {
        c.borrow_mut()
            .entry((src.to_string(), i, m, s))
            .or_insert_with(|| {
                regex::RegexBuilder::new(src)
                    .case_insensitive(i)
                    .multi_line(m)
                    .dot_matches_new_line(s)
                    .size_limit(64 << 20)
                    .build()
                    .expect("regex")
            })
            .clone()
    })
}

/// The values a key path resolves to: the flat key, else nested objects (arrays searched).
pub fn lookup<'a>(e: &'a Value, path: &str) -> Vec<&'a Value> {
    match e {
        Value::Array(xs) => xs.iter().flat_map(|x| lookup(x, path)).collect(),
        Value::Object(m) => {
            if let Some(v) = m.get(path) {
                return vec![v];
            }
            for (i, c) in path.char_indices() {
                if c == '.' {
                    if let Some(inner) = m.get(&path[..i]) {
                        let r = lookup(inner, &path[i + 1..]);
                        if !r.is_empty() {
                            return r;
                        }
                    }
                }
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn leaves(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(xs) => xs.iter().flat_map(leaves).collect(),
        v => vec![v],
    }
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(xs) => xs.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The text a string test sees: strings as they are, numbers and booleans as JSON text.
pub fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

fn num_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn cmp(op: CmpOp, a: f64, b: f64) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Lt => a < b,
        CmpOp::Lte => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Gte => a >= b,
        CmpOp::Neq => a != b,
    }
}

/// The verdict of a whole rule; `None` when it uses something the reference does not model
/// (time parts, placeholders).
pub fn rule(r: &Rule, e: &Value) -> Option<bool> {
    let mut any = false;
    for c in &r.conditions {
        any |= expr(c, e)?;
    }
    Some(any)
}

/// The verdict of an expression (`None`: not modelled).
pub fn expr(x: &Expr, e: &Value) -> Option<bool> {
    Some(match x {
        Expr::And(xs) => {
            let mut all = true;
            for x in xs {
                all &= expr(x, e)?;
            }
            all
        }
        Expr::Or(xs) => {
            let mut any = false;
            for x in xs {
                any |= expr(x, e)?;
            }
            any
        }
        Expr::Not(x) => !expr(x, e)?,
        Expr::Pred(p) => pred(p, e)?,
    })
}

/// The verdict of one predicate (`None`: not modelled).
pub fn pred(p: &Predicate, e: &Value) -> Option<bool> {
    let re = match &p.test {
        Test::Str { pattern, cased } => {
            Some(regex(&pattern.to_regex(*cased)?, false, false, false))
        }
        Test::Regex { pattern, flags } => Some(regex(
            pattern,
            flags.ignore_case,
            flags.multi_line,
            flags.dot_all,
        )),
        _ => None,
    };
    let Some(f) = &p.field else {
        let mut all = Vec::new();
        strings(e, &mut all);
        return Some(
            all.iter()
                .any(|s| re.as_ref().expect("string test").is_match(s)),
        );
    };
    let vals = lookup(e, f);
    let leaf: Vec<&Value> = vals.iter().flat_map(|v| leaves(v)).collect();
    Some(match &p.test {
        Test::Str { .. } | Test::Regex { .. } => {
            let re = re.expect("regex");
            leaf.iter()
                .filter_map(|v| text_of(v))
                .any(|t| re.is_match(&t))
        }
        Test::Num { op, value } => {
            let b = value.text.parse::<f64>().ok()?;
            leaf.iter()
                .filter_map(|v| num_of(v))
                .any(|a| cmp(*op, a, b))
        }
        Test::Bool(b) => leaf.iter().any(|v| match v {
            Value::Bool(x) => x == b,
            Value::String(s) => s.eq_ignore_ascii_case(&b.to_string()),
            _ => false,
        }),
        // "Has a value": some leaf that is not JSON null (null, [] and [null] are none).
        Test::Null => leaf.iter().all(|v| v.is_null()),
        Test::Exists(b) => leaf.iter().any(|v| !v.is_null()) == *b,
        Test::Cidr(net) => {
            let net: ipnet::IpNet = net.parse().ok()?;
            let net = net.trunc();
            leaf.iter().any(|v| {
                v.as_str()
                    .and_then(|s| s.parse::<std::net::IpAddr>().ok())
                    .is_some_and(|ip| net.contains(&ip))
            })
        }
        Test::FieldRef { field, how, cased } => {
            let norm = |v: &Value| text_of(v).map(|t| if *cased { t } else { t.to_lowercase() });
            let rhs: Vec<String> = lookup(e, field)
                .iter()
                .flat_map(|v| leaves(v))
                .filter_map(norm)
                .collect();
            leaf.iter().filter_map(|v| norm(v)).any(|a| {
                rhs.iter().any(|b| match how {
                    RefMatch::Eq => &a == b,
                    RefMatch::Contains => a.contains(b.as_str()),
                    RefMatch::StartsWith => a.starts_with(b.as_str()),
                    RefMatch::EndsWith => a.ends_with(b.as_str()),
                })
            })
        }
        Test::TimePart { .. } => return None,
    })
}
