//! `extract_fields`: named regex groups of a value become predicates of their own.
//!
//! The regex is matched at the start of every string value; each non-empty named group
//! becomes a predicate on the field of the group's name (under `field_prefix`), all ANDed.
//! Extracted values that read as numbers are numbers, `null` / `none` / empty are null. A value
//! that does not match is dropped, or kept with `preserve_unmatched`.
//!
//! # Parameters
//! * `regex`: the regex, with at least one named group.
//! * `field_prefix`: put before each group name, with a dot (optional).
//! * `preserve_unmatched`: keep values that do not match (default `false`).
//!
//! # Example
//! ```yaml
//! - type: extract_fields
//!   regex: '(?P<user>[^\\]+)\\(?P<domain>.+)'
//!   field_prefix: winlog
//! ```

use regex::Regex;
use serde::Deserialize;

use crate::error::Result;
use crate::ir::{CmpOp, Number, Pattern, Test};
use crate::pipeline::node::{Ctx, Node};
use crate::pipeline::reader::{compile, Reader};
use crate::pipeline::values::{plain, string_test};
use crate::pipeline::work::{for_each_item, Changed, Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "extract_fields";

/// Parameters of `extract_fields`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractFields {
    /// The regex (matched at the start of the value).
    pub regex: String,
    /// Put before each group name.
    #[serde(default)]
    pub field_prefix: Option<String>,
    /// Keep values that do not match.
    #[serde(default)]
    pub preserve_unmatched: bool,
    /// The compiled regex, made when the pipeline is read.
    #[serde(skip)]
    compiled: Option<Regex>,
}

impl ExtractFields {
    pub(crate) fn prepare(&mut self, r: &Reader, path: &str) -> Result<()> {
        let at = format!("{path}.regex");
        let regex = compile(r, &at, &self.regex, true)?;
        if regex.capture_names().flatten().next().is_none() {
            return Err(r.err(&at, "the regex of `extract_fields` has no named group"));
        }
        self.compiled = Some(regex);
        Ok(())
    }

    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        let Some(regex) = &self.compiled else {
            return Ok(());
        };
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, _| {
            let Some((pattern, _)) = string_test(&leaf.pred.test) else {
                return Ok(Changed::No);
            };
            let text = plain(pattern);
            let Some(caps) = regex.captures(&text) else {
                return Ok(if self.preserve_unmatched {
                    Changed::No
                } else {
                    Changed::Drop
                });
            };
            let mut parts = Vec::new();
            for name in regex.capture_names().flatten() {
                let Some(m) = caps.name(name).filter(|m| !m.as_str().is_empty()) else {
                    continue;
                };
                let mut l = leaf.clone();
                l.pred.field = Some(match &self.field_prefix {
                    Some(p) => format!("{p}.{name}"),
                    None => name.to_string(),
                });
                l.pred.test = extracted_value(m.as_str());
                parts.push(Node::Leaf(l));
            }
            Ok(match parts.len() {
                0 => Changed::Drop,
                1 => Changed::Replaced(parts.remove(0)),
                _ => Changed::Replaced(Node::And(parts)),
            })
        })
    }
}

/// pySigma `ExtractFieldsTransformation._convert_value`.
fn extracted_value(v: &str) -> Test {
    if matches!(v.to_lowercase().as_str(), "null" | "none" | "") {
        return Test::Null;
    }
    let leading_zero = v != "0" && v.starts_with('0');
    if !leading_zero && (v.parse::<i64>().is_ok() || v.parse::<f64>().is_ok_and(f64::is_finite)) {
        return Test::Num {
            op: CmpOp::Eq,
            value: Number::new(v),
        };
    }
    Test::Str {
        pattern: Pattern::literal(v),
        cased: false,
    }
}
