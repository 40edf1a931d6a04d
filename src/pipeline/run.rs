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

/// Runs the pipelines (in the given order) over a rule; on error the rule is unchanged.
pub(crate) fn apply_rule(pipelines: &[&Pipeline], rule: &mut Rule) -> Result<()> {
    let mut ctx = context(pipelines);
    ctx.state.clone_from(&rule.state);
    ctx.applied.clone_from(&rule.applied);
    let mut w = Work {
        pipeline: "",
        meta: rule.meta.clone(),
        logsource: rule.logsource.clone(),
        conditions: rule.conditions.iter().map(Node::from_expr).collect(),
        file: rule.origin.file.as_deref(),
    };
    for p in pipelines {
        w.pipeline = &p.name;
        for item in &p.items {
            apply_item(item, &mut w, &mut ctx)?;
        }
    }
    rule.meta = w.meta;
    rule.logsource = w.logsource;
    rule.conditions = w.conditions.into_iter().map(Node::into_expr).collect();
    rule.state = ctx.state;
    rule.applied = ctx.applied;
    Ok(())
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
