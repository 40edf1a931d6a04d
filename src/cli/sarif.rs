//! SARIF 2.1.0 output of `check` and `convert` (`-f sarif`): one result per problem, with the
//! error kind as rule id, a level, the message (and hint), and the file with its line:column
//! region, so that code scanning (e.g. GitHub's) shows each problem on the rule's line.

use indexmap::IndexMap;
use serde_json::{json, Value};

use crate::error::Error;

/// SARIF's result levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The rule is invalid, or a conversion failed.
    Error,
    /// A finding that leaves the rule valid; a change of meaning on a backend.
    Warning,
    /// For information: a rule skipped as unsupported under `--skip-unsupported`.
    Note,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }
}

/// A SARIF log being built: results and the rules (error kinds) they refer to.
#[derive(Debug, Default)]
pub struct Log {
    rules: IndexMap<String, String>,
    results: Vec<Value>,
}

/// A file path as a SARIF artifact URI: relative paths with `/`, absolute ones as `file://`.
fn uri(file: &str) -> String {
    let f = file.replace('\\', "/");
    let encoded: String = f
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '#' => "%23".to_string(),
            '%' => "%25".to_string(),
            '?' => "%3F".to_string(),
            c => c.to_string(),
        })
        .collect();
    if f.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

impl Log {
    /// Adds a result for `e` at `level`.
    pub fn error(&mut self, e: &Error, level: Level) {
        let code = e.kind.code().to_string();
        let mut text = e.kind.to_string();
        if let Some(p) = &e.location.path {
            text.push_str(&format!(" (at {p})"));
        }
        if let Some(h) = &e.hint {
            text.push_str(&format!(". Hint: {h}"));
        }
        self.push(
            &code,
            level,
            text,
            e.location.file.as_deref(),
            e.location.line,
            e.location.column,
        );
    }

    /// Adds a result with a rule id of its own (e.g. `backend_warning`) in `file`.
    pub fn message(&mut self, rule: &str, level: Level, text: String, file: Option<&str>) {
        self.push(rule, level, text, file, None, None);
    }

    fn push(
        &mut self,
        rule: &str,
        level: Level,
        text: String,
        file: Option<&str>,
        line: Option<usize>,
        column: Option<usize>,
    ) {
        let n = self.rules.len();
        self.rules
            .entry(rule.to_string())
            .or_insert_with(|| describe(rule));
        let index = self.rules.get_index_of(rule).unwrap_or(n);
        let mut result = json!({
            "ruleId": rule,
            "ruleIndex": index,
            "level": level.name(),
            "message": {"text": text},
        });
        if let Some(f) = file {
            let mut physical = json!({"artifactLocation": {"uri": uri(f)}});
            if let Some(l) = line.filter(|l| *l > 0) {
                let mut region = json!({"startLine": l});
                if let Some(c) = column.filter(|c| *c > 0) {
                    region["startColumn"] = c.into();
                }
                physical["region"] = region;
            }
            result["locations"] = json!([{"physicalLocation": physical}]);
        }
        self.results.push(result);
    }

    /// The SARIF document.
    #[must_use]
    pub fn finish(self) -> Value {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|(id, text)| json!({"id": id, "shortDescription": {"text": text}}))
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "sigmat",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "columnKind": "unicodeCodePoints",
                "results": self.results,
            }],
        })
    }
}

/// A rule's short description from its id.
fn describe(rule: &str) -> String {
    match rule {
        "backend_warning" => "The backend's meaning differs from the rule's".to_string(),
        "check_warning" => "A finding of sigmat check that leaves the rule valid".to_string(),
        other => format!("sigmat: {}", other.replace('_', " ")),
    }
}
