//! Comparison by event: for each rule of catalog A, the rules of catalog B that overlap it.
//!
//! **Candidates** are found cheaply, never by comparing every pair: an index maps
//! (field, token) to the rules of B whose positive indicators ([`super::indicators`]) hold that
//! token (a run of 3+ letters or digits of a string value, lower-cased; a number as written) on
//! that field. A rule of A meets the B rules sharing at least one key; tokens held by more than
//! [`Options::common_token`] rules of B carry no signal and are skipped. Candidates are ranked
//! by shared keys plus shared ATT&CK techniques (two each) and the best
//! [`Options::max_candidates`] are decided.
//!
//! **Decision** is [`decide`], the one place that says how two rules relate: the decision
//! procedure of `sigmat diff` ([`crate::analysis::decide`], without explanations): equivalent,
//! A within B, B within A, overlap, disjoint, each with an event both match when there is one,
//! verified by the native evaluator. Nearly every candidate pair overlaps, and an overlap is
//! three non-empty regions (A only, B only, both): events built from the rules
//! ([`super::events`]: one per term of each rule's condition in disjunctive form, bounded by
//! [`Options::max_terms`], and one per pair of terms of the two rules testing a field in
//! common) are given to the decision as events at hand ([`analysis::decide_seeded`]); the
//! evaluator places each in its region, and only the regions none falls in are searched. When
//! the decision answers `unknown` (a budget, a construct it does not model), an event both
//! rules match found among them is kept as the witness beside the `unknown` relation (the
//! rules are then not disjoint); never a guess.
//!
//! **Prepared once, bounded per pair.** Each rule is prepared once ([`Prepared`]: its
//! evaluator rule, its DFA slots through [`analysis::Prepared`], its terms) and reused for all
//! its pairs. Per pair the search is bounded by [`Options::budget`] decisions per region,
//! [`Options::max_states`] states per product automaton and [`Options::max_total_states`] over
//! all of them, and a pair holding more than [`Options::max_preds`] predicates is not searched;
//! a pair stopped by any of them is `unknown` with the budget named, never dropped.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::events::{build_event, dnf, joint_events};
use super::indicators::{of_rule, Indicator};
use super::Entry;
use crate::analysis;
use crate::ir::{self, Predicate};

/// Bounds of the candidate search and the decision.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// At most this many candidates of B are decided per rule of A.
    pub max_candidates: usize,
    /// A (field, token) key held by more rules of B than this is skipped.
    pub common_token: usize,
    /// At most this many terms of each rule's condition are tried.
    pub max_terms: usize,
    /// Decisions per region of one pair ([`analysis::Options::budget`]).
    pub budget: usize,
    /// States per product automaton of one pair ([`analysis::Options::max_states`]).
    pub max_states: usize,
    /// States all the product automata of one pair may reach together
    /// ([`analysis::Options::max_total_states`]).
    pub max_total_states: usize,
    /// A pair whose two rules hold more predicates than this together is not searched
    /// (`unknown`, the reason says so; an event both match is still looked for).
    pub max_preds: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_candidates: 12,
            common_token: 60,
            max_terms: 8,
            budget: 2_000,
            max_states: 10_000,
            max_total_states: 30_000,
            max_preds: 200,
        }
    }
}

/// How two rules relate (the relations of `analysis::Relation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The same events.
    Equivalent,
    /// Every event of A is an event of B.
    AInB,
    /// Every event of B is an event of A.
    BInA,
    /// Some event matches both (a witness shows one).
    Overlap,
    /// No event matches both.
    Disjoint,
    /// Not decided, with the reason.
    Unknown(String),
}

impl Relation {
    /// Whether some event matches both rules (every relation but disjoint and unknown).
    #[must_use]
    pub fn overlaps(&self) -> bool {
        match self {
            Relation::Equivalent | Relation::AInB | Relation::BInA | Relation::Overlap => true,
            Relation::Disjoint | Relation::Unknown(_) => false,
        }
    }

    /// Whether every event of A is an event of B (equivalent, or A within B).
    #[must_use]
    pub fn a_contained(&self) -> bool {
        match self {
            Relation::Equivalent | Relation::AInB => true,
            Relation::BInA | Relation::Overlap | Relation::Disjoint | Relation::Unknown(_) => false,
        }
    }

    /// The relation read from B's side (within and contains swapped).
    #[must_use]
    pub fn reversed(&self) -> Relation {
        match self {
            Relation::AInB => Relation::BInA,
            Relation::BInA => Relation::AInB,
            Relation::Equivalent => Relation::Equivalent,
            Relation::Overlap => Relation::Overlap,
            Relation::Disjoint => Relation::Disjoint,
            Relation::Unknown(r) => Relation::Unknown(r.clone()),
        }
    }

    /// The relation's name as JSON writes it (`a_in_b`, `unknown`...).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Relation::Equivalent => "equivalent",
            Relation::AInB => "a_in_b",
            Relation::BInA => "b_in_a",
            Relation::Overlap => "overlap",
            Relation::Disjoint => "disjoint",
            Relation::Unknown(_) => "unknown",
        }
    }
}

/// The decision for one pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The relation.
    pub relation: Relation,
    /// An event both rules match, when one was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<Value>,
}

/// A rule prepared once for all its pairs: compiled for the evaluator, with its DFAs
/// ([`analysis::Prepared`]) and up to [`Options::max_terms`] terms of its condition.
#[derive(Debug)]
pub struct Prepared {
    analysis: analysis::Prepared,
    terms: Vec<Vec<Predicate>>,
    /// One event built from each term ([`super::events::build_event`]): events at hand for its pairs.
    samples: Vec<Value>,
    preds: usize,
}

impl Prepared {
    /// Compiles `rule` and takes up to `max_terms` terms of its condition.
    #[must_use]
    pub fn new(rule: &ir::Rule, max_terms: usize) -> Self {
        let mut terms = Vec::new();
        for c in &rule.conditions {
            terms.extend(dnf(c, max_terms));
        }
        terms.truncate(max_terms);
        let mut preds = 0;
        for c in &rule.conditions {
            c.for_each_pred(&mut |_| preds += 1);
        }
        let samples = terms.iter().map(|t| build_event(t)).collect();
        Prepared {
            preds,
            analysis: analysis::Prepared::new(rule),
            samples,
            terms: terms
                .into_iter()
                .map(|t| t.into_iter().cloned().collect())
                .collect(),
        }
    }
}

/// How rule A relates to rule B (see the module docs): the one decision function.
#[must_use]
pub fn decide(a: &ir::Rule, b: &ir::Rule, opts: &Options) -> Decision {
    decide_prepared(
        &Prepared::new(a, opts.max_terms),
        &Prepared::new(b, opts.max_terms),
        opts,
    )
}

/// [`decide`] on rules prepared once: `analysis::decide` (the decision procedure of
/// `sigmat diff`, without explanations), given the rules' samples and the events built from
/// both ([`super::events::joint_events`]) as events at hand ([`analysis::decide_seeded`]):
/// the regions they fall in are settled without a search. When it cannot decide, an event
/// both rules match is still looked for among the built events and kept beside the `unknown`
/// relation.
#[must_use]
pub fn decide_prepared(a: &Prepared, b: &Prepared, opts: &Options) -> Decision {
    let max_preds = opts.max_preds;
    let opts = analysis::Options {
        explain: false,
        budget: opts.budget,
        max_states: opts.max_states,
        max_total_states: opts.max_total_states,
        ..analysis::Options::default()
    };
    let joint = joint_events(&a.terms, &b.terms);
    let size = a.preds + b.preds;
    let decided = if size > max_preds {
        Err(format!(
            "the two rules hold {size} predicates, more than the {max_preds} a pair may hold \
             to be decided in a catalog comparison (coverage::pairs::Options::max_preds)"
        ))
    } else {
        let mut seeds: Vec<&Value> = joint.as_deref().unwrap_or_default().iter().collect();
        seeds.extend(a.samples.iter().chain(&b.samples));
        analysis::decide_seeded(&a.analysis, &b.analysis, &opts, &seeds).map_err(|e| e.to_string())
    };
    let (reason, witness) = match decided {
        Ok(d) => {
            let witness = d.both.witnesses.first().cloned();
            match d.relation {
                analysis::Relation::Unknown(r) => (r, witness),
                rel => {
                    return Decision {
                        relation: from_analysis(rel),
                        witness,
                    }
                }
            }
        }
        Err(e) => (e, None),
    };
    let found = match witness {
        Some(w) => Some(w),
        None => common_event(a, b, joint.as_deref().unwrap_or_default()),
    };
    let relation = match (&found, &joint) {
        (Some(_), _) => Relation::Unknown(format!(
            "{reason}; an event both rules match was found (the witness): they are not disjoint"
        )),
        (None, Err(why)) => Relation::Unknown(format!("{reason}; {why}")),
        (None, Ok(built)) => Relation::Unknown(format!(
            "{reason}; no event matching both among {} built from terms sharing a field \
             (overlap not shown, not disproved)",
            built.len()
        )),
    };
    Decision {
        relation,
        witness: found,
    }
}

fn from_analysis(r: analysis::Relation) -> Relation {
    match r {
        analysis::Relation::Equivalent => Relation::Equivalent,
        analysis::Relation::AInB => Relation::AInB,
        analysis::Relation::BInA => Relation::BInA,
        analysis::Relation::Overlap => Relation::Overlap,
        analysis::Relation::Disjoint => Relation::Disjoint,
        analysis::Relation::Unknown(s) => Relation::Unknown(s),
    }
}

/// The first of `built` that both rules match (the native evaluator decides), if any.
fn common_event(a: &Prepared, b: &Prepared, built: &[Value]) -> Option<Value> {
    let (Ok(ca), Ok(cb)) = (a.analysis.compiled(), b.analysis.compiled()) else {
        return None;
    };
    built
        .iter()
        .find(|ev| ca.is_match(*ev) && cb.is_match(*ev))
        .cloned()
}

/// The (field, token) keys of an indicator.
fn keys(ind: &Indicator) -> Vec<(String, String)> {
    let string_kind = matches!(
        ind.kind,
        "equals" | "starts_with" | "ends_with" | "match" | "wildcard" | "regex"
    );
    let mut out = Vec::new();
    if string_kind {
        for tok in ind
            .value
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
        {
            if tok.chars().count() >= 3 {
                out.push((ind.field.clone(), tok.to_string()));
            }
        }
    } else if ind.kind == "number" {
        out.push((ind.field.clone(), ind.value.clone()));
    }
    out
}

/// The candidate index over catalog B.
#[derive(Debug, Default)]
pub struct CandidateIndex {
    postings: HashMap<(String, String), Vec<usize>>,
}

impl CandidateIndex {
    /// Indexes every entry of B with an IR rule.
    #[must_use]
    pub fn build(b: &[Entry]) -> Self {
        let mut postings: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, e) in b.iter().enumerate() {
            let Some(r) = &e.rule else { continue };
            for ind in of_rule(r) {
                for k in keys(&ind) {
                    let list = postings.entry(k).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            }
        }
        CandidateIndex { postings }
    }

    /// The candidates of a rule of A: (index in B, score, shared keys as `field:token`), best
    /// first, at most `opts.max_candidates`. `techniques(j)` gives the technique ids of B's
    /// rule `j`; `mine` those of the rule of A.
    #[must_use]
    pub fn candidates(
        &self,
        rule: &ir::Rule,
        mine: &[&str],
        techniques: impl Fn(usize) -> Vec<&'static str>,
        opts: &Options,
    ) -> Vec<(usize, usize, Vec<String>)> {
        let mut hits: HashMap<usize, Vec<String>> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for ind in of_rule(rule) {
            for k in keys(&ind) {
                if !seen.insert(k.clone()) {
                    continue;
                }
                let Some(list) = self.postings.get(&k) else {
                    continue;
                };
                if list.len() > opts.common_token {
                    continue;
                }
                for &j in list {
                    hits.entry(j).or_default().push(format!("{}:{}", k.0, k.1));
                }
            }
        }
        let mut out: Vec<(usize, usize, Vec<String>)> = hits
            .into_iter()
            .map(|(j, shared)| {
                let tech = techniques(j).iter().filter(|t| mine.contains(t)).count();
                (j, shared.len() + 2 * tech, shared)
            })
            .collect();
        out.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        out.truncate(opts.max_candidates);
        out
    }
}

/// The decided candidates of each rule of A: (index in A, [(index in B, shared keys, decision)]),
/// in A's order; a rule of A without an IR rule has none.
pub type Found = Vec<(usize, Vec<(usize, Vec<String>, Decision)>)>;

/// For each rule of `a`, its candidates in `b` ([`CandidateIndex`], ranked with the shared
/// techniques), each decided ([`decide_prepared`]), in parallel. `tick` is called once per rule
/// of A when it is done (a progress display).
#[must_use]
pub fn compare(a: &[Entry], b: &[Entry], opts: &Options, tick: &(dyn Fn() + Sync)) -> Found {
    let index = CandidateIndex::build(b);
    let b_tech: Vec<Vec<&'static str>> = b
        .iter()
        .map(|e| {
            super::techniques_of(&e.tags)
                .0
                .iter()
                .map(|t| t.id)
                .collect()
        })
        .collect();
    let b_prep: Vec<Option<Prepared>> = b
        .par_iter()
        .map(|e| e.rule.as_ref().map(|r| Prepared::new(r, opts.max_terms)))
        .collect();
    a.par_iter()
        .enumerate()
        .map(|(i, e)| {
            let Some(rule) = &e.rule else {
                tick();
                return (i, Vec::new());
            };
            let mine: Vec<&str> = super::techniques_of(&e.tags)
                .0
                .iter()
                .map(|t| t.id)
                .collect();
            let cands = index.candidates(rule, &mine, |j| b_tech[j].clone(), opts);
            let pa = Prepared::new(rule, opts.max_terms);
            let decided = cands
                .into_iter()
                .filter_map(|(j, _, shared)| {
                    let pb = b_prep[j].as_ref()?;
                    Some((j, shared, decide_prepared(&pa, pb, opts)))
                })
                .collect();
            tick();
            (i, decided)
        })
        .collect()
}

/// The counts of a comparison (`coverage -f json`'s `summary`, the report's pair figures).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Rules of A with an IR rule (the ones compared).
    pub a_rules_in_ir: usize,
    /// Rules of A with at least one candidate decided.
    pub a_rules_with_candidates: usize,
    /// Candidate pairs decided.
    pub pairs_decided: usize,
    /// Of them, pairs left unknown.
    pub pairs_unknown: usize,
    /// Rules of A with a rule of B that some event matches with it.
    pub a_rules_overlapping_b: usize,
    /// Rules of A with an equivalent or containing rule of B.
    pub a_rules_with_equivalent_or_containing_b: usize,
}

impl Tally {
    /// Counts `found` (of the rules `a`).
    #[must_use]
    pub fn of(a: &[Entry], found: &Found) -> Self {
        let mut t = Tally {
            a_rules_in_ir: a.iter().filter(|e| e.rule.is_some()).count(),
            ..Tally::default()
        };
        for (_, list) in found {
            if list.is_empty() {
                continue;
            }
            t.a_rules_with_candidates += 1;
            t.pairs_decided += list.len();
            t.pairs_unknown += list
                .iter()
                .filter(|(_, _, d)| matches!(d.relation, Relation::Unknown(_)))
                .count();
            t.a_rules_overlapping_b +=
                usize::from(list.iter().any(|(_, _, d)| d.relation.overlaps()));
            t.a_rules_with_equivalent_or_containing_b +=
                usize::from(list.iter().any(|(_, _, d)| d.relation.a_contained()));
        }
        t
    }
}
