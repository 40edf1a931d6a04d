//! Building the [`Correlator`] from the correlations and the compiled rules: references
//! resolved and checked, correlations ordered (chaining), fields and delays per member.

use std::collections::BinaryHeap;

use super::{
    corr_error, is_numeric, label_of, mode_of, Config, Corr, CorrStats, Correlator, HashMap, Mode,
    RuleHandle, Source, Stats, MAX_RULES, NS,
};
use crate::error::Error;
use crate::eval::RuleSet;
use crate::ir;

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
        let handles = handles(rules, &correlations);
        let (sources, mut errors): (Vec<Vec<Source>>, Vec<Option<Error>>) =
            correlations.iter().map(|c| sources_of(c, &handles)).unzip();
        let (order, done) = topological(&sources, &errors);
        blame_unordered(&correlations, &sources, &done, &mut errors);
        let (mut corrs, rule_refs) = build(correlations, &sources, &order, rules);
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
                seqs: super::Sequences::default(),
            },
            errors,
        )
    }
}

/// What each handle (id or name) of the run's rules and correlations refers to; the first
/// holder wins, rules before correlations.
fn handles<'a>(
    rules: &'a [RuleHandle],
    correlations: &'a [ir::Correlation],
) -> HashMap<&'a str, Source> {
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
    handles
}

/// The sources of `c` that `handles` resolves (one per entry of its `rules` when all do), and
/// the first reason it cannot run, if any.
fn sources_of(
    c: &ir::Correlation,
    handles: &HashMap<&str, Source>,
) -> (Vec<Source>, Option<Error>) {
    let mut error = None;
    let mut s = Vec::new();
    for (i, r) in c.rules.iter().enumerate() {
        match handles.get(r.as_str()) {
            Some(&src) => s.push(src),
            None => {
                error.get_or_insert_with(|| {
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
    if error.is_none() {
        error = check(c);
    }
    (s, error)
}

/// The first reason `c` cannot run whatever it refers to: too many rules, a percentile outside
/// 0..=100, not exactly one value field for a numeric type, a threshold that is not finite.
fn check(c: &ir::Correlation) -> Option<Error> {
    if c.rules.len() > MAX_RULES {
        return Some(corr_error(
            c,
            "correlation.rules".into(),
            format!("more than {MAX_RULES} rules"),
            "split the correlation",
        ));
    }
    if let Some(p) = &c.percentile {
        let v = p.as_f64();
        if !(0.0..=100.0).contains(&v) {
            return Some(corr_error(
                c,
                "correlation.condition.percentile".into(),
                format!("percentile {} is outside 0..=100", p.text),
                "e.g. `percentile: 95`",
            ));
        }
    }
    if is_numeric(c.kind) && c.field.len() != 1 {
        return Some(corr_error(
            c,
            "correlation.condition.field".into(),
            format!("{} takes exactly one field", c.kind.name()),
            "e.g. `field: bytes`",
        ));
    }
    if c.condition.iter().any(|(_, v)| !v.as_f64().is_finite()) {
        return Some(corr_error(
            c,
            "correlation.condition".into(),
            "a threshold is not a finite number".into(),
            "e.g. `gte: 10`",
        ));
    }
    None
}

/// The valid correlations in topological order (Kahn), and which are in it; those left over
/// are in or behind a cycle, or depend on an invalid correlation.
fn topological(sources: &[Vec<Source>], errors: &[Option<Error>]) -> (Vec<usize>, Vec<bool>) {
    let n = sources.len();
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
    (order, done)
}

/// Gives each valid correlation left out of the order (not `done`) its error: the cycle it is
/// in or depends on, named, or the correlation that cannot run behind it.
fn blame_unordered(
    correlations: &[ir::Correlation],
    sources: &[Vec<Source>],
    done: &[bool],
    errors: &mut [Option<Error>],
) {
    for j in 0..correlations.len() {
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
}

/// The running correlations, renumbered in `order`, and per rule the (correlation, source
/// position) pairs that refer to it.
fn build(
    correlations: Vec<ir::Correlation>,
    sources: &[Vec<Source>],
    order: &[usize],
    rules: &[RuleHandle],
) -> (Vec<Corr>, Vec<Vec<(usize, usize)>>) {
    let n = correlations.len();
    let mut new_index = vec![usize::MAX; n];
    for (k, &j) in order.iter().enumerate() {
        new_index[j] = k;
    }
    let mut slots: Vec<Option<ir::Correlation>> = correlations.into_iter().map(Some).collect();
    let mut corrs: Vec<Corr> = Vec::with_capacity(order.len());
    let mut rule_refs = vec![Vec::new(); rules.len()];
    for &j in order {
        let c = slots[j].take().expect("each correlation once");
        let srcs: Vec<Source> = sources[j]
            .iter()
            .map(|s| match *s {
                Source::Rule(i) => Source::Rule(i),
                Source::Corr(k) => Source::Corr(new_index[k]),
            })
            .collect();
        let me = corrs.len();
        let group_fields: Vec<Vec<String>> = (0..srcs.len())
            .map(|p| {
                c.group_by
                    .iter()
                    .map(|g| field_for(&c, &srcs, rules, &corrs, g, p))
                    .collect()
            })
            .collect();
        let value_fields: Vec<Vec<String>> = (0..srcs.len())
            .map(|p| {
                c.field
                    .iter()
                    .map(|g| field_for(&c, &srcs, rules, &corrs, g, p))
                    .collect()
            })
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
    (corrs, rule_refs)
}

/// The event field that field `name` of correlation `c` names in the events of source
/// position `pos` (`srcs`, renumbered; `corrs` built so far): its alias for the handle written
/// in `rules`, else for the other handle of the rule, else `name` itself.
fn field_for(
    c: &ir::Correlation,
    srcs: &[Source],
    rules: &[RuleHandle],
    corrs: &[Corr],
    name: &str,
    pos: usize,
) -> String {
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
}

/// Compiles the rules among `docs` into a [`RuleSet`] and the correlations and sequences among
/// them into a [`Correlator`] over it (filters are left out: the loader has applied them; each
/// sequence step, and `until`, is compiled as a rule of its own whose matches are not
/// printed). Errors carry the index of their document in `docs`.
#[must_use]
pub fn compile_documents(
    docs: Vec<ir::Document>,
    config: Config,
) -> (RuleSet, Correlator, Vec<(usize, Error)>) {
    // Per rule-set document: the index in `docs` it comes from.
    let mut kept = Vec::with_capacity(docs.len());
    let mut places = Vec::with_capacity(docs.len());
    let mut corrs = Vec::new();
    let mut corr_index = Vec::new();
    let mut handles = Vec::new();
    // Sequences, with the kept-document number of each step and of `until`.
    let mut seqs: Vec<(ir::Sequence, Vec<usize>, Option<usize>)> = Vec::new();
    let mut errors: Vec<(usize, Error)> = Vec::new();
    for (i, d) in docs.into_iter().enumerate() {
        match d {
            ir::Document::Correlation(c) => {
                corr_index.push(i);
                corrs.push(c);
            }
            ir::Document::Rule(r) => {
                handles.push(RuleHandle {
                    id: r.meta.id.clone(),
                    name: r.meta.name.clone(),
                });
                places.push(i);
                kept.push(ir::Document::Rule(r));
            }
            ir::Document::Filter(f) => {
                handles.push(RuleHandle::default());
                places.push(i);
                kept.push(ir::Document::Filter(f));
            }
            ir::Document::Sequence(s) => {
                if let Some(what) = super::sequence::refusal(&s) {
                    let e = Error::new(crate::error::ErrorKind::Unsupported {
                        target: "eval".into(),
                        what,
                    })
                    .at("rule.query");
                    let e = match &s.origin.file {
                        Some(f) => e.in_file(f.clone()),
                        None => e,
                    };
                    errors.push((i, e));
                    continue;
                }
                let mut step = |cond: &ir::Expr, n: Option<usize>| {
                    handles.push(RuleHandle::default());
                    places.push(i);
                    kept.push(ir::Document::Rule(ir::Rule {
                        meta: ir::Meta {
                            title: match n {
                                Some(n) => format!("{} (sequence step {n})", s.meta.title),
                                None => format!("{} (sequence until)", s.meta.title),
                            },
                            ..ir::Meta::default()
                        },
                        logsource: ir::LogSource::default(),
                        conditions: vec![cond.clone()],
                        state: indexmap::IndexMap::new(),
                        applied: Vec::new(),
                        origin: s.origin.clone(),
                    }));
                    kept.len() - 1
                };
                let steps: Vec<usize> = s
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(n, st)| step(&st.condition, Some(n + 1)))
                    .collect();
                let until = s.until.as_ref().map(|u| step(&u.condition, None));
                seqs.push((s, steps, until));
            }
        }
    }
    let (set, errs) = RuleSet::compile_documents(kept);
    let compiled: Vec<RuleHandle> = (0..set.len())
        .map(|r| handles[set.info(r).index].clone())
        .collect();
    // Kept-document number → compiled rule number.
    let mut rule_of = vec![None; places.len()];
    for r in 0..set.len() {
        rule_of[set.info(r).index] = Some(r);
    }
    errors.extend(errs.into_iter().map(|(k, e)| (places[k], e)));
    let (mut correlator, cerrs) = Correlator::new(corrs, &compiled, config);
    errors.extend(cerrs.into_iter().map(|(j, e)| (corr_index[j], e)));
    let runnable = seqs
        .into_iter()
        .filter_map(|(s, steps, until)| {
            let steps: Option<Vec<usize>> = steps.iter().map(|&k| rule_of[k]).collect();
            let until = match until {
                Some(k) => Some(rule_of[k]?),
                None => None,
            };
            Some((s, steps?, until))
        })
        .collect();
    correlator.seqs = super::Sequences::new(runnable, set.len(), super::DEFAULT_MAX_KEYS);
    errors.sort_by_key(|e| e.0);
    (set, correlator, errors)
}
