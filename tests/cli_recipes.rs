//! What a new user runs: every `sigmat` command in the README's examples (from the crate root,
//! with the bundled rules and sample events; those that read `../shared` only when it is
//! there), the pre-commit hooks of `.pre-commit-hooks.yaml`, the commands of the GitHub
//! Actions workflow in `docs/ci/`, and the pipeline that an unresolved placeholder's hint
//! prints, which must resolve the placeholder when saved and passed with `-p`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sigmat-recipes-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sigmat(args: &[String], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// The `sigmat ...` lines of the README's `sh` blocks, without their comments.
fn readme_commands() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = t == "```sh";
            continue;
        }
        if in_sh && t.starts_with("sigmat ") {
            let cmd = t.split(" # ").next().unwrap().trim();
            out.push(cmd.to_string());
        }
    }
    out
}

#[test]
fn every_readme_example_runs_as_printed() {
    let commands = readme_commands();
    assert!(commands.len() >= 6, "{commands:?}");
    let shared = common::shared();
    let out = temp_dir("readme");
    let mut ran = 0;
    for cmd in &commands {
        if cmd.contains("../shared") && shared.is_none() {
            eprintln!("skipping `{cmd}`: ../shared not found");
            continue;
        }
        if cmd.starts_with("sigmat coverage") && cmd.contains("../shared") {
            // Whole-catalog coverage (shell globs, minutes in a debug build) is run by
            // tests/coverage.rs on the same catalogs.
            eprintln!("skipping `{cmd}`: whole-catalog coverage is tests/coverage.rs's");
            continue;
        }
        if cmd.starts_with("sigmat report") && cmd.contains("../shared") {
            // The whole catalogs' report is built and checked in a browser by
            // .ci/check_report (release build).
            eprintln!("skipping `{cmd}`: the catalogs' report is .ci/check_report's");
            continue;
        }
        let args: Vec<String> = cmd
            .split_whitespace()
            .skip(1)
            .map(|a| match a.strip_prefix("out/") {
                Some(rest) => out.join(rest).display().to_string(),
                None => a.to_string(),
            })
            .collect();
        let o = sigmat(&args, root());
        let stderr = String::from_utf8_lossy(&o.stderr);
        // `diff` exits 1 when the rules differ (its documented exit status), as the README's does.
        let ok =
            o.status.success() || (cmd.starts_with("sigmat diff") && o.status.code() == Some(1));
        assert!(ok, "`{cmd}` failed: {stderr}");
        assert!(
            !o.stdout.is_empty() || cmd.contains(" -o "),
            "`{cmd}` printed nothing: {stderr}"
        );
        if cmd.starts_with("sigmat eval") {
            // The bundled events hold events for the rules the examples run.
            assert!(
                String::from_utf8_lossy(&o.stdout).lines().count() >= 3,
                "`{cmd}` matched almost nothing"
            );
        }
        ran += 1;
    }
    assert!(ran >= 4);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_seed_rule_matches_the_bundled_events_in_both_shapes() {
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| (*s).to_string()).collect();
        let o = sigmat(&args, root());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let raw = run(&[
        "eval",
        "-q",
        "-r",
        "rules/seed",
        "examples/events/sysmon.ndjson",
    ]);
    let ecs = run(&[
        "eval",
        "-q",
        "-r",
        "rules/seed",
        "-p",
        "ecs_linux",
        "examples/events/ecs_linux.ndjson",
    ]);
    for out in [&raw, &ecs] {
        let n = out.lines().count();
        assert!(
            (3..=20).contains(&n),
            "the seed rule should match the few web server events: {out}"
        );
        assert!(out
            .lines()
            .all(|l| l.contains("Python WebServer Execution")));
    }
    // Without the pipeline, the ECS-shaped events hold no `Image`: nothing matches.
    let none = run(&[
        "eval",
        "-q",
        "-r",
        "rules/seed",
        "examples/events/ecs_linux.ndjson",
    ]);
    assert_eq!(none, "");
}

#[test]
fn pre_commit_hooks_parse_and_their_commands_work() {
    let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    let hooks: Vec<serde_yaml::Value> = serde_yaml::from_str(&text).unwrap();
    assert!(!hooks.is_empty());
    for h in &hooks {
        for key in ["id", "name", "entry", "language", "files"] {
            assert!(h[key].as_str().is_some(), "hook without `{key}`: {h:?}");
        }
        let files = regex::Regex::new(h["files"].as_str().unwrap()).unwrap();
        assert!(files.is_match("rules/seed/python_webserver_execution_linux.yml"));
        assert!(files.is_match("rules/elastic/rule.toml"));
        let entry: Vec<String> = h["entry"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(entry[0], "sigmat", "{h:?}");
        // pre-commit appends the staged file names.
        let mut good = entry[1..].to_vec();
        good.push("rules/seed/python_webserver_execution_linux.yml".into());
        let o = sigmat(&good, root());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut bad = entry[1..].to_vec();
        bad.push("rules/errors/unknown_modifier.yml".into());
        let o = sigmat(&bad, root());
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stdout).contains("unknown_modifier.yml:"));
    }
}

#[test]
fn the_github_workflow_commands_run_on_a_rule_folder() {
    let text = std::fs::read_to_string(root().join("docs/ci/sigmat-rules.yml")).unwrap();
    let wf: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let steps = wf["jobs"]["rules"]["steps"].as_sequence().unwrap();
    let dir = temp_dir("workflow");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::copy(
        root().join("rules/seed/python_webserver_execution_linux.yml"),
        rules.join("seed.yml"),
    )
    .unwrap();
    let mut ran = 0;
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        let run = run.trim();
        if !run.starts_with("sigmat ") {
            continue;
        }
        let (cmd, redirect) = match run.split_once(" > ") {
            Some((c, file)) => (c, Some(file.trim())),
            None => (run, None),
        };
        let args: Vec<String> = cmd.split_whitespace().skip(1).map(str::to_string).collect();
        let o = sigmat(&args, &dir);
        assert!(
            o.status.success(),
            "`{run}`: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        if let Some(file) = redirect {
            std::fs::write(dir.join(file), &o.stdout).unwrap();
        }
        ran += 1;
    }
    assert_eq!(ran, 3);
    for sarif in ["check.sarif", "convert.sarif"] {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(sarif)).unwrap()).unwrap();
        assert_eq!(v["version"], "2.1.0", "{sarif}");
    }
    assert!(dir
        .join("elastic/linux")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some()));
    // A broken rule makes the check step fail, which fails the run.
    std::fs::copy(
        root().join("rules/errors/unknown_modifier.yml"),
        rules.join("broken.yml"),
    )
    .unwrap();
    let o = sigmat(&["check", "-f", "sarif", "rules/"].map(String::from), &dir);
    assert_eq!(o.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_placeholder_hint_is_a_pipeline_that_resolves_it() {
    let args = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    let rule = "rules/placeholders/expand.yml";
    let o = sigmat(&args(&["convert", "-t", "eql", rule]), root());
    assert_ne!(o.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(stderr.contains("value_placeholders"), "{stderr}");
    // The hint's YAML: the lines after the hint's first line, indented.
    let hint = stderr
        .split("= hint: ")
        .nth(1)
        .expect("a hint")
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("      "))
        .map(|l| &l[6..])
        .collect::<Vec<_>>()
        .join("\n");
    let yaml = hint.replace("VALUE1", "alpha").replace("VALUE2", "beta");
    let dir = temp_dir("placeholder");
    let pipeline = dir.join("values.yml");
    std::fs::write(&pipeline, &yaml).unwrap();
    let o = sigmat(
        &args(&[
            "convert",
            "-t",
            "eql",
            "-p",
            pipeline.to_str().unwrap(),
            rule,
        ]),
        root(),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("alpha") && out.contains("beta"),
        "pipeline:\n{yaml}\nstdout: {out}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 16, item 13: through `-p ecs_windows`, a Windows process creation rule's TOML and
/// Kibana object carry the index of its log source, the related integrations with the data
/// streams the index names, the query's fields typed from ECS, and a setup note.
#[test]
fn elastic_outputs_carry_build_time_fields_and_setup() {
    let dir = temp_dir("elastic");
    let rule = "rules/modifiers/endswith_windash.yml";
    let args = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    let out = dir.join("toml");
    let o = sigmat(
        &args(&[
            "convert",
            "-t",
            "eql",
            "-p",
            "ecs_windows",
            "-f",
            "elastic-toml",
            "-o",
            out.to_str().unwrap(),
            rule,
        ]),
        root(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .expect("a toml file");
    let text = std::fs::read_to_string(file.path()).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let r = &doc["rule"];
    let index: Vec<&str> = r["index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        index.contains(&"logs-windows.sysmon_operational-*"),
        "{text}"
    );
    let ri = r["related_integrations"]
        .as_array()
        .expect("related_integrations");
    let pairs: Vec<(String, Option<String>)> = ri
        .iter()
        .map(|x| {
            (
                x["package"].as_str().unwrap().to_string(),
                x.get("integration")
                    .and_then(|v| v.as_str())
                    .map(String::from),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("system".to_string(), Some("security".to_string())),
            (
                "windows".to_string(),
                Some("sysmon_operational".to_string())
            ),
        ],
        "{text}"
    );
    let rf = r["required_fields"].as_array().expect("required_fields");
    let cmd = rf
        .iter()
        .find(|x| x["name"].as_str() == Some("process.command_line"))
        .expect("process.command_line is required");
    assert_eq!(cmd["type"].as_str(), Some("wildcard"));
    assert_eq!(cmd["ecs"].as_bool(), Some(true));
    let names: Vec<&str> = rf.iter().map(|x| x["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "required_fields are sorted by name");
    let setup = r["setup"].as_str().expect("a setup note");
    assert!(
        setup.starts_with("## Setup") && setup.contains("4688"),
        "{setup}"
    );
    // detection-rules' layout: setup among the sorted keys, the tables after the query.
    let at = |k: &str| text.find(k).unwrap_or_else(|| panic!("{k} in {text}"));
    assert!(at("\nrule_id = ") < at("\nsetup = ") && at("\nsetup = ") < at("\nseverity = "));
    assert!(at("\nquery = '''") < at("[[rule.related_integrations]]"));
    assert!(at("[[rule.related_integrations]]") < at("[[rule.required_fields]]"));
    // The Kibana object carries the same.
    let o = sigmat(
        &args(&[
            "convert",
            "-t",
            "eql",
            "-p",
            "ecs_windows",
            "-f",
            "kibana-ndjson",
            rule,
        ]),
        root(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["related_integrations"].as_array().map(Vec::len), Some(2));
    assert!(v["required_fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["name"] == "process.command_line" && x["type"] == "wildcard"));
    assert_eq!(v["setup"].as_str(), Some(setup));
    let _ = std::fs::remove_dir_all(&dir);
}
