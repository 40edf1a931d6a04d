//! Correlation documents (Sigma 2.1: all seven types).

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use super::detection::invalid;
use super::document::{get, key_text, meta, string, strings};
use super::{KeyPath, R};
use crate::error::ErrorKind;
use crate::ir::{CmpOp, Correlation, CorrelationType, Number, Origin, Timespan};

fn bad(path: &KeyPath, msg: impl Into<String>) -> super::Fail {
    path.err(ErrorKind::InvalidCorrelation(msg.into()))
}

/// Parses a timespan `<int><unit>`: s, m, h, d (spec) and w, M, y (pySigma).
pub(crate) fn timespan(text: &str) -> Option<Timespan> {
    let t = text.trim();
    let unit = t.chars().last()?;
    let num: u64 = t[..t.len() - unit.len_utf8()].parse().ok()?;
    let mult: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        'M' => 2_629_746,
        'y' => 31_556_952,
        _ => return None,
    };
    Some(Timespan {
        text: t.to_string(),
        seconds: num.checked_mul(mult)?,
    })
}

pub(crate) fn lower(m: &Mapping) -> R<Correlation> {
    let root = KeyPath::default();
    let meta = meta(m, &["correlation", "generate"])?;
    let cp = root.key("correlation");
    let Some(Value::Mapping(c)) = get(m, "correlation") else {
        return Err(cp.err(invalid(
            "a mapping with type, rules, timespan...",
            m.get("correlation").unwrap_or(&Value::Null),
        )));
    };
    let tv = get(c, "type").ok_or_else(|| {
        cp.err(ErrorKind::MissingKey("correlation.type".into()))
            .hint("one of event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile")
    })?;
    let kind = correlation_type(tv, &cp)?;
    let rules = match get(c, "rules") {
        Some(v) => strings(v, &cp.key("rules"))?,
        None => Vec::new(),
    };
    if rules.is_empty() {
        return Err(cp
            .err(ErrorKind::MissingKey("correlation.rules".into()))
            .hint("list the ids or names of the correlated rules"));
    }
    let group_by = match get(c, "group-by") {
        Some(v) => strings(v, &cp.key("group-by"))?,
        None => Vec::new(),
    };
    let tsp = cp.key("timespan");
    let ts_value = get(c, "timespan").ok_or_else(|| {
        cp.err(ErrorKind::MissingKey("correlation.timespan".into()))
            .hint("e.g. `timespan: 5m` (units s, m, h, d)")
    })?;
    let ts_text = string(ts_value, &tsp)?;
    let timespan = timespan(&ts_text).ok_or_else(|| {
        tsp.err(invalid(
            "a timespan such as `90s`, `5m`, `1h`, `2d`",
            ts_value,
        ))
        .hint("a whole number followed by s, m, h or d (also w, M, y)")
    })?;
    let temporal = matches!(
        kind,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered
    );
    let condp = cp.key("condition");
    let (mut condition, field, percentile) = condition(c, &cp, &condp, temporal)?;
    if condition.is_empty() {
        if temporal {
            condition.push((CmpOp::Gte, Number::new(rules.len().to_string())));
        } else {
            return Err(bad(
                &condp,
                "the condition has no comparison (gt, gte, lt, lte, eq or neq)",
            ));
        }
    }
    let needs_field = matches!(
        kind,
        CorrelationType::ValueCount
            | CorrelationType::ValueSum
            | CorrelationType::ValueAvg
            | CorrelationType::ValuePercentile
            | CorrelationType::ValueMedian
    );
    if needs_field && field.is_empty() {
        return Err(condp
            .err(ErrorKind::MissingKey("correlation.condition.field".into()))
            .hint("value_* correlations need the field to count, sum or average"));
    }
    if kind == CorrelationType::ValuePercentile && percentile.is_none() {
        return Err(condp
            .err(ErrorKind::MissingKey(
                "correlation.condition.percentile".into(),
            ))
            .hint("e.g. `percentile: 95`"));
    }
    let aliases = aliases(c, &cp)?;
    let generate = match get(c, "generate").or_else(|| get(m, "generate")) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(cp.key("generate").err(invalid("`true` or `false`", other))),
    };
    Ok(Correlation {
        meta,
        kind,
        rules,
        group_by,
        timespan,
        condition,
        field,
        percentile,
        aliases,
        generate,
        origin: Origin::default(),
    })
}

/// The `type` of a correlation.
fn correlation_type(tv: &Value, cp: &KeyPath) -> R<CorrelationType> {
    Ok(match tv.as_str() {
    Some("event_count") => CorrelationType::EventCount,
    Some("value_count") => CorrelationType::ValueCount,
    Some("temporal") => CorrelationType::Temporal,
    Some("temporal_ordered") => CorrelationType::TemporalOrdered,
    Some("value_sum") => CorrelationType::ValueSum,
    Some("value_avg") => CorrelationType::ValueAvg,
    Some("value_percentile") => CorrelationType::ValuePercentile,
    Some("value_median") => CorrelationType::ValueMedian,
    _ => {
        return Err(cp.key("type").err(invalid(
            "one of event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile, value_median",
            tv,
        )))
    }
})
}

/// The comparisons, `field` and `percentile` of `correlation.condition`.
#[allow(clippy::type_complexity)]
fn condition(
    c: &Mapping,
    cp: &KeyPath,
    condp: &KeyPath,
    temporal: bool,
) -> R<(Vec<(CmpOp, Number)>, Vec<String>, Option<Number>)> {
    let mut condition = Vec::new();
    let mut field = Vec::new();
    let mut percentile = None;
    match get(c, "condition") {
        None if temporal => {}
        None => {
            return Err(cp
                .err(ErrorKind::MissingKey("correlation.condition".into()))
                .hint("e.g. `condition: {gte: 10}`"))
        }
        Some(Value::Mapping(cm)) => {
            for (k, v) in cm {
                let key = key_text(k);
                let p = condp.key(&key);
                let op = match key.as_str() {
                    "gt" => CmpOp::Gt,
                    "gte" => CmpOp::Gte,
                    "lt" => CmpOp::Lt,
                    "lte" => CmpOp::Lte,
                    "eq" => CmpOp::Eq,
                    "neq" => CmpOp::Neq,
                    "field" => {
                        field = strings(v, &p)?;
                        continue;
                    }
                    "percentile" => {
                        percentile = Some(number(v, &p)?);
                        continue;
                    }
                    other => {
                        return Err(bad(&p, format!("unknown condition key `{other}`")).hint(
                            "use gt, gte, lt, lte, eq or neq, plus `field` for value_* types",
                        ))
                    }
                };
                condition.push((op, number(v, &p)?));
            }
        }
        Some(other) => {
            return Err(condp
                .err(invalid("a mapping such as `{gte: 10}`", other))
                .hint(
                    "string conditions (pySigma's extended temporal conditions) are not supported",
                ))
        }
    }
    Ok((condition, field, percentile))
}

/// The `aliases` of a correlation: alias → rule → field.
fn aliases(c: &Mapping, cp: &KeyPath) -> R<IndexMap<String, IndexMap<String, String>>> {
    let mut aliases = IndexMap::new();
    if let Some(v) = get(c, "aliases") {
        let ap = cp.key("aliases");
        let Value::Mapping(am) = v else {
            return Err(ap.err(invalid("a mapping alias → {rule: field}", v)));
        };
        for (k, v) in am {
            let alias = key_text(k);
            let p = ap.key(&alias);
            let Value::Mapping(rm) = v else {
                return Err(p.err(invalid("a mapping rule → field", v)));
            };
            let mut per = IndexMap::new();
            for (rk, rv) in rm {
                let rule = key_text(rk);
                per.insert(rule.clone(), string(rv, &p.key(&rule))?);
            }
            aliases.insert(alias, per);
        }
    }
    Ok(aliases)
}

fn number(v: &Value, p: &KeyPath) -> R<Number> {
    match v {
        Value::Number(n) => super::detection::number_text(n)
            .map(Number::new)
            .ok_or_else(|| p.err(invalid("a number", v))),
        Value::String(s) if s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
            Ok(Number::new(s.trim()))
        }
        _ => Err(p.err(invalid("a number", v))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(timespan("90m").unwrap().seconds, 5400);
        assert_eq!(timespan("1h").unwrap().seconds, 3600);
        assert_eq!(timespan("2d").unwrap().seconds, 172_800);
        assert_eq!(timespan("1w").unwrap().seconds, 604_800);
        assert_eq!(timespan("1M").unwrap().seconds, 2_629_746);
        assert_eq!(timespan("15s").unwrap().seconds, 15);
        assert!(timespan("5x").is_none());
        assert!(timespan("m").is_none());
        assert!(timespan("").is_none());
        assert!(timespan("-5m").is_none());
        assert!(timespan("99999999999999999999y").is_none());
    }
}
