//! Reading a whole catalog for `coverage` and `report`: every rule file of the paths (Sigma
//! YAML and Elastic TOML), with its tags, and its IR rule after the pipelines where there is
//! one.
//!
//! Tags come from the rule as read (before pipelines), so a rule a pipeline refuses, or an
//! Elastic rule whose query the IR cannot hold yet (sequences, ES|QL, machine learning...),
//! still counts for ATT&CK coverage; such rules have no IR rule and take no part in indicators
//! or pairs. A file that cannot be read at all is returned as an error, located.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::coverage::Entry;
use crate::error::Error;
use crate::ir::Document;
use crate::read;
use crate::session::{Failure, Session};

/// A catalog as read.
#[derive(Debug, Default)]
pub struct Catalog {
    /// One entry per rule (and correlation), in file order.
    pub entries: Vec<Entry>,
    /// Files or documents that could not be read (located errors).
    pub failed: Vec<Error>,
    /// Rules without an IR rule, with why (the reader's refusal or the pipeline's error).
    pub without_ir: Vec<(usize, Error)>,
}

fn is_toml(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Reads `paths`, the pipelines (names or files) applied to the rules for indicators and pairs.
///
/// # Errors
/// A pipeline that cannot be loaded.
pub fn load(paths: &[PathBuf], pipelines: &[String]) -> Result<Catalog, Error> {
    let raw = Session::builder().build()?.load(paths);
    let mut prepared: HashMap<(PathBuf, usize), Result<crate::ir::Rule, Error>> = HashMap::new();
    if !pipelines.is_empty() {
        let s = Session::builder().pipelines(pipelines).build()?;
        for e in s.load(paths).entries {
            let r = match e.doc {
                Ok(Document::Rule(r)) => Ok(r),
                Ok(Document::Correlation(_) | Document::Filter(_) | Document::Sequence(_)) => {
                    continue
                }
                Err(f) => Err(f.error().clone()),
            };
            prepared.insert((e.path, e.document), r);
        }
    }
    // A threshold rule reads as its query rule plus a correlation over it, which holds the
    // rule's metadata: the file is one rule, counted once, by the correlation.
    let thresholds: std::collections::HashSet<PathBuf> = raw
        .entries
        .iter()
        .filter(|e| is_toml(&e.path) && matches!(e.doc, Ok(Document::Correlation(_))))
        .map(|e| e.path.clone())
        .collect();
    let mut cat = Catalog::default();
    for e in raw.entries {
        let file = e.path.display().to_string();
        let document = e.document;
        match e.doc {
            Ok(Document::Rule(_)) if thresholds.contains(&e.path) => {}
            Ok(Document::Rule(r)) => {
                let key = (e.path.clone(), e.document);
                let rule = match prepared.remove(&key) {
                    Some(Ok(p)) => Some(p),
                    Some(Err(err)) => {
                        cat.without_ir.push((cat.entries.len(), err));
                        None
                    }
                    None => Some(r.clone()),
                };
                cat.entries.push(Entry {
                    title: r.meta.title,
                    id: r.meta.id,
                    file,
                    document,
                    tags: r.meta.tags,
                    rule,
                });
            }
            Ok(Document::Correlation(c)) => cat.entries.push(Entry {
                title: c.meta.title,
                id: c.meta.id,
                file,
                document,
                tags: c.meta.tags,
                rule: None,
            }),
            Ok(Document::Sequence(q)) => cat.entries.push(Entry {
                title: q.meta.title,
                id: q.meta.id,
                file,
                document,
                tags: q.meta.tags,
                rule: None,
            }),
            Ok(Document::Filter(_)) => {}
            Err(Failure::Load(err) | Failure::Pipeline(err)) if is_toml(&e.path) => {
                // The IR cannot hold the rule's query; its metadata still reads.
                match read::read_file(&e.path) {
                    Ok(er) => {
                        let meta = er.into_meta();
                        cat.without_ir.push((cat.entries.len(), err));
                        cat.entries.push(Entry {
                            title: meta.title,
                            id: meta.id,
                            file,
                            document,
                            tags: meta.tags,
                            rule: None,
                        });
                    }
                    Err(read_err) => cat.failed.push(read_err),
                }
            }
            Err(f) => cat.failed.push(f.error().clone()),
        }
    }
    Ok(cat)
}
