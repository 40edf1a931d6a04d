//! Filter documents (Sigma 2 `filter:`), applied by [`super::load_paths`].

use serde_yaml::{Mapping, Value};

use super::detection::invalid;
use super::document::{get, logsource, lower_detection, meta, strings};
use super::{Fail, KeyPath, R};
use crate::error::ErrorKind;
use crate::ir::{Filter, Origin};

pub(crate) fn lower(m: &Mapping, warn: &mut Vec<Fail>) -> R<Filter> {
    let root = KeyPath::default();
    let meta = meta(m, &["logsource", "filter"])?;
    let logsource = logsource(m)?;
    let fp = root.key("filter");
    let Some(Value::Mapping(f)) = get(m, "filter") else {
        return Err(fp.err(invalid(
            "a mapping with `rules`, search identifiers and `condition`",
            m.get("filter").unwrap_or(&Value::Null),
        )));
    };
    let rules = match get(f, "rules") {
        None => {
            return Err(fp
                .err(ErrorKind::MissingKey("filter.rules".into()))
                .hint("list the rule ids or names the filter applies to, or write `rules: any`"))
        }
        Some(Value::String(s)) if s == "any" => Vec::new(),
        Some(v) => {
            let rs = strings(v, &fp.key("rules"))?;
            if rs.is_empty() {
                return Err(fp
                    .key("rules")
                    .err(invalid("at least one rule id or name, or `any`", v)));
            }
            rs
        }
    };
    let mut conds = lower_detection(f, "filter", &["rules"], false, warn)?;
    let condition = conds
        .pop()
        .ok_or_else(|| fp.err(ErrorKind::MissingKey("filter.condition".into())))?;
    Ok(Filter {
        meta,
        logsource,
        rules,
        condition,
        origin: Origin::default(),
    })
}
