//! Sequence evaluation over generated events, beside a plain event query on the same events.
//!
//! ```text
//! cargo bench --bench sequence                              # 1,000,000 events
//! SIGMAT_BENCH_EVENTS=100000 cargo bench --bench sequence   # quicker
//! ```
//!
//! Events: process events 5 ms apart (with up to 2 s of arrival jitter, so the reorder buffer
//! works), `process.name` one of `a`, `b`, `c`, `x`, `host.id` one of 100,000 values. The
//! sequence is `sequence by host.id with maxspan=30s [process where process.name == "a"]
//! [... == "b"] [... == "c"]`; the plain query `process where process.name == "a"`. Each mode
//! runs in a process of its own (the bench starts itself twice), single-threaded: events are
//! serialised, parsed, matched by the rule set and (sequence mode) fed to the correlation
//! stage, then `finish`. Reported per mode: events/s over the whole run (parse + match +
//! stage), completed sequences or matches, the most live join keys, and the peak resident
//! memory (`VmHWM`) minus the resident memory before the run.

use std::time::Instant;

use sigmat::eval::correlate::{self, Config};
use sigmat::eval::{Scratch, Val};
use sigmat::read;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn status_kb(key: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with(key))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// splitmix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn rule(query: &str) -> String {
    format!(
        "[rule]\nname = \"bench\"\nrule_id = \"00000000-0000-4000-8000-0000000000be\"\ntype = \"eql\"\nlanguage = \"eql\"\nquery = '''\n{query}\n'''\n"
    )
}

fn run(mode: &str, n: u64) {
    let query = match mode {
        "sequence" => "sequence by host.id with maxspan=30s\n  [process where process.name == \"a\"]\n  [process where process.name == \"b\"]\n  [process where process.name == \"c\"]",
        _ => "process where process.name == \"a\"",
    };
    let r = read::read_str(&rule(query), Some("bench.toml")).expect("bench rule reads");
    let docs = read::lower_document(r).expect("bench rule lowers");
    let (set, mut corr, errors) = correlate::compile_documents(docs, Config::default());
    assert!(errors.is_empty(), "{errors:?}");
    let base = status_kb("VmRSS:").unwrap_or(0.0);
    let mut rng = Rng(7);
    let names = ["a", "b", "c", "x"];
    let mut scratch = Scratch::default();
    let mut m = Vec::new();
    let mut alerts = Vec::new();
    let (mut matches, mut completed, mut peak_keys) = (0u64, 0u64, 0usize);
    let start = Instant::now();
    let t0: i64 = 1_700_000_000_000;
    let mut line = String::new();
    for i in 0..n {
        let ts = t0 + i as i64 * 5 + rng.below(2000) as i64;
        line.clear();
        line.push_str(&format!(
            "{{\"@timestamp\":{ts},\"event\":{{\"category\":\"process\"}},\"process\":{{\"name\":\"{}\"}},\"host\":{{\"id\":\"h{}\"}}}}",
            names[rng.below(4) as usize],
            rng.below(100_000)
        ));
        let ev = Val::parse(&line).expect("event parses");
        set.matches_with(&ev, &mut scratch, &mut m);
        matches += m.len() as u64;
        if let Some(ex) = corr.extract(&ev, &m) {
            corr.push(i + 1, ex, &mut alerts);
        }
        completed += corr.take_sequence_matches().len() as u64;
        if i % 4096 == 0 {
            peak_keys = peak_keys.max(corr.sequences().live_keys());
        }
    }
    corr.finish(&mut alerts);
    completed += corr.take_sequence_matches().len() as u64;
    let secs = start.elapsed().as_secs_f64();
    let peak = status_kb("VmHWM:").unwrap_or(0.0);
    println!(
        "{mode:>8}: {n} events in {secs:.2} s ({:.0} events/s, parse + match{}), {} {}, peak live join keys {peak_keys}, peak RSS {:.1} MB over {:.1} MB before",
        n as f64 / secs,
        if mode == "sequence" { " + sequence stage" } else { "" },
        if mode == "sequence" { completed } else { matches },
        if mode == "sequence" { "completed sequences" } else { "matches" },
        (peak - base) / 1024.0,
        base / 1024.0
    );
}

fn main() {
    let n: u64 = std::env::var("SIGMAT_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    if let Ok(mode) = std::env::var("SIGMAT_BENCH_MODE") {
        run(&mode, n);
        return;
    }
    let exe = std::env::current_exe().expect("the bench binary");
    for mode in ["plain", "sequence"] {
        let status = std::process::Command::new(&exe)
            .env("SIGMAT_BENCH_MODE", mode)
            .status()
            .expect("the bench runs itself");
        assert!(status.success(), "{mode} run failed");
    }
}
