//! Field lookup on JSON events, and the normalisation of Windows event JSON.
//!
//! A field name is a key path: `process.name` is found as the flat key `"process.name"` or as
//! the nested path `process` → `name`; the flat key wins at every level. An array met on the way
//! is searched element by element, so a path may resolve to several values.

use serde_json::{Map, Value};

/// Calls `f` on every value the key path `path` resolves to in `event` (none when missing).
/// Arrays at the end of the path are *not* expanded here; see [`for_each_leaf`].
pub fn resolve<'a>(event: &'a Value, path: &str, f: &mut dyn FnMut(&'a Value)) {
    match event {
        Value::Object(map) => resolve_in(map, path, f),
        Value::Array(xs) => xs.iter().for_each(|x| resolve(x, path, f)),
        _ => {}
    }
}

fn resolve_in<'a>(map: &'a Map<String, Value>, path: &str, f: &mut dyn FnMut(&'a Value)) {
    if let Some(v) = map.get(path) {
        f(v);
        return;
    }
    // Nested: split at each dot, left to right; the first split that exists is used.
    for (i, _) in path.match_indices('.') {
        if let Some(inner) = map.get(&path[..i]) {
            let mut found = false;
            resolve(inner, &path[i + 1..], &mut |v| {
                found = true;
                f(v);
            });
            if found {
                return;
            }
        }
    }
}

/// Whether `path` resolves to at least one value (possibly `null`).
#[must_use]
pub fn is_present(event: &Value, path: &str) -> bool {
    let mut found = false;
    resolve(event, path, &mut |_| found = true);
    found
}

/// Calls `f` on `v`, or on every element of `v` when it is an array (nested arrays flattened).
pub fn for_each_leaf<'a>(v: &'a Value, f: &mut dyn FnMut(&'a Value) -> bool) -> bool {
    match v {
        Value::Array(xs) => xs.iter().any(|x| for_each_leaf(x, f)),
        v => f(v),
    }
}

/// Calls `f` on every string value anywhere in `v` (object values and array elements, at any
/// depth; keys are not values). Stops and returns `true` as soon as `f` does.
pub fn any_string(v: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match v {
        Value::String(s) => f(s),
        Value::Array(xs) => xs.iter().any(|x| any_string(x, f)),
        Value::Object(m) => m.values().any(|x| any_string(x, f)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Rewrites Windows event JSON (evtx_dump style: `{"Event": {"System": …, "EventData": …}}`)
/// so that Sigma field names resolve at the top level:
///
/// - every `EventData` entry (also the `Data: [{"#attributes": {"Name": n}, "#text": v}]` form)
///   and every entry of the single `UserData` child element becomes a top-level key;
/// - `System` scalars keep their name (`EventID`, `Channel`, `Computer`, …); an element with
///   `#text` gives its text (`EventID` with `Qualifiers`); XML attributes join element and
///   attribute with `_` (`Provider_Name`, `Execution_ProcessID`, `TimeCreated_SystemTime`,
///   `Security_UserID`), as the Sigma specification names them;
/// - a key holding spaces (`Threat Name` in Defender events) also gets its space-less alias
///   (`ThreatName`), the form Sigma field names take.
///
/// `EventData` entries win over `System` ones of the same name. The original `Event` object
/// stays, so `Event.System.EventID` still resolves. Anything else is returned unchanged.
#[must_use]
pub fn normalize_windows(v: Value) -> Value {
    let Value::Object(mut top) = v else { return v };
    let is_windows = matches!(top.get("Event"), Some(Value::Object(e)) if e.contains_key("System"));
    if !is_windows {
        return Value::Object(top);
    }
    let event = top.remove("Event").expect("checked above");
    let mut out = Map::new();
    if let Value::Object(e) = &event {
        if let Some(Value::Object(sys)) = e.get("System") {
            for (k, v) in sys {
                system_entry(k, v, &mut out);
            }
        }
        for data_key in ["EventData", "UserData"] {
            match e.get(data_key) {
                Some(Value::Object(d)) if data_key == "UserData" => {
                    // UserData holds one element named after the event; take its children.
                    for child in d.values() {
                        if let Value::Object(c) = child {
                            data_entries(c, &mut out);
                        }
                    }
                }
                Some(Value::Object(d)) => data_entries(d, &mut out),
                _ => {}
            }
        }
    }
    for (k, v) in top {
        out.entry(k).or_insert(v);
    }
    out.insert("Event".to_string(), event);
    let spaced: Vec<(String, Value)> = out
        .iter()
        .filter(|(k, _)| k.contains(' '))
        .map(|(k, v)| (k.replace(' ', ""), v.clone()))
        .collect();
    for (k, v) in spaced {
        out.entry(k).or_insert(v);
    }
    Value::Object(out)
}

fn system_entry(k: &str, v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(o) => {
            if let Some(t) = o.get("#text") {
                out.insert(k.to_string(), t.clone());
            }
            if let Some(Value::Object(attrs)) = o.get("#attributes") {
                for (a, av) in attrs {
                    out.insert(format!("{k}_{a}"), av.clone());
                }
            }
        }
        v => {
            out.insert(k.to_string(), v.clone());
        }
    }
}

fn data_entries(d: &Map<String, Value>, out: &mut Map<String, Value>) {
    for (k, v) in d {
        if k == "#attributes" {
            continue;
        }
        if k == "Data" {
            if let Some(named) = named_data(v) {
                for (n, t) in named {
                    out.insert(n, t);
                }
                continue;
            }
        }
        out.insert(k.clone(), v.clone());
    }
}

/// `Data: [{"#attributes": {"Name": n}, "#text": v}, …]` (or a single such object) → pairs.
fn named_data(v: &Value) -> Option<Vec<(String, Value)>> {
    let items: Vec<&Value> = match v {
        Value::Array(xs) => xs.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return None,
    };
    let mut out = Vec::new();
    for it in items {
        let name = it.get("#attributes")?.get("Name")?.as_str()?;
        out.push((
            name.to_string(),
            it.get("#text").cloned().unwrap_or(Value::Null),
        ));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all<'a>(e: &'a Value, p: &str) -> Vec<&'a Value> {
        let mut v = Vec::new();
        resolve(e, p, &mut |x| v.push(x));
        v
    }

    #[test]
    fn flat_and_nested_keys_flat_wins() {
        let e = json!({"process.name": "flat", "process": {"name": "nested", "pid": 4}});
        assert_eq!(all(&e, "process.name"), vec![&json!("flat")]);
        assert_eq!(all(&e, "process.pid"), vec![&json!(4)]);
        assert!(all(&e, "process.missing").is_empty());
        let e = json!({"a": {"b.c": 1, "b": {"c": 2}}});
        assert_eq!(all(&e, "a.b.c"), vec![&json!(1)]);
    }

    #[test]
    fn arrays_on_the_path_are_searched() {
        let e = json!({"dns": {"answers": [{"data": "x"}, {"data": "y"}, {"other": 1}]}});
        assert_eq!(all(&e, "dns.answers.data"), vec![&json!("x"), &json!("y")]);
    }

    #[test]
    fn null_is_present() {
        let e = json!({"a": null});
        assert!(is_present(&e, "a"));
        assert!(!is_present(&e, "b"));
    }

    #[test]
    fn windows_event_is_flattened() {
        let e = json!({"Event": {
            "#attributes": {"xmlns": "x"},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": {"#text": 4688, "#attributes": {"Qualifiers": 0}},
                "Channel": "Security", "Computer": "host",
                "Execution": {"#attributes": {"ProcessID": 3208, "ThreadID": 1724}}
            },
            "EventData": {"Image": "C:\\x.exe", "Threat Name": "Evil"}
        }});
        let n = normalize_windows(e);
        assert_eq!(n["Provider_Name"], json!("Microsoft-Windows-Sysmon"));
        assert_eq!(n["EventID"], json!(4688));
        assert_eq!(n["EventID_Qualifiers"], json!(0));
        assert_eq!(n["Execution_ProcessID"], json!(3208));
        assert_eq!(n["Channel"], json!("Security"));
        assert_eq!(n["Image"], json!("C:\\x.exe"));
        assert_eq!(n["ThreatName"], json!("Evil"));
        assert_eq!(n["Threat Name"], json!("Evil"));
        assert_eq!(all(&n, "Event.System.Channel"), vec![&json!("Security")]);
    }

    #[test]
    fn windows_named_data_and_userdata() {
        let e = json!({"Event": {"System": {"EventID": 1},
            "EventData": {"Data": [{"#attributes": {"Name": "TargetUserName"}, "#text": "bob"}]}}});
        assert_eq!(normalize_windows(e)["TargetUserName"], json!("bob"));
        let e = json!({"Event": {"System": {"EventID": 5858},
            "UserData": {"Op": {"#attributes": {"xmlns": "m"}, "Operation": "Start"}}}});
        assert_eq!(normalize_windows(e)["Operation"], json!("Start"));
        let plain = json!({"EventID": 1});
        assert_eq!(normalize_windows(plain.clone()), plain);
    }
}
