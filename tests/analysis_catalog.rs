//! Corpus test of `analysis::decide`: every SigmaHQ Windows and Linux rule (ECS pipelines)
//! against itself and against its EQL rendering read back by `read::eql`. Both must come out
//! `equivalent`, or `unknown` with a reason (counted and printed; README records the counts).
//! The EQL query's event category (`process where`) is the rule's `eql_category` state, so it
//! is added to the rule's side as the `event.category` test the reader writes for it.
//!
//! A debug build decides one rule in `SIGMAT_DIFF_SAMPLE` (default 40); `SIGMAT_DIFF_SAMPLE=1`
//! takes them all (use `--release`).

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use rayon::prelude::*;

use sigmat::analysis::{decide, Options, Relation};
use sigmat::ir::{self, Expr, Pattern, Predicate, Test};
use sigmat::read::{eql, QueryOrigin};
use sigmat::session::{Outcome, Session};

fn category(rule: &ir::Rule) -> Option<Expr> {
    let c = rule.state.get("eql_category")?.as_str()?;
    Some(Expr::Pred(Predicate {
        field: Some("event.category".into()),
        test: Test::Str {
            pattern: Pattern::literal(c),
            cased: true,
        },
        at: "state.eql_category".into(),
    }))
}

fn read_back(queries: &[String]) -> Result<Vec<Expr>, String> {
    let o = QueryOrigin::default();
    queries
        .iter()
        .map(|q| {
            let ast = eql::parse(q, &o).map_err(|e| format!("parse: {}", e.kind))?;
            eql::lower::lower(&ast, q, &o, eql::lower::Options::default())
                .map_err(|e| format!("lower: {}", e.kind))
        })
        .collect()
}

fn reason_key(r: &str) -> String {
    // Group reasons by their first words (drop key paths and values).
    let r = r.split(" (at ").next().unwrap_or(r);
    r.split(':').next().unwrap_or(r).chars().take(90).collect()
}

#[test]
#[ignore = "slow in a debug build: cargo test --release --test analysis_catalog -- --ignored --nocapture"]
fn catalog_rules_are_equivalent_to_themselves_and_to_their_eql() {
    let Some(shared) = common::shared_or_skip("analysis_catalog") else {
        return;
    };
    let base = shared.join("corpus/sigma/rules");
    // A smaller search budget than the CLI's, so that a debug build stays quick: past it a
    // pair is `unknown` (counted), never wrong.
    let opts = Options {
        explain: false,
        budget: 5_000,
        ..Options::default()
    };
    let mut summary = Vec::new();
    for (product, pipeline) in [("windows", "ecs_windows"), ("linux", "ecs_linux")] {
        let session = Session::builder()
            .pipeline(pipeline)
            .target("eql")
            .build()
            .unwrap();
        let batch = session.load(&[base.join(product)]);
        let items = session.convert(&batch).unwrap();
        let every: usize = std::env::var("SIGMAT_DIFF_SAMPLE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(40);
        let work: Vec<(PathBuf, ir::Rule, Vec<String>)> = items
            .iter()
            .step_by(every.max(1))
            .filter_map(|it| match (&it.outcome, it.rule()) {
                (Outcome::Converted(c), Some(r)) => {
                    Some((it.entry.path.clone(), r.clone(), c.queries.clone()))
                }
                _ => None,
            })
            .collect();
        let results: Vec<(String, String)> = work
            .par_iter()
            .map(|(path, rule, queries)| {
                let selfish = decide(rule, rule, &opts).unwrap();
                let self_rel = match &selfish.relation {
                    Relation::Equivalent => "equivalent".to_string(),
                    Relation::Unknown(r) => format!("unknown: {}", reason_key(r)),
                    other => panic!("{} differs from itself: {other:?}", path.display()),
                };
                let back = match read_back(queries) {
                    Ok(xs) => xs,
                    Err(e) => return (self_rel, format!("not read back: {e}")),
                };
                let mut lhs = rule.clone();
                if let Some(c) = category(rule) {
                    lhs.conditions = vec![Expr::And(vec![c, Expr::or(lhs.conditions)])];
                }
                let mut rhs = rule.clone();
                rhs.conditions = back;
                let d = decide(&lhs, &rhs, &opts).unwrap();
                let rel = match &d.relation {
                    Relation::Unknown(r) => format!("unknown: {}", reason_key(r)),
                    other => {
                        let name = format!("{other:?}");
                        if *other != Relation::Equivalent {
                            eprintln!(
                                "{}: {name}: {:?}",
                                path.display(),
                                d.a_only.witnesses.first().or(d.b_only.witnesses.first())
                            );
                        }
                        name
                    }
                };
                (self_rel, rel)
            })
            .collect();
        let mut selves: BTreeMap<String, usize> = BTreeMap::new();
        let mut eqls: BTreeMap<String, usize> = BTreeMap::new();
        for (s, e) in &results {
            *selves.entry(s.clone()).or_default() += 1;
            *eqls.entry(e.clone()).or_default() += 1;
        }
        summary.push(format!(
            "{product} ({pipeline}): {} rules converted\n  self: {selves:?}\n  eql read back: {eqls:?}",
            results.len()
        ));
        let wrong: usize = eqls
            .iter()
            .filter(|(k, _)| {
                !(k.starts_with("Equivalent")
                    || k.starts_with("unknown")
                    || k.starts_with("not read back"))
            })
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            wrong, 0,
            "{product}: conversions that are not equivalent: {eqls:?}"
        );
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{}", summary.join("\n"));
}
