//! Product walks over string automata ([`super::lang`]): whether one string (or one list of
//! values joined by spaces) lies in some languages and outside others. A walk over parts of
//! which some start ASCII-only runs over ASCII bytes first (exact for ASCII strings, so a string
//! found there is a witness) and, only when no ASCII string exists, again over the exact
//! automata.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use foldhash::fast::FixedState;
use regex_automata::dfa::Automaton;
use regex_automata::util::primitives::StateID;

use super::lang::{self, Auto, Dfa};

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
#[derive(Clone)]
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

/// One byte per joint class of `classifiers` (two bytes share a class when every classifier
/// gives them the same class), the most readable (by [`rank`]) of each, most readable first;
/// only ASCII bytes when `ascii`.
fn representatives<'c>(
    classifiers: impl Iterator<Item = &'c regex_automata::util::alphabet::ByteClasses>,
    segments: bool,
    ascii: bool,
) -> Vec<u8> {
    // Partition refinement: `joint[b]` numbers byte b's class; each classifier splits classes.
    let mut joint = [0u16; 256];
    let mut seen: HashMap<(u16, u16), u16, _> = HashMap::with_hasher(FixedState::default());
    let mut refine = |class: &dyn Fn(u8) -> u16| {
        seen.clear();
        for b in 0..=255u8 {
            let key = (joint[usize::from(b)], class(b));
            #[allow(clippy::cast_possible_truncation)]
            let fresh = seen.len() as u16;
            joint[usize::from(b)] = *seen.entry(key).or_insert(fresh);
        }
    };
    for c in classifiers {
        refine(&|b| u16::from(c.get(b)));
    }
    if segments {
        refine(&|b| u16::from(b == b'/' || b == b'\\'));
    }
    // The most readable byte of each joint class (ids are below 256).
    let mut best: [Option<u8>; 256] = [None; 256];
    for b in (0..=255u8).filter(|b| !ascii || b.is_ascii()) {
        let r = &mut best[usize::from(joint[usize::from(b)])];
        if r.is_none_or(|r| rank(b) < rank(r)) {
            *r = Some(b);
        }
    }
    let mut bytes: Vec<u8> = best.into_iter().flatten().collect();
    bytes.sort_by_key(|&b| (rank(b), b));
    bytes
}

/// Breadth-first walk of the product of `parts`: the shortest string (most readable bytes
/// first) in every accepting part and in no rejecting part. `parts` must hold at least one
/// accepting part built from a UTF-8 regex, so that the string found is valid UTF-8.
/// The walk adds the number of product states it reached to `used`.
pub fn walk_counted(
    parts: &[Part<'_>],
    max_states: usize,
    used: &mut usize,
) -> Result<Walk, String> {
    let mut spent = 0;
    let w = tiered(
        parts.iter().map(|p| p.dfa),
        |autos, ascii| {
            let mut reached = 0;
            let w = memo_walk(
                parts,
                autos,
                ascii,
                max_states.saturating_sub(spent),
                &mut reached,
            );
            spent += reached;
            w
        },
        |w| matches!(w, Walk::Empty),
    );
    *used += spent;
    w
}

/// `walk` over the first automata of `dfas` (over ASCII bytes when one of them starts
/// ASCII-only) and, when that finds no ASCII string (`empty`), once more over the exact ones.
fn tiered<'d, W>(
    dfas: impl Iterator<Item = &'d Dfa> + Clone,
    mut walk: impl FnMut(&[&'d Auto], bool) -> W,
    empty: impl Fn(&W) -> bool,
) -> Result<W, String> {
    let ascii = dfas.clone().any(Dfa::ascii_first);
    let first: Vec<&Auto> = dfas.clone().map(|d| &d.first).collect();
    let w = walk(&first, ascii);
    if !ascii || !empty(&w) {
        return Ok(w);
    }
    let exact = dfas.map(Dfa::exact).collect::<Result<Vec<_>, _>>()?;
    Ok(walk(&exact, false))
}

/// Walk results by a 128-bit digest of their parts and tier (a walk is a pure function of
/// them), shared by every pair and thread of the process: rules meet the same languages in
/// many pairs. At most [`MEMO_ENTRIES`] results are kept.
struct Memo {
    shards: Vec<Mutex<HashMap<u128, Memoed, FixedState>>>,
    len: AtomicUsize,
}

/// Results the memo keeps.
const MEMO_ENTRIES: usize = 1 << 20;

/// A memoized walk: found or empty with the states it reached, or the budget it reached.
enum Memoed {
    Done(Walk, usize),
    Budget(usize),
}

static MEMO: OnceLock<Memo> = OnceLock::new();

impl Memo {
    fn get() -> &'static Memo {
        MEMO.get_or_init(|| Memo {
            shards: (0..16)
                .map(|_| Mutex::new(HashMap::with_hasher(FixedState::default())))
                .collect(),
            len: AtomicUsize::new(0),
        })
    }

    fn shard(&self, key: u128) -> std::sync::MutexGuard<'_, HashMap<u128, Memoed, FixedState>> {
        #[allow(clippy::cast_possible_truncation)]
        let at = (key as usize) % self.shards.len();
        self.shards[at]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The digest of a walk's parts and tier.
fn digest(parts: &[Part<'_>], ascii: bool) -> u128 {
    use std::hash::Hash;
    lang::fingerprint(|h| {
        ascii.hash(h);
        for p in parts {
            (p.dfa.fingerprint, p.accept, p.last_segment).hash(h);
        }
    })
}

/// [`walk_inner`], answered from the [`Memo`] when an equal walk ran: exactly as a new walk
/// with this cap would (a walk that reached `r` states answers the same under any cap of at
/// least `r`, and under a smaller cap `c` stops at its budget with `max(c, 1)` states; the
/// start state is never refused).
fn memo_walk(
    parts: &[Part<'_>],
    autos: &[&Auto],
    ascii: bool,
    max_states: usize,
    reached: &mut usize,
) -> Walk {
    let key = digest(parts, ascii);
    let memo = Memo::get();
    let cap = max_states.max(1);
    let hit = match memo.shard(key).get(&key) {
        Some(Memoed::Done(w, r)) if *r <= cap => Some((w.clone(), *r)),
        Some(Memoed::Done(..)) => Some((Walk::Budget, cap)),
        Some(Memoed::Budget(c)) if cap <= *c => Some((Walk::Budget, cap)),
        Some(Memoed::Budget(_)) | None => None,
    };
    if let Some((w, r)) = hit {
        *reached = r;
        return w;
    }
    let w = walk_inner(parts, autos, ascii, max_states, reached);
    let entry = match &w {
        Walk::Found(_) | Walk::Empty => Memoed::Done(w.clone(), *reached),
        Walk::Budget => Memoed::Budget(cap),
    };
    let mut shard = memo.shard(key);
    let fresh = !shard.contains_key(&key);
    if !fresh || memo.len.load(Ordering::Relaxed) < MEMO_ENTRIES {
        shard.insert(key, entry);
        if fresh {
            memo.len.fetch_add(1, Ordering::Relaxed);
        }
    }
    w
}

fn walk_inner(
    parts: &[Part<'_>],
    autos: &[&Auto],
    ascii: bool,
    max_states: usize,
    reached: &mut usize,
) -> Walk {
    // Representative bytes of the joint byte classes, most readable first.
    let segments = parts.iter().any(|p| p.last_segment);
    let bytes = representatives(autos.iter().map(|a| a.dfa.byte_classes()), segments, ascii);

    let width = parts.len();
    let id = |s: StateID| s.as_u32();
    let sid = |u: u32| StateID::new(u as usize).expect("a state of this DFA");
    let mut states = States::new(width);
    // Per state: the state it was reached from and the byte read (none for the start).
    let mut parent: Vec<(usize, u8)> = Vec::new();
    let start: Vec<u32> = autos.iter().map(|a| id(a.start)).collect();
    states.insert(&start);
    parent.push((usize::MAX, 0));
    let mut cur = vec![0u32; width];
    let mut next = vec![0u32; width];
    let mut head = 0;
    while head < states.len() {
        cur.copy_from_slice(states.row(head));
        if accepts(parts, autos, &cur) {
            *reached = states.len();
            return Walk::Found(path(&parent, head));
        }
        'bytes: for &b in &bytes {
            for (i, (p, a)) in parts.iter().zip(autos).enumerate() {
                let s = if p.last_segment && (b == b'/' || b == b'\\') {
                    a.start
                } else {
                    a.dfa.next_state(sid(cur[i]), b)
                };
                if !p.last_segment {
                    if p.accept && a.dfa.is_dead_state(s) {
                        continue 'bytes;
                    }
                    // A rejecting part in a universal state never rejects again.
                    if !p.accept && a.is_universal(s) {
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

fn accepts(parts: &[Part<'_>], autos: &[&Auto], states: &[u32]) -> bool {
    parts.iter().zip(autos).zip(states).all(|((p, a), &s)| {
        let s = StateID::new(s as usize).expect("a state of this DFA");
        let eoi = a.dfa.next_eoi_state(s);
        a.dfa.is_match_state(eoi) == p.accept
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
pub fn walk_joined(parts: &[JoinedPart<'_>], max_states: usize) -> Result<JoinedWalk, String> {
    tiered(
        parts.iter().map(|p| p.dfa),
        |autos, ascii| walk_joined_inner(parts, autos, ascii, max_states),
        |w| matches!(w, JoinedWalk::Empty),
    )
}

fn walk_joined_inner(
    parts: &[JoinedPart<'_>],
    autos: &[&Auto],
    ascii: bool,
    max_states: usize,
) -> JoinedWalk {
    let bytes = representatives(autos.iter().map(|a| a.dfa.byte_classes()), false, ascii);
    // `None` is the separator, tried just before the space byte's rank.
    let pos = bytes
        .iter()
        .position(|&b| rank(b) >= rank(b' '))
        .unwrap_or(bytes.len());
    let mut symbols: Vec<Option<u8>> = bytes.iter().map(|&b| Some(b)).collect();
    symbols.insert(pos, None);

    type State = (Vec<StateID>, Vec<bool>);
    let value_in = |a: &Auto, s: StateID| a.dfa.is_match_state(a.dfa.next_eoi_state(s));
    let start: State = (
        autos.iter().map(|a| a.start).collect(),
        vec![false; parts.len()],
    );
    let mut seen: HashMap<State, (usize, Option<u8>)> = HashMap::new();
    let mut order: Vec<State> = vec![start.clone()];
    seen.insert(start, (usize::MAX, None));
    let mut head = 0;
    while head < order.len() {
        let (cur, hits) = order[head].clone();
        let done = parts.iter().zip(autos).enumerate().all(|(i, (p, a))| {
            let here = value_in(a, cur[i]);
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
            for (i, (p, a)) in parts.iter().zip(autos).enumerate() {
                match (sym, p.whole) {
                    (Some(b), _) => next[i] = a.dfa.next_state(cur[i], b),
                    (None, true) => next[i] = a.dfa.next_state(cur[i], b' '),
                    (None, false) => {
                        let here = value_in(a, cur[i]);
                        if here && !p.accept {
                            continue 'next; // a value in an excluded language
                        }
                        nhits[i] |= here;
                        next[i] = a.start;
                    }
                }
                if p.whole && p.accept && a.dfa.is_dead_state(next[i]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn part(dfa: &Dfa, accept: bool) -> Part<'_> {
        Part {
            dfa,
            accept,
            last_segment: false,
        }
    }

    fn found(w: Result<Walk, String>) -> Option<String> {
        match w.expect("automata build") {
            Walk::Found(s) => Some(s),
            Walk::Empty | Walk::Budget => None,
        }
    }

    #[test]
    fn large_unicode_languages_start_ascii_and_stay_exact() {
        // `\w` and `\P{Alphabetic}` over UTF-8: megabytes exact, small over ASCII.
        let re =
            r"\A(?s:.)*(?i:(?:^|\P{Alphabetic})get(?:\W{2,}|[^\w.:'’])process(?:$|\W))(?s:.)*\z";
        let big = Dfa::new(re).expect("builds");
        assert!(
            big.ascii_first(),
            "the exact automaton exceeds the first limit"
        );
        let mut used = 0;
        let s = found(walk_counted(&[part(&big, true)], 10_000, &mut used)).expect("a witness");
        assert!(
            s.is_ascii() && regex::Regex::new(re).unwrap().is_match(&s),
            "{s:?}"
        );
        // Nothing outside itself: the ASCII walk is empty, the exact one decides.
        let w = walk_counted(&[part(&big, true), part(&big, false)], 10_000, &mut used);
        assert!(matches!(w, Ok(Walk::Empty)));
    }

    #[test]
    fn an_empty_ascii_walk_is_redone_on_the_exact_automata() {
        // `(?i)k` holds the Kelvin sign, which no ASCII string reaches.
        let kelvin = Dfa::ascii_first_of(r"\A(?i:k)\z").expect("builds");
        let ascii_k = Dfa::new(r"\A[kK]\z").expect("builds");
        assert!(kelvin.ascii_first() && !ascii_k.ascii_first());
        let mut used = 0;
        let w = walk_counted(
            &[part(&kelvin, true), part(&ascii_k, false)],
            100,
            &mut used,
        );
        assert_eq!(found(w).as_deref(), Some("\u{212a}"));
        let joined = [
            JoinedPart {
                dfa: &kelvin,
                accept: true,
                whole: true,
            },
            JoinedPart {
                dfa: &ascii_k,
                accept: false,
                whole: true,
            },
        ];
        match walk_joined(&joined, 100) {
            Ok(JoinedWalk::Found(v)) => assert_eq!(v, vec!["\u{212a}".to_string()]),
            Ok(JoinedWalk::Empty | JoinedWalk::Budget) | Err(_) => panic!("the Kelvin sign"),
        }
    }

    #[test]
    fn memoized_walks_answer_as_a_fresh_walk_under_every_cap() {
        let a = Dfa::new(r"\A(?s:.)*needle(?s:.)*\z").expect("builds");
        let b = Dfa::new(r"\A(?s:.)*haystack(?s:.)*\z").expect("builds");
        let none = Dfa::new(r"\A(?s:.)*(?:needle|haystack)(?s:.)*\z").expect("builds");
        for parts in [
            vec![part(&a, true), part(&b, true)],
            vec![part(&a, true), part(&none, false)],
        ] {
            let autos: Vec<&Auto> = parts.iter().map(|p| &p.dfa.first).collect();
            let fresh = |cap| {
                let mut r = 0;
                let w = walk_inner(&parts, &autos, false, cap, &mut r);
                (kind(&w), r)
            };
            let memo = |cap| {
                let mut r = 0;
                let w = memo_walk(&parts, &autos, false, cap, &mut r);
                (kind(&w), r)
            };
            let full = fresh(100_000);
            assert_ne!(full.0, "budget");
            // A budget first (smaller caps answer from it, larger ones walk again), then the
            // whole walk, then every cap around the states it reached.
            let caps = [3, 2, 0, 1, 100_000, full.1 - 1, full.1, full.1 + 1, 5, 50];
            for cap in caps {
                assert_eq!(memo(cap), fresh(cap), "cap {cap}");
            }
        }
    }

    fn kind(w: &Walk) -> &'static str {
        match w {
            Walk::Found(_) => "found",
            Walk::Empty => "empty",
            Walk::Budget => "budget",
        }
    }
}
