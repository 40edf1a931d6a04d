//! `length(field) <op> N` → an anchored IR regex on the field's characters:
//!
//! | EQL | IR regex (flag `s`: `.` takes line breaks too) |
//! |---|---|
//! | `length(f) > N` | `^.{N+1,}` |
//! | `length(f) >= N` | `^.{N,}` |
//! | `length(f) < N` | `^.{0,N-1}$` (`N` = 0: no value) |
//! | `length(f) <= N` | `^.{0,N}$` |
//! | `length(f) == N` | `^.{N}$` |
//! | `length(f) != N` | `f` has a value and not `^.{N}$` |
//!
//! A missing or `null` field is false (Elasticsearch: `length(null)` is `null`, and a
//! comparison with `null` does not hold). Length counts characters (Unicode scalar values);
//! Elasticsearch's script counts UTF-16 code units: the two differ only on characters outside
//! the Basic Multilingual Plane. On an array, any element (as every IR test); Elasticsearch's
//! script reads one value.

use super::super::ast::{CmpOp, Expr, ExprKind};
use super::Lower;
use crate::error::Result;
use crate::ir::{self, Test};
use crate::read::lower::{pred, Cond};
use crate::read::source::Span;

/// The most characters a length test counts (a larger bound is refused: the regex would be
/// too large).
const MAX_LENGTH: u64 = 10_000;

impl Lower<'_> {
    pub(super) fn length(&self, op: CmpOp, args: &[Expr], rhs: &Expr, span: Span) -> Result<Cond> {
        let [arg] = args else {
            return Err(self.refuse(
                span,
                format!("`length` with {} arguments", args.len()),
                "write length(field)",
            ));
        };
        let ExprKind::Field(f) = &arg.kind else {
            return Err(self.refuse(
                arg.span,
                "`length` of a computed value".into(),
                "the IR measures fields only",
            ));
        };
        let (field, _) = self.field_of(f, arg.span)?;
        let n = match &rhs.kind {
            ExprKind::Num(t) => t.parse::<u64>().ok().filter(|&n| n <= MAX_LENGTH),
            _ => None,
        };
        let Some(n) = n else {
            return Err(self.refuse(
                rhs.span,
                "a `length` comparison with something other than a whole number up to 10000".into(),
                "compare length(field) with a whole number",
            ));
        };
        let re = |pattern: String| {
            Cond::Expr(pred(
                &field,
                Test::Regex {
                    pattern,
                    flags: ir::RegexFlags {
                        dot_all: true,
                        ..ir::RegexFlags::default()
                    },
                },
                self.at(span),
            ))
        };
        Ok(match op {
            CmpOp::Gt => re(format!("^.{{{},}}", n + 1)),
            CmpOp::Gte => re(format!("^.{{{n},}}")),
            CmpOp::Lt if n == 0 => Cond::False,
            CmpOp::Lt => re(format!("^.{{0,{}}}$", n - 1)),
            CmpOp::Lte => re(format!("^.{{0,{n}}}$")),
            CmpOp::Eq => re(format!("^.{{{n}}}$")),
            CmpOp::Neq => Cond::and(vec![
                Cond::Expr(pred(&field, Test::Exists(true), self.at(span))),
                re(format!("^.{{{n}}}$")).negate(),
            ]),
        })
    }
}
