//! `remove_field`: removes fields from the rule's `fields` list.
//!
//! On a rule, the first occurrence of each name is removed; on a correlation rule, every
//! occurrence.
//!
//! # Parameters
//! * `field`: a field name or a list of names.
//!
//! # Example
//! ```yaml
//! - type: remove_field
//!   field: CommandLine
//! ```

use serde::Deserialize;

use crate::ir::Meta;
use crate::pipeline::reader::OneOrMany;

/// The YAML `type`.
pub(crate) const NAME: &str = "remove_field";

/// Parameters of `remove_field`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveField {
    /// The field(s).
    pub field: OneOrMany,
}

impl RemoveField {
    pub(crate) fn apply(&self, meta: &mut Meta) {
        for f in self.field.as_slice() {
            if let Some(i) = meta.fields.iter().position(|x| x == f) {
                meta.fields.remove(i);
            }
        }
    }

    pub(crate) fn apply_correlation(&self, meta: &mut Meta) {
        let fs = self.field.as_slice();
        meta.fields.retain(|f| !fs.contains(f));
    }
}
