//! `drop_detection_item`: removes the selected detection items.
//!
//! An `and` / `or` / `not` left empty disappears with them; a rule condition left with nothing
//! to match is an error.
//!
//! # Parameters
//! None.
//!
//! # Example
//! ```yaml
//! - type: drop_detection_item
//!   field_name_conditions:
//!     - type: include_fields
//!       fields: [EventID]
//! ```

use serde::Deserialize;

use crate::error::Result;
use crate::pipeline::node::Ctx;
use crate::pipeline::work::{for_each_item, Changed, Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "drop_detection_item";

/// Parameters of `drop_detection_item` (none).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropDetectionItem {}

impl DropDetectionItem {
    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        for_each_item(item, NAME, w, ctx, &mut |_, _, _| Ok(Changed::Drop))
    }
}
