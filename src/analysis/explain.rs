//! Explanations: for each predicate of one rule, whether some event of a region is decided by
//! that predicate alone (flipping its truth would flip the rule), with that event.

use serde_json::Value;

use crate::ir::{CmpOp, Test};

use super::atoms::{Kind, ECS_ARGS_INVARIANT, ECS_NAME_INVARIANT, F};
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

/// Why one atom decides some events of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// The other rule excludes what the atom matches.
    Excludes,
    /// The other rule's atom is case-sensitive and a case variant is what differs.
    Cased,
    /// The other rule requires the atom; the value shown fails it.
    Requires,
    /// The other rule requires the atom; the field is missing.
    RequiresMissing,
}

struct Pending {
    field: usize,
    why: Why,
    atoms: Vec<usize>,
    event: Value,
}

/// The region's accepting rule ("mine") and the rejecting one ("other"), with their letters.
fn side(ctx: &mut Ctx<'_>, region: RegionName, out: &mut Vec<Difference>) {
    let table = ctx.table;
    let (mine, other, expect) = match region {
        RegionName::AOnly => (&table.a, &table.b, (true, false)),
        RegionName::BOnly => (&table.b, &table.a, (false, true)),
    };
    let in_other = |i: usize| match region {
        RegionName::AOnly => !table.atoms[i].b_at.is_empty(),
        RegionName::BOnly => !table.atoms[i].a_at.is_empty(),
    };
    let candidates: Vec<usize> = (0..table.atoms.len())
        .filter(|&i| in_other(i) && other.mentions(i))
        .collect();
    let mut pending: Vec<Pending> = Vec::new();
    for &x in candidates.iter().take(MAX_ATOMS) {
        // The atom decides: the other rule rejects, and would accept with the atom flipped.
        let critical = F::Or(vec![
            F::And(vec![lit(x, true), other.substitute(x, false)]),
            F::And(vec![lit(x, false), other.substitute(x, true)]),
        ]);
        let base = F::And(vec![
            mine.clone(),
            F::Not(Box::new(other.clone())),
            critical,
        ]);
        let field = table.atoms[x].field;
        let mut tries: Vec<(F, Why)> = Vec::new();
        if let Some(Some(c)) = table.folded.get(x) {
            let f = F::And(vec![base.clone(), lit(x, false), lit(*c, true)]);
            tries.push((f, Why::Cased));
        }
        let twin = table.folded.get(x).copied().flatten();
        if let Some(&h) = table.has.get(field) {
            // A value that differs by more than case, when the atom has a case-folded twin.
            let mut f = vec![base.clone(), lit(h, true)];
            f.extend(twin.map(|c| F::Or(vec![lit(x, true), lit(c, false)])));
            tries.push((F::And(f), Why::Requires));
        }
        let mut f = vec![base];
        f.extend(twin.map(|c| F::Or(vec![lit(x, true), lit(c, false)])));
        tries.push((F::And(f), Why::RequiresMissing));
        for (f, why) in tries {
            // A case variant explains only when it is the field's one value.
            let single = (why == Why::Cased).then_some(field);
            let Ok(Some(m)) = ctx.find_single(&f, expect, single) else {
                continue;
            };
            let truth = m.cube.iter().find(|c| c.0 == x).is_some_and(|c| c.1);
            let shown = table.atoms[x].pred.field.clone().unwrap_or_default();
            let why = match why {
                _ if truth => Why::Excludes,
                Why::Cased => Why::Cased,
                Why::Requires | Why::RequiresMissing | Why::Excludes => {
                    if m.event.get(&shown).is_some() {
                        Why::Requires
                    } else {
                        Why::RequiresMissing
                    }
                }
            };
            match pending
                .iter_mut()
                .find(|p| p.field == field && p.why == why)
            {
                Some(p) => p.atoms.push(x),
                None => pending.push(Pending {
                    field,
                    why,
                    atoms: vec![x],
                    event: m.event,
                }),
            }
            if why != Why::Cased {
                break;
            }
        }
    }
    for p in pending {
        out.push(describe(ctx, &p, region));
    }
    if candidates.len() > MAX_ATOMS {
        let them = if region == RegionName::AOnly {
            "B"
        } else {
            "A"
        };
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

fn describe(ctx: &Ctx<'_>, p: &Pending, region: RegionName) -> Difference {
    let table = ctx.table;
    let (me, them) = match region {
        RegionName::AOnly => ("A", "B"),
        RegionName::BOnly => ("B", "A"),
    };
    let first = &table.atoms[p.atoms[0]];
    let shown = first.pred.field.clone().unwrap_or_default();
    let at_of = |i: usize, mine: bool| -> &Vec<String> {
        match (region, mine) {
            (RegionName::AOnly, true) | (RegionName::BOnly, false) => &table.atoms[i].a_at,
            (RegionName::AOnly, false) | (RegionName::BOnly, true) => &table.atoms[i].b_at,
        }
    };
    let other_at: Vec<String> = p
        .atoms
        .iter()
        .flat_map(|&i| at_of(i, false).clone())
        .collect();
    let same_field: Vec<String> = (0..table.atoms.len())
        .filter(|&i| table.atoms[i].field == p.field)
        .flat_map(|i| at_of(i, true).clone())
        .collect();
    let desc = group_text(table, &p.atoms, &shown);
    let paths = other_at.join(", ");
    let value = p.event.get(&shown).map(show).unwrap_or_default();
    let mut text = match p.why {
        Why::Excludes => format!("{them} excludes {desc} ({paths}); {me} does not"),
        Why::Cased => format!(
            "{them}'s {desc} ({paths}) is case-sensitive: an event with {shown} {value} is \
             caught by {me} only"
        ),
        Why::RequiresMissing => {
            format!("{them} requires {desc} ({paths}); {me} also matches events without {shown}")
        }
        Why::Requires => {
            let more = if p.atoms.len() == 1 {
                more_values(ctx, p.atoms[0], region)
            } else {
                Vec::new()
            };
            if more.len() > 1 {
                format!(
                    "{them} requires {desc} ({paths}); {me} also accepts {shown} values {}",
                    more.join(", ")
                )
            } else {
                format!("{them} requires {desc} ({paths}); {me} also accepts {shown} {value}")
            }
        }
    };
    if table.fields[p.field].derive_name {
        text.push_str(&format!(" [{ECS_NAME_INVARIANT}]"));
    }
    if table.fields[p.field].derive_command_line {
        text.push_str(&format!(" [{ECS_ARGS_INVARIANT}]"));
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
        witness: p.event.clone(),
    }
}

/// Atoms on one field in words: `process.name == "bash" or "dash" (case-sensitive)`.
fn group_text(table: &super::atoms::Table, atoms: &[usize], field: &str) -> String {
    let mut parts = Vec::new();
    let mut all_cased = true;
    for &i in atoms {
        let t = &table.atoms[i].pred.test;
        all_cased &= matches!(t, Test::Str { cased: true, .. });
        let full = pred_text(t, field);
        let v = full
            .strip_prefix(field)
            .unwrap_or(&full)
            .trim_start()
            .trim_end_matches(", case-sensitive")
            .to_string();
        parts.push(v);
    }
    let cased = if all_cased { " (case-sensitive)" } else { "" };
    format!("{field} {}{cased}", parts.join(" or "))
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
