//! Whether an IR regex ([`crate::ir::Test::Regex`]) can run, checked cheaply.
//!
//! Every stage that accepts a regex checks it where it is read, so that a bad pattern is a
//! located error at load time. Compiling each regex for that is most of the cost of loading a
//! catalog, so [`check_regex`] parses the pattern with the `regex-syntax` parser under the
//! settings the `regex` crate itself uses (same acceptance, same error text) and compiles it
//! only when its compiled form could come near the size limit ([`weight`] above
//! [`EAGER_WEIGHT`]): then the limit is checked for real and the compiled regex is handed back
//! (and kept, so that the next check of the same pattern under the same or a larger limit reuses
//! it).
//! At or below that bound a pattern compiles within 2 MiB (a test probes the costly constructs),
//! well under the limits used (10 MiB in the Sigma front end, 64 MiB in the evaluator).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex_automata::util::syntax;
use regex_syntax::hir::{Class, Hir, HirKind};
use regex_syntax::utf8::Utf8Sequences;

use super::RegexFlags;

/// Above this [`weight`] a regex is compiled to check its size.
pub const EAGER_WEIGHT: u64 = 20_000;

/// Why a regex cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexProblem {
    /// Not valid syntax: the `regex` crate's message (`regex parse error: …`).
    Syntax(String),
    /// Valid, but its compiled form exceeds this many bytes.
    TooLarge(usize),
}

/// Checks `pattern` under `flags` against `size_limit` (bytes of the compiled form, as
/// `regex::RegexBuilder::size_limit`). Returns the compiled regex when checking needed it.
pub fn check_regex(
    pattern: &str,
    flags: RegexFlags,
    size_limit: usize,
) -> Result<Option<regex::Regex>, RegexProblem> {
    let config = syntax::Config::new()
        .case_insensitive(flags.ignore_case)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_all);
    let hir =
        syntax::parse_with(pattern, &config).map_err(|e| RegexProblem::Syntax(e.to_string()))?;
    if weight(&hir) <= EAGER_WEIGHT {
        return Ok(None);
    }
    let key = (pattern.to_string(), flags);
    // A regex that compiled within a limit compiles within any larger one, and the limit
    // changes nothing else: the front end's check serves the evaluator's.
    if let Some((re, built_under)) = heavy().lock().ok().and_then(|m| m.get(&key).cloned()) {
        if built_under <= size_limit {
            return Ok(Some(re));
        }
    }
    let re = build_regex(pattern, flags, size_limit).map_err(|e| match e {
        regex::Error::CompiledTooBig(limit) => RegexProblem::TooLarge(limit),
        other => RegexProblem::Syntax(other.to_string()),
    })?;
    if let Ok(mut m) = heavy().lock() {
        m.insert(key, (re.clone(), size_limit));
    }
    Ok(Some(re))
}

/// Heavy regexes by pattern and flags, with the size limit each was built under.
type Heavy = HashMap<(String, RegexFlags), (regex::Regex, usize)>;

/// The heavy regexes compiled by [`check_regex`] (few: a catalog has a handful), with the size
/// limit each was built under, so that checking one again (the front end, then the evaluator)
/// does not compile it again.
fn heavy() -> &'static Mutex<Heavy> {
    static HEAVY: OnceLock<Mutex<Heavy>> = OnceLock::new();
    HEAVY.get_or_init(Mutex::default)
}

/// Compiles `pattern` under `flags` with `size_limit`.
pub fn build_regex(
    pattern: &str,
    flags: RegexFlags,
    size_limit: usize,
) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(flags.ignore_case)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_all)
        .size_limit(size_limit)
        .build()
}

/// A rough upper bound of how large a pattern's compiled form is, in units of about one
/// literal byte: repetitions multiply what they repeat, a class counts the bytes of the UTF-8
/// sequences it compiles to.
#[must_use]
pub fn weight(h: &Hir) -> u64 {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len() as u64,
        HirKind::Class(Class::Unicode(c)) => {
            // What the compiler builds: one chain of byte ranges per UTF-8 sequence.
            let seqs = c
                .ranges()
                .iter()
                .flat_map(|r| Utf8Sequences::new(r.start(), r.end()));
            seqs.map(|s| s.len() as u64).sum::<u64>() + 1
        }
        HirKind::Class(Class::Bytes(c)) => c.ranges().len() as u64 + 1,
        HirKind::Repetition(r) => {
            let copies = u64::from(r.max.unwrap_or(r.min).max(r.min).max(1)) + 1;
            weight(&r.sub).saturating_mul(copies)
        }
        HirKind::Capture(c) => weight(&c.sub),
        HirKind::Concat(xs) | HirKind::Alternation(xs) => {
            xs.iter().map(weight).fold(0, u64::saturating_add)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(i: bool) -> RegexFlags {
        RegexFlags {
            ignore_case: i,
            ..RegexFlags::default()
        }
    }

    /// The check agrees with compiling: same acceptance, same message, for valid and
    /// invalid patterns, with and without flags.
    #[test]
    fn agrees_with_the_regex_crate() {
        for p in [
            "a(b|c)*d",
            r"\d{2,4}-\w+",
            "(?i)foo[",
            "a)",
            r"\p{Greek}+",
            r"\p{NoSuchClass}",
            "x{3,2}",
            "(?<n>a)(?<n>b)",
            r"\bword\b",
            "(?=look)",
            r"\1",
            "[z-a]",
        ] {
            for i in [false, true] {
                let ours = check_regex(p, flags(i), 10 << 20);
                let theirs = build_regex(p, flags(i), 10 << 20);
                assert_eq!(ours.is_ok(), theirs.is_ok(), "{p} (i={i})");
                if let (Err(RegexProblem::Syntax(a)), Err(regex::Error::Syntax(b))) =
                    (&ours, &theirs)
                {
                    assert_eq!(a, b, "{p}");
                } else {
                    assert!(ours.is_ok(), "{p} (i={i}): {ours:?} vs {theirs:?}");
                }
            }
        }
    }

    /// Large patterns are compiled, so the size limit is found at check time.
    #[test]
    fn size_limit_is_checked() {
        let p = r"\w{1000}";
        assert!(weight(&regex_syntax::parse(p).unwrap()) > EAGER_WEIGHT);
        assert_eq!(
            check_regex(p, flags(false), 1 << 20).err(),
            Some(RegexProblem::TooLarge(1 << 20))
        );
        assert!(matches!(
            check_regex(p, flags(false), 256 << 20),
            Ok(Some(_))
        ));
        // Kept for the same or a larger limit, never for a smaller one.
        assert!(matches!(
            check_regex(p, flags(false), 512 << 20),
            Ok(Some(_))
        ));
        assert_eq!(
            check_regex(p, flags(false), 1 << 20).err(),
            Some(RegexProblem::TooLarge(1 << 20))
        );
        assert!(matches!(
            check_regex("abc|def", flags(true), 1 << 20),
            Ok(None)
        ));
    }

    /// Patterns just at the bound compile within 2 MiB: the bound is safe. Each probe repeats
    /// one costly construct (Unicode classes, case folding, groups) as often as the bound
    /// allows.
    #[test]
    fn patterns_at_the_bound_are_small() {
        for unit in [
            r"\w",
            r"\W",
            r"\p{L}",
            r"[\p{L}\p{N}]",
            ".",
            r"\d",
            r"\s",
            "[a-z]",
            r"(\w+\s)",
            "ab",
        ] {
            for i in [false, true] {
                let config = syntax::Config::new().case_insensitive(i);
                let one = weight(&syntax::parse_with(unit, &config).unwrap());
                let k = usize::try_from(EAGER_WEIGHT / one).unwrap();
                assert!(k >= 2, "{unit}: weight {one}");
                let p = unit.repeat(k);
                assert!(weight(&syntax::parse_with(&p, &config).unwrap()) <= EAGER_WEIGHT);
                assert!(
                    matches!(check_regex(&p, flags(i), 10 << 20), Ok(None)),
                    "{unit}"
                );
                if let Err(e) = build_regex(&p, flags(i), 2 << 20) {
                    panic!("{unit} x{k} (i={i}): {e}");
                }
            }
        }
    }
}
