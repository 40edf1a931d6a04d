//! EQL `sequence` → [`ir::Sequence`]: each term's event query lowered as an event query is,
//! join keys as plain fields (`?field` kept as optional), `maxspan` in milliseconds, `runs`
//! and missing events `![...]` kept as written (their meaning: `docs/sequence-semantics.md`).

use super::super::ast::{Expr, ExprKind, Sequence, SequenceTerm};
use super::Lower;
use crate::error::Result;
use crate::ir;
use crate::read::lower::Cond;

impl Lower<'_> {
    /// The parts of an [`ir::Sequence`] (metadata and origin are the caller's).
    pub(super) fn sequence(&self, s: &Sequence) -> Result<ir::Sequence> {
        let by = self.keys(&s.by)?;
        let steps = s
            .terms
            .iter()
            .map(|t| self.step(t, false))
            .collect::<Result<Vec<_>>>()?;
        let until = s.until.as_ref().map(|t| self.step(t, true)).transpose()?;
        Ok(ir::Sequence {
            meta: ir::Meta::default(),
            by,
            maxspan: s.maxspan.as_ref().map(|m| ir::Maxspan {
                text: format!("{}{}", m.value, m.unit.as_deref().unwrap_or("")),
                millis: m.millis,
            }),
            steps,
            until,
            origin: ir::Origin::default(),
        })
    }

    fn step(&self, t: &SequenceTerm, until: bool) -> Result<ir::Step> {
        let condition = match self.event(&t.query)? {
            Cond::Expr(x) => x,
            Cond::True => {
                return Err(self.refuse(
                    t.span,
                    "a sequence query that matches every event".into(),
                    "the IR has no always-true condition; name the event category",
                ))
            }
            Cond::False => {
                return Err(self.refuse(
                    t.span,
                    "a sequence query that matches no event".into(),
                    "the condition is always false",
                ))
            }
        };
        if until && t.runs.is_some() {
            return Err(self.refuse(
                t.span,
                "`with runs` on an `until` query".into(),
                "Elasticsearch repeats sequence queries only",
            ));
        }
        Ok(ir::Step {
            condition,
            by: self.keys(&t.by)?,
            runs: t.runs.unwrap_or(1),
            missing: t.missing,
        })
    }

    pub(super) fn keys(&self, keys: &[Expr]) -> Result<Vec<ir::JoinKey>> {
        keys.iter()
            .map(|k| {
                let ExprKind::Field(f) = &k.kind else {
                    return Err(self.refuse(
                        k.span,
                        "a join key that is not a field".into(),
                        "the IR joins sequences on field values",
                    ));
                };
                let (field, caseless) = self.field_of(f, k.span)?;
                if caseless {
                    return Err(self.refuse(
                        k.span,
                        "a `.caseless` join key".into(),
                        "join on the base field (keys compare as exact text)",
                    ));
                }
                Ok(ir::JoinKey {
                    field,
                    optional: f.optional,
                })
            })
            .collect()
    }
}
