//! `sigmat diff A B`: how two rules relate (equivalent, one within the other, overlapping,
//! disjoint), with verified witness events and the predicates responsible.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::analysis::{self, Decision, Relation};
use crate::error::{Error, ErrorKind};
use crate::ir;
use crate::session::Session;

/// Output format of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// A short readable report.
    Text,
    /// One JSON object (with `--pairs`: one per line).
    Json,
}

/// Invariants `--assume` can add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Assume {
    /// ECS: `process.name` is the last path segment of `process.executable`, and
    /// `process.command_line` is `process.args` joined by single spaces (Linux/macOS).
    Ecs,
}

/// Arguments of `sigmat diff`.
#[derive(Debug, Args)]
#[command(after_help = "\
Exit status: 0 equivalent, 1 different (a_in_b, b_in_a, overlap, disjoint), 3 unknown (a \
budget or a construct the analysis does not decide, with the reason), 2 errors (unreadable \
rule, usage). With --pairs: the worst over all pairs (2 > 3 > 1 > 0).

JSON fields: relation, reason (unknown only), a and b (path, title, id), a_only / b_only / \
both (empty, witnesses, unknown), differences (explanation, region, a and b key paths, \
witness). Every witness has been evaluated natively on both rules.")]
pub struct DiffArgs {
    /// Rule A (Sigma YAML or detection-rules TOML).
    #[arg(required_unless_present = "pairs")]
    pub a: Option<PathBuf>,
    /// Rule B.
    #[arg(required_unless_present = "pairs")]
    pub b: Option<PathBuf>,
    /// Pipeline applied to both rules (repeatable).
    #[arg(short = 'p', long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,
    /// Pipeline applied to A only, after `-p` (repeatable).
    #[arg(long = "pipeline-a", value_name = "NAME|FILE")]
    pub pipeline_a: Vec<String>,
    /// Pipeline applied to B only, after `-p` (repeatable).
    #[arg(long = "pipeline-b", value_name = "NAME|FILE")]
    pub pipeline_b: Vec<String>,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Witness events per non-empty region (up to).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub witnesses: usize,
    /// Add field invariants (`ecs`: process.name is the last path segment of
    /// process.executable, and process.command_line is process.args joined by single spaces,
    /// the Linux/macOS convention). Each difference they decide names them; without it every
    /// field is independent.
    #[arg(long, value_enum)]
    pub assume: Option<Assume>,
    /// Search decisions per region before answering unknown.
    #[arg(long, default_value_t = analysis::DEFAULT_BUDGET, value_name = "N")]
    pub budget: usize,
    /// States all the product automata of one pair may reach together before answering
    /// unknown (a few seconds of work by default).
    #[arg(long, default_value_t = analysis::DEFAULT_MAX_TOTAL_STATES, value_name = "N")]
    pub max_total_states: usize,
    /// Pairs to compare: two paths per line (relative to the file's folder; `#` comments), or a
    /// JSON list of `[a, b]` or `{"a": .., "b": ..}`. Writes one JSON line per pair.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["a", "b"])]
    pub pairs: Option<PathBuf>,
}

/// Runs `diff`.
#[must_use]
pub fn run(args: &DiffArgs) -> i32 {
    let sessions = match sessions(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", e.render());
            return 2;
        }
    };
    let opts = analysis::Options {
        witnesses: args.witnesses,
        budget: args.budget,
        max_total_states: args.max_total_states,
        assume_ecs: args.assume == Some(Assume::Ecs),
        ..analysis::Options::default()
    };
    if let Some(file) = &args.pairs {
        return run_pairs(file, &sessions, &opts);
    }
    let (Some(a), Some(b)) = (&args.a, &args.b) else {
        eprintln!("error: diff needs two rule files, or --pairs FILE");
        return 2;
    };
    match diff_pair(a, b, &sessions, &opts) {
        Ok((value, code)) => {
            match args.format {
                DiffFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                ),
                DiffFormat::Text => print!("{}", text(&value)),
            }
            code
        }
        Err(e) => {
            eprintln!("{}", e.render());
            2
        }
    }
}

fn sessions(args: &DiffArgs) -> crate::error::Result<(Session, Session)> {
    let a = Session::builder()
        .pipelines(args.pipelines.iter().chain(&args.pipeline_a).cloned())
        .build()?;
    let b = Session::builder()
        .pipelines(args.pipelines.iter().chain(&args.pipeline_b).cloned())
        .build()?;
    Ok((a, b))
}

fn run_pairs(file: &Path, sessions: &(Session, Session), opts: &analysis::Options) -> i32 {
    let pairs = match read_pairs(file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}", e.render());
            return 2;
        }
    };
    let results: Vec<(Value, i32)> = pairs
        .par_iter()
        .map(|(a, b)| match diff_pair(a, b, sessions, opts) {
            Ok((mut v, code)) => {
                if let Some(o) = v.as_object_mut() {
                    o.remove("differences");
                }
                (v, code)
            }
            Err(e) => (
                json!({"a": {"path": a}, "b": {"path": b}, "error": e.render()}),
                2,
            ),
        })
        .collect();
    let mut worst = 0;
    for (v, code) in results {
        println!("{v}");
        worst = worse(worst, code);
    }
    worst
}

fn worse(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        2 => 3,
        3 => 2,
        1 => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// The pairs of a `--pairs` file: paths relative to the file's folder.
///
/// # Errors
/// An unreadable file, a line without two paths, JSON that is not a list of pairs.
pub fn read_pairs(file: &Path) -> crate::error::Result<Vec<(PathBuf, PathBuf)>> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Error::new(ErrorKind::Io(e.to_string())).in_file(file.display().to_string())
    })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let bad = |line: usize, what: String| {
        Error::new(ErrorKind::Usage(what))
            .in_file(file.display().to_string())
            .at_line(line, None)
            .hint("write two paths per line, or a JSON list of [a, b] pairs")
    };
    let mut out = Vec::new();
    if text.trim_start().starts_with('[') {
        let v: Value = serde_json::from_str(&text).map_err(|e| bad(e.line(), e.to_string()))?;
        for (i, item) in v.as_array().into_iter().flatten().enumerate() {
            let pair = match item {
                Value::Array(xs) if xs.len() == 2 => (xs[0].as_str(), xs[1].as_str()),
                Value::Object(o) => (
                    o.get("a").and_then(Value::as_str),
                    o.get("b").and_then(Value::as_str),
                ),
                _ => (None, None),
            };
            match pair {
                (Some(a), Some(b)) => out.push((base.join(a), base.join(b))),
                _ => {
                    return Err(bad(
                        1,
                        format!("item {i} of the list is not a pair of paths"),
                    ))
                }
            }
        }
        return Ok(out);
    }
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            [a, b] => out.push((base.join(a), base.join(b))),
            _ => return Err(bad(i + 1, format!("expected two paths, found {line:?}"))),
        }
    }
    Ok(out)
}

/// One rule of a file, pipelines applied; a correlation gives `Err(Ok(reason))`.
fn load_rule(
    path: &Path,
    session: &Session,
) -> crate::error::Result<std::result::Result<ir::Rule, String>> {
    let batch = session.load(&[path.to_path_buf()]);
    let mut rules = Vec::new();
    for e in batch.entries {
        match e.doc {
            Ok(ir::Document::Rule(r)) => rules.push(r),
            Ok(ir::Document::Correlation(_)) => {
                return Ok(Err(format!(
                    "{} holds a correlation rule: correlations are not decided",
                    path.display()
                )))
            }
            Ok(ir::Document::Sequence(_)) => {
                return Ok(Err(format!(
                    "{} holds an EQL sequence: sequences are not decided",
                    path.display()
                )))
            }
            Ok(ir::Document::Filter(_)) => {}
            Err(f) => return Err(f.error().clone()),
        }
    }
    match rules.len() {
        1 => Ok(Ok(rules.pop().expect("one rule"))),
        n => Err(Error::new(ErrorKind::Usage(format!(
            "{} holds {n} rules; diff compares one rule with one rule",
            path.display()
        )))),
    }
}

fn about(path: &Path, r: Option<&ir::Rule>) -> Value {
    json!({
        "path": path.display().to_string(),
        "title": r.map(|r| r.meta.title.clone()),
        "id": r.and_then(|r| r.meta.id.clone()),
    })
}

/// Decides one pair: the JSON result and the exit code it gives.
///
/// # Errors
/// Unreadable or invalid rules.
pub fn diff_pair(
    a: &Path,
    b: &Path,
    sessions: &(Session, Session),
    opts: &analysis::Options,
) -> crate::error::Result<(Value, i32)> {
    let ra = load_rule(a, &sessions.0)?;
    let rb = load_rule(b, &sessions.1)?;
    let (ra, rb) = match (ra, rb) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(why), _) | (_, Err(why)) => {
            let v = json!({
                "relation": "unknown", "reason": why,
                "a": about(a, None), "b": about(b, None),
            });
            return Ok((v, 3));
        }
    };
    let d = analysis::decide(&ra, &rb, opts)?;
    Ok((
        to_json(&d, about(a, Some(&ra)), about(b, Some(&rb))),
        code(&d),
    ))
}

fn code(d: &Decision) -> i32 {
    match d.relation {
        Relation::Equivalent => 0,
        Relation::AInB | Relation::BInA | Relation::Overlap | Relation::Disjoint => 1,
        Relation::Unknown(_) => 3,
    }
}

/// The JSON form of a decision.
#[must_use]
pub fn to_json(d: &Decision, a: Value, b: Value) -> Value {
    let mut v = json!({
        "relation": d.relation.name(),
        "a": a,
        "b": b,
        "a_only": d.a_only,
        "b_only": d.b_only,
        "both": d.both,
        "differences": d.differences,
    });
    if let (Relation::Unknown(why), Some(o)) = (&d.relation, v.as_object_mut()) {
        o.insert("reason".into(), Value::String(why.clone()));
    }
    v
}

fn text(v: &Value) -> String {
    let mut out = String::new();
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    for k in ["a", "b"] {
        out.push_str(&format!(
            "{}: {} ({})\n",
            k.to_uppercase(),
            s(&v[k]["title"]),
            s(&v[k]["path"])
        ));
    }
    out.push_str(&format!("relation: {}", s(&v["relation"])));
    if let Some(r) = v["reason"].as_str() {
        out.push_str(&format!(" ({r})"));
    }
    out.push('\n');
    for (k, name) in [("a_only", "A only"), ("b_only", "B only"), ("both", "both")] {
        let r = &v[k];
        if let Some(u) = r["unknown"].as_str() {
            out.push_str(&format!("{name}: unknown ({u})\n"));
        } else if r["empty"].as_bool() == Some(true) {
            out.push_str(&format!("{name}: empty\n"));
        } else {
            out.push_str(&format!("{name}:\n"));
            for w in r["witnesses"].as_array().into_iter().flatten() {
                out.push_str(&format!("  {w}\n"));
            }
        }
    }
    let diffs = v["differences"].as_array().cloned().unwrap_or_default();
    if !diffs.is_empty() {
        out.push_str("differences:\n");
    }
    for d in diffs {
        out.push_str(&format!("  - {}\n", s(&d["explanation"])));
        if !d["witness"].is_null() {
            out.push_str(&format!("    e.g. {}\n", d["witness"]));
        }
    }
    out
}
