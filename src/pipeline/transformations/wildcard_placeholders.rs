//! `wildcard_placeholders`: placeholders become wildcards.
//!
//! Every handled `%placeholder%` of a string value (written under `expand`) is replaced by `*`,
//! so the value matches whatever the placeholder would have stood for.
//!
//! # Parameters
//! * `include`: only these placeholders (optional).
//! * `exclude`: all placeholders but these (optional; not with `include`).
//!
//! # Example
//! ```yaml
//! - type: wildcard_placeholders
//!   exclude: [Admins]
//! ```

use serde::Deserialize;

use super::placeholders;
use crate::error::Result;
use crate::ir::{Pattern, Piece};
use crate::pipeline::node::Ctx;
use crate::pipeline::reader::Reader;
use crate::pipeline::work::{for_each_item, Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "wildcard_placeholders";

/// Parameters of `wildcard_placeholders`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WildcardPlaceholders {
    /// Only these placeholders.
    #[serde(default)]
    pub include: Option<Vec<String>>,
    /// All placeholders but these.
    #[serde(default)]
    pub exclude: Option<Vec<String>>,
}

impl WildcardPlaceholders {
    pub(crate) fn check(&self, r: &Reader, path: &str) -> Result<()> {
        placeholders::check(r, path, self.include.is_some(), self.exclude.is_some())
    }

    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        let handled =
            |n: &str| placeholders::handles(self.include.as_deref(), self.exclude.as_deref(), n);
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, _| {
            placeholders::expand(leaf, &handled, &mut |_| {
                Ok(vec![Pattern::new([Piece::AnyMany])])
            })
        })
    }
}
