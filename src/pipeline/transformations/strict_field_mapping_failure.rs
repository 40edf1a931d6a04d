//! `strict_field_mapping_failure`: refuses rules with fields no mapping touched.
//!
//! Fails the rule when a field of its detection items was neither mapped by a field name
//! transformation before this item nor produced by one (pySigma's strict field mapping).
//!
//! # Parameters
//! None.
//!
//! # Example
//! ```yaml
//! - type: strict_field_mapping_failure
//!   rule_conditions:
//!     - type: logsource
//!       product: windows
//! ```

use serde::Deserialize;

use crate::error::Result;
use crate::pipeline::node::Ctx;
use crate::pipeline::work::{Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "strict_field_mapping_failure";

/// Parameters of `strict_field_mapping_failure` (none).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrictFieldMappingFailure {}

impl StrictFieldMappingFailure {
    pub(crate) fn apply(&self, item: &Scope, w: &Work<'_>, ctx: &Ctx<'_>) -> Result<()> {
        let (from, to) = match &ctx.mapped {
            Some((from, to)) => (Some(from), Some(to)),
            None => (None, None),
        };
        let mut unmapped: Vec<&str> = Vec::new();
        for l in w.leaves() {
            if let Some(f) = l.pred.field.as_deref() {
                if !from.is_some_and(|s| s.contains(f))
                    && !to.is_some_and(|s| s.contains(f))
                    && !unmapped.contains(&f)
                {
                    unmapped.push(f);
                }
            }
        }
        if unmapped.is_empty() {
            return Ok(());
        }
        Err(w.err(
            item,
            format!(
                "the following fields are not mapped: {}",
                unmapped.join(", ")
            ),
        ))
    }
}
