//! EQL → IR, with Elasticsearch's meaning (elastic.md §3.2–3.5), for event queries the IR
//! expresses exactly. Everything else is refused by name.
//!
//! | EQL | IR |
//! |---|---|
//! | `category where c` | `event.category` (or `event_category_override`) equals `category`, case-sensitive, and `c`; `any` adds nothing |
//! | `f == "s"`, `f in ("s", ...)` | `Str` literal, `cased` |
//! | `f : "p"`, `f like~ "p"`, `f in~ (...)` | `Str` pattern (`*`, `?` wildcards for `:` / `like~`), case-insensitive |
//! | `f like "p"` | `Str` pattern, `cased` |
//! | `f regex "r"`, `f regex~ "r"` | `Regex`, the Lucene regexp translated exactly and anchored ([`crate::read::lucene_regex`]; under `regex~`, a class with a letter but not its other case as Elasticsearch documents it, with a warning) |
//! | `f == 5`, `f < 5` ... | `Num` |
//! | `f < "s"` ... (strings) | an anchored `Regex` of the strings on that side of `s`, in code-point order (`lower/order.rs`) |
//! | `f == true` | `Bool` |
//! | `f == null` / `f != null` | `Null` / `Not(Null)` |
//! | `!=`, `not`, `not in` | `Not(...)`: true on a missing field, as Elasticsearch's `must_not` |
//! | `startsWith(f, "s")`, `endsWith`, `stringContains` (`~`: case-insensitive) | `Str` `s*`, `*s`, `*s*` |
//! | `startsWith(f, g)`, `endsWith(f, g)`, `stringContains(f, g)` | `FieldRef` (`starts_with`, `ends_with`, `contains`; false when either is missing) |
//! | `cidrMatch(f, "net", ...)` | `Or` of `Cidr` |
//! | `length(f) > 5` ... | an anchored `Regex` counting characters (`lower/length.rs`) |
//! | `X.caseless` | `X`, every string test case-insensitive |
//! | `?f` | `f` (optional only changes schema validation) |
//!
//! Negation is two-valued everywhere, as Elasticsearch's query translation makes it: a
//! function on a field and a constant becomes a prefix or wildcard query, one on two fields a
//! script query (false when an argument is missing), and `not` wraps either in `must_not`
//! (`ExpressionTranslators` `Nots`: `wrappedQuery.negate()`), which matches documents the
//! inner query does not, missing fields included.

mod length;
mod order;
mod sample;
mod sequence;

pub use sample::LoweredSample;

use super::ast::{Body, Category, CmpOp, EventQuery, Expr, ExprKind, Field, MatchOp, Query};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::{self, Pattern, Piece, Test};
use crate::read::lower::{
    at, default_text_fields, eql_wildcard, field_name, number, pred, refuse, str_test, Cond,
    TextFields,
};
use crate::read::lucene_regex;
use crate::read::source::{LineIndex, QueryOrigin, Span};

/// How to lower.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The field holding the event category (`event.category`, or the rule's
    /// `event_category_override`).
    pub category_field: &'a str,
    /// Which fields are analyzed text.
    pub text_fields: TextFields,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            category_field: "event.category",
            text_fields: default_text_fields,
        }
    }
}

/// A lowered EQL query.
#[derive(Debug, Clone, PartialEq)]
pub enum Lowered {
    /// An event query: one condition.
    Event(ir::Expr),
    /// A sequence (metadata and origin left default for the caller).
    Sequence(Box<ir::Sequence>),
    /// A sample: its terms and join keys (`read::sample` makes the documents).
    Sample(Box<LoweredSample>),
}

/// Lowers a parsed EQL query to one IR condition (event queries only).
///
/// # Errors
/// As [`lower_query`], and [`ErrorKind::Unsupported`] for a sequence.
pub fn lower(q: &Query, src: &str, origin: &QueryOrigin, opts: Options<'_>) -> Result<ir::Expr> {
    match lower_query(q, src, origin, opts)? {
        Lowered::Event(x) => Ok(x),
        Lowered::Sequence(_) | Lowered::Sample(_) => {
            let l = Lower::new(src, origin, opts);
            Err(l.refuse(
                q.span,
                "an EQL sequence or sample as one event condition".into(),
                "read the rule as a document (`read::lower_document`)",
            ))
        }
    }
}

/// Lowers a parsed EQL query: an event query to one IR condition, a sequence to an
/// [`ir::Sequence`]; `| head N` / `| tail N` are dropped (with a warning from
/// [`lower_query_with_warnings`]: which events match is unchanged).
///
/// # Errors
/// [`ErrorKind::Unsupported`] naming the construct the IR cannot express exactly (samples,
/// pipes, functions other than the string and CIDR ones, arithmetic, field-to-field
/// comparisons, string ordering, constant conditions...), [`ErrorKind::InvalidRegex`] /
/// [`ErrorKind::InvalidCidr`] for bad constants; located at the construct.
pub fn lower_query(
    q: &Query,
    src: &str,
    origin: &QueryOrigin,
    opts: Options<'_>,
) -> Result<Lowered> {
    lower_query_with_warnings(q, src, origin, opts).map(|(l, _)| l)
}

/// [`lower_query`], with the warnings of constructs read with one documented meaning where
/// Elasticsearch's versions differ ([`ErrorKind::Approximated`]), located in the query.
///
/// # Errors
/// As [`lower_query`].
pub fn lower_query_with_warnings(
    q: &Query,
    src: &str,
    origin: &QueryOrigin,
    opts: Options<'_>,
) -> Result<(Lowered, Vec<Error>)> {
    let l = Lower::new(src, origin, opts);
    let lowered = l.query(q)?;
    Ok((lowered, l.warnings.into_inner()))
}

impl Lower<'_> {
    fn query(&self, q: &Query) -> Result<Lowered> {
        let l = self;
        for p in &q.pipes {
            l.pipe(p)?;
        }
        let e = match &q.body {
            Body::Event(e) => e,
            Body::Sequence(s) => return l.sequence(s).map(|s| Lowered::Sequence(Box::new(s))),
            Body::Sample(s) => return l.sample(s).map(|s| Lowered::Sample(Box::new(s))),
        };
        match l.event(e)? {
            Cond::Expr(x) => Ok(Lowered::Event(x)),
            Cond::True => Err(l.refuse(
                e.span,
                "an event query that matches every event".into(),
                "the IR has no always-true condition",
            )),
            Cond::False => Err(l.refuse(
                e.span,
                "an event query that matches no event".into(),
                "the condition is always false",
            )),
        }
    }
}

struct Lower<'a> {
    src: &'a str,
    lines: LineIndex<'a>,
    origin: &'a QueryOrigin,
    opts: Options<'a>,
    /// Warnings so far.
    warnings: std::cell::RefCell<Vec<Error>>,
}

/// A constant operand.
enum Const<'e> {
    Str(&'e str),
    Num(ir::Number),
    Bool(bool),
    Null,
}

impl<'a> Lower<'a> {
    fn new(src: &'a str, origin: &'a QueryOrigin, opts: Options<'a>) -> Self {
        Lower {
            src,
            lines: LineIndex::new(src),
            origin,
            opts,
            warnings: std::cell::RefCell::default(),
        }
    }
}

impl Lower<'_> {
    /// `| head N` / `| tail N` keep N results of each search: which events match is the
    /// same without them, so they are dropped with a warning; other pipes are refused.
    fn pipe(&self, p: &super::ast::Pipe) -> Result<()> {
        let name = p.name.to_ascii_lowercase();
        let limit = matches!(name.as_str(), "head" | "tail")
            && matches!(p.args.as_slice(), [a] if matches!(a.kind, ExprKind::Num(_)));
        if !limit {
            return Err(self.refuse(
                p.span,
                format!("the EQL pipe `| {}`", p.name),
                "the IR has no result pipes; `| head N` and `| tail N` are read without their limit",
            ));
        }
        let w = self.located(
            ErrorKind::Approximated(format!(
                "the EQL pipe `| {}` keeps only the {} results of each search in Elasticsearch; \
                 it is dropped: evaluation and the other backends report every match (which \
                 events match is unchanged)",
                self.src
                    .get(p.span.start()..p.span.end as usize)
                    .unwrap_or(p.name.as_str())
                    .trim_start_matches('|')
                    .trim(),
                if name == "head" { "first" } else { "last" },
            )),
            p.span,
            "the limit bounds how many alerts one rule execution raises, not what matches",
        );
        self.warnings.borrow_mut().push(w);
        Ok(())
    }

    fn refuse(&self, span: Span, what: String, hint: &str) -> Error {
        refuse(self.origin, self.src, span, what, hint)
    }

    fn located(&self, kind: ErrorKind, span: Span, hint: &str) -> Error {
        self.origin
            .locate(Error::new(kind), self.src, span, Some(hint.to_string()))
    }

    fn at(&self, span: Span) -> String {
        at(&self.lines, span)
    }

    fn event(&self, e: &EventQuery) -> Result<Cond> {
        let cond = self.cond(&e.condition)?;
        Ok(match &e.category {
            Category::Any => cond,
            Category::Name(c) => Cond::and(vec![
                Cond::Expr(pred(
                    self.opts.category_field,
                    str_test(Pattern::literal(c), true),
                    self.at(e.span),
                )),
                cond,
            ]),
        })
    }

    fn cond(&self, e: &Expr) -> Result<Cond> {
        match &e.kind {
            ExprKind::Or(xs) => Ok(Cond::or(
                xs.iter().map(|x| self.cond(x)).collect::<Result<_>>()?,
            )),
            ExprKind::And(xs) => Ok(Cond::and(
                xs.iter().map(|x| self.cond(x)).collect::<Result<_>>()?,
            )),
            ExprKind::Not(x) => Ok(self.cond(x)?.negate()),
            ExprKind::Bool(b) => Ok(if *b { Cond::True } else { Cond::False }),
            ExprKind::Cmp { op, lhs, rhs } => self.cmp(*op, lhs, rhs, e.span),
            ExprKind::In {
                expr,
                list,
                negated,
                insensitive,
            } => {
                let (field, caseless) = self.field(expr)?;
                let mut xs = Vec::new();
                for item in list {
                    let c = self.constant(item)?.ok_or_else(|| {
                        self.refuse(
                            item.span,
                            "a non-constant in an `in` list".into(),
                            "the IR compares a field with constants only",
                        )
                    })?;
                    xs.push(self.equals(&field, &c, *insensitive || caseless, item.span)?);
                }
                let c = Cond::or(xs);
                Ok(if *negated { c.negate() } else { c })
            }
            ExprKind::Match { expr, op, patterns } => {
                let (field, caseless) = self.field(expr)?;
                let mut xs = Vec::new();
                for p in patterns {
                    let ExprKind::Str(s) = &p.kind else {
                        return Err(self.refuse(
                            p.span,
                            format!("a non-string pattern after `{}`", op.text()),
                            "Elasticsearch applies these operators to strings only",
                        ));
                    };
                    let test = match op {
                        MatchOp::Colon | MatchOp::LikeInsensitive => {
                            str_test(eql_wildcard(s), false)
                        }
                        MatchOp::Like => str_test(eql_wildcard(s), !caseless),
                        MatchOp::Regex | MatchOp::RegexInsensitive => {
                            if caseless {
                                return Err(self.refuse(
                                    expr.span,
                                    "`regex` on a `.caseless` field".into(),
                                    "the regex would run on the lower-cased copy; write it on the base field with `regex~`",
                                ));
                            }
                            let ci = *op == MatchOp::RegexInsensitive;
                            let (pattern, notes) = lucene_regex::to_ir_regex_noted(s, ci).map_err(|m| {
                                if m.starts_with("the ")
                                    || m.starts_with("a ")
                                    || m.contains("versions differ")
                                {
                                    self.refuse(
                                        p.span,
                                        format!("{m} in an EQL `{}` pattern", op.text()),
                                        "rewrite the regexp without it",
                                    )
                                } else {
                                    self.located(
                                        ErrorKind::InvalidRegex(m),
                                        p.span,
                                        "Lucene regexp syntax: . ? + * | {n,m} [...] ( ) \"...\" \\",
                                    )
                                }
                            })?;
                            for n in notes {
                                let w = self.located(
                                    ErrorKind::Approximated(n),
                                    p.span,
                                    "Elasticsearch versions may fold classes under `regex~` differently; write both cases (`[a-zA-Z]`) for one meaning everywhere",
                                );
                                self.warnings.borrow_mut().push(w);
                            }
                            Test::Regex {
                                pattern,
                                flags: ir::RegexFlags::default(),
                            }
                        }
                    };
                    xs.push(Cond::Expr(pred(&field, test, self.at(p.span))));
                }
                Ok(Cond::or(xs))
            }
            ExprKind::Call {
                name,
                insensitive,
                args,
            } => self.call(name, *insensitive, args, e.span),
            ExprKind::Field(_) => Err(self.refuse(
                e.span,
                "a field used as a condition".into(),
                "compare it, e.g. `f == true` or `f != null`",
            )),
            ExprKind::Str(_) | ExprKind::Num(_) | ExprKind::Null => Err(self.refuse(
                e.span,
                "a constant used as a condition".into(),
                "Elasticsearch requires a boolean condition",
            )),
            ExprKind::Arith { .. } | ExprKind::Neg(_) => Err(self.refuse(
                e.span,
                "EQL arithmetic".into(),
                "the IR has no computed values",
            )),
        }
    }

    /// The IR field of an operand that must be a plain field.
    fn field(&self, e: &Expr) -> Result<(String, bool)> {
        let f = match &e.kind {
            ExprKind::Field(f) => f,
            ExprKind::Call { name, .. } => {
                return Err(self.refuse(
                    e.span,
                    format!("a comparison on the result of the EQL function `{name}`"),
                    "the IR compares fields only",
                ))
            }
            ExprKind::Arith { .. } | ExprKind::Neg(_) => {
                return Err(self.refuse(
                    e.span,
                    "EQL arithmetic".into(),
                    "the IR has no computed values",
                ))
            }
            _ => {
                return Err(self.refuse(
                    e.span,
                    "a comparison whose left side is not a field".into(),
                    "write the field first",
                ))
            }
        };
        self.field_of(f, e.span)
    }

    fn field_of(&self, f: &Field, span: Span) -> Result<(String, bool)> {
        let Some(name) = f.name() else {
            return Err(self.refuse(
                span,
                "an array index in a field path".into(),
                "the IR tests any element of an array",
            ));
        };
        if (self.opts.text_fields)(&name) {
            return Err(self.refuse(
                span,
                format!("the text field `{name}`"),
                "Elasticsearch EQL does not search text fields",
            ));
        }
        Ok(field_name(&name))
    }

    fn constant<'e>(&self, e: &'e Expr) -> Result<Option<Const<'e>>> {
        Ok(Some(match &e.kind {
            ExprKind::Str(s) => Const::Str(s),
            ExprKind::Num(n) => Const::Num(self.num(n, false, e.span)?),
            ExprKind::Neg(inner) => match &inner.kind {
                ExprKind::Num(n) => Const::Num(self.num(n, true, e.span)?),
                _ => return Ok(None),
            },
            ExprKind::Bool(b) => Const::Bool(*b),
            ExprKind::Null => Const::Null,
            _ => return Ok(None),
        }))
    }

    fn num(&self, n: &str, neg: bool, span: Span) -> Result<ir::Number> {
        number(n, neg)
            .ok_or_else(|| self.refuse(span, format!("the number `{n}`"), "not a finite number"))
    }

    /// `field == c` (case-insensitive for strings when `ci`).
    fn equals(&self, field: &str, c: &Const<'_>, ci: bool, span: Span) -> Result<Cond> {
        let test = match c {
            Const::Str(s) => str_test(Pattern::literal(s), !ci),
            Const::Num(n) => Test::Num {
                op: ir::CmpOp::Eq,
                value: n.clone(),
            },
            Const::Bool(b) => Test::Bool(*b),
            Const::Null => Test::Null,
        };
        Ok(Cond::Expr(pred(field, test, self.at(span))))
    }

    fn cmp(&self, op: CmpOp, lhs: &Expr, rhs: &Expr, span: Span) -> Result<Cond> {
        // Constant on the left: swap the sides.
        let (op, lhs, rhs) =
            if matches!(lhs.kind, ExprKind::Field(_)) || self.constant(lhs)?.is_none() {
                (op, lhs, rhs)
            } else {
                let flipped = match op {
                    CmpOp::Lt => CmpOp::Gt,
                    CmpOp::Lte => CmpOp::Gte,
                    CmpOp::Gt => CmpOp::Lt,
                    CmpOp::Gte => CmpOp::Lte,
                    o => o,
                };
                (flipped, rhs, lhs)
            };
        if matches!(rhs.kind, ExprKind::Field(_)) {
            return Err(self.refuse(
                span,
                "a field-to-field comparison".into(),
                "Elasticsearch EQL rejects comparisons between fields",
            ));
        }
        if let ExprKind::Call {
            name,
            insensitive: false,
            args,
        } = &lhs.kind
        {
            if name.eq_ignore_ascii_case("length") {
                return self.length(op, args, rhs, span);
            }
        }
        let (field, caseless) = self.field(lhs)?;
        let Some(c) = self.constant(rhs)? else {
            return Err(self.refuse(
                rhs.span,
                "a comparison with a computed value".into(),
                "the IR compares a field with constants only",
            ));
        };
        let ord = |o: ir::CmpOp| -> Result<Cond> {
            match &c {
                Const::Num(n) => Ok(Cond::Expr(pred(
                    &field,
                    Test::Num {
                        op: o,
                        value: n.clone(),
                    },
                    self.at(span),
                ))),
                Const::Str(_) if caseless => Err(self.refuse(
                    span,
                    "an ordering comparison of strings on a `.caseless` field".into(),
                    "compare the base field",
                )),
                Const::Str(s) => match order::regex(o, s) {
                    Some(pattern) => Ok(Cond::Expr(pred(
                        &field,
                        Test::Regex {
                            pattern,
                            flags: ir::RegexFlags {
                                dot_all: true,
                                ..ir::RegexFlags::default()
                            },
                        },
                        self.at(span),
                    ))),
                    None => Err(self.refuse(
                        span,
                        "an ordering comparison of strings".into(),
                        "the IR orders numbers only",
                    )),
                },
                Const::Bool(_) | Const::Null => Err(self.refuse(
                    span,
                    "an ordering comparison with a boolean or null".into(),
                    "compare with `==` or `!=`",
                )),
            }
        };
        match op {
            CmpOp::Eq => self.equals(&field, &c, caseless, span),
            CmpOp::Neq => Ok(self.equals(&field, &c, caseless, span)?.negate()),
            CmpOp::Lt => ord(ir::CmpOp::Lt),
            CmpOp::Lte => ord(ir::CmpOp::Lte),
            CmpOp::Gt => ord(ir::CmpOp::Gt),
            CmpOp::Gte => ord(ir::CmpOp::Gte),
        }
    }

    fn call(&self, name: &str, insensitive: bool, args: &[Expr], span: Span) -> Result<Cond> {
        let lname = name.to_ascii_lowercase();
        let shape: Option<fn(Pattern) -> Pattern> = match lname.as_str() {
            "startswith" => Some(|p: Pattern| p.with_trailing_any()),
            "endswith" => Some(|p: Pattern| p.with_leading_any()),
            "stringcontains" => Some(|p: Pattern| p.with_leading_any().with_trailing_any()),
            _ => None,
        };
        if let Some(shape) = shape {
            let [f, s] = args else {
                return Err(self.refuse(
                    span,
                    format!("`{name}` with {} arguments", args.len()),
                    "Elasticsearch's form takes a field and one string",
                ));
            };
            let (field, caseless) = self.field(f)?;
            if let ExprKind::Field(other) = &s.kind {
                let (other, other_caseless) = self.field_of(other, s.span)?;
                let how = match lname.as_str() {
                    "startswith" => ir::RefMatch::StartsWith,
                    "endswith" => ir::RefMatch::EndsWith,
                    _ => ir::RefMatch::Contains,
                };
                let test = Test::FieldRef {
                    field: other,
                    how,
                    cased: !(insensitive || caseless || other_caseless),
                };
                return Ok(Cond::Expr(pred(&field, test, self.at(span))));
            }
            let ExprKind::Str(text) = &s.kind else {
                return Err(self.refuse(
                    s.span,
                    format!("`{name}` with a computed argument"),
                    "the IR matches a field against constant strings or another field",
                ));
            };
            let p = shape(Pattern::new([Piece::Lit(text.clone())]));
            let cased = !(insensitive || caseless);
            return Ok(Cond::Expr(pred(&field, str_test(p, cased), self.at(span))));
        }
        if lname == "cidrmatch" && !insensitive {
            let Some((f, nets)) = args.split_first().filter(|(_, n)| !n.is_empty()) else {
                return Err(self.refuse(
                    span,
                    "`cidrMatch` without networks".into(),
                    "write cidrMatch(field, \"10.0.0.0/8\", ...)",
                ));
            };
            let (field, _) = self.field(f)?;
            let mut xs = Vec::new();
            for n in nets {
                let ExprKind::Str(net) = &n.kind else {
                    return Err(self.refuse(
                        n.span,
                        "`cidrMatch` with a non-string network".into(),
                        "networks are strings such as \"10.0.0.0/8\"",
                    ));
                };
                let canon = cidr(net).ok_or_else(|| {
                    self.located(
                        ErrorKind::InvalidCidr(net.clone()),
                        n.span,
                        "write an IPv4 or IPv6 network such as \"10.0.0.0/8\"",
                    )
                })?;
                xs.push(Cond::Expr(pred(&field, Test::Cidr(canon), self.at(n.span))));
            }
            return Ok(Cond::or(xs));
        }
        Err(self.refuse(
            span,
            format!(
                "the EQL function `{name}{}`",
                if insensitive { "~" } else { "" }
            ),
            "the IR has no computed values; startsWith, endsWith, stringContains and cidrMatch are lowered",
        ))
    }
}

/// A network as the IR's `Cidr` holds it: `a.b.c.d/n`, or a bare address as a host network.
fn cidr(s: &str) -> Option<String> {
    if let Ok(n) = s.parse::<ipnet::IpNet>() {
        return Some(n.to_string());
    }
    s.parse::<std::net::IpAddr>()
        .ok()
        .map(|a| ipnet::IpNet::from(a).to_string())
}
