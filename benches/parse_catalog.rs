//! Reads and lowers the whole SigmaHQ catalog (`../shared/corpus/sigma/rules*`) into the IR,
//! single-threaded, and prints files per second and the total time; then the same for the
//! Elastic corpus (`../shared/corpus/elastic`, every `.toml`: read, query parsed and lowered
//! into IR documents, or refused by name).
//!
//! Run with `cargo bench --bench parse_catalog`. Targets: under 0.5 s for the 3,780 Sigma
//! files, under 0.3 s for the 2,192 Elastic files.

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
    elastic(&shared.join("corpus/elastic"), rounds);
}

/// The Elastic corpus, read and lowered (file reads included, as for Sigma).
fn elastic(base: &std::path::Path, rounds: usize) {
    let mut files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(base)
        .into_iter()
        .filter_map(Result::ok)
        .map(walkdir::DirEntry::into_path)
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        eprintln!(
            "skipping the Elastic corpus: no rules under {}",
            base.display()
        );
        return;
    }
    let mut best = f64::INFINITY;
    for round in 0..rounds {
        let start = Instant::now();
        let (mut docs, mut refused) = (0usize, 0usize);
        for f in &files {
            match sigmat::read::read_file(f).and_then(sigmat::read::lower_document) {
                Ok(d) => docs += d.len(),
                Err(_) => refused += 1,
            }
        }
        let secs = start.elapsed().as_secs_f64();
        best = best.min(secs);
        println!(
            "elastic round {round}: {} files, {docs} documents, {refused} refused or invalid in {secs:.3} s",
            files.len()
        );
    }
    println!(
        "parse_catalog elastic: best of {rounds}: {best:.3} s for {} files ({:.0} files/s, single-threaded, read + parse + lower)",
        files.len(),
        files.len() as f64 / best
    );
}
