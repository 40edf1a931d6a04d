//! Readers of Elastic rules: stages beside the Sigma front end that turn detection-rules TOML
//! files and their EQL and KQL queries into the IR. They depend on [`crate::ir`] and
//! [`crate::error`] only.
//!
//! - [`toml`]: the detection-rules TOML file → [`ElasticRule`] (metadata kept whole, mapped to
//!   [`crate::ir::Meta`] by [`ElasticRule::to_meta`]).
//! - [`eql`], [`kql`]: lexer, parser (spanned syntax tree, depth-limited, located errors),
//!   lowering to the IR with Elasticsearch's / Kibana's meaning.
//! - [`lucene_regex`]: Lucene regexp (EQL `regex`) → IR regex, exactly or refused.
//! - [`text`]: KQL on analyzed text fields (tokens) → IR regexes, with a warning.
//! - [`dsl`]: Kibana `filters` (query DSL) → an IR condition ANDed to the query.
//! - [`threshold`], [`sample`]: threshold rules and EQL samples as IR correlations.
//! - [`source`]: spans inside a query and their file positions.
//!
//! [`lower_rule`] puts them together: a rule whose query the IR expresses exactly becomes an
//! [`crate::ir::Rule`]; every other rule is refused with
//! [`crate::error::ErrorKind::Unsupported`] naming the rule type or query construct.

pub mod dsl;
pub mod eql;
pub mod kql;
pub mod lower;
pub mod lucene_regex;
pub mod sample;
pub mod source;
pub mod text;
pub mod threshold;
pub mod toml;

pub use self::toml::{read_str, ElasticRule, KibanaFilter, Language, RuleType};
pub use source::{QueryOrigin, Span};

use crate::error::{Error, ErrorKind, Result};
use crate::ir;

/// Reads a detection-rules TOML file.
///
/// # Errors
/// [`ErrorKind::Io`] when the file cannot be read, else as [`read_str`].
pub fn read_file(path: &std::path::Path) -> Result<ElasticRule> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(ErrorKind::Io(e.to_string())).in_file(name.clone()))?;
    read_str(&text, Some(&name))
}

/// A rule's query, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// EQL.
    Eql(eql::Query),
    /// KQL (kuery).
    Kql(kql::Node),
}

fn refusal(rule: &ElasticRule, what: String, hint: &str) -> Error {
    let mut e = Error::new(ErrorKind::Unsupported {
        target: lower::TARGET.into(),
        what,
    })
    .at("rule.type")
    .hint(hint);
    if let Some(f) = &rule.file {
        e = e.in_file(f.clone());
    }
    e
}

impl ElasticRule {
    /// Parses the rule's query in its language (`eql` for EQL rules, `kuery` otherwise).
    ///
    /// # Errors
    /// [`ErrorKind::QuerySyntax`] located in the file; [`ErrorKind::MissingKey`] without a
    /// query; [`ErrorKind::Unsupported`] for Lucene and ES|QL queries and machine-learning
    /// rules.
    pub fn parse_query(&self) -> Result<Query> {
        let lang = match (self.rule_type, self.language) {
            (RuleType::MachineLearning, _) => {
                return Err(refusal(
                    self,
                    "a machine_learning rule (an anomaly-detection job, no query)".into(),
                    "nothing to read",
                ))
            }
            (RuleType::Eql, _) | (_, Some(Language::Eql)) => Language::Eql,
            (_, Some(l)) => l,
            (RuleType::Esql, None) => Language::Esql,
            (_, None) => Language::Kuery,
        };
        let missing = || {
            let mut e = Error::new(ErrorKind::MissingKey("rule.query".into())).at("rule.query");
            if let Some(f) = &self.file {
                e = e.in_file(f.clone());
            }
            e
        };
        match lang {
            Language::Eql => {
                let q = self.query.as_ref().ok_or_else(missing)?;
                eql::parse(&q.text, &q.origin).map(Query::Eql)
            }
            Language::Kuery => {
                let q = self.query.as_ref().ok_or_else(missing)?;
                kql::parse(&q.text, &q.origin).map(Query::Kql)
            }
            Language::Lucene => Err(refusal(
                self,
                "a Lucene (query_string) query".into(),
                "only EQL and KQL are read",
            )),
            Language::Esql => Err(refusal(
                self,
                "an ES|QL query".into(),
                "only EQL and KQL are read",
            )),
        }
    }
}

/// Reads the rule into the IR: metadata ([`ElasticRule::to_meta`]) and the query lowered as
/// one condition. The rule's `index` stays in the metadata (`custom["elastic"]`); the log
/// source is left empty (the query itself says which events it selects).
///
/// # Errors
/// As [`ElasticRule::parse_query`]; [`ErrorKind::Unsupported`] for rule types the IR has no
/// kind for yet (`new_terms`, `threat_match`, `saved_query`, `esql`,
/// `machine_learning`), for Kibana `filters` the query DSL reader ([`dsl`]) does not take,
/// and for query constructs
/// the IR cannot express exactly (named, located in the query); threshold rules and EQL
/// sequences, which are no single rule ([`lower_document`] reads them).
/// Its warnings ([`ErrorKind::Approximated`]) are dropped: [`lower_document_with_warnings`]
/// returns them.
pub fn lower_rule(rule: ElasticRule) -> Result<ir::Rule> {
    let cond = lower_condition(&rule)?;
    if rule.rule_type == RuleType::Threshold {
        return Err(refusal(
            &rule,
            "a threshold rule as one rule".into(),
            "read it as documents (`read::lower_document`): the query and a correlation",
        ));
    }
    let file = rule.file.clone();
    Ok(ir::Rule {
        meta: rule.into_meta(),
        logsource: ir::LogSource::default(),
        conditions: vec![cond],
        state: indexmap::IndexMap::new(),
        applied: Vec::new(),
        origin: ir::Origin { file, document: 0 },
    })
}

/// The condition of [`lower_rule`], without the metadata.
///
/// # Errors
/// As [`lower_rule`].
pub fn lower_condition(rule: &ElasticRule) -> Result<ir::Expr> {
    match lower_query(rule)?.0 {
        eql::lower::Lowered::Event(x) => Ok(x),
        eql::lower::Lowered::Sequence(_) => Err(refusal(
            rule,
            "an EQL sequence as one event condition".into(),
            "read it as a document (`read::lower_document`)",
        )),
        eql::lower::Lowered::Sample(_) => Err(refusal(
            rule,
            "an EQL sample as one event condition".into(),
            "read it as documents (`read::lower_document`): its queries and a correlation",
        )),
    }
}

/// Reads the rule into IR documents: an event query becomes one [`ir::Document::Rule`], an
/// EQL sequence one [`ir::Document::Sequence`], a threshold rule its query as a rule plus an
/// [`ir::Document::Correlation`] over it ([`threshold`]), an EQL sample its queries as rules
/// plus a `temporal` correlation over them ([`sample`]).
///
/// Warnings are dropped: [`lower_document_with_warnings`] returns them.
///
/// # Errors
/// As [`lower_rule`], except that sequences and threshold rules are read.
pub fn lower_document(rule: ElasticRule) -> Result<Vec<ir::Document>> {
    lower_document_with_warnings(rule).map(|(docs, _)| docs)
}

/// [`lower_document`], with the reader's warnings: constructs read with a documented
/// approximation ([`ErrorKind::Approximated`]: KQL on analyzed text fields...), located in
/// the file, in query order. The documents are valid.
///
/// # Errors
/// As [`lower_document`].
pub fn lower_document_with_warnings(rule: ElasticRule) -> Result<(Vec<ir::Document>, Vec<Error>)> {
    let origin = ir::Origin {
        file: rule.file.clone(),
        document: 0,
    };
    if rule.rule_type == RuleType::Threshold {
        return threshold::lower(rule, origin);
    }
    let (lowered, mut warnings) = lower_query(&rule)?;
    let doc = match lowered {
        eql::lower::Lowered::Sample(s) => {
            let (docs, w) = sample::lower(rule, *s, origin)?;
            warnings.push(w);
            return Ok((docs, warnings));
        }
        eql::lower::Lowered::Event(cond) => ir::Document::Rule(ir::Rule {
            meta: rule.into_meta(),
            logsource: ir::LogSource::default(),
            conditions: vec![cond],
            state: indexmap::IndexMap::new(),
            applied: Vec::new(),
            origin,
        }),
        eql::lower::Lowered::Sequence(mut s) => {
            s.meta = rule.into_meta();
            s.origin = origin;
            ir::Document::Sequence(*s)
        }
    };
    Ok((vec![doc], warnings))
}

/// The rule's query lowered (threshold rules: their kuery), with the reader's warnings.
fn lower_query(rule: &ElasticRule) -> Result<(eql::lower::Lowered, Vec<Error>)> {
    let query = rule.parse_query()?;
    let hint = "the IR has no kind for it yet";
    match rule.rule_type {
        RuleType::Eql | RuleType::Query | RuleType::Threshold => {}
        RuleType::NewTerms => {
            return Err(refusal(
                rule,
                "a new_terms rule (first occurrence of a value combination in a history window)"
                    .into(),
                hint,
            ))
        }
        RuleType::ThreatMatch => {
            return Err(refusal(
                rule,
                "a threat_match rule (matching against threat-indicator indices)".into(),
                hint,
            ))
        }
        RuleType::SavedQuery => {
            return Err(refusal(
                rule,
                "a saved_query rule (the query lives in Kibana)".into(),
                hint,
            ))
        }
        RuleType::Esql | RuleType::MachineLearning => {
            return Err(refusal(
                rule,
                format!("rule type `{}`", rule.rule_type.name()),
                hint,
            ))
        }
    }
    let Some(q) = rule.query.as_ref() else {
        return Err(Error::new(ErrorKind::MissingKey("rule.query".into())).at("rule.query"));
    };
    let lowered = match &query {
        Query::Eql(e) => {
            let opts = eql::lower::Options {
                category_field: rule
                    .event_category_override
                    .as_deref()
                    .unwrap_or("event.category"),
                ..eql::lower::Options::default()
            };
            eql::lower::lower_query_with_warnings(e, &q.text, &q.origin, opts)?
        }
        Query::Kql(k) => {
            let (cond, w) = kql::lower::lower_with_warnings(
                k,
                &q.text,
                &q.origin,
                kql::lower::Options::default(),
            )?;
            (eql::lower::Lowered::Event(cond), w)
        }
    };
    with_filters(rule, lowered)
}

/// The lowered query ANDed with the rule's Kibana `filters` ([`dsl`]).
fn with_filters(
    rule: &ElasticRule,
    (lowered, mut warnings): (eql::lower::Lowered, Vec<Error>),
) -> Result<(eql::lower::Lowered, Vec<Error>)> {
    if rule.filters.is_empty() {
        return Ok((lowered, warnings));
    }
    let (filters, filter_warnings) = dsl::lower_filters(&rule.filters, rule.file.as_deref())?;
    warnings.extend(filter_warnings);
    let at_filters = |what: &str, hint: &str| {
        let mut e = refusal(rule, what.into(), hint);
        e.location.path = Some("rule.filters".into());
        e
    };
    let x = match lowered {
        eql::lower::Lowered::Event(x) => x,
        eql::lower::Lowered::Sequence(_) | eql::lower::Lowered::Sample(_) => {
            return Err(at_filters(
                "Kibana `filters` on an EQL sequence or sample",
                "the IR has no condition shared by every step of a sequence",
            ))
        }
    };
    let x = match filters {
        lower::Cond::True => x,
        lower::Cond::False => {
            return Err(at_filters(
                "Kibana `filters` that match no document",
                "the rule is always false",
            ))
        }
        lower::Cond::Expr(f) => ir::Expr::and(vec![x, f]),
    };
    Ok((eql::lower::Lowered::Event(x), warnings))
}
