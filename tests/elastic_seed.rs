//! The seed, end to end: Sigma YAML → front end → `ecs_linux` pipeline → eql backend →
//! `elastic-toml`, set beside Elastic's own "Web Server Spawned via Python".

mod common;

use sigmat::ir::Document;
use sigmat::pipeline::{self, Pipeline};
use sigmat::publish::{Format, Options, Publisher, QueryLanguage};
use sigmat::render::{Backend, Options as RenderOptions};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/rules/seed/python_webserver_execution_linux.yml"
);

fn seed_output(format: Format, backend: &str, lang: QueryLanguage) -> sigmat::publish::Published {
    let docs = sigmat::sigma::load_file(std::path::Path::new(SEED));
    let Some(Ok(Document::Rule(mut rule))) = docs.into_iter().next() else {
        panic!("the seed loads as a rule");
    };
    rule.origin.file = Some("rules/seed/python_webserver_execution_linux.yml".into());
    let p = Pipeline::builtin("ecs_linux").expect("ecs_linux is built in");
    pipeline::apply(&[p], &mut rule).unwrap_or_else(|e| panic!("{}", e.render()));
    let conv = Backend::builtin(backend)
        .expect("backend")
        .convert(&rule, &RenderOptions::default())
        .unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(conv.queries.len(), 1);
    let opts = Options {
        today: "2026/01/01".into(),
        ..Options::default()
    };
    let target = common::elastic_target(backend);
    assert_eq!(target.language, lang, "{backend}");
    Publisher::new()
        .publish(format, &rule, &conv.queries[0], &target, &opts)
        .unwrap_or_else(|e| panic!("{}", e.render()))
}

fn snapshot(name: &str, text: &str) {
    common::snapshot_settings().bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn seed_with_ecs_linux_and_eql() {
    let out = seed_output(Format::ElasticToml, "eql", QueryLanguage::Eql);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(
        out.path,
        std::path::Path::new("linux/exfiltration_python_webserver_execution_linux.toml")
    );
    snapshot("elastic-toml@seed_ecs_linux_eql", &out.text);
    let doc: toml::Table = toml::from_str(&out.text).expect("TOML");
    let (md, r) = (&doc["metadata"], &doc["rule"]);
    assert_eq!(md["integration"].as_array().map(Vec::len), Some(1));
    assert_eq!(md["integration"][0].as_str(), Some("endpoint"));
    assert_eq!(
        r["index"][0].as_str(),
        Some("logs-endpoint.events.process*")
    );
    let q = r["query"].as_str().expect("query");
    assert!(q.starts_with("process where "), "{q}");
    assert!(
        q.contains("process.executable") && q.contains("process.command_line"),
        "{q}"
    );
    let tags: Vec<&str> = r["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    for t in [
        "Domain: Endpoint",
        "OS: Linux",
        "Use Case: Threat Detection",
        "Tactic: Exfiltration",
        "Data Source: Elastic Defend",
    ] {
        assert!(tags.contains(&t), "missing tag {t}: {tags:?}");
    }
    let th = &r["threat"][0];
    assert_eq!(th["tactic"]["id"].as_str(), Some("TA0010"));
    assert_eq!(th["technique"][0]["id"].as_str(), Some("T1048"));
    assert_eq!(
        th["technique"][0]["subtechnique"][0]["id"].as_str(),
        Some("T1048.003")
    );
}

/// Elastic's rule and ours: the same `[metadata]` keys, every `[rule]` key of theirs but the
/// hand-written `setup`, the same tag kinds, the same threat structure.
#[test]
fn seed_sits_beside_elastics_rule() {
    let Some(shared) = common::shared_or_skip("seed_sits_beside_elastics_rule") else {
        return;
    };
    let theirs = std::fs::read_to_string(
        shared.join("corpus/elastic/rules/linux/execution_python_webserver_spawned.toml"),
    )
    .expect("Elastic's rule");
    let theirs: toml::Table = toml::from_str(&theirs).expect("parses");
    let ours: toml::Table =
        toml::from_str(&seed_output(Format::ElasticToml, "eql", QueryLanguage::Eql).text)
            .expect("parses");
    let keys = |t: &toml::Table, s: &str| -> Vec<String> {
        let mut k: Vec<String> = t[s].as_table().expect("table").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours, "metadata"), keys(&theirs, "metadata"));
    let ours_rule = keys(&ours, "rule");
    for k in keys(&theirs, "rule") {
        assert!(k == "setup" || ours_rule.contains(&k), "missing rule.{k}");
    }
    for k in [
        "type",
        "language",
        "timestamp_override",
        "from",
        "severity",
        "risk_score",
    ] {
        assert_eq!(ours["rule"][k], theirs["rule"][k], "rule.{k}");
    }
    let kinds = |t: &toml::Table| -> std::collections::BTreeSet<String> {
        t["rule"]["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(|s| s.as_str()?.split(':').next().map(str::to_string))
            .collect()
    };
    assert_eq!(kinds(&ours), kinds(&theirs));
    let shape = |t: &toml::Table| -> Vec<String> {
        let th = t["rule"]["threat"][0].as_table().expect("threat");
        let mut k: Vec<String> = th.keys().cloned().collect();
        k.extend(
            th["technique"][0]
                .as_table()
                .expect("technique")
                .keys()
                .map(|x| format!("technique.{x}")),
        );
        k.sort();
        k
    };
    assert_eq!(shape(&ours), shape(&theirs));
}

#[test]
fn seed_in_every_elastic_language_as_kibana_objects() {
    for (backend, lang) in [
        ("eql", QueryLanguage::Eql),
        ("kql", QueryLanguage::Kuery),
        ("lucene", QueryLanguage::Lucene),
        ("esql", QueryLanguage::Esql),
    ] {
        let out = seed_output(Format::KibanaNdjson, backend, lang);
        // The queries of the other languages are the render snapshots' business.
        if backend == "eql" {
            snapshot("kibana-ndjson@seed_ecs_linux_eql", &out.text);
        }
        let v: serde_json::Value = serde_json::from_str(&out.text).expect("JSON");
        assert_eq!(v["language"].as_str(), Some(lang.language()));
        assert_eq!(v["type"].as_str(), Some(lang.rule_type()));
    }
}
