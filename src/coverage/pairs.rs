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
//! verified by the native evaluator. When it answers `unknown` (a budget, a construct it does
//! not model), [`common_event`] still looks for an event both rules match: from the positive
//! predicates of a few terms of each rule's condition (disjunctive form, bounded by
//! [`Options::max_terms`]) it takes the pairs of terms testing at least one field in common,
//! builds an event meant to satisfy both, and runs both rules on it. Such an event is kept as
//! the witness beside the `unknown` relation (the rules are then not disjoint); never a guess.
//!
//! **Prepared once, bounded per pair.** Each rule is prepared once ([`Prepared`]: its
//! evaluator rule, its DFA slots through [`analysis::Prepared`], its terms) and reused for all
//! its pairs. Per pair the search is bounded by [`Options::budget`] decisions per region,
//! [`Options::max_states`] states per product automaton and [`Options::max_total_states`] over
//! all of them, and a pair holding more than [`Options::max_preds`] predicates is not searched;
//! a pair stopped by any of them is `unknown` with the budget named, never dropped.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use super::indicators::{of_rule, Indicator};
use super::Entry;
use crate::analysis;
use crate::ir::{self, CmpOp, Expr, Piece, Predicate, Shape, Test};

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
        Prepared {
            preds,
            analysis: analysis::Prepared::new(rule),
            terms: terms
                .into_iter()
                .map(|t| t.into_iter().cloned().collect())
                .collect(),
        }
    }
}

/// The positive predicates of up to `cap` terms of `e` in disjunctive normal form (negated
/// parts left out: the evaluator checks them on the event built).
fn dnf(e: &Expr, cap: usize) -> Vec<Vec<&Predicate>> {
    match e {
        Expr::Pred(p) => vec![vec![p]],
        Expr::Not(_) => vec![Vec::new()],
        Expr::Or(xs) => {
            let mut out = Vec::new();
            for x in xs {
                out.extend(dnf(x, cap));
                if out.len() >= cap {
                    break;
                }
            }
            out.truncate(cap);
            out
        }
        Expr::And(xs) => {
            let mut acc: Vec<Vec<&Predicate>> = vec![Vec::new()];
            for x in xs {
                let sub = dnf(x, cap);
                let mut next = Vec::new();
                'outer: for a in &acc {
                    for s in &sub {
                        let mut t = a.clone();
                        t.extend(s.iter().copied());
                        next.push(t);
                        if next.len() >= cap {
                            break 'outer;
                        }
                    }
                }
                acc = next;
            }
            acc
        }
    }
}

/// A string satisfying a pattern on its own: literals kept, `*` empty, `?` one `x`.
fn sample(pieces: &[Piece]) -> String {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Lit(t) => s.push_str(t),
            Piece::AnyOne => s.push('x'),
            Piece::AnyMany | Piece::Placeholder(_) => {}
        }
    }
    s
}

/// The value of one field meeting every test of `tests` that a value can be built for.
fn field_value(tests: &[&Test]) -> Option<Value> {
    let (mut exact, mut pre, mut mid, mut suf) = (None, Vec::new(), Vec::new(), Vec::new());
    let mut other: Option<Value> = None;
    for t in tests {
        match t {
            Test::Str { pattern, .. } => match pattern.shape() {
                Shape::Exact(s) => exact = Some(s.to_string()),
                Shape::Prefix(s) => pre.push(s.to_string()),
                Shape::Suffix(s) => suf.push(s.to_string()),
                Shape::Contains(s) => mid.push(s.to_string()),
                Shape::Any => mid.push(String::new()),
                Shape::Glob => mid.push(sample(pattern.pieces())),
            },
            Test::Num { op, value } => {
                let n = value.as_f64();
                let v = match op {
                    CmpOp::Eq | CmpOp::Gte | CmpOp::Lte => n,
                    CmpOp::Gt | CmpOp::Neq => n + 1.0,
                    CmpOp::Lt => n - 1.0,
                };
                other = serde_json::Number::from_f64(v).map(Value::Number);
                if let (CmpOp::Eq, Some(i)) = (op, value.as_i64()) {
                    other = Some(Value::from(i));
                }
            }
            Test::Bool(b) => other = Some(Value::Bool(*b)),
            Test::Exists(true) => mid.push("x".into()),
            Test::Cidr(net) => {
                other = Some(Value::String(
                    net.split('/').next().unwrap_or(net).to_string(),
                ));
            }
            Test::Regex { .. }
            | Test::Null
            | Test::Exists(false)
            | Test::FieldRef { .. }
            | Test::TimePart { .. } => {}
        }
    }
    if let Some(e) = exact {
        return Some(Value::String(e));
    }
    if other.is_some() && pre.is_empty() && mid.is_empty() && suf.is_empty() {
        return other;
    }
    if pre.is_empty() && mid.is_empty() && suf.is_empty() {
        return None;
    }
    let mut parts = pre;
    parts.extend(mid);
    parts.extend(suf);
    Some(Value::String(parts.join(" ")))
}

/// An event meant to satisfy the predicates of two terms at once.
fn build_event(preds: &[&Predicate]) -> Value {
    let mut by_field: BTreeMap<&str, Vec<&Test>> = BTreeMap::new();
    for p in preds {
        by_field
            .entry(p.field.as_deref().unwrap_or("sigmat.keywords"))
            .or_default()
            .push(&p.test);
    }
    let mut m = Map::new();
    for (field, tests) in by_field {
        if let Some(v) = field_value(&tests) {
            m.insert(field.to_string(), v);
        }
    }
    Value::Object(m)
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
/// `sigmat diff`, without explanations); when it cannot decide, an event both rules match is
/// still looked for ([`common_event`]) and kept beside the `unknown` relation.
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
    let size = a.preds + b.preds;
    let decided = if size > max_preds {
        Err(format!(
            "the two rules hold {size} predicates, more than the {max_preds} a pair may hold \
             to be decided in a catalog comparison (coverage::pairs::Options::max_preds)"
        ))
    } else {
        analysis::decide_prepared(&a.analysis, &b.analysis, &opts).map_err(|e| e.to_string())
    };
    let reason = match decided {
        Ok(d) => {
            let witness = d.both.witnesses.first().cloned();
            match d.relation {
                analysis::Relation::Unknown(r) => r,
                rel => {
                    return Decision {
                        relation: from_analysis(rel),
                        witness,
                    }
                }
            }
        }
        Err(e) => e,
    };
    let found = common_event(a, b);
    let relation = match found.relation {
        Relation::Unknown(r) => Relation::Unknown(format!("{reason}; {r}")),
        Relation::Equivalent
        | Relation::AInB
        | Relation::BInA
        | Relation::Overlap
        | Relation::Disjoint => Relation::Unknown(format!(
            "{reason}; an event both rules match was found (the witness): they are not disjoint"
        )),
    };
    Decision {
        relation,
        witness: found.witness,
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

/// An event both rules match, built from terms of their conditions that test a field in
/// common: [`Relation::Overlap`] in the weak sense "not disjoint" with the event, else
/// [`Relation::Unknown`].
#[must_use]
pub fn common_event(a: &Prepared, b: &Prepared) -> Decision {
    let (Ok(ca), Ok(cb)) = (a.analysis.compiled(), b.analysis.compiled()) else {
        return Decision {
            relation: Relation::Unknown("a rule does not compile for evaluation".into()),
            witness: None,
        };
    };
    // Pairs of terms testing a field in common, most shared fields first: two rules on
    // disjoint fields "overlap" on any event holding both sets of fields, which says nothing.
    let fields = |t: &[Predicate]| -> std::collections::BTreeSet<String> {
        t.iter().filter_map(|p| p.field.clone()).collect()
    };
    let mut order: Vec<(usize, &Vec<Predicate>, &Vec<Predicate>)> = Vec::new();
    for ta in &a.terms {
        let fa = fields(ta);
        for tb in &b.terms {
            let common = fields(tb).intersection(&fa).count();
            if common > 0 {
                order.push((common, ta, tb));
            }
        }
    }
    if order.is_empty() {
        return Decision {
            relation: Relation::Unknown(
                "the rules test no field in common (after the field mappings) in the terms tried"
                    .into(),
            ),
            witness: None,
        };
    }
    order.sort_by_key(|x| std::cmp::Reverse(x.0));
    let tried = order.len();
    for (_, ta, tb) in order {
        let preds: Vec<&Predicate> = ta.iter().chain(tb.iter()).collect();
        let ev = build_event(&preds);
        if ca.is_match(&ev) && cb.is_match(&ev) {
            return Decision {
                relation: Relation::Overlap,
                witness: Some(ev),
            };
        }
    }
    Decision {
        relation: Relation::Unknown(format!(
            "no event matching both among {tried} built from terms sharing a field (overlap not shown, not disproved)"
        )),
        witness: None,
    }
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
