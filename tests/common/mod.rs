//! Helpers shared by the integration tests (and the benches, which include this file with
//! `#[path]`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared folder (corpus, seeds, data): `$SIGMAT_SHARED`, else `../shared` beside the crate.
/// `None` when it does not exist; callers then skip with a printed reason.
pub fn shared() -> Option<PathBuf> {
    let p = std::env::var_os("SIGMAT_SHARED").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")),
        PathBuf::from,
    );
    p.is_dir().then_some(p)
}

/// The insta settings of every snapshot test: snapshots in the top-level `snapshots/`, named
/// `<stage-or-backend>@<fixture>` without the test module's prefix.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

/// `shared()` or a printed skip notice naming the test.
pub fn shared_or_skip(test: &str) -> Option<PathBuf> {
    let s = shared();
    if s.is_none() {
        // Written to the real stderr, not through `eprintln!`, which the test harness
        // captures and hides for passing tests: a skip must show in a plain `cargo test`.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipping {test}: ../shared not found (set SIGMAT_SHARED to its path)"
        );
    }
    s
}

/// The SigmaHQ detection rule folders under `<shared>/corpus/sigma`: `rules`,
/// `rules-emerging-threats` and `rules-threat-hunting` (not `rules-compliance` or
/// `rules-placeholder`).
pub fn detection_folders(shared: &Path) -> Vec<PathBuf> {
    let base = shared.join("corpus/sigma");
    ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|f| base.join(f))
        .collect()
}

/// The catalog's rule folders (`rules*` under `base`, e.g. `<shared>/corpus/sigma`), sorted;
/// empty when `base` cannot be read.
pub fn rule_folders(base: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(base)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("rules"))
                })
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}
