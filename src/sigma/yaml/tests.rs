//! The fast reader against the reference reader: where it reads a text, it must give the
//! reference reader's values; where the reference reader fails, it must decline.

use proptest::prelude::*;
use serde::Deserialize;
use serde_yaml::Value;

use super::documents;

#[path = "../../../tests/mutate/mod.rs"]
mod mutate;

/// The reference reader's documents, or `None` when it fails anywhere in the stream.
fn reference(text: &str) -> Option<Vec<Value>> {
    serde_yaml::Deserializer::from_str(text)
        .map(Value::deserialize)
        .collect::<Result<Vec<_>, _>>()
        .ok()
}

/// Asserts the property for one text; returns whether the fast reader read it.
fn agree(text: &str) -> bool {
    let fast = documents(text);
    if let Some(f) = &fast {
        match reference(text) {
            Some(r) => assert!(
                same(f, &r),
                "readers differ on {text:?}:\n fast      {f:?}\n reference {r:?}"
            ),
            None => panic!("the reference reader fails on {text:?}, the fast one read {f:?}"),
        }
    }
    fast.is_some()
}

/// Value equality, with NaN equal to NaN (both readers give the same positive NaN).
fn same(a: &[Value], b: &[Value]) -> bool {
    format!("{a:?}") == format!("{b:?}") && a.len() == b.len()
}

#[test]
fn plain_scalars_resolve_as_the_reference_reader_does() {
    let named = [
        "",
        "~",
        "null",
        "Null",
        "NULL",
        "nULL",
        "true",
        "True",
        "TRUE",
        "tRue",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "0",
        "00",
        "007",
        "-0",
        "+0",
        "-01",
        "+1",
        "++1",
        "+-1",
        "-+1",
        "1_000",
        "0x1F",
        "0X1F",
        "0x-1",
        "0x+1",
        "-0x1F",
        "+0x1F",
        "-0x-1",
        "0o17",
        "0o8",
        "-0o17",
        "0b101",
        "-0b101",
        "0b2",
        "1e3",
        "1E3",
        "1.5",
        ".5",
        "5.",
        "-.5",
        "+.5",
        "1e400",
        "-1e400",
        ".inf",
        ".Inf",
        ".INF",
        "-.inf",
        "+.inf",
        "-.Inf",
        ".nan",
        ".NaN",
        ".NAN",
        "+.nan",
        "-.nan",
        "inf",
        "nan",
        "NaN",
        "Infinity",
        "-infinity",
        "1e",
        "e1",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456",
        "-170141183460469231731687303715884105729",
        "0xFFFFFFFFFFFFFFFFF",
        "1.0e+3",
        "0.",
        "0.0",
        "-0.0",
        "00.5",
        "1:2",
        "12:30:00",
        "2024-01-01",
        "0x",
        "0o",
        "0b",
        "-",
        ".",
        "..",
        "1..2",
        "1,000",
        "١٢",
        "4624",
        "0001",
        "1 2",
        "- 1",
    ];
    let mut declined = Vec::new();
    for s in named {
        if !agree(&format!("k: {s}\n")) {
            declined.push(s);
        }
        agree(&format!("- {s}\n"));
        agree(&format!("{{k: {s}}}\n"));
        agree(&format!("'{s}': v\n"));
        agree(&format!("k: '{s}'\nj: \"{s}\"\n"));
    }
    // Integers only 128 bits hold (the reference reader refuses them), and a syntax error.
    assert_eq!(
        declined,
        [
            "18446744073709551616",
            "-9223372036854775809",
            "340282366920938463463374607431768211455",
            "0xFFFFFFFFFFFFFFFFF",
            "-",
            "- 1"
        ]
    );
}

#[test]
fn every_short_number_like_scalar_resolves_as_the_reference_reader_does() {
    let alphabet: Vec<char> = "019+-.eExXoObB_in".chars().collect();
    let mut n = 0;
    let mut words = vec![String::new()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for w in &words {
            for c in &alphabet {
                let s = format!("{w}{c}");
                agree(&format!("k: {s}\n"));
                n += 1;
                next.push(s);
            }
        }
        words = next;
    }
    assert!(n > 80_000, "{n} scalars");
}

#[test]
fn shapes_read_as_the_reference_reader_reads_them() {
    let read = [
        "",
        "# only a comment\n",
        "---\n",
        "---\n...\n---\n",
        "...\n- x\n",
        "a: 1\n---\nb: 2\n",
        "a: 1\n...\n",
        "%YAML 1.1\n---\na: 1\n",
        "title: t\r\ndetection:\r\n    sel:\r\n        Image: 'x'\r\n",
        "a: \"tab\\there\"\nb: 'it''s'\nc: \"\\x41\\u0041\\U00000041\\\\\\\"\\/\"\n",
        "a: \"\\N\\_\\L\\P\\0\\a\\b\\e\\f\\r\\v \"\n",
        "a: |\n  x\n  y\nb: |-\n  x\n\nc: |+\n  x\n\nd: >\n  x\n  y\n\n  z\ne: >-\n  x\n",
        "a: |2\n    x\n  y\n",
        "a: {b: 1, c: [1, 2, {d: e}]}\n",
        "a: [x, 'y', \"z\", ]\n",
        "? a\n: 1\n? [b, c]\n: 2\n",
        "'a|contains': x\n\"b|re\": '.*'\n",
        "a: plain\n  folded\n  over lines\n",
        "a: 'single\n  folded'\nb: \"double\\\n  joined\"\n",
        "a:\n- 1\n- 2\nb:\n  - - x\n    - y\n",
        "a: 1 # comment\n# comment\nb: 2\n",
        "é: ü\n\"\\u00e9\": x\n",
        "a: x #not: a comment\nb: x#y\n",
        "1: a\n2.5: b\ntrue: c\n~: d\n",
        "a: \tx\n",
        "a:\n\tb\n",
        "- a\n -b\n",
        "a: 'x' y\n",
        "a: [1, 2\n",
        "a: *x\n",
        "{a: 1, a: 2}\n",
        "a: 1\na: 2\n",
    ];
    for t in read {
        agree(t);
    }
}

#[test]
fn what_the_readers_could_disagree_on_is_declined() {
    for t in [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: !custom x\n",
        "a: !!binary aGVsbG8=\n",
        "a: 1\na: 2\n",
        "a: 99999999999999999999\n",
        "a: -99999999999999999999\n",
        "a: \"x\u{2028}y\"\n",
        "\u{feff}a: 1\n",
        "a: [1, 2\n",
    ] {
        assert!(documents(t).is_none(), "{t:?} read");
        agree(t);
    }
    let deep = format!("a: {}1{}\n", "[".repeat(100), "]".repeat(100));
    assert!(documents(&deep).is_none());
}

/// Every fixture, and the SigmaHQ catalog beside the project, read alike; nearly all of it
/// by the fast reader (else loading would not be faster).
#[test]
fn fixtures_and_catalog_read_alike() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![root.join("rules")];
    let corpus = root.join("../shared/corpus/sigma");
    if corpus.is_dir() {
        roots.push(corpus);
    } else {
        eprintln!(
            "skipping the SigmaHQ catalog: {} is missing",
            corpus.display()
        );
    }
    let files = crate::sigma::collect_files(&roots);
    let (mut fast, mut all) = (0usize, 0usize);
    for p in &files {
        let Ok(text) = std::fs::read_to_string(p) else {
            continue;
        };
        all += 1;
        fast += usize::from(agree(&text));
    }
    assert!(all > 100, "{all} files");
    assert!(fast * 100 >= all * 99, "{fast} of {all} read fast");
}

fn fixtures() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    crate::sigma::collect_files(&[root])
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Fixtures with random edits of YAML punctuation: wherever the fast reader still reads
    /// the text, it reads what the reference reader reads.
    #[test]
    fn mutated_fixtures_read_alike(
        pick in any::<prop::sample::Index>(),
        edits in mutate::edits(vec![
            ' ', '\n', ':', '-', '|', '>', '*', '&', '!', '?', '\\', '%', '\'', '"', '[', ']', '{',
            '}', ',', '#', '0', 'a', '.', '\t', '\r', 'é', '~',
        ]),
    ) {
        let all = fixtures();
        agree(&mutate::apply(&all[pick.index(all.len())], &edits));
    }

    /// Lines of YAML-ish text from a small vocabulary.
    #[test]
    fn yaml_like_lines_read_alike(lines in prop::collection::vec(
        (0usize..4, prop::sample::select(vec![
            "a:", "- x", "b: 1", "- - y", "c: |", "d: >-", "e: [1, 'z']", "'f': \"g\"", "? h",
            ": i", "j: 0x1f", "k: -.5", "l: ~", "m: 'n", "o\"", "p: q # r", "---", "...", "  s",
            "t: {u: v}", "w: x: y", "- z:", "\"a\\tb\": c",
        ])),
        0..12,
    )) {
        let text: String = lines
            .iter()
            .map(|(indent, l)| format!("{}{l}\n", "  ".repeat(*indent)))
            .collect();
        agree(&text);
    }
}

#[test]
fn declined_text_is_found_wherever_it_is() {
    for bad in ["\t", "\u{85}", "\u{2028}", "\u{2029}", "\u{feff}"] {
        for text in [
            format!("{bad}a: 1\n"),
            format!("a: 1\n{bad}"),
            format!("é: ü{bad}x\n"),
        ] {
            assert!(super::declined_text(text.as_bytes()), "{text:?}");
        }
    }
    for text in ["...\n", "a: 1\n...\n", "a: 1\n... # end\nb: 2\n"] {
        assert!(super::declined_text(text.as_bytes()), "{text:?}");
    }
    for ok in [
        "a: 1\n",
        "é: \u{84}\u{2027}\u{fefe}ü\n",
        "a: x...\n",
        "a: ..\n",
        "",
    ] {
        assert!(!super::declined_text(ok.as_bytes()), "{ok:?}");
    }
}
