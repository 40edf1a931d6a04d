//! `map_string`: replaces whole string values.
//!
//! A string value whose plain form is a key of `mapping` becomes the value, or an `or` of the
//! values of a list (an empty list removes the value). Values are Sigma strings.
//!
//! # Parameters
//! * `mapping`: value → new value, or list of new values.
//!
//! # Example
//! ```yaml
//! - type: map_string
//!   mapping:
//!     "4688": process_started
//!   field_name_conditions:
//!     - type: include_fields
//!       fields: [EventID]
//! ```

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::Result;
use crate::ir::Test;
use crate::pipeline::node::{Ctx, Node};
use crate::pipeline::reader::OneOrMany;
use crate::pipeline::values::{plain, string_test};
use crate::pipeline::work::{for_each_item, with_test, Changed, Scope, Work};
use crate::sigma;

/// The YAML `type`.
pub(crate) const NAME: &str = "map_string";

/// Parameters of `map_string`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapString {
    /// Value → new value(s).
    pub mapping: IndexMap<String, OneOrMany>,
}

impl MapString {
    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, _| {
            let Some((pattern, _)) = string_test(&leaf.pred.test) else {
                return Ok(Changed::No);
            };
            let Some(to) = self.mapping.get(plain(pattern).as_ref()) else {
                return Ok(Changed::No);
            };
            let alts: Vec<Node> = to
                .as_slice()
                .iter()
                .map(|s| {
                    with_test(
                        leaf,
                        Test::Str {
                            pattern: sigma::string_pattern(s),
                            cased: false,
                        },
                    )
                })
                .collect();
            Ok(if alts.is_empty() {
                Changed::Drop
            } else {
                Changed::Replaced(Node::or(alts))
            })
        })
    }
}
