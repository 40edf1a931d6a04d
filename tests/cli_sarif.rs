//! `-f sarif` of `check` and `convert`: one result per problem, the error kind as rule id, and
//! the same file and line:column as the JSON / text output. (`.ci/conformance-sarif` validates
//! the same output against the SARIF 2.1.0 schema.)

use std::process::Command;

use serde_json::Value;

fn run(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("sigmat runs");
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn check_sarif_has_one_located_result_per_error() {
    let json = run(&["check", "-f", "json", "rules/errors"]);
    let sarif = run(&["check", "-f", "sarif", "rules/errors"]);
    assert_eq!(sarif["version"], "2.1.0");
    let run0 = &sarif["runs"][0];
    let results = run0["results"].as_array().unwrap();
    let errors = json["errors"].as_array().unwrap();
    let errs: Vec<&Value> = results.iter().filter(|r| r["level"] == "error").collect();
    assert_eq!(errs.len(), errors.len());
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    for (r, e) in errs.iter().zip(errors) {
        assert_eq!(r["ruleId"], e["kind"]);
        // ruleIndex points at the rule with that id.
        let i = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[i]["id"], r["ruleId"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], e["location"]["file"]);
        if let Some(line) = e["location"]["line"].as_u64() {
            assert_eq!(loc["region"]["startLine"].as_u64(), Some(line), "{r}");
        }
        assert!(r["message"]["text"].as_str().unwrap().len() > 5);
    }
    // Most of the bad fixtures are located to a line.
    let lined = errs
        .iter()
        .filter(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64())
        .count();
    assert!(lined * 2 > errs.len(), "{lined} of {}", errs.len());
}

#[test]
fn convert_sarif_reports_failures_refusals_and_warnings() {
    let sarif = run(&[
        "convert",
        "-t",
        "kql",
        "-f",
        "sarif",
        "rules/adversarial",
        "rules/errors",
    ]);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let level = |l: &str| results.iter().filter(|r| r["level"] == l).count();
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "unsupported" && r["level"] == "error"));
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "backend_warning" && r["level"] == "warning"));
    assert!(level("error") >= std::fs::read_dir("rules/errors").unwrap().count());
    // Under --skip-unsupported a refusal is a note.
    let skipped = run(&[
        "convert",
        "-t",
        "kql",
        "-s",
        "-f",
        "sarif",
        "rules/adversarial",
    ]);
    let results = skipped["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "unsupported" && r["level"] == "note"));
    assert!(!results.iter().any(|r| r["level"] == "error"));
}
