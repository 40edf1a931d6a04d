//! Native evaluation of [`ir::Sequence`]s, on the correlation stage's event-time order (the
//! same reorder buffer and lateness bound). The semantics are `docs/sequence-semantics.md`;
//! in short, as Elasticsearch's EQL documentation ("How sequence queries handle matches")
//! describes its state machine:
//!
//! - per join key, one pending sequence per state (the positive positions filled so far); an
//!   event matching position `p` takes the pending sequence of state `p - 1` (its key) and moves
//!   it to state `p`, overwriting the one there; position 0 starts a new one. Positions are
//!   tried from the last to the first, so one event fills at most one position of a sequence;
//! - a pending sequence whose first event is more than `maxspan` before the event is dropped;
//! - an `until` event cancels every pending sequence of its key (before the event is tried on
//!   the steps);
//! - a missing step `![q]` between two positive ones: a `q` event of the key cancels the
//!   pending sequence waiting for the next positive one; trailing missing steps: a completed
//!   sequence is held until `maxspan` after its first event has passed, and a `q` event of the
//!   key in that time cancels it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use serde_json::{Map, Value};

use super::{format_time, push_part, scalar_text, single, HashMap};
use crate::eval::event::Val;
use crate::ir;

/// Default cap on live join keys (with pending sequences) per sequence.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

const NS: i64 = 1_000_000;

/// A completed sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqMatch {
    /// Index of the sequence (see [`Sequences::sequence`]).
    pub sequence: usize,
    /// The join key values as text (`null` for a missing optional key), shared keys first.
    pub keys: Vec<Option<String>>,
    /// Event time of the first and last event (ns since the epoch, UTC).
    pub first: i64,
    /// See `first`.
    pub last: i64,
    /// Run-wide record numbers of the events, in sequence order.
    pub records: Vec<u64>,
}

/// Per-sequence counters.
#[derive(Debug, Clone, Default)]
pub struct SeqStats {
    /// Completed sequences reported.
    pub matches: u64,
    /// Events ignored for a step because a (non-optional) join key had no single value.
    pub no_key: u64,
    /// Events of new join keys dropped at the key cap.
    pub capped: u64,
    /// Pending sequences cancelled by `until`.
    pub until: u64,
    /// Most live join keys at once.
    pub peak_keys: usize,
}

/// What one event means to one sequence: the positions it may fill (bit per step) and the
/// join key per step (`None`: no usable key).
#[derive(Debug, Clone)]
pub(super) struct SeqItem {
    seq: u32,
    /// (step index, key) for each step the event matched; `usize::MAX` is `until`.
    steps: Vec<(usize, Option<Box<str>>)>,
}

#[derive(Debug, Clone)]
struct Partial {
    first: i64,
    last: i64,
    records: Vec<u64>,
}

#[derive(Debug, Default)]
struct KeyState {
    /// Per positive position: the pending sequence that has filled it last.
    pending: Vec<Option<Partial>>,
    /// Completed sequences waiting for their trailing missing steps' time to pass.
    waiting: VecDeque<Partial>,
}

impl KeyState {
    fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.pending.iter().all(Option::is_none)
    }
}

struct Seq {
    ir: ir::Sequence,
    label: String,
    /// Positive positions: the step each one is.
    positive: Vec<usize>,
    /// Per positive position `i`: the missing steps between it and position `i + 1` (after the
    /// last one: the trailing missing steps).
    guards: Vec<Vec<usize>>,
    /// Per step (and `until` last): the join key fields (shared first) and optionality.
    keys: Vec<Vec<ir::JoinKey>>,
    maxspan: Option<i64>,
    states: HashMap<Box<str>, KeyState>,
    /// (time after which to look at the key, key), earliest first; none without `maxspan`.
    expiry: BinaryHeap<Reverse<(i64, Box<str>)>>,
    stats: SeqStats,
}

/// The sequences of a run.
#[derive(Default)]
pub struct Sequences {
    seqs: Vec<Seq>,
    /// Per compiled rule: the (sequence, step) pairs it is; `usize::MAX` for `until`.
    refs: Vec<Vec<(u32, usize)>>,
    max_keys: usize,
    out: Vec<SeqMatch>,
}

impl std::fmt::Debug for Sequences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequences")
            .field("sequences", &self.seqs.len())
            .finish_non_exhaustive()
    }
}

/// Why a sequence cannot run natively.
pub(super) fn refusal(s: &ir::Sequence) -> Option<String> {
    if s.steps.first().is_some_and(|x| x.missing) {
        return Some("a leading missing event `![...]` in a sequence".into());
    }
    let trailing = s.steps.last().is_some_and(|x| x.missing);
    if trailing && s.maxspan.is_none() {
        return Some("a trailing missing event `![...]` without `maxspan`".into());
    }
    None
}

impl Sequences {
    /// Builds the stage: `seqs[i]` with the compiled rule of each step and of `until`;
    /// `rules` is the number of compiled rules.
    pub(super) fn new(
        seqs: Vec<(ir::Sequence, Vec<usize>, Option<usize>)>,
        rules: usize,
        max_keys: usize,
    ) -> Sequences {
        let mut refs = vec![Vec::new(); rules];
        let mut out = Vec::new();
        for (k, (s, step_rules, until_rule)) in seqs.into_iter().enumerate() {
            for (i, &r) in step_rules.iter().enumerate() {
                refs[r].push((k as u32, i));
            }
            if let Some(r) = until_rule {
                refs[r].push((k as u32, usize::MAX));
            }
            let mut positive = Vec::new();
            let mut guards: Vec<Vec<usize>> = Vec::new();
            for (i, st) in s.steps.iter().enumerate() {
                if st.missing {
                    if let Some(g) = guards.last_mut() {
                        g.push(i);
                    }
                } else {
                    for _ in 0..st.runs.max(1) {
                        positive.push(i);
                        guards.push(Vec::new());
                    }
                }
            }
            let keys = s
                .steps
                .iter()
                .chain(s.until.as_ref())
                .map(|st| s.by.iter().chain(&st.by).cloned().collect())
                .collect();
            let maxspan = s
                .maxspan
                .as_ref()
                .map(|m| i64::try_from(m.millis).map_or(i64::MAX, |ms| ms.saturating_mul(NS)));
            let label = s.meta.id.clone().unwrap_or_else(|| s.meta.title.clone());
            out.push(Seq {
                ir: s,
                label,
                positive,
                guards,
                keys,
                maxspan,
                states: HashMap::default(),
                expiry: BinaryHeap::new(),
                stats: SeqStats::default(),
            });
        }
        Sequences {
            seqs: out,
            refs,
            max_keys,
            out: Vec::new(),
        }
    }

    /// Number of sequences.
    #[must_use]
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// Whether compiled rule `r` is a step (or `until`) of some sequence.
    #[must_use]
    pub fn is_step(&self, r: usize) -> bool {
        self.refs.get(r).is_some_and(|v| !v.is_empty())
    }

    /// The sequence as loaded.
    #[must_use]
    pub fn sequence(&self, s: usize) -> &ir::Sequence {
        &self.seqs[s].ir
    }

    /// The sequence's id, else title.
    #[must_use]
    pub fn label(&self, s: usize) -> &str {
        &self.seqs[s].label
    }

    /// Its counters.
    #[must_use]
    pub fn stats(&self, s: usize) -> &SeqStats {
        &self.seqs[s].stats
    }

    /// Live join keys over all sequences.
    #[must_use]
    pub fn live_keys(&self) -> usize {
        self.seqs.iter().map(|s| s.states.len()).sum()
    }

    /// Completed sequences since the last call.
    pub fn take_matches(&mut self) -> Vec<SeqMatch> {
        std::mem::take(&mut self.out)
    }

    /// What the sequences need of an event that matched the compiled rules `matched`.
    pub(super) fn extract(&self, event: &Val<'_>, matched: &[usize]) -> Vec<SeqItem> {
        let mut items: Vec<SeqItem> = Vec::new();
        for &r in matched {
            for &(s, step) in self.refs.get(r).map_or(&[][..], Vec::as_slice) {
                let seq = &self.seqs[s as usize];
                let ki = if step == usize::MAX {
                    seq.keys.len() - 1
                } else {
                    step
                };
                let key = key_of(event, &seq.keys[ki]);
                match items.iter_mut().find(|it| it.seq == s) {
                    Some(it) => it.steps.push((step, key)),
                    None => items.push(SeqItem {
                        seq: s,
                        steps: vec![(step, key)],
                    }),
                }
            }
        }
        items
    }

    /// Moves every sequence's clock to `t`: held sequences whose trailing time has passed
    /// complete, keys whose pending sequences have all expired are dropped.
    pub(super) fn advance(&mut self, t: i64) {
        for (k, s) in self.seqs.iter_mut().enumerate() {
            s.advance(k, t, &mut self.out);
        }
    }

    /// Feeds one released event (time `ts`, record `rec`).
    pub(super) fn process(&mut self, ts: i64, rec: u64, items: Vec<SeqItem>) {
        for it in items {
            let k = it.seq as usize;
            let cap = self.max_keys;
            self.seqs[k].process(k, ts, rec, it.steps, cap, &mut self.out);
        }
    }

    /// Ends the input: held sequences complete.
    pub(super) fn finish(&mut self) {
        self.advance(i64::MAX);
    }

    /// A completed sequence as one JSON object: `sequence` (id, else title), `title`, `type`
    /// (`sequence`), `level`, `rule_path`, `keys` (join key field → value), `first`, `last`,
    /// `record` (the last event) and `records` (every event, in order).
    #[must_use]
    pub fn match_json(&self, m: &SeqMatch) -> Value {
        let s = &self.seqs[m.sequence];
        let mut o = Map::new();
        o.insert("sequence".into(), s.label.clone().into());
        o.insert("title".into(), s.ir.meta.title.clone().into());
        o.insert("type".into(), "sequence".into());
        if let Some(l) = s.ir.meta.level.and_then(|l| serde_json::to_value(l).ok()) {
            o.insert("level".into(), l);
        }
        if let Some(f) = &s.ir.origin.file {
            o.insert("rule_path".into(), f.clone().into());
        }
        let names = s.keys.first().map_or(&[][..], Vec::as_slice);
        let keys: Map<String, Value> = names
            .iter()
            .zip(&m.keys)
            .map(|(k, v)| (k.field.clone(), v.clone().map_or(Value::Null, Value::from)))
            .collect();
        o.insert("keys".into(), Value::Object(keys));
        o.insert("first".into(), format_time(m.first).into());
        o.insert("last".into(), format_time(m.last).into());
        o.insert("record".into(), m.records.last().copied().into());
        o.insert(
            "records".into(),
            Value::Array(m.records.iter().map(|&r| r.into()).collect()),
        );
        Value::Object(o)
    }
}

/// The join key of `event` for `keys`: each value's exact text (a number by its JSON text),
/// `null` for an optional key without a value; `None` when a non-optional key has no single
/// scalar value.
fn key_of(event: &Val<'_>, keys: &[ir::JoinKey]) -> Option<Box<str>> {
    let mut key = String::new();
    for k in keys {
        match single(event, &k.field) {
            Some(Val::Null) | None if k.optional => key.push('-'),
            Some(v) => {
                let t = scalar_text(v)?;
                key.push('=');
                push_part(&mut key, &t);
            }
            None => return None,
        }
    }
    Some(key.into())
}

/// The key values back from a key built by [`key_of`].
fn key_values(key: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut rest = key;
    while let Some(c) = rest.chars().next() {
        rest = &rest[1..];
        if c == '-' {
            out.push(None);
            continue;
        }
        let Some(colon) = rest.find(':') else { break };
        let Ok(len) = rest[..colon].parse::<usize>() else {
            break;
        };
        let end = (colon + 1 + len).min(rest.len());
        out.push(Some(rest[colon + 1..end].to_string()));
        rest = &rest[end..];
    }
    out
}

impl Seq {
    fn complete(&mut self, k: usize, key: &str, p: Partial, out: &mut Vec<SeqMatch>) {
        self.stats.matches += 1;
        out.push(SeqMatch {
            sequence: k,
            keys: key_values(key),
            first: p.first,
            last: p.last,
            records: p.records,
        });
    }

    fn advance(&mut self, k: usize, t: i64, out: &mut Vec<SeqMatch>) {
        let span = self.maxspan.unwrap_or(i64::MAX);
        while let Some(Reverse((at, _))) = self.expiry.peek() {
            if *at >= t {
                break;
            }
            let Reverse((_, key)) = self.expiry.pop().expect("peeked");
            let Some(mut st) = self.states.remove(&key) else {
                continue;
            };
            while let Some(w) = st.waiting.front() {
                if w.first.saturating_add(span) >= t {
                    break;
                }
                let w = st.waiting.pop_front().expect("front");
                self.complete(k, &key, w, out);
            }
            for p in &mut st.pending {
                if p.as_ref().is_some_and(|p| p.first.saturating_add(span) < t) {
                    *p = None;
                }
            }
            if !st.is_idle() {
                let next = st
                    .waiting
                    .iter()
                    .chain(st.pending.iter().flatten())
                    .map(|p| p.first.saturating_add(span))
                    .min()
                    .unwrap_or(i64::MAX);
                self.expiry.push(Reverse((next, key.clone())));
                self.states.insert(key, st);
            }
        }
        if t == i64::MAX {
            let mut keys: Vec<Box<str>> = self.states.keys().cloned().collect();
            keys.sort();
            for key in keys {
                let st = self.states.remove(&key).expect("listed");
                for w in st.waiting {
                    self.complete(k, &key, w, out);
                }
            }
        }
    }

    fn process(
        &mut self,
        k: usize,
        ts: i64,
        rec: u64,
        steps: Vec<(usize, Option<Box<str>>)>,
        cap: usize,
        out: &mut Vec<SeqMatch>,
    ) {
        // `until` first: it cancels the pending sequences of its key.
        for (step, key) in &steps {
            if *step != usize::MAX {
                continue;
            }
            match key {
                Some(key) => {
                    if let Some(st) = self.states.get_mut(key) {
                        let n = st.pending.iter().flatten().count() + st.waiting.len();
                        self.stats.until += n as u64;
                        st.pending.iter_mut().for_each(|p| *p = None);
                        st.waiting.clear();
                    }
                }
                None => self.stats.no_key += 1,
            }
        }
        let last = self.positive.len() - 1;
        let trailing = !self.guards[last].is_empty();
        // Missing steps cancel the sequences waiting across them.
        for (step, key) in &steps {
            let Some(key) = key else { continue };
            if *step == usize::MAX || !self.ir.steps[*step].missing {
                continue;
            }
            if let Some(st) = self.states.get_mut(key) {
                let span = self.maxspan.unwrap_or(i64::MAX);
                for (i, g) in self.guards.iter().enumerate() {
                    if g.contains(step) {
                        if i == last {
                            // Held sequences completed before this event; those still
                            // within their span are cancelled.
                            st.waiting.retain(|w| w.first.saturating_add(span) < ts);
                        } else {
                            st.pending[i] = None;
                        }
                    }
                }
            }
        }
        for p in (0..self.positive.len()).rev() {
            let step = self.positive[p];
            let Some((_, key)) = steps.iter().find(|(s, _)| *s == step) else {
                continue;
            };
            let Some(key) = key else {
                self.stats.no_key += 1;
                continue;
            };
            let maxspan = self.maxspan;
            let st = match self.states.get_mut(key) {
                Some(st) => st,
                None if p > 0 => continue,
                None => {
                    if self.states.len() >= cap {
                        self.stats.capped += 1;
                        continue;
                    }
                    let st = KeyState {
                        pending: vec![None; self.positive.len()],
                        waiting: VecDeque::new(),
                    };
                    if let Some(m) = maxspan {
                        self.expiry
                            .push(Reverse((ts.saturating_add(m), key.clone())));
                    }
                    self.states.insert(key.clone(), st);
                    self.stats.peak_keys = self.stats.peak_keys.max(self.states.len());
                    self.states.get_mut(key).expect("inserted")
                }
            };
            let partial = if p == 0 {
                Partial {
                    first: ts,
                    last: ts,
                    records: vec![rec],
                }
            } else {
                let Some(mut prev) = st.pending[p - 1].take() else {
                    continue;
                };
                if maxspan.is_some_and(|m| ts.saturating_sub(prev.first) > m) {
                    continue;
                }
                prev.last = ts;
                prev.records.push(rec);
                prev
            };
            if p < last {
                st.pending[p] = Some(partial);
            } else if trailing {
                st.waiting.push_back(partial);
            } else {
                let key = key.clone();
                self.complete(k, &key, partial, out);
            }
        }
        // A key with nothing pending is forgotten (its expiry entry, if any, finds nothing).
        for (_, key) in &steps {
            if let Some(key) = key {
                if self.states.get(key).is_some_and(KeyState::is_idle) {
                    self.states.remove(key);
                }
            }
        }
    }
}
