//! Detection item conditions: they look at one detection item, the predicates written under
//! one key of a selection (same key path, same field), so `cond: any` / `cond: all` quantify
//! over the values of that key as in pySigma's `DetectionItemProcessingCondition`s.

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::state::{ItemApplied, StateTest};
use crate::error::Result;
use crate::ir::Test;
use crate::pipeline::node::{Ctx, Leaf};
use crate::pipeline::reader::{compile, cond_params, type_of, Reader};
use crate::pipeline::values::{plain, string_test, value_equals, Wanted};

/// `any` or `all` values of a detection item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantifier {
    /// Some value.
    Any,
    /// Every value.
    All,
}

/// A condition on a detection item.
#[derive(Debug, Clone)]
pub enum DetectionItemCondition {
    /// `match_string`: string values match the regex (anchored at the start, like Python's
    /// `re.match`), or do not when `negate`.
    MatchString {
        /// `any` / `all`.
        cond: Quantifier,
        /// The compiled `\A(?:pattern)`.
        regex: Regex,
        /// `negate`.
        negate: bool,
    },
    /// `match_value`: a value equals this one.
    MatchValue {
        /// `any` / `all`.
        cond: Quantifier,
        /// The value, read once.
        value: Wanted,
    },
    /// `contains_wildcard`: a string value holds `*` or `?`.
    ContainsWildcard(Quantifier),
    /// `is_null`: a value is `null`.
    IsNull(Quantifier),
    /// `processing_item_applied`: the item was applied to this detection item.
    ProcessingItemApplied(String),
    /// `processing_state`.
    ProcessingState(StateTest),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchString {
    cond: Quantifier,
    pattern: String,
    #[serde(default)]
    negate: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchValue {
    cond: Quantifier,
    value: Wanted,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cond {
    cond: Quantifier,
}

/// Reads one detection item condition.
pub(crate) fn read(
    r: &Reader,
    m: &Map<String, Value>,
    path: &str,
) -> Result<DetectionItemCondition> {
    let ty = type_of(r, m, path, "condition")?;
    Ok(match ty {
        "match_string" => {
            let s: MatchString = cond_params(r, m, ty, path)?;
            DetectionItemCondition::MatchString {
                cond: s.cond,
                regex: compile(r, &format!("{path}.pattern"), &s.pattern, true)?,
                negate: s.negate,
            }
        }
        "match_value" => {
            let v: MatchValue = cond_params(r, m, ty, path)?;
            DetectionItemCondition::MatchValue {
                cond: v.cond,
                value: v.value,
            }
        }
        "contains_wildcard" => {
            DetectionItemCondition::ContainsWildcard(cond_params::<Cond>(r, m, ty, path)?.cond)
        }
        "is_null" => DetectionItemCondition::IsNull(cond_params::<Cond>(r, m, ty, path)?.cond),
        "processing_item_applied" => DetectionItemCondition::ProcessingItemApplied(
            cond_params::<ItemApplied>(r, m, ty, path)?.processing_item_id,
        ),
        "processing_state" => DetectionItemCondition::ProcessingState(cond_params(r, m, ty, path)?),
        other => {
            return Err(r
                .err(path, format!("unsupported detection item condition type `{other}`"))
                .hint("detection item conditions: match_string, match_value, contains_wildcard, is_null, processing_item_applied, processing_state"))
        }
    })
}

impl DetectionItemCondition {
    /// Whether the result depends on the detection item's values only (the same for every
    /// predicate of the item), so it can be computed once per item.
    pub(crate) fn on_values(&self) -> bool {
        match self {
            DetectionItemCondition::MatchString { .. }
            | DetectionItemCondition::MatchValue { .. }
            | DetectionItemCondition::ContainsWildcard(_)
            | DetectionItemCondition::IsNull(_)
            | DetectionItemCondition::ProcessingState(_) => true,
            DetectionItemCondition::ProcessingItemApplied(_) => false,
        }
    }

    /// Whether the condition holds for a detection item with these values, on the predicate
    /// `leaf` (`None`: a condition on the values only).
    pub(crate) fn holds(&self, values: &[&Test], leaf: Option<&Leaf>, ctx: &Ctx<'_>) -> bool {
        let quant = |q: Quantifier, f: &dyn Fn(&Test) -> bool| match q {
            Quantifier::Any => values.iter().any(|t| f(t)),
            Quantifier::All => values.iter().all(|t| f(t)),
        };
        match self {
            DetectionItemCondition::MatchString {
                cond,
                regex,
                negate,
            } => quant(*cond, &|t| {
                let hit = string_test(t).is_some_and(|(p, _)| regex.is_match(&plain(p)));
                hit != *negate
            }),
            DetectionItemCondition::MatchValue { cond, value } => {
                quant(*cond, &|t| value_equals(t, value))
            }
            DetectionItemCondition::ContainsWildcard(cond) => quant(*cond, &|t| {
                string_test(t).is_some_and(|(p, _)| p.has_wildcards())
            }),
            DetectionItemCondition::IsNull(cond) => quant(*cond, &|t| matches!(t, Test::Null)),
            DetectionItemCondition::ProcessingItemApplied(id) => {
                leaf.is_some_and(|l| l.was_applied(id))
            }
            DetectionItemCondition::ProcessingState(t) => t.holds(ctx),
        }
    }
}
