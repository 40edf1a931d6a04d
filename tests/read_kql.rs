//! The KQL parser: Kibana's grammar on unit cases, located errors, and every kuery query of
//! the Elastic corpus.

mod common;

use sigmat::read::kql::ast::{Literal, NodeKind, Piece, RangeOp, Value};
use sigmat::read::{self, kql, QueryOrigin};

fn parse(q: &str) -> Result<kql::Node, sigmat::error::Error> {
    kql::parse(q, &QueryOrigin::default())
}

/// The field and value of a query that is one `is` node.
fn val(q: &str) -> (Option<String>, Literal) {
    let n = parse(q).unwrap();
    let (f, v) = is(&n);
    (f, v.clone())
}

fn is(n: &kql::Node) -> (Option<String>, &Literal) {
    match &n.kind {
        NodeKind::Is { field, value } => (field.as_ref().map(Literal::text), value),
        k => panic!("not an `is` node: {k:?}"),
    }
}

#[test]
fn precedence_and_value_lists() {
    let q = parse("a:1 or b:2 and not c:3").unwrap();
    let NodeKind::Or(xs) = &q.kind else { panic!() };
    assert_eq!(is(&xs[0]).0.as_deref(), Some("a"));
    let NodeKind::And(ys) = &xs[1].kind else {
        panic!()
    };
    assert!(matches!(ys[1].kind, NodeKind::Not(_)));

    let q = parse("process.name:(bash or sh and not \"zsh\")").unwrap();
    let NodeKind::Or(xs) = &q.kind else { panic!() };
    let (f, v) = is(&xs[0]);
    assert_eq!(
        (f.as_deref(), &v.value),
        (Some("process.name"), &Value::Text("bash".into()))
    );
    let NodeKind::And(ys) = &xs[1].kind else {
        panic!()
    };
    let NodeKind::Not(n) = &ys[1].kind else {
        panic!()
    };
    let (f, v) = is(n);
    assert_eq!(f.as_deref(), Some("process.name"));
    assert!(v.quoted);
    // Keywords are case-insensitive.
    assert!(matches!(
        parse("a:1 AND b:2 Or c:3").unwrap().kind,
        NodeKind::Or(_)
    ));
}

#[test]
fn values_wildcards_escapes() {
    let q = parse(r"f:*a\*b* ").unwrap();
    let (_, v) = is(&q);
    assert_eq!(
        v.value,
        Value::Wildcard(vec![Piece::Star, Piece::Lit("a*b".into()), Piece::Star])
    );
    // Unquoted values may hold spaces; trailing space is trimmed.
    let (_, v) = val("f: hello world  ");
    assert_eq!(v.value, Value::Text("hello world".into()));
    // Quoted: escapes, and a lone backslash stands for itself; no wildcards.
    let (_, v) = val(r#"f:"C:\Windows\\x\"*""#);
    assert_eq!(v.value, Value::Text(r#"C:\Windows\x"*"#.into()));
    let (_, v) = val(r"f:a\:b\or\u0041");
    assert_eq!(v.value, Value::Text("a:borA".into()));
    assert_eq!(val("f:null").1.value, Value::Null);
    assert_eq!(val("f:true").1.value, Value::Bool(true));
    assert_eq!(val("f:*").1.value, Value::Wildcard(vec![Piece::Star]));
    // Free text.
    let (f, v) = val("\"some phrase\"");
    assert_eq!((f, v.quoted), (None, true));
}

#[test]
fn ranges_nested_match_all() {
    let q = parse("process.args_count >= 5").unwrap();
    let NodeKind::Range { field, op, value } = &q.kind else {
        panic!()
    };
    assert_eq!(
        (field.text(), *op, value.text()),
        ("process.args_count".into(), RangeOp::Gte, "5".into())
    );
    let q = parse("a:{ b:1 and c:2 }").unwrap();
    assert!(matches!(q.kind, NodeKind::Nested { .. }));
    assert!(matches!(parse("  ").unwrap().kind, NodeKind::MatchAll));
}

#[test]
fn errors_are_located_with_hints() {
    let e = parse("a:b:c").unwrap_err();
    assert_eq!(e.kind.code(), "query_syntax");
    assert_eq!(e.location.column, Some(4));
    assert!(e.hint.as_deref().unwrap().contains("quoted"), "{e:?}");
    let e = parse(r"f:foo\?").unwrap_err();
    assert_eq!(e.location.column, Some(6));
    let e = parse("a:(b or c").unwrap_err();
    assert!(e.to_string().contains("expected"), "{e}");
    assert_eq!(e.hint.as_deref(), Some("a `(` is not closed"));
    // As in Kibana, a keyword needs whitespace on both sides: a trailing `and` is value text.
    assert_eq!(val("a:1 and").1.value, Value::Text("1 and".into()));
    assert!(parse("a:1 and ").is_err());
    assert!(parse("not not a:1").is_err());

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules/elastic/errors/kql_syntax.toml");
    let r = read::read_file(&path).unwrap();
    let q = r.query.unwrap();
    let e = kql::parse(&q.text, &q.origin).unwrap_err();
    assert_eq!(e.location.path.as_deref(), Some("rule.query"));
    assert!(e
        .location
        .file
        .as_deref()
        .unwrap()
        .ends_with("kql_syntax.toml"));
    // The value after the last `or` is missing: the end of the query, file line 9.
    assert_eq!(e.location.line, Some(9), "{}", e.render());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let q = format!("{}a:1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(parse(&q)
        .unwrap_err()
        .to_string()
        .contains("nested more than"));
    let q = format!("a:{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(parse(&q).is_err());
    let q = "a:{".repeat(5000);
    assert!(parse(&q).is_err());
}

/// Every kuery query of the corpus parses (elastic.md §1: 792, threshold and new_terms
/// rules included).
#[test]
fn corpus_kql_parses() {
    let Some(shared) = common::shared_or_skip("corpus_kql_parses") else {
        return;
    };
    let mut n = 0;
    let mut failures = Vec::new();
    for e in walkdir::WalkDir::new(shared.join("corpus/elastic")).sort_by_file_name() {
        let e = e.unwrap();
        if e.path().extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let r = read::read_file(e.path()).unwrap();
        if r.language != Some(read::Language::Kuery) {
            continue;
        }
        n += 1;
        let q = r.query.unwrap();
        if let Err(err) = kql::parse(&q.text, &q.origin) {
            failures.push(err.render());
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(n, 792);
}
