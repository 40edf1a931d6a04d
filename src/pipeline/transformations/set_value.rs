//! `set_value`: replaces the values of the selected detection items.
//!
//! Every value of the selected detection items becomes `value` (a string is a Sigma string).
//!
//! # Parameters
//! * `value`: a string, number, boolean or null.
//! * `force_type`: `str` or `num`: convert `value` first (optional).
//!
//! # Example
//! ```yaml
//! - type: set_value
//!   value: egress
//!   field_name_conditions:
//!     - type: include_fields
//!       fields: [network.direction]
//! ```

use serde::Deserialize;
use serde_json::Value;

use super::convert_type::TargetType;
use crate::error::Result;
use crate::ir::Test;
use crate::pipeline::node::Ctx;
use crate::pipeline::reader::{kind_of, Reader};
use crate::pipeline::values::scalar_test;
use crate::pipeline::work::{for_each_item, set_test, Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "set_value";

/// Parameters of `set_value`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetValue {
    /// The value (after `force_type`, once the pipeline is read).
    pub value: Value,
    /// Convert the value to this type first.
    #[serde(default)]
    pub force_type: Option<TargetType>,
    /// The value as a test, made when the pipeline is read.
    #[serde(skip)]
    test: Option<Test>,
}

impl SetValue {
    /// Applies `force_type` and checks the value's type.
    pub(crate) fn prepare(&mut self, r: &Reader, path: &str) -> Result<()> {
        let at = format!("{path}.value");
        let value = std::mem::take(&mut self.value);
        self.value = match (self.force_type, value) {
            (None, v @ (Value::String(_) | Value::Bool(_) | Value::Number(_) | Value::Null)) => v,
            (Some(TargetType::Str), Value::String(s)) => Value::String(s),
            (Some(TargetType::Str), Value::Number(n)) => Value::String(n.to_string()),
            (Some(TargetType::Num), Value::Number(n)) => Value::Number(n),
            (Some(TargetType::Num), Value::String(s)) => {
                match serde_json::from_str::<serde_json::Number>(s.trim()) {
                    Ok(n) => Value::Number(n),
                    Err(_) => {
                        return Err(r.err(&at, format!("`{s}` is not a number (force_type: num)")))
                    }
                }
            }
            (_, v) => return Err(r.err(&at, format!("unsupported value type: {}", kind_of(&v)))),
        };
        self.force_type = None;
        self.test = Some(scalar_test(&self.value));
        Ok(())
    }

    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        let Some(test) = &self.test else {
            return Ok(());
        };
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, _| {
            Ok(set_test(leaf, test.clone()))
        })
    }
}
