//! The intermediate rule model (IR): what a Sigma rule *means*, independent of YAML and of any
//! backend. Every other stage meets here: the Sigma front end produces it, pipelines rewrite it,
//! the renderer turns it into queries and the evaluator compiles it into matchers.
//!
//! # Semantics
//!
//! This section is the single definition of what a rule matches. Every backend either preserves
//! it on its engine or refuses the rule with a typed error or an explicit warning.
//!
//! **Events.** An event is a JSON object. A [`Predicate`] names a field; the field name is a key
//! path: `process.name` is found both as the flat key `"process.name"` and as the nested object
//! path `process` → `name` (the literal flat key wins when both exist). A field is *missing* when
//! no such key exists; a field whose value is JSON `null` is *null*.
//!
//! **Arrays.** When a field holds an array, the predicate holds when it holds for *any* element
//! (nested arrays are flattened).
//!
//! **Boolean structure.** [`Expr::And`] holds when all children hold, [`Expr::Or`] when any
//! does, [`Expr::Not`] when its child does not. Logic is two-valued: a predicate on a missing
//! field is simply *false*, so `not (Image endswith '\x.exe')` is *true* on an event without
//! `Image`. (SQL engines need NULL-safe negation to preserve this.)
//!
//! **String tests** ([`Test::Str`]). The value is a [`Pattern`]: literal text with the
//! wildcards `*` (any sequence, possibly empty) and `?` (exactly one character). The pattern
//! must match the *whole* field value (contains / startswith / endswith are expressed with `*`
//! pieces). Matching is case-insensitive (Unicode simple case folding) unless `cased` is set.
//! A JSON number or boolean is tested through its JSON text (`4688`, `true`).
//!
//! **Regular expressions** ([`Test::Regex`]). The regex (Rust `regex` / RE2 syntax, a superset
//! of Sigma's PCRE subset) is *unanchored*: it holds when it matches anywhere in the value.
//! Case-sensitive unless the `i` flag is set.
//!
//! **Numbers** ([`Test::Num`]). The value's text is kept (`Number::text`: integers as written,
//! floats in their shortest form; an unquoted `00000429` is a string, as in PyYAML). It holds for
//! a JSON number, or a string holding a number, whose numeric value compares as `op` says.
//!
//! **Booleans** ([`Test::Bool`]) hold for JSON `true`/`false`, or the strings `true`/`false`
//! in any case.
//!
//! **Null and exists.** A field *has a value* when it resolves to at least one value that is not
//! JSON `null`, arrays counted through their (flattened) elements. A JSON `null` is therefore
//! absent, as every target stores it (Elasticsearch indexes neither `null` nor `[]` nor
//! `[null]`; a JSON `null` is SQL `NULL`): `{"a": null}`, `{"a": []}` and `{"a": [null]}` are
//! all like `{}`, while `{"a": [null, "x"]}` has a value. **Exists** ([`Test::Exists`]) with
//! `true` holds when the field has a value, with `false` when it has none. **Null**
//! ([`Test::Null`]) holds when the field has no value (missing or `null`): the same as
//! `exists: false`.
//!
//! **CIDR** ([`Test::Cidr`]) holds for a string holding an IPv4 or IPv6 address inside the
//! network.
//!
//! **Field references** ([`Test::FieldRef`]) compare the field with another field of the same
//! event: equal, or containing / starting / ending with the other field's value;
//! case-insensitive unless `cased`. False when either field is missing.
//!
//! **Time parts** ([`Test::TimePart`]) read the field as a timestamp (RFC 3339, or
//! `YYYY-MM-DD HH:MM:SS[.fff]`, taken as given, no time-zone conversion), take the part
//! (minute, hour, day of month, ISO week, month, year) and compare it as a number.
//!
//! **Caseless fields.** A field named `X.caseless` is Elastic's index-time lower-cased
//! multi-field of `X` (the `ecs_windows` pipeline maps Sigma fields to them, as pySigma's
//! does): no event document contains it. It is read as `X` compared case-insensitively: string
//! patterns and field references as if `cased` were unset, regexes as if with the `i` flag;
//! other tests as on `X` ([`caseless`]). The evaluator and the analysis both read it so.
//!
//! **Keywords.** A predicate with `field: None` is a keyword search: it holds when its test holds
//! for *any* string value anywhere in the event (a backend searches its configured full-text
//! field instead). The front end writes plain keyword values as `contains` patterns (`*value*`).
//!
//! **Placeholders.** A [`Piece::Placeholder`] (from the `expand` modifier) stands for a value
//! list supplied by a pipeline. A rule that still holds one cannot be rendered or evaluated: the
//! stage reports [`crate::error::ErrorKind::UnresolvedPlaceholder`].
//!
//! **Expansions** are explicit: `windash`, `base64offset` and the encodings are already turned
//! into an [`Expr::Or`] of literal patterns, `1 of` / `all of` into `Or` / `And`, and `neq`
//! into `Not`.
//!
//! **Correlations** ([`Correlation`]) count, compare or sequence the matches of other rules per
//! group of field values within a timespan. Their meaning (timestamps, event-time order and
//! lateness, the inclusive timespan, members and group keys, aliases, sliding and windowed
//! firing and what an alert consumes, chaining, `generate`, every type) is written down in
//! `docs/correlation-semantics.md`; the native evaluator (`eval::correlate`) implements it and
//! is the reference backends are checked against.
//!
//! **Sequences** ([`Sequence`], from EQL `sequence`) match ordered series of events joined on
//! key fields within `maxspan`, with `until`, `runs` and missing steps, as Elasticsearch's
//! per-key state machine does: `docs/sequence-semantics.md` (implemented by `eval::correlate`).
//!
//! **Elastic fields.** `X.caseless` (an index-time lower-case copy events lack) is read as `X`
//! with every string test case-insensitive. On analyzed text fields (`message`, `X.text`
//! (read from `X`), `powershell.file.script_block_text`) Elasticsearch matches the standard
//! analyzer's tokens (UAX #29 words, lower-cased), not the value: the KQL reader lowers a
//! quoted value to a case-insensitive [`Test::Regex`] that holds where the value's tokens are
//! consecutive (`match_phrase`), an unquoted one to an [`Expr::Or`] of one such regex per
//! token (`match`), with a warning that the regex follows the word boundaries approximately
//! (`docs/text-fields.md` defines the clause's meaning and where the regex differs). EQL
//! refuses text fields, as Elasticsearch does.

mod caseless;
mod correlation;
mod pattern;
mod regex_check;
mod sequence;

pub use caseless::caseless;
pub use correlation::{Correlation, CorrelationType, Timespan};

pub use pattern::{Pattern, Piece, Shape};
pub use regex_check::{build_regex, check_regex, RegexProblem};
pub use sequence::{JoinKey, Maxspan, Sequence, Step};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// One YAML document of a Sigma file, lowered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Document {
    /// A detection rule.
    Rule(Rule),
    /// A correlation rule over other rules.
    Correlation(Correlation),
    /// A filter (`filter:` document) to be applied to other rules.
    Filter(Filter),
    /// An ordered sequence of events (EQL `sequence`).
    Sequence(Sequence),
}

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Origin {
    /// The file, as given on the command line or found by walking a folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Index of the YAML document in the file (0 for single-document files).
    #[serde(default)]
    pub document: usize,
}

/// Rule metadata shared by rules, correlations and filters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Meta {
    /// `title`.
    pub title: String,
    /// `id` (a UUID in well-formed rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `name`, the handle correlations may use instead of `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `license` (SPDX id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// `author`, as written (several authors are comma-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// `references`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// `date`, `YYYY-MM-DD` (the legacy `YYYY/MM/DD` is normalised to dashes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `modified`, same format as `date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// `tags`, e.g. `attack.t1059.001`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `related`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// `falsepositives`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub falsepositives: Vec<String>,
    /// `level`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// `fields`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// `scope`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// `taxonomy` (absent means `sigma`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy: Option<String>,
    /// Every other top-level key, kept as written (e.g. `regression_tests_path`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub custom: IndexMap<String, serde_json::Value>,
}

/// Rule maturity (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `stable`
    Stable,
    /// `test`
    Test,
    /// `experimental`
    Experimental,
    /// `deprecated`
    Deprecated,
    /// `unsupported`
    Unsupported,
}

/// Rule severity (`level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// `informational`
    Informational,
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

/// An entry of `related`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    /// The related rule's id.
    pub id: String,
    /// `derived`, `obsolete` (v1 `obsoletes`), `merged`, `renamed` or `similar`.
    #[serde(rename = "type")]
    pub kind: RelationType,
}

/// `related[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationType {
    /// `derived`
    Derived,
    /// `obsolete` (also read from the v1 spelling `obsoletes`)
    Obsolete,
    /// `merged`
    Merged,
    /// `renamed`
    Renamed,
    /// `similar`
    Similar,
}

/// `logsource`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogSource {
    /// `category`, e.g. `process_creation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `product`, e.g. `windows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// `service`, e.g. `security`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `definition`: free text, never evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// Any other keys.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub custom: IndexMap<String, String>,
}

/// A detection rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Metadata.
    pub meta: Meta,
    /// `logsource`.
    pub logsource: LogSource,
    /// The rule's condition(s), selections and `x of` expanded. Usually one; a YAML list
    /// condition gives several, each a query of its own. The rule matches an event when any
    /// of them holds.
    pub conditions: Vec<Expr>,
    /// State set by processing pipelines (pySigma `set_state`), read by backends and output
    /// formats, e.g. `index` or `eql_category`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub state: IndexMap<String, serde_json::Value>,
    /// Ids of the processing items applied to this rule, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<String>,
    /// Where the rule came from.
    #[serde(default)]
    pub origin: Origin,
}

/// A boolean expression over leaf predicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// All children hold. Never empty.
    And(Vec<Expr>),
    /// Any child holds. Never empty.
    Or(Vec<Expr>),
    /// The child does not hold.
    Not(Box<Expr>),
    /// A leaf test on one field (or on the keywords).
    Pred(Predicate),
}

/// A leaf: a test applied to one field, or to every string value (keywords).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predicate {
    /// The field name; `None` for a keyword search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What must hold of the field's value.
    pub test: Test,
    /// Where the predicate was written, as a key path such as
    /// `detection.selection.Image|endswith[2]`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub at: String,
}

/// What a predicate tests. See the module docs for the exact meaning of each kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// The whole value matches the pattern (wildcards `*`, `?`).
    Str {
        /// The pattern.
        pattern: Pattern,
        /// Case-sensitive (`cased` modifier).
        #[serde(default, skip_serializing_if = "is_false")]
        cased: bool,
    },
    /// The regex matches somewhere in the value.
    Regex {
        /// The regular expression as written (flags are separate).
        pattern: String,
        /// Flags from the `i`, `m`, `s` sub-modifiers.
        #[serde(default, skip_serializing_if = "RegexFlags::is_empty")]
        flags: RegexFlags,
    },
    /// A numeric comparison.
    Num {
        /// The comparison.
        op: CmpOp,
        /// The right-hand side.
        value: Number,
    },
    /// A boolean value.
    Bool(bool),
    /// The field is missing or null.
    Null,
    /// The field has a value (`true`) or has none (`false`); JSON `null` is no value.
    Exists(bool),
    /// The value is an IP address inside the network.
    Cidr(String),
    /// The value compares with another field of the same event.
    FieldRef {
        /// The other field.
        field: String,
        /// How they compare.
        #[serde(default, skip_serializing_if = "RefMatch::is_eq")]
        how: RefMatch,
        /// Case-sensitive (`cased`).
        #[serde(default, skip_serializing_if = "is_false")]
        cased: bool,
    },
    /// A part of a timestamp compared with a number.
    TimePart {
        /// Which part.
        part: TimePart,
        /// The comparison.
        op: CmpOp,
        /// The right-hand side.
        value: Number,
    },
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// Regex flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct RegexFlags {
    /// `i`: case-insensitive.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
    /// `m`: `^`/`$` match at line boundaries.
    #[serde(default, skip_serializing_if = "is_false")]
    pub multi_line: bool,
    /// `s`: `.` matches newlines.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dot_all: bool,
}

impl RegexFlags {
    /// No flag set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !(self.ignore_case || self.multi_line || self.dot_all)
    }
}

/// A numeric comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    /// `==` (a plain number value)
    Eq,
    /// `<` (`lt`)
    Lt,
    /// `<=` (`lte`)
    Lte,
    /// `>` (`gt`)
    Gt,
    /// `>=` (`gte`)
    Gte,
    /// `!=` (`neq`, correlation conditions only; the `neq` value modifier becomes
    /// [`Expr::Not`])
    Neq,
}

impl CmpOp {
    /// Applies the operator to an ordering of `lhs` against `rhs`.
    #[must_use]
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            CmpOp::Eq => ord == Equal,
            CmpOp::Lt => ord == Less,
            CmpOp::Lte => ord != Greater,
            CmpOp::Gt => ord == Greater,
            CmpOp::Gte => ord != Less,
            CmpOp::Neq => ord != Equal,
        }
    }
}

/// How a field reference compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefMatch {
    /// Equal values.
    #[default]
    Eq,
    /// The field contains the other field's value.
    Contains,
    /// The field starts with the other field's value.
    StartsWith,
    /// The field ends with the other field's value.
    EndsWith,
}

impl RefMatch {
    #[allow(clippy::trivially_copy_pass_by_ref)]
    fn is_eq(&self) -> bool {
        *self == RefMatch::Eq
    }
}

/// A part of a timestamp (Sigma 2.1 time modifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimePart {
    /// 0-59
    Minute,
    /// 0-23
    Hour,
    /// Day of month, 1-31
    Day,
    /// ISO week, 1-53
    Week,
    /// 1-12
    Month,
    /// The year
    Year,
}

/// A number from the rule, kept as text so a backend writes it back exactly as the rule did
/// wherever a string is needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Number {
    /// The text: integers as written (`4688`, `-1`), floats in their shortest form (`1.50` is
    /// `1.5`).
    pub text: String,
}

impl Number {
    /// A number from its text. The text must parse as [`f64`].
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Number { text: text.into() }
    }

    /// The numeric value.
    #[must_use]
    pub fn as_f64(&self) -> f64 {
        self.text.parse().unwrap_or(f64::NAN)
    }

    /// The value as an integer, if it is one.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        self.text.parse().ok()
    }
}

/// A Sigma filter document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// Metadata.
    pub meta: Meta,
    /// The log source a rule must fall under for the filter to apply.
    pub logsource: LogSource,
    /// The rules (ids or names) the filter applies to; empty means `any`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// The filter condition, selections expanded. Applying the filter ANDs it to each
    /// condition of the rule.
    pub condition: Expr,
    /// Where it came from.
    #[serde(default)]
    pub origin: Origin,
}

impl LogSource {
    /// Whether `self` (a filter's or pipeline's log source) covers `rule`'s: every key set on
    /// `self` is set to the same value on `rule`.
    #[must_use]
    pub fn covers(&self, rule: &LogSource) -> bool {
        fn ok(want: Option<&String>, have: Option<&String>) -> bool {
            want.is_none_or(|w| have == Some(w))
        }
        ok(self.category.as_ref(), rule.category.as_ref())
            && ok(self.product.as_ref(), rule.product.as_ref())
            && ok(self.service.as_ref(), rule.service.as_ref())
    }
}

impl Filter {
    /// Whether this filter applies to `rule`: the rule is listed (by id or name, or the list
    /// is empty) and its log source is covered.
    #[must_use]
    pub fn applies_to(&self, rule: &Rule) -> bool {
        let listed = self.rules.is_empty()
            || self.rules.iter().any(|r| {
                rule.meta.id.as_deref() == Some(r.as_str())
                    || rule.meta.name.as_deref() == Some(r.as_str())
            });
        listed && self.logsource.covers(&rule.logsource)
    }

    /// ANDs the filter's condition to every condition of `rule`.
    pub fn apply(&self, rule: &mut Rule) {
        for c in &mut rule.conditions {
            let old = std::mem::replace(c, Expr::And(Vec::new()));
            *c = Expr::And(vec![old, self.condition.clone()]);
        }
    }
}

impl Expr {
    /// Calls `f` on every predicate, depth first, left to right.
    pub fn for_each_pred<'a>(&'a self, f: &mut impl FnMut(&'a Predicate)) {
        match self {
            Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| x.for_each_pred(f)),
            Expr::Not(x) => x.for_each_pred(f),
            Expr::Pred(p) => f(p),
        }
    }

    /// Calls `f` on every predicate, mutably.
    pub fn for_each_pred_mut(&mut self, f: &mut impl FnMut(&mut Predicate)) {
        match self {
            Expr::And(xs) | Expr::Or(xs) => xs.iter_mut().for_each(|x| x.for_each_pred_mut(f)),
            Expr::Not(x) => x.for_each_pred_mut(f),
            Expr::Pred(p) => f(p),
        }
    }

    /// `And` of `xs`, or the single element itself. `xs` must not be empty.
    #[must_use]
    pub fn and(mut xs: Vec<Expr>) -> Expr {
        if xs.len() == 1 {
            xs.pop().expect("one element")
        } else {
            Expr::And(xs)
        }
    }

    /// `Or` of `xs`, or the single element itself. `xs` must not be empty.
    #[must_use]
    pub fn or(mut xs: Vec<Expr>) -> Expr {
        if xs.len() == 1 {
            xs.pop().expect("one element")
        } else {
            Expr::Or(xs)
        }
    }
}

impl Test {
    /// The other field a [`Test::FieldRef`] compares with; `None` for every other kind.
    #[must_use]
    pub fn other_field(&self) -> Option<&str> {
        match self {
            Test::FieldRef { field, .. } => Some(field),
            Test::Str { .. }
            | Test::Regex { .. }
            | Test::Num { .. }
            | Test::Bool(_)
            | Test::Null
            | Test::Exists(_)
            | Test::Cidr(_)
            | Test::TimePart { .. } => None,
        }
    }
}

impl Rule {
    /// Every distinct field name the rule tests, in order of first use (keywords excluded).
    #[must_use]
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.conditions {
            c.for_each_pred(&mut |p| {
                let names = p
                    .field
                    .iter()
                    .map(String::as_str)
                    .chain(p.test.other_field());
                for n in names {
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
            });
        }
        out
    }
}
