//! The `sigmat` command line, on top of every stage. One file per subcommand.

use clap::{Parser, Subcommand};

/// Sigma rule transpiler and engine.
#[derive(Debug, Parser)]
#[command(name = "sigmat", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {}

/// Runs the CLI and returns the process exit code.
#[must_use]
pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {}
}
