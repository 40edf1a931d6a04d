//! `set_state`: sets a key of the pipeline state.
//!
//! The state is kept per rule (`Rule::state`) and read by `processing_state` conditions and by
//! the backends (index patterns, EQL categories...). A later item overwrites an earlier one.
//!
//! # Parameters
//! * `key`: the state key.
//! * `val`: any YAML value.
//!
//! # Example
//! ```yaml
//! - type: set_state
//!   key: index
//!   val: [winlogbeat-*, logs-windows.*]
//! ```

use serde::Deserialize;
use serde_json::Value;

use crate::pipeline::node::Ctx;

/// The YAML `type`.
pub(crate) const NAME: &str = "set_state";

/// Parameters of `set_state`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetState {
    /// The key.
    pub key: String,
    /// The value.
    pub val: Value,
}

impl SetState {
    pub(crate) fn apply(&self, ctx: &mut Ctx<'_>) {
        ctx.state.insert(self.key.clone(), self.val.clone());
    }
}
