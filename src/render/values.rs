//! Template values: a wildcard pattern, literal text and a regex handed to snippets as minijinja
//! objects that only the backend's escaping filters can write (printing one without a filter
//! is an error, see `Backend::build`), and the filter body that writes them.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr, Value};

use super::escape::{Escape, Input, Refusal};
use super::regex::RegexValue;
use super::REFUSAL;
use crate::ir::{Pattern, Shape};

/// A wildcard pattern as a template value. Only escaping filters can write it.
#[derive(Debug)]
pub(super) struct PatternObj {
    pattern: Pattern,
    cased: bool,
}

impl PatternObj {
    /// The pattern as a template value.
    pub(super) fn value(pattern: Pattern, cased: bool) -> Value {
        Value::from_object(PatternObj { pattern, cased })
    }
}

impl Object for PatternObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "shape" => Some(Value::from(shape_key(&self.pattern))),
            "cased" => Some(Value::from(self.cased)),
            "has_wildcards" => Some(Value::from(self.pattern.has_wildcards())),
            "text" => match self.pattern.shape() {
                Shape::Exact(s) | Shape::Prefix(s) | Shape::Suffix(s) | Shape::Contains(s) => {
                    Some(Value::from_object(TextObj(s.to_string())))
                }
                Shape::Any | Shape::Glob => None,
            },
            _ => None,
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pattern)
    }
}

/// Literal text as a template value (the literal part of a simple pattern).
#[derive(Debug)]
pub(super) struct TextObj(String);

impl Object for TextObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A regex as a template value.
#[derive(Debug)]
pub(super) struct RegexObj(pub(super) RegexValue);

impl Object for RegexObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.source)
    }
}

/// The snippet key of a pattern's shape (`eq`, `prefix`, ... `glob`).
pub(super) fn shape_key(p: &Pattern) -> &'static str {
    match p.shape() {
        Shape::Exact(_) => "eq",
        Shape::Prefix(_) => "prefix",
        Shape::Suffix(_) => "suffix",
        Shape::Contains(_) => "contains",
        Shape::Any => "any",
        Shape::Glob => "glob",
    }
}

/// The filter body: escapes a template value with `esc`.
pub(super) fn apply_escape(
    esc: &Escape,
    v: &Value,
) -> std::result::Result<Value, minijinja::Error> {
    let r = if let Some(p) = v.downcast_object_ref::<PatternObj>() {
        esc.apply(&Input::Pattern(&p.pattern, p.cased))
    } else if let Some(r) = v.downcast_object_ref::<RegexObj>() {
        esc.apply(&Input::Regex(&r.0))
    } else if let Some(t) = v.downcast_object_ref::<TextObj>() {
        esc.apply(&Input::Text(&t.0))
    } else if let Some(s) = v.as_str() {
        esc.apply(&Input::Text(s))
    } else if v.is_undefined() || v.is_none() {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::UndefinedError,
            format!("filter `{}` applied to an undefined value", esc.name()),
        ));
    } else {
        esc.apply(&Input::Text(&v.to_string()))
    };
    r.map(Value::from_safe_string).map_err(|Refusal(what)| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("{REFUSAL}{what}"),
        )
    })
}
