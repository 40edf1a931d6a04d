//! Correlation fixtures end to end: for every `rules/correlation/NAME.events.jsonl`, runs
//! `sigmat eval -r rules/correlation/NAME.yml --format jsonl [ARGS] NAME.events.jsonl` (ARGS
//! from `NAME.args`, one per line, when present) and compares stdout with
//! `NAME.alerts.jsonl`, written by hand from `docs/correlation-semantics.md`: the same alerts
//! (`correlation`, `type`, `group`, `count` / `value`, `first`, `last`, `records`,
//! `records_truncated`) and the same printed rule matches (`rule_id`, `record`), in any order.
//! An expected line `{"stderr": TEXT}` asks for TEXT on stderr. Plus the bad-input cases: a
//! reference to no rule, a cycle, an invalid percentile, too many value fields.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sigmat(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("sigmat runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

const ALERT_KEYS: [&str; 9] = [
    "correlation",
    "type",
    "group",
    "count",
    "value",
    "first",
    "last",
    "records",
    "records_truncated",
];
const MATCH_KEYS: [&str; 2] = ["rule_id", "record"];

fn project(v: &Value) -> Value {
    let keys: &[&str] = if v.get("correlation").is_some() {
        &ALERT_KEYS
    } else {
        &MATCH_KEYS
    };
    let m: Map<String, Value> = keys
        .iter()
        .filter_map(|k| v.get(*k).map(|x| ((*k).to_string(), x.clone())))
        .collect();
    Value::Object(m)
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn run_fixture(events: &Path) {
    let name = events
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".events.jsonl"))
        .expect("NAME.events.jsonl");
    let dir = "rules/correlation";
    let rules = format!("{dir}/{name}.yml");
    let expected_file = root().join(format!("{dir}/{name}.alerts.jsonl"));
    let expected = std::fs::read_to_string(&expected_file)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_file.display()));
    let extra: Vec<String> = std::fs::read_to_string(root().join(format!("{dir}/{name}.args")))
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default();
    let ev = format!("{dir}/{name}.events.jsonl");
    let mut args = vec!["eval", "-r", &rules, "--format", "jsonl"];
    args.extend(extra.iter().map(String::as_str));
    args.push(&ev);
    let (code, out, err) = sigmat(&args);
    assert_eq!(code, 0, "{name}: exit status\n{err}");
    let mut want = Vec::new();
    for v in lines(&expected) {
        match v.get("stderr").and_then(Value::as_str) {
            Some(t) => assert!(err.contains(t), "{name}: stderr lacks `{t}`:\n{err}"),
            None => want.push(project(&v)),
        }
    }
    let mut got: Vec<Value> = lines(&out).iter().map(project).collect();
    let key = |v: &Value| v.to_string();
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(
        got,
        want,
        "{name}: alerts differ\ngot:\n{}\nwant:\n{}",
        got.iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        want.iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn fixtures_give_their_expected_alerts() {
    let dir = root().join("rules/correlation");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".events.jsonl"))
        .collect();
    fixtures.sort();
    // One rule set per type and per semantic choice at least.
    assert!(fixtures.len() >= 17, "{fixtures:?}");
    for f in &fixtures {
        run_fixture(f);
    }
}

fn temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigmat-corr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join(name);
    std::fs::write(&f, text).expect("write");
    f
}

const BASE: &str = "title: base\nname: base\nlogsource: {product: test}\ndetection: {sel: {EventID: 1}, condition: sel}\n";

#[test]
fn bad_correlations_are_located_errors() {
    let cases = [
        (
            "unknown.yml",
            "title: c\nname: c\ncorrelation: {type: event_count, rules: [base, nowhere], group-by: [u], timespan: 1m, condition: {gte: 2}}\n",
            "correlation `c` refers to `nowhere`, which is neither a rule nor a correlation of this run",
            "(correlation.rules[1])",
        ),
        (
            "cycle.yml",
            "title: a\nname: a\ncorrelation: {type: event_count, rules: [b], group-by: [u], timespan: 1m, condition: {gte: 2}}\n---\ntitle: b\nname: b\ncorrelation: {type: event_count, rules: [a, base], group-by: [u], timespan: 1m, condition: {gte: 2}}\n",
            "cycle of correlations: a → b → a",
            "(correlation.rules)",
        ),
        (
            "percentile.yml",
            "title: p\nname: p\ncorrelation: {type: value_percentile, rules: [base], group-by: [u], timespan: 1m, condition: {field: n, percentile: 150, gt: 1}}\n",
            "percentile 150 is outside 0..=100",
            "(correlation.condition.percentile)",
        ),
        (
            "fields.yml",
            "title: s\nname: s\ncorrelation: {type: value_sum, rules: [base], group-by: [u], timespan: 1m, condition: {field: [n, m], gt: 1}}\n",
            "value_sum takes exactly one field",
            "(correlation.condition.field)",
        ),
    ];
    let base = temp("base.yml", BASE);
    let events = temp(
        "events.jsonl",
        "{\"@timestamp\": 1700000000, \"EventID\": 1, \"u\": \"x\"}\n",
    );
    for (file, text, msg, at) in cases {
        let f = temp(file, text);
        let fs = f.to_str().expect("utf-8");
        let (code, out, err) = sigmat(&[
            "eval",
            "-r",
            base.to_str().expect("utf-8"),
            "-r",
            fs,
            "--format",
            "jsonl",
            events.to_str().expect("utf-8"),
        ]);
        assert_eq!(
            code, 1,
            "{file}: a correlation that cannot run fails the run\n{err}"
        );
        assert!(err.contains("error[invalid_correlation]"), "{file}: {err}");
        assert!(err.contains(msg), "{file}: {err}");
        assert!(err.contains(&format!("--> {fs} {at}")), "{file}: {err}");
        // The base rule still runs, and (referenced only by a correlation that cannot run) is
        // printed as usual.
        assert_eq!(lines(&out).len(), 1, "{file}: {out}");
    }
    // The front end's own checks: an invalid timespan, a missing field, an unknown condition.
    for (text, msg) in [
        (
            "title: t\ncorrelation: {type: event_count, rules: [base], group-by: [u], timespan: 5x, condition: {gte: 2}}\n",
            "correlation.timespan",
        ),
        (
            "title: t\ncorrelation: {type: value_avg, rules: [base], group-by: [u], timespan: 5m, condition: {gte: 2}}\n",
            "correlation.condition.field",
        ),
        (
            "title: t\ncorrelation: {type: event_count, rules: [base], group-by: [u], timespan: 5m, condition: {more: 2}}\n",
            "correlation.condition.more",
        ),
    ] {
        let f = temp("front.yml", text);
        let (code, _, err) = sigmat(&[
            "eval",
            "-r",
            base.to_str().expect("utf-8"),
            "-r",
            f.to_str().expect("utf-8"),
            events.to_str().expect("utf-8"),
        ]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(msg), "{err}");
        assert!(err.contains("front.yml:"), "located by line: {err}");
    }
}

#[test]
fn the_group_cap_is_reported_when_it_bites() {
    let rules = root().join("rules/correlation/late.yml");
    let events = temp(
        "cap.jsonl",
        "{\"@timestamp\": 1700000000, \"EventID\": 4625, \"user\": \"a\"}\n{\"@timestamp\": 1700000001, \"EventID\": 4625, \"user\": \"b\"}\n{\"@timestamp\": 1700000002, \"EventID\": 4625, \"user\": \"a\"}\n{\"@timestamp\": 1700000003, \"EventID\": 4625, \"user\": \"a\"}\n",
    );
    let (code, out, err) = sigmat(&[
        "eval",
        "-r",
        rules.to_str().expect("utf-8"),
        "--max-groups",
        "1",
        "--format",
        "jsonl",
        events.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("`three_failures_late`: 1 event(s) of new groups dropped at the --max-groups cap (1 live groups)"),
        "{err}"
    );
    // User a's three failures still alert.
    let alerts = lines(&out);
    assert_eq!(alerts.len(), 1, "{out}");
    assert_eq!(alerts[0]["records"], serde_json::json!([1, 3, 4]));
}
