//! Sigma `event_count` / `value_count` correlations published as Elastic threshold rules
//! (`sigmat convert -t kql|lucene -f elastic-toml|kibana-ndjson`): `type = "threshold"`, the one
//! correlated rule's query, `[rule.threshold]` with `field` from group-by and `value` from the
//! lower bound (`gt: N` is at least N + 1), `value_count` as a `cardinality` entry; the look-back
//! is the timespan, with a warning; other types and conditions refused by name.

use std::path::{Path, PathBuf};
use std::process::Command;

fn sigmat(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("sigmat runs")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sigmat-threshold-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The TOML files written under `dir`, parsed, by file stem.
fn written(dir: &Path) -> Vec<(String, toml::Table)> {
    let mut out = Vec::new();
    for os in std::fs::read_dir(dir).expect("output folder") {
        for f in std::fs::read_dir(os.expect("entry").path()).expect("os folder") {
            let p = f.expect("entry").path();
            let text = std::fs::read_to_string(&p).expect("toml");
            let stem = p.file_stem().expect("stem").to_string_lossy().to_string();
            out.push((stem, toml::from_str(&text).expect("valid TOML")));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn event_count_and_value_count_become_threshold_rules() {
    let dir = tmp("toml");
    let out = sigmat(&[
        "convert",
        "-t",
        "kql",
        "-f",
        "elastic-toml",
        "-o",
        dir.to_str().expect("utf-8"),
        "rules/correlation/event_count.yml",
        "rules/correlation/value_count.yml",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("not sliding windows"), "{stderr}");
    let files = written(&dir);
    let rule = |stem: &str| {
        files
            .iter()
            .find(|(s, _)| s == stem)
            .unwrap_or_else(|| {
                panic!(
                    "{stem} in {:?}",
                    files.iter().map(|f| &f.0).collect::<Vec<_>>()
                )
            })
            .1["rule"]
            .clone()
    };
    let ec = rule("brute_force_by_user");
    assert_eq!(ec["type"].as_str(), Some("threshold"));
    assert_eq!(ec["language"].as_str(), Some("kuery"));
    assert_eq!(ec["query"].as_str().map(str::trim), Some("EventID:4625"));
    assert_eq!(
        ec["rule_id"].as_str(),
        Some("3c43c561-2e2c-58cc-abe5-3287c279514c")
    );
    assert_eq!(ec["from"].as_str(), Some("now-300s"));
    assert_eq!(ec["interval"].as_str(), Some("300s"));
    let th = &ec["threshold"];
    assert_eq!(
        th["field"].as_array().expect("field list"),
        &vec![
            toml::Value::from("TargetUserName"),
            toml::Value::from("IpAddress")
        ]
    );
    assert_eq!(th["value"].as_integer(), Some(10));
    assert!(th.get("cardinality").is_none());
    // value_count with `gt: 20`: at least 21 distinct users per source address.
    let vc = rule("many_distinct_users_from_one_source");
    let th = &vc["threshold"];
    assert_eq!(th["field"].as_array().map(Vec::len), Some(1));
    assert_eq!(th["value"].as_integer(), Some(1));
    let card = th["cardinality"].as_array().expect("cardinality");
    assert_eq!(card.len(), 1);
    assert_eq!(card[0]["field"].as_str(), Some("TargetUserName"));
    assert_eq!(card[0]["value"].as_integer(), Some(21));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kibana_threshold_objects() {
    let out = sigmat(&[
        "convert",
        "-t",
        "lucene",
        "-f",
        "kibana-ndjson",
        "rules/correlation/event_count.yml",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let t = objs
        .iter()
        .find(|o| o["type"] == "threshold")
        .expect("a threshold rule");
    assert_eq!(t["language"], "lucene");
    assert_eq!(
        t["threshold"],
        serde_json::json!({"field": ["TargetUserName", "IpAddress"], "value": 10})
    );
}

#[test]
fn other_correlations_are_refused_by_name() {
    for (file, backend, why) in [
        (
            "rules/correlation/temporal.yml",
            "kql",
            "`temporal` correlation rules as threshold rules",
        ),
        (
            "rules/correlation/upper.yml",
            "kql",
            "other than one integral `gte` or `gt`",
        ),
        (
            "rules/correlation/value_sum.yml",
            "lucene",
            "`value_sum` correlation rules as threshold rules",
        ),
        ("rules/correlation/two_rules.yml", "kql", "several rules"),
        (
            "rules/correlation/event_count.yml",
            "esql",
            "threshold rules are KQL or Lucene",
        ),
    ] {
        let out = sigmat(&["convert", "-t", backend, "-f", "kibana-ndjson", file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{file} ({backend}): {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("\"threshold\""), "{file}: {stdout}");
    }
}
