//! Correlation rules (Sigma 2.1 `correlation`): the types, the thresholds and the timespan.
//! What a correlation matches is written down in `docs/correlation-semantics.md`.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::{CmpOp, Meta, Number, Origin};

/// The `correlation` types of Sigma 2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationType {
    /// Number of events per group.
    EventCount,
    /// Number of distinct values of a field per group.
    ValueCount,
    /// All rules match within the timespan, any order.
    Temporal,
    /// All rules match within the timespan, in the listed order.
    TemporalOrdered,
    /// Sum of a numeric field.
    ValueSum,
    /// Average of a numeric field.
    ValueAvg,
    /// Percentile of a numeric field.
    ValuePercentile,
    /// Median of a numeric field (`value_median`: an extension shared by pySigma and rsigma,
    /// not in the Sigma specification).
    ValueMedian,
}

/// A correlation rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// Metadata.
    pub meta: Meta,
    /// `correlation.type`.
    pub kind: CorrelationType,
    /// `correlation.rules`: ids or names of the correlated rules.
    pub rules: Vec<String>,
    /// `correlation.group-by`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// `correlation.timespan`.
    pub timespan: Timespan,
    /// `correlation.condition`: the thresholds, all of which must hold. For temporal types
    /// without a condition, the front end fills in `gte: <number of rules>`.
    pub condition: Vec<(CmpOp, Number)>,
    /// `correlation.condition.field` (value_* types).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field: Vec<String>,
    /// `correlation.condition.percentile` (value_percentile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<Number>,
    /// `correlation.aliases`: alias → (rule id or name → field).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub aliases: IndexMap<String, IndexMap<String, String>>,
    /// `correlation.generate` (or the top-level v2.0 `generate`).
    #[serde(default)]
    pub generate: bool,
    /// Where it came from.
    #[serde(default)]
    pub origin: Origin,
}

/// A timespan such as `90m`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timespan {
    /// As written.
    pub text: String,
    /// In seconds.
    pub seconds: u64,
}

impl CorrelationType {
    /// The type's name as Sigma writes it (`event_count`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
            CorrelationType::ValueMedian => "value_median",
        }
    }

    /// Whether the type's aggregate only grows as members join a window.
    fn grows(self) -> bool {
        match self {
            CorrelationType::EventCount
            | CorrelationType::ValueCount
            | CorrelationType::Temporal
            | CorrelationType::TemporalOrdered
            | CorrelationType::ValueSum => true,
            CorrelationType::ValueAvg
            | CorrelationType::ValuePercentile
            | CorrelationType::ValueMedian => false,
        }
    }
}

impl Correlation {
    /// Whether the correlation fires on sliding windows (`docs/correlation-semantics.md`,
    /// "Windows and firing"): lower bounds only (`gt`, `gte`) on a type whose aggregate only
    /// grows as members join; everything else is judged on fixed, consecutive windows. The
    /// evaluator and the backends read this one answer.
    #[must_use]
    pub fn slides(&self) -> bool {
        self.kind.grows()
            && self
                .condition
                .iter()
                .all(|(op, _)| matches!(op, CmpOp::Gt | CmpOp::Gte))
    }
}
