//! Processing conditions, as pySigma defines them: one file per kind.
//!
//! * [`rule`]: conditions on the whole rule (or correlation).
//! * [`detection_item`]: conditions on one detection item (the predicates written under one
//!   key of a selection), quantified over its values.
//! * [`field_name`]: conditions on a field name.
//! * [`set`]: how the conditions of one kind combine (`*_cond_op`, `*_cond_not`,
//!   `*_cond_expr`); [`state`]: the comparisons and `processing_state`, shared by all kinds.

pub(crate) mod detection_item;
pub(crate) mod field_name;
pub(crate) mod rule;
pub(crate) mod set;
pub(crate) mod state;

pub use detection_item::{DetectionItemCondition, Quantifier};
pub use field_name::{FieldList, FieldNameCondition};
pub use rule::{ContainsDetectionItem, LogsourceCondition, RuleAttribute, RuleCondition};
pub use set::{CondExpr, Conditions, Logic};
pub use state::{AttrOp, StateTest};

use crate::pipeline::node::Ctx;
use rule::Subject;

/// Whether the rule conditions hold. pySigma: no rule condition at all means "applies", even
/// when `rule_cond_not` is set.
pub(crate) fn rule_ok(
    set: &Conditions<RuleCondition>,
    subject: &Subject<'_>,
    ctx: &Ctx<'_>,
) -> bool {
    set.items.is_empty() || set.combine(|_, c| c.holds(subject, ctx))
}
