//! Sigma front end: Sigma YAML (rules, correlations, filters, multi-document collections) → IR.
//!
//! The entry points are [`parse_str`] (one YAML source, possibly several documents),
//! [`load_file`] and [`load_paths`] (files and folders, read in parallel, filters applied).
//! Every document gives either an [`ir::Document`] or an [`Error`] with a kind, a location
//! (file, line:column where the source gives it, key path) and a hint. No input panics.
//!
//! The `*_with_warnings` forms ([`parse_str_with_warnings`], [`load_file_with_warnings`],
//! [`load_paths_with_warnings`]) also return the front end's warnings, as a [`Loaded`]: findings
//! that leave the documents valid (a search identifier no condition uses, an empty file),
//! located and hinted like errors. `check` prints them (`--strict` fails on them); `convert`
//! and `eval` should print them beside their own warnings.
//!
//! | module | concern |
//! |---|---|
//! | `collection` | YAML stream → documents, legacy `action: global/reset/repeat` |
//! | `document` | document kind dispatch, metadata, `logsource` |
//! | `detection` | search identifiers → boolean structure |
//! | `modifiers` | modifier names and the chain-order rules |
//! | `value` | Sigma escaping, wildcards, placeholders, windash, encodings |
//! | `condition` | the condition lexer and parser, `x of` resolution |
//! | `correlation` / `filter` | correlation and filter documents |
//! | `locate` | line:column of a key path in the source text |
//! | `depth` | linear pre-scan rejecting YAML nested too deep before it is parsed |
//! | `yaml` | the fast YAML reader (saphyr-parser events → values), declining to `yaml_serde` where they could differ |

mod collection;
mod condition;
mod correlation;
mod depth;
mod detection;
mod document;
mod filter;
mod locate;
mod modifiers;
mod value;
mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, ErrorKind};
use crate::ir;

/// One segment of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A mapping key (shared: every path below the key holds it).
    Key(std::sync::Arc<str>),
    /// A sequence index.
    Index(usize),
}

/// A key path into a YAML document, such as `detection.selection.Image|endswith[2]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(Vec<Seg>);

impl KeyPath {
    /// The path extended by a key.
    pub(crate) fn key(&self, k: &str) -> KeyPath {
        let mut v = self.0.clone();
        v.push(Seg::Key(k.into()));
        KeyPath(v)
    }

    /// The path extended by an index.
    pub(crate) fn index(&self, i: usize) -> KeyPath {
        let mut v = self.0.clone();
        v.push(Seg::Index(i));
        KeyPath(v)
    }

    /// An error of `kind` at this path.
    pub(crate) fn err(&self, kind: ErrorKind) -> Fail {
        let error = if self.0.is_empty() {
            Error::new(kind)
        } else {
            Error::new(kind).at(self.to_string())
        };
        Fail(Box::new(FailInner {
            error,
            path: self.clone(),
            span: None,
        }))
    }

    /// The segments.
    pub(crate) fn segs(&self) -> &[Seg] {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Index(n) => {
                    f.write_str("[")?;
                    fmt::Display::fmt(n, f)?;
                    f.write_str("]")?;
                }
            }
        }
        Ok(())
    }
}

/// An error still carrying its structured key path, so it can be located in the source.
#[derive(Debug, Clone)]
pub(crate) struct Fail(pub(crate) Box<FailInner>);

/// The contents of a [`Fail`].
#[derive(Debug, Clone)]
pub(crate) struct FailInner {
    pub(crate) error: Error,
    pub(crate) path: KeyPath,
    /// The scalar text at `path` and a byte offset in it, to point at a column inside the
    /// value (conditions).
    pub(crate) span: Option<(String, usize)>,
}

impl Fail {
    /// Points the error at byte `offset` of the scalar `text` found at its path.
    pub(crate) fn with_span(mut self, text: &str, offset: usize) -> Fail {
        self.0.span = Some((text.to_string(), offset));
        self
    }

    /// Adds a hint.
    pub(crate) fn hint(mut self, h: impl Into<String>) -> Fail {
        self.0.error.hint = Some(h.into());
        self
    }
}

/// Front-end result.
pub(crate) type R<T> = Result<T, Fail>;

/// What the front end read from one source: one result per Sigma document, and its warnings.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// One result per Sigma document, in source order.
    pub documents: Vec<Result<ir::Document, Error>>,
    /// Findings that leave the documents valid, in source order.
    pub warnings: Vec<SourceWarning>,
}

/// A front-end warning: a finding located and hinted like an error (render it with
/// [`Error::render_warning`]) that does not make its document invalid. Its kind names it:
/// [`ErrorKind::UnusedIdentifier`] (the rule is lowered without the identifier, as pySigma
/// does), [`ErrorKind::EmptyFile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceWarning {
    /// The index in [`Loaded::documents`] of the (valid) document it concerns; `None` for the
    /// source as a whole.
    pub document: Option<usize>,
    /// The finding.
    pub warning: Error,
}

/// Parses one YAML source (one or more documents) into IR documents, one result per Sigma
/// document (legacy `action: global` / `reset` documents give none; `repeat` gives one).
/// `file` names the source in errors and in each document's `origin`. Warnings are dropped;
/// [`parse_str_with_warnings`] returns them.
///
/// Filters are returned as [`ir::Document::Filter`] and not applied; [`load_paths`] applies
/// them.
#[must_use]
pub fn parse_str(source: &str, file: Option<&str>) -> Vec<Result<ir::Document, Error>> {
    parse_str_with_warnings(source, file).documents
}

/// [`parse_str`] with the front end's warnings.
#[must_use]
pub fn parse_str_with_warnings(source: &str, file: Option<&str>) -> Loaded {
    collection::parse(source.strip_prefix('\u{feff}').unwrap_or(source), file)
}

/// Reads and parses one file. An unreadable file gives a single [`ErrorKind::Io`] error.
#[must_use]
pub fn load_file(path: &Path) -> Vec<Result<ir::Document, Error>> {
    load_file_with_warnings(path).documents
}

/// [`load_file`] with the front end's warnings.
#[must_use]
pub fn load_file_with_warnings(path: &Path) -> Loaded {
    let name = path.display().to_string();
    let failed = |e: Error| Loaded {
        documents: vec![Err(e)],
        warnings: Vec::new(),
    };
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse_str_with_warnings(&text, Some(&name)),
            Err(e) => failed(
                Error::new(ErrorKind::Yaml(format!(
                    "the file is not UTF-8: {}",
                    e.utf8_error()
                )))
                .in_file(name)
                .hint("save the rule as UTF-8"),
            ),
        },
        Err(e) => {
            let mut err = Error::new(ErrorKind::Io(e.to_string())).in_file(name);
            if path.is_dir() {
                err = err.hint(
                    "this is a folder: name a Sigma file in it, or use a command that walks folders (`sigmat check DIR`, `sigmat convert DIR`)",
                );
            }
            failed(err)
        }
    }
}

/// Whether a path names a Sigma YAML file (`.yml` / `.yaml`).
#[must_use]
pub fn is_yaml(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Expands files and folders into the sorted list of YAML files to read. A path given
/// explicitly is kept even without a YAML extension; folders are walked for `.yml`/`.yaml`.
#[must_use]
pub fn collect_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .follow_links(true)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file() && is_yaml(e.path()))
                .map(walkdir::DirEntry::into_path)
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Reads every file and folder in `paths` (folders walked for `.yml` / `.yaml`, in sorted
/// order, read in parallel) and returns each file with its documents, in a deterministic
/// order. Filter documents found among the loaded files are applied to the rules they cover
/// ([`ir::Filter::applies_to`] / [`ir::Filter::apply`], in load order).
#[must_use]
pub fn load_paths(paths: &[PathBuf]) -> Vec<(PathBuf, Vec<Result<ir::Document, Error>>)> {
    load_paths_with_warnings(paths)
        .into_iter()
        .map(|(p, l)| (p, l.documents))
        .collect()
}

/// [`load_paths`] with the front end's warnings of each file.
#[must_use]
pub fn load_paths_with_warnings(paths: &[PathBuf]) -> Vec<(PathBuf, Loaded)> {
    let files = collect_files(paths);
    let mut loaded: Vec<(PathBuf, Loaded)> = files
        .into_par_iter()
        .map(|f| {
            let docs = load_file_with_warnings(&f);
            (f, docs)
        })
        .collect();
    apply_filters(&mut loaded);
    loaded
}

/// Applies every filter document of `loaded` to every rule it covers.
fn apply_filters(loaded: &mut [(PathBuf, Loaded)]) {
    let filters: Vec<ir::Filter> = loaded
        .iter()
        .flat_map(|(_, l)| l.documents.iter())
        .filter_map(|d| match d {
            Ok(ir::Document::Filter(f)) => Some(f.clone()),
            Ok(
                ir::Document::Rule(_) | ir::Document::Correlation(_) | ir::Document::Sequence(_),
            )
            | Err(_) => None,
        })
        .collect();
    if filters.is_empty() {
        return;
    }
    for (_, l) in loaded.iter_mut() {
        for d in &mut l.documents {
            if let Ok(ir::Document::Rule(rule)) = d {
                for f in &filters {
                    if f.applies_to(rule) {
                        f.apply(rule);
                    }
                }
            }
        }
    }
}

/// The parsed form of a condition expression ([`parse_condition`]).
pub use condition::Ast as ConditionAst;

/// Reads a Sigma string value (spec § Escape Character, as pySigma's `SigmaString`): `*` and
/// `?` are wildcards; `\*`, `\?` and `\\` are the literal characters; a backslash before any
/// other character, or at the end, stays literal.
#[must_use]
pub fn string_pattern(text: &str) -> ir::Pattern {
    value::parse_sigma_string(text)
}

/// Lowers one detection item, `field|modifier|...: value` or a list of values, exactly as a
/// rule's selection would: the modifier chain rules, value checks and expansion limits of the
/// front end apply. The predicates' key paths (and the error's) start with `at` (none when
/// empty).
///
/// # Errors
/// Unknown or misplaced modifiers, values of the wrong type, invalid regexes or networks, each
/// with its key path and hint.
pub fn detection_item(key: &str, value: &serde_yaml::Value, at: &str) -> Result<ir::Expr, Error> {
    let base = if at.is_empty() {
        KeyPath::default()
    } else {
        KeyPath::default().key(at)
    };
    detection::lower_item(key, value, &base.key(key)).map_err(|f| f.0.error)
}

/// Parses a condition expression (`a and not (b or 1 of c*)`) with the front end's lexer,
/// precedence and nesting limit; identifiers are not resolved.
///
/// # Errors
/// [`ErrorKind::ConditionSyntax`] with the byte offset (nesting too deep included), or
/// [`ErrorKind::Deprecated`] for Sigma 1 aggregations.
pub fn parse_condition(text: &str) -> Result<ConditionAst, Error> {
    condition::parse(text).map_err(|(kind, hint)| {
        let e = Error::new(kind);
        match hint {
            Some(h) => e.hint(h),
            None => e,
        }
    })
}

/// The closest of `candidates` to `word` by edit distance, when close enough to be a likely
/// typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lw = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = levenshtein(&lw, &c.to_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.filter(|(d, c)| *d <= (c.chars().count() / 3).max(2))
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_display() {
        let p = KeyPath::default()
            .key("detection")
            .key("selection")
            .index(1)
            .key("Image|endswith")
            .index(2);
        assert_eq!(p.to_string(), "detection.selection[1].Image|endswith[2]");
    }

    #[test]
    fn closest_suggests_typos_only() {
        let names = ["contains", "endswith", "startswith"];
        assert_eq!(closest("endswit", names), Some("endswith"));
        assert_eq!(closest("Contains", names), Some("contains"));
        assert_eq!(closest("zzz", names), None);
    }
}
