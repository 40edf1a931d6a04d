//! Correlation stage throughput and memory.
//!
//! ```text
//! cargo bench --bench correlate                             # 1,000,000 events
//! SIGMAT_BENCH_EVENTS=100000 cargo bench --bench correlate  # quicker
//! ```
//!
//! 50 base rules (`EventID: k`, k = 1..50), 10 correlations of mixed types over 40 of them
//! (event_count sliding and windowed, value_count, temporal, temporal_ordered, value_sum,
//! value_avg, value_percentile, value_median, and an event_count over the first one: chaining),
//! grouped by `user` (100,000 distinct values) or `host` (100; c1 and c10). Events are generated
//! deterministically in batches of 4096, their timestamps a few milliseconds apart with jitter
//! (so the reorder buffer works), serialised to JSON, parsed and matched by the rule set (not
//! timed as the correlation stage), then the correlation stage (`Correlator::extract` and
//! `Correlator::push`, then `finish`) runs on one thread and is timed on its own (wall time of
//! its part of each batch). Reported: the stage's events/s over all events and over the events it received, the
//! alerts, the most live groups, and the peak resident memory (`VmHWM`) of the whole process
//! minus the resident memory before the run. `SIGMAT_BENCH_LATENESS=SECONDS` sets
//! `--max-lateness` (default 1 h: about 250,000 events held; the jitter needs only 2 s).
//!
//! `SIGMAT_BENCH_WRITE_DIR=DIR` only writes the rules (`DIR/rules.yml`) and the same events
//! (`DIR/events.ndjson`) for the end-to-end comparison with rsigma 0.23
//! (`benches/correlate_rsigma.sh`), and exits.

use std::time::Instant;

use sigmat::eval::correlate::{self, Config};
use sigmat::eval::{Scratch, Val};
use sigmat::session::Session;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

fn status_kb(key: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with(key))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// The id of base rule `k` (1..=50) or of correlation `k - 100` (101..=110). Rules are
/// referenced by id, not by name: rsigma 0.23 resolves only ids.
fn bench_id(k: usize) -> String {
    format!("00000000-0000-4000-8000-{k:012}")
}

fn rules_yaml() -> String {
    let mut y = String::new();
    for k in 1..=50 {
        y.push_str(&format!(
            "title: r{k}\nid: {}\nname: r{k}\nlogsource: {{product: bench}}\ndetection: {{sel: {{EventID: {k}}}, condition: sel}}\n---\n",
            bench_id(k)
        ));
    }
    let rs = |a: usize, b: usize| (a..=b).map(bench_id).collect::<Vec<_>>().join(", ");
    let corrs = [
        (
            "c1",
            "event_count",
            rs(1, 5),
            "host",
            "1m",
            "gte: 5".to_string(),
        ),
        ("c2", "event_count", rs(6, 10), "user", "5m", "lt: 2".into()),
        (
            "c3",
            "value_count",
            rs(11, 15),
            "user",
            "10m",
            "gte: 3, field: host".into(),
        ),
        ("c4", "temporal", rs(16, 18), "user", "5m", "gte: 3".into()),
        (
            "c5",
            "temporal_ordered",
            rs(19, 20),
            "user",
            "2m",
            "gte: 2".into(),
        ),
        (
            "c6",
            "value_sum",
            rs(21, 25),
            "user",
            "10m",
            "gt: 5000, field: bytes".into(),
        ),
        (
            "c7",
            "value_avg",
            rs(26, 30),
            "host",
            "5m",
            "gte: 900, field: bytes".into(),
        ),
        (
            "c8",
            "value_percentile",
            rs(31, 35),
            "host",
            "1h",
            "gt: 990, field: bytes, percentile: 95".into(),
        ),
        (
            "c9",
            "value_median",
            rs(36, 40),
            "user",
            "10m",
            "lt: 100, field: bytes".into(),
        ),
        (
            "c10",
            "event_count",
            bench_id(101),
            "host",
            "1h",
            "gte: 2".into(),
        ),
    ];
    for (k, (name, kind, rules, g, span, cond)) in corrs.into_iter().enumerate() {
        if k > 0 {
            y.push_str("---\n");
        }
        y.push_str(&format!(
            "title: {name}\nid: {}\nname: {name}\ncorrelation: {{type: {kind}, rules: [{rules}], group-by: [{g}], timespan: {span}, condition: {{{cond}}}}}\n",
            bench_id(101 + k)
        ));
    }
    y
}

/// The next event of the stream: timestamps a few milliseconds apart, up to 2 s early (jitter,
/// so events arrive out of order), EventID 1..60 (51..60 match no rule).
fn event(rng: &mut Rng, base_ms: &mut u64, users: u64) -> String {
    *base_ms += rng.below(20);
    let t = *base_ms - rng.below(2000);
    let id = 1 + rng.below(60);
    let user = rng.below(users);
    let host = rng.below(100);
    let bytes = rng.below(1000);
    format!(
        r#"{{"@timestamp":{t},"EventID":{id},"user":"u{user}","host":"h{host}","bytes":{bytes}}}"#
    )
}

const USERS: u64 = 100_000;
const BASE_MS: u64 = 1_700_000_000_000;

/// `SIGMAT_BENCH_WRITE_DIR`: the rules and `n` events as files, for other engines.
fn write_files(dir: &std::path::Path, n: usize) {
    use std::io::Write;
    std::fs::create_dir_all(dir).expect("create the output folder");
    std::fs::write(dir.join("rules.yml"), rules_yaml()).expect("write rules.yml");
    let file = std::fs::File::create(dir.join("events.ndjson")).expect("create events.ndjson");
    let mut w = std::io::BufWriter::new(file);
    let (mut rng, mut base_ms) = (Rng(42), BASE_MS);
    for _ in 0..n {
        writeln!(w, "{}", event(&mut rng, &mut base_ms, USERS)).expect("write an event");
    }
    w.flush().expect("flush events.ndjson");
    println!(
        "wrote {}/rules.yml and {n} events to {}/events.ndjson",
        dir.display(),
        dir.display()
    );
}

fn main() {
    let n: usize = std::env::var("SIGMAT_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let users = USERS;
    if let Some(dir) = std::env::var_os("SIGMAT_BENCH_WRITE_DIR") {
        write_files(std::path::Path::new(&dir), n);
        return;
    }
    let session = Session::builder().build().expect("session");
    let (docs, failures) = session.load_str(&rules_yaml(), "bench.yml").documents();
    assert!(failures.is_empty(), "{failures:?}");
    let docs = docs.into_iter().map(|(_, d)| d).collect();
    // `SIGMAT_BENCH_LATENESS` (seconds) overrides the default --max-lateness (1 h).
    let mut config = Config::default();
    if let Some(s) = std::env::var("SIGMAT_BENCH_LATENESS")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    {
        config.max_lateness = s * 1_000_000_000;
    }
    let lateness = config.max_lateness / 1_000_000_000;
    let (set, mut corr, errors) = correlate::compile_documents(docs, config);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!((set.len(), corr.len()), (50, 10));
    let rss0 = status_kb("VmRSS:").unwrap_or(0.0);
    let mut rng = Rng(42);
    let mut scratch = Scratch::default();
    let mut matches = Vec::new();
    let mut alerts = Vec::new();
    let mut alert_count = 0usize;
    let mut peak_groups = 0usize;
    let mut relevant = 0u64;
    let mut stage = 0.0f64;
    let mut base_ms = BASE_MS;
    let started = Instant::now();
    let mut seq = 0u64;
    let mut lines: Vec<String> = Vec::with_capacity(4096);
    while (seq as usize) < n {
        lines.clear();
        for _ in 0..4096.min(n - seq as usize) {
            lines.push(event(&mut rng, &mut base_ms, users));
        }
        let parsed: Vec<(Val<'_>, Vec<usize>)> = lines
            .iter()
            .map(|l| {
                let ev = Val::parse(l).expect("event");
                set.matches_with(&ev, &mut scratch, &mut matches);
                (ev, matches.clone())
            })
            .collect();
        let w0 = Instant::now();
        for (ev, m) in &parsed {
            seq += 1;
            if let Some(ex) = corr.extract(ev, m) {
                relevant += 1;
                corr.push(seq, ex, &mut alerts);
                alert_count += alerts.len();
                alerts.clear();
            }
        }
        stage += w0.elapsed().as_secs_f64();
        peak_groups = peak_groups.max(corr.live_groups());
    }
    let w0 = Instant::now();
    corr.finish(&mut alerts);
    stage += w0.elapsed().as_secs_f64();
    alert_count += alerts.len();
    let total = started.elapsed().as_secs_f64();
    let hwm = status_kb("VmHWM:").unwrap_or(0.0);
    let st = corr.stats();
    println!(
        "correlate: {n} events, 50 rules, 10 correlations, {users} users, --max-lateness {lateness}s"
    );
    println!(
        "  correlation stage (1 thread): {stage:.2}s = {:.0} events/s ({relevant} events reached it: {:.0}/s)",
        n as f64 / stage,
        relevant as f64 / stage
    );
    println!("  whole run incl. generating, parsing and matching: {total:.2}s");
    println!(
        "  alerts: {alert_count}; per correlation: {}",
        (0..corr.len())
            .map(|c| format!("{}={}", corr.label(c), corr.corr_stats(c).alerts))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  live groups at most (sampled per batch): {peak_groups}; reorder buffer at most {} events; late {}",
        st.peak_buffered, st.late
    );
    println!(
        "  peak resident memory: {:.1} MB (VmHWM), {:.1} MB above the start of the run",
        hwm / 1024.0,
        (hwm - rss0) / 1024.0
    );
}
