//! `nest`: a group of items under one item's conditions.
//!
//! When the nest item's rule conditions hold, its `items` are applied in order, each under its
//! own conditions as well; the nest item's id counts as applied to the rule.
//!
//! # Parameters
//! * `items`: processing items, written as in `transformations`.
//!
//! # Example
//! ```yaml
//! - id: windows
//!   type: nest
//!   rule_conditions:
//!     - type: logsource
//!       product: windows
//!   items:
//!     - type: field_name_prefix
//!       prefix: winlog.event_data.
//!     - type: set_state
//!       key: index
//!       val: winlogbeat-*
//! ```

use serde::Deserialize;

/// The YAML `type`.
pub(crate) const NAME: &str = "nest";

/// Parameters of `nest`: the items (as read, `I` = YAML; once the pipeline is read, `I` =
/// processing items).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nest<I> {
    /// The items.
    pub items: Vec<I>,
}
