//! Building a [`Backend`] from its file: one minijinja environment with strict undefined
//! behaviour, output only through escaping filters (a formatter that refuses unescaped
//! values, a `join` that only joins escaped ones), the functions `warn` and `unsupported`,
//! and every snippet, token and the query template compiled once.

use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::escape::Escape;
use super::{snippet, values, Backend, BackendFile};
use crate::error::{Error, ErrorKind, Result};

impl Backend {
    /// Builds the backend of `file` with the query templates `templates` (by path under
    /// `templates/`).
    pub(super) fn build(file: BackendFile, templates: &IndexMap<String, String>) -> Result<Self> {
        let name = file.name.clone();
        let berr = |m: String| Error::new(ErrorKind::Backend(format!("{name}: {m}")));
        let mut env = environment();
        let field = add_escapes(&mut env, &file).map_err(berr)?;
        env.add_filter("join", join_escaped);
        // An integer (a loop index, a count) cannot carry query syntax: `int` writes one.
        env.add_filter("int", |v: i64| Value::from_safe_string(v.to_string()));
        env.add_function("unsupported", snippet::unsupported);
        env.add_function("warn", snippet::warn);
        add_templates(&mut env, &file, templates).map_err(berr)?;
        if let Some(e) = &file.elastic {
            e.check().map_err(berr)?;
        }
        for v in file.vars.values() {
            if let Some(o) = &v.option {
                if !file.options.contains_key(o) {
                    return Err(berr(format!("a var names the undeclared option `{o}`")));
                }
            }
        }
        Ok(Backend {
            file: Arc::new(file),
            env,
            field,
        })
    }
}

/// An environment that prints only escaped (safe) values and refuses undefined ones.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_auto_escape_callback(|_| AutoEscape::Custom("query"));
    env.set_formatter(|out, _state, value| {
        if value.is_safe() {
            out.write_str(value.as_str().unwrap_or_default())
                .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write"))
        } else {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("value {value:?} is printed without an escaping filter"),
            ))
        }
    });
    env
}

/// Adds every escape of the file as a filter; returns the one that writes field names.
fn add_escapes(
    env: &mut Environment<'static>,
    file: &BackendFile,
) -> std::result::Result<Arc<Escape>, String> {
    let mut field = None;
    for (ename, espec) in &file.escapes {
        let esc = Arc::new(Escape::compile(ename, espec)?);
        if *ename == file.field {
            field = Some(esc.clone());
        }
        env.add_filter(ename.clone(), move |v: Value| {
            values::apply_escape(&esc, &v)
        });
    }
    field.ok_or_else(|| format!("`field: {}` names no escape of `escapes`", file.field))
}

/// `join` of escaped values: the joiner is template text, every item must be escaped.
fn join_escaped(
    items: Value,
    joiner: Option<String>,
) -> std::result::Result<Value, minijinja::Error> {
    let mut out = String::new();
    for (i, item) in items.try_iter()?.enumerate() {
        if !item.is_safe() {
            return Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("value {item:?} is joined without an escaping filter"),
            ));
        }
        if i > 0 {
            out.push_str(joiner.as_deref().unwrap_or(""));
        }
        out.push_str(item.as_str().unwrap_or_default());
    }
    Ok(Value::from_safe_string(out))
}

/// Compiles the snippets (`expr.<key>.<i>`, `correlation.<key>.<i>`), the tokens
/// (`tokens.<name>`) and the query template (`query`).
fn add_templates(
    env: &mut Environment<'static>,
    file: &BackendFile,
    templates: &IndexMap<String, String>,
) -> std::result::Result<(), String> {
    let mut add = |name: String, src: &str, what: &str| {
        env.add_template_owned(name, src.to_string())
            .map_err(|e| format!("{what}: {e}"))
    };
    let expr = file.expr.all().into_iter().map(|(k, s)| ("expr", k, s));
    let correlation = file
        .correlation
        .all()
        .into_iter()
        .map(|(k, s)| ("correlation", k, s));
    for (prefix, key, snip) in expr.chain(correlation) {
        if let Some(s) = snip {
            let what = format!("{prefix}.{key}");
            for (i, t) in s.templates().into_iter().enumerate() {
                add(format!("{what}.{i}"), t, &what)?;
            }
        }
    }
    for (k, t) in &file.correlation.parts {
        let what = format!("correlation.parts.{k}");
        add(what.clone(), t, &what)?;
    }
    for (k, t) in [
        ("not", Some(&file.tokens.not)),
        ("group", Some(&file.tokens.group)),
        ("null_safe", file.tokens.null_safe.as_ref()),
    ] {
        if let Some(t) = t {
            add(format!("tokens.{k}"), t, &format!("tokens.{k}"))?;
        }
    }
    let query = templates
        .get(&file.query)
        .ok_or_else(|| format!("template `templates/{}` not found", file.query))?;
    add("query".into(), query, &format!("templates/{}", file.query))
}
