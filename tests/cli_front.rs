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

/// A temporary folder for one test.
fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sigmat-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn unused_identifiers_warn_and_fail_only_under_strict() {
    let f = "rules/condition/unused_identifier.yml";
    let (code, out, _) = sigmat(&["check", f]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("warning[unused_identifier]: detection identifier `sel_b` is not used by the condition\n  --> rules/condition/unused_identifier.yml:15:5 (detection.sel_b)\n"),
        "{out}"
    );
    assert!(
        out.ends_with("1 documents: 1 valid, 0 invalid (1 files)\n"),
        "{out}"
    );
    let (code, out, _) = sigmat(&["check", "--strict", f]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("error[unused_identifier]:"), "{out}");
    assert!(
        out.ends_with("1 documents: 0 valid, 1 invalid (1 files)\n"),
        "{out}"
    );
    let (code, out, _) = sigmat(&["check", "--format", "json", f]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(v["valid"], 1);
    assert_eq!(v["warnings"][0]["kind"], "unused_identifier");
    assert_eq!(v["warnings"][0]["location"]["line"], 15);
    let (code, out, _) = sigmat(&["check", "--strict", "--format", "json", f]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(v["invalid"], 1);
    assert_eq!(v["errors"][0]["kind"], "unused_identifier");
    assert_eq!(v["strict"], true);
    // `--strict` also fails on the checks' own warnings (duplicate ids).
    let seed = "rules/seed/python_webserver_execution_linux.yml";
    let (code, out, _) = sigmat(&["check", "--strict", seed, seed]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error: rules/seed/python_webserver_execution_linux.yml: id `"),
        "{out}"
    );
    let (code, _, _) = sigmat(&["check", "--strict", seed]);
    assert_eq!(code, 0);
}

#[test]
fn empty_files_warn_and_fail_under_strict() {
    let dir = temp("empty");
    std::fs::write(dir.join("empty.yml"), "").expect("write");
    std::fs::write(dir.join("comments.yml"), "# nothing yet\n\n").expect("write");
    let d = dir.to_str().expect("utf-8 path");
    let (code, out, _) = sigmat(&["check", d]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.matches("warning[empty_file]: the file holds no Sigma document")
            .count(),
        2,
        "{out}"
    );
    assert!(out.contains(&format!("--> {d}/comments.yml\n")), "{out}");
    assert!(
        out.ends_with("0 documents: 0 valid, 0 invalid (2 files)\n"),
        "{out}"
    );
    let (code, out, _) = sigmat(&["check", "--strict", d]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("error[empty_file]").count(), 2, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inspect_a_folder_says_what_to_do() {
    let (code, out, err) = sigmat(&["inspect", "rules/seed"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(!err.contains("Is a directory"), "{err}");
    assert!(
        err.contains(
            "error[usage]: `rules/seed` is a folder; `inspect` prints the IR of one Sigma file"
        ),
        "{err}"
    );
    assert!(err.contains("sigmat inspect rules/seed/RULE.yml"), "{err}");
    assert!(err.contains("sigmat check rules/seed"), "{err}");
    // An empty file: its warning on stderr, exit 1 (nothing to print).
    let dir = temp("inspect-empty");
    let f = dir.join("e.yml");
    std::fs::write(&f, "# nothing\n").expect("write");
    let (code, out, err) = sigmat(&["inspect", f.to_str().expect("utf-8 path")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("warning[empty_file]"), "{err}");
}

#[test]
fn check_and_inspect_survive_a_closed_stdout() {
    for (args, want) in [
        (&["check", "rules/errors"][..], 1),
        (
            &["inspect", "rules/seed/python_webserver_execution_linux.yml"][..],
            0,
        ),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sigmat"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sigmat runs");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("waits");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(want), "{args:?}: {err}");
    }
}

#[test]
fn convert_and_eval_run_rules_with_unused_identifiers_and_print_the_warning() {
    let f = "rules/condition/unused_identifier.yml";
    let (code, out, err) = sigmat(&["convert", "-t", "eql", f]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "process where Image : \"*\\\\a.exe\"\nprocess where CommandLine : \"*evil*\"\n"
    );
    assert!(
        err.starts_with("warning[unused_identifier]: detection identifier `sel_b` is not used by the condition\n  --> rules/condition/unused_identifier.yml:15:5"),
        "{err}"
    );
    assert!(
        err.contains("converted 1, unsupported 0, failed 0"),
        "{err}"
    );
    let dir = temp("eval-unused");
    let ev = dir.join("ev.json");
    std::fs::write(
        &ev,
        "{\"Image\":\"C:\\\\a.exe\"}\n{\"Image\":\"b\",\"User\":\"SYSTEM\"}\n",
    )
    .expect("write");
    let (code, out, err) = sigmat(&[
        "eval",
        "-r",
        f,
        "--format",
        "jsonl",
        ev.to_str().expect("utf-8 path"),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(err.contains("warning[unused_identifier]"), "{err}");
}

/// The peak resident memory (VmHWM, KiB) of `sigmat ARGS`, polled from `/proc` while it
/// runs; `None` where `/proc` does not exist.
fn peak_rss_kib(args: &[&str]) -> Option<(u64, i32)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sigmat runs");
    let status = format!("/proc/{}/status", child.id());
    let mut peak = None;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status) {
            if let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = Some(peak.map_or(kb, |p: u64| p.max(kb)));
            }
        }
        if let Some(st) = child.try_wait().expect("waits") {
            return peak.map(|p| (p, st.code().unwrap_or(-1)));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A large multi-document file is lowered document by document: `check` stays within a
/// small multiple of the file.
#[test]
fn check_memory_stays_within_a_small_multiple_of_a_multi_document_file() {
    if !std::path::Path::new("/proc/self/status").exists() {
        println!("skipped: no /proc to read the peak memory from");
        return;
    }
    let mut docs = Vec::new();
    for dir in [
        "rules/modifiers",
        "rules/values",
        "rules/condition",
        "rules/keywords",
    ] {
        for e in std::fs::read_dir(dir).expect("fixtures") {
            let text = std::fs::read_to_string(e.expect("entry").path()).expect("fixture");
            docs.push(text.trim_end().to_string());
        }
    }
    let one = docs.join("\n---\n");
    let mut big = String::new();
    while big.len() < 8_000_000 {
        if !big.is_empty() {
            big.push_str("\n---\n");
        }
        big.push_str(&one);
    }
    big.push('\n');
    let dir = temp("memory");
    let f = dir.join("big.yml");
    std::fs::write(&f, &big).expect("write");
    let measured = peak_rss_kib(&["check", f.to_str().expect("utf-8 path")]);
    let _ = std::fs::remove_dir_all(&dir);
    let Some((kib, code)) = measured else {
        println!("skipped: the peak memory could not be read");
        return;
    };
    assert_eq!(code, 0);
    let ratio = (kib * 1024) as f64 / big.len() as f64;
    println!(
        "check: {} MB file, peak RSS {} MB ({ratio:.1}x)",
        big.len() >> 20,
        kib >> 10
    );
    // Before: 19.7x (every YAML tree held at once); now about 7x (the IR of every document).
    assert!(ratio < 12.0, "peak RSS {kib} KiB is {ratio:.1}x the file");
}
