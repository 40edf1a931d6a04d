//! Rendering one of a backend's templates (a snippet, a token, the query template): the
//! warnings its `warn(...)` calls raised, collected in that render's own minijinja state; a
//! refusal (`unsupported(...)`, or a filter that cannot write a value) told apart from a broken
//! template; a snippet's alternatives tried in order.

use std::sync::{Arc, Mutex, PoisonError};

use minijinja::value::{Object, ObjectRepr, Value};
use minijinja::{State, Template};

use super::{Backend, Conversion, REFUSAL};
use crate::error::{Error, ErrorKind, Result, Warning};

/// The state temp that holds a render's warnings.
const WARNINGS: &str = "sigmat.warnings";

/// The warnings one render raised, in the order raised (a state temp of that render).
#[derive(Debug, Default)]
struct Raised(Mutex<Vec<String>>);

impl Object for Raised {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

/// The template function `warn("message")`: records a warning in the render's state and
/// writes nothing.
pub(super) fn warn(state: &State, msg: String) -> Value {
    let raised = state.get_temp(WARNINGS).unwrap_or_else(|| {
        let v = Value::from_object(Raised::default());
        state.set_temp(WARNINGS, v.clone());
        v
    });
    if let Some(r) = raised.downcast_object_ref::<Raised>() {
        r.0.lock().unwrap_or_else(PoisonError::into_inner).push(msg);
    }
    Value::from_safe_string(String::new())
}

/// The template function `unsupported("what")`: refuses the rule.
pub(super) fn unsupported(what: String) -> std::result::Result<String, minijinja::Error> {
    Err(minijinja::Error::new(
        minijinja::ErrorKind::InvalidOperation,
        format!("{REFUSAL}{what}"),
    ))
}

/// A template's output and the warnings it raised.
#[derive(Debug)]
pub(super) struct Rendered {
    /// The text.
    pub text: String,
    /// The `warn(...)` messages, in order.
    pub warnings: Vec<String>,
}

/// Renders `t` with `ctx`, collecting the warnings of this render.
pub(super) fn render(
    t: &Template<'_, '_>,
    ctx: &Value,
) -> std::result::Result<Rendered, minijinja::Error> {
    let captured = t.render_captured(ctx)?;
    let warnings = captured
        .state()
        .get_temp(WARNINGS)
        .and_then(|v| {
            v.downcast_object_ref::<Raised>()
                .map(|r| std::mem::take(&mut *r.0.lock().unwrap_or_else(PoisonError::into_inner)))
        })
        .unwrap_or_default();
    Ok(Rendered {
        text: captured.into_output(),
        warnings,
    })
}

/// Renders the template `name` of backend `b` (`what` names it in errors); a refusal becomes
/// [`ErrorKind::Unsupported`].
pub(super) fn render_named(b: &Backend, name: &str, what: &str, ctx: &Value) -> Result<Rendered> {
    let t = b
        .env
        .get_template(name)
        .map_err(|e| backend_err(b, what, &e))?;
    render(&t, ctx).map_err(|e| template_err(b, what, &e))
}

/// The outcome of trying a snippet's alternatives.
#[derive(Debug)]
pub(super) enum Tried {
    /// The first alternative that did not refuse.
    Rendered(Rendered),
    /// Every alternative refused; the last one's reason, if there was an alternative.
    Refused(Option<String>),
}

/// Renders the alternatives `{prefix}.0` ... `{prefix}.{n-1}` in order until one does not
/// refuse. The warnings of a refused alternative are dropped with its output.
///
/// # Errors
/// A broken template (an error other than a refusal).
pub(super) fn first_accepted(b: &Backend, prefix: &str, n: usize, ctx: &Value) -> Result<Tried> {
    let mut last = None;
    for i in 0..n {
        let name = format!("{prefix}.{i}");
        let t = b
            .env
            .get_template(&name)
            .map_err(|e| backend_err(b, &name, &e))?;
        match render(&t, ctx) {
            Ok(r) => return Ok(Tried::Rendered(r)),
            Err(e) => match refusal(&e) {
                Some(r) => last = Some(r),
                None => return Err(backend_err(b, &name, &e)),
            },
        }
    }
    Ok(Tried::Refused(last))
}

/// Renders a snippet whose output is the whole query (correlations, sequences): the
/// conversion holds that query and `warnings` followed by the render's own. `Ok(Err(last))`
/// when every alternative refused, with the last one's reason.
///
/// # Errors
/// As [`first_accepted`].
pub(super) fn whole_query(
    b: &Backend,
    prefix: &str,
    n: usize,
    ctx: &Value,
    mut warnings: Vec<Warning>,
) -> Result<std::result::Result<Conversion, Option<String>>> {
    Ok(match first_accepted(b, prefix, n, ctx)? {
        Tried::Rendered(r) => {
            warnings.extend(
                r.warnings
                    .into_iter()
                    .map(|message| Warning { message, at: None }),
            );
            Ok(Conversion {
                queries: vec![r.text],
                warnings,
            })
        }
        Tried::Refused(last) => Err(last),
    })
}

/// The refusal text carried by a template error, if it is one.
fn refusal(e: &minijinja::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(me) = err.downcast_ref::<minijinja::Error>() {
            if let Some(d) = me.detail() {
                if let Some(i) = d.find(REFUSAL) {
                    return Some(d[i + REFUSAL.len()..].to_string());
                }
            }
        }
        cur = err.source();
    }
    None
}

/// A broken backend: `<backend>: <what>: <error>`.
pub(super) fn backend_err(b: &Backend, what: &str, e: &minijinja::Error) -> Error {
    let mut text = format!("{}: {what}: {e:#}", b.name());
    // An error inside an included template is the source of "could not render include".
    let mut cur = std::error::Error::source(e);
    while let Some(inner) = cur {
        text.push_str(&format!("\ncaused by: {inner:#}"));
        cur = inner.source();
    }
    Error::new(ErrorKind::Backend(text))
}

/// A refusal as [`ErrorKind::Unsupported`], anything else as a broken backend.
fn template_err(b: &Backend, what: &str, e: &minijinja::Error) -> Error {
    match refusal(e) {
        Some(r) => Error::new(ErrorKind::Unsupported {
            target: b.name().to_string(),
            what: r,
        }),
        None => backend_err(b, what, e),
    }
}
