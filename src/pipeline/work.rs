//! The machinery every transformation of detection items shares: where an item applies
//! ([`Scope`]), the rule being processed ([`Work`]), detection items (the predicates written
//! under one key of a selection: same key path without its trailing `[n]`, same field), which
//! predicates an item selects, and the in-place rewrite of the selected predicates
//! ([`for_each_item`]).

use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::ir::{LogSource, Meta, Test};
use crate::pipeline::conditions::field_name;
use crate::pipeline::conditions::rule::Subject;
use crate::pipeline::conditions::{
    Conditions, DetectionItemCondition, FieldNameCondition, RuleCondition,
};
use crate::pipeline::node::{Ctx, Leaf, Node};

/// Where a processing item applies, and what it is called.
#[derive(Debug, Clone)]
pub struct Scope {
    /// `id`, the name `processing_item_applied` conditions refer to.
    pub id: Option<String>,
    /// Key path in the pipeline file, e.g. `transformations[3]`.
    pub path: String,
    /// `rule_conditions` with `rule_cond_op` / `rule_cond_not` / `rule_cond_expr`.
    pub rule_conditions: Conditions<RuleCondition>,
    /// `detection_item_conditions` with their op / not / expr.
    pub detection_item_conditions: Conditions<DetectionItemCondition>,
    /// `field_name_conditions` with their op / not / expr.
    pub field_name_conditions: Conditions<FieldNameCondition>,
    /// `id`, shared with the predicates it is applied to.
    pub(crate) shared_id: Option<Arc<str>>,
}

impl Scope {
    /// The id, or the key path when the item has none (for messages).
    #[must_use]
    pub fn label(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.path)
    }
}

/// A rule while pipelines run.
pub(crate) struct Work<'a> {
    /// The name of the pipeline running.
    pub pipeline: &'a str,
    pub meta: Meta,
    pub logsource: LogSource,
    pub conditions: Vec<Node>,
    pub file: Option<&'a str>,
}

impl Work<'_> {
    /// An error of the item on this rule.
    pub(crate) fn err(&self, item: &Scope, msg: impl std::fmt::Display) -> Error {
        let e = Error::new(ErrorKind::Pipeline(format!(
            "{msg} (pipeline `{}`, item `{}`, rule `{}`)",
            self.pipeline,
            item.label(),
            self.meta.title
        )));
        match self.file {
            Some(f) => e.in_file(f.to_string()),
            None => e,
        }
    }

    /// The rule as rule conditions see it.
    pub(crate) fn subject(&self) -> Subject<'_> {
        Subject::Rule {
            meta: &self.meta,
            logsource: &self.logsource,
            conditions: &self.conditions,
        }
    }

    /// The predicates, depth first.
    pub(crate) fn leaves(&self) -> Vec<&Leaf> {
        let mut out = Vec::new();
        self.conditions.iter().for_each(|c| c.leaves(&mut out));
        out
    }
}

/// What a transformation did to one predicate.
pub(crate) enum Changed {
    /// Nothing (the predicate is not marked as processed).
    No,
    /// Edited in place (marked as processed).
    Edited,
    /// Replaced by this node (marked as processed).
    Replaced(Node),
    /// Removed.
    Drop,
}

/// Sets the test of a predicate.
pub(crate) fn set_test(leaf: &mut Leaf, test: Test) -> Changed {
    leaf.pred.test = test;
    Changed::Edited
}

/// A copy of the predicate with another test.
pub(crate) fn with_test(leaf: &Leaf, test: Test) -> Node {
    let mut l = leaf.clone();
    l.pred.test = test;
    Node::Leaf(l)
}

/// The detection item a predicate belongs to: its key path without the value index, and its
/// field. Predicates without a key path are items of their own (`own` is their index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ItemKey<'a> {
    pub at: &'a str,
    pub field: Option<&'a str>,
    pub own: Option<usize>,
}

pub(crate) fn item_key(leaf: &Leaf, index: usize) -> ItemKey<'_> {
    let at = leaf.pred.at.as_str();
    let field = leaf.pred.field.as_deref();
    if at.is_empty() {
        return ItemKey {
            at,
            field,
            own: Some(index),
        };
    }
    let base = match at
        .strip_suffix(']')
        .and_then(|s| s.rfind('[').map(|i| (s, i)))
    {
        Some((s, i)) if s[i + 1..].chars().all(|c| c.is_ascii_digit()) => &at[..i],
        _ => at,
    };
    ItemKey {
        at: base,
        field,
        own: None,
    }
}

/// The detection item of every leaf, as a group number (groups numbered in order of their
/// first leaf), and the number of groups.
pub(crate) fn groups(leaves: &[&Leaf]) -> (Vec<usize>, usize) {
    let keys: Vec<ItemKey<'_>> = leaves
        .iter()
        .enumerate()
        .map(|(i, l)| item_key(l, i))
        .collect();
    let mut order: Vec<usize> = (0..leaves.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]).then(a.cmp(&b)));
    let mut group = vec![0; leaves.len()];
    let mut n = 0;
    for (k, &i) in order.iter().enumerate() {
        if k == 0 || keys[order[k - 1]] != keys[i] {
            n += 1;
        }
        group[i] = n - 1;
    }
    // Renumber in order of first appearance, so that group order follows the rule.
    let mut renum = vec![usize::MAX; n];
    let mut next = 0;
    for g in &mut group {
        if renum[*g] == usize::MAX {
            renum[*g] = next;
            next += 1;
        }
        *g = renum[*g];
    }
    (group, n)
}

/// For every predicate (depth first), whether the item's detection item and field name
/// conditions select it.
pub(crate) fn selection(item: &Scope, w: &Work<'_>, ctx: &Ctx<'_>) -> Vec<bool> {
    let leaves = w.leaves();
    let dic = &item.detection_item_conditions;
    let fnc = &item.field_name_conditions;
    let mut selected: Vec<bool> = if fnc.always() {
        vec![true; leaves.len()]
    } else {
        leaves
            .iter()
            .map(|l| field_name::item_ok(fnc, l, ctx))
            .collect()
    };
    if dic.always() || !selected.contains(&true) {
        return selected;
    }
    let (group, n) = groups(&leaves);
    let mut values: Vec<Vec<&Test>> = vec![Vec::new(); n];
    for (l, g) in leaves.iter().zip(&group) {
        values[*g].push(&l.pred.test);
    }
    // Conditions on the values hold or not for the whole detection item: computed once.
    let mut cache: Vec<Vec<Option<bool>>> = vec![Vec::new(); n];
    for (i, l) in leaves.iter().enumerate() {
        if !selected[i] {
            continue;
        }
        let g = group[i];
        if cache[g].is_empty() {
            cache[g] = vec![None; dic.items.len()];
        }
        let vals = &values[g];
        let memo = &mut cache[g];
        selected[i] = dic.combine(|ci, c| {
            if c.on_values() {
                *memo[ci].get_or_insert_with(|| c.holds(vals, None, ctx))
            } else {
                c.holds(vals, Some(l), ctx)
            }
        });
    }
    selected
}

/// A transformation of one selected predicate: the predicate, its index (depth first) and the
/// shared state. An error message is placed on the item and the predicate's key path.
pub(crate) type Visit<'f, 'p> =
    dyn FnMut(&mut Leaf, usize, &mut Ctx<'p>) -> std::result::Result<Changed, String> + 'f;

/// Calls `f` on every predicate of every detection item that the item's detection item and
/// field name conditions select (decided before anything changes), and applies what it did.
/// An `and` / `or` / `not` left empty disappears; a condition left empty is an error.
pub(crate) fn for_each_item<'p>(
    item: &Scope,
    type_name: &str,
    w: &mut Work<'_>,
    ctx: &mut Ctx<'p>,
    f: &mut Visit<'_, 'p>,
) -> Result<()> {
    let selected = selection(item, w, ctx);
    let mut conds = std::mem::take(&mut w.conditions);
    let mut index = 0usize;
    let mut failed: Option<(String, String)> = None;
    let mut visit = |leaf: &mut Leaf| -> std::result::Result<Changed, ()> {
        let i = index;
        index += 1;
        if !selected[i] {
            return Ok(Changed::No);
        }
        match f(leaf, i, ctx) {
            Ok(Changed::Edited) => {
                if let Some(id) = &item.shared_id {
                    leaf.mark(id);
                }
                Ok(Changed::Edited)
            }
            Ok(Changed::Replaced(mut n)) => {
                if let Some(id) = &item.shared_id {
                    n.mark(id);
                }
                Ok(Changed::Replaced(n))
            }
            Ok(c @ (Changed::No | Changed::Drop)) => Ok(c),
            Err(m) => {
                failed = Some((m, leaf.pred.at.clone()));
                Err(())
            }
        }
    };
    let mut emptied = None;
    for (ci, c) in conds.iter_mut().enumerate() {
        match rewrite(c, &mut visit) {
            Ok(true) => {}
            Ok(false) => {
                emptied.get_or_insert(ci);
            }
            Err(()) => break,
        }
    }
    if let Some((m, at)) = failed {
        let e = w.err(item, m);
        return Err(if at.is_empty() { e } else { e.at(at) });
    }
    if let Some(ci) = emptied {
        return Err(w.err(
            item,
            format!(
                "`{type_name}` removed every predicate of condition {}; nothing would be left to match",
                ci + 1
            ),
        ));
    }
    w.conditions = conds;
    Ok(())
}

/// Rewrites every leaf of `node` in place; `false` when nothing is left of it.
fn rewrite(
    node: &mut Node,
    f: &mut dyn FnMut(&mut Leaf) -> std::result::Result<Changed, ()>,
) -> std::result::Result<bool, ()> {
    match node {
        Node::And(xs) | Node::Or(xs) => {
            if xs.is_empty() {
                return Ok(false);
            }
            let mut failed = false;
            xs.retain_mut(|x| {
                if failed {
                    return true;
                }
                rewrite(x, f).unwrap_or_else(|()| {
                    failed = true;
                    true
                })
            });
            if failed {
                return Err(());
            }
            Ok(!xs.is_empty())
        }
        Node::Not(x) => rewrite(x, f),
        Node::Leaf(l) => match f(l)? {
            Changed::No | Changed::Edited => Ok(true),
            Changed::Replaced(n) => {
                *node = n;
                Ok(true)
            }
            Changed::Drop => Ok(false),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Predicate;

    fn leaf(at: &str, field: &str) -> Leaf {
        Leaf {
            pred: Predicate {
                field: Some(field.into()),
                test: Test::Null,
                at: at.into(),
            },
            applied: vec![],
        }
    }

    #[test]
    fn item_keys_strip_value_index() {
        let a = leaf("detection.sel.A|endswith[2]", "A");
        assert_eq!(item_key(&a, 0).at, "detection.sel.A|endswith");
        let b = leaf("detection.sel[1].A", "A");
        assert_eq!(item_key(&b, 0).at, "detection.sel[1].A");
        let c = leaf("", "A");
        assert_eq!(item_key(&c, 7).own, Some(7));
    }

    #[test]
    fn groups_follow_keys_in_rule_order() {
        let ls = [
            leaf("detection.b.X[0]", "X"),
            leaf("detection.a.Y[0]", "Y"),
            leaf("detection.b.X[1]", "X"),
            leaf("", "X"),
            leaf("", "X"),
        ];
        let refs: Vec<&Leaf> = ls.iter().collect();
        assert_eq!(groups(&refs), (vec![0, 1, 0, 2, 3], 4));
    }
}
