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
            let results = sigma::parse_str(&text, Some(&name));
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
            let out = parts.join("---\n");
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
