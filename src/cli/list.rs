//! `sigmat list backends|formats|pipelines`: what `convert` (and `eval`) can use.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::convert::Format;
use crate::render::Library;

/// What to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListWhat {
    /// Backends (`convert -t`), with their options and notes.
    Backends,
    /// Output formats (`convert -f`).
    Formats,
    /// Built-in processing pipelines (`-p NAME`).
    Pipelines,
}

/// Arguments of `sigmat list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// What to list.
    #[arg(value_enum)]
    pub what: ListWhat,
    /// Also load backends from this directory (as `convert --backend-dir`).
    #[arg(long)]
    pub backend_dir: Option<PathBuf>,
}

/// Runs `list`.
#[must_use]
pub fn run(args: &ListArgs) -> i32 {
    match args.what {
        ListWhat::Formats => {
            for f in Format::ALL {
                println!("{:<14} {}", f.name(), f.describe());
            }
            0
        }
        ListWhat::Pipelines => {
            for (name, description) in crate::pipeline::describe_builtins() {
                println!("{name:<20} {description}");
            }
            0
        }
        ListWhat::Backends => {
            let mut lib = Library::builtin();
            if let Some(d) = &args.backend_dir {
                match lib.with_dir(d) {
                    Ok(l) => lib = l,
                    Err(e) => {
                        eprintln!("{}", e.render());
                        return 2;
                    }
                }
            }
            let mut code = 0;
            for name in lib.names() {
                match lib.backend(&name) {
                    Ok(b) => {
                        let f = b.file();
                        println!("{:<10} {}", f.name, f.description);
                        for (k, o) in &f.options {
                            println!("    -O {:<28} {}", format!("{k}={}", o.default), o.doc);
                        }
                        for n in &f.notes {
                            println!("    - {n}");
                        }
                    }
                    Err(e) => {
                        eprintln!("{}", e.render());
                        code = 1;
                    }
                }
            }
            code
        }
    }
}
