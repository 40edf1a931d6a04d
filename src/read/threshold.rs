//! Threshold rules (`type = "threshold"`) as IR correlations.
//!
//! Kibana runs a threshold rule every `interval` over the look-back `from` (`now-9m`: the last
//! nine minutes; default `now-6m`) and alerts for every group of `threshold.field` values
//! (none: one group) whose number of query matches reaches `threshold.value`; with
//! `[[rule.threshold.cardinality]]`, the group must also hold at least `value` distinct values
//! of that field. In the IR:
//!
//! - the query becomes a rule of its own, named `<rule_id>:query` (title `<name> (query)`),
//! - the threshold a correlation over it (the rule's metadata): `event_count` with
//!   `gte: threshold.value`, or with a cardinality, `value_count` of its field with
//!   `gte: cardinality.value` (which implies the event count when `threshold.value` is not
//!   larger; a larger one is refused by name); `group-by` the threshold fields; `timespan` the
//!   look-back of `from`.
//!
//! The correlation's windows slide over every span of that length (the meaning documented in
//! `docs/correlation-semantics.md`), where Kibana only judges the windows its schedule gives:
//! every group Kibana alerts on is found, and a burst Kibana's schedule splits between two runs
//! is found too.

use indexmap::IndexMap;

use super::{lower_query, refusal, ElasticRule};
use crate::error::Result;
use crate::ir;

/// The look-back of `from` (`now-9m`) in seconds, with its text; `now-6m` when absent.
pub(super) fn lookback(rule: &ElasticRule) -> Option<(String, u64)> {
    let from = rule.from.as_deref().unwrap_or("now-6m");
    let span = from.strip_prefix("now-")?;
    let unit = span.chars().last()?;
    let n: u64 = span[..span.len() - unit.len_utf8()].parse().ok()?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    Some((span.to_string(), n.checked_mul(mult)?))
}

/// The query rule and the correlation of a threshold rule.
///
/// # Errors
/// As [`super::lower_rule`] for the query; [`crate::error::ErrorKind::Unsupported`] for a
/// look-back other than `now-N<s|m|h|d>`, several cardinality fields, or a count above the
/// cardinality.
pub(super) fn lower(
    rule: ElasticRule,
    origin: ir::Origin,
) -> Result<(Vec<ir::Document>, Vec<crate::error::Error>)> {
    let (lowered, warnings) = lower_query(&rule)?;
    let cond = match lowered {
        crate::read::eql::lower::Lowered::Event(x) => x,
        crate::read::eql::lower::Lowered::Sequence(_)
        | crate::read::eql::lower::Lowered::Sample(_) => {
            return Err(refusal(
                &rule,
                "a threshold rule over an EQL sequence or sample".into(),
                "threshold rules take a kuery",
            ))
        }
    };
    let Some(th) = rule.threshold.clone() else {
        let mut e = refusal(
            &rule,
            "a threshold rule without `[rule.threshold]`".into(),
            "add `[rule.threshold]` with `field` and `value`",
        );
        e.location.path = Some("rule.threshold".into());
        return Err(e);
    };
    let Some((text, seconds)) = lookback(&rule) else {
        let mut e = refusal(
            &rule,
            format!(
                "the look-back `from = {:?}` of a threshold rule",
                rule.from.as_deref().unwrap_or_default()
            ),
            "write it as `now-N` with s, m, h or d",
        );
        e.location.path = Some("rule.from".into());
        return Err(e);
    };
    let (kind, field, min) = match th.cardinality.as_slice() {
        [] => (ir::CorrelationType::EventCount, Vec::new(), th.value),
        [(f, card)] if th.value <= *card => {
            (ir::CorrelationType::ValueCount, vec![f.clone()], *card)
        }
        [_] => {
            let mut e = refusal(
                &rule,
                "a threshold whose `value` exceeds its cardinality".into(),
                "the IR correlation has one aggregate: an event count or a distinct count",
            );
            e.location.path = Some("rule.threshold.value".into());
            return Err(e);
        }
        _ => {
            let mut e = refusal(
                &rule,
                "a threshold with several cardinality fields".into(),
                "the IR correlation has one aggregate",
            );
            e.location.path = Some("rule.threshold.cardinality".into());
            return Err(e);
        }
    };
    let handle = format!("{}:query", rule.rule_id);
    let meta = rule.into_meta();
    let base = ir::Rule {
        meta: ir::Meta {
            title: format!("{} (query)", meta.title),
            name: Some(handle.clone()),
            level: meta.level,
            ..ir::Meta::default()
        },
        logsource: ir::LogSource::default(),
        conditions: vec![cond],
        state: IndexMap::new(),
        applied: Vec::new(),
        origin: origin.clone(),
    };
    let corr = ir::Correlation {
        meta,
        kind,
        rules: vec![handle],
        group_by: th.fields,
        timespan: ir::Timespan { text, seconds },
        condition: vec![(ir::CmpOp::Gte, ir::Number::new(min.max(1).to_string()))],
        field,
        percentile: None,
        aliases: IndexMap::new(),
        generate: false,
        origin: ir::Origin {
            document: 1,
            ..origin
        },
    };
    Ok((
        vec![ir::Document::Rule(base), ir::Document::Correlation(corr)],
        warnings,
    ))
}
