//! Recursive-descent EQL parser, following Elasticsearch's `EqlBase.g4`: precedence `or` <
//! `and` < `not` < comparison < `+ -` < `* / %` < unary minus < a primary with its predicate
//! (`in`, `:`, `like`, `regex`...). Nesting is bounded by [`MAX_DEPTH`].

use super::ast::Query;
use super::lexer::{lex, Tok, Token};
use crate::read::source::Span;

mod expr;
mod query;

/// The deepest nesting of expressions (parentheses, `not`, unary minus, call arguments) the
/// parser follows before it reports an error, so that no input exhausts the stack.
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

/// Words the grammar reserves: they cannot name a field or category unless backquoted.
const KEYWORDS: &[&str] = &[
    "and", "any", "by", "false", "in", "join", "like", "maxspan", "not", "null", "of", "or",
    "regex", "sample", "sequence", "true", "until", "where", "with",
];

/// Parses an EQL statement.
///
/// # Errors
/// The first lexical or syntax error, with its span in `src`.
pub fn parse(src: &str) -> Result<Query, ParseError> {
    let toks = lex(src).map_err(|e| ParseError {
        message: e.message,
        span: e.span,
        hint: e.hint,
    })?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let q = p.statement()?;
    Ok(q)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

type PResult<T> = Result<T, ParseError>;

fn err<T>(message: impl Into<String>, span: Span, hint: Option<&str>) -> PResult<T> {
    Err(ParseError {
        message: message.into(),
        span,
        hint: hint.map(str::to_string),
    })
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.toks[self.pos].span
    }

    fn prev_span(&self) -> Span {
        self.toks[self.pos.saturating_sub(1)].span
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    /// Whether the next token is the keyword `kw` (no tilde).
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident { name, tilde: false } if name == kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expected<T>(&self, what: &str) -> PResult<T> {
        let hint = match self.peek() {
            Tok::Ident { name, .. }
                if ["AND", "OR", "NOT", "WHERE", "IN", "LIKE"].contains(&name.as_str()) =>
            {
                Some("EQL keywords are lower-case")
            }
            Tok::Assign => Some("compare with `==`"),
            _ => None,
        };
        err(
            format!("expected {what}, found {}", self.peek().describe()),
            self.span(),
            hint,
        )
    }

    fn expect(&mut self, t: &Tok, what: &str) -> PResult<Span> {
        if self.peek() == t {
            Ok(self.bump().span)
        } else {
            self.expected(what)
        }
    }

    fn expect_kw(&mut self, kw: &str) -> PResult<Span> {
        if self.is_kw(kw) {
            Ok(self.bump().span)
        } else {
            self.expected(&format!("`{kw}`"))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(
                format!("expression nested more than {MAX_DEPTH} levels deep"),
                self.span(),
                Some("simplify the expression"),
            );
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }
}
