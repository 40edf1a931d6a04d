//! Application of processing items to the IR.
//!
//! While pipelines run, a rule's conditions are held as [`Node`]s: the IR expression with, on
//! each predicate, the ids of the processing items applied to it (pySigma tracks this per
//! detection item, and `processing_item_applied` detection item / field name conditions read
//! it). A "detection item" is the set of predicates written under one key of a selection: same
//! key path (`Predicate::at` without its trailing `[n]`) and same field.

use std::collections::{BTreeSet, HashMap, HashSet};

use indexmap::IndexMap;
use serde_json::Value;

use super::conditions::{self, Subject};
use super::model::{
    CaseMethod, Item, Pipeline, PlaceholderFilter, RegexMethod, TargetType, Transformation,
};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::{
    CmpOp, Correlation, Expr, LogSource, Meta, Number, Pattern, Piece, Predicate, RegexFlags, Rule,
    Test,
};

/// A predicate and the processing items applied to it.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    pub pred: Predicate,
    pub applied: Vec<String>,
}

/// A rule condition while pipelines run.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Leaf(Leaf),
}

impl Node {
    pub(crate) fn from_expr(e: Expr) -> Node {
        match e {
            Expr::And(xs) => Node::And(xs.into_iter().map(Node::from_expr).collect()),
            Expr::Or(xs) => Node::Or(xs.into_iter().map(Node::from_expr).collect()),
            Expr::Not(x) => Node::Not(Box::new(Node::from_expr(*x))),
            Expr::Pred(pred) => Node::Leaf(Leaf {
                pred,
                applied: Vec::new(),
            }),
        }
    }

    fn into_expr(self) -> Expr {
        match self {
            Node::And(xs) => Expr::and(xs.into_iter().map(Node::into_expr).collect()),
            Node::Or(xs) => Expr::or(xs.into_iter().map(Node::into_expr).collect()),
            Node::Not(x) => Expr::Not(Box::new(x.into_expr())),
            Node::Leaf(l) => Expr::Pred(l.pred),
        }
    }

    fn leaves<'a>(&'a self, out: &mut Vec<&'a Leaf>) {
        match self {
            Node::And(xs) | Node::Or(xs) => xs.iter().for_each(|x| x.leaves(out)),
            Node::Not(x) => x.leaves(out),
            Node::Leaf(l) => out.push(l),
        }
    }

    fn mark(&mut self, id: &str) {
        match self {
            Node::And(xs) | Node::Or(xs) => xs.iter_mut().for_each(|x| x.mark(id)),
            Node::Not(x) => x.mark(id),
            Node::Leaf(l) => {
                if !l.applied.iter().any(|a| a == id) {
                    l.applied.push(id.to_string());
                }
            }
        }
    }

    /// Rewrites every leaf with `f` (`None` drops it); empty `and`/`or`/`not` disappear.
    fn rewrite(self, f: &mut dyn FnMut(Leaf) -> Result<Option<Node>>) -> Result<Option<Node>> {
        Ok(match self {
            Node::And(xs) | Node::Or(xs) if xs.is_empty() => None,
            Node::And(xs) => {
                let ys = rewrite_all(xs, f)?;
                (!ys.is_empty()).then_some(Node::And(ys))
            }
            Node::Or(xs) => {
                let ys = rewrite_all(xs, f)?;
                (!ys.is_empty()).then_some(Node::Or(ys))
            }
            Node::Not(x) => x.rewrite(f)?.map(|y| Node::Not(Box::new(y))),
            Node::Leaf(l) => f(l)?,
        })
    }
}

fn rewrite_all(
    xs: Vec<Node>,
    f: &mut dyn FnMut(Leaf) -> Result<Option<Node>>,
) -> Result<Vec<Node>> {
    let mut ys = Vec::with_capacity(xs.len());
    for x in xs {
        if let Some(y) = x.rewrite(f)? {
            ys.push(y);
        }
    }
    Ok(ys)
}

/// State shared by all pipelines while they process one rule (pySigma keeps it on the merged
/// pipeline and resets it per rule).
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    /// Merged `vars` of all pipelines (a later pipeline's value wins).
    pub vars: IndexMap<String, Value>,
    /// `set_state` values.
    pub state: IndexMap<String, Value>,
    /// Ids of the items applied to the rule.
    pub applied: Vec<String>,
    /// Field name → ids of the items that produced it (pySigma `field_name_applied_ids`).
    pub field_applied: HashMap<String, BTreeSet<String>>,
    /// Field names that were mapped, and the names they were mapped to
    /// (`strict_field_mapping_failure`).
    pub mapped_from: HashSet<String>,
    pub mapped_to: HashSet<String>,
}

impl Ctx {
    pub(crate) fn new(pipelines: &[&Pipeline]) -> Ctx {
        let mut vars = IndexMap::new();
        for p in pipelines {
            for (k, v) in &p.vars {
                vars.insert(k.clone(), v.clone());
            }
        }
        Ctx {
            vars,
            ..Ctx::default()
        }
    }

    fn mark_rule(&mut self, item: &Item) {
        if let Some(id) = &item.id {
            if !self.applied.contains(id) {
                self.applied.push(id.clone());
            }
        }
    }

    /// pySigma `track_field_processing_items`.
    fn track(&mut self, src: &str, dest: &[String], id: Option<&str>) {
        if dest.len() == 1 && dest[0] == src {
            return;
        }
        let mut set = self.field_applied.remove(src).unwrap_or_default();
        if let Some(id) = id {
            set.insert(id.to_string());
        }
        for d in dest {
            self.field_applied.insert(d.clone(), set.clone());
        }
    }

    fn record_mapping(&mut self, src: &str, dest: &[String]) {
        self.mapped_from.insert(src.to_string());
        self.mapped_to.extend(dest.iter().cloned());
    }
}

/// A rule while pipelines run.
pub(crate) struct Work<'a> {
    pub pipeline: &'a Pipeline,
    pub meta: Meta,
    pub logsource: LogSource,
    pub conditions: Vec<Node>,
    pub file: Option<String>,
}

impl Work<'_> {
    fn err(&self, item: &Item, msg: impl std::fmt::Display) -> Error {
        let mut e = Error::new(ErrorKind::Pipeline(format!(
            "{msg} (pipeline `{}`, item `{}`, rule `{}`)",
            self.pipeline.name,
            item.label(),
            self.meta.title
        )));
        if let Some(f) = &self.file {
            e = e.in_file(f.clone());
        }
        e
    }
}

/// Runs the pipelines over a rule.
pub(crate) fn apply_rule(pipelines: &[&Pipeline], rule: &mut Rule) -> Result<()> {
    let mut ctx = Ctx::new(pipelines);
    ctx.state = rule.state.clone();
    ctx.applied = rule.applied.clone();
    let mut conditions: Vec<Node> = rule
        .conditions
        .iter()
        .cloned()
        .map(Node::from_expr)
        .collect();
    let mut meta = rule.meta.clone();
    let mut logsource = rule.logsource.clone();
    for p in pipelines {
        let mut w = Work {
            pipeline: p,
            meta,
            logsource,
            conditions,
            file: rule.origin.file.clone(),
        };
        for item in &p.items {
            apply_item(item, &mut w, &mut ctx)?;
        }
        meta = w.meta;
        logsource = w.logsource;
        conditions = w.conditions;
    }
    rule.meta = meta;
    rule.logsource = logsource;
    rule.conditions = conditions.into_iter().map(Node::into_expr).collect();
    rule.state = ctx.state;
    rule.applied = ctx.applied;
    Ok(())
}

fn map_name(t: &Transformation, name: &str) -> Option<Vec<String>> {
    match t {
        Transformation::FieldNameMapping(m) => m.get(name).cloned(),
        Transformation::FieldNamePrefixMapping(m) => m
            .iter()
            .find(|(src, _)| name.starts_with(src.as_str()))
            .map(|(src, dest)| {
                dest.iter()
                    .map(|d| format!("{d}{}", &name[src.len()..]))
                    .collect()
            }),
        Transformation::FieldNamePrefix(p) => Some(vec![format!("{p}{name}")]),
        Transformation::FieldNameSuffix(s) => Some(vec![format!("{name}{s}")]),
        _ => None,
    }
}

fn is_field_mapping(t: &Transformation) -> bool {
    matches!(
        t,
        Transformation::FieldNameMapping(_)
            | Transformation::FieldNamePrefixMapping(_)
            | Transformation::FieldNamePrefix(_)
            | Transformation::FieldNameSuffix(_)
    )
}

/// pySigma `_apply_field_name`: the mapped names when the mapping applies and the field name
/// conditions hold, else the name itself. Tracks which item produced the names.
fn apply_field_name(item: &Item, name: &str, ctx: &mut Ctx) -> Vec<String> {
    match map_name(&item.transformation, name) {
        Some(dest) if conditions::field_name_ok(&item.field_name_conditions, Some(name), ctx) => {
            ctx.track(name, &dest, item.id.as_deref());
            dest
        }
        _ => vec![name.to_string()],
    }
}

#[allow(clippy::too_many_lines)]
fn apply_item(item: &Item, w: &mut Work<'_>, ctx: &mut Ctx) -> Result<()> {
    let subject = Subject::Rule {
        meta: &w.meta,
        logsource: &w.logsource,
        conditions: &w.conditions,
    };
    if !conditions::rule_ok(&item.rule_conditions, &subject, ctx) {
        return Ok(());
    }
    let t = &item.transformation;
    match t {
        Transformation::RuleFailure(msg) => return Err(w.err(item, format!("rule_failure: {msg}"))),
        Transformation::Nest(items) => {
            ctx.mark_rule(item);
            for sub in items {
                apply_item(sub, w, ctx)?;
            }
            return Ok(());
        }
        _ => {}
    }
    ctx.mark_rule(item);
    match t {
        Transformation::ChangeLogsource {
            category,
            product,
            service,
        } => {
            w.logsource.category.clone_from(category);
            w.logsource.product.clone_from(product);
            w.logsource.service.clone_from(service);
            w.logsource.custom.clear();
        }
        Transformation::SetState { key, val } => {
            ctx.state.insert(key.clone(), val.clone());
        }
        Transformation::AddField(fs) => w.meta.fields.extend(fs.iter().cloned()),
        Transformation::RemoveField(fs) => {
            for f in fs {
                if let Some(i) = w.meta.fields.iter().position(|x| x == f) {
                    w.meta.fields.remove(i);
                }
            }
        }
        Transformation::SetField(fs) => w.meta.fields.clone_from(fs),
        Transformation::SetCustomAttribute { attribute, value } => {
            w.meta.custom.insert(attribute.clone(), value.clone());
        }
        Transformation::AddCondition {
            conditions,
            template,
            negated,
        } => {
            let ls = template.then_some(&w.logsource);
            let at = format!("pipeline.{}", item.label());
            let added = detection_from_map(conditions, ls, &at).map_err(|m| w.err(item, m))?;
            let mut added = Node::from_expr(added);
            if let Some(id) = &item.id {
                added.mark(id);
            }
            if *negated {
                added = Node::Not(Box::new(added));
            }
            for c in &mut w.conditions {
                let old = std::mem::replace(c, Node::And(Vec::new()));
                *c = Node::And(vec![added.clone(), old]);
            }
        }
        Transformation::StrictFieldMappingFailure => {
            let mut leaves = Vec::new();
            w.conditions.iter().for_each(|c| c.leaves(&mut leaves));
            let mut unmapped: Vec<&str> = Vec::new();
            for l in leaves {
                if let Some(f) = l.pred.field.as_deref() {
                    if !ctx.mapped_from.contains(f)
                        && !ctx.mapped_to.contains(f)
                        && !unmapped.contains(&f)
                    {
                        unmapped.push(f);
                    }
                }
            }
            if !unmapped.is_empty() {
                return Err(w.err(
                    item,
                    format!(
                        "the following fields are not mapped: {}",
                        unmapped.join(", ")
                    ),
                ));
            }
        }
        Transformation::RuleFailure(_) | Transformation::Nest(_) => unreachable!("handled above"),
        Transformation::FieldNameMapping(_)
        | Transformation::FieldNamePrefixMapping(_)
        | Transformation::FieldNamePrefix(_)
        | Transformation::FieldNameSuffix(_) => {
            let fields = std::mem::take(&mut w.meta.fields);
            w.meta.fields = fields
                .iter()
                .flat_map(|f| apply_field_name(item, f, ctx))
                .collect();
            for_each_item(item, w, ctx, &mut |leaf, ctx| map_leaf(item, leaf, ctx))?;
        }
        Transformation::DropDetectionItem => {
            for_each_item(item, w, ctx, &mut |_, _| Ok(Changed::Drop))?;
        }
        Transformation::DetectionItemFailure(msg) => {
            let mut hit: Option<(String, Option<String>)> = None;
            for_each_item(item, w, ctx, &mut |leaf, _| {
                hit.get_or_insert_with(|| (leaf.pred.at.clone(), leaf.pred.field.clone()));
                Ok(Changed::No(leaf))
            })?;
            if let Some((at, field)) = hit {
                let on = field.map_or_else(|| "a keyword".to_string(), |f| format!("field `{f}`"));
                let mut e = w.err(item, format!("detection_item_failure on {on}: {msg}"));
                if !at.is_empty() {
                    e = e.at(at);
                }
                return Err(e);
            }
        }
        Transformation::HashesFields {
            valid_hash_algos,
            field_prefix,
            drop_algo_prefix,
            field_to_parse,
        } => {
            let hashes = HashSpec {
                valid: valid_hash_algos,
                prefix: field_prefix,
                drop_algo: *drop_algo_prefix,
            };
            let parses = |l: &Leaf| {
                l.pred
                    .field
                    .as_ref()
                    .is_some_and(|f| field_to_parse.contains(f))
            };
            // pySigma: a detection item is rewritten when all its values are strings; values
            // without a valid algorithm are dropped, and an item left with none is an error.
            let selected = selection(item, w, ctx);
            let mut leaves = Vec::new();
            w.conditions.iter().for_each(|c| c.leaves(&mut leaves));
            let mut groups: HashMap<ItemKey, (bool, usize, Option<String>)> = HashMap::new();
            for (i, l) in leaves.iter().enumerate() {
                if !selected[i] || !parses(l) {
                    continue;
                }
                let g = groups.entry(item_key(l, i)).or_insert((true, 0, None));
                match &l.pred.test {
                    Test::Str { pattern, .. } => {
                        if hashes.split(&plain(pattern)).is_some() {
                            g.1 += 1;
                        } else {
                            g.2.get_or_insert_with(|| plain(pattern));
                        }
                    }
                    _ => g.0 = false,
                }
            }
            if let Some((_, _, Some(v))) = groups
                .values()
                .find(|(all_str, valid, _)| *all_str && *valid == 0)
            {
                return Err(w.err(
                    item,
                    format!(
                        "no valid hash algorithm in hash value `{v}`; use one of: {}",
                        valid_hash_algos.join(", ")
                    ),
                ));
            }
            let skipped: HashSet<ItemKey> = groups
                .into_iter()
                .filter(|(_, g)| !g.0)
                .map(|(k, _)| k)
                .collect();
            for_each_item(item, w, ctx, &mut |leaf, _| {
                if !parses(&leaf) || skipped.contains(&item_key(&leaf, usize::MAX)) {
                    return Ok(Changed::No(leaf));
                }
                let Test::Str { pattern, .. } = &leaf.pred.test else {
                    return Ok(Changed::No(leaf));
                };
                Ok(match hashes.split(&plain(pattern)) {
                    Some((field, value)) => {
                        let mut pred = leaf.pred.clone();
                        pred.field = Some(field);
                        pred.test = Test::Str {
                            pattern: sigma_pattern(&value),
                            cased: false,
                        };
                        Changed::Yes(Node::Leaf(Leaf {
                            pred,
                            applied: leaf.applied,
                        }))
                    }
                    None => Changed::Drop,
                })
            })?;
        }
        Transformation::ExtractFields {
            regex,
            field_prefix,
            preserve_unmatched,
        } => {
            for_each_item(item, w, ctx, &mut |leaf, _| {
                let Test::Str { pattern, .. } = &leaf.pred.test else {
                    return Ok(Changed::No(leaf));
                };
                let text = plain(pattern);
                let Some(caps) = regex.captures(&text) else {
                    return Ok(if *preserve_unmatched {
                        Changed::No(leaf)
                    } else {
                        Changed::Drop
                    });
                };
                let mut parts = Vec::new();
                for name in regex.capture_names().flatten() {
                    let Some(m) = caps.name(name).filter(|m| !m.as_str().is_empty()) else {
                        continue;
                    };
                    let field = match field_prefix {
                        Some(p) => format!("{p}.{name}"),
                        None => name.to_string(),
                    };
                    let mut pred = leaf.pred.clone();
                    pred.field = Some(field);
                    pred.test = extracted_value(m.as_str());
                    parts.push(Node::Leaf(Leaf {
                        pred,
                        applied: leaf.applied.clone(),
                    }));
                }
                Ok(match parts.len() {
                    0 => Changed::Drop,
                    1 => Changed::Yes(parts.remove(0)),
                    _ => Changed::Yes(Node::And(parts)),
                })
            })?;
        }
        Transformation::WildcardPlaceholders(filter) => {
            for_each_item(item, w, ctx, &mut |leaf, _| {
                replace_placeholders(leaf, filter, &mut |_| {
                    Ok(vec![Pattern::new([Piece::AnyMany])])
                })
            })?;
        }
        Transformation::ValuePlaceholders(filter) => {
            let vars = ctx.vars.clone();
            for_each_item(item, w, ctx, &mut |leaf, _| {
                replace_placeholders(leaf, filter, &mut |name| {
                    let Some(v) = vars.get(name) else {
                        return Err(format!(
                            "placeholder `%{name}%` has no variable in the `vars` of the pipelines"
                        ));
                    };
                    let list = match v {
                        Value::Array(xs) => xs.clone(),
                        other => vec![other.clone()],
                    };
                    list.iter()
                        .map(|x| match x {
                            Value::String(s) => Ok(sigma_pattern(s)),
                            Value::Number(n) => Ok(Pattern::literal(&n.to_string())),
                            other => Err(format!(
                                "variable `{name}` holds {other}, which is not a string or number"
                            )),
                        })
                        .collect()
                })
            })?;
        }
        Transformation::QueryExpressionPlaceholders { filter, expression } => {
            let mut hit: Option<String> = None;
            for_each_item(item, w, ctx, &mut |leaf, _| {
                if let Test::Str { pattern, .. } = &leaf.pred.test {
                    if let Some(p) = pattern.placeholders().find(|p| filter.handles(p)) {
                        hit.get_or_insert_with(|| p.to_string());
                    }
                }
                Ok(Changed::No(leaf))
            })?;
            if let Some(p) = hit {
                return Err(w.err(
                    item,
                    format!(
                        "query_expression_placeholders cannot resolve `%{p}%`: sigmat's rule model has no raw query expressions (`{expression}`)"
                    ),
                )
                .hint("resolve the placeholder with value_placeholders and `vars`, or with wildcard_placeholders"));
            }
        }
        Transformation::ReplaceString {
            regex,
            replacement,
            skip_special,
            interpret_special,
        } => {
            for_each_item(item, w, ctx, &mut |leaf, _| {
                let (pattern, cased) = match &leaf.pred.test {
                    Test::Str { pattern, cased } => (pattern.clone(), *cased),
                    Test::Num {
                        op: CmpOp::Eq,
                        value,
                    } => (Pattern::literal(&value.text), false),
                    _ => return Ok(Changed::No(leaf)),
                };
                let new = if *skip_special {
                    let mut out = Pattern::default();
                    for piece in pattern.pieces() {
                        match piece {
                            Piece::Lit(s) => {
                                let r = regex.replace_all(s, replacement.as_str()).into_owned();
                                if *interpret_special {
                                    for p in sigma_pattern(&r).pieces() {
                                        out.push(p.clone());
                                    }
                                } else {
                                    out.push(Piece::Lit(r));
                                }
                            }
                            other => out.push(other.clone()),
                        }
                    }
                    out
                } else {
                    let text = regex
                        .replace_all(&plain(&pattern), replacement.as_str())
                        .into_owned();
                    from_plain(&text, pattern.placeholders().next().is_some())
                };
                Ok(Changed::Yes(with_test(
                    leaf,
                    Test::Str {
                        pattern: new,
                        cased,
                    },
                )))
            })?;
        }
        Transformation::MapString(m) => {
            for_each_item(item, w, ctx, &mut |leaf, _| {
                let Test::Str { pattern, .. } = &leaf.pred.test else {
                    return Ok(Changed::No(leaf));
                };
                let Some(to) = m.get(&plain(pattern)) else {
                    return Ok(Changed::No(leaf));
                };
                let alts: Vec<Node> = to
                    .iter()
                    .map(|s| {
                        with_test(
                            leaf.clone(),
                            Test::Str {
                                pattern: sigma_pattern(s),
                                cased: false,
                            },
                        )
                    })
                    .collect();
                Ok(match alts.len() {
                    0 => Changed::Drop,
                    _ => Changed::Yes(or_node(alts)),
                })
            })?;
        }
        Transformation::Regex(method) => {
            let mut bad: Option<String> = None;
            for_each_item(item, w, ctx, &mut |leaf, _| {
                let Test::Str { pattern, .. } = &leaf.pred.test else {
                    return Ok(Changed::No(leaf));
                };
                if pattern.is_empty() {
                    return Ok(Changed::No(leaf));
                }
                match to_regex(pattern, *method) {
                    Some(test) => Ok(Changed::Yes(with_test(leaf, test))),
                    None => {
                        bad.get_or_insert_with(|| plain(pattern));
                        Ok(Changed::No(leaf))
                    }
                }
            })?;
            if let Some(v) = bad {
                return Err(w.err(item, format!("the placeholder in `{v}` cannot become a regular expression; resolve placeholders first")));
            }
        }
        Transformation::SetValue(v) => {
            let test = scalar_test(v);
            for_each_item(item, w, ctx, &mut |leaf, _| {
                Ok(Changed::Yes(with_test(leaf, test.clone())))
            })?;
        }
        Transformation::ConvertType(target) => {
            let mut bad: Option<String> = None;
            for_each_item(item, w, ctx, &mut |leaf, _| {
                let test = match (&leaf.pred.test, target) {
                    (
                        Test::Num {
                            op: CmpOp::Eq,
                            value,
                        },
                        TargetType::Str,
                    ) => Test::Str {
                        pattern: Pattern::literal(&number_text(value)),
                        cased: false,
                    },
                    (Test::Str { pattern, .. }, TargetType::Num) => {
                        let text = plain(pattern);
                        match text.trim().parse::<f64>() {
                            Ok(n) if n.is_finite() && pattern.as_literal().is_some() => Test::Num {
                                op: CmpOp::Eq,
                                value: Number::new(text.trim()),
                            },
                            _ => {
                                bad.get_or_insert(text);
                                return Ok(Changed::No(leaf));
                            }
                        }
                    }
                    _ => return Ok(Changed::No(leaf)),
                };
                Ok(Changed::Yes(with_test(leaf, test)))
            })?;
            if let Some(v) = bad {
                return Err(w.err(item, format!("value `{v}` cannot be converted to a number")));
            }
        }
        Transformation::Case(method) => {
            for_each_item(item, w, ctx, &mut |leaf, _| {
                let Test::Str { pattern, cased } = &leaf.pred.test else {
                    return Ok(Changed::No(leaf));
                };
                let pieces = pattern.pieces().iter().map(|p| match p {
                    Piece::Lit(s) => Piece::Lit(match method {
                        CaseMethod::Lower => s.to_lowercase(),
                        CaseMethod::Upper => s.to_uppercase(),
                        CaseMethod::SnakeCase => snake_case(s),
                    }),
                    other => other.clone(),
                });
                let test = Test::Str {
                    pattern: Pattern::new(pieces),
                    cased: *cased,
                };
                Ok(Changed::Yes(with_test(leaf, test)))
            })?;
        }
    }
    Ok(())
}

/// What a transformation did to one predicate.
pub(crate) enum Changed {
    /// Nothing (the item is not marked as processed).
    No(Leaf),
    /// Replaced (the item is marked as processed).
    Yes(Node),
    /// Removed.
    Drop,
}

fn with_test(leaf: Leaf, test: Test) -> Node {
    let mut pred = leaf.pred;
    pred.test = test;
    Node::Leaf(Leaf {
        pred,
        applied: leaf.applied,
    })
}

fn or_node(mut xs: Vec<Node>) -> Node {
    if xs.len() == 1 {
        xs.remove(0)
    } else {
        Node::Or(xs)
    }
}

/// A detection item: key path without the value index, and field.
type ItemKey = (String, Option<String>);

/// The detection item a predicate belongs to: its key path without the value index, and its
/// field. Predicates without a key path are items of their own.
fn item_key(leaf: &Leaf, index: usize) -> ItemKey {
    let at = &leaf.pred.at;
    if at.is_empty() {
        return (format!("#{index}"), leaf.pred.field.clone());
    }
    let base = match at
        .strip_suffix(']')
        .and_then(|s| s.rfind('[').map(|i| (s, i)))
    {
        Some((s, i)) if s[i + 1..].chars().all(|c| c.is_ascii_digit()) => &at[..i],
        _ => at.as_str(),
    };
    (base.to_string(), leaf.pred.field.clone())
}

/// For every predicate (depth first), whether the item's detection item and field name
/// conditions select it.
fn selection(item: &Item, w: &Work<'_>, ctx: &Ctx) -> Vec<bool> {
    let mut leaves = Vec::new();
    w.conditions.iter().for_each(|c| c.leaves(&mut leaves));
    let keys: Vec<_> = leaves
        .iter()
        .enumerate()
        .map(|(i, l)| item_key(l, i))
        .collect();
    let mut groups: HashMap<&(String, Option<String>), Vec<&Test>> = HashMap::new();
    for (k, l) in keys.iter().zip(&leaves) {
        groups.entry(k).or_default().push(&l.pred.test);
    }
    leaves
        .iter()
        .zip(&keys)
        .map(|(l, k)| {
            conditions::detection_item_ok(&item.detection_item_conditions, &groups[k], l, ctx)
                && conditions::field_name_ok_item(&item.field_name_conditions, l, ctx)
        })
        .collect()
}

/// Calls `f` on every predicate of every detection item that the item's detection item and
/// field name conditions select, and puts the result in its place.
fn for_each_item(
    item: &Item,
    w: &mut Work<'_>,
    ctx: &mut Ctx,
    f: &mut dyn FnMut(Leaf, &mut Ctx) -> std::result::Result<Changed, String>,
) -> Result<()> {
    // Which predicates are selected, decided before anything changes.
    let selected = selection(item, w, ctx);
    let mut index = 0usize;
    let conds = std::mem::take(&mut w.conditions);
    let mut out = Vec::with_capacity(conds.len());
    let mut emptied = None;
    for (ci, c) in conds.into_iter().enumerate() {
        let r = c.rewrite(&mut |leaf| {
            let i = index;
            index += 1;
            if !selected[i] {
                return Ok(Some(Node::Leaf(leaf)));
            }
            let at = leaf.pred.at.clone();
            let changed = f(leaf, ctx).map_err(|m| {
                let e = w.err(item, m);
                if at.is_empty() {
                    e
                } else {
                    e.at(at)
                }
            })?;
            Ok(match changed {
                Changed::No(l) => Some(Node::Leaf(l)),
                Changed::Yes(mut n) => {
                    if let Some(id) = &item.id {
                        n.mark(id);
                    }
                    Some(n)
                }
                Changed::Drop => None,
            })
        })?;
        match r {
            Some(n) => out.push(n),
            None => {
                emptied.get_or_insert(ci);
            }
        }
    }
    w.conditions = out;
    if let Some(ci) = emptied {
        return Err(w.err(
            item,
            format!(
                "`{}` removed every predicate of condition {}; nothing would be left to match",
                item.transformation.type_name(),
                ci + 1
            ),
        ));
    }
    Ok(())
}

/// Field name mapping of one predicate (pySigma `FieldMappingTransformationBase.apply_detection_item`).
fn map_leaf(item: &Item, leaf: Leaf, ctx: &mut Ctx) -> std::result::Result<Changed, String> {
    let mut refs: Option<Vec<String>> = None;
    if let Test::FieldRef { field: r, .. } = &leaf.pred.test {
        if conditions::field_name_ok(&item.field_name_conditions, Some(r), ctx) {
            let dest = apply_field_name(item, r, ctx);
            if map_name(&item.transformation, r).is_some() {
                ctx.record_mapping(r, &dest);
            }
            refs = Some(dest);
        }
    }
    let mut fields: Option<Vec<String>> = None;
    if let Some(f) = leaf.pred.field.as_deref() {
        if let Some(dest) = map_name(&item.transformation, f) {
            if conditions::field_name_ok(&item.field_name_conditions, Some(f), ctx) {
                ctx.record_mapping(f, &dest);
                fields = Some(dest);
            }
        }
    }
    if refs.is_none() && fields.is_none() {
        return Ok(Changed::No(leaf));
    }
    let fields: Vec<Option<String>> = match fields {
        Some(fs) => fs.into_iter().map(Some).collect(),
        None => vec![leaf.pred.field.clone()],
    };
    if fields.is_empty() {
        return Err(format!(
            "field `{}` is mapped to no field at all",
            leaf.pred.field.as_deref().unwrap_or_default()
        ));
    }
    let mut alts = Vec::new();
    for f in &fields {
        match (&refs, &leaf.pred.test) {
            (Some(rs), Test::FieldRef { how, cased, .. }) => {
                for r in rs {
                    let mut pred = leaf.pred.clone();
                    pred.field.clone_from(f);
                    pred.test = Test::FieldRef {
                        field: r.clone(),
                        how: *how,
                        cased: *cased,
                    };
                    alts.push(Node::Leaf(Leaf {
                        pred,
                        applied: leaf.applied.clone(),
                    }));
                }
            }
            _ => {
                let mut pred = leaf.pred.clone();
                pred.field.clone_from(f);
                alts.push(Node::Leaf(Leaf {
                    pred,
                    applied: leaf.applied.clone(),
                }));
            }
        }
    }
    Ok(Changed::Yes(or_node(alts)))
}

/// Replaces the handled placeholders of a string predicate; several values give an `or`.
fn replace_placeholders(
    leaf: Leaf,
    filter: &PlaceholderFilter,
    values: &mut dyn FnMut(&str) -> std::result::Result<Vec<Pattern>, String>,
) -> std::result::Result<Changed, String> {
    let Test::Str { pattern, cased } = &leaf.pred.test else {
        return Ok(Changed::No(leaf));
    };
    if !pattern.placeholders().any(|p| filter.handles(p)) {
        return Ok(Changed::No(leaf));
    }
    let mut results: Vec<Pattern> = vec![Pattern::default()];
    for piece in pattern.pieces() {
        match piece {
            Piece::Placeholder(name) if filter.handles(name) => {
                let vs = values(name)?;
                let mut next = Vec::with_capacity(results.len() * vs.len());
                for r in &results {
                    for v in &vs {
                        let mut p = r.clone();
                        for x in v.pieces() {
                            p.push(x.clone());
                        }
                        next.push(p);
                    }
                }
                results = next;
            }
            other => results.iter_mut().for_each(|r| r.push(other.clone())),
        }
    }
    if results.is_empty() {
        return Ok(Changed::Drop);
    }
    let cased = *cased;
    let alts = results
        .into_iter()
        .map(|p| with_test(leaf.clone(), Test::Str { pattern: p, cased }))
        .collect();
    Ok(Changed::Yes(or_node(alts)))
}

struct HashSpec<'a> {
    valid: &'a [String],
    prefix: &'a str,
    drop_algo: bool,
}

impl HashSpec<'_> {
    /// pySigma `_extract_hash_algo_and_value` + `_get_field_name`.
    fn split(&self, value: &str) -> Option<(String, String)> {
        let parts: Vec<&str> = if value.contains('|') {
            value.split('|').collect()
        } else {
            value.split('=').collect()
        };
        let (algo, hash) = if parts.len() == 2 {
            (
                parts[0].trim_start_matches('*').to_uppercase(),
                parts[1].trim_matches(|c| c == '*' || c == '?').to_string(),
            )
        } else {
            let hash = parts[0].trim_matches(|c| c == '*' || c == '?').to_string();
            let algo = match hash.len() {
                32 => "MD5",
                40 => "SHA1",
                64 => "SHA256",
                128 => "SHA512",
                _ => "",
            };
            (algo.to_string(), hash)
        };
        if !self.valid.contains(&algo) {
            return None;
        }
        let field = format!(
            "{}{}",
            self.prefix,
            if self.drop_algo { "" } else { algo.as_str() }
        );
        Some((field, hash))
    }
}

/// pySigma `ExtractFieldsTransformation._convert_value`.
fn extracted_value(v: &str) -> Test {
    if matches!(v.to_lowercase().as_str(), "null" | "none" | "") {
        return Test::Null;
    }
    let leading_zero = v != "0" && v.starts_with('0');
    if !leading_zero && (v.parse::<i64>().is_ok() || v.parse::<f64>().is_ok_and(f64::is_finite)) {
        return Test::Num {
            op: CmpOp::Eq,
            value: Number::new(v),
        };
    }
    Test::Str {
        pattern: Pattern::literal(v),
        cased: false,
    }
}

/// pySigma `RegexTransformation`. The result is anchored (`^...$`) and `*` crosses newlines,
/// so the regex matches exactly what the string pattern matched (sigmat regexes are unanchored).
fn to_regex(pattern: &Pattern, method: RegexMethod) -> Option<Test> {
    let mut re = String::from("^");
    for p in pattern.pieces() {
        match p {
            Piece::Lit(s) => {
                if method == RegexMethod::IgnoreCaseBrackets {
                    for c in s.chars() {
                        let (lo, up) = (c.to_lowercase().to_string(), c.to_uppercase().to_string());
                        if c.is_alphabetic() && lo != up {
                            re.push_str(&format!("[{lo}{up}]"));
                        } else {
                            re.push_str(&regex_syntax::escape(&c.to_string()));
                        }
                    }
                } else {
                    re.push_str(&regex_syntax::escape(s));
                }
            }
            Piece::AnyMany => re.push_str(".*"),
            Piece::AnyOne => re.push('.'),
            Piece::Placeholder(_) => return None,
        }
    }
    re.push('$');
    Some(Test::Regex {
        pattern: re,
        flags: RegexFlags {
            ignore_case: method == RegexMethod::IgnoreCaseFlag,
            multi_line: false,
            dot_all: true,
        },
    })
}

fn snake_case(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && c.is_uppercase() {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn number_text(n: &Number) -> String {
    n.as_i64().map_or_else(|| n.text.clone(), |i| i.to_string())
}

/// A YAML scalar as a test (`set_value`, `add_condition` values): strings are Sigma strings.
fn scalar_test(v: &Value) -> Test {
    match v {
        Value::String(s) => Test::Str {
            pattern: sigma_pattern(s),
            cased: false,
        },
        Value::Bool(b) => Test::Bool(*b),
        Value::Number(n) => Test::Num {
            op: CmpOp::Eq,
            value: Number::new(n.to_string()),
        },
        Value::Null | Value::Array(_) | Value::Object(_) => Test::Null,
    }
}

/// Reads a Sigma string value: `*` and `?` are wildcards; a backslash escapes `*`, `?` and
/// itself, and is literal before any other character.
#[must_use]
pub(crate) fn sigma_pattern(s: &str) -> Pattern {
    let mut p = Pattern::default();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek().copied() {
                Some(n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    p.push(Piece::Lit(n.to_string()));
                }
                _ => p.push(Piece::Lit("\\".into())),
            },
            '*' => p.push(Piece::AnyMany),
            '?' => p.push(Piece::AnyOne),
            c => p.push(Piece::Lit(c.to_string())),
        }
    }
    p
}

/// pySigma's plain form of a string value: literal `*` and `?` escaped with a backslash,
/// wildcards bare, placeholders as `%name%`, other backslashes as they are.
#[must_use]
pub(crate) fn plain(p: &Pattern) -> String {
    let mut out = String::new();
    for piece in p.pieces() {
        match piece {
            Piece::Lit(s) => {
                for c in s.chars() {
                    if matches!(c, '*' | '?') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Piece::AnyMany => out.push('*'),
            Piece::AnyOne => out.push('?'),
            Piece::Placeholder(n) => {
                out.push('%');
                out.push_str(n);
                out.push('%');
            }
        }
    }
    out
}

/// Reads back a plain form produced by [`plain`] and edited (pySigma `ReplaceStringTransformation`:
/// a backslash not before `*`/`?` is literal), re-inserting `%placeholders%` when asked.
fn from_plain(s: &str, placeholders: bool) -> Pattern {
    let mut escaped = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        escaped.push(c);
        if c == '\\' && !matches!(chars.peek(), Some('*' | '?')) {
            escaped.push('\\');
        }
    }
    let p = sigma_pattern(&escaped);
    if !placeholders {
        return p;
    }
    let mut out = Pattern::default();
    for piece in p.pieces() {
        match piece {
            Piece::Lit(text) => {
                let mut rest = text.as_str();
                while let Some(start) = rest.find('%') {
                    let Some(len) = rest[start + 1..].find('%').filter(|&l| l > 0) else {
                        break;
                    };
                    out.push(Piece::Lit(rest[..start].to_string()));
                    out.push(Piece::Placeholder(
                        rest[start + 1..start + 1 + len].to_string(),
                    ));
                    rest = &rest[start + len + 2..];
                }
                out.push(Piece::Lit(rest.to_string()));
            }
            other => out.push(other.clone()),
        }
    }
    out
}

/// Builds the detection of `add_condition` (pySigma `SigmaDetection.from_definition`): keys are
/// `field|modifier...`, values a scalar or a list (any value, or all with `|all`), keys ANDed.
/// With `logsource`, `$category`, `$product` and `$service` in string values are replaced
/// (Python `string.Template.safe_substitute`; an absent key gives `None`, as in pySigma).
pub(crate) fn detection_from_map(
    map: &IndexMap<String, Value>,
    logsource: Option<&LogSource>,
    at: &str,
) -> std::result::Result<Expr, String> {
    if map.is_empty() {
        return Err("`conditions` of add_condition is empty".into());
    }
    let mut ands = Vec::new();
    for (key, value) in map {
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default();
        if field.is_empty() {
            return Err(format!("add_condition key `{key}` has no field name"));
        }
        let mods: Vec<&str> = parts.collect();
        let mut all = false;
        let mut cased = false;
        let mut shape: Option<&str> = None;
        let mut kind: Option<&str> = None;
        for m in &mods {
            match *m {
                "all" => all = true,
                "cased" => cased = true,
                "contains" | "startswith" | "endswith" => shape = Some(m),
                "re" | "cidr" | "exists" | "gt" | "gte" | "lt" | "lte" => kind = Some(m),
                other => {
                    return Err(format!(
                        "modifier `{other}` in add_condition key `{key}` is not supported (contains, startswith, endswith, all, cased, re, cidr, exists, gt, gte, lt, lte)"
                    ))
                }
            }
        }
        let values: Vec<&Value> = match value {
            Value::Array(xs) if xs.is_empty() => {
                return Err(format!("add_condition key `{key}` has an empty list"))
            }
            Value::Array(xs) => xs.iter().collect(),
            v => vec![v],
        };
        let many = values.len() > 1;
        let mut preds = Vec::new();
        for (i, v) in values.into_iter().enumerate() {
            let text = |v: &Value| -> std::result::Result<String, String> {
                match v {
                    Value::String(s) => Ok(match logsource {
                        Some(ls) => substitute(s, ls),
                        None => s.clone(),
                    }),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(format!(
                        "add_condition key `{key}` needs a string or number, found {other}"
                    )),
                }
            };
            let test = match kind {
                Some("re") => Test::Regex {
                    pattern: text(v)?,
                    flags: RegexFlags::default(),
                },
                Some("cidr") => Test::Cidr(text(v)?),
                Some("exists") => match v {
                    Value::Bool(b) => Test::Exists(*b),
                    _ => return Err(format!("add_condition key `{key}` needs true or false")),
                },
                Some(op) => {
                    let Value::Number(n) = v else {
                        return Err(format!("add_condition key `{key}` needs a number"));
                    };
                    let op = match op {
                        "gt" => CmpOp::Gt,
                        "gte" => CmpOp::Gte,
                        "lt" => CmpOp::Lt,
                        _ => CmpOp::Lte,
                    };
                    Test::Num {
                        op,
                        value: Number::new(n.to_string()),
                    }
                }
                None => match (v, shape) {
                    (Value::Bool(_) | Value::Null, None) => scalar_test(v),
                    (Value::Number(_), None) if !cased => scalar_test(v),
                    (v, shape) => {
                        let mut pattern = sigma_pattern(&text(v)?);
                        if matches!(shape, Some("contains" | "endswith")) {
                            pattern = pattern.with_leading_any();
                        }
                        if matches!(shape, Some("contains" | "startswith")) {
                            pattern = pattern.with_trailing_any();
                        }
                        Test::Str { pattern, cased }
                    }
                },
            };
            let at = if at.is_empty() {
                String::new()
            } else if many {
                format!("{at}.{key}[{i}]")
            } else {
                format!("{at}.{key}")
            };
            preds.push(Expr::Pred(Predicate {
                field: Some(field.to_string()),
                test,
                at,
            }));
        }
        ands.push(if all {
            Expr::and(preds)
        } else {
            Expr::or(preds)
        });
    }
    Ok(Expr::and(ands))
}

fn substitute(s: &str, ls: &LogSource) -> String {
    let val = |o: &Option<String>| o.clone().unwrap_or_else(|| "None".into());
    let mut out = s.to_string();
    for (name, v) in [
        ("category", val(&ls.category)),
        ("product", val(&ls.product)),
        ("service", val(&ls.service)),
    ] {
        out = out.replace(&format!("${{{name}}}"), &v);
        out = out.replace(&format!("${name}"), &v);
    }
    out
}

/// Runs the pipelines over a correlation rule. Field name transformations rename `group-by`
/// fields (not aliases), alias targets and the condition `field`; `set_state` values are
/// returned. Transformations on detection items have nothing to act on.
pub(crate) fn apply_correlation(
    pipelines: &[&Pipeline],
    corr: &mut Correlation,
) -> Result<IndexMap<String, Value>> {
    let mut ctx = Ctx::new(pipelines);
    let mut c = corr.clone();
    for p in pipelines {
        for item in &p.items {
            apply_correlation_item(p, item, &mut c, &mut ctx)?;
        }
    }
    *corr = c;
    Ok(ctx.state)
}

fn apply_correlation_item(
    p: &Pipeline,
    item: &Item,
    c: &mut Correlation,
    ctx: &mut Ctx,
) -> Result<()> {
    let subject = Subject::Correlation { meta: &c.meta };
    if !conditions::rule_ok(&item.rule_conditions, &subject, ctx) {
        return Ok(());
    }
    let err = |m: String| {
        let mut e = Error::new(ErrorKind::Pipeline(format!(
            "{m} (pipeline `{}`, item `{}`, correlation `{}`)",
            p.name,
            item.label(),
            c.meta.title
        )));
        if let Some(f) = &c.origin.file {
            e = e.in_file(f.clone());
        }
        e
    };
    ctx.mark_rule(item);
    let t = &item.transformation;
    match t {
        Transformation::RuleFailure(m) => return Err(err(format!("rule_failure: {m}"))),
        Transformation::Nest(items) => {
            for sub in items {
                apply_correlation_item(p, sub, c, ctx)?;
            }
        }
        Transformation::SetState { key, val } => {
            ctx.state.insert(key.clone(), val.clone());
        }
        Transformation::AddField(fs) => c.meta.fields.extend(fs.iter().cloned()),
        Transformation::RemoveField(fs) => c.meta.fields.retain(|f| !fs.contains(f)),
        Transformation::SetField(fs) => c.meta.fields.clone_from(fs),
        Transformation::SetCustomAttribute { attribute, value } => {
            c.meta.custom.insert(attribute.clone(), value.clone());
        }
        t if is_field_mapping(t) => {
            let fields = std::mem::take(&mut c.meta.fields);
            c.meta.fields = fields
                .iter()
                .flat_map(|f| apply_field_name(item, f, ctx))
                .collect();
            let single = |name: &str, ctx: &mut Ctx, what: &str| -> Result<String> {
                let mut v = apply_field_name(item, name, ctx);
                if v.len() == 1 {
                    Ok(v.remove(0))
                } else {
                    Err(err(format!(
                        "field `{name}` of the correlation {what} maps to several fields"
                    )))
                }
            };
            for mapping in c.aliases.values_mut() {
                for f in mapping.values_mut() {
                    *f = single(f, ctx, "alias")?;
                }
            }
            let aliases: Vec<String> = c.aliases.keys().cloned().collect();
            let group_by = std::mem::take(&mut c.group_by);
            c.group_by = group_by
                .iter()
                .flat_map(|g| {
                    if aliases.contains(g) {
                        vec![g.clone()]
                    } else {
                        apply_field_name(item, g, ctx)
                    }
                })
                .collect();
            for f in &mut c.field {
                *f = single(f, ctx, "condition")?;
            }
        }
        // Nothing to act on in a correlation (pySigma does nothing either).
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_strings() {
        let p = sigma_pattern(r"C:\Windows\*.exe\*x?");
        // `\*` escapes the star; a backslash before any other character is literal.
        assert_eq!(p.to_string(), r"C:\\Windows\*.exe\*x?");
        assert_eq!(plain(&p), r"C:\Windows\*.exe\*x?");
        assert_eq!(from_plain(&plain(&p), false), p);
        let ph = Pattern::new([
            Piece::Lit("a".into()),
            Piece::Placeholder("x".into()),
            Piece::AnyMany,
        ]);
        assert_eq!(from_plain(&plain(&ph), true), ph);
    }

    #[test]
    fn item_keys_strip_value_index() {
        let leaf = |at: &str| Leaf {
            pred: Predicate {
                field: Some("A".into()),
                test: Test::Null,
                at: at.into(),
            },
            applied: vec![],
        };
        assert_eq!(
            item_key(&leaf("detection.sel.A|endswith[2]"), 0).0,
            "detection.sel.A|endswith"
        );
        assert_eq!(
            item_key(&leaf("detection.sel[1].A"), 0).0,
            "detection.sel[1].A"
        );
        assert_eq!(item_key(&leaf(""), 7).0, "#7");
    }

    #[test]
    fn hashes_split() {
        let h = HashSpec {
            valid: &["SHA256".into(), "MD5".into()],
            prefix: "file.hash.",
            drop_algo: false,
        };
        assert_eq!(
            h.split("SHA256=AB").unwrap(),
            ("file.hash.SHA256".to_string(), "AB".to_string())
        );
        assert_eq!(h.split(&"a".repeat(32)).unwrap().0, "file.hash.MD5");
        assert!(h.split("SHA1=AB").is_none());
    }

    #[test]
    fn regex_from_pattern_is_anchored() {
        let p = sigma_pattern("Ab*.c");
        let Some(Test::Regex { pattern, .. }) = to_regex(&p, RegexMethod::IgnoreCaseBrackets)
        else {
            panic!("not a regex")
        };
        assert_eq!(pattern, r"^[aA][bB].*\.[cC]$");
    }
}
