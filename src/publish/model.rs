//! detection-rules' rule model (`[metadata]`, `[rule]`, `[[rule.threat]]`), serialized into
//! both output formats' templates.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::Warning;

pub use super::required::{RelatedIntegration, RequiredField};

/// A rule in detection-rules' model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElasticRule {
    /// `[metadata]`.
    pub metadata: Metadata,
    /// `[rule]`.
    pub rule: RuleData,
    /// Where the rule goes under an output folder: `<os folder>/<primary tactic>_<name>`,
    /// without extension.
    #[serde(skip)]
    pub stem: PathBuf,
}

/// `[metadata]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// `YYYY/MM/DD` from the Sigma `date`.
    pub creation_date: String,
    /// Set (to `updated_date`) for deprecated rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecation_date: Option<String>,
    /// Integration packages, from the pipeline's `integration` state.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub integration: Vec<String>,
    /// `production`, `development` or `deprecated`, from the Sigma `status`.
    pub maturity: &'static str,
    /// `YYYY/MM/DD` from the Sigma `modified` (else `date`).
    pub updated_date: String,
}

/// `[rule]` (plus `threat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleData {
    /// The Sigma `author`, split on commas.
    pub author: Vec<String>,
    /// The Sigma `description` (or the title), trimmed.
    pub description: String,
    /// The Sigma `falsepositives`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub false_positives: Vec<String>,
    /// The look-back.
    pub from: String,
    /// Index patterns (empty for ES|QL, whose query names its source).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub index: Vec<String>,
    /// The schedule.
    pub interval: String,
    /// `eql`, `kuery`, `lucene` or `esql`.
    pub language: &'static str,
    /// The rule's licence.
    pub license: String,
    /// The Sigma `title`, trimmed to detection-rules' name pattern.
    pub name: String,
    /// Markdown note: provenance, false positives, references.
    pub note: String,
    /// The Sigma `references`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Within the band of `severity`.
    pub risk_score: u8,
    /// The Sigma `id` (lower-case), or a UUIDv5 derived from the rule.
    pub rule_id: String,
    /// Markdown: what the log source needs set up (the pipeline's `setup` state).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<String>,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: &'static str,
    /// Tags in Elastic's vocabulary.
    pub tags: Vec<String>,
    /// Usually `event.ingested`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_override: Option<String>,
    /// `eql`, `query` or `esql`.
    #[serde(rename = "type")]
    pub rule_type: &'static str,
    /// The rendered query.
    pub query: String,
    /// The integration packages the rule's data comes from (build-time in detection-rules).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_integrations: Vec<RelatedIntegration>,
    /// The query's fields typed from ECS (build-time in detection-rules).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required_fields: Vec<RequiredField>,
    /// One entry per tactic; the first is the primary tactic.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub threat: Vec<Threat>,
    /// `[rule.threshold]` of a threshold rule (a Sigma `event_count` or `value_count`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
}

/// `[rule.threshold]`: alert when at least `value` events (and, per `cardinality` entry, at
/// least its `value` distinct values of its field) share the values of `field`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Threshold {
    /// The group-by fields (at most 3); empty: all events of the look-back form one group.
    pub field: Vec<String>,
    /// The least number of events.
    pub value: u64,
    /// `[[rule.threshold.cardinality]]` entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cardinality: Vec<Cardinality>,
}

/// A `[[rule.threshold.cardinality]]` entry: at least `value` distinct values of `field`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cardinality {
    /// The counted field.
    pub field: String,
    /// The least number of distinct values.
    pub value: u64,
}

/// A `[[rule.threat]]` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Threat {
    /// `MITRE ATT&CK`.
    pub framework: &'static str,
    /// The tactic.
    pub tactic: Ref,
    /// Its techniques.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub technique: Vec<TechniqueRef>,
}

/// An id, official name and reference URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ref {
    /// `TA0010`, `T1048`, `T1048.003`.
    pub id: String,
    /// The official name.
    pub name: String,
    /// The URL, with trailing slash.
    pub reference: String,
}

/// A technique with its sub-techniques.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TechniqueRef {
    /// `T1048`.
    pub id: String,
    /// The official name.
    pub name: String,
    /// The URL, with trailing slash.
    pub reference: String,
    /// Sub-techniques.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subtechnique: Vec<Ref>,
}

/// Settings that are not in the Sigma rule (their defaults are in `dates.rs`, beside
/// `today_utc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `rule.from`, the look-back (date math). Default `now-9m`, as Elastic's own rules.
    pub from: String,
    /// `rule.interval`. Default `5m`.
    pub interval: String,
    /// `rule.license` when the Sigma rule has none. Default `DRL-1.1` (SigmaHQ's Detection
    /// Rule License).
    pub license: String,
    /// `rule.timestamp_override`. Default `event.ingested`; `None` leaves it out.
    pub timestamp_override: Option<String>,
    /// The date (`YYYY/MM/DD`) used when a rule has no valid `date`. Default: today (UTC).
    pub today: String,
}

/// `snake_case` ASCII form of a name for file names.
#[must_use]
pub fn snake(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_');
    let mut out: String = out.chars().take(100).collect();
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Adds a warning located at the key `at` of the Sigma rule.
pub(super) fn warn(w: &mut Vec<Warning>, message: String, at: &str) {
    w.push(Warning {
        message,
        at: Some(at.to_string()),
    });
}
