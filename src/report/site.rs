//! The report's minijinja environment: the templates of `templates/report/`, embedded, every
//! value HTML-escaped (autoescape for all of them: they are all HTML), undefined values refused.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::error::{Error, ErrorKind};

const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html.j2",
        include_str!("../../templates/report/base.html.j2"),
    ),
    (
        "index.html.j2",
        include_str!("../../templates/report/index.html.j2"),
    ),
    (
        "rule.html.j2",
        include_str!("../../templates/report/rule.html.j2"),
    ),
    (
        "style.css",
        include_str!("../../templates/report/style.css"),
    ),
    (
        "search.js",
        include_str!("../../templates/report/search.js"),
    ),
];

fn template_error(name: &str, e: &minijinja::Error) -> Error {
    let mut msg = format!("report template `templates/report/{name}`: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    Error::new(ErrorKind::Backend(msg))
}

/// The environment with every report template.
pub(super) fn environment() -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    for (name, text) in TEMPLATES {
        env.add_template(name, text)
            .map_err(|e| template_error(name, &e))?;
    }
    Ok(env)
}

/// Renders template `name` with `ctx`.
pub(super) fn render(
    env: &Environment<'static>,
    name: &str,
    ctx: &impl Serialize,
) -> Result<String, Error> {
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| template_error(name, &e))
}
