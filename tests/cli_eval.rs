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

/// A fresh folder for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sigmat-cli-eval-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const HIT: &str = r#"{"Image": "/usr/bin/python3", "CommandLine": "python3 -m http.server 8000"}"#;

/// Issue 11, item 1: an invalid UTF-8 byte is reported on its record and skipped; the records
/// after it are read, in NDJSON, gzip, JSON arrays and concatenated JSON.
#[test]
fn invalid_utf8_is_one_skipped_record() {
    let dir = scratch("utf8");
    let bad = b"{\"a\":\"caf\xe9\"}";
    let mut ndjson = Vec::new();
    for _ in 0..10_000 {
        ndjson.extend_from_slice(b"{\"a\": 1}\n");
    }
    ndjson.extend_from_slice(bad);
    ndjson.push(b'\n');
    for _ in 0..10 {
        ndjson.extend_from_slice(HIT.as_bytes());
        ndjson.push(b'\n');
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&ndjson).unwrap();
    let gz = gz.finish().unwrap();
    let array = [
        b"[".as_slice(),
        HIT.as_bytes(),
        b",",
        bad,
        b",",
        HIT.as_bytes(),
        b"]",
    ]
    .concat();
    // Concatenated JSON (the first value spans two lines).
    let multi_line = format!("{{\n{}", &HIT[1..]);
    let pretty = [
        multi_line.as_bytes(),
        b"\n{\n  \"a\": \"caf\xe9\"\n}\n",
        HIT.as_bytes(),
    ]
    .concat();
    let first = [bad.as_slice(), b"\n", HIT.as_bytes(), b"\n"].concat();
    for (name, bytes, events, matches, at) in [
        (
            "events.ndjson",
            &ndjson,
            10_011,
            10,
            "10001:10 (record 10001)",
        ),
        (
            "events.ndjson.gz",
            &gz,
            10_011,
            10,
            "10001:10 (record 10001)",
        ),
        ("array.json", &array, 3, 2, "1:87 (record 2)"),
        ("pretty.json", &pretty, 3, 2, "4:12 (record 2)"),
        ("first.json", &first, 2, 1, "1:10 (record 1)"),
    ] {
        let f = dir.join(name);
        std::fs::write(&f, bytes).unwrap();
        let fs = f.to_str().unwrap();
        let (code, out, err) = sigmat(&["eval", "-r", SEED, fs], "");
        assert_eq!(code, 1, "{name}: {err}");
        assert_eq!(out.lines().count(), matches, "{name}: {out}");
        assert!(
            err.contains(&format!("{events} events (1 malformed), {matches} matches")),
            "{name}: {err}"
        );
        assert!(err.contains("invalid UTF-8 (byte 0xe9)"), "{name}: {err}");
        assert!(err.contains(&format!("{fs}:{at}")), "{name}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 11, item 15: concatenated values on one line are read one by one; a record that is
/// not a JSON object is reported and skipped.
#[test]
fn concatenated_on_one_line_and_non_object_records() {
    let input = format!("{HIT}{HIT}\n[1,2,3]\n\"str\"\n{HIT} {{\"a\":1}}\n");
    let (code, out, err) = sigmat(&["eval", "-r", SEED, "--format", "jsonl"], &input);
    assert_eq!(code, 1, "{err}");
    let records: Vec<u64> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["record"]
                .as_u64()
                .unwrap()
        })
        .collect();
    // NDJSON: line 1 holds records 1 and 2, line 2 (an array) is record 3, line 3 (a string)
    // record 4, line 4 records 5 and 6.
    assert_eq!(records, [1, 2, 5], "{out}");
    assert!(err.contains("6 events (2 malformed), 3 matches"), "{err}");
    assert_eq!(err.matches("must be a JSON object").count(), 2, "{err}");
    assert!(err.contains("found an array"), "{err}");
    assert!(err.contains("found a string"), "{err}");
    assert!(err.contains("<stdin>:3:1 (record 4)"), "{err}");
}

/// Issue 11, item 6: a record larger than `--max-record-size` is reported and skipped; the
/// others are read.
#[test]
fn max_record_size_skips_larger_records() {
    let big = format!(
        r#"{{"Image": "/usr/bin/python3", "CommandLine": "python3 -m http.server {}"}}"#,
        "9".repeat(2000)
    );
    for input in [
        format!("{HIT}\n{big}\n{HIT}\n"),
        format!("[{HIT}, {big}, {HIT}]"),
        format!("{HIT}{big}{HIT}"),
    ] {
        let (code, out, err) = sigmat(&["eval", "-r", SEED, "--max-record-size", "1K"], &input);
        assert_eq!(code, 1, "{err}");
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(
            err.contains("larger than the limit of 1 KiB (1024 bytes)"),
            "{err}"
        );
        assert!(err.contains("3 events (1 malformed), 2 matches"), "{err}");
        let (code, out, err) = sigmat(&["eval", "-r", SEED], &input);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.lines().count(), 3, "{out}");
    }
    let (code, _, err) = sigmat(&["eval", "-r", SEED, "--max-record-size", "12X"], HIT);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown size unit"), "{err}");
}

#[test]
fn with_event_needs_jsonl_output() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["eval", "-r", "rules/seed", "--with-event", "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sigmat runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--with-event") && err.contains("-f jsonl"),
        "{err}"
    );
}

/// Issue 16, item 8: matches are located like errors, by the line where the event starts
/// (`path:line`, `path:line:column` for a value that is not the first on its line), and jsonl
/// matches carry the line, the column and the record number.
#[test]
fn matches_are_located_by_line() {
    let hit = r#"{"Image": "/usr/bin/python3", "CommandLine": "python3 -m http.server"}"#;
    let pretty = format!("{{\n  \"Other\": 1\n}}\n{{\n  \"Image\": \"/usr/bin/python3\",\n  \"CommandLine\": \"python3 -m http.server\"\n}}\n{hit} {hit}\n");
    let (code, out, err) = sigmat(&["eval", "-q", "-r", SEED], &pretty);
    assert_eq!(code, 0, "{err}");
    let locs: Vec<&str> = out.lines().map(|l| l.split(": ").next().unwrap()).collect();
    assert_eq!(locs, ["<stdin>:4", "<stdin>:8", "<stdin>:8:72"], "{out}");
    let (_, out, _) = sigmat(&["eval", "-q", "-f", "jsonl", "-r", SEED], &pretty);
    let got: Vec<(u64, u64, u64)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["line"].as_u64().unwrap(),
                v["column"].as_u64().unwrap(),
                v["record"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(4, 1, 2), (8, 1, 3), (8, 72, 4)]);
}
