//! Differential test: for the fixture rules in `rules/` and a sample of the SigmaHQ catalog,
//! events are generated from each rule — one that must match, one that must not, and near
//! misses of the matching one (flipped case, one character off, missing field, array forms,
//! nested form of dotted fields) — and the native verdicts are compared with the reference
//! evaluator (`tests/eval_reference`), rule by rule and through one prefiltered `RuleSet`,
//! and with the `sqlite` backend's SQL run by rusqlite on the events a table can hold.

mod common;
mod eval_reference;
mod events_gen;

use std::collections::HashSet;
use std::path::PathBuf;

use events_gen::{satisfy, variants, Gen};
use serde_json::{json, Value};
use sigmat::eval::{compile_rule, RuleSet, Val};
use sigmat::ir::{Document, Expr, Rule};

fn shared_rules() -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))];
    if let Some(shared) = common::shared_or_skip("catalog part of eval_differential") {
        let mut files: Vec<PathBuf> = Vec::new();
        for top in [
            "rules",
            "rules-emerging-threats",
            "rules-threat-hunting",
            "rules-placeholder",
        ] {
            files.extend(
                walkdir::WalkDir::new(shared.join("corpus/sigma").join(top))
                    .sort_by_file_name()
                    .into_iter()
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "yml"))
                    .map(|e| e.path().to_path_buf()),
            );
        }
        // A fixed sample: every 6th file.
        paths.extend(files.into_iter().step_by(6));
    }
    paths
}

#[test]
fn native_verdicts_agree_with_the_reference() {
    let mut rules: Vec<Rule> = Vec::new();
    for (_, docs) in sigmat::sigma::load_paths(&shared_rules()) {
        for d in docs.into_iter().flatten() {
            if let Document::Rule(r) = d {
                rules.push(r);
            }
        }
    }
    let mut events: Vec<(usize, &'static str, Value)> = Vec::new();
    let mut compiled = Vec::new();
    let mut modelled = 0;
    let mut positives = 0;
    let mut refused = 0;
    for (i, r) in rules.iter().enumerate() {
        let c = match compile_rule(r) {
            Ok(c) => Some(c),
            Err(e) => {
                assert_eq!(e.kind.code(), "unresolved_placeholder", "{}", e.render());
                refused += 1;
                None
            }
        };
        compiled.push(c);
        if compiled[i].is_none() || eval_reference::rule(r, &json!({})).is_none() {
            continue;
        }
        modelled += 1;
        for (want, kind) in [(true, "match"), (false, "no match")] {
            let cond = Expr::or(r.conditions.clone());
            let mut g = Gen::default();
            if satisfy(&cond, want, &mut g) {
                let e = Value::Object(g.ev.clone());
                if want && eval_reference::rule(r, &e) == Some(true) {
                    positives += 1;
                    for v in variants(&g) {
                        events.push((i, "near miss", v));
                    }
                }
                events.push((i, kind, e));
            }
        }
    }
    let mut checked = 0;
    let mut native_true = 0;
    for (i, kind, e) in &events {
        let Some(c) = &compiled[*i] else { continue };
        let want = eval_reference::rule(&rules[*i], e);
        let got = c.is_match(e);
        assert_eq!(
            Some(got),
            want,
            "{kind} event for {:?} ({}):\n{e}",
            rules[*i].meta.title,
            rules[*i].origin.file.as_deref().unwrap_or("?")
        );
        checked += 1;
        native_true += usize::from(got);
    }
    // All rules at once through the prefilter: every event, every rule.
    let keep: Vec<usize> = (0..rules.len())
        .filter(|&i| compiled[i].is_some())
        .collect();
    let (set, errors) = RuleSet::compile(keep.iter().map(|&i| rules[i].clone()).collect());
    assert!(errors.is_empty());
    for (_, _, e) in &events {
        let want: Vec<usize> = (0..keep.len())
            .filter(|&k| compiled[keep[k]].as_ref().unwrap().is_match(e))
            .collect();
        assert_eq!(set.matches(e), want, "rule set on {e}");
        // The same event read from its JSON text, as `sigmat eval` reads events.
        let text = e.to_string();
        let parsed = Val::parse(&text).expect("valid JSON");
        assert_eq!(
            set.matches(&parsed),
            want,
            "rule set on {text} parsed as Val"
        );
    }
    let (sql_rules, sql_events, sql_hits, sql_nulls) = sqlite_agrees(&rules, &compiled, &events);
    eprintln!(
        "sqlite: {sql_rules} rules, {sql_events} events ({sql_hits} selected, {sql_nulls} with a \
         null-valued field) agree with the native verdicts"
    );
    assert!(
        sql_nulls * 10 > sql_events,
        "too few null-valued events compared through sqlite: {sql_nulls}"
    );
    assert!(
        sql_events > 200,
        "too few events compared through sqlite: {sql_events}"
    );
    assert!(
        sql_hits * 5 > sql_events,
        "too few matching events through sqlite: {sql_hits}"
    );
    eprintln!(
        "differential: {} rules ({refused} refused for placeholders, {modelled} modelled), \
         {positives} with a generated match, {checked} events checked ({native_true} matching)",
        rules.len()
    );
    assert!(
        positives * 10 >= modelled * 8,
        "too few generated matches: {positives}/{modelled}"
    );
    // The fixtures alone give about 700 events; with the catalog sample, about 10,000.
    assert!(checked > 500, "only {checked} events checked");
}

/// Whether an event can be a row: flat scalars or `null` (a SQL `NULL`, which the IR treats
/// as no value, like a missing field), no arrays or objects, and ASCII text (SQLite folds
/// ASCII case only, as its backend warns).
fn tabular(e: &Value) -> bool {
    e.as_object().is_some_and(|m| {
        m.values().all(|v| {
            matches!(
                v,
                Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
            )
        })
    }) && e.to_string().is_ascii()
}

/// The same events through the `sqlite` backend's SQL, executed by rusqlite: for every rule
/// the backend converts without a warning and without keywords, and every tabular event,
/// the SQL selects the event exactly when the native evaluator matches it. Returns the rules
/// and events compared, the events selected and the events holding a null-valued field.
fn sqlite_agrees(
    rules: &[Rule],
    compiled: &[Option<sigmat::eval::CompiledRule>],
    events: &[(usize, &'static str, Value)],
) -> (usize, usize, usize, usize) {
    let mut per_rule: Vec<Vec<&Value>> = vec![Vec::new(); rules.len()];
    for (i, _, e) in events {
        if tabular(e) {
            per_rule[*i].push(e);
        }
    }
    let (mut n_rules, mut n_events, mut n_hits, mut n_nulls) = (0, 0, 0, 0);
    for (i, rule) in rules.iter().enumerate() {
        let Some(native) = &compiled[i] else { continue };
        let evs = &per_rule[i];
        if evs.is_empty() {
            continue;
        }
        let Some((hits, queries)) = sqlite_select(rule, evs) else {
            continue;
        };
        for (k, e) in evs.iter().enumerate() {
            assert_eq!(
                hits.contains(&k),
                native.is_match(*e),
                "sqlite and native disagree on {} ({}):\n{e}\n{}",
                rule.meta.title,
                rule.origin.file.as_deref().unwrap_or("?"),
                queries.join("\n")
            );
            n_events += 1;
            n_hits += usize::from(hits.contains(&k));
            n_nulls += usize::from(e.as_object().unwrap().values().any(Value::is_null));
        }
        n_rules += 1;
    }
    (n_rules, n_events, n_hits, n_nulls)
}

/// Runs the `sqlite` backend's SQL for `rule` on a table holding `evs` (one column per field,
/// a missing field or JSON `null` is SQL `NULL`): the indexes of the events selected, and the
/// queries. `None` when the rule uses keywords or the backend refuses it or warns.
fn sqlite_select(rule: &Rule, evs: &[&Value]) -> Option<(HashSet<usize>, Vec<String>)> {
    use sigmat::render::{Backend, Options};
    let mut keywords = false;
    for c in &rule.conditions {
        c.for_each_pred(&mut |p| keywords |= p.field.is_none());
    }
    if keywords {
        return None;
    }
    let backend = Backend::builtin("sqlite").expect("sqlite backend");
    let conv = backend.convert(rule, &Options::new()).ok()?;
    if !conv.warnings.is_empty() {
        return None;
    }
    let db = common::sqlite_with_regexp();
    let mut cols: std::collections::BTreeSet<String> =
        rule.fields().iter().map(|s| (*s).to_string()).collect();
    cols.insert("_raw".into());
    for e in evs {
        cols.extend(e.as_object().unwrap().keys().cloned());
    }
    let cols: Vec<String> = cols.into_iter().collect();
    let quoted: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
    db.execute(
        &format!("CREATE TABLE logs (\"_id\" INTEGER, {})", quoted.join(", ")),
        [],
    )
    .expect("create table");
    for (k, e) in evs.iter().enumerate() {
        let m = e.as_object().unwrap();
        let mut values = vec![rusqlite::types::Value::Integer(k as i64)];
        values.extend(cols.iter().map(|c| {
            m.get(c)
                .map_or(rusqlite::types::Value::Null, common::sql_value)
        }));
        let marks = vec!["?"; values.len()].join(", ");
        db.execute(
            &format!("INSERT INTO logs VALUES ({marks})"),
            rusqlite::params_from_iter(values),
        )
        .expect("insert");
    }
    let mut hits = HashSet::new();
    for q in &conv.queries {
        let mut stmt = db
            .prepare(q)
            .unwrap_or_else(|e| panic!("{}: {e}\n{q}", rule.meta.title));
        let idx = stmt.column_index("_id").expect("_id");
        for r in stmt.query_map([], |r| r.get::<_, i64>(idx)).expect("query") {
            hits.insert(usize::try_from(r.expect("row")).expect("row id"));
        }
    }
    Some((hits, conv.queries))
}

/// `exists` and `null` on null-valued fields (issue 11, item 8): a JSON `null` is no value, as
/// every target stores it. The native evaluator, the reference evaluator and SQLite (for the
/// events a table can hold) give the verdicts the IR docs state.
#[test]
fn exists_and_null_treat_json_null_as_no_value() {
    let rule_for = |field: &str, test: &str| -> Rule {
        let text = format!(
            "title: t\nlogsource: {{product: p}}\ndetection:\n  sel:\n    {field}{test}\n  condition: sel\n"
        );
        match sigmat::sigma::parse_str(&text, Some("exists_null.yml")).remove(0) {
            Ok(Document::Rule(r)) => r,
            other => panic!("{text}: {other:?}"),
        }
    };
    // (event, has a value at `a`): the IR's definition, written out.
    let cases = [
        (json!({}), false),
        (json!({"a": null}), false),
        (json!({"a": []}), false),
        (json!({"a": [null]}), false),
        (json!({"a": [null, [null]]}), false),
        (json!({"a": [null, "x"]}), true),
        (json!({"a": "x"}), true),
        (json!({"a": ""}), true),
        (json!({"a": 0}), true),
        (json!({"a": false}), true),
        (json!({"a": {"b": null}}), true),
        (json!({"b": null}), false),
    ];
    let tests = [
        ("|exists: true", true),
        ("|exists: false", false),
        (": null", false),
    ];
    let mut sql_checked = 0;
    for field in ["a", "p.a"] {
        for (test, holds_with_value) in tests {
            let rule = rule_for(field, test);
            let native = compile_rule(&rule).expect("compiles");
            let mut tabular_events = Vec::new();
            let mut want_sql = Vec::new();
            for (event, has_value) in &cases {
                // The same event with `a` nested under `p` for the dotted field.
                let event = if field == "a" {
                    event.clone()
                } else {
                    json!({ "p": event })
                };
                let want = *has_value == holds_with_value;
                let p = &rule.conditions[0];
                assert_eq!(
                    native.is_match(&event),
                    want,
                    "native: {field}{test} on {event}"
                );
                assert_eq!(
                    eval_reference::expr(p, &event),
                    Some(want),
                    "reference: {field}{test} on {event}"
                );
                let text = event.to_string();
                assert_eq!(
                    native.is_match(&Val::parse(&text).unwrap()),
                    want,
                    "native on Val: {field}{test} on {text}"
                );
                if tabular(&event) {
                    tabular_events.push(event);
                    want_sql.push(want);
                }
            }
            if field == "a" {
                let refs: Vec<&Value> = tabular_events.iter().collect();
                let (hits, queries) = sqlite_select(&rule, &refs).expect("sqlite converts");
                for (k, e) in tabular_events.iter().enumerate() {
                    assert_eq!(
                        hits.contains(&k),
                        want_sql[k],
                        "sqlite: {field}{test} on {e}\n{}",
                        queries.join("\n")
                    );
                    sql_checked += 1;
                }
            }
        }
    }
    assert!(sql_checked >= 15, "sqlite events checked: {sql_checked}");
}
