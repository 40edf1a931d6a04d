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

/// An in-memory SQLite database with `REGEXP` registered with Rust `regex` semantics (the
/// `sqlite` backend leaves REGEXP to the caller).
pub fn sqlite_with_regexp() -> rusqlite::Connection {
    use rusqlite::functions::FunctionFlags;
    let db = rusqlite::Connection::open_in_memory().expect("in-memory sqlite");
    db.create_scalar_function(
        "regexp",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let re: String = ctx.get(0)?;
            let value: Option<String> = ctx.get(1).ok();
            let re = regex::Regex::new(&re)
                .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
            Ok(value.is_some_and(|v| re.is_match(&v)))
        },
    )
    .expect("register REGEXP");
    db
}

/// A JSON event value as the SQLite column value the SQL backends expect: null as NULL,
/// booleans as text, numbers as numbers, anything else as its text.
pub fn sql_value(v: &serde_json::Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    use serde_json::Value as J;
    match v {
        J::Null => V::Null,
        J::Bool(b) => V::Text(b.to_string()),
        J::Number(n) => n
            .as_i64()
            .map_or_else(|| V::Real(n.as_f64().unwrap_or(f64::NAN)), V::Integer),
        J::String(s) => V::Text(s.clone()),
        other => V::Text(other.to_string()),
    }
}

/// The Elastic rule kind of a built-in backend (its file's `elastic:` section), as
/// `sigmat convert -f elastic-toml` hands it to the publish stage.
pub fn elastic_target(backend: &str) -> sigmat::publish::Target {
    let b = sigmat::render::Backend::builtin(backend).expect("built-in backend");
    let e = b.file().elastic.as_ref().expect("an Elastic backend");
    sigmat::cli::elastic_out::target_of(e)
}
