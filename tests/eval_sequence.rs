//! Elastic sequences and threshold rules evaluated natively.
//!
//! - Fixtures: for every `rules/elastic_eval/NAME.toml`, `sigmat eval -r NAME.toml -f jsonl
//!   NAME.events.jsonl` prints exactly the lines of `NAME.expected.jsonl` (worked by hand from
//!   `docs/sequence-semantics.md` and `docs/correlation-semantics.md`; compared on the keys
//!   listed there, in order).
//! - A randomized differential test: random sequences (shared and per-step keys, `maxspan`,
//!   `runs`, `until`) over random streams delivered out of order within the lateness bound,
//!   the native stage against a direct reference implementation of the documented state
//!   machine over the time-sorted events.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};
use sigmat::eval::correlate::{self, Config};
use sigmat::eval::Val;
use sigmat::{ir, read};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn project(v: &Value, keys: &[&str]) -> Value {
    let m: serde_json::Map<String, Value> = keys
        .iter()
        .filter_map(|k| v.get(*k).map(|x| ((*k).to_string(), x.clone())))
        .collect();
    Value::Object(m)
}

fn fixture_names() -> Vec<PathBuf> {
    let dir = root().join("rules/elastic_eval");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    names
}

fn run(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sigmat"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("sigmat runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Every sequence fixture written back as EQL (`convert -t eql`), read again and evaluated,
/// completes the same sequences as the original.
#[test]
fn sequences_written_as_eql_evaluate_the_same() {
    let dir = std::env::temp_dir().join(format!("sigmat-seq-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut n = 0;
    for rule in fixture_names() {
        let src = std::fs::read_to_string(&rule).unwrap();
        if !src.contains("sequence") || !src.contains("type = \"eql\"") {
            continue;
        }
        let eql = run(&[
            "convert".as_ref(),
            "-t".as_ref(),
            "eql".as_ref(),
            rule.as_os_str(),
        ]);
        let eql = eql.trim();
        assert!(eql.starts_with("sequence"), "{eql}");
        let start = src.find("query = '''").expect("query");
        let end = start + 11 + src[start + 11..].find("'''").expect("end") + 3;
        let text = format!("{}query = '''\n{eql}\n'''{}", &src[..start], &src[end..]);
        let copy = dir.join(rule.file_name().unwrap());
        std::fs::write(&copy, text).unwrap();
        let events = rule.with_extension("events.jsonl");
        let a = run(&[
            "eval".as_ref(),
            "-q".as_ref(),
            "-f".as_ref(),
            "jsonl".as_ref(),
            "-r".as_ref(),
            rule.as_os_str(),
            events.as_os_str(),
        ]);
        let b = run(&[
            "eval".as_ref(),
            "-q".as_ref(),
            "-f".as_ref(),
            "jsonl".as_ref(),
            "-r".as_ref(),
            copy.as_os_str(),
            events.as_os_str(),
        ]);
        let records = |t: &str| -> Vec<Value> {
            t.lines()
                .map(|l| {
                    let v: Value = serde_json::from_str(l).unwrap();
                    project(&v, &["keys", "records"])
                })
                .collect()
        };
        assert!(!records(&a).is_empty(), "{}", rule.display());
        assert_eq!(records(&a), records(&b), "{}: {eql}", rule.display());
        n += 1;
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(n >= 4, "{n} sequence fixtures");
}

#[test]
fn fixtures_give_the_expected_output() {
    let mut n = 0;
    for rule in fixture_names() {
        let stem = rule.with_extension("");
        let events = stem.with_extension("events.jsonl");
        let expected = std::fs::read_to_string(stem.with_extension("expected.jsonl"))
            .unwrap_or_else(|e| panic!("{}: {e}", rule.display()));
        let out = Command::new(env!("CARGO_BIN_EXE_sigmat"))
            .current_dir(root())
            .args(["eval", "-q", "-f", "jsonl", "-r"])
            .arg(&rule)
            .arg(&events)
            .output()
            .expect("sigmat runs");
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            rule.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Vec<Value> = stdout
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("json line");
                let keys: &[&str] = if v.get("sequence").is_some() {
                    &["sequence", "keys", "first", "last", "record", "records"]
                } else {
                    &[
                        "correlation",
                        "type",
                        "group",
                        "count",
                        "first",
                        "last",
                        "records",
                    ]
                };
                project(&v, keys)
            })
            .collect();
        let want: Vec<Value> = expected
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("expected json"))
            .collect();
        assert_eq!(got, want, "{}", rule.display());
        n += 1;
    }
    assert!(n >= 4, "fixtures found: {n}");
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random sequence, as the reference reads it.
#[derive(Debug, Clone)]
struct Spec {
    /// Per step: the `k` value it needs, its runs, whether it joins on `g` (else `h`).
    steps: Vec<(u64, u64)>,
    /// The `k` value of `until`.
    until: Option<u64>,
    /// Join on `g` (shared) or on `h` (per step).
    shared: bool,
    maxspan: Option<i64>,
}

impl Spec {
    fn eql(&self) -> String {
        let mut q = String::from("sequence");
        if self.shared {
            q.push_str(" by g");
        }
        if let Some(m) = self.maxspan {
            q.push_str(&format!(" with maxspan={m}s"));
        }
        let by = if self.shared { "" } else { " by h" };
        for (k, runs) in &self.steps {
            q.push_str(&format!("\n  [any where k == {k}]{by}"));
            if *runs > 1 {
                q.push_str(&format!(" with runs={runs}"));
            }
        }
        if let Some(u) = self.until {
            q.push_str(&format!("\nuntil [any where k == {u}]{by}"));
        }
        q
    }

    fn positions(&self) -> Vec<u64> {
        self.steps
            .iter()
            .flat_map(|&(k, runs)| std::iter::repeat_n(k, runs as usize))
            .collect()
    }
}

#[derive(Debug, Clone)]
struct Ev {
    time: i64,
    k: u64,
    key: Option<u64>,
}

/// The documented state machine, directly: events in (time, record) order; per key one
/// pending sequence per position, `until` first, positions from the last to the first.
fn reference(spec: &Spec, events: &[(u64, Ev)]) -> Vec<(String, Vec<u64>)> {
    let mut sorted: Vec<&(u64, Ev)> = events.iter().collect();
    sorted.sort_by_key(|(rec, e)| (e.time, *rec));
    let pos = spec.positions();
    // Per key, per position: (first event time, records) of the pending sequence.
    type Pending = Option<(i64, Vec<u64>)>;
    let mut state: HashMap<u64, Vec<Pending>> = HashMap::new();
    let mut out = Vec::new();
    for (rec, e) in sorted {
        let Some(key) = e.key else { continue };
        if spec.until == Some(e.k) {
            state.remove(&key);
        }
        let st = state.entry(key).or_insert_with(|| vec![None; pos.len()]);
        for p in (0..pos.len()).rev() {
            if pos[p] != e.k {
                continue;
            }
            let next = if p == 0 {
                Some((e.time, vec![*rec]))
            } else {
                st[p - 1].take().and_then(|(first, mut recs)| {
                    let ok = spec.maxspan.is_none_or(|m| e.time - first <= m * 1000);
                    ok.then(|| {
                        recs.push(*rec);
                        (first, recs)
                    })
                })
            };
            if let Some(n) = next {
                if p == pos.len() - 1 {
                    out.push((key.to_string(), n.1));
                } else {
                    st[p] = Some(n);
                }
            }
        }
    }
    out
}

const TOML_HEAD: &str = r#"[metadata]
creation_date = "2026/12/02"
maturity = "production"
updated_date = "2026/12/02"

[rule]
author = ["sigmat"]
description = "random"
language = "eql"
name = "Random Sequence"
risk_score = 1
rule_id = "00000000-0000-4000-8000-000000000001"
severity = "low"
type = "eql"
"#;

fn native(spec: &Spec, arrival: &[(u64, Value)], lateness: i64) -> Vec<(String, Vec<u64>)> {
    let text = format!("{TOML_HEAD}query = '''\n{}\n'''\n", spec.eql());
    let rule = read::read_str(&text, Some("random.toml")).expect("reads");
    let docs = read::lower_document(rule).unwrap_or_else(|e| panic!("{}", e.render()));
    assert!(matches!(docs[0], ir::Document::Sequence(_)));
    let config = Config {
        max_lateness: lateness,
        ..Config::default()
    };
    let (set, mut corr, errors) = correlate::compile_documents(docs, config);
    assert!(errors.is_empty(), "{errors:?}");
    let mut alerts = Vec::new();
    let mut got = Vec::new();
    let mut collect = |corr: &mut correlate::Correlator| {
        for m in corr.take_sequence_matches() {
            let key = m.keys.last().cloned().flatten().unwrap_or_default();
            got.push((key, m.records));
        }
    };
    for (rec, ev) in arrival {
        let text = ev.to_string();
        let ev = Val::parse(&text).expect("event");
        let m = set.matches(&ev);
        if let Some(ex) = corr.extract(&ev, &m) {
            corr.push(*rec, ex, &mut alerts);
        }
        collect(&mut corr);
    }
    corr.finish(&mut alerts);
    collect(&mut corr);
    assert!(alerts.is_empty());
    assert_eq!(corr.stats().late, 0);
    got
}

#[test]
fn native_sequences_equal_the_reference_on_random_streams() {
    let mut total = 0;
    for case in 0..300u64 {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ (case + 1).wrapping_mul(0x9E37_79B9));
        let n_steps = 2 + rng.below(3) as usize;
        let spec = Spec {
            steps: (0..n_steps)
                .map(|_| (rng.below(4), if rng.below(4) == 0 { 2 } else { 1 }))
                .collect(),
            until: (rng.below(3) == 0).then(|| 4 + rng.below(2)),
            shared: rng.below(2) == 0,
            maxspan: (rng.below(3) != 0).then(|| 1 + rng.below(20) as i64),
        };
        let n = 20 + rng.below(200) as usize;
        let mut t = 0i64;
        let events: Vec<Ev> = (0..n)
            .map(|_| {
                t += rng.below(3000) as i64;
                Ev {
                    time: t,
                    k: rng.below(6),
                    key: (rng.below(10) != 0).then(|| rng.below(3)),
                }
            })
            .collect();
        // Arrival: each event delayed by up to 5 s; record numbers follow arrival.
        let mut order: Vec<(i64, usize)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.time + rng.below(5000) as i64, i))
            .collect();
        order.sort();
        let mut numbered = Vec::new();
        let mut arrival = Vec::new();
        for (r, &(_, i)) in order.iter().enumerate() {
            let e = &events[i];
            let rec = r as u64 + 1;
            let mut v = json!({"@timestamp": 1_700_000_000_000i64 + e.time, "k": e.k});
            if let Some(key) = e.key {
                let name = if spec.shared { "g" } else { "h" };
                // Keys as numbers or as strings: the same key text.
                v[name] = if rng.below(2) == 0 {
                    json!(key)
                } else {
                    json!(key.to_string())
                };
            }
            numbered.push((rec, e.clone()));
            arrival.push((rec, v));
        }
        let mut got = native(&spec, &arrival, 10_000_000_000);
        let mut want = reference(&spec, &numbered);
        got.sort();
        want.sort();
        assert_eq!(got, want, "case {case}: {spec:?}\n{}", spec.eql());
        total += got.len();
    }
    assert!(total > 100, "only {total} sequences completed");
    eprintln!("{total} completed sequences compared");
}
