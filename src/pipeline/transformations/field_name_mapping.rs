//! `field_name_mapping`: renames fields.
//!
//! Every field of the selected detection items, of field references (`fieldref`) and of the
//! rule's `fields` list that is a key of `mapping` is renamed to the value. A list of names maps
//! one field to several: the detection item becomes an `or` of one copy per name. Fields not in
//! the mapping are left alone (see `strict_field_mapping_failure`).
//!
//! # Parameters
//! * `mapping`: field name → new name, or list of new names.
//!
//! # Example
//! ```yaml
//! - id: ecs_process_creation
//!   type: field_name_mapping
//!   mapping:
//!     Image: process.executable
//!     User: [user.name, user.domain]
//!   rule_conditions:
//!     - type: logsource
//!       category: process_creation
//! ```

use std::borrow::Cow;

use indexmap::IndexMap;
use serde::Deserialize;

use super::field_names::{self, MapName};
use crate::error::{Error, Result};
use crate::ir::Correlation;
use crate::pipeline::node::Ctx;
use crate::pipeline::reader::OneOrMany;
use crate::pipeline::work::{Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "field_name_mapping";

/// Parameters of `field_name_mapping`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldNameMapping {
    /// Field name → new name(s).
    pub mapping: IndexMap<String, OneOrMany>,
}

impl FieldNameMapping {
    fn map(&self) -> Box<MapName<'_>> {
        Box::new(|name| self.mapping.get(name).map(|d| Cow::Borrowed(d.as_slice())))
    }

    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        field_names::apply(item, NAME, &*self.map(), w, ctx)
    }

    pub(crate) fn apply_correlation(
        &self,
        item: &Scope,
        c: &mut Correlation,
        ctx: &mut Ctx<'_>,
        err: &dyn Fn(String) -> Error,
    ) -> Result<()> {
        field_names::apply_correlation(item, &*self.map(), c, ctx, err)
    }
}
