//! `sigmat convert -t BACKEND [-f FORMAT] [-o FILE|DIR] [-O key=value]... PATH...`: rules to
//! queries, in parallel, in a deterministic order; one bad rule never stops the run.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use rayon::prelude::*;

use crate::error::{Error, ErrorKind};
use crate::ir;
use crate::pipeline::{self, Pipeline};
use crate::publish;
use crate::render::{Backend, Conversion, Library, Options};
use crate::sigma;

/// Output formats of `convert`. Adding one: a variant here, its description in
/// [`Format::describe`], its file extension in [`Format::extension`] and its text in
/// [`Format::write_item`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The queries as text, one per line.
    Default,
    /// One JSON object per rule: path, id, title, backend, queries, warnings or error.
    Jsonl,
    /// Elastic detection-rules TOML, one file per rule (eql, kql, lucene, esql).
    ElasticToml,
    /// Kibana detection-engine rule objects, one JSON per line (eql, kql, lucene, esql).
    KibanaNdjson,
}

impl Format {
    /// Every format, for `sigmat list formats`.
    pub const ALL: &'static [Format] = &[
        Format::Default,
        Format::Jsonl,
        Format::ElasticToml,
        Format::KibanaNdjson,
    ];

    /// The name on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::Default => "default",
            Format::Jsonl => "jsonl",
            Format::ElasticToml => "elastic-toml",
            Format::KibanaNdjson => "kibana-ndjson",
        }
    }

    /// One line for `sigmat list formats`.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Format::Default => "the queries as text, one per line",
            Format::Jsonl => {
                "one JSON object per rule: path, id, title, backend, queries and warnings, or error {kind, message}"
            }
            Format::ElasticToml => {
                "Elastic detection-rules TOML, one file per rule under -o DIR/<os>/ (eql, kql, lucene, esql)"
            }
            Format::KibanaNdjson => {
                "Kibana detection-engine rule objects for the import API, one JSON per line (eql, kql, lucene, esql)"
            }
        }
    }

    /// File extension when writing one file per rule into a directory.
    fn extension(self, backend: &str) -> String {
        match self {
            Format::Default => backend.to_string(),
            Format::Jsonl => "jsonl".to_string(),
            Format::ElasticToml => "toml".to_string(),
            Format::KibanaNdjson => "ndjson".to_string(),
        }
    }

    /// Appends one rule's output.
    fn write_item(self, out: &mut String, item: &Item, backend: &str) {
        match self {
            Format::Default => {
                if let Outcome::Converted(c) = &item.outcome {
                    for q in &c.queries {
                        out.push_str(q);
                        out.push('\n');
                    }
                }
            }
            Format::Jsonl => {
                let mut obj = serde_json::json!({
                    "path": item.path.display().to_string(),
                    "id": item.id,
                    "title": item.title,
                    "backend": backend,
                });
                match &item.outcome {
                    Outcome::Converted(c) => {
                        obj["queries"] = serde_json::json!(c.queries);
                        obj["warnings"] = serde_json::json!(c.warnings);
                    }
                    Outcome::Unsupported(e) | Outcome::Failed(e) => {
                        obj["error"] = serde_json::json!({
                            "kind": e.kind.code(),
                            "message": e.kind.to_string(),
                            "location": e.location,
                            "hint": e.hint,
                        });
                    }
                }
                let _ = writeln!(out, "{obj}");
            }
            // Written from the rule itself by `elastic_out`, never item by item.
            Format::ElasticToml | Format::KibanaNdjson => {}
        }
    }

    /// The Elastic output format this format stands for, if it is one.
    #[must_use]
    pub fn publish_format(self) -> Option<publish::Format> {
        match self {
            Format::Default | Format::Jsonl => None,
            Format::ElasticToml => Some(publish::Format::ElasticToml),
            Format::KibanaNdjson => Some(publish::Format::KibanaNdjson),
        }
    }
}

/// Arguments of `sigmat convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The backend (`sigmat list backends`).
    #[arg(short = 't', long = "target")]
    pub target: String,
    /// Processing pipeline applied before rendering: a built-in name or a pySigma pipeline
    /// YAML file (repeatable; pipelines run by priority, then the backend's own pipeline).
    #[arg(short = 'p', long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Default)]
    pub format: Format,
    /// Write to this file, or into this directory one file per rule (an existing directory, or
    /// a path ending with `/`); missing folders are created, every file is written atomically.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Backend option `key=value` (`sigmat list backends` shows them).
    #[arg(short = 'O', long = "option", value_parser = parse_option)]
    pub options: Vec<(String, String)>,
    /// Do not count rules the backend cannot express as a failure (exit status).
    #[arg(short = 's', long)]
    pub skip_unsupported: bool,
    /// Load more backends (`DIR/*.yml`) and templates (`DIR/templates/`), overriding built-ins.
    #[arg(long)]
    pub backend_dir: Option<PathBuf>,
    /// Sigma files or folders (walked for `.yml` / `.yaml`).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

fn parse_option(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("expected key=value, found `{s}`"))
}

/// What happened to one document.
#[derive(Debug)]
pub enum Outcome {
    /// Converted.
    Converted(Conversion),
    /// The backend cannot express it (or it needs a pipeline's values).
    Unsupported(Error),
    /// The rule is invalid, or the backend is broken.
    Failed(Error),
}

impl Outcome {
    /// The outcome of a conversion of a document of `file`. A backend that cannot express the
    /// rule, a placeholder without a value and a pipeline's `rule_failure` /
    /// `detection_item_failure` (the rule is out of its scope) are counted as unsupported;
    /// anything else as failed.
    fn of(converted: Result<Conversion, Error>, file: String) -> Self {
        match converted {
            Ok(c) => Outcome::Converted(c),
            Err(e) => {
                let e = e.in_file(file);
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

/// One converted (or not) document.
#[derive(Debug)]
pub struct Item {
    /// The file.
    pub path: PathBuf,
    /// Index of the document in the file.
    pub document: usize,
    /// Rule id.
    pub id: Option<String>,
    /// Rule title.
    pub title: Option<String>,
    /// The outcome.
    pub outcome: Outcome,
    /// The rule after the pipelines, for a converted rule document (what the Elastic formats
    /// publish, so the pipelines run once per rule); `None` for everything else.
    pub rule: Option<ir::Rule>,
}

/// What converts the documents of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Converter<'a> {
    /// The backend.
    pub backend: &'a Backend,
    /// The pipelines, the backend's own included.
    pub pipelines: &'a [Pipeline],
    /// The backend options.
    pub options: &'a Options,
    /// The batch's rules, for correlation rules to refer to.
    pub correlated: &'a RuleIndex,
    /// Keep each converted rule as the pipelines left it in [`Item::rule`] (the Elastic
    /// formats publish it).
    pub keep_rules: bool,
}

impl Converter<'_> {
    /// Converts one loaded document after running the pipelines over it; `None` for filter
    /// documents (already applied by the loader).
    #[must_use]
    pub fn convert_document(
        &self,
        path: &Path,
        document: usize,
        doc: &Result<ir::Document, Error>,
    ) -> Option<Item> {
        let file = path.display().to_string();
        let item = |meta: Option<&ir::Meta>, outcome, rule| Item {
            path: path.to_path_buf(),
            document,
            id: meta.and_then(|m| m.id.clone()),
            title: meta.map(|m| m.title.clone()),
            outcome,
            rule,
        };
        match doc {
            Err(e) => Some(item(None, Outcome::Failed(e.clone().in_file(file)), None)),
            Ok(ir::Document::Filter(_)) => None,
            Ok(ir::Document::Correlation(c)) => {
                let converted = convert_correlation(
                    self.backend,
                    self.pipelines,
                    self.options,
                    self.correlated,
                    c,
                );
                Some(item(Some(&c.meta), Outcome::of(converted, file), None))
            }
            Ok(ir::Document::Rule(r)) => {
                let (rule, converted) = convert_rule(self.backend, self.pipelines, self.options, r);
                let outcome = Outcome::of(converted, file);
                let keep = self.keep_rules && matches!(outcome, Outcome::Converted(_));
                Some(item(
                    Some(&r.meta),
                    outcome,
                    keep.then(|| rule.into_owned()),
                ))
            }
        }
    }
}

/// Runs `pipelines` over a copy of `rule` (none is made without pipelines), renders it and
/// post-processes the queries. Returns the rule as the pipelines left it with the conversion.
fn convert_rule<'r>(
    backend: &Backend,
    pipelines: &[Pipeline],
    options: &Options,
    rule: &'r ir::Rule,
) -> (Cow<'r, ir::Rule>, Result<Conversion, Error>) {
    if pipelines.is_empty() {
        return (Cow::Borrowed(rule), backend.convert(rule, options));
    }
    let mut rule = rule.clone();
    let converted = pipeline::apply(pipelines, &mut rule)
        .and_then(|()| backend.convert(&rule, options))
        .and_then(|mut c| {
            for p in pipeline::ordered(pipelines) {
                c.queries = c
                    .queries
                    .into_iter()
                    .map(|q| p.postprocess(&rule, q))
                    .collect::<Result<_, _>>()?;
            }
            Ok(c)
        });
    (Cow::Owned(rule), converted)
}

/// The batch's rules by id and by name, pipelines applied, for correlation rules to refer to.
pub type RuleIndex = HashMap<String, ir::Rule>;

/// Indexes the rules of `jobs` (after `pipelines`) when the batch holds a correlation rule.
fn rule_index(
    jobs: &[(&Path, usize, &Result<ir::Document, Error>)],
    pipelines: &[Pipeline],
) -> RuleIndex {
    let mut index = RuleIndex::new();
    if !jobs
        .iter()
        .any(|(_, _, d)| matches!(d, Ok(ir::Document::Correlation(_))))
    {
        return index;
    }
    for (_, _, d) in jobs {
        if let Ok(ir::Document::Rule(r)) = d {
            let mut rule = r.clone();
            if pipeline::apply(pipelines, &mut rule).is_err() {
                continue;
            }
            for key in rule.meta.id.iter().chain(rule.meta.name.iter()) {
                index.insert(key.clone(), rule.clone());
            }
        }
    }
    index
}

fn convert_correlation(
    backend: &Backend,
    pipelines: &[Pipeline],
    options: &Options,
    index: &RuleIndex,
    corr: &ir::Correlation,
) -> Result<Conversion, Error> {
    let mut corr = corr.clone();
    pipeline::apply_correlation(pipelines, &mut corr)?;
    let mut rules = Vec::with_capacity(corr.rules.len());
    for r in &corr.rules {
        let rule = index.get(r).ok_or_else(|| {
            Error::new(ErrorKind::InvalidCorrelation(format!(
                "rule `{r}` is not among the converted rules"
            )))
            .at("correlation.rules")
            .hint("convert the correlated rules in the same run")
        })?;
        rules.push(rule);
    }
    backend.convert_correlation(&corr, &rules, options)
}

/// Runs `convert`; exit status 0 when everything converted (unsupported rules allowed with
/// `--skip-unsupported`), 1 otherwise, 2 on a usage error.
#[must_use]
pub fn run(args: &ConvertArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", e.render());
            2
        }
    }
}

fn run_inner(args: &ConvertArgs) -> Result<i32, Error> {
    let mut lib = Library::builtin();
    if let Some(dir) = &args.backend_dir {
        lib = lib.with_dir(dir)?;
    }
    let backend = lib.backend(&args.target)?;
    let options: Options = args.options.iter().cloned().collect();
    backend.options(&options)?;
    let publish = match args.format.publish_format() {
        Some(f) => Some((f, super::elastic_out::target_for(f, &lib, &backend)?)),
        None => None,
    };
    let mut pipelines = Vec::new();
    for p in &args.pipelines {
        pipelines.push(Pipeline::load(p)?);
    }
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

    let loaded = sigma::load_paths(&args.paths);
    if loaded.is_empty() {
        return Err(Error::new(ErrorKind::Usage(
            "no Sigma files found in the given paths".into(),
        )));
    }
    let jobs: Vec<(&Path, usize, &Result<ir::Document, Error>)> = loaded
        .iter()
        .flat_map(|(p, docs)| {
            docs.iter()
                .enumerate()
                .map(move |(i, d)| (p.as_path(), i, d))
        })
        .collect();
    let correlated = rule_index(&jobs, &pipelines);
    let converter = Converter {
        backend: &backend,
        pipelines: &pipelines,
        options: &options,
        correlated: &correlated,
        keep_rules: publish.is_some(),
    };
    let items: Vec<Item> = jobs
        .par_iter()
        .filter_map(|(p, i, d)| converter.convert_document(p, *i, d))
        .collect();

    let (mut converted, mut unsupported, mut failed) = (0usize, 0usize, 0usize);
    let mut report = String::new();
    for it in &items {
        match &it.outcome {
            Outcome::Converted(c) => {
                converted += 1;
                for w in &c.warnings {
                    let _ = writeln!(report, "warning: {}: {}", it.path.display(), w.message);
                }
            }
            Outcome::Unsupported(e) => {
                unsupported += 1;
                let _ = writeln!(report, "{}", e.render());
            }
            Outcome::Failed(e) => {
                failed += 1;
                let _ = writeln!(report, "{}", e.render());
            }
        }
    }
    let _ = std::io::stderr().lock().write_all(report.as_bytes());

    if let Some((format, target)) = publish {
        failed += super::elastic_out::write(args, format, &target, &items)?;
        eprintln!("converted {converted}, unsupported {unsupported}, failed {failed}");
        return Ok(i32::from(
            failed > 0 || (unsupported > 0 && !args.skip_unsupported),
        ));
    }

    let name = backend.name();
    if let Some(o) = &args.output {
        // `-o DIR/` names a directory that may not exist yet.
        let s = o.as_os_str().to_string_lossy();
        if (s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR)) && !o.is_dir() {
            std::fs::create_dir_all(o)
                .map_err(|e| Error::new(ErrorKind::Io(format!("{}: {e}", o.display()))))?;
        }
    }
    match &args.output {
        Some(dir) if dir.is_dir() => {
            for it in &items {
                if !matches!(it.outcome, Outcome::Converted(_)) && args.format == Format::Default {
                    continue;
                }
                let mut text = String::new();
                args.format.write_item(&mut text, it, name);
                let stem = it
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "rule".into());
                let file = if it.document == 0 {
                    format!("{stem}.{}", args.format.extension(name))
                } else {
                    format!("{stem}-{}.{}", it.document, args.format.extension(name))
                };
                publish::write_atomic(&dir.join(file), &text)?;
            }
        }
        Some(file) => {
            publish::write_atomic(file, &batch_text(args.format, &items, name, &pipelines))?;
        }
        None => {
            let text = batch_text(args.format, &items, name, &pipelines);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Error::new(ErrorKind::Io(format!("stdout: {e}"))))?;
        }
    }

    eprintln!("converted {converted}, unsupported {unsupported}, failed {failed}");
    Ok(i32::from(
        failed > 0 || (unsupported > 0 && !args.skip_unsupported),
    ))
}

/// The output of the whole batch; in the default format a pipeline's finalizer (e.g. `concat`)
/// may join the queries.
fn batch_text(format: Format, items: &[Item], backend: &str, pipelines: &[Pipeline]) -> String {
    if format == Format::Default {
        let queries: Vec<String> = items
            .iter()
            .filter_map(|it| match &it.outcome {
                Outcome::Converted(c) => Some(c.queries.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        if let Some(joined) = pipeline::ordered(pipelines)
            .into_iter()
            .find_map(|p| p.finalize(&queries))
        {
            return joined + "\n";
        }
    }
    let mut text = String::new();
    for it in items {
        format.write_item(&mut text, it, backend);
    }
    text
}
