//! `set_custom_attribute`: sets a custom attribute of the rule.
//!
//! The attribute lands in the rule's custom metadata (`Meta::custom`), where templates and
//! `rule_attribute` conditions read it.
//!
//! # Parameters
//! * `attribute`: the name.
//! * `value`: any YAML value.
//!
//! # Example
//! ```yaml
//! - type: set_custom_attribute
//!   attribute: index
//!   value: logs-endpoint.events.*
//! ```

use serde::Deserialize;
use serde_json::Value;

use crate::ir::Meta;

/// The YAML `type`.
pub(crate) const NAME: &str = "set_custom_attribute";

/// Parameters of `set_custom_attribute`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetCustomAttribute {
    /// The attribute.
    pub attribute: String,
    /// The value.
    pub value: Value,
}

impl SetCustomAttribute {
    pub(crate) fn apply(&self, meta: &mut Meta) {
        meta.custom
            .insert(self.attribute.clone(), self.value.clone());
    }
}
