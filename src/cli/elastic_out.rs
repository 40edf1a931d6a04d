//! The Elastic output formats of `sigmat convert`: `-f elastic-toml` (one detection-rules TOML
//! file per rule under `-o DIR/<os>/`) and `-f kibana-ndjson` (Kibana rule objects, one per
//! line, to stdout or `-o FILE.ndjson` / `-o DIR/rules.ndjson`). The rules' queries come from
//! the backend; this file hands each converted rule and its query to [`crate::publish`].

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, ErrorKind};
use crate::publish::{self, Options, Publisher, QueryLanguage, Sink};
use crate::session::{Item, Outcome};

/// The query language of a backend, or a usage error naming the backends Elastic can run.
///
/// # Errors
/// [`ErrorKind::Usage`] for a backend other than eql, kql, lucene or esql.
pub fn language_for(format: publish::Format, backend: &str) -> Result<QueryLanguage, Error> {
    QueryLanguage::from_backend(backend).ok_or_else(|| {
        Error::new(ErrorKind::Usage(format!(
            "format `{format}` needs an Elastic query language, but backend `{backend}` is not one"
        )))
        .hint("use -t eql, -t kql, -t lucene or -t esql")
    })
}

/// Where and how the converted rules of a batch are published.
#[derive(Debug)]
pub struct Target<'a> {
    /// `elastic-toml` or `kibana-ndjson`.
    pub format: publish::Format,
    /// The backend's Elastic query language.
    pub language: QueryLanguage,
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
        let results: Vec<(&Item<'_>, Result<publish::Published, Error>)> = items
            .par_iter()
            .filter_map(|it| {
                let (Outcome::Converted(c), Some(rule)) = (&it.outcome, it.rule()) else {
                    return None;
                };
                let file = it.entry.path.display().to_string();
                let res = match c.queries.as_slice() {
                    [query] => publisher.publish(format, rule, query, self.language, &opts),
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
