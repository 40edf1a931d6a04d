//! The condition: lexer, Pratt parser (precedence `or` < `and` < `not` < `x of` < `( )`) and
//! resolution against the search identifiers (`1 of` / `all of` with glob patterns and `them`,
//! which skip identifiers starting with `_`).

use indexmap::IndexMap;

use crate::error::ErrorKind;
use crate::ir::Expr;

/// Deepest nesting of parentheses and `not`.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    /// `1` / `any` (false) or `all` (true) — a quantifier before `of`.
    Quant(bool),
    Of,
    Them,
    Word(String),
}

/// A parsed condition: the boolean structure over identifiers, before they are resolved. The
/// `usize` of a leaf is its byte offset in the condition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ast {
    /// An identifier.
    Ident(String, usize),
    /// `1 of` (false) / `all of` (true) a pattern (`None` = `them`).
    Of(bool, Option<String>, usize),
    /// `not`.
    Not(Box<Ast>),
    /// `and` chain.
    And(Vec<Ast>),
    /// `or` chain.
    Or(Vec<Ast>),
}

/// A condition error: the kind and a hint.
pub(crate) type CondError = (ErrorKind, Option<String>);

fn syntax(cond: &str, offset: usize, message: impl Into<String>) -> CondError {
    (
        ErrorKind::ConditionSyntax {
            message: message.into(),
            condition: cond.to_string(),
            offset,
        },
        None,
    )
}

fn lex(cond: &str) -> Result<Vec<(Tok, usize)>, CondError> {
    let mut toks = Vec::new();
    let mut it = cond.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
        } else if c == '(' {
            toks.push((Tok::LParen, i));
            it.next();
        } else if c == ')' {
            toks.push((Tok::RParen, i));
            it.next();
        } else if c == '|' {
            return Err((
                ErrorKind::Deprecated(format!(
                    "aggregation pipe `{}` in the condition",
                    cond[i..].trim()
                )),
                Some("Sigma 2 replaced `| count() ...` and `| near ...` with correlation rules; move the aggregation into a `correlation` document".into()),
            ));
        } else if c.is_alphanumeric() || c == '_' || c == '-' || c == '*' {
            let mut end = i;
            while let Some(&(j, d)) = it.peek() {
                if d.is_alphanumeric() || d == '_' || d == '-' || d == '*' {
                    end = j + d.len_utf8();
                    it.next();
                } else {
                    break;
                }
            }
            let w = &cond[i..end];
            let tok = match w {
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                "of" => Tok::Of,
                "them" => Tok::Them,
                "1" | "any" => Tok::Quant(false),
                "all" => Tok::Quant(true),
                "near" => {
                    return Err((
                        ErrorKind::Deprecated("`near` in the condition".into()),
                        Some("Sigma 2 replaced `near` with `temporal` correlation rules".into()),
                    ))
                }
                _ => Tok::Word(w.to_string()),
            };
            toks.push((tok, i));
        } else {
            return Err(syntax(cond, i, format!("unexpected character `{c}`")));
        }
    }
    Ok(toks)
}

struct Parser<'a> {
    cond: &'a str,
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.cond.len(), |(_, o)| *o)
    }

    fn expr(&mut self, min_bp: u8, depth: usize) -> Result<Ast, CondError> {
        if depth > MAX_DEPTH {
            return Err(syntax(self.cond, self.offset(), "nesting too deep"));
        }
        let start = self.offset();
        let mut lhs = match self.toks.get(self.pos).cloned() {
            Some((Tok::Not, _)) => {
                self.pos += 1;
                Ast::Not(Box::new(self.expr(3, depth + 1)?))
            }
            Some((Tok::LParen, at)) => {
                self.pos += 1;
                let e = self.expr(0, depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(syntax(
                        self.cond,
                        self.offset(),
                        format!("expected `)` to close the `(` at offset {at}"),
                    ));
                }
                self.pos += 1;
                e
            }
            Some((Tok::Quant(all), at)) => {
                self.pos += 1;
                if self.peek() != Some(&Tok::Of) {
                    return Err(syntax(self.cond, self.offset(), "expected `of`"));
                }
                self.pos += 1;
                match self.toks.get(self.pos).cloned() {
                    Some((Tok::Them, _)) => {
                        self.pos += 1;
                        Ast::Of(all, None, at)
                    }
                    Some((Tok::Word(w), _)) => {
                        self.pos += 1;
                        Ast::Of(all, Some(w), at)
                    }
                    _ => {
                        return Err(syntax(
                            self.cond,
                            self.offset(),
                            "expected an identifier pattern or `them` after `of`",
                        ))
                    }
                }
            }
            Some((Tok::Word(w), at)) => {
                self.pos += 1;
                if w.contains('*') {
                    return Err(syntax(
                        self.cond,
                        at,
                        format!("the pattern `{w}` needs `1 of` or `all of` before it"),
                    ));
                }
                Ast::Ident(w, at)
            }
            Some((t, at)) => {
                return Err(syntax(
                    self.cond,
                    at,
                    format!(
                        "expected an identifier, `not`, `(`, `1 of` or `all of`, found {}",
                        describe(&t)
                    ),
                ))
            }
            None => {
                let msg = if start == 0 && self.toks.is_empty() {
                    "the condition is empty"
                } else {
                    "unexpected end of the condition"
                };
                return Err(syntax(self.cond, self.cond.len(), msg));
            }
        };
        loop {
            let (bp, is_and) = match self.peek() {
                Some(Tok::Or) => (1, false),
                Some(Tok::And) => (2, true),
                Some(Tok::RParen) | None => break,
                Some(t) => {
                    let t = t.clone();
                    return Err(syntax(
                        self.cond,
                        self.offset(),
                        format!("expected `and`, `or` or the end, found {}", describe(&t)),
                    ));
                }
            };
            if bp < min_bp {
                break;
            }
            self.pos += 1;
            let rhs = self.expr(bp + 1, depth + 1)?;
            lhs = match (lhs, is_and) {
                (Ast::And(mut xs), true) => {
                    xs.push(rhs);
                    Ast::And(xs)
                }
                (Ast::Or(mut xs), false) => {
                    xs.push(rhs);
                    Ast::Or(xs)
                }
                (l, true) => Ast::And(vec![l, rhs]),
                (l, false) => Ast::Or(vec![l, rhs]),
            };
        }
        Ok(lhs)
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::And => "`and`".into(),
        Tok::Or => "`or`".into(),
        Tok::Not => "`not`".into(),
        Tok::Quant(true) => "`all`".into(),
        Tok::Quant(false) => "`1`".into(),
        Tok::Of => "`of`".into(),
        Tok::Them => "`them`".into(),
        Tok::Word(w) => format!("`{w}`"),
    }
}

/// Parses a condition.
pub(crate) fn parse(cond: &str) -> Result<Ast, CondError> {
    let toks = lex(cond)?;
    let mut p = Parser { cond, toks, pos: 0 };
    let e = p.expr(0, 0).map_err(|(k, h)| {
        let upper = p.toks.iter().find_map(|(t, _)| match t {
            Tok::Word(w)
                if matches!(
                    w.to_lowercase().as_str(),
                    "and" | "or" | "not" | "of" | "them"
                ) =>
            {
                Some(w.clone())
            }
            _ => None,
        });
        match (h, upper) {
            (None, Some(w)) => (
                k,
                Some(format!(
                    "operators are lower-case: write `{}`",
                    w.to_lowercase()
                )),
            ),
            (h, _) => (k, h),
        }
    })?;
    if p.pos < p.toks.len() {
        return Err(syntax(cond, p.offset(), "unmatched `)`"));
    }
    Ok(e)
}

/// Whether `name` matches the glob `pat` (`*` = any sequence), whole and case-sensitive.
fn glob(pat: &str, name: &str) -> bool {
    let parts: Vec<&str> = pat.split('*').collect();
    if parts.len() == 1 {
        return pat == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// The identifiers an `x of` selects: `them` = all but `_`-prefixed ones; a pattern not
/// starting with `_` skips `_`-prefixed identifiers (pySigma).
fn select<'a>(pat: Option<&str>, names: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    names
        .filter(|n| match pat {
            None => !n.starts_with('_'),
            Some(p) => glob(p, n) && (p.starts_with('_') || !n.starts_with('_')),
        })
        .collect()
}

/// Resolves a parsed condition against the identifiers; marks the ones used.
pub(crate) fn resolve(
    ast: &Ast,
    ids: &IndexMap<String, Expr>,
    used: &mut [bool],
) -> Result<Expr, (ErrorKind, Option<String>, usize)> {
    Ok(match ast {
        Ast::Ident(name, at) => match ids.get_full(name) {
            Some((i, _, e)) => {
                used[i] = true;
                e.clone()
            }
            None => {
                let hint = super::closest(name, ids.keys().map(String::as_str))
                    .map(|c| format!("did you mean `{c}`?"))
                    .or_else(|| {
                        Some(format!(
                            "defined identifiers: {}",
                            ids.keys()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    });
                return Err((ErrorKind::UndefinedIdentifier(name.clone()), hint, *at));
            }
        },
        Ast::Of(all, pat, at) => {
            let sel = select(pat.as_deref(), ids.keys());
            if sel.is_empty() {
                let shown = pat.clone().unwrap_or_else(|| "them".into());
                return Err((
                    ErrorKind::PatternMatchesNothing(shown),
                    Some(format!(
                        "defined identifiers: {}",
                        ids.keys()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    *at,
                ));
            }
            let mut xs = Vec::with_capacity(sel.len());
            for n in sel {
                let (i, _, e) = ids.get_full(n.as_str()).expect("selected from ids");
                used[i] = true;
                xs.push(e.clone());
            }
            if *all {
                Expr::and(xs)
            } else {
                Expr::or(xs)
            }
        }
        Ast::Not(x) => Expr::Not(Box::new(resolve(x, ids, used)?)),
        Ast::And(xs) => Expr::And(
            xs.iter()
                .map(|x| resolve(x, ids, used))
                .collect::<Result<_, _>>()?,
        ),
        Ast::Or(xs) => Expr::Or(
            xs.iter()
                .map(|x| resolve(x, ids, used))
                .collect::<Result<_, _>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(a: &Ast) -> String {
        match a {
            Ast::Ident(n, _) => n.clone(),
            Ast::Of(all, p, _) => format!(
                "{} of {}",
                if *all { "all" } else { "1" },
                p.as_deref().unwrap_or("them")
            ),
            Ast::Not(x) => format!("not({})", show(x)),
            Ast::And(xs) => format!(
                "and({})",
                xs.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            Ast::Or(xs) => format!("or({})", xs.iter().map(show).collect::<Vec<_>>().join(", ")),
        }
    }

    fn p(s: &str) -> String {
        show(&parse(s).unwrap())
    }

    #[test]
    fn precedence() {
        assert_eq!(p("a or b and c"), "or(a, and(b, c))");
        assert_eq!(p("a and b or c"), "or(and(a, b), c)");
        assert_eq!(p("not a and b"), "and(not(a), b)");
        assert_eq!(p("not a or not b and c"), "or(not(a), and(not(b), c))");
        assert_eq!(
            p("a and not 1 of f* and not 1 of g*"),
            "and(a, not(1 of f*), not(1 of g*))"
        );
        assert_eq!(p("(a or b) and c"), "and(or(a, b), c)");
        assert_eq!(p("not (a or b)"), "not(or(a, b))");
        assert_eq!(p("not not a"), "not(not(a))");
        assert_eq!(p("a and b and c"), "and(a, b, c)");
        assert_eq!(
            p("all of them or any of sel-x"),
            "or(all of them, 1 of sel-x)"
        );
        assert_eq!(p("((a))"), "a");
    }

    #[test]
    fn errors_with_offsets() {
        let off = |s: &str| match parse(s).unwrap_err().0 {
            ErrorKind::ConditionSyntax { offset, .. } => offset,
            k => panic!("{k:?}"),
        };
        assert_eq!(off("a and"), 5);
        assert_eq!(off("a b"), 2);
        assert_eq!(off("(a or b"), 7);
        assert_eq!(off("a)"), 1);
        assert_eq!(off("1 of"), 4);
        assert_eq!(off("a = b"), 2);
        assert_eq!(off(""), 0);
        assert_eq!(off("sel*"), 0);
        assert!(matches!(
            parse("a | count() > 5").unwrap_err().0,
            ErrorKind::Deprecated(_)
        ));
        let deep = format!("{}a{}", "(".repeat(200), ")".repeat(200));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob("sel*", "selection"));
        assert!(glob("*", "x"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXc"));
        assert!(!glob("sel", "selection"));
        assert!(glob("*_x", "a_x"));
        let names: Vec<String> = ["a", "_b", "sel1"].iter().map(|s| s.to_string()).collect();
        assert_eq!(select(None, names.iter()), vec!["a", "sel1"]);
        assert_eq!(select(Some("*"), names.iter()), vec!["a", "sel1"]);
        assert_eq!(select(Some("_*"), names.iter()), vec!["_b"]);
    }
}
