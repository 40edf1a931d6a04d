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
use super::RuleSet;
use crate::error::{Error, ErrorKind};
use crate::ir::{self, CmpOp, CorrelationType};

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

/// The type's name as Sigma writes it.
#[must_use]
pub fn type_name(k: CorrelationType) -> &'static str {
    match k {
        CorrelationType::EventCount => "event_count",
        CorrelationType::ValueCount => "value_count",
        CorrelationType::Temporal => "temporal",
        CorrelationType::TemporalOrdered => "temporal_ordered",
        CorrelationType::ValueSum => "value_sum",
        CorrelationType::ValueAvg => "value_avg",
        CorrelationType::ValuePercentile => "value_percentile",
        CorrelationType::ValueMedian => "value_median",
    }
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
    let lower = c
        .condition
        .iter()
        .all(|(op, _)| matches!(op, CmpOp::Gt | CmpOp::Gte));
    let monotone = match c.kind {
        CorrelationType::EventCount
        | CorrelationType::ValueCount
        | CorrelationType::Temporal
        | CorrelationType::TemporalOrdered
        | CorrelationType::ValueSum => true,
        CorrelationType::ValueAvg
        | CorrelationType::ValuePercentile
        | CorrelationType::ValueMedian => false,
    };
    if lower && monotone {
        Mode::Sliding
    } else {
        Mode::Window
    }
}

impl Correlator {
    /// Builds the stage from `correlations` over the compiled rules `rules` (numbered as in
    /// the rule set). Correlations that cannot run are left out and returned with their index
    /// in `correlations`: a reference to no rule or correlation of the run, a cycle of
    /// correlations (or a dependency on an invalid one), more than [`MAX_RULES`] rules, a
    /// `percentile` outside 0..=100, several value fields for a numeric type.
    #[must_use]
    pub fn new(
        correlations: Vec<ir::Correlation>,
        rules: &[RuleHandle],
        config: Config,
    ) -> (Correlator, Vec<(usize, Error)>) {
        let n = correlations.len();
        let mut handles: HashMap<&str, Source> = HashMap::default();
        for (i, r) in rules.iter().enumerate() {
            for h in r.id.iter().chain(r.name.iter()) {
                handles.entry(h.as_str()).or_insert(Source::Rule(i));
            }
        }
        for (j, c) in correlations.iter().enumerate() {
            for h in c.meta.id.iter().chain(c.meta.name.iter()) {
                handles.entry(h.as_str()).or_insert(Source::Corr(j));
            }
        }
        let mut errors: Vec<Option<Error>> = vec![None; n];
        let mut sources: Vec<Vec<Source>> = Vec::with_capacity(n);
        for (j, c) in correlations.iter().enumerate() {
            let mut s = Vec::new();
            for (i, r) in c.rules.iter().enumerate() {
                match handles.get(r.as_str()) {
                    Some(&src) => s.push(src),
                    None => {
                        errors[j].get_or_insert_with(|| {
                            corr_error(
                                c,
                                format!("correlation.rules[{i}]"),
                                format!("correlation `{}` refers to `{r}`, which is neither a rule nor a correlation of this run", label_of(c)),
                                "give the file defining it with -r; rules are referred to by id or name",
                            )
                        });
                    }
                }
            }
            if errors[j].is_none() {
                if c.rules.len() > MAX_RULES {
                    errors[j] = Some(corr_error(
                        c,
                        "correlation.rules".into(),
                        format!("more than {MAX_RULES} rules"),
                        "split the correlation",
                    ));
                } else if let Some(p) = &c.percentile {
                    let v = p.as_f64();
                    if !(0.0..=100.0).contains(&v) {
                        errors[j] = Some(corr_error(
                            c,
                            "correlation.condition.percentile".into(),
                            format!("percentile {} is outside 0..=100", p.text),
                            "e.g. `percentile: 95`",
                        ));
                    }
                }
                if errors[j].is_none() && is_numeric(c.kind) && c.field.len() != 1 {
                    errors[j] = Some(corr_error(
                        c,
                        "correlation.condition.field".into(),
                        format!("{} takes exactly one field", type_name(c.kind)),
                        "e.g. `field: bytes`",
                    ));
                }
                if errors[j].is_none() && c.condition.iter().any(|(_, v)| !v.as_f64().is_finite()) {
                    errors[j] = Some(corr_error(
                        c,
                        "correlation.condition".into(),
                        "a threshold is not a finite number".into(),
                        "e.g. `gte: 10`",
                    ));
                }
            }
            sources.push(s);
        }
        // Topological order (Kahn); correlations left over are in or behind a cycle, or depend
        // on an invalid correlation.
        let mut order: Vec<usize> = Vec::with_capacity(n);
        let mut done = vec![false; n];
        loop {
            let mut progress = false;
            for j in 0..n {
                if done[j] || errors[j].is_some() {
                    continue;
                }
                let ready = sources[j].iter().all(|s| match s {
                    Source::Rule(_) => true,
                    Source::Corr(k) => done[*k],
                });
                if ready {
                    done[j] = true;
                    order.push(j);
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
        for j in 0..n {
            if done[j] || errors[j].is_some() {
                continue;
            }
            let c = &correlations[j];
            // Follow references among the unresolved ones to name the cycle, if any.
            let mut path = vec![j];
            let mut at = j;
            let mut cycle = None;
            while let Some(&Source::Corr(k)) = sources[at]
                .iter()
                .find(|s| matches!(s, Source::Corr(k) if !done[*k]))
            {
                if let Some(p) = path.iter().position(|&x| x == k) {
                    cycle = Some(path[p..].to_vec());
                    break;
                }
                if errors[k].is_some() {
                    break;
                }
                path.push(k);
                at = k;
            }
            let msg = match cycle {
                Some(cy) => {
                    let mut names: Vec<String> =
                        cy.iter().map(|&x| label_of(&correlations[x])).collect();
                    names.push(label_of(&correlations[cy[0]]));
                    format!(
                        "correlation `{}` is in or depends on a cycle of correlations: {}",
                        label_of(c),
                        names.join(" → ")
                    )
                }
                None => format!(
                    "correlation `{}` depends on a correlation that cannot run",
                    label_of(c)
                ),
            };
            errors[j] = Some(corr_error(
                c,
                "correlation.rules".into(),
                msg,
                "a correlation may refer to other correlations, but not to itself through them",
            ));
        }
        // Renumber the valid ones in topological order.
        let mut new_index = vec![usize::MAX; n];
        for (k, &j) in order.iter().enumerate() {
            new_index[j] = k;
        }
        let mut slots: Vec<Option<ir::Correlation>> = correlations.into_iter().map(Some).collect();
        let mut corrs: Vec<Corr> = Vec::with_capacity(order.len());
        let mut rule_refs = vec![Vec::new(); rules.len()];
        for &j in &order {
            let c = slots[j].take().expect("each correlation once");
            let srcs: Vec<Source> = sources[j]
                .iter()
                .map(|s| match *s {
                    Source::Rule(i) => Source::Rule(i),
                    Source::Corr(k) => Source::Corr(new_index[k]),
                })
                .collect();
            let me = corrs.len();
            let field_for = |name: &str, pos: usize| -> String {
                let handle = &c.rules[pos];
                if let Some(per) = c.aliases.get(name) {
                    // By the handle written in `rules`, else by the other handle of the rule.
                    let other: Vec<&str> = match srcs[pos] {
                        Source::Rule(i) => rules[i]
                            .id
                            .iter()
                            .chain(rules[i].name.iter())
                            .map(String::as_str)
                            .collect(),
                        Source::Corr(k) => corrs[k]
                            .ir
                            .meta
                            .id
                            .iter()
                            .chain(corrs[k].ir.meta.name.iter())
                            .map(String::as_str)
                            .collect(),
                    };
                    if let Some(f) = std::iter::once(handle.as_str())
                        .chain(other)
                        .find_map(|h| per.get(h))
                    {
                        return f.clone();
                    }
                }
                name.to_string()
            };
            let group_fields: Vec<Vec<String>> = (0..srcs.len())
                .map(|p| c.group_by.iter().map(|g| field_for(g, p)).collect())
                .collect();
            let value_fields: Vec<Vec<String>> = (0..srcs.len())
                .map(|p| c.field.iter().map(|g| field_for(g, p)).collect())
                .collect();
            let mut delay = 0i64;
            for (p, s) in srcs.iter().enumerate() {
                match *s {
                    Source::Rule(i) => rule_refs[i].push((me, p)),
                    Source::Corr(k) => {
                        let inner = &corrs[k];
                        let extra = match inner.mode {
                            Mode::Window => inner.span,
                            Mode::Sliding => 0,
                        };
                        delay = delay.max(inner.delay.saturating_add(extra).saturating_add(1));
                    }
                }
            }
            for (p, s) in srcs.iter().enumerate() {
                if let Source::Corr(k) = *s {
                    corrs[k].outer.push((me, p));
                }
            }
            let span = i64::try_from(c.timespan.seconds)
                .ok()
                .and_then(|s| s.checked_mul(NS as i64))
                .unwrap_or(i64::MAX / 4);
            corrs.push(Corr {
                index: me,
                label: label_of(&c),
                mode: mode_of(&c),
                sources: srcs,
                group_fields,
                value_fields,
                span,
                delay,
                outer: Vec::new(),
                output: true,
                map: HashMap::default(),
                slab: Vec::new(),
                spare: Vec::new(),
                free: Vec::new(),
                timers: BinaryHeap::new(),
                pending: BinaryHeap::new(),
                stats: CorrStats::default(),
                ir: c,
            });
        }
        // Output (S11): an outermost correlation always; a referenced one when a referencing
        // correlation has `generate`. The same for rules.
        for k in 0..corrs.len() {
            let outer = &corrs[k].outer;
            corrs[k].output = outer.is_empty() || outer.iter().any(|&(o, _)| corrs[o].ir.generate);
        }
        let rule_output = rule_refs
            .iter()
            .map(|refs: &Vec<(usize, usize)>| {
                refs.is_empty() || refs.iter().any(|&(o, _)| corrs[o].ir.generate)
            })
            .collect();
        let errors = errors
            .into_iter()
            .enumerate()
            .filter_map(|(j, e)| e.map(|e| (j, e)))
            .collect();
        let width = (config.max_lateness / 256).clamp(1_000_000, NS as i64);
        (
            Correlator {
                config,
                corrs,
                rule_refs,
                rule_output,
                buffer: std::collections::BTreeMap::new(),
                buffered: 0,
                width,
                max_seen: i64::MIN,
                released: i64::MIN,
                stats: Stats::default(),
                scratch: Vec::new(),
            },
            errors,
        )
    }

    /// Number of correlations that run.
    #[must_use]
    pub fn len(&self) -> usize {
        self.corrs.len()
    }

    /// Whether no correlation runs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.corrs.is_empty()
    }

    /// Whether matches of compiled rule `r` are printed on their own: it is referenced by no
    /// correlation, or by one with `generate: true`.
    #[must_use]
    pub fn rule_output(&self, r: usize) -> bool {
        self.rule_output.get(r).copied().unwrap_or(true)
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

    /// The timestamp of an event, in nanoseconds since the epoch (UTC), as the stage reads
    /// it.
    #[must_use]
    pub fn timestamp(&self, event: &Val<'_>) -> Option<i64> {
        match &self.config.timestamp_field {
            Some(f) => single(event, f).and_then(parse_time),
            None => single(event, "@timestamp")
                .or_else(|| single(event, "TimeCreated_SystemTime"))
                .or_else(|| single(event, "Event.System.TimeCreated.#attributes.SystemTime"))
                .and_then(parse_time),
        }
    }

    /// What the stage needs of `event`, given the compiled rules it matched (increasing);
    /// `None` when it matched no rule a correlation refers to. Pure: run it in parallel.
    #[must_use]
    pub fn extract(&self, event: &Val<'_>, matched: &[usize]) -> Option<Extracted> {
        let mut items: Vec<Item> = Vec::new();
        for &r in matched {
            let Some(refs) = self.rule_refs.get(r) else {
                continue;
            };
            for &(c, pos) in refs {
                match items.iter_mut().find(|it| it.corr as usize == c) {
                    Some(it) => it.rules |= 1 << pos,
                    None => items.push(Item {
                        corr: c as u32,
                        rules: 1 << pos,
                        got: Err(Skip::NoGroup),
                    }),
                }
            }
        }
        if items.is_empty() {
            return None;
        }
        for it in &mut items {
            let c = &self.corrs[it.corr as usize];
            // Fields come from the first listed rule the event matched (aliases, S6).
            let pos = it.rules.trailing_zeros() as usize;
            it.got = c.member_of(event, pos);
        }
        Some(Extracted {
            ts: self.timestamp(event),
            items,
        })
    }

    /// Feeds one extracted event; `seq` is its run-wide record number (increasing). Alerts to
    /// print are appended to `out`.
    pub fn push(&mut self, seq: u64, ex: Extracted, out: &mut Vec<Alert>) {
        self.stats.events += 1;
        let Some(ts) = ex.ts else {
            self.stats.no_timestamp += 1;
            return;
        };
        if ts < self.released {
            self.stats.late += 1;
            return;
        }
        self.max_seen = self.max_seen.max(ts);
        let bucket = self.buffer.entry(ts.div_euclid(self.width)).or_default();
        bucket.items.push(Buffered {
            ts,
            seq,
            items: ex.items,
        });
        bucket.sorted = false;
        self.buffered += 1;
        self.stats.peak_buffered = self.stats.peak_buffered.max(self.buffered);
        let horizon = self.max_seen.saturating_sub(self.config.max_lateness);
        self.drain(horizon, out);
    }

    /// Releases, oldest first, the buffered events at or before `horizon` (and beyond it while
    /// the buffer is over its cap).
    fn drain(&mut self, horizon: i64, out: &mut Vec<Alert>) {
        loop {
            let full = self.buffered > self.config.max_buffered;
            let Some(mut e) = self.buffer.first_entry() else {
                break;
            };
            if e.key().saturating_mul(self.width) > horizon && !full {
                break;
            }
            let bucket = e.get_mut();
            if !bucket.sorted {
                bucket
                    .items
                    .sort_unstable_by_key(|b| Reverse((b.ts, b.seq)));
                bucket.sorted = true;
            }
            match bucket.items.last() {
                None => {
                    e.remove();
                    continue;
                }
                Some(top) if top.ts > horizon => {
                    if !full {
                        break;
                    }
                    self.stats.forced += 1;
                }
                Some(_) => {}
            }
            let b = bucket.items.pop().expect("checked");
            if bucket.items.is_empty() {
                e.remove();
            }
            self.buffered -= 1;
            self.release(b, out);
        }
    }

    /// Ends the input: releases every buffered event, judges every open window.
    pub fn finish(&mut self, out: &mut Vec<Alert>) {
        self.drain(i64::MAX, out);
        self.advance(i64::MAX, true, out);
    }

    fn release(&mut self, b: Buffered, out: &mut Vec<Alert>) {
        self.released = b.ts;
        self.advance(b.ts, false, out);
        for it in b.items {
            let c = it.corr as usize;
            let (key, val) = match it.got {
                Ok(kv) => kv,
                Err(Skip::NoGroup) => {
                    self.corrs[c].stats.no_group += 1;
                    continue;
                }
                Err(Skip::NoValue) => {
                    self.corrs[c].stats.no_value += 1;
                    continue;
                }
            };
            let m = Member {
                time: b.ts,
                from: b.ts,
                seq: b.seq,
                src: 0,
                rules: it.rules,
                val,
                recs: Recs::One(b.seq),
            };
            if self.corrs[c].delay == 0 {
                self.corrs[c].process(m, key, &self.config, &mut self.scratch);
                self.route(c, out);
            } else {
                self.corrs[c].pending.push(Reverse(Pending(m, key)));
            }
        }
    }

    /// Moves every correlation's clock to `t` (less its delay), innermost first.
    fn advance(&mut self, t: i64, end: bool, out: &mut Vec<Alert>) {
        for c in 0..self.corrs.len() {
            let clock = if end {
                i64::MAX
            } else {
                t.saturating_sub(self.corrs[c].delay)
            };
            loop {
                let next = match self.corrs[c].pending.peek() {
                    Some(Reverse(p)) if p.0.time <= clock => p.0.time,
                    _ => break,
                };
                self.corrs[c].close(next, false, &self.config, &mut self.scratch);
                self.route(c, out);
                let Reverse(Pending(m, key)) = self.corrs[c].pending.pop().expect("peeked");
                self.corrs[c].process(m, key, &self.config, &mut self.scratch);
                self.route(c, out);
            }
            self.corrs[c].close(clock, end, &self.config, &mut self.scratch);
            self.route(c, out);
        }
    }

    /// Hands the alerts correlation `c` just fired to the correlations over it and to `out`.
    fn route(&mut self, c: usize, out: &mut Vec<Alert>) {
        if self.scratch.is_empty() {
            return;
        }
        let alerts = std::mem::take(&mut self.scratch);
        for a in &alerts {
            for i in 0..self.corrs[c].outer.len() {
                let (o, pos) = self.corrs[c].outer[i];
                let fields: Vec<(std::borrow::Cow<'_, str>, Val<'_>)> = a
                    .group
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), Val::Str(v.as_str().into())))
                    .collect();
                let ev = Val::Obj(fields);
                let outer = &mut self.corrs[o];
                match outer.member_of(&ev, pos) {
                    Ok((key, val)) => {
                        let m = Member {
                            time: a.last,
                            from: a.first,
                            seq: a.seq,
                            src: c as u32 + 1,
                            rules: 1 << pos,
                            val,
                            recs: Recs::Many(a.records.clone().into_boxed_slice()),
                        };
                        outer.pending.push(Reverse(Pending(m, key)));
                    }
                    Err(Skip::NoGroup) => outer.stats.no_group += 1,
                    Err(Skip::NoValue) => outer.stats.no_value += 1,
                }
            }
        }
        if self.corrs[c].output {
            out.extend(alerts.iter().cloned());
        }
        self.scratch = alerts;
        self.scratch.clear();
    }

    /// The alert as one JSON object: `correlation`, `title`, `type`, `level`, `group`,
    /// `count` or `value`, `first`, `last`, `records` (and `records_truncated` when cut).
    #[must_use]
    pub fn alert_json(&self, a: &Alert) -> Value {
        let c = &self.corrs[a.correlation];
        let mut m = Map::new();
        m.insert("correlation".into(), c.label.clone().into());
        m.insert("title".into(), c.ir.meta.title.clone().into());
        m.insert("type".into(), type_name(c.ir.kind).into());
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

/// Compiles the rules among `docs` into a [`RuleSet`] and the correlations among them into a
/// [`Correlator`] over it (filters are left out: the loader has applied them). Errors carry the
/// index of their document in `docs`.
#[must_use]
pub fn compile_documents(
    docs: Vec<ir::Document>,
    config: Config,
) -> (RuleSet, Correlator, Vec<(usize, Error)>) {
    let mut rest = Vec::with_capacity(docs.len());
    let mut corrs = Vec::new();
    let mut corr_index = Vec::new();
    let mut handles = Vec::new();
    for (i, d) in docs.into_iter().enumerate() {
        match d {
            ir::Document::Correlation(c) => {
                corr_index.push(i);
                corrs.push(c);
                rest.push(None);
            }
            ir::Document::Rule(r) => {
                handles.push(RuleHandle {
                    id: r.meta.id.clone(),
                    name: r.meta.name.clone(),
                });
                rest.push(Some(ir::Document::Rule(r)));
            }
            ir::Document::Filter(f) => {
                handles.push(RuleHandle::default());
                rest.push(Some(ir::Document::Filter(f)));
            }
        }
    }
    // Number the remaining documents densely for the rule set, remembering their places.
    let mut places = Vec::new();
    let mut kept = Vec::new();
    for (i, d) in rest.into_iter().enumerate() {
        if let Some(d) = d {
            places.push(i);
            kept.push(d);
        }
    }
    let (set, errs) = RuleSet::compile_documents(kept);
    let compiled: Vec<RuleHandle> = (0..set.len())
        .map(|r| handles[set.info(r).index].clone())
        .collect();
    let mut errors: Vec<(usize, Error)> = errs.into_iter().map(|(i, e)| (places[i], e)).collect();
    let (correlator, cerrs) = Correlator::new(corrs, &compiled, config);
    errors.extend(cerrs.into_iter().map(|(j, e)| (corr_index[j], e)));
    errors.sort_by_key(|e| e.0);
    (set, correlator, errors)
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

impl Corr {
    /// The group key and value of `event` as a member through source position `pos`.
    fn member_of(&self, event: &Val<'_>, pos: usize) -> Result<(Box<str>, MVal), Skip> {
        let mut key = String::new();
        for f in &self.group_fields[pos] {
            let v = single(event, f).ok_or(Skip::NoGroup)?;
            let t = scalar_text(v).ok_or(Skip::NoGroup)?;
            push_part(&mut key, &t);
        }
        let fields = &self.value_fields[pos];
        let val = if fields.is_empty() {
            MVal::None
        } else if is_numeric(self.ir.kind) {
            let v = single(event, &fields[0]).ok_or(Skip::NoValue)?;
            let n = match v {
                Val::Num(n) => n.as_f64(),
                Val::Str(s) => s.trim().parse::<f64>().ok(),
                Val::Null | Val::Bool(_) | Val::Arr(_) | Val::Obj(_) => None,
            };
            match n {
                Some(n) if n.is_finite() => MVal::Num(n),
                _ => return Err(Skip::NoValue),
            }
        } else if fields.len() == 1 {
            let v = single(event, &fields[0]).ok_or(Skip::NoValue)?;
            MVal::Text(scalar_text(v).ok_or(Skip::NoValue)?.into())
        } else {
            let mut t = String::new();
            for f in fields {
                let v = single(event, f).ok_or(Skip::NoValue)?;
                push_part(&mut t, &scalar_text(v).ok_or(Skip::NoValue)?);
            }
            MVal::Text(t.into())
        };
        Ok((key.into(), val))
    }

    fn process(&mut self, m: Member, key: Box<str>, cfg: &Config, out: &mut Vec<Alert>) {
        let slot = match self.map.get(&key) {
            Some(&s) => s,
            None => {
                if self.map.len() >= cfg.max_groups {
                    self.stats.capped += 1;
                    return;
                }
                // A recycled group keeps its allocations (members, distinct values).
                let mut g = self.spare.pop().unwrap_or_default();
                g.key = key.clone();
                if self.ir.kind == CorrelationType::Temporal {
                    g.per_rule.resize(self.sources.len(), 0);
                }
                g.deadline = m.time.saturating_add(self.span);
                let s = match self.free.pop() {
                    Some(s) => {
                        self.slab[s as usize] = Some(g);
                        s
                    }
                    None => {
                        self.slab.push(Some(g));
                        (self.slab.len() - 1) as u32
                    }
                };
                self.map.insert(key, s);
                self.stats.peak_groups = self.stats.peak_groups.max(self.map.len());
                self.timers
                    .push(Reverse((m.time.saturating_add(self.span), s)));
                s
            }
        };
        let kind = self.ir.kind;
        let span = self.span;
        let mode = self.mode;
        let g = self.slab[slot as usize].as_mut().expect("live slot");
        match mode {
            Mode::Window => g.members.push_back(m),
            Mode::Sliding => {
                let t = m.time;
                while let Some(f) = g.members.front() {
                    if t.saturating_sub(f.time) > span {
                        let f = g.members.pop_front().expect("front");
                        unaccount(g, &f, kind);
                    } else {
                        break;
                    }
                }
                account(g, &m, kind);
                g.members.push_back(m);
                g.deadline = t.saturating_add(span);
                let agg = sliding_aggregate(g, kind);
                if holds(&self.ir.condition, agg) {
                    let members: Vec<Member> = g.members.drain(..).collect();
                    g.distinct.clear();
                    g.per_rule.iter_mut().for_each(|c| *c = 0);
                    g.isum = 0;
                    g.fractional = 0;
                    let key = g.key.clone();
                    let a = self.alert(&key, &members, agg, cfg);
                    out.push(a);
                }
            }
        }
    }

    /// Expires groups (sliding) and judges windows (window mode) whose deadline is before
    /// `clock` (all of them at the end).
    fn close(&mut self, clock: i64, end: bool, cfg: &Config, out: &mut Vec<Alert>) {
        while let Some(&Reverse((deadline, slot))) = self.timers.peek() {
            if !end && deadline >= clock {
                break;
            }
            self.timers.pop();
            let Some(g) = self.slab[slot as usize].as_ref() else {
                continue;
            };
            if g.deadline != deadline {
                // A sliding group that got newer members: wait for its current deadline.
                if !end || g.deadline > deadline {
                    self.timers.push(Reverse((g.deadline, slot)));
                    continue;
                }
            }
            let mut g = self.slab[slot as usize].take().expect("live slot");
            self.free.push(slot);
            self.map.remove(&g.key);
            if self.mode == Mode::Window && !g.members.is_empty() {
                let members = g.members.make_contiguous();
                if let Some(agg) = aggregate(members, self.ir.kind, self.percentile()) {
                    if holds(&self.ir.condition, agg) {
                        let a = self.alert(&g.key, members, agg, cfg);
                        out.push(a);
                    }
                }
            }
            if self.spare.len() < 1024 {
                g.members.clear();
                g.distinct.clear();
                g.per_rule.clear();
                g.isum = 0;
                g.fractional = 0;
                self.spare.push(g);
            }
        }
    }

    fn percentile(&self) -> f64 {
        match self.ir.kind {
            CorrelationType::ValueMedian => 50.0,
            CorrelationType::ValuePercentile => {
                self.ir.percentile.as_ref().map_or(50.0, ir::Number::as_f64)
            }
            CorrelationType::EventCount
            | CorrelationType::ValueCount
            | CorrelationType::Temporal
            | CorrelationType::TemporalOrdered
            | CorrelationType::ValueSum
            | CorrelationType::ValueAvg => 50.0,
        }
    }

    fn alert(&mut self, key: &str, members: &[Member], agg: Aggregate, cfg: &Config) -> Alert {
        self.stats.alerts += 1;
        let group = self
            .ir
            .group_by
            .iter()
            .cloned()
            .zip(key_parts(key))
            .collect();
        let mut records = Vec::new();
        let mut truncated = false;
        let mut first = i64::MAX;
        let mut last = i64::MIN;
        let mut seq = 0;
        for m in members {
            let rs: &[u64] = match &m.recs {
                Recs::One(r) => std::slice::from_ref(r),
                Recs::Many(rs) => rs,
            };
            for &r in rs {
                if records.len() < cfg.max_records {
                    records.push(r);
                } else {
                    truncated = true;
                }
            }
            if (m.time, m.seq) >= (last, seq) {
                last = m.time;
                seq = m.seq;
            }
            first = first.min(m.from);
        }
        Alert {
            correlation: self.index,
            group,
            aggregate: agg,
            first,
            last,
            records,
            truncated,
            seq,
        }
    }
}

fn account(g: &mut Group, m: &Member, kind: CorrelationType) {
    match kind {
        CorrelationType::ValueCount => {
            if let MVal::Text(t) = &m.val {
                *g.distinct.entry(t.clone()).or_insert(0) += 1;
            }
        }
        CorrelationType::Temporal => {
            for (p, c) in g.per_rule.iter_mut().enumerate() {
                if m.rules & (1 << p) != 0 {
                    *c += 1;
                }
            }
        }
        CorrelationType::ValueSum => {
            if let MVal::Num(v) = m.val {
                match integral(v) {
                    Some(i) => g.isum += i128::from(i),
                    None => g.fractional += 1,
                }
            }
        }
        CorrelationType::EventCount
        | CorrelationType::TemporalOrdered
        | CorrelationType::ValueAvg
        | CorrelationType::ValuePercentile
        | CorrelationType::ValueMedian => {}
    }
}

fn unaccount(g: &mut Group, m: &Member, kind: CorrelationType) {
    match kind {
        CorrelationType::ValueCount => {
            if let MVal::Text(t) = &m.val {
                if let Some(c) = g.distinct.get_mut(t) {
                    *c -= 1;
                    if *c == 0 {
                        g.distinct.remove(t);
                    }
                }
            }
        }
        CorrelationType::Temporal => {
            for (p, c) in g.per_rule.iter_mut().enumerate() {
                if m.rules & (1 << p) != 0 {
                    *c -= 1;
                }
            }
        }
        CorrelationType::ValueSum => {
            if let MVal::Num(v) = m.val {
                match integral(v) {
                    Some(i) => g.isum -= i128::from(i),
                    None => g.fractional -= 1,
                }
            }
        }
        CorrelationType::EventCount
        | CorrelationType::TemporalOrdered
        | CorrelationType::ValueAvg
        | CorrelationType::ValuePercentile
        | CorrelationType::ValueMedian => {}
    }
}

fn holds(condition: &[(CmpOp, ir::Number)], agg: Aggregate) -> bool {
    let v = match agg {
        Aggregate::Count(n) => n as f64,
        Aggregate::Value(v) => v,
    };
    condition
        .iter()
        .all(|(op, n)| v.partial_cmp(&n.as_f64()).is_some_and(|ord| op.holds(ord)))
}

fn integral(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9e15).then_some(v as i64)
}

fn sliding_aggregate(g: &mut Group, kind: CorrelationType) -> Aggregate {
    match kind {
        CorrelationType::EventCount => Aggregate::Count(g.members.len() as u64),
        CorrelationType::ValueCount => Aggregate::Count(g.distinct.len() as u64),
        CorrelationType::Temporal => {
            Aggregate::Count(g.per_rule.iter().filter(|&&c| c > 0).count() as u64)
        }
        CorrelationType::ValueSum if g.fractional == 0 => Aggregate::Value(g.isum as f64),
        CorrelationType::TemporalOrdered
        | CorrelationType::ValueSum
        | CorrelationType::ValueAvg
        | CorrelationType::ValuePercentile
        | CorrelationType::ValueMedian => {
            aggregate(g.members.make_contiguous(), kind, 50.0).unwrap_or(Aggregate::Count(0))
        }
    }
}

/// The aggregate of a window's members (in time order); `None` when there is no value.
fn aggregate(members: &[Member], kind: CorrelationType, percentile: f64) -> Option<Aggregate> {
    let nums = || {
        members.iter().filter_map(|m| match m.val {
            MVal::Num(v) => Some(v),
            MVal::None | MVal::Text(_) => None,
        })
    };
    Some(match kind {
        CorrelationType::EventCount => Aggregate::Count(members.len() as u64),
        CorrelationType::ValueCount => {
            let mut seen: Vec<&str> = members
                .iter()
                .filter_map(|m| match &m.val {
                    MVal::Text(t) => Some(&**t),
                    MVal::None | MVal::Num(_) => None,
                })
                .collect();
            seen.sort_unstable();
            seen.dedup();
            Aggregate::Count(seen.len() as u64)
        }
        CorrelationType::Temporal => {
            let all = members.iter().fold(0u64, |a, m| a | m.rules);
            Aggregate::Count(u64::from(all.count_ones()))
        }
        CorrelationType::TemporalOrdered => {
            let mut k = 0u32;
            for m in members {
                if k < 64 && m.rules & (1 << k) != 0 {
                    k += 1;
                }
            }
            Aggregate::Count(u64::from(k))
        }
        CorrelationType::ValueSum => Aggregate::Value(nums().sum()),
        CorrelationType::ValueAvg => {
            let (s, n) = nums().fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            if n == 0 {
                return None;
            }
            Aggregate::Value(s / n as f64)
        }
        CorrelationType::ValuePercentile | CorrelationType::ValueMedian => {
            let mut v: Vec<f64> = nums().collect();
            if v.is_empty() {
                return None;
            }
            v.sort_by(f64::total_cmp);
            Aggregate::Value(interpolate(&v, percentile))
        }
    })
}

/// The value at rank p/100·(n−1) of sorted `v`, linearly interpolated.
#[must_use]
pub fn interpolate(v: &[f64], p: f64) -> f64 {
    let rank = p / 100.0 * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    if lo == hi {
        v[lo]
    } else {
        v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
    }
}

// ---- time ----

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Reads a timestamp value: an ISO-8601 / RFC 3339 string (`T` or space, fractions to the
/// nanosecond, `Z`, `±HH:MM`, `±HHMM` or `±HH`; no zone = UTC), or a JSON number of epoch
/// seconds (milliseconds above 1e12). Nanoseconds since the epoch.
#[must_use]
pub fn parse_time(v: &Val<'_>) -> Option<i64> {
    match v {
        Val::Str(s) => parse_iso(s),
        Val::Num(n) => {
            if let Some(i) = n.as_i64() {
                if i.unsigned_abs() > 1_000_000_000_000 {
                    i.checked_mul(1_000_000)
                } else {
                    i.checked_mul(NS as i64)
                }
            } else {
                let f = n.as_f64()?;
                let ns = if f.abs() > 1e12 { f * 1e6 } else { f * 1e9 };
                (ns.is_finite() && ns.abs() < 9.2e18).then(|| ns.round() as i64)
            }
        }
        Val::Null | Val::Bool(_) | Val::Arr(_) | Val::Obj(_) => None,
    }
}

/// An ISO-8601 date and time (see [`parse_time`]).
#[must_use]
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        if d.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(d).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return None;
    }
    let mut i = 19;
    let mut frac: i64 = 0;
    if i < b.len() && matches!(b[i], b'.' | b',') {
        i += 1;
        let start = i;
        let mut digits = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            if digits < 9 {
                frac = frac * 10 + i64::from(b[i] - b'0');
                digits += 1;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in digits..9 {
            frac *= 10;
        }
    }
    let offset: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &b[i + 1..];
            let (oh, om) = match rest.len() {
                2 => (num(i + 1..i + 3)?, 0),
                4 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                5 if rest[2] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let o = (oh * 60 + om) * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        Some(_) => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
    secs.checked_mul(NS as i64)?.checked_add(frac)
}

/// RFC 3339 UTC text of nanoseconds since the epoch, with the fraction only when not zero
/// (trailing zeros cut).
#[must_use]
pub fn format_time(ns: i64) -> String {
    let secs = ns.div_euclid(NS as i64);
    let frac = ns.rem_euclid(NS as i64);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if frac != 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        parse_iso(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn iso_forms() {
        assert_eq!(ts("1970-01-01T00:00:00Z"), 0);
        assert_eq!(ts("1970-01-01 00:00:01"), 1_000_000_000);
        assert_eq!(ts("1970-01-01T01:00:00+01:00"), 0);
        assert_eq!(ts("1970-01-01T00:00:00-0130"), 5_400_000_000_000);
        assert_eq!(ts("1970-01-01T00:00:00.5Z"), 500_000_000);
        assert_eq!(ts("2025-12-25T14:30:27.369114Z") % NS as i64, 369_114_000);
        assert_eq!(ts("2024-02-29T00:00:00Z"), 1_709_164_800 * NS as i64);
        assert!(parse_iso("2023-02-29T00:00:00Z").is_none());
        assert!(parse_iso("2024-01-01").is_none());
        assert!(parse_iso("2024-01-01T00:00:00Q").is_none());
        assert!(parse_iso("2024-01-01T00:00:00.Z").is_none());
        assert_eq!(
            format_time(ts("2024-03-01T10:11:12.250+02:00")),
            "2024-03-01T08:11:12.25Z"
        );
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn epoch_numbers() {
        let n = |t: &str| parse_time(&Val::parse(t).unwrap());
        assert_eq!(n("1700000000"), Some(1_700_000_000 * NS as i64));
        assert_eq!(n("1700000000123"), Some(1_700_000_000_123_000_000));
        assert_eq!(n("1.5"), Some(1_500_000_000));
        assert_eq!(n("true"), None);
    }

    #[test]
    fn keys_round_trip() {
        let mut k = String::new();
        push_part(&mut k, "a:b");
        push_part(&mut k, "");
        push_part(&mut k, "7:x");
        assert_eq!(key_parts(&k), ["a:b", "", "7:x"]);
    }

    #[test]
    fn percentiles() {
        assert_eq!(interpolate(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
        assert_eq!(interpolate(&[1.0, 2.0, 3.0, 4.0], 100.0), 4.0);
        assert_eq!(interpolate(&[5.0], 90.0), 5.0);
    }
}
