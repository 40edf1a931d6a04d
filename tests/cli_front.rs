//! The `check` and `inspect` commands, run as the built binary.

use std::process::Command;

fn sigmat(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("sigmat runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_valid_folder_exits_zero_with_summary() {
    let (code, out, _) = sigmat(&["check", "rules/modifiers", "rules/seed"]);
    assert_eq!(code, 0, "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.ends_with("0 invalid (26 files)") && last.starts_with("26 documents: 26 valid"),
        "{last}"
    );
}

#[test]
fn check_reports_every_error_and_fails() {
    let (code, out, _) = sigmat(&["check", "rules/errors"]);
    assert_eq!(code, 1);
    let n = std::fs::read_dir("rules/errors")
        .map(Iterator::count)
        .unwrap_or(0);
    assert_eq!(out.matches("error[").count(), n, "{out}");
    assert!(out.contains("error[unknown_modifier]: unknown modifier `endswit`"));
    assert!(
        out.contains("rules/errors/unknown_modifier.yml:14:9 (detection.selection.Image|endswit)")
    );
    assert!(out.contains(&format!("{n} documents: 0 valid, {n} invalid ({n} files)")));
}

#[test]
fn check_json_has_counts_and_errors() {
    let (code, out, _) = sigmat(&[
        "check",
        "--format",
        "json",
        "rules/errors/invalid_cidr.yml",
        "rules/seed",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(v["documents"], 2);
    assert_eq!(v["valid"], 1);
    assert_eq!(v["invalid"], 1);
    assert_eq!(v["files"], 2);
    assert_eq!(v["errors"][0]["kind"], "invalid_cidr");
    assert_eq!(v["errors"][0]["location"]["line"], 14);
    assert_eq!(v["errors"][0]["hint"], "did you mean `10.0.0.0/8`?");
}

#[test]
fn inspect_prints_the_ir() {
    let seed = "rules/seed/python_webserver_execution_linux.yml";
    let (code, out, _) = sigmat(&["inspect", seed]);
    assert_eq!(code, 0);
    assert!(out.starts_with("type: rule\n"), "{out}");
    assert!(out.contains("pattern: '*/python3.*'"));
    let (code, out, _) = sigmat(&["inspect", "--format", "json", seed]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(v["meta"]["id"], "3f0f5957-04f8-4792-ad89-192b0303bde6");
    assert_eq!(v["conditions"].as_array().map(Vec::len), Some(1));
    let (code, _, err) = sigmat(&["inspect", "rules/errors/invalid_regex.yml"]);
    assert_eq!(code, 1);
    assert!(err.contains("error[invalid_regex]"));
    let (code, out, _) = sigmat(&[
        "inspect",
        "--format",
        "json",
        "rules/correlation/event_count.yml",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(v.as_array().map(Vec::len), Some(2));
}

#[test]
fn check_warns_without_failing() {
    let (code, out, _) = sigmat(&["check", "rules/placeholders", "rules/correlation"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning: rules/placeholders/expand.yml: `Placeholder with expand` uses placeholders %Administrators%"), "{out}");
    // Every correlation fixture bundles the rules it refers to.
    assert!(!out.contains("none of the checked files define"), "{out}");
    let (code, out, _) = sigmat(&[
        "check",
        "rules/correlation/temporal.yml",
        "rules/modifiers/contains.yml",
    ]);
    assert_eq!(code, 0);
    assert!(!out.contains("warning"), "{out}");
    let dir = std::env::temp_dir().join(format!("sigmat-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("corr.yml");
    std::fs::write(
        &f,
        "title: c\ncorrelation:\n    type: event_count\n    rules: [nowhere]\n    timespan: 1m\n    condition: {gte: 2}\n",
    )
    .expect("write");
    let (code, out, _) = sigmat(&["check", f.to_str().expect("utf-8 path")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0);
    assert!(out.contains("refers to rule `nowhere`, which none of the checked files define (correlation.rules[0])"), "{out}");
}

#[test]
fn check_warns_about_duplicate_ids() {
    let seed = "rules/seed/python_webserver_execution_linux.yml";
    let (code, out, _) = sigmat(&["check", seed, seed]);
    assert_eq!(code, 0);
    assert!(
        out.contains("id `3f0f5957-04f8-4792-ad89-192b0303bde6` is also used in rules/seed/python_webserver_execution_linux.yml (id)"),
        "{out}"
    );
}

#[test]
fn check_locates_a_yaml_syntax_error() {
    let (code, out, _) = sigmat(&["check", "rules/errors/yaml.yml"]);
    assert_eq!(code, 1, "{out}");
    // The parser's context says where the unterminated quote began.
    assert!(
        out.contains("error[yaml]: invalid YAML: found unexpected end of stream, while scanning a quoted scalar at line 7 column 16"),
        "{out}"
    );
    // file:line:column of the position the YAML parser stopped at.
    assert!(out.contains("--> rules/errors/yaml.yml:9:1"), "{out}");
    assert!(
        out.ends_with("1 documents: 0 valid, 1 invalid (1 files)\n"),
        "{out}"
    );
}
