//! Witnesses: for a rule, a set of atoms one of which holds whenever the rule matches (see
//! the parent module).

use regex_syntax::hir::{Class, Hir, HirKind};

use super::{Atom, Witness};
use crate::eval::compile::FieldTable;
use crate::eval::matcher::{fold, rule_num_key};
use crate::ir::{CmpOp, Expr, Piece, Predicate, Rule, Test};

/// Ranks a witness: the shortest needle first (longer is more selective), then fewer atoms.
fn score(w: &Witness) -> (usize, std::cmp::Reverse<usize>) {
    let min = w.iter().map(Atom::strength).min().unwrap_or(0);
    (min, std::cmp::Reverse(w.len()))
}

/// The witness of a whole rule (its conditions are ORed), or `None`.
pub(crate) fn rule_witness(rule: &Rule, fields: &FieldTable) -> Option<Witness> {
    let mut out = Vec::new();
    for c in &rule.conditions {
        out.extend(witness(c, fields)?);
    }
    (!out.is_empty()).then_some(out)
}

fn witness(e: &Expr, fields: &FieldTable) -> Option<Witness> {
    match e {
        Expr::Pred(p) => pred_witness(p, fields),
        Expr::Or(xs) => {
            let mut out = Vec::new();
            for x in xs {
                out.extend(witness(x, fields)?);
            }
            out.sort_unstable();
            out.dedup();
            Some(out)
        }
        Expr::And(xs) => xs
            .iter()
            .filter_map(|x| witness(x, fields))
            .max_by_key(score),
        Expr::Not(_) => None,
    }
}

fn pred_witness(p: &Predicate, fields: &FieldTable) -> Option<Witness> {
    // Every name is interned before compilation; were one missing, no witness (the rule is
    // then evaluated on every event) is the safe answer.
    let field = match p.field.as_deref() {
        Some(f) => Some(fields.id(f)?),
        None => None,
    };
    let present = || field.map(|field| vec![Atom::Present { field }]);
    let needles: Vec<String> = match &p.test {
        Test::Str { pattern, .. } => {
            let best = pattern
                .pieces()
                .iter()
                .filter_map(|pc| match pc {
                    Piece::Lit(s) => Some(s),
                    Piece::AnyMany | Piece::AnyOne | Piece::Placeholder(_) => None,
                })
                .max_by_key(|s| s.len());
            match best {
                Some(b) => vec![fold(b)],
                None => return present(),
            }
        }
        Test::Regex { pattern, flags } => {
            let hir = regex_syntax::ParserBuilder::new()
                .case_insensitive(flags.ignore_case)
                .multi_line(flags.multi_line)
                .dot_matches_new_line(flags.dot_all)
                .build()
                .parse(pattern)
                .ok();
            match hir.as_ref().and_then(hir_witness) {
                Some(n) => n,
                None => return present(),
            }
        }
        Test::Num {
            op: CmpOp::Eq,
            value,
        } => {
            return match (field, rule_num_key(value)) {
                (Some(field), Some(key)) => Some(vec![Atom::NumEq { field, key }]),
                _ => present(),
            };
        }
        Test::Num { .. }
        | Test::Bool(_)
        | Test::Exists(true)
        | Test::Cidr(_)
        | Test::FieldRef { .. }
        | Test::TimePart { .. } => return present(),
        Test::Null | Test::Exists(false) => return None,
    };
    if needles.iter().any(String::is_empty) {
        return present();
    }
    Some(
        needles
            .into_iter()
            .map(|needle| Atom::Contains { field, needle })
            .collect(),
    )
}

/// Texts one of which every match of `hir` contains (folded), or `None` when no such set is
/// found. Works like the IR witness: a concatenation offers its runs of fixed text and its
/// children's sets (the best is taken), an alternation the union of its branches', a
/// repetition with a minimum of one its body's. A character class counts as fixed text when
/// all its members fold to the same text (so `(?i)abc` gives `abc`).
pub(super) fn hir_witness(hir: &Hir) -> Option<Vec<String>> {
    /// The folded texts a single-width piece can match, when few (a literal: one).
    fn fixed(h: &Hir) -> Option<Vec<String>> {
        let mut out: Vec<String> = match h.kind() {
            HirKind::Literal(l) => vec![fold(std::str::from_utf8(&l.0).ok()?)],
            HirKind::Class(Class::Unicode(c)) => {
                if c.iter().map(|r| r.len()).sum::<usize>() > 8 {
                    return None;
                }
                c.iter()
                    .flat_map(|r| r.start()..=r.end())
                    .map(|ch| fold(ch.encode_utf8(&mut [0; 4])))
                    .collect()
            }
            HirKind::Class(Class::Bytes(c)) => {
                if c.iter()
                    .map(|r| usize::from(r.end() - r.start()) + 1)
                    .sum::<usize>()
                    > 8
                {
                    return None;
                }
                let mut v = Vec::new();
                for b in c.iter().flat_map(|r| r.start()..=r.end()) {
                    v.push(fold(std::str::from_utf8(&[b]).ok()?));
                }
                v
            }
            _ => return None,
        };
        out.sort_unstable();
        out.dedup();
        (out.len() <= 3).then_some(out)
    }
    let best = |cands: Vec<Vec<String>>| {
        cands.into_iter().max_by_key(|w| {
            (
                w.iter().map(String::len).min().unwrap_or(0).min(24),
                std::cmp::Reverse(w.len()),
            )
        })
    };
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(_) | HirKind::Class(_) => fixed(hir),
        HirKind::Capture(c) => hir_witness(&c.sub),
        HirKind::Repetition(r) => {
            if r.min >= 1 {
                hir_witness(&r.sub)
            } else {
                None
            }
        }
        HirKind::Concat(xs) => {
            // `run`: the texts the current run of fixed pieces can be (a small cross product).
            let mut cands = Vec::new();
            let mut run: Vec<String> = vec![String::new()];
            let flush = |run: &mut Vec<String>, cands: &mut Vec<Vec<String>>| {
                if run.iter().all(|r| !r.is_empty()) {
                    cands.push(std::mem::replace(run, vec![String::new()]));
                } else {
                    *run = vec![String::new()];
                }
            };
            for x in xs {
                if let Some(alts) = fixed(x) {
                    if run.len() * alts.len() > 16 {
                        flush(&mut run, &mut cands);
                    }
                    run = run
                        .iter()
                        .flat_map(|r| alts.iter().map(move |a| format!("{r}{a}")))
                        .collect();
                    continue;
                }
                flush(&mut run, &mut cands);
                if let Some(w) = hir_witness(x) {
                    cands.push(w);
                }
            }
            flush(&mut run, &mut cands);
            best(cands)
        }
        HirKind::Alternation(xs) => {
            let mut out = Vec::new();
            for x in xs {
                out.extend(hir_witness(x)?);
            }
            out.sort_unstable();
            out.dedup();
            Some(out)
        }
    }
}
