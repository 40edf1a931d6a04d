//! The conflict-driven search over atom assignments (field checks as the theory, learned
//! lemmas and clauses, backjumping) and witness events.

use serde_json::{Map, Value};

use crate::eval::CompiledRule;

use super::atoms::{last_segment, Table, ECS_COMMAND_LINE, ECS_NAME, F};
use super::field::{Outcome, Theory};
use super::{Options, Region};

/// Decisions per region before the answer is `unknown` ([`Options::budget`]).
pub const DEFAULT_BUDGET: usize = 200_000;

/// A witness: the event and the atom assignment that produced it.
#[derive(Debug, Clone)]
pub struct Model {
    /// The event.
    pub event: Value,
    /// The assigned atoms.
    pub cube: Vec<(usize, bool)>,
}

enum Stop {
    Budget,
}

/// Search state shared by the regions of one pair.
pub struct Ctx<'t> {
    /// The atoms.
    pub table: &'t Table,
    theory: Theory<'t>,
    opts: &'t Options,
    va: &'t CompiledRule,
    vb: &'t CompiledRule,
    unknown: Option<String>,
    /// Theory lemmas (clauses over atoms) learned so far: facts of the fields, valid for every
    /// region of the pair.
    lemmas: Vec<Vec<u32>>,
}

impl<'t> Ctx<'t> {
    /// A search over `table`'s atoms; `va` / `vb` verify witnesses natively.
    pub fn new(
        table: &'t Table,
        opts: &'t Options,
        va: &'t CompiledRule,
        vb: &'t CompiledRule,
    ) -> Ctx<'t> {
        Ctx {
            table,
            theory: Theory::new(table, opts.max_states),
            opts,
            va,
            vb,
            unknown: None,
            lemmas: Vec::new(),
        }
    }

    /// Decides a region: `f` is its formula, `expect` what A and B say on its events.
    pub fn region(&mut self, f: &F, expect: (bool, bool)) -> Region {
        let want = self.opts.witnesses.max(1);
        let mut witnesses = Vec::new();
        let mut f = f.clone();
        let mut unknown = None;
        while witnesses.len() < want {
            match self.find(&f, expect) {
                Ok(Some(m)) => {
                    let cube = F::And(m.cube.iter().map(|&(a, v)| lit(a, v)).collect());
                    f = F::And(vec![f, F::Not(Box::new(cube))]);
                    witnesses.push(m.event);
                }
                Ok(None) => break,
                Err(why) => {
                    unknown = Some(why);
                    break;
                }
            }
        }
        if witnesses.is_empty() {
            Region {
                empty: unknown.is_none(),
                witnesses,
                unknown,
            }
        } else {
            Region {
                empty: false,
                witnesses,
                unknown: None,
            }
        }
    }

    /// One model of `f` whose event A and B judge as `expect`; `Ok(None)` when there is none,
    /// `Err` with the reason when that could not be decided.
    ///
    /// # Errors
    /// The budget, an undecided field, a witness the evaluator disagrees with.
    pub fn find(&mut self, f: &F, expect: (bool, bool)) -> Result<Option<Model>, String> {
        self.find_single(f, expect, None)
    }

    /// As [`Ctx::find`], with field `single` (if any) limited to one value.
    ///
    /// # Errors
    /// As [`Ctx::find`].
    pub fn find_single(
        &mut self,
        f: &F,
        expect: (bool, bool),
        single: Option<usize>,
    ) -> Result<Option<Model>, String> {
        self.theory.force_single = single;
        let r = self.find_inner(f, expect);
        self.theory.force_single = None;
        r
    }

    fn find_inner(&mut self, f: &F, expect: (bool, bool)) -> Result<Option<Model>, String> {
        self.unknown = None;
        let mut cdcl = Cdcl::new(self.table.atoms.len());
        cdcl.encode_root(f);
        let persist = self.theory.force_single.is_none();
        for c in &self.lemmas {
            cdcl.add_clause(c.clone(), true);
        }
        cdcl.start();
        let found = self.cdcl(&mut cdcl, persist);
        match found {
            Err(Stop::Budget) => Err(format!(
                "the search reached its budget of {} decisions (--budget)",
                self.opts.budget
            )),
            Ok(true) => {
                let assign: Vec<Option<bool>> = cdcl.assign[..self.table.atoms.len()].to_vec();
                let Some(m) = self.model(&assign) else {
                    return Err(self.unknown.take().unwrap_or_else(|| {
                        "a field of the search's model has no value: an analysis bug".into()
                    }));
                };
                let got = (self.va.is_match(&m.event), self.vb.is_match(&m.event));
                if got == expect {
                    Ok(Some(m))
                } else {
                    Err(format!(
                        "witness {} failed native verification (A {}, B {}): an analysis bug",
                        m.event, got.0, got.1
                    ))
                }
            }
            Ok(false) => match self.unknown.take() {
                Some(why) => Err(why),
                None => Ok(None),
            },
        }
    }

    /// Conflict-driven search: unit propagation over the clauses (the formula's, the theory's
    /// lemmas, the learned ones), a field check after each atom is set, and on a conflict a
    /// learned clause (first unique implication point) and a backjump to the level where it
    /// becomes unit. `Ok(true)`: every clause holds (`cdcl.assign` is the model).
    fn cdcl(&mut self, s: &mut Cdcl, persist: bool) -> Result<bool, Stop> {
        let mut decisions = 0usize;
        if s.empty {
            return Ok(false);
        }
        loop {
            match self.propagate(s, persist) {
                Some(confl) => {
                    let Some((learnt, level)) = s.analyze(confl) else {
                        return Ok(false);
                    };
                    s.backtrack(level);
                    let ci = s.add_clause(learnt, false);
                    s.enqueue_unit(ci);
                }
                None => {
                    let Some(l) = s.decide() else {
                        return Ok(true);
                    };
                    decisions += 1;
                    if decisions > self.opts.budget {
                        return Err(Stop::Budget);
                    }
                    s.trail_lim.push(s.trail.len());
                    s.assign_lit(l, None);
                }
            }
        }
    }

    /// Propagates to a fixpoint; a conflicting clause's index when some clause is false.
    fn propagate(&mut self, s: &mut Cdcl, persist: bool) -> Option<usize> {
        while s.qhead < s.trail.len() {
            let l = s.trail[s.qhead];
            s.qhead += 1;
            // Clauses with the literal's negation may have become unit or false.
            let watch = s.occurs[(l ^ 1) as usize].clone();
            for ci in watch {
                match s.status(ci) {
                    Status::Conflict => return Some(ci),
                    Status::Unit(u) => s.assign_lit(u, Some(ci)),
                    Status::Satisfied | Status::Open => {}
                }
            }
            let v = var(l);
            if v < self.table.atoms.len() {
                if let Some(c) = self.theory_conflict(s, self.table.atoms[v].field, persist) {
                    return Some(c);
                }
            }
        }
        None
    }

    /// Checks a field under the current assignment; on `Unsat` a lemma (the negation of a
    /// minimal unsatisfiable subset of the field's literals) is added and returned.
    fn theory_conflict(&mut self, s: &mut Cdcl, field: usize, persist: bool) -> Option<usize> {
        let lits = self.field_lits(field, &s.assign);
        match self.theory.check(field, &lits) {
            Outcome::Sat(_) => None,
            Outcome::Unsat => {
                // Grow a conflicting subset from the newest literal back (most conflicts are
                // between two or three literals: cheap checks on small sets), then shrink it:
                // drop each literal whose removal keeps it unsatisfiable.
                let mut lits = lits;
                lits.sort_by_key(|&(a, _)| std::cmp::Reverse(s.pos[a]));
                let mut core: Vec<(usize, bool)> = Vec::new();
                // A pair with the newest literal first (cheap checks on two atoms).
                if let Some((&newest, rest)) = lits.split_first() {
                    if let Some(&l) = rest
                        .iter()
                        .find(|&&l| self.theory.check(field, &[newest, l]) == Outcome::Unsat)
                    {
                        core = vec![newest, l];
                    }
                }
                if core.is_empty() {
                    for &l in &lits {
                        core.push(l);
                        if self.theory.check(field, &core) == Outcome::Unsat {
                            break;
                        }
                    }
                }
                core.reverse();
                let mut i = 0;
                while i < core.len() && core.len() > 1 {
                    let mut fewer = core.clone();
                    fewer.remove(i);
                    if self.theory.check(field, &fewer) == Outcome::Unsat {
                        core = fewer;
                    } else {
                        i += 1;
                    }
                }
                let clause: Vec<u32> = core.iter().map(|&(a, v)| mk(a, !v)).collect();
                if persist {
                    self.lemmas.push(clause.clone());
                }
                Some(s.add_clause(clause, true))
            }
            Outcome::Unknown(why) => {
                // Not a fact of the theory: blocks this combination for this search only.
                self.unknown.get_or_insert(why);
                let clause: Vec<u32> = lits.iter().map(|&(a, v)| mk(a, !v)).collect();
                Some(s.add_clause(clause, true))
            }
        }
    }

    fn field_lits(&self, field: usize, assign: &[Option<bool>]) -> Vec<(usize, bool)> {
        self.table.by_field[field]
            .iter()
            .filter_map(|&i| assign[i].map(|v| (i, v)))
            .collect()
    }

    fn field_of(&mut self, field: usize, assign: &[Option<bool>]) -> Outcome {
        let lits = self.field_lits(field, assign);
        self.theory.check(field, &lits)
    }

    fn model(&mut self, assign: &[Option<bool>]) -> Option<Model> {
        let mut event = Map::new();
        for (fi, field) in self.table.fields.iter().enumerate() {
            let values = match self.field_of(fi, assign) {
                Outcome::Sat(v) => v,
                Outcome::Unsat => return None,
                Outcome::Unknown(why) => {
                    self.unknown.get_or_insert(why);
                    return None;
                }
            };
            if values.is_empty() {
                continue;
            }
            if field.derive_name {
                let names: Vec<String> =
                    values.iter().map(|v| last_segment(v).to_string()).collect();
                event.insert(ECS_NAME.to_string(), json_values(&names));
            }
            if field.derive_command_line {
                event.insert(
                    ECS_COMMAND_LINE.to_string(),
                    Value::String(values.join(" ")),
                );
            }
            event.insert(field.name.clone(), json_values(&values));
        }
        let cube = assign
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        Some(Model {
            event: Value::Object(event),
            cube,
        })
    }
}

/// An atom literal as a formula.
pub fn lit(a: usize, v: bool) -> F {
    if v {
        F::Atom(a)
    } else {
        F::Not(Box::new(F::Atom(a)))
    }
}

fn json_values(values: &[String]) -> Value {
    let one = |s: &String| match s.parse::<i64>() {
        Ok(i) if i.to_string() == *s => Value::from(i),
        _ => Value::String(s.clone()),
    };
    match values {
        [v] => one(v),
        vs => Value::Array(vs.iter().map(one).collect()),
    }
}

/// A literal: `var * 2`, plus one when it asserts the variable false.
fn mk(var: usize, value: bool) -> u32 {
    u32::try_from(var * 2).unwrap_or(u32::MAX - 1) + u32::from(!value)
}

fn var(l: u32) -> usize {
    (l / 2) as usize
}

fn truth(l: u32) -> bool {
    l & 1 == 0
}

enum Status {
    Satisfied,
    Conflict,
    Unit(u32),
    Open,
}

/// The clause database and trail of one search. Variables `0..atoms` are the atoms; the rest
/// stand for subformulas (a polarity-aware Tseitin encoding: a subformula's variable implies it
/// where it occurs positively, and is implied by it where negatively, so any extension of an
/// assignment that satisfies every clause satisfies the formula).
struct Cdcl {
    clauses: Vec<Vec<u32>>,
    /// How many leading clauses are the formula's (the rest are lemmas and learned clauses).
    formula: usize,
    /// Per literal: the clauses it occurs in.
    occurs: Vec<Vec<usize>>,
    assign: Vec<Option<bool>>,
    level: Vec<usize>,
    reason: Vec<Option<usize>>,
    /// Per variable: its position on the trail (while assigned).
    pos: Vec<usize>,
    trail: Vec<u32>,
    trail_lim: Vec<usize>,
    qhead: usize,
    /// The formula is false whatever the assignment (an empty clause).
    empty: bool,
}

impl Cdcl {
    fn new(atoms: usize) -> Cdcl {
        Cdcl {
            clauses: Vec::new(),
            formula: 0,
            occurs: vec![Vec::new(); atoms * 2],
            assign: vec![None; atoms],
            level: vec![0; atoms],
            reason: vec![None; atoms],
            pos: vec![0; atoms],
            trail: Vec::new(),
            trail_lim: Vec::new(),
            qhead: 0,
            empty: false,
        }
    }

    fn new_var(&mut self) -> usize {
        self.assign.push(None);
        self.level.push(0);
        self.reason.push(None);
        self.pos.push(0);
        self.occurs.push(Vec::new());
        self.occurs.push(Vec::new());
        self.assign.len() - 1
    }

    /// Encodes `f` as the formula's clauses, parents before children (so that decisions, which
    /// take the first clause not yet satisfied, follow the formula from its root).
    fn encode_root(&mut self, f: &F) {
        let mut out: Vec<(usize, Vec<u32>)> = Vec::new();
        let root = self.encode(f, true, 1, &mut out);
        out.push((0, vec![root]));
        out.sort_by_key(|c| c.0);
        for (_, c) in out {
            self.add_clause(c, false);
        }
        self.formula = self.clauses.len();
    }

    /// Assigns the unit clauses at level 0 (after the lemmas are added).
    fn start(&mut self) {
        for ci in 0..self.clauses.len() {
            if let [l] = self.clauses[ci][..] {
                match self.value(l) {
                    Some(true) => {}
                    Some(false) => self.empty = true,
                    None => self.assign_lit(l, Some(ci)),
                }
            }
        }
    }

    fn encode(&mut self, f: &F, pos: bool, depth: usize, out: &mut Vec<(usize, Vec<u32>)>) -> u32 {
        match f {
            F::Atom(i) => mk(*i, true),
            F::Not(x) => self.encode(x, !pos, depth, out) ^ 1,
            F::True => {
                let v = self.new_var();
                out.push((depth, vec![mk(v, true)]));
                mk(v, true)
            }
            F::And(xs) | F::Or(xs) if xs.len() == 1 => self.encode(&xs[0], pos, depth, out),
            F::And(xs) | F::Or(xs) => {
                let and = matches!(f, F::And(_));
                let kids: Vec<u32> = xs
                    .iter()
                    .map(|x| self.encode(x, pos, depth + 1, out))
                    .collect();
                let v = mk(self.new_var(), true);
                match (and, pos) {
                    // v -> every kid
                    (true, true) => out.extend(kids.iter().map(|&k| (depth, vec![v ^ 1, k]))),
                    // every kid -> v
                    (true, false) => {
                        let mut c = vec![v];
                        c.extend(kids.iter().map(|&k| k ^ 1));
                        out.push((depth, c));
                    }
                    // v -> some kid
                    (false, true) => {
                        let mut c = vec![v ^ 1];
                        c.extend(kids);
                        out.push((depth, c));
                    }
                    // any kid -> v
                    (false, false) => out.extend(kids.iter().map(|&k| (depth, vec![v, k ^ 1]))),
                }
                v
            }
        }
    }

    /// Adds a clause (`learned`: not one of the formula's); its index.
    fn add_clause(&mut self, mut c: Vec<u32>, learned: bool) -> usize {
        c.sort_unstable();
        c.dedup();
        if c.is_empty() {
            self.empty = true;
        }
        let ci = self.clauses.len();
        for &l in &c {
            self.occurs[l as usize].push(ci);
        }
        self.clauses.push(c);
        if !learned {
            self.formula = self.clauses.len();
        }
        ci
    }

    fn value(&self, l: u32) -> Option<bool> {
        self.assign[var(l)].map(|v| v == truth(l))
    }

    fn assign_lit(&mut self, l: u32, reason: Option<usize>) {
        let v = var(l);
        self.assign[v] = Some(truth(l));
        self.level[v] = self.trail_lim.len();
        self.reason[v] = reason;
        self.pos[v] = self.trail.len();
        self.trail.push(l);
    }

    fn status(&self, ci: usize) -> Status {
        let mut open = None;
        let mut n = 0;
        for &l in &self.clauses[ci] {
            match self.value(l) {
                Some(true) => return Status::Satisfied,
                Some(false) => {}
                None => {
                    n += 1;
                    open = Some(l);
                }
            }
        }
        match (n, open) {
            (0, _) => Status::Conflict,
            (1, Some(l)) => Status::Unit(l),
            _ => Status::Open,
        }
    }

    /// After a backjump, assigns the learned clause's asserting literal (its only open one).
    fn enqueue_unit(&mut self, ci: usize) {
        if let Status::Unit(l) = self.status(ci) {
            self.assign_lit(l, Some(ci));
        }
    }

    /// The next decision: the first open literal of the first formula clause not satisfied.
    fn decide(&self) -> Option<u32> {
        self.clauses[..self.formula].iter().find_map(|c| {
            if c.iter().any(|&l| self.value(l) == Some(true)) {
                None
            } else {
                c.iter().copied().find(|&l| self.value(l).is_none())
            }
        })
    }

    fn backtrack(&mut self, level: usize) {
        if self.trail_lim.len() <= level {
            return;
        }
        let keep = self.trail_lim[level];
        for &l in &self.trail[keep..] {
            self.assign[var(l)] = None;
            self.reason[var(l)] = None;
        }
        self.trail.truncate(keep);
        self.trail_lim.truncate(level);
        self.qhead = self.qhead.min(keep);
    }

    /// Conflict analysis (first unique implication point): the learned clause and the level to
    /// jump back to; `None` when the conflict holds at level 0 (no model).
    fn analyze(&mut self, confl: usize) -> Option<(Vec<u32>, usize)> {
        if self.empty {
            return None;
        }
        // A conflict among literals all set below the current level: analyse it there.
        let top = self.clauses[confl]
            .iter()
            .map(|&l| self.level[var(l)])
            .max()
            .unwrap_or(0);
        if top == 0 {
            return None;
        }
        self.backtrack(top);
        let mut seen = vec![false; self.assign.len()];
        let mut learnt: Vec<u32> = vec![0];
        let mut counter = 0usize;
        let mut clause = confl;
        let mut p: Option<u32> = None;
        let mut idx = self.trail.len();
        loop {
            for &q in &self.clauses[clause] {
                if p.is_some_and(|x| var(x) == var(q)) {
                    continue;
                }
                let v = var(q);
                if seen[v] || self.level[v] == 0 {
                    continue;
                }
                seen[v] = true;
                if self.level[v] == top {
                    counter += 1;
                } else {
                    learnt.push(q);
                }
            }
            loop {
                idx -= 1;
                if seen[var(self.trail[idx])] {
                    break;
                }
            }
            let l = self.trail[idx];
            seen[var(l)] = false;
            counter -= 1;
            p = Some(l);
            if counter == 0 {
                break;
            }
            clause = self.reason[var(l)]?;
        }
        learnt[0] = p? ^ 1;
        let back = learnt[1..]
            .iter()
            .map(|&l| self.level[var(l)])
            .max()
            .unwrap_or(0);
        Some((learnt, back))
    }
}
