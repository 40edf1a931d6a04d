//! `sigmat eval` end to end: formats, stdin, malformed records, exit status.

use std::io::Write;
use std::process::{Command, Stdio};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/rules/seed/python_webserver_execution_linux.yml"
);

fn sigmat(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // sigmat may exit before reading stdin (usage errors): a broken pipe is not a failure.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const EVENTS: &str = r#"{"Image": "/usr/bin/python3", "CommandLine": "python3 -m http.server 8000"}
{"Image": "/usr/bin/python3.11", "CommandLine": "python3 -m HTTP.SERVER"}
{"Image": "/usr/bin/python3", "CommandLine": "python3 -m http.serve"}
{"CommandLine": "python3 -m http.server"}
"#;

#[test]
fn jsonl_from_stdin() {
    let (code, out, err) = sigmat(&["eval", "-r", SEED, "--format", "jsonl"], EVENTS);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["rule_id"], "3f0f5957-04f8-4792-ad89-192b0303bde6");
    assert_eq!(lines[0]["title"], "Python WebServer Execution - Linux");
    assert_eq!(lines[0]["level"], "medium");
    assert_eq!(lines[0]["input"], "<stdin>");
    assert_eq!(lines[0]["record"], 1);
    assert_eq!(lines[1]["record"], 2);
    assert!(lines[0]["rule_path"]
        .as_str()
        .unwrap()
        .ends_with("python_webserver_execution_linux.yml"));
    assert!(lines[0].get("event").is_none());
    assert!(err.contains("4 events (0 malformed), 2 matches"), "{err}");
}

#[test]
fn with_event_text_and_malformed_records() {
    let dir = std::env::temp_dir().join(format!("sigmat-cli-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("events.json");
    std::fs::write(&f, format!("{EVENTS}{{not json\n")).unwrap();
    let fs = f.to_str().unwrap();
    let (code, out, err) = sigmat(
        &["eval", "-r", SEED, "--format", "jsonl", "--with-event", fs],
        "",
    );
    assert_eq!(code, 1, "a malformed record makes the exit status 1: {err}");
    assert!(err.contains("error[event]"), "{err}");
    assert!(err.contains("(record 5)"), "{err}");
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"]["CommandLine"], "python3 -m http.server 8000");
    assert_eq!(first["input"], fs);

    let (_, out, _) = sigmat(&["eval", "-r", SEED, fs], "");
    assert_eq!(
        out.lines().next().unwrap(),
        format!("{fs}:1: medium Python WebServer Execution - Linux (3f0f5957-04f8-4792-ad89-192b0303bde6)")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(sigmat(&["eval"], "").0, 2);
    let (code, _, err) = sigmat(&["eval", "-r", "/nonexistent/rules"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no rule to run"), "{err}");
}

#[test]
fn pipelines_apply_before_compilation() {
    // The same Sigma rule on ECS-shaped (Elastic Defend) events, through `-p ecs_linux`.
    let ecs = r#"{"host": {"os": {"type": "linux"}}, "event": {"type": ["start"], "action": "exec"}, "process": {"executable": "/usr/bin/python3", "command_line": "python3 -m http.server"}}
{"host": {"os": {"type": "linux"}}, "event": {"type": ["start"], "action": "exec"}, "process": {"executable": "/usr/bin/python3", "command_line": "python3 -m venv x"}}
{"Image": "/usr/bin/python3", "CommandLine": "python3 -m http.server 8000"}
"#;
    let (code, out, err) = sigmat(
        &["eval", "-r", SEED, "-p", "ecs_linux", "--format", "jsonl"],
        ecs,
    );
    assert_eq!(code, 0, "{err}");
    let records: Vec<u64> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["record"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(records, [1], "{out}");
    let (code, _, err) = sigmat(&["eval", "-r", SEED, "-p", "no_such_pipeline"], ecs);
    assert_eq!(code, 2, "{err}");
}
