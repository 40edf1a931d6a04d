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
//! | `text: "a b"` on an analyzed text field | `Regex` (`i`): the tokens `a`, `b` consecutive ([`crate::read::text`]) |
//! | `text: a b` (unquoted) on a text field | `Or` of `Regex` (`i`): any of the tokens |
//! | `text: *` on a text field | `Not(Null)` |
//!
//! A clause on a text field (`message`, `X.text`, `powershell.file.script_block_text`...) is
//! read with a warning ([`crate::error::ErrorKind::Approximated`], once per field): the regex
//! approximates the analyzer's word boundaries (`docs/text-fields.md`).
//!
//! Refused by name: free-text values (no field), wildcard values and ranges on text fields,
//! wildcard field names, `nested` queries, unquoted `null`, ranges on non-numeric values
//! (dates, strings), and queries that are constant (`*:*`, empty).

use super::ast::{Literal, Node, NodeKind, Piece as KPiece, RangeOp, Value};
use crate::error::{Error, Result};
use crate::ir::{self, Pattern, Piece, Test};
use crate::read::lower::{
    at, default_text_fields, field_name, number, pred, refuse, str_test, Cond, TextFields,
};
use crate::read::source::{LineIndex, QueryOrigin, Span};
use crate::read::text;

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
    lower_with_warnings(q, src, origin, opts).map(|(e, _)| e)
}

/// [`lower`], with the warnings of the clauses read approximately (text fields), located in
/// the query, in query order.
///
/// # Errors
/// As [`lower`].
pub fn lower_with_warnings(
    q: &Node,
    src: &str,
    origin: &QueryOrigin,
    opts: Options,
) -> Result<(ir::Expr, Vec<Error>)> {
    let l = Lower {
        src,
        lines: LineIndex::new(src),
        origin,
        opts,
        warnings: std::cell::RefCell::default(),
    };
    match l.node(q)? {
        Cond::Expr(e) => Ok((
            e,
            l.warnings
                .into_inner()
                .into_iter()
                .map(|(_, w)| w)
                .collect(),
        )),
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
    /// The warnings so far, and the text fields they name (one warning per field).
    warnings: std::cell::RefCell<Vec<(String, Error)>>,
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
                    "Kibana expands it against the data view's field list, which a rule file does not carry; the IR names one field per predicate",
                ))
            }
            Value::Null | Value::Bool(_) => f.text(),
        };
        if (self.opts.text_fields)(&name) {
            return Err(self.refuse(
                f.span,
                format!("a KQL range on the text field `{name}`"),
                "a range on analyzed text compares tokens, which the IR does not model",
            ));
        }
        Ok(field_name(&name))
    }

    /// The field's name when it is an analyzed text field.
    fn text_field(&self, f: &Literal) -> Option<String> {
        let name = match &f.value {
            Value::Text(t) => t.clone(),
            Value::Null | Value::Bool(_) => f.text(),
            Value::Wildcard(_) => return None,
        };
        (self.opts.text_fields)(&name).then_some(name)
    }

    /// Warns, once per field, that a clause on the text field `name` (at `span`) is read
    /// approximately.
    fn warn_text(&self, name: &str, span: Span) {
        let mut w = self.warnings.borrow_mut();
        if w.iter().any(|(n, _)| n == name) {
            return;
        }
        let mut e = text::warning(name, "KQL");
        let hint = e.hint.take();
        w.push((
            name.to_string(),
            self.origin.locate(e, self.src, span, hint),
        ));
    }

    /// `name: value` on an analyzed text field: `match_phrase` (quoted), `match` (unquoted:
    /// any token), `exists` (`*`).
    fn text_is(&self, name: &str, field: &Literal, value: &Literal, span: Span) -> Result<Cond> {
        let at = at(&self.lines, span);
        let words =
            match &value.value {
                // `exists`: exact, no tokens involved.
                Value::Wildcard(ps) if ps.iter().all(|p| *p == KPiece::Star) => {
                    return Ok(Cond::Expr(ir::Expr::Not(Box::new(pred(
                        text::event_field(name),
                        Test::Null,
                        at,
                    )))));
                }
                Value::Wildcard(_) => return Err(self.refuse(
                    value.span,
                    format!(
                        "the KQL wildcard value `{}` on the text field `{name}`",
                        value.text()
                    ),
                    "Kibana sends it as a query_string query, whose wildcard terms match single \
                     analyzed tokens; quote the words for a phrase",
                )),
                Value::Null => {
                    return Err(self.refuse(
                        value.span,
                        "the KQL unquoted value `null`".into(),
                        "quote it to match the text \"null\"; `not f:*` matches a missing field",
                    ))
                }
                Value::Text(t) => t.clone(),
                Value::Bool(b) => b.to_string(),
            };
        self.warn_text(name, field.span);
        Ok(text::lower_match(name, &words, value.quoted, &at))
    }

    fn is(&self, field: &Literal, value: &Literal, span: Span) -> Result<Cond> {
        let star_only =
            |v: &Value| matches!(v, Value::Wildcard(ps) if ps.iter().all(|p| *p == KPiece::Star));
        if star_only(&field.value) && star_only(&value.value) {
            return Ok(Cond::True);
        }
        if let Some(name) = self.text_field(field) {
            return self.text_is(&name, field, value, span);
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
