//! Analysis: decides how two rules relate (equivalent, one within the other, overlapping,
//! disjoint) under the IR's meaning, with witness events for each region.
//!
//! # The decision procedure
//!
//! A rule is a boolean formula over *atoms*: one atom per distinct (field, test) of the two
//! rules (identical predicates of A and B share an atom). Two kinds of atom:
//!
//! - *has value*: the field resolves to at least one non-null value ([`ir::Test::Exists`];
//!   [`ir::Test::Null`] and `exists: false` are its negation);
//! - *some element matches*: some value of the field satisfies an element test: a string
//!   pattern (case-insensitive unless `cased`: the language is case-folded), a regex with its
//!   flags (unanchored), a number comparison, a boolean, a CIDR network.
//!
//! `X.caseless` fields are read as `X` compared case-insensitively (the IR docs say why).
//!
//! An event gives each field either no value or a list of values (an array when it holds more
//! than one). Values are strings: a JSON number or boolean is tested through its text, so a
//! string with that text behaves the same for every test. For one field, a set of atoms
//! assigned true (P) and false (N) is satisfiable when either the field is missing (no atom of P
//! needs a value), or one value lies in every language of P and in none of N, or (arrays) each
//! language of P has a value outside every language of N.
//!
//! A region (A and not B, B and not A, A and B) is searched by a conflict-driven (CDCL-style)
//! search over the atoms, with the field checks as its theory: the region's formula is
//! encoded as clauses (a polarity-aware Tseitin encoding, so a partial assignment that
//! satisfies every clause is a model whatever the unassigned atoms), unit propagation runs
//! over them and over every clause learned so far, and each field is checked as soon as one
//! of its atoms is set. When a field's assigned atoms cannot hold together, the check shrinks
//! them to a minimal unsatisfiable subset (dropping each literal whose removal keeps it
//! unsatisfiable) and adds its negation as a *lemma*, a fact of the field kept for every
//! region of the pair; a conflict is analysed to its first unique implication point, the
//! clause learned, and the search jumps back past every decision the conflict does not
//! involve (not just the latest). A field the theory cannot decide blocks that combination
//! for the current search only and makes an empty answer `unknown` with the field named.
//! String languages are decided exactly by walking products of DFAs (`regex-automata`), which
//! also gives the shortest, most readable witness string when no candidate string built from the
//! rules' own literals does (for several positive languages, one string of each joined by spaces
//! is tried first: a pattern's text, else the language's shortest string outside the negative
//! ones; the walk never expands a state where a rejecting automaton accepts every extension). Numbers are decided exactly over the intervals their constants
//! bound; CIDR networks by containment; a field mixing those with string languages is decided
//! by candidate values and is `unknown` (with the field named) when no candidate settles it.
//!
//! Two formulas with the same normal form (nested `and`/`or` flattened, children sorted and
//! deduplicated, double negations dropped) are the same boolean function over the same atoms:
//! their one-sided regions are empty without a search.
//!
//! **Budgets, never silent caps.** The search counts decisions per region search
//! ([`Options::budget`]) and the product automata count states ([`Options::max_states`] per
//! automaton, [`Options::max_total_states`] over all those of one pair); past any of them the
//! region, and so the relation, is [`Relation::Unknown`] naming the budget. Keyword searches, field references and
//! time parts are `unknown` with the reason too, as are correlations (callers decide
//! single-event rules only).
//!
//! **Witnesses** hold only the fields the two rules read, built from the rules' literals where
//! possible, and each is evaluated with the native evaluator ([`crate::eval`]) on both rules
//! before it is returned; one that does not land in its region makes the answer `unknown`
//! (an analysis bug, reported rather than hidden).
//!
//! **`--assume ecs`** ([`Options::assume_ecs`]) adds two invariants of real ECS events:
//!
//! - `process.name` is the last path segment (after the last `/` or `\`) of
//!   `process.executable`: both are single values, present together;
//! - `process.command_line` is `process.args` joined by single spaces (the Linux/macOS
//!   convention; Windows command lines are not built from their arguments so): both present
//!   together. A `process.command_line` test is an atom on `process.args` that reads the
//!   joined values; a field with such atoms is decided by a walk over lists of values (a
//!   separator symbol between values, read as a space by the joined atoms, restarting the
//!   per-value ones; values may hold spaces, so the walk is exact), and witnesses carry
//!   `process.args` with `process.command_line` derived from it.
//!
//! Each difference on a field an invariant constrains names the assumption. Without
//! `--assume` every field is independent.

mod atoms;
mod explain;
mod field;
mod lang;
mod search;
mod values;
mod walk;

use serde::Serialize;

use crate::error::Result;
use crate::ir;

pub use lang::DEFAULT_MAX_STATES;

/// States all the product automata of one pair may reach together by default
/// ([`Options::max_total_states`]): a few seconds of walks, so that no pair runs unbounded
/// (`sigmat diff --max-total-states` raises it).
pub const DEFAULT_MAX_TOTAL_STATES: usize = 2_000_000;
pub use search::DEFAULT_BUDGET;

/// How [`decide`] works.
#[derive(Debug, Clone)]
pub struct Options {
    /// Witness events wanted per non-empty region (at least one is always searched for).
    pub witnesses: usize,
    /// Decisions the search may take per region before answering `unknown`.
    pub budget: usize,
    /// States a product automaton over one field may reach before answering `unknown`.
    pub max_states: usize,
    /// States all the product automata of one pair may reach together before answering
    /// `unknown` ([`DEFAULT_MAX_TOTAL_STATES`] by default; a catalog comparison bounds the
    /// work per pair much lower).
    pub max_total_states: usize,
    /// Add the ECS invariants (`process.name` is the last segment of `process.executable`,
    /// `process.command_line` is `process.args` joined by single spaces).
    pub assume_ecs: bool,
    /// Compute explanations (`differences`); off for batch checks that only need the relation.
    pub explain: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            witnesses: 1,
            budget: DEFAULT_BUDGET,
            max_states: lang::DEFAULT_MAX_STATES,
            max_total_states: DEFAULT_MAX_TOTAL_STATES,
            assume_ecs: false,
            explain: true,
        }
    }
}

/// How two rules relate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "relation", content = "reason")]
pub enum Relation {
    /// They match the same events.
    Equivalent,
    /// Every event A matches, B matches too (and B matches more).
    AInB,
    /// Every event B matches, A matches too (and A matches more).
    BInA,
    /// Each matches events the other does not, and some events both.
    Overlap,
    /// No event matches both.
    Disjoint,
    /// Not decided, and why (a budget, an unsupported construct).
    Unknown(String),
}

impl Relation {
    /// The name used in JSON output (`equivalent`, `a_in_b`, ...).
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

/// One region of the event space: events matched by A only, B only, or both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    /// No event lies in the region (meaningful only when `unknown` is `None`).
    pub empty: bool,
    /// Events in the region, each verified natively on both rules.
    pub witnesses: Vec<serde_json::Value>,
    /// Why the region could not be decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

/// Which region a difference is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionName {
    /// Matched by A, not B.
    AOnly,
    /// Matched by B, not A.
    BOnly,
}

/// One reason the rules differ: the predicates responsible and an event showing it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// A readable sentence.
    pub explanation: String,
    /// The region the witness lies in.
    pub region: RegionName,
    /// Key paths of the predicates of A involved.
    pub a: Vec<String>,
    /// Key paths of the predicates of B involved.
    pub b: Vec<String>,
    /// An event of the region where this predicate alone decides (verified natively).
    pub witness: serde_json::Value,
}

/// The answer of [`decide`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// How the rules relate.
    pub relation: Relation,
    /// Events A matches and B does not.
    pub a_only: Region,
    /// Events B matches and A does not.
    pub b_only: Region,
    /// Events both match.
    pub both: Region,
    /// Why they differ, predicate by predicate.
    pub differences: Vec<Difference>,
}

/// Decides how `a` and `b` relate under the IR's meaning (pipelines already applied).
///
/// # Errors
/// A rule the native evaluator cannot compile (a placeholder left, an invalid regex or CIDR):
/// its witnesses could not be verified.
pub fn decide(a: &ir::Rule, b: &ir::Rule, opts: &Options) -> Result<Decision> {
    let va = crate::eval::compile_rule(a)?;
    let vb = crate::eval::compile_rule(b)?;
    let table = match atoms::Table::build(a, b, opts, &[]) {
        Ok(t) => t,
        Err(reason) => return Ok(unknown_all(&reason)),
    };
    decide_table(&table, &va, &vb, opts, &[])
}

/// A rule prepared once for many decisions ([`decide_prepared`]): compiled for the native
/// evaluator, with a slot for the DFA of each of its string tests and one for the native
/// compilation of each of its tests, each built on first use and shared by every pair (and
/// thread) the rule is decided in.
#[derive(Debug)]
pub struct Prepared {
    rule: ir::Rule,
    compiled: Result<crate::eval::CompiledRule>,
    dfas: std::sync::Arc<lang::Cache>,
    natives: atoms::Natives,
}

impl Prepared {
    /// Prepares `rule` (pipelines already applied).
    #[must_use]
    pub fn new(rule: &ir::Rule) -> Prepared {
        Prepared {
            rule: rule.clone(),
            compiled: crate::eval::compile_rule(rule),
            dfas: std::sync::Arc::new(lang::Cache::of_rule(rule)),
            natives: atoms::Natives::of_rule(rule),
        }
    }

    /// The rule.
    #[must_use]
    pub fn rule(&self) -> &ir::Rule {
        &self.rule
    }

    /// The rule compiled for the native evaluator, or why it does not compile.
    ///
    /// # Errors
    /// As [`crate::eval::compile_rule`].
    pub fn compiled(&self) -> Result<&crate::eval::CompiledRule> {
        self.compiled.as_ref().map_err(Clone::clone)
    }
}

/// [`decide`] on rules prepared once: the same answer, without compiling either rule again
/// or rebuilding the automata of their tests.
///
/// # Errors
/// As [`decide`].
pub fn decide_prepared(a: &Prepared, b: &Prepared, opts: &Options) -> Result<Decision> {
    decide_seeded(a, b, opts, &[])
}

/// [`decide_prepared`] with events already at hand (samples of either rule, events built
/// from both): the native evaluator places each in its region (A only, B only, both, or
/// none); a region holding at least [`Options::witnesses`] of them is non-empty, with them as
/// its witnesses, and is not searched. Only emptiness needs the search, so the answer is the
/// one [`decide_prepared`] gives, up to which witnesses are shown, and it comes sooner when the
/// events settle the regions (a catalog comparison, where nearly every pair overlaps). Under
/// [`Options::assume_ecs`] the events are not used (they need not meet the ECS invariants).
///
/// # Errors
/// As [`decide`].
pub fn decide_seeded(
    a: &Prepared,
    b: &Prepared,
    opts: &Options,
    seeds: &[&serde_json::Value],
) -> Result<Decision> {
    let va = a.compiled()?;
    let vb = b.compiled()?;
    let mut table = match atoms::Table::build(&a.rule, &b.rule, opts, &[&a.natives, &b.natives]) {
        Ok(t) => t,
        Err(reason) => return Ok(unknown_all(&reason)),
    };
    table.dfas = vec![a.dfas.clone(), b.dfas.clone()];
    let seeds = if opts.assume_ecs { &[][..] } else { seeds };
    decide_table(&table, va, vb, opts, seeds)
}

fn decide_table(
    table: &atoms::Table,
    va: &crate::eval::CompiledRule,
    vb: &crate::eval::CompiledRule,
    opts: &Options,
    seeds: &[&serde_json::Value],
) -> Result<Decision> {
    let want = opts.witnesses.max(1);
    // Seeded witnesses per region: A only, B only, both.
    let mut seeded: [Vec<serde_json::Value>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for s in seeds {
        let slot = match (va.is_match(s), vb.is_match(s)) {
            (true, false) => 0,
            (false, true) => 1,
            (true, true) => 2,
            (false, false) => continue,
        };
        if seeded[slot].len() < want && !seeded[slot].contains(*s) {
            seeded[slot].push((*s).clone());
        }
    }
    let [seed_a, seed_b, seed_both] = seeded;
    let settled = |w: Vec<serde_json::Value>| {
        (w.len() >= want).then(|| Region {
            empty: false,
            witnesses: w,
            unknown: None,
        })
    };
    let mut ctx = search::Ctx::new(table, opts, va, vb);
    let fa = table.a.clone();
    let fb = table.b.clone();
    let not = |f: &atoms::F| atoms::F::Not(Box::new(f.clone()));
    // The same boolean function (after normalising): no event separates them.
    let same = fa.normalize() == fb.normalize();
    let nothing = || Region {
        empty: true,
        witnesses: Vec::new(),
        unknown: None,
    };
    let a_only = if same {
        nothing()
    } else if let Some(r) = settled(seed_a) {
        r
    } else {
        ctx.region(&atoms::F::And(vec![fa.clone(), not(&fb)]), (true, false))
    };
    let b_only = if same {
        nothing()
    } else if let Some(r) = settled(seed_b) {
        r
    } else {
        ctx.region(&atoms::F::And(vec![fb.clone(), not(&fa)]), (false, true))
    };
    let both = match settled(seed_both) {
        Some(r) => r,
        None => ctx.region(&atoms::F::And(vec![fa, fb]), (true, true)),
    };
    let relation = relation(&a_only, &b_only, &both);
    let differences = if opts.explain {
        explain::differences(&mut ctx, &a_only, &b_only)
    } else {
        Vec::new()
    };
    Ok(Decision {
        relation,
        a_only,
        b_only,
        both,
        differences,
    })
}

fn unknown_all(reason: &str) -> Decision {
    let r = Region {
        empty: false,
        witnesses: Vec::new(),
        unknown: Some(reason.to_string()),
    };
    Decision {
        relation: Relation::Unknown(reason.to_string()),
        a_only: r.clone(),
        b_only: r.clone(),
        both: r,
        differences: Vec::new(),
    }
}

fn relation(a_only: &Region, b_only: &Region, both: &Region) -> Relation {
    for r in [a_only, b_only, both] {
        if let Some(why) = &r.unknown {
            return Relation::Unknown(why.clone());
        }
    }
    match (a_only.empty, b_only.empty, both.empty) {
        (true, true, _) => Relation::Equivalent,
        (true, false, _) => Relation::AInB,
        (false, true, _) => Relation::BInA,
        (false, false, true) => Relation::Disjoint,
        (false, false, false) => Relation::Overlap,
    }
}

#[cfg(test)]
mod tests;
