//! `sigmat check PATH...`: read every rule, report every problem, print a summary.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::sigma;

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Readable errors and a summary line.
    Text,
    /// One JSON object with the counts and every error.
    Json,
}

/// Arguments of `sigmat check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Sigma files or folders (walked for `.yml` / `.yaml`).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

/// Runs `check`; exit code 0 only when every document is valid.
#[must_use]
pub fn run(args: &CheckArgs) -> i32 {
    let loaded = sigma::load_paths(&args.paths);
    let files = loaded.len();
    let mut valid = 0usize;
    let mut errors = Vec::new();
    for (path, docs) in &loaded {
        for d in docs {
            match d {
                Ok(_) => valid += 1,
                Err(e) => {
                    let e = if e.location.file.is_none() {
                        e.clone().in_file(path.display().to_string())
                    } else {
                        e.clone()
                    };
                    errors.push(e);
                }
            }
        }
    }
    let invalid = errors.len();
    let total = valid + invalid;
    match args.format {
        CheckFormat::Text => {
            for e in &errors {
                println!("{}\n", e.render());
            }
            println!("{total} documents: {valid} valid, {invalid} invalid ({files} files)");
        }
        CheckFormat::Json => {
            let out = serde_json::json!({
                "documents": total,
                "valid": valid,
                "invalid": invalid,
                "files": files,
                "errors": errors,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&out)
                    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
            );
        }
    }
    i32::from(invalid > 0 || files == 0)
}
