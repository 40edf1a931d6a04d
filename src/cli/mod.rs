//! The `sigmat` command line, on top of every stage. One file per subcommand.

pub mod catalog;
pub mod check;
pub mod completions;
pub mod convert;
pub mod coverage;
pub mod diff;
pub mod elastic_out;
pub mod elastic_summary;
pub mod eval;
pub mod inspect;
pub mod list;
pub mod progress;
pub mod report;
pub mod sarif;
pub mod site;

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
pub enum Command {
    /// Check Sigma rules: report every problem, exit 0 only when all are valid.
    Check(check::CheckArgs),
    /// Print the intermediate representation of a Sigma rule.
    Inspect(inspect::InspectArgs),
    /// Convert Sigma rules to queries of a backend (`sigmat list backends`).
    Convert(convert::ConvertArgs),
    /// Decide how two rules relate (equivalent, within, overlap, disjoint) with witness events
    /// (exit 0 equivalent, 1 different, 3 unknown, 2 errors).
    Diff(diff::DiffArgs),
    /// List backends, output formats or built-in pipelines.
    List(list::ListArgs),
    /// Run Sigma rules natively on JSON events (exit 0 ran, 1 rule/event errors, 2 usage).
    Eval(eval::EvalArgs),
    /// ATT&CK coverage (Navigator layers), indicators, and a comparison with another catalog.
    Coverage(coverage::CoverageArgs),
    /// Write a static, self-contained site of a catalog (ATT&CK heat map, rule pages,
    /// overlapping pairs with `--against`) into a new folder.
    Report(site::ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff), generated from the same definitions as `--help`.
    Man,
}

/// Runs the CLI and returns the process exit code.
#[must_use]
pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Convert(a) => convert::run(&a),
        Command::Diff(a) => diff::run(&a),
        Command::List(a) => list::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Coverage(a) => coverage::run(&a),
        Command::Report(a) => site::run(&a),
        Command::Completions(a) => completions::completions(&a),
        Command::Man => completions::man(),
    }
}
