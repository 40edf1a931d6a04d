//! `sigmat diff` end to end on the seed pairs: relations, explanations, and every witness
//! checked with `sigmat eval` on each rule.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

const SIGMA: &str = "rules/seed/python_webserver_execution_linux.yml";
const CURRENT: &str = "rules/elastic/python_webserver_current.toml";
const V1: &str = "rules/elastic/python_webserver_v1.toml";

fn sigmat(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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

/// Whether `sigmat eval` (pipelines `pipes`) says `rule` matches `event`.
fn eval_matches(rule: &str, pipes: &[&str], event: &Value) -> bool {
    let mut args = vec!["eval", "-r", rule, "-f", "jsonl"];
    for p in pipes {
        args.extend(["-p", p]);
    }
    let (code, out, err) = sigmat(&args, &format!("{event}\n"));
    assert_eq!(code, 0, "{err}");
    !out.trim().is_empty()
}

fn diff(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["diff", "-f", "json"];
    all.extend(args);
    let (code, out, err) = sigmat(&all, "");
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v)
}

/// Every witness of every region and difference lies where it says, by `sigmat eval`.
fn check_witnesses(v: &Value, a: (&str, &[&str]), b: (&str, &[&str])) {
    let mut checked = 0;
    for (region, want) in [
        ("a_only", (true, false)),
        ("b_only", (false, true)),
        ("both", (true, true)),
    ] {
        for w in v[region]["witnesses"].as_array().unwrap() {
            let got = (eval_matches(a.0, a.1, w), eval_matches(b.0, b.1, w));
            assert_eq!(got, want, "{region} witness {w}");
            checked += 1;
        }
    }
    for d in v["differences"].as_array().unwrap() {
        let w = &d["witness"];
        let want = match d["region"].as_str().unwrap() {
            "a_only" => (true, false),
            _ => (false, true),
        };
        let got = (eval_matches(a.0, a.1, w), eval_matches(b.0, b.1, w));
        assert_eq!(got, want, "difference witness {d}");
        checked += 1;
    }
    assert!(checked >= 3);
}

fn explanations(v: &Value) -> Vec<String> {
    v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["explanation"].as_str().unwrap().to_string())
        .collect()
}

fn has(ex: &[String], parts: &[&str]) -> bool {
    ex.iter().any(|e| parts.iter().all(|p| e.contains(p)))
}

#[test]
fn seed_sigma_rule_against_the_current_elastic_rule() {
    let (code, v) = diff(&[
        SIGMA,
        CURRENT,
        "--pipeline-a",
        "ecs_linux",
        "--witnesses",
        "2",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["relation"], "overlap", "{v:#}");
    for r in ["a_only", "b_only", "both"] {
        assert_eq!(v[r]["empty"], false);
        assert!(!v[r]["witnesses"].as_array().unwrap().is_empty());
    }
    check_witnesses(&v, (SIGMA, &["ecs_linux"]), (CURRENT, &[]));
    let ex = explanations(&v);
    let all = ex.join("\n");
    // Elastic's case-sensitive `like` / `in`.
    assert!(
        has(
            &ex,
            &["B's process.name like \"python*\"", "case-sensitive"]
        ),
        "{all}"
    );
    assert!(has(&ex, &["B's event.action", "case-sensitive"]), "{all}");
    // The exact element match on process.args.
    assert!(
        has(&ex, &["B requires process.args == \"http.server\""]),
        "{all}"
    );
    // The shell branch.
    assert!(
        has(&ex, &["process.name", "== \"bash\"", "== \"fish\""]),
        "{all}"
    );
    // The event.action values and the systemd parent exclusion.
    assert!(
        has(
            &ex,
            &[
                "A requires event.action == \"exec\"",
                "`exec_event`, `start`, `ProcessRollup2`"
            ]
        ),
        "{all}"
    );
    assert!(
        has(
            &ex,
            &["B excludes process.parent.executable == \"/usr/lib/systemd/systemd\""]
        ),
        "{all}"
    );
}

#[test]
fn two_versions_of_one_elastic_rule() {
    let (code, v) = diff(&[V1, CURRENT]);
    assert_eq!(code, 1);
    assert_eq!(v["relation"], "overlap", "{v:#}");
    check_witnesses(&v, (V1, &[]), (CURRENT, &[]));
    let ex = explanations(&v);
    let all = ex.join("\n");
    assert!(
        has(
            &ex,
            &[
                "A requires event.action == \"exec\"",
                "`exec_event`, `start`, `ProcessRollup2`"
            ]
        ),
        "{all}"
    );
    assert!(
        has(
            &ex,
            &[
                "B excludes process.parent.executable",
                "/usr/lib/systemd/systemd"
            ]
        ),
        "{all}"
    );
    // One witness per explanation, in its region.
    for d in v["differences"].as_array().unwrap() {
        assert!(d["witness"].is_object(), "{d}");
    }
}

#[test]
fn a_rule_is_equivalent_to_itself_and_text_output_reads() {
    let (code, v) = diff(&[CURRENT, CURRENT]);
    assert_eq!((code, v["relation"].as_str()), (0, Some("equivalent")));
    assert_eq!(v["a_only"]["empty"], true);
    let (code, out, _) = sigmat(&["diff", V1, CURRENT], "");
    assert_eq!(code, 1);
    assert!(out.contains("relation: overlap"), "{out}");
    assert!(out.contains("differences:"), "{out}");
}

#[test]
fn pairs_file_gives_one_json_line_per_pair() {
    let dir = std::env::temp_dir().join(format!("sigmat-diff-pairs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let list = dir.join("pairs.txt");
    std::fs::write(
        &list,
        format!("# same rule\n{root}/{CURRENT} {root}/{CURRENT}\n{root}/{V1} {root}/{CURRENT}\n"),
    )
    .unwrap();
    let (code, out, err) = sigmat(&["diff", "--pairs", list.to_str().unwrap()], "");
    assert_eq!(code, 1, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["relation"], "equivalent");
    assert_eq!(lines[1]["relation"], "overlap");
    let json = dir.join("pairs.json");
    std::fs::write(&json, format!(r#"[["{root}/{V1}", "{root}/{V1}"]]"#)).unwrap();
    let (code, out, _) = sigmat(&["diff", "--pairs", json.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}");
    std::fs::write(&list, "only-one-path\n").unwrap();
    let (code, _, err) = sigmat(&["diff", "--pairs", list.to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(err.contains("pairs.txt:1"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_joint_state_budget_bounds_a_pair_and_is_named() {
    // A within B is decided by a product of the two regexes' automata (A and not B is
    // empty); with a joint budget of one state it cannot be, and the answer names the bound
    // that stopped it rather than running on.
    let dir = std::env::temp_dir().join(format!("sigmat-diff-bound-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rule = |name: &str, re: &str| {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!(
                "title: {name}\nlogsource: {{category: process_creation, product: windows}}\n\
                 detection:\n  sel:\n    CommandLine|re: '{re}'\n  condition: sel\n"
            ),
        )
        .unwrap();
        p.to_string_lossy().into_owned()
    };
    let a = rule("a.yml", "^[a-z]+x[0-9]+$");
    let b = rule("b.yml", "^[a-z]+x[0-9]*$");
    let (code, v) = diff(&[&a, &b, "--max-total-states", "1"]);
    assert_eq!(
        (code, v["relation"].as_str()),
        (3, Some("unknown")),
        "{v:#}"
    );
    let why = v["a_only"]["unknown"].as_str().unwrap_or_default();
    assert!(why.contains("--max-total-states"), "{v:#}");
    // The default budget decides it.
    let (code, v) = diff(&[&a, &b]);
    assert_eq!((code, v["relation"].as_str()), (1, Some("a_in_b")), "{v:#}");
    std::fs::remove_dir_all(&dir).unwrap();
}
