//! The embedded ATT&CK table matches its source: re-reading the lookup JSON gives the same
//! techniques, names, tactics and flags as the committed `src/attack/techniques.tsv`
//! (regenerate with `python3 scripts/gen_attack.py > src/attack/techniques.tsv`).

mod common;

use sigmat::attack;

#[test]
fn generated_table_matches_the_lookup_json() {
    let Some(shared) = common::shared_or_skip("generated_table_matches_the_lookup_json") else {
        return;
    };
    let path = shared.join("data/attack-patterns-lookup-v18.1.json");
    let text = std::fs::read_to_string(&path).expect("lookup JSON readable");
    let json: serde_json::Value = serde_json::from_str(&text).expect("lookup JSON parses");
    let aps = json["attack_patterns"].as_array().expect("attack_patterns");
    assert_eq!(
        json["_metadata"]["source_file"].as_str(),
        Some(format!("enterprise-attack-{}.json", attack::ATTACK_VERSION).as_str())
    );
    assert_eq!(aps.len(), attack::techniques().len(), "technique count");

    // Same text the generator writes, line by line.
    let mut expected: Vec<String> = aps
        .iter()
        .map(|ap| {
            let s = |k: &str| ap[k].as_str().expect(k).to_string();
            let tactics: Vec<&str> = ap["tactics"]
                .as_array()
                .expect("tactics")
                .iter()
                .map(|t| t.as_str().expect("tactic"))
                .collect();
            let status: Vec<&str> = ["revoked", "deprecated"]
                .into_iter()
                .filter(|k| ap[*k].as_bool() == Some(true))
                .collect();
            let status = if status.is_empty() {
                "active".to_string()
            } else {
                status.join(",")
            };
            let name = s("name").split_whitespace().collect::<Vec<_>>().join(" ");
            format!(
                "{}\t{name}\t{}\t{status}",
                s("external_id"),
                tactics.join(",")
            )
        })
        .collect();
    expected.sort();
    let committed: Vec<&str> = attack::TECHNIQUES_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(committed, expected, "src/attack/techniques.tsv is stale");

    // And the parsed table agrees with the JSON on every entry.
    for ap in aps {
        let id = ap["external_id"].as_str().expect("id");
        let t = attack::technique(id).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(t.name, ap["name"].as_str().expect("name"));
        assert_eq!(t.revoked, ap["revoked"].as_bool() == Some(true), "{id}");
        assert_eq!(
            t.deprecated,
            ap["deprecated"].as_bool() == Some(true),
            "{id}"
        );
        let url = ap["url"].as_str().expect("url");
        assert_eq!(t.url(), format!("{url}/"), "{id}");
        assert_eq!(
            t.is_subtechnique(),
            ap["is_subtechnique"].as_bool() == Some(true)
        );
        if t.is_subtechnique() {
            assert!(t.parent().is_some(), "{id} has no parent in the table");
        }
    }
}

#[test]
fn every_tactic_of_the_table_is_one_of_the_fourteen() {
    assert_eq!(attack::TACTICS.len(), 14);
    for t in attack::techniques() {
        assert!(!t.tactics.is_empty(), "{} has no tactic", t.id);
    }
    for tac in &attack::TACTICS {
        assert!(
            attack::techniques()
                .iter()
                .any(|t| t.tactics.contains(&tac)),
            "{} has no technique",
            tac.id
        );
        assert_eq!(attack::tactic_by(&tac.sigma_tag()[7..]), Some(tac));
    }
}

#[test]
fn header_keeps_provenance_and_licence() {
    let head: Vec<&str> = attack::TECHNIQUES_TSV.lines().take(6).collect();
    assert!(head[0].contains("scripts/gen_attack.py"));
    assert!(head[1].contains("enterprise-attack-18.1.json"));
    assert!(head.iter().any(|l| l.contains("The MITRE Corporation")));
    let notice = include_str!("../src/attack/NOTICE.md");
    assert!(notice.contains("MIT License") && notice.contains("Terms of Use"));
}
