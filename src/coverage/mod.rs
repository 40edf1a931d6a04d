//! Coverage: what a catalog of rules detects, by ATT&CK technique and by indicator, and how two
//! catalogs compare.
//!
//! The stage takes [`Entry`]s (a rule's title, file, tags and, when it could be read into the
//! IR, the rule after the pipelines) and produces:
//!
//! - [`Coverage`]: the rules of each ATT&CK technique, read from the rules' `attack.t*` tags
//!   ([`techniques_of`]), and the tags it could not place ([`UnknownTag`], listed, never
//!   dropped); [`layer`] writes it as an ATT&CK Navigator layer (format 4.5), alone or as a
//!   comparison of two catalogs.
//! - [`indicators`]: per rule, the rows field / kind / values with the number of *other* rules
//!   of a catalog that test the same field, kind and value; the catalog's most shared ones.
//! - [`pairs`]: for each rule of one catalog, the rules of the other that overlap it, found
//!   through an index of shared literals and decided one pair at a time.
//!
//! **ATT&CK versions.** The embedded technique table is ATT&CK v18.1 (Elastic's catalog is on
//! v18); SigmaHQ tags with v19 (`attack.stealth`, `attack.defense-impairment`, T1685.x,
//! T1686.x). Coverage brings every tag to **v18.1**: a v19 technique id that v18.1 does not
//! know is read as the v18.1 technique Elastic's v18-to-v19 crosswalk maps to it
//! ([`crate::attack::crosswalk::from_v19`]); an id with no v18.1 answer (or a revoked or
//! deprecated one) is an [`UnknownTag`]. Tactic tags play no part in the scores (a Navigator
//! technique entry without `tactic` shows under every tactic of the technique).

mod events;
pub mod indicators;
pub mod layer;
pub mod pairs;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::attack::{self, crosswalk, AttackTag, Technique};
use crate::ir;

/// One rule of a catalog.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Title (`title`, or an Elastic rule's `name`).
    pub title: String,
    /// Id (`id`, or an Elastic rule's `rule_id`).
    pub id: Option<String>,
    /// The file it came from.
    pub file: String,
    /// Index of the document in the file (0 for single-document files).
    pub document: usize,
    /// Its tags (Elastic threat blocks in Sigma form: `attack.t1059`).
    pub tags: Vec<String>,
    /// The rule after the pipelines; `None` when it could not be read into the IR (an Elastic
    /// rule type the IR cannot hold yet) or a pipeline refused it. Tags still count.
    pub rule: Option<ir::Rule>,
}

/// A technique tag with no ATT&CK v18.1 technique (unknown id, revoked, deprecated, or a v19
/// id the crosswalk does not name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownTag {
    /// The tag as written.
    pub tag: String,
    /// Why it has no technique.
    pub reason: String,
    /// Index of the rule among the catalog's entries.
    pub rule: usize,
}

/// What a technique tag resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A v18.1 technique; `from_v19` holds the v19 id when the crosswalk translated it.
    Known {
        /// The technique.
        technique: &'static Technique,
        /// The v19 id it was written as, when translated.
        from_v19: Option<String>,
    },
    /// A technique tag without a v18.1 technique.
    Unknown(String),
}

/// Whether `tag` names a technique (`attack.t1234`, `attack.t1234.001`), whatever its status.
#[must_use]
pub fn is_technique_tag(tag: &str) -> bool {
    let t = tag.trim().to_ascii_lowercase();
    let Some(num) = t.strip_prefix("attack.t") else {
        return false;
    };
    let (main, sub) = num.split_once('.').unwrap_or((num, ""));
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    digits(main, 4) && (sub.is_empty() || digits(sub, 3))
}

/// The technique a tag names, on ATT&CK v18.1 (see the module docs); `None` for a tag that
/// names no technique (tactics, groups, software, other namespaces).
#[must_use]
pub fn resolve(tag: &str) -> Option<Resolved> {
    if !is_technique_tag(tag) {
        return None;
    }
    let id = tag.trim()[7..].to_ascii_uppercase();
    match attack::parse_tag(tag) {
        Ok(Some(AttackTag::Technique(t))) => Some(Resolved::Known {
            technique: t,
            from_v19: None,
        }),
        Ok(Some(AttackTag::Tactic(_) | AttackTag::Other) | None) => None,
        Err(w) => Some(match crosswalk::from_v19(&id) {
            Some(t) => Resolved::Known {
                technique: t,
                from_v19: Some(id),
            },
            None => Resolved::Unknown(w.message),
        }),
    }
}

/// The v18.1 techniques a rule's tags name (distinct, in tag order) and its unknown technique
/// tags (tag, reason).
#[must_use]
pub fn techniques_of(tags: &[String]) -> (Vec<&'static Technique>, Vec<(String, String)>) {
    let mut known: Vec<&'static Technique> = Vec::new();
    let mut unknown = Vec::new();
    for tag in tags {
        match resolve(tag) {
            Some(Resolved::Known { technique, .. }) if !known.contains(&technique) => {
                known.push(technique);
            }
            Some(Resolved::Known { .. }) | None => {}
            Some(Resolved::Unknown(reason)) => unknown.push((tag.clone(), reason)),
        }
    }
    (known, unknown)
}

/// The rules of each technique of a catalog.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Technique or sub-technique id → the rules (entry indices, ascending) whose tags name
    /// it directly.
    pub direct: BTreeMap<&'static str, BTreeSet<usize>>,
    /// Parent technique id → the rules naming it or any of its sub-techniques (the roll-up a
    /// Navigator parent cell shows).
    pub rolled: BTreeMap<&'static str, BTreeSet<usize>>,
    /// Technique tags without a v18.1 technique.
    pub unknown: Vec<UnknownTag>,
    /// Tags translated from v19 through the crosswalk: (v19 tag, v18.1 id, rule).
    pub translated: Vec<(String, &'static str, usize)>,
}

impl Coverage {
    /// Reads the technique tags of every entry.
    #[must_use]
    pub fn of(entries: &[Entry]) -> Self {
        let mut c = Coverage::default();
        for (i, e) in entries.iter().enumerate() {
            for tag in &e.tags {
                match resolve(tag) {
                    Some(Resolved::Known {
                        technique,
                        from_v19,
                    }) => {
                        c.direct.entry(technique.id).or_default().insert(i);
                        let parent = technique.parent_id().unwrap_or(technique.id);
                        c.rolled.entry(parent).or_default().insert(i);
                        if from_v19.is_some() {
                            c.translated.push((tag.clone(), technique.id, i));
                        }
                    }
                    Some(Resolved::Unknown(reason)) => c.unknown.push(UnknownTag {
                        tag: tag.clone(),
                        reason,
                        rule: i,
                    }),
                    None => {}
                }
            }
        }
        c
    }

    /// The rules a technique's Navigator cell counts: the roll-up for a parent technique, the
    /// direct rules for a sub-technique.
    #[must_use]
    pub fn rules_of(&self, id: &str) -> Option<&BTreeSet<usize>> {
        if id.contains('.') {
            self.direct.get(id)
        } else {
            self.rolled.get(id)
        }
    }

    /// Every technique id with a cell (parents through the roll-up, sub-techniques named
    /// directly), sorted.
    #[must_use]
    pub fn cells(&self) -> BTreeSet<&'static str> {
        let subs = self.direct.keys().copied().filter(|id| id.contains('.'));
        self.rolled.keys().copied().chain(subs).collect()
    }
}
