//! ATT&CK Navigator layers, format 4.5 (`versions.layer` "4.5", `domain` "enterprise-attack",
//! `versions.attack` the embedded ATT&CK release's major version).
//!
//! A catalog layer scores each technique by its number of rules and lists their titles in the
//! technique's `comment`. Sub-techniques are rolled up as the Navigator shows them: a
//! sub-technique's cell counts the rules naming it; its parent's cell counts the rules naming
//! the parent *or any of its sub-techniques* (each rule once) and has `showSubtechniques` set
//! when a sub-technique has a cell. The Navigator's own aggregation is left off
//! (`showAggregateScores` false), so no rule is counted twice.
//!
//! A comparison layer colours each technique cell by which catalog covers it: A only, B only,
//! both (three colours, a legend), with both counts in the comment.
//!
//! Tags with no v18.1 technique are listed in the layer's `metadata` ("unknown technique
//! tag"), and v19 tags translated through the crosswalk are counted there too.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Coverage, Entry};
use crate::attack::{self, ATTACK_VERSION};

/// The Navigator version the layers declare (4.5 layers need at least 4.9.0).
pub const NAVIGATOR_VERSION: &str = "5.2.0";

/// Colours of a comparison layer: A only, B only, both.
pub const COMPARE_COLORS: [&str; 3] = ["#fc8d59", "#91bfdb", "#99d594"];

fn versions() -> Value {
    let major = ATTACK_VERSION.split('.').next().unwrap_or(ATTACK_VERSION);
    json!({ "attack": major, "navigator": NAVIGATOR_VERSION, "layer": "4.5" })
}

fn description(what: &str) -> String {
    format!(
        "{what}. ATT&CK v{ATTACK_VERSION} (enterprise); ATT&CK v19 technique tags are brought to v{ATTACK_VERSION} through Elastic's v18-to-v19 crosswalk, tags with no v{ATTACK_VERSION} technique are listed in the metadata. Parent cells count the rules of the technique and its sub-techniques, each once."
    )
}

/// The comment of a cell: the count and the titles, sorted.
fn titles(entries: &[Entry], rules: impl Iterator<Item = usize>) -> Vec<&str> {
    let mut t: Vec<&str> = rules.map(|i| entries[i].title.as_str()).collect();
    t.sort_unstable();
    t
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The layer's `metadata`: unknown tags (tag and rule count) and crosswalk translations.
fn metadata(label: &str, c: &Coverage) -> Vec<Value> {
    let mut out = Vec::new();
    let mut unknown: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for u in &c.unknown {
        let e = unknown
            .entry(u.tag.as_str())
            .or_insert((0, u.reason.as_str()));
        e.0 += 1;
    }
    for (tag, (n, reason)) in unknown {
        out.push(json!({
            "name": format!("{label}unknown technique tag"),
            "value": format!("{tag} ({n} rule{}): {reason}", plural(n)),
        }));
    }
    let mut moved: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (tag, id, _) in &c.translated {
        *moved.entry((tag.as_str(), id)).or_default() += 1;
    }
    for ((tag, id), n) in moved {
        out.push(json!({
            "name": format!("{label}ATT&CK v19 tag read as v{ATTACK_VERSION}"),
            "value": format!("{tag} -> {id} ({n} rule{})", plural(n)),
        }));
    }
    out
}

fn has_sub_cell(c: &Coverage, parent: &str) -> bool {
    c.direct
        .keys()
        .any(|id| id.split_once('.').is_some_and(|(p, _)| p == parent))
}

fn base(name: &str, description: String) -> serde_json::Map<String, Value> {
    let v = json!({
        "name": name,
        "versions": versions(),
        "domain": "enterprise-attack",
        "description": description,
        "sorting": 3,
        "layout": {
            "layout": "side",
            "aggregateFunction": "max",
            "showID": true,
            "showName": true,
            "showAggregateScores": false,
            "countUnscored": false,
            "expandedSubtechniques": "annotated"
        },
        "hideDisabled": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false,
    });
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// The layer of one catalog: score = rule count, titles in the comment.
#[must_use]
pub fn catalog_layer(name: &str, entries: &[Entry], c: &Coverage) -> Value {
    let mut techniques = Vec::new();
    let mut max = 0;
    for id in c.cells() {
        let Some(rules) = c.rules_of(id) else {
            continue;
        };
        max = max.max(rules.len());
        let t = titles(entries, rules.iter().copied());
        let mut cell = json!({
            "techniqueID": id,
            "score": rules.len(),
            "comment": format!("{} rule{}: {}", t.len(), plural(t.len()), t.join("; ")),
            "enabled": true,
        });
        if !id.contains('.') && has_sub_cell(c, id) {
            cell["showSubtechniques"] = Value::Bool(true);
        }
        techniques.push(cell);
    }
    let mut m = base(
        name,
        description(&format!(
            "Rules per ATT&CK technique: {} rules, {} techniques and sub-techniques",
            entries.len(),
            techniques.len()
        )),
    );
    m.insert("techniques".into(), Value::Array(techniques));
    m.insert(
        "gradient".into(),
        json!({ "colors": ["#ffffff", "#66b1ff", "#0047ab"], "minValue": 0, "maxValue": max.max(1) }),
    );
    m.insert("legendItems".into(), json!([]));
    m.insert("metadata".into(), Value::Array(metadata("", c)));
    Value::Object(m)
}

/// Which catalog covers a technique cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Only catalog A.
    AOnly,
    /// Only catalog B.
    BOnly,
    /// Both.
    Both,
}

/// Every technique cell of two catalogs with the side covering it and both rule counts.
#[must_use]
pub fn sides(a: &Coverage, b: &Coverage) -> Vec<(&'static str, Side, usize, usize)> {
    let mut ids = a.cells();
    ids.extend(b.cells());
    ids.into_iter()
        .map(|id| {
            let na = a.rules_of(id).map_or(0, std::collections::BTreeSet::len);
            let nb = b.rules_of(id).map_or(0, std::collections::BTreeSet::len);
            let side = match (na > 0, nb > 0) {
                (true, false) => Side::AOnly,
                (false, true) => Side::BOnly,
                _ => Side::Both,
            };
            (id, side, na, nb)
        })
        .collect()
}

/// The comparison layer of catalogs A and B (names in the legend).
#[must_use]
pub fn compare_layer(
    names: (&str, &str),
    (ea, a): (&[Entry], &Coverage),
    (eb, b): (&[Entry], &Coverage),
) -> Value {
    let (na, nb) = names;
    let mut techniques = Vec::new();
    let mut counts = [0usize; 3];
    for (id, side, ca, cb) in sides(a, b) {
        let k = match side {
            Side::AOnly => 0,
            Side::BOnly => 1,
            Side::Both => 2,
        };
        counts[k] += 1;
        let list = |e: &[Entry], c: &Coverage| {
            let t = c
                .rules_of(id)
                .map(|r| titles(e, r.iter().copied()).join("; "))
                .unwrap_or_default();
            t
        };
        let mut cell = json!({
            "techniqueID": id,
            "color": COMPARE_COLORS[k],
            "comment": format!("{na}: {ca} rule{} {}\n{nb}: {cb} rule{} {}", plural(ca), list(ea, a), plural(cb), list(eb, b)),
            "enabled": true,
        });
        if !id.contains('.') && (has_sub_cell(a, id) || has_sub_cell(b, id)) {
            cell["showSubtechniques"] = Value::Bool(true);
        }
        techniques.push(cell);
    }
    let mut m = base(
        &format!("{na} vs {nb}"),
        description(&format!(
            "Techniques covered by {na} only ({}), {nb} only ({}), both ({})",
            counts[0], counts[1], counts[2]
        )),
    );
    m.insert("techniques".into(), Value::Array(techniques));
    m.insert(
        "legendItems".into(),
        json!([
            { "label": format!("{na} only"), "color": COMPARE_COLORS[0] },
            { "label": format!("{nb} only"), "color": COMPARE_COLORS[1] },
            { "label": "both", "color": COMPARE_COLORS[2] },
        ]),
    );
    let mut meta = metadata(&format!("{na}: "), a);
    meta.extend(metadata(&format!("{nb}: "), b));
    m.insert("metadata".into(), Value::Array(meta));
    Value::Object(m)
}

/// The tactic short names of a technique (for the heat map and reports).
#[must_use]
pub fn tactics_of(id: &str) -> Vec<&'static str> {
    attack::technique(id)
        .map(|t| t.tactics.iter().map(|x| x.short).collect())
        .unwrap_or_default()
}
