//! Elastic output formats from hand-built IR and literal query strings: the seed rule beside
//! Elastic's own rule, fixture snapshots of both formats, conventions of detection-rules.

mod common;

use indexmap::IndexMap;
use sigmat::ir::{
    Expr, Level, LogSource, Meta, Origin, Pattern, Piece, Predicate, Rule, Status, Test,
};
use sigmat::publish::{self, Format, Options, Publisher, Target};

fn opts() -> Options {
    Options {
        today: "2026/01/01".into(),
        ..Options::default()
    }
}

fn contains(field: &str, v: &str) -> Expr {
    Expr::Pred(Predicate {
        field: Some(field.into()),
        test: Test::Str {
            pattern: Pattern::new([Piece::AnyMany, Piece::Lit(v.into()), Piece::AnyMany]),
            cased: false,
        },
        at: String::new(),
    })
}

fn state(pairs: &[(&str, serde_json::Value)]) -> IndexMap<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

/// The seed: "Python WebServer Execution - Linux" (SigmaHQ, 3f0f5957-...), routed the way
/// `ecs_linux` routes process_creation.
fn seed() -> Rule {
    Rule {
        meta: Meta {
            title: "Python WebServer Execution - Linux".into(),
            id: Some("3f0f5957-04f8-4792-ad89-192b0303bde6".into()),
            status: Some(Status::Experimental),
            description: Some(
                "Detects the execution of Python web servers via command line interface (CLI).\n\
                 After gaining access to target systems, adversaries may use Python's built-in HTTP server modules to quickly establish a web server without requiring additional software.\n\
                 This technique is commonly used in post-exploitation scenarios as it provides a simple method for transferring files between the compromised host and attacker-controlled systems.\n"
                    .into(),
            ),
            author: Some("Mohamed LAKRI".into()),
            references: vec![
                "https://www.atomicredteam.io/atomic-red-team/atomics/T1048.003#atomic-test-8---python3-httpserver".into(),
                "https://docs.python.org/3/library/http.server.html".into(),
                "https://docs.python.org/2/library/simplehttpserver.html".into(),
            ],
            date: Some("2025-10-17".into()),
            tags: vec!["attack.exfiltration".into(), "attack.t1048.003".into()],
            falsepositives: vec!["Testing or development activity".into()],
            level: Some(Level::Medium),
            ..Meta::default()
        },
        logsource: LogSource {
            category: Some("process_creation".into()),
            product: Some("linux".into()),
            ..LogSource::default()
        },
        conditions: vec![Expr::And(vec![
            Expr::Or(vec![
                contains("Image", "/python2."),
                contains("Image", "/python3."),
            ]),
            Expr::Or(vec![
                contains("CommandLine", "http.server"),
                contains("CommandLine", "SimpleHTTPServer"),
            ]),
        ])],
        state: state(&[
            ("index", serde_json::json!(["logs-endpoint.events.process*"])),
            ("integration", serde_json::json!(["endpoint"])),
            ("eql_category", serde_json::json!("process")),
        ]),
        applied: Vec::new(),
        origin: Origin {
            file: Some("rules/seed/python_webserver_execution_linux.yml".into()),
            document: 0,
        },
    }
}

const SEED_EQL: &str = "process where host.os.type == \"linux\" and event.type == \"start\" and\n\
(process.executable like~ (\"*/python\", \"*/python2\", \"*/python3\") or\n process.executable like~ (\"*/python2.*\", \"*/python3.*\")) and\n\
process.command_line like~ (\"*http.server*\", \"*SimpleHTTPServer*\")";

/// A Windows rule with several tactics, sub-techniques and strings that need escaping.
fn windows_multi() -> Rule {
    Rule {
        meta: Meta {
            title: "Suspicious \"Encoded\" PowerShell Download Cradle".into(),
            id: Some("1F2E3D4C-5B6A-4978-8695-A4B3C2D1E0F9".into()),
            status: Some(Status::Stable),
            description: Some("Detects powershell.exe started with -enc and 'DownloadString'; C:\\Windows\\System32 \"quoted\" text.".into()),
            author: Some("Alice Example, Bob Example (Example Corp),  ".into()),
            license: Some("DRL-1.1".into()),
            references: vec!["https://example.org/a?b=c&d=\"e\"".into()],
            date: Some("2023-02-03".into()),
            modified: Some("2024-12-31".into()),
            tags: vec![
                "attack.execution".into(),
                "attack.t1059.001".into(),
                "attack.defense-evasion".into(),
                "attack.t1027".into(),
                "attack.t1027.010".into(),
                "attack.g0032".into(),
                "detection.threat-hunting".into(),
            ],
            falsepositives: vec!["Admin scripts with \"-enc\"".into(), "Unknown".into()],
            level: Some(Level::High),
            ..Meta::default()
        },
        logsource: LogSource {
            category: Some("process_creation".into()),
            product: Some("windows".into()),
            ..LogSource::default()
        },
        conditions: vec![contains("CommandLine", "DownloadString")],
        state: state(&[
            (
                "index",
                serde_json::json!([
                    "logs-endpoint.events.process-*",
                    "logs-windows.sysmon_operational-*",
                    "winlogbeat-*",
                    "endgame-*"
                ]),
            ),
            ("integration", serde_json::json!(["endpoint", "windows"])),
        ]),
        applied: Vec::new(),
        origin: Origin::default(),
    }
}

const WINDOWS_KQL: &str =
    "process.name:powershell.exe and process.command_line:(*\\-enc* and *DownloadString*)";

/// A rule with what Sigma lets one leave out: no id, no date, no author, no level, bad and
/// revoked tags, a title ending in punctuation, a query holding `'''`.
fn sparse_cloud() -> Rule {
    Rule {
        meta: Meta {
            title: "AWS Root Login 'Console'...".into(),
            description: Some(
                "Text with \"\"\" triple quotes and a backslash \\ at the end\\".into(),
            ),
            tags: vec![
                "attack.t1078.004".into(),
                "attack.t1002".into(),
                "attack.t9999".into(),
                "attack.stealth".into(),
            ],
            level: Some(Level::Informational),
            ..Meta::default()
        },
        logsource: LogSource {
            product: Some("aws".into()),
            service: Some("cloudtrail".into()),
            ..LogSource::default()
        },
        conditions: vec![contains("eventName", "ConsoleLogin")],
        state: IndexMap::new(),
        applied: Vec::new(),
        origin: Origin {
            file: Some("rules/cloud/aws_root_login.yml".into()),
            document: 0,
        },
    }
}

const SPARSE_LUCENE: &str = "eventName:ConsoleLogin AND userIdentity.type:Root AND note:'''odd'''";

/// A deprecated macOS rule rendered to ES|QL.
fn macos_esql() -> Rule {
    Rule {
        meta: Meta {
            title: "macOS Osascript Execution".into(),
            id: Some("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9".into()),
            status: Some(Status::Deprecated),
            description: Some("Detects osascript.".into()),
            author: Some("Carol".into()),
            date: Some("2020/10/21".into()),
            modified: Some("2019-01-01".into()),
            tags: vec!["attack.t1059.002".into(), "attack.execution".into()],
            level: Some(Level::Critical),
            ..Meta::default()
        },
        logsource: LogSource {
            category: Some("process_creation".into()),
            product: Some("macos".into()),
            definition: Some("Requires Endpoint Security events.".into()),
            ..LogSource::default()
        },
        conditions: vec![contains("Image", "osascript")],
        state: IndexMap::new(),
        applied: Vec::new(),
        origin: Origin::default(),
    }
}

const MACOS_ESQL: &str = "from logs-endpoint.events.process-* metadata _id, _version, _index\n| where process.name like \"*osascript*\"";

fn fixtures() -> Vec<(&'static str, Rule, &'static str, Target)> {
    vec![
        (
            "python_webserver_execution_linux",
            seed(),
            SEED_EQL,
            common::elastic_target("eql"),
        ),
        (
            "windows_powershell_multi_tactic",
            windows_multi(),
            WINDOWS_KQL,
            common::elastic_target("kql"),
        ),
        (
            "aws_sparse_rule",
            sparse_cloud(),
            SPARSE_LUCENE,
            common::elastic_target("lucene"),
        ),
        (
            "macos_deprecated_esql",
            macos_esql(),
            MACOS_ESQL,
            common::elastic_target("esql"),
        ),
    ]
}

fn snapshot(name: &str, text: &str) {
    common::snapshot_settings().bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn fixtures_snapshot_in_both_formats() {
    let p = Publisher::new();
    for (name, rule, query, lang) in fixtures() {
        for format in Format::ALL {
            let out = p
                .publish(format, &rule, query, &lang, &opts())
                .unwrap_or_else(|e| panic!("{name} {format}: {}", e.render()));
            let mut text = format!("# path: {}\n", out.path.display());
            for w in &out.warnings {
                text.push_str(&format!(
                    "# warning ({}): {}\n",
                    w.at.as_deref().unwrap_or("-"),
                    w.message
                ));
            }
            text.push_str(&out.text);
            snapshot(&format!("{format}@{name}"), &text);
        }
    }
}

fn toml_of(rule: &Rule, query: &str, lang: &Target) -> (publish::Published, toml::Table) {
    let out = Publisher::new()
        .publish(Format::ElasticToml, rule, query, lang, &opts())
        .unwrap_or_else(|e| panic!("{}", e.render()));
    let doc: toml::Table = toml::from_str(&out.text).expect("valid TOML");
    (out, doc)
}

fn strs(v: &toml::Value) -> Vec<&str> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string"))
        .collect()
}

#[test]
fn seed_reads_like_elastics_rule() {
    let (out, doc) = toml_of(&seed(), SEED_EQL, &common::elastic_target("eql"));
    assert_eq!(
        out.path,
        std::path::Path::new("linux/exfiltration_python_webserver_execution_linux.toml")
    );
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    // The sections of execution_python_webserver_spawned.toml in the same order, plus the
    // build-time tables detection-rules adds (related_integrations, required_fields: one per
    // field the query reads, CommandLine and Image before a pipeline maps them).
    let sections: Vec<&str> = out.text.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(
        sections,
        [
            "[metadata]",
            "[rule]",
            "[[rule.related_integrations]]",
            "[[rule.required_fields]]",
            "[[rule.required_fields]]",
            "[[rule.threat]]",
            "[[rule.threat.technique]]",
            "[[rule.threat.technique.subtechnique]]",
            "[rule.threat.tactic]"
        ]
    );
    assert!(out
        .text
        .contains("\nquery = '''\nprocess where host.os.type == \"linux\""));
    let md = &doc["metadata"];
    assert_eq!(md["creation_date"].as_str(), Some("2025/10/17"));
    assert_eq!(md["updated_date"].as_str(), Some("2025/10/17"));
    assert_eq!(md["maturity"].as_str(), Some("development"));
    assert_eq!(strs(&md["integration"]), ["endpoint"]);
    let r = &doc["rule"];
    assert_eq!(
        r["name"].as_str(),
        Some("Python WebServer Execution - Linux")
    );
    assert_eq!(
        r["rule_id"].as_str(),
        Some("3f0f5957-04f8-4792-ad89-192b0303bde6")
    );
    assert_eq!(strs(&r["author"]), ["Mohamed LAKRI"]);
    assert_eq!(r["type"].as_str(), Some("eql"));
    assert_eq!(r["language"].as_str(), Some("eql"));
    assert_eq!(r["severity"].as_str(), Some("medium"));
    assert_eq!(r["risk_score"].as_integer(), Some(47));
    assert_eq!(r["from"].as_str(), Some("now-9m"));
    assert_eq!(r["timestamp_override"].as_str(), Some("event.ingested"));
    assert_eq!(strs(&r["index"]), ["logs-endpoint.events.process*"]);
    assert_eq!(r["references"].as_array().map(Vec::len), Some(3));
    let note = r["note"].as_str().expect("note");
    assert!(note.starts_with("## Triage and analysis\n"));
    assert!(note.contains("- Testing or development activity"));
    assert!(note.contains("- https://docs.python.org/3/library/http.server.html"));
    assert_eq!(r["query"].as_str(), Some(format!("{SEED_EQL}\n").as_str()));
    // The same kinds of tags as Elastic's rule.
    assert_eq!(
        strs(&r["tags"]),
        [
            "Domain: Endpoint",
            "OS: Linux",
            "Use Case: Threat Detection",
            "Tactic: Exfiltration",
            "Data Source: Elastic Defend",
            "Resources: Investigation Guide"
        ]
    );
    // T1048.003 under Exfiltration with the official names and checked URLs.
    let threat = r["threat"].as_array().expect("threat");
    assert_eq!(threat.len(), 1);
    let t = &threat[0];
    assert_eq!(t["framework"].as_str(), Some("MITRE ATT&CK"));
    assert_eq!(t["tactic"]["id"].as_str(), Some("TA0010"));
    assert_eq!(t["tactic"]["name"].as_str(), Some("Exfiltration"));
    assert_eq!(
        t["tactic"]["reference"].as_str(),
        Some("https://attack.mitre.org/tactics/TA0010/")
    );
    let tech = &t["technique"][0];
    assert_eq!(tech["id"].as_str(), Some("T1048"));
    assert_eq!(
        tech["name"].as_str(),
        Some("Exfiltration Over Alternative Protocol")
    );
    assert_eq!(
        tech["reference"].as_str(),
        Some("https://attack.mitre.org/techniques/T1048/")
    );
    let sub = &tech["subtechnique"][0];
    assert_eq!(sub["id"].as_str(), Some("T1048.003"));
    assert_eq!(
        sub["name"].as_str(),
        Some("Exfiltration Over Unencrypted Non-C2 Protocol")
    );
    assert_eq!(
        sub["reference"].as_str(),
        Some("https://attack.mitre.org/techniques/T1048/003/")
    );
}

/// Elastic's own rule, for the side-by-side check: same top-level sections and tag kinds.
#[test]
fn seed_has_the_sections_and_tag_kinds_of_elastics_counterpart() {
    let Some(shared) =
        common::shared_or_skip("seed_has_the_sections_and_tag_kinds_of_elastics_counterpart")
    else {
        return;
    };
    let theirs = std::fs::read_to_string(
        shared.join("corpus/elastic/rules/linux/execution_python_webserver_spawned.toml"),
    )
    .expect("Elastic's rule");
    let theirs: toml::Table = toml::from_str(&theirs).expect("parses");
    let (_, ours) = toml_of(&seed(), SEED_EQL, &common::elastic_target("eql"));
    let keys = |t: &toml::Table, s: &str| -> Vec<String> {
        let mut k: Vec<String> = t[s].as_table().expect("table").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours, "metadata"), keys(&theirs, "metadata"));
    // Every [rule] key of Elastic's rule is present in ours except the hand-written setup guide.
    let ours_rule = keys(&ours, "rule");
    for k in keys(&theirs, "rule") {
        assert!(k == "setup" || ours_rule.contains(&k), "missing rule.{k}");
    }
    let kinds = |t: &toml::Table| -> std::collections::BTreeSet<String> {
        strs(&t["rule"]["tags"])
            .iter()
            .map(|s| s.split(':').next().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(kinds(&ours), kinds(&theirs));
    let threat_keys = |t: &toml::Table| -> Vec<String> {
        let th = t["rule"]["threat"][0].as_table().expect("threat table");
        let mut k: Vec<String> = th.keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(threat_keys(&ours), threat_keys(&theirs));
}

#[test]
fn conventions_hold_on_every_fixture() {
    for (name, rule, query, lang) in fixtures() {
        let (out, doc) = toml_of(&rule, query, &lang);
        let r = &doc["rule"];
        let sev = r["severity"].as_str().expect("severity");
        let score = u8::try_from(r["risk_score"].as_integer().expect("risk")).expect("u8");
        assert!(
            publish::elastic::risk_band(sev)
                .expect("band")
                .contains(&score),
            "{name}"
        );
        assert!(
            publish::uuid::is_uuid(r["rule_id"].as_str().expect("id")),
            "{name}"
        );
        let tags = strs(&r["tags"]);
        if let Some(th) = r.get("threat").and_then(|t| t.as_array()) {
            let primary = th[0]["tactic"]["name"].as_str().expect("tactic");
            assert!(
                tags.contains(&format!("Tactic: {primary}").as_str()),
                "{name}"
            );
            let file = out
                .path
                .file_name()
                .expect("file")
                .to_string_lossy()
                .into_owned();
            assert!(
                file.starts_with(&format!("{}_", primary.to_lowercase().replace(' ', "_"))),
                "{name}: {file}"
            );
        }
        // The NDJSON object carries the same rule on one line.
        let line = Publisher::new()
            .publish(Format::KibanaNdjson, &rule, query, &lang, &opts())
            .expect("ndjson")
            .text;
        assert_eq!(line.matches('\n').count(), 1, "{name}");
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["rule_id"].as_str(), r["rule_id"].as_str());
        assert_eq!(v["query"].as_str(), Some(query));
        assert_eq!(v["enabled"], serde_json::Value::Bool(false));
    }
}

#[test]
fn sparse_rule_warns_and_derives_a_stable_id() {
    let (out, doc) = toml_of(
        &sparse_cloud(),
        SPARSE_LUCENE,
        &common::elastic_target("lucene"),
    );
    let (again, _) = toml_of(
        &sparse_cloud(),
        SPARSE_LUCENE,
        &common::elastic_target("lucene"),
    );
    assert_eq!(out.text, again.text, "deterministic");
    let r = &doc["rule"];
    assert_eq!(r["name"].as_str(), Some("AWS Root Login 'Console"));
    assert_eq!(r["type"].as_str(), Some("query"));
    assert_eq!(r["language"].as_str(), Some("lucene"));
    assert_eq!(r["severity"].as_str(), Some("low"));
    assert_eq!(
        doc["metadata"]["creation_date"].as_str(),
        Some("2026/01/01")
    );
    assert_eq!(
        r["query"].as_str(),
        Some(format!("{SPARSE_LUCENE}\n").as_str())
    );
    let msgs: Vec<&str> = out.warnings.iter().map(|w| w.message.as_str()).collect();
    for needle in [
        "no id",
        "no date",
        "no author",
        "revoked",
        "T9999",
        "stealth",
        "no index",
    ] {
        assert!(
            msgs.iter().any(|m| m.contains(needle)),
            "no warning about {needle}: {msgs:?}"
        );
    }
    // Only the known technique is mapped, under its own tactic.
    let th = r["threat"].as_array().expect("threat");
    assert_eq!(th.len(), 1);
    assert_eq!(
        th[0]["technique"][0]["subtechnique"][0]["id"].as_str(),
        Some("T1078.004")
    );
    assert!(out.path.starts_with("integrations/aws"));
}

#[test]
fn esql_has_no_index_and_deprecated_gets_a_deprecation_date() {
    let (out, doc) = toml_of(&macos_esql(), MACOS_ESQL, &common::elastic_target("esql"));
    assert!(doc["rule"].get("index").is_none());
    assert_eq!(doc["rule"]["type"].as_str(), Some("esql"));
    assert_eq!(doc["metadata"]["maturity"].as_str(), Some("deprecated"));
    assert_eq!(
        doc["metadata"]["deprecation_date"].as_str(),
        Some("2020/10/21")
    );
    assert_eq!(doc["metadata"]["updated_date"].as_str(), Some("2020/10/21"));
    assert!(out
        .warnings
        .iter()
        .any(|w| w.message.contains("before date")));
    assert!(out.path.starts_with("macos"));
}

#[test]
fn empty_query_is_a_located_error() {
    let e = Publisher::new()
        .publish(
            Format::ElasticToml,
            &seed(),
            "  \n",
            &common::elastic_target("eql"),
            &opts(),
        )
        .expect_err("empty query");
    assert_eq!(e.kind.code(), "invalid_value");
    assert_eq!(
        e.location.file.as_deref(),
        Some("rules/seed/python_webserver_execution_linux.yml")
    );
}

#[test]
fn a_broken_user_template_is_an_error_not_a_file() {
    let dir = std::env::temp_dir().join(format!("sigmat-publish-tpl-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("formats")).expect("mkdir");
    std::fs::write(
        dir.join("formats/elastic_toml.toml.j2"),
        "[rule]\nname = {{ rule.name }}\n",
    )
    .expect("write");
    let p = Publisher::with_template_dir(&dir).expect("loads");
    let e = p
        .publish(
            Format::ElasticToml,
            &seed(),
            SEED_EQL,
            &common::elastic_target("eql"),
            &opts(),
        )
        .expect_err("unquoted name is not TOML");
    assert_eq!(e.kind.code(), "backend");
    // The kibana template was not overridden and still works.
    assert!(p
        .publish(
            Format::KibanaNdjson,
            &seed(),
            SEED_EQL,
            &common::elastic_target("eql"),
            &opts()
        )
        .is_ok());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn atomic_write_creates_folders_and_leaves_no_temp_file() {
    let dir = std::env::temp_dir().join(format!("sigmat-publish-write-{}", std::process::id()));
    let path = dir.join("linux/a.toml");
    sigmat::output::write_atomic(&path, "x = 1\n").expect("write");
    sigmat::output::write_atomic(&path, "x = 2\n").expect("overwrite");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "x = 2\n");
    let names: Vec<_> = std::fs::read_dir(dir.join("linux"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn failed_atomic_write_keeps_the_target_and_removes_the_temp_file() {
    let dir = std::env::temp_dir().join(format!("sigmat-publish-fail-{}", std::process::id()));
    // The target is a non-empty folder: the temporary file is written, the rename fails.
    let target = dir.join("a.toml");
    std::fs::create_dir_all(&target).expect("mkdir");
    std::fs::write(target.join("keep"), "old").expect("write");
    let e =
        sigmat::output::write_atomic(&target, "x = 1\n").expect_err("rename over a folder fails");
    assert_eq!(e.kind.code(), "io");
    assert_eq!(
        e.location.file.as_deref(),
        Some(target.display().to_string().as_str())
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["a.toml"], "temporary file left behind");
    assert_eq!(
        std::fs::read_to_string(target.join("keep")).expect("read"),
        "old"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The seed rule as the front end reads it gives the same file as the hand-built IR above
/// (the pipeline's routing state is copied over until the pipeline stage runs here too).
#[test]
fn seed_yaml_through_the_front_end_matches_the_hand_built_ir() {
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules/seed/python_webserver_execution_linux.yml"
    ));
    let docs = sigmat::sigma::load_file(path);
    let Some(Ok(sigmat::ir::Document::Rule(mut rule))) = docs.into_iter().next() else {
        panic!("seed does not load as a rule");
    };
    rule.state = seed().state;
    let p = Publisher::new();
    let from_yaml = p
        .publish(
            Format::ElasticToml,
            &rule,
            SEED_EQL,
            &common::elastic_target("eql"),
            &opts(),
        )
        .expect("publishes");
    let by_hand = p
        .publish(
            Format::ElasticToml,
            &seed(),
            SEED_EQL,
            &common::elastic_target("eql"),
            &opts(),
        )
        .expect("publishes");
    assert_eq!(from_yaml.text, by_hand.text);
    assert_eq!(from_yaml.path, by_hand.path);
    assert!(from_yaml.warnings.is_empty(), "{:?}", from_yaml.warnings);
}

#[test]
fn sink_writes_one_toml_per_rule_under_os_folders_and_one_ndjson_file() {
    let dir = std::env::temp_dir().join(format!("sigmat-publish-sink-{}", std::process::id()));
    let p = Publisher::new();
    let mut toml_sink = publish::Sink::new(Format::ElasticToml, Some(dir.clone()));
    let mut nd_sink = publish::Sink::new(Format::KibanaNdjson, Some(dir.clone()));
    // The seed twice: the second gets a disambiguated name, not an overwrite.
    let all = [fixtures(), vec![fixtures().remove(0)]].concat();
    for (_, rule, query, lang) in &all {
        let t = p
            .publish(Format::ElasticToml, rule, query, lang, &opts())
            .expect("toml");
        toml_sink.push(&t).expect("push");
        let n = p
            .publish(Format::KibanaNdjson, rule, query, lang, &opts())
            .expect("ndjson");
        nd_sink.push(&n).expect("push");
    }
    let mut files = toml_sink.finish(&mut std::io::sink()).expect("finish");
    files.extend(nd_sink.finish(&mut std::io::sink()).expect("finish"));
    let rel: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(&dir)
                .expect("under dir")
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        rel,
        [
            "linux/exfiltration_python_webserver_execution_linux.toml",
            "windows/execution_suspicious_encoded_powershell_download_cradle.toml",
            "integrations/aws/defense_evasion_aws_root_login_console.toml",
            "macos/execution_macos_osascript_execution.toml",
            "linux/exfiltration_python_webserver_execution_linux_3f0f5957.toml",
            "rules.ndjson",
        ]
    );
    let nd = std::fs::read_to_string(dir.join("rules.ndjson")).expect("ndjson");
    assert_eq!(nd.lines().count(), 5);
    for line in nd.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
    }
    std::fs::remove_dir_all(&dir).ok();
}
