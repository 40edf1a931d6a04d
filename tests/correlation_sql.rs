//! Correlation queries of the SQL backends executed: every fixture of `rules/correlation/`
//! converted to `sqlite` (`-O tiebreak_column=_id`) and run with rusqlite on its event stream
//! (record numbers in `_id`) must give exactly the native engine's alerts on that stream: the
//! same group-by values, count or value, first and last time (to the millisecond). A
//! correlation over correlations is refused by name. `.ci/conformance` runs the same on DuckDB
//! and PostgreSQL.

mod common;
mod sql_correlation;

use std::path::{Path, PathBuf};

use serde_json::Value;
use sigmat::ir::Document;
use sigmat::session::{Outcome, Session};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/correlation");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("rules/correlation")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    out.sort();
    out
}

fn events(yml: &Path) -> Vec<(u64, Value)> {
    let path = yml.with_extension("events.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, serde_json::from_str(l).expect("event line")))
        .collect()
}

#[test]
fn sqlite_correlations_equal_native_alerts() {
    let session = Session::builder()
        .target("sqlite")
        .option("tiebreak_column", "_id")
        .build()
        .expect("session");
    let (mut compared, mut alerts, mut refused) = (0, 0, 0);
    for yml in fixtures() {
        let evs = events(&yml);
        let batch = session.load(std::slice::from_ref(&yml));
        let items = session.convert(&batch).expect("convert");
        let docs: Vec<Document> = session
            .load(std::slice::from_ref(&yml))
            .documents()
            .0
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        let native = sql_correlation::native_alerts(docs.clone(), &evs);
        for item in &items {
            let Ok(Document::Correlation(c)) = &item.entry.doc else {
                continue;
            };
            let label = c
                .meta
                .name
                .clone()
                .or_else(|| c.meta.id.clone())
                .unwrap_or_else(|| c.meta.title.clone());
            let chained = c.rules.iter().any(|r| {
                docs.iter().any(|d| match d {
                    Document::Correlation(o) => {
                        o.meta.name.as_deref() == Some(r) || o.meta.id.as_deref() == Some(r)
                    }
                    Document::Rule(_) | Document::Filter(_) | Document::Sequence(_) => false,
                })
            });
            let query = match &item.outcome {
                Outcome::Converted(conv) => conv.queries[0].clone(),
                Outcome::Unsupported(e) | Outcome::Failed(e) => {
                    assert!(
                        chained,
                        "{}: `{label}` not converted: {}",
                        yml.display(),
                        e.render()
                    );
                    refused += 1;
                    continue;
                }
            };
            assert!(
                !chained,
                "{}: a chained correlation converted",
                yml.display()
            );
            // An inner correlation's alerts are printed only with `generate`.
            let referenced = docs.iter().any(|d| match d {
                Document::Correlation(o) => o
                    .rules
                    .iter()
                    .any(|r| Some(r) == c.meta.name.as_ref() || Some(r) == c.meta.id.as_ref()),
                Document::Rule(_) | Document::Filter(_) | Document::Sequence(_) => false,
            });
            if referenced && !native.contains_key(&label) {
                continue;
            }
            let got = sql_correlation::sqlite_alerts(&query, &c.group_by, &evs);
            let want = native.get(&label).cloned().unwrap_or_default();
            assert_eq!(
                got,
                want,
                "{}: `{label}`: SQLite (left) and native (right) alerts differ\n{query}",
                yml.display()
            );
            compared += 1;
            alerts += got.len();
        }
    }
    assert!(compared >= 15, "correlations compared: {compared}");
    assert!(alerts >= 20, "alerts compared: {alerts}");
    assert!(refused >= 1, "the chained fixture is refused");
}
