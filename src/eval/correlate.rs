//! Native evaluation of Sigma correlation rules, on top of a [`super::RuleSet`].
//!
//! The semantics are documented in `docs/correlation-semantics.md` (linked from the IR docs,
//! [`crate::ir`]); this module implements them exactly. In short:
//!
//! - Every event that matches a rule referenced by some correlation is *extracted* (in
//!   parallel, [`Correlator::extract`]): its timestamp, and per correlation its group key and
//!   value. Then [`Correlator::push`] feeds the extracts in input order.
//! - A reorder buffer releases events in (event time, input position) order once the newest
//!   time seen is `max_lateness` past them; an event older than one already released is *late*:
//!   counted, reported, and left out of the correlations.
//! - Each correlation keeps its live groups in a hash map and a timer heap: a group expires (or
//!   its window is judged) once the clock has passed its deadline. Correlations fed by other
//!   correlations (chaining) run on a clock delayed by the longest time an inner alert can
//!   take to be decided, so their members too arrive in time order.
//! - Conditions with lower bounds only (gt, gte) on event_count, value_count, temporal,
//!   temporal_ordered and value_sum use a trailing sliding window ending at each member; the
//!   alert fires at the first member that satisfies it and consumes the window's members.
//!   Every other condition, and value_avg, value_percentile and value_median, uses
//!   consecutive windows opened by a group's first free member, judged once complete.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use serde_json::{Map, Value};

use super::event::{resolve, Val};
use crate::error::{Error, ErrorKind};
use crate::ir::{self, CorrelationType};

mod compile;
mod reorder;
mod sequence;
#[cfg(test)]
mod tests;
mod time;
mod window;

pub use compile::compile_documents;
pub use sequence::{SeqMatch, SeqStats, Sequences, DEFAULT_MAX_KEYS};
pub use time::{format_time, parse_iso, parse_time};
pub use window::interpolate;

type HashMap<K, V> = foldhash::HashMap<K, V>;

/// Default `--max-lateness`: how far (in event time) an event may arrive behind the newest
/// event seen and still be ordered correctly.
pub const DEFAULT_MAX_LATENESS_SECS: u64 = 3600;
/// Default cap on live groups per correlation.
pub const DEFAULT_MAX_GROUPS: usize = 1_000_000;
/// Default cap on events held by the reorder buffer.
pub const DEFAULT_MAX_BUFFERED: usize = 1_000_000;
/// Default cap on the record numbers listed in one alert.
pub const DEFAULT_MAX_RECORDS: usize = 100;
/// Most rules one correlation may reference.
pub const MAX_RULES: usize = 64;

/// How the correlation stage runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The timestamp field; `None`: `@timestamp`, else Windows `Event.System.TimeCreated`'s
    /// `SystemTime` attribute (`TimeCreated_SystemTime` once normalised).
    pub timestamp_field: Option<String>,
    /// Lateness bound in nanoseconds of event time.
    pub max_lateness: i64,
    /// Cap on live groups per correlation; members of new groups beyond it are dropped and
    /// counted.
    pub max_groups: usize,
    /// Cap on buffered events; beyond it the oldest is released early (counted).
    pub max_buffered: usize,
    /// Cap on the record numbers listed per alert.
    pub max_records: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timestamp_field: None,
            max_lateness: (DEFAULT_MAX_LATENESS_SECS * NS) as i64,
            max_groups: DEFAULT_MAX_GROUPS,
            max_buffered: DEFAULT_MAX_BUFFERED,
            max_records: DEFAULT_MAX_RECORDS,
        }
    }
}

const NS: u64 = 1_000_000_000;

/// The handles (id, name) of a compiled rule, numbered as in the rule set.
#[derive(Debug, Clone, Default)]
pub struct RuleHandle {
    /// `id`.
    pub id: Option<String>,
    /// `name`.
    pub name: Option<String>,
}

/// What a correlation references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Rule(usize),
    Corr(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sliding,
    Window,
}

/// A value of a member for value_* types.
#[derive(Debug, Clone, PartialEq)]
enum MVal {
    None,
    Num(f64),
    Text(Box<str>),
}

/// Why an event is no member of a correlation it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    NoGroup,
    NoValue,
}

#[derive(Debug, Clone)]
enum Recs {
    One(u64),
    Many(Box<[u64]>),
}

#[derive(Debug, Clone)]
struct Member {
    time: i64,
    /// The earliest event time it covers (an inner alert's `first`).
    from: i64,
    seq: u64,
    src: u32,
    rules: u64,
    val: MVal,
    recs: Recs,
}

impl Member {
    fn order(&self) -> (i64, u64, u32) {
        (self.time, self.seq, self.src)
    }
}

struct Pending(Member, Box<str>);

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        self.0.order() == o.0.order()
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.order().cmp(&o.0.order())
    }
}

#[derive(Debug, Default)]
struct Group {
    key: Box<str>,
    members: VecDeque<Member>,
    deadline: i64,
    /// value_count (sliding): live members per distinct value.
    distinct: HashMap<Box<str>, u32>,
    /// temporal (sliding): live members per referenced rule.
    per_rule: Vec<u32>,
    /// value_sum (sliding): exact sum of integral values, and how many values are not.
    isum: i128,
    fractional: u32,
}

/// Per-correlation counters.
#[derive(Debug, Clone, Default)]
pub struct CorrStats {
    /// Alerts fired.
    pub alerts: u64,
    /// Members ignored because a group-by value was missing, null or not a single scalar.
    pub no_group: u64,
    /// Members ignored because the value field was missing or not usable.
    pub no_value: u64,
    /// Members dropped because the live-group cap was reached.
    pub capped: u64,
    /// Most live groups at once.
    pub peak_groups: usize,
}

struct Corr {
    index: usize,
    ir: ir::Correlation,
    label: String,
    sources: Vec<Source>,
    /// Per source position: the field of each group-by entry.
    group_fields: Vec<Vec<String>>,
    /// Per source position: the fields of the value (value_* types).
    value_fields: Vec<Vec<String>>,
    mode: Mode,
    span: i64,
    delay: i64,
    /// Correlations that reference this one, with the position.
    outer: Vec<(usize, usize)>,
    output: bool,
    map: HashMap<Box<str>, u32>,
    slab: Vec<Option<Group>>,
    /// Cleared groups for reuse.
    spare: Vec<Group>,
    free: Vec<u32>,
    timers: BinaryHeap<Reverse<(i64, u32)>>,
    pending: BinaryHeap<Reverse<Pending>>,
    stats: CorrStats,
}

/// An alert: a correlation's condition held for a group over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Index of the correlation (see [`Correlator::label`]).
    pub correlation: usize,
    /// The group-by values, as text, in group-by order.
    pub group: Vec<(String, String)>,
    /// The aggregate: a count (event_count, value_count, temporal types) or a value.
    pub aggregate: Aggregate,
    /// Earliest event time covered (ns since the epoch, UTC).
    pub first: i64,
    /// Latest member time.
    pub last: i64,
    /// Run-wide record numbers of the events involved, at most `max_records`.
    pub records: Vec<u64>,
    /// Whether `records` was cut at `max_records`.
    pub truncated: bool,
    seq: u64,
}

/// An alert's aggregate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregate {
    /// event_count, value_count, temporal, temporal_ordered.
    Count(u64),
    /// value_sum, value_avg, value_percentile, value_median.
    Value(f64),
}

/// One correlation-relevant item of an extracted event.
#[derive(Debug, Clone)]
struct Item {
    corr: u32,
    rules: u64,
    got: Result<(Box<str>, MVal), Skip>,
}

/// What the correlation stage needs of one event (see [`Correlator::extract`]).
#[derive(Debug, Clone)]
pub struct Extracted {
    ts: Option<i64>,
    items: Vec<Item>,
    seq_items: Vec<sequence::SeqItem>,
}

#[derive(Default)]
struct Bucket {
    items: Vec<Buffered>,
    sorted: bool,
}

struct Buffered {
    ts: i64,
    seq: u64,
    items: Vec<Item>,
    seq_items: Vec<sequence::SeqItem>,
}
/// Run-wide counters.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Relevant events (matching a referenced rule) seen.
    pub events: u64,
    /// Relevant events without a usable timestamp (left out of correlations).
    pub no_timestamp: u64,
    /// Relevant events older than an event already released (beyond `max_lateness`).
    pub late: u64,
    /// Events released early because the reorder buffer was full.
    pub forced: u64,
    /// Most events held by the reorder buffer at once.
    pub peak_buffered: usize,
}

/// The correlation stage.
pub struct Correlator {
    config: Config,
    corrs: Vec<Corr>,
    /// Per compiled rule: the correlations referencing it, with the position.
    rule_refs: Vec<Vec<(usize, usize)>>,
    rule_output: Vec<bool>,
    /// The reorder buffer: events by time bucket (`width` ns); a bucket is sorted (newest
    /// first, so the oldest pops from the end) when it reaches the horizon.
    buffer: std::collections::BTreeMap<i64, Bucket>,
    buffered: usize,
    width: i64,
    max_seen: i64,
    released: i64,
    stats: Stats,
    scratch: Vec<Alert>,
    /// The sequences, on the same event-time order.
    seqs: Sequences,
}

impl std::fmt::Debug for Correlator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Correlator")
            .field("correlations", &self.corrs.len())
            .finish_non_exhaustive()
    }
}

fn corr_error(c: &ir::Correlation, at: String, msg: String, hint: &str) -> Error {
    let e = Error::new(ErrorKind::InvalidCorrelation(msg))
        .at(at)
        .hint(hint);
    match &c.origin.file {
        Some(f) => e.in_file(f.clone()),
        None => e,
    }
}

fn label_of(c: &ir::Correlation) -> String {
    c.meta
        .name
        .clone()
        .or_else(|| c.meta.id.clone())
        .unwrap_or_else(|| c.meta.title.clone())
}

fn is_numeric(k: CorrelationType) -> bool {
    match k {
        CorrelationType::ValueSum
        | CorrelationType::ValueAvg
        | CorrelationType::ValuePercentile
        | CorrelationType::ValueMedian => true,
        CorrelationType::EventCount
        | CorrelationType::ValueCount
        | CorrelationType::Temporal
        | CorrelationType::TemporalOrdered => false,
    }
}

fn mode_of(c: &ir::Correlation) -> Mode {
    if c.slides() {
        Mode::Sliding
    } else {
        Mode::Window
    }
}

impl Correlator {
    /// Number of correlations that run.
    #[must_use]
    pub fn len(&self) -> usize {
        self.corrs.len()
    }

    /// Whether no correlation and no sequence runs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.corrs.is_empty() && self.seqs.is_empty()
    }

    /// The sequences that run on this stage's event-time order.
    #[must_use]
    pub fn sequences(&self) -> &Sequences {
        &self.seqs
    }

    /// Completed sequences since the last call.
    pub fn take_sequence_matches(&mut self) -> Vec<SeqMatch> {
        self.seqs.take_matches()
    }

    /// Whether matches of compiled rule `r` are printed on their own: it is referenced by no
    /// correlation, or by one with `generate: true`, and is no step of a sequence.
    #[must_use]
    pub fn rule_output(&self, r: usize) -> bool {
        self.rule_output.get(r).copied().unwrap_or(true) && !self.seqs.is_step(r)
    }

    /// Whether compiled rule `r` feeds some correlation.
    #[must_use]
    pub fn is_referenced(&self, r: usize) -> bool {
        self.rule_refs.get(r).is_some_and(|v| !v.is_empty())
    }

    /// The correlation's name (else id, else title).
    #[must_use]
    pub fn label(&self, c: usize) -> &str {
        &self.corrs[c].label
    }

    /// The correlation as loaded.
    #[must_use]
    pub fn correlation(&self, c: usize) -> &ir::Correlation {
        &self.corrs[c].ir
    }

    /// Per-correlation counters.
    #[must_use]
    pub fn corr_stats(&self, c: usize) -> &CorrStats {
        &self.corrs[c].stats
    }

    /// Run-wide counters.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Live groups over all correlations (for diagnostics and benchmarks).
    #[must_use]
    pub fn live_groups(&self) -> usize {
        self.corrs.iter().map(|c| c.map.len()).sum()
    }

    /// The alert as one JSON object: `correlation`, `title`, `type`, `level`, `group`,
    /// `count` or `value`, `first`, `last`, `records` (and `records_truncated` when cut).
    #[must_use]
    pub fn alert_json(&self, a: &Alert) -> Value {
        let c = &self.corrs[a.correlation];
        let mut m = Map::new();
        m.insert("correlation".into(), c.label.clone().into());
        m.insert("title".into(), c.ir.meta.title.clone().into());
        m.insert("type".into(), c.ir.kind.name().into());
        if let Some(l) = c.ir.meta.level {
            if let Ok(v) = serde_json::to_value(l) {
                m.insert("level".into(), v);
            }
        }
        let group: Map<String, Value> = a
            .group
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        m.insert("group".into(), Value::Object(group));
        match a.aggregate {
            Aggregate::Count(n) => {
                m.insert("count".into(), n.into());
            }
            Aggregate::Value(v) => {
                m.insert("value".into(), number(v));
            }
        }
        m.insert("first".into(), format_time(a.first).into());
        m.insert("last".into(), format_time(a.last).into());
        m.insert(
            "records".into(),
            Value::Array(a.records.iter().map(|&r| r.into()).collect()),
        );
        if a.truncated {
            m.insert("records_truncated".into(), true.into());
        }
        Value::Object(m)
    }
}

/// A JSON number for `v`: an integer when `v` is integral and exact.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// The single value `path` resolves to (none when missing or several).
fn single<'v, 'a>(event: &'v Val<'a>, path: &str) -> Option<&'v Val<'a>> {
    let mut found: Option<&'v Val<'a>> = None;
    let mut many = false;
    resolve(event, path, &mut |v| {
        if found.is_some() {
            many = true;
        }
        found = Some(v);
    });
    if many {
        None
    } else {
        found
    }
}

/// A scalar's exact text: strings as they are, numbers as JSON writes them, booleans.
fn scalar_text<'v>(v: &'v Val<'_>) -> Option<std::borrow::Cow<'v, str>> {
    match v {
        Val::Str(s) => Some(std::borrow::Cow::Borrowed(s)),
        Val::Num(n) => Some(n.to_string().into()),
        Val::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        Val::Null | Val::Arr(_) | Val::Obj(_) => None,
    }
}

fn push_part(key: &mut String, text: &str) {
    use std::fmt::Write as _;
    let _ = write!(key, "{}:", text.len());
    key.push_str(text);
}

/// Splits a key built by [`push_part`].
fn key_parts(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = key;
    while let Some(colon) = rest.find(':') {
        let Ok(len) = rest[..colon].parse::<usize>() else {
            break;
        };
        let start = colon + 1;
        let end = (start + len).min(rest.len());
        out.push(rest[start..end].to_string());
        rest = &rest[end..];
    }
    out
}
