//! `ecs_windows` conformance with pySigma-backend-elasticsearch 2.1.1.
//!
//! `tests/conformance/ecs_windows_fields.json.gz` holds, for every Windows rule of the SigmaHQ
//! catalog (rules, rules-emerging-threats, rules-threat-hunting), the field names of the EQL
//! query pySigma 1.5.1 + pySigma-backend-elasticsearch 2.1.1 produce with `ecs_windows`
//! (written by `tests/conformance/ecs_windows_fields.py`; `.ci/conformance-pipelines`
//! regenerates it with a real pySigma and runs this test). This test runs sigmat's front end and
//! `ecs_windows` over the same files and compares the field sets rule by rule; they must all be
//! the same. The one deliberate difference (a rule whose whole condition a pipeline dropped:
//! pySigma emits no query, sigmat an error) is counted apart; it does not occur with
//! `ecs_windows`. With `SIGMAT_PIPELINE=FILE` and a JSON written for that file, the same check
//! runs for any pySigma pipeline (`.ci/conformance-pipelines` does it for the fixtures).
//!
//! Values are compared too: the set of (field, value) pairs of each rule must be the same,
//! apart from the deliberate `Initiated: 'true'` → `network.direction: egress` fix.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use sigmat::ir::{CmpOp, Document, Piece, Test};
use sigmat::pipeline::{self, Pipeline};

#[test]
fn ecs_windows_field_sets_match_pysigma() {
    let Some(shared) = common::shared_or_skip("ecs_windows_field_sets_match_pysigma") else {
        return;
    };
    let sigma_dir = shared.join("corpus/sigma");
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/ecs_windows_fields.json.gz");
    let expected_path = std::env::var_os("SIGMAT_PYSIGMA_FIELDS").map_or(expected_path, Into::into);
    let bytes = std::fs::read(&expected_path).unwrap();
    let expected: Value = if expected_path.extension().is_some_and(|e| e == "gz") {
        serde_json::from_reader(flate2::read::GzDecoder::new(bytes.as_slice())).unwrap()
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    let rules = expected["rules"].as_object().unwrap();
    // SIGMAT_PIPELINE: another pipeline file, compared with a JSON written for it.
    let ecs = [match std::env::var("SIGMAT_PIPELINE") {
        Ok(path) => Pipeline::load(&path).unwrap(),
        Err(_) => Pipeline::builtin("ecs_windows").unwrap(),
    }];

    let (mut same, mut both_failed, mut compared, mut backend_refused, mut refused_empty) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut differences: BTreeMap<String, String> = BTreeMap::new();
    let (mut values_same, mut values_direction) = (0usize, 0usize);
    let mut pipeline_time = std::time::Duration::ZERO;
    let mut value_differences: BTreeMap<String, String> = BTreeMap::new();
    for (rel, want) in rules {
        let path = sigma_dir.join(rel);
        if !path.exists() {
            continue;
        }
        compared += 1;
        let mut fields: BTreeSet<String> = BTreeSet::new();
        let mut error: Option<String> = None;
        let mut values: BTreeSet<String> = BTreeSet::new();
        for doc in sigmat::sigma::load_file(&path) {
            match doc {
                Ok(Document::Rule(mut r)) => {
                    let t = std::time::Instant::now();
                    let res = pipeline::apply(&ecs, &mut r);
                    pipeline_time += t.elapsed();
                    match res {
                        Ok(()) => {
                            fields.extend(r.fields().into_iter().map(str::to_string));
                            for c in &r.conditions {
                                c.for_each_pred(&mut |p| {
                                    values.insert(format!(
                                        "{}\t{}",
                                        p.field.as_deref().unwrap_or_default(),
                                        canon(&p.test)
                                    ));
                                });
                            }
                        }
                        Err(e) => error = Some(e.render()),
                    }
                }
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
                if let Some(py_values) = want.get("values").and_then(Value::as_array) {
                    let py: BTreeSet<String> = py_values
                        .iter()
                        .map(|x| x.as_str().unwrap().to_string())
                        .collect();
                    let only_py: Vec<&String> = py.difference(&values).collect();
                    let only_us: Vec<&String> = values.difference(&py).collect();
                    if only_py.is_empty() && only_us.is_empty() {
                        values_same += 1;
                    } else if is_direction_fix(&only_py, &only_us) {
                        values_direction += 1;
                    } else {
                        value_differences.insert(
                            rel.clone(),
                            format!("pySigma only {only_py:?}, sigmat only {only_us:?}"),
                        );
                    }
                }
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
    eprintln!("pipeline time (this build): {pipeline_time:.2?} for {compared} rules");
    eprintln!(
        "(field, value) sets: {values_same} same, {values_direction} differ only by the deliberate \
         `Initiated: 'true'` fix (network.direction egress/ingress), {} differ",
        value_differences.len()
    );
    for (rel, d) in &value_differences {
        eprintln!("  {rel}: values: {d}");
    }
    for (rel, d) in &differences {
        eprintln!("  {rel}: {d}");
    }
    assert!(compared > 2000, "only {compared} rules compared");
    assert!(
        differences.is_empty(),
        "{} differences (listed above)",
        differences.len()
    );
    // Values are asserted for ecs_windows; for other pipelines they are informational (the
    // `regex` transformation, for one, differs by design: sigmat anchors its regexes).
    if std::env::var_os("SIGMAT_PIPELINE").is_none() {
        assert!(
            value_differences.is_empty(),
            "{} value differences (listed above)",
            value_differences.len()
        );
    }
}

/// Canonical text of a test, as `tests/conformance/ecs_windows_fields.py` writes pySigma's values.
fn canon(t: &Test) -> String {
    let number = |n: &sigmat::ir::Number| {
        let f = n.as_f64();
        if f.fract() == 0.0 && f.abs() < 1e15 {
            format!("{}", f as i64)
        } else {
            format!("{f}")
        }
    };
    match t {
        Test::Str { pattern, cased } => {
            // pySigma's plain form: literal * and ? escaped, wildcards bare.
            let mut s = String::new();
            for p in pattern.pieces() {
                match p {
                    Piece::Lit(l) => {
                        for c in l.chars() {
                            if matches!(c, '*' | '?') {
                                s.push('\\');
                            }
                            s.push(c);
                        }
                    }
                    Piece::AnyMany => s.push('*'),
                    Piece::AnyOne => s.push('?'),
                    Piece::Placeholder(n) => s.push_str(&format!("%{n}%")),
                }
            }
            format!("{}:{s}", if *cased { "cs" } else { "s" })
        }
        Test::Regex { pattern, flags } => {
            let mut f = String::new();
            if flags.ignore_case {
                f.push('i');
            }
            if flags.multi_line {
                f.push('m');
            }
            if flags.dot_all {
                f.push('s');
            }
            format!("re:{f}:{pattern}")
        }
        Test::Num {
            op: CmpOp::Eq,
            value,
        } => format!("n:{}", number(value)),
        Test::Num { op, value } => format!(
            "cmp:{}:{}",
            serde_json::to_value(op).unwrap().as_str().unwrap(),
            number(value)
        ),
        Test::Bool(b) => format!("b:{b}"),
        Test::Null => "null".into(),
        Test::Exists(b) => format!("exists:{b}"),
        Test::Cidr(c) => format!("cidr:{c}"),
        Test::FieldRef { field, how, .. } => {
            format!(
                "ref:{}:{field}",
                serde_json::to_value(how).unwrap().as_str().unwrap()
            )
        }
        Test::TimePart { part, op, value } => format!("time:{part:?}:{op:?}:{}", number(value)),
    }
}

/// sigmat's one deliberate value change: SigmaHQ's string `Initiated: 'true'` / `'false'`
/// becomes `network.direction: egress` / `ingress`, where pySigma leaves `"true"` / `"false"`.
fn is_direction_fix(only_py: &[&String], only_us: &[&String]) -> bool {
    let fix = |v: &str| match v {
        "network.direction\ts:true" => Some("network.direction\ts:egress"),
        "network.direction\ts:false" => Some("network.direction\ts:ingress"),
        _ => None,
    };
    !only_py.is_empty()
        && only_py.len() == only_us.len()
        && only_py
            .iter()
            .all(|p| fix(p).is_some_and(|f| only_us.iter().any(|u| *u == f)))
}
