//! The evaluator's view of a JSON event ([`Val`]), field lookup on it, and the normalisation
//! of Windows event JSON.
//!
//! [`Val`] is JSON as the evaluator reads it: strings borrow from the input text when they hold
//! no escape, objects are vectors of entries (no hashing while parsing). It exists for speed:
//! parsing a line into it costs about half of parsing into `serde_json::Value`. It means the
//! same as `serde_json::Value` with `preserve_order`: a key given twice keeps its first place
//! and its last value, numbers are `serde_json::Number`s. [`AsEvent`] lets the evaluator take a
//! `serde_json::Value` as well.
//!
//! A field name is a key path: `process.name` is found as the flat key `"process.name"` or as
//! the nested path `process` → `name`; the flat key wins at every level. An array met on the way
//! is searched element by element, so a path may resolve to several values.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// A JSON value as the evaluator reads it (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Num(Number),
    /// A string, borrowed from the input when it held no escape.
    Str(Cow<'a, str>),
    /// An array.
    Arr(Vec<Val<'a>>),
    /// An object: its entries in input order, each key once.
    Obj(Vec<(Cow<'a, str>, Val<'a>)>),
}

/// An event the evaluator can read: a [`Val`] as it is, a `serde_json::Value` through a
/// borrowed [`Val`] view.
pub trait AsEvent {
    /// The event as a [`Val`].
    fn as_event(&self) -> Cow<'_, Val<'_>>;
}

impl AsEvent for Val<'_> {
    fn as_event(&self) -> Cow<'_, Val<'_>> {
        Cow::Borrowed(self)
    }
}

impl<T: AsEvent + ?Sized> AsEvent for &T {
    fn as_event(&self) -> Cow<'_, Val<'_>> {
        (**self).as_event()
    }
}

impl AsEvent for Value {
    fn as_event(&self) -> Cow<'_, Val<'_>> {
        Cow::Owned(Val::from_value(self))
    }
}

impl<'a> Val<'a> {
    /// Parses one JSON text, borrowing its unescaped strings.
    ///
    /// # Errors
    /// The parser's error (with line and column) when `text` is not one JSON value.
    pub fn parse(text: &'a str) -> serde_json::Result<Val<'a>> {
        serde_json::from_str(text)
    }

    /// A view of a `serde_json::Value` (strings borrowed).
    #[must_use]
    pub fn from_value(v: &'a Value) -> Val<'a> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(n.clone()),
            Value::String(s) => Val::Str(Cow::Borrowed(s)),
            Value::Array(xs) => Val::Arr(xs.iter().map(Val::from_value).collect()),
            Value::Object(m) => Val::Obj(
                m.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Val::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// The same value, owning its strings.
    #[must_use]
    pub fn into_owned(self) -> Val<'static> {
        match self {
            Val::Null => Val::Null,
            Val::Bool(b) => Val::Bool(b),
            Val::Num(n) => Val::Num(n),
            Val::Str(s) => Val::Str(Cow::Owned(s.into_owned())),
            Val::Arr(xs) => Val::Arr(xs.into_iter().map(Val::into_owned).collect()),
            Val::Obj(es) => Val::Obj(
                es.into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                    .collect(),
            ),
        }
    }

    /// The same value as a `serde_json::Value` (for output).
    #[must_use]
    pub fn to_value(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Num(n) => Value::Number(n.clone()),
            Val::Str(s) => Value::String(s.to_string()),
            Val::Arr(xs) => Value::Array(xs.iter().map(Val::to_value).collect()),
            Val::Obj(es) => Value::Object(
                es.iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }

    /// The string, when this is one.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is `null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// Whether this is an object.
    #[must_use]
    pub fn is_object(&self) -> bool {
        matches!(self, Val::Obj(_))
    }

    /// The value of `key`, when this is an object holding it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Val<'a>> {
        match self {
            Val::Obj(es) => get(es, key),
            _ => None,
        }
    }
}

/// The value's JSON text.
impl fmt::Display for Val<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

fn get<'v, 'a>(es: &'v [(Cow<'a, str>, Val<'a>)], key: &str) -> Option<&'v Val<'a>> {
    es.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Sets `key` to `v` in an object's entries: replaces the value in place when the key is
/// there, appends otherwise.
fn insert<'a>(es: &mut Vec<(Cow<'a, str>, Val<'a>)>, key: Cow<'a, str>, v: Val<'a>) {
    match es.iter_mut().find(|(k, _)| *k == key) {
        Some(e) => e.1 = v,
        None => es.push((key, v)),
    }
}

/// Appends `key` with `v` unless the key is there.
fn insert_missing<'a>(es: &mut Vec<(Cow<'a, str>, Val<'a>)>, key: Cow<'a, str>, v: Val<'a>) {
    if get(es, &key).is_none() {
        es.push((key, v));
    }
}

impl<'de> Deserialize<'de> for Val<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Val<'de>, E> {
        Ok(Val::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Val<'de>, E> {
        Ok(Val::Num(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Val<'de>, E> {
        Ok(Val::Num(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Val<'de>, E> {
        Ok(Number::from_f64(n).map_or(Val::Null, Val::Num))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(s)))
    }
    fn visit_unit<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_none<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Val<'de>, D::Error> {
        Val::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val<'de>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Val::Arr(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val<'de>, A::Error> {
        let mut out: Vec<(Cow<'de, str>, Val<'de>)> = Vec::with_capacity(16);
        // One bit per (length, first byte) class of the keys so far: a key whose bit is clear
        // is new, so the scan for a repeated key runs only on a collision.
        let mut seen = 0u64;
        while let Some(Key(k)) = map.next_key()? {
            let v: Val<'de> = map.next_value()?;
            let class = (k.len() as u64)
                .wrapping_mul(31)
                .wrapping_add(u64::from(k.as_bytes().first().copied().unwrap_or(0)))
                & 63;
            if seen & (1 << class) != 0 {
                insert(&mut out, k, v);
            } else {
                seen |= 1 << class;
                out.push((k, v));
            }
        }
        Ok(Val::Obj(out))
    }
}

/// An object key, borrowed from the input when it held no escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Calls `f` on every value the key path `path` resolves to in `event` (none when missing).
/// Arrays at the end of the path are *not* expanded here; see [`for_each_leaf`].
pub fn resolve<'v, 'a>(event: &'v Val<'a>, path: &str, f: &mut dyn FnMut(&'v Val<'a>)) {
    match event {
        Val::Obj(es) => resolve_in(es, path, f),
        Val::Arr(xs) => xs.iter().for_each(|x| resolve(x, path, f)),
        _ => {}
    }
}

fn resolve_in<'v, 'a>(
    es: &'v [(Cow<'a, str>, Val<'a>)],
    path: &str,
    f: &mut dyn FnMut(&'v Val<'a>),
) {
    if let Some(v) = get(es, path) {
        f(v);
        return;
    }
    // Nested: split at each dot, left to right; the first split that exists is used.
    for (i, _) in path.match_indices('.') {
        if let Some(inner) = get(es, &path[..i]) {
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

/// Whether `path` has a value in the IR's sense: it resolves to at least one value that is not
/// `null`, arrays counted through their elements (`null`, `[]` and `[null]` are no value).
#[must_use]
pub fn has_value(event: &Val<'_>, path: &str) -> bool {
    let mut found = false;
    resolve(event, path, &mut |v| {
        found = found || for_each_leaf(v, &mut |x| !x.is_null());
    });
    found
}

/// Calls `f` on `v`, or on every element of `v` when it is an array (nested arrays flattened).
pub fn for_each_leaf<'v, 'a>(v: &'v Val<'a>, f: &mut dyn FnMut(&'v Val<'a>) -> bool) -> bool {
    match v {
        Val::Arr(xs) => xs.iter().any(|x| for_each_leaf(x, f)),
        v => f(v),
    }
}

/// Calls `f` on every string value anywhere in `v` (object values and array elements, at any
/// depth; keys are not values). Stops and returns `true` as soon as `f` does.
pub fn any_string(v: &Val<'_>, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match v {
        Val::Str(s) => f(s),
        Val::Arr(xs) => xs.iter().any(|x| any_string(x, f)),
        Val::Obj(es) => es.iter().any(|(_, x)| any_string(x, f)),
        Val::Null | Val::Bool(_) | Val::Num(_) => false,
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
pub fn normalize_windows(v: Val<'_>) -> Val<'_> {
    let Val::Obj(mut top) = v else { return v };
    let Some(at) = top
        .iter()
        .position(|(k, e)| k == "Event" && e.get("System").is_some_and(Val::is_object))
    else {
        return Val::Obj(top);
    };
    let (event_key, event) = top.remove(at);
    let mut out = Vec::with_capacity(top.len() + 32);
    if let Some(Val::Obj(sys)) = event.get("System") {
        for e in sys {
            system_entry(e, &mut out);
        }
    }
    if let Some(Val::Obj(d)) = event.get("EventData") {
        data_entries(d, &mut out);
    }
    if let Some(Val::Obj(d)) = event.get("UserData") {
        // UserData holds one element named after the event; take its children.
        for (_, child) in d {
            if let Val::Obj(c) = child {
                data_entries(c, &mut out);
            }
        }
    }
    for (k, v) in top {
        insert_missing(&mut out, k, v);
    }
    insert(&mut out, event_key, event);
    let spaced: Vec<(String, Val<'_>)> = out
        .iter()
        .filter(|(k, _)| k.contains(' '))
        .map(|(k, v)| (k.replace(' ', ""), v.clone()))
        .collect();
    for (k, v) in spaced {
        insert_missing(&mut out, Cow::Owned(k), v);
    }
    Val::Obj(out)
}

/// One `System` entry (key and value) into `out`.
fn system_entry<'a>((k, v): &(Cow<'a, str>, Val<'a>), out: &mut Vec<(Cow<'a, str>, Val<'a>)>) {
    match v {
        Val::Obj(_) => {
            if let Some(t) = v.get("#text") {
                insert(out, k.clone(), t.clone());
            }
            if let Some(Val::Obj(attrs)) = v.get("#attributes") {
                for (a, av) in attrs {
                    insert(out, Cow::Owned(format!("{k}_{a}")), av.clone());
                }
            }
        }
        v => insert(out, k.clone(), v.clone()),
    }
}

fn data_entries<'a>(d: &[(Cow<'a, str>, Val<'a>)], out: &mut Vec<(Cow<'a, str>, Val<'a>)>) {
    for (k, v) in d {
        if k == "#attributes" {
            continue;
        }
        if k == "Data" {
            if let Some(named) = named_data(v) {
                for (n, t) in named {
                    insert(out, n, t);
                }
                continue;
            }
        }
        insert(out, k.clone(), v.clone());
    }
}

/// `Data: [{"#attributes": {"Name": n}, "#text": v}, …]` (or a single such object) → pairs.
fn named_data<'a>(v: &Val<'a>) -> Option<Vec<(Cow<'a, str>, Val<'a>)>> {
    let items: Vec<&Val<'a>> = match v {
        Val::Arr(xs) => xs.iter().collect(),
        Val::Obj(_) => vec![v],
        _ => return None,
    };
    let mut out = Vec::new();
    for it in items {
        let Some(Val::Str(name)) = it.get("#attributes")?.get("Name") else {
            return None;
        };
        out.push((name.clone(), it.get("#text").cloned().unwrap_or(Val::Null)));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(e: &Value, p: &str) -> Vec<Value> {
        let e = Val::from_value(e);
        let mut v = Vec::new();
        resolve(&e, p, &mut |x| v.push(x.to_value()));
        v
    }

    fn norm(e: &Value) -> Value {
        normalize_windows(Val::from_value(e)).to_value()
    }

    #[test]
    fn flat_and_nested_keys_flat_wins() {
        let e = json!({"process.name": "flat", "process": {"name": "nested", "pid": 4}});
        assert_eq!(all(&e, "process.name"), vec![json!("flat")]);
        assert_eq!(all(&e, "process.pid"), vec![json!(4)]);
        assert!(all(&e, "process.missing").is_empty());
        let e = json!({"a": {"b.c": 1, "b": {"c": 2}}});
        assert_eq!(all(&e, "a.b.c"), vec![json!(1)]);
    }

    #[test]
    fn arrays_on_the_path_are_searched() {
        let e = json!({"dns": {"answers": [{"data": "x"}, {"data": "y"}, {"other": 1}]}});
        assert_eq!(all(&e, "dns.answers.data"), vec![json!("x"), json!("y")]);
    }

    #[test]
    fn null_is_no_value() {
        let e = json!({"a": null, "b": [], "c": [null, [null]], "d": [null, "x"], "e": 0,
            "f": {"g": null}});
        let e = Val::from_value(&e);
        for (path, want) in [
            ("a", false),
            ("b", false),
            ("c", false),
            ("d", true),
            ("e", true),
            ("f", true),
            ("f.g", false),
            ("missing", false),
        ] {
            assert_eq!(has_value(&e, path), want, "{path}");
        }
    }

    #[test]
    fn parse_means_what_serde_json_value_means() {
        let texts = [
            r#"{"a": 1, "b": [true, null, -2, 3.5, 18446744073709551615], "c": {"d": "x\\y"}}"#,
            r#"{"k": 1, "ka": 2, "k": 3, "kb": {"z": [], "z": {}}}"#,
            r#"{"\u0041": "\u00e9\ud83d\ude00", "A": "plain", "": ""}"#,
            r#"["x", {"y": 1e400}]"#,
            r#""just a string""#,
            "1.0",
        ];
        for t in texts {
            let want: Result<Value, _> = serde_json::from_str(t);
            let got = Val::parse(t).map(|v| v.to_value());
            match (want, got) {
                (Ok(w), Ok(g)) => {
                    assert_eq!(g, w, "{t}");
                    // Same key order too.
                    assert_eq!(g.to_string(), w.to_string(), "{t}");
                }
                (Err(_), Err(_)) => {}
                (w, g) => panic!("{t}: serde_json {w:?}, Val {g:?}"),
            }
        }
        for bad in ["{\"a\":", "{\"a\" 1}", "[1,]", "", "{} x"] {
            assert!(Val::parse(bad).is_err(), "{bad}");
        }
        let v = Val::parse(r#"{"plain": "abc", "esc": "a\\b"}"#).unwrap();
        assert!(matches!(
            v.get("plain"),
            Some(Val::Str(Cow::Borrowed("abc")))
        ));
        assert!(matches!(v.get("esc"), Some(Val::Str(Cow::Owned(s))) if s == "a\\b"));
    }

    #[test]
    fn repeated_keys_keep_first_place_and_last_value() {
        // Keys of one (length, first byte) class and of colliding classes.
        let mut t = String::from("{");
        for i in 0..200 {
            t.push_str(&format!("\"k{}\": {i}, ", i % 70));
        }
        t.push_str("\"end\": 0}");
        let want: Value = serde_json::from_str(&t).unwrap();
        let got = Val::parse(&t).unwrap().to_value();
        assert_eq!(got.to_string(), want.to_string());
    }

    /// JSON text with repeated keys, escapes, non-ASCII, numbers of every kind and nesting.
    fn json_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let key = prop::sample::select(vec!["a", "b", "Image", r"k\\ey", r"\u00e9", "", "a.b"]);
        let leaf = prop_oneof![
            Just("null".to_string()),
            any::<bool>().prop_map(|b| b.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            (-1e300f64..1e300).prop_map(|f| format!("{f:e}")),
            "[ -~é\\u{1F600}]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""C:\\Windows\\x \"q\" \u00e9 \ud83d\ude00 \n""#.to_string()),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6)
                    .prop_map(|xs| format!("[{}]", xs.join(","))),
                prop::collection::vec((key.clone(), inner), 0..8).prop_map(|es| {
                    let es: Vec<String> = es.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                    format!("{{{}}}", es.join(", "))
                }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn parse_agrees_with_serde_json_value(t in json_text()) {
            let want: Value = serde_json::from_str(&t).expect("generated JSON is valid");
            let got = Val::parse(&t).expect("Val parses what Value parses");
            // Same values, same key order (first place, last value for a repeated key).
            proptest::prop_assert_eq!(got.to_value().to_string(), want.to_string());
            proptest::prop_assert_eq!(Val::from_value(&want), got);
        }
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
        let n = norm(&e);
        assert_eq!(n["Provider_Name"], json!("Microsoft-Windows-Sysmon"));
        assert_eq!(n["EventID"], json!(4688));
        assert_eq!(n["EventID_Qualifiers"], json!(0));
        assert_eq!(n["Execution_ProcessID"], json!(3208));
        assert_eq!(n["Channel"], json!("Security"));
        assert_eq!(n["Image"], json!("C:\\x.exe"));
        assert_eq!(n["ThreatName"], json!("Evil"));
        assert_eq!(n["Threat Name"], json!("Evil"));
        assert_eq!(all(&n, "Event.System.Channel"), vec![json!("Security")]);
    }

    #[test]
    fn windows_named_data_and_userdata() {
        let e = json!({"Event": {"System": {"EventID": 1},
            "EventData": {"Data": [{"#attributes": {"Name": "TargetUserName"}, "#text": "bob"}]}}});
        assert_eq!(norm(&e)["TargetUserName"], json!("bob"));
        let e = json!({"Event": {"System": {"EventID": 5858},
            "UserData": {"Op": {"#attributes": {"xmlns": "m"}, "Operation": "Start"}}}});
        assert_eq!(norm(&e)["Operation"], json!("Start"));
        let plain = json!({"EventID": 1});
        assert_eq!(norm(&plain), plain);
    }
}
