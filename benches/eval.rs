//! Native evaluation throughput: the SigmaHQ Windows catalog over generated Sysmon-shaped NDJSON.
//!
//! ```text
//! cargo bench --bench eval                          # 1,000,000 events
//! SIGMAT_BENCH_EVENTS=100000 cargo bench --bench eval   # quicker
//! SIGMAT_BENCH_WRITE=/tmp/ev.ndjson cargo bench --bench eval  # only write the events
//! ```
//!
//! Events are generated deterministically (fixed seed) from the values the rules test, plus
//! noise, and written once to an NDJSON file; every lane then streams that file line by line:
//!
//! - `parse`: `serde_json::from_str::<Value>` only (the baseline);
//! - `parse+eval`: parse into the evaluator's event form (`sigmat::eval::Val`, what `sigmat
//!   eval` does), then `RuleSet::matches_with`;
//! - with `SIGMAT_BENCH_VERBOSE=1` also `parse (sigmat Val)`: that parse alone;
//!
//! each single-threaded and on 2 threads (rayon, batches of 4096 lines), alternating, three
//! times (`SIGMAT_BENCH_RUNS`); the best run of each lane gives the ratio. Reported: events/s,
//! MB/s (single-thread lanes use the thread's CPU time, so a busy machine does not skew them;
//! 2-thread lanes use wall time), matches, and the peak resident memory (`VmHWM`) after those
//! lanes. Then, on a sample of 20,000 pre-parsed events: evaluation alone and the prefilter
//! alone per event, and the prefilter's candidates per event (`SIGMAT_BENCH_VERBOSE=1` lists
//! the rules most often let through). `SIGMAT_BENCH_THREADS=1` runs only the 1-thread lanes.
//!
//! Rules: `$SIGMAT_SHARED` (else `../shared`) `/corpus/sigma/rules/windows`;
//! `SIGMAT_BENCH_RULES` overrides the folder.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde_json::{json, Map, Value};
use sigmat::eval::{RuleSet, Scratch, Val};
use sigmat::ir::{Document, Piece, Test};

/// splitmix64: small, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const WORDS: &[&str] = &[
    "svchost", "update", "helper", "agent", "setup", "chrome", "msedge", "teams", "onedrive",
    "backup", "report", "sync", "notepad", "explorer", "service", "runtime", "host", "config",
    "install", "client", "worker", "monitor", "launcher", "tool", "data", "cache", "log",
];
const DIRS: &[&str] = &[
    "C:\\Windows\\System32\\",
    "C:\\Windows\\SysWOW64\\",
    "C:\\Program Files\\Contoso\\",
    "C:\\Program Files (x86)\\Fabrikam\\bin\\",
    "C:\\Users\\alice\\AppData\\Local\\Temp\\",
    "C:\\ProgramData\\Vendor\\",
];
const FLAGS: &[&str] = &[
    "/c",
    "-k",
    "--quiet",
    "/s",
    "-p",
    "--config",
    "/install",
    "-o",
    "/f",
    "--verbose",
    "-n",
    "/update",
    "--no-sandbox",
];

fn word(r: &mut Rng) -> String {
    format!("{}{}", r.pick(WORDS), r.below(100))
}

fn image(r: &mut Rng) -> String {
    format!("{}{}.exe", r.pick(DIRS), word(r))
}

fn command_line(r: &mut Rng, image: &str) -> String {
    let mut s = format!("\"{image}\"");
    for _ in 0..r.below(5) {
        s.push(' ');
        s.push_str(FLAGS[r.below(FLAGS.len())]);
        if r.chance(0.5) {
            s.push(' ');
            s.push_str(&word(r));
        }
    }
    s
}

/// A value built from a rule pattern: literal pieces kept, wildcards filled with noise.
fn from_pattern(r: &mut Rng, pieces: &[Piece]) -> String {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Lit(l) => s.push_str(l),
            Piece::AnyMany => {
                if r.chance(0.5) {
                    s.push_str(&word(r));
                }
            }
            Piece::AnyOne => s.push('x'),
            Piece::Placeholder(_) => s.push_str("placeholder"),
        }
    }
    s
}

/// Values the rules test, per field.
fn rule_values(docs: &[Document]) -> BTreeMap<String, Vec<Vec<Piece>>> {
    let mut out: BTreeMap<String, Vec<Vec<Piece>>> = BTreeMap::new();
    for d in docs {
        let Document::Rule(rule) = d else { continue };
        for c in &rule.conditions {
            c.for_each_pred(&mut |p| {
                if let (Some(f), Test::Str { pattern, .. }) = (&p.field, &p.test) {
                    out.entry(f.clone())
                        .or_default()
                        .push(pattern.pieces().to_vec());
                }
            });
        }
    }
    out
}

fn generate(r: &mut Rng, seen: &BTreeMap<String, Vec<Vec<Piece>>>, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    let computers = ["WS-0142", "WS-0388", "SRV-DC01", "SRV-FILE02", "LAPTOP-77"];
    let users = [
        "CORP\\alice",
        "CORP\\bob",
        "NT AUTHORITY\\SYSTEM",
        "CORP\\svc_backup",
    ];
    for i in 0..n {
        let kind = r.below(100);
        let event_id = match kind {
            0..=54 => 1,
            55..=69 => 11,
            70..=84 => 13,
            85..=94 => 3,
            _ => 7,
        };
        let img = image(r);
        let mut m = Map::new();
        m.insert("EventID".into(), json!(event_id));
        m.insert(
            "Channel".into(),
            json!("Microsoft-Windows-Sysmon/Operational"),
        );
        m.insert("Provider_Name".into(), json!("Microsoft-Windows-Sysmon"));
        m.insert("Computer".into(), json!(r.pick(&computers)));
        m.insert(
            "UtcTime".into(),
            json!(format!(
                "2026-11-{:02} {:02}:{:02}:{:02}.{:03}",
                1 + i % 28,
                r.below(24),
                r.below(60),
                r.below(60),
                r.below(1000)
            )),
        );
        m.insert(
            "ProcessGuid".into(),
            json!(format!(
                "{{{:08X}-1234-5678-9abc-{:012X}}}",
                r.next() as u32,
                r.next() >> 16
            )),
        );
        m.insert("ProcessId".into(), json!(r.below(60000)));
        m.insert("Image".into(), json!(img));
        m.insert("User".into(), json!(r.pick(&users)));
        match event_id {
            1 => {
                let cl = command_line(r, &img);
                m.insert("CommandLine".into(), json!(cl));
                let orig = img.rsplit('\\').next().unwrap_or("x.exe").to_string();
                m.insert("OriginalFileName".into(), json!(orig));
                m.insert("CurrentDirectory".into(), json!(r.pick(DIRS)));
                m.insert(
                    "IntegrityLevel".into(),
                    json!(["Medium", "High", "System"][r.below(3)]),
                );
                m.insert(
                    "Hashes".into(),
                    json!(format!(
                        "SHA256={:016X}{:016X},IMPHASH={:016X}",
                        r.next(),
                        r.next(),
                        r.next()
                    )),
                );
                let parent = image(r);
                m.insert("ParentCommandLine".into(), json!(command_line(r, &parent)));
                m.insert("ParentImage".into(), json!(parent));
            }
            11 => {
                m.insert(
                    "TargetFilename".into(),
                    json!(format!(
                        "{}{}.{}",
                        r.pick(DIRS),
                        word(r),
                        ["tmp", "dll", "log", "dat"][r.below(4)]
                    )),
                );
            }
            13 => {
                m.insert("EventType".into(), json!("SetValue"));
                m.insert(
                    "TargetObject".into(),
                    json!(format!("HKLM\\SOFTWARE\\{}\\{}", word(r), word(r))),
                );
                m.insert(
                    "Details".into(),
                    json!(format!("DWORD (0x{:08x})", r.below(4))),
                );
            }
            3 => {
                m.insert("Protocol".into(), json!("tcp"));
                m.insert("Initiated".into(), json!("true"));
                m.insert(
                    "DestinationIp".into(),
                    json!(format!(
                        "{}.{}.{}.{}",
                        r.below(223) + 1,
                        r.below(256),
                        r.below(256),
                        r.below(256)
                    )),
                );
                m.insert(
                    "DestinationPort".into(),
                    json!([443, 80, 445, 3389, 8080][r.below(5)]),
                );
                m.insert(
                    "DestinationHostname".into(),
                    json!(format!("{}.example.com", word(r))),
                );
            }
            _ => {
                m.insert(
                    "ImageLoaded".into(),
                    json!(format!("{}{}.dll", r.pick(DIRS), word(r))),
                );
                m.insert("Signed".into(), json!("true"));
            }
        }
        // Rule-derived values: a few fields per event take a value some rule tests.
        let keys: Vec<String> = m.keys().cloned().collect();
        for k in keys {
            if let Some(pats) = seen.get(&k) {
                if r.chance(0.03) {
                    let pat = r.pick(pats).clone();
                    let v = from_pattern(r, &pat);
                    m.insert(k, json!(v));
                }
            }
        }
        out.push(Value::Object(m).to_string());
    }
    out
}

/// CPU time of the calling thread in seconds (`/proc/thread-self/schedstat`), so single-thread
/// figures hold on a busy machine; `None` where unavailable.
fn thread_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Streams `path` in batches of lines, running `f` on each line (in parallel on `threads`).
fn lane(
    name: &str,
    path: &Path,
    threads: usize,
    bytes: u64,
    f: &(dyn Fn(&str, &mut Scratch, &mut Vec<usize>) -> usize + Sync),
) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let start = Instant::now();
    let cpu0 = thread_cpu();
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).expect("events"));
    let mut events = 0usize;
    let mut matches = 0usize;
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    loop {
        let mut batch = Vec::with_capacity(4096);
        for _ in 0..4096 {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("read") == 0 {
                break;
            }
            batch.push(line);
        }
        if batch.is_empty() {
            break;
        }
        events += batch.len();
        matches += if threads == 1 {
            batch
                .iter()
                .map(|l| f(l, &mut scratch, &mut out))
                .sum::<usize>()
        } else {
            pool.install(|| {
                batch
                    .par_iter()
                    .map_init(|| (Scratch::default(), Vec::new()), |(s, o), l| f(l, s, o))
                    .sum::<usize>()
            })
        };
    }
    let wall = start.elapsed().as_secs_f64();
    // One thread: CPU time of this thread (robust to other load); more: wall time.
    let secs = match (threads, cpu0, thread_cpu()) {
        (1, Some(a), Some(b)) => b - a,
        _ => wall,
    };
    let eps = events as f64 / secs;
    println!(
        "{name:<24} {threads} thread(s): {events} events in {secs:>7.3} s {} = {eps:>10.0} events/s, {:>7.1} MB/s, {matches} matches",
        if threads == 1 && cpu0.is_some() { "cpu" } else { "wall" },
        bytes as f64 / secs / 1e6
    );
    eps
}

fn main() {
    let shared = std::env::var_os("SIGMAT_SHARED").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")),
        PathBuf::from,
    );
    let rules_dir = std::env::var_os("SIGMAT_BENCH_RULES")
        .map_or_else(|| shared.join("corpus/sigma/rules/windows"), PathBuf::from);
    if !rules_dir.is_dir() {
        eprintln!(
            "skipping bench eval: {} not found (set SIGMAT_SHARED or SIGMAT_BENCH_RULES)",
            rules_dir.display()
        );
        return;
    }
    let n: usize = std::env::var("SIGMAT_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);

    let t = Instant::now();
    let mut docs = Vec::new();
    let mut load_errors = 0;
    for (_, results) in sigmat::sigma::load_paths(std::slice::from_ref(&rules_dir)) {
        for d in results {
            match d {
                Ok(d) => docs.push(d),
                Err(_) => load_errors += 1,
            }
        }
    }
    let seen = rule_values(&docs);
    let load_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (set, errors) = RuleSet::compile_documents(docs);
    println!(
        "rules: {} compiled from {} ({} load errors, {} compile errors), load {:.2} s, compile {:.2} s, {} without prefilter witness",
        set.len(),
        rules_dir.display(),
        load_errors,
        errors.len(),
        load_secs,
        t.elapsed().as_secs_f64(),
        set.unfiltered_rules()
    );

    let path = std::env::var_os("SIGMAT_BENCH_WRITE").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/target/bench-eval-events.ndjson"
            ))
        },
        PathBuf::from,
    );
    let write_only = std::env::var_os("SIGMAT_BENCH_WRITE").is_some();
    let t = Instant::now();
    let mut rng = Rng(0x5167_6d61_7400_0001);
    let mut w = BufWriter::new(File::create(&path).expect("create events file"));
    let mut bytes = 0u64;
    let mut left = n;
    while left > 0 {
        let k = left.min(50_000);
        for line in generate(&mut rng, &seen, k) {
            bytes += line.len() as u64 + 1;
            writeln!(w, "{line}").expect("write events");
        }
        left -= k;
    }
    w.flush().expect("flush events");
    println!(
        "events: {n} Sysmon-shaped NDJSON, {:.1} MB ({:.0} bytes/event) in {}, generated in {:.2} s",
        bytes as f64 / 1e6,
        bytes as f64 / n as f64,
        path.display(),
        t.elapsed().as_secs_f64()
    );
    if write_only {
        return;
    }

    let parse = |l: &str, _: &mut Scratch, _: &mut Vec<usize>| -> usize {
        let v: Value = serde_json::from_str(l).expect("valid JSON");
        usize::from(v.is_object()) - 1
    };
    let parse_val = |l: &str, _: &mut Scratch, _: &mut Vec<usize>| -> usize {
        let v = Val::parse(l).expect("valid JSON");
        usize::from(v.is_object()) - 1
    };
    let eval = |l: &str, s: &mut Scratch, o: &mut Vec<usize>| -> usize {
        let v = Val::parse(l).expect("valid JSON");
        set.matches_with(&v, s, o);
        o.len()
    };
    let lanes: Vec<usize> = std::env::var("SIGMAT_BENCH_THREADS").ok().map_or_else(
        || vec![1, 2],
        |s| s.split(',').filter_map(|t| t.trim().parse().ok()).collect(),
    );
    let runs: usize = std::env::var("SIGMAT_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    for threads in lanes {
        // The lanes alternate, `runs` times; each lane's best run counts (noise on a shared
        // machine only ever slows a run down).
        let (mut p, mut v, mut e) = (0f64, 0f64, 0f64);
        for _ in 0..runs {
            p = p.max(lane("parse (serde_json)", &path, threads, bytes, &parse));
            if std::env::var_os("SIGMAT_BENCH_VERBOSE").is_some() {
                v = v.max(lane(
                    "parse (sigmat Val)",
                    &path,
                    threads,
                    bytes,
                    &parse_val,
                ));
            }
            e = e.max(lane("parse+eval (sigmat)", &path, threads, bytes, &eval));
        }
        let mb = |eps: f64| eps * bytes as f64 / n as f64 / 1e6;
        println!(
            "  best of {runs}, {threads} thread(s): parse {p:.0} events/s ({:.1} MB/s), parse+eval {e:.0} events/s ({:.1} MB/s){}",
            mb(p),
            mb(e),
            if v > 0.0 { format!(", parse into Val {v:.0} events/s") } else { String::new() }
        );
        println!(
            "  -> eval throughput / parse-only throughput = {:.2} ({} thread(s))",
            e / p,
            threads
        );
    }
    println!(
        "peak memory (VmHWM) after loading, compiling and streaming: {:.1} MB",
        peak_mb()
    );
    // Prefilter selectivity on a sample.
    {
        let mut reader = BufReader::new(File::open(&path).expect("events"));
        let (mut k, mut cands, mut hits) = (0usize, 0usize, 0usize);
        let mut line = String::new();
        let mut per_rule = vec![0usize; set.len()];
        while k < 20_000 {
            line.clear();
            if reader.read_line(&mut line).expect("read") == 0 {
                break;
            }
            let v: Value = serde_json::from_str(&line).expect("valid JSON");
            let c = set.candidates(&v);
            for &r in &c {
                per_rule[r] += 1;
            }
            cands += c.len();
            hits += set.matches(&v).len();
            k += 1;
        }
        // Evaluation alone, on pre-parsed events (the sample re-read).
        let mut reader = BufReader::new(File::open(&path).expect("events"));
        let mut lines = Vec::with_capacity(k);
        for _ in 0..k {
            line.clear();
            if reader.read_line(&mut line).expect("read") == 0 {
                break;
            }
            lines.push(line.clone());
        }
        let parsed: Vec<Val<'_>> = lines
            .iter()
            .map(|l| Val::parse(l).expect("valid JSON"))
            .collect();
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        let mut m = 0;
        let t = Instant::now();
        let cpu0 = thread_cpu();
        let reps = std::env::var("SIGMAT_BENCH_REPS")
            .ok()
            .and_then(|x| x.parse().ok())
            .unwrap_or(3);
        for _ in 0..reps {
            for v in &parsed {
                set.matches_with(v, &mut scratch, &mut out);
                m += out.len();
            }
        }
        let secs = match (cpu0, thread_cpu()) {
            (Some(a), Some(b)) => b - a,
            _ => t.elapsed().as_secs_f64(),
        };
        println!(
            "eval only (pre-parsed, 1 thread, cpu time): {:.2} us/event, {:.0} events/s ({m} matches)",
            secs * 1e6 / (reps * parsed.len()) as f64,
            (reps * parsed.len()) as f64 / secs
        );
        // The sample's matches through `serde_json::Value` (above) and through `Val`.
        assert_eq!(m, reps * hits, "Value and Val events give the same matches");
        let cpu0 = thread_cpu();
        let mut c = 0;
        for _ in 0..reps {
            for v in &parsed {
                set.candidates_with(v, &mut scratch, &mut out);
                c += out.len();
            }
        }
        if let (Some(a), Some(b)) = (cpu0, thread_cpu()) {
            println!(
                "  of which prefilter: {:.2} us/event ({c} candidates)",
                (b - a) * 1e6 / (reps * parsed.len()) as f64
            );
        }
        drop(parsed);
        let mut top: Vec<(usize, usize)> = per_rule
            .iter()
            .copied()
            .enumerate()
            .map(|(i, c)| (c, i))
            .collect();
        top.sort_unstable_by(|a, b| b.cmp(a));
        println!(
            "prefilter: {:.1} candidate rules per event ({} always), {:.2} matches per event (sample of {k})",
            cands as f64 / k as f64,
            set.unfiltered_rules(),
            hits as f64 / k as f64
        );
        if std::env::var_os("SIGMAT_BENCH_VERBOSE").is_some() {
            for (c, i) in top.iter().take(40) {
                println!("  {c:>6} {}", set.info(*i).file.as_deref().unwrap_or("?"));
            }
        }
    }
}
