//! Differential test: for the fixture rules in `rules/` and a sample of the SigmaHQ catalog,
//! events are generated from each rule — one that must match, one that must not, and near
//! misses of the matching one (flipped case, one character off, missing field, array forms,
//! nested form of dotted fields) — and the native verdicts are compared with the reference
//! evaluator (`tests/eval_reference`), rule by rule and through one prefiltered `RuleSet`,
//! and with the `sqlite` backend's SQL run by rusqlite on the events a table can hold.

mod common;
mod eval_reference;

use std::collections::HashSet;
use std::path::PathBuf;

use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{json, Map, Value};
use sigmat::eval::{compile_rule, RuleSet, Val};
use sigmat::ir::{CmpOp, Document, Expr, Piece, Predicate, Rule, Test};

/// Event under construction: fields set so far and fields that must stay missing.
#[derive(Clone, Default)]
struct Gen {
    ev: Map<String, Value>,
    missing: HashSet<String>,
    keywords: usize,
    /// Fields set from string tests, for near misses.
    strings: Vec<String>,
}

fn render(p: &sigmat::ir::Pattern) -> String {
    p.pieces()
        .iter()
        .map(|pc| match pc {
            Piece::Lit(s) => s.clone(),
            Piece::AnyMany => String::new(),
            Piece::AnyOne => "x".into(),
            Piece::Placeholder(_) => "placeholder".into(),
        })
        .collect()
}

/// A string matching `hir` when the simple choices work (checked by the caller).
fn sample(h: &Hir, out: &mut String) {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(l) => out.push_str(&String::from_utf8_lossy(&l.0)),
        HirKind::Class(Class::Unicode(c)) => {
            if let Some(r) = c.iter().next() {
                let ch = if r.start() <= 'a' && 'a' <= r.end() {
                    'a'
                } else {
                    r.start()
                };
                out.push(ch);
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            if let Some(r) = c.iter().next() {
                out.push(char::from(r.start()));
            }
        }
        HirKind::Repetition(r) => {
            for _ in 0..r.min.max(u32::from(r.min == 0 && r.max != Some(0))) {
                sample(&r.sub, out);
            }
        }
        HirKind::Capture(c) => sample(&c.sub, out),
        HirKind::Concat(xs) => xs.iter().for_each(|x| sample(x, out)),
        HirKind::Alternation(xs) => sample(&xs[0], out),
    }
}

fn value_for(t: &Test) -> Option<Value> {
    Some(match t {
        Test::Str { pattern, .. } => Value::String(render(pattern)),
        Test::Regex { pattern, flags } => {
            let hir = regex_syntax::ParserBuilder::new()
                .case_insensitive(flags.ignore_case)
                .multi_line(flags.multi_line)
                .dot_matches_new_line(flags.dot_all)
                .build()
                .parse(pattern)
                .ok()?;
            let mut s = String::new();
            sample(&hir, &mut s);
            Value::String(s)
        }
        Test::Num { op, value } => {
            let n: f64 = value.text.parse().ok()?;
            let v = match op {
                CmpOp::Eq | CmpOp::Lte | CmpOp::Gte => n,
                CmpOp::Lt => n - 1.0,
                CmpOp::Gt | CmpOp::Neq => n + 1.0,
            };
            if v.fract() == 0.0 && v.abs() < 1e15 {
                json!(v as i64)
            } else {
                json!(v)
            }
        }
        Test::Bool(b) => json!(b),
        Test::Exists(true) => json!("present"),
        Test::Cidr(net) => {
            let net: ipnet::IpNet = net.parse().ok()?;
            json!(net.trunc().network().to_string())
        }
        Test::Null | Test::Exists(false) | Test::FieldRef { .. } | Test::TimePart { .. } => {
            return None
        }
    })
}

/// Tries to make `x` evaluate to `want` on `g` (checked afterwards by the reference).
fn satisfy(x: &Expr, want: bool, g: &mut Gen) -> bool {
    match (x, want) {
        (Expr::Not(x), w) => satisfy(x, !w, g),
        (Expr::And(xs), true) | (Expr::Or(xs), false) => xs.iter().all(|x| satisfy(x, want, g)),
        (Expr::And(xs), false) | (Expr::Or(xs), true) => {
            for x in xs {
                let mut h = g.clone();
                if satisfy(x, want, &mut h)
                    && eval_reference::expr(x, &Value::Object(h.ev.clone())) == Some(want)
                {
                    *g = h;
                    return true;
                }
            }
            false
        }
        (Expr::Pred(p), want) => satisfy_pred(p, want, g),
    }
}

fn satisfy_pred(p: &Predicate, want: bool, g: &mut Gen) -> bool {
    let Some(f) = p.field.clone() else {
        if want {
            let Some(v) = value_for(&p.test) else {
                return false;
            };
            g.keywords += 1;
            g.ev.insert(format!("kw{}", g.keywords), v);
        }
        return true;
    };
    if let Some(old) = g.ev.get(&f).cloned() {
        if eval_reference::pred(p, &Value::Object(g.ev.clone())) == Some(want) {
            return true;
        }
        // Two string tests on one field (`contains|all`, `startswith` + `endswith`): try the
        // values joined, either way round.
        if let (true, Some(Value::String(old)), Some(Value::String(new))) =
            (want, Some(&old), value_for(&p.test))
        {
            for joined in [format!("{old}{new}"), format!("{new}{old}")] {
                let mut h = g.clone();
                h.ev.insert(f.clone(), json!(joined));
                if eval_reference::pred(p, &Value::Object(h.ev.clone())) == Some(true) {
                    *g = h;
                    return true;
                }
            }
        }
        return false;
    }
    if g.missing.contains(&f) {
        return eval_reference::pred(p, &Value::Object(g.ev.clone())) == Some(want);
    }
    let missing_holds = matches!(p.test, Test::Null | Test::Exists(false));
    if want == missing_holds {
        g.missing.insert(f);
        return true;
    }
    let v = match &p.test {
        Test::Null | Test::Exists(false) => json!("set"),
        Test::FieldRef { field, .. } => {
            let other = g.ev.get(field).cloned().unwrap_or_else(|| json!("refval"));
            g.ev.insert(field.clone(), other.clone());
            other
        }
        t => match value_for(t) {
            Some(v) => v,
            None => return false,
        },
    };
    if matches!(p.test, Test::Str { .. }) {
        g.strings.push(f.clone());
    }
    g.ev.insert(f, v);
    true
}

/// Near misses of a matching event.
fn variants(g: &Gen) -> Vec<Value> {
    let mut out = Vec::new();
    for f in &g.strings {
        let Some(Value::String(s)) = g.ev.get(f) else {
            continue;
        };
        let mut with = |v: Value| {
            let mut e = g.ev.clone();
            e.insert(f.clone(), v);
            out.push(Value::Object(e));
        };
        let flipped: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        with(json!(flipped));
        if let Some((i, c)) = s.char_indices().find(|(_, c)| c.is_alphanumeric()) {
            let mut t = s.clone();
            t.replace_range(i..i + c.len_utf8(), if c == 'q' { "z" } else { "q" });
            with(json!(t));
        }
        with(json!(format!("{s} ")));
        with(json!(["zz", s]));
        with(json!(["zz"]));
        with(json!([]));
        with(Value::Null);
        with(json!([[s]]));
        with(json!([null, s]));
        let mut e = g.ev.clone();
        e.remove(f);
        out.push(Value::Object(e.clone()));
        if let Some((a, b)) = f.split_once('.') {
            e.insert(a.to_string(), json!({ b: s }));
            out.push(Value::Object(e));
        }
    }
    // Null-valued fields: any field set to `null` (an `exists: true` field among them), and
    // the fields that must have no value given as `null`, `[]` or `[null]` instead of missing.
    for f in g.ev.keys() {
        let mut e = g.ev.clone();
        e.insert(f.clone(), Value::Null);
        out.push(Value::Object(e));
    }
    if !g.missing.is_empty() {
        for none in [Value::Null, json!([]), json!([null])] {
            let mut e = g.ev.clone();
            for f in &g.missing {
                e.insert(f.clone(), none.clone());
            }
            out.push(Value::Object(e));
        }
    }
    out
}

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
