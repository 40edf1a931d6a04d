//! `X.caseless` fields (see "Caseless fields" in the IR module docs).

use super::{Predicate, RegexFlags, Test};

/// `X.caseless` read as `X` compared case-insensitively: the predicate on `X` with its string
/// tests folded (`cased` cleared, regexes given the `i` flag). `None` when the field does not
/// end in `.caseless` (or is only `.caseless`). See "Caseless fields" in the module docs.
#[must_use]
pub fn caseless(p: &Predicate) -> Option<Predicate> {
    let base = p.field.as_deref()?.strip_suffix(".caseless")?;
    if base.is_empty() {
        return None;
    }
    let test = match &p.test {
        Test::Str { pattern, .. } => Test::Str {
            pattern: pattern.clone(),
            cased: false,
        },
        Test::Regex { pattern, flags } => Test::Regex {
            pattern: pattern.clone(),
            flags: RegexFlags {
                ignore_case: true,
                ..*flags
            },
        },
        Test::FieldRef { field, how, .. } => Test::FieldRef {
            field: field.clone(),
            how: *how,
            cased: false,
        },
        t @ (Test::Num { .. }
        | Test::Bool(_)
        | Test::Null
        | Test::Exists(_)
        | Test::Cidr(_)
        | Test::TimePart { .. }) => t.clone(),
    };
    Some(Predicate {
        field: Some(base.to_string()),
        test,
        at: p.at.clone(),
    })
}
