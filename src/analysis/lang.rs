//! String languages as DFAs (`regex-automata`) and the product walk that decides whether one
//! string lies in some languages and outside others.

use std::collections::HashMap;

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::Anchored;

use crate::ir::{Pattern, Test};

/// States a product automaton may reach before the answer is `unknown`.
pub const DEFAULT_MAX_STATES: usize = 100_000;

/// Bytes a DFA may take to build (each of its two build phases).
const DFA_SIZE_LIMIT: usize = 16 << 20;

/// A full-match DFA.
#[derive(Debug)]
pub struct Dfa {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
    /// Per state reachable from the start (by `state id >> stride2`): whether every string
    /// read from it on is in the language (it loops on every byte and accepts at the end).
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
    /// Builds the DFA of a full-match regex.
    ///
    /// # Errors
    /// Why it cannot be built (size limits, Unicode word boundaries).
    pub fn new(re: &str) -> Result<Dfa, String> {
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Anchored)
                    .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                    .determinize_size_limit(Some(DFA_SIZE_LIMIT)),
            )
            .build(re)
            .map_err(|e| format!("no automaton for `{re}`: {e}"))?;
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::Yes))
            .map_err(|e| format!("no automaton for `{re}`: {e}"))?;
        let universal = universal_states(&dfa, start);
        Ok(Dfa {
            dfa,
            start,
            universal,
        })
    }

    /// Whether every string read from `s` on is in the language.
    fn is_universal(&self, s: StateID) -> bool {
        self.universal
            .get(s.as_usize() >> self.dfa.stride2())
            .copied()
            .unwrap_or(false)
    }
}

/// The universal states of `dfa` among those reachable from `start` ([`Dfa::universal`]).
fn universal_states(dfa: &dense::DFA<Vec<u32>>, start: StateID) -> Vec<bool> {
    let reps: Vec<u8> = dfa
        .byte_classes()
        .representatives(..)
        .filter_map(|u| u.as_u8())
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

/// One component of a product: a DFA, whether it must accept, whether `/` and `\` restart it
/// (it reads the last path segment).
pub struct Part<'d> {
    /// The automaton.
    pub dfa: &'d Dfa,
    /// Must accept (`true`) or must reject (`false`).
    pub accept: bool,
    /// Reads only what follows the last `/` or `\`.
    pub last_segment: bool,
}

/// The outcome of a product walk.
pub enum Walk {
    /// A string in every accepting part's language and in no rejecting part's.
    Found(String),
    /// No such string.
    Empty,
    /// The walk reached the state budget.
    Budget,
}

/// The product states met so far, each a fixed-width row of `u32`s in one arena, found again
/// through an open-addressing table of row numbers: no allocation or key copy per state.
struct States {
    width: usize,
    rows: Vec<u32>,
    /// Row number + 1 per slot, 0 for an empty slot; the length is a power of two.
    slots: Vec<u32>,
    hasher: foldhash::fast::FixedState,
}

impl States {
    fn new(width: usize) -> States {
        States {
            width,
            rows: Vec::new(),
            slots: vec![0; 1024],
            hasher: foldhash::fast::FixedState::with_seed(0x5167_6d61),
        }
    }

    fn len(&self) -> usize {
        self.rows.len() / self.width.max(1)
    }

    fn row(&self, i: usize) -> &[u32] {
        &self.rows[i * self.width..(i + 1) * self.width]
    }

    fn slot_of(&self, key: &[u32]) -> usize {
        use std::hash::BuildHasher;
        let mask = self.slots.len() - 1;
        #[allow(clippy::cast_possible_truncation)]
        let mut at = (self.hasher.hash_one(key) as usize) & mask;
        loop {
            match self.slots[at] {
                0 => return at,
                r if self.row(r as usize - 1) == key => return at,
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// Whether `key` is a state met already.
    fn contains(&self, key: &[u32]) -> bool {
        self.slots[self.slot_of(key)] != 0
    }

    /// Adds `key` (not met yet); its row number.
    fn insert(&mut self, key: &[u32]) -> usize {
        if (self.len() + 1) * 2 > self.slots.len() {
            let n = self.slots.len() * 2;
            self.slots = vec![0; n];
            for i in 0..self.len() {
                let at = self.slot_of(self.row(i));
                #[allow(clippy::cast_possible_truncation)]
                let r = i as u32 + 1;
                self.slots[at] = r;
            }
        }
        let at = self.slot_of(key);
        let i = self.len();
        self.rows.extend_from_slice(key);
        #[allow(clippy::cast_possible_truncation)]
        let r = i as u32 + 1;
        self.slots[at] = r;
        i
    }
}

/// How readable a byte is in a witness: lower ranks are tried first.
fn rank(b: u8) -> u16 {
    match b {
        b'a'..=b'z' => 0,
        b'0'..=b'9' => 1,
        b'A'..=b'Z' => 2,
        b'.' | b'-' | b'_' | b'/' => 3,
        b' ' => 4,
        0x21..=0x7e => 5,
        0x80..=0xff => 6,
        _ => 7,
    }
}

/// One byte per class of `key` (the joint byte classes of a product), the most readable of
/// each class, most readable first.
fn representatives(key: impl Fn(u8) -> Vec<u8>) -> Vec<u8> {
    let mut reps: HashMap<Vec<u8>, u8> = HashMap::new();
    for b in 0..=255u8 {
        reps.entry(key(b))
            .and_modify(|r| {
                if rank(b) < rank(*r) {
                    *r = b;
                }
            })
            .or_insert(b);
    }
    let mut bytes: Vec<u8> = reps.into_values().collect();
    bytes.sort_by_key(|&b| (rank(b), b));
    bytes
}

/// Breadth-first walk of the product of `parts`: the shortest string (most readable bytes
/// first) in every accepting part and in no rejecting part. `parts` must hold at least one
/// accepting part built from a UTF-8 regex, so that the string found is valid UTF-8.
/// The walk adds the number of product states it reached to `used`.
pub fn walk_counted(parts: &[Part<'_>], max_states: usize, used: &mut usize) -> Walk {
    let mut reached = 0;
    let w = walk_inner(parts, max_states, &mut reached);
    *used += reached;
    w
}

fn walk_inner(parts: &[Part<'_>], max_states: usize, reached: &mut usize) -> Walk {
    // Representative bytes of the joint byte classes, most readable first.
    let segments = parts.iter().any(|p| p.last_segment);
    let bytes = representatives(|b| {
        let mut key: Vec<u8> = parts
            .iter()
            .map(|p| p.dfa.dfa.byte_classes().get(b))
            .collect();
        if segments && (b == b'/' || b == b'\\') {
            key.push(1);
        }
        key
    });

    let width = parts.len();
    let id = |s: StateID| s.as_u32();
    let sid = |u: u32| StateID::new(u as usize).expect("a state of this DFA");
    let mut states = States::new(width);
    // Per state: the state it was reached from and the byte read (none for the start).
    let mut parent: Vec<(usize, u8)> = Vec::new();
    let start: Vec<u32> = parts.iter().map(|p| id(p.dfa.start)).collect();
    states.insert(&start);
    parent.push((usize::MAX, 0));
    let mut cur = vec![0u32; width];
    let mut next = vec![0u32; width];
    let mut head = 0;
    while head < states.len() {
        cur.copy_from_slice(states.row(head));
        if accepts(parts, &cur) {
            *reached = states.len();
            return Walk::Found(path(&parent, head));
        }
        'bytes: for &b in &bytes {
            for (i, p) in parts.iter().enumerate() {
                let s = if p.last_segment && (b == b'/' || b == b'\\') {
                    p.dfa.start
                } else {
                    p.dfa.dfa.next_state(sid(cur[i]), b)
                };
                if !p.last_segment {
                    if p.accept && p.dfa.dfa.is_dead_state(s) {
                        continue 'bytes;
                    }
                    // A rejecting part in a universal state never rejects again.
                    if !p.accept && p.dfa.is_universal(s) {
                        continue 'bytes;
                    }
                }
                next[i] = id(s);
            }
            if states.contains(&next) {
                continue;
            }
            if states.len() >= max_states {
                *reached = states.len();
                return Walk::Budget;
            }
            states.insert(&next);
            parent.push((head, b));
        }
        head += 1;
    }
    *reached = states.len();
    Walk::Empty
}

fn accepts(parts: &[Part<'_>], states: &[u32]) -> bool {
    parts.iter().zip(states).all(|(p, &s)| {
        let s = StateID::new(s as usize).expect("a state of this DFA");
        let eoi = p.dfa.dfa.next_eoi_state(s);
        p.dfa.dfa.is_match_state(eoi) == p.accept
    })
}

fn path(parent: &[(usize, u8)], mut at: usize) -> String {
    let mut out = Vec::new();
    while parent[at].0 != usize::MAX {
        out.push(parent[at].1);
        at = parent[at].0;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// One component of a walk over a list of values joined by spaces ([`walk_joined`]).
pub struct JoinedPart<'d> {
    /// The automaton.
    pub dfa: &'d Dfa,
    /// Must accept (`true`) or must reject (`false`).
    pub accept: bool,
    /// Reads the whole joined string (`false`: each value; accepting means some value is in
    /// the language, rejecting that none is).
    pub whole: bool,
}

/// The outcome of [`walk_joined`].
pub enum JoinedWalk {
    /// Values (at least one) meeting every part.
    Found(Vec<String>),
    /// No list of values does.
    Empty,
    /// The walk reached the state budget.
    Budget,
}

/// Breadth-first walk over lists of values written as one string with a separator symbol
/// between values: a *whole* part reads the separator as a space (it sees the values joined by
/// single spaces), a per-value part restarts at each separator and records whether some value
/// it read was in its language. Values may hold spaces themselves, so every list is reachable:
/// the answer is exact. The shortest list (most readable bytes first, a separator before a
/// space) meeting every part; `parts` must hold an accepting whole part built from a UTF-8
/// regex, so that the values are valid UTF-8.
pub fn walk_joined(parts: &[JoinedPart<'_>], max_states: usize) -> JoinedWalk {
    let bytes = representatives(|b| {
        parts
            .iter()
            .map(|p| p.dfa.dfa.byte_classes().get(b))
            .collect()
    });
    // `None` is the separator, tried just before the space byte's rank.
    let pos = bytes
        .iter()
        .position(|&b| rank(b) >= rank(b' '))
        .unwrap_or(bytes.len());
    let mut symbols: Vec<Option<u8>> = bytes.iter().map(|&b| Some(b)).collect();
    symbols.insert(pos, None);

    type State = (Vec<StateID>, Vec<bool>);
    let value_in =
        |p: &JoinedPart<'_>, s: StateID| p.dfa.dfa.is_match_state(p.dfa.dfa.next_eoi_state(s));
    let start: State = (
        parts.iter().map(|p| p.dfa.start).collect(),
        vec![false; parts.len()],
    );
    let mut seen: HashMap<State, (usize, Option<u8>)> = HashMap::new();
    let mut order: Vec<State> = vec![start.clone()];
    seen.insert(start, (usize::MAX, None));
    let mut head = 0;
    while head < order.len() {
        let (cur, hits) = order[head].clone();
        let done = parts.iter().enumerate().all(|(i, p)| {
            let here = value_in(p, cur[i]);
            match (p.whole, p.accept) {
                (true, want) => here == want,
                (false, true) => hits[i] || here,
                (false, false) => !here,
            }
        });
        if done {
            return JoinedWalk::Found(joined_path(&order, &seen, head));
        }
        'next: for &sym in &symbols {
            let mut next = cur.clone();
            let mut nhits = hits.clone();
            for (i, p) in parts.iter().enumerate() {
                match (sym, p.whole) {
                    (Some(b), _) => next[i] = p.dfa.dfa.next_state(cur[i], b),
                    (None, true) => next[i] = p.dfa.dfa.next_state(cur[i], b' '),
                    (None, false) => {
                        let here = value_in(p, cur[i]);
                        if here && !p.accept {
                            continue 'next; // a value in an excluded language
                        }
                        nhits[i] |= here;
                        next[i] = p.dfa.start;
                    }
                }
                if p.whole && p.accept && p.dfa.dfa.is_dead_state(next[i]) {
                    continue 'next;
                }
            }
            let st = (next, nhits);
            if seen.contains_key(&st) {
                continue;
            }
            if order.len() >= max_states {
                return JoinedWalk::Budget;
            }
            seen.insert(st.clone(), (head, sym));
            order.push(st);
        }
        head += 1;
    }
    JoinedWalk::Empty
}

fn joined_path<S: std::hash::Hash + Eq>(
    order: &[S],
    seen: &HashMap<S, (usize, Option<u8>)>,
    mut at: usize,
) -> Vec<String> {
    let mut syms = Vec::new();
    while let Some(&(parent, sym)) = seen.get(&order[at]) {
        if parent == usize::MAX {
            break;
        }
        syms.push(sym);
        at = parent;
    }
    syms.reverse();
    let mut values = vec![Vec::new()];
    for sym in syms {
        match sym {
            Some(b) => values.last_mut().expect("one value at least").push(b),
            None => values.push(Vec::new()),
        }
    }
    values
        .into_iter()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect()
}
