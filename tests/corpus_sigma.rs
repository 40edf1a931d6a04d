//! The SigmaHQ catalog (`../shared/corpus/sigma`): every rule under `rules*` lowers without
//! error; the legacy `deprecated/` and `unsupported/` folders give IR or a named error, never a
//! panic.

mod common;

use std::collections::BTreeMap;

use sigmat::sigma;

#[test]
fn catalog_rules_all_lower_without_error() {
    let Some(shared) = common::shared_or_skip("catalog_rules_all_lower_without_error") else {
        return;
    };
    let base = shared.join("corpus/sigma");
    let folders = common::rule_folders(&base);
    assert!(
        !folders.is_empty(),
        "no rules* folders under {}",
        base.display()
    );
    let loaded = sigma::load_paths(&folders);
    let mut docs = 0;
    let mut failures = Vec::new();
    for (path, results) in &loaded {
        for r in results {
            docs += 1;
            if let Err(e) = r {
                failures.push(format!("{}: {}", path.display(), e.render()));
            }
        }
    }
    println!(
        "catalog: {} files, {} documents, {} errors",
        loaded.len(),
        docs,
        failures.len()
    );
    for f in failures.iter().take(30) {
        println!("{f}");
    }
    assert_eq!(loaded.len(), 3780, "expected the 3,780 catalog files");
    assert!(
        failures.is_empty(),
        "{} catalog rules failed",
        failures.len()
    );
}

#[test]
fn legacy_folders_give_ir_or_named_errors() {
    let Some(shared) = common::shared_or_skip("legacy_folders_give_ir_or_named_errors") else {
        return;
    };
    let base = shared.join("corpus/sigma");
    let loaded = sigma::load_paths(&[base.join("deprecated"), base.join("unsupported")]);
    let mut ok = 0;
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (_, results) in &loaded {
        for r in results {
            match r {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(!e.render().is_empty());
                    *kinds.entry(e.kind.code()).or_default() += 1;
                }
            }
        }
    }
    println!(
        "legacy: {} files, {ok} documents lowered, errors by kind: {kinds:?}",
        loaded.len()
    );
    assert!(loaded.len() > 200, "expected the legacy folders");
    assert!(ok > 0);
}
