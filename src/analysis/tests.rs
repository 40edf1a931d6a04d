//! Unit tests of the decision procedure on hand-built IR.

use serde_json::json;

use super::*;
use crate::eval::compile_rule;
use crate::ir::{CmpOp, Expr, Number, Pattern, Predicate, Test};

fn rule(cond: Expr) -> ir::Rule {
    ir::Rule {
        meta: ir::Meta::default(),
        logsource: ir::LogSource::default(),
        conditions: vec![cond],
        state: indexmap::IndexMap::new(),
        applied: Vec::new(),
        origin: ir::Origin::default(),
    }
}

fn p(field: &str, test: Test) -> Expr {
    Expr::Pred(Predicate {
        field: Some(field.into()),
        test,
        at: format!("at.{field}"),
    })
}

fn s(field: &str, pat: &str, cased: bool) -> Expr {
    p(
        field,
        Test::Str {
            pattern: Pattern::parse_canonical(pat).unwrap(),
            cased,
        },
    )
}

fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

fn rel(a: &Expr, b: &Expr) -> Relation {
    decide(&rule(a.clone()), &rule(b.clone()), &Options::default())
        .unwrap()
        .relation
}

#[test]
fn identical_rules_are_equivalent() {
    let a = Expr::And(vec![s("x", "*foo*", false), not(s("y", "bar", true))]);
    assert_eq!(rel(&a, &a), Relation::Equivalent);
}

#[test]
fn containment_through_languages() {
    // endswith "/python3" is within contains "python".
    let a = s("img", "*/python3", false);
    let b = s("img", "*python*", false);
    assert_eq!(rel(&a, &b), Relation::AInB);
    assert_eq!(rel(&b, &a), Relation::BInA);
}

#[test]
fn case_sensitivity_is_part_of_the_language() {
    let a = s("n", "python*", false);
    let b = s("n", "python*", true);
    let d = decide(&rule(a), &rule(b), &Options::default()).unwrap();
    assert_eq!(d.relation, Relation::BInA);
    let w = &d.a_only.witnesses[0];
    let n = w["n"].as_str().unwrap();
    assert!(n.to_lowercase().starts_with("python") && !n.starts_with("python"));
    assert!(d.differences[0].explanation.contains("case-sensitive"));
}

#[test]
fn disjoint_and_overlap() {
    // Two values of one field: only an array holds both, so the rules overlap.
    let d = decide(
        &rule(s("x", "a", true)),
        &rule(s("x", "b", true)),
        &Options::default(),
    );
    assert_eq!(d.unwrap().both.witnesses[0], json!({"x": ["a", "b"]}));
    let bool_and_missing = not(p("x", Test::Exists(true)));
    assert_eq!(
        rel(&bool_and_missing, &s("x", "b", true)),
        Relation::Disjoint
    );
    assert_eq!(
        rel(&s("x", "a*", true), &s("x", "*b", true)),
        Relation::Overlap
    );
}

#[test]
fn arrays_separate_rules_that_single_values_cannot() {
    // x == "a" and x == "b": impossible with one value, possible with an array.
    let a = Expr::And(vec![s("x", "a", true), s("x", "b", true)]);
    let d = decide(&rule(a.clone()), &rule(a), &Options::default()).unwrap();
    assert!(!d.both.empty);
    assert_eq!(d.both.witnesses[0], json!({"x": ["a", "b"]}));
}

#[test]
fn missing_fields_and_negation() {
    // not (x == "a") holds on events without x.
    let a = not(s("x", "a", true));
    let b = p("x", Test::Exists(true));
    let d = decide(&rule(a), &rule(b), &Options::default()).unwrap();
    assert_eq!(d.relation, Relation::Overlap);
    assert_eq!(d.a_only.witnesses[0], json!({}));
}

#[test]
fn numbers_are_intervals() {
    let num = |op, v: &str| {
        p(
            "n",
            Test::Num {
                op,
                value: Number::new(v),
            },
        )
    };
    assert_eq!(
        rel(&num(CmpOp::Gt, "5"), &num(CmpOp::Gt, "3")),
        Relation::AInB
    );
    // n < 3 and n >= 3 hold together only on an array.
    let d = decide(
        &rule(num(CmpOp::Lt, "3")),
        &rule(num(CmpOp::Gte, "3")),
        &Options::default(),
    )
    .unwrap();
    assert!(d.both.witnesses[0]["n"].is_array(), "{d:?}");
    let both = Expr::And(vec![num(CmpOp::Gte, "1"), num(CmpOp::Lt, "3")]);
    assert_eq!(rel(&both, &num(CmpOp::Lte, "4")), Relation::AInB);
}

#[test]
fn budget_is_named() {
    // Two fields, each one of many values: a model of A and not B takes several decisions.
    let any = |f: &str, n: usize| Expr::Or((0..n).map(|i| s(f, &format!("v{i}"), true)).collect());
    let a = Expr::And(vec![any("x", 40), any("y", 40)]);
    let b = Expr::And(vec![any("x", 39), any("y", 39)]);
    let opts = Options {
        budget: 1,
        ..Options::default()
    };
    let d = decide(&rule(a.clone()), &rule(b.clone()), &opts).unwrap();
    match d.relation {
        Relation::Unknown(why) => assert!(why.contains("budget of 1 decisions"), "{why}"),
        other => panic!("{other:?}"),
    }
    // With the default budget it is decided.
    assert_eq!(rel(&a, &b), Relation::BInA);
}

#[test]
fn last_segment_invariant_under_assume_ecs() {
    let a = s("process.executable", "*/python3", false);
    let b = s("process.name", "python3", false);
    assert_eq!(rel(&a, &b), Relation::Overlap);
    let opts = Options {
        assume_ecs: true,
        ..Options::default()
    };
    let d = decide(&rule(a.clone()), &rule(b.clone()), &opts).unwrap();
    assert_eq!(d.relation, Relation::AInB, "{d:?}");
    for w in &d.b_only.witnesses {
        assert!(compile_rule(&rule(b.clone())).unwrap().is_match(w));
    }
}

#[test]
fn caseless_fields_share_the_base_field() {
    // `X.caseless` (as ecs_windows maps) is `X` compared case-insensitively: the same field.
    let a = s("process.executable.caseless", "*whoami.exe", true);
    let b = s("process.executable", "*whoami.exe", false);
    assert_eq!(rel(&a, &b), Relation::Equivalent);
    // Against a case-sensitive test on `X`: the caseless one holds more.
    let c = s("process.executable", "*whoami.exe", true);
    let d = decide(&rule(a.clone()), &rule(c), &Options::default()).unwrap();
    assert_eq!(d.relation, Relation::BInA);
    // The witness carries `X` itself (no event holds `X.caseless`) and evaluates natively.
    let w = &d.a_only.witnesses[0];
    let exe = w["process.executable"].as_str().unwrap();
    assert!(exe.to_lowercase().ends_with("whoami.exe"));
    assert!(w.get("process.executable.caseless").is_none());
    assert!(compile_rule(&rule(a)).unwrap().is_match(w));
}

#[test]
fn conflicts_are_learned_not_enumerated() {
    // Twenty fields with two values each, then one field where A's and B's tests are the same
    // language written differently. Chronological backtracking would revisit the 2^20 choices
    // on the first fields for each failure on the last; a learned theory lemma on `z` (and the
    // backjump past the unrelated decisions) settles each region in a few decisions.
    let mut common: Vec<Expr> = (0..20)
        .map(|i| {
            let f = format!("f{i}");
            Expr::Or(vec![s(&f, "a", true), s(&f, "b", true)])
        })
        .collect();
    let mut a = common.clone();
    a.push(s("z", "p*", true));
    let re = p(
        "z",
        Test::Regex {
            pattern: "^p".into(),
            flags: ir::RegexFlags::default(),
        },
    );
    common.push(re);
    let opts = Options {
        budget: 200,
        ..Options::default()
    };
    let d = decide(&rule(Expr::And(a)), &rule(Expr::And(common)), &opts).unwrap();
    assert_eq!(d.relation, Relation::Equivalent, "{d:?}");
}

#[test]
fn command_line_is_args_joined_under_assume_ecs() {
    let a = s("process.command_line", "*http.server*", false);
    let b = s("process.args", "http.server", true);
    // Independent fields by default.
    assert_eq!(rel(&a, &b), Relation::Overlap);
    let opts = Options {
        assume_ecs: true,
        ..Options::default()
    };
    let d = decide(&rule(a.clone()), &rule(b.clone()), &opts).unwrap();
    // Some element is `http.server`, so the joined line contains it: B is within A.
    assert_eq!(d.relation, Relation::BInA, "{d:?}");
    let (va, vb) = (
        compile_rule(&rule(a)).unwrap(),
        compile_rule(&rule(b.clone())).unwrap(),
    );
    for w in d.a_only.witnesses.iter().chain(&d.both.witnesses) {
        let args: Vec<String> = match &w["process.args"] {
            serde_json::Value::Array(xs) => xs.iter().map(|x| x.as_str().unwrap().into()).collect(),
            x => vec![x.as_str().unwrap().into()],
        };
        assert_eq!(w["process.command_line"], json!(args.join(" ")), "{w}");
        assert!(va.is_match(w), "{w}");
    }
    assert!(!vb.is_match(&d.a_only.witnesses[0]));
    assert!(vb.is_match(&d.both.witnesses[0]));
    assert!(
        d.differences.iter().any(|x| x
            .explanation
            .contains("process.args joined by single spaces")),
        "{:?}",
        d.differences
    );
    // A line that needs two elements in order: `-m http.server` within the line, elements
    // `-m` and `http.server` (in either order) elsewhere.
    let c = s("process.command_line", "*-m http.server*", false);
    let e = Expr::And(vec![
        s("process.args", "-m", true),
        s("process.args", "http.server", true),
    ]);
    let d = decide(&rule(c.clone()), &rule(e.clone()), &opts).unwrap();
    assert_eq!(d.relation, Relation::Overlap, "{d:?}");
    let (vc, ve) = (
        compile_rule(&rule(c)).unwrap(),
        compile_rule(&rule(e)).unwrap(),
    );
    assert!(ve.is_match(&d.b_only.witnesses[0]) && !vc.is_match(&d.b_only.witnesses[0]));
    // Excluding the joined line excludes every element it contains.
    let f = Expr::And(vec![
        b.clone(),
        not(s("process.command_line", "*server*", true)),
    ]);
    let d = decide(&rule(f), &rule(b), &opts).unwrap();
    assert!(
        d.a_only.empty && d.both.empty && d.a_only.unknown.is_none(),
        "{d:?}"
    );
}

#[test]
fn many_contains_on_one_field_need_no_large_product() {
    // Ten `contains` atoms on one field against nine of them: a string in the nine and not the
    // tenth is their texts joined, found without walking a product whose states grow with
    // every atom (a budget of 300 states would not reach one: the field's value would be an
    // array of one value per atom).
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    ];
    let all = |n: usize| {
        Expr::And(
            words[..n]
                .iter()
                .map(|w| s("x", &format!("*{w}*"), false))
                .collect(),
        )
    };
    let opts = Options {
        max_states: 300,
        ..Options::default()
    };
    let d = decide(&rule(all(10)), &rule(all(9)), &opts).unwrap();
    assert_eq!(d.relation, Relation::AInB);
    // One string value (not an array of one value per atom).
    let x = &d.b_only.witnesses[0]["x"];
    assert!(
        x.as_str()
            .is_some_and(|v| v.contains("india") && !v.contains("juliet")),
        "{x}"
    );
}
