//! MITRE ATT&CK Enterprise, embedded: techniques, sub-techniques and the 14 tactics, looked up
//! by Sigma tag (`attack.t1048.003`, `attack.exfiltration`).
//!
//! The technique table (`techniques.tsv`) is generated from
//! `../shared/data/attack-patterns-lookup-v18.1.json` by `scripts/gen_attack.py` and committed;
//! `cargo test --test attack` checks that it still matches the JSON. The tactic table
//! ([`TACTICS`]) is written here because the lookup file holds no tactic objects. Licence and
//! provenance: `src/attack/NOTICE.md` (ATT&CK content © The MITRE Corporation, used under the
//! ATT&CK Terms of Use).
//!
//! Unknown, revoked or deprecated technique tags and unknown tactic tags are reported as
//! [`Warning`]s and never invented.

pub mod crosswalk;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::error::Warning;

/// The ATT&CK release the embedded tables come from.
pub const ATTACK_VERSION: &str = "18.1";

/// The generated technique table (see the module docs for its format).
pub const TECHNIQUES_TSV: &str = include_str!("techniques.tsv");

/// Tactic short names of ATT&CK v19 (which split Defense Evasion), used by current SigmaHQ
/// rules. Their ids are not in the embedded v18.1 data: [`parse_tag`] reports them and
/// [`map_tags`] files them as Defense Evasion ([`crosswalk::tactic_from_v19`]).
pub const NEWER_TACTICS: &[&str] = &["stealth", "defense-impairment"];

/// An ATT&CK enterprise tactic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tactic {
    /// `TA0010`.
    pub id: &'static str,
    /// `Exfiltration`.
    pub name: &'static str,
    /// The short name used by ATT&CK kill chains and Sigma tags: `exfiltration`.
    pub short: &'static str,
}

impl Tactic {
    /// The reference URL in detection-rules' checked form,
    /// `https://attack.mitre.org/tactics/TA0010/`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("https://attack.mitre.org/tactics/{}/", self.id)
    }

    /// The Sigma tag, `attack.exfiltration`.
    #[must_use]
    pub fn sigma_tag(&self) -> String {
        format!("attack.{}", self.short)
    }
}

const fn tactic(id: &'static str, name: &'static str, short: &'static str) -> Tactic {
    Tactic { id, name, short }
}

/// The 14 enterprise tactics of ATT&CK v18, in matrix order.
pub static TACTICS: [Tactic; 14] = [
    tactic("TA0043", "Reconnaissance", "reconnaissance"),
    tactic("TA0042", "Resource Development", "resource-development"),
    tactic("TA0001", "Initial Access", "initial-access"),
    tactic("TA0002", "Execution", "execution"),
    tactic("TA0003", "Persistence", "persistence"),
    tactic("TA0004", "Privilege Escalation", "privilege-escalation"),
    tactic("TA0005", "Defense Evasion", "defense-evasion"),
    tactic("TA0006", "Credential Access", "credential-access"),
    tactic("TA0007", "Discovery", "discovery"),
    tactic("TA0008", "Lateral Movement", "lateral-movement"),
    tactic("TA0009", "Collection", "collection"),
    tactic("TA0011", "Command and Control", "command-and-control"),
    tactic("TA0010", "Exfiltration", "exfiltration"),
    tactic("TA0040", "Impact", "impact"),
];

/// A tactic by id (`TA0010`), short name (`exfiltration`, also the legacy `defense_evasion`
/// spelling) or name (`Defense Evasion`); case-insensitive.
#[must_use]
pub fn tactic_by(key: &str) -> Option<&'static Tactic> {
    let k = key.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    TACTICS.iter().find(|t| {
        t.id.eq_ignore_ascii_case(&k)
            || t.short == k
            || t.name.to_ascii_lowercase().replace(' ', "-") == k
    })
}

/// An ATT&CK technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Technique {
    /// `T1048` or `T1048.003`.
    pub id: &'static str,
    /// The official name, e.g. `Exfiltration Over Unencrypted Non-C2 Protocol`.
    pub name: &'static str,
    /// The tactics it belongs to, in source order.
    pub tactics: Vec<&'static Tactic>,
    /// Revoked in this ATT&CK release (replaced by another technique).
    pub revoked: bool,
    /// Deprecated in this ATT&CK release.
    pub deprecated: bool,
}

impl Technique {
    /// Whether this is a sub-technique (`T1048.003`).
    #[must_use]
    pub fn is_subtechnique(&self) -> bool {
        self.id.contains('.')
    }

    /// Neither revoked nor deprecated.
    #[must_use]
    pub fn is_active(&self) -> bool {
        !self.revoked && !self.deprecated
    }

    /// The parent technique's id (`T1048` for `T1048.003`).
    #[must_use]
    pub fn parent_id(&self) -> Option<&'static str> {
        self.id.split_once('.').map(|(p, _)| p)
    }

    /// The parent technique of a sub-technique.
    #[must_use]
    pub fn parent(&self) -> Option<&'static Technique> {
        self.parent_id().and_then(technique)
    }

    /// The reference URL in detection-rules' checked form:
    /// `https://attack.mitre.org/techniques/T1048/` or
    /// `https://attack.mitre.org/techniques/T1048/003/`.
    #[must_use]
    pub fn url(&self) -> String {
        format!(
            "https://attack.mitre.org/techniques/{}/",
            self.id.replace('.', "/")
        )
    }

    /// The Sigma tag, `attack.t1048.003`.
    #[must_use]
    pub fn sigma_tag(&self) -> String {
        format!("attack.{}", self.id.to_ascii_lowercase())
    }
}

struct Table {
    techniques: Vec<Technique>,
    by_id: HashMap<&'static str, usize>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let techniques = parse_table(TECHNIQUES_TSV)
            .unwrap_or_else(|e| panic!("embedded techniques.tsv is malformed: {e}"));
        let by_id = techniques
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id, i))
            .collect();
        Table { techniques, by_id }
    })
}

/// Parses a table in the format of `techniques.tsv`. Public so the generator test can compare
/// the committed table with a freshly generated one.
///
/// # Errors
/// A line that does not have four tab-separated fields, or names an unknown tactic or status.
pub fn parse_table(text: &'static str) -> Result<Vec<Technique>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&'static str> = line.split('\t').collect();
        let [id, name, tactics, status] = cols[..] else {
            return Err(format!("line {}: expected 4 fields", n + 1));
        };
        let tactics = tactics
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                TACTICS
                    .iter()
                    .find(|t| t.short == s)
                    .ok_or_else(|| format!("line {}: unknown tactic `{s}`", n + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (mut revoked, mut deprecated) = (false, false);
        for s in status.split(',') {
            match s {
                "active" => {}
                "revoked" => revoked = true,
                "deprecated" => deprecated = true,
                other => return Err(format!("line {}: unknown status `{other}`", n + 1)),
            }
        }
        out.push(Technique {
            id,
            name,
            tactics,
            revoked,
            deprecated,
        });
    }
    Ok(out)
}

/// Every technique and sub-technique of the embedded release (revoked and deprecated
/// included), sorted by id.
#[must_use]
pub fn techniques() -> &'static [Technique] {
    &table().techniques
}

/// A technique by id (`T1048.003`, case-insensitive), whatever its status.
#[must_use]
pub fn technique(id: &str) -> Option<&'static Technique> {
    let t = table();
    let id = id.trim().to_ascii_uppercase();
    t.by_id.get(id.as_str()).map(|&i| &t.techniques[i])
}

/// What an `attack.*` Sigma tag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttackTag {
    /// A tactic tag such as `attack.exfiltration`.
    Tactic(&'static Tactic),
    /// An active technique or sub-technique tag such as `attack.t1048.003`.
    Technique(&'static Technique),
    /// A group (`attack.g0032`), software (`attack.s0002`), campaign (`attack.c0010`),
    /// mitigation (`attack.m1042`) or data-source tag: valid, but not part of a threat mapping.
    Other,
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Reads one Sigma tag. `Ok(None)` for tags outside the `attack.` namespace; a [`Warning`] for
/// an unknown, revoked or deprecated technique and for an unknown tactic.
///
/// # Errors
/// The warning to report; the tag must then be left out of any mapping.
pub fn parse_tag(tag: &str) -> Result<Option<AttackTag>, Warning> {
    let t = tag.trim();
    let Some(rest) = t
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("attack."))
        .map(|_| &t[7..])
    else {
        return Ok(None);
    };
    let lower = rest.to_ascii_lowercase();
    let warn = |message: String| Warning { message, at: None };
    if let Some(num) = lower.strip_prefix('t') {
        let (main, sub) = num.split_once('.').unwrap_or((num, ""));
        if digits(main, 4) && (sub.is_empty() || digits(sub, 3)) {
            return match technique(&lower) {
                None => Err(warn(format!(
                    "tag `{tag}`: no technique {} in ATT&CK v{ATTACK_VERSION}; left out of the threat mapping",
                    lower.to_ascii_uppercase()
                ))),
                Some(x) if x.revoked => Err(warn(format!(
                    "tag `{tag}`: technique {} \"{}\" is revoked in ATT&CK v{ATTACK_VERSION}; left out of the threat mapping",
                    x.id, x.name
                ))),
                Some(x) if x.deprecated => Err(warn(format!(
                    "tag `{tag}`: technique {} \"{}\" is deprecated in ATT&CK v{ATTACK_VERSION}; left out of the threat mapping",
                    x.id, x.name
                ))),
                Some(x) => Ok(Some(AttackTag::Technique(x))),
            };
        }
    }
    if lower.len() == 6 && lower.starts_with("ta") && digits(&lower[2..], 4) {
        return tactic_by(&lower)
            .map(|t| Some(AttackTag::Tactic(t)))
            .ok_or_else(|| {
                warn(format!(
                    "tag `{tag}`: no enterprise tactic {} in ATT&CK v{ATTACK_VERSION}",
                    lower.to_ascii_uppercase()
                ))
            });
    }
    if let Some(num) = lower.get(1..) {
        if lower.len() == 5 && matches!(&lower[..1], "g" | "s" | "c" | "m") && digits(num, 4) {
            return Ok(Some(AttackTag::Other));
        }
    }
    if lower.starts_with("ds") && lower.len() == 6 && digits(&lower[2..], 4) {
        return Ok(Some(AttackTag::Other));
    }
    if NEWER_TACTICS.contains(&lower.as_str()) {
        return Err(warn(format!(
            "tag `{tag}`: a tactic of a newer ATT&CK release, not in v{ATTACK_VERSION}; techniques are filed under their v{ATTACK_VERSION} tactics"
        )));
    }
    tactic_by(&lower)
        .map(|t| Some(AttackTag::Tactic(t)))
        .ok_or_else(|| {
            warn(format!(
                "tag `{tag}`: not an ATT&CK v{ATTACK_VERSION} enterprise tactic or technique; left out of the threat mapping"
            ))
        })
}

/// The v18.1 reading of an ATT&CK v19 tag that v18.1 does not know, through the crosswalk
/// ([`crosswalk::from_v19`], [`crosswalk::tactic_from_v19`]), with a note saying so.
fn translate_v19(tag: &str) -> Option<(AttackTag, String)> {
    let rest = tag.trim().get(7..)?;
    if let Some(t) = crosswalk::tactic_from_v19(rest) {
        let note = format!(
            "tag `{tag}`: ATT&CK v19 tactic (split from Defense Evasion), written as its v{ATTACK_VERSION} tactic {} {}",
            t.id, t.name
        );
        return Some((AttackTag::Tactic(t), note));
    }
    let t = crosswalk::from_v19(rest)?;
    let note = format!(
        "tag `{tag}`: ATT&CK v19 technique {}, written as its v{ATTACK_VERSION} counterpart {} \"{}\" (Elastic's v18-to-v19 crosswalk)",
        rest.to_ascii_uppercase(),
        t.id,
        t.name
    );
    Some((AttackTag::Technique(t), note))
}

/// One tactic of a threat mapping with the techniques filed under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TacticMapping {
    /// The tactic.
    pub tactic: &'static Tactic,
    /// Its techniques, sorted by id.
    pub techniques: Vec<TechniqueMapping>,
}

/// A technique of a threat mapping with the sub-techniques the rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TechniqueMapping {
    /// The (parent) technique.
    pub technique: &'static Technique,
    /// Its sub-techniques named by the rule, sorted by id.
    pub subtechniques: Vec<&'static Technique>,
}

/// Builds a threat mapping from a rule's tags: one entry per tactic, in the order the tags
/// name them; each technique filed under those of its ATT&CK tactics that the rule names, or,
/// when the rule names none of them, under the earliest of its tactics in matrix order (which
/// is then added);
/// a sub-technique is filed under its parent technique. ATT&CK v19 tags that v18.1 does not
/// know are read through the crosswalk where it has an answer (a warning says so). Returns
/// the warnings of [`parse_tag`] (or of that translation) with the key path `tags[i]`.
#[must_use]
pub fn map_tags(tags: &[String]) -> (Vec<TacticMapping>, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut tactics: Vec<&'static Tactic> = Vec::new();
    let mut techs: Vec<&'static Technique> = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        match parse_tag(tag) {
            Ok(Some(AttackTag::Tactic(t))) => {
                if !tactics.contains(&t) {
                    tactics.push(t);
                }
            }
            Ok(Some(AttackTag::Technique(t))) => {
                if !techs.contains(&t) {
                    techs.push(t);
                }
            }
            Ok(Some(AttackTag::Other) | None) => {}
            Err(mut w) => {
                w.at = Some(format!("tags[{i}]"));
                match translate_v19(tag) {
                    Some((AttackTag::Tactic(t), note)) => {
                        if !tactics.contains(&t) {
                            tactics.push(t);
                        }
                        w.message = note;
                    }
                    Some((AttackTag::Technique(t), note)) => {
                        if !techs.contains(&t) {
                            techs.push(t);
                        }
                        w.message = note;
                    }
                    Some((AttackTag::Other, _)) | None => {}
                }
                warnings.push(w);
            }
        }
    }
    let mut out: Vec<TacticMapping> = tactics
        .iter()
        .map(|t| TacticMapping {
            tactic: t,
            techniques: Vec::new(),
        })
        .collect();
    for tech in techs {
        let (parent, sub) = match tech.parent() {
            Some(p) => (p, Some(tech)),
            None => (tech, None),
        };
        let mut homes: Vec<&'static Tactic> = tech
            .tactics
            .iter()
            .copied()
            .filter(|t| tactics.contains(t))
            .collect();
        if homes.is_empty() {
            let matrix_pos = |t: &&'static Tactic| TACTICS.iter().position(|x| x == *t);
            let Some(first) = tech.tactics.iter().copied().min_by_key(matrix_pos) else {
                continue;
            };
            homes.push(first);
        }
        for home in homes {
            let idx = match out.iter().position(|m| m.tactic == home) {
                Some(i) => i,
                None => {
                    out.push(TacticMapping {
                        tactic: home,
                        techniques: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            let entry = &mut out[idx];
            let ti = match entry.techniques.iter().position(|m| m.technique == parent) {
                Some(i) => i,
                None => {
                    entry.techniques.push(TechniqueMapping {
                        technique: parent,
                        subtechniques: Vec::new(),
                    });
                    entry.techniques.len() - 1
                }
            };
            if let Some(s) = sub {
                let subs = &mut entry.techniques[ti].subtechniques;
                if !subs.contains(&s) {
                    subs.push(s);
                }
            }
        }
    }
    for m in &mut out {
        m.techniques.sort_by_key(|t| t.technique.id);
        for t in &mut m.techniques {
            t.subtechniques.sort_by_key(|s| s.id);
        }
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_tags_map_to_exfiltration() {
        let tags = vec!["attack.exfiltration".into(), "attack.t1048.003".into()];
        let (m, w) = map_tags(&tags);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].tactic.id, "TA0010");
        assert_eq!(
            m[0].tactic.url(),
            "https://attack.mitre.org/tactics/TA0010/"
        );
        let t = &m[0].techniques[0];
        assert_eq!(t.technique.id, "T1048");
        assert_eq!(t.technique.name, "Exfiltration Over Alternative Protocol");
        assert_eq!(t.subtechniques[0].id, "T1048.003");
        assert_eq!(
            t.subtechniques[0].name,
            "Exfiltration Over Unencrypted Non-C2 Protocol"
        );
        assert_eq!(
            t.subtechniques[0].url(),
            "https://attack.mitre.org/techniques/T1048/003/"
        );
    }

    #[test]
    fn unknown_and_revoked_are_reported_not_invented() {
        let tags = vec![
            "attack.t9999".into(),
            "attack.t1002".into(),
            "attack.stealthiness".into(),
            "attack.g0032".into(),
            "car.2016-04-005".into(),
        ];
        let (m, w) = map_tags(&tags);
        assert!(m.is_empty());
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].message.contains("no technique T9999"));
        assert!(w[1].message.contains("revoked"));
        assert_eq!(w[1].at.as_deref(), Some("tags[1]"));
        assert!(w[2].message.contains("stealthiness"));
    }

    #[test]
    fn v19_tags_are_written_through_the_crosswalk() {
        let tags = vec![
            "attack.stealth".into(),
            "attack.t1685".into(),
            "attack.t1690".into(),
        ];
        let (m, w) = map_tags(&tags);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].tactic.id, "TA0005");
        assert_eq!(m[0].techniques[0].technique.id, "T1562");
        assert_eq!(m[0].techniques[0].subtechniques[0].id, "T1562.001");
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].message.contains("written as its v18.1 tactic TA0005"));
        assert!(w[1].message.contains("counterpart T1562.001"));
        assert!(w[2].message.contains("no technique T1690"));
    }

    #[test]
    fn technique_without_its_tactic_is_filed_under_its_own() {
        let tags = vec!["attack.execution".into(), "attack.t1003.001".into()];
        let (m, _) = map_tags(&tags);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].tactic.name, "Execution");
        assert!(m[0].techniques.is_empty());
        assert_eq!(m[1].tactic.name, "Credential Access");
        assert_eq!(m[1].techniques[0].technique.id, "T1003");
    }

    #[test]
    fn legacy_underscore_tactics_and_ta_ids() {
        assert_eq!(tactic_by("defense_evasion").map(|t| t.id), Some("TA0005"));
        assert_eq!(
            parse_tag("attack.ta0011"),
            Ok(Some(AttackTag::Tactic(&TACTICS[11])))
        );
        assert_eq!(parse_tag("cve.2021-44228"), Ok(None));
    }

    #[test]
    fn table_is_complete() {
        assert_eq!(techniques().len(), 835);
        assert_eq!(techniques().iter().filter(|t| t.revoked).count(), 132);
        assert_eq!(techniques().iter().filter(|t| t.deprecated).count(), 12);
        assert_eq!(technique("t1059.006").map(|t| t.name), Some("Python"));
    }
}
