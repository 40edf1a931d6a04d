//! What the query template sees besides `condition`: the backend's `vars:` resolved per rule
//! (rule state, option, log source category, default), the options and the rule's title, id,
//! metadata (`rule.meta`, the IR's `Meta` as serialized) and log source (`rule.logsource`);
//! and the full-text fields a keyword search uses.

use indexmap::IndexMap;
use minijinja::context;
use minijinja::value::Value;

use super::{BackendFile, Options, VarSpec};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::Rule;

/// The query template's context for `rule`, without `condition`.
///
/// # Errors
/// A variable with no value and no default.
pub(super) fn query_context(
    f: &BackendFile,
    rule: &Rule,
    opts: &Options,
) -> Result<IndexMap<String, Value>> {
    let mut ctx: IndexMap<String, Value> = IndexMap::new();
    for (name, v) in &f.vars {
        ctx.insert(name.clone(), Value::from(resolve(v, rule, opts)?));
    }
    ctx.insert(
        "options".into(),
        Value::from_iter(
            opts.iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone()))),
        ),
    );
    ctx.insert(
        "rule".into(),
        context! {
            title => rule.meta.title.clone(),
            id => rule.meta.id.clone(),
            meta => Value::from_serialize(&rule.meta),
            logsource => Value::from_serialize(&rule.logsource),
        },
    );
    Ok(ctx)
}

/// The full-text fields of a backend with `keywords:` (the comma-separated option, trimmed,
/// empty entries dropped); `None` for a backend without.
pub(super) fn keyword_fields(f: &BackendFile, opts: &Options) -> Option<Vec<String>> {
    f.keywords.as_ref().map(|o| {
        opts.get(o)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// One variable: the rule state key, else the option, else the first matching category entry
/// (a trailing `*` is a prefix), else the default.
fn resolve(v: &VarSpec, rule: &Rule, opts: &Options) -> Result<String> {
    if let Some(k) = &v.state {
        if let Some(val) = rule.state.get(k) {
            return Ok(state_text(val));
        }
    }
    if let Some(o) = &v.option {
        if let Some(val) = opts.get(o) {
            return Ok(val.clone());
        }
    }
    if let Some(cat) = &rule.logsource.category {
        for (k, val) in &v.category {
            let hit = match k.strip_suffix('*') {
                Some(prefix) => cat.starts_with(prefix),
                None => cat == k,
            };
            if hit {
                return Ok(val.clone());
            }
        }
    }
    v.default.clone().ok_or_else(|| {
        Error::new(ErrorKind::Backend(
            "a template variable has no value and no default".into(),
        ))
    })
}

/// The text of a state value: strings as they are, lists (e.g. several index patterns) joined
/// with `,`, anything else as JSON.
fn state_text(val: &serde_json::Value) -> String {
    match val {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(xs) => xs.iter().map(state_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_lists_join_with_commas() {
        let v = serde_json::json!(["a-*", ["b-*", 3], true]);
        assert_eq!(state_text(&v), "a-*,b-*,3,true");
    }
}
