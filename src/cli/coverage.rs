//! `sigmat coverage PATH... [--against PATH...] -f navigator|json|indicators|indicators-json`:
//! what a catalog detects, by ATT&CK technique and by indicator, and how it compares with
//! another catalog by tag and by event (`crate::coverage`).
//!
//! Output goes to `-o FILE` (written atomically) or stdout; a one-line summary goes to stderr,
//! with the catalog problems (files that could not be read, unknown technique tags). Exit
//! status: 0 done, 1 when some rule file could not be read (the rest is still reported), 2 on
//! usage errors.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use super::catalog::{self, Catalog};
use crate::attack::ATTACK_VERSION;
use crate::coverage::indicators::{self, Index};
use crate::coverage::layer::{self, Side};
use crate::coverage::pairs::{self, Found, Options, Tally};
use crate::coverage::{Coverage, Entry};
use crate::output::write_atomic;

/// Output format of `coverage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    /// ATT&CK Navigator layer (format 4.5); a comparison layer with `--against`.
    Navigator,
    /// Rules per technique, unknown tags and, with `--against`, the overlapping pairs.
    Json,
    /// Indicator tables (markdown) of the `--rule` rules and the most shared indicators.
    Indicators,
    /// The same as JSON.
    IndicatorsJson,
}

/// Arguments of `sigmat coverage`.
#[derive(Debug, Args)]
pub struct CoverageArgs {
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
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = CoverageFormat::Json)]
    pub format: CoverageFormat,
    /// Output file (default stdout).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// For `-f indicators*`: the rules whose indicator tables to show (a rule file; counted
    /// against catalog A, the rule itself left out).
    #[arg(long = "rule", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// How many of the catalog's most shared indicators to list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// No summary or progress on stderr (errors are still shown).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// A catalog read, with its coverage.
pub(crate) struct Cat {
    pub(crate) name: String,
    pub(crate) paths: Vec<PathBuf>,
    pub(crate) pipelines: Vec<String>,
    pub(crate) cat: Catalog,
    pub(crate) cov: Coverage,
}

pub(crate) fn read_side(
    paths: &[PathBuf],
    pipelines: &[String],
) -> Result<Cat, crate::error::Error> {
    let cat = catalog::load(paths, pipelines)?;
    let cov = Coverage::of(&cat.entries);
    let name = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Cat {
        name,
        paths: paths.to_vec(),
        pipelines: pipelines.to_vec(),
        cat,
        cov,
    })
}

/// Runs `sigmat coverage`; returns the exit code.
#[must_use]
pub fn run(args: &CoverageArgs) -> i32 {
    let comparing = !args.against.is_empty();
    if !comparing && !args.against_pipelines.is_empty() {
        eprintln!("error[usage]: --against-pipeline applies to the rules of --against\n  = hint: add `--against PATH`");
        return 2;
    }
    let a = match read_side(&args.paths, &args.pipelines) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", e.render());
            return 2;
        }
    };
    let b = if comparing {
        match read_side(&args.against, &args.against_pipelines) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("{}", e.render());
                return 2;
            }
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
    let (text, summary) = match args.format {
        CoverageFormat::Navigator => navigator(&a, b.as_ref()),
        CoverageFormat::Json => json_report(&a, b.as_ref(), args),
        CoverageFormat::Indicators | CoverageFormat::IndicatorsJson => {
            match indicator_report(&a, args) {
                Ok(x) => x,
                Err(code) => return code,
            }
        }
    };
    if let Err(code) = emit(args, &text) {
        return code;
    }
    if !args.quiet {
        eprintln!("{summary}");
    }
    i32::from(failed)
}

fn emit(args: &CoverageArgs, text: &str) -> Result<(), i32> {
    match &args.output {
        Some(path) => write_atomic(path, text).map_err(|e| {
            eprintln!("{}", e.render());
            1
        }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|_| 1)
        }
    }
}

fn catalog_line(s: &Cat) -> String {
    let unknown: std::collections::BTreeSet<&str> =
        s.cov.unknown.iter().map(|u| u.tag.as_str()).collect();
    format!(
        "{}: {} rules ({} without IR), {} technique cells, {} unknown technique tag(s){}",
        s.name,
        s.cat.entries.len(),
        s.cat.without_ir.len(),
        s.cov.cells().len(),
        unknown.len(),
        if unknown.is_empty() {
            String::new()
        } else {
            format!(" [{}]", unknown.into_iter().collect::<Vec<_>>().join(", "))
        }
    )
}

fn navigator(a: &Cat, b: Option<&Cat>) -> (String, String) {
    let layer = match b {
        None => layer::catalog_layer(&a.name, &a.cat.entries, &a.cov),
        Some(b) => layer::compare_layer(
            (&a.name, &b.name),
            (&a.cat.entries, &a.cov),
            (&b.cat.entries, &b.cov),
        ),
    };
    let mut summary = format!("coverage (ATT&CK v{ATTACK_VERSION}): {}", catalog_line(a));
    if let Some(b) = b {
        summary.push_str("; ");
        summary.push_str(&catalog_line(b));
    }
    (pretty(&layer), summary)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn rule_ref(e: &Entry) -> Value {
    json!({ "title": e.title, "id": e.id, "file": e.file })
}

fn side_json(s: &Cat) -> Value {
    let techniques: serde_json::Map<String, Value> = s
        .cov
        .cells()
        .into_iter()
        .map(|id| {
            let n = s
                .cov
                .rules_of(id)
                .map_or(0, std::collections::BTreeSet::len);
            (id.to_string(), Value::from(n))
        })
        .collect();
    let unknown: Vec<Value> = s
        .cov
        .unknown
        .iter()
        .map(|u| json!({ "tag": u.tag, "reason": u.reason, "rule": rule_ref(&s.cat.entries[u.rule]) }))
        .collect();
    json!({
        "paths": s.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "pipelines": s.pipelines,
        "rules": s.cat.entries.len(),
        "rules_without_ir": s.cat.without_ir.len(),
        "techniques": techniques,
        "unknown_tags": unknown,
        "translated_v19_tags": s.cov.translated.len(),
    })
}

/// The comparison of A with B, with a progress bar on a terminal (cleared when done: the
/// command's summary line follows).
pub(crate) fn compare(a: &Cat, b: &Cat, quiet: bool) -> Found {
    let bar = super::progress::bar(a.cat.entries.len(), "rules compared", quiet);
    let found = pairs::compare(&a.cat.entries, &b.cat.entries, &Options::default(), &|| {
        bar.inc(1);
    });
    bar.finish_and_clear();
    found
}

fn json_report(a: &Cat, b: Option<&Cat>, args: &CoverageArgs) -> (String, String) {
    let mut out = json!({
        "attack_version": ATTACK_VERSION,
        "attack_note": format!("every tag brought to ATT&CK v{ATTACK_VERSION}: v19 ids through Elastic's v18-to-v19 crosswalk; ids with no v{ATTACK_VERSION} technique listed under unknown_tags"),
        "a": side_json(a),
    });
    let mut summary = format!("coverage (ATT&CK v{ATTACK_VERSION}): {}", catalog_line(a));
    let Some(b) = b else {
        return (pretty(&out), summary);
    };
    out["b"] = side_json(b);
    let found = compare(a, b, args.quiet);
    let tally = Tally::of(&a.cat.entries, &found);
    let mut rows = Vec::new();
    for (i, list) in &found {
        if list.is_empty() {
            continue;
        }
        let items: Vec<Value> = list
            .iter()
            .map(|(j, shared, d)| {
                json!({ "b": rule_ref(&b.cat.entries[*j]), "relation": d.relation, "shared": shared, "witness": d.witness })
            })
            .collect();
        rows.push(json!({ "a": rule_ref(&a.cat.entries[*i]), "candidates": items }));
    }
    let differ: Vec<Value> = layer::sides(&a.cov, &b.cov)
        .into_iter()
        .filter(|(_, s, _, _)| *s != Side::Both)
        .map(|(id, s, na, nb)| json!({ "technique": id, "side": s, "a_rules": na, "b_rules": nb }))
        .collect();
    out["summary"] = json!({
        "a_rules_in_ir": tally.a_rules_in_ir,
        "a_rules_with_candidates": tally.a_rules_with_candidates,
        "pairs_decided": tally.pairs_decided,
        "pairs_unknown": tally.pairs_unknown,
        "a_rules_overlapping_b": tally.a_rules_overlapping_b,
        "a_rules_with_equivalent_or_containing_b": tally.a_rules_with_equivalent_or_containing_b,
        "techniques_a_only": differ.iter().filter(|d| d["side"] == "a_only").count(),
        "techniques_b_only": differ.iter().filter(|d| d["side"] == "b_only").count(),
    });
    out["pairs"] = Value::Array(rows);
    out["techniques_differ"] = Value::Array(differ);
    summary = format!(
        "coverage: {} of {} rules of A overlap a rule of B, {} have an equivalent or containing rule in B; {} candidate pairs decided, {} unknown; techniques A only {}, B only {}",
        tally.a_rules_overlapping_b,
        tally.a_rules_in_ir,
        tally.a_rules_with_equivalent_or_containing_b,
        tally.pairs_decided,
        tally.pairs_unknown,
        out["summary"]["techniques_a_only"],
        out["summary"]["techniques_b_only"],
    );
    (pretty(&out), summary)
}

/// The rules of `--rule`, each with its index in catalog A when it is one of its rules.
fn selected(a: &Cat, args: &CoverageArgs) -> Result<Vec<(Entry, Option<usize>)>, i32> {
    if args.rules.is_empty() {
        return Ok(Vec::new());
    }
    let sel = catalog::load(&args.rules, &args.pipelines).map_err(|e| {
        eprintln!("{}", e.render());
        2
    })?;
    for e in &sel.failed {
        eprintln!("{}", e.render());
    }
    let canon = |f: &str| std::fs::canonicalize(f).ok();
    Ok(sel
        .entries
        .into_iter()
        .map(|e| {
            let c = canon(&e.file);
            let at = a.cat.entries.iter().position(|x| {
                (e.id.is_some() && x.id == e.id) || (c.is_some() && canon(&x.file) == c)
            });
            (e, at)
        })
        .collect())
}

fn indicator_report(a: &Cat, args: &CoverageArgs) -> Result<(String, String), i32> {
    let index = Index::build(&a.cat.entries);
    let chosen = selected(a, args)?;
    let shared = index.most_shared(args.top);
    let tables: Vec<(&Entry, Vec<indicators::Row>)> = chosen
        .iter()
        .map(|(e, at)| {
            let inds = e.rule.as_ref().map(indicators::of_rule).unwrap_or_default();
            (e, indicators::table(&inds, &index, *at))
        })
        .collect();
    let text = if args.format == CoverageFormat::IndicatorsJson {
        let rules: Vec<Value> = tables
            .iter()
            .map(|(e, rows)| json!({ "rule": rule_ref(e), "rows": rows }))
            .collect();
        let top: Vec<Value> = shared
            .iter()
            .map(|((f, k, v), n)| json!({ "field": f, "kind": k, "value": v, "rules": n }))
            .collect();
        pretty(&json!({ "catalog_rules": a.cat.entries.len(), "rules": rules, "most_shared": top }))
    } else {
        let mut s = String::new();
        for (e, rows) in &tables {
            s.push_str(&format!("## {}\n\n{}\n\n", e.title, e.file));
            s.push_str(&indicators::markdown(rows));
            s.push('\n');
        }
        s.push_str(&format!(
            "## Most shared indicators ({} rules)\n\n",
            a.cat.entries.len()
        ));
        s.push_str(&indicators::shared_markdown(&shared));
        s
    };
    let summary = format!(
        "indicators: {} rule(s) against {} rules of {}",
        tables.len(),
        a.cat.entries.len(),
        a.name
    );
    Ok((text, summary))
}
