//! Correlation rules: each correlated rule converted on its own, then the backend's snippet
//! for the correlation type (`correlation:` in the backend file) writes the whole query from
//! those queries, the group-by fields (aliases resolved per rule), the condition and the
//! timespan.

use minijinja::context;
use minijinja::value::Value;

use super::escape::{Input, Refusal};
use super::leaf::number;
use super::snippet;
use super::{walk, Backend, Conversion, Options};
use crate::error::{Error, ErrorKind, Result, Warning};
use crate::ir::{CmpOp, Correlation, Rule};

/// The template name of a threshold operator.
fn op_key(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "eq",
        CmpOp::Lt => "lt",
        CmpOp::Lte => "lte",
        CmpOp::Gt => "gt",
        CmpOp::Gte => "gte",
        CmpOp::Neq => "neq",
    }
}

/// Converts a correlation over its rules (see [`Backend::convert_correlation`]).
pub(super) fn convert_correlation(
    b: &Backend,
    corr: &Correlation,
    rules: &[&Rule],
    opts: &Options,
) -> Result<Conversion> {
    let kind = corr.kind.name();
    let unsupported = |what: String| {
        Error::new(ErrorKind::Unsupported {
            target: b.name().to_string(),
            what,
        })
        .at("correlation")
    };
    let Some(snippet) = b
        .file()
        .correlation
        .all()
        .into_iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, s)| s.clone())
    else {
        return Err(unsupported(format!("`{kind}` correlation rules")));
    };
    let escape = |name: &str| {
        b.field
            .apply(&Input::Text(name))
            .map(Value::from_safe_string)
            .map_err(|Refusal(what)| unsupported(what))
    };
    let (items, warnings) = correlated(b, corr, rules, opts, &escape, &unsupported)?;
    let group_by: Vec<Value> = corr
        .group_by
        .iter()
        .map(|g| escape(g))
        .collect::<Result<_>>()?;
    let fields: Vec<Value> = corr
        .field
        .iter()
        .map(|g| escape(g))
        .collect::<Result<_>>()?;
    let condition: Vec<Value> = corr
        .condition
        .iter()
        .map(|(op, n)| {
            context! {
                op => op_key(*op),
                count => n.as_i64(),
                value => Value::from_safe_string(number(&n.text).unwrap_or_default()),
            }
        })
        .collect();
    let percentile = corr.percentile.as_ref().map_or(50.0, |p| p.as_f64());
    let ctx = context! {
        rules => items,
        rule_count => rules.len(),
        group_by => group_by,
        fields => fields,
        condition => condition,
        seconds => Value::from_safe_string(corr.timespan.seconds.to_string()),
        nanos => Value::from_safe_string(corr.timespan.seconds.saturating_mul(1_000_000_000).to_string()),
        timespan => corr.timespan.text.clone(),
        type => kind,
        sliding => corr.slides(),
        percentile => Value::from_safe_string(format!("{percentile:?}")),
        options => Value::from_iter(opts.iter().map(|(k, v)| (k.clone(), Value::from(v.clone())))),
    };
    let prefix = format!("correlation.{kind}");
    snippet::whole_query(b, &prefix, snippet.templates().len(), &ctx, warnings)?
        .map_err(|last| unsupported(last.unwrap_or_else(|| format!("`{kind}` correlation rules"))))
}

/// The correlated rules as template values (`{query, by, title}`), each converted on its own,
/// and their warnings (each message once).
fn correlated(
    b: &Backend,
    corr: &Correlation,
    rules: &[&Rule],
    opts: &Options,
    escape: &dyn Fn(&str) -> Result<Value>,
    unsupported: &dyn Fn(String) -> Error,
) -> Result<(Vec<Value>, Vec<Warning>)> {
    let mut warnings: Vec<Warning> = Vec::new();
    let mut items = Vec::with_capacity(rules.len());
    for r in rules {
        let (c, conditions) = walk::convert_parts(b, r, opts)?;
        let ([query], [condition]) = (c.queries.as_slice(), conditions.as_slice()) else {
            return Err(unsupported(format!(
                "a correlated rule with {} conditions (`{}`)",
                c.queries.len(),
                r.meta.title
            )));
        };
        for w in c.warnings {
            if !warnings.iter().any(|x| x.message == w.message) {
                warnings.push(w);
            }
        }
        let by = resolved(corr, &corr.group_by, r)
            .into_iter()
            .map(escape)
            .collect::<Result<Vec<_>>>()?;
        let fields = resolved(corr, &corr.field, r)
            .into_iter()
            .map(escape)
            .collect::<Result<Vec<_>>>()?;
        let vars = super::vars::query_context(b.file(), r, opts)?;
        items.push(context! {
            vars => Value::from_iter(vars),
            query => Value::from_safe_string(query.clone()),
            condition => Value::from_safe_string(condition.clone()),
            by => by,
            fields => fields,
            title => r.meta.title.clone(),
        });
    }
    Ok((items, warnings))
}

/// Names of `names` (group-by or value fields) for one correlated rule: each name, or its
/// alias for this rule (by id, else by name).
fn resolved<'c>(corr: &'c Correlation, names: &'c [String], r: &'c Rule) -> Vec<&'c str> {
    names
        .iter()
        .map(|g| {
            corr.aliases
                .get(g)
                .and_then(|m| {
                    r.meta
                        .id
                        .as_ref()
                        .and_then(|id| m.get(id))
                        .or_else(|| r.meta.name.as_ref().and_then(|n| m.get(n)))
                })
                .unwrap_or(g)
                .as_str()
        })
        .collect()
}
