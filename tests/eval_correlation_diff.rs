//! Differential test of the correlation stage: random event streams (bursts, jitter within the
//! lateness bound, shuffled arrival, many groups, missing group and value fields, events
//! matching several rules, chained correlations) run through the native engine
//! (`sigmat::eval::correlate`) and through the reference below, which follows
//! `docs/correlation-semantics.md` in the plainest way: sort every member by (time, record),
//! then per group either scan each member's trailing window over the unconsumed members
//! (sliding firing) or cut consecutive windows from each first free member (windowed firing),
//! computing every aggregate from scratch. The alerts must be the same. The `sqlite`
//! conversion of every correlation but the chained one, run on the same streams, must give
//! the native alerts too (`sql_correlation`).

mod common;
mod sql_correlation;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use sigmat::eval::correlate::{self, Config};
use sigmat::eval::Val;
use sigmat::session::Session;

const NS: i64 = 1_000_000_000;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// One generated event.
#[derive(Debug, Clone)]
struct Ev {
    time: i64,
    /// Which of the rules r1, r2, r3 it matches (fields a, b, c = "y").
    rules: [bool; 3],
    user: Option<String>,
    host: Option<String>,
    n: Option<Value>,
}

impl Ev {
    fn json(&self, rng: &mut Rng) -> String {
        let mut m = serde_json::Map::new();
        // The time in one of the accepted forms.
        let t = self.time;
        let form = rng.below(4);
        let ts = match form {
            0 => Value::String(correlate::format_time(t)),
            1 if t % 1_000_000 == 0 => json!(t / 1_000_000),
            2 if t % NS == 0 => json!(t / NS),
            _ => {
                // With an offset: the same instant written at +02:00.
                let s = correlate::format_time(t + 2 * 3600 * NS);
                Value::String(s.replace('Z', "+02:00"))
            }
        };
        m.insert("@timestamp".into(), ts);
        for (i, f) in ["a", "b", "c"].iter().enumerate() {
            if self.rules[i] {
                m.insert((*f).into(), "y".into());
            }
        }
        if let Some(u) = &self.user {
            m.insert("user".into(), u.clone().into());
        }
        if let Some(h) = &self.host {
            m.insert("host".into(), h.clone().into());
        }
        if let Some(n) = &self.n {
            m.insert("n".into(), n.clone());
        }
        Value::Object(m).to_string()
    }
}

const BASE: &str = r"
title: r1
name: r1
logsource: {product: test}
detection: {sel: {a: y}, condition: sel}
---
title: r2
name: r2
logsource: {product: test}
detection: {sel: {b: y}, condition: sel}
---
title: r3
name: r3
logsource: {product: test}
detection: {sel: {c: y}, condition: sel}
";

/// A correlation of the random rule set, as the reference reads it.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    kind: &'static str,
    rules: Vec<String>,
    group_by: Vec<&'static str>,
    span: i64,
    cond: Vec<(&'static str, f64)>,
    field: Option<&'static str>,
    percentile: Option<f64>,
}

impl Spec {
    fn yaml(&self) -> String {
        let cond: Vec<String> = self
            .cond
            .iter()
            .map(|(op, v)| format!("{op}: {v}"))
            .chain(self.field.map(|f| format!("field: {f}")))
            .chain(self.percentile.map(|p| format!("percentile: {p}")))
            .collect();
        format!(
            "title: {n}\nname: {n}\ngenerate: true\ncorrelation:\n  type: {k}\n  rules: [{r}]\n  group-by: [{g}]\n  timespan: {s}s\n  condition: {{{c}}}\n",
            n = self.name,
            k = self.kind,
            r = self.rules.join(", "),
            g = self.group_by.join(", "),
            s = self.span / NS,
            c = cond.join(", "),
        )
    }

    fn sliding(&self) -> bool {
        self.cond.iter().all(|(op, _)| matches!(*op, "gt" | "gte"))
            && matches!(
                self.kind,
                "event_count" | "value_count" | "temporal" | "temporal_ordered" | "value_sum"
            )
    }

    fn holds(&self, v: f64) -> bool {
        self.cond.iter().all(|&(op, t)| match op {
            "gt" => v > t,
            "gte" => v >= t,
            "lt" => v < t,
            "lte" => v <= t,
            "eq" => v == t,
            "neq" => v != t,
            _ => unreachable!("{op}"),
        })
    }
}

fn random_specs(rng: &mut Rng) -> Vec<Spec> {
    let mut specs = Vec::new();
    let span = |rng: &mut Rng| (1 + rng.below(30) as i64) * NS;
    let lower = |rng: &mut Rng, hi: u64| {
        let v = (1 + rng.below(hi)) as f64;
        if rng.chance(50) {
            vec![("gte", v)]
        } else {
            vec![("gt", v)]
        }
    };
    let any = |rng: &mut Rng, hi: u64| -> Vec<(&'static str, f64)> {
        let v = 1 + rng.below(hi);
        match rng.below(6) {
            0 => vec![("lt", v as f64)],
            1 => vec![("lte", v as f64)],
            2 => vec![("eq", v as f64)],
            3 => vec![("neq", v as f64)],
            4 => vec![("gt", v as f64), ("lte", (v + 1 + rng.below(4)) as f64)],
            _ => vec![("gte", v as f64)],
        }
    };
    let groups = |rng: &mut Rng| -> Vec<&'static str> {
        match rng.below(4) {
            0 => vec![],
            1 => vec!["user", "host"],
            _ => vec!["user"],
        }
    };
    let rules = |rng: &mut Rng| -> Vec<String> {
        let mut r: Vec<String> = ["r1", "r2", "r3"]
            .iter()
            .filter(|_| rng.chance(60))
            .map(|s| (*s).to_string())
            .collect();
        if r.is_empty() {
            r.push("r1".into());
        }
        r
    };
    let mk = |name: &str, kind, rules, group_by, span, cond, field, percentile| Spec {
        name: name.into(),
        kind,
        rules,
        group_by,
        span,
        cond,
        field,
        percentile,
    };
    let g = groups(rng);
    let s = span(rng);
    let c = if rng.chance(60) {
        lower(rng, 6)
    } else {
        any(rng, 6)
    };
    let r = rules(rng);
    specs.push(mk("ec", "event_count", r, g, s, c, None, None));
    let g = groups(rng);
    let s = span(rng);
    let c = if rng.chance(60) {
        lower(rng, 4)
    } else {
        any(rng, 4)
    };
    let r = rules(rng);
    specs.push(mk("vc", "value_count", r, g, s, c, Some("host"), None));
    let s = span(rng);
    let g = groups(rng);
    let c = lower(rng, 2);
    specs.push(mk(
        "tp",
        "temporal",
        vec!["r1".into(), "r2".into(), "r3".into()],
        g,
        s,
        c,
        None,
        None,
    ));
    let s = span(rng);
    let g = groups(rng);
    let c = if rng.chance(50) {
        vec![("gte", 3.0)]
    } else {
        any(rng, 3)
    };
    specs.push(mk(
        "to",
        "temporal_ordered",
        vec!["r1".into(), "r2".into(), "r3".into()],
        g,
        s,
        c,
        None,
        None,
    ));
    let s = span(rng);
    let g = groups(rng);
    let c = if rng.chance(60) {
        lower(rng, 60)
    } else {
        any(rng, 60)
    };
    let r = rules(rng);
    specs.push(mk("vs", "value_sum", r, g, s, c, Some("n"), None));
    let s = span(rng);
    let g = groups(rng);
    let c = any(rng, 20);
    let r = rules(rng);
    specs.push(mk("va", "value_avg", r, g, s, c, Some("n"), None));
    let s = span(rng);
    let g = groups(rng);
    let c = any(rng, 20);
    let r = rules(rng);
    let p = [0.0, 25.0, 50.0, 90.0, 100.0][rng.below(5) as usize];
    specs.push(mk("vp", "value_percentile", r, g, s, c, Some("n"), Some(p)));
    let s = span(rng);
    let g = groups(rng);
    let c = any(rng, 20);
    let r = rules(rng);
    specs.push(mk("vm", "value_median", r, g, s, c, Some("n"), None));
    // Chained: over the event_count (and sometimes the value_sum) alerts, grouped by user
    // when the inner ones have it.
    let inner_users = specs[0].group_by.contains(&"user");
    let mut inner = vec!["ec".to_string()];
    if specs[4].group_by == specs[0].group_by && rng.chance(50) {
        inner.push("vs".into());
    }
    let s = span(rng) * 3;
    let g = if inner_users { vec!["user"] } else { vec![] };
    let c = if rng.chance(60) {
        lower(rng, 2)
    } else {
        any(rng, 3)
    };
    specs.push(mk("chain", "event_count", inner, g, s, c, None, None));
    specs
}

fn random_stream(rng: &mut Rng) -> Vec<Ev> {
    let users = 1 + rng.below(12);
    let n = 50 + rng.below(250) as usize;
    let mut t: i64 = 1_700_000_000 * NS;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        // Bursts of events close together, then gaps.
        let burst = 1 + rng.below(8);
        for _ in 0..burst {
            let step = match rng.below(4) {
                0 => 0,
                1 => rng.below(1000) as i64 * 1_000_000,
                _ => rng.below(4) as i64 * NS,
            };
            t += step;
            let mut rules = [rng.chance(45), rng.chance(35), rng.chance(30)];
            if !rules.iter().any(|&b| b) {
                rules[rng.below(3) as usize] = true;
            }
            let user = (!rng.chance(7)).then(|| format!("u{}", rng.below(users)));
            let host = (!rng.chance(7)).then(|| format!("h{}", rng.below(4)));
            let n = match rng.below(12) {
                0 => None,
                1 => Some(json!("x")),
                2 => Some(json!(format!("{}", rng.below(10)))),
                3 => Some(json!(rng.below(20) as f64 + 0.5)),
                _ => Some(json!(rng.below(10))),
            };
            out.push(Ev {
                time: t,
                rules,
                user,
                host,
                n,
            });
        }
        t += rng.below(20) as i64 * NS;
    }
    out
}

/// A normalised alert for comparison.
type Key = (String, Vec<(String, String)>, String, i64, i64, Vec<u64>);

#[derive(Debug, Clone)]
struct Member {
    time: i64,
    from: i64,
    seq: u64,
    src: u32,
    rules: u64,
    val: Option<Value>,
    recs: Vec<u64>,
    group: Vec<(String, String)>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    }
}

fn fmt_value(v: f64) -> String {
    format!("{v:?}")
}

/// The reference: every alert of every correlation, in no particular order.
fn reference(specs: &[Spec], stream: &[(u64, Ev)]) -> Vec<Key> {
    let mut alerts_of: BTreeMap<String, Vec<(Member, Key)>> = BTreeMap::new();
    let mut all = Vec::new();
    for (si, spec) in specs.iter().enumerate() {
        let mut members: Vec<Member> = Vec::new();
        // Base events.
        for (seq, ev) in stream {
            let mut bits = 0u64;
            for (p, r) in spec.rules.iter().enumerate() {
                let hit = match r.as_str() {
                    "r1" => ev.rules[0],
                    "r2" => ev.rules[1],
                    "r3" => ev.rules[2],
                    _ => false,
                };
                if hit {
                    bits |= 1 << p;
                }
            }
            if bits == 0 {
                continue;
            }
            let fields: BTreeMap<&str, Value> = [
                ("user", ev.user.clone().map(Value::String)),
                ("host", ev.host.clone().map(Value::String)),
                ("n", ev.n.clone()),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            let Some(group) = spec
                .group_by
                .iter()
                .map(|g| fields.get(g).and_then(text).map(|t| ((*g).to_string(), t)))
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            let val = match spec.field {
                None => None,
                Some(f) => {
                    let Some(v) = fields.get(f) else { continue };
                    let usable = if spec.kind == "value_count" {
                        text(v).is_some()
                    } else {
                        num(v).is_some_and(f64::is_finite)
                    };
                    if !usable {
                        continue;
                    }
                    Some(v.clone())
                }
            };
            members.push(Member {
                time: ev.time,
                from: ev.time,
                seq: *seq,
                src: 0,
                rules: bits,
                val,
                recs: vec![*seq],
                group,
            });
        }
        // Inner correlations' alerts.
        for (p, r) in spec.rules.iter().enumerate() {
            if let Some(inner) = alerts_of.get(r) {
                let ii = specs.iter().position(|s| &s.name == r).expect("inner") as u32;
                for (m, _) in inner {
                    let group = spec
                        .group_by
                        .iter()
                        .map(|g| {
                            m.group
                                .iter()
                                .find(|(k, _)| k == g)
                                .map(|(_, v)| ((*g).to_string(), v.clone()))
                        })
                        .collect::<Option<Vec<_>>>();
                    let Some(group) = group else { continue };
                    members.push(Member {
                        src: ii + 1,
                        rules: 1 << p,
                        group,
                        ..m.clone()
                    });
                }
            }
        }
        members.sort_by_key(|m| (m.time, m.seq, m.src));
        let mut by_group: BTreeMap<Vec<(String, String)>, Vec<Member>> = BTreeMap::new();
        for m in members {
            by_group.entry(m.group.clone()).or_default().push(m);
        }
        let mut out = Vec::new();
        for (group, ms) in by_group {
            let mut fire = |w: &[Member]| {
                if let Some(v) = aggregate(spec, w) {
                    if spec.holds(v) {
                        let first = w.iter().map(|m| m.from).min().expect("members");
                        let lastm = w
                            .iter()
                            .max_by_key(|m| (m.time, m.seq))
                            .expect("members")
                            .clone();
                        let recs: Vec<u64> = w.iter().flat_map(|m| m.recs.clone()).collect();
                        let agg = if matches!(
                            spec.kind,
                            "event_count" | "value_count" | "temporal" | "temporal_ordered"
                        ) {
                            format!("count {v}")
                        } else {
                            format!("value {}", fmt_value(v))
                        };
                        let key: Key = (
                            spec.name.clone(),
                            group.clone(),
                            agg,
                            first,
                            lastm.time,
                            recs.clone(),
                        );
                        let as_member = Member {
                            time: lastm.time,
                            from: first,
                            seq: lastm.seq,
                            src: 0,
                            rules: 0,
                            val: None,
                            recs,
                            group: group.clone(),
                        };
                        out.push((as_member, key));
                        return true;
                    }
                }
                false
            };
            if spec.sliding() {
                let mut consumed = vec![false; ms.len()];
                for i in 0..ms.len() {
                    let idx: Vec<usize> = (0..=i)
                        .filter(|&j| !consumed[j] && ms[i].time - ms[j].time <= spec.span)
                        .collect();
                    let w: Vec<Member> = idx.iter().map(|&j| ms[j].clone()).collect();
                    if fire(&w) {
                        for j in idx {
                            consumed[j] = true;
                        }
                    }
                }
            } else {
                let mut i = 0;
                while i < ms.len() {
                    let start = ms[i].time;
                    let mut j = i;
                    while j < ms.len() && ms[j].time - start <= spec.span {
                        j += 1;
                    }
                    fire(&ms[i..j]);
                    i = j;
                }
            }
        }
        let _ = si;
        all.extend(out.iter().map(|(_, k)| k.clone()));
        alerts_of.insert(spec.name.clone(), out);
    }
    all
}

fn aggregate(spec: &Spec, w: &[Member]) -> Option<f64> {
    let nums: Vec<f64> = w
        .iter()
        .filter_map(|m| m.val.as_ref().and_then(num))
        .collect();
    Some(match spec.kind {
        "event_count" => w.len() as f64,
        "value_count" => w
            .iter()
            .filter_map(|m| m.val.as_ref().and_then(text))
            .collect::<BTreeSet<_>>()
            .len() as f64,
        "temporal" => (0..spec.rules.len())
            .filter(|&p| w.iter().any(|m| m.rules & (1 << p) != 0))
            .count() as f64,
        "temporal_ordered" => {
            // The longest prefix of the listed rules found in order, one member per step.
            let mut k = 0;
            for m in w {
                if k < spec.rules.len() && m.rules & (1 << k) != 0 {
                    k += 1;
                }
            }
            k as f64
        }
        "value_sum" => nums.iter().sum(),
        "value_avg" => {
            if nums.is_empty() {
                return None;
            }
            nums.iter().sum::<f64>() / nums.len() as f64
        }
        "value_percentile" | "value_median" => {
            if nums.is_empty() {
                return None;
            }
            let mut v = nums;
            v.sort_by(f64::total_cmp);
            let p = spec.percentile.unwrap_or(50.0);
            let rank = p / 100.0 * (v.len() - 1) as f64;
            let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
        }
        other => unreachable!("{other}"),
    })
}

/// Runs the native engine on the events in arrival order.
fn native(specs: &[Spec], arrival: &[(u64, String)], lateness: i64) -> (Vec<Key>, u64) {
    let mut yaml = BASE.to_string();
    for s in specs {
        yaml.push_str("---\n");
        yaml.push_str(&s.yaml());
    }
    let session = Session::builder().build().expect("session");
    let (docs, failures) = session.load_str(&yaml, "diff.yml").documents();
    assert!(failures.is_empty(), "{failures:?}\n{yaml}");
    let docs = docs.into_iter().map(|(_, d)| d).collect();
    let config = Config {
        max_lateness: lateness,
        max_records: usize::MAX,
        ..Config::default()
    };
    let (set, mut corr, errors) = correlate::compile_documents(docs, config);
    assert!(errors.is_empty(), "{errors:?}");
    let mut alerts = Vec::new();
    for (seq, line) in arrival {
        let ev = Val::parse(line).expect("event");
        let m = set.matches(&ev);
        if let Some(ex) = corr.extract(&ev, &m) {
            corr.push(*seq, ex, &mut alerts);
        }
    }
    corr.finish(&mut alerts);
    let keys = alerts
        .iter()
        .map(|a| {
            let j = corr.alert_json(a);
            let agg = match a.aggregate {
                correlate::Aggregate::Count(n) => format!("count {}", n as f64),
                correlate::Aggregate::Value(v) => format!("value {}", fmt_value(v)),
            };
            (
                j["correlation"].as_str().expect("label").to_string(),
                a.group.clone(),
                agg,
                a.first,
                a.last,
                a.records.clone(),
            )
        })
        .collect();
    (keys, corr.stats().late)
}

#[test]
fn native_equals_reference_on_random_streams() {
    let cases: u64 = std::env::var("SIGMAT_CORR_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let mut total_alerts = 0;
    let mut per_name: BTreeMap<String, usize> = BTreeMap::new();
    let mut sql_alerts: BTreeMap<String, usize> = BTreeMap::new();
    for case in 0..cases {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (case + 1).wrapping_mul(0x1234_5678_9ABC));
        let specs = random_specs(&mut rng);
        let events = random_stream(&mut rng);
        // Arrival: each event delayed by up to `jitter`, the lateness bound covering it.
        let jitter = rng.below(30) as i64 * NS;
        let mut arrival: Vec<(i64, usize)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let d = if jitter == 0 {
                    0
                } else {
                    rng.below(jitter as u64) as i64
                };
                (e.time + d, i)
            })
            .collect();
        arrival.sort();
        // Record numbers follow the arrival order.
        let mut numbered: Vec<(u64, Ev)> = Vec::new();
        let mut lines: Vec<(u64, String)> = Vec::new();
        for (k, &(_, i)) in arrival.iter().enumerate() {
            let seq = k as u64 + 1;
            numbered.push((seq, events[i].clone()));
            lines.push((seq, events[i].json(&mut rng)));
        }
        let (mut got, late) = native(&specs, &lines, jitter);
        assert_eq!(late, 0, "case {case}: the lateness bound covers the jitter");
        let mut want = reference(&specs, &numbered);
        got.sort();
        want.sort();
        if got != want {
            let only_got: Vec<_> = got.iter().filter(|k| !want.contains(k)).collect();
            let only_want: Vec<_> = want.iter().filter(|k| !got.contains(k)).collect();
            panic!(
                "case {case}: native and reference differ\nspecs: {specs:#?}\nonly native: {only_got:#?}\nonly reference: {only_want:#?}"
            );
        }
        // SQLite on every fifth stream (its recursive walk is the slow part of the test).
        if case % 5 == 0 {
            let yaml: String = std::iter::once(BASE.to_string())
                .chain(specs.iter().map(|s| format!("---\n{}", s.yaml())))
                .collect();
            let evs: Vec<(u64, Value)> = lines
                .iter()
                .map(|(n, l)| (*n, serde_json::from_str(l).expect("event")))
                .collect();
            for (k, n) in sql_correlation::sqlite_equals_native(&yaml, &evs) {
                *sql_alerts.entry(k).or_default() += n;
            }
        }
        total_alerts += got.len();
        for k in &got {
            *per_name.entry(k.0.clone()).or_default() += 1;
        }
    }
    // The streams must exercise every correlation, or the comparison says little.
    for name in ["ec", "vc", "tp", "to", "vs", "va", "vp", "vm", "chain"] {
        assert!(
            per_name.get(name).copied().unwrap_or(0) > 0,
            "no `{name}` alert in {cases} cases: {per_name:?}"
        );
    }
    for name in ["ec", "vc", "tp", "to", "vs", "va", "vp", "vm"] {
        assert!(
            sql_alerts.get(name).copied().unwrap_or(0) > 0,
            "no `{name}` alert compared with SQLite: {sql_alerts:?}"
        );
    }
    eprintln!("{total_alerts} alerts compared: {per_name:?}; with SQLite: {sql_alerts:?}");
}
