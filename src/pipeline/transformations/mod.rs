//! The transformations: one file per pySigma transformation type, each holding its parameters
//! (read with serde, `deny_unknown_fields`), its `apply` and its documentation. This module
//! reads a processing item ([`read_item`]) and dispatches over [`Transformation`].

mod add_condition;
mod add_field;
mod case;
mod change_logsource;
mod convert_type;
mod detection_item_failure;
mod drop_detection_item;
mod extract_fields;
mod field_name_mapping;
mod field_name_prefix;
mod field_name_prefix_mapping;
mod field_name_suffix;
mod field_names;
mod hashes_fields;
mod map_string;
mod nest;
mod placeholders;
mod query_expression_placeholders;
mod regex;
mod remove_field;
mod replace_string;
mod rule_failure;
mod set_custom_attribute;
mod set_field;
mod set_state;
mod set_value;
mod strict_field_mapping_failure;
mod value_placeholders;
mod wildcard_placeholders;

pub use add_condition::AddCondition;
pub use add_field::AddField;
pub use case::{Case, CaseMethod};
pub use change_logsource::ChangeLogsource;
pub use convert_type::{ConvertType, TargetType};
pub use detection_item_failure::DetectionItemFailure;
pub use drop_detection_item::DropDetectionItem;
pub use extract_fields::ExtractFields;
pub use field_name_mapping::FieldNameMapping;
pub use field_name_prefix::FieldNamePrefix;
pub use field_name_prefix_mapping::FieldNamePrefixMapping;
pub use field_name_suffix::FieldNameSuffix;
pub use hashes_fields::HashesFields;
pub use map_string::MapString;
pub use nest::Nest;
pub use query_expression_placeholders::QueryExpressionPlaceholders;
pub use regex::{RegexMethod, RegexTransformation};
pub use remove_field::RemoveField;
pub use replace_string::ReplaceString;
pub use rule_failure::RuleFailure;
pub use set_custom_attribute::SetCustomAttribute;
pub use set_field::SetField;
pub use set_state::SetState;
pub use set_value::SetValue;
pub use strict_field_mapping_failure::StrictFieldMappingFailure;
pub use value_placeholders::ValuePlaceholders;
pub use wildcard_placeholders::WildcardPlaceholders;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::ir::Correlation;
use crate::pipeline::conditions::{detection_item, field_name, rule, rule_ok, set};
use crate::pipeline::node::Ctx;
use crate::pipeline::reader::{item_id, kind_of, params, type_of, Reader};
use crate::pipeline::work::{Scope, Work};

/// One processing item: a transformation and where it applies.
#[derive(Debug, Clone)]
pub struct Item {
    /// Id, key path and conditions.
    pub scope: Scope,
    /// What the item does.
    pub transformation: Transformation,
}

/// What a processing item does; each variant holds the parameters of its type (one file per
/// type in `src/pipeline/transformations/`, named after the YAML `type`).
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum Transformation {
    FieldNameMapping(FieldNameMapping),
    FieldNamePrefixMapping(FieldNamePrefixMapping),
    FieldNamePrefix(FieldNamePrefix),
    FieldNameSuffix(FieldNameSuffix),
    DropDetectionItem(DropDetectionItem),
    HashesFields(HashesFields),
    ExtractFields(ExtractFields),
    WildcardPlaceholders(WildcardPlaceholders),
    ValuePlaceholders(ValuePlaceholders),
    QueryExpressionPlaceholders(QueryExpressionPlaceholders),
    AddCondition(AddCondition),
    ChangeLogsource(ChangeLogsource),
    AddField(AddField),
    RemoveField(RemoveField),
    SetField(SetField),
    ReplaceString(ReplaceString),
    MapString(MapString),
    SetState(SetState),
    Regex(RegexTransformation),
    SetValue(SetValue),
    ConvertType(ConvertType),
    RuleFailure(RuleFailure),
    DetectionItemFailure(DetectionItemFailure),
    StrictFieldMappingFailure(StrictFieldMappingFailure),
    SetCustomAttribute(SetCustomAttribute),
    Nest(Nest<Item>),
    Case(Case),
}

/// Every type name, in the order of [`Transformation`].
const KNOWN: &[&str] = &[
    field_name_mapping::NAME,
    field_name_prefix_mapping::NAME,
    field_name_prefix::NAME,
    field_name_suffix::NAME,
    drop_detection_item::NAME,
    hashes_fields::NAME,
    extract_fields::NAME,
    wildcard_placeholders::NAME,
    value_placeholders::NAME,
    query_expression_placeholders::NAME,
    add_condition::NAME,
    change_logsource::NAME,
    add_field::NAME,
    remove_field::NAME,
    set_field::NAME,
    replace_string::NAME,
    map_string::NAME,
    set_state::NAME,
    regex::NAME,
    set_value::NAME,
    convert_type::NAME,
    rule_failure::NAME,
    detection_item_failure::NAME,
    strict_field_mapping_failure::NAME,
    set_custom_attribute::NAME,
    nest::NAME,
    case::NAME,
];

impl Transformation {
    /// The pySigma YAML type name.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Transformation::FieldNameMapping(_) => field_name_mapping::NAME,
            Transformation::FieldNamePrefixMapping(_) => field_name_prefix_mapping::NAME,
            Transformation::FieldNamePrefix(_) => field_name_prefix::NAME,
            Transformation::FieldNameSuffix(_) => field_name_suffix::NAME,
            Transformation::DropDetectionItem(_) => drop_detection_item::NAME,
            Transformation::HashesFields(_) => hashes_fields::NAME,
            Transformation::ExtractFields(_) => extract_fields::NAME,
            Transformation::WildcardPlaceholders(_) => wildcard_placeholders::NAME,
            Transformation::ValuePlaceholders(_) => value_placeholders::NAME,
            Transformation::QueryExpressionPlaceholders(_) => query_expression_placeholders::NAME,
            Transformation::AddCondition(_) => add_condition::NAME,
            Transformation::ChangeLogsource(_) => change_logsource::NAME,
            Transformation::AddField(_) => add_field::NAME,
            Transformation::RemoveField(_) => remove_field::NAME,
            Transformation::SetField(_) => set_field::NAME,
            Transformation::ReplaceString(_) => replace_string::NAME,
            Transformation::MapString(_) => map_string::NAME,
            Transformation::SetState(_) => set_state::NAME,
            Transformation::Regex(_) => regex::NAME,
            Transformation::SetValue(_) => set_value::NAME,
            Transformation::ConvertType(_) => convert_type::NAME,
            Transformation::RuleFailure(_) => rule_failure::NAME,
            Transformation::DetectionItemFailure(_) => detection_item_failure::NAME,
            Transformation::StrictFieldMappingFailure(_) => strict_field_mapping_failure::NAME,
            Transformation::SetCustomAttribute(_) => set_custom_attribute::NAME,
            Transformation::Nest(_) => nest::NAME,
            Transformation::Case(_) => case::NAME,
        }
    }
}

/// The keys of an item that are not parameters of its transformation.
pub(crate) const ITEM_KEYS: &[&str] = &[
    "id",
    "type",
    "rule_conditions",
    "rule_cond_op",
    "rule_cond_not",
    "rule_cond_expr",
    "detection_item_conditions",
    "detection_item_cond_op",
    "detection_item_cond_not",
    "detection_item_cond_expr",
    "field_name_conditions",
    "field_name_cond_op",
    "field_name_cond_not",
    "field_name_cond_expr",
];

/// Reads one processing item at key path `path`.
pub(crate) fn read_item(r: &Reader, v: &Value, path: &str) -> Result<Item> {
    let Value::Object(map) = v else {
        return Err(r.err(path, format!("expected a mapping, found {}", kind_of(v))));
    };
    let id = item_id(r, map, path)?;
    let ty = type_of(r, map, path, "transformation")?;
    let label = id.clone().unwrap_or_else(|| path.to_string());
    let rest: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| !ITEM_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let transformation = read_transformation(r, ty, rest, path, &label)?;
    let scope = Scope {
        shared_id: id.as_deref().map(Arc::from),
        id,
        path: path.to_string(),
        rule_conditions: set::read(r, map, path, "rule", rule::read)?,
        detection_item_conditions: set::read(r, map, path, "detection_item", detection_item::read)?,
        field_name_conditions: set::read(r, map, path, "field_name", field_name::read)?,
    };
    Ok(Item {
        scope,
        transformation,
    })
}

/// Reads the parameters of the transformation `ty`.
fn read_transformation(
    r: &Reader,
    ty: &str,
    rest: Map<String, Value>,
    path: &str,
    label: &str,
) -> Result<Transformation> {
    fn p<T: DeserializeOwned>(
        r: &Reader,
        rest: Map<String, Value>,
        ty: &str,
        path: &str,
    ) -> Result<T> {
        params(r, rest, ty, path)
    }
    use Transformation as T;
    Ok(match ty {
        field_name_mapping::NAME => T::FieldNameMapping(p(r, rest, ty, path)?),
        field_name_prefix_mapping::NAME => T::FieldNamePrefixMapping(p(r, rest, ty, path)?),
        field_name_prefix::NAME => T::FieldNamePrefix(p(r, rest, ty, path)?),
        field_name_suffix::NAME => T::FieldNameSuffix(p(r, rest, ty, path)?),
        drop_detection_item::NAME => T::DropDetectionItem(p(r, rest, ty, path)?),
        hashes_fields::NAME => T::HashesFields(p(r, rest, ty, path)?),
        extract_fields::NAME => {
            let mut x: ExtractFields = p(r, rest, ty, path)?;
            x.prepare(r, path)?;
            T::ExtractFields(x)
        }
        wildcard_placeholders::NAME => {
            let x: WildcardPlaceholders = p(r, rest, ty, path)?;
            x.check(r, path)?;
            T::WildcardPlaceholders(x)
        }
        value_placeholders::NAME => {
            let x: ValuePlaceholders = p(r, rest, ty, path)?;
            x.check(r, path)?;
            T::ValuePlaceholders(x)
        }
        query_expression_placeholders::NAME => {
            let x: QueryExpressionPlaceholders = p(r, rest, ty, path)?;
            x.check(r, path)?;
            T::QueryExpressionPlaceholders(x)
        }
        add_condition::NAME => {
            let mut x: AddCondition = p(r, rest, ty, path)?;
            x.prepare(r, path, label)?;
            T::AddCondition(x)
        }
        change_logsource::NAME => T::ChangeLogsource(p(r, rest, ty, path)?),
        add_field::NAME => T::AddField(p(r, rest, ty, path)?),
        remove_field::NAME => T::RemoveField(p(r, rest, ty, path)?),
        set_field::NAME => T::SetField(p(r, rest, ty, path)?),
        replace_string::NAME => {
            let mut x: ReplaceString = p(r, rest, ty, path)?;
            x.prepare(r, path)?;
            T::ReplaceString(x)
        }
        map_string::NAME => T::MapString(p(r, rest, ty, path)?),
        set_state::NAME => T::SetState(p(r, rest, ty, path)?),
        regex::NAME => T::Regex(p(r, rest, ty, path)?),
        set_value::NAME => {
            let mut x: SetValue = p(r, rest, ty, path)?;
            x.prepare(r, path)?;
            T::SetValue(x)
        }
        convert_type::NAME => T::ConvertType(p(r, rest, ty, path)?),
        rule_failure::NAME => T::RuleFailure(p(r, rest, ty, path)?),
        detection_item_failure::NAME => T::DetectionItemFailure(p(r, rest, ty, path)?),
        strict_field_mapping_failure::NAME => T::StrictFieldMappingFailure(p(r, rest, ty, path)?),
        set_custom_attribute::NAME => T::SetCustomAttribute(p(r, rest, ty, path)?),
        nest::NAME => {
            let n: Nest<Value> = p(r, rest, ty, path)?;
            let items = n
                .items
                .iter()
                .enumerate()
                .map(|(i, x)| read_item(r, x, &format!("{path}.items[{i}]")))
                .collect::<Result<_>>()?;
            T::Nest(Nest { items })
        }
        case::NAME => T::Case(p(r, rest, ty, path)?),
        other => return Err(unknown(r, other, path, label)),
    })
}

/// The error of a type sigmat does not implement.
fn unknown(r: &Reader, ty: &str, path: &str, label: &str) -> Error {
    let why = match ty {
        "field_name_transform" => Some("it needs a Python function, which YAML cannot carry"),
        "file_placeholders" | "http_placeholders" | "command_placeholders" => {
            Some("sigmat does not read external sources (files, HTTP, commands) while converting")
        }
        _ => None,
    };
    let e = r.err(
        path,
        format!("unsupported transformation type `{ty}` (item `{label}`)"),
    );
    match why {
        Some(why) => e.hint(format!(
            "{why}; use field_name_mapping or value_placeholders with `vars`"
        )),
        None => e.hint(format!("known types: {}", KNOWN.join(", "))),
    }
}

/// Applies one item to a rule, when its rule conditions hold.
pub(crate) fn apply_item(item: &Item, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
    let s = &item.scope;
    if !rule_ok(&s.rule_conditions, &w.subject(), ctx) {
        return Ok(());
    }
    use Transformation as T;
    if let T::RuleFailure(x) = &item.transformation {
        return Err(w.err(s, x.message()));
    }
    ctx.mark_rule(s.id.as_deref());
    match &item.transformation {
        T::FieldNameMapping(x) => x.apply(s, w, ctx),
        T::FieldNamePrefixMapping(x) => x.apply(s, w, ctx),
        T::FieldNamePrefix(x) => x.apply(s, w, ctx),
        T::FieldNameSuffix(x) => x.apply(s, w, ctx),
        T::DropDetectionItem(x) => x.apply(s, w, ctx),
        T::HashesFields(x) => x.apply(s, w, ctx),
        T::ExtractFields(x) => x.apply(s, w, ctx),
        T::WildcardPlaceholders(x) => x.apply(s, w, ctx),
        T::ValuePlaceholders(x) => x.apply(s, w, ctx),
        T::QueryExpressionPlaceholders(x) => x.apply(s, w, ctx),
        T::AddCondition(x) => x.apply(s, w),
        T::ChangeLogsource(x) => {
            x.apply(w);
            Ok(())
        }
        T::AddField(x) => {
            x.apply(&mut w.meta);
            Ok(())
        }
        T::RemoveField(x) => {
            x.apply(&mut w.meta);
            Ok(())
        }
        T::SetField(x) => {
            x.apply(&mut w.meta);
            Ok(())
        }
        T::ReplaceString(x) => x.apply(s, w, ctx),
        T::MapString(x) => x.apply(s, w, ctx),
        T::SetState(x) => {
            x.apply(ctx);
            Ok(())
        }
        T::Regex(x) => x.apply(s, w, ctx),
        T::SetValue(x) => x.apply(s, w, ctx),
        T::ConvertType(x) => x.apply(s, w, ctx),
        T::RuleFailure(x) => Err(w.err(s, x.message())),
        T::DetectionItemFailure(x) => x.apply(s, w, ctx),
        T::StrictFieldMappingFailure(x) => x.apply(s, w, ctx),
        T::SetCustomAttribute(x) => {
            x.apply(&mut w.meta);
            Ok(())
        }
        T::Nest(x) => x.items.iter().try_for_each(|sub| apply_item(sub, w, ctx)),
        T::Case(x) => x.apply(s, w, ctx),
    }
}

/// Applies one item to a correlation rule, when its rule conditions hold. Field name
/// transformations rename `group-by` fields (not aliases), alias targets and the condition
/// `field`; transformations of detection items have nothing to act on (pySigma does nothing
/// either).
pub(crate) fn apply_correlation_item(
    pipeline: &str,
    item: &Item,
    c: &mut Correlation,
    ctx: &mut Ctx<'_>,
) -> Result<()> {
    let s = &item.scope;
    if !rule_ok(
        &s.rule_conditions,
        &rule::Subject::Correlation { meta: &c.meta },
        ctx,
    ) {
        return Ok(());
    }
    let (title, file) = (c.meta.title.clone(), c.origin.file.clone());
    let err = |m: String| {
        let e = Error::new(ErrorKind::Pipeline(format!(
            "{m} (pipeline `{pipeline}`, item `{}`, correlation `{title}`)",
            s.label(),
        )));
        match &file {
            Some(f) => e.in_file(f.clone()),
            None => e,
        }
    };
    ctx.mark_rule(s.id.as_deref());
    use Transformation as T;
    match &item.transformation {
        T::RuleFailure(x) => Err(err(x.message())),
        T::Nest(x) => x
            .items
            .iter()
            .try_for_each(|sub| apply_correlation_item(pipeline, sub, c, ctx)),
        T::SetState(x) => {
            x.apply(ctx);
            Ok(())
        }
        T::AddField(x) => {
            x.apply(&mut c.meta);
            Ok(())
        }
        T::RemoveField(x) => {
            x.apply_correlation(&mut c.meta);
            Ok(())
        }
        T::SetField(x) => {
            x.apply(&mut c.meta);
            Ok(())
        }
        T::SetCustomAttribute(x) => {
            x.apply(&mut c.meta);
            Ok(())
        }
        T::FieldNameMapping(x) => x.apply_correlation(s, c, ctx, &err),
        T::FieldNamePrefixMapping(x) => x.apply_correlation(s, c, ctx, &err),
        T::FieldNamePrefix(x) => x.apply_correlation(s, c, ctx, &err),
        T::FieldNameSuffix(x) => x.apply_correlation(s, c, ctx, &err),
        T::DropDetectionItem(_)
        | T::HashesFields(_)
        | T::ExtractFields(_)
        | T::WildcardPlaceholders(_)
        | T::ValuePlaceholders(_)
        | T::QueryExpressionPlaceholders(_)
        | T::AddCondition(_)
        | T::ChangeLogsource(_)
        | T::ReplaceString(_)
        | T::MapString(_)
        | T::Regex(_)
        | T::SetValue(_)
        | T::ConvertType(_)
        | T::DetectionItemFailure(_)
        | T::StrictFieldMappingFailure(_)
        | T::Case(_) => Ok(()),
    }
}

/// Whether any of the items (nested ones included) is a `strict_field_mapping_failure`.
pub(crate) fn uses_strict_mapping(items: &[Item]) -> bool {
    items.iter().any(|i| {
        matches!(
            i.transformation,
            Transformation::StrictFieldMappingFailure(_)
        ) || matches!(&i.transformation, Transformation::Nest(n) if uses_strict_mapping(&n.items))
    })
}
