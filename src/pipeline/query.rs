//! Query postprocessing and finalizers: the steps of a pipeline that act on rendered text.
//!
//! Postprocessing: `embed`, `simple_template`, `replace`, `nest`; finalizers: `concat`,
//! `json`. Jinja `template`, `json` postprocessing and the `yaml` / `template` / `nested`
//! finalizers are refused when the pipeline is read.

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::ir::Rule;
use crate::pipeline::conditions::rule::{self, Subject};
use crate::pipeline::conditions::{rule_ok, set, Conditions, RuleCondition};
use crate::pipeline::node::{Ctx, Node};
use crate::pipeline::reader::{
    compile, item_id, kind_of, params, python_replacement, type_of, Reader,
};

/// A query postprocessing item (applied to the rendered query text).
#[derive(Debug, Clone)]
pub struct PostItem {
    /// `id`.
    pub id: Option<String>,
    /// What it does.
    pub transformation: PostTransformation,
    /// `rule_conditions`.
    pub rule_conditions: Conditions<RuleCondition>,
}

/// A query postprocessing transformation.
#[derive(Debug, Clone)]
pub enum PostTransformation {
    /// `embed`: prefix + query + suffix.
    Embed {
        /// `prefix`.
        prefix: String,
        /// `suffix`.
        suffix: String,
    },
    /// `simple_template`: Python `str.format` with `{query}` and `{rule.ATTR}`.
    SimpleTemplate(String),
    /// `replace`: regex replacement in the query.
    Replace {
        /// The regex.
        regex: Regex,
        /// Rust-syntax replacement.
        replacement: String,
    },
    /// `nest`: nested postprocessing items.
    Nest(Vec<PostItem>),
}

/// A finalizer (joins the queries of a batch).
#[derive(Debug, Clone)]
pub enum Finalizer {
    /// `concat`.
    Concat {
        /// `separator` (newline by default).
        separator: String,
        /// `prefix`.
        prefix: String,
        /// `suffix`.
        suffix: String,
    },
    /// `json`: a JSON list of the queries.
    Json {
        /// `indent`.
        indent: Option<usize>,
    },
}

/// Applies the postprocessing `items` of the pipeline `name` to a rendered query.
pub(crate) fn postprocess(
    name: &str,
    items: &[PostItem],
    rule: &Rule,
    query: String,
) -> Result<String> {
    if items.is_empty() {
        return Ok(query);
    }
    let conditions: Vec<Node> = rule.conditions.iter().map(Node::from_expr).collect();
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
    for item in items {
        q = post_item(name, item, rule, &subject, &ctx, q)?;
    }
    Ok(q)
}

fn post_item(
    name: &str,
    item: &PostItem,
    rule: &Rule,
    subject: &Subject<'_>,
    ctx: &Ctx<'_>,
    q: String,
) -> Result<String> {
    if !rule_ok(&item.rule_conditions, subject, ctx) {
        return Ok(q);
    }
    Ok(match &item.transformation {
        PostTransformation::Embed { prefix, suffix } => format!("{prefix}{q}{suffix}"),
        PostTransformation::Replace { regex, replacement } => {
            regex.replace_all(&q, replacement.as_str()).into_owned()
        }
        PostTransformation::SimpleTemplate(t) => simple_template(t, &q, rule).map_err(|m| {
            Error::new(ErrorKind::Pipeline(format!(
                "{m} (pipeline `{name}`, postprocessing item `{}`)",
                item.id.as_deref().unwrap_or("-")
            )))
        })?,
        PostTransformation::Nest(items) => {
            let mut q = q;
            for sub in items {
                q = post_item(name, sub, rule, subject, ctx, q)?;
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
                out.push_str(&attribute(&name, query, rule)?);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The value of `{name}` in a `simple_template`.
fn attribute(name: &str, query: &str, rule: &Rule) -> std::result::Result<String, String> {
    let m = &rule.meta;
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "None".into());
    Ok(match name {
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
    })
}

/// Joins the queries of a batch with `finalizers`; `None` when there are none.
pub(crate) fn finalize(finalizers: &[Finalizer], queries: &[String]) -> Option<String> {
    let mut out: Option<String> = None;
    for f in finalizers {
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

/// Reads one postprocessing item.
pub(crate) fn read_post_item(r: &Reader, v: &Value, path: &str) -> Result<PostItem> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Embed {
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        suffix: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Template {
        template: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Replace {
        pattern: String,
        replacement: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nest {
        items: Vec<Value>,
    }
    let Value::Object(map) = v else {
        return Err(r.err(path, format!("expected a mapping, found {}", kind_of(v))));
    };
    let id = item_id(r, map, path)?;
    let ty = type_of(r, map, path, "postprocessing item")?;
    for k in map.keys() {
        if k.starts_with("detection_item_") || k.starts_with("field_name_") {
            return Err(r.err(
                &format!("{path}.{k}"),
                "postprocessing items take rule conditions only",
            ));
        }
    }
    let rest: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "id" | "type"
                    | "rule_conditions"
                    | "rule_cond_op"
                    | "rule_cond_not"
                    | "rule_cond_expr"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let transformation = match ty {
        "embed" => {
            let e: Embed = params(r, rest, ty, path)?;
            PostTransformation::Embed {
                prefix: e.prefix,
                suffix: e.suffix,
            }
        }
        "simple_template" => {
            PostTransformation::SimpleTemplate(params::<Template>(r, rest, ty, path)?.template)
        }
        "replace" => {
            let x: Replace = params(r, rest, ty, path)?;
            PostTransformation::Replace {
                regex: compile(r, &format!("{path}.pattern"), &x.pattern, false)?,
                replacement: python_replacement(&x.replacement),
            }
        }
        "nest" => {
            let n: Nest = params(r, rest, ty, path)?;
            PostTransformation::Nest(
                n.items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| read_post_item(r, x, &format!("{path}.items[{i}]")))
                    .collect::<Result<_>>()?,
            )
        }
        other => {
            return Err(r
                .err(path, format!("unsupported postprocessing type `{other}`"))
                .hint("postprocessing types: embed, simple_template, replace, nest (Jinja `template` and `json` are not supported)"))
        }
    };
    Ok(PostItem {
        id,
        transformation,
        rule_conditions: set::read(r, map, path, "rule", rule::read)?,
    })
}

/// Reads one finalizer.
pub(crate) fn read_finalizer(r: &Reader, v: &Value, path: &str) -> Result<Finalizer> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Concat {
        #[serde(default = "newline")]
        separator: String,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        suffix: String,
    }
    fn newline() -> String {
        "\n".into()
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Json {
        #[serde(default)]
        indent: Option<usize>,
    }
    let Value::Object(map) = v else {
        return Err(r.err(path, format!("expected a mapping, found {}", kind_of(v))));
    };
    let ty = type_of(r, map, path, "finalizer")?;
    let rest: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| *k != "type")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(match ty {
        "concat" => {
            let c: Concat = params(r, rest, ty, path)?;
            Finalizer::Concat {
                separator: c.separator,
                prefix: c.prefix,
                suffix: c.suffix,
            }
        }
        "json" => Finalizer::Json {
            indent: params::<Json>(r, rest, ty, path)?.indent,
        },
        other => {
            return Err(r
                .err(path, format!("unsupported finalizer type `{other}`"))
                .hint("finalizers: concat, json (yaml, template and nested are not supported)"))
        }
    })
}
