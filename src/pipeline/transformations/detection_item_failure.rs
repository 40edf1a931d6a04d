//! `detection_item_failure`: refuses rules with a selected detection item.
//!
//! When a detection item is selected by the item's conditions, the rule fails with `message`,
//! located at the first such item.
//!
//! # Parameters
//! * `message`: why.
//!
//! # Example
//! ```yaml
//! - type: detection_item_failure
//!   message: Image must be a file name without a path
//!   field_name_conditions:
//!     - type: include_fields
//!       fields: [Image]
//! ```

use serde::Deserialize;

use crate::error::Result;
use crate::pipeline::node::Ctx;
use crate::pipeline::work::{for_each_item, Changed, Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "detection_item_failure";

/// Parameters of `detection_item_failure`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionItemFailure {
    /// The message.
    pub message: String,
}

impl DetectionItemFailure {
    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        let mut hit: Option<(String, Option<String>)> = None;
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, _| {
            hit.get_or_insert_with(|| (leaf.pred.at.clone(), leaf.pred.field.clone()));
            Ok(Changed::No)
        })?;
        let Some((at, field)) = hit else {
            return Ok(());
        };
        let on = field.map_or_else(|| "a keyword".to_string(), |f| format!("field `{f}`"));
        let e = w.err(
            item,
            format!("detection_item_failure on {on}: {}", self.message),
        );
        Err(if at.is_empty() { e } else { e.at(at) })
    }
}
