//! The theory of one field: is there a value (none, one, or an array) under which the atoms on
//! the field take the truth values asked for, and which?

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::ir::{CmpOp, Shape, Test};

use super::atoms::{Elem, Kind, Table};
use super::lang::{self, Dfa};
use super::values::{cmp, literal_text, net_candidates, number_texts, push, sample_points};
use super::walk::{self, JoinedPart, JoinedWalk, Part, Walk};

/// The answer for one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Satisfiable with these values (none: the field is missing).
    Sat(Vec<String>),
    /// Not satisfiable.
    Unsat,
    /// Not decided, and why.
    Unknown(String),
}

/// A field check: field, single-valued, the atoms' truth values (sorted).
type AnswerKey = (usize, bool, Vec<(usize, bool)>);

enum One {
    Found(String),
    Empty,
    Unknown(String),
}

/// Candidate values tried per field before a product walk: a field with hundreds of values
/// (lists of driver names) would otherwise try each against every atom at every check.
const MAX_FIELD_CANDIDATES: usize = 256;

/// The any-string automaton, built once per process.
static ANY: OnceLock<Dfa> = OnceLock::new();
/// The automaton of strings holding a letter no number text holds, built once per process.
static NON_NUMERIC: OnceLock<Dfa> = OnceLock::new();

/// Field checks with their caches (DFAs, candidates, answers).
pub struct Theory<'t> {
    table: &'t Table,
    max_states: usize,
    /// Product states the walks of this pair may still reach ([`Table::total_states`]).
    states_left: usize,
    dfas: HashMap<usize, Arc<Result<Dfa, String>>>,
    any: &'static Dfa,
    non_numeric: &'static Dfa,
    candidates: HashMap<usize, Vec<String>>,
    /// Per (atom, index of a candidate of its field): whether the candidate satisfies it.
    cand_holds: HashMap<(usize, usize), bool>,
    /// Per (positive atom, negative atom): whether the first's language is within the second's.
    pairs: HashMap<(usize, usize), bool>,
    /// Per (atom, negative atoms): the shortest string of the atom's language outside the
    /// negative ones' (none: empty or undecided).
    atom_strings: HashMap<(usize, Vec<usize>), Option<String>>,
    answers: HashMap<AnswerKey, Outcome>,
    /// A field limited to one value for the current query (explanations).
    pub force_single: Option<usize>,
}

impl<'t> Theory<'t> {
    /// A theory over the atoms of `table`.
    pub fn new(table: &'t Table, max_states: usize) -> Theory<'t> {
        Theory {
            table,
            max_states,
            states_left: table.total_states,
            dfas: HashMap::new(),
            any: ANY
                .get_or_init(|| Dfa::new(r"\A(?s:.)*\z").expect("the any-string automaton builds")),
            // Holds a letter no number, boolean-free number text or IP address contains.
            non_numeric: NON_NUMERIC.get_or_init(|| {
                Dfa::new(r"\A(?s:.)*[g-zG-Z](?s:.)*\z").expect("the non-numeric automaton builds")
            }),
            candidates: HashMap::new(),
            cand_holds: HashMap::new(),
            pairs: HashMap::new(),
            atom_strings: HashMap::new(),
            answers: HashMap::new(),
            force_single: None,
        }
    }

    /// Whether field `field` can give the atoms of `lits` (atom, truth) their truth values.
    pub fn check(&mut self, field: usize, lits: &[(usize, bool)]) -> Outcome {
        let mut key: Vec<(usize, bool)> = lits.to_vec();
        key.sort_unstable();
        key.dedup();
        let single = self.single(field);
        if let Some(o) = self.answers.get(&(field, single, key.clone())) {
            return o.clone();
        }
        let o = self.decide(field, &key);
        self.answers.insert((field, single, key), o.clone());
        o
    }

    fn single(&self, field: usize) -> bool {
        self.table.fields[field].single || self.force_single == Some(field)
    }

    fn decide(&mut self, field: usize, lits: &[(usize, bool)]) -> Outcome {
        let (mut has, mut has_not) = (false, false);
        let (mut pos, mut neg) = (Vec::new(), Vec::new());
        for &(a, v) in lits {
            match (&self.table.atoms[a].kind, v) {
                (Kind::HasValue, true) => has = true,
                (Kind::HasValue, false) => has_not = true,
                (Kind::Elem(_), true) => pos.push(a),
                (Kind::Elem(_), false) => neg.push(a),
            }
        }
        if has_not {
            return if pos.is_empty() && !has {
                Outcome::Sat(Vec::new())
            } else {
                Outcome::Unsat
            };
        }
        if pos.is_empty() && !has {
            return Outcome::Sat(Vec::new());
        }
        if pos.iter().chain(&neg).any(|&a| self.elem(a).joined) {
            return self.joined(field, &pos, &neg);
        }
        match self.one(field, &pos, &neg) {
            One::Found(s) => return Outcome::Sat(vec![s]),
            One::Empty if pos.len() <= 1 || self.single(field) => return Outcome::Unsat,
            One::Unknown(why) if self.single(field) => return Outcome::Unknown(why),
            One::Empty | One::Unknown(_) => {}
        }
        // An array: one element per positive atom, each outside every negative one.
        let mut values = Vec::new();
        for &p in &pos {
            match self.one(field, &[p], &neg) {
                One::Found(s) => {
                    if !values.contains(&s) {
                        values.push(s);
                    }
                }
                One::Empty => return Outcome::Unsat,
                One::Unknown(why) => return Outcome::Unknown(why),
            }
        }
        Outcome::Sat(values)
    }

    /// Values whose join by spaces meets the joined atoms (`--assume ecs`'s
    /// `process.command_line` on `process.args`), each value the per-value ones.
    fn fits_list(&self, values: &[String], pos: &[usize], neg: &[usize]) -> bool {
        let line = values.join(" ");
        let holds = |a: usize| {
            let e = self.elem(a);
            if e.joined {
                e.holds(&line)
            } else {
                values.iter().any(|v| e.holds(v))
            }
        };
        !values.is_empty() && pos.iter().all(|&a| holds(a)) && !neg.iter().any(|&a| holds(a))
    }

    /// A list of values (at least one) for a field with joined atoms: candidate lists built from
    /// the rules' literals first, then the exact walk over value lists.
    fn joined(&mut self, field: usize, pos: &[usize], neg: &[usize]) -> Outcome {
        let name = self.table.fields[field].name.clone();
        if let Some(&a) = pos
            .iter()
            .chain(neg)
            .find(|&&a| lang::source(&self.elem(a).test).is_none())
        {
            return Outcome::Unknown(format!(
                "field {name}: a numeric or network test ({}) with process.command_line under \
                 the ecs assumption",
                self.table.atoms[a].pred.at
            ));
        }
        let cands = self.field_candidates(field);
        for c in &cands {
            let split: Vec<String> = c.split(' ').map(str::to_string).collect();
            for values in [vec![c.clone()], split] {
                if self.fits_list(&values, pos, neg) {
                    return Outcome::Sat(values);
                }
            }
        }
        for &a in pos.iter().chain(neg) {
            self.ensure_dfa(a);
        }
        let mut parts = vec![JoinedPart {
            dfa: self.any,
            accept: true,
            whole: true,
        }];
        for (&a, accept) in pos
            .iter()
            .map(|a| (a, true))
            .chain(neg.iter().map(|a| (a, false)))
        {
            let dfa = match self.dfas[&a].as_ref().as_ref() {
                Ok(d) => d,
                Err(why) => return Outcome::Unknown(why.clone()),
            };
            parts.push(JoinedPart {
                dfa,
                accept,
                whole: self.elem(a).joined,
            });
        }
        match walk::walk_joined(&parts, self.max_states) {
            Ok(JoinedWalk::Found(values)) if self.fits_list(&values, pos, neg) => {
                Outcome::Sat(values)
            }
            Ok(JoinedWalk::Found(values)) => Outcome::Unknown(format!(
                "field {name}: the automaton's witness {values:?} does not satisfy the evaluator"
            )),
            Ok(JoinedWalk::Empty) => Outcome::Unsat,
            Err(why) => Outcome::Unknown(why),
            Ok(JoinedWalk::Budget) => Outcome::Unknown(format!(
                "field {name}: the product automaton reached its budget of {} states \
                 (--max-states)",
                self.max_states
            )),
        }
    }

    fn elem(&self, a: usize) -> &'t Elem {
        match &self.table.atoms[a].kind {
            Kind::Elem(e) => e,
            Kind::HasValue => unreachable!("only element atoms are passed here"),
        }
    }

    fn cand_holds(&mut self, a: usize, c: usize, value: &str) -> bool {
        if let Some(&h) = self.cand_holds.get(&(a, c)) {
            return h;
        }
        let h = self.elem(a).holds(value);
        self.cand_holds.insert((a, c), h);
        h
    }

    fn fits(&self, s: &str, pos: &[usize], neg: &[usize]) -> bool {
        pos.iter().all(|&a| self.elem(a).holds(s)) && !neg.iter().any(|&a| self.elem(a).holds(s))
    }

    /// One value in every language of `pos` and in none of `neg`.
    fn one(&mut self, field: usize, pos: &[usize], neg: &[usize]) -> One {
        let cands = self.field_candidates(field);
        // Positive atoms first (most candidates fail one), each (atom, candidate) evaluated once.
        let found = (0..cands.len()).find(|&c| {
            pos.iter().all(|&a| self.cand_holds(a, c, &cands[c]))
                && !neg.iter().any(|&a| self.cand_holds(a, c, &cands[c]))
        });
        if let Some(c) = found {
            return One::Found(cands[c].clone());
        }
        if let Some(s) = self
            .joined_candidates(pos)
            .into_iter()
            .find(|s| self.fits(s, pos, neg))
        {
            return One::Found(s);
        }
        let is_lang = |t: &Test| lang::source(t).is_some();
        let pos_other: Vec<usize> = pos
            .iter()
            .copied()
            .filter(|&a| !is_lang(&self.elem(a).test))
            .collect();
        let neg_other: Vec<usize> = neg
            .iter()
            .copied()
            .filter(|&a| !is_lang(&self.elem(a).test))
            .collect();
        let name = self.table.fields[field].name.clone();
        if !pos_other.is_empty() {
            return self.non_language(&name, pos, neg, &pos_other, &neg_other);
        }
        let lang_pos: Vec<usize> = pos.to_vec();
        let lang_neg: Vec<usize> = neg
            .iter()
            .copied()
            .filter(|a| !neg_other.contains(a))
            .collect();
        let extra = !neg_other.is_empty();
        // Several positive languages: a string of each (a pattern's text, else its shortest
        // string outside the negative languages) joined by spaces, checked by the evaluator,
        // before any product (a conjunction of `contains` atoms makes one too large to walk).
        if pos.len() > 1 {
            if let Some(s) = self.joined_literals(&name, pos, &lang_neg) {
                if self.fits(&s, pos, neg) {
                    return One::Found(s);
                }
            }
        }
        // One positive language within one negative one settles it with a product of two
        // (cached per pair): a large product is walked only when no pair does.
        if pos.len() > 1 || lang_neg.len() > 1 {
            for &p in &lang_pos {
                for &n in &lang_neg {
                    match self.pair_empty(&name, p, n) {
                        Ok(true) => return One::Empty,
                        Ok(false) => {}
                        Err(o) => return o,
                    }
                }
            }
        }
        match self.product(&name, &lang_pos, &lang_neg, extra) {
            Ok(Walk::Found(s)) if self.fits(&s, pos, neg) => return One::Found(s),
            Ok(Walk::Found(s)) => {
                return One::Unknown(format!(
                    "field {name}: the automaton's witness {s:?} does not satisfy the evaluator"
                ))
            }
            Ok(Walk::Empty) if !extra => return One::Empty,
            Ok(Walk::Empty) => {}
            Ok(Walk::Budget) => return self.budget(&name),
            Err(why) => return One::Unknown(why),
        }
        // Negative numbers or networks, and every string of the languages is numeric-looking.
        match self.product(&name, &lang_pos, &lang_neg, false) {
            Ok(Walk::Found(s)) if self.fits(&s, pos, neg) => One::Found(s),
            Ok(Walk::Found(_)) => One::Unknown(format!(
                "field {name}: numeric or network exclusions over number-like strings"
            )),
            Ok(Walk::Empty) => One::Empty,
            Ok(Walk::Budget) => self.budget(&name),
            Err(why) => One::Unknown(why),
        }
    }

    /// A string of each atom of `pos`, joined by spaces: a string pattern's text, else the
    /// shortest string of the atom's language outside every language of `neg` (`None` if an
    /// atom has none).
    fn joined_literals(&mut self, name: &str, pos: &[usize], neg: &[usize]) -> Option<String> {
        let mut texts = Vec::new();
        for &a in pos {
            let text = match &self.elem(a).test {
                Test::Str { pattern, .. } => Some(literal_text(pattern)),
                Test::Regex { .. }
                | Test::Num { .. }
                | Test::Bool(_)
                | Test::Null
                | Test::Exists(_)
                | Test::Cidr(_)
                | Test::FieldRef { .. }
                | Test::TimePart { .. } => self.atom_string(name, a, neg),
            };
            texts.push(text?);
        }
        Some(texts.join(" "))
    }

    /// The shortest string of atom `a`'s language outside those of `neg` (cached), if any.
    fn atom_string(&mut self, name: &str, a: usize, neg: &[usize]) -> Option<String> {
        let key = (a, neg.to_vec());
        if let Some(s) = self.atom_strings.get(&key) {
            return s.clone();
        }
        let s = match self.product(name, &[a], neg, false) {
            Ok(Walk::Found(s)) => Some(s),
            Ok(Walk::Empty | Walk::Budget) | Err(_) => None,
        };
        self.atom_strings.insert(key, s.clone());
        s
    }

    /// Whether no string is in `p`'s language and outside `n`'s.
    fn pair_empty(&mut self, name: &str, p: usize, n: usize) -> Result<bool, One> {
        if let Some(&e) = self.pairs.get(&(p, n)) {
            return Ok(e);
        }
        let e = match self.product(name, &[p], &[n], false) {
            Ok(Walk::Found(_)) => false,
            Ok(Walk::Empty) => true,
            Ok(Walk::Budget) => return Err(self.budget(name)),
            Err(why) => return Err(One::Unknown(why)),
        };
        self.pairs.insert((p, n), e);
        Ok(e)
    }

    /// Candidates meant to satisfy every string pattern of `pos` at once: the exact text if one
    /// is exact, else the prefixes, the inner literals and the suffixes in that order, joined by
    /// a space or by nothing. A product walk over several `contains` patterns explores every
    /// combination of their progress (it can reach its state budget); one such string, checked
    /// by the evaluator, settles most of those queries without a walk.
    fn joined_candidates(&self, pos: &[usize]) -> Vec<String> {
        let (mut exact, mut pre, mut mid, mut suf) = (None, Vec::new(), Vec::new(), Vec::new());
        for &a in pos {
            let Test::Str { pattern, .. } = &self.elem(a).test else {
                continue;
            };
            match pattern.shape() {
                Shape::Exact(t) => exact = Some(t.to_string()),
                Shape::Prefix(t) => pre.push(t.to_string()),
                Shape::Suffix(t) => suf.push(t.to_string()),
                Shape::Contains(t) => mid.push(t.to_string()),
                Shape::Any => {}
                Shape::Glob => mid.push(literal_text(pattern)),
            }
        }
        if let Some(e) = exact {
            return vec![e];
        }
        if pre.len() + mid.len() + suf.len() < 2 {
            return Vec::new();
        }
        let mut parts = pre;
        parts.extend(mid);
        parts.extend(suf);
        let mut out = Vec::new();
        for sep in [" ", ""] {
            let s = parts.join(sep);
            push(&mut out, s.to_lowercase());
            push(&mut out, s);
        }
        out
    }

    fn product(
        &mut self,
        _name: &str,
        pos: &[usize],
        neg: &[usize],
        non_numeric: bool,
    ) -> Result<Walk, String> {
        for &a in pos.iter().chain(neg) {
            self.ensure_dfa(a);
        }
        let mut parts = vec![Part {
            dfa: self.any,
            accept: true,
            last_segment: false,
        }];
        if non_numeric {
            parts.push(Part {
                dfa: self.non_numeric,
                accept: true,
                last_segment: false,
            });
        }
        for (&a, accept) in pos
            .iter()
            .map(|a| (a, true))
            .chain(neg.iter().map(|a| (a, false)))
        {
            let dfa = self.dfas[&a].as_ref().as_ref().map_err(Clone::clone)?;
            parts.push(Part {
                dfa,
                accept,
                last_segment: self.elem(a).last_segment,
            });
        }
        let cap = self.max_states.min(self.states_left);
        let mut used = 0;
        let w = walk::walk_counted(&parts, cap, &mut used);
        self.states_left = self.states_left.saturating_sub(used);
        w
    }

    /// Positive numbers or networks: decided over their constants, then by candidates.
    fn non_language(
        &mut self,
        name: &str,
        pos: &[usize],
        neg: &[usize],
        pos_other: &[usize],
        neg_other: &[usize],
    ) -> One {
        let tests: Vec<&Test> = pos_other.iter().map(|&a| &self.elem(a).test).collect();
        let has_num = tests.iter().any(|t| matches!(t, Test::Num { .. }));
        let has_net = tests.iter().any(|t| matches!(t, Test::Cidr(_)));
        if has_num && has_net {
            return One::Empty; // No string is both a finite number and an IP address.
        }
        let mut cands = Vec::new();
        if has_num {
            let nums = |xs: &[usize]| -> Vec<(CmpOp, f64)> {
                xs.iter()
                    .filter_map(|&a| match &self.elem(a).test {
                        Test::Num { op, value } => Some((*op, value.as_f64())),
                        Test::Str { .. }
                        | Test::Regex { .. }
                        | Test::Bool(_)
                        | Test::Null
                        | Test::Exists(_)
                        | Test::Cidr(_)
                        | Test::FieldRef { .. }
                        | Test::TimePart { .. } => None,
                    })
                    .collect()
            };
            let (p, n) = (nums(pos_other), nums(neg_other));
            let points = sample_points(p.iter().chain(&n).map(|x| x.1));
            let ok = |x: f64| {
                p.iter().all(|&(op, c)| cmp(op, x, c)) && !n.iter().any(|&(op, c)| cmp(op, x, c))
            };
            let good: Vec<f64> = points.into_iter().filter(|&x| ok(x)).collect();
            if good.is_empty() {
                return One::Empty;
            }
            for x in good {
                cands.extend(number_texts(x));
            }
        }
        if has_net {
            for t in &tests {
                if let Test::Cidr(net) = t {
                    cands.extend(net_candidates(net));
                }
            }
        }
        if let Some(s) = cands.into_iter().find(|s| self.fits(s, pos, neg)) {
            return One::Found(s);
        }
        One::Unknown(format!(
            "field {name}: numeric or network tests combined with string tests; no candidate \
             value settles it"
        ))
    }

    fn field_candidates(&mut self, field: usize) -> Vec<String> {
        if let Some(c) = self.candidates.get(&field) {
            return c.clone();
        }
        let mut bases: Vec<String> = Vec::new();
        let mut in_bases = std::collections::HashSet::new();
        let mut extra: Vec<String> = Vec::new();
        let mut seg = false;
        for atom in &self.table.atoms {
            if atom.field != field {
                continue;
            }
            let Kind::Elem(e) = &atom.kind else { continue };
            seg |= e.last_segment;
            match &e.test {
                Test::Str { pattern, .. } => {
                    let text = literal_text(pattern);
                    if in_bases.insert(text.clone()) {
                        bases.push(text);
                    }
                }
                Test::Num { value, .. } => {
                    for x in sample_points([value.as_f64()]) {
                        extra.extend(number_texts(x));
                    }
                }
                Test::Bool(b) => extra.extend([b.to_string(), b.to_string().to_uppercase()]),
                Test::Cidr(net) => extra.extend(net_candidates(net)),
                Test::Regex { .. }
                | Test::Null
                | Test::Exists(_)
                | Test::FieldRef { .. }
                | Test::TimePart { .. } => {}
            }
        }
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut push = |out: &mut Vec<String>, s: String| {
            if out.len() < MAX_FIELD_CANDIDATES && seen.insert(s.clone()) {
                out.push(s);
            }
        };
        for b in &bases {
            push(&mut out, b.clone());
            push(&mut out, b.to_uppercase());
            push(&mut out, b.to_lowercase());
            push(&mut out, format!("{b}x"));
            if seg {
                push(&mut out, format!("/usr/bin/{b}"));
            }
        }
        let few = &bases[..bases.len().min(8)];
        for x in few {
            for y in few {
                if x != y {
                    push(&mut out, format!("{x} {y}"));
                }
            }
        }
        for e in extra {
            push(&mut out, e);
        }
        out.truncate(MAX_FIELD_CANDIDATES - 2);
        for s in ["x", "other"] {
            if !out.iter().any(|o| o == s) {
                out.push(s.into());
            }
        }
        self.candidates.insert(field, out.clone());
        out
    }
}

impl Theory<'_> {
    /// The DFA of atom `a`'s language: from the rules' prepared caches, else built here.
    fn ensure_dfa(&mut self, a: usize) {
        if !self.dfas.contains_key(&a) {
            let src = lang::source(&self.elem(a).test).unwrap_or_default();
            let dfa = self
                .table
                .dfas
                .iter()
                .find_map(|c| c.get(&src))
                .unwrap_or_else(|| Arc::new(Dfa::new(&src)));
            self.dfas.insert(a, dfa);
        }
    }

    fn budget(&self, name: &str) -> One {
        if self.states_left < self.max_states {
            One::Unknown(format!(
                "field {name}: the product automata of this pair reached their joint budget of \
                 {} states (--max-total-states)",
                self.table.total_states
            ))
        } else {
            One::Unknown(format!(
                "field {name}: the product automaton reached its budget of {} states \
                 (--max-states)",
                self.max_states
            ))
        }
    }
}
