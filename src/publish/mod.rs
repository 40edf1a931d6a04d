//! Output formats for Elastic Security: a rule plus its rendered query → a detection-rules
//! TOML file (`elastic-toml`) or a Kibana detection-engine rule object (`kibana-ndjson`).
//!
//! This stage depends on [`crate::ir`], [`crate::error`] and [`crate::attack`] only: the query
//! text and its language come in as plain values, so any backend (or a hand-written query)
//! can feed it. The metadata is mapped by [`elastic::build`] into an [`ElasticRule`]; both
//! formats render that model through minijinja templates (`templates/formats/*.j2`, built
//! in, replaceable from a folder with [`Publisher::with_template_dir`]). Every output is
//! parsed back (TOML with the `toml` crate, JSON with `serde_json`) before it is returned, so
//! an escaping slip or a broken user template is an error, never a bad file.

// `Error` is the crate-wide contract type (about 160 bytes); boxing it here alone would only
// make this stage differ from the others.

mod dates;
pub mod elastic;
mod model;
pub mod required;
mod tags;
mod threshold;
pub mod toml_text;
pub mod uuid;

use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use minijinja::{Environment, Value};

use crate::error::{Error, ErrorKind, Warning};
use crate::ir::Rule;
use crate::output::{unique_path, write_atomic};

pub use elastic::{build, ElasticRule, Options};
pub use threshold::{build_threshold, threshold_of};

/// The query languages Elastic rules accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    /// EQL (`type = "eql"`).
    Eql,
    /// Kibana query language (`language = "kuery"`, `type = "query"`).
    Kuery,
    /// Lucene `query_string` (`type = "query"`).
    Lucene,
    /// ES|QL (`type = "esql"`).
    Esql,
}

impl QueryLanguage {
    /// `rule.language`.
    #[must_use]
    pub fn language(self) -> &'static str {
        match self {
            Self::Eql => "eql",
            Self::Kuery => "kuery",
            Self::Lucene => "lucene",
            Self::Esql => "esql",
        }
    }

    /// `rule.type`.
    #[must_use]
    pub fn rule_type(self) -> &'static str {
        match self {
            Self::Eql => "eql",
            Self::Kuery | Self::Lucene => "query",
            Self::Esql => "esql",
        }
    }
}

/// What kind of Elastic rule a query makes: its language and, for languages whose rules name
/// index patterns, the patterns of a rule that no pipeline routed. A backend declares it in
/// its file (`elastic:`, see `backends/README.md`); the CLI hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The query language.
    pub language: QueryLanguage,
    /// Index patterns by lower-case `logsource.product`, `*` for every other product, used when
    /// the rule has no `state.index` from a pipeline. `None`: the rule has no index patterns
    /// at all (an ES|QL query names its source).
    pub index: Option<IndexMap<String, Vec<String>>>,
}

/// An output format of this stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One detection-rules TOML file per rule.
    ElasticToml,
    /// Kibana rule objects, one JSON object per line.
    KibanaNdjson,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 2] = [Format::ElasticToml, Format::KibanaNdjson];

    /// The command-line name: `elastic-toml`, `kibana-ndjson`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::ElasticToml => "elastic-toml",
            Format::KibanaNdjson => "kibana-ndjson",
        }
    }

    /// The format of a command-line name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The template file, relative to the templates folder.
    #[must_use]
    pub fn template(self) -> &'static str {
        match self {
            Format::ElasticToml => "formats/elastic_toml.toml.j2",
            Format::KibanaNdjson => "formats/kibana_ndjson.json.j2",
        }
    }

    /// The file extension of its output.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Format::ElasticToml => "toml",
            Format::KibanaNdjson => "ndjson",
        }
    }

    fn builtin(self) -> &'static str {
        match self {
            Format::ElasticToml => {
                include_str!("../../templates/formats/elastic_toml.toml.j2")
            }
            Format::KibanaNdjson => {
                include_str!("../../templates/formats/kibana_ndjson.json.j2")
            }
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One published rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// Where it goes under an output folder (`elastic-toml`:
    /// `linux/exfiltration_python_webserver_execution_linux.toml`).
    pub path: PathBuf,
    /// The text: a whole TOML file, or one JSON line (with its newline).
    pub text: String,
    /// `rule.rule_id` (the Sigma id, or the derived one).
    pub rule_id: String,
    /// What the reader should know (unknown ATT&CK tags, defaults filled in...).
    pub warnings: Vec<Warning>,
}

/// Renders rules in the output formats.
#[derive(Debug)]
pub struct Publisher {
    env: Environment<'static>,
}

impl Default for Publisher {
    fn default() -> Self {
        Self::new()
    }
}

fn backend_error(msg: String) -> Error {
    Error::new(ErrorKind::Backend(msg))
}

impl Publisher {
    /// A publisher with the built-in templates.
    ///
    /// # Panics
    /// Never in practice: the built-in templates are checked by the tests.
    #[must_use]
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
        env.add_filter("toml_str", |s: String| toml_text::basic(&s));
        env.add_filter("toml_text", |s: String| {
            toml_text::text(&toml_text::wrap(&s), 14)
        });
        env.add_filter("toml_markdown", |s: String| toml_text::markdown(&s));
        env.add_filter("toml_query", |s: String| toml_text::query(&s));
        env.add_filter("toml_list", |v: Vec<String>| toml_text::list(&v));
        for f in Format::ALL {
            env.add_template(f.template(), f.builtin())
                .expect("built-in template parses");
        }
        Publisher { env }
    }

    /// A publisher whose templates are read from `dir` where present
    /// (`dir/formats/elastic_toml.toml.j2`, `dir/formats/kibana_ndjson.json.j2`), the
    /// built-in ones otherwise.
    ///
    /// # Errors
    /// A template that cannot be read or does not parse.
    pub fn with_template_dir(dir: &Path) -> Result<Self, Error> {
        let mut p = Self::new();
        for f in Format::ALL {
            let path = dir.join(f.template());
            if !path.is_file() {
                continue;
            }
            let src = std::fs::read_to_string(&path).map_err(|e| {
                Error::new(ErrorKind::Io(e.to_string())).in_file(path.display().to_string())
            })?;
            p.env.add_template_owned(f.template(), src).map_err(|e| {
                backend_error(format!("template {}: {e}", f.template()))
                    .in_file(path.display().to_string())
            })?;
        }
        Ok(p)
    }

    /// Renders the model in `format` and checks the result parses and keeps the key values.
    ///
    /// # Errors
    /// A template error, or output that does not parse back to the model's values.
    pub fn render(&self, format: Format, model: &ElasticRule) -> Result<String, Error> {
        let tpl = self
            .env
            .get_template(format.template())
            .map_err(|e| backend_error(format!("template {}: {e}", format.template())))?;
        let text = tpl
            .render(Value::from_serialize(model))
            .map_err(|e| backend_error(format!("template {}: {e:#}", format.template())))?;
        match format {
            Format::ElasticToml => {
                check_toml(&text, model)?;
                Ok(text)
            }
            Format::KibanaNdjson => {
                let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    backend_error(format!("{format} template produced invalid JSON: {e}"))
                })?;
                let same = v.get("rule_id").and_then(|x| x.as_str())
                    == Some(model.rule.rule_id.as_str())
                    && v.get("query").and_then(|x| x.as_str()) == Some(model.rule.query.as_str());
                if !same {
                    return Err(backend_error(format!(
                        "{format} template output lost rule_id or query"
                    )));
                }
                let mut line = serde_json::to_string(&v)
                    .map_err(|e| backend_error(format!("{format}: {e}")))?;
                line.push('\n');
                Ok(line)
            }
        }
    }

    /// Builds the threshold rule of the correlation `corr` over its one rule `base` (converted
    /// to `query`) and renders it (see [`build_threshold`]).
    ///
    /// # Errors
    /// See [`build_threshold`] and [`Publisher::render`]; the error carries the file.
    pub fn publish_threshold(
        &self,
        format: Format,
        corr: &crate::ir::Correlation,
        base: &Rule,
        query: &str,
        target: &Target,
        opts: &Options,
    ) -> Result<Published, Error> {
        let (model, warnings) = build_threshold(corr, base, query, target, opts)?;
        self.finish(format, model, warnings, corr.origin.file.as_ref())
    }

    /// Renders a built model to a [`Published`] file.
    fn finish(
        &self,
        format: Format,
        model: ElasticRule,
        warnings: Vec<Warning>,
        file: Option<&String>,
    ) -> Result<Published, Error> {
        let text = self.render(format, &model).map_err(|e| match file {
            Some(f) => e.in_file(f.clone()),
            None => e,
        })?;
        let mut path = model.stem.clone();
        path.set_extension(format.extension());
        Ok(Published {
            path,
            text,
            rule_id: model.rule.rule_id,
            warnings,
        })
    }

    /// Builds the model of `rule` and renders it: the whole path from IR + query to text.
    ///
    /// # Errors
    /// See [`elastic::build`] and [`Publisher::render`]; the error carries the rule's file.
    pub fn publish(
        &self,
        format: Format,
        rule: &Rule,
        query: &str,
        target: &Target,
        opts: &Options,
    ) -> Result<Published, Error> {
        let (model, warnings) = build(rule, query, target, opts)?;
        self.finish(format, model, warnings, rule.origin.file.as_ref())
    }
}

/// Parses the TOML text and checks the values an escaping slip would change.
fn check_toml(text: &str, model: &ElasticRule) -> Result<(), Error> {
    let doc: toml::Table = toml::from_str(text)
        .map_err(|e| backend_error(format!("elastic-toml template produced invalid TOML: {e}")))?;
    let r = &model.rule;
    let get = |k: &str| {
        doc.get("rule")
            .and_then(|x| x.get(k))
            .and_then(|x| x.as_str())
            .map(str::to_string)
    };
    let checks = [
        ("rule.name", get("name"), r.name.clone()),
        ("rule.rule_id", get("rule_id"), r.rule_id.clone()),
        ("rule.note", get("note"), r.note.clone()),
        (
            "rule.query",
            get("query").map(|q| q.trim_end_matches('\n').to_string()),
            r.query.trim_end_matches('\n').to_string(),
        ),
        (
            "rule.description",
            get("description").map(|d| d.trim_end_matches('\n').to_string()),
            toml_text::wrap(&r.description),
        ),
    ];
    for (key, got, want) in checks {
        if got.as_deref() != Some(want.as_str()) {
            return Err(backend_error(format!(
                "elastic-toml output does not round-trip `{key}`: wrote {want:?}, read back {got:?}"
            )));
        }
    }
    Ok(())
}

/// Collects the published rules of a batch and writes them: with an output folder, one
/// `elastic-toml` file per rule under `<folder>/<os>/` (each written atomically as soon as it
/// is pushed, names made unique with [`crate::output::unique_path`]) or all `kibana-ndjson` lines to one file
/// (`<folder>/rules.ndjson`, or the given path when it ends in `.ndjson`), written atomically
/// by [`Sink::finish`]; without one, everything goes to the writer given to `finish`.
#[derive(Debug)]
pub struct Sink {
    format: Format,
    out: Option<PathBuf>,
    used: std::collections::HashSet<PathBuf>,
    buffer: String,
    written: Vec<PathBuf>,
}

impl Sink {
    /// A sink for `format`, writing under `out` (or to the `finish` writer when `None`).
    #[must_use]
    pub fn new(format: Format, out: Option<PathBuf>) -> Self {
        Sink {
            format,
            out,
            used: std::collections::HashSet::new(),
            buffer: String::new(),
            written: Vec::new(),
        }
    }

    /// Adds one rule. Returns the file it was written to, if it was written now.
    ///
    /// # Errors
    /// A write that failed (nothing half-written is left).
    pub fn push(&mut self, p: &Published) -> Result<Option<PathBuf>, Error> {
        let rel = unique_path(&mut self.used, &p.path, &p.rule_id);
        match (self.format, &self.out) {
            (Format::ElasticToml, Some(dir)) => {
                let path = dir.join(&rel);
                write_atomic(&path, &p.text)?;
                self.written.push(path.clone());
                Ok(Some(path))
            }
            (Format::ElasticToml, None) => {
                if !self.buffer.is_empty() {
                    self.buffer.push('\n');
                }
                self.buffer
                    .push_str(&format!("# file: {}\n", rel.display()));
                self.buffer.push_str(&p.text);
                Ok(None)
            }
            (Format::KibanaNdjson, _) => {
                self.buffer.push_str(&p.text);
                Ok(None)
            }
        }
    }

    /// Writes what is buffered: the NDJSON file, or everything to `stdout` when there is no
    /// output folder. Returns every file written by the batch.
    ///
    /// # Errors
    /// A write that failed.
    pub fn finish(mut self, stdout: &mut dyn std::io::Write) -> Result<Vec<PathBuf>, Error> {
        match (self.format, &self.out) {
            (Format::ElasticToml, Some(_)) => {}
            (Format::KibanaNdjson, Some(out)) => {
                let path = if out.extension().is_some_and(|e| e == "ndjson") {
                    out.clone()
                } else {
                    out.join("rules.ndjson")
                };
                write_atomic(&path, &self.buffer)?;
                self.written.push(path);
            }
            (_, None) => stdout
                .write_all(self.buffer.as_bytes())
                .map_err(|e| Error::new(ErrorKind::Io(e.to_string())))?,
        }
        Ok(self.written)
    }
}
