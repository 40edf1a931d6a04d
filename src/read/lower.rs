//! What EQL and KQL lowering share: constant folding of `true` / `false` conditions, field
//! name conventions (`.caseless`, text fields), IR builders and named refusals.

use crate::error::{Error, ErrorKind};
use crate::ir::{self, Pattern, Piece};
use crate::read::source::{LineIndex, QueryOrigin, Span};

/// The target named in refusals.
pub const TARGET: &str = "the Elastic reader";

/// A lowered condition: a constant, or an IR expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Always holds.
    True,
    /// Never holds.
    False,
    /// Holds as the expression says.
    Expr(ir::Expr),
}

impl Cond {
    /// `and` with folding.
    #[must_use]
    pub fn and(xs: Vec<Cond>) -> Cond {
        let mut out = Vec::new();
        for x in xs {
            match x {
                Cond::True => {}
                Cond::False => return Cond::False,
                Cond::Expr(e) => out.push(e),
            }
        }
        if out.is_empty() {
            Cond::True
        } else {
            Cond::Expr(ir::Expr::and(out))
        }
    }

    /// `or` with folding.
    #[must_use]
    pub fn or(xs: Vec<Cond>) -> Cond {
        let mut out = Vec::new();
        for x in xs {
            match x {
                Cond::True => return Cond::True,
                Cond::False => {}
                Cond::Expr(e) => out.push(e),
            }
        }
        if out.is_empty() {
            Cond::False
        } else {
            Cond::Expr(ir::Expr::or(out))
        }
    }

    /// `not` with folding.
    #[must_use]
    pub fn negate(self) -> Cond {
        match self {
            Cond::True => Cond::False,
            Cond::False => Cond::True,
            Cond::Expr(ir::Expr::Not(e)) => Cond::Expr(*e),
            Cond::Expr(e) => Cond::Expr(ir::Expr::Not(Box::new(e))),
        }
    }
}

/// Which fields hold analyzed text, where a query matches tokens rather than the value (KQL's
/// `match` / `match_phrase`, read by [`crate::read::text`] with a warning; EQL rejects them,
/// so the EQL reader refuses them).
pub type TextFields = fn(&str) -> bool;

/// The default [`TextFields`]: the ECS 9.5 `text` / `match_only_text` fields (`message`,
/// `error.message`), every `.text` multi-field, and the text fields of integrations that
/// Elastic's rules query (`powershell.file.script_block_text`).
#[must_use]
pub fn default_text_fields(name: &str) -> bool {
    matches!(
        name,
        "message" | "error.message" | "powershell.file.script_block_text"
    ) || name.ends_with(".text")
}

/// A field name as the IR holds it, and whether string tests on it are forced
/// case-insensitive: `X.caseless` (Elastic's lower-case-normalized keyword multi-field, absent
/// from event documents) is `X` compared case-insensitively.
#[must_use]
pub fn field_name(name: &str) -> (String, bool) {
    match name.strip_suffix(".caseless") {
        Some(base) if !base.is_empty() => (base.to_string(), true),
        _ => (name.to_string(), false),
    }
}

/// A predicate.
#[must_use]
pub fn pred(field: &str, test: ir::Test, at: String) -> ir::Expr {
    ir::Expr::Pred(ir::Predicate {
        field: Some(field.to_string()),
        test,
        at,
    })
}

/// A whole-value string test.
#[must_use]
pub fn str_test(pattern: Pattern, cased: bool) -> ir::Test {
    ir::Test::Str { pattern, cased }
}

/// An EQL wildcard pattern: `*` and `?` are wildcards, every other character (a backslash
/// included) stands for itself: Elasticsearch offers no escape inside EQL wildcard patterns.
#[must_use]
pub fn eql_wildcard(s: &str) -> Pattern {
    let mut p = Pattern::default();
    for c in s.chars() {
        p.push(match c {
            '*' => Piece::AnyMany,
            '?' => Piece::AnyOne,
            c => Piece::Lit(c.to_string()),
        });
    }
    p
}

/// A number's IR text: integers as written (without a leading `+`), decimals in their
/// shortest form.
#[must_use]
pub fn number(text: &str, negative: bool) -> Option<ir::Number> {
    let t = text.trim_start_matches('+');
    let sign = if negative { "-" } else { "" };
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let digits = t.trim_start_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        let s = if digits == "0" {
            "0".to_string()
        } else {
            format!("{sign}{digits}")
        };
        return Some(ir::Number::new(s));
    }
    let v: f64 = t.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    let v = if negative { -v } else { v };
    Some(ir::Number::new(format!("{v}")))
}

/// Where a predicate was written: `rule.query@line:column` inside the query.
#[must_use]
pub fn at(lines: &LineIndex<'_>, span: Span) -> String {
    let (l, c) = lines.line_col(span.start());
    format!("rule.query@{l}:{c}")
}

/// A refusal: the construct `what` cannot be lowered exactly, located at `span`.
#[must_use]
pub fn refuse(origin: &QueryOrigin, query: &str, span: Span, what: String, hint: &str) -> Error {
    origin.locate(
        Error::new(ErrorKind::Unsupported {
            target: TARGET.into(),
            what,
        }),
        query,
        span,
        Some(hint.to_string()),
    )
}
