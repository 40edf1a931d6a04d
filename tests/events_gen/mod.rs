//! Events generated from a rule's IR (shared by the differential and round-trip tests): one
//! that must match, one that must not, and near misses of the matching one (flipped case, one
//! character off, a trailing space, missing field, array forms, nested form of dotted fields,
//! null values). Every generated verdict is checked against the reference evaluator
//! (`tests/eval_reference`) by the caller or here.
#![allow(dead_code)]

use std::collections::HashSet;

use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{json, Map, Value};
use sigmat::ir::{CmpOp, Expr, Piece, Predicate, Rule, Test};

use crate::eval_reference;

/// Event under construction: fields set so far and fields that must stay missing.
#[derive(Clone, Default)]
pub struct Gen {
    pub ev: Map<String, Value>,
    pub missing: HashSet<String>,
    pub keywords: usize,
    /// Fields set from string tests, for near misses.
    pub strings: Vec<String>,
}

fn render(p: &sigmat::ir::Pattern) -> String {
    p.pieces()
        .iter()
        .map(|pc| match pc {
            Piece::Lit(s) => s.clone(),
            Piece::AnyMany => String::new(),
            Piece::AnyOne => "x".into(),
            Piece::Placeholder(_) => "placeholder".into(),
        })
        .collect()
}

/// A string matching `hir` when the simple choices work (checked by the caller).
fn sample(h: &Hir, out: &mut String) {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(l) => out.push_str(&String::from_utf8_lossy(&l.0)),
        HirKind::Class(Class::Unicode(c)) => {
            if let Some(r) = c.iter().next() {
                let ch = if r.start() <= 'a' && 'a' <= r.end() {
                    'a'
                } else {
                    r.start()
                };
                out.push(ch);
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            if let Some(r) = c.iter().next() {
                out.push(char::from(r.start()));
            }
        }
        HirKind::Repetition(r) => {
            for _ in 0..r.min.max(u32::from(r.min == 0 && r.max != Some(0))) {
                sample(&r.sub, out);
            }
        }
        HirKind::Capture(c) => sample(&c.sub, out),
        HirKind::Concat(xs) => xs.iter().for_each(|x| sample(x, out)),
        HirKind::Alternation(xs) => sample(&xs[0], out),
    }
}

fn value_for(t: &Test) -> Option<Value> {
    Some(match t {
        Test::Str { pattern, .. } => Value::String(render(pattern)),
        Test::Regex { pattern, flags } => {
            let hir = regex_syntax::ParserBuilder::new()
                .case_insensitive(flags.ignore_case)
                .multi_line(flags.multi_line)
                .dot_matches_new_line(flags.dot_all)
                .build()
                .parse(pattern)
                .ok()?;
            let mut s = String::new();
            sample(&hir, &mut s);
            Value::String(s)
        }
        Test::Num { op, value } => {
            let n: f64 = value.text.parse().ok()?;
            let v = match op {
                CmpOp::Eq | CmpOp::Lte | CmpOp::Gte => n,
                CmpOp::Lt => n - 1.0,
                CmpOp::Gt | CmpOp::Neq => n + 1.0,
            };
            if v.fract() == 0.0 && v.abs() < 1e15 {
                json!(v as i64)
            } else {
                json!(v)
            }
        }
        Test::Bool(b) => json!(b),
        Test::Exists(true) => json!("present"),
        Test::Cidr(net) => {
            let net: ipnet::IpNet = net.parse().ok()?;
            json!(net.trunc().network().to_string())
        }
        Test::Null | Test::Exists(false) | Test::FieldRef { .. } | Test::TimePart { .. } => {
            return None
        }
    })
}

/// Tries to make `x` evaluate to `want` on `g` (checked afterwards by the reference).
pub fn satisfy(x: &Expr, want: bool, g: &mut Gen) -> bool {
    match (x, want) {
        (Expr::Not(x), w) => satisfy(x, !w, g),
        (Expr::And(xs), true) | (Expr::Or(xs), false) => xs.iter().all(|x| satisfy(x, want, g)),
        (Expr::And(xs), false) | (Expr::Or(xs), true) => {
            for x in xs {
                let mut h = g.clone();
                if satisfy(x, want, &mut h)
                    && eval_reference::expr(x, &Value::Object(h.ev.clone())) == Some(want)
                {
                    *g = h;
                    return true;
                }
            }
            false
        }
        (Expr::Pred(p), want) => satisfy_pred(p, want, g),
    }
}

fn satisfy_pred(p: &Predicate, want: bool, g: &mut Gen) -> bool {
    let Some(f) = p.field.clone() else {
        if want {
            let Some(v) = value_for(&p.test) else {
                return false;
            };
            g.keywords += 1;
            g.ev.insert(format!("kw{}", g.keywords), v);
        }
        return true;
    };
    if let Some(old) = g.ev.get(&f).cloned() {
        if eval_reference::pred(p, &Value::Object(g.ev.clone())) == Some(want) {
            return true;
        }
        // Two string tests on one field (`contains|all`, `startswith` + `endswith`): try the
        // values joined, either way round.
        if let (true, Some(Value::String(old)), Some(Value::String(new))) =
            (want, Some(&old), value_for(&p.test))
        {
            for joined in [format!("{old}{new}"), format!("{new}{old}")] {
                let mut h = g.clone();
                h.ev.insert(f.clone(), json!(joined));
                if eval_reference::pred(p, &Value::Object(h.ev.clone())) == Some(true) {
                    *g = h;
                    return true;
                }
            }
        }
        return false;
    }
    if g.missing.contains(&f) {
        return eval_reference::pred(p, &Value::Object(g.ev.clone())) == Some(want);
    }
    let missing_holds = matches!(p.test, Test::Null | Test::Exists(false));
    if want == missing_holds {
        g.missing.insert(f);
        return true;
    }
    let v = match &p.test {
        Test::Null | Test::Exists(false) => json!("set"),
        Test::FieldRef { field, .. } => {
            let other = g.ev.get(field).cloned().unwrap_or_else(|| json!("refval"));
            g.ev.insert(field.clone(), other.clone());
            other
        }
        t => match value_for(t) {
            Some(v) => v,
            None => return false,
        },
    };
    if matches!(p.test, Test::Str { .. }) {
        g.strings.push(f.clone());
    }
    g.ev.insert(f, v);
    true
}

/// Near misses of a matching event.
pub fn variants(g: &Gen) -> Vec<Value> {
    let mut out = Vec::new();
    for f in &g.strings {
        let Some(Value::String(s)) = g.ev.get(f) else {
            continue;
        };
        let mut with = |v: Value| {
            let mut e = g.ev.clone();
            e.insert(f.clone(), v);
            out.push(Value::Object(e));
        };
        let flipped: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        with(json!(flipped));
        if let Some((i, c)) = s.char_indices().find(|(_, c)| c.is_alphanumeric()) {
            let mut t = s.clone();
            t.replace_range(i..i + c.len_utf8(), if c == 'q' { "z" } else { "q" });
            with(json!(t));
        }
        with(json!(format!("{s} ")));
        with(json!(["zz", s]));
        with(json!(["zz"]));
        with(json!([]));
        with(Value::Null);
        with(json!([[s]]));
        with(json!([null, s]));
        let mut e = g.ev.clone();
        e.remove(f);
        out.push(Value::Object(e.clone()));
        if let Some((a, b)) = f.split_once('.') {
            e.insert(a.to_string(), json!({ b: s }));
            out.push(Value::Object(e));
        }
    }
    // Null-valued fields: any field set to `null` (an `exists: true` field among them), and
    // the fields that must have no value given as `null`, `[]` or `[null]` instead of missing.
    for f in g.ev.keys() {
        let mut e = g.ev.clone();
        e.insert(f.clone(), Value::Null);
        out.push(Value::Object(e));
    }
    if !g.missing.is_empty() {
        for none in [Value::Null, json!([]), json!([null])] {
            let mut e = g.ev.clone();
            for f in &g.missing {
                e.insert(f.clone(), none.clone());
            }
            out.push(Value::Object(e));
        }
    }
    out
}

/// Checks that `got` gives `want`'s native verdict on every event [`events_for`] builds from
/// `want`; panics at the first difference, naming `name` and showing `text` (the query or rule
/// text `got` was read from). Returns how many events were compared.
pub fn assert_same_verdicts(want: &Rule, got: &Rule, name: &str, text: &str) -> usize {
    let (Ok(a), Ok(b)) = (
        sigmat::eval::compile_rule(want),
        sigmat::eval::compile_rule(got),
    ) else {
        panic!("{name}: both compile\n{text}");
    };
    let events = events_for(want);
    for (kind, e) in &events {
        assert_eq!(
            b.is_match(e),
            a.is_match(e),
            "{name}: {kind} event {e}\n{text}"
        );
    }
    events.len()
}

/// Events for `rule`: (`"match"` / `"no match"` / `"near miss"`, event). The match and no-match
/// events are those the generator could build and the reference evaluator confirms; near
/// misses come from a confirmed match and may go either way.
pub fn events_for(rule: &Rule) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if rule.conditions.is_empty() {
        return out;
    }
    let cond = Expr::or(rule.conditions.clone());
    for (want, kind) in [(true, "match"), (false, "no match")] {
        let mut g = Gen::default();
        if satisfy(&cond, want, &mut g) {
            let e = Value::Object(g.ev.clone());
            if eval_reference::rule(rule, &e) == Some(want) {
                if want {
                    out.extend(variants(&g).into_iter().map(|v| ("near miss", v)));
                }
                out.push((kind, e));
            }
        }
    }
    out
}
