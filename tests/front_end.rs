//! Snapshots of the IR (or the rendered errors) of every fixture under `rules/`, plus
//! behaviour tests of the front end that snapshots alone would not pin down.

mod common;

use std::path::{Path, PathBuf};

use sigmat::error::ErrorKind;
use sigmat::ir::{self, CmpOp, Expr, Piece, Test};
use sigmat::sigma;

/// The fixture path relative to the crate, with `/` separators (stable across machines).
fn rel(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn fixtures() {
    common::snapshot_settings().bind(|| {
        insta::glob!("../rules", "**/*.yml", |path| {
            let name = rel(path);
            let text = std::fs::read_to_string(path).expect("fixture readable");
            let loaded = sigma::parse_str_with_warnings(&text, Some(&name));
            let results = loaded.documents;
            assert!(!results.is_empty(), "{name}: no documents");
            let any_err = results.iter().any(Result::is_err);
            let in_errors = name.starts_with("rules/errors/");
            assert_eq!(
                any_err, in_errors,
                "{name}: errors only (and always) under rules/errors/"
            );
            let parts: Vec<String> = results
                .iter()
                .map(|r| match r {
                    Ok(d) => sigmat::cli::inspect::to_yaml(d).expect("IR serializes"),
                    Err(e) => e.render() + "\n",
                })
                .collect();
            let mut out = parts.join("---\n");
            // The front end's warnings, after the documents.
            for w in &loaded.warnings {
                out.push_str(&format!(
                    "# {}\n",
                    w.warning.render_warning().replace('\n', "\n# ")
                ));
            }
            if any_err {
                insta::assert_snapshot!("error", out);
            } else {
                insta::assert_snapshot!("ir", out);
            }
        });
    });
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn parse_one(src: &str) -> Result<ir::Document, sigmat::error::Error> {
    let mut v = sigma::parse_str(src, Some("t.yml"));
    assert_eq!(v.len(), 1, "one document expected");
    v.pop().expect("one")
}

fn rule(det: &str) -> ir::Rule {
    let src = format!("title: t\nlogsource:\n    product: windows\ndetection:\n{det}");
    match parse_one(&src) {
        Ok(ir::Document::Rule(r)) => r,
        other => panic!("expected a rule, got {other:?}"),
    }
}

fn rule_err(det: &str) -> sigmat::error::Error {
    let src = format!("title: t\nlogsource:\n    product: windows\ndetection:\n{det}");
    parse_one(&src).expect_err("an error")
}

fn first_test(r: &ir::Rule) -> Test {
    let mut t = None;
    r.conditions[0].for_each_pred(&mut |p| {
        if t.is_none() {
            t = Some(p.test.clone());
        }
    });
    t.expect("a predicate")
}

#[test]
fn leading_zeros_stay_strings() {
    let r = rule("    sel:\n        Details|contains: 00000429\n        Code: 0042\n        N: 429\n    condition: sel\n");
    let Expr::And(items) = &r.conditions[0] else {
        panic!("and expected")
    };
    let tests: Vec<Test> = items
        .iter()
        .map(|e| match e {
            Expr::Pred(p) => p.test.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    match &tests[0] {
        Test::Str { pattern, .. } => assert_eq!(pattern.to_string(), "*00000429*"),
        t => panic!("{t:?}"),
    }
    match &tests[1] {
        Test::Str { pattern, .. } => assert_eq!(pattern.as_literal(), Some("0042")),
        t => panic!("{t:?}"),
    }
    match &tests[2] {
        Test::Num { op, value } => {
            assert_eq!(*op, CmpOp::Eq);
            assert_eq!(value.text, "429");
        }
        t => panic!("{t:?}"),
    }
}

#[test]
fn all_keeps_expansions_ored_per_value() {
    let r = rule("    sel:\n        CommandLine|contains|windash|all:\n            - '-a'\n            - '-b'\n    condition: sel\n");
    let Expr::And(vals) = &r.conditions[0] else {
        panic!("and of values expected: {:?}", r.conditions[0])
    };
    assert_eq!(vals.len(), 2);
    for v in vals {
        let Expr::Or(variants) = v else {
            panic!("or of variants expected")
        };
        assert_eq!(variants.len(), 5);
    }
}

#[test]
fn neq_wraps_the_item_in_not() {
    let r =
        rule("    sel:\n        User|neq:\n            - a\n            - b\n    condition: sel\n");
    match &r.conditions[0] {
        Expr::Not(inner) => assert!(matches!(**inner, Expr::Or(ref xs) if xs.len() == 2)),
        e => panic!("{e:?}"),
    }
}

#[test]
fn keywords_are_contains_and_expand_makes_placeholders() {
    let r = rule("    kw:\n        - 'evil'\n    condition: kw\n");
    match first_test(&r) {
        Test::Str { pattern, .. } => assert_eq!(pattern.to_string(), "*evil*"),
        t => panic!("{t:?}"),
    }
    let r = rule("    sel:\n        User|expand: '%Admins%'\n    condition: sel\n");
    match first_test(&r) {
        Test::Str { pattern, .. } => {
            assert_eq!(pattern.pieces(), &[Piece::Placeholder("Admins".into())]);
        }
        t => panic!("{t:?}"),
    }
    let r = rule("    sel:\n        User: '%Admins%'\n    condition: sel\n");
    match first_test(&r) {
        Test::Str { pattern, .. } => assert_eq!(pattern.as_literal(), Some("%Admins%")),
        t => panic!("{t:?}"),
    }
}

#[test]
fn errors_are_located() {
    let e = rule_err("    sel:\n        Image|endswit: x\n    condition: sel\n");
    assert_eq!(e.kind, ErrorKind::UnknownModifier("endswit".into()));
    assert_eq!(e.location.file.as_deref(), Some("t.yml"));
    assert_eq!(e.location.line, Some(6));
    assert_eq!(e.location.column, Some(9));
    assert_eq!(
        e.location.path.as_deref(),
        Some("detection.sel.Image|endswit")
    );
    assert_eq!(e.hint.as_deref(), Some("did you mean `endswith`?"));

    let e = rule_err(
        "    sel:\n        Image|re:\n            - 'a'\n            - '(b'\n    condition: sel\n",
    );
    assert!(matches!(e.kind, ErrorKind::InvalidRegex(_)));
    assert_eq!(
        e.location.path.as_deref(),
        Some("detection.sel.Image|re[1]")
    );
    assert_eq!((e.location.line, e.location.column), (Some(8), Some(15)));

    let e = rule_err("    sel:\n        Image: x\n    condition: sel or\n");
    assert!(matches!(
        e.kind,
        ErrorKind::ConditionSyntax { offset: 6, .. }
    ));
    assert_eq!(e.location.line, Some(7));
}

#[test]
fn filters_apply_through_load_paths() {
    let loaded = sigma::load_paths(&[rules_dir().join("filter")]);
    let rule = loaded
        .iter()
        .flat_map(|(_, d)| d.iter())
        .find_map(|d| match d {
            Ok(ir::Document::Rule(r)) => Some(r.clone()),
            _ => None,
        })
        .expect("the base rule");
    // Both filters cover it: the listed one (by name) and the `any` one (product windows).
    let Expr::And(outer) = &rule.conditions[0] else {
        panic!("filtered condition expected: {:?}", rule.conditions[0])
    };
    assert_eq!(outer.len(), 2);
    assert!(matches!(outer[1], Expr::Not(_)));
    let Expr::And(inner) = &outer[0] else {
        panic!("nested filter expected")
    };
    assert!(matches!(inner[1], Expr::Not(_)));
    // Filters do not apply to rules they do not list or cover.
    let other = sigma::load_paths(&[
        rules_dir().join("filter/mf_listed_rule.yml"),
        rules_dir().join("modifiers/contains.yml"),
    ]);
    let r = other
        .iter()
        .flat_map(|(_, d)| d.iter())
        .find_map(|d| match d {
            Ok(ir::Document::Rule(r)) => Some(r),
            _ => None,
        })
        .expect("rule");
    let plain = sigma::load_file(&rules_dir().join("modifiers/contains.yml"));
    match &plain[0] {
        Ok(ir::Document::Rule(p)) => assert_eq!(p.conditions, r.conditions),
        other => panic!("{other:?}"),
    }
}

#[test]
fn load_paths_is_sorted_and_sets_origin() {
    let loaded = sigma::load_paths(&[rules_dir().join("collection")]);
    let names: Vec<PathBuf> = loaded.iter().map(|(p, _)| p.clone()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for (p, docs) in &loaded {
        for d in docs.iter().flatten() {
            let o = match d {
                ir::Document::Rule(r) => &r.origin,
                ir::Document::Correlation(c) => &c.origin,
                ir::Document::Filter(f) => &f.origin,
                ir::Document::Sequence(s) => &s.origin,
            };
            assert_eq!(o.file.as_deref(), Some(p.display().to_string().as_str()));
        }
    }
    let missing = sigma::load_file(Path::new("/nonexistent/x.yml"));
    assert!(matches!(
        missing[0].as_ref().unwrap_err().kind,
        ErrorKind::Io(_)
    ));
}

#[test]
fn byte_order_mark_and_crlf_are_accepted_and_located() {
    let src = "\u{feff}title: t\r\nlogsource:\r\n    product: windows\r\ndetection:\r\n    sel:\r\n        Image|endswit: x\r\n    condition: sel\r\n";
    let r = sigma::parse_str(src, None);
    let e = r[0].as_ref().expect_err("unknown modifier");
    assert_eq!((e.location.line, e.location.column), (Some(6), Some(9)));
    let ok = src.replace("endswit", "endswith");
    assert!(sigma::parse_str(&ok, None)[0].is_ok());
}

#[test]
fn bundled_filters_touch_only_their_base_rule() {
    let mut changed = Vec::new();
    for (path, docs) in sigma::load_paths(&[rules_dir()]) {
        let alone = sigma::load_file(&path);
        for (d, a) in docs.iter().zip(&alone) {
            if let (Ok(ir::Document::Rule(d)), Ok(ir::Document::Rule(a))) = (d, a) {
                if d.conditions != a.conditions {
                    changed.push(rel(&path));
                }
            }
        }
    }
    assert_eq!(changed, vec!["rules/filter/base_rule.yml".to_string()]);
}

#[test]
fn null_mixed_into_a_value_list_is_a_located_error() {
    let e = rule_err(
        "    sel:\n        ParentImage:\n            - 'a.exe'\n            - null\n    condition: sel\n",
    );
    assert!(
        matches!(&e.kind, ErrorKind::InvalidValue { found, .. } if found.contains("null")),
        "{e:?}"
    );
    assert_eq!(
        e.location.path.as_deref(),
        Some("detection.sel.ParentImage[1]")
    );
    assert_eq!((e.location.line, e.location.column), (Some(8), Some(15)));
    let hint = e.hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("`sel_null: {ParentImage: null}`") && hint.contains("`sel or sel_null`"),
        "{hint}"
    );
    // Flow lists too, and under modifiers.
    let e =
        rule_err("    sel:\n        ParentImage|endswith: [null, 'a.exe']\n    condition: sel\n");
    assert_eq!(
        e.location.path.as_deref(),
        Some("detection.sel.ParentImage|endswith[0]")
    );
    // The spec's ways stay valid: `field: null`, an empty list, a one-element `[null]`.
    for det in [
        "    sel:\n        ParentImage: null\n    condition: sel\n",
        "    sel:\n        ParentImage: []\n    condition: sel\n",
        "    sel:\n        ParentImage: [null]\n    condition: sel\n",
    ] {
        assert!(matches!(first_test(&rule(det)), Test::Null), "{det}");
    }
}

#[test]
fn an_oversized_regex_names_the_size_limit() {
    let e = rule_err("    sel:\n        CommandLine|re: '\\w{5000}'\n    condition: sel\n");
    assert_eq!(e.kind, ErrorKind::RegexTooLarge { limit: 10 << 20 });
    assert!(
        e.render().contains("exceeds the limit of 10 MiB"),
        "{}",
        e.render()
    );
    assert!(!e.render().contains("PCRE"), "{}", e.render());
    // A malformed regex keeps its own kind and hint.
    let e = rule_err("    sel:\n        CommandLine|re: '(a'\n    condition: sel\n");
    assert!(matches!(e.kind, ErrorKind::InvalidRegex(_)), "{e:?}");
}

#[test]
fn unused_identifiers_are_warnings_and_the_rule_converts_without_them() {
    let src = "title: t\nlogsource:\n    product: windows\ndetection:\n    sel_a:\n        Image: a\n    sel_b:\n        Image: b\n    sel_c:\n        Image: c\n    condition: [sel_a, sel_c]\n";
    let loaded = sigma::parse_str_with_warnings(src, Some("t.yml"));
    let [Ok(ir::Document::Rule(r))] = loaded.documents.as_slice() else {
        panic!("a valid rule expected: {:?}", loaded.documents)
    };
    assert_eq!(r.conditions.len(), 2);
    let mut values = Vec::new();
    for c in &r.conditions {
        c.for_each_pred(&mut |p| {
            if let Test::Str { pattern, .. } = &p.test {
                values.push(pattern.to_string());
            }
        });
    }
    assert_eq!(values, ["a", "c"], "sel_b is left out");
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    let w = &loaded.warnings[0];
    assert_eq!(w.document, Some(0));
    assert_eq!(w.warning.kind, ErrorKind::UnusedIdentifier("sel_b".into()));
    assert_eq!(w.warning.location.file.as_deref(), Some("t.yml"));
    assert_eq!(w.warning.location.path.as_deref(), Some("detection.sel_b"));
    assert_eq!(
        (w.warning.location.line, w.warning.location.column),
        (Some(7), Some(5))
    );
    assert!(w
        .warning
        .render_warning()
        .starts_with("warning[unused_identifier]: detection identifier `sel_b`"));
    // The plain API gives the same document.
    assert!(sigma::parse_str(src, None)[0].is_ok());
    // In a filter, and in the second document of a file (named by its index).
    let two = format!("{src}---\ntitle: f\nlogsource:\n    product: windows\nfilter:\n    rules: any\n    sel:\n        User: x\n    other:\n        User: y\n    condition: not sel\n");
    let loaded = sigma::parse_str_with_warnings(&two, Some("t.yml"));
    assert!(loaded.documents.iter().all(Result::is_ok));
    let w = &loaded.warnings[1];
    assert_eq!(w.document, Some(1));
    assert_eq!(
        w.warning.location.path.as_deref(),
        Some("document 1: filter.other")
    );
    assert_eq!(w.warning.location.line, Some(20));
    // A rule that fails keeps its error and gives no warning.
    let bad = src.replace("Image: c", "Image|endswit: c");
    let loaded = sigma::parse_str_with_warnings(&bad, None);
    assert!(loaded.documents[0].is_err());
    assert!(loaded.warnings.is_empty());
}

#[test]
fn empty_and_comment_only_sources_give_a_warning() {
    for src in ["", "\n\n", "# only a comment\n", "---\n---\n"] {
        let loaded = sigma::parse_str_with_warnings(src, Some("e.yml"));
        assert!(loaded.documents.is_empty(), "{src:?}");
        assert_eq!(loaded.warnings.len(), 1, "{src:?}");
        assert_eq!(loaded.warnings[0].document, None);
        assert_eq!(loaded.warnings[0].warning.kind, ErrorKind::EmptyFile);
        assert_eq!(
            loaded.warnings[0].warning.location.file.as_deref(),
            Some("e.yml")
        );
    }
    // A legacy `action: global` alone is not empty, and a YAML error is no empty file.
    for src in ["action: global\nauthor: x\n", "'unterminated\n"] {
        let loaded = sigma::parse_str_with_warnings(src, None);
        assert!(loaded.warnings.is_empty(), "{src:?}: {:?}", loaded.warnings);
    }
}

#[test]
fn a_folder_given_as_a_file_says_what_to_do() {
    let r = sigma::load_file(&rules_dir());
    let e = r[0].as_ref().expect_err("a folder is no file");
    assert!(matches!(e.kind, ErrorKind::Io(_)));
    assert!(
        e.hint
            .as_deref()
            .is_some_and(|h| h.contains("sigmat check DIR")),
        "{e:?}"
    );
}
