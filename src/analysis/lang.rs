//! String languages as DFAs (`regex-automata`) and the product walk that decides whether one
//! string lies in some languages and outside others.
//!
//! Each DFA knows, per state, whether an accepting end is still reachable from it: the walk
//! drops a product state as soon as an accepting part can no longer accept (not only in the
//! dead state). The dual, dropping a state where a rejecting part must accept whatever follows
//! (a rejected `contains` already read), is not done: the DFAs read bytes, and an invalid UTF-8
//! byte leads every one of them to its dead state, so that no state "accepts every
//! continuation"; it would need the fates computed together with a UTF-8 automaton.

type HashMap<K, V> = foldhash::HashMap<K, V>;
use foldhash::HashMapExt;

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
    /// Per state index: no string read from here is accepted.
    hopeless: Vec<bool>,
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
        let hopeless = hopeless(&dfa, start);
        Ok(Dfa {
            dfa,
            start,
            hopeless,
        })
    }

    fn index(&self, s: StateID) -> usize {
        s.as_usize() >> self.dfa.stride2()
    }

    /// No string read from state `s` is accepted.
    fn is_hopeless(&self, s: StateID) -> bool {
        self.dfa.is_dead_state(s) || self.hopeless.get(self.index(s)).copied().unwrap_or(false)
    }
}

/// Per state index of the states reachable from `start`: no accepting end is reachable from it,
/// found by walking the transitions backwards from the states that accept at the end.
/// Unreachable indices are not marked.
fn hopeless(dfa: &dense::DFA<Vec<u32>>, start: StateID) -> Vec<bool> {
    let idx = |s: StateID| s.as_usize() >> dfa.stride2();
    let mut reps: Vec<u8> = Vec::new();
    let mut classes_seen = std::collections::HashSet::new();
    for b in 0..=255u8 {
        if classes_seen.insert(dfa.byte_classes().get(b)) {
            reps.push(b);
        }
    }
    let mut states = vec![start];
    let mut number: HashMap<StateID, usize> = HashMap::new();
    number.insert(start, 0);
    let mut back: Vec<Vec<usize>> = vec![Vec::new()];
    let mut head = 0;
    while head < states.len() {
        let s = states[head];
        for &b in &reps {
            let n = dfa.next_state(s, b);
            let j = match number.get(&n) {
                Some(&j) => j,
                None => {
                    states.push(n);
                    back.push(Vec::new());
                    number.insert(n, states.len() - 1);
                    states.len() - 1
                }
            };
            back[j].push(head);
        }
        head += 1;
    }
    let accepts: Vec<bool> = states
        .iter()
        .map(|&s| dfa.is_match_state(dfa.next_eoi_state(s)))
        .collect();
    // Backwards reachability from the states that accept at the end.
    let mut can_accept = accepts;
    let mut stack: Vec<usize> = (0..states.len()).filter(|&i| can_accept[i]).collect();
    while let Some(i) = stack.pop() {
        for &p in &back[i] {
            if !can_accept[p] {
                can_accept[p] = true;
                stack.push(p);
            }
        }
    }
    let len = states.iter().map(|&s| idx(s) + 1).max().unwrap_or(0);
    let mut out = vec![false; len];
    for (i, &s) in states.iter().enumerate() {
        out[idx(s)] = !can_accept[i];
    }
    out
}

/// Whether a product state can still lead to a string the walk wants.
fn viable(parts: &[Part<'_>], states: &[StateID]) -> bool {
    parts
        .iter()
        .zip(states)
        .all(|(p, &s)| p.last_segment || !p.accept || !p.dfa.is_hopeless(s))
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

/// Breadth-first walk of the product of `parts`: the shortest string (most readable bytes
/// first) in every accepting part and in no rejecting part. `parts` must hold at least one
/// accepting part built from a UTF-8 regex, so that the string found is valid UTF-8.
/// The walk adds the number of product states it reached to `used`.
pub fn walk_counted(parts: &[Part<'_>], max_states: usize, used: &mut usize) -> Walk {
    let mut order_len = 0;
    let w = walk_inner(parts, max_states, &mut order_len);
    *used += order_len;
    w
}

fn walk_inner(parts: &[Part<'_>], max_states: usize, reached: &mut usize) -> Walk {
    // Representative bytes of the joint byte classes, most readable first.
    let mut reps: HashMap<Vec<u8>, u8> = HashMap::new();
    for b in 0..=255u8 {
        let key: Vec<u8> = parts
            .iter()
            .map(|p| p.dfa.dfa.byte_classes().get(b))
            .collect();
        let key = if parts.iter().any(|p| p.last_segment) && (b == b'/' || b == b'\\') {
            let mut k = key;
            k.push(1);
            k
        } else {
            key
        };
        reps.entry(key)
            .and_modify(|r| {
                if rank(b) < rank(*r) {
                    *r = b;
                }
            })
            .or_insert(b);
    }
    let mut bytes: Vec<u8> = reps.into_values().collect();
    bytes.sort_by_key(|&b| (rank(b), b));

    let start: Vec<StateID> = parts.iter().map(|p| p.dfa.start).collect();
    if !viable(parts, &start) {
        return Walk::Empty;
    }
    let mut seen: HashMap<Vec<StateID>, (usize, u8)> = HashMap::new();
    let mut order: Vec<Vec<StateID>> = vec![start.clone()];
    seen.insert(start, (usize::MAX, 0));
    let mut head = 0;
    while head < order.len() {
        let cur = order[head].clone();
        if accepts(parts, &cur) {
            *reached = order.len();
            return Walk::Found(path(&order, &seen, head));
        }
        for &b in &bytes {
            let next: Vec<StateID> = parts
                .iter()
                .zip(&cur)
                .map(|(p, &s)| {
                    if p.last_segment && (b == b'/' || b == b'\\') {
                        p.dfa.start
                    } else {
                        p.dfa.dfa.next_state(s, b)
                    }
                })
                .collect();
            if !viable(parts, &next) {
                continue;
            }
            if seen.contains_key(&next) {
                continue;
            }
            if order.len() >= max_states {
                *reached = order.len();
                return Walk::Budget;
            }
            seen.insert(next.clone(), (head, b));
            order.push(next);
        }
        head += 1;
    }
    *reached = order.len();
    Walk::Empty
}

fn accepts(parts: &[Part<'_>], states: &[StateID]) -> bool {
    parts.iter().zip(states).all(|(p, &s)| {
        let eoi = p.dfa.dfa.next_eoi_state(s);
        p.dfa.dfa.is_match_state(eoi) == p.accept
    })
}

fn path(
    order: &[Vec<StateID>],
    seen: &HashMap<Vec<StateID>, (usize, u8)>,
    mut at: usize,
) -> String {
    let mut out = Vec::new();
    while let Some(&(parent, b)) = seen.get(&order[at]) {
        if parent == usize::MAX {
            break;
        }
        out.push(b);
        at = parent;
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
    let mut reps: HashMap<Vec<u8>, u8> = HashMap::new();
    for b in 0..=255u8 {
        let key: Vec<u8> = parts
            .iter()
            .map(|p| p.dfa.dfa.byte_classes().get(b))
            .collect();
        reps.entry(key)
            .and_modify(|r| {
                if rank(b) < rank(*r) {
                    *r = b;
                }
            })
            .or_insert(b);
    }
    let mut bytes: Vec<u8> = reps.into_values().collect();
    bytes.sort_by_key(|&b| (rank(b), b));
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
