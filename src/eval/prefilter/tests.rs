use super::witness::hir_witness;
use super::*;

fn w(re: &str) -> Option<Vec<String>> {
    hir_witness(&regex_syntax::Parser::new().parse(re).unwrap())
}

/// The gram scan finds exactly the needles an ASCII case-insensitive substring search
/// finds: short and long needles, at the start and end of values, overlapping, shared
/// grams, non-ASCII.
#[test]
fn gram_scan_is_exact() {
    let needles = [
        "ab",
        "abc",
        "abcd",
        "bcde",
        "cdef",
        "xabcdx",
        "\\system32\\",
        "32\\cmd",
        "é€x",
        "ééé",
        "aaaa",
        "aaab",
        "exe",
    ];
    let mut map = BTreeMap::new();
    for (i, n) in needles.iter().enumerate() {
        map.insert((*n).to_string(), vec![u32::try_from(i).unwrap()]);
    }
    let mut freq = FxMap::default();
    freq.insert(gram_of(b"abcd"), 5);
    let scan = Scan::build(map, &freq);
    let texts = [
        "",
        "a",
        "ab",
        "ABC",
        "xAbCdEf",
        "c:\\windows\\System32\\cmd.exe",
        "aaaaab",
        "é€xé",
        "éééé",
        "zzzxabcdx",
        "abcdeABCDEF",
        "aaa",
        "bcd",
        "EXE",
    ];
    for t in texts {
        let mut marks = Marks::default();
        marks.rule_stamp.resize(needles.len(), 0);
        marks.stamp = 1;
        scan.mark(t, &mut marks);
        let mut got = marks.candidates.clone();
        got.sort_unstable();
        let want: Vec<u32> = (0..needles.len())
            .filter(|&i| t.to_ascii_lowercase().contains(needles[i]))
            .map(|i| u32::try_from(i).unwrap())
            .collect();
        assert_eq!(got, want, "{t:?}");
    }
}

#[test]
fn scalar_text_on_the_stack() {
    use crate::eval::matcher::scalar_text;
    for v in [
        serde_json::json!(4688),
        serde_json::json!(-1),
        serde_json::json!(u64::MAX),
        serde_json::json!(1.5e300),
        serde_json::json!(-0.000_000_123_456_789_012_345_6),
        serde_json::json!(true),
        serde_json::json!("text"),
        serde_json::json!(null),
    ] {
        let v = Val::from_value(&v);
        assert_eq!(with_scalar_text(&v, str::to_string), scalar_text(&v), "{v}");
    }
}

#[test]
fn regex_witnesses() {
    assert_eq!(
        w(r#"(?i)\.exe["']?\s+[^"]{0,64}werfaultsecure\.exe"#),
        Some(vec!["werfaultsecure.exe".to_string()])
    );
    assert_eq!(w(r"\w+`(?:\w+|-|.)`[\w+|\s]"), Some(vec!["`".to_string()]));
    assert_eq!(
        w(r"(?:abc|XYZ)+d"),
        Some(vec!["abc".to_string(), "xyz".to_string()])
    );
    assert_eq!(w(r"a*"), None);
    assert_eq!(w(r"^(a|b*)$"), None);
    assert_eq!(w(r"(?i)K"), Some(vec!["k".to_string()]));
    // ſ (long s) and the Kelvin sign are in the case classes of `s` and `k`, and fold
    // with them.
    assert_eq!(w(r"(?i)ask"), Some(vec!["ask".to_string()]));
    assert_eq!(w(r"[aä]b"), Some(vec!["ab".to_string(), "äb".to_string()]));
    assert_eq!(w(r"[a-z]"), None);
}

/// The rolled grams are the grams of every window, case folded, for ASCII and other bytes.
#[test]
fn rolled_grams_are_the_windows_grams() {
    for s in ["abcd", "ABCDefgh", "\\System32\\cmd.exe", "é€xÉ", "aaaaaaa"] {
        let b = s.as_bytes();
        let want: Vec<u32> = b.windows(GRAM).map(gram_of).collect();
        assert_eq!(grams(b).collect::<Vec<_>>(), want, "{s}");
    }
}
