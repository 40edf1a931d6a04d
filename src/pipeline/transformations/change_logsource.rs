//! `change_logsource`: replaces the rule's log source.
//!
//! The rule's `category`, `product` and `service` become the given ones (a key not given
//! becomes empty), and custom log source keys are removed.
//!
//! # Parameters
//! * `category`, `product`, `service`: the new log source (each optional).
//!
//! # Example
//! ```yaml
//! - type: change_logsource
//!   product: windows
//!   service: sysmon
//!   rule_conditions:
//!     - type: logsource
//!       category: process_creation
//! ```

use serde::Deserialize;

use crate::pipeline::work::Work;

/// The YAML `type`.
pub(crate) const NAME: &str = "change_logsource";

/// Parameters of `change_logsource`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeLogsource {
    /// New category.
    #[serde(default)]
    pub category: Option<String>,
    /// New product.
    #[serde(default)]
    pub product: Option<String>,
    /// New service.
    #[serde(default)]
    pub service: Option<String>,
}

impl ChangeLogsource {
    pub(crate) fn apply(&self, w: &mut Work<'_>) {
        w.logsource.category.clone_from(&self.category);
        w.logsource.product.clone_from(&self.product);
        w.logsource.service.clone_from(&self.service);
        w.logsource.custom.clear();
    }
}
