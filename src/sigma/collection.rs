//! A YAML source → its Sigma documents, including the legacy (Sigma 1) collection actions:
//! `action: global` is deep-merged into every following document, `action: reset` clears it,
//! `action: repeat` re-emits the previous document with its own keys merged in.

use serde::Deserialize;
use serde_yaml::Value;

use super::detection::invalid;
use super::{correlation, document, filter};
use super::{depth, locate, yaml};
use super::{Fail, FailInner, KeyPath, Loaded, SourceWarning, R};
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
/// at (`line`, `col`) on the line `text`, when the scalar is written on that line, plain or
/// quoted.
fn span_column(text: &str, col: usize, value: &str, offset: usize) -> Option<usize> {
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

/// The documents of a source as they are lowered.
#[derive(Default)]
struct Acc {
    out: Vec<Result<ir::Document, Error>>,
    /// Failures and warnings to locate once every document is read: (index in `out`, YAML
    /// document index, finding). A failure's entry in `out` holds its error unlocated until
    /// then.
    fails: Vec<(usize, usize, Fail)>,
    warns: Vec<(usize, usize, Fail)>,
}

impl Acc {
    fn fail(&mut self, idx: usize, f: Fail) {
        self.out.push(Err(f.0.error.clone()));
        self.fails.push((self.out.len() - 1, idx, f));
    }

    /// Lowers the YAML document `idx` of `file`.
    fn lower(&mut self, idx: usize, doc: &Value, file: Option<&str>) {
        let mut w = Vec::new();
        match lower_document(doc, &mut w) {
            Ok(mut d) => {
                let origin = ir::Origin {
                    file: file.map(str::to_string),
                    document: idx,
                };
                match &mut d {
                    ir::Document::Rule(x) => x.origin = origin,
                    ir::Document::Correlation(x) => x.origin = origin,
                    ir::Document::Filter(x) => x.origin = origin,
                    ir::Document::Sequence(x) => x.origin = origin,
                }
                let at = self.out.len();
                self.warns.extend(w.into_iter().map(|f| (at, idx, f)));
                self.out.push(Ok(d));
            }
            Err(f) => self.fail(idx, f),
        }
    }
}

/// A source's documents as they are read: the lowered ones, and the legacy collection state
/// (`action: global` parts, the previous document for `action: repeat`).
struct Stream<'f> {
    acc: Acc,
    /// YAML documents read so far, empty ones included.
    raw_count: usize,
    /// Whether any document was not empty.
    content: bool,
    global: Option<Value>,
    prev: Option<Value>,
    file: Option<&'f str>,
}

impl Stream<'_> {
    /// Takes the next YAML document of the source.
    fn document(&mut self, v: Value) {
        let idx = self.raw_count;
        self.raw_count += 1;
        if v.is_null() {
            return;
        }
        self.content = true;
        let file = self.file;
        let action = v.as_mapping().and_then(|m| m.get("action"));
        let Some(action) = action else {
            // Merging into an empty mapping would rebuild `v` as it is: take it whole.
            let doc = match &self.global {
                Some(g) => {
                    let mut doc = g.clone();
                    merge(&mut doc, &v);
                    doc
                }
                None => v,
            };
            self.acc.lower(idx, &doc, file);
            self.prev = Some(doc);
            return;
        };
        let action = action.as_str().map(str::to_string).ok_or_else(|| {
            KeyPath::default()
                .key("action")
                .err(invalid("one of global, reset, repeat", action))
                .hint("legacy collection actions are `global`, `reset` and `repeat`")
        });
        let mut body = v;
        if let Some(m) = body.as_mapping_mut() {
            m.remove("action");
        }
        match action.as_ref().map(String::as_str) {
            Ok("global") => self.global = Some(body),
            Ok("reset") => self.global = None,
            Ok("repeat") => match self.prev.as_mut() {
                Some(p) => {
                    merge(p, &body);
                    self.acc.lower(idx, p, file);
                }
                None => self.acc.fail(
                    idx,
                    KeyPath::default()
                        .key("action")
                        .err(ErrorKind::InvalidValue {
                            expected: "a previous document to repeat".into(),
                            found: "`action: repeat` as the first document".into(),
                        }),
                ),
            },
            Ok(other) => self.acc.fail(
                idx,
                KeyPath::default()
                    .key("action")
                    .err(invalid(
                        "one of global, reset, repeat",
                        &Value::String(other.to_string()),
                    ))
                    .hint("legacy collection actions are `global`, `reset` and `repeat`"),
            ),
            Err(f) => self.acc.fail(idx, f.clone()),
        }
    }
}

/// Parses a YAML source into its Sigma documents and the front end's warnings.
///
/// The fast reader ([`yaml::documents`]) reads a source of up to 1 MiB whole; what it
/// declines is read by `yaml_serde`, each YAML document lowered as soon as the parser gives
/// it and its YAML value then dropped, so memory stays proportional to the IR, not to every
/// document's YAML tree at once. There, nesting deeper than [`depth::MAX_NESTING`] is found
/// by a linear pre-scan and reported at its position without handing that document to the
/// parser (whose scanner is quadratic in the depth); the documents before it are read as
/// usual.
pub(crate) fn parse(source: &str, file: Option<&str>) -> Loaded {
    let mut text = source;
    let mut too_deep = None;
    // The fast reader declines nesting deeper than half the pre-scan's limit (which never
    // counts more levels than there are, give or take one a line): what it reads passes
    // the pre-scan, which runs only for what it declines.
    let fast = yaml::documents(source);
    let deep = if fast.is_none() {
        depth::scan(source)
    } else {
        None
    };
    if let Some(d) = deep {
        text = &source[..d.document_start];
        too_deep = Some(
            Error::new(ErrorKind::Yaml(format!(
                "nesting deeper than {} levels",
                depth::MAX_NESTING
            )))
            .at_line(d.line, Some(d.column))
            .hint("Sigma rules nest a few levels of lists and mappings; flatten the nesting that starts here"),
        );
    }
    let in_file = |e: Error| match file {
        Some(f) => e.in_file(f),
        None => e,
    };
    let mut st = Stream {
        acc: Acc::default(),
        raw_count: 0,
        content: false,
        global: None,
        prev: None,
        file,
    };
    if let Some(docs) = fast {
        for v in docs {
            st.document(v);
        }
    } else {
        for de in serde_yaml::Deserializer::from_str(text) {
            match Value::deserialize(de) {
                Ok(v) => st.document(v),
                Err(e) => {
                    st.raw_count += 1;
                    let mut err = Error::new(ErrorKind::Yaml(yaml_message(&e)))
                        .hint("check the indentation and quoting around this position");
                    if let Some(l) = e.location() {
                        err = err.at_line(l.line(), Some(l.column()));
                    }
                    st.acc.out.push(Err(in_file(err)));
                    // The stream cannot be resumed after a syntax error.
                    break;
                }
            }
        }
    }
    let Stream {
        mut acc,
        raw_count,
        content,
        ..
    } = st;
    let multi = raw_count + usize::from(too_deep.is_some()) > 1;
    if let Some(e) = too_deep {
        acc.out.push(Err(in_file(e)));
    }
    let (documents, mut warnings) = locate_findings(acc, text, raw_count, multi, &in_file);
    if !content && documents.is_empty() {
        warnings.push(SourceWarning {
            document: None,
            warning: in_file(Error::new(ErrorKind::EmptyFile).hint(
                "the file is empty or holds only comments: write a rule in it, or remove it",
            )),
        });
    }
    Loaded {
        documents,
        warnings,
    }
}

/// Locates failures and warnings in the source, once every document is known: the documents
/// (failures located) and the warnings.
fn locate_findings(
    acc: Acc,
    text: &str,
    raw_count: usize,
    multi: bool,
    in_file: &dyn Fn(Error) -> Error,
) -> (Vec<Result<ir::Document, Error>>, Vec<SourceWarning>) {
    let Acc {
        mut out,
        fails,
        warns,
    } = acc;
    let pending = !warns.is_empty() || !fails.is_empty();
    let lines: Vec<&str> = if pending {
        text.lines().collect()
    } else {
        Vec::new()
    };
    let ranges = if pending {
        locate::split_lines(&lines)
    } else {
        Vec::new()
    };
    let ranges_ok = ranges.len() == raw_count;
    let place = |idx: usize, Fail(inner): Fail| -> Error {
        let FailInner {
            mut error,
            path,
            span,
        } = *inner;
        if ranges_ok {
            if let Some((line, col)) = locate::locate_lines(&lines, ranges[idx], path.segs()) {
                let col = span
                    .as_ref()
                    .and_then(|(v, o)| span_column(lines.get(line - 1)?, col, v, *o))
                    .unwrap_or(col);
                error = error.at_line(line, Some(col));
            }
        }
        if multi && error.location.path.is_some() {
            // Name the document in multi-document files.
            let p = error.location.path.take().unwrap_or_default();
            error.location.path = Some(if p.is_empty() {
                format!("document {idx}")
            } else {
                format!("document {idx}: {p}")
            });
        }
        in_file(error)
    };
    let warnings: Vec<SourceWarning> = warns
        .into_iter()
        .map(|(at, idx, f)| SourceWarning {
            document: Some(at),
            warning: place(idx, f),
        })
        .collect();
    for (at, idx, f) in fails {
        out[at] = Err(place(idx, f));
    }
    (out, warnings)
}

/// Lowers one document (already merged with legacy `action: global` parts). Findings that
/// do not make it invalid (unused search identifiers) are added to `warn`.
fn lower_document(doc: &Value, warn: &mut Vec<Fail>) -> R<ir::Document> {
    let root = KeyPath::default();
    let Value::Mapping(m) = doc else {
        return Err(root.err(invalid("a mapping of rule fields", doc)));
    };
    if m.contains_key("correlation") {
        return correlation::lower(m).map(ir::Document::Correlation);
    }
    if m.contains_key("filter") {
        return filter::lower(m, warn).map(ir::Document::Filter);
    }
    document::lower_rule(m, warn).map(ir::Document::Rule)
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
