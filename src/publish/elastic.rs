//! A Sigma rule's metadata turned into detection-rules' fields ([`build`] fills the model of
//! `model.rs`): name, rule id, severity band, maturity, ATT&CK threat blocks, index patterns
//! (a pipeline's `state.index`, else the [`Target`]'s defaults), tags (`tags.rs`), dates
//! (`dates.rs`), note and file name. Both output formats render this model.

use crate::attack;
use crate::error::{Error, ErrorKind, Warning};
use crate::ir::{Level, Meta, Rule, Status};

use super::uuid::{is_uuid, uuid_v5, NAMESPACE_URL};
use super::{dates, tags, Target};

pub use super::dates::today_utc;
use super::model::warn;
pub use super::model::{
    snake, ElasticRule, Metadata, Options, Ref, RuleData, TechniqueRef, Threat,
};

/// Severity and risk score of a Sigma level (Elastic's bands: low 0–21, medium 22–47,
/// high 48–73, critical 74–100; Kibana's default score of each band).
#[must_use]
pub fn severity(level: Option<Level>) -> (&'static str, u8) {
    match level {
        Some(Level::Informational) => ("low", 1),
        Some(Level::Low) | None => ("low", 21),
        Some(Level::Medium) => ("medium", 47),
        Some(Level::High) => ("high", 73),
        Some(Level::Critical) => ("critical", 99),
    }
}

/// The risk-score band detection-rules' tests accept for a severity.
#[must_use]
pub fn risk_band(severity: &str) -> Option<std::ops::RangeInclusive<u8>> {
    match severity {
        "low" => Some(0..=21),
        "medium" => Some(22..=47),
        "high" => Some(48..=73),
        "critical" => Some(74..=100),
        _ => None,
    }
}

/// `metadata.maturity` of a Sigma status.
#[must_use]
pub fn maturity(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Stable) => "production",
        Some(Status::Deprecated) => "deprecated",
        Some(Status::Test | Status::Experimental | Status::Unsupported) | None => "development",
    }
}

fn state_strings(rule: &Rule, key: &str) -> Option<Vec<String>> {
    match rule.state.get(key)? {
        serde_json::Value::String(s) => Some(vec![s.clone()]),
        serde_json::Value::Array(xs) => Some(
            xs.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
        ),
        _ => None,
    }
}

/// The rule name trimmed to detection-rules' pattern `^[a-zA-Z0-9].+?[a-zA-Z0-9\[\]()]$`.
fn elastic_name(title: &str) -> String {
    let t = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = t.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    t.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || "[]()".contains(c)))
        .to_string()
}

/// The Markdown note: provenance, false positives, references and the log source definition.
fn build_note(rule: &Rule, rule_id: &str) -> String {
    let m = &rule.meta;
    let mut note = String::from("## Triage and analysis\n\n");
    note.push_str(&format!(
        "This rule was converted from the Sigma rule \"{}\"",
        m.title
    ));
    match &m.id {
        Some(id) => note.push_str(&format!(" (id `{id}`)")),
        None => note.push_str(&format!(
            " (no Sigma id; rule_id `{rule_id}` derived from it)"
        )),
    }
    note.push_str(" by sigmat.\n");
    if !m.falsepositives.is_empty() {
        note.push_str("\n### False positive analysis\n\n");
        for f in &m.falsepositives {
            note.push_str(&format!("- {}\n", f.trim()));
        }
    }
    if !m.references.is_empty() {
        note.push_str("\n### References\n\n");
        for r in &m.references {
            note.push_str(&format!("- {}\n", r.trim()));
        }
    }
    if let Some(def) = rule
        .logsource
        .definition
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        note.push_str(&format!("\n### Log source\n\n{}\n", def.trim()));
    }
    note
}

/// The Sigma `description`, trimmed; the title (with a warning) when there is none.
fn description(m: &Meta, warnings: &mut Vec<Warning>) -> String {
    match m.description.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => d.to_string(),
        _ => {
            warn(
                warnings,
                "rule has no description; the title is used".into(),
                "description",
            );
            m.title.trim().to_string()
        }
    }
}

/// `[metadata]`: dates, maturity and the pipeline's `integration` state.
fn metadata(rule: &Rule, opts: &Options, warnings: &mut Vec<Warning>) -> Metadata {
    let (creation_date, updated_date) = dates::creation_and_update(&rule.meta, opts, warnings);
    let maturity = maturity(rule.meta.status);
    Metadata {
        deprecation_date: (maturity == "deprecated").then(|| updated_date.clone()),
        integration: state_strings(rule, "integration").unwrap_or_default(),
        maturity,
        creation_date,
        updated_date,
    }
}

/// `rule.rule_id`: the Sigma id when it is a UUID (lower-cased), else a UUIDv5 derived from
/// the id, or from the title and log source of a rule without one.
fn rule_id(rule: &Rule, warnings: &mut Vec<Warning>) -> String {
    let m = &rule.meta;
    match &m.id {
        Some(id) if is_uuid(&id.trim().to_ascii_lowercase()) => id.trim().to_ascii_lowercase(),
        Some(id) => {
            let derived = uuid_v5(&NAMESPACE_URL, &format!("sigmat:sigma-id:{id}"));
            warn(
                warnings,
                format!("id `{id}` is not a UUID; rule_id {derived} derived from it"),
                "id",
            );
            derived
        }
        None => {
            let ls = &rule.logsource;
            let key = format!(
                "sigmat:sigma-rule:{}|{}|{}|{}",
                m.title,
                ls.product.as_deref().unwrap_or(""),
                ls.category.as_deref().unwrap_or(""),
                ls.service.as_deref().unwrap_or("")
            );
            let derived = uuid_v5(&NAMESPACE_URL, &key);
            warn(
                warnings,
                format!("rule has no id; rule_id {derived} derived from its title and log source"),
                "id",
            );
            derived
        }
    }
}

/// The `[[rule.threat]]` blocks of the rule's ATT&CK tags.
fn threat(tags: &[String], warnings: &mut Vec<Warning>) -> Vec<Threat> {
    let (mapping, tag_warnings) = attack::map_tags(tags);
    warnings.extend(tag_warnings);
    mapping
        .iter()
        .map(|tm| Threat {
            framework: "MITRE ATT&CK",
            tactic: Ref {
                id: tm.tactic.id.into(),
                name: tm.tactic.name.into(),
                reference: tm.tactic.url(),
            },
            technique: tm
                .techniques
                .iter()
                .map(|t| TechniqueRef {
                    id: t.technique.id.into(),
                    name: t.technique.name.into(),
                    reference: t.technique.url(),
                    subtechnique: t
                        .subtechniques
                        .iter()
                        .map(|s| Ref {
                            id: s.id.into(),
                            name: s.name.into(),
                            reference: s.url(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// `rule.index`: none when the target's rules carry no index; else the pipeline's
/// `state.index`, else the target's patterns for the product (with a warning).
fn index(rule: &Rule, product: Option<&str>, target: &Target, w: &mut Vec<Warning>) -> Vec<String> {
    let Some(defaults) = &target.index else {
        return Vec::new();
    };
    if let Some(ix) = state_strings(rule, "index").filter(|v| !v.is_empty()) {
        return ix;
    }
    let name = product.unwrap_or("(none)");
    let found = defaults
        .iter()
        .find(|(p, _)| product.is_some_and(|x| p.eq_ignore_ascii_case(x)))
        .or_else(|| defaults.get_key_value("*"));
    match found {
        Some((_, ix)) => {
            warn(
                w,
                format!(
                    "no index from a pipeline; using the default for product `{name}`: {}",
                    ix.join(", ")
                ),
                "logsource",
            );
            ix.clone()
        }
        None => {
            warn(
                w,
                format!("no index from a pipeline and no default for product `{name}`: the rule has no index patterns"),
                "logsource",
            );
            Vec::new()
        }
    }
}

/// The Sigma `author`, split on commas; `Unknown` (with a warning) when there is none.
fn authors(m: &Meta, warnings: &mut Vec<Warning>) -> Vec<String> {
    let mut author: Vec<String> = m
        .author
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(|a| a.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|a| !a.is_empty())
        .collect();
    if author.is_empty() {
        warn(
            warnings,
            "rule has no author; author set to \"Unknown\"".into(),
            "author",
        );
        author.push("Unknown".into());
    }
    author
}

/// The rule name, or an error for a title without two letters or digits.
fn checked_name(m: &Meta) -> Result<String, Error> {
    let name = elastic_name(&m.title);
    if name.chars().count() < 2 {
        return Err(Error::new(ErrorKind::InvalidValue {
            expected: "a title with at least two letters or digits".into(),
            found: format!("`{}`", m.title),
        })
        .at("title")
        .hint("Elastic rule names must match ^[a-zA-Z0-9].+?[a-zA-Z0-9\\[\\]()]$"));
    }
    Ok(name)
}

/// Builds the Elastic model of `rule` with its rendered `query`, for `target`.
///
/// # Errors
/// An empty query, or a title with no letter or digit.
pub fn build(
    rule: &Rule,
    query: &str,
    target: &Target,
    opts: &Options,
) -> Result<(ElasticRule, Vec<Warning>), Error> {
    let m = &rule.meta;
    let located = |e: Error| match &rule.origin.file {
        Some(f) => e.in_file(f.clone()),
        None => e,
    };
    if query.trim().is_empty() {
        return Err(located(
            Error::new(ErrorKind::InvalidValue {
                expected: "a rendered query".into(),
                found: "empty text".into(),
            })
            .at("query"),
        ));
    }
    let name = checked_name(m).map_err(located)?;
    let mut warnings = Vec::new();

    let metadata = metadata(rule, opts, &mut warnings);
    let rule_id = rule_id(rule, &mut warnings);
    let threat = threat(&m.tags, &mut warnings);
    let lower = |s: &Option<String>| s.as_deref().map(str::to_ascii_lowercase);
    let ls = tags::Source {
        product: lower(&rule.logsource.product),
        category: lower(&rule.logsource.category),
        service: lower(&rule.logsource.service),
    };
    let index = index(rule, ls.product.as_deref(), target, &mut warnings);
    let related_integrations = super::required::related_integrations(&metadata.integration, &index);
    let required_fields = super::required::required_fields(rule);
    let setup = rule
        .state
        .get("setup")
        .and_then(|v| v.as_str())
        .map(|s| s.trim_end().to_string() + "\n");
    let tags = tags::tags(&ls, &threat, &index);
    let author = authors(m, &mut warnings);
    let description = description(m, &mut warnings);
    if m.level.is_none() {
        warn(
            &mut warnings,
            "rule has no level; severity set to low".into(),
            "level",
        );
    }
    let (severity, risk_score) = severity(m.level);
    let note = build_note(rule, &rule_id);
    let file_stem = match threat.first() {
        Some(t) => format!("{}_{}", snake(&t.tactic.name), snake(&name)),
        None => snake(&name),
    };
    let rule_data = RuleData {
        author,
        description,
        false_positives: m
            .falsepositives
            .iter()
            .map(|f| f.trim().to_string())
            .collect(),
        from: opts.from.clone(),
        index,
        interval: opts.interval.clone(),
        language: target.language.language(),
        license: m.license.clone().unwrap_or_else(|| opts.license.clone()),
        name,
        note,
        references: m.references.iter().map(|r| r.trim().to_string()).collect(),
        risk_score,
        rule_id,
        setup,
        severity,
        tags,
        timestamp_override: opts.timestamp_override.clone(),
        rule_type: target.language.rule_type(),
        query: query.strip_suffix('\n').unwrap_or(query).to_string(),
        related_integrations,
        required_fields,
        threat,
        threshold: None,
    };
    Ok((
        ElasticRule {
            metadata,
            rule: rule_data,
            stem: ls.folder().join(file_stem),
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::QueryLanguage;

    fn target(index: Option<&[(&str, &[&str])]>) -> Target {
        Target {
            language: QueryLanguage::Kuery,
            index: index.map(|ix| {
                ix.iter()
                    .map(|(p, v)| {
                        (
                            (*p).to_string(),
                            v.iter().map(|s| (*s).to_string()).collect(),
                        )
                    })
                    .collect()
            }),
        }
    }

    #[test]
    fn index_comes_from_the_pipeline_then_the_target_by_product() {
        let mut rule = Rule {
            meta: Meta::default(),
            logsource: crate::ir::LogSource::default(),
            conditions: Vec::new(),
            state: indexmap::IndexMap::new(),
            applied: Vec::new(),
            origin: crate::ir::Origin::default(),
        };
        let both = target(Some(&[("windows", &["w-*"]), ("*", &["any-*"])]));
        let mut w = Vec::new();
        assert_eq!(index(&rule, Some("windows"), &both, &mut w), ["w-*"]);
        assert_eq!(index(&rule, Some("aws"), &both, &mut w), ["any-*"]);
        assert_eq!(index(&rule, None, &both, &mut w), ["any-*"]);
        assert_eq!(w.len(), 3);
        assert!(w[2].message.contains("product `(none)`: any-*"), "{w:?}");
        // No entry for the product and no `*`: no patterns, said so.
        let mut w = Vec::new();
        let only = target(Some(&[("windows", &["w-*"])]));
        assert!(index(&rule, Some("linux"), &only, &mut w).is_empty());
        assert!(
            w[0].message.contains("no default for product `linux`"),
            "{w:?}"
        );
        // A pipeline's state wins, silently.
        rule.state
            .insert("index".into(), serde_json::json!(["routed-*"]));
        let mut w = Vec::new();
        assert_eq!(index(&rule, Some("windows"), &both, &mut w), ["routed-*"]);
        assert!(w.is_empty());
        // A target without index patterns (ES|QL) has none, whatever the state says.
        assert!(index(&rule, Some("windows"), &target(None), &mut w).is_empty());
        assert!(w.is_empty());
    }

    #[test]
    fn names_and_snake() {
        assert_eq!(elastic_name("  'Quoted' Title."), "Quoted' Title");
        assert_eq!(
            elastic_name("HackTool - Mimikatz (x64)"),
            "HackTool - Mimikatz (x64)"
        );
        assert_eq!(
            snake("Python WebServer Execution - Linux"),
            "python_webserver_execution_linux"
        );
    }

    #[test]
    fn severities_stay_in_their_bands() {
        for l in [
            None,
            Some(Level::Informational),
            Some(Level::Low),
            Some(Level::Medium),
            Some(Level::High),
            Some(Level::Critical),
        ] {
            let (s, r) = severity(l);
            assert!(risk_band(s).is_some_and(|b| b.contains(&r)), "{l:?}");
        }
    }
}
