//! Differential property test of the evaluator on random rules and events:
//!
//! - the prefiltered [`RuleSet::matches`] equals the unfiltered evaluation of every rule (the
//!   prefilter never drops a match), and equals each rule's own [`CompiledRule::is_match`];
//! - both equal the reference evaluator written straight from the IR docs
//!   (`tests/eval_reference`, shared with the differential test).

mod eval_reference;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use sigmat::eval::{compile_rule, RuleSet};
use sigmat::ir::{
    CmpOp, Expr, LogSource, Meta, Number, Origin, Pattern, Piece, Predicate, RegexFlags, Rule, Test,
};

const FIELDS: &[&str] = &["Image", "CommandLine", "p.q", "EventID"];
const WORDS: &[&str] = &[
    "cmd", "Power", "shell", ".exe", "\\", "-enc", "x", "é", "ÄB", "4688",
];

fn word() -> impl Strategy<Value = String> {
    (0..WORDS.len(), any::<bool>()).prop_map(|(i, up)| {
        let w = WORDS[i];
        if up {
            w.to_uppercase()
        } else {
            w.to_string()
        }
    })
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 0..4).prop_map(|ws| ws.concat())
}

fn pattern() -> impl Strategy<Value = Pattern> {
    let piece = prop_oneof![
        3 => word().prop_map(Piece::Lit),
        2 => Just(Piece::AnyMany),
        1 => Just(Piece::AnyOne),
    ];
    prop::collection::vec(piece, 0..4).prop_map(Pattern::new)
}

fn test() -> impl Strategy<Value = Test> {
    prop_oneof![
        6 => (pattern(), any::<bool>()).prop_map(|(pattern, cased)| Test::Str { pattern, cased }),
        2 => (word(), word(), 0..5usize, any::<bool>()).prop_map(|(w, w2, shape, i)| {
            let (w, w2) = (regex_syntax::escape(&w), regex_syntax::escape(&w2));
            let pattern = match shape {
                0 => format!("{w}(s|x)"),
                1 => format!("(?i)^{w}.?{w2}"),
                2 => format!("\\w+{w}(?:{w2}|-)+"),
                3 => format!("[a-c]{w}\\s*{w2}?"),
                _ => format!("(?:{w}|{w2})*z?"),
            };
            Test::Regex {
                pattern,
                flags: RegexFlags { ignore_case: i, ..RegexFlags::default() },
            }
        }),
        1 => prop_oneof![Just("4688"), Just("1"), Just("-3")].prop_map(|n| Test::Num {
            op: CmpOp::Eq,
            value: Number::new(n),
        }),
        1 => Just(Test::Null),
        1 => any::<bool>().prop_map(Test::Exists),
    ]
}

fn predicate() -> impl Strategy<Value = Expr> {
    (prop::option::weighted(0.85, 0..FIELDS.len()), test()).prop_map(|(f, t)| {
        let t = match (&f, t) {
            // Only string tests may go without a field.
            (None, t @ (Test::Str { .. } | Test::Regex { .. })) => t,
            (None, _) => Test::Str {
                pattern: Pattern::literal("cmd")
                    .with_leading_any()
                    .with_trailing_any(),
                cased: false,
            },
            (_, t) => t,
        };
        Expr::Pred(Predicate {
            field: f.map(|i| FIELDS[i].to_string()),
            test: t,
            at: String::new(),
        })
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    predicate().prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 1..6).prop_map(Expr::Or),
            inner.prop_map(|x| Expr::Not(Box::new(x))),
        ]
    })
}

fn rule(e: Expr) -> Rule {
    Rule {
        meta: Meta {
            title: "r".into(),
            ..Meta::default()
        },
        logsource: LogSource::default(),
        conditions: vec![e],
        state: Default::default(),
        applied: Vec::new(),
        origin: Origin::default(),
    }
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        5 => text().prop_map(Value::String),
        1 => prop_oneof![Just(4688), Just(1), Just(-3), Just(7)].prop_map(|n| json!(n)),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
    ]
}

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => scalar(),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
    ]
}

fn event() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(prop::option::of(field_value()), FIELDS.len()),
        any::<bool>(),
    )
        .prop_map(|(vals, nested)| {
            let mut m = Map::new();
            for (f, v) in FIELDS.iter().zip(vals) {
                let Some(v) = v else { continue };
                match f.split_once('.') {
                    Some((a, b)) if nested => {
                        m.insert(a.to_string(), json!({ b: v }));
                    }
                    _ => {
                        m.insert((*f).to_string(), v);
                    }
                }
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn prefilter_is_sound_and_semantics_match_reference(
        exprs in prop::collection::vec(expr(), 1..12),
        events in prop::collection::vec(event(), 1..24),
    ) {
        let rules: Vec<Rule> = exprs.iter().cloned().map(rule).collect();
        let singles: Vec<_> = rules.iter().map(|r| compile_rule(r).unwrap()).collect();
        let (set, errs) = RuleSet::compile(rules);
        prop_assert!(errs.is_empty());
        for e in &events {
            let got = set.matches(e);
            prop_assert_eq!(&got, &set.matches_unfiltered(e), "prefilter on {}", e);
            let want: Vec<usize> = (0..exprs.len()).filter(|&i| singles[i].is_match(e)).collect();
            prop_assert_eq!(&got, &want, "single rules on {}", e);
            // The reference uses the regex crate's case folding, identical to ours on ASCII.
            if e.to_string().is_ascii() && exprs.iter().all(|x| format!("{x:?}").is_ascii()) {
                let reference: Vec<usize> = (0..exprs.len())
                    .filter(|&i| {
                        eval_reference::expr(&exprs[i], e).expect("the reference models every test generated here")
                    })
                    .collect();
                prop_assert_eq!(&got, &reference, "reference on {}", e);
            }
        }
    }
}
