//! `sigmat inspect RULE`: print the IR of every document in a Sigma file.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Output format of `inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    /// YAML, one document per IR document (`---` between them).
    Yaml,
    /// JSON: one object, or an array when the file holds several documents.
    Json,
}

/// Arguments of `sigmat inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The Sigma file.
    pub rule: PathBuf,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = InspectFormat::Yaml)]
    pub format: InspectFormat,
    /// Processing pipeline to apply first: a built-in name or a pySigma pipeline YAML file
    /// (repeatable; pipelines run by priority).
    #[arg(short = 'p', long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,
}

/// The YAML form of an IR document (through JSON, since YAML serializers do not write
/// nested enums such as `Expr`).
///
/// # Errors
/// When the document cannot be serialized.
pub fn to_yaml(doc: &crate::ir::Document) -> Result<String, String> {
    let v = serde_json::to_value(doc).map_err(|e| e.to_string())?;
    serde_yaml::to_string(&v).map_err(|e| e.to_string())
}

/// Runs `inspect`; exit code 1 when any document fails to parse (its error goes to stderr,
/// with the front end's warnings), 2 for a usage error (a folder instead of a file).
#[must_use]
pub fn run(args: &InspectArgs) -> i32 {
    let mut pipelines = Vec::new();
    for p in &args.pipelines {
        match crate::pipeline::Pipeline::load(p) {
            Ok(p) => pipelines.push(p),
            Err(e) => {
                eprintln!("{}", e.render());
                return 2;
            }
        }
    }
    if args.rule.is_dir() {
        let e = crate::error::Error::new(crate::error::ErrorKind::Usage(format!(
            "`{}` is a folder; `inspect` prints the IR of one Sigma file",
            args.rule.display()
        )))
        .hint(format!(
            "name a file in it, e.g. `sigmat inspect {}/RULE.yml`; `sigmat check {}` checks every rule of the folder",
            args.rule.display().to_string().trim_end_matches('/'),
            args.rule.display()
        ));
        eprintln!("{}", e.render());
        return 2;
    }
    let loaded = crate::session::load_documents(std::slice::from_ref(&args.rule))
        .pop()
        .map(|(_, l)| l)
        .unwrap_or_default();
    for w in &loaded.warnings {
        eprintln!("{}", w.warning.render_warning());
    }
    let mut docs = Vec::new();
    let mut failed = false;
    for r in loaded.documents {
        let r = match r {
            Ok(mut d) => crate::pipeline::apply_document(&pipelines, &mut d).map(|()| d),
            Err(e) => Err(e),
        };
        match r {
            Ok(d) => docs.push(d),
            Err(e) => {
                eprintln!("{}", e.render());
                failed = true;
            }
        }
    }
    let text = match args.format {
        InspectFormat::Yaml => docs
            .iter()
            .map(to_yaml)
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join("---\n")),
        InspectFormat::Json => if docs.len() == 1 {
            serde_json::to_string_pretty(&docs[0])
        } else {
            serde_json::to_string_pretty(&docs)
        }
        .map(|s| s + "\n")
        .map_err(|e| e.to_string()),
    };
    match text {
        Ok(t) => {
            // A closed stdout (`| head`) is not an error of the rule.
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), t.as_bytes());
        }
        Err(e) => {
            eprintln!("error: cannot serialize the IR: {e}");
            return 1;
        }
    }
    i32::from(failed || docs.is_empty())
}
