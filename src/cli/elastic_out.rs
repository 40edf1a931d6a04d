//! The Elastic output formats of `sigmat convert`: `-f elastic-toml` (one detection-rules TOML
//! file per rule under `-o DIR/<os>/`) and `-f kibana-ndjson` (Kibana rule objects, one per
//! line, to stdout or `-o FILE.ndjson` / `-o DIR/rules.ndjson`). The rules' queries come from
//! the backend; this file hands each converted rule and its query to [`crate::publish`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, ErrorKind};
use crate::ir::{self, Document};
use crate::publish::{self, Options, Publisher, QueryLanguage, Sink, Target as Rules};
use crate::render::{Backend, Conversion, Elastic, ElasticLanguage, Library};
use crate::session::{Item, Outcome};

/// The Elastic rule a backend's queries make (its file's `elastic:` section), or a usage error
/// naming the backends that declare one (the built-ins, and those of `backend_dir`).
///
/// # Errors
/// [`ErrorKind::Usage`] for a backend without `elastic:`.
pub fn rules_for(
    format: publish::Format,
    backend: &Backend,
    backend_dir: Option<&Path>,
) -> Result<Rules, Error> {
    if let Some(e) = &backend.file().elastic {
        return Ok(target_of(e));
    }
    let mut lib = Library::builtin();
    if let Some(dir) = backend_dir {
        lib = lib.with_dir(dir)?;
    }
    let elastic: Vec<String> = lib
        .declared_names()
        .into_iter()
        .filter(|n| lib.file(n).is_ok_and(|f| f.elastic.is_some()))
        .map(|n| format!("-t {n}"))
        .collect();
    let choices = match elastic.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "a backend whose file declares one".to_string(),
    };
    Err(Error::new(ErrorKind::Usage(format!(
        "format `{format}` needs an Elastic query language, but backend `{}` is not one \
         (its file has no `elastic.language`)",
        backend.name()
    )))
    .hint(format!(
        "use {choices}, or declare `elastic: {{language: ...}}` in the backend file \
         (backends/README.md)"
    )))
}

/// The publish stage's view of a backend file's `elastic:` section.
#[must_use]
pub fn target_of(e: &Elastic) -> Rules {
    let language = match e.language {
        ElasticLanguage::Eql => QueryLanguage::Eql,
        ElasticLanguage::Kuery => QueryLanguage::Kuery,
        ElasticLanguage::Lucene => QueryLanguage::Lucene,
        ElasticLanguage::Esql => QueryLanguage::Esql,
    };
    Rules {
        language,
        index: e.index.clone(),
    }
}

/// The converted rules of `items` by id and by name.
fn rules_by_handle<'i>(items: &'i [Item<'_>]) -> HashMap<&'i str, (&'i ir::Rule, &'i str)> {
    let mut out = HashMap::new();
    for it in items {
        if let (Outcome::Converted(c), Some(rule)) = (&it.outcome, it.rule()) {
            if let [query] = c.queries.as_slice() {
                for h in [&rule.meta.id, &rule.meta.name].into_iter().flatten() {
                    out.insert(h.as_str(), (rule, query.as_str()));
                }
            }
        }
    }
    out
}

/// Correlations become threshold rules where Elastic has them (`publish::threshold_of`): the
/// outcome of each correlation item is set to its one rule's query (as converted), or to the
/// reason no threshold rule holds it; a correlation whose rule did not convert keeps its outcome.
pub fn thresholds(items: &mut [Item<'_>], rules: &Rules) {
    let queries: HashMap<String, String> = rules_by_handle(items)
        .into_iter()
        .map(|(h, (_, q))| (h.to_string(), q.to_string()))
        .collect();
    for it in items.iter_mut() {
        let Ok(Document::Correlation(corr)) = &it.entry.doc else {
            continue;
        };
        let Some(query) = corr.rules.first().and_then(|r| queries.get(r)) else {
            continue;
        };
        it.outcome = match publish::threshold_of(corr, rules.language) {
            Ok(_) => Outcome::Converted(Conversion {
                queries: vec![query.clone()],
                warnings: Vec::new(),
            }),
            Err(e) => Outcome::Unsupported(e.in_file(it.entry.path.display().to_string())),
        };
    }
}

/// Where and how the converted rules of a batch are published.
#[derive(Debug)]
pub struct Target<'a> {
    /// `elastic-toml` or `kibana-ndjson`.
    pub format: publish::Format,
    /// The backend's Elastic query language and index patterns.
    pub rules: Rules,
    /// `-o`: a folder (TOML) or a file / folder (NDJSON); stdout when absent.
    pub output: Option<&'a Path>,
    /// `--backend-dir DIR/templates`, overriding the built-in format templates.
    pub template_dir: Option<PathBuf>,
}

impl Target<'_> {
    /// Publishes every converted rule of `items` and writes the output. Returns how many
    /// converted rules could not be published (each reported on stderr). Each item carries
    /// its rule as the pipelines left it, so the output sees the pipelines' state (`index`,
    /// `integration`).
    ///
    /// # Errors
    /// A usage error for an `-o` that cannot hold the output, an unreadable template folder,
    /// or a failed write.
    pub fn write(&self, items: &[Item<'_>]) -> Result<usize, Error> {
        let format = self.format;
        let publisher = match &self.template_dir {
            Some(dir) => Publisher::with_template_dir(dir)?,
            None => Publisher::new(),
        };
        if format == publish::Format::ElasticToml {
            if let Some(out) = self.output.filter(|o| o.exists() && !o.is_dir()) {
                return Err(Error::new(ErrorKind::Usage(format!(
                    "-f elastic-toml writes one file per rule: -o must be a directory, `{}` is a file",
                    out.display()
                ))));
            }
        }
        let opts = Options::default();
        let bases = rules_by_handle(items);
        let results: Vec<(&Item<'_>, Result<publish::Published, Error>)> = items
            .par_iter()
            .filter_map(|it| {
                let Outcome::Converted(c) = &it.outcome else {
                    return None;
                };
                let file = it.entry.path.display().to_string();
                if let Ok(Document::Correlation(corr)) = &it.entry.doc {
                    let (base, query) = corr.rules.first().and_then(|r| bases.get(r.as_str()))?;
                    let res =
                        publisher.publish_threshold(format, corr, base, query, &self.rules, &opts);
                    return Some((it, res.map_err(|e| e.in_file(file))));
                }
                // A sequence is published as an EQL rule with the sequence's metadata.
                let rule = match (it.rule(), &it.entry.doc) {
                    (Some(r), _) => std::borrow::Cow::Borrowed(r),
                    (None, Ok(crate::ir::Document::Sequence(s))) => {
                        std::borrow::Cow::Owned(crate::ir::Rule {
                            meta: s.meta.clone(),
                            logsource: crate::ir::LogSource::default(),
                            conditions: Vec::new(),
                            state: indexmap::IndexMap::new(),
                            applied: Vec::new(),
                            origin: s.origin.clone(),
                        })
                    }
                    (
                        None,
                        Ok(Document::Rule(_) | Document::Correlation(_) | Document::Filter(_))
                        | Err(_),
                    ) => return None,
                };
                let rule = rule.as_ref();
                let res = match c.queries.as_slice() {
                    [query] => publisher.publish(format, rule, query, &self.rules, &opts),
                    _ => Err(Error::new(ErrorKind::Unsupported {
                        target: format.name().to_string(),
                        what: format!(
                            "a rule with {} conditions (an Elastic rule holds one query)",
                            c.queries.len()
                        ),
                    })),
                };
                Some((it, res.map_err(|e| e.in_file(file))))
            })
            .collect();

        let mut sink = Sink::new(format, self.output.map(Path::to_path_buf));
        let mut failed = 0;
        for (it, res) in results {
            let path = it.entry.path.display();
            match res {
                Ok(p) => {
                    for w in &p.warnings {
                        match &w.at {
                            Some(at) => eprintln!("warning: {path} ({at}): {}", w.message),
                            None => eprintln!("warning: {path}: {}", w.message),
                        }
                    }
                    sink.push(&p)?;
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("{}", e.render());
                }
            }
        }
        let mut stdout = std::io::stdout().lock();
        let written: Vec<PathBuf> = sink.finish(&mut stdout)?;
        if !written.is_empty() {
            eprintln!("wrote {} file(s)", written.len());
        }
        Ok(failed)
    }
}
