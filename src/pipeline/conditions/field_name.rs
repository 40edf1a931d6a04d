//! Field name conditions: they look at a field name, as pySigma's
//! `FieldNameProcessingCondition`s do. In a detection item they hold when the item's field, or
//! the field it references (`fieldref`), matches.

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::set::Conditions;
use super::state::{ItemApplied, StateTest};
use crate::error::Result;
use crate::pipeline::node::{Ctx, Leaf};
use crate::pipeline::reader::{compile, cond_params, type_of, OneOrMany, Reader};
use crate::pipeline::values::field_ref;

/// A condition on a field name.
#[derive(Debug, Clone)]
pub enum FieldNameCondition {
    /// `include_fields`: the name is listed (or matches a listed regex, `mode: re`).
    Include(FieldList),
    /// `exclude_fields`: the name is not listed.
    Exclude(FieldList),
    /// `processing_item_applied`: the field name was produced by that item.
    ProcessingItemApplied(String),
    /// `processing_state`.
    ProcessingState(StateTest),
}

/// The field list of `include_fields` / `exclude_fields`.
#[derive(Debug, Clone)]
pub enum FieldList {
    /// `mode: plain`: exact names.
    Plain(Vec<String>),
    /// `mode: re`: regexes matched at the start of the name (Python `re.match`).
    Re(Vec<Regex>),
}

impl FieldList {
    fn has(&self, name: &str) -> bool {
        match self {
            FieldList::Plain(xs) => xs.iter().any(|x| x == name),
            FieldList::Re(xs) => xs.iter().any(|r| r.is_match(name)),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    fields: OneOrMany,
    #[serde(default)]
    mode: Option<String>,
}

/// Reads one field name condition.
pub(crate) fn read(r: &Reader, m: &Map<String, Value>, path: &str) -> Result<FieldNameCondition> {
    let ty = type_of(r, m, path, "condition")?;
    let list = |f: Fields| -> Result<FieldList> {
        let fields = f.fields.as_slice();
        match f.mode.as_deref() {
            None | Some("plain") => Ok(FieldList::Plain(fields.to_vec())),
            Some("re") => Ok(FieldList::Re(
                fields
                    .iter()
                    .map(|p| compile(r, &format!("{path}.fields"), p, true))
                    .collect::<Result<_>>()?,
            )),
            Some(other) => Err(r.err(
                &format!("{path}.mode"),
                format!("unknown mode `{other}` (plain or re)"),
            )),
        }
    };
    Ok(match ty {
        "include_fields" => FieldNameCondition::Include(list(cond_params(r, m, ty, path)?)?),
        "exclude_fields" => FieldNameCondition::Exclude(list(cond_params(r, m, ty, path)?)?),
        "processing_item_applied" => FieldNameCondition::ProcessingItemApplied(
            cond_params::<ItemApplied>(r, m, ty, path)?.processing_item_id,
        ),
        "processing_state" => FieldNameCondition::ProcessingState(cond_params(r, m, ty, path)?),
        other => {
            return Err(r
                .err(path, format!("unsupported field name condition type `{other}`"))
                .hint("field name conditions: include_fields, exclude_fields, processing_item_applied, processing_state"))
        }
    })
}

/// Field name conditions on a bare field name (pySigma `match_field_name`): used for the
/// `fields` list, field references and when a detection item's field is renamed.
pub(crate) fn name_ok(
    set: &Conditions<FieldNameCondition>,
    name: Option<&str>,
    ctx: &Ctx<'_>,
) -> bool {
    set.combine(|_, c| match c {
        FieldNameCondition::Include(l) => name.is_some_and(|n| l.has(n)),
        FieldNameCondition::Exclude(l) => !name.is_some_and(|n| l.has(n)),
        FieldNameCondition::ProcessingItemApplied(id) => {
            name.is_some_and(|n| ctx.field_applied.get(n).is_some_and(|s| s.contains(id)))
        }
        FieldNameCondition::ProcessingState(t) => t.holds(ctx),
    })
}

/// Field name conditions on a detection item (pySigma `match_detection_item`): the item's
/// field or its referenced field matches; `processing_item_applied` asks whether the item was
/// processed by that item.
pub(crate) fn item_ok(set: &Conditions<FieldNameCondition>, leaf: &Leaf, ctx: &Ctx<'_>) -> bool {
    let reference = field_ref(&leaf.pred.test);
    let field = leaf.pred.field.as_deref();
    set.combine(|_, c| match c {
        FieldNameCondition::Include(l) => {
            field.is_some_and(|n| l.has(n)) || reference.is_some_and(|n| l.has(n))
        }
        FieldNameCondition::Exclude(l) => {
            !field.is_some_and(|n| l.has(n)) || reference.is_some_and(|n| !l.has(n))
        }
        FieldNameCondition::ProcessingItemApplied(id) => leaf.was_applied(id),
        FieldNameCondition::ProcessingState(t) => t.holds(ctx),
    })
}
