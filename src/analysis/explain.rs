//! Explanations: for each predicate of one rule, whether some event of a region is decided by
//! that predicate alone (flipping its truth would flip the rule), with that event.

use serde_json::Value;

use crate::ir::{CmpOp, Test};

use super::atoms::{Kind, ECS_NAME_INVARIANT, F};
use super::search::{lit, Ctx};
use super::{Difference, Region, RegionName};

/// Predicates examined per region; past this many the list says so.
const MAX_ATOMS: usize = 64;

/// The differences behind the non-empty regions.
pub fn differences(ctx: &mut Ctx<'_>, a_only: &Region, b_only: &Region) -> Vec<Difference> {
    let mut out = Vec::new();
    if !a_only.empty && a_only.unknown.is_none() {
        side(ctx, RegionName::AOnly, &mut out);
    }
    if !b_only.empty && b_only.unknown.is_none() {
        side(ctx, RegionName::BOnly, &mut out);
    }
    out
}

/// The region's accepting rule ("mine") and the rejecting one ("other"), with their letters.
fn side(ctx: &mut Ctx<'_>, region: RegionName, out: &mut Vec<Difference>) {
    let table = ctx.table;
    let (mine, other, expect, me, them) = match region {
        RegionName::AOnly => (&table.a, &table.b, (true, false), "A", "B"),
        RegionName::BOnly => (&table.b, &table.a, (false, true), "B", "A"),
    };
    let in_other = |i: usize| match region {
        RegionName::AOnly => !table.atoms[i].b_at.is_empty(),
        RegionName::BOnly => !table.atoms[i].a_at.is_empty(),
    };
    let candidates: Vec<usize> = (0..table.atoms.len())
        .filter(|&i| in_other(i) && other.mentions(i))
        .collect();
    for &x in candidates.iter().take(MAX_ATOMS) {
        // The atom decides: the other rule rejects, and would accept with the atom flipped.
        let critical = F::Or(vec![
            F::And(vec![lit(x, true), other.substitute(x, false)]),
            F::And(vec![lit(x, false), other.substitute(x, true)]),
        ]);
        let f = F::And(vec![
            mine.clone(),
            F::Not(Box::new(other.clone())),
            critical,
        ]);
        let Ok(Some(m)) = ctx.find(&f, expect) else {
            continue;
        };
        let truth = m.cube.iter().find(|c| c.0 == x).map_or(false, |c| c.1);
        let d = describe(ctx, x, truth, &m.event, region, me, them);
        if !out.iter().any(|o: &Difference| o.explanation == d.explanation) {
            out.push(d);
        }
    }
    if candidates.len() > MAX_ATOMS {
        out.push(Difference {
            explanation: format!(
                "only the first {MAX_ATOMS} of {them}'s {} predicates were examined",
                candidates.len()
            ),
            region,
            a: Vec::new(),
            b: Vec::new(),
            witness: Value::Null,
        });
    }
}

fn describe(
    ctx: &Ctx<'_>,
    x: usize,
    truth: bool,
    event: &Value,
    region: RegionName,
    me: &str,
    them: &str,
) -> Difference {
    let table = ctx.table;
    let atom = &table.atoms[x];
    let field = &table.fields[atom.field];
    let shown = atom.pred.field.clone().unwrap_or_default();
    let value = event.get(&shown).cloned();
    let mine_at = |i: usize| match region {
        RegionName::AOnly => &table.atoms[i].a_at,
        RegionName::BOnly => &table.atoms[i].b_at,
    };
    let same_field: Vec<String> = (0..table.atoms.len())
        .filter(|&i| table.atoms[i].field == atom.field)
        .flat_map(|i| mine_at(i).clone())
        .collect();
    let other_at = match region {
        RegionName::AOnly => atom.b_at.clone(),
        RegionName::BOnly => atom.a_at.clone(),
    };
    let desc = pred_text(&atom.pred.test, &shown);
    let mut text = if truth {
        format!("{them} excludes {desc} ({}); {me} does not", other_at.join(", "))
    } else {
        match &value {
            None => format!(
                "{them} requires {desc} ({}); {me} also matches events without {shown}",
                other_at.join(", ")
            ),
            Some(v) => {
                let shown_v = show(v);
                let cased_only = match &atom.kind {
                    Kind::Elem(e) => matches!(e.test, Test::Str { cased: true, .. }),
                    Kind::HasValue => false,
                };
                if cased_only && folds_match(atom, v) {
                    format!(
                        "{them}'s {desc} ({}) is case-sensitive: an event with {shown} {shown_v} \
                         is caught by {me} only",
                        other_at.join(", ")
                    )
                } else {
                    let mut t = format!(
                        "{them} requires {desc} ({}); {me} also accepts {shown} {shown_v}",
                        other_at.join(", ")
                    );
                    let more = more_values(ctx, x, region);
                    if !more.is_empty() {
                        t = format!(
                            "{them} requires {desc} ({}); {me} also accepts {shown} values {}",
                            other_at.join(", "),
                            more.join(", ")
                        );
                    }
                    t
                }
            }
        }
    };
    if field.derive_name {
        text.push_str(&format!(" [{ECS_NAME_INVARIANT}]"));
    }
    let (a, b) = match region {
        RegionName::AOnly => (same_field, other_at),
        RegionName::BOnly => (other_at, same_field),
    };
    Difference {
        explanation: text,
        region,
        a,
        b,
        witness: event.clone(),
    }
}

/// The accepting rule's literal values on the atom's field that the atom rejects.
fn more_values(ctx: &Ctx<'_>, x: usize, region: RegionName) -> Vec<String> {
    let table = ctx.table;
    let Kind::Elem(e) = &table.atoms[x].kind else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, a) in table.atoms.iter().enumerate() {
        let mine = match region {
            RegionName::AOnly => !a.a_at.is_empty(),
            RegionName::BOnly => !a.b_at.is_empty(),
        };
        if i == x || a.field != table.atoms[x].field || !mine {
            continue;
        }
        if let Kind::Elem(other) = &a.kind {
            if let Test::Str { pattern, .. } = &other.test {
                if let Some(lit) = pattern.as_literal() {
                    if !e.holds(lit) {
                        out.push(format!("`{lit}`"));
                    }
                }
            }
        }
    }
    out
}

fn folds_match(atom: &super::atoms::Atom, v: &Value) -> bool {
    let Kind::Elem(e) = &atom.kind else {
        return false;
    };
    let Test::Str { pattern, .. } = &e.test else {
        return false;
    };
    let m = crate::eval::matcher::StrMatcher::new(pattern, false);
    let texts: Vec<String> = match v {
        Value::Array(xs) => xs.iter().map(text).collect(),
        v => vec![text(v)],
    };
    texts
        .iter()
        .any(|t| m.is_match(&crate::eval::matcher::fold(t)))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        v => format!("`{v}`"),
    }
}

/// A predicate in words.
pub fn pred_text(test: &Test, field: &str) -> String {
    match test {
        Test::Str { pattern, cased } => {
            let how = if *cased { ", case-sensitive" } else { "" };
            match pattern.as_literal() {
                Some(l) => format!("{field} == \"{l}\"{how}"),
                None => format!("{field} like \"{pattern}\"{how}"),
            }
        }
        Test::Regex { pattern, flags } => {
            let i = if flags.ignore_case { "i" } else { "" };
            format!("{field} regex /{pattern}/{i}")
        }
        Test::Num { op, value } => {
            let op = match op {
                CmpOp::Eq => "==",
                CmpOp::Lt => "<",
                CmpOp::Lte => "<=",
                CmpOp::Gt => ">",
                CmpOp::Gte => ">=",
                CmpOp::Neq => "!=",
            };
            format!("{field} {op} {}", value.text)
        }
        Test::Bool(b) => format!("{field} == {b}"),
        Test::Null => format!("{field} is null"),
        Test::Exists(b) => {
            if *b {
                format!("{field} to have a value")
            } else {
                format!("{field} to have no value")
            }
        }
        Test::Cidr(n) => format!("{field} in {n}"),
        Test::FieldRef { field: other, .. } => format!("{field} compared with {other}"),
        Test::TimePart { .. } => format!("{field} time part"),
    }
}
