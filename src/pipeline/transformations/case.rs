//! `case`: changes the case of string values.
//!
//! The literal parts of every string value are converted; wildcards and placeholders stay.
//!
//! # Parameters
//! * `method`: `lower` (default), `upper` or `snake_case` (`CamelCase` → `camel_case`).
//!
//! # Example
//! ```yaml
//! - type: case
//!   method: lower
//! ```

use serde::Deserialize;

use crate::error::Result;
use crate::ir::{Pattern, Piece, Test};
use crate::pipeline::node::Ctx;
use crate::pipeline::values::string_test;
use crate::pipeline::work::{for_each_item, set_test, Changed, Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "case";

/// `case` transformation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CaseMethod {
    /// Lower case (the default).
    #[default]
    Lower,
    /// Upper case.
    Upper,
    /// `CamelCase` → `camel_case`.
    SnakeCase,
}

/// Parameters of `case`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The method.
    #[serde(default)]
    pub method: CaseMethod,
}

impl Case {
    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, _| {
            let Some((pattern, cased)) = string_test(&leaf.pred.test) else {
                return Ok(Changed::No);
            };
            let pieces = pattern.pieces().iter().map(|p| match p {
                Piece::Lit(s) => Piece::Lit(match self.method {
                    CaseMethod::Lower => s.to_lowercase(),
                    CaseMethod::Upper => s.to_uppercase(),
                    CaseMethod::SnakeCase => snake_case(s),
                }),
                other => other.clone(),
            });
            let test = Test::Str {
                pattern: Pattern::new(pieces),
                cased,
            };
            Ok(set_test(leaf, test))
        })
    }
}

fn snake_case(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && c.is_uppercase() {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}
