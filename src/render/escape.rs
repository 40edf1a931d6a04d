//! Escaping filters declared as data (`escapes:` in a backend file).
//!
//! Every value reaches a query only through one of these: a quote pair, a per-character
//! replacement table (a `null` replacement means "cannot be written": a typed refusal), a
//! format for other control characters, how the pattern wildcards `*`/`?` are written,
//! optionally a regex dialect the value is translated to first, and shapes of the written value
//! that the target cannot read (`refuse`).

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::Deserialize;

use super::regex::{self, Dialect, RegexValue};
use crate::ir::{Pattern, Piece};

/// One escaping filter as written in the backend file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscapeSpec {
    /// What the filter produces, for refusal messages (e.g. `an EQL wildcard pattern`).
    #[serde(default)]
    pub what: Option<String>,
    /// Text before and after the escaped value: one string for both, or `[open, close]`.
    #[serde(default)]
    pub quote: Quote,
    /// Replacements for single characters of literal text; `null` = cannot be written.
    #[serde(default)]
    pub chars: IndexMap<String, Option<String>>,
    /// Format for other control characters (U+0000–U+001F, U+007F): `%X` is replaced by the
    /// upper-case hex code, `%04X` by the same padded to 4 digits. Absent: written as is.
    #[serde(default)]
    pub control: Option<String>,
    /// How a pattern's `*` is written. Absent: a pattern with `*` is refused.
    #[serde(default)]
    pub many: Option<String>,
    /// How a pattern's `?` is written. Absent: a pattern with `?` is refused.
    #[serde(default)]
    pub one: Option<String>,
    /// Lower-case literal text first (for engines that fold the field with a function).
    #[serde(default)]
    pub lower: bool,
    /// A regex: when the whole value matches it (and is not a reserved word), it is written
    /// bare, without quotes or escapes (identifiers).
    #[serde(default)]
    pub bare: Option<String>,
    /// Words that are never written bare (compared case-insensitively).
    #[serde(default)]
    pub reserved: Vec<String>,
    /// Treat the value as a regular expression and translate it to this dialect first.
    #[serde(default)]
    pub regex: Option<Dialect>,
    /// With `regex`: make the translated regex case-insensitive by character classes
    /// (`[aA]`) for engines without a case-insensitive regex operator.
    #[serde(default)]
    pub fold_case: bool,
    /// How a pattern's `*` is written where it ends a word (a space follows it, or it is last
    /// and a space precedes it) in a pattern that holds a space and does not begin with `*`.
    /// Absent: `many`. (KQL's unquoted wildcard value with spaces cannot have such a `*`:
    /// `sh -c *` and `a b* c` do not parse, `sh -c **` and `a b** c`, the same patterns, do.)
    #[serde(default)]
    pub many_word_end: Option<String>,
    /// Shapes of the written value (without its quotes) the target cannot read: a value that
    /// any `match` regex finds is refused with that entry's `what`.
    #[serde(default)]
    pub refuse: Vec<RefuseSpec>,
}

/// One `refuse` entry: a regex on the written value and what is refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefuseSpec {
    /// A regex searched in the written value (quotes excluded).
    #[serde(rename = "match")]
    pub pattern: String,
    /// The refusal message (`unsupported by <backend>: <what>`).
    pub what: String,
}

/// The quote pair.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub enum Quote {
    /// No quotes.
    #[default]
    None,
    /// The same text before and after.
    Same(String),
    /// `[open, close]`.
    Pair(String, String),
}

/// A compiled escaping filter.
#[derive(Debug)]
pub struct Escape {
    name: String,
    what: String,
    open: String,
    close: String,
    chars: HashMap<char, Option<String>>,
    /// The ASCII characters `push_text` cannot copy as they are: keys of `chars` and control
    /// characters. Runs of the others are copied whole.
    special: [bool; 128],
    control: Option<String>,
    many: Option<String>,
    one: Option<String>,
    lower: bool,
    bare: Option<::regex::Regex>,
    reserved: Vec<String>,
    regex: Option<Dialect>,
    fold_case: bool,
    many_word_end: Option<String>,
    refuse: Vec<(::regex::Regex, String)>,
}

/// Why a value cannot be written: the "what" of an `Unsupported` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// What a filter is applied to.
pub enum Input<'a> {
    /// Literal text.
    Text(&'a str),
    /// A wildcard pattern, and whether it is case-sensitive.
    Pattern(&'a Pattern, bool),
    /// A regular expression with flags.
    Regex(&'a RegexValue),
}

impl Escape {
    /// Compiles `spec` under `name`.
    ///
    /// # Errors
    /// A `chars` key that is not one character, or an invalid `bare` or `refuse` regex.
    pub fn compile(name: &str, spec: &EscapeSpec) -> Result<Self, String> {
        let mut chars = HashMap::new();
        for (k, v) in &spec.chars {
            let mut it = k.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => {
                    chars.insert(c, v.clone());
                }
                _ => {
                    return Err(format!(
                        "escape `{name}`: key {k:?} of `chars` must be one character"
                    ))
                }
            }
        }
        let bare = spec
            .bare
            .as_deref()
            .map(|b| ::regex::Regex::new(&format!("^(?:{b})$")))
            .transpose()
            .map_err(|e| format!("escape `{name}`: invalid `bare` regex: {e}"))?;
        let refuse = spec
            .refuse
            .iter()
            .map(|r| {
                ::regex::Regex::new(&r.pattern)
                    .map(|re| (re, r.what.clone()))
                    .map_err(|e| format!("escape `{name}`: invalid `refuse` regex: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (open, close) = match &spec.quote {
            Quote::None => (String::new(), String::new()),
            Quote::Same(q) => (q.clone(), q.clone()),
            Quote::Pair(o, c) => (o.clone(), c.clone()),
        };
        Ok(Escape {
            name: name.to_string(),
            what: spec
                .what
                .clone()
                .unwrap_or_else(|| format!("a `{name}` value")),
            open,
            close,
            special: std::array::from_fn(|b| {
                let c = char::from(b as u8);
                is_control(c) || chars.contains_key(&c)
            }),
            chars,
            control: spec.control.clone(),
            many: spec.many.clone(),
            one: spec.one.clone(),
            lower: spec.lower,
            bare,
            reserved: spec.reserved.iter().map(|r| r.to_lowercase()).collect(),
            regex: spec.regex,
            fold_case: spec.fold_case,
            many_word_end: spec.many_word_end.clone(),
            refuse,
        })
    }

    /// The filter's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Escapes `input`, or says why it cannot be written.
    ///
    /// # Errors
    /// A [`Refusal`] naming what cannot be expressed.
    pub fn apply(&self, input: &Input<'_>) -> Result<String, Refusal> {
        let out = self.write(input)?;
        if !self.refuse.is_empty() {
            let body = out
                .strip_prefix(self.open.as_str())
                .and_then(|b| b.strip_suffix(self.close.as_str()))
                .unwrap_or(&out);
            if let Some((_, what)) = self.refuse.iter().find(|(re, _)| re.is_match(body)) {
                return Err(Refusal(what.clone()));
            }
        }
        Ok(out)
    }

    fn write(&self, input: &Input<'_>) -> Result<String, Refusal> {
        if let Some(dialect) = self.regex {
            let re = match input {
                Input::Text(t) => regex::from_literal(t, dialect, false),
                Input::Pattern(p, cased) => {
                    let ci = !cased && (self.fold_case || dialect != Dialect::Lucene);
                    regex::from_pattern(p, dialect, ci)
                }
                Input::Regex(r) => regex::translate(r, dialect, self.fold_case),
            }
            .map_err(Refusal)?;
            // The regex text is written verbatim inside the quotes (only quoting escapes).
            let mut out = self.open.clone();
            self.push_text(&mut out, &re, false)?;
            out.push_str(&self.close);
            return Ok(out);
        }
        match input {
            Input::Text(t) => {
                if self.is_bare(t) {
                    return Ok((*t).to_string());
                }
                let mut out = self.open.clone();
                self.push_text(&mut out, t, self.lower)?;
                out.push_str(&self.close);
                Ok(out)
            }
            Input::Pattern(p, _) => {
                if let Some(t) = p.as_literal() {
                    return self.write(&Input::Text(t));
                }
                let pieces = p.pieces();
                let spaced = |s: &str| s.contains(' ');
                let word_end = self.many_word_end.as_deref().filter(|_| {
                    !matches!(pieces.first(), Some(Piece::AnyMany))
                        && pieces
                            .iter()
                            .any(|q| matches!(q, Piece::Lit(s) if spaced(s)))
                });
                let mut out = self.open.clone();
                for (i, piece) in pieces.iter().enumerate() {
                    match piece {
                        Piece::Lit(s) => self.push_text(&mut out, s, self.lower)?,
                        Piece::AnyMany => out.push_str(
                            match (
                                word_end,
                                i.checked_sub(1).and_then(|j| literal(&pieces[j])),
                                pieces.get(i + 1).map(literal),
                            ) {
                                (Some(w), Some(s), None) if s.ends_with(' ') => Some(w),
                                (Some(w), _, Some(Some(s))) if s.starts_with(' ') => Some(w),
                                _ => self.many.as_deref(),
                            }
                            .ok_or_else(|| Refusal(format!("the wildcard `*` in {}", self.what)))?,
                        ),
                        Piece::AnyOne => out.push_str(self.one.as_deref().ok_or_else(|| {
                            Refusal(format!("the wildcard `?` in {}", self.what))
                        })?),
                        Piece::Placeholder(n) => {
                            return Err(Refusal(format!("the unresolved placeholder %{n}%")))
                        }
                    }
                }
                out.push_str(&self.close);
                Ok(out)
            }
            Input::Regex(_) => Err(Refusal(format!(
                "a regular expression in {} (the filter `{}` takes text)",
                self.what, self.name
            ))),
        }
    }

    fn is_bare(&self, t: &str) -> bool {
        self.bare.as_ref().is_some_and(|b| b.is_match(t))
            && !self.reserved.iter().any(|r| r.eq_ignore_ascii_case(t))
    }

    fn push_text(&self, out: &mut String, text: &str, lower: bool) -> Result<(), Refusal> {
        let lowered;
        let text = if lower {
            lowered = text.to_lowercase();
            lowered.as_str()
        } else {
            text
        };
        let mut rest = text;
        loop {
            // Copy the run that needs nothing, then take the character that ends it.
            let run = rest
                .bytes()
                .position(|b| b >= 0x80 || self.special[usize::from(b)])
                .unwrap_or(rest.len());
            out.push_str(&rest[..run]);
            rest = &rest[run..];
            let Some(c) = rest.chars().next() else {
                break;
            };
            rest = &rest[c.len_utf8()..];
            match self.chars.get(&c) {
                Some(Some(r)) => out.push_str(r),
                Some(None) => {
                    return Err(Refusal(format!(
                        "the character {} as literal text in {}",
                        describe(c),
                        self.what
                    )))
                }
                None if is_control(c) => match &self.control {
                    Some(f) => {
                        let code = u32::from(c);
                        out.push_str(
                            &f.replace("%04X", &format!("{code:04X}"))
                                .replace("%X", &format!("{code:X}")),
                        );
                    }
                    None => out.push(c),
                },
                None => out.push(c),
            }
        }
        Ok(())
    }
}

fn is_control(c: char) -> bool {
    (c as u32) < 0x20 || c == '\u{7f}'
}

/// A readable name of a character for messages.
#[must_use]
pub fn describe(c: char) -> String {
    if c.is_control() || c == ' ' {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("`{c}`")
    }
}

/// The text of a literal piece; `None` for wildcards and placeholders.
fn literal(p: &Piece) -> Option<&str> {
    match p {
        Piece::Lit(s) => Some(s),
        Piece::AnyMany | Piece::AnyOne | Piece::Placeholder(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(y: &str) -> Escape {
        Escape::compile("t", &serde_yaml::from_str(y).unwrap()).unwrap()
    }

    #[test]
    fn quotes_and_replaces() {
        let e = spec(r#"{quote: '"', chars: {'"': '\"', '\': '\\'}, control: '\u{%X}'}"#);
        assert_eq!(
            e.apply(&Input::Text("a\"b\\c\u{1}")).unwrap(),
            r#""a\"b\\c\u{1}""#
        );
    }

    #[test]
    fn refuses_unwritable_chars_and_wildcards() {
        let e = spec("{quote: \"'\", chars: {'*': null}, many: '%', what: 'a LIKE pattern'}");
        let p = Pattern::parse_canonical("a\\*b*").unwrap();
        assert_eq!(
            e.apply(&Input::Pattern(&p, false)).unwrap_err(),
            Refusal("the character `*` as literal text in a LIKE pattern".into())
        );
        let p = Pattern::parse_canonical("a?").unwrap();
        assert_eq!(
            e.apply(&Input::Pattern(&p, false)).unwrap_err(),
            Refusal("the wildcard `?` in a LIKE pattern".into())
        );
    }

    #[test]
    fn bare_identifiers() {
        let e = spec(r"{quote: '`', chars: {'`': '``'}, bare: '[a-z]+', reserved: [where]}");
        assert_eq!(e.apply(&Input::Text("abc")).unwrap(), "abc");
        assert_eq!(e.apply(&Input::Text("where")).unwrap(), "`where`");
        assert_eq!(e.apply(&Input::Text("a-`b")).unwrap(), "`a-``b`");
    }

    #[test]
    fn refuse_matches_the_written_value_without_quotes() {
        let e = spec(
            r#"{quote: '"', chars: {'"': '\"'}, many: '*', refuse: [{match: '^a|"', what: 'no'}]}"#,
        );
        assert_eq!(e.apply(&Input::Text("ba")).unwrap(), r#""ba""#);
        assert_eq!(
            e.apply(&Input::Text("ab")).unwrap_err(),
            Refusal("no".into())
        );
        assert_eq!(
            e.apply(&Input::Text("b\"")).unwrap_err(),
            Refusal("no".into())
        );
        let p = Pattern::parse_canonical("a*").unwrap();
        assert_eq!(
            e.apply(&Input::Pattern(&p, false)).unwrap_err(),
            Refusal("no".into())
        );
        assert!(Escape::compile(
            "t",
            &serde_yaml::from_str("{refuse: [{match: '(', what: 'x'}]}").unwrap()
        )
        .unwrap_err()
        .contains("invalid `refuse` regex"));
    }

    #[test]
    fn many_word_end_in_values_with_spaces() {
        let e = spec("{many: '*', many_word_end: '**'}");
        let w = |c: &str| {
            e.apply(&Input::Pattern(
                &Pattern::parse_canonical(c).unwrap(),
                false,
            ))
            .unwrap()
        };
        assert_eq!(w("sh -c *"), "sh -c **");
        assert_eq!(w("a b* c"), "a b** c");
        assert_eq!(w("a * b*"), "a ** b*");
        // Not needed: no space, a leading `*`, or a `*` that ends a word without a space.
        assert_eq!(w("a*"), "a*");
        assert_eq!(w("* -c *"), "* -c *");
        assert_eq!(w("a b*"), "a b*");
        assert_eq!(w("a*b c"), "a*b c");
    }
}
