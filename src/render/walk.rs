//! The one IR walk shared by every backend: an exhaustive match on [`Expr`], boolean
//! structure from the backend's `tokens:`, leaves of one field under one `or` joined into
//! value lists where the backend has list snippets, and every leaf rendered by the snippet
//! its kind and shape choose (`leaf.rs`). Warnings are collected per conversion: the walker's
//! own (from `warnings:`), then those the templates raised, each message once.

use indexmap::IndexMap;
use minijinja::context;
use minijinja::value::Value;

use super::snippet::{self, Rendered, Tried};
use super::values::PatternObj;
use super::{vars, Backend, Conversion, Options};
use crate::error::{Error, ErrorKind, Result, Warning};
use crate::ir::{Expr, Predicate, Rule, Test};

/// Leaves that may join one value list: field, `cased`, exact.
type ListGroup = (Option<String>, bool, bool);

/// How an expression binds: what needs parentheses inside `and` / `or`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Prec {
    Atom,
    And,
    Or,
}

/// One conversion's walk over a rule.
pub(super) struct Walker<'a> {
    pub(super) b: &'a Backend,
    /// The full-text fields for keyword searches (`None`: the backend has no `keywords:`).
    pub(super) keyword_fields: Option<Vec<String>>,
    /// The walker's own warnings, in order, each message once.
    warnings: Vec<Warning>,
    /// Messages of the templates' `warn(...)`, in the order of their renders.
    raised: Vec<String>,
    /// Selection bodies (backends with `selections:`), by marker number.
    pub(super) leaves: Vec<super::selection::Leaf>,
}

/// Converts a rule: one query per condition (see [`Backend::convert`]).
pub(super) fn convert(b: &Backend, rule: &Rule, opts: &Options) -> Result<Conversion> {
    convert_parts(b, rule, opts).map(|(c, _)| c)
}

/// Converts a rule, and gives each condition's rendered expression (the query template's
/// `condition`) beside its query: correlation snippets build on either.
pub(super) fn convert_parts(
    b: &Backend,
    rule: &Rule,
    opts: &Options,
) -> Result<(Conversion, Vec<String>)> {
    let f = b.file();
    let mut w = Walker::new(b, vars::keyword_fields(f, opts));
    let mut ctx = vars::query_context(f, rule, opts)?;
    if let Some(sel) = &f.selections {
        let mut conds = Vec::with_capacity(rule.conditions.len());
        for c in &rule.conditions {
            conds.push(w.expr(c, false)?.0);
        }
        let (conds, selections) = w.name_selections(conds, sel);
        let texts = conds.clone();
        let conds: Vec<Value> = conds.into_iter().map(Value::from_safe_string).collect();
        ctx.insert(
            "condition".into(),
            conds.first().cloned().unwrap_or_default(),
        );
        ctx.insert("conditions".into(), Value::from(conds));
        ctx.insert("selections".into(), Value::from(selections));
        let q = snippet::render_named(b, "query", "query", &Value::from_iter(ctx))?;
        let q = w.keep(q);
        let conv = Conversion {
            queries: vec![q],
            warnings: w.finish(),
        };
        return Ok((conv, texts));
    }
    let mut queries = Vec::with_capacity(rule.conditions.len());
    let mut conditions = Vec::with_capacity(rule.conditions.len());
    for c in &rule.conditions {
        let (cond, _) = w.expr(c, false)?;
        ctx.insert("condition".into(), Value::from_safe_string(cond.clone()));
        let q = snippet::render_named(b, "query", "query", &Value::from_iter(ctx.clone()))?;
        queries.push(w.keep(q));
        conditions.push(cond);
    }
    let conv = Conversion {
        queries,
        warnings: w.finish(),
    };
    Ok((conv, conditions))
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

/// The predicate of a leaf.
fn as_pred(x: &Expr) -> Option<&Predicate> {
    match x {
        Expr::Pred(p) => Some(p),
        Expr::And(_) | Expr::Or(_) | Expr::Not(_) => None,
    }
}

/// The children of nested `and`s, in order, as one list.
fn flatten_and(xs: &[Expr], out: &mut Vec<Expr>) {
    for x in xs {
        match x {
            Expr::And(ys) => flatten_and(ys, out),
            Expr::Or(_) | Expr::Not(_) | Expr::Pred(_) => out.push(x.clone()),
        }
    }
}

/// The children of nested `or`s, in order, as one list.
fn flatten_or(xs: &[Expr], out: &mut Vec<Expr>) {
    for x in xs {
        match x {
            Expr::Or(ys) => flatten_or(ys, out),
            Expr::And(_) | Expr::Not(_) | Expr::Pred(_) => out.push(x.clone()),
        }
    }
}

impl<'a> Walker<'a> {
    fn new(b: &'a Backend, keyword_fields: Option<Vec<String>>) -> Self {
        Walker {
            b,
            keyword_fields,
            warnings: Vec::new(),
            raised: Vec::new(),
            leaves: Vec::new(),
        }
    }

    /// The walker's warnings, then the templates', each message once.
    fn finish(self) -> Vec<Warning> {
        let mut out = self.warnings;
        for m in self.raised {
            if !out.iter().any(|x| x.message == m) {
                out.push(Warning {
                    message: m,
                    at: None,
                });
            }
        }
        out
    }

    /// The text of a render whose output is used, keeping the warnings it raised.
    fn keep(&mut self, r: Rendered) -> String {
        self.raised.extend(r.warnings);
        r.text
    }

    /// Adds the backend warning `msg` (if the backend has one), `{fields}` replaced.
    pub(super) fn warn(&mut self, msg: Option<&String>, at: &str, fields: &str) {
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

    pub(super) fn group(&mut self, s: String) -> Result<String> {
        self.token("group", s)
    }

    /// Renders the token template `tokens.<name>` over `expr`.
    pub(super) fn token(&mut self, name: &str, expr: String) -> Result<String> {
        let ctx = context! { expr => Value::from_safe_string(expr) };
        let r = snippet::render_named(self.b, &format!("tokens.{name}"), name, &ctx)?;
        Ok(self.keep(r))
    }

    fn expr(&mut self, e: &Expr, neg: bool) -> Result<(String, Prec)> {
        match e {
            Expr::And(xs) => {
                if xs.len() == 1 {
                    return self.expr(&xs[0], neg);
                }
                // With named selections, nested `and`s join their parent (associative), so
                // their leaves can share a selection.
                if self.b.file().selections.is_some()
                    && xs.iter().any(|x| matches!(x, Expr::And(_)))
                {
                    let mut flat = Vec::with_capacity(xs.len());
                    flatten_and(xs, &mut flat);
                    return self.expr(&Expr::And(flat), neg);
                }
                let mut parts = Vec::with_capacity(xs.len());
                for x in xs {
                    parts.push(self.expr(x, neg)?);
                }
                let mut parts = self.merge_and(parts);
                if parts.len() == 1 {
                    return Ok(parts.pop().unwrap_or((String::new(), Prec::Atom)));
                }
                let mut out = Vec::with_capacity(parts.len());
                for (s, p) in parts {
                    out.push(if p == Prec::Or { self.group(s)? } else { s });
                }
                Ok((out.join(&self.b.file().tokens.and), Prec::And))
            }
            Expr::Or(xs) => self.or(xs, neg),
            Expr::Not(x) => {
                let (s, p) = self.expr(x, true)?;
                let s = if p == Prec::Atom { s } else { self.group(s)? };
                Ok((self.token("not", s)?, Prec::Atom))
            }
            Expr::Pred(p) => match self.pred(p, neg)? {
                (s, Prec::Atom) => Ok((self.leaf(s, p.field.as_deref()), Prec::Atom)),
                other => Ok(other),
            },
        }
    }

    /// The list snippet key for a predicate that can join a value list, with its group key.
    fn list_key(&self, x: &Expr) -> Option<(&'static str, ListGroup)> {
        let p = as_pred(x)?;
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
                    let preds: Vec<&Predicate> =
                        idx.iter().filter_map(|&j| as_pred(&xs[j])).collect();
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

    /// Several string leaves of one field as one value list; `None` when the list snippet
    /// refuses (the leaves are then written one by one).
    fn list(&mut self, key: &str, preds: &[&Predicate], neg: bool) -> Result<Option<String>> {
        let first = preds[0];
        let mut values = Vec::with_capacity(preds.len());
        for p in preds {
            if let Test::Str { pattern, cased } = &p.test {
                if !cased {
                    self.case_warnings(&pattern.to_string(), &p.at);
                }
                values.push(PatternObj::value(pattern.clone(), *cased));
            }
        }
        let cased = matches!(first.test, Test::Str { cased: true, .. });
        let values = Value::from(values);
        match self.per_field(first, key, neg, true, |field| {
            context! { field => field, values => values.clone(), cased => cased }
        }) {
            Ok((s, Prec::Atom)) => Ok(Some(self.leaf(s, first.field.as_deref()))),
            Ok((s, _)) => Ok(Some(self.group(s)?)),
            Err(e) if matches!(e.kind, ErrorKind::Unsupported { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// How many alternatives snippet `key` has; `None` when the backend has none.
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
    pub(super) fn render(&mut self, key: &str, ctx: &Value, at: &str) -> Result<String> {
        let b = self.b;
        let locate = |e: Error| if at.is_empty() { e } else { e.at(at) };
        let unsupported = |what: String| {
            locate(Error::new(ErrorKind::Unsupported {
                target: b.name().to_string(),
                what,
            }))
        };
        let Some(n) = self.snippet(key) else {
            return Err(unsupported(describe_key(key).to_string()));
        };
        match snippet::first_accepted(b, &format!("expr.{key}"), n, ctx).map_err(locate)? {
            Tried::Rendered(r) => Ok(self.keep(r)),
            Tried::Refused(last) => Err(unsupported(
                last.unwrap_or_else(|| describe_key(key).to_string()),
            )),
        }
    }
}
