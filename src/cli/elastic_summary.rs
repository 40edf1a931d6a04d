//! `check`'s summary of Elastic rule files: per rule type how many were read into the IR, and
//! the refusals grouped by reason (the construct named, its specifics dropped).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, ErrorKind};
use crate::ir::Document;

/// Counts over the `.toml` files of a check.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Rule type (`query/kuery` style for query rules) → (read, files).
    pub types: BTreeMap<String, (usize, usize)>,
    /// Refusal reason → count.
    pub refusals: BTreeMap<String, usize>,
}

fn type_of_docs(docs: &[Result<Document, Error>]) -> Option<String> {
    docs.iter().flatten().find_map(|d| {
        let meta = match d {
            Document::Rule(r) => &r.meta,
            Document::Correlation(c) => &c.meta,
            Document::Sequence(s) => &s.meta,
            Document::Filter(f) => &f.meta,
        };
        let rule = meta.custom.get("elastic")?.get("rule")?;
        let ty = rule.get("type")?.as_str()?;
        Some(match (ty, rule.get("language").and_then(|l| l.as_str())) {
            ("query", Some(l)) => format!("query/{l}"),
            (t, _) => t.to_string(),
        })
    })
}

/// What a refusal names, specifics in backquotes dropped (function and field names kept).
fn reason(what: &str) -> String {
    let keep = what.contains("function") || what.contains("field `");
    what.split('`')
        .enumerate()
        .map(|(i, s)| {
            if i % 2 == 1 && !s.starts_with('|') && !keep {
                "…"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

impl Summary {
    /// Counts the `.toml` files among `docs`.
    #[must_use]
    pub fn of(docs: &[(PathBuf, Vec<Result<Document, Error>>)]) -> Summary {
        let mut s = Summary::default();
        for (path, ds) in docs {
            if !path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
            {
                continue;
            }
            let ok = ds.iter().all(Result::is_ok);
            let ty = type_of_docs(ds).or_else(|| {
                let r = crate::read::read_file(path).ok()?;
                Some(match (r.rule_type, r.language) {
                    (crate::read::RuleType::Query, Some(l)) => format!("query/{}", l.name()),
                    (t, _) => t.name().to_string(),
                })
            });
            let e = s
                .types
                .entry(ty.unwrap_or_else(|| "unreadable".into()))
                .or_default();
            e.1 += 1;
            if ok {
                e.0 += 1;
            }
            for err in ds.iter().filter_map(|d| d.as_ref().err()) {
                let r = match &err.kind {
                    ErrorKind::Unsupported { what, .. } => reason(what),
                    k => format!("error `{}`", k.code()),
                };
                *s.refusals.entry(r).or_default() += 1;
            }
        }
        s
    }

    /// One line: `elastic: TYPE READ/FILES, ...; refused: N × REASON, ...` (most frequent
    /// reasons first); `None` without Elastic files.
    #[must_use]
    pub fn line(&self) -> Option<String> {
        if self.types.is_empty() {
            return None;
        }
        let types: Vec<String> = self
            .types
            .iter()
            .map(|(t, (r, n))| format!("{t} {r}/{n}"))
            .collect();
        let mut reasons: Vec<(&String, &usize)> = self.refusals.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} × {r}")).collect();
        Some(format!(
            "elastic rules read into the IR (per type, read/files): {}; not read: {}",
            types.join(", "),
            if reasons.is_empty() {
                "none".to_string()
            } else {
                reasons.join("; ")
            }
        ))
    }
}
