//! The query grammar: statement, pipes, sequences, samples, event filters.

use super::{err, PResult, Parser, KEYWORDS};
use crate::read::eql::ast::{
    Body, Category, EventQuery, Expr, ExprKind, Pipe, Query, Sample, Sequence, SequenceTerm,
    TimeSpan,
};
use crate::read::eql::lexer::Tok;

impl Parser {
    // statement := query pipe*
    pub(super) fn statement(&mut self) -> PResult<Query> {
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
}
