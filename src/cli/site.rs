//! `sigmat report PATH... [--against PATH...] [-p P]... [--against-pipeline P]... -o DIR`: a
//! static, self-contained site of a catalog (`crate::report`), compared with another when
//! `--against` is given: an index with the ATT&CK heat map, rule search and the overlapping
//! pairs, one page per rule, and `report.json` with the numbers the pages show.
//!
//! The catalogs are read as `sigmat coverage` reads them (same pipelines, same pairs). `DIR`
//! is written as a whole (a temporary folder beside it, then renamed); a non-empty `DIR` is
//! refused unless `--force` is given and it holds an earlier report. Exit status: 0 written,
//! 1 written but some rule file could not be read, 2 usage errors or nothing written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Args;

use super::coverage::{compare, read_side, Cat};
use crate::ir::{self, Document};
use crate::output::write_tree;
use crate::read;
use crate::report::source::{self, Detail, Query};
use crate::report::{self, Input, Side};
use crate::session::Session;

/// Arguments of `sigmat report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Rule files or folders of catalog A (Sigma YAML and Elastic TOML).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Rule files or folders of catalog B, to compare with.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub against: Vec<PathBuf>,
    /// Pipeline applied to the rules of PATH (repeatable).
    #[arg(short = 'p', long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,
    /// Pipeline applied to the rules of `--against` (repeatable).
    #[arg(long = "against-pipeline", value_name = "NAME|FILE")]
    pub against_pipelines: Vec<String>,
    /// The folder to write (new or empty; see `--force`).
    #[arg(short = 'o', long, value_name = "DIR", required = true)]
    pub output: PathBuf,
    /// Replace `DIR` when it holds an earlier report (its `report.json`).
    #[arg(long)]
    pub force: bool,
    /// With `--against`: compare the catalogs by ATT&CK tag only (heat map, figures), without
    /// deciding which rules overlap by event (the slow part on whole catalogs).
    #[arg(long, requires = "against")]
    pub by_tag_only: bool,
    /// No summary or progress on stderr (errors are still shown).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

fn is_toml(file: &str) -> bool {
    Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

fn elastic_detail(text: &str, file: &str) -> Detail {
    let mut d = Detail {
        body: text.to_string(),
        body_lang: "toml".into(),
        ..Detail::default()
    };
    let Ok(r) = read::read_str(text, Some(file)) else {
        return d;
    };
    d.description = r.description.clone().unwrap_or_default();
    d.level = r.severity.clone().unwrap_or_default();
    d.status = r.maturity.clone().unwrap_or_default();
    d.author = r.author.join(", ");
    d.references = r.references.clone();
    d.index = r.index.clone();
    d.query = Some(Query {
        rule_type: r.rule_type.name().to_string(),
        language: r.language.map(|l| l.name().to_string()).unwrap_or_default(),
        text: r.query.map(|q| q.text).unwrap_or_default(),
    });
    d
}

/// Each rule's written form (files read once each).
fn details(cat: &Cat) -> Vec<Detail> {
    let mut texts: HashMap<&str, String> = HashMap::new();
    cat.cat
        .entries
        .iter()
        .map(|e| {
            let text = texts
                .entry(e.file.as_str())
                .or_insert_with(|| std::fs::read_to_string(&e.file).unwrap_or_default());
            if is_toml(&e.file) {
                elastic_detail(text, &e.file)
            } else {
                source::sigma(text, e.document)
            }
        })
        .collect()
}

/// The pipelines that route Sigma's Windows log sources to their events (Sysmon event ids,
/// event log channels), shown in the event coverage of Windows rules.
const WINDOWS_ROUTING: [&str; 2] = ["sysmon", "windows_logsources"];

/// Each Windows Sigma rule through [`WINDOWS_ROUTING`] (parallel to the entries; `None` for
/// the others, and for rules the pipelines refuse).
fn routed(cat: &Cat, details: &[Detail]) -> Vec<Option<ir::Rule>> {
    let windows = |i: usize| {
        !is_toml(&cat.cat.entries[i].file)
            && details[i].logsource_value("product") == Some("windows")
    };
    if !(0..cat.cat.entries.len()).any(windows) {
        return Vec::new();
    }
    let Ok(session) = Session::builder().pipelines(WINDOWS_ROUTING).build() else {
        return Vec::new();
    };
    let mut by_key: HashMap<(String, usize), ir::Rule> = HashMap::new();
    for e in session.load(&cat.paths).entries {
        if let Ok(Document::Rule(r)) = e.doc {
            by_key.insert((e.path.display().to_string(), e.document), r);
        }
    }
    (0..cat.cat.entries.len())
        .map(|i| {
            let e = &cat.cat.entries[i];
            if windows(i) {
                by_key.remove(&(e.file.clone(), e.document))
            } else {
                None
            }
        })
        .collect()
}

fn side<'a>(c: &'a Cat, details: &'a [Detail], routed: &'a [Option<ir::Rule>]) -> Side<'a> {
    Side {
        name: &c.name,
        pipelines: &c.pipelines,
        entries: &c.cat.entries,
        details,
        routed,
        cov: &c.cov,
        without_ir: &c.cat.without_ir,
        failed: &c.cat.failed,
    }
}

/// Runs `sigmat report`; returns the exit code.
#[must_use]
pub fn run(args: &ReportArgs) -> i32 {
    let comparing = !args.against.is_empty();
    if !comparing && !args.against_pipelines.is_empty() {
        eprintln!("error[usage]: --against-pipeline applies to the rules of --against\n  = hint: add `--against PATH`");
        return 2;
    }
    let read = |paths: &[PathBuf], pipelines: &[String]| {
        read_side(paths, pipelines).map_err(|e| {
            eprintln!("{}", e.render());
            2
        })
    };
    let a = match read(&args.paths, &args.pipelines) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let b = if comparing {
        match read(&args.against, &args.against_pipelines) {
            Ok(b) => Some(b),
            Err(code) => return code,
        }
    } else {
        None
    };
    let mut failed = false;
    for s in std::iter::once(&a).chain(b.as_ref()) {
        for e in &s.cat.failed {
            failed = true;
            eprintln!("{}", e.render());
        }
    }
    let (da, ra) = {
        let d = details(&a);
        let r = routed(&a, &d);
        (d, r)
    };
    let db = b.as_ref().map(details).unwrap_or_default();
    let rb = b.as_ref().map(|b| routed(b, &db)).unwrap_or_default();
    let found = b
        .as_ref()
        .filter(|_| !args.by_tag_only)
        .map(|b| compare(&a, b, args.quiet));
    let input = Input {
        a: side(&a, &da, &ra),
        b: b.as_ref().map(|b| (side(b, &db, &rb), found.as_ref())),
    };
    let files = match report::build(&input) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}", e.render());
            return 2;
        }
    };
    if let Err(e) = write_tree(&args.output, &files, args.force, "report.json") {
        eprintln!("{}", e.render());
        return 2;
    }
    if !args.quiet {
        let pages = a.cat.entries.len() + b.as_ref().map_or(0, |b| b.cat.entries.len());
        eprintln!(
            "report: {} files ({pages} rule pages: A {}{}) in {}; open {}",
            files.len(),
            a.cat.entries.len(),
            b.as_ref()
                .map(|b| format!(", B {}", b.cat.entries.len()))
                .unwrap_or_default(),
            args.output.display(),
            args.output.join("index.html").display()
        );
    }
    i32::from(failed)
}
