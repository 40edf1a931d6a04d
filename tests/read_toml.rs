//! The detection-rules TOML reader: fixtures, located errors, and the whole Elastic corpus.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigmat::ir;
use sigmat::read::{self, RuleType};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules/elastic")
        .join(name)
}

#[test]
fn fixture_metadata_and_meta_mapping() {
    let r = read::read_file(&fixture("python_webserver.toml")).unwrap();
    assert_eq!(r.rule_type, RuleType::Eql);
    assert_eq!(r.language, Some(read::Language::Eql));
    assert_eq!(r.name, "Python Web Server Fixture");
    assert_eq!(r.risk_score, Some(47));
    assert_eq!(r.index, vec!["logs-endpoint.events.process*"]);
    assert_eq!(r.threat.len(), 1);
    assert_eq!(r.threat[0].tactic.id, "TA0002");
    assert_eq!(r.threat[0].techniques[0].subtechniques[0].id, "T1059.006");
    let q = r.query.as_ref().unwrap();
    assert!(q.text.starts_with("process where host.os.type"));
    // The query starts on the line after `query = '''` (line 19), column 1.
    assert_eq!(q.origin.start, Some((20, 1)));
    assert!(q.origin.exact);

    let m = r.to_meta();
    assert_eq!(m.title, "Python Web Server Fixture");
    assert_eq!(
        m.id.as_deref(),
        Some("2f7c9b36-0a4e-4b8a-9f51-3b2a1d6c0e11")
    );
    assert_eq!(m.level, Some(ir::Level::Medium));
    assert_eq!(m.status, Some(ir::Status::Stable));
    assert_eq!(m.date.as_deref(), Some("2024-11-04"));
    assert_eq!(m.modified.as_deref(), Some("2025-12-19"));
    assert_eq!(m.author.as_deref(), Some("sigmat"));
    assert_eq!(
        m.tags,
        vec!["attack.execution", "attack.t1059", "attack.t1059.006"]
    );
    let el = &m.custom["elastic"];
    assert_eq!(el["rule"]["risk_score"], 47);
    assert_eq!(el["rule"]["tags"][1], "Tactic: Execution");
    assert_eq!(el["metadata"]["maturity"], "production");
    assert!(
        el["rule"].get("query").is_none(),
        "the query is not duplicated"
    );
    assert_eq!(el["rule"]["threat"][0]["tactic"]["name"], "Execution");
}

#[test]
fn errors_are_located() {
    let e = read::read_file(&fixture("errors/missing_rule_id.toml")).unwrap_err();
    assert_eq!(e.kind.code(), "missing_key");
    assert_eq!(e.location.path.as_deref(), Some("rule.rule_id"));
    assert_eq!(e.location.line, Some(4));

    let e = read::read_file(&fixture("errors/unknown_type.toml")).unwrap_err();
    assert_eq!(e.kind.code(), "invalid_value");
    assert_eq!((e.location.line, e.location.column), (Some(4), Some(8)));
    assert!(e.to_string().contains("`eqll`"), "{e}");

    let e = read::read_file(&fixture("errors/toml_syntax.toml")).unwrap_err();
    assert_eq!(e.kind.code(), "toml");
    assert_eq!(e.location.line, Some(5));
    assert!(e
        .location
        .file
        .as_deref()
        .unwrap()
        .ends_with("toml_syntax.toml"));

    let e = read::read_str("[rule]\nname = 5\n", Some("x.toml")).unwrap_err();
    assert_eq!(e.kind.code(), "invalid_value");
    assert_eq!(
        e.to_string(),
        "x.toml:2:8 (rule.name): expected a string, found a integer"
    );
}

#[test]
fn basic_string_queries_map_exactly_without_escapes() {
    let t = "[rule]\nname = \"n\"\nrule_id = \"i\"\ntype = \"query\"\nquery = \"a:b\"\n";
    let r = read::read_str(t, None).unwrap();
    let o = &r.query.unwrap().origin;
    assert_eq!((o.start, o.exact), (Some((5, 10)), true));
    let t = "[rule]\nname = \"n\"\nrule_id = \"i\"\ntype = \"query\"\nquery = \"a:\\\"b\\\"\"\n";
    let r = read::read_str(t, None).unwrap();
    assert!(!r.query.unwrap().origin.exact);
}

/// Every corpus file reads; the counts per type and language are elastic.md §1's.
#[test]
fn corpus_reads() {
    let Some(shared) = common::shared_or_skip("corpus_reads") else {
        return;
    };
    let base = shared.join("corpus/elastic");
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut n = 0;
    for e in walkdir::WalkDir::new(&base).sort_by_file_name() {
        let e = e.unwrap();
        if e.path().extension().is_none_or(|x| x != "toml") {
            continue;
        }
        n += 1;
        let r = read::read_file(e.path()).unwrap_or_else(|e| panic!("{}", e.render()));
        let lang = r.language.map_or("none", |l| l.name()).to_string();
        *counts.entry((r.rule_type.name().into(), lang)).or_default() += 1;
        let m = r.to_meta();
        assert_eq!(m.title, r.name);
        if r.rule_type == RuleType::Threshold {
            assert!(r.threshold.is_some(), "{}", e.path().display());
        }
        if r.rule_type == RuleType::NewTerms {
            assert!(!r.new_terms.as_ref().unwrap().fields.is_empty());
        }
    }
    assert_eq!(n, 2192);
    let get = |t: &str, l: &str| counts.get(&(t.into(), l.into())).copied().unwrap_or(0);
    assert_eq!(get("eql", "eql"), 1081);
    assert_eq!(get("query", "kuery"), 507);
    assert_eq!(get("new_terms", "kuery"), 245);
    assert_eq!(get("esql", "esql"), 212);
    assert_eq!(get("machine_learning", "none"), 106);
    assert_eq!(get("threshold", "kuery"), 31);
    assert_eq!(get("threat_match", "kuery"), 9);
    assert_eq!(get("query", "lucene"), 1);
}
