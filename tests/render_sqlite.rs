//! SQL verified by execution: every fixture of `rules/adversarial/` (escaping) and
//! `rules/semantics/` (IR meaning on SQL engines) is converted to `sqlite` and run with rusqlite against the events listed in its `sigmat_expect` key: each
//! `match` event must be selected, no `nomatch` event may be. An event is a map of column
//! values (missing key = NULL column); `_skip: [backend...]` leaves it out for a backend that
//! declares (with a warning) that it cannot honour it.

mod common;
mod eval_reference;

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::params_from_iter;
use serde_json::Value as Json;
use sigmat::ir::{Document, Rule};
use sigmat::render::{Backend, Options};
use sigmat::sigma;

fn fixtures() -> Vec<Rule> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = ["rules/adversarial", "rules/semantics"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).expect("fixture folder exists"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        for d in sigma::load_file(&f) {
            match d.expect("adversarial fixture parses") {
                Document::Rule(r) => out.push(r),
                other => panic!("unexpected document in {}: {other:?}", f.display()),
            }
        }
    }
    assert!(out.len() >= 10, "execution fixtures found: {}", out.len());
    out
}

/// The events of `rule` for `backend`: (expected to match, event).
pub fn events(rule: &Rule, backend: &str) -> Vec<(bool, serde_json::Map<String, Json>)> {
    let expect = rule
        .meta
        .custom
        .get("sigmat_expect")
        .unwrap_or_else(|| panic!("{}: no sigmat_expect", rule.meta.title));
    let mut out = Vec::new();
    for (key, want) in [("match", true), ("nomatch", false)] {
        for ev in expect[key].as_array().cloned().unwrap_or_default() {
            let mut ev = ev.as_object().cloned().expect("event is a map");
            let skip = ev.remove("_skip");
            let skipped = skip
                .and_then(|s| s.as_array().cloned())
                .is_some_and(|s| s.iter().any(|b| b.as_str() == Some(backend)));
            if !skipped {
                out.push((want, ev));
            }
        }
    }
    out
}

#[test]
fn adversarial_fixtures_execute_on_sqlite() {
    let backend = Backend::builtin("sqlite").expect("sqlite backend");
    let mut checked = 0usize;
    for rule in fixtures() {
        let conv = backend
            .convert(&rule, &Options::new())
            .unwrap_or_else(|e| panic!("{}: {}", rule.meta.title, e.render()));
        let evs = events(&rule, "sqlite");
        let mut cols: BTreeSet<String> = rule.fields().iter().map(|s| (*s).to_string()).collect();
        cols.insert("_raw".into());
        for (_, ev) in &evs {
            cols.extend(ev.keys().cloned());
        }
        let db = common::sqlite_with_regexp();
        let cols: Vec<String> = cols.into_iter().collect();
        let quoted: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
        db.execute(
            &format!("CREATE TABLE logs (\"_id\" INTEGER, {})", quoted.join(", ")),
            [],
        )
        .expect("create table");
        for (i, (_, ev)) in evs.iter().enumerate() {
            let mut values = vec![rusqlite::types::Value::Integer(i as i64)];
            values.extend(cols.iter().map(|c| {
                ev.get(c)
                    .map_or(rusqlite::types::Value::Null, common::sql_value)
            }));
            let marks = vec!["?"; values.len()].join(", ");
            db.execute(
                &format!("INSERT INTO logs VALUES ({marks})"),
                params_from_iter(values),
            )
            .expect("insert event");
        }
        let mut hits = BTreeSet::new();
        for q in &conv.queries {
            let mut stmt = db
                .prepare(q)
                .unwrap_or_else(|e| panic!("{}: {e}\n{q}", rule.meta.title));
            let idx = stmt.column_index("_id").expect("_id column");
            let rows = stmt
                .query_map([], |r| r.get::<_, i64>(idx))
                .unwrap_or_else(|e| panic!("{}: {e}\n{q}", rule.meta.title));
            for r in rows {
                hits.insert(r.expect("row"));
            }
        }
        for (i, (want, ev)) in evs.iter().enumerate() {
            let got = hits.contains(&(i as i64));
            assert_eq!(
                got,
                *want,
                "{}: event {ev:?} should {}match\n{}",
                rule.meta.title,
                if *want { "" } else { "not " },
                conv.queries.join("\n")
            );
            checked += 1;
        }
    }
    assert!(checked > 60, "events checked: {checked}");
}

/// Fix: a rule with a long list of patterns on one field became an OR chain that SQLite
/// refuses (`Expression tree is too large (maximum depth 1000)`; four SigmaHQ rules). Such lists
/// are written as a table of patterns; the verdicts must equal the IR's (reference evaluator),
/// case-insensitive and `cased`, plain and negated.
#[test]
fn long_pattern_lists_execute_on_sqlite() {
    let values: Vec<String> = (0..1500).map(|i| format!("'tok{i}_x%'")).collect();
    let list = values.join(", ");
    let events: Json = [
        serde_json::json!({"CommandLine": "run TOK7_X% now"}),
        serde_json::json!({"CommandLine": "run tok1499_x% now"}),
        serde_json::json!({"CommandLine": "run tok1500_x% now"}),
        serde_json::json!({"CommandLine": "tok7_xa"}),
        serde_json::json!({"CommandLine": "nothing"}),
        serde_json::json!({"Other": "tok7_x%"}),
    ]
    .into_iter()
    .collect();
    let mut checked = 0;
    for (modifier, condition) in [
        ("contains", "sel"),
        ("contains", "not sel"),
        ("contains|cased", "sel"),
        ("contains|cased", "not sel"),
        ("startswith", "sel"),
    ] {
        let src = format!(
            "title: long list\nlogsource: {{category: process_creation}}\ndetection:\n  sel:\n    CommandLine|{modifier}: [{list}]\n  condition: {condition}\n"
        );
        let rule = match sigma::parse_str(&src, None).remove(0).expect("rule parses") {
            Document::Rule(r) => r,
            other => panic!("not a rule: {other:?}"),
        };
        let conv = Backend::builtin("sqlite")
            .expect("sqlite backend")
            .convert(&rule, &Options::new())
            .expect("converts");
        let q = &conv.queries[0];
        assert!(q.contains("EXISTS"), "a table of patterns: {}", &q[..200]);
        let db = common::sqlite_with_regexp();
        db.execute(
            "CREATE TABLE logs (\"_id\" INTEGER, \"CommandLine\", \"Other\")",
            [],
        )
        .expect("create table");
        for (i, ev) in events.as_array().expect("events").iter().enumerate() {
            let col = |c: &str| {
                ev.get(c)
                    .map_or(rusqlite::types::Value::Null, common::sql_value)
            };
            db.execute(
                "INSERT INTO logs VALUES (?, ?, ?)",
                params_from_iter([
                    rusqlite::types::Value::Integer(i as i64),
                    col("CommandLine"),
                    col("Other"),
                ]),
            )
            .expect("insert event");
        }
        let mut stmt = db
            .prepare(q)
            .unwrap_or_else(|e| panic!("{modifier} {condition}: {e}"));
        let idx = stmt.column_index("_id").expect("_id column");
        let hits: BTreeSet<i64> = stmt
            .query_map([], |r| r.get::<_, i64>(idx))
            .expect("query runs")
            .map(|r| r.expect("row"))
            .collect();
        for (i, ev) in events.as_array().expect("events").iter().enumerate() {
            let want = eval_reference::rule(&rule, ev).expect("modelled");
            assert_eq!(
                hits.contains(&(i as i64)),
                want,
                "{modifier} {condition}: event {ev}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 30);
}
