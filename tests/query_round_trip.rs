//! Query round trips, sqlparser-rs `verified_stmt` style: a query written by a backend and read
//! back by sigmat's own readers must mean what the rule it came from means, checked by native
//! verdicts on events generated from the rule (matches, non-matches, near misses: case flips,
//! one character off, missing fields, arrays, null values).
//!
//! - every SigmaHQ catalog rule (Windows through `ecs_windows`, Linux through `ecs_linux`) →
//!   `eql` backend → `read::eql` → verdicts equal the Sigma rule's (with the query's event
//!   category, and `X.caseless` read as Elasticsearch reads it: `X`, case-insensitively);
//! - every Elastic EQL / KQL rule of the corpus → IR → the same language again → read back →
//!   verdicts equal the original's. (That Elastic's own parsers accept the written queries is
//!   checked in `.ci/conformance` with eql 1.0.1 and the KQL library.)
//!
//! Refusals are counted by name and printed; without `../shared` the tests skip.

mod common;
mod eval_reference;
mod events_gen;

use std::collections::BTreeMap;
use std::path::PathBuf;

use sigmat::error::Error;
use sigmat::ir::{Document, Expr, Pattern, Predicate, Rule, Test};
use sigmat::pipeline::{self, Pipeline};
use sigmat::read::QueryOrigin;
use sigmat::render::{Backend, Options};

/// Reads an EQL or KQL query back into one IR condition.
fn read_back(lang: &str, text: &str) -> Result<Expr, Error> {
    let origin = QueryOrigin::default();
    match lang {
        "eql" => {
            let q = sigmat::read::eql::parse(text, &origin)?;
            sigmat::read::eql::lower::lower(&q, text, &origin, Default::default())
        }
        _ => {
            let q = sigmat::read::kql::parse(text, &origin)?;
            sigmat::read::kql::lower::lower(&q, text, &origin, Default::default())
        }
    }
}

/// The short name of an error, for the refusal tally.
fn reason(e: &Error) -> String {
    match &e.kind {
        sigmat::error::ErrorKind::Unsupported { target, what } => format!("{target}: {what}"),
        other => format!(
            "{}: {}",
            other.code(),
            e.render().lines().next().unwrap_or("")
        ),
    }
}

#[derive(Default)]
struct Tally {
    same: usize,
    events: usize,
    refused: BTreeMap<String, usize>,
}

impl Tally {
    fn refuse(&mut self, why: String) {
        *self.refused.entry(why).or_default() += 1;
    }

    fn report(&self, what: &str) {
        let refused: usize = self.refused.values().sum();
        eprintln!(
            "{what}: {} rules read back with equal verdicts on {} events, {refused} not written",
            self.same, self.events
        );
        for (why, n) in &self.refused {
            eprintln!("  {n:>5}  {why}");
        }
    }

    /// Compares `want` (the rule) and `got` (its query read back) on events generated from
    /// `want`; panics on the first difference.
    fn compare(&mut self, want: &Rule, got: Expr, query: &str) {
        let back = Rule {
            conditions: vec![got],
            ..want.clone()
        };
        let name = want.origin.file.as_deref().unwrap_or(&want.meta.title);
        let compared = events_gen::assert_same_verdicts(want, &back, name, query);
        self.same += 1;
        self.events += compared;
    }
}

/// `rule` as Elasticsearch runs its EQL query: `X.caseless` is `X` compared
/// case-insensitively, and the query's event category (`process where`) is a test on
/// `event.category`.
fn as_elasticsearch_runs_it(rule: &Rule, query: &str) -> Rule {
    let mut r = rule.clone();
    for c in &mut r.conditions {
        c.for_each_pred_mut(&mut |p| {
            if let Some(base) = p.field.as_deref().and_then(|f| f.strip_suffix(".caseless")) {
                p.field = Some(base.to_string());
                match &mut p.test {
                    Test::Str { cased, .. } | Test::FieldRef { cased, .. } => *cased = false,
                    Test::Regex { flags, .. } => flags.ignore_case = true,
                    Test::Num { .. }
                    | Test::Bool(_)
                    | Test::Null
                    | Test::Exists(_)
                    | Test::Cidr(_)
                    | Test::TimePart { .. } => {}
                }
            }
        });
    }
    let category = query.split(" where ").next().unwrap_or("any").trim();
    if category != "any" {
        let cat = Expr::Pred(Predicate {
            field: Some("event.category".into()),
            test: Test::Str {
                pattern: Pattern::literal(category.trim_matches('"')),
                cased: true,
            },
            at: String::new(),
        });
        r.conditions = vec![Expr::And(vec![cat, Expr::or(r.conditions.clone())])];
    }
    r
}

#[test]
fn sigma_catalog_to_eql_and_back() {
    let Some(shared) = common::shared_or_skip("sigma_catalog_to_eql_and_back") else {
        return;
    };
    let eql = Backend::builtin("eql").expect("eql");
    let pipes: Vec<(&str, Pipeline)> = ["windows", "linux"]
        .iter()
        .map(|p| {
            (
                *p,
                Pipeline::builtin(&format!("ecs_{p}")).expect("built in"),
            )
        })
        .collect();
    let mut t = Tally::default();
    for (_, docs) in sigmat::sigma::load_paths(&common::detection_folders(&shared)) {
        for d in docs.into_iter().flatten() {
            let Document::Rule(mut rule) = d else {
                continue;
            };
            let product = rule.logsource.product.clone().unwrap_or_default();
            let Some((_, p)) = pipes.iter().find(|(n, _)| *n == product) else {
                continue;
            };
            if let Err(e) = pipeline::apply(std::slice::from_ref(p), &mut rule) {
                t.refuse(format!("the pipeline refuses the rule ({})", e.kind.code()));
                continue;
            }
            let conv = match eql.convert(&rule, &Options::new()) {
                Ok(c) => c,
                Err(e) => {
                    t.refuse(reason(&e));
                    continue;
                }
            };
            if conv.queries.len() != 1 {
                t.refuse("several conditions".into());
                continue;
            }
            let q = &conv.queries[0];
            match read_back("eql", q) {
                Ok(back) => t.compare(&as_elasticsearch_runs_it(&rule, q), back, q),
                // A meaning the reader declines (e.g. EQL on the text field `message`, which
                // Elasticsearch does not search as the Sigma rule means): counted by name.
                Err(e) if matches!(e.kind, sigmat::error::ErrorKind::Unsupported { .. }) => {
                    t.refuse(format!("read back: {}", reason(&e)));
                }
                Err(e) => panic!(
                    "{}: the EQL reader refuses the eql backend's query: {}\n{q}",
                    rule.origin.file.as_deref().unwrap_or("?"),
                    e.render()
                ),
            }
        }
    }
    t.report("SigmaHQ catalog (windows, linux) -> eql -> read::eql");
    assert!(t.same > 2500, "round trips: {}", t.same);
}

/// Every Elastic EQL / KQL rule the readers lower, written again in its own language.
#[test]
fn elastic_queries_written_again_mean_the_same() {
    let Some(shared) = common::shared_or_skip("elastic_queries_written_again_mean_the_same") else {
        return;
    };
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(shared.join("corpus/elastic"))
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| e.path().to_path_buf())
        .collect();
    files.sort();
    for lang in ["eql", "kql"] {
        let b = Backend::builtin(lang).expect("backend");
        let mut t = Tally::default();
        for f in &files {
            let Ok(er) = sigmat::read::read_file(f) else {
                continue;
            };
            let is_eql = er.language == Some(sigmat::read::Language::Eql)
                || er.rule_type == sigmat::read::RuleType::Eql;
            if is_eql != (lang == "eql") {
                continue;
            }
            let Ok(rule) = sigmat::read::lower_rule(er) else {
                continue;
            };
            let q = match b.convert(&rule, &Options::new()) {
                Ok(c) => c.queries[0].clone(),
                Err(e) => {
                    t.refuse(reason(&e));
                    continue;
                }
            };
            match read_back(lang, &q) {
                Ok(back) => t.compare(&rule, back, &q),
                Err(e) => panic!(
                    "{}: the {lang} reader refuses the {lang} backend's query: {}\n{q}",
                    f.display(),
                    e.render()
                ),
            }
        }
        t.report(&format!(
            "Elastic corpus {lang} -> IR -> {lang} -> read back"
        ));
        assert!(t.same > 400, "{lang} round trips: {}", t.same);
    }
}
