//! Query post-processing and finalizers: the steps of a pipeline that act on rendered text.

use super::conditions::{self, Subject};
use super::model::{Finalizer, Pipeline, PostItem, PostTransformation};
use super::transformations::{Ctx, Node};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::Rule;

pub(crate) fn postprocess(p: &Pipeline, rule: &Rule, query: String) -> Result<String> {
    let conditions: Vec<Node> = rule
        .conditions
        .iter()
        .cloned()
        .map(Node::from_expr)
        .collect();
    let ctx = Ctx {
        state: rule.state.clone(),
        applied: rule.applied.clone(),
        ..Ctx::default()
    };
    let subject = Subject::Rule {
        meta: &rule.meta,
        logsource: &rule.logsource,
        conditions: &conditions,
    };
    let mut q = query;
    for item in &p.postprocessing {
        q = post_item(p, item, rule, &subject, &ctx, q)?;
    }
    Ok(q)
}

fn post_item(
    p: &Pipeline,
    item: &PostItem,
    rule: &Rule,
    subject: &Subject<'_>,
    ctx: &Ctx,
    q: String,
) -> Result<String> {
    if !conditions::rule_ok(&item.rule_conditions, subject, ctx) {
        return Ok(q);
    }
    Ok(match &item.transformation {
        PostTransformation::Embed { prefix, suffix } => format!("{prefix}{q}{suffix}"),
        PostTransformation::Replace { regex, replacement } => {
            regex.replace_all(&q, replacement.as_str()).into_owned()
        }
        PostTransformation::SimpleTemplate(t) => simple_template(t, &q, rule).map_err(|m| {
            Error::new(ErrorKind::Pipeline(format!(
                "{m} (pipeline `{}`, postprocessing item `{}`)",
                p.name,
                item.id.as_deref().unwrap_or("-")
            )))
        })?,
        PostTransformation::Nest(items) => {
            let mut q = q;
            for sub in items {
                q = post_item(p, sub, rule, subject, ctx, q)?;
            }
            q
        }
    })
}

/// Python `str.format` with `query` and `rule.ATTR` (`{{`/`}}` are literal braces).
fn simple_template(t: &str, query: &str, rule: &Rule) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let m = &rule.meta;
                let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "None".into());
                let v = match name.as_str() {
                    "query" => query.to_string(),
                    "rule.title" => m.title.clone(),
                    "rule.id" => opt(&m.id),
                    "rule.name" => opt(&m.name),
                    "rule.description" => opt(&m.description),
                    "rule.author" => opt(&m.author),
                    "rule.date" => opt(&m.date),
                    "rule.modified" => opt(&m.modified),
                    "rule.license" => opt(&m.license),
                    "rule.level" => m
                        .level
                        .map_or_else(|| "None".into(), |l| format!("{l:?}").to_lowercase()),
                    "rule.status" => m
                        .status
                        .map_or_else(|| "None".into(), |s| format!("{s:?}").to_lowercase()),
                    "rule.logsource.category" => opt(&rule.logsource.category),
                    "rule.logsource.product" => opt(&rule.logsource.product),
                    "rule.logsource.service" => opt(&rule.logsource.service),
                    other => {
                        return Err(format!(
                            "simple_template names `{{{other}}}`, which sigmat does not know"
                        ))
                    }
                };
                out.push_str(&v);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

pub(crate) fn finalize(p: &Pipeline, queries: &[String]) -> Option<String> {
    let mut out: Option<String> = None;
    for f in &p.finalizers {
        let input: Vec<String> = match &out {
            Some(s) => vec![s.clone()],
            None => queries.to_vec(),
        };
        out = Some(match f {
            Finalizer::Concat {
                separator,
                prefix,
                suffix,
            } => format!("{prefix}{}{suffix}", input.join(separator)),
            Finalizer::Json { indent } => match indent {
                Some(n) => {
                    let indent = " ".repeat(*n);
                    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
                    let mut buf = Vec::new();
                    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
                    serde::Serialize::serialize(&input, &mut ser).ok();
                    String::from_utf8(buf).unwrap_or_default()
                }
                None => serde_json::to_string(&input).unwrap_or_default(),
            },
        });
    }
    out
}
