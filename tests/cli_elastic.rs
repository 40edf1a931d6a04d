//! `sigmat convert -f elastic-toml | kibana-ndjson` end to end, through the binary.

use std::path::PathBuf;
use std::process::Command;

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/rules/seed/python_webserver_execution_linux.yml"
);

fn sigmat(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .args(args)
        .output()
        .expect("sigmat runs")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sigmat-cli-elastic-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

#[test]
fn seed_converts_to_a_toml_file_under_its_os_folder() {
    let dir = tmp("toml");
    // The command of issue 6's done-when: -t eql -p ecs_linux -f elastic-toml.
    let out = sigmat(&[
        "convert",
        "-t",
        "eql",
        "-p",
        "ecs_linux",
        "-f",
        "elastic-toml",
        "-o",
        dir.to_str().expect("utf-8"),
        SEED,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let file = dir.join("linux/exfiltration_python_webserver_execution_linux.toml");
    let text = std::fs::read_to_string(&file).expect("file written");
    let doc: toml::Table = toml::from_str(&text).expect("valid TOML");
    let r = &doc["rule"];
    assert_eq!(r["type"].as_str(), Some("eql"));
    assert_eq!(
        r["rule_id"].as_str(),
        Some("3f0f5957-04f8-4792-ad89-192b0303bde6")
    );
    let q = r["query"].as_str().expect("query");
    assert!(q.starts_with("process where "), "{q}");
    assert!(q.contains("process.command_line"), "{q}");
    // The pipeline's routing reaches the file.
    assert_eq!(
        r["index"][0].as_str(),
        Some("logs-endpoint.events.process*")
    );
    assert_eq!(doc["metadata"]["integration"][0].as_str(), Some("endpoint"));
    assert!(!stderr.contains("no index from a pipeline"), "{stderr}");
    let th = &r["threat"][0];
    assert_eq!(th["tactic"]["name"].as_str(), Some("Exfiltration"));
    assert_eq!(
        th["technique"][0]["subtechnique"][0]["name"].as_str(),
        Some("Exfiltration Over Unencrypted Non-C2 Protocol")
    );
    assert!(text.contains("\nquery = '''\n"));
    assert!(
        stderr.contains("converted 1, unsupported 0, failed 0"),
        "{stderr}"
    );
    assert!(stderr.contains("wrote 1 file(s)"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn kibana_ndjson_goes_to_one_file_one_line_per_rule() {
    let dir = tmp("ndjson");
    let file = dir.join("out.ndjson");
    for target in ["eql", "kql", "lucene", "esql"] {
        let out = sigmat(&[
            "convert",
            "-t",
            target,
            "-f",
            "kibana-ndjson",
            "-o",
            file.to_str().expect("utf-8"),
            SEED,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&file).expect("written");
        assert_eq!(text.lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).expect("JSON");
        let (lang, ty) = match target {
            "eql" => ("eql", "eql"),
            "kql" => ("kuery", "query"),
            "lucene" => ("lucene", "query"),
            _ => ("esql", "esql"),
        };
        assert_eq!(v["language"].as_str(), Some(lang), "{target}");
        assert_eq!(v["type"].as_str(), Some(ty), "{target}");
        assert_eq!(v["index"].is_null(), target == "esql", "{target}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn non_elastic_backends_are_a_usage_error() {
    let out = sigmat(&["convert", "-t", "sqlite", "-f", "elastic-toml", SEED]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error[usage]"), "{stderr}");
    assert!(
        stderr.contains("-t eql, -t kql, -t lucene or -t esql"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn elastic_toml_into_a_file_is_a_usage_error() {
    let dir = tmp("file");
    let f = dir.join("x.toml");
    std::fs::write(&f, "keep me").expect("write");
    let out = sigmat(&[
        "convert",
        "-t",
        "eql",
        "-f",
        "elastic-toml",
        "-o",
        f.to_str().expect("utf-8"),
        SEED,
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&f).expect("read"), "keep me");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn stdout_preview_names_each_file() {
    let out = sigmat(&["convert", "-t", "eql", "-f", "elastic-toml", SEED]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(
        "# file: linux/exfiltration_python_webserver_execution_linux.toml\n[metadata]\n"
    ));
}

#[test]
fn user_templates_from_backend_dir_replace_the_built_in_ones() {
    let dir = tmp("tpl");
    std::fs::create_dir_all(dir.join("templates/formats")).expect("mkdir");
    let builtin = include_str!("../templates/formats/kibana_ndjson.json.j2");
    assert!(builtin.contains("\"enabled\": false"));
    std::fs::write(
        dir.join("templates/formats/kibana_ndjson.json.j2"),
        builtin.replace("\"enabled\": false", "\"enabled\": true"),
    )
    .expect("write");
    let out = sigmat(&[
        "convert",
        "-t",
        "eql",
        "-f",
        "kibana-ndjson",
        "--backend-dir",
        dir.to_str().expect("utf-8"),
        SEED,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim_end()).expect("JSON");
    assert_eq!(v["enabled"], serde_json::Value::Bool(true));
    std::fs::remove_dir_all(&dir).ok();
}

/// The worked example backend (`tests/data/backend-dir`) copied to a fresh folder, with
/// `extra` appended to its file.
fn mini_dir(name: &str, extra: &str) -> PathBuf {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/backend-dir");
    let dir = tmp(name);
    std::fs::create_dir_all(dir.join("templates/mini")).expect("mkdir");
    let yml = std::fs::read_to_string(src.join("mini.yml")).expect("mini.yml");
    std::fs::write(dir.join("mini.yml"), format!("{yml}\n{extra}\n")).expect("write");
    std::fs::copy(
        src.join("templates/mini/query.j2"),
        dir.join("templates/mini/query.j2"),
    )
    .expect("copy");
    dir
}

#[test]
fn a_user_backend_declaring_its_elastic_language_publishes() {
    let dir = mini_dir(
        "user-elastic",
        "elastic:\n  language: kuery\n  index: {linux: [\"mini-linux-*\"], \"*\": [\"mini-*\"]}",
    );
    let out = sigmat(&[
        "convert",
        "--backend-dir",
        dir.to_str().expect("utf-8"),
        "-t",
        "mini",
        "-f",
        "kibana-ndjson",
        SEED,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim_end()).expect("JSON");
    assert_eq!(v["language"].as_str(), Some("kuery"));
    assert_eq!(v["type"].as_str(), Some("query"));
    // No pipeline routed the rule: the backend's patterns for its product (linux).
    assert_eq!(v["index"], serde_json::json!(["mini-linux-*"]));
    assert!(
        stderr.contains("using the default for product `linux`: mini-linux-*"),
        "{stderr}"
    );
    assert!(v["query"]
        .as_str()
        .is_some_and(|q| q.starts_with("process | ")));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_user_backend_without_an_elastic_language_is_a_usage_error_naming_the_key() {
    let dir = mini_dir("user-no-elastic", "");
    let out = sigmat(&[
        "convert",
        "--backend-dir",
        dir.to_str().expect("utf-8"),
        "-t",
        "mini",
        "-f",
        "elastic-toml",
        SEED,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error[usage]"), "{stderr}");
    assert!(stderr.contains("backend `mini`"), "{stderr}");
    assert!(stderr.contains("elastic.language"), "{stderr}");
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}
