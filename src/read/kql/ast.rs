//! The KQL syntax tree, in the form Kibana's kuery parser builds (value lists distributed over
//! their field), with spans into the query text.

use serde::Serialize;

use crate::read::source::Span;

/// A piece of an unquoted value with wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Piece {
    /// Literal text (escapes decoded).
    Lit(String),
    /// An unescaped `*`.
    Star,
}

/// The value of a literal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Text without wildcards (quoted, or unquoted without `*`).
    Text(String),
    /// An unquoted value with at least one `*`.
    Wildcard(Vec<Piece>),
    /// Unquoted `null`.
    Null,
    /// Unquoted `true` / `false`.
    Bool(bool),
}

/// A field name or a value, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Literal {
    /// The value.
    pub value: Value,
    /// Written in double quotes.
    pub quoted: bool,
    /// Where.
    pub span: Span,
}

impl Literal {
    /// The text, wildcards written as `*`.
    #[must_use]
    pub fn text(&self) -> String {
        match &self.value {
            Value::Text(s) => s.clone(),
            Value::Wildcard(ps) => ps
                .iter()
                .map(|p| match p {
                    Piece::Lit(s) => s.as_str(),
                    Piece::Star => "*",
                })
                .collect(),
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeOp {
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
}

/// A KQL node and its span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Where.
    pub span: Span,
}

/// Node kinds (Kibana's function nodes `or`, `and`, `not`, `nested`, `range`, `is`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// At least two children.
    Or(Vec<Node>),
    /// At least two children.
    And(Vec<Node>),
    /// `not x`.
    Not(Box<Node>),
    /// `path:{ query }` on a nested field.
    Nested {
        /// The nested field.
        path: Literal,
        /// The query inside, its fields relative to `path`.
        query: Box<Node>,
    },
    /// `field < value` etc.
    Range {
        /// The field.
        field: Literal,
        /// The operator.
        op: RangeOp,
        /// The bound.
        value: Literal,
    },
    /// `field: value`, or a free-text `value` (no field).
    Is {
        /// The field; `None` for a free-text value searched in the default fields.
        field: Option<Literal>,
        /// The value.
        value: Literal,
    },
    /// The empty query: every document.
    MatchAll,
}
