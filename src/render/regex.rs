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
//! - `java` (`java.util.regex` with find semantics, Spark SQL `RLIKE`): written with
//!   `(?U)` so that `\d \s \w` are Unicode classes as in Rust, `(?iu)` for Unicode case
//!   folding; `.` without the `s` flag as `[^\n]` (Java's `.` also stops at `\r`, `\u0085`,
//!   `\u2028`, `\u2029`); `^`/`$` as `\A`/`\z` (Java's `$` also matches before a final line
//!   terminator), under `m` as the lookarounds `(?<![^\n])`/`(?![^\n])`; `\b` and `\B` as
//!   lookarounds over `\w`; POSIX classes (`[[:alpha:]]`, ASCII in Rust) as explicit ASCII
//!   ranges; Unicode classes (`\p{..}`) refused.

mod writer;

use regex_syntax::ast::{self, Ast};
use serde::Deserialize;

use crate::ir::{Pattern, Piece, RegexFlags};
use writer::Writer;

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
    /// `java.util.regex` (unanchored, find semantics).
    Java,
    /// The IR's own syntax (Rust `regex`, unanchored) without the flags, which the snippet
    /// writes itself (Sigma's `re|i|m|s`).
    Source,
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
        Dialect::Source => {
            regex_syntax::Parser::new()
                .parse(&re.source)
                .map_err(|e| format!("a regular expression it cannot parse ({e})"))?;
            Ok(re.source.clone())
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
        Dialect::Java => {
            let ast = parse(&re.source)?;
            let w = Writer {
                dialect,
                dot_all: f.dot_all,
                fold: false,
                multi_line: f.multi_line,
            };
            let mut out = String::from("(?U");
            if f.ignore_case {
                out.push_str("iu");
            }
            if f.dot_all {
                out.push('s');
            }
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
        Dialect::Re2 | Dialect::Source => Ok(p.to_regex(!ci).unwrap_or_default()),
        Dialect::Posix | Dialect::Lucene | Dialect::Java => {
            let w = Writer {
                dialect,
                dot_all: true,
                fold: ci && dialect == Dialect::Lucene,
                multi_line: false,
            };
            let mut out = String::new();
            match dialect {
                Dialect::Posix => out.push_str(if ci { "(?is)^" } else { "(?s)^" }),
                Dialect::Java => out.push_str(if ci { "(?iuUs)\\A" } else { "(?s)\\A" }),
                Dialect::Lucene | Dialect::Re2 | Dialect::Source => {}
            }
            for piece in p.pieces() {
                match piece {
                    Piece::Lit(s) => s.chars().for_each(|c| w.literal(c, &mut out)),
                    Piece::AnyMany => out.push_str(".*"),
                    Piece::AnyOne => out.push('.'),
                    Piece::Placeholder(_) => {}
                }
            }
            match dialect {
                Dialect::Posix => out.push('$'),
                Dialect::Java => out.push_str("\\z"),
                Dialect::Lucene | Dialect::Re2 | Dialect::Source => {}
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

    /// The java dialect spells out what Java reads differently from Rust: `.` (Java also stops
    /// at `\r` and other line terminators), `$` (Java also matches before a final newline),
    /// `^`/`$` under `m`, word boundaries, POSIX classes; Unicode classes and case folding by
    /// flags. (Verdicts are checked on Spark by `.ci/check_sql_engines.py`.)
    #[test]
    fn java_spells_out_rust_semantics() {
        let java = |src: &str| {
            translate(
                &RegexValue::new(src, RegexFlags::default()),
                Dialect::Java,
                false,
            )
        };
        assert_eq!(java("a.b").unwrap(), "(?U)a[^\n]b");
        assert_eq!(java("(?s)a.b").unwrap(), "(?Us)a.b");
        assert_eq!(java("(?i)ab").unwrap(), "(?Uiu)ab");
        assert_eq!(java("^a/b$").unwrap(), "(?U)\\Aa\\/b\\z");
        assert_eq!(java("(?m)^a$").unwrap(), "(?U)(?<![^\\n])a(?![^\\n])");
        assert_eq!(
            java(r"\bx\B").unwrap(),
            "(?U)(?:(?<=\\w)(?!\\w)|(?<!\\w)(?=\\w))x(?:(?<=\\w)(?=\\w)|(?<!\\w)(?!\\w))"
        );
        assert_eq!(java(r"[[:alpha:]\d]+\s").unwrap(), "(?U)[a-zA-Z\\d]+\\s");
        assert_eq!(java(r"[^\D-]").unwrap(), "(?U)[^\\D\\-]");
        assert!(java(r"\p{Greek}").unwrap_err().contains("Unicode classes"));
        let p = Pattern::parse_canonical("a*b?").unwrap();
        assert_eq!(
            from_pattern(&p, Dialect::Java, true).unwrap(),
            "(?iuUs)\\Aa.*b.\\z"
        );
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
