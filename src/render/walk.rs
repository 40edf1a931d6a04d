//! The one IR walk shared by every backend: an exhaustive match on [`Expr`] and [`Test`], a
//! snippet chosen by node kind and pattern shape from the backend data, values handed to the
//! snippet as objects that only the backend's escaping filters can write.

use std::cell::RefCell;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::context;
use minijinja::value::{Object, ObjectRepr, Value};

use super::escape::{Escape, Input, Refusal};
use super::regex::RegexValue;
use super::{Backend, Conversion, Options, REFUSAL};
use crate::error::{Error, ErrorKind, Result, Warning};
use crate::ir::{
    CmpOp, Correlation, CorrelationType, Expr, Pattern, Piece, Predicate, RefMatch, Rule, Shape,
    Test, TimePart,
};

thread_local! {
    static TEMPLATE_WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records a warning raised by a template's `warn(...)` during the current conversion.
pub(super) fn push_template_warning(msg: String) {
    TEMPLATE_WARNINGS.with(|w| w.borrow_mut().push(msg));
}

/// A wildcard pattern as a template value. Only escaping filters can write it.
#[derive(Debug)]
pub(super) struct PatternObj {
    pattern: Pattern,
    cased: bool,
}

impl Object for PatternObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "shape" => Some(Value::from(shape_key(&self.pattern))),
            "cased" => Some(Value::from(self.cased)),
            "has_wildcards" => Some(Value::from(self.pattern.has_wildcards())),
            "text" => match self.pattern.shape() {
                Shape::Exact(s) | Shape::Prefix(s) | Shape::Suffix(s) | Shape::Contains(s) => {
                    Some(Value::from_object(TextObj(s.to_string())))
                }
                Shape::Any | Shape::Glob => None,
            },
            _ => None,
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pattern)
    }
}

/// Literal text as a template value (the literal part of a simple pattern).
#[derive(Debug)]
pub(super) struct TextObj(String);

impl Object for TextObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A regex as a template value.
#[derive(Debug)]
pub(super) struct RegexObj(RegexValue);

impl Object for RegexObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.source)
    }
}

fn shape_key(p: &Pattern) -> &'static str {
    match p.shape() {
        Shape::Exact(_) => "eq",
        Shape::Prefix(_) => "prefix",
        Shape::Suffix(_) => "suffix",
        Shape::Contains(_) => "contains",
        Shape::Any => "any",
        Shape::Glob => "glob",
    }
}

/// The filter body: escapes a template value with `esc`.
pub(super) fn apply_escape(
    esc: &Escape,
    v: &Value,
) -> std::result::Result<Value, minijinja::Error> {
    let r = if let Some(p) = v.downcast_object_ref::<PatternObj>() {
        esc.apply(&Input::Pattern(&p.pattern, p.cased))
    } else if let Some(r) = v.downcast_object_ref::<RegexObj>() {
        esc.apply(&Input::Regex(&r.0))
    } else if let Some(t) = v.downcast_object_ref::<TextObj>() {
        esc.apply(&Input::Text(&t.0))
    } else if let Some(s) = v.as_str() {
        esc.apply(&Input::Text(s))
    } else if v.is_undefined() || v.is_none() {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::UndefinedError,
            format!("filter `{}` applied to an undefined value", esc.name()),
        ));
    } else {
        esc.apply(&Input::Text(&v.to_string()))
    };
    r.map(Value::from_safe_string).map_err(|Refusal(what)| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("{REFUSAL}{what}"),
        )
    })
}

/// The refusal text carried by a template error, if it is one.
fn refusal(e: &minijinja::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(me) = err.downcast_ref::<minijinja::Error>() {
            if let Some(d) = me.detail() {
                if let Some(i) = d.find(REFUSAL) {
                    return Some(d[i + REFUSAL.len()..].to_string());
                }
            }
        }
        cur = err.source();
    }
    None
}

/// Human names of the snippet keys, for "unsupported by X: <what>".
fn describe_key(key: &str) -> &'static str {
    match key {
        "eq" => "case-insensitive equality",
        "prefix" => "case-insensitive `startswith`",
        "suffix" => "case-insensitive `endswith`",
        "contains" => "case-insensitive `contains`",
        "glob" => "case-insensitive wildcard patterns",
        "any" => "the `*` wildcard alone (any value)",
        "eq_cased" => "case-sensitive equality (`cased`)",
        "prefix_cased" => "case-sensitive `startswith` (`cased`)",
        "suffix_cased" => "case-sensitive `endswith` (`cased`)",
        "contains_cased" => "case-sensitive `contains` (`cased`)",
        "glob_cased" => "case-sensitive wildcard patterns (`cased`)",
        "regex" => "regular expressions (`re`)",
        "num" => "numeric comparisons",
        "bool" => "boolean values",
        "null" => "null values",
        "exists" => "the `exists` modifier",
        "cidr" => "the `cidr` modifier",
        "fieldref" => "field references (`fieldref`)",
        "timepart" => "time-part modifiers (`minute`, `hour`, `day`, `week`, `month`, `year`)",
        _ => "this construct",
    }
}

/// Leaves that may join one value list: field, `cased`, exact.
type ListGroup = (Option<String>, bool, bool);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prec {
    Atom,
    And,
    Or,
}

struct Walker<'a> {
    b: &'a Backend,
    keyword_fields: Option<Vec<String>>,
    warnings: Vec<Warning>,
}

pub(super) fn convert(b: &Backend, rule: &Rule, opts: &Options) -> Result<Conversion> {
    TEMPLATE_WARNINGS.with(|w| w.borrow_mut().clear());
    let f = b.file();
    let keyword_fields = f.keywords.as_ref().map(|o| {
        opts.get(o)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    });
    let mut w = Walker {
        b,
        keyword_fields,
        warnings: Vec::new(),
    };
    let mut ctx: IndexMap<String, Value> = IndexMap::new();
    for (name, v) in &f.vars {
        ctx.insert(name.clone(), Value::from(resolve_var(v, rule, opts)?));
    }
    ctx.insert(
        "options".into(),
        Value::from_iter(
            opts.iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone()))),
        ),
    );
    ctx.insert(
        "rule".into(),
        context! { title => rule.meta.title.clone(), id => rule.meta.id.clone() },
    );
    let query = b
        .env
        .get_template("query")
        .map_err(|e| backend_err(b, "query", &e))?;
    let mut queries = Vec::with_capacity(rule.conditions.len());
    for c in &rule.conditions {
        let (cond, _) = w.expr(c, false)?;
        ctx.insert("condition".into(), Value::from_safe_string(cond));
        let q = query
            .render(Value::from_iter(ctx.clone()))
            .map_err(|e| template_err(b, "query", &e))?;
        queries.push(q);
    }
    let mut warnings = w.warnings;
    for m in TEMPLATE_WARNINGS.with(|t| std::mem::take(&mut *t.borrow_mut())) {
        if !warnings.iter().any(|x| x.message == m) {
            warnings.push(Warning {
                message: m,
                at: None,
            });
        }
    }
    Ok(Conversion { queries, warnings })
}

pub(super) fn convert_correlation(
    b: &Backend,
    corr: &Correlation,
    rules: &[&Rule],
    opts: &Options,
) -> Result<Conversion> {
    let kind = match corr.kind {
        CorrelationType::EventCount => "event_count",
        CorrelationType::ValueCount => "value_count",
        CorrelationType::Temporal => "temporal",
        CorrelationType::TemporalOrdered => "temporal_ordered",
        CorrelationType::ValueSum => "value_sum",
        CorrelationType::ValueAvg => "value_avg",
        CorrelationType::ValuePercentile => "value_percentile",
        CorrelationType::ValueMedian => "value_median",
    };
    let unsupported = |what: String| {
        Error::new(ErrorKind::Unsupported {
            target: b.name().to_string(),
            what,
        })
        .at("correlation")
    };
    let Some(snippet) = b
        .file()
        .correlation
        .all()
        .into_iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, s)| s.clone())
    else {
        return Err(unsupported(format!("`{kind}` correlation rules")));
    };
    let escape = |name: &str| {
        b.field
            .apply(&Input::Text(name))
            .map(Value::from_safe_string)
            .map_err(|Refusal(what)| unsupported(what))
    };
    let mut warnings: Vec<Warning> = Vec::new();
    let mut items = Vec::with_capacity(rules.len());
    for r in rules {
        let c = convert(b, r, opts)?;
        let [query] = c.queries.as_slice() else {
            return Err(unsupported(format!(
                "a correlated rule with {} conditions (`{}`)",
                c.queries.len(),
                r.meta.title
            )));
        };
        for w in c.warnings {
            if !warnings.iter().any(|x| x.message == w.message) {
                warnings.push(w);
            }
        }
        let mut by = Vec::new();
        for g in &corr.group_by {
            let field = corr
                .aliases
                .get(g)
                .and_then(|m| {
                    r.meta
                        .id
                        .as_ref()
                        .and_then(|id| m.get(id))
                        .or_else(|| r.meta.name.as_ref().and_then(|n| m.get(n)))
                })
                .unwrap_or(g);
            by.push(escape(field)?);
        }
        items.push(context! {
            query => Value::from_safe_string(query.clone()),
            by => by,
            title => r.meta.title.clone(),
        });
    }
    let group_by: Vec<Value> = corr
        .group_by
        .iter()
        .map(|g| escape(g))
        .collect::<Result<_>>()?;
    let fields: Vec<Value> = corr
        .field
        .iter()
        .map(|g| escape(g))
        .collect::<Result<_>>()?;
    let condition: Vec<Value> = corr
        .condition
        .iter()
        .map(|(op, n)| {
            let op = match op {
                CmpOp::Eq => "eq",
                CmpOp::Lt => "lt",
                CmpOp::Lte => "lte",
                CmpOp::Gt => "gt",
                CmpOp::Gte => "gte",
                CmpOp::Neq => "neq",
            };
            context! {
                op => op,
                count => n.as_i64(),
                value => Value::from_safe_string(number(&n.text).unwrap_or_default()),
            }
        })
        .collect();
    let ctx = context! {
        rules => items,
        rule_count => rules.len(),
        group_by => group_by,
        fields => fields,
        condition => condition,
        seconds => Value::from_safe_string(corr.timespan.seconds.to_string()),
        timespan => corr.timespan.text.clone(),
    };
    TEMPLATE_WARNINGS.with(|w| w.borrow_mut().clear());
    let mut last = None;
    for i in 0..snippet.templates().len() {
        let name = format!("correlation.{kind}.{i}");
        let t = b
            .env
            .get_template(&name)
            .map_err(|e| backend_err(b, &name, &e))?;
        match t.render(&ctx) {
            Ok(q) => {
                for m in TEMPLATE_WARNINGS.with(|t| std::mem::take(&mut *t.borrow_mut())) {
                    warnings.push(Warning {
                        message: m,
                        at: None,
                    });
                }
                return Ok(Conversion {
                    queries: vec![q],
                    warnings,
                });
            }
            Err(e) => match refusal(&e) {
                Some(r) => last = Some(r),
                None => return Err(backend_err(b, &name, &e)),
            },
        }
    }
    Err(unsupported(
        last.unwrap_or_else(|| format!("`{kind}` correlation rules")),
    ))
}

fn resolve_var(v: &super::VarSpec, rule: &Rule, opts: &Options) -> Result<String> {
    if let Some(k) = &v.state {
        if let Some(val) = rule.state.get(k) {
            return Ok(state_text(val));
        }
    }
    if let Some(o) = &v.option {
        if let Some(val) = opts.get(o) {
            return Ok(val.clone());
        }
    }
    if let Some(cat) = &rule.logsource.category {
        for (k, val) in &v.category {
            let hit = match k.strip_suffix('*') {
                Some(prefix) => cat.starts_with(prefix),
                None => cat == k,
            };
            if hit {
                return Ok(val.clone());
            }
        }
    }
    v.default.clone().ok_or_else(|| {
        Error::new(ErrorKind::Backend(
            "a template variable has no value and no default".into(),
        ))
    })
}

/// The text of a state value: strings as they are, lists (e.g. several index patterns) joined
/// with `,`, anything else as JSON.
fn state_text(val: &serde_json::Value) -> String {
    match val {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(xs) => xs.iter().map(state_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn backend_err(b: &Backend, what: &str, e: &minijinja::Error) -> Error {
    Error::new(ErrorKind::Backend(format!("{}: {what}: {e:#}", b.name())))
}

fn template_err(b: &Backend, what: &str, e: &minijinja::Error) -> Error {
    match refusal(e) {
        Some(r) => Error::new(ErrorKind::Unsupported {
            target: b.name().to_string(),
            what: r,
        }),
        None => backend_err(b, what, e),
    }
}

fn has_case(s: &str) -> (bool, bool) {
    let mut any = false;
    let mut non_ascii = false;
    for c in s.chars() {
        if c.is_lowercase() || c.is_uppercase() {
            any = true;
            if !c.is_ascii() {
                non_ascii = true;
            }
        }
    }
    (any, non_ascii)
}

impl Walker<'_> {
    fn warn(&mut self, msg: Option<&String>, at: &str, fields: &str) {
        if let Some(m) = msg {
            let m = m.replace("{fields}", fields);
            if !self.warnings.iter().any(|w| w.message == m) {
                self.warnings.push(Warning {
                    message: m,
                    at: (!at.is_empty()).then(|| at.to_string()),
                });
            }
        }
    }

    fn group(&self, s: String) -> Result<String> {
        self.token("group", s)
    }

    fn token(&self, name: &str, expr: String) -> Result<String> {
        let t = self
            .b
            .env
            .get_template(&format!("tokens.{name}"))
            .map_err(|e| backend_err(self.b, name, &e))?;
        t.render(context! { expr => Value::from_safe_string(expr) })
            .map_err(|e| template_err(self.b, name, &e))
    }

    fn expr(&mut self, e: &Expr, neg: bool) -> Result<(String, Prec)> {
        match e {
            Expr::And(xs) => {
                if xs.len() == 1 {
                    return self.expr(&xs[0], neg);
                }
                let mut parts = Vec::with_capacity(xs.len());
                for x in xs {
                    let (s, p) = self.expr(x, neg)?;
                    parts.push(if p == Prec::Or { self.group(s)? } else { s });
                }
                Ok((parts.join(&self.b.file().tokens.and), Prec::And))
            }
            Expr::Or(xs) => self.or(xs, neg),
            Expr::Not(x) => {
                let (s, p) = self.expr(x, true)?;
                let s = if p == Prec::Atom { s } else { self.group(s)? };
                Ok((self.token("not", s)?, Prec::Atom))
            }
            Expr::Pred(p) => self.pred(p, neg),
        }
    }

    /// The list snippet key for a predicate that can join a value list, with its group key.
    fn list_key(&self, x: &Expr) -> Option<(&'static str, ListGroup)> {
        let Expr::Pred(p) = x else { return None };
        let Test::Str { pattern, cased } = &p.test else {
            return None;
        };
        if pattern.placeholders().next().is_some() {
            return None;
        }
        let exact = pattern.as_literal().is_some();
        let key = match (exact, *cased) {
            (true, false) => "eq_list",
            (true, true) => "eq_list_cased",
            (false, false) => "pattern_list",
            (false, true) => "pattern_list_cased",
        };
        self.snippet(key)?;
        Some((key, (p.field.clone(), *cased, exact)))
    }

    fn or(&mut self, xs: &[Expr], neg: bool) -> Result<(String, Prec)> {
        // `or` is associative: nested `or`s join their parent, so value lists can form.
        if xs.iter().any(|x| matches!(x, Expr::Or(_))) {
            let mut flat = Vec::with_capacity(xs.len());
            flatten_or(xs, &mut flat);
            return self.or(&flat, neg);
        }
        if xs.len() == 1 {
            return self.expr(&xs[0], neg);
        }
        // Group leaves of the same field, case and exactness into value lists.
        let keys: Vec<_> = xs.iter().map(|x| self.list_key(x)).collect();
        let mut members: IndexMap<ListGroup, Vec<usize>> = IndexMap::new();
        for (i, k) in keys.iter().enumerate() {
            if let Some((_, g)) = k {
                members.entry(g.clone()).or_default().push(i);
            }
        }
        let mut parts = Vec::new();
        let mut done = vec![false; xs.len()];
        for i in 0..xs.len() {
            if done[i] {
                continue;
            }
            if let Some((key, g)) = &keys[i] {
                let idx = &members[g];
                if idx.len() > 1 {
                    let preds: Vec<&Predicate> = idx
                        .iter()
                        .map(|&j| match &xs[j] {
                            Expr::Pred(p) => p,
                            _ => unreachable!("list members are predicates"),
                        })
                        .collect();
                    if let Some(s) = self.list(key, &preds, neg)? {
                        for &j in idx {
                            done[j] = true;
                        }
                        parts.push(s);
                        continue;
                    }
                }
            }
            let (s, p) = self.expr(&xs[i], neg)?;
            done[i] = true;
            parts.push(if p == Prec::And { self.group(s)? } else { s });
        }
        if parts.len() == 1 {
            let s = parts.pop().unwrap_or_default();
            return Ok((s, Prec::Atom));
        }
        Ok((parts.join(&self.b.file().tokens.or), Prec::Or))
    }

    fn snippet(&self, key: &str) -> Option<usize> {
        self.b
            .file()
            .expr
            .all()
            .into_iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, s)| s.as_ref().map(|s| s.templates().len()))
    }

    /// Renders snippet `key`, trying its alternatives in order.
    fn render(&self, key: &str, ctx: &Value, at: &str) -> Result<String> {
        let locate = |e: Error| if at.is_empty() { e } else { e.at(at) };
        let Some(n) = self.snippet(key) else {
            return Err(locate(Error::new(ErrorKind::Unsupported {
                target: self.b.name().to_string(),
                what: describe_key(key).to_string(),
            })));
        };
        let mut last = None;
        for i in 0..n {
            let name = format!("expr.{key}.{i}");
            let t = self
                .b
                .env
                .get_template(&name)
                .map_err(|e| backend_err(self.b, &name, &e))?;
            match t.render(ctx) {
                Ok(s) => return Ok(s),
                Err(e) => match refusal(&e) {
                    Some(r) => last = Some(r),
                    None => return Err(locate(backend_err(self.b, &name, &e))),
                },
            }
        }
        Err(locate(Error::new(ErrorKind::Unsupported {
            target: self.b.name().to_string(),
            what: last.unwrap_or_else(|| describe_key(key).to_string()),
        })))
    }

    /// The escaped field names a predicate tests: its field, or the full-text fields.
    fn fields(&mut self, p: &Predicate) -> Result<Vec<String>> {
        let names: Vec<String> = match &p.field {
            Some(f) => vec![f.clone()],
            None => {
                let kw = self.keyword_fields.clone().unwrap_or_default();
                if kw.is_empty() {
                    let what = match &self.b.file().keywords {
                        Some(o) => format!(
                            "keyword (full-text) search without a full-text field (set -O {o}=FIELD)"
                        ),
                        None => "keyword (full-text) search".to_string(),
                    };
                    return Err(Error::new(ErrorKind::Unsupported {
                        target: self.b.name().to_string(),
                        what,
                    })
                    .at(&p.at));
                }
                let msg = self.b.file().warnings.keywords.clone();
                self.warn(msg.as_ref(), &p.at, &kw.join(", "));
                kw
            }
        };
        names
            .iter()
            .map(|n| {
                self.b
                    .field
                    .apply(&Input::Text(n))
                    .map_err(|Refusal(what)| {
                        Error::new(ErrorKind::Unsupported {
                            target: self.b.name().to_string(),
                            what,
                        })
                        .at(&p.at)
                    })
            })
            .collect()
    }

    fn case_warnings(&mut self, text: &str, at: &str) {
        let (any, non_ascii) = has_case(text);
        if any {
            let m = self.b.file().warnings.case_insensitive.clone();
            self.warn(m.as_ref(), at, "");
        }
        if non_ascii {
            let m = self.b.file().warnings.non_ascii_case.clone();
            self.warn(m.as_ref(), at, "");
        }
    }

    /// Renders `key` once per field; several fields (keywords) are joined with `or`.
    fn per_field(
        &mut self,
        p: &Predicate,
        key: &str,
        neg: bool,
        null_safe: bool,
        mut ctx: impl FnMut(Value) -> Value,
    ) -> Result<(String, Prec)> {
        let fields = self.fields(p)?;
        let mut parts = Vec::with_capacity(fields.len());
        for f in fields {
            let mut s = self.render(key, &ctx(Value::from_safe_string(f)), &p.at)?;
            if neg && null_safe && self.b.file().tokens.null_safe.is_some() {
                s = self.token("null_safe", s)?;
            }
            parts.push(s);
        }
        if parts.len() == 1 {
            return Ok((parts.pop().unwrap_or_default(), Prec::Atom));
        }
        Ok((parts.join(&self.b.file().tokens.or), Prec::Or))
    }

    fn list(&mut self, key: &str, preds: &[&Predicate], neg: bool) -> Result<Option<String>> {
        let first = preds[0];
        let mut values = Vec::with_capacity(preds.len());
        for p in preds {
            if let Test::Str { pattern, cased } = &p.test {
                if !cased {
                    self.case_warnings(&pattern.to_string(), &p.at);
                }
                values.push(Value::from_object(PatternObj {
                    pattern: pattern.clone(),
                    cased: *cased,
                }));
            }
        }
        let cased = matches!(first.test, Test::Str { cased: true, .. });
        let values = Value::from(values);
        match self.per_field(first, key, neg, true, |field| {
            context! { field => field, values => values.clone(), cased => cased }
        }) {
            Ok((s, Prec::Atom)) => Ok(Some(s)),
            Ok((s, _)) => Ok(Some(self.group(s)?)),
            Err(e) if matches!(e.kind, ErrorKind::Unsupported { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn pred(&mut self, p: &Predicate, neg: bool) -> Result<(String, Prec)> {
        let f = self.b.file();
        match &p.test {
            Test::Str { pattern, cased } => {
                if let Some(n) = pattern.placeholders().next() {
                    return Err(Error::new(ErrorKind::UnresolvedPlaceholder(n.to_string()))
                        .at(&p.at)
                        .hint("apply a pipeline that supplies the value list"));
                }
                let shape = shape_key(pattern);
                let key = match (shape, *cased) {
                    ("any", _) => "any".to_string(),
                    (s, true) => format!("{s}_cased"),
                    (s, false) => s.to_string(),
                };
                if !cased && shape != "any" {
                    self.case_warnings(&pattern.to_string(), &p.at);
                }
                let value = Value::from_object(PatternObj {
                    pattern: pattern.clone(),
                    cased: *cased,
                });
                self.per_field(p, &key, neg, true, |field| {
                    context! { field => field, value => value.clone(), cased => *cased }
                })
            }
            Test::Regex { pattern, flags } => {
                if let Err(e) = ::regex::Regex::new(pattern) {
                    return Err(Error::new(ErrorKind::InvalidRegex(e.to_string())).at(&p.at));
                }
                if ["\\d", "\\w", "\\s", "\\D", "\\W", "\\S"]
                    .iter()
                    .any(|c| pattern.contains(c))
                {
                    let m = f.warnings.regex_classes.clone();
                    self.warn(m.as_ref(), &p.at, "");
                }
                let rv = RegexValue::new(pattern, *flags);
                let fl = context! {
                    ignore_case => rv.flags.ignore_case,
                    multi_line => rv.flags.multi_line,
                    dot_all => rv.flags.dot_all,
                };
                let regex = Value::from_object(RegexObj(rv));
                self.per_field(p, "regex", neg, true, |field| {
                    context! { field => field, regex => regex.clone(), flags => fl.clone() }
                })
            }
            Test::Num { op, value } => {
                let num = number(&value.text).ok_or_else(|| {
                    Error::new(ErrorKind::InvalidValue {
                        expected: "a number".into(),
                        found: value.text.clone(),
                    })
                    .at(&p.at)
                })?;
                let op = Value::from_safe_string(self.cmp(*op, &p.at)?);
                self.per_field(p, "num", neg, true, |field| {
                    context! { field => field, op => op.clone(), value => Value::from_safe_string(num.clone()) }
                })
            }
            Test::Bool(b) => self.per_field(p, "bool", neg, true, |field| {
                context! { field => field, value => *b }
            }),
            Test::Null => self.per_field(p, "null", neg, false, |field| {
                context! { field => field }
            }),
            Test::Exists(b) => self.per_field(p, "exists", neg, false, |field| {
                context! { field => field, value => *b }
            }),
            Test::Cidr(net) => {
                let parsed: ipnet::IpNet = net.parse().map_err(|e| {
                    Error::new(ErrorKind::InvalidCidr(format!("{net}: {e}"))).at(&p.at)
                })?;
                let prefixes: Vec<Value> = ipv4_prefixes(&parsed)
                    .into_iter()
                    .map(|pattern| {
                        Value::from_object(PatternObj {
                            pattern,
                            cased: true,
                        })
                    })
                    .collect();
                let ipv6 = matches!(parsed.addr(), IpAddr::V6(_));
                let network = parsed.trunc().to_string();
                let prefixes = Value::from(prefixes);
                self.per_field(p, "cidr", neg, true, |field| {
                    context! { field => field, network => network.clone(), ipv6 => ipv6, prefixes => prefixes.clone() }
                })
            }
            Test::FieldRef { field, how, cased } => {
                if !cased {
                    let m = f.warnings.case_insensitive.clone();
                    self.warn(m.as_ref(), &p.at, "");
                }
                let other = self.fields(&Predicate {
                    field: Some(field.clone()),
                    test: Test::Null,
                    at: p.at.clone(),
                })?;
                let other = Value::from_safe_string(other.into_iter().next().unwrap_or_default());
                let how = match how {
                    RefMatch::Eq => "eq",
                    RefMatch::Contains => "contains",
                    RefMatch::StartsWith => "startswith",
                    RefMatch::EndsWith => "endswith",
                };
                self.per_field(p, "fieldref", neg, true, |f| {
                    context! { field => f, other => other.clone(), how => how, cased => *cased }
                })
            }
            Test::TimePart { part, op, value } => {
                let num = number(&value.text).ok_or_else(|| {
                    Error::new(ErrorKind::InvalidValue {
                        expected: "a number".into(),
                        found: value.text.clone(),
                    })
                    .at(&p.at)
                })?;
                let part = match part {
                    TimePart::Minute => "minute",
                    TimePart::Hour => "hour",
                    TimePart::Day => "day",
                    TimePart::Week => "week",
                    TimePart::Month => "month",
                    TimePart::Year => "year",
                };
                let op = Value::from_safe_string(self.cmp(*op, &p.at)?);
                self.per_field(p, "timepart", neg, true, |field| {
                    context! { field => field, part => part, op => op.clone(), value => Value::from_safe_string(num.clone()) }
                })
            }
        }
    }

    fn cmp(&self, op: CmpOp, at: &str) -> Result<String> {
        let c = &self.b.file().cmp;
        match op {
            CmpOp::Eq => Ok(c.eq.clone()),
            CmpOp::Lt => Ok(c.lt.clone()),
            CmpOp::Lte => Ok(c.lte.clone()),
            CmpOp::Gt => Ok(c.gt.clone()),
            CmpOp::Gte => Ok(c.gte.clone()),
            CmpOp::Neq => c.neq.clone().ok_or_else(|| {
                Error::new(ErrorKind::Unsupported {
                    target: self.b.name().to_string(),
                    what: "the `!=` comparison".into(),
                })
                .at(at)
            }),
        }
    }
}

fn flatten_or(xs: &[Expr], out: &mut Vec<Expr>) {
    for x in xs {
        match x {
            Expr::Or(ys) => flatten_or(ys, out),
            other => out.push(other.clone()),
        }
    }
}

/// A number in a canonical form every target reads (`4688`, `-1`, `0.5`), or `None`.
fn number(text: &str) -> Option<String> {
    if let Ok(i) = text.trim().parse::<i64>() {
        return Some(i.to_string());
    }
    let f: f64 = text.trim().parse().ok()?;
    f.is_finite().then(|| {
        let s = f.to_string();
        if s.contains('.') || s.contains('e') {
            s
        } else {
            format!("{s}.0")
        }
    })
}

/// IPv4 networks as address-text patterns (`10.*`, `192.168.0.*`, exact addresses); empty for
/// IPv6.
fn ipv4_prefixes(net: &ipnet::IpNet) -> Vec<Pattern> {
    let ipnet::IpNet::V4(n) = net else {
        return Vec::new();
    };
    let o = n.network().octets();
    let len = usize::from(n.prefix_len());
    let full = len / 8;
    let rem = len % 8;
    let head = |k: usize| -> String {
        o[..k]
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(".")
    };
    let mk = |text: String, exact: bool| {
        if exact {
            Pattern::literal(&text)
        } else {
            Pattern::new([Piece::Lit(text), Piece::AnyMany])
        }
    };
    if rem == 0 {
        return match full {
            0 => vec![Pattern::new([Piece::AnyMany])],
            4 => vec![mk(head(4), true)],
            k => vec![mk(format!("{}.", head(k)), false)],
        };
    }
    let base = o[full];
    let count = 1u16 << (8 - rem);
    (0..count)
        .map(|i| {
            let v = u16::from(base) + i;
            let mut text = head(full);
            if !text.is_empty() {
                text.push('.');
            }
            text.push_str(&v.to_string());
            if full == 3 {
                mk(text, true)
            } else {
                text.push('.');
                mk(text, false)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_canonical() {
        assert_eq!(number("4688").as_deref(), Some("4688"));
        assert_eq!(number("-1").as_deref(), Some("-1"));
        assert_eq!(number("0.5").as_deref(), Some("0.5"));
        assert_eq!(number("1e3").as_deref(), Some("1000.0"));
        assert_eq!(number("abc"), None);
    }

    #[test]
    fn ipv4_networks_become_prefixes() {
        let p = |s: &str| {
            ipv4_prefixes(&s.parse().unwrap())
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(p("10.0.0.0/8"), vec!["10.*"]);
        assert_eq!(p("192.168.0.0/23"), vec!["192.168.0.*", "192.168.1.*"]);
        assert_eq!(p("1.2.3.4/32"), vec!["1.2.3.4"]);
        assert_eq!(p("1.2.3.0/30").len(), 4);
        assert!(p("::1/128").is_empty());
    }
}
