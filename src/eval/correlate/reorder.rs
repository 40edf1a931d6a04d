//! Extraction of what the stage needs of an event, and the reorder buffer that releases
//! events in event-time order to the correlations.

use std::cmp::Reverse;

use super::{
    parse_time, single, Alert, Buffered, Correlator, Extracted, Item, Member, Pending, Recs, Skip,
};
use crate::eval::event::Val;

impl Correlator {
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
        let seq_items = if self.seqs.is_empty() {
            Vec::new()
        } else {
            self.seqs.extract(event, matched)
        };
        if items.is_empty() && seq_items.is_empty() {
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
            seq_items,
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
            seq_items: ex.seq_items,
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
        self.seqs.finish();
    }

    fn release(&mut self, b: Buffered, out: &mut Vec<Alert>) {
        self.released = b.ts;
        self.advance(b.ts, false, out);
        if !b.seq_items.is_empty() {
            self.seqs.advance(b.ts);
            self.seqs.process(b.ts, b.seq, b.seq_items);
        }
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
}
