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
        Ok(Dfa { dfa, start })
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
pub fn walk(parts: &[Part<'_>], max_states: usize) -> Walk {
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
    let mut seen: HashMap<Vec<StateID>, (usize, u8)> = HashMap::new();
    let mut order: Vec<Vec<StateID>> = vec![start.clone()];
    seen.insert(start, (usize::MAX, 0));
    let mut head = 0;
    while head < order.len() {
        let cur = order[head].clone();
        if accepts(parts, &cur) {
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
            if parts
                .iter()
                .zip(&next)
                .any(|(p, &s)| p.accept && !p.last_segment && p.dfa.dfa.is_dead_state(s))
            {
                continue;
            }
            if seen.contains_key(&next) {
                continue;
            }
            if order.len() >= max_states {
                return Walk::Budget;
            }
            seen.insert(next.clone(), (head, b));
            order.push(next);
        }
        head += 1;
    }
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
