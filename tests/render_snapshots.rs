//! Snapshots of every fixture rule in `rules/` rendered by every built-in backend
//! (`snapshots/<backend>@<fixture path>.snap`), refusals and warnings included.

mod common;

use std::path::Path;

use sigmat::ir::Document;
use sigmat::render::Library;
use sigmat::session::{Failure, Outcome, Session};

/// The text recorded for one fixture and one backend: per document its title, then its
/// queries and warnings, or the rendered error. Converted through the batch API, so
/// correlations find the rules bundled in the same fixture by id or name.
fn render_fixture(session: &Session, path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    let source = std::fs::read_to_string(path).expect("fixture is readable");
    let batch = session.load_str(&source, &rel);
    let items = session.convert(&batch).expect("the session has a backend");
    let mut items = items.iter().peekable();
    let mut out = String::new();
    for entry in &batch.entries {
        match &entry.doc {
            Err(Failure::Load(e)) => {
                out.push_str(&format!("{}\n", e.render()));
                items.next();
                continue;
            }
            Ok(Document::Filter(f)) => {
                out.push_str(&format!("# filter: {}\n", f.meta.title));
                continue;
            }
            Err(Failure::Pipeline(_))
            | Ok(Document::Rule(_) | Document::Correlation(_) | Document::Sequence(_)) => {
                out.push_str(&format!("# {}\n", entry.title.as_deref().unwrap_or("")));
            }
        }
        let item = items.next().expect("one item per rule and correlation");
        assert!(std::ptr::eq(item.entry, entry));
        match &item.outcome {
            Outcome::Converted(c) => {
                for q in &c.queries {
                    out.push_str(q);
                    out.push('\n');
                }
                for w in &c.warnings {
                    out.push_str(&format!("warning: {}\n", w.message));
                }
            }
            Outcome::Unsupported(e) | Outcome::Failed(e) => {
                out.push_str(&format!("{}\n", e.render()));
            }
        }
    }
    out
}

#[test]
fn every_fixture_on_every_backend() {
    let lib = Library::builtin();
    let sessions: Vec<(String, Session)> = lib
        .names()
        .iter()
        .map(|n| {
            let b = lib.backend(n).expect("built-in backend builds");
            let s = Session::builder().backend(b).build().expect("session");
            (n.clone(), s)
        })
        .collect();
    let mut settings = common::snapshot_settings();
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("../rules", "**/*.yml", |path| {
            for (name, s) in &sessions {
                insta::assert_snapshot!(name.as_str(), render_fixture(s, path));
            }
        });
    });
}
