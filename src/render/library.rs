//! The backend library: the built-in backend files and query templates (embedded at build
//! time), plus those of a `--backend-dir` folder, by name; `extends:` resolved into one
//! [`BackendFile`].

use std::path::Path;

use indexmap::IndexMap;

use super::spec::{self, BackendFile};
use super::Backend;
use crate::error::{Error, ErrorKind, Result};

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
    ("spark", include_str!("../../backends/spark.yml")),
    ("clickhouse", include_str!("../../backends/clickhouse.yml")),
    ("sigma", include_str!("../../backends/sigma.yml")),
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
    (
        "spark/query.sql.j2",
        include_str!("../../templates/spark/query.sql.j2"),
    ),
    (
        "sigma/rule.yml.j2",
        include_str!("../../templates/sigma/rule.yml.j2"),
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
