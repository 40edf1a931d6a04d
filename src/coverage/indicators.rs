//! Indicators: the field, kind and value combinations a rule matches, and how many other rules
//! of a catalog test the same combination (seed 000's indicator table).
//!
//! An indicator is one positive leaf of a rule's conditions (a predicate not under a `not`:
//! exclusions are not what the rule looks for). Its **kind** names the test:
//!
//! | IR test | kind | value shown |
//! |---|---|---|
//! | string, no wildcard | `equals` | the text |
//! | string `text*` | `starts_with` | `text` |
//! | string `*text` | `ends_with` | `text` |
//! | string `*text*` | `match` (seed 000's name for a substring match) | `text` |
//! | string with inner wildcards or `?` | `wildcard` | the pattern (`*`, `?`) |
//! | string `*` | `any` | `*` |
//! | regex | `regex` | the regex |
//! | number | `number` | `4688`, `>= 5` |
//! | boolean, null, exists, CIDR | `bool`, `null`, `exists`, `cidr` | the value |
//! | field reference | `field_ref`, `field_contains`, `field_starts_with`, `field_ends_with` | the other field |
//! | time part | `time` | `hour >= 8` |
//!
//! A keyword search (no field) has the field `(keywords)`. Two indicators are **the same**
//! when field, kind and value are equal, the value compared case-insensitively unless the test
//! is case-sensitive (as the IR matches). A row groups a rule's indicators of one field and
//! kind; its corpus count is the number of *other* rules with at least one of its values,
//! each value also carrying its own count.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::Entry;
use crate::ir::{self, CmpOp, Expr, Predicate, RefMatch, Shape, Test, TimePart};

/// One indicator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Indicator {
    /// The field, or `(keywords)`.
    pub field: String,
    /// The kind (see the module docs).
    pub kind: &'static str,
    /// The value as written.
    pub value: String,
    /// Whether the value compares case-sensitively.
    pub cased: bool,
}

/// The key two indicators share when they are the same.
pub type Key = (String, &'static str, String);

impl Indicator {
    /// The comparison key: field, kind, value folded unless cased.
    #[must_use]
    pub fn key(&self) -> Key {
        let v = if self.cased {
            self.value.clone()
        } else {
            self.value.to_lowercase()
        };
        (self.field.clone(), self.kind, v)
    }
}

fn op(o: CmpOp) -> &'static str {
    match o {
        CmpOp::Eq => "==",
        CmpOp::Lt => "<",
        CmpOp::Lte => "<=",
        CmpOp::Gt => ">",
        CmpOp::Gte => ">=",
        CmpOp::Neq => "!=",
    }
}

fn part(p: TimePart) -> &'static str {
    match p {
        TimePart::Minute => "minute",
        TimePart::Hour => "hour",
        TimePart::Day => "day",
        TimePart::Week => "week",
        TimePart::Month => "month",
        TimePart::Year => "year",
    }
}

/// The kind, value and case-sensitivity of a test.
#[must_use]
pub fn describe(test: &Test) -> (&'static str, String, bool) {
    match test {
        Test::Str { pattern, cased } => {
            let (kind, value) = match pattern.shape() {
                Shape::Exact(s) => ("equals", s.to_string()),
                Shape::Prefix(s) => ("starts_with", s.to_string()),
                Shape::Suffix(s) => ("ends_with", s.to_string()),
                Shape::Contains(s) => ("match", s.to_string()),
                Shape::Any => ("any", "*".to_string()),
                Shape::Glob => ("wildcard", pattern.to_string()),
            };
            (kind, value, *cased)
        }
        Test::Regex { pattern, flags } => ("regex", pattern.clone(), !flags.ignore_case),
        Test::Num { op: o, value } => {
            let v = if *o == CmpOp::Eq {
                value.text.clone()
            } else {
                format!("{} {}", op(*o), value.text)
            };
            ("number", v, true)
        }
        Test::Bool(b) => ("bool", b.to_string(), true),
        Test::Null => ("null", "null".into(), true),
        Test::Exists(b) => ("exists", b.to_string(), true),
        Test::Cidr(c) => ("cidr", c.clone(), false),
        Test::FieldRef { field, how, .. } => {
            let kind = match how {
                RefMatch::Eq => "field_ref",
                RefMatch::Contains => "field_contains",
                RefMatch::StartsWith => "field_starts_with",
                RefMatch::EndsWith => "field_ends_with",
            };
            (kind, field.clone(), true)
        }
        Test::TimePart {
            part: p,
            op: o,
            value,
        } => (
            "time",
            format!("{} {} {}", part(*p), op(*o), value.text),
            true,
        ),
    }
}

fn indicator(p: &Predicate) -> Indicator {
    let (kind, value, cased) = describe(&p.test);
    Indicator {
        field: p.field.clone().unwrap_or_else(|| "(keywords)".into()),
        kind,
        value,
        cased,
    }
}

fn positive<'a>(e: &'a Expr, out: &mut Vec<&'a Predicate>) {
    match e {
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| positive(x, out)),
        Expr::Not(_) => {}
        Expr::Pred(p) => out.push(p),
    }
}

/// A rule's indicators, distinct, in order of first appearance.
#[must_use]
pub fn of_rule(rule: &ir::Rule) -> Vec<Indicator> {
    let mut preds = Vec::new();
    for c in &rule.conditions {
        positive(c, &mut preds);
    }
    let mut out: Vec<Indicator> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in preds {
        let i = indicator(p);
        if seen.insert(i.key()) {
            out.push(i);
        }
    }
    out
}

/// Which rules of a catalog hold each indicator.
#[derive(Debug, Clone, Default)]
pub struct Index {
    rules: HashMap<Key, Vec<usize>>,
    /// Each entry's indicators (empty when the entry has no IR rule).
    pub per_rule: Vec<Vec<Indicator>>,
}

impl Index {
    /// Indexes every entry with an IR rule.
    #[must_use]
    pub fn build(entries: &[Entry]) -> Self {
        let per_rule: Vec<Vec<Indicator>> = entries
            .iter()
            .map(|e| e.rule.as_ref().map(of_rule).unwrap_or_default())
            .collect();
        let mut rules: HashMap<Key, Vec<usize>> = HashMap::new();
        for (i, inds) in per_rule.iter().enumerate() {
            for ind in inds {
                rules.entry(ind.key()).or_default().push(i);
            }
        }
        Index { rules, per_rule }
    }

    /// The rules holding an indicator (ascending).
    #[must_use]
    pub fn rules(&self, key: &Key) -> &[usize] {
        self.rules.get(key).map_or(&[], Vec::as_slice)
    }

    /// The catalog's most shared indicators: (indicator key, rules holding it), most rules
    /// first, then by key; at most `n`.
    #[must_use]
    pub fn most_shared(&self, n: usize) -> Vec<(&Key, usize)> {
        let mut all: Vec<(&Key, usize)> = self.rules.iter().map(|(k, v)| (k, v.len())).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        all.truncate(n);
        all
    }
}

/// One value of a row with the number of other rules holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowValue {
    /// The value.
    pub value: String,
    /// Other rules of the catalog with the same field, kind and value.
    pub others: usize,
}

/// One row of a rule's indicator table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The field.
    pub field: String,
    /// The kind.
    pub kind: &'static str,
    /// The values, in the rule's order.
    pub values: Vec<RowValue>,
    /// Other rules of the catalog holding at least one of the values (same field and kind).
    pub others: usize,
}

/// The indicator table of `indicators` (a rule's, [`of_rule`]) against a catalog index;
/// `this` is the rule's own index in the catalog (not counted), if it is in it. Rows sorted
/// by field, then kind.
#[must_use]
pub fn table(indicators: &[Indicator], index: &Index, this: Option<usize>) -> Vec<Row> {
    let mut groups: BTreeMap<(String, &'static str), Vec<&Indicator>> = BTreeMap::new();
    for i in indicators {
        groups.entry((i.field.clone(), i.kind)).or_default().push(i);
    }
    groups
        .into_iter()
        .map(|((field, kind), inds)| {
            let mut union: Vec<usize> = Vec::new();
            let values = inds
                .iter()
                .map(|i| {
                    let holders = index.rules(&i.key());
                    union.extend(holders.iter().copied().filter(|&r| Some(r) != this));
                    let others = holders.iter().filter(|&&r| Some(r) != this).count();
                    RowValue {
                        value: i.value.clone(),
                        others,
                    }
                })
                .collect();
            union.sort_unstable();
            union.dedup();
            Row {
                field,
                kind,
                values,
                others: union.len(),
            }
        })
        .collect()
}

fn cell(s: &str) -> String {
    let s = s.replace('|', "\\|").replace('\n', " ");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// The table as markdown: Field, Kind, Values (each with its count), Corpus (the row's count).
#[must_use]
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from("| Field | Kind | Values | Corpus |\n|---|---|---|---|\n");
    for r in rows {
        let values: Vec<String> = r
            .values
            .iter()
            .map(|v| format!("{} ({})", cell(&v.value), v.others))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.field.replace('|', "\\|"),
            r.kind,
            values.join(", "),
            r.others
        ));
    }
    out
}

/// The catalog's most shared indicators as markdown: Field, Kind, Value, Rules.
#[must_use]
pub fn shared_markdown(shared: &[(&Key, usize)]) -> String {
    let mut out = String::from("| Field | Kind | Value | Rules |\n|---|---|---|---|\n");
    for ((field, kind, value), n) in shared {
        out.push_str(&format!(
            "| {} | {kind} | {} | {n} |\n",
            field.replace('|', "\\|"),
            cell(value)
        ));
    }
    out
}
