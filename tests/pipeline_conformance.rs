//! `ecs_windows` conformance with pySigma-backend-elasticsearch 2.1.1.
//!
//! `tests/conformance/ecs_windows_fields.json` holds, for every Windows rule of the SigmaHQ
//! catalog (rules, rules-emerging-threats, rules-threat-hunting), the field names of the EQL
//! query pySigma 1.5.1 + pySigma-backend-elasticsearch 2.1.1 produce with `ecs_windows`
//! (written by `tests/conformance/ecs_windows_fields.py`; `.ci/conformance-pipelines`
//! regenerates it with a real pySigma and runs this test). This test runs sigmat's front end and
//! `ecs_windows` over the same files and compares the field sets rule by rule. Every difference
//! must be one of the deliberate ones listed in `backends/pipelines/README.md`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use sigmat::ir::Document;
use sigmat::pipeline::{self, Pipeline};

/// Rules where sigmat deliberately differs, with the reason (mirrored in the README).
const DELIBERATE: &[(&str, &str)] = &[];

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
    let ecs = [Pipeline::builtin("ecs_windows").unwrap()];

    let (mut same, mut both_failed, mut compared, mut backend_refused) =
        (0usize, 0usize, 0usize, 0usize);
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
        if want.get("error").is_some() {
            backend_refused += 1;
        }
        match (want.get("fields"), error) {
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
        "ecs_windows vs pySigma: {compared} windows rules, {same} same field set, {both_failed} failed in both, {} differ ({:.2}% agreement; pySigma's EQL backend then refused {backend_refused} of them)",
        differences.len(),
        100.0 * agreeing as f64 / compared.max(1) as f64
    );
    for (rel, d) in &differences {
        eprintln!("  {rel}: {d}");
    }
    assert!(compared > 2000, "only {compared} rules compared");
    let unexplained: Vec<_> = differences
        .keys()
        .filter(|k| !DELIBERATE.iter().any(|(r, _)| r == k))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences (listed above)",
        unexplained.len()
    );
}
