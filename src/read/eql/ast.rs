//! The EQL syntax tree, with spans into the query text.

use serde::Serialize;

use crate::read::source::Span;

/// A whole EQL statement: a query and its pipes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    /// The query.
    pub body: Body,
    /// `| head N`, `| tail N` (and any other pipe, which Elasticsearch rejects).
    pub pipes: Vec<Pipe>,
    /// The whole statement.
    pub span: Span,
}

/// The query kinds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// `category where condition`.
    Event(EventQuery),
    /// `sequence ...`.
    Sequence(Sequence),
    /// `sample ...`.
    Sample(Sample),
}

/// The event category of an event query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// `any`: every event, with or without a category.
    Any,
    /// A category name (`process`, or quoted `"my-cat"`).
    Name(String),
}

/// `category where condition`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventQuery {
    /// The category.
    pub category: Category,
    /// The condition.
    pub condition: Expr,
    /// The whole filter.
    pub span: Span,
}

/// `with maxspan=30s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeSpan {
    /// The number as written.
    pub value: String,
    /// The unit as written (`ms`, `s`, `m`, `h`, `d`); none means milliseconds.
    pub unit: Option<String>,
    /// The span in milliseconds.
    pub millis: u64,
    /// Where.
    pub span: Span,
}

/// One `[query] by keys with runs=N` of a sequence (or `![query]`, a missing event).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceTerm {
    /// The event query in brackets.
    pub query: EventQuery,
    /// `by` keys of this term.
    pub by: Vec<Expr>,
    /// `with runs=N`.
    pub runs: Option<u64>,
    /// Written `![...]`: the event must not occur.
    pub missing: bool,
    /// The whole term.
    pub span: Span,
}

/// `sequence [by keys] [with maxspan=T] term term... [until term]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sequence {
    /// `by` keys shared by every term.
    pub by: Vec<Expr>,
    /// `with maxspan=`.
    pub maxspan: Option<TimeSpan>,
    /// The terms, at least two.
    pub terms: Vec<SequenceTerm>,
    /// `until [query]`.
    pub until: Option<SequenceTerm>,
}

/// `sample [by keys] [query] [by keys]...`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// `by` keys shared by every term.
    pub by: Vec<Expr>,
    /// The terms: (query, own `by` keys).
    pub terms: Vec<(EventQuery, Vec<Expr>)>,
}

/// `| name args`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipe {
    /// The pipe name (`head`, `tail`).
    pub name: String,
    /// Its arguments.
    pub args: Vec<Expr>,
    /// Where.
    pub span: Span,
}

/// An expression and its span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// `==`, `!=`, `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
}

/// The string predicates that take a pattern or a list of patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchOp {
    /// `:` (case-insensitive, wildcards `*` `?`)
    Colon,
    /// `like` (case-sensitive wildcards)
    Like,
    /// `like~` (case-insensitive wildcards)
    LikeInsensitive,
    /// `regex` (Lucene regexp, anchored, case-sensitive)
    Regex,
    /// `regex~` (Lucene regexp, anchored, case-insensitive)
    RegexInsensitive,
}

impl MatchOp {
    /// The operator as written.
    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            MatchOp::Colon => ":",
            MatchOp::Like => "like",
            MatchOp::LikeInsensitive => "like~",
            MatchOp::Regex => "regex",
            MatchOp::RegexInsensitive => "regex~",
        }
    }
}

/// `+ - * / %`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// A name (plain or backquoted).
    Name(String),
    /// `[N]`: an array index.
    Index(u64),
}

/// A field reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// The path.
    pub path: Vec<Segment>,
    /// Written `?field`: an unmapped field is `null` instead of an error.
    pub optional: bool,
}

impl Field {
    /// The dotted name, when the path has no array index.
    #[must_use]
    pub fn name(&self) -> Option<String> {
        let mut s = String::new();
        for (i, seg) in self.path.iter().enumerate() {
            match seg {
                Segment::Name(n) => {
                    if i > 0 {
                        s.push('.');
                    }
                    s.push_str(n);
                }
                Segment::Index(_) => return None,
            }
        }
        Some(s)
    }
}

/// Expression kinds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExprKind {
    /// `a or b or ...` (at least two).
    Or(Vec<Expr>),
    /// `a and b and ...` (at least two).
    And(Vec<Expr>),
    /// `not a`.
    Not(Box<Expr>),
    /// `a == b` etc.
    Cmp {
        /// The operator.
        op: CmpOp,
        /// Left side.
        lhs: Box<Expr>,
        /// Right side.
        rhs: Box<Expr>,
    },
    /// `a in (...)`, `a in~ (...)`, `a not in (...)`.
    In {
        /// The tested value.
        expr: Box<Expr>,
        /// The list.
        list: Vec<Expr>,
        /// `not in`.
        negated: bool,
        /// `in~`.
        insensitive: bool,
    },
    /// `a : "x"`, `a like ("x", "y")`, `a regex~ "x"`.
    Match {
        /// The tested value.
        expr: Box<Expr>,
        /// The operator.
        op: MatchOp,
        /// The patterns: constants.
        patterns: Vec<Expr>,
    },
    /// Arithmetic.
    Arith {
        /// The operator.
        op: ArithOp,
        /// Left side.
        lhs: Box<Expr>,
        /// Right side.
        rhs: Box<Expr>,
    },
    /// Unary minus.
    Neg(Box<Expr>),
    /// A function call `name(args)`, `name~(args)`.
    Call {
        /// The name as written.
        name: String,
        /// Written with `~` (case-insensitive variant).
        insensitive: bool,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// A field.
    Field(Field),
    /// A string constant.
    Str(String),
    /// A number constant, as written.
    Num(String),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
}
