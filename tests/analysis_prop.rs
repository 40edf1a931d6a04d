//! Property test of `analysis::decide`: random rule pairs over two fields (wildcards, case,
//! lists, negations, numbers, nulls) against brute force over a universe of events built from
//! the rules' literals. A region brute force finds an event in must not be called empty, and
//! every witness must land in its region under the native evaluator.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use sigmat::analysis::{decide, Options, Relation};
use sigmat::eval::compile_rule;
use sigmat::ir::{self, CmpOp, Expr, Number, Pattern, Predicate, Test};

const FIELDS: [&str; 2] = ["x", "y"];
const WORDS: [&str; 4] = ["ab", "Ab", "b", "abc"];

fn leaf() -> impl Strategy<Value = Expr> {
    let field = prop::sample::select(FIELDS.to_vec());
    let word = prop::sample::select(WORDS.to_vec());
    let shape = 0..5u8;
    prop_oneof![
        6 => (field.clone(), word, shape, any::<bool>()).prop_map(|(f, w, s, cased)| {
            let text = match s {
                0 => w.to_string(),
                1 => format!("{w}*"),
                2 => format!("*{w}"),
                3 => format!("*{w}*"),
                _ => format!("{w}?"),
            };
            pred(f, Test::Str { pattern: Pattern::parse_canonical(&text).unwrap(), cased })
        }),
        2 => (field.clone(), 0..3u8, 1..4i64).prop_map(|(f, op, n)| {
            let op = [CmpOp::Eq, CmpOp::Lt, CmpOp::Gt][op as usize];
            pred(f, Test::Num { op, value: Number::new(n.to_string()) })
        }),
        1 => field.clone().prop_map(|f| pred(f, Test::Null)),
        1 => (field, any::<bool>()).prop_map(|(f, b)| pred(f, Test::Exists(b))),
    ]
}

fn pred(f: &str, test: Test) -> Expr {
    Expr::Pred(Predicate {
        field: Some(f.to_string()),
        test,
        at: String::new(),
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Expr::and),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Expr::or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn rule(e: Expr) -> ir::Rule {
    ir::Rule {
        meta: ir::Meta::default(),
        logsource: ir::LogSource::default(),
        conditions: vec![e],
        state: Default::default(),
        applied: Vec::new(),
        origin: ir::Origin::default(),
    }
}

/// Values built from the literals: each word in three cases, with a prefix and a suffix,
/// numbers around the constants, and one unrelated string.
fn values() -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for w in WORDS {
        for v in [
            w.to_string(),
            w.to_uppercase(),
            w.to_lowercase(),
            format!("{w}x"),
            format!("x{w}"),
        ] {
            if !out.contains(&json!(v)) {
                out.push(json!(v));
            }
        }
    }
    for n in 0..5 {
        out.push(json!(n));
    }
    out.push(json!("2.5"));
    out.push(json!("zz"));
    out
}

fn field_options() -> Vec<Option<Value>> {
    let vals = values();
    let mut out: Vec<Option<Value>> = vec![None, Some(Value::Null)];
    out.extend(vals.iter().cloned().map(Some));
    // Arrays of two: a sample of pairs, enough to hold two different literals.
    let few = [
        json!("ab"),
        json!("b"),
        json!("Ab"),
        json!(1),
        json!(3),
        json!("abc"),
    ];
    for (i, a) in few.iter().enumerate() {
        for b in &few[i + 1..] {
            out.push(Some(json!([a, b])));
        }
    }
    out
}

fn universe() -> Vec<Value> {
    let opts = field_options();
    let mut out = Vec::new();
    for x in &opts {
        for y in &opts {
            let mut m = Map::new();
            if let Some(v) = x {
                m.insert("x".into(), v.clone());
            }
            if let Some(v) = y {
                m.insert("y".into(), v.clone());
            }
            out.push(Value::Object(m));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn decisions_agree_with_brute_force(a in expr(), b in expr()) {
        let (ra, rb) = (rule(a), rule(b));
        let opts = Options { witnesses: 2, explain: true, ..Options::default() };
        let d = decide(&ra, &rb, &opts).unwrap();
        prop_assert!(!matches!(d.relation, Relation::Unknown(_)), "{:?}", d.relation);
        let (ca, cb) = (compile_rule(&ra).unwrap(), compile_rule(&rb).unwrap());
        let mut found = [false; 3];
        for e in universe() {
            match (ca.is_match(&e), cb.is_match(&e)) {
                (true, false) => found[0] = true,
                (false, true) => found[1] = true,
                (true, true) => found[2] = true,
                (false, false) => {}
            }
        }
        let regions = [(&d.a_only, (true, false)), (&d.b_only, (false, true)), (&d.both, (true, true))];
        for (i, (r, want)) in regions.iter().enumerate() {
            prop_assert!(!(found[i] && r.empty), "region {i} has an event but was called empty: {d:?}");
            prop_assert_eq!(r.empty, r.witnesses.is_empty());
            for w in &r.witnesses {
                prop_assert_eq!((ca.is_match(w), cb.is_match(w)), *want, "witness {}", w);
            }
        }
        for diff in &d.differences {
            let want = match diff.region {
                sigmat::analysis::RegionName::AOnly => (true, false),
                sigmat::analysis::RegionName::BOnly => (false, true),
            };
            prop_assert_eq!((ca.is_match(&diff.witness), cb.is_match(&diff.witness)), want);
        }
    }
}
