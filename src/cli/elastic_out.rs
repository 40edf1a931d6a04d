//! The Elastic output formats of `sigmat convert`: `-f elastic-toml` (one detection-rules TOML
//! file per rule under `-o DIR/<os>/`) and `-f kibana-ndjson` (Kibana rule objects, one per
//! line, to stdout or `-o FILE.ndjson` / `-o DIR/rules.ndjson`). The rules' queries come from
//! the backend; this file hands each converted rule and its query to [`crate::publish`].

use std::path::PathBuf;

use rayon::prelude::*;

use crate::error::{Error, ErrorKind};
use crate::publish::{self, Options, Publisher, QueryLanguage, Sink, Target};
use crate::render::{Backend, Elastic, ElasticLanguage, Library};

use super::convert::{ConvertArgs, Item, Outcome};

/// The Elastic rule a backend's queries make (its file's `elastic:` section), or a usage error
/// naming the backends of `lib` that declare one.
///
/// # Errors
/// [`ErrorKind::Usage`] for a backend without `elastic:`.
pub fn target_for(
    format: publish::Format,
    lib: &Library,
    backend: &Backend,
) -> Result<Target, Error> {
    if let Some(e) = &backend.file().elastic {
        return Ok(target_of(e));
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
pub fn target_of(e: &Elastic) -> Target {
    let language = match e.language {
        ElasticLanguage::Eql => QueryLanguage::Eql,
        ElasticLanguage::Kuery => QueryLanguage::Kuery,
        ElasticLanguage::Lucene => QueryLanguage::Lucene,
        ElasticLanguage::Esql => QueryLanguage::Esql,
    };
    Target {
        language,
        index: e.index.clone(),
    }
}

/// Publishes every converted rule of `items` and writes the output. Returns how many
/// converted rules could not be published (each reported on stderr). Each item carries its
/// rule as the pipelines left it, so the output sees the pipelines' state (`index`,
/// `integration`).
///
/// # Errors
/// A usage error for an `-o` that cannot hold the output, an unreadable template folder, or a
/// failed write.
pub fn write(
    args: &ConvertArgs,
    format: publish::Format,
    target: &Target,
    items: &[Item],
) -> Result<usize, Error> {
    let publisher = match &args.backend_dir {
        Some(dir) => Publisher::with_template_dir(&dir.join("templates"))?,
        None => Publisher::new(),
    };
    if format == publish::Format::ElasticToml {
        if let Some(out) = args.output.as_deref().filter(|o| o.exists() && !o.is_dir()) {
            return Err(Error::new(ErrorKind::Usage(format!(
                "-f elastic-toml writes one file per rule: -o must be a directory, `{}` is a file",
                out.display()
            ))));
        }
    }
    let opts = Options::default();
    let results: Vec<(&Item, Result<publish::Published, Error>)> = items
        .par_iter()
        .filter_map(|it| {
            let (Outcome::Converted(c), Some(rule)) = (&it.outcome, &it.rule) else {
                return None;
            };
            let file = it.path.display().to_string();
            let res = match c.queries.as_slice() {
                [query] => publisher.publish(format, rule, query, target, &opts),
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

    let mut sink = Sink::new(format, args.output.clone());
    let mut failed = 0;
    for (it, res) in results {
        match res {
            Ok(p) => {
                for w in &p.warnings {
                    match &w.at {
                        Some(at) => {
                            eprintln!("warning: {} ({at}): {}", it.path.display(), w.message);
                        }
                        None => eprintln!("warning: {}: {}", it.path.display(), w.message),
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
