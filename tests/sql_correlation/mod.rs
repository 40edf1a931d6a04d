//! Running a correlation query of the SQL backends on SQLite (rusqlite) over an event stream,
//! and the native engine on the same stream, each alert reduced to what both report: the
//! group-by values (text), the count or value, and `first` / `last` in epoch nanoseconds
//! (`docs/correlation-semantics.md`, "SQL"). Shared by the fixture test and the differential
//! test (each uses part of it).
#![allow(dead_code)]

use std::collections::BTreeSet;

use rusqlite::params_from_iter;
use rusqlite::types::Value as Sql;
use serde_json::{Map, Value};
use sigmat::eval::correlate::{self, Aggregate, Config};
use sigmat::eval::Val;
use sigmat::ir::Document;

use super::common;

/// An alert as both sides report it: group values, `count` / `value` (as f64), first, last
/// (epoch nanoseconds).
pub type Alert = (Vec<String>, String, i64, i64);

/// The aggregate as compared text: counts as integers, values with six decimals (engines sum
/// and interpolate in their own order; the fixtures' values are exact in binary).
fn agg_text(v: f64) -> String {
    format!("{v:.6}")
}

/// JSON events flattened into columns (`a.b` for nested objects).
fn flatten(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// The double-quoted identifiers of `sql` (every column it may read).
fn identifiers(sql: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut chars = sql.char_indices().peekable();
    let mut in_str = false;
    while let Some((i, c)) = chars.next() {
        if in_str {
            if c == '\'' {
                in_str = false;
            }
            continue;
        }
        match c {
            '\'' => in_str = true,
            '"' => {
                let mut name = String::new();
                let _ = i;
                while let Some((_, d)) = chars.next() {
                    if d == '"' {
                        if chars.peek().is_some_and(|(_, e)| *e == '"') {
                            chars.next();
                            name.push('"');
                        } else {
                            break;
                        }
                    } else {
                        name.push(d);
                    }
                }
                out.insert(name);
            }
            _ => {}
        }
    }
    out
}

/// Runs `query` (a correlation query for table `logs` with `tiebreak_column=_id`) on SQLite
/// over `events` (record number, event), reading the group-by columns `group_by`.
pub fn sqlite_alerts(query: &str, group_by: &[String], events: &[(u64, Value)]) -> Vec<Alert> {
    let db = common::sqlite_with_regexp();
    let flat: Vec<(u64, Map<String, Value>)> = events
        .iter()
        .map(|(n, e)| {
            let mut m = Map::new();
            flatten("", e, &mut m);
            (*n, m)
        })
        .collect();
    let mut cols: BTreeSet<String> = identifiers(query);
    for (_, e) in &flat {
        cols.extend(e.keys().cloned());
    }
    cols.remove("_id");
    let cols: Vec<String> = cols.into_iter().collect();
    let quoted: Vec<String> = cols
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    db.execute(
        &format!("CREATE TABLE logs (\"_id\" INTEGER, {})", quoted.join(", ")),
        [],
    )
    .expect("create table");
    let marks = vec!["?"; cols.len() + 1].join(", ");
    let mut insert = db
        .prepare(&format!("INSERT INTO logs VALUES ({marks})"))
        .expect("insert statement");
    for (n, e) in &flat {
        let mut row = vec![Sql::Integer(*n as i64)];
        row.extend(
            cols.iter()
                .map(|c| e.get(c).map_or(Sql::Null, common::sql_value)),
        );
        insert.execute(params_from_iter(row)).expect("insert event");
    }
    let mut stmt = db
        .prepare(query)
        .unwrap_or_else(|e| panic!("SQLite refuses the query: {e}\n{query}"));
    let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
    let at = |n: &str| names.iter().position(|c| c == n);
    let agg = at("count")
        .or_else(|| at("value"))
        .expect("count or value column");
    let (first, last) = (at("first").expect("first"), at("last").expect("last"));
    let groups: Vec<usize> = group_by
        .iter()
        .map(|g| at(g).unwrap_or_else(|| panic!("no column {g} in {names:?}")))
        .collect();
    let rows = stmt
        .query_map([], |r| {
            let text = |i: usize| -> rusqlite::Result<String> {
                Ok(match r.get::<_, Sql>(i)? {
                    Sql::Text(s) => s,
                    Sql::Integer(n) => n.to_string(),
                    Sql::Real(x) => x.to_string(),
                    Sql::Null | Sql::Blob(_) => "NULL".into(),
                })
            };
            let v: f64 = match r.get::<_, Sql>(agg)? {
                Sql::Integer(n) => n as f64,
                Sql::Real(x) => x,
                Sql::Null | Sql::Text(_) | Sql::Blob(_) => f64::NAN,
            };
            Ok((
                groups
                    .iter()
                    .map(|&i| text(i))
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                agg_text(v),
                r.get::<_, i64>(first)?,
                r.get::<_, i64>(last)?,
            ))
        })
        .unwrap_or_else(|e| panic!("SQLite fails on the query: {e}\n{query}"));
    let mut out: Vec<Alert> = rows.map(|r| r.expect("row")).collect();
    out.sort();
    out
}

/// The native alerts of every correlation of `docs` over `events` (in record order, no
/// lateness bound: SQL sees the whole table), by correlation label.
pub fn native_alerts(
    docs: Vec<Document>,
    events: &[(u64, Value)],
) -> std::collections::BTreeMap<String, Vec<Alert>> {
    let config = Config {
        max_lateness: i64::MAX / 4,
        max_records: usize::MAX,
        ..Config::default()
    };
    let (set, mut corr, errors) = correlate::compile_documents(docs, config);
    assert!(errors.is_empty(), "{errors:?}");
    let mut alerts = Vec::new();
    for (seq, e) in events {
        let line = e.to_string();
        let ev = Val::parse(&line).expect("event");
        let m = set.matches(&ev);
        if let Some(ex) = corr.extract(&ev, &m) {
            corr.push(*seq, ex, &mut alerts);
        }
    }
    corr.finish(&mut alerts);
    let mut out: std::collections::BTreeMap<String, Vec<Alert>> = Default::default();
    for a in &alerts {
        let v = match a.aggregate {
            Aggregate::Count(n) => n as f64,
            Aggregate::Value(v) => v,
        };
        out.entry(corr.label(a.correlation).to_string())
            .or_default()
            .push((
                a.group.iter().map(|(_, v)| v.clone()).collect(),
                agg_text(v),
                a.first,
                a.last,
            ));
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// Converts every correlation of the rule set `yaml` to `sqlite` and runs it on `events`:
/// each must give exactly the native alerts, except a correlation over correlations, which
/// must be refused. Returns the number of alerts compared, by correlation label.
pub fn sqlite_equals_native(
    yaml: &str,
    events: &[(u64, Value)],
) -> std::collections::BTreeMap<String, usize> {
    use sigmat::session::{Outcome, Session};
    let session = Session::builder()
        .target("sqlite")
        .option("tiebreak_column", "_id")
        .build()
        .expect("session");
    let docs: Vec<Document> = session
        .load_str(yaml, "diff.yml")
        .documents()
        .0
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    let native = native_alerts(docs, events);
    let batch = session.load_str(yaml, "diff.yml");
    let items = session.convert(&batch).expect("convert");
    let mut compared = std::collections::BTreeMap::new();
    for item in &items {
        let Ok(Document::Correlation(c)) = &item.entry.doc else {
            continue;
        };
        let label = c.meta.name.clone().expect("named");
        let query = match &item.outcome {
            Outcome::Converted(conv) => conv.queries[0].clone(),
            Outcome::Unsupported(e) | Outcome::Failed(e) => {
                let text = e.render();
                assert!(
                    text.contains("a correlation over correlations"),
                    "`{label}` not converted: {text}"
                );
                continue;
            }
        };
        let got = sqlite_alerts(&query, &c.group_by, events);
        let want = native.get(&label).cloned().unwrap_or_default();
        assert_eq!(
            got, want,
            "`{label}`: SQLite (left) and native (right) alerts differ\n{yaml}\n{query}"
        );
        compared.insert(label, got.len());
    }
    compared
}
