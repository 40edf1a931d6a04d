//! Helpers for reading pipeline YAML: located errors, typed parameters, regexes and Python
//! replacement strings. Every reader of the pipeline wing (items, conditions, postprocessing)
//! builds on these.

use regex::Regex;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};

/// The pipeline being read: where it comes from and its name, for errors.
pub(crate) struct Reader<'a> {
    /// `builtin:NAME` or the file path.
    pub origin: &'a str,
    /// The pipeline's `name`.
    pub name: String,
}

impl Reader<'_> {
    /// A pipeline error at key path `path` of the file.
    pub(crate) fn err(&self, path: &str, msg: impl std::fmt::Display) -> Error {
        Error::new(ErrorKind::Pipeline(format!(
            "{msg} in pipeline `{}`",
            self.name
        )))
        .in_file(self.origin.to_string())
        .at(path.to_string())
    }

    /// An error of the Sigma front end (detection items, condition expressions), placed in
    /// this file; its key path, when it has none, is `path`.
    pub(crate) fn located(&self, e: Error, path: &str) -> Error {
        let e = e.in_file(self.origin.to_string());
        if e.location.path.is_some() {
            e
        } else {
            e.at(path.to_string())
        }
    }
}

/// How a YAML value's type is named in errors.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Reads the parameters of a transformation (the keys of `map`) into `T`.
pub(crate) fn params<T: DeserializeOwned>(
    r: &Reader,
    map: Map<String, Value>,
    ty: &str,
    path: &str,
) -> Result<T> {
    serde_json::from_value(Value::Object(map))
        .map_err(|e| r.err(path, format!("invalid parameters of `{ty}`: {e}")))
}

/// Reads the parameters of a condition (every key but `type`) into `T`.
pub(crate) fn cond_params<T: DeserializeOwned>(
    r: &Reader,
    m: &Map<String, Value>,
    ty: &str,
    path: &str,
) -> Result<T> {
    let rest: Map<String, Value> = m
        .iter()
        .filter(|(k, _)| *k != "type")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(rest))
        .map_err(|e| r.err(path, format!("invalid parameters of condition `{ty}`: {e}")))
}

/// The `type` of an item, condition, postprocessing item or finalizer.
pub(crate) fn type_of<'m>(
    r: &Reader,
    map: &'m Map<String, Value>,
    path: &str,
    what: &str,
) -> Result<&'m str> {
    match map.get("type") {
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(r.err(
            &format!("{path}.type"),
            format!("expected a string, found {}", kind_of(v)),
        )),
        None => Err(r.err(path, format!("{what} without `type`"))),
    }
}

/// The optional `id` of an item.
pub(crate) fn item_id(r: &Reader, map: &Map<String, Value>, path: &str) -> Result<Option<String>> {
    match map.get("id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(r.err(
            &format!("{path}.id"),
            format!("expected a string, found {}", kind_of(v)),
        )),
    }
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One string.
    One(String),
    /// A list.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings.
    #[must_use]
    pub fn as_slice(&self) -> &[String] {
        match self {
            OneOrMany::One(s) => std::slice::from_ref(s),
            OneOrMany::Many(v) => v,
        }
    }
}

/// Compiles a regex of the pipeline; `anchored` matches at the start only (Python `re.match`).
pub(crate) fn compile(r: &Reader, path: &str, pattern: &str, anchored: bool) -> Result<Regex> {
    let src = if anchored {
        format!(r"\A(?:{pattern})")
    } else {
        pattern.to_string()
    };
    Regex::new(&src).map_err(|e| {
        r.err(path, format!("invalid regular expression `{pattern}`: {e}"))
            .hint("sigmat uses Rust regex syntax (no look-around, no back-references)")
    })
}

/// Converts a Python `re.sub` replacement (`\1`, `\g<name>`, `\g<1>`) into Rust syntax.
pub(crate) fn python_replacement(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        n.push(d);
                        chars.next();
                        if n.len() == 2 {
                            break;
                        }
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_replacements() {
        assert_eq!(python_replacement(r"\1-\g<name>$"), "${1}-${name}$$");
        assert_eq!(python_replacement(r"a\\b"), r"a\b");
    }
}
