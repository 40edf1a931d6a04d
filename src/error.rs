//! The one error type of every stage: a kind, a location and a hint.
//!
//! Stages build an [`Error`] from an [`ErrorKind`] and attach what they know of the location
//! (file, line and column where YAML gives them, key path such as
//! `detection.selection.Image|endswith[2]`). [`Error::render`] gives the readable form that the
//! CLI prints; [`ErrorKind::code`] a stable snake_case name for JSON output and tests.

use std::fmt;

use serde::Serialize;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read or written.
    Io(String),
    /// The YAML itself is malformed.
    Yaml(String),
    /// A required key is missing (`title`, `logsource`, `detection`, `condition`...).
    MissingKey(String),
    /// A key holds a value of the wrong type or form.
    InvalidValue {
        /// What was expected, e.g. "a list of strings".
        expected: String,
        /// What was found.
        found: String,
    },
    /// A modifier name that Sigma does not define.
    UnknownModifier(String),
    /// A known modifier where it may not stand (order, combination, or value type).
    MisplacedModifier {
        /// The modifier.
        modifier: String,
        /// Why it may not stand there.
        reason: String,
    },
    /// A wildcard where a modifier forbids one (base64, fieldref...).
    WildcardNotAllowed {
        /// The modifier that forbids it.
        modifier: String,
    },
    /// A condition that does not parse.
    ConditionSyntax {
        /// What is wrong.
        message: String,
        /// The condition text.
        condition: String,
        /// Byte offset of the problem in the condition.
        offset: usize,
    },
    /// The condition names an identifier that `detection` does not define.
    UndefinedIdentifier(String),
    /// A `1 of` / `all of` pattern that matches no identifier.
    PatternMatchesNothing(String),
    /// A detection identifier the condition never uses. The front end reports it as a
    /// warning (the rule is valid Sigma and converts without it); `check --strict` fails on it.
    UnusedIdentifier(String),
    /// A Sigma file that holds no document (empty or only comments). A warning of the front
    /// end; `check --strict` fails on it.
    EmptyFile,
    /// Legacy (Sigma 1) syntax that Sigma 2 removed, such as `| count() > 5` or `timeframe`.
    Deprecated(String),
    /// A `re` value that is not a valid regular expression.
    InvalidRegex(String),
    /// A `re` value that is valid but compiles to more than the regex engine's size limit.
    RegexTooLarge {
        /// The limit, in bytes of compiled program.
        limit: usize,
    },
    /// A `cidr` value that is not a valid network.
    InvalidCidr(String),
    /// A `%placeholder%` that no pipeline resolved.
    UnresolvedPlaceholder(String),
    /// A correlation or filter document that is malformed.
    InvalidCorrelation(String),
    /// A feature the stage cannot express. `target` names the backend or stage.
    Unsupported {
        /// The backend or stage, e.g. `eql`.
        target: String,
        /// The feature, e.g. `the cidr modifier`.
        what: String,
    },
    /// A processing pipeline that is malformed or cannot be applied.
    Pipeline(String),
    /// A backend definition (data or template) that is malformed.
    Backend(String),
    /// An event that cannot be read.
    Event(String),
    /// Command-line usage.
    Usage(String),
    /// A TOML file (an Elastic detection-rules file) whose TOML syntax is malformed.
    Toml(String),
    /// An Elastic query (EQL, KQL) that does not parse. The location holds the file position;
    /// the message names the position inside the query.
    QuerySyntax {
        /// `eql` or `kql`.
        language: String,
        /// What is wrong, with the line:column inside the query.
        message: String,
    },
    /// A reader's warning: a construct read with a documented approximation of its engine's
    /// meaning (e.g. KQL on an analyzed text field: Elasticsearch's tokenizer approximated by a
    /// regex), or with one of several meanings its engine's versions give it. The document
    /// is valid; the warning says where the meaning may differ.
    Approximated(String),
}

impl ErrorKind {
    /// A stable snake_case name of the kind.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Io(_) => "io",
            ErrorKind::Yaml(_) => "yaml",
            ErrorKind::MissingKey(_) => "missing_key",
            ErrorKind::InvalidValue { .. } => "invalid_value",
            ErrorKind::UnknownModifier(_) => "unknown_modifier",
            ErrorKind::MisplacedModifier { .. } => "misplaced_modifier",
            ErrorKind::WildcardNotAllowed { .. } => "wildcard_not_allowed",
            ErrorKind::ConditionSyntax { .. } => "condition_syntax",
            ErrorKind::UndefinedIdentifier(_) => "undefined_identifier",
            ErrorKind::PatternMatchesNothing(_) => "pattern_matches_nothing",
            ErrorKind::UnusedIdentifier(_) => "unused_identifier",
            ErrorKind::EmptyFile => "empty_file",
            ErrorKind::Deprecated(_) => "deprecated_syntax",
            ErrorKind::InvalidRegex(_) => "invalid_regex",
            ErrorKind::RegexTooLarge { .. } => "regex_too_large",
            ErrorKind::InvalidCidr(_) => "invalid_cidr",
            ErrorKind::UnresolvedPlaceholder(_) => "unresolved_placeholder",
            ErrorKind::InvalidCorrelation(_) => "invalid_correlation",
            ErrorKind::Unsupported { .. } => "unsupported",
            ErrorKind::Pipeline(_) => "pipeline",
            ErrorKind::Backend(_) => "backend",
            ErrorKind::Event(_) => "event",
            ErrorKind::Usage(_) => "usage",
            ErrorKind::Toml(_) => "toml",
            ErrorKind::QuerySyntax { .. } => "query_syntax",
            ErrorKind::Approximated(_) => "approximated",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io(m) => write!(f, "I/O error: {m}"),
            ErrorKind::Yaml(m) => write!(f, "invalid YAML: {m}"),
            ErrorKind::MissingKey(k) => write!(f, "missing required key `{k}`"),
            ErrorKind::InvalidValue { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ErrorKind::UnknownModifier(m) => write!(f, "unknown modifier `{m}`"),
            ErrorKind::MisplacedModifier { modifier, reason } => {
                write!(f, "modifier `{modifier}` {reason}")
            }
            ErrorKind::WildcardNotAllowed { modifier } => {
                write!(f, "wildcards are not allowed in values of `{modifier}`")
            }
            ErrorKind::ConditionSyntax {
                message,
                condition,
                offset,
            } => write!(
                f,
                "condition syntax: {message} at offset {offset} in `{}`",
                excerpt(condition, *offset)
            ),
            ErrorKind::UndefinedIdentifier(i) => {
                write!(f, "condition uses `{i}`, which `detection` does not define")
            }
            ErrorKind::PatternMatchesNothing(p) => {
                write!(f, "`{p}` in the condition matches no detection identifier")
            }
            ErrorKind::UnusedIdentifier(i) => {
                write!(f, "detection identifier `{i}` is not used by the condition")
            }
            ErrorKind::Deprecated(m) => write!(f, "deprecated Sigma 1 syntax: {m}"),
            ErrorKind::EmptyFile => write!(f, "the file holds no Sigma document"),
            ErrorKind::InvalidRegex(m) => write!(f, "invalid regular expression: {m}"),
            ErrorKind::RegexTooLarge { limit } => write!(
                f,
                "regular expression too large: compiled, it exceeds the limit of {} ({limit} bytes)",
                size_text(*limit)
            ),
            ErrorKind::InvalidCidr(m) => write!(f, "invalid CIDR network: {m}"),
            ErrorKind::UnresolvedPlaceholder(n) => {
                write!(f, "placeholder `%{n}%` is not resolved")
            }
            ErrorKind::InvalidCorrelation(m) => write!(f, "invalid correlation or filter: {m}"),
            ErrorKind::Unsupported { target, what } => {
                write!(f, "unsupported by {target}: {what}")
            }
            ErrorKind::Pipeline(m) => write!(f, "pipeline: {m}"),
            ErrorKind::Backend(m) => write!(f, "backend: {m}"),
            ErrorKind::Event(m) => write!(f, "event: {m}"),
            ErrorKind::Usage(m) => write!(f, "{m}"),
            ErrorKind::Toml(m) => write!(f, "invalid TOML: {m}"),
            ErrorKind::QuerySyntax { language, message } => {
                write!(f, "{language} syntax: {message}")
            }
            ErrorKind::Approximated(m) => write!(f, "read approximately: {m}"),
        }
    }
}

/// At most this many characters of a condition are quoted on each side of an error's
/// position.
const EXCERPT_CHARS: usize = 40;

/// `text` whole when short, else the characters around byte `offset` with `…` where it was
/// cut, so that an error in a 200 KB condition does not quote all of it.
fn excerpt(text: &str, offset: usize) -> String {
    if text.chars().count() <= 2 * EXCERPT_CHARS {
        return text.to_string();
    }
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let (head, tail) = text.split_at(at);
    let start = head
        .char_indices()
        .rev()
        .nth(EXCERPT_CHARS - 1)
        .map_or(0, |(i, _)| i);
    let end = tail
        .char_indices()
        .nth(EXCERPT_CHARS)
        .map_or(text.len(), |(i, _)| at + i);
    format!(
        "{}{}{}",
        if start > 0 { "…" } else { "" },
        &text[start..end],
        if end < text.len() { "…" } else { "" }
    )
}

/// A byte size as MiB when it is a whole number of them.
fn size_text(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// Where an error is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Location {
    /// The file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The key path, e.g. `detection.selection.Image|endswith[2]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(file) = &self.file {
            write!(f, "{file}")?;
            sep = ":";
        }
        if let Some(line) = self.line {
            write!(f, "{sep}{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
            sep = ":";
        }
        if let Some(path) = &self.path {
            if sep.is_empty() {
                write!(f, "{path}")?;
            } else {
                write!(f, " ({path})")?;
            }
        }
        Ok(())
    }
}

/// An error of any stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where (boxed: errors travel in `Result`s everywhere and stay small).
    pub location: Box<Location>,
    /// What to do about it.
    pub hint: Option<String>,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with no location yet.
    #[must_use]
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            kind,
            location: Box::default(),
            hint: None,
        }
    }

    /// Sets the key path (keeps an existing one, which is more precise).
    #[must_use]
    pub fn at(mut self, path: impl Into<String>) -> Self {
        if self.location.path.is_none() {
            self.location.path = Some(path.into());
        }
        self
    }

    /// Sets the file (keeps an existing one).
    #[must_use]
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        if self.location.file.is_none() {
            self.location.file = Some(file.into());
        }
        self
    }

    /// Sets line and column (keeps existing ones).
    #[must_use]
    pub fn at_line(mut self, line: usize, column: Option<usize>) -> Self {
        if self.location.line.is_none() {
            self.location.line = Some(line);
            self.location.column = column;
        }
        self
    }

    /// Sets the hint.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The readable, multi-line form:
    ///
    /// ```text
    /// error[unknown_modifier]: unknown modifier `endswit`
    ///   --> rules/errors/unknown_modifier.yml:9:9 (detection.selection.Image|endswit)
    ///   = hint: did you mean `endswith`?
    /// ```
    #[must_use]
    pub fn render(&self) -> String {
        self.render_as("error")
    }

    /// The readable form of a finding reported as a warning (`warning[unused_identifier]:
    /// ...`), located and hinted like an error.
    #[must_use]
    pub fn render_warning(&self) -> String {
        self.render_as("warning")
    }

    fn render_as(&self, severity: &str) -> String {
        let mut s = format!("{severity}[{}]: {}", self.kind.code(), self.kind);
        let loc = self.location.to_string();
        if !loc.is_empty() {
            s.push_str("\n  --> ");
            s.push_str(&loc);
        }
        if let Some(h) = &self.hint {
            s.push_str("\n  = hint: ");
            s.push_str(h);
        }
        s
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = self.location.to_string();
        if loc.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{loc}: {}", self.kind)
        }
    }
}

impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Error", 4)?;
        st.serialize_field("kind", self.kind.code())?;
        st.serialize_field("message", &self.kind.to_string())?;
        st.serialize_field("location", &self.location)?;
        st.serialize_field("hint", &self.hint)?;
        st.end()
    }
}

/// The hint of an [`ErrorKind::UnresolvedPlaceholder`] `%name%`: the pySigma pipeline YAML
/// (`value_placeholders` with `vars`) that supplies its values, to save in a file and pass with
/// `-p FILE`.
#[must_use]
pub fn placeholder_hint(name: &str) -> String {
    let key = if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    };
    format!(
        "supply its values with a pipeline file (pySigma `value_placeholders`) passed with `-p FILE`:\n\
         \x20     name: {key} values\n\
         \x20     priority: 10\n\
         \x20     vars:\n\
         \x20       {key}: [VALUE1, VALUE2]\n\
         \x20     transformations:\n\
         \x20     - type: value_placeholders\n\
         \x20       include: [{key}]"
    )
}

/// A non-fatal note from a stage: the output was produced, but the reader should know this
/// (for example how a backend changed the meaning of a rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// What happened.
    pub message: String,
    /// Where in the rule, as a key path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_kind_location_and_hint() {
        let e = Error::new(ErrorKind::UnknownModifier("endswit".into()))
            .at("detection.selection.Image|endswit")
            .in_file("r.yml")
            .at_line(9, Some(9))
            .hint("did you mean `endswith`?");
        assert_eq!(
            e.render(),
            "error[unknown_modifier]: unknown modifier `endswit`\n  --> r.yml:9:9 (detection.selection.Image|endswit)\n  = hint: did you mean `endswith`?"
        );
        assert_eq!(
            e.to_string(),
            "r.yml:9:9 (detection.selection.Image|endswit): unknown modifier `endswit`"
        );
        assert!(e
            .render_warning()
            .starts_with("warning[unknown_modifier]: unknown modifier `endswit`\n  --> r.yml:9:9"));
    }

    #[test]
    fn long_conditions_are_quoted_around_the_position() {
        let short = ErrorKind::ConditionSyntax {
            message: "m".into(),
            condition: "sel and".into(),
            offset: 7,
        };
        assert_eq!(
            short.to_string(),
            "condition syntax: m at offset 7 in `sel and`"
        );
        let cond = format!("{}sel{}", "(".repeat(100_000), ")".repeat(100_000));
        let k = ErrorKind::ConditionSyntax {
            message: "nesting too deep".into(),
            condition: cond,
            offset: 65,
        };
        let want = format!(
            "condition syntax: nesting too deep at offset 65 in `…{}…`",
            "(".repeat(80)
        );
        assert_eq!(k.to_string(), want);
        // Multi-byte characters are cut at character boundaries, at the start and end too.
        let cond = "é".repeat(100);
        let k = ErrorKind::ConditionSyntax {
            message: "m".into(),
            condition: cond.clone(),
            offset: 3,
        };
        assert_eq!(
            k.to_string(),
            format!("condition syntax: m at offset 3 in `{}…`", "é".repeat(41))
        );
        let k = ErrorKind::ConditionSyntax {
            message: "m".into(),
            condition: cond,
            offset: 200,
        };
        assert_eq!(
            k.to_string(),
            format!("condition syntax: m at offset 200 in `…{}`", "é".repeat(40))
        );
    }

    #[test]
    fn regex_size_limit_is_named() {
        assert_eq!(
            ErrorKind::RegexTooLarge { limit: 10 << 20 }.to_string(),
            "regular expression too large: compiled, it exceeds the limit of 10 MiB (10485760 bytes)"
        );
    }
}
