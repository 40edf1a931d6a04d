//! `sigmat coverage`: ATT&CK Navigator layers (validated against the layer format 4.5 field
//! rules, counts checked against an independent count of the catalogs' tags), indicator tables
//! (seed 000's three rows, snapshot), and overlapping pairs (the seed pair).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use sigmat::attack;
use sigmat::cli::catalog::{self, Catalog};
use sigmat::coverage::layer::{catalog_layer, compare_layer, COMPARE_COLORS};
use sigmat::coverage::pairs::{decide, CandidateIndex, Options, Relation};
use sigmat::coverage::{indicators, Coverage};

// ---------------------------------------------------------------- layer format 4.5 rules

fn hex_color(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn technique_id(s: &str) -> bool {
    let d = |x: &str, n: usize| x.len() == n && x.bytes().all(|b| b.is_ascii_digit());
    s.strip_prefix('T')
        .is_some_and(|r| match r.split_once('.') {
            Some((m, sub)) => d(m, 4) && d(sub, 3),
            None => d(r, 4),
        })
}

fn version_at_least(v: &str, min: [u32; 3]) -> bool {
    let parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    let got = [0, 1, 2].map(|i| parts.get(i).copied().unwrap_or(0));
    got >= min
}

/// Every violation of the Navigator layer format 4.5 property tables in `layer`.
fn layer_errors(layer: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let mut bad = |m: String| errs.push(m);
    let Some(obj) = layer.as_object() else {
        return vec!["layer is not an object".into()];
    };
    let known: HashSet<&str> = [
        "versions",
        "name",
        "description",
        "domain",
        "customDataURL",
        "filters",
        "sorting",
        "layout",
        "hideDisabled",
        "techniques",
        "gradient",
        "legendItems",
        "showTacticRowBackground",
        "tacticRowBackground",
        "selectTechniquesAcrossTactics",
        "selectSubtechniquesWithParent",
        "selectVisibleTechniques",
        "metadata",
        "links",
    ]
    .into();
    for k in obj.keys() {
        if !known.contains(k.as_str()) {
            bad(format!("unknown property `{k}`"));
        }
    }
    if !layer["name"].is_string() {
        bad("name: required string".into());
    }
    if !matches!(
        layer["domain"].as_str(),
        Some("enterprise-attack" | "mobile-attack" | "ics-attack")
    ) {
        bad("domain: required, one of the three domains".into());
    }
    let v = &layer["versions"];
    if v["layer"] != "4.5" {
        bad(format!("versions.layer must be \"4.5\": {}", v["layer"]));
    }
    if !v["navigator"]
        .as_str()
        .is_some_and(|s| version_at_least(s, [4, 9, 0]))
    {
        bad("versions.navigator must be at least 4.9.0".into());
    }
    if !v["attack"].is_string() {
        bad("versions.attack: stated, a string".into());
    }
    if layer["sorting"].as_u64().is_none_or(|s| s > 3) {
        bad("sorting: 0..3".into());
    }
    let l = &layer["layout"];
    if !matches!(l["layout"].as_str(), Some("side" | "flat" | "mini")) {
        bad("layout.layout".into());
    }
    if !matches!(
        l["aggregateFunction"].as_str(),
        Some("average" | "min" | "max" | "sum")
    ) {
        bad("layout.aggregateFunction".into());
    }
    if !matches!(
        l["expandedSubtechniques"].as_str(),
        Some("none" | "all" | "annotated")
    ) {
        bad("layout.expandedSubtechniques".into());
    }
    for k in ["showID", "showName", "showAggregateScores", "countUnscored"] {
        if !l[k].is_boolean() {
            bad(format!("layout.{k}: boolean"));
        }
    }
    let technique_keys: HashSet<&str> = [
        "techniqueID",
        "tactic",
        "comment",
        "enabled",
        "score",
        "color",
        "metadata",
        "links",
        "showSubtechniques",
    ]
    .into();
    let mut seen = HashSet::new();
    for t in layer["techniques"].as_array().into_iter().flatten() {
        let id = t["techniqueID"].as_str().unwrap_or("");
        if !technique_id(id) {
            bad(format!("techniqueID `{id}`"));
        }
        if !seen.insert((id.to_string(), t["tactic"].as_str().map(str::to_string))) {
            bad(format!("{id}: twice"));
        }
        match attack::technique(id) {
            Some(x) if x.is_active() => {}
            _ => bad(format!(
                "{id}: not an active ATT&CK v{} technique",
                attack::ATTACK_VERSION
            )),
        }
        for k in t.as_object().into_iter().flat_map(|o| o.keys()) {
            if !technique_keys.contains(k.as_str()) {
                bad(format!("{id}: unknown property `{k}`"));
            }
        }
        if t.get("score").is_some_and(|s| !s.is_number()) {
            bad(format!("{id}: score is a number"));
        }
        if t.get("color").is_some_and(|c| !hex_color(c)) {
            bad(format!("{id}: color"));
        }
        if t.get("comment").is_some_and(|c| !c.is_string()) {
            bad(format!("{id}: comment is a string"));
        }
        if t.get("showSubtechniques").is_some() {
            let has_subs = attack::techniques()
                .iter()
                .any(|s| s.parent_id() == Some(id));
            if id.contains('.') || !has_subs {
                bad(format!(
                    "{id}: showSubtechniques only on a technique with sub-techniques"
                ));
            }
        }
        if let Some(tac) = t.get("tactic") {
            if !tac
                .as_str()
                .is_some_and(|s| attack::TACTICS.iter().any(|x| x.short == s))
            {
                bad(format!("{id}: tactic {tac}"));
            }
        }
    }
    if let Some(g) = layer.get("gradient") {
        let colors = g["colors"].as_array().map_or(0, Vec::len);
        if colors < 2 || !g["colors"].as_array().into_iter().flatten().all(hex_color) {
            bad("gradient.colors: at least two hex colours".into());
        }
        match (g["minValue"].as_f64(), g["maxValue"].as_f64()) {
            (Some(lo), Some(hi)) if hi > lo => {}
            _ => bad("gradient: maxValue > minValue".into()),
        }
    }
    for li in layer["legendItems"].as_array().into_iter().flatten() {
        if !li["label"].is_string() || !hex_color(&li["color"]) {
            bad(format!("legend item {li}"));
        }
    }
    for m in layer["metadata"].as_array().into_iter().flatten() {
        let divider = m["divider"].is_boolean();
        let named = m["name"].is_string() && m["value"].is_string();
        if !(divider || named) {
            bad(format!("metadata {m}"));
        }
    }
    errs
}

// ---------------------------------------------------------------- independent tag count

fn walk(dirs: &[PathBuf], ext: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        for e in walkdir::WalkDir::new(d).into_iter().filter_map(Result::ok) {
            let p = e.path();
            let x = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            if e.file_type().is_file() && ext.contains(&x) {
                out.push(p.to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Technique ids (upper case) of a Sigma file's `tags`, read with the YAML parser alone.
fn yaml_ids(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or(serde_yaml::Value::Null);
    let mut out = Vec::new();
    for t in doc["tags"].as_sequence().into_iter().flatten() {
        let t = t.as_str().unwrap_or("").trim().to_ascii_uppercase();
        if let Some(id) = t.strip_prefix("ATTACK.") {
            if technique_id(id) && !out.contains(&id.to_string()) {
                out.push(id.to_string());
            }
        }
    }
    out
}

/// Technique and sub-technique ids of a detection-rules file's threat blocks.
fn toml_ids(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let doc: toml::Table = toml::from_str(&text).unwrap_or_default();
    let mut out = Vec::new();
    let mut push = |v: Option<&toml::Value>| {
        if let Some(id) = v.and_then(toml::Value::as_str) {
            let id = id.trim().to_ascii_uppercase();
            if !out.contains(&id) {
                out.push(id);
            }
        }
    };
    let threats = doc
        .get("rule")
        .and_then(|r| r.get("threat"))
        .and_then(toml::Value::as_array);
    for th in threats.into_iter().flatten() {
        for t in th
            .get("technique")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            push(t.get("id"));
            for s in t
                .get("subtechnique")
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
            {
                push(s.get("id"));
            }
        }
    }
    out
}

/// Every id named in the crosswalk file (either column), and their parents.
fn crosswalk_families(shared: &Path) -> HashSet<String> {
    let text = std::fs::read_to_string(shared.join("data/attack-v18-to-v19.tsv")).expect("tsv");
    let mut out = HashSet::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("technique") || l.starts_with("subtechnique"))
    {
        for id in line.split('\t').skip(1).take(2) {
            out.insert(id.split('.').next().unwrap_or(id).to_string());
        }
    }
    out
}

fn check_catalog_layer(
    shared: &Path,
    cat: &Catalog,
    files: &[PathBuf],
    ids: fn(&Path) -> Vec<String>,
) {
    assert!(
        cat.failed.is_empty(),
        "files not read: {:?}",
        cat.failed.first()
    );
    assert_eq!(cat.entries.len(), files.len(), "one entry per rule file");
    let cov = Coverage::of(&cat.entries);
    let layer = catalog_layer("catalog", &cat.entries, &cov);
    let errs = layer_errors(&layer);
    assert!(errs.is_empty(), "layer 4.5 violations: {errs:#?}");
    let cells: BTreeMap<&str, u64> = layer["techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .map(|t| {
            (
                t["techniqueID"].as_str().unwrap_or(""),
                t["score"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let meta: Vec<&str> = layer["metadata"]
        .as_array()
        .expect("metadata")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    // Independent count: files per active v18.1 id, parents counting their sub-techniques.
    let mut count: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut all_ids = BTreeSet::new();
    for (i, f) in files.iter().enumerate() {
        for id in ids(f) {
            all_ids.insert(id.clone());
            if attack::technique(&id).is_some_and(attack::Technique::is_active) {
                count.entry(id.clone()).or_default().insert(i);
                if let Some((p, _)) = id.split_once('.') {
                    count.entry(p.to_string()).or_default().insert(i);
                }
            }
        }
    }
    let moved = crosswalk_families(shared);
    let mut compared = 0;
    for (id, rules) in &count {
        let score = cells.get(id.as_str()).copied();
        assert!(
            score.is_some(),
            "{id} tagged by {} rules, not in the layer",
            rules.len()
        );
        if !moved.contains(id.split('.').next().unwrap_or(id)) {
            assert_eq!(score, Some(rules.len() as u64), "{id}: layer score vs tags");
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} techniques compared");
    // Every id of the tags is in the layer, or listed (unknown, or read through the crosswalk).
    for id in &all_ids {
        let tag = format!("attack.{}", id.to_ascii_lowercase());
        let listed = meta.iter().any(|m| m.starts_with(&format!("{tag} ")));
        assert!(
            cells.contains_key(id.as_str()) || listed,
            "{id}: neither in the layer nor listed"
        );
    }
    // No cell without a rule: every layer cell is counted from the tags or the crosswalk.
    for id in cells.keys() {
        assert!(
            count.contains_key(*id) || moved.contains(id.split('.').next().unwrap_or(id)),
            "{id}: in the layer without a tag"
        );
    }
}

fn sigma_catalog(shared: &Path) -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(|| catalog::load(&common::detection_folders(shared), &[]).expect("load"))
}

#[test]
fn sigmahq_layer_is_valid_and_counts_its_tags() {
    let Some(shared) = common::shared_or_skip("sigmahq_layer_is_valid_and_counts_its_tags") else {
        return;
    };
    let files = walk(&common::detection_folders(&shared), &["yml", "yaml"]);
    let cat = sigma_catalog(&shared);
    check_catalog_layer(&shared, cat, &files, yaml_ids);
    // SigmaHQ's v19 ids are read through the crosswalk, not dropped.
    let cov = Coverage::of(&cat.entries);
    assert!(cov
        .translated
        .iter()
        .any(|(t, id, _)| t == "attack.t1685" && *id == "T1562.001"));
}

#[test]
fn elastic_layer_is_valid_and_counts_its_tags() {
    let Some(shared) = common::shared_or_skip("elastic_layer_is_valid_and_counts_its_tags") else {
        return;
    };
    let dir = shared.join("corpus/elastic");
    let files = walk(std::slice::from_ref(&dir), &["toml"]);
    let cat = catalog::load(&[dir], &[]).expect("load");
    assert!(
        !cat.without_ir.is_empty(),
        "sequences etc. count by their tags"
    );
    check_catalog_layer(&shared, &cat, &files, toml_ids);
}

#[test]
fn comparison_layer_colours_each_side() {
    let paths =
        |p: &str| vec![PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")).join(p)];
    let a = catalog::load(&paths("seed"), &[]).expect("a");
    let b = catalog::load(&paths("elastic/python_webserver.toml"), &[]).expect("b");
    let (ca, cb) = (Coverage::of(&a.entries), Coverage::of(&b.entries));
    let layer = compare_layer(("sigma", "elastic"), (&a.entries, &ca), (&b.entries, &cb));
    assert!(
        layer_errors(&layer).is_empty(),
        "{:#?}",
        layer_errors(&layer)
    );
    let color = |id: &str| {
        layer["techniques"]
            .as_array()
            .expect("techniques")
            .iter()
            .find(|t| t["techniqueID"] == id)
            .map(|t| t["color"].as_str().unwrap_or("").to_string())
    };
    // The seed is tagged T1048.003, its Elastic counterpart T1059 (+ T1059.006).
    assert_eq!(color("T1048.003").as_deref(), Some(COMPARE_COLORS[0]));
    assert_eq!(color("T1059").as_deref(), Some(COMPARE_COLORS[1]));
    assert_eq!(layer["legendItems"].as_array().map(Vec::len), Some(3));
}

#[test]
fn the_validator_catches_violations() {
    let bad = serde_json::json!({
        "name": "x", "domain": "enterprise", "versions": {"layer": "4.4", "navigator": "4.8.0"},
        "techniques": [{"techniqueID": "T1048.3", "score": "1", "colour": "red"}],
        "gradient": {"colors": ["#fff"], "minValue": 1, "maxValue": 1}
    });
    let errs = layer_errors(&bad);
    for needle in [
        "domain",
        "versions.layer",
        "navigator",
        "T1048.3",
        "colour",
        "score",
        "gradient",
    ] {
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "{needle}: {errs:#?}"
        );
    }
}

// ---------------------------------------------------------------- indicators

#[test]
fn seed_indicator_table_over_sigmahq() {
    let Some(shared) = common::shared_or_skip("seed_indicator_table_over_sigmahq") else {
        return;
    };
    let cat = sigma_catalog(&shared);
    let seed = shared.join(
        "corpus/sigma/rules/linux/process_creation/proc_creation_lnx_python_http_server_execution.yml",
    );
    let seed = seed.display().to_string();
    let at = cat
        .entries
        .iter()
        .position(|e| e.file == seed)
        .expect("seed in the catalog");
    let index = indicators::Index::build(&cat.entries);
    let rows = indicators::table(&index.per_rule[at], &index, Some(at));
    let kinds: Vec<(&str, &str)> = rows.iter().map(|r| (r.field.as_str(), r.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("CommandLine", "match"),
            ("Image", "ends_with"),
            ("Image", "match")
        ]
    );
    // Counts recomputed the slow way: other rules holding the same field, kind and value.
    for r in &rows {
        for v in &r.values {
            let same = cat
                .entries
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != at)
                .filter(|(i, _)| {
                    index.per_rule[*i].iter().any(|x| {
                        x.field == r.field
                            && x.kind == r.kind
                            && x.value.eq_ignore_ascii_case(&v.value)
                    })
                })
                .count();
            assert_eq!(v.others, same, "{} {} {}", r.field, r.kind, v.value);
        }
    }
    common::snapshot_settings().bind(|| {
        insta::assert_snapshot!("coverage@indicators_seed", indicators::markdown(&rows));
    });
}

// ---------------------------------------------------------------- pairs

#[test]
fn seed_pair_overlaps_through_the_ecs_pipeline() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let a = catalog::load(&[root.join("seed")], &["ecs_linux".to_string()]).expect("a");
    let b = catalog::load(&[root.join("elastic/python_webserver.toml")], &[]).expect("b");
    let (ra, rb) = (
        a.entries[0].rule.as_ref().expect("seed in IR"),
        b.entries[0].rule.as_ref().expect("elastic in IR"),
    );
    let d = decide(ra, rb, &Options::default());
    assert_eq!(d.relation, Relation::Overlap, "{d:?}");
    // The witness really is matched by both rules.
    let w = d.witness.expect("witness");
    for r in [ra, rb] {
        let c = sigmat::eval::compile_rule(r).expect("compiles");
        assert!(c.is_match(&w), "{} does not match {w}", r.meta.title);
    }
    // The candidate index finds the pair through the mapped fields, and not without them
    // (Sigma's `Image` / `CommandLine` are not Elastic's `process.*`).
    let index = CandidateIndex::build(&b.entries);
    let found = index.candidates(ra, &[], |_| Vec::new(), &Options::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .2
            .iter()
            .any(|k| k.starts_with("process.command_line:")),
        "{found:?}"
    );
    let raw = catalog::load(&[root.join("seed")], &[]).expect("raw");
    let rule = raw.entries[0].rule.as_ref().expect("ir");
    assert!(index
        .candidates(rule, &[], |_| Vec::new(), &Options::default())
        .is_empty());
}

#[test]
fn cli_json_finds_the_seed_pair_and_writes_layers() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let dir = std::env::temp_dir().join(format!("sigmat-coverage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let out = dir.join("pairs.json");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sigmat"))
            .args(args)
            .output()
            .expect("runs")
    };
    let seed = root.join("seed");
    let elastic = root.join("elastic/python_webserver.toml");
    let o = run(&[
        "coverage",
        seed.to_str().expect("utf-8"),
        "--against",
        elastic.to_str().expect("utf-8"),
        "-p",
        "ecs_linux",
        "-f",
        "json",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("1 of 1 rules of A overlap a rule of B"),
        "{stderr}"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("json");
    let cand = &v["pairs"][0]["candidates"][0];
    assert_eq!(cand["b"]["title"], "Python Web Server Fixture");
    assert_eq!(cand["relation"], "overlap");
    assert_eq!(v["summary"]["a_rules_overlapping_b"], 1);
    assert_eq!(v["a"]["pipelines"][0], "ecs_linux");
    // The same catalogs as a comparison layer.
    let o = run(&[
        "coverage",
        seed.to_str().expect("utf-8"),
        "--against",
        elastic.to_str().expect("utf-8"),
        "-f",
        "navigator",
    ]);
    assert!(o.status.success());
    let layer: Value = serde_json::from_slice(&o.stdout).expect("layer json");
    assert!(
        layer_errors(&layer).is_empty(),
        "{:#?}",
        layer_errors(&layer)
    );
    // --against-pipeline without --against is a usage error.
    let o = run(&[
        "coverage",
        seed.to_str().expect("utf-8"),
        "--against-pipeline",
        "ecs_linux",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
