//! Sequences ([`crate::ir::Sequence`]): each step's condition converted as a rule of its own,
//! then the backend's `correlation.sequence` snippet writes the whole query. A backend without
//! that snippet refuses sequences by name.

use minijinja::context;
use minijinja::value::Value;

use super::escape::{Input, Refusal};
use super::snippet;
use super::{walk, Backend, Conversion, Options};
use crate::error::{Error, ErrorKind, Result, Warning};
use crate::ir::{JoinKey, LogSource, Rule, Sequence, Step};

pub(super) fn convert_sequence(b: &Backend, seq: &Sequence, opts: &Options) -> Result<Conversion> {
    let unsupported = |what: String| {
        Error::new(ErrorKind::Unsupported {
            target: b.name().to_string(),
            what,
        })
        .at("sequence")
    };
    let Some(snip) = b.file().correlation.sequence.clone() else {
        return Err(unsupported(
            "EQL sequences (ordered events joined on keys)".into(),
        ));
    };
    let keys = |ks: &[JoinKey]| -> Result<Vec<Value>> {
        ks.iter()
            .map(|k| {
                let name = b
                    .field
                    .apply(&Input::Text(&k.field))
                    .map_err(|Refusal(what)| unsupported(what))?;
                let opt = if k.optional { "?" } else { "" };
                Ok(Value::from_safe_string(format!("{opt}{name}")))
            })
            .collect()
    };
    let mut warnings: Vec<Warning> = Vec::new();
    let mut step = |s: &Step| -> Result<Value> {
        let rule = Rule {
            meta: seq.meta.clone(),
            logsource: LogSource::default(),
            conditions: vec![s.condition.clone()],
            state: indexmap::IndexMap::new(),
            applied: Vec::new(),
            origin: seq.origin.clone(),
        };
        let c = walk::convert(b, &rule, opts)?;
        let [query] = c.queries.as_slice() else {
            return Err(unsupported(format!(
                "a sequence step rendered as {} queries",
                c.queries.len()
            )));
        };
        for w in c.warnings {
            if !warnings.iter().any(|x| x.message == w.message) {
                warnings.push(w);
            }
        }
        Ok(context! {
            query => Value::from_safe_string(query.clone()),
            by => keys(&s.by)?,
            runs => Value::from_safe_string(s.runs.to_string()),
            missing => s.missing,
        })
    };
    let steps = seq
        .steps
        .iter()
        .map(&mut step)
        .collect::<Result<Vec<_>>>()?;
    let until = seq.until.as_ref().map(&mut step).transpose()?;
    let ctx = context! {
        steps => steps,
        by => keys(&seq.by)?,
        maxspan => seq.maxspan.as_ref().map(|m| Value::from_safe_string(m.text.clone())),
        maxspan_ms => seq.maxspan.as_ref().map(|m| m.millis),
        until => until,
    };
    snippet::whole_query(
        b,
        "correlation.sequence",
        snip.templates().len(),
        &ctx,
        warnings,
    )?
    .map_err(|last| unsupported(last.unwrap_or_else(|| "EQL sequences".to_string())))
}
