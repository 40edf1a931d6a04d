//! TOML value writers used as minijinja filters by the `elastic-toml` template. Each one gives
//! a valid TOML value for any input string; the output is parsed back anyway.
//!
//! The encodings (which characters are escaped and how; whether a string can be written as a
//! literal) are `toml_writer`'s, the writer beneath `toml` and `toml_edit`. The layout is ours:
//! neither `toml_edit` nor `toml_writer` has a setting for detection-rules' house style
//! (`../shared/docs/elastic.md` §2.9): where a multi-line value starts (`description` on the
//! line after `"""`, ending in a newline; `note` right after the quotes), `query` as a `'''`
//! block whose value ends in a newline, prose re-wrapped at 120 columns between words, lists
//! inline up to 100 characters and otherwise one item per line with a trailing comma. Key order
//! and tables come from the template.

use toml_writer::{ToTomlValue, TomlStringBuilder};

/// Line width of detection-rules' house style.
pub const WIDTH: usize = 120;

/// A TOML basic string, `"…"`, with every character TOML requires escaped.
#[must_use]
pub fn basic(s: &str) -> String {
    TomlStringBuilder::new(s).as_basic().to_toml_value()
}

/// What goes between the delimiters of a multi-line basic string (`"""…"""`) holding `s`,
/// escaped by `toml_writer` (backslashes, control characters, the third `"` of a run). Line
/// breaks are kept; the caller decides where the value starts.
fn ml_basic_body(s: &str) -> String {
    let v = TomlStringBuilder::new(s).as_ml_basic().to_toml_value();
    let body = v
        .strip_prefix(r#"""""#)
        .and_then(|b| b.strip_suffix(r#"""""#))
        .unwrap_or(&v);
    // `toml_writer` puts a value holding a line break on the line after the opening quotes
    // (TOML trims that first newline); drop it here.
    let body = if s.contains('\n') {
        body.strip_prefix('\n').unwrap_or(body)
    } else {
        body
    };
    body.to_string()
}

/// A multi-line basic string `"""\n…\n"""` whose value is `s` followed by a newline (the
/// house style of detection-rules for `description`). Single-line short text stays a basic
/// string.
#[must_use]
pub fn text(s: &str, key_len: usize) -> String {
    if !s.contains('\n') && s.len() + key_len + 5 <= WIDTH {
        return basic(s);
    }
    let mut body = ml_basic_body(s);
    if !body.ends_with('\n') {
        body.push('\n');
    }
    format!("\"\"\"\n{body}\"\"\"")
}

/// A multi-line basic string `"""…"""` holding exactly `s` (Markdown such as `note`; the text
/// starts right after the opening quotes, as detection-rules writes `note`).
#[must_use]
pub fn markdown(s: &str) -> String {
    let body = ml_basic_body(s);
    // A leading newline right after `"""` would be trimmed by TOML: escape it.
    let body = match body.strip_prefix('\n') {
        Some(rest) => format!("\\n{rest}"),
        None => body,
    };
    format!("\"\"\"{body}\"\"\"")
}

/// The query as a multi-line literal string `'''\n…\n'''` (value: `s` plus a final newline),
/// or, when `s` cannot be written literally (it holds `'''` or control characters other than
/// tab), as the equivalent multi-line basic string.
#[must_use]
pub fn query(s: &str) -> String {
    let s = s.strip_suffix('\n').unwrap_or(s);
    if TomlStringBuilder::new(s).as_ml_literal().is_some() {
        format!("'''\n{s}\n'''")
    } else {
        format!("\"\"\"\n{}\n\"\"\"", ml_basic_body(s))
    }
}

/// A list of strings: inline when short, else one item per line, indented four spaces, with a
/// trailing comma (house style).
#[must_use]
pub fn list(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| basic(s)).collect();
    let inline = format!("[{}]", parts.join(", "));
    if inline.len() <= 100 {
        return inline;
    }
    let mut out = String::from("[\n");
    for p in parts {
        out.push_str("    ");
        out.push_str(&p);
        out.push_str(",\n");
    }
    out.push(']');
    out
}

/// Re-wraps each line of `s` at [`WIDTH`] characters between words, keeping existing line
/// breaks (Sigma descriptions often put one sentence per line). Trailing whitespace is
/// removed.
#[must_use]
pub fn wrap(s: &str) -> String {
    let mut out = Vec::new();
    for line in s.trim_end().lines() {
        let line = line.trim_end();
        if line.chars().count() <= WIDTH {
            out.push(line.to_string());
            continue;
        }
        let mut cur = String::new();
        for word in line.split(' ') {
            if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > WIDTH {
                out.push(std::mem::take(&mut cur));
            } else if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
        out.push(cur);
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(toml_value: &str) -> String {
        let doc: toml::Table = toml::from_str(&format!("v = {toml_value}\n"))
            .unwrap_or_else(|e| panic!("{toml_value}: {e}"));
        doc["v"].as_str().expect("string").to_string()
    }

    const NASTY: &[&str] = &[
        "",
        "plain",
        "quote \" and backslash \\ and tab \t",
        "ends with quote\"",
        "\"\"\" triple \"\"\"\"\"",
        "'''literal''' quotes'",
        "control \u{1} \u{7f} \u{8} \u{c} bell",
        "cr\r lone and crlf\r\nok",
        "\nleading newline",
        "unicode é ü 中 \u{1F600}",
        "C:\\Windows\\System32\\*.exe",
    ];

    #[test]
    fn every_writer_round_trips() {
        for s in NASTY {
            assert_eq!(value(&basic(s)), *s, "basic {s:?}");
            assert_eq!(value(&markdown(s)), *s, "markdown {s:?}");
            let t = value(&text(s, 11));
            assert!(t == *s || t == format!("{s}\n"), "text {s:?} -> {t:?}");
            let q = value(&query(s));
            assert_eq!(q, format!("{s}\n"), "query {s:?}");
        }
    }

    #[test]
    fn query_prefers_literal() {
        assert_eq!(
            query("process where process.name : \"a\\b\""),
            "'''\nprocess where process.name : \"a\\b\"\n'''"
        );
        assert!(query("x : 'a''' b").starts_with("\"\"\""));
    }

    #[test]
    fn long_lists_go_one_per_line() {
        let short = vec!["a".to_string(), "b".to_string()];
        assert_eq!(list(&short), "[\"a\", \"b\"]");
        let long: Vec<String> = (0..10).map(|i| format!("logs-item-{i}-*")).collect();
        let l = list(&long);
        assert!(l.starts_with("[\n    \"logs-item-0-*\",\n"));
        let doc: toml::Table = toml::from_str(&format!("v = {l}")).expect("parses");
        assert_eq!(doc["v"].as_array().map(Vec::len), Some(10));
    }

    #[test]
    fn wrap_keeps_breaks_and_width() {
        let long = "word ".repeat(60);
        let w = wrap(&format!("first line\n{long}"));
        assert!(w.starts_with("first line\n"));
        assert!(w.lines().all(|l| l.chars().count() <= WIDTH));
        assert_eq!(w.split_whitespace().count(), 62);
    }
}
