//! `regex`: string values become regular expressions.
//!
//! Every string value becomes an equivalent regex (pySigma `RegexTransformation`). The result
//! is anchored (`^...$`) and `*` crosses newlines, so it matches exactly what the string
//! matched (sigmat regexes match anywhere). A value holding a placeholder is an error: resolve
//! placeholders first.
//!
//! # Parameters
//! * `method`: `ignore_case_brackets` (default: each letter as `[aA]`), `ignore_case_flag`
//!   (the `i` flag) or `plain` (case kept).
//!
//! # Example
//! ```yaml
//! - type: regex
//!   method: ignore_case_flag
//!   field_name_conditions:
//!     - type: include_fields
//!       fields: [process.command_line]
//! ```

use serde::Deserialize;

use crate::error::Result;
use crate::ir::{Pattern, Piece, RegexFlags, Test};
use crate::pipeline::node::Ctx;
use crate::pipeline::values::{plain, string_test};
use crate::pipeline::work::{for_each_item, set_test, Changed, Scope, Work};

/// The YAML `type`.
pub(crate) const NAME: &str = "regex";

/// `regex` transformation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RegexMethod {
    /// Escape the text, keep its case.
    Plain,
    /// Add the `i` flag.
    IgnoreCaseFlag,
    /// Write each letter as `[aA]` (the default).
    #[default]
    IgnoreCaseBrackets,
}

/// Parameters of `regex`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexTransformation {
    /// How case is handled.
    #[serde(default)]
    pub method: RegexMethod,
}

impl RegexTransformation {
    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        let mut bad: Option<String> = None;
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, _| {
            let Some((pattern, _)) = string_test(&leaf.pred.test) else {
                return Ok(Changed::No);
            };
            if pattern.is_empty() {
                return Ok(Changed::No);
            }
            match to_regex(pattern, self.method) {
                Some(test) => Ok(set_test(leaf, test)),
                None => {
                    bad.get_or_insert_with(|| plain(pattern).into_owned());
                    Ok(Changed::No)
                }
            }
        })?;
        match bad {
            Some(v) => Err(w.err(item, format!("the placeholder in `{v}` cannot become a regular expression; resolve placeholders first"))),
            None => Ok(()),
        }
    }
}

/// The regex of a pattern; `None` when it holds a placeholder.
fn to_regex(pattern: &Pattern, method: RegexMethod) -> Option<Test> {
    let mut re = String::from("^");
    for p in pattern.pieces() {
        match p {
            Piece::Lit(s) => {
                if method == RegexMethod::IgnoreCaseBrackets {
                    for c in s.chars() {
                        let (lo, up) = (c.to_lowercase().to_string(), c.to_uppercase().to_string());
                        if c.is_alphabetic() && lo != up {
                            re.push_str(&format!("[{lo}{up}]"));
                        } else {
                            re.push_str(&regex_syntax::escape(&c.to_string()));
                        }
                    }
                } else {
                    re.push_str(&regex_syntax::escape(s));
                }
            }
            Piece::AnyMany => re.push_str(".*"),
            Piece::AnyOne => re.push('.'),
            Piece::Placeholder(_) => return None,
        }
    }
    re.push('$');
    Some(Test::Regex {
        pattern: re,
        flags: RegexFlags {
            ignore_case: method == RegexMethod::IgnoreCaseFlag,
            multi_line: false,
            dot_all: true,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma;

    #[test]
    fn regex_from_pattern_is_anchored() {
        let p = sigma::string_pattern("Ab*.c");
        let Some(Test::Regex { pattern, .. }) = to_regex(&p, RegexMethod::IgnoreCaseBrackets)
        else {
            panic!("not a regex")
        };
        assert_eq!(pattern, r"^[aA][bB].*\.[cC]$");
    }
}
