//! EVTX input: for every SigmaHQ rule with regression data, the rule's `.evtx` read natively
//! gives the same events, in the same order, as the `.json` beside it (SigmaHQ's own
//! rendering of the same file), and so the same matches: of the rule itself, and of all 202
//! rules at once. Also: an EVTX file on stdin and a damaged EVTX file are refused with a
//! located error, never a panic.

mod common;

use std::path::{Path, PathBuf};

use sigmat::eval::input::EventReader;
use sigmat::eval::{compile_rule, RuleSet};
use sigmat::ir::Document;

/// Each rule file with regression data and the `.evtx` its `info.yml` names.
fn cases(sigma: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for top in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        for e in walkdir::WalkDir::new(sigma.join(top))
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
        {
            let p = e.path();
            let Ok(text) = std::fs::read_to_string(p) else {
                continue;
            };
            let Some(rel) = text
                .lines()
                .find_map(|l| l.strip_prefix("regression_tests_path:"))
            else {
                continue;
            };
            let info: serde_yaml::Value =
                serde_yaml::from_str(&std::fs::read_to_string(sigma.join(rel.trim())).unwrap())
                    .unwrap();
            let evtx = info["regression_tests_info"][0]["path"].as_str().unwrap();
            out.push((p.to_path_buf(), sigma.join(evtx)));
        }
    }
    out
}

/// The events of a file, each normalised; panics on an unreadable record.
fn events(path: &Path) -> Vec<serde_json::Value> {
    EventReader::open(Some(path))
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .map(|(_, ev)| ev.unwrap_or_else(|e| panic!("{}", e.render())))
        .collect()
}

#[test]
fn evtx_gives_the_events_and_matches_of_the_json_beside_it() {
    let Some(shared) = common::shared_or_skip("evtx_gives_the_events_and_matches_of_the_json")
    else {
        return;
    };
    let sigma = shared.join("corpus/sigma");
    let cases = cases(&sigma);
    assert!(cases.len() >= 200, "found {} rules", cases.len());
    let mut rules = Vec::new();
    let mut pairs = Vec::new();
    let mut failures = Vec::new();
    let (mut n_events, mut n_matches, mut differing_events) = (0, 0, 0);
    for (rule_file, evtx) in &cases {
        let Some(Ok(Document::Rule(rule))) = sigmat::sigma::load_file(rule_file).into_iter().next()
        else {
            failures.push(format!("{}: not a rule", rule_file.display()));
            continue;
        };
        let compiled = compile_rule(&rule).unwrap();
        let from_evtx = events(evtx);
        let from_json = events(&evtx.with_extension("json"));
        let verdicts = |evs: &[serde_json::Value]| -> Vec<bool> {
            evs.iter().map(|e| compiled.is_match(e)).collect()
        };
        let (a, b) = (verdicts(&from_evtx), verdicts(&from_json));
        if a != b {
            failures.push(format!(
                "{}: evtx verdicts {a:?}, json verdicts {b:?}",
                evtx.display()
            ));
        }
        differing_events += from_evtx
            .iter()
            .zip(&from_json)
            .filter(|(x, y)| x != y)
            .count()
            + from_evtx.len().abs_diff(from_json.len());
        n_events += from_evtx.len();
        n_matches += a.iter().filter(|&&m| m).count();
        rules.push(rule);
        pairs.push((from_evtx, from_json));
    }
    // All rules at once, through the prefiltered rule set.
    let (set, errors) = RuleSet::compile(rules);
    assert!(errors.is_empty(), "{errors:?}");
    for (k, (from_evtx, from_json)) in pairs.iter().enumerate() {
        let a: Vec<Vec<usize>> = from_evtx.iter().map(|e| set.matches(e)).collect();
        let b: Vec<Vec<usize>> = from_json.iter().map(|e| set.matches(e)).collect();
        if a != b {
            failures.push(format!("{}: rule set matches differ", cases[k].1.display()));
        }
    }
    eprintln!(
        "evtx: {} files, {n_events} events, {n_matches} matches of their own rule, same as the \
         .json; {differing_events} events differ from the .json in some field",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every record is read; 224 of the 238 match their own rule (the other 14 do not match it
    // from the .json either: the per-file comparison above is the real check).
    assert!(
        n_events >= 238 && n_matches >= 224,
        "{n_events} events, {n_matches} matches"
    );
}

#[test]
fn evtx_on_stdin_and_damaged_evtx_are_located_errors() {
    let mut bytes = b"ElfFile\0".to_vec();
    bytes.resize(4096, 0);
    let e = EventReader::from_reader("<stdin>", Box::new(std::io::Cursor::new(bytes.clone())))
        .unwrap_err();
    assert!(e
        .render()
        .contains("EVTX file can be read from a file only"));
    assert!(e.render().contains("<stdin>"));
    // A header with nothing valid in it, as a file.
    let dir = std::env::temp_dir().join(format!("sigmat-evtx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.evtx");
    std::fs::write(&path, &bytes[..100]).unwrap();
    let e = EventReader::open(Some(&path)).unwrap_err();
    assert!(
        e.render().contains("not a readable EVTX file") && e.render().contains("bad.evtx"),
        "{}",
        e.render()
    );
    // A valid header followed by a chunk of garbage: the chunk is one error, no panic.
    if let Some(shared) = common::shared() {
        let sigma = shared.join("corpus/sigma");
        let all = cases(&sigma);
        let (_, evtx) = &all[0];
        let mut good = std::fs::read(evtx).unwrap();
        for b in &mut good[4096 + 600..] {
            *b = 0x5a;
        }
        std::fs::write(&path, &good).unwrap();
        let out: Vec<_> = EventReader::open(Some(&path)).unwrap().collect();
        assert!(out.iter().any(|(_, r)| r.is_err()), "{out:?}");
        for (_, r) in &out {
            if let Err(e) = r {
                assert!(e.render().contains("bad.evtx"), "{}", e.render());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
