//! Groups, windows and firing: what each correlation does with a member.

use std::cmp::Reverse;

use super::{
    is_numeric, key_parts, push_part, scalar_text, single, Aggregate, Alert, Config, Corr, Group,
    MVal, Member, Mode, Recs, Skip,
};
use crate::eval::event::Val;
use crate::ir::{self, CmpOp, CorrelationType};

impl Corr {
    /// The group key and value of `event` as a member through source position `pos`.
    pub(super) fn member_of(&self, event: &Val<'_>, pos: usize) -> Result<(Box<str>, MVal), Skip> {
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

    pub(super) fn process(&mut self, m: Member, key: Box<str>, cfg: &Config, out: &mut Vec<Alert>) {
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
    pub(super) fn close(&mut self, clock: i64, end: bool, cfg: &Config, out: &mut Vec<Alert>) {
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
