//! One rule page's content, in the shape of the seed rule page: title, description, ATT&CK
//! table, event coverage, rule body, stages and predicates, indicators with catalog counts,
//! an Elastic rule's query and IR, and the overlapping rules of the other catalog.

use serde::Serialize;

use super::events::{self, EventRow};
use super::source::Detail;
use crate::attack;
use crate::coverage::indicators::{self, describe, Index, Row};
use crate::coverage::Entry;
use crate::ir::{self, Expr};

/// One row of the ATT&CK table.
#[derive(Debug, Clone, Serialize)]
pub struct AttackRow {
    /// Tactic name.
    pub tactic: &'static str,
    /// Techniques: id and name (`Parent: Sub` for a sub-technique).
    pub techniques: Vec<(&'static str, String)>,
}

/// One predicate of a stage, as the IR holds it.
#[derive(Debug, Clone, Serialize)]
pub struct PredRow {
    /// The field, or `(keywords)`.
    pub field: String,
    /// The kind (the indicator kinds of `coverage::indicators`).
    pub kind: &'static str,
    /// The value.
    pub value: String,
    /// Case-sensitive.
    pub cased: bool,
    /// Under a `not`.
    pub negated: bool,
}

/// A stage: the condition, or one selection with its predicates.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// `condition`, the selection's name, `query`, or `added by the pipelines`.
    pub name: String,
    /// The text as written (YAML, a condition, a query).
    pub text: String,
    /// The IR predicates of the selection.
    pub preds: Vec<PredRow>,
}

/// An overlapping rule of the other catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Peer {
    /// Its title.
    pub title: String,
    /// Link to its page, relative to this page.
    pub href: String,
    /// The relation read from this rule's side: `equivalent`, `a_in_b` (this rule within the
    /// other), `b_in_a`, `overlap`, `unknown` (with an event both match).
    pub relation: &'static str,
    /// Said in words.
    pub words: String,
    /// Shared (field, token) keys that made it a candidate.
    pub shared: Vec<String>,
}

/// A rule page.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// The ATT&CK release of the tables.
    pub attack_version: &'static str,
    /// `a` or `b`.
    pub side: &'static str,
    /// The catalog's name.
    pub catalog: String,
    /// Path of the page under the report folder.
    pub path: String,
    /// Title.
    pub title: String,
    /// Rule id.
    pub id: String,
    /// The rule file.
    pub file: String,
    /// The written form.
    pub detail: Detail,
    /// ATT&CK table.
    pub attack: Vec<AttackRow>,
    /// Notes on the tags (unknown ids, v19 ids read through the crosswalk).
    pub attack_notes: Vec<String>,
    /// Event coverage.
    pub events: Vec<EventRow>,
    /// Stages and predicates.
    pub stages: Vec<Stage>,
    /// The IR conditions as JSON (Elastic rules).
    pub ir: String,
    /// Why the rule has no IR rule, if it has none.
    pub without_ir: String,
    /// Indicator rows with the catalog counts.
    pub indicators: Vec<Row>,
    /// Rules of the catalog (for the indicator counts' caption).
    pub catalog_rules: usize,
    /// Overlapping rules of the other catalog.
    pub peers: Vec<Peer>,
    /// The other catalog's name, when comparing.
    pub other: String,
}

fn attack_table(tags: &[String]) -> (Vec<AttackRow>, Vec<String>) {
    let (map, warnings) = attack::map_tags(tags);
    let rows = map
        .into_iter()
        .map(|m| AttackRow {
            tactic: m.tactic.name,
            techniques: m
                .techniques
                .iter()
                .flat_map(|t| {
                    if t.subtechniques.is_empty() {
                        vec![(t.technique.id, t.technique.name.to_string())]
                    } else {
                        t.subtechniques
                            .iter()
                            .map(|s| (s.id, format!("{}: {}", t.technique.name, s.name)))
                            .collect()
                    }
                })
                .collect(),
        })
        .collect();
    (rows, warnings.into_iter().map(|w| w.message).collect())
}

/// The selection a predicate's key path names (`detection.sel[1].Image|endswith[2]` → `sel`).
fn selection_of(at: &str) -> Option<&str> {
    let rest = at.strip_prefix("detection.")?;
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    Some(&rest[..end])
}

fn collect<'a>(e: &'a Expr, negated: bool, out: &mut Vec<(&'a ir::Predicate, bool)>) {
    match e {
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| collect(x, negated, out)),
        Expr::Not(x) => collect(x, !negated, out),
        Expr::Pred(p) => out.push((p, negated)),
    }
}

fn pred_row(p: &ir::Predicate, negated: bool) -> PredRow {
    let (kind, value, cased) = describe(&p.test);
    PredRow {
        field: p.field.clone().unwrap_or_else(|| "(keywords)".into()),
        kind,
        value,
        cased,
        negated,
    }
}

/// The stages of a rule: the condition (or query), then each selection with the IR
/// predicates written under it; predicates from no selection (added by the pipelines, or an
/// Elastic query's) last.
fn stages(detail: &Detail, rule: Option<&ir::Rule>) -> Vec<Stage> {
    let mut preds = Vec::new();
    for c in rule.map(|r| r.conditions.as_slice()).unwrap_or_default() {
        collect(c, false, &mut preds);
    }
    let mut out = Vec::new();
    if let Some(q) = &detail.query {
        out.push(Stage {
            name: "query".into(),
            text: q.text.clone(),
            preds: preds.iter().map(|(p, n)| pred_row(p, *n)).collect(),
        });
        return out;
    }
    if !detail.conditions.is_empty() {
        out.push(Stage {
            name: "condition".into(),
            text: detail.conditions.join("\n"),
            preds: Vec::new(),
        });
    }
    let mut used = vec![false; preds.len()];
    for (name, yaml) in &detail.selections {
        let mut rows = Vec::new();
        for (k, (p, n)) in preds.iter().enumerate() {
            if selection_of(&p.at) == Some(name.as_str()) {
                used[k] = true;
                rows.push(pred_row(p, *n));
            }
        }
        out.push(Stage {
            name: name.clone(),
            text: yaml.clone(),
            preds: rows,
        });
    }
    let rest: Vec<PredRow> = preds
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|((p, n), _)| pred_row(p, *n))
        .collect();
    if !rest.is_empty() {
        out.push(Stage {
            name: "added by the pipelines".into(),
            text: String::new(),
            preds: rest,
        });
    }
    out
}

/// What the page's event coverage table shows (see [`events`]).
fn event_rows(
    detail: &Detail,
    entry: &Entry,
    routed: Option<&ir::Rule>,
    pipelines: &[String],
) -> Vec<EventRow> {
    let mut rows = Vec::new();
    if let Some(r) = &entry.rule {
        let via = if detail.query.is_some() {
            "the rule's query".to_string()
        } else if pipelines.is_empty() {
            "the rule".to_string()
        } else {
            format!("the rule through -p {}", pipelines.join(", "))
        };
        rows.extend(events::from_rule(r, &via));
    }
    if let Some(r) = routed {
        let via = "the rule through the sysmon and windows_logsources pipelines";
        rows.extend(events::from_rule(r, via));
    }
    rows.extend(events::sysmon_linux(
        detail.logsource_value("product"),
        detail.logsource_value("category"),
    ));
    if rows.iter().all(|r| r.provider.is_empty()) {
        rows.extend(events::elastic_index(&detail.index));
    }
    rows
}

/// What one page is built from.
pub struct Source<'a> {
    /// The catalog entry.
    pub entry: &'a Entry,
    /// Its index in the catalog.
    pub at: usize,
    /// Its written form.
    pub detail: &'a Detail,
    /// The rule through the Windows routing pipelines, when there is one.
    pub routed: Option<&'a ir::Rule>,
    /// The catalog's pipelines.
    pub pipelines: &'a [String],
    /// Why it has no IR rule.
    pub without_ir: Option<String>,
}

/// Builds a page (without peers: the parent module adds them once the pairs are known).
#[must_use]
pub fn build(side: &'static str, catalog: &str, path: String, s: &Source, index: &Index) -> Page {
    let (attack, attack_notes) = attack_table(&s.entry.tags);
    let rule = s.entry.rule.as_ref();
    let inds = rule.map(indicators::of_rule).unwrap_or_default();
    let ir = match rule {
        Some(r) if s.detail.query.is_some() => {
            serde_json::to_string_pretty(&r.conditions).unwrap_or_default()
        }
        Some(_) | None => String::new(),
    };
    Page {
        attack_version: attack::ATTACK_VERSION,
        side,
        catalog: catalog.to_string(),
        path,
        title: s.entry.title.clone(),
        id: s.entry.id.clone().unwrap_or_default(),
        file: s.entry.file.clone(),
        detail: s.detail.clone(),
        attack,
        attack_notes,
        events: event_rows(s.detail, s.entry, s.routed, s.pipelines),
        stages: stages(s.detail, rule),
        ir,
        without_ir: s.without_ir.clone().unwrap_or_default(),
        indicators: indicators::table(&inds, index, Some(s.at)),
        catalog_rules: index.per_rule.len(),
        peers: Vec::new(),
        other: String::new(),
    }
}
