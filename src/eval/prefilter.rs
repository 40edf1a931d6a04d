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
//! At run time each field that carries atoms gets one needle index over all its needles (all
//! rules together, see [`Scan`]); the event's folded value is scanned once and every hit marks
//! the rules that listed the needle.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use rayon::prelude::*;

use super::compile::{FieldId, FieldTable, FoldCache, Marks};
use super::event::{any_string, for_each_leaf, resolve, Val};
use super::matcher::{fold, num_key, with_scalar_text};

mod witness;

pub(crate) use witness::rule_witness;

/// A necessary condition on an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Atom {
    /// The field (or, with `None`, some keyword value) contains `needle`, needle folded.
    Contains {
        field: Option<FieldId>,
        needle: String,
    },
    /// The field holds a number (or numeric string) equal to the integer (see
    /// [`num_key`]).
    NumEq { field: FieldId, key: i64 },
    /// The field resolves to some value (even `null`): needed by every field test except
    /// `null` and `exists: false`.
    Present { field: FieldId },
}

impl Atom {
    /// Selectivity estimate: longer needles are rarer; numbers (mostly event ids) are weak.
    fn strength(&self) -> usize {
        match self {
            Atom::Contains { needle, .. } => needle.len().min(24),
            Atom::NumEq { .. } => 6,
            Atom::Present { .. } => 0,
        }
    }
}

/// A witness: one of the atoms holds whenever the expression holds.
pub(crate) type Witness = Vec<Atom>;

/// The gram key of (up to) [`GRAM`] bytes, ASCII-lowercased.
fn gram_of(b: &[u8]) -> u32 {
    b.iter()
        .fold(0, |g, &x| (g << 8) | u32::from(LOWER[usize::from(x)]))
}

// A gram is exactly the bytes a `u32` holds, so shifting a byte in drops the oldest one.
const _: () = assert!(GRAM * 8 == u32::BITS as usize);

/// The gram key of every window of [`GRAM`] bytes of `b`, in order (`gram_of` of each
/// window), rolled byte by byte.
fn grams(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let first = gram_of(&b[..b.len().min(GRAM - 1)]);
    b.iter().skip(GRAM - 1).scan(first, |g, &x| {
        *g = (*g << 8) | u32::from(LOWER[usize::from(x)]);
        Some(*g)
    })
}

/// A small fast hasher (FxHash) for the prefilter's maps, keyed by short field names and ints.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `HashMap` with [`FxHasher`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Needles of at least this many bytes are found through one window of this many bytes
/// (a "gram"); shorter ones by a small Aho-Corasick automaton.
const GRAM: usize = 4;

/// ASCII lowercase of every byte (other bytes unchanged).
const LOWER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        #[allow(clippy::cast_possible_truncation)]
        let b = i as u8;
        t[i] = b.to_ascii_lowercase();
        i += 1;
    }
    t
};

/// How common a byte is in log values (higher: more common); a rough ranking used to pick
/// the window of a needle that is looked up.
fn commonness(b: u8) -> u32 {
    match b {
        b' ' | b'\\' | b'.' | b'e' | b'/' => 9,
        b'a' | b'i' | b'o' | b's' | b't' | b'n' | b'r' | b'l' | b'c' | b'-' | b'0' | b'1' => 6,
        b'a'..=b'z' | b'2'..=b'9' | b':' | b'_' | b'"' => 4,
        _ => 1,
    }
}

/// A needle found through its gram: where its bytes and its rules are in [`Scan`]'s pools.
#[derive(Debug)]
struct Long {
    /// Where the gram starts in the needle.
    offset: u32,
    /// The folded needle: `Scan::bytes[at..at + len]`.
    at: u32,
    len: u32,
    /// The rules listing it: `Scan::rules[rules_at..rules_at + rules_len]`.
    rules_at: u32,
    rules_len: u32,
}

/// The folded needles of one field (or of the keywords) → the rules listing them. Matching is
/// ASCII case-insensitive, so an ASCII value is scanned as it is (its fold is its ASCII
/// lowercase); other values are folded first.
///
/// A needle of [`GRAM`] bytes or more is indexed by its least common window of [`GRAM`]
/// bytes: the value is scanned once with a rolling window, each window is tested against a
/// small bitmap of the grams' hashes (which stays in cache however many needles there are),
/// and only on a hit are the needles of that gram compared in full at their place. A large
/// Aho-Corasick automaton would do the same in one pass but spends its time on cache misses.
#[derive(Debug)]
struct Scan {
    /// `32 - log2(bitmap bits)`.
    shift: u32,
    bitmap: Vec<u64>,
    /// Gram → its needles, a range of `long` (which is ordered by gram), so that a hit costs
    /// one map probe and one read of contiguous entries.
    grams: FxMap<u32, (u32, u32)>,
    long: Vec<Long>,
    /// The long needles' folded bytes, one after the other.
    bytes: Vec<u8>,
    /// The long needles' rules, one list after the other.
    rules: Vec<u32>,
    /// Needles shorter than [`GRAM`].
    short: Option<(AhoCorasick, Vec<Vec<u32>>)>,
}

/// Multiplicative hash of a gram to a bitmap index.
#[inline]
fn gram_hash(g: u32, shift: u32) -> usize {
    (g.wrapping_mul(0x9E37_79B1) >> shift) as usize
}

impl Scan {
    /// `freq`: in how many needles (of all fields) each gram occurs, a proxy for how common it
    /// is in values.
    fn build(needles: BTreeMap<String, Vec<u32>>, freq: &FxMap<u32, u32>) -> Scan {
        let mut short = BTreeMap::new();
        // (gram, offset, folded needle, rules), ordered by gram below.
        let mut found: Vec<(u32, usize, Vec<u8>, Vec<u32>)> = Vec::new();
        for (needle, rules) in needles {
            let b = needle.as_bytes();
            if b.len() < GRAM {
                short.insert(needle, rules);
                continue;
            }
            // The rarest gram, then the one of the least common bytes; the first of equals.
            let mut common: u32 = b[..GRAM].iter().map(|&x| commonness(x)).sum();
            let mut offset = 0;
            let mut best = (u32::MAX, u32::MAX);
            for (o, g) in grams(b).enumerate() {
                if o > 0 {
                    common = common - commonness(b[o - 1]) + commonness(b[o + GRAM - 1]);
                }
                let key = (freq.get(&g).copied().unwrap_or(0), common);
                if key < best {
                    best = key;
                    offset = o;
                }
            }
            let folded: Vec<u8> = b.iter().map(|&x| LOWER[usize::from(x)]).collect();
            let g = gram_of(&folded[offset..offset + GRAM]);
            found.push((g, offset, folded, rules));
        }
        found.sort_by_key(|f| f.0);
        let bits = (found.len() * 64)
            .next_power_of_two()
            .clamp(1 << 12, 1 << 19);
        let shift = 32 - bits.trailing_zeros();
        let mut bitmap = vec![0u64; bits / 64];
        let mut grams: FxMap<u32, (u32, u32)> = FxMap::default();
        let (mut long, mut bytes, mut rule_pool) = (Vec::new(), Vec::new(), Vec::new());
        let n32 = |n: usize| u32::try_from(n).expect("prefilter tables below 4 GiB");
        for (g, offset, folded, rules) in found {
            let h = gram_hash(g, shift);
            bitmap[h >> 6] |= 1 << (h & 63);
            let i = n32(long.len());
            grams.entry(g).or_insert((i, i)).1 = i + 1;
            long.push(Long {
                offset: n32(offset),
                at: n32(bytes.len()),
                len: n32(folded.len()),
                rules_at: n32(rule_pool.len()),
                rules_len: n32(rules.len()),
            });
            bytes.extend_from_slice(&folded);
            rule_pool.extend_from_slice(&rules);
        }
        let short = (!short.is_empty()).then(|| {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .build(short.keys().map(String::as_bytes))
                .expect("needle automaton");
            (ac, short.into_values().collect())
        });
        Scan {
            shift,
            bitmap,
            grams,
            long,
            bytes,
            rules: rule_pool,
            short,
        }
    }

    /// Marks the rules of every needle found in `text`, which is folded or ASCII.
    fn mark(&self, text: &str, marks: &mut Marks) {
        if let Some((ac, rules)) = &self.short {
            for m in ac.find_overlapping_iter(text) {
                for &r in &rules[m.pattern().as_usize()] {
                    marks.add(r);
                }
            }
        }
        let b = text.as_bytes();
        if self.long.is_empty() || b.len() < GRAM {
            return;
        }
        let mut g = gram_of(&b[..GRAM - 1]);
        for end in GRAM..=b.len() {
            g = (g << 8) | u32::from(LOWER[usize::from(b[end - 1])]);
            let h = gram_hash(g, self.shift);
            if self.bitmap[h >> 6] & (1 << (h & 63)) != 0 {
                self.confirm(g, b, end - GRAM, marks);
            }
        }
    }

    /// The needles of gram `g`, which starts at `at` in `b`, compared in full.
    #[cold]
    fn confirm(&self, g: u32, b: &[u8], at: usize, marks: &mut Marks) {
        let Some(&(from, to)) = self.grams.get(&g) else {
            return;
        };
        for l in &self.long[from as usize..to as usize] {
            let Some(start) = at.checked_sub(l.offset as usize) else {
                continue;
            };
            let needle = &self.bytes[l.at as usize..(l.at + l.len) as usize];
            if b.get(start..start + needle.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(needle))
            {
                let rules = &self.rules[l.rules_at as usize..(l.rules_at + l.rules_len) as usize];
                for &r in rules {
                    marks.add(r);
                }
            }
        }
    }

    /// Scans a string of field `fid` (folding it into the cache when it is not ASCII).
    fn string(&self, fid: Option<FieldId>, s: &str, fc: &mut FoldCache, marks: &mut Marks) {
        if s.is_ascii() {
            self.mark(s, marks);
        } else {
            match fid {
                Some(fid) => self.mark(fc.folded(fid, s), marks),
                None => self.mark(&fold(s), marks),
            }
        }
    }
}

/// The atoms of one field.
#[derive(Debug)]
struct FieldScan {
    fid: FieldId,
    /// The field's needles; for top-level fields, also the keyword needles (strings directly
    /// in the field are then scanned once for both).
    scan: Option<Scan>,
    nums: FxMap<i64, Vec<u32>>,
    present: Vec<u32>,
}

impl FieldScan {
    /// Marks the rules whose atoms on this field hold for the leaf value `x`. With
    /// `keywords`, strings in objects below the field are scanned for keyword needles.
    fn leaf(&self, x: &Val<'_>, fc: &mut FoldCache, marks: &mut Marks, keywords: Option<&Scan>) {
        if !self.nums.is_empty() {
            if let Some(rules) = num_key(x).and_then(|k| self.nums.get(&k)) {
                for &r in rules {
                    marks.add(r);
                }
            }
        }
        match x {
            Val::Str(s) => {
                if let Some(scan) = &self.scan {
                    scan.string(Some(self.fid), s, fc, marks);
                } else if let Some(kw) = keywords {
                    kw.string(None, s, fc, marks);
                }
            }
            Val::Obj(_) => {
                if let Some(kw) = keywords {
                    scan_strings(kw, x, marks);
                }
            }
            x => {
                if let Some(scan) = &self.scan {
                    with_scalar_text(x, |t| scan.mark(t, marks));
                }
            }
        }
    }

    fn value(&self, v: &Val<'_>, fc: &mut FoldCache, marks: &mut Marks, keywords: Option<&Scan>) {
        for &r in &self.present {
            marks.add(r);
        }
        if self.scan.is_none() && self.nums.is_empty() && keywords.is_none() {
            return;
        }
        for_each_leaf(v, &mut |x| {
            self.leaf(x, fc, marks, keywords);
            false
        });
    }
}

/// Scans every string anywhere in `v` with the keyword automaton.
fn scan_strings(kw: &Scan, v: &Val<'_>, marks: &mut Marks) {
    any_string(v, &mut |s| {
        if s.is_ascii() {
            kw.mark(s, marks);
        } else {
            kw.mark(&fold(s), marks);
        }
        false
    });
}

/// No [`FieldScan`] for this field.
const NO_SCAN: u32 = u32::MAX;

/// The prefilter of a rule set.
#[derive(Debug)]
pub(crate) struct Prefilter {
    /// Every field name without dots → its id and its index in `fields` (`NO_SCAN`: no
    /// atoms): found by iterating the event's top-level keys.
    top: FxMap<Box<str>, (FieldId, u32)>,
    fields: Vec<FieldScan>,
    /// Indices in `fields` of dotted names: resolved as key paths.
    dotted: Vec<usize>,
    keywords: Option<Scan>,
    /// Rules without a witness: always evaluated.
    pub always: Vec<u32>,
}

impl Prefilter {
    /// Builds the prefilter from each rule's witness (`None`: always evaluate).
    pub(crate) fn new(witnesses: &[Option<Witness>], fields: &FieldTable) -> Prefilter {
        let mut needles: BTreeMap<Option<FieldId>, BTreeMap<String, Vec<u32>>> = BTreeMap::new();
        let mut nums: BTreeMap<FieldId, FxMap<i64, Vec<u32>>> = BTreeMap::new();
        let mut present: BTreeMap<FieldId, Vec<u32>> = BTreeMap::new();
        let mut always = Vec::new();
        let push = |rules: &mut Vec<u32>, i: u32| {
            if rules.last() != Some(&i) {
                rules.push(i);
            }
        };
        for (i, w) in witnesses.iter().enumerate() {
            let i = u32::try_from(i).expect("fewer than 2^32 rules");
            match w {
                None => always.push(i),
                Some(atoms) => {
                    for a in atoms {
                        match a {
                            Atom::Contains { field, needle } => push(
                                needles
                                    .entry(*field)
                                    .or_default()
                                    .entry(needle.clone())
                                    .or_default(),
                                i,
                            ),
                            Atom::NumEq { field, key } => {
                                push(nums.entry(*field).or_default().entry(*key).or_default(), i)
                            }
                            Atom::Present { field } => push(present.entry(*field).or_default(), i),
                        }
                    }
                }
            }
        }
        let mut freq: FxMap<u32, u32> = FxMap::default();
        let mut seen: Vec<u32> = Vec::new();
        for n in needles.values().flat_map(BTreeMap::keys) {
            seen.clear();
            if n.len() >= GRAM {
                seen.extend(grams(n.as_bytes()));
            }
            seen.sort_unstable();
            seen.dedup();
            for &g in &seen {
                *freq.entry(g).or_default() += 1;
            }
        }
        let kw_needles = needles.remove(&None);
        let mut ids: Vec<FieldId> = needles
            .keys()
            .filter_map(|f| *f)
            .chain(nums.keys().copied())
            .chain(present.keys().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        // Each field's needles (a top-level field's with the keyword needles), then the
        // scans, built in parallel: their automata are most of the time.
        let owns: Vec<Option<BTreeMap<String, Vec<u32>>>> = ids
            .iter()
            .map(|&fid| {
                let mut own = needles.remove(&Some(fid));
                let dotted = fields.name(fid).contains('.');
                if let (Some(own), Some(kw), false) = (&mut own, &kw_needles, dotted) {
                    for (n, rules) in kw {
                        let e = own.entry(n.clone()).or_default();
                        e.extend(rules);
                        e.sort_unstable();
                        e.dedup();
                    }
                }
                own
            })
            .collect();
        let (keywords, scans) = rayon::join(
            || kw_needles.map(|n| Scan::build(n, &freq)),
            || -> Vec<Option<Scan>> {
                owns.into_par_iter()
                    .map(|own| own.map(|n| Scan::build(n, &freq)))
                    .collect()
            },
        );
        let mut out = Prefilter {
            top: FxMap::default(),
            fields: Vec::new(),
            dotted: Vec::new(),
            keywords,
            always,
        };
        for (fid, name) in fields.flat() {
            out.top.insert(name.into(), (fid, NO_SCAN));
        }
        for (fid, scan) in ids.into_iter().zip(scans) {
            let i = out.fields.len();
            let name = fields.name(fid);
            let dotted = name.contains('.');
            out.fields.push(FieldScan {
                fid,
                scan,
                nums: nums.remove(&fid).unwrap_or_default(),
                present: present.remove(&fid).unwrap_or_default(),
            });
            if dotted {
                out.dotted.push(i);
            } else {
                out.top
                    .insert(name.into(), (fid, u32::try_from(i).expect("few fields")));
            }
        }
        out
    }

    /// Fills `marks.candidates` with the rules that could match `event` (unsorted, no
    /// duplicates). `Scratch::next_event` must have been called.
    /// Also fills `slots` with the values of the fields without dots (object events).
    pub(crate) fn candidates<'v, 'e>(
        &self,
        event: &'v Val<'e>,
        fields: &FieldTable,
        fc: &mut FoldCache,
        marks: &mut Marks,
        slots: &mut [Option<&'v Val<'e>>],
    ) {
        for &r in &self.always {
            marks.add(r);
        }
        let kw = self.keywords.as_ref();
        match event {
            Val::Obj(entries) => {
                // Each top-level value once: its field's atoms and, merged into the same
                // automaton, the keyword needles; values of other keys only for keywords.
                for (k, v) in entries {
                    if let Some(&(fid, i)) = self.top.get(&**k) {
                        slots[fid as usize] = Some(v);
                        if i != NO_SCAN {
                            self.fields[i as usize].value(v, fc, marks, kw);
                            continue;
                        }
                    }
                    if let Some(kw) = kw {
                        scan_strings(kw, v, marks);
                    }
                }
            }
            other => {
                for &(_, i) in self.top.values() {
                    if i == NO_SCAN {
                        continue;
                    }
                    let f = &self.fields[i as usize];
                    resolve(other, fields.name(f.fid), &mut |v| {
                        f.value(v, fc, marks, None);
                    });
                }
                if let Some(kw) = kw {
                    scan_strings(kw, other, marks);
                }
            }
        }
        for &i in &self.dotted {
            let f = &self.fields[i];
            resolve(event, fields.name(f.fid), &mut |v| {
                f.value(v, fc, marks, None)
            });
        }
    }

    /// Number of rules evaluated on every event (no witness).
    pub(crate) fn always_count(&self) -> usize {
        self.always.len()
    }
}

#[cfg(test)]
mod tests;
