//! `add_field`: adds fields to the rule's `fields` list.
//!
//! # Parameters
//! * `field`: a field name or a list of names, appended in order.
//!
//! # Example
//! ```yaml
//! - type: add_field
//!   field: [host.name, user.name]
//! ```

use serde::Deserialize;

use crate::ir::Meta;
use crate::pipeline::reader::OneOrMany;

/// The YAML `type`.
pub(crate) const NAME: &str = "add_field";

/// Parameters of `add_field`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddField {
    /// The field(s).
    pub field: OneOrMany,
}

impl AddField {
    /// Applies to a rule's or a correlation's metadata.
    pub(crate) fn apply(&self, meta: &mut Meta) {
        meta.fields.extend(self.field.as_slice().iter().cloned());
    }
}
