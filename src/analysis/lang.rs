//! String languages as DFAs (`regex-automata`), in two tiers: the exact automaton when it is
//! small, else first the automaton of the language's ASCII strings (Unicode classes such as
//! `\w` or `\P{Alphabetic}` make exact byte automata of megabytes; their ASCII parts are
//! small) and the exact one built only when a walk needs it ([`crate::analysis`]'s `walk.rs`).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::OnceLock;

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::Anchored;
use regex_syntax::hir::{self, Class, Hir, HirKind, Look};

use crate::ir::{Pattern, Test};

/// States a product automaton may reach before the answer is `unknown`.
pub const DEFAULT_MAX_STATES: usize = 100_000;

/// Bytes a DFA may take to build (each of its two build phases).
const DFA_SIZE_LIMIT: usize = 16 << 20;

/// Bytes the exact DFA may take when it is built first: larger languages start with their
/// ASCII automaton (the exact one is built only when a walk over ASCII strings is empty).
const EXACT_FIRST_LIMIT: usize = 256 << 10;

/// A full-match language: its first automaton, and the exact one when the first covers only
/// the ASCII strings.
#[derive(Debug)]
pub struct Dfa {
    /// The exact automaton, or (when `exact` is set) the automaton of the ASCII strings.
    pub(super) first: Auto,
    /// The regex and its exact automaton, built on first need, when `first` is ASCII only.
    exact: Option<(String, OnceLock<Result<Auto, String>>)>,
    /// A 128-bit fingerprint of the regex: equal languages across rules and pairs.
    pub(super) fingerprint: u128,
}

/// One automaton: a dense DFA, its anchored start and its universal states.
#[derive(Debug)]
pub(super) struct Auto {
    pub(super) dfa: dense::DFA<Vec<u32>>,
    pub(super) start: StateID,
    /// Per state reachable from the start (by `state id >> stride2`): whether every string
    /// read from it on is in the language (it loops on every byte, or every ASCII byte for an
    /// ASCII automaton, and accepts at the end).
    universal: Vec<bool>,
}

/// The regex (full match, `\A...\z`) of an element test, when it is a string language.
pub fn source(test: &Test) -> Option<String> {
    match test {
        Test::Str { pattern, cased } => str_source(pattern, *cased),
        Test::Regex { pattern, flags } => {
            let mut f = String::new();
            if flags.ignore_case {
                f.push('i');
            }
            if flags.multi_line {
                f.push('m');
            }
            if flags.dot_all {
                f.push('s');
            }
            Some(format!(r"\A(?s:.)*(?{f}:{pattern})(?s:.)*\z"))
        }
        Test::Bool(b) => Some(format!(r"\A(?i:{b})\z")),
        Test::Num { .. }
        | Test::Cidr(_)
        | Test::Null
        | Test::Exists(_)
        | Test::FieldRef { .. }
        | Test::TimePart { .. } => None,
    }
}

fn str_source(pattern: &Pattern, cased: bool) -> Option<String> {
    // `to_regex` anchors with `^`/`$` under `(?s)`: without `m` those are text anchors.
    pattern.to_regex(cased)
}

impl Dfa {
    /// Builds the automata of a full-match regex: the exact DFA when it fits
    /// `EXACT_FIRST_LIMIT`, else the DFA of its ASCII strings first.
    ///
    /// # Errors
    /// Why it cannot be built (size limits, Unicode word boundaries).
    pub fn new(re: &str) -> Result<Dfa, String> {
        let hir = Auto::parse(re)?;
        match Auto::build(re, &hir, EXACT_FIRST_LIMIT, false) {
            Ok(first) => Ok(Dfa {
                first,
                exact: None,
                fingerprint: fingerprint(|h| re.hash(h)),
            }),
            Err(_) => Dfa::ascii_then_exact(re, &hir),
        }
    }

    /// The two tiers of `re` whatever its size: its ASCII automaton first.
    #[cfg(test)]
    pub(super) fn ascii_first_of(re: &str) -> Result<Dfa, String> {
        Dfa::ascii_then_exact(re, &Auto::parse(re)?)
    }

    fn ascii_then_exact(re: &str, hir: &Hir) -> Result<Dfa, String> {
        Ok(Dfa {
            first: Auto::build(re, &ascii_hir(hir), DFA_SIZE_LIMIT, true)?,
            exact: Some((re.to_string(), OnceLock::new())),
            fingerprint: fingerprint(|h| re.hash(h)),
        })
    }

    /// Whether the first automaton holds only the language's ASCII strings.
    pub(super) fn ascii_first(&self) -> bool {
        self.exact.is_some()
    }

    /// The exact automaton (built now if it was not yet).
    ///
    /// # Errors
    /// Why it cannot be built.
    pub(super) fn exact(&self) -> Result<&Auto, String> {
        match &self.exact {
            None => Ok(&self.first),
            Some((re, cell)) => cell
                .get_or_init(|| Auto::exact(re, DFA_SIZE_LIMIT))
                .as_ref()
                .map_err(Clone::clone),
        }
    }
}

impl Auto {
    fn config(limit: usize) -> dense::Config {
        dense::Config::new()
            .start_kind(StartKind::Anchored)
            .dfa_size_limit(Some(limit))
            .determinize_size_limit(Some(limit))
    }

    /// The exact DFA of `re`, within `limit` bytes per build phase.
    fn exact(re: &str, limit: usize) -> Result<Auto, String> {
        Self::build(re, &Self::parse(re)?, limit, false)
    }

    /// `re` parsed as `dense::Builder::build` parses it.
    fn parse(re: &str) -> Result<Hir, String> {
        regex_syntax::ParserBuilder::new()
            .build()
            .parse(re)
            .map_err(|e| format!("no automaton for `{re}`: {e}"))
    }

    /// The DFA of `hir` (parsed from `re`, or its ASCII part when `ascii`), within `limit`
    /// bytes per build phase, compiled as `dense::Builder::build` compiles (no captures).
    fn build(re: &str, hir: &Hir, limit: usize, ascii: bool) -> Result<Auto, String> {
        let why = |e: &dyn std::fmt::Display| format!("no automaton for `{re}`: {e}");
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().which_captures(thompson::WhichCaptures::None))
            .build_from_hir(hir)
            .map_err(|e| why(&e))?;
        let dfa = dense::Builder::new()
            .configure(Self::config(limit))
            .build_from_nfa(&nfa)
            .map_err(|e| why(&e))?;
        Self::of(re, dfa, ascii)
    }

    fn of(re: &str, dfa: dense::DFA<Vec<u32>>, ascii: bool) -> Result<Auto, String> {
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::Yes))
            .map_err(|e| format!("no automaton for `{re}`: {e}"))?;
        let universal = universal_states(&dfa, start, ascii);
        Ok(Auto {
            dfa,
            start,
            universal,
        })
    }

    /// Whether every string read from `s` on is in the language.
    pub(super) fn is_universal(&self, s: StateID) -> bool {
        self.universal
            .get(s.as_usize() >> self.dfa.stride2())
            .copied()
            .unwrap_or(false)
    }
}

/// Two independent 64-bit hashes of what `feed` writes, as one 128-bit fingerprint (a regex's,
/// a walk's).
pub(super) fn fingerprint(feed: impl Fn(&mut foldhash::quality::FoldHasher<'static>)) -> u128 {
    let h = |seed| {
        let mut h = foldhash::quality::FixedState::with_seed(seed).build_hasher();
        feed(&mut h);
        h.finish()
    };
    (u128::from(h(0x7369_676d_6174)) << 64) | u128::from(h(0x6c61_6e67))
}

/// `h` restricted to ASCII strings (the nesting is bounded by the parser's limit).
fn ascii_hir(h: &Hir) -> Hir {
    const TOP: char = '\x7f';
    match h.kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(hir::Literal(bytes)) if bytes.is_ascii() => h.clone(),
        HirKind::Literal(_) => Hir::fail(),
        HirKind::Class(Class::Unicode(c)) => {
            let mut c = c.clone();
            c.intersect(&hir::ClassUnicode::new([hir::ClassUnicodeRange::new(
                '\0', TOP,
            )]));
            Hir::class(Class::Unicode(c))
        }
        HirKind::Class(Class::Bytes(c)) => {
            let mut c = c.clone();
            c.intersect(&hir::ClassBytes::new([hir::ClassBytesRange::new(0, 0x7f)]));
            Hir::class(Class::Bytes(c))
        }
        HirKind::Look(look) => Hir::look(match look {
            Look::WordUnicode => Look::WordAscii,
            Look::WordUnicodeNegate => Look::WordAsciiNegate,
            Look::WordStartUnicode => Look::WordStartAscii,
            Look::WordEndUnicode => Look::WordEndAscii,
            Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
            Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
            ascii_or_anchor => *ascii_or_anchor,
        }),
        HirKind::Repetition(r) => Hir::repetition(hir::Repetition {
            sub: Box::new(ascii_hir(&r.sub)),
            ..r.clone()
        }),
        HirKind::Capture(c) => Hir::capture(hir::Capture {
            sub: Box::new(ascii_hir(&c.sub)),
            ..c.clone()
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(ascii_hir).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(ascii_hir).collect()),
    }
}

/// The universal states of `dfa` among those reachable from `start` ([`Auto::universal`]);
/// over ASCII bytes only for an ASCII automaton.
fn universal_states(dfa: &dense::DFA<Vec<u32>>, start: StateID, ascii: bool) -> Vec<bool> {
    let reps: Vec<u8> = dfa
        .byte_classes()
        .representatives(..)
        .filter_map(|u| u.as_u8())
        .filter(|&b| !ascii || b.is_ascii())
        .collect();
    let index = |s: StateID| s.as_usize() >> dfa.stride2();
    let mut seen = vec![false; index(start) + 1];
    let mut out = Vec::new();
    let mut todo = vec![start];
    seen[index(start)] = true;
    while let Some(s) = todo.pop() {
        let mut loops = dfa.is_match_state(dfa.next_eoi_state(s));
        for &b in &reps {
            let t = dfa.next_state(s, b);
            loops &= t == s;
            if index(t) >= seen.len() {
                seen.resize(index(t) + 1, false);
            }
            if !seen[index(t)] {
                seen[index(t)] = true;
                todo.push(t);
            }
        }
        if loops {
            if index(s) >= out.len() {
                out.resize(index(s) + 1, false);
            }
            out[index(s)] = true;
        }
    }
    out
}

/// DFAs of one rule's string tests, keyed by their regex ([`source`]), each built the first
/// time a walk needs it and then shared by every pair the rule is decided in (threads too).
#[derive(Debug, Default)]
pub struct Cache {
    dfas: HashMap<String, std::sync::OnceLock<std::sync::Arc<Result<Dfa, String>>>>,
}

impl Cache {
    /// A cache with a slot for each string test of `rule` (after `.caseless` is resolved).
    pub fn of_rule(rule: &crate::ir::Rule) -> Cache {
        let mut dfas = HashMap::new();
        for c in &rule.conditions {
            c.for_each_pred(&mut |p| {
                let p = crate::ir::caseless(p).unwrap_or_else(|| p.clone());
                if p.field.is_some() {
                    if let Some(src) = source(&p.test) {
                        dfas.entry(src).or_insert_with(std::sync::OnceLock::new);
                    }
                }
            });
        }
        Cache { dfas }
    }

    /// The DFA of regex `src`, when this cache has a slot for it (built on first use).
    pub fn get(&self, src: &str) -> Option<std::sync::Arc<Result<Dfa, String>>> {
        self.dfas.get(src).map(|slot| {
            slot.get_or_init(|| std::sync::Arc::new(Dfa::new(src)))
                .clone()
        })
    }
}
