//! The batch API: what `sigmat convert`, `sigmat eval`, the snapshot tests and the benches share.
//!
//! A [`Session`] holds what every rule of a run goes through: the processing pipelines and,
//! for conversion, the backend with its options (its own pipeline runs last). [`Session::load`]
//! reads rule files once, in parallel, applies filters, then runs the pipelines once over each
//! rule and correlation: the result is a [`Batch`] whose [`Entry`]s keep the file order.
//! [`Session::convert`] renders a batch (correlation rules find the rules they refer to among
//! the batch's own, pipelines already applied) and returns one [`Item`] per document, in order.
//!
//! ```
//! use sigmat::session::{Outcome, Session};
//!
//! let rule = r#"
//! title: Whoami
//! logsource: { category: process_creation, product: windows }
//! detection:
//!   sel: { Image|endswith: '\whoami.exe' }
//!   condition: sel
//! "#;
//! let session = Session::builder().target("eql").build()?;
//! let batch = session.load_str(rule, "whoami.yml");
//! let items = session.convert(&batch)?;
//! match &items[0].outcome {
//!     Outcome::Converted(c) => assert_eq!(
//!         c.queries,
//!         [r#"process where Image : "*\\whoami.exe""#]
//!     ),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), sigmat::error::Error>(())
//! ```
//!
//! With [`Builder::verify`] (`convert --verify`), each query of an EQL or KQL backend is
//! read back and decided against its rule: see [`Verifier`].
//!
//! A session without a target only loads and prepares rules, e.g. for native evaluation:
//! [`Batch::documents`] hands the prepared documents to [`crate::eval::RuleSet`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, ErrorKind, Result};
use crate::ir;
use crate::pipeline::{self, Pipeline};
use crate::read;
use crate::render::{Backend, Conversion, Library, Options};
use crate::sigma;

mod verify;

pub use verify::{Verifier, Verify};

/// What every rule of a run goes through.
#[derive(Debug)]
pub struct Session {
    pipelines: Vec<Pipeline>,
    backend: Option<(Backend, Options)>,
    verifier: Option<Verifier>,
}

/// Builds a [`Session`]: pipelines by name or path, a target backend, its options.
#[derive(Debug, Default)]
pub struct Builder {
    pipelines: Vec<String>,
    loaded: Vec<Pipeline>,
    target: Option<String>,
    backend: Option<Backend>,
    options: Options,
    backend_dir: Option<PathBuf>,
    verify: Option<Verify>,
    verify_budget: Option<usize>,
}

impl Builder {
    /// Adds a pipeline: a built-in name or a pySigma pipeline YAML file (`-p`).
    #[must_use]
    pub fn pipeline(mut self, name_or_path: impl Into<String>) -> Self {
        self.pipelines.push(name_or_path.into());
        self
    }

    /// Adds pipelines by name or path.
    #[must_use]
    pub fn pipelines<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.pipelines.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds an already loaded pipeline (after those given by name).
    #[must_use]
    pub fn loaded_pipeline(mut self, p: Pipeline) -> Self {
        self.loaded.push(p);
        self
    }

    /// The backend to convert to (`-t`).
    #[must_use]
    pub fn target(mut self, name: impl Into<String>) -> Self {
        self.target = Some(name.into());
        self
    }

    /// An already loaded backend to convert to (instead of [`Builder::target`]).
    #[must_use]
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// A backend option (`-O key=value`).
    #[must_use]
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// Loads more backends and templates from a folder (`--backend-dir`).
    #[must_use]
    pub fn backend_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.backend_dir = dir;
        self
    }

    /// Verifies each conversion ([`Verifier`], `--verify`): the queries are read back and
    /// decided against the rule.
    #[must_use]
    pub fn verify(mut self, mode: Option<Verify>) -> Self {
        self.verify = mode;
        self
    }

    /// The decision budget per region of `--verify` ([`crate::analysis::Options::budget`]).
    #[must_use]
    pub fn verify_budget(mut self, budget: Option<usize>) -> Self {
        self.verify_budget = budget;
        self
    }

    /// Loads the pipelines and the backend.
    ///
    /// # Errors
    /// An unknown backend or option, an unreadable or invalid pipeline or backend folder;
    /// [`ErrorKind::Usage`] for `verify` without a backend, or with one sigmat cannot read
    /// back (verify applies to eql and kql).
    pub fn build(self) -> Result<Session> {
        let mut pipelines = Vec::with_capacity(self.pipelines.len() + self.loaded.len() + 1);
        for p in &self.pipelines {
            pipelines.push(Pipeline::load(p)?);
        }
        pipelines.extend(self.loaded);
        let backend = match (self.backend, self.target) {
            (None, None) => None,
            (given, name) => {
                let backend = match (given, name) {
                    (Some(b), _) => b,
                    (None, name) => {
                        let mut lib = Library::builtin();
                        if let Some(dir) = &self.backend_dir {
                            lib = lib.with_dir(dir)?;
                        }
                        lib.backend(name.as_deref().unwrap_or_default())?
                    }
                };
                backend.options(&self.options)?;
                // The backend's own pipeline runs last, whatever the priorities of the user's.
                if let Some(p) = &backend.file().pipeline {
                    let mut own = Pipeline::load(p)?;
                    own.priority = pipelines
                        .iter()
                        .map(|p| p.priority)
                        .max()
                        .unwrap_or(own.priority)
                        .max(own.priority);
                    pipelines.push(own);
                }
                Some((backend, self.options))
            }
        };
        let verifier = match (self.verify, &backend) {
            (None, _) => None,
            (Some(mode), Some((b, _))) => Some(Verifier::new(mode, b, self.verify_budget)?),
            (Some(_), None) => {
                return Err(Error::new(ErrorKind::Usage(
                    "verify needs a target backend".into(),
                )))
            }
        };
        Ok(Session {
            pipelines,
            backend,
            verifier,
        })
    }
}

/// One document of a batch, as the pipelines left it.
#[derive(Debug)]
pub struct Entry {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its index among the file's documents.
    pub document: usize,
    /// Rule id, when the document could be read.
    pub id: Option<String>,
    /// Rule title, when the document could be read.
    pub title: Option<String>,
    /// The document after the pipelines, or why it could not be read or prepared.
    pub doc: std::result::Result<ir::Document, Failure>,
}

/// Why a document of a batch has no prepared form.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The document is not a valid rule (located in its file).
    Load(Error),
    /// A pipeline refused or failed it (e.g. `rule_failure`: out of the pipeline's scope).
    Pipeline(Error),
}

impl Failure {
    /// The error.
    #[must_use]
    pub fn error(&self) -> &Error {
        match self {
            Failure::Load(e) | Failure::Pipeline(e) => e,
        }
    }
}

/// The documents of a batch that could not be read or prepared, with their files.
pub type Failures = Vec<(PathBuf, Failure)>;

/// The documents of a run, read once, filters applied, pipelines applied once.
#[derive(Debug, Default)]
pub struct Batch {
    /// One entry per document, in file order then document order. Filter documents are
    /// kept as they are: [`Session::load`] has already applied them to the rules they cover.
    pub entries: Vec<Entry>,
    /// How many files were read.
    pub files: usize,
    /// The front end's warnings (unused search identifiers, empty files): located like
    /// errors, they leave their documents valid. In file order.
    pub warnings: Vec<Error>,
}

impl Batch {
    /// The prepared documents with the file each came from (filters included), and the
    /// errors of those that could not be read or prepared.
    #[must_use]
    pub fn documents(self) -> (Vec<(PathBuf, ir::Document)>, Failures) {
        let mut docs = Vec::with_capacity(self.entries.len());
        let mut errors = Vec::new();
        for e in self.entries {
            match e.doc {
                Ok(d) => docs.push((e.path, d)),
                Err(f) => errors.push((e.path, f)),
            }
        }
        (docs, errors)
    }

    /// The rules of the batch by id and by name, for correlation rules to refer to.
    fn rule_index(&self) -> HashMap<&str, &ir::Rule> {
        let mut index = HashMap::new();
        for e in &self.entries {
            if let Ok(ir::Document::Rule(r)) = &e.doc {
                for key in r.meta.id.iter().chain(r.meta.name.iter()) {
                    index.insert(key.as_str(), r);
                }
            }
        }
        index
    }
}

/// What happened to one document.
#[derive(Debug)]
pub enum Outcome {
    /// Converted.
    Converted(Conversion),
    /// The backend cannot express it (or it needs a pipeline's values, or a pipeline put it
    /// out of scope).
    Unsupported(Error),
    /// The rule is invalid, or the backend is broken.
    Failed(Error),
}

impl Outcome {
    /// The outcome of a conversion of a document of `file`. A backend that cannot express the
    /// rule, a placeholder without a value and a pipeline's `rule_failure` /
    /// `detection_item_failure` (the rule is out of its scope) are counted as unsupported;
    /// anything else as failed.
    fn of(converted: Result<Conversion>, file: &Path) -> Self {
        match converted {
            Ok(c) => Outcome::Converted(c),
            Err(e) => {
                let e = e.in_file(file.display().to_string());
                if matches!(
                    e.kind,
                    ErrorKind::Unsupported { .. }
                        | ErrorKind::UnresolvedPlaceholder(_)
                        | ErrorKind::Pipeline(_)
                ) {
                    Outcome::Unsupported(e)
                } else {
                    Outcome::Failed(e)
                }
            }
        }
    }
}

/// One converted (or not) document of a batch.
#[derive(Debug)]
pub struct Item<'b> {
    /// The batch entry: file, document index, id, title and the rule as the pipelines left it.
    pub entry: &'b Entry,
    /// The outcome.
    pub outcome: Outcome,
}

impl Item<'_> {
    /// The rule as the pipelines left it, for a converted rule document (what the Elastic
    /// formats publish).
    #[must_use]
    pub fn rule(&self) -> Option<&ir::Rule> {
        if let (Outcome::Converted(_), Ok(ir::Document::Rule(r))) = (&self.outcome, &self.entry.doc)
        {
            Some(r)
        } else {
            None
        }
    }
}

impl Session {
    /// A builder.
    #[must_use]
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The pipelines, the backend's own included (last).
    #[must_use]
    pub fn pipelines(&self) -> &[Pipeline] {
        &self.pipelines
    }

    /// The target backend, when the session converts.
    #[must_use]
    pub fn backend(&self) -> Option<&Backend> {
        self.backend.as_ref().map(|(b, _)| b)
    }

    /// Reads every file and folder of `paths` ([`load_documents`]: Sigma YAML and Elastic
    /// detection-rules TOML), applies filters, then the pipelines once per document.
    #[must_use]
    pub fn load(&self, paths: &[PathBuf]) -> Batch {
        self.prepare(load_documents(paths))
    }

    /// Parses one YAML source named `name` (multi-document files included) as a batch.
    #[must_use]
    pub fn load_str(&self, source: &str, name: &str) -> Batch {
        let loaded = sigma::parse_str_with_warnings(source, Some(name));
        self.prepare(vec![(PathBuf::from(name), loaded)])
    }

    fn prepare(&self, loaded: Vec<(PathBuf, sigma::Loaded)>) -> Batch {
        let files = loaded.len();
        let mut warnings = Vec::new();
        let mut jobs: Vec<(PathBuf, usize, Result<ir::Document>)> = Vec::new();
        for (p, l) in loaded {
            warnings.extend(l.warnings.into_iter().map(|w| w.warning));
            jobs.extend(
                l.documents
                    .into_iter()
                    .enumerate()
                    .map(|(i, d)| (p.clone(), i, d)),
            );
        }
        let entries = jobs
            .into_par_iter()
            .map(|(path, document, doc)| self.prepare_one(path, document, doc))
            .collect();
        Batch {
            entries,
            files,
            warnings,
        }
    }

    fn prepare_one(&self, path: PathBuf, document: usize, doc: Result<ir::Document>) -> Entry {
        let file = || path.display().to_string();
        let (id, title, doc) = match doc {
            Err(e) => (None, None, Err(Failure::Load(e.in_file(file())))),
            Ok(d) => {
                let meta = match &d {
                    ir::Document::Rule(r) => &r.meta,
                    ir::Document::Correlation(c) => &c.meta,
                    ir::Document::Filter(f) => &f.meta,
                    ir::Document::Sequence(s) => &s.meta,
                };
                let (id, title) = (meta.id.clone(), Some(meta.title.clone()));
                let pipelined = match d {
                    d if self.pipelines.is_empty() => Ok(d),
                    // The rule is ours: the pipelines rewrite it without a copy.
                    ir::Document::Rule(r) => {
                        pipeline::apply_owned(&self.pipelines, r).map(ir::Document::Rule)
                    }
                    ir::Document::Correlation(mut c) => {
                        pipeline::apply_correlation(&self.pipelines, &mut c)
                            .map(|_| ir::Document::Correlation(c))
                    }
                    ir::Document::Sequence(mut s) => {
                        pipeline::apply_sequence(&self.pipelines, &mut s)
                            .map(|()| ir::Document::Sequence(s))
                    }
                    // Applied to their rules by the loader.
                    d @ ir::Document::Filter(_) => Ok(d),
                };
                let prepared = pipelined.map_err(|e| Failure::Pipeline(e.in_file(file())));
                (id, title, prepared)
            }
        };
        Entry {
            path,
            document,
            id,
            title,
            doc,
        }
    }

    /// Converts every rule and correlation document of `batch` with the session's backend, in
    /// parallel, keeping the batch's order (filter documents give no item). Correlation rules refer to the batch's rules by id or name.
    ///
    /// # Errors
    /// [`ErrorKind::Usage`] when the session has no target backend.
    pub fn convert<'b>(&self, batch: &'b Batch) -> Result<Vec<Item<'b>>> {
        let Some((backend, options)) = &self.backend else {
            return Err(Error::new(ErrorKind::Usage(
                "the session has no target backend to convert to".into(),
            ))
            .hint("build the session with `.target(NAME)`"));
        };
        let has_correlation = batch
            .entries
            .iter()
            .any(|e| matches!(e.doc, Ok(ir::Document::Correlation(_))));
        let index = if has_correlation {
            batch.rule_index()
        } else {
            HashMap::new()
        };
        // Handles of the batch's correlations: a correlation over them is refused by name.
        let correlations: HashSet<&str> = batch
            .entries
            .iter()
            .filter_map(|e| match &e.doc {
                Ok(ir::Document::Correlation(c)) => {
                    Some(c.meta.id.iter().chain(c.meta.name.iter()))
                }
                Ok(ir::Document::Rule(_) | ir::Document::Filter(_) | ir::Document::Sequence(_))
                | Err(_) => None,
            })
            .flatten()
            .map(String::as_str)
            .collect();
        Ok(batch
            .entries
            .par_iter()
            .filter_map(|entry| {
                let outcome =
                    self.convert_entry(backend, options, (&index, &correlations), entry)?;
                Some(Item { entry, outcome })
            })
            .collect())
    }

    fn convert_entry(
        &self,
        backend: &Backend,
        options: &Options,
        (index, correlations): (&HashMap<&str, &ir::Rule>, &HashSet<&str>),
        entry: &Entry,
    ) -> Option<Outcome> {
        Some(match &entry.doc {
            // An Elastic rule of a kind the IR cannot hold yet is refused by name: unsupported.
            Err(Failure::Load(e)) => Outcome::of(Err(e.clone()), &entry.path),
            Err(Failure::Pipeline(e)) => Outcome::of(Err(e.clone()), &entry.path),
            Ok(ir::Document::Rule(rule)) => {
                let converted = backend.convert(rule, options).and_then(|mut c| {
                    for p in pipeline::ordered(&self.pipelines) {
                        c.queries = c
                            .queries
                            .into_iter()
                            .map(|q| p.postprocess(rule, q))
                            .collect::<Result<_>>()?;
                    }
                    Ok(c)
                });
                let converted = match &self.verifier {
                    Some(v) => converted.and_then(|c| v.rule(rule, backend.name(), c)),
                    None => converted,
                };
                Outcome::of(converted, &entry.path)
            }
            Ok(ir::Document::Correlation(corr)) => {
                let rules: Result<Vec<&ir::Rule>> = corr
                    .rules
                    .iter()
                    .map(|r| {
                        if correlations.contains(r.as_str()) {
                            return Err(Error::new(ErrorKind::Unsupported {
                                target: backend.name().to_string(),
                                what: format!("a correlation over correlations (`{r}`)"),
                            })
                            .at("correlation.rules"));
                        }
                        index.get(r.as_str()).copied().ok_or_else(|| {
                            Error::new(ErrorKind::InvalidCorrelation(format!(
                                "rule `{r}` is not among the converted rules"
                            )))
                            .at("correlation.rules")
                            .hint("convert the correlated rules in the same run")
                        })
                    })
                    .collect();
                let converted =
                    rules.and_then(|rules| backend.convert_correlation(corr, &rules, options));
                Outcome::of(
                    self.not_decided("a correlation", backend, converted),
                    &entry.path,
                )
            }
            Ok(ir::Document::Sequence(seq)) => {
                let converted = backend.convert_sequence(seq, options);
                Outcome::of(
                    self.not_decided("a sequence", backend, converted),
                    &entry.path,
                )
            }
            // Applied to the rules they cover when the batch was loaded: nothing to convert.
            Ok(ir::Document::Filter(_)) => return None,
        })
    }

    /// A converted correlation or sequence under `--verify`: not decided.
    fn not_decided(
        &self,
        what: &str,
        backend: &Backend,
        converted: Result<Conversion>,
    ) -> Result<Conversion> {
        match &self.verifier {
            Some(v) => converted.and_then(|c| v.not_decided(what, backend.name(), c)),
            None => converted,
        }
    }

    /// The output of the whole batch in the plain text form: the queries one per line, or
    /// joined by a pipeline's finalizer (e.g. `concat`) when one has one.
    #[must_use]
    pub fn finalize(&self, items: &[Item<'_>]) -> Option<String> {
        let queries: Vec<String> = items
            .iter()
            .filter_map(|it| match &it.outcome {
                Outcome::Converted(c) => Some(c.queries.clone()),
                Outcome::Unsupported(_) | Outcome::Failed(_) => None,
            })
            .flatten()
            .collect();
        pipeline::ordered(&self.pipelines)
            .into_iter()
            .find_map(|p| p.finalize(&queries))
    }
}

/// Whether a path names a detection-rules TOML file.
fn is_toml(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Reads every rule file of `paths`: folders are walked (sorted) for Sigma YAML (`.yml`,
/// `.yaml`: the front end, filters applied) and Elastic detection-rules TOML (`.toml`: the
/// readers; a rule becomes its documents ([`read::lower_document`]: a rule, a sequence, or a
/// threshold rule's query and correlation, with the readers' warnings), or a located error,
/// refused by name when the IR cannot hold it yet); a file given itself is read by its extension, YAML
/// unless `.toml`. Sigma files come first, in walk order, then the TOML files, in walk
/// order; both are read in parallel.
#[must_use]
pub fn load_documents(paths: &[PathBuf]) -> Vec<(PathBuf, sigma::Loaded)> {
    let mut yaml = Vec::new();
    let mut toml = Vec::new();
    for p in paths {
        if p.is_dir() {
            // One walk for both kinds, sorted as `sigma::collect_files` sorts a folder.
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .follow_links(true)
                .into_iter()
                .filter_map(std::result::Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(walkdir::DirEntry::into_path)
                .filter(|f| is_toml(f) || sigma::is_yaml(f))
                .collect();
            found.sort();
            let (t, y): (Vec<PathBuf>, Vec<PathBuf>) = found.into_iter().partition(|f| is_toml(f));
            toml.extend(t);
            yaml.extend(y);
        } else if is_toml(p) {
            toml.push(p.clone());
        } else {
            yaml.push(p.clone());
        }
    }
    let mut loaded = if yaml.is_empty() {
        Vec::new()
    } else {
        sigma::load_paths_with_warnings(&yaml)
    };
    let elastic: Vec<(PathBuf, sigma::Loaded)> = toml
        .into_par_iter()
        .map(|f| {
            let (documents, warnings) =
                match read::read_file(&f).and_then(read::lower_document_with_warnings) {
                    Ok((docs, warnings)) => (
                        docs.into_iter().map(Ok).collect(),
                        warnings
                            .into_iter()
                            .map(|warning| sigma::SourceWarning {
                                document: Some(0),
                                warning,
                            })
                            .collect(),
                    ),
                    Err(e) => (vec![Err(e)], Vec::new()),
                };
            let l = sigma::Loaded {
                documents,
                warnings,
            };
            (f, l)
        })
        .collect();
    loaded.extend(elastic);
    loaded
}
