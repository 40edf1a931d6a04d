//! `sigmat convert --verify[=warn|strict]`: each EQL / KQL query written is read back with
//! sigmat's reader and decided against the rule. The witnesses a warning carries are checked
//! with `sigmat eval` on the rule and on the query read back (as a detection-rules TOML).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sigmat::session::{Outcome, Session, Verify};

fn sigmat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("sigmat runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sigmat-verify-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A case-insensitive `contains` (Sigma's default): KQL matches keyword fields
/// case-sensitively, so the KQL query catches less than the rule.
const CONTAINS: &str = r"
title: Dump files
id: 5d3f6c1e-8a43-4c3e-9a55-0c1f2e7b9d10
logsource: { category: process_creation, product: windows }
detection:
  sel: { CommandLine|contains: '.dmp' }
  condition: sel
";

/// Only case-sensitive tests (`|cased`) and a number: every backend says exactly this.
const CASED: &str = r"
title: Cased
id: 0b4e1c9a-7f1d-4a8e-b3f2-6d5c4b3a2e10
logsource: { category: process_creation, product: windows }
detection:
  sel:
    Image|endswith|cased: '\whoami.exe'
    ProcessId|gt: 4
  condition: sel
";

fn write_rule(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

/// The verify warnings of one jsonl line.
fn verify_warnings(line: &serde_json::Value) -> Vec<String> {
    line["warnings"]
        .as_array()
        .map(|ws| {
            ws.iter()
                .filter_map(|w| w["message"].as_str())
                .filter(|m| m.starts_with("verify: "))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn jsonl(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect()
}

#[test]
fn an_equivalent_eql_conversion_says_nothing() {
    for rule in ["rules/seed/python_webserver_execution_linux.yml"] {
        for pipeline in [None, Some("ecs_linux")] {
            let mut args = vec!["convert", "-t", "eql", "-f", "jsonl", "--verify", rule];
            if let Some(p) = pipeline {
                args.extend(["-p", p]);
            }
            let out = sigmat(&args);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            let lines = jsonl(&out);
            assert_eq!(lines.len(), 1);
            assert!(lines[0]["queries"][0].is_string(), "{}", lines[0]);
            assert_eq!(
                verify_warnings(&lines[0]),
                Vec::<String>::new(),
                "{pipeline:?}"
            );
            assert!(!text(&out.stderr).contains("verify:"));
        }
    }
    // Cased tests and numbers come out equivalent in KQL too.
    let dir = tmp("cased");
    let cased = write_rule(&dir, "cased.yml", CASED);
    for target in ["eql", "kql"] {
        let out = sigmat(&["convert", "-t", target, "-f", "jsonl", "--verify", &cased]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(verify_warnings(&jsonl(&out)[0]), Vec::<String>::new());
    }
}

/// The witness event of a verify warning (the JSON after the last `: ` that opens an object).
fn witness(message: &str) -> serde_json::Value {
    let at = message.find(": {").expect("a witness event") + 2;
    serde_json::from_str(&message[at..]).expect("the witness is JSON")
}

/// `sigmat eval -r RULE` on one event: whether it matched.
fn matches(rule: &str, event: &serde_json::Value, dir: &Path) -> bool {
    let events = dir.join("event.json");
    std::fs::write(&events, event.to_string()).unwrap();
    let out = sigmat(&[
        "eval",
        "-r",
        rule,
        "--format",
        "jsonl",
        events.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    !text(&out.stdout).trim().is_empty()
}

/// A detection-rules TOML around a KQL query, for `sigmat eval`.
fn kql_rule(query: &str) -> String {
    format!(
        r#"[metadata]
creation_date = "2026/01/01"
maturity = "production"
updated_date = "2026/01/01"

[rule]
author = ["sigmat"]
description = "The query read back."
index = ["logs-*"]
language = "kuery"
license = "Apache-2.0"
name = "Read back"
risk_score = 21
rule_id = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
severity = "low"
type = "query"
query = '''
{query}
'''
"#
    )
}

#[test]
fn kql_case_sensitivity_shows_as_a_witness_event_that_eval_confirms() {
    let dir = tmp("kql");
    let rule = write_rule(&dir, "contains.yml", CONTAINS);
    let out = sigmat(&["convert", "-t", "kql", "-f", "jsonl", "--verify", &rule]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = jsonl(&out);
    let query = lines[0]["queries"][0].as_str().unwrap().to_string();
    let warnings = verify_warnings(&lines[0]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    // The query catches less: B (the query) within A (the rule).
    assert!(
        w.starts_with("verify: the query is not equivalent to the rule: b_in_a"),
        "{w}"
    );
    assert!(w.contains("the rule matches, the query does not: {"), "{w}");
    // The text report on stderr carries it too.
    assert!(
        text(&out.stderr).contains(w.as_str()),
        "{}",
        text(&out.stderr)
    );

    let event = witness(w);
    let value = event["CommandLine"]
        .as_str()
        .expect("CommandLine in the witness");
    assert!(value.to_lowercase().contains(".dmp"), "{event}");
    assert!(!value.contains(".dmp"), "not the rule's own case: {event}");
    let back = dir.join("read_back.toml");
    std::fs::write(&back, kql_rule(&query)).unwrap();
    assert!(matches(&rule, &event, &dir), "the rule matches {event}");
    assert!(
        !matches(back.to_str().unwrap(), &event, &dir),
        "the query `{query}` does not match {event}"
    );
    // Sanity: both match the rule's own literal.
    let plain = serde_json::json!({"CommandLine": "x.dmp"});
    assert!(matches(&rule, &plain, &dir));
    assert!(matches(back.to_str().unwrap(), &plain, &dir));

    // SARIF carries the same warning.
    let out = sigmat(&["convert", "-t", "kql", "-f", "sarif", "--verify", &rule]);
    assert!(
        text(&out.stdout).contains("b_in_a"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn strict_refuses_what_warn_converts() {
    let dir = tmp("strict");
    let rule = write_rule(&dir, "contains.yml", CONTAINS);
    let out = sigmat(&[
        "convert",
        "-t",
        "kql",
        "-f",
        "jsonl",
        "--verify=strict",
        &rule,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines = jsonl(&out);
    assert_eq!(lines[0]["error"]["kind"], "unsupported", "{}", lines[0]);
    let message = lines[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("--verify=strict"), "{message}");
    assert!(message.contains("b_in_a"), "{message}");
    assert!(lines[0].get("queries").is_none());
    let stderr = text(&out.stderr);
    assert!(
        stderr.ends_with("converted 0, unsupported 1, failed 0\n"),
        "{stderr}"
    );
    // Counted as unsupported: `-s` skips it.
    let out = sigmat(&["convert", "-t", "kql", "-s", "--verify=strict", &rule]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("skipped: "));
    // The equivalent conversion passes strict.
    let cased = write_rule(&dir, "cased.yml", CASED);
    let out = sigmat(&["convert", "-t", "kql", "--verify=strict", &cased]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).is_empty());
}

#[test]
fn an_unreadable_query_is_a_finding_and_strict_refuses_it() {
    let dir = tmp("unreadable");
    // A keyword search: the eql backend looks in `message`, which the EQL reader refuses as
    // an analyzed text field.
    let rule = write_rule(
        &dir,
        "keywords.yml",
        "title: k\nlogsource: { product: windows }\ndetection:\n  kw: ['mimikatz']\n  condition: kw\n",
    );
    let out = sigmat(&["convert", "-t", "eql", "-f", "jsonl", "--verify", &rule]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let w = verify_warnings(&jsonl(&out)[0]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("verify: the query written cannot be read back by sigmat's EQL reader: "),
        "{w:?}"
    );
    let out = sigmat(&["convert", "-t", "eql", "--verify=strict", &rule]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot be read back"));
}

#[test]
fn verify_applies_to_eql_and_kql_only() {
    let out = sigmat(&[
        "convert",
        "-t",
        "lucene",
        "--verify",
        "rules/seed/python_webserver_execution_linux.yml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--verify applies to eql and kql"),
        "{}",
        text(&out.stderr)
    );
    let help = text(&sigmat(&["convert", "--help"]).stdout);
    assert!(help.contains("verify applies to eql and kql"), "{help}");
}

#[test]
fn the_library_api_refuses_under_strict_and_warns_otherwise() {
    for (mode, refused) in [(Verify::Warn, false), (Verify::Strict, true)] {
        let session = Session::builder()
            .target("kql")
            .verify(Some(mode))
            .build()
            .unwrap();
        let batch = session.load_str(CONTAINS, "contains.yml");
        let items = session.convert(&batch).unwrap();
        match (&items[0].outcome, refused) {
            (Outcome::Converted(c), false) => {
                assert!(
                    c.warnings.iter().any(|w| w.message.contains("b_in_a")),
                    "{:?}",
                    c.warnings
                );
            }
            (Outcome::Unsupported(e), true) => {
                assert!(e.kind.to_string().contains("--verify=strict"), "{e:?}");
            }
            (other, _) => panic!("{mode:?}: {other:?}"),
        }
    }
    // Without verify: no such warning.
    let session = Session::builder().target("kql").build().unwrap();
    let batch = session.load_str(CONTAINS, "contains.yml");
    let items = session.convert(&batch).unwrap();
    let Outcome::Converted(c) = &items[0].outcome else {
        panic!("{:?}", items[0].outcome)
    };
    assert!(c.warnings.iter().all(|w| !w.message.starts_with("verify:")));
}

#[test]
fn a_small_budget_answers_not_proven_naming_the_budget() {
    let out = sigmat(&[
        "convert",
        "-t",
        "eql",
        "-f",
        "jsonl",
        "--verify",
        "--verify-budget",
        "1",
        "rules/seed/python_webserver_execution_linux.yml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let w = verify_warnings(&jsonl(&out)[0]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("verify: not proven equivalent: "), "{w:?}");
    assert!(w[0].contains("budget"), "{w:?}");
    assert!(!w[0].contains("not equivalent to the rule"), "{w:?}");
    // Strict means proven: refused.
    let out = sigmat(&[
        "convert",
        "-t",
        "eql",
        "--verify=strict",
        "--verify-budget",
        "1",
        "rules/seed/python_webserver_execution_linux.yml",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not proven"),
        "{}",
        text(&out.stderr)
    );
}
