//! The detection-rules TOML reader: `[metadata]` and `[rule]` of an Elastic rule file
//! (elastic.md §2), kept whole for writing back and typed where the readers need it.

use indexmap::IndexMap;
use serde::Serialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::source::{line_col, QueryOrigin};
use crate::error::{ErrorKind, Result};
use crate::ir;

mod fields;

use fields::{read_new_terms, read_threat, read_threshold, to_json, to_map, Ctx};

/// `rule.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleType {
    /// `eql`: an EQL query (event query, sequence or sample).
    Eql,
    /// `query`: a KQL (kuery) or Lucene query.
    Query,
    /// `saved_query`: a query stored in Kibana.
    SavedQuery,
    /// `threshold`: a kuery plus `[rule.threshold]`.
    Threshold,
    /// `new_terms`: a kuery plus `[rule.new_terms]`.
    NewTerms,
    /// `threat_match`: a kuery matched against threat indicator indices.
    ThreatMatch,
    /// `esql`: an ES|QL query.
    Esql,
    /// `machine_learning`: an anomaly-detection job, no query.
    MachineLearning,
}

impl RuleType {
    /// The name as written in `rule.type`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            RuleType::Eql => "eql",
            RuleType::Query => "query",
            RuleType::SavedQuery => "saved_query",
            RuleType::Threshold => "threshold",
            RuleType::NewTerms => "new_terms",
            RuleType::ThreatMatch => "threat_match",
            RuleType::Esql => "esql",
            RuleType::MachineLearning => "machine_learning",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "eql" => RuleType::Eql,
            "query" => RuleType::Query,
            "saved_query" => RuleType::SavedQuery,
            "threshold" => RuleType::Threshold,
            "new_terms" => RuleType::NewTerms,
            "threat_match" => RuleType::ThreatMatch,
            "esql" => RuleType::Esql,
            "machine_learning" => RuleType::MachineLearning,
            _ => return None,
        })
    }
}

/// `rule.language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// `eql`
    Eql,
    /// `kuery` (KQL)
    Kuery,
    /// `lucene` (query_string)
    Lucene,
    /// `esql`
    Esql,
}

impl Language {
    /// The name as written in `rule.language`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Language::Eql => "eql",
            Language::Kuery => "kuery",
            Language::Lucene => "lucene",
            Language::Esql => "esql",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "eql" => Language::Eql,
            "kuery" => Language::Kuery,
            "lucene" => Language::Lucene,
            "esql" => Language::Esql,
            _ => return None,
        })
    }
}

/// An ATT&CK object referenced by a threat block: tactic, technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AttackRef {
    /// `id`, e.g. `TA0002`, `T1059`, `T1059.006`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `reference` (URL).
    pub reference: String,
}

/// `[[rule.threat.technique]]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Technique {
    /// The technique.
    #[serde(flatten)]
    pub technique: AttackRef,
    /// `[[rule.threat.technique.subtechnique]]`.
    pub subtechniques: Vec<AttackRef>,
}

/// `[[rule.threat]]`: one tactic and its techniques.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Threat {
    /// `framework`, e.g. `MITRE ATT&CK`.
    pub framework: String,
    /// `[rule.threat.tactic]`.
    pub tactic: AttackRef,
    /// `[[rule.threat.technique]]`.
    pub techniques: Vec<Technique>,
}

/// `[rule.threshold]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Threshold {
    /// `field`: the group-by fields (possibly empty).
    pub fields: Vec<String>,
    /// `value`: the minimum number of events per group.
    pub value: i64,
    /// `[[rule.threshold.cardinality]]`: (field, minimum number of distinct values).
    pub cardinality: Vec<(String, i64)>,
}

/// `[rule.new_terms]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTerms {
    /// `value` of `field = "new_terms_fields"`: the fields whose value combination must be new.
    pub fields: Vec<String>,
    /// `history_window_start`, e.g. `now-14d`.
    pub history_window_start: Option<String>,
}

/// The query of a rule and where it is in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryText {
    /// The query as TOML decoded it.
    pub text: String,
    /// Where it is.
    pub origin: QueryOrigin,
}

/// An Elastic detection rule as read from its TOML file.
///
/// `metadata` and `rule` hold every key of `[metadata]` and `[rule]` as JSON (TOML datetimes
/// as strings; the query is in [`ElasticRule::query`] only), so a rule read and written again
/// keeps what it had; the typed fields are what the readers and the IR mapping use.
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticRule {
    /// The file, if read from one.
    pub file: Option<String>,
    /// `[metadata]`, every key.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// `[rule]`, every key but `query`.
    pub rule: serde_json::Map<String, serde_json::Value>,
    /// `[transform]`, if present.
    pub transform: Option<serde_json::Value>,
    /// `rule.name`.
    pub name: String,
    /// `rule.rule_id`.
    pub rule_id: String,
    /// `rule.type`.
    pub rule_type: RuleType,
    /// `rule.language`.
    pub language: Option<Language>,
    /// `rule.description`.
    pub description: Option<String>,
    /// `rule.severity`: `low`, `medium`, `high` or `critical`.
    pub severity: Option<String>,
    /// `rule.risk_score`.
    pub risk_score: Option<i64>,
    /// `rule.tags`.
    pub tags: Vec<String>,
    /// `[[rule.threat]]`.
    pub threat: Vec<Threat>,
    /// `rule.index`.
    pub index: Vec<String>,
    /// `rule.from`, e.g. `now-9m`.
    pub from: Option<String>,
    /// `rule.interval`, e.g. `5m`.
    pub interval: Option<String>,
    /// `rule.references`.
    pub references: Vec<String>,
    /// `rule.author`.
    pub author: Vec<String>,
    /// `rule.license`.
    pub license: Option<String>,
    /// `rule.false_positives`.
    pub false_positives: Vec<String>,
    /// `rule.event_category_override` (EQL): the field holding the event category instead of
    /// `event.category`.
    pub event_category_override: Option<String>,
    /// `rule.query`.
    pub query: Option<QueryText>,
    /// `[rule.threshold]`.
    pub threshold: Option<Threshold>,
    /// `[rule.new_terms]`.
    pub new_terms: Option<NewTerms>,
    /// The enabled Kibana filters of `rule.filters` (query DSL ANDed to the query; read by
    /// [`crate::read::dsl`]).
    pub filters: Vec<KibanaFilter>,
    /// `metadata.maturity`.
    pub maturity: Option<String>,
}

/// An enabled entry of `rule.filters`: a Kibana filter (`meta`, and the query DSL under
/// `query` or, in the legacy form, at its top level).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KibanaFilter {
    /// Its index in `rule.filters`.
    pub index: usize,
    /// The filter, as JSON.
    pub value: serde_json::Value,
    /// Where it starts in the file (line, column), when known.
    pub pos: Option<(usize, usize)>,
}

/// Reads one detection-rules TOML file's text. `file` names it in errors.
///
/// # Errors
/// TOML syntax ([`ErrorKind::Toml`]), a missing `[rule]`, `name`, `rule_id` or `type`
/// ([`ErrorKind::MissingKey`]), or a key of the wrong type or an unknown `type` / `language`
/// ([`ErrorKind::InvalidValue`]); all located at file line:column and key path.
pub fn read_str(text: &str, file: Option<&str>) -> Result<ElasticRule> {
    let cx = Ctx { text, file };
    let doc = DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        cx.err(ErrorKind::Toml(e.message().to_string()), span, "")
    })?;
    let top = doc.get_ref();
    let metadata = match top.get("metadata") {
        Some(m) => to_map(cx.table(m, "metadata")?, None),
        None => serde_json::Map::new(),
    };
    let Some(rule_v) = top.get("rule") else {
        return Err(cx.err(ErrorKind::MissingKey("rule".into()), 0..0, "rule"));
    };
    let rt = cx.table(rule_v, "rule")?;
    let transform = top.get("transform").map(|t| to_json(t.get_ref()));
    let rule_span = rule_v.span();
    let need = |key: &str| -> Result<&Spanned<DeValue<'_>>> {
        rt.get(key).ok_or_else(|| {
            cx.err(
                ErrorKind::MissingKey(format!("rule.{key}")),
                rule_span.clone(),
                &format!("rule.{key}"),
            )
        })
    };
    let opt_str = |key: &str| -> Result<Option<String>> {
        rt.get(key)
            .map(|v| cx.string(v, &format!("rule.{key}")))
            .transpose()
    };
    let opt_strs = |key: &str| -> Result<Vec<String>> {
        rt.get(key)
            .map_or(Ok(Vec::new()), |v| cx.strings(v, &format!("rule.{key}")))
    };

    let name = cx.string(need("name")?, "rule.name")?;
    let rule_id = cx.string(need("rule_id")?, "rule.rule_id")?;
    let type_v = need("type")?;
    let type_s = cx.string(type_v, "rule.type")?;
    let rule_type = RuleType::parse(&type_s).ok_or_else(|| {
        cx.err(
            ErrorKind::InvalidValue {
                expected: "a rule type (query, saved_query, eql, esql, threshold, threat_match, new_terms, machine_learning)".into(),
                found: format!("`{type_s}`"),
            },
            type_v.span(),
            "rule.type",
        )
    })?;
    let language = match rt.get("language") {
        Some(v) => {
            let s = cx.string(v, "rule.language")?;
            Some(Language::parse(&s).ok_or_else(|| {
                cx.err(
                    ErrorKind::InvalidValue {
                        expected: "a query language (eql, kuery, lucene, esql)".into(),
                        found: format!("`{s}`"),
                    },
                    v.span(),
                    "rule.language",
                )
            })?)
        }
        None => None,
    };
    let risk_score = rt
        .get("risk_score")
        .map(|v| cx.int(v, "rule.risk_score"))
        .transpose()?;
    let query = match rt.get("query") {
        Some(v) => {
            let text_q = cx.string(v, "rule.query")?;
            Some(QueryText {
                origin: query_origin(text, v.span(), file),
                text: text_q,
            })
        }
        None => None,
    };
    let mut threat = Vec::new();
    if let Some(v) = rt.get("threat") {
        for (i, t) in cx.tables(v, "rule.threat")?.into_iter().enumerate() {
            threat.push(read_threat(&cx, t, &format!("rule.threat[{i}]"))?);
        }
    }
    let threshold = match rt.get("threshold") {
        Some(v) => Some(read_threshold(&cx, cx.table(v, "rule.threshold")?)?),
        None => None,
    };
    let new_terms = match rt.get("new_terms") {
        Some(v) => Some(read_new_terms(&cx, cx.table(v, "rule.new_terms")?)?),
        None => None,
    };
    let filters = rt
        .get("filters")
        .map_or_else(Vec::new, |f| fields::read_filters(text, f));
    let maturity = match top
        .get("metadata")
        .and_then(|m| m.get_ref().get("maturity"))
    {
        Some(v) => Some(cx.string(v, "metadata.maturity")?),
        None => None,
    };

    Ok(ElasticRule {
        file: file.map(str::to_string),
        rule: to_map(rt, Some("query")),
        metadata,
        transform,
        name,
        rule_id,
        rule_type,
        language,
        description: opt_str("description")?,
        severity: opt_str("severity")?,
        risk_score,
        tags: opt_strs("tags")?,
        threat,
        index: opt_strs("index")?,
        from: opt_str("from")?,
        interval: opt_str("interval")?,
        references: opt_strs("references")?,
        author: opt_strs("author")?,
        license: opt_str("license")?,
        false_positives: opt_strs("false_positives")?,
        event_category_override: opt_str("event_category_override")?,
        query,
        threshold,
        new_terms,
        filters,
        maturity,
    })
}

/// Where the decoded text of the string value at `span` starts, and whether positions map
/// exactly (literal strings, and basic strings without escapes).
fn query_origin(text: &str, span: std::ops::Range<usize>, file: Option<&str>) -> QueryOrigin {
    let raw = text.get(span.clone()).unwrap_or("");
    let (open, escapes) = if raw.starts_with("'''") {
        (3, false)
    } else if raw.starts_with("\"\"\"") {
        (3, true)
    } else if raw.starts_with('\'') {
        (1, false)
    } else {
        (1, true)
    };
    let mut start = span.start + open;
    // A newline right after a multi-line opening delimiter is trimmed by TOML.
    if open == 3 {
        if text[start..].starts_with("\r\n") {
            start += 2;
        } else if text[start..].starts_with('\n') {
            start += 1;
        }
    }
    // Exact mapping also needs: no escapes, and no line-ending backslash in basic strings.
    let exact = !(escapes && raw.contains('\\'));
    QueryOrigin {
        file: file.map(str::to_string),
        path: Some("rule.query".into()),
        start: Some(line_col(text, start)),
        exact,
    }
}

impl ElasticRule {
    /// The rule's metadata as IR metadata.
    ///
    /// `title` = `name`, `id` = `rule_id`, `description`, `license`, `author` (joined with
    /// `, `), `references`, `falsepositives` = `false_positives`, `date` / `modified` =
    /// `metadata.creation_date` / `updated_date` with dashes, `level` = `severity`, `status`
    /// from `metadata.maturity` (production → stable, beta → test, development and
    /// experimental → experimental, deprecated → deprecated), `tags` = the ATT&CK tags of the
    /// threat blocks in Sigma form (`attack.execution`, `attack.t1059`, `attack.t1059.006`).
    /// Everything else (Elastic tags, risk score, index, intervals, note, the threat blocks
    /// themselves...) is kept in `custom["elastic"]` as `{"metadata": {...}, "rule": {...}}`
    /// without the query, so writing the rule back loses nothing.
    #[must_use]
    pub fn to_meta(&self) -> ir::Meta {
        self.clone().into_meta()
    }

    /// [`ElasticRule::to_meta`], consuming the rule (no copies).
    #[must_use]
    pub fn into_meta(self) -> ir::Meta {
        let date = |k: &str| {
            self.metadata
                .get(k)
                .and_then(serde_json::Value::as_str)
                .map(|s| s.replace('/', "-"))
        };
        let (date, modified) = (date("creation_date"), date("updated_date"));
        let level = self.severity.as_deref().and_then(|s| match s {
            "low" => Some(ir::Level::Low),
            "medium" => Some(ir::Level::Medium),
            "high" => Some(ir::Level::High),
            "critical" => Some(ir::Level::Critical),
            _ => None,
        });
        let status = self.maturity.as_deref().and_then(|m| match m {
            "production" => Some(ir::Status::Stable),
            "beta" => Some(ir::Status::Test),
            "development" | "experimental" => Some(ir::Status::Experimental),
            "deprecated" => Some(ir::Status::Deprecated),
            _ => None,
        });
        let mut tags: Vec<String> = Vec::new();
        let mut push = |t: String| {
            if !tags.contains(&t) {
                tags.push(t);
            }
        };
        for th in &self.threat {
            if !th.framework.is_empty() && th.framework != "MITRE ATT&CK" {
                continue;
            }
            if !th.tactic.name.is_empty() {
                push(format!(
                    "attack.{}",
                    th.tactic.name.to_lowercase().replace(' ', "-")
                ));
            }
            for t in &th.techniques {
                if !t.technique.id.is_empty() {
                    push(format!("attack.{}", t.technique.id.to_lowercase()));
                }
                for s in &t.subtechniques {
                    if !s.id.is_empty() {
                        push(format!("attack.{}", s.id.to_lowercase()));
                    }
                }
            }
        }
        let mut elastic = serde_json::Map::new();
        elastic.insert("metadata".into(), serde_json::Value::Object(self.metadata));
        elastic.insert("rule".into(), serde_json::Value::Object(self.rule));
        if let Some(t) = self.transform {
            elastic.insert("transform".into(), t);
        }
        let mut custom = IndexMap::new();
        custom.insert("elastic".to_string(), serde_json::Value::Object(elastic));
        ir::Meta {
            title: self.name,
            id: Some(self.rule_id),
            status,
            description: self.description,
            license: self.license,
            author: (!self.author.is_empty()).then(|| self.author.join(", ")),
            references: self.references,
            date,
            modified,
            tags,
            falsepositives: self.false_positives,
            level,
            custom,
            ..ir::Meta::default()
        }
    }
}
