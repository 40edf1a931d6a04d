//! Lucene regexp (the syntax of Elasticsearch's `regexp` query and of EQL's `regex` /
//! `regex~`) translated exactly into an IR regex (Rust `regex` syntax, unanchored).
//!
//! Lucene's grammar, as `org.apache.lucene.util.automaton.RegExp` parses it: union `|` <
//! concatenation < postfix repeats `? * + {n} {n,} {n,m}` (which stack: `a*?` is `(a*)?`) <
//! atoms: `.` (any character, newline included), `[...]` / `[^...]` (members are characters,
//! ranges and the classes `\d \D \s \S \w \W`), `"..."` (a literal string), `(...)` (`()` is
//! the empty string), `\d \D \s \S \w \W`, and any other character, optionally escaped with
//! `\`, as itself (so `^`, `$`, a leading `*` or a stray `]` are literal). A match covers the
//! whole value. The flag-dependent operators `~` (complement), `&` (intersection), `#`
//! (empty language), `@` (any string) and `<...>` (intervals, named automata) are refused
//! rather than guessed, as is `\` before a letter that names no class (an error in current
//! Lucene).
//!
//! Case-insensitive matching (`regex~`) follows Lucene's `ASCII_CASE_INSENSITIVE`, which
//! applies to literal characters and strings: ASCII letters match both cases (written out as
//! `[aA]`, so that no Unicode folding such as K / KELVIN SIGN creeps in). Inside character
//! classes Lucene versions and flags differ (Elasticsearch documents that ranges such as
//! `[a-z]` do not fold under `case_insensitive`, single letters do; Lucene 10.2's opt-in
//! `CASE_INSENSITIVE_RANGE` folds ranges too), so [`to_ir_regex`] lowers a class under
//! `regex~` only when every reading agrees (it holds both cases of each of its ASCII letters,
//! e.g. `[a-zA-Z0-9]`) and refuses other classes with letters; [`to_ir_regex_noted`] reads
//! them as Elasticsearch documents, with a note. Non-ASCII letters are refused by both.

use std::fmt::Write as _;

/// Translates a Lucene regexp. `insensitive` for `regex~`.
///
/// # Errors
/// A message naming the construct when the pattern is not valid Lucene syntax or uses a
/// construct that is refused (see the module docs).
pub fn to_ir_regex(pattern: &str, insensitive: bool) -> Result<String, String> {
    translate(pattern, insensitive, None)
}

/// [`to_ir_regex`], except that under `regex~` a character class whose ASCII letters lack
/// their other case is read as Elasticsearch documents `case_insensitive` (its regexp syntax
/// page, since 2025): single letters in the class match both cases, ranges (`a-z`) only as
/// written. Each such class adds a note saying so (other Lucene versions fold classes
/// differently: `CASE_INSENSITIVE_RANGE` folds ranges too).
///
/// # Errors
/// As [`to_ir_regex`], except for those classes.
pub fn to_ir_regex_noted(
    pattern: &str,
    insensitive: bool,
) -> Result<(String, Vec<String>), String> {
    let mut notes = Vec::new();
    let r = translate(pattern, insensitive, Some(&mut notes))?;
    Ok((r, notes))
}

fn translate(
    pattern: &str,
    insensitive: bool,
    notes: Option<&mut Vec<String>>,
) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut p = P {
        s: &chars,
        pos: 0,
        ci: insensitive,
        depth: 0,
        notes,
    };
    let body = if chars.is_empty() {
        String::new()
    } else {
        let b = p.union()?;
        if p.pos < chars.len() {
            return Err(format!(
                "unexpected `{}` at position {} of the Lucene regexp",
                chars[p.pos], p.pos
            ));
        }
        b
    };
    Ok(format!("^(?:{body})$"))
}

struct P<'a> {
    s: &'a [char],
    pos: usize,
    ci: bool,
    depth: usize,
    /// Where classes under `regex~` are read as Elasticsearch documents them (noted), or
    /// `None` to refuse them when Lucene versions differ.
    notes: Option<&'a mut Vec<String>>,
}

const MAX_DEPTH: usize = 100;

fn class_escape(c: char, out: &mut String) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:x}}}", c as u32);
    }
}

fn predefined(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        's' => "[ \\t\\n\\r]",
        'S' => "[^ \\t\\n\\r]",
        'w' => "[a-zA-Z_0-9]",
        'W' => "[^a-zA-Z_0-9]",
        _ => return None,
    })
}

impl P<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn next(&mut self) -> Result<char, String> {
        let c = self
            .peek()
            .ok_or_else(|| "unexpected end of the Lucene regexp".to_string())?;
        self.pos += 1;
        Ok(c)
    }

    fn union(&mut self) -> Result<String, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("Lucene regexp nested too deeply".into());
        }
        let mut alts = vec![self.concat()?];
        while self.eat('|') {
            alts.push(self.concat()?);
        }
        self.depth -= 1;
        Ok(alts.join("|"))
    }

    fn concat(&mut self) -> Result<String, String> {
        let mut out = self.repeat()?;
        while let Some(c) = self.peek() {
            if c == ')' || c == '|' {
                break;
            }
            if c == '&' {
                return Err("the Lucene regexp intersection operator `&`".into());
            }
            out.push_str(&self.repeat()?);
        }
        Ok(out)
    }

    fn repeat(&mut self) -> Result<String, String> {
        let mut e = self.atom()?;
        while let Some(c) = self.peek() {
            let q = match c {
                '?' | '*' | '+' => {
                    self.pos += 1;
                    c.to_string()
                }
                '{' => {
                    self.pos += 1;
                    let n = self.digits()?;
                    let q = if self.eat(',') {
                        let start = self.pos;
                        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                            self.pos += 1;
                        }
                        if self.pos == start {
                            format!("{{{n},}}")
                        } else {
                            let m: String = self.s[start..self.pos].iter().collect();
                            let (a, b) = (n.parse::<u64>(), m.parse::<u64>());
                            if let (Ok(a), Ok(b)) = (a, b) {
                                if a > b {
                                    return Err(format!(
                                        "invalid repeat {{{n},{m}}} in the Lucene regexp"
                                    ));
                                }
                            }
                            format!("{{{n},{m}}}")
                        }
                    } else {
                        format!("{{{n}}}")
                    };
                    if !self.eat('}') {
                        return Err("expected `}` in a Lucene regexp repeat".into());
                    }
                    q
                }
                _ => break,
            };
            e = format!("(?:{e}){q}");
        }
        Ok(e)
    }

    fn digits(&mut self) -> Result<String, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err("expected an integer in a Lucene regexp repeat `{...}`".into());
        }
        let n: String = self.s[start..self.pos].iter().collect();
        if n.parse::<u32>().map_or(true, |v| v > 10_000) {
            return Err(format!("repeat count {n} too large"));
        }
        Ok(n)
    }

    fn literal(&self, c: char, out: &mut String) -> Result<(), String> {
        if self.ci && c.is_ascii_alphabetic() {
            let _ = write!(
                out,
                "[{}{}]",
                c.to_ascii_lowercase(),
                c.to_ascii_uppercase()
            );
            return Ok(());
        }
        if self.ci && c.is_alphabetic() && (c.to_lowercase().ne(c.to_uppercase())) {
            return Err(format!(
                "the non-ASCII letter `{c}` under `regex~` (Lucene versions differ on its case folding)"
            ));
        }
        out.push_str(&regex_syntax::escape(c.encode_utf8(&mut [0; 4])));
        Ok(())
    }

    /// After a `\`: a predefined class, or the escaped character.
    fn escaped(&mut self) -> Result<Result<&'static str, char>, String> {
        let c = self.next()?;
        if let Some(cls) = predefined(c) {
            return Ok(Ok(cls));
        }
        if c.is_ascii_alphabetic() {
            return Err(format!(
                "`\\{c}` in a Lucene regexp (an error in current Lucene; write the letter without `\\`)"
            ));
        }
        Ok(Err(c))
    }

    fn atom(&mut self) -> Result<String, String> {
        let c = self.next()?;
        let mut out = String::new();
        match c {
            '~' => return Err("the Lucene regexp complement operator `~`".into()),
            '#' => return Err("the Lucene regexp empty-language operator `#`".into()),
            '@' => return Err("the Lucene regexp any-string operator `@`".into()),
            '<' => return Err("a Lucene regexp interval or named automaton `<...>`".into()),
            '.' => out.push_str("(?s:.)"),
            '[' => return self.class(),
            '"' => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c != '"') {
                    self.pos += 1;
                }
                if !self.eat('"') {
                    return Err("unterminated `\"` string in the Lucene regexp".into());
                }
                out.push_str("(?:");
                for &ch in &self.s[start..self.pos - 1] {
                    self.literal(ch, &mut out)?;
                }
                out.push(')');
            }
            '(' => {
                if self.eat(')') {
                    return Ok("(?:)".into());
                }
                let inner = self.union()?;
                if !self.eat(')') {
                    return Err("expected `)` in the Lucene regexp".into());
                }
                out = format!("(?:{inner})");
            }
            '\\' => match self.escaped()? {
                Ok(cls) => out.push_str(cls),
                Err(ch) => self.literal(ch, &mut out)?,
            },
            c => self.literal(c, &mut out)?,
        }
        Ok(out)
    }

    fn class(&mut self) -> Result<String, String> {
        // The class's text starts at its `[`, just consumed.
        let start = self.pos - 1;
        let negate = self.eat('^');
        let mut out = String::from(if negate { "[^" } else { "[" });
        let mut first = true;
        // ASCII letters in the class, bit i for `a` + i (lower) and 26 + i (upper); those
        // written as single characters apart.
        let mut letters: u64 = 0;
        let mut singles: u64 = 0;
        loop {
            match self.peek() {
                None => return Err("expected `]` closing a Lucene regexp class".into()),
                Some(']') if !first => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            first = false;
            let c = if self.eat('\\') {
                match self.escaped()? {
                    Ok(cls) => {
                        // \w holds both cases; \d, \s and the negated forms no letters
                        // (\W, \S, \D hold none of ASCII's or all of them, both cases).
                        out.push_str(cls);
                        continue;
                    }
                    Err(ch) => ch,
                }
            } else {
                self.next()?
            };
            let to = if self.eat('-') {
                // An optional backslash, then the character (no classes at a range end).
                self.eat('\\');
                Some(self.next()?)
            } else {
                None
            };
            let t = to.unwrap_or(c);
            if c > t {
                return Err(format!("invalid range `{c}-{t}` in a Lucene regexp class"));
            }
            if self.ci {
                for x in c..=t.min('\u{7f}') {
                    let bit = if x.is_ascii_lowercase() {
                        1 << (x as u32 - 'a' as u32)
                    } else if x.is_ascii_uppercase() {
                        1 << (26 + x as u32 - 'A' as u32)
                    } else {
                        0
                    };
                    letters |= bit;
                    if to.is_none() {
                        singles |= bit;
                    }
                }
                let wide = t as u32 > 0x7f
                    && (t as u32 - (c as u32).max(0x80) > 0x1000
                        || (c.max('\u{80}')..=t).any(char::is_alphabetic));
                if wide {
                    return Err(
                        "a non-ASCII letter in a character class under `regex~` (Lucene versions differ on its case folding)"
                            .into(),
                    );
                }
            }
            class_escape(c, &mut out);
            if let Some(t) = to {
                out.push('-');
                class_escape(t, &mut out);
            }
        }
        // Lucene versions differ on case folding inside classes: the readings agree exactly
        // when the class holds both cases of each of its ASCII letters.
        if self.ci && (letters & 0x3ff_ffff) != (letters >> 26) {
            let Some(notes) = self.notes.as_mut() else {
                return Err(
                    "a letter in a character class under `regex~` without its other case (Lucene versions differ on whether case folding applies to classes)"
                        .into(),
                );
            };
            // Elasticsearch's documented reading: single letters fold, ranges do not.
            let lower = singles & 0x3ff_ffff;
            let upper = singles >> 26;
            for i in 0..26u8 {
                if (lower | upper) & (1 << i) != 0 {
                    out.push(char::from(b'a' + i));
                    out.push(char::from(b'A' + i));
                }
            }
            let text: String = self.s[start..self.pos].iter().collect();
            notes.push(format!(
                "the class `{text}` under `regex~` is read as Elasticsearch documents case-insensitive regexps: its single letters match both cases, its ranges only as written (Lucene's CASE_INSENSITIVE_RANGE, where enabled, folds ranges too)"
            ));
        }
        out.push(']');
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::to_ir_regex;

    fn m(p: &str, ci: bool, v: &str) -> bool {
        let r = to_ir_regex(p, ci).unwrap();
        regex::Regex::new(&r).unwrap().is_match(v)
    }

    #[test]
    fn anchored_and_literal_specials() {
        assert!(m("php?[0-9]?\\.?[0-9]{0,2}", false, "php7.4"));
        assert!(m("php?[0-9]?\\.?[0-9]{0,2}", false, "ph"));
        assert!(!m("php?[0-9]?\\.?[0-9]{0,2}", false, "xphp"));
        assert!(!m("php?[0-9]?\\.?[0-9]{0,2}", false, "PHP"));
        assert!(m("php?[0-9]?\\.?[0-9]{0,2}", true, "PHP5"));
        assert!(m("^a$", false, "^a$"));
        assert!(m("*a", false, "*a"));
        assert!(m("a.c", false, "a\nc"));
        assert!(m("\"a.b\"c", false, "a.bc"));
        assert!(!m("\"a.b\"c", false, "axbc"));
        assert!(m("a*?", false, ""));
        assert!(m("()a", false, "a"));
        assert!(m("\\w+\\s\\d", false, "ab_1 7"));
        assert!(m("[\\d\\-x]+", false, "1-x"));
        assert!(m("[^a-c]", false, "\n"));
        assert!(m("k", true, "K"));
        assert!(!m("k", true, "\u{212a}"));
    }

    #[test]
    fn refusals() {
        for p in ["a&b", "~a", "a@", "#", "<1-5>", "\\q", "[a-"] {
            assert!(to_ir_regex(p, false).is_err(), "{p}");
        }
        assert!(to_ir_regex("[a-z]", true).is_err());
        assert!(to_ir_regex("[0-9]", true).is_ok());
        assert!(to_ir_regex("[a-zA-Z_0-9]", true).is_ok());
        assert!(to_ir_regex("[^xX]", true).is_ok());
        assert!(to_ir_regex("[C-Zc-z]", true).is_ok());
        assert!(to_ir_regex("[C-Zb-z]", true).is_err());
        assert!(to_ir_regex("[é]", true).is_err());
        assert!(to_ir_regex("a)", false).is_err());
        assert!(to_ir_regex("a{2,1}", false).is_err());
    }

    /// Classes under `regex~` whose letters lack their other case: single letters fold,
    /// ranges do not, with a note; classes closed under case get no note.
    #[test]
    fn noted_classes_fold_single_letters_only() {
        let noted = |p: &str, v: &str| {
            let (r, notes) = super::to_ir_regex_noted(p, true).unwrap();
            (regex::Regex::new(&r).unwrap().is_match(v), notes.len())
        };
        assert_eq!(noted("[a-c]+", "abc"), (true, 1));
        assert_eq!(noted("[a-c]+", "ABC"), (false, 1));
        assert_eq!(noted("[abc]+", "ABC"), (true, 1));
        assert_eq!(noted("[ABC]+", "abc"), (true, 1));
        assert_eq!(noted("[^uz]", "U"), (false, 1));
        assert_eq!(noted("[^a-z]", "A"), (true, 1));
        assert_eq!(noted("[a-zA-Z]", "Q"), (true, 0));
        assert_eq!(noted("x[0-9]", "X1"), (true, 0));
        assert!(super::to_ir_regex_noted("[é]", true).is_err());
    }
}
