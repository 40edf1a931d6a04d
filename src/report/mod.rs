//! The catalog report: a static, self-contained site (no network, no CDN: CSS and the search
//! script are inline) of one catalog, or of two compared.
//!
//! - `index.html`: the catalogs' figures, the ATT&CK matrix as an inline SVG heat map
//!   ([`heatmap`]), every rule with a search box filtering by title, and, when comparing, the
//!   table of overlapping pairs (relation, shared keys, links to both pages);
//! - `a/NAME.html` (and `b/NAME.html`): one page per rule ([`page`]), in the shape of the
//!   seed rule page;
//! - `report.json`: the numbers the pages show (rule counts, heat-map cells, pair counts), so
//!   that a test can check the pages against them and them against `sigmat coverage`.
//!
//! The stage takes the catalogs as `coverage` reads them ([`Side`]) and returns the files
//! ([`build`]): writing them (atomically, as one folder) is the caller's. Pages are rendered
//! with minijinja templates under `templates/report/`, HTML-escaped ([`site`]).

pub mod events;
pub mod heatmap;
pub mod page;
mod site;
pub mod source;

use std::collections::{BTreeMap, HashSet};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use crate::attack::ATTACK_VERSION;
use crate::coverage::indicators::Index;
use crate::coverage::pairs::{Found, Tally};
use crate::coverage::{Coverage, Entry};
use crate::error::{Error, ErrorKind};
use crate::ir;
use page::{Page, Peer};
use source::Detail;

/// One catalog of the report.
pub struct Side<'a> {
    /// Its name (the paths).
    pub name: &'a str,
    /// Its pipelines.
    pub pipelines: &'a [String],
    /// Its rules.
    pub entries: &'a [Entry],
    /// Each rule's written form (parallel to `entries`).
    pub details: &'a [Detail],
    /// Each rule through the Windows routing pipelines (parallel to `entries`, or empty).
    pub routed: &'a [Option<ir::Rule>],
    /// Its coverage.
    pub cov: &'a Coverage,
    /// Rules without an IR rule, with why.
    pub without_ir: &'a [(usize, Error)],
    /// Files that could not be read.
    pub failed: &'a [Error],
}

/// What the report shows: catalog A, and B with the decided pairs when comparing.
pub struct Input<'a> {
    /// Catalog A.
    pub a: Side<'a>,
    /// Catalog B, and the pairs of A with B when they were decided (without them the two
    /// are compared by ATT&CK tag only).
    pub b: Option<(Side<'a>, Option<&'a Found>)>,
}

/// A file of the site: path under the report folder and contents.
pub type File = (String, String);

/// A page name from a rule file's stem: lower-case letters, digits, `-` and `_`.
fn slug(file: &str) -> String {
    let stem = std::path::Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let s: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "rule".into()
    } else {
        s
    }
}

/// Page paths of a catalog's rules, `side/NAME.html`, distinct.
fn page_paths(side: &str, entries: &[Entry]) -> Vec<String> {
    let mut used = HashSet::new();
    entries
        .iter()
        .map(|e| {
            let base = slug(&e.file);
            let mut name = format!("{side}/{base}.html");
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{side}/{base}_{n}.html");
                n += 1;
            }
            name
        })
        .collect()
}

fn words(relation: &str, this: &str, other: &str) -> String {
    match relation {
        "equivalent" => format!("matches the same events as this {this} rule"),
        "a_in_b" => {
            format!("contains this rule: every event this rule matches, the {other} rule matches")
        }
        "b_in_a" => format!(
            "lies within this rule: every event the {other} rule matches, this rule matches"
        ),
        "overlap" => {
            "overlaps: some events match both, each matches events the other does not".into()
        }
        _ => "not decided, but an event matching both was found".into(),
    }
}

/// Adds to each page of A its overlapping rules of B, and to each page of B those of A.
fn add_peers(pa: &mut [Page], pb: &mut [Page], found: &Found) {
    for (i, list) in found {
        for (j, shared, d) in list {
            let witnessed = d.witness.is_some();
            let overlapping = d.relation.overlaps() || witnessed;
            if !overlapping {
                continue;
            }
            let rel = d.relation.name();
            let back = d.relation.reversed().name();
            let (ta, tb) = (pa[*i].title.clone(), pb[*j].title.clone());
            let (ha, hb) = (pa[*i].path.clone(), pb[*j].path.clone());
            pa[*i].peers.push(Peer {
                title: tb,
                href: format!("../{hb}"),
                relation: rel,
                words: words(rel, "A", "B"),
                shared: shared.clone(),
            });
            pb[*j].peers.push(Peer {
                title: ta,
                href: format!("../{ha}"),
                relation: back,
                words: words(back, "B", "A"),
                shared: shared.clone(),
            });
        }
    }
}

fn pages(label: &'static str, s: &Side) -> Vec<Page> {
    let index = Index::build(s.entries);
    let paths = page_paths(label, s.entries);
    let why: BTreeMap<usize, String> = s
        .without_ir
        .iter()
        .map(|(i, e)| (*i, e.kind.to_string()))
        .collect();
    s.entries
        .par_iter()
        .enumerate()
        .map(|(i, e)| {
            let src = page::Source {
                entry: e,
                at: i,
                detail: &s.details[i],
                routed: s.routed.get(i).and_then(Option::as_ref),
                pipelines: s.pipelines,
                without_ir: why.get(&i).cloned(),
            };
            page::build(label, s.name, paths[i].clone(), &src, &index)
        })
        .collect()
}

/// One overlapping pair of the index's table.
#[derive(Debug, Clone, Serialize)]
pub struct PairRow {
    /// Rule of A: title and page.
    pub a: (String, String),
    /// Rule of B: title and page.
    pub b: (String, String),
    /// Relation (from A's side).
    pub relation: &'static str,
    /// Shared keys.
    pub shared: Vec<String>,
}

fn pair_rows(pa: &[Page], pb: &[Page], found: &Found) -> Vec<PairRow> {
    let mut rows = Vec::new();
    for (i, list) in found {
        for (j, shared, d) in list {
            if d.relation.overlaps() || d.witness.is_some() {
                rows.push(PairRow {
                    a: (pa[*i].title.clone(), pa[*i].path.clone()),
                    b: (pb[*j].title.clone(), pb[*j].path.clone()),
                    relation: d.relation.name(),
                    shared: shared.clone(),
                });
            }
        }
    }
    rows
}

fn side_json(s: &Side, pages: &[Page]) -> Value {
    let techniques: serde_json::Map<String, Value> = s
        .cov
        .cells()
        .into_iter()
        .map(|id| {
            let n = s
                .cov
                .rules_of(id)
                .map_or(0, std::collections::BTreeSet::len);
            (id.to_string(), Value::from(n))
        })
        .collect();
    let list: Vec<Value> = pages
        .iter()
        .map(|p| json!({ "title": p.title, "file": p.file, "page": p.path, "indicators": p.indicators.len(), "peers": p.peers.len() }))
        .collect();
    json!({
        "name": s.name,
        "pipelines": s.pipelines,
        "rules": s.entries.len(),
        "rules_without_ir": s.without_ir.len(),
        "failed": s.failed.iter().map(Error::render).collect::<Vec<_>>(),
        "technique_cells": s.cov.cells().len(),
        "techniques": techniques,
        "unknown_tags": s.cov.unknown.len(),
        "pages": list,
    })
}

/// The site's files: `index.html`, one page per rule, `report.json`.
///
/// # Errors
/// A template that does not render ([`ErrorKind::Backend`] naming the template).
pub fn build(input: &Input) -> Result<Vec<File>, Error> {
    let env = site::environment()?;
    let mut pa = pages("a", &input.a);
    let mut pb = match &input.b {
        Some((b, _)) => pages("b", b),
        None => Vec::new(),
    };
    let (pairs, tally) = match &input.b {
        Some((_, Some(found))) => {
            add_peers(&mut pa, &mut pb, found);
            (
                pair_rows(&pa, &pb, found),
                Some(Tally::of(input.a.entries, found)),
            )
        }
        Some((_, None)) | None => (Vec::new(), None),
    };
    if let Some((b, Some(_))) = &input.b {
        for p in pa.iter_mut() {
            p.other = b.name.to_string();
        }
        for p in pb.iter_mut() {
            p.other = input.a.name.to_string();
        }
    }
    let heat = heatmap::layout(
        input.a.cov,
        input.b.as_ref().map(|(b, _)| b.cov),
        ("A", "B"),
    );
    let mut report = json!({
        "attack_version": ATTACK_VERSION,
        "a": side_json(&input.a, &pa),
        "heatmap": heat,
    });
    if let Some((b, _)) = &input.b {
        report["b"] = side_json(b, &pb);
    }
    if tally.is_some() {
        report["pairs"] = json!({
            "summary": tally,
            "overlapping_pairs": pairs.len(),
            "rows": pairs,
        });
    }
    let index = site::render(
        &env,
        "index.html.j2",
        &json!({
            "attack_version": ATTACK_VERSION,
            "a": &report["a"],
            "b": report.get("b"),
            "heat": heat,
            "summary": tally,
            "pairs": pairs,
            "a_pages": pa.iter().map(|p| (&p.title, &p.path)).collect::<Vec<_>>(),
            "b_pages": pb.iter().map(|p| (&p.title, &p.path)).collect::<Vec<_>>(),
        }),
    )?;
    let mut files: Vec<File> = vec![("index.html".into(), index)];
    let rendered: Result<Vec<File>, Error> = pa
        .par_iter()
        .chain(pb.par_iter())
        .map(|p| Ok((p.path.clone(), site::render(&env, "rule.html.j2", p)?)))
        .collect();
    files.extend(rendered?);
    let mut text = serde_json::to_string_pretty(&report)
        .map_err(|e| Error::new(ErrorKind::Io(e.to_string())))?;
    text.push('\n');
    files.push(("report.json".into(), text));
    Ok(files)
}
