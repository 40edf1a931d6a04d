//! The character-level scanners of KQL. Kibana's grammar is scannerless (whitespace is part
//! of unquoted values, keywords need surrounding whitespace), so instead of a token stream
//! this is a cursor with the grammar's terminals: whitespace, keywords, quoted strings and
//! unquoted literals. Failures are recorded at the furthest position reached, with what was
//! expected there, for the error message.

use super::ast::{Literal, Piece, Value};
use crate::read::source::Span;

/// A cursor over the query text with furthest-failure tracking.
pub struct Cursor<'a> {
    /// The query.
    pub src: &'a str,
    /// The current byte offset.
    pub pos: usize,
    /// The furthest offset where something failed to match.
    pub far: usize,
    /// What was expected at `far`.
    pub expected: Vec<&'static str>,
    /// A fatal error (nesting too deep, bad escape): message, span, hint.
    pub fatal: Option<(String, Span, Option<&'static str>)>,
}

/// `[\\():<>"*{}]`: characters an unquoted value must escape.
pub fn is_special(c: char) -> bool {
    matches!(
        c,
        '\\' | '(' | ')' | ':' | '<' | '>' | '"' | '*' | '{' | '}'
    )
}

/// Kibana's `Space`: space, tab, CR, LF, no-break space.
pub fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{a0}')
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `src`.
    #[must_use]
    pub fn new(src: &'a str) -> Self {
        Cursor {
            src,
            pos: 0,
            far: 0,
            expected: Vec::new(),
            fatal: None,
        }
    }

    /// The rest of the input.
    #[must_use]
    pub fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    /// The next character.
    #[must_use]
    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Records that `what` was expected at the current position.
    pub fn fail(&mut self, what: &'static str) {
        if self.pos > self.far {
            self.far = self.pos;
            self.expected.clear();
        }
        if self.pos == self.far && !self.expected.contains(&what) {
            self.expected.push(what);
        }
    }

    /// Consumes `c` if it is next.
    pub fn eat(&mut self, c: char, what: &'static str) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            self.fail(what);
            false
        }
    }

    /// `Space*`; whether any was consumed.
    pub fn spaces(&mut self) -> bool {
        let start = self.pos;
        while let Some(c) = self.peek().filter(|&c| is_space(c)) {
            self.pos += c.len_utf8();
        }
        self.pos > start
    }

    /// Whether the rest starts with `word` in any case, followed by a space when
    /// `space_after`.
    fn word_at(&self, at: usize, word: &str, space_after: bool) -> bool {
        let r = &self.src[at..];
        r.len() >= word.len()
            && r.is_char_boundary(word.len())
            && r[..word.len()].eq_ignore_ascii_case(word)
            && (!space_after || r[word.len()..].chars().next().is_some_and(is_space))
    }

    /// `Space+ word Space+` (the `Or` / `And` rules); restores the position on failure.
    pub fn infix_keyword(&mut self, word: &str, what: &'static str) -> bool {
        let save = self.pos;
        if self.spaces() && self.word_at(self.pos, word, true) {
            self.pos += word.len();
            self.spaces();
            return true;
        }
        self.pos = save;
        self.fail(what);
        false
    }

    /// `'not'i Space+`; restores the position on failure.
    pub fn not_keyword(&mut self) -> bool {
        if self.word_at(self.pos, "not", true) {
            self.pos += 3;
            self.spaces();
            return true;
        }
        false
    }

    /// Kibana's `Keyword` lookahead at `at`: `Space or Space`, `Space and Space`, `not Space`.
    fn keyword_at(&self, at: usize) -> bool {
        let r = &self.src[at..];
        match r.chars().next() {
            Some(c) if is_space(c) => {
                let n = at + c.len_utf8();
                self.word_at(n, "or", true) || self.word_at(n, "and", true)
            }
            Some(_) => self.word_at(at, "not", true),
            None => false,
        }
    }

    /// `\uXXXX` at the current position (after the backslash): the character.
    fn unicode_escape(&self, at: usize) -> Option<char> {
        let r = self.src.get(at..)?;
        let hex = r.strip_prefix('u')?.get(..4)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        // `String.fromCharCode` of a lone surrogate gives U+FFFD once encoded.
        Some(char::from_u32(u32::from_str_radix(hex, 16).ok()?).unwrap_or('\u{fffd}'))
    }

    /// A double-quoted string: `\t \r \n`, `\uXXXX`, `\\`, `\"` are escapes; any other
    /// character, a lone backslash included, stands for itself.
    pub fn quoted(&mut self) -> Option<Literal> {
        let start = self.pos;
        if self.peek() != Some('"') {
            self.fail("a value");
            return None;
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                self.fail("`\"` closing the string");
                self.pos = start;
                return None;
            };
            match c {
                '"' => {
                    self.pos += 1;
                    return Some(Literal {
                        value: Value::Text(out),
                        quoted: true,
                        span: Span::new(start, self.pos),
                    });
                }
                '\\' => {
                    let next = self.src[self.pos + 1..].chars().next();
                    match next {
                        Some('t') => (out.push('\t'), self.pos += 2).1,
                        Some('r') => (out.push('\r'), self.pos += 2).1,
                        Some('n') => (out.push('\n'), self.pos += 2).1,
                        Some(q @ ('\\' | '"')) => (out.push(q), self.pos += 2).1,
                        Some('u') if self.unicode_escape(self.pos + 1).is_some() => {
                            out.extend(self.unicode_escape(self.pos + 1));
                            self.pos += 6;
                        }
                        _ => (out.push('\\'), self.pos += 1).1,
                    }
                }
                c => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    /// An unquoted literal: characters up to a special character or a keyword, escapes
    /// decoded, `*` as a wildcard; trimmed; `null`, `true`, `false` typed.
    pub fn unquoted(&mut self) -> Option<Literal> {
        let start = self.pos;
        let mut pieces: Vec<Piece> = Vec::new();
        let push = |pieces: &mut Vec<Piece>, c: char| match pieces.last_mut() {
            Some(Piece::Lit(s)) => s.push(c),
            _ => pieces.push(Piece::Lit(c.to_string())),
        };
        let mut any = false;
        while let Some(c) = self.peek() {
            if c == '\\' {
                let at = self.pos + 1;
                match self.src[at..].chars().next() {
                    Some('t') => push(&mut pieces, '\t'),
                    Some('r') => push(&mut pieces, '\r'),
                    Some('n') => push(&mut pieces, '\n'),
                    Some(s) if is_special(s) => push(&mut pieces, s),
                    Some('u') if self.unicode_escape(at).is_some() => {
                        push(&mut pieces, self.unicode_escape(at).unwrap_or('\u{fffd}'));
                        self.pos += 6;
                        any = true;
                        continue;
                    }
                    _ => {
                        let kw = ["or", "and", "not"]
                            .into_iter()
                            .find(|k| self.word_at(at, k, false));
                        if let Some(k) = kw {
                            for ch in self.src[at..at + k.len()].chars() {
                                push(&mut pieces, ch);
                            }
                            self.pos = at + k.len();
                            any = true;
                            continue;
                        }
                        self.fail("an escape (`\\` before one of \\():<>\"*{}, whitespace \\t \\r \\n, \\uXXXX, or a keyword)");
                        break;
                    }
                }
                self.pos = at + self.src[at..].chars().next().map_or(0, char::len_utf8);
                any = true;
                continue;
            }
            if c == '*' {
                pieces.push(Piece::Star);
                self.pos += 1;
                any = true;
                continue;
            }
            if is_special(c) || self.keyword_at(self.pos) {
                break;
            }
            push(&mut pieces, c);
            self.pos += c.len_utf8();
            any = true;
        }
        if !any {
            self.fail("a value");
            self.pos = start;
            return None;
        }
        trim(&mut pieces);
        let has_star = pieces.contains(&Piece::Star);
        let value = if has_star {
            Value::Wildcard(pieces)
        } else {
            let s: String = pieces
                .into_iter()
                .map(|p| match p {
                    Piece::Lit(s) => s,
                    Piece::Star => String::new(),
                })
                .collect();
            match s.as_str() {
                "null" => Value::Null,
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::Text(s),
            }
        };
        Some(Literal {
            value,
            quoted: false,
            span: Span::new(start, self.pos),
        })
    }

    /// `QuotedString / UnquotedLiteral`.
    pub fn literal(&mut self) -> Option<Literal> {
        if self.peek() == Some('"') {
            self.quoted()
        } else {
            self.unquoted()
        }
    }
}

/// JavaScript's `String.prototype.trim` on the pieces: leading and trailing white space (and
/// U+FEFF) of the literal text.
fn trim(pieces: &mut Vec<Piece>) {
    let ws = |c: char| c.is_whitespace() || c == '\u{feff}';
    if let Some(Piece::Lit(s)) = pieces.first_mut() {
        *s = s.trim_start_matches(ws).to_string();
    }
    if let Some(Piece::Lit(s)) = pieces.last_mut() {
        *s = s.trim_end_matches(ws).to_string();
    }
    pieces.retain(|p| !matches!(p, Piece::Lit(s) if s.is_empty()));
}
