//! `rule.tags` in Elastic's vocabulary (`Domain:`, `OS:`, `Use Case:`, `Tactic:`,
//! `Data Source:`, `Resources:`) and the operating-system folder detection-rules files a rule
//! under, from the Sigma log source, the threat blocks and the index patterns.

use std::path::PathBuf;

use super::model::{snake, Threat};

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
    // (product, service, tag); "*" = any service
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

/// A rule's log source, lower-cased.
#[derive(Debug, Clone, Default)]
pub(super) struct Source {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

impl Source {
    fn os(&self) -> Option<&'static (&'static str, &'static str, &'static str)> {
        OS.iter()
            .find(|(p, _, _)| self.product.as_deref() == Some(*p))
    }

    /// The folder under an output folder: the OS folder, `integrations/<product>`, or
    /// `cross-platform`.
    pub(super) fn folder(&self) -> PathBuf {
        match (self.os(), self.product.as_deref()) {
            (Some((_, _, f)), _) => PathBuf::from(f),
            (None, Some(p)) => PathBuf::from("integrations").join(snake(p)),
            (None, None) => PathBuf::from("cross-platform"),
        }
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// The rule's tags, in detection-rules' order.
pub(super) fn tags(ls: &Source, threat: &[Threat], index: &[String]) -> Vec<String> {
    let product = ls.product.as_deref();
    let category = ls.category.as_deref();
    let os = ls.os();
    let mut tags: Vec<String> = Vec::new();
    if os.is_some() {
        tags.push("Domain: Endpoint".into());
    } else if product.is_some_and(|p| CLOUD_PRODUCTS.contains(&p)) {
        tags.push("Domain: Cloud".into());
    } else if product == Some("zeek") || category.is_some_and(|c| NETWORK_CATEGORIES.contains(&c)) {
        tags.push("Domain: Network".into());
    } else if category == Some("webserver") {
        tags.push("Domain: Web".into());
    }
    if let Some((_, os_tag, _)) = os {
        tags.push((*os_tag).into());
    }
    tags.push("Use Case: Threat Detection".into());
    for t in threat {
        push_unique(&mut tags, format!("Tactic: {}", t.tactic.name));
    }
    for ix in index {
        if let Some((_, src)) = INDEX_SOURCES.iter().find(|(p, _)| ix.starts_with(p)) {
            push_unique(&mut tags, format!("Data Source: {src}"));
        }
    }
    for (p, s, src) in LOGSOURCE_SOURCES {
        if product == Some(*p) && (*s == "*" || ls.service.as_deref() == Some(*s)) {
            push_unique(&mut tags, format!("Data Source: {src}"));
        }
    }
    if product == Some("windows") && category.is_some_and(|c| POWERSHELL_CATEGORIES.contains(&c)) {
        push_unique(&mut tags, "Data Source: PowerShell Logs".into());
    }
    tags.push("Resources: Investigation Guide".into());
    tags
}
