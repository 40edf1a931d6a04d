//! `value_placeholders`: placeholders become the values of the pipelines' `vars`.
//!
//! Every handled `%name%` of a string value (written under `expand`) is replaced by the value
//! of the variable `name` in the `vars` of the pipelines (a later pipeline's value wins). A
//! list of values gives an `or` of one value per element; strings are Sigma strings
//! (wildcards allowed). A placeholder without a variable is an error.
//!
//! # Parameters
//! * `include`: only these placeholders (optional).
//! * `exclude`: all placeholders but these (optional; not with `include`).
//!
//! # Example
//! ```yaml
//! vars:
//!   Admins: [root, 'admin*']
//! transformations:
//!   - type: value_placeholders
//!     include: [Admins]
//! ```

use serde::Deserialize;
use serde_json::Value;

use super::placeholders;
use crate::error::Result;
use crate::ir::Pattern;
use crate::pipeline::node::Ctx;
use crate::pipeline::reader::Reader;
use crate::pipeline::work::{for_each_item, Scope, Work};
use crate::sigma;

/// The YAML `type`.
pub(crate) const NAME: &str = "value_placeholders";

/// Parameters of `value_placeholders`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ValuePlaceholders {
    /// Only these placeholders.
    #[serde(default)]
    pub include: Option<Vec<String>>,
    /// All placeholders but these.
    #[serde(default)]
    pub exclude: Option<Vec<String>>,
}

impl ValuePlaceholders {
    pub(crate) fn check(&self, r: &Reader, path: &str) -> Result<()> {
        placeholders::check(r, path, self.include.is_some(), self.exclude.is_some())
    }

    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        let handled =
            |n: &str| placeholders::handles(self.include.as_deref(), self.exclude.as_deref(), n);
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, ctx| {
            placeholders::expand(leaf, &handled, &mut |name| values(ctx, name))
        })
    }
}

/// The patterns of the variable `name`.
fn values(ctx: &Ctx<'_>, name: &str) -> std::result::Result<Vec<Pattern>, String> {
    let Some(v) = ctx.var(name) else {
        return Err(format!(
            "placeholder `%{name}%` has no variable in the `vars` of the pipelines"
        ));
    };
    let list = match v {
        Value::Array(xs) => xs.as_slice(),
        other => std::slice::from_ref(other),
    };
    list.iter()
        .map(|x| match x {
            Value::String(s) => Ok(sigma::string_pattern(s)),
            Value::Number(n) => Ok(Pattern::literal(&n.to_string())),
            other => Err(format!(
                "variable `{name}` holds {other}, which is not a string or number"
            )),
        })
        .collect()
}
