//! `convert_type`: converts values between strings and numbers.
//!
//! With `target_type: str`, number values become strings (integers without fraction); with
//! `num`, literal string values become numbers, and a string that is not a number is an error.
//!
//! # Parameters
//! * `target_type`: `str` or `num`.
//!
//! # Example
//! ```yaml
//! - type: convert_type
//!   target_type: str
//!   field_name_conditions:
//!     - type: include_fields
//!       fields: [destination.port]
//! ```

use serde::Deserialize;

use crate::error::Result;
use crate::ir::{CmpOp, Number, Pattern, Test};
use crate::pipeline::node::Ctx;
use crate::pipeline::values::{number_text, plain};
use crate::pipeline::work::{for_each_item, set_test, Changed, Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "convert_type";

/// `convert_type` target (also `set_value`'s `force_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    /// Numbers become strings.
    Str,
    /// Strings become numbers (an error when one is not a number).
    Num,
}

/// Parameters of `convert_type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertType {
    /// The target type.
    pub target_type: TargetType,
}

impl ConvertType {
    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        let mut bad: Option<String> = None;
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, _| {
            let test = match (&leaf.pred.test, self.target_type) {
                (
                    Test::Num {
                        op: CmpOp::Eq,
                        value,
                    },
                    TargetType::Str,
                ) => Test::Str {
                    pattern: Pattern::literal(&number_text(value)),
                    cased: false,
                },
                (Test::Str { pattern, .. }, TargetType::Num) => {
                    let text = plain(pattern);
                    match text.trim().parse::<f64>() {
                        Ok(n) if n.is_finite() && pattern.as_literal().is_some() => Test::Num {
                            op: CmpOp::Eq,
                            value: Number::new(text.trim()),
                        },
                        _ => {
                            bad.get_or_insert_with(|| text.into_owned());
                            return Ok(Changed::No);
                        }
                    }
                }
                (
                    Test::Str { .. }
                    | Test::Num { .. }
                    | Test::Regex { .. }
                    | Test::Bool(_)
                    | Test::Null
                    | Test::Exists(_)
                    | Test::Cidr(_)
                    | Test::FieldRef { .. }
                    | Test::TimePart { .. },
                    TargetType::Str | TargetType::Num,
                ) => return Ok(Changed::No),
            };
            Ok(set_test(leaf, test))
        })?;
        match bad {
            Some(v) => Err(w.err(item, format!("value `{v}` cannot be converted to a number"))),
            None => Ok(()),
        }
    }
}
