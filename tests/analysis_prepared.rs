//! `analysis::Prepared` / `decide_prepared` (one rule prepared once for many pairs) answer as
//! `analysis::decide` does; the catalog comparison's per-pair bounds give `unknown` with the
//! bound named, and the pair keeps its witness.

use std::path::PathBuf;

use sigmat::analysis::{self, decide, decide_prepared, Options, Prepared, Relation};
use sigmat::cli::catalog;
use sigmat::coverage::pairs;
use sigmat::ir;

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
