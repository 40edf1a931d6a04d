//! Analyzed text fields: what a KQL clause on one matches, lowered to IR regexes over the raw
//! value (the meaning and where it is approximate: `docs/text-fields.md`).
//!
//! Elasticsearch indexes a `text` / `match_only_text` field through the standard analyzer:
//! the value is split into words at Unicode word boundaries (UAX #29) and lower-cased; a query
//! then matches tokens, not the value. Kibana turns `f: "a b"` (quoted) into `match_phrase`
//! (the query's tokens, consecutive in the value), `f: a b` (unquoted) into `match` (any of
//! its tokens), and `f: a*` (a wildcard) into `query_string` (each wildcard term against one
//! token).
//!
//! The query's own text is tokenized exactly (the `unicode-segmentation` crate's UAX #29
//! words, lower-cased). The event's value is matched by a case-insensitive regex that finds
//! the tokens with their word boundaries: a token starts where the character before it does
//! not join it to a longer word (a letter, digit, mark or `_`; `.` `:` `'` `’` between two
//! letters; `.` `,` `;` `'` `’` between two digits, as UAX #29's MidLetter / MidNum rules
//! say), ends likewise, and two tokens of a phrase are consecutive when only non-word
//! characters that break (two or more, or one that does not join its neighbours) stand
//! between them. Scripts without spaces (ideographs, Thai), emoji, Hebrew quote rules and
//! the 255-character token limit are where the regex and the analyzer may differ: the reader
//! warns ([`crate::error::ErrorKind::Approximated`]) once per rule and field.

use unicode_segmentation::UnicodeSegmentation;

use crate::error::{Error, ErrorKind};
use crate::ir::{self, Test};
use crate::read::lower::{pred, Cond};

/// `value` queried on the text field `name` as a phrase (`match_phrase`: its tokens
/// consecutive) or, unless `phrase`, as any of its tokens (`match`): case-insensitive regexes
/// over [`event_field`]`(name)`, each predicate located at `at`. No token: no document.
#[must_use]
pub fn lower_match(name: &str, value: &str, phrase: bool, at: &str) -> Cond {
    let field = event_field(name);
    let words = tokens(value);
    let regex = |tokens: &[String]| {
        Cond::Expr(pred(
            field,
            Test::Regex {
                pattern: phrase_regex(tokens),
                flags: ir::RegexFlags {
                    ignore_case: true,
                    ..ir::RegexFlags::default()
                },
            },
            at.to_string(),
        ))
    };
    if words.is_empty() {
        // A match query without tokens matches no document (`zero_terms_query: none`).
        Cond::False
    } else if phrase {
        regex(&words)
    } else {
        Cond::or(
            words
                .iter()
                .map(|w| regex(std::slice::from_ref(w)))
                .collect(),
        )
    }
}

/// The warning of a rule that queries the text field `name` (`language`: `KQL`, `a Kibana
/// filter`), to be located by the caller.
#[must_use]
pub fn warning(name: &str, language: &str) -> Error {
    Error::new(ErrorKind::Approximated(format!(
        "{language} on the analyzed text field `{name}` matches the standard analyzer's tokens; \
         it is read as a case-insensitive regex over `{}` that follows the tokenizer's UAX #29 \
         word boundaries approximately",
        event_field(name)
    )))
    .hint(
        "values with ideographs, emoji, Hebrew quotes or tokens over 255 characters may \
         tokenize differently in Elasticsearch (docs/text-fields.md)",
    )
}

/// The field a text field's clause tests in events: `X.text` is the analyzed multi-field of
/// `X` (an index-time copy, like `X.caseless`), read from `X`; other text fields are
/// themselves.
#[must_use]
pub fn event_field(name: &str) -> &str {
    match name.strip_suffix(".text") {
        Some(base) if !base.is_empty() => base,
        _ => name,
    }
}

/// The standard analyzer's tokens of `s` (UAX #29 words holding a letter or a number,
/// lower-cased).
#[must_use]
pub fn tokens(s: &str) -> Vec<String> {
    s.unicode_words().map(str::to_lowercase).collect()
}

/// What a token's first or last character joins with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Digit,
    Other,
}

fn class(c: Option<char>) -> Class {
    match c {
        Some(c) if c.is_ascii_digit() || (!c.is_alphabetic() && c.is_numeric()) => Class::Digit,
        Some(c) if c.is_alphabetic() => Class::Letter,
        _ => Class::Other,
    }
}

/// Characters that join two letters (MidLetter, MidNumLet, Single_Quote).
const MID_LETTER: &str = r".:'’";
/// Characters that join two digits (MidNum, MidNumLet, Single_Quote).
const MID_NUM: &str = r".,;'’";

/// Where a token may start, given its first character's class: the value's start, or a
/// character that does not join the token to what precedes it.
fn left(c: Class) -> String {
    match c {
        Class::Letter => format!(r"(?:^|[^\w{MID_LETTER}]|(?:^|\P{{Alphabetic}})[{MID_LETTER}])"),
        Class::Digit => format!(r"(?:^|[^\w{MID_NUM}]|(?:^|\D)[{MID_NUM}])"),
        Class::Other => r"(?:^|\W)".to_string(),
    }
}

/// Where a token may end, given its last character's class.
fn right(c: Class) -> String {
    match c {
        Class::Letter => format!(r"(?:$|[^\w{MID_LETTER}]|[{MID_LETTER}](?:$|\P{{Alphabetic}}))"),
        Class::Digit => format!(r"(?:$|[^\w{MID_NUM}]|[{MID_NUM}](?:$|\D))"),
        Class::Other => r"(?:$|\W)".to_string(),
    }
}

/// What separates two consecutive tokens: non-word characters that break between them.
fn between(a: Class, b: Class) -> String {
    let one = match (a, b) {
        (Class::Letter, Class::Letter) => format!(r"[^\w{MID_LETTER}]"),
        (Class::Digit, Class::Digit) => format!(r"[^\w{MID_NUM}]"),
        _ => r"\W".to_string(),
    };
    format!(r"(?:\W{{2,}}|{one})")
}

/// A regex (Rust syntax, to be matched case-insensitively) that holds where the tokens occur
/// in this order, consecutively, as whole tokens. `tokens` must not be empty.
#[must_use]
pub fn phrase_regex(tokens: &[String]) -> String {
    let mut out = String::new();
    let mut prev: Option<Class> = None;
    for t in tokens {
        let first = class(t.chars().next());
        match prev {
            None => out.push_str(&left(first)),
            Some(p) => out.push_str(&between(p, first)),
        }
        out.push_str(&regex::escape(t));
        prev = Some(class(t.chars().next_back()));
    }
    out.push_str(&right(prev.unwrap_or(Class::Other)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(tokens_of: &str, value: &str) -> bool {
        let t = tokens(tokens_of);
        let re = regex::RegexBuilder::new(&phrase_regex(&t))
            .case_insensitive(true)
            .build()
            .unwrap();
        re.is_match(value)
    }

    #[test]
    fn tokens_follow_uax29() {
        assert_eq!(tokens("[string]::join"), ["string", "join"]);
        assert_eq!(
            tokens("Reflection.Emit.OpCodes"),
            ["reflection.emit.opcodes"]
        );
        assert_eq!(tokens("[1,3]+'X'-Join''"), ["1,3", "x", "join"]);
        assert_eq!(tokens("$env:ComSpec[4"), ["env:comspec", "4"]);
        assert!(tokens("[*]").is_empty());
    }

    /// The regex finds a phrase where the value's own UAX #29 tokens hold it consecutively,
    /// on hand-picked values that exercise each boundary rule.
    #[test]
    fn phrase_regex_agrees_with_the_value_tokens() {
        let cases = [
            ("[string]::join", "$a = [String]::Join(',', $b)", true),
            ("[string]::join", "stringjoin", false),
            ("[string]::join", "string x join", false),
            (
                "Reflection.Emit.OpCodes",
                "[Reflection.Emit.OpCodes]::Ldarg",
                true,
            ),
            (
                "Reflection.Emit.OpCodes",
                "[System.Reflection.Emit.OpCodes]",
                false,
            ),
            ("admin", "GET /admin.php", false),
            ("admin", "GET /admin/.php", true),
            ("win32", "load win32.dll", true),
            ("3", "version 3.1", false),
            ("3", "version 3..1", true),
            ("kernel", "Kernel: taints", true),
            (
                "module verification failed",
                "x: module verification failed: y",
                true,
            ),
            (
                "module verification failed",
                "module verification_failed",
                false,
            ),
            ("psenum", "PSEnum", true),
            ("psenum", "PSEnumX", false),
        ];
        for (q, v, want) in cases {
            let tokens_of_v = tokens(v);
            let t = tokens(q);
            let by_tokens = tokens_of_v.windows(t.len()).any(|w| w == t.as_slice());
            assert_eq!(by_tokens, want, "the case itself: {q:?} in {v:?}");
            assert_eq!(holds(q, v), want, "{q:?} in {v:?}: {}", phrase_regex(&t));
        }
    }

    #[test]
    fn text_multi_fields_read_their_base() {
        assert_eq!(
            event_field("process.command_line.text"),
            "process.command_line"
        );
        assert_eq!(event_field("message"), "message");
        assert_eq!(event_field(".text"), ".text");
    }
}
