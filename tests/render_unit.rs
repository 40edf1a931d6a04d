//! Renderer tests on hand-built IR: every built-in backend, shapes, escapes, refusals.
#![allow(clippy::result_large_err)]

use sigmat::error::ErrorKind;
use sigmat::ir::{Expr, LogSource, Meta, Pattern, Predicate, Rule, Test};
use sigmat::render::{Backend, Library, Options};

fn rule(category: &str, cond: Expr) -> Rule {
    Rule {
        meta: Meta {
            title: "t".into(),
            ..Meta::default()
        },
        logsource: LogSource {
            category: Some(category.into()),
            ..LogSource::default()
        },
        conditions: vec![cond],
        state: Default::default(),
        applied: vec![],
        origin: Default::default(),
    }
}

fn s(field: &str, canonical: &str) -> Expr {
    Expr::Pred(Predicate {
        field: Some(field.into()),
        test: Test::Str {
            pattern: Pattern::parse_canonical(canonical).unwrap(),
            cased: false,
        },
        at: format!("detection.sel.{field}"),
    })
}

fn conv(backend: &str, r: &Rule) -> Result<String, sigmat::error::Error> {
    let b = Backend::builtin(backend).unwrap();
    b.convert(r, &Options::new()).map(|c| c.queries.join("\n"))
}

#[test]
fn every_builtin_backend_builds() {
    let lib = Library::builtin();
    let names = lib.names();
    assert_eq!(
        names,
        ["duckdb", "eql", "esql", "kql", "lucene", "postgres", "sqlite"]
    );
    for n in names {
        lib.backend(&n).unwrap();
    }
    assert!(matches!(
        lib.backend("sql").unwrap_err().kind,
        ErrorKind::Usage(_)
    ));
}

#[test]
fn eql_shapes() {
    let r = rule(
        "process_creation",
        Expr::And(vec![
            s("Image", "*\\\\python.exe"),
            Expr::Or(vec![s("CommandLine", "*http*"), s("CommandLine", "*-m*")]),
            Expr::Not(Box::new(s("c-uri", "a\\*b"))),
        ]),
    );
    assert_eq!(
        conv("eql", &r).unwrap(),
        r#"process where Image : "*\\python.exe" and CommandLine like~ ("*http*", "*-m*") and not `c-uri` in~ ("a*b")"#
    );
}
