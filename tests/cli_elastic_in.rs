//! Elastic detection-rules TOML through the commands: `check`, `inspect`, `convert` and `eval`
//! read `.toml` files and folders beside Sigma YAML (through the session's loader).

use std::process::{Command, Output};

fn sigmat(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sigmat runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().expect("sigmat ends")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_reads_toml_folders_with_located_errors() {
    let out = sigmat(&["check", "-f", "json", "rules/elastic"], None);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bad = std::fs::read_dir("rules/elastic/errors").unwrap().count();
    let toml_in = |dir: &str| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension() == Some("toml".as_ref()))
            .count()
    };
    let good = toml_in("rules/elastic") + toml_in("rules/elastic/seeds");
    assert_eq!(v["documents"], bad + good);
    assert_eq!(v["valid"], good);
    for e in v["errors"].as_array().unwrap() {
        let file = e["location"]["file"].as_str().unwrap();
        assert!(file.starts_with("rules/elastic/errors/"), "{e}");
        assert!(e["location"]["line"].as_u64().is_some(), "not located: {e}");
    }
}

#[test]
fn an_elastic_rule_converts_and_evaluates() {
    let rule = "rules/elastic/python_webserver.toml";
    let out = sigmat(&["convert", "-t", "eql", "-f", "jsonl", rule], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let query = line["queries"][0].as_str().unwrap();
    assert!(
        query.starts_with("any where event.category == \"process\" and "),
        "{query}"
    );
    assert!(query.contains("process.name like \"python*\""), "{query}");
    // KQL and SQL too: any backend.
    for t in ["kql", "sqlite", "esql"] {
        let out = sigmat(&["convert", "-t", t, rule], None);
        assert_eq!(out.status.code(), Some(0), "{t}: {}", text(&out.stderr));
    }
    // Native evaluation with Elasticsearch's meaning: `like` is case-sensitive.
    let events = concat!(
        r#"{"event":{"category":"process","type":"start"},"host":{"os":{"type":"linux"}},"process":{"name":"python3","args":["python3","-m","http.server"],"command_line":"python3 -m http.server","parent":{"executable":"/bin/bash"}}}"#,
        "\n",
        r#"{"event":{"category":"process","type":"start"},"host":{"os":{"type":"linux"}},"process":{"name":"PYTHON3","args":["python3","-m","http.server"],"command_line":"x","parent":{"executable":"/bin/bash"}}}"#,
        "\n",
        r#"{"event":{"category":"process","type":"start"},"host":{"os":{"type":"linux"}},"process":{"name":"python3","args":["python3","-m","http.server"],"command_line":"python3 -m http.server","parent":{"executable":"/usr/lib/systemd/systemd"}}}"#,
        "\n",
    );
    let out = sigmat(&["eval", "-f", "jsonl", "-r", rule, "-"], Some(events));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let records: Vec<u64> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["record"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(records, [1], "{}", text(&out.stdout));
}

#[test]
fn check_summarises_elastic_rules_per_type_and_reason() {
    let out = sigmat(
        &["check", "rules/elastic_eval", "rules/elastic/errors"],
        None,
    );
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("elastic rules read into the IR"))
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    assert!(line.contains("eql 5/6"), "{line}");
    assert!(line.contains("threshold 2/2"), "{line}");
    assert!(line.contains("query/kuery 0/1"), "{line}");
    assert!(line.contains("2 × error `query_syntax`"), "{line}");
    let out = sigmat(&["check", "-f", "json", "rules/elastic_eval"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["elastic"]["types"]["eql"], serde_json::json!([5, 5]));
    assert_eq!(
        v["elastic"]["types"]["threshold"],
        serde_json::json!([2, 2])
    );
    assert_eq!(
        v["documents"], 11,
        "4 sequences, 2 threshold rules of 2 documents, a sample of 3 (2 queries, 1 correlation)"
    );
}

#[test]
fn a_sequence_publishes_as_an_eql_rule_that_reads_back_as_a_sequence() {
    let dir = std::env::temp_dir().join(format!("sigmat-seq-pub-{}", std::process::id()));
    let out_dir = format!("{}/", dir.display());
    let out = sigmat(
        &[
            "convert",
            "-t",
            "eql",
            "-f",
            "elastic-toml",
            "-o",
            &out_dir,
            "rules/elastic_eval/sequence_until.toml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_type().is_file())
        .expect("one file written");
    let rule = sigmat::read::read_file(file.path()).unwrap();
    let docs = sigmat::read::lower_document(rule).unwrap();
    let [sigmat::ir::Document::Sequence(s)] = docs.as_slice() else {
        panic!("{docs:?}");
    };
    assert_eq!(s.steps.len(), 2);
    assert!(s.until.is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rule_types_the_ir_cannot_hold_are_unsupported_not_failed() {
    let dir = std::env::temp_dir().join(format!("sigmat-elastic-in-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::fs::read_to_string("rules/elastic/python_webserver.toml").unwrap();
    let ml = src.replace("type = \"eql\"", "type = \"machine_learning\"");
    assert_ne!(ml, src);
    let file = dir.join("ml.toml");
    std::fs::write(&file, ml).unwrap();
    let f = file.to_str().unwrap();
    let out = sigmat(&["convert", "-t", "eql", f], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).ends_with("converted 0, unsupported 1, failed 0\n"),
        "{}",
        text(&out.stderr)
    );
    let out = sigmat(&["convert", "-t", "eql", "-s", f], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}
