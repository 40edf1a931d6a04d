//! `set_field`: replaces the rule's `fields` list.
//!
//! # Parameters
//! * `fields`: the new list.
//!
//! # Example
//! ```yaml
//! - type: set_field
//!   fields: [process.executable, process.command_line]
//! ```

use serde::Deserialize;

use crate::ir::Meta;

/// The YAML `type`.
pub(crate) const NAME: &str = "set_field";

/// Parameters of `set_field`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetField {
    /// The fields.
    pub fields: Vec<String>,
}

impl SetField {
    pub(crate) fn apply(&self, meta: &mut Meta) {
        meta.fields.clone_from(&self.fields);
    }
}
