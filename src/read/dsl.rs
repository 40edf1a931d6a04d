//! Kibana `filters` (`[[rule.filters]]`): Elasticsearch query DSL that Kibana ANDs to a rule's
//! query, each filter negated when its `meta.negate` is set (disabled ones are dropped when
//! the file is read). Read with Elasticsearch's meaning, without a mapping (keyword fields
//! unless [`crate::read::lower::TextFields`] says text):
//!
//! | query DSL | IR |
//! |---|---|
//! | `bool`: `must` / `filter`, `must_not`, `should` | `And`, `And` of `Not`, `Or` (`should` counts only without `must` / `filter`, or with `minimum_should_match: 1`) |
//! | `term`, `terms`, `match`, `match_phrase` on a keyword | `Str` literal, `cased` unless `case_insensitive` |
//! | `wildcard` (`*`, `?`, `\` escapes the next character), `prefix` | `Str` pattern |
//! | `match_phrase` / `match` on a text field | the KQL reading ([`crate::read::text`], with a warning) |
//! | `exists` | `Not(Null)` |
//! | `range` with numbers | `And` of `Num` |
//! | `match_all`, `match_none` | constants |
//!
//! `case_insensitive` is ASCII case folding in Elasticsearch, Unicode simple case folding in
//! the IR: they differ only on the few non-ASCII letters that fold onto ASCII ones (KELVIN
//! SIGN, LONG S), as for EQL's `:`.
//!
//! Anything else (`query_string`, `script`, `nested`, `geo_*`, date ranges, other
//! parameters) is refused by name, located at the filter's line and key path.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::ir::{self, Pattern, Piece, Test};
use crate::read::lower::{default_text_fields, field_name, number, pred, str_test, Cond, TARGET};
use crate::read::text;
use crate::read::toml::KibanaFilter;

/// The rule's filters, ANDed, with the warnings of clauses on text fields.
///
/// # Errors
/// [`ErrorKind::Unsupported`] for query DSL the IR cannot express exactly,
/// [`ErrorKind::InvalidValue`] for malformed filters; located at the filter's line and key
/// path (`rule.filters[i].query...`).
pub fn lower_filters(filters: &[KibanaFilter], file: Option<&str>) -> Result<(Cond, Vec<Error>)> {
    let mut warnings = Vec::new();
    let mut all = Vec::new();
    for f in filters {
        let r = Reader {
            filter: f,
            file,
            warnings: &mut warnings,
        };
        all.push(r.filter()?);
    }
    Ok((Cond::and(all), warnings))
}

struct Reader<'a> {
    filter: &'a KibanaFilter,
    file: Option<&'a str>,
    warnings: &'a mut Vec<Error>,
}

impl Reader<'_> {
    fn locate(&self, mut e: Error, path: &str) -> Error {
        if let Some((l, c)) = self.filter.pos {
            e = e.at_line(l, Some(c));
        }
        if let Some(f) = self.file {
            e = e.in_file(f);
        }
        e.at(path)
    }

    fn refuse(&self, path: &str, what: String, hint: &str) -> Error {
        let e = Error::new(ErrorKind::Unsupported {
            target: TARGET.into(),
            what,
        })
        .hint(hint);
        self.locate(e, path)
    }

    fn invalid(&self, path: &str, expected: &str, found: &Value) -> Error {
        let found = match found {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "a table",
        };
        self.locate(
            Error::new(ErrorKind::InvalidValue {
                expected: expected.into(),
                found: found.into(),
            }),
            path,
        )
    }

    fn filter(mut self) -> Result<Cond> {
        let path = format!("rule.filters[{}]", self.filter.index);
        let Some(obj) = self.filter.value.as_object() else {
            return Err(self.invalid(&path, "a filter table", &self.filter.value));
        };
        let negate = match obj.get("meta").and_then(|m| m.get("negate")) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => return Err(self.invalid(&format!("{path}.meta.negate"), "a boolean", v)),
        };
        let cond = if let Some(q) = obj.get("query") {
            self.query(q, &format!("{path}.query"))?
        } else {
            // The legacy form: the query's one clause beside `meta` and `$state`.
            let rest: Map<String, Value> = obj
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "meta" | "$state"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.query(&Value::Object(rest), &path)?
        };
        Ok(if negate { cond.negate() } else { cond })
    }

    /// One query object: exactly one clause.
    fn query(&mut self, q: &Value, path: &str) -> Result<Cond> {
        let clause = q.as_object().filter(|o| o.len() == 1);
        let Some((kind, body)) = clause.and_then(|o| o.iter().next()) else {
            return Err(self.invalid(path, "a query table with one clause", q));
        };
        let path = format!("{path}.{kind}");
        match kind.as_str() {
            "bool" => self.boolean(body, &path),
            "match_all" => Ok(Cond::True),
            "match_none" => Ok(Cond::False),
            "exists" => {
                let field = match body.get("field") {
                    Some(Value::String(f)) => f,
                    Some(v) => return Err(self.invalid(&format!("{path}.field"), "a string", v)),
                    None => return Err(self.invalid(&path, "a table with `field`", body)),
                };
                let f = if default_text_fields(field) {
                    text::event_field(field).to_string()
                } else {
                    field_name(field).0
                };
                Ok(Cond::Expr(ir::Expr::Not(Box::new(pred(
                    &f,
                    Test::Null,
                    path.clone(),
                )))))
            }
            "term" | "match" | "match_phrase" | "wildcard" | "prefix" => {
                self.leaf(kind, body, &path)
            }
            "terms" => self.terms(body, &path),
            "range" => self.range(body, &path),
            other => Err(self.refuse(
                &path,
                format!("the query DSL clause `{other}` in a Kibana filter"),
                "the reader takes bool, term, terms, match, match_phrase, wildcard, prefix, exists and numeric range",
            )),
        }
    }

    fn boolean(&mut self, body: &Value, path: &str) -> Result<Cond> {
        let Some(obj) = body.as_object() else {
            return Err(self.invalid(path, "a table", body));
        };
        let mut must = Vec::new();
        let mut should = Vec::new();
        let mut has_must = false;
        let mut msm = None;
        for (k, v) in obj {
            let p = format!("{path}.{k}");
            match k.as_str() {
                "must" | "filter" | "must_not" | "should" => {
                    let items: Vec<&Value> = match v {
                        Value::Array(a) => a.iter().collect(),
                        one => vec![one],
                    };
                    for (i, q) in items.into_iter().enumerate() {
                        let c = self.query(q, &format!("{p}[{i}]"))?;
                        match k.as_str() {
                            "must_not" => must.push(c.negate()),
                            "should" => should.push(c),
                            _ => {
                                has_must = true;
                                must.push(c);
                            }
                        }
                    }
                }
                "minimum_should_match" => msm = Some(v),
                "boost" | "_name" => {}
                other => {
                    return Err(self.refuse(
                        &p,
                        format!("the bool parameter `{other}` in a Kibana filter"),
                        "the reader takes must, filter, must_not, should and minimum_should_match",
                    ))
                }
            }
        }
        let at_least = match msm {
            None => usize::from(!has_must),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= 1) => {
                usize::from(n.as_u64() == Some(1))
            }
            Some(Value::String(s)) if s == "0" || s == "1" => usize::from(s == "1"),
            Some(v) => {
                return Err(self.refuse(
                    &format!("{path}.minimum_should_match"),
                    format!("`minimum_should_match: {v}` in a Kibana filter"),
                    "the reader takes 0 or 1",
                ))
            }
        };
        if at_least == 1 && !should.is_empty() {
            must.push(Cond::or(should));
        }
        Ok(Cond::and(must))
    }

    /// `{field: value}` or `{field: {value|query|wildcard: v, case_insensitive, ...}}`: the
    /// field, the value and whether case-insensitive.
    fn field_value<'v>(
        &self,
        body: &'v Value,
        path: &str,
        value_keys: &[&str],
    ) -> Result<(&'v str, &'v Value, bool)> {
        let one = body.as_object().filter(|o| o.len() == 1);
        let Some((field, v)) = one.and_then(|o| o.iter().next()) else {
            return Err(self.invalid(path, "a table with one field", body));
        };
        let path = format!("{path}.{field}");
        let Some(params) = v.as_object() else {
            return Ok((field, v, false));
        };
        let mut value = None;
        let mut ci = false;
        for (k, x) in params {
            match k.as_str() {
                k if value_keys.contains(&k) => value = Some(x),
                "case_insensitive" => match x {
                    Value::Bool(b) => ci = *b,
                    other => return Err(self.invalid(&format!("{path}.{k}"), "a boolean", other)),
                },
                "boost" | "_name" | "rewrite" => {}
                other => {
                    return Err(self.refuse(
                        &format!("{path}.{other}"),
                        format!("the query parameter `{other}` in a Kibana filter"),
                        "the reader takes the value and case_insensitive",
                    ))
                }
            }
        }
        match value {
            Some(v) => Ok((field, v, ci)),
            None => Err(self.invalid(
                &path,
                &format!("a table with `{}`", value_keys.join("` or `")),
                v,
            )),
        }
    }

    /// A scalar's text (`term` on a number or a boolean compares its text, as the IR does).
    fn scalar<'v>(&self, v: &'v Value, path: &str) -> Result<std::borrow::Cow<'v, str>> {
        match v {
            Value::String(s) => Ok(s.as_str().into()),
            Value::Number(n) => Ok(n.to_string().into()),
            Value::Bool(b) => Ok(b.to_string().into()),
            other => Err(self.invalid(path, "a string, number or boolean", other)),
        }
    }

    fn leaf(&mut self, kind: &str, body: &Value, path: &str) -> Result<Cond> {
        let keys: &[&str] = match kind {
            "match" | "match_phrase" => &["query"],
            "wildcard" => &["value", "wildcard"],
            _ => &["value"],
        };
        let (field, v, ci) = self.field_value(body, path, keys)?;
        let path = format!("{path}.{field}");
        let value = self.scalar(v, &path)?;
        if default_text_fields(field) {
            if !matches!(kind, "match" | "match_phrase") {
                return Err(self.refuse(
                    &path,
                    format!("a `{kind}` query on the text field `{field}` in a Kibana filter"),
                    "it compares single analyzed tokens, which the reader does not model",
                ));
            }
            if !self
                .warnings
                .iter()
                .any(|w| w.location.path.as_deref() == Some(&path))
            {
                let mut w = text::warning(field, "a Kibana filter");
                let hint = w.hint.take();
                w = self.locate(w, &path);
                w.hint = hint;
                self.warnings.push(w);
            }
            return Ok(text::lower_match(
                field,
                &value,
                kind == "match_phrase",
                &path,
            ));
        }
        let (f, caseless) = field_name(field);
        let cased = !(ci || caseless);
        let pattern = match kind {
            "wildcard" => wildcard(&value),
            "prefix" => {
                let mut p = Pattern::literal(&value);
                p.push(Piece::AnyMany);
                p
            }
            _ => Pattern::literal(&value),
        };
        Ok(Cond::Expr(pred(&f, str_test(pattern, cased), path)))
    }

    fn terms(&self, body: &Value, path: &str) -> Result<Cond> {
        let Some(obj) = body.as_object() else {
            return Err(self.invalid(path, "a table", body));
        };
        let mut fields = obj
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "boost" | "_name"));
        let (Some((field, Value::Array(values))), None) = (fields.next(), fields.next()) else {
            return Err(self.invalid(path, "a table with one field and its list of values", body));
        };
        let path = format!("{path}.{field}");
        if default_text_fields(field) {
            return Err(self.refuse(
                &path,
                format!("a `terms` query on the text field `{field}` in a Kibana filter"),
                "it compares single analyzed tokens, which the reader does not model",
            ));
        }
        let (f, caseless) = field_name(field);
        let mut out = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let s = self.scalar(v, &format!("{path}[{i}]"))?;
            out.push(Cond::Expr(pred(
                &f,
                str_test(Pattern::literal(&s), !caseless),
                path.clone(),
            )));
        }
        Ok(Cond::or(out))
    }

    fn range(&self, body: &Value, path: &str) -> Result<Cond> {
        let one = body.as_object().filter(|o| o.len() == 1);
        let Some((field, Value::Object(bounds))) = one.and_then(|o| o.iter().next()) else {
            return Err(self.invalid(path, "a table with one field and its bounds", body));
        };
        let path = format!("{path}.{field}");
        if default_text_fields(field) {
            return Err(self.refuse(
                &path,
                format!("a `range` query on the text field `{field}` in a Kibana filter"),
                "it compares analyzed tokens, which the reader does not model",
            ));
        }
        let (f, _) = field_name(field);
        let mut out = Vec::new();
        for (k, v) in bounds {
            let op = match k.as_str() {
                "gt" => ir::CmpOp::Gt,
                "gte" => ir::CmpOp::Gte,
                "lt" => ir::CmpOp::Lt,
                "lte" => ir::CmpOp::Lte,
                "boost" => continue,
                other => {
                    return Err(self.refuse(
                        &format!("{path}.{other}"),
                        format!("the range parameter `{other}` in a Kibana filter"),
                        "the reader takes gt, gte, lt and lte with numbers",
                    ))
                }
            };
            let text = match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                other => return Err(self.invalid(&format!("{path}.{k}"), "a number", other)),
            };
            let num = number(text.trim_start_matches('-'), text.starts_with('-'))
                .filter(|_| !text.is_empty());
            let Some(num) = num else {
                return Err(self.refuse(
                    &format!("{path}.{k}"),
                    format!("a range bound `{text}` that is not a number in a Kibana filter"),
                    "the IR orders numbers only (dates and strings are not lowered)",
                ));
            };
            out.push(Cond::Expr(pred(
                &f,
                Test::Num { op, value: num },
                path.clone(),
            )));
        }
        Ok(Cond::and(out))
    }
}

/// An Elasticsearch `wildcard` query value: `*` any run, `?` one character, `\` makes the
/// next character literal (a trailing `\` is itself).
fn wildcard(s: &str) -> Pattern {
    let mut p = Pattern::default();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        p.push(match c {
            '*' => Piece::AnyMany,
            '?' => Piece::AnyOne,
            '\\' => Piece::Lit(chars.next().unwrap_or('\\').to_string()),
            c => Piece::Lit(c.to_string()),
        });
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_escapes_and_wildcards() {
        // `\\` is one backslash, `\*` a literal star, `\P` a `P`; `?` and `*` wildcards.
        let got = wildcard(r"?:\\Program Files\\*\*\P");
        let want = Pattern::new([
            Piece::AnyOne,
            Piece::Lit(":\\Program Files\\".into()),
            Piece::AnyMany,
            Piece::Lit("*P".into()),
        ]);
        assert_eq!(got, want);
        assert_eq!(wildcard("a\\"), Pattern::literal("a\\"));
    }
}
