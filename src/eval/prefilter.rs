//! The cross-rule prefilter: which rules could match an event at all.
//!
//! For every rule we derive a *witness*: a set of atoms "field F (or any keyword value) contains
//! the folded text T" such that whenever the rule matches, at least one atom holds. It is built
//! bottom-up over the IR: a string pattern gives its longest literal piece; a regex the literal
//! prefixes `regex-syntax` proves every match starts with; `Or` needs a witness from every
//! branch (their union); `And` takes the best witness among its children; `Not` and every other
//! test give none. A rule without a witness is evaluated on every event.
//!
//! Soundness rests on the fold being per character (see [`super::matcher`]): if a value (or its
//! fold) matches a pattern, the folded value contains the folded literal pieces, whatever the
//! case mode; and a regex match contains one of its prefix literals verbatim.
//!
//! At run time each field that carries atoms gets one Aho-Corasick automaton over all its
//! needles (all rules together); the event's folded value is scanned once and every hit marks
//! the rules that listed the needle.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use serde_json::Value;

use super::compile::{FieldId, FieldTable, FoldCache, Marks};
use super::event::{for_each_leaf, resolve};
use super::matcher::{fold, scalar_text};
use crate::ir::{Expr, Piece, Predicate, Rule, Test};

/// "The field (or, with `None`, some keyword value) contains `needle`", needle folded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Atom {
    pub field: Option<FieldId>,
    pub needle: String,
}

/// A witness: one of the atoms holds whenever the expression holds.
type Witness = Vec<Atom>;

/// Ranks a witness: the shortest needle first (longer is more selective), then fewer atoms.
fn score(w: &Witness) -> (usize, std::cmp::Reverse<usize>) {
    let min = w.iter().map(|a| a.needle.len()).min().unwrap_or(0);
    (min.min(24), std::cmp::Reverse(w.len()))
}

/// The witness of a whole rule (its conditions are ORed), or `None`.
pub(crate) fn rule_witness(rule: &Rule, fields: &mut FieldTable) -> Option<Witness> {
    let mut out = Vec::new();
    for c in &rule.conditions {
        out.extend(witness(c, fields)?);
    }
    (!out.is_empty()).then_some(out)
}

fn witness(e: &Expr, fields: &mut FieldTable) -> Option<Witness> {
    match e {
        Expr::Pred(p) => pred_witness(p, fields),
        Expr::Or(xs) => {
            let mut out = Vec::new();
            for x in xs {
                out.extend(witness(x, fields)?);
            }
            out.sort_by(|a, b| (a.field, &a.needle).cmp(&(b.field, &b.needle)));
            out.dedup();
            Some(out)
        }
        Expr::And(xs) => xs
            .iter()
            .filter_map(|x| witness(x, fields))
            .max_by_key(score),
        Expr::Not(_) => None,
    }
}

fn pred_witness(p: &Predicate, fields: &mut FieldTable) -> Option<Witness> {
    let needles: Vec<String> = match &p.test {
        Test::Str { pattern, .. } => {
            let best = pattern
                .pieces()
                .iter()
                .filter_map(|pc| match pc {
                    Piece::Lit(s) => Some(s),
                    Piece::AnyMany | Piece::AnyOne | Piece::Placeholder(_) => None,
                })
                .max_by_key(|s| s.len())?;
            vec![fold(best)]
        }
        Test::Regex { pattern, flags } => {
            let hir = regex_syntax::ParserBuilder::new()
                .case_insensitive(flags.ignore_case)
                .multi_line(flags.multi_line)
                .dot_matches_new_line(flags.dot_all)
                .build()
                .parse(pattern)
                .ok()?;
            let mut ex = Extractor::new();
            ex.kind(ExtractKind::Prefix);
            let seq = ex.extract(&hir);
            let lits = seq.literals()?;
            let mut out = Vec::new();
            for l in lits {
                let s = std::str::from_utf8(l.as_bytes()).ok()?;
                if s.is_empty() {
                    return None;
                }
                out.push(fold(s));
            }
            if out.is_empty() {
                // A regex that can never match: no event can satisfy it, any witness is sound,
                // but keep it simple and evaluate it.
                return None;
            }
            out.sort();
            out.dedup();
            out
        }
        Test::Num { .. }
        | Test::Bool(_)
        | Test::Null
        | Test::Exists(_)
        | Test::Cidr(_)
        | Test::FieldRef { .. }
        | Test::TimePart { .. } => return None,
    };
    if needles.iter().any(String::is_empty) {
        return None;
    }
    let field = p.field.as_deref().map(|f| fields.intern(f));
    Some(
        needles
            .into_iter()
            .map(|needle| Atom { field, needle })
            .collect(),
    )
}

/// One automaton: needles of one field (or of the keywords) → the rules listing them.
#[derive(Debug)]
struct Scan {
    ac: AhoCorasick,
    rules: Vec<Vec<u32>>,
}

impl Scan {
    fn build(needles: HashMap<String, Vec<u32>>) -> Scan {
        let mut pairs: Vec<(String, Vec<u32>)> = needles.into_iter().collect();
        pairs.sort();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(pairs.iter().map(|p| p.0.as_bytes()))
            .expect("needle automaton");
        Scan {
            ac,
            rules: pairs.into_iter().map(|p| p.1).collect(),
        }
    }

    fn mark(&self, text: &str, marks: &mut Marks) {
        for m in self.ac.find_overlapping_iter(text) {
            for &r in &self.rules[m.pattern().as_usize()] {
                marks.add(r);
            }
        }
    }
}

/// The prefilter of a rule set.
#[derive(Debug)]
pub(crate) struct Prefilter {
    /// Fields without dots: found by iterating the event's top-level keys.
    top: HashMap<String, (FieldId, Scan)>,
    /// Dotted fields: resolved as key paths.
    dotted: Vec<(FieldId, Scan)>,
    keywords: Option<Scan>,
    /// Rules without a witness: always evaluated.
    pub always: Vec<u32>,
}

impl Prefilter {
    /// Builds the prefilter from each rule's witness (`None`: always evaluate).
    pub(crate) fn new(witnesses: &[Option<Witness>], fields: &FieldTable) -> Prefilter {
        let mut per_field: HashMap<Option<FieldId>, HashMap<String, Vec<u32>>> = HashMap::new();
        let mut always = Vec::new();
        for (i, w) in witnesses.iter().enumerate() {
            let i = u32::try_from(i).expect("fewer than 2^32 rules");
            match w {
                None => always.push(i),
                Some(atoms) => {
                    for a in atoms {
                        let rules = per_field
                            .entry(a.field)
                            .or_default()
                            .entry(a.needle.clone())
                            .or_default();
                        if rules.last() != Some(&i) {
                            rules.push(i);
                        }
                    }
                }
            }
        }
        let mut top = HashMap::new();
        let mut dotted = Vec::new();
        let mut keywords = None;
        let mut entries: Vec<_> = per_field.into_iter().collect();
        entries.sort_by_key(|e| e.0);
        for (field, needles) in entries {
            let scan = Scan::build(needles);
            match field {
                None => keywords = Some(scan),
                Some(fid) => {
                    let name = fields.name(fid);
                    if name.contains('.') {
                        dotted.push((fid, scan));
                    } else {
                        top.insert(name.to_string(), (fid, scan));
                    }
                }
            }
        }
        Prefilter {
            top,
            dotted,
            keywords,
            always,
        }
    }

    /// Fills `marks.candidates` with the rules that could match `event` (unsorted, no
    /// duplicates). `Scratch::next_event` must have been called.
    pub(crate) fn candidates(
        &self,
        event: &Value,
        fields: &FieldTable,
        fc: &mut FoldCache,
        marks: &mut Marks,
    ) {
        for &r in &self.always {
            marks.add(r);
        }
        let scan_value =
            |fid: FieldId, v: &Value, scan: &Scan, fc: &mut FoldCache, marks: &mut Marks| {
                for_each_leaf(v, &mut |x| {
                    match x {
                        Value::String(s) => scan.mark(fc.folded(fid, s), marks),
                        x => {
                            if let Some(t) = scalar_text(x) {
                                scan.mark(&t, marks);
                            }
                        }
                    }
                    false
                });
            };
        match event {
            Value::Object(map) => {
                if map.len() < self.top.len() {
                    for (k, v) in map {
                        if let Some((fid, scan)) = self.top.get(k.as_str()) {
                            scan_value(*fid, v, scan, fc, marks);
                        }
                    }
                } else {
                    for (k, (fid, scan)) in &self.top {
                        if let Some(v) = map.get(k.as_str()) {
                            scan_value(*fid, v, scan, fc, marks);
                        }
                    }
                }
            }
            other => {
                for (k, (fid, scan)) in &self.top {
                    resolve(other, k, &mut |v| scan_value(*fid, v, scan, fc, marks));
                }
            }
        }
        for (fid, scan) in &self.dotted {
            resolve(event, fields.name(*fid), &mut |v| {
                scan_value(*fid, v, scan, fc, marks);
            });
        }
        if let Some(scan) = &self.keywords {
            for t in fc.keywords(event) {
                scan.mark(t, marks);
            }
        }
    }

    /// Number of rules evaluated on every event (no witness).
    pub(crate) fn always_count(&self) -> usize {
        self.always.len()
    }
}
