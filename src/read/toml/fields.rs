//! Reading the values of a detection-rules TOML file: the located-error context, the
//! conversion of TOML values to JSON, and the `threat`, `threshold` and `new_terms` tables.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{AttackRef, KibanaFilter, NewTerms, Technique, Threat, Threshold};
use crate::error::{Error, ErrorKind, Result};
use crate::read::source::line_col;

/// Reading context: the file text and name, for located errors.
pub(super) struct Ctx<'a> {
    pub(super) text: &'a str,
    pub(super) file: Option<&'a str>,
}

impl Ctx<'_> {
    pub(super) fn err(&self, kind: ErrorKind, span: std::ops::Range<usize>, path: &str) -> Error {
        let (l, c) = line_col(self.text, span.start);
        let mut e = Error::new(kind).at_line(l, Some(c)).at(path);
        if let Some(f) = self.file {
            e = e.in_file(f);
        }
        e
    }

    pub(super) fn invalid(&self, v: &Spanned<DeValue<'_>>, path: &str, expected: &str) -> Error {
        self.err(
            ErrorKind::InvalidValue {
                expected: expected.to_string(),
                found: format!("a {}", v.get_ref().type_str()),
            },
            v.span(),
            path,
        )
    }

    pub(super) fn string(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Result<String> {
        match v.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            _ => Err(self.invalid(v, path, "a string")),
        }
    }

    pub(super) fn int(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Result<i64> {
        match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
                .map_err(|_| self.invalid(v, path, "an integer that fits 64 bits")),
            _ => Err(self.invalid(v, path, "an integer")),
        }
    }

    /// A string or a list of strings.
    pub(super) fn strings(&self, v: &Spanned<DeValue<'_>>, path: &str) -> Result<Vec<String>> {
        match v.get_ref() {
            DeValue::String(s) => Ok(vec![s.to_string()]),
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, x)| self.string(x, &format!("{path}[{i}]")))
                .collect(),
            _ => Err(self.invalid(v, path, "a list of strings")),
        }
    }

    pub(super) fn table<'t, 'i>(
        &self,
        v: &'t Spanned<DeValue<'i>>,
        path: &str,
    ) -> Result<&'t DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Ok(t),
            _ => Err(self.invalid(v, path, "a table")),
        }
    }

    /// An array of tables (`[[x]]`), or one table.
    pub(super) fn tables<'t, 'i>(
        &self,
        v: &'t Spanned<DeValue<'i>>,
        path: &str,
    ) -> Result<Vec<&'t DeTable<'i>>> {
        match v.get_ref() {
            DeValue::Table(t) => Ok(vec![t]),
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, x)| self.table(x, &format!("{path}[{i}]")))
                .collect(),
            _ => Err(self.invalid(v, path, "an array of tables")),
        }
    }
}

pub(super) fn to_json(v: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        DeValue::String(s) => J::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .map_or_else(|_| J::String(i.as_str().to_string()), J::from),
        DeValue::Float(f) => f
            .as_str()
            .replace('_', "")
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| J::String(f.as_str().to_string()), J::Number),
        DeValue::Boolean(b) => J::Bool(*b),
        DeValue::Datetime(d) => J::String(d.to_string()),
        DeValue::Array(a) => J::Array(a.iter().map(|x| to_json(x.get_ref())).collect()),
        DeValue::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect(),
        ),
    }
}

pub(super) fn to_map(
    t: &DeTable<'_>,
    skip: Option<&str>,
) -> serde_json::Map<String, serde_json::Value> {
    t.iter()
        .filter(|(k, _)| Some(k.get_ref().as_ref()) != skip)
        .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
        .collect()
}

fn attack_ref(cx: &Ctx<'_>, t: &DeTable<'_>, path: &str) -> Result<AttackRef> {
    let get = |k: &str| -> Result<String> {
        t.get(k)
            .map_or(Ok(String::new()), |v| cx.string(v, &format!("{path}.{k}")))
    };
    Ok(AttackRef {
        id: get("id")?,
        name: get("name")?,
        reference: get("reference")?,
    })
}

pub(super) fn read_threat(cx: &Ctx<'_>, t: &DeTable<'_>, path: &str) -> Result<Threat> {
    let framework = t.get("framework").map_or(Ok(String::new()), |v| {
        cx.string(v, &format!("{path}.framework"))
    })?;
    let tactic = match t.get("tactic") {
        Some(v) => {
            let p = format!("{path}.tactic");
            attack_ref(cx, cx.table(v, &p)?, &p)?
        }
        None => AttackRef::default(),
    };
    let mut techniques = Vec::new();
    if let Some(v) = t.get("technique") {
        let p = format!("{path}.technique");
        for (i, tt) in cx.tables(v, &p)?.into_iter().enumerate() {
            let pi = format!("{p}[{i}]");
            let mut subtechniques = Vec::new();
            if let Some(s) = tt.get("subtechnique") {
                let ps = format!("{pi}.subtechnique");
                for (j, st) in cx.tables(s, &ps)?.into_iter().enumerate() {
                    subtechniques.push(attack_ref(cx, st, &format!("{ps}[{j}]"))?);
                }
            }
            techniques.push(Technique {
                technique: attack_ref(cx, tt, &pi)?,
                subtechniques,
            });
        }
    }
    Ok(Threat {
        framework,
        tactic,
        techniques,
    })
}

pub(super) fn read_threshold(cx: &Ctx<'_>, t: &DeTable<'_>) -> Result<Threshold> {
    let fields = t
        .get("field")
        .map_or(Ok(Vec::new()), |v| cx.strings(v, "rule.threshold.field"))?;
    let value = match t.get("value") {
        Some(v) => cx.int(v, "rule.threshold.value")?,
        None => {
            return Err(
                Error::new(ErrorKind::MissingKey("rule.threshold.value".into()))
                    .at("rule.threshold.value"),
            )
        }
    };
    let mut cardinality = Vec::new();
    if let Some(v) = t.get("cardinality") {
        for (i, c) in cx
            .tables(v, "rule.threshold.cardinality")?
            .into_iter()
            .enumerate()
        {
            let p = format!("rule.threshold.cardinality[{i}]");
            let f = c
                .get("field")
                .map_or(Ok(String::new()), |v| cx.string(v, &format!("{p}.field")))?;
            let n = c
                .get("value")
                .map_or(Ok(0), |v| cx.int(v, &format!("{p}.value")))?;
            cardinality.push((f, n));
        }
    }
    Ok(Threshold {
        fields,
        value,
        cardinality,
    })
}

pub(super) fn read_new_terms(cx: &Ctx<'_>, t: &DeTable<'_>) -> Result<NewTerms> {
    let fields = t
        .get("value")
        .map_or(Ok(Vec::new()), |v| cx.strings(v, "rule.new_terms.value"))?;
    let mut history_window_start = None;
    if let Some(v) = t.get("history_window_start") {
        for (i, h) in cx
            .tables(v, "rule.new_terms.history_window_start")?
            .into_iter()
            .enumerate()
        {
            if let Some(x) = h.get("value") {
                history_window_start = Some(cx.string(
                    x,
                    &format!("rule.new_terms.history_window_start[{i}].value"),
                )?);
            }
        }
    }
    Ok(NewTerms {
        fields,
        history_window_start,
    })
}

/// The enabled filters of `rule.filters` (a value that is no array is one filter, for the
/// query DSL reader to report).
pub(super) fn read_filters(text: &str, f: &Spanned<DeValue<'_>>) -> Vec<KibanaFilter> {
    let filter = |index: usize, x: &Spanned<DeValue<'_>>| KibanaFilter {
        index,
        value: to_json(x.get_ref()),
        pos: (!x.span().is_empty()).then(|| line_col(text, x.span().start)),
    };
    match f.get_ref() {
        DeValue::Array(a) => a
            .iter()
            .enumerate()
            .filter(|(_, x)| {
                let disabled = x
                    .get_ref()
                    .get("meta")
                    .and_then(|m| m.get_ref().get("disabled"))
                    .and_then(|d| d.get_ref().as_bool());
                disabled != Some(true)
            })
            .map(|(i, x)| filter(i, x))
            .collect(),
        _ => vec![filter(0, f)],
    }
}
