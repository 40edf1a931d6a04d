//! What `convert` says on stderr about a batch: failures in full, skipped rules one line each,
//! warnings aggregated by kind (one line per kind with its count and a few rules; `--verbose`
//! lists every rule), and the summary line.

use std::fmt::Write as _;

use indexmap::IndexMap;

use crate::error::{Error, ErrorKind};
use crate::session::{Item, Outcome};

/// How many rules a warning line names before `...`.
const EXAMPLES: usize = 3;

/// The stderr report of a converted batch.
#[derive(Debug, Default)]
pub struct Report {
    /// Rules converted.
    pub converted: usize,
    /// Rules the backend or a pipeline cannot express.
    pub unsupported: usize,
    /// Invalid rules and broken backends.
    pub failed: usize,
    text: String,
    skipped: IndexMap<String, usize>,
    warnings: IndexMap<String, Vec<String>>,
}

/// What a refusal is about, without the rule: `unsupported by kql: regular expressions`.
fn reason(e: &Error) -> String {
    match &e.kind {
        ErrorKind::Unsupported { .. }
        | ErrorKind::UnresolvedPlaceholder(_)
        | ErrorKind::Pipeline(_) => e.kind.to_string(),
        other => other.code().to_string(),
    }
}

impl Report {
    /// Reads the outcomes of `items`. With `skip`, unsupported rules are skipped (one line
    /// each, and counted by reason in the summary) rather than reported as errors.
    #[must_use]
    pub fn of(items: &[Item<'_>], skip: bool) -> Self {
        let mut r = Report::default();
        for it in items {
            let path = it.entry.path.display().to_string();
            match &it.outcome {
                Outcome::Converted(c) => {
                    r.converted += 1;
                    for w in &c.warnings {
                        let rules = r.warnings.entry(w.message.clone()).or_default();
                        if rules.last() != Some(&path) {
                            rules.push(path.clone());
                        }
                    }
                }
                Outcome::Unsupported(e) if skip => {
                    r.unsupported += 1;
                    let why = reason(e);
                    let _ = writeln!(r.text, "skipped: {path}: {why}");
                    *r.skipped.entry(why).or_default() += 1;
                }
                Outcome::Unsupported(e) => {
                    r.unsupported += 1;
                    let _ = writeln!(r.text, "{}", e.render());
                }
                Outcome::Failed(e) => {
                    r.failed += 1;
                    let _ = writeln!(r.text, "{}", e.render());
                }
            }
        }
        r
    }

    /// The report: errors and skipped rules in batch order, then one line per warning kind
    /// (every rule named when `verbose`). Without `quiet` skipped rules are listed.
    #[must_use]
    pub fn text(&self, verbose: bool, quiet: bool) -> String {
        let mut out = String::new();
        for line in self.text.lines() {
            if quiet && line.starts_with("skipped: ") {
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        for (message, rules) in &self.warnings {
            let n = rules.len();
            let _ = write!(
                out,
                "warning: {message} ({n} rule{}: ",
                if n == 1 { "" } else { "s" }
            );
            let shown = if verbose { n } else { n.min(EXAMPLES) };
            out.push_str(&rules[..shown].join(", "));
            if shown < n {
                let _ = write!(out, ", ... {} more; --verbose lists them", n - shown);
            }
            out.push_str(")\n");
        }
        out
    }

    /// `converted N, unsupported N, failed N`, with the skipped rules' reasons and counts when
    /// unsupported rules were skipped.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut s = format!(
            "converted {}, unsupported {}",
            self.converted, self.unsupported
        );
        if !self.skipped.is_empty() {
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .map(|(why, n)| format!("{why}: {n}"))
                .collect();
            let _ = write!(s, " skipped ({})", reasons.join("; "));
        }
        let _ = write!(s, ", failed {}", self.failed);
        s
    }
}
