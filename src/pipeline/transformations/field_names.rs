//! What the field name transformations (`field_name_mapping`, `field_name_prefix_mapping`,
//! `field_name_prefix`, `field_name_suffix`) share: given how one name maps, rename the rule's
//! `fields`, the fields and field references of the selected detection items (pySigma
//! `FieldMappingTransformationBase`), or the fields of a correlation rule.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::ir::{Correlation, Test};
use crate::pipeline::conditions::field_name;
use crate::pipeline::node::{Ctx, Leaf, Node};
use crate::pipeline::values::field_ref;
use crate::pipeline::work::{for_each_item, Changed, Scope, Work};

/// How one field name maps: `None` when the transformation leaves it alone.
pub(crate) type MapName<'m> = dyn Fn(&str) -> Option<Cow<'m, [String]>> + 'm;

/// pySigma `_apply_field_name`: the mapped names when the mapping applies and the field name
/// conditions hold, else the name itself. Tracks which item produced the names.
fn apply_field_name(item: &Scope, map: &MapName<'_>, name: &str, ctx: &mut Ctx<'_>) -> Vec<String> {
    match map(name) {
        Some(dest) if field_name::name_ok(&item.field_name_conditions, Some(name), ctx) => {
            ctx.track(name, &dest, item.id.as_deref());
            dest.into_owned()
        }
        _ => vec![name.to_string()],
    }
}

/// Renames the rule's `fields` and the selected detection items.
pub(crate) fn apply(
    item: &Scope,
    type_name: &str,
    map: &MapName<'_>,
    w: &mut Work<'_>,
    ctx: &mut Ctx<'_>,
) -> Result<()> {
    if !w.meta.fields.is_empty() {
        let fields = std::mem::take(&mut w.meta.fields);
        w.meta.fields = fields
            .iter()
            .flat_map(|f| apply_field_name(item, map, f, ctx))
            .collect();
    }
    for_each_item(item, type_name, w, ctx, &mut |leaf, _, ctx| {
        map_leaf(item, map, leaf, ctx)
    })
}

/// Field name mapping of one predicate (pySigma `FieldMappingTransformationBase.apply_detection_item`).
fn map_leaf(
    item: &Scope,
    map: &MapName<'_>,
    leaf: &mut Leaf,
    ctx: &mut Ctx<'_>,
) -> std::result::Result<Changed, String> {
    let conditions = &item.field_name_conditions;
    let mut refs: Option<Vec<String>> = None;
    if let Some(r) = field_ref(&leaf.pred.test) {
        if field_name::name_ok(conditions, Some(r), ctx) {
            let dest = apply_field_name(item, map, r, ctx);
            if map(r).is_some() {
                ctx.record_mapping(r, &dest);
            }
            refs = Some(dest);
        }
    }
    let mut fields: Option<Cow<'_, [String]>> = None;
    if let Some(f) = leaf.pred.field.as_deref() {
        if let Some(dest) = map(f) {
            if field_name::name_ok(conditions, Some(f), ctx) {
                ctx.record_mapping(f, &dest);
                fields = Some(dest);
            }
        }
    }
    let fields: Vec<Option<String>> = match (refs.is_none(), fields) {
        (true, None) => return Ok(Changed::No),
        (true, Some(fs)) if fs.len() == 1 => {
            leaf.pred.field = Some(fs[0].clone());
            return Ok(Changed::Edited);
        }
        (_, Some(fs)) => fs.iter().cloned().map(Some).collect(),
        (false, None) => vec![leaf.pred.field.clone()],
    };
    if fields.is_empty() {
        return Err(format!(
            "field `{}` is mapped to no field at all",
            leaf.pred.field.as_deref().unwrap_or_default()
        ));
    }
    let mut alts = Vec::new();
    let reference = match &leaf.pred.test {
        Test::FieldRef { how, cased, .. } => refs.as_ref().map(|rs| (rs, *how, *cased)),
        Test::Str { .. }
        | Test::Regex { .. }
        | Test::Num { .. }
        | Test::Bool(_)
        | Test::Null
        | Test::Exists(_)
        | Test::Cidr(_)
        | Test::TimePart { .. } => None,
    };
    for f in &fields {
        match reference {
            Some((rs, how, cased)) => {
                for r in rs {
                    let mut l = leaf.clone();
                    l.pred.field.clone_from(f);
                    l.pred.test = Test::FieldRef {
                        field: r.clone(),
                        how,
                        cased,
                    };
                    alts.push(Node::Leaf(l));
                }
            }
            None => {
                let mut l = leaf.clone();
                l.pred.field.clone_from(f);
                alts.push(Node::Leaf(l));
            }
        }
    }
    Ok(Changed::Replaced(Node::or(alts)))
}

/// Renames `group-by` fields (not aliases), alias targets and the condition `field` of a
/// correlation rule; `err` builds the error of a one-to-many mapping.
pub(crate) fn apply_correlation(
    item: &Scope,
    map: &MapName<'_>,
    c: &mut Correlation,
    ctx: &mut Ctx<'_>,
    err: &dyn Fn(String) -> Error,
) -> Result<()> {
    let fields = std::mem::take(&mut c.meta.fields);
    c.meta.fields = fields
        .iter()
        .flat_map(|f| apply_field_name(item, map, f, ctx))
        .collect();
    let single = |name: &str, ctx: &mut Ctx<'_>, what: &str| -> Result<String> {
        let mut v = apply_field_name(item, map, name, ctx);
        if v.len() == 1 {
            Ok(v.remove(0))
        } else {
            Err(err(format!(
                "field `{name}` of the correlation {what} maps to several fields"
            )))
        }
    };
    for mapping in c.aliases.values_mut() {
        for f in mapping.values_mut() {
            *f = single(f, ctx, "alias")?;
        }
    }
    let group_by = std::mem::take(&mut c.group_by);
    c.group_by = group_by
        .iter()
        .flat_map(|g| {
            if c.aliases.contains_key(g) {
                vec![g.clone()]
            } else {
                apply_field_name(item, map, g, ctx)
            }
        })
        .collect();
    for f in &mut c.field {
        *f = single(f, ctx, "condition")?;
    }
    Ok(())
}
