//! Processing pipelines: every transformation and condition type on IR fixtures, the built-in
//! pipelines, errors, ordering and post-processing.
//!
//! Fixtures: pipelines in `tests/pipelines/*.yml` (pySigma YAML), rules in
//! `tests/pipelines/rules/*.ir.yml` (the serde form of `sigmat::ir::Document`, so these tests
//! do not depend on the Sigma front end). Snapshots: `snapshots/pipeline@<fixture>.snap`.

// `sigmat::error::Error` is the shared 160-byte error type.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sigmat::ir::{Document, Rule};
use sigmat::pipeline::{self, Pipeline};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pipelines")
}

const RULES: &[&str] = &[
    "win_proc",
    "win_net",
    "linux_seed",
    "mac_file",
    "correlation",
];

fn rule_doc(name: &str) -> Document {
    let path = dir().join(format!("rules/{name}.ir.yml"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rule(name: &str) -> Rule {
    match rule_doc(name) {
        Document::Rule(r) => r,
        other => panic!("{name} is not a rule: {other:?}"),
    }
}

fn load(name: &str) -> sigmat::error::Result<Pipeline> {
    let rel = format!("tests/pipelines/{name}.yml");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel)).unwrap();
    Pipeline::from_yaml(&text, &rel)
}

/// What a pipeline run left, as a snapshot value.
fn outcome(pipelines: &[Pipeline], name: &str) -> Value {
    match rule_doc(name) {
        Document::Rule(mut r) => match pipeline::apply(pipelines, &mut r) {
            Ok(()) => json!({
                "logsource": r.logsource,
                "conditions": r.conditions,
                "fields": r.meta.fields,
                "custom": r.meta.custom,
                "state": r.state,
                "applied": r.applied,
            }),
            Err(e) => json!({ "error": e.render() }),
        },
        Document::Correlation(mut c) => match pipeline::apply_correlation(pipelines, &mut c) {
            Ok(state) => json!({
                "group_by": c.group_by,
                "aliases": c.aliases,
                "field": c.field,
                "custom": c.meta.custom,
                "state": state,
            }),
            Err(e) => json!({ "error": e.render() }),
        },
        Document::Filter(_) | Document::Sequence(_) => {
            unreachable!("no filter or sequence fixtures")
        }
    }
}

fn snapshot(name: &str, value: &Value) {
    common::snapshot_settings()
        .bind(|| insta::assert_yaml_snapshot!(format!("pipeline@{name}"), value));
}

fn run_fixture(name: &str) {
    let p = load(name).unwrap_or_else(|e| panic!("{name}: {}", e.render()));
    let mut out = serde_json::Map::new();
    for r in RULES {
        out.insert((*r).to_string(), outcome(std::slice::from_ref(&p), r));
    }
    snapshot(name, &Value::Object(out));
}

#[test]
fn pysigma_docs_example_loads_unchanged() {
    let p = load("pysigma_docs").unwrap();
    assert_eq!(p.name, "Sysmon field naming");
    assert_eq!(p.priority, 100);
    run_fixture("pysigma_docs");
}

#[test]
fn field_name_transformations() {
    run_fixture("fields");
}

#[test]
fn value_transformations() {
    run_fixture("values");
}

#[test]
fn placeholders() {
    run_fixture("placeholders");
}

#[test]
fn rule_level_transformations_and_conditions() {
    run_fixture("rule_level");
}

#[test]
fn drop_detection_items() {
    run_fixture("drop");
}

#[test]
fn hashes_and_extracted_fields() {
    run_fixture("hashes");
}

#[test]
fn builtin_pipelines() {
    for name in pipeline::builtin_names() {
        let p = Pipeline::builtin(name).unwrap_or_else(|| panic!("built-in {name} does not load"));
        let mut out = serde_json::Map::new();
        for r in RULES {
            out.insert((*r).to_string(), outcome(std::slice::from_ref(&p), r));
        }
        snapshot(&format!("builtin_{name}"), &Value::Object(out));
    }
}

#[test]
fn errors_name_the_pipeline_item_and_rule() {
    let mut names: Vec<String> = std::fs::read_dir(dir().join("errors"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert!(names.len() >= 12);
    let mut out = serde_json::Map::new();
    for n in names {
        let err = match load(&format!("errors/{n}")) {
            Err(e) => e,
            Ok(p) => {
                let mut r = rule("win_proc");
                let before = r.clone();
                let e = pipeline::apply(&[p], &mut r).expect_err(&n);
                assert_eq!(r, before, "{n}: a failed run must leave the rule unchanged");
                e
            }
        };
        assert!(
            matches!(err.kind.code(), "pipeline" | "yaml"),
            "{n}: {}",
            err.render()
        );
        out.insert(n, Value::String(err.render()));
    }
    snapshot("errors", &Value::Object(out));
}

#[test]
fn pipelines_run_by_priority_and_keep_order_on_ties() {
    let p = |name: &str, priority: i64, val: &str| {
        Pipeline::from_yaml(
            &format!(
                "name: {name}\npriority: {priority}\ntransformations:\n- id: {name}\n  type: set_state\n  key: k\n  val: {val}\n"
            ),
            name,
        )
        .unwrap()
    };
    let mut r = rule("win_proc");
    pipeline::apply(
        &[
            p("late", 50, "late"),
            p("first", 10, "first"),
            p("tie", 50, "tie"),
        ],
        &mut r,
    )
    .unwrap();
    assert_eq!(r.state["k"], json!("tie"));
    assert_eq!(r.applied, vec!["first", "late", "tie"]);
}

#[test]
fn load_by_name_or_path() {
    assert_eq!(
        pipeline::builtin_names(),
        vec![
            "ecs_linux",
            "ecs_macos",
            "ecs_to_sigma_linux",
            "ecs_to_sigma_windows",
            "ecs_windows",
            "sysmon",
            "windows_audit",
            "windows_logsources"
        ]
    );
    let described = pipeline::describe_builtins();
    assert_eq!(described.len(), 8);
    assert!(described.iter().all(|(_, d)| !d.is_empty()));
    assert_eq!(
        Pipeline::load("ecs_linux").unwrap().origin,
        "builtin:ecs_linux"
    );
    let path = dir().join("fields.yml");
    assert_eq!(
        Pipeline::load(path.to_str().unwrap()).unwrap().name,
        "Field names"
    );
    let e = Pipeline::load("no_such_pipeline").unwrap_err();
    assert!(e.render().contains("ecs_windows"), "{}", e.render());
}

#[test]
fn postprocessing_and_finalizers() {
    let p = load("postprocessing").unwrap();
    let win = rule("win_proc");
    let lin = rule("linux_seed");
    let a = p.postprocess(&win, "a=b   and c".into()).unwrap();
    let b = p.postprocess(&lin, "x".into()).unwrap();
    assert_eq!(
        a,
        "Fixture - Windows process creation [high]: (b is a and c) {done}"
    );
    assert_eq!(b, "(x)");
    assert_eq!(
        p.finalize(&[a, b]).unwrap(),
        "BEGIN Fixture - Windows process creation [high]: (b is a and c) {done}\n---\n(x) END"
    );
}

#[test]
fn seed_rule_with_ecs_linux_queries_defend_fields() {
    let mut r = rule("linux_seed");
    pipeline::apply(&[Pipeline::builtin("ecs_linux").unwrap()], &mut r).unwrap();
    let mut fields = r.fields();
    fields.sort_unstable();
    assert_eq!(
        fields,
        vec![
            "event.action",
            "event.type",
            "host.os.type",
            "process.command_line",
            "process.executable"
        ]
    );
    assert_eq!(r.state["eql_category"], json!("process"));
    assert_eq!(r.state["index"], json!(["logs-endpoint.events.process*"]));
    assert_eq!(r.state["integration"], json!(["endpoint"]));
}

mod common;

/// The seed rule from its Sigma source through `ecs_linux`: the same Defend prelude as
/// Elastic's own rule for the same behaviour (`../shared/seeds/002_*.txt`), and the seed's
/// fields mapped onto `process.executable` / `process.command_line`.
#[test]
fn seed_sigma_rule_with_ecs_linux() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules/seed/python_webserver_execution_linux.yml");
    let mut docs = sigmat::sigma::load_file(&path);
    assert_eq!(docs.len(), 1);
    let Ok(Document::Rule(mut r)) = docs.remove(0) else {
        panic!("the seed rule does not parse")
    };
    pipeline::apply(&[Pipeline::load("ecs_linux").unwrap()], &mut r).unwrap();
    snapshot(
        "seed_ecs_linux",
        &json!({ "logsource": r.logsource, "conditions": r.conditions, "state": r.state }),
    );
    // The prelude ecs_linux adds, as (field, value) pairs.
    let mut prelude = Vec::new();
    for c in &r.conditions {
        c.for_each_pred(&mut |p| {
            if p.at.starts_with("pipeline.") {
                if let sigmat::ir::Test::Str { pattern, .. } = &p.test {
                    prelude.push(format!(
                        "{} == \"{}\"",
                        p.field.as_deref().unwrap(),
                        pattern.as_literal().unwrap()
                    ));
                }
            }
        });
    }
    assert_eq!(
        prelude,
        vec![
            r#"host.os.type == "linux""#,
            r#"event.type == "start""#,
            r#"event.action == "exec""#
        ]
    );
    if let Some(shared) = common::shared_or_skip("seed_sigma_rule_with_ecs_linux (Elastic seed)") {
        let seeds = std::fs::read_dir(shared.join("seeds")).unwrap();
        let elastic = seeds
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .find(|t| {
                t.contains("Web Server Spawned via Python")
                    && t.contains("event.action == \"exec\"")
            })
            .expect("Elastic's rule in the seeds");
        let query = elastic.split_once("process where ").unwrap().1;
        assert!(query.starts_with(&prelude.join(" and ")), "{query}");
        assert!(query.contains("process.command_line"));
    }
}

/// `sigmat inspect -p`: the IR after the pipelines; an unknown pipeline is a usage error.
#[test]
fn inspect_with_pipeline() {
    let bin = env!("CARGO_BIN_EXE_sigmat");
    let seed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules/seed/python_webserver_execution_linux.yml");
    let out = std::process::Command::new(bin)
        .args(["inspect", "-p", "ecs_linux", "--format", "json"])
        .arg(&seed)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["state"]["eql_category"], json!("process"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"process.executable\"") && !text.contains("\"Image\""),
        "{text}"
    );

    let out = std::process::Command::new(bin)
        .args(["inspect", "-p", "no_such_pipeline"])
        .arg(&seed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown pipeline `no_such_pipeline`"));
}

#[test]
fn list_keys_must_be_lists() {
    for key in ["transformations", "postprocessing", "finalizers"] {
        let yaml = format!("name: p\n{key}: 5\n");
        let e = Pipeline::from_yaml(&yaml, "p.yml").expect_err(key);
        assert_eq!(
            e.kind.to_string(),
            "pipeline: expected a list, found a number in pipeline `p`",
            "{key}"
        );
        assert_eq!(e.location.path.as_deref(), Some(key));
        assert_eq!(e.location.file.as_deref(), Some("p.yml"));
        let empty = format!("name: p\n{key}:\n");
        assert!(Pipeline::from_yaml(&empty, "p.yml").is_ok(), "{key}: null");
    }
}

/// A `rule_cond_expr` nested 200,000 deep (`not not ...` or `((( ... )))`) is read by the Sigma
/// front end's condition parser: a located error at its depth limit, not a stack overflow
/// (`sigmat convert` aborted with exit 134 before).
#[test]
fn deep_condition_expression_is_a_located_error() {
    let dir = std::env::temp_dir().join(format!("sigmat-deep-expr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules/seed/python_webserver_execution_linux.yml");
    let n = 200_000;
    for (name, expr) in [
        ("nots", format!("{}a", "not ".repeat(n))),
        ("parens", format!("{}a{}", "(".repeat(n), ")".repeat(n))),
    ] {
        let path = dir.join(format!("{name}.yml"));
        std::fs::write(
            &path,
            format!(
                "name: deep\ntransformations:\n- type: set_state\n  key: k\n  val: v\n  rule_conditions:\n    a:\n      type: is_sigma_rule\n  rule_cond_expr: '{expr}'\n"
            ),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sigmat"))
            .args(["convert", "-t", "eql", "-p"])
            .arg(&path)
            .arg(&seed)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: {}",
            &err[..err.len().min(500)]
        );
        assert!(
            err.contains("nesting too deep"),
            "{name}: {}",
            &err[..err.len().min(500)]
        );
        assert!(
            err.contains(&format!("{}.yml (transformations[0].rule_cond_expr)", name)),
            "{name}: {}",
            &err[err.len().saturating_sub(500)..]
        );
        // The same through the library.
        let text = std::fs::read_to_string(&path).unwrap();
        let e = Pipeline::from_yaml(&text, "deep.yml").unwrap_err();
        assert_eq!(e.kind.code(), "condition_syntax", "{name}");
        assert_eq!(
            e.location.path.as_deref(),
            Some("transformations[0].rule_cond_expr")
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Detection item conditions on values (`match_string`, `match_value`, ...) are decided once
/// per detection item. They were evaluated once per value of the item before, each time over
/// all its values: quadratic, minutes for a selection of 40,000 hashes.
#[test]
fn detection_item_conditions_are_linear_in_the_values() {
    use sigmat::ir::{Expr, Pattern, Predicate, Test};
    let n = 40_000;
    let mut r = rule("win_proc");
    r.conditions = vec![Expr::Or(
        (0..n)
            .map(|i| {
                Expr::Pred(Predicate {
                    field: Some("Hashes".into()),
                    test: Test::Str {
                        pattern: Pattern::literal(&format!("MD5={i:032}")),
                        cased: false,
                    },
                    at: format!("detection.selection.Hashes[{i}]"),
                })
            })
            .collect(),
    )];
    let p = Pipeline::from_yaml(
        "name: quantified\ntransformations:\n- id: lower\n  type: case\n  method: lower\n  detection_item_conditions:\n  - type: match_string\n    cond: all\n    pattern: 'MD5='\n  - type: contains_wildcard\n    cond: any\n  detection_item_cond_op: or\n",
        "quantified.yml",
    )
    .unwrap();
    let start = std::time::Instant::now();
    pipeline::apply(&[p], &mut r).unwrap();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    let Expr::Or(xs) = &r.conditions[0] else {
        panic!("{:?}", r.conditions[0])
    };
    assert_eq!(xs.len(), n);
    let seventh = serde_json::to_string(&xs[7]).unwrap();
    assert!(
        seventh.contains("md5=00000000000000000000000000000007"),
        "{seventh}"
    );
    assert_eq!(r.applied, vec!["lower"]);
}

/// `add_condition` is read by the Sigma front end: its modifiers (here `windash`, which the
/// pipeline reader did not know) and its errors (an unknown modifier with a suggestion).
#[test]
fn add_condition_reads_detections_with_the_front_end() {
    let p = Pipeline::from_yaml(
        "name: front\ntransformations:\n- id: dash\n  type: add_condition\n  conditions:\n    process.args|windash|contains: -enc\n",
        "front.yml",
    )
    .unwrap();
    let mut r = rule("win_proc");
    pipeline::apply(&[p], &mut r).unwrap();
    let text = serde_json::to_string(&r.conditions[0]).unwrap();
    assert!(text.contains("*/enc*") && text.contains("*-enc*"), "{text}");
    let e = Pipeline::from_yaml(
        "name: typo\ntransformations:\n- type: add_condition\n  conditions:\n    process.args|contians: x\n",
        "typo.yml",
    )
    .unwrap_err();
    assert_eq!(e.kind.code(), "unknown_modifier", "{}", e.render());
    assert_eq!(e.location.file.as_deref(), Some("typo.yml"));
    assert!(
        e.render().contains("did you mean `contains`?"),
        "{}",
        e.render()
    );
}
