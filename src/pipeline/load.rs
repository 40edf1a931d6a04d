//! Reading a pipeline: pySigma processing-pipeline YAML → [`Pipeline`].
//!
//! The reader follows pySigma's `ProcessingPipeline.from_dict`: unknown top-level keys are an
//! error, every transformation and condition `type` must be known, and a type that sigmat does
//! not implement is an error naming it (never silently skipped). Parameters are read with serde
//! (`deny_unknown_fields`), so a misspelt parameter is an error too.

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::model::Pipeline;
use crate::pipeline::query::{read_finalizer, read_post_item};
use crate::pipeline::reader::{kind_of, Reader};
use crate::pipeline::transformations::read_item;

const TOP_KEYS: &[&str] = &[
    "name",
    "priority",
    "vars",
    "transformations",
    "postprocessing",
    "finalizers",
    "allowed_backends",
];

/// Reads a pipeline from its YAML text; `origin` names it in errors.
pub(crate) fn parse(text: &str, origin: &str) -> Result<Pipeline> {
    let doc: Value = serde_yaml::from_str(text).map_err(|e| {
        let mut err = Error::new(ErrorKind::Yaml(e.to_string())).in_file(origin.to_string());
        if let Some(loc) = e.location() {
            err = err.at_line(loc.line(), Some(loc.column()));
        }
        err
    })?;
    let stem = std::path::Path::new(origin.trim_start_matches("builtin:"))
        .file_stem()
        .map_or_else(|| origin.to_string(), |s| s.to_string_lossy().into_owned());
    let Value::Object(map) = doc else {
        return Err(Error::new(ErrorKind::Pipeline(format!(
            "a pipeline must be a YAML mapping, found {}",
            kind_of(&doc)
        )))
        .in_file(origin.to_string()));
    };
    let name = match map.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => stem,
    };
    let r = Reader { origin, name };
    if let Some(k) = map.keys().find(|k| !TOP_KEYS.contains(&k.as_str())) {
        return Err(r.err(k, format!("unknown key `{k}`")).hint(
            "a pipeline has name, priority, vars, transformations, postprocessing, finalizers and allowed_backends",
        ));
    }
    let priority = match map.get("priority") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
        Some(v) => {
            return Err(r.err(
                "priority",
                format!("expected an integer, found {}", kind_of(v)),
            ))
        }
    };
    let vars: IndexMap<String, Value> = opt_field(&r, &map, "vars")?.unwrap_or_default();
    let allowed_backends: Vec<String> =
        opt_field(&r, &map, "allowed_backends")?.unwrap_or_default();
    let items = list_field(&r, &map, "transformations", read_item)?;
    let postprocessing = list_field(&r, &map, "postprocessing", read_post_item)?;
    let finalizers = list_field(&r, &map, "finalizers", read_finalizer)?;
    Ok(Pipeline {
        name: r.name.clone(),
        priority,
        origin: origin.to_string(),
        vars,
        allowed_backends,
        items,
        postprocessing,
        finalizers,
    })
}

/// The list under `key` (empty when absent or null), each element read by `read` with its
/// key path `key[i]`.
fn list_field<T>(
    r: &Reader,
    map: &Map<String, Value>,
    key: &str,
    read: fn(&Reader, &Value, &str) -> Result<T>,
) -> Result<Vec<T>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(xs)) => xs
            .iter()
            .enumerate()
            .map(|(i, x)| read(r, x, &format!("{key}[{i}]")))
            .collect(),
        Some(v) => Err(r.err(key, format!("expected a list, found {}", kind_of(v)))),
    }
}

fn opt_field<T: DeserializeOwned>(
    r: &Reader,
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| r.err(key, format!("invalid `{key}`: {e}"))),
    }
}
