//! What the three condition kinds share: the comparison operators of `processing_state` and
//! `rule_attribute`, the `processing_state` condition itself, and `processing_item_applied`'s
//! parameters.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::Value;

use crate::pipeline::node::Ctx;

/// A comparison operator of `processing_state` and `rule_attribute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AttrOp {
    /// `eq` (the default)
    #[default]
    Eq,
    /// `ne`
    Ne,
    /// `gte`
    Gte,
    /// `gt`
    Gt,
    /// `lte`
    Lte,
    /// `lt`
    Lt,
    /// `in` (list membership; rule_attribute only)
    In,
    /// `not_in` (rule_attribute only)
    NotIn,
}

/// `processing_state`: the pipeline state key compares with the value (pySigma
/// `ProcessingStateConditionBase`). Holds for rules, detection items and field names alike.
///
/// ```yaml
/// - type: processing_state
///   key: index
///   val: logs-windows.sysmon_operational-*
///   op: eq        # eq (default), ne, gte, gt, lte, lt
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateTest {
    /// The state key.
    pub key: String,
    /// The value to compare with.
    pub val: Value,
    /// The comparison (`eq` by default).
    #[serde(default)]
    pub op: AttrOp,
}

impl StateTest {
    /// pySigma's `match_state`: a missing key never holds.
    pub(crate) fn holds(&self, ctx: &Ctx<'_>) -> bool {
        let Some(have) = ctx.state.get(&self.key) else {
            return false;
        };
        match self.op {
            AttrOp::Eq => json_eq(have, &self.val),
            AttrOp::Ne => !json_eq(have, &self.val),
            AttrOp::Gte | AttrOp::Gt | AttrOp::Lte | AttrOp::Lt => {
                json_cmp(have, &self.val).is_some_and(|o| op_holds(self.op, o))
            }
            AttrOp::In | AttrOp::NotIn => false,
        }
    }
}

/// `processing_item_applied`'s parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemApplied {
    pub processing_item_id: String,
}

/// A condition without parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}

/// JSON equality, numbers compared as numbers.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The order of two numbers or two strings.
pub(crate) fn json_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Whether `op` holds for the ordering `o` of the value to the wanted one.
pub(crate) fn op_holds(op: AttrOp, o: Ordering) -> bool {
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
