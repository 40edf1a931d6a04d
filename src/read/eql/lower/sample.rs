//! EQL `sample by k [q1] [q2] ...` → the terms' conditions and the shared join keys, which
//! [`crate::read::sample`] turns into a `temporal` correlation.

use super::super::ast::Sample;
use super::Lower;
use crate::error::Result;
use crate::ir;
use crate::read::lower::Cond;

/// A lowered EQL sample.
#[derive(Debug, Clone, PartialEq)]
pub struct LoweredSample {
    /// The join keys every term shares (plain, non-optional fields).
    pub by: Vec<String>,
    /// Each term's event condition, in order.
    pub terms: Vec<ir::Expr>,
}

impl Lower<'_> {
    pub(super) fn sample(&self, s: &Sample) -> Result<LoweredSample> {
        let span = |e: &[super::super::ast::Expr]| e.first().map(|k| k.span);
        let mut by = Vec::new();
        for k in self.keys(&s.by)? {
            if k.optional {
                return Err(self.refuse(
                    span(&s.by).unwrap_or_default(),
                    "an optional join key `?field` in an EQL sample".into(),
                    "the IR groups correlations on fields that have a value",
                ));
            }
            by.push(k.field);
        }
        if by.is_empty() {
            return Err(self.refuse(
                s.terms.first().map(|t| t.0.span).unwrap_or_default(),
                "an EQL sample without join keys".into(),
                "write `sample by field [...] [...]`",
            ));
        }
        let mut terms = Vec::new();
        for (q, keys) in &s.terms {
            if let Some(k) = keys.first() {
                return Err(self.refuse(
                    k.span,
                    "per-query join keys in an EQL sample".into(),
                    "the reader takes keys shared by every query (`sample by ...`)",
                ));
            }
            terms.push(match self.event(q)? {
                Cond::Expr(x) => x,
                Cond::True | Cond::False => {
                    return Err(self.refuse(
                        q.span,
                        "a sample query that matches every event or none".into(),
                        "the IR has no constant conditions",
                    ))
                }
            });
        }
        Ok(LoweredSample { by, terms })
    }
}
