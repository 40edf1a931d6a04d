//! Reads and lowers the whole SigmaHQ catalog (`../shared/corpus/sigma/rules*`) into the IR,
//! single-threaded, and prints files per second and the total time.
//!
//! Run with `cargo bench --bench parse_catalog`. Target: under 0.5 s for the 3,780 files.

use std::time::Instant;

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let Some(shared) = common::shared_or_skip("parse_catalog") else {
        return;
    };
    let base = shared.join("corpus/sigma");
    let dirs = common::rule_folders(&base);
    let files = sigmat::sigma::collect_files(&dirs);
    if files.is_empty() {
        eprintln!("skipping parse_catalog: no rules under {}", base.display());
        return;
    }
    let mut best = f64::INFINITY;
    let rounds = 5;
    for round in 0..rounds {
        let start = Instant::now();
        let mut docs = 0usize;
        let mut errors = 0usize;
        for f in &files {
            for r in sigmat::sigma::load_file(f) {
                docs += 1;
                errors += usize::from(r.is_err());
            }
        }
        let secs = start.elapsed().as_secs_f64();
        best = best.min(secs);
        println!(
            "round {round}: {} files, {docs} documents, {errors} errors in {secs:.3} s ({:.0} files/s)",
            files.len(),
            files.len() as f64 / secs
        );
    }
    println!(
        "parse_catalog: best of {rounds}: {best:.3} s for {} files ({:.0} files/s, single-threaded, read + lower)",
        files.len(),
        files.len() as f64 / best
    );
}
