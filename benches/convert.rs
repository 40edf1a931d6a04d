//! Converts the SigmaHQ catalog (`rules`, `rules-emerging-threats`, `rules-threat-hunting`).
//!
//! Run: `cargo bench --bench convert`. Three parts:
//! 1. per built-in backend, the batch API ([`Session`]): rendering the already loaded batch,
//!    and the whole path from files (load + pipelines + render);
//! 2. the CLI end to end, `sigmat convert -t eql -p ecs_windows -s -o FILE` on the three folders
//!    (best of `SIGMAT_BENCH_RUNS`, default 7, wall time), and without `-p`;
//! 3. the same command with sigma-cli 3.1.0 (`sigma convert`, pySigma), installed by
//!    `benches/sigma_cli.sh` into a venv when missing (`SIGMAT_BENCH_NO_PEER=1` skips it), and
//!    the ratio. Goal: the CLI line at most 0.15 s on 2 cores, at least 50x sigma-cli.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sigmat::render::Library;
use sigmat::session::{Outcome, Session};

#[path = "../tests/common/mod.rs"]
mod common;

fn runs() -> usize {
    std::env::var("SIGMAT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
}

/// The best wall time of `n` runs of a command that must succeed (exit 0 or 1: `sigmat`
/// reports failed rules with 1).
fn best_of(n: usize, mut cmd: impl FnMut() -> Command) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..n {
        let t = Instant::now();
        let out = cmd().output().expect("command runs");
        let took = t.elapsed().as_secs_f64();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        best = best.min(took);
    }
    best
}

fn main() {
    let Some(shared) = common::shared_or_skip("bench convert") else {
        return;
    };
    let folders = common::detection_folders(&shared);

    // 1. The batch API, per backend.
    let lib = Library::builtin();
    for name in lib.names() {
        let b = lib.backend(&name).expect("backend builds");
        let session = Session::builder().backend(b).build().expect("session");
        let t = Instant::now();
        let batch = session.load(&folders);
        let load = t.elapsed().as_secs_f64();
        let mut best = f64::MAX;
        let mut ok = 0;
        for _ in 0..6 {
            let t = Instant::now();
            let items = session.convert(&batch).expect("convert");
            best = best.min(t.elapsed().as_secs_f64());
            ok = items
                .iter()
                .filter(|i| matches!(i.outcome, Outcome::Converted(_)))
                .count();
        }
        #[allow(clippy::cast_precision_loss)]
        let n = batch.entries.len() as f64;
        println!(
            "{name:<9} render {ok:>4} of {n} documents: {best:.3} s ({:>7.0}/s); load {load:.3} s; files to items {:.3} s",
            n / best,
            load + best
        );
    }

    // 2. The CLI end to end. Wall times mean little on a busy machine: say how busy it was.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "load average: {} (2 cores: figures above 2 mean shared cores)",
            load.join(" ")
        );
    }
    let out = std::env::temp_dir().join(format!("sigmat-bench-{}.eql", std::process::id()));
    let sigmat = |pipeline: bool| {
        let folders = folders.clone();
        let out = out.clone();
        move || {
            let mut c = Command::new(env!("CARGO_BIN_EXE_sigmat"));
            c.args(["convert", "-t", "eql"]);
            if pipeline {
                c.args(["-p", "ecs_windows"]);
            }
            c.arg("-s").arg("-o").arg(&out).args(&folders);
            c
        }
    };
    let n = runs();
    let ours = best_of(n, sigmat(true));
    let plain = best_of(n, sigmat(false));
    let queries = std::fs::read_to_string(&out).map_or(0, |t| t.lines().count());
    println!(
        "sigmat convert -t eql -p ecs_windows -s -o FILE (3 folders): {ours:.3} s wall, best of {n}; without -p {plain:.3} s ({queries} queries)"
    );

    // 3. sigma-cli beside it.
    if std::env::var_os("SIGMAT_BENCH_NO_PEER").is_some() {
        println!("sigma-cli: skipped (SIGMAT_BENCH_NO_PEER)");
        return;
    }
    let Some(sigma) = sigma_cli() else {
        println!("sigma-cli: not available (benches/sigma_cli.sh failed), no ratio");
        return;
    };
    let peer_out = out.with_extension("pysigma.eql");
    let peer = best_of(2, || {
        let mut c = Command::new(&sigma);
        c.args(["convert", "-t", "eql", "-p", "ecs_windows", "-s", "-o"])
            .arg(&peer_out)
            .args(&folders);
        c
    });
    println!(
        "sigma-cli 3.1.0 convert -t eql -p ecs_windows -s -o FILE: {peer:.3} s wall, best of 2; ratio {:.1}x",
        peer / ours
    );
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&peer_out);
}

fn sigma_cli() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sigma_cli.sh");
    let out = Command::new("bash").arg(script).output().ok()?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    p.is_file().then_some(p)
}
