//! The SigmaHQ catalog (`rules`, `rules-emerging-threats`, `rules-threat-hunting`: 3,754 files)
//! through every built-in backend: every rule converts or is refused with a named reason
//! (`unsupported` / `unresolved_placeholder`), never another error. Prints per-backend counts.

mod common;

use std::collections::BTreeMap;

use sigmat::error::ErrorKind;
use sigmat::ir::Document;
use sigmat::render::{Library, Options};
use sigmat::sigma;

#[test]
fn catalog_converts_or_is_refused_by_name() {
    let Some(shared) = common::shared_or_skip("catalog_converts_or_is_refused_by_name") else {
        return;
    };
    let folders = common::detection_folders(&shared);
    let loaded = sigma::load_paths(&folders);
    let rules: Vec<_> = loaded
        .iter()
        .flat_map(|(_, docs)| docs.iter())
        .filter_map(|d| match d {
            Ok(Document::Rule(r)) => Some(r),
            _ => None,
        })
        .collect();
    assert!(rules.len() >= 3700, "catalog rules: {}", rules.len());
    let lib = Library::builtin();
    let mut failures = Vec::new();
    for name in lib.names() {
        let b = lib.backend(&name).expect("backend builds");
        let (mut ok, mut refused) = (0usize, 0usize);
        let mut why: BTreeMap<String, usize> = BTreeMap::new();
        for r in &rules {
            match b.convert(r, &Options::new()) {
                Ok(c) => {
                    // A backend with named selections writes one document per rule.
                    let want = if b.file().selections.is_some() {
                        1
                    } else {
                        r.conditions.len()
                    };
                    assert_eq!(c.queries.len(), want);
                    ok += 1;
                }
                Err(e) => match &e.kind {
                    ErrorKind::Unsupported { what, .. } => {
                        refused += 1;
                        *why.entry(what.clone()).or_default() += 1;
                    }
                    ErrorKind::UnresolvedPlaceholder(_) => {
                        refused += 1;
                        *why.entry("unresolved placeholder".into()).or_default() += 1;
                    }
                    _ => failures.push(format!("{name}: {}", e.render())),
                },
            }
        }
        println!(
            "{name}: converted {ok}, refused {refused} of {}",
            rules.len()
        );
        for (w, n) in &why {
            println!("    {n:>4}  {w}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
