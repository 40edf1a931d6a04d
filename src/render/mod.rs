//! Renderer: IR → query text, driven by backend data (`backends/*.yml`) and minijinja templates
//! (`templates/<name>/`).
//!
//! A backend is a file of data: tokens, escaping filters, one snippet (a small template) per IR
//! node kind and shape, capability warnings and options with defaults. [`Backend`] loads it into
//! one minijinja environment (strict undefined behaviour, output only through the backend's
//! escaping filters) and [`Backend::convert`] walks the IR once with the same code for every
//! backend. A snippet that is `null` or absent is a typed refusal
//! ([`ErrorKind::Unsupported`]); a snippet may list alternatives, tried in order until one does
//! not refuse.
//!
//! Built-in backends are compiled into the binary; [`Library::with_dir`] adds or overrides
//! backends and templates at run time. `backends/README.md` documents the file format.
//!
//! Files, by job: `spec.rs` the backend file format; `library.rs` the built-in and
//! `--backend-dir` files, `extends:`; `build.rs` a backend's template environment;
//! `escape.rs` escaping filters; `regex.rs` (+ `regex/writer.rs`) regex dialects; `values.rs`
//! the values snippets see; `snippet.rs` one render (its `warn(...)` messages, refusals,
//! alternatives); `walk.rs` the boolean walk; `leaf.rs` one predicate; `correlation.rs`
//! correlation rules; `sequence.rs` sequences; `vars.rs` the query template's variables.

mod build;
mod correlation;
mod escape;
mod leaf;
mod library;
mod regex;
mod selection;
mod sequence;
mod snippet;
mod spec;
mod values;
mod vars;
mod walk;

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::Environment;

use crate::error::{Error, ErrorKind, Result, Warning};
use crate::ir;

pub use escape::{EscapeSpec, Quote};
pub use library::Library;
pub use regex::Dialect;
pub use spec::{
    BackendFile, Cmp, Correlations, Elastic, ElasticLanguage, Exprs, OptionSpec, Selections,
    Snippet, Tokens, VarSpec, Warnings,
};

/// Backend options (`-O key=value`), checked against the backend's declared options.
pub type Options = IndexMap<String, String>;

/// The result of converting one rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conversion {
    /// One query per element of `rule.conditions`.
    pub queries: Vec<String>,
    /// How the meaning changed, if it did.
    pub warnings: Vec<Warning>,
}

/// A loaded backend: its data and its template environment.
#[derive(Debug)]
pub struct Backend {
    file: Arc<BackendFile>,
    env: Environment<'static>,
    field: Arc<escape::Escape>,
}

pub(crate) const REFUSAL: &str = "\u{1}unsupported:";

impl Backend {
    /// A built-in backend.
    ///
    /// # Errors
    /// Unknown name, or a broken built-in (a bug, caught by the tests).
    pub fn builtin(name: &str) -> Result<Self> {
        Library::builtin().backend(name)
    }

    /// Every backend of the built-ins plus `dir` (see [`Library::with_dir`]).
    ///
    /// # Errors
    /// When the directory cannot be read or a backend does not build.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>> {
        let lib = Library::builtin().with_dir(dir)?;
        lib.names().iter().map(|n| lib.backend(n)).collect()
    }

    /// The backend's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// The backend's data.
    #[must_use]
    pub fn file(&self) -> &BackendFile {
        &self.file
    }

    /// The declared options with `given` applied over their defaults.
    ///
    /// # Errors
    /// An option the backend does not declare.
    pub fn options(&self, given: &Options) -> Result<Options> {
        let mut out: Options = self
            .file
            .options
            .iter()
            .map(|(k, o)| (k.clone(), o.default.clone()))
            .collect();
        for (k, v) in given {
            if !out.contains_key(k) {
                let known: Vec<&str> = self.file.options.keys().map(String::as_str).collect();
                return Err(Error::new(ErrorKind::Usage(format!(
                    "backend `{}` has no option `{k}` (options: {})",
                    self.name(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ))));
            }
            out.insert(k.clone(), v.clone());
        }
        Ok(out)
    }

    /// Converts a correlation rule over its rules (`rules[i]` is the rule named by
    /// `corr.rules[i]`, pipelines already applied): one query.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when the backend has no snippet for the correlation type (or
    /// it refuses), or a correlated rule cannot be converted; errors of [`Backend::convert`].
    pub fn convert_correlation(
        &self,
        corr: &ir::Correlation,
        rules: &[&ir::Rule],
        options: &Options,
    ) -> Result<Conversion> {
        let opts = self.options(options)?;
        correlation::convert_correlation(self, corr, rules, &opts).map_err(|e| {
            match &corr.origin.file {
                Some(f) => e.in_file(f.clone()),
                None => e,
            }
        })
    }

    /// Converts a sequence (pipelines already applied): one query, from the backend's
    /// `correlation.sequence` snippet.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when the backend has no `sequence` snippet (or it refuses),
    /// or a step cannot be converted; errors of [`Backend::convert`].
    pub fn convert_sequence(&self, seq: &ir::Sequence, options: &Options) -> Result<Conversion> {
        let opts = self.options(options)?;
        sequence::convert_sequence(self, seq, &opts).map_err(|e| match &seq.origin.file {
            Some(f) => e.in_file(f.clone()),
            None => e,
        })
    }

    /// Converts a rule: one query per condition.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when the backend cannot express the rule,
    /// [`ErrorKind::UnresolvedPlaceholder`], [`ErrorKind::Usage`] for unknown options,
    /// [`ErrorKind::Backend`] for a broken backend definition. Located at the predicate's key
    /// path and the rule's file.
    pub fn convert(&self, rule: &ir::Rule, options: &Options) -> Result<Conversion> {
        let opts = self.options(options)?;
        walk::convert(self, rule, &opts).map_err(|e| match &rule.origin.file {
            Some(f) => e.in_file(f.clone()),
            None => e,
        })
    }
}
