//! Catalog pairs for the analysis corpus test and the diff benchmark (included with `#[path]`):
//! each SigmaHQ rule the ECS pipelines convert, beside its EQL rendering read back by
//! `read::eql` and its Sigma rendering (`-t sigma`) read back by the Sigma reader.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sigmat::ir::{self, Expr, Pattern, Predicate, Test};
use sigmat::read::{eql, QueryOrigin};
use sigmat::session::{Outcome, Session};

/// The products compared and the pipeline that maps each onto ECS.
pub const PRODUCTS: [(&str, &str); 2] = [("windows", "ecs_windows"), ("linux", "ecs_linux")];

/// One catalog rule and what its renderings read back as.
pub struct Pair {
    /// The rule file.
    pub path: PathBuf,
    /// The rule after its pipeline.
    pub rule: ir::Rule,
    /// The rule with the EQL query's event category (`process where`) added as the
    /// `event.category` test the reader writes for it.
    pub lhs: ir::Rule,
    /// The EQL rendering read back (its conditions in a copy of `rule`), or why not.
    pub eql: Result<ir::Rule, String>,
}

/// The `event.category` test the EQL reader writes for the query's `<category> where` (none
/// for `any where`).
fn category(query: &str) -> Option<Expr> {
    let c = query.split_once(" where ")?.0.trim();
    if c == "any" || c.contains(char::is_whitespace) {
        return None;
    }
    Some(Expr::Pred(Predicate {
        field: Some("event.category".into()),
        test: Test::Str {
            pattern: Pattern::literal(c),
            cased: true,
        },
        at: "query.category".into(),
    }))
}

fn read_back(queries: &[String]) -> Result<Vec<Expr>, String> {
    let o = QueryOrigin::default();
    queries
        .iter()
        .map(|q| {
            let ast = eql::parse(q, &o).map_err(|e| format!("parse: {}", e.kind))?;
            eql::lower::lower(&ast, q, &o, eql::lower::Options::default())
                .map_err(|e| format!("lower: {}", e.kind))
        })
        .collect()
}

/// The rules of `<shared>/corpus/sigma/rules/<product>` that `pipeline` converts to EQL, with
/// their renderings read back, in file order.
pub fn eql_pairs(shared: &Path, product: &str, pipeline: &str) -> Vec<Pair> {
    let session = Session::builder()
        .pipeline(pipeline)
        .target("eql")
        .build()
        .expect("the EQL session builds");
    let batch = session.load(&[shared.join("corpus/sigma/rules").join(product)]);
    let items = session.convert(&batch).expect("the batch converts");
    items
        .iter()
        .filter_map(|it| match (&it.outcome, it.rule()) {
            (Outcome::Converted(c), Some(r)) => {
                let mut lhs = r.clone();
                if let Some(c) = c.queries.first().and_then(|q| category(q)) {
                    lhs.conditions = vec![Expr::And(vec![c, Expr::or(lhs.conditions)])];
                }
                let eql = read_back(&c.queries).map(|back| {
                    let mut rhs = r.clone();
                    rhs.conditions = back;
                    rhs
                });
                Some(Pair {
                    path: it.entry.path.clone(),
                    rule: r.clone(),
                    lhs,
                    eql,
                })
            }
            _ => None,
        })
        .collect()
}

/// The Sigma renderings (`-t sigma`, after `pipeline`) of the rules of `product`, read back by
/// the Sigma reader (no pipeline: the rendering holds the mapped fields): file, rule after its
/// pipeline, and the rule read back (or why not).
pub fn sigma_pairs(
    shared: &Path,
    product: &str,
    pipeline: &str,
) -> Vec<(PathBuf, ir::Rule, Result<ir::Rule, String>)> {
    let session = Session::builder()
        .pipeline(pipeline)
        .target("sigma")
        .build()
        .expect("the Sigma session builds");
    let reader = Session::builder().build().expect("a plain session builds");
    let batch = session.load(&[shared.join("corpus/sigma/rules").join(product)]);
    let items = session.convert(&batch).expect("the batch converts");
    items
        .iter()
        .filter_map(|it| match (&it.outcome, it.rule()) {
            (Outcome::Converted(c), Some(r)) => {
                let text = c.queries.join("\n");
                let back = reader.load_str(&text, "rendering.yml");
                let got = match back.entries.into_iter().next().map(|e| e.doc) {
                    Some(Ok(ir::Document::Rule(b))) => Ok(b),
                    Some(Ok(_)) => Err("read back: not a single rule".to_string()),
                    Some(Err(f)) => Err(format!("read back: {}", f.error().kind)),
                    None => Err("read back: nothing".to_string()),
                };
                Some((it.entry.path.clone(), r.clone(), got))
            }
            _ => None,
        })
        .collect()
}
