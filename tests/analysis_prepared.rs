//! `analysis::Prepared` / `decide_prepared` (one rule prepared once for many pairs) answer as
//! `analysis::decide` does; the product walk's pruning decides languages that exclude many
//! substrings; the catalog comparison's per-pair bounds give `unknown` with the bound named.

use std::path::PathBuf;

use sigmat::analysis::{self, decide, decide_prepared, Options, Prepared, Relation};
use sigmat::cli::catalog;
use sigmat::coverage::pairs;
use sigmat::ir::{self, Expr, Pattern, Piece, Predicate, Test};

fn contains(field: &str, text: &str) -> Expr {
    Expr::Pred(Predicate {
        field: Some(field.to_string()),
        test: Test::Str {
            pattern: Pattern::new([Piece::AnyMany, Piece::Lit(text.to_string()), Piece::AnyMany]),
            cased: false,
        },
        at: String::new(),
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

const WORDS: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];

#[test]
fn a_language_excluding_many_substrings_is_decided() {
    // A: contains "xyz" and none of 16 words nor "xy" (so no value at all: "xyz" holds "xy").
    // B: contains "xyz". A's region is empty, so A is within B. Proving A empty walks the
    // product of 18 automata; every rejected `contains` can be "already read" or not, 2^17
    // combinations, past the default budget of 100,000 states unless the walk drops the
    // states where a rejected substring has been read.
    let mut negs: Vec<Expr> = WORDS.iter().map(|w| contains("cmd", w)).collect();
    negs.push(contains("cmd", "xy"));
    let a = rule(Expr::And(vec![
        contains("cmd", "xyz"),
        Expr::Not(Box::new(Expr::Or(negs))),
    ]));
    let b = rule(contains("cmd", "xyz"));
    let opts = Options {
        explain: false,
        ..Options::default()
    };
    let d = decide(&a, &b, &opts).expect("decides");
    assert_eq!(d.relation, Relation::AInB, "{d:?}");
    assert!(d.a_only.empty && d.both.empty);
    // The event B matches and A does not holds "xyz".
    let w = &d.b_only.witnesses[0];
    assert!(w["cmd"].as_str().expect("a string").contains("xyz"), "{w}");
}

#[test]
fn prepared_decisions_equal_fresh_ones() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let a = catalog::load(&[root.join("seed")], &["ecs_linux".to_string()]).expect("a");
    let b = catalog::load(
        &[
            root.join("elastic/python_webserver.toml"),
            root.join("elastic/python_webserver_v1.toml"),
            root.join("elastic/seeds"),
        ],
        &[],
    )
    .expect("b");
    let rules: Vec<&ir::Rule> = a
        .entries
        .iter()
        .chain(&b.entries)
        .filter_map(|e| e.rule.as_ref())
        .take(12)
        .collect();
    assert!(rules.len() >= 3, "{}", rules.len());
    let prepared: Vec<Prepared> = rules.iter().map(|r| Prepared::new(r)).collect();
    let opts = Options {
        explain: false,
        budget: 5_000,
        ..Options::default()
    };
    let mut equivalent_to_self = 0;
    for (i, ra) in rules.iter().enumerate() {
        for (j, rb) in rules.iter().enumerate() {
            let fresh = decide(ra, rb, &opts);
            // Prepared once, used for every pair (its DFAs built on first use, then shared).
            let again = decide_prepared(&prepared[i], &prepared[j], &opts);
            assert_eq!(fresh, again, "{} / {}", ra.meta.title, rb.meta.title);
            if i == j && matches!(fresh, Ok(ref d) if d.relation == Relation::Equivalent) {
                equivalent_to_self += 1;
            }
        }
    }
    assert!(equivalent_to_self >= 2, "{equivalent_to_self}");
}

#[test]
fn a_pair_past_the_bounds_is_unknown_with_the_bound_named_and_keeps_its_witness() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let a = catalog::load(&[root.join("seed")], &["ecs_linux".to_string()]).expect("a");
    let b = catalog::load(&[root.join("elastic/python_webserver.toml")], &[]).expect("b");
    let (ra, rb) = (
        a.entries[0].rule.as_ref().expect("seed in IR"),
        b.entries[0].rule.as_ref().expect("elastic in IR"),
    );
    let opts = pairs::Options::default();
    assert_eq!(
        pairs::decide(ra, rb, &opts).relation,
        pairs::Relation::Overlap
    );
    let tight = pairs::Options {
        max_preds: 1,
        ..opts
    };
    let d = pairs::decide(ra, rb, &tight);
    let pairs::Relation::Unknown(why) = &d.relation else {
        panic!("{d:?}");
    };
    assert!(why.contains("max_preds"), "{why}");
    // Not dropped: an event both rules match is still found and verified.
    let w = d.witness.expect("a witness");
    for r in [ra, rb] {
        assert!(sigmat::eval::compile_rule(r)
            .expect("compiles")
            .is_match(&w));
    }
    // The default analysis options leave the joint state budget unbounded.
    assert_eq!(analysis::Options::default().max_total_states, usize::MAX);
}
