//! What the placeholder transformations (`wildcard_placeholders`, `value_placeholders`,
//! `query_expression_placeholders`) share: which placeholders they handle (`include` /
//! `exclude`), and the expansion of a string value's placeholders.

use crate::error::Result;
use crate::ir::{Pattern, Piece, Test};
use crate::pipeline::node::{Leaf, Node};
use crate::pipeline::reader::Reader;
use crate::pipeline::values::string_test;
use crate::pipeline::work::{set_test, with_test, Changed};

/// Whether the placeholder `name` is handled: only the `include`d ones, or all but the
/// `exclude`d ones, or all.
pub(crate) fn handles(include: Option<&[String]>, exclude: Option<&[String]>, name: &str) -> bool {
    match (include, exclude) {
        (Some(inc), _) => inc.iter().any(|n| n == name),
        (None, Some(exc)) => !exc.iter().any(|n| n == name),
        (None, None) => true,
    }
}

/// `include` and `exclude` exclude each other.
pub(crate) fn check(r: &Reader, path: &str, include: bool, exclude: bool) -> Result<()> {
    if include && exclude {
        return Err(r.err(path, "`include` and `exclude` cannot be used together"));
    }
    Ok(())
}

/// Replaces the handled placeholders of a string predicate by the patterns `values` gives for
/// each; several values give an `or` of every combination.
pub(crate) fn expand(
    leaf: &mut Leaf,
    handled: &dyn Fn(&str) -> bool,
    values: &mut dyn FnMut(&str) -> std::result::Result<Vec<Pattern>, String>,
) -> std::result::Result<Changed, String> {
    let Some((pattern, cased)) = string_test(&leaf.pred.test) else {
        return Ok(Changed::No);
    };
    if !pattern.placeholders().any(handled) {
        return Ok(Changed::No);
    }
    let mut results: Vec<Pattern> = vec![Pattern::default()];
    for piece in pattern.pieces() {
        match piece {
            Piece::Placeholder(name) if handled(name) => {
                let vs = values(name)?;
                let mut next = Vec::with_capacity(results.len() * vs.len());
                for r in &results {
                    for v in &vs {
                        let mut p = r.clone();
                        for x in v.pieces() {
                            p.push(x.clone());
                        }
                        next.push(p);
                    }
                }
                results = next;
            }
            other => results.iter_mut().for_each(|r| r.push(other.clone())),
        }
    }
    match results.len() {
        0 => Ok(Changed::Drop),
        1 => {
            let pattern = results.remove(0);
            Ok(set_test(leaf, Test::Str { pattern, cased }))
        }
        _ => Ok(Changed::Replaced(Node::Or(
            results
                .into_iter()
                .map(|p| with_test(leaf, Test::Str { pattern: p, cased }))
                .collect(),
        ))),
    }
}
