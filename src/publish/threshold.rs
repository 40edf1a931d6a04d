//! Sigma `event_count` and `value_count` correlations as Elastic threshold rules
//! (detection-rules `type = "threshold"`, `[rule.threshold]`): the one correlated rule's query,
//! `threshold.field` from `group-by` (at most 3), `threshold.value` from the lower bound, and for
//! `value_count` one `[[rule.threshold.cardinality]]` entry. A threshold rule counts the events
//! of each run's look-back (`from` = `interval` = the timespan): windows of the schedule, not the
//! sliding windows of `sigmat eval`, which a warning says. Everything else is refused by name.

use super::model::{Cardinality, Threshold};
use super::{build, ElasticRule, Options, QueryLanguage, Target};
use crate::error::{Error, ErrorKind, Warning};
use crate::ir::{CmpOp, Correlation, CorrelationType, Rule};

/// Elastic's limit on `threshold.field`.
const MAX_FIELDS: usize = 3;

/// The `[rule.threshold]` of `corr`, or why it has none.
///
/// # Errors
/// [`ErrorKind::Unsupported`] (target `threshold`) naming what a threshold rule cannot hold.
pub fn threshold_of(corr: &Correlation, language: QueryLanguage) -> Result<Threshold, Error> {
    let refuse = |what: String| {
        Err(Error::new(ErrorKind::Unsupported {
            target: "threshold".into(),
            what,
        })
        .at("correlation"))
    };
    match language {
        QueryLanguage::Kuery | QueryLanguage::Lucene => {}
        QueryLanguage::Eql | QueryLanguage::Esql => {
            return refuse(format!(
                "a threshold rule in {} (threshold rules are KQL or Lucene queries)",
                language.language()
            ))
        }
    }
    let cardinality_field = match corr.kind {
        CorrelationType::EventCount => None,
        CorrelationType::ValueCount => match corr.field.as_slice() {
            [f] => Some(f.clone()),
            _ => {
                return refuse(
                    "a `value_count` over several fields (cardinality counts one)".into(),
                )
            }
        },
        CorrelationType::Temporal => return refuse(other("temporal")),
        CorrelationType::TemporalOrdered => return refuse(other("temporal_ordered")),
        CorrelationType::ValueSum => return refuse(other("value_sum")),
        CorrelationType::ValueAvg => return refuse(other("value_avg")),
        CorrelationType::ValuePercentile => return refuse(other("value_percentile")),
        CorrelationType::ValueMedian => return refuse(other("value_median")),
    };
    let least = if let [(op, n)] = corr.condition.as_slice() {
        match op {
            CmpOp::Gte => n.as_i64(),
            CmpOp::Gt => n.as_i64().map(|v| v + 1),
            CmpOp::Eq | CmpOp::Lt | CmpOp::Lte | CmpOp::Neq => None,
        }
    } else {
        None
    };
    let Some(least) = least
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v >= 1)
    else {
        return refuse(
            "a correlation condition other than one integral `gte` or `gt` (a threshold counts up)"
                .into(),
        );
    };
    if corr.rules.len() != 1 {
        return refuse("a correlation over several rules (a threshold rule has one query)".into());
    }
    if corr.group_by.len() > MAX_FIELDS {
        return refuse(format!(
            "more than {MAX_FIELDS} group-by fields (Elastic's threshold.field limit)"
        ));
    }
    if !corr.aliases.is_empty() {
        return refuse("field aliases (a threshold rule groups by field names)".into());
    }
    let field = corr.group_by.clone();
    Ok(match cardinality_field {
        None => Threshold {
            field,
            value: least,
            cardinality: Vec::new(),
        },
        Some(f) => Threshold {
            field,
            value: 1,
            cardinality: vec![Cardinality {
                field: f,
                value: least,
            }],
        },
    })
}

fn other(kind: &str) -> String {
    format!("`{kind}` correlation rules as threshold rules (only event_count and value_count)")
}

/// The threshold rule of `corr` over its one rule `base` and that rule's `query`: the
/// correlation's metadata (title, id, level, tags...), the base rule's log source and index.
///
/// # Errors
/// [`threshold_of`]'s refusals and [`build`]'s errors.
pub fn build_threshold(
    corr: &Correlation,
    base: &Rule,
    query: &str,
    target: &Target,
    opts: &Options,
) -> Result<(ElasticRule, Vec<Warning>), Error> {
    let threshold = threshold_of(corr, target.language)?;
    let mut rule = base.clone();
    rule.meta = corr.meta.clone();
    rule.origin = corr.origin.clone();
    let (mut model, mut warnings) = build(&rule, query, target, opts)?;
    let span = corr.timespan.seconds;
    model.rule.rule_type = "threshold";
    model.rule.from = format!("now-{span}s");
    model.rule.interval = format!("{span}s");
    model.rule.threshold = Some(threshold);
    warnings.push(Warning {
        message: "a threshold rule counts the events of each run's look-back (from = interval = the timespan), not sliding windows: a burst across two runs can be missed".into(),
        at: Some("correlation.timespan".into()),
    });
    Ok((model, warnings))
}
