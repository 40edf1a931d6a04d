//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared folder (corpus, seeds, data): `$SIGMAT_SHARED`, else `../shared` beside the crate.
/// `None` when it does not exist; callers then skip with a printed reason.
pub fn shared() -> Option<PathBuf> {
    let p = std::env::var_os("SIGMAT_SHARED").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")),
        PathBuf::from,
    );
    p.is_dir().then_some(p)
}

/// `shared()` or a printed skip notice naming the test.
pub fn shared_or_skip(test: &str) -> Option<PathBuf> {
    let s = shared();
    if s.is_none() {
        eprintln!("skipping {test}: ../shared not found (set SIGMAT_SHARED to its path)");
    }
    s
}
