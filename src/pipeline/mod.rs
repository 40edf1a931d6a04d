//! Processing pipelines: IR → IR rewrites read from pySigma pipeline YAML.
//!
//! A pipeline maps a rule from the Sigma taxonomy onto a data source: it renames fields
//! (`Image` → `process.executable`), adds conditions (`winlog.channel: Security`), routes the
//! rule (`set_state` of `index`, `eql_category`...), and fails rules it cannot express. sigmat
//! reads pySigma's processing-pipeline YAML unchanged ([`Pipeline::from_yaml`]) and ships its
//! own pipelines in `backends/pipelines/` ([`Pipeline::builtin`]).
//!
//! # Mapping onto the IR
//!
//! | pySigma | sigmat IR |
//! |---|---|
//! | detection item | the [`ir::Predicate`]s written under one key of a selection (same key path without its `[n]`, same field) |
//! | field name mapping | rewrites `Predicate::field` (and `Test::FieldRef::field`); one-to-many gives an `or` of copies |
//! | `add_condition` | ANDs a detection to every condition of the rule |
//! | `change_logsource` | edits `Rule::logsource` |
//! | `set_state` | writes `Rule::state` |
//! | applied processing items | `Rule::applied` (ids only) |
//! | `drop_detection_item` | removes predicates; an `and`/`or`/`not` left empty disappears, and a condition left empty is an error |
//! | placeholders | [`ir::Piece::Placeholder`]: `value_placeholders` expands into an `or` of patterns, `wildcard_placeholders` gives `*` |
//!
//! Differences from pySigma, by design:
//! * `query_expression_placeholders` is refused when it would act: the IR has no raw query
//!   expressions. Items that find no placeholder do nothing, as in pySigma.
//! * `field_name_transform`, `file_placeholders`, `http_placeholders` and
//!   `command_placeholders` are refused when the pipeline is read (Python functions, external
//!   sources).
//! * `regex` produces anchored regexes (`^...$`, `*` crossing newlines), because sigmat
//!   regexes match anywhere while the string they replace matched the whole value.
//! * The Sigma syntax inside a pipeline is the front end's: `add_condition` accepts every
//!   modifier a selection does, and `*_cond_expr` is read by the Sigma condition parser (64
//!   levels of nesting at most; names are Sigma identifiers; no `1 of` / `all of`).
//! * Postprocessing: `embed`, `simple_template`, `replace`, `nest`; finalizers: `concat`,
//!   `json`. Jinja `template`, `json` postprocessing and the `yaml`/`template`/`nested`
//!   finalizers are refused when the pipeline is read.
//!
//! [`ir::Predicate`]: crate::ir::Predicate
//! [`ir::Piece::Placeholder`]: crate::ir::Piece::Placeholder

//! # Code map
//!
//! | file | concern |
//! |---|---|
//! | `model.rs` | [`Pipeline`] |
//! | `load.rs` | pipeline YAML → [`Pipeline`] (top-level keys) |
//! | `reader.rs` | located errors, typed parameters, regexes, Python replacements |
//! | `transformations/` | one file per transformation type (parameters, `apply`, docs); `mod.rs` reads an item and dispatches |
//! | `conditions/` | one file per condition kind (`rule`, `detection_item`, `field_name`), `set` (op / not / expr), `state` |
//! | `work.rs` | detection items, selection, the in-place rewrite of selected predicates |
//! | `node.rs` | a rule's conditions while pipelines run, the per-rule state |
//! | `values.rs` | plain forms, YAML scalars as tests, value equality |
//! | `run.rs` | running pipelines over rules and correlations |
//! | `query.rs` | postprocessing and finalizers on rendered text |
//! | `builtin.rs` | the shipped pipelines |
//!
//! The Sigma syntax inside pipelines (string values, `add_condition` detections, `*_cond_expr`
//! expressions) is read by the Sigma front end's public API ([`crate::sigma::string_pattern`],
//! [`crate::sigma::detection_item`], [`crate::sigma::parse_condition`]): its modifiers, limits
//! and error messages apply to pipelines too.

mod builtin;
mod conditions;
mod load;
mod model;
mod node;
mod query;
mod reader;
mod run;
mod transformations;
mod values;
mod work;

pub use builtin::{builtin_names, describe_builtins};
pub use conditions::{
    AttrOp, CondExpr, Conditions, ContainsDetectionItem, DetectionItemCondition, FieldList,
    FieldNameCondition, Logic, LogsourceCondition, Quantifier, RuleAttribute, RuleCondition,
    StateTest,
};
pub use model::Pipeline;
pub use query::{Finalizer, PostItem, PostTransformation};
pub use reader::OneOrMany;
pub use transformations::*;
pub use values::Wanted;
pub use work::Scope;

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::ir::{Correlation, Document, Rule};

impl Pipeline {
    /// Reads a pipeline from pySigma processing-pipeline YAML. `origin` names it in errors (a
    /// path, or `builtin:NAME`).
    ///
    /// # Errors
    /// Malformed YAML, unknown keys, and transformation or condition types that sigmat does not
    /// support (named in the message).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Pipeline> {
        load::parse(text, origin)
    }

    /// A built-in pipeline by name (`ecs_windows`, `ecs_linux`, `ecs_macos`...).
    #[must_use]
    pub fn builtin(name: &str) -> Option<Pipeline> {
        let text = builtin::source(name)?;
        match Pipeline::from_yaml(text, &format!("builtin:{name}")) {
            Ok(p) => Some(p),
            // The built-ins are tested; a broken one is a bug, reported loudly in debug builds.
            Err(e) => {
                debug_assert!(
                    false,
                    "built-in pipeline {name} does not load: {}",
                    e.render()
                );
                None
            }
        }
    }

    /// A built-in pipeline by name, or a pipeline file by path.
    ///
    /// # Errors
    /// An unknown name that is not a readable file, or a file that does not load.
    pub fn load(name_or_path: &str) -> Result<Pipeline> {
        if let Some(p) = Pipeline::builtin(name_or_path) {
            return Ok(p);
        }
        let path = std::path::Path::new(name_or_path);
        if !path.exists() {
            return Err(Error::new(ErrorKind::Usage(format!(
                "unknown pipeline `{name_or_path}`: not a built-in pipeline and no such file"
            )))
            .hint(format!(
                "built-in pipelines: {}",
                builtin_names().join(", ")
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(ErrorKind::Io(e.to_string())).in_file(name_or_path.to_string())
        })?;
        Pipeline::from_yaml(&text, name_or_path)
    }

    /// Applies this pipeline's postprocessing items to a rendered query.
    ///
    /// # Errors
    /// A `simple_template` naming an unknown attribute.
    pub fn postprocess(&self, rule: &Rule, query: String) -> Result<String> {
        query::postprocess(&self.name, &self.postprocessing, rule, query)
    }

    /// Joins the queries of a batch with this pipeline's finalizers; `None` when it has none.
    #[must_use]
    pub fn finalize(&self, queries: &[String]) -> Option<String> {
        query::finalize(&self.finalizers, queries)
    }
}

/// The pipelines in the order they run: by priority, lowest first; equal priorities keep the
/// given order.
#[must_use]
pub fn ordered(pipelines: &[Pipeline]) -> Vec<&Pipeline> {
    let mut v: Vec<&Pipeline> = pipelines.iter().collect();
    v.sort_by_key(|p| p.priority);
    v
}

/// Runs the pipelines (ordered by priority) over a rule. On error the rule is left unchanged.
///
/// # Errors
/// `rule_failure` / `detection_item_failure` items, a condition emptied by
/// `drop_detection_item`, missing placeholder variables, and other failures, each naming the
/// pipeline, the item and the rule.
pub fn apply(pipelines: &[Pipeline], rule: &mut Rule) -> Result<()> {
    *rule = run::apply_rule(&ordered(pipelines), rule.clone())?;
    Ok(())
}

/// [`apply`] on a rule the caller gives away: the same result without copying the rule (a
/// batch that converts a copy of each rule saves one copy).
///
/// # Errors
/// As [`apply`].
pub fn apply_owned(pipelines: &[Pipeline], rule: Rule) -> Result<Rule> {
    run::apply_rule(&ordered(pipelines), rule)
}

/// Runs the pipelines over a correlation rule and returns the `set_state` values (the IR has no
/// state on correlations). Field name mappings rename `group-by`, alias and condition fields.
///
/// # Errors
/// As [`apply`]; also a one-to-many mapping of an alias or condition field.
pub fn apply_correlation(
    pipelines: &[Pipeline],
    corr: &mut Correlation,
) -> Result<IndexMap<String, Value>> {
    run::apply_correlation(&ordered(pipelines), corr)
}

/// Runs the pipelines over a sequence: each step's (and `until`'s) condition as a rule of its
/// own (with the sequence's metadata), the join keys through the field name mappings as a
/// correlation's `group-by` is.
///
/// # Errors
/// As [`apply`]; also a pipeline that splits a step into several conditions or maps a join key
/// to several fields.
pub fn apply_sequence(pipelines: &[Pipeline], seq: &mut crate::ir::Sequence) -> Result<()> {
    let mut out = seq.clone();
    for cond in out.conditions_mut() {
        let rule = Rule {
            meta: seq.meta.clone(),
            logsource: crate::ir::LogSource::default(),
            conditions: vec![cond.clone()],
            state: IndexMap::new(),
            applied: Vec::new(),
            origin: seq.origin.clone(),
        };
        let r = apply_owned(pipelines, rule)?;
        let Ok([c]) = <[crate::ir::Expr; 1]>::try_from(r.conditions) else {
            return Err(crate::error::Error::new(crate::error::ErrorKind::Pipeline(
                "a pipeline turned a sequence step into several conditions".into(),
            ))
            .hint("a sequence step is one event condition"));
        };
        *cond = c;
    }
    let keys: Vec<String> = out.keys_mut().map(|k| k.field.clone()).collect();
    let mut corr = Correlation {
        meta: seq.meta.clone(),
        kind: crate::ir::CorrelationType::TemporalOrdered,
        rules: Vec::new(),
        group_by: keys.clone(),
        timespan: crate::ir::Timespan {
            text: "0s".into(),
            seconds: 0,
        },
        condition: Vec::new(),
        field: Vec::new(),
        percentile: None,
        aliases: IndexMap::new(),
        generate: false,
        origin: seq.origin.clone(),
    };
    apply_correlation(pipelines, &mut corr)?;
    if corr.group_by.len() != keys.len() {
        return Err(crate::error::Error::new(crate::error::ErrorKind::Pipeline(
            "a pipeline mapped a sequence join key to several fields".into(),
        ))
        .hint("a join key is one field"));
    }
    for (k, f) in out.keys_mut().zip(corr.group_by) {
        k.field = f;
    }
    *seq = out;
    Ok(())
}

/// Runs the pipelines over any document: rules, correlations and sequences as above; filters
/// are left alone (they are applied to rules before pipelines run).
///
/// # Errors
/// As [`apply`].
pub fn apply_document(pipelines: &[Pipeline], doc: &mut Document) -> Result<()> {
    match doc {
        Document::Rule(r) => apply(pipelines, r),
        Document::Correlation(c) => apply_correlation(pipelines, c).map(|_| ()),
        Document::Filter(_) => Ok(()),
        Document::Sequence(s) => apply_sequence(pipelines, s),
    }
}
