//! `sigmat convert` and `sigmat list` end to end: formats, summary line, exit status, one bad
//! rule never stopping the batch, deterministic order, atomic output files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
    let d = std::env::temp_dir().join(format!("sigmat-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn default_format_prints_queries_and_summary() {
    let out = sigmat(&["convert", "-t", "eql", "rules/seed"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "process where Image like~ (\"*/python\", \"*/python2\", \"*/python3\", \"*/python2.*\", \"*/python3.*\") and CommandLine like~ (\"*http.server*\", \"*SimpleHTTPServer*\")\n"
    );
    assert!(text(&out.stderr).ends_with("converted 1, unsupported 0, failed 0\n"));
}

#[test]
fn bad_rules_are_reported_counted_and_do_not_stop_the_batch() {
    let out = sigmat(&[
        "convert",
        "-t",
        "eql",
        "-f",
        "jsonl",
        "rules/errors",
        "rules/seed",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[unknown_modifier]"), "{stderr}");
    assert!(
        stderr.contains("rules/errors/unknown_modifier.yml"),
        "{stderr}"
    );
    let summary = stderr.lines().last().unwrap();
    assert!(
        summary.starts_with("converted 1, unsupported 0, failed "),
        "{summary}"
    );
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let failed: usize = summary.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(lines.len(), failed + 1);
    let ok: Vec<_> = lines
        .iter()
        .filter(|l| l.get("queries").is_some())
        .collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["backend"], "eql");
    assert_eq!(
        ok[0]["path"],
        "rules/seed/python_webserver_execution_linux.yml"
    );
    let bad = lines
        .iter()
        .find(|l| l["path"] == "rules/errors/unknown_modifier.yml")
        .expect("the bad rule is in the output");
    assert_eq!(bad["error"]["kind"], "unknown_modifier");
    assert!(bad["error"]["message"]
        .as_str()
        .unwrap()
        .contains("endswit"));
}

#[test]
fn default_format_keeps_the_good_queries_and_counts_the_bad_rules() {
    let out = sigmat(&["convert", "-t", "eql", "rules/errors", "rules/seed"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // Only the good rule's query on stdout, the errors on stderr.
    assert_eq!(
        text(&out.stdout),
        "process where Image like~ (\"*/python\", \"*/python2\", \"*/python3\", \"*/python2.*\", \"*/python3.*\") and CommandLine like~ (\"*http.server*\", \"*SimpleHTTPServer*\")\n"
    );
    let stderr = text(&out.stderr);
    let bad = std::fs::read_dir("rules/errors").unwrap().count();
    assert_eq!(
        stderr.lines().last().unwrap(),
        format!("converted 1, unsupported 0, failed {bad}")
    );
    assert_eq!(stderr.matches("error[").count(), bad, "{stderr}");
}

#[test]
fn unsupported_rules_fail_the_run_unless_skipped() {
    let args = [
        "convert",
        "-t",
        "kql",
        "rules/adversarial/regex.yml",
        "rules/seed",
    ];
    let out = sigmat(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("unsupported by kql: regular expressions"));
    assert!(text(&out.stderr).ends_with("converted 1, unsupported 1, failed 0\n"));
    let mut skip = args.to_vec();
    skip.push("--skip-unsupported");
    let out = sigmat(&skip);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().count(), 1);
}

#[test]
fn output_is_deterministic_and_written_atomically() {
    let dir = tmp("out");
    let file = dir.join("queries.sql");
    let f = file.to_str().unwrap();
    let a = sigmat(&["convert", "-t", "sqlite", "-s", "-o", f, "rules"]);
    assert_eq!(a.status.code(), Some(1), "rules/ holds invalid fixtures");
    let first = std::fs::read_to_string(&file).unwrap();
    let b = sigmat(&["convert", "-t", "sqlite", "-s", "-o", f, "rules"]);
    assert_eq!(b.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), first);
    assert!(first.lines().count() > 50);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "queries.sql")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // Into a directory: one file per rule.
    let out = sigmat(&[
        "convert",
        "-t",
        "esql",
        "-o",
        dir.to_str().unwrap(),
        "rules/adversarial",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let q = std::fs::read_to_string(dir.join("quotes.esql")).unwrap();
    assert!(q.starts_with("FROM logs-* | WHERE "), "{q}");
    // `-o FILE` in a folder that does not exist yet: the folders are created.
    let nested = dir.join("a/b/queries.eql");
    let out = sigmat(&[
        "convert",
        "-t",
        "eql",
        "-o",
        nested.to_str().unwrap(),
        "rules/seed",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&nested)
        .unwrap()
        .starts_with("process where "));
    let sub = format!("{}/new/", dir.display());
    let out = sigmat(&["convert", "-t", "eql", "-o", &sub, "rules/seed"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir
        .join("new/python_webserver_execution_linux.eql")
        .is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn options_and_usage_errors() {
    let out = sigmat(&[
        "convert",
        "-t",
        "sqlite",
        "-O",
        "table=events",
        "rules/seed",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("SELECT * FROM \"events\" WHERE "));
    let out = sigmat(&[
        "convert",
        "-t",
        "sqlite",
        "-O",
        "tabel=events",
        "rules/seed",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("has no option `tabel`"));
    let out = sigmat(&["convert", "-t", "nosuch", "rules/seed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown backend `nosuch`"));
}

#[test]
fn pipelines_apply_before_rendering() {
    let out = sigmat(&["convert", "-t", "eql", "-p", "ecs_linux", "rules/seed"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("process.executable like~"));
}

#[test]
fn list_backends_and_formats() {
    let out = sigmat(&["list", "backends"]);
    assert_eq!(out.status.code(), Some(0));
    let names: Vec<String> = text(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "clickhouse",
            "duckdb",
            "eql",
            "esql",
            "kql",
            "lucene",
            "postgres",
            "sigma",
            "spark",
            "sqlite"
        ]
    );
    assert!(text(&out.stdout).contains("-O table=logs"));
    let out = sigmat(&["list", "formats"]);
    assert!(text(&out.stdout).starts_with("default"));
    assert!(text(&out.stdout).contains("jsonl"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/backend-dir");
    let out = sigmat(&["list", "backends", "--backend-dir", dir.to_str().unwrap()]);
    assert!(text(&out.stdout).contains("mini "));
}

#[test]
fn backend_pipeline_runs_after_the_users_whatever_the_priorities() {
    // The user's pipeline (priority 90) renames Image to proc_path; the backend's own pipeline
    // (priority 10) renames proc_path to process.executable. Sorted by priority alone the
    // backend's would run first and find nothing to rename.
    let d = tmp("backend-pipeline");
    let user = d.join("user.yml");
    std::fs::write(
        &user,
        "name: user\npriority: 90\ntransformations:\n- type: field_name_mapping\n  mapping:\n    Image: proc_path\n",
    )
    .unwrap();
    let own = d.join("own.yml");
    std::fs::write(
        &own,
        "name: own\npriority: 10\ntransformations:\n- type: field_name_mapping\n  mapping:\n    proc_path: process.executable\n",
    )
    .unwrap();
    std::fs::write(
        d.join("eqlp.yml"),
        format!("extends: eql\nname: eqlp\npipeline: {}\n", own.display()),
    )
    .unwrap();
    let out = sigmat(&[
        "convert",
        "-t",
        "eqlp",
        "--backend-dir",
        d.to_str().unwrap(),
        "-p",
        user.to_str().unwrap(),
        "rules/seed",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let q = text(&out.stdout);
    assert!(q.contains("process.executable like~"), "{q}");
    assert!(!q.contains("proc_path"), "{q}");
}

#[test]
fn list_pipelines_names_the_builtins() {
    let out = sigmat(&["list", "pipelines"]);
    assert_eq!(out.status.code(), Some(0));
    let names: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
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
}

#[test]
fn rules_sharing_a_file_name_get_their_own_output_files() {
    // Two rules named a.yml in different folders: one output each, under their folders.
    let dir = tmp("stems");
    let coll = dir.join("coll");
    for (sub, image) in [("x", "\\\\one.exe"), ("y", "\\\\two.exe")] {
        std::fs::create_dir_all(coll.join(sub)).unwrap();
        std::fs::write(
            coll.join(sub).join("a.yml"),
            format!(
                "title: {sub}\nlogsource: {{category: process_creation, product: windows}}\ndetection:\n  sel:\n    Image|endswith: '{image}'\n  condition: sel\n"
            ),
        )
        .unwrap();
    }
    let out = dir.join("out");
    let o = format!("{}/", out.display());
    let r = sigmat(&["convert", "-t", "eql", "-o", &o, coll.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert!(text(&r.stderr).ends_with("converted 2, unsupported 0, failed 0\n"));
    let x = std::fs::read_to_string(out.join("x/a.eql")).unwrap();
    let y = std::fs::read_to_string(out.join("y/a.eql")).unwrap();
    assert!(x.contains("one.exe") && !x.contains("two.exe"), "{x}");
    assert!(y.contains("two.exe"), "{y}");
    // The same folder given twice: the second copy of each rule is renamed, not overwritten.
    let out2 = dir.join("out2");
    let o2 = format!("{}/", out2.display());
    let c = coll.to_str().unwrap();
    let r = sigmat(&["convert", "-t", "eql", "-o", &o2, c, c]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let mut files: Vec<String> = walk(&out2);
    files.sort();
    assert_eq!(files, ["x/a.eql", "x/a_2.eql", "y/a.eql", "y/a_2.eql"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}

#[test]
fn a_run_that_converts_nothing_leaves_no_output_file() {
    let dir = tmp("empty");
    let file = dir.join("q.eql");
    let r = sigmat(&[
        "convert",
        "-t",
        "eql",
        "-o",
        file.to_str().unwrap(),
        "rules/errors/unknown_modifier.yml",
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(!file.exists(), "an empty output file was left behind");
    assert!(
        text(&r.stderr).contains("nothing written"),
        "{}",
        text(&r.stderr)
    );
    // An earlier file stays as it was.
    std::fs::write(&file, "old\n").unwrap();
    let r = sigmat(&[
        "convert",
        "-t",
        "eql",
        "-o",
        file.to_str().unwrap(),
        "rules/errors/unknown_modifier.yml",
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "old\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn warnings_are_aggregated_by_kind_and_skipped_rules_listed_on_one_line_each() {
    let out = sigmat(&["convert", "-t", "kql", "-s", "rules/adversarial"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    // One line for the case-sensitivity warning, however many rules it concerns.
    let case: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("matches keyword fields case-sensitively"))
        .collect();
    assert_eq!(case.len(), 1, "{stderr}");
    assert!(
        case[0].contains(" rules: ") && case[0].contains("more; --verbose"),
        "{}",
        case[0]
    );
    // Skipped rules: one `skipped:` line each, no error block, and the reasons in the summary.
    assert!(!stderr.contains("error[unsupported]"), "{stderr}");
    let skipped = stderr
        .lines()
        .filter(|l| l.starts_with("skipped: "))
        .count();
    assert!(skipped >= 1, "{stderr}");
    let summary = stderr.lines().last().unwrap();
    assert!(
        summary.contains(&format!(
            "unsupported {skipped} skipped (unsupported by kql: "
        )) && summary.contains("unsupported by kql: regular expressions (`re`): 1"),
        "{summary}"
    );
    // --verbose names every rule; -q drops the skipped lines.
    let verbose = sigmat(&["convert", "-t", "kql", "-s", "-v", "rules/adversarial"]);
    let line = text(&verbose.stderr)
        .lines()
        .find(|l| l.contains("case-sensitively"))
        .unwrap()
        .to_string();
    let n: usize = line
        .split(" (")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(line.matches("rules/adversarial/").count(), n, "{line}");
    let quiet = sigmat(&["convert", "-t", "kql", "-s", "-q", "rules/adversarial"]);
    assert!(!text(&quiet.stderr).contains("skipped: "));
}
