//! Event coverage of a rule page: which events of which provider the rule runs on, read from
//! the log source and from the rule after the pipelines.
//!
//! Rows come from three places, each named in the row's `via`:
//!
//! - **the rule after the pipelines** (the report's `-p` / `--against-pipeline`, or an Elastic
//!   rule's own query): the top-level conditions that every matching event must meet on an
//!   event identifier field (`EventID`, `event.code`: the event; `Channel`, `winlog.channel`:
//!   the channel; `Provider_Name`, `event.provider`, `event.module`, `event.dataset`: the
//!   provider; `event.category`, `event.type`, `event.action`: the event kind) and the index
//!   patterns the pipeline routed it to (`Rule::state["index"]`) or the Elastic rule names;
//! - **Windows routing**: for a Sigma rule on `product: windows`, the rule through the shipped
//!   `sysmon` and `windows_logsources` pipelines (pySigma's Sysmon and Windows log source
//!   pipelines), whose added `EventID` / `Channel` conditions are read the same way;
//! - **Sysmon for Linux**: for a Sigma rule on `product: linux`, the Sysmon event of the
//!   category ([`SYSMON_LINUX`]; Sysmon for Linux writes the Sysmon event ids).
//!
//! A value is shown only when it is fixed by such a top-level condition (a conjunct, or an
//! `or` of values of one field); nothing is guessed from the rest of the rule.

use serde::Serialize;

use crate::coverage::indicators::describe;
use crate::ir::{self, Expr};

/// Sysmon for Linux event ids of Sigma's Linux categories (the Sysmon ids: 1 process
/// creation, 3 network connection, 5 process terminated, 11 file created, 23 file deleted).
pub const SYSMON_LINUX: &[(&str, u32)] = &[
    ("process_creation", 1),
    ("network_connection", 3),
    ("process_termination", 5),
    ("file_event", 11),
    ("file_create", 11),
    ("file_delete", 23),
];

/// One row of the event coverage table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventRow {
    /// Provider (or index patterns when that is all that names the source).
    pub provider: String,
    /// Event log channel.
    pub channel: String,
    /// The event: `Event ID 1`, `event.category: process`...
    pub event: String,
    /// Where the row comes from.
    pub via: String,
}

impl EventRow {
    fn is_empty(&self) -> bool {
        self.provider.is_empty() && self.channel.is_empty() && self.event.is_empty()
    }
}

enum Slot {
    Provider,
    Channel,
    EventId,
    Kind,
}

fn slot(field: &str) -> Option<Slot> {
    match field {
        "EventID" | "event.code" | "winlog.event_id" => Some(Slot::EventId),
        "Channel" | "winlog.channel" => Some(Slot::Channel),
        "Provider_Name"
        | "winlog.provider_name"
        | "event.provider"
        | "event.module"
        | "event.dataset" => Some(Slot::Provider),
        "event.category" | "event.type" | "event.action" => Some(Slot::Kind),
        _ => None,
    }
}

/// The values of one field fixed by `e` (a predicate or an `or` of predicates on one field
/// testing equality), with the field.
fn fixed(e: &Expr) -> Option<(String, Vec<String>)> {
    match e {
        Expr::Pred(p) => {
            let field = p.field.clone()?;
            let (kind, value, _) = describe(&p.test);
            (kind == "equals" || kind == "number").then(|| (field, vec![value]))
        }
        Expr::Or(xs) => {
            let mut field: Option<String> = None;
            let mut values = Vec::new();
            for x in xs {
                let (f, v) = fixed(x)?;
                if field.as_ref().is_some_and(|g| *g != f) {
                    return None;
                }
                field = Some(f);
                values.extend(v);
            }
            field.map(|f| (f, values))
        }
        Expr::And(_) | Expr::Not(_) => None,
    }
}

fn conjuncts<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::And(xs) => xs.iter().for_each(|x| conjuncts(x, out)),
        Expr::Or(_) | Expr::Not(_) | Expr::Pred(_) => out.push(e),
    }
}

fn push(to: &mut String, s: &str) {
    if to.split(", ").any(|x| x == s) {
        return;
    }
    if !to.is_empty() {
        to.push_str(", ");
    }
    to.push_str(s);
}

/// The row read from a rule's top-level conditions and routing state; `None` when they fix
/// nothing.
#[must_use]
pub fn from_rule(rule: &ir::Rule, via: &str) -> Option<EventRow> {
    let mut row = EventRow {
        via: via.to_string(),
        ..EventRow::default()
    };
    // Only what every condition of the rule requires (the first condition's conjuncts, kept
    // when each other condition has them too).
    let mut parts: Vec<&Expr> = Vec::new();
    if let Some(first) = rule.conditions.first() {
        conjuncts(first, &mut parts);
    }
    for c in rule.conditions.iter().skip(1) {
        let mut other = Vec::new();
        conjuncts(c, &mut other);
        parts.retain(|p| other.contains(p));
    }
    for part in parts {
        let Some((field, values)) = fixed(part) else {
            continue;
        };
        let Some(s) = slot(&field) else { continue };
        for v in values {
            match s {
                Slot::Provider => push(&mut row.provider, &v),
                Slot::Channel => push(&mut row.channel, &v),
                Slot::EventId => push(&mut row.event, &format!("Event ID {v}")),
                Slot::Kind => push(&mut row.event, &format!("{field}: {v}")),
            }
        }
    }
    if row.provider.is_empty() {
        let index: Vec<&str> = rule
            .state
            .get("index")
            .and_then(serde_json::Value::as_array)
            .map(|xs| xs.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default();
        if !index.is_empty() {
            row.provider = format!("index {}", index.join(", "));
        }
    }
    (!row.is_empty()).then_some(row)
}

/// The Sysmon for Linux row of a Linux log source, if its category has a Sysmon event.
#[must_use]
pub fn sysmon_linux(product: Option<&str>, category: Option<&str>) -> Option<EventRow> {
    if product != Some("linux") {
        return None;
    }
    let id = SYSMON_LINUX
        .iter()
        .find(|(c, _)| Some(*c) == category)
        .map(|(_, id)| *id)?;
    Some(EventRow {
        provider: "Sysmon-for-Linux".into(),
        channel: String::new(),
        event: format!("Event ID {id}"),
        via: "Sysmon for Linux (the Sysmon event ids)".into(),
    })
}

/// The row of an Elastic rule's index patterns, when its query fixed no provider.
#[must_use]
pub fn elastic_index(index: &[String]) -> Option<EventRow> {
    (!index.is_empty()).then(|| EventRow {
        provider: format!("index {}", index.join(", ")),
        channel: String::new(),
        event: String::new(),
        via: "the rule's index".into(),
    })
}
