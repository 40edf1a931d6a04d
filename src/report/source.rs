//! What a rule page shows of the rule as written: its body, description, log source, the
//! condition and each selection (Sigma), or the query (Elastic). Display only: what the rule
//! *matches* is read from the IR, never from this text.

use serde::Serialize;
use serde_yaml::Value as Yaml;

/// An Elastic rule's query as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Query {
    /// `rule.type` (`eql`, `query`, `esql`...).
    pub rule_type: String,
    /// `rule.language`, when there is one.
    pub language: String,
    /// The query text (empty for rules without one, such as machine learning).
    pub text: String,
}

/// The written form of one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Detail {
    /// `description`.
    pub description: String,
    /// `level` (Sigma) or `severity` (Elastic).
    pub level: String,
    /// `status` (Sigma) or `maturity` (Elastic).
    pub status: String,
    /// Authors.
    pub author: String,
    /// References, as written.
    pub references: Vec<String>,
    /// The log source (`product`, `category`, `service`, other keys), as written.
    pub logsource: Vec<(String, String)>,
    /// The rule body: the file's text.
    pub body: String,
    /// The body's language: `yaml` or `toml`.
    pub body_lang: String,
    /// The Sigma condition(s), as written.
    pub conditions: Vec<String>,
    /// The Sigma selections: name and YAML text, in the rule's order.
    pub selections: Vec<(String, String)>,
    /// An Elastic rule's query.
    pub query: Option<Query>,
    /// An Elastic rule's index patterns.
    pub index: Vec<String>,
}

impl Detail {
    /// The log source value of `key`.
    #[must_use]
    pub fn logsource_value(&self, key: &str) -> Option<&str> {
        self.logsource
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Null | Yaml::Sequence(_) | Yaml::Mapping(_) | Yaml::Tagged(_) => None,
    }
}

fn text_of(v: Option<&Yaml>) -> String {
    match v {
        Some(Yaml::Sequence(xs)) => xs.iter().filter_map(scalar).collect::<Vec<_>>().join(", "),
        Some(v) => scalar(v).unwrap_or_default(),
        None => String::new(),
    }
}

/// The written form of document `document` of a Sigma YAML file's `text`. A document that does
/// not read as a mapping gives the body alone.
#[must_use]
pub fn sigma(text: &str, document: usize) -> Detail {
    let mut d = Detail {
        body: text.to_string(),
        body_lang: "yaml".into(),
        ..Detail::default()
    };
    let docs: Vec<Yaml> = serde_yaml::Deserializer::from_str(text)
        .filter_map(|de| serde::Deserialize::deserialize(de).ok())
        .collect();
    let Some(Yaml::Mapping(m)) = docs.get(document) else {
        return d;
    };
    let get = |k: &str| m.get(Yaml::String(k.into()));
    d.description = text_of(get("description")).trim().to_string();
    d.level = text_of(get("level"));
    d.status = text_of(get("status"));
    d.author = text_of(get("author"));
    if let Some(Yaml::Sequence(xs)) = get("references") {
        d.references = xs.iter().filter_map(scalar).collect();
    }
    if let Some(Yaml::Mapping(ls)) = get("logsource") {
        d.logsource = ls
            .iter()
            .filter_map(|(k, v)| Some((scalar(k)?, scalar(v)?)))
            .collect();
    }
    if let Some(c) = get("correlation") {
        let mut one = serde_yaml::Mapping::new();
        one.insert(Yaml::String("correlation".into()), c.clone());
        let yaml = serde_yaml::to_string(&Yaml::Mapping(one)).unwrap_or_default();
        d.selections.push(("correlation".into(), yaml));
    }
    if let Some(Yaml::Mapping(det)) = get("detection") {
        for (k, v) in det {
            let Some(name) = scalar(k) else { continue };
            if name == "condition" {
                match v {
                    Yaml::Sequence(xs) => d.conditions.extend(xs.iter().filter_map(scalar)),
                    other => d.conditions.extend(scalar(other)),
                }
                continue;
            }
            let mut one = serde_yaml::Mapping::new();
            one.insert(k.clone(), v.clone());
            let yaml = serde_yaml::to_string(&Yaml::Mapping(one)).unwrap_or_default();
            d.selections.push((name, yaml));
        }
    }
    d
}
