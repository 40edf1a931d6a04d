//! `replace_string`: regex replacement in string values.
//!
//! Every match of `regex` in a string value (numbers are read as their text) is replaced by
//! `replacement` (Python syntax: `\1`, `\g<name>`). The regex sees pySigma's plain form of the
//! value (wildcards bare, literal `*`/`?` escaped); with `skip_special`, only the literal parts
//! are edited and wildcards stay as they are, and with `interpret_special` as well, `*` and
//! `?` in the result are wildcards.
//!
//! # Parameters
//! * `regex`: the regular expression (Rust `regex` syntax).
//! * `replacement`: the replacement.
//! * `skip_special`, `interpret_special`: see above (default `false`).
//!
//! # Example
//! ```yaml
//! - type: replace_string
//!   regex: "^\\\\Device\\\\HarddiskVolume[0-9]+"
//!   replacement: "C:"
//! ```

use regex::Regex;
use serde::Deserialize;

use crate::error::Result;
use crate::ir::{CmpOp, Pattern, Piece, Test};
use crate::pipeline::node::Ctx;
use crate::pipeline::reader::{compile, python_replacement, Reader};
use crate::pipeline::values::{from_plain, plain};
use crate::pipeline::work::{for_each_item, set_test, Changed, Scope, Work};
use crate::sigma;

/// The YAML `type`.
pub(crate) const NAME: &str = "replace_string";

/// Parameters of `replace_string`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceString {
    /// The regex.
    pub regex: String,
    /// The replacement, in Python syntax.
    pub replacement: String,
    /// Only edit the literal parts.
    #[serde(default)]
    pub skip_special: bool,
    /// With `skip_special`, read `*` / `?` in the result as wildcards.
    #[serde(default)]
    pub interpret_special: bool,
    /// The compiled regex and the replacement in Rust syntax, made when the pipeline is read.
    #[serde(skip)]
    compiled: Option<(Regex, String)>,
}

impl ReplaceString {
    pub(crate) fn prepare(&mut self, r: &Reader, path: &str) -> Result<()> {
        let re = compile(r, &format!("{path}.regex"), &self.regex, false)?;
        self.compiled = Some((re, python_replacement(&self.replacement)));
        Ok(())
    }

    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        let Some((regex, replacement)) = &self.compiled else {
            return Ok(());
        };
        for_each_item(item, NAME, w, ctx, &mut |leaf, _, _| {
            let (pattern, cased) = match &leaf.pred.test {
                Test::Str { pattern, cased } => (pattern.clone(), *cased),
                Test::Num {
                    op: CmpOp::Eq,
                    value,
                } => (Pattern::literal(&value.text), false),
                Test::Num { .. }
                | Test::Regex { .. }
                | Test::Bool(_)
                | Test::Null
                | Test::Exists(_)
                | Test::Cidr(_)
                | Test::FieldRef { .. }
                | Test::TimePart { .. } => return Ok(Changed::No),
            };
            let new = if self.skip_special {
                let mut out = Pattern::default();
                for piece in pattern.pieces() {
                    match piece {
                        Piece::Lit(s) => {
                            let r = regex.replace_all(s, replacement.as_str()).into_owned();
                            if self.interpret_special {
                                for p in sigma::string_pattern(&r).pieces() {
                                    out.push(p.clone());
                                }
                            } else {
                                out.push(Piece::Lit(r));
                            }
                        }
                        other => out.push(other.clone()),
                    }
                }
                out
            } else {
                let text = regex
                    .replace_all(&plain(&pattern), replacement.as_str())
                    .into_owned();
                from_plain(&text, pattern.placeholders().next().is_some())
            };
            Ok(set_test(
                leaf,
                Test::Str {
                    pattern: new,
                    cased,
                },
            ))
        })
    }
}
