//! Running pipelines over a rule or a correlation rule.

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::Result;
use crate::ir::{Correlation, Rule};
use crate::pipeline::model::Pipeline;
use crate::pipeline::node::{Ctx, Node};
use crate::pipeline::transformations::{apply_correlation_item, apply_item, uses_strict_mapping};
use crate::pipeline::work::Work;

/// The state of a run of `pipelines` over one rule.
fn context<'p>(pipelines: &[&'p Pipeline]) -> Ctx<'p> {
    let strict = pipelines.iter().any(|p| uses_strict_mapping(&p.items));
    Ctx {
        vars: pipelines.iter().map(|p| &p.vars).collect(),
        mapped: strict.then(Default::default),
        ..Ctx::default()
    }
}

/// Runs the pipelines (in the given order) over a rule, taking it.
pub(crate) fn apply_rule(pipelines: &[&Pipeline], mut rule: Rule) -> Result<Rule> {
    let mut ctx = context(pipelines);
    ctx.state = std::mem::take(&mut rule.state);
    ctx.applied = std::mem::take(&mut rule.applied);
    let conditions = std::mem::take(&mut rule.conditions);
    let mut w = Work {
        pipeline: "",
        meta: std::mem::take(&mut rule.meta),
        logsource: std::mem::take(&mut rule.logsource),
        conditions: conditions.into_iter().map(Node::from_owned).collect(),
        file: rule.origin.file.as_deref(),
    };
    for p in pipelines {
        w.pipeline = &p.name;
        for item in &p.items {
            apply_item(item, &mut w, &mut ctx)?;
        }
    }
    let (meta, logsource) = (w.meta, w.logsource);
    let conditions = w.conditions.into_iter().map(Node::into_expr).collect();
    Ok(Rule {
        meta,
        logsource,
        conditions,
        state: ctx.state,
        applied: ctx.applied,
        origin: rule.origin,
    })
}

/// Runs the pipelines over a correlation rule and returns the `set_state` values.
pub(crate) fn apply_correlation(
    pipelines: &[&Pipeline],
    corr: &mut Correlation,
) -> Result<IndexMap<String, Value>> {
    let mut ctx = context(pipelines);
    let mut c = corr.clone();
    for p in pipelines {
        for item in &p.items {
            apply_correlation_item(&p.name, item, &mut c, &mut ctx)?;
        }
    }
    *corr = c;
    Ok(ctx.state)
}
