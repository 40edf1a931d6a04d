//! ATT&CK v18 ↔ v19: the identifier changes of `v18-to-v19.tsv` (Elastic's detection-rules
//! crosswalk, reduced to its facts; provenance in `NOTICE.md`).
//!
//! v19 split Defense Evasion (TA0005) into the tactics Stealth and Defense Impairment and
//! moved some techniques to new ids (T1562 → T1685, T1562.004 → T1686, ...). Every v18 id not
//! listed keeps its id in v19. The embedded technique table is v18.1 (no v19 data is
//! available offline), so sigmat brings v19 tags *back* to v18.1: a v19 id that v18.1 does not
//! know is read as the v18 id the crosswalk maps to it ([`from_v19`]); the two v19 tactics are
//! read as Defense Evasion ([`tactic_from_v19`]). A v19 id the crosswalk does not name (e.g. a
//! new sub-technique) has no v18 answer and stays unknown.

use std::sync::OnceLock;

use super::{tactic_by, technique, Tactic, Technique};

/// The crosswalk file, embedded.
pub const CROSSWALK_TSV: &str = include_str!("v18-to-v19.tsv");

/// One row of the crosswalk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The v18 id (`T1562.001`).
    pub v18: &'static str,
    /// The v19 id (`T1685`).
    pub v19: &'static str,
    /// The v19 name (`Disable or Modify Tools`).
    pub v19_name: &'static str,
}

/// The rows of the crosswalk, in file order.
///
/// # Panics
/// Never on the embedded file (`cargo test` reads it).
#[must_use]
pub fn changes() -> &'static [Change] {
    static ROWS: OnceLock<Vec<Change>> = OnceLock::new();
    ROWS.get_or_init(|| {
        CROSSWALK_TSV
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("kind\t"))
            .map(|l| {
                let cols: Vec<&'static str> = l.split('\t').collect();
                let [_, v18, v19, v19_name] = cols[..] else {
                    panic!("embedded v18-to-v19.tsv: bad line `{l}`");
                };
                Change { v18, v19, v19_name }
            })
            .collect()
    })
}

/// The v19 id of a v18 id: the crosswalk's answer, else the id itself (upper-cased).
#[must_use]
pub fn to_v19(v18_id: &str) -> String {
    let id = v18_id.trim().to_ascii_uppercase();
    changes()
        .iter()
        .find(|c| c.v18 == id)
        .map_or(id, |c| c.v19.to_string())
}

/// The v18.1 technique standing for a v19 id that v18.1 does not know (or knows only as
/// revoked or deprecated). When several v18 ids moved to the same v19 id (T1562, T1562.001
/// and T1562.006 all became T1685), the one whose v18 name is the v19 name wins
/// (T1562.001 "Disable or Modify Tools"), else the first row. `None` when the id is an
/// active v18.1 id (nothing to translate) or the crosswalk does not name it.
#[must_use]
pub fn from_v19(v19_id: &str) -> Option<&'static Technique> {
    let id = v19_id.trim().to_ascii_uppercase();
    if technique(&id).is_some_and(Technique::is_active) {
        return None;
    }
    let rows: Vec<&Change> = changes().iter().filter(|c| c.v19 == id).collect();
    let pick = rows
        .iter()
        .find(|c| technique(c.v18).is_some_and(|t| t.name == c.v19_name))
        .or_else(|| rows.first())?;
    technique(pick.v18)
}

/// The v19 tactics (short names) that v18 does not have, with the v18 tactic they came from.
pub const V19_TACTICS: &[(&str, &str)] = &[("stealth", "TA0005"), ("defense-impairment", "TA0005")];

/// The v18 tactic a v19 tactic short name (`stealth`, `defense-impairment`) came from:
/// Defense Evasion, which v19 split into the two.
#[must_use]
pub fn tactic_from_v19(short: &str) -> Option<&'static Tactic> {
    let k = short.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    V19_TACTICS
        .iter()
        .find(|(s, _)| *s == k)
        .and_then(|(_, id)| tactic_by(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read() {
        assert_eq!(changes().len(), 12);
        assert_eq!(to_v19("t1562.004"), "T1686");
        assert_eq!(to_v19("T1059.001"), "T1059.001");
    }

    #[test]
    fn v19_ids_come_back_to_v18() {
        assert_eq!(from_v19("T1685").map(|t| t.id), Some("T1562.001"));
        assert_eq!(from_v19("t1686.001").map(|t| t.id), Some("T1562.007"));
        assert_eq!(from_v19("T1685.005").map(|t| t.id), Some("T1070.001"));
        assert_eq!(from_v19("T1684.001").map(|t| t.id), Some("T1656"));
        // Known to v18.1: nothing to translate. Not in the crosswalk: no answer.
        assert_eq!(from_v19("T1059"), None);
        assert_eq!(from_v19("T1690"), None);
        // Every v19 id of the crosswalk that v18.1 lacks has an answer.
        for c in changes() {
            if technique(c.v19).is_none() {
                assert!(from_v19(c.v19).is_some(), "{}", c.v19);
            }
        }
    }

    #[test]
    fn v19_tactics_are_defense_evasion() {
        assert_eq!(tactic_from_v19("stealth").map(|t| t.id), Some("TA0005"));
        assert_eq!(
            tactic_from_v19("Defense Impairment").map(|t| t.id),
            Some("TA0005")
        );
        assert_eq!(tactic_from_v19("execution"), None);
    }
}
