//! String patterns: literal text, wildcards and placeholders.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One piece of a [`Pattern`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    /// Literal text (never empty; adjacent literals are merged).
    Lit(String),
    /// `*`: any sequence of characters, possibly empty.
    AnyMany,
    /// `?`: exactly one character.
    AnyOne,
    /// `%name%` under `expand`: a value list a pipeline must supply.
    Placeholder(String),
}

/// A string pattern that must match a whole value.
///
/// Serialized as a canonical string: `*` and `?` are wildcards, `%name%` a placeholder, and a
/// literal `\`, `*`, `?` or `%` is written with a backslash before it (`\\`, `\*`, `\?`, `\%`).
/// Unlike Sigma's lenient escaping, every backslash in this form escapes the next character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pattern {
    pieces: Vec<Piece>,
}

/// The common shapes of a pattern, which most engines express without wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape<'a> {
    /// No wildcard: the value equals the text.
    Exact(&'a str),
    /// `text*`
    Prefix(&'a str),
    /// `*text`
    Suffix(&'a str),
    /// `*text*`
    Contains(&'a str),
    /// `*` alone (or several): any value at all, including the empty string.
    Any,
    /// Anything else: inner wildcards, `?`, or placeholders.
    Glob,
}

impl Pattern {
    /// A pattern from pieces; adjacent literals are merged, empty literals dropped and runs of
    /// `*` collapsed.
    #[must_use]
    pub fn new(pieces: impl IntoIterator<Item = Piece>) -> Self {
        let mut p = Pattern { pieces: Vec::new() };
        for piece in pieces {
            p.push(piece);
        }
        p
    }

    /// A pattern matching exactly `text`.
    #[must_use]
    pub fn literal(text: &str) -> Self {
        Pattern::new([Piece::Lit(text.to_string())])
    }

    /// Appends a piece, keeping the invariants of [`Pattern::new`].
    pub fn push(&mut self, piece: Piece) {
        match (self.pieces.last_mut(), piece) {
            (_, Piece::Lit(s)) if s.is_empty() => {}
            (Some(Piece::Lit(last)), Piece::Lit(s)) => last.push_str(&s),
            (Some(Piece::AnyMany), Piece::AnyMany) => {}
            (_, piece) => self.pieces.push(piece),
        }
    }

    /// The pieces.
    #[must_use]
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Whether the pattern is empty (matches only the empty string).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// `*` + self, unless it already starts with `*`.
    #[must_use]
    pub fn with_leading_any(mut self) -> Self {
        if self.pieces.first() != Some(&Piece::AnyMany) {
            self.pieces.insert(0, Piece::AnyMany);
        }
        self
    }

    /// self + `*`, unless it already ends with `*`.
    #[must_use]
    pub fn with_trailing_any(mut self) -> Self {
        self.push(Piece::AnyMany);
        self
    }

    /// The text when the pattern has no wildcard and no placeholder.
    #[must_use]
    pub fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Lit(s)] => Some(s),
            [Piece::AnyMany | Piece::AnyOne | Piece::Placeholder(_)] | [_, _, ..] => None,
        }
    }

    /// Names of the placeholders, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Placeholder(n) => Some(n.as_str()),
            Piece::Lit(_) | Piece::AnyMany | Piece::AnyOne => None,
        })
    }

    /// Whether any `*` or `?` occurs.
    #[must_use]
    pub fn has_wildcards(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::AnyMany | Piece::AnyOne))
    }

    /// The pattern's shape.
    #[must_use]
    pub fn shape(&self) -> Shape<'_> {
        use Piece::{AnyMany, Lit};
        match self.pieces.as_slice() {
            [] => Shape::Exact(""),
            [Lit(s)] => Shape::Exact(s),
            [Lit(s), AnyMany] => Shape::Prefix(s),
            [AnyMany, Lit(s)] => Shape::Suffix(s),
            [AnyMany, Lit(s), AnyMany] => Shape::Contains(s),
            [AnyMany] => Shape::Any,
            _ => Shape::Glob,
        }
    }

    /// An equivalent regex source, anchored at both ends. Literal text is escaped; `*` becomes
    /// `.*` and `?` becomes `.`, both crossing newlines (`(?s)`). Case-insensitive (`(?i)`)
    /// unless `cased`. `None` when the pattern holds a placeholder.
    #[must_use]
    pub fn to_regex(&self, cased: bool) -> Option<String> {
        let mut out = String::from(if cased { "(?s)^" } else { "(?si)^" });
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(&regex_syntax::escape(s)),
                Piece::AnyMany => out.push_str(".*"),
                Piece::AnyOne => out.push('.'),
                Piece::Placeholder(_) => return None,
            }
        }
        out.push('$');
        Some(out)
    }

    /// Parses the canonical form written by `Display`.
    ///
    /// # Errors
    /// On a trailing lone backslash or an unterminated `%placeholder`.
    pub fn parse_canonical(s: &str) -> Result<Self, String> {
        let mut p = Pattern::default();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(n) => p.push(Piece::Lit(n.to_string())),
                    None => return Err(format!("trailing backslash in pattern {s:?}")),
                },
                '*' => p.push(Piece::AnyMany),
                '?' => p.push(Piece::AnyOne),
                '%' => {
                    let name: String = chars.by_ref().take_while(|&c| c != '%').collect();
                    if name.is_empty() {
                        return Err(format!("empty or unterminated placeholder in {s:?}"));
                    }
                    p.push(Piece::Placeholder(name));
                }
                c => p.push(Piece::Lit(c.to_string())),
            }
        }
        Ok(p)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => {
                    // Runs between the characters escaped (ASCII: never inside a UTF-8
                    // sequence) are written whole.
                    let mut rest = s.as_str();
                    while let Some(i) = rest
                        .bytes()
                        .position(|b| matches!(b, b'\\' | b'*' | b'?' | b'%'))
                    {
                        f.write_str(&rest[..i])?;
                        f.write_str("\\")?;
                        f.write_str(&rest[i..=i])?;
                        rest = &rest[i + 1..];
                    }
                    f.write_str(rest)?;
                }
                Piece::AnyMany => f.write_str("*")?,
                Piece::AnyOne => f.write_str("?")?,
                Piece::Placeholder(n) => write!(f, "%{n}%")?,
            }
        }
        Ok(())
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Pattern::parse_canonical(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_round_trip() {
        let p = Pattern::new([
            Piece::AnyMany,
            Piece::Lit("C:\\a*b?%c".into()),
            Piece::AnyOne,
            Piece::Placeholder("Admins".into()),
        ]);
        let s = p.to_string();
        assert_eq!(s, "*C:\\\\a\\*b\\?\\%c?%Admins%");
        assert_eq!(Pattern::parse_canonical(&s).unwrap(), p);
    }

    #[test]
    fn shapes() {
        let lit = |s: &str| Piece::Lit(s.into());
        assert_eq!(Pattern::literal("a").shape(), Shape::Exact("a"));
        assert_eq!(
            Pattern::literal("a").with_trailing_any().shape(),
            Shape::Prefix("a")
        );
        assert_eq!(
            Pattern::literal("a").with_leading_any().shape(),
            Shape::Suffix("a")
        );
        assert_eq!(
            Pattern::literal("a")
                .with_leading_any()
                .with_trailing_any()
                .shape(),
            Shape::Contains("a")
        );
        assert_eq!(
            Pattern::new([Piece::AnyMany, Piece::AnyMany]).shape(),
            Shape::Any
        );
        assert_eq!(Pattern::new([lit("a"), Piece::AnyOne]).shape(), Shape::Glob);
    }

    #[test]
    fn regex_escapes_literals() {
        let p = Pattern::new([Piece::Lit("a.b".into()), Piece::AnyMany]);
        assert_eq!(p.to_regex(false).unwrap(), "(?si)^a\\.b.*$");
        assert_eq!(p.to_regex(true).unwrap(), "(?s)^a\\.b.*$");
    }
}
