//! Sequences: an ordered series of event conditions joined on key fields within a time span
//! (Elasticsearch EQL's `sequence`). What a sequence matches is written down in
//! `docs/sequence-semantics.md`; the native evaluator (`eval::correlate`, its `sequence` part) implements it.

use serde::{Deserialize, Serialize};

use super::{Expr, Meta, Origin};

/// A sequence rule: `sequence [by keys] [with maxspan=T] [q] [by keys] ... [until [q]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    /// Metadata.
    pub meta: Meta,
    /// Join keys shared by every step (`sequence by ...`), compared before each step's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by: Vec<JoinKey>,
    /// `with maxspan=`: every event of a completed sequence lies within this span of the
    /// first one (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxspan: Option<Maxspan>,
    /// The steps, in order; at least two events in all (a step with `runs` N counts N times).
    pub steps: Vec<Step>,
    /// `until [q]`: an event matching it ends the pending sequences of its join key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Step>,
    /// Where it came from.
    #[serde(default)]
    pub origin: Origin,
}

/// One step (`[q] by keys with runs=N`) of a sequence, or its `until` condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// What the event must match.
    pub condition: Expr,
    /// The step's own join keys (after the shared ones); every step has as many.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by: Vec<JoinKey>,
    /// `with runs=N`: the step repeated N times (1 when not written).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub runs: u64,
    /// `![q]`: a missing event (no such event between the neighbouring steps).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
}

fn one() -> u64 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_one(n: &u64) -> bool {
    *n == 1
}

/// A join key field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinKey {
    /// The field.
    pub field: String,
    /// Written `?field`: a missing or `null` value is a key value of its own (`null`);
    /// otherwise an event without a value for the key takes no part in the sequence.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// `with maxspan=30s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maxspan {
    /// As written (`30s`, `5m`, `500` meaning milliseconds).
    pub text: String,
    /// In milliseconds.
    pub millis: u64,
}

impl Sequence {
    /// The steps with `runs` expanded: one entry per event position, each the index of its
    /// step in [`Sequence::steps`].
    #[must_use]
    pub fn positions(&self) -> Vec<usize> {
        self.steps
            .iter()
            .enumerate()
            .flat_map(|(i, s)| std::iter::repeat_n(i, usize::try_from(s.runs).unwrap_or(1)))
            .collect()
    }

    /// Every step's condition, the `until` one last.
    pub fn conditions(&self) -> impl Iterator<Item = &Expr> {
        self.steps
            .iter()
            .chain(self.until.as_ref())
            .map(|s| &s.condition)
    }

    /// Every step's condition, mutably, the `until` one last.
    pub fn conditions_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        self.steps
            .iter_mut()
            .chain(self.until.as_mut())
            .map(|s| &mut s.condition)
    }

    /// Every join key field (shared and per step), mutably.
    pub fn keys_mut(&mut self) -> impl Iterator<Item = &mut JoinKey> {
        self.by.iter_mut().chain(
            self.steps
                .iter_mut()
                .chain(self.until.as_mut())
                .flat_map(|s| s.by.iter_mut()),
        )
    }
}
