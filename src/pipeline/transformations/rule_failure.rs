//! `rule_failure`: refuses the rule.
//!
//! When the item's rule conditions hold, the rule fails with `message` (the rule is reported
//! and not converted; the batch goes on).
//!
//! # Parameters
//! * `message`: why.
//!
//! # Example
//! ```yaml
//! - type: rule_failure
//!   message: this log source is not collected
//!   rule_conditions:
//!     - type: logsource
//!       product: windows
//!       service: printservice-admin
//! ```

use serde::Deserialize;

/// The YAML `type`.
pub(crate) const NAME: &str = "rule_failure";

/// Parameters of `rule_failure`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFailure {
    /// The message.
    pub message: String,
}

impl RuleFailure {
    /// The error message.
    pub(crate) fn message(&self) -> String {
        format!("rule_failure: {}", self.message)
    }
}
