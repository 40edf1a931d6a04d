//! KQL on analyzed text fields and Kibana `filters`, lowered by the readers and checked
//! through the native evaluator on hand-worked events (what Elasticsearch would match,
//! worked out from the standard analyzer's tokens and the query DSL's meaning), and the
//! warnings that say the text-field reading is approximate, through the library and the CLI.

use serde_json::{json, Value};
use sigmat::error::Error;
use sigmat::read;
use sigmat::{eval, ir};

fn toml_rule(query: &str, extra: &str) -> String {
    format!(
        "[rule]\nname = \"t\"\nrule_id = \"00000000-0000-4000-8000-000000000000\"\ntype = \"query\"\nlanguage = \"kuery\"\nquery = '''\n{query}\n'''\n{extra}"
    )
}

/// The rule's one document and the reader's warnings.
fn lower(query: &str, extra: &str) -> Result<(ir::Rule, Vec<Error>), Error> {
    let r = read::read_str(&toml_rule(query, extra), Some("t.toml")).unwrap();
    let (mut docs, warnings) = read::lower_document_with_warnings(r)?;
    assert_eq!(docs.len(), 1);
    match docs.pop() {
        Some(ir::Document::Rule(rule)) => Ok((rule, warnings)),
        other => panic!("not a rule: {other:?}"),
    }
}

fn hits(rule: &ir::Rule, events: &[Value]) -> Vec<usize> {
    let c = eval::compile_rule(rule).unwrap_or_else(|e| panic!("{}", e.render()));
    (0..events.len())
        .filter(|&i| c.is_match(&events[i]))
        .collect()
}

fn script(text: &str) -> Value {
    json!({"powershell": {"file": {"script_block_text": text}}})
}

#[test]
fn a_quoted_value_on_a_text_field_is_a_phrase_of_tokens() {
    let (rule, warnings) = lower(
        r#"powershell.file.script_block_text : "[string]::join""#,
        "",
    )
    .unwrap();
    let ev = [
        // Tokens: a, string, join, b: `string join` consecutive.
        script("$a = [String]::Join(',', $b)"),
        // Tokens: string, join (other case, other punctuation).
        script("STRING join"),
        // One token `stringjoin`.
        script("stringjoin"),
        // Not consecutive: string, x, join.
        script("[string] x ::join"),
        // One token `string.join` (`.` between letters joins).
        script("string.join"),
        // Tokens: join, string (wrong order).
        script("join string"),
        json!({"powershell": {"file": {"other": "string join"}}}),
    ];
    assert_eq!(hits(&rule, &ev), [0, 1]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    assert_eq!(w.kind.code(), "approximated");
    assert!(w
        .render_warning()
        .contains("powershell.file.script_block_text"));
    // Located in the file: the query starts on line 7, the field at column 1.
    assert_eq!((w.location.line, w.location.column), (Some(7), Some(1)));
}

#[test]
fn an_unquoted_value_on_a_text_field_is_any_of_its_tokens() {
    let (rule, warnings) = lower("message: segfault error", "").unwrap();
    let msg = |m: &str| json!({ "message": m });
    let ev = [
        msg("kernel: python[42]: segfault at 0"),
        msg("an ERROR occurred"),
        msg("segfaults"),
        msg("no-error-here"),
        msg("nothing"),
    ];
    // `match` with operator `or`: a token `segfault` or `error`; `no-error-here` holds the
    // token `error` (`-` breaks words).
    assert_eq!(hits(&rule, &ev), [0, 1, 3]);
    assert_eq!(warnings.len(), 1);
}

#[test]
fn text_clauses_combine_and_warn_once_per_field() {
    let q = r#"powershell.file.script_block_text : ("New-InMemoryModule" or psenum) and
  not powershell.file.script_block_text : "Copyright (c) 2018 Ansible Project" and
  message : "started with executable stack""#;
    let (rule, warnings) = lower(q, "").unwrap();
    let ev = [
        json!({"powershell": {"file": {"script_block_text": "$m = New-InMemoryModule -ModuleName x"}},
               "message": "prog started with executable stack"}),
        json!({"powershell": {"file": {"script_block_text": "psenum $x"}},
               "message": "Started With Executable Stack."}),
        // The exclusion's phrase.
        json!({"powershell": {"file": {"script_block_text": "psenum; # Copyright (c) 2018 Ansible Project"}},
               "message": "started with executable stack"}),
        // `new-inmemorymodule2` is another token.
        json!({"powershell": {"file": {"script_block_text": "New-InMemoryModule2"}},
               "message": "started with executable stack"}),
        // The phrase's words out of order.
        json!({"powershell": {"file": {"script_block_text": "psenum"}},
               "message": "started with stack executable"}),
    ];
    assert_eq!(hits(&rule, &ev), [0, 1]);
    let fields: Vec<String> = warnings.iter().map(Error::render_warning).collect();
    assert_eq!(warnings.len(), 2, "{fields:?}");
    assert!(fields[0].contains("`powershell.file.script_block_text`"));
    assert!(fields[1].contains("`message`"));
}

#[test]
fn text_multi_fields_and_exists() {
    let (rule, warnings) = lower(
        r#"process.command_line.text : "invoke webrequest" and message : *"#,
        "",
    )
    .unwrap();
    let ev = [
        json!({"process": {"command_line": "powershell Invoke-WebRequest http://x"}, "message": "m"}),
        json!({"process": {"command_line": "powershell Invoke-WebRequest http://x"}}),
        json!({"process": {"command_line": "InvokeWebRequest"}, "message": "m"}),
    ];
    assert_eq!(hits(&rule, &ev), [0]);
    assert_eq!(warnings.len(), 1, "`message: *` is exact: {warnings:?}");
}

#[test]
fn text_field_constructs_without_a_reading_are_refused_by_name() {
    for (q, want) in [
        (
            "message: segf*",
            "wildcard value `segf*` on the text field `message`",
        ),
        ("message > 5", "range on the text field `message`"),
    ] {
        let e = lower(q, "").unwrap_err();
        assert_eq!(e.kind.code(), "unsupported");
        assert!(e.render().contains(want), "{q}: {}", e.render());
    }
    // A phrase without tokens matches no document: under `not`, every document.
    let (rule, _) = lower(r#"a: "x" and not message: "[*]""#, "").unwrap();
    assert_eq!(
        hits(
            &rule,
            &[json!({"a": "x", "message": "[*]"}), json!({"a": "y"})]
        ),
        [0]
    );
}

const FILTERS: &str = r#"
[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.wildcard."file.path"]
case_insensitive = true
value = "?:\\\\ProgramData\\\\Microsoft\\\\Windows Defender*"

[[rule.filters]]
[rule.filters.meta]
negate = false
[rule.filters.query.wildcard."file.directory"]
value = "C:\\\\Scripts\\\\*"

[[rule.filters]]
[rule.filters.meta]
disabled = true
[rule.filters.query.match_all]
"#;

#[test]
fn kibana_filters_are_anded_to_the_query() {
    let (rule, warnings) = lower("event.code: 4104", FILTERS).unwrap();
    assert!(warnings.is_empty());
    let ev = |code: u32, path: &str, dir: &str| json!({"event": {"code": code}, "file": {"path": path, "directory": dir}});
    let events = [
        ev(4104, r"C:\Scripts\a.ps1", r"C:\Scripts\x"),
        // The negated filter: case-insensitive wildcard, `?` one character.
        ev(
            4104,
            r"d:\programdata\microsoft\windows defender\x.ps1",
            r"C:\Scripts\x",
        ),
        // The second filter is case-sensitive.
        ev(4104, r"C:\Scripts\a.ps1", r"c:\scripts\x"),
        // The query itself.
        ev(4103, r"C:\Scripts\a.ps1", r"C:\Scripts\x"),
        // `?` is exactly one character.
        ev(
            4104,
            r"CD:\ProgramData\Microsoft\Windows Defender\x.ps1",
            r"C:\Scripts\x",
        ),
        // A missing field: the negated filter holds, the other does not.
        json!({"event": {"code": 4104}, "file": {"directory": r"C:\Scripts\x"}}),
    ];
    assert_eq!(hits(&rule, &events), [0, 4, 5]);
}

#[test]
fn query_dsl_bool_terms_exists_range_and_text_phrases() {
    let filters = r#"
[[rule.filters]]
[rule.filters.meta]
negate = false
[rule.filters.query.bool]
must = [{ terms = { "host.os.type" = ["windows", "linux"] } }]
must_not = [{ match_phrase = { "user.name" = "SYSTEM" } }]
should = [{ range = { "process.pid" = { gte = 100, lt = 200 } } }, { exists = { field = "process.parent.name" } }]
minimum_should_match = 1

[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.exists]
field = "process.code_signature.trusted"

[[rule.filters]]
[rule.filters.meta]
[rule.filters.query.match_phrase]
message = "access denied"
"#;
    let (rule, warnings) = lower("event.category: process", filters).unwrap();
    let ev = |os: &str, user: &str, pid: u32, extra: Value| {
        let mut e = json!({"event": {"category": "process"}, "host": {"os": {"type": os}},
                           "user": {"name": user}, "process": {"pid": pid},
                           "message": "Access denied for x"});
        if let (Some(o), Value::Object(x)) = (e.as_object_mut(), extra) {
            o.extend(x);
        }
        e
    };
    let events = [
        ev("windows", "bob", 150, json!({})),
        ev("linux", "bob", 10, json!({})),
        ev(
            "linux",
            "bob",
            10,
            json!({"process": {"pid": 10, "parent": {"name": "sh"}}}),
        ),
        ev("macos", "bob", 150, json!({})),
        ev("windows", "SYSTEM", 150, json!({})),
        // `match_phrase` on a keyword compares the whole value, case-sensitively.
        ev("windows", "system", 150, json!({})),
        ev(
            "windows",
            "bob",
            150,
            json!({"process": {"pid": 150, "code_signature": {"trusted": true}}}),
        ),
        ev("windows", "bob", 150, json!({"message": "accessdenied"})),
    ];
    assert_eq!(hits(&rule, &events), [0, 2, 5]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0].render_warning();
    assert!(
        w.contains("a Kibana filter on the analyzed text field `message`"),
        "{w}"
    );
    assert!(
        w.contains("rule.filters[2].query.match_phrase.message"),
        "{w}"
    );
}

#[test]
fn query_dsl_outside_the_reader_is_refused_where_it_stands() {
    let filters = r#"
[[rule.filters]]
[rule.filters.meta]
negate = false
[rule.filters.query.bool]
filter = [{ query_string = { query = "a:b" } }]
"#;
    let e = lower("a: b", filters).unwrap_err();
    assert_eq!(e.kind.code(), "unsupported");
    assert_eq!(
        e.location.path.as_deref(),
        Some("rule.filters[0].query.bool.filter[0].query_string")
    );
    assert_eq!(e.location.file.as_deref(), Some("t.toml"));
    assert!(e.location.line.is_some(), "{}", e.render());
    assert!(e.render().contains("`query_string`"), "{}", e.render());
    // A malformed filter is an invalid value, located too.
    let e = lower("a: b", "[[rule.filters]]\nquery = 5\n").unwrap_err();
    assert_eq!(e.kind.code(), "invalid_value");
    assert_eq!(e.location.path.as_deref(), Some("rule.filters[0].query"));
}

/// The warning reaches the commands' output as the front end's warnings do.
#[test]
fn the_text_field_warning_shows_in_check_convert_and_eval() {
    let dir = std::env::temp_dir().join(format!("sigmat-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rule = dir.join("posh.toml");
    std::fs::write(
        &rule,
        toml_rule(
            r#"powershell.file.script_block_text : "Invoke-Mimikatz""#,
            "",
        ),
    )
    .unwrap();
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        "{\"powershell\":{\"file\":{\"script_block_text\":\"IEX (Invoke-Mimikatz -DumpCreds)\"}}}\n\
         {\"powershell\":{\"file\":{\"script_block_text\":\"Invoke-MimikatzX\"}}}\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sigmat"))
            .args(args)
            .output()
            .unwrap()
    };
    let r = rule.to_str().unwrap();
    let check = run(&["check", r]);
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(out.contains("read approximately"), "{out}");
    assert_eq!(check.status.code(), Some(0), "{out}");
    assert_eq!(run(&["check", "--strict", r]).status.code(), Some(1));
    let conv = run(&["convert", "-t", "sigma", r]);
    assert!(
        String::from_utf8_lossy(&conv.stderr).contains("read approximately"),
        "{}",
        String::from_utf8_lossy(&conv.stderr)
    );
    let ev = run(&["eval", "-r", r, events.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&ev.stdout);
    assert!(
        String::from_utf8_lossy(&ev.stderr).contains("read approximately"),
        "{}",
        String::from_utf8_lossy(&ev.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}
