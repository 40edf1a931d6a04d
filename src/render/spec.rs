//! The backend file format (`backends/<name>.yml`), read into `deny_unknown_fields` structs so
//! a typo is an error. `backends/README.md` documents every key with a worked example.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml::Value as Yaml;

use super::escape::EscapeSpec;

/// A backend file after `extends:` is resolved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendFile {
    /// The backend's name (`-t NAME`).
    pub name: String,
    /// The file this one extends (already merged in; kept for `list`).
    #[serde(default)]
    pub extends: Option<String>,
    /// A base that only exists to be extended (not listed, not usable with `-t`).
    #[serde(default, rename = "abstract")]
    pub is_abstract: bool,
    /// One line for `sigmat list backends`.
    #[serde(default)]
    pub description: String,
    /// The query template, a path under `templates/`.
    pub query: String,
    /// A processing pipeline (built-in name or file) that `sigmat convert` applies after the
    /// `-p` pipelines, before rendering.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Options (`-O key=value`) with their defaults.
    #[serde(default)]
    pub options: IndexMap<String, OptionSpec>,
    /// Variables handed to the query template, resolved per rule.
    #[serde(default)]
    pub vars: IndexMap<String, VarSpec>,
    /// The escaping filter that writes field names.
    pub field: String,
    /// The option holding the comma-separated full-text fields that keyword searches use.
    #[serde(default)]
    pub keywords: Option<String>,
    /// Boolean structure.
    pub tokens: Tokens,
    /// Comparison operators for `num` and `timepart`.
    pub cmp: Cmp,
    /// Snippets per IR node kind and shape; `null` or absent = unsupported.
    pub expr: Exprs,
    /// Snippets per correlation type; absent = unsupported.
    #[serde(default)]
    pub correlation: Correlations,
    /// Leaves written as named selections (Sigma's `detection`) instead of inline; absent:
    /// every leaf is inline in the condition.
    #[serde(default)]
    pub selections: Option<Selections>,
    /// Escaping filters, usable in every snippet and template as `{{ x | name }}`.
    #[serde(default)]
    pub escapes: IndexMap<String, EscapeSpec>,
    /// Warnings attached to a conversion when the meaning changes.
    #[serde(default)]
    pub warnings: Warnings,
    /// Notes on how the backend maps IR semantics, shown by `sigmat list backends`.
    #[serde(default)]
    pub notes: Vec<String>,
    /// How `-f elastic-toml` / `-f kibana-ndjson` publish this backend's queries as Elastic
    /// Security rules; absent: the backend's queries cannot be Elastic rules.
    #[serde(default)]
    pub elastic: Option<Elastic>,
}

/// The Elastic Security rule a backend's query goes into (`elastic:`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Elastic {
    /// `rule.language`; the rule type follows from it (`eql` and `esql` rules, `query` rules
    /// for `kuery` and `lucene`).
    pub language: ElasticLanguage,
    /// The rule's index patterns when no pipeline set `state.index`, by `logsource.product`
    /// (lower case); `*` (required) is every other product. Absent: the rule has no index
    /// patterns at all, not even a pipeline's (an ES|QL query names its source itself).
    #[serde(default)]
    pub index: Option<IndexMap<String, Vec<String>>>,
}

impl Elastic {
    /// Checks what the types do not: `index` has a `*` entry.
    ///
    /// # Errors
    /// The problem, for a backend error.
    pub fn check(&self) -> Result<(), String> {
        match &self.index {
            Some(ix) if !ix.contains_key("*") => Err(
                "`elastic.index` needs a `*` entry: the index patterns for every other product"
                    .into(),
            ),
            Some(_) | None => Ok(()),
        }
    }
}

/// An Elastic query language, as `rule.language` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElasticLanguage {
    /// EQL.
    Eql,
    /// Kibana query language (KQL).
    Kuery,
    /// Lucene `query_string`.
    Lucene,
    /// ES|QL.
    Esql,
}

/// Named selections (`selections:`): every leaf (a predicate, or a value list of one field)
/// becomes a selection the condition names; consecutive leaves of one `and` on distinct
/// fields share one selection, their bodies joined with `join`. The query template gets
/// `selections` (each `{name, lines}`, in the order the condition names them) and
/// `conditions` (every condition of the rule) and is rendered once per rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selections {
    /// The name of a rule's only selection; several are numbered (`selection1`, ...).
    pub name: String,
    /// Joins the bodies of leaves that share a selection, e.g. `"\n"`.
    pub join: String,
}

/// An option.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    /// The default value.
    pub default: String,
    /// What it does.
    #[serde(default)]
    pub doc: String,
}

/// A template variable, resolved in this order: rule state, option, log source category
/// map, default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarSpec {
    /// A key of `rule.state` (set by pipelines).
    #[serde(default)]
    pub state: Option<String>,
    /// An option name.
    #[serde(default)]
    pub option: Option<String>,
    /// `logsource.category` → value; keys may end with `*` (prefix match).
    #[serde(default)]
    pub category: IndexMap<String, String>,
    /// The fallback.
    #[serde(default)]
    pub default: Option<String>,
}

/// Boolean structure. `not`, `group` and `null_safe` are templates over `expr` (already
/// rendered text).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tokens {
    /// Joins the children of `and`, e.g. `" and "`.
    pub and: String,
    /// Joins the children of `or`.
    pub or: String,
    /// Negation, e.g. `"not {{ expr }}"`.
    pub not: String,
    /// Parentheses, e.g. `"({{ expr }})"`.
    pub group: String,
    /// Wraps every leaf below a negation so that a missing (NULL) value makes it false,
    /// not unknown, e.g. `"COALESCE({{ expr }}, FALSE)"`. Absent: leaves are used as is.
    #[serde(default)]
    pub null_safe: Option<String>,
}

/// Comparison operators.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cmp {
    /// `==`
    pub eq: String,
    /// `<`
    pub lt: String,
    /// `<=`
    pub lte: String,
    /// `>`
    pub gt: String,
    /// `>=`
    pub gte: String,
    /// `!=` (correlation thresholds only); absent = unsupported.
    #[serde(default)]
    pub neq: Option<String>,
}

/// One snippet, or alternatives tried in order until one does not refuse.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Snippet {
    /// One template.
    One(String),
    /// Alternatives.
    Alternatives(Vec<String>),
}

impl Snippet {
    /// The alternatives.
    #[must_use]
    pub fn templates(&self) -> Vec<&str> {
        match self {
            Snippet::One(s) => vec![s.as_str()],
            Snippet::Alternatives(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

macro_rules! exprs {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Snippets per node kind and shape.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Exprs {
            $($(#[$doc])* #[serde(default)] pub $name: Option<Snippet>,)*
        }

        impl Exprs {
            /// Every snippet with its key.
            #[must_use]
            pub fn all(&self) -> Vec<(&'static str, &Option<Snippet>)> {
                vec![$((stringify!($name), &self.$name)),*]
            }
        }
    };
}

exprs! {
    /// Case-insensitive whole-value equality (`Shape::Exact`).
    eq,
    /// Case-insensitive `text*`.
    prefix,
    /// Case-insensitive `*text`.
    suffix,
    /// Case-insensitive `*text*`.
    contains,
    /// Case-insensitive pattern with inner wildcards or `?`.
    glob,
    /// `*` alone: any value.
    any,
    /// Case-sensitive equality.
    eq_cased,
    /// Case-sensitive `text*`.
    prefix_cased,
    /// Case-sensitive `*text`.
    suffix_cased,
    /// Case-sensitive `*text*`.
    contains_cased,
    /// Case-sensitive pattern.
    glob_cased,
    /// Several case-insensitive exact values of one field under `or` (`values`); optional.
    eq_list,
    /// Several case-sensitive exact values; optional.
    eq_list_cased,
    /// Several case-insensitive patterns of one field under `or`; optional.
    pattern_list,
    /// Several case-sensitive patterns; optional.
    pattern_list_cased,
    /// Regular expression (`regex`, `flags`).
    regex,
    /// Numeric comparison (`op`, `value`).
    num,
    /// Boolean (`value`).
    bool,
    /// Missing or null.
    null,
    /// Exists (`value` true) or not.
    exists,
    /// CIDR (`network`, `ipv6`, `prefixes`).
    cidr,
    /// Field reference (`other`, `how`, `cased`).
    fieldref,
    /// Time part (`part`, `op`, `value`).
    timepart,
}

/// Snippets per correlation type (`rules`, `group_by`, `seconds`, `timespan`, `condition`,
/// `rule_count`, `fields`, ...: `backends/README.md`); their output is the whole query.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correlations {
    /// `event_count`
    #[serde(default)]
    pub event_count: Option<Snippet>,
    /// `value_count`
    #[serde(default)]
    pub value_count: Option<Snippet>,
    /// `temporal`
    #[serde(default)]
    pub temporal: Option<Snippet>,
    /// `temporal_ordered`
    #[serde(default)]
    pub temporal_ordered: Option<Snippet>,
    /// `value_sum`
    #[serde(default)]
    pub value_sum: Option<Snippet>,
    /// `value_avg`
    #[serde(default)]
    pub value_avg: Option<Snippet>,
    /// `value_percentile`
    #[serde(default)]
    pub value_percentile: Option<Snippet>,
    /// `value_median`
    #[serde(default)]
    pub value_median: Option<Snippet>,
    /// Shared templates the type snippets include (`{% include "correlation.parts.NAME" %}`),
    /// merged key by key through `extends:` so that a dialect overrides one part (say, how it
    /// reads a timestamp) and keeps the rest.
    #[serde(default)]
    pub parts: IndexMap<String, String>,
    /// `sequence`: an [`crate::ir::Sequence`] (`steps`, each `{query, by, runs, missing}`;
    /// `by`; `maxspan` as written, `maxspan_ms`; `until` `{query, by}` or none).
    #[serde(default)]
    pub sequence: Option<Snippet>,
}

impl Correlations {
    /// Every snippet with its key.
    #[must_use]
    pub fn all(&self) -> Vec<(&'static str, &Option<Snippet>)> {
        vec![
            ("event_count", &self.event_count),
            ("value_count", &self.value_count),
            ("temporal", &self.temporal),
            ("temporal_ordered", &self.temporal_ordered),
            ("value_sum", &self.value_sum),
            ("value_avg", &self.value_avg),
            ("value_percentile", &self.value_percentile),
            ("value_median", &self.value_median),
            ("sequence", &self.sequence),
        ]
    }
}

/// Warnings by trigger. `{fields}` in `keywords` is replaced by the full-text fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warnings {
    /// A case-insensitive string test or field reference was rendered.
    #[serde(default)]
    pub case_insensitive: Option<String>,
    /// A case-insensitive test on text with non-ASCII letters.
    #[serde(default)]
    pub non_ascii_case: Option<String>,
    /// A keyword search was rendered on the full-text fields.
    #[serde(default)]
    pub keywords: Option<String>,
    /// A regex with `\d`, `\s`, `\w` or `.` was rendered (dialects with ASCII classes).
    #[serde(default)]
    pub regex_classes: Option<String>,
}

/// Deep-merges `child` over `parent`: maps key by key, anything else replaced.
pub fn merge(parent: Yaml, child: Yaml) -> Yaml {
    match (parent, child) {
        (Yaml::Mapping(mut p), Yaml::Mapping(c)) => {
            for (k, v) in c {
                let merged = match p.remove(&k) {
                    Some(old) => merge(old, v),
                    None => v,
                };
                p.insert(k, merged);
            }
            Yaml::Mapping(p)
        }
        (_, c) => c,
    }
}
