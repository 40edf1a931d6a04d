//! Converts the SigmaHQ catalog (`rules`, `rules-emerging-threats`, `rules-threat-hunting`) to
//! every built-in backend and prints rules per second.
//!
//! Run: `cargo bench --bench convert`. Two figures per backend: conversion of the already
//! parsed IR (renderer only), and the whole path from files (parse + convert, in parallel as
//! `sigmat convert` does). Target: the 3,754 rules to EQL in under 0.3 s on 2 cores.

use std::time::Instant;

use rayon::prelude::*;
use sigmat::ir::{Document, Rule};
use sigmat::render::{Library, Options};
use sigmat::sigma;

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let Some(shared) = common::shared_or_skip("bench convert") else {
        return;
    };
    let folders = common::detection_folders(&shared);
    let t = Instant::now();
    let loaded = sigma::load_paths(&folders);
    let parse = t.elapsed();
    let rules: Vec<Rule> = loaded
        .iter()
        .flat_map(|(_, docs)| docs.iter())
        .filter_map(|d| match d {
            Ok(Document::Rule(r)) => Some(r.clone()),
            _ => None,
        })
        .collect();
    println!(
        "parse: {} files, {} rules in {:.3} s ({} threads)",
        loaded.len(),
        rules.len(),
        parse.as_secs_f64(),
        rayon::current_num_threads()
    );
    let lib = Library::builtin();
    let opts = Options::new();
    for name in lib.names() {
        let b = lib.backend(&name).expect("backend builds");
        // Warm-up, then the best of 5 runs.
        let mut best = f64::MAX;
        let mut ok = 0;
        for _ in 0..6 {
            let t = Instant::now();
            ok = rules
                .par_iter()
                .filter(|r| b.convert(r, &opts).is_ok())
                .count();
            best = best.min(t.elapsed().as_secs_f64());
        }
        let t = Instant::now();
        let loaded = sigma::load_paths(&folders);
        let from_files = loaded
            .par_iter()
            .flat_map(|(_, docs)| docs.par_iter())
            .filter(|d| matches!(d, Ok(Document::Rule(r)) if b.convert(r, &opts).is_ok()))
            .count();
        let total = t.elapsed().as_secs_f64();
        assert_eq!(from_files, ok);
        #[allow(clippy::cast_precision_loss)]
        let n = rules.len() as f64;
        println!(
            "{name:<9} convert {:>4} of {} rules: {:.3} s ({:>7.0} rules/s); files to queries: {:.3} s ({:>6.0} rules/s)",
            ok,
            rules.len(),
            best,
            n / best,
            total,
            n / total
        );
    }
}
