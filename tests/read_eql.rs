//! The EQL parser: unit cases, located errors, and every EQL query of the Elastic corpus.

mod common;

use sigmat::read::eql::ast::{Body, ExprKind, MatchOp};
use sigmat::read::{self, eql, QueryOrigin};

fn parse(q: &str) -> Result<eql::Query, sigmat::error::Error> {
    eql::parse(q, &QueryOrigin::default())
}

#[test]
fn event_query_structure() {
    let q = parse(r##"process where a == "x" and not b : ("y*", "z") or ?c.d like~ """raw\""""##)
        .unwrap();
    let Body::Event(e) = &q.body else { panic!() };
    let ExprKind::Or(xs) = &e.condition.kind else {
        panic!("{:?}", e.condition)
    };
    assert_eq!(xs.len(), 2);
    let ExprKind::And(ys) = &xs[0].kind else {
        panic!()
    };
    let ExprKind::Not(n) = &ys[1].kind else {
        panic!()
    };
    let ExprKind::Match { op, patterns, .. } = &n.kind else {
        panic!()
    };
    assert_eq!((*op, patterns.len()), (MatchOp::Colon, 2));
    let ExprKind::Match { expr, op, patterns } = &xs[1].kind else {
        panic!()
    };
    assert_eq!(*op, MatchOp::LikeInsensitive);
    assert_eq!(patterns[0].kind, ExprKind::Str("raw\\".into()));
    let ExprKind::Field(f) = &expr.kind else {
        panic!()
    };
    assert!(f.optional);
    assert_eq!(f.name().as_deref(), Some("c.d"));
}

#[test]
fn sequences_samples_pipes() {
    let q = parse(
        "sequence by host.id with maxspan=5m [process where true] by process.pid with runs=2 \
         ![file where true] [network where a != null] until [process where b in~ (\"x\")] | tail 3",
    )
    .unwrap();
    let Body::Sequence(s) = &q.body else { panic!() };
    assert_eq!(s.maxspan.as_ref().unwrap().millis, 300_000);
    assert_eq!(s.terms.len(), 3);
    assert_eq!(s.terms[0].runs, Some(2));
    assert!(s.terms[1].missing);
    assert!(s.until.is_some());
    assert_eq!(q.pipes[0].name, "tail");
    let q = parse("sample by host.id [any where a == 1] [any where b == 2]").unwrap();
    assert!(matches!(q.body, Body::Sample(ref s) if s.terms.len() == 2));
}

#[test]
fn precedence_and_arithmetic() {
    let q = parse("any where length(a) + 2 * 3 > 5 and x not in (1, 2)").unwrap();
    let Body::Event(e) = &q.body else { panic!() };
    let ExprKind::And(xs) = &e.condition.kind else {
        panic!()
    };
    let ExprKind::Cmp { lhs, .. } = &xs[0].kind else {
        panic!()
    };
    assert!(matches!(lhs.kind, ExprKind::Arith { .. }));
    assert!(matches!(xs[1].kind, ExprKind::In { negated: true, .. }));
}

#[test]
fn errors_are_located_with_hints() {
    let e = parse("process where a = \"x\"").unwrap_err();
    assert_eq!(e.kind.code(), "query_syntax");
    assert_eq!((e.location.line, e.location.column), (Some(1), Some(17)));
    assert_eq!(e.hint.as_deref(), Some("compare with `==`"));

    let e = parse("process where\n  a == 'x'").unwrap_err();
    assert_eq!((e.location.line, e.location.column), (Some(2), Some(8)));
    assert!(e.to_string().contains("single-quoted"), "{e}");

    let e = parse("process where a in (\"x\",)").unwrap_err();
    assert!(
        e.to_string().contains("expected a field, a constant"),
        "{e}"
    );
    assert!(e.to_string().contains("(query 1:25)"), "{e}");

    let e = parse("sequence [process where true]").unwrap_err();
    assert!(e.to_string().contains("at least two"), "{e}");
    assert!(parse("process where a == 1 | count").is_err());
    assert!(parse("sequence with maxspan=5 [a where true] [b where true]").is_err());
}

#[test]
fn errors_map_to_file_positions() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules/elastic/errors/eql_syntax.toml");
    let r = read::read_file(&path).unwrap();
    let q = r.query.unwrap();
    let e = eql::parse(&q.text, &q.origin).unwrap_err();
    // `)` after the trailing comma: query line 2, column 26 = file line 8, column 26.
    assert_eq!((e.location.line, e.location.column), (Some(8), Some(26)));
    assert_eq!(e.location.path.as_deref(), Some("rule.query"));
    assert!(e
        .location
        .file
        .as_deref()
        .unwrap()
        .ends_with("eql_syntax.toml"));
    assert!(e.to_string().contains("(query 2:26)"), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let q = format!("any where {}a == 1{}", "(".repeat(5000), ")".repeat(5000));
    let e = parse(&q).unwrap_err();
    assert!(e.to_string().contains("nested more than"), "{e}");
    let q = format!("any where {}a", "not ".repeat(5000));
    assert!(parse(&q).is_err());
    let q = format!("any where {}1", "-".repeat(5000));
    assert!(parse(&q).is_err());
}

/// Every EQL query of the corpus parses (elastic.md §1: 1,081 queries, sequences, 3 samples).
#[test]
fn corpus_eql_parses() {
    let Some(shared) = common::shared_or_skip("corpus_eql_parses") else {
        return;
    };
    let (mut n, mut seq, mut sample) = (0, 0, 0);
    let mut failures = Vec::new();
    for e in walkdir::WalkDir::new(shared.join("corpus/elastic")).sort_by_file_name() {
        let e = e.unwrap();
        if e.path().extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let r = read::read_file(e.path()).unwrap();
        if r.language != Some(read::Language::Eql) {
            continue;
        }
        n += 1;
        let q = r.query.unwrap();
        match eql::parse(&q.text, &q.origin) {
            Ok(q) => match q.body {
                Body::Sequence(_) => seq += 1,
                Body::Sample(_) => sample += 1,
                Body::Event(_) => {}
            },
            Err(e) => failures.push(e.render()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!((n, sample), (1081, 3));
    assert!(seq >= 200, "{seq} sequences");
    println!("{n} EQL queries parse: {seq} sequences, {sample} samples");
}
