//! EQL samples (`sample by k [q1] [q2] ...`) as IR `temporal` correlations.
//!
//! Elasticsearch returns, for each combination of join-key values, events that match each
//! query, in any order and at any time inside the searched range; Kibana searches the
//! look-back `from` (`now-9m`; default `now-6m`) every `interval` and alerts on each sample.
//! Non-optional join keys must have a value. In the IR:
//!
//! - each query becomes a rule of its own, named `<rule_id>:sample:<n>` (title `<name>
//!   (sample query <n>)`), in order;
//! - the sample a `temporal` correlation over them (the rule's metadata) with `group-by` the
//!   join keys, `timespan` the look-back of `from` and `gte: <number of queries>`: every query
//!   matched per group within the timespan.
//!
//! Where the two differ, and so the reader warns: the correlation's windows slide over every
//! span of that length (`docs/correlation-semantics.md`) where Kibana only searches the ranges
//! its schedule gives (a sample that a schedule splits between two runs is found too), and
//! Elasticsearch returns at most one sample per key combination and search (the number of
//! alerts, not whether the rule alerts).

use indexmap::IndexMap;

use super::eql::lower::LoweredSample;
use super::threshold::lookback;
use super::{refusal, ElasticRule};
use crate::error::{Error, ErrorKind, Result};
use crate::ir;

/// The query rules and the correlation of a sample, and the reader's warning.
///
/// # Errors
/// [`ErrorKind::Unsupported`] for a look-back other than `now-N<s|m|h|d>`.
pub(super) fn lower(
    rule: ElasticRule,
    sample: LoweredSample,
    origin: ir::Origin,
) -> Result<(Vec<ir::Document>, Error)> {
    let Some((text, seconds)) = lookback(&rule) else {
        let mut e = refusal(
            &rule,
            format!(
                "the look-back `from = {:?}` of an EQL sample rule",
                rule.from.as_deref().unwrap_or_default()
            ),
            "write it as `now-N` with s, m, h or d",
        );
        e.location.path = Some("rule.from".into());
        return Err(e);
    };
    let mut warning = Error::new(ErrorKind::Approximated(format!(
        "the EQL sample is read as a `temporal` correlation of its {} queries grouped by {} \
         within the look-back {text}: its windows slide where Kibana searches the ranges of its \
         schedule, and every matching group alerts where Elasticsearch returns one sample per \
         key combination and search",
        sample.terms.len(),
        sample.by.join(", ")
    )))
    .at("rule.query")
    .hint("the reading is documented in src/read/sample.rs");
    if let Some(f) = &rule.file {
        warning = warning.in_file(f.clone());
    }
    if let Some(q) = &rule.query {
        if let Some((l, c)) = q.origin.file_pos(1, 1) {
            warning = warning.at_line(l, Some(c));
        }
    }
    let id = rule.rule_id.clone();
    let meta = rule.into_meta();
    let n = sample.terms.len();
    let mut docs = Vec::with_capacity(n + 1);
    let mut handles = Vec::with_capacity(n);
    for (i, cond) in sample.terms.into_iter().enumerate() {
        let handle = format!("{id}:sample:{}", i + 1);
        docs.push(ir::Document::Rule(ir::Rule {
            meta: ir::Meta {
                title: format!("{} (sample query {})", meta.title, i + 1),
                name: Some(handle.clone()),
                level: meta.level,
                ..ir::Meta::default()
            },
            logsource: ir::LogSource::default(),
            conditions: vec![cond],
            state: IndexMap::new(),
            applied: Vec::new(),
            origin: ir::Origin {
                document: i,
                ..origin.clone()
            },
        }));
        handles.push(handle);
    }
    docs.push(ir::Document::Correlation(ir::Correlation {
        meta,
        kind: ir::CorrelationType::Temporal,
        rules: handles,
        group_by: sample.by,
        timespan: ir::Timespan { text, seconds },
        condition: vec![(ir::CmpOp::Gte, ir::Number::new(n.to_string()))],
        field: Vec::new(),
        percentile: None,
        aliases: IndexMap::new(),
        generate: false,
        origin: ir::Origin {
            document: n,
            ..origin
        },
    }));
    Ok((docs, warning))
}
