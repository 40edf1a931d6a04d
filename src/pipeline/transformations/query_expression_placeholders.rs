//! `query_expression_placeholders`: refused when it would act.
//!
//! pySigma replaces a placeholder by a raw query expression (`{field} in list({id})`); sigmat's
//! rule model has no raw query expressions, so a handled placeholder is an error that says how
//! to resolve it instead. An item that finds no placeholder does nothing, as in pySigma.
//!
//! # Parameters
//! * `expression`: the query expression (`{field}`, `{id}`).
//! * `mapping`: placeholder → identifier in the expression (read, unused).
//! * `include` / `exclude`: which placeholders.
//!
//! # Example
//! ```yaml
//! - type: query_expression_placeholders
//!   expression: "{field} in list({id})"
//! ```

use indexmap::IndexMap;
use serde::Deserialize;

use super::placeholders;
use crate::error::Result;
use crate::pipeline::node::Ctx;
use crate::pipeline::reader::Reader;
use crate::pipeline::values::string_test;
use crate::pipeline::work::{for_each_item, Changed, Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "query_expression_placeholders";

/// Parameters of `query_expression_placeholders`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryExpressionPlaceholders {
    /// Only these placeholders.
    #[serde(default)]
    pub include: Option<Vec<String>>,
    /// All placeholders but these.
    #[serde(default)]
    pub exclude: Option<Vec<String>>,
    /// The expression.
    #[serde(default)]
    pub expression: String,
    /// Placeholder → identifier (pySigma), read and not used.
    #[serde(default)]
    pub mapping: IndexMap<String, String>,
}

impl QueryExpressionPlaceholders {
    pub(crate) fn check(&self, r: &Reader, path: &str) -> Result<()> {
        placeholders::check(r, path, self.include.is_some(), self.exclude.is_some())
    }

    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        let mut hit: Option<String> = None;
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, _| {
            if let Some((pattern, _)) = string_test(&leaf.pred.test) {
                let handled = |n: &str| {
                    placeholders::handles(self.include.as_deref(), self.exclude.as_deref(), n)
                };
                if let Some(p) = pattern.placeholders().find(|p| handled(p)) {
                    hit.get_or_insert_with(|| p.to_string());
                }
            }
            Ok(Changed::No)
        })?;
        if let Some(p) = hit {
            return Err(w
                .err(
                    item,
                    format!(
                        "query_expression_placeholders cannot resolve `%{p}%`: sigmat's rule model has no raw query expressions (`{}`)",
                        self.expression
                    ),
                )
                .hint("resolve the placeholder with value_placeholders and `vars`, or with wildcard_placeholders"));
        }
        Ok(())
    }
}
