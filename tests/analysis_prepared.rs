//! `analysis::Prepared` / `decide_prepared` (one rule prepared once for many pairs) answer as
//! `analysis::decide` does; the catalog comparison's per-pair bounds give `unknown` with the
//! bound named, and the pair keeps its witness; events at hand (`decide_seeded`) settle the
//! regions they fall in without changing any answer.

mod common;

use std::path::PathBuf;

use sigmat::analysis::{self, decide, decide_prepared, decide_seeded, Options, Prepared, Relation};
use sigmat::cli::catalog;
use sigmat::coverage::pairs;
use sigmat::ir;

/// Up to 12 IR rules: the Sigma seed (through `ecs_linux`) and the Elastic seed variants.
fn fixture_rules() -> Vec<ir::Rule> {
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
    a.entries
        .into_iter()
        .chain(b.entries)
        .filter_map(|e| e.rule)
        .take(12)
        .collect()
}

#[test]
fn prepared_decisions_equal_fresh_ones() {
    let rules = fixture_rules();
    assert!(rules.len() >= 3, "{}", rules.len());
    let prepared: Vec<Prepared> = rules.iter().map(Prepared::new).collect();
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
    // The default analysis options bound the joint state budget too (no pair runs unbounded).
    assert_eq!(
        analysis::Options::default().max_total_states,
        analysis::DEFAULT_MAX_TOTAL_STATES
    );
}

#[test]
fn events_at_hand_settle_regions_without_changing_the_relation() {
    let rules = fixture_rules();
    let prepared: Vec<Prepared> = rules.iter().map(Prepared::new).collect();
    let opts = Options {
        explain: false,
        budget: 5_000,
        ..Options::default()
    };
    // Every witness of every pair, plus an event no rule matches: a pool of events at hand,
    // most of them in no region of a given pair, some in one.
    let mut fresh = Vec::new();
    let mut pool = vec![serde_json::json!({"unrelated.field": "x"})];
    for pa in &prepared {
        for pb in &prepared {
            let d = decide_prepared(pa, pb, &opts).expect("decides");
            for r in [&d.a_only, &d.b_only, &d.both] {
                pool.extend(r.witnesses.iter().cloned());
            }
            fresh.push(d);
        }
    }
    assert!(pool.len() > 10, "{}", pool.len());
    let seeds: Vec<&serde_json::Value> = pool.iter().collect();
    let mut settled = 0;
    let mut k = 0;
    for pa in &prepared {
        for pb in &prepared {
            let d = decide_seeded(pa, pb, &opts, &seeds).expect("decides");
            let was = &fresh[k];
            k += 1;
            assert_eq!(d.relation, was.relation, "{}", pa.rule().meta.title);
            let (va, vb) = (pa.compiled().expect("a"), pb.compiled().expect("b"));
            for (r, old, want) in [
                (&d.a_only, &was.a_only, (true, false)),
                (&d.b_only, &was.b_only, (false, true)),
                (&d.both, &was.both, (true, true)),
            ] {
                assert_eq!(r.empty, old.empty);
                for w in &r.witnesses {
                    assert_eq!((va.is_match(w), vb.is_match(w)), want, "{w}");
                    settled += usize::from(pool.contains(w) && !old.witnesses.contains(w));
                }
            }
        }
    }
    // Some region was settled by an event of another pair rather than by the search.
    assert!(settled > 0, "{settled}");
}

#[test]
fn a_rule_of_hundreds_of_analyzed_text_regexes_is_decided_from_built_events() {
    let Some(shared) = common::shared_or_skip(
        "a_rule_of_hundreds_of_analyzed_text_regexes_is_decided_from_built_events",
    ) else {
        return;
    };
    // Each rule tests PowerShell script text; the Elastic rule's 150 phrases on the analyzed
    // field are regexes, whose built values come from their syntax. Before events were built
    // for regexes the search ran out of its budget on this pair (`unknown`).
    let a = catalog::load(
        &[shared.join(
            "corpus/sigma/rules/windows/powershell/powershell_module/posh_pm_clear_powershell_history.yml",
        )],
        &["ecs_windows".to_string()],
    )
    .expect("a");
    let b = catalog::load(
        &[shared.join("corpus/elastic/rules_building_block/discovery_posh_generic.toml")],
        &[],
    )
    .expect("b");
    let (ra, rb) = (
        a.entries[0].rule.as_ref().expect("sigma in IR"),
        b.entries[0].rule.as_ref().expect("elastic in IR"),
    );
    let d = pairs::decide(ra, rb, &pairs::Options::default());
    assert_eq!(d.relation, pairs::Relation::Overlap, "{d:?}");
    let w = d.witness.expect("a witness");
    for r in [ra, rb] {
        assert!(sigmat::eval::compile_rule(r)
            .expect("compiles")
            .is_match(&w));
    }
}
