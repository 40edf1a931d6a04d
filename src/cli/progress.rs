//! Progress on stderr through `indicatif`: drawn only when stderr is a terminal and `-q` is not
//! given (hidden otherwise, so pipes and CI logs stay clean); each command prints its own
//! one-line summary when done.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn target(quiet: bool) -> ProgressDrawTarget {
    if !quiet && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A bar over `total` items named `what` ("rules compared"), with time taken and ETA.
#[must_use]
pub fn bar(total: usize, what: &str, quiet: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total as u64), target(quiet));
    let style = ProgressStyle::with_template(&format!(
        "[{{bar:40}}] {{pos}}/{{len}} {what} ({{elapsed}}, ETA {{eta}})"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("#>-");
    pb.set_style(style);
    pb
}

/// A counter without a known total (events read); the message says more (matches, rate).
#[must_use]
pub fn counter(what: &str, quiet: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, target(quiet));
    let style = ProgressStyle::with_template(&format!(
        "{{spinner}} {{human_pos}} {what}, {{msg}} ({{elapsed}})"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_spinner());
    pb.set_style(style);
    pb
}
