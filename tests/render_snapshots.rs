//! Snapshots of every fixture rule in `rules/` rendered by every built-in backend
//! (`snapshots/<backend>@<fixture path>.snap`), refusals and warnings included.

mod common;

use std::collections::HashMap;
use std::path::Path;

use sigmat::ir::{Document, Rule};
use sigmat::render::{Backend, Library, Options};
use sigmat::sigma;

/// The text recorded for one fixture and one backend: per document its title, then its
/// queries and warnings, or the rendered error.
fn render_fixture(backend: &Backend, path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    let source = std::fs::read_to_string(path).expect("fixture is readable");
    let docs = sigma::parse_str(&source, Some(&rel));
    // Correlations refer to the rules bundled in the same fixture, by id or name.
    let mut named: HashMap<String, &Rule> = HashMap::new();
    for d in &docs {
        if let Ok(Document::Rule(r)) = d {
            for k in r.meta.id.iter().chain(r.meta.name.iter()) {
                named.insert(k.clone(), r);
            }
        }
    }
    let mut out = String::new();
    for doc in &docs {
        match doc {
            Err(e) => out.push_str(&format!("{}\n", e.render())),
            Ok(Document::Filter(f)) => out.push_str(&format!("# filter: {}\n", f.meta.title)),
            Ok(Document::Correlation(c)) => {
                out.push_str(&format!("# {}\n", c.meta.title));
                let rules: Option<Vec<&Rule>> =
                    c.rules.iter().map(|r| named.get(r).copied()).collect();
                match rules {
                    None => out.push_str("correlation: its rules are not in this file\n"),
                    Some(rules) => match backend.convert_correlation(c, &rules, &Options::new()) {
                        Ok(conv) => {
                            for q in &conv.queries {
                                out.push_str(q);
                                out.push('\n');
                            }
                            for w in &conv.warnings {
                                out.push_str(&format!("warning: {}\n", w.message));
                            }
                        }
                        Err(e) => out.push_str(&format!("{}\n", e.render())),
                    },
                }
            }
            Ok(Document::Rule(r)) => {
                out.push_str(&format!("# {}\n", r.meta.title));
                match backend.convert(r, &Options::new()) {
                    Ok(c) => {
                        for q in &c.queries {
                            out.push_str(q);
                            out.push('\n');
                        }
                        for w in &c.warnings {
                            out.push_str(&format!("warning: {}\n", w.message));
                        }
                    }
                    Err(e) => out.push_str(&format!("{}\n", e.render())),
                }
            }
        }
    }
    out
}

#[test]
fn every_fixture_on_every_backend() {
    let lib = Library::builtin();
    let backends: Vec<Backend> = lib
        .names()
        .iter()
        .map(|n| lib.backend(n).expect("built-in backend builds"))
        .collect();
    let mut settings = common::snapshot_settings();
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("../rules", "**/*.yml", |path| {
            for b in &backends {
                insta::assert_snapshot!(b.name(), render_fixture(b, path));
            }
        });
    });
}
