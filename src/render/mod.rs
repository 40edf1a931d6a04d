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

mod correlation;
mod escape;
mod leaf;
mod regex;
mod snippet;
mod spec;
mod values;
mod vars;
mod walk;

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::error::{Error, ErrorKind, Result, Warning};
use crate::ir;

pub use escape::{EscapeSpec, Quote};
pub use regex::Dialect;
pub use spec::{
    BackendFile, Cmp, Correlations, Elastic, ElasticLanguage, Exprs, OptionSpec, Snippet, Tokens,
    VarSpec, Warnings,
};

/// Built-in backend files and templates, embedded at build time.
const BUILTIN_BACKENDS: &[(&str, &str)] = &[
    ("eql", include_str!("../../backends/eql.yml")),
    ("kql", include_str!("../../backends/kql.yml")),
    ("lucene", include_str!("../../backends/lucene.yml")),
    ("esql", include_str!("../../backends/esql.yml")),
    ("sql", include_str!("../../backends/sql.yml")),
    ("sqlite", include_str!("../../backends/sqlite.yml")),
    ("postgres", include_str!("../../backends/postgres.yml")),
    ("duckdb", include_str!("../../backends/duckdb.yml")),
];

const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    (
        "eql/query.eql.j2",
        include_str!("../../templates/eql/query.eql.j2"),
    ),
    (
        "kql/query.kql.j2",
        include_str!("../../templates/kql/query.kql.j2"),
    ),
    (
        "lucene/query.lucene.j2",
        include_str!("../../templates/lucene/query.lucene.j2"),
    ),
    (
        "esql/query.esql.j2",
        include_str!("../../templates/esql/query.esql.j2"),
    ),
    (
        "sql/query.sql.j2",
        include_str!("../../templates/sql/query.sql.j2"),
    ),
];

/// Backend files and templates by name: the built-ins, plus any loaded from a directory.
#[derive(Debug, Clone)]
pub struct Library {
    files: IndexMap<String, (String, String)>,
    templates: IndexMap<String, String>,
}

impl Library {
    /// The built-in backends.
    #[must_use]
    pub fn builtin() -> Self {
        Library {
            files: BUILTIN_BACKENDS
                .iter()
                .map(|(n, s)| {
                    (
                        (*n).to_string(),
                        (format!("<builtin>/backends/{n}.yml"), (*s).to_string()),
                    )
                })
                .collect(),
            templates: BUILTIN_TEMPLATES
                .iter()
                .map(|(n, s)| ((*n).to_string(), (*s).to_string()))
                .collect(),
        }
    }

    /// Adds (or overrides) the backends `DIR/*.yml` and the templates under `DIR/templates/`.
    ///
    /// # Errors
    /// When the directory or a file cannot be read.
    pub fn with_dir(mut self, dir: &Path) -> Result<Self> {
        let io = |p: &Path, e: std::io::Error| {
            Error::new(ErrorKind::Io(format!("{}: {e}", p.display())))
        };
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(std::result::Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let is_yml = p.extension().is_some_and(|x| x == "yml" || x == "yaml");
            if p.is_file() && is_yml {
                let src = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
                let name = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.files.insert(name, (p.display().to_string(), src));
            }
        }
        let tdir = dir.join("templates");
        if tdir.is_dir() {
            for entry in walkdir::WalkDir::new(&tdir).sort_by_file_name() {
                let entry = entry
                    .map_err(|e| Error::new(ErrorKind::Io(format!("{}: {e}", tdir.display()))))?;
                if entry.file_type().is_file() {
                    let rel = entry
                        .path()
                        .strip_prefix(&tdir)
                        .unwrap_or(entry.path())
                        .to_string_lossy()
                        .replace('\\', "/");
                    let src =
                        std::fs::read_to_string(entry.path()).map_err(|e| io(entry.path(), e))?;
                    self.templates.insert(rel, src);
                }
            }
        }
        Ok(self)
    }

    /// Names of the usable (non-abstract) backends, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let mut v = self.declared_names();
        v.sort();
        v
    }

    /// Names of the usable (non-abstract) backends in the order declared: the built-ins, then
    /// those a folder added.
    #[must_use]
    pub fn declared_names(&self) -> Vec<String> {
        self.files
            .iter()
            .filter(|(_, (_, src))| {
                serde_yaml::from_str::<serde_yaml::Value>(src)
                    .ok()
                    .and_then(|v| v.get("abstract").and_then(serde_yaml::Value::as_bool))
                    != Some(true)
            })
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The backend file `name` with `extends:` resolved.
    ///
    /// # Errors
    /// Unknown backend, malformed YAML, unknown keys, a cycle in `extends`.
    pub fn file(&self, name: &str) -> Result<BackendFile> {
        let merged = self.merged(name, 0)?;
        let origin = &self.files[name].0;
        let mut f: BackendFile = serde_yaml::from_value(merged).map_err(|e| {
            Error::new(ErrorKind::Backend(format!("{origin}: {e}"))).in_file(origin.clone())
        })?;
        let own: serde_yaml::Value =
            serde_yaml::from_str(&self.files[name].1).unwrap_or(serde_yaml::Value::Null);
        f.is_abstract = own
            .get("abstract")
            .and_then(serde_yaml::Value::as_bool)
            .unwrap_or(false);
        Ok(f)
    }

    fn merged(&self, name: &str, depth: usize) -> Result<serde_yaml::Value> {
        let Some((origin, src)) = self.files.get(name) else {
            return Err(Error::new(ErrorKind::Usage(format!(
                "unknown backend `{name}` (available: {})",
                self.names().join(", ")
            ))));
        };
        if depth > 8 {
            return Err(Error::new(ErrorKind::Backend(format!(
                "{origin}: `extends` chain too deep (a cycle?)"
            ))));
        }
        let mut value: serde_yaml::Value = serde_yaml::from_str(src)
            .map_err(|e| Error::new(ErrorKind::Backend(format!("{origin}: {e}"))))?;
        value
            .apply_merge()
            .map_err(|e| Error::new(ErrorKind::Backend(format!("{origin}: {e}"))))?;
        match value.get("extends").and_then(serde_yaml::Value::as_str) {
            Some(parent) => {
                let parent = parent.to_string();
                let mut base = self.merged(&parent, depth + 1)?;
                if let serde_yaml::Value::Mapping(m) = &mut base {
                    m.remove("abstract");
                }
                Ok(spec::merge(base, value))
            }
            None => Ok(value),
        }
    }

    /// Builds backend `name`.
    ///
    /// # Errors
    /// As [`Library::file`], plus invalid templates or escapes.
    pub fn backend(&self, name: &str) -> Result<Backend> {
        let file = self.file(name)?;
        if file.is_abstract {
            return Err(Error::new(ErrorKind::Usage(format!(
                "backend `{name}` is a base for others to extend, not a target"
            ))));
        }
        Backend::build(file, &self.templates)
    }
}

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

    fn build(file: BackendFile, templates: &IndexMap<String, String>) -> Result<Self> {
        let name = file.name.clone();
        let berr = |m: String| Error::new(ErrorKind::Backend(format!("{name}: {m}")));
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_auto_escape_callback(|_| AutoEscape::Custom("query"));
        env.set_formatter(|out, _state, value| {
            if value.is_safe() {
                out.write_str(value.as_str().unwrap_or_default())
                    .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write"))
            } else {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("value {value:?} is printed without an escaping filter"),
                ))
            }
        });
        let mut field = None;
        for (ename, espec) in &file.escapes {
            let esc = Arc::new(escape::Escape::compile(ename, espec).map_err(berr)?);
            if *ename == file.field {
                field = Some(esc.clone());
            }
            env.add_filter(ename.clone(), move |v: minijinja::Value| {
                values::apply_escape(&esc, &v)
            });
        }
        let Some(field) = field else {
            return Err(berr(format!(
                "`field: {}` names no escape of `escapes`",
                file.field
            )));
        };
        // `join` of escaped values: the joiner is template text, every item must be escaped.
        env.add_filter(
            "join",
            |items: minijinja::Value,
             joiner: Option<String>|
             -> std::result::Result<minijinja::Value, minijinja::Error> {
                let mut out = String::new();
                for (i, item) in items.try_iter()?.enumerate() {
                    if !item.is_safe() {
                        return Err(minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("value {item:?} is joined without an escaping filter"),
                        ));
                    }
                    if i > 0 {
                        out.push_str(joiner.as_deref().unwrap_or(""));
                    }
                    out.push_str(item.as_str().unwrap_or_default());
                }
                Ok(minijinja::Value::from_safe_string(out))
            },
        );
        env.add_function("unsupported", snippet::unsupported);
        env.add_function("warn", snippet::warn);
        for (key, snip) in file.expr.all() {
            if let Some(s) = snip {
                for (i, t) in s.templates().into_iter().enumerate() {
                    env.add_template_owned(format!("expr.{key}.{i}"), t.to_string())
                        .map_err(|e| berr(format!("expr.{key}: {e}")))?;
                }
            }
        }
        for (key, snip) in file.correlation.all() {
            if let Some(s) = snip {
                for (i, t) in s.templates().into_iter().enumerate() {
                    env.add_template_owned(format!("correlation.{key}.{i}"), t.to_string())
                        .map_err(|e| berr(format!("correlation.{key}: {e}")))?;
                }
            }
        }
        for (k, t) in [
            ("not", Some(&file.tokens.not)),
            ("group", Some(&file.tokens.group)),
            ("null_safe", file.tokens.null_safe.as_ref()),
        ] {
            if let Some(t) = t {
                env.add_template_owned(format!("tokens.{k}"), t.clone())
                    .map_err(|e| berr(format!("tokens.{k}: {e}")))?;
            }
        }
        let query = templates
            .get(&file.query)
            .ok_or_else(|| berr(format!("template `templates/{}` not found", file.query)))?;
        env.add_template_owned("query", query.clone())
            .map_err(|e| berr(format!("templates/{}: {e}", file.query)))?;
        if let Some(e) = &file.elastic {
            e.check().map_err(berr)?;
        }
        for v in file.vars.values() {
            if let Some(o) = &v.option {
                if !file.options.contains_key(o) {
                    return Err(berr(format!("a var names the undeclared option `{o}`")));
                }
            }
        }
        Ok(Backend {
            file: Arc::new(file),
            env,
            field,
        })
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
