//! Evaluator: IR → compiled matchers → verdicts on JSON events.
//!
//! The meaning of every test is the one documented on [`crate::ir`]; this module only makes it
//! fast:
//!
//! - [`compile_rule`] turns one [`ir::Rule`] into a [`CompiledRule`]: pattern literals folded
//!   once at compile time, wildcard patterns lowered by shape to equality, prefix, suffix or
//!   substring tests (`memchr::memmem`), true globs run by a small glob matcher, ORed string
//!   tests on one field merged into one set with a single Aho-Corasick automaton.
//! - [`RuleSet`] compiles many rules over one field table and a cross-rule prefilter
//!   (`prefilter`): per field, one index over every rule's necessary literals (each found through
//!   its rarest 4-byte window, tested against a cache-resident bitmap),
//!   so an event reaches only the rules that could match it. [`RuleSet::matches_batch`] spreads
//!   events over threads with rayon.
//! - Events are read as [`Val`] ([`event`]): JSON whose strings borrow from the input text and
//!   whose objects are entry vectors, parsed by `serde_json` in about half the time a
//!   `serde_json::Value` takes. Every entry point also takes a `serde_json::Value` ([`AsEvent`]).
//! - [`input`] streams NDJSON, JSON arrays (element by element), concatenated JSON objects,
//!   gzip and stdin in bounded memory, reports and skips each record it cannot read (invalid
//!   JSON or UTF-8, not an object, over the size bound), and normalises Windows event JSON so
//!   that Sigma field names resolve ([`event`]).
//!
//! Correlation rules run in [`correlate`], a stage on top of a [`RuleSet`]
//! ([`correlate::compile_documents`]); [`compile_document`] and [`RuleSet::compile_documents`]
//! refuse them by name ([`ErrorKind::Unsupported`]). A rule still holding a placeholder is
//! refused with [`ErrorKind::UnresolvedPlaceholder`].

mod compile;
pub mod correlate;
pub mod event;
pub mod input;
mod lazy;
pub mod matcher;
mod prefilter;

use rayon::prelude::*;

pub use compile::{FieldId, FieldTable, Scratch};
pub use event::{AsEvent, Val};

use crate::error::{Error, ErrorKind, Result};
use crate::ir::{self, Document};
use compile::{compile_conditions, intern_fields, recycle, Ctx, Node};
use prefilter::{rule_witness, Prefilter, Witness};

/// One rule compiled for evaluation on its own.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    conds: Vec<Node>,
    fields: FieldTable,
}

/// Compiles one rule.
///
/// # Errors
/// [`ErrorKind::UnresolvedPlaceholder`] for a placeholder left in a pattern,
/// [`ErrorKind::InvalidRegex`] / [`ErrorKind::InvalidCidr`] for values that do not compile, and
/// [`ErrorKind::Unsupported`] for a non-string test without a field. Errors carry the rule's
/// file and the predicate's key path.
pub fn compile_rule(rule: &ir::Rule) -> Result<CompiledRule> {
    let mut fields = FieldTable::default();
    let resolved;
    let rule = if has_caseless(rule) {
        let mut r = rule.clone();
        resolve_caseless(&mut r);
        resolved = r;
        &resolved
    } else {
        rule
    };
    intern_fields(rule, &mut fields);
    let conds = compile_conditions(rule, &fields).map_err(|e| locate(e, rule))?;
    Ok(CompiledRule { conds, fields })
}

/// Compiles a document: rules compile, correlations are refused by name, filters are refused
/// (apply them to their rules first, e.g. with [`ir::Filter::apply`]).
///
/// # Errors
/// As [`compile_rule`], plus [`ErrorKind::Unsupported`] for correlations and filters.
pub fn compile_document(doc: &Document) -> Result<CompiledRule> {
    match doc {
        Document::Rule(r) => compile_rule(r),
        Document::Correlation(c) => Err(refuse("correlation rules", c.origin.file.as_deref())),
        Document::Sequence(s) => Err(refuse(
            "sequences on their own (they run in the correlation stage)",
            s.origin.file.as_deref(),
        )),
        Document::Filter(f) => Err(refuse(
            "filter documents on their own (they apply to rules)",
            f.origin.file.as_deref(),
        )),
    }
}

fn refuse(what: &str, file: Option<&str>) -> Error {
    let e = Error::new(ErrorKind::Unsupported {
        target: "eval".into(),
        what: what.into(),
    });
    match file {
        Some(f) => e.in_file(f),
        None => e,
    }
}

/// Whether some predicate reads an `X.caseless` field.
fn has_caseless(rule: &ir::Rule) -> bool {
    let mut any = false;
    for c in &rule.conditions {
        c.for_each_pred(&mut |p| any |= ir::caseless(p).is_some());
    }
    any
}

/// Reads `X.caseless` as `X` compared case-insensitively (the IR docs, "Caseless fields").
fn resolve_caseless(rule: &mut ir::Rule) {
    for c in &mut rule.conditions {
        c.for_each_pred_mut(&mut |p| {
            if let Some(q) = ir::caseless(p) {
                *p = q;
            }
        });
    }
}

fn locate(e: Error, rule: &ir::Rule) -> Error {
    match &rule.origin.file {
        Some(f) => e.in_file(f.clone()),
        None => e,
    }
}

impl CompiledRule {
    /// Whether the rule matches `event` (any of its conditions holds).
    #[must_use]
    pub fn is_match(&self, event: &(impl AsEvent + ?Sized)) -> bool {
        let mut scratch = Scratch::default();
        self.is_match_with(event, &mut scratch)
    }

    /// [`CompiledRule::is_match`] reusing working memory across events.
    pub fn is_match_with(&self, event: &(impl AsEvent + ?Sized), scratch: &mut Scratch) -> bool {
        let event = &*event.as_event();
        scratch.next_event(self.fields.len(), 0);
        let mut ctx = Ctx {
            fields: &self.fields,
            event,
            fc: &mut scratch.fc,
            slots: None,
        };
        self.conds.iter().any(|c| ctx.eval(c))
    }
}

/// What a rule set reports about each rule (for output).
#[derive(Debug, Clone)]
pub struct RuleInfo {
    /// Index of the rule in the vector given to [`RuleSet::compile`].
    pub index: usize,
    /// `id`.
    pub id: Option<String>,
    /// `title`.
    pub title: String,
    /// `level`.
    pub level: Option<ir::Level>,
    /// The rule's file.
    pub file: Option<String>,
}

/// One rule of a [`RuleSet`] as it is compiled: what is reported about it, its conditions and
/// its prefilter witness.
type Compiled = (RuleInfo, Vec<Node>, Option<Witness>);

/// Many rules compiled together, with a cross-rule prefilter.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<(RuleInfo, Vec<Node>)>,
    fields: FieldTable,
    prefilter: Prefilter,
}

impl RuleSet {
    /// Compiles `rules`. Rules that fail are left out and returned with their index.
    #[must_use]
    pub fn compile(rules: Vec<ir::Rule>) -> (RuleSet, Vec<(usize, Error)>) {
        // Field names first (cheap, in rule order), then each rule on its own against the
        // read-only table, in parallel. Regexes and string-set automata are built on first
        // use (`lazy.rs`); their syntax is checked here.
        let mut fields = FieldTable::default();
        let mut rules = rules;
        for rule in &mut rules {
            if has_caseless(rule) {
                resolve_caseless(rule);
            }
            intern_fields(rule, &mut fields);
        }
        let results: Vec<Result<Compiled>> = rules
            .into_par_iter()
            .enumerate()
            .map(|(index, rule)| match compile_conditions(&rule, &fields) {
                Ok(conds) => {
                    let witness = rule_witness(&rule, &fields);
                    let info = RuleInfo {
                        index,
                        id: rule.meta.id,
                        title: rule.meta.title,
                        level: rule.meta.level,
                        file: rule.origin.file,
                    };
                    Ok((info, conds, witness))
                }
                Err(e) => Err(match rule.origin.file {
                    Some(f) => e.in_file(f),
                    None => e,
                }),
            })
            .collect();
        let mut compiled = Vec::with_capacity(results.len());
        let mut witnesses = Vec::with_capacity(results.len());
        let mut errors = Vec::new();
        for (index, r) in results.into_iter().enumerate() {
            match r {
                Ok((info, conds, witness)) => {
                    witnesses.push(witness);
                    compiled.push((info, conds));
                }
                Err(e) => errors.push((index, e)),
            }
        }
        let prefilter = Prefilter::new(&witnesses, &fields);
        (
            RuleSet {
                rules: compiled,
                fields,
                prefilter,
            },
            errors,
        )
    }

    /// Compiles the rules among `docs`; correlations and filters are refused by name.
    #[must_use]
    pub fn compile_documents(docs: Vec<Document>) -> (RuleSet, Vec<(usize, Error)>) {
        let mut rules = Vec::new();
        let mut map = Vec::new();
        let mut errors = Vec::new();
        for (i, d) in docs.into_iter().enumerate() {
            match d {
                Document::Rule(r) => {
                    map.push(i);
                    rules.push(r);
                }
                other => errors.push((
                    i,
                    compile_document(&other).expect_err("non-rule documents are refused"),
                )),
            }
        }
        let (mut set, errs) = RuleSet::compile(rules);
        for (info, _) in &mut set.rules {
            info.index = map[info.index];
        }
        errors.extend(errs.into_iter().map(|(i, e)| (map[i], e)));
        errors.sort_by_key(|e| e.0);
        (set, errors)
    }

    /// Number of compiled rules.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule compiled.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Metadata of compiled rule `i` (`0..len()`, the numbering [`RuleSet::matches`] uses).
    #[must_use]
    pub fn info(&self, i: usize) -> &RuleInfo {
        &self.rules[i].0
    }

    /// Number of rules the prefilter cannot skip (evaluated on every event).
    #[must_use]
    pub fn unfiltered_rules(&self) -> usize {
        self.prefilter.always_count()
    }

    /// The compiled rules (numbered `0..len()`) that match `event`, in increasing order.
    #[must_use]
    pub fn matches(&self, event: &(impl AsEvent + ?Sized)) -> Vec<usize> {
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        self.matches_with(event, &mut scratch, &mut out);
        out
    }

    /// [`RuleSet::matches`] into `out` (cleared first), reusing working memory.
    pub fn matches_with(
        &self,
        event: &(impl AsEvent + ?Sized),
        scratch: &mut Scratch,
        out: &mut Vec<usize>,
    ) {
        let event = &*event.as_event();
        out.clear();
        let slots = self.run_prefilter(event, scratch);
        let Scratch { fc, marks, .. } = scratch;
        let mut ctx = Ctx {
            fields: &self.fields,
            event,
            fc,
            slots: event.is_object().then_some(&slots[..]),
        };
        for &r in &marks.candidates {
            if self.rules[r as usize].1.iter().any(|c| ctx.eval(c)) {
                out.push(r as usize);
            }
        }
        scratch.slots = recycle(slots);
        out.sort_unstable();
    }

    /// The compiled rules the prefilter lets through for `event` (a superset of the matches;
    /// for diagnostics and tests), in increasing order.
    #[must_use]
    pub fn candidates(&self, event: &(impl AsEvent + ?Sized)) -> Vec<usize> {
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        self.candidates_with(event, &mut scratch, &mut out);
        out.sort_unstable();
        out
    }

    /// [`RuleSet::candidates`] into `out`, reusing working memory (unsorted).
    pub fn candidates_with(
        &self,
        event: &(impl AsEvent + ?Sized),
        scratch: &mut Scratch,
        out: &mut Vec<usize>,
    ) {
        let event = &*event.as_event();
        out.clear();
        let slots = self.run_prefilter(event, scratch);
        scratch.slots = recycle(slots);
        out.extend(scratch.marks.candidates.iter().map(|&r| r as usize));
    }

    /// Starts a new event in `scratch` and runs the prefilter over it: the candidates land in
    /// `scratch.marks`, and the event's top-level field values are returned as slots (hand the
    /// vector back with `scratch.slots = recycle(slots)` to reuse its allocation).
    #[inline]
    fn run_prefilter<'v, 'e>(
        &self,
        event: &'v Val<'e>,
        scratch: &mut Scratch,
    ) -> Vec<Option<&'v Val<'e>>> {
        scratch.next_event(self.fields.len(), self.rules.len());
        let mut slots = recycle(std::mem::take(&mut scratch.slots));
        slots.resize(self.fields.len(), None);
        let Scratch { fc, marks, .. } = scratch;
        self.prefilter
            .candidates(event, &self.fields, fc, marks, &mut slots);
        slots
    }

    /// Every compiled rule that matches, without the prefilter (reference for tests).
    #[must_use]
    pub fn matches_unfiltered(&self, event: &(impl AsEvent + ?Sized)) -> Vec<usize> {
        let event = &*event.as_event();
        let mut scratch = Scratch::default();
        scratch.next_event(self.fields.len(), self.rules.len());
        let mut ctx = Ctx {
            fields: &self.fields,
            event,
            fc: &mut scratch.fc,
            slots: None,
        };
        (0..self.rules.len())
            .filter(|&r| self.rules[r].1.iter().any(|c| ctx.eval(c)))
            .collect()
    }

    /// [`RuleSet::matches`] for many events, spread over the rayon thread pool.
    #[must_use]
    pub fn matches_batch<E: AsEvent + Sync>(&self, events: &[E]) -> Vec<Vec<usize>> {
        events
            .par_iter()
            .map_init(Scratch::default, |scratch, e| {
                let mut out = Vec::new();
                self.matches_with(e, scratch, &mut out);
                out
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
