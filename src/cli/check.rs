//! `sigmat check PATH...`: read every rule, report every problem, print a summary.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::error::{Error, Warning};
use crate::ir::{Document, Expr, Piece, Test};

/// Placeholder names used by an expression, in order of first use.
fn placeholders(e: &Expr, out: &mut Vec<String>) {
    e.for_each_pred(&mut |p| {
        if let Test::Str { pattern, .. } = &p.test {
            for piece in pattern.pieces() {
                if let Piece::Placeholder(n) = piece {
                    if !out.contains(n) {
                        out.push(n.clone());
                    }
                }
            }
        }
    });
}

/// Findings that do not make a document invalid: duplicate ids, placeholders a pipeline must
/// resolve, and correlations naming rules that none of the checked files define.
fn warnings(loaded: &[(PathBuf, Vec<Result<Document, Error>>)]) -> Vec<Warning> {
    let mut known: Vec<&str> = Vec::new();
    for d in loaded.iter().flat_map(|(_, d)| d.iter()).flatten() {
        let meta = match d {
            Document::Rule(r) => &r.meta,
            Document::Correlation(c) => &c.meta,
            Document::Filter(f) => &f.meta,
            Document::Sequence(s) => &s.meta,
        };
        known.extend(meta.id.as_deref());
        known.extend(meta.name.as_deref());
    }
    let mut out = Vec::new();
    let mut ids: std::collections::HashMap<&str, &PathBuf> = std::collections::HashMap::new();
    for (path, docs) in loaded {
        for d in docs.iter().flatten() {
            let id = match d {
                Document::Rule(r) => r.meta.id.as_deref(),
                Document::Correlation(c) => c.meta.id.as_deref(),
                Document::Filter(f) => f.meta.id.as_deref(),
                Document::Sequence(s) => s.meta.id.as_deref(),
            };
            if let Some(id) = id {
                if let Some(first) = ids.get(id) {
                    out.push(Warning {
                        message: format!(
                            "{}: id `{id}` is also used in {}",
                            path.display(),
                            first.display()
                        ),
                        at: Some("id".into()),
                    });
                } else {
                    ids.insert(id, path);
                }
            }
        }
    }
    for (path, docs) in loaded {
        for d in docs.iter().flatten() {
            let (title, conds): (&str, Vec<&crate::ir::Expr>) = match d {
                Document::Rule(r) => (&r.meta.title, r.conditions.iter().collect()),
                Document::Sequence(s) => (&s.meta.title, s.conditions().collect()),
                Document::Correlation(_) | Document::Filter(_) => ("", Vec::new()),
            };
            let mut names = Vec::new();
            conds.iter().for_each(|c| placeholders(c, &mut names));
            if !names.is_empty() {
                out.push(Warning {
                    message: format!(
                        "{}: `{}` uses placeholders {}, which a pipeline must resolve before rendering or evaluation",
                        path.display(),
                        title,
                        names.iter().map(|n| format!("%{n}%")).collect::<Vec<_>>().join(", ")
                    ),
                    at: None,
                });
            }
            match d {
                Document::Correlation(c) => {
                    for (i, r) in c.rules.iter().enumerate() {
                        if !known.contains(&r.as_str()) {
                            out.push(Warning {
                                message: format!(
                                    "{}: correlation `{}` refers to rule `{r}`, which none of the checked files define",
                                    path.display(),
                                    c.meta.title
                                ),
                                at: Some(format!("correlation.rules[{i}]")),
                            });
                        }
                    }
                }
                Document::Rule(_) | Document::Filter(_) | Document::Sequence(_) => {}
            }
        }
    }
    out
}

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Readable errors and a summary line.
    Text,
    /// One JSON object with the counts and every error.
    Json,
    /// SARIF 2.1.0 (code scanning): one result per error and warning, located in its file.
    Sarif,
}

/// Arguments of `sigmat check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Sigma files or folders (walked for `.yml` / `.yaml`).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Treat warnings as errors: a document with a warning (such as an unused search
    /// identifier) counts as invalid, and any warning makes the exit code 1.
    #[arg(long)]
    pub strict: bool,
}

/// `e` with `path` as its file when it names none.
fn in_file(e: &Error, path: &std::path::Path) -> Error {
    if e.location.file.is_none() {
        e.clone().in_file(path.display().to_string())
    } else {
        e.clone()
    }
}

/// Runs `check`; exit code 0 only when every document is valid (warnings do not count,
/// unless `--strict`).
#[must_use]
pub fn run(args: &CheckArgs) -> i32 {
    let loaded = crate::session::load_documents(&args.paths);
    let files = loaded.len();
    let mut total = 0usize;
    let mut valid = 0usize;
    let mut errors = Vec::new();
    // Warnings of the front end (located like errors); errors under `--strict`.
    let mut front = Vec::new();
    let mut front_count = 0usize;
    for (path, l) in &loaded {
        front_count += l.warnings.len();
        for (i, d) in l.documents.iter().enumerate() {
            total += 1;
            match d {
                Ok(_) if args.strict && l.warnings.iter().any(|w| w.document == Some(i)) => {}
                Ok(_) => valid += 1,
                Err(e) => errors.push(in_file(e, path)),
            }
        }
        for w in &l.warnings {
            let e = in_file(&w.warning, path);
            if args.strict {
                errors.push(e);
            } else {
                front.push(e);
            }
        }
    }
    let docs: Vec<(PathBuf, Vec<Result<Document, Error>>)> =
        loaded.into_iter().map(|(p, l)| (p, l.documents)).collect();
    let warnings = warnings(&docs);
    let elastic = super::elastic_summary::Summary::of(&docs);
    let invalid = total - valid;
    let mut out = String::new();
    match args.format {
        CheckFormat::Text => {
            for e in &errors {
                let _ = writeln!(out, "{}\n", e.render());
            }
            for e in &front {
                let _ = writeln!(out, "{}\n", e.render_warning());
            }
            let severity = if args.strict { "error" } else { "warning" };
            for w in &warnings {
                match &w.at {
                    Some(at) => {
                        let _ = writeln!(out, "{severity}: {} ({at})", w.message);
                    }
                    None => {
                        let _ = writeln!(out, "{severity}: {}", w.message);
                    }
                }
            }
            if let Some(line) = elastic.line() {
                let _ = writeln!(out, "{line}");
            }
            let _ = writeln!(
                out,
                "{total} documents: {valid} valid, {invalid} invalid ({files} files)"
            );
        }
        CheckFormat::Json => {
            let mut all_warnings: Vec<serde_json::Value> = warnings
                .iter()
                .map(|w| serde_json::to_value(w).unwrap_or_default())
                .collect();
            all_warnings.extend(
                front
                    .iter()
                    .map(|e| serde_json::to_value(e).unwrap_or_default()),
            );
            let mut v = serde_json::json!({
                "documents": total,
                "valid": valid,
                "invalid": invalid,
                "files": files,
                "errors": errors,
                "warnings": all_warnings,
            });
            if args.strict {
                v["strict"] = true.into();
            }
            if !elastic.types.is_empty() {
                v["elastic"] = serde_json::to_value(&elastic).unwrap_or_default();
            }
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v)
                    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
            );
        }
        CheckFormat::Sarif => {
            let mut log = super::sarif::Log::default();
            for e in &errors {
                log.error(e, super::sarif::Level::Error);
            }
            for e in &front {
                log.error(e, super::sarif::Level::Warning);
            }
            let level = if args.strict {
                super::sarif::Level::Error
            } else {
                super::sarif::Level::Warning
            };
            for w in &warnings {
                let text = match &w.at {
                    Some(at) => format!("{} ({at})", w.message),
                    None => w.message.clone(),
                };
                log.message("check_warning", level, text, None);
            }
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&log.finish()).unwrap_or_default()
            );
        }
    }
    // A closed stdout (`| head`) is not an error of the rules.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    let warned = args.strict && (front_count > 0 || !warnings.is_empty());
    i32::from(invalid > 0 || files == 0 || warned)
}
