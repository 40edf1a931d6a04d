//! IR → compiled matcher tree, and its evaluation on one event.

use std::collections::HashMap;

use ipnet::IpNet;

use super::event::{any_string, for_each_leaf, resolve, Val};
use super::lazy::{LazyContains, LazyRegex};
use super::matcher::{
    bool_holds, cidr_holds, fold, fold_into, parse_net, scalar_text, time_part, with_scalar_text,
    Glob, NumCmp, StrMatcher,
};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::{Expr, Predicate, RefMatch, Rule, Test, TimePart};

/// Index of a field name in a [`FieldTable`].
pub type FieldId = u32;

/// The field names used by a set of compiled rules, each interned once.
#[derive(Debug, Clone, Default)]
pub struct FieldTable {
    names: Vec<String>,
    index: HashMap<String, FieldId>,
}

/// Per-event values of the fields without dots, indexed by [`FieldId`], filled while the
/// prefilter walks the event's top-level keys (`None`: missing). Saves hashing each name again.
pub(crate) type Slots<'v, 'e> = [Option<&'v Val<'e>>];

impl FieldTable {
    /// The id of `name`, interning it.
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = FieldId::try_from(self.names.len()).expect("fewer than 2^32 fields");
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), id);
        id
    }

    /// The name of `id`.
    #[must_use]
    pub fn name(&self, id: FieldId) -> &str {
        &self.names[id as usize]
    }

    /// The ids and names of the fields without dots.
    pub fn flat(&self) -> impl Iterator<Item = (FieldId, &str)> {
        self.names
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.contains('.'))
            .map(|(i, n)| (i as FieldId, n.as_str()))
    }

    /// Number of fields.
    #[must_use]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no field is interned.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The id of `name` if it is interned.
    #[must_use]
    pub fn id(&self, name: &str) -> Option<FieldId> {
        self.index.get(name).copied()
    }
}

/// Interns every field name `rule` names (tested fields and referenced fields), in the order
/// compilation meets them, so that its conditions can then be compiled against the table
/// read-only, on any thread ([`compile_conditions`]).
pub(crate) fn intern_fields(rule: &Rule, fields: &mut FieldTable) {
    fn walk(e: &Expr, fields: &mut FieldTable) {
        match e {
            Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| walk(x, fields)),
            Expr::Not(x) => walk(x, fields),
            Expr::Pred(p) => {
                if let Some(f) = &p.field {
                    fields.intern(f);
                }
                match &p.test {
                    Test::FieldRef { field, .. } => {
                        fields.intern(field);
                    }
                    Test::Str { .. }
                    | Test::Regex { .. }
                    | Test::Num { .. }
                    | Test::Bool(_)
                    | Test::Null
                    | Test::Exists(_)
                    | Test::Cidr(_)
                    | Test::TimePart { .. } => {}
                }
            }
        }
    }
    for c in &rule.conditions {
        walk(c, fields);
    }
}

/// The id of a field [`intern_fields`] interned.
fn known(fields: &FieldTable, name: &str) -> Result<FieldId> {
    fields.id(name).ok_or_else(|| {
        Error::new(ErrorKind::Unsupported {
            target: "eval".into(),
            what: format!("field `{name}` missing from the field table (a bug in sigmat)"),
        })
    })
}

/// A compiled boolean expression.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Leaf(Box<Leaf>),
    /// An OR of string tests on one field (or on the keywords) with the same case mode.
    StrSet(Box<StrSet>),
}

/// One predicate.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    pub field: Option<FieldId>,
    pub test: CTest,
}

/// A compiled test.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum CTest {
    Str {
        m: StrMatcher,
        cased: bool,
    },
    Regex(LazyRegex),
    Num(NumCmp),
    Bool(bool),
    Null,
    Exists(bool),
    Cidr(IpNet),
    FieldRef {
        other: FieldId,
        how: RefMatch,
        cased: bool,
    },
    TimePart {
        part: TimePart,
        cmp: NumCmp,
    },
}

/// Many string patterns on the same field, ORed: one lookup, one fold, one automaton.
#[derive(Debug, Clone)]
pub(crate) struct StrSet {
    pub field: Option<FieldId>,
    pub cased: bool,
    exact: Vec<String>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    contains: Option<LazyContains>,
    globs: Vec<Glob>,
    any: bool,
}

impl StrSet {
    fn is_match(&self, s: &str) -> bool {
        self.any
            || self.exact.iter().any(|e| e == s)
            || self.prefixes.iter().any(|p| s.starts_with(p.as_str()))
            || self.suffixes.iter().any(|p| s.ends_with(p.as_str()))
            || self.contains.as_ref().is_some_and(|ac| ac.is_match(s))
            || self.globs.iter().any(|g| g.is_match(s))
    }
}

/// Compiles every condition of `rule`; its field names must be in `fields` ([`intern_fields`]).
pub(crate) fn compile_conditions(rule: &Rule, fields: &FieldTable) -> Result<Vec<Node>> {
    let mut out = Vec::with_capacity(rule.conditions.len());
    for (i, c) in rule.conditions.iter().enumerate() {
        out.push(compile_expr(c, fields).map_err(|e| e.at(format!("detection.condition[{i}]")))?);
    }
    Ok(out)
}

fn compile_expr(e: &Expr, fields: &FieldTable) -> Result<Node> {
    Ok(match e {
        Expr::And(xs) => Node::And(
            xs.iter()
                .map(|x| compile_expr(x, fields))
                .collect::<Result<_>>()?,
        ),
        Expr::Or(xs) => compile_or(xs, fields)?,
        Expr::Not(x) => Node::Not(Box::new(compile_expr(x, fields)?)),
        Expr::Pred(p) => Node::Leaf(Box::new(compile_pred(p, fields)?)),
    })
}

/// An OR: string tests on the same field and case mode are merged into one [`StrSet`].
fn compile_or(xs: &[Expr], fields: &FieldTable) -> Result<Node> {
    let mut groups: Vec<(Option<FieldId>, bool, Vec<StrMatcher>)> = Vec::new();
    let mut rest = Vec::new();
    for x in xs {
        let node = compile_expr(x, fields)?;
        match node {
            Node::Leaf(leaf) if matches!(leaf.test, CTest::Str { .. }) => {
                let Leaf { field, test } = *leaf;
                let CTest::Str { m, cased } = test else {
                    unreachable!("checked by the guard")
                };
                match groups.iter_mut().find(|g| g.0 == field && g.1 == cased) {
                    Some(g) => g.2.push(m),
                    None => groups.push((field, cased, vec![m])),
                }
            }
            other => rest.push(other),
        }
    }
    let mut out = Vec::new();
    for (field, cased, ms) in groups {
        if ms.len() < 3 {
            out.extend(ms.into_iter().map(|m| {
                Node::Leaf(Box::new(Leaf {
                    field,
                    test: CTest::Str { m, cased },
                }))
            }));
            continue;
        }
        let mut set = StrSet {
            field,
            cased,
            exact: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            contains: None,
            globs: Vec::new(),
            any: false,
        };
        let mut needles: Vec<Vec<u8>> = Vec::new();
        for m in ms {
            match m {
                StrMatcher::Exact(s) => set.exact.push(s),
                StrMatcher::Prefix(s) => set.prefixes.push(s),
                StrMatcher::Suffix(s) => set.suffixes.push(s),
                StrMatcher::Contains(f) => needles.push(f.needle().to_vec()),
                StrMatcher::Any => set.any = true,
                StrMatcher::Glob(g) => set.globs.push(g),
            }
        }
        if !needles.is_empty() {
            set.contains = Some(LazyContains::new(needles));
        }
        out.push(Node::StrSet(Box::new(set)));
    }
    out.extend(rest);
    Ok(if out.len() == 1 {
        out.pop().expect("one")
    } else {
        Node::Or(out)
    })
}

fn compile_pred(p: &Predicate, fields: &FieldTable) -> Result<Leaf> {
    let at = |e: Error| {
        if p.at.is_empty() {
            e
        } else {
            e.at(p.at.clone())
        }
    };
    let field = match p.field.as_deref() {
        Some(f) => Some(known(fields, f)?),
        None => None,
    };
    let keyword_only = |what: &str| -> Result<()> {
        if field.is_none() {
            return Err(at(Error::new(ErrorKind::Unsupported {
                target: "eval".into(),
                what: format!("{what} on keywords (no field)"),
            })));
        }
        Ok(())
    };
    let test = match &p.test {
        Test::Str { pattern, cased } => {
            if let Some(name) = pattern.placeholders().next() {
                return Err(at(Error::new(ErrorKind::UnresolvedPlaceholder(
                    name.to_string(),
                ))
                .hint(crate::error::placeholder_hint(name))));
            }
            CTest::Str {
                m: StrMatcher::new(pattern, *cased),
                cased: *cased,
            }
        }
        Test::Regex { pattern, flags } => {
            let re = LazyRegex::new(pattern, *flags)
                .map_err(|e| at(Error::new(ErrorKind::InvalidRegex(e))))?;
            CTest::Regex(re)
        }
        Test::Num { op, value } => {
            if !value.as_f64().is_finite() {
                return Err(at(Error::new(ErrorKind::InvalidValue {
                    expected: "a number".into(),
                    found: value.text.clone(),
                })));
            }
            keyword_only("a numeric comparison")?;
            CTest::Num(NumCmp::new(*op, value))
        }
        Test::Bool(b) => {
            keyword_only("a boolean test")?;
            CTest::Bool(*b)
        }
        Test::Null => {
            keyword_only("a null test")?;
            CTest::Null
        }
        Test::Exists(b) => {
            keyword_only("an exists test")?;
            CTest::Exists(*b)
        }
        Test::Cidr(net) => {
            keyword_only("a cidr test")?;
            CTest::Cidr(parse_net(net).map_err(|e| at(Error::new(ErrorKind::InvalidCidr(e))))?)
        }
        Test::FieldRef {
            field: other,
            how,
            cased,
        } => {
            keyword_only("a field reference")?;
            CTest::FieldRef {
                other: known(fields, other)?,
                how: *how,
                cased: *cased,
            }
        }
        Test::TimePart { part, op, value } => {
            keyword_only("a time-part comparison")?;
            CTest::TimePart {
                part: *part,
                cmp: NumCmp::new(*op, value),
            }
        }
    };
    Ok(Leaf { field, test })
}

/// Per-thread working memory, reused from event to event.
#[derive(Debug, Default)]
pub struct Scratch {
    pub(crate) fc: FoldCache,
    pub(crate) marks: Marks,
    /// Always empty between events; its allocation is reused for each event's [`Slots`].
    pub(crate) slots: Vec<Option<&'static Val<'static>>>,
}

/// Reuses an empty vector's allocation for references of another lifetime.
pub(crate) fn recycle<'b, 'c>(mut v: Vec<Option<&Val<'_>>>) -> Vec<Option<&'b Val<'c>>> {
    v.clear();
    v.into_iter().map(|_| None).collect()
}

/// Folded field values of the current event.
#[derive(Debug, Default)]
pub(crate) struct FoldCache {
    stamp: u32,
    /// Per field: (stamp, address of the source string, its fold).
    folded: Vec<(u32, usize, String)>,
    /// Folded string values of the whole event, for keywords.
    kw_stamp: u32,
    kw: Vec<String>,
    kw_len: usize,
}

/// Candidate rules of the current event (prefilter output).
#[derive(Debug, Default)]
pub(crate) struct Marks {
    pub stamp: u32,
    pub rule_stamp: Vec<u32>,
    pub candidates: Vec<u32>,
}

impl Marks {
    /// Adds rule `r` unless already there.
    #[inline]
    pub(crate) fn add(&mut self, r: u32) {
        let st = &mut self.rule_stamp[r as usize];
        if *st != self.stamp {
            *st = self.stamp;
            self.candidates.push(r);
        }
    }
}

impl Scratch {
    /// Starts a new event.
    pub(crate) fn next_event(&mut self, n_fields: usize, n_rules: usize) {
        let fc = &mut self.fc;
        fc.stamp = fc.stamp.wrapping_add(1);
        if fc.stamp == 0 {
            fc.folded.iter_mut().for_each(|e| e.0 = 0);
            fc.kw_stamp = 0;
            fc.stamp = 1;
        }
        if fc.folded.len() < n_fields {
            fc.folded.resize_with(n_fields, || (0, 0, String::new()));
        }
        let m = &mut self.marks;
        m.stamp = m.stamp.wrapping_add(1);
        if m.stamp == 0 {
            m.rule_stamp.iter_mut().for_each(|s| *s = 0);
            m.stamp = 1;
        }
        if m.rule_stamp.len() < n_rules {
            m.rule_stamp.resize(n_rules, 0);
        }
        m.candidates.clear();
    }
}

impl FoldCache {
    /// The fold of `s`, the value of field `fid`, cached for this event.
    pub(crate) fn folded(&mut self, fid: FieldId, s: &str) -> &str {
        let addr = s.as_ptr() as usize;
        let e = &mut self.folded[fid as usize];
        if e.0 != self.stamp || e.1 != addr {
            e.0 = self.stamp;
            e.1 = addr;
            e.2.clear();
            fold_into(s, &mut e.2);
        }
        &e.2
    }

    /// Folded string values of the event (keywords), cached for this event.
    pub(crate) fn keywords(&mut self, event: &Val<'_>) -> &[String] {
        if self.kw_stamp != self.stamp {
            self.kw_stamp = self.stamp;
            let mut n = 0;
            let kw = &mut self.kw;
            any_string(event, &mut |s| {
                if kw.len() <= n {
                    kw.push(String::new());
                }
                kw[n].clear();
                fold_into(s, &mut kw[n]);
                n += 1;
                false
            });
            self.kw_len = n;
        }
        &self.kw[..self.kw_len]
    }
}

/// Evaluation of compiled nodes on one event.
pub(crate) struct Ctx<'a, 'v, 'e> {
    pub fields: &'a FieldTable,
    pub event: &'v Val<'e>,
    pub fc: &'a mut FoldCache,
    /// Top-level field values, when the event is an object and they were collected.
    pub slots: Option<&'a Slots<'v, 'e>>,
}

impl<'v, 'e> Ctx<'_, 'v, 'e> {
    /// Calls `f` on every value field `fid` resolves to.
    fn lookup(&self, fid: FieldId, f: &mut dyn FnMut(&'v Val<'e>)) {
        let name = self.fields.name(fid);
        match self.slots {
            Some(slots) if !name.contains('.') => {
                if let Some(v) = slots[fid as usize] {
                    f(v);
                }
            }
            _ => resolve(self.event, name, f),
        }
    }

    pub(crate) fn eval(&mut self, n: &Node) -> bool {
        match n {
            Node::And(xs) => xs.iter().all(|x| self.eval(x)),
            Node::Or(xs) => xs.iter().any(|x| self.eval(x)),
            Node::Not(x) => !self.eval(x),
            Node::Leaf(l) => self.leaf(l),
            Node::StrSet(s) => self.strings(s.field, s.cased, &mut |t| s.is_match(t)),
        }
    }

    /// Whether `pred` holds for some string form of the field (or of any keyword value).
    /// `pred` receives folded text unless `cased`.
    fn strings(
        &mut self,
        field: Option<FieldId>,
        cased: bool,
        pred: &mut dyn FnMut(&str) -> bool,
    ) -> bool {
        let event = self.event;
        let Some(fid) = field else {
            if cased {
                return any_string(event, &mut |s| pred(s));
            }
            return self.fc.keywords(event).iter().any(|s| pred(s));
        };
        let mut vals: [Option<&Val<'_>>; 2] = [None, None];
        let mut more = Vec::new();
        let mut n = 0;
        self.lookup(fid, &mut |v| {
            if n < 2 {
                vals[n] = Some(v);
            } else {
                more.push(v);
            }
            n += 1;
        });
        let fc = &mut *self.fc;
        vals.into_iter().flatten().chain(more).any(|v| {
            for_each_leaf(v, &mut |x| match x {
                Val::Str(s) if cased => pred(s),
                Val::Str(s) => pred(fc.folded(fid, s)),
                x => with_scalar_text(x, |t| pred(t)).unwrap_or(false),
            })
        })
    }

    /// Whether the field resolves to some value other than `null` (arrays through their
    /// elements).
    fn has_value(&self, fid: FieldId) -> bool {
        self.any_value(fid, &mut |x| !x.is_null())
    }

    /// Whether `f` holds for some leaf value of the field.
    fn any_value(&self, fid: FieldId, f: &mut dyn FnMut(&Val<'e>) -> bool) -> bool {
        let mut hit = false;
        self.lookup(fid, &mut |v| {
            if !hit {
                hit = for_each_leaf(v, &mut |x| f(x));
            }
        });
        hit
    }

    fn leaf(&mut self, l: &Leaf) -> bool {
        match &l.test {
            CTest::Str { m, cased } => self.strings(l.field, *cased, &mut |s| m.is_match(s)),
            CTest::Regex(re) => {
                let Some(fid) = l.field else {
                    return any_string(self.event, &mut |s| re.is_match(s));
                };
                self.any_value(fid, &mut |x| match x {
                    Val::Str(s) => re.is_match(s),
                    x => with_scalar_text(x, |t| re.is_match(t)).unwrap_or(false),
                })
            }
            CTest::Num(c) => self.any_value(field_of(l), &mut |x| c.holds(x)),
            CTest::Bool(b) => self.any_value(field_of(l), &mut |x| bool_holds(x, *b)),
            // A JSON `null` is no value (see the IR docs): `null` and `exists: false` agree.
            CTest::Null => !self.has_value(field_of(l)),
            CTest::Exists(want) => self.has_value(field_of(l)) == *want,
            CTest::Cidr(net) => self.any_value(field_of(l), &mut |x| cidr_holds(net, x)),
            CTest::TimePart { part, cmp } => self.any_value(field_of(l), &mut |x| {
                x.as_str()
                    .and_then(|s| time_part(s, *part))
                    .is_some_and(|p| cmp.holds_int(p))
            }),
            CTest::FieldRef { other, how, cased } => {
                self.field_ref(field_of(l), *other, *how, *cased)
            }
        }
    }

    fn field_ref(&mut self, fid: FieldId, other: FieldId, how: RefMatch, cased: bool) -> bool {
        let texts = |fid: FieldId, ctx: &Self| -> Vec<String> {
            let mut out = Vec::new();
            ctx.any_value(fid, &mut |x| {
                let t = match x {
                    Val::Str(s) => Some(s.to_string()),
                    x => scalar_text(x),
                };
                if let Some(t) = t {
                    out.push(if cased { t } else { fold(&t) });
                }
                false
            });
            out
        };
        let rhs = texts(other, self);
        if rhs.is_empty() {
            return false;
        }
        let lhs = texts(fid, self);
        lhs.iter().any(|a| {
            rhs.iter().any(|b| match how {
                RefMatch::Eq => a == b,
                RefMatch::Contains => a.contains(b.as_str()),
                RefMatch::StartsWith => a.starts_with(b.as_str()),
                RefMatch::EndsWith => a.ends_with(b.as_str()),
            })
        })
    }
}

/// The field of a leaf whose test needs one (checked at compile time).
fn field_of(l: &Leaf) -> FieldId {
    l.field
        .expect("field-less tests other than strings are refused at compile time")
}
