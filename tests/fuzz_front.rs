//! Property tests: whatever bytes or YAML shapes reach the front end, it returns results and
//! never panics.

use proptest::prelude::*;
use serde_yaml::{Mapping, Value};
use sigmat::sigma;

#[path = "mutate/mod.rs"]
mod mutate;

/// Keys that look like Sigma field keys with modifier chains.
fn field_key() -> impl Strategy<Value = String> {
    let fields = prop::sample::select(vec!["Image", "CommandLine", "EventID", "", "a.b", "x y"]);
    let mods = prop::collection::vec(
        prop::sample::select(vec![
            "contains",
            "startswith",
            "endswith",
            "all",
            "windash",
            "base64",
            "base64offset",
            "wide",
            "utf16le",
            "utf16be",
            "utf16",
            "re",
            "i",
            "m",
            "s",
            "cidr",
            "lt",
            "lte",
            "gt",
            "gte",
            "exists",
            "cased",
            "neq",
            "fieldref",
            "expand",
            "minute",
            "hour",
            "day",
            "week",
            "month",
            "year",
            "endswit",
            "",
            "ALL",
        ]),
        0..4,
    );
    (fields, mods).prop_map(|(f, m)| {
        let mut k = f.to_string();
        for x in m {
            k.push('|');
            k.push_str(x);
        }
        k
    })
}

/// Scalars that stress values: wildcards, escapes, placeholders, dashes, numbers, networks.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "*",
            "?",
            "\\",
            "\\\\*",
            "a\\*b",
            "%x%",
            "\\%",
            "%%",
            "-a /b -c",
            "10.0.0.0/8",
            "::1/129",
            "(",
            "[a-",
            "00000429",
            "1e999",
            "-0",
            "true",
            "é—x",
            "a\u{0}b",
            "-a -b -c -d -e -f -g",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        any::<String>().prop_map(Value::String),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_map(|n| Value::Number(n.into())),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

/// Condition-like strings.
fn condition() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "sel", "sel*", "and", "or", "not", "1", "all", "any", "of", "them", "(", ")", "|",
        "count()", ">", "near", "_x", "filter", "*",
    ]);
    prop::collection::vec(words, 0..12).prop_map(|w| w.join(" "))
}

/// Nested YAML values with modifier-ish keys.
fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Sequence),
            prop::collection::vec((field_key(), inner), 0..4).prop_map(|kv| {
                let mut m = Mapping::new();
                for (k, v) in kv {
                    m.insert(Value::String(k), v);
                }
                Value::Mapping(m)
            }),
        ]
    })
}

/// Whole documents: rule, correlation or filter shapes with random parts.
fn document() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["detection", "correlation", "filter", "action"]),
        prop::collection::vec(
            (
                prop::sample::select(vec!["sel", "sel1", "_x", "filter", "timeframe", "rules"]),
                value(),
            ),
            0..4,
        ),
        prop_oneof![condition().prop_map(Value::String), value()],
        any::<bool>(),
    )
        .prop_map(|(kind, ids, cond, with_title)| {
            let mut d = Mapping::new();
            for (k, v) in ids {
                d.insert(Value::String(k.to_string()), v);
            }
            d.insert(Value::String("condition".into()), cond);
            let mut root = Mapping::new();
            if with_title {
                root.insert("title".into(), "t".into());
            }
            let mut ls = Mapping::new();
            ls.insert("product".into(), "windows".into());
            root.insert("logsource".into(), Value::Mapping(ls));
            match kind {
                "action" => {
                    root.insert("action".into(), "global".into());
                    root.insert("detection".into(), Value::Mapping(d));
                }
                "correlation" => {
                    let mut c = d;
                    c.insert("type".into(), "event_count".into());
                    c.insert("timespan".into(), "5m".into());
                    root.insert("correlation".into(), Value::Mapping(c));
                }
                other => {
                    root.insert(other.into(), Value::Mapping(d));
                }
            }
            Value::Mapping(root)
        })
}

fn check(src: &str) {
    let results = sigma::parse_str(src, Some("fuzz.yml"));
    for r in results {
        if let Err(e) = r {
            assert!(!e.render().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_yaml_shapes_never_panic(docs in prop::collection::vec(document(), 1..4)) {
        let text = docs
            .iter()
            .map(|d| serde_yaml::to_string(d).expect("serializes"))
            .collect::<Vec<_>>()
            .join("---\n");
        check(&text);
    }

    #[test]
    fn random_detection_values_never_panic(v in value(), cond in condition()) {
        let mut det = Mapping::new();
        det.insert("sel".into(), v);
        det.insert("condition".into(), Value::String(cond));
        let mut root = Mapping::new();
        root.insert("title".into(), "t".into());
        root.insert("logsource".into(), Value::Mapping(Mapping::new()));
        root.insert("detection".into(), Value::Mapping(det));
        check(&serde_yaml::to_string(&Value::Mapping(root)).expect("serializes"));
    }

    #[test]
    fn yaml_like_text_never_panics(lines in prop::collection::vec(
        prop::sample::select(vec![
            "title: t", "detection:", "    sel:", "        Image|endswith: x", "    condition: sel",
            "---", "- a", "  - b", "logsource: {}", "action: repeat", "action: global",
            "correlation:", "    type: temporal", "    rules: [a]", "    timespan: 1h", "filter:",
            "    rules: any", "&a x", "*a", "? k", ": v", "'", "\"", "\t", "key: |", "  text",
        ]),
        0..24,
    )) {
        check(&lines.join("\n"));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "title: t\nlogsource: {{}}\ndetection:\n    sel: {}x{}\n    condition: sel\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    check(&deep);
    let cond = format!(
        "title: t\nlogsource: {{}}\ndetection:\n    sel: x\n    condition: {}sel{}\n",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let r = sigma::parse_str(&cond, None);
    assert!(r[0].is_err());
    let nots = format!(
        "title: t\nlogsource: {{}}\ndetection:\n    sel: x\n    condition: {}sel\n",
        "not ".repeat(5000)
    );
    assert!(sigma::parse_str(&nots, None)[0].is_err());
}

/// Every fixture under `rules/`, as text.
fn fixtures() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    sigma::collect_files(&[root])
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Fixtures with random edits (deletions, insertions of YAML and Sigma punctuation,
    /// replacements) reach deep into the front end; it must still never panic.
    #[test]
    fn mutated_fixtures_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in mutate::edits(vec![
            ' ', '\n', ':', '-', '|', '*', '?', '\\', '%', '\'', '"', '[', ']', '{', '}', '#', '0',
            'a', '(', ')', '\t', 'é',
        ]),
    ) {
        let all = fixtures();
        check(&mutate::apply(&all[pick.index(all.len())], &edits));
    }
}

/// Nesting 100,000 deep, in flow sequences, flow mappings and compact block sequences, is
/// rejected at once (the YAML scanner is quadratic in the depth: 37 s for this before the
/// pre-scan), with the position where it passes the limit.
#[test]
fn deep_yaml_nesting_is_rejected_quickly_and_located() {
    let hdr = "title: t\nlogsource: {}\ndetection:\n    sel:\n        Image: ";
    let n = 100_000;
    let cases = [
        format!(
            "{hdr}{}x{}\n    condition: sel\n",
            "[".repeat(n),
            "]".repeat(n)
        ),
        format!(
            "{hdr}{}x{}\n    condition: sel\n",
            "{a: ".repeat(n),
            "}".repeat(n)
        ),
        format!("{hdr}\n          {}x\n    condition: sel\n", "- ".repeat(n)),
        format!(
            "{hdr}{}x{}\n    condition: sel\n",
            "[".repeat(2 * n),
            "]".repeat(2 * n)
        ),
    ];
    for (i, src) in cases.iter().enumerate() {
        let start = std::time::Instant::now();
        let r = sigma::parse_str(src, Some("deep.yml"));
        let took = start.elapsed();
        assert!(took.as_secs_f64() < 2.0, "case {i}: {took:?}");
        assert_eq!(r.len(), 1, "case {i}");
        let e = r[0].as_ref().expect_err("too deep");
        assert_eq!(e.kind.code(), "yaml", "case {i}: {e:?}");
        assert!(
            e.to_string().contains("nesting deeper than 128 levels"),
            "{e}"
        );
        assert_eq!(e.location.file.as_deref(), Some("deep.yml"));
        assert_eq!(
            e.location.line,
            Some(if i == 2 { 6 } else { 5 }),
            "case {i}"
        );
        assert!(e.location.column.is_some());
    }
    // The documents before a deep one are read; the deep one is named.
    let two = format!(
        "title: ok\nlogsource: {{}}\ndetection:\n    sel: x\n    condition: sel\n---\n{}",
        cases[0]
    );
    let r = sigma::parse_str(&two, None);
    assert_eq!(r.len(), 2);
    assert!(r[0].is_ok(), "{:?}", r[0]);
    assert_eq!(r[1].as_ref().expect_err("deep").location.line, Some(11));
}

/// A condition error quotes a short excerpt of a long condition, not all of it.
#[test]
fn condition_errors_quote_an_excerpt() {
    let cond = format!(
        "title: t\nlogsource: {{}}\ndetection:\n    sel: x\n    condition: {}sel{}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let r = sigma::parse_str(&cond, None);
    let e = r[0].as_ref().expect_err("too deep");
    let text = e.render();
    assert!(
        text.len() < 400,
        "{} bytes: {}",
        text.len(),
        &text[..400.min(text.len())]
    );
    assert!(
        text.contains("nesting too deep at offset 65 in `…((("),
        "{text}"
    );
    let json = serde_json::to_string(e).expect("serializes");
    assert!(json.len() < 600, "{} bytes", json.len());
}

/// Documents of every shape the YAML serializer writes, nested up to 100 levels, pass the
/// nesting pre-scan (which must never count more levels than a document has).
fn nested(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::String("[x{".into())),
        Just(Value::String("- ? : #".into())),
        Just(Value::String("a\nb\n  [c".into())),
        Just(Value::Null),
        Just(Value::Number(7.into())),
    ];
    leaf.prop_recursive(depth, depth * 3, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(Value::Sequence),
            prop::collection::vec(
                (prop::sample::select(vec!["k", "a b", "[k", "k:x"]), inner),
                1..3
            )
            .prop_map(|kv| {
                Value::Mapping(
                    kv.into_iter()
                        .map(|(k, v)| (Value::String(k.into()), v))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn serialized_yaml_is_never_too_deep(v in nested(100)) {
        let text = serde_yaml::to_string(&v).expect("serializes");
        for r in sigma::parse_str(&text, None) {
            if let Err(e) = r {
                prop_assert!(!e.to_string().contains("nesting deeper"), "{e}\n{text}");
            }
        }
    }
}

#[test]
fn serialized_yaml_nested_to_the_limit_passes_the_pre_scan() {
    for shape in 0..4 {
        let mut v = Value::String("[x".into());
        for i in 0..120 {
            v = if (i + shape) % 2 == 0 || shape == 3 {
                Value::Sequence(vec![v, Value::Null])
            } else {
                let mut m = Mapping::new();
                m.insert("k".into(), v);
                Value::Mapping(m)
            };
        }
        let text = serde_yaml::to_string(&v).expect("serializes");
        for r in sigma::parse_str(&text, None) {
            if let Err(e) = r {
                assert!(
                    !e.to_string().contains("nesting deeper"),
                    "shape {shape}: {e}"
                );
            }
        }
    }
}
