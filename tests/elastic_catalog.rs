//! Walks the SigmaHQ Windows and Linux catalog (routed by `ecs_windows` / `ecs_linux`, queries
//! from the eql backend) through the `elastic-toml` format and checks
//! every output against detection-rules' schema and the conventions its tests enforce
//! (`tests/test_all_rules.py`: risk/severity bands, primary tactic tag and file-name prefix,
//! OS tag, ATT&CK ids and URLs, investigation-guide tag), plus the Kibana NDJSON object.

mod common;

use std::collections::{BTreeMap, HashSet};

use regex::Regex;
use sigmat::ir::{Document, Rule};
use sigmat::pipeline::{self, Pipeline};
use sigmat::publish::{elastic::risk_band, Format, Options, Publisher};
use sigmat::render::{Backend, Options as RenderOptions};
use sigmat::{attack, sigma};

/// The rule routed by `ecs_windows` / `ecs_linux` and its EQL query from the eql backend, or
/// why there is none (the pipeline or backend refuses the rule, or it has several conditions).
/// Whether the query is valid EQL is the render tests' concern; this test checks the
/// metadata, files and ATT&CK mapping around it.
fn query_for(
    backend: &Backend,
    pipelines: &[(&str, Pipeline)],
    rule: &Rule,
) -> Result<(Rule, String), String> {
    let mut rule = rule.clone();
    let product = rule.logsource.product.clone().unwrap_or_default();
    if let Some((_, p)) = pipelines.iter().find(|(name, _)| *name == product) {
        pipeline::apply(std::slice::from_ref(p), &mut rule)
            .map_err(|e| format!("pipeline {}", e.kind.code()))?;
    }
    let c = backend
        .convert(&rule, &RenderOptions::default())
        .map_err(|e| format!("eql {}", e.kind.code()))?;
    match c.queries.as_slice() {
        [q] => {
            let q = q.clone();
            Ok((rule, q))
        }
        qs => Err(format!("{} conditions", qs.len())),
    }
}

struct Checks {
    uuid: Regex,
    date: Regex,
    name: Regex,
    interval: Regex,
    tactic_url: Regex,
    technique_url: Regex,
    sub_url: Regex,
}

impl Checks {
    fn new() -> Self {
        let r = |s: &str| Regex::new(s).expect("regex");
        Checks {
            uuid: r(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
            date: r(r"^\d{4}/\d{2}/\d{2}$"),
            name: r(r"^[a-zA-Z0-9].+?[a-zA-Z0-9\[\]()]$"),
            interval: r(r"^\d+[mshd]$"),
            tactic_url: r(r"^https://attack\.mitre\.org/tactics/TA[0-9]+/$"),
            technique_url: r(r"^https://attack\.mitre\.org/techniques/T[0-9]+/$"),
            sub_url: r(r"^https://attack\.mitre\.org/techniques/T[0-9]+/[0-9]+/$"),
        }
    }

    /// Every problem of one TOML output, as readable strings.
    #[allow(clippy::too_many_lines)]
    fn problems(&self, path: &std::path::Path, text: &str, product: &str) -> Vec<String> {
        let mut p = Vec::new();
        let doc: toml::Table = match toml::from_str(text) {
            Ok(d) => d,
            Err(e) => return vec![format!("does not parse: {e}")],
        };
        let s = |t: &toml::Value, k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let Some(md) = doc.get("metadata") else {
            return vec!["no [metadata]".into()];
        };
        let Some(r) = doc.get("rule") else {
            return vec!["no [rule]".into()];
        };
        // [metadata]
        let cd = s(md, "creation_date").unwrap_or_default();
        let ud = s(md, "updated_date").unwrap_or_default();
        if !self.date.is_match(&cd) || !self.date.is_match(&ud) {
            p.push(format!("dates {cd:?} {ud:?}"));
        }
        if ud < cd {
            p.push("updated_date before creation_date".into());
        }
        let maturity = s(md, "maturity").unwrap_or_default();
        if ![
            "development",
            "experimental",
            "beta",
            "production",
            "deprecated",
        ]
        .contains(&maturity.as_str())
        {
            p.push(format!("maturity {maturity:?}"));
        }
        if maturity == "deprecated" && md.get("deprecation_date").is_none() {
            p.push("deprecated without deprecation_date".into());
        }
        // [rule] required fields
        for k in [
            "name",
            "description",
            "rule_id",
            "severity",
            "type",
            "language",
            "query",
        ] {
            if s(r, k).is_none_or(|v| v.trim().is_empty()) {
                p.push(format!("rule.{k} missing or empty"));
            }
        }
        let name = s(r, "name").unwrap_or_default();
        if !self.name.is_match(&name) {
            p.push(format!("name {name:?} does not match the schema"));
        }
        if !s(r, "rule_id").is_some_and(|v| self.uuid.is_match(&v)) {
            p.push("rule_id is not a lower-case UUID".into());
        }
        let authors = r.get("author").and_then(|v| v.as_array());
        if authors.is_none_or(|a| a.is_empty() || a.iter().any(|x| x.as_str().is_none())) {
            p.push("author is not a non-empty list of strings".into());
        }
        if !s(r, "interval").is_some_and(|v| self.interval.is_match(&v)) {
            p.push("interval".into());
        }
        if !s(r, "from").is_some_and(|v| v.starts_with("now-")) {
            p.push("from".into());
        }
        let ty = s(r, "type").unwrap_or_default();
        let lang = s(r, "language").unwrap_or_default();
        let ok_pair = matches!(
            (ty.as_str(), lang.as_str()),
            ("eql", "eql") | ("query", "kuery" | "lucene") | ("esql", "esql")
        );
        if !ok_pair {
            p.push(format!("type {ty:?} with language {lang:?}"));
        }
        if ty != "esql"
            && r.get("index")
                .and_then(|v| v.as_array())
                .is_none_or(Vec::is_empty)
        {
            p.push("no index".into());
        }
        let sev = s(r, "severity").unwrap_or_default();
        let score = r.get("risk_score").and_then(toml::Value::as_integer);
        match (risk_band(&sev), score.and_then(|x| u8::try_from(x).ok())) {
            (Some(b), Some(x)) if b.contains(&x) => {}
            _ => p.push(format!("severity {sev:?} with risk_score {score:?}")),
        }
        for k in ["version", "revision"] {
            if r.get(k).is_some() {
                p.push(format!("rule.{k} must not be set"));
            }
        }
        // tags
        let tags: Vec<String> = r
            .get("tags")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let os_tag = match product {
            "windows" => "OS: Windows",
            _ => "OS: Linux",
        };
        if !tags.iter().any(|t| t == os_tag) {
            p.push(format!("no `{os_tag}` tag"));
        }
        if !path.starts_with(product) {
            p.push(format!("not under {product}/"));
        }
        if s(r, "note").is_some() {
            if !tags.iter().any(|t| t == "Resources: Investigation Guide") {
                p.push("note without `Resources: Investigation Guide`".into());
            }
            if !s(r, "note").is_some_and(|n| n.contains("## Triage and analysis")) {
                p.push("note without `## Triage and analysis`".into());
            }
        }
        let index: Vec<&str> = r
            .get("index")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        if index.iter().any(|i| i.starts_with("logs-endpoint.events."))
            && !(tags.iter().any(|t| t == "Domain: Endpoint")
                && tags.iter().any(|t| t == "Data Source: Elastic Defend"))
        {
            p.push("endpoint index without Domain: Endpoint + Data Source: Elastic Defend".into());
        }
        // threat
        let threat = r.get("threat").and_then(|v| v.as_array());
        let mut tactic_names = Vec::new();
        for th in threat.into_iter().flatten() {
            if s(th, "framework").as_deref() != Some("MITRE ATT&CK") {
                p.push("framework".into());
            }
            let Some(tac) = th.get("tactic") else {
                p.push("threat without tactic".into());
                continue;
            };
            let tid = s(tac, "id").unwrap_or_default();
            let tname = s(tac, "name").unwrap_or_default();
            let official = attack::tactic_by(&tid);
            if official.is_none_or(|t| t.name != tname) {
                p.push(format!("tactic {tid} {tname:?} is not ATT&CK's"));
            }
            if !s(tac, "reference").is_some_and(|u| self.tactic_url.is_match(&u)) {
                p.push(format!("tactic {tid} URL"));
            }
            if tactic_names.contains(&tname) {
                p.push(format!("tactic {tname} twice"));
            }
            tactic_names.push(tname.clone());
            for tech in th
                .get("technique")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let id = s(tech, "id").unwrap_or_default();
                match attack::technique(&id) {
                    Some(t) if t.is_active() && !t.is_subtechnique() => {
                        if s(tech, "name").as_deref() != Some(t.name) {
                            p.push(format!("{id} name"));
                        }
                        if !t.tactics.iter().any(|x| x.name == tname) {
                            p.push(format!("{id} does not belong to {tname}"));
                        }
                    }
                    _ => p.push(format!(
                        "technique {id} unknown, inactive or a sub-technique"
                    )),
                }
                if !s(tech, "reference").is_some_and(|u| self.technique_url.is_match(&u)) {
                    p.push(format!("{id} URL"));
                }
                for sub in tech
                    .get("subtechnique")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    let sid = s(sub, "id").unwrap_or_default();
                    match attack::technique(&sid) {
                        Some(t) if t.is_active() && t.parent_id() == Some(id.as_str()) => {
                            if s(sub, "name").as_deref() != Some(t.name) {
                                p.push(format!("{sid} name"));
                            }
                        }
                        _ => p.push(format!(
                            "sub-technique {sid} unknown, inactive or not under {id}"
                        )),
                    }
                    if !s(sub, "reference").is_some_and(|u| self.sub_url.is_match(&u)) {
                        p.push(format!("{sid} URL"));
                    }
                }
            }
        }
        let tactic_tags: Vec<&str> = tags
            .iter()
            .filter_map(|t| t.strip_prefix("Tactic: "))
            .collect();
        if let Some(primary) = tactic_names.first() {
            if !tactic_tags.contains(&primary.as_str()) {
                p.push(format!("primary tactic {primary} not a tag"));
            }
            let prefix = format!("{}_", primary.to_lowercase().replace(' ', "_"));
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !file.starts_with(&prefix) {
                p.push(format!("file {file} does not start with {prefix}"));
            }
        }
        for t in tactic_tags {
            if !tactic_names.iter().any(|n| n == t) {
                p.push(format!("tag Tactic: {t} not in threat"));
            }
        }
        p
    }
}

#[test]
fn catalog_windows_and_linux_rules_give_valid_detection_rules_toml() {
    let Some(shared) =
        common::shared_or_skip("catalog_windows_and_linux_rules_give_valid_detection_rules_toml")
    else {
        return;
    };
    let start = std::time::Instant::now();
    let mut folders = common::detection_folders(&shared);
    folders.retain(|p| p.is_dir());
    let loaded = sigma::load_paths(&folders);
    let publisher = Publisher::new();
    let opts = Options {
        today: "2026/01/01".into(),
        ..Options::default()
    };
    let checks = Checks::new();
    let backend = Backend::builtin("eql").expect("eql backend");
    let target = common::elastic_target("eql");
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let pipelines = [
        (
            "windows",
            Pipeline::builtin("ecs_windows").expect("ecs_windows"),
        ),
        ("linux", Pipeline::builtin("ecs_linux").expect("ecs_linux")),
    ];
    let mut routed = 0usize;
    let mut used = HashSet::new();
    let (mut rules, mut with_threat, mut renamed) = (0usize, 0usize, 0usize);
    let mut warnings: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (file, docs) in &loaded {
        for doc in docs.iter().flatten() {
            let Document::Rule(rule) = doc else { continue };
            let product = rule.logsource.product.as_deref().unwrap_or("");
            if product != "windows" && product != "linux" {
                continue;
            }
            let (rule, query) = match query_for(&backend, &pipelines, rule) {
                Ok(x) => x,
                Err(why) => {
                    *skipped.entry(why).or_default() += 1;
                    continue;
                }
            };
            rules += 1;
            let rule = &rule;
            routed += usize::from(rule.state.contains_key("index"));
            let out = match publisher.publish(Format::ElasticToml, rule, &query, &target, &opts) {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{}: {}", file.display(), e.render()));
                    continue;
                }
            };
            for w in &out.warnings {
                let key = if w.message.starts_with("tag `") {
                    // one line per tag kind: the reason, with the tag's technique id kept
                    let reason = w.message.split_once("`: ").map_or("", |x| x.1);
                    let reason = reason.split(';').next().unwrap_or_default();
                    let reason = reason.split(" \"").next().unwrap_or_default();
                    format!("tag: {reason}")
                } else {
                    let m = w.message.split(':').next().unwrap_or_default();
                    format!("{}: {m}", w.at.as_deref().unwrap_or("-"))
                };
                *warnings.entry(key).or_default() += 1;
            }
            let path = sigmat::output::unique_path(&mut used, &out.path, &out.rule_id);
            renamed += usize::from(path != out.path);
            if out.text.contains("[[rule.threat]]") {
                with_threat += 1;
            }
            let problems = checks.problems(&path, &out.text, product);
            if !problems.is_empty() {
                failures.push(format!(
                    "{} -> {}: {}",
                    file.display(),
                    path.display(),
                    problems.join("; ")
                ));
            }
            let line = publisher
                .publish(Format::KibanaNdjson, rule, &query, &target, &opts)
                .map(|o| o.text);
            match line
                .as_deref()
                .map(serde_json::from_str::<serde_json::Value>)
            {
                Ok(Ok(v)) if v["rule_id"].as_str() == Some(out.rule_id.as_str()) => {}
                other => failures.push(format!("{}: kibana-ndjson {other:?}", file.display())),
            }
        }
    }
    eprintln!("elastic catalog: not converted (ecs pipeline or eql backend refused): {skipped:?}");
    eprintln!(
        "elastic catalog: {rules} Windows/Linux rules converted ({routed} routed to an index by the pipeline), {with_threat} with ATT&CK threat blocks, \
         {renamed} file names disambiguated, {} failures, {:.2?}",
        failures.len(),
        start.elapsed()
    );
    for (k, n) in &warnings {
        eprintln!("  warnings {k}: {n}");
    }
    assert!(rules > 2500, "only {rules} rules found");
    assert!(
        failures.is_empty(),
        "{} of {rules} rules fail:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(used.len(), rules, "every rule gets its own file");
}
