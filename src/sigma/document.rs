//! A rule document → [`ir::Rule`]: metadata, `logsource`, and the `detection` with its
//! condition(s); the metadata readers are shared with correlation and filter documents (the
//! kind dispatch is in `collection.rs`).

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use super::condition;
use super::detection::{describe, invalid, lower_identifier, number_text};
use super::{Fail, KeyPath, R};
use crate::error::ErrorKind;
use crate::ir::{self, Expr, Level, LogSource, Meta, Related, RelationType, Status};

/// Keys read into [`Meta`]; everything else is kept in `Meta::custom`.
const META_KEYS: &[&str] = &[
    "title",
    "id",
    "name",
    "status",
    "description",
    "license",
    "author",
    "references",
    "date",
    "modified",
    "tags",
    "related",
    "falsepositives",
    "level",
    "fields",
    "scope",
    "taxonomy",
];

/// The value of `key`, if present and not null.
pub(crate) fn get<'a>(m: &'a Mapping, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

/// A string field: strings as is, numbers by their text.
pub(crate) fn string(v: &Value, path: &KeyPath) -> R<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => number_text(n).ok_or_else(|| path.err(invalid("a string", v))),
        _ => Err(path.err(invalid("a string", v))),
    }
}

/// A list of strings; a single string is a one-element list.
pub(crate) fn strings(v: &Value, path: &KeyPath) -> R<Vec<String>> {
    match v {
        Value::Sequence(xs) => xs
            .iter()
            .enumerate()
            .filter(|(_, x)| !x.is_null())
            .map(|(i, x)| string(x, &path.index(i)))
            .collect(),
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![string(other, path)?]),
    }
}

fn opt_string(m: &Mapping, key: &str) -> R<Option<String>> {
    get(m, key)
        .map(|v| string(v, &KeyPath::default().key(key)))
        .transpose()
}

fn list(m: &Mapping, key: &str) -> R<Vec<String>> {
    get(m, key).map_or(Ok(Vec::new()), |v| strings(v, &KeyPath::default().key(key)))
}

/// A `date` / `modified` value: `YYYY-MM-DD`; the legacy `YYYY/MM/DD` is normalised.
fn date(m: &Mapping, key: &str) -> R<Option<String>> {
    let Some(v) = get(m, key) else {
        return Ok(None);
    };
    let path = KeyPath::default().key(key);
    let s = string(v, &path)?.trim().replace('/', "-");
    let b = s.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(s[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u8>(), Ok(1..=31));
    if !ok {
        return Err(path
            .err(invalid("a date `YYYY-MM-DD`", v))
            .hint("write the date as `YYYY-MM-DD`, e.g. `2024-08-08`"));
    }
    Ok(Some(s))
}

/// Converts a YAML value to JSON, for custom fields.
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Sequence(xs) => serde_json::Value::Array(xs.iter().map(to_json).collect()),
        Value::Mapping(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (key_text(k), to_json(v))).collect())
        }
        Value::Tagged(t) => to_json(&t.value),
    }
}

/// A mapping key as text.
pub(crate) fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        other => describe(other),
    }
}

/// Reads the metadata shared by rules, correlations and filters. `own` lists the keys of the
/// document kind that are not metadata (kept out of `custom`).
pub(crate) fn meta(m: &Mapping, own: &[&str]) -> R<Meta> {
    let root = KeyPath::default();
    let title = match get(m, "title") {
        Some(v) => string(v, &root.key("title"))?,
        None => {
            return Err(root
                .err(ErrorKind::MissingKey("title".into()))
                .hint("every Sigma document needs a `title`"))
        }
    };
    let status = match get(m, "status") {
        None => None,
        Some(v) => Some(match v.as_str() {
            Some("stable") => Status::Stable,
            Some("test") => Status::Test,
            Some("experimental") => Status::Experimental,
            Some("deprecated") => Status::Deprecated,
            Some("unsupported") => Status::Unsupported,
            _ => {
                return Err(root.key("status").err(invalid(
                    "one of stable, test, experimental, deprecated, unsupported",
                    v,
                )))
            }
        }),
    };
    let level = match get(m, "level") {
        None => None,
        Some(v) => Some(match v.as_str() {
            Some("informational") => Level::Informational,
            Some("low") => Level::Low,
            Some("medium") => Level::Medium,
            Some("high") => Level::High,
            Some("critical") => Level::Critical,
            _ => {
                return Err(root.key("level").err(invalid(
                    "one of informational, low, medium, high, critical",
                    v,
                )))
            }
        }),
    };
    let author = match get(m, "author") {
        None => None,
        Some(Value::Sequence(_)) => Some(list(m, "author")?.join(", ")),
        Some(v) => Some(string(v, &root.key("author"))?),
    };
    let mut related = Vec::new();
    if let Some(v) = get(m, "related") {
        let rp = root.key("related");
        let Value::Sequence(xs) = v else {
            return Err(rp.err(invalid("a list of `{id, type}` entries", v)));
        };
        for (i, x) in xs.iter().enumerate() {
            let p = rp.index(i);
            let Value::Mapping(r) = x else {
                return Err(p.err(invalid("an `{id, type}` entry", x)));
            };
            let id = get(r, "id")
                .ok_or_else(|| p.err(ErrorKind::MissingKey("id".into())))
                .and_then(|v| string(v, &p.key("id")))?;
            let t = get(r, "type").ok_or_else(|| p.err(ErrorKind::MissingKey("type".into())))?;
            let kind = match t.as_str() {
                Some("derived") => RelationType::Derived,
                Some("obsolete" | "obsoletes") => RelationType::Obsolete,
                Some("merged") => RelationType::Merged,
                Some("renamed") => RelationType::Renamed,
                Some("similar") => RelationType::Similar,
                _ => {
                    return Err(p.key("type").err(invalid(
                        "one of derived, obsolete, merged, renamed, similar",
                        t,
                    )))
                }
            };
            related.push(Related { id, kind });
        }
    }
    let mut custom = IndexMap::new();
    for (k, v) in m {
        let key = key_text(k);
        if !META_KEYS.contains(&key.as_str()) && !own.contains(&key.as_str()) {
            custom.insert(key, to_json(v));
        }
    }
    Ok(Meta {
        title,
        id: opt_string(m, "id")?,
        name: opt_string(m, "name")?,
        status,
        description: opt_string(m, "description")?,
        license: opt_string(m, "license")?,
        author,
        references: list(m, "references")?,
        date: date(m, "date")?,
        modified: date(m, "modified")?,
        tags: list(m, "tags")?,
        related,
        falsepositives: list(m, "falsepositives")?,
        level,
        fields: list(m, "fields")?,
        scope: list(m, "scope")?,
        taxonomy: opt_string(m, "taxonomy")?,
        custom,
    })
}

/// Reads `logsource`.
pub(crate) fn logsource(m: &Mapping) -> R<LogSource> {
    let path = KeyPath::default().key("logsource");
    let Some(v) = get(m, "logsource") else {
        return Err(KeyPath::default()
            .err(ErrorKind::MissingKey("logsource".into()))
            .hint("add `logsource:` with `category`, `product` and/or `service`"));
    };
    let Value::Mapping(ls) = v else {
        return Err(path.err(invalid("a mapping (category, product, service...)", v)));
    };
    let mut out = LogSource::default();
    for (k, v) in ls {
        let key = key_text(k);
        if v.is_null() {
            continue;
        }
        let text = string(v, &path.key(&key))?;
        match key.as_str() {
            "category" => out.category = Some(text),
            "product" => out.product = Some(text),
            "service" => out.service = Some(text),
            "definition" => out.definition = Some(text),
            _ => {
                out.custom.insert(key, text);
            }
        }
    }
    Ok(out)
}

/// Lowers a set of search identifiers and a condition (a string or a list of strings), as in
/// `detection` and `filter`. `section` is the key holding them (`detection` or `filter`);
/// `skip` lists keys that are not identifiers. An identifier no condition uses is valid Sigma
/// (pySigma ignores it): it is left out and reported in `warn`.
pub(crate) fn lower_detection(
    d: &Mapping,
    section: &str,
    skip: &[&str],
    allow_list: bool,
    warn: &mut Vec<Fail>,
) -> R<Vec<Expr>> {
    let sp = KeyPath::default().key(section);
    if d.contains_key("timeframe") && section == "detection" {
        return Err(sp
            .key("timeframe")
            .err(ErrorKind::Deprecated(
                "`timeframe` inside `detection`".into(),
            ))
            .hint("Sigma 2 moved time windows to correlation rules (`correlation.timespan`)"));
    }
    let mut ids: IndexMap<String, Expr> = IndexMap::new();
    for (k, v) in d {
        let name = key_text(k);
        if name == "condition" || skip.contains(&name.as_str()) {
            continue;
        }
        let expr = lower_identifier(v, &sp.key(&name))?;
        ids.insert(name, expr);
    }
    let cp = sp.key("condition");
    let Some(cv) = get(d, "condition") else {
        return Err(sp
            .err(ErrorKind::MissingKey("condition".into()))
            .hint(format!(
                "add `condition:` to `{section}`, e.g. `condition: selection`"
            )));
    };
    let conds: Vec<(String, KeyPath)> = match cv {
        Value::String(s) => vec![(s.clone(), cp.clone())],
        Value::Sequence(xs) if allow_list && !xs.is_empty() => xs
            .iter()
            .enumerate()
            .map(|(i, x)| string(x, &cp.index(i)).map(|s| (s, cp.index(i))))
            .collect::<R<_>>()?,
        other => {
            let expected = if allow_list {
                "a condition string or a list of them"
            } else {
                "a condition string"
            };
            return Err(cp.err(invalid(expected, other)));
        }
    };
    if ids.is_empty() {
        return Err(sp
            .err(ErrorKind::MissingKey("a search identifier".into()))
            .hint(format!(
                "define at least one search identifier in `{section}`, e.g. `selection:`"
            )));
    }
    let mut used = vec![false; ids.len()];
    let mut out = Vec::with_capacity(conds.len());
    for (text, p) in &conds {
        let with_hint = |f: super::Fail, h: Option<String>| match h {
            Some(h) => f.hint(h),
            None => f,
        };
        let ast = condition::parse(text).map_err(|(k, h)| {
            let offset = match &k {
                ErrorKind::ConditionSyntax { offset, .. } => Some(*offset),
                _ => None,
            };
            let f = with_hint(p.err(k), h);
            match offset {
                Some(o) => f.with_span(text, o),
                None => f,
            }
        })?;
        out.push(
            condition::resolve(&ast, &ids, &mut used)
                .map_err(|(k, h, at)| with_hint(p.err(k), h).with_span(text, at))?,
        );
    }
    for (name, _) in ids.iter().zip(&used).filter(|(_, u)| !**u) {
        warn.push(
            sp.key(name.0)
                .err(ErrorKind::UnusedIdentifier(name.0.clone()))
                .hint(format!(
                    "the rule is converted without it; use `{}` in the condition or remove it",
                    name.0
                )),
        );
    }
    Ok(out)
}

pub(crate) fn lower_rule(m: &Mapping, warn: &mut Vec<Fail>) -> R<ir::Rule> {
    let root = KeyPath::default();
    let meta = meta(m, &["logsource", "detection"])?;
    let logsource = logsource(m)?;
    let Some(det) = get(m, "detection") else {
        return Err(root
            .err(ErrorKind::MissingKey("detection".into()))
            .hint("a rule needs `detection` (or `correlation` / `filter` for those documents)"));
    };
    let Value::Mapping(d) = det else {
        return Err(root.key("detection").err(invalid(
            "a mapping of search identifiers and `condition`",
            det,
        )));
    };
    let conditions = lower_detection(d, "detection", &[], true, warn)?;
    Ok(ir::Rule {
        meta,
        logsource,
        conditions,
        state: IndexMap::new(),
        applied: Vec::new(),
        origin: ir::Origin::default(),
    })
}
