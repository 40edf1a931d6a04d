//! `ecs_windows` conformance with pySigma-backend-elasticsearch 2.1.1.
//!
//! `tests/conformance/ecs_windows_fields.json` holds, for every Windows rule of the SigmaHQ
//! catalog (rules, rules-emerging-threats, rules-threat-hunting), the field names of the EQL
//! query pySigma 1.5.1 + pySigma-backend-elasticsearch 2.1.1 produce with `ecs_windows`
//! (written by `tests/conformance/ecs_windows_fields.py`; `.ci/conformance-pipelines`
//! regenerates it with a real pySigma and runs this test). This test runs sigmat's front end and
//! `ecs_windows` over the same files and compares the field sets rule by rule; they must all be
//! the same. The one deliberate difference (a rule whose whole condition a pipeline dropped:
//! pySigma emits no query, sigmat an error) is counted apart; it does not occur with
//! `ecs_windows`. With `SIGMAT_PIPELINE=FILE` and a JSON written for that file, the same check
//! runs for any pySigma pipeline (`.ci/conformance-pipelines` does it for the fixtures).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use sigmat::ir::Document;
use sigmat::pipeline::{self, Pipeline};

#[test]
fn ecs_windows_field_sets_match_pysigma() {
    let Some(shared) = common::shared_or_skip("ecs_windows_field_sets_match_pysigma") else {
        return;
    };
    let sigma_dir = shared.join("corpus/sigma");
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/ecs_windows_fields.json");
    let expected_path = std::env::var_os("SIGMAT_PYSIGMA_FIELDS").map_or(expected_path, Into::into);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
    let rules = expected["rules"].as_object().unwrap();
    // SIGMAT_PIPELINE: another pipeline file, compared with a JSON written for it.
    let ecs = [match std::env::var("SIGMAT_PIPELINE") {
        Ok(path) => Pipeline::load(&path).unwrap(),
        Err(_) => Pipeline::builtin("ecs_windows").unwrap(),
    }];

    let (mut same, mut both_failed, mut compared, mut backend_refused, mut refused_empty) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut differences: BTreeMap<String, String> = BTreeMap::new();
    for (rel, want) in rules {
        let path = sigma_dir.join(rel);
        if !path.exists() {
            continue;
        }
        compared += 1;
        let mut fields: BTreeSet<String> = BTreeSet::new();
        let mut error: Option<String> = None;
        for doc in sigmat::sigma::load_file(&path) {
            match doc {
                Ok(Document::Rule(mut r)) => match pipeline::apply(&ecs, &mut r) {
                    Ok(()) => fields.extend(r.fields().into_iter().map(str::to_string)),
                    Err(e) => error = Some(e.render()),
                },
                Ok(_) => {}
                Err(e) => error = Some(e.render()),
            }
        }
        let py_stage = want
            .get("error")
            .map(|_| want["stage"].as_str().unwrap_or("backend"));
        if py_stage == Some("backend") {
            backend_refused += 1;
        }
        // A pySigma failure inside the pipeline leaves no field set to compare.
        let py_fields = if py_stage == Some("pipeline") {
            None
        } else {
            want.get("fields")
        };
        match (py_fields, error) {
            (Some(w), None) => {
                let w: BTreeSet<String> = w
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string())
                    .collect();
                if w == fields {
                    same += 1;
                } else {
                    let only_py: Vec<_> = w.difference(&fields).collect();
                    let only_us: Vec<_> = fields.difference(&w).collect();
                    differences.insert(
                        rel.clone(),
                        format!("pySigma only {only_py:?}, sigmat only {only_us:?}"),
                    );
                }
            }
            (None, Some(_)) => both_failed += 1,
            // pySigma silently converts a rule whose whole condition a pipeline dropped into no
            // query at all; sigmat refuses it with an error naming the rule (deliberate).
            (Some(w), Some(e))
                if w.as_array().is_some_and(Vec::is_empty)
                    && e.contains("removed every predicate") =>
            {
                refused_empty += 1;
            }
            (Some(_), Some(e)) => {
                differences.insert(
                    rel.clone(),
                    format!("sigmat failed: {}", e.lines().next().unwrap_or_default()),
                );
            }
            (None, None) => {
                differences.insert(
                    rel.clone(),
                    format!(
                        "pySigma failed ({}), sigmat converted",
                        want["error"].as_str().unwrap_or_default()
                    ),
                );
            }
        }
    }
    let agreeing = same + both_failed;
    eprintln!(
        "{} vs pySigma: {compared} windows rules, {same} same field set, {both_failed} failed in both, \
         {refused_empty} emptied (pySigma: no query, sigmat: error), {} differ \
         ({:.2}% same outcome; pySigma's EQL backend then refused {backend_refused} of them)",
        ecs[0].name,
        differences.len(),
        100.0 * agreeing as f64 / compared.max(1) as f64
    );
    for (rel, d) in &differences {
        eprintln!("  {rel}: {d}");
    }
    assert!(compared > 2000, "only {compared} rules compared");
    assert!(
        differences.is_empty(),
        "{} differences (listed above)",
        differences.len()
    );
}
