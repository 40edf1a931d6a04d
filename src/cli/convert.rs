//! `sigmat convert -t BACKEND [-f FORMAT] [-o FILE|DIR] [-O key=value]... PATH...`: rules to
//! queries, in parallel, in a deterministic order; one bad rule never stops the run.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::error::{Error, ErrorKind};
use crate::output;
use crate::publish;
use crate::session::{Item, Outcome, Session, Verify};

/// Output formats of `convert`. Adding one: a variant here, its description in
/// [`Format::describe`], its file extension in `Format::extension` and its text in
/// `Format::write_item`.
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
    /// SARIF 2.1.0 (code scanning): the batch's problems, not its queries.
    Sarif,
}

impl Format {
    /// Every format, for `sigmat list formats`.
    pub const ALL: &'static [Format] = &[
        Format::Default,
        Format::Jsonl,
        Format::ElasticToml,
        Format::KibanaNdjson,
        Format::Sarif,
    ];

    /// The name on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::Default => "default",
            Format::Jsonl => "jsonl",
            Format::ElasticToml => "elastic-toml",
            Format::KibanaNdjson => "kibana-ndjson",
            Format::Sarif => "sarif",
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
            Format::Sarif => {
                "SARIF 2.1.0 for code scanning: one result per failed, unsupported or warned rule, located in its file"
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
            Format::Sarif => "sarif".to_string(),
        }
    }

    /// Appends one rule's output.
    fn write_item(self, out: &mut String, item: &Item<'_>, backend: &str) {
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
                    "path": item.entry.path.display().to_string(),
                    "id": item.entry.id,
                    "title": item.entry.title,
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
            // Written from the whole batch (`sarif_text`), never item by item.
            Format::ElasticToml | Format::KibanaNdjson | Format::Sarif => {}
        }
    }

    /// The Elastic output format this format stands for, if it is one.
    #[must_use]
    pub fn publish_format(self) -> Option<publish::Format> {
        match self {
            Format::Default | Format::Jsonl | Format::Sarif => None,
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
    /// List every rule a warning concerns (by default: its count and a few rules per kind).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Do not list skipped rules one by one (failures, warnings and the summary still show).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Load more backends (`DIR/*.yml`) and templates (`DIR/templates/`), overriding built-ins.
    #[arg(long)]
    pub backend_dir: Option<PathBuf>,
    /// Translation validation: read each query back with sigmat's reader of the target's
    /// language and decide it against the rule after pipelines (verify applies to eql and
    /// kql; `sigmat diff`'s decision procedure). A query not proven equivalent gets a warning
    /// (`warn`, the default: the relation and a witness event, or "not proven" and why);
    /// `strict` refuses such rules instead (counted as unsupported; `unknown` and unreadable
    /// queries are refused too: strict means proven).
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "warn"
    )]
    pub verify: Option<VerifyMode>,
    /// Decisions `--verify` may take per region of one rule before answering "not proven"
    /// (the budget of `sigmat diff`'s search).
    #[arg(long, value_name = "N", requires = "verify")]
    pub verify_budget: Option<usize>,
    /// Sigma files or folders (walked for `.yml` / `.yaml`).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// `--verify=MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyMode {
    /// A warning on each rule whose query is not proven equivalent.
    Warn,
    /// Refuse each rule whose query is not proven equivalent.
    Strict,
}

impl VerifyMode {
    fn session(self) -> Verify {
        match self {
            VerifyMode::Warn => Verify::Warn,
            VerifyMode::Strict => Verify::Strict,
        }
    }
}

fn parse_option(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("expected key=value, found `{s}`"))
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
    let mut builder = Session::builder()
        .target(&args.target)
        .pipelines(&args.pipelines)
        .backend_dir(args.backend_dir.clone())
        .verify(args.verify.map(VerifyMode::session))
        .verify_budget(args.verify_budget);
    for (k, v) in &args.options {
        builder = builder.option(k, v);
    }
    let session = builder.build()?;
    let backend = session
        .backend()
        .expect("a session built with a target has a backend");
    let publish = match args.format.publish_format() {
        Some(f) => Some((
            f,
            super::elastic_out::rules_for(f, backend, args.backend_dir.as_deref())?,
        )),
        None => None,
    };

    let batch = session.load(&args.paths);
    if batch.files == 0 {
        return Err(Error::new(ErrorKind::Usage(
            "no rule files (.yml, .yaml, .toml) found in the given paths".into(),
        )));
    }
    // The front end's warnings (unused search identifiers, empty files) go to stderr first.
    for w in &batch.warnings {
        eprintln!("{}", w.render_warning());
    }
    let mut items = session.convert(&batch)?;
    if let Some((_, rules)) = &publish {
        super::elastic_out::thresholds(&mut items, rules);
    }

    let mut report = super::report::Report::of(&items, args.skip_unsupported);
    let _ = std::io::stderr()
        .lock()
        .write_all(report.text(args.verbose, args.quiet).as_bytes());

    if let Some((format, rules)) = publish {
        let out = super::elastic_out::Target {
            format,
            rules,
            output: args.output.as_deref(),
            template_dir: args.backend_dir.as_ref().map(|d| d.join("templates")),
        };
        report.failed += out.write(&items)?;
        eprintln!("{}", report.summary());
        // The process ends right after: see `run_inner`'s end.
        std::mem::forget(items);
        std::mem::forget(batch);
        return Ok(exit_code(&report, args.skip_unsupported));
    }

    let name = backend.name();
    let sarif_in_folder;
    let output = match &args.output {
        // One SARIF log for the batch, whatever `-o` names.
        Some(dir) if args.format == Format::Sarif && output::names_folder(dir) => {
            sarif_in_folder = dir.join("sigmat.sarif");
            Some(&sarif_in_folder)
        }
        o => o.as_ref(),
    };
    match output {
        Some(dir) if output::names_folder(dir) => {
            write_rule_files(args, dir, &items, name)?;
        }
        Some(file) => {
            let text = batch_text(&session, args.format, &items, name, args.skip_unsupported);
            if text.is_empty() {
                // Never leave an empty file for a run that converted nothing.
                eprintln!("nothing written to {}: no rule converted", file.display());
            } else {
                output::write_atomic(file, &text)?;
            }
        }
        None => {
            let text = batch_text(&session, args.format, &items, name, args.skip_unsupported);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Error::new(ErrorKind::Io(format!("stdout: {e}"))))?;
        }
    }

    eprintln!("{}", report.summary());
    // The process ends right after: freeing every rule of a catalog one by one would take
    // longer than writing the output (5% of a catalog run); the OS reclaims it at once.
    std::mem::forget(items);
    std::mem::forget(batch);
    Ok(exit_code(&report, args.skip_unsupported))
}

/// `-o DIR`: one file per rule, named after the rule file's path below the input folder it
/// was found in, never two outputs to one path.
fn write_rule_files(
    args: &ConvertArgs,
    dir: &std::path::Path,
    items: &[Item<'_>],
    backend: &str,
) -> Result<(), Error> {
    let ext = args.format.extension(backend);
    let mut used = HashSet::new();
    for it in items {
        if !matches!(it.outcome, Outcome::Converted(_)) && args.format == Format::Default {
            continue;
        }
        let mut text = String::new();
        args.format.write_item(&mut text, it, backend);
        let rel = output::rule_file(&it.entry.path, it.entry.document, &args.paths, &ext);
        let rel = output::unique_path(&mut used, &rel, it.entry.id.as_deref().unwrap_or(""));
        output::write_atomic(&dir.join(rel), &text)?;
    }
    Ok(())
}

/// The output of the whole batch; in the default format a pipeline's finalizer (e.g. `concat`)
/// may join the queries.
fn batch_text(
    session: &Session,
    format: Format,
    items: &[Item<'_>],
    backend: &str,
    skip: bool,
) -> String {
    if format == Format::Sarif {
        return sarif_text(items, skip);
    }
    if format == Format::Default {
        if let Some(joined) = session.finalize(items) {
            return joined + "\n";
        }
    }
    let mut text = String::new();
    for it in items {
        format.write_item(&mut text, it, backend);
    }
    text
}

/// 1 when a rule failed, or was unsupported without `--skip-unsupported`; else 0.
fn exit_code(report: &super::report::Report, skip: bool) -> i32 {
    i32::from(report.failed > 0 || (report.unsupported > 0 && !skip))
}

/// `-f sarif`: every failure (error), refusal (error, or note under `--skip-unsupported`) and
/// backend warning (warning) of the batch.
fn sarif_text(items: &[Item<'_>], skip: bool) -> String {
    use super::sarif::{Level, Log};
    let mut log = Log::default();
    for it in items {
        match &it.outcome {
            Outcome::Converted(c) => {
                let file = it.entry.path.display().to_string();
                for w in &c.warnings {
                    let text = match &w.at {
                        Some(at) => format!("{} (at {at})", w.message),
                        None => w.message.clone(),
                    };
                    log.message("backend_warning", Level::Warning, text, Some(&file));
                }
            }
            Outcome::Unsupported(e) => log.error(e, if skip { Level::Note } else { Level::Error }),
            Outcome::Failed(e) => log.error(e, Level::Error),
        }
    }
    let mut text = serde_json::to_string_pretty(&log.finish()).unwrap_or_default();
    text.push('\n');
    text
}
