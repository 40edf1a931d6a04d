//! Evaluation of processing conditions, as pySigma defines them.
//!
//! * Rule conditions look at the whole rule (or correlation).
//! * Detection item conditions look at one detection item: the predicates written under one
//!   key of a selection (same key path, same field), so `cond: any` / `cond: all` quantify over
//!   the values of that key as in pySigma.
//! * Field name conditions look at a field name. In a detection item they hold when the item's
//!   field, or the field it references (`fieldref`), matches.

use std::cmp::Ordering;

use serde_json::Value;

use super::model::{
    AttrOp, CondExpr, Conditions, DetectionItemCondition, FieldList, FieldNameCondition, Logic,
    Quantifier, RuleCondition, StateTest,
};
use super::transformations::{plain, sigma_pattern, Ctx, Leaf, Node};
use crate::ir::{CmpOp, Level, LogSource, Meta, Status, Test};

/// What a rule condition is evaluated on.
pub(crate) enum Subject<'a> {
    /// A detection rule.
    Rule {
        meta: &'a Meta,
        logsource: &'a LogSource,
        conditions: &'a [Node],
    },
    /// A correlation rule.
    Correlation { meta: &'a Meta },
}

/// Combines condition results as the item's op / expression / negation say. An empty set holds
/// (pySigma: `all([])`), and is negated like any other result.
fn combine<C>(set: &Conditions<C>, mut eval: impl FnMut(&C) -> bool) -> bool {
    fn expr<C>(e: &CondExpr, set: &Conditions<C>, eval: &mut impl FnMut(&C) -> bool) -> bool {
        match e {
            CondExpr::Ref(i) => eval(&set.items[*i].1),
            CondExpr::Not(x) => !expr(x, set, eval),
            CondExpr::And(xs) => xs.iter().all(|x| expr(x, set, eval)),
            CondExpr::Or(xs) => xs.iter().any(|x| expr(x, set, eval)),
        }
    }
    let r = match &set.logic {
        Logic::All => set.items.iter().all(|(_, c)| eval(c)),
        Logic::Any => set.items.iter().any(|(_, c)| eval(c)),
        Logic::Expr(e) => expr(e, set, &mut eval),
    };
    r != set.negated
}

/// Whether the rule conditions hold. pySigma: no rule condition at all means "applies", even
/// when `rule_cond_not` is set.
pub(crate) fn rule_ok(set: &Conditions<RuleCondition>, subject: &Subject<'_>, ctx: &Ctx) -> bool {
    set.items.is_empty() || combine(set, |c| rule_condition(c, subject, ctx))
}

fn rule_condition(c: &RuleCondition, subject: &Subject<'_>, ctx: &Ctx) -> bool {
    match c {
        RuleCondition::Logsource {
            category,
            product,
            service,
        } => match subject {
            Subject::Rule { logsource, .. } => {
                let ok =
                    |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
                ok(category, &logsource.category)
                    && ok(product, &logsource.product)
                    && ok(service, &logsource.service)
            }
            // pySigma looks at the referenced rules once resolved; sigmat applies pipelines to
            // a correlation on its own, so a log source condition does not hold for it.
            Subject::Correlation { .. } => false,
        },
        RuleCondition::ContainsDetectionItem { field, value } => match subject {
            Subject::Rule { conditions, .. } => any_leaf(conditions, &mut |l| {
                l.pred.field.is_some()
                    && l.pred.field == *field
                    && value_equals(&l.pred.test, value)
            }),
            Subject::Correlation { .. } => false,
        },
        RuleCondition::ContainsField(field) => match subject {
            Subject::Rule { conditions, .. } => any_leaf(conditions, &mut |l| {
                l.pred.field.is_some() && l.pred.field == *field
            }),
            Subject::Correlation { .. } => false,
        },
        RuleCondition::ProcessingItemApplied(id) => ctx.applied.iter().any(|a| a == id),
        RuleCondition::ProcessingState(t) => state_ok(t, ctx),
        RuleCondition::IsSigmaRule => matches!(subject, Subject::Rule { .. }),
        RuleCondition::IsSigmaCorrelationRule => matches!(subject, Subject::Correlation { .. }),
        RuleCondition::RuleAttribute {
            attribute,
            value,
            op,
        } => {
            let meta = match subject {
                Subject::Rule { meta, .. } | Subject::Correlation { meta } => meta,
            };
            attribute_ok(meta, attribute, value, *op)
        }
        RuleCondition::Tag(tag) => {
            let meta = match subject {
                Subject::Rule { meta, .. } | Subject::Correlation { meta } => meta,
            };
            meta.tags.iter().any(|t| t == tag)
        }
    }
}

fn any_leaf(nodes: &[Node], f: &mut impl FnMut(&Leaf) -> bool) -> bool {
    nodes.iter().any(|n| match n {
        Node::And(xs) | Node::Or(xs) => any_leaf(xs, f),
        Node::Not(x) => any_leaf(std::slice::from_ref(x), f),
        Node::Leaf(l) => f(l),
    })
}

/// pySigma's `ProcessingStateConditionBase.match_state`.
pub(crate) fn state_ok(t: &StateTest, ctx: &Ctx) -> bool {
    let Some(have) = ctx.state.get(&t.key) else {
        return false;
    };
    match t.op {
        AttrOp::Eq => json_eq(have, &t.val),
        AttrOp::Ne => !json_eq(have, &t.val),
        AttrOp::Gte | AttrOp::Gt | AttrOp::Lte | AttrOp::Lt => match json_cmp(have, &t.val) {
            Some(o) => op_holds(t.op, o),
            None => false,
        },
        AttrOp::In | AttrOp::NotIn => false,
    }
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn json_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn op_holds(op: AttrOp, o: Ordering) -> bool {
    match op {
        AttrOp::Eq => o == Ordering::Equal,
        AttrOp::Ne => o != Ordering::Equal,
        AttrOp::Gte => o != Ordering::Less,
        AttrOp::Gt => o == Ordering::Greater,
        AttrOp::Lte => o != Ordering::Greater,
        AttrOp::Lt => o == Ordering::Less,
        AttrOp::In | AttrOp::NotIn => false,
    }
}

/// pySigma's `RuleAttributeCondition`: strings compare with eq/ne, lists with in/not_in, and
/// level, status and dates are ordered.
fn attribute_ok(meta: &Meta, attribute: &str, want: &Value, op: AttrOp) -> bool {
    let list = |xs: &[String]| -> bool {
        let hit = want.as_str().is_some_and(|w| xs.iter().any(|x| x == w));
        match op {
            AttrOp::In => hit,
            AttrOp::NotIn => !hit,
            AttrOp::Ne => true,
            _ => false,
        }
    };
    let string = |s: &str| -> bool {
        match (op, want.as_str()) {
            (AttrOp::Eq, Some(w)) => s == w,
            (AttrOp::Ne, Some(w)) => s != w,
            (AttrOp::Ne, None) => true,
            _ => false,
        }
    };
    let ordered =
        |have: usize, want: Option<usize>| want.is_some_and(|w| op_holds(op, have.cmp(&w)));
    match attribute {
        "title" => string(&meta.title),
        "id" => meta.id.as_deref().is_some_and(string),
        "name" => meta.name.as_deref().is_some_and(string),
        "description" => meta.description.as_deref().is_some_and(string),
        "author" => meta.author.as_deref().is_some_and(string),
        "license" => meta.license.as_deref().is_some_and(string),
        "taxonomy" => string(meta.taxonomy.as_deref().unwrap_or("sigma")),
        "date" | "modified" => {
            let have = if attribute == "date" {
                &meta.date
            } else {
                &meta.modified
            };
            // ISO dates compare as text.
            match (have, want.as_str()) {
                (Some(h), Some(w)) => op_holds(op, h.as_str().cmp(w)),
                _ => false,
            }
        }
        "level" => meta.level.is_some_and(|l| {
            let rank = |l: Level| l as usize;
            let w = want.as_str().and_then(|w| {
                serde_json::from_value::<Level>(Value::String(w.to_lowercase())).ok()
            });
            ordered(rank(l), w.map(rank))
        }),
        "status" => meta.status.is_some_and(|s| {
            // pySigma's SigmaStatus order: unsupported < deprecated < experimental < test < stable.
            let rank = |s: Status| match s {
                Status::Unsupported => 1,
                Status::Deprecated => 2,
                Status::Experimental => 3,
                Status::Test => 4,
                Status::Stable => 5,
            };
            let w = want.as_str().and_then(|w| {
                serde_json::from_value::<Status>(Value::String(w.to_lowercase())).ok()
            });
            ordered(rank(s), w.map(rank))
        }),
        "tags" => list(&meta.tags),
        "references" => list(&meta.references),
        "falsepositives" => list(&meta.falsepositives),
        "fields" => list(&meta.fields),
        "scope" => list(&meta.scope),
        other => match meta.custom.get(other) {
            None => false,
            Some(Value::String(s)) => string(s),
            Some(Value::Array(xs)) => {
                let xs: Vec<String> = xs
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
                list(&xs)
            }
            Some(v @ Value::Number(_)) => match op {
                AttrOp::Eq => json_eq(v, want),
                AttrOp::Ne => !json_eq(v, want),
                _ => json_cmp(v, want).is_some_and(|o| op_holds(op, o)),
            },
            Some(v) => match op {
                AttrOp::Eq => v == want,
                AttrOp::Ne => v != want,
                _ => false,
            },
        },
    }
}

/// pySigma value equality between a detection item value and a YAML scalar (`match_value`,
/// `contains_detection_item`). Strings compare with strings (as Sigma strings, wildcards
/// included: the YAML string is read as a Sigma string and the pieces compare), numbers with
/// numbers, booleans with booleans, `null` with null.
pub(crate) fn value_equals(test: &Test, want: &Value) -> bool {
    match (test, want) {
        (Test::Str { pattern, .. }, Value::String(w)) => *pattern == sigma_pattern(w),
        (
            Test::Num {
                op: CmpOp::Eq,
                value,
            },
            Value::Number(n),
        ) => n
            .as_f64()
            .is_some_and(|n| (value.as_f64() - n).abs() < f64::EPSILON * n.abs().max(1.0)),
        (Test::Bool(b), Value::Bool(w)) => b == w,
        (Test::Null, Value::Null) => true,
        _ => false,
    }
}

/// Whether the detection item conditions hold for a detection item with these values.
pub(crate) fn detection_item_ok(
    set: &Conditions<DetectionItemCondition>,
    values: &[&Test],
    leaf: &Leaf,
    ctx: &Ctx,
) -> bool {
    combine(set, |c| {
        let quant = |q: Quantifier, f: &dyn Fn(&Test) -> bool| match q {
            Quantifier::Any => values.iter().any(|t| f(t)),
            Quantifier::All => values.iter().all(|t| f(t)),
        };
        match c {
            DetectionItemCondition::MatchString {
                cond,
                regex,
                negate,
            } => quant(*cond, &|t| {
                let hit = match t {
                    Test::Str { pattern, .. } => regex.is_match(&plain(pattern)),
                    _ => false,
                };
                hit != *negate
            }),
            DetectionItemCondition::MatchValue { cond, value } => {
                quant(*cond, &|t| value_equals(t, value))
            }
            DetectionItemCondition::ContainsWildcard(cond) => quant(*cond, &|t| match t {
                Test::Str { pattern, .. } => pattern.has_wildcards(),
                _ => false,
            }),
            DetectionItemCondition::IsNull(cond) => quant(*cond, &|t| matches!(t, Test::Null)),
            DetectionItemCondition::ProcessingItemApplied(id) => {
                leaf.applied.iter().any(|a| a == id)
            }
            DetectionItemCondition::ProcessingState(t) => state_ok(t, ctx),
        }
    })
}

fn list_has(list: &FieldList, name: &str) -> bool {
    match list {
        FieldList::Plain(xs) => xs.iter().any(|x| x == name),
        FieldList::Re(xs) => xs.iter().any(|r| r.is_match(name)),
    }
}

/// Field name conditions on a bare field name (pySigma `match_field_name`): used for the
/// `fields` list, field references and when a detection item's field is renamed.
pub(crate) fn field_name_ok(
    set: &Conditions<FieldNameCondition>,
    name: Option<&str>,
    ctx: &Ctx,
) -> bool {
    combine(set, |c| match c {
        FieldNameCondition::Include(l) => name.is_some_and(|n| list_has(l, n)),
        FieldNameCondition::Exclude(l) => !name.is_some_and(|n| list_has(l, n)),
        FieldNameCondition::ProcessingItemApplied(id) => {
            name.is_some_and(|n| ctx.field_applied.get(n).is_some_and(|s| s.contains(id)))
        }
        FieldNameCondition::ProcessingState(t) => state_ok(t, ctx),
    })
}

/// Field name conditions on a detection item (pySigma `match_detection_item`): the item's
/// field or its referenced field matches; `processing_item_applied` asks whether the item was
/// processed by that item.
pub(crate) fn field_name_ok_item(
    set: &Conditions<FieldNameCondition>,
    leaf: &Leaf,
    ctx: &Ctx,
) -> bool {
    let reference = match &leaf.pred.test {
        Test::FieldRef { field, .. } => Some(field.as_str()),
        _ => None,
    };
    let field = leaf.pred.field.as_deref();
    combine(set, |c| match c {
        FieldNameCondition::Include(l) => {
            field.is_some_and(|n| list_has(l, n)) || reference.is_some_and(|n| list_has(l, n))
        }
        FieldNameCondition::Exclude(l) => {
            !field.is_some_and(|n| list_has(l, n)) || reference.is_some_and(|n| !list_has(l, n))
        }
        FieldNameCondition::ProcessingItemApplied(id) => leaf.applied.iter().any(|a| a == id),
        FieldNameCondition::ProcessingState(t) => state_ok(t, ctx),
    })
}
