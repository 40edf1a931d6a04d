//! The built-in pipelines over the whole SigmaHQ catalog: no rule makes a pipeline panic, and
//! each rule either maps or fails with a pipeline error naming it.

mod common;

use std::collections::BTreeMap;

use sigmat::ir::Document;
use sigmat::pipeline::{self, Pipeline};

fn run(name: &str, product: &str) -> (usize, usize, BTreeMap<String, usize>) {
    let shared = common::shared().unwrap();
    let p = [Pipeline::builtin(name).unwrap()];
    let dirs = common::detection_folders(&shared);
    let (mut ok, mut failed) = (0, 0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (_, docs) in sigmat::sigma::load_paths(&dirs) {
        for d in docs.into_iter().flatten() {
            let Document::Rule(mut r) = d else { continue };
            if r.logsource.product.as_deref() != Some(product) {
                continue;
            }
            match pipeline::apply(&p, &mut r) {
                Ok(()) => ok += 1,
                Err(e) => {
                    failed += 1;
                    assert_eq!(e.kind.code(), "pipeline");
                    let msg = e.kind.to_string();
                    let reason = msg
                        .split(" (pipeline")
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    *reasons.entry(reason).or_default() += 1;
                }
            }
        }
    }
    (ok, failed, reasons)
}

#[test]
fn ecs_linux_and_macos_over_the_catalog() {
    if common::shared_or_skip("ecs_linux_and_macos_over_the_catalog").is_none() {
        return;
    }
    for (name, product) in [("ecs_linux", "linux"), ("ecs_macos", "macos")] {
        let (ok, failed, reasons) = run(name, product);
        eprintln!(
            "{name}: {} {product} rules, {ok} mapped, {failed} refused",
            ok + failed
        );
        for (r, n) in &reasons {
            eprintln!("  {n:4}  {r}");
        }
        // The shared catalog is a fixed snapshot: most Linux rules and nearly all macOS rules
        // are process_creation / file_event / network_connection rules that map.
        assert!(
            ok * 2 > ok + failed,
            "{name}: only {ok} of {} mapped",
            ok + failed
        );
    }
}
