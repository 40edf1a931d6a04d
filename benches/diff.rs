//! `analysis::decide` on the seed pair and on catalog pairs.
//!
//! Run: `cargo bench --bench diff`. Two parts:
//! 1. the seed pair as `tests/cli_diff.rs` sets it up (Sigma seed 000,
//!    `rules/seed/python_webserver_execution_linux.yml` with `ecs_linux`, against Elastic seed
//!    001's current TOML), decided with the CLI's default options (witnesses, explanations):
//!    median of `SIGMAT_BENCH_RUNS` (default 50) runs. Goal: under 20 ms.
//! 2. 1,000 catalog pairs (`SIGMAT_BENCH_PAIRS`): SigmaHQ Windows and Linux rules under the ECS
//!    pipelines, each against its own EQL rendering read back, an even sample of the rules
//!    that convert, decided in parallel on 2 rayon threads with the CLI's default options.
//!    Goal: under 10 s. Prints the counts per relation and the `unknown` reasons.
//!    `SIGMAT_BENCH_ONLY=TEXT` keeps only the sampled pairs whose rule path contains `TEXT`
//!    (to time one slow pair).
//!
//! Wall times are noisy on a shared machine: CPU time (user + system, from `/proc/self/stat`)
//! is printed beside them, and the load average.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;

use sigmat::analysis::{decide, Options, Relation};
use sigmat::ir;
use sigmat::session::Session;

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/analysis_pairs/mod.rs"]
mod pairs;

const SIGMA: &str = "rules/seed/python_webserver_execution_linux.yml";
/// Pairs slower than this (seconds, wall) are printed.
const SLOW: f64 = 0.5;
const CURRENT: &str = "rules/elastic/python_webserver_current.toml";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU seconds (user + system) of this process so far, from `/proc/self/stat` (clock ticks of
/// 1/100 s); 0 where that file does not exist.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn one_rule(session: &Session, path: &str) -> ir::Rule {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/")).join(path);
    let batch = session.load(&[p]);
    match batch.entries.into_iter().next().map(|e| e.doc) {
        Some(Ok(ir::Document::Rule(r))) => r,
        other => panic!("{path}: not one rule: {:?}", other.map(|d| d.is_ok())),
    }
}

fn seed_pair() {
    let a_session = Session::builder()
        .pipeline("ecs_linux")
        .build()
        .expect("session");
    let b_session = Session::builder().build().expect("session");
    let a = one_rule(&a_session, SIGMA);
    let b = one_rule(&b_session, CURRENT);
    let opts = Options::default();
    let first = decide(&a, &b, &opts).expect("decides");
    assert_eq!(first.relation, Relation::Overlap, "the seed pair overlaps");
    let runs = env_usize("SIGMAT_BENCH_RUNS", 50).max(1);
    let mut times = Vec::with_capacity(runs);
    let cpu0 = cpu_seconds();
    for _ in 0..runs {
        let t = Instant::now();
        let d = decide(&a, &b, &opts).expect("decides");
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(d.relation, Relation::Overlap);
    }
    let cpu = (cpu_seconds() - cpu0) / runs as f64;
    times.sort_by(f64::total_cmp);
    println!(
        "seed pair (000 + ecs_linux vs 001 current): {} ({} differences), median {:.2} ms, \
         best {:.2} ms wall, {:.2} ms CPU per run ({runs} runs; goal < 20 ms)",
        first.relation.name(),
        first.differences.len(),
        times[runs / 2] * 1e3,
        times[0] * 1e3,
        cpu * 1e3
    );
}

fn catalog(shared: &std::path::Path) {
    let want = env_usize("SIGMAT_BENCH_PAIRS", 1000);
    let t = Instant::now();
    let mut all = Vec::new();
    for (product, pipeline) in pairs::PRODUCTS {
        all.extend(pairs::eql_pairs(shared, product, pipeline));
    }
    let all: Vec<_> = all.into_iter().filter(|p| p.eql.is_ok()).collect();
    let step = (all.len() / want.max(1)).max(1);
    let only = std::env::var("SIGMAT_BENCH_ONLY").unwrap_or_default();
    let work: Vec<_> = all
        .iter()
        .step_by(step)
        .take(want)
        .filter(|p| p.path.to_string_lossy().contains(&only))
        .collect();
    println!(
        "catalog pairs: {} of {} rules read back (every {step}th), prepared in {:.2} s",
        work.len(),
        all.len(),
        t.elapsed().as_secs_f64()
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of 2 threads");
    let opts = Options::default();
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let results: Vec<Relation> = pool.install(|| {
        work.par_iter()
            .map(|p| {
                let rhs = p.eql.as_ref().expect("filtered to read-back pairs");
                let t = Instant::now();
                let r = decide(&p.lhs, rhs, &opts).expect("decides").relation;
                let took = t.elapsed().as_secs_f64();
                if took > SLOW {
                    println!("  slow: {} {took:.2} s: {}", p.path.display(), r.name());
                }
                r
            })
            .collect()
    });
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in &results {
        *counts.entry(r.name()).or_default() += 1;
        if let Relation::Unknown(why) = r {
            let key: String = why
                .split(" (at ")
                .next()
                .unwrap_or(why)
                .chars()
                .take(100)
                .collect();
            *reasons.entry(key).or_default() += 1;
        }
    }
    println!(
        "catalog pairs: {} decided in {wall:.2} s wall, {cpu:.2} s CPU on 2 threads \
         (goal < 10 s): {counts:?}",
        results.len()
    );
    for (why, n) in &reasons {
        println!("  unknown x{n}: {why}");
    }
}

fn main() {
    println!("load average: {}", load_average());
    seed_pair();
    let Some(shared) = common::shared_or_skip("bench diff (catalog part)") else {
        return;
    };
    catalog(&shared);
    println!("load average: {}", load_average());
}
