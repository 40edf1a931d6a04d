//! Values as pipelines see them: pySigma's plain form of a string value, the YAML scalars of
//! `set_value` and of comparisons (read once, when the pipeline is loaded), and value equality.
//! Sigma strings are read by the front end ([`sigma::string_pattern`]).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use crate::ir::{CmpOp, Number, Pattern, Piece, Test};
use crate::sigma;

/// pySigma's plain form of a string value: literal `*` and `?` escaped with a backslash,
/// wildcards bare, placeholders as `%name%`, other backslashes as they are.
#[must_use]
pub(crate) fn plain(p: &Pattern) -> Cow<'_, str> {
    match p.pieces() {
        [] => Cow::Borrowed(""),
        [Piece::Lit(s)] if !s.contains(['*', '?']) => Cow::Borrowed(s),
        pieces => {
            let mut out = String::new();
            for piece in pieces {
                match piece {
                    Piece::Lit(s) => {
                        for c in s.chars() {
                            if matches!(c, '*' | '?') {
                                out.push('\\');
                            }
                            out.push(c);
                        }
                    }
                    Piece::AnyMany => out.push('*'),
                    Piece::AnyOne => out.push('?'),
                    Piece::Placeholder(n) => {
                        out.push('%');
                        out.push_str(n);
                        out.push('%');
                    }
                }
            }
            Cow::Owned(out)
        }
    }
}

/// Reads back a plain form produced by [`plain`] and edited (pySigma `ReplaceStringTransformation`:
/// a backslash not before `*`/`?` is literal), re-inserting `%placeholders%` when asked.
pub(crate) fn from_plain(s: &str, placeholders: bool) -> Pattern {
    let mut escaped = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        escaped.push(c);
        if c == '\\' && !matches!(chars.peek(), Some('*' | '?')) {
            escaped.push('\\');
        }
    }
    let p = sigma::string_pattern(&escaped);
    if !placeholders {
        return p;
    }
    let mut out = Pattern::default();
    for piece in p.pieces() {
        match piece {
            Piece::Lit(text) => {
                let mut rest = text.as_str();
                while let Some(start) = rest.find('%') {
                    let Some(len) = rest[start + 1..].find('%').filter(|&l| l > 0) else {
                        break;
                    };
                    out.push(Piece::Lit(rest[..start].to_string()));
                    out.push(Piece::Placeholder(
                        rest[start + 1..start + 1 + len].to_string(),
                    ));
                    rest = &rest[start + len + 2..];
                }
                out.push(Piece::Lit(rest.to_string()));
            }
            other => out.push(other.clone()),
        }
    }
    out
}

/// The text of a number: integers without exponent or fraction, others as written.
pub(crate) fn number_text(n: &Number) -> String {
    n.as_i64().map_or_else(|| n.text.clone(), |i| i.to_string())
}

/// The pattern and `cased` flag of a string test; `None` for every other kind of test, which
/// the string transformations and conditions leave alone. The one place that decides it, so
/// a new kind of test is decided here.
pub(crate) fn string_test(t: &Test) -> Option<(&Pattern, bool)> {
    match t {
        Test::Str { pattern, cased } => Some((pattern, *cased)),
        Test::Regex { .. }
        | Test::Num { .. }
        | Test::Bool(_)
        | Test::Null
        | Test::Exists(_)
        | Test::Cidr(_)
        | Test::FieldRef { .. }
        | Test::TimePart { .. } => None,
    }
}

/// The field a field reference test names; `None` for every other kind of test.
pub(crate) fn field_ref(t: &Test) -> Option<&str> {
    match t {
        Test::FieldRef { field, .. } => Some(field),
        Test::Str { .. }
        | Test::Regex { .. }
        | Test::Num { .. }
        | Test::Bool(_)
        | Test::Null
        | Test::Exists(_)
        | Test::Cidr(_)
        | Test::TimePart { .. } => None,
    }
}

/// A YAML scalar as a test (`set_value`): strings are Sigma strings.
pub(crate) fn scalar_test(v: &Value) -> Test {
    match v {
        Value::String(s) => Test::Str {
            pattern: sigma::string_pattern(s),
            cased: false,
        },
        Value::Bool(b) => Test::Bool(*b),
        Value::Number(n) => Test::Num {
            op: CmpOp::Eq,
            value: Number::new(n.to_string()),
        },
        Value::Null | Value::Array(_) | Value::Object(_) => Test::Null,
    }
}

/// A value a detection item is compared with (`match_value`, `contains_detection_item`), read
/// once when the pipeline is loaded: strings as Sigma strings (wildcards included), numbers,
/// booleans, `null`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "Value")]
pub enum Wanted {
    /// A Sigma string.
    Str(Pattern),
    /// A number (`None` when it has no `f64` form).
    Num(Option<f64>),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
    /// A list or mapping: equal to no value.
    Other,
}

impl From<Value> for Wanted {
    fn from(v: Value) -> Wanted {
        match v {
            Value::String(s) => Wanted::Str(sigma::string_pattern(&s)),
            Value::Number(n) => Wanted::Num(n.as_f64()),
            Value::Bool(b) => Wanted::Bool(b),
            Value::Null => Wanted::Null,
            Value::Array(_) | Value::Object(_) => Wanted::Other,
        }
    }
}

/// pySigma value equality between a detection item value and a YAML scalar: strings compare
/// with strings (as Sigma strings, pieces compared), numbers with numbers, booleans with
/// booleans, `null` with null.
pub(crate) fn value_equals(test: &Test, want: &Wanted) -> bool {
    match (test, want) {
        (Test::Str { pattern, .. }, Wanted::Str(w)) => pattern == w,
        (
            Test::Num {
                op: CmpOp::Eq,
                value,
            },
            Wanted::Num(Some(n)),
        ) => (value.as_f64() - n).abs() < f64::EPSILON * n.abs().max(1.0),
        (Test::Bool(b), Wanted::Bool(w)) => b == w,
        (Test::Null, Wanted::Null) => true,
        (
            Test::Str { .. }
            | Test::Num { .. }
            | Test::Bool(_)
            | Test::Null
            | Test::Regex { .. }
            | Test::Exists(_)
            | Test::Cidr(_)
            | Test::FieldRef { .. }
            | Test::TimePart { .. },
            _,
        ) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_forms_round_trip() {
        let p = sigma::string_pattern(r"C:\Windows\*.exe\*x?");
        assert_eq!(p.to_string(), r"C:\\Windows\*.exe\*x?");
        assert_eq!(plain(&p), r"C:\Windows\*.exe\*x?");
        assert_eq!(from_plain(&plain(&p), false), p);
        let ph = Pattern::new([
            Piece::Lit("a".into()),
            Piece::Placeholder("x".into()),
            Piece::AnyMany,
        ]);
        assert_eq!(from_plain(&plain(&ph), true), ph);
        assert!(matches!(
            plain(&Pattern::literal("abc")),
            Cow::Borrowed("abc")
        ));
        assert_eq!(plain(&Pattern::literal("a*b")), r"a\*b");
    }

    #[test]
    fn wanted_values_compare_as_pysigma() {
        let s = Test::Str {
            pattern: sigma::string_pattern("a*"),
            cased: false,
        };
        assert!(value_equals(&s, &Wanted::from(Value::from("a*"))));
        assert!(!value_equals(&s, &Wanted::from(Value::from(r"a\*"))));
        let n = Test::Num {
            op: CmpOp::Eq,
            value: Number::new("4688"),
        };
        assert!(value_equals(&n, &Wanted::from(Value::from(4688))));
        assert!(!value_equals(&n, &Wanted::from(Value::from("4688"))));
        assert!(value_equals(&Test::Null, &Wanted::from(Value::Null)));
    }
}
