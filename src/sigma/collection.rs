//! A YAML source → its Sigma documents, including the legacy (Sigma 1) collection actions:
//! `action: global` is deep-merged into every following document, `action: reset` clears it,
//! `action: repeat` re-emits the previous document with its own keys merged in.

use serde::Deserialize;
use serde_yaml::Value;

use super::detection::invalid;
use super::document;
use super::locate;
use super::{Fail, FailInner, KeyPath};
use crate::error::{Error, ErrorKind};
use crate::ir;

/// Merges `src` into `dst`: mappings recursively, anything else replaced.
fn merge(dst: &mut Value, src: &Value) {
    match (dst, src) {
        (Value::Mapping(d), Value::Mapping(s)) => {
            for (k, v) in s {
                match d.get_mut(k) {
                    Some(old) if old.is_mapping() && v.is_mapping() => merge(old, v),
                    _ => {
                        d.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (d, s) => *d = s.clone(),
    }
}

/// The YAML error message without its position (the location carries it), keeping the
/// parser's context and where it began (`, while scanning a quoted scalar at line 7 column
/// 16`), which is often where the mistake is.
fn yaml_message(e: &serde_yaml::Error) -> String {
    without_position(&e.to_string())
}

fn without_position(s: &str) -> String {
    const AT: &str = " at line ";
    let Some(i) = s.find(AT) else {
        return s.to_string();
    };
    let context = s[i + AT.len()..]
        .find(", ")
        .map_or("", |j| &s[i + AT.len() + j..]);
    format!("{}{context}", &s[..i])
}

/// The column of byte `offset` of the scalar `value` whose key (or list item) was located
/// at (`line`, `col`), when the scalar is written on that line, plain or quoted.
fn span_column(source: &str, line: usize, col: usize, value: &str, offset: usize) -> Option<usize> {
    let text = source.lines().nth(line.checked_sub(1)?)?;
    let head = value.get(..offset)?;
    let mut at = col.checked_sub(1)?;
    let rest = text.get(at..)?;
    let unquoted = rest.strip_prefix(['\'', '"']).unwrap_or(rest);
    if !unquoted.starts_with(value) {
        // At a key: skip `key:` and blanks to the value.
        let colon = rest.find(':')?;
        let v = rest[colon + 1..].trim_start();
        at = text.len() - v.len();
    }
    let v = text.get(at..)?;
    let (v, quoted) = match v.strip_prefix(['\'', '"']) {
        Some(v) => (v, 1),
        None => (v, 0),
    };
    v.starts_with(head).then_some(at + quoted + offset + 1)
}

pub(crate) fn parse(source: &str, file: Option<&str>) -> Vec<Result<ir::Document, Error>> {
    let mut raw: Vec<Result<Value, Error>> = Vec::new();
    for de in serde_yaml::Deserializer::from_str(source) {
        match Value::deserialize(de) {
            Ok(v) => raw.push(Ok(v)),
            Err(e) => {
                let mut err = Error::new(ErrorKind::Yaml(yaml_message(&e)))
                    .hint("check the indentation and quoting around this position");
                if let Some(l) = e.location() {
                    err = err.at_line(l.line(), Some(l.column()));
                }
                raw.push(Err(err));
                // The stream cannot be resumed after a syntax error.
                break;
            }
        }
    }
    let ranges = locate::split_documents(source);
    let ranges_ok = ranges.len() == raw.len();
    let finish = |idx: usize, r: Result<ir::Document, Fail>| -> Result<ir::Document, Error> {
        match r {
            Ok(mut d) => {
                let origin = ir::Origin {
                    file: file.map(str::to_string),
                    document: idx,
                };
                match &mut d {
                    ir::Document::Rule(x) => x.origin = origin,
                    ir::Document::Correlation(x) => x.origin = origin,
                    ir::Document::Filter(x) => x.origin = origin,
                }
                Ok(d)
            }
            Err(Fail(inner)) => {
                let FailInner {
                    mut error,
                    path,
                    span,
                } = *inner;
                if ranges_ok {
                    if let Some((line, col)) = locate::locate(source, ranges[idx], path.segs()) {
                        let col = span
                            .as_ref()
                            .and_then(|(v, o)| span_column(source, line, col, v, *o))
                            .unwrap_or(col);
                        error = error.at_line(line, Some(col));
                    }
                }
                if raw.len() > 1 && error.location.path.is_some() {
                    // Name the document in multi-document files.
                    let p = error.location.path.take().unwrap_or_default();
                    error.location.path = Some(if p.is_empty() {
                        format!("document {idx}")
                    } else {
                        format!("document {idx}: {p}")
                    });
                }
                Err(match file {
                    Some(f) => error.in_file(f),
                    None => error,
                })
            }
        }
    };
    let mut out = Vec::new();
    let mut global: Option<Value> = None;
    let mut prev: Option<Value> = None;
    for (idx, r) in raw.iter().enumerate() {
        let v = match r {
            Ok(v) => v,
            Err(e) => {
                out.push(Err(match file {
                    Some(f) => e.clone().in_file(f),
                    None => e.clone(),
                }));
                continue;
            }
        };
        if v.is_null() {
            continue;
        }
        let action = v.as_mapping().and_then(|m| m.get("action"));
        let Some(action) = action else {
            let mut doc = global
                .clone()
                .unwrap_or(Value::Mapping(serde_yaml::Mapping::new()));
            merge(&mut doc, v);
            let r = document::lower(&doc);
            prev = Some(doc);
            out.push(finish(idx, r));
            continue;
        };
        let mut body = v.clone();
        if let Some(m) = body.as_mapping_mut() {
            m.remove("action");
        }
        match action.as_str() {
            Some("global") => global = Some(body),
            Some("reset") => global = None,
            Some("repeat") => match prev.as_mut() {
                Some(p) => {
                    merge(p, &body);
                    let r = document::lower(p);
                    out.push(finish(idx, r));
                }
                None => out.push(finish(
                    idx,
                    Err(KeyPath::default()
                        .key("action")
                        .err(ErrorKind::InvalidValue {
                            expected: "a previous document to repeat".into(),
                            found: "`action: repeat` as the first document".into(),
                        })),
                )),
            },
            _ => out.push(finish(
                idx,
                Err(KeyPath::default()
                    .key("action")
                    .err(invalid("one of global, reset, repeat", action))
                    .hint("legacy collection actions are `global`, `reset` and `repeat`")),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_merge() {
        let mut a: Value = serde_yaml::from_str("a: {x: 1, y: 2}\nb: 1").unwrap();
        let b: Value = serde_yaml::from_str("a: {y: 3, z: 4}\nc: 2").unwrap();
        merge(&mut a, &b);
        let want: Value = serde_yaml::from_str("a: {x: 1, y: 3, z: 4}\nb: 1\nc: 2").unwrap();
        assert_eq!(a, want);
    }

    #[test]
    fn yaml_messages_drop_the_position_and_keep_the_context() {
        assert_eq!(
            without_position(
                "found unexpected end of stream at line 9 column 1, while scanning a quoted scalar at line 7 column 16"
            ),
            "found unexpected end of stream, while scanning a quoted scalar at line 7 column 16"
        );
        assert_eq!(
            without_position("did not find expected key at line 5 column 3"),
            "did not find expected key"
        );
        assert_eq!(
            without_position("recursion limit exceeded"),
            "recursion limit exceeded"
        );
    }
}
