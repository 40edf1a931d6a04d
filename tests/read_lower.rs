//! Lowering Elastic rules to the IR, checked through the native evaluator: Elasticsearch's
//! meaning for EQL, Kibana's for KQL; named refusals; and the whole corpus.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use sigmat::error::Error;
use sigmat::read::{self, RuleType};
use sigmat::{eval, ir};

fn toml_rule(kind: &str, lang: &str, query: &str, extra: &str) -> String {
    format!(
        "[rule]\nname = \"t\"\nrule_id = \"00000000-0000-4000-8000-000000000000\"\ntype = \"{kind}\"\nlanguage = \"{lang}\"\n{extra}query = '''\n{query}\n'''\n"
    )
}

fn lower(kind: &str, lang: &str, query: &str) -> Result<ir::Rule, Error> {
    let r = read::read_str(&toml_rule(kind, lang, query, ""), Some("t.toml")).unwrap();
    read::lower_rule(r)
}

fn eql(q: &str) -> ir::Rule {
    lower("eql", "eql", q).unwrap_or_else(|e| panic!("{}", e.render()))
}

fn kql(q: &str) -> ir::Rule {
    lower("query", "kuery", q).unwrap_or_else(|e| panic!("{}", e.render()))
}

fn hits(rule: &ir::Rule, events: &[Value]) -> Vec<usize> {
    let c = eval::compile_rule(rule).unwrap_or_else(|e| panic!("{}", e.render()));
    (0..events.len())
        .filter(|&i| c.is_match(&events[i]))
        .collect()
}

fn proc(name: &str) -> Value {
    json!({"event": {"category": ["process"]}, "process": {"name": name}})
}

#[test]
fn eql_case_and_wildcards_follow_elasticsearch() {
    let ev = [proc("bash"), proc("BASH"), proc("Python3"), proc("py*")];
    assert_eq!(
        hits(&eql(r#"process where process.name == "bash""#), &ev),
        [0]
    );
    assert_eq!(
        hits(&eql(r#"process where process.name : "bash""#), &ev),
        [0, 1]
    );
    assert_eq!(
        hits(&eql(r#"process where process.name : "pyth?n*""#), &ev),
        [2]
    );
    assert_eq!(
        hits(&eql(r#"process where process.name like "py*""#), &ev),
        [3]
    );
    assert_eq!(
        hits(&eql(r#"process where process.name like~ "py*""#), &ev),
        [2, 3]
    );
    assert_eq!(
        hits(
            &eql(r#"process where process.name in ("bash", "py*")"#),
            &ev
        ),
        [0, 3]
    );
    assert_eq!(
        hits(&eql(r#"process where process.name in~ ("bash")"#), &ev),
        [0, 1]
    );
    assert_eq!(
        hits(
            &eql(r#"process where process.name not in ("bash", "BASH")"#),
            &ev
        ),
        [2, 3]
    );
    assert_eq!(
        hits(
            &eql(r#"process where startsWith~(process.name, "PY")"#),
            &ev
        ),
        [2, 3]
    );
    assert_eq!(
        hits(&eql(r#"process where endsWith(process.name, "h")"#), &ev),
        [0]
    );
    assert_eq!(
        hits(
            &eql(r#"process where stringContains(process.name, "yth")"#),
            &ev
        ),
        [2]
    );
    // Two fields: false when either is missing; `not` then holds.
    let ev2 = [
        json!({"process": {"executable": "/usr/bin/python3", "name": "python3"}}),
        json!({"process": {"executable": "/usr/bin/PYTHON3", "name": "python3"}}),
        json!({"process": {"executable": "/usr/bin/python3"}}),
    ];
    assert_eq!(
        hits(
            &eql("any where endsWith(process.executable, process.name)"),
            &ev2
        ),
        [0]
    );
    assert_eq!(
        hits(
            &eql("any where endsWith~(process.executable, process.name)"),
            &ev2
        ),
        [0, 1]
    );
    assert_eq!(
        hits(
            &eql("any where not stringContains(process.executable, process.name)"),
            &ev2
        ),
        [1, 2]
    );
    // `.caseless` is the base field compared case-insensitively.
    assert_eq!(
        hits(
            &eql(r#"process where process.name.caseless == "bash""#),
            &ev
        ),
        [0, 1]
    );
}

#[test]
fn eql_categories_negation_nulls_arrays() {
    let ev = [
        json!({"event": {"category": ["process", "start"]}, "process": {"args": ["python3", "-m", "http.server"]}}),
        json!({"event": {"category": "file"}, "process": {"args": "ls"}}),
        json!({"process": {"name": "x"}}),
    ];
    assert_eq!(
        hits(&eql(r#"process where process.args == "http.server""#), &ev),
        [0]
    );
    assert_eq!(
        hits(&eql(r#"any where process.args != "http.server""#), &ev),
        [1, 2]
    );
    assert_eq!(
        hits(&eql(r#"any where not process.args : "*http*""#), &ev),
        [1, 2]
    );
    assert_eq!(hits(&eql("any where process.args == null"), &ev), [2]);
    assert_eq!(hits(&eql("any where ?process.args != null"), &ev), [0, 1]);
    assert_eq!(hits(&eql("file where true"), &ev), [1]);
    let r = read::read_str(
        &toml_rule(
            "eql",
            "eql",
            "start where true",
            "event_category_override = \"event.category\"\n",
        ),
        None,
    )
    .unwrap();
    assert_eq!(hits(&read::lower_rule(r).unwrap(), &ev), [0]);
}

#[test]
fn eql_regex_numbers_cidr_backslashes() {
    let ev = [proc("PHP7.4"), proc("php"), proc("php-fpm"), proc("xphp")];
    let q = r#"process where process.name regex~ """php?[0-9]?\.?[0-9]{0,2}""""#;
    assert_eq!(hits(&eql(q), &ev), [0, 1]);
    let q = r#"process where process.name regex """php?[0-9]?\.?[0-9]{0,2}""""#;
    assert_eq!(hits(&eql(q), &ev), [1]);

    let ev = [
        json!({"process": {"pid": 4}, "source": {"ip": "10.1.2.3"}, "file": {"path": "C:\\Windows\\x.exe"}}),
        json!({"process": {"pid": "40"}, "source": {"ip": "192.168.0.1"}, "file": {"path": "C:/Windows/x.exe"}}),
    ];
    assert_eq!(hits(&eql("any where process.pid > 5"), &ev), [1]);
    assert_eq!(hits(&eql("any where process.pid == 4"), &ev), [0]);
    assert_eq!(hits(&eql("any where 5 > process.pid"), &ev), [0]);
    assert_eq!(
        hits(
            &eql(r#"any where cidrMatch(source.ip, "10.0.0.0/8", "172.16.0.0/12")"#),
            &ev
        ),
        [0]
    );
    // A backslash in a wildcard pattern is literal (no escapes in EQL patterns).
    assert_eq!(
        hits(&eql(r#"any where file.path : "c:\\windows\\*""#), &ev),
        [0]
    );
    assert_eq!(
        hits(&eql(r#"any where file.path like """C:\Windows\*""""#), &ev),
        [0]
    );
}

#[test]
fn eql_length_counts_characters() {
    let ev = [
        proc(""),
        proc("ab"),
        proc("abc"),
        proc("a\nbc"),
        proc("äöüß"),
        json!({"event": {"category": ["process"]}}),
        json!({"event": {"category": ["process"]}, "process": {"name": null}}),
        json!({"event": {"category": ["process"]}, "process": {"name": ["a", "abcdef"]}}),
    ];
    let q = |c: &str| {
        hits(
            &eql(&format!("process where length(process.name) {c}")),
            &ev,
        )
    };
    assert_eq!(q("> 2"), [2, 3, 4, 7]);
    assert_eq!(q(">= 3"), [2, 3, 4, 7]);
    assert_eq!(q("== 0"), [0]);
    assert_eq!(q("== 4"), [3, 4]);
    assert_eq!(q("< 3"), [0, 1, 7]);
    assert_eq!(q("<= 2"), [0, 1, 7]);
    // `!=`: false on a missing or null field, as `length(null) != 4` is null.
    assert_eq!(q("!= 4"), [0, 1, 2, 7]);
    // Constant first (each test holds on any array element), and negation (must_not: true
    // where the field is missing).
    assert_eq!(q("> 2 and 5 > length(process.name)"), [2, 3, 4, 7]);
    assert_eq!(
        hits(&eql("process where not length(process.name) > 2"), &ev),
        [0, 1, 5, 6]
    );
    let r = lower("eql", "eql", "process where length(process.name) > -1").unwrap_err();
    assert_eq!(r.kind.code(), "unsupported");
}

#[test]
fn kql_follows_kibana_on_keyword_fields() {
    let ev = [
        json!({"process": {"name": "Python3", "args": ["-m", "http.server"]}, "source": {"ip": "10.0.0.7"}, "n": 7}),
        json!({"process": {"name": "python?"}, "n": "12"}),
        json!({"user": {"name": "root"}}),
    ];
    assert_eq!(hits(&kql("process.name:Py*"), &ev), [0]);
    assert_eq!(hits(&kql("process.name:py*"), &ev), [1]);
    assert_eq!(hits(&kql("process.name:python?"), &ev), [1]);
    assert_eq!(hits(&kql("process.name:\"Py*\""), &ev), Vec::<usize>::new());
    assert_eq!(hits(&kql("process.args:http.server"), &ev), [0]);
    assert_eq!(hits(&kql("not process.name:*"), &ev), [2]);
    assert_eq!(
        hits(
            &kql("process.name:(Python3 or \"python?\") and not user.name:root"),
            &ev
        ),
        [0, 1]
    );
    assert_eq!(hits(&kql("n >= 7 and n < 12"), &ev), [0]);
    assert_eq!(hits(&kql("n > 7"), &ev), [1]);
    assert_eq!(hits(&kql("source.ip:10.0.0.0/8"), &ev), [0]);
    assert_eq!(hits(&kql("n:7"), &ev), [0]);
    assert_eq!(hits(&kql("*:* and user.name:root"), &ev), [2]);
}

#[test]
fn the_fixture_rule_lowers_and_matches() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/elastic/python_webserver.toml");
    let r = read::lower_rule(read::read_file(&path).unwrap()).unwrap();
    assert_eq!(r.meta.title, "Python Web Server Fixture");
    let base = json!({
        "event": {"category": ["process"], "type": ["start"]},
        "host": {"os": {"type": "linux"}},
        "process": {"name": "python3", "args": ["python3", "-m", "http.server", "8000"],
                    "parent": {"executable": "/bin/bash"}}
    });
    let mut systemd = base.clone();
    systemd["process"]["parent"]["executable"] = json!("/usr/lib/systemd/systemd");
    let mut shell = base.clone();
    shell["process"] =
        json!({"name": "bash", "command_line": "bash -c \"PYTHON3 -M HTTP.SERVER\""});
    let mut other = base.clone();
    other["process"]["args"] = json!(["python3", "app.py"]);
    assert_eq!(hits(&r, &[base, systemd, shell, other]), [0, 2]);
}

fn refusal(kind: &str, lang: &str, q: &str) -> String {
    match lower(kind, lang, q) {
        Ok(_) => panic!("{q} lowered"),
        Err(e) => {
            assert_eq!(e.kind.code(), "unsupported", "{}", e.render());
            assert!(e.location.file.is_some());
            e.to_string()
        }
    }
}

#[test]
fn refusals_name_the_construct() {
    let cases = [
        (
            "eql",
            "eql",
            "sequence [process where true] [file where true]",
            "EQL sequence",
        ),
        (
            "eql",
            "eql",
            "sample by host.id [process where true] [file where true]",
            "EQL sample",
        ),
        (
            "eql",
            "eql",
            "process where substring(process.name, 1) == \"a\"",
            "function `substring`",
        ),
        (
            "eql",
            "eql",
            "process where process.name == process.parent.name",
            "field-to-field",
        ),
        (
            "eql",
            "eql",
            "process where process.pid + 1 == 3",
            "arithmetic",
        ),
        (
            "eql",
            "eql",
            "process where process.name.caseless < \"b\"",
            "ordering comparison of strings",
        ),
        (
            "eql",
            "eql",
            "process where process.name regex \"a&b\"",
            "intersection",
        ),
        ("eql", "eql", "any where true", "every event"),
        ("query", "kuery", "\"free text\"", "free-text"),
        ("query", "kuery", "a:{ b:1 }", "nested"),
        ("query", "kuery", "message:hel*", "text field `message`"),
        ("query", "kuery", "process.*:bash", "wildcard field name"),
        ("query", "kuery", "a:null", "`null`"),
        ("query", "kuery", "@timestamp > now-1d", "non-numeric"),
        ("query", "lucene", "a:b", "Lucene"),
        ("threshold", "kuery", "a:b", "threshold rule"),
        ("new_terms", "kuery", "a:b", "new_terms rule"),
        ("threat_match", "kuery", "a:b", "threat_match"),
        ("esql", "esql", "from x", "ES|QL"),
    ];
    for (kind, lang, q, want) in cases {
        let msg = refusal(kind, lang, q);
        assert!(msg.contains(want), "{q}: {msg}");
    }
    // Located inside the query: the `substring` call is on query line 1, column 15 = file
    // line 7, column 15.
    let e = lower(
        "eql",
        "eql",
        "process where substring(process.name, 1) == \"a\"",
    )
    .unwrap_err();
    assert_eq!((e.location.line, e.location.column), (Some(7), Some(15)));
    // Syntax errors of threshold / new_terms queries are reported before the refusal.
    assert_eq!(
        lower("threshold", "kuery", "a:(b").unwrap_err().kind.code(),
        "query_syntax"
    );
}

/// Every corpus file is read and either lowered or refused by name; lowered rules compile in
/// the evaluator. Prints the counts per rule type and refusal reason, and the time taken.
#[test]
fn corpus_lowers_or_refuses_by_name() {
    let Some(shared) = common::shared_or_skip("corpus_lowers_or_refuses_by_name") else {
        return;
    };
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(shared.join("corpus/elastic")).sort_by_file_name() {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "toml") {
            files.push((
                e.path().display().to_string(),
                std::fs::read_to_string(e.path()).unwrap(),
            ));
        }
    }
    let t = std::time::Instant::now();
    let results: Vec<_> = files
        .iter()
        .map(|(name, text)| {
            let r = read::read_str(text, Some(name)).unwrap();
            let (ty, lang) = (r.rule_type, r.language);
            (ty, lang, read::lower_document(r))
        })
        .collect();
    let elapsed = t.elapsed();
    let mut lowered: BTreeMap<&str, usize> = BTreeMap::new();
    let mut refused: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (ty, lang, l) in &results {
        let key = match (ty, lang) {
            (RuleType::Query, Some(l)) => format!("query/{}", l.name()),
            (t, _) => t.name().to_string(),
        };
        match l {
            Ok(docs) => {
                *lowered.entry(ty.name()).or_default() += 1;
                // Every lowered document runs in the evaluator: rules, sequences and
                // correlations together (their errors would be refusals or bugs).
                let (_, corr, errors) =
                    eval::correlate::compile_documents(docs.clone(), Default::default());
                assert!(errors.is_empty(), "{:?}", errors);
                let expected_seqs = docs
                    .iter()
                    .filter(|d| matches!(d, sigmat::ir::Document::Sequence(_)))
                    .count();
                assert_eq!(corr.sequences().len(), expected_seqs);
            }
            Err(e) => {
                assert_eq!(e.kind.code(), "unsupported", "{}", e.render());
                let sigmat::error::ErrorKind::Unsupported { what, .. } = &e.kind else {
                    unreachable!()
                };
                // Group by construct: drop quoted specifics.
                let reason = what
                    .split('`')
                    .enumerate()
                    .map(|(i, s)| {
                        if i % 2 == 1
                            && !s.starts_with('|')
                            && !what.contains("function")
                            && !what.contains("field `")
                        {
                            "…"
                        } else {
                            s
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("`");
                *refused.entry((key, reason)).or_default() += 1;
            }
        }
    }
    println!("read + lowered {} files in {elapsed:?}", files.len());
    println!("lowered: {lowered:?}");
    for ((k, r), n) in &refused {
        println!("refused {k}: {n} × {r}");
    }
    let eql_lowered = lowered.get("eql").copied().unwrap_or(0);
    let query_lowered = lowered.get("query").copied().unwrap_or(0);
    println!("eql: {eql_lowered}/1081 lowered; query (kuery): {query_lowered}/507 lowered");
    assert!(eql_lowered > 0 && query_lowered > 0);
}

/// A class under `regex~` with a letter but not its other case: read as Elasticsearch
/// documents it (single letters fold, ranges do not), with a located warning.
#[test]
fn eql_regex_insensitive_classes_read_with_a_warning() {
    let q = r#"process where process.name regex~ "[a-c]x[yz]""#;
    let r = read::read_str(&toml_rule("eql", "eql", q, ""), Some("t.toml")).unwrap();
    let (docs, warnings) = read::lower_document_with_warnings(r).unwrap();
    let Some(ir::Document::Rule(rule)) = docs.into_iter().next() else {
        panic!("not a rule")
    };
    let ev = [proc("bxz"), proc("bXZ"), proc("BXy"), proc("dxy")];
    // `x` and the single letters `y`, `z` fold; the range `a-c` does not.
    assert_eq!(hits(&rule, &ev), [0, 1]);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|w| w.kind.code() == "approximated"));
    assert!(warnings[0].render_warning().contains("`[a-c]`"));
    assert_eq!(warnings[0].location.line, Some(7));
    // Closed under case: no warning.
    let q = r#"process where process.name regex~ "[a-cA-C]""#;
    let r = read::read_str(&toml_rule("eql", "eql", q, ""), Some("t.toml")).unwrap();
    assert!(read::lower_document_with_warnings(r).unwrap().1.is_empty());
}

/// `| head N` / `| tail N` only bound how many results a search returns: dropped, with a
/// warning naming the pipe.
#[test]
fn eql_head_and_tail_are_dropped_with_a_warning() {
    let q = "process where process.name == \"bash\" | tail 1";
    let r = read::read_str(&toml_rule("eql", "eql", q, ""), Some("t.toml")).unwrap();
    let (docs, warnings) = read::lower_document_with_warnings(r).unwrap();
    let Some(ir::Document::Rule(rule)) = docs.into_iter().next() else {
        panic!("not a rule")
    };
    assert_eq!(
        hits(&rule, &[proc("bash"), proc("sh"), proc("bash")]),
        [0, 2]
    );
    assert_eq!(warnings.len(), 1);
    let w = warnings[0].render_warning();
    assert!(w.contains("`| tail 1`") && w.contains("last"), "{w}");
}

/// `f >= "s"` on strings compares code points, as a keyword range query does.
#[test]
fn eql_string_ordering_compares_code_points() {
    let rule = eql(r#"any where user.id >= "1000000000" and user.id < "2""#);
    let user = |id: Value| json!({ "user": { "id": id } });
    let ev = [
        user(json!("1000000000")),
        user(json!("1000000001")),
        // Shorter but greater at its second character.
        user(json!("11")),
        // Longer and greater than `1000000000`, smaller than `2`.
        user(json!("19999999999")),
        // Smaller: a proper prefix, and smaller at the last character.
        user(json!("100000000")),
        user(json!("0999999999")),
        user(json!("2")),
        user(json!("999")),
        json!({}),
        user(json!(["5", "15"])),
    ];
    assert_eq!(hits(&rule, &ev), [0, 1, 2, 3, 9]);
}
