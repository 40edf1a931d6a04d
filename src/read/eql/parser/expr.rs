//! The expression grammar, by precedence: `or`, `and`, `not`, comparison, `+ -`, `* / %`,
//! unary minus, a primary with its predicate, fields.

use super::{err, PResult, Parser, KEYWORDS};
use crate::read::eql::ast::{ArithOp, CmpOp, Expr, ExprKind, Field, MatchOp, Segment};
use crate::read::eql::lexer::Tok;

impl Parser {
    pub(super) fn expr(&mut self) -> PResult<Expr> {
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
