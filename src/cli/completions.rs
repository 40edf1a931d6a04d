//! `sigmat completions SHELL` and `sigmat man`: shell completions (clap_complete) and the man
//! page (clap_mangen), generated from the same argument definitions as the commands.

use std::io::Write as _;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

/// Arguments of `sigmat completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell. Install e.g. with
    /// `sigmat completions bash > ~/.local/share/bash-completion/completions/sigmat`.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script for the shell.
#[must_use]
pub fn completions(args: &CompletionsArgs) -> i32 {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "sigmat", &mut out);
    write_stdout(&out)
}

/// Prints the man page (roff): `sigmat man > sigmat.1; man ./sigmat.1`.
#[must_use]
pub fn man() -> i32 {
    let mut out = Vec::new();
    let page = clap_mangen::Man::new(Cli::command());
    if let Err(e) = page.render(&mut out) {
        eprintln!("error[io]: {e}");
        return 2;
    }
    // One section per subcommand, each generated from its own definition.
    for sub in Cli::command().get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let _ = writeln!(out, ".SH \"SIGMAT {}\"", sub.get_name().to_uppercase());
        let sub = sub.clone().bin_name(format!("sigmat {}", sub.get_name()));
        let man = clap_mangen::Man::new(sub);
        for section in [
            clap_mangen::Man::render_synopsis_section,
            clap_mangen::Man::render_description_section,
            clap_mangen::Man::render_options_section,
        ] {
            if let Err(e) = section(&man, &mut out) {
                eprintln!("error[io]: {e}");
                return 2;
            }
        }
    }
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> i32 {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => 0,
        // A closed pipe (`| head`) is no error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error[io]: stdout: {e}");
            2
        }
    }
}
