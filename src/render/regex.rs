//! Regular expressions for engines whose regex dialect differs from the IR's (Rust / RE2).
//!
//! The IR regex is unanchored and written in Rust `regex` syntax. A backend's escaping filter
//! may name a target dialect; the regex is parsed with `regex-syntax` and written again in
//! that dialect, or refused when the dialect cannot say the same thing:
//!
//! - `lucene` (Elasticsearch `regexp`, used by EQL `regex`, Lucene `/re/`, ES|QL `RLIKE`):
//!   always anchored, so an unanchored IR regex becomes `.*(re).*` and `^`/`$` at the ends drop
//!   the padding; no anchors elsewhere, no word boundaries, no Unicode classes; `\d \s \w`
//!   become their ASCII classes; `.` without the `s` flag becomes `[^\n]`; every other ASCII
//!   punctuation is escaped. With `fold_case`, letters become `[aA]` classes.
//! - `posix` (PostgreSQL ARE, `~`): written back with the flags as embedded options at the
//!   front (`(?ip)`...), `\b` as `\y`, `\z` as `\Z`.
//! - `re2` (DuckDB `regexp_matches`, SQLite `REGEXP` backed by Rust `regex`): the source as is,
//!   flags written inline.

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassAsciiKind, ClassPerlKind, ClassSet, ClassSetItem, GroupKind,
    RepetitionKind, RepetitionRange,
};
use serde::Deserialize;

use crate::ir::{Pattern, Piece, RegexFlags};

/// A target regex dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// Lucene / Elasticsearch `regexp` syntax (anchored).
    Lucene,
    /// PostgreSQL advanced regular expressions.
    Posix,
    /// RE2 / Rust `regex` (unanchored).
    Re2,
}

/// A regex as the renderer hands it to filters: the source (leading inline flags moved into
/// `flags`) and its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexValue {
    /// The source, Rust `regex` syntax.
    pub source: String,
    /// Flags.
    pub flags: RegexFlags,
}

impl RegexValue {
    /// Moves leading inline flags such as `(?i)` or `(?is)` into `flags`.
    #[must_use]
    pub fn new(source: &str, mut flags: RegexFlags) -> Self {
        let mut src = source;
        while let Some(rest) = src.strip_prefix("(?") {
            let Some(end) = rest.find(')') else { break };
            let f = &rest[..end];
            if f.is_empty() || !f.chars().all(|c| matches!(c, 'i' | 'm' | 's')) {
                break;
            }
            flags.ignore_case |= f.contains('i');
            flags.multi_line |= f.contains('m');
            flags.dot_all |= f.contains('s');
            src = &rest[end + 1..];
        }
        RegexValue {
            source: src.to_string(),
            flags,
        }
    }
}

fn parse(src: &str) -> Result<Ast, String> {
    ast::parse::Parser::new()
        .parse(src)
        .map_err(|e| format!("a regular expression it cannot parse ({e})"))
}

/// Translates `re` to `dialect`.
///
/// # Errors
/// What the dialect cannot express, as the "what" of an `Unsupported` error.
pub fn translate(re: &RegexValue, dialect: Dialect, fold_case: bool) -> Result<String, String> {
    let f = re.flags;
    match dialect {
        Dialect::Re2 => {
            regex_syntax::Parser::new()
                .parse(&re.source)
                .map_err(|e| format!("a regular expression it cannot parse ({e})"))?;
            Ok(format!("{}{}", re2_flags(f), re.source))
        }
        Dialect::Posix => {
            let ast = parse(&re.source)?;
            let w = Writer {
                dialect,
                dot_all: f.dot_all,
                fold: false,
                multi_line: f.multi_line,
            };
            let mut out = String::from("(?");
            if f.ignore_case {
                out.push('i');
            }
            out.push(match (f.multi_line, f.dot_all) {
                (false, false) => 'p',
                (true, false) => 'n',
                (true, true) => 'w',
                (false, true) => 's',
            });
            out.push(')');
            w.emit(&ast, &mut out)?;
            Ok(out)
        }
        Dialect::Lucene => {
            let ast = parse(&re.source)?;
            let w = Writer {
                dialect,
                dot_all: f.dot_all,
                fold: fold_case && f.ignore_case,
                multi_line: f.multi_line,
            };
            let mut out = String::new();
            w.padded(&ast, true, true, &mut out)?;
            Ok(out)
        }
    }
}

fn re2_flags(f: RegexFlags) -> String {
    if f.is_empty() {
        return String::new();
    }
    let mut s = String::from("(?");
    if f.ignore_case {
        s.push('i');
    }
    if f.multi_line {
        s.push('m');
    }
    if f.dot_all {
        s.push('s');
    }
    s.push(')');
    s
}

/// An anchored regex for a whole-value wildcard pattern; `ci` makes it case-insensitive
/// (inline flag, or `[aA]` classes for Lucene).
///
/// # Errors
/// On a placeholder.
pub fn from_pattern(p: &Pattern, dialect: Dialect, ci: bool) -> Result<String, String> {
    if let Some(n) = p.placeholders().next() {
        return Err(format!("the unresolved placeholder %{n}%"));
    }
    match dialect {
        Dialect::Re2 => Ok(p.to_regex(!ci).unwrap_or_default()),
        Dialect::Posix | Dialect::Lucene => {
            let w = Writer {
                dialect,
                dot_all: true,
                fold: ci && dialect == Dialect::Lucene,
                multi_line: false,
            };
            let mut out = String::new();
            if dialect == Dialect::Posix {
                out.push_str(if ci { "(?is)^" } else { "(?s)^" });
            }
            for piece in p.pieces() {
                match piece {
                    Piece::Lit(s) => s.chars().for_each(|c| w.literal(c, &mut out)),
                    Piece::AnyMany => out.push_str(".*"),
                    Piece::AnyOne => out.push('.'),
                    Piece::Placeholder(_) => {}
                }
            }
            if dialect == Dialect::Posix {
                out.push('$');
            }
            Ok(out)
        }
    }
}

/// An anchored regex matching exactly `text`.
///
/// # Errors
/// Never in practice; same contract as [`from_pattern`].
pub fn from_literal(text: &str, dialect: Dialect, ci: bool) -> Result<String, String> {
    from_pattern(&Pattern::literal(text), dialect, ci)
}

/// The largest repetition count PostgreSQL's regex engine accepts (`RE_DUP_MAX`); a larger one
/// is `invalid repetition count(s)`.
const POSIX_DUP_MAX: u32 = 255;

/// `atom{min,max}` (`max` absent: unbounded) with counts above [`POSIX_DUP_MAX`] written as
/// nested repetitions of at most that count: `a{1000,}` is `(?:(?:a){255}){3}(?:a){235}(?:a)*`,
/// `a{1,256}` is `(?:a){1}(?:a){0,255}`; the same strings match.
fn posix_long_repeat(
    atom: &str,
    min: u32,
    max: Option<u32>,
    out: &mut String,
) -> Result<(), String> {
    let chunks = |count: u32, range: bool, out: &mut String| -> Result<(), String> {
        let (q, r) = (count / POSIX_DUP_MAX, count % POSIX_DUP_MAX);
        if q > POSIX_DUP_MAX {
            return Err(format!(
                "a regex repetition count above {} (PostgreSQL's limit is {POSIX_DUP_MAX} per repetition)",
                POSIX_DUP_MAX * POSIX_DUP_MAX
            ));
        }
        let lo = if range { "0," } else { "" };
        if q == 1 {
            out.push_str(&format!("(?:{atom}){{{lo}{POSIX_DUP_MAX}}}"));
        } else if q > 1 {
            out.push_str(&format!("(?:(?:{atom}){{{lo}{POSIX_DUP_MAX}}}){{{q}}}"));
        }
        if r > 0 {
            out.push_str(&format!("(?:{atom}){{{lo}{r}}}"));
        }
        Ok(())
    };
    chunks(min, false, out)?;
    match max {
        None => out.push_str(&format!("(?:{atom})*")),
        Some(max) => chunks(max - min, true, out)?,
    }
    Ok(())
}

struct Writer {
    dialect: Dialect,
    dot_all: bool,
    fold: bool,
    multi_line: bool,
}

impl Writer {
    /// Writes `a` for an anchored engine as if `.*` stood before it (`lead`) and after it
    /// (`trail`), absorbing `^`/`$` where they meet the padding: `.*(^|/)x` becomes `(|.*\/)x`.
    fn padded(&self, a: &Ast, lead: bool, trail: bool, out: &mut String) -> Result<(), String> {
        let pad = |on: bool, out: &mut String| {
            if on {
                out.push_str(".*");
            }
        };
        match a {
            Ast::Assertion(x) => match x.kind {
                // Under `m`, `^` also matches after a newline and `$` before one.
                AssertionKind::StartLine if lead && self.multi_line => {
                    out.push_str("(()|.*\n)");
                    pad(trail, out);
                }
                AssertionKind::EndLine if trail && self.multi_line => {
                    pad(lead, out);
                    out.push_str("(()|\n.*)");
                }
                AssertionKind::StartLine | AssertionKind::StartText if lead => pad(trail, out),
                AssertionKind::EndLine | AssertionKind::EndText if trail => pad(lead, out),
                _ => self.emit(a, out)?,
            },
            Ast::Alternation(alt) => {
                out.push('(');
                for (i, x) in alt.asts.iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    let start = out.len();
                    self.padded(x, lead, trail, out)?;
                    if out.len() == start && lucene_empty(self.dialect) {
                        // Lucene reads `(|x)` as a literal `|`: an empty branch is `()`.
                        out.push_str("()");
                    }
                }
                out.push(')');
            }
            Ast::Group(g) if !matches!(&g.kind, GroupKind::NonCapturing(f) if !f.items.is_empty()) =>
            {
                if let Ast::Alternation(_) = &*g.ast {
                    // The alternation writes its own parentheses.
                    self.padded(&g.ast, lead, trail, out)?;
                } else {
                    out.push('(');
                    self.padded(&g.ast, lead, trail, out)?;
                    out.push(')');
                }
            }
            Ast::Concat(c) if !c.asts.is_empty() => {
                let n = c.asts.len();
                for (i, x) in c.asts.iter().enumerate() {
                    self.padded(x, lead && i == 0, trail && i == n - 1, out)?;
                }
            }
            Ast::Empty(_) | Ast::Concat(_) => pad(lead || trail, out),
            _ => {
                pad(lead, out);
                self.emit(a, out)?;
                pad(trail, out);
            }
        }
        Ok(())
    }

    fn literal(&self, c: char, out: &mut String) {
        if self.fold {
            let lo: Vec<char> = c.to_lowercase().collect();
            let up: Vec<char> = c.to_uppercase().collect();
            if lo.len() == 1 && up.len() == 1 && lo[0] != up[0] {
                out.push('[');
                out.push(lo[0]);
                out.push(up[0]);
                out.push(']');
                return;
            }
        }
        if c.is_ascii() && !c.is_ascii_alphanumeric() && !c.is_ascii_control() {
            out.push('\\');
        }
        out.push(c);
    }

    fn class_literal(&self, c: char, out: &mut String) {
        if c.is_ascii() && !c.is_ascii_alphanumeric() && !c.is_ascii_control() {
            out.push('\\');
        }
        out.push(c);
    }

    fn emit(&self, a: &Ast, out: &mut String) -> Result<(), String> {
        let lucene = self.dialect == Dialect::Lucene;
        match a {
            Ast::Empty(_) => {}
            Ast::Flags(_) => return Err("inline flags inside a regular expression".into()),
            Ast::Literal(l) => self.literal(l.c, out),
            Ast::Dot(_) => out.push_str(if lucene && !self.dot_all {
                "[^\n]"
            } else {
                "."
            }),
            Ast::Assertion(x) => match (self.dialect, &x.kind) {
                (Dialect::Posix, AssertionKind::StartLine) => out.push('^'),
                (Dialect::Posix, AssertionKind::EndLine) => out.push('$'),
                (Dialect::Posix, AssertionKind::StartText) => out.push_str("\\A"),
                (Dialect::Posix, AssertionKind::EndText) => out.push_str("\\Z"),
                (Dialect::Posix, AssertionKind::WordBoundary) => out.push_str("\\y"),
                (Dialect::Posix, AssertionKind::NotWordBoundary) => out.push_str("\\Y"),
                (Dialect::Posix, AssertionKind::WordBoundaryStart) => out.push_str("\\m"),
                (Dialect::Posix, AssertionKind::WordBoundaryEnd) => out.push_str("\\M"),
                (_, AssertionKind::WordBoundary | AssertionKind::NotWordBoundary) => {
                    return Err("word boundaries (`\\b`) in a Lucene regex".into())
                }
                _ => {
                    return Err(
                        "anchors or word-boundary assertions inside a regex (not at its ends)"
                            .into(),
                    )
                }
            },
            Ast::ClassUnicode(_) => {
                return Err("Unicode classes (`\\p{..}`) in a regex of this engine".into())
            }
            Ast::ClassPerl(p) => {
                if lucene {
                    out.push('[');
                    if p.negated {
                        out.push('^');
                    }
                    out.push_str(perl_ascii(&p.kind));
                    out.push(']');
                } else {
                    out.push('\\');
                    let c = match p.kind {
                        ClassPerlKind::Digit => 'd',
                        ClassPerlKind::Space => 's',
                        ClassPerlKind::Word => 'w',
                    };
                    out.push(if p.negated { c.to_ascii_uppercase() } else { c });
                }
            }
            Ast::ClassBracketed(b) => {
                out.push('[');
                if b.negated {
                    out.push('^');
                }
                self.class_set(&b.kind, out)?;
                out.push(']');
            }
            Ast::Repetition(r) => {
                let (min, max) = match &r.op.kind {
                    RepetitionKind::Range(RepetitionRange::Exactly(n)) => (*n, Some(*n)),
                    RepetitionKind::Range(RepetitionRange::AtLeast(n)) => (*n, None),
                    RepetitionKind::Range(RepetitionRange::Bounded(m, n)) => (*m, Some(*n)),
                    _ => (0, Some(0)),
                };
                if self.dialect == Dialect::Posix && min.max(max.unwrap_or(0)) > POSIX_DUP_MAX {
                    let mut atom = String::new();
                    self.emit(&r.ast, &mut atom)?;
                    return posix_long_repeat(&atom, min, max, out);
                }
                self.emit(&r.ast, out)?;
                match &r.op.kind {
                    RepetitionKind::ZeroOrOne => out.push('?'),
                    RepetitionKind::ZeroOrMore => out.push('*'),
                    RepetitionKind::OneOrMore => out.push('+'),
                    RepetitionKind::Range(RepetitionRange::Exactly(n)) => {
                        out.push_str(&format!("{{{n}}}"));
                    }
                    RepetitionKind::Range(RepetitionRange::AtLeast(n)) => {
                        out.push_str(&format!("{{{n},}}"));
                    }
                    RepetitionKind::Range(RepetitionRange::Bounded(m, n)) => {
                        out.push_str(&format!("{{{m},{n}}}"));
                    }
                }
            }
            Ast::Group(g) => {
                if let GroupKind::NonCapturing(f) = &g.kind {
                    if !f.items.is_empty() {
                        return Err("inline flags inside a regular expression".into());
                    }
                    if !lucene {
                        out.push_str("(?:");
                        self.emit(&g.ast, out)?;
                        out.push(')');
                        return Ok(());
                    }
                }
                out.push('(');
                self.emit(&g.ast, out)?;
                out.push(')');
            }
            Ast::Alternation(alt) => {
                for (i, x) in alt.asts.iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    let start = out.len();
                    self.emit(x, out)?;
                    if out.len() == start && lucene_empty(self.dialect) {
                        out.push_str("()");
                    }
                }
            }
            Ast::Concat(c) => {
                for x in &c.asts {
                    self.emit(x, out)?;
                }
            }
        }
        Ok(())
    }

    fn class_set(&self, set: &ClassSet, out: &mut String) -> Result<(), String> {
        match set {
            ClassSet::Item(i) => self.class_item(i, out),
            ClassSet::BinaryOp(_) => Err("character-class set operations (`&&`, `--`)".into()),
        }
    }

    fn class_item(&self, item: &ClassSetItem, out: &mut String) -> Result<(), String> {
        let lucene = self.dialect == Dialect::Lucene;
        match item {
            ClassSetItem::Empty(_) => {}
            ClassSetItem::Literal(l) => {
                self.class_literal(l.c, out);
                if self.fold {
                    for c in l.c.to_lowercase().chain(l.c.to_uppercase()) {
                        if c != l.c {
                            self.class_literal(c, out);
                        }
                    }
                }
            }
            ClassSetItem::Range(r) => {
                let (a, b) = (r.start.c, r.end.c);
                self.class_literal(a, out);
                out.push('-');
                self.class_literal(b, out);
                if self.fold {
                    let alpha = |x: char, y: char| {
                        (x.is_ascii_lowercase() && y.is_ascii_lowercase())
                            || (x.is_ascii_uppercase() && y.is_ascii_uppercase())
                    };
                    if alpha(a, b) {
                        let swap = |c: char| {
                            if c.is_ascii_lowercase() {
                                c.to_ascii_uppercase()
                            } else {
                                c.to_ascii_lowercase()
                            }
                        };
                        out.push(swap(a));
                        out.push('-');
                        out.push(swap(b));
                    } else if (a..=b).any(char::is_alphabetic) {
                        return Err("a character range mixing letters under case folding".into());
                    }
                }
            }
            ClassSetItem::Ascii(x) => {
                if x.negated {
                    return Err("negated ASCII classes (`[:^..:]`) in a regex".into());
                }
                if lucene {
                    out.push_str(ascii_class(&x.kind)?);
                } else {
                    out.push_str(&format!("[:{}:]", ascii_name(&x.kind)));
                }
            }
            ClassSetItem::Unicode(_) => {
                return Err("Unicode classes (`\\p{..}`) in a regex of this engine".into())
            }
            ClassSetItem::Perl(p) => {
                if p.negated {
                    return Err("negated classes (`\\D`, `\\S`, `\\W`) inside `[...]`".into());
                }
                if lucene {
                    out.push_str(perl_ascii(&p.kind));
                } else {
                    out.push_str(match p.kind {
                        ClassPerlKind::Digit => "\\d",
                        ClassPerlKind::Space => "\\s",
                        ClassPerlKind::Word => "\\w",
                    });
                }
            }
            ClassSetItem::Bracketed(_) => {
                return Err("nested character classes in a regex".into());
            }
            ClassSetItem::Union(u) => {
                for i in &u.items {
                    self.class_item(i, out)?;
                }
            }
        }
        Ok(())
    }
}

fn lucene_empty(d: Dialect) -> bool {
    d == Dialect::Lucene
}

fn perl_ascii(k: &ClassPerlKind) -> &'static str {
    match k {
        ClassPerlKind::Digit => "0-9",
        ClassPerlKind::Space => " \t\n\r\u{b}\u{c}",
        ClassPerlKind::Word => "a-zA-Z0-9_",
    }
}

fn ascii_class(k: &ClassAsciiKind) -> Result<&'static str, String> {
    Ok(match k {
        ClassAsciiKind::Alnum => "a-zA-Z0-9",
        ClassAsciiKind::Alpha => "a-zA-Z",
        ClassAsciiKind::Digit => "0-9",
        ClassAsciiKind::Lower => "a-z",
        ClassAsciiKind::Upper => "A-Z",
        ClassAsciiKind::Space => " \t\n\r\u{b}\u{c}",
        ClassAsciiKind::Blank => " \t",
        ClassAsciiKind::Xdigit => "0-9a-fA-F",
        ClassAsciiKind::Word => "a-zA-Z0-9_",
        _ => return Err(format!("the class [:{}:] in a Lucene regex", ascii_name(k))),
    })
}

fn ascii_name(k: &ClassAsciiKind) -> &'static str {
    match k {
        ClassAsciiKind::Alnum => "alnum",
        ClassAsciiKind::Alpha => "alpha",
        ClassAsciiKind::Ascii => "ascii",
        ClassAsciiKind::Blank => "blank",
        ClassAsciiKind::Cntrl => "cntrl",
        ClassAsciiKind::Digit => "digit",
        ClassAsciiKind::Graph => "graph",
        ClassAsciiKind::Lower => "lower",
        ClassAsciiKind::Print => "print",
        ClassAsciiKind::Punct => "punct",
        ClassAsciiKind::Space => "space",
        ClassAsciiKind::Upper => "upper",
        ClassAsciiKind::Word => "word",
        ClassAsciiKind::Xdigit => "xdigit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lucene(src: &str) -> Result<String, String> {
        translate(
            &RegexValue::new(src, RegexFlags::default()),
            Dialect::Lucene,
            false,
        )
    }

    #[test]
    fn lucene_pads_unanchored_and_escapes() {
        assert_eq!(lucene(r"a\.b/c").unwrap(), r".*a\.b\/c.*");
        assert_eq!(lucene("").unwrap(), ".*");
        assert_eq!(lucene(r"^ab$").unwrap(), "ab");
        assert_eq!(lucene(r"^(a|b)").unwrap(), "(a.*|b.*)");
        assert_eq!(lucene(r"a|b").unwrap(), "(.*a.*|.*b.*)");
        assert_eq!(lucene(r"(^|/)\.x").unwrap(), r"(()|.*\/)\.x.*");
        assert_eq!(lucene(r"a(|b)c").unwrap(), ".*a(()|b)c.*");
        assert_eq!(lucene(r"(^a$)|(^b$)").unwrap(), "((a)|(b))");
        assert_eq!(lucene(r"\d{2,}x").unwrap(), ".*[0-9]{2,}x.*");
        assert_eq!(lucene(r"a.b").unwrap(), ".*a[^\n]b.*");
        assert!(lucene(r"a\bb").is_err());
        let m = RegexFlags {
            multi_line: true,
            ..RegexFlags::default()
        };
        assert_eq!(
            translate(&RegexValue::new("^ab$", m), Dialect::Lucene, false).unwrap(),
            "(()|.*\n)ab(()|\n.*)"
        );
        assert!(lucene(r"a^b").is_err());
    }

    /// Fix: PostgreSQL refuses a repetition count above 255 (`invalid repetition count(s)`,
    /// three SigmaHQ rules); in the posix dialect such counts become nested repetitions.
    #[test]
    fn posix_splits_repetition_counts_above_255() {
        let posix = |src: &str| {
            translate(
                &RegexValue::new(src, RegexFlags::default()),
                Dialect::Posix,
                false,
            )
        };
        assert_eq!(posix(".{255}").unwrap(), "(?p).{255}");
        assert_eq!(posix("a{1,255}").unwrap(), "(?p)a{1,255}");
        assert_eq!(
            posix(".{1000,}").unwrap(),
            "(?p)(?:(?:.){255}){3}(?:.){235}(?:.)*"
        );
        assert_eq!(
            posix("[^x]{1,256}").unwrap(),
            "(?p)(?:[^x]){1}(?:[^x]){0,255}"
        );
        assert_eq!(posix("a{256}").unwrap(), "(?p)(?:a){255}(?:a){1}");
        assert_eq!(
            posix("(ab){300,600}").unwrap(),
            "(?p)(?:(ab)){255}(?:(ab)){45}(?:(ab)){0,255}(?:(ab)){0,45}"
        );
        assert!(posix("a{66000}").unwrap_err().contains("above 65025"));
        // The split forms match the same strings (checked with Rust's regex, which reads them).
        for (src, unit) in [
            (".{1000,}", "a"),
            ("(ab){300,600}", "ab"),
            ("[^x]{1,256}", "y"),
        ] {
            let split = posix(src).unwrap().replacen("(?p)", "", 1);
            let whole = |r: &str| ::regex::Regex::new(&format!("^(?:{r})$")).unwrap();
            let (a, b) = (whole(src), whole(&split));
            for n in [
                0, 1, 2, 255, 256, 257, 299, 300, 301, 599, 600, 601, 999, 1000, 1001, 2000,
            ] {
                let text = unit.repeat(n);
                assert_eq!(a.is_match(&text), b.is_match(&text), "{src} on {n}");
            }
        }
        assert_eq!(lucene(".{1000,}").unwrap(), ".*[^\n]{1000,}.*");
    }

    #[test]
    fn leading_flags_move_into_flags() {
        let r = RegexValue::new("(?i)abc", RegexFlags::default());
        assert!(r.flags.ignore_case);
        assert_eq!(r.source, "abc");
        assert_eq!(
            translate(&r, Dialect::Lucene, true).unwrap(),
            ".*[aA][bB][cC].*"
        );
        assert_eq!(translate(&r, Dialect::Re2, false).unwrap(), "(?i)abc");
        assert_eq!(translate(&r, Dialect::Posix, false).unwrap(), "(?ip)abc");
    }

    #[test]
    fn patterns_become_anchored_regexes() {
        let p = Pattern::parse_canonical("a\\*b*c?").unwrap();
        assert_eq!(
            from_pattern(&p, Dialect::Lucene, false).unwrap(),
            "a\\*b.*c."
        );
    }
}

#[cfg(test)]
mod equivalence {
    //! The Lucene translation means what the IR regex means: both are run with Rust `regex`
    //! (the Lucene output read as an anchored regex where `.` matches everything) on random
    //! regexes and random strings.
    use proptest::prelude::*;

    use super::*;

    fn atom() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec!["a", "b", "A", "1", " ", "-", "/", "\\.", "\\n", "x"])
                .prop_map(String::from),
            Just(".".to_string()),
            Just("\\d".to_string()),
            Just("\\s".to_string()),
            Just("\\w".to_string()),
            Just("[a-b]".to_string()),
            Just("[^b]".to_string()),
        ]
    }

    fn regex() -> impl Strategy<Value = String> {
        let leaf = atom();
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("(?:{a}|{b})")),
                (
                    inner.clone(),
                    prop::sample::select(vec!["*", "+", "?", "{1,2}"])
                )
                    .prop_map(|(a, op)| format!("(?:{a}){op}")),
            ]
        })
    }

    fn lucene_as_rust(l: &str) -> String {
        format!("(?s)^(?:{l})$")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn lucene_translation_is_equivalent(
            body in regex(),
            start in any::<bool>(),
            end in any::<bool>(),
            i in any::<bool>(),
            m in any::<bool>(),
            s in any::<bool>(),
            inputs in prop::collection::vec("[abAB1 \n./x-]{0,8}", 1..12),
        ) {
            let src = format!("{}{body}{}", if start { "^" } else { "" }, if end { "$" } else { "" });
            let flags = RegexFlags { ignore_case: i, multi_line: m, dot_all: s };
            let mut rust = String::from("(?");
            rust.push(if i { 'i' } else { '-' });
            if m { rust.push('m'); }
            if s { rust.push('s'); }
            rust.push(')');
            let rust = format!("{}{src}", rust.replace("(?-)", "").replace("(?-", "(?"));
            let Ok(original) = ::regex::Regex::new(&rust) else { return Ok(()); };
            let lucene = translate(&RegexValue::new(&src, flags), Dialect::Lucene, true)
                .expect("translatable");
            let back = ::regex::Regex::new(&lucene_as_rust(&lucene))
                .unwrap_or_else(|e| panic!("{lucene:?} does not parse back: {e}"));
            for s in &inputs {
                prop_assert_eq!(
                    original.is_match(s),
                    back.is_match(s),
                    "regex {:?} (flags {:?}) -> lucene {:?} on {:?}", src, flags, lucene, s
                );
            }
        }
    }

    fn piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            prop::sample::select(vec!["a", "B", "*", "?", "\\", ".", "(", " ", "é"])
                .prop_map(|t| Piece::Lit(t.to_string())),
            Just(Piece::AnyMany),
            Just(Piece::AnyOne),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn pattern_regex_is_equivalent(
            pieces in prop::collection::vec(piece(), 0..6),
            cased in any::<bool>(),
            inputs in prop::collection::vec("[aAbB*?\\.( é\n]{0,6}", 1..12),
        ) {
            let p = Pattern::new(pieces);
            let want = ::regex::Regex::new(&p.to_regex(cased).unwrap()).unwrap();
            let lucene = from_pattern(&p, Dialect::Lucene, !cased).unwrap();
            let back = ::regex::Regex::new(&lucene_as_rust(&lucene)).unwrap();
            for s in &inputs {
                prop_assert_eq!(want.is_match(s), back.is_match(s), "{} -> {:?} on {:?}", p, lucene, s);
            }
        }
    }
}
