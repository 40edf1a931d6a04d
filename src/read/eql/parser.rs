//! Recursive-descent EQL parser, following Elasticsearch's `EqlBase.g4`: precedence `or` <
//! `and` < `not` < comparison < `+ -` < `* / %` < unary minus < a primary with its predicate
//! (`in`, `:`, `like`, `regex`...). Nesting is bounded by [`MAX_DEPTH`].

use super::ast::{
    ArithOp, Body, Category, CmpOp, EventQuery, Expr, ExprKind, Field, MatchOp, Pipe, Query,
    Sample, Segment, Sequence, SequenceTerm, TimeSpan,
};
use super::lexer::{lex, Tok, Token};
use crate::read::source::Span;

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

    // statement := query pipe*
    fn statement(&mut self) -> PResult<Query> {
        let start = self.span();
        let body = if self.is_kw("sequence") {
            Body::Sequence(self.sequence()?)
        } else if self.is_kw("sample") {
            Body::Sample(self.sample()?)
        } else if self.is_kw("join") {
            return err(
                "`join` is not supported by Elasticsearch EQL",
                self.span(),
                Some("use a `sequence`"),
            );
        } else {
            Body::Event(self.event_filter()?)
        };
        let mut pipes = Vec::new();
        while *self.peek() == Tok::Pipe {
            pipes.push(self.pipe()?);
        }
        if *self.peek() != Tok::Eof {
            return self.expected("`and`, `or`, `|` or the end of the query");
        }
        Ok(Query {
            body,
            pipes,
            span: start.to(self.prev_span()),
        })
    }

    fn pipe(&mut self) -> PResult<Pipe> {
        let start = self.bump().span;
        let (name, nspan) = match self.peek().clone() {
            Tok::Ident { name, tilde: false } => (name, self.bump().span),
            _ => return self.expected("a pipe name (`head` or `tail`)"),
        };
        let mut args = Vec::new();
        if !matches!(self.peek(), Tok::Pipe | Tok::Eof) {
            args.push(self.expr()?);
            while self.eat(&Tok::Comma) {
                args.push(self.expr()?);
            }
        }
        if name != "head" && name != "tail" {
            return err(
                format!("pipe `{name}` is not supported by Elasticsearch EQL"),
                nspan,
                Some("Elasticsearch EQL has only `| head N` and `| tail N`"),
            );
        }
        match args.as_slice() {
            [Expr {
                kind: ExprKind::Num(n),
                ..
            }] if n.bytes().all(|c| c.is_ascii_digit()) => {}
            _ => {
                return err(
                    format!("`{name}` takes one non-negative integer"),
                    nspan.to(self.prev_span()),
                    None,
                )
            }
        }
        Ok(Pipe {
            name,
            args,
            span: start.to(self.prev_span()),
        })
    }

    // joinKeys := 'by' expr (',' expr)*
    fn join_keys(&mut self) -> PResult<Vec<Expr>> {
        let mut keys = Vec::new();
        if self.eat_kw("by") {
            keys.push(self.expr()?);
            while self.eat(&Tok::Comma) {
                keys.push(self.expr()?);
            }
        }
        Ok(keys)
    }

    fn maxspan(&mut self) -> PResult<TimeSpan> {
        let start = self.expect_kw("with")?;
        self.expect_kw("maxspan")?;
        self.expect(&Tok::Assign, "`=`")?;
        let (value, vspan) = match self.peek().clone() {
            Tok::Int(n) => (n, self.bump().span),
            _ => return self.expected("an integer time span such as `30s`"),
        };
        let unit = match self.peek().clone() {
            Tok::Ident { name, tilde: false } if !KEYWORDS.contains(&name.as_str()) => {
                self.bump();
                name
            }
            _ => {
                return err(
                    "a time unit is required",
                    vspan,
                    Some("write e.g. `30s` (units: ms, s, m, h, d)"),
                )
            }
        };
        let per = match unit.as_str() {
            "ms" | "millisecond" | "milliseconds" => 1u64,
            "s" | "second" | "seconds" => 1_000,
            "m" | "minute" | "minutes" => 60_000,
            "h" | "hour" | "hours" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            _ => {
                return err(
                    format!("unknown time unit `{unit}`"),
                    self.prev_span(),
                    Some("units: ms, s, m, h, d"),
                )
            }
        };
        let millis = value
            .parse::<u64>()
            .ok()
            .and_then(|v| v.checked_mul(per))
            .map_or_else(|| err("time span too large", vspan, None), Ok)?;
        Ok(TimeSpan {
            value,
            unit: Some(unit),
            millis,
            span: start.to(self.prev_span()),
        })
    }

    fn sequence(&mut self) -> PResult<Sequence> {
        let kw = self.bump().span;
        let mut by = Vec::new();
        let mut maxspan = None;
        if self.is_kw("by") {
            by = self.join_keys()?;
            if self.is_kw("with") {
                maxspan = Some(self.maxspan()?);
            }
        } else if self.is_kw("with") {
            maxspan = Some(self.maxspan()?);
            if self.is_kw("by") {
                return err(
                    "`by` must come before `with maxspan`",
                    self.span(),
                    Some("write `sequence by ... with maxspan=...`"),
                );
            }
        }
        let mut terms = Vec::new();
        while matches!(self.peek(), Tok::LBracket | Tok::MissingOpen) {
            terms.push(self.sequence_term(true)?);
        }
        let until = if self.eat_kw("until") {
            Some(self.sequence_term(false)?)
        } else {
            None
        };
        let events: u64 = terms.iter().map(|t| t.runs.unwrap_or(1)).sum();
        if terms.is_empty() {
            return self.expected("`[` starting a sequence query");
        }
        if events < 2 {
            return err(
                "a sequence needs at least two queries",
                kw.to(self.prev_span()),
                Some("add a query, or use `with runs=N` on the one query"),
            );
        }
        if terms.iter().all(|t| t.missing) {
            return err(
                "a sequence needs at least one query that is not a missing event `![...]`",
                kw.to(self.prev_span()),
                None,
            );
        }
        Ok(Sequence {
            by,
            maxspan,
            terms,
            until,
        })
    }

    fn sequence_term(&mut self, allow_missing: bool) -> PResult<SequenceTerm> {
        let start = self.span();
        let missing = match self.peek() {
            Tok::LBracket => false,
            Tok::MissingOpen if allow_missing => true,
            _ => return self.expected("`[`"),
        };
        self.bump();
        let query = self.event_filter()?;
        self.expect(&Tok::RBracket, "`]` closing the query")?;
        let by = self.join_keys()?;
        let mut runs = None;
        if self.is_kw("with") {
            self.bump();
            match self.peek().clone() {
                Tok::Ident { name, tilde: false } if name == "runs" => {
                    self.bump();
                }
                _ => return self.expected("`runs`"),
            }
            self.expect(&Tok::Assign, "`=`")?;
            match self.peek().clone() {
                Tok::Int(n) => {
                    let sp = self.bump().span;
                    let n: u64 = n.parse().unwrap_or(0);
                    if !(1..=100).contains(&n) {
                        return err("`runs` must be between 1 and 100", sp, None);
                    }
                    runs = Some(n);
                }
                _ => return self.expected("an integer"),
            }
        }
        Ok(SequenceTerm {
            query,
            by,
            runs,
            missing,
            span: start.to(self.prev_span()),
        })
    }

    fn sample(&mut self) -> PResult<Sample> {
        self.bump();
        let by = self.join_keys()?;
        let mut terms = Vec::new();
        while *self.peek() == Tok::LBracket {
            self.bump();
            let q = self.event_filter()?;
            self.expect(&Tok::RBracket, "`]` closing the query")?;
            let keys = self.join_keys()?;
            terms.push((q, keys));
        }
        if terms.is_empty() {
            return self.expected("`[` starting a sample query");
        }
        Ok(Sample { by, terms })
    }

    // eventFilter := ('any' | category) 'where' expr
    fn event_filter(&mut self) -> PResult<EventQuery> {
        let start = self.span();
        let category = match self.peek().clone() {
            Tok::Ident { name, tilde: false } if name == "any" => Category::Any,
            Tok::Ident { name, tilde: false } if !KEYWORDS.contains(&name.as_str()) => {
                Category::Name(name)
            }
            Tok::Str { value, .. } => Category::Name(value),
            _ => return self.expected("an event category (`process`, `any`, ...)"),
        };
        self.bump();
        self.expect_kw("where")?;
        let condition = self.expr()?;
        Ok(EventQuery {
            category,
            condition,
            span: start.to(self.prev_span()),
        })
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.or();
        self.leave();
        r
    }

    fn or(&mut self) -> PResult<Expr> {
        let first = self.and()?;
        if !self.is_kw("or") {
            return Ok(first);
        }
        let mut xs = vec![first];
        while self.eat_kw("or") {
            xs.push(self.and()?);
        }
        let span = xs[0].span.to(xs[xs.len() - 1].span);
        Ok(Expr {
            kind: ExprKind::Or(xs),
            span,
        })
    }

    fn and(&mut self) -> PResult<Expr> {
        let first = self.not()?;
        if !self.is_kw("and") {
            return Ok(first);
        }
        let mut xs = vec![first];
        while self.eat_kw("and") {
            xs.push(self.not()?);
        }
        let span = xs[0].span.to(xs[xs.len() - 1].span);
        Ok(Expr {
            kind: ExprKind::And(xs),
            span,
        })
    }

    fn not(&mut self) -> PResult<Expr> {
        if self.is_kw("not") {
            let start = self.bump().span;
            self.enter()?;
            let inner = self.not();
            self.leave();
            let inner = inner?;
            let span = start.to(inner.span);
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let lhs = self.additive()?;
        let op = match self.peek() {
            Tok::Eq => CmpOp::Eq,
            Tok::Neq => CmpOp::Neq,
            Tok::Lt => CmpOp::Lt,
            Tok::Lte => CmpOp::Lte,
            Tok::Gt => CmpOp::Gt,
            Tok::Gte => CmpOp::Gte,
            Tok::Assign => {
                return err(
                    "`=` is not an EQL comparison",
                    self.span(),
                    Some("compare with `==`"),
                )
            }
            _ => return Ok(lhs),
        };
        self.bump();
        let rhs = self.additive()?;
        if matches!(
            self.peek(),
            Tok::Eq | Tok::Neq | Tok::Lt | Tok::Lte | Tok::Gt | Tok::Gte
        ) {
            return err(
                "comparisons do not chain",
                self.span(),
                Some("join two comparisons with `and`"),
            );
        }
        let span = lhs.span.to(rhs.span);
        Ok(Expr {
            kind: ExprKind::Cmp {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        })
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.multiplicative()?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Arith {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            };
        }
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Star => ArithOp::Mul,
                Tok::Slash => ArithOp::Div,
                Tok::Percent => ArithOp::Mod,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.unary()?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Arith {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            };
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        match self.peek() {
            Tok::Minus | Tok::Plus => {
                let neg = *self.peek() == Tok::Minus;
                let start = self.bump().span;
                self.enter()?;
                let inner = self.unary();
                self.leave();
                let inner = inner?;
                let span = start.to(inner.span);
                Ok(if neg {
                    Expr {
                        kind: ExprKind::Neg(Box::new(inner)),
                        span,
                    }
                } else {
                    Expr {
                        kind: inner.kind,
                        span,
                    }
                })
            }
            _ => self.primary_with_predicate(),
        }
    }

    fn primary_with_predicate(&mut self) -> PResult<Expr> {
        let e = self.primary()?;
        // `not in` / `not in~`
        let (negated, at) = if self.is_kw("not")
            && matches!(self.peek_at(1), Tok::Ident { name, .. } if name == "in")
        {
            (true, self.bump().span)
        } else {
            (false, self.span())
        };
        match self.peek().clone() {
            Tok::Ident { name, tilde } if name == "in" => {
                self.bump();
                self.expect(&Tok::LParen, "`(` opening the `in` list")?;
                let mut list = vec![self.expr()?];
                while self.eat(&Tok::Comma) {
                    list.push(self.expr()?);
                }
                let end = self.expect(&Tok::RParen, "`,` or `)` closing the `in` list")?;
                let span = e.span.to(end);
                let _ = at;
                Ok(Expr {
                    kind: ExprKind::In {
                        expr: Box::new(e),
                        list,
                        negated,
                        insensitive: tilde,
                    },
                    span,
                })
            }
            Tok::Colon => {
                self.bump();
                self.match_rest(e, MatchOp::Colon)
            }
            Tok::Ident { name, tilde } if name == "like" || name == "regex" => {
                self.bump();
                let op = match (name.as_str(), tilde) {
                    ("like", false) => MatchOp::Like,
                    ("like", true) => MatchOp::LikeInsensitive,
                    ("regex", false) => MatchOp::Regex,
                    _ => MatchOp::RegexInsensitive,
                };
                self.match_rest(e, op)
            }
            _ => Ok(e),
        }
    }

    fn match_rest(&mut self, e: Expr, op: MatchOp) -> PResult<Expr> {
        let mut patterns = Vec::new();
        let end;
        if self.eat(&Tok::LParen) {
            patterns.push(self.constant(op)?);
            while self.eat(&Tok::Comma) {
                patterns.push(self.constant(op)?);
            }
            end = self.expect(&Tok::RParen, "`,` or `)` closing the pattern list")?;
        } else {
            let c = self.constant(op)?;
            end = c.span;
            patterns.push(c);
        }
        let span = e.span.to(end);
        Ok(Expr {
            kind: ExprKind::Match {
                expr: Box::new(e),
                op,
                patterns,
            },
            span,
        })
    }

    fn constant(&mut self, op: MatchOp) -> PResult<Expr> {
        let span = self.span();
        let kind = match self.peek().clone() {
            Tok::Str { value, .. } => ExprKind::Str(value),
            Tok::Int(n) | Tok::Dec(n) => ExprKind::Num(n),
            Tok::Ident { name, tilde: false } if name == "true" || name == "false" => {
                ExprKind::Bool(name == "true")
            }
            Tok::Ident { name, tilde: false } if name == "null" => ExprKind::Null,
            _ => return self.expected(&format!("a constant after `{}`", op.text())),
        };
        self.bump();
        Ok(Expr { kind, span })
    }

    fn primary(&mut self) -> PResult<Expr> {
        let start = self.span();
        match self.peek().clone() {
            Tok::Str { value, .. } => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Str(value),
                    span: start,
                })
            }
            Tok::Int(n) | Tok::Dec(n) => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Num(n),
                    span: start,
                })
            }
            Tok::LParen => {
                self.bump();
                let inner = self.expr()?;
                let end = self.expect(&Tok::RParen, "`)`")?;
                Ok(Expr {
                    kind: inner.kind,
                    span: start.to(end),
                })
            }
            Tok::Question => {
                self.bump();
                if !matches!(
                    self.peek(),
                    Tok::Ident { tilde: false, .. } | Tok::Quoted(_)
                ) {
                    return self.expected("a field name after `?`");
                }
                let mut f = self.field()?;
                f.optional = true;
                Ok(Expr {
                    kind: ExprKind::Field(f),
                    span: start.to(self.prev_span()),
                })
            }
            Tok::Ident { name, tilde } if *self.peek_at(1) == Tok::LParen => {
                if KEYWORDS.contains(&name.as_str()) && !tilde {
                    return self.expected("a value");
                }
                self.bump();
                self.bump();
                let mut args = Vec::new();
                if *self.peek() != Tok::RParen {
                    args.push(self.expr()?);
                    while self.eat(&Tok::Comma) {
                        args.push(self.expr()?);
                    }
                }
                let end = self.expect(&Tok::RParen, "`,` or `)` closing the arguments")?;
                Ok(Expr {
                    kind: ExprKind::Call {
                        name,
                        insensitive: tilde,
                        args,
                    },
                    span: start.to(end),
                })
            }
            Tok::Ident { name, tilde: false } if name == "true" || name == "false" => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Bool(name == "true"),
                    span: start,
                })
            }
            Tok::Ident { name, tilde: false } if name == "null" => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Null,
                    span: start,
                })
            }
            Tok::Ident { tilde: false, .. } | Tok::Quoted(_) => {
                let f = self.field()?;
                Ok(Expr {
                    kind: ExprKind::Field(f),
                    span: start.to(self.prev_span()),
                })
            }
            _ => self.expected("a field, a constant, a function call or `(`"),
        }
    }

    fn ident(&mut self) -> PResult<String> {
        match self.peek().clone() {
            Tok::Ident { name, tilde: false } => {
                if KEYWORDS.contains(&name.as_str()) {
                    return err(
                        format!("`{name}` is a keyword"),
                        self.span(),
                        Some("backquote a field of that name: `name`"),
                    );
                }
                self.bump();
                Ok(name)
            }
            Tok::Quoted(s) => {
                self.bump();
                Ok(s)
            }
            _ => self.expected("a field name"),
        }
    }

    // qualifiedName := ident ('.' ident | '[' INT ']')*
    fn field(&mut self) -> PResult<Field> {
        let mut path = vec![Segment::Name(self.ident()?)];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    path.push(Segment::Name(self.ident()?));
                }
                Tok::LBracket
                    if matches!(self.peek_at(1), Tok::Int(_))
                        && *self.peek_at(2) == Tok::RBracket =>
                {
                    self.bump();
                    if let Tok::Int(n) = self.bump().tok {
                        path.push(Segment::Index(n.parse().unwrap_or(u64::MAX)));
                    }
                    self.bump();
                }
                _ => break,
            }
        }
        Ok(Field {
            path,
            optional: false,
        })
    }
}
