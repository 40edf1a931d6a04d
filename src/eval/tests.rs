//! Unit tests of the evaluator on hand-built IR.

use serde_json::{json, Value};

use super::*;
use crate::ir::{
    CmpOp, Expr, Meta, Number, Pattern, Piece, Predicate, RefMatch, RegexFlags, Rule, Test,
    TimePart,
};

fn rule(conds: Vec<Expr>) -> Rule {
    Rule {
        meta: Meta {
            title: "t".into(),
            ..Meta::default()
        },
        logsource: ir::LogSource::default(),
        conditions: conds,
        state: Default::default(),
        applied: Vec::new(),
        origin: ir::Origin {
            file: Some("r.yml".into()),
            document: 0,
        },
    }
}

fn pred(field: Option<&str>, test: Test) -> Expr {
    Expr::Pred(Predicate {
        field: field.map(str::to_string),
        test,
        at: "detection.sel".into(),
    })
}

fn s(field: &str, canonical: &str) -> Expr {
    pred(Some(field), str_test(canonical, false))
}

fn str_test(canonical: &str, cased: bool) -> Test {
    Test::Str {
        pattern: Pattern::parse_canonical(canonical).unwrap(),
        cased,
    }
}

fn num(op: CmpOp, v: &str) -> Test {
    Test::Num {
        op,
        value: Number::new(v),
    }
}

/// Checks `expr` on every event natively, through a rule set with the prefilter, and without it.
fn check(expr: Expr, cases: &[(Value, bool)]) {
    let r = rule(vec![expr]);
    let c = compile_rule(&r).unwrap();
    let (set, errs) = RuleSet::compile(vec![r]);
    assert!(errs.is_empty());
    for (e, want) in cases {
        assert_eq!(c.is_match(e), *want, "is_match on {e}");
        assert_eq!(set.matches(e) == vec![0], *want, "rule set on {e}");
        assert_eq!(
            set.matches_unfiltered(e) == vec![0],
            *want,
            "unfiltered on {e}"
        );
    }
}

#[test]
fn strings_case_and_shapes() {
    check(
        s("Image", "*\\\\whoami.exe"),
        &[
            (json!({"Image": "C:\\Windows\\System32\\WHOAMI.EXE"}), true),
            (json!({"Image": "C:\\whoami.exe.bak"}), false),
            (json!({"image": "C:\\whoami.exe"}), false),
            (json!({}), false),
            (json!({"Image": null}), false),
            (json!({"Image": ["a", "x\\whoami.exe"]}), true),
            (json!({"Image": [["a"], ["x\\whoami.exe"]]}), true),
        ],
    );
    check(
        pred(Some("CommandLine"), str_test("*-EncodedCommand*", true)),
        &[
            (json!({"CommandLine": "p -EncodedCommand x"}), true),
            (json!({"CommandLine": "p -encodedcommand x"}), false),
        ],
    );
    check(
        s("User", "NT AUTHORITY\\\\SYSTEM"),
        &[
            (json!({"User": "nt authority\\system"}), true),
            (json!({"User": "nt authority\\system "}), false),
        ],
    );
    check(
        s("x", "a*b?c"),
        &[(json!({"x": "AxxBzC"}), true), (json!({"x": "abc"}), false)],
    );
    check(
        s("x", "*"),
        &[(json!({"x": ""}), true), (json!({"y": 1}), false)],
    );
}

#[test]
fn numbers_and_bools_through_text() {
    check(
        s("EventID", "4688"),
        &[
            (json!({"EventID": 4688}), true),
            (json!({"EventID": "4688"}), true),
            (json!({"EventID": 46880}), false),
        ],
    );
    check(
        pred(Some("EventID"), num(CmpOp::Eq, "1")),
        &[
            (json!({"EventID": 1}), true),
            (json!({"EventID": "1"}), true),
            (json!({"EventID": [4, 1]}), true),
            (json!({"EventID": 2}), false),
            (json!({"EventID": "one"}), false),
        ],
    );
    check(
        pred(Some("n"), num(CmpOp::Gte, "10")),
        &[
            (json!({"n": 10}), true),
            (json!({"n": 9.5}), false),
            (json!({"n": "11"}), true),
        ],
    );
    check(
        pred(Some("Signed"), Test::Bool(false)),
        &[
            (json!({"Signed": false}), true),
            (json!({"Signed": "FALSE"}), true),
            (json!({"Signed": true}), false),
            (json!({"Signed": 0}), false),
        ],
    );
    check(
        s("Signed", "true"),
        &[
            (json!({"Signed": true}), true),
            (json!({"Signed": false}), false),
        ],
    );
}

#[test]
fn missing_null_exists_and_not() {
    let not_img = Expr::Not(Box::new(s("Image", "*\\\\x.exe")));
    check(
        not_img,
        &[
            (json!({}), true),
            (json!({"Image": "c:\\x.exe"}), false),
            (json!({"Image": "c:\\y.exe"}), true),
        ],
    );
    check(
        pred(Some("a"), Test::Null),
        &[
            (json!({}), true),
            (json!({"a": null}), true),
            (json!({"a": []}), true),
            (json!({"a": [null]}), true),
            (json!({"a": [null, "x"]}), false),
            (json!({"a": ""}), false),
        ],
    );
    // A JSON null is no value: `exists: true` does not hold on it (issue 11, item 8).
    check(
        pred(Some("a"), Test::Exists(true)),
        &[
            (json!({"a": null}), false),
            (json!({"a": []}), false),
            (json!({"a": [null]}), false),
            (json!({"a": [null, 0]}), true),
            (json!({"a": ""}), true),
            (json!({}), false),
            (json!({"a": {"b": 1}}), true),
        ],
    );
    check(
        pred(Some("a"), Test::Exists(false)),
        &[
            (json!({"a": null}), true),
            (json!({"a": [null]}), true),
            (json!({"a": false}), false),
        ],
    );
    check(
        pred(Some("a.b"), Test::Exists(false)),
        &[(json!({"a": {"b": 1}}), false), (json!({"a": {}}), true)],
    );
}

#[test]
fn dotted_fields() {
    check(
        s("process.name", "cmd.exe"),
        &[
            (json!({"process.name": "cmd.exe"}), true),
            (json!({"process": {"name": "CMD.exe"}}), true),
            (
                json!({"process.name": "x", "process": {"name": "cmd.exe"}}),
                false,
            ),
        ],
    );
}

#[test]
fn regex_cidr_fieldref_timepart() {
    check(
        pred(
            Some("c"),
            Test::Regex {
                pattern: "\\s-H\\s".into(),
                flags: RegexFlags::default(),
            },
        ),
        &[
            (json!({"c": "curl -H x"}), true),
            (json!({"c": "curl -h x"}), false),
        ],
    );
    check(
        pred(
            Some("c"),
            Test::Regex {
                pattern: "^abc".into(),
                flags: RegexFlags {
                    ignore_case: true,
                    multi_line: true,
                    dot_all: false,
                },
            },
        ),
        &[
            (json!({"c": "x\nABC"}), true),
            (json!({"c": "xabc"}), false),
        ],
    );
    check(
        pred(Some("ip"), Test::Cidr("192.168.0.0/16".into())),
        &[
            (json!({"ip": "192.168.3.4"}), true),
            (json!({"ip": "192.169.3.4"}), false),
            (json!({"ip": ["1.1.1.1", "192.168.0.1"]}), true),
        ],
    );
    check(
        pred(
            Some("a"),
            Test::FieldRef {
                field: "b".into(),
                how: RefMatch::Eq,
                cased: false,
            },
        ),
        &[
            (json!({"a": "X", "b": "x"}), true),
            (json!({"a": "X", "b": "y"}), false),
            (json!({"a": "X"}), false),
            (json!({"a": 5, "b": "5"}), true),
        ],
    );
    check(
        pred(
            Some("a"),
            Test::FieldRef {
                field: "b".into(),
                how: RefMatch::EndsWith,
                cased: true,
            },
        ),
        &[
            (json!({"a": "C:\\X.exe", "b": "X.exe"}), true),
            (json!({"a": "C:\\X.exe", "b": "x.exe"}), false),
        ],
    );
    check(
        pred(
            Some("t"),
            Test::TimePart {
                part: TimePart::Hour,
                op: CmpOp::Lt,
                value: Number::new("6"),
            },
        ),
        &[
            (json!({"t": "2024-01-01T05:59:00Z"}), true),
            (json!({"t": "2024-01-01 06:00:00.000"}), false),
            (json!({"t": "garbage"}), false),
        ],
    );
}

#[test]
fn keywords_search_every_string() {
    check(
        pred(None, str_test("*mimikatz*", false)),
        &[
            (json!({"a": {"b": ["x", "run MimiKatz now"]}}), true),
            (json!({"mimikatz": 1}), false),
            (json!({"a": 1}), false),
        ],
    );
}

#[test]
fn string_sets_and_structure() {
    let vals = [
        "*\\\\a.exe",
        "*\\\\b.exe",
        "c:\\\\c*",
        "*evil*",
        "d?x",
        "exact",
    ];
    let or = Expr::Or(vals.iter().map(|v| s("Image", v)).collect());
    let expr = Expr::And(vec![
        or,
        pred(Some("EventID"), num(CmpOp::Eq, "1")),
        Expr::Not(Box::new(s("User", "*system*"))),
    ]);
    check(
        expr,
        &[
            (json!({"EventID": 1, "Image": "X\\A.exe"}), true),
            (json!({"EventID": 1, "Image": "C:\\cc"}), true),
            (json!({"EventID": 1, "Image": "an EVIL one"}), true),
            (json!({"EventID": 1, "Image": "dax"}), true),
            (json!({"EventID": 1, "Image": "EXACT"}), true),
            (json!({"EventID": 1, "Image": "exact2"}), false),
            (json!({"EventID": 2, "Image": "X\\A.exe"}), false),
            (
                json!({"EventID": 1, "Image": "X\\A.exe", "User": "SYSTEM"}),
                false,
            ),
        ],
    );
}

#[test]
fn placeholders_and_correlations_are_refused() {
    let p = Pattern::new([Piece::Placeholder("Admins".into())]);
    let r = rule(vec![pred(
        Some("User"),
        Test::Str {
            pattern: p,
            cased: false,
        },
    )]);
    let e = compile_rule(&r).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnresolvedPlaceholder("Admins".into()));
    assert_eq!(e.location.file.as_deref(), Some("r.yml"));
    assert_eq!(e.location.path.as_deref(), Some("detection.sel"));
    let (set, errs) = RuleSet::compile(vec![r]);
    assert!(set.is_empty());
    assert_eq!(errs.len(), 1);

    let corr = Document::Correlation(ir::Correlation {
        meta: Meta::default(),
        kind: ir::CorrelationType::EventCount,
        rules: vec!["a".into()],
        group_by: vec![],
        timespan: ir::Timespan {
            text: "1m".into(),
            seconds: 60,
        },
        condition: vec![(CmpOp::Gte, Number::new("2"))],
        field: vec![],
        percentile: None,
        aliases: Default::default(),
        generate: false,
        origin: ir::Origin::default(),
    });
    let e = compile_document(&corr).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Unsupported {
            target: "eval".into(),
            what: "correlation rules".into()
        }
    );
    let bad = rule(vec![pred(
        Some("c"),
        Test::Regex {
            pattern: "(".into(),
            flags: RegexFlags::default(),
        },
    )]);
    assert_eq!(compile_rule(&bad).unwrap_err().kind.code(), "invalid_regex");
}

#[test]
fn multiple_conditions_are_ored() {
    let r = rule(vec![s("a", "1"), s("b", "2")]);
    let c = compile_rule(&r).unwrap();
    assert!(c.is_match(&json!({"b": "2"})));
    assert!(!c.is_match(&json!({"b": "3"})));
}

#[test]
fn batch_matches_sequential() {
    let rules = vec![
        rule(vec![s("a", "*x*")]),
        rule(vec![s("b", "y")]),
        rule(vec![Expr::Not(Box::new(s("a", "*x*")))]),
    ];
    let (set, _) = RuleSet::compile(rules);
    let events: Vec<Value> = (0..100)
        .map(|i| json!({"a": if i % 3 == 0 { "axb" } else { "ab" }, "b": if i % 2 == 0 { "Y" } else { "n" }}))
        .collect();
    let par = set.matches_batch(&events);
    for (e, m) in events.iter().zip(&par) {
        assert_eq!(&set.matches(e), m);
    }
    assert_eq!(set.unfiltered_rules(), 1);
}

#[test]
fn caseless_fields_read_the_base_field_case_insensitively() {
    // `ecs_windows` maps to `.caseless` multi-fields that no event document holds.
    let cased = Test::Str {
        pattern: Pattern::parse_canonical("*\\\\whoami.exe").unwrap(),
        cased: true,
    };
    let r = rule(vec![pred(Some("process.executable.caseless"), cased)]);
    let one = compile_rule(&r).unwrap();
    let (set, errors) = RuleSet::compile(vec![r]);
    assert!(errors.is_empty());
    let hit = json!({"process": {"executable": "C:\\Windows\\WHOAMI.EXE"}});
    let miss = json!({"process": {"executable": "C:\\Windows\\who.exe"}});
    let only_caseless = json!({"process.executable.caseless": "c:\\windows\\whoami.exe"});
    assert!(one.is_match(&hit));
    assert_eq!(set.matches(&hit), vec![0]);
    assert!(!one.is_match(&miss));
    assert!(set.matches(&miss).is_empty());
    assert!(!one.is_match(&only_caseless));
}
