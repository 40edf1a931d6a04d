//! EQL tokens, as Elasticsearch's EQL grammar (`EqlBase.g4`) defines them.

use crate::read::source::Span;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An identifier (`process`, `@timestamp`, `name`); `tilde` when written `name~` (function
    /// names and the `like~` / `in~` / `regex~` operators).
    Ident {
        /// The text.
        name: String,
        /// A `~` follows immediately.
        tilde: bool,
    },
    /// A backquoted identifier, with doubled backquotes undone.
    Quoted(String),
    /// A string literal, escapes decoded (`raw` for `"""..."""`).
    Str {
        /// The value.
        value: String,
        /// Written as a raw `"""` string.
        raw: bool,
    },
    /// An integer literal (digits only).
    Int(String),
    /// A decimal literal.
    Dec(String),
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
    /// `:`
    Colon,
    /// `=` (only in `maxspan=` / `runs=`)
    Assign,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `.`
    Dot,
    /// `,`
    Comma,
    /// `[`
    LBracket,
    /// `![` (missing event)
    MissingOpen,
    /// `]`
    RBracket,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `|`
    Pipe,
    /// `?` before a field name (optional field)
    Question,
    /// End of input.
    Eof,
}

impl Tok {
    /// How the token is named in "expected ..., found ..." messages.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident { name, tilde } => format!("`{name}{}`", if *tilde { "~" } else { "" }),
            Tok::Quoted(s) => format!("`` `{s}` ``"),
            Tok::Str { .. } => "a string".into(),
            Tok::Int(s) | Tok::Dec(s) => format!("the number `{s}`"),
            Tok::Eof => "the end of the query".into(),
            t => format!("`{}`", t.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::Eq => "==",
            Tok::Neq => "!=",
            Tok::Lt => "<",
            Tok::Lte => "<=",
            Tok::Gt => ">",
            Tok::Gte => ">=",
            Tok::Colon => ":",
            Tok::Assign => "=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Dot => ".",
            Tok::Comma => ",",
            Tok::LBracket => "[",
            Tok::MissingOpen => "![",
            Tok::RBracket => "]",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Pipe => "|",
            Tok::Question => "?",
            Tok::Ident { .. }
            | Tok::Quoted(_)
            | Tok::Str { .. }
            | Tok::Int(_)
            | Tok::Dec(_)
            | Tok::Eof => "",
        }
    }
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The kind.
    pub tok: Tok,
    /// Where.
    pub span: Span,
}

/// A lexical error: message, span, hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: Span,
    /// What to do.
    pub hint: Option<String>,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'@'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Splits `src` into tokens (the last one [`Tok::Eof`]). Whitespace and `//` / `/* */`
/// comments are skipped.
///
/// # Errors
/// On a character no token starts with, an unterminated string, comment or backquoted name,
/// an invalid escape, or the forms Elasticsearch rejects (single quotes, `?"..."`, `=` for
/// `==`).
pub fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let b = src.as_bytes();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let simple = |t: Tok, n: usize| (t, n);
        let (tok, len) = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = block_comment(b, i)?;
                continue;
            }
            b'=' if b.get(i + 1) == Some(&b'=') => simple(Tok::Eq, 2),
            b'=' => simple(Tok::Assign, 1),
            b'!' if b.get(i + 1) == Some(&b'=') => simple(Tok::Neq, 2),
            b'!' if b.get(i + 1) == Some(&b'[') => simple(Tok::MissingOpen, 2),
            b'<' if b.get(i + 1) == Some(&b'=') => simple(Tok::Lte, 2),
            b'<' => simple(Tok::Lt, 1),
            b'>' if b.get(i + 1) == Some(&b'=') => simple(Tok::Gte, 2),
            b'>' => simple(Tok::Gt, 1),
            b':' => simple(Tok::Colon, 1),
            b'+' => simple(Tok::Plus, 1),
            b'-' => simple(Tok::Minus, 1),
            b'*' => simple(Tok::Star, 1),
            b'/' => simple(Tok::Slash, 1),
            b'%' => simple(Tok::Percent, 1),
            b',' => simple(Tok::Comma, 1),
            b'[' => simple(Tok::LBracket, 1),
            b']' => simple(Tok::RBracket, 1),
            b'(' => simple(Tok::LParen, 1),
            b')' => simple(Tok::RParen, 1),
            b'|' => simple(Tok::Pipe, 1),
            b'?' if b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'\'') => {
                return Err(lex_err(
                    "`?\"...\"` raw strings are not Elasticsearch EQL".into(),
                    start,
                    start + 2,
                    Some("write a raw string as \"\"\"...\"\"\""),
                ));
            }
            b'?' => simple(Tok::Question, 1),
            b'\'' => {
                return Err(lex_err(
                    "single-quoted strings are not Elasticsearch EQL".into(),
                    start,
                    start + 1,
                    Some("use double quotes"),
                ));
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit)
                && !out.last().is_some_and(|t| {
                    t.span.end as usize == i
                        && matches!(t.tok, Tok::Ident { .. } | Tok::Quoted(_) | Tok::RBracket)
                }) =>
            {
                let n = number_len(&b[i..]);
                (Tok::Dec(src[i..i + n].to_string()), n)
            }
            b'.' => simple(Tok::Dot, 1),
            b'0'..=b'9' => {
                let n = number_len(&b[i..]);
                let text = src[i..i + n].to_string();
                if text.bytes().all(|c| c.is_ascii_digit()) {
                    (Tok::Int(text), n)
                } else {
                    (Tok::Dec(text), n)
                }
            }
            b'`' => backquoted(src, i)?,
            b'"' if src[i..].starts_with("\"\"\"") => raw_string(src, i)?,
            b'"' => {
                let (value, n) = string(src, i)?;
                (Tok::Str { value, raw: false }, n)
            }
            c if is_ident_start(c) => {
                let mut j = i + 1;
                while j < b.len() && is_ident_char(b[j]) {
                    j += 1;
                }
                let name = src[i..j].to_string();
                let tilde = b.get(j) == Some(&b'~');
                (Tok::Ident { name, tilde }, j - i + usize::from(tilde))
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(lex_err(
                    format!("unexpected character `{ch}`"),
                    start,
                    start + ch.len_utf8(),
                    None,
                ));
            }
        };
        i += len;
        out.push(Token {
            tok,
            span: Span::new(start, i),
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(b.len(), b.len()),
    });
    Ok(out)
}

/// A lexical error over `s..e`.
fn lex_err(message: String, s: usize, e: usize, hint: Option<&str>) -> LexError {
    LexError {
        message,
        span: Span::new(s, e),
        hint: hint.map(str::to_string),
    }
}

/// A `/* */` comment starting at `i` (bracketed comments nest, as in the grammar): the index
/// right after it.
fn block_comment(b: &[u8], start: usize) -> Result<usize, LexError> {
    let mut i = start;
    let mut depth = 0usize;
    loop {
        if i + 1 >= b.len() {
            return Err(lex_err(
                "unterminated comment".into(),
                start,
                start + 2,
                Some("close it with `*/`"),
            ));
        }
        if b[i] == b'/' && b[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Ok(i);
            }
        } else {
            i += 1;
        }
    }
}

/// A backquoted field name at `i` (a backquote inside is doubled): its token and length.
fn backquoted(src: &str, i: usize) -> Result<(Tok, usize), LexError> {
    let b = src.as_bytes();
    let mut s = String::new();
    let mut j = i + 1;
    loop {
        match src[j..].find('`') {
            None => {
                return Err(lex_err(
                    "unterminated backquoted field name".into(),
                    i,
                    b.len(),
                    Some("close it with `` ` ``; a backquote inside is doubled"),
                ))
            }
            Some(k) => {
                s.push_str(&src[j..j + k]);
                j += k + 1;
                if b.get(j) == Some(&b'`') {
                    s.push('`');
                    j += 1;
                } else {
                    break;
                }
            }
        }
    }
    Ok((Tok::Quoted(s), j - i))
}

/// A raw `"""..."""` string at `i`: its token and length.
fn raw_string(src: &str, i: usize) -> Result<(Tok, usize), LexError> {
    let b = src.as_bytes();
    let Some(k) = src[i + 3..].find("\"\"\"") else {
        return Err(lex_err(
            "unterminated raw string".into(),
            i,
            b.len(),
            Some("close it with \"\"\""),
        ));
    };
    // A raw string ends at the first `"""`; up to two more quotes right after it belong to
    // the value (the grammar's `'"""' .*? '"""' '"'? '"'?`).
    let mut end = i + 3 + k;
    for _ in 0..2 {
        if b.get(end + 3) == Some(&b'"') {
            end += 1;
        }
    }
    Ok((
        Tok::Str {
            value: src[i + 3..end].to_string(),
            raw: true,
        },
        end + 3 - i,
    ))
}

/// Length of the number at the start of `b`: digits, an optional fraction, an optional
/// exponent. `30s` gives 2: the unit is an identifier of its own.
fn number_len(b: &[u8]) -> usize {
    let mut j = 0;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    if b.get(j) == Some(&b'.') && (j > 0 || b.get(j + 1).is_some_and(u8::is_ascii_digit)) {
        j += 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(b.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        if b.get(k).is_some_and(u8::is_ascii_digit) {
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    j
}

/// A double-quoted string at `i`: its value and length. Escapes: `\n \r \t \b \f \" \' \\`
/// and `\u{X...}` (2 to 8 hex digits). No line breaks inside.
fn string(src: &str, i: usize) -> Result<(String, usize), LexError> {
    let mut out = String::new();
    let mut chars = src[i + 1..].char_indices();
    let at = |k: usize| i + 1 + k;
    while let Some((k, c)) = chars.next() {
        match c {
            '"' => return Ok((out, k + 2)),
            '\n' | '\r' => {
                return Err(LexError {
                    message: "line break inside a string".into(),
                    span: Span::new(at(k), at(k) + 1),
                    hint: Some(
                        "close the string on its line, or use a raw \"\"\"...\"\"\" string".into(),
                    ),
                })
            }
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    '\\' => out.push('\\'),
                    'u' => {
                        let rest = &src[at(k) + 2..];
                        let hex = rest
                            .strip_prefix('{')
                            .and_then(|r| r.find('}').map(|e| &r[..e]))
                            .filter(|h| {
                                (2..=8).contains(&h.len())
                                    && h.bytes().all(|c| c.is_ascii_hexdigit())
                            });
                        let ch = hex
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .and_then(char::from_u32);
                        match (hex, ch) {
                            (Some(h), Some(ch)) => {
                                out.push(ch);
                                for _ in 0..h.len() + 2 {
                                    chars.next();
                                }
                            }
                            _ => return Err(LexError {
                                message: "invalid unicode escape".into(),
                                span: Span::new(at(k), at(k) + 2),
                                hint: Some(
                                    "write \\u{XXXX} with 2 to 8 hex digits of a valid code point"
                                        .into(),
                                ),
                            }),
                        }
                    }
                    other => {
                        return Err(LexError {
                            message: format!("invalid escape `\\{other}` in a string"),
                            span: Span::new(at(k), at(k) + 1 + other.len_utf8()),
                            hint: Some(
                                "write a backslash as \\\\, or use a raw \"\"\"...\"\"\" string"
                                    .into(),
                            ),
                        })
                    }
                }
            }
            c => out.push(c),
        }
    }
    Err(LexError {
        message: "unterminated string".into(),
        span: Span::new(i, src.len()),
        hint: Some("close it with `\"`".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            kinds(r#"a.b like~ "x\"y" 30s .5 1e3 `c``d`"#),
            vec![
                Tok::Ident {
                    name: "a".into(),
                    tilde: false
                },
                Tok::Dot,
                Tok::Ident {
                    name: "b".into(),
                    tilde: false
                },
                Tok::Ident {
                    name: "like".into(),
                    tilde: true
                },
                Tok::Str {
                    value: "x\"y".into(),
                    raw: false
                },
                Tok::Int("30".into()),
                Tok::Ident {
                    name: "s".into(),
                    tilde: false
                },
                Tok::Dec(".5".into()),
                Tok::Dec("1e3".into()),
                Tok::Quoted("c`d".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn raw_strings_and_escapes() {
        assert_eq!(
            kinds(r#""""C:\x\"""" "\u{41}\t""#)[..2],
            [
                Tok::Str {
                    value: "C:\\x\\\"".into(),
                    raw: true
                },
                Tok::Str {
                    value: "A\t".into(),
                    raw: false
                }
            ]
        );
        assert!(lex(r#""a\qb""#).unwrap_err().message.contains("\\q"));
        assert!(lex("'a'").is_err());
        assert_eq!(lex("\"abc").unwrap_err().message, "unterminated string");
    }
}
