//! `hashes_fields`: splits Sysmon-style hash values into one field per algorithm.
//!
//! A value `SHA256=AB12...` (or `SHA256|AB12...`, or a bare hash whose length names the
//! algorithm) of a field in `field_to_parse` becomes `<field_prefix>SHA256: AB12...`. Values
//! without a valid algorithm are dropped, and a detection item left with none is an error. A
//! detection item with a value that is not a string is left alone (pySigma).
//!
//! # Parameters
//! * `valid_hash_algos`: the algorithms kept (`MD5`, `SHA1`, `SHA256`, `SHA512`, `IMPHASH`...).
//! * `field_prefix`: put before the algorithm name (default empty).
//! * `drop_algo_prefix`: use `field_prefix` alone as the field name (default `false`).
//! * `field_to_parse`: the fields holding hashes (default `Hashes`, `Hash`).
//!
//! # Example
//! ```yaml
//! - type: hashes_fields
//!   valid_hash_algos: [MD5, SHA1, SHA256]
//!   field_prefix: file.hash.
//! ```

use serde::Deserialize;

use crate::error::Result;
use crate::ir::Test;
use crate::pipeline::node::{Ctx, Leaf, Node};
use crate::pipeline::values::{plain, string_test};
use crate::pipeline::work::{for_each_item, groups, selection, Changed, Scope, Work};
use crate::sigma;

/// The YAML `type`.
pub(crate) const NAME: &str = "hashes_fields";

/// Parameters of `hashes_fields`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashesFields {
    /// The algorithms kept.
    pub valid_hash_algos: Vec<String>,
    /// Put before the algorithm name.
    #[serde(default)]
    pub field_prefix: String,
    /// Use `field_prefix` alone as the field name.
    #[serde(default)]
    pub drop_algo_prefix: bool,
    /// The fields holding hashes.
    #[serde(default = "hash_fields")]
    pub field_to_parse: Vec<String>,
}

fn hash_fields() -> Vec<String> {
    vec!["Hashes".into(), "Hash".into()]
}

/// A detection item's values: all strings, how many hold a valid hash, the first that does not.
#[derive(Clone)]
struct ItemValues {
    all_str: bool,
    valid: usize,
    invalid: Option<String>,
}

impl HashesFields {
    fn parses(&self, l: &Leaf) -> bool {
        l.pred
            .field
            .as_ref()
            .is_some_and(|f| self.field_to_parse.contains(f))
    }

    pub(crate) fn apply(&self, item: &Scope, w: &mut Work<'_>, ctx: &mut Ctx<'_>) -> Result<()> {
        let selected = selection(item, w, ctx);
        let leaves = w.leaves();
        let (group, n) = groups(&leaves);
        let mut items = vec![
            ItemValues {
                all_str: true,
                valid: 0,
                invalid: None,
            };
            n
        ];
        let mut seen = vec![false; n];
        for (i, l) in leaves.iter().enumerate() {
            if !selected[i] || !self.parses(l) {
                continue;
            }
            let g = &mut items[group[i]];
            seen[group[i]] = true;
            match &l.pred.test {
                Test::Str { pattern, .. } => {
                    let text = plain(pattern);
                    if self.split(&text).is_some() {
                        g.valid += 1;
                    } else {
                        g.invalid.get_or_insert_with(|| text.into_owned());
                    }
                }
                Test::Regex { .. }
                | Test::Num { .. }
                | Test::Bool(_)
                | Test::Null
                | Test::Exists(_)
                | Test::Cidr(_)
                | Test::FieldRef { .. }
                | Test::TimePart { .. } => g.all_str = false,
            }
        }
        let bad = items
            .iter()
            .zip(&seen)
            .find(|(g, seen)| **seen && g.all_str && g.valid == 0);
        if let Some((
            ItemValues {
                invalid: Some(v), ..
            },
            _,
        )) = bad
        {
            return Err(w.err(
                item,
                format!(
                    "no valid hash algorithm in hash value `{v}`; use one of: {}",
                    self.valid_hash_algos.join(", ")
                ),
            ));
        }
        // A predicate without a key path is an item of its own and is never skipped.
        let skipped: Vec<bool> = leaves
            .iter()
            .zip(&group)
            .map(|(l, g)| !l.pred.at.is_empty() && seen[*g] && !items[*g].all_str)
            .collect();
        for_each_item(item, NAME, w, ctx, &mut |leaf, i, _| {
            if !self.parses(leaf) || skipped[i] {
                return Ok(Changed::No);
            }
            let Some((pattern, _)) = string_test(&leaf.pred.test) else {
                return Ok(Changed::No);
            };
            Ok(match self.split(&plain(pattern)) {
                Some((field, value)) => {
                    let mut l = leaf.clone();
                    l.pred.field = Some(field);
                    l.pred.test = Test::Str {
                        pattern: sigma::string_pattern(&value),
                        cased: false,
                    };
                    Changed::Replaced(Node::Leaf(l))
                }
                None => Changed::Drop,
            })
        })
    }

    /// pySigma `_extract_hash_algo_and_value` + `_get_field_name`.
    fn split(&self, value: &str) -> Option<(String, String)> {
        let parts: Vec<&str> = if value.contains('|') {
            value.split('|').collect()
        } else {
            value.split('=').collect()
        };
        let (algo, hash) = if parts.len() == 2 {
            (
                parts[0].trim_start_matches('*').to_uppercase(),
                parts[1].trim_matches(|c| c == '*' || c == '?').to_string(),
            )
        } else {
            let hash = parts[0].trim_matches(|c| c == '*' || c == '?').to_string();
            let algo = match hash.len() {
                32 => "MD5",
                40 => "SHA1",
                64 => "SHA256",
                128 => "SHA512",
                _ => "",
            };
            (algo.to_string(), hash)
        };
        if !self.valid_hash_algos.contains(&algo) {
            return None;
        }
        let field = format!(
            "{}{}",
            self.field_prefix,
            if self.drop_algo_prefix {
                ""
            } else {
                algo.as_str()
            }
        );
        Some((field, hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_split() {
        let h = HashesFields {
            valid_hash_algos: vec!["SHA256".into(), "MD5".into()],
            field_prefix: "file.hash.".into(),
            drop_algo_prefix: false,
            field_to_parse: hash_fields(),
        };
        assert_eq!(
            h.split("SHA256=AB").unwrap(),
            ("file.hash.SHA256".to_string(), "AB".to_string())
        );
        assert_eq!(h.split(&"a".repeat(32)).unwrap().0, "file.hash.MD5");
        assert!(h.split("SHA1=AB").is_none());
    }
}
