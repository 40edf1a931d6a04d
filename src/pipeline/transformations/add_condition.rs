//! `add_condition`: ANDs a detection to every condition of the rule.
//!
//! `conditions` is written like a selection of a Sigma rule (`field|modifier...: value or list`,
//! keys ANDed, list values ORed or ANDed under `all`) and is read by the Sigma front end, so
//! every modifier and value rule of a rule applies. With `template`, `$category`, `$product`
//! and `$service` in string values are replaced by the rule's log source (Python
//! `string.Template.safe_substitute`; an absent key gives `None`, as in pySigma).
//!
//! # Parameters
//! * `conditions`: the detection (at least one field).
//! * `template`: substitute the log source in values (default `false`).
//! * `negated`: AND `not (...)` instead (default `false`).
//! * `name`: pySigma's name of the detection (read, unused).
//!
//! # Example
//! ```yaml
//! - type: add_condition
//!   conditions:
//!     winlog.channel: Security
//!     event.code|gte: 4600
//!   rule_conditions:
//!     - type: logsource
//!       product: windows
//!       service: security
//! ```

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml::Value;

use crate::error::{Error, Result};
use crate::ir::{Expr, LogSource};
use crate::pipeline::node::Node;
use crate::pipeline::reader::Reader;
use crate::pipeline::work::{Scope, Work};
use crate::sigma;

/// The YAML `type`.
pub(crate) const NAME: &str = "add_condition";

/// Parameters of `add_condition`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddCondition {
    /// `field|modifier...` → value or value list.
    pub conditions: IndexMap<String, Value>,
    /// pySigma's name of the detection (unused).
    #[serde(default)]
    pub name: Option<String>,
    /// Substitute `$category`, `$product`, `$service`.
    #[serde(default)]
    pub template: bool,
    /// AND `not (...)` instead.
    #[serde(default)]
    pub negated: bool,
    /// The detection read once, when it is not a template.
    #[serde(skip)]
    compiled: Option<Expr>,
}

impl AddCondition {
    /// Checks the detection (a bad modifier fails when the pipeline is read) and reads it once
    /// when it does not depend on the rule.
    pub(crate) fn prepare(&mut self, r: &Reader, path: &str, label: &str) -> Result<()> {
        let at = format!("{path}.conditions");
        if self.conditions.is_empty() {
            return Err(r.err(&at, "`conditions` of add_condition is empty"));
        }
        if let Some(key) = self
            .conditions
            .keys()
            .find(|k| k.split('|').next() == Some(""))
        {
            return Err(r.err(&at, format!("add_condition key `{key}` has no field name")));
        }
        detection(&self.conditions, None, &at).map_err(|e| r.located(e, &at))?;
        if !self.template {
            let compiled = detection(&self.conditions, None, &format!("pipeline.{label}"))
                .map_err(|e| r.located(e, &at))?;
            self.compiled = Some(compiled);
        }
        Ok(())
    }

    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>) -> Result<()> {
        let at = format!("pipeline.{}", item.label());
        let templated;
        let expr = match &self.compiled {
            Some(e) => e,
            None => {
                templated = detection(&self.conditions, Some(&w.logsource), &at)
                    .map_err(|e| w.err(item, e.kind))?;
                &templated
            }
        };
        let mut added = Node::from_expr(expr);
        if let Some(id) = &item.shared_id {
            added.mark(id);
        }
        if self.negated {
            added = Node::Not(Box::new(added));
        }
        for c in &mut w.conditions {
            let old = std::mem::replace(c, Node::And(Vec::new()));
            *c = Node::And(vec![added.clone(), old]);
        }
        Ok(())
    }
}

/// The detection of `conditions`, through the Sigma front end, with key paths under `at`.
fn detection(
    conditions: &IndexMap<String, Value>,
    logsource: Option<&LogSource>,
    at: &str,
) -> std::result::Result<Expr, Error> {
    let mut ands = Vec::with_capacity(conditions.len());
    for (key, value) in conditions {
        let value = match logsource {
            Some(ls) => substitute_all(value, ls),
            None => value.clone(),
        };
        // A one-element list is its value (the predicate's key path has no index).
        let value = match value {
            Value::Sequence(mut xs) if xs.len() == 1 => xs.remove(0),
            v => v,
        };
        ands.push(sigma::detection_item(key, &value, at)?);
    }
    Ok(Expr::and(ands))
}

fn substitute_all(v: &Value, ls: &LogSource) -> Value {
    match v {
        Value::String(s) => Value::String(substitute(s, ls)),
        Value::Sequence(xs) => Value::Sequence(xs.iter().map(|x| substitute_all(x, ls)).collect()),
        other => other.clone(),
    }
}

fn substitute(s: &str, ls: &LogSource) -> String {
    let val = |o: &Option<String>| o.clone().unwrap_or_else(|| "None".into());
    let mut out = s.to_string();
    for (name, v) in [
        ("category", val(&ls.category)),
        ("product", val(&ls.product)),
        ("service", val(&ls.service)),
    ] {
        out = out.replace(&format!("${{{name}}}"), &v);
        out = out.replace(&format!("${name}"), &v);
    }
    out
}
