//! `field_name_prefix_mapping`: renames fields by their prefix.
//!
//! For every field (as for `field_name_mapping`), the first key of `mapping` that the name
//! starts with is replaced by the value; a list of values gives one field per prefix (an `or`).
//!
//! # Parameters
//! * `mapping`: prefix → new prefix, or list of new prefixes.
//!
//! # Example
//! ```yaml
//! - type: field_name_prefix_mapping
//!   mapping:
//!     Event.: winlog.event_data.
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
pub(crate) const NAME: &str = "field_name_prefix_mapping";

/// Parameters of `field_name_prefix_mapping`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldNamePrefixMapping {
    /// Prefix → new prefix(es).
    pub mapping: IndexMap<String, OneOrMany>,
}

impl FieldNamePrefixMapping {
    fn map(&self) -> Box<MapName<'_>> {
        Box::new(|name| {
            self.mapping
                .iter()
                .find(|(src, _)| name.starts_with(src.as_str()))
                .map(|(src, dest)| {
                    Cow::Owned(
                        dest.as_slice()
                            .iter()
                            .map(|d| format!("{d}{}", &name[src.len()..]))
                            .collect(),
                    )
                })
        })
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
