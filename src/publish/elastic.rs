//! The Elastic rule model: a Sigma rule's metadata turned into detection-rules' fields
//! (`[metadata]`, `[rule]`, `[[rule.threat]]`). Both output formats render this model.

use std::path::PathBuf;

use serde::Serialize;

use crate::attack;
use crate::error::{Error, ErrorKind, Warning};
use crate::ir::{Level, Rule, Status};

use super::uuid::{is_uuid, uuid_v5, NAMESPACE_URL};
use super::QueryLanguage;

/// Settings that are not in the Sigma rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `rule.from`, the look-back (date math). Default `now-9m`, as Elastic's own rules.
    pub from: String,
    /// `rule.interval`. Default `5m`.
    pub interval: String,
    /// `rule.license` when the Sigma rule has none. Default `DRL-1.1` (SigmaHQ's Detection
    /// Rule License).
    pub license: String,
    /// `rule.timestamp_override`. Default `event.ingested`; `None` leaves it out.
    pub timestamp_override: Option<String>,
    /// The date (`YYYY/MM/DD`) used when a rule has no valid `date`. Default: today (UTC).
    pub today: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            from: "now-9m".into(),
            interval: "5m".into(),
            license: "DRL-1.1".into(),
            timestamp_override: Some("event.ingested".into()),
            today: today_utc(),
        }
    }
}

/// Today's date in UTC as `YYYY/MM/DD`.
#[must_use]
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}/{m:02}/{d:02}")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A rule in detection-rules' model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElasticRule {
    /// `[metadata]`.
    pub metadata: Metadata,
    /// `[rule]`.
    pub rule: RuleData,
    /// Where the rule goes under an output folder: `<os folder>/<primary tactic>_<name>`,
    /// without extension.
    #[serde(skip)]
    pub stem: PathBuf,
}

/// `[metadata]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// `YYYY/MM/DD` from the Sigma `date`.
    pub creation_date: String,
    /// Set (to `updated_date`) for deprecated rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecation_date: Option<String>,
    /// Integration packages, from the pipeline's `integration` state.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub integration: Vec<String>,
    /// `production`, `development` or `deprecated`, from the Sigma `status`.
    pub maturity: &'static str,
    /// `YYYY/MM/DD` from the Sigma `modified` (else `date`).
    pub updated_date: String,
}

/// `[rule]` (plus `threat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleData {
    /// The Sigma `author`, split on commas.
    pub author: Vec<String>,
    /// The Sigma `description` (or the title), trimmed.
    pub description: String,
    /// The Sigma `falsepositives`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub false_positives: Vec<String>,
    /// The look-back.
    pub from: String,
    /// Index patterns (empty for ES|QL, whose query names its source).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub index: Vec<String>,
    /// The schedule.
    pub interval: String,
    /// `eql`, `kuery`, `lucene` or `esql`.
    pub language: &'static str,
    /// The rule's licence.
    pub license: String,
    /// The Sigma `title`, trimmed to detection-rules' name pattern.
    pub name: String,
    /// Markdown note: provenance, false positives, references.
    pub note: String,
    /// The Sigma `references`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Within the band of `severity`.
    pub risk_score: u8,
    /// The Sigma `id` (lower-case), or a UUIDv5 derived from the rule.
    pub rule_id: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: &'static str,
    /// Tags in Elastic's vocabulary.
    pub tags: Vec<String>,
    /// Usually `event.ingested`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_override: Option<String>,
    /// `eql`, `query` or `esql`.
    #[serde(rename = "type")]
    pub rule_type: &'static str,
    /// The rendered query.
    pub query: String,
    /// One entry per tactic; the first is the primary tactic.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub threat: Vec<Threat>,
}

/// A `[[rule.threat]]` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Threat {
    /// `MITRE ATT&CK`.
    pub framework: &'static str,
    /// The tactic.
    pub tactic: Ref,
    /// Its techniques.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub technique: Vec<TechniqueRef>,
}

/// An id, official name and reference URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ref {
    /// `TA0010`, `T1048`, `T1048.003`.
    pub id: String,
    /// The official name.
    pub name: String,
    /// The URL, with trailing slash.
    pub reference: String,
}

/// A technique with its sub-techniques.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TechniqueRef {
    /// `T1048`.
    pub id: String,
    /// The official name.
    pub name: String,
    /// The URL, with trailing slash.
    pub reference: String,
    /// Sub-techniques.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subtechnique: Vec<Ref>,
}

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

/// The operating systems detection-rules files rules under.
const OS: &[(&str, &str, &str)] = &[
    // (Sigma product, OS tag, folder)
    ("windows", "OS: Windows", "windows"),
    ("linux", "OS: Linux", "linux"),
    ("macos", "OS: macOS", "macos"),
];

/// Index pattern prefix → `Data Source:` tag (detection-rules `test_required_tags` and the
/// Elastic integrations' data streams).
const INDEX_SOURCES: &[(&str, &str)] = &[
    ("logs-endpoint.events.", "Elastic Defend"),
    ("endgame-", "Elastic Endgame"),
    ("logs-crowdstrike.fdr", "Crowdstrike"),
    ("logs-sentinel_one_cloud_funnel.", "SentinelOne"),
    ("logs-windows.sysmon_operational", "Sysmon"),
    ("logs-system.security", "Windows Security Event Logs"),
    ("logs-system.system", "Windows System Event Logs"),
    ("logs-system.application", "Windows Application Event Logs"),
    ("logs-windows.powershell", "PowerShell Logs"),
    ("logs-auditd_manager.", "Auditd Manager"),
    ("logs-m365_defender.", "Microsoft Defender XDR"),
    ("logs-aws.cloudtrail", "AWS CloudTrail"),
    ("logs-azure.", "Azure"),
    ("logs-gcp.", "GCP"),
    ("logs-okta.", "Okta"),
    ("logs-o365.", "Microsoft 365"),
    ("logs-github.", "Github"),
    ("logs-zeek.", "Zeek"),
];

/// Sigma logsource (product, service or category) → `Data Source:` tag.
const LOGSOURCE_SOURCES: &[(&str, &str, &str)] = &[
    // (product, service, tag); "*" = any product
    ("windows", "sysmon", "Sysmon"),
    ("windows", "security", "Windows Security Event Logs"),
    ("windows", "system", "Windows System Event Logs"),
    ("windows", "application", "Windows Application Event Logs"),
    ("windows", "powershell", "PowerShell Logs"),
    ("windows", "powershell-classic", "PowerShell Logs"),
    ("linux", "auditd", "Auditd Manager"),
    ("aws", "cloudtrail", "AWS CloudTrail"),
    ("azure", "*", "Azure"),
    ("gcp", "*", "GCP"),
    ("okta", "*", "Okta"),
    ("m365", "*", "Microsoft 365"),
    ("github", "*", "Github"),
    ("zeek", "*", "Zeek"),
];

/// Sigma categories read from PowerShell logs.
const POWERSHELL_CATEGORIES: &[&str] = &[
    "ps_script",
    "ps_module",
    "ps_classic_start",
    "ps_classic_provider_start",
    "ps_classic_script",
];

/// Sigma products of cloud and SaaS services (`Domain: Cloud`).
const CLOUD_PRODUCTS: &[&str] = &[
    "aws",
    "azure",
    "gcp",
    "m365",
    "okta",
    "onelogin",
    "github",
    "google_workspace",
    "bitbucket",
];

/// Sigma categories of network devices and sensors (`Domain: Network`).
const NETWORK_CATEGORIES: &[&str] = &["firewall", "dns", "proxy"];

/// Index patterns when no pipeline routed the rule, by product.
fn default_index(product: Option<&str>) -> Vec<String> {
    let v: &[&str] = match product {
        Some("windows") => &["logs-endpoint.events.*", "logs-windows.*", "winlogbeat-*"],
        Some("linux") => &["logs-endpoint.events.*", "auditbeat-*"],
        Some("macos") => &["logs-endpoint.events.*"],
        _ => &["logs-*"],
    };
    v.iter().map(|s| (*s).to_string()).collect()
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

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Converts a Sigma date (`YYYY-MM-DD`, or the legacy `YYYY/MM/DD`) to `YYYY/MM/DD`.
fn elastic_date(d: &str) -> Option<String> {
    let d = d.trim().replace('-', "/");
    let b = d.as_bytes();
    let ok = b.len() == 10
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'/',
            _ => c.is_ascii_digit(),
        });
    ok.then_some(d)
}

/// The rule name trimmed to detection-rules' pattern `^[a-zA-Z0-9].+?[a-zA-Z0-9\[\]()]$`.
fn elastic_name(title: &str) -> String {
    let t = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = t.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    t.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || "[]()".contains(c)))
        .to_string()
}

/// `snake_case` ASCII form of a name for file names.
#[must_use]
pub fn snake(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_');
    let mut out: String = out.chars().take(100).collect();
    while out.ends_with('_') {
        out.pop();
    }
    out
}

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
    note
}

/// Builds the Elastic model of `rule` with its rendered `query`.
///
/// # Errors
/// An empty query, or a title with no letter or digit.
#[allow(clippy::too_many_lines)]
pub fn build(
    rule: &Rule,
    query: &str,
    language: QueryLanguage,
    opts: &Options,
) -> Result<(ElasticRule, Vec<Warning>), Error> {
    let m = &rule.meta;
    let file = rule.origin.file.clone();
    let located = |e: Error| match &file {
        Some(f) => e.in_file(f.clone()),
        None => e,
    };
    let mut warnings = Vec::new();
    let warn = |w: &mut Vec<Warning>, message: String, at: &str| {
        w.push(Warning {
            message,
            at: Some(at.to_string()),
        });
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
    let name = elastic_name(&m.title);
    if name.chars().count() < 2 {
        return Err(located(
            Error::new(ErrorKind::InvalidValue {
                expected: "a title with at least two letters or digits".into(),
                found: format!("`{}`", m.title),
            })
            .at("title")
            .hint("Elastic rule names must match ^[a-zA-Z0-9].+?[a-zA-Z0-9\\[\\]()]$"),
        ));
    }

    // [metadata]
    let creation_date = match m.date.as_deref().map(|d| (d, elastic_date(d))) {
        Some((_, Some(d))) => d,
        Some((d, None)) => {
            warn(
                &mut warnings,
                format!(
                    "date `{d}` is not YYYY-MM-DD; creation_date set to {}",
                    opts.today
                ),
                "date",
            );
            opts.today.clone()
        }
        None => {
            warn(
                &mut warnings,
                format!("rule has no date; creation_date set to {}", opts.today),
                "date",
            );
            opts.today.clone()
        }
    };
    let mut updated_date = match m.modified.as_deref() {
        Some(d) => elastic_date(d).unwrap_or_else(|| {
            warn(
                &mut warnings,
                format!("modified `{d}` is not YYYY-MM-DD; updated_date set to creation_date"),
                "modified",
            );
            creation_date.clone()
        }),
        None => creation_date.clone(),
    };
    if updated_date < creation_date {
        warn(
            &mut warnings,
            format!("modified {updated_date} is before date {creation_date}; updated_date set to creation_date"),
            "modified",
        );
        updated_date.clone_from(&creation_date);
    }
    let maturity = maturity(m.status);
    let metadata = Metadata {
        deprecation_date: (maturity == "deprecated").then(|| updated_date.clone()),
        integration: state_strings(rule, "integration").unwrap_or_default(),
        maturity,
        creation_date,
        updated_date,
    };

    // rule_id
    let rule_id = match &m.id {
        Some(id) if is_uuid(&id.trim().to_ascii_lowercase()) => id.trim().to_ascii_lowercase(),
        Some(id) => {
            let derived = uuid_v5(&NAMESPACE_URL, &format!("sigmat:sigma-id:{id}"));
            warn(
                &mut warnings,
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
                &mut warnings,
                format!("rule has no id; rule_id {derived} derived from its title and log source"),
                "id",
            );
            derived
        }
    };

    // threat
    let (mapping, tag_warnings) = attack::map_tags(&m.tags);
    warnings.extend(tag_warnings);
    let threat: Vec<Threat> = mapping
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
        .collect();

    // index
    let ls = &rule.logsource;
    let product = ls.product.as_deref().map(str::to_ascii_lowercase);
    let index = if language == QueryLanguage::Esql {
        Vec::new()
    } else if let Some(ix) = state_strings(rule, "index").filter(|v| !v.is_empty()) {
        ix
    } else {
        let ix = default_index(product.as_deref());
        warn(
            &mut warnings,
            format!(
                "no index from a pipeline; using the default for product `{}`: {}",
                product.as_deref().unwrap_or("(none)"),
                ix.join(", ")
            ),
            "logsource",
        );
        ix
    };

    // tags
    let os = OS.iter().find(|(p, _, _)| product.as_deref() == Some(*p));
    let category = ls.category.as_deref().map(str::to_ascii_lowercase);
    let service = ls.service.as_deref().map(str::to_ascii_lowercase);
    let mut tags: Vec<String> = Vec::new();
    if os.is_some() {
        tags.push("Domain: Endpoint".into());
    } else if product
        .as_deref()
        .is_some_and(|p| CLOUD_PRODUCTS.contains(&p))
    {
        tags.push("Domain: Cloud".into());
    } else if product.as_deref() == Some("zeek")
        || category
            .as_deref()
            .is_some_and(|c| NETWORK_CATEGORIES.contains(&c))
    {
        tags.push("Domain: Network".into());
    } else if category.as_deref() == Some("webserver") {
        tags.push("Domain: Web".into());
    }
    if let Some((_, os_tag, _)) = os {
        tags.push((*os_tag).into());
    }
    tags.push("Use Case: Threat Detection".into());
    for t in &threat {
        push_unique(&mut tags, format!("Tactic: {}", t.tactic.name));
    }
    for ix in &index {
        if let Some((_, src)) = INDEX_SOURCES.iter().find(|(p, _)| ix.starts_with(p)) {
            push_unique(&mut tags, format!("Data Source: {src}"));
        }
    }
    for (p, s, src) in LOGSOURCE_SOURCES {
        if product.as_deref() == Some(*p) && (*s == "*" || service.as_deref() == Some(*s)) {
            push_unique(&mut tags, format!("Data Source: {src}"));
        }
    }
    if product.as_deref() == Some("windows")
        && category
            .as_deref()
            .is_some_and(|c| POWERSHELL_CATEGORIES.contains(&c))
    {
        push_unique(&mut tags, "Data Source: PowerShell Logs".into());
    }
    tags.push("Resources: Investigation Guide".into());

    // the rest of [rule]
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
            &mut warnings,
            "rule has no author; author set to \"Unknown\"".into(),
            "author",
        );
        author.push("Unknown".into());
    }
    let description = match m.description.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => d.to_string(),
        _ => {
            warn(
                &mut warnings,
                "rule has no description; the title is used".into(),
                "description",
            );
            m.title.trim().to_string()
        }
    };
    if m.level.is_none() {
        warn(
            &mut warnings,
            "rule has no level; severity set to low".into(),
            "level",
        );
    }
    let (severity, risk_score) = severity(m.level);
    let mut note = build_note(rule, &rule_id);
    if let Some(def) = ls.definition.as_deref().filter(|d| !d.trim().is_empty()) {
        note.push_str(&format!("\n### Log source\n\n{}\n", def.trim()));
    }

    let folder = match (os, product.as_deref()) {
        (Some((_, _, f)), _) => PathBuf::from(f),
        (None, Some(p)) => PathBuf::from("integrations").join(snake(p)),
        (None, None) => PathBuf::from("cross-platform"),
    };
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
        language: language.language(),
        license: m.license.clone().unwrap_or_else(|| opts.license.clone()),
        name,
        note,
        references: m.references.iter().map(|r| r.trim().to_string()).collect(),
        risk_score,
        rule_id,
        severity,
        tags,
        timestamp_override: opts.timestamp_override.clone(),
        rule_type: language.rule_type(),
        query: query.strip_suffix('\n').unwrap_or(query).to_string(),
        threat,
    };
    Ok((
        ElasticRule {
            metadata,
            rule: rule_data,
            stem: folder.join(file_stem),
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_670), (2026, 8, 5));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
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
