//! `field_name_suffix`: puts `suffix` after every field name.
//!
//! Puts `suffix` after every field name of the selected detection items, field references and the rule's `fields` list
//! (restrict it with `field_name_conditions`).
//!
//! # Parameters
//! * `suffix`: the text to add.
//!
//! # Example
//! ```yaml
//! - type: field_name_suffix
//!   suffix: ".keyword"
//! ```

use std::borrow::Cow;

use serde::Deserialize;

use super::field_names::{self, MapName};
use crate::error::{Error, Result};
use crate::ir::Correlation;
use crate::pipeline::node::Ctx;
use crate::pipeline::work::{Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "field_name_suffix";

/// Parameters of `field_name_suffix`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldNameSuffix {
    /// The text to add.
    pub suffix: String,
}

impl FieldNameSuffix {
    fn map(&self) -> Box<MapName<'_>> {
        Box::new(|name| Some(Cow::Owned(vec![format!("{name}{}", self.suffix)])))
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
