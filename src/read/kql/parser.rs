//! KQL parser following Kibana's kuery grammar (`grammar.peggy`): ordered choices with
//! backtracking, `not` > `and` > `or`, value lists distributed over their field. Nesting of
//! `(` and `{` is bounded by [`MAX_DEPTH`].

use super::ast::{Literal, Node, NodeKind, RangeOp};
use super::lexer::Cursor;
use crate::read::source::Span;

/// The deepest nesting of parentheses and braces followed before an error.
pub const MAX_DEPTH: usize = 100;

/// A parse error: message, span, hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: Span,
    /// What to do.
    pub hint: Option<String>,
}

/// Parses a KQL query.
///
/// # Errors
/// At the furthest position the grammar reached, with what it expected there.
pub fn parse(src: &str) -> Result<Node, ParseError> {
    let mut p = P {
        c: Cursor::new(src),
        depth: 0,
    };
    p.c.spaces();
    if p.c.pos == src.len() {
        return Ok(Node {
            kind: NodeKind::MatchAll,
            span: Span::new(0, src.len()),
        });
    }
    let q = p.or_query();
    if let Some((message, span, hint)) = p.c.fatal.take() {
        return Err(ParseError {
            message,
            span,
            hint: hint.map(str::to_string),
        });
    }
    if let Some(q) = q {
        p.c.spaces();
        if p.c.pos == src.len() {
            return Ok(q);
        }
        p.c.fail("`or`, `and` or the end of the query");
    }
    Err(p.error())
}

struct P<'a> {
    c: Cursor<'a>,
    depth: usize,
}

impl P<'_> {
    fn error(&self) -> ParseError {
        let at = self.c.far;
        let found = match self.c.src[at..].chars().next() {
            None => "the end of the query".to_string(),
            Some(ch) => format!("`{ch}`"),
        };
        let mut exp: Vec<&str> = self.c.expected.clone();
        exp.dedup();
        let what = match exp.as_slice() {
            [] => "a query".to_string(),
            [one] => (*one).to_string(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        };
        let rest = &self.c.src[at..];
        let hint = if rest.starts_with('\\') {
            Some("in unquoted values, `\\` escapes only \\():<>\"*{}, \\t \\r \\n, \\uXXXX and the keywords; quote the value instead".to_string())
        } else if rest.starts_with(':') {
            Some("a value holding `:` must be quoted or written with `\\:`".to_string())
        } else if rest.is_empty()
            && self.c.src.matches('(').count() > self.c.src.matches(')').count()
        {
            Some("a `(` is not closed".to_string())
        } else {
            None
        };
        ParseError {
            message: format!("expected {what}, found {found}"),
            span: Span::new(at, (at + 1).min(self.c.src.len())),
            hint,
        }
    }

    fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            if self.c.fatal.is_none() {
                self.c.fatal = Some((
                    format!("query nested more than {MAX_DEPTH} levels deep"),
                    Span::new(self.c.pos, self.c.pos + 1),
                    Some("simplify the query"),
                ));
            }
            return false;
        }
        true
    }

    fn dead(&self) -> bool {
        self.c.fatal.is_some()
    }

    fn node(kind: NodeKind, start: usize, end: usize) -> Node {
        Node {
            kind,
            span: Span::new(start, end),
        }
    }

    fn or_query(&mut self) -> Option<Node> {
        let start = self.c.pos;
        let first = self.and_query()?;
        let mut xs = vec![first];
        loop {
            let save = self.c.pos;
            if self.c.infix_keyword("or", "`or`") {
                if let Some(n) = self.and_query() {
                    xs.push(n);
                    continue;
                }
            }
            self.c.pos = save;
            break;
        }
        Some(if xs.len() == 1 {
            xs.pop()?
        } else {
            Self::node(NodeKind::Or(xs), start, self.c.pos)
        })
    }

    fn and_query(&mut self) -> Option<Node> {
        let start = self.c.pos;
        let first = self.not_query()?;
        let mut xs = vec![first];
        loop {
            let save = self.c.pos;
            if self.c.infix_keyword("and", "`and`") {
                if let Some(n) = self.not_query() {
                    xs.push(n);
                    continue;
                }
            }
            self.c.pos = save;
            break;
        }
        Some(if xs.len() == 1 {
            xs.pop()?
        } else {
            Self::node(NodeKind::And(xs), start, self.c.pos)
        })
    }

    fn not_query(&mut self) -> Option<Node> {
        if self.dead() {
            return None;
        }
        let start = self.c.pos;
        if self.c.not_keyword() {
            if let Some(q) = self.sub_query() {
                return Some(Self::node(NodeKind::Not(Box::new(q)), start, self.c.pos));
            }
            self.c.pos = start;
        }
        self.sub_query()
    }

    fn sub_query(&mut self) -> Option<Node> {
        let start = self.c.pos;
        if self.c.peek() == Some('(') {
            self.c.pos += 1;
            if !self.enter() {
                return None;
            }
            self.c.spaces();
            let q = self.or_query();
            self.depth -= 1;
            if let Some(q) = q {
                self.c.spaces();
                if self.c.eat(')', "`)`") {
                    return Some(Node {
                        kind: q.kind,
                        span: Span::new(start, self.c.pos),
                    });
                }
            }
            self.c.pos = start;
            if self.dead() {
                return None;
            }
        } else {
            self.c.fail("`(`");
        }
        self.nested_query()
    }

    fn nested_query(&mut self) -> Option<Node> {
        let start = self.c.pos;
        if let Some(field) = self.c.literal() {
            self.c.spaces();
            if self.c.peek() == Some(':') {
                self.c.pos += 1;
                self.c.spaces();
                if self.c.peek() == Some('{') {
                    self.c.pos += 1;
                    if !self.enter() {
                        return None;
                    }
                    self.c.spaces();
                    let q = self.or_query();
                    self.depth -= 1;
                    if let Some(q) = q {
                        self.c.spaces();
                        if self.c.eat('}', "`}`") {
                            return Some(Self::node(
                                NodeKind::Nested {
                                    path: field,
                                    query: Box::new(q),
                                },
                                start,
                                self.c.pos,
                            ));
                        }
                    }
                    if self.dead() {
                        return None;
                    }
                }
            }
        }
        self.c.pos = start;
        self.expression()
    }

    fn expression(&mut self) -> Option<Node> {
        let start = self.c.pos;
        // FieldRangeExpression
        if let Some(field) = self.c.literal() {
            self.c.spaces();
            let op = if self.c.rest().starts_with("<=") {
                Some((RangeOp::Lte, 2))
            } else if self.c.rest().starts_with(">=") {
                Some((RangeOp::Gte, 2))
            } else if self.c.rest().starts_with('<') {
                Some((RangeOp::Lt, 1))
            } else if self.c.rest().starts_with('>') {
                Some((RangeOp::Gt, 1))
            } else {
                self.c.fail("`:`, `<`, `<=`, `>` or `>=`");
                None
            };
            if let Some((op, n)) = op {
                self.c.pos += n;
                self.c.spaces();
                if let Some(value) = self.c.literal() {
                    return Some(Self::node(
                        NodeKind::Range { field, op, value },
                        start,
                        self.c.pos,
                    ));
                }
            }
        }
        self.c.pos = start;
        // FieldValueExpression
        if let Some(field) = self.c.literal() {
            self.c.spaces();
            if self.c.eat(':', "`:`") {
                self.c.spaces();
                if let Some(n) = self.list_of_values(&field) {
                    return Some(Node {
                        kind: n.kind,
                        span: Span::new(start, self.c.pos),
                    });
                }
                if self.dead() {
                    return None;
                }
            }
        }
        self.c.pos = start;
        // ValueExpression: free text.
        let value = self.c.literal()?;
        Some(Self::node(
            NodeKind::Is { field: None, value },
            start,
            self.c.pos,
        ))
    }

    fn list_of_values(&mut self, field: &Literal) -> Option<Node> {
        let start = self.c.pos;
        if self.c.peek() == Some('(') {
            self.c.pos += 1;
            if !self.enter() {
                return None;
            }
            self.c.spaces();
            let q = self.or_list(field);
            self.depth -= 1;
            if let Some(q) = q {
                self.c.spaces();
                if self.c.eat(')', "`)`") {
                    return Some(q);
                }
            }
            self.c.pos = start;
            if self.dead() {
                return None;
            }
        }
        let value = self.c.literal()?;
        Some(Self::node(
            NodeKind::Is {
                field: Some(field.clone()),
                value,
            },
            start,
            self.c.pos,
        ))
    }

    fn or_list(&mut self, field: &Literal) -> Option<Node> {
        let start = self.c.pos;
        let mut xs = vec![self.and_list(field)?];
        loop {
            let save = self.c.pos;
            if self.c.infix_keyword("or", "`or`") {
                if let Some(n) = self.and_list(field) {
                    xs.push(n);
                    continue;
                }
            }
            self.c.pos = save;
            break;
        }
        Some(if xs.len() == 1 {
            xs.pop()?
        } else {
            Self::node(NodeKind::Or(xs), start, self.c.pos)
        })
    }

    fn and_list(&mut self, field: &Literal) -> Option<Node> {
        let start = self.c.pos;
        let mut xs = vec![self.not_list(field)?];
        loop {
            let save = self.c.pos;
            if self.c.infix_keyword("and", "`and`") {
                if let Some(n) = self.not_list(field) {
                    xs.push(n);
                    continue;
                }
            }
            self.c.pos = save;
            break;
        }
        Some(if xs.len() == 1 {
            xs.pop()?
        } else {
            Self::node(NodeKind::And(xs), start, self.c.pos)
        })
    }

    fn not_list(&mut self, field: &Literal) -> Option<Node> {
        if self.dead() {
            return None;
        }
        let start = self.c.pos;
        if self.c.not_keyword() {
            if let Some(q) = self.list_of_values(field) {
                return Some(Self::node(NodeKind::Not(Box::new(q)), start, self.c.pos));
            }
            self.c.pos = start;
        }
        self.list_of_values(field)
    }
}
