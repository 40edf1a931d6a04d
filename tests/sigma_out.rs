//! The `sigma` backend, verified by reading its output back: a rule written as Sigma YAML and
//! read by the Sigma front end must be the same rule (metadata, log source, and the condition
//! up to key paths, `and`/`or` nesting and number spelling) and give the same native verdicts
//! on generated events (matches, non-matches, near misses). Over our fixtures (Sigma and
//! Elastic) here, and over the whole Elastic corpus when `../shared` is present.

mod common;
mod eval_reference;
mod events_gen;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigmat::error::Error;
use sigmat::ir::{Document, Expr, Number, Predicate, RegexFlags, Rule, Test};
use sigmat::render::{Backend, Options};

/// `rule` as Sigma YAML.
fn to_sigma(b: &Backend, rule: &Rule) -> Result<String, Error> {
    let conv = b.convert(rule, &Options::new())?;
    assert_eq!(conv.queries.len(), 1, "one Sigma document per rule");
    Ok(conv.queries[0].clone())
}

/// The one rule of a Sigma text, read by the front end.
fn read_back(text: &str) -> Rule {
    let docs = sigmat::sigma::parse_str(text, Some("out.yml"));
    assert_eq!(docs.len(), 1, "one document:\n{text}");
    match docs.into_iter().next() {
        Some(Ok(Document::Rule(r))) => r,
        Some(Ok(other)) => panic!("not a rule: {other:?}\n{text}"),
        Some(Err(e)) => panic!("the front end refuses the output: {}\n{text}", e.render()),
        None => unreachable!(),
    }
}

/// A canonical form of a condition: no key paths, nested `and`/`or` flattened and their
/// children sorted (both commute in the IR's two-valued logic; value lists reorder them),
/// numbers by value, networks normalised, a regex's leading inline flags moved into its flags.
fn norm(e: &Expr) -> Expr {
    fn flat(xs: &[Expr], and: bool, out: &mut Vec<Expr>) {
        for x in xs {
            match (norm(x), and) {
                (Expr::And(ys), true) | (Expr::Or(ys), false) => out.extend(ys),
                (y, _) => out.push(y),
            }
        }
    }
    match e {
        Expr::And(xs) => {
            let mut out = Vec::new();
            flat(xs, true, &mut out);
            out.sort_by_cached_key(|x| format!("{x:?}"));
            Expr::and(out)
        }
        Expr::Or(xs) => {
            let mut out = Vec::new();
            flat(xs, false, &mut out);
            out.sort_by_cached_key(|x| format!("{x:?}"));
            Expr::or(out)
        }
        Expr::Not(x) => Expr::Not(Box::new(norm(x))),
        Expr::Pred(p) => Expr::Pred(Predicate {
            field: p.field.clone(),
            test: norm_test(&p.test),
            at: String::new(),
        }),
    }
}

fn norm_test(t: &Test) -> Test {
    match t {
        Test::Num { op, value } => Test::Num {
            op: *op,
            value: Number::new(value.as_f64().to_string()),
        },
        Test::TimePart { part, op, value } => Test::TimePart {
            part: *part,
            op: *op,
            value: Number::new(value.as_f64().to_string()),
        },
        Test::Regex { pattern, flags } => {
            let mut f: RegexFlags = *flags;
            let mut src = pattern.as_str();
            while let Some(rest) = src.strip_prefix("(?") {
                let Some(end) = rest.find(')') else { break };
                let fl = &rest[..end];
                if fl.is_empty() || !fl.chars().all(|c| matches!(c, 'i' | 'm' | 's')) {
                    break;
                }
                f.ignore_case |= fl.contains('i');
                f.multi_line |= fl.contains('m');
                f.dot_all |= fl.contains('s');
                src = &rest[end + 1..];
            }
            Test::Regex {
                pattern: src.to_string(),
                flags: f,
            }
        }
        Test::Cidr(net) => Test::Cidr(
            net.parse::<ipnet::IpNet>()
                .map_or_else(|_| net.clone(), |n| n.trunc().to_string()),
        ),
        other => other.clone(),
    }
}

/// What the round trip of one rule gave.
enum Trip {
    /// Same IR, and this many events with equal verdicts.
    Same(usize),
    /// The backend refused: the reason.
    Refused(String),
}

/// Writes `rule` as Sigma, reads it back, and checks metadata, log source, condition and
/// verdicts; panics on any difference.
fn round_trip(b: &Backend, rule: &Rule) -> Trip {
    let text = match to_sigma(b, rule) {
        Ok(t) => t,
        Err(e) => {
            assert_eq!(e.kind.code(), "unsupported", "{}", e.render());
            let msg = e.render();
            let reason = msg
                .split("unsupported by sigma: ")
                .nth(1)
                .unwrap_or(&msg)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            return Trip::Refused(reason);
        }
    };
    let back = read_back(&text);
    let name = rule.origin.file.as_deref().unwrap_or(&rule.meta.title);
    let mut meta = rule.meta.clone();
    meta.custom.clear();
    assert_eq!(back.meta, meta, "{name}: metadata\n{text}");
    assert_eq!(back.logsource, rule.logsource, "{name}: logsource\n{text}");
    let want: Vec<Expr> = rule.conditions.iter().map(norm).collect();
    let got: Vec<Expr> = back.conditions.iter().map(norm).collect();
    assert_eq!(got, want, "{name}: condition\n{text}");
    Trip::Same(events_gen::assert_same_verdicts(rule, &back, name, &text))
}

/// Counts of a batch of round trips.
#[derive(Default)]
struct Tally {
    same: usize,
    events: usize,
    refused: BTreeMap<String, Vec<String>>,
}

impl Tally {
    fn add(&mut self, b: &Backend, rule: &Rule) {
        match round_trip(b, rule) {
            Trip::Same(n) => {
                self.same += 1;
                self.events += n;
            }
            Trip::Refused(why) => self
                .refused
                .entry(why)
                .or_default()
                .push(rule.origin.file.clone().unwrap_or_default()),
        }
    }

    fn report(&self, what: &str) {
        let refused: usize = self.refused.values().map(Vec::len).sum();
        eprintln!(
            "{what}: {} rules round-trip through `-t sigma` ({} events, equal verdicts), {refused} refused",
            self.same, self.events
        );
        for (why, files) in &self.refused {
            eprintln!("  refused {}: {why} (e.g. {})", files.len(), files[0]);
        }
    }
}

fn sigma_fixtures() -> Vec<Rule> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let dirs: Vec<PathBuf> = [
        "adversarial",
        "condition",
        "keywords",
        "modifiers",
        "seed",
        "semantics",
        "values",
    ]
    .iter()
    .map(|d| root.join(d))
    .collect();
    let mut out = Vec::new();
    for (_, docs) in sigmat::sigma::load_paths(&dirs) {
        for d in docs.into_iter().flatten() {
            if let Document::Rule(r) = d {
                out.push(r);
            }
        }
    }
    out
}

fn elastic_rules(dir: &Path) -> Vec<Result<Rule, Error>> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| e.path().to_path_buf())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| sigmat::read::read_file(f).and_then(sigmat::read::lower_rule))
        .collect()
}

#[test]
fn sigma_fixtures_round_trip() {
    let b = Backend::builtin("sigma").expect("sigma backend");
    let mut t = Tally::default();
    for r in sigma_fixtures() {
        t.add(&b, &r);
    }
    t.report("Sigma fixtures");
    assert!(t.same >= 60, "round trips: {}", t.same);
    assert!(t.events > 500, "events: {}", t.events);
    // Keyword searches are the one refusal on our fixtures.
    for why in t.refused.keys() {
        assert!(why.contains("keyword"), "unexpected refusal: {why}");
    }
}

#[test]
fn elastic_fixtures_round_trip() {
    let b = Backend::builtin("sigma").expect("sigma backend");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/elastic");
    let mut t = Tally::default();
    for r in elastic_rules(&dir).into_iter().flatten() {
        t.add(&b, &r);
    }
    t.report("Elastic fixtures");
    assert!(t.same >= 3 && t.refused.is_empty(), "{}", t.same);
}

#[test]
fn elastic_corpus_round_trips() {
    let Some(shared) = common::shared_or_skip("elastic_corpus_round_trips") else {
        return;
    };
    let b = Backend::builtin("sigma").expect("sigma backend");
    let mut t = Tally::default();
    let mut unread = 0;
    for r in elastic_rules(&shared.join("corpus/elastic")) {
        match r {
            Ok(r) => t.add(&b, &r),
            Err(_) => unread += 1,
        }
    }
    t.report(&format!(
        "Elastic corpus ({unread} files the readers refuse)"
    ));
    let refused: usize = t.refused.values().map(Vec::len).sum();
    assert!(t.same > 1200, "round trips: {}", t.same);
    assert!(refused * 100 < t.same, "refused: {refused}");
}
