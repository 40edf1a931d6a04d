//! KQL → IR, with the meaning Kibana gives it on keyword fields (elastic.md §4.3):
//!
//! | KQL | IR |
//! |---|---|
//! | `f: value`, `f: "value"` | `Str` literal, `cased` (`term` / `match_phrase` on a keyword) |
//! | `f: va*ue` (unquoted) | `Str` pattern with `*`, `cased` (a `?` is an ordinary character) |
//! | `f: *` | `Not(Null)`: the field exists with a value |
//! | `f: true` / `f: false` | `Str` literal `true` / `false`, `cased` (a JSON boolean is tested through its text) |
//! | `f.ip: 10.0.0.0/8` | `Cidr` (an `ip` field compares with the network) |
//! | `f >= 5` ... | `Num` |
//! | `not`, `and`, `or` | `Not`, `And`, `Or` (`not` is `must_not`: true on a missing field) |
//!
//! Refused by name: free-text values (no field), analyzed text fields (`message`, `*.text`,
//! ...: token matching), wildcard field names, `nested` queries, unquoted `null`, ranges on
//! non-numeric values (dates, strings), and queries that are constant (`*:*`, empty).

use super::ast::{Literal, Node, NodeKind, Piece as KPiece, RangeOp, Value};
use crate::error::{Error, Result};
use crate::ir::{self, Pattern, Piece, Test};
use crate::read::lower::{
    at, default_text_fields, field_name, number, pred, refuse, str_test, Cond, TextFields,
};
use crate::read::source::{LineIndex, QueryOrigin, Span};

/// How to lower.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Which fields are analyzed text.
    pub text_fields: TextFields,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            text_fields: default_text_fields,
        }
    }
}

/// Lowers a parsed KQL query to one IR condition.
///
/// # Errors
/// [`crate::error::ErrorKind::Unsupported`] naming the construct the IR cannot express
/// exactly; located at the construct.
pub fn lower(q: &Node, src: &str, origin: &QueryOrigin, opts: Options) -> Result<ir::Expr> {
    let l = Lower {
        src,
        lines: LineIndex::new(src),
        origin,
        opts,
    };
    match l.node(q)? {
        Cond::Expr(e) => Ok(e),
        Cond::True => Err(l.refuse(
            q.span,
            "a KQL query that matches every document".into(),
            "the IR has no always-true condition",
        )),
        Cond::False => Err(l.refuse(
            q.span,
            "a KQL query that matches no document".into(),
            "the query is always false",
        )),
    }
}

struct Lower<'a> {
    src: &'a str,
    lines: LineIndex<'a>,
    origin: &'a QueryOrigin,
    opts: Options,
}

impl Lower<'_> {
    fn refuse(&self, span: Span, what: String, hint: &str) -> Error {
        refuse(self.origin, self.src, span, what, hint)
    }

    fn node(&self, n: &Node) -> Result<Cond> {
        match &n.kind {
            NodeKind::Or(xs) => Ok(Cond::or(
                xs.iter().map(|x| self.node(x)).collect::<Result<_>>()?,
            )),
            NodeKind::And(xs) => Ok(Cond::and(
                xs.iter().map(|x| self.node(x)).collect::<Result<_>>()?,
            )),
            NodeKind::Not(x) => Ok(self.node(x)?.negate()),
            NodeKind::MatchAll => Ok(Cond::True),
            NodeKind::Nested { .. } => Err(self.refuse(
                n.span,
                "a KQL nested query `field:{ ... }`".into(),
                "the IR has no scopes over objects of a nested array",
            )),
            NodeKind::Range { field, op, value } => {
                let (f, _) = self.field(field)?;
                let num = match &value.value {
                    Value::Text(t) => number(t.trim_start_matches('-'), t.starts_with('-'))
                        .filter(|_| !t.is_empty()),
                    Value::Wildcard(_) | Value::Null | Value::Bool(_) => None,
                };
                let Some(num) = num else {
                    return Err(self.refuse(
                        value.span,
                        format!("a KQL range on the non-numeric value `{}`", value.text()),
                        "the IR orders numbers only (dates and strings are not lowered)",
                    ));
                };
                let op = match op {
                    RangeOp::Lt => ir::CmpOp::Lt,
                    RangeOp::Lte => ir::CmpOp::Lte,
                    RangeOp::Gt => ir::CmpOp::Gt,
                    RangeOp::Gte => ir::CmpOp::Gte,
                };
                Ok(Cond::Expr(pred(
                    &f,
                    Test::Num { op, value: num },
                    at(&self.lines, n.span),
                )))
            }
            NodeKind::Is { field: None, value } => Err(self.refuse(
                value.span,
                format!("the KQL free-text value `{}`", value.text()),
                "free text searches analyzed default fields; name the field",
            )),
            NodeKind::Is {
                field: Some(field),
                value,
            } => self.is(field, value, n.span),
        }
    }

    fn field(&self, f: &Literal) -> Result<(String, bool)> {
        let name = match &f.value {
            Value::Text(t) => t.clone(),
            Value::Wildcard(_) => {
                return Err(self.refuse(
                    f.span,
                    format!("the KQL wildcard field name `{}`", f.text()),
                    "the IR names one field per predicate",
                ))
            }
            Value::Null | Value::Bool(_) => f.text(),
        };
        if (self.opts.text_fields)(&name) {
            return Err(self.refuse(
                f.span,
                format!("KQL on the text field `{name}`"),
                "text fields match analyzed tokens, which the IR does not model",
            ));
        }
        Ok(field_name(&name))
    }

    fn is(&self, field: &Literal, value: &Literal, span: Span) -> Result<Cond> {
        let star_only =
            |v: &Value| matches!(v, Value::Wildcard(ps) if ps.iter().all(|p| *p == KPiece::Star));
        if star_only(&field.value) && star_only(&value.value) {
            return Ok(Cond::True);
        }
        let (f, caseless) = self.field(field)?;
        let at = at(&self.lines, span);
        let cased = !caseless;
        let test = match &value.value {
            v if star_only(v) => {
                return Ok(Cond::Expr(ir::Expr::Not(Box::new(pred(
                    &f,
                    Test::Null,
                    at,
                )))));
            }
            Value::Wildcard(ps) => str_test(
                Pattern::new(ps.iter().map(|p| match p {
                    KPiece::Lit(s) => Piece::Lit(s.clone()),
                    KPiece::Star => Piece::AnyMany,
                })),
                cased,
            ),
            Value::Text(t) => {
                let is_ip_field = f == "ip" || f.ends_with(".ip");
                if is_ip_field && t.contains('/') {
                    match t.parse::<ipnet::IpNet>() {
                        Ok(_) => Test::Cidr(t.clone()),
                        Err(_) => str_test(Pattern::literal(t), cased),
                    }
                } else {
                    str_test(Pattern::literal(t), cased)
                }
            }
            Value::Bool(b) => str_test(Pattern::literal(if *b { "true" } else { "false" }), true),
            Value::Null => {
                return Err(self.refuse(
                    value.span,
                    "the KQL unquoted value `null`".into(),
                    "quote it to match the text \"null\"; `not f:*` matches a missing field",
                ))
            }
        };
        Ok(Cond::Expr(pred(&f, test, at)))
    }
}
