//! Rule conditions: they look at the whole rule (or correlation rule), as pySigma's
//! `RuleProcessingCondition`s do.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::state::{json_cmp, json_eq, op_holds, AttrOp, Empty, ItemApplied, StateTest};
use crate::error::Result;
use crate::ir::{Level, LogSource, Meta, Status};
use crate::pipeline::node::{Ctx, Node};
use crate::pipeline::reader::{cond_params, type_of, Reader};
use crate::pipeline::values::{value_equals, Wanted};

/// A condition on the whole rule.
#[derive(Debug, Clone)]
pub enum RuleCondition {
    /// `logsource`: every key given equals the rule's.
    Logsource(LogsourceCondition),
    /// `contains_detection_item`: a predicate on `field` whose value equals `value`.
    ContainsDetectionItem(ContainsDetectionItem),
    /// `contains_field`: a predicate on `field`.
    ContainsField(Option<String>),
    /// `processing_item_applied`: the item with this id was applied to the rule.
    ProcessingItemApplied(String),
    /// `processing_state`: the pipeline state key compares with the value.
    ProcessingState(StateTest),
    /// `is_sigma_rule`
    IsSigmaRule,
    /// `is_sigma_correlation_rule`
    IsSigmaCorrelationRule,
    /// `rule_attribute`: a metadata attribute compares with the value.
    RuleAttribute(RuleAttribute),
    /// `tag`: the rule has this tag.
    Tag(String),
}

/// `logsource`: holds when every key given equals the rule's log source key.
///
/// ```yaml
/// - type: logsource
///   product: windows
///   category: process_creation
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsourceCondition {
    /// `category`
    #[serde(default)]
    pub category: Option<String>,
    /// `product`
    #[serde(default)]
    pub product: Option<String>,
    /// `service`
    #[serde(default)]
    pub service: Option<String>,
}

/// `contains_detection_item`: holds when a predicate tests `field` against `value` (a Sigma
/// string, a number, a boolean or null).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainsDetectionItem {
    /// The field.
    pub field: Option<String>,
    /// The value, read once.
    pub value: Wanted,
}

/// `rule_attribute`: holds when a metadata attribute compares with `value` (strings with
/// eq/ne, lists with in/not_in; level, status and dates are ordered).
///
/// ```yaml
/// - type: rule_attribute
///   attribute: level
///   value: medium
///   op: gte
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleAttribute {
    /// The attribute (`level`, `status`, `date`, `author`, a custom key...).
    pub attribute: String,
    /// The value.
    pub value: Value,
    /// The comparison (`eq` by default).
    #[serde(default)]
    pub op: AttrOp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContainsField {
    field: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tag {
    tag: String,
}

/// Reads one rule condition.
pub(crate) fn read(r: &Reader, m: &Map<String, Value>, path: &str) -> Result<RuleCondition> {
    let ty = type_of(r, m, path, "condition")?;
    Ok(match ty {
        "logsource" => RuleCondition::Logsource(cond_params(r, m, ty, path)?),
        "contains_detection_item" => {
            RuleCondition::ContainsDetectionItem(cond_params(r, m, ty, path)?)
        }
        "contains_field" => {
            RuleCondition::ContainsField(cond_params::<ContainsField>(r, m, ty, path)?.field)
        }
        "processing_item_applied" => RuleCondition::ProcessingItemApplied(
            cond_params::<ItemApplied>(r, m, ty, path)?.processing_item_id,
        ),
        "processing_state" => RuleCondition::ProcessingState(cond_params(r, m, ty, path)?),
        "is_sigma_rule" => {
            cond_params::<Empty>(r, m, ty, path)?;
            RuleCondition::IsSigmaRule
        }
        "is_sigma_correlation_rule" => {
            cond_params::<Empty>(r, m, ty, path)?;
            RuleCondition::IsSigmaCorrelationRule
        }
        "rule_attribute" => RuleCondition::RuleAttribute(cond_params(r, m, ty, path)?),
        "tag" => RuleCondition::Tag(cond_params::<Tag>(r, m, ty, path)?.tag),
        other => {
            return Err(r
                .err(path, format!("unsupported rule condition type `{other}`"))
                .hint("rule conditions: logsource, contains_detection_item, contains_field, processing_item_applied, processing_state, is_sigma_rule, is_sigma_correlation_rule, rule_attribute, tag"))
        }
    })
}

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

impl Subject<'_> {
    fn meta(&self) -> &Meta {
        match self {
            Subject::Rule { meta, .. } | Subject::Correlation { meta } => meta,
        }
    }
}

impl RuleCondition {
    /// Whether the condition holds for the subject.
    pub(crate) fn holds(&self, subject: &Subject<'_>, ctx: &Ctx<'_>) -> bool {
        let conditions = match subject {
            Subject::Rule { conditions, .. } => *conditions,
            // pySigma looks at the referenced rules once resolved; sigmat applies pipelines
            // to a correlation on its own, so log source and detection conditions do not hold.
            Subject::Correlation { .. } => &[],
        };
        let any_leaf = |f: &mut dyn FnMut(&crate::pipeline::node::Leaf) -> bool| {
            conditions.iter().any(|n| n.any_leaf(&mut |l| f(l)))
        };
        match self {
            RuleCondition::Logsource(want) => match subject {
                Subject::Rule { logsource, .. } => {
                    let ok = |w: &Option<String>, have: &Option<String>| w.is_none() || w == have;
                    ok(&want.category, &logsource.category)
                        && ok(&want.product, &logsource.product)
                        && ok(&want.service, &logsource.service)
                }
                Subject::Correlation { .. } => false,
            },
            RuleCondition::ContainsDetectionItem(d) => any_leaf(&mut |l| {
                l.pred.field.is_some()
                    && l.pred.field == d.field
                    && value_equals(&l.pred.test, &d.value)
            }),
            RuleCondition::ContainsField(field) => {
                any_leaf(&mut |l| l.pred.field.is_some() && l.pred.field == *field)
            }
            RuleCondition::ProcessingItemApplied(id) => ctx.applied.iter().any(|a| a == id),
            RuleCondition::ProcessingState(t) => t.holds(ctx),
            RuleCondition::IsSigmaRule => matches!(subject, Subject::Rule { .. }),
            RuleCondition::IsSigmaCorrelationRule => matches!(subject, Subject::Correlation { .. }),
            RuleCondition::RuleAttribute(a) => a.holds(subject.meta()),
            RuleCondition::Tag(tag) => subject.meta().tags.iter().any(|t| t == tag),
        }
    }
}

impl RuleAttribute {
    /// pySigma's `RuleAttributeCondition`.
    fn holds(&self, meta: &Meta) -> bool {
        let (want, op) = (&self.value, self.op);
        let list = |xs: &[String]| -> bool {
            let hit = want.as_str().is_some_and(|w| xs.iter().any(|x| x == w));
            match op {
                AttrOp::In => hit,
                AttrOp::NotIn => !hit,
                AttrOp::Ne => true,
                AttrOp::Eq | AttrOp::Gte | AttrOp::Gt | AttrOp::Lte | AttrOp::Lt => false,
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
        match self.attribute.as_str() {
            "title" => string(&meta.title),
            "id" => meta.id.as_deref().is_some_and(string),
            "name" => meta.name.as_deref().is_some_and(string),
            "description" => meta.description.as_deref().is_some_and(string),
            "author" => meta.author.as_deref().is_some_and(string),
            "license" => meta.license.as_deref().is_some_and(string),
            "taxonomy" => string(meta.taxonomy.as_deref().unwrap_or("sigma")),
            // ISO dates compare as text.
            "date" => dates(meta.date.as_deref(), want, op),
            "modified" => dates(meta.modified.as_deref(), want, op),
            "level" => meta.level.is_some_and(|l| {
                let rank = |l: Level| l as usize;
                let w = want.as_str().and_then(|w| {
                    serde_json::from_value::<Level>(Value::String(w.to_lowercase())).ok()
                });
                ordered(rank(l), w.map(rank))
            }),
            "status" => meta.status.is_some_and(|s| {
                let w = want.as_str().and_then(|w| {
                    serde_json::from_value::<Status>(Value::String(w.to_lowercase())).ok()
                });
                ordered(status_rank(s), w.map(status_rank))
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
}

fn dates(have: Option<&str>, want: &Value, op: AttrOp) -> bool {
    match (have, want.as_str()) {
        (Some(h), Some(w)) => op_holds(op, h.cmp(w)),
        _ => false,
    }
}

/// pySigma's SigmaStatus order: unsupported < deprecated < experimental < test < stable.
fn status_rank(s: Status) -> usize {
    match s {
        Status::Unsupported => 1,
        Status::Deprecated => 2,
        Status::Experimental => 3,
        Status::Test => 4,
        Status::Stable => 5,
    }
}
